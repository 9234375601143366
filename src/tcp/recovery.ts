/**
 * Loss recovery for SACK connections and the retransmission timeout's
 * loss state (Linux `tcp_fastretrans_alert`, `tcp_enter_recovery`,
 * `tcp_enter_loss`, `tcp_process_loss`, `tcp_cwnd_reduction`,
 * `tcp_rack_mark_lost`, `tcp_send_loss_probe`, `tcp_process_tlp_ack`):
 *
 * - **Loss detection, RACK-TLP** (RFC 8985): a segment is lost once one sent
 *   after it was delivered and the reordering window passed (`rackDetectLoss`,
 *   with the REO timer for the rest); a tail loss probe repairs a lost last
 *   segment in about two round trips (`tlpFire`, `tlpAck`).
 * - **Fast recovery** (RFC 6675 with Proportional Rate Reduction, RFC 6937):
 *   entered when RACK marks a loss; lost segments are retransmitted first
 *   (`output.ts` `retransmitLost`), then new data, while PRR paces what
 *   goes out towards ssthresh; it ends when SND.UNA passes the recovery
 *   point. Retransmissions all shown needless by D-SACK undo it.
 * - **RTO** (RFC 6298, RFC 5681 §3.1): every unSACKed segment in flight is
 *   deemed lost, cwnd = 1 SMSS and slow start resends them as it grows
 *   (not go-back-N by rewinding SND.NXT: SACKed data is not resent). F-RTO
 *   (RFC 5682 §3, SACK-enhanced) tells a spurious timeout by whether data
 *   never retransmitted gets acknowledged after it, and undoes it.
 *
 * Connections without SACK keep RFC 6582 NewReno (`ack.ts`); the RTO path
 * is shared.
 *
 * @module
 */
import { SACKED } from "../skb/skbuff.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { CaState, lossState } from "./congestion/cc.ts";
import { TimerKind } from "./config.ts";
import { fragment, Nagle, nagleMode, retransmitSkb, writeXmit } from "./output.ts";
import { pathMtu, pathMtuState, syncMss } from "./options.ts";
import { MTU_PLATEAUS, PmtuDisc } from "./pmtu.ts";
import { rackRecoveryEnded, reoWnd, sentAfter } from "./rack.ts";
import { clearLost, clearSacked, markLost, SackFlag } from "./scoreboard.ts";
import { seqAdd, seqAfter, seqBefore, seqGeq } from "./state.ts";
import type { Tcb } from "./tcb.ts";
import { armRtx } from "./timers.ts";
import { setXmitTimer } from "./xmit_timer.ts";

/**
 * RACK_detect_loss (RFC 8985 §6.2 step 5): mark lost every segment sent
 * before the most recently delivered one whose time plus RACK.rtt plus the
 * reordering window has passed. Returns the ms until the next such segment
 * would qualify (0 when none waits), for the REO timer.
 *
 * @example
 * ```ts
 * // const wait = rackDetectLoss(tcb); if (wait > 0) armRtx(tcb, TimerKind.REO, wait);
 * ```
 */
export function rackDetectLoss(sk: Tcb): number {
  const snd = sk.snd;
  const rack = sk.cong.loss;
  if (rack === null || (rack.rackXmitTs === 0 && rack.rackEndSeq === 0)) return 0;
  const now = sk.now();
  const wnd = reoWnd(sk);
  let timeout = 0;
  for (let skb = snd.queue.head; skb !== null && skb !== snd.head; skb = skb.next) {
    const f = skb.sacked;
    if ((f & SACKED.SACKED_ACKED) !== 0) continue;
    if (!sentAfter(rack.rackXmitTs, rack.rackEndSeq, skb.when, skb.endSeq)) {
      // Sent after the last delivery. A segment never retransmitted is sent
      // in sequence order, so every later one was too: stop here.
      if ((f & SACKED.EVER_RETRANS) === 0) break;
      continue;
    }
    if ((f & SACKED.LOST) !== 0 && (f & SACKED.SACKED_RETRANS) === 0) continue;
    const remaining = skb.when + rack.rackRtt + wnd - now;
    if (remaining <= 0) {
      if (markLost(sk, skb)) sk.ctx.stats.rackLost++;
    } else if (remaining > timeout) timeout = remaining;
  }
  return timeout;
}

