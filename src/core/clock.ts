/**
 * Time, injected. Nothing below the API layer reads the wall clock or calls
 * `setTimeout`; it is handed a {@link Clock}. Production code uses
 * {@link RealClock}; tests use {@link VirtualClock} and advance it explicitly,
 * which makes retransmission, TIME-WAIT and reassembly timeouts deterministic.
 *
 * @module
 */
import { TimerEntry, TimerHeap } from "./timers.ts";

/** Handle to a scheduled timer. */
export type Timer = TimerEntry;

/** The time source and scheduler every layer is given. */
export interface Clock {
  /** Monotonic time in milliseconds (may be fractional). */
  now(): number;
  /** Call `callback` once, `delayMs` from now (clamped to ≥ 0). */
  setTimer(delayMs: number, callback: () => void): Timer;
  /** Cancel a timer; a no-op if it already fired or was cancelled. */
  clearTimer(timer: Timer): void;
  /**
   * Run `callback` soon, as a separate task after the current one (how a driver
   * "raises the softirq"). Deferred tasks run in FIFO order.
   */
  defer(callback: () => void): void;
  /**
   * Keep the host process alive until the returned function is called
   * (optional: clocks without it never keep a process alive). See
   * {@link holdProcess}.
   */
  hold?(): () => void;
}

