/**
 * The TCP header (RFC 9293 §3.1): ports, sequence and acknowledgment numbers,
 * data offset, flags, window, checksum, urgent pointer, options.
 *
 * Receive checks: at least 20 bytes; data offset ≥ 5 and within the segment;
 * checksum over the pseudo-header, header and data (MUST-3); options
 * well-formed (`tcp_options.ts`, MUST-7). Flag combinations (SYN+FIN, the
 * "Xmas" and "null" probes) are legal to parse; what to answer is the state
 * machine's job. The reserved bits and the AE/NS bit next to the flags are
 * ignored (RFC 9293 §3.1: "must be zero" on send, no receive check).
 *
 * @module
 */
import { checksum, finishChecksum, ipv4PseudoSum } from "../wasm/checksum.ts";
import {
  checkRange,
  type EmitOptions,
  get16,
  get32,
  type ParseOptions,
  set16,
  set32,
} from "./bytes.ts";
import { IpProtocol, type Ipv4PseudoHeader } from "./ipv4.ts";
import {
  emitTcpOptions,
  NO_TCP_OPTIONS,
  parseTcpOptionsInto,
  TCP_MAX_OPTIONS_LENGTH,
  type TcpOptions,
  tcpOptionsLength,
  TcpOptionsScratch,
} from "./tcp_options.ts";

/**
 * Length of the TCP header without options.
 *
 * @example
 * ```ts
 * import { TCP_HEADER_LENGTH } from "./tcp.ts";
 * TCP_HEADER_LENGTH; // 20
 * ```
 */
export const TCP_HEADER_LENGTH = 20;

/**
 * Byte offsets of the header fields (RFC 9293 §3.1 figure 1), the one place
 * the layout is written down: the view, the parser and the emitter use them.
 *
 * @example
 * ```ts
 * import { TcpField } from "./tcp.ts";
 * TcpField.FLAGS; // 13
 * ```
 */
export const TcpField = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  /** Data offset (high 4 bits) and reserved bits. */
  DATA_OFFSET: 12,
  FLAGS: 13,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT_POINTER: 18,
} as const;

/**
 * TCP flag bits (RFC 9293 §3.1; ECE and CWR from RFC 3168), as in byte 13.
 *
 * @example
 * ```ts
 * import { TcpFlags } from "./tcp.ts";
 * const synAck = TcpFlags.SYN | TcpFlags.ACK; // 0x12
 * ```
 */
export const TcpFlags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/**
 * Every reason {@link parseTcp} can drop a segment for.
 *
 * @example
 * ```ts
 * import { TCP_DROP_REASONS } from "./tcp.ts";
 * TCP_DROP_REASONS.includes("tcp.bad_option"); // true
 * ```
 */
export const TCP_DROP_REASONS = [
  /** Fewer than 20 bytes. */
  "tcp.truncated",
  /** Data offset < 5, or the header it claims runs past the segment. */
  "tcp.bad_data_offset",
  /** Checksum wrong (RFC 9293 §3.1, MUST-3). */
  "tcp.bad_checksum",
  /** Malformed option (MUST-7), see `tcp_options.ts`. */
  "tcp.bad_option",
] as const;
/**
 * Why {@link parseTcp} dropped a segment.
 *
 * @example
 * ```ts
 * import type { TcpDropReason } from "./tcp.ts";
 * const why: TcpDropReason = "tcp.bad_option";
 * ```
 */
export type TcpDropReason = typeof TCP_DROP_REASONS[number];

/**
 * A parsed TCP header.
 *
 * @example
 * ```ts
 * import { type TcpRepr, TcpFlags } from "./tcp.ts";
 * const isSyn = (t: TcpRepr) => (t.flags & (TcpFlags.SYN | TcpFlags.ACK)) === TcpFlags.SYN;
 * ```
 */
export interface TcpRepr {
  /** Source port. */
  readonly srcPort: number;
  /** Destination port. */
  readonly dstPort: number;
  /** Sequence number (unsigned 32-bit). */
  readonly seq: number;
  /** Acknowledgment number, as on the wire even when ACK is clear. */
  readonly ack: number;
  /** Flag bits, see {@link TcpFlags}. */
  readonly flags: number;
  /** Window field, unscaled (scaling is per connection, W3). */
  readonly window: number;
  /** Urgent pointer, as on the wire even when URG is clear. */
  readonly urgentPointer: number;
  /** Options ({@link NO_TCP_OPTIONS} when there are none). */
  readonly options: TcpOptions;
  /** Header length in bytes (data offset × 4), 20–60. */
  readonly headerLength: number;
  /** Start of the data. */
  readonly payloadOffset: number;
  /** Data bytes. */
  readonly payloadLength: number;
}

