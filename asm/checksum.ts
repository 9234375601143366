// Internet checksum hot paths (RFC 1071, RFC 1624) over absolute offsets into
// the imported arena memory. AssemblyScript; compiled by build.ts twice from
// this one source: with SIMD (ASC_FEATURE_SIMD true) and without.
//
// Conventions match src/wasm/reference.ts: a "sum" is the one's-complement sum
// of big-endian 16-bit words, folded to 0..0xffff, NOT complemented; an odd
// trailing byte is the HIGH byte of a zero-padded word; `initial` is any u32
// and is folded in.
//
// Why little-endian inside: WebAssembly loads are little-endian, so the loops
// sum little-endian words and byte-swap once at the end. RFC 1071 §2(B) (byte
// order independence): the LE sum is exactly the byte swap of the BE sum,
// including the 0 / 0xffff distinction (a folded sum is 0 only if every word
// is 0). So `initial` is swapped in and the result swapped out.
//
// Why any alignment works: the words pair bytes relative to `off`, and wasm
// loads may be unaligned, so odd start offsets need no special case.
//
// No allocation, no static data: everything lives in locals.

/** Swap the two bytes of a 16-bit value. */
function swap16(x: u32): u32 {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}

/** Fold a u32 to a 16-bit one's-complement sum (0 stays 0). */
function fold32(x: u32): u32 {
  x = (x >>> 16) + (x & 0xffff); // <= 0x1fffe
  return (x >>> 16) + (x & 0xffff); // <= 0xffff
}

/** Fold a u64 to a 16-bit one's-complement sum (0 stays 0). */
function fold64(s: u64): u32 {
  s = (s >>> 32) + (s & 0xffffffff); // <= 2^33 - 2
  s = (s >>> 32) + (s & 0xffffffff); // <= 2^32 - 1
  return fold32(<u32> s);
}

/**
 * Bytes per SIMD flush. Each of the four accumulator pairs takes one vector in
 * four, so a lane sees at most CHUNK / 64 = 16384 adds per pair and 65536 once
 * the pairs are combined, each <= 0xffff: the combined lane sum of low halves
 * stays below 2^32, which the reduction relies on. (A partial last chunk has
 * at most 4 * 16383 main-loop adds plus 4 for its tail: 65536 again.)
 */
const CHUNK: usize = 1 << 20;

/**
 * Reduce combined accumulators to a u64 (< 2^35): `b` holds whole u32 lanes
 * modulo 2^32 and `a` their high halves exactly, so the low-half sums are
 * b - (a << 16), exact because they are < 2^32.
 *
 * Why this split: per 16 bytes it costs one load, one shift and two adds,
 * one instruction fewer than i32x4.extadd_pairwise_i16x8_u + add (V8 lowers
 * the extadd to shift + blend + add on x64).
 */
function reduceLanes(a: v128, b: v128): u64 {
  const lo = i32x4.sub(b, i32x4.shl(a, 16));
  const s = i64x2.add(
    i64x2.add(i64x2.extend_low_i32x4_u(lo), i64x2.extend_high_i32x4_u(lo)),
    i64x2.add(i64x2.extend_low_i32x4_u(a), i64x2.extend_high_i32x4_u(a)),
  );
  return <u64> i64x2.extract_lane(s, 0) + <u64> i64x2.extract_lane(s, 1);
}

/**
 * Folded LE-domain sum of `len` bytes at `p` (SIMD build): 64 bytes per
 * iteration into four accumulator pairs, then 16-byte blocks, then the last
 * 1..15 bytes taken from the 16 bytes that end at `p + len` and moved to the
 * bottom lanes by a swizzle (indices past 15 give zero), so no scalar tail.
 * Reading up to 15 bytes before `p` is harmless: they are discarded. Only a
 * buffer ending below offset 16 has nothing to look back on; it takes the
 * scalar path (the arena reserves that page anyway).
 */
