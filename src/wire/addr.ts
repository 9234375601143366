/**
 * IPv4 and MAC addresses as plain numbers, with strict text forms and the
 * classification rules of RFC 1122 §3.2.1.3.
 *
 * - An IPv4 address is an unsigned 32-bit integer (`0 … 2^32-1`, normalised
 *   with `>>> 0`), so comparing, hashing and masking cost nothing.
 * - A MAC address is a 48-bit integer held in a `number` (exact below 2^53).
 *   Bitwise operators only see 32 bits, so MAC helpers split it in two.
 *
 * @module
 */

/**
 * An IPv4 address as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { type Ipv4Address, parseIpv4 } from "./addr.ts";
 * const a: Ipv4Address = parseIpv4("192.0.2.1"); // 3221225985
 * ```
 */
export type Ipv4Address = number;
/**
 * A MAC address as a 48-bit integer.
 *
 * @example
 * ```ts
 * import { type MacAddress, parseMac } from "./addr.ts";
 * const m: MacAddress = parseMac("02:00:00:00:00:01"); // 0x020000000001
 * ```
 */
export type MacAddress = number;

/**
 * 0.0.0.0, "this host on this network" (RFC 1122 §3.2.1.3 (a)).
 *
 * @example
 * ```ts
 * import { IPV4_UNSPECIFIED, formatIpv4 } from "./addr.ts";
 * formatIpv4(IPV4_UNSPECIFIED); // "0.0.0.0"
 * ```
 */
export const IPV4_UNSPECIFIED: Ipv4Address = 0;
/**
 * 255.255.255.255, the limited broadcast (RFC 1122 §3.2.1.3 (c)).
 *
 * @example
 * ```ts
 * import { IPV4_BROADCAST, isBroadcast } from "./addr.ts";
 * isBroadcast(IPV4_BROADCAST); // true
 * ```
 */
export const IPV4_BROADCAST: Ipv4Address = 0xffffffff;
/**
 * 127.0.0.1.
 *
 * @example
 * ```ts
 * import { IPV4_LOOPBACK, isLoopback } from "./addr.ts";
 * isLoopback(IPV4_LOOPBACK); // true
 * ```
 */
export const IPV4_LOOPBACK: Ipv4Address = 0x7f000001;

/**
 * Build an address from its four octets (each taken mod 256).
 *
 * @example
 * ```ts
 * import { ipv4 } from "./addr.ts";
 * ipv4(192, 0, 2, 1); // 0xc0000201
 * ```
 */
export function ipv4(a: number, b: number, c: number, d: number): Ipv4Address {
  return (((a & 255) << 24) | ((b & 255) << 16) | ((c & 255) << 8) | (d & 255)) >>> 0;
}

/**
 * Parse a dotted quad strictly, or return `null`: exactly four decimal octets
 * 0–255, no leading zeros (they mean octal to `inet_aton`, so accepting them
 * would silently disagree with other tools), no signs, spaces or shorthand.
 *
 * @example
 * ```ts
 * import { tryParseIpv4 } from "./addr.ts";
 * tryParseIpv4("192.0.2.1"); // 0xc0000201
 * tryParseIpv4("192.0.02.1"); // null (leading zero)
 * tryParseIpv4("256.0.0.1"); // null
 * ```
 */
export function tryParseIpv4(text: string): Ipv4Address | null {
  let result = 0;
  let octets = 0;
  let i = 0;
  const n = text.length;
  while (octets < 4) {
    const start = i;
    let v = 0;
    while (i < n && i - start < 4) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || v > 255) return null;
    if (digits > 1 && text.charCodeAt(start) === 48) return null; // leading zero
    result = result * 256 + v;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(i) !== 46) return null; // "."
      i++;
    }
  }
  return i === n ? result : null;
}

/**
 * Parse a dotted quad strictly (see {@link tryParseIpv4}); throws `TypeError`
 * with the reason on bad input.
 *
 * @example
 * ```ts
 * import { parseIpv4 } from "./addr.ts";
 * parseIpv4("198.51.100.7"); // 0xc6336407
 * // parseIpv4("1.2.3") throws TypeError
 * ```
 */
