/**
 * Multicast Listener Discovery messages a host uses: the Multicast Listener
 * Query (MLDv1, RFC 2710 §3, and MLDv2, RFC 3810 §5.1) and the Version 2
 * Multicast Listener Report (RFC 3810 §5.2).
 *
 * Parsers take a whole ICMPv6 message whose checksum was verified; they
 * check lengths (every record and source list must fit) and never throw on
 * content. The IP-level rules (link-local source, hop limit 1, Router Alert)
 * are the MLD code's to check.
 *
 * @module
 */
import { checkRange, get16, set16 } from "./bytes.ts";
import { Icmpv6Type } from "./icmpv6.ts";

/**
 * MLDv2 multicast address record types (RFC 3810 §5.2.12).
 *
 * @example
 * ```ts
 * import { MldRecordType } from "./mld.ts";
 * MldRecordType.CHANGE_TO_EXCLUDE; // 4: "join" with no source filter
 * ```
 */
export const MldRecordType = {
  MODE_IS_INCLUDE: 1,
  MODE_IS_EXCLUDE: 2,
  CHANGE_TO_INCLUDE: 3,
  CHANGE_TO_EXCLUDE: 4,
  ALLOW_NEW_SOURCES: 5,
  BLOCK_OLD_SOURCES: 6,
} as const;

/**
 * Every reason the MLD parsers can drop a message for.
 *
 * @example
 * ```ts
 * import { MLD_DROP_REASONS } from "./mld.ts";
 * MLD_DROP_REASONS.includes("mld.truncated"); // true
 * ```
 */
export const MLD_DROP_REASONS = [
  /** Shorter than the message, a record or a source list says. */
  "mld.truncated",
] as const;
/**
 * One of {@link MLD_DROP_REASONS}.
 *
 * @example
 * ```ts
 * import type { MldDropReason } from "./mld.ts";
 * const why: MldDropReason = "mld.truncated";
 * ```
 */
export type MldDropReason = typeof MLD_DROP_REASONS[number];

/**
 * A parsed Multicast Listener Query.
 *
 * @example
 * ```ts
 * import type { MldQueryRepr } from "./mld.ts";
 * const general = (q: MldQueryRepr, u8: Uint8Array) => u8[q.groupOffset] === 0;
 * ```
 */
export interface MldQueryRepr {
  /** 1 (24-byte MLDv1 query) or 2 (≥ 28 bytes, RFC 3810 §8.1). */
  readonly version: number;
  /** Maximum Response Delay in milliseconds (decoded, RFC 3810 §5.1.3). */
  readonly maxResponseDelay: number;
  /** Where the multicast address (:: for a general query) is. */
  readonly groupOffset: number;
  /** MLDv2: Querier's Robustness Variable (0 when v1). */
  readonly robustness: number;
  /** MLDv2: number of sources listed (0 when v1). */
  readonly sourceCount: number;
  /** MLDv2: where the first 16-byte source address starts. */
  readonly sourcesOffset: number;
}

/**
 * Decode the Maximum Response Code of RFC 3810 §5.1.3 into milliseconds.
 *
 * @example
 * ```ts
 * import { decodeMaxResponseCode } from "./mld.ts";
 * decodeMaxResponseCode(10000); // 10000
 * decodeMaxResponseCode(0x8000); // 32768 (mant 0, exp 0)
 * ```
 */
export function decodeMaxResponseCode(code: number): number {
  if (code < 0x8000) return code;
  const exp = (code >>> 12) & 7;
  const mant = code & 0xfff;
  return (mant | 0x1000) * 2 ** (exp + 3);
}

/**
 * Parse a Multicast Listener Query (the whole ICMPv6 message).
 *
 * @example
 * ```ts
 * import { parseMldQuery } from "./mld.ts";
 * const q = new Uint8Array(28);
 * q[0] = 130;
 * const r = parseMldQuery(q, 0, 28);
 * typeof r !== "string" && r.version; // 2
 * ```
 */
export function parseMldQuery(
  u8: Uint8Array,
  offset: number,
  length: number,
): MldQueryRepr | MldDropReason {
  checkRange(u8, offset, length, "parseMldQuery");
  if (length < 24) return "mld.truncated";
  const code = get16(u8, offset + 4);
  // RFC 3810 §8.1: 24 bytes is MLDv1; ≥ 28 is MLDv2; in between is invalid.
  if (length === 24) {
    return {
      version: 1,
      maxResponseDelay: code,
      groupOffset: offset + 8,
      robustness: 0,
      sourceCount: 0,
      sourcesOffset: offset + 24,
    };
  }
  if (length < 28) return "mld.truncated";
  const sourceCount = get16(u8, offset + 26);
  if (28 + 16 * sourceCount > length) return "mld.truncated";
  return {
    version: 2,
    maxResponseDelay: decodeMaxResponseCode(code),
    groupOffset: offset + 8,
    robustness: u8[offset + 24]! & 7,
    sourceCount,
    sourcesOffset: offset + 28,
  };
}

