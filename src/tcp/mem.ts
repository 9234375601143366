/**
 * TCP's global memory account (Linux `tcp_memory_allocated` with the
 * `tcp_mem` thresholds): every TCP socket's queues charge the true size of
 * the buffers they hold (whole arena slots, `SkbQueue.account`), and the
 * total is compared with three marks —
 *
 * | mark | Linux | what happens above it |
 * |---|---|---|
 * | `low` | `tcp_mem[0]` | leaving pressure needs the total back below it; buffers may auto-grow only below it |
 * | `pressure` | `tcp_mem[1]` | memory pressure: a socket gets new send memory only within its fair share (`high` / sockets) or its guaranteed minimum, receive windows stop growing, out-of-order queues are pruned, stuck connections are evicted (RFC 6429) |
 * | `high` | `tcp_mem[2]` | new send allocations fail: writers wait (backpressure) until the total falls back |
 *
 * The receive path is never refused here: frames come from the arena's
 * reserve (`AllocPriority.ATOMIC`), and data within the window we advertised
 * is always queued — the windows, which close under pressure, are what bound
 * it. The decisions that need a connection live in `buffers.ts` and
 * `pressure.ts`; this module is only the account (a leaf of the TCP DAG).
 *
 * @module
 */
import type { MemoryAccount } from "../skb/queue.ts";

/**
 * A socket waiting for global memory: its send side's `memWait` flag (poll
 * reports no write space while it is set) and its deferred wake-up.
 *
 * @example
 * ```ts
 * import type { MemoryWaiter } from "./mem.ts";
 * const w: MemoryWaiter = { snd: { memWait: true }, wake: () => {} };
 * ```
 */
export interface MemoryWaiter {
  /** The send side: `memWait` is set while the socket waits. */
  readonly snd: { memWait: boolean };
  /** Schedule the readiness callback (deferred, never re-entrant). */
  wake(): void;
}

/**
 * Why a socket waits for memory, and so what wakes it.
 *
 * @example
 * ```ts
 * import { MemWait } from "./mem.ts";
 * MemWait.HIGH; // 1: woken when the total falls well below the high mark
 * ```
 */
export const MemWait = {
  /**
   * At the high mark with data queued: woken once the total is back below
   * `pressure` (not at every freed slot, which would wake them all for one
   * allocation), or by its own ACKs.
   */
  HIGH: 1,
  /** Over its fair share under pressure: woken when the pressure ends, or by its own ACKs. */
  SHARE: 2,
  /**
   * Refused with (almost) nothing queued — its guaranteed minimum, or a slot
   * the arena kept for the receive path: there are no ACKs of its own to
   * wait for, so each buffer TCP frees wakes the longest waiting one.
   */
  SLOT: 3,
} as const;
/** One of the {@link MemWait} values. */
export type MemWait = typeof MemWait[keyof typeof MemWait];

/**
 * The marks, in bytes of arena slots (Linux `tcp_mem`, which counts pages).
 *
 * @example
 * ```ts
 * import type { TcpMemLimits } from "./mem.ts";
 * const limits: TcpMemLimits = { low: 4 << 20, pressure: 6 << 20, high: 8 << 20 };
 * ```
 */
export interface TcpMemLimits {
  /** Below it: no pressure; pressure ends only when the total falls below it. */
  readonly low: number;
  /** Above it: memory pressure. */
  readonly pressure: number;
  /** Above it: new send allocations fail (writers wait). */
  readonly high: number;
}

/**
 * Default marks for an arena whose socket buffers may use `usable` bytes
 * (the arena's capacity less its receive reserve): a quarter, three
 * eighths and a half of it, like Linux's 1/32 : 1/24 : 1/16 of RAM scaled
 * to a packet arena — the other half stays free for the receive path,
 * device queues, reassembly and UDP.
 *
 * @example
 * ```ts
 * import { defaultTcpMemLimits } from "./mem.ts";
 * defaultTcpMemLimits(48 << 20).high; // 25165824 (24 MiB)
 * ```
 */
export function defaultTcpMemLimits(usable: number): TcpMemLimits {
  const unit = Math.floor(usable / 8);
  return { low: 2 * unit, pressure: 3 * unit, high: 4 * unit };
}

/**
 * Counters of the account (Linux `TCPMemoryPressures`, `TCPAbortOnMemory`, …).
 *
 * @example
 * ```ts
 * import { TcpMemStats } from "./mem.ts";
 * new TcpMemStats().pressureEntered; // 0
 * ```
 */
export class TcpMemStats {
  /** Times the total rose above `pressure` (Linux TCPMemoryPressures). */
  pressureEntered = 0;
  /** Send allocations refused: at `high`, or over the fair share under pressure. */
  sendSuppressed = 0;
  /** Times a socket started waiting for global memory. */
  waits = 0;
  /** Out-of-order segments dropped to stay within the receive buffer or under pressure (Linux OFOPruned adds to `TcpStats.ofoPruned` too). */
  ofoPrunedForMemory = 0;
  /** Receive queues repacked into full slots (Linux TCPRcvCollapsed counts segments). */
  collapsed = 0;
  /** Bytes of slots the repacking gave back. */
  collapsedBytes = 0;
  /** Connections aborted under pressure: stuck in persist or with a starving window (RFC 6429). */
  stuckEvicted = 0;
  /** Orphans aborted: over `maxOrphans`, or holding memory under pressure (Linux TCPAbortOnMemory). */
  orphansAborted = 0;
  /** Receive buffers grown by auto-tuning (DRS). */
  rcvbufGrown = 0;
  /** Send buffers grown with the congestion window. */
  sndbufGrown = 0;
}

