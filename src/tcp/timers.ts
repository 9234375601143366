/**
 * TCP timers (Linux `tcp_timer.c`): retransmission with exponential backoff
 * (RFC 6298), zero-window probes (persist, MUST-35/36, SHLD-29/30), delayed
 * ACK (MUST-40), keepalive (MUST-24…29), FIN-WAIT-2 and TIME-WAIT (2 × MSL,
 * MUST-13), and the R2 / user-timeout limits (MUST-20…23).
 *
 * Each socket has three slots, like Linux: retransmit-or-probe, delayed ACK,
 * and keepalive (shared by FIN-WAIT-2 and TIME-WAIT). The retransmit slot is
 * re-armed lazily: pushing its deadline later only records the deadline, and
 * an early firing re-arms for the rest, so an ACK stream costs no timer-heap
 * work per segment.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { TcpState } from "./state.ts";
import { type TcpSock, type TcpTimerHooks, TimerKind } from "./sock.ts";

/**
 * Arm the retransmit/probe slot to fire `delay` ms from now.
 *
 * @example
 * ```ts
 * // armRtx(sk, TimerKind.RETRANS, sk.rto);
 * ```
 */
export function armRtx(sk: TcpSock, kind: number, delay: number): void {
  const clock = sk.ctx.clock;
  const deadline = clock.now() + delay;
  sk.rtxKind = kind;
  sk.rtxDeadline = deadline;
  const t = sk.rtxTimer;
  if (t !== null && t.pending && t.when <= deadline) return; // lazy: fires early, re-arms
  if (t !== null) clock.clearTimer(t);
  sk.rtxTimer = clock.setTimer(delay, sk.onRtxTimer);
}

/**
 * Stop the retransmit/probe slot.
 *
 * @example
 * ```ts
 * // clearRtx(sk); // everything acknowledged (RFC 6298 R6)
 * ```
 */
export function clearRtx(sk: TcpSock): void {
  sk.rtxKind = TimerKind.NONE;
  if (sk.rtxTimer !== null) {
    sk.ctx.clock.clearTimer(sk.rtxTimer);
    sk.rtxTimer = null;
  }
}

/**
 * Owe an ACK within the delayed-ACK timeout.
 *
 * @example
 * ```ts
 * // armDelack(sk); // ACK within config.delack ms
 * ```
 */
export function armDelack(sk: TcpSock): void {
  sk.ackPending = true;
  const t = sk.delackTimer;
  if (t !== null && t.pending) return;
  sk.delackTimer = sk.ctx.clock.setTimer(sk.ctx.config.delack, sk.onDelackTimer);
}

/**
 * No ACK owed any more.
 *
 * @example
 * ```ts
 * // clearDelack(sk); // an ACK just went out
 * ```
 */
export function clearDelack(sk: TcpSock): void {
  sk.ackPending = false;
  if (sk.delackTimer !== null) {
    sk.ctx.clock.clearTimer(sk.delackTimer);
    sk.delackTimer = null;
  }
}

/**
 * Arm the keepalive slot (keepalive, FIN-WAIT-2 or TIME-WAIT) for `delay` ms.
 *
 * @example
 * ```ts
 * // armKeep(sk, sk.timeWaitLen); // TIME-WAIT
 * ```
 */
export function armKeep(sk: TcpSock, delay: number): void {
  const clock = sk.ctx.clock;
  if (sk.keepTimer !== null) clock.clearTimer(sk.keepTimer);
  sk.keepDeadline = clock.now() + delay;
  sk.keepTimer = clock.setTimer(delay, sk.onKeepTimer);
}

/**
 * Stop the keepalive slot.
 *
 * @example
 * ```ts
 * // clearKeep(sk);
 * ```
 */
export function clearKeep(sk: TcpSock): void {
  if (sk.keepTimer !== null) {
    sk.ctx.clock.clearTimer(sk.keepTimer);
    sk.keepTimer = null;
  }
}

/**
 * Cancel every timer of a socket.
 *
 * @example
 * ```ts
 * // clearAllTimers(sk); // the TCB is finished
 * ```
 */
export function clearAllTimers(sk: TcpSock): void {
  clearRtx(sk);
  clearDelack(sk);
  clearKeep(sk);
}

/**
 * (Re)start keepalive for an idle connection when SO_KEEPALIVE is on.
 *
 * @example
 * ```ts
 * // resetKeepalive(sk); // on ESTABLISHED with SO_KEEPALIVE
 * ```
 */
export function resetKeepalive(sk: TcpSock): void {
  const s = sk.state;
  if (!sk.keepalive || (s !== TcpState.ESTABLISHED && s !== TcpState.CLOSE_WAIT)) return;
  sk.probesOut = 0;
  armKeep(sk, sk.keepIdle);
}

