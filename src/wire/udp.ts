/**
 * The UDP header (RFC 768) with the checksum rules of RFC 1122 §4.1.3.4 (U4).
 *
 * - The UDP length field must be at least 8 and fit in the IP payload; bytes
 *   of IP payload past it are ignored (Linux `__udp4_lib_rcv` trims them the
 *   same way), and an IP payload shorter than it is a drop.
 * - The checksum covers the pseudo-header (src, dst, 0, 17, UDP length), the
 *   header and the data. A received checksum of 0 means "none was computed"
 *   over IPv4 and is accepted (`hasChecksum: false`); a non-zero wrong one is
 *   a drop. On send a computed 0 goes out as 0xffff, its one's-complement
 *   twin, since 0 would mean "none".
 *
 * @module
 */
import { checksum, finishChecksum, ipv4PseudoSum, ipv6PseudoSum } from "../wasm/checksum.ts";
import { checkRange, type EmitOptions, get16, type ParseOptions, set16 } from "./bytes.ts";
import { IpProtocol, type Ipv4PseudoHeader } from "./ipv4.ts";

/**
 * UDP header length.
 *
 * @example
 * ```ts
 * import { UDP_HEADER_LENGTH } from "./udp.ts";
 * UDP_HEADER_LENGTH; // 8
 * ```
 */
export const UDP_HEADER_LENGTH = 8;

/**
 * Every reason {@link parseUdp} can drop a datagram for.
 *
 * @example
 * ```ts
 * import { UDP_DROP_REASONS } from "./udp.ts";
 * UDP_DROP_REASONS.includes("udp.bad_checksum"); // true
 * ```
 */
export const UDP_DROP_REASONS = [
  /** IP payload shorter than 8 bytes. */
  "udp.truncated",
  /** UDP length < 8, or longer than the IP payload. */
  "udp.bad_length",
  /** Non-zero checksum that does not verify (U4). */
  "udp.bad_checksum",
  /** Checksum 0 over IPv6, where it is mandatory (RFC 8200 §8.1). */
  "udp.zero_checksum",
] as const;
/**
 * Why {@link parseUdp} dropped a datagram.
 *
 * @example
 * ```ts
 * import type { UdpDropReason } from "./udp.ts";
 * const why: UdpDropReason = "udp.bad_length";
 * ```
 */
export type UdpDropReason = typeof UDP_DROP_REASONS[number];

/**
 * A parsed UDP header.
 *
 * @example
 * ```ts
 * import { type UdpRepr } from "./udp.ts";
 * const dns: Omit<UdpRepr, "payloadOffset" | "hasChecksum"> = {
 *   srcPort: 40000, dstPort: 53, payloadLength: 29,
 * };
 * ```
 */
export interface UdpRepr {
  /** Source port (0 = none, RFC 768). */
  readonly srcPort: number;
  /** Destination port. */
  readonly dstPort: number;
  /** False when the sender sent checksum 0 ("not computed"). */
  readonly hasChecksum: boolean;
  /** Start of the data. */
  readonly payloadOffset: number;
  /** Data bytes (UDP length − 8). */
  readonly payloadLength: number;
}

/**
 * What {@link emitUdp} needs (the data must already follow the header).
 *
 * @example
 * ```ts
 * import { type UdpEmitRepr } from "./udp.ts";
 * const h: UdpEmitRepr = { srcPort: 5000, dstPort: 7, payloadLength: 4 };
 * ```
 */
export type UdpEmitRepr = Omit<UdpRepr, "payloadOffset" | "hasChecksum">;

/**
 * Read and write a UDP header in place. No bounds checks: parse first.
 *
 * @example
 * ```ts
 * import { UdpView } from "./udp.ts";
 * const v = new UdpView(new Uint8Array(8), 0);
 * v.dstPort = 53;
 * v.dstPort; // 53
 * ```
 */
export class UdpView {
  /**
   * A view of the header at `offset` in `u8`.
   *
   * @param u8 the buffer
   * @param offset where the UDP header starts
   */
  constructor(public u8: Uint8Array, public offset = 0) {}

