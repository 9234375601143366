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
import { AF_INET, AF_UNSPEC } from "./constants.ts";

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
  const a = input.address ?? "0.0.0.0";
  const text = typeof a === "number" && Number.isInteger(a) && a >= 0 && a <= 0xffffffff
    ? formatIpv4(a >>> 0)
    : String(a);
  return `${text}:${input.port ?? 0}`;
}