/**
 * Begin a cwnd reduction episode (RFC 6937 §3 initialisation; Linux
 * `tcp_init_cwnd_reduction`): ssthresh from the algorithm, PRR counters at
 * zero, what undo needs remembered.
 */
function initCwndReduction(sk: Tcb): void {
  const cong = sk.cong;
  const loss = lossState(cong);
  cong.highSeq = sk.snd.max;
  loss.priorCwnd = cong.cwnd;
  loss.priorSsthresh = cong.ssthresh;
  cong.ssthresh = cong.algorithm.ssthresh(sk);
  loss.prrDelivered = 0;
  loss.prrOut = 0;
  loss.undoRetrans = 0;
}

/**
 * Enter fast recovery (RFC 6675 §5, RFC 6937; Linux `tcp_enter_recovery`).
 *
 * @example
 * ```ts
 * // if (tcb.snd.lostBytes > 0) enterRecovery(tcb);
 * ```
 */
export function enterRecovery(sk: Tcb): void {
  const cong = sk.cong;
  sk.ctx.stats.sackRecoveries++;
  sk.ctx.stats.fastRetrans++;
  if (cong.state !== CaState.CWR) initCwndReduction(sk);
  else cong.highSeq = sk.snd.max; // an ECN reduction in progress turns into recovery
  cong.state = CaState.RECOVERY;
  cong.inRecovery = true;
  cong.recover = sk.snd.max;
}

/**
 * Enter CWR: reduce cwnd once without retransmitting (an ECN echo, RFC 3168
 * §6.1.2, or a loss a tail loss probe repaired, RFC 8985 §7.4.2; Linux
 * `tcp_enter_cwr`). PRR paces the reduction; it ends at SND.NXT.
 *
 * @example
 * ```ts
 * // enterCwr(tcb); // on ECE
 * ```
 */
export function enterCwr(sk: Tcb): void {
  const cong = sk.cong;
  if (cong.state >= CaState.CWR) return;
  initCwndReduction(sk);
  lossState(cong).undoRetrans = -1;
  cong.state = CaState.CWR;
}

/**
 * PRR (RFC 6937 §3.1, Linux `tcp_cwnd_reduction`): on each ACK during a
 * reduction, set cwnd so what goes out tracks what was delivered, scaled to
 * ssthresh / RecoverFS while the pipe is above ssthresh, and rebuilds
 * towards ssthresh (slow-start reduction bound, PRR-SSRB) below it.
 */
function prrUpdate(sk: Tcb, delivered: number): void {
  const cong = sk.cong;
  const snd = sk.snd;
  const mss = snd.mss;
  if (delivered <= 0) return;
  const loss = lossState(cong);
  loss.prrDelivered += delivered;
  const pipe = snd.pipe;
  const recoverFs = Math.max(loss.priorCwnd, mss);
  let sndcnt: number;
  if (pipe > cong.ssthresh) {
    sndcnt = Math.ceil(loss.prrDelivered * cong.ssthresh / recoverFs) - loss.prrOut;
  } else {
    // RFC 6937 §3.1 PRR-SSRB: limit = MAX(prr_delivered − prr_out,
    // DeliveredData) + MSS.
    sndcnt = Math.min(
      cong.ssthresh - pipe,
      Math.max(loss.prrDelivered - loss.prrOut, delivered) + mss,
    );
  }
  // Force a fast retransmit upon entering recovery (Linux): one segment
  // goes out even before anything was delivered past the hole.
  sndcnt = Math.max(sndcnt, loss.prrOut === 0 ? mss : 0);
  cong.cwnd = Math.max(pipe + sndcnt, mss);
}

