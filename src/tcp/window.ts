/**
 * The receive window we offer (`tcp_select_window`, `tcp_receive_window`):
 * receiver SWS avoidance (MUST-39) and never shrinking the right edge
 * (SHLD-14).
 *
 * @module
 */
import { seqDiff } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/**
 * The window field to put in an outgoing non-SYN segment (already shifted by
 * our scale), recording the new right edge.
 *
 * @example
 * ```ts
 * // repr.window = selectWindow(tcb); // already shifted by rcv.wscale
 * ```
 */
export function selectWindow(sk: Tcb): number {
  const rcv = sk.rcv;
  const cur = Math.max(0, seqDiff(rcv.wup + rcv.wnd, rcv.nxt));
  const free = Math.max(0, rcv.buf - rcv.queued - rcv.ofoBytes);
  const scale = rcv.wscale;
  let win = free;
  // MUST-39 receiver SWS avoidance (RFC 9293 §3.8.6.2.2): don't advertise a
  // small increase; open only by min(rcvbuf / 2, MSS) at a time.
  if (free < Math.min(rcv.buf >>> 1, rcv.mss)) win = 0;
  win = (win >>> scale) << scale;
  // SHLD-14: never move the right edge left.
  if (win < cur) win = ((cur + (1 << scale) - 1) >>> scale) << scale;
  const max = 65535 << scale;
  if (win > max) win = max;
  rcv.wnd = win;
  rcv.wup = rcv.nxt;
  return win >>> scale;
}

/**
 * Bytes the peer may still send: RCV.WND as advertised, from RCV.NXT.
 *
 * @example
 * ```ts
 * // receiveWindow(tcb); // RCV.WND as the peer sees it
 * ```
 */
export function receiveWindow(sk: Tcb): number {
  const rcv = sk.rcv;
  return Math.max(0, seqDiff(rcv.wup + rcv.wnd, rcv.nxt));
}
