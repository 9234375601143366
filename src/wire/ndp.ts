/**
 * Neighbour Discovery messages (RFC 4861 §4): Router Solicitation and
 * Advertisement, Neighbor Solicitation and Advertisement, Redirect, and
 * their options (§4.6), plus the nonce option of RFC 3971 §5.3.2 that
 * enhanced DAD uses (RFC 7527).
 *
 * Parsers take a whole ICMPv6 message whose checksum `parseIcmpv6` already
 * verified, and apply the message-local validity checks of RFC 4861 §6.1,
 * §7.1 and §8.1: ICMP code 0, length, every option longer than zero, a
 * target that is not multicast. The checks that need the IPv6 header (hop
 * limit 255, source and destination rules) belong to the neighbour
 * discovery code, which has it.
 *
 * Option decisions: a link-layer address option whose length is not 1 unit
 * (6-byte Ethernet address, RFC 2464 §8) drops the message, as Linux does;
 * a Prefix Information or MTU option of the wrong length is skipped; unknown
 * options are skipped (§4.6: "MUST silently ignore"). When an option is
 * repeated, the first one counts.
 *
 * @module
 */
import { isMulticast6 } from "./addr6.ts";
import { type MacAddress, readMac, writeMac } from "./addr.ts";
import { checkRange, get16, get32, set16, set32 } from "./bytes.ts";
import { Icmpv6Type } from "./icmpv6.ts";

/**
 * NDP option types (RFC 4861 §4.6, RFC 3971, RFC 4191, RFC 8106).
 *
 * @example
 * ```ts
 * import { NdpOption } from "./ndp.ts";
 * NdpOption.PREFIX_INFORMATION; // 3
 * ```
 */
export const NdpOption = {
  SOURCE_LINK_ADDRESS: 1,
  TARGET_LINK_ADDRESS: 2,
  PREFIX_INFORMATION: 3,
  REDIRECTED_HEADER: 4,
  MTU: 5,
  NONCE: 14,
  ROUTE_INFORMATION: 24,
  RDNSS: 25,
} as const;

/**
 * Every reason the NDP parsers can drop a message for.
 *
 * @example
 * ```ts
 * import { NDP_DROP_REASONS } from "./ndp.ts";
 * NDP_DROP_REASONS.includes("ndp.bad_option"); // true
 * ```
 */
export const NDP_DROP_REASONS = [
  /** Shorter than the message's fixed part. */
  "ndp.truncated",
  /** ICMP code ≠ 0. */
  "ndp.bad_code",
  /** An option of length 0 or running past the message (RFC 4861 §4.6). */
  "ndp.bad_option",
  /** A link-layer address option that is not one 8-byte unit (Ethernet). */
  "ndp.bad_link_address",
  /** A multicast target (NS/NA) or destination (Redirect). */
  "ndp.bad_target",
] as const;
/**
 * One of {@link NDP_DROP_REASONS}.
 *
 * @example
 * ```ts
 * import type { NdpDropReason } from "./ndp.ts";
 * const why: NdpDropReason = "ndp.bad_code";
 * ```
 */
export type NdpDropReason = typeof NDP_DROP_REASONS[number];

/**
 * A Prefix Information option (RFC 4861 §4.6.2).
 *
 * @example
 * ```ts
 * import type { NdpPrefixInfo } from "./ndp.ts";
 * const slaac = (p: NdpPrefixInfo) => p.autonomous && p.prefixLength === 64;
 * ```
 */
export interface NdpPrefixInfo {
  /** Prefix length in bits (0–128). */
  readonly prefixLength: number;
  /** L flag: the prefix is on-link. */
  readonly onLink: boolean;
  /** A flag: usable for stateless autoconfiguration. */
  readonly autonomous: boolean;
  /** Seconds; 0xffffffff is infinity. */
  readonly validLifetime: number;
  /** Seconds the addresses made from the prefix stay preferred; 0xffffffff is infinity. */
  readonly preferredLifetime: number;
  /** Where the 16-byte prefix is. */
  readonly prefixOffset: number;
}

