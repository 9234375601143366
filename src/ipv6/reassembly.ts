/**
 * IPv6 reassembly (RFC 8200 §4.5; Linux `reassembly.c` over
 * `inet_fragment.c`), with the caps of the IPv4 reassembler
 * (`ipv4/reassembly.ts`: keyed hash buckets, a fixed timeout from the first
 * fragment, per-datagram fragment cap, memory high/low thresholds counted in
 * arena slot bytes, concurrent-queue and per-source caps, one timer for all
 * queues) plus the IPv6 rules:
 *
 * - **RFC 5722 §4**: an overlapping fragment discards the whole datagram
 *   "and any constituent fragments, including those not yet received". The
 *   queue's fragments are freed at once, but the queue stays as a tombstone
 *   until its timeout so later fragments of that datagram are dropped too
 *   (`ipv6.frag_overlap`). An exact duplicate is ignored (RFC 5722 errata 3089).
 * - **RFC 6946** (atomic fragments, offset 0 and M clear) never get here:
 *   the layer processes them in isolation.
 * - **Timeout 60 s** (RFC 8200 §4.5 and Linux `ip6frag_time`); on expiry
 *   with the first fragment in, an ICMPv6 Time Exceeded code 1 quotes it.
 * - **Fragments per datagram: 64** by default. Every IPv6 link carries 1280
 *   bytes (RFC 8200 §5) and sources fragment to the path MTU, so a maximal
 *   65,535-byte packet arrives in at most ⌈65535 / 1232⌉ = 54 fragments;
 *   more pieces only come from someone making tiny fragments on purpose.
 * - The key is (source, destination, identification) (RFC 8200 §4.5): there
 *   is no protocol in it.
 * - The unfragmentable part (the IPv6 header and the extension headers before
 *   the fragment header) of the reassembled packet is the first fragment's,
 *   with the Next Header byte that named the fragment header set to the
 *   fragment header's Next Header and the payload length recomputed.
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import { KeyedHash } from "../core/hash.ts";
import type { RandomSource } from "../core/random.ts";
import type { DropCounters, IpStats } from "../core/stats.ts";
import { SkbQueue } from "../skb/queue.ts";
import { Csum, type SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
import { ip6Equal, ip6Word } from "../wire/addr6.ts";
import { set16 } from "../wire/bytes.ts";
import { IPV6_HEADER_LENGTH, IPV6_MAX_PAYLOAD } from "../wire/ipv6.ts";

/**
 * Default reassembly timeout: 60 s (RFC 8200 §4.5).
 *
 * @example
 * ```ts
 * import { DEFAULT_REASSEMBLY6_TIMEOUT_MS } from "./reassembly.ts";
 * DEFAULT_REASSEMBLY6_TIMEOUT_MS; // 60000
 * ```
 */
export const DEFAULT_REASSEMBLY6_TIMEOUT_MS = 60_000;

/**
 * Default cap on fragments per datagram (see the module note).
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAGMENTS6 } from "./reassembly.ts";
 * DEFAULT_MAX_FRAGMENTS6; // 64
 * ```
 */
export const DEFAULT_MAX_FRAGMENTS6 = 64;

/**
 * Every drop reason the IPv6 reassembler counts (each counts fragments).
 *
 * @example
 * ```ts
 * import { REASSEMBLY6_DROP_REASONS } from "./reassembly.ts";
 * REASSEMBLY6_DROP_REASONS.includes("ipv6.frag_overlap"); // true
 * ```
 */
export const REASSEMBLY6_DROP_REASONS = [
  /** Overlaps another fragment, or belongs to a datagram an overlap killed (RFC 5722). */
  "ipv6.frag_overlap",
  /** Would make a payload longer than 65,535 bytes. */
  "ipv6.frag_too_big",
  /** More than `maxFragmentsPerDatagram` fragments. */
  "ipv6.frag_too_many",
  /** Evicted or refused to keep reassembly memory under the thresholds. */
  "ipv6.frag_memory",
  /** A second, different last fragment, or data beyond the last fragment's end. */
  "ipv6.frag_inconsistent_end",
  /** A fragment with no data. */
  "ipv6.frag_empty",
  /** A non-final fragment whose length is not a multiple of 8. */
  "ipv6.frag_misaligned",
  /** An exact duplicate of a queued fragment (ignored). */
  "ipv6.frag_duplicate",
  /** Evicted because `maxDatagrams` queues were in use. */
  "ipv6.frag_queue_limit",
  /** Evicted because its source had `maxPerSource` queues. */
  "ipv6.frag_source_limit",
  /** The reassembly timer ran out. */
  "ipv6.frag_timeout",
  /** No arena buffer for the reassembled packet. */
  "ipv6.frag_nobufs",
  /** Arrived after `close()`. */
  "ipv6.frag_closed",
] as const;

