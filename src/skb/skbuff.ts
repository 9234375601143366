/**
 * `SkBuff`: a packet buffer in the arena, with offsets `head ≤ data ≤ tail ≤ end`
 * (absolute byte offsets into the arena memory), the Linux `sk_buff` idea.
 *
 * Headers are added and removed without copying: reserve headroom first
 * (`reserve`), append payload at the tail (`put`), prepend headers (`push`),
 * strip them on receive (`pull`). `clone` shares the data with a new header so a
 * retransmit queue can keep a segment while a device transmits it; the data
 * returns to the arena when the last reference is freed.
 *
 * SkBuff headers are pooled by {@link SkbAllocator}, so allocating one on a hot
 * path allocates no JavaScript object in the steady state.
 *
 * @module
 */
import { AllocPriority, type Arena, MAX_HEADER } from "./arena.ts";

/** `ip_summed` states (Linux `CHECKSUM_*`). */
export const Csum = {
  /** Nothing known; verify in software. */
  None: 0,
  /** Already verified (or not needed, e.g. loopback). */
  Unnecessary: 1,
  /** `csum` holds the sum over the packet from `csumStart`. */
  Complete: 2,
  /** Transmit: the checksum at `csumStart + csumOffset` is still to be filled in. */
  Partial: 3,
} as const;
/** One of the {@link Csum} values. */
export type Csum = typeof Csum[keyof typeof Csum];

/** SACK scoreboard bits for `SkBuff.sacked` (Linux `TCPCB_*`). */
export const SACKED = {
  SACKED_ACKED: 0x01,
  SACKED_RETRANS: 0x02,
  LOST: 0x04,
  EVER_RETRANS: 0x80,
} as const;

/**
 * A packet buffer. Create through {@link SkbAllocator.alloc}; release with
 * {@link SkbAllocator.free} (or `skb.free()`).
 */
export class SkBuff {
  /** Slot id in the arena (class << 24 | index), -1 once freed. */
  slot: number = -1;
  /** First byte of the buffer. */
  head = 0;
  /** First byte of the packet. */
  data = 0;
  /** One past the last byte of the packet. */
  tail = 0;
  /** One past the last byte of the buffer. */
  end = 0;

  // Header offsets (absolute), set as layers parse or build the packet; -1 = unset.
  /** Offset of the link-layer header, -1 when unset. */
  macHeader: number = -1;
  /** Offset of the network header, -1 when unset. */
  networkHeader: number = -1;
  /** Offset of the transport header, -1 when unset. */
  transportHeader: number = -1;

  /** EtherType / protocol of the payload. */
  protocol = 0;
  /** Interface index the packet arrived on or leaves by (0 = none). */
  ifindex = 0;
  /** Link-layer packet type on receive (host, broadcast, multicast, otherhost). */
  pktType = 0;
  /** Checksum state, see {@link Csum}. */
  ipSummed: Csum = Csum.None;
  /** Partial sum for `Csum.Complete`, or the pseudo-header sum for `Csum.Partial`. */
  csum = 0;
  /** Where summing starts (absolute offset) for Partial/Complete. */
  csumStart = 0;
  /** Offset of the checksum field from `csumStart`. */
  csumOffset = 0;
  /** Receive or transmit timestamp (clock ms). */
  tstamp = 0;
  /**
   * Segmentation offload (Linux `skb_shinfo(skb)->gso_size`): a TCP segment
   * larger than the link MTU that goes out as pieces of this many payload
   * bytes; 0 for an ordinary packet.
   */
  gsoSize = 0;

  // TCP control block (TCP_SKB_CB).
  /** First sequence number. */
  seq = 0;
  /** seq + SYN + FIN + data length. */
  endSeq = 0;
  /** Acknowledgement number carried. */
  ackSeq = 0;
  /** TCP flags (the header's flag bits, `TcpFlags` in src/wire/tcp.ts). */
  tcpFlags = 0;
  /** SACK scoreboard state, see {@link SACKED}. */
  sacked = 0;
  /** When last sent (clock ms), for RTT samples and RTO. */
  when = 0;
  /** Number of transmissions. */
  txCount = 0;

  /** Queue links; owned by the {@link SkbQueue} the buffer sits on. */
  next: SkBuff | null = null;
  /** Previous buffer in a queue. */
  prev: SkBuff | null = null;
  /** The queue holding this buffer, if any. */
  list: object | null = null;

  /** A buffer owned by `allocator` (use `allocator.alloc()`). */
  constructor(readonly allocator: SkbAllocator) {}

