/**
 * The loopback device (Linux `drivers/net/loopback.c`): every frame it
 * transmits comes back on its own receive queue.
 *
 * Transmit never calls back into the stack. It parks the frame on a private
 * in-flight queue and schedules one drain task with `clock.defer`; the drain
 * moves every parked frame to the receive queue through `netifRx`. A
 * synchronous hand-back would re-enter the protocol code that is still in the
 * middle of sending (TCP answering its own segment inside `tcp_write_xmit`),
 * which Linux avoids the same way: `loopback_xmit` → `netif_rx` only queues,
 * the softirq delivers later.
 *
 * The in-flight queue is bounded: a sender that loops on transmit without
 * yielding gets `Xmit.DROP` once the bound is reached instead of growing the
 * queue without limit.
 *
 * @module
 */
import { BaseDevice, DeviceFeature, type DeviceOptions, Xmit } from "./device.ts";
import { SkbQueue } from "../skb/queue.ts";
import { Csum, type SkBuff } from "../skb/skbuff.ts";

/** Default MTU of `lo` (Linux uses 65536 too). */
export const LOOPBACK_MTU = 65536;
/** Default bound on frames transmitted but not yet moved to the receive queue. */
export const LOOPBACK_IN_FLIGHT_LIMIT = 1000;

/** Options for {@link LoopbackDevice}; `name` defaults to `"lo"`. */
export interface LoopbackOptions extends Omit<DeviceOptions, "name"> {
  /** Interface name (default `"lo"`). */
  name?: string;
  /** Frames that may wait for the deferred hand-back (default {@link LOOPBACK_IN_FLIGHT_LIMIT}). */
  inFlightLimit?: number;
}

/**
 * Loopback-specific counters (the generic ones are in `stats`).
 *
 * @example
 * ```ts
 * import { LoopbackStats } from "./loopback.ts";
 * new LoopbackStats().inFlightDropped; // 0
 * ```
 */
export class LoopbackStats {
  /** Frames refused because the in-flight queue was at its limit. */
  inFlightDropped = 0;
  /** Frames whose shared data had to be copied (a clone was held elsewhere). */
  copied = 0;
  /** Copies that failed because the arena was exhausted (frame dropped). */
  noBuffer = 0;
}

/**
 * `lo`: transmit hands each frame back to this device's receive queue on the
 * next deferred task, in order.
 *
 * Received frames are marked `Csum.Unnecessary`: the device has
 * `DeviceFeature.NO_CSUM`, so the stack may skip filling checksums on the way
 * out and must not verify them on the way in.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { LoopbackDevice } from "./loopback.ts";
 * const clock = new VirtualClock();
 * const lo = new LoopbackDevice({ allocator: new SkbAllocator(new Arena()), clock });
 * lo.up();
 * lo.transmit(lo.allocator.fromBytes(new Uint8Array(60))!);
 * // lo.rxQueue.length === 0 until the deferred task runs:
 * clock.flush();
 * lo.poll(64, (skb) => skb.free()); // 1
 * ```
 */
export class LoopbackDevice extends BaseDevice {
  /** Loopback-specific counters. */
  readonly loStats: LoopbackStats = new LoopbackStats();
  /** Bound on {@link LoopbackDevice.inFlight}. */
  readonly inFlightLimit: number;
  #pending = new SkbQueue();
  #scheduled = false;
  // Created once so a transmit allocates no closure.
  readonly #drain = (): void => this.#run();

  /** A loopback device. */
  constructor(options: LoopbackOptions) {
    super({
      ...options,
      name: options.name ?? "lo",
      mtu: options.mtu ?? LOOPBACK_MTU,
      mac: options.mac ?? 0,
      features: options.features ?? DeviceFeature.NO_CSUM,
    });
    this.inFlightLimit = options.inFlightLimit ?? LOOPBACK_IN_FLIGHT_LIMIT;
    if (!Number.isInteger(this.inFlightLimit) || this.inFlightLimit < 1) {
      throw new RangeError(
        `Device ${this.name}: inFlightLimit must be a positive integer, got ${this.inFlightLimit}`,
      );
    }
  }

  /** Frames transmitted and waiting for the deferred hand-back. */
  get inFlight(): number {
    return this.#pending.length;
  }

  /** Queue the frame for the deferred hand-back. */
  protected override hardStartXmit(skb: SkBuff): Xmit {
    if (this.#pending.length >= this.inFlightLimit) {
      this.loStats.inFlightDropped++;
      skb.free();
      return Xmit.DROP;
    }
    // The receiver must own its buffer outright: when TCP still holds a clone
    // for retransmission, a receive path that writes in place (pull is fine,
    // but e.g. a forwarded TTL decrement is not) would corrupt it.
    let own: SkBuff | null = skb;
    if (skb.isShared) {
      own = this.allocator.copy(skb);
      skb.free();
      if (own === null) {
        this.loStats.noBuffer++;
        return Xmit.DROP;
      }
      this.loStats.copied++;
    }
    this.#pending.push(own);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.clock.defer(this.#drain);
    }
    return Xmit.OK;
  }

  /** Take the device down; frames in flight are freed. */
  override down(): void {
    super.down();
    this.#pending.purge();
  }

  /** Close the device. */
  override close(): void {
    this.down();
  }

  #run(): void {
    this.#scheduled = false;
    // Only the frames parked before this task started: a receiver that
    // answers on loopback queues its reply for the next task, not this one.
    let n = this.#pending.length;
    while (n-- > 0) {
      const skb = this.#pending.shift();
      if (skb === null) break;
      skb.resetMeta();
      skb.ipSummed = Csum.Unnecessary;
      this.netifRx(skb);
    }
  }
}
