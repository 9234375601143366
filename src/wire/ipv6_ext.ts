/**
 * IPv6 extension headers (RFC 8200 §4): hop-by-hop and destination options
 * with their action bits, the routing header (type 0 refused per RFC 5095),
 * and the fragment header; a walker that follows the header chain the way a
 * host processes it.
 *
 * Decisions recorded here:
 * - **Options by their action bits** (RFC 8200 §4.2). Pad1, PadN and Router
 *   Alert (RFC 2711) are known; every other type is unrecognised and its two
 *   high bits decide: 00 skip, 01 discard, 10 discard and send Parameter
 *   Problem code 2, 11 the same unless the destination was multicast. The
 *   Jumbo Payload option (RFC 2675) is therefore refused like any unknown
 *   option with action 11.
 * - **Option floods are bounded** (RFC 8504; Linux
 *   `max_hbh_opts_number`/`max_dst_opts_number` = 8): more than
 *   {@link IPV6_MAX_OPTIONS} non-padding options in one header, a run of
 *   padding longer than 7 bytes, or PadN carrying non-zero bytes (RFC 4942
 *   §2.1.9.5: padding is only for alignment; anything else is a covert
 *   channel) drop the packet.
 * - **Hop-by-hop only first** (RFC 8200 §4.3): anywhere else it draws a
 *   Parameter Problem code 1 pointing at the Next Header field naming it.
 * - **Routing header**: a host that is the final destination ignores a
 *   routing header with Segments Left 0. With Segments Left > 0 it would have
 *   to forward, which we never do: every type is then treated as
 *   unrecognised (Parameter Problem code 0 at the Routing Type), and type 0
 *   is exactly what RFC 5095 §3 demands; it is counted apart
 *   (`ipv6.routing_type0`) because it is the attack the RFC is about.
 * - **Chain length** is capped at {@link IPV6_MAX_EXT_HEADERS} headers (RFC
 *   8504 §5.3 and RFC 9098 let a node limit what it processes), so a packet
 *   of empty headers costs bounded work.
 * - The **fragment header** stops the walk: the layer reassembles and then
 *   resumes the walk after it (headers before it were already processed in
 *   the first fragment).
 *
 * @module
 */
import { checkRange, get16, get32, set16, set32 } from "./bytes.ts";
import { NextHeader } from "./ipv6.ts";

/**
 * Most non-padding options accepted in one options header (Linux default 8).
 *
 * @example
 * ```ts
 * import { IPV6_MAX_OPTIONS } from "./ipv6_ext.ts";
 * IPV6_MAX_OPTIONS; // 8
 * ```
 */
export const IPV6_MAX_OPTIONS = 8;

/**
 * Most extension headers processed in one packet.
 *
 * @example
 * ```ts
 * import { IPV6_MAX_EXT_HEADERS } from "./ipv6_ext.ts";
 * IPV6_MAX_EXT_HEADERS; // 16
 * ```
 */
export const IPV6_MAX_EXT_HEADERS = 16;

/**
 * Length of the fragment header.
 *
 * @example
 * ```ts
 * import { IPV6_FRAGMENT_HEADER_LENGTH } from "./ipv6_ext.ts";
 * IPV6_FRAGMENT_HEADER_LENGTH; // 8
 * ```
 */
export const IPV6_FRAGMENT_HEADER_LENGTH = 8;

/**
 * Option types a host knows (RFC 8200 §4.2, RFC 2711).
 *
 * @example
 * ```ts
 * import { Ipv6OptionType } from "./ipv6_ext.ts";
 * Ipv6OptionType.ROUTER_ALERT; // 5
 * ```
 */
export const Ipv6OptionType = {
  PAD1: 0,
  PADN: 1,
  ROUTER_ALERT: 5,
  /** Jumbo Payload (RFC 2675): not supported, so handled as unknown (action 11). */
  JUMBO: 0xc2,
} as const;

