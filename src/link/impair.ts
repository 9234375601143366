/**
 * One direction of a simulated wire with seeded, reproducible impairments:
 * the userspace stand-in for Linux `netem` + `tbf` (tests/link/impair_test.ts checks each impairment).
 *
 * A frame handed to {@link ImpairedChannel.send} at clock time `t` goes
 * through these stages, in this order; the first one that drops it ends its
 * journey and increments exactly one drop counter:
 *
 * 1. **closed**: the channel was closed (`downDropped`).
 * 2. **MTU**: `len > mtu + 14` → `mtuDropped`. The wire's MTU may be smaller
 *    than the devices' (a PMTU black hole).
 * 3. **blackout**: `t` inside a `[from, to)` window or the periodic pattern →
 *    `blackoutDropped`. Decided at send time only: frames already on the wire
 *    when a blackout starts still arrive (the cable is cut at the sender).
 * 4. **loss**: with probability `loss` → `lost`.
 * 5. **bottleneck queue** (only with `rate`): the frame joins a FIFO
 *    serializer. Its *backlog* is every accepted frame whose last bit has not
 *    left yet (waiting or being serialized). If taking this frame would make
 *    the backlog exceed `queueLimit` frames or `queueLimitBytes` bytes, it is
 *    tail-dropped → `queueDropped`. Otherwise it starts at
 *    `max(t, previous frame's finish)` and takes `(len + overhead) · 8 / rate`
 *    seconds.
 * 6. **private buffer**: a frame that will be corrupted is copied here (the
 *    sender's bytes are never written) and the sender's reference released;
 *    otherwise the buffer itself travels, even when its data is shared (TCP
 *    keeps a clone for retransmission), like a clone crossing Linux's veth:
 *    receivers copy before writing into shared data (`skb.isShared`, Linux
 *    `skb_cloned`). No copy possible (arena exhausted) → `noBuffer` and
 *    `Xmit.DROP`.
 * 7. **corruption**: with probability `corrupt` → `corrupted`: `corruptBits`
 *    distinct random bits of the private copy are flipped (at byte offsets ≥
 *    `corruptOffset`). The sender's buffer is never written.
 * 8. **duplication**: with probability `duplicate` → `duplicated`: a second
 *    private copy is delivered right after the frame (same arrival time). The
 *    duplicate models a copy made past the bottleneck, so it costs no
 *    serialization time and is neither lost, corrupted nor delayed again.
 * 9. **delay**: arrival = departure + `delay` + U[0, `jitter`). Jitter alone
 *    never reorders: an arrival earlier than the previous in-order frame's is
 *    raised to it (netem's behaviour when it keeps order), so frames leave in
 *    the order they were sent.
 * 10. **reordering**: with probability `reorder` the frame is *held back*
 *     (counted in `reordered`): it gets `reorderDelay` extra and skips the
 *     order-keeping clamp of stage 9, so frames sent up to about
 *     `reorderDelay` after it overtake it. Held frames keep their order among
 *     themselves. A held frame is only observably reordered if some later
 *     frame of the same direction is sent within that window; the counter
 *     counts the decisions, tests measure the observed effect (RFC 4737:
 *     a frame is reordered when it arrives after a frame sent later).
 *
 * Every random decision has its own stream, derived from the channel's
 * `RandomSource` at construction; a stream is consumed only by frames that
 * reach its stage while the impairment is enabled. So turning on duplication
 * does not change which frames are lost, and the two directions of a pipe
 * (each built from its own derived source) never influence each other.
 *
 * Scheduling keeps two FIFOs whose arrival times are non-decreasing (the
 * in-order frames and the held frames), merged by time at delivery, and one
 * clock timer for the earliest arrival: O(1) per frame, no per-frame closure
 * or array. Arrival time and a tie-breaking wire sequence number ride in the
 * buffer's `tstamp` and `seq` fields while it is on the wire (the link owns
 * the control block there, like `skb->cb` in Linux); metadata is reset before
 * the frame is handed to the receiver.
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import { randomFloat, randomInt, type RandomSource, SeededRandom } from "../core/random.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { Xmit } from "./device.ts";
import { gsoSegment } from "./gso.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";

/** A periodic outage: `[start + k·period, start + k·period + duration)` for every k ≥ 0. */
export interface BlackoutPattern {
  /** Cycle length in ms (> 0). */
  readonly period: number;
  /** Outage length in ms at the start of each cycle (0 … period). */
  readonly duration: number;
  /** Clock time of the first outage (default 0). */
  readonly start?: number;
}