/** End a CWR or recovery episode: cwnd = ssthresh (RFC 6937 §3.1, Linux `tcp_end_cwnd_reduction`). */
function endCwndReduction(sk: Tcb): void {
  const cong = sk.cong;
  if (cong.ssthresh < 0x7fffffff) cong.cwnd = cong.ssthresh;
  cong.state = CaState.OPEN;
  cong.inRecovery = false;
}

/**
 * Undo a reduction that proved spurious (Linux `tcp_undo_cwnd_reduction`):
 * cwnd and ssthresh back to where they were; what was deemed lost is not.
 */
function undoReduction(sk: Tcb): void {
  const cong = sk.cong;
  const loss = lossState(cong);
  const alg = cong.algorithm;
  cong.cwnd = Math.max(cong.cwnd, alg.undoCwnd ? alg.undoCwnd(sk) : loss.priorCwnd);
  if (loss.priorSsthresh > cong.ssthresh) cong.ssthresh = loss.priorSsthresh;
  clearLost(sk);
  sk.ctx.stats.undos++;
  loss.undoRetrans = -1;
  loss.rackReorderingSeen = true; // what looked like loss was reordering
}

/**
 * The retransmission timer fired with data in flight (RFC 6298 (5.4)–(5.6),
 * RFC 5681 §3.1; Linux `tcp_enter_loss`): ssthresh once per episode, cwnd to
 * the loss window, every unSACKed segment in flight deemed lost (their
 * retransmissions too), the head resent now and the rest as cwnd grows.
 * F-RTO watches whether this timeout was spurious.
 *
 * @example
 * ```ts
 * // enterLoss(tcb); // from the RTO handler
 * ```
 */
export function enterLoss(sk: Tcb): void {
  const snd = sk.snd;
  const cong = sk.cong;
  const newEpisode = cong.state <= CaState.DISORDER || !seqAfter(cong.highSeq, snd.una) ||
    (cong.state === CaState.LOSS && snd.retransmits === 0);
  cong.frto = sk.ctx.config.frto && (cong.state < CaState.RECOVERY || snd.retransmits > 0);
  const loss = lossState(cong);
  if (newEpisode) {
    loss.priorCwnd = cong.cwnd;
    loss.priorSsthresh = cong.ssthresh;
    cong.ssthresh = cong.algorithm.ssthresh(sk);
    loss.undoRetrans = 0;
  }
  cong.algorithm.onRto(sk);
  if (cong.state === CaState.RECOVERY || cong.state === CaState.LOSS) rackRecoveryEnded(sk);
  cong.state = CaState.LOSS;
  cong.inRecovery = false;
  cong.dupAcks = 0;
  cong.highSeq = cong.recover = snd.max;
  loss.tlpHighSeq = -1;
  // The head waiting at SND.UNA although SACKed means the peer reneged: its
  // SACK information cannot be trusted (RFC 2018 §8).
  const head = snd.queue.head;
  if (head !== null && (head.sacked & SACKED.SACKED_ACKED) !== 0) clearSacked(sk);
  for (let skb = head; skb !== null && skb !== snd.head; skb = skb.next) markLost(sk, skb);
  if (snd.sb !== null) snd.sb.lostHint = head; // (made by markLost when anything was marked)
}

/**
 * An ACK in the loss state with F-RTO running (RFC 5682 §3.1, the SACK
 * enhanced version; Linux `tcp_process_loss`). Returns "undone" when the
 * timeout proved spurious, "new" when new data should go out instead of
 * retransmissions (step 2b), else "go" (retransmit what is lost).
 */
