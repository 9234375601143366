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
 * Congestion states, as Linux's `tcp_ca_state`: what the sender is doing
 * about congestion and loss.
 *
 * @example
 * ```ts
 * import { CaState } from "./cc.ts";
 * CaState.RECOVERY; // 3: fast recovery (RFC 6675 / PRR)
 * ```
 */
export const CaState = {
  /** Nothing wrong. */
  OPEN: 0,
  /** Duplicate ACKs or SACKs seen, no loss decided yet. */
  DISORDER: 1,
  /** cwnd reduced for an ECN echo (RFC 3168 §6.1.2) or a TLP-repaired loss, without retransmitting. */
  CWR: 2,
  /** Fast recovery (RFC 6675 with PRR, RFC 6937; NewReno RFC 6582 without SACK). */
  RECOVERY: 3,
  /** After a retransmission timeout (RFC 5681 §3.1, F-RTO RFC 5682). */
  LOSS: 4,
} as const;
/** One of {@link CaState}. */
export type CaState = typeof CaState[keyof typeof CaState];

/**
 * What loss recovery keeps per connection (RFC 6937 PRR, undo, RFC 8985
 * RACK and TLP, TCP_INFO's retransmission counts): made on first use
 * ({@link lossState}: a delivery, a reduction, a probe, a retransmission),
 * so idle connections carry a null slot instead of seventeen fields.
 *
 * @example
 * ```ts
 * import { LossState } from "./cc.ts";
 * new LossState().tlpHighSeq; // -1: no probe outstanding
 * ```
 */
export class LossState {
  /** cwnd when the current reduction began (undo; PRR's RecoverFS, Linux `prior_cwnd`). */
  priorCwnd = 0;
  /** ssthresh before the current reduction (undo). */
  priorSsthresh = 0;
  /** Retransmissions of this episode not yet shown spurious by D-SACK (Linux `undo_retrans`), -1 = no undo possible. */
  undoRetrans: number = -1;
  /** PRR (RFC 6937): bytes delivered to the receiver since recovery began. */
  prrDelivered = 0;
  /** PRR: bytes sent since recovery began. */
  prrOut = 0;
  /** RACK (RFC 8985 §6.1): send time of the most recently sent segment delivered. */
  rackXmitTs = 0;
  /** RACK: that segment's end sequence number. */
  rackEndSeq = 0;
  /** RACK: the RTT of that delivery (ms). */
  rackRtt = 0;
  /** RACK: reordering has been observed (RACK.reordering_seen). */
  rackReorderingSeen = false;
  /** Times reordering was observed (`tcpi_reord_seen`). */
  reordSeen = 0;
  /** RACK: reordering window multiplier (RACK.reo_wnd_mult). */
  rackReoWndMult = 1;
  /** RACK: recoveries left before the multiplier resets (RACK.reo_wnd_persist). */
  rackReoWndPersist = 0;
  /** RACK: SND.NXT when a D-SACK last grew the window, -1 = none (RACK.dsack_round). */
  rackDsackRound: number = -1;
  /** TLP (RFC 8985 §7): SND.NXT when a probe was sent, -1 = no probe outstanding (TLP.end_seq). */
  tlpHighSeq: number = -1;
  /** TLP: the probe retransmitted data (TLP.is_retrans). */
  tlpRetrans = false;
  /** Retransmitted segments over the connection's life (`tcpi_total_retrans`). */
  totalRetrans = 0;
  /** Payload bytes retransmitted (`tcpi_bytes_retrans`). */
  bytesRetrans = 0;
}

/**
 * `cong`'s loss-recovery record, made on first use.
 *
 * @example
 * ```ts
 * import { CongestionState, lossState } from "./cc.ts";
 * import { NEW_RENO } from "./reno.ts";
 * lossState(new CongestionState(NEW_RENO)).rackReoWndMult; // 1
 * ```
 */
export function lossState(cong: CongestionState): LossState {
  return cong.loss ??= new LossState();
}

