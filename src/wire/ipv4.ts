/**
 * The IPv4 header (RFC 791) with the receive checks of RFC 1122 §3.2.1.
 *
 * Decisions recorded here:
 * - **Reserved flag** (bit 0 of the flags, "must be zero" in RFC 791):
 *   ignored on receive, like Linux `ip_rcv`; robustness (RFC 1122 §1.2.2)
 *   beats rejecting a bit nobody assigned. {@link Ipv4View.reservedFlag}
 *   exposes it; {@link emitIpv4} always writes 0.
 * - **TTL** is not checked: RFC 1122 §3.2.1.7 (I6) forbids dropping a
 *   datagram for TTL < 2 when it is addressed to us; forwarding is not ours.
 * - **Fragments** are sanity-checked here because the checks need only this
 *   header: a fragment with MF set must carry a multiple of 8 bytes (RFC 791
 *   "fragment offset" is in 8-byte units, so only the last may be ragged), and
 *   no fragment may end past 65,535 bytes (the "ping of death"; Linux
 *   `ip_frag_queue` drops the same). Reassembly is `ipv4/fragment.ts`'s job.
 * - **Options** (I7) are length-checked one by one and exposed as a byte
 *   range; their meaning is the IP layer's business (unknown ones are
 *   silently ignored there).
 * - **Source address validity** (I3/I4) needs interface state; see
 *   `isMartianSource` in `addr.ts`.
 *
 * @module
 */
import { checksum, finishChecksum } from "../wasm/checksum.ts";
import type { Ipv4Address } from "./addr.ts";
import { checkRange, get16, get32, type ParseOptions, set16, set32 } from "./bytes.ts";

/**
 * Length of the IPv4 header without options.
 *
 * @example
 * ```ts
 * import { IPV4_HEADER_LENGTH } from "./ipv4.ts";
 * IPV4_HEADER_LENGTH; // 20
 * ```
 */
export const IPV4_HEADER_LENGTH = 20;
/**
 * Longest IPv4 header: IHL 15 × 4.
 *
 * @example
 * ```ts
 * import { IPV4_MAX_HEADER_LENGTH, IPV4_HEADER_LENGTH } from "./ipv4.ts";
 * IPV4_MAX_HEADER_LENGTH - IPV4_HEADER_LENGTH; // 40 bytes of options at most
 * ```
 */
export const IPV4_MAX_HEADER_LENGTH = 60;
/**
 * Largest IPv4 datagram (the 16-bit total length).
 *
 * @example
 * ```ts
 * import { IPV4_MAX_LENGTH } from "./ipv4.ts";
 * IPV4_MAX_LENGTH; // 65535
 * ```
 */
export const IPV4_MAX_LENGTH = 65535;
/**
 * The datagram size every IPv4 host must be able to receive (RFC 791,
 * RFC 1122 §3.3.2 EMTU_R ≥ 576): the size to assume for a path we know
 * nothing about, and the cap on an ICMP error (RFC 1812 §4.3.2.3).
 *
 * @example
 * ```ts
 * import { IPV4_MIN_DATAGRAM } from "./ipv4.ts";
 * IPV4_MIN_DATAGRAM - 40; // 536: TCP's default MSS (RFC 9293 MUST-15)
 * ```
 */
export const IPV4_MIN_DATAGRAM = 576;

/**
 * IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
 *
 * @example
 * ```ts
 * import { IpProtocol } from "./ipv4.ts";
 * IpProtocol.TCP; // 6
 * ```
 */
export const IpProtocol = {
  ICMP: 1,
  IGMP: 2,
  TCP: 6,
  UDP: 17,
} as const;

/**
 * IPv4 option types (RFC 791 §3.1; only EOL and NOP are single bytes).
 *
 * @example
 * ```ts
 * import { Ipv4Option } from "./ipv4.ts";
 * Ipv4Option.RECORD_ROUTE; // 7
 * ```
 */
export const Ipv4Option = {
  /** End of option list; the rest of the header is padding. */
  EOL: 0,
  /** No operation (alignment). */
  NOP: 1,
  /** Record route. */
  RECORD_ROUTE: 7,
  /** Internet timestamp. */
  TIMESTAMP: 68,
  /** Loose source and record route. */
  LSRR: 131,
  /** Strict source and record route. */
  SSRR: 137,
  /** Router alert (RFC 2113). */
  ROUTER_ALERT: 148,
} as const;

