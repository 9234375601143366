/**
 * Initial sequence numbers and per-connection timestamp offsets.
 *
 * - ISN (RFC 9293 §3.4.1, which absorbed RFC 6528):
 *   `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`, where
 *   M is a clock ticking every 4 µs (MUST-8) and F is HalfSipHash-2-4 keyed
 *   with a secret drawn from the injected random source (MUST-9). Linux's
 *   `secure_tcp_sequence_number` is the same shape (siphash plus a 64 ns
 *   clock); we keep the RFC's 4 µs tick.
 * - Timestamp offset (RFC 7323 §7.1; Linux `secure_tcp_ts_off`; N4): a keyed
 *   hash of the address pair added to our TSval clock, so TSvals do not reveal
 *   uptime and are not comparable across peers. It is per address pair, not
 *   per 4-tuple, so successive connections between the same hosts keep
 *   monotonic TSvals, which TIME-WAIT reuse (RFC 6191, Linux `tcp_twsk_unique`)
 *   and PAWS rely on.
 *
 * Only the clock advances M: for one 4-tuple the ISN grows by 250 per ms, so
 * an old duplicate of an earlier incarnation falls behind the new ISN
 * (RFC 9293 §3.4.1). Across restarts the key must be fresh (CryptoRandom in
 * production): with the same key and a clock that restarts from 0, ISNs
 * would repeat.
 *
 * @module
 */
import { KeyedHash } from "../core/hash.ts";
import type { RandomSource } from "../core/random.ts";
import type { Ipv4Address } from "../wire/addr.ts";

/** Options for {@link IsnGenerator}. */
export interface IsnGeneratorOptions {
  /** Monotonic clock in ms (fractions welcome: they feed the 4 µs tick). */
  now: () => number;
  /** Secret source: CryptoRandom in production, SeededRandom in tests. */
  rng: RandomSource;
}

/** Clock ticks per ms for M: one tick every 4 µs (RFC 9293 §3.4.1). */
export const ISN_TICKS_PER_MS = 250;

/**
 * ISN and timestamp-offset generator with its own secrets. Draws four words
 * from `rng` at construction: two for the ISN key, then two for the timestamp
 * key (two keys, so one output never helps guess the other).
 *
 * @example
 * ```ts
 * import { IsnGenerator } from "./isn.ts";
 * import { CryptoRandom } from "../core/random.ts";
 * const gen = new IsnGenerator({ now: () => performance.now(), rng: new CryptoRandom() });
 * const iss = gen.isn(0xc0000201, 40000, 0xc0000202, 80);
 * const tsOff = gen.tsOffset(0xc0000201, 0xc0000202);
 * ```
 */
export class IsnGenerator {
  readonly #now: () => number;
  readonly #isnKey: KeyedHash;
  readonly #tsKey: KeyedHash;

  /** Draw the ISN and timestamp secrets from `o.rng`. */
  constructor(o: IsnGeneratorOptions) {
    this.#now = o.now;
    this.#isnKey = new KeyedHash(o.rng);
    this.#tsKey = new KeyedHash(o.rng);
  }

  /**
   * The ISN for a connection from `laddr:lport` to `raddr:rport`, an unsigned
   * 32-bit number. Both directions' ports are in F, so two connections that
   * differ only in a port get unrelated ISNs.
   *
   * @example
   * ```ts
   * import { IsnGenerator } from "./isn.ts";
   * import { SeededRandom } from "../core/random.ts";
   * let t = 0;
   * const gen = new IsnGenerator({ now: () => t, rng: new SeededRandom(1) });
   * const a = gen.isn(0x0a000001, 40000, 0x0a000002, 80);
   * t += 1; // one millisecond later
   * (gen.isn(0x0a000001, 40000, 0x0a000002, 80) - a) >>> 0; // 250
   * ```
   */
  isn(laddr: Ipv4Address, lport: number, raddr: Ipv4Address, rport: number): number {
    // M: 4 µs ticks. The clock can exceed 2^32 ticks (after ~4.8 h); `>>> 0`
    // reduces the exact integer sum mod 2^32, which is the wrap we want.
    const m = Math.floor(this.#now() * ISN_TICKS_PER_MS);
    const f = this.#isnKey.hash3(laddr, raddr, ((lport & 0xffff) << 16) | (rport & 0xffff));
    return (m + f) >>> 0;
  }

  /**
   * The TCP timestamp offset for the address pair (RFC 7323 §7.1): add it to
   * the local timestamp clock for every TSval sent on connections between
   * these two addresses.
   *
   * @example
   * ```ts
   * import { IsnGenerator } from "./isn.ts";
   * import { SeededRandom } from "../core/random.ts";
   * const gen = new IsnGenerator({ now: () => 0, rng: new SeededRandom(1) });
   * gen.tsOffset(0x0a000001, 0x0a000002) === gen.tsOffset(0x0a000001, 0x0a000002); // true
   * ```
   */
  tsOffset(laddr: Ipv4Address, raddr: Ipv4Address): number {
    return this.#tsKey.hash2(laddr, raddr);
  }

  /**
   * {@link IsnGenerator.isn} for an IPv6 connection: `a6` holds the local
   * address at 0 and the remote one at 16 (a TCB's `addr6`); F hashes both
   * whole addresses and the ports (RFC 6528 / RFC 9293 §3.4.1 over IPv6).
   *
   * @example
   * ```ts
   * import { IsnGenerator } from "./isn.ts";
   * import { SeededRandom } from "../core/random.ts";
   * const gen = new IsnGenerator({ now: () => 0, rng: new SeededRandom(1) });
   * const a6 = new Uint8Array(32);
   * a6[15] = 1; a6[31] = 2; // ::1 → ::2
   * gen.isn6(a6, 40000, 80) >>> 0; // an unsigned 32-bit ISN
   * ```
   */
  isn6(a6: Uint8Array, lport: number, rport: number): number {
    const m = Math.floor(this.#now() * ISN_TICKS_PER_MS);
    const f = this.#isnKey.hashIp6Pair(a6, 0, a6, 16, ((lport & 0xffff) << 16) | (rport & 0xffff));
    return (m + f) >>> 0;
  }

  /**
   * {@link IsnGenerator.tsOffset} for an IPv6 address pair (`a6` as in
   * {@link IsnGenerator.isn6}).
   *
   * @example
   * ```ts
   * import { IsnGenerator } from "./isn.ts";
   * import { SeededRandom } from "../core/random.ts";
   * const gen = new IsnGenerator({ now: () => 0, rng: new SeededRandom(1) });
   * const a6 = new Uint8Array(32);
   * gen.tsOffset6(a6) === gen.tsOffset6(a6); // true
   * ```
   */
  tsOffset6(a6: Uint8Array): number {
    return this.#tsKey.hashIp6Pair(a6, 0, a6, 16, 0);
  }
}
