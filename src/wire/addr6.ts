/**
 * IPv6 addresses (RFC 4291): the text forms of RFC 4291 §2.2 on input, the
 * canonical form of RFC 5952 on output, and the classification a host needs
 * (scopes, multicast, solicited-node groups, v4-mapped addresses).
 *
 * Representation. An {@link Ipv6Address} is a 16-byte `Uint8Array` in network
 * order. Every helper also takes an offset, so the same code compares an
 * address held by a socket with one still inside a packet in the arena — the
 * receive path never copies an address out of the packet to look at it.
 * Addresses handed around as values are never modified in place: a function
 * that makes an address returns a fresh array (configuration-time only).
 *
 * @module
 */
import { formatIpv4, type Ipv4Address, type MacAddress, tryParseIpv4 } from "./addr.ts";

/**
 * An IPv6 address: 16 bytes in network order. Treat as immutable.
 *
 * @example
 * ```ts
 * import { type Ipv6Address, parseIpv6Address } from "./addr6.ts";
 * const a: Ipv6Address = parseIpv6Address("2001:db8::1");
 * a.length; // 16
 * ```
 */
export type Ipv6Address = Uint8Array;

/**
 * Bytes in an IPv6 address.
 *
 * @example
 * ```ts
 * import { IPV6_ADDRESS_LENGTH } from "./addr6.ts";
 * IPV6_ADDRESS_LENGTH; // 16
 * ```
 */
export const IPV6_ADDRESS_LENGTH = 16;

/**
 * Multicast scopes (RFC 4291 §2.7, RFC 7346) and the unicast scopes of
 * RFC 6724 §3.1 use the same numbers.
 *
 * @example
 * ```ts
 * import { Ipv6Scope } from "./addr6.ts";
 * Ipv6Scope.LINK_LOCAL; // 2
 * ```
 */
export const Ipv6Scope = {
  INTERFACE_LOCAL: 1,
  LINK_LOCAL: 2,
  ADMIN_LOCAL: 4,
  SITE_LOCAL: 5,
  ORGANIZATION_LOCAL: 8,
  GLOBAL: 14,
} as const;

function fromWords(...w: number[]): Ipv6Address {
  const a = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    a[2 * i] = w[i]! >>> 8;
    a[2 * i + 1] = w[i]! & 255;
  }
  return a;
}

/**
 * A fresh copy of `::` (the unspecified address, RFC 4291 §2.5.2).
 *
 * @example
 * ```ts
 * import { ipv6Unspecified, formatIpv6 } from "./addr6.ts";
 * formatIpv6(ipv6Unspecified()); // "::"
 * ```
 */
export function ipv6Unspecified(): Ipv6Address {
  return new Uint8Array(16);
}

/**
 * `::` (RFC 4291 §2.5.2). Shared: never modify it.
 *
 * @example
 * ```ts
 * import { IPV6_UNSPECIFIED, isUnspecified6 } from "./addr6.ts";
 * isUnspecified6(IPV6_UNSPECIFIED); // true
 * ```
 */
export const IPV6_UNSPECIFIED: Ipv6Address = new Uint8Array(16);
/**
 * `::1` (RFC 4291 §2.5.3). Shared: never modify it.
 *
 * @example
 * ```ts
 * import { IPV6_LOOPBACK, formatIpv6 } from "./addr6.ts";
 * formatIpv6(IPV6_LOOPBACK); // "::1"
 * ```
 */
export const IPV6_LOOPBACK: Ipv6Address = fromWords(0, 0, 0, 0, 0, 0, 0, 1);
/**
 * `ff02::1`, all nodes on the link (RFC 4291 §2.7.1). Shared: never modify it.
 *
 * @example
 * ```ts
 * import { IPV6_ALL_NODES, formatIpv6 } from "./addr6.ts";
 * formatIpv6(IPV6_ALL_NODES); // "ff02::1"
 * ```
 */
export const IPV6_ALL_NODES: Ipv6Address = fromWords(0xff02, 0, 0, 0, 0, 0, 0, 1);
/**
 * `ff02::2`, all routers on the link (RFC 4291 §2.7.1). Shared: never modify it.
 *
 * @example
 * ```ts
 * import { IPV6_ALL_ROUTERS, formatIpv6 } from "./addr6.ts";
 * formatIpv6(IPV6_ALL_ROUTERS); // "ff02::2"
 * ```
 */