export function parseIpv4(text: string): Ipv4Address {
  const a = tryParseIpv4(text);
  if (a === null) {
    throw new TypeError(
      `Invalid IPv4 address ${
        JSON.stringify(text)
      }: expected four decimal octets 0-255 separated by dots, without leading zeros`,
    );
  }
  return a;
}

/**
 * Format as a dotted quad.
 *
 * @example
 * ```ts
 * import { formatIpv4 } from "./addr.ts";
 * formatIpv4(0xc0000201); // "192.0.2.1"
 * ```
 */
export function formatIpv4(a: Ipv4Address): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/**
 * True for the limited broadcast 255.255.255.255.
 *
 * @example
 * ```ts
 * import { isBroadcast } from "./addr.ts";
 * isBroadcast(0xffffffff); // true
 * ```
 */
export function isBroadcast(a: Ipv4Address): boolean {
  return a >>> 0 === 0xffffffff;
}

/**
 * True for multicast, 224.0.0.0/4 (class D, RFC 1112).
 *
 * @example
 * ```ts
 * import { isMulticast, ipv4 } from "./addr.ts";
 * isMulticast(ipv4(224, 0, 0, 251)); // true
 * ```
 */
export function isMulticast(a: Ipv4Address): boolean {
  return a >>> 28 === 0xe;
}

/**
 * True for loopback, 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g)).
 *
 * @example
 * ```ts
 * import { isLoopback, ipv4 } from "./addr.ts";
 * isLoopback(ipv4(127, 1, 2, 3)); // true
 * ```
 */
export function isLoopback(a: Ipv4Address): boolean {
  return a >>> 24 === 127;
}

/**
 * True for 0.0.0.0.
 *
 * @example
 * ```ts
 * import { isUnspecified } from "./addr.ts";
 * isUnspecified(0); // true
 * ```
 */
export function isUnspecified(a: Ipv4Address): boolean {
  return a >>> 0 === 0;
}

/**
 * True for "this network", 0.0.0.0/8 (RFC 1122 §3.2.1.3 (a), (b)).
 *
 * @example
 * ```ts
 * import { isThisNetwork, ipv4 } from "./addr.ts";
 * isThisNetwork(ipv4(0, 0, 0, 5)); // true
 * ```
 */
export function isThisNetwork(a: Ipv4Address): boolean {
  return a >>> 24 === 0;
}

/**
 * True for link-local, 169.254.0.0/16 (RFC 3927).
 *
 * @example
 * ```ts
 * import { isLinkLocal, ipv4 } from "./addr.ts";
 * isLinkLocal(ipv4(169, 254, 1, 1)); // true
 * ```
 */
export function isLinkLocal(a: Ipv4Address): boolean {
  return a >>> 16 === 0xa9fe;
}

/**
 * True for the reserved class E block 240.0.0.0/4 (RFC 1112 §4), which
 * includes the limited broadcast.
 *
 * @example
 * ```ts
 * import { isReservedClassE, ipv4 } from "./addr.ts";
 * isReservedClassE(ipv4(240, 0, 0, 1)); // true
 * ```
 */
export function isReservedClassE(a: Ipv4Address): boolean {
  return a >>> 28 === 0xf;
}

/**
 * True when `a` can never be a valid source of a datagram from the wire, by
 * the context-free rules of RFC 1122 §3.2.1.3 (I4): 0.0.0.0/8 ((a), (b): only
 * legal during initialisation, e.g. a DHCP client, so a caller that serves
 * DHCP lets 0.0.0.0 through itself), 127.0.0.0/8 ((g): must not appear outside
 * a host), multicast (class D), and class E including 255.255.255.255 ((c)).
 * Class E is reserved, so RFC 1122 treats it as invalid (Linux accepts it as a
 * source; we follow the RFC). A subnet's directed broadcast ((d)–(f)) is a
 * martian source too, but needs the interface prefix: see
 * {@link isDirectedBroadcast}.
 *
 * @example
 * ```ts
 * import { isMartianSource, ipv4 } from "./addr.ts";
 * isMartianSource(ipv4(127, 0, 0, 1)); // true
 * isMartianSource(ipv4(192, 0, 2, 1)); // false
 * ```
 */
