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

/** Fold a non-negative integer < 2^53 into a 16-bit one's-complement sum. */
export function foldSum(x: number): number {
  // Split into 16-bit pieces without 32-bit overflow, then fold carries.
  let s = (x % 65536) + Math.floor(x / 65536) % 65536 + Math.floor(x / 4294967296);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The checksum field value for a sum: its one's complement. */
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

/** Copy `len` bytes from `src` to `dst` (may not overlap) and return their sum plus `initial`. */
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
 */
export function sumBlockAdd(a: number, b: number, offset: number): number {
  if (offset & 1) b = ((b & 0xff) << 8) | (b >>> 8);
  return foldSum(a + b);
}

/** Sum of an IPv4 pseudo-header (RFC 9293 §3.1, RFC 768): src, dst, zero, protocol, length. */
export function ipv4PseudoSum(src: number, dst: number, protocol: number, length: number): number {
  return foldSum(
    (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length,
  );
}

/**
 * Incremental update of a checksum field when a 16-bit word changes from `m`
 * to `m2` (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
 */
export function csumUpdate16(hc: number, m: number, m2: number): number {
  return ~foldSum((~hc & 0xffff) + (~m & 0xffff) + (m2 & 0xffff)) & 0xffff;
}

/** Incremental update for a 32-bit field (e.g. an IPv4 address) changing from `m` to `m2`. */
export function csumUpdate32(hc: number, m: number, m2: number): number {
  return ~foldSum(
    (~hc & 0xffff) + (~(m >>> 16) & 0xffff) + (~m & 0xffff) + (m2 >>> 16) + (m2 & 0xffff),
  ) & 0xffff;
}
