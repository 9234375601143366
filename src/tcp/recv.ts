/**
 * The receive side: the advertised window (`tcp_select_window`: receiver SWS
 * avoidance, MUST-39; never shrink, SHLD-14), in-order queueing with
 * coalescing (`tcp_queue_rcv` / `tcp_try_coalesce`), the out-of-order queue
 * (`tcp_data_queue_ofo`, `tcp_ofo_queue`, `tcp_prune_ofo_queue`) and reading
 * (`tcp_recvmsg`, `tcp_cleanup_rbuf`).
 *
 * Out-of-order segments sit on a list sorted by sequence number, bounded in
 * segments and bytes (§8 row 8); when over budget the farthest data goes
 * first. Coverage is tracked in a WebAssembly range table in arena memory
 * (`rangeInsert` / `rangeCovered` / `rangeAdvance`), which also feeds SACK
 * blocks later.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import type { SkBuff } from "../skb/skbuff.ts";
import { RANGE_FULL, RANGE_INVALID, rangeTableBytes } from "../wasm/bindings.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { seqAfter, seqBefore, seqGeq, seqLeq, TcpState } from "./state.ts";
import { MsgFlags, Shutdown, type TcpSock } from "./sock.ts";

/**
 * The window field to put in an outgoing non-SYN segment (already shifted by
 * our scale), recording the new right edge.
 *
 * @example
 * ```ts
 * // repr.window = selectWindow(sk); // already shifted by rcvWscale
 * ```
 */
export function selectWindow(sk: TcpSock): number {
  const cur = Math.max(0, (sk.rcvWup + sk.rcvWnd - sk.rcvNxt) | 0);
  const free = Math.max(0, sk.rcvbuf - sk.rcvQueued - sk.ofoBytes);
  const scale = sk.rcvWscale;
  let win = free;
  // MUST-39 receiver SWS avoidance (RFC 9293 §3.8.6.2.2): don't advertise a
  // small increase; open only by min(rcvbuf / 2, MSS) at a time.
  if (free < Math.min(sk.rcvbuf >>> 1, sk.rcvMss)) win = 0;
  win = (win >>> scale) << scale;
  // SHLD-14: never move the right edge left.
  if (win < cur) win = ((cur + (1 << scale) - 1) >>> scale) << scale;
  const max = 65535 << scale;
  if (win > max) win = max;
  sk.rcvWnd = win;
  sk.rcvWup = sk.rcvNxt;
  return win >>> scale;
}

/**
 * Bytes the peer may still send: RCV.WND as advertised, from RCV.NXT.
 *
 * @example
 * ```ts
 * // receiveWindow(sk); // RCV.WND as the peer sees it
 * ```
 */
export function receiveWindow(sk: TcpSock): number {
  return Math.max(0, (sk.rcvWup + sk.rcvWnd - sk.rcvNxt) | 0);
}

/**
 * Append in-order payload `skb` (data at `[data, tail)`, `skb.seq` = RCV.NXT)
 * to the receive queue, copying it into the tail buffer when it fits (this
 * bounds buffers per byte when a peer sends tiny segments). Consumes `skb`.
 */
function queueInOrder(sk: TcpSock, skb: SkBuff): void {
  const len = skb.len;
  sk.rcvNxt = (sk.rcvNxt + len) >>> 0;
  sk.rcvQueued += len;
  if (len === 0) {
    skb.free();
    return;
  }
  const tail = sk.recvQueue.tail;
  if (tail !== null && tail.tailroom >= len && !tail.isShared) {
    const u8 = sk.ctx.allocator.arena.u8;
    u8.copyWithin(tail.tail, skb.data, skb.tail);
    tail.tail += len;
    tail.endSeq = (tail.endSeq + len) >>> 0;
    skb.free();
    return;
  }
  skb.tcpFlags = 0;
  skb.endSeq = sk.rcvNxt;
  sk.recvQueue.push(skb);
}

/**
 * What {@link queueData} did, as bits.
 *
 * @example
 * ```ts
 * import { DataResult } from "./recv.ts";
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
 * // const r = queueData(sk, skb); const peerClosed = (r & DataResult.FIN) !== 0;
 * ```
 */
