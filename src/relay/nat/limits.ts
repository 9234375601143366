/**
 * Per-client limits of the NAT relay. A client is a page's LAN address.
 * Connections (TCP sessions and UDP flows) are counted against a ceiling;
 * bandwidth is a token bucket in bytes per second shared by both directions
 * of all the client's flows (a flow that runs out waits, so TCP's window
 * does the throttling); DNS queries are a token bucket in queries per second.
 *
 * @module
 */
import type { Clock } from "../../core/clock.ts";
import { formatIpv4, type Ipv4Address } from "../../wire/addr.ts";

/** Limit settings. */
export interface ClientLimitOptions {
  /** Open TCP sessions plus UDP flows per client (default 128). */
  maxConnections?: number;
  /** Bytes per second per client, both directions together; 0 = unlimited (default). */
  bytesPerSecond?: number;
  /** DNS queries per second per client (default 50), with a burst of twice that. */
  dnsPerSecond?: number;
}

/** One client's counters. */
export interface ClientCounters {
  /** Sessions and flows open now. */
  connections: number;
  /** Sessions and flows opened since the client appeared. */
  opened: number;
  bytesUp: number;
  bytesDown: number;
  dnsQueries: number;
  /** Refusals by the egress policy. */
  denied: number;
  /** Refusals because a limit was reached (connections or DNS). */
  limited: number;
  /** Milliseconds flows waited for bandwidth. */
  throttledMs: number;
}

class Bucket {
  tokens: number;
  at: number;
  constructor(readonly rate: number, readonly depth: number, now: number) {
    this.tokens = depth;
    this.at = now;
  }
  refill(now: number): void {
    this.tokens = Math.min(this.depth, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
}

interface Client {
  readonly counters: ClientCounters;
  bytes: Bucket | null;
  dns: Bucket;
}

/**
 * The limits of every client.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "../../core/clock.ts";
 * import { ClientLimits } from "./limits.ts";
 * const limits = new ClientLimits(new VirtualClock(), { maxConnections: 2 });
 * limits.openConnection(0x0a00020f); // true
 * ```
 */
export class ClientLimits {
  readonly maxConnections: number;
  readonly bytesPerSecond: number;
  readonly dnsPerSecond: number;
  readonly #clock: Clock;
  readonly #clients = new Map<Ipv4Address, Client>();

  constructor(clock: Clock, o: ClientLimitOptions = {}) {
    this.#clock = clock;
    this.maxConnections = o.maxConnections ?? 128;
    this.bytesPerSecond = o.bytesPerSecond ?? 0;
    this.dnsPerSecond = o.dnsPerSecond ?? 50;
  }

  /** Counters of `client` (created on first use). */
  counters(client: Ipv4Address): ClientCounters {
    return this.#client(client).counters;
  }

  /** Every client's counters, by address. */
  all(): Record<string, ClientCounters> {
    const out: Record<string, ClientCounters> = {};
    for (const [a, c] of this.#clients) out[formatIpv4(a)] = { ...c.counters };
    return out;
  }

  /** Count a new session or flow if the client is below its ceiling; false (counted) if not. */
  openConnection(client: Ipv4Address): boolean {
    const c = this.#client(client).counters;
    if (c.connections >= this.maxConnections) {
      c.limited++;
      return false;
    }
    c.connections++;
    c.opened++;
    return true;
  }

  /** A session or flow ended. */
  closeConnection(client: Ipv4Address): void {
    const c = this.#client(client).counters;
    if (c.connections > 0) c.connections--;
  }

  /** Take a DNS query token; false (counted) when the client is over its rate. */
  takeDnsQuery(client: Ipv4Address): boolean {
    const c = this.#client(client);
    c.counters.dnsQueries++;
    const b = c.dns;
    b.refill(this.#clock.now());
    if (b.tokens < 1) {
      c.counters.limited++;
      return false;
    }
    b.tokens--;
    return true;
  }

  /**
   * Account `bytes` moved for `client` (`up`: from the page) and wait until
   * the client's bandwidth allows them.
   */
  async spend(client: Ipv4Address, bytes: number, up: boolean): Promise<void> {
    const c = this.#client(client);
    if (up) c.counters.bytesUp += bytes;
    else c.counters.bytesDown += bytes;
    const b = c.bytes;
    if (b === null) return;
    for (;;) {
      b.refill(this.#clock.now());
      if (b.tokens >= Math.min(bytes, b.depth)) {
        b.tokens -= bytes; // may go negative for a chunk larger than the depth: later ones wait
        return;
      }
      const wait = Math.max(1, Math.ceil(((Math.min(bytes, b.depth) - b.tokens) / b.rate) * 1000));
      c.counters.throttledMs += wait;
      await new Promise<void>((r) => this.#clock.setTimer(wait, r));
    }
  }

  /** Count a refusal by the egress policy. */
  denied(client: Ipv4Address): void {
    this.#client(client).counters.denied++;
  }

  #client(a: Ipv4Address): Client {
    let c = this.#clients.get(a);
    if (c === undefined) {
      const now = this.#clock.now();
      c = {
        counters: {
          connections: 0,
          opened: 0,
          bytesUp: 0,
          bytesDown: 0,
          dnsQueries: 0,
          denied: 0,
          limited: 0,
          throttledMs: 0,
        },
        // Depth: a tenth of a second of traffic, at least 16 KiB.
        bytes: this.bytesPerSecond > 0
          ? new Bucket(this.bytesPerSecond, Math.max(16384, this.bytesPerSecond / 10), now)
          : null,
        dns: new Bucket(this.dnsPerSecond, Math.max(1, this.dnsPerSecond * 2), now),
      };
      this.#clients.set(a, c);
    }
    return c;
  }
}