/**
 * The options of one NDP message, as far as a host uses them.
 *
 * @example
 * ```ts
 * import type { NdpOptions } from "./ndp.ts";
 * const hasLla = (o: NdpOptions) => o.sourceLinkAddress !== null;
 * ```
 */
export interface NdpOptions {
  /** Source link-layer address option, or null. */
  readonly sourceLinkAddress: MacAddress | null;
  /** Target link-layer address option, or null. */
  readonly targetLinkAddress: MacAddress | null;
  /** MTU option value, or -1. */
  readonly mtu: number;
  /** Prefix Information options (shared empty array when none). */
  readonly prefixes: readonly NdpPrefixInfo[];
  /** Nonce option (RFC 3971 §5.3.2, used by DAD, RFC 7527): offset of its contents, or -1. */
  readonly nonceOffset: number;
  /** Nonce option: length of its contents, or 0. */
  readonly nonceLength: number;
  /** Redirected Header option (RFC 4861 §4.6.3): offset of the quoted packet, or -1. */
  readonly redirectedOffset: number;
  /** Redirected Header option: length of the quoted packet, or 0. */
  readonly redirectedLength: number;
  /** Options of other types (skipped). */
  readonly unknown: number;
}

/**
 * Router Solicitation (RFC 4861 §4.1).
 *
 * @example
 * ```ts
 * import type { RouterSolicitRepr } from "./ndp.ts";
 * const from = (r: RouterSolicitRepr) => r.sourceLinkAddress;
 * ```
 */
export type RouterSolicitRepr = NdpOptions;

/**
 * Router Advertisement (RFC 4861 §4.2, RFC 4191 §2.2 preference).
 *
 * @example
 * ```ts
 * import type { RouterAdvertRepr } from "./ndp.ts";
 * const isDefault = (r: RouterAdvertRepr) => r.routerLifetime > 0;
 * ```
 */
export interface RouterAdvertRepr extends NdpOptions {
  /** Hop limit hosts should use, 0 = unspecified. */
  readonly curHopLimit: number;
  /** M flag: addresses are available from DHCPv6 (RFC 4861 §4.2). */
  readonly managed: boolean;
  /** O flag: other configuration is available from DHCPv6. */
  readonly other: boolean;
  /** Default router preference (RFC 4191): 1 high, 0 medium, -1 low; 2 (reserved) reads as 0. */
  readonly preference: number;
  /** Seconds as a default router, 0 = not one. */
  readonly routerLifetime: number;
  /** Milliseconds, 0 = unspecified. */
  readonly reachableTime: number;
  /** Milliseconds, 0 = unspecified. */
  readonly retransTimer: number;
}

/**
 * Neighbor Solicitation (RFC 4861 §4.3).
 *
 * @example
 * ```ts
 * import type { NeighborSolicitRepr } from "./ndp.ts";
 * const targetAt = (r: NeighborSolicitRepr) => r.targetOffset;
 * ```
 */
export interface NeighborSolicitRepr extends NdpOptions {
  /** Where the 16-byte target address is. */
  readonly targetOffset: number;
}

/**
 * Neighbor Advertisement (RFC 4861 §4.4).
 *
 * @example
 * ```ts
 * import type { NeighborAdvertRepr } from "./ndp.ts";
 * const confirms = (r: NeighborAdvertRepr) => r.solicited;
 * ```
 */
export interface NeighborAdvertRepr extends NdpOptions {
  /** R flag: the sender is a router (RFC 4861 §4.4). */
  readonly router: boolean;
  /** S flag: sent in response to a Neighbor Solicitation (confirms reachability). */
  readonly solicited: boolean;
  /** O flag: the advertisement should override a cached link-layer address. */
  readonly override: boolean;
  /** Where the 16-byte target address is. */
  readonly targetOffset: number;
}

