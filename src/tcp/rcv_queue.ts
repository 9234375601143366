/**
 * The receive queues (RFC 9293 §3.10.7.4 seventh, segment text): in-order
 * queueing with coalescing (`tcp_queue_rcv` / `tcp_try_coalesce`), the
 * out-of-order queue (`tcp_data_queue_ofo`, `tcp_ofo_queue`,
 * `tcp_prune_ofo_queue`), and freeing them.
 *
 * Out-of-order segments sit on a list sorted by sequence number, bounded in
 * segments and bytes (§8 row 8); when over budget the farthest data goes
 * first. Budgets are true sizes (`buffers.ts`): when the receive memory
 * outgrows SO_RCVBUF — or its fair share while the stack's memory is under
 * pressure — the queues are first repacked into full slots (`collapse.ts`,
 * `tcp_collapse`), then out-of-order data is pruned (`tcp_prune_queue`).
 * In-order data inside the window we offered is always queued: the window,
 * which stops growing under pressure, is what bounds it. Coverage is tracked in a WebAssembly range table in arena memory
 * (`rangeInsert` / `rangeCovered` / `rangeAdvance`), which also feeds SACK
 * blocks later.
 *
 * @module
 */
import type { SkBuff } from "../skb/skbuff.ts";
import { RANGE_FULL, RANGE_INVALID, rangeTableBytes } from "../wasm/bindings.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { measureRatio, rmemAlloc } from "./buffers.ts";
import { collapseQueue } from "./collapse.ts";
import { dsackSet, sackNewOfo, sackRemove, sackReset } from "./sack.ts";
import { seqAdd, seqAfter, seqBefore, seqDiff, seqGeq, seqLeq } from "./state.ts";
import { ofoQueueOf, rcvQueueOf, type Tcb } from "./tcb.ts";
import { receiveWindow } from "./window.ts";

/**
 * Append in-order payload `skb` (data at `[data, tail)`, `skb.seq` = RCV.NXT)
 * to the receive queue, copying it into the tail buffer when it fits (this
 * bounds buffers per byte when a peer sends tiny segments). Consumes `skb`.
 */
function queueInOrder(sk: Tcb, skb: SkBuff): void {
  const rcv = sk.rcv;
  const len = skb.len;
  rcv.nxt = seqAdd(rcv.nxt, len);
  rcv.queued += len;
  rcv.bytesReceived += len;
  if (len === 0) {
    skb.free();
    return;
  }
  const tail = rcv.queue.tail;
  if (tail !== null && tail.tailroom >= len && !tail.isShared) {
    const u8 = sk.ctx.allocator.arena.u8;
    u8.copyWithin(tail.tail, skb.data, skb.tail);
    tail.tail += len;
    tail.endSeq = seqAdd(tail.endSeq, len);
    skb.free();
    return;
  }
  skb.tcpFlags = 0;
  skb.endSeq = rcv.nxt;
  rcvQueueOf(sk).push(skb);
}

/**
 * What {@link queueData} did, as bits.
 *
 * @example
 * ```ts
 * import { DataResult } from "./rcv_queue.ts";
 * const r = DataResult.QUEUED | DataResult.ACK_NOW;
 * (r & DataResult.FIN) === 0; // true
 * ```
 */
export const DataResult = {
  /** Data or FIN became readable. */
  QUEUED: 1,
  /** Out of order or duplicate: ACK at once (RFC 5681 C6). */
  ACK_NOW: 2,
  /** The FIN was consumed (RCV.NXT advanced past it). */
  FIN: 4,
  /** Queued (or dropped) out of order: a duplicate ACK is owed for this segment. */
  OFO: 8,
} as const;

/**
 * RFC 9293 §3.10.7.4 seventh (segment text) and eighth (FIN) for an already
 * acceptable segment whose payload is at `[skb.data, skb.tail)` and whose
 * `seq`/`endSeq`/`tcpFlags` are set. Trims to the window, queues in order or
 * out of order, and pulls any now-contiguous out-of-order data. Consumes
 * `skb`. Returns {@link DataResult} bits.
 *
 * @example
 * ```ts
 * // const r = queueData(tcb, skb); const peerClosed = (r & DataResult.FIN) !== 0;
 * ```
 */
