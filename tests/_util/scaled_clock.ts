/**
 * A real-time clock that runs `scale` times faster: `now()` advances
 * `scale` ms per real millisecond and a timer of `d` ms fires after `d /
 * scale` real ms. For interop tests whose peer insists on long timers (a
 * DHCP server's two-minute minimum lease) while the real peer, network and
 * packets stay real.
 *
 * @module
 */
import { type Clock, RealClock, type Timer } from "../../src/core/clock.ts";

/**
 * A {@link RealClock} sped up by `scale`.
 *
 * @example
 * ```ts
 * import { ScaledClock } from "./scaled_clock.ts";
 * const clock = new ScaledClock(30); // a 120 s lease lasts 4 real seconds
 * clock.close();
 * ```
 */
export class ScaledClock implements Clock {
  readonly scale: number;
  readonly #real = new RealClock();
  readonly #t0: number;

  constructor(scale: number) {
    if (!(scale > 0)) throw new RangeError(`ScaledClock: scale ${scale} must be positive`);
    this.scale = scale;
    this.#t0 = this.#real.now();
  }

  now(): number {
    return (this.#real.now() - this.#t0) * this.scale;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    return this.#real.setTimer(delayMs / this.scale, callback);
  }

  createTimer(callback: () => void): Timer {
    return this.#real.createTimer(callback);
  }

  resetTimer(timer: Timer, delayMs: number): void {
    this.#real.resetTimer(timer, delayMs / this.scale);
  }

  clearTimer(timer: Timer): void {
    this.#real.clearTimer(timer);
  }

  ref(): void {
    this.#real.ref();
  }

  unref(): void {
    this.#real.unref();
  }

  defer(callback: () => void): void {
    this.#real.defer(callback);
  }

  close(): void {
    this.#real.close();
  }
}
