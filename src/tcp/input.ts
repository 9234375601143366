/**
 * SEGMENT ARRIVES for a connection (RFC 9293 §3.10.7.3 SYN-SENT and
 * §3.10.7.4 the other states; Linux `tcp_rcv_synsent_state_process`,
 * `tcp_rcv_state_process`, `tcp_timewait_state_process`). This file is the
 * sequence of steps; each step lives along Linux's seams:
 *
 * | step | Linux | here |
 * |---|---|---|
 * | first, second, fourth (with PAWS) | `tcp_validate_incoming` | `validate.ts` |
 * | fifth: ACK | `tcp_ack` | `ack.ts` |
 * | sixth: URG | `tcp_urg` | `data.ts` `rcvUrg` |
 * | seventh: text | `tcp_data_queue` | `data.ts` `rcvData` |
 * | eighth: FIN | `tcp_fin` | `data.ts` |
 *
 * LISTEN and CLOSED processing live in `passive.ts` and `tcp.ts` (demux).
 *
 * @module
 */
import type { SkBuff } from "../skb/skbuff.ts";
import { TcpFlags, type TcpRepr } from "../wire/tcp.ts";
import { AckFlag, tcpAck, tcpAckSyn } from "./ack.ts";
import { sndbufExpand } from "./buffers.ts";
import { Shutdown, TimerKind } from "./config.ts";
import { rcvData, rcvUrg } from "./data.ts";
import { ecnRcv, ecnSynAck } from "./ecn.ts";
import { enterTimeWait, establishChild, tcpDone, tcpReset } from "./lifecycle.ts";
import { applySynOptions } from "./options.ts";
import {
  nagleMode,
  retransmitHead,
  sendAck,
  sendChallengeAck,
  sendOowAck,
  sendResetFor,
  transmitSkb,
  writeXmit,
} from "./output.ts";
import { tsEcrValid } from "./rtt.ts";
import { seqAdd, seqAfter, seqLeq, TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";
import { armKeep, clearRtx, resetKeepalive } from "./timers.ts";
import { Incoming, pawsReject, validateIncoming } from "./validate.ts";

/**
 * A segment for a connection in any state but LISTEN (the demux found it).
 * `skb.data` is at the payload; `th` is the parsed header. Consumes `skb`.
 *
 * @example
 * ```ts
 * // tcpRcv(tcb, skb, th); // skb.data at the payload; consumes skb
 * ```
 */
export function tcpRcv(sk: Tcb, skb: SkBuff, th: TcpRepr, ipEcn = 0): void {
  const flags = th.flags;
  const rcv = sk.rcv;
  rcv.segsIn++;
  if (skb.len > 0) rcv.dataSegsIn++;
  skb.seq = th.seq;
  skb.tcpFlags = flags;
  skb.endSeq = seqAdd(
    th.seq,
    skb.len + ((flags & TcpFlags.SYN) ? 1 : 0) + ((flags & TcpFlags.FIN) ? 1 : 0),
  );
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
  sk.rcv.lastRcv = sk.stampNow();
  rcvSynchronized(sk, skb, th, ipEcn);
}

/** RFC 9293 §3.10.7.3 (Linux `tcp_rcv_synsent_state_process`). */
function rcvSynSent(sk: Tcb, th: TcpRepr): void {
  const flags = th.flags;
  const ctx = sk.ctx;
  const snd = sk.snd;
  if (flags & TcpFlags.ACK) {
    // First: SEG.ACK ≤ ISS or > SND.NXT → RST (unless RST). No data rides on
    // our SYN, so this is SEG.ACK ≠ SND.NXT.
    if (th.ack !== snd.nxt) {
      sendResetFor(ctx, th, sk);
      ctx.drops.count("tcp.synsent_bad_ack");
      return;
    }
    // RFC 7323 / Linux PAWSActiveRejected: TSecr must echo a TSval we sent.
    const o = th.options;
    if (o.tsVal !== null && o.tsEcr !== 0 && ctx.config.timestamps) {
      if (!tsEcrValid(sk, o.tsEcr, snd.retransStamp)) {
        ctx.stats.pawsRejected++;
        sendResetFor(ctx, th, sk);
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
  const rcv = sk.rcv;
  rcv.irs = th.seq;
  rcv.nxt = rcv.wup = seqAdd(th.seq, 1);
  applySynOptions(sk, th.options);
  rcv.lastRcv = sk.stampNow();
  if (flags & TcpFlags.ACK) {
    // SYN-ACK: our SYN is acknowledged → ESTABLISHED. W3: the SYN-ACK's window is not scaled.
    snd.wl1 = th.seq;
    snd.wl2 = th.ack;
    const asked = ((snd.queue.head?.tcpFlags ?? 0) & TcpFlags.ECE) !== 0;
    ecnSynAck(sk, flags, asked);
    tcpAckSyn(sk, th);
    snd.wnd = snd.maxWnd = th.window;
    sk.cong.algorithm.init(sk);
    sk.setState(TcpState.ESTABLISHED);
    resetKeepalive(sk);
    // Data on a SYN-ACK is not queued (Linux without Fast Open): the ACK
    // below acknowledges only the SYN, so the peer resends it.
    sendAck(sk);
    writeXmit(sk, nagleMode(sk));
    return;
  }
  // SYN without ACK: simultaneous open (MUST-10) → SYN-RECEIVED, send SYN-ACK
  // (our queued SYN, now with ACK). Data on this SYN is dropped.
  snd.wnd = snd.maxWnd = th.window;
  snd.wl1 = th.seq;
  snd.wl2 = snd.una;
  sk.setState(TcpState.SYN_RECEIVED);
  const syn = snd.queue.head;
  if (syn !== null) {
    syn.tcpFlags |= TcpFlags.ACK;
    transmitSkb(sk, syn, true);
    syn.txCount++;
  }
}

/**
 * SYN-RECEIVED, an ACK arrived (RFC 9293 §3.10.7.4 fifth): if it
 * acknowledges our SYN the connection is ESTABLISHED (and a passive child
 * joins its listener's accept queue); otherwise `<SEQ=SEG.ACK><CTL=RST>`.
 * Returns false when the segment is finished with (rejected, or dropped
 * because the accept queue is full).
 */
function completeHandshake(sk: Tcb, th: TcpRepr): boolean {
  const snd = sk.snd;
  const ctx = sk.ctx;
  if (!(seqAfter(th.ack, snd.una) && seqLeq(th.ack, snd.nxt))) {
    // Unacceptable ACK in SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>.
    sendResetFor(ctx, th, sk);
    return false;
  }
  if (!establishChild(sk)) {
    // Accept queue full: drop the ACK and stay in SYN-RECEIVED (Linux
    // tcp_abort_on_overflow = 0); the SYN-ACK timer retries.
    ctx.stats.listenOverflows++;
    return false;
  }
  tcpAckSyn(sk, th);
  // From here on the window is scaled.
  snd.wnd = snd.maxWnd = th.window * (1 << snd.wscale);
  snd.wl1 = th.seq;
  snd.wl2 = th.ack;
  sk.cong.algorithm.init(sk);
  sk.setState(TcpState.ESTABLISHED);
  resetKeepalive(sk);
  return true;
}

/**
 * RFC 7323 T4: TS.Recent ← SEG.TSval when SEG.SEQ ≤ Last.ACK.sent — only
 * after the segment passed the RST, SYN and ACK checks (KI-3; Linux
 * bd090dfc634d moved `tcp_replace_ts_recent()` out of
 * `tcp_validate_incoming()` into `tcp_ack()`), so a refused segment cannot
 * move TS.Recent and wedge the connection through PAWS.
 */
function updateTsRecent(sk: Tcb, th: TcpRepr): void {
  const tsVal = th.options.tsVal;
  if (!sk.tsOk || tsVal === null || !seqLeq(th.seq, sk.rcv.lastAckSent)) return;
  if (((tsVal - sk.tsRecent) | 0) >= 0 || sk.tsRecent < 0) {
    sk.tsRecent = tsVal;
    sk.tsRecentStamp = sk.stampNow();
  }
}

/**
 * The state moves an ACK of our FIN causes in FIN-WAIT-1, CLOSING and
 * LAST-ACK (RFC 9293 §3.10.7.4 fifth). Returns false when the connection
 * has reached TIME-WAIT or CLOSED and the segment is finished with.
 */
function finAckedStep(sk: Tcb): boolean {
  const snd = sk.snd;
  const finAcked = (sk.shutdownMask & Shutdown.SEND) !== 0 && snd.una === snd.writeSeq &&
    snd.queue.empty;
  if (!finAcked) return true;
  switch (sk.state) {
    case TcpState.FIN_WAIT_1:
      sk.setState(TcpState.FIN_WAIT_2);
      // An orphaned FIN-WAIT-2 does not wait forever (Linux tcp_fin_timeout).
      if (sk.orphan) armKeep(sk, sk.ctx.config.finTimeout);
      return true;
    case TcpState.CLOSING:
      enterTimeWait(sk);
      return false;
    case TcpState.LAST_ACK:
      tcpDone(sk);
      return false;
  }
  return true;
}

/** The synchronized states and SYN-RECEIVED (RFC 9293 §3.10.7.4; Linux `tcp_rcv_state_process`). */
function rcvSynchronized(sk: Tcb, skb: SkBuff, th: TcpRepr, ipEcn: number): void {
  const flags = th.flags;
  if (
    sk.state === TcpState.SYN_RECEIVED &&
    (flags & (TcpFlags.SYN | TcpFlags.ACK | TcpFlags.RST)) === TcpFlags.SYN &&
    th.seq === sk.rcv.irs
  ) {
    // The peer retransmitted its SYN: our SYN-ACK was lost; resend it now
    // (Linux tcp_check_req → inet_rtx_syn_ack) rather than wait for our timer.
    skb.free();
    retransmitHead(sk);
    return;
  }
  const verdict = validateIncoming(sk, skb, th);
  if (verdict === Incoming.DROP) {
    skb.free();
    return;
  }
  // Fifth: ACK.
  if (!(flags & TcpFlags.ACK)) {
    sk.ctx.drops.count("tcp.no_ack");
    skb.free();
    return;
  }
  if (sk.state === TcpState.SYN_RECEIVED && !completeHandshake(sk, th)) {
    skb.free();
    return;
  }
  const flag = tcpAck(sk, th, skb.len);
  if (flag & AckFlag.INVALID) {
    // RFC 5961 §5.2: drop, and ACK (rate-limited as a challenge ACK).
    sendChallengeAck(sk);
    skb.free();
    return;
  }
  updateTsRecent(sk, th);
  if (!finAckedStep(sk)) {
    skb.free();
    return;
  }
  rcvUrg(sk, th);
  // RFC 3168 §6.1.3: CWR ends our ECE echo, a CE mark starts it.
  if (sk.ecnOk) ecnRcv(sk, flags, ipEcn, skb.len);
  let wake = rcvData(sk, skb, verdict === Incoming.ACCEPT_NO_TEXT);
  if (sk.state === TcpState.CLOSED || sk.state === TcpState.TIME_WAIT) {
    if (wake) sk.wake();
    return;
  }
  if (
    flag & (AckFlag.SND_UNA_ADVANCED | AckFlag.WIN_UPDATE | AckFlag.DUP_ACK | AckFlag.DATA_SACKED)
  ) {
    wake = ackSent(sk, flag) || wake;
  }
  if (wake) sk.wake();
}

/**
 * After an ACK that moved something: stop persisting once the window
 * opened, send what the windows now allow, grow the send buffer with the
 * window (`tcp_new_space` → `tcp_sndbuf_expand`), and report whether a
 * writer that found the buffer full should be woken
 * (`sk_stream_write_space`): once half of SO_SNDBUF is free. A writer that
 * waited for the stack's memory stops waiting for it when its own data is
 * acknowledged: what it frees is its to use again.
 */
function ackSent(sk: Tcb, flag: number): boolean {
  const snd = sk.snd;
  if (sk.timers.rtxKind === TimerKind.PROBE && snd.wnd > 0) clearRtx(sk);
  if (flag & AckFlag.FRTO_NEW_DATA) {
    // F-RTO step 2b (RFC 5682 §3.1): new data instead of retransmissions; if
    // none can go, the timeout is treated as genuine.
    const cong = sk.cong;
    writeXmit(sk, nagleMode(sk), true);
    if (!seqAfter(snd.nxt, cong.highSeq)) {
      cong.frto = false;
      writeXmit(sk, nagleMode(sk));
    }
  } else writeXmit(sk, nagleMode(sk));
  if (flag & AckFlag.SND_UNA_ADVANCED) {
    sndbufExpand(sk);
    // It waited for the stack's memory: its own ACK freed some, so it may
    // try again once it has write space (woken below, as any writer).
    if (snd.memWait) sk.ctx.mem.forget(sk);
  }
  // Not while it still waits for the stack's memory: poll() shows no write
  // space then, and clearing `noSpace` would leave no wake-up for the ACK
  // that ends that wait (a writer stranded with an empty queue).
  if (snd.noSpace && !snd.memWait && snd.queue.truesize <= (snd.buf >>> 1)) {
    snd.noSpace = false;
    return true;
  }
  return false;
}

/**
 * TIME-WAIT (RFC 9293 §3.10.7.4; Linux `tcp_timewait_state_process`). A RST
 * is ignored (RFC 1337 — TIME-WAIT assassination, §8 row 12, DEV-5). A
 * retransmitted FIN is ACKed and restarts the 2 MSL timer. A new SYN that
 * RFC 6191 proves newer is handled by the demux before we get here; any
 * other SYN gets an ACK (challenge, B2).
 */
function rcvTimeWait(sk: Tcb, th: TcpRepr, len: number): void {
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
  if ((flags & TcpFlags.FIN) && seqAdd(th.seq, len + 1) === sk.rcv.nxt) {
    // Retransmitted FIN: ACK it and restart 2 MSL.
    sendAck(sk);
    armKeep(sk, sk.opt.timeWaitLen);
    return;
  }
  // §3.10.7.4 first: anything but a bare ACK exactly at RCV.NXT is out of
  // window here (text, a new FIN, an old or future sequence number) and is
  // answered with an ACK (Linux tcp_timewait_state_process → TCP_TW_ACK).
  // Rate-limited for pure ACKs (KI-2, Linux tcp_timewait_check_oow_rate_limit).
  if (len > 0 || (flags & TcpFlags.FIN) || th.seq !== sk.rcv.nxt) sendOowAck(sk, segLen, false);
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
export function timeWaitAcceptsSyn(sk: Tcb, th: TcpRepr): boolean {
  const o = th.options;
  if (sk.tsOk && o.tsVal !== null && sk.tsRecent >= 0) {
    return ((o.tsVal - sk.tsRecent) | 0) > 0;
  }
  if (sk.tsOk) return false;
  return seqAfter(th.seq, sk.rcv.nxt);
}
