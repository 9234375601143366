/**
 * ICMPv6 (RFC 4443): the message layout every type shares, echo, the four
 * error messages, and the quote an error carries. Neighbour discovery
 * (`ndp.ts`) and MLD (`mld.ts`) build on this.
 *
 * Every message is type(1) code(1) checksum(2) then a body; the checksum is
 * mandatory and covers the IPv6 pseudo-header (RFC 4443 §2.3), so parsing
 * takes the pseudo-header sum (`ipv6PseudoSum` in `wasm/checksum.ts`).
 * Types are not filtered here: RFC 4443 §2.4 (a)/(b) says what to do with
 * unknown errors (pass up) and unknown informational messages (discard), and
 * that is the ICMPv6 layer's decision.
 *
 * An error's quote is "as much of the invoking packet as possible without the
 * ICMPv6 packet exceeding the minimum IPv6 MTU" (§2.4 (c)); to use it, the
 * receiver walks its extension headers to the upper-layer header
 * ({@link parseIcmpv6Quote}), bounded and tolerant of truncation.
 *
 * @module
 */
import { checksum, finishChecksum } from "../wasm/checksum.ts";
import { checkRange, get16, get32, type ParseOptions, set16, set32 } from "./bytes.ts";
import { IPV6_HEADER_LENGTH, NextHeader } from "./ipv6.ts";
import { IPV6_MAX_EXT_HEADERS, isExtensionHeader } from "./ipv6_ext.ts";

/**
 * Bytes before an ICMPv6 message's data (type, code, checksum and the 4-byte
 * field that follows: id/seq, MTU, pointer or unused).
 *
 * @example
 * ```ts
 * import { ICMPV6_HEADER_LENGTH } from "./icmpv6.ts";
 * ICMPV6_HEADER_LENGTH; // 8
 * ```
 */
export const ICMPV6_HEADER_LENGTH = 8;

/**
 * Most bytes an ICMPv6 error packet may have (RFC 4443 §2.4 (c): the minimum MTU).
 *
 * @example
 * ```ts
 * import { ICMPV6_ERROR_MAX } from "./icmpv6.ts";
 * ICMPV6_ERROR_MAX; // 1280
 * ```
 */
export const ICMPV6_ERROR_MAX = 1280;

/**
 * ICMPv6 message types (RFC 4443, RFC 4861, RFC 3810).
 *
 * @example
 * ```ts
 * import { Icmpv6Type } from "./icmpv6.ts";
 * Icmpv6Type.ECHO_REQUEST; // 128
 * ```
 */
export const Icmpv6Type = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  MLD_QUERY: 130,
  MLD_REPORT: 131,
  MLD_DONE: 132,
  ROUTER_SOLICIT: 133,
  ROUTER_ADVERT: 134,
  NEIGHBOR_SOLICIT: 135,
  NEIGHBOR_ADVERT: 136,
  REDIRECT: 137,
  MLDV2_REPORT: 143,
} as const;

/**
 * Destination Unreachable codes (RFC 4443 §3.1).
 *
 * @example
 * ```ts
 * import { Icmpv6UnreachableCode } from "./icmpv6.ts";
 * Icmpv6UnreachableCode.PORT; // 4
 * ```
 */
export const Icmpv6UnreachableCode = {
  NO_ROUTE: 0,
  ADMIN_PROHIBITED: 1,
  BEYOND_SCOPE: 2,
  ADDRESS: 3,
  PORT: 4,
  SOURCE_POLICY: 5,
  REJECT_ROUTE: 6,
} as const;

/**
 * Time Exceeded codes (RFC 4443 §3.3).
 *
 * @example
 * ```ts
 * import { Icmpv6TimeExceededCode } from "./icmpv6.ts";
 * Icmpv6TimeExceededCode.REASSEMBLY; // 1
 * ```
 */
export const Icmpv6TimeExceededCode = {
  HOP_LIMIT: 0,
  REASSEMBLY: 1,
} as const;

/**
 * Every reason {@link parseIcmpv6} and {@link parseIcmpv6Quote} can drop a message for.
 *
 * @example
 * ```ts
 * import { ICMPV6_DROP_REASONS } from "./icmpv6.ts";
 * ICMPV6_DROP_REASONS.includes("icmpv6.bad_checksum"); // true
 * ```
 */
export const ICMPV6_DROP_REASONS = [
  /** Fewer than 8 bytes. */
  "icmpv6.truncated",
  /** Checksum wrong (RFC 4443 §2.3). */
  "icmpv6.bad_checksum",
  /** An error whose quote holds no IPv6 header and 8 bytes of its upper layer. */
  "icmpv6.bad_quote",
] as const;
/**
 * One of {@link ICMPV6_DROP_REASONS}.
 *
 * @example
 * ```ts
 * import type { Icmpv6DropReason } from "./icmpv6.ts";
 * const why: Icmpv6DropReason = "icmpv6.truncated";
 * ```
 */
export type Icmpv6DropReason = typeof ICMPV6_DROP_REASONS[number];