/**
 * Redirect (RFC 4861 §4.5).
 *
 * @example
 * ```ts
 * import type { RedirectRepr } from "./ndp.ts";
 * const better = (r: RedirectRepr) => r.targetOffset;
 * ```
 */
export interface RedirectRepr extends NdpOptions {
  /** The better first hop. */
  readonly targetOffset: number;
  /** The destination being redirected. */
  readonly destinationOffset: number;
}

const NO_PREFIXES: readonly NdpPrefixInfo[] = Object.freeze([]);

type MutableOptions = {
  -readonly [K in keyof NdpOptions]: NdpOptions[K];
};

/** Walk the options in `[off, end)` into `o`; a drop reason, or null. */
function parseOptions(
  u8: Uint8Array,
  off: number,
  end: number,
  o: MutableOptions,
): NdpDropReason | null {
  o.sourceLinkAddress = null;
  o.targetLinkAddress = null;
  o.mtu = -1;
  o.prefixes = NO_PREFIXES;
  o.nonceOffset = -1;
  o.nonceLength = 0;
  o.redirectedOffset = -1;
  o.redirectedLength = 0;
  o.unknown = 0;
  let prefixes: NdpPrefixInfo[] | null = null;
  let i = off;
  while (i < end) {
    if (end - i < 2) return "ndp.bad_option";
    const type = u8[i]!;
    const len = u8[i + 1]! * 8;
    // RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an
    // option with length zero" (it would also never advance).
    if (len === 0 || len > end - i) return "ndp.bad_option";
    switch (type) {
      case NdpOption.SOURCE_LINK_ADDRESS:
      case NdpOption.TARGET_LINK_ADDRESS: {
        if (len !== 8) return "ndp.bad_link_address";
        const mac = readMac(u8, i + 2);
        if (type === NdpOption.SOURCE_LINK_ADDRESS) o.sourceLinkAddress ??= mac;
        else o.targetLinkAddress ??= mac;
        break;
      }
      case NdpOption.PREFIX_INFORMATION:
        if (len !== 32) break; // §4.6.2: length 4; anything else is skipped
        prefixes ??= [];
        prefixes.push({
          prefixLength: u8[i + 2]!,
          onLink: (u8[i + 3]! & 0x80) !== 0,
          autonomous: (u8[i + 3]! & 0x40) !== 0,
          validLifetime: get32(u8, i + 4),
          preferredLifetime: get32(u8, i + 8),
          prefixOffset: i + 16,
        });
        break;
      case NdpOption.MTU:
        if (len === 8 && o.mtu < 0) o.mtu = get32(u8, i + 4);
        break;
      case NdpOption.NONCE:
        if (o.nonceOffset < 0) {
          o.nonceOffset = i + 2;
          o.nonceLength = len - 2;
        }
        break;
      case NdpOption.REDIRECTED_HEADER:
        if (o.redirectedOffset < 0) {
          o.redirectedOffset = i + 8;
          o.redirectedLength = len - 8;
        }
        break;
      default:
        o.unknown++;
    }
    i += len;
  }
  if (prefixes !== null) o.prefixes = prefixes;
  return null;
}

function header(u8: Uint8Array, offset: number, length: number, min: number): NdpDropReason | null {
  if (length < min) return "ndp.truncated";
  // RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1: "ICMP Code is 0".
  if (u8[offset + 1] !== 0) return "ndp.bad_code";
  return null;
}

/**
 * Parse a Router Solicitation (the whole ICMPv6 message). Never throws on content.
 *
 * @example
 * ```ts
 * import { emitRouterSolicit, parseRouterSolicit } from "./ndp.ts";
 * const b = new Uint8Array(16);
 * const n = emitRouterSolicit(0x020000000001, b, 0);
 * const r = parseRouterSolicit(b, 0, n);
 * typeof r !== "string" && r.sourceLinkAddress; // 0x020000000001
 * ```
 */
