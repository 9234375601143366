/**
 * Which timer watches the data in flight (Linux `tcp_set_xmit_timer`,
 * `tcp_schedule_loss_probe`, `tcp_rearm_rto`): the retransmission timeout
 * (RFC 6298), or — for a SACK connection with nothing amiss — the tail loss
 * probe (RFC 8985 §7.2), which fires after about two round trips instead of
 * the RTO's floor of 200 ms + SRTT, so a lost last segment is repaired by a
 * probe rather than a timeout. RACK's reordering timer (RFC 8985 §6.3), when
 * armed, takes the slot first.
 *
 * @module
 */
import { CaState } from "./congestion/cc.ts";
import { TimerKind } from "./config.ts";
import type { Tcb } from "./tcb.ts";
import { armRtx, clearRtx } from "./timers.ts";

/**
 * WCDelAckT (RFC 8985 §7.2): how long a receiver may sit on an ACK for a
 * lone segment (Linux `TCP_DELACK_MAX`, 200 ms).
 *
 * @example
 * ```ts
 * import { WC_DELACK_MS } from "./xmit_timer.ts";
 * WC_DELACK_MS; // 200
 * ```
 */
export const WC_DELACK_MS = 200;

/**
 * Arm the tail loss probe if RFC 8985 §7.2 allows one now: SACK negotiated
 * (and TLP not turned off), data in flight, no probe outstanding, the
 * connection not in loss recovery, an RTT known. PTO = 2·SRTT (plus
 * WCDelAckT when one segment is in flight), never later than the RTO would
 * fire. Returns whether it armed.
 *
 * @example
 * ```ts
 * // if (!scheduleLossProbe(tcb)) armRtx(tcb, TimerKind.RETRANS, tcb.rtt.rto);
 * ```
 */
export function scheduleLossProbe(sk: Tcb): boolean {
  const cong = sk.cong;
  const snd = sk.snd;
  const s = cong.state;
  if (
    !sk.sackOk || !sk.ctx.config.tlp || (cong.loss !== null && cong.loss.tlpHighSeq !== -1) ||
    snd.una === snd.nxt ||
    sk.rtt.srtt === 0 || s === CaState.RECOVERY || s === CaState.LOSS
  ) {
    return false;
  }
  let pto = 2 * sk.rtt.srtt;
  pto += snd.flight <= snd.mss ? WC_DELACK_MS : 2;
  // Not later than the RTO for the oldest segment in flight.
  const head = snd.queue.head;
  if (head !== null) {
    const rtoLeft = head.when + sk.rtt.rto - sk.now();
    if (rtoLeft < pto) pto = rtoLeft;
  }
  armRtx(sk, TimerKind.LOSS_PROBE, Math.max(1, pto));
  return true;
}

/**
 * After an ACK or a send (Linux `tcp_set_xmit_timer`): stop the timer when
 * nothing is in flight; else leave RACK's reordering timer alone, or arm
 * the loss probe, or restart the RTO (RFC 6298 R6).
 *
 * @example
 * ```ts
 * // setXmitTimer(tcb); // at the end of ACK processing
 * ```
 */
export function setXmitTimer(sk: Tcb): void {
  const snd = sk.snd;
  const kind = sk.timers.rtxKind;
  if (snd.una === snd.max) {
    if (kind !== TimerKind.NONE && kind !== TimerKind.PROBE) clearRtx(sk);
    return;
  }
  if (kind === TimerKind.REO) return;
  if (scheduleLossProbe(sk)) return;
  armRtx(sk, TimerKind.RETRANS, sk.rtt.rto);
}
