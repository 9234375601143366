/**
 * Congestion control: the small interface every algorithm implements (Linux
 * `struct tcp_congestion_ops`: `ssthresh`, `cong_avoid`, `set_state`) and
 * NewReno (RFC 5681 slow start and congestion avoidance with appropriate byte
 * counting, RFC 3465; the loss-recovery half of RFC 6582 lives in `input.ts`,
 * which calls `ssthresh()` on entering recovery and after an RTO).
 *
 * All windows are in bytes.
 *
 * @module
 */

/**
 * What congestion control reads and writes on a connection.
 *
 * @example
 * ```ts
 * import type { CongestionState } from "./reno.ts";
 * const cs: CongestionState = { cwnd: 14480, ssthresh: 65535, mssCache: 1448, flightSize: 0, bytesAcked: 0 };
 * ```
 */
export interface CongestionState {
  /** Congestion window (bytes). */
  cwnd: number;
  /** Slow-start threshold (bytes). */
  ssthresh: number;
  /** Sender MSS in use (bytes). */
  readonly mssCache: number;
  /** Bytes in flight (SND.NXT − SND.UNA). */
  readonly flightSize: number;
  /** Partial-window byte counter for congestion avoidance (RFC 3465 §2.1). */
  bytesAcked: number;
}

/**
 * A congestion-control algorithm. Implementations keep per-connection state
 * on the {@link CongestionState} (or in a private `WeakMap`), never globally.
 *
 * @example
 * ```ts
 * import { NEW_RENO } from "./reno.ts";
 * const cs = { cwnd: 14600, ssthresh: 0x7fffffff, mssCache: 1460, flightSize: 0, bytesAcked: 0 };
 * NEW_RENO.congAvoid(cs, 1460); // slow start: cwnd 16060
 * ```
 */
export interface CongestionControl {
  /** Name as `TCP_CONGESTION` would report it. */
  readonly name: string;
  /** Set the initial window for a new connection (RFC 5681 C1 / RFC 6928). */
  init(cs: CongestionState): void;
  /** New ssthresh on a loss event (fast retransmit or RTO; C4). */
  ssthresh(cs: CongestionState): number;
  /** Grow cwnd for `acked` newly acknowledged bytes outside recovery (C2, C3). */
  congAvoid(cs: CongestionState, acked: number): void;
  /** Called on RTO expiry after `ssthresh` was taken: collapse cwnd (C4). */
  onRto(cs: CongestionState): void;
}

/**
 * Initial window in segments: 10 (RFC 6928, Linux's `TCP_INIT_CWND`). RFC
 * 5681 C1 allows at most 4 full segments; IW10 is the deployed norm and the
 * documented project choice (CONFORMANCE §4.4 C1).
 *
 * @example
 * ```ts
 * import { INITIAL_WINDOW_SEGMENTS } from "./reno.ts";
 * INITIAL_WINDOW_SEGMENTS * 1448; // 14480 bytes
 * ```
 */
export const INITIAL_WINDOW_SEGMENTS = 10;

/**
 * NewReno's window arithmetic.
 *
 * @example
 * ```ts
 * import { NEW_RENO } from "./reno.ts";
 * const cs = { cwnd: 0, ssthresh: 0, mssCache: 1000, flightSize: 8000, bytesAcked: 0 };
 * NEW_RENO.init(cs); // cwnd 10000, ssthresh "arbitrarily high"
 * NEW_RENO.ssthresh(cs); // 4000 = max(FlightSize / 2, 2 * SMSS)
 * ```
 */
export const NEW_RENO: CongestionControl = {
  name: "reno",
  init(cs) {
    cs.cwnd = INITIAL_WINDOW_SEGMENTS * cs.mssCache;
    // RFC 5681 §3.1: the initial ssthresh SHOULD be arbitrarily high.
    cs.ssthresh = 0x7fffffff;
    cs.bytesAcked = 0;
  },
  ssthresh(cs) {
    // RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2 * SMSS).
    return Math.max(cs.flightSize >>> 1, 2 * cs.mssCache);
  },
  congAvoid(cs, acked) {
    const mss = cs.mssCache;
    if (cs.cwnd < cs.ssthresh) {
      // RFC 5681 eq. (2) with RFC 3465 L = 1 SMSS: byte counting caps growth
      // per ACK, so a receiver splitting ACKs cannot inflate cwnd (§8 row 13).
      cs.cwnd += Math.min(acked, mss);
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
  onRto(cs) {
    // RFC 5681 §3.1: after an RTO, cwnd = loss window = 1 SMSS.
    cs.cwnd = cs.mssCache;
    cs.bytesAcked = 0;
  },
};
