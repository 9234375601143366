/**
 * Explicit Congestion Notification for TCP (RFC 3168 §6.1; Linux
 * `tcp_ecn_*`): negotiation on the SYNs, the receiver echoing a CE mark with
 * ECE until the sender's CWR, and the sender's response — one cwnd
 * reduction per window of data (CWR state, paced by PRR) and CWR on its
 * next new segment. Marking outgoing data ECT(0) and setting ECE / CWR is
 * done where segments are built (`output.ts`).
 *
 * Whether a connection asks for ECN: `TCP_ECN` on the socket, else the
 * stack's `TcpConfig.ecn` (0 off, 1 ask and accept, 2 accept only — Linux's
 * default).
 *
 * @module
 */
import { TcpFlags } from "../wire/tcp.ts";
import { CaState } from "./congestion/cc.ts";
import { ecnMode, incrQuickAck, queueAck } from "./output.ts";
import { enterCwr } from "./recovery.ts";
import { type Tcb, TcbEcn } from "./tcb.ts";

/** The ECN codepoints of the IP TOS / traffic class byte (RFC 3168 §5). */
export const Ecn = {
  /** Not ECN-capable transport. */
  NOT_ECT: 0,
  /** ECT(1). */
  ECT1: 1,
  /** ECT(0): what TCP marks its data with. */
  ECT0: 2,
  /** Congestion experienced. */
  CE: 3,
} as const;

/**
 * A SYN arrived at a listener (RFC 3168 §6.1.1): an ECN-setup SYN (ECE and
 * CWR) is accepted when ECN is allowed at all; the SYN-ACK then carries ECE
 * alone. Sets `tcb.ecnOk`; returns the flags for the SYN-ACK.
 *
 * @example
 * ```ts
 * // synAckFlags |= ecnAcceptSyn(child, th.flags);
 * ```
 */
export function ecnAcceptSyn(sk: Tcb, flags: number): number {
  const setup = (flags & (TcpFlags.ECE | TcpFlags.CWR)) === (TcpFlags.ECE | TcpFlags.CWR);
  sk.ecnOk = setup && ecnMode(sk) !== 0;
  return sk.ecnOk ? TcpFlags.ECE : 0;
}

/**
 * A SYN-ACK answered our SYN: ECN is on when we asked and it carries ECE
 * without CWR (an "ECN-setup SYN-ACK", RFC 3168 §6.1.1).
 *
 * @example
 * ```ts
 * // ecnSynAck(tcb, th.flags, ourSynFlags);
 * ```
 */
export function ecnSynAck(sk: Tcb, flags: number, asked: boolean): void {
  sk.ecnOk = asked && (flags & (TcpFlags.ECE | TcpFlags.CWR)) === TcpFlags.ECE;
}

/**
 * The receiver's side for an acceptable segment (RFC 3168 §6.1.3): CWR from
 * the sender ends the echo; a CE mark (re)starts it — ECE on every ACK until
 * the next CWR — and asks for quick ACKs (the sender's cwnd may be small,
 * Linux `tcp_ecn_check_ce`). `ipEcn` is the IP header's ECN field.
 *
 * @example
 * ```ts
 * // if (tcb.ecnOk) ecnRcv(tcb, th.flags, ip.tos & 3, payloadLength);
 * ```
 */
export function ecnRcv(sk: Tcb, flags: number, ipEcn: number, len: number): void {
  if (flags & TcpFlags.CWR) {
    sk.ecn &= ~TcbEcn.CE;
    // The sender just reduced its window: ACK this data at once.
    if (len > 0) queueAck(sk);
  }
  if (ipEcn === Ecn.CE) {
    sk.ctx.stats.ecnCeRecv++;
    if ((sk.ecn & TcbEcn.CE) === 0) {
      sk.ecn |= TcbEcn.CE;
      incrQuickAck(sk, 2);
    }
  }
}

/**
 * The sender got ECE on an ACK (RFC 3168 §6.1.2): reduce cwnd and ssthresh
 * once per window of data, as for a loss but without retransmitting (CWR
 * state; not again while a reduction or recovery is under way), and set CWR
 * on the next new data segment.
 *
 * @example
 * ```ts
 * // if (tcb.ecnOk && (th.flags & TcpFlags.ECE)) ecnEcho(tcb);
 * ```
 */
export function ecnEcho(sk: Tcb): void {
  const cong = sk.cong;
  if (cong.state >= CaState.CWR || cong.inRecovery) return;
  sk.ctx.stats.ecnReductions++;
  enterCwr(sk);
  sk.ecn |= TcbEcn.CWR;
}