/**
 * ICMPv6 Parameter Problem codes (RFC 4443 §3.4, RFC 7112).
 *
 * @example
 * ```ts
 * import { ParamProblemCode } from "./ipv6_ext.ts";
 * ParamProblemCode.UNRECOGNIZED_OPTION; // 2
 * ```
 */
export const ParamProblemCode = {
  ERRONEOUS_HEADER: 0,
  UNRECOGNIZED_NEXT_HEADER: 1,
  UNRECOGNIZED_OPTION: 2,
  /** RFC 7112 §5: the first fragment lacks the whole header chain. */
  INCOMPLETE_CHAIN: 3,
} as const;

/**
 * Every reason the extension-header code can drop a packet for.
 *
 * @example
 * ```ts
 * import { IPV6_EXT_DROP_REASONS } from "./ipv6_ext.ts";
 * IPV6_EXT_DROP_REASONS.includes("ipv6.routing_type0"); // true
 * ```
 */
export const IPV6_EXT_DROP_REASONS = [
  /** An extension header runs past the payload. */
  "ipv6.ext_truncated",
  /** Hop-by-hop options not directly after the fixed header (RFC 8200 §4.3). */
  "ipv6.hbh_not_first",
  /** An option's length runs past its header. */
  "ipv6.bad_option",
  /** A padding run over 7 bytes, or PadN with non-zero contents (RFC 4942). */
  "ipv6.bad_padding",
  /** More than {@link IPV6_MAX_OPTIONS} non-padding options in one header. */
  "ipv6.too_many_options",
  /** An unrecognised option whose action bits say discard (01, 10, 11). */
  "ipv6.unknown_option",
  /** A type 0 routing header with Segments Left > 0 (RFC 5095). */
  "ipv6.routing_type0",
  /** Another routing header with Segments Left > 0 (we do not forward). */
  "ipv6.routing_segments_left",
  /** More than {@link IPV6_MAX_EXT_HEADERS} extension headers. */
  "ipv6.too_many_ext_headers",
  /** Fragment header shorter than 8 bytes. */
  "ipv6.bad_fragment_header",
] as const;
/**
 * One of {@link IPV6_EXT_DROP_REASONS}.
 *
 * @example
 * ```ts
 * import type { Ipv6ExtDropReason } from "./ipv6_ext.ts";
 * const why: Ipv6ExtDropReason = "ipv6.bad_padding";
 * ```
 */
export type Ipv6ExtDropReason = typeof IPV6_EXT_DROP_REASONS[number];

/**
 * True for the next-header values this walker treats as extension headers.
 *
 * @example
 * ```ts
 * import { isExtensionHeader } from "./ipv6_ext.ts";
 * isExtensionHeader(60); // true
 * isExtensionHeader(17); // false
 * ```
 */
export function isExtensionHeader(nh: number): boolean {
  return nh === NextHeader.HOP_BY_HOP || nh === NextHeader.ROUTING ||
    nh === NextHeader.FRAGMENT || nh === NextHeader.DESTINATION_OPTIONS;
}

/**
 * What {@link walkIpv6Headers} found (one reusable object: walking allocates
 * nothing).
 *
 * @example
 * ```ts
 * import { Ipv6Walk, WalkStatus } from "./ipv6_ext.ts";
 * const w = new Ipv6Walk();
 * w.status === WalkStatus.UPPER; // true until a walk says otherwise
 * ```
 */
