/**
 * SEGMENT ARRIVES for a connection (RFC 9293 §3.10.7.3 SYN-SENT and
 * §3.10.7.4 the other states; Linux `tcp_rcv_synsent_state_process`,
 * `tcp_rcv_state_process`, `tcp_ack`, `tcp_timewait_state_process`), with
 * RFC 5961 (challenge ACKs), RFC 7323 (PAWS, RTTM), RFC 6298 (RTO), RFC 5681
 * and RFC 6582 (fast retransmit, NewReno recovery).
 *
 * LISTEN and CLOSED processing live in `tcp.ts` (demux).
 *
 * @module
 */
import type { SkBuff } from "../skb/skbuff.ts";
import { TcpFlags, type TcpRepr } from "../wire/tcp.ts";
import { clampWindowScale, effectiveMss, type TcpOptions } from "../wire/tcp_options.ts";
import {
  enterTimeWait,
  establishChild,
  tcpDone,
  tcpFinish,
  tcpReset,
  tcpResetChild,
} from "./conn.ts";
import {
  nagleMode,
  retransmitHead,
  scheduleAck,
  sendAck,
  sendActiveReset,
  sendChallengeAck,
  sendOowAck,
  sendResetFor,
  transmitSkb,
  writeXmit,
} from "./output.ts";
import { DataResult, queueData, receiveWindow } from "./recv.ts";
import { seqAfter, seqBefore, seqGeq, seqInWindow, seqLeq, TcpState } from "./state.ts";
import { Shutdown, type TcpSock, TimerKind } from "./sock.ts";
import { armKeep, armRtx, clearKeep, clearRtx, resetKeepalive } from "./timers.ts";

/**
 * What {@link tcpAck} found (Linux `FLAG_*`), as bits.
 *
 * @example
 * ```ts
 * import { AckFlag } from "./input.ts";
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

const PAWS_IDLE_LIMIT = 24 * 24 * 3600 * 1000; // RFC 7323 §5.5: 24 days

/**
 * Effective send MSS (MUST-16): min(peer MSS, path MTU − 40, TCP_MAXSEG,
 * our largest buffer) minus the timestamp option when in use.
 *
 * @example
 * ```ts
 * // syncMss(sk); sk.mssCache; // e.g. 1448 with timestamps on a 1500-byte path
 * ```
 */
export function syncMss(sk: TcpSock): void {
  const cfg = sk.ctx.config;
  const rt = sk.ctx.ipv4.route(sk.raddr);
  const pmtu = rt !== null ? rt.mtu : 576;
  let mss = Math.min(sk.mssClamp, pmtu - 40, cfg.maxSegment);
  if (sk.userMss > 0) mss = Math.min(mss, sk.userMss);
  if (sk.tsOk) mss -= 12;
  // §8 rows 7/11: never fewer than 64 payload bytes per segment (the peer's
  // MSS was already floored at config.minMss).
  sk.mssCache = Math.max(mss, 64);
}

/**
 * Take the SYN options (`tcp_parse_options` on a SYN / SYN-ACK): MSS (536
 * when absent, MUST-15, floored at `minMss`), window scale only if both
 * sides sent it (W1, clamped to 14, W2), timestamps (T1), SACK-permitted.
 *
 * @example
 * ```ts
 * // applySynOptions(sk, th.options, true); sk.wscaleOk, sk.tsOk, sk.sackOk
 * ```
 */
export function applySynOptions(sk: TcpSock, o: TcpOptions, active: boolean): void {
  const cfg = sk.ctx.config;
  sk.mssClamp = Math.max(effectiveMss(o.mss), cfg.minMss);
  if (sk.userMss > 0) sk.mssClamp = Math.min(sk.mssClamp, Math.max(sk.userMss, cfg.minMss));
  const weOffer = active ? cfg.windowScaling : cfg.windowScaling;
  if (o.windowScale !== null && weOffer) {
    if (o.windowScale > 14) sk.ctx.drops.count("tcp.wscale_clamped");
    sk.sndWscale = clampWindowScale(o.windowScale);
    sk.wscaleOk = true;
  } else {
    sk.sndWscale = 0;
    sk.rcvWscale = 0;
    sk.wscaleOk = false;
  }
  if (o.tsVal !== null && cfg.timestamps) {
    sk.tsOk = true;
    sk.tsRecent = o.tsVal;
    sk.tsRecentStamp = sk.now();
    // Linux: advmss drops by the 12 bytes of the timestamp option.
    sk.advmss -= 12;
  } else {
    sk.tsOk = false;
  }
  sk.sackOk = o.sackPermitted && cfg.sack;
  sk.rcvMss = Math.min(sk.advmss, sk.mssClamp);
  syncMss(sk);
}

