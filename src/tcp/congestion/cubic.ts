/**
 * CUBIC (RFC 9438), the default congestion control (as in Linux), with
 * HyStart++ (RFC 9406) leaving slow start. Windows are bytes on the
 * connection's {@link CongestionState}; CUBIC's own variables, in segments
 * and seconds as the RFC writes them, live in a {@link CubicState} the
 * connection owns (`cong.priv`).
 *
 * - Congestion avoidance follows W_cubic(t) = C·(t − K)³ + W_max (§4.2),
 *   aiming at W_cubic(t + RTT) clamped to [cwnd, 1.5·cwnd] (§4.4–4.5), and
 *   never grows slower than the Reno-friendly estimate W_est (§4.3).
 * - A congestion event takes β = 0.7 (ssthresh = 0.7·cwnd, Linux's choice of
 *   cwnd over flight size), with fast convergence (§4.7).
 * - Slow start grows by min(acked, L·SMSS) per ACK with L = 8 (RFC 9406
 *   §4.3 for an unpaced sender), a quarter of that in Conservative Slow
 *   Start.
 *
 * @module
 */
import { type CongestionControl, type CongestionHost, INITIAL_WINDOW_SEGMENTS } from "./cc.ts";
import { HYSTART_CSS_GROWTH_DIVISOR, HYSTART_L, hystartOnAck, HyStartState } from "./hystart.ts";

/** RFC 9438 §4.1 C (segments / s³). */
export const CUBIC_C = 0.4;
/** RFC 9438 §4.1 β_cubic: the multiplicative decrease factor. */
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3 α_cubic = 3(1 − β)/(1 + β), the Reno-friendly additive increase. */
const CUBIC_ALPHA = 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);

/**
 * CUBIC's per-connection variables (RFC 9438 §4.1), in segments and ms,
 * with HyStart++'s (one record per connection).
 *
 * @example
 * ```ts
 * import { CubicState } from "./cubic.ts";
 * new CubicState().epochStart; // -1: no congestion-avoidance epoch yet
 * ```
 */
export class CubicState extends HyStartState {
  /** W_max: the window before the last reduction (segments). */
  wMax = 0;
  /** K: seconds the cubic function takes to get back to W_max. */
  k = 0;
  /** Start of the current congestion-avoidance epoch (ms), -1 = none. */
  epochStart: number = -1;
  /** The plateau W_cubic heads for (W_max, or cwnd when above it; segments). */
  origin = 0;
  /** W_est: the Reno-friendly window estimate (segments). */
  wEst = 0;
  /** cwnd when the last reduction happened (bytes; undo). */
  lossCwnd = 0;
  /** Fractional bytes of growth not yet added to cwnd. */
  acc = 0;
  /** What HyStart++ said about the last ACK in slow start. */
  ssMode: "ss" | "css" | "exit" = "ss";
}

/** CUBIC's record for `c`, made on first use (fresh, it equals a reset one). */
function state(c: CongestionHost): CubicState {
  const cs = c.cong;
  if (!(cs.priv instanceof CubicState)) cs.priv = new CubicState();
  return cs.priv as CubicState;
}

/**
 * CUBIC with HyStart++.
 *
 * @example
 * ```ts
 * import { CUBIC } from "./cubic.ts";
 * import { CongestionState } from "./cc.ts";
 * const host = {
 *   cong: new CongestionState(CUBIC),
 *   snd: { mss: 1000, una: 0, nxt: 0 },
 *   rtt: { srtt: 20 },
 *   now: () => 0,
 * };
 * CUBIC.init(host);
 * host.cong.cwnd = 100_000;
 * CUBIC.ssthresh(host); // 70000: β = 0.7
 * ```
 */