/**
 * Impairments of one direction; every field is optional and off by default.
 * See the module comment for the order of the stages and exact definitions.
 *
 * @example
 * ```ts
 * import type { ImpairmentConfig } from "./impair.ts";
 * // A lossy, jittery 10 Mbit/s path with a 64-frame bottleneck buffer.
 * const wan: ImpairmentConfig = {
 *   delay: 20, jitter: 5, loss: 0.01, reorder: 0.005,
 *   rate: 10_000_000, queueLimit: 64, mtu: 1400,
 * };
 * ```
 */
export interface ImpairmentConfig {
  /** Probability in [0, 1] that a frame is lost. */
  readonly loss?: number;
  /** Probability in [0, 1] that a frame is delivered twice. */
  readonly duplicate?: number;
  /** Probability in [0, 1] that a frame is held back by `reorderDelay`. */
  readonly reorder?: number;
  /** Extra delay of a held-back frame in ms (default 10). */
  readonly reorderDelay?: number;
  /** Base one-way delay in ms (default 0). */
  readonly delay?: number;
  /** Width in ms of the uniform extra delay U[0, jitter) (default 0); never reorders. */
  readonly jitter?: number;
  /** Probability in [0, 1] that a frame is corrupted. */
  readonly corrupt?: number;
  /** Distinct bits flipped in a corrupted frame (default 1, at most 64). */
  readonly corruptBits?: number;
  /** First byte offset corruption may touch (default 0; 14 spares the Ethernet header). */
  readonly corruptOffset?: number;
  /** Bottleneck rate in bits/s (default: unlimited, no serialization delay). */
  readonly rate?: number;
  /** Bytes added to each frame's length for serialization time (preamble, FCS, gap; default 0). */
  readonly overhead?: number;
  /** Backlog limit in frames at the bottleneck (needs `rate`). */
  readonly queueLimit?: number;
  /** Backlog limit in bytes at the bottleneck (needs `rate`). */
  readonly queueLimitBytes?: number;
  /** Wire MTU: frames longer than `mtu + 14` are dropped. */
  readonly mtu?: number;
  /** Outage windows `[from, to)` in clock ms; everything sent inside is dropped. */
  readonly blackouts?: readonly (readonly [number, number])[];
  /** A periodic outage, in addition to `blackouts`. */
  readonly blackoutPattern?: BlackoutPattern;
}

/**
 * Counters of one direction. Each frame increments `sent` and, if it is
 * dropped, exactly one drop counter (`lost`, `queueDropped`, `mtuDropped`,
 * `blackoutDropped`, `noBuffer`, `downDropped`, `rxDropped`); every
 * `duplicated` frame adds one extra arrival (a duplicate that finds no buffer
 * counts in `noBuffer` instead, and the original still travels).
 *
 * @example
 * ```ts
 * import { ImpairmentStats } from "./impair.ts";
 * const s = new ImpairmentStats();
 * s.sent === 0 && s.lost === 0; // true
 * ```
 */
