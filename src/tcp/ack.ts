/**
 * Processing the ACK field (RFC 9293 §3.10.7.4 fifth; Linux `tcp_ack`):
 * RFC 5961 §5.2 acceptability, the send-window update (SND.WL1/WL2),
 * cleaning acknowledged segments off the write queue, RTT samples (RFC 7323
 * RTTM, else Karn-filtered timing, RFC 6298), the retransmission timer
 * (R6), and congestion control with RFC 5681 / RFC 6582 fast retransmit and
 * NewReno recovery. Also our SYN being acknowledged and SACK-block checks.
 *
 * @module
 */
import { TcpFlags, type TcpRepr } from "../wire/tcp.ts";
import { TimerKind } from "./config.ts";
import { confirm6 } from "./family.ts";
import { retransmitHead } from "./output.ts";
import { restoreRto, rttSample, tsEcrRtt } from "./rtt.ts";
import { seqAdd, seqAfter, seqBefore, seqDiff, seqGeq, seqLeq } from "./state.ts";
import type { Tcb } from "./tcb.ts";
import { armRtx, clearRtx } from "./timers.ts";

/**
 * What {@link tcpAck} found (Linux `FLAG_*`), as bits.
 *
 * @example
 * ```ts
 * import { AckFlag } from "./ack.ts";
 * const flag = AckFlag.DATA_ACKED | AckFlag.SND_UNA_ADVANCED;
 * (flag & AckFlag.DUP_ACK) === 0; // true
 * ```
 */
export const AckFlag = {
  /** The segment carried data. */
  DATA: 0x01,
  /** The send window changed. */
  WIN_UPDATE: 0x02,
  /** New data was acknowledged. */
  DATA_ACKED: 0x04,
  /** Acknowledged data had been retransmitted (Karn). */
  RETRANS_DATA_ACKED: 0x08,
  /** Our SYN was acknowledged. */
  SYN_ACKED: 0x10,
  /** Our FIN was acknowledged. */
  FIN_ACKED: 0x20,
  /** A duplicate ACK per RFC 5681 C8. */
  DUP_ACK: 0x40,
  /** SEG.ACK < SND.UNA but within MAX.SND.WND: ignored. */
  OLD_ACK: 0x80,
  /** SND.UNA advanced. */
  SND_UNA_ADVANCED: 0x400,
  /** Unacceptable ACK (RFC 5961 §5.2): drop and challenge. */
  INVALID: 0x8000,
} as const;

/**
 * RFC 9293 §3.10.7.4 fifth (ACK field) for synchronized states. Returns
 * {@link AckFlag} bits; `INVALID` means drop the segment and challenge.
 *
 * @example
 * ```ts
 * // const flag = tcpAck(tcb, th, payloadLength);
 * // if (flag & AckFlag.INVALID) sendChallengeAck(tcb);
 * ```
 */
export function tcpAck(sk: Tcb, th: TcpRepr, payload: number): number {
  const snd = sk.snd;
  const ack = th.ack;
  let flag = payload > 0 ? AckFlag.DATA : 0;
  // RFC 5961 §5.2 (B3): acceptable iff SND.UNA − MAX.SND.WND ≤ SEG.ACK ≤ SND.NXT
  // (SND.NXT here is the highest ever sent: it retreats after an RTO).
  if (seqAfter(ack, snd.max)) return AckFlag.INVALID;
  if (seqBefore(ack, seqAdd(snd.una, -snd.maxWnd))) return AckFlag.INVALID;
  if (seqBefore(ack, snd.una)) return flag | AckFlag.OLD_ACK;

  flag |= updateWindow(sk, th);
  if (seqAfter(ack, snd.una)) {
    const acked = seqDiff(ack, snd.una);
    flag |= cleanRtxQueue(sk, th);
    if (sk.cong.inRecovery) recoveryAck(sk, ack, acked);
    else {
      sk.cong.dupAcks = 0;
      if (!(flag & AckFlag.SYN_ACKED)) sk.cong.algorithm.congAvoid(sk, acked, snd.superAcked);
    }
  } else if (
    // RFC 5681 C8 duplicate ACK: no data, no SYN/FIN, same ACK and window,
    // data outstanding.
    payload === 0 && (th.flags & (TcpFlags.SYN | TcpFlags.FIN)) === 0 &&
    !(flag & AckFlag.WIN_UPDATE) && th.window * (1 << snd.wscale) === snd.wnd &&
    snd.max !== snd.una
  ) {
    flag |= AckFlag.DUP_ACK;
    duplicateAck(sk, ack);
  }
  return flag;
}

/**
 * The send-window update (RFC 9293 §3.10.7.4): when SND.WL1 < SEG.SEQ, or
 * SND.WL1 = SEG.SEQ and SND.WL2 ≤ SEG.ACK. MUST-1: the window is unsigned
 * and, scaled, up to 2^30. Returns `WIN_UPDATE` when it changed.
 */
