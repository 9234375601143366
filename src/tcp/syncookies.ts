/**
 * SYN cookies (RFC 4987 §3.6; Linux
 * `net/ipv4/syncookies.c`): when a listener's queues are full, the SYN-ACK's
 * ISN encodes what the SYN-queue entry would have held, and nothing is
 * stored. The handshake-completing ACK (SEG.ACK − 1 = the cookie) rebuilds
 * the connection.
 *
 * Layout (Linux's `secure_tcp_syn_cookie` shape, our own keys and hash):
 *
 *     cookie = H1(4-tuple) + SEG.SEQ(SYN) + (t << 24)
 *            + ((H2(4-tuple, t) + mssIndex) mod 2^24)      (mod 2^32)
 *
 * H1 and H2 are HalfSipHash-2-4 with two secrets drawn from the injected
 * random source (lazily, at the first cookie, so a stack that never sends
 * one draws nothing). `t` is a minute counter; a cookie is valid for
 * {@link COOKIE_MAX_AGE} slots (the current and the previous minute). The
 * top 8 bits carry `t` in clear, so an old cookie is rejected before any
 * hash is compared; the low 24 bits are only valid when H2 of that `t` plus
 * a small MSS index falls back out, which a blind attacker hits with
 * probability about {@link COOKIE_MSS_TABLE}.length / 2^24 per guess.
 *
 * Options that do not fit in the ISN (window scale, SACK-permitted) ride in
 * the low 6 bits of our SYN-ACK's TSval and come back in the ACK's TSecr
 * (Linux `cookie_init_timestamp` / `cookie_timestamp_decode`); without
 * timestamps they are not offered.
 *
 * @module
 */
import { KeyedHash } from "../core/hash.ts";
import type { RandomSource } from "../core/random.ts";
import type { Ipv4Address } from "../wire/addr.ts";

/**
 * Peer MSS values a cookie can express (index in the low bits). A peer MSS
 * is rounded down to the largest entry not above it; 88 is the stack's MSS
 * floor (`minMss`), the rest are Linux's `msstab` plus a jumbo entry.
 */
export const COOKIE_MSS_TABLE: readonly number[] = Object.freeze([88, 536, 1300, 1440, 1460, 8960]);

/** Cookie time slot length in ms (Linux: one minute, `tcp_cookie_time`). */
export const COOKIE_SLOT_MS = 60_000;

/** Slots a cookie stays valid: the current and the previous (Linux MAX_SYNCOOKIE_AGE). */
export const COOKIE_MAX_AGE = 2;

/** TSval low bits carrying options: 4 bits of window scale (0xf = none), 1 bit SACK. */
export const COOKIE_TS_BITS = 6;
const TS_MASK = (1 << COOKIE_TS_BITS) - 1;
const WSCALE_NONE = 0xf;
const SACK_BIT = 0x10;

/** What a valid cookie (and the TSecr riding with it) gives back. */
export interface CookieOptions {
  /** The peer's MSS, rounded down to a table entry. */
  mss: number;
}

/** Window scale and SACK-permitted decoded from an echoed TSval. */
export interface CookieTsOptions {
  /** The peer's window scale, or null when it offered none. */
  windowScale: number | null;
  /** The peer offered SACK. */
  sackPermitted: boolean;
}

/**
 * The index of the largest {@link COOKIE_MSS_TABLE} entry ≤ `mss`.
 *
 * @example
 * ```ts
 * import { cookieMssIndex } from "./syncookies.ts";
 * cookieMssIndex(1460); // 4
 * cookieMssIndex(1400); // 2 (1300)
 * ```
 */
export function cookieMssIndex(mss: number): number {
  let i = COOKIE_MSS_TABLE.length - 1;
  while (i > 0 && COOKIE_MSS_TABLE[i]! > mss) i--;
  return i;
}

/**
 * Put the window scale / SACK-permitted in the low bits of `tsNow`, never
 * moving it forward (Linux `cookie_init_timestamp`: TSvals stay monotonic).
 *
 * @example
 * ```ts
 * import { cookieEncodeTs } from "./syncookies.ts";
 * cookieEncodeTs(1000, 7, true) & 0x3f; // 0x17
 * ```
 */
export function cookieEncodeTs(tsNow: number, wscale: number | null, sack: boolean): number {
  const bits = (wscale === null ? WSCALE_NONE : wscale & 0xf) | (sack ? SACK_BIT : 0);
  let ts = ((tsNow & ~TS_MASK) | bits) >>> 0;
  if (((ts - tsNow) | 0) > 0) ts = (ts - (1 << COOKIE_TS_BITS)) >>> 0;
  return ts;
}

/**
 * Read the options back from an echoed TSval (the ACK's TSecr).
 *
 * @example
 * ```ts
 * import { cookieDecodeTs, cookieEncodeTs } from "./syncookies.ts";
 * cookieDecodeTs(cookieEncodeTs(5000, 7, true)); // { windowScale: 7, sackPermitted: true }
 * ```
 */
