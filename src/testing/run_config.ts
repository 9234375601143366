/**
 * What a script run is configured with and what it returns: the options
 * (and the script header lines that override them), the target the script
 * drives (by default a netwasm {@link Stack}), the transcript and result.
 *
 * @module
 */
import { Stack, type StackOptions } from "../api/stack.ts";
import type { VirtualClock } from "../core/clock.ts";
import type { RandomSource } from "../core/random.ts";
import type { PipeDevice } from "../link/pipe.ts";
import type { Arena } from "../skb/arena.ts";
import type { Script } from "./ast.ts";
import { tryParseIpv4 } from "../wire/addr.ts";
import { tryParseIpv6Address } from "../wire/addr6.ts";
import { bsdSockets } from "./bsd_adapter.ts";
import { formatInstant } from "./format.ts";
import type { Awaitable, ScriptSockets } from "./sockets.ts";

/** Where the stack under test sits: what a {@link ScriptTargetFactory} gets. */
export interface ScriptEnv {
  /** The virtual clock the run uses. */
  readonly clock: VirtualClock;
  /** The packet arena. */
  readonly arena: Arena;
  /** The stack's end of the pipe (down; attach it, the target brings it up). */
  readonly device: PipeDevice;
  /** Seeded randomness for the stack (ISNs, ports, IDs). */
  readonly random: RandomSource;
  /** The stack's address, `192.0.2.2` (`2001:db8::2` over IPv6). */
  readonly localIp: string;
  /** Prefix length of the script network. */
  readonly prefixLength: number;
  /** The scripted peer's address, `192.0.2.1` (`2001:db8::1` over IPv6). */
  readonly remoteIp: string;
  /**
   * The wire's family and the sockets': IPv4; IPv6 (the interface gets
   * `localIp` as a static IPv6 address, no DAD); or IPv4 on the wire under
   * AF_INET6 sockets with v4-mapped addresses.
   */
  readonly ipVersion: IpVersion;
}

/**
 * How a script runs (packetdrill's `--ip_version`): `"ipv4"`, `"ipv6"`, or
 * `"ipv4-mapped-ipv6"` (IPv4 on the wire, AF_INET6 sockets, `::ffff:a.b.c.d`).
 *
 * @example
 * ```ts
 * import type { IpVersion } from "./run_config.ts";
 * const both: IpVersion[] = ["ipv4", "ipv6"];
 * ```
 */
export type IpVersion = "ipv4" | "ipv6" | "ipv4-mapped-ipv6";

/** The code under test, as the runner sees it. */
export interface ScriptTarget {
  /** Socket adapter for the script's calls (calls fail without one). */
  readonly sockets?: ScriptSockets;
  /** Release everything (the runner then checks the arena for leaks). */
  close(): Awaitable<void>;
}

/** Builds the code under test on the runner's device and clock. */
export type ScriptTargetFactory = (env: ScriptEnv) => Awaitable<ScriptTarget>;

/** Options for {@link runScript}; a script's `--name=value` header lines override them. */
export interface ScriptOptions {
  /**
   * The family (`--ip_version=ipv4|ipv6|ipv4-mapped-ipv6`, default "ipv4").
   * The same script runs in each: `socket(..., ...)` takes AF_INET6 and
   * `...` addresses are the family's, ICMP lines become ICMPv6 over IPv6,
   * and the runner plays neighbour discovery as it plays ARP.
   */
  readonly ipVersion?: IpVersion;
  /** The stack's address (default "192.0.2.2", "2001:db8::2" over IPv6; `--local_ip`). */
  readonly localIp?: string;
  /** The scripted peer's address (default "192.0.2.1", "2001:db8::1" over IPv6; `--remote_ip`). */
  readonly remoteIp?: string;
  /** Prefix length of the link (default 24, 64 over IPv6; `--prefix_length`). */
  readonly prefixLength?: number;
  /** The port `bind(fd, ..., ...)` uses and inbound segments go to (default 8080; `--bind_port`). */
  readonly localPort?: number;
  /** The scripted peer's port for inbound segments (default 48000; `--remote_port`). */
  readonly remotePort?: number;
  /** The port `connect(fd, ..., ...)` goes to (default 8080; `--connect_port`). */
  readonly connectPort?: number;
  /** Timing tolerance in ms either side of an expected time (default 0; `--tolerance_usecs`). */
  readonly toleranceMs?: number;
  /** How long to watch for stray packets after the last line, ms (default 500; `--quiet_usecs`). */
  readonly quietMs?: number;
  /** Longest wait for a `*` packet, ms (default 600 000). */
  readonly anyTimeoutMs?: number;
  /** Use sequence, ack, SACK and TS numbers as written (`--absolute_seq`). */
  readonly absoluteSeq?: boolean;
  /** Seed of the stack's randomness (default 1; `--seed`). */
  readonly seed?: number;
  /**
   * Link MTU as IPv4 sees it (default 1500; `--mtu`). Over IPv6 the link gets
   * 20 bytes more (packetdrill does the same), so the MSS in a script —
   * MTU − 40 over IPv4, MTU − 60 over IPv6 — is the same in both families.
   */
  readonly mtu?: number;
  /** Teach the stack the peer's MAC with an ARP request at t=0 (default true). */
  readonly preseedArp?: boolean;
  /** Skip backquoted shell command lines instead of failing. */
  readonly ignoreShellCommands?: boolean;
  /** Fail when packet buffers are still in use after the stack closed (default true). */
  readonly checkLeaks?: boolean;
  /** The code under test (default {@link stackTarget}()). */
  readonly target?: ScriptTargetFactory;
}