/**
 * The persist-timer delay: RTO backed off, up to RTO_MAX (SHLD-30).
 *
 * @example
 * ```ts
 * // armRtx(sk, TimerKind.PROBE, probeDelay(sk));
 * ```
 */
export function probeDelay(sk: TcpSock): number {
  return Math.min(sk.rto * 2 ** Math.min(sk.backoff, 16), sk.ctx.config.rtoMax);
}

/** The connection's R2 deadline in ms: TCP_USER_TIMEOUT if set, else R2 (SYN R2 for SYNs). */
function r2(sk: TcpSock, syn: boolean): number {
  if (sk.userTimeout > 0) return sk.userTimeout;
  return syn ? sk.ctx.config.synR2 : sk.ctx.config.r2;
}

/**
 * The timer callbacks, bound per socket by `TcpSock`. `ops` supplies the
 * connection-ending and sending functions (avoids an import cycle).
 *
 * @example
 * ```ts
 * // timerHooks({ fail, retransmitHead, writeXmit, writeWakeup, sendAck, sendProbe, finish, dropRequest });
 * ```
 */
export interface TimerOps {
  /** Abort with `errno` (ETIMEDOUT): error to the user, CLOSED. */
  fail(sk: TcpSock, errno: number): void;
  /** Retransmit the first unacknowledged segment. */
  retransmitHead(sk: TcpSock): void;
  /** Send what the windows allow (go-back-N after an RTO). */
  writeXmit(sk: TcpSock): void;
  /** Send an ACK now. */
  sendAck(sk: TcpSock): void;
  /** Send a keepalive / zero-window probe. */
  sendProbe(sk: TcpSock): void;
  /** Send what a nonzero window allows, ignoring Nagle/SWS; false if the window is zero. */
  writeWakeup(sk: TcpSock): boolean;
  /** TIME-WAIT or orphaned FIN-WAIT-2 ran out: CLOSED and released. */
  finish(sk: TcpSock): void;
  /** A SYN-queue entry gave up (no RST, Linux drops the request). */
  dropRequest(sk: TcpSock): void;
}

/**
 * Build the per-socket timer hooks over `ops`.
 *
 * @example
 * ```ts
 * // const hooks = timerHooks(ops); new TcpSock(ctx, hooks);
 * ```
 */
export function timerHooks(ops: TimerOps): TcpTimerHooks {
  return {
    /** Retransmit / persist slot fired. */
    rtx(sk) {
      sk.rtxTimer = null;
      const kind = sk.rtxKind;
      if (kind === TimerKind.NONE) return;
      const now = sk.ctx.clock.now();
      if (now < sk.rtxDeadline) {
        sk.rtxTimer = sk.ctx.clock.setTimer(sk.rtxDeadline - now, sk.onRtxTimer);
        return;
      }
      sk.rtxKind = TimerKind.NONE;
      if (kind === TimerKind.PROBE) probeTimer(sk, ops);
      else retransmitTimer(sk, ops);
    },
    /** Delayed-ACK slot fired. */
    delack(sk) {
      sk.delackTimer = null;
      if (!sk.ackPending) return;
      sk.ctx.stats.delayedAcks++;
      ops.sendAck(sk);
    },
    /** Keepalive / FIN-WAIT-2 / TIME-WAIT slot fired. */
    keep(sk) {
      sk.keepTimer = null;
      const s = sk.state;
      if (s === TcpState.TIME_WAIT) return ops.finish(sk);
      if (s === TcpState.FIN_WAIT_2) return ops.finish(sk); // orphaned FIN-WAIT-2 timeout
      keepaliveTimer(sk, ops);
    },
  };
}