export class Ipv6Walk {
  /** One of {@link WalkStatus}. */
  status: number = WalkStatus.UPPER;
  /** The upper-layer protocol (status UPPER), or 44 at a fragment header. */
  nextHeader = 0;
  /** Where that header starts (absolute offset). */
  offset = 0;
  /** Absolute offset of the byte that named `nextHeader` (for Parameter Problem code 1). */
  nhFieldOffset = 0;
  /** Why the packet must be dropped (status DROP or PARAM_PROBLEM). */
  reason: Ipv6ExtDropReason | "" = "";
  /** Parameter Problem code (RFC 4443 §3.4; status PARAM_PROBLEM). */
  icmpCode = 0;
  /** Parameter Problem pointer: absolute offset of the offending byte (status PARAM_PROBLEM). */
  icmpPointer = 0;
  /** Action 10 (true): send even when the destination was multicast; 11 (false): not then. */
  icmpEvenIfMulticast = false;
  /** Router Alert value seen in a hop-by-hop header, or -1. */
  routerAlert: number = -1;
  /** Extension headers walked so far. */
  headers = 0;
  /** Fragment header: offset in bytes of this fragment's data (status FRAGMENT). */
  fragmentOffset = 0;
  /** Fragment header M flag: more fragments follow (status FRAGMENT). */
  moreFragments = false;
  /** Fragment header Identification (status FRAGMENT). */
  identification = 0;
}

/**
 * Outcomes of {@link walkIpv6Headers}.
 *
 * @example
 * ```ts
 * import { WalkStatus } from "./ipv6_ext.ts";
 * WalkStatus.FRAGMENT; // 1
 * ```
 */
export const WalkStatus = {
  /** Reached an upper-layer header (or No Next Header). */
  UPPER: 0,
  /** Stopped at a fragment header (fields filled in). */
  FRAGMENT: 1,
  /** Drop silently (`reason`). */
  DROP: 2,
  /** Drop and send ICMPv6 Parameter Problem (`reason`, `icmpCode`, `icmpPointer`). */
  PARAM_PROBLEM: 3,
} as const;

/**
 * Follow the header chain from `nh` at `off` to `end` (RFC 8200 §4.1):
 * process options, refuse what must be refused, stop at the upper-layer
 * header or at a fragment header. `first` is true when `off` is directly
 * after the fixed header (the only place hop-by-hop may be); `nhField` is the
 * absolute offset of the byte holding `nh`. `w.headers` accumulates across
 * resumed walks. Never throws.
 *
 * @example
 * ```ts
 * import { Ipv6Walk, walkIpv6Headers, WalkStatus } from "./ipv6_ext.ts";
 * // a destination options header (PadN 4) then UDP
 * const b = new Uint8Array([17, 0, 1, 4, 0, 0, 0, 0]);
 * const w = new Ipv6Walk();
 * walkIpv6Headers(b, 60, 0, b.length, true, 0, w) === WalkStatus.UPPER; // true, w.nextHeader 17
 * ```
 */
export function walkIpv6Headers(
  u8: Uint8Array,
  nh: number,
  off: number,
  end: number,
  first: boolean,
  nhField: number,
  w: Ipv6Walk,
): number {
  w.reason = "";
  if (first) {
    w.headers = 0;
    w.routerAlert = -1;
  }
  let p = off;
  let atFirst = first;
  for (;;) {
    w.nextHeader = nh;
    w.offset = p;
    w.nhFieldOffset = nhField;
    if (!isExtensionHeader(nh)) return w.status = WalkStatus.UPPER;
    if (++w.headers > IPV6_MAX_EXT_HEADERS) return drop(w, "ipv6.too_many_ext_headers");
    if (nh === NextHeader.FRAGMENT) {
      if (end - p < IPV6_FRAGMENT_HEADER_LENGTH) return drop(w, "ipv6.bad_fragment_header");
      const fo = get16(u8, p + 2);
      w.fragmentOffset = fo & 0xfff8;
      w.moreFragments = (fo & 1) !== 0;
      w.identification = get32(u8, p + 4);
      return w.status = WalkStatus.FRAGMENT;
    }
    if (end - p < 8) return drop(w, "ipv6.ext_truncated");
    const len = (u8[p + 1]! + 1) * 8;
    if (len > end - p) return drop(w, "ipv6.ext_truncated");
    if (nh === NextHeader.HOP_BY_HOP) {
      if (!atFirst) {
        return paramProblem(
          w,
          "ipv6.hbh_not_first",
          ParamProblemCode.UNRECOGNIZED_NEXT_HEADER,
          nhField,
          true,
        );
      }
      const r = scanOptions(u8, p + 2, len - 2, w, true);
      if (r !== WalkStatus.UPPER) return r;
    } else if (nh === NextHeader.DESTINATION_OPTIONS) {
      const r = scanOptions(u8, p + 2, len - 2, w, false);
      if (r !== WalkStatus.UPPER) return r;
    } else {
      // Routing header (RFC 8200 §4.4).
      const type = u8[p + 2]!;
      const segmentsLeft = u8[p + 3]!;
      if (segmentsLeft !== 0) {
        // RFC 5095 §3 for type 0; RFC 8200 §4.4 "unrecognized Routing Type" for all:
        // we never forward, so no type is recognised with segments left.
        return paramProblem(
          w,
          type === 0 ? "ipv6.routing_type0" : "ipv6.routing_segments_left",
          ParamProblemCode.ERRONEOUS_HEADER,
          p + 2,
          true,
        );
      }
      // Segments Left 0: "ignore the Routing header and proceed".
    }
    nhField = p;
    nh = u8[p]!;
    p += len;
    atFirst = false;
  }
}

