/**
 * Round-trip time measurement and the retransmission timeout (RFC 6298,
 * with Linux's 200 ms floor, DEV-2) and RTTM with timestamps (RFC 7323 §4.1).
 *
 * @module
 */
import { minRttSample } from "./rack.ts";
import { seqAdd, seqAfter, seqBefore, seqDiff } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/**
 * RFC 6298 §2 with Linux's floor: RTO = SRTT + max(4·RTTVAR, RTO_MIN), ≤ RTO_MAX.
 *
 * @example
 * ```ts
 * // rttSample(tcb, 40); // first sample: srtt 40, rttvar 20, rto 240
 * ```
 */
export function rttSample(sk: Tcb, r: number): void {
  if (!(r >= 0)) return;
  if (r < 1) r = 1; // clock granularity G = 1 ms
  const rtt = sk.rtt;
  rtt.lastSample = r;
  minRttSample(sk, r);
  if (rtt.srtt === 0) {
    // R2: first sample.
    rtt.srtt = r;
    rtt.rttvar = r / 2;
  } else {
    // R3: RTTVAR first, with the old SRTT.
    rtt.rttvar = 0.75 * rtt.rttvar + 0.25 * Math.abs(rtt.srtt - r);
    rtt.srtt = 0.875 * rtt.srtt + 0.125 * r;
  }
  setRto(sk);
}

/**
 * RTO from the current estimate (RFC 6298 (2.3) with Linux's floor).
 *
 * @example
 * ```ts
 * // setRto(tcb); tcb.rtt.rto === tcb.rtt.srtt + Math.max(4 * tcb.rtt.rttvar, 200)
 * ```
 */
export function setRto(sk: Tcb): void {
  const cfg = sk.ctx.config;
  const rtt = sk.rtt;
  rtt.rto = Math.min(rtt.srtt + Math.max(4 * rtt.rttvar, cfg.rtoMin), cfg.rtoMax);
}

/**
 * RTO after the backoff ends with no sample yet: RFC 6298 §5.7 keeps the
 * backed-off value for the new connection (3 s with a 1 s initial RTO);
 * otherwise recompute from SRTT.
 *
 * @example
 * ```ts
 * // restoreRto(tcb); // after the SYN (or a retransmission) is acknowledged
 * ```
 */
export function restoreRto(sk: Tcb): void {
  if (sk.rtt.srtt > 0) setRto(sk);
  else sk.rtt.rto = 3 * sk.ctx.config.rtoInitial; // RFC 6298 §5.7
}

/**
 * RTTM (RFC 7323 §4.1) with a checked TSecr: the sample is TS.now − TSecr
 * only if TSecr lies between the TSval of `sinceMs` (when our oldest
 * unacknowledged segment, or the SYN, was sent) and now; anything else is
 * not an echo of ours for this data (forged, or an old echo) and would
 * poison SRTT/RTO, so no sample (-1, counted). Linux `tcp_rtt_tsopt_us` only
 * rejects negative values; this also bounds from below.
 *
 * @example
 * ```ts
 * // const r = tsEcrRtt(tcb, o.tsEcr, oldestSentAt); if (r >= 0) rttSample(tcb, r);
 * ```
 */
export function tsEcrRtt(sk: Tcb, tsEcr: number, sinceMs: number): number {
  const lo = seqAdd(Math.floor(sinceMs), sk.tsOffset);
  const now = sk.tsNow();
  if (seqBefore(tsEcr, lo) || seqAfter(tsEcr, now)) {
    sk.ctx.drops.count("tcp.tsecr_out_of_range");
    return -1;
  }
  return seqDiff(now, tsEcr);
}

/**
 * Is `tsEcr` an echo of a TSval we sent since `sinceMs` (Linux
 * `PAWSActiveRejected` on a SYN-ACK)?
 *
 * @example
 * ```ts
 * // if (!tsEcrValid(tcb, o.tsEcr, tcb.snd.retransStamp)) reject();
 * ```
 */
export function tsEcrValid(sk: Tcb, tsEcr: number, sinceMs: number): boolean {
  const lo = seqAdd(Math.floor(sinceMs), sk.tsOffset);
  return !seqBefore(tsEcr, lo) && !seqAfter(tsEcr, sk.tsNow());
}
