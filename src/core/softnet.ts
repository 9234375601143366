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
import type { SkBuff } from "../skb/skbuff.ts";

/**
 * What the drain needs of a device (the driver layer's `D` is one):
 * its receive queue's length, whether it is up, and a NAPI-style poll.
 *
 * @example
 * ```ts
 * import type { RxDevice } from "./softnet.ts";
 * // class MyDevice implements RxDevice { … }
 * ```
 */
export interface RxDevice {
  /** Frames waiting. */
  readonly rxQueue: { readonly length: number };
  /** False once the device is down: its frames are not polled. */
  readonly isUp: boolean;
  /** Hand at most `budget` frames to `deliver`; returns how many it handed. */
  poll(budget: number, deliver: (skb: SkBuff, dev: this) => void): number;
}

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
export class SoftNet<D extends RxDevice = RxDevice> {
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
  /** Devices to poll, FIFO: `#pollList[#pollHead … #pollTail)`; the array is reused, never shrunk. */
  #pollList: D[] = [];
  #pollHead = 0;
  #pollTail = 0;
  /**
   * Per device: 0 = not on the poll list; otherwise 1 + the frames left of a
   * turn the budget cut short (0 left = a full turn next). Entries are set,
   * never deleted (deleting shrinks the table: an allocation per drain);
   * {@link SoftNet.forget} drops a device for good.
   */
  readonly #state = new Map<D, number>();
  #scheduled = false;
  readonly #run = () => this.#drain();

  /** A drain that hands each frame to `receive`, scheduled on `clock`. */
  constructor(
    readonly clock: Clock,
    readonly deliver: (skb: SkBuff, dev: D) => void,
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
  raise(dev: D): void {
    if ((this.#state.get(dev) ?? 0) === 0) {
      this.#state.set(dev, 1);
      this.#listPush(dev);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.clock.defer(this.#run);
    }
  }

  /** Drop what the drain remembers of `dev` (it left the stack). */
  forget(dev: D): void {
    this.#state.delete(dev);
    const list = this.#pollList;
    let w = this.#pollHead;
    for (let r = this.#pollHead; r < this.#pollTail; r++) if (list[r] !== dev) list[w++] = list[r]!;
    this.#pollTail = w;
  }

  #listPush(dev: D): void {
    const list = this.#pollList;
    if (this.#pollHead === this.#pollTail) this.#pollHead = this.#pollTail = 0;
    if (this.#pollTail < list.length) list[this.#pollTail] = dev;
    else list.push(dev);
    this.#pollTail++;
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
      while (this.#pollHead < this.#pollTail) {
        const dev = list[this.#pollHead++]!;
        // Deficit round robin. Linux gives every poll a full weight and lets the
        // budget go negative; we keep the budget exact, so a turn the budget cuts
        // short resumes first in the next drain with what is left of it. Busy
        // devices then get equal shares whatever the budget and weight are.
        const left = (this.#state.get(dev) ?? 1) - 1;
        const quota = left > 0 ? left : this.weight;
        const ask = Math.min(quota, budget);
        let n: number;
        try {
          n = dev.poll(ask, this.deliver);
        } catch (e) {
          // A throwing handler owned (and lost) one frame; the device keeps a
          // place on the list so the rest of its queue is not stranded (tests/core/softnet_test.ts).
          if (dev.rxQueue.length > 0 && dev.isUp) {
            this.#state.set(dev, 1);
            this.#listPush(dev);
          } else this.#state.set(dev, 0);
          throw e;
        }
        this.processed += n;
        budget -= n;
        if (!(dev.rxQueue.length > 0 && dev.isUp)) {
          this.#state.set(dev, 0);
        } else if (n === ask && ask < quota) {
          this.#state.set(dev, 1 + quota - n);
          list[--this.#pollHead] = dev; // first in line next time
        } else {
          this.#state.set(dev, 1); // turn used up: back of the line
          this.#listPush(dev);
        }
        if (budget <= 0 || this.clock.now() > deadline) {
          if (this.#pollHead < this.#pollTail) this.timeSqueeze++;
          return;
        }
      }
    } finally {
      if (this.#pollHead < this.#pollTail) this.clock.defer(this.#run);
      else {
        this.#pollHead = this.#pollTail = 0;
        this.#scheduled = false;
      }
    }
  }
}
