/**
 * ARP for IPv4 over Ethernet (RFC 826): the only combination the stack
 * resolves, so anything else (another hardware or protocol type, other
 * address lengths, RARP/InARP opcodes) is a drop reason, not a Repr.
 *
 * Layout (28 bytes): htype(2) ptype(2) hlen(1) plen(1) op(2) sha(6) spa(4)
 * tha(6) tpa(4). Frames are padded to the Ethernet minimum, so bytes after
 * the 28 are ignored.
 *
 * @module
 */
import { type Ipv4Address, type MacAddress, readMac, writeMac } from "./addr.ts";
import { checkRange, get16, get32, set16, set32 } from "./bytes.ts";

/**
 * Length of an Ethernet/IPv4 ARP packet.
 *
 * @example
 * ```ts
 * import { ARP_LENGTH } from "./arp.ts";
 * ARP_LENGTH; // 28
 * ```
 */
export const ARP_LENGTH = 28;

/**
 * ARP opcodes (RFC 826 `ar$op`).
 *
 * @example
 * ```ts
 * import { ArpOp } from "./arp.ts";
 * ArpOp.REQUEST; // 1
 * ```
 */
export const ArpOp = {
  /** ares_op$REQUEST. */
  REQUEST: 1,
  /** ares_op$REPLY. */
  REPLY: 2,
} as const;
/**
 * One of the {@link ArpOp} values.
 *
 * @example
 * ```ts
 * import { ArpOp } from "./arp.ts";
 * const op: ArpOp = ArpOp.REPLY;
 * ```
 */
export type ArpOp = typeof ArpOp[keyof typeof ArpOp];

/** Hardware type Ethernet (RFC 826 `ares_hrd$Ethernet`). */
const HTYPE_ETHERNET = 1;
/** Protocol type IPv4 (the IPv4 EtherType). */
const PTYPE_IPV4 = 0x0800;

/**
 * Every reason {@link parseArp} can drop a packet for.
 *
 * @example
 * ```ts
 * import { ARP_DROP_REASONS } from "./arp.ts";
 * ARP_DROP_REASONS.length; // 4
 * ```
 */
export const ARP_DROP_REASONS = [
  /** Fewer than 28 bytes. */
  "arp.truncated",
  /** Hardware type ≠ 1 (Ethernet) or hardware length ≠ 6. */
  "arp.bad_hardware",
  /** Protocol type ≠ 0x0800 (IPv4) or protocol length ≠ 4. */
  "arp.bad_protocol",
  /** Opcode other than request (1) or reply (2). */
  "arp.bad_op",
] as const;
/**
 * Why {@link parseArp} dropped a packet.
 *
 * @example
 * ```ts
 * import type { ArpDropReason } from "./arp.ts";
 * const why: ArpDropReason = "arp.bad_op";
 * ```
 */
export type ArpDropReason = typeof ARP_DROP_REASONS[number];

/**
 * A parsed Ethernet/IPv4 ARP packet.
 *
 * @example
 * ```ts
 * import { type ArpRepr, ArpOp } from "./arp.ts";
 * const who: ArpRepr = {
 *   op: ArpOp.REQUEST, senderMac: 0x020000000001, senderIp: 0xc0000201,
 *   targetMac: 0, targetIp: 0xc0000202,
 * };
 * ```
 */
export interface ArpRepr {
  /** Request or reply. */
  readonly op: ArpOp;
  /** Sender hardware address (`ar$sha`). */
  readonly senderMac: MacAddress;
  /** Sender protocol address (`ar$spa`). */
  readonly senderIp: Ipv4Address;
  /** Target hardware address (`ar$tha`; zero in a request). */
  readonly targetMac: MacAddress;
  /** Target protocol address (`ar$tpa`). */
  readonly targetIp: Ipv4Address;
}

/**
 * Read and write an ARP packet in place. No bounds checks: parse first.
 *
 * @example
 * ```ts
 * import { ArpView } from "./arp.ts";
 * const v = new ArpView(new Uint8Array(28), 0);
 * v.op = 2;
 * v.op; // 2
 * ```
 */
export class ArpView {
  /**
   * A view of the header at `offset` in `u8`.
   *
   * @param u8 the buffer
   * @param offset where the ARP packet starts
   */
  constructor(public u8: Uint8Array, public offset = 0) {}