export function isMartianSource(a: Ipv4Address): boolean {
  const top = a >>> 24;
  return top === 0 || top === 127 || top >= 224;
}

/**
 * The netmask of a prefix length 0–32 (throws `RangeError` otherwise).
 *
 * @example
 * ```ts
 * import { prefixToMask } from "./addr.ts";
 * prefixToMask(24); // 0xffffff00
 * prefixToMask(0); // 0
 * ```
 */
export function prefixToMask(prefixLen: number): Ipv4Address {
  if (!(Number.isInteger(prefixLen) && prefixLen >= 0 && prefixLen <= 32)) {
    throw new RangeError(`prefixToMask: prefix length ${prefixLen} is not an integer 0-32`);
  }
  // `-1 << 32` is -1 in JavaScript (shift counts are mod 32), hence the special case.
  return prefixLen === 0 ? 0 : (-1 << (32 - prefixLen)) >>> 0;
}

/**
 * The prefix length of a contiguous netmask, or `null` if the mask has holes.
 *
 * @example
 * ```ts
 * import { maskToPrefix } from "./addr.ts";
 * maskToPrefix(0xffffff00); // 24
 * maskToPrefix(0xff00ff00); // null
 * ```
 */
export function maskToPrefix(mask: Ipv4Address): number | null {
  const inv = ~mask >>> 0;
  // A contiguous mask's complement is 2^k - 1, so adding one clears every bit.
  if (((inv + 1) & inv) !== 0) return null;
  // The prefix is the count of leading ones in the mask = leading zeros of its complement.
  return Math.clz32(inv);
}

/**
 * The network address of `a` under `prefixLen`.
 *
 * @example
 * ```ts
 * import { networkAddress, ipv4 } from "./addr.ts";
 * networkAddress(ipv4(192, 0, 2, 77), 24) === ipv4(192, 0, 2, 0); // true
 * ```
 */
export function networkAddress(a: Ipv4Address, prefixLen: number): Ipv4Address {
  return (a & prefixToMask(prefixLen)) >>> 0;
}

/**
 * True when `a` lies in `network/prefixLen`.
 *
 * @example
 * ```ts
 * import { inSubnet, ipv4 } from "./addr.ts";
 * inSubnet(ipv4(192, 0, 2, 9), ipv4(192, 0, 2, 0), 24); // true
 * inSubnet(ipv4(192, 0, 3, 9), ipv4(192, 0, 2, 0), 24); // false
 * ```
 */
export function inSubnet(a: Ipv4Address, network: Ipv4Address, prefixLen: number): boolean {
  const mask = prefixToMask(prefixLen);
  return ((a ^ network) & mask) === 0;
}

/**
 * The directed broadcast of `network/prefixLen` (all host bits set), or `null`
 * for /31 and /32, which have none (RFC 3021).
 *
 * @example
 * ```ts
 * import { directedBroadcast, formatIpv4, ipv4 } from "./addr.ts";
 * formatIpv4(directedBroadcast(ipv4(192, 0, 2, 0), 24)!); // "192.0.2.255"
 * directedBroadcast(ipv4(192, 0, 2, 0), 31); // null
 * ```
 */
export function directedBroadcast(network: Ipv4Address, prefixLen: number): Ipv4Address | null {
  const mask = prefixToMask(prefixLen);
  if (prefixLen >= 31) return null;
  return (network | ~mask) >>> 0;
}

/**
 * True when `a` is the directed broadcast of `network/prefixLen`
 * (RFC 1122 §3.2.1.3 (d)–(f)).
 *
 * @example
 * ```ts
 * import { isDirectedBroadcast, ipv4 } from "./addr.ts";
 * isDirectedBroadcast(ipv4(192, 0, 2, 255), ipv4(192, 0, 2, 0), 24); // true
 * ```
 */