/**
 * One multicast address record of a report.
 *
 * @example
 * ```ts
 * import type { MldRecordRepr } from "./mld.ts";
 * const join = (r: MldRecordRepr) => r.type === 4 && r.sourceCount === 0;
 * ```
 */
export interface MldRecordRepr {
  /**
   * Record type (RFC 3810 §5.2.12): 1 MODE_IS_INCLUDE … 4 CHANGE_TO_EXCLUDE_MODE, 5 ALLOW, 6 BLOCK.
   */
  readonly type: number;
  /** Number of source addresses in the record. */
  readonly sourceCount: number;
  /** Where the record's 16-byte multicast address is. */
  readonly groupOffset: number;
  /** Where the first 16-byte source address starts. */
  readonly sourcesOffset: number;
}

/**
 * Parse a Version 2 Multicast Listener Report (the whole ICMPv6 message):
 * every record, its sources and auxiliary data must fit.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import { emitMldv2Report, parseMldv2Report } from "./mld.ts";
 * const b = new Uint8Array(28);
 * const n = emitMldv2Report([{ type: 4, group: parseIpv6Address("ff02::1:ff00:2") }], b, 0);
 * const r = parseMldv2Report(b, 0, n);
 * typeof r !== "string" && r.length; // 1
 * ```
 */
export function parseMldv2Report(
  u8: Uint8Array,
  offset: number,
  length: number,
): MldRecordRepr[] | MldDropReason {
  checkRange(u8, offset, length, "parseMldv2Report");
  if (length < 8) return "mld.truncated";
  const n = get16(u8, offset + 6);
  const out: MldRecordRepr[] = [];
  let at = offset + 8;
  const end = offset + length;
  for (let i = 0; i < n; i++) {
    if (end - at < 20) return "mld.truncated";
    const aux = u8[at + 1]! * 4;
    const sources = get16(u8, at + 2);
    const size = 20 + 16 * sources + aux;
    if (size > end - at) return "mld.truncated";
    out.push({ type: u8[at]!, sourceCount: sources, groupOffset: at + 4, sourcesOffset: at + 20 });
    at += size;
  }
  return out;
}

/**
 * A record for {@link emitMldv2Report}.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import type { MldRecordEmit } from "./mld.ts";
 * const leave: MldRecordEmit = { type: 3, group: parseIpv6Address("ff02::1:ff00:2") };
 * ```
 */
export interface MldRecordEmit {
  /**
   * Record type (RFC 3810 §5.2.12), e.g. 3 CHANGE_TO_INCLUDE_MODE (leave), 4 CHANGE_TO_EXCLUDE_MODE
   * (join).
   */
  readonly type: number;
  /** The multicast address (the first 16 bytes are used). */
  readonly group: Uint8Array;
  /** Source addresses (16 bytes each); none when omitted. */
  readonly sources?: readonly Uint8Array[];
}

/**
 * Length of the report {@link emitMldv2Report} writes.
 *
 * @example
 * ```ts
 * import { mldv2ReportLength } from "./mld.ts";
 * mldv2ReportLength([{ type: 4, group: new Uint8Array(16) }]); // 28
 * ```
 */
export function mldv2ReportLength(records: readonly MldRecordEmit[]): number {
  let n = 8;
  for (const r of records) n += 20 + 16 * (r.sources?.length ?? 0);
  return n;
}

/**
 * Write a Version 2 Multicast Listener Report (checksum left 0: see
 * `fillIcmpv6Checksum`); returns its length.
 *
 * @example
 * ```ts
 * import { parseIpv6Address } from "./addr6.ts";
 * import { emitMldv2Report, MldRecordType } from "./mld.ts";
 * emitMldv2Report([{ type: MldRecordType.CHANGE_TO_EXCLUDE,
 *   group: parseIpv6Address("ff02::1:ff00:2") }], new Uint8Array(28), 0); // 28
 * ```
 */
export function emitMldv2Report(
  records: readonly MldRecordEmit[],
  u8: Uint8Array,
  offset: number,
): number {
  const len = mldv2ReportLength(records);
  checkRange(u8, offset, len, "emitMldv2Report");
  u8.fill(0, offset, offset + 8);
  u8[offset] = Icmpv6Type.MLDV2_REPORT;
  set16(u8, offset + 6, records.length);
  let at = offset + 8;
  for (const r of records) {
    const sources = r.sources ?? [];
    u8[at] = r.type;
    u8[at + 1] = 0;
    set16(u8, at + 2, sources.length);
    u8.set(r.group.subarray(0, 16), at + 4);
    at += 20;
    for (const s of sources) {
      u8.set(s.subarray(0, 16), at);
      at += 16;
    }
  }
  return len;
}