  /** Point the view at another packet in the same buffer. */
  at(offset: number): this {
    this.offset = offset;
    return this;
  }
  /** Hardware type. */
  get htype(): number {
    return get16(this.u8, this.offset);
  }
  set htype(v: number) {
    set16(this.u8, this.offset, v);
  }
  /** Protocol type. */
  get ptype(): number {
    return get16(this.u8, this.offset + 2);
  }
  set ptype(v: number) {
    set16(this.u8, this.offset + 2, v);
  }
  /** Hardware address length. */
  get hlen(): number {
    return this.u8[this.offset + 4]!;
  }
  set hlen(v: number) {
    this.u8[this.offset + 4] = v;
  }
  /** Protocol address length. */
  get plen(): number {
    return this.u8[this.offset + 5]!;
  }
  set plen(v: number) {
    this.u8[this.offset + 5] = v;
  }
  /** Opcode. */
  get op(): number {
    return get16(this.u8, this.offset + 6);
  }
  set op(v: number) {
    set16(this.u8, this.offset + 6, v);
  }
  /** Sender hardware address. */
  get senderMac(): MacAddress {
    return readMac(this.u8, this.offset + 8);
  }
  set senderMac(v: MacAddress) {
    writeMac(this.u8, this.offset + 8, v);
  }
  /** Sender protocol address. */
  get senderIp(): Ipv4Address {
    return get32(this.u8, this.offset + 14);
  }
  set senderIp(v: Ipv4Address) {
    set32(this.u8, this.offset + 14, v);
  }
  /** Target hardware address. */
  get targetMac(): MacAddress {
    return readMac(this.u8, this.offset + 18);
  }
  set targetMac(v: MacAddress) {
    writeMac(this.u8, this.offset + 18, v);
  }
  /** Target protocol address. */
  get targetIp(): Ipv4Address {
    return get32(this.u8, this.offset + 24);
  }
  set targetIp(v: Ipv4Address) {
    set32(this.u8, this.offset + 24, v);
  }
}

/**
 * Parse an ARP packet (the Ethernet payload) from `u8[offset, offset+length)`.
 * Never throws on content; `RangeError` only for a range outside `u8`.
 *
 * @example
 * ```ts
 * import { emitArp, parseArp } from "./arp.ts";
 * const b = new Uint8Array(46); // an ARP packet plus Ethernet padding
 * emitArp({ op: 1, senderMac: 0x020000000001, senderIp: 0xc0000201, targetMac: 0, targetIp: 0xc0000202 }, b, 0);
 * const r = parseArp(b, 0, b.length);
 * typeof r !== "string" && r.targetIp; // 0xc0000202
 * ```
 */
export function parseArp(u8: Uint8Array, offset: number, length: number): ArpRepr | ArpDropReason {
  checkRange(u8, offset, length, "parseArp");
  if (length < ARP_LENGTH) return "arp.truncated";
  // RFC 826 reception: check ar$hrd (and its length), then ar$pro (and its length).
  if (get16(u8, offset) !== HTYPE_ETHERNET || u8[offset + 4] !== 6) return "arp.bad_hardware";
  if (get16(u8, offset + 2) !== PTYPE_IPV4 || u8[offset + 5] !== 4) return "arp.bad_protocol";
  const op = get16(u8, offset + 6);
  if (op !== ArpOp.REQUEST && op !== ArpOp.REPLY) return "arp.bad_op";
  return {
    op,
    senderMac: readMac(u8, offset + 8),
    senderIp: get32(u8, offset + 14),
    targetMac: readMac(u8, offset + 18),
    targetIp: get32(u8, offset + 24),
  };
}

/**
 * Write an Ethernet/IPv4 ARP packet at `offset`; returns the bytes written (28).
 * Trusts `repr`; `RangeError` if 28 bytes do not fit.
 *
 * @example
 * ```ts
 * import { ArpOp, emitArp } from "./arp.ts";
 * const b = new Uint8Array(28);
 * emitArp({ op: ArpOp.REPLY, senderMac: 0x020000000002, senderIp: 0xc0000202,
 *   targetMac: 0x020000000001, targetIp: 0xc0000201 }, b, 0); // 28
 * ```
 */
export function emitArp(repr: ArpRepr, u8: Uint8Array, offset: number): number {
  checkRange(u8, offset, ARP_LENGTH, "emitArp");
  set16(u8, offset, HTYPE_ETHERNET);
  set16(u8, offset + 2, PTYPE_IPV4);
  u8[offset + 4] = 6;
  u8[offset + 5] = 4;
  set16(u8, offset + 6, repr.op);
  writeMac(u8, offset + 8, repr.senderMac);
  set32(u8, offset + 14, repr.senderIp);
  writeMac(u8, offset + 18, repr.targetMac);
  set32(u8, offset + 24, repr.targetIp);
  return ARP_LENGTH;
}
