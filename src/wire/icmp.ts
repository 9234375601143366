/**
 * ICMPv4 (RFC 792) messages a host handles, with the host rules of
 * RFC 1122 §3.2.2 and Path MTU Discovery's next-hop MTU (RFC 1191 §4).
 *
 * Every message is type(1) code(1) checksum(2) rest-of-header(4) data; the
 * checksum covers the whole message. For the error messages the data is the
 * quoted offending datagram, which RFC 1122 §3.2.2 (C3) requires to be the
 * IP header plus at least 8 octets: enough for the transport ports. A quote
 * shorter than that is dropped (Linux `icmp_socket_deliver` does the same),
 * so the transport can read its ports without further checks.
 *
 * Types other than echo, destination unreachable, source quench, redirect,
 * time exceeded and parameter problem are dropped as `icmp.unsupported_type`
 * (C1: silently discard unknown types; timestamp and address-mask messages
 * are obsolete for hosts). Source quench is parsed only so it can be counted
 * and ignored (C6, RFC 6633).
 *
 * @module
 */
import { checksum, finishChecksum } from "../wasm/checksum.ts";
import type { Ipv4Address } from "./addr.ts";
import { checkRange, get16, get32, type ParseOptions, set16, set32 } from "./bytes.ts";

/**
 * ICMP header length: type, code, checksum, rest of header.
 *
 * @example
 * ```ts
 * import { ICMP_HEADER_LENGTH } from "./icmp.ts";
 * ICMP_HEADER_LENGTH; // 8
 * ```
 */
export const ICMP_HEADER_LENGTH = 8;

/**
 * ICMP message types handled here (RFC 792).
 *
 * @example
 * ```ts
 * import { IcmpType } from "./icmp.ts";
 * IcmpType.ECHO_REQUEST; // 8
 * ```
 */
export const IcmpType = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  /** Deprecated (RFC 6633): parse, count, ignore. */
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
} as const;

/**
 * True for the ICMP error types, whose body quotes the datagram that caused
 * them (RFC 792; RFC 1122 §3.2.2): destination unreachable, source quench,
 * redirect, time exceeded, parameter problem.
 *
 * @example
 * ```ts
 * import { IcmpType, isIcmpErrorType } from "./icmp.ts";
 * isIcmpErrorType(IcmpType.TIME_EXCEEDED); // true
 * isIcmpErrorType(IcmpType.ECHO_REPLY); // false
 * ```
 */
export function isIcmpErrorType(type: number): boolean {
  return type === IcmpType.DEST_UNREACHABLE || type === IcmpType.SOURCE_QUENCH ||
    type === IcmpType.REDIRECT || type === IcmpType.TIME_EXCEEDED ||
    type === IcmpType.PARAMETER_PROBLEM;
}

/**
 * Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
 * PROTOCOL and PORT are hard errors for the transport, the rest soft (C4).
 *
 * @example
 * ```ts
 * import { IcmpUnreachableCode } from "./icmp.ts";
 * IcmpUnreachableCode.FRAG_NEEDED; // 4, carries the next-hop MTU (RFC 1191)
 * ```
 */
export const IcmpUnreachableCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  /** Fragmentation needed and DF set; the next-hop MTU is in the header (RFC 1191 §4). */
  FRAG_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
  NET_UNKNOWN: 6,
  HOST_UNKNOWN: 7,
  SOURCE_HOST_ISOLATED: 8,
  NET_PROHIBITED: 9,
  HOST_PROHIBITED: 10,
  NET_TOS: 11,
  HOST_TOS: 12,
  ADMIN_PROHIBITED: 13,
  HOST_PRECEDENCE_VIOLATION: 14,
  PRECEDENCE_CUTOFF: 15,
} as const;

/**
 * Time exceeded codes (RFC 792).
 *
 * @example
 * ```ts
 * import { IcmpTimeExceededCode } from "./icmp.ts";
 * IcmpTimeExceededCode.REASSEMBLY; // 1, sent on reassembly timeout (RFC 1122 §3.3.2)
 * ```
 */
