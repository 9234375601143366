/**
 * The per-stack batches TCBs join during a drain and that run once at its
 * end (`TcpContext.wakes`, `TcpContext.acks`): readiness callbacks, and the
 * ACKs no data segment carried. Generic over the TCB type so this module
 * depends on nothing in TCP.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";

/**
 * Readiness callbacks of many TCBs run as ONE deferred task (the issue's
 * "wakeups of blocked readers and writers are batched"): a softnet drain
 * that touches a thousand connections schedules one task, not a thousand.
 * Wakes raised while the batch runs go to the next batch, so a callback
 * that keeps waking its own socket cannot starve the clock.
 *
 * @example
 * ```ts
 * import { WakeBatch } from "./batches.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * const wakes = new WakeBatch(new VirtualClock());
 * wakes.pending; // 0
 * ```
 */
export class WakeBatch<T extends { runWake(): void }> {
  // Counted, never truncated: `length = 0` drops an array's backing store,
  // and the next push allocates a new one (about 160 bytes per batch).
  #queue: (T | null)[] = [];
  #n = 0;
  #spare: (T | null)[] = [];
  readonly #clock: Clock;
  readonly #run = (): void => {
    const q = this.#queue;
    const n = this.#n;
    this.#queue = this.#spare;
    this.#n = 0;
    let error: unknown = null;
    for (let i = 0; i < n; i++) {
      const sk = q[i]!;
      q[i] = null;
      try {
        sk.runWake();
      } catch (e) {
        // One throwing callback must not leave the rest of the batch unwoken.
        error ??= e;
      }
    }
    this.#spare = q;
    if (error !== null) throw error;
  };

  /** A batch that defers on `clock`. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** TCBs whose callbacks wait for the next batch. */
  get pending(): number {
    return this.#n;
  }

  /** Queue `sk`'s callback (the caller makes sure it is queued once). */
  add(sk: T): void {
    const q = this.#queue;
    const n = this.#n++;
    if (n < q.length) q[n] = sk;
    else q.push(sk);
    if (n === 0) this.#clock.defer(this.#run);
  }
}

/**
 * Connections owed an immediate ACK, sent together once the current batch
 * of work (a receive drain) is done (`output.ts` `queueAck`): the segments a
 * drain delivers to one connection cost one ACK (RFC 9293 MUST-58/59,
 * "aggregate ACKs"; Linux gets the same from GRO). Data sent meanwhile
 * carries the ACK and the pure one is skipped.
 *
 * @example
 * ```ts
 * import { AckBatch } from "./batches.ts";
 * new AckBatch().count; // 0
 * ```
 */
export class AckBatch<T> {
  /**
   * Connections with `rcv.ackNow` set, in the order they asked: the first
   * {@link AckBatch.count} slots (reused, never truncated — `length = 0`
   * would drop the backing store and the next push allocate one).
   */
  readonly queue: (T | null)[] = [];
  /** Slots of {@link AckBatch.queue} in use. */
  count = 0;
  /** A flush task is deferred. */
  armed = false;
  /** The flush task (bound once by the protocol). */
  run: () => void = noop;
}

function noop(): void {}
