/**
 * What happens when a connection's timers fire (Linux `tcp_timer.c`):
 * retransmission with exponential backoff (RFC 6298), zero-window probes
 * (persist, MUST-35/36, SHLD-29/30), delayed ACK (MUST-40), keepalive
 * (MUST-24…29), FIN-WAIT-2 and TIME-WAIT (2 × MSL, MUST-13), and the R2 /
 * user-timeout limits (MUST-20…23).
 *
 * {@link newTcb} builds every TCB and binds its three timer callbacks to the
 * handlers here (Linux `tcp_init_xmit_timers`); `timers.ts` only arms and
 * stops them.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { TimerKind } from "./config.ts";
import { dropRequest, tcpDone, tcpFail } from "./lifecycle.ts";
import { Nagle, retransmitHead, sendAck, sendProbe, writeWakeup, writeXmit } from "./output.ts";
import { BLACK_HOLE_RETRIES, mtupBlackHole } from "./pmtu.ts";
import { enterLoss, reoTimeout, tlpFire } from "./recovery.ts";
import { TcpState } from "./state.ts";
import { Tcb, type TcpContext } from "./tcb.ts";
import { armKeep, armRtx, probeDelay, rearmTimers, rtoClampedToUserTimeout } from "./timers.ts";

/**
 * A new CLOSED TCB with its timer callbacks bound (the only way TCBs are made).
 *
 * @example
 * ```ts
 * // const tcb = newTcb(stack.tcp.ctx);
 * ```
 */
export function newTcb(ctx: TcpContext): Tcb {
  const sk = new Tcb(ctx);
  // One shared function and the TCB as its argument: no closure (and
  // context) per connection.
  const t = sk.timers.timer;
  t.callback = tcbTimerFired;
  t.arg = sk;
  return sk;
}

function tcbTimerFired(sk: unknown): void {
  timerExpired(sk as Tcb);
}

/**
 * The shared timer fired: run every slot that is due (delayed ACK, then
 * retransmit / persist, then keepalive), then re-arm for the earliest slot
 * still on. Slots whose deadlines moved later are simply not due yet.
 */
function timerExpired(sk: Tcb): void {
  const t = sk.timers;
  const now = sk.ctx.clock.now();
  if (t.delackDeadline <= now) {
    t.delackDeadline = Infinity;
    delackExpired(sk);
  }
  if (t.rtxDeadline <= now) {
    const kind = t.rtxKind;
    t.rtxKind = TimerKind.NONE;
    t.rtxDeadline = Infinity;
    if (kind === TimerKind.PROBE) probeTimer(sk);
    else if (kind === TimerKind.RETRANS) retransmitTimer(sk);
    else if (kind === TimerKind.LOSS_PROBE) tlpFire(sk);
    else if (kind === TimerKind.REO) reoTimeout(sk);
  }
  if (t.keepDeadline <= now) {
    t.keepDeadline = Infinity;
    keepExpired(sk);
  }
  rearmTimers(sk);
}

/** Delayed-ACK slot fired (`tcp_delack_timer`). */
function delackExpired(sk: Tcb): void {
  const rcv = sk.rcv;
  if (!rcv.ackPending) return;
  // The ACK waited for a reply that did not come: stop treating the
  // connection as interactive (Linux tcp_delack_timer_handler).
  rcv.pingpong = false;
  sk.ctx.stats.delayedAcks++;
  sendAck(sk);
}

/** Keepalive / FIN-WAIT-2 / TIME-WAIT slot fired (`tcp_keepalive_timer`, `tcp_time_wait`). */
function keepExpired(sk: Tcb): void {
  const s = sk.state;
  // TIME-WAIT ran out, or an orphaned FIN-WAIT-2 timed out: CLOSED and released.
  if (s === TcpState.TIME_WAIT || s === TcpState.FIN_WAIT_2) return tcpDone(sk);
  keepaliveTimer(sk);
}

/** The connection's R2 deadline in ms: TCP_USER_TIMEOUT if set, else R2 (SYN R2 for SYNs). */
function r2(sk: Tcb, syn: boolean): number {
  if (sk.opt.userTimeout > 0) return sk.opt.userTimeout;
  return syn ? sk.ctx.config.synR2 : sk.ctx.config.r2;
}

