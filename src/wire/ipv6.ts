/**
 * The IPv6 fixed header (RFC 8200 §3).
 *
 * Decisions recorded here:
 * - **Addresses stay in the packet.** {@link Ipv6Repr} gives the offsets of
 *   the source and destination (`srcOffset`, `dstOffset`), not copies: the
 *   receive path compares and hashes them in place (`addr6.ts` helpers take
 *   offsets), so parsing allocates nothing beyond the Repr itself, and no
 *   view can go stale when the arena memory grows.
 * - **Payload length** must fit in what the link delivered; bytes past it are
 *   link padding. A payload length of 0 is legal (e.g. Next Header 59 with
 *   nothing after it); jumbograms (RFC 2675) are not supported: their
 *   Jumbo Payload option is an unrecognised hop-by-hop option to us, handled
 *   by its action bits (discard with an ICMPv6 Parameter Problem).
 * - **Hop limit** is not checked on receive (we do not forward, RFC 8200
 *   §3); neighbour discovery checks 255 itself (RFC 4861 §6.1).
 * - The header has **no checksum**; transport checksums cover the
 *   pseudo-header ({@link ipv6PseudoSum} in `wasm/checksum.ts`).
 * - Extension headers are `ipv6_ext.ts`'s business.
 *
 * @module
 */
import type { Ipv6Address } from "./addr6.ts";
import { checkRange, get16, get32, set16, set32 } from "./bytes.ts";

/**
 * Length of the IPv6 fixed header.
 *
 * @example
 * ```ts
 * import { IPV6_HEADER_LENGTH } from "./ipv6.ts";
 * IPV6_HEADER_LENGTH; // 40
 * ```
 */
export const IPV6_HEADER_LENGTH = 40;

/**
 * Smallest MTU an IPv6 link may have (RFC 8200 §5).
 *
 * @example
 * ```ts
 * import { IPV6_MIN_MTU } from "./ipv6.ts";
 * IPV6_MIN_MTU; // 1280
 * ```
 */
export const IPV6_MIN_MTU = 1280;

/**
 * Largest payload length (the 16-bit field; no jumbograms).
 *
 * @example
 * ```ts
 * import { IPV6_MAX_PAYLOAD } from "./ipv6.ts";
 * IPV6_MAX_PAYLOAD; // 65535
 * ```
 */
export const IPV6_MAX_PAYLOAD = 65535;

/**
 * Next Header values (IANA "Assigned Internet Protocol Numbers"; RFC 8200 §4).
 *
 * @example
 * ```ts
 * import { NextHeader } from "./ipv6.ts";
 * NextHeader.ICMPV6; // 58
 * ```
 */