  /** Bytes in the packet. */
  get len(): number {
    return this.tail - this.data;
  }
  /** Bytes free before `data`. */
  get headroom(): number {
    return this.data - this.head;
  }
  /** Bytes free after `tail`. */
  get tailroom(): number {
    return this.end - this.tail;
  }
  /** Total buffer capacity. */
  get capacity(): number {
    return this.end - this.head;
  }
  /**
   * What the buffer really occupies (Linux `skb->truesize`): its whole arena
   * slot, whatever the payload — the size sockets are charged for it.
   */
  get truesize(): number {
    return this.end - this.head;
  }
  /** The arena this buffer lives in. */
  get arena(): Arena {
    return this.allocator.arena;
  }
  /** True once freed (a freed header must not be used). */
  get isFreed(): boolean {
    return this.slot < 0;
  }
  /** True when another SkBuff shares the data (writes would be seen by both). */
  get isShared(): boolean {
    return this.allocator.arena.slotRefs(this.slot) > 1;
  }

  /** Reserve `n` bytes of headroom in an empty buffer (`skb_reserve`). */
  reserve(n: number): void {
    if (this.tail !== this.data || n < 0 || this.data + n > this.end) {
      throw new RangeError(`skb.reserve(${n}): buffer not empty or out of room`);
    }
    this.data += n;
    this.tail += n;
  }

  /** Extend the packet at the tail by `n` bytes; returns the offset of the new bytes (`skb_put`). */
  put(n: number): number {
    const at = this.tail;
    if (n < 0 || at + n > this.end) {
      throw new RangeError(`skb.put(${n}): only ${this.end - at} bytes of tailroom`);
    }
    this.tail = at + n;
    return at;
  }

  /** Extend the packet at the head by `n` bytes; returns the new `data` (`skb_push`). */
  push(n: number): number {
    if (n < 0 || this.data - n < this.head) {
      throw new RangeError(`skb.push(${n}): only ${this.data - this.head} bytes of headroom`);
    }
    this.data -= n;
    return this.data;
  }

  /**
   * Remove `n` bytes from the head; returns the new `data`, or -1 (and changes
   * nothing) if the packet is shorter than `n` (`skb_pull`). Never throws, so a
   * parser can use it on untrusted lengths.
   */
  pull(n: number): number {
    if (n < 0 || n > this.tail - this.data) return -1;
    this.data += n;
    return this.data;
  }

  /** Cut the packet to `len` bytes, dropping bytes at the tail (`skb_trim`). No-op if already shorter. */
  trim(len: number): void {
    if (len < 0) throw new RangeError(`skb.trim(${len}): negative length`);
    if (this.data + len < this.tail) this.tail = this.data + len;
  }

  /** A view of the packet bytes `[data, tail)` (allocates a view: not for hot paths). */
  bytes(): Uint8Array {
    return this.allocator.arena.u8.subarray(this.data, this.tail);
  }

  /** Copy `src` to the tail (`put` + copy); returns the offset written. */
  append(src: Uint8Array): number {
    const at = this.put(src.length);
    this.allocator.arena.u8.set(src, at);
    return at;
  }

  /** A new header sharing this buffer's data (`skb_clone`), or `null` if headers are exhausted. */
  clone(): SkBuff | null {
    return this.allocator.clone(this);
  }

  /** Release this reference (`kfree_skb`). */
  free(): void {
    this.allocator.free(this);
  }

  /** Reset metadata (not the offsets). */
  resetMeta(): void {
    this.macHeader = this.networkHeader = this.transportHeader = -1;
    this.protocol = this.ifindex = this.pktType = 0;
    this.ipSummed = Csum.None;
    this.csum =
      this.csumStart =
      this.csumOffset =
      this.tstamp =
      this.gsoSize =
        0;
    this.seq =
      this.endSeq =
      this.ackSeq =
      this.tcpFlags =
      this.sacked =
      this.when =
      this.txCount =
        0;
    this.next = this.prev = null;
    this.list = null;
  }

  /** Copy metadata and control block from `o` (used by clone). */
  copyMeta(o: SkBuff): void {
    this.macHeader = o.macHeader;
    this.networkHeader = o.networkHeader;
    this.transportHeader = o.transportHeader;
    this.protocol = o.protocol;
    this.ifindex = o.ifindex;
    this.pktType = o.pktType;
    this.ipSummed = o.ipSummed;
    this.csum = o.csum;
    this.csumStart = o.csumStart;
    this.csumOffset = o.csumOffset;
    this.tstamp = o.tstamp;
    this.gsoSize = o.gsoSize;
    this.seq = o.seq;
    this.endSeq = o.endSeq;
    this.ackSeq = o.ackSeq;
    this.tcpFlags = o.tcpFlags;
    this.sacked = o.sacked;
    this.when = o.when;
    this.txCount = o.txCount;
  }
}

/** Options for {@link SkbAllocator.alloc}. */
export interface AllocOptions {
  /** Headroom to reserve (default {@link MAX_HEADER}). */
  headroom?: number;
  /**
   * Who allocates (default `AllocPriority.ATOMIC`): socket buffers pass
   * `AllocPriority.NORMAL` and leave the arena's reserve to the receive path.
   */
  priority?: AllocPriority;
}

