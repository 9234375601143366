/**
 * Keyed hashing for values an attacker must not predict or collide: IP IDs
 * (RFC 7739), ephemeral port offsets (RFC 6056), hash-table buckets fed by
 * packet fields (hash flooding: tests/core/hash_test.ts). HalfSipHash-2-4 (Aumasson & Bernstein),
 * the 32-bit SipHash variant Linux uses as `hsiphash`, over 32-bit words with
 * a 64-bit secret key from the injected random source.
 *
 * @module
 */
import type { RandomSource } from "./random.ts";

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

function be32(u8: Uint8Array, o: number): number {
  return (u8[o]! << 24) | (u8[o + 1]! << 16) | (u8[o + 2]! << 8) | u8[o + 3]!;
}

/**
 * A HalfSipHash-2-4 keyed hash of up to four 32-bit words.
 *
 * @example
 * ```ts
 * import { KeyedHash } from "./hash.ts";
 * import { SeededRandom } from "./random.ts";
 * const h = new KeyedHash(new SeededRandom(1));
 * h.hash3(0xc0000201, 0xc0000202, 17) === h.hash3(0xc0000201, 0xc0000202, 17); // true
 * ```
 */
export class KeyedHash {
  readonly #k0: number;
  readonly #k1: number;
  // State, kept in fields so hashing allocates nothing.
  #v0 = 0;
  #v1 = 0;
  #v2 = 0;
  #v3 = 0;

  /** Draw a fresh 64-bit key from `rng`, or use `key` (two 32-bit words). */
  constructor(rng: RandomSource, key?: readonly [number, number]) {
    this.#k0 = key ? key[0] | 0 : rng.nextU32() | 0;
    this.#k1 = key ? key[1] | 0 : rng.nextU32() | 0;
  }

  /** Hash one word. */
  hash1(a: number): number {
    this.#init();
    this.#word(a);
    return this.#final(4);
  }

  /** Hash two words. */
  hash2(a: number, b: number): number {
    this.#init();
    this.#word(a);
    this.#word(b);
    return this.#final(8);
  }

  /** Hash three words. */
  hash3(a: number, b: number, c: number): number {
    this.#init();
    this.#word(a);
    this.#word(b);
    this.#word(c);
    return this.#final(12);
  }

  /** Hash four words. */
  hash4(a: number, b: number, c: number, d: number): number {
    this.#init();
    this.#word(a);
    this.#word(b);
    this.#word(c);
    this.#word(d);
    return this.#final(16);
  }

  /**
   * Hash the eight words of two IPv6 addresses (16 bytes each, at `a[aOff]`
   * and `b[bOff]`, read in network order) and one more word: an IPv6
   * 4-tuple with its ports in `w`. One HalfSipHash over 36 bytes, read in
   * place (no allocation).
   */
  hashIp6Pair(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, w: number): number {
    this.#init();
    for (let i = 0; i < 16; i += 4) this.#word(be32(a, aOff + i));
    for (let i = 0; i < 16; i += 4) this.#word(be32(b, bOff + i));
    this.#word(w);
    return this.#final(36);
  }

  #init(): void {
    this.#v0 = this.#k0;
    this.#v1 = this.#k1;
    this.#v2 = this.#k0 ^ 0x6c796765;
    this.#v3 = this.#k1 ^ 0x74656462;
  }

  #round(): void {
    let v0 = this.#v0, v1 = this.#v1, v2 = this.#v2, v3 = this.#v3;
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
    this.#v0 = v0;
    this.#v1 = v1;
    this.#v2 = v2;
    this.#v3 = v3;
  }

  #word(m: number): void {
    this.#v3 ^= m;
    this.#round();
    this.#round();
    this.#v0 ^= m;
  }

  #final(len: number): number {
    // Length byte in the top of the last (empty) block, as the reference does.
    const b = (len & 0xff) << 24;
    this.#v3 ^= b;
    this.#round();
    this.#round();
    this.#v0 ^= b;
    this.#v2 ^= 0xff;
    this.#round();
    this.#round();
    this.#round();
    this.#round();
    return (this.#v1 ^ this.#v3) >>> 0;
  }
}
