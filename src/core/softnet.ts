/**
 * The receive drain (Linux `net_rx_action`). Drivers only enqueue frames and
 * signal their device; the first signal schedules one drain task through the
 * clock. The drain polls signalled devices round-robin, each at most `weight`
 * frames per turn, until the packet `budget` is spent — then it counts a
 * squeeze and schedules itself again instead of looping, so a flood cannot
 * starve timers, other tasks or the application.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import type { NetDevice } from "../link/device.ts";
import type { SkBuff } from "../skb/skbuff.ts";

/** Options for {@link SoftNet}. */
export interface SoftNetOptions {
  /** Frames per drain task across all devices (Linux `netdev_budget`, default 300). */
  budget?: number;
  /** Frames per device per turn (NAPI weight, default 64). */
  weight?: number;
  /** Wall-time budget per drain in ms (`netdev_budget_usecs`, default 2). */
  timeBudgetMs?: number;
}

/**
 * Budgeted round-robin receive drain.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "./clock.ts";
 * import { SoftNet } from "./softnet.ts";
 * const clock = new VirtualClock();
 * const softnet = new SoftNet(clock, (skb) => skb.free());
 * // device.setRxNotify((dev) => softnet.raise(dev));
 * ```
 */
export class SoftNet {
  /** Packets one drain may process in all (Linux netdev_budget). */
  readonly budget: number;
  /** Packets one device may hand over per turn (Linux dev_weight). */
  readonly weight: number;
  /** Milliseconds one drain may run before it yields. */
  readonly timeBudgetMs: number;
  /** Drain tasks run. */
  runs = 0;
  /** Drains that stopped with work left (Linux `time_squeeze`). */
  timeSqueeze = 0;
  /** Frames handed to the protocol handler. */
  processed = 0;
  #pollList: NetDevice[] = [];
  #listed = new Set<NetDevice>();
  /** Frames left of a device's turn that the budget cut short. */
  #quota = new Map<NetDevice, number>();
  #scheduled = false;
  readonly #run = () => this.#drain();

  /** A drain that hands each frame to `receive`, scheduled on `clock`. */
  constructor(
    readonly clock: Clock,
    readonly deliver: (skb: SkBuff, dev: NetDevice) => void,
    options: SoftNetOptions = {},
  ) {
    this.budget = options.budget ?? 300;
    this.weight = options.weight ?? 64;
    this.timeBudgetMs = options.timeBudgetMs ?? 2;
    if (!(this.budget >= 1 && this.weight >= 1)) {
      throw new RangeError(`SoftNet budget and weight must be >= 1`);
    }
  }

  /** A device has frames: put it on the poll list and schedule a drain (`napi_schedule`). */
  raise(dev: NetDevice): void {
    if (!this.#listed.has(dev)) {
      this.#listed.add(dev);
      this.#pollList.push(dev);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.clock.defer(this.#run);
    }
  }

  /** True when a drain is scheduled or running. */
  get pending(): boolean {
    return this.#scheduled;
  }

  #drain(): void {
    // While a drain runs `#scheduled` stays true, so a device signalled from
    // inside a handler is only listed: this drain, or the one it schedules when
    // it stops early, polls it. At most one drain task is ever queued.
    this.runs++;
    let budget = this.budget;
    const deadline = this.clock.now() + this.timeBudgetMs;
    const list = this.#pollList;
    try {
      while (list.length > 0) {
        const dev = list.shift()!;
        // Deficit round robin. Linux gives every poll a full weight and lets the
        // budget go negative; we keep the budget exact, so a turn the budget cuts
        // short resumes first in the next drain with what is left of it. Busy
        // devices then get equal shares whatever the budget and weight are.
        const quota = this.#quota.get(dev) ?? this.weight;
        const ask = Math.min(quota, budget);
        let n: number;
        try {
          n = dev.poll(ask, this.deliver);
        } catch (e) {
          // A throwing handler owned (and lost) one frame; the device keeps a
          // place on the list so the rest of its queue is not stranded (tests/core/softnet_test.ts).
          this.#quota.delete(dev);
          if (dev.rxQueue.length > 0 && dev.isUp) list.push(dev);
          else this.#listed.delete(dev);
          throw e;
        }
        this.processed += n;
        budget -= n;
        if (!(dev.rxQueue.length > 0 && dev.isUp)) {
          this.#listed.delete(dev);
          this.#quota.delete(dev);
        } else if (n === ask && ask < quota) {
          this.#quota.set(dev, quota - n);
          list.unshift(dev);
        } else {
          this.#quota.delete(dev); // turn used up: back of the line
          list.push(dev);
        }
        if (budget <= 0 || this.clock.now() > deadline) {
          if (list.length > 0) this.timeSqueeze++;
          return;
        }
      }
    } finally {
      if (list.length > 0) this.clock.defer(this.#run);
      else this.#scheduled = false;
    }
  }
}
