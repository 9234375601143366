/**
 * TypeScript reference twins of every WASM export. They define the semantics
 * the WASM must match (tests compare them on random inputs) and are the
 * fallback where WebAssembly is unavailable.
 *
 * Checksum conventions (RFC 1071): a "sum" is the 16-bit one's-complement sum
 * of the data read as big-endian 16-bit words, folded to 0…0xffff and NOT
 * complemented; an odd trailing byte is padded with a zero low byte. The value
 * written into a header is `finishChecksum(sum)` = `~sum & 0xffff`. An
 * `initial` sum (e.g. a pseudo-header's) is folded in.
 *
 * @module
 */

/**
 * Fold a non-negative integer < 2^53 into a 16-bit one's-complement sum.
 *
 * @example
 * ```ts
 * import { foldSum } from "./reference.ts";
 * foldSum(0x1fffe); // 0xffff (end-around carry)
 * ```
 */
export function foldSum(x: number): number {
  // Split into 16-bit pieces without 32-bit overflow, then fold carries.
  let s = (x % 65536) + Math.floor(x / 65536) % 65536 + Math.floor(x / 4294967296);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * The checksum field value for a sum: its one's complement.
 *
 * @example
 * ```ts
 * import { finishChecksum } from "./reference.ts";
 * finishChecksum(0xddf2); // 0x220d
 * ```
 */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/**
 * RFC 1071 sum of `u8[off, off+len)` plus `initial` (reference implementation).
 *
 * @example
 * ```ts
 * import { refChecksum, finishChecksum } from "./reference.ts";
 * const words = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
 * finishChecksum(refChecksum(words, 0, 8, 0)); // 0x220d (RFC 1071 §3)
 * ```
 */
export function refChecksum(u8: Uint8Array, off: number, len: number, initial: number): number {
  let sum = foldSum(initial);
  const end = off + len;
  let i = off;
  // Accumulate in a double: 2^53 / 0xffff words is far beyond any buffer.
  for (; i + 1 < end; i += 2) sum += (u8[i]! << 8) | u8[i + 1]!;
  if (i < end) sum += u8[i]! << 8;
  return foldSum(sum);
}

/**
 * Copy `len` bytes from `src` to `dst` and return their sum plus `initial`
 * (overlapping ranges behave like memmove, as in the WASM twin).
 *
 * @example
 * ```ts
 * import { refChecksumCopy } from "./reference.ts";
 * const u8 = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0, 0, 0, 0, 0, 0, 0, 0]);
 * refChecksumCopy(u8, 0, 8, 8, 0); // 0xddf2, and u8[8..16) is a copy
 * ```
 */
export function refChecksumCopy(
  u8: Uint8Array,
  src: number,
  dst: number,
  len: number,
  initial: number,
): number {
  u8.copyWithin(dst, src, src + len);
  return refChecksum(u8, dst, len, initial);
}

/**
 * Add sum `b` of a block that starts `offset` bytes into a larger message to
 * that message's running sum `a` (Linux `csum_block_add`): a block at an odd
 * offset has its bytes in swapped lanes, so its sum is byte-swapped first.
 *
 * @example
 * ```ts
 * import { refChecksum, sumBlockAdd } from "./reference.ts";
 * const u8 = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
 * sumBlockAdd(refChecksum(u8, 0, 3, 0), refChecksum(u8, 3, 5, 0), 3); // 0xddf2
 * ```
 */
export function sumBlockAdd(a: number, b: number, offset: number): number {
  if (offset & 1) b = ((b & 0xff) << 8) | (b >>> 8);
  return foldSum(a + b);
}

/**
 * Sum of an IPv4 pseudo-header (RFC 9293 §3.1, RFC 768): src, dst, zero, protocol, length.
 *
 * @example
 * ```ts
 * import { ipv4PseudoSum } from "./reference.ts";
 * ipv4PseudoSum(0xc0000201, 0xc0000202, 6, 20); // 192.0.2.1 → 192.0.2.2, TCP, 20 bytes
 * ```
 */
export function ipv4PseudoSum(src: number, dst: number, protocol: number, length: number): number {
  return foldSum(
    (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length,
  );
}

/**
 * Sum of an IPv6 pseudo-header (RFC 8200 §8.1): source and destination
 * addresses (16 bytes each, read from `src[srcOff]` and `dst[dstOff]`), the
 * 32-bit upper-layer length and the next header value.
 *
 * @example
 * ```ts
 * import { refIpv6PseudoSum } from "./reference.ts";
 * const a = new Uint8Array(16);
 * a[15] = 1; // ::1
 * refIpv6PseudoSum(a, 0, a, 0, 8, 17); // 0x001b: 1 + 1 + 8 + 17
 * ```
 */
export function refIpv6PseudoSum(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  length: number,
  nextHeader: number,
): number {
  let sum = (length >>> 16) + (length & 0xffff) + nextHeader;
  for (let i = 0; i < 16; i += 2) {
    sum += ((src[srcOff + i]! << 8) | src[srcOff + i + 1]!) +
      ((dst[dstOff + i]! << 8) | dst[dstOff + i + 1]!);
  }
  return foldSum(sum);
}

/**
 * Incremental update of a checksum field when a 16-bit word changes from `m`
 * to `m2` (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
 *
 * @example
 * ```ts
 * import { csumUpdate16 } from "./reference.ts";
 * csumUpdate16(0xdd2f, 0x5555, 0x3285); // 0x0000 (RFC 1624 §4)
 * ```
 */
export function csumUpdate16(hc: number, m: number, m2: number): number {
  return ~foldSum((~hc & 0xffff) + (~m & 0xffff) + (m2 & 0xffff)) & 0xffff;
}

/**
 * Incremental update for a 32-bit field (e.g. an IPv4 address) changing from `m` to `m2`.
 *
 * @example
 * ```ts
 * import { csumUpdate32 } from "./reference.ts";
 * csumUpdate32(0xb1e6, 0xc0000201, 0xc6336401); // after NAT rewrites 192.0.2.1 to 198.51.100.1
 * ```
 */
export function csumUpdate32(hc: number, m: number, m2: number): number {
  return ~foldSum(
    (~hc & 0xffff) + (~(m >>> 16) & 0xffff) + (~m & 0xffff) + (m2 >>> 16) + (m2 & 0xffff),
  ) & 0xffff;
}

// ---------------------------------------------------------------------------
// Batch copies. Descriptors are (off, len) pairs of little-endian u32s, the
// layout TypeScript writes into the arena's scratch area before a batch call.

/** Bytes per (off, len) descriptor in a gather or batch table. */
export const DESCRIPTOR_BYTES = 8;

function rd32(u8: Uint8Array, p: number): number {
  return (u8[p]! | (u8[p + 1]! << 8) | (u8[p + 2]! << 16) | (u8[p + 3]! << 24)) >>> 0;
}

function wr32(u8: Uint8Array, p: number, v: number): void {
  u8[p] = v;
  u8[p + 1] = v >>> 8;
  u8[p + 2] = v >>> 16;
  u8[p + 3] = v >>> 24;
}

function checkRange(u8: Uint8Array, off: number, len: number, what: string): void {
  if (off + len > u8.length) {
    throw new RangeError(`${what}: range ${off}+${len} outside a ${u8.length}-byte memory`);
  }
}

/**
 * Sum each of `count` descriptors at `descOff` (initial 0) and store the sums
 * as u32-LE at `outOff`; returns `count` (twin of the WASM `checksumBatch`).
 *
 * @example
 * ```ts
 * import { refChecksumBatch } from "./reference.ts";
 * const u8 = new Uint8Array(64);
 * u8.set([0x00, 0x01, 0xf2, 0x03], 32); // data
 * u8.set([32, 0, 0, 0, 4, 0, 0, 0], 0); // one descriptor: off 32, len 4
 * refChecksumBatch(u8, 0, 1, 16); // 1; u8[16..20) now holds 0xf204 (LE)
 * ```
 */
export function refChecksumBatch(
  u8: Uint8Array,
  descOff: number,
  count: number,
  outOff: number,
): number {
  for (let i = 0; i < count; i++) {
    const d = descOff + i * DESCRIPTOR_BYTES;
    const off = rd32(u8, d);
    const len = rd32(u8, d + 4);
    checkRange(u8, off, len, "checksumBatch");
    wr32(u8, outOff + 4 * i, refChecksum(u8, off, len, 0));
  }
  return count;
}

/**
 * Copy `count` descriptors' bytes back to back into `dst` (each copy a
 * memmove); returns the bytes copied (twin of the WASM `gather`).
 *
 * @example
 * ```ts
 * import { refGather } from "./reference.ts";
 * const u8 = new Uint8Array(64);
 * u8.set([1, 2, 3], 40);
 * u8.set([4, 5], 50);
 * u8.set([40, 0, 0, 0, 3, 0, 0, 0, 50, 0, 0, 0, 2, 0, 0, 0], 0);
 * refGather(u8, 0, 2, 20); // 5; u8[20..25) is 1 2 3 4 5
 * ```
 */
export function refGather(u8: Uint8Array, descOff: number, count: number, dst: number): number {
  let d = dst;
  for (let i = 0; i < count; i++) {
    const p = descOff + i * DESCRIPTOR_BYTES;
    const off = rd32(u8, p);
    const len = rd32(u8, p + 4);
    checkRange(u8, off, len, "gather");
    checkRange(u8, d, len, "gather");
    u8.copyWithin(d, off, off + len);
    d += len;
  }
  return d - dst;
}

/**
 * Like {@link refGather} but returns the sum of the gathered bytes plus
 * `initial`, i.e. `refChecksum(u8, dst, total, initial)` after the copy.
 *
 * @example
 * ```ts
 * import { refGatherChecksum } from "./reference.ts";
 * const u8 = new Uint8Array(64);
 * u8.set([0x00, 0x01, 0xf2], 40);
 * u8.set([0x03, 0xf4, 0xf5, 0xf6, 0xf7], 50);
 * u8.set([40, 0, 0, 0, 3, 0, 0, 0, 50, 0, 0, 0, 5, 0, 0, 0], 0);
 * refGatherChecksum(u8, 0, 2, 20, 0); // 0xddf2 (RFC 1071 §3)
 * ```
 */
export function refGatherChecksum(
  u8: Uint8Array,
  descOff: number,
  count: number,
  dst: number,
  initial: number,
): number {
  const n = refGather(u8, descOff, count, dst);
  return refChecksum(u8, dst, n, initial);
}

// ---------------------------------------------------------------------------
// Sequence-space range table (twin of asm/ranges.ts; the layout is documented
// there and in bindings.ts): header {count u32, cap u32}, then cap pairs
// {start u32, end u32} of half-open ranges, sorted, non-overlapping and
// non-adjacent, compared modulo 2^32.

/** `rangeInsert` result: a new entry was needed but count == cap (table unchanged). */
export const RANGE_FULL: number = -1;
/** `rangeInsert` result: end is before start. */
export const RANGE_INVALID: number = -2;
/** Bytes of the range-table header ({count, cap}). */
export const RANGE_HEADER_BYTES = 8;
/** Bytes per range ({start, end}). */
export const RANGE_ENTRY_BYTES = 8;

/**
 * Bytes a range table with room for `cap` ranges occupies.
 *
 * @example
 * ```ts
 * import { rangeTableBytes } from "./reference.ts";
 * rangeTableBytes(4); // 40
 * ```
 */
export function rangeTableBytes(cap: number): number {
  return RANGE_HEADER_BYTES + RANGE_ENTRY_BYTES * cap;
}

function rStart(u8: Uint8Array, tab: number, i: number): number {
  return rd32(u8, tab + 8 + 8 * i);
}

function rEnd(u8: Uint8Array, tab: number, i: number): number {
  return rd32(u8, tab + 12 + 8 * i);
}

function moveRanges(u8: Uint8Array, tab: number, from: number, to: number, count: number): void {
  if (from !== to && count > from) {
    u8.copyWithin(tab + 8 + 8 * to, tab + 8 + 8 * from, tab + 8 + 8 * count);
  }
}

/** First index in [0, n) with end - s >= 0 (or > 0 when `strict`), else n. */
function firstEndFrom(u8: Uint8Array, tab: number, n: number, s: number, strict: boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const d = (rEnd(u8, tab, mid) - s) | 0;
    if (strict ? d > 0 : d >= 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** First index in [lo, n) with start - e > 0, else n. */
function firstStartAfter(u8: Uint8Array, tab: number, lo: number, n: number, e: number): number {
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (((rStart(u8, tab, mid) - e) | 0) > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Make the range table at `tab` empty with room for `cap` ranges.
 *
 * @example
 * ```ts
 * import { rangeTableBytes, refRangeInit } from "./reference.ts";
 * const u8 = new Uint8Array(rangeTableBytes(4));
 * refRangeInit(u8, 0, 4);
 * ```
 */
export function refRangeInit(u8: Uint8Array, tab: number, cap: number): void {
  wr32(u8, tab, 0);
  wr32(u8, tab + 4, cap);
}

/**
 * Add [s, e) to the table, merging with every range it overlaps or touches;
 * returns the new count, {@link RANGE_FULL} (table unchanged) or
 * {@link RANGE_INVALID}. An empty range returns the count unchanged.
 *
 * @example
 * ```ts
 * import { rangeTableBytes, refRangeInit, refRangeInsert } from "./reference.ts";
 * const u8 = new Uint8Array(rangeTableBytes(4));
 * refRangeInit(u8, 0, 4);
 * refRangeInsert(u8, 0, 0xfffffff0, 0x10); // 1: [0xfffffff0, 0x10) across the wrap
 * refRangeInsert(u8, 0, 0x10, 0x20); // 1: merged into [0xfffffff0, 0x20)
 * ```
 */
export function refRangeInsert(u8: Uint8Array, tab: number, s: number, e: number): number {
  s >>>= 0;
  e >>>= 0;
  const n = rd32(u8, tab) | 0;
  const len = (e - s) | 0;
  if (len < 0) return RANGE_INVALID;
  if (len === 0) return n;
  const i = firstEndFrom(u8, tab, n, s, false);
  const j = firstStartAfter(u8, tab, i, n, e);
  if (i === j) {
    if (n >= (rd32(u8, tab + 4) | 0)) return RANGE_FULL;
    moveRanges(u8, tab, i, i + 1, n);
    wr32(u8, tab + 8 + 8 * i, s);
    wr32(u8, tab + 12 + 8 * i, e);
    wr32(u8, tab, n + 1);
    return n + 1;
  }
  const s0 = rStart(u8, tab, i);
  const e1 = rEnd(u8, tab, j - 1);
  wr32(u8, tab + 8 + 8 * i, ((s0 - s) | 0) < 0 ? s0 : s);
  wr32(u8, tab + 12 + 8 * i, ((e1 - e) | 0) > 0 ? e1 : e);
  moveRanges(u8, tab, j, i + 1, n);
  const m = n - (j - i - 1);
  wr32(u8, tab, m);
  return m;
}

/**
 * Drop everything before `seq` (RCV.NXT advanced): ranges ending at or before
 * it go, one straddling it is trimmed to start at it. Returns the new count.
 *
 * @example
 * ```ts
 * import { rangeTableBytes, refRangeAdvance, refRangeInit, refRangeInsert } from "./reference.ts";
 * const u8 = new Uint8Array(rangeTableBytes(4));
 * refRangeInit(u8, 0, 4);
 * refRangeInsert(u8, 0, 100, 200);
 * refRangeInsert(u8, 0, 300, 400);
 * refRangeAdvance(u8, 0, 350); // 1: [350, 400) remains
 * ```
 */
export function refRangeAdvance(u8: Uint8Array, tab: number, seq: number): number {
  seq >>>= 0;
  const n = rd32(u8, tab) | 0;
  const k = firstEndFrom(u8, tab, n, seq, true);
  if (k < n && ((rStart(u8, tab, k) - seq) | 0) < 0) wr32(u8, tab + 8 + 8 * k, seq);
  moveRanges(u8, tab, k, 0, n);
  wr32(u8, tab, n - k);
  return n - k;
}

/**
 * Index of the range containing sequence number `s`, or -1.
 *
 * @example
 * ```ts
 * import { rangeTableBytes, refRangeFind, refRangeInit, refRangeInsert } from "./reference.ts";
 * const u8 = new Uint8Array(rangeTableBytes(4));
 * refRangeInit(u8, 0, 4);
 * refRangeInsert(u8, 0, 100, 200);
 * refRangeFind(u8, 0, 150); // 0
 * refRangeFind(u8, 0, 200); // -1 (ranges are half-open)
 * ```
 */
export function refRangeFind(u8: Uint8Array, tab: number, s: number): number {
  s >>>= 0;
  const n = rd32(u8, tab) | 0;
  const i = firstEndFrom(u8, tab, n, s, true);
  return i < n && ((rStart(u8, tab, i) - s) | 0) <= 0 ? i : -1;
}

/**
 * How many sequence numbers of [s, e) the table covers (0 when e is not after s).
 *
 * @example
 * ```ts
 * import { rangeTableBytes, refRangeCovered, refRangeInit, refRangeInsert } from "./reference.ts";
 * const u8 = new Uint8Array(rangeTableBytes(4));
 * refRangeInit(u8, 0, 4);
 * refRangeInsert(u8, 0, 100, 200);
 * refRangeCovered(u8, 0, 150, 250); // 50
 * ```
 */
export function refRangeCovered(u8: Uint8Array, tab: number, s: number, e: number): number {
  s >>>= 0;
  e >>>= 0;
  if (((e - s) | 0) <= 0) return 0;
  const n = rd32(u8, tab) | 0;
  let total = 0;
  for (let i = firstEndFrom(u8, tab, n, s, true); i < n; i++) {
    const rs = rStart(u8, tab, i);
    if (((rs - e) | 0) >= 0) break;
    const re = rEnd(u8, tab, i);
    const lo = ((rs - s) | 0) > 0 ? rs : s;
    const hi = ((re - e) | 0) < 0 ? re : e;
    total += (hi - lo) >>> 0;
  }
  return total;
}

/**
 * Write up to `max` SACK blocks as (start, end) u32-LE pairs at `out`: the
 * range containing `recent` first (RFC 2018 §4), then the others in ascending
 * order; returns the number written.
 *
 * @example
 * ```ts
 * import { rangeTableBytes, refRangeInit, refRangeInsert, refRangeSack } from "./reference.ts";
 * const u8 = new Uint8Array(rangeTableBytes(4) + 32);
 * refRangeInit(u8, 0, 4);
 * refRangeInsert(u8, 0, 100, 200);
 * refRangeInsert(u8, 0, 300, 400);
 * refRangeSack(u8, 0, 350, 40, 3); // 2: [300, 400) then [100, 200) at u8[40..56)
 * ```
 */
export function refRangeSack(
  u8: Uint8Array,
  tab: number,
  recent: number,
  out: number,
  max: number,
): number {
  const n = rd32(u8, tab) | 0;
  const f = refRangeFind(u8, tab, recent);
  let k = 0;
  if (f >= 0 && k < max) {
    wr32(u8, out, rStart(u8, tab, f));
    wr32(u8, out + 4, rEnd(u8, tab, f));
    k = 1;
  }
  for (let i = 0; i < n && k < max; i++) {
    if (i === f) continue;
    wr32(u8, out + 8 * k, rStart(u8, tab, i));
    wr32(u8, out + 8 * k + 4, rEnd(u8, tab, i));
    k++;
  }
  return k;
}