export function isDirectedBroadcast(
  a: Ipv4Address,
  network: Ipv4Address,
  prefixLen: number,
): boolean {
  const b = directedBroadcast(network, prefixLen);
  return b !== null && a >>> 0 === b;
}

/**
 * An address with a prefix length, as in `192.0.2.1/24`.
 *
 * @example
 * ```ts
 * import { type Ipv4Cidr, parseCidr } from "./addr.ts";
 * const c: Ipv4Cidr = parseCidr("192.0.2.1/24"); // { address: 0xc0000201, prefixLen: 24 }
 * ```
 */
export interface Ipv4Cidr {
  /** The address as written (host bits are kept). */
  readonly address: Ipv4Address;
  /** Prefix length 0–32. */
  readonly prefixLen: number;
}

/**
 * Parse `a.b.c.d/n` strictly, or return `null`.
 *
 * @example
 * ```ts
 * import { tryParseCidr } from "./addr.ts";
 * tryParseCidr("198.51.100.0/24"); // { address: 0xc6336400, prefixLen: 24 }
 * tryParseCidr("198.51.100.0/33"); // null
 * ```
 */
export function tryParseCidr(text: string): Ipv4Cidr | null {
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const address = tryParseIpv4(text.slice(0, slash));
  const len = text.slice(slash + 1);
  if (address === null || !/^(0|[1-9][0-9]?)$/.test(len)) return null;
  const prefixLen = Number(len);
  return prefixLen <= 32 ? { address, prefixLen } : null;
}

/**
 * Parse `a.b.c.d/n` strictly; throws `TypeError` on bad input.
 *
 * @example
 * ```ts
 * import { parseCidr } from "./addr.ts";
 * parseCidr("192.0.2.1/24").prefixLen; // 24
 * ```
 */
export function parseCidr(text: string): Ipv4Cidr {
  const c = tryParseCidr(text);
  if (c === null) {
    throw new TypeError(
      `Invalid IPv4 prefix ${JSON.stringify(text)}: expected a.b.c.d/n with n 0-32`,
    );
  }
  return c;
}

// ---------------------------------------------------------------------------
// MAC addresses

const TWO_32 = 4294967296;

/**
 * ff:ff:ff:ff:ff:ff.
 *
 * @example
 * ```ts
 * import { MAC_BROADCAST, formatMac } from "./addr.ts";
 * formatMac(MAC_BROADCAST); // "ff:ff:ff:ff:ff:ff"
 * ```
 */
export const MAC_BROADCAST: MacAddress = 0xffffffffffff;
/**
 * 00:00:00:00:00:00 (the ARP request target hardware address, RFC 826).
 *
 * @example
 * ```ts
 * import { MAC_ZERO, formatMac } from "./addr.ts";
 * formatMac(MAC_ZERO); // "00:00:00:00:00:00"
 * ```
 */
export const MAC_ZERO: MacAddress = 0;

/**
 * Parse `xx:xx:xx:xx:xx:xx` (hex, either case, exactly two digits per octet,
 * colons only), or return `null`.
 *
 * @example
 * ```ts
 * import { tryParseMac } from "./addr.ts";
 * tryParseMac("02:00:00:00:00:01"); // 0x020000000001
 * tryParseMac("2:0:0:0:0:1"); // null
 * ```
 */