export function parseRouterSolicit(
  u8: Uint8Array,
  offset: number,
  length: number,
): RouterSolicitRepr | NdpDropReason {
  checkRange(u8, offset, length, "parseRouterSolicit");
  const bad = header(u8, offset, length, 8);
  if (bad !== null) return bad;
  const o = {} as MutableOptions;
  return parseOptions(u8, offset + 8, offset + length, o) ?? o;
}

/**
 * Parse a Router Advertisement. Never throws on content.
 *
 * @example
 * ```ts
 * import { emitRouterAdvert, parseRouterAdvert } from "./ndp.ts";
 * const b = new Uint8Array(64);
 * const n = emitRouterAdvert({ curHopLimit: 64, routerLifetime: 1800 }, b, 0);
 * const r = parseRouterAdvert(b, 0, n);
 * typeof r !== "string" && r.routerLifetime; // 1800
 * ```
 */
export function parseRouterAdvert(
  u8: Uint8Array,
  offset: number,
  length: number,
): RouterAdvertRepr | NdpDropReason {
  checkRange(u8, offset, length, "parseRouterAdvert");
  const bad = header(u8, offset, length, 16);
  if (bad !== null) return bad;
  const o = {} as MutableOptions;
  const why = parseOptions(u8, offset + 16, offset + length, o);
  if (why !== null) return why;
  const flags = u8[offset + 5]!;
  const prf = (flags >>> 3) & 3;
  return {
    ...o,
    curHopLimit: u8[offset + 4]!,
    managed: (flags & 0x80) !== 0,
    other: (flags & 0x40) !== 0,
    // RFC 4191 §2.2: 01 high, 00 medium, 11 low, 10 reserved → treat as medium.
    preference: prf === 1 ? 1 : prf === 3 ? -1 : 0,
    routerLifetime: get16(u8, offset + 6),
    reachableTime: get32(u8, offset + 8),
    retransTimer: get32(u8, offset + 12),
  };
}

/**
 * Parse a Neighbor Solicitation. Never throws on content.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import { emitNeighborSolicit, parseNeighborSolicit } from "./ndp.ts";
 * const b = new Uint8Array(32);
 * const n = emitNeighborSolicit(parseIpv6Address("2001:db8::2"), 0, 0x020000000001, null, b, 0);
 * const r = parseNeighborSolicit(b, 0, n);
 * typeof r !== "string" && r.targetOffset; // 8
 * ```
 */
export function parseNeighborSolicit(
  u8: Uint8Array,
  offset: number,
  length: number,
): NeighborSolicitRepr | NdpDropReason {
  checkRange(u8, offset, length, "parseNeighborSolicit");
  const bad = header(u8, offset, length, 24);
  if (bad !== null) return bad;
  // RFC 4861 §7.1.1: "Target Address is not a multicast address".
  if (isMulticast6(u8, offset + 8)) return "ndp.bad_target";
  const o = {} as MutableOptions;
  const why = parseOptions(u8, offset + 24, offset + length, o);
  if (why !== null) return why;
  return { ...o, targetOffset: offset + 8 };
}

/**
 * Parse a Neighbor Advertisement. Never throws on content.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import { emitNeighborAdvert, parseNeighborAdvert } from "./ndp.ts";
 * const b = new Uint8Array(32);
 * const n = emitNeighborAdvert({ router: false, solicited: true, override: true },
 *   parseIpv6Address("2001:db8::2"), 0, 0x020000000002, b, 0);
 * const r = parseNeighborAdvert(b, 0, n);
 * typeof r !== "string" && r.solicited; // true
 * ```
 */