/**
 * What {@link emitTcp} needs (the data must already follow where the header
 * will end: reserve {@link tcpHeaderLength} bytes in front of it).
 *
 * @example
 * ```ts
 * import { type TcpEmitRepr, TcpFlags } from "./tcp.ts";
 * import { NO_TCP_OPTIONS } from "./tcp_options.ts";
 * const rst: TcpEmitRepr = {
 *   srcPort: 80, dstPort: 40000, seq: 0, ack: 1, flags: TcpFlags.RST | TcpFlags.ACK,
 *   window: 0, urgentPointer: 0, options: NO_TCP_OPTIONS, payloadLength: 0,
 * };
 * ```
 */
export type TcpEmitRepr = Omit<TcpRepr, "headerLength" | "payloadOffset">;

/**
 * Read and write a TCP header in place. No bounds checks: parse first.
 *
 * @example
 * ```ts
 * import { TcpFlags, TcpView } from "./tcp.ts";
 * const v = new TcpView(new Uint8Array(20), 0);
 * v.flags = TcpFlags.SYN;
 * v.headerLength = 20;
 * v.fillChecksum({ src: 0xc0000201, dst: 0xc0000202 }, 20);
 * v.verifyChecksum({ src: 0xc0000201, dst: 0xc0000202 }, 20); // true
 * ```
 */
export class TcpView {
  /**
   * A view of the header at `offset` in `u8`.
   *
   * @param u8 the buffer
   * @param offset where the TCP header starts
   */
  constructor(public u8: Uint8Array, public offset = 0) {}

  /** Point the view at another header in the same buffer. */
  at(offset: number): this {
    this.offset = offset;
    return this;
  }
  /** Source port. */
  get srcPort(): number {
    return get16(this.u8, this.offset + TcpField.SRC_PORT);
  }
  set srcPort(v: number) {
    set16(this.u8, this.offset + TcpField.SRC_PORT, v);
  }
  /** Destination port. */
  get dstPort(): number {
    return get16(this.u8, this.offset + TcpField.DST_PORT);
  }
  set dstPort(v: number) {
    set16(this.u8, this.offset + TcpField.DST_PORT, v);
  }
  /** Sequence number. */
  get seq(): number {
    return get32(this.u8, this.offset + TcpField.SEQ);
  }
  set seq(v: number) {
    set32(this.u8, this.offset + TcpField.SEQ, v);
  }
  /** Acknowledgment number. */
  get ack(): number {
    return get32(this.u8, this.offset + TcpField.ACK);
  }
  set ack(v: number) {
    set32(this.u8, this.offset + TcpField.ACK, v);
  }
  /** Header length in bytes (data offset × 4); setting it clears the reserved bits. */
  get headerLength(): number {
    return (this.u8[this.offset + TcpField.DATA_OFFSET]! >> 4) * 4;
  }
  set headerLength(bytes: number) {
    this.u8[this.offset + TcpField.DATA_OFFSET] = ((bytes >>> 2) & 15) << 4;
  }
  /** Flag bits. */
  get flags(): number {
    return this.u8[this.offset + TcpField.FLAGS]!;
  }
  set flags(v: number) {
    this.u8[this.offset + TcpField.FLAGS] = v;
  }
  /** Window field (unscaled). */
  get window(): number {
    return get16(this.u8, this.offset + TcpField.WINDOW);
  }
  set window(v: number) {
    set16(this.u8, this.offset + TcpField.WINDOW, v);
  }
  /** Checksum field. */
  get checksum(): number {
    return get16(this.u8, this.offset + TcpField.CHECKSUM);
  }
  set checksum(v: number) {
    set16(this.u8, this.offset + TcpField.CHECKSUM, v);
  }
  /** Urgent pointer. */
  get urgentPointer(): number {
    return get16(this.u8, this.offset + TcpField.URGENT_POINTER);
  }
  set urgentPointer(v: number) {
    set16(this.u8, this.offset + TcpField.URGENT_POINTER, v);
  }
  /** Recompute the checksum over `segmentLength` bytes (header + data). */
  fillChecksum(ip: Ipv4PseudoHeader, segmentLength: number): void {
    set16(this.u8, this.offset + TcpField.CHECKSUM, 0);
    const sum = checksum(this.u8, this.offset, segmentLength, tcpPseudoSum(ip, segmentLength));
    set16(this.u8, this.offset + TcpField.CHECKSUM, finishChecksum(sum));
  }
  /** True when the checksum over `segmentLength` bytes verifies. */
  verifyChecksum(ip: Ipv4PseudoHeader, segmentLength: number): boolean {
    return checksum(this.u8, this.offset, segmentLength, tcpPseudoSum(ip, segmentLength)) ===
      0xffff;
  }
}

