/**
 * Processing the ACK field (RFC 9293 §3.10.7.4 fifth; Linux `tcp_ack`):
 * RFC 5961 §5.2 acceptability, the send-window update (SND.WL1/WL2), the
 * SACK scoreboard (`scoreboard.ts`), cleaning acknowledged segments off the
 * write queue, RTT samples (RFC 7323 RTTM, else Karn-filtered timing, RFC
 * 6298), then loss recovery — RACK-TLP, RFC 6675 + PRR and F-RTO in
 * `recovery.ts` for SACK connections, RFC 5681 / RFC 6582 fast retransmit
 * and NewReno here for the others — congestion control, and the
 * retransmission / probe timer (R6). Also our SYN being acknowledged.
 *
 * @module
 */
import { SACKED } from "../skb/skbuff.ts";
import { TcpFlags, type TcpRepr } from "../wire/tcp.ts";
import { CaState, lossState } from "./congestion/cc.ts";
import { TimerKind } from "./config.ts";
import { isCwndLimited, retransmitHead } from "./output.ts";
import { ecnEcho } from "./ecn.ts";
import { confirm6 } from "./family.ts";
import { mtupProbeAcked } from "./pmtu.ts";
import { rackDelivered } from "./rack.ts";
import { sackRecoveryAck } from "./recovery.ts";
import { restoreRto, rttSample, tsEcrRtt } from "./rtt.ts";
import { clearSacked, markLost, SackFlag, sackTag, trimAccount, unaccount } from "./scoreboard.ts";
import { seqAdd, seqAfter, seqBefore, seqDiff, seqGeq, seqLeq } from "./state.ts";
import { SendRate, type Tcb } from "./tcb.ts";
import { clearRtx } from "./timers.ts";
import { setXmitTimer } from "./xmit_timer.ts";

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
  /** New data was SACKed (`SackFlag.DATA_SACKED`). */
  DATA_SACKED: SackFlag.DATA_SACKED,
  /** The ACK carried a D-SACK block (`SackFlag.DSACK`). */
  DSACK: SackFlag.DSACK,
  /** SND.UNA advanced. */
  SND_UNA_ADVANCED: 0x400,
  /** Data never retransmitted was (S)ACKed (`SackFlag.ORIG_SACK_ACKED`). */
  ORIG_SACK_ACKED: SackFlag.ORIG_SACK_ACKED,
  /** F-RTO step 2b: send new data now, not retransmissions. */
  FRTO_NEW_DATA: 0x4000,
  /** Unacceptable ACK (RFC 5961 §5.2): drop and challenge. */
  INVALID: 0x8000,
} as const;

/**
 * RFC 9293 §3.10.7.4 fifth (ACK field) for synchronized states. Returns
 * {@link AckFlag} bits; `INVALID` means drop the segment and challenge.
 *
 * Order (Linux `tcp_ack`): acceptability, the window, the SACK scoreboard,
 * the cumulative ACK (freeing the write queue, RTT, RACK), then loss
 * recovery and congestion control — RACK-TLP, RFC 6675 with PRR and F-RTO
 * for SACK connections and in the loss state (`recovery.ts`), RFC 6582
 * NewReno otherwise — and finally the retransmission / probe timer.
 *
 * @example
 * ```ts
 * // const flag = tcpAck(tcb, th, payloadLength);
 * // if (flag & AckFlag.INVALID) sendChallengeAck(tcb);
 * ```
 */
