/**
 * IPv4 reassembly (RFC 791 §3.2; RFC 1122 §3.3.2, I8; Linux `ip_fragment.c`
 * over `inet_fragment.c`), hardened against the fragment attacks of
 * Attacks covered by tests/ipv4/reassembly_test.ts (teardrop, ping of death, FragmentSmack, RFC 5722,
 * RFC 1858/3128) and row 18 (hash-collision table exhaustion).
 *
 * Decisions recorded here:
 * - **Timeout 30 s, fixed from the first fragment** (Linux `ipfrag_time`).
 *   RFC 1122 §3.3.2 recommends 60–120 s; we take the shorter Linux value
 *   because a queue held longer is a larger target for memory exhaustion and
 *   modern paths deliver fragments within milliseconds of each other. It is
 *   configurable (`timeoutMs`). Later fragments never extend it, so trickling
 *   one fragment every few seconds cannot pin a queue.
 * - **Any overlap drops the whole datagram** (RFC 5722 semantics, which
 *   RFC 5722 asks for IPv6 and we do for IPv4 too, as Linux does since 4.19): there is
 *   then no "which copy wins" ambiguity for a firewall to be evaded by, and
 *   teardrop's negative lengths cannot arise. Exact duplicates (same offset
 *   and length) are ignored, per RFC 5722 errata 3089; the first copy is kept.
 * - **A bad fragment takes its datagram with it**: past 65,535 bytes (ping of
 *   death), empty, misaligned, a second or contradicted end, or a first
 *   fragment shorter than the transport header minimum (RFC 1858/3128: 20
 *   bytes for TCP, 8 otherwise). Nothing is blacklisted: the same key
 *   reassembles normally afterwards.
 * - **Memory is counted in arena slot bytes** (the truesize), not payload
 *   bytes, so a flood of 8-byte fragments in 2 KiB slots hits the cap at the
 *   rate it really consumes the arena. Above `highThresholdBytes` the oldest
 *   queues are evicted until usage is under `lowThresholdBytes` (Linux
 *   `ipfrag_high_thresh` / `ipfrag_low_thresh`).
 * - **Keyed hash**: queues live in buckets indexed by HalfSipHash-2-4 of
 *   (src, dst, id, protocol) under a 64-bit secret drawn from the injected
 *   `rng`; chains compare the exact fields. An attacker who cannot learn the
 *   secret cannot aim many datagrams at one bucket (CVE-2003-0364).
 * - **Caps**: fragments per datagram (default 70, see
 *   {@link DEFAULT_MAX_FRAGMENTS}), concurrent queues (eviction of the
 *   oldest), queues per source address (eviction of that source's oldest, so
 *   one source only ever pushes out its own datagrams).
 * - **Timers**: queues sit on one list in creation order, which with a fixed
 *   timeout is also deadline order, so a single clock timer aimed at the head
 *   serves them all; each sweep expires at most {@link SWEEP_BATCH} queues.
 * - Each fragment keeps `data` at its IPv4 header (so fragment 0 can be quoted
 *   by ICMP Time Exceeded); its datagram range lives in `seq`/`endSeq` and its
 *   payload starts at `transportHeader` (the role of Linux's `FRAG_CB`).
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import type { RandomSource } from "../core/random.ts";
import { KeyedHash } from "../core/hash.ts";
import type { DropCounters, IpStats } from "../core/stats.ts";
import { SkbQueue } from "../skb/queue.ts";
import { Csum, type SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
import { IpProtocol, IPV4_MAX_LENGTH, type Ipv4Repr, Ipv4View } from "../wire/ipv4.ts";

/**
 * Default reassembly timeout: Linux `ipfrag_time` (30 s). See the module note
 * for why this is below RFC 1122's suggested 60–120 s.
 *
 * @example
 * ```ts
 * import { DEFAULT_REASSEMBLY_TIMEOUT_MS } from "./reassembly.ts";
 * DEFAULT_REASSEMBLY_TIMEOUT_MS; // 30000
 * ```
 */
export const DEFAULT_REASSEMBLY_TIMEOUT_MS = 30_000;