/**
 * Every reason {@link parseIpv4} can drop a datagram for.
 *
 * @example
 * ```ts
 * import { IPV4_DROP_REASONS } from "./ipv4.ts";
 * IPV4_DROP_REASONS.includes("ipv4.bad_checksum"); // true
 * ```
 */
export const IPV4_DROP_REASONS = [
  /** Fewer than 20 bytes available. */
  "ipv4.truncated",
  /** Version ≠ 4 (RFC 1122 §3.2.1.1, I1). */
  "ipv4.bad_version",
  /** IHL < 5, or IHL × 4 beyond the bytes available. */
  "ipv4.bad_header_length",
  /** Total length < IHL × 4, or beyond the bytes available. */
  "ipv4.bad_total_length",
  /** Header checksum wrong (RFC 1122 §3.2.1.2, I2). */
  "ipv4.bad_checksum",
  /** An option with length < 2, or running past the header. */
  "ipv4.bad_option",
  /** MF set with a length not a multiple of 8, or a fragment ending past 65,535. */
  "ipv4.bad_fragment",
] as const;
/**
 * Why {@link parseIpv4} dropped a datagram.
 *
 * @example
 * ```ts
 * import type { Ipv4DropReason } from "./ipv4.ts";
 * const why: Ipv4DropReason = "ipv4.bad_version";
 * ```
 */
export type Ipv4DropReason = typeof IPV4_DROP_REASONS[number];

/**
 * The addresses a transport checksum's pseudo-header needs. An
 * {@link Ipv4Repr} is one, so `parseUdp(u8, ip.payloadOffset, ip.payloadLength, ip)` works.
 *
 * @example
 * ```ts
 * import type { Ipv4PseudoHeader } from "./ipv4.ts";
 * const ph: Ipv4PseudoHeader = { src: 0xc0000201, dst: 0xc0000202 };
 * ```
 */
export interface Ipv4PseudoHeader {
  /** Source address. */
  readonly src: Ipv4Address;
  /** Destination address. */
  readonly dst: Ipv4Address;
}

/**
 * A parsed IPv4 header.
 *
 * @example
 * ```ts
 * import { type Ipv4Repr, parseIpv4 } from "./ipv4.ts";
 * const frame = new Uint8Array(34); // Ethernet + a zeroed IPv4 header
 * const r = parseIpv4(frame, 14, frame.length - 14); // "ipv4.bad_version"
 * if (typeof r !== "string") { const ip: Ipv4Repr = r; ip.protocol; }
 * ```
 */
export interface Ipv4Repr extends Ipv4PseudoHeader {
  /** Type of service byte: DSCP (high 6 bits) and ECN (low 2 bits), RFC 2474/3168. */
  readonly tos: number;
  /** Identification. */
  readonly id: number;
  /** Don't Fragment. */
  readonly dontFragment: boolean;
  /** More Fragments. */
  readonly moreFragments: boolean;
  /** Fragment offset in bytes (the header field × 8). */
  readonly fragmentOffset: number;
  /** Time to live. */
  readonly ttl: number;
  /** Payload protocol, see {@link IpProtocol}. */
  readonly protocol: number;
  /** Header length in bytes (IHL × 4), 20–60. */
  readonly headerLength: number;
  /** Start of the options (always `offset + 20`). */
  readonly optionsOffset: number;
  /** Bytes of options including trailing padding (`headerLength - 20`). */
  readonly optionsLength: number;
  /** Start of the payload. */
  readonly payloadOffset: number;
  /** Payload bytes: total length minus header length (link padding excluded). */
  readonly payloadLength: number;
}

/**
 * What {@link emitIpv4} needs: the header fields, the payload length, and
 * optional raw option bytes (copied, then zero-padded to a 32-bit boundary).
 *
 * @example
 * ```ts
 * import { type Ipv4EmitRepr, IpProtocol } from "./ipv4.ts";
 * const h: Ipv4EmitRepr = {
 *   src: 0xc0000201, dst: 0xc0000202, tos: 0, id: 1, dontFragment: true,
 *   moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: IpProtocol.UDP,
 *   payloadLength: 12,
 * };
 * ```
 */
export type Ipv4EmitRepr =
  & Omit<Ipv4Repr, "headerLength" | "optionsOffset" | "optionsLength" | "payloadOffset">
  & {
    /** Option bytes to copy after the fixed header (at most 40). */
    readonly options?: Uint8Array;
  };

/** Flag bits in the 16-bit flags/fragment-offset word. */
const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;