export class ImpairmentStats {
  /** Frames handed to the channel. */
  sent = 0;
  /** Frames (and duplicates) accepted by the receiver's `netifRx`. */
  delivered = 0;
  /** Bytes of `delivered` frames. */
  deliveredBytes = 0;
  /** Frames dropped by random loss. */
  lost = 0;
  /** Frames that got a duplicate (each adds one delivery). */
  duplicated = 0;
  /** Frames held back by the reordering impairment. */
  reordered = 0;
  /** Frames delivered with flipped bits. */
  corrupted = 0;
  /** Frames tail-dropped at the bottleneck queue. */
  queueDropped = 0;
  /** Frames over the wire MTU. */
  mtuDropped = 0;
  /** Frames sent during a blackout. */
  blackoutDropped = 0;
  /** Frames (or duplicates) dropped because no arena buffer was free for a copy. */
  noBuffer = 0;
  /** Frames dropped because the receiver was down or the channel closed. */
  downDropped = 0;
  /** Frames the receiver refused (its receive queue was full). */
  rxDropped = 0;
}

/** What a channel delivers to: the receiving device (`BaseDevice` fits). */
export interface WireReceiver {
  /** Frames are dropped (and counted) while this is false. */
  readonly isUp: boolean;
  /** Take ownership of a received frame (Linux `netif_rx`). */
  netifRx(skb: SkBuff): boolean;
}

/** Options for {@link ImpairedChannel}. */
export interface ImpairedChannelOptions {
  /** Buffers for copies (shared, corrupted, duplicated frames). */
  readonly allocator: SkbAllocator;
  /** Time source; arrivals are timers on it. */
  readonly clock: Clock;
  /** Where frames arrive. */
  readonly receiver: WireReceiver;
  /** Source of the per-impairment random streams (read 5 times, at construction). */
  readonly rng: RandomSource;
  /** The impairments (default: a perfect wire). */
  readonly config?: ImpairmentConfig;
}

const DEFAULT_REORDER_DELAY = 10;
const MAX_CORRUPT_BITS = 64;

/**
 * One direction of a simulated wire: takes ownership of transmitted frames,
 * impairs them as configured (see the module comment for the exact order and
 * definitions) and delivers the survivors to the receiver on clock timers.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { SeededRandom } from "../core/random.ts";
 * import { ImpairedChannel } from "./impair.ts";
 * const allocator = new SkbAllocator(new Arena());
 * const clock = new VirtualClock();
 * const got: number[] = [];
 * const ch = new ImpairedChannel({
 *   allocator, clock, rng: new SeededRandom(1),
 *   receiver: { isUp: true, netifRx: (skb) => (got.push(clock.now()), skb.free(), true) },
 *   config: { delay: 5, loss: 0.1 },
 * });
 * ch.send(allocator.fromBytes(new Uint8Array(60))!);
 * clock.advance(5); // got is [5] unless the frame was lost
 * ```
 */
export class ImpairedChannel {
  /** Counters, readable at any time. */
  readonly stats: ImpairmentStats = new ImpairmentStats();
  /** The configuration this channel was built with. */
  readonly config: ImpairmentConfig;
  readonly #allocator: SkbAllocator;
  readonly #clock: Clock;
  readonly #receiver: WireReceiver;

  // Normalized configuration (plain numbers: read on every frame).
  readonly #loss: number;
  readonly #dup: number;
  readonly #reorder: number;
  readonly #reorderDelay: number;
  readonly #delay: number;
  readonly #jitter: number;
  readonly #corrupt: number;
  readonly #corruptBits: number;
  readonly #corruptOffset: number;
  readonly #msPerByte: number; // 0 = unlimited rate
  readonly #overhead: number;
  readonly #queueLimit: number;
  readonly #queueLimitBytes: number;
  readonly #maxFrame: number;
  readonly #windows: Float64Array; // merged, sorted [from, to) pairs
  #windowCursor = 0;
  readonly #patternPeriod: number;
  readonly #patternDuration: number;
  readonly #patternStart: number;

