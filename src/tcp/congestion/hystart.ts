/**
 * HyStart++ (RFC 9406): leave slow start before it overshoots, by watching
 * the round's minimum RTT. When it rises by more than RttThresh over the
 * previous round's, slow start turns into Conservative Slow Start (CSS:
 * growth divided by 4) for at most 5 rounds; if the delay falls back the
 * sender resumes slow start, otherwise it goes to congestion avoidance with
 * ssthresh = cwnd. A loss or ECN echo ends it either way (the algorithm's
 * own `ssthresh` then applies).
 *
 * The record lives inside the algorithm's per-connection state (CUBIC's);
 * nothing here is global.
 *
 * @module
 */

/** RFC 9406 §4.3 MIN_RTT_THRESH (ms). */
export const HYSTART_MIN_RTT_THRESH = 4;
/** RFC 9406 §4.3 MAX_RTT_THRESH (ms). */
export const HYSTART_MAX_RTT_THRESH = 16;
/** RFC 9406 §4.3 MIN_RTT_DIVISOR. */
export const HYSTART_MIN_RTT_DIVISOR = 8;
/** RFC 9406 §4.3 N_RTT_SAMPLE: RTT samples a round needs before its minimum counts. */
export const HYSTART_N_RTT_SAMPLE = 8;
/** RFC 9406 §4.3 CSS_GROWTH_DIVISOR. */
export const HYSTART_CSS_GROWTH_DIVISOR = 4;
/** RFC 9406 §4.3 CSS_ROUNDS. */
export const HYSTART_CSS_ROUNDS = 5;
/**
 * RFC 9406 §4.3 L: the most SMSS one ACK may grow cwnd by in slow start, 8
 * for a sender that does not pace (8 leaves room for stretch ACKs from
 * receivers that coalesce, like our own one-ACK-per-drain).
 */
export const HYSTART_L = 8;

/**
 * HyStart++'s per-connection state.
 *
 * @example
 * ```ts
 * import { HyStartState } from "./hystart.ts";
 * new HyStartState().inCss; // false
 * ```
 */
export class HyStartState {
  /** The end of the current round: SND.NXT when it began, or -1 before the first. */
  windowEnd: number = -1;
  /** The previous round's minimum RTT (ms). */
  lastRoundMinRtt: number = Infinity;
  /** This round's minimum RTT so far (ms). */
  currentRoundMinRtt: number = Infinity;
  /** RTT samples this round. */
  rttSampleCount = 0;
  /** In Conservative Slow Start. */
  inCss = false;
  /** The round minimum that started CSS. */
  cssBaselineMinRtt: number = Infinity;
  /** Rounds spent in CSS. */
  cssRounds = 0;
  /** Still watching (off once congestion avoidance or a loss is reached). */
  active = true;

  /** Back to the start (a new slow start after an RTO). */
  reset(): void {
    this.windowEnd = -1;
    this.lastRoundMinRtt = this.currentRoundMinRtt = Infinity;
    this.rttSampleCount = 0;
    this.inCss = false;
    this.cssBaselineMinRtt = Infinity;
    this.cssRounds = 0;
    this.active = true;
  }
}

/**
 * Account an ACK in slow start (RFC 9406 §4.2): round bookkeeping (`ack`
 * against the round's end, `sndNxt` starts the next), the RTT sample (ms,
 * or -1), and the delay-increase test. Returns what to do:
 * `"ss"` grow as slow start, `"css"` grow as CSS, `"exit"` set ssthresh to
 * cwnd and go to congestion avoidance.
 *
 * @example
 * ```ts
 * import { HyStartState, hystartOnAck } from "./hystart.ts";
 * const h = new HyStartState();
 * hystartOnAck(h, 100, 5000, 20); // "ss"
 * ```
 */
export function hystartOnAck(
  h: HyStartState,
  ack: number,
  sndNxt: number,
  rtt: number,
): "ss" | "css" | "exit" {
  if (!h.active) return "ss";
  // A round ends when the ACK covers what was sent when it began; the next
  // starts with fresh minimum-RTT bookkeeping (§4.2).
  if (h.windowEnd === -1 || ((ack - h.windowEnd) | 0) >= 0) {
    if (h.windowEnd !== -1 && h.inCss && ++h.cssRounds >= HYSTART_CSS_ROUNDS) {
      // CSS_ROUNDS rounds of CSS: on to congestion avoidance.
      h.active = false;
      return "exit";
    }
    h.windowEnd = sndNxt >>> 0;
    h.lastRoundMinRtt = h.currentRoundMinRtt;
    h.currentRoundMinRtt = Infinity;
    h.rttSampleCount = 0;
  }
  if (rtt >= 0) {
    if (rtt < h.currentRoundMinRtt) h.currentRoundMinRtt = rtt;
    h.rttSampleCount++;
  }
  if (h.rttSampleCount < HYSTART_N_RTT_SAMPLE || h.currentRoundMinRtt === Infinity) {
    return h.inCss ? "css" : "ss";
  }
  if (h.inCss) {
    // A lower minimum than the one that started CSS: a false alarm, resume
    // slow start.
    if (h.currentRoundMinRtt < h.cssBaselineMinRtt) {
      h.inCss = false;
      h.cssBaselineMinRtt = Infinity;
      h.cssRounds = 0;
    }
  } else if (h.lastRoundMinRtt !== Infinity) {
    const thresh = Math.max(
      HYSTART_MIN_RTT_THRESH,
      Math.min(h.lastRoundMinRtt / HYSTART_MIN_RTT_DIVISOR, HYSTART_MAX_RTT_THRESH),
    );
    if (h.currentRoundMinRtt >= h.lastRoundMinRtt + thresh) {
      h.inCss = true;
      h.cssBaselineMinRtt = h.currentRoundMinRtt;
      h.cssRounds = 0;
    }
  }
  return h.inCss ? "css" : "ss";
}