/**
 * Read and write an IPv4 header in place. No bounds checks: parse first.
 *
 * @example
 * ```ts
 * import { Ipv4View } from "./ipv4.ts";
 * const ip = new Ipv4View(new Uint8Array(20), 0);
 * ip.headerLength = 20;
 * ip.ttl = 64;
 * ip.fillChecksum();
 * ip.verifyChecksum(); // true
 * ```
 */
export class Ipv4View {
  /**
   * A view of the header at `offset` in `u8`.
   *
   * @param u8 the buffer
   * @param offset where the IPv4 header starts
   */
  constructor(public u8: Uint8Array, public offset = 0) {}

  /** Point the view at another header in the same buffer. */
  at(offset: number): this {
    this.offset = offset;
    return this;
  }
  /** Version (4 for IPv4). */
  get version(): number {
    return this.u8[this.offset]! >> 4;
  }
  /** Header length in bytes (IHL × 4). Setting it also sets version 4. */
  get headerLength(): number {
    return (this.u8[this.offset]! & 15) * 4;
  }
  set headerLength(bytes: number) {
    this.u8[this.offset] = 0x40 | ((bytes >>> 2) & 15);
  }
  /** Type of service (DSCP | ECN). */
  get tos(): number {
    return this.u8[this.offset + 1]!;
  }
  set tos(v: number) {
    this.u8[this.offset + 1] = v;
  }
  /** Total length. */
  get totalLength(): number {
    return get16(this.u8, this.offset + 2);
  }
  set totalLength(v: number) {
    set16(this.u8, this.offset + 2, v);
  }
  /** Identification. */
  get id(): number {
    return get16(this.u8, this.offset + 4);
  }
  set id(v: number) {
    set16(this.u8, this.offset + 4, v);
  }
  /** The reserved ("evil") flag bit; see the module note. */
  get reservedFlag(): boolean {
    return (get16(this.u8, this.offset + 6) & FLAG_RESERVED) !== 0;
  }
  set reservedFlag(v: boolean) {
    this.#setFlag(FLAG_RESERVED, v);
  }
  /** Don't Fragment. */
  get dontFragment(): boolean {
    return (get16(this.u8, this.offset + 6) & FLAG_DF) !== 0;
  }
  set dontFragment(v: boolean) {
    this.#setFlag(FLAG_DF, v);
  }
  /** More Fragments. */
  get moreFragments(): boolean {
    return (get16(this.u8, this.offset + 6) & FLAG_MF) !== 0;
  }
  set moreFragments(v: boolean) {
    this.#setFlag(FLAG_MF, v);
  }
  /** Fragment offset in bytes (set rounds down to a multiple of 8). */
  get fragmentOffset(): number {
    return (get16(this.u8, this.offset + 6) & FRAG_OFFSET_MASK) * 8;
  }
  set fragmentOffset(bytes: number) {
    const w = get16(this.u8, this.offset + 6);
    set16(this.u8, this.offset + 6, (w & ~FRAG_OFFSET_MASK) | ((bytes >>> 3) & FRAG_OFFSET_MASK));
  }
  /** Time to live. */
  get ttl(): number {
    return this.u8[this.offset + 8]!;
  }
  set ttl(v: number) {
    this.u8[this.offset + 8] = v;
  }
  /** Protocol. */
  get protocol(): number {
    return this.u8[this.offset + 9]!;
  }
  set protocol(v: number) {
    this.u8[this.offset + 9] = v;
  }
  /** Header checksum field. */
  get checksum(): number {
    return get16(this.u8, this.offset + 10);
  }
  set checksum(v: number) {
    set16(this.u8, this.offset + 10, v);
  }
  /** Source address. */
  get src(): Ipv4Address {
    return get32(this.u8, this.offset + 12);
  }
  set src(v: Ipv4Address) {
    set32(this.u8, this.offset + 12, v);
  }
  /** Destination address. */
  get dst(): Ipv4Address {
    return get32(this.u8, this.offset + 16);
  }
  set dst(v: Ipv4Address) {
    set32(this.u8, this.offset + 16, v);
  }
  /** Recompute and store the header checksum (after editing fields). */
  fillChecksum(): void {
    set16(this.u8, this.offset + 10, 0);
    set16(
      this.u8,
      this.offset + 10,
      finishChecksum(checksum(this.u8, this.offset, this.headerLength)),
    );
  }
  /** True when the stored header checksum is correct. */
  verifyChecksum(): boolean {
    return checksum(this.u8, this.offset, this.headerLength) === 0xffff;
  }
  #setFlag(bit: number, on: boolean): void {
    const w = get16(this.u8, this.offset + 6);
    set16(this.u8, this.offset + 6, on ? w | bit : w & ~bit);
  }
}