  /** Point the view at another header in the same buffer. */
  at(offset: number): this {
    this.offset = offset;
    return this;
  }
  /** Source port. */
  get srcPort(): number {
    return get16(this.u8, this.offset);
  }
  set srcPort(v: number) {
    set16(this.u8, this.offset, v);
  }
  /** Destination port. */
  get dstPort(): number {
    return get16(this.u8, this.offset + 2);
  }
  set dstPort(v: number) {
    set16(this.u8, this.offset + 2, v);
  }
  /** UDP length (header + data). */
  get length(): number {
    return get16(this.u8, this.offset + 4);
  }
  set length(v: number) {
    set16(this.u8, this.offset + 4, v);
  }
  /** Checksum field. */
  get checksum(): number {
    return get16(this.u8, this.offset + 6);
  }
  set checksum(v: number) {
    set16(this.u8, this.offset + 6, v);
  }
}

/**
 * Parse a UDP header from `u8[offset, offset+length)`, where `length` is the
 * IP payload length; `ip` supplies the pseudo-header addresses (an
 * `Ipv4Repr` will do). Never throws on content; `RangeError` only for a
 * range outside `u8`.
 *
 * @example
 * ```ts
 * import { emitUdp, parseUdp } from "./udp.ts";
 * const ip = { src: 0xc0000201, dst: 0xc0000202 };
 * const b = new Uint8Array(12);
 * emitUdp({ srcPort: 5000, dstPort: 7, payloadLength: 4 }, b, 0, ip);
 * const r = parseUdp(b, 0, b.length, ip);
 * typeof r !== "string" && r.dstPort; // 7
 * ```
 */
export function parseUdp(
  u8: Uint8Array,
  offset: number,
  length: number,
  ip: Ipv4PseudoHeader,
  options?: ParseOptions,
): UdpRepr | UdpDropReason {
  checkRange(u8, offset, length, "parseUdp");
  if (length < UDP_HEADER_LENGTH) return "udp.truncated";
  const udpLength = get16(u8, offset + 4);
  // RFC 768: length counts header + data, so ≥ 8; it cannot exceed what IP carried.
  if (udpLength < UDP_HEADER_LENGTH || udpLength > length) return "udp.bad_length";
  const field = get16(u8, offset + 6);
  // RFC 768 / RFC 1122 §4.1.3.4 (U4): 0 = no checksum; otherwise it must verify.
  if (
    field !== 0 && options?.verifyChecksum !== false &&
    checksum(u8, offset, udpLength, ipv4PseudoSum(ip.src, ip.dst, IpProtocol.UDP, udpLength)) !==
      0xffff
  ) {
    return "udp.bad_checksum";
  }
  return {
    srcPort: get16(u8, offset),
    dstPort: get16(u8, offset + 2),
    hasChecksum: field !== 0,
    payloadOffset: offset + UDP_HEADER_LENGTH,
    payloadLength: udpLength - UDP_HEADER_LENGTH,
  };
}

/**
 * Write a UDP header at `offset` and, unless `options.checksum` is false,
 * the checksum over pseudo-header, header and the `payloadLength` data bytes
 * that must already follow it. Returns the header length (8). Trusts `repr`;
 * `RangeError` if the datagram does not fit in `u8`.
 *
 * @example
 * ```ts
 * import { emitUdp } from "./udp.ts";
 * const b = new Uint8Array(8);
 * emitUdp({ srcPort: 1, dstPort: 2, payloadLength: 0 }, b, 0, { src: 1, dst: 2 }); // 8
 * ```
 */
export function emitUdp(
  repr: UdpEmitRepr,
  u8: Uint8Array,
  offset: number,
  ip: Ipv4PseudoHeader,
  options?: EmitOptions,
): number {
  const udpLength = UDP_HEADER_LENGTH + repr.payloadLength;
  checkRange(u8, offset, udpLength, "emitUdp");
  set16(u8, offset, repr.srcPort);
  set16(u8, offset + 2, repr.dstPort);
  set16(u8, offset + 4, udpLength);
  set16(u8, offset + 6, 0);
  if (options?.checksum !== false) {
    const c = finishChecksum(
      checksum(u8, offset, udpLength, ipv4PseudoSum(ip.src, ip.dst, IpProtocol.UDP, udpLength)),
    );
    // RFC 768 / RFC 1122 §4.1.3.4 (U4): a computed 0 is sent as all ones.
    set16(u8, offset + 6, c === 0 ? 0xffff : c);
  }
  return UDP_HEADER_LENGTH;
}

/**
 * Where the addresses of an IPv6 pseudo-header are: 16 bytes at
 * `src[srcOffset]` and at `dst[dstOffset]`. One mutable object can be reused
 * for every datagram (an `Ipv6Repr`'s offsets, with the packet's buffer).
 *
 * @example
 * ```ts
 * import type { Ipv6PseudoHeader } from "./udp.ts";
 * const hdr = new Uint8Array(40);
 * const ph: Ipv6PseudoHeader = { src: hdr, srcOffset: 8, dst: hdr, dstOffset: 24 };
 * ```
 */