/** RTO expiry (`tcp_retransmit_timer`). */
function retransmitTimer(sk: Tcb): void {
  const snd = sk.snd;
  const head = snd.queue.head;
  if (head === null) return;
  if (head === snd.head && snd.nxt === snd.una) {
    // Nothing in flight (the window closed under us): persist instead.
    armRtx(sk, TimerKind.PROBE, probeDelay(sk));
    return;
  }
  const ctx = sk.ctx;
  const st = ctx.stats;
  const cfg = ctx.config;
  const rtt = sk.rtt;
  const now = ctx.clock.now();
  const syn = sk.state === TcpState.SYN_SENT || sk.state === TcpState.SYN_RECEIVED;
  st.timeouts++;
  if (snd.retransmits === 0) snd.retransStamp = Math.floor(head.when); // see Tcb.stampNow
  // MUST-20/22/23: at R2 (or the user timeout, MUST-21) close the connection.
  // R1 "negative advice to IP" has no effect here: routes are static (DEV-7).
  if (sk.passive && sk.state === TcpState.SYN_RECEIVED && sk.parent !== null) {
    if (snd.retransmits >= cfg.synAckRetries) return dropRequest(sk);
  } else if (now - snd.retransStamp >= r2(sk, syn)) {
    st.abortOnTimeout++;
    return tcpFail(sk, sk.softErr !== 0 ? sk.softErr : Errno.ETIMEDOUT);
  }
  if (syn || (head.tcpFlags & TcpFlags.SYN) !== 0) {
    st.synRetrans++;
    // RFC 3168 §6.1.1.1: a SYN that went unanswered may have been dropped
    // for its ECN-setup flags; retransmit it without them (Linux
    // tcp_ecn_clear_syn).
    if ((head.tcpFlags & TcpFlags.ACK) === 0) head.tcpFlags &= ~(TcpFlags.ECE | TcpFlags.CWR);
    retransmitHead(sk);
  } else if (snd.wnd === 0) {
    // MUST-34/35: the peer shrank its window to zero under data in flight.
    // That data is deemed lost; the window is probed as usual (persist,
    // MUST-37: never given up while probes are answered) and the data is
    // resent once it opens.
    enterLoss(sk);
    rtt.seq = -1;
    armRtx(sk, TimerKind.PROBE, probeDelay(sk));
    return;
  } else {
    // RFC 4821 §6.1: timeouts in a row may be a PMTU black hole.
    if (snd.retransmits >= BLACK_HOLE_RETRIES) mtupBlackHole(sk);
    // RFC 5681 §3.1 / C4, RFC 6582 §3.2 step 4: a timeout ends recovery,
    // takes ssthresh (once per loss episode) and restarts from 1 SMSS;
    // everything unSACKed in flight is deemed lost and resent as slow start
    // grows cwnd (`recovery.ts` enterLoss; F-RTO may find it spurious).
    enterLoss(sk);
    rtt.seq = -1; // Karn
    writeXmit(sk, Nagle.PUSH);
  }
  snd.retransmits++;
  rtt.backoff++;
  // R6 / MUST-19: back off exponentially up to the ceiling.
  rtt.rto = Math.min(rtt.rto * 2, cfg.rtoMax);
  if (snd.nxt !== snd.una) armRtx(sk, TimerKind.RETRANS, rtoClampedToUserTimeout(sk));
  // MUST-34: a window that shrank to zero leaves nothing in flight — probe it.
  else if (sk.timers.rtxKind === TimerKind.NONE) armRtx(sk, TimerKind.PROBE, probeDelay(sk));
}

/** Persist timer (`tcp_probe_timer`): probe a zero window, backing off (SHLD-30). */
function probeTimer(sk: Tcb): void {
  const snd = sk.snd;
  // Probe while data waits for a window: unsent data with nothing in flight,
  // or data in flight behind a window that shrank to zero (MUST-34).
  if (snd.nxt !== snd.una ? snd.wnd !== 0 : snd.head === null) return;
  const ctx = sk.ctx;
  const t = sk.timers;
  // MUST-37: keep probing as long as the peer answers; only a user timeout ends it.
  const userTimeout = sk.opt.userTimeout;
  if (userTimeout > 0 && t.probesOut > 0 && sk.now() - sk.rcv.lastRcv >= userTimeout) {
    ctx.stats.abortOnTimeout++;
    return tcpFail(sk, Errno.ETIMEDOUT);
  }
  // KI-7: an orphan (the user closed it) is not kept alive by a peer that
  // answers every probe with a zero window (Sockstress; RFC 6429 §2 lets an
  // implementation abort such a connection, MUST-37 concerns a connection the
  // user still holds). After `orphanRetries` backed-off probes it is aborted
  // and its send buffer freed (Linux tcp_probe_timer: tcp_orphan_retries,
  // 8 probes while the peer is alive).
  if (sk.orphan && sk.rtt.backoff >= ctx.config.orphanRetries) {
    ctx.stats.abortOnTimeout++;
    return tcpFail(sk, Errno.ETIMEDOUT);
  }
  ctx.stats.zeroWindowProbes++;
  t.probesOut++;
  sk.rtt.backoff++;
  // Send what the window allows (even a sliver: `tcp_write_wakeup`), else a bare probe.
  if (!writeWakeup(sk)) sendProbe(sk);
  if (t.rtxKind === TimerKind.NONE) armRtx(sk, TimerKind.PROBE, probeDelay(sk));
}

/** Keepalive (`tcp_keepalive_timer`): MUST-26 only when idle, MUST-29 several probes. */
function keepaliveTimer(sk: Tcb): void {
  const s = sk.state;
  const opt = sk.opt;
  if (!opt.keepalive || (s !== TcpState.ESTABLISHED && s !== TcpState.CLOSE_WAIT)) return;
  const snd = sk.snd;
  const t = sk.timers;
  const now = sk.ctx.clock.now();
  // Anything outstanding: the retransmission timer watches the connection.
  if (snd.nxt !== snd.una || snd.head !== null) return armKeep(sk, opt.keepIdle);
  const idle = now - sk.rcv.lastRcv;
  if (idle < opt.keepIdle && t.probesOut === 0) return armKeep(sk, opt.keepIdle - idle);
  // With TCP_USER_TIMEOUT the probes end when it runs out, not after
  // TCP_KEEPCNT probes (Linux tcp_keepalive_timer).
  const ut = opt.userTimeout;
  if (ut > 0 ? t.probesOut > 0 && idle >= ut : t.probesOut >= opt.keepCnt) {
    sk.ctx.stats.abortOnTimeout++;
    return tcpFail(sk, Errno.ETIMEDOUT);
  }
  t.probesOut++;
  sk.ctx.stats.keepaliveProbes++;
  sendProbe(sk);
  armKeep(sk, opt.keepIntvl);
}