/**
 * Default cap on fragments per datagram: ⌈(576 − 20) / 8⌉ = 70, the most
 * pieces a 576-byte datagram (the EMTU_R every host MUST reassemble, RFC 1122
 * §3.3.2) can legally be cut into with 8-byte fragments. A smaller cap would
 * break I8 for such senders; a larger one lets each queue hold more tiny
 * fragments (FragmentSmack). Larger datagrams over tiny MTUs need a larger
 * setting.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAGMENTS } from "./reassembly.ts";
 * DEFAULT_MAX_FRAGMENTS; // 70
 * ```
 */
export const DEFAULT_MAX_FRAGMENTS = 70;

/**
 * Default memory high threshold (Linux `ipfrag_high_thresh`, 4 MiB).
 *
 * @example
 * ```ts
 * import { DEFAULT_HIGH_THRESHOLD } from "./reassembly.ts";
 * DEFAULT_HIGH_THRESHOLD; // 4194304
 * ```
 */
export const DEFAULT_HIGH_THRESHOLD = 4 * 1024 * 1024;

/**
 * Default memory low threshold (Linux `ipfrag_low_thresh`, 3 MiB).
 *
 * @example
 * ```ts
 * import { DEFAULT_LOW_THRESHOLD } from "./reassembly.ts";
 * DEFAULT_LOW_THRESHOLD; // 3145728
 * ```
 */
export const DEFAULT_LOW_THRESHOLD = 3 * 1024 * 1024;

/**
 * Smallest payload a first fragment may carry: the minimum transport header,
 * so that no header field (ports, TCP flags) can be supplied or rewritten by a
 * later fragment — the RFC 1858 §3.1 / RFC 3128 "tiny fragment" attack on
 * filters that judge a datagram by its first fragment. 8 bytes (the UDP and
 * ICMP headers, and RFC 791 §2.3's minimum fragment) for every protocol but
 * TCP; see {@link MIN_FIRST_FRAGMENT_TCP}.
 *
 * @example
 * ```ts
 * import { MIN_FIRST_FRAGMENT } from "./reassembly.ts";
 * MIN_FIRST_FRAGMENT; // 8
 * ```
 */
export const MIN_FIRST_FRAGMENT = 8;

/**
 * Smallest first fragment of a TCP datagram: the 20-byte TCP header (RFC 9293
 * §3.1), which holds the flags at byte 13 that RFC 1858's attack hides in the
 * second fragment. Since non-final fragments carry multiples of 8 bytes, this
 * refuses 8- and 16-byte first fragments. The cost: a sender with 40 bytes of
 * IP options over a 68-byte MTU link cannot get TCP through (it would need
 * 8-byte fragments); TCP uses path MTU discovery with DF, so that sender
 * does not exist in practice.
 *
 * @example
 * ```ts
 * import { MIN_FIRST_FRAGMENT_TCP } from "./reassembly.ts";
 * MIN_FIRST_FRAGMENT_TCP; // 20
 * ```
 */
export const MIN_FIRST_FRAGMENT_TCP = 20;

/**
 * Most queues one timer sweep expires before yielding (bounded work per task).
 *
 * @example
 * ```ts
 * import { SWEEP_BATCH } from "./reassembly.ts";
 * SWEEP_BATCH; // 256
 * ```
 */
export const SWEEP_BATCH = 256;

/**
 * Every drop reason the reassembler counts in `DropCounters`. Each counts the
 * fragments it discarded.
 *
 * @example
 * ```ts
 * import { REASSEMBLY_DROP_REASONS } from "./reassembly.ts";
 * REASSEMBLY_DROP_REASONS.includes("ipv4.frag_overlap"); // true
 * ```
 */
export const REASSEMBLY_DROP_REASONS = [
  /** Overlaps another fragment without being its exact duplicate (RFC 5722; teardrop). */
  "ipv4.frag_overlap",
  /** Offset + length beyond 65,535 bytes (ping of death). */
  "ipv4.frag_too_big",
  /** More than `maxFragmentsPerDatagram` fragments (FragmentSmack). */
  "ipv4.frag_too_many",
  /** Evicted or refused to keep reassembly memory under the thresholds. */
  "ipv4.frag_memory",
  /** First fragment shorter than the transport header minimum (RFC 1858/3128). */
  "ipv4.frag_tiny_first",
  /** A second, different last fragment, or data beyond the last fragment's end. */
  "ipv4.frag_inconsistent_end",
  /** A fragment with no payload (Linux `ip_frag_queue` discards the queue too). */
  "ipv4.frag_empty",
  /** A non-final fragment whose length is not a multiple of 8 (RFC 791 §3.1). */
  "ipv4.frag_misaligned",
  /** An exact duplicate of a fragment already queued (ignored, not an error). */
  "ipv4.frag_duplicate",
  /** Evicted because `maxDatagrams` queues were in use. */
  "ipv4.frag_queue_limit",
  /** Evicted because its source had `maxPerSource` queues. */
  "ipv4.frag_source_limit",
  /** The reassembly timer ran out (RFC 1122 §3.3.2). */
  "ipv4.frag_timeout",
  /** No arena buffer for the reassembled datagram. */
  "ipv4.frag_nobufs",
  /** Arrived after `close()`. */
  "ipv4.frag_closed",
] as const;

