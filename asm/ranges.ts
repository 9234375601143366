// Sequence-space range table: the batch work behind TCP's out-of-order queue
// and SACK scoreboard (RFC 9293 §3.10.7.4 segment queueing, RFC 2018 blocks).
//
// Memory layout at `tab` (little-endian u32s; 4-byte alignment recommended):
//
//   tab + 0            count   ranges in use
//   tab + 4            cap     ranges the table has room for
//   tab + 8 + 8*i      start   first sequence number of range i
//   tab + 12 + 8*i     end     one past the last (half-open [start, end))
//
// so a table of `cap` ranges takes 8 + 8*cap bytes. Ranges are non-empty,
// sorted by start, and neither overlap nor touch (end_i < start_(i+1)).
// Sequence numbers compare modulo 2^32 (RFC 9293 §3.4): a is before b when
// (a - b) as i32 < 0. Precondition (TCP's window guarantees it): every number
// in the table and in the arguments lies within one span shorter than 2^31.
//
// Results are i32: counts or indices, or a negative code (see RANGE_FULL,
// RANGE_INVALID in src/wasm/reference.ts). A full table never grows: the cap
// bounds the work per call (SACK abuse, CVE-2019-11478), and inserts that
// need a new entry then fail with RANGE_FULL, leaving the table unchanged.
//
// Every function has a TypeScript twin in src/wasm/reference.ts with the
// same algorithm and results.

/** Result of rangeInsert when a new entry is needed and count == cap. */
const RANGE_FULL: i32 = -1;
/** Result of rangeInsert when end is before start. */
const RANGE_INVALID: i32 = -2;

function startAt(tab: usize, i: i32): u32 {
  return load<u32>(tab + (<usize> i << 3), 8);
}

function endAt(tab: usize, i: i32): u32 {
  return load<u32>(tab + (<usize> i << 3), 12);
}

function setRange(tab: usize, i: i32, s: u32, e: u32): void {
  store<u32>(tab + (<usize> i << 3), s, 8);
  store<u32>(tab + (<usize> i << 3), e, 12);
}

/** Move ranges [from, count) to start at index `to` (memmove). */
function moveRanges(tab: usize, from: i32, to: i32, count: i32): void {
  if (from != to && count > from) {
    memory.copy(
      tab + 8 + (<usize> to << 3),
      tab + 8 + (<usize> from << 3),
      <usize> (count - from) << 3,
    );
  }
}

/** First index in [0, n) whose end is not before `s` (end - s >= 0), else n. */
function firstEndFrom(tab: usize, n: i32, s: u32, strict: bool): i32 {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const d = <i32> (endAt(tab, mid) - s);
    if (strict ? d > 0 : d >= 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** First index in [lo, n) whose start is after `e` (start - e > 0), else n. */
function firstStartAfter(tab: usize, lo: i32, n: i32, e: u32): i32 {
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (<i32> (startAt(tab, mid) - e) > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Make the table at `tab` empty with room for `cap` ranges. */
export function rangeInit(tab: usize, cap: u32): void {
  store<u32>(tab, 0);
  store<u32>(tab, cap, 4);
}

/**
 * Add [s, e), merging with every range it overlaps or touches. Returns the new
 * count, RANGE_FULL (table unchanged) or RANGE_INVALID. An empty range is a
 * no-op that returns the count.
 */
export function rangeInsert(tab: usize, s: u32, e: u32): i32 {
  const n = load<i32>(tab);
  const len = <i32> (e - s);
  if (len < 0) return RANGE_INVALID;
  if (len == 0) return n;
  // Ranges before i end before s with a gap; ranges from j start after e with a gap.
  const i = firstEndFrom(tab, n, s, false);
  const j = firstStartAfter(tab, i, n, e);
  if (i == j) {
    if (n >= load<i32>(tab, 4)) return RANGE_FULL;
    moveRanges(tab, i, i + 1, n);
    setRange(tab, i, s, e);
    store<i32>(tab, n + 1);
    return n + 1;
  }
  const s0 = startAt(tab, i);
  const e1 = endAt(tab, j - 1);
  setRange(tab, i, <i32> (s0 - s) < 0 ? s0 : s, <i32> (e1 - e) > 0 ? e1 : e);
  moveRanges(tab, j, i + 1, n);
  const m = n - (j - i - 1);
  store<i32>(tab, m);
  return m;
}

/**
 * Drop everything before `seq` (RCV.NXT advanced): ranges that end at or
 * before it go, a range that straddles it starts at it. Returns the new count.
 */
export function rangeAdvance(tab: usize, seq: u32): i32 {
  const n = load<i32>(tab);
  const k = firstEndFrom(tab, n, seq, true);
  if (k < n && <i32> (startAt(tab, k) - seq) < 0) {
    store<u32>(tab + (<usize> k << 3), seq, 8);
  }
  moveRanges(tab, k, 0, n);
  store<i32>(tab, n - k);
  return n - k;
}

/** Index of the range containing `s`, or -1. */
export function rangeFind(tab: usize, s: u32): i32 {
  const n = load<i32>(tab);
  const i = firstEndFrom(tab, n, s, true);
  return i < n && <i32> (startAt(tab, i) - s) <= 0 ? i : -1;
}

/** How many sequence numbers of [s, e) the table covers (0 if e is not after s). */
export function rangeCovered(tab: usize, s: u32, e: u32): u32 {
  if (<i32> (e - s) <= 0) return 0;
  const n = load<i32>(tab);
  let total: u32 = 0;
  for (let i = firstEndFrom(tab, n, s, true); i < n; i++) {
    const rs = startAt(tab, i);
    if (<i32> (rs - e) >= 0) break;
    const re = endAt(tab, i);
    const lo = <i32> (rs - s) > 0 ? rs : s;
    const hi = <i32> (re - e) < 0 ? re : e;
    total += hi - lo;
  }
  return total;
}

/**
 * Write up to `max` SACK blocks as (start, end) u32-LE pairs at `out`: the
 * range containing `recent` first (RFC 2018 §4: the block holding the segment
 * that triggered the ACK), then the others in ascending order, nearest the
 * cumulative ACK first since those holes get retransmitted first. Returns the
 * number of blocks written.
 */
export function rangeSack(tab: usize, recent: u32, out: usize, max: i32): i32 {
  const n = load<i32>(tab);
  const f = rangeFind(tab, recent);
  let k = 0;
  if (f >= 0 && k < max) {
    store<u32>(out, startAt(tab, f));
    store<u32>(out, endAt(tab, f), 4);
    k = 1;
  }
  for (let i = 0; i < n && k < max; i++) {
    if (i == f) continue;
    store<u32>(out + (<usize> k << 3), startAt(tab, i));
    store<u32>(out + (<usize> k << 3), endAt(tab, i), 4);
    k++;
  }
  return k;
}