/**
 * RFC 6298 §2 with Linux's floor: RTO = SRTT + max(4·RTTVAR, RTO_MIN), ≤ RTO_MAX.
 *
 * @example
 * ```ts
 * // rttSample(sk, 40); // first sample: srtt 40, rttvar 20, rto 240
 * ```
 */
export function rttSample(sk: TcpSock, r: number): void {
  if (!(r >= 0)) return;
  if (r < 1) r = 1; // clock granularity G = 1 ms
  if (sk.srtt === 0) {
    // R2: first sample.
    sk.srtt = r;
    sk.rttvar = r / 2;
  } else {
    // R3: RTTVAR first, with the old SRTT.
    sk.rttvar = 0.75 * sk.rttvar + 0.25 * Math.abs(sk.srtt - r);
    sk.srtt = 0.875 * sk.srtt + 0.125 * r;
  }
  setRto(sk);
}

/**
 * RTTM (RFC 7323 §4.1) with a checked TSecr: the sample is TS.now − TSecr
 * only if TSecr lies between the TSval of `sinceMs` (when our oldest
 * unacknowledged segment, or the SYN, was sent) and now; anything else is
 * not an echo of ours for this data (forged, or an old echo) and would
 * poison SRTT/RTO, so no sample (-1). Linux `tcp_rtt_tsopt_us` only rejects
 * negative values; this also bounds from below.
 */
function tsEcrRtt(sk: TcpSock, tsEcr: number, sinceMs: number): number {
  const lo = (Math.floor(sinceMs) + sk.tsOffset) >>> 0;
  const now = sk.tsNow();
  if (seqBefore(tsEcr, lo) || seqAfter(tsEcr, now)) {
    sk.ctx.drops.count("tcp.tsecr_out_of_range");
    return -1;
  }
  return (now - tsEcr) | 0;
}

function setRto(sk: TcpSock): void {
  const cfg = sk.ctx.config;
  sk.rto = Math.min(sk.srtt + Math.max(4 * sk.rttvar, cfg.rtoMin), cfg.rtoMax);
}

/**
 * RFC 9293 §3.10.7.4 fifth (ACK field) for synchronized states: RFC 5961
 * §5.2 acceptability, window update (SND.WL1/WL2), cleaning the write
 * queue, RTT samples (timestamps, else Karn-filtered timing), RTO restart,
 * congestion control and NewReno recovery. Returns {@link AckFlag} bits.
 *
 * @example
 * ```ts
 * // const flag = tcpAck(sk, th, payloadLength);
 * // if (flag & AckFlag.INVALID) sendChallengeAck(sk);
 * ```
 */