/**
 * One of {@link REASSEMBLY_DROP_REASONS}.
 *
 * @example
 * ```ts
 * import type { ReassemblyDropReason } from "./reassembly.ts";
 * const why: ReassemblyDropReason = "ipv4.frag_timeout";
 * ```
 */
export type ReassemblyDropReason = typeof REASSEMBLY_DROP_REASONS[number];

/**
 * Options for {@link Reassembler}.
 *
 * @example
 * ```ts
 * import type { ReassemblyOptions } from "./reassembly.ts";
 * const tuning: Partial<ReassemblyOptions> = { timeoutMs: 60_000, maxPerSource: 16 };
 * ```
 */
export interface ReassemblyOptions {
  /** Time source; one timer is armed through it. */
  clock: Clock;
  /** Allocates the reassembled datagram. */
  allocator: SkbAllocator;
  /** Draws the hash secret. */
  rng: RandomSource;
  /** `reasmReqds`, `reasmOKs`, `reasmFails`, `reasmTimeout`. */
  stats: IpStats;
  /** Drops by reason, see {@link REASSEMBLY_DROP_REASONS}. */
  drops: DropCounters;
  /** Reassembly timeout from the first fragment (default {@link DEFAULT_REASSEMBLY_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Fragments one datagram may have queued (default {@link DEFAULT_MAX_FRAGMENTS}). */
  maxFragmentsPerDatagram?: number;
  /** Memory cap over all queues, in slot bytes (default {@link DEFAULT_HIGH_THRESHOLD}). */
  highThresholdBytes?: number;
  /** Eviction target once the high threshold is hit (default {@link DEFAULT_LOW_THRESHOLD}). */
  lowThresholdBytes?: number;
  /** Concurrent queues (default 1024). */
  maxDatagrams?: number;
  /** Concurrent queues per source address (default 64). */
  maxPerSource?: number;
  /**
   * Called when a queue times out with fragment 0 (`data` at its IPv4
   * header) if it arrived, for an ICMP Time Exceeded code 1 quoting it
   * (RFC 1122 §3.3.2, I8; RFC 792); `null` when it never arrived (no ICMP).
   * The callee owns the buffer and must free it.
   */
  onTimeout?: (first: SkBuff | null) => void;
}

const IPPROTO_TCP = IpProtocol.TCP;

// Queue flags (Linux INET_FRAG_FIRST_IN / INET_FRAG_LAST_IN).
const FIRST_IN = 1;
const LAST_IN = 2;

/** Per-source bookkeeping: its queues, oldest first. */
class SourceEntry {
  addr = 0;
  count = 0;
  head: FragQueue | null = null;
  tail: FragQueue | null = null;
  hashNext: SourceEntry | null = null;
}

/** One datagram being reassembled (Linux `struct ipq`). */
class FragQueue {
  src = 0;
  dst = 0;
  id = 0;
  protocol = 0;
  /** Fragments sorted by offset, disjoint. */
  readonly frags = new SkbQueue();
  flags = 0;
  /** Datagram payload length once LAST_IN, else the largest end seen. */
  len = 0;
  /** Payload bytes received (fragments never overlap, so no double counting). */
  meat = 0;
  /** Slot bytes held. */
  truesize = 0;
  /** When the queue expires. */
  deadline = 0;
  bucket = 0;
  hashNext: FragQueue | null = null;
  lruPrev: FragQueue | null = null;
  lruNext: FragQueue | null = null;
  source: SourceEntry | null = null;
  srcPrev: FragQueue | null = null;
  srcNext: FragQueue | null = null;
}

const view = new Ipv4View(new Uint8Array(0), 0);