/**
 * A parsed ICMPv6 message: the common header and the 32-bit word after it,
 * read the way each type uses it.
 *
 * @example
 * ```ts
 * import type { Icmpv6Repr } from "./icmpv6.ts";
 * const isEcho = (m: Icmpv6Repr) => m.type === 128 && m.code === 0;
 * ```
 */
export interface Icmpv6Repr {
  /** Message type (RFC 4443 §2.1): errors 1–127, informational 128–255 (see `Icmpv6Type`). */
  readonly type: number;
  /** Code: the type's sub-reason (e.g. Destination Unreachable code 4 = port unreachable). */
  readonly code: number;
  /** The 32-bit word at offset 4: MTU (Packet Too Big), pointer (Parameter Problem), … */
  readonly word: number;
  /** Echo identifier (high half of `word`). */
  readonly id: number;
  /** Echo sequence number (low half of `word`). */
  readonly seq: number;
  /** Where the message starts. */
  readonly offset: number;
  /** Its length. */
  readonly length: number;
  /** Start of the data after the 8-byte header (echo data, the quote, NDP fields). */
  readonly payloadOffset: number;
  /** Bytes of data. */
  readonly payloadLength: number;
}

/**
 * Parse an ICMPv6 message at `u8[offset, offset+length)` (`length` is the
 * upper-layer length), verifying its checksum against `pseudoSum` (the
 * pseudo-header's sum for this length and next header 58). Never throws on
 * content.
 *
 * @example
 * ```ts
 * import { emitIcmpv6Echo, Icmpv6Type, parseIcmpv6 } from "./icmpv6.ts";
 * const b = new Uint8Array(8);
 * emitIcmpv6Echo({ type: Icmpv6Type.ECHO_REQUEST, id: 1, seq: 2, payloadLength: 0 }, b, 0, 0x1234);
 * const r = parseIcmpv6(b, 0, 8, 0x1234);
 * typeof r !== "string" && r.seq; // 2
 * ```
 */
export function parseIcmpv6(
  u8: Uint8Array,
  offset: number,
  length: number,
  pseudoSum: number,
  options?: ParseOptions,
): Icmpv6Repr | Icmpv6DropReason {
  checkRange(u8, offset, length, "parseIcmpv6");
  if (length < ICMPV6_HEADER_LENGTH) return "icmpv6.truncated";
  if (options?.verifyChecksum !== false && checksum(u8, offset, length, pseudoSum) !== 0xffff) {
    return "icmpv6.bad_checksum";
  }
  const word = get32(u8, offset + 4);
  return {
    type: u8[offset]!,
    code: u8[offset + 1]!,
    word,
    id: word >>> 16,
    seq: word & 0xffff,
    offset,
    length,
    payloadOffset: offset + ICMPV6_HEADER_LENGTH,
    payloadLength: length - ICMPV6_HEADER_LENGTH,
  };
}

/**
 * Compute and store the checksum of the ICMPv6 message at
 * `u8[offset, offset+length)` whose body is already written.
 *
 * @example
 * ```ts
 * import { fillIcmpv6Checksum } from "./icmpv6.ts";
 * const m = new Uint8Array([128, 0, 0, 0, 0, 1, 0, 1]);
 * fillIcmpv6Checksum(m, 0, 8, 0); // m[2..4) now hold the checksum
 * ```
 */
export function fillIcmpv6Checksum(
  u8: Uint8Array,
  offset: number,
  length: number,
  pseudoSum: number,
): void {
  set16(u8, offset + 2, 0);
  set16(u8, offset + 2, finishChecksum(checksum(u8, offset, length, pseudoSum)));
}

/**
 * What {@link emitIcmpv6Echo} writes; the data must already follow the header.
 *
 * @example
 * ```ts
 * import type { Icmpv6EchoEmitRepr } from "./icmpv6.ts";
 * const e: Icmpv6EchoEmitRepr = { type: 129, id: 7, seq: 1, payloadLength: 56 };
 * ```
 */
export interface Icmpv6EchoEmitRepr {
  /** 128 request or 129 reply. */
  readonly type: number;
  /** Echo identifier (RFC 4443 §4.1), written at offset 4. */
  readonly id: number;
  /** Echo sequence number, written at offset 6. */
  readonly seq: number;
  /** Bytes of echo data already placed after the 8-byte header (covered by the checksum). */
  readonly payloadLength: number;
}

/**
 * Write an echo request/reply header (RFC 4443 §4) and its checksum; returns 8.
 *
 * @example
 * ```ts
 * import { emitIcmpv6Echo } from "./icmpv6.ts";
 * emitIcmpv6Echo({ type: 128, id: 1, seq: 1, payloadLength: 0 }, new Uint8Array(8), 0, 0); // 8
 * ```
 */
export function emitIcmpv6Echo(
  repr: Icmpv6EchoEmitRepr,
  u8: Uint8Array,
  offset: number,
  pseudoSum: number,
): number {
  const len = ICMPV6_HEADER_LENGTH + repr.payloadLength;
  checkRange(u8, offset, len, "emitIcmpv6Echo");
  u8[offset] = repr.type;
  u8[offset + 1] = 0;
  set16(u8, offset + 4, repr.id);
  set16(u8, offset + 6, repr.seq);
  fillIcmpv6Checksum(u8, offset, len, pseudoSum);
  return ICMPV6_HEADER_LENGTH;
}

