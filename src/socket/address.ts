/**
 * Socket addresses (`struct sockaddr_in`) as plain objects: what callers pass
 * in (`{ address: "192.0.2.2", port: 53 }`, family optional) and what the
 * socket layer hands back (`{ family: AF_INET, address: "192.0.2.2", port: 53 }`).
 *
 * Parsing is where Linux's `move_addr_to_kernel` and `addr_len` checks end
 * up (tests/socket/fd_table_test.ts): a malformed address is EINVAL, a foreign family
 * EAFNOSUPPORT.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { formatIpv4, tryParseIpv4 } from "../wire/addr.ts";
import { formatIpv6, splitZone, tryParseIpv6Address } from "../wire/addr6.ts";
import { AF_INET, AF_INET6, AF_UNSPEC } from "./constants.ts";

/**
 * An IPv4 socket address as the socket layer returns it.
 *
 * @example
 * ```ts
 * import type { SockAddrIn } from "./address.ts";
 * const a: SockAddrIn = { family: 2, address: "192.0.2.1", port: 5353 };
 * ```
 */
export interface SockAddrIn {
  /** Always AF_INET (2). */
  readonly family: number;
  /** Dotted-quad IPv4 address. */
  readonly address: string;
  /** Port, 0…65535. */
  readonly port: number;
}

/**
 * A socket address as callers pass it: `family` defaults to AF_INET,
 * `address` (dotted quad or a 32-bit number) to 0.0.0.0, `port` to 0.
 * `{ family: AF_UNSPEC }` disconnects a datagram socket in `connect()`.
 *
 * @example
 * ```ts
 * import type { SockAddrInput } from "./address.ts";
 * const dns: SockAddrInput = { address: "192.0.2.53", port: 53 };
 * const any: SockAddrInput = { port: 8080 };
 * ```
 */
export interface SockAddrInput {
  /** AF_INET (default) or AF_UNSPEC. */
  readonly family?: number;
  /** Dotted quad or 32-bit number (default 0.0.0.0). */
  readonly address?: string | number;
  /** Port (default 0). */
  readonly port?: number;
  /** AF_INET6: the interface (index, or name) of a link-local address; `"fe80::1%eth0"` works too. */
  readonly scopeId?: number | string;
  /** AF_INET6: flow information (accepted, not used). */
  readonly flowinfo?: number;
}

/**
 * A parsed address (reused by its owner: parsing allocates nothing).
 *
 * @example
 * ```ts
 * import { ParsedAddr, parseSockAddr } from "./address.ts";
 * const out = new ParsedAddr();
 * parseSockAddr({ address: "192.0.2.1", port: 7 }, out); // 0
 * out.addr; // 0xc0000201
 * ```
 */
export class ParsedAddr {
  /** AF_INET or AF_UNSPEC. */
  family: number = AF_INET;
  /** Unsigned 32-bit address. */
  addr = 0;
  /** Port. */
  port = 0;
}

/**
 * Check and convert `input` into `out`. Returns 0, -EINVAL for a malformed
 * address (not an object, an address that is not IPv4, a port outside
 * 0…65535 — the "bad addr_len" of C), or -EAFNOSUPPORT for a family other
 * than AF_INET / AF_UNSPEC.
 *
 * @example
 * ```ts
 * import { ParsedAddr, parseSockAddr } from "./address.ts";
 * parseSockAddr({ address: "999.1.1.1", port: 1 }, new ParsedAddr()); // -22 (EINVAL)
 * ```
 */
export function parseSockAddr(input: SockAddrInput | undefined | null, out: ParsedAddr): number {
  if (input === null || typeof input !== "object") return -Errno.EINVAL;
  const family = input.family ?? AF_INET;
  if (family !== AF_INET && family !== AF_UNSPEC) return -Errno.EAFNOSUPPORT;
  const a = input.address ?? 0;
  let addr: number;
  if (typeof a === "number") {
    if (!Number.isInteger(a) || a < 0 || a > 0xffffffff) return -Errno.EINVAL;
    addr = a >>> 0;
  } else if (typeof a === "string") {
    const p = tryParseIpv4(a);
    if (p === null) return -Errno.EINVAL;
    addr = p >>> 0;
  } else {
    return -Errno.EINVAL;
  }
  const port = input.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return -Errno.EINVAL;
  out.family = family;
  out.addr = addr;
  out.port = port;
  return 0;
}

/**
 * A {@link SockAddrIn} for `addr:port`.
 *
 * @example
 * ```ts
 * import { sockAddr } from "./address.ts";
 * sockAddr(0xc0000201, 53); // { family: 2, address: "192.0.2.1", port: 53 }
 * ```
 */
export function sockAddr(addr: number, port: number): SockAddrIn {
  return { family: AF_INET, address: formatIpv4(addr >>> 0), port };
}