function updateWindow(sk: Tcb, th: TcpRepr): number {
  const snd = sk.snd;
  const seq = th.seq;
  const ack = th.ack;
  if (!(seqBefore(snd.wl1, seq) || (snd.wl1 === seq && seqLeq(snd.wl2, ack)))) return 0;
  const nwin = th.window * (1 << snd.wscale);
  let flag = 0;
  if (nwin !== snd.wnd) {
    flag = AckFlag.WIN_UPDATE;
    snd.wnd = nwin;
    if (nwin > snd.maxWnd) snd.maxWnd = nwin;
  }
  snd.wl1 = seq;
  snd.wl2 = ack;
  return flag;
}

/**
 * New data acknowledged (`tcp_clean_rtx_queue`): free what SEG.ACK covers,
 * trim a partly acknowledged head, advance SND.UNA, take an RTT sample,
 * end the backoff and restart or stop the retransmission timer (R6).
 */
function cleanRtxQueue(sk: Tcb, th: TcpRepr): number {
  const snd = sk.snd;
  const ack = th.ack;
  let flag: number = AckFlag.SND_UNA_ADVANCED | AckFlag.DATA_ACKED;
  let newestWhen = -1;
  const q = snd.queue;
  // When the oldest segment now acknowledged was (last) sent: an echoed
  // TSval older than that cannot be one of ours for this data.
  const oldestWhen = q.head !== null ? q.head.when : snd.retransStamp;
  snd.superAcked = 0;
  for (let skb = q.head; skb !== null; skb = q.head) {
    if (seqLeq(skb.endSeq, ack)) {
      if (skb.len > snd.mss) snd.superAcked += skb.len;
      if (skb === snd.head) snd.head = skb.next;
      if (skb.txCount > 1) flag |= AckFlag.RETRANS_DATA_ACKED;
      else newestWhen = skb.when;
      if (skb.tcpFlags & TcpFlags.SYN) flag |= AckFlag.SYN_ACKED;
      if (skb.tcpFlags & TcpFlags.FIN) flag |= AckFlag.FIN_ACKED;
      q.unlink(skb);
      skb.free();
      continue;
    }
    if (seqAfter(ack, skb.seq)) {
      // Partly acknowledged head (`tcp_trim_head`): drop the acked bytes.
      const n = seqDiff(ack, skb.seq);
      skb.data += Math.min(n, skb.len);
      skb.seq = ack;
    }
    break;
  }
  snd.una = ack;
  if (seqAfter(ack, snd.nxt)) snd.nxt = ack;
  if (snd.up >= 0 && seqGeq(ack, snd.up)) snd.up = -1; // urgent data delivered
  ackRtt(sk, th, flag, oldestWhen, newestWhen);
  snd.retransmits = 0;
  confirmNeighbour(sk);
  if (sk.rtt.backoff !== 0) {
    sk.rtt.backoff = 0;
    restoreRto(sk);
  }
  sk.timers.probesOut = 0;
  // R6: stop the timer when all is acknowledged, else restart it.
  if (snd.una === snd.max) {
    if (sk.timers.rtxKind === TimerKind.RETRANS) clearRtx(sk);
  } else armRtx(sk, TimerKind.RETRANS, sk.rtt.rto);
  return flag;
}

/** How often forward progress re-confirms the next hop (ms): far below its 30 s reachable time. */
const CONFIRM_INTERVAL_MS = 1000;

/**
 * Forward progress proves the next hop delivers (Linux `sk_dst_confirm` on
 * `FLAG_FORWARD_PROGRESS`): keep its neighbour entry REACHABLE without
 * probing, and reject an unverified MAC change claimed for it.
 */
function confirmNeighbour(sk: Tcb): void {
  const now = sk.now();
  if (now - sk.snd.confirmedAt < CONFIRM_INTERVAL_MS) return;
  if (sk.addr6 !== null) {
    // IPv6: neighbour discovery's upper-layer confirmation (RFC 4861 §7.3.1).
    sk.snd.confirmedAt = now;
    confirm6(sk);
    return;
  }
  const rt = sk.snd.route;
  if (rt === null) return;
  sk.snd.confirmedAt = now;
  sk.ctx.ipv4.neighbours.confirm(rt.iface, rt.nextHop);
}