export interface Ipv6PseudoHeader {
  /** Array holding the source address. */
  readonly src: Uint8Array;
  /** Offset of the 16-byte source address in `src`. */
  readonly srcOffset: number;
  /** Array holding the destination address (may be the same array as `src`). */
  readonly dst: Uint8Array;
  /** Offset of the 16-byte destination address in `dst`. */
  readonly dstOffset: number;
}

/**
 * {@link parseUdp} over IPv6: the pseudo-header is the IPv6 one (RFC 8200
 * §8.1, with the UDP length), and a zero checksum is a drop
 * (`udp.zero_checksum`): over IPv6 the checksum is mandatory (RFC 6935/6936
 * tunnels aside, which we do not terminate). Never throws on content.
 *
 * @example
 * ```ts
 * import { emitUdp6, parseUdp6 } from "./udp.ts";
 * const hdr = new Uint8Array(40);
 * hdr[23] = 1; hdr[39] = 1; // ::1 → ::1
 * const ph = { src: hdr, srcOffset: 8, dst: hdr, dstOffset: 24 };
 * const b = new Uint8Array(12);
 * emitUdp6({ srcPort: 5000, dstPort: 7, payloadLength: 4 }, b, 0, ph);
 * const r = parseUdp6(b, 0, b.length, ph);
 * typeof r !== "string" && r.dstPort; // 7
 * ```
 */
export function parseUdp6(
  u8: Uint8Array,
  offset: number,
  length: number,
  ip: Ipv6PseudoHeader,
  options?: ParseOptions,
): UdpRepr | UdpDropReason {
  checkRange(u8, offset, length, "parseUdp6");
  if (length < UDP_HEADER_LENGTH) return "udp.truncated";
  const udpLength = get16(u8, offset + 4);
  if (udpLength < UDP_HEADER_LENGTH || udpLength > length) return "udp.bad_length";
  const field = get16(u8, offset + 6);
  if (field === 0) return "udp.zero_checksum";
  if (
    options?.verifyChecksum !== false &&
    checksum(
        u8,
        offset,
        udpLength,
        ipv6PseudoSum(ip.src, ip.srcOffset, ip.dst, ip.dstOffset, udpLength, IpProtocol.UDP),
      ) !== 0xffff
  ) {
    return "udp.bad_checksum";
  }
  return {
    srcPort: get16(u8, offset),
    dstPort: get16(u8, offset + 2),
    hasChecksum: true,
    payloadOffset: offset + UDP_HEADER_LENGTH,
    payloadLength: udpLength - UDP_HEADER_LENGTH,
  };
}

/**
 * {@link emitUdp} over IPv6: the checksum (always computed unless
 * `options.checksum` is false, for a device to fill) uses the IPv6
 * pseudo-header; a computed 0 is sent as 0xffff. Returns 8.
 *
 * @example
 * ```ts
 * import { emitUdp6 } from "./udp.ts";
 * const a = new Uint8Array(16);
 * emitUdp6({ srcPort: 1, dstPort: 2, payloadLength: 0 }, new Uint8Array(8), 0,
 *   { src: a, srcOffset: 0, dst: a, dstOffset: 0 }); // 8
 * ```
 */
export function emitUdp6(
  repr: UdpEmitRepr,
  u8: Uint8Array,
  offset: number,
  ip: Ipv6PseudoHeader,
  options?: EmitOptions,
): number {
  const udpLength = UDP_HEADER_LENGTH + repr.payloadLength;
  checkRange(u8, offset, udpLength, "emitUdp6");
  set16(u8, offset, repr.srcPort);
  set16(u8, offset + 2, repr.dstPort);
  set16(u8, offset + 4, udpLength);
  set16(u8, offset + 6, 0);
  if (options?.checksum !== false) {
    const c = finishChecksum(
      checksum(
        u8,
        offset,
        udpLength,
        ipv6PseudoSum(ip.src, ip.srcOffset, ip.dst, ip.dstOffset, udpLength, IpProtocol.UDP),
      ),
    );
    // RFC 8200 §8.1: a computed 0 is transmitted as 0xffff.
    set16(u8, offset + 6, c === 0 ? 0xffff : c);
  }
  return UDP_HEADER_LENGTH;
}