export const IcmpTimeExceededCode = {
  TTL: 0,
  REASSEMBLY: 1,
} as const;

/**
 * Redirect codes (RFC 792).
 *
 * @example
 * ```ts
 * import { IcmpRedirectCode } from "./icmp.ts";
 * IcmpRedirectCode.HOST; // 1
 * ```
 */
export const IcmpRedirectCode = {
  NET: 0,
  HOST: 1,
  TOS_NET: 2,
  TOS_HOST: 3,
} as const;

/**
 * Parameter problem codes (RFC 792, RFC 1122 §3.2.2.5, RFC 1812 §5.2.7.3).
 *
 * @example
 * ```ts
 * import { IcmpParameterProblemCode } from "./icmp.ts";
 * IcmpParameterProblemCode.POINTER; // 0, `pointer` locates the bad octet
 * ```
 */
export const IcmpParameterProblemCode = {
  POINTER: 0,
  MISSING_OPTION: 1,
  BAD_LENGTH: 2,
} as const;

/**
 * Every reason {@link parseIcmp} (and {@link parseIcmpQuote}) can drop a message for.
 *
 * @example
 * ```ts
 * import { ICMP_DROP_REASONS } from "./icmp.ts";
 * ICMP_DROP_REASONS.includes("icmp.bad_quote"); // true
 * ```
 */
export const ICMP_DROP_REASONS = [
  /** Fewer than 8 bytes. */
  "icmp.truncated",
  /** Checksum over the message wrong. */
  "icmp.bad_checksum",
  /** A type this host does not handle (C1: discard silently). */
  "icmp.unsupported_type",
  /** An error message whose quote is not an IPv4 header plus 8 octets (C3). */
  "icmp.bad_quote",
] as const;
/**
 * Why {@link parseIcmp} dropped a message.
 *
 * @example
 * ```ts
 * import type { IcmpDropReason } from "./icmp.ts";
 * const why: IcmpDropReason = "icmp.bad_quote";
 * ```
 */
export type IcmpDropReason = typeof ICMP_DROP_REASONS[number];

/**
 * Fields every ICMP Repr has.
 *
 * @example
 * ```ts
 * import type { IcmpCommon } from "./icmp.ts";
 * const dataEnd = (r: IcmpCommon) => r.payloadOffset + r.payloadLength;
 * ```
 */
export interface IcmpCommon {
  /** Code (not validated: unknown codes are the consumer's soft errors). */
  readonly code: number;
  /** Start of the data after the 8-byte header (echo data, or the quote). */
  readonly payloadOffset: number;
  /** Bytes of data. */
  readonly payloadLength: number;
}

/**
 * Echo request or reply (RFC 792; C5: the reply echoes id, seq and data).
 *
 * @example
 * ```ts
 * import { type IcmpEchoRepr, IcmpType } from "./icmp.ts";
 * const ping: Omit<IcmpEchoRepr, "payloadOffset"> = {
 *   type: IcmpType.ECHO_REQUEST, code: 0, id: 1, seq: 1, payloadLength: 0,
 * };
 * ```
 */
export interface IcmpEchoRepr extends IcmpCommon {
  /** 8 = request, 0 = reply. */
  readonly type: typeof IcmpType.ECHO_REQUEST | typeof IcmpType.ECHO_REPLY;
  /** Identifier. */
  readonly id: number;
  /** Sequence number. */
  readonly seq: number;
}

/**
 * Destination unreachable; the payload is the quote.
 *
 * @example
 * ```ts
 * import { type IcmpDestUnreachableRepr } from "./icmp.ts";
 * const fragNeeded: Omit<IcmpDestUnreachableRepr, "payloadOffset"> = {
 *   type: 3, code: 4, nextHopMtu: 1280, payloadLength: 28,
 * };
 * ```
 */