export function queueData(sk: TcpSock, skb: SkBuff): number {
  // Trim what we already have from the front (RFC 9293 §3.10.7.4 first:
  // "segments with higher beginning sequence numbers may be held"; those
  // overlapping RCV.NXT are cut to start there).
  if (seqBefore(skb.seq, sk.rcvNxt)) {
    const dup = (sk.rcvNxt - skb.seq) | 0;
    if (dup >= skb.len) {
      // Only a FIN (or nothing) is new.
      skb.data = skb.tail;
    } else {
      skb.data += dup;
    }
    skb.seq = sk.rcvNxt;
  }
  // Trim what lies beyond the window (a FIN beyond it is not accepted).
  const wndEnd = (sk.rcvNxt + Math.max(receiveWindow(sk), 0)) >>> 0;
  const dataEnd = (skb.seq + skb.len) >>> 0;
  if (seqAfter(dataEnd, wndEnd)) {
    const over = (dataEnd - wndEnd) | 0;
    skb.tail -= Math.min(over, skb.len);
    skb.tcpFlags &= ~TcpFlags.FIN;
  }
  const fin = (skb.tcpFlags & TcpFlags.FIN) !== 0;
  skb.endSeq = (skb.seq + skb.len + (fin ? 1 : 0)) >>> 0;
  if (skb.endSeq === skb.seq) {
    // Nothing new: a duplicate. RFC 5681 C6: ACK it at once.
    skb.free();
    return DataResult.ACK_NOW;
  }
  if (skb.seq !== sk.rcvNxt) return queueOfo(sk, skb);
  let result: number = DataResult.QUEUED;
  queueInOrder(sk, skb);
  if (fin) {
    sk.rcvNxt = (sk.rcvNxt + 1) >>> 0;
    result |= DataResult.FIN;
  }
  if (!sk.ofoQueue.empty) {
    // RFC 5681 C6: ACK at once when a gap (partly) fills.
    result |= DataResult.ACK_NOW;
    if (!fin) result |= ofoPull(sk);
  }
  return result;
}

/** Move now-contiguous out-of-order segments to the receive queue (`tcp_ofo_queue`). */
function ofoPull(sk: TcpSock): number {
  let result = 0;
  const q = sk.ofoQueue;
  for (let skb = q.head; skb !== null && seqLeq(skb.seq, sk.rcvNxt); skb = q.head) {
    q.unlink(skb);
    sk.ofoBytes -= skb.len;
    const fin = (skb.tcpFlags & TcpFlags.FIN) !== 0;
    if (seqGeq(sk.rcvNxt, skb.endSeq)) {
      skb.free(); // wholly duplicate
      continue;
    }
    const dup = (sk.rcvNxt - skb.seq) | 0;
    if (dup > 0) skb.data += Math.min(dup, skb.len);
    skb.seq = sk.rcvNxt;
    queueInOrder(sk, skb);
    result |= DataResult.QUEUED;
    if (fin) {
      sk.rcvNxt = (sk.rcvNxt + 1) >>> 0;
      result |= DataResult.FIN;
      // Anything beyond a FIN is bogus.
      purgeOfo(sk);
      break;
    }
  }
  if (sk.ofoTable !== 0) {
    if (q.empty) releaseOfoTable(sk);
    else sk.ctx.hotPaths.rangeAdvance(sk.ofoTable, sk.rcvNxt);
  }
  return result;
}

/** Queue `skb` out of order (`tcp_data_queue_ofo`), then prune to budget. */
function queueOfo(sk: TcpSock, skb: SkBuff): number {
  const ctx = sk.ctx;
  const hp = ctx.hotPaths;
  if (sk.ofoTable === 0) {
    const cap = ctx.config.maxOfoSegments;
    const off = ctx.allocator.arena.tryAllocSlot(rangeTableBytes(cap));
    if (off < 0) {
      ctx.drops.count("tcp.ofo_no_memory");
      skb.free();
      return DataResult.ACK_NOW;
    }
    sk.ofoTable = off;
    hp.rangeInit(off, cap);
  } else if (hp.rangeCovered(sk.ofoTable, skb.seq, skb.endSeq) === ((skb.endSeq - skb.seq) | 0)) {
    // Everything here is already held (a duplicate).
    skb.free();
    return DataResult.ACK_NOW;
  }
  const q = sk.ofoQueue;
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
      return DataResult.ACK_NOW;
    }
    dropOfoTail(sk);
  }
  // Sorted insert, scanning from the tail (arrivals are mostly in order).
  let at = q.tail;
  while (at !== null && seqAfter(at.seq, skb.seq)) at = at.prev;
  skb.tcpFlags &= TcpFlags.FIN;
  if (at === null) q.unshift(skb);
  else q.insertAfter(at, skb);
  sk.ofoBytes += skb.len;
  ctx.stats.ofoQueued++;
  const r = hp.rangeInsert(sk.ofoTable, skb.seq, skb.endSeq);
  if (r === RANGE_FULL || r === RANGE_INVALID) rebuildRanges(sk);
  pruneOfo(sk);
  return DataResult.ACK_NOW;
}

/**
 * Keep the out-of-order queue within its segment cap and the receive buffer
 * (`tcp_prune_ofo_queue`): drop the farthest segments first (§8 row 8).
 */