/**
 * One of {@link REASSEMBLY6_DROP_REASONS}.
 *
 * @example
 * ```ts
 * import type { Reassembly6DropReason } from "./reassembly.ts";
 * const why: Reassembly6DropReason = "ipv6.frag_timeout";
 * ```
 */
export type Reassembly6DropReason = typeof REASSEMBLY6_DROP_REASONS[number];

/**
 * Options for {@link Reassembler6}.
 *
 * @example
 * ```ts
 * import type { Reassembly6Options } from "./reassembly.ts";
 * const tuning: Partial<Reassembly6Options> = { timeoutMs: 30_000, maxPerSource: 16 };
 * ```
 */
export interface Reassembly6Options {
  /** Time source; one timer is armed through it. */
  clock: Clock;
  /** Allocates the reassembled packet. */
  allocator: SkbAllocator;
  /** Draws the hash secret. */
  rng: RandomSource;
  /** `reasmReqds`, `reasmOKs`, `reasmFails`, `reasmTimeout`. */
  stats: IpStats;
  /** Drops by reason, see {@link REASSEMBLY6_DROP_REASONS}. */
  drops: DropCounters;
  /**
   * Reassembly timeout from the first fragment (default {@link DEFAULT_REASSEMBLY6_TIMEOUT_MS}, RFC
   * 8200 §4.5).
   */
  timeoutMs?: number;
  /** Fragments one packet may have queued (default {@link DEFAULT_MAX_FRAGMENTS6}). */
  maxFragmentsPerDatagram?: number;
  /** Memory cap over all queues, in slot bytes (default 4 MiB). */
  highThresholdBytes?: number;
  /** Eviction target once the high threshold is hit (default 3 MiB). */
  lowThresholdBytes?: number;
  /** Concurrent queues (default 1024). */
  maxDatagrams?: number;
  /** Concurrent queues per source address (default 64). */
  maxPerSource?: number;
  /** Called on timeout with the first fragment (`data` at its IPv6 header) if it arrived; owns it. */
  onTimeout?: (first: SkBuff | null) => void;
}

/**
 * A fragment as the layer found it (one reusable object; see {@link Reassembler6.add}).
 *
 * @example
 * ```ts
 * import { Fragment6 } from "./reassembly.ts";
 * const f = new Fragment6();
 * f.unfragLength = 40; // no extension headers before the fragment header
 * ```
 */
export class Fragment6 {
  /** Bytes from the IPv6 header to the fragment header (40 + unfragmentable extension headers). */
  unfragLength: number = IPV6_HEADER_LENGTH;
  /** Offset, from the IPv6 header, of the Next Header byte that names the fragment header. */
  nhField = 6;
  /** Fragment header: the header after it. */
  nextHeader = 0;
  /** Fragment header: offset of this fragment's data, bytes. */
  fragmentOffset = 0;
  /** Fragment header M flag: more fragments follow. */
  moreFragments = false;
  /** Fragment header Identification. */
  identification = 0;
  /** Fragment data bytes (after the fragment header). */
  dataLength = 0;
}

const FIRST_IN = 1;
const LAST_IN = 2;

class SourceEntry {
  readonly addr = new Uint8Array(16);
  count = 0;
  head: FragQueue | null = null;
  tail: FragQueue | null = null;
  hashNext: SourceEntry | null = null;
}

class FragQueue {
  readonly src = new Uint8Array(16);
  readonly dst = new Uint8Array(16);
  id = 0;
  readonly frags = new SkbQueue();
  flags = 0;
  /** Killed by an overlap: a tombstone until its deadline (RFC 5722 §4). */
  dead = false;
  len = 0;
  meat = 0;
  truesize = 0;
  deadline = 0;
  /** From the first fragment: where the unfragmentable part ends and its Next Header byte. */
  unfragLength = 0;
  nhField = 0;
  nextHeader = 0;
  bucket = 0;
  hashNext: FragQueue | null = null;
  lruPrev: FragQueue | null = null;
  lruNext: FragQueue | null = null;
  source: SourceEntry | null = null;
  srcPrev: FragQueue | null = null;
  srcNext: FragQueue | null = null;
}