export function tcpAck(sk: TcpSock, th: TcpRepr, payload: number): number {
  const ack = th.ack;
  const seq = th.seq;
  let flag = payload > 0 ? AckFlag.DATA : 0;
  // RFC 5961 §5.2 (B3): acceptable iff SND.UNA − MAX.SND.WND ≤ SEG.ACK ≤ SND.NXT
  // (SND.NXT here is the highest ever sent: it retreats after an RTO).
  if (seqAfter(ack, sk.sndMax)) return AckFlag.INVALID;
  if (seqBefore(ack, (sk.sndUna - sk.maxSndWnd) >>> 0)) return AckFlag.INVALID;
  if (seqBefore(ack, sk.sndUna)) return flag | AckFlag.OLD_ACK;

  // Window update: SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and SND.WL2 ≤ SEG.ACK.
  const nwin = th.window * (1 << sk.sndWscale); // MUST-1: unsigned, up to 2^30
  if (seqBefore(sk.sndWl1, seq) || (sk.sndWl1 === seq && seqLeq(sk.sndWl2, ack))) {
    if (nwin !== sk.sndWnd) {
      flag |= AckFlag.WIN_UPDATE;
      sk.sndWnd = nwin;
      if (nwin > sk.maxSndWnd) sk.maxSndWnd = nwin;
    }
    sk.sndWl1 = seq;
    sk.sndWl2 = ack;
  }

  const cfg = sk.ctx.config;
  const cc = sk.ctx.cc;
  const mss = sk.mssCache;
  if (seqAfter(ack, sk.sndUna)) {
    const acked = (ack - sk.sndUna) | 0;
    flag |= AckFlag.SND_UNA_ADVANCED | AckFlag.DATA_ACKED;
    let newestWhen = -1;
    const q = sk.writeQueue;
    // When the oldest segment now acknowledged was (last) sent: an echoed
    // TSval older than that cannot be one of ours for this data.
    const oldestWhen = q.head !== null ? q.head.when : sk.retransStamp;
    for (let skb = q.head; skb !== null; skb = q.head) {
      if (seqLeq(skb.endSeq, ack)) {
        if (skb === sk.sendHead) sk.sendHead = skb.next;
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
        const n = (ack - skb.seq) | 0;
        skb.data += Math.min(n, skb.len);
        skb.seq = ack;
      }
      break;
    }
    sk.sndUna = ack;
    if (seqAfter(ack, sk.sndNxt)) sk.sndNxt = ack;
    if (sk.sndUp >= 0 && seqGeq(ack, sk.sndUp)) sk.sndUp = -1; // urgent data delivered
    // RTT (RFC 7323 RTTM, else RFC 6298 R5 Karn).
    const o = th.options;
    if (sk.tsOk && o.tsVal !== null && o.tsEcr !== 0) {
      const r = tsEcrRtt(sk, o.tsEcr, oldestWhen);
      if (r >= 0) rttSample(sk, r);
    } else if (sk.rttSeq >= 0 && seqGeq(ack, sk.rttSeq)) {
      if (!(flag & AckFlag.RETRANS_DATA_ACKED)) rttSample(sk, sk.now() - sk.rttTime);
      sk.rttSeq = -1;
    } else if ((flag & AckFlag.SYN_ACKED) && newestWhen >= 0 && sk.srtt === 0) {
      rttSample(sk, sk.now() - newestWhen);
    }
    sk.retransmits = 0;
    if (sk.backoff !== 0) {
      sk.backoff = 0;
      if (sk.srtt > 0) setRto(sk);
      else sk.rto = 3 * cfg.rtoInitial; // RFC 6298 §5.7
    }
    sk.probesOut = 0;
    // R6: stop the timer when all is acknowledged, else restart it.
    if (sk.sndUna === sk.sndMax) {
      if (sk.rtxKind === TimerKind.RETRANS) clearRtx(sk);
    } else armRtx(sk, TimerKind.RETRANS, sk.rto);

    if (sk.inRecovery) {
      if (seqGeq(ack, sk.recover)) {
        // RFC 6582 §3.2 step 3, full ACK: deflate and leave recovery.
        sk.cwnd = Math.min(sk.ssthresh, Math.max(sk.flightSize, mss) + mss);
        sk.inRecovery = false;
        sk.dupAcks = 0;
      } else {
        // Partial ACK: retransmit the next hole, deflate by what was acked,
        // add back one SMSS if at least that much was acked.
        retransmitHead(sk);
        sk.cwnd = Math.max(sk.cwnd - acked + (acked >= mss ? mss : 0), mss);
      }
    } else {
      sk.dupAcks = 0;
      if (!(flag & AckFlag.SYN_ACKED)) cc.congAvoid(sk, acked);
    }
  } else if (
    // RFC 5681 C8 duplicate ACK: no data, no SYN/FIN, same ACK and window,
    // data outstanding.
    payload === 0 && (th.flags & (TcpFlags.SYN | TcpFlags.FIN)) === 0 &&
    !(flag & AckFlag.WIN_UPDATE) && nwin === sk.sndWnd && sk.sndMax !== sk.sndUna
  ) {
    flag |= AckFlag.DUP_ACK;
    sk.dupAcks++;
    if (sk.dupAcks === 3 && !sk.inRecovery) {
      // RFC 6582 §3.2 step 2: only when the ACK covers more than "recover".
      if (seqAfter(ack, sk.recover) || sk.recover === sk.iss) {
        sk.ssthresh = cc.ssthresh(sk);
        sk.recover = sk.sndMax;
        sk.inRecovery = true;
        sk.ctx.stats.fastRetrans++;
        retransmitHead(sk);
        sk.cwnd = sk.ssthresh + 3 * mss;
      }
    } else if (sk.inRecovery && sk.dupAcks > 3) {
      sk.cwnd += mss; // step 4: inflate per extra duplicate
    }
  }
  return flag;
}

