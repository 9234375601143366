/**
 * The congestion-control contract (Linux `struct tcp_congestion_ops`): the
 * per-connection congestion record and the small interface every algorithm
 * implements. RFC 5681 / RFC 6582 loss recovery (fast retransmit, NewReno
 * partial ACKs) lives with ACK processing in `ack.ts`, which calls
 * `ssthresh()` on entering recovery; the retransmission timer calls it and
 * `onRto()` after a timeout.
 *
 * Algorithms see the connection through {@link CongestionHost}, a structural
 * view the TCB satisfies, so this leaf module needs nothing from the TCB's
 * module (no import cycle) and algorithms can be tested on plain objects.
 * All windows are in bytes.
 *
 * @module
 */

/**
 * Initial window in segments: 10 (RFC 6928, Linux's `TCP_INIT_CWND`). RFC
 * 5681 C1 allows at most 4 full segments; IW10 is the deployed norm and the
 * documented project choice (DEVIATIONS.md DEV-3).
 *
 * @example
 * ```ts
 * import { INITIAL_WINDOW_SEGMENTS } from "./cc.ts";
 * INITIAL_WINDOW_SEGMENTS * 1448; // 14480 bytes
 * ```
 */
export const INITIAL_WINDOW_SEGMENTS = 10;

/**
 * RFC 3465 §2.2 limit L: slow start grows cwnd by at most L·SMSS per ACK of
 * ordinary segments (2, as Linux's delayed-ACK receivers make it).
 *
 * @example
 * ```ts
 * import { ABC_LIMIT } from "./cc.ts";
 * ABC_LIMIT * 1448; // 2896 bytes per ACK at most
 * ```
 */
export const ABC_LIMIT = 2;

/**
 * A connection's congestion state (RFC 5681 §3, RFC 6582): data only.
 *
 * @example
 * ```ts
 * import { CongestionState } from "./cc.ts";
 * import { NEW_RENO } from "./reno.ts";
 * const cong = new CongestionState(NEW_RENO);
 * cong.ssthresh; // 0x7fffffff: "arbitrarily high" until the first loss
 * ```
 */
export class CongestionState {
  /** cwnd: the congestion window (bytes). */
  cwnd = 0;
  /** ssthresh: the slow-start threshold (bytes). */
  ssthresh = 0x7fffffff;
  /** Partial-window byte counter for congestion avoidance (RFC 3465 §2.1). */
  bytesAcked = 0;
  /** Consecutive duplicate ACKs (RFC 5681 C8). */
  dupAcks = 0;
  /** In fast recovery (RFC 6582). */
  inRecovery = false;
  /** RFC 6582 "recover": the highest sequence number sent when recovery began. */
  recover = 0;

  /** A fresh record driven by `algorithm`. */
  constructor(
    /** The algorithm in charge of this connection (`TCP_CONGESTION`). */
    public algorithm: CongestionControl,
  ) {}
}

/**
 * What an algorithm reads of a connection besides its {@link CongestionState}.
 * The TCB satisfies it structurally.
 *
 * @example
 * ```ts
 * import { CongestionState, type CongestionHost } from "./cc.ts";
 * import { NEW_RENO } from "./reno.ts";
 * const host: CongestionHost = {
 *   cong: new CongestionState(NEW_RENO),
 *   snd: { mss: 1448, una: 0, nxt: 0 },
 * };
 * ```
 */
export interface CongestionHost {
  /** The congestion record the algorithm updates. */
  readonly cong: CongestionState;
  /** Send sequence space: SMSS and the flight (SND.NXT − SND.UNA). */
  readonly snd: { readonly mss: number; readonly una: number; readonly nxt: number };
}

/**
 * A congestion-control algorithm. Implementations keep per-connection state
 * on the connection's {@link CongestionState}, never in module globals.
 *
 * @example
 * ```ts
 * import { CongestionState } from "./cc.ts";
 * import { NEW_RENO } from "./reno.ts";
 * const host = { cong: new CongestionState(NEW_RENO), snd: { mss: 1460, una: 0, nxt: 0 } };
 * NEW_RENO.init(host);
 * NEW_RENO.congAvoid(host, 1460); // slow start: cwnd 16060
 * ```
 */
export interface CongestionControl {
  /** Name as `TCP_CONGESTION` would report it. */
  readonly name: string;
  /** Set the initial window for a new connection (RFC 5681 C1 / RFC 6928). */
  init(c: CongestionHost): void;
  /** New ssthresh on a loss event (fast retransmit or RTO; C4). */
  ssthresh(c: CongestionHost): number;
  /**
   * Grow cwnd for `acked` newly acknowledged bytes outside recovery (C2,
   * C3). `superAcked` of them (default 0) were sent as TSO super-segments:
   * one ACK for a super-segment is no stretch ACK (a receiver without GRO
   * would have acknowledged its pieces one ACK per two), so slow start does
   * not cap them.
   */
  congAvoid(c: CongestionHost, acked: number, superAcked?: number): void;
  /** Called on RTO expiry after `ssthresh` was taken: collapse cwnd (C4). */
  onRto(c: CongestionHost): void;
}

/**
 * FlightSize (RFC 5681 §2): bytes sent and not yet acknowledged.
 *
 * @example
 * ```ts
 * import { flightSize } from "./cc.ts";
 * flightSize({ mss: 1000, una: 0xfffffff0, nxt: 0x10 }); // 32 (wraps)
 * ```
 */
export function flightSize(snd: CongestionHost["snd"]): number {
  return (snd.nxt - snd.una) | 0;
}