/**
 * Reassembles IPv6 fragments, one queue per (source, destination, identification).
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { SeededRandom } from "../core/random.ts";
 * import { DropCounters, IpStats } from "../core/stats.ts";
 * import { Reassembler6 } from "./reassembly.ts";
 * const reasm = new Reassembler6({
 *   clock: new VirtualClock(), allocator: new SkbAllocator(new Arena()),
 *   rng: new SeededRandom(1), stats: new IpStats(), drops: new DropCounters(),
 * });
 * // const whole = reasm.add(skb, fragment); if (whole) deliver(whole);
 * reasm.close();
 * ```
 */
export class Reassembler6 {
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
  readonly #pool: FragQueue[] = [];
  readonly #sweepFn = () => this.#sweep();

  /** Throws `RangeError` for limits that are not positive integers or low > high. */
  constructor(o: Reassembly6Options) {
    this.#clock = o.clock;
    this.#allocator = o.allocator;
    this.#stats = o.stats;
    this.#drops = o.drops;
    this.#onTimeout = o.onTimeout;
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_REASSEMBLY6_TIMEOUT_MS;
    this.#maxFrags = o.maxFragmentsPerDatagram ?? DEFAULT_MAX_FRAGMENTS6;
    this.#high = o.highThresholdBytes ?? 4 * 1024 * 1024;
    this.#low = o.lowThresholdBytes ?? Math.min(3 * 1024 * 1024, this.#high);
    this.#maxDatagrams = o.maxDatagrams ?? 1024;
    this.#maxPerSource = o.maxPerSource ?? 64;
    if (!(this.#timeoutMs > 0) || !Number.isFinite(this.#timeoutMs)) {
      throw new RangeError(`Reassembler6: timeoutMs must be positive, got ${this.#timeoutMs}`);
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
        throw new RangeError(`Reassembler6: ${name} must be a positive integer, got ${v}`);
      }
    }
    if (this.#low > this.#high) {
      throw new RangeError(
        `Reassembler6: lowThresholdBytes ${this.#low} is above highThresholdBytes ${this.#high}`,
      );
    }
    this.#hash = new KeyedHash(o.rng);
    let n = 16;
    while (n < this.#maxDatagrams && n < 65536) n *= 2;
    this.#mask = n - 1;
    this.#buckets = new Array<FragQueue | null>(n).fill(null);
    this.#srcBuckets = new Array<SourceEntry | null>(n).fill(null);
  }

  /** Datagrams being reassembled (tombstones included). */
  get queues(): number {
    return this.#queues;
  }

  /** Arena slot bytes held by queued fragments. */
  get memoryBytes(): number {
    return this.#mem;
  }

  /**
   * Add a fragment: `skb.data` at its IPv6 header, `f` its fragment header
   * and layout (a non-atomic fragment). Consumes `skb`. Returns the whole
   * packet when this fragment completes it — a new buffer, `data` at the IPv6
   * header, no fragment header — else `null`. Never throws on content.
   */
  add(skb: SkBuff, f: Fragment6): SkBuff | null {
    this.#stats.reasmReqds++;
    if (this.#closed) return this.#reject(skb, null, "ipv6.frag_closed");
    const u8 = this.#allocator.arena.u8;
    const ip = skb.data;
    const start = f.fragmentOffset;
    const len = f.dataLength;
    const end = start + len;
    skb.trim(f.unfragLength + 8 + len);
    let q = this.#lookup(u8, ip + 8, ip + 24, f.identification);
    if (q !== null && q.dead) {
      // RFC 5722 §4: "including those not yet received".
      this.#drops.count("ipv6.frag_overlap");
      skb.free();
      return null;
    }
    // RFC 8200 §4.5: the reassembled payload cannot exceed 65,535 bytes.
    if (f.unfragLength - IPV6_HEADER_LENGTH + end > IPV6_MAX_PAYLOAD) {
      return this.#reject(skb, q, "ipv6.frag_too_big");
    }
    if (len === 0) return this.#reject(skb, q, "ipv6.frag_empty");
    if (f.moreFragments && (len & 7) !== 0) return this.#reject(skb, q, "ipv6.frag_misaligned");

    if (q === null) q = this.#create(u8, ip + 8, ip + 24, f.identification);
    if (!f.moreFragments) {
      if (end < q.len || ((q.flags & LAST_IN) !== 0 && end !== q.len)) {
        return this.#reject(skb, q, "ipv6.frag_inconsistent_end");
      }
      q.flags |= LAST_IN;
      q.len = end;
    } else if (end > q.len) {
      if ((q.flags & LAST_IN) !== 0) return this.#reject(skb, q, "ipv6.frag_inconsistent_end");
      q.len = end;
    }

    let prev = q.frags.tail;
    while (prev !== null && prev.seq > start) prev = prev.prev;
    const next = prev === null ? q.frags.head : prev.next;
    if (prev !== null && prev.seq === start && prev.endSeq === end) {
      this.#drops.count("ipv6.frag_duplicate");
      skb.free();
      return null;
    }
    // RFC 5722 §4: any overlap discards the datagram, silently.
    if ((prev !== null && prev.endSeq > start) || (next !== null && next.seq < end)) {
      this.#drops.count("ipv6.frag_overlap", q.frags.length + 1);
      this.#stats.reasmFails++;
      skb.free();
      this.#bury(q);
      return null;
    }
    if (q.frags.length >= this.#maxFrags) return this.#reject(skb, q, "ipv6.frag_too_many");

    const truesize = skb.arena.slotSize(skb.slot);
    if (this.#mem + truesize > this.#high) {
      this.#evictOldest(this.#low - truesize, q);
      if (this.#mem + truesize > this.#high) return this.#reject(skb, q, "ipv6.frag_memory");
    }

    if (prev !== null) q.frags.insertAfter(prev, skb);
    else q.frags.unshift(skb);
    skb.seq = start;
    skb.endSeq = end;
    skb.networkHeader = skb.data;
    skb.transportHeader = skb.data + f.unfragLength + 8;
    q.meat += len;
    q.truesize += truesize;
    this.#mem += truesize;
    if (start === 0) {
      q.flags |= FIRST_IN;
      q.unfragLength = f.unfragLength;
      q.nhField = f.nhField;
      q.nextHeader = f.nextHeader;
    }
    if (q.flags === (FIRST_IN | LAST_IN) && q.meat === q.len) return this.#assemble(q);
    return null;
  }

  /** Free every queue and cancel the timer; later fragments are dropped. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    while (this.#lruHead !== null) this.#release(this.#lruHead);
    this.#pool.length = 0;
  }

  #assemble(q: FragQueue): SkBuff | null {
    const first = q.frags.head!;
    const hdr = q.unfragLength;
    const total = hdr + q.len;
    if (total - IPV6_HEADER_LENGTH > IPV6_MAX_PAYLOAD) return this.#kill(q, "ipv6.frag_too_big");
    const out = this.#allocator.alloc(total);
    if (out === null) return this.#kill(q, "ipv6.frag_nobufs");
    const u8 = this.#allocator.arena.u8;
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
    // The header that named the fragment header now names what it carried.
    u8[at + q.nhField] = q.nextHeader;
    set16(u8, at + 4, total - IPV6_HEADER_LENGTH);
    out.protocol = first.protocol;
    out.ifindex = first.ifindex;
    out.pktType = first.pktType;
    out.tstamp = first.tstamp;
    out.networkHeader = at;
    out.ipSummed = verified ? Csum.Unnecessary : Csum.None;
    this.#release(q);
    this.#stats.reasmOKs++;
    return out;
  }

  #reject(skb: SkBuff, q: FragQueue | null, reason: Reassembly6DropReason): null {
    if (q !== null) this.#kill(q, reason);
    else this.#stats.reasmFails++;
    this.#drops.count(reason);
    skb.free();
    return null;
  }

  #kill(q: FragQueue, reason: Reassembly6DropReason): null {
    this.#stats.reasmFails++;
    if (q.frags.length > 0) this.#drops.count(reason, q.frags.length);
    this.#release(q);
    return null;
  }

  /** Free a queue's fragments but keep it as a tombstone until its deadline. */
  #bury(q: FragQueue): void {
    q.frags.purge();
    this.#mem -= q.truesize;
    q.truesize = 0;
    q.meat = 0;
    q.dead = true;
  }

  #evictOldest(target: number, keep: FragQueue): void {
    for (let v = this.#lruHead; v !== null && this.#mem > target;) {
      const nextQ = v.lruNext;
      if (v !== keep && !v.dead) this.#kill(v, "ipv6.frag_memory");
      v = nextQ;
    }
  }

  #lookup(u8: Uint8Array, src: number, dst: number, id: number): FragQueue | null {
    const b = this.#hashKey(u8, src, dst, id);
    for (let q: FragQueue | null = this.#buckets[b]!; q !== null; q = q.hashNext) {
      if (q.id === id && ip6Equal(q.src, 0, u8, src) && ip6Equal(q.dst, 0, u8, dst)) return q;
    }
    return null;
  }

  #create(u8: Uint8Array, src: number, dst: number, id: number): FragQueue {
    let s = this.#source(u8, src);
    if (s !== null && s.count >= this.#maxPerSource) {
      this.#kill(s.head!, "ipv6.frag_source_limit");
      s = this.#source(u8, src);
    }
    if (this.#queues >= this.#maxDatagrams) this.#kill(this.#lruHead!, "ipv6.frag_queue_limit");
    if (s === null) {
      s = new SourceEntry();
      s.addr.set(u8.subarray(src, src + 16));
      const sb = this.#hashSource(u8, src);
      s.hashNext = this.#srcBuckets[sb]!;
      this.#srcBuckets[sb] = s;
    }
    const q = this.#pool.pop() ?? new FragQueue();
    q.src.set(u8.subarray(src, src + 16));
    q.dst.set(u8.subarray(dst, dst + 16));
    q.id = id;
    q.flags =
      q.len =
      q.meat =
      q.truesize =
      q.unfragLength =
      q.nhField =
      q.nextHeader =
        0;
    q.dead = false;
    q.deadline = this.#clock.now() + this.#timeoutMs;
    q.bucket = this.#hashKey(u8, src, dst, id);
    q.hashNext = this.#buckets[q.bucket]!;
    this.#buckets[q.bucket] = q;
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

  #source(u8: Uint8Array, src: number): SourceEntry | null {
    for (
      let s: SourceEntry | null = this.#srcBuckets[this.#hashSource(u8, src)]!;
      s !== null;
      s = s.hashNext
    ) {
      if (ip6Equal(s.addr, 0, u8, src)) return s;
    }
    return null;
  }

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
      const sb = this.#hashSource(s.addr, 0);
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

  #sweep(): void {
    this.#timer = null;
    const now = this.#clock.now();
    try {
      for (let n = 0; this.#lruHead !== null && this.#lruHead.deadline <= now; n++) {
        if (n === 256) {
          this.#timer = this.#clock.setTimer(0, this.#sweepFn);
          return;
        }
        this.#expire(this.#lruHead);
      }
    } finally {
      if (this.#timer === null && !this.#closed && this.#lruHead !== null) {
        this.#timer = this.#clock.setTimer(this.#lruHead.deadline - now, this.#sweepFn);
      }
    }
  }

