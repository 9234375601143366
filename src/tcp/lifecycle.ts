/**
 * How connections end and how passively opened ones join their listener:
 * `tcp_done`, `tcp_reset`, failing with an errno, TIME-WAIT (RFC 9293
 * §3.10.7.4, MUST-13), moving a finished handshake to the accept queue, and
 * stopping a listener. The user calls that lead here live in `conn.ts`.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { Shutdown } from "./config.ts";
import { sendActiveReset } from "./output.ts";
import { purgeOfo, purgeReceive } from "./rcv_queue.ts";
import { TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";
import { armKeep, clearAllTimers, clearDelack, clearRtx } from "./timers.ts";

/**
 * Free the write queue.
 *
 * @example
 * ```ts
 * // purgeWrite(tcb); tcb.snd.queue.empty === true
 * ```
 */
export function purgeWrite(sk: Tcb): void {
  sk.snd.queue.purge();
  sk.snd.head = null;
  sk.ctx.mem.forget(sk);
}

/** An orphan stops counting against `maxOrphans` (released, or in TIME-WAIT). */
function orphanGone(sk: Tcb): void {
  if (!sk.orphanCounted) return;
  sk.orphanCounted = false;
  sk.ctx.orphans--;
}

/**
 * Forget a TCB for good: out of the tables and the protocol's set (Linux
 * `inet_csk_destroy_sock`). Its queues must already be empty.
 *
 * @example
 * ```ts
 * // release(tcb); stack.tcp.socks.has(tcb) === false
 * ```
 */
export function release(sk: Tcb): void {
  orphanGone(sk);
  sk.ctx.socks.delete(sk);
}

/**
 * The connection is over (`tcp_done`): CLOSED, timers stopped, unsent and
 * out-of-order data freed, out of the tables. An orphan (closed by the user,
 * or a never-accepted request) is released; otherwise the user can still
 * read what was received.
 *
 * @example
 * ```ts
 * // tcpDone(tcb); // CLOSED, timers stopped, out of the tables
 * ```
 */
export function tcpDone(sk: Tcb): void {
  const wasChild = sk.parent !== null && !sk.inAcceptQueue;
  sk.setState(TcpState.CLOSED);
  clearAllTimers(sk);
  purgeWrite(sk);
  purgeOfo(sk);
  sk.ctx.tables.unhash(sk);
  sk.shutdownMask = Shutdown.BOTH;
  sk.done = true;
  if (wasChild) sk.orphan = true;
  if (sk.orphan) {
    purgeReceive(sk);
    release(sk);
  } else {
    sk.wake();
  }
}

/**
 * A valid RST arrived (`tcp_reset`): ECONNREFUSED in SYN-SENT, EPIPE in
 * CLOSE-WAIT, ECONNRESET otherwise (MUST-12: the user can tell a reset from
 * a FIN).
 *
 * @example
 * ```ts
 * // tcpReset(tcb); tcb.error; // ECONNRESET (ECONNREFUSED in SYN-SENT)
 * ```
 */
export function tcpReset(sk: Tcb): void {
  const st = sk.ctx.stats;
  let err: number = Errno.ECONNRESET;
  switch (sk.state) {
    case TcpState.SYN_SENT:
    case TcpState.SYN_RECEIVED:
      // SYN-RECEIVED here is an active open that went through simultaneous
      // open: back to CLOSED (MUST-11).
      err = Errno.ECONNREFUSED;
      st.attemptFails++;
      break;
    case TcpState.CLOSE_WAIT:
      err = Errno.EPIPE;
      st.estabResets++;
      break;
    case TcpState.ESTABLISHED:
      st.estabResets++;
      break;
  }
  if (!sk.orphan) sk.skErr = err;
  tcpDone(sk);
}

/**
 * A passively opened SYN-RECEIVED connection got a RST: the request goes; the listener stays (MUST-11).
 *
 * @example
 * ```ts
 * // tcpResetChild(child); // listener.listen.synQueue no longer holds it
 * ```
 */