/**
 * One line of a run's transcript. `t` is µs of virtual time.
 *
 * @example
 * ```ts
 * import type { TranscriptEntry } from "./runner.ts";
 * const e: TranscriptEntry = { t: 0, kind: "in", line: 3, text: "< S 0:0(0) win 65535" };
 * ```
 */
export interface TranscriptEntry {
  /** Virtual time in seconds. */
  readonly t: number;
  /** in: injected; out: sent by the stack; call/return: socket calls; arp; nd (neighbour discovery, MLD); note. */
  readonly kind: "in" | "out" | "call" | "return" | "arp" | "nd" | "note";
  /** Script line, when the entry comes from one. */
  readonly line?: number;
  /** What happened. */
  readonly text: string;
}

/**
 * Why a script failed.
 *
 * @example
 * ```ts
 * import type { ScriptFailure } from "./runner.ts";
 * const f: ScriptFailure = { line: 12, message: "line 12: expected > . 1:1(0) at t=0.200, ..." };
 * ```
 */
export interface ScriptFailure {
  /** Script line, when the failure belongs to one. */
  readonly line?: number;
  /** The whole message, starting with `line N:` when there is a line. */
  readonly message: string;
}

/**
 * What {@link runScript} returns.
 *
 * @example
 * ```ts
 * import type { ScriptResult } from "./runner.ts";
 * const report = (r: ScriptResult) => r.ok ? "pass" : r.failure!.message;
 * ```
 */
export interface ScriptResult {
  /** The script passed. */
  readonly ok: boolean;
  /** Why it failed. */
  readonly failure?: ScriptFailure;
  /** Every event, as it happened. */
  readonly transcript: readonly TranscriptEntry[];
  /** Virtual time when the run ended, µs. */
  readonly endUs: number;
}

/** Options for {@link stackTarget}. */
export interface StackTargetOptions {
  /** Extra `Stack` options (clock, arena and random are the runner's). */
  readonly stack?: Partial<StackOptions>;
  /** Socket adapter over the stack (default: the BSD layer adapter, see `bsd_adapter.ts`). */
  readonly sockets?: (stack: Stack) => ScriptSockets;
  /** Called after the interface is up, before the script starts (install your code here). */
  readonly setup?: (stack: Stack, env: ScriptEnv) => Awaitable<void>;
}

/**
 * The default target: a netwasm `Stack` with the runner's device as its
 * only non-loopback interface (no gratuitous ARP, so the wire starts quiet).
 *
 * @example
 * ```ts
 * import { runScript, stackTarget } from "./runner.ts";
 * let stack;
 * const r = await runScript("0 < icmp echo_request id 1\n+0 > icmp echo_reply id 1", {
 *   target: stackTarget({ setup: (s) => { stack = s; } }),
 * });
 * ```
 */
export function stackTarget(options: StackTargetOptions = {}): ScriptTargetFactory {
  return async (env) => {
    const stack = new Stack({
      ...options.stack,
      // Scripts start at t=0: no duplicate address detection delaying the address.
      ...(env.ipVersion === "ipv6" ? { ipv6: { dadTransmits: 0, ...options.stack?.ipv6 } } : {}),
      clock: env.clock,
      arena: env.arena,
      random: env.random,
    });
    if (env.ipVersion === "ipv6") {
      // A static IPv6 address on the link (no SLAAC), no IPv4.
      stack.addInterface(env.device, {
        ip6: `${env.localIp}/${env.prefixLength}`,
        ipv6: true,
        slaac: false,
        announce: false,
      });
    } else {
      stack.addInterface(env.device, {
        address: `${env.localIp.replace(/^::ffff:/i, "")}/${env.prefixLength}`,
        announce: false,
      });
    }
    await options.setup?.(stack, env);
    return { sockets: (options.sockets ?? bsdSockets)(stack), close: () => stack.close() };
  };
}

/** Addresses and prefix per family, where the options and the script leave them unset. */
const FAMILY_DEFAULTS: Readonly<Record<IpVersion, readonly [string, string, number]>> = {
  ipv4: ["192.0.2.2", "192.0.2.1", 24],
  ipv6: ["2001:db8::2", "2001:db8::1", 64],
  "ipv4-mapped-ipv6": ["192.0.2.2", "192.0.2.1", 24],
};