  /** RFC 8200 §4.5: discard a timed-out packet; ICMP Time Exceeded if fragment 0 came. */
  #expire(q: FragQueue): void {
    if (q.dead) {
      this.#release(q);
      return;
    }
    this.#stats.reasmTimeout++;
    this.#stats.reasmFails++;
    this.#drops.count("ipv6.frag_timeout", q.frags.length);
    const first = (q.flags & FIRST_IN) !== 0 ? q.frags.shift() : null;
    if (first !== null) {
      q.truesize -= first.arena.slotSize(first.slot);
      this.#mem -= first.arena.slotSize(first.slot);
    }
    this.#release(q);
    if (this.#onTimeout !== undefined) this.#onTimeout(first);
    else first?.free();
  }

  #hashKey(u8: Uint8Array, src: number, dst: number, id: number): number {
    // Two rounds over the 9 words: HalfSipHash takes at most four at a time here.
    const h = this.#hash.hash4(
      ip6Word(u8, src, 0) ^ ip6Word(u8, dst, 0),
      ip6Word(u8, src, 1),
      ip6Word(u8, src, 2),
      ip6Word(u8, src, 3),
    );
    return this.#hash.hash4(
      h ^ id,
      ip6Word(u8, dst, 1),
      ip6Word(u8, dst, 2),
      ip6Word(u8, dst, 3),
    ) & this.#mask;
  }

  #hashSource(u8: Uint8Array, src: number): number {
    return this.#hash.hash4(
      ip6Word(u8, src, 0),
      ip6Word(u8, src, 1),
      ip6Word(u8, src, 2),
      ip6Word(u8, src, 3) ^ 0x5a5a5a5a,
    ) & this.#mask;
  }
}