export function tryParseMac(text: string): MacAddress | null {
  if (text.length !== 17) return null;
  let v = 0;
  for (let i = 0; i < 17; i += 3) {
    const hi = hexDigit(text.charCodeAt(i));
    const lo = hexDigit(text.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return null;
    if (i < 15 && text.charCodeAt(i + 2) !== 58) return null; // ":"
    v = v * 256 + hi * 16 + lo;
  }
  return v;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 0x20; // fold to lower case
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Parse a MAC address strictly (see {@link tryParseMac}); throws `TypeError`.
 *
 * @example
 * ```ts
 * import { parseMac } from "./addr.ts";
 * parseMac("02:00:00:00:00:02"); // 0x020000000002
 * ```
 */
export function parseMac(text: string): MacAddress {
  const m = tryParseMac(text);
  if (m === null) {
    throw new TypeError(
      `Invalid MAC address ${
        JSON.stringify(text)
      }: expected six two-digit hex octets separated by colons`,
    );
  }
  return m;
}

/**
 * Format as lower-case `xx:xx:xx:xx:xx:xx`.
 *
 * @example
 * ```ts
 * import { formatMac } from "./addr.ts";
 * formatMac(0x020000000001); // "02:00:00:00:00:01"
 * ```
 */
export function formatMac(mac: MacAddress): string {
  const hi = Math.floor(mac / TWO_32);
  const lo = mac >>> 0;
  const octets = [hi >>> 8, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255];
  return octets.map((o) => o.toString(16).padStart(2, "0")).join(":");
}

/**
 * True for ff:ff:ff:ff:ff:ff.
 *
 * @example
 * ```ts
 * import { isMacBroadcast } from "./addr.ts";
 * isMacBroadcast(0xffffffffffff); // true
 * ```
 */
export function isMacBroadcast(mac: MacAddress): boolean {
  return mac === MAC_BROADCAST;
}

/**
 * True when the group (I/G) bit, the low bit of the first octet, is set:
 * multicast, and broadcast too (IEEE 802-2014 §8.2).
 *
 * @example
 * ```ts
 * import { isMacMulticast } from "./addr.ts";
 * isMacMulticast(0x01005e000001); // true
 * isMacMulticast(0x020000000001); // false
 * ```
 */
export function isMacMulticast(mac: MacAddress): boolean {
  return (Math.floor(mac / 0x10000000000) & 1) === 1;
}

/**
 * True when the locally administered (U/L) bit, bit 1 of the first octet, is set.
 *
 * @example
 * ```ts
 * import { isMacLocallyAdministered } from "./addr.ts";
 * isMacLocallyAdministered(0x020000000001); // true
 * ```
 */
export function isMacLocallyAdministered(mac: MacAddress): boolean {
  return (Math.floor(mac / 0x10000000000) & 2) === 2;
}

/**
 * The Ethernet multicast address of an IPv4 group: 01:00:5e plus the group's
 * low 23 bits (RFC 1112 §6.4).
 *
 * @example
 * ```ts
 * import { ipv4MulticastMac, formatMac, ipv4 } from "./addr.ts";
 * formatMac(ipv4MulticastMac(ipv4(224, 0, 0, 251))); // "01:00:5e:00:00:fb"
 * ```
 */
export function ipv4MulticastMac(group: Ipv4Address): MacAddress {
  return 0x01005e000000 + (group & 0x7fffff);
}

/**
 * Read a 6-byte MAC address at `off`.
 *
 * @example
 * ```ts
 * import { readMac } from "./addr.ts";
 * readMac(new Uint8Array([2, 0, 0, 0, 0, 1]), 0); // 0x020000000001
 * ```
 */
export function readMac(u8: Uint8Array, off: number): MacAddress {
  const hi = (u8[off]! << 8) | u8[off + 1]!;
  const lo = ((u8[off + 2]! << 24) | (u8[off + 3]! << 16) | (u8[off + 4]! << 8) | u8[off + 5]!) >>>
    0;
  return hi * TWO_32 + lo;
}

/**
 * Write a MAC address as 6 bytes at `off`.
 *
 * @example
 * ```ts
 * import { writeMac } from "./addr.ts";
 * const b = new Uint8Array(6);
 * writeMac(b, 0, 0x020000000001); // b = [2, 0, 0, 0, 0, 1]
 * ```
 */
export function writeMac(u8: Uint8Array, off: number, mac: MacAddress): void {
  const hi = Math.floor(mac / TWO_32);
  const lo = mac >>> 0;
  u8[off] = hi >>> 8;
  u8[off + 1] = hi;
  u8[off + 2] = lo >>> 24;
  u8[off + 3] = lo >>> 16;
  u8[off + 4] = lo >>> 8;
  u8[off + 5] = lo;
}