export function parseNeighborAdvert(
  u8: Uint8Array,
  offset: number,
  length: number,
): NeighborAdvertRepr | NdpDropReason {
  checkRange(u8, offset, length, "parseNeighborAdvert");
  const bad = header(u8, offset, length, 24);
  if (bad !== null) return bad;
  // RFC 4861 §7.1.2: "Target Address is not a multicast address".
  if (isMulticast6(u8, offset + 8)) return "ndp.bad_target";
  const o = {} as MutableOptions;
  const why = parseOptions(u8, offset + 24, offset + length, o);
  if (why !== null) return why;
  const flags = u8[offset + 4]!;
  return {
    ...o,
    router: (flags & 0x80) !== 0,
    solicited: (flags & 0x40) !== 0,
    override: (flags & 0x20) !== 0,
    targetOffset: offset + 8,
  };
}

/**
 * Parse a Redirect. Never throws on content.
 *
 * @example
 * ```ts
 * import { parseRedirect } from "./ndp.ts";
 * const b = new Uint8Array(40);
 * b[0] = 137;
 * const r = parseRedirect(b, 0, 40);
 * typeof r !== "string" && r.destinationOffset; // 24
 * ```
 */
export function parseRedirect(
  u8: Uint8Array,
  offset: number,
  length: number,
): RedirectRepr | NdpDropReason {
  checkRange(u8, offset, length, "parseRedirect");
  const bad = header(u8, offset, length, 40);
  if (bad !== null) return bad;
  // RFC 4861 §8.1: "The ICMP Destination Address field in the redirect message
  // does not contain a multicast address."
  if (isMulticast6(u8, offset + 24)) return "ndp.bad_target";
  const o = {} as MutableOptions;
  const why = parseOptions(u8, offset + 40, offset + length, o);
  if (why !== null) return why;
  return { ...o, targetOffset: offset + 8, destinationOffset: offset + 24 };
}

function putLla(u8: Uint8Array, at: number, type: number, mac: MacAddress): number {
  u8[at] = type;
  u8[at + 1] = 1;
  writeMac(u8, at + 2, mac);
  return 8;
}

function copyAddress(u8: Uint8Array, at: number, a: Uint8Array, aOff: number): void {
  for (let i = 0; i < 16; i++) u8[at + i] = a[aOff + i]!;
}

/**
 * Write a Router Solicitation with an optional source link-layer address
 * option (checksum left 0: see `fillIcmpv6Checksum`); returns its length.
 *
 * @example
 * ```ts
 * import { emitRouterSolicit } from "./ndp.ts";
 * emitRouterSolicit(null, new Uint8Array(8), 0); // 8
 * ```
 */
export function emitRouterSolicit(slla: MacAddress | null, u8: Uint8Array, offset: number): number {
  const len = slla === null ? 8 : 16;
  checkRange(u8, offset, len, "emitRouterSolicit");
  u8.fill(0, offset, offset + 8);
  u8[offset] = Icmpv6Type.ROUTER_SOLICIT;
  if (slla !== null) putLla(u8, offset + 8, NdpOption.SOURCE_LINK_ADDRESS, slla);
  return len;
}

/**
 * Write a Neighbor Solicitation for the target at `target[tOff]`, with an
 * optional source link-layer address and nonce (RFC 7527) option (checksum
 * left 0); returns its length.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import { emitNeighborSolicit } from "./ndp.ts";
 * emitNeighborSolicit(parseIpv6Address("fe80::1"), 0, null, null, new Uint8Array(24), 0); // 24
 * ```
 */
export function emitNeighborSolicit(
  target: Uint8Array,
  tOff: number,
  slla: MacAddress | null,
  nonce: Uint8Array | null,
  u8: Uint8Array,
  offset: number,
): number {
  const len = 24 + (slla === null ? 0 : 8) + (nonce === null ? 0 : 8);
  checkRange(u8, offset, len, "emitNeighborSolicit");
  u8.fill(0, offset, offset + 8);
  u8[offset] = Icmpv6Type.NEIGHBOR_SOLICIT;
  copyAddress(u8, offset + 8, target, tOff);
  let at = offset + 24;
  if (slla !== null) at += putLla(u8, at, NdpOption.SOURCE_LINK_ADDRESS, slla);
  if (nonce !== null) {
    u8[at] = NdpOption.NONCE;
    u8[at + 1] = 1;
    for (let i = 0; i < 6; i++) u8[at + 2 + i] = nonce[i] ?? 0;
  }
  return len;
}