  // One stream per decision so enabling one impairment leaves the others' draws unchanged.
  readonly #lossRng: RandomSource;
  readonly #dupRng: RandomSource;
  readonly #reorderRng: RandomSource;
  readonly #jitterRng: RandomSource;
  readonly #corruptRng: RandomSource;
  readonly #flipped = new Int32Array(MAX_CORRUPT_BITS);

  // Bottleneck backlog: ring of (finish time, bytes) of frames not yet fully serialized.
  #ringFinish = new Float64Array(64);
  #ringBytes = new Int32Array(64);
  #ringHead = 0;
  #ringCount = 0;
  #backlogBytes = 0;
  #busyUntil = -Infinity;

  // Frames on the wire: in-order and held-back, each with non-decreasing arrival times.
  readonly #inOrder = new SkbQueue();
  readonly #held = new SkbQueue();
  #lastInOrder = -Infinity;
  #lastHeld = -Infinity;
  #wireSeq = 0;
  /** Frames are impaired one by one: TSO super-segments are cut first. */
  readonly #perFrame: boolean;
  /** The one delivery timer, re-armed in place (no allocation per frame). */
  readonly #timer: Timer;
  #armedAt = Infinity;
  #delivering = false;
  #closed = false;
  readonly #onTimer = (): void => this.#fire();

