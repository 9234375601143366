/**
 * Randomness, injected. Secrets (ISN keys, ephemeral-port offsets, IP IDs) come
 * from {@link CryptoRandom}; tests and simulations use {@link SeededRandom} so a
 * failing run replays exactly from its seed.
 *
 * @module
 */
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** A source of random 32-bit words. */
export interface RandomSource {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number;
  /** Fill `bytes` with random bytes. */
  fill(bytes: Uint8Array): void;
}

/** A float in [0, 1) with 32 bits of randomness. */
export function randomFloat(rng: RandomSource): number {
  return rng.nextU32() / 4294967296;
}

/** An integer in [0, n), without modulo bias. `n` must be in 1 … 2³². */
export function randomInt(rng: RandomSource, n: number): number {
  if (!(n >= 1 && n <= 4294967296) || !Number.isInteger(n)) {
    throw new RangeError(`randomInt needs an integer bound in 1…2^32, got ${n}`);
  }
  const limit = 4294967296 - (4294967296 % n);
  for (;;) {
    const x = rng.nextU32();
    if (x < limit) return x % n;
  }
}

/**
 * Deterministic PRNG (xoroshiro128+, via pure-rand) for tests and simulation.
 *
 * @example
 * ```ts
 * import { SeededRandom } from "./random.ts";
 * const a = new SeededRandom(42), b = new SeededRandom(42);
 * a.nextU32() === b.nextU32(); // true
 * ```
 */
export class SeededRandom implements RandomSource {
  /** The seed it was made with. */
  readonly seed: number;
  #gen: { next(): number };

  /**
   * A generator whose sequence depends only on `seed`.
   *
   * @param seed any 32-bit integer
   */
  constructor(seed: number) {
    this.seed = seed | 0;
    this.#gen = xoroshiro128plus(this.seed);
    // xoroshiro's first outputs from a small seed are correlated; discard a few.
    for (let i = 0; i < 8; i++) this.#gen.next();
  }

  nextU32(): number {
    // xoroshiro128+'s lowest bits are its weakest: mix two outputs.
    const a = this.#gen.next();
    const b = this.#gen.next();
    return ((a & 0xffff0000) | (b >>> 16)) >>> 0;
  }

  fill(bytes: Uint8Array): void {
    let i = 0;
    for (; i + 4 <= bytes.length; i += 4) {
      const x = this.nextU32();
      bytes[i] = x;
      bytes[i + 1] = x >>> 8;
      bytes[i + 2] = x >>> 16;
      bytes[i + 3] = x >>> 24;
    }
    if (i < bytes.length) {
      let x = this.nextU32();
      for (; i < bytes.length; i++, x >>>= 8) bytes[i] = x;
    }
  }

  /** A new generator whose seed is drawn from this one (independent sub-streams). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextU32());
  }
}

/**
 * Cryptographically strong randomness from `crypto.getRandomValues`, buffered.
 *
 * @example
 * ```ts
 * import { CryptoRandom } from "./random.ts";
 * const key = new Uint8Array(16);
 * new CryptoRandom().fill(key);
 * ```
 */
export class CryptoRandom implements RandomSource {
  #buf = new Uint32Array(256);
  #pos = 256;

  nextU32(): number {
    if (this.#pos >= this.#buf.length) {
      crypto.getRandomValues(this.#buf);
      this.#pos = 0;
    }
    return this.#buf[this.#pos++]!;
  }

  fill(bytes: Uint8Array): void {
    // getRandomValues takes at most 65536 bytes per call, and refuses views
    // over shared memory (the arena may be a SharedArrayBuffer): go via a copy.
    const tmp = new Uint8Array(Math.min(bytes.length, 65536));
    for (let off = 0; off < bytes.length; off += 65536) {
      const n = Math.min(bytes.length - off, 65536);
      const chunk = tmp.subarray(0, n);
      crypto.getRandomValues(chunk);
      bytes.set(chunk, off);
    }
  }
}