export function queueData(sk: Tcb, skb: SkBuff): number {
  const rcv = sk.rcv;
  measureRatio(sk, skb);
  // Trim what we already have from the front (RFC 9293 §3.10.7.4 first:
  // "segments with higher beginning sequence numbers may be held"; those
  // overlapping RCV.NXT are cut to start there).
  if (seqBefore(skb.seq, rcv.nxt)) {
    // RFC 2883 §4: report what was received twice as a D-SACK block.
    if (sk.sackOk && sk.ctx.config.dsack) {
      dsackSet(rcv, skb.seq, seqBefore(skb.endSeq, rcv.nxt) ? skb.endSeq : rcv.nxt);
    }
    const dup = seqDiff(rcv.nxt, skb.seq);
    if (dup >= skb.len) {
      // Only a FIN (or nothing) is new.
      skb.data = skb.tail;
    } else {
      skb.data += dup;
    }
    skb.seq = rcv.nxt;
  }
  // Trim what lies beyond the window (a FIN beyond it is not accepted).
  const wndEnd = seqAdd(rcv.nxt, receiveWindow(sk));
  const dataEnd = seqAdd(skb.seq, skb.len);
  if (seqAfter(dataEnd, wndEnd)) {
    const over = seqDiff(dataEnd, wndEnd);
    skb.tail -= Math.min(over, skb.len);
    skb.tcpFlags &= ~TcpFlags.FIN;
  }
  const fin = (skb.tcpFlags & TcpFlags.FIN) !== 0;
  skb.endSeq = seqAdd(skb.seq, skb.len + (fin ? 1 : 0));
  if (skb.endSeq === skb.seq) {
    // Nothing new: a duplicate. RFC 5681 C6: ACK it at once.
    skb.free();
    return DataResult.ACK_NOW;
  }
  if (skb.seq !== rcv.nxt) return queueOfo(sk, skb);
  let result: number = DataResult.QUEUED;
  queueInOrder(sk, skb);
  if (rmemAlloc(sk) > rcv.buf) pruneQueue(sk);
  if (fin) {
    rcv.nxt = seqAdd(rcv.nxt, 1);
    result |= DataResult.FIN;
  }
  if (!rcv.ofo.empty) {
    // RFC 5681 C6: ACK at once when a gap (partly) fills.
    result |= DataResult.ACK_NOW;
    if (!fin) result |= ofoPull(sk);
  }
  if (rcv.numSacks !== 0) sackRemove(rcv);
  return result;
}

/** Move now-contiguous out-of-order segments to the receive queue (`tcp_ofo_queue`). */
function ofoPull(sk: Tcb): number {
  const rcv = sk.rcv;
  let result = 0;
  const q = rcv.ofo;
  for (let skb = q.head; skb !== null && seqLeq(skb.seq, rcv.nxt); skb = q.head) {
    q.unlink(skb);
    rcv.ofoBytes -= skb.len;
    const fin = (skb.tcpFlags & TcpFlags.FIN) !== 0;
    if (seqGeq(rcv.nxt, skb.endSeq)) {
      skb.free(); // wholly duplicate
      continue;
    }
    const dup = seqDiff(rcv.nxt, skb.seq);
    if (dup > 0) skb.data += Math.min(dup, skb.len);
    skb.seq = rcv.nxt;
    queueInOrder(sk, skb);
    result |= DataResult.QUEUED;
    if (fin) {
      rcv.nxt = seqAdd(rcv.nxt, 1);
      result |= DataResult.FIN;
      // Anything beyond a FIN is bogus.
      purgeOfo(sk);
      break;
    }
  }
  if (rcv.ofoTable !== 0) {
    if (q.empty) releaseOfoTable(sk);
    else sk.ctx.hotPaths.rangeAdvance(rcv.ofoTable, rcv.nxt);
  }
  return result;
}