/**
 * A connection's congestion state (RFC 5681 §3, RFC 6582, RFC 6675, RFC
 * 6937, RFC 8985): data only. The windows, the loss-recovery episode (PRR
 * counters, undo information, F-RTO), RACK-TLP's state and the
 * algorithm's own record ({@link CongestionState.priv}).
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
  /** The booleans below as bits of one integer (one 8-byte field, not 3). */
  #bits = 0;
  /** RFC 6582 "recover" / RFC 6675 RecoveryPoint: the highest sequence number sent when recovery began. */
  recover = 0;
  /** What the sender is doing about loss ({@link CaState}). */
  state: CaState = CaState.OPEN;
  /** End of the current CWR / recovery / loss episode (Linux `high_seq`). */
  highSeq = 0;
  /** Most bytes in flight in the current window (Linux `max_packets_out`). */
  maxFlight = 0;
  /** End of the window `maxFlight` / `cwndLimited` describe (Linux `cwnd_usage_seq`). */
  cwndUsageSeq = 0;
  /** RACK: the highest end sequence number delivered (RACK.fack). */
  rackFack = 0;
  /** Windowed minimum RTT (ms; Infinity until a sample, RACK.min_RTT, `tcpi_min_rtt`). */
  minRtt: number = Infinity;
  /** When {@link CongestionState.minRtt} was taken (ms). */
  minRttStamp = 0;
  /**
   * Loss recovery's record (PRR, undo, RACK, TLP), made by the first
   * delivery, reduction or probe that needs it ({@link lossState}): null on a
   * connection that never had data acknowledged.
   */
  loss: LossState | null = null;
  /** The algorithm's own per-connection record (CUBIC's, …), made when first needed. */
  priv: unknown = null;

  /** A fresh record driven by `algorithm`. */
  constructor(
    /** The algorithm in charge of this connection (`TCP_CONGESTION`). */
    public algorithm: CongestionControl,
  ) {}

  /** In fast recovery (RFC 6582 / RFC 6675): `state` is RECOVERY. */
  get inRecovery(): boolean {
    return (this.#bits & 1) !== 0;
  }

  set inRecovery(on: boolean) {
    this.#bits = on ? this.#bits | 1 : this.#bits & ~1;
  }

  /** F-RTO (RFC 5682) in progress after this timeout. */
  get frto(): boolean {
    return (this.#bits & 2) !== 0;
  }

  set frto(on: boolean) {
    this.#bits = on ? this.#bits | 2 : this.#bits & ~2;
  }

  /** The last window was limited by cwnd (Linux `is_cwnd_limited`): only then may cwnd grow. */
  get cwndLimited(): boolean {
    return (this.#bits & 4) !== 0;
  }

  set cwndLimited(on: boolean) {
    this.#bits = on ? this.#bits | 4 : this.#bits & ~4;
  }
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
 *   rtt: { srtt: 20 },
 *   now: () => 0,
 * };
 * ```
 */
export interface CongestionHost {
  /** The congestion record the algorithm updates. */
  readonly cong: CongestionState;
  /** Send sequence space: SMSS and the flight (SND.NXT − SND.UNA). */
  readonly snd: { readonly mss: number; readonly una: number; readonly nxt: number };
  /** The smoothed RTT in ms (0 before the first sample). */
  readonly rtt: { readonly srtt: number };
  /** Current time in ms. */
  now(): number;
}

/**
 * A congestion-control algorithm. Implementations keep per-connection state
 * on the connection's {@link CongestionState}, never in module globals.
 *
 * @example
 * ```ts
 * import { CongestionState } from "./cc.ts";
 * import { NEW_RENO } from "./reno.ts";
 * const host = {
 *   cong: new CongestionState(NEW_RENO),
 *   snd: { mss: 1460, una: 0, nxt: 0 },
 *   rtt: { srtt: 20 },
 *   now: () => 0,
 * };
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
  /**
   * Every ACK that acknowledged or SACKed `acked` new bytes, with the RTT
   * sample it gave (ms, or -1): before `congAvoid` (Linux `pkts_acked`;
   * HyStart++ watches the delay here).
   */
  pktsAcked?(c: CongestionHost, acked: number, rtt: number): void;
  /**
   * The cwnd to restore when a reduction proves spurious (F-RTO, D-SACK;
   * Linux `undo_cwnd`); default: the cwnd before it.
   */
  undoCwnd?(c: CongestionHost): number;
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
