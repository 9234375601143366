/**
 * RACK (RFC 8985 §6), the bookkeeping half: what each delivery teaches the
 * sender. RACK decides loss by time, not by counting duplicates: a segment
 * is lost once a segment sent after it has been delivered and a reordering
 * window has passed. Here: the most recently sent segment delivered
 * (RACK.xmit_ts / end_seq / rtt), reordering detection (RACK.fack), the
 * windowed minimum RTT, and the reordering window with its D-SACK
 * adaptation. The loss walk that marks segments lost and the timer live in
 * `recovery.ts`; state is on the congestion record ({@link CongestionState}).
 *
 * @module
 */
import type { SkBuff } from "../skb/skbuff.ts";
import { SACKED } from "../skb/skbuff.ts";
import { CaState, lossState } from "./congestion/cc.ts";
import { seqAfter, seqBefore, seqGeq } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/** How long the minimum-RTT filter remembers a sample (ms; Linux tcp_min_rtt_wlen 300 s). */
const MIN_RTT_WINDOW_MS = 300_000;
/** RFC 8985 §6.2 step 4: D-SACK-free recoveries before the window multiplier resets. */
const REO_WND_PERSIST = 16;
/** RFC 5681 DupThresh, in segments. */
export const DUP_THRESH = 3;

/**
 * RACK_sent_after (RFC 8985 §6.2): was (t1, seq1) sent after (t2, seq2)?
 *
 * @example
 * ```ts
 * import { sentAfter } from "./rack.ts";
 * sentAfter(10, 500, 10, 400); // true: same time, higher sequence
 * ```
 */
export function sentAfter(t1: number, seq1: number, t2: number, seq2: number): boolean {
  return t1 > t2 || (t1 === t2 && seqAfter(seq1, seq2));
}

/**
 * A new RTT sample for the windowed minimum (RACK.min_RTT, `tcpi_min_rtt`).
 *
 * @example
 * ```ts
 * // minRttSample(tcb, 21);
 * ```
 */
export function minRttSample(sk: Tcb, rtt: number): void {
  const cong = sk.cong;
  const now = sk.now();
  if (rtt <= cong.minRtt || now - cong.minRttStamp > MIN_RTT_WINDOW_MS) {
    cong.minRtt = rtt;
    cong.minRttStamp = Math.floor(now); // a whole ms: see Tcb.stampNow
  }
}

/**
 * Segment `skb` was just delivered (cumulatively acknowledged or SACKed for
 * the first time): RACK_update and RACK_detect_reordering (RFC 8985 §6.2
 * steps 2–3).
 *
 * @example
 * ```ts
 * // rackDelivered(tcb, skb);
 * ```
 */
export function rackDelivered(sk: Tcb, skb: SkBuff): void {
  const cong = sk.cong;
  const end = skb.endSeq;
  // Step 3: a delivery below the highest one delivered, of a segment never
  // retransmitted, means the network reordered.
  const rack = lossState(cong);
  if (seqAfter(end, cong.rackFack)) cong.rackFack = end;
  else if (seqBefore(end, cong.rackFack) && (skb.sacked & SACKED.EVER_RETRANS) === 0) {
    rack.rackReorderingSeen = true;
    rack.reordSeen++;
  }
  const when = skb.when;
  const rtt = sk.now() - when;
  // Step 2: delivering a retransmitted segment is ambiguous (original or
  // retransmission?). A delivery sooner than the minimum RTT after the
  // retransmission must be the original's: it teaches nothing. (Linux
  // tcp_rack_advance; the RFC's TSecr test is left out: RFC 7323 §4.2 has
  // the receiver echo the TSval that last advanced RCV.NXT, so an
  // out-of-order retransmission's own TSval is never echoed.)
  if ((skb.sacked & SACKED.EVER_RETRANS) !== 0 && rtt < cong.minRtt) return;
  rack.rackRtt = rtt;
  if (sentAfter(when, end, rack.rackXmitTs, rack.rackEndSeq)) {
    rack.rackXmitTs = when;
    rack.rackEndSeq = end;
  }
}

/**
 * A D-SACK arrived (RFC 8985 §6.2 step 4): grow the reordering window once
 * per round trip that sees one, and keep it grown for 16 recoveries.
 *
 * @example
 * ```ts
 * // rackOnDsack(tcb);
 * ```
 */
export function rackOnDsack(sk: Tcb): void {
  const rack = lossState(sk.cong);
  const snd = sk.snd;
  if (rack.rackDsackRound !== -1 && seqGeq(snd.una, rack.rackDsackRound)) rack.rackDsackRound = -1;
  if (rack.rackDsackRound === -1) {
    rack.rackDsackRound = snd.nxt;
    rack.rackReoWndMult++;
    rack.rackReoWndPersist = REO_WND_PERSIST;
  }
}

/**
 * A recovery (fast or RTO) ended: count it against the grown reordering
 * window (RFC 8985 §6.2 step 4).
 *
 * @example
 * ```ts
 * // rackRecoveryEnded(tcb);
 * ```
 */
export function rackRecoveryEnded(sk: Tcb): void {
  const rack = sk.cong.loss;
  if (rack === null) return;
  if (rack.rackReoWndPersist > 0 && --rack.rackReoWndPersist === 0) rack.rackReoWndMult = 1;
}

/**
 * RACK's reordering window in ms (RFC 8985 §6.2 step 4): zero while no
 * reordering was seen and either recovery is under way or DupThresh
 * segments are SACKed (then a hole is a loss at once, like DupThresh);
 * otherwise min(mult · min_RTT / 4, SRTT).
 *
 * @example
 * ```ts
 * // const w = reoWnd(tcb); // e.g. 5 with a 20 ms minimum RTT
 * ```
 */
export function reoWnd(sk: Tcb): number {
  const cong = sk.cong;
  const rack = cong.loss;
  if (rack === null || !rack.rackReorderingSeen) {
    if (cong.state === CaState.RECOVERY || cong.state === CaState.LOSS) return 0;
    if (sk.snd.sackedBytes >= DUP_THRESH * sk.snd.mss) return 0;
  }
  const srtt = sk.rtt.srtt;
  const min = cong.minRtt === Infinity ? srtt : cong.minRtt;
  return Math.min((rack === null ? 1 : rack.rackReoWndMult) * min / 4, srtt);
}