/**
 * Allocates and frees {@link SkBuff}s over an arena, pooling the header objects.
 *
 * @example
 * ```ts
 * import { Arena } from "./arena.ts";
 * import { SkbAllocator } from "./skbuff.ts";
 * const skbs = new SkbAllocator(new Arena());
 * const skb = skbs.alloc(100);
 * if (skb === null) throw new Error("ENOBUFS");
 * skb.append(new TextEncoder().encode("payload"));
 * skb.push(8); // room for a UDP header
 * skb.free();
 * ```
 */
export class SkbAllocator {
  #pool: SkBuff[] = [];
  /** SkBuff headers currently handed out. */
  live = 0;
  /** Allocations that failed for lack of arena space. */
  failures = 0;

  /** An allocator over `arena`. */
  constructor(readonly arena: Arena) {}

  /**
   * A buffer with room for `size` bytes after `headroom` (default {@link MAX_HEADER}),
   * or `null` when the arena is exhausted (ENOBUFS) — never throws for exhaustion.
   */
  alloc(size: number, options?: AllocOptions): SkBuff | null {
    const headroom = options?.headroom ?? MAX_HEADER;
    if (size < 0 || headroom < 0) {
      throw new RangeError(`skb alloc: negative size ${size}/${headroom}`);
    }
    const id = this.arena.tryAllocSlotId(
      size + headroom,
      options?.priority ?? AllocPriority.ATOMIC,
    );
    if (id < 0) {
      this.failures++;
      return null;
    }
    const skb = this.#header();
    skb.slot = id;
    skb.head = this.arena.slotOffset(id);
    skb.end = skb.head + this.arena.slotSize(id);
    skb.data = skb.tail = skb.head + headroom;
    return skb;
  }

  /**
   * A buffer holding a copy of `frame` (what a driver does on receive), with
   * `headroom` bytes before it (default 0), or `null` when the arena is exhausted.
   */
  fromBytes(frame: Uint8Array, headroom = 0): SkBuff | null {
    const skb = this.alloc(frame.length, { headroom });
    if (skb === null) return null;
    skb.append(frame);
    return skb;
  }

  /** A new header sharing `skb`'s data; `null` never happens today but callers must handle it. */
  clone(skb: SkBuff): SkBuff | null {
    if (skb.slot < 0) throw new TypeError("skb.clone: buffer already freed");
    this.arena.retainSlot(skb.slot);
    const c = this.#header();
    c.slot = skb.slot;
    c.head = skb.head;
    c.data = skb.data;
    c.tail = skb.tail;
    c.end = skb.end;
    c.copyMeta(skb);
    return c;
  }

  /**
   * A private copy of `skb` (`skb_copy`): same offsets relative to head, its own
   * data; `null` when the arena is exhausted.
   */
  copy(skb: SkBuff): SkBuff | null {
    if (skb.slot < 0) throw new TypeError("skb.copy: buffer already freed");
    const c = this.alloc(skb.tail - skb.head, { headroom: skb.data - skb.head });
    if (c === null) return null;
    c.tail = c.data + skb.len;
    this.arena.u8.copyWithin(c.data, skb.data, skb.tail);
    const delta = c.head - skb.head;
    c.copyMeta(skb);
    if (c.macHeader >= 0) c.macHeader += delta;
    if (c.networkHeader >= 0) c.networkHeader += delta;
    if (c.transportHeader >= 0) c.transportHeader += delta;
    if (c.csumStart) c.csumStart += delta;
    return c;
  }

  /** Release one reference (`kfree_skb`). Freeing twice throws `TypeError`. */
  free(skb: SkBuff): void {
    if (skb.slot < 0) throw new TypeError("skb.free: double free");
    if (skb.list !== null) throw new TypeError("skb.free: buffer is still on a queue");
    this.arena.releaseSlot(skb.slot);
    skb.slot = -1;
    skb.resetMeta();
    this.live--;
    if (this.#pool.length < 4096) this.#pool.push(skb);
  }

  #header(): SkBuff {
    this.live++;
    const skb = this.#pool.pop();
    if (skb !== undefined) return skb;
    return new SkBuff(this);
  }
}

/** Copies this short are done byte by byte: a subarray view would cost more than the copy. */
const SHORT_COPY = 64;

/**
 * Copy `n` bytes from `src[from …]` to `dst[to …]` (arena ↔ user buffer)
 * without allocating for short copies; long ones are one native memcpy.
 *
 * @example
 * ```ts
 * import { copyBytes } from "./skbuff.ts";
 * const a = new Uint8Array([1, 2, 3]);
 * const b = new Uint8Array(3);
 * copyBytes(a, 0, b, 1, 2); // b = [0, 1, 2]
 * ```
 */
export function copyBytes(
  src: Uint8Array,
  from: number,
  dst: Uint8Array,
  to: number,
  n: number,
): void {
  if (n <= SHORT_COPY) {
    for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
  } else if (from === 0 && n === src.length) {
    dst.set(src, to);
  } else {
    dst.set(src.subarray(from, from + n), to);
  }
}