const DEFAULTS = {
  localPort: 8080,
  remotePort: 48000,
  connectPort: 8080,
  toleranceMs: 0,
  quietMs: 500,
  anyTimeoutMs: 600_000,
  absoluteSeq: false,
  seed: 1,
  mtu: 1500,
  preseedArp: true,
  ignoreShellCommands: false,
  checkLeaks: true,
};

/**
 * Runner options with defaults filled in and a script's header lines
 * (packetdrill spellings where packetdrill has one) applied over them.
 * Throws `Error` for an unknown or malformed header option.
 *
 * @example
 * ```ts
 * import { resolveOptions } from "./run_config.ts";
 * resolveOptions({}, { tolerance_usecs: "4000" }).toleranceMs; // 4
 * ```
 */
export function resolveOptions(o: ScriptOptions, header: Script["options"]) {
  const m:
    & typeof DEFAULTS
    & Omit<ScriptOptions, "ipVersion" | "localIp" | "remoteIp" | "prefixLength" | "target">
    & {
      ipVersion: IpVersion;
      localIp: string | undefined;
      remoteIp: string | undefined;
      prefixLength: number | undefined;
      target: ScriptTargetFactory;
    } = {
      ...DEFAULTS,
      ...o,
      ipVersion: o.ipVersion ?? "ipv4",
      localIp: o.localIp,
      remoteIp: o.remoteIp,
      prefixLength: o.prefixLength,
      target: o.target ?? stackTarget(),
    };
  const num = (k: string, v: string | true) => {
    const n = v === true ? NaN : Number(v);
    if (!Number.isFinite(n) || n < 0) {
      throw new Error(`script option --${k} needs a number, got ${v}`);
    }
    return n;
  };
  const str = (k: string, v: string | true) => {
    if (v === true) throw new Error(`script option --${k} needs a value`);
    return v;
  };
  for (const [k, v] of Object.entries(header)) {
    switch (k) {
      case "local_ip":
        m.localIp = str(k, v);
        break;
      case "remote_ip":
        m.remoteIp = str(k, v);
        break;
      case "prefix_length":
        m.prefixLength = num(k, v);
        break;
      case "bind_port":
        m.localPort = num(k, v);
        break;
      case "remote_port":
        m.remotePort = num(k, v);
        break;
      case "connect_port":
        m.connectPort = num(k, v);
        break;
      case "tolerance_usecs":
        m.toleranceMs = num(k, v) / 1000;
        break;
      case "quiet_usecs":
        m.quietMs = num(k, v) / 1000;
        break;
      case "absolute_seq":
        m.absoluteSeq = v === true || v === "1" || v === "true";
        break;
      case "seed":
        m.seed = num(k, v);
        break;
      case "mtu":
        m.mtu = num(k, v);
        break;
      case "ip_version": {
        const ver = str(k, v);
        if (ver !== "ipv4" && ver !== "ipv6" && ver !== "ipv4-mapped-ipv6") {
          throw new Error(
            `script option --ip_version is ipv4, ipv6 or ipv4-mapped-ipv6, got ${ver}`,
          );
        }
        m.ipVersion = ver;
        break;
      }
      case "pending":
        break; // for test helpers: the runner runs the script anyway
      default:
        throw new Error(`unknown script option --${k}`);
    }
  }
  const [local, remote, prefix] = FAMILY_DEFAULTS[m.ipVersion];
  const out = {
    ...m,
    localIp: m.localIp ?? local,
    remoteIp: m.remoteIp ?? remote,
    prefixLength: m.prefixLength ?? prefix,
  };
  for (const [k, a] of [["local_ip", out.localIp], ["remote_ip", out.remoteIp]] as const) {
    const ok = out.ipVersion === "ipv6"
      ? tryParseIpv6Address(a) !== null
      : tryParseIpv4(a.replace(/^::ffff:/i, "")) !== null;
    if (!ok) {
      throw new Error(
        `script option --${k}=${a} is not an ${
          out.ipVersion === "ipv6" ? "IPv6" : "IPv4"
        } address (--ip_version=${out.ipVersion})`,
      );
    }
  }
  return out;
}

/** {@link ScriptOptions} with every default applied. */
export type ResolvedOptions = ReturnType<typeof resolveOptions>;

/**
 * A transcript as text, one entry per line:
 * `0.100 < S 0:0(0) win 65535   // line 3`.
 *
 * @example
 * ```ts
 * import { formatTranscript } from "./run_config.ts";
 * formatTranscript([{ t: 100_000, kind: "in", line: 3, text: "< S 0:0(0) win 65535" }]);
 * // "0.100 < S 0:0(0) win 65535  // line 3"
 * ```
 */
export function formatTranscript(entries: readonly TranscriptEntry[]): string {
  return entries.map((e) => {
    const prefix = e.kind === "call"
      ? ""
      : e.kind === "return"
      ? "  -> "
      : e.kind === "note"
      ? "!! "
      : e.kind === "arp" || e.kind === "nd"
      ? "   "
      : "";
    const where = e.line !== undefined ? `  // line ${e.line}` : "";
    return `${formatInstant(e.t)} ${prefix}${e.text}${where}`;
  }).join("\n");
}
