/**
 * NewReno's window arithmetic: RFC 5681 slow start and congestion avoidance
 * with appropriate byte counting (RFC 3465). The loss-recovery half of RFC
 * 6582 lives with ACK processing (`ack.ts`).
 *
 * @module
 */
import { ABC_LIMIT, type CongestionControl, flightSize, INITIAL_WINDOW_SEGMENTS } from "./cc.ts";

/**
 * NewReno.
 *
 * @example
 * ```ts
 * import { NEW_RENO } from "./reno.ts";
 * import { CongestionState } from "./cc.ts";
 * const host = {
 *   cong: new CongestionState(NEW_RENO),
 *   snd: { mss: 1000, una: 0, nxt: 8000 },
 *   rtt: { srtt: 20 },
 *   now: () => 0,
 * };
 * NEW_RENO.init(host); // cwnd 10000, ssthresh "arbitrarily high"
 * NEW_RENO.ssthresh(host); // 4000 = max(FlightSize / 2, 2 * SMSS)
 * ```
 */
export const NEW_RENO: CongestionControl = {
  name: "reno",
  init(c) {
    const cs = c.cong;
    cs.cwnd = INITIAL_WINDOW_SEGMENTS * c.snd.mss;
    // RFC 5681 §3.1: the initial ssthresh SHOULD be arbitrarily high.
    cs.ssthresh = 0x7fffffff;
    cs.bytesAcked = 0;
  },
  ssthresh(c) {
    // RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2 * SMSS).
    return Math.max(flightSize(c.snd) >>> 1, 2 * c.snd.mss);
  },
  congAvoid(c, acked, superAcked = 0) {
    const cs = c.cong;
    const mss = c.snd.mss;
    if (cs.cwnd < cs.ssthresh) {
      // RFC 5681 eq. (2) with RFC 3465 appropriate byte counting: growth is
      // counted in bytes, so a receiver splitting ACKs cannot inflate cwnd
      // (§8 row 13), and capped at L·SMSS per stretch ACK (L = 2, as
      // Linux) — bytes of TSO super-segments are no stretch.
      cs.cwnd += Math.min(acked, ABC_LIMIT * mss + superAcked);
      return;
    }
    // RFC 3465 §2.1 congestion avoidance: +1 SMSS once a whole cwnd of bytes
    // has been acknowledged (≈ 1 SMSS per RTT, RFC 5681 C3).
    cs.bytesAcked += acked;
    if (cs.bytesAcked >= cs.cwnd) {
      cs.bytesAcked -= cs.cwnd;
      cs.cwnd += mss;
    }
  },
  onRto(c) {
    // RFC 5681 §3.1: after an RTO, cwnd = loss window = 1 SMSS.
    c.cong.cwnd = c.snd.mss;
    c.cong.bytesAcked = 0;
  },
};
