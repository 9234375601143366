/**
 * Fair admission for a server's connections (issue 15, slowloris): a global
 * cap, a cap per client address, and — at either cap — eviction of the
 * connection that has waited longest for a request head instead of refusing
 * the newcomer. A connection is *waiting* from its accept, and again after
 * each response, until a complete request head arrives; it is *busy* while
 * that request is received and answered. Only waiting connections are
 * evicted, so a client that sends its request at once is never cut off by
 * one that trickles; a newcomer is refused only when every connection at the
 * cap is busy.
 *
 * Why evict rather than refuse: with refusal, whoever holds the slots keeps
 * them (300 slow connections reopened at once leave a normal client 0
 * successes in 106 tries); with eviction, holding a slot costs the attacker
 * a fresh connection for every newcomer, and the newcomer that sends its
 * request in one round trip gets served. Apache's `mod_reqtimeout` and
 * nginx's `client_header_timeout` bound how long a head may take; this
 * bounds how many may be waiting when someone else needs the slot.
 *
 * @module
 */

/** What {@link HttpAdmission.admit} decided for a new connection. */
export type AdmitResult =
  | "admitted"
  /** Admitted after evicting a waiting connection of the same address. */
  | "evicted_per_client"
  /** Admitted after evicting the longest-waiting connection of anyone. */
  | "evicted"
  /** The address is at its cap and all its connections are busy. */
  | "refused_per_client"
  /** The server is at its cap and every connection is busy. */
  | "refused";

/** One connection as admission sees it. */
export interface Admitted {
  /** The client's address (without port): what the per-client cap counts. */
  readonly client: string;
  /** Close it now (it was evicted). */
  evict(): void;
}

/** Counters of {@link HttpAdmission}. */
export interface AdmissionStats {
  /** Newcomers refused: the server was at its cap with every connection busy. */
  refused: number;
  /** Newcomers refused: their address was at its cap with every connection busy. */
  refusedPerClient: number;
  /** Waiting connections evicted to make room at the global cap. */
  evicted: number;
  /** Waiting connections evicted to make room at their address's cap. */
  evictedPerClient: number;
}

/** Limits of {@link HttpAdmission}. */
export interface AdmissionLimits {
  /** Connections at once (≥ 1). */
  maxConnections: number;
  /** Connections at once from one client address (≥ 1). */
  maxPerClient: number;
}

/**
 * Connection admission with per-client caps and eviction of waiting
 * connections. All operations are O(1) except eviction at the per-client
 * cap, which walks the waiting connections (at most `maxConnections`).
 *
 * @example
 * ```ts
 * import { HttpAdmission } from "./http_admission.ts";
 * const adm = new HttpAdmission({ maxConnections: 2, maxPerClient: 2 });
 * const conn = (client: string) => ({ client, evict: () => console.log("evicted", client) });
 * const a = conn("192.0.2.1");
 * adm.admit(a); // "admitted" (waiting for its head)
 * adm.admit(conn("192.0.2.1")); // "admitted"
 * adm.admit(conn("192.0.2.9")); // "evicted": a was waiting longest
 * ```
 */
export class HttpAdmission {
  readonly maxConnections: number;
  readonly maxPerClient: number;
  readonly stats: AdmissionStats = {
    refused: 0,
    refusedPerClient: 0,
    evicted: 0,
    evictedPerClient: 0,
  };
  /** Every admitted connection. */
  readonly #live = new Set<Admitted>();
  /** Waiting connections, longest-waiting first (Set order is insertion order). */
  readonly #waiting = new Set<Admitted>();
  /** Admitted connections by client address. */
  readonly #byClient = new Map<string, Set<Admitted>>();

  constructor(limits: AdmissionLimits) {
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`HttpAdmission: ${k} must be a positive integer, got ${v}`);
      }
    }
    this.maxConnections = limits.maxConnections;
    this.maxPerClient = limits.maxPerClient;
  }

  /** Connections admitted and not released. */
  get size(): number {
    return this.#live.size;
  }

  /** Connections waiting for a request head. */
  get waitingCount(): number {
    return this.#waiting.size;
  }

  /**
   * Admit `c` (as waiting), evicting a waiting connection if a cap is
   * reached; refused connections are not tracked (the caller closes them).
   */
  admit(c: Admitted): AdmitResult {
    let result: AdmitResult = "admitted";
    const mine = this.#byClient.get(c.client);
    if (mine !== undefined && mine.size >= this.maxPerClient) {
      const victim = this.#oldestWaitingOf(mine);
      if (victim === undefined) {
        this.stats.refusedPerClient++;
        return "refused_per_client";
      }
      this.stats.evictedPerClient++;
      this.#evict(victim);
      result = "evicted_per_client";
    }
    if (this.#live.size >= this.maxConnections) {
      const victim = this.#waiting.values().next();
      if (victim.done) {
        this.stats.refused++;
        return "refused";
      }
      this.stats.evicted++;
      this.#evict(victim.value);
      result = "evicted";
    }
    this.#live.add(c);
    this.#waiting.add(c);
    let set = this.#byClient.get(c.client);
    if (set === undefined) this.#byClient.set(c.client, set = new Set());
    set.add(c);
    return result;
  }

  /** `c` waits for a request head again (after a response): the youngest waiter. */
  waiting(c: Admitted): void {
    if (!this.#live.has(c)) return;
    this.#waiting.delete(c);
    this.#waiting.add(c);
  }

  /** `c` has a complete request head: not evictable until it waits again. */
  busy(c: Admitted): void {
    this.#waiting.delete(c);
  }

  /** `c` is gone (closed, evicted or finished). Idempotent. */
  release(c: Admitted): void {
    if (!this.#live.delete(c)) return;
    this.#waiting.delete(c);
    const set = this.#byClient.get(c.client);
    if (set === undefined) return;
    set.delete(c);
    if (set.size === 0) this.#byClient.delete(c.client);
  }

  /** The first of `mine` among the waiters, which are in age order (O(waiters)). */
  #oldestWaitingOf(mine: Set<Admitted>): Admitted | undefined {
    for (const w of this.#waiting) if (mine.has(w)) return w;
    return undefined;
  }

  #evict(c: Admitted): void {
    this.release(c);
    c.evict();
  }
}
