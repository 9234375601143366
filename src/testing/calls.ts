/**
 * Socket calls in scripts: argument resolution (`...` defaults, symbols,
 * `[1]`, `{sin_port=htons(8080), …}`) and the mapping of each supported call
 * onto the {@link ScriptSockets} adapter. The runner decides when a call
 * runs and checks what it returns; this module only says what to run.
 *
 * @module
 */
import type { Expr, SyscallSpec } from "./ast.ts";
import { formatExpr } from "./format.ts";
import type { Flows } from "./match.ts";
import type { Awaitable, ScriptSockAddr, ScriptSockets, SockOptValue } from "./sockets.ts";
import { SCRIPT_SYMBOLS as S, symbolValue } from "./symbols.ts";

/** What the runner knows about one script fd. */
export interface FdState {
  /** The adapter's fd. */
  readonly live: number;
  nonBlocking: boolean;
  /** Local port given to bind(), if any. */
  boundPort?: number;
}

/** The run state calls read and update. */
export interface CallEnv {
  readonly sockets: ScriptSockets;
  /** Script fd → state. */
  readonly fds: Map<number, FdState>;
  readonly flows: Flows;
  readonly localIp: string;
  readonly remoteIp: string;
  /** Port `bind(fd, ..., ...)` uses. */
  readonly localPort: number;
  /** Port `connect(fd, ..., ...)` uses. */
  readonly connectPort: number;
  /** The domain `socket(..., ...)` takes (default AF_INET; AF_INET6 in IPv6 runs). */
  readonly domain?: number;
  /** What `INADDR_ANY` stands for (default "0.0.0.0"; "::" for AF_INET6 sockets). */
  readonly anyAddress?: string;
  /** Throw a script failure for the current line. */
  fail(message: string): never;
}

/** A call ready to start. */
export interface PreparedCall {
  /** Start the call; the value is what the syscall returns (fd, byte count, 0, flags). */
  run(): Awaitable<number>;
  /** For socket()/accept(): the new fd's state, registered under the expected result. */
  readonly newFd?: { nonBlocking: boolean };
  /** Check or record things after success; returns a complaint or undefined. */
  after?(value: number): string | undefined;
}

/**
 * Calls the runner understands.
 *
 * @example
 * ```ts
 * import { SUPPORTED_CALLS } from "./calls.ts";
 * SUPPORTED_CALLS.includes("accept"); // true
 * ```
 */
export const SUPPORTED_CALLS: readonly string[] = [
  "socket",
  "bind",
  "listen",
  "accept",
  "accept4",
  "connect",
  "write",
  "send",
  "sendto",
  "read",
  "recv",
  "recvfrom",
  "shutdown",
  "close",
  "setsockopt",
  "getsockopt",
  "fcntl",
];

/**
 * Resolve a call's arguments and say how to run it. Throws (through
 * `env.fail`) on bad arguments or an unsupported call.
 *
 * @example
 * ```ts
 * import { prepareCall } from "./calls.ts";
 * import { Flows } from "./match.ts";
 * import { unavailableSockets } from "./sockets.ts";
 * const p = prepareCall({ name: "socket", args: [{ kind: "ellipsis" },
 *   { kind: "word", name: "SOCK_STREAM" }, { kind: "word", name: "IPPROTO_TCP" }], result: 3 }, {
 *   sockets: unavailableSockets("example"), fds: new Map(), flows: new Flows(8080, 48000),
 *   localIp: "192.0.2.2", remoteIp: "192.0.2.1", localPort: 8080, connectPort: 8080,
 *   fail: (m) => { throw new Error(m); },
 * });
 * p.newFd; // { nonBlocking: false }
 * ```
 */
