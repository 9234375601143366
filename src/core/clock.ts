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
  /** A timer for `callback`, not yet scheduled: arm it (again and again) with {@link Clock.resetTimer}. */
  createTimer(callback: () => void): Timer;
  /** (Re)schedule `timer` to fire `delayMs` from now (clamped to ≥ 0), replacing any earlier deadline. */
  resetTimer(timer: Timer, delayMs: number): void;
  /** Cancel a timer; a no-op if it already fired or was cancelled. */
  clearTimer(timer: Timer): void;
  /**
   * Run `callback` soon, as a separate task after the current one (how a driver
   * "raises the softirq"). Deferred tasks run in FIFO order.
   */
  defer(callback: () => void): void;
  /**
   * Someone waits on this clock's work (a blocked read, accept or connect):
   * keep the host process alive until the matching {@link Clock.unref}.
   * Calls nest; a clock with no holder never keeps a process alive.
   */
  ref(): void;
  /** Drop one {@link Clock.ref}. */
  unref(): void;
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
    this.#deferred.push(callback);
  }

  /** Nothing to keep alive: virtual time only moves when told to. */
  ref(): void {}

  /** See {@link VirtualClock.ref}. */
  unref(): void {}

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
      t.callback(t.arg);
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

/** Work done in one run of deferred tasks and due timers before the clock yields to the host (ms). */
const SLICE_MS = 2;
/** Most callbacks in one run before the clock yields to the host. */
const SLICE_TASKS = 4096;
/** A pause this long between runs means the host had its turn (ms). */
const IDLE_GAP_MS = 0.5;
/** Deferred callbacks run between two readings of the host clock (a power of two). */
const READ_EVERY = 4;
/**
 * How long after the last holder let go the process stays held (ms): short
 * enough that a finished program exits promptly, long enough that the next
 * operation of a busy one finds the hold still in place.
 */
const RELEASE_GRACE_MS = 20;

/**
 * Real time: the engine that runs a stack in Deno, pages and Workers.
 *
 * - **Work due now never waits for a host timer.** Deferred tasks (the
 *   receive drain, wake-ups) and timers that are already due run in one
 *   loop, first as microtasks — a segment's whole path from `write` on one
 *   stack to `read` on another costs no event-loop hop — and timers that
 *   fall due while it runs fire inside it.
 * - **The host still gets its turn.** A run stops after {@link SLICE_MS}
 *   or {@link SLICE_TASKS} callbacks; and once a slice of work (a chain of
 *   microtask runs) has lasted `SLICE_MS` without the event loop turning,
 *   the next run is posted as a macrotask (a `MessageChannel` message: no
 *   4 ms clamp) so timers, I/O and rendering run in between. The clock
 *   learns that the event loop turned from a marker message, posted once a
 *   slice is half spent (short bursts post none), or from a pause of
 *   {@link IDLE_GAP_MS} between runs.
 * - **One host timer** (`setTimeout`) for the earliest deadline genuinely in
 *   the future, whatever the number of timers in the heap; a host timer that
 *   fires early (clamping, clock skew) re-arms instead of firing anything early.
 * - **Nothing keeps a process alive** unless asked: the host timer and the
 *   channel are unref'd in Deno (`keepAlive: true` refs the host timer).
 *
 * @example
 * ```ts
 * import { RealClock } from "./clock.ts";
 * const clock = new RealClock();
 * clock.setTimer(10, () => console.log("10 ms later"));
 * clock.defer(() => console.log("soon, before any host timer"));
 * ```
 */