export interface IcmpDestUnreachableRepr extends IcmpCommon {
  /** 3. */
  readonly type: typeof IcmpType.DEST_UNREACHABLE;
  /**
   * Next-hop MTU, the low 16 bits of the rest of the header (RFC 1191 §4).
   * Meaningful with code FRAG_NEEDED; 0 from pre-RFC 1191 routers.
   */
  readonly nextHopMtu: number;
}

/**
 * Source quench (deprecated, RFC 6633); the payload is the quote.
 *
 * @example
 * ```ts
 * import { type IcmpSourceQuenchRepr } from "./icmp.ts";
 * const q: Omit<IcmpSourceQuenchRepr, "payloadOffset"> = { type: 4, code: 0, payloadLength: 28 };
 * ```
 */
export interface IcmpSourceQuenchRepr extends IcmpCommon {
  /** 4. */
  readonly type: typeof IcmpType.SOURCE_QUENCH;
}

/**
 * Redirect (C7: honour only from the current first hop); the payload is the quote.
 *
 * @example
 * ```ts
 * import { type IcmpRedirectRepr } from "./icmp.ts";
 * const r: Omit<IcmpRedirectRepr, "payloadOffset"> = {
 *   type: 5, code: 1, gateway: 0xc0000203, payloadLength: 28,
 * };
 * ```
 */
export interface IcmpRedirectRepr extends IcmpCommon {
  /** 5. */
  readonly type: typeof IcmpType.REDIRECT;
  /** The gateway to use instead. */
  readonly gateway: Ipv4Address;
}

/**
 * Time exceeded; the payload is the quote.
 *
 * @example
 * ```ts
 * import { type IcmpTimeExceededRepr } from "./icmp.ts";
 * const t: Omit<IcmpTimeExceededRepr, "payloadOffset"> = { type: 11, code: 0, payloadLength: 28 };
 * ```
 */
export interface IcmpTimeExceededRepr extends IcmpCommon {
  /** 11. */
  readonly type: typeof IcmpType.TIME_EXCEEDED;
}

/**
 * Parameter problem; the payload is the quote.
 *
 * @example
 * ```ts
 * import { type IcmpParameterProblemRepr } from "./icmp.ts";
 * const p: Omit<IcmpParameterProblemRepr, "payloadOffset"> = {
 *   type: 12, code: 0, pointer: 9, payloadLength: 28,
 * };
 * ```
 */
export interface IcmpParameterProblemRepr extends IcmpCommon {
  /** 12. */
  readonly type: typeof IcmpType.PARAMETER_PROBLEM;
  /** Octet of the quoted header that is wrong (code 0). */
  readonly pointer: number;
}

/**
 * A parsed ICMP message: switch on `type`.
 *
 * @example
 * ```ts
 * import { IcmpType, parseIcmp } from "./icmp.ts";
 * const r = parseIcmp(new Uint8Array([8, 0, 0xf7, 0xfe, 0, 1, 0, 0]), 0, 8);
 * if (typeof r !== "string" && r.type === IcmpType.ECHO_REQUEST) r.id; // 1
 * ```
 */
export type IcmpRepr =
  | IcmpEchoRepr
  | IcmpDestUnreachableRepr
  | IcmpSourceQuenchRepr
  | IcmpRedirectRepr
  | IcmpTimeExceededRepr
  | IcmpParameterProblemRepr;

/**
 * `Omit` applied to each member of a union (plain `Omit` would merge them).
 *
 * @example
 * ```ts
 * import type { IcmpRepr, OmitEach } from "./icmp.ts";
 * type NoType = OmitEach<IcmpRepr, "code">;
 * ```
 */
export type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * What {@link emitIcmp} needs: a Repr without `payloadOffset` (the data must
 * already sit right after the 8-byte header).
 *
 * @example
 * ```ts
 * import { type IcmpEmitRepr, IcmpType } from "./icmp.ts";
 * const m: IcmpEmitRepr = { type: IcmpType.ECHO_REPLY, code: 0, id: 7, seq: 1, payloadLength: 56 };
 * ```
 */
export type IcmpEmitRepr = OmitEach<IcmpRepr, "payloadOffset">;