export function prepareCall(call: SyscallSpec, env: CallEnv): PreparedCall {
  const a = call.args;
  const s = env.sockets;
  const arity = (min: number, max = min) => {
    if (a.length < min || a.length > max) {
      const n = min === max ? `${min}` : `${min}–${max}`;
      env.fail(`${call.name}() takes ${n} arguments, got ${a.length}`);
    }
  };
  switch (call.name) {
    case "socket": {
      arity(3);
      const domain = a[0]!.kind === "ellipsis"
        ? env.domain ?? S.AF_INET!
        : intOf(a[0]!, env, "domain");
      const type = intOf(a[1]!, env, "type");
      const protocol = a[2]!.kind === "ellipsis" ? 0 : intOf(a[2]!, env, "protocol");
      return {
        run: () => s.socket(domain, type, protocol),
        newFd: { nonBlocking: (type & S.SOCK_NONBLOCK!) !== 0 },
      };
    }
    case "bind": {
      arity(3);
      const st = fdOf(a[0]!, env);
      const addr = addrOf(a[1]!, env, { address: env.localIp, port: env.localPort });
      return {
        run: () => then(s.bind(st.live, addr), () => 0),
        after: () => {
          st.boundPort = addr.port;
          // Inbound segments now go to the bound port.
          if (env.flows.current.localPort !== addr.port) {
            env.flows.begin(addr.port, env.flows.current.remotePort);
          }
          return undefined;
        },
      };
    }
    case "listen": {
      arity(2);
      const st = fdOf(a[0]!, env);
      const backlog = intOf(a[1]!, env, "backlog");
      return { run: () => then(s.listen(st.live, backlog), () => 0) };
    }
    case "accept":
    case "accept4": {
      arity(call.name === "accept" ? 3 : 4);
      const st = fdOf(a[0]!, env);
      const flags = call.name === "accept4" ? intOf(a[3]!, env, "flags") : 0;
      return {
        run: () => s.accept(st.live, flags),
        newFd: { nonBlocking: (flags & S.SOCK_NONBLOCK!) !== 0 },
      };
    }
    case "connect": {
      arity(3);
      const st = fdOf(a[0]!, env);
      const addr = addrOf(a[1]!, env, { address: env.remoteIp, port: env.connectPort });
      // The stack picks the local port (unless bound): learned from its first packet.
      env.flows.begin(st.boundPort, addr.port);
      return { run: () => then(s.connect(st.live, addr), () => 0) };
    }
    case "write":
    case "send":
    case "sendto": {
      arity(call.name === "write" ? 3 : call.name === "send" ? 4 : 6);
      const st = fdOf(a[0]!, env);
      const len = intOf(a[2]!, env, "length");
      const data = bufferOf(a[1]!, len, env);
      const flags = call.name === "write" ? 0 : intOf(a[3]!, env, "flags");
      const to = call.name === "sendto"
        ? addrOf(a[4]!, env, { address: env.remoteIp, port: env.flows.current.remotePort })
        : undefined;
      return { run: () => s.send(st.live, data, flags, to) };
    }
    case "read":
    case "recv":
    case "recvfrom": {
      arity(call.name === "read" ? 3 : call.name === "recv" ? 4 : 6);
      const st = fdOf(a[0]!, env);
      const len = intOf(a[2]!, env, "length");
      const flags = call.name === "read" ? 0 : intOf(a[3]!, env, "flags");
      const buf = new Uint8Array(len);
      // A string in place of the buffer is the data the call must return.
      const want = a[1]!.kind === "string" ? bufferOf(a[1]!, undefined, env) : undefined;
      return {
        run: () => s.recv(st.live, buf, flags),
        after: (n) => {
          if (want === undefined) return undefined;
          const got = buf.subarray(0, n);
          const same = got.length === want.length && got.every((b, i) => b === want[i]);
          return same
            ? undefined
            : `read ${JSON.stringify(latin1(got))}, expected ${formatExpr(a[1]!)}`;
        },
      };
    }
    case "shutdown": {
      arity(2);
      const st = fdOf(a[0]!, env);
      const how = intOf(a[1]!, env, "how");
      return { run: () => then(s.shutdown(st.live, how), () => 0) };
    }
    case "close": {
      arity(1);
      const fd = scriptFd(a[0]!, env);
      const st = fdOf(a[0]!, env);
      return {
        run: () => then(s.close(st.live), () => 0),
        after: () => {
          env.fds.delete(fd);
          return undefined;
        },
      };
    }
    case "setsockopt": {
      arity(4, 5);
      const st = fdOf(a[0]!, env);
      const level = intOf(a[1]!, env, "level");
      const name = intOf(a[2]!, env, "option name");
      const value = optValueOf(a[3]!, env);
      return { run: () => then(s.setsockopt(st.live, level, name, value), () => 0) };
    }
    case "getsockopt": {
      arity(4, 5);
      const st = fdOf(a[0]!, env);
      const level = intOf(a[1]!, env, "level");
      const name = intOf(a[2]!, env, "option name");
      const want = a[3]!.kind === "ellipsis" ? undefined : optValueOf(a[3]!, env);
      let got: SockOptValue | undefined;
      return {
        run: () =>
          then(s.getsockopt(st.live, level, name), (v) => {
            got = v;
            return 0;
          }),
        after: () =>
          want === undefined || sameOpt(want, got)
            ? undefined
            : `option value is ${showOpt(got)}, expected ${formatExpr(a[3]!)}`,
      };
    }
    case "fcntl": {
      arity(2, 3);
      const st = fdOf(a[0]!, env);
      const cmd = intOf(a[1]!, env, "command");
      if (cmd === S.F_GETFL) {
        return { run: () => S.O_RDWR! | (st.nonBlocking ? S.O_NONBLOCK! : 0) };
      }
      if (cmd !== S.F_SETFL) {
        env.fail(`fcntl() supports F_GETFL and F_SETFL, got ${formatExpr(a[1]!)}`);
      }
      if (a[2] === undefined) env.fail("fcntl(fd, F_SETFL, flags) needs the flags");
      const nb = (intOf(a[2], env, "flags") & S.O_NONBLOCK!) !== 0;
      return {
        run: () => then(s.setNonBlocking(st.live, nb), () => 0),
        after: () => {
          st.nonBlocking = nb;
          return undefined;
        },
      };
    }
  }
  return env.fail(`unsupported call ${call.name}() (supported: ${SUPPORTED_CALLS.join(", ")})`);
}