/**
 * Reassembles IPv4 fragments into datagrams, one queue per
 * (source, destination, identification, protocol) (RFC 791 §3.2).
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { SeededRandom } from "../core/random.ts";
 * import { DropCounters, IpStats } from "../core/stats.ts";
 * import { Reassembler } from "./reassembly.ts";
 * const allocator = new SkbAllocator(new Arena());
 * const reasm = new Reassembler({
 *   clock: new VirtualClock(), allocator, rng: new SeededRandom(1),
 *   stats: new IpStats(), drops: new DropCounters(),
 *   onTimeout: (first) => first?.free(), // a real stack sends ICMP Time Exceeded first
 * });
 * // for each received fragment: const whole = reasm.add(skb, ip); if (whole) deliver(whole);
 * reasm.close();
 * ```
 */
export class Reassembler {
  readonly #clock: Clock;
  readonly #allocator: SkbAllocator;
  readonly #stats: IpStats;
  readonly #drops: DropCounters;
  readonly #onTimeout: ((first: SkBuff | null) => void) | undefined;
  readonly #timeoutMs: number;
  readonly #maxFrags: number;
  readonly #high: number;
  readonly #low: number;
  readonly #maxDatagrams: number;
  readonly #maxPerSource: number;
  readonly #hash: KeyedHash;
  readonly #buckets: (FragQueue | null)[];
  readonly #srcBuckets: (SourceEntry | null)[];
  readonly #mask: number;
  #lruHead: FragQueue | null = null;
  #lruTail: FragQueue | null = null;
  #queues = 0;
  #mem = 0;
  #timer: Timer | null = null;
  #closed = false;
  #pool: FragQueue[] = [];
  readonly #sweepFn = () => this.#sweep();