/**
 * `"192.0.2.1:53"` for messages; tolerates malformed input (it is what the
 * caller passed).
 *
 * @example
 * ```ts
 * import { describeAddr } from "./address.ts";
 * describeAddr({ address: "192.0.2.9", port: 53 }); // "192.0.2.9:53"
 * ```
 */
export function describeAddr(input: SockAddrInput | undefined | null): string {
  if (input === null || typeof input !== "object") return String(input);
  const a = input.address ?? (input.family === AF_INET6 ? "::" : "0.0.0.0");
  const text = typeof a === "number" && Number.isInteger(a) && a >= 0 && a <= 0xffffffff
    ? formatIpv4(a >>> 0)
    : String(a);
  // RFC 3986 §3.2.2: an IPv6 address with a port goes in brackets.
  return text.includes(":") && !text.startsWith("[")
    ? `[${text}]:${input.port ?? 0}`
    : `${text}:${input.port ?? 0}`;
}

/**
 * An IPv6 socket address as the socket layer returns it (`struct sockaddr_in6`).
 *
 * @example
 * ```ts
 * import type { SockAddrIn6 } from "./address.ts";
 * const a: SockAddrIn6 = { family: 10, address: "2001:db8::1", port: 53, flowinfo: 0, scopeId: 0 };
 * ```
 */
export interface SockAddrIn6 extends SockAddrIn {
  /** Flow information (always 0 here). */
  readonly flowinfo: number;
  /** Interface index for link-local addresses, else 0. */
  readonly scopeId: number;
}

/**
 * A parsed AF_INET6 address (reused by its owner: parsing allocates nothing
 * beyond the text handling).
 *
 * @example
 * ```ts
 * import { ParsedAddr6, parseSockAddr6 } from "./address.ts";
 * const out = new ParsedAddr6();
 * parseSockAddr6({ family: 10, address: "2001:db8::1", port: 7 }, out); // 0
 * out.port; // 7
 * ```
 */
export class ParsedAddr6 {
  /** AF_INET6 or AF_UNSPEC. */
  family: number = AF_INET6;
  /** The address, 16 bytes. */
  readonly addr: Uint8Array = new Uint8Array(16);
  /** Port in host byte order. */
  port = 0;
  /** Interface index of the zone, 0 = none. */
  scopeId = 0;
}

/**
 * Check and convert an AF_INET6 address into `out`: `address` is IPv6 text
 * (`"2001:db8::1"`, `"[::1]"`, `"fe80::1%eth0"`, `"::ffff:192.0.2.1"`;
 * default `::`), `scopeId` an interface index or name (names are looked up
 * with `ifindex`). Returns 0, -EINVAL (malformed), -EAFNOSUPPORT (another
 * family) or -ENODEV (no such interface).
 *
 * @example
 * ```ts
 * import { ParsedAddr6, parseSockAddr6 } from "./address.ts";
 * parseSockAddr6({ family: 10, address: "192.0.2.1", port: 1 }, new ParsedAddr6()); // -22 (EINVAL)
 * ```
 */
export function parseSockAddr6(
  input: SockAddrInput | undefined | null,
  out: ParsedAddr6,
  ifindex: (name: string) => number = () => 0,
): number {
  if (input === null || typeof input !== "object") return -Errno.EINVAL;
  const family = input.family ?? AF_INET6;
  if (family !== AF_INET6 && family !== AF_UNSPEC) return -Errno.EAFNOSUPPORT;
  const a = input.address ?? "::";
  if (typeof a !== "string") return -Errno.EINVAL;
  const bare = a.startsWith("[") && a.endsWith("]") ? a.slice(1, -1) : a;
  const [text, zone] = splitZone(bare);
  const addr = tryParseIpv6Address(text);
  if (addr === null) return -Errno.EINVAL;
  let scope: number | string = input.scopeId ?? zone ?? 0;
  if (typeof scope === "string") {
    const n = /^[0-9]+$/.test(scope) ? Number(scope) : ifindex(scope);
    if (n <= 0) return -Errno.ENODEV;
    scope = n;
  }
  if (!Number.isInteger(scope) || scope < 0) return -Errno.EINVAL;
  const port = input.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return -Errno.EINVAL;
  out.family = family;
  out.addr.set(addr);
  out.port = port;
  out.scopeId = scope;
  return 0;
}

/**
 * A {@link SockAddrIn6} for the address at `u8[off]` and `port`.
 *
 * @example
 * ```ts
 * import { sockAddr6 } from "./address.ts";
 * const a = new Uint8Array(16);
 * a[15] = 1;
 * sockAddr6(a, 0, 53).address; // "::1"
 * ```
 */
export function sockAddr6(u8: Uint8Array, off: number, port: number, scopeId = 0): SockAddrIn6 {
  return { family: AF_INET6, address: formatIpv6(u8, off), port, flowinfo: 0, scopeId };
}