export class RealClock implements Clock {
  #heap = new TimerHeap();
  #hostTimer: ReturnType<typeof setTimeout> | undefined;
  #hostDeadline = Infinity;
  /** Deferred callbacks, FIFO: `#tasks[#head … #count)`; the array is reused, never shrunk. */
  #tasks: (() => void)[] = [];
  #count = 0;
  #head = 0;
  /** A run is queued (as a microtask or a message). */
  #scheduled = false;
  /** Start of the current slice (performance.now()). */
  #sliceStart = performance.now();
  /** When the last run ended. */
  #lastRunEnd = -Infinity;
  /** A marker message is in flight: the event loop has not turned since it was posted. */
  #markerPending = false;
  /** The slice has lasted SLICE_MS without the event loop turning: post the next run. */
  #sliceSpent = false;
  /** A callback of {@link RealClock.#run} is executing; `now()` is {@link RealClock.#callbackNow}. */
  #inCallback = false;
  #callbackNow = 0;
  #channel: MessageChannel | undefined;
  readonly #runMicrotask = (): void => this.#run();
  readonly #onHostTimer = (): void => {
    this.#hostTimer = undefined;
    this.#hostDeadline = Infinity;
    this.#run();
  };
  /** Holders (see {@link RealClock.ref}). */
  #refs = 0;
  /** The ref'd interval that keeps the process alive while there are holders (and a grace after). */
  #holdTimer: ReturnType<typeof setInterval> | undefined;
  /** The unref'd timer that lets go of the process {@link RELEASE_GRACE_MS} after the last holder. */
  #releaseTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onRelease = (): void => {
    this.#releaseTimer = undefined;
    if (this.#refs > 0) return;
    clearInterval(this.#holdTimer);
    this.#holdTimer = undefined;
    if (!this.#scheduled) this.#releasePortNow();
  };
  /** When true the clock always keeps the process alive while timers are pending. */
  readonly keepAlive: boolean;

  /**
   * A clock on the host's time.
   * @param options.keepAlive keep the process alive while timers are pending (default false)
   */
  constructor(options: { keepAlive?: boolean } = {}) {
    this.keepAlive = options.keepAlive ?? false;
  }

  /**
   * Someone waits on the clock's work (a blocked read, accept, connect, a
   * ping): keep the process alive (nests). While held, one ref'd host
   * interval keeps Deno running; the host timer and the channel stay unref'd.
   */
  ref(): void {
    if (this.#refs++ === 0 && this.#holdTimer === undefined) {
      this.#holdTimer = setInterval(noop, 0x3fffffff);
    }
  }

  /**
   * Drop one {@link RealClock.ref}. The last one lets go of the process
   * {@link RELEASE_GRACE_MS} later, unless someone holds it again by then:
   * a program that waits on one operation after another (connect, read,
   * close, connect …) makes no host timer or channel per operation.
   */
  unref(): void {
    if (this.#refs === 0 || --this.#refs > 0) return;
    this.#releaseSoon();
  }

  /** Holders now. */
  get refs(): number {
    return this.#refs;
  }

  /**
   * Close the channel while nothing holds the process: Deno's MessagePort
   * keeps a process alive after its first message even when unref'd, so an
   * idle one is closed and made again when next needed.
   */
  #releasePort(): void {
    if (this.#refs > 0 || !IS_DENO || this.#channel === undefined) return;
    this.#releaseSoon();
  }

  /** Arm the grace timer (once) that ends the hold and closes an idle channel. */
  #releaseSoon(): void {
    if (this.#releaseTimer !== undefined) return;
    if (this.#holdTimer === undefined && (this.#channel === undefined || !IS_DENO)) return;
    this.#releaseTimer = setTimeout(this.#onRelease, RELEASE_GRACE_MS);
    unrefTimer(this.#releaseTimer);
  }

  #releasePortNow(): void {
    const ch = this.#channel;
    if (this.#refs > 0 || !IS_DENO || ch === undefined) return;
    // Forget it first: closing a port can re-enter (its close event runs a callback).
    this.#channel = undefined;
    ch.port1.close();
    ch.port2.close();
    // A marker in flight is lost with the channel: the next run starts a slice.
    this.#markerPending = false;
    this.#newSlice(performance.now());
  }

  /**
   * Milliseconds (`performance.now()`). Inside a deferred task or timer
   * callback the clock reads the time that callback started (like Linux's
   * per-batch `tcp_mstamp`): a burst of segments in one receive drain shares
   * one reading instead of paying the host call per use.
   */
  now(): number {
    if (this.#inCallback) return this.#callbackNow;
    // Outside the clock's callbacks (a program's own code: conn.write()
    // sending a segment, arming a timer, stamping a timestamp) one reading
    // serves the rest of the current microtask: the host call is the most
    // expensive thing on a round trip's path, and it was made a dozen times.
    if (!this.#taskNowValid) {
      this.#taskNow = performance.now();
      this.#taskNowValid = true;
      queueMicrotask(this.#invalidateTaskNow);
    }
    return this.#taskNow;
  }

  /** The reading {@link RealClock.now} gives outside callbacks until the next microtask. */
  #taskNow = 0;
  #taskNowValid = false;
  readonly #invalidateTaskNow = (): void => {
    this.#taskNowValid = false;
  };

  setTimer(delayMs: number, callback: () => void): Timer {
    const t = new TimerEntry(callback);
    this.resetTimer(t, delayMs);
    return t;
  }

  createTimer(callback: () => void): Timer {
    return new TimerEntry(callback);
  }

  resetTimer(timer: Timer, delayMs: number): void {
    const when = this.now() + (delayMs > 0 ? delayMs : 0);
    this.#heap.schedule(timer, when);
    if (delayMs <= 0) this.#schedule();
    else if (when < this.#hostDeadline) this.#arm(when);
  }

  clearTimer(timer: Timer): void {
    this.#heap.cancel(timer);
  }

  defer(callback: () => void): void {
    if (this.#count < this.#tasks.length) this.#tasks[this.#count] = callback;
    else this.#tasks.push(callback);
    this.#count++;
    this.#schedule();
  }

  /**
   * Stop the host timer and message port and drop deferred tasks, so the
   * process can exit. Timers stay in the heap; using the clock again re-arms.
   */
  close(): void {
    if (this.#hostTimer !== undefined) clearTimeout(this.#hostTimer);
    this.#hostTimer = undefined;
    this.#hostDeadline = Infinity;
    // Both ends: an open port2 is a leaked resource (and Deno's test
    // sanitizer reports it).
    const ch = this.#channel;
    this.#channel = undefined;
    ch?.port1.close();
    ch?.port2.close();
    this.#tasks = [];
    this.#head = 0;
    this.#count = 0;
    this.#scheduled = false;
    this.#markerPending = false;
    clearInterval(this.#holdTimer);
    this.#holdTimer = undefined;
    clearTimeout(this.#releaseTimer);
    this.#releaseTimer = undefined;
    this.#refs = 0;
  }

  /** Queue one run: a microtask within the slice, a message once the slice is spent. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (this.#sliceSpent && !this.#markerPending) {
      const now = performance.now();
      if (now - this.#lastRunEnd >= IDLE_GAP_MS) this.#newSlice(now); // the host had its turn
    }
    if (!this.#sliceSpent) queueMicrotask(this.#runMicrotask);
    else {
      const port = this.#port();
      if (!this.#markerPending) this.#postMarker(port);
      port.postMessage(1);
    }
  }

  #newSlice(now: number): void {
    this.#sliceStart = now;
    this.#sliceSpent = false;
  }

  /** Ask to be told when the event loop has turned (the marker comes back as a message). */
  #postMarker(port: MessagePort): void {
    this.#markerPending = true;
    port.postMessage(0);
  }

  #port(): MessagePort {
    if (this.#channel === undefined) {
      const ch = new WebMessageChannel();
      // A MessageChannel message is a macrotask with no 4 ms clamp.
      ch.port1.onmessage = (e: MessageEvent) => {
        if (e.data === 0) {
          // The event loop turned: a new slice.
          this.#markerPending = false;
          this.#newSlice(performance.now());
        } else this.#run();
      };
      unrefPort(ch.port1);
      this.#channel = ch;
    }
    return this.#channel.port2;
  }

  /** Run deferred tasks and due timers until none is left or the run's budget is spent. */
  #run(): void {
    this.#scheduled = false;
    const start = performance.now();
    let ran = 0;
    let now = start;
    for (;;) {
      // Deferred tasks first, in order (including ones they defer).
      while (this.#head < this.#count) {
        const cb = this.#tasks[this.#head]!;
        this.#tasks[this.#head++] = noop;
        this.#callback(cb, now);
        if (++ran >= SLICE_TASKS) break;
        // A reading every few callbacks (each callback sees the latest; the
        // host call costs more than most callbacks); a long run checks its budget.
        if ((ran & (READ_EVERY - 1)) === 0) {
          now = performance.now();
          if (now - start >= SLICE_MS) break;
        }
      }
      if (this.#head >= this.#count) {
        // Drained: start over in place. `length = 0` keeps no backing store,
        // so the next burst would grow the array again — overwrite instead.
        this.#head = 0;
        this.#count = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#count) {
        this.#tasks.copyWithin(0, this.#head, this.#count);
        this.#count -= this.#head;
        this.#head = 0;
      }
      // Then every timer due by now. The reading may be a few callbacks
      // old: a timer that fell due since fires on the next round or, with
      // nothing else to do, from the host timer armed below — microseconds
      // late, never lost.
      const t = this.#heap.popDue(now);
      if (t !== undefined) {
        this.#callback(t.callback, now, t.arg);
        if ((++ran & (READ_EVERY - 1)) === 0) now = performance.now();
      } else if (this.#head >= this.#count) break;
      if (ran >= SLICE_TASKS || now - start >= SLICE_MS) break;
    }
    this.#lastRunEnd = now;
    const age = now - this.#sliceStart;
    if (age >= SLICE_MS) this.#sliceSpent = true;
    else if (age >= SLICE_MS / 2 && !this.#markerPending) this.#postMarker(this.#port());
    if (this.#head < this.#count || this.#dueBy(now)) this.#schedule();
    else this.#releasePort(); // idle and nobody waits: let the process exit
    const next = this.#heap.peek();
    if (next !== undefined && next.when > now) this.#arm(next.when);
  }

  /** Run one callback with the clock reading `now` throughout. */
  #callback(cb: (arg: unknown) => void, now: number, arg?: unknown): void {
    this.#inCallback = true;
    this.#callbackNow = now;
    try {
      cb(arg);
    } finally {
      this.#inCallback = false;
    }
  }

  #dueBy(now: number): boolean {
    const next = this.#heap.peek();
    return next !== undefined && next.when <= now;
  }

  /** Make sure the host timer fires by `when`. */
  #arm(when: number): void {
    if (this.#hostTimer !== undefined) {
      if (this.#hostDeadline <= when) return;
      clearTimeout(this.#hostTimer);
    }
    this.#hostDeadline = when;
    this.#hostTimer = setTimeout(this.#onHostTimer, Math.max(0, when - this.now()));
    if (!this.keepAlive) unrefTimer(this.#hostTimer);
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
 * Keep the host process alive until the returned function is called (it is
 * idempotent): {@link Clock.ref} with a matching {@link Clock.unref}.
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
  clock.ref();
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    clock.unref();
  };
}

/** A host timer no longer keeps the process alive (Deno 2: a Timeout object; older: a number). */
function unrefTimer(id: ReturnType<typeof setTimeout>): void {
  const timeout = id as unknown as { unref?: () => void };
  if (typeof timeout === "object" && typeof timeout.unref === "function") {
    timeout.unref();
    return;
  }
  const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
  if (typeof id === "number" && deno?.unrefTimer) deno.unrefTimer(id);
}

/** A listening port no longer keeps the process alive (Deno). */
function unrefPort(port: MessagePort): void {
  const p = port as MessagePort & { unref?: () => void };
  p.unref?.();
}