  /** A channel delivering to `options.deliver` with the given impairments. */
  constructor(options: ImpairedChannelOptions) {
    const c = options.config ?? {};
    this.config = c;
    this.#allocator = options.allocator;
    this.#clock = options.clock;
    this.#receiver = options.receiver;
    this.#timer = this.#clock.createTimer(this.#onTimer);
    this.#loss = probability(c.loss, "loss");
    this.#dup = probability(c.duplicate, "duplicate");
    this.#reorder = probability(c.reorder, "reorder");
    this.#corrupt = probability(c.corrupt, "corrupt");
    this.#reorderDelay = nonNegative(c.reorderDelay ?? DEFAULT_REORDER_DELAY, "reorderDelay");
    this.#delay = nonNegative(c.delay ?? 0, "delay");
    this.#jitter = nonNegative(c.jitter ?? 0, "jitter");
    this.#corruptBits = c.corruptBits ?? 1;
    if (
      !Number.isInteger(this.#corruptBits) || this.#corruptBits < 1 ||
      this.#corruptBits > MAX_CORRUPT_BITS
    ) {
      throw new RangeError(
        `Impairment corruptBits must be an integer in 1…${MAX_CORRUPT_BITS}, got ${c.corruptBits}`,
      );
    }
    this.#corruptOffset = count(c.corruptOffset ?? 0, "corruptOffset");
    if (c.rate !== undefined && !(c.rate > 0 && Number.isFinite(c.rate))) {
      throw new RangeError(`Impairment rate must be a positive number of bits/s, got ${c.rate}`);
    }
    this.#msPerByte = c.rate === undefined ? 0 : 8000 / c.rate;
    this.#overhead = nonNegative(c.overhead ?? 0, "overhead");
    if ((c.queueLimit !== undefined || c.queueLimitBytes !== undefined) && c.rate === undefined) {
      throw new RangeError("Impairment queueLimit/queueLimitBytes need a rate (no rate, no queue)");
    }
    this.#queueLimit = c.queueLimit === undefined ? Infinity : count(c.queueLimit, "queueLimit");
    this.#queueLimitBytes = c.queueLimitBytes === undefined
      ? Infinity
      : count(c.queueLimitBytes, "queueLimitBytes");
    this.#maxFrame = c.mtu === undefined ? Infinity : count(c.mtu, "mtu") + ETHERNET_HEADER_LENGTH;
    this.#perFrame = this.#loss > 0 || this.#dup > 0 || this.#reorder > 0 || this.#corrupt > 0 ||
      this.#msPerByte > 0 || c.mtu !== undefined || (c.blackouts?.length ?? 0) > 0 ||
      c.blackoutPattern !== undefined;
    this.#windows = mergeWindows(c.blackouts ?? []);
    const p = c.blackoutPattern;
    if (p !== undefined) {
      if (!(p.period > 0 && Number.isFinite(p.period))) {
        throw new RangeError(`Impairment blackoutPattern.period must be > 0, got ${p.period}`);
      }
      if (!(p.duration >= 0 && p.duration <= p.period)) {
        throw new RangeError(
          `Impairment blackoutPattern.duration must be in 0…period, got ${p.duration}`,
        );
      }
      if (!Number.isFinite(p.start ?? 0)) {
        throw new RangeError(`Impairment blackoutPattern.start must be finite, got ${p.start}`);
      }
    }
    this.#patternPeriod = p?.period ?? 0;
    this.#patternDuration = p?.duration ?? 0;
    this.#patternStart = p?.start ?? 0;
    // Always derive all five streams, in a fixed order, whatever is enabled.
    const rng = options.rng;
    this.#lossRng = new SeededRandom(rng.nextU32());
    this.#dupRng = new SeededRandom(rng.nextU32());
    this.#reorderRng = new SeededRandom(rng.nextU32());
    this.#jitterRng = new SeededRandom(rng.nextU32());
    this.#corruptRng = new SeededRandom(rng.nextU32());
  }

  /** Frames on the wire (accepted, not yet delivered), duplicates included. */
  get inFlight(): number {
    return this.#inOrder.length + this.#held.length;
  }

  /** Frames at the bottleneck whose serialization has not finished at the current time. */
  get backlog(): number {
    this.#drainBacklog(this.#clock.now());
    return this.#ringCount;
  }

  /** True once {@link ImpairedChannel.close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Put a frame (`skb.data` = destination MAC) on the wire. Always consumes
   * `skb`. Returns `Xmit.OK` when the wire took it, even if an impairment then
   * dropped it (the sender cannot tell), `Xmit.DROP` when no buffer was free
   * for a needed copy.
   */
  send(skb: SkBuff): Xmit {
    // A TSO super-segment crosses whole unless frames are impaired one by one
    // (loss, duplication, reordering, corruption, a bottleneck rate, a wire
    // MTU): then it is cut into wire-sized frames here, as a NIC would.
    if (skb.gsoSize > 0 && this.#perFrame) {
      let r: Xmit = Xmit.OK;
      const n = gsoSegment(skb, ETHERNET_HEADER_LENGTH, this.#allocator, (piece) => {
        if (this.#sendFrame(piece) !== Xmit.OK) r = Xmit.DROP;
      });
      if (n < 0) {
        this.stats.noBuffer++;
        return Xmit.DROP;
      }
      return r;
    }
    return this.#sendFrame(skb);
  }

  #sendFrame(skb: SkBuff): Xmit {
    const st = this.stats;
    const now = this.#clock.now();
    const len = skb.len;
    st.sent++;
    if (this.#closed) {
      st.downDropped++;
      skb.free();
      return Xmit.OK;
    }
    if (len > this.#maxFrame) {
      st.mtuDropped++;
      skb.free();
      return Xmit.OK;
    }
    if (this.#inBlackout(now)) {
      st.blackoutDropped++;
      skb.free();
      return Xmit.OK;
    }
    if (this.#loss > 0 && randomFloat(this.#lossRng) < this.#loss) {
      st.lost++;
      skb.free();
      return Xmit.OK;
    }
    let departs = now;
    const wire = len + this.#overhead;
    if (this.#msPerByte > 0) {
      this.#drainBacklog(now);
      if (
        this.#ringCount + 1 > this.#queueLimit || this.#backlogBytes + wire > this.#queueLimitBytes
      ) {
        st.queueDropped++;
        skb.free();
        return Xmit.OK;
      }
      departs = (this.#busyUntil > now ? this.#busyUntil : now) + wire * this.#msPerByte;
    }
    const corrupt = this.#corrupt > 0 && randomFloat(this.#corruptRng) < this.#corrupt;
    let own: SkBuff | null = skb;
    if (corrupt) {
      own = this.#allocator.copy(skb);
      skb.free();
      if (own === null) {
        st.noBuffer++;
        return Xmit.DROP;
      }
    }
    // Committed: the frame occupies the bottleneck until `departs`.
    if (this.#msPerByte > 0) {
      this.#busyUntil = departs;
      this.#pushBacklog(departs, wire);
    }
    if (corrupt) {
      this.#flipBits(own);
      st.corrupted++;
    }
    let dup: SkBuff | null = null;
    if (this.#dup > 0 && randomFloat(this.#dupRng) < this.#dup) {
      dup = this.#allocator.copy(own);
      if (dup === null) st.noBuffer++;
      else st.duplicated++;
    }
    let at = departs + this.#delay;
    if (this.#jitter > 0) at += randomFloat(this.#jitterRng) * this.#jitter;
    let q: SkbQueue;
    if (this.#reorder > 0 && randomFloat(this.#reorderRng) < this.#reorder) {
      st.reordered++;
      at += this.#reorderDelay;
      if (at < this.#lastHeld) at = this.#lastHeld;
      this.#lastHeld = at;
      q = this.#held;
    } else {
      if (at < this.#lastInOrder) at = this.#lastInOrder;
      this.#lastInOrder = at;
      q = this.#inOrder;
    }
    own.tstamp = at;
    own.seq = this.#wireSeq++;
    q.push(own);
    if (dup !== null) {
      dup.tstamp = at;
      dup.seq = this.#wireSeq++;
      q.push(dup);
    }
    if (!this.#delivering && at < this.#armedAt) this.#arm(at);
    return Xmit.OK;
  }

  /** Unplug: cancel the timer and free every frame on the wire; later sends are dropped. */
  close(): void {
    this.#closed = true;
    this.#clock.clearTimer(this.#timer);
    this.#armedAt = Infinity;
    this.stats.downDropped += this.#inOrder.purge() + this.#held.purge();
  }

  #inBlackout(now: number): boolean {
    const w = this.#windows;
    if (w.length > 0) {
      // Clock time never goes back, so windows that ended stay behind the cursor.
      let i = this.#windowCursor;
      while (i < w.length && w[i + 1]! <= now) i += 2;
      this.#windowCursor = i;
      if (i < w.length && w[i]! <= now) return true;
    }
    if (this.#patternPeriod > 0 && now >= this.#patternStart) {
      if ((now - this.#patternStart) % this.#patternPeriod < this.#patternDuration) return true;
    }
    return false;
  }

  #drainBacklog(now: number): void {
    const cap = this.#ringFinish.length;
    while (this.#ringCount > 0 && this.#ringFinish[this.#ringHead]! <= now) {
      this.#backlogBytes -= this.#ringBytes[this.#ringHead]!;
      this.#ringHead = (this.#ringHead + 1) % cap;
      this.#ringCount--;
    }
  }

  #pushBacklog(finish: number, bytes: number): void {
    let cap = this.#ringFinish.length;
    if (this.#ringCount === cap) {
      // Grow by doubling (rare: only while the backlog reaches a new high).
      const f = new Float64Array(cap * 2);
      const b = new Int32Array(cap * 2);
      for (let k = 0; k < this.#ringCount; k++) {
        const j = (this.#ringHead + k) % cap;
        f[k] = this.#ringFinish[j]!;
        b[k] = this.#ringBytes[j]!;
      }
      this.#ringFinish = f;
      this.#ringBytes = b;
      this.#ringHead = 0;
      cap *= 2;
    }
    const j = (this.#ringHead + this.#ringCount) % cap;
    this.#ringFinish[j] = finish;
    this.#ringBytes[j] = bytes;
    this.#ringCount++;
    this.#backlogBytes += bytes;
  }

  #flipBits(skb: SkBuff): void {
    if (skb.len === 0) return;
    const from = Math.min(this.#corruptOffset, skb.len - 1);
    const span = (skb.len - from) * 8;
    const n = Math.min(this.#corruptBits, span);
    const u8 = this.#allocator.arena.u8;
    const base = skb.data + from;
    const flipped = this.#flipped;
    for (let k = 0; k < n; k++) {
      let bit: number;
      // Distinct bits: flipping one twice would undo the corruption.
      retry: for (;;) {
        bit = randomInt(this.#corruptRng, span);
        for (let j = 0; j < k; j++) if (flipped[j] === bit) continue retry;
        break;
      }
      flipped[k] = bit;
      const at = base + (bit >>> 3);
      u8[at] = u8[at]! ^ (1 << (bit & 7));
    }
  }

  #arm(at: number): void {
    this.#armedAt = at;
    this.#clock.resetTimer(this.#timer, at - this.#clock.now());
  }

  #fire(): void {
    // `now + (at - now)` can round below `at`; the timer was armed for `at`.
    const limit = Math.max(this.#clock.now(), this.#armedAt);
    this.#armedAt = Infinity;
    this.#delivering = true;
    const a = this.#inOrder;
    const h = this.#held;
    for (;;) {
      const x = a.head;
      const y = h.head;
      let next: SkBuff;
      if (x === null) {
        if (y === null) break;
        next = y;
      } else if (y === null) {
        next = x;
      } else {
        next = y.tstamp < x.tstamp || (y.tstamp === x.tstamp && y.seq < x.seq) ? y : x;
      }
      if (next.tstamp > limit) break;
      (next === x ? a : h).unlink(next);
      this.#deliver(next);
      if (this.#closed) break; // a receiver callback closed the pipe (and purged it)
    }
    this.#delivering = false;
    if (this.#closed) return;
    const x = a.head;
    const y = h.head;
    const at = x === null
      ? (y === null ? Infinity : y.tstamp)
      : y === null
      ? x.tstamp
      : Math.min(x.tstamp, y.tstamp);
    if (at !== Infinity) this.#arm(at);
  }

  #deliver(skb: SkBuff): void {
    const st = this.stats;
    skb.resetMeta();
    const r = this.#receiver;
    if (!r.isUp) {
      st.downDropped++;
      skb.free();
      return;
    }
    const len = skb.len;
    if (r.netifRx(skb)) {
      st.delivered++;
      st.deliveredBytes += len;
    } else {
      st.rxDropped++;
    }
  }
}

function probability(p: number | undefined, name: string): number {
  if (p === undefined) return 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`Impairment ${name} must be in [0, 1], got ${p}`);
  return p;
}

function nonNegative(x: number, name: string): number {
  if (!(x >= 0 && Number.isFinite(x))) {
    throw new RangeError(`Impairment ${name} must be a finite number ≥ 0, got ${x}`);
  }
  return x;
}

function count(x: number, name: string): number {
  if (!Number.isInteger(x) || x < 0) {
    throw new RangeError(`Impairment ${name} must be an integer ≥ 0, got ${x}`);
  }
  return x;
}

/** Sort and merge overlapping or touching windows into disjoint `[from, to)` pairs. */
function mergeWindows(windows: readonly (readonly [number, number])[]): Float64Array {
  const sorted = windows.map(([from, to]) => {
    if (!(from <= to) || Number.isNaN(from)) {
      throw new RangeError(`Impairment blackout [${from}, ${to}) must have from ≤ to`);
    }
    return [from, to] as const;
  }).filter(([from, to]) => to > from).sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [from, to] of sorted) {
    const n = out.length;
    if (n > 0 && from <= out[n - 1]!) out[n - 1] = Math.max(out[n - 1]!, to);
    else out.push(from, to);
  }
  return Float64Array.from(out);
}
