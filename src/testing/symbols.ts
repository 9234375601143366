/**
 * The symbolic names packet scripts use, with their Linux (x86-64) values:
 * socket-call constants (`SOCK_STREAM`, `SOL_SOCKET`, `SO_REUSEADDR`,
 * `TCP_NODELAY`, `O_NONBLOCK`, `SHUT_WR`, errno names) and ICMP type and
 * code names as packetdrill spells them (`unreachable`,
 * `port_unreachable`).
 *
 * The table is self-contained on purpose: scripts are written against
 * Linux's numbers, and the runner must not change meaning when a socket
 * module is refactored (a test checks it agrees with `src/socket/constants.ts`).
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { IcmpType } from "../wire/icmp.ts";

/**
 * Socket-call constants a script may name, with Linux x86-64 values.
 *
 * @example
 * ```ts
 * import { SCRIPT_SYMBOLS } from "./symbols.ts";
 * SCRIPT_SYMBOLS.SOCK_STREAM; // 1
 * ```
 */
export const SCRIPT_SYMBOLS: Readonly<Record<string, number>> = Object.freeze({
  AF_UNSPEC: 0,
  AF_INET: 2,
  AF_INET6: 10,
  PF_INET: 2,
  PF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  IPPROTO_IP: 0,
  IPPROTO_ICMP: 1,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  SOL_IP: 0,
  SOL_SOCKET: 1,
  SOL_TCP: 6,
  SOL_UDP: 17,
  SO_REUSEADDR: 2,
  SO_TYPE: 3,
  SO_ERROR: 4,
  SO_BROADCAST: 6,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_KEEPALIVE: 9,
  SO_OOBINLINE: 10,
  SO_NO_CHECK: 11,
  SO_LINGER: 13,
  SO_REUSEPORT: 15,
  SO_RCVLOWAT: 18,
  SO_SNDLOWAT: 19,
  SO_RCVTIMEO: 20,
  SO_SNDTIMEO: 21,
  SO_PROTOCOL: 38,
  SO_DOMAIN: 39,
  SOL_IPV6: 41,
  IPPROTO_IPV6: 41,
  IPV6_UNICAST_HOPS: 16,
  IPV6_V6ONLY: 26,
  IPV6_TCLASS: 67,
  IP_TOS: 1,
  IP_TTL: 2,
  IP_MTU_DISCOVER: 10,
  IP_RECVERR: 11,
  IP_FREEBIND: 15,
  IP_PMTUDISC_DONT: 0,
  IP_PMTUDISC_WANT: 1,
  IP_PMTUDISC_DO: 2,
  TCP_NODELAY: 1,
  TCP_MAXSEG: 2,
  TCP_CORK: 3,
  TCP_KEEPIDLE: 4,
  TCP_KEEPINTVL: 5,
  TCP_KEEPCNT: 6,
  TCP_SYNCNT: 7,
  TCP_LINGER2: 8,
  TCP_DEFER_ACCEPT: 9,
  TCP_WINDOW_CLAMP: 10,
  TCP_INFO: 11,
  TCP_QUICKACK: 12,
  TCP_CONGESTION: 13,
  TCP_USER_TIMEOUT: 18,
  MSG_OOB: 0x1,
  MSG_PEEK: 0x2,
  MSG_DONTROUTE: 0x4,
  MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40,
  MSG_EOR: 0x80,
  MSG_WAITALL: 0x100,
  MSG_ERRQUEUE: 0x2000,
  MSG_NOSIGNAL: 0x4000,
  MSG_MORE: 0x8000,
  SHUT_RD: 0,
  SHUT_WR: 1,
  SHUT_RDWR: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_NONBLOCK: 0o4000,
  INADDR_ANY: 0,
});

/** Aliases packetdrill accepts for errno names. */
const ERRNO_ALIASES: Readonly<Record<string, string>> = { EWOULDBLOCK: "EAGAIN" };

/**
 * The canonical errno name for `name` (`EWOULDBLOCK` → `EAGAIN`), or
 * `undefined` when it is not an errno this project knows.
 *
 * @example
 * ```ts
 * import { canonicalErrno } from "./symbols.ts";
 * canonicalErrno("EWOULDBLOCK"); // "EAGAIN"
 * canonicalErrno("NOPE"); // undefined
 * ```
 */
export function canonicalErrno(name: string): string | undefined {
  const n = ERRNO_ALIASES[name] ?? name;
  return Object.hasOwn(Errno, n) ? n : undefined;
}

