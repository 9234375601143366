/**
 * Ethernet II framing (RFC 894; RFC 1122 §2.3.3 L4): destination MAC, source
 * MAC, EtherType, payload. No FCS: devices hand us frames without it.
 *
 * The EtherType is reported as is. An 802.1Q tag (0x8100) or an IEEE 802.3
 * length field (a value below 0x0600, RFC 1042 framing, which we do not
 * decode) simply shows up as an EtherType no protocol claims, and the stack
 * drops it there. The minimum frame size (60 bytes) is not enforced on
 * receive: virtual links deliver short frames, and the IP layer trims
 * padding from total length anyway.
 *
 * @module
 */
import { type MacAddress, readMac, writeMac } from "./addr.ts";
import { checkRange, get16, set16 } from "./bytes.ts";

/**
 * Ethernet II header length: 6 + 6 + 2.
 *
 * @example
 * ```ts
 * import { ETHERNET_HEADER_LENGTH } from "./ethernet.ts";
 * const ipOffset = 0 + ETHERNET_HEADER_LENGTH; // 14
 * ```
 */
export const ETHERNET_HEADER_LENGTH = 14;

/**
 * EtherType values (IEEE registry) the stack knows by name.
 *
 * @example
 * ```ts
 * import { EtherType } from "./ethernet.ts";
 * EtherType.IPV4; // 0x0800
 * ```
 */
export const EtherType = {
  /** IPv4, RFC 894. */
  IPV4: 0x0800,
  /** ARP, RFC 826. */
  ARP: 0x0806,
  /** 802.1Q VLAN tag (not decoded; reported so it can be counted). */
  VLAN: 0x8100,
  /** IPv6, RFC 2464. */
  IPV6: 0x86dd,
} as const;

/**
 * Every reason {@link parseEthernet} can drop a frame for.
 *
 * @example
 * ```ts
 * import { ETHERNET_DROP_REASONS } from "./ethernet.ts";
 * ETHERNET_DROP_REASONS.includes("ethernet.truncated"); // true
 * ```
 */
export const ETHERNET_DROP_REASONS = [
  /** Fewer than 14 bytes. */
  "ethernet.truncated",
] as const;
/**
 * Why {@link parseEthernet} dropped a frame.
 *
 * @example
 * ```ts
 * import type { EthernetDropReason } from "./ethernet.ts";
 * const why: EthernetDropReason = "ethernet.truncated";
 * ```
 */
export type EthernetDropReason = typeof ETHERNET_DROP_REASONS[number];

/**
 * A parsed Ethernet II header.
 *
 * @example
 * ```ts
 * import { type EthernetRepr, parseEthernet } from "./ethernet.ts";
 * const r = parseEthernet(new Uint8Array(60), 0, 60);
 * if (typeof r !== "string") { const e: EthernetRepr = r; e.payloadLength; } // 46
 * ```
 */
export interface EthernetRepr {
  /** Destination MAC. */
  readonly dst: MacAddress;
  /** Source MAC. */
  readonly src: MacAddress;
  /** EtherType, as on the wire (see the module note on 802.1Q and 802.3). */
  readonly ethertype: number;
  /** Offset of the payload in the parsed buffer. */
  readonly payloadOffset: number;
  /** Bytes from the payload to the end of the frame (may include link padding). */
  readonly payloadLength: number;
}

/**
 * What {@link emitEthernet} needs.
 *
 * @example
 * ```ts
 * import { type EthernetEmitRepr, EtherType } from "./ethernet.ts";
 * const h: EthernetEmitRepr = { dst: 0xffffffffffff, src: 0x020000000001, ethertype: EtherType.ARP };
 * ```
 */
export type EthernetEmitRepr = Omit<EthernetRepr, "payloadOffset" | "payloadLength">;

/**
 * Read and write an Ethernet II header in place. No bounds checks: parse first.
 *
 * @example
 * ```ts
 * import { EthernetView } from "./ethernet.ts";
 * const frame = new Uint8Array(60);
 * const v = new EthernetView(frame, 0);
 * v.ethertype = 0x0806;
 * v.dst = 0xffffffffffff;
 * ```
 */