function pruneOfo(sk: TcpSock): void {
  const cap = sk.ctx.config.maxOfoSegments;
  const q = sk.ofoQueue;
  while (
    q.tail !== null && (q.length > cap || sk.rcvQueued + sk.ofoBytes > sk.rcvbuf)
  ) {
    dropOfoTail(sk);
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
function dropOfoTail(sk: TcpSock): void {
  const q = sk.ofoQueue;
  const skb = q.tail;
  if (skb === null) return;
  q.unlink(skb);
  sk.ofoBytes -= skb.len;
  sk.ctx.stats.ofoPruned++;
  const prev = q.tail;
  if (prev === null) releaseOfoTable(sk);
  else {
    rangeTruncate(
      sk.ctx.allocator.arena.u8,
      sk.ofoTable,
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
function rebuildRanges(sk: TcpSock): void {
  const hp = sk.ctx.hotPaths;
  hp.rangeInit(sk.ofoTable, sk.ctx.config.maxOfoSegments);
  for (let s = sk.ofoQueue.head; s !== null; s = s.next) {
    hp.rangeInsert(sk.ofoTable, s.seq, s.endSeq);
  }
}

function releaseOfoTable(sk: TcpSock): void {
  if (sk.ofoTable !== 0) {
    sk.ctx.allocator.arena.releaseSlotAt(sk.ofoTable);
    sk.ofoTable = 0;
  }
}

/**
 * Free the out-of-order queue and its table.
 *
 * @example
 * ```ts
 * // purgeOfo(sk); sk.ofoQueue.empty === true
 * ```
 */
export function purgeOfo(sk: TcpSock): void {
  sk.ofoQueue.purge();
  sk.ofoBytes = 0;
  releaseOfoTable(sk);
}

/**
 * Free everything received (used when the user closes or the stack stops).
 *
 * @example
 * ```ts
 * // purgeReceive(sk); sk.rcvQueued === 0
 * ```
 */
export function purgeReceive(sk: TcpSock): void {
  sk.recvQueue.purge();
  sk.rcvQueued = 0;
  purgeOfo(sk);
}

/**
 * Read up to `buf.length` bytes (`tcp_recvmsg`). Returns bytes read, 0 at
 * end of stream (FIN received and all data read), `-EAGAIN` when nothing is
 * there yet, the pending error (`-ECONNRESET`, `-ETIMEDOUT`, …) after the
 * data queued before it, or `-ENOTCONN`.
 *
 * @example
 * ```ts
 * // const n = recvmsg(sk, buf, 0); // same as sk.recv(buf)
 * ```
 */
export function recvmsg(sk: TcpSock, buf: Uint8Array, flags: number): number {
  if (sk.state === TcpState.LISTEN) return -Errno.ENOTCONN;
  const peek = (flags & MsgFlags.PEEK) !== 0;
  let copied = 0;
  const u8 = sk.ctx.allocator.arena.u8;
  for (let skb = sk.recvQueue.head; skb !== null && copied < buf.length;) {
    const n = Math.min(skb.len, buf.length - copied);
    buf.set(u8.subarray(skb.data, skb.data + n), copied);
    copied += n;
    if (peek) {
      skb = skb.next;
      continue;
    }
    sk.rcvQueued -= n;
    if (n === skb.len) {
      sk.recvQueue.unlink(skb);
      skb.free();
      skb = sk.recvQueue.head;
    } else {
      skb.data += n;
    }
  }
  if (copied > 0) {
    if (!peek) cleanupRbuf(sk, copied);
    return copied;
  }
  if (buf.length === 0) return 0;
  if (sk.skErr !== 0) return -sk.error;
  if (sk.shutdownMask & Shutdown.RCV) return 0;
  if (sk.state === TcpState.CLOSED) return sk.done ? 0 : -Errno.ENOTCONN;
  return -Errno.EAGAIN;
}

/**
 * Hook for a window update after reading; set by input.ts (sends an ACK).
 *
 * @example
 * ```ts
 * import { rbufHooks } from "./recv.ts";
 * rbufHooks.windowUpdate = (_sk) => {}; // tcp.ts installs sendAck
 * ```
 */
export const rbufHooks: { windowUpdate: (sk: TcpSock) => void } = {
  windowUpdate: () => {},
};

/**
 * After the user read `copied` bytes (`tcp_cleanup_rbuf`): if the window we
 * could now offer is at least twice what the peer currently sees (and the
 * peer's view is at most half the buffer), tell it at once — this is how a
 * zero window reopens.
 */
function cleanupRbuf(sk: TcpSock, copied: number): void {
  if (copied <= 0) return;
  const s = sk.state;
  if (s !== TcpState.ESTABLISHED && s !== TcpState.FIN_WAIT_1 && s !== TcpState.FIN_WAIT_2) {
    return;
  }
  const cur = receiveWindow(sk);
  if (cur * 2 > sk.rcvbuf) return;
  // What selectWindow could offer: the free space, but never more than the
  // window field can carry (65535 << scale) — without window scaling a large
  // buffer would otherwise send a duplicate ACK with the same window on every read.
  const free = Math.min(sk.rcvbuf - sk.rcvQueued - sk.ofoBytes, 65535 << sk.rcvWscale);
  if (free >= 2 * cur && free >= Math.min(sk.rcvbuf >>> 1, sk.rcvMss)) {
    rbufHooks.windowUpdate(sk);
  }
}