export function cookieDecodeTs(tsEcr: number): CookieTsOptions {
  const w = tsEcr & 0xf;
  return { windowScale: w === WSCALE_NONE ? null : w, sackPermitted: (tsEcr & SACK_BIT) !== 0 };
}

/**
 * Cookie generator and checker with its own secrets.
 *
 * @example
 * ```ts
 * import { SynCookies } from "./syncookies.ts";
 * import { SeededRandom } from "../core/random.ts";
 * const c = new SynCookies({ now: () => 0, rng: new SeededRandom(1) });
 * const isn = c.make(0x0a000002, 80, 0x0a000001, 40000, 1000, 1460);
 * c.check(0x0a000002, 80, 0x0a000001, 40000, 1000, isn); // { mss: 1460 }
 * ```
 */
export class SynCookies {
  readonly #now: () => number;
  readonly #rng: RandomSource;
  #h1: KeyedHash | null = null;
  #h2: KeyedHash | null = null;

  /** Secrets are drawn from `o.rng` at the first use. */
  constructor(o: { now: () => number; rng: RandomSource }) {
    this.#now = o.now;
    this.#rng = o.rng;
  }

  #slot(): number {
    return Math.floor(this.#now() / COOKIE_SLOT_MS) & 0xff;
  }

  #keys(): [KeyedHash, KeyedHash] {
    this.#h1 ??= new KeyedHash(this.#rng);
    this.#h2 ??= new KeyedHash(this.#rng);
    return [this.#h1, this.#h2];
  }

  /**
   * The ISN for a cookie SYN-ACK from `laddr:lport` to `raddr:rport`
   * answering a SYN with sequence number `synSeq` and MSS option `mss`.
   */
  make(
    laddr: Ipv4Address,
    lport: number,
    raddr: Ipv4Address,
    rport: number,
    synSeq: number,
    mss: number,
  ): number {
    const [h1, h2] = this.#keys();
    const ports = ((lport & 0xffff) << 16) | (rport & 0xffff);
    const t = this.#slot();
    const low = (h2.hash4(laddr, raddr, ports, t) + cookieMssIndex(mss)) & 0xffffff;
    return (h1.hash3(laddr, raddr, ports) + synSeq + (t << 24) + low) >>> 0;
  }

  /**
   * Validate `cookie` (SEG.ACK − 1) for the 4-tuple and the client's ISN
   * (SEG.SEQ − 1); the decoded options, or null when forged or expired.
   */
  check(
    laddr: Ipv4Address,
    lport: number,
    raddr: Ipv4Address,
    rport: number,
    synSeq: number,
    cookie: number,
  ): CookieOptions | null {
    const [h1, h2] = this.#keys();
    const ports = ((lport & 0xffff) << 16) | (rport & 0xffff);
    const c = (cookie - h1.hash3(laddr, raddr, ports) - synSeq) >>> 0;
    const t = c >>> 24;
    // Bounded age (RFC 4987 §3.6: the counter limits replay of old cookies).
    if (((this.#slot() - t) & 0xff) >= COOKIE_MAX_AGE) return null;
    const idx = (c - h2.hash4(laddr, raddr, ports, t)) & 0xffffff;
    if (idx >= COOKIE_MSS_TABLE.length) return null;
    return { mss: COOKIE_MSS_TABLE[idx]! };
  }

  /**
   * {@link SynCookies.make} for IPv6 (Linux `cookie_v6_init_sequence`): `a6`
   * holds our address at 0 and the peer's at 16; the hashes cover both
   * whole addresses.
   */
  make6(a6: Uint8Array, lport: number, rport: number, synSeq: number, mss: number): number {
    const [h1, h2] = this.#keys();
    const ports = ((lport & 0xffff) << 16) | (rport & 0xffff);
    const t = this.#slot();
    const low = (h2.hash2(h2.hashIp6Pair(a6, 0, a6, 16, ports), t) + cookieMssIndex(mss)) &
      0xffffff;
    return (h1.hashIp6Pair(a6, 0, a6, 16, ports) + synSeq + (t << 24) + low) >>> 0;
  }

  /** {@link SynCookies.check} for IPv6 (`a6` as for {@link SynCookies.make6}). */
  check6(
    a6: Uint8Array,
    lport: number,
    rport: number,
    synSeq: number,
    cookie: number,
  ): CookieOptions | null {
    const [h1, h2] = this.#keys();
    const ports = ((lport & 0xffff) << 16) | (rport & 0xffff);
    const c = (cookie - h1.hashIp6Pair(a6, 0, a6, 16, ports) - synSeq) >>> 0;
    const t = c >>> 24;
    if (((this.#slot() - t) & 0xff) >= COOKIE_MAX_AGE) return null;
    const idx = (c - h2.hash2(h2.hashIp6Pair(a6, 0, a6, 16, ports), t)) & 0xffffff;
    if (idx >= COOKIE_MSS_TABLE.length) return null;
    return { mss: COOKIE_MSS_TABLE[idx]! };
  }
}
