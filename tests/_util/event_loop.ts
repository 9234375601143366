/**
 * A deterministic model of a host event loop for tests that must show how
 * work *interleaves* with timers. `VirtualClock.flush()` runs every deferred
 * task to exhaustion at one instant, so it cannot show that a long job yields;
 * this clock can: deferred tasks are macrotasks run one at a time, work inside
 * a task is charged virtual CPU time with {@link EventLoopClock.charge}, and
 * due timers run between tasks (as in the HTML / Deno event loop). A task
 * that never yields therefore delays every timer by its whole cost, and a
 * task that yields every millisecond lets a timer fire on time.
 *
 * @module
 */
import type { Clock, Timer } from "../../src/core/clock.ts";
import { TimerEntry, TimerHeap } from "../../src/core/timers.ts";

/** What ran, in order (for asserting interleavings). */
export type LoopEvent = { kind: "task" | "timer"; start: number; end: number };

/**
 * Event-loop clock: macrotask FIFO + timer heap + charged CPU time.
 *
 * @example
 * ```ts
 * import { EventLoopClock } from "./event_loop.ts";
 * const clock = new EventLoopClock();
 * clock.defer(() => clock.charge(3)); // a task that works for 3 ms
 * clock.setTimer(1, () => {});
 * clock.run(10); // the timer fires at 3: the task could not be interrupted
 * ```
 */
export class EventLoopClock implements Clock {
  #now = 0;
  #heap = new TimerHeap();
  #tasks: (() => void)[] = [];
  #head = 0;
  /** Everything that ran. */
  readonly log: LoopEvent[] = [];

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const t = new TimerEntry(callback);
    this.#heap.schedule(t, this.#now + Math.max(0, delayMs));
    return t;
  }

  createTimer(callback: () => void): Timer {
    return new TimerEntry(callback);
  }

  resetTimer(timer: Timer, delayMs: number): void {
    this.#heap.schedule(timer, this.#now + Math.max(0, delayMs));
  }

  clearTimer(timer: Timer): void {
    this.#heap.cancel(timer);
  }

  defer(callback: () => void): void {
    this.#tasks.push(callback);
  }

  /** A model: nothing to keep alive. */
  ref(): void {}

  /** A model: nothing to keep alive. */
  unref(): void {}

  /** Spend `ms` of CPU time inside the running task (time moves on). */
  charge(ms: number): void {
    this.#now += ms;
  }

  /** Macrotasks waiting. */
  get queued(): number {
    return this.#tasks.length - this.#head;
  }

  /**
   * Run the loop until `untilMs` or until nothing is left: each turn first
   * fires every timer already due (in deadline order), then runs one task;
   * when idle, time jumps to the next timer.
   */
  run(untilMs: number): void {
    for (;;) {
      for (;;) {
        const t = this.#heap.peek();
        if (t === undefined || t.when > this.#now) break;
        this.#heap.popDue(this.#now);
        const start = this.#now;
        t.callback(t.arg);
        this.log.push({ kind: "timer", start, end: this.#now });
      }
      if (this.#head < this.#tasks.length) {
        const task = this.#tasks[this.#head]!;
        this.#tasks[this.#head++] = noop;
        const start = this.#now;
        task();
        this.log.push({ kind: "task", start, end: this.#now });
        continue;
      }
      const next = this.#heap.peek();
      if (next === undefined || next.when > untilMs) break;
      this.#now = next.when;
    }
  }
}

function noop(): void {}