export const IPV6_ALL_ROUTERS: Ipv6Address = fromWords(0xff02, 0, 0, 0, 0, 0, 0, 2);
/**
 * `ff02::16`, where MLDv2 reports go (RFC 3810 §5.2.14). Shared: never modify it.
 *
 * @example
 * ```ts
 * import { IPV6_ALL_MLDV2_ROUTERS, formatIpv6 } from "./addr6.ts";
 * formatIpv6(IPV6_ALL_MLDV2_ROUTERS); // "ff02::16"
 * ```
 */
export const IPV6_ALL_MLDV2_ROUTERS: Ipv6Address = fromWords(0xff02, 0, 0, 0, 0, 0, 0, 0x16);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 0x20;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Parse an IPv6 address in any RFC 4291 §2.2 text form — full, `::`
 * compressed, with an embedded dotted quad (`::ffff:192.0.2.1`) — or return
 * `null`. Hex digits in either case, at most four per group, at most one
 * `::`. No zone (`%eth0`), brackets or prefix: see {@link splitZone}.
 *
 * @example
 * ```ts
 * import { tryParseIpv6Address } from "./addr6.ts";
 * tryParseIpv6Address("2001:DB8::1")?.[15]; // 1
 * tryParseIpv6Address("1::2::3"); // null
 * tryParseIpv6Address("12345::"); // null
 * ```
 */
export function tryParseIpv6Address(text: string): Ipv6Address | null {
  const n = text.length;
  if (n < 2 || n > 45) return null;
  const words = new Array<number>(8);
  let count = 0;
  let gap = -1; // index in `words` where "::" sits
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    // A leading colon must be the start of "::".
    if (text.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
    if (i === n) return new Uint8Array(16);
  }
  while (i < n) {
    if (count === 8) return null;
    // An embedded IPv4 address may end the text (RFC 4291 §2.2 form 3).
    if (text.indexOf(":", i) < 0 && text.indexOf(".", i) >= 0) {
      if (count > 6) return null;
      const v4 = tryParseIpv4(text.slice(i));
      if (v4 === null) return null;
      words[count++] = v4 >>> 16;
      words[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    let v = 0;
    let digits = 0;
    while (i < n) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 4) return null;
    words[count++] = v;
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return null;
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap >= 0) return null; // a second "::"
      gap = count;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return null; // a trailing single colon
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return null;
  const out = new Uint8Array(16);
  const tail = gap < 0 ? 0 : count - gap;
  for (let k = 0; k < count; k++) {
    const at = gap >= 0 && k >= gap ? 8 - tail + (k - gap) : k;
    out[2 * at] = words[k]! >>> 8;
    out[2 * at + 1] = words[k]! & 255;
  }
  return out;
}

/**
 * Parse an IPv6 address strictly (see {@link tryParseIpv6Address}); throws
 * `TypeError` saying what was expected.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * parseIpv6Address("fe80::1")[0]; // 0xfe
 * // parseIpv6Address("fe80:::1") throws TypeError
 * ```
 */
export function parseIpv6Address(text: string): Ipv6Address {
  const a = tryParseIpv6Address(text);
  if (a === null) {
    throw new TypeError(
      `Invalid IPv6 address ${
        JSON.stringify(text)
      }: expected up to eight groups of 1-4 hex digits separated by colons, at most one "::"`,
    );
  }
  return a;
}

/**
 * Split a zone index off an address (`fe80::1%eth0` → `["fe80::1", "eth0"]`,
 * RFC 4007 §11); the zone is `null` when there is none.
 *
 * @example
 * ```ts
 * import { splitZone } from "./addr6.ts";
 * splitZone("fe80::1%2"); // ["fe80::1", "2"]
 * splitZone("2001:db8::1"); // ["2001:db8::1", null]
 * ```
 */
export function splitZone(text: string): [string, string | null] {
  const p = text.indexOf("%");
  return p < 0 ? [text, null] : [text.slice(0, p), text.slice(p + 1)];
}

/**
 * Format `u8[off, off+16)` in the canonical text form of RFC 5952: lower
 * case, no leading zeros, the longest run (≥ 2) of zero groups as `::` (the
 * first on a tie), and v4-mapped addresses as `::ffff:a.b.c.d` (§5).
 *
 * @example
 * ```ts
 * import { formatIpv6, parseIpv6Address } from "./addr6.ts";
 * formatIpv6(parseIpv6Address("2001:0DB8:0:0:1:0:0:1")); // "2001:db8::1:0:0:1"
 * formatIpv6(parseIpv6Address("::ffff:c000:201")); // "::ffff:192.0.2.1"
 * ```
 */
export function formatIpv6(u8: Uint8Array, off = 0): string {
  if (isV4Mapped(u8, off)) return `::ffff:${formatIpv4(v4FromMapped(u8, off))}`;
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((u8[off + 2 * i]! << 8) | u8[off + 2 * i + 1]!);
  let bestAt = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestAt < 0) return w.map((x) => x.toString(16)).join(":");
  const head = w.slice(0, bestAt).map((x) => x.toString(16)).join(":");
  const tail = w.slice(bestAt + bestLen).map((x) => x.toString(16)).join(":");
  return `${head}::${tail}`;
}