function tcpPseudoSum(ip: Ipv4PseudoHeader, segmentLength: number): number {
  // RFC 9293 §3.1: src, dst, zero, PTCL = 6, TCP length (header + data).
  return ipv4PseudoSum(ip.src, ip.dst, IpProtocol.TCP, segmentLength);
}

/**
 * Parse a TCP segment from `u8[offset, offset+length)`, where `length` is the
 * IP payload length; `ip` supplies the pseudo-header addresses (an
 * `Ipv4Repr` will do). Never throws on content; `RangeError` only for a
 * range outside `u8`.
 *
 * @example
 * ```ts
 * import { emitTcp, parseTcp, TcpFlags } from "./tcp.ts";
 * import { NO_TCP_OPTIONS } from "./tcp_options.ts";
 * const ip = { src: 0xc0000201, dst: 0xc0000202 };
 * const b = new Uint8Array(24);
 * emitTcp({ srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TcpFlags.SYN, window: 64240,
 *   urgentPointer: 0, options: { ...NO_TCP_OPTIONS, mss: 1460 }, payloadLength: 0 }, b, 0, ip);
 * const r = parseTcp(b, 0, b.length, ip);
 * typeof r !== "string" && r.options.mss; // 1460
 * ```
 */
export function parseTcp(
  u8: Uint8Array,
  offset: number,
  length: number,
  ip: Ipv4PseudoHeader,
  options?: ParseOptions,
): TcpRepr | TcpDropReason {
  const s = new TcpParseScratch();
  const r = parseTcpInto(u8, offset, length, ip, s, options);
  if (r !== null) return r;
  const o = s.repr.options;
  const own = o.mss === null && o.windowScale === null && !o.sackPermitted && o.tsVal === null &&
      o.sackBlocks === null
    ? NO_TCP_OPTIONS
    : { ...o, sackBlocks: o.sackBlocks === null ? null : [...o.sackBlocks] };
  return { ...s.repr, options: own };
}

/** A {@link TcpRepr} whose fields a parser may fill. */
export type MutableTcpRepr = { -readonly [K in keyof TcpRepr]: TcpRepr[K] };

/**
 * The reusable records {@link parseTcpInto} fills: the header and its
 * options (the receive path keeps one per stack; no allocation per segment).
 *
 * @example
 * ```ts
 * import { TcpParseScratch } from "./tcp.ts";
 * const s = new TcpParseScratch();
 * s.repr.options === s.opts.options; // true
 * ```
 */
