/**
 * Arming and stopping a connection's timer slots (Linux
 * `inet_csk_reset_xmit_timer`, `inet_csk_clear_xmit_timer`,
 * `inet_csk_reset_keepalive_timer`). What happens when a slot fires lives in
 * `timeouts.ts`; the callbacks were bound to the TCB when it was created.
 *
 * The retransmit slot is re-armed lazily: pushing its deadline later only
 * records the deadline, and an early firing re-arms for the rest, so an ACK
 * stream costs no timer-heap work per segment.
 *
 * @module
 */
import { TimerKind } from "./config.ts";
import { TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/**
 * Arm the retransmit/probe slot to fire `delay` ms from now.
 *
 * @example
 * ```ts
 * // armRtx(tcb, TimerKind.RETRANS, tcb.rtt.rto);
 * ```
 */
export function armRtx(sk: Tcb, kind: number, delay: number): void {
  const clock = sk.ctx.clock;
  const t = sk.timers;
  const deadline = clock.now() + delay;
  t.rtxKind = kind;
  t.rtxDeadline = deadline;
  const timer = t.rtx;
  if (timer.pending && timer.when <= deadline) return; // lazy: fires early, re-arms
  clock.resetTimer(timer, delay);
}

/**
 * Stop the retransmit/probe slot.
 *
 * @example
 * ```ts
 * // clearRtx(tcb); // everything acknowledged (RFC 6298 R6)
 * ```
 */
export function clearRtx(sk: Tcb): void {
  const t = sk.timers;
  t.rtxKind = TimerKind.NONE;
  sk.ctx.clock.clearTimer(t.rtx);
}

/**
 * Owe an ACK within the delayed-ACK timeout (MUST-40).
 *
 * @example
 * ```ts
 * // armDelack(tcb); // ACK within config.delack ms
 * ```
 */
export function armDelack(sk: Tcb): void {
  sk.rcv.ackPending = true;
  const t = sk.timers;
  if (t.delack.pending) return;
  sk.ctx.clock.resetTimer(t.delack, sk.ctx.config.delack);
}

/**
 * No ACK owed any more.
 *
 * @example
 * ```ts
 * // clearDelack(tcb); // an ACK just went out
 * ```
 */
export function clearDelack(sk: Tcb): void {
  sk.rcv.ackPending = false;
  sk.rcv.ackNow = false;
  sk.ctx.clock.clearTimer(sk.timers.delack);
}

/**
 * Arm the keepalive slot (keepalive, FIN-WAIT-2 or TIME-WAIT) for `delay` ms.
 *
 * @example
 * ```ts
 * // armKeep(tcb, tcb.opt.timeWaitLen); // TIME-WAIT
 * ```
 */
export function armKeep(sk: Tcb, delay: number): void {
  const clock = sk.ctx.clock;
  const t = sk.timers;
  t.keepDeadline = clock.now() + delay;
  clock.resetTimer(t.keep, delay);
}

/**
 * Stop the keepalive slot.
 *
 * @example
 * ```ts
 * // clearKeep(tcb);
 * ```
 */
export function clearKeep(sk: Tcb): void {
  sk.ctx.clock.clearTimer(sk.timers.keep);
}

/**
 * Cancel every timer of a connection.
 *
 * @example
 * ```ts
 * // clearAllTimers(tcb); // the TCB is finished
 * ```
 */
export function clearAllTimers(sk: Tcb): void {
  clearRtx(sk);
  clearDelack(sk);
  clearKeep(sk);
}

/**
 * (Re)start keepalive for an idle connection when SO_KEEPALIVE is on.
 *
 * @example
 * ```ts
 * // resetKeepalive(tcb); // on ESTABLISHED with SO_KEEPALIVE
 * ```
 */
export function resetKeepalive(sk: Tcb): void {
  const s = sk.state;
  if (!sk.opt.keepalive || (s !== TcpState.ESTABLISHED && s !== TcpState.CLOSE_WAIT)) return;
  sk.timers.probesOut = 0;
  armKeep(sk, sk.opt.keepIdle);
}

/**
 * The delay to re-arm the retransmission timer with after a timeout: the
 * backed-off RTO, but never past the moment TCP_USER_TIMEOUT runs out,
 * counted from the first transmission of the oldest unacknowledged segment
 * (Linux `tcp_clamp_rto_to_user_timeout`), so the connection is given up
 * when the user timeout says, not at the next backed-off RTO (≥ 1 ms).
 *
 * @example
 * ```ts
 * // armRtx(tcb, TimerKind.RETRANS, rtoClampedToUserTimeout(tcb));
 * ```
 */
export function rtoClampedToUserTimeout(sk: Tcb): number {
  const rto = sk.rtt.rto;
  const ut = sk.opt.userTimeout;
  if (ut <= 0) return rto;
  const remaining = sk.snd.retransStamp + ut - sk.ctx.clock.now();
  return remaining <= 0 ? 1 : Math.min(rto, remaining);
}

/**
 * The persist-timer delay: RTO backed off, up to RTO_MAX (SHLD-30).
 *
 * @example
 * ```ts
 * // armRtx(tcb, TimerKind.PROBE, probeDelay(tcb));
 * ```
 */
export function probeDelay(sk: Tcb): number {
  return Math.min(sk.rtt.rto * 2 ** Math.min(sk.rtt.backoff, 16), sk.ctx.config.rtoMax);
}
