/**
 * The receive window we offer (`tcp_select_window`, `tcp_receive_window`):
 * what the free part of the receive buffer holds (`buffers.ts`: true size,
 * measured ratio), receiver SWS avoidance (MUST-39), no growth beyond four
 * segments while the stack's memory is under pressure, and never shrinking
 * the right edge (SHLD-14).
 *
 * @module
 */
import { rcvFreeWindow, rcvFullWindow } from "./buffers.ts";
import { seqDiff } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/** Under memory pressure the window grows by at most this many segments (Linux `tcp_adjust_rcv_ssthresh`: 4 × advmss). */
const PRESSURE_WINDOW_SEGMENTS = 4;

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
  const free = offerableWindow(sk);
  const scale = rcv.wscale;
  let win = free;
  // MUST-39 receiver SWS avoidance (RFC 9293 §3.8.6.2.2): don't advertise a
  // small increase; open only by min(rcvbuf / 2, MSS) at a time.
  if (free < Math.min(rcvFullWindow(sk) >>> 1, rcv.mss)) win = 0;
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
 * The window the receive buffer could offer now, before SWS avoidance and
 * scaling: its free space in window bytes; under memory pressure at most
 * four segments — windows close gracefully: what was offered stays (SHLD-14
 * in {@link selectWindow}), but it reopens only by that much.
 *
 * @example
 * ```ts
 * // offerableWindow(tcb) >= 2 * receiveWindow(tcb) → worth a window update
 * ```
 */
export function offerableWindow(sk: Tcb): number {
  const free = Math.max(0, rcvFreeWindow(sk));
  return sk.ctx.mem.underPressure ? Math.min(free, PRESSURE_WINDOW_SEGMENTS * sk.rcv.advmss) : free;
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