export class EthernetView {
  /**
   * A view of the header at `offset` in `u8`.
   *
   * @param u8 the buffer (typically the arena's bytes)
   * @param offset where the header starts (typically `skb.data`)
   */
  constructor(public u8: Uint8Array, public offset = 0) {}

  /** Point the view at another header in the same buffer (no allocation). */
  at(offset: number): this {
    this.offset = offset;
    return this;
  }
  /** Destination MAC. */
  get dst(): MacAddress {
    return readMac(this.u8, this.offset);
  }
  set dst(v: MacAddress) {
    writeMac(this.u8, this.offset, v);
  }
  /** Source MAC. */
  get src(): MacAddress {
    return readMac(this.u8, this.offset + 6);
  }
  set src(v: MacAddress) {
    writeMac(this.u8, this.offset + 6, v);
  }
  /** EtherType. */
  get ethertype(): number {
    return get16(this.u8, this.offset + 12);
  }
  set ethertype(v: number) {
    set16(this.u8, this.offset + 12, v);
  }
  /** Offset of the payload. */
  get payloadOffset(): number {
    return this.offset + ETHERNET_HEADER_LENGTH;
  }
}

/**
 * Parse an Ethernet II header from `u8[offset, offset+length)`.
 * Never throws on any frame content; throws `RangeError` only if the range is
 * not inside `u8` (caller bug).
 *
 * @example
 * ```ts
 * import { parseEthernet } from "./ethernet.ts";
 * const f = new Uint8Array(42);
 * f.set([0x08, 0x06], 12);
 * const r = parseEthernet(f, 0, f.length);
 * if (typeof r === "string") throw new Error(r);
 * r.ethertype; // 0x0806
 * ```
 */
export function parseEthernet(
  u8: Uint8Array,
  offset: number,
  length: number,
): EthernetRepr | EthernetDropReason {
  const out = { dst: 0, src: 0, ethertype: 0, payloadOffset: 0, payloadLength: 0 };
  return parseEthernetInto(u8, offset, length, out) ?? out;
}

/**
 * {@link parseEthernet} into a caller-owned record (the receive path reuses
 * one per stack: no allocation per frame). Returns the drop reason, or null
 * when `out` now holds the header.
 *
 * @example
 * ```ts
 * import { parseEthernetInto } from "./ethernet.ts";
 * const out = { dst: 0, src: 0, ethertype: 0, payloadOffset: 0, payloadLength: 0 };
 * parseEthernetInto(new Uint8Array(60), 0, 60, out); // null; out.payloadLength === 46
 * ```
 */
export function parseEthernetInto(
  u8: Uint8Array,
  offset: number,
  length: number,
  out: { -readonly [K in keyof EthernetRepr]: EthernetRepr[K] },
): EthernetDropReason | null {
  checkRange(u8, offset, length, "parseEthernet");
  if (length < ETHERNET_HEADER_LENGTH) return "ethernet.truncated";
  out.dst = readMac(u8, offset);
  out.src = readMac(u8, offset + 6);
  out.ethertype = get16(u8, offset + 12);
  out.payloadOffset = offset + ETHERNET_HEADER_LENGTH;
  out.payloadLength = length - ETHERNET_HEADER_LENGTH;
  return null;
}

/**
 * Write an Ethernet II header at `offset` (typically into headroom pushed in
 * front of the IP packet); returns the bytes written (14). Trusts `repr`;
 * throws `RangeError` if the header does not fit in `u8` (caller bug).
 *
 * @example
 * ```ts
 * import { emitEthernet, EtherType } from "./ethernet.ts";
 * const f = new Uint8Array(60);
 * emitEthernet({ dst: 0xffffffffffff, src: 0x020000000001, ethertype: EtherType.ARP }, f, 0); // 14
 * ```
 */
export function emitEthernet(repr: EthernetEmitRepr, u8: Uint8Array, offset: number): number {
  checkRange(u8, offset, ETHERNET_HEADER_LENGTH, "emitEthernet");
  writeMac(u8, offset, repr.dst);
  writeMac(u8, offset + 6, repr.src);
  set16(u8, offset + 12, repr.ethertype);
  return ETHERNET_HEADER_LENGTH;
}