function drop(w: Ipv6Walk, reason: Ipv6ExtDropReason): number {
  w.reason = reason;
  return w.status = WalkStatus.DROP;
}

function paramProblem(
  w: Ipv6Walk,
  reason: Ipv6ExtDropReason,
  code: number,
  pointer: number,
  evenIfMulticast: boolean,
): number {
  w.reason = reason;
  w.icmpCode = code;
  w.icmpPointer = pointer;
  w.icmpEvenIfMulticast = evenIfMulticast;
  return w.status = WalkStatus.PARAM_PROBLEM;
}

/**
 * Check the options in `u8[off, off+len)` (the TLVs after an options
 * header's first two bytes): returns `WalkStatus.UPPER` when all may be
 * skipped or processed, else DROP / PARAM_PROBLEM with `w` filled in. Records
 * a Router Alert in `w.routerAlert` when `hopByHop`.
 *
 * @example
 * ```ts
 * import { Ipv6Walk, scanOptions, WalkStatus } from "./ipv6_ext.ts";
 * const w = new Ipv6Walk();
 * scanOptions(new Uint8Array([1, 4, 0, 0, 0, 0]), 0, 6, w, false) === WalkStatus.UPPER; // true
 * scanOptions(new Uint8Array([0x80, 0, 1, 2, 0, 0]), 0, 6, w, false); // PARAM_PROBLEM (action 10)
 * ```
 */
export function scanOptions(
  u8: Uint8Array,
  off: number,
  len: number,
  w: Ipv6Walk,
  hopByHop: boolean,
): number {
  const end = off + len;
  let i = off;
  let padRun = 0;
  let count = 0;
  while (i < end) {
    const type = u8[i]!;
    if (type === Ipv6OptionType.PAD1) {
      if (++padRun > 7) return drop(w, "ipv6.bad_padding");
      i++;
      continue;
    }
    if (i + 2 > end) return drop(w, "ipv6.bad_option");
    const dataLen = u8[i + 1]!;
    if (i + 2 + dataLen > end) return drop(w, "ipv6.bad_option");
    if (type === Ipv6OptionType.PADN) {
      padRun += dataLen + 2;
      if (padRun > 7) return drop(w, "ipv6.bad_padding");
      for (let k = 0; k < dataLen; k++) if (u8[i + 2 + k] !== 0) return drop(w, "ipv6.bad_padding");
      i += 2 + dataLen;
      continue;
    }
    padRun = 0;
    if (++count > IPV6_MAX_OPTIONS) return drop(w, "ipv6.too_many_options");
    if (type === Ipv6OptionType.ROUTER_ALERT && hopByHop) {
      // RFC 2711 §2.1: two bytes of value.
      if (dataLen !== 2) {
        return paramProblem(w, "ipv6.bad_option", ParamProblemCode.ERRONEOUS_HEADER, i + 1, false);
      }
      w.routerAlert = get16(u8, i + 2);
    } else {
      // RFC 8200 §4.2: the two high-order bits say what to do with an unknown option.
      switch (type >>> 6) {
        case 0:
          break;
        case 1:
          return drop(w, "ipv6.unknown_option");
        case 2:
          return paramProblem(
            w,
            "ipv6.unknown_option",
            ParamProblemCode.UNRECOGNIZED_OPTION,
            i,
            true,
          );
        default:
          return paramProblem(
            w,
            "ipv6.unknown_option",
            ParamProblemCode.UNRECOGNIZED_OPTION,
            i,
            false,
          );
      }
    }
    i += 2 + dataLen;
  }
  return WalkStatus.UPPER;
}