export function tcpResetChild(sk: Tcb): void {
  sk.ctx.stats.attemptFails++;
  sk.orphan = true;
  tcpDone(sk);
}

/**
 * Give up with `errno` (R2, user timeout, keepalive, ICMP hard error).
 *
 * @example
 * ```ts
 * import { Errno } from "../core/errno.ts";
 * // tcpFail(tcb, Errno.ETIMEDOUT);
 * Errno.ETIMEDOUT; // 110
 * ```
 */
export function tcpFail(sk: Tcb, errno: number): void {
  const st = sk.ctx.stats;
  if (sk.state === TcpState.SYN_SENT || sk.state === TcpState.SYN_RECEIVED) st.attemptFails++;
  else if (sk.state === TcpState.ESTABLISHED || sk.state === TcpState.CLOSE_WAIT) {
    st.estabResets++;
  }
  if (sk.passive && sk.state === TcpState.SYN_RECEIVED) sk.orphan = true;
  if (!sk.orphan) sk.skErr = errno;
  tcpDone(sk);
}

/**
 * A SYN-queue entry gives up (its SYN-ACKs went unanswered, or its listener
 * went away): no RST, no error to anyone (Linux drops the request sock).
 *
 * @example
 * ```ts
 * // dropRequest(child); // the listener's SYN queue shrinks by one
 * ```
 */
export function dropRequest(sk: Tcb): void {
  sk.orphan = true;
  tcpDone(sk);
}

/**
 * Enter TIME-WAIT for 2 × MSL (MUST-13; the socket's `timeWaitLen`). The
 * TCB stays in the established table as the 4-tuple's guard; its send and
 * out-of-order queues go now.
 *
 * @example
 * ```ts
 * // enterTimeWait(tcb); tcb.state === TcpState.TIME_WAIT
 * ```
 */
export function enterTimeWait(sk: Tcb): void {
  if (sk.ctx.timeWaitCount >= sk.ctx.config.maxTimeWait) {
    // §8 row 18 (Linux "time wait bucket table overflow"): no TIME-WAIT.
    sk.ctx.drops.count("tcp.timewait_overflow");
    tcpDone(sk);
    return;
  }
  sk.setState(TcpState.TIME_WAIT);
  orphanGone(sk);
  clearRtx(sk);
  clearDelack(sk);
  purgeWrite(sk);
  purgeOfo(sk);
  sk.done = true;
  armKeep(sk, sk.opt.timeWaitLen);
}

/**
 * A passively opened child's handshake completes: move it to the listener's
 * accept queue (false when that queue is full). Non-children pass.
 *
 * @example
 * ```ts
 * // if (!establishChild(child)) stats.listenOverflows++;
 * ```
 */
export function establishChild(sk: Tcb): boolean {
  const parent = sk.parent;
  if (parent === null || !sk.passive) return true;
  const lq = parent.listen;
  if (parent.state !== TcpState.LISTEN || lq === null) return false;
  if (lq.acceptQueue.length >= lq.backlog) return false;
  sk.ctx.stats.passiveOpens++;
  lq.acceptQueue.push(sk);
  sk.inAcceptQueue = true;
  parent.wake();
  return true;
}

/**
 * Stop a listener's queues: drop its SYN queue, reset connections never
 * accepted (Linux `inet_csk_listen_stop`).
 *
 * @example
 * ```ts
 * // stopListener(tcb); // before the listener itself closes
 * ```
 */
export function stopListener(sk: Tcb): void {
  const lq = sk.listen;
  if (lq === null) return;
  for (const child of [...lq.synQueue]) dropRequest(child);
  for (const child of lq.acceptQueue.splice(0)) {
    child.inAcceptQueue = false;
    child.parent = null;
    child.orphan = true;
    if (child.state !== TcpState.CLOSED) {
      if (child.state !== TcpState.TIME_WAIT) sendActiveReset(child);
      tcpDone(child);
    } else {
      purgeReceive(child);
      release(child);
    }
  }
}