/**
 * A segment for a connection in any state but LISTEN (the demux found it).
 * `skb.data` is at the payload; `th` is the parsed header. Consumes `skb`.
 *
 * @example
 * ```ts
 * // tcpRcv(sk, skb, th); // skb.data at the payload; consumes skb
 * ```
 */
export function tcpRcv(sk: TcpSock, skb: SkBuff, th: TcpRepr): void {
  const flags = th.flags;
  skb.seq = th.seq;
  skb.tcpFlags = flags;
  skb.endSeq = (th.seq + skb.len + ((flags & TcpFlags.SYN) ? 1 : 0) +
    ((flags & TcpFlags.FIN) ? 1 : 0)) >>> 0;
  switch (sk.state) {
    case TcpState.SYN_SENT:
      rcvSynSent(sk, th);
      skb.free();
      return;
    case TcpState.TIME_WAIT:
      rcvTimeWait(sk, th, skb.len);
      skb.free();
      return;
    case TcpState.CLOSED:
    case TcpState.LISTEN:
      skb.free();
      return;
  }
  sk.lastRcv = sk.now();
  rcvSynchronized(sk, skb, th);
}

/** RFC 9293 §3.10.7.3 (Linux `tcp_rcv_synsent_state_process`). */
function rcvSynSent(sk: TcpSock, th: TcpRepr): void {
  const flags = th.flags;
  const ctx = sk.ctx;
  if (flags & TcpFlags.ACK) {
    // First: SEG.ACK ≤ ISS or > SND.NXT → RST (unless RST). No data rides on
    // our SYN, so this is SEG.ACK ≠ SND.NXT (seed §4 item 15).
    if (th.ack !== sk.sndNxt) {
      if (!(flags & TcpFlags.RST)) {
        sendResetFor(ctx, sk.laddr, sk.lport, sk.raddr, sk.rport, th.ack, 0, TcpFlags.RST);
      }
      ctx.drops.count("tcp.synsent_bad_ack");
      return;
    }
    // RFC 7323 / Linux PAWSActiveRejected: TSecr must echo a TSval we sent.
    const o = th.options;
    if (o.tsVal !== null && o.tsEcr !== 0 && ctx.config.timestamps) {
      const lo = (Math.floor(sk.retransStamp) + sk.tsOffset) >>> 0;
      if (seqBefore(o.tsEcr, lo) || seqAfter(o.tsEcr, sk.tsNow())) {
        ctx.stats.pawsRejected++;
        if (!(flags & TcpFlags.RST)) {
          sendResetFor(ctx, sk.laddr, sk.lport, sk.raddr, sk.rport, th.ack, 0, TcpFlags.RST);
        }
        return;
      }
    }
  }
  // Second: RST — acceptable only with an acceptable ACK (RFC 5961 §3 / §8 row 2).
  if (flags & TcpFlags.RST) {
    if (flags & TcpFlags.ACK) tcpReset(sk);
    else ctx.drops.count("tcp.synsent_rst_no_ack");
    return;
  }
  // Fourth: SYN.
  if (!(flags & TcpFlags.SYN)) {
    ctx.drops.count("tcp.synsent_no_syn");
    return;
  }
  sk.irs = th.seq;
  sk.rcvNxt = sk.rcvWup = (th.seq + 1) >>> 0;
  applySynOptions(sk, th.options, true);
  sk.lastRcv = sk.now();
  if (flags & TcpFlags.ACK) {
    // SYN-ACK: our SYN is acknowledged → ESTABLISHED. W3: the SYN-ACK's window is not scaled.
    sk.sndWl1 = th.seq;
    sk.sndWl2 = th.ack;
    tcpAckSyn(sk, th);
    sk.sndWnd = sk.maxSndWnd = th.window;
    ctx.cc.init(sk);
    sk.setState(TcpState.ESTABLISHED);
    resetKeepalive(sk);
    // Data on a SYN-ACK is not queued (Linux without Fast Open): the ACK
    // below acknowledges only the SYN, so the peer resends it.
    sendAck(sk);
    writeXmit(sk, nagleMode(sk));
    return;
  }
  // SYN without ACK: simultaneous open (MUST-10) → SYN-RECEIVED, send SYN-ACK
  // (our queued SYN, now with ACK). Data on this SYN is dropped (seed §4 item 15).
  sk.sndWnd = sk.maxSndWnd = th.window;
  sk.sndWl1 = th.seq;
  sk.sndWl2 = sk.sndUna;
  sk.setState(TcpState.SYN_RECEIVED);
  const syn = sk.writeQueue.head;
  if (syn !== null) {
    syn.tcpFlags |= TcpFlags.ACK;
    transmitSkb(sk, syn, true);
    syn.txCount++;
  }
}