/**
 * The numeric value of a symbol: a socket constant or an errno name
 * (`ECONNREFUSED` → 111, as `getsockopt(SO_ERROR)` reports it).
 *
 * @example
 * ```ts
 * import { symbolValue } from "./symbols.ts";
 * symbolValue("O_NONBLOCK"); // 2048
 * symbolValue("ECONNREFUSED"); // 111
 * ```
 */
export function symbolValue(name: string): number | undefined {
  if (Object.hasOwn(SCRIPT_SYMBOLS, name)) return SCRIPT_SYMBOLS[name];
  const e = canonicalErrno(name);
  return e === undefined ? undefined : (Errno as Record<string, number>)[e];
}

/** ICMPv4 types by packetdrill name. */
const ICMP_TYPES: readonly (readonly [number, string])[] = [
  [0, "echo_reply"],
  [3, "unreachable"],
  [4, "source_quench"],
  [5, "redirect"],
  [8, "echo_request"],
  [11, "time_exceeded"],
  [12, "parameter_problem"],
  [13, "timestamp_request"],
  [14, "timestamp_reply"],
];

/** Destination-unreachable codes by packetdrill name (RFC 1122 / RFC 1812 numbering). */
const UNREACHABLE_CODES: readonly string[] = [
  "net_unreachable",
  "host_unreachable",
  "protocol_unreachable",
  "port_unreachable",
  "frag_needed",
  "source_route_failed",
  "net_unknown",
  "host_unknown",
  "source_host_isolated",
  "net_prohibited",
  "host_prohibited",
  "net_unreachable_for_tos",
  "host_unreachable_for_tos",
  "packet_filtered",
  "precedence_violation",
  "precedence_cutoff",
];

/** Time-exceeded codes (packetdrill has none for IPv4; these follow its IPv6 names). */
const TIME_EXCEEDED_CODES: readonly string[] = ["exceeded_ttl", "exceeded_frag_time"];

/**
 * ICMP type number for a packetdrill type name (`unreachable` → 3, or the
 * tcpdump-style `type_N`), `undefined` if unknown.
 *
 * @example
 * ```ts
 * import { icmpTypeByName } from "./symbols.ts";
 * icmpTypeByName("unreachable"); // 3
 * icmpTypeByName("type_42"); // 42
 * ```
 */
export function icmpTypeByName(name: string): number | undefined {
  const m = /^type_(\d+)$/.exec(name);
  if (m) return Number(m[1]) <= 255 ? Number(m[1]) : undefined;
  return ICMP_TYPES.find(([, n]) => n === name)?.[0];
}

/**
 * The packetdrill name of an ICMP type (`type_N` when it has none).
 *
 * @example
 * ```ts
 * import { icmpTypeName } from "./symbols.ts";
 * icmpTypeName(3); // "unreachable"
 * icmpTypeName(42); // "type_42"
 * ```
 */
export function icmpTypeName(type: number): string {
  return ICMP_TYPES.find(([t]) => t === type)?.[1] ?? `type_${type}`;
}

function codeTable(type: number): readonly string[] {
  if (type === IcmpType.DEST_UNREACHABLE) return UNREACHABLE_CODES;
  if (type === IcmpType.TIME_EXCEEDED) return TIME_EXCEEDED_CODES;
  return [];
}

/**
 * ICMP code number for a name under `type` (`port_unreachable` → 3, or
 * `code_N`), `undefined` if unknown.
 *
 * @example
 * ```ts
 * import { icmpCodeByName } from "./symbols.ts";
 * icmpCodeByName(3, "port_unreachable"); // 3
 * icmpCodeByName(3, "code_9"); // 9
 * ```
 */
export function icmpCodeByName(type: number, name: string): number | undefined {
  const m = /^code_(\d+)$/.exec(name);
  if (m) return Number(m[1]) <= 255 ? Number(m[1]) : undefined;
  const i = codeTable(type).indexOf(name);
  return i < 0 ? undefined : i;
}

/**
 * The name of ICMP `code` under `type`: `""` for code 0 of a type without a
 * code table (scripts omit it), `code_N` when unnamed.
 *
 * @example
 * ```ts
 * import { icmpCodeName } from "./symbols.ts";
 * icmpCodeName(3, 2); // "protocol_unreachable"
 * icmpCodeName(8, 0); // ""
 * ```
 */
export function icmpCodeName(type: number, code: number): string {
  const table = codeTable(type);
  if (table.length === 0 && code === 0) return "";
  return table[code] ?? `code_${code}`;
}
