/**
 * The parsed form of a packet script (packetdrill notation): events with a
 * time, each a packet to inject (`<`), a packet to expect (`>`) or a socket
 * call. Times are integer microseconds so that `0.1 + 0.2` style drift can
 * never make a script flaky. Sequence numbers are stored as written; the
 * runner translates them (relative to the ISNs) when it runs the script.
 *
 * @module
 */

/**
 * When an event happens. `us`/`endUs` are microseconds; relative ones are
 * offsets from the previous event's actual time.
 *
 * @example
 * ```ts
 * import type { TimeSpec } from "./ast.ts";
 * const t: TimeSpec = { kind: "rel", us: 100_000 }; // "+0.1"
 * ```
 */
export type TimeSpec =
  | { readonly kind: "abs"; readonly us: number }
  | { readonly kind: "rel"; readonly us: number }
  | { readonly kind: "any" }
  | { readonly kind: "absRange"; readonly us: number; readonly endUs: number }
  | { readonly kind: "relRange"; readonly us: number; readonly endUs: number };

/**
 * A number to check, or `*` (any value) in an expectation.
 *
 * @example
 * ```ts
 * import type { NumOrAny } from "./ast.ts";
 * const win: NumOrAny = "*";
 * ```
 */
export type NumOrAny = number | "*";

/**
 * IP-level details written in `[...]` after the direction: ECN codepoint,
 * whole TOS byte, TTL.
 *
 * @example
 * ```ts
 * import type { IpInfo } from "./ast.ts";
 * const ce: IpInfo = { ecn: "ce" }; // "< [ce] . 1:1(0) ack 1"
 * ```
 */
export interface IpInfo {
  /** ECN field: `noecn` 00, `ect1` 01, `ect0` 10, `ce` 11; `ect01` = either ECT (expectations). */
  readonly ecn?: "noecn" | "ect0" | "ect1" | "ce" | "ect01";
  /** The whole TOS/Traffic Class byte. */
  readonly tos?: number;
  /** Time to live. */
  readonly ttl?: number;
}

/**
 * One TCP option as written. `opt` and `raw` exist to test MUST-6/MUST-7:
 * `opt 99 len 4` is an unknown option, `opt 2 len 0` a malformed one,
 * `raw 0x0200` any bytes at all.
 *
 * @example
 * ```ts
 * import type { TcpOptionSpec } from "./ast.ts";
 * const opts: TcpOptionSpec[] = [{ kind: "mss", value: 1460 }, { kind: "nop" }];
 * ```
 */
export type TcpOptionSpec =
  | { readonly kind: "nop" }
  | { readonly kind: "eol" }
  | { readonly kind: "mss"; readonly value: number }
  | { readonly kind: "wscale"; readonly value: number }
  | { readonly kind: "sackOK" }
  | { readonly kind: "sack"; readonly blocks: readonly (readonly [number, number])[] }
  | { readonly kind: "TS"; readonly val: NumOrAny; readonly ecr: NumOrAny }
  | {
    readonly kind: "opt";
    /** ICMP code. */
    readonly code: number;
    /** The length byte as sent (may lie). */
    readonly length: number;
    /** Body bytes; `null` = `length − 2` zero bytes. */
    readonly data: Uint8Array | null;
  }
  | { readonly kind: "raw"; readonly bytes: Uint8Array };

/** Source and destination port written as `src>dst`. */
export interface PortPair {
  /** Source port. */
  readonly src: number;
  /** Destination port. */
  readonly dst: number;
}

/** Fields every packet line has. */
export interface PacketCommon {
  /** `<` inbound (injected), `>` outbound (expected). */
  readonly direction: "<" | ">";
  /** The `[ip]` part: ECN, TOS, TTL. */
  readonly ip?: IpInfo;
  /** Send a wrong transport checksum (inbound only; MUST-3 tests). */
  readonly badChecksum?: boolean;
  /** Payload bytes (`payload "..."`); zeros of the written length when absent. */
  readonly payload?: Uint8Array;
}

/**
 * `< S 0:0(0) win 65535 <mss 1460>` and friends.
 *
 * @example
 * ```ts
 * import type { TcpPacketSpec } from "./ast.ts";
 * const syn: TcpPacketSpec = { proto: "tcp", direction: "<", flags: 0x02, seq: 0, len: 0,
 *   win: 65535, options: [{ kind: "mss", value: 1460 }] };
 * ```
 */
export interface TcpPacketSpec extends PacketCommon {
  /** A TCP segment. */
  readonly proto: "tcp";
  /** Explicit ports (`SRC>DST`), else the current flow. */
  readonly ports?: PortPair;
  /** Flag bits as in byte 13 (`TcpFlags`). */
  readonly flags: number;
  /** Start sequence number. */
  readonly seq: number;
  /** Payload length (`end − seq`). */
  readonly len: number;
  /** ACK number (`*`: any). */
  readonly ack?: NumOrAny;
  /** Window (`*`: any). */
  readonly win?: NumOrAny;
  /** Urgent pointer (`*`: any). */
  readonly urg?: NumOrAny;
  /** The option list as written (`[]` = none), or `"any"` for `<...>`. */
  readonly options: readonly TcpOptionSpec[] | "any";
}

