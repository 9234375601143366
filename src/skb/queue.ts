/**
 * `SkbQueue`: a doubly linked list of {@link SkBuff}s threaded through their
 * `next`/`prev` fields (Linux `sk_buff_head`). Every operation is O(1) except
 * iteration and purge; there is no `Array.shift()` on a hot path.
 *
 * @module
 */
import type { SkBuff } from "./skbuff.ts";

/**
 * Where a queue also charges the true size of what it holds: a protocol's
 * memory account (Linux `sk_prot->memory_allocated`, see `src/tcp/mem.ts`).
 *
 * @example
 * ```ts
 * import type { MemoryAccount } from "./queue.ts";
 * const total = { bytes: 0, charge(n: number) { this.bytes += n; }, uncharge(n: number) { this.bytes -= n; } };
 * const account: MemoryAccount = total;
 * ```
 */
export interface MemoryAccount {
  /** `bytes` of buffers were queued. */
  charge(bytes: number): void;
  /** `bytes` of buffers left a queue. */
  uncharge(bytes: number): void;
}

/**
 * A FIFO of packet buffers that also tracks total bytes.
 *
 * @example
 * ```ts
 * import { Arena } from "./arena.ts";
 * import { SkbAllocator } from "./skbuff.ts";
 * import { SkbQueue } from "./queue.ts";
 * const skbs = new SkbAllocator(new Arena());
 * const q = new SkbQueue();
 * q.push(skbs.alloc(64)!);
 * const first = q.shift(); // the same buffer; q.length === 0
 * first?.free();
 * ```
 */
export class SkbQueue {
  /** First buffer, null when empty. */
  head: SkBuff | null = null;
  /** Last buffer, null when empty. */
  tail: SkBuff | null = null;
  /** Buffers on the queue. */
  length = 0;
  /** Sum of `len` of the buffers, as it was when each was queued. */
  bytes = 0;
  /** Sum of the buffers' true sizes (their whole arena slots, Linux `truesize`). */
  truesize = 0;
  /** Also charge true sizes here (a protocol's memory account), or null. */
  account: MemoryAccount | null = null;

  /** True when empty. */
  get empty(): boolean {
    return this.length === 0;
  }

  /** Append at the tail (`__skb_queue_tail`). */
  push(skb: SkBuff): void {
    check(skb);
    skb.list = this;
    skb.next = null;
    skb.prev = this.tail;
    if (this.tail) this.tail.next = skb;
    else this.head = skb;
    this.tail = skb;
    this.length++;
    this.bytes += skb.len;
    charge(this, skb);
  }

  /** Insert at the head (`__skb_queue_head`). */
  unshift(skb: SkBuff): void {
    check(skb);
    skb.list = this;
    skb.prev = null;
    skb.next = this.head;
    if (this.head) this.head.prev = skb;
    else this.tail = skb;
    this.head = skb;
    this.length++;
    this.bytes += skb.len;
    charge(this, skb);
  }

  /** Insert `skb` after `at` (which must be on this queue). */
  insertAfter(at: SkBuff, skb: SkBuff): void {
    if (at.list !== this) throw new TypeError("SkbQueue.insertAfter: anchor is not on this queue");
    check(skb);
    skb.list = this;
    skb.prev = at;
    skb.next = at.next;
    if (at.next) at.next.prev = skb;
    else this.tail = skb;
    at.next = skb;
    this.length++;
    this.bytes += skb.len;
    charge(this, skb);
  }

  /** Insert `skb` before `at` (which must be on this queue). */
  insertBefore(at: SkBuff, skb: SkBuff): void {
    if (at.prev) this.insertAfter(at.prev, skb);
    else {
      if (at.list !== this) {
        throw new TypeError("SkbQueue.insertBefore: anchor is not on this queue");
      }
      this.unshift(skb);
    }
  }

  /** Remove and return the head, or `null` (`__skb_dequeue`). */
  shift(): SkBuff | null {
    const skb = this.head;
    if (skb) this.unlink(skb);
    return skb;
  }

  /** Remove and return the tail, or `null`. */
  pop(): SkBuff | null {
    const skb = this.tail;
    if (skb) this.unlink(skb);
    return skb;
  }

  /** Remove `skb`, which must be on this queue (`__skb_unlink`). */
  unlink(skb: SkBuff): void {
    if (skb.list !== this) throw new TypeError("SkbQueue.unlink: buffer is not on this queue");
    if (skb.prev) skb.prev.next = skb.next;
    else this.head = skb.next;
    if (skb.next) skb.next.prev = skb.prev;
    else this.tail = skb.prev;
    skb.next = skb.prev = null;
    skb.list = null;
    this.length--;
    this.bytes -= skb.len;
    const t = skb.end - skb.head;
    this.truesize -= t;
    if (this.account !== null) this.account.uncharge(t);
  }

  /** Unlink and free every buffer (`__skb_queue_purge`); returns how many. */
  purge(): number {
    let n = 0;
    for (let skb = this.shift(); skb; skb = this.shift()) {
      skb.free();
      n++;
    }
    return n;
  }

  /** Iterate head to tail. Do not unlink other buffers while iterating. */
  *[Symbol.iterator](): IterableIterator<SkBuff> {
    for (let skb = this.head; skb;) {
      const next = skb.next;
      yield skb;
      skb = next;
    }
  }
}

// Module functions, not private methods: a class with private methods gives
// every instance a brand field (8 bytes; three queues per TCP connection).

function charge(q: SkbQueue, skb: SkBuff): void {
  const t = skb.end - skb.head;
  q.truesize += t;
  if (q.account !== null) q.account.charge(t);
}

function check(skb: SkBuff): void {
  if (skb.list !== null) throw new TypeError("SkbQueue: buffer is already on a queue");
  if (skb.slot < 0) throw new TypeError("SkbQueue: buffer was freed");
}