export class TcpParseScratch {
  /** Options (and SACK-block arrays). */
  readonly opts: TcpOptionsScratch = new TcpOptionsScratch();
  /** The header; `repr.options` is `opts.options`. */
  readonly repr: MutableTcpRepr = {
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    urgentPointer: 0,
    options: this.opts.options,
    headerLength: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/**
 * {@link parseTcp} into `scratch.repr`: same checks (MUST-3 checksum, MUST-7
 * options), no allocation. Returns the drop reason, or null when
 * `scratch.repr` holds the segment's header; it stays valid until the next
 * parse into the same scratch.
 *
 * @example
 * ```ts
 * import { parseTcpInto, TcpParseScratch } from "./tcp.ts";
 * const s = new TcpParseScratch();
 * parseTcpInto(new Uint8Array(8), 0, 8, { src: 1, dst: 2 }, s); // "tcp.truncated"
 * ```
 */
export function parseTcpInto(
  u8: Uint8Array,
  offset: number,
  length: number,
  ip: Ipv4PseudoHeader,
  scratch: TcpParseScratch,
  options?: ParseOptions,
): TcpDropReason | null {
  checkRange(u8, offset, length, "parseTcp");
  if (length < TCP_HEADER_LENGTH) return "tcp.truncated";
  const headerLength = (u8[offset + TcpField.DATA_OFFSET]! >> 4) * 4;
  if (headerLength < TCP_HEADER_LENGTH || headerLength > length) return "tcp.bad_data_offset";
  // MUST-3: verify over pseudo-header + the whole segment before trusting any of it.
  if (
    options?.verifyChecksum !== false &&
    checksum(u8, offset, length, tcpPseudoSum(ip, length)) !== 0xffff
  ) {
    return "tcp.bad_checksum";
  }
  const r = parseTcpOptionsInto(
    u8,
    offset + TCP_HEADER_LENGTH,
    headerLength - TCP_HEADER_LENGTH,
    scratch.opts,
  );
  if (r !== null) return r;
  const out = scratch.repr;
  out.srcPort = get16(u8, offset + TcpField.SRC_PORT);
  out.dstPort = get16(u8, offset + TcpField.DST_PORT);
  out.seq = get32(u8, offset + TcpField.SEQ);
  out.ack = get32(u8, offset + TcpField.ACK);
  out.flags = u8[offset + TcpField.FLAGS]!;
  out.window = get16(u8, offset + TcpField.WINDOW);
  out.urgentPointer = get16(u8, offset + TcpField.URGENT_POINTER);
  out.headerLength = headerLength;
  out.payloadOffset = offset + headerLength;
  out.payloadLength = length - headerLength;
  return null;
}

/**
 * Header length {@link emitTcp} will write for `options` (20 + options), so
 * a caller can reserve headroom.
 *
 * @example
 * ```ts
 * import { tcpHeaderLength } from "./tcp.ts";
 * import { NO_TCP_OPTIONS } from "./tcp_options.ts";
 * tcpHeaderLength({ ...NO_TCP_OPTIONS, tsVal: 1 }); // 32
 * ```
 */
export function tcpHeaderLength(options: TcpOptions): number {
  return TCP_HEADER_LENGTH + tcpOptionsLength(options);
}

/**
 * Write a TCP header with options at `offset` and, unless `options.checksum`
 * is false, the checksum over pseudo-header, header and the `payloadLength`
 * data bytes that must already follow the header. Returns the header length.
 * Trusts `repr` (e.g. MUST-65, no MSS off SYN, is the caller's); throws
 * `RangeError` if the options exceed 40 bytes or the segment does not fit in
 * `u8` (caller bugs).
 *
 * @example
 * ```ts
 * import { emitTcp, TcpFlags } from "./tcp.ts";
 * import { NO_TCP_OPTIONS } from "./tcp_options.ts";
 * const b = new Uint8Array(20);
 * emitTcp({ srcPort: 80, dstPort: 40000, seq: 0, ack: 1, flags: TcpFlags.RST | TcpFlags.ACK,
 *   window: 0, urgentPointer: 0, options: NO_TCP_OPTIONS, payloadLength: 0 },
 *   b, 0, { src: 0xc0000202, dst: 0xc0000201 }); // 20
 * ```
 */
export function emitTcp(
  repr: TcpEmitRepr,
  u8: Uint8Array,
  offset: number,
  ip: Ipv4PseudoHeader,
  options?: EmitOptions,
): number {
  const optLen = tcpOptionsLength(repr.options);
  if (optLen > TCP_MAX_OPTIONS_LENGTH) {
    throw new RangeError(`emitTcp: ${optLen} bytes of options exceed the 40-byte maximum`);
  }
  const headerLength = TCP_HEADER_LENGTH + optLen;
  const segmentLength = headerLength + repr.payloadLength;
  checkRange(u8, offset, segmentLength, "emitTcp");
  set16(u8, offset + TcpField.SRC_PORT, repr.srcPort);
  set16(u8, offset + TcpField.DST_PORT, repr.dstPort);
  set32(u8, offset + TcpField.SEQ, repr.seq);
  set32(u8, offset + TcpField.ACK, repr.ack);
  u8[offset + TcpField.DATA_OFFSET] = (headerLength >>> 2) << 4; // data offset; reserved bits zero
  u8[offset + TcpField.FLAGS] = repr.flags;
  set16(u8, offset + TcpField.WINDOW, repr.window);
  set16(u8, offset + TcpField.CHECKSUM, 0);
  set16(u8, offset + TcpField.URGENT_POINTER, repr.urgentPointer);
  if (optLen > 0) emitTcpOptions(repr.options, u8, offset + TCP_HEADER_LENGTH);
  if (options?.checksum !== false) {
    // MUST-2: the sender computes the checksum over pseudo-header, header and data.
    const sum = checksum(u8, offset, segmentLength, tcpPseudoSum(ip, segmentLength));
    set16(u8, offset + TcpField.CHECKSUM, finishChecksum(sum));
  }
  return headerLength;
}