/** An RTT sample from this ACK (RFC 7323 RTTM, else RFC 6298 R5 with Karn). */
function ackRtt(sk: Tcb, th: TcpRepr, flag: number, oldestWhen: number, newestWhen: number): void {
  const rtt = sk.rtt;
  const o = th.options;
  if (sk.tsOk && o.tsVal !== null && o.tsEcr !== 0) {
    const r = tsEcrRtt(sk, o.tsEcr, oldestWhen);
    if (r >= 0) rttSample(sk, r);
  } else if (rtt.seq >= 0 && seqGeq(th.ack, rtt.seq)) {
    if (!(flag & AckFlag.RETRANS_DATA_ACKED)) rttSample(sk, sk.now() - rtt.time);
    rtt.seq = -1;
  } else if ((flag & AckFlag.SYN_ACKED) && newestWhen >= 0 && rtt.srtt === 0) {
    rttSample(sk, sk.now() - newestWhen);
  }
}

/** An ACK that advances SND.UNA during fast recovery (RFC 6582 §3.2 steps 3 and 5). */
function recoveryAck(sk: Tcb, ack: number, acked: number): void {
  const cong = sk.cong;
  const mss = sk.snd.mss;
  if (seqGeq(ack, cong.recover)) {
    // Step 3, full ACK: deflate and leave recovery.
    cong.cwnd = Math.min(cong.ssthresh, Math.max(sk.snd.flight, mss) + mss);
    cong.inRecovery = false;
    cong.dupAcks = 0;
  } else {
    // Partial ACK: retransmit the next hole, deflate by what was acked,
    // add back one SMSS if at least that much was acked.
    retransmitHead(sk);
    cong.cwnd = Math.max(cong.cwnd - acked + (acked >= mss ? mss : 0), mss);
  }
}

/** A duplicate ACK (RFC 5681 C8): fast retransmit on the third (RFC 6582 §3.2 step 2), inflate after. */
function duplicateAck(sk: Tcb, ack: number): void {
  const cong = sk.cong;
  const mss = sk.snd.mss;
  cong.dupAcks++;
  if (cong.dupAcks === 3 && !cong.inRecovery) {
    // RFC 6582 §3.2 step 2: only when the ACK covers more than "recover".
    if (seqAfter(ack, cong.recover) || cong.recover === sk.snd.iss) {
      cong.ssthresh = cong.algorithm.ssthresh(sk);
      cong.recover = sk.snd.max;
      cong.inRecovery = true;
      sk.ctx.stats.fastRetrans++;
      retransmitHead(sk);
      cong.cwnd = cong.ssthresh + 3 * mss;
    }
  } else if (cong.inRecovery && cong.dupAcks > 3) {
    cong.cwnd += mss; // step 4: inflate per extra duplicate
  }
}

/**
 * Our SYN was acknowledged (SYN-SENT → ESTABLISHED, or SYN-RECEIVED
 * completing): drop it from the write queue, take an RTT sample, end the
 * backoff, stop the retransmission timer.
 *
 * @example
 * ```ts
 * // tcpAckSyn(tcb, th); tcb.snd.una === th.ack
 * ```
 */
export function tcpAckSyn(sk: Tcb, th: TcpRepr): void {
  const snd = sk.snd;
  const syn = snd.queue.head;
  if (syn !== null && (syn.tcpFlags & TcpFlags.SYN)) {
    snd.queue.unlink(syn);
    const o = th.options;
    if (sk.tsOk && o.tsEcr !== 0) rttSample(sk, tsEcrRtt(sk, o.tsEcr, snd.retransStamp));
    else if (syn.txCount === 1) rttSample(sk, sk.now() - syn.when);
    syn.free();
  }
  snd.una = th.ack;
  if (seqAfter(snd.una, snd.nxt)) snd.nxt = snd.una;
  snd.retransmits = 0;
  sk.rtt.backoff = 0;
  restoreRto(sk);
  clearRtx(sk);
}

/**
 * Validate received SACK blocks (RFC 2018; "SACK Panic", CVE-2019-11477): each
 * must have left < right and lie within SND.UNA…SND.NXT (a D-SACK block may
 * sit below SND.UNA). Loss recovery does not use them yet; invalid blocks
 * and blocks from a peer that was not offered SACK are counted.
 *
 * @example
 * ```ts
 * // if (th.options.sackBlocks !== null) checkSackBlocks(tcb, th.options.sackBlocks);
 * ```
 */
export function checkSackBlocks(sk: Tcb, blocks: readonly number[]): void {
  const drops = sk.ctx.drops;
  if (!sk.sackOk) {
    drops.count("tcp.sack_not_permitted");
    return;
  }
  const snd = sk.snd;
  for (let i = 0; i + 1 < blocks.length; i += 2) {
    const l = blocks[i]!;
    const r = blocks[i + 1]!;
    const ok = seqBefore(l, r) && seqLeq(r, snd.max) &&
      seqGeq(l, seqAdd(snd.una, -snd.maxWnd));
    if (!ok) drops.count("tcp.sack_invalid_block");
  }
}
