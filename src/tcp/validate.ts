/**
 * The checks a segment passes before its ACK is looked at, in the
 * synchronized states and SYN-RECEIVED (RFC 9293 §3.10.7.4 first, second
 * and fourth; Linux `tcp_validate_incoming`): RFC 7323 T2 and PAWS, the
 * sequence-number acceptability test with the zero-window allowance, RST
 * handling (RFC 5961 §3), SYN in a synchronized state (RFC 5961 §4), and the
 * replies each of them owes.
 *
 * @module
 */
import type { SkBuff } from "../skb/skbuff.ts";
import { TcpFlags, type TcpRepr } from "../wire/tcp.ts";
import type { TcpOptions } from "../wire/tcp_options.ts";
import { tcpReset, tcpResetChild } from "./lifecycle.ts";
import { sendChallengeAck, sendOowAck } from "./output.ts";
import { dsackSet } from "./sack.ts";
import { seqAdd, seqAfter, seqBefore, seqInWindow, TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";
import { receiveWindow } from "./window.ts";

/** RFC 7323 §5.5: TS.Recent idle for more than 24 days is invalid. */
const PAWS_IDLE_LIMIT = 24 * 24 * 3600 * 1000;

/**
 * What {@link validateIncoming} decided.
 *
 * @example
 * ```ts
 * import { Incoming } from "./validate.ts";
 * Incoming.DROP; // 0: the caller frees the segment and stops
 * ```
 */
export const Incoming = {
  /** Stop here: the segment was answered (or not) and must be freed. */
  DROP: 0,
  /** Acceptable: go on to the ACK field. */
  ACCEPT: 1,
  /**
   * Acceptable for its ACK, URG and RST only: it starts exactly at RCV.NXT
   * while the window is zero, so its text (and FIN) must be dropped
   * (§3.10.7.4 "special allowance", MUST-66).
   */
  ACCEPT_NO_TEXT: 2,
} as const;
/** One of {@link Incoming}. */
export type Incoming = typeof Incoming[keyof typeof Incoming];

/**
 * RFC 9293 §3.10.7.4 acceptability test (the four cases).
 *
 * @example
 * ```ts
 * // acceptable(tcb, th.seq, segLen); // false → out of window
 * ```
 */
export function acceptable(sk: Tcb, seq: number, segLen: number): boolean {
  const wnd = receiveWindow(sk);
  const nxt = sk.rcv.nxt;
  if (segLen === 0) {
    return wnd === 0 ? seq === nxt : seqInWindow(seq, nxt, seqAdd(nxt, wnd));
  }
  if (wnd === 0) return false;
  const end = seqAdd(nxt, wnd);
  return seqInWindow(seq, nxt, end) || seqInWindow(seqAdd(seq, segLen - 1), nxt, end);
}

/**
 * PAWS (RFC 7323 §5.3, T5): true when the segment's TSval is older than TS.Recent.
 *
 * @example
 * ```ts
 * // if (tcb.tsOk && pawsReject(tcb, th.options)) dropAndAck();
 * ```
 */
export function pawsReject(sk: Tcb, o: TcpOptions): boolean {
  if (o.tsVal === null || sk.tsRecent < 0) return false;
  if (((o.tsVal - sk.tsRecent) | 0) >= 0) return false;
  return sk.now() - sk.tsRecentStamp <= PAWS_IDLE_LIMIT;
}

/**
 * A segment [seq, end) that starts below RCV.NXT and is answered with a
 * duplicate ACK: report the part we already had as a D-SACK block (RFC 2883
 * §4; Linux `tcp_send_dupack`).
 */
function dsackOld(sk: Tcb, seq: number, end: number): void {
  const rcv = sk.rcv;
  if (!sk.sackOk || !sk.ctx.config.dsack || end === seq || !seqBefore(seq, rcv.nxt)) return;
  dsackSet(rcv, seq, seqAfter(end, rcv.nxt) ? rcv.nxt : end);
}

/**
 * RFC 9293 §3.10.7.4 first (sequence number, with RFC 7323 T2/T5 ahead of
 * it), second (RST) and fourth (SYN) for a segment whose `skb.endSeq` is
 * set. Sends whatever ACK, challenge ACK or RST processing these steps call
 * for; never frees `skb`.
 *
 * @example
 * ```ts
 * // const v = validateIncoming(tcb, skb, th);
 * // if (v === Incoming.DROP) { skb.free(); return; }
 * ```
 */
export function validateIncoming(sk: Tcb, skb: SkBuff, th: TcpRepr): Incoming {
  const ctx = sk.ctx;
  const flags = th.flags;
  const seq = th.seq;
  const segLen = (skb.endSeq - seq) | 0;
  if (sk.tsOk && !(flags & TcpFlags.RST)) {
    const o = th.options;
    // T2 (RFC 7323 §3.2): once negotiated, a non-RST segment without TSopt is dropped (DEV-8).
    if (o.tsVal === null) {
      ctx.drops.count("tcp.missing_timestamp");
      return Incoming.DROP;
    }
    // T5 PAWS: ACK and drop an old duplicate (a RST is exempt).
    if (pawsReject(sk, o)) {
      ctx.stats.pawsRejected++;
      dsackOld(sk, seq, skb.endSeq);
      // KI-2: the dupACK is rate-limited (Linux tcp_oow_rate_limited).
      sendOowAck(sk, segLen, (flags & TcpFlags.SYN) !== 0);
      return Incoming.DROP;
    }
  }
  // First: sequence number. With a zero receive window a segment starting
  // exactly at RCV.NXT still has its ACK, URG and RST processed; only its
  // text (and FIN) is dropped (§3.10.7.4 "special allowance", MUST-66; Linux
  // tcp_sequence accepts it and tcp_data_queue drops the data with an ACK).
  let verdict: Incoming = Incoming.ACCEPT;
  if (!acceptable(sk, seq, segLen)) {
    if (
      seq === sk.rcv.nxt && segLen > 0 && !(flags & TcpFlags.SYN) && receiveWindow(sk) === 0
    ) {
      verdict = Incoming.ACCEPT_NO_TEXT;
    } else {
      if (flags & TcpFlags.SYN) {
        // KI-6, RFC 5961 §4.2 "irrespective of the sequence number": a SYN
        // gets a challenge ACK under the §7 per-connection limit (Linux
        // tcp_validate_incoming → syn_challenge), not a plain ACK.
        sendChallengeAck(sk);
      } else if (!(flags & TcpFlags.RST)) {
        // KI-2: rate-limited dupACK (Linux tcp_oow_rate_limited); a
        // retransmission of data we have is reported as a D-SACK block
        // (RFC 2883 §4, Linux tcp_send_dupack).
        dsackOld(sk, seq, skb.endSeq);
        sendOowAck(sk, segLen, false);
      }
      ctx.drops.count("tcp.out_of_window");
      return Incoming.DROP;
    }
  }
  // Something acceptable arrived: the peer is alive (keepalive / persist).
  sk.timers.probesOut = 0;
  // Second: RST (RFC 5961 §3.2, B1): only exactly at RCV.NXT; else challenge.
  if (flags & TcpFlags.RST) {
    if (seq !== sk.rcv.nxt) sendChallengeAck(sk);
    else if (sk.state === TcpState.SYN_RECEIVED && sk.passive) {
      // MUST-11 / B5: a passively opened connection returns to LISTEN — the
      // listener is untouched; this SYN-queue entry goes away.
      tcpResetChild(sk);
    } else tcpReset(sk);
    return Incoming.DROP;
  }
  // Fourth: SYN in a synchronized state (RFC 5961 §4.2, B2) → challenge ACK.
  if (flags & TcpFlags.SYN) {
    sendChallengeAck(sk);
    return Incoming.DROP;
  }
  return verdict;
}
