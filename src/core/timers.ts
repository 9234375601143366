/**
 * A binary min-heap of timers ordered by deadline, then by insertion order.
 *
 * One heap serves a whole stack (or a virtual clock), so arming, re-arming and
 * cancelling a TCP timer is O(log n) and firing the earliest is O(log n). Each
 * entry remembers its heap index, which makes cancellation a direct removal
 * rather than a lazy tombstone that would let cancelled timers pile up.
 *
 * @module
 */

/** A scheduled callback. Treat as opaque; pass back to `cancel`. */
export class TimerEntry {
  /** Absolute deadline in clock milliseconds. */
  when = 0;
  /** Tie-breaker: timers due at the same instant fire in the order they were armed. */
  seq = 0;
  /** Position in the heap, or -1 when not scheduled. */
  index: number = -1;
  /**
   * What {@link TimerEntry.callback} is called with: one callback function
   * shared by many timers tells them apart by it, with no closure per timer
   * (a TCP connection's timer, `timeouts.ts`).
   */
  arg: unknown = undefined;
  /** A timer that runs `callback(arg)` when it fires. */
  constructor(public callback: (arg: unknown) => void) {}
  /** True while the timer is scheduled and has not fired or been cancelled. */
  get pending(): boolean {
    return this.index >= 0;
  }
}

/** Fills freed heap slots so they keep no timer alive. */
const PLACEHOLDER = new TimerEntry(() => {});

/**
 * Min-heap of {@link TimerEntry} by `(when, seq)`.
 *
 * @example
 * ```ts
 * import { TimerHeap, TimerEntry } from "./timers.ts";
 * const heap = new TimerHeap();
 * const t = new TimerEntry(() => console.log("fired"));
 * heap.schedule(t, 10);
 * heap.peek() === t; // true
 * ```
 */
export class TimerHeap {
  /** `#items[0 … #size)` is the heap; the array only grows (no allocation as timers come and go). */
  #items: TimerEntry[] = [];
  #size = 0;
  #seq = 0;

  /** Number of scheduled timers. */
  get size(): number {
    return this.#size;
  }

  /** The earliest timer, without removing it. */
  peek(): TimerEntry | undefined {
    return this.#size > 0 ? this.#items[0] : undefined;
  }

  /** Schedule (or reschedule) `entry` at absolute time `when`. */
  schedule(entry: TimerEntry, when: number): void {
    if (!Number.isFinite(when)) throw new RangeError(`Timer deadline must be finite, got ${when}`);
    if (entry.index >= 0) this.cancel(entry);
    entry.when = when;
    entry.seq = this.#seq++;
    const i = this.#size++;
    entry.index = i;
    if (i < this.#items.length) this.#items[i] = entry;
    else this.#items.push(entry);
    this.#up(i);
  }

  /** Remove `entry` if it is scheduled; a no-op otherwise. */
  cancel(entry: TimerEntry): void {
    const i = entry.index;
    if (i < 0) return;
    const items = this.#items;
    const n = --this.#size;
    const last = items[n]!;
    items[n] = PLACEHOLDER;
    entry.index = -1;
    if (last !== entry) {
      items[i] = last;
      last.index = i;
      this.#down(i);
      this.#up(last.index);
    }
  }

  /** Remove and return the earliest timer if it is due at or before `now`. */
  popDue(now: number): TimerEntry | undefined {
    if (this.#size === 0) return undefined;
    const top = this.#items[0]!;
    if (top.when > now) return undefined;
    this.cancel(top);
    return top;
  }

  #less(a: TimerEntry, b: TimerEntry): boolean {
    return a.when < b.when || (a.when === b.when && a.seq < b.seq);
  }

  #up(i: number): void {
    const items = this.#items;
    const e = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = items[p]!;
      if (!this.#less(e, pe)) break;
      items[i] = pe;
      pe.index = i;
      i = p;
    }
    items[i] = e;
    e.index = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = this.#size;
    const e = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.#less(items[r]!, items[l]!)) c = r;
      const ce = items[c]!;
      if (!this.#less(ce, e)) break;
      items[i] = ce;
      ce.index = i;
      i = c;
    }
    items[i] = e;
    e.index = i;
  }
}
