/**
 * The user's side of sending (RFC 9293 §3.10.2 SEND, §3.10.4 CLOSE's FIN;
 * Linux `tcp_sendmsg`, `tcp_send_fin`): copy user bytes once into MSS-sized
 * arena segments on the write queue, then push them through `writeXmit`.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { MAX_HEADER } from "../skb/arena.ts";
import { copyBytes, type SkBuff } from "../skb/skbuff.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { SEND_ALLOC, smallDataSlot, sndMemSchedule } from "./buffers.ts";
import { MsgFlags, Shutdown } from "./config.ts";
import { MemWait } from "./mem.ts";
import { chrono, CHRONO_SNDBUF, Nagle, nagleMode, writeXmit } from "./output.ts";
import { seqAdd, TcpState } from "./state.ts";
import type { Tcb, TcpContext } from "./tcb.ts";

/**
 * A write-queue buffer for `size` payload bytes, else one for a segment,
 * else a small data slot (a sub-MSS segment beats none when the large
 * classes are spent), or null.
 */
function allocSend(ctx: TcpContext, size: number, mss: number): SkBuff | null {
  const a = ctx.allocator;
  let skb = a.alloc(size, SEND_ALLOC);
  if (skb === null && size > mss) skb = a.alloc(mss, SEND_ALLOC);
  if (skb === null) {
    const small = smallDataSlot(a.arena) - MAX_HEADER;
    if (Math.min(size, mss) > small) skb = a.alloc(small, SEND_ALLOC);
  }
  return skb;
}

/**
 * Queue user bytes (`tcp_sendmsg`): copy once into MSS-sized arena segments,
 * filling the unsent tail segment first, up to the send buffer (the true
 * size of the write queue's slots against SO_SNDBUF) and what the stack's
 * memory allows (`sndMemSchedule`); mark PSH on the last segment written
 * (MUST-61); push. Returns bytes queued, or `-EAGAIN` when no room (the
 * writer waits for write space), `-EPIPE` after shutdown, the pending error, …
 *
 * @example
 * ```ts
 * // const n = sendmsg(tcb, bytes, 0); // same as sk.send(bytes)
 * ```
 */
export function sendmsg(sk: Tcb, data: Uint8Array, flags: number): number {
  if (sk.skErr !== 0) return -sk.error;
  if (sk.shutdownMask & Shutdown.SEND) return -Errno.EPIPE;
  const s = sk.state;
  if (s !== TcpState.ESTABLISHED && s !== TcpState.CLOSE_WAIT) {
    if (s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED) return -Errno.EAGAIN;
    if ((s === TcpState.CLOSED || s === TcpState.LISTEN) && !sk.done) return -Errno.ENOTCONN;
    return -Errno.EPIPE;
  }
  if (data.length === 0) return 0;
  const ctx = sk.ctx;
  const snd = sk.snd;
  const mss = snd.mss;
  // Segments are built up to the size goal: one MSS, or a TSO super-segment.
  const goal = snd.sizeGoal;
  let copied = 0;
  let last: SkBuff | null = null;
  while (copied < data.length) {
    let skb = snd.queue.tail;
    let n = 0;
    if (
      skb !== null && snd.head !== null && skb.txCount === 0 &&
      (skb.tcpFlags & (TcpFlags.SYN | TcpFlags.FIN)) === 0 && skb.len < goal && skb.tailroom > 0
    ) {
      n = Math.min(goal - skb.len, skb.tailroom, data.length - copied);
    } else {
      if (snd.queue.truesize >= snd.buf) {
        snd.noSpace = true;
        chrono(sk, CHRONO_SNDBUF);
        break;
      }
      // A short write gets a small buffer: one segment, or as much of the
      // goal as a small data slot holds anyway (a 64 KiB slot for 64 bytes
      // would waste it; with a tiny MSS, segments share that slot); a long
      // one, remainder included, buffers up to the goal (arena slots cannot
      // grow, and streaming writers write again).
      const left = data.length - copied;
      const size = data.length > mss
        ? goal
        : Math.max(mss, Math.min(goal, smallDataSlot(ctx.allocator.arena) - MAX_HEADER));
      skb = allocSend(ctx, size, mss);
      if (skb === null) {
        // The arena kept its reserve for the receive path: wait for a freed buffer.
        ctx.drops.count("tcp.out_of_memory");
        snd.noSpace = true;
        ctx.mem.wait(sk, MemWait.SLOT);
        break;
      }
      if (!sndMemSchedule(sk, skb.truesize)) {
        // Over the stack's memory marks: the writer waits (backpressure).
        skb.free();
        snd.noSpace = true;
        break;
      }
      skb.seq = skb.endSeq = snd.writeSeq;
      skb.tcpFlags = TcpFlags.ACK;
      snd.queue.push(skb);
      if (snd.head === null) snd.head = skb;
      n = Math.min(goal, skb.tailroom, left);
    }
    const at = skb.put(n);
    copyBytes(data, copied, ctx.allocator.arena.u8, at, n);
    skb.endSeq = seqAdd(skb.endSeq, n);
    snd.writeSeq = seqAdd(snd.writeSeq, n);
    copied += n;
    last = skb;
  }
  if (copied === 0) return -Errno.EAGAIN;
  // MUST-30/31: urgent data of any length; the pointer marks its end.
  if (flags & MsgFlags.OOB) snd.up = snd.writeSeq;
  const more = (flags & MsgFlags.MORE) !== 0;
  if (last !== null && !more) last.tcpFlags |= TcpFlags.PSH;
  writeXmit(sk, more ? Nagle.CORK : nagleMode(sk));
  return copied;
}

/**
 * Queue our FIN (`tcp_send_fin`): on the unsent tail segment if there is
 * one, else as a new empty segment; it takes one sequence number and is
 * pushed past Nagle. Returns 0, or `-ENOBUFS` when no buffer could hold
 * the FIN (nothing queued; the caller fails the connection).
 *
 * @example
 * ```ts
 * // if (sendFin(tcb) < 0) tcpFail(tcb, Errno.ENOBUFS); // after shutdown(SHUT_WR)
 * ```
 */
export function sendFin(sk: Tcb): number {
  const snd = sk.snd;
  const tail = snd.queue.tail;
  if (
    tail !== null && snd.head !== null && tail.txCount === 0 &&
    (tail.tcpFlags & TcpFlags.SYN) === 0
  ) {
    tail.tcpFlags |= TcpFlags.FIN;
    tail.endSeq = seqAdd(tail.endSeq, 1);
  } else {
    const skb = sk.ctx.allocator.alloc(0);
    if (skb === null) {
      // No memory for a FIN: the caller aborts rather than let the peer and
      // the user wait forever for a FIN that is never sent.
      sk.ctx.drops.count("tcp.out_of_memory");
      return -Errno.ENOBUFS;
    }
    skb.seq = snd.writeSeq;
    skb.endSeq = seqAdd(snd.writeSeq, 1);
    skb.tcpFlags = TcpFlags.ACK | TcpFlags.FIN;
    snd.queue.push(skb);
    if (snd.head === null) snd.head = skb;
  }
  snd.writeSeq = seqAdd(snd.writeSeq, 1);
  writeXmit(sk, Nagle.PUSH);
  return 0;
}