/** RTO expiry (`tcp_retransmit_timer`). */
function retransmitTimer(sk: TcpSock, ops: TimerOps): void {
  const head = sk.writeQueue.head;
  if (head === null) return;
  if (head === sk.sendHead && sk.sndNxt === sk.sndUna) {
    // Nothing in flight (the window closed under us): persist instead.
    armRtx(sk, TimerKind.PROBE, probeDelay(sk));
    return;
  }
  const st = sk.ctx.stats;
  const cfg = sk.ctx.config;
  const now = sk.ctx.clock.now();
  const syn = sk.state === TcpState.SYN_SENT || sk.state === TcpState.SYN_RECEIVED;
  st.timeouts++;
  if (sk.retransmits === 0) sk.retransStamp = head.when;
  // MUST-20/22/23: at R2 (or the user timeout, MUST-21) close the connection.
  // R1 "negative advice to IP" has no effect here: routes are static.
  if (sk.passive && sk.state === TcpState.SYN_RECEIVED && sk.parent !== null) {
    if (sk.retransmits >= cfg.synAckRetries) return ops.dropRequest(sk);
  } else if (now - sk.retransStamp >= r2(sk, syn)) {
    st.abortOnTimeout++;
    return ops.fail(sk, sk.softErr !== 0 ? sk.softErr : Errno.ETIMEDOUT);
  }
  if (syn) {
    st.synRetrans++;
    ops.retransmitHead(sk);
  } else {
    // RFC 5681 §3.1 / C4, RFC 6582 §3.2 step 4: a timeout ends recovery,
    // halves ssthresh (once per loss episode) and restarts from 1 SMSS.
    if (sk.backoff === 0) sk.ssthresh = sk.ctx.cc.ssthresh(sk);
    sk.ctx.cc.onRto(sk);
    sk.inRecovery = false;
    sk.dupAcks = 0;
    sk.recover = sk.sndMax;
    sk.rttSeq = -1; // Karn
    // Go back N: everything after SND.UNA is resent as cwnd allows (the
    // receiver keeps what it already has out of order).
    sk.sndNxt = sk.sndUna;
    sk.sendHead = head;
    if ((head.tcpFlags & TcpFlags.SYN) !== 0) ops.retransmitHead(sk);
    else ops.writeXmit(sk);
  }
  sk.retransmits++;
  sk.backoff++;
  // R6 / MUST-19: back off exponentially up to the ceiling.
  sk.rto = Math.min(sk.rto * 2, cfg.rtoMax);
  if (sk.sndNxt !== sk.sndUna) armRtx(sk, TimerKind.RETRANS, sk.rto);
  // MUST-34: a window that shrank to zero leaves nothing in flight — probe it.
  else if (sk.rtxKind === TimerKind.NONE) armRtx(sk, TimerKind.PROBE, probeDelay(sk));
}

/** Persist timer (`tcp_probe_timer`): probe a zero window, backing off (SHLD-30). */
function probeTimer(sk: TcpSock, ops: TimerOps): void {
  if (sk.sendHead === null || sk.sndNxt !== sk.sndUna) return;
  // MUST-37: keep probing as long as the peer answers; only a user timeout ends it.
  if (sk.userTimeout > 0 && sk.probesOut > 0 && sk.now() - sk.lastRcv >= sk.userTimeout) {
    sk.ctx.stats.abortOnTimeout++;
    return ops.fail(sk, Errno.ETIMEDOUT);
  }
  // KI-7: an orphan (the user closed it) is not kept alive by a peer that
  // answers every probe with a zero window (Sockstress; RFC 6429 §2 lets an
  // implementation abort such a connection, MUST-37 concerns a connection the
  // user still holds). After `orphanRetries` backed-off probes it is aborted
  // and its send buffer freed (Linux tcp_probe_timer: tcp_orphan_retries,
  // 8 probes while the peer is alive).
  if (sk.orphan && sk.backoff >= sk.ctx.config.orphanRetries) {
    sk.ctx.stats.abortOnTimeout++;
    return ops.fail(sk, Errno.ETIMEDOUT);
  }
  sk.ctx.stats.zeroWindowProbes++;
  sk.probesOut++;
  sk.backoff++;
  // Send what the window allows (even a sliver: `tcp_write_wakeup`), else a bare probe.
  if (!ops.writeWakeup(sk)) ops.sendProbe(sk);
  if (sk.rtxKind === TimerKind.NONE) armRtx(sk, TimerKind.PROBE, probeDelay(sk));
}

/** Keepalive (`tcp_keepalive_timer`): MUST-26 only when idle, MUST-29 several probes. */
function keepaliveTimer(sk: TcpSock, ops: TimerOps): void {
  const s = sk.state;
  if (!sk.keepalive || (s !== TcpState.ESTABLISHED && s !== TcpState.CLOSE_WAIT)) return;
  const now = sk.ctx.clock.now();
  // Anything outstanding: the retransmission timer watches the connection.
  if (sk.sndNxt !== sk.sndUna || sk.sendHead !== null) return armKeep(sk, sk.keepIdle);
  const idle = now - sk.lastRcv;
  if (idle < sk.keepIdle && sk.probesOut === 0) return armKeep(sk, sk.keepIdle - idle);
  if (sk.probesOut >= sk.keepCnt) {
    sk.ctx.stats.abortOnTimeout++;
    return ops.fail(sk, Errno.ETIMEDOUT);
  }
  sk.probesOut++;
  sk.ctx.stats.keepaliveProbes++;
  ops.sendProbe(sk);
  armKeep(sk, sk.keepIntvl);
}