/** Our SYN was acknowledged: drop it from the write queue, take an RTT sample. */
function tcpAckSyn(sk: TcpSock, th: TcpRepr): void {
  const syn = sk.writeQueue.head;
  if (syn !== null && (syn.tcpFlags & TcpFlags.SYN)) {
    sk.writeQueue.unlink(syn);
    const o = th.options;
    if (sk.tsOk && o.tsEcr !== 0) rttSample(sk, tsEcrRtt(sk, o.tsEcr, sk.retransStamp));
    else if (syn.txCount === 1) rttSample(sk, sk.now() - syn.when);
    syn.free();
  }
  sk.sndUna = th.ack;
  if (seqAfter(sk.sndUna, sk.sndNxt)) sk.sndNxt = sk.sndUna;
  sk.retransmits = 0;
  sk.backoff = 0;
  if (sk.srtt > 0) setRto(sk);
  else sk.rto = 3 * sk.ctx.config.rtoInitial; // RFC 6298 §5.7
  clearRtx(sk);
}

/** RFC 9293 §3.10.7.4 acceptability test (the four cases). */
function acceptable(sk: TcpSock, seq: number, segLen: number): boolean {
  const wnd = receiveWindow(sk);
  const nxt = sk.rcvNxt;
  if (segLen === 0) {
    return wnd === 0 ? seq === nxt : seqInWindow(seq, nxt, (nxt + wnd) >>> 0);
  }
  if (wnd === 0) return false;
  const end = (nxt + wnd) >>> 0;
  return seqInWindow(seq, nxt, end) || seqInWindow((seq + segLen - 1) >>> 0, nxt, end);
}

/** PAWS (RFC 7323 §5.3, T5): true when the segment's TSval is older than TS.Recent. */
function pawsReject(sk: TcpSock, o: TcpOptions): boolean {
  if (o.tsVal === null || sk.tsRecent < 0) return false;
  if (((o.tsVal - sk.tsRecent) | 0) >= 0) return false;
  // TS.Recent idle for more than 24 days is invalid (§5.5).
  return sk.now() - sk.tsRecentStamp <= PAWS_IDLE_LIMIT;
}