export function tcpAck(sk: Tcb, th: TcpRepr, payload: number): number {
  const snd = sk.snd;
  const cong = sk.cong;
  const ack = th.ack;
  const o = th.options;
  let flag = payload > 0 ? AckFlag.DATA : 0;
  // RFC 5961 §5.2 (B3): acceptable iff SND.UNA − MAX.SND.WND ≤ SEG.ACK ≤ SND.NXT
  // (SND.NXT here is the highest ever sent).
  if (seqAfter(ack, snd.max)) return AckFlag.INVALID;
  if (seqBefore(ack, seqAdd(snd.una, -snd.maxWnd))) return AckFlag.INVALID;
  const blocks = o.sackBlocks;
  if (blocks !== null && !sk.sackOk) sk.ctx.drops.count("tcp.sack_not_permitted");
  const sack = blocks !== null && sk.sackOk;
  if (seqBefore(ack, snd.una)) {
    // An old (reordered) ACK: only its SACK information is news.
    if (sack) sackTag(sk, blocks, ack);
    return flag | AckFlag.OLD_ACK;
  }

  flag |= updateWindow(sk, th);
  const priorSacked = snd.sackedBytes;
  if (sack) flag |= sackTag(sk, blocks, ack);
  let acked = 0;
  sk.rtt.lastSample = -1;
  if (seqAfter(ack, snd.una)) {
    acked = seqDiff(ack, snd.una);
    flag |= cleanRtxQueue(sk, th);
    // The new head SACKed yet not acknowledged: the peer reneged (RFC 2018
    // §8; Linux tcp_check_sack_reneging). Forget its SACKs.
    const head = snd.queue.head;
    if (head !== null && head !== snd.head && (head.sacked & SACKED.SACKED_ACKED) !== 0) {
      sk.ctx.stats.sackReneging++;
      clearSacked(sk);
    }
  } else if (
    // RFC 5681 C8 duplicate ACK: no data, no SYN/FIN, same ACK and window,
    // data outstanding.
    payload === 0 && (th.flags & (TcpFlags.SYN | TcpFlags.FIN)) === 0 &&
    !(flag & AckFlag.WIN_UPDATE) && th.window * (1 << snd.wscale) === snd.wnd &&
    snd.max !== snd.una
  ) {
    flag |= AckFlag.DUP_ACK;
  }
  // RFC 3168 §6.1.2: the receiver saw congestion: reduce once per window.
  if (sk.ecnOk && (th.flags & (TcpFlags.ECE | TcpFlags.SYN)) === TcpFlags.ECE) ecnEcho(sk);
  // RFC 6937 DeliveredData: what SND.UNA advanced plus what SACKed grew by.
  const delivered = acked + (snd.sackedBytes - priorSacked);
  snd.lastAckRcv = Math.ceil(sk.now()); // a whole ms (Tcb.stampNow), > 0 once set
  snd.bytesAcked += acked;
  if (delivered > 0) rateSample(sk, delivered);
  const alg = cong.algorithm;
  if (sk.sackOk || cong.state === CaState.LOSS) {
    if (sackRecoveryAck(sk, flag, delivered)) flag |= AckFlag.FRTO_NEW_DATA;
    // Linux tcp_may_raise_cwnd: grow only outside a reduction, on an ACK
    // that advanced SND.UNA, for a window that used cwnd.
    if (
      (flag & AckFlag.DATA_ACKED) !== 0 && !(flag & AckFlag.SYN_ACKED) &&
      cong.state !== CaState.RECOVERY && cong.state !== CaState.CWR
    ) {
      alg.pktsAcked?.(sk, delivered, sk.rtt.lastSample);
      if (isCwndLimited(sk)) alg.congAvoid(sk, delivered, snd.superAcked);
    }
  } else {
    if (acked > 0) {
      if (cong.inRecovery) recoveryAck(sk, ack, acked);
      else {
        cong.dupAcks = 0;
        if (!(flag & AckFlag.SYN_ACKED) && cong.state !== CaState.CWR) {
          alg.pktsAcked?.(sk, acked, sk.rtt.lastSample);
          if (isCwndLimited(sk)) alg.congAvoid(sk, acked, snd.superAcked);
        }
      }
    } else if (flag & AckFlag.DUP_ACK) duplicateAck(sk, ack);
    // An ECN reduction (CWR) without SACK: end it, or pace it with PRR.
    if (cong.state === CaState.CWR) sackRecoveryAck(sk, flag, acked);
  }
  if (flag & (AckFlag.SND_UNA_ADVANCED | AckFlag.DATA_SACKED)) setXmitTimer(sk);
  return flag;
}

/**
 * Delivery-rate sampling for TCP_INFO: bytes delivered over intervals of one
 * to four SRTTs, idle stretches skipped (a coarse stand-in for Linux's
 * per-segment rate samples, `tcp_rate.c`).
 */