/**
 * Write an error message header (types 1–4: Destination Unreachable, Packet
 * Too Big with the MTU, Time Exceeded, Parameter Problem with the pointer) in
 * front of `quoteLength` quoted bytes that already follow it, and its
 * checksum; returns 8.
 *
 * @example
 * ```ts
 * import { emitIcmpv6Error, Icmpv6Type } from "./icmpv6.ts";
 * const b = new Uint8Array(48);
 * emitIcmpv6Error(Icmpv6Type.PACKET_TOO_BIG, 0, 1280, 40, b, 0, 0); // 8
 * ```
 */
export function emitIcmpv6Error(
  type: number,
  code: number,
  word: number,
  quoteLength: number,
  u8: Uint8Array,
  offset: number,
  pseudoSum: number,
): number {
  const len = ICMPV6_HEADER_LENGTH + quoteLength;
  checkRange(u8, offset, len, "emitIcmpv6Error");
  u8[offset] = type;
  u8[offset + 1] = code;
  set32(u8, offset + 4, word);
  fillIcmpv6Checksum(u8, offset, len, pseudoSum);
  return ICMPV6_HEADER_LENGTH;
}

/**
 * The packet an ICMPv6 error quotes, walked to its upper-layer header.
 *
 * @example
 * ```ts
 * import type { Icmpv6QuoteRepr } from "./icmpv6.ts";
 * const ports = (q: Icmpv6QuoteRepr, u8: Uint8Array) =>
 *   q.fragmentOffset === 0 && q.transportLength >= 4 ? [u8[q.transportOffset]] : null;
 * ```
 */
export interface Icmpv6QuoteRepr {
  /** Where the quoted packet's source address (normally one of ours) is. */
  readonly srcOffset: number;
  /** Where the quoted packet's destination address is. */
  readonly dstOffset: number;
  /** The upper-layer protocol (or the header where the walk had to stop). */
  readonly nextHeader: number;
  /** Offset of the upper-layer header inside the quote. */
  readonly transportOffset: number;
  /** Bytes of the upper-layer header and data that the quote holds (may be truncated). */
  readonly transportLength: number;
  /** Non-zero when the quote is a non-first fragment: its bytes are not a header. */
  readonly fragmentOffset: number;
}

/**
 * Parse the quote of an error message (`u8[offset, offset+length)`, the data
 * after the 8-byte ICMPv6 header): an IPv6 header (version 6), then its
 * extension headers as far as the quote goes, to the upper-layer header, of
 * which at least 8 bytes (the ports) must be present unless the quote is a
 * non-first fragment. Never throws on content.
 *
 * @example
 * ```ts
 * import { parseIcmpv6Quote } from "./icmpv6.ts";
 * const q = new Uint8Array(48);
 * q[0] = 0x60; q[6] = 17; // IPv6, next header UDP
 * const r = parseIcmpv6Quote(q, 0, 48);
 * typeof r !== "string" && r.transportOffset; // 40
 * ```
 */
export function parseIcmpv6Quote(
  u8: Uint8Array,
  offset: number,
  length: number,
): Icmpv6QuoteRepr | Icmpv6DropReason {
  checkRange(u8, offset, length, "parseIcmpv6Quote");
  if (length < IPV6_HEADER_LENGTH + 8 || u8[offset]! >> 4 !== 6) return "icmpv6.bad_quote";
  const end = offset + length;
  let nh = u8[offset + 6]!;
  let p = offset + IPV6_HEADER_LENGTH;
  let fragmentOffset = 0;
  for (let n = 0; isExtensionHeader(nh); n++) {
    if (n >= IPV6_MAX_EXT_HEADERS || end - p < 8) return "icmpv6.bad_quote";
    if (nh === NextHeader.FRAGMENT) {
      fragmentOffset = get16(u8, p + 2) & 0xfff8;
      nh = u8[p]!;
      p += 8;
      if (fragmentOffset !== 0) break;
      continue;
    }
    const len = (u8[p + 1]! + 1) * 8;
    nh = u8[p]!;
    p += len;
    if (p > end) return "icmpv6.bad_quote";
  }
  if (fragmentOffset === 0 && end - p < 8) return "icmpv6.bad_quote";
  return {
    srcOffset: offset + 8,
    dstOffset: offset + 24,
    nextHeader: nh,
    transportOffset: p,
    transportLength: end - p,
    fragmentOffset,
  };
}

/**
 * The original packet's payload length field as quoted (for Packet Too Big
 * handling that wants the size of what was sent).
 *
 * @example
 * ```ts
 * import { quotedPayloadLength } from "./icmpv6.ts";
 * quotedPayloadLength(new Uint8Array(40), 0); // 0
 * ```
 */
export function quotedPayloadLength(u8: Uint8Array, quoteOffset: number): number {
  return get16(u8, quoteOffset + 4);
}