/** Queue `skb` out of order (`tcp_data_queue_ofo`), then prune to budget. */
function queueOfo(sk: Tcb, skb: SkBuff): number {
  const ctx = sk.ctx;
  const rcv = sk.rcv;
  const hp = ctx.hotPaths;
  if (rcv.ofoTable === 0) {
    const cap = ctx.config.maxOfoSegments;
    const off = ctx.allocator.arena.tryAllocSlot(rangeTableBytes(cap));
    if (off < 0) {
      ctx.drops.count("tcp.ofo_no_memory");
      skb.free();
      return DataResult.ACK_NOW | DataResult.OFO;
    }
    rcv.ofoTable = off;
    hp.rangeInit(off, cap);
  } else if (hp.rangeCovered(rcv.ofoTable, skb.seq, skb.endSeq) === seqDiff(skb.endSeq, skb.seq)) {
    // Everything here is already held (a duplicate): RFC 2883 D-SACK.
    if (sk.sackOk && ctx.config.dsack) dsackSet(rcv, skb.seq, skb.endSeq);
    skb.free();
    return DataResult.ACK_NOW | DataResult.OFO;
  }
  const q = ofoQueueOf(sk);
  if (q.length >= ctx.config.maxOfoSegments && q.tail !== null) {
    // KI-4: at the segment cap the farthest segment is what pruning drops
    // (Linux tcp_prune_ofo_queue frees from the right end). If the arrival
    // is itself the farthest, drop it without touching the queue or the
    // range table; otherwise make room by dropping the current farthest one
    // (a trim of the range table, not a rebuild). O(1) per segment.
    if (!seqBefore(skb.seq, q.tail.seq)) {
      ctx.stats.ofoPruned++;
      ctx.drops.count("tcp.ofo_full");
      skb.free();
      return DataResult.ACK_NOW | DataResult.OFO;
    }
    dropOfoTail(sk);
  }
  // Sorted insert, scanning from the tail (arrivals are mostly in order).
  let at = q.tail;
  while (at !== null && seqAfter(at.seq, skb.seq)) at = at.prev;
  skb.tcpFlags &= TcpFlags.FIN;
  if (at === null) q.unshift(skb);
  else q.insertAfter(at, skb);
  rcv.ofoBytes += skb.len;
  ctx.stats.ofoQueued++;
  // RFC 2018 §4: the first SACK block holds the most recent arrival.
  if (sk.sackOk) sackNewOfo(rcv, skb.seq, skb.endSeq);
  const r = hp.rangeInsert(rcv.ofoTable, skb.seq, skb.endSeq);
  if (r === RANGE_FULL || r === RANGE_INVALID) rebuildRanges(sk);
  pruneOfo(sk);
  return DataResult.ACK_NOW | DataResult.OFO;
}

/**
 * Keep the out-of-order queue within its segment cap and the receive budget
 * (`tcp_prune_ofo_queue`): drop the farthest segments first (§8 row 8) —
 * after repacking, when memory is what is short.
 */
function pruneOfo(sk: Tcb): void {
  const rcv = sk.rcv;
  const cap = sk.ctx.config.maxOfoSegments;
  const q = rcv.ofo;
  while (q.tail !== null && q.length > cap) dropOfoTail(sk);
  if (q.tail !== null && overBudget(sk)) pruneQueue(sk);
}

/**
 * Receive memory above what this connection may hold: SO_RCVBUF, or while
 * the stack's memory is under pressure its fair share of the high mark
 * (never below `rmemMin`; Linux `sk_rmem_schedule`).
 */
function overBudget(sk: Tcb): boolean {
  const ctx = sk.ctx;
  const rmem = rmemAlloc(sk);
  if (rmem > sk.rcv.buf) return true;
  const mem = ctx.mem;
  if (!mem.underPressure || rmem <= ctx.config.rmemMin) return false;
  const sockets = Math.max(1, ctx.socks.size - ctx.timeWaitCount);
  return rmem * sockets > mem.high;
}