function rateSample(sk: Tcb, delivered: number): void {
  const snd = sk.snd;
  snd.delivered += delivered;
  const r = snd.rate ??= new SendRate();
  const now = sk.now();
  if (r.rateStamp === 0) {
    r.rateStamp = now;
    r.rateDelivered = snd.delivered - delivered;
    return;
  }
  const interval = now - r.rateStamp;
  const srtt = Math.max(1, sk.rtt.srtt);
  if (interval < srtt) return;
  if (interval > 4 * srtt) {
    // An idle (or stalled) stretch: start a new interval instead of
    // averaging the silence in.
    r.rateStamp = now;
    r.rateDelivered = snd.delivered - delivered;
    return;
  }
  r.deliveryRate = Math.round((snd.delivered - r.rateDelivered) * 1000 / interval);
  r.rateAppLimited = !sk.cong.cwndLimited;
  r.rateStamp = now;
  r.rateDelivered = snd.delivered;
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
 * trim a partly acknowledged head, advance SND.UNA, feed RACK with what was
 * delivered, take an RTT sample and end the backoff. The timer is re-armed
 * by the caller (R6 or a loss probe).
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
      if ((skb.sacked & SACKED.SACKED_ACKED) === 0 && skb.txCount > 0) {
        // Delivered now (not SACKed before): RACK learns from it (RFC 8985 §6.2).
        rackDelivered(sk, skb);
        if ((skb.sacked & SACKED.EVER_RETRANS) === 0) flag |= AckFlag.ORIG_SACK_ACKED;
      }
      unaccount(sk, skb);
      q.unlink(skb);
      skb.free();
      continue;
    }
    if (seqAfter(ack, skb.seq)) {
      // Partly acknowledged head (`tcp_trim_head`): drop the acked bytes.
      const n = Math.min(seqDiff(ack, skb.seq), skb.len);
      trimAccount(sk, skb, n);
      skb.data += n;
      skb.seq = ack;
    }
    break;
  }
  snd.una = ack;
  if (seqAfter(ack, snd.nxt)) snd.nxt = ack;
  // RFC 4821 §7.5: the probe arrived: that MTU works.
  const m = snd.mtu;
  if (m !== null && m.mtupProbe !== 0 && seqGeq(ack, m.mtupProbeEnd)) mtupProbeAcked(sk);
  const sb = snd.sb;
  if (sb !== null && seqBefore(sb.highSack, ack)) sb.highSack = ack;
  if (seqBefore(sk.cong.rackFack, ack)) sk.cong.rackFack = ack;
  if (snd.up >= 0 && seqGeq(ack, snd.up)) snd.up = -1; // urgent data delivered
  ackRtt(sk, th, flag, oldestWhen, newestWhen);
  snd.retransmits = 0;
  confirmNeighbour(sk);
  if (sk.rtt.backoff !== 0) {
    sk.rtt.backoff = 0;
    restoreRto(sk);
  }
  sk.timers.probesOut = 0;
  // R6: nothing outstanding → the timer stops (else the caller re-arms it).
  if (snd.una === snd.max && sk.timers.rtxKind !== TimerKind.PROBE) clearRtx(sk);
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

/**
 * An ACK that advances SND.UNA during NewReno fast recovery (RFC 6582 §3.2
 * steps 3 and 5; connections without SACK).
 */
function recoveryAck(sk: Tcb, ack: number, acked: number): void {
  const cong = sk.cong;
  const mss = sk.snd.mss;
  if (seqGeq(ack, cong.recover)) {
    // Step 3, full ACK: deflate and leave recovery.
    cong.cwnd = Math.min(cong.ssthresh, Math.max(sk.snd.flight, mss) + mss);
    cong.inRecovery = false;
    cong.state = CaState.OPEN;
    cong.dupAcks = 0;
  } else {
    // Partial ACK: retransmit the next hole, deflate by what was acked,
    // add back one SMSS if at least that much was acked.
    retransmitNewRenoHead(sk);
    cong.cwnd = Math.max(cong.cwnd - acked + (acked >= mss ? mss : 0), mss);
  }
}

/**
 * NewReno's retransmission of the first unacknowledged segment: it is
 * deemed lost first, so the pipe counts it once (Linux
 * `tcp_newreno_mark_lost`).
 */
function retransmitNewRenoHead(sk: Tcb): void {
  const head = sk.snd.queue.head;
  if (head !== null && head !== sk.snd.head && (head.tcpFlags & TcpFlags.SYN) === 0) {
    markLost(sk, head);
  }
  retransmitHead(sk);
  if (sk.snd.sb !== null) sk.snd.sb.lostHint = null;
}

/**
 * A duplicate ACK without SACK (RFC 5681 C8): fast retransmit on the third
 * (RFC 6582 §3.2 step 2), inflate after.
 */
function duplicateAck(sk: Tcb, ack: number): void {
  const cong = sk.cong;
  const mss = sk.snd.mss;
  cong.dupAcks++;
  if (cong.dupAcks === 3 && !cong.inRecovery) {
    // RFC 6582 §3.2 step 2: only when the ACK covers more than "recover".
    if (seqAfter(ack, cong.recover) || cong.recover === sk.snd.iss) {
      const loss = lossState(cong);
      loss.priorCwnd = cong.cwnd;
      loss.priorSsthresh = cong.ssthresh;
      cong.ssthresh = cong.algorithm.ssthresh(sk);
      cong.recover = sk.snd.max;
      cong.inRecovery = true;
      cong.state = CaState.RECOVERY;
      sk.ctx.stats.fastRetrans++;
      sk.ctx.stats.renoRecoveries++;
      retransmitNewRenoHead(sk);
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
  // Nothing is SACKed at the handshake (a SYN-cookie child never sent a SYN here).
  sk.cong.rackFack = snd.una;
  if (seqAfter(snd.una, snd.nxt)) snd.nxt = snd.una;
  snd.retransmits = 0;
  sk.rtt.backoff = 0;
  restoreRto(sk);
  clearRtx(sk);
}
