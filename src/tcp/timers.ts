/**
 * Arming and stopping a connection's timer slots (Linux
 * `inet_csk_reset_xmit_timer`, `inet_csk_clear_xmit_timer`,
 * `inet_csk_reset_keepalive_timer`). What happens when a slot fires lives in
 * `timeouts.ts`; the callbacks were bound to the TCB when it was created.
 *
 * The three slots share one clock timer armed for the earliest deadline,
 * re-armed lazily: pushing a deadline later (or clearing a slot) only
 * records it, and an early firing re-arms for the rest, so an ACK stream
 * costs no timer-heap work per segment.
 *
 * @module
 */
import { TimerKind } from "./config.ts";
import { TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/**
 * Make sure the connection's clock timer fires no later than `deadline`.
 * Deadlines that move later need no timer work: the timer fires early and
 * `timeouts.ts` re-arms it for what is left.
 */
function armAt(sk: Tcb, deadline: number): void {
  const timer = sk.timers.timer;
  if (timer.pending && timer.when <= deadline) return;
  const clock = sk.ctx.clock;
  clock.resetTimer(timer, deadline - clock.now());
}

/**
 * Arm the retransmit/probe slot to fire `delay` ms from now.
 *
 * @example
 * ```ts
 * // armRtx(tcb, TimerKind.RETRANS, tcb.rtt.rto);
 * ```
 */
export function armRtx(sk: Tcb, kind: number, delay: number): void {
  const t = sk.timers;
  const deadline = sk.ctx.clock.now() + delay;
  t.rtxKind = kind;
  t.rtxDeadline = deadline;
  armAt(sk, deadline);
}

/**
 * Stop the retransmit/probe slot (lazily: the shared timer may still fire and find nothing due).
 *
 * @example
 * ```ts
 * // clearRtx(tcb); // everything acknowledged (RFC 6298 R6)
 * ```
 */
export function clearRtx(sk: Tcb): void {
  const t = sk.timers;
  t.rtxKind = TimerKind.NONE;
  t.rtxDeadline = Infinity;
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
  if (t.delackDeadline !== Infinity) return;
  const deadline = sk.ctx.clock.now() + sk.ctx.config.delack;
  t.delackDeadline = deadline;
  armAt(sk, deadline);
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
  sk.timers.delackDeadline = Infinity;
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
  const deadline = sk.ctx.clock.now() + delay;
  sk.timers.keepDeadline = deadline;
  armAt(sk, deadline);
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
  sk.timers.keepDeadline = Infinity;
}

/**
 * Cancel every timer of a connection (and its clock timer: the TCB is done).
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
  sk.ctx.clock.clearTimer(sk.timers.timer);
}

/**
 * Re-arm the shared timer for the earliest slot still on (after it fired).
 *
 * @example
 * ```ts
 * // rearmTimers(tcb); // in the timer callback, after the due slots ran
 * ```
 */
export function rearmTimers(sk: Tcb): void {
  const t = sk.timers;
  const next = Math.min(t.rtxDeadline, t.delackDeadline, t.keepDeadline);
  if (next !== Infinity) armAt(sk, next);
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
