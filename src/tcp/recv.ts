/**
 * The user's side of receiving (RFC 9293 §3.10.3 RECEIVE; Linux
 * `tcp_recvmsg`, `tcp_cleanup_rbuf`): copy out of the receive queue and,
 * when reading opened the window enough, tell the peer at once.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { copyBytes } from "../skb/skbuff.ts";
import { rcvFullWindow, rcvSpaceAdjust } from "./buffers.ts";
import { MsgFlags, Shutdown } from "./config.ts";
import { sendAck } from "./output.ts";
import { TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";
import { offerableWindow, receiveWindow } from "./window.ts";

/**
 * Read up to `buf.length` bytes (`tcp_recvmsg`). Returns bytes read, 0 at
 * end of stream (FIN received and all data read), `-EAGAIN` when nothing is
 * there yet, the pending error (`-ECONNRESET`, `-ETIMEDOUT`, …) after the
 * data queued before it, or `-ENOTCONN`.
 *
 * @example
 * ```ts
 * // const n = recvmsg(tcb, buf, 0); // same as sk.recv(buf)
 * ```
 */
export function recvmsg(sk: Tcb, buf: Uint8Array, flags: number): number {
  if (sk.state === TcpState.LISTEN) return -Errno.ENOTCONN;
  const rcv = sk.rcv;
  const peek = (flags & MsgFlags.PEEK) !== 0;
  let copied = 0;
  const u8 = sk.ctx.allocator.arena.u8;
  for (let skb = rcv.queue.head; skb !== null && copied < buf.length;) {
    const n = Math.min(skb.len, buf.length - copied);
    copyBytes(u8, skb.data, buf, copied, n);
    copied += n;
    if (peek) {
      skb = skb.next;
      continue;
    }
    rcv.queued -= n;
    if (n === skb.len) {
      rcv.queue.unlink(skb);
      skb.free();
      skb = rcv.queue.head;
    } else {
      skb.data += n;
    }
  }
  if (copied > 0) {
    if (!peek) {
      rcvSpaceAdjust(sk, copied);
      cleanupRbuf(sk, copied);
    }
    return copied;
  }
  if (buf.length === 0) return 0;
  if (sk.skErr !== 0) return -sk.error;
  if (sk.shutdownMask & Shutdown.RCV) return 0;
  if (sk.state === TcpState.CLOSED) return sk.done ? 0 : -Errno.ENOTCONN;
  return -Errno.EAGAIN;
}

/**
 * After the user read `copied` bytes (`tcp_cleanup_rbuf`): if the window we
 * could now offer is at least twice what the peer currently sees (and the
 * peer's view is at most half the buffer), tell it at once — this is how a
 * zero window reopens.
 */
function cleanupRbuf(sk: Tcb, copied: number): void {
  if (copied <= 0) return;
  const s = sk.state;
  if (s !== TcpState.ESTABLISHED && s !== TcpState.FIN_WAIT_1 && s !== TcpState.FIN_WAIT_2) {
    return;
  }
  const rcv = sk.rcv;
  const cur = receiveWindow(sk);
  const full = rcvFullWindow(sk);
  if (cur * 2 > full) return;
  // What selectWindow could offer: the free space, but never more than the
  // window field can carry (65535 << scale) — without window scaling a large
  // buffer would otherwise send a duplicate ACK with the same window on every read.
  const free = Math.min(offerableWindow(sk), 65535 << rcv.wscale);
  if (free >= 2 * cur && free >= Math.min(full >>> 1, rcv.mss)) sendAck(sk);
}
