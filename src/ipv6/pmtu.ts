/**
 * The IPv6 path MTU cache (RFC 8201): what Packet Too Big messages taught us
 * about each destination, bounded and aging.
 *
 * - **Never below 1280** (RFC 8201 §4; RFC 8021: a Packet Too Big with a
 *   smaller MTU no longer triggers atomic fragments, so it is clamped).
 * - **Only decreases** from a Packet Too Big: a claimed MTU at or above the
 *   current estimate is ignored (§4: "MUST NOT increase its estimate of the
 *   Path MTU in response to the contents of a Packet Too Big message").
 * - **Aging** (§4): an entry is dropped after `expiryMs` (default 10 minutes,
 *   the recommended value), so an increase is detected by trying the link
 *   MTU again.
 * - **Bounded** (`maxEntries`, default 1024): a flood of forged Packet Too
 *   Big messages for random destinations evicts the oldest entry; buckets are
 *   chosen by a keyed hash, so they cannot be aimed at one chain.
 * - The lookup costs nothing while the cache is empty, the normal case.
 *
 * @module
 */
import { KeyedHash } from "../core/hash.ts";
import type { RandomSource } from "../core/random.ts";
import { ip6Equal, ip6Word } from "../wire/addr6.ts";
import { IPV6_MIN_MTU } from "../wire/ipv6.ts";

interface Entry {
  readonly addr: Uint8Array;
  mtu: number;
  expires: number;
}

/**
 * Path MTU estimates by destination.
 *
 * @example
 * ```ts
 * import { PmtuCache } from "./pmtu.ts";
 * import { SeededRandom } from "../core/random.ts";
 * import { parseIpv6Address } from "../wire/addr6.ts";
 * let now = 0;
 * const pmtu = new PmtuCache(() => now, new SeededRandom(1));
 * const dst = parseIpv6Address("2001:db8::9");
 * pmtu.update(dst, 0, 1400, 1500); // true: learnt
 * pmtu.get(dst, 0, 1500); // 1400
 * ```
 */
export class PmtuCache {
  /** Most destinations remembered; the oldest goes first. */
  readonly maxEntries: number;
  /** How long an estimate is kept, ms (RFC 8201 §4: at least 5 minutes; default 10). */
  readonly expiryMs: number;
  readonly #now: () => number;
  readonly #hash: KeyedHash;
  /** Insertion order = age order (Map keeps it): the first key is the oldest. */
  readonly #buckets = new Map<number, Entry[]>();
  #size = 0;

  /**
   * An empty cache; `now` is the clock, `rng` keys the hash (defaults: 1024 entries, 600 000 ms).
   */
  constructor(
    now: () => number,
    rng: RandomSource,
    o: { maxEntries?: number; expiryMs?: number } = {},
  ) {
    this.#now = now;
    this.#hash = new KeyedHash(rng);
    this.maxEntries = o.maxEntries ?? 1024;
    this.expiryMs = o.expiryMs ?? 600_000;
  }

  /** Destinations with an estimate. */
  get size(): number {
    return this.#size;
  }

  /** The path MTU towards `u8[off]`: the cached estimate if lower than `linkMtu`, else `linkMtu`. */
  get(u8: Uint8Array, off: number, linkMtu: number): number {
    if (this.#size === 0) return linkMtu;
    const e = this.#find(this.#key(u8, off), u8, off);
    if (e === undefined) return linkMtu;
    if (e.expires <= this.#now()) {
      this.#delete(this.#key(u8, off), e);
      return linkMtu;
    }
    return e.mtu < linkMtu ? e.mtu : linkMtu;
  }

  /**
   * A Packet Too Big said `mtu` towards `u8[off]` (whose current path MTU is
   * `current`). Returns true when the estimate went down.
   */
  update(u8: Uint8Array, off: number, mtu: number, current: number): boolean {
    // RFC 8201 §4: never below the IPv6 minimum link MTU.
    const m = Math.max(IPV6_MIN_MTU, mtu >>> 0);
    if (m >= current) return false;
    const key = this.#key(u8, off);
    const expires = this.#now() + this.expiryMs;
    const e = this.#find(key, u8, off);
    if (e !== undefined) {
      if (m >= e.mtu && e.expires > this.#now()) return false;
      e.mtu = m;
      e.expires = expires;
      return true;
    }
    if (this.#size >= this.maxEntries) this.#evictOldest();
    const entry: Entry = { addr: u8.slice(off, off + 16), mtu: m, expires };
    const b = this.#buckets.get(key);
    if (b === undefined) this.#buckets.set(key, [entry]);
    else b.push(entry);
    this.#size++;
    return true;
  }

  /** Forget everything. */
  clear(): void {
    this.#buckets.clear();
    this.#size = 0;
  }

  #key(u8: Uint8Array, off: number): number {
    return this.#hash.hash4(
      ip6Word(u8, off, 0),
      ip6Word(u8, off, 1),
      ip6Word(u8, off, 2),
      ip6Word(u8, off, 3),
    );
  }

  #find(key: number, u8: Uint8Array, off: number): Entry | undefined {
    const b = this.#buckets.get(key);
    if (b === undefined) return undefined;
    for (let i = 0; i < b.length; i++) if (ip6Equal(b[i]!.addr, 0, u8, off)) return b[i];
    return undefined;
  }

  #delete(key: number, e: Entry): void {
    const b = this.#buckets.get(key);
    if (b === undefined) return;
    const i = b.indexOf(e);
    if (i >= 0) {
      b.splice(i, 1);
      this.#size--;
    }
    if (b.length === 0) this.#buckets.delete(key);
  }

  #evictOldest(): void {
    for (const [key, b] of this.#buckets) {
      this.#delete(key, b[0]!);
      return;
    }
  }
}
