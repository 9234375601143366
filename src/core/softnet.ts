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
  readonly budget: number;
  readonly weight: number;
  readonly timeBudgetMs: number;
  /** Drain tasks run. */
  runs = 0;
  /** Drains that stopped with work left (Linux `time_squeeze`). */
  timeSqueeze = 0;
  /** Frames handed to the protocol handler. */
  processed = 0;
  #pollList: NetDevice[] = [];
  #listed = new Set<NetDevice>();
  #scheduled = false;
  readonly #run = () => this.#drain();

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

  /** True when a drain is scheduled. */
  get pending(): boolean {
    return this.#scheduled;
  }

  #drain(): void {
    this.#scheduled = false;
    this.runs++;
    let budget = this.budget;
    const deadline = this.clock.now() + this.timeBudgetMs;
    while (this.#pollList.length > 0) {
      const dev = this.#pollList.shift()!;
      const n = dev.poll(Math.min(this.weight, budget), this.deliver);
      this.processed += n;
      budget -= n;
      if (dev.rxQueue.length > 0 && dev.isUp) this.#pollList.push(dev); // more work: back of the line
      else this.#listed.delete(dev);
      if (budget <= 0 || this.clock.now() > deadline) {
        if (this.#pollList.length > 0) {
          this.timeSqueeze++;
          this.#scheduled = true;
          this.clock.defer(this.#run);
        }
        return;
      }
    }
  }
}