function sumSimd(p: usize, len: usize): u32 {
  const end = p + len;
  if (end < 16) return sumWords(p, len, 0);
  let acc: u64 = 0;
  do {
    const stop = end - p > CHUNK ? p + CHUNK : end;
    const stop64 = p + ((stop - p) & ~(<usize> 63));
    let a0 = i32x4.splat(0);
    let b0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let b1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let b2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    let b3 = i32x4.splat(0);
    while (p < stop64) {
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      const v2 = v128.load(p, 32);
      const v3 = v128.load(p, 48);
      b0 = i32x4.add(b0, v0);
      a0 = i32x4.add(a0, i32x4.shr_u(v0, 16));
      b1 = i32x4.add(b1, v1);
      a1 = i32x4.add(a1, i32x4.shr_u(v1, 16));
      b2 = i32x4.add(b2, v2);
      a2 = i32x4.add(a2, i32x4.shr_u(v2, 16));
      b3 = i32x4.add(b3, v3);
      a3 = i32x4.add(a3, i32x4.shr_u(v3, 16));
      p += 64;
    }
    while (stop - p >= 16) {
      const v = v128.load(p);
      b1 = i32x4.add(b1, v);
      a1 = i32x4.add(a1, i32x4.shr_u(v, 16));
      p += 16;
    }
    if (p < stop) {
      // Only in the last chunk (CHUNK is a multiple of 16), so stop == end.
      const shift = i8x16.splat(<i8> (16 - (stop - p)));
      const index = i8x16.add(i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), shift);
      const v = i8x16.swizzle(v128.load(end - 16), index);
      b2 = i32x4.add(b2, v);
      a2 = i32x4.add(a2, i32x4.shr_u(v, 16));
      p = stop;
    }
    acc += reduceLanes(
      i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)),
      i32x4.add(i32x4.add(b0, b1), i32x4.add(b2, b3)),
    );
  } while (p < end);
  return fold64(acc);
}

/**
 * Copy `n` bytes (a multiple of 64, at most CHUNK) from `p` to `dst` and
 * return their sum (LE domain, unfolded, < 2^35); SIMD build.
 */
function copyVectors(p: usize, n: usize, dst: usize): u64 {
  let a0 = i32x4.splat(0);
  let b0 = i32x4.splat(0);
  let a1 = i32x4.splat(0);
  let b1 = i32x4.splat(0);
  const end = p + n;
  while (p < end) {
    const v0 = v128.load(p);
    const v1 = v128.load(p, 16);
    const v2 = v128.load(p, 32);
    const v3 = v128.load(p, 48);
    v128.store(dst, v0);
    v128.store(dst, v1, 16);
    v128.store(dst, v2, 32);
    v128.store(dst, v3, 48);
    // Two pairs, two vectors each: at most 2 * CHUNK / 64 = 32768 adds per
    // lane per pair, 65536 combined, as for sumSimd.
    b0 = i32x4.add(b0, v0);
    a0 = i32x4.add(a0, i32x4.shr_u(v0, 16));
    b1 = i32x4.add(b1, v1);
    a1 = i32x4.add(a1, i32x4.shr_u(v1, 16));
    b0 = i32x4.add(b0, v2);
    a0 = i32x4.add(a0, i32x4.shr_u(v2, 16));
    b1 = i32x4.add(b1, v3);
    a1 = i32x4.add(a1, i32x4.shr_u(v3, 16));
    p += 64;
    dst += 64;
  }
  return reduceLanes(i32x4.add(a0, a1), i32x4.add(b0, b1));
}

/**
 * Folded LE-domain sum of `n` bytes at `p` with 64-bit loads and an explicit
 * carry count; also copies to `dst` when it is non-zero. Handles any `n`.
 */
function sumWords(p: usize, n: usize, dst: usize): u32 {
  let s: u64 = 0;
  let c: u64 = 0;
  let v: u64;
  if (dst == 0) {
    while (n >= 32) {
      v = load<u64>(p);
      s += v;
      c += <u64> (s < v);
      v = load<u64>(p, 8);
      s += v;
      c += <u64> (s < v);
      v = load<u64>(p, 16);
      s += v;
      c += <u64> (s < v);
      v = load<u64>(p, 24);
      s += v;
      c += <u64> (s < v);
      p += 32;
      n -= 32;
    }
  }
  while (n >= 8) {
    v = load<u64>(p);
    if (dst != 0) {
      store<u64>(dst, v);
      dst += 8;
    }
    s += v;
    c += <u64> (s < v);
    p += 8;
    n -= 8;
  }
  // Tail of 0..7 bytes at an even distance from the start: build one LE u64
  // whose 16-bit lanes pair the bytes the same way; a last odd byte lands in
  // the low byte of a lane, i.e. the high byte of a big-endian word.
  v = 0;
  let shift: u64 = 0;
  if (n & 4) {
    const w = load<u32>(p);
    if (dst != 0) {
      store<u32>(dst, w);
      dst += 4;
    }
    v = <u64> w;
    shift = 32;
    p += 4;
  }
  if (n & 2) {
    const w = load<u16>(p);
    if (dst != 0) {
      store<u16>(dst, w);
      dst += 2;
    }
    v |= <u64> w << shift;
    shift += 16;
    p += 2;
  }
  if (n & 1) {
    const w = load<u8>(p);
    if (dst != 0) store<u8>(dst, w);
    v |= <u64> w << shift;
  }
  s += v;
  c += <u64> (s < v);
  return fold64(<u64> fold64(s) + c);
}

/** Folded LE-domain sum of `len` bytes at `p`. */
function sumLE(p: usize, len: usize): u32 {
  if (ASC_FEATURE_SIMD) return sumSimd(p, len);
  return sumWords(p, len, 0);
}