/**
 * Check a run of IPv4 options (RFC 791 §3.1) without interpreting them:
 * EOL ends the list (the rest is padding), NOP is one byte, every other
 * option has a length byte ≥ 2 that must stay inside the range. Returns true
 * when well formed. Unknown types pass (I7: ignore them silently).
 *
 * @example
 * ```ts
 * import { ipv4OptionsValid } from "./ipv4.ts";
 * ipv4OptionsValid(new Uint8Array([1, 7, 3, 4, 0]), 0, 5); // true: NOP, RR(3), EOL
 * ipv4OptionsValid(new Uint8Array([7, 0, 0, 0]), 0, 4); // false: length 0
 * ```
 */
export function ipv4OptionsValid(u8: Uint8Array, offset: number, length: number): boolean {
  const end = offset + length;
  let i = offset;
  while (i < end) {
    const type = u8[i]!;
    if (type === Ipv4Option.EOL) return true;
    if (type === Ipv4Option.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false; // no room for the length byte
    const len = u8[i + 1]!;
    // len < 2 would never advance (0) or cut the length byte (1): never loop on it.
    if (len < 2 || len > end - i) return false;
    i += len;
  }
  return true;
}

/**
 * Parse and validate an IPv4 header from `u8[offset, offset+length)`, where
 * `length` is what the link delivered (it may exceed the total length by link
 * padding; the Repr reports the true payload length). Never throws on content;
 * `RangeError` only for a range outside `u8`.
 *
 * @example
 * ```ts
 * import { emitIpv4, parseIpv4 } from "./ipv4.ts";
 * const b = new Uint8Array(64); // 20 header + 8 payload + link padding
 * emitIpv4({ src: 0xc0000201, dst: 0xc0000202, tos: 0, id: 7, dontFragment: true,
 *   moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: 17, payloadLength: 8 }, b, 0);
 * const r = parseIpv4(b, 0, b.length);
 * typeof r !== "string" && r.payloadLength; // 8
 * ```
 */
export function parseIpv4(
  u8: Uint8Array,
  offset: number,
  length: number,
  options?: ParseOptions,
): Ipv4Repr | Ipv4DropReason {
  const out = newIpv4Repr();
  return parseIpv4Into(u8, offset, length, out, options) ?? out;
}

/** An {@link Ipv4Repr} whose fields a parser may fill. */
export type MutableIpv4Repr = { -readonly [K in keyof Ipv4Repr]: Ipv4Repr[K] };

/**
 * A blank record for {@link parseIpv4Into}.
 *
 * @example
 * ```ts
 * import { newIpv4Repr } from "./ipv4.ts";
 * newIpv4Repr().headerLength; // 0
 * ```
 */
export function newIpv4Repr(): MutableIpv4Repr {
  return {
    src: 0,
    dst: 0,
    tos: 0,
    id: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 0,
    protocol: 0,
    headerLength: 0,
    optionsOffset: 0,
    optionsLength: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/**
 * {@link parseIpv4} into a caller-owned record (the IPv4 layer reuses one: no
 * allocation per datagram). Returns the drop reason, or null when `out` now
 * holds the header; on a drop `out` is left partly written.
 *
 * @example
 * ```ts
 * import { newIpv4Repr, parseIpv4Into } from "./ipv4.ts";
 * const ip = newIpv4Repr();
 * parseIpv4Into(new Uint8Array(20), 0, 20, ip); // "ipv4.bad_version"
 * ```
 */
export function parseIpv4Into(
  u8: Uint8Array,
  offset: number,
  length: number,
  out: MutableIpv4Repr,
  options?: ParseOptions,
): Ipv4DropReason | null {
  checkRange(u8, offset, length, "parseIpv4");
  if (length < IPV4_HEADER_LENGTH) return "ipv4.truncated";
  const vihl = u8[offset]!;
  // RFC 1122 §3.2.1.1 (I1): silently discard version ≠ 4.
  if (vihl >> 4 !== 4) return "ipv4.bad_version";
  const headerLength = (vihl & 15) * 4;
  if (headerLength < IPV4_HEADER_LENGTH || headerLength > length) return "ipv4.bad_header_length";
  const totalLength = get16(u8, offset + 2);
  // Bytes past total length are link padding (e.g. to Ethernet's 60-byte minimum).
  if (totalLength < headerLength || totalLength > length) return "ipv4.bad_total_length";
  // RFC 1122 §3.2.1.2 (I2): verify the header checksum; a correct header sums to 0xffff.
  if (options?.verifyChecksum !== false && checksum(u8, offset, headerLength) !== 0xffff) {
    return "ipv4.bad_checksum";
  }
  if (
    headerLength > IPV4_HEADER_LENGTH &&
    !ipv4OptionsValid(u8, offset + IPV4_HEADER_LENGTH, headerLength - IPV4_HEADER_LENGTH)
  ) {
    return "ipv4.bad_option";
  }
  const flags = get16(u8, offset + 6);
  const moreFragments = (flags & FLAG_MF) !== 0;
  const fragmentOffset = (flags & FRAG_OFFSET_MASK) * 8;
  const payloadLength = totalLength - headerLength;
  if (moreFragments && (payloadLength & 7) !== 0) return "ipv4.bad_fragment";
  if (fragmentOffset + payloadLength + headerLength > IPV4_MAX_LENGTH) return "ipv4.bad_fragment";
  out.src = get32(u8, offset + 12);
  out.dst = get32(u8, offset + 16);
  out.tos = u8[offset + 1]!;
  out.id = get16(u8, offset + 4);
  out.dontFragment = (flags & FLAG_DF) !== 0;
  out.moreFragments = moreFragments;
  out.fragmentOffset = fragmentOffset;
  out.ttl = u8[offset + 8]!;
  out.protocol = u8[offset + 9]!;
  out.headerLength = headerLength;
  out.optionsOffset = offset + IPV4_HEADER_LENGTH;
  out.optionsLength = headerLength - IPV4_HEADER_LENGTH;
  out.payloadOffset = offset + headerLength;
  out.payloadLength = payloadLength;
  return null;
}

/**
 * Header length {@link emitIpv4} will use for `optionsLength` option bytes
 * (padded to 32 bits).
 *
 * @example
 * ```ts
 * import { ipv4HeaderLength } from "./ipv4.ts";
 * ipv4HeaderLength(0); // 20
 * ipv4HeaderLength(39); // 60
 * ```
 */
export function ipv4HeaderLength(optionsLength = 0): number {
  return IPV4_HEADER_LENGTH + ((optionsLength + 3) & ~3);
}

/**
 * Write an IPv4 header (with checksum) at `offset`; the payload is expected to
 * follow it. Returns the header length. Trusts `repr` (RFC 1122 §3.2.1.7, I6:
 * callers never pass TTL 0); throws `RangeError` if the header does not fit
 * in `u8` or the options exceed 40 bytes (caller bugs).
 *
 * @example
 * ```ts
 * import { emitIpv4, IpProtocol } from "./ipv4.ts";
 * const b = new Uint8Array(28);
 * emitIpv4({ src: 0xc0000201, dst: 0xc0000202, tos: 0, id: 1, dontFragment: true,
 *   moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: IpProtocol.UDP,
 *   payloadLength: 8 }, b, 0); // 20
 * ```
 */
export function emitIpv4(repr: Ipv4EmitRepr, u8: Uint8Array, offset: number): number {
  const opts = repr.options;
  const optLen = opts === undefined ? 0 : opts.length;
  if (optLen > IPV4_MAX_HEADER_LENGTH - IPV4_HEADER_LENGTH) {
    throw new RangeError(`emitIpv4: ${optLen} bytes of options exceed the 40-byte maximum`);
  }
  const headerLength = ipv4HeaderLength(optLen);
  checkRange(u8, offset, headerLength, "emitIpv4");
  u8[offset] = 0x40 | (headerLength >>> 2);
  u8[offset + 1] = repr.tos;
  set16(u8, offset + 2, headerLength + repr.payloadLength);
  set16(u8, offset + 4, repr.id);
  set16(
    u8,
    offset + 6,
    (repr.dontFragment ? FLAG_DF : 0) | (repr.moreFragments ? FLAG_MF : 0) |
      ((repr.fragmentOffset >>> 3) & FRAG_OFFSET_MASK),
  );
  u8[offset + 8] = repr.ttl;
  u8[offset + 9] = repr.protocol;
  set16(u8, offset + 10, 0);
  set32(u8, offset + 12, repr.src);
  set32(u8, offset + 16, repr.dst);
  if (opts !== undefined && optLen > 0) {
    u8.set(opts, offset + IPV4_HEADER_LENGTH);
    // RFC 791: pad the options to a 32-bit boundary with zeros (EOL).
    u8.fill(0, offset + IPV4_HEADER_LENGTH + optLen, offset + headerLength);
  }
  set16(u8, offset + 10, finishChecksum(checksum(u8, offset, headerLength)));
  return headerLength;
}