export const CUBIC: CongestionControl = {
  name: "cubic",
  init(c) {
    const cs = c.cong;
    cs.cwnd = INITIAL_WINDOW_SEGMENTS * c.snd.mss;
    cs.ssthresh = 0x7fffffff;
    cs.bytesAcked = 0;
    // The record is made by the first ACK that needs it (`state`): ten
    // thousand connections that never send carry none. A reused one restarts.
    const st = cs.priv;
    if (!(st instanceof CubicState)) {
      cs.priv = null;
      return;
    }
    st.wMax =
      st.k =
      st.origin =
      st.wEst =
      st.acc =
      st.lossCwnd =
        0;
    st.epochStart = -1;
    st.ssMode = "ss";
    st.reset();
  },
  ssthresh(c) {
    const cs = c.cong;
    const mss = c.snd.mss;
    const st = state(c);
    const cwndSeg = cs.cwnd / mss;
    // §4.7 fast convergence: a flow whose W_max keeps falling releases
    // bandwidth to newer flows.
    st.wMax = cwndSeg < st.wMax ? cwndSeg * (1 + CUBIC_BETA) / 2 : cwndSeg;
    st.epochStart = -1;
    st.lossCwnd = cs.cwnd;
    st.acc = 0;
    st.active = false; // a loss ends slow start (RFC 9406 §4.2)
    // §4.6: ssthresh = β·cwnd (Linux's choice; the RFC's flight size is the
    // same while cwnd-limited), at least 2 SMSS.
    return Math.max(Math.floor(cs.cwnd * CUBIC_BETA), 2 * mss);
  },
  pktsAcked(c, _acked, rtt) {
    const cs = c.cong;
    if (cs.cwnd >= cs.ssthresh) return;
    const st = state(c);
    st.ssMode = hystartOnAck(st, c.snd.una, c.snd.nxt, rtt);
    // RFC 9406 §4.2: after CSS_ROUNDS of CSS, congestion avoidance from here.
    if (st.ssMode === "exit") cs.ssthresh = cs.cwnd;
  },
  congAvoid(c, acked, superAcked = 0) {
    const cs = c.cong;
    const mss = c.snd.mss;
    const st = state(c);
    if (cs.cwnd < cs.ssthresh) {
      // Slow start (RFC 5681 eq. 2, RFC 9406 L = 8; TSO super-segments are
      // no stretch ACK), or a quarter of it in CSS; never past ssthresh.
      let inc = Math.min(acked, HYSTART_L * mss + superAcked);
      if (st.ssMode === "css") inc = inc / HYSTART_CSS_GROWTH_DIVISOR;
      st.acc += inc;
      const whole = Math.floor(st.acc);
      st.acc -= whole;
      const room = cs.ssthresh - cs.cwnd;
      if (whole <= room) {
        cs.cwnd += whole;
        return;
      }
      cs.cwnd = cs.ssthresh;
      acked = Math.max(0, acked - room);
      if (acked === 0) return;
    }
    // Congestion avoidance (§4.2–4.5).
    const now = c.now();
    const cwndSeg = cs.cwnd / mss;
    if (st.epochStart < 0) {
      st.epochStart = now;
      if (cwndSeg < st.wMax) {
        st.k = Math.cbrt((st.wMax - cwndSeg) / CUBIC_C);
        st.origin = st.wMax;
      } else {
        st.k = 0;
        st.origin = cwndSeg;
      }
      st.wEst = cwndSeg;
    }
    const t = (now - st.epochStart) / 1000;
    const rtt = c.rtt.srtt / 1000;
    let target = st.origin + CUBIC_C * (t + rtt - st.k) ** 3;
    if (target < cwndSeg) target = cwndSeg;
    else if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    // §4.3: W_est grows like Reno with α_cubic (1 once past W_max).
    st.wEst += (st.wEst >= st.wMax ? 1 : CUBIC_ALPHA) * (acked / mss) / cwndSeg;
    const cubicNow = st.origin + CUBIC_C * (t - st.k) ** 3;
    if (cubicNow < st.wEst) {
      // The Reno-friendly region: cwnd follows W_est.
      const est = Math.floor(st.wEst * mss);
      if (est > cs.cwnd) cs.cwnd = est;
      return;
    }
    st.acc += (target - cwndSeg) / cwndSeg * acked;
    const whole = Math.floor(st.acc);
    st.acc -= whole;
    cs.cwnd += whole;
  },
  onRto(c) {
    // RFC 9438 §4.8 / RFC 5681 §3.1: the loss window is 1 SMSS; slow start
    // begins again (with HyStart++ watching it).
    const cs = c.cong;
    cs.cwnd = c.snd.mss;
    cs.bytesAcked = 0;
    const st = state(c);
    st.epochStart = -1;
    st.acc = 0;
    st.ssMode = "ss";
    st.reset();
  },
  undoCwnd(c) {
    // Linux cubictcp_undo_cwnd: back to the window before the reduction.
    return Math.max(c.cong.cwnd, state(c).lossCwnd);
  },
};