/**
 * The part of a quoted datagram the stack needs to find the socket an ICMP
 * error is about.
 *
 * @example
 * ```ts
 * import { type IcmpQuoteRepr, parseIcmpQuote } from "./icmp.ts";
 * const q = parseIcmpQuote(new Uint8Array(28).fill(0x45, 0, 1), 0, 28);
 * if (typeof q !== "string") { const quote: IcmpQuoteRepr = q; quote.transportOffset; } // 20
 * ```
 */
export interface IcmpQuoteRepr {
  /** Original source (normally one of ours). */
  readonly src: Ipv4Address;
  /** Original destination. */
  readonly dst: Ipv4Address;
  /** Original protocol. */
  readonly protocol: number;
  /** Original identification. */
  readonly id: number;
  /** Original fragment offset in bytes (non-zero: the transport bytes are not a header). */
  readonly fragmentOffset: number;
  /** Original total length (the quote may be shorter; RFC 1191 §5 plateau search uses it). */
  readonly totalLength: number;
  /** Start of the quoted transport bytes. */
  readonly transportOffset: number;
  /** Quoted transport bytes present (≥ 8). */
  readonly transportLength: number;
}

/** Header length of a usable quote at `u8[off, off+len)`, or -1 (C3). */
function quoteHeaderLength(u8: Uint8Array, off: number, len: number): number {
  if (len < 28) return -1; // 20-byte header + 8 octets at the very least
  const vihl = u8[off]!;
  const ihl = (vihl & 15) * 4;
  // The quoted header's checksum and total length are not checked: routers
  // may have rewritten them (NAT, TTL) or cut the datagram short.
  if (vihl >> 4 !== 4 || ihl < 20 || ihl + 8 > len) return -1;
  return ihl;
}

/**
 * Parse the datagram quoted by an ICMP error (`repr.payloadOffset/Length`).
 * Never throws on content; `RangeError` only for a range outside `u8`.
 *
 * @example
 * ```ts
 * import { parseIcmpQuote } from "./icmp.ts";
 * const quote = new Uint8Array(28);
 * quote.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17], 0); // IPv4, UDP
 * const q = parseIcmpQuote(quote, 0, 28);
 * typeof q !== "string" && q.protocol; // 17
 * ```
 */
export function parseIcmpQuote(
  u8: Uint8Array,
  offset: number,
  length: number,
): IcmpQuoteRepr | "icmp.bad_quote" {
  checkRange(u8, offset, length, "parseIcmpQuote");
  const ihl = quoteHeaderLength(u8, offset, length);
  if (ihl < 0) return "icmp.bad_quote";
  return {
    src: get32(u8, offset + 12),
    dst: get32(u8, offset + 16),
    protocol: u8[offset + 9]!,
    id: get16(u8, offset + 4),
    fragmentOffset: (get16(u8, offset + 6) & 0x1fff) * 8,
    totalLength: get16(u8, offset + 2),
    transportOffset: offset + ihl,
    transportLength: length - ihl,
  };
}

/**
 * Parse an ICMP message from `u8[offset, offset+length)`, where `length` is
 * the IP payload length. Never throws on content; `RangeError` only for a
 * range outside `u8`.
 *
 * @example
 * ```ts
 * import { emitIcmp, IcmpType, parseIcmp } from "./icmp.ts";
 * const b = new Uint8Array(12);
 * b.set([1, 2, 3, 4], 8); // echo data
 * emitIcmp({ type: IcmpType.ECHO_REQUEST, code: 0, id: 9, seq: 3, payloadLength: 4 }, b, 0);
 * const r = parseIcmp(b, 0, b.length);
 * typeof r !== "string" && r.type === IcmpType.ECHO_REQUEST && r.seq; // 3
 * ```
 */