function frtoAck(sk: Tcb, flag: number): "undone" | "new" | "go" {
  const cong = sk.cong;
  const snd = sk.snd;
  // Step 3b: data never retransmitted was (S)ACKed: the timeout was spurious.
  if ((flag & SackFlag.ORIG_SACK_ACKED) !== 0) {
    sk.ctx.stats.spuriousRtos++;
    undoReduction(sk);
    cong.state = CaState.OPEN;
    cong.frto = false;
    return "undone";
  }
  if (seqAfter(snd.nxt, cong.highSeq)) {
    // Step 3a: duplicate ACKs after new data went out: the loss was real.
    if ((flag & (SackFlag.DATA_SACKED | ACK_DUP)) !== 0) cong.frto = false;
    return "go";
  }
  if ((flag & ACK_UNA_ADVANCED) !== 0) {
    // Step 2b: the retransmission was acknowledged; send new data and see
    // whether the next ACK acknowledges it without the rest.
    cong.highSeq = snd.nxt;
    if (snd.head !== null && seqAfter(seqAdd(snd.una, snd.wnd), snd.nxt)) return "new";
    cong.frto = false;
  }
  return "go";
}

/** `AckFlag.SND_UNA_ADVANCED` (ack.ts imports this module, so the value is repeated here). */
const ACK_UNA_ADVANCED = 0x400;
/** `AckFlag.DUP_ACK`. */
const ACK_DUP = 0x40;

/**
 * After an ACK on a SACK connection, or any connection in the loss state
 * (Linux `tcp_fastretrans_alert` + `tcp_cong_control`): end the episode
 * that SND.UNA has passed, detect losses with RACK, enter recovery, pace
 * cwnd with PRR, arm the RTO / probe / RACK timer. `flag` is the ACK's
 * `AckFlag` mask; `delivered` the bytes newly acknowledged or SACKed.
 * Returns true when only new data should be sent now (F-RTO step 2b).
 *
 * @example
 * ```ts
 * // const newOnly = sackRecoveryAck(tcb, flag, delivered);
 * ```
 */
export function sackRecoveryAck(sk: Tcb, flag: number, delivered: number): boolean {
  const cong = sk.cong;
  const snd = sk.snd;
  const loss = cong.loss;
  if (loss !== null && loss.tlpHighSeq !== -1) tlpAck(sk, flag);
  const recovered = seqGeq(snd.una, cong.highSeq);
  let newOnly = false;
  switch (cong.state) {
    case CaState.RECOVERY:
      if (recovered) {
        // RFC 6675 §5: HighACK ≥ RecoveryPoint ends recovery; undone if
        // D-SACK showed every retransmission needless (RFC 3708 style).
        if (loss !== null && loss.undoRetrans === 0) undoReduction(sk);
        endCwndReduction(sk);
        rackRecoveryEnded(sk);
      }
      break;
    case CaState.CWR:
      if (recovered) endCwndReduction(sk);
      break;
    case CaState.LOSS: {
      if (cong.frto) {
        const r = frtoAck(sk, flag);
        if (r === "undone") break;
        newOnly = r === "new";
      }
      if (recovered && !newOnly) {
        cong.state = CaState.OPEN;
        cong.frto = false;
        rackRecoveryEnded(sk);
      }
      break;
    }
  }
  if (sk.sackOk && cong.state !== CaState.LOSS) {
    const wait = rackDetectLoss(sk);
    if (snd.lostBytes > 0 && cong.state !== CaState.RECOVERY) enterRecovery(sk);
    if (wait > 0) armRtx(sk, TimerKind.REO, wait);
    else if (sk.timers.rtxKind === TimerKind.REO) sk.timers.rtxKind = TimerKind.NONE;
    if (cong.state === CaState.OPEN && snd.sackedBytes > 0) cong.state = CaState.DISORDER;
    else if (cong.state === CaState.DISORDER && snd.sackedBytes === 0 && snd.lostBytes === 0) {
      cong.state = CaState.OPEN;
    }
  } else if (sk.sackOk) {
    // RACK keeps watching in the loss state (retransmissions lost again).
    rackDetectLoss(sk);
  }
  if (cong.state === CaState.RECOVERY || cong.state === CaState.CWR) {
    prrUpdate(sk, delivered);
  }
  return newOnly;
}

