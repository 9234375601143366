/**
 * The last three steps of SEGMENT ARRIVES for an acceptable segment (RFC
 * 9293 §3.10.7.4 sixth, seventh, eighth; Linux `tcp_urg`,
 * `tcp_data_queue`, `tcp_fin`): the urgent pointer, the segment text, and
 * the FIN with the state change it causes.
 *
 * @module
 */
import type { SkBuff } from "../skb/skbuff.ts";
import { TcpFlags, type TcpRepr } from "../wire/tcp.ts";
import { Shutdown } from "./config.ts";
import { enterTimeWait, tcpDone } from "./lifecycle.ts";
import { dataReceived, scheduleAck, sendAck, sendActiveReset } from "./output.ts";
import { DataResult, queueData } from "./rcv_queue.ts";
import { seqAdd, seqAfter, TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";
import { clearKeep } from "./timers.ts";

/**
 * Sixth: URG (MUST-30…33, MUST-66). RCV.UP ← max(RCV.UP, SEG.SEQ + SEG.UP)
 * (RFC 6093: the byte after the urgent data); the user is told (Poll.PRI,
 * `urgentMark()`). The bytes stay in the stream (SO_OOBINLINE, DEV-11).
 *
 * @example
 * ```ts
 * // rcvUrg(tcb, th);
 * ```
 */
export function rcvUrg(sk: Tcb, th: TcpRepr): void {
  if (!(th.flags & TcpFlags.URG) || th.urgentPointer === 0) return;
  const s = sk.state;
  if (s !== TcpState.ESTABLISHED && s !== TcpState.FIN_WAIT_1 && s !== TcpState.FIN_WAIT_2) return;
  const up = seqAdd(th.seq, th.urgentPointer);
  if (sk.rcv.up < 0 || seqAfter(up, sk.rcv.up)) {
    sk.rcv.up = up;
    sk.wake();
  }
}

/**
 * Seventh and eighth: queue the text (`tcp_data_queue`) and take the FIN,
 * scheduling the ACK they call for. `noText` is the zero-window allowance
 * (text dropped, ACK sent). Consumes `skb`. Returns true when the reader
 * should be woken.
 *
 * @example
 * ```ts
 * // const wake = rcvData(tcb, skb, verdict === Incoming.ACCEPT_NO_TEXT);
 * ```
 */
export function rcvData(sk: Tcb, skb: SkBuff, noText: boolean): boolean {
  const ctx = sk.ctx;
  if (noText) {
    ctx.drops.count("tcp.zero_window_text");
    sendAck(sk);
    skb.free();
    return false;
  }
  if (skb.endSeq === skb.seq) {
    skb.free();
    return false;
  }
  const s = sk.state;
  if (s !== TcpState.ESTABLISHED && s !== TcpState.FIN_WAIT_1 && s !== TcpState.FIN_WAIT_2) {
    // CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent FIN; ignore text
    // but answer a retransmission so the peer can stop.
    sendAck(sk);
    skb.free();
    return false;
  }
  const len = skb.len;
  if (sk.orphan && len > 0 && seqAfter(skb.endSeq, sk.rcv.nxt)) {
    // Data for a socket the user has closed: nobody will read it (Linux
    // tcp_rcv_state_process, RFC 2525 §2.17) → reset.
    ctx.stats.abortOnData++;
    skb.free();
    sendActiveReset(sk);
    tcpDone(sk);
    return false;
  }
  if (len > sk.rcv.mss) sk.rcv.mss = Math.min(len, sk.rcv.advmss);
  const r = queueData(sk, skb);
  sk.rcv.unacked += len;
  if (len > 0 && (r & DataResult.QUEUED) !== 0) dataReceived(sk);
  let wake = (r & DataResult.QUEUED) !== 0;
  if (r & DataResult.FIN) {
    rcvFin(sk);
    wake = true;
  }
  if (sk.state !== TcpState.CLOSED) {
    // A sender without SACK counts duplicate ACKs (RFC 5681 C6, fast
    // retransmit on the third): each out-of-order segment gets its own,
    // never merged with others of the same drain.
    if ((r & DataResult.OFO) !== 0 && !sk.sackOk) sendAck(sk);
    else scheduleAck(sk, (r & (DataResult.ACK_NOW | DataResult.FIN)) !== 0);
  }
  return wake;
}

/** Eighth: the FIN (in order, RCV.NXT already past it; Linux `tcp_fin`). */
function rcvFin(sk: Tcb): void {
  sk.shutdownMask |= Shutdown.RCV;
  switch (sk.state) {
    case TcpState.SYN_RECEIVED:
    case TcpState.ESTABLISHED:
      sk.setState(TcpState.CLOSE_WAIT);
      break;
    case TcpState.FIN_WAIT_1:
      // Our FIN not yet acknowledged (else we would be in FIN-WAIT-2): simultaneous close.
      sk.setState(TcpState.CLOSING);
      break;
    case TcpState.FIN_WAIT_2:
      clearKeep(sk);
      enterTimeWait(sk);
      break;
  }
}