export function parseIcmp(
  u8: Uint8Array,
  offset: number,
  length: number,
  options?: ParseOptions,
): IcmpRepr | IcmpDropReason {
  checkRange(u8, offset, length, "parseIcmp");
  if (length < ICMP_HEADER_LENGTH) return "icmp.truncated";
  // RFC 792: the checksum covers the whole ICMP message.
  if (options?.verifyChecksum !== false && checksum(u8, offset, length) !== 0xffff) {
    return "icmp.bad_checksum";
  }
  const type = u8[offset]!;
  const code = u8[offset + 1]!;
  const payloadOffset = offset + ICMP_HEADER_LENGTH;
  const payloadLength = length - ICMP_HEADER_LENGTH;
  switch (type) {
    case IcmpType.ECHO_REQUEST:
    case IcmpType.ECHO_REPLY:
      return {
        type,
        code,
        id: get16(u8, offset + 4),
        seq: get16(u8, offset + 6),
        payloadOffset,
        payloadLength,
      };
    case IcmpType.DEST_UNREACHABLE:
    case IcmpType.SOURCE_QUENCH:
    case IcmpType.REDIRECT:
    case IcmpType.TIME_EXCEEDED:
    case IcmpType.PARAMETER_PROBLEM:
      break;
    default:
      return "icmp.unsupported_type";
  }
  // RFC 1122 §3.2.2 (C3): errors carry the IP header + at least 8 data octets.
  if (quoteHeaderLength(u8, payloadOffset, payloadLength) < 0) return "icmp.bad_quote";
  switch (type) {
    case IcmpType.DEST_UNREACHABLE:
      // RFC 1191 §4: unused(16) | next-hop MTU(16).
      return { type, code, nextHopMtu: get16(u8, offset + 6), payloadOffset, payloadLength };
    case IcmpType.REDIRECT:
      return { type, code, gateway: get32(u8, offset + 4), payloadOffset, payloadLength };
    case IcmpType.PARAMETER_PROBLEM:
      // RFC 792: pointer(8) | unused(24).
      return { type, code, pointer: u8[offset + 4]!, payloadOffset, payloadLength };
    case IcmpType.SOURCE_QUENCH:
    case IcmpType.TIME_EXCEEDED:
      return { type, code, payloadOffset, payloadLength };
    default:
      return "icmp.unsupported_type"; // unreachable: the first switch let only errors through
  }
}

/**
 * Write an ICMP header at `offset` and its checksum over the header and the
 * `payloadLength` data bytes that must already follow it. Returns the header
 * length (8). Trusts `repr`; `RangeError` if the message does not fit in `u8`.
 *
 * @example
 * ```ts
 * import { emitIcmp, IcmpType } from "./icmp.ts";
 * const b = new Uint8Array(8);
 * emitIcmp({ type: IcmpType.ECHO_REQUEST, code: 0, id: 1, seq: 0, payloadLength: 0 }, b, 0); // 8
 * ```
 */
export function emitIcmp(repr: IcmpEmitRepr, u8: Uint8Array, offset: number): number {
  checkRange(u8, offset, ICMP_HEADER_LENGTH + repr.payloadLength, "emitIcmp");
  u8[offset] = repr.type;
  u8[offset + 1] = repr.code;
  set16(u8, offset + 2, 0);
  let rest = 0;
  switch (repr.type) {
    case IcmpType.ECHO_REQUEST:
    case IcmpType.ECHO_REPLY:
      rest = ((repr.id & 0xffff) << 16) | (repr.seq & 0xffff);
      break;
    case IcmpType.DEST_UNREACHABLE:
      rest = repr.nextHopMtu & 0xffff;
      break;
    case IcmpType.REDIRECT:
      rest = repr.gateway;
      break;
    case IcmpType.PARAMETER_PROBLEM:
      rest = (repr.pointer & 0xff) << 24;
      break;
    default:
      // Source quench and time exceeded: "unused", sent as zero.
      break;
  }
  set32(u8, offset + 4, rest);
  set16(
    u8,
    offset + 2,
    finishChecksum(checksum(u8, offset, ICMP_HEADER_LENGTH + repr.payloadLength)),
  );
  return ICMP_HEADER_LENGTH;
}