/**
 * A parsed options or routing header (for tests and tools; the stack uses
 * {@link walkIpv6Headers}).
 *
 * @example
 * ```ts
 * import type { Ipv6ExtRepr } from "./ipv6_ext.ts";
 * const show = (h: Ipv6ExtRepr) => `${h.length} bytes, next ${h.nextHeader}`;
 * ```
 */
export interface Ipv6ExtRepr {
  /** The header after this one. */
  readonly nextHeader: number;
  /** This header's length in bytes ((Hdr Ext Len + 1) × 8). */
  readonly length: number;
  /** Where its body starts (after Next Header and Hdr Ext Len). */
  readonly dataOffset: number;
  /** Body bytes (`length − 2`). */
  readonly dataLength: number;
}

/**
 * Parse the generic layout of a hop-by-hop, destination options or routing
 * header at `u8[offset, offset+length)`. Never throws on content.
 *
 * @example
 * ```ts
 * import { parseIpv6ExtHeader } from "./ipv6_ext.ts";
 * const r = parseIpv6ExtHeader(new Uint8Array([58, 0, 1, 4, 0, 0, 0, 0]), 0, 8);
 * typeof r !== "string" && r.nextHeader; // 58
 * ```
 */
export function parseIpv6ExtHeader(
  u8: Uint8Array,
  offset: number,
  length: number,
): Ipv6ExtRepr | Ipv6ExtDropReason {
  checkRange(u8, offset, length, "parseIpv6ExtHeader");
  if (length < 8) return "ipv6.ext_truncated";
  const len = (u8[offset + 1]! + 1) * 8;
  if (len > length) return "ipv6.ext_truncated";
  return { nextHeader: u8[offset]!, length: len, dataOffset: offset + 2, dataLength: len - 2 };
}

/**
 * A parsed fragment header (RFC 8200 §4.5).
 *
 * @example
 * ```ts
 * import type { Ipv6FragmentRepr } from "./ipv6_ext.ts";
 * const f: Ipv6FragmentRepr = { nextHeader: 17, fragmentOffset: 1448, moreFragments: true, identification: 7 };
 * ```
 */
export interface Ipv6FragmentRepr {
  /** The header that follows the fragment header (in the reassembled packet: the upper layer). */
  readonly nextHeader: number;
  /** Offset in bytes (the 13-bit field × 8). */
  readonly fragmentOffset: number;
  /** M flag: more fragments follow this one. */
  readonly moreFragments: boolean;
  /** Identification, 32 bits, shared by the fragments of one packet (RFC 8200 §4.5). */
  readonly identification: number;
}

/**
 * Parse a fragment header. Never throws on content (reserved bits ignored, as
 * RFC 8200 §4.5 says).
 *
 * @example
 * ```ts
 * import { emitIpv6Fragment, parseIpv6Fragment } from "./ipv6_ext.ts";
 * const b = new Uint8Array(8);
 * emitIpv6Fragment({ nextHeader: 58, fragmentOffset: 1232, moreFragments: true, identification: 9 }, b, 0);
 * const r = parseIpv6Fragment(b, 0, 8);
 * typeof r !== "string" && r.fragmentOffset; // 1232
 * ```
 */