function then<T>(v: Awaitable<T>, f: (x: T) => number): Awaitable<number> {
  return v instanceof Promise ? v.then(f) : f(v);
}

function scriptFd(e: Expr, env: CallEnv): number {
  if (e.kind !== "int") env.fail(`expected a file descriptor number, got ${formatExpr(e)}`);
  return e.value;
}

function fdOf(e: Expr, env: CallEnv): FdState {
  const fd = scriptFd(e, env);
  const st = env.fds.get(fd);
  if (st === undefined) {
    const open = [...env.fds.keys()].join(", ") || "none";
    env.fail(`fd ${fd} is not open in this script (open: ${open})`);
  }
  return st;
}

/** An integer argument: a number, a symbol, or symbols joined with `|`. */
function intOf(e: Expr, env: CallEnv, what: string): number {
  switch (e.kind) {
    case "int":
      return e.value;
    case "word": {
      const v = symbolValue(e.name);
      if (v === undefined) env.fail(`unknown symbol ${e.name} (${what})`);
      return v;
    }
    case "or":
      return e.items.reduce((acc, x) => acc | intOf(x, env, what), 0);
    case "list":
      if (e.items.length === 1) return intOf(e.items[0]!, env, what);
  }
  return env.fail(`expected a number for the ${what}, got ${formatExpr(e)}`);
}

function optValueOf(e: Expr, env: CallEnv): SockOptValue {
  const inner = e.kind === "list" && e.items.length === 1 ? e.items[0]! : e;
  if (inner.kind === "struct") {
    let onoff: number | undefined;
    let linger: number | undefined;
    for (const f of inner.items) {
      if (f.kind === "assign" && f.name === "onoff") onoff = intOf(f.value, env, "onoff");
      else if (f.kind === "assign" && f.name === "linger") linger = intOf(f.value, env, "linger");
      else env.fail(`expected {onoff=N, linger=N}, got ${formatExpr(inner)}`);
    }
    if (onoff === undefined || linger === undefined) env.fail("linger needs onoff= and linger=");
    return { onoff, linger };
  }
  return intOf(inner, env, "option value");
}

function sameOpt(a: SockOptValue, b: SockOptValue | undefined): boolean {
  if (typeof a === "number" || typeof b === "number" || b === undefined) return a === b;
  return a.onoff === b.onoff && a.linger === b.linger;
}

function showOpt(v: SockOptValue | undefined): string {
  if (v === undefined || typeof v === "number") return String(v);
  return `{onoff=${v.onoff}, linger=${v.linger}}`;
}

/**
 * A socket address: `...` means the default; else `{sa_family=…,
 * sin_port=htons(N), sin_addr=inet_addr("…")}` (the `sin6_` spellings too;
 * `INADDR_ANY` / `in6addr_any` is the run's wildcard).
 */
function addrOf(e: Expr, env: CallEnv, dflt: ScriptSockAddr): ScriptSockAddr {
  if (e.kind === "ellipsis") return dflt;
  if (e.kind !== "struct") env.fail(`expected ... or a sockaddr {…}, got ${formatExpr(e)}`);
  let port = dflt.port;
  let address = dflt.address;
  for (const f of e.items) {
    if (f.kind !== "assign") env.fail(`expected field=value in ${formatExpr(e)}`);
    const v = f.value;
    if (f.name === "sin_port" || f.name === "sin6_port") {
      port = v.kind === "call" && v.name === "htons" && v.args.length === 1
        ? intOf(v.args[0]!, env, "port")
        : intOf(v, env, "port");
    } else if (f.name === "sin_addr" || f.name === "sin6_addr") {
      if (
        v.kind === "call" && (v.name === "inet_addr" || v.name === "inet_pton") &&
        v.args.at(-1)?.kind === "string"
      ) {
        address = (v.args.at(-1) as { value: string }).value;
      } else if (v.kind === "word" && (v.name === "INADDR_ANY" || v.name === "in6addr_any")) {
        address = env.anyAddress ?? "0.0.0.0";
      } else env.fail(`expected sin_addr=inet_addr("a.b.c.d"), got ${formatExpr(v)}`);
    } else if (f.name !== "sa_family" && f.name !== "sin_family" && f.name !== "sin6_family") {
      env.fail(`unknown sockaddr field ${f.name}`);
    }
  }
  return { address, port };
}

/** Bytes to send: `...` = `len` zero bytes, a string = its bytes (and its length must be `len`). */
function bufferOf(e: Expr, len: number | undefined, env: CallEnv): Uint8Array {
  if (e.kind === "ellipsis") return new Uint8Array(len ?? 0);
  if (e.kind === "string") {
    const bytes = Uint8Array.from(e.value, (ch) => ch.charCodeAt(0) & 0xff);
    if (len !== undefined && bytes.length !== len) {
      env.fail(`the string has ${bytes.length} bytes but the length argument is ${len}`);
    }
    return bytes;
  }
  return env.fail(`expected ... or a string for the buffer, got ${formatExpr(e)}`);
}

function latin1(b: Uint8Array): string {
  return String.fromCharCode(...b);
}