/**
 * Flags of a Neighbor Advertisement.
 *
 * @example
 * ```ts
 * import type { NeighborAdvertFlags } from "./ndp.ts";
 * const reply: NeighborAdvertFlags = { router: false, solicited: true, override: true };
 * ```
 */
export interface NeighborAdvertFlags {
  /** R flag: the sender is a router (RFC 4861 §4.4). */
  readonly router: boolean;
  /** S flag: a response to a Neighbor Solicitation. */
  readonly solicited: boolean;
  /** O flag: override a cached link-layer address. */
  readonly override: boolean;
}

/**
 * Write a Neighbor Advertisement for the target at `target[tOff]` with an
 * optional target link-layer address option (checksum left 0); returns its length.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import { emitNeighborAdvert } from "./ndp.ts";
 * emitNeighborAdvert({ router: false, solicited: false, override: true },
 *   parseIpv6Address("fe80::1"), 0, 0x020000000001, new Uint8Array(32), 0); // 32
 * ```
 */
export function emitNeighborAdvert(
  flags: NeighborAdvertFlags,
  target: Uint8Array,
  tOff: number,
  tlla: MacAddress | null,
  u8: Uint8Array,
  offset: number,
): number {
  const len = tlla === null ? 24 : 32;
  checkRange(u8, offset, len, "emitNeighborAdvert");
  u8.fill(0, offset, offset + 8);
  u8[offset] = Icmpv6Type.NEIGHBOR_ADVERT;
  u8[offset + 4] = (flags.router ? 0x80 : 0) | (flags.solicited ? 0x40 : 0) |
    (flags.override ? 0x20 : 0);
  copyAddress(u8, offset + 8, target, tOff);
  if (tlla !== null) putLla(u8, offset + 24, NdpOption.TARGET_LINK_ADDRESS, tlla);
  return len;
}

/**
 * A prefix for {@link emitRouterAdvert}.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import type { RouterAdvertPrefix } from "./ndp.ts";
 * const p: RouterAdvertPrefix = { prefix: parseIpv6Address("2001:db8::"), prefixLength: 64,
 *   onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 };
 * ```
 */
export interface RouterAdvertPrefix {
  /** The prefix (the first 16 bytes are used; bits past `prefixLength` should be 0). */
  readonly prefix: Uint8Array;
  /** Prefix length in bits (64 for SLAAC). */
  readonly prefixLength: number;
  /** L flag: the prefix is on-link. */
  readonly onLink: boolean;
  /** A flag: usable for stateless address autoconfiguration (RFC 4862 §5.5.3). */
  readonly autonomous: boolean;
  /** Valid lifetime in seconds; 0xffffffff is infinity. */
  readonly validLifetime: number;
  /** Preferred lifetime in seconds; 0xffffffff is infinity. */
  readonly preferredLifetime: number;
}

/**
 * What {@link emitRouterAdvert} writes (a host never sends RAs; tests and
 * tools do).
 *
 * @example
 * ```ts
 * import type { RouterAdvertEmitRepr } from "./ndp.ts";
 * const ra: RouterAdvertEmitRepr = { curHopLimit: 64, routerLifetime: 1800, mtu: 1500 };
 * ```
 */
