/**
 * The socket adapter a script's calls go through. The runner turns
 * `accept(3, ..., ...) = 4` into `sockets.accept(liveFd)` and compares what
 * comes back; it never touches the TCP code itself, so any socket API (the
 * BSD layer, a Deno-shaped API, a user's own protocol) can be scripted by
 * writing an adapter.
 *
 * Conventions: numbers are Linux's (`SOCK_STREAM` = 1, `SOL_SOCKET` = 1, …;
 * see `symbols.ts`). A failing call throws (or rejects with) an error with a
 * `code` (`"EAGAIN"`) or an `errno` (11); `NetError` from `src/socket/errors.ts`
 * has both. A call that would block returns a promise that settles when the
 * call completes, on the stack's virtual clock.
 *
 * @module
 */

/**
 * A value or a promise of it.
 *
 * @example
 * ```ts
 * import type { Awaitable } from "./sockets.ts";
 * const now: Awaitable<number> = 3;
 * ```
 */
export type Awaitable<T> = T | Promise<T>;

/**
 * An IPv4 socket address.
 *
 * @example
 * ```ts
 * import type { ScriptSockAddr } from "./sockets.ts";
 * const a: ScriptSockAddr = { address: "192.0.2.2", port: 8080 };
 * ```
 */
export interface ScriptSockAddr {
  /** Dotted quad. */
  readonly address: string;
  /** Port. */
  readonly port: number;
}

/**
 * A socket option value: an integer, or `SO_LINGER`'s pair.
 *
 * @example
 * ```ts
 * import type { SockOptValue } from "./sockets.ts";
 * const linger: SockOptValue = { onoff: 1, linger: 0 };
 * ```
 */
export type SockOptValue = number | { readonly onoff: number; readonly linger: number };

/**
 * What a script can call. `fd`s are the adapter's own numbers: the runner
 * maps the script's fd numbers onto them, so they need not match.
 *
 * @example
 * ```ts
 * import type { ScriptSockets } from "./sockets.ts";
 * // A stub that knows one listening socket and nothing else:
 * const fail = () => {
 *   throw Object.assign(new Error("not supported"), { code: "EOPNOTSUPP" });
 * };
 * const stub: ScriptSockets = {
 *   socket: () => 10, bind: () => {}, listen: () => {}, accept: fail, connect: fail,
 *   send: fail, recv: fail, shutdown: fail, close: () => {}, setsockopt: () => {},
 *   getsockopt: () => 0, setNonBlocking: () => {},
 * };
 * ```
 */
export interface ScriptSockets {
  /** `socket(domain, type, protocol)`; `type` may carry `SOCK_NONBLOCK`. Returns the new fd. */
  socket(domain: number, type: number, protocol: number): Awaitable<number>;
  /** bind(2). */
  bind(fd: number, address: ScriptSockAddr): Awaitable<void>;
  /** listen(2). */
  listen(fd: number, backlog: number): Awaitable<void>;
  /**
   * Returns the accepted connection's fd (blocks on a blocking socket);
   * `flags` are accept4's (`SOCK_NONBLOCK`), 0 for accept.
   */
  accept(fd: number, flags: number): Awaitable<number>;
  /** Blocks until established on a blocking socket; `EINPROGRESS` on a non-blocking one. */
  connect(fd: number, address: ScriptSockAddr): Awaitable<void>;
  /** write/send/sendto: returns the bytes accepted. `to` is given for sendto. */
  send(fd: number, data: Uint8Array, flags: number, to?: ScriptSockAddr): Awaitable<number>;
  /** read/recv/recvfrom into `buffer`: returns the bytes read (0 at end of stream). */
  recv(fd: number, buffer: Uint8Array, flags: number): Awaitable<number>;
  /** `how` is `SHUT_RD` (0), `SHUT_WR` (1) or `SHUT_RDWR` (2). */
  shutdown(fd: number, how: number): Awaitable<void>;
  /** close(2). */
  close(fd: number): Awaitable<void>;
  /** setsockopt(2). */
  setsockopt(fd: number, level: number, name: number, value: SockOptValue): Awaitable<void>;
  /** getsockopt(2). */
  getsockopt(fd: number, level: number, name: number): Awaitable<SockOptValue>;
  /** `fcntl(fd, F_SETFL, … O_NONBLOCK …)`. */
  setNonBlocking(fd: number, nonBlocking: boolean): Awaitable<void>;
  /** Called once when the script ends, before the stack is closed. */
  dispose?(): Awaitable<void>;
}

/**
 * The errno name a thrown value carries (`code` string or `errno` number),
 * or `undefined` when it is not an errno-style error.
 *
 * @example
 * ```ts
 * import { errnoOf } from "./sockets.ts";
 * errnoOf(Object.assign(new Error("x"), { code: "EAGAIN" })); // "EAGAIN"
 * errnoOf(new TypeError("bug")); // undefined
 * ```
 */
export function errnoOf(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return code;
  return undefined;
}

/**
 * An adapter whose every call fails with `ENOSYS`-style errors naming why:
 * the default when the stack has no socket layer a script could use.
 *
 * @example
 * ```ts
 * import { unavailableSockets } from "./sockets.ts";
 * const s = unavailableSockets("this stack has no BSD socket layer yet");
 * try { s.socket(2, 1, 6); } catch (e) { (e as Error).message; }
 * ```
 */
export function unavailableSockets(why: string): ScriptSockets {
  const fail = (): never => {
    throw new TypeError(`socket calls are unavailable: ${why}`);
  };
  return {
    socket: fail,
    bind: fail,
    listen: fail,
    accept: fail,
    connect: fail,
    send: fail,
    recv: fail,
    shutdown: fail,
    close: fail,
    setsockopt: fail,
    getsockopt: fail,
    setNonBlocking: fail,
  };
}