/**
 * A clock that only moves when told to. Timers fire in deadline order, each
 * with `now()` equal to its deadline.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "./clock.ts";
 * const clock = new VirtualClock();
 * let fired = 0;
 * clock.setTimer(200, () => fired++);
 * clock.advance(199); // fired === 0
 * clock.advance(1);   // fired === 1, clock.now() === 200
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #heap = new TimerHeap();
  #deferred: (() => void)[] = [];
  #deferredHead = 0;

  /** Start at `start` milliseconds (default 0). */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const t = new TimerEntry(callback);
    this.#heap.schedule(t, this.#now + Math.max(0, delayMs));
    return t;
  }

  clearTimer(timer: Timer): void {
    this.#heap.cancel(timer);
  }

  defer(callback: () => void): void {
    this.#deferred.push(callback);
  }

  /** Number of timers scheduled plus deferred tasks waiting. */
  get pending(): number {
    return this.#heap.size + this.#deferred.length - this.#deferredHead;
  }

  /** Deadline of the earliest timer, or `undefined` when none is scheduled. */
  nextDeadline(): number | undefined {
    return this.#heap.peek()?.when;
  }

  /**
   * Run deferred tasks at the current instant until none is left.
   * Bounded by `maxTasks` so a task that keeps re-deferring itself cannot hang a test.
   */
  flush(maxTasks = 1_000_000): number {
    let ran = 0;
    while (this.#deferredHead < this.#deferred.length) {
      if (ran >= maxTasks) {
        throw new Error(`VirtualClock.flush: more than ${maxTasks} deferred tasks`);
      }
      const cb = this.#deferred[this.#deferredHead]!;
      this.#deferred[this.#deferredHead++] = noop;
      ran++;
      cb();
      if (this.#deferredHead > 1024 && this.#deferredHead * 2 > this.#deferred.length) {
        this.#deferred = this.#deferred.slice(this.#deferredHead);
        this.#deferredHead = 0;
      }
    }
    return ran;
  }

  /**
   * Move time forward by `ms`, firing every timer due on the way in deadline
   * order (deferred tasks run before each timer and at the end).
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advance needs ms >= 0, got ${ms}`);
    const target = this.#now + ms;
    this.flush();
    for (;;) {
      const t = this.#heap.popDue(target);
      if (t === undefined) break;
      if (t.when > this.#now) this.#now = t.when;
      t.callback();
      this.flush();
    }
    this.#now = target;
  }

  /**
   * Fire timers and deferred tasks until nothing is scheduled, or until
   * `maxMs` of virtual time has passed (then stop at that instant).
   * Returns the virtual time consumed.
   */
  runUntilIdle(maxMs = 3_600_000): number {
    const start = this.#now;
    const limit = start + maxMs;
    this.flush();
    for (;;) {
      const next = this.#heap.peek();
      if (next === undefined || next.when > limit) break;
      this.advance(next.when - this.#now);
    }
    return this.#now - start;
  }

  /**
   * Advance in steps until `done()` is true; throws if it is still false after
   * `maxMs` of virtual time (a hang would otherwise pass silently).
   */
  runUntil(done: () => boolean, maxMs = 3_600_000): number {
    const start = this.#now;
    const limit = start + maxMs;
    this.flush();
    while (!done()) {
      const next = this.#heap.peek();
      if (next === undefined) {
        throw new Error(`VirtualClock.runUntil: idle at t=${this.#now} before the condition held`);
      }
      if (next.when > limit) {
        this.advance(limit - this.#now);
        if (done()) break;
        throw new Error(`VirtualClock.runUntil: condition still false after ${maxMs} ms`);
      }
      this.advance(next.when - this.#now);
    }
    return this.#now - start;
  }
}

function noop(): void {}

/**
 * Real time: `performance.now()` plus one host timer for the earliest deadline
 * in a heap, so thousands of TCP timers cost one `setTimeout`.
 *
 * @example
 * ```ts
 * import { RealClock } from "./clock.ts";
 * const clock = new RealClock();
 * clock.setTimer(10, () => console.log("10 ms later"));
 * ```
 */
export class RealClock implements Clock {
  #heap = new TimerHeap();
  #hostTimer: ReturnType<typeof setTimeout> | undefined;
  #hostDeadline = Infinity;
  #deferred: (() => void)[] = [];
  #channel: MessageChannel | undefined;
  #deferScheduled = false;
  /** When false (default) the host timer does not keep a Deno process alive. */
  readonly keepAlive: boolean;
  // Keep-alive (see hold()): how many holds are taken, and the ref'd host
  // timer that keeps the process alive while there is at least one.
  #holds = 0;
  #holdEpoch = 0;
  #holdTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * A real clock.
   *
   * @param options.keepAlive keep the process alive while timers are pending (default false)
   */
  constructor(options: { keepAlive?: boolean } = {}) {
    this.keepAlive = options.keepAlive ?? false;
  }

  now(): number {
    return performance.now();
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const t = new TimerEntry(callback);
    this.#heap.schedule(t, this.now() + Math.max(0, delayMs));
    this.#arm();
    return t;
  }

  clearTimer(timer: Timer): void {
    this.#heap.cancel(timer);
  }

  defer(callback: () => void): void {
    this.#deferred.push(callback);
    if (this.#deferScheduled) return;
    this.#deferScheduled = true;
    // A MessageChannel message is a macrotask with no 4 ms clamp: timers and
    // I/O get their turn between drains, unlike a microtask loop.
    if (this.#channel === undefined) {
      this.#channel = new WebMessageChannel();
      this.#channel.port1.onmessage = () => this.#runDeferred();
      unrefPort(this.#channel.port1);
    }
    this.#channel.port2.postMessage(0);
  }

  /**
   * Keep the host process (Deno) alive until the returned function is called
   * (it is idempotent). The stack's API takes a hold for every pending
   * operation on a ref'd object (`accept()`, `read()`, `connect()`, …), the
   * way Deno's own pending socket ops keep a process alive. Without any
   * hold, neither the host timer (unless `keepAlive`) nor the deferred-task
   * port keeps it alive.
   */
  hold(): () => void {
    if (this.#holds++ === 0) this.#holdTimer = setInterval(noop, 0x3fffffff);
    const epoch = this.#holdEpoch;
    let held = true;
    return () => {
      if (!held || epoch !== this.#holdEpoch) return; // released, or the clock was closed
      held = false;
      if (--this.#holds > 0) return;
      clearInterval(this.#holdTimer);
      this.#holdTimer = undefined;
      if (!this.#deferScheduled) this.#releasePort();
    };
  }

  /** Holds taken and not yet released (see {@link hold}). */
  get holds(): number {
    return this.#holds;
  }

  /**
   * Close the deferred-task port while nothing holds the process: Deno's
   * MessagePort keeps a process alive after its first message even when
   * unref'd, so an idle port is closed and made again on the next defer().
   */
  #releasePort(): void {
    if (this.#holds > 0 || !IS_DENO) return;
    this.#channel?.port1.close();
    this.#channel?.port2.close();
    this.#channel = undefined;
  }

  /** Stop the host timer and message port so the process can exit. */
  close(): void {
    if (this.#hostTimer !== undefined) clearTimeout(this.#hostTimer);
    this.#hostTimer = undefined;
    this.#hostDeadline = Infinity;
    // Both ends: an open port2 is a leaked resource (and Deno's test
    // sanitizer reports it).
    this.#channel?.port1.close();
    this.#channel?.port2.close();
    this.#channel = undefined;
    this.#deferred = [];
    this.#deferScheduled = false;
    clearInterval(this.#holdTimer);
    this.#holdTimer = undefined;
    this.#holds = 0;
    this.#holdEpoch++;
  }

  #runDeferred(): void {
    this.#deferScheduled = false;
    const tasks = this.#deferred;
    this.#deferred = [];
    for (const cb of tasks) cb();
    if (!this.#deferScheduled) this.#releasePort();
  }

  #arm(): void {
    const next = this.#heap.peek();
    if (next === undefined) return;
    if (next.when >= this.#hostDeadline && this.#hostTimer !== undefined) return;
    if (this.#hostTimer !== undefined) clearTimeout(this.#hostTimer);
    this.#hostDeadline = next.when;
    this.#hostTimer = setTimeout(() => this.#fire(), Math.max(0, next.when - this.now()));
    if (!this.keepAlive) unrefTimer(this.#hostTimer);
  }

  #fire(): void {
    this.#hostTimer = undefined;
    this.#hostDeadline = Infinity;
    const now = this.now();
    for (;;) {
      const t = this.#heap.popDue(now);
      if (t === undefined) break;
      t.callback();
    }
    this.#arm();
  }
}

/**
 * The runtime's own MessageChannel, captured when this module is first
 * evaluated: loading an npm CommonJS package makes Deno's Node layer replace
 * the global with node:worker_threads' class, whose messages run before
 * pending promise callbacks — not the macrotask `defer` promises.
 */
const WebMessageChannel: typeof MessageChannel = globalThis.MessageChannel;

/** Running under Deno (where an idle MessagePort must be closed to let the process exit). */
const IS_DENO = typeof (globalThis as { Deno?: unknown }).Deno === "object";

/**
 * Keep the host process alive until the returned function is called, when
 * `clock` can (a {@link RealClock}); a no-op for virtual clocks.
 *
 * @example
 * ```ts
 * import { holdProcess, RealClock } from "./clock.ts";
 * const clock = new RealClock();
 * const release = holdProcess(clock); // the process stays up…
 * clock.setTimer(10, release); // …until this fires
 * ```
 */
export function holdProcess(clock: Clock): () => void {
  return clock.hold?.() ?? noop;
}

function unrefTimer(id: ReturnType<typeof setTimeout>): void {
  // Deno 2 returns a Node-style Timeout object (with unref()); older Denos a number.
  const timeout = id as unknown as { unref?: () => void };
  if (typeof timeout === "object" && typeof timeout.unref === "function") {
    timeout.unref();
    return;
  }
  const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
  if (typeof id === "number" && deno?.unrefTimer) deno.unrefTimer(id);
}

function unrefPort(port: MessagePort): void {
  const p = port as MessagePort & { unref?: () => void };
  p.unref?.();
}