/**
 * RACK's reordering timer fired (RFC 8985 §6.3, Linux `tcp_rack_reo_timeout`):
 * mark what is now lost, enter recovery, retransmit, re-arm.
 *
 * @example
 * ```ts
 * // reoTimeout(tcb); // from the timer handler
 * ```
 */
export function reoTimeout(sk: Tcb): void {
  const cong = sk.cong;
  const snd = sk.snd;
  sk.ctx.stats.rackReoTimeouts++;
  const lostBefore = snd.lostBytes;
  const wait = rackDetectLoss(sk);
  if (snd.lostBytes > lostBefore) {
    if (cong.state !== CaState.RECOVERY && cong.state !== CaState.LOSS) {
      enterRecovery(sk);
      // Nothing was delivered by this event: PRR lets the first
      // retransmission out, and no more until ACKs arrive.
      cong.cwnd = snd.pipe + snd.mss;
    }
    writeXmit(sk, nagleMode(sk));
  }
  if (wait > 0) armRtx(sk, TimerKind.REO, wait);
  else {
    sk.timers.rtxKind = TimerKind.NONE;
    setXmitTimer(sk);
  }
}

/**
 * The tail loss probe timer fired (RFC 8985 §7.3, Linux
 * `tcp_send_loss_probe`): send one new segment if the windows allow, else
 * retransmit the last segment sent (at most one MSS of it); then the RTO
 * watches.
 *
 * @example
 * ```ts
 * // tlpFire(tcb); // from the timer handler
 * ```
 */
export function tlpFire(sk: Tcb): void {
  const snd = sk.snd;
  const cong = sk.cong;
  const st = sk.ctx.stats;
  let probed = false;
  const head = snd.head;
  if (
    head !== null &&
    !seqAfter(seqAdd(head.seq, Math.min(head.len, snd.mss)), seqAdd(snd.una, snd.wnd))
  ) {
    // New data: it probes and makes progress at once (cwnd is not checked).
    const saved = cong.cwnd;
    cong.cwnd = Math.max(cong.cwnd, snd.pipe + Math.min(head.len, snd.mss));
    probed = writeXmit(sk, Nagle.PUSH, true);
    cong.cwnd = saved;
    if (probed) lossState(cong).tlpRetrans = false;
  }
  if (!probed) {
    // Retransmit the highest-sequence segment sent (its last MSS).
    let last = head !== null ? head.prev : snd.queue.tail;
    if (last !== null && (last.sacked & SACKED.SACKED_ACKED) === 0) {
      if (last.len > snd.mss && fragment(sk, last, last.len - snd.mss)) last = last.next!;
      probed = retransmitSkb(sk, last);
      if (probed) lossState(cong).tlpRetrans = true;
    }
  }
  if (probed) {
    st.tlpProbes++;
    lossState(cong).tlpHighSeq = snd.nxt;
  }
  // RFC 8985 §7.3: after the probe, the RTO.
  armRtx(sk, TimerKind.RETRANS, sk.rtt.rto);
}

/**
 * An ACK while a tail loss probe is outstanding (RFC 8985 §7.4, Linux
 * `tcp_process_tlp_ack`): if the probe retransmitted data and the ACK goes
 * past it without a D-SACK saying the probe was a duplicate, the original
 * was lost and the probe repaired it: reduce cwnd once (CWR).
 */
function tlpAck(sk: Tcb, flag: number): void {
  const cong = sk.cong;
  const loss = lossState(cong);
  const ack = sk.snd.una;
  if (seqBefore(ack, loss.tlpHighSeq)) return;
  if (!loss.tlpRetrans) {
    loss.tlpHighSeq = -1;
    return;
  }
  if ((flag & SackFlag.DSACK) !== 0) {
    loss.tlpHighSeq = -1; // the probe was a duplicate: nothing was lost
  } else if (seqAfter(ack, loss.tlpHighSeq)) {
    loss.tlpHighSeq = -1;
    sk.ctx.stats.tlpRecoveries++;
    enterCwr(sk);
    // The repair is done: the reduction applies at once.
    cong.cwnd = cong.ssthresh;
    cong.state = CaState.OPEN;
  } else if ((flag & (ACK_UNA_ADVANCED | SackFlag.DATA_SACKED)) === 0) {
    loss.tlpHighSeq = -1; // a pure duplicate: original and probe both arrived
  }
}

