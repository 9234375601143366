/**
 * Repacking queued receive data into full slots (Linux `tcp_collapse`,
 * `tcp_collapse_ofo_queue`): a peer that sends small segments, or frames
 * that arrive in slots much larger than their payload, would otherwise hold
 * a receive buffer's worth of slots for a fraction of its bytes. When a
 * connection's receive memory is over its budget, runs of wasteful buffers
 * are copied into small slots filled to the last byte and the old ones
 * freed, before anything is dropped.
 *
 * The queues keep their meaning: the receive queue stays in order; in the
 * out-of-order queue only buffers that continue each other exactly are
 * merged, so the coverage (and the SACK blocks built from it) is unchanged.
 *
 * @module
 */
import type { SkbQueue } from "../skb/queue.ts";
import type { SkBuff } from "../skb/skbuff.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { smallDataSlot } from "./buffers.ts";
import { seqAdd } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/**
 * Repack `q` (the receive queue when `inOrder`, else the out-of-order
 * queue) where it gains at least one slot; returns the slot bytes given
 * back (0 when nothing was worth copying, or no slot was free for the copy).
 *
 * @example
 * ```ts
 * // if (rmemAlloc(tcb) > tcb.rcv.buf) collapseQueue(tcb, tcb.rcv.queue, true);
 * ```
 */
export function collapseQueue(sk: Tcb, q: SkbQueue, inOrder: boolean): number {
  const slot = smallDataSlot(sk.ctx.allocator.arena);
  const before = q.truesize;
  let skb = q.head;
  while (skb !== null) {
    // A run: buffers that waste at least a quarter of a small slot each and
    // continue each other (always, in the receive queue); a FIN ends it.
    if (!wasteful(sk, skb, slot)) {
      skb = skb.next;
      continue;
    }
    let end = skb;
    let bytes = skb.len;
    let size = skb.truesize;
    for (let n = end.next; n !== null; n = end.next) {
      if ((end.tcpFlags & TcpFlags.FIN) !== 0 || !wasteful(sk, n, slot)) break;
      if (!inOrder && n.seq !== end.endSeq) break;
      end = n;
      bytes += n.len;
      size += n.truesize;
    }
    const stop = end.next;
    if (end !== skb && size - Math.ceil(bytes / slot) * slot >= slot) {
      if (!repack(sk, q, skb, stop, slot)) break;
    }
    skb = stop;
  }
  const freed = before - q.truesize;
  if (freed > 0) {
    const st = sk.ctx.mem.stats;
    st.collapsed++;
    st.collapsedBytes += freed;
  }
  return freed;
}

/**
 * A buffer that wastes a quarter of a small slot and an eighth of its own —
 * but not a full-sized segment in a small slot: that, and a nearly full
 * super-segment, is what the window's measured ratio counts on (Linux
 * `tcp_collapse` leaves buffers alone whose length reaches
 * `tcp_win_from_space(truesize)`); copying every one of them would cost a
 * bulk receiver a second copy of all its data.
 */
function wasteful(sk: Tcb, skb: SkBuff, slot: number): boolean {
  const t = skb.truesize;
  if (t <= slot && skb.len >= sk.rcv.mss) return false;
  const waste = t - skb.len;
  return waste >= slot >>> 2 && waste >= t >>> 3;
}

/**
 * Copy the data of `[first, stop)` into full `slot`-byte buffers inserted
 * in their place, freeing each old buffer once emptied. False when no slot
 * was free (what was copied so far stays consistent).
 */
function repack(sk: Tcb, q: SkbQueue, first: SkBuff, stop: SkBuff | null, slot: number): boolean {
  const a = sk.ctx.allocator;
  let dst: SkBuff | null = null;
  let cur: SkBuff | null = first;
  while (cur !== null && cur !== stop) {
    if (dst === null || dst.tailroom === 0) {
      dst = a.alloc(slot, NO_HEADROOM);
      if (dst === null) return false;
      dst.seq = dst.endSeq = seqAdd(cur.endSeq, -(cur.len + (cur.tcpFlags & TcpFlags.FIN ? 1 : 0)));
      q.insertBefore(cur, dst);
    }
    const n = Math.min(cur.len, dst.tailroom);
    const u8 = a.arena.u8; // re-derived: the allocation may have grown the memory
    u8.copyWithin(dst.tail, cur.data, cur.data + n);
    dst.tail += n;
    dst.endSeq = seqAdd(dst.endSeq, n);
    cur.data += n;
    if (cur.len === 0) {
      if (cur.tcpFlags & TcpFlags.FIN) {
        dst.tcpFlags |= TcpFlags.FIN;
        dst.endSeq = seqAdd(dst.endSeq, 1);
      }
      const next: SkBuff | null = cur.next;
      q.unlink(cur);
      cur.free();
      cur = next;
    }
  }
  return true;
}

const NO_HEADROOM = { headroom: 0 } as const;