export function parseIpv6Fragment(
  u8: Uint8Array,
  offset: number,
  length: number,
): Ipv6FragmentRepr | Ipv6ExtDropReason {
  checkRange(u8, offset, length, "parseIpv6Fragment");
  if (length < IPV6_FRAGMENT_HEADER_LENGTH) return "ipv6.bad_fragment_header";
  const fo = get16(u8, offset + 2);
  return {
    nextHeader: u8[offset]!,
    fragmentOffset: fo & 0xfff8,
    moreFragments: (fo & 1) !== 0,
    identification: get32(u8, offset + 4),
  };
}

/**
 * Write a fragment header; returns 8.
 *
 * @example
 * ```ts
 * import { emitIpv6Fragment } from "./ipv6_ext.ts";
 * emitIpv6Fragment({ nextHeader: 17, fragmentOffset: 0, moreFragments: true, identification: 1 },
 *   new Uint8Array(8), 0); // 8
 * ```
 */
export function emitIpv6Fragment(repr: Ipv6FragmentRepr, u8: Uint8Array, offset: number): number {
  checkRange(u8, offset, IPV6_FRAGMENT_HEADER_LENGTH, "emitIpv6Fragment");
  u8[offset] = repr.nextHeader;
  u8[offset + 1] = 0;
  set16(u8, offset + 2, (repr.fragmentOffset & 0xfff8) | (repr.moreFragments ? 1 : 0));
  set32(u8, offset + 4, repr.identification);
  return IPV6_FRAGMENT_HEADER_LENGTH;
}

/**
 * One option for {@link emitIpv6Options}.
 *
 * @example
 * ```ts
 * import type { Ipv6Option } from "./ipv6_ext.ts";
 * const ra: Ipv6Option = { type: 5, data: new Uint8Array([0, 0]) }; // Router Alert: MLD
 * ```
 */
export interface Ipv6Option {
  /** Option type (RFC 8200 §4.2): its two high bits say what a node that does not know it does. */
  readonly type: number;
  /** Option data (at most 255 bytes; the length byte is written from it). */
  readonly data: Uint8Array;
}

/**
 * Length of the options header {@link emitIpv6Options} writes for `options`.
 *
 * @example
 * ```ts
 * import { ipv6OptionsHeaderLength } from "./ipv6_ext.ts";
 * ipv6OptionsHeaderLength([{ type: 5, data: new Uint8Array(2) }]); // 8
 * ```
 */
export function ipv6OptionsHeaderLength(options: readonly Ipv6Option[]): number {
  let n = 2;
  for (const o of options) n += 2 + o.data.length;
  return (n + 7) & ~7;
}

/**
 * Write a hop-by-hop or destination options header: `nextHeader`, the
 * options in order, then Pad1/PadN to a multiple of 8 bytes. Returns its
 * length. Throws `RangeError` when it would exceed 2048 bytes.
 *
 * @example
 * ```ts
 * import { emitIpv6Options } from "./ipv6_ext.ts";
 * const b = new Uint8Array(8);
 * emitIpv6Options(58, [{ type: 5, data: new Uint8Array([0, 0]) }], b, 0); // 8: [58, 0, 5, 2, 0, 0, 1, 0]
 * ```
 */
export function emitIpv6Options(
  nextHeader: number,
  options: readonly Ipv6Option[],
  u8: Uint8Array,
  offset: number,
): number {
  const len = ipv6OptionsHeaderLength(options);
  if (len > 2048) throw new RangeError(`emitIpv6Options: ${len} bytes exceed 2048`);
  checkRange(u8, offset, len, "emitIpv6Options");
  u8[offset] = nextHeader;
  u8[offset + 1] = len / 8 - 1;
  let i = offset + 2;
  for (const o of options) {
    u8[i] = o.type;
    u8[i + 1] = o.data.length;
    u8.set(o.data, i + 2);
    i += 2 + o.data.length;
  }
  const pad = offset + len - i;
  if (pad === 1) u8[i] = Ipv6OptionType.PAD1;
  else if (pad > 1) {
    u8[i] = Ipv6OptionType.PADN;
    u8[i + 1] = pad - 2;
    u8.fill(0, i + 2, i + pad);
  }
  return len;
}
