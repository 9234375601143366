/**
 * Big-endian field access and the argument check every parser and emitter in
 * `src/wire/` shares.
 *
 * Readers here do no bounds checking: parsers check lengths once, up front,
 * and then read fields freely. Past the end of a `Uint8Array` an index reads
 * `undefined`, which bitwise operators turn into 0, so even a buggy unchecked
 * read cannot throw; it can only read zeros.
 *
 * @module
 */

/**
 * Throw `RangeError` unless `[offset, offset + length)` is a range of whole
 * bytes inside `u8`. This is the only exception a parser may raise: it signals
 * programmer misuse (a negative or fractional offset, a length running past the
 * view), never bad packet contents.
 *
 * @example
 * ```ts
 * import { checkRange } from "./bytes.ts";
 * checkRange(new Uint8Array(64), 14, 50, "parseIpv4"); // fine
 * // checkRange(new Uint8Array(64), -1, 10, "parseIpv4") throws RangeError
 * ```
 */
export function checkRange(u8: Uint8Array, offset: number, length: number, who: string): void {
  // `x >>> 0 === x` accepts exactly the integers 0 … 2^32-1 (no NaN, no fractions).
  if (offset >>> 0 !== offset || length >>> 0 !== length || offset + length > u8.length) {
    throw new RangeError(
      `${who}: range ${offset}+${length} is not a byte range inside a ${u8.length}-byte view`,
    );
  }
}

/**
 * Read a big-endian 16-bit unsigned integer.
 *
 * @example
 * ```ts
 * import { get16 } from "./bytes.ts";
 * get16(new Uint8Array([0x08, 0x00]), 0); // 0x0800
 * ```
 */
export function get16(u8: Uint8Array, off: number): number {
  return (u8[off]! << 8) | u8[off + 1]!;
}

/**
 * Read a big-endian 32-bit unsigned integer (as a non-negative number).
 *
 * @example
 * ```ts
 * import { get32 } from "./bytes.ts";
 * get32(new Uint8Array([0xc0, 0x00, 0x02, 0x01]), 0); // 0xc0000201
 * ```
 */
export function get32(u8: Uint8Array, off: number): number {
  return ((u8[off]! << 24) | (u8[off + 1]! << 16) | (u8[off + 2]! << 8) | u8[off + 3]!) >>> 0;
}

/**
 * Write a big-endian 16-bit integer (the low 16 bits of `v`).
 *
 * @example
 * ```ts
 * import { set16 } from "./bytes.ts";
 * const b = new Uint8Array(2);
 * set16(b, 0, 0x86dd); // b = [0x86, 0xdd]
 * ```
 */
export function set16(u8: Uint8Array, off: number, v: number): void {
  u8[off] = v >>> 8;
  u8[off + 1] = v;
}

/**
 * Write a big-endian 32-bit integer (the low 32 bits of `v`).
 *
 * @example
 * ```ts
 * import { set32 } from "./bytes.ts";
 * const b = new Uint8Array(4);
 * set32(b, 0, 0xc0000201); // b = [192, 0, 2, 1]
 * ```
 */
export function set32(u8: Uint8Array, off: number, v: number): void {
  u8[off] = v >>> 24;
  u8[off + 1] = v >>> 16;
  u8[off + 2] = v >>> 8;
  u8[off + 3] = v;
}

/**
 * Options shared by the parsers that verify a checksum.
 *
 * @example
 * ```ts
 * import type { ParseOptions } from "./bytes.ts";
 * // Hoist it: a literal per packet would allocate on the hot path.
 * const OFFLOADED: ParseOptions = { verifyChecksum: false };
 * ```
 */
export interface ParseOptions {
  /**
   * Verify the checksum (default `true`). Pass `false` only when the frame is
   * known good: loopback, or a device that already verified it
   * (`skb.ipSummed === Csum.Unnecessary`).
   */
  readonly verifyChecksum?: boolean;
}

/**
 * Options shared by the emitters that write a checksum.
 *
 * @example
 * ```ts
 * import type { EmitOptions } from "./bytes.ts";
 * const FOR_LOOPBACK: EmitOptions = { checksum: false };
 * ```
 */
export interface EmitOptions {
  /**
   * Compute and write the checksum (default `true`). With `false` the field
   * is written as 0 for a device or a later pass to fill in.
   */
  readonly checksum?: boolean;
}