/** The synchronized states and SYN-RECEIVED (RFC 9293 §3.10.7.4). */
function rcvSynchronized(sk: TcpSock, skb: SkBuff, th: TcpRepr): void {
  const ctx = sk.ctx;
  const st = ctx.stats;
  const flags = th.flags;
  const seq = th.seq;
  const len = skb.len;
  const segLen = (skb.endSeq - seq) | 0;
  const o = th.options;
  if (
    sk.state === TcpState.SYN_RECEIVED && (flags & (TcpFlags.SYN | TcpFlags.ACK | TcpFlags.RST)) ===
      TcpFlags.SYN &&
    seq === sk.irs
  ) {
    // The peer retransmitted its SYN: our SYN-ACK was lost; resend it now
    // (Linux tcp_check_req → inet_rtx_syn_ack) rather than wait for our timer.
    skb.free();
    retransmitHead(sk);
    return;
  }
  if (sk.tsOk && !(flags & TcpFlags.RST)) {
    // T2 (RFC 7323 §3.2): once negotiated, a non-RST segment without TSopt is dropped.
    if (o.tsVal === null) {
      ctx.drops.count("tcp.missing_timestamp");
      skb.free();
      return;
    }
    // T5 PAWS: ACK and drop an old duplicate (a RST is exempt, seed §4 item 15).
    if (pawsReject(sk, o)) {
      st.pawsRejected++;
      // KI-2: the dupACK is rate-limited (Linux tcp_oow_rate_limited).
      sendOowAck(sk, segLen, (flags & TcpFlags.SYN) !== 0);
      skb.free();
      return;
    }
  }
  // First: sequence number. With a zero receive window a segment starting
  // exactly at RCV.NXT still has its ACK, URG and RST processed; only its
  // text (and FIN) is dropped (§3.10.7.4 "special allowance", MUST-66; Linux
  // tcp_sequence accepts it and tcp_data_queue drops the data with an ACK).
  let zeroWindowText = false;
  if (!acceptable(sk, seq, segLen)) {
    if (seq === sk.rcvNxt && segLen > 0 && !(flags & TcpFlags.SYN) && receiveWindow(sk) === 0) {
      zeroWindowText = true;
    } else {
      if (flags & TcpFlags.SYN) {
        // KI-6, RFC 5961 §4.2 "irrespective of the sequence number": a SYN
        // gets a challenge ACK under the §7 per-connection limit (Linux
        // tcp_validate_incoming → syn_challenge), not a plain ACK.
        sendChallengeAck(sk);
      } else if (!(flags & TcpFlags.RST)) {
        // KI-2: rate-limited dupACK (Linux tcp_oow_rate_limited).
        sendOowAck(sk, segLen, false);
      }
      ctx.drops.count("tcp.out_of_window");
      skb.free();
      return;
    }
  }
  // Something acceptable arrived: the peer is alive (keepalive / persist).
  sk.probesOut = 0;
  // Second: RST (RFC 5961 §3.2, B1).
  if (flags & TcpFlags.RST) {
    skb.free();
    if (seq !== sk.rcvNxt) {
      sendChallengeAck(sk);
      return;
    }
    if (sk.state === TcpState.SYN_RECEIVED && sk.passive) {
      // MUST-11 / B5: a passively opened connection returns to LISTEN — the
      // listener is untouched; this SYN-queue entry goes away.
      tcpResetChild(sk);
      return;
    }
    tcpReset(sk);
    return;
  }
  // Fourth: SYN in a synchronized state (RFC 5961 §4.2, B2) → challenge ACK.
  if (flags & TcpFlags.SYN) {
    skb.free();
    sendChallengeAck(sk);
    return;
  }
  // Fifth: ACK.
  if (!(flags & TcpFlags.ACK)) {
    ctx.drops.count("tcp.no_ack");
    skb.free();
    return;
  }
  if (sk.state === TcpState.SYN_RECEIVED) {
    if (!(seqAfter(th.ack, sk.sndUna) && seqLeq(th.ack, sk.sndNxt))) {
      // Unacceptable ACK in SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>.
      sendResetFor(ctx, sk.laddr, sk.lport, sk.raddr, sk.rport, th.ack, 0, TcpFlags.RST);
      skb.free();
      return;
    }
    if (!establishChild(sk)) {
      // Accept queue full: drop the ACK and stay in SYN-RECEIVED (Linux
      // tcp_abort_on_overflow = 0); the SYN-ACK timer retries.
      st.listenOverflows++;
      skb.free();
      return;
    }
    tcpAckSyn(sk, th);
    // From here on the window is scaled.
    sk.sndWnd = sk.maxSndWnd = th.window * (1 << sk.sndWscale);
    sk.sndWl1 = seq;
    sk.sndWl2 = th.ack;
    ctx.cc.init(sk);
    sk.setState(TcpState.ESTABLISHED);
    resetKeepalive(sk);
  }
  if (o.sackBlocks !== null) checkSackBlocks(sk, o.sackBlocks);
  const flag = tcpAck(sk, th, len);
  if (flag & AckFlag.INVALID) {
    // RFC 5961 §5.2: drop, and ACK (rate-limited as a challenge ACK).
    sendChallengeAck(sk);
    skb.free();
    return;
  }
  // RFC 7323 T4: TS.Recent ← SEG.TSval when SEG.SEQ ≤ Last.ACK.sent — only
  // now that the segment passed the RST, SYN and ACK checks (KI-3; Linux
  // bd090dfc634d moved tcp_replace_ts_recent() out of tcp_validate_incoming()
  // into tcp_ack()), so a refused segment cannot move TS.Recent and wedge
  // the connection through PAWS.
  if (sk.tsOk && o.tsVal !== null && seqLeq(seq, sk.lastAckSent)) {
    if (((o.tsVal - sk.tsRecent) | 0) >= 0 || sk.tsRecent < 0) {
      sk.tsRecent = o.tsVal;
      sk.tsRecentStamp = sk.now();
    }
  }
  const finAcked = (sk.shutdownMask & Shutdown.SEND) !== 0 && sk.sndUna === sk.writeSeq &&
    sk.writeQueue.empty;
  switch (sk.state) {
    case TcpState.FIN_WAIT_1:
      if (finAcked) {
        sk.setState(TcpState.FIN_WAIT_2);
        // An orphaned FIN-WAIT-2 does not wait forever (Linux tcp_fin_timeout).
        if (sk.orphan) armKeep(sk, ctx.config.finTimeout);
      }
      break;
    case TcpState.CLOSING:
      if (finAcked) {
        skb.free();
        enterTimeWait(sk);
        return;
      }
      break;
    case TcpState.LAST_ACK:
      if (finAcked) {
        skb.free();
        tcpFinish(sk);
        return;
      }
      break;
  }
  // Sixth: URG (MUST-30…33, MUST-66). RCV.UP ← max(RCV.UP, SEG.SEQ +
  // SEG.UP) (RFC 6093: the byte after the urgent data); the user is told
  // (Poll.PRI, `urgentMark()`). The bytes stay in the stream (SO_OOBINLINE).
  if (
    (flags & TcpFlags.URG) && th.urgentPointer > 0 &&
    (sk.state === TcpState.ESTABLISHED || sk.state === TcpState.FIN_WAIT_1 ||
      sk.state === TcpState.FIN_WAIT_2)
  ) {
    const up = (seq + th.urgentPointer) >>> 0;
    if (sk.rcvUp < 0 || seqAfter(up, sk.rcvUp)) {
      sk.rcvUp = up;
      sk.wake();
    }
  }

  // Seventh and eighth: text and FIN.
  let wake = false;
  if (zeroWindowText) {
    ctx.drops.count("tcp.zero_window_text");
    sendAck(sk);
    skb.free();
  } else if (skb.endSeq !== seq) {
    const s = sk.state;
    if (s === TcpState.ESTABLISHED || s === TcpState.FIN_WAIT_1 || s === TcpState.FIN_WAIT_2) {
      if (sk.orphan && len > 0 && seqAfter(skb.endSeq, sk.rcvNxt)) {
        // Data for a socket the user has closed: nobody will read it (Linux
        // tcp_rcv_state_process, RFC 2525 §2.17) → reset.
        st.abortOnData++;
        skb.free();
        sendActiveReset(sk);
        tcpDone(sk);
        return;
      }
      if (len > sk.rcvMss) sk.rcvMss = Math.min(len, sk.advmss);
      const r = queueData(sk, skb);
      sk.rcvUnacked += len;
      if (r & DataResult.QUEUED) wake = true;
      if (r & DataResult.FIN) {
        rcvFin(sk);
        wake = true;
      }
      if (sk.state !== TcpState.CLOSED) {
        scheduleAck(sk, (r & (DataResult.ACK_NOW | DataResult.FIN)) !== 0);
      }
    } else {
      // CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent FIN; ignore text
      // but answer a retransmission so the peer can stop.
      sendAck(sk);
      skb.free();
    }
  } else {
    skb.free();
  }
  if (sk.state === TcpState.CLOSED || sk.state === TcpState.TIME_WAIT) {
    if (wake) sk.wake();
    return;
  }
  if (flag & (AckFlag.SND_UNA_ADVANCED | AckFlag.WIN_UPDATE | AckFlag.DUP_ACK)) {
    if (sk.rtxKind === TimerKind.PROBE && sk.sndWnd > 0) clearRtx(sk);
    writeXmit(sk, nagleMode(sk));
    // Write space (`sk_stream_write_space`): wake a writer that found it full.
    if (sk.noSpace && sk.sndQueued <= (sk.sndbuf >>> 1)) {
      sk.noSpace = false;
      wake = true;
    }
  }
  if (wake) sk.wake();
}