/**
 * Receive memory is over budget (Linux `tcp_prune_queue`): repack both
 * queues into full slots, then drop out-of-order data from the far end
 * until within budget. In-order data stays: it was inside the window.
 */
function pruneQueue(sk: Tcb): void {
  const rcv = sk.rcv;
  collapseQueue(sk, rcv.queue, true);
  if (rcv.ofo.empty || !overBudget(sk)) return;
  collapseQueue(sk, rcv.ofo, false);
  const st = sk.ctx.mem.stats;
  while (rcv.ofo.tail !== null && overBudget(sk)) {
    dropOfoTail(sk);
    st.ofoPrunedForMemory++;
  }
}

/**
 * Drop the farthest out-of-order segment and trim the range table above the
 * new right edge (KI-4: amortised O(1), no rebuild). The edge is
 * max(dropped.seq, new tail's end): coverage below the dropped segment's
 * start is untouched, and the table may at worst under-report coverage
 * (when an earlier segment reaches further than the new tail), which only
 * lets a duplicate be queued — it never claims data that is not held.
 */
function dropOfoTail(sk: Tcb): void {
  const rcv = sk.rcv;
  const q = rcv.ofo;
  const skb = q.tail;
  if (skb === null) return;
  q.unlink(skb);
  rcv.ofoBytes -= skb.len;
  sk.ctx.stats.ofoPruned++;
  // Reneging: no block may claim data we dropped (Linux tcp_prune_ofo_queue).
  sackReset(rcv);
  const prev = q.tail;
  if (prev === null) releaseOfoTable(sk);
  else {
    rangeTruncate(
      sk.ctx.allocator.arena.u8,
      rcv.ofoTable,
      seqAfter(prev.endSeq, skb.seq) ? prev.endSeq : skb.seq,
    );
  }
  skb.free();
}

/**
 * Remove everything at or after `edge` from the range table at `tab` (layout
 * in `src/wasm/bindings.ts`: count, cap, then sorted [start, end) u32-LE
 * pairs). Cost is the number of ranges removed, each inserted once before.
 */
function rangeTruncate(u8: Uint8Array, tab: number, edge: number): void {
  const dv = new DataView(u8.buffer, u8.byteOffset);
  let n = dv.getUint32(tab, true);
  while (n > 0 && !seqBefore(dv.getUint32(tab + 8 * (n - 1) + 8, true), edge)) n--;
  if (n > 0) {
    const endAt = tab + 8 * (n - 1) + 12;
    if (seqAfter(dv.getUint32(endAt, true), edge)) dv.setUint32(endAt, edge >>> 0, true);
  }
  dv.setUint32(tab, n, true);
}

/** Recompute the range table from the queue (after pruning or a full table). */
function rebuildRanges(sk: Tcb): void {
  const rcv = sk.rcv;
  const hp = sk.ctx.hotPaths;
  hp.rangeInit(rcv.ofoTable, sk.ctx.config.maxOfoSegments);
  for (let s = rcv.ofo.head; s !== null; s = s.next) {
    hp.rangeInsert(rcv.ofoTable, s.seq, s.endSeq);
  }
}

function releaseOfoTable(sk: Tcb): void {
  const rcv = sk.rcv;
  if (rcv.ofoTable !== 0) {
    sk.ctx.allocator.arena.releaseSlotAt(rcv.ofoTable);
    rcv.ofoTable = 0;
  }
}

/**
 * Free the out-of-order queue and its table.
 *
 * @example
 * ```ts
 * // purgeOfo(tcb); tcb.rcv.ofo.empty === true
 * ```
 */
export function purgeOfo(sk: Tcb): void {
  sk.rcv.ofo.purge();
  sk.rcv.ofoBytes = 0;
  sackReset(sk.rcv);
  releaseOfoTable(sk);
}

/**
 * Free everything received (used when the user closes or the stack stops).
 *
 * @example
 * ```ts
 * // purgeReceive(tcb); tcb.rcv.queued === 0
 * ```
 */
export function purgeReceive(sk: Tcb): void {
  sk.rcv.queue.purge();
  sk.rcv.queued = 0;
  purgeOfo(sk);
}