/**
 * True when the 16 bytes at `a[aOff]` equal those at `b[bOff]`.
 *
 * @example
 * ```ts
 * import { ip6Equal, IPV6_LOOPBACK, parseIpv6Address } from "./addr6.ts";
 * ip6Equal(parseIpv6Address("::1"), 0, IPV6_LOOPBACK, 0); // true
 * ```
 */
export function ip6Equal(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < 16; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/**
 * A fresh copy of the address at `u8[off]`.
 *
 * @example
 * ```ts
 * import { ip6Copy, IPV6_LOOPBACK } from "./addr6.ts";
 * ip6Copy(IPV6_LOOPBACK)[15]; // 1
 * ```
 */
export function ip6Copy(u8: Uint8Array, off = 0): Ipv6Address {
  return u8.slice(off, off + 16);
}

/**
 * The 32-bit word `i` (0–3) of the address at `u8[off]`, for hashing.
 *
 * @example
 * ```ts
 * import { ip6Word, parseIpv6Address } from "./addr6.ts";
 * ip6Word(parseIpv6Address("2001:db8::1"), 0, 0); // 0x20010db8
 * ```
 */
export function ip6Word(u8: Uint8Array, off: number, i: number): number {
  const o = off + 4 * i;
  return ((u8[o]! << 24) | (u8[o + 1]! << 16) | (u8[o + 2]! << 8) | u8[o + 3]!) >>> 0;
}

/**
 * True for `::`.
 *
 * @example
 * ```ts
 * import { isUnspecified6, IPV6_UNSPECIFIED } from "./addr6.ts";
 * isUnspecified6(IPV6_UNSPECIFIED); // true
 * ```
 */
export function isUnspecified6(u8: Uint8Array, off = 0): boolean {
  for (let i = 0; i < 16; i++) if (u8[off + i] !== 0) return false;
  return true;
}

/**
 * True for `::1`.
 *
 * @example
 * ```ts
 * import { isLoopback6, IPV6_LOOPBACK } from "./addr6.ts";
 * isLoopback6(IPV6_LOOPBACK); // true
 * ```
 */
export function isLoopback6(u8: Uint8Array, off = 0): boolean {
  for (let i = 0; i < 15; i++) if (u8[off + i] !== 0) return false;
  return u8[off + 15] === 1;
}

/**
 * True for multicast, `ff00::/8` (RFC 4291 §2.7).
 *
 * @example
 * ```ts
 * import { isMulticast6, IPV6_ALL_NODES } from "./addr6.ts";
 * isMulticast6(IPV6_ALL_NODES); // true
 * ```
 */
export function isMulticast6(u8: Uint8Array, off = 0): boolean {
  return u8[off] === 0xff;
}

/**
 * True for link-local unicast, `fe80::/10` (RFC 4291 §2.5.6).
 *
 * @example
 * ```ts
 * import { isLinkLocal6, parseIpv6Address } from "./addr6.ts";
 * isLinkLocal6(parseIpv6Address("fe80::1")); // true
 * ```
 */
export function isLinkLocal6(u8: Uint8Array, off = 0): boolean {
  return u8[off] === 0xfe && (u8[off + 1]! & 0xc0) === 0x80;
}

/**
 * True for the deprecated site-local prefix `fec0::/10` (RFC 3879).
 *
 * @example
 * ```ts
 * import { isSiteLocal6, parseIpv6Address } from "./addr6.ts";
 * isSiteLocal6(parseIpv6Address("fec0::1")); // true
 * ```
 */
export function isSiteLocal6(u8: Uint8Array, off = 0): boolean {
  return u8[off] === 0xfe && (u8[off + 1]! & 0xc0) === 0xc0;
}

/**
 * True for unique local addresses, `fc00::/7` (RFC 4193).
 *
 * @example
 * ```ts
 * import { isUniqueLocal6, parseIpv6Address } from "./addr6.ts";
 * isUniqueLocal6(parseIpv6Address("fd00::1")); // true
 * ```
 */
export function isUniqueLocal6(u8: Uint8Array, off = 0): boolean {
  return (u8[off]! & 0xfe) === 0xfc;
}

/**
 * True for IPv4-mapped addresses, `::ffff:0:0/96` (RFC 4291 §2.5.5.2).
 *
 * @example
 * ```ts
 * import { isV4Mapped, parseIpv6Address } from "./addr6.ts";
 * isV4Mapped(parseIpv6Address("::ffff:192.0.2.1")); // true
 * ```
 */
export function isV4Mapped(u8: Uint8Array, off = 0): boolean {
  for (let i = 0; i < 10; i++) if (u8[off + i] !== 0) return false;
  return u8[off + 10] === 0xff && u8[off + 11] === 0xff;
}

/**
 * The IPv4 address inside a v4-mapped address (its last 32 bits).
 *
 * @example
 * ```ts
 * import { v4FromMapped, parseIpv6Address } from "./addr6.ts";
 * v4FromMapped(parseIpv6Address("::ffff:192.0.2.1")); // 0xc0000201
 * ```
 */
export function v4FromMapped(u8: Uint8Array, off = 0): Ipv4Address {
  return ip6Word(u8, off, 3);
}

/**
 * The v4-mapped form `::ffff:a.b.c.d` of an IPv4 address.
 *
 * @example
 * ```ts
 * import { v4Mapped, formatIpv6 } from "./addr6.ts";
 * formatIpv6(v4Mapped(0xc0000201)); // "::ffff:192.0.2.1"
 * ```
 */
export function v4Mapped(v4: Ipv4Address): Ipv6Address {
  const a = new Uint8Array(16);
  writeV4Mapped(a, 0, v4);
  return a;
}

/**
 * Write `::ffff:a.b.c.d` at `u8[off]` (no allocation).
 *
 * @example
 * ```ts
 * import { writeV4Mapped } from "./addr6.ts";
 * const a = new Uint8Array(16);
 * writeV4Mapped(a, 0, 0x7f000001); // ::ffff:127.0.0.1
 * ```
 */
export function writeV4Mapped(u8: Uint8Array, off: number, v4: Ipv4Address): void {
  u8.fill(0, off, off + 10);
  u8[off + 10] = 0xff;
  u8[off + 11] = 0xff;
  u8[off + 12] = v4 >>> 24;
  u8[off + 13] = v4 >>> 16;
  u8[off + 14] = v4 >>> 8;
  u8[off + 15] = v4;
}

/**
 * The scope of an address (RFC 4291 §2.7 for multicast, RFC 6724 §3.1 for
 * unicast: loopback and link-local are link scope, site-local is site scope,
 * everything else global).
 *
 * @example
 * ```ts
 * import { scope6, parseIpv6Address } from "./addr6.ts";
 * scope6(parseIpv6Address("fe80::1")); // 2
 * scope6(parseIpv6Address("2001:db8::1")); // 14
 * ```
 */
export function scope6(u8: Uint8Array, off = 0): number {
  if (isMulticast6(u8, off)) return u8[off + 1]! & 15;
  if (isLinkLocal6(u8, off) || isLoopback6(u8, off)) return Ipv6Scope.LINK_LOCAL;
  if (isSiteLocal6(u8, off)) return Ipv6Scope.SITE_LOCAL;
  return Ipv6Scope.GLOBAL;
}

/**
 * The solicited-node multicast group of an address, `ff02::1:ffXX:XXXX`
 * with its low 24 bits (RFC 4291 §2.7.1).
 *
 * @example
 * ```ts
 * import { solicitedNode, formatIpv6, parseIpv6Address } from "./addr6.ts";
 * formatIpv6(solicitedNode(parseIpv6Address("2001:db8::2"))); // "ff02::1:ff00:2"
 * ```
 */
export function solicitedNode(u8: Uint8Array, off = 0): Ipv6Address {
  const a = fromWords(0xff02, 0, 0, 0, 0, 1, 0xff00, 0);
  a[13] = u8[off + 13]!;
  a[14] = u8[off + 14]!;
  a[15] = u8[off + 15]!;
  return a;
}

/**
 * True when the address at `u8[off]` is the solicited-node group of `target`.
 *
 * @example
 * ```ts
 * import { isSolicitedNodeOf, solicitedNode, parseIpv6Address } from "./addr6.ts";
 * const t = parseIpv6Address("2001:db8::2");
 * isSolicitedNodeOf(solicitedNode(t), 0, t, 0); // true
 * ```
 */
export function isSolicitedNodeOf(
  u8: Uint8Array,
  off: number,
  target: Uint8Array,
  tOff: number,
): boolean {
  return u8[off] === 0xff && u8[off + 1] === 0x02 && u8[off + 11] === 1 &&
    u8[off + 12] === 0xff && u8[off + 13] === target[tOff + 13] &&
    u8[off + 14] === target[tOff + 14] && u8[off + 15] === target[tOff + 15] &&
    isZero(u8, off + 2, 9);
}

function isZero(u8: Uint8Array, off: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (u8[off + i] !== 0) return false;
  return true;
}

/**
 * The Ethernet address of an IPv6 multicast group: `33:33` plus its low 32
 * bits (RFC 2464 §7).
 *
 * @example
 * ```ts
 * import { ipv6MulticastMac, IPV6_ALL_NODES } from "./addr6.ts";
 * import { formatMac } from "./addr.ts";
 * formatMac(ipv6MulticastMac(IPV6_ALL_NODES)); // "33:33:00:00:00:01"
 * ```
 */
export function ipv6MulticastMac(u8: Uint8Array, off = 0): MacAddress {
  return 0x3333 * 4294967296 + ip6Word(u8, off, 3);
}

/**
 * True when the first `prefixLen` bits of the addresses at `a[aOff]` and
 * `b[bOff]` agree.
 *
 * @example
 * ```ts
 * import { inPrefix6, parseIpv6Address } from "./addr6.ts";
 * inPrefix6(parseIpv6Address("2001:db8::9"), 0, parseIpv6Address("2001:db8::"), 0, 64); // true
 * ```
 */
export function inPrefix6(
  a: Uint8Array,
  aOff: number,
  b: Uint8Array,
  bOff: number,
  prefixLen: number,
): boolean {
  const whole = prefixLen >>> 3;
  for (let i = 0; i < whole; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  const bits = prefixLen & 7;
  if (bits === 0) return true;
  const mask = (0xff00 >>> bits) & 0xff;
  return ((a[aOff + whole]! ^ b[bOff + whole]!) & mask) === 0;
}

/**
 * Length of the common prefix of two addresses in bits (RFC 6724
 * `CommonPrefixLen`), 0–128.
 *
 * @example
 * ```ts
 * import { commonPrefixLength, parseIpv6Address } from "./addr6.ts";
 * commonPrefixLength(parseIpv6Address("2001:db8::1"), 0, parseIpv6Address("2001:db8::2"), 0); // 126
 * ```
 */
export function commonPrefixLength(
  a: Uint8Array,
  aOff: number,
  b: Uint8Array,
  bOff: number,
): number {
  for (let i = 0; i < 16; i++) {
    const x = a[aOff + i]! ^ b[bOff + i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

/**
 * A copy of `a` with every bit past `prefixLen` cleared (the network prefix).
 *
 * @example
 * ```ts
 * import { maskPrefix6, formatIpv6, parseIpv6Address } from "./addr6.ts";
 * formatIpv6(maskPrefix6(parseIpv6Address("2001:db8::9"), 64)); // "2001:db8::"
 * ```
 */
export function maskPrefix6(a: Uint8Array, prefixLen: number, off = 0): Ipv6Address {
  if (!(Number.isInteger(prefixLen) && prefixLen >= 0 && prefixLen <= 128)) {
    throw new RangeError(`maskPrefix6: prefix length ${prefixLen} is not an integer 0-128`);
  }
  const out = a.slice(off, off + 16);
  const whole = prefixLen >>> 3;
  const bits = prefixLen & 7;
  if (bits !== 0) out[whole] = out[whole]! & ((0xff00 >>> bits) & 0xff);
  out.fill(0, bits !== 0 ? whole + 1 : whole);
  return out;
}

/**
 * An IPv6 address with a prefix length, as in `2001:db8::2/64`.
 *
 * @example
 * ```ts
 * import { type Ipv6Cidr, parseIpv6Cidr } from "./addr6.ts";
 * const c: Ipv6Cidr = parseIpv6Cidr("2001:db8::2/64");
 * c.prefixLen; // 64
 * ```
 */
export interface Ipv6Cidr {
  /** The address as written (host bits are kept). */
  readonly address: Ipv6Address;
  /** Prefix length 0–128. */
  readonly prefixLen: number;
}

/**
 * Parse `addr/n` (n 0–128) strictly, or return `null`.
 *
 * @example
 * ```ts
 * import { tryParseIpv6Cidr } from "./addr6.ts";
 * tryParseIpv6Cidr("2001:db8::/32")?.prefixLen; // 32
 * tryParseIpv6Cidr("2001:db8::/129"); // null
 * ```
 */
export function tryParseIpv6Cidr(text: string): Ipv6Cidr | null {
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const address = tryParseIpv6Address(text.slice(0, slash));
  const len = text.slice(slash + 1);
  if (address === null || !/^(0|[1-9][0-9]{0,2})$/.test(len)) return null;
  const prefixLen = Number(len);
  return prefixLen <= 128 ? { address, prefixLen } : null;
}

/**
 * Parse `addr/n` strictly; throws `TypeError` on bad input.
 *
 * @example
 * ```ts
 * import { parseIpv6Cidr } from "./addr6.ts";
 * parseIpv6Cidr("fe80::1/64").prefixLen; // 64
 * ```
 */
export function parseIpv6Cidr(text: string): Ipv6Cidr {
  const c = tryParseIpv6Cidr(text);
  if (c === null) {
    throw new TypeError(
      `Invalid IPv6 prefix ${JSON.stringify(text)}: expected ADDRESS/n with n 0-128`,
    );
  }
  return c;
}

/**
 * The modified EUI-64 interface identifier of a MAC address (RFC 4291
 * Appendix A): `ff:fe` in the middle and the U/L bit inverted. Written into
 * the low 64 bits of `out[off]`.
 *
 * @example
 * ```ts
 * import { writeEui64, formatIpv6 } from "./addr6.ts";
 * const a = new Uint8Array(16);
 * a[0] = 0xfe; a[1] = 0x80;
 * writeEui64(a, 0, 0x020000000001);
 * formatIpv6(a); // "fe80::ff:fe00:1"
 * ```
 */
export function writeEui64(out: Uint8Array, off: number, mac: MacAddress): void {
  const hi = Math.floor(mac / 4294967296);
  const lo = mac >>> 0;
  out[off + 8] = (hi >>> 8) ^ 0x02;
  out[off + 9] = hi & 255;
  out[off + 10] = lo >>> 24;
  out[off + 11] = 0xff;
  out[off + 12] = 0xfe;
  out[off + 13] = (lo >>> 16) & 255;
  out[off + 14] = (lo >>> 8) & 255;
  out[off + 15] = lo & 255;
}