/**
 * The account itself: what every TCP socket's queues hold, and the marks.
 *
 * @example
 * ```ts
 * import { TcpMemory } from "./mem.ts";
 * const mem = new TcpMemory({ low: 4096, pressure: 8192, high: 16384 });
 * mem.charge(10240);
 * mem.underPressure; // true
 * mem.uncharge(10240);
 * mem.underPressure; // false (back below low)
 * ```
 */
export class TcpMemory implements MemoryAccount {
  /** Bytes charged now (true sizes of every TCP queue's buffers). */
  allocated = 0;
  /** Highest {@link TcpMemory.allocated} seen. */
  highWater = 0;
  /** Above `pressure` and not yet back below `low`. */
  underPressure = false;
  /** Counters. */
  readonly stats: TcpMemStats = new TcpMemStats();
  /** Called (synchronously, once) when pressure begins: TCP starts its eviction scan. */
  onPressure: (() => void) | null = null;
  #low: number;
  #pressure: number;
  #high: number;
  readonly #high_ = new Set<MemoryWaiter>();
  readonly #share = new Set<MemoryWaiter>();
  readonly #slot = new Set<MemoryWaiter>();
  #waiting = 0;

  /** An account with the given marks (`low` ≤ `pressure` ≤ `high`). */
  constructor(limits: TcpMemLimits) {
    this.#low = this.#pressure = this.#high = 0;
    this.setLimits(limits);
  }

  /** The `low` mark in bytes. */
  get low(): number {
    return this.#low;
  }
  /** The `pressure` mark in bytes. */
  get pressure(): number {
    return this.#pressure;
  }
  /** The `high` mark in bytes. */
  get high(): number {
    return this.#high;
  }
  /** Sockets waiting for memory. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Change the marks (Linux: writing the `tcp_mem` sysctl). */
  setLimits(l: TcpMemLimits): void {
    if (!(l.low >= 0 && l.low <= l.pressure && l.pressure <= l.high)) {
      throw new RangeError(
        `TCP memory marks must satisfy 0 ≤ low ≤ pressure ≤ high, got ${l.low}, ${l.pressure}, ${l.high}`,
      );
    }
    this.#low = l.low;
    this.#pressure = l.pressure;
    this.#high = l.high;
  }

  /** A queue took `bytes` (`sk_mem_charge`). */
  charge(bytes: number): void {
    const a = this.allocated += bytes;
    if (a > this.highWater) this.highWater = a;
    if (!this.underPressure && a > this.#pressure) {
      this.underPressure = true;
      this.stats.pressureEntered++;
      this.onPressure?.();
    }
  }

  /** A queue gave back `bytes` (`sk_mem_uncharge`). */
  uncharge(bytes: number): void {
    const a = this.allocated -= bytes;
    if (this.#waiting === 0) {
      if (this.underPressure && a < this.#low) this.underPressure = false;
      return;
    }
    if (this.#slot.size > 0) this.#wakeFirst(this.#slot);
    if (a <= this.#pressure && this.#high_.size > 0) this.#relieve(this.#high_);
    if (this.underPressure && a < this.#low) {
      this.underPressure = false;
      if (this.#share.size > 0) this.#relieve(this.#share);
    }
  }

  /**
   * `w` was refused memory for `why`: it waits (its poll shows no write
   * space) until what `why` waits for happens, then it is woken.
   */
  wait(w: MemoryWaiter, why: MemWait): void {
    if (w.snd.memWait) this.forget(w);
    w.snd.memWait = true;
    this.stats.waits++;
    this.#waiting++;
    (why === MemWait.HIGH ? this.#high_ : why === MemWait.SHARE ? this.#share : this.#slot).add(w);
  }

  /** `w` no longer waits (it closed, or its own ACKs gave it room). */
  forget(w: MemoryWaiter): void {
    if (!w.snd.memWait) return;
    w.snd.memWait = false;
    if (this.#high_.delete(w) || this.#share.delete(w) || this.#slot.delete(w)) this.#waiting--;
  }

  /** Wake the longest waiting of `set` (a freed buffer makes room for one). */
  #wakeFirst(set: Set<MemoryWaiter>): void {
    for (const w of set) {
      set.delete(w);
      this.#waiting--;
      w.snd.memWait = false;
      w.wake();
      return;
    }
  }

  #relieve(set: Set<MemoryWaiter>): void {
    this.#waiting -= set.size;
    for (const w of set) {
      w.snd.memWait = false;
      w.wake();
    }
    set.clear();
  }
}