/**
 * Validate received SACK blocks (RFC 2018, CONFORMANCE S4, §8 row 7): each
 * must have left < right and lie within SND.UNA…SND.NXT (a D-SACK block may
 * sit below SND.UNA). Loss recovery does not use them yet; invalid blocks
 * and blocks from a peer that was not offered SACK are counted.
 */
function checkSackBlocks(sk: TcpSock, blocks: readonly number[]): void {
  const drops = sk.ctx.drops;
  if (!sk.sackOk) {
    drops.count("tcp.sack_not_permitted");
    return;
  }
  for (let i = 0; i + 1 < blocks.length; i += 2) {
    const l = blocks[i]!;
    const r = blocks[i + 1]!;
    const ok = seqBefore(l, r) && seqLeq(r, sk.sndMax) &&
      seqGeq(l, (sk.sndUna - sk.maxSndWnd) >>> 0);
    if (!ok) drops.count("tcp.sack_invalid_block");
  }
}

/** RFC 9293 §3.10.7.4 eighth: the FIN (in order, RCV.NXT already past it). */
function rcvFin(sk: TcpSock): void {
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

/**
 * TIME-WAIT (RFC 9293 §3.10.7.4; Linux `tcp_timewait_state_process`). A RST
 * is ignored (RFC 1337 — TIME-WAIT assassination, §8 row 12). A retransmitted
 * FIN is ACKed and restarts the 2 MSL timer. A new SYN that RFC 6191 proves
 * newer is handled by the demux before we get here; any other SYN gets an
 * ACK (challenge, B2).
 */
function rcvTimeWait(sk: TcpSock, th: TcpRepr, len: number): void {
  const flags = th.flags;
  const ctx = sk.ctx;
  if (flags & TcpFlags.RST) {
    ctx.drops.count("tcp.timewait_rst_ignored");
    return;
  }
  const segLen = len + ((flags & TcpFlags.FIN) ? 1 : 0);
  if (sk.tsOk && pawsReject(sk, th.options)) {
    ctx.stats.pawsRejected++;
    // KI-2 (Linux tcp_timewait_check_oow_rate_limit).
    sendOowAck(sk, segLen, (flags & TcpFlags.SYN) !== 0);
    return;
  }
  if (flags & TcpFlags.SYN) {
    sendChallengeAck(sk);
    return;
  }
  if ((flags & TcpFlags.FIN) && ((th.seq + len + 1) >>> 0) === sk.rcvNxt) {
    // Retransmitted FIN: ACK it and restart 2 MSL.
    sendAck(sk);
    armKeep(sk, sk.timeWaitLen);
    return;
  }
  // §3.10.7.4 first: anything but a bare ACK exactly at RCV.NXT is out of
  // window here (text, a new FIN, an old or future sequence number) and is
  // answered with an ACK (Linux tcp_timewait_state_process → TCP_TW_ACK).
  // Rate-limited for pure ACKs (KI-2, Linux tcp_timewait_check_oow_rate_limit).
  if (len > 0 || (flags & TcpFlags.FIN) || th.seq !== sk.rcvNxt) sendOowAck(sk, segLen, false);
}

/**
 * RFC 6191 (MAY-2 / SHLD-4): may a SYN reopen the connection in TIME-WAIT?
 * With timestamps: its TSval must be newer than TS.Recent; without: its
 * sequence number must lie beyond RCV.NXT.
 *
 * @example
 * ```ts
 * // if (timeWaitAcceptsSyn(tw, th)) reopen();
 * ```
 */
export function timeWaitAcceptsSyn(sk: TcpSock, th: TcpRepr): boolean {
  const o = th.options;
  if (sk.tsOk && o.tsVal !== null && sk.tsRecent >= 0) {
    return ((o.tsVal - sk.tsRecent) | 0) > 0;
  }
  if (sk.tsOk) return false;
  return seqAfter(th.seq, sk.rcvNxt);
}
