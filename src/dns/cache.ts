/**
 * The resolver's cache: RRsets by (name, type) for their TTL (RFC 1035
 * §7.4, RFC 2181 §5.2: an RRset's TTL is its smallest), and negative answers
 * (RFC 2308): NXDOMAIN for the whole name, NODATA for one type, each for the
 * SOA-derived negative TTL. Bounded in entries: the least recently used goes
 * first. Time comes from the stack's clock.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { canonicalName } from "./name.ts";
import type { DnsRecord } from "./wire.ts";

/** A cache hit. */
export type CacheHit =
  /** The RRset, TTLs lowered by the time spent in the cache. */
  | { readonly kind: "records"; readonly records: readonly DnsRecord[] }
  /** RFC 2308: the name does not exist (any type) or has no record of this type. */
  | { readonly kind: "nxdomain" | "nodata" };

/** Options for {@link DnsCache}. */
export interface DnsCacheOptions {
  /** Where the current time comes from (the stack's clock); TTLs count down on it. */
  clock: Clock;
  /** Most entries (default 1000). */
  maxEntries?: number;
  /** Longest a positive answer is kept, seconds (default 86400). */
  maxTtl?: number;
  /**
   * Longest a negative answer is kept, seconds (default 3600; RFC 2308 §5
   * suggests one to three hours at most).
   */
  maxNegativeTtl?: number;
}

interface Entry {
  readonly expires: number;
  readonly stored: number;
  readonly hit: CacheHit;
}

/** Counters of a {@link DnsCache}. */
export interface DnsCacheStats {
  /** Lookups answered with records. */
  hits: number;
  /** Lookups answered with a cached NXDOMAIN or NODATA (RFC 2308). */
  negativeHits: number;
  /** Lookups not answered. */
  misses: number;
  /** Entries dropped, least recently used first, to stay within `maxEntries`. */
  evictions: number;
  /** Entries found past their TTL and dropped. */
  expired: number;
}

/** Type key meaning "the whole name" (NXDOMAIN). */
const ANY_TYPE = -1;

/**
 * TTL cache for the stub resolver.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "../core/clock.ts";
 * import { DnsCache } from "./cache.ts";
 * const cache = new DnsCache({ clock: new VirtualClock() });
 * cache.putNegative("nx.test", 1, "nxdomain", 60);
 * cache.get("nx.test", 28)?.kind; // "nxdomain": NXDOMAIN covers every type
 * ```
 */
export class DnsCache {
  /** Hit, miss, eviction and expiry counters. */
  readonly stats: DnsCacheStats = { hits: 0, negativeHits: 0, misses: 0, evictions: 0, expired: 0 };
  readonly #clock: Clock;
  readonly #max: number;
  readonly #maxTtl: number;
  readonly #maxNegTtl: number;
  readonly #map = new Map<string, Entry>();

  /** An empty cache. Throws `RangeError` when `maxEntries` is not a non-negative integer. */
  constructor(options: DnsCacheOptions) {
    this.#clock = options.clock;
    this.#max = options.maxEntries ?? 1000;
    if (!(this.#max >= 0 && Number.isInteger(this.#max))) {
      throw new RangeError(`DNS cache size ${this.#max} is not a non-negative integer`);
    }
    this.#maxTtl = options.maxTtl ?? 86400;
    this.#maxNegTtl = options.maxNegativeTtl ?? 3600;
  }

  /** Entries held now (expired ones included until touched). */
  get size(): number {
    return this.#map.size;
  }

  /** The cached answer for (`name`, `type`), or undefined. */
  get(name: string, type: number): CacheHit | undefined {
    const n = canonicalName(name);
    const now = this.#clock.now();
    // RFC 2308 §5: a cached NXDOMAIN answers every type of the name.
    const nx = this.#live(`${n}|${ANY_TYPE}`, now);
    const e = nx ?? this.#live(`${n}|${type}`, now);
    if (e === undefined) {
      this.stats.misses++;
      return undefined;
    }
    if (e.hit.kind !== "records") {
      this.stats.negativeHits++;
      return e.hit;
    }
    this.stats.hits++;
    const spent = Math.floor((now - e.stored) / 1000);
    return {
      kind: "records",
      records: e.hit.records.map((r) => ({ ...r, ttl: Math.max(0, r.ttl - spent) })),
    };
  }

  /**
   * Keep an RRset (all records of one name and type) for its smallest TTL,
   * capped. A TTL of 0 is not cached (RFC 1035 §3.2.1: use only for this
   * transaction).
   */
  put(name: string, type: number, records: readonly DnsRecord[]): void {
    if (records.length === 0) return;
    const ttl = Math.min(this.#maxTtl, ...records.map((r) => r.ttl));
    if (ttl <= 0) return;
    const n = canonicalName(name);
    // A positive answer replaces a negative one for the name.
    this.#map.delete(`${n}|${ANY_TYPE}`);
    this.#set(`${n}|${type}`, ttl, { kind: "records", records: records.map((r) => ({ ...r })) });
  }

  /**
   * Keep a negative answer for `ttl` seconds (the caller derives it from the
   * SOA, RFC 2308 §5), capped.
   */
  putNegative(name: string, type: number, kind: "nxdomain" | "nodata", ttl: number): void {
    const t = Math.min(this.#maxNegTtl, ttl);
    if (!(t > 0)) return;
    const n = canonicalName(name);
    this.#set(`${n}|${kind === "nxdomain" ? ANY_TYPE : type}`, t, { kind });
  }

  /** Forget everything. */
  clear(): void {
    this.#map.clear();
  }

  #set(key: string, ttl: number, hit: CacheHit): void {
    if (this.#max === 0) return;
    const now = this.#clock.now();
    this.#map.delete(key);
    this.#map.set(key, { expires: now + ttl * 1000, stored: now, hit });
    while (this.#map.size > this.#max) {
      // Map iteration is insertion order; get() re-inserts, so the first is the LRU.
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
      this.stats.evictions++;
    }
  }

  #live(key: string, now: number): Entry | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    this.#map.delete(key);
    if (e.expires <= now) {
      this.stats.expired++;
      return undefined;
    }
    this.#map.set(key, e); // most recently used
    return e;
  }
}
