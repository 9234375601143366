/**
 * `ref()`/`unref()` for the Deno-shaped objects: while an object is ref'd
 * (the default) and has an operation pending (`accept()`, `read()`,
 * `write()`), it keeps the host process alive, as a pending Deno socket op
 * does; `unref()` lets the process exit even then.
 *
 * @module
 */
import { type Clock, holdProcess } from "../core/clock.ts";

/**
 * Tracks pending operations of one object and holds the process alive
 * while there are some and the object is ref'd.
 *
 * @example
 * ```ts
 * import { RealClock } from "../core/clock.ts";
 * import { PendingOps } from "./keepalive.ts";
 * const clock = new RealClock();
 * const ops = new PendingOps(clock);
 * const wait = ops.track(new Promise((r) => clock.setTimer(5, () => r(1))));
 * ops.unref(); // this wait alone no longer keeps the process alive
 * ops.ref();
 * await wait;
 * clock.close();
 * ```
 */
export class PendingOps {
  readonly #clock: Clock;
  #ref = true;
  #pending = 0;
  #release: (() => void) | null = null;

  /** @param clock the stack's clock; only a real clock can hold a process */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Operations pending now. */
  get pending(): number {
    return this.#pending;
  }

  /** Pending operations keep the process alive (the default). */
  ref(): void {
    this.#ref = true;
    this.#update();
  }

  /** Pending operations no longer keep the process alive. */
  unref(): void {
    this.#ref = false;
    this.#update();
  }

  /** Count `op` as pending until it settles; resolves or rejects as it does. */
  async track<T>(op: Promise<T>): Promise<T> {
    this.#pending++;
    this.#update();
    try {
      return await op;
    } finally {
      this.#pending--;
      this.#update();
    }
  }

  #update(): void {
    const want = this.#ref && this.#pending > 0;
    if (want && this.#release === null) this.#release = holdProcess(this.#clock);
    else if (!want && this.#release !== null) {
      this.#release();
      this.#release = null;
    }
  }
}