/**
 * ICMP "fragmentation needed" for a segment of ours in flight (RFC 1191
 * §6.1; the caller checked RFC 5927 §4.1). `quotedLength` is the quoted
 * datagram's total length (for the plateau rule when `nextHopMtu` is 0).
 *
 * @example
 * ```ts
 * // pmtuFragNeeded(tcb, e.nextHopMtu, e.quote.totalLength);
 * ```
 */
export function pmtuFragNeeded(sk: Tcb, nextHopMtu: number, quotedLength: number): void {
  // RFC 1191; IP_PMTUDISC_DONT sends no DF, IP_PMTUDISC_PROBE ignores ICMP.
  const mode = sk.opt.pmtudisc;
  if (mode === PmtuDisc.DONT || mode === PmtuDisc.PROBE) return;
  const ctx = sk.ctx;
  let mtu = nextHopMtu;
  if (mtu === 0) {
    // RFC 1191 §5/§7: an old router; guess the plateau below the datagram.
    mtu = MTU_PLATEAUS.find((p) => p < quotedLength) ?? 68;
  } else if (mtu >= quotedLength) {
    // The datagram would have fit: a confused or forged message.
    sk.ctx.drops.count("tcp.pmtu_bogus");
    return;
  }
  const cur = pathMtu(sk);
  if (mtu >= cur) return; // RFC 1191 §6.3: an ICMP never raises the estimate
  const floor = ctx.config.pmtuMin;
  if (mtu < floor) {
    // §8 row 14: a forged tiny MTU stops at the floor; DF goes so a path
    // that really is smaller still gets the data (fragmented).
    ctx.drops.count("tcp.pmtu_below_floor");
    mtu = floor;
    pathMtuState(sk).pmtuLocked = true;
    if (mtu >= cur) return;
  }
  const m = pathMtuState(sk);
  m.pmtu = mtu;
  m.pmtuStamp = sk.now();
  ctx.stats.pmtuUpdates++;
  shrinkMss(sk);
}

/**
 * The MSS fell (a smaller path MTU: RFC 1191 over IPv4, an ICMPv6 Packet
 * Too Big over IPv6, RFC 8201 §5.2): resize, and resend at once what is in
 * flight and no longer fits (Linux `tcp_simple_retransmit`), through the
 * scoreboard (marked lost, so SACK and recovery accounting stay right).
 * cwnd and ssthresh stay: the data in the network did not grow, its units
 * shrank.
 *
 * @example
 * ```ts
 * // shrinkMss(tcb); // after the path MTU estimate went down
 * ```
 */
export function shrinkMss(sk: Tcb): void {
  const snd = sk.snd;
  const before = snd.mss;
  syncMss(sk);
  const mss = snd.mss;
  // Nothing in flight outgrew a size that did not shrink (TCP_MAXSEG, or
  // the peer's MSS, was already smaller): TSO super-segments are not "too large".
  if (mss >= before) return;
  const cong = sk.cong;
  let marked = false;
  for (let skb = snd.queue.head; skb !== null && skb !== snd.head; skb = skb.next) {
    if (skb.len > mss && (skb.tcpFlags & TcpFlags.SYN) === 0 && markLost(sk, skb)) marked = true;
  }
  if (!marked) return;
  if (cong.state !== CaState.LOSS) {
    cong.state = CaState.LOSS;
    cong.inRecovery = false;
    cong.highSeq = snd.nxt;
    if (cong.loss !== null) cong.loss.undoRetrans = -1;
    cong.frto = false;
  }
  writeXmit(sk, nagleMode(sk));
}