export interface RouterAdvertEmitRepr {
  /** Cur Hop Limit for hosts; default 0 (unspecified). */
  readonly curHopLimit?: number;
  /** M flag (addresses from DHCPv6); default false. */
  readonly managed?: boolean;
  /** O flag (other configuration from DHCPv6); default false. */
  readonly other?: boolean;
  /** Default router preference (RFC 4191 §2.2): 1 high, 0 medium, -1 low; default 0. */
  readonly preference?: number;
  /** Router lifetime in seconds, 0 (the default) = not a default router. */
  readonly routerLifetime?: number;
  /** Reachable Time in milliseconds; default 0 (unspecified). */
  readonly reachableTime?: number;
  /** Retrans Timer in milliseconds; default 0 (unspecified). */
  readonly retransTimer?: number;
  /** Source link-layer address option; omitted when absent. */
  readonly sourceLinkAddress?: MacAddress;
  /** MTU option value; omitted when absent. */
  readonly mtu?: number;
  /** Prefix Information options; none when omitted. */
  readonly prefixes?: readonly RouterAdvertPrefix[];
}

/**
 * Write a Router Advertisement (checksum left 0); returns its length.
 *
 * @example
 * ```ts
 * import { emitRouterAdvert } from "./ndp.ts";
 * emitRouterAdvert({ routerLifetime: 0 }, new Uint8Array(16), 0); // 16
 * ```
 */
export function emitRouterAdvert(
  repr: RouterAdvertEmitRepr,
  u8: Uint8Array,
  offset: number,
): number {
  const prefixes = repr.prefixes ?? [];
  const len = 16 + (repr.sourceLinkAddress !== undefined ? 8 : 0) +
    (repr.mtu !== undefined ? 8 : 0) + 32 * prefixes.length;
  checkRange(u8, offset, len, "emitRouterAdvert");
  u8.fill(0, offset, offset + len);
  u8[offset] = Icmpv6Type.ROUTER_ADVERT;
  u8[offset + 4] = repr.curHopLimit ?? 0;
  const prf = repr.preference === 1 ? 1 : repr.preference === -1 ? 3 : 0;
  u8[offset + 5] = (repr.managed ? 0x80 : 0) | (repr.other ? 0x40 : 0) | (prf << 3);
  set16(u8, offset + 6, repr.routerLifetime ?? 0);
  set32(u8, offset + 8, repr.reachableTime ?? 0);
  set32(u8, offset + 12, repr.retransTimer ?? 0);
  let at = offset + 16;
  if (repr.sourceLinkAddress !== undefined) {
    at += putLla(u8, at, NdpOption.SOURCE_LINK_ADDRESS, repr.sourceLinkAddress);
  }
  if (repr.mtu !== undefined) {
    u8[at] = NdpOption.MTU;
    u8[at + 1] = 1;
    set32(u8, at + 4, repr.mtu);
    at += 8;
  }
  for (const p of prefixes) {
    u8[at] = NdpOption.PREFIX_INFORMATION;
    u8[at + 1] = 4;
    u8[at + 2] = p.prefixLength;
    u8[at + 3] = (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0);
    set32(u8, at + 4, p.validLifetime);
    set32(u8, at + 8, p.preferredLifetime);
    copyAddress(u8, at + 16, p.prefix, 0);
    at += 32;
  }
  return len;
}

/**
 * Write a Redirect for tests and tools (checksum left 0); returns its length.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import { emitRedirect } from "./ndp.ts";
 * emitRedirect(parseIpv6Address("fe80::1"), parseIpv6Address("2001:db8:1::1"), null,
 *   new Uint8Array(40), 0); // 40
 * ```
 */
export function emitRedirect(
  target: Uint8Array,
  destination: Uint8Array,
  tlla: MacAddress | null,
  u8: Uint8Array,
  offset: number,
): number {
  const len = tlla === null ? 40 : 48;
  checkRange(u8, offset, len, "emitRedirect");
  u8.fill(0, offset, offset + 8);
  u8[offset] = Icmpv6Type.REDIRECT;
  copyAddress(u8, offset + 8, target, 0);
  copyAddress(u8, offset + 24, destination, 0);
  if (tlla !== null) putLla(u8, offset + 40, NdpOption.TARGET_LINK_ADDRESS, tlla);
  return len;
}