  /** Throws `RangeError` for limits that are not positive integers or a low threshold above the high one. */
  constructor(o: ReassemblyOptions) {
    this.#clock = o.clock;
    this.#allocator = o.allocator;
    this.#stats = o.stats;
    this.#drops = o.drops;
    this.#onTimeout = o.onTimeout;
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_REASSEMBLY_TIMEOUT_MS;
    this.#maxFrags = o.maxFragmentsPerDatagram ?? DEFAULT_MAX_FRAGMENTS;
    this.#high = o.highThresholdBytes ?? DEFAULT_HIGH_THRESHOLD;
    this.#low = o.lowThresholdBytes ?? Math.min(DEFAULT_LOW_THRESHOLD, this.#high);
    this.#maxDatagrams = o.maxDatagrams ?? 1024;
    this.#maxPerSource = o.maxPerSource ?? 64;
    if (!(this.#timeoutMs > 0) || !Number.isFinite(this.#timeoutMs)) {
      throw new RangeError(`Reassembler: timeoutMs must be positive, got ${this.#timeoutMs}`);
    }
    for (
      const [name, v] of [
        ["maxFragmentsPerDatagram", this.#maxFrags],
        ["highThresholdBytes", this.#high],
        ["lowThresholdBytes", this.#low],
        ["maxDatagrams", this.#maxDatagrams],
        ["maxPerSource", this.#maxPerSource],
      ] as const
    ) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`Reassembler: ${name} must be a positive integer, got ${v}`);
      }
    }
    if (this.#low > this.#high) {
      throw new RangeError(
        `Reassembler: lowThresholdBytes ${this.#low} is above highThresholdBytes ${this.#high}`,
      );
    }
    this.#hash = new KeyedHash(o.rng);
    let n = 16;
    while (n < this.#maxDatagrams && n < 65536) n *= 2;
    this.#mask = n - 1;
    this.#buckets = new Array<FragQueue | null>(n).fill(null);
    this.#srcBuckets = new Array<SourceEntry | null>(n).fill(null);
  }

  /** Datagrams being reassembled. */
  get queues(): number {
    return this.#queues;
  }

  /** Arena slot bytes held by queued fragments. */
  get memoryBytes(): number {
    return this.#mem;
  }

  /**
   * Add a fragment: `skb.data` at its IPv4 header, `ip` that header parsed
   * (MF set or offset ≠ 0). Consumes `skb`. Returns the complete datagram when
   * this fragment completes it — a new buffer holding fragment 0's header
   * (all its options) with MF and offset cleared, total length and checksum
   * recomputed, and `MAX_HEADER` bytes of headroom — else `null`. Never throws
   * on packet contents; `TypeError` if `ip` is not a fragment (caller bug).
   */
  add(skb: SkBuff, ip: Ipv4Repr): SkBuff | null {
    const start = ip.fragmentOffset;
    if (!ip.moreFragments && start === 0) {
      throw new TypeError("Reassembler.add: not a fragment (MF clear and offset 0)");
    }
    this.#stats.reasmReqds++;
    if (this.#closed) return this.#reject(skb, null, "ipv4.frag_closed");
    const hl = ip.headerLength;
    const len = ip.payloadLength;
    const end = start + len;
    skb.trim(hl + len); // link padding is not payload
    let q = this.#lookup(ip.src, ip.dst, ip.id, ip.protocol);

    // Checks on the fragment alone. A bad fragment poisons its whole datagram:
    // like an overlap, it shows the datagram cannot be trusted.
    // Ping of death: the 16-bit total length caps a datagram at 65,535 bytes (RFC 791 §3.1).
    if (end + hl > IPV4_MAX_LENGTH) return this.#reject(skb, q, "ipv4.frag_too_big");
    if (len === 0) return this.#reject(skb, q, "ipv4.frag_empty");
    // RFC 791 §3.1: offsets count 8-octet units, so only the last fragment may be ragged.
    if (ip.moreFragments && (len & 7) !== 0) return this.#reject(skb, q, "ipv4.frag_misaligned");
    // RFC 1858 §3.1 / RFC 3128: the first fragment must hold the transport header minimum.
    const minFirst = ip.protocol === IPPROTO_TCP ? MIN_FIRST_FRAGMENT_TCP : MIN_FIRST_FRAGMENT;
    if (start === 0 && len < minFirst) {
      return this.#reject(skb, q, "ipv4.frag_tiny_first");
    }

    if (q === null) q = this.#create(ip.src, ip.dst, ip.id, ip.protocol);

    // RFC 791 §3.2: the fragment with MF clear fixes the datagram's length.
    if (!ip.moreFragments) {
      if (end < q.len || ((q.flags & LAST_IN) !== 0 && end !== q.len)) {
        return this.#reject(skb, q, "ipv4.frag_inconsistent_end");
      }
      q.flags |= LAST_IN;
      q.len = end;
    } else if (end > q.len) {
      if ((q.flags & LAST_IN) !== 0) return this.#reject(skb, q, "ipv4.frag_inconsistent_end");
      q.len = end;
    }

    // Find the neighbours by offset, scanning from the tail: in-order arrival is O(1),
    // and the per-datagram cap bounds the worst case.
    let prev = q.frags.tail;
    while (prev !== null && prev.seq > start) prev = prev.prev;
    const next = prev === null ? q.frags.head : prev.next;
    if (prev !== null && prev.seq === start && prev.endSeq === end) {
      // RFC 5722 (errata 3089): an exact duplicate is ignored, not an overlap.
      this.#drops.count("ipv4.frag_duplicate");
      skb.free();
      return null;
    }
    // RFC 5722 §4 (adopted for IPv4): any other overlap discards the whole datagram.
    if ((prev !== null && prev.endSeq > start) || (next !== null && next.seq < end)) {
      return this.#reject(skb, q, "ipv4.frag_overlap");
    }
    if (q.frags.length >= this.#maxFrags) return this.#reject(skb, q, "ipv4.frag_too_many");

    const truesize = skb.arena.slotSize(skb.slot);
    if (this.#mem + truesize > this.#high) {
      this.#evictOldest(this.#low - truesize, q);
      if (this.#mem + truesize > this.#high) return this.#reject(skb, q, "ipv4.frag_memory");
    }

    if (prev !== null) q.frags.insertAfter(prev, skb);
    else q.frags.unshift(skb);
    skb.seq = start;
    skb.endSeq = end;
    skb.networkHeader = skb.data;
    skb.transportHeader = skb.data + hl;
    q.meat += len;
    q.truesize += truesize;
    this.#mem += truesize;
    if (start === 0) q.flags |= FIRST_IN;

    if (q.flags === (FIRST_IN | LAST_IN) && q.meat === q.len) return this.#assemble(q);
    return null;
  }

  /** Free every queued fragment and cancel the timer. Later fragments are dropped. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    while (this.#lruHead !== null) this.#release(this.#lruHead);
    this.#pool.length = 0;
  }

  /** Build the datagram from a complete queue (Linux `ip_frag_reasm`). */
  #assemble(q: FragQueue): SkBuff | null {
    const first = q.frags.head!;
    const hdr = first.transportHeader - first.networkHeader;
    const total = hdr + q.len;
    // Fragment 0's header may be longer than the one the per-fragment check used.
    if (total > IPV4_MAX_LENGTH) return this.#kill(q, "ipv4.frag_too_big");
    const out = this.#allocator.alloc(total);
    if (out === null) return this.#kill(q, "ipv4.frag_nobufs");
    const u8 = this.#allocator.arena.u8; // after alloc: the memory may have grown
    const at = out.put(total);
    u8.copyWithin(at, first.networkHeader, first.networkHeader + hdr);
    let p = at + hdr;
    let verified = true;
    for (let f = q.frags.head; f !== null; f = f.next) {
      const n = f.endSeq - f.seq;
      u8.copyWithin(p, f.transportHeader, f.transportHeader + n);
      p += n;
      if (f.ipSummed !== Csum.Unnecessary) verified = false;
    }
    view.u8 = u8;
    view.at(at);
    view.totalLength = total;
    view.moreFragments = false;
    view.fragmentOffset = 0;
    view.fillChecksum();
    out.protocol = first.protocol;
    out.ifindex = first.ifindex;
    out.pktType = first.pktType;
    out.tstamp = first.tstamp;
    out.networkHeader = at;
    out.transportHeader = at + hdr;
    out.ipSummed = verified ? Csum.Unnecessary : Csum.None;
    this.#release(q);
    this.#stats.reasmOKs++;
    return out;
  }

  /** Drop `skb` for `reason`, and with it the datagram `q` if there is one. */
  #reject(skb: SkBuff, q: FragQueue | null, reason: ReassemblyDropReason): null {
    if (q !== null) this.#kill(q, reason);
    else this.#stats.reasmFails++;
    this.#drops.count(reason);
    skb.free();
    return null;
  }

  /** Discard a whole datagram as one reassembly failure (Linux `inet_frag_kill`). */
  #kill(q: FragQueue, reason: ReassemblyDropReason): null {
    this.#stats.reasmFails++;
    if (q.frags.length > 0) this.#drops.count(reason, q.frags.length);
    this.#release(q);
    return null;
  }

  /** Evict the oldest queues other than `keep` until usage is at most `target`. */
  #evictOldest(target: number, keep: FragQueue): void {
    for (let v = this.#lruHead; v !== null && this.#mem > target;) {
      const nextQ = v.lruNext;
      if (v !== keep) this.#kill(v, "ipv4.frag_memory");
      v = nextQ;
    }
  }

  #lookup(src: number, dst: number, id: number, protocol: number): FragQueue | null {
    const b = this.#hashKey(src, dst, id, protocol);
    for (let q: FragQueue | null = this.#buckets[b]!; q !== null; q = q.hashNext) {
      if (q.id === id && q.src === src && q.dst === dst && q.protocol === protocol) return q;
    }
    return null;
  }

  /** A new empty queue, making room under the queue caps first. */
  #create(src: number, dst: number, id: number, protocol: number): FragQueue {
    let s = this.#source(src);
    if (s !== null && s.count >= this.#maxPerSource) {
      // Only this source's own oldest datagram pays for its new one.
      this.#kill(s.head!, "ipv4.frag_source_limit");
      s = this.#source(src); // the entry is gone if that was its last queue
    }
    if (this.#queues >= this.#maxDatagrams) this.#kill(this.#lruHead!, "ipv4.frag_queue_limit");
    if (s === null) {
      s = new SourceEntry();
      s.addr = src;
      const sb = this.#hashSource(src);
      s.hashNext = this.#srcBuckets[sb]!;
      this.#srcBuckets[sb] = s;
    }
    const q = this.#pool.pop() ?? new FragQueue();
    q.src = src;
    q.dst = dst;
    q.id = id;
    q.protocol = protocol;
    q.flags =
      q.len =
      q.meat =
      q.truesize =
        0;
    q.deadline = this.#clock.now() + this.#timeoutMs;
    q.bucket = this.#hashKey(src, dst, id, protocol);
    q.hashNext = this.#buckets[q.bucket]!;
    this.#buckets[q.bucket] = q;
    // Creation order is deadline order: the timeout is the same for every queue.
    q.lruNext = null;
    q.lruPrev = this.#lruTail;
    if (this.#lruTail !== null) this.#lruTail.lruNext = q;
    else this.#lruHead = q;
    this.#lruTail = q;
    q.source = s;
    q.srcNext = null;
    q.srcPrev = s.tail;
    if (s.tail !== null) s.tail.srcNext = q;
    else s.head = q;
    s.tail = q;
    s.count++;
    this.#queues++;
    if (this.#timer === null) {
      this.#timer = this.#clock.setTimer(q.deadline - this.#clock.now(), this.#sweepFn);
    }
    return q;
  }

  #source(src: number): SourceEntry | null {
    for (
      let s: SourceEntry | null = this.#srcBuckets[this.#hashSource(src)]!;
      s !== null;
      s = s.hashNext
    ) {
      if (s.addr === src) return s;
    }
    return null;
  }

  /** Unlink `q` from every table and free its fragments (no counters). */
  #release(q: FragQueue): void {
    let pp = this.#buckets[q.bucket]!;
    if (pp === q) this.#buckets[q.bucket] = q.hashNext;
    else {
      while (pp.hashNext !== q) pp = pp.hashNext!;
      pp.hashNext = q.hashNext;
    }
    if (q.lruPrev !== null) q.lruPrev.lruNext = q.lruNext;
    else this.#lruHead = q.lruNext;
    if (q.lruNext !== null) q.lruNext.lruPrev = q.lruPrev;
    else this.#lruTail = q.lruPrev;
    const s = q.source!;
    if (q.srcPrev !== null) q.srcPrev.srcNext = q.srcNext;
    else s.head = q.srcNext;
    if (q.srcNext !== null) q.srcNext.srcPrev = q.srcPrev;
    else s.tail = q.srcPrev;
    if (--s.count === 0) {
      const sb = this.#hashSource(s.addr);
      let sp = this.#srcBuckets[sb]!;
      if (sp === s) this.#srcBuckets[sb] = s.hashNext;
      else {
        while (sp.hashNext !== s) sp = sp.hashNext!;
        sp.hashNext = s.hashNext;
      }
    }
    q.frags.purge();
    this.#mem -= q.truesize;
    this.#queues--;
    q.hashNext =
      q.lruPrev =
      q.lruNext =
      q.srcPrev =
      q.srcNext =
        null;
    q.source = null;
    if (this.#pool.length < 64) this.#pool.push(q);
  }

  /** Timer callback: expire every queue whose deadline has passed, a batch at a time. */
  #sweep(): void {
    this.#timer = null;
    const now = this.#clock.now();
    try {
      for (let n = 0; this.#lruHead !== null && this.#lruHead.deadline <= now; n++) {
        if (n === SWEEP_BATCH) {
          // Bounded work per task: continue in a fresh timer task.
          if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
          this.#timer = this.#clock.setTimer(0, this.#sweepFn);
          return;
        }
        this.#expire(this.#lruHead);
      }
    } finally {
      // Re-arm even if onTimeout threw, or later queues would never expire.
      if (this.#timer === null && !this.#closed && this.#lruHead !== null) {
        this.#timer = this.#clock.setTimer(this.#lruHead.deadline - now, this.#sweepFn);
      }
    }
  }

  /** RFC 1122 §3.3.2 (I8): discard a timed-out datagram; hand fragment 0 to ICMP. */
  #expire(q: FragQueue): void {
    this.#stats.reasmTimeout++;
    this.#stats.reasmFails++;
    this.#drops.count("ipv4.frag_timeout", q.frags.length);
    // Fragments are sorted, so fragment 0 is the head when it arrived.
    const first = (q.flags & FIRST_IN) !== 0 ? q.frags.shift() : null;
    this.#release(q);
    if (this.#onTimeout !== undefined) this.#onTimeout(first);
    else first?.free();
  }

  /** Bucket of a datagram key: keyed HalfSipHash-2-4 over (src, dst, id·protocol). */
  #hashKey(src: number, dst: number, id: number, protocol: number): number {
    return this.#hash.hash3(src, dst, (id << 8) | protocol) & this.#mask;
  }

  /** Bucket of a source address (one word, so it never shares the 3-word key's domain). */
  #hashSource(src: number): number {
    return this.#hash.hash1(src) & this.#mask;
  }
}