export const NextHeader = {
  HOP_BY_HOP: 0,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  DESTINATION_OPTIONS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;

/**
 * Every reason {@link parseIpv6} can drop a packet for.
 *
 * @example
 * ```ts
 * import { IPV6_DROP_REASONS } from "./ipv6.ts";
 * IPV6_DROP_REASONS.includes("ipv6.bad_version"); // true
 * ```
 */
export const IPV6_DROP_REASONS = [
  /** Fewer than 40 bytes available. */
  "ipv6.truncated",
  /** Version ≠ 6. */
  "ipv6.bad_version",
  /** Payload length runs past the bytes the link delivered. */
  "ipv6.bad_payload_length",
] as const;
/**
 * Why {@link parseIpv6} dropped a packet.
 *
 * @example
 * ```ts
 * import type { Ipv6DropReason } from "./ipv6.ts";
 * const why: Ipv6DropReason = "ipv6.truncated";
 * ```
 */
export type Ipv6DropReason = typeof IPV6_DROP_REASONS[number];

/**
 * A parsed IPv6 fixed header. The addresses are at `srcOffset`/`dstOffset`
 * in the buffer that was parsed.
 *
 * @example
 * ```ts
 * import { formatIpv6 } from "./addr6.ts";
 * import { type Ipv6Repr, parseIpv6 } from "./ipv6.ts";
 * const b = new Uint8Array(40);
 * b[0] = 0x60;
 * const r = parseIpv6(b, 0, 40);
 * if (typeof r !== "string") formatIpv6(b, r.srcOffset); // "::"
 * ```
 */
export interface Ipv6Repr {
  /** Traffic class: DSCP (high 6 bits) and ECN (low 2 bits). */
  readonly trafficClass: number;
  /** Flow label, 20 bits (RFC 6437). */
  readonly flowLabel: number;
  /** The first header after the fixed header. */
  readonly nextHeader: number;
  /** Hop limit. */
  readonly hopLimit: number;
  /** Where the source address is. */
  readonly srcOffset: number;
  /** Where the destination address is. */
  readonly dstOffset: number;
  /** Start of the payload (extension headers included). */
  readonly payloadOffset: number;
  /** Payload length (link padding excluded). */
  readonly payloadLength: number;
}

/**
 * What {@link emitIpv6} needs.
 *
 * @example
 * ```ts
 * import { IPV6_LOOPBACK } from "./addr6.ts";
 * import { type Ipv6EmitRepr, NextHeader } from "./ipv6.ts";
 * const h: Ipv6EmitRepr = {
 *   trafficClass: 0, flowLabel: 0, payloadLength: 8, nextHeader: NextHeader.UDP,
 *   hopLimit: 64, src: IPV6_LOOPBACK, dst: IPV6_LOOPBACK,
 * };
 * ```
 */
export interface Ipv6EmitRepr {
  /** Traffic class: DSCP (high 6 bits) and ECN (low 2 bits). */
  readonly trafficClass: number;
  /** Flow label, 20 bits (RFC 6437); 0 when unused. */
  readonly flowLabel: number;
  /**
   * Payload length in bytes: extension headers and upper-layer data after the fixed 40-byte header.
   */
  readonly payloadLength: number;
  /** The first header after the fixed header (an extension header or the upper-layer protocol). */
  readonly nextHeader: number;
  /** Hop limit (RFC 8200 §3). */
  readonly hopLimit: number;
  /** Source address (16 bytes at `srcOffset`, default 0, of this array). */
  readonly src: Uint8Array;
  /** Offset of the source address in `src`; default 0. */
  readonly srcOffset?: number;
  /** Destination address (16 bytes at `dstOffset`, default 0). */
  readonly dst: Uint8Array;
  /** Offset of the destination address in `dst`; default 0. */
  readonly dstOffset?: number;
}

/**
 * Read and write an IPv6 fixed header in place. No bounds checks: parse first.
 *
 * @example
 * ```ts
 * import { Ipv6View } from "./ipv6.ts";
 * const v = new Ipv6View(new Uint8Array(40), 0);
 * v.setVersion();
 * v.hopLimit = 64;
 * v.version; // 6
 * ```
 */
export class Ipv6View {
  /**
   * A view of the header at `offset` in `u8`.
   *
   * @param u8 the buffer
   * @param offset where the IPv6 header starts
   */
  constructor(public u8: Uint8Array, public offset = 0) {}

  /** Point the view at another header in the same buffer. */
  at(offset: number): this {
    this.offset = offset;
    return this;
  }
  /** Version (6). */
  get version(): number {
    return this.u8[this.offset]! >> 4;
  }
  /** Set version 6, keeping the other bits of the first byte. */
  setVersion(): void {
    this.u8[this.offset] = 0x60 | (this.u8[this.offset]! & 15);
  }
  /** Traffic class. */
  get trafficClass(): number {
    return (get16(this.u8, this.offset) >>> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const w = get32(this.u8, this.offset);
    set32(this.u8, this.offset, (w & 0xf00fffff) | ((v & 0xff) << 20));
  }
  /** Flow label (20 bits). */
  get flowLabel(): number {
    return get32(this.u8, this.offset) & 0xfffff;
  }
  set flowLabel(v: number) {
    const w = get32(this.u8, this.offset);
    set32(this.u8, this.offset, (w & 0xfff00000) | (v & 0xfffff));
  }
  /** Payload length. */
  get payloadLength(): number {
    return get16(this.u8, this.offset + 4);
  }
  set payloadLength(v: number) {
    set16(this.u8, this.offset + 4, v);
  }
  /** Next header. */
  get nextHeader(): number {
    return this.u8[this.offset + 6]!;
  }
  set nextHeader(v: number) {
    this.u8[this.offset + 6] = v;
  }
  /** Hop limit. */
  get hopLimit(): number {
    return this.u8[this.offset + 7]!;
  }
  set hopLimit(v: number) {
    this.u8[this.offset + 7] = v;
  }
  /** Offset of the source address. */
  get srcOffset(): number {
    return this.offset + 8;
  }
  /** Offset of the destination address. */
  get dstOffset(): number {
    return this.offset + 24;
  }
}

/**
 * Parse the IPv6 fixed header at `u8[offset, offset+length)`, where `length`
 * is what the link delivered. Never throws on content; `RangeError` only for
 * a range outside `u8`.
 *
 * @example
 * ```ts
 * import { IPV6_LOOPBACK } from "./addr6.ts";
 * import { emitIpv6, parseIpv6 } from "./ipv6.ts";
 * const b = new Uint8Array(48);
 * emitIpv6({ trafficClass: 0, flowLabel: 5, payloadLength: 8, nextHeader: 59,
 *   hopLimit: 64, src: IPV6_LOOPBACK, dst: IPV6_LOOPBACK }, b, 0);
 * const r = parseIpv6(b, 0, b.length);
 * typeof r !== "string" && r.flowLabel; // 5
 * ```
 */
export function parseIpv6(
  u8: Uint8Array,
  offset: number,
  length: number,
): Ipv6Repr | Ipv6DropReason {
  checkRange(u8, offset, length, "parseIpv6");
  if (length < IPV6_HEADER_LENGTH) return "ipv6.truncated";
  const w0 = get32(u8, offset);
  if (w0 >>> 28 !== 6) return "ipv6.bad_version";
  const payloadLength = get16(u8, offset + 4);
  if (payloadLength > length - IPV6_HEADER_LENGTH) return "ipv6.bad_payload_length";
  return {
    trafficClass: (w0 >>> 20) & 0xff,
    flowLabel: w0 & 0xfffff,
    nextHeader: u8[offset + 6]!,
    hopLimit: u8[offset + 7]!,
    srcOffset: offset + 8,
    dstOffset: offset + 24,
    payloadOffset: offset + IPV6_HEADER_LENGTH,
    payloadLength,
  };
}

/**
 * Write an IPv6 fixed header at `offset`; returns 40. Trusts `repr`;
 * `RangeError` if the header does not fit in `u8`.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import { emitIpv6, NextHeader } from "./ipv6.ts";
 * const b = new Uint8Array(40);
 * emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: 0,
 *   nextHeader: NextHeader.NO_NEXT_HEADER, hopLimit: 64,
 *   src: parseIpv6Address("2001:db8::1"), dst: parseIpv6Address("2001:db8::2") }, b, 0); // 40
 * ```
 */
export function emitIpv6(repr: Ipv6EmitRepr, u8: Uint8Array, offset: number): number {
  checkRange(u8, offset, IPV6_HEADER_LENGTH, "emitIpv6");
  set32(
    u8,
    offset,
    (0x60000000 | ((repr.trafficClass & 0xff) << 20) | (repr.flowLabel & 0xfffff)) >>> 0,
  );
  set16(u8, offset + 4, repr.payloadLength);
  u8[offset + 6] = repr.nextHeader;
  u8[offset + 7] = repr.hopLimit;
  copy16(u8, offset + 8, repr.src, repr.srcOffset ?? 0);
  copy16(u8, offset + 24, repr.dst, repr.dstOffset ?? 0);
  return IPV6_HEADER_LENGTH;
}

/** Copy one address (handles `src === u8`, overlapping or not). */
function copy16(u8: Uint8Array, at: number, src: Ipv6Address, srcOff: number): void {
  if (src === u8) {
    u8.copyWithin(at, srcOff, srcOff + 16);
    return;
  }
  for (let i = 0; i < 16; i++) u8[at + i] = src[srcOff + i]!;
}