/**
 * `< udp (10)`.
 *
 * @example
 * ```ts
 * import type { UdpPacketSpec } from "./ast.ts";
 * const d: UdpPacketSpec = { proto: "udp", direction: "<", len: 10 };
 * ```
 */
export interface UdpPacketSpec extends PacketCommon {
  /** A UDP datagram. */
  readonly proto: "udp";
  /** Explicit ports (`SRC>DST`), else the current flow. */
  readonly ports?: PortPair;
  /** Payload length. */
  readonly len: number;
}

/**
 * The datagram an ICMP error quotes: a TCP segment by its sequence range or a
 * UDP datagram by its payload length.
 *
 * @example
 * ```ts
 * import type { IcmpQuoteSpec } from "./ast.ts";
 * const q: IcmpQuoteSpec = { proto: "tcp", seq: 1, len: 1460 }; // [1:1461(1460)]
 * ```
 */
export type IcmpQuoteSpec =
  | { readonly proto: "tcp"; readonly seq: number; readonly len: number }
  | { readonly proto: "udp"; readonly len: number };

/**
 * `< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`.
 *
 * @example
 * ```ts
 * import type { IcmpPacketSpec } from "./ast.ts";
 * const e: IcmpPacketSpec = { proto: "icmp", direction: ">", type: 3, code: 3,
 *   quote: { proto: "udp", len: 10 } };
 * ```
 */
export interface IcmpPacketSpec extends PacketCommon {
  /** An ICMP message. */
  readonly proto: "icmp";
  /** ICMP type. */
  readonly type: number;
  /** ICMP code. */
  readonly code: number;
  /** Next-hop MTU (`mtu N`, frag_needed). */
  readonly mtu?: number;
  /** Echo identifier (`id N`). */
  readonly id?: number;
  /** The packet an error quotes. */
  readonly quote?: IcmpQuoteSpec;
}

/**
 * Any packet line.
 *
 * @example
 * ```ts
 * import type { PacketSpec } from "./ast.ts";
 * const isOut = (p: PacketSpec) => p.direction === ">";
 * ```
 */
export type PacketSpec = TcpPacketSpec | UdpPacketSpec | IcmpPacketSpec;

/**
 * A socket-call argument: packetdrill's expression language, the parts
 * scripts use (`...`, numbers, symbols, `A|B`, `[1]`, strings, `{k=v}`,
 * `htons(8080)`).
 *
 * @example
 * ```ts
 * import type { Expr } from "./ast.ts";
 * const flags: Expr = { kind: "or", items: [{ kind: "word", name: "O_RDWR" },
 *   { kind: "word", name: "O_NONBLOCK" }] };
 * ```
 */
export type Expr =
  | { readonly kind: "ellipsis" }
  | { readonly kind: "int"; readonly value: number; readonly hex: boolean }
  | { readonly kind: "word"; readonly name: string }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "list"; readonly items: readonly Expr[] }
  | { readonly kind: "struct"; readonly items: readonly Expr[] }
  | { readonly kind: "or"; readonly items: readonly Expr[] }
  | { readonly kind: "assign"; readonly name: string; readonly value: Expr }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly Expr[] };

/**
 * `+0...0.2 accept(3, ..., ...) = 4`: a call, its expected result and, for a
 * blocking call, when it must return.
 *
 * @example
 * ```ts
 * import type { SyscallSpec } from "./ast.ts";
 * const c: SyscallSpec = { name: "close", args: [{ kind: "int", value: 4, hex: false }],
 *   result: 0 };
 * ```
 */
export interface SyscallSpec {
  /** Call name (`connect`, `read`, …). */
  readonly name: string;
  /** Arguments as written. */
  readonly args: readonly Expr[];
  /** End time of a blocking call (µs, same base as the start time), from `...T`. */
  readonly endUs?: number;
  /** Expected return value. */
  readonly result: number;
  /** Whether the result was written in hex (kept for formatting). */
  readonly resultHex?: boolean;
  /** Expected errno name (`EINPROGRESS`) when `result` is -1. */
  readonly errno?: string;
  /** The text in parentheses after the errno, or a note after the result. */
  readonly note?: string;
}

/**
 * One script line (or a multi-line call) with its time.
 *
 * @example
 * ```ts
 * import type { ScriptEvent } from "./ast.ts";
 * const where = (e: ScriptEvent) => `line ${e.line}`;
 * ```
 */
export type ScriptEvent =
  | {
    readonly type: "packet";
    readonly line: number;
    readonly time: TimeSpec;
    readonly packet: PacketSpec;
  }
  | {
    readonly type: "syscall";
    readonly line: number;
    readonly time: TimeSpec;
    readonly call: SyscallSpec;
  };

/**
 * A parsed script: header options (`--tolerance_usecs=1000`) and events.
 *
 * @example
 * ```ts
 * import type { Script } from "./ast.ts";
 * const empty: Script = { options: {}, events: [] };
 * ```
 */
export interface Script {
  /** `--name=value` header lines (`true` for a bare `--name`). */
  readonly options: Readonly<Record<string, string | true>>;
  /** Events in order. */
  readonly events: readonly ScriptEvent[];
}