/** Folded LE-domain sum of a copy from `src` to `dst` (memmove semantics if the ranges overlap). */
function sumCopyLE(src: usize, dst: usize, len: usize): u32 {
  if (dst == src) return sumLE(src, len);
  if (dst == 0 || dst - src < len || src - dst < len) {
    // Overlap: a one-pass copy would read bytes it already overwrote. (And
    // dst 0 means "no copy" to sumWords; offset 0 is never a buffer anyway.)
    memory.copy(dst, src, len);
    return sumLE(dst, len);
  }
  if (ASC_FEATURE_SIMD) {
    let acc: u64 = 0;
    while (len >= 64) {
      const k = len < CHUNK ? len & ~(<usize> 63) : CHUNK;
      acc += copyVectors(src, k, dst);
      src += k;
      dst += k;
      len -= k;
    }
    return fold64(acc + <u64> sumWords(src, len, dst));
  }
  return sumWords(src, len, dst);
}

/**
 * RFC 1071 sum of `len` bytes at `off`, plus `initial`: folded, not complemented.
 */
export function checksum(off: usize, len: usize, initial: u32): u32 {
  return swap16(fold32(sumLE(off, len) + swap16(fold32(initial))));
}

/**
 * Copy `len` bytes from `src` to `dst` and return their sum plus `initial`
 * (Linux csum_partial_copy). Overlapping ranges behave like memmove.
 */
export function checksumCopy(src: usize, dst: usize, len: usize, initial: u32): u32 {
  return swap16(fold32(sumCopyLE(src, dst, len) + swap16(fold32(initial))));
}

/**
 * Sum each of `count` (off, len) u32-LE descriptor pairs at `descOff` (initial
 * 0) and store the sums as u32-LE at `outOff`; returns `count`. One boundary
 * crossing for a batch of packets (and a way to time the loop alone).
 */
export function checksumBatch(descOff: usize, count: u32, outOff: usize): u32 {
  for (let i: u32 = 0; i < count; i++) {
    const d = descOff + (<usize> i << 3);
    store<u32>(outOff + (<usize> i << 2), checksum(load<u32>(d), load<u32>(d, 4), 0));
  }
  return count;
}

/**
 * Copy `count` (off, len) u32-LE descriptor pairs at `descOff` back to back
 * into `dst`; returns the number of bytes copied. Each copy is a memmove.
 */
export function gather(descOff: usize, count: u32, dst: usize): u32 {
  let d = dst;
  for (let i: u32 = 0; i < count; i++) {
    const p = descOff + (<usize> i << 3);
    const n = load<u32>(p, 4);
    memory.copy(d, load<u32>(p), n);
    d += n;
  }
  return <u32> (d - dst);
}

/**
 * Like {@link gather}, returning instead the sum of the gathered bytes plus
 * `initial` (what checksum(dst, total, initial) would give afterwards).
 */
export function gatherChecksum(descOff: usize, count: u32, dst: usize, initial: u32): u32 {
  let d = dst;
  let acc: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const p = descOff + (<usize> i << 3);
    const n = load<u32>(p, 4);
    const s = sumCopyLE(load<u32>(p), d, n);
    // A segment that starts at an odd position pairs its bytes the other way
    // round relative to the whole (Linux csum_block_add).
    acc += <u64> ((d - dst) & 1 ? swap16(s) : s);
    d += n;
  }
  return swap16(fold32(fold64(acc) + swap16(fold32(initial))));
}

/** RFC 1624 eqn. 3 for a 16-bit field changing from `m` to `m2`: HC' = ~(~HC + ~m + m'). */
export function csumUpdate16(hc: u32, m: u32, m2: u32): u32 {
  return ~fold32((~hc & 0xffff) + (~m & 0xffff) + (m2 & 0xffff)) & 0xffff;
}

/** RFC 1624 eqn. 3 for a 32-bit field (two 16-bit words) changing from `m` to `m2`. */
export function csumUpdate32(hc: u32, m: u32, m2: u32): u32 {
  const s = (~hc & 0xffff) + (~(m >>> 16) & 0xffff) + (~m & 0xffff) + (m2 >>> 16) + (m2 & 0xffff);
  return ~fold32(s) & 0xffff;
}

/** Sum of the IPv4 pseudo-header (RFC 9293 §3.1, RFC 768): src, dst, zero, protocol, length. */
export function ipv4PseudoSum(src: u32, dst: u32, protocol: u32, length: u32): u32 {
  return fold64(
    <u64> (src >>> 16) + <u64> (src & 0xffff) + <u64> (dst >>> 16) + <u64> (dst & 0xffff) +
      <u64> protocol + <u64> length,
  );
}
