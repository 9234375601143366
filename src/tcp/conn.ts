/**
 * Connection management: the user calls of RFC 9293 §3.10.1–§3.10.6 (OPEN,
 * CLOSE, ABORT; SEND is in `send.ts`, RECEIVE in `recv.ts`) in their BSD
 * shape — bind, listen, connect, accept, shutdown, close, abort.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { AddrType } from "../ipv4/layer.ts";
import type { Ipv4Address } from "../wire/addr.ts";
import { Shutdown } from "./config.ts";
import { purgeWrite, release, stopListener, tcpDone, tcpFail } from "./lifecycle.ts";
import { connectInit } from "./options.ts";
import { sendActiveReset, sendSyn } from "./output.ts";
import { purgeReceive } from "./rcv_queue.ts";
import { orphanCheck } from "./pressure.ts";
import { sendFin } from "./send.ts";
import { TcpState } from "./state.ts";
import { keepRoute } from "./dst.ts";
import { ListenState, type Tcb } from "./tcb.ts";
import { armKeep, clearAllTimers } from "./timers.ts";
import { TCP_DEFAULT_MSS } from "../wire/tcp_options.ts";

/** INADDR_LOOPBACK: connect() to 0.0.0.0 means this host (Linux). */
const INADDR_LOOPBACK = 0x7f000001;

/**
 * bind(): take `laddr:port` (port 0 = pick one). 0 or -errno.
 *
 * @example
 * ```ts
 * // tcpBind(tcb, 0, 8080) === 0 // same as sk.bind(0, 8080)
 * ```
 */
export function tcpBind(sk: Tcb, laddr: Ipv4Address, port: number): number {
  if (sk.state !== TcpState.CLOSED || sk.lport !== 0) return -Errno.EINVAL;
  if (!(port >= 0 && port <= 65535)) return -Errno.EINVAL;
  laddr >>>= 0;
  if (laddr !== 0 && sk.ctx.ipv4.addrType(laddr) !== AddrType.LOCAL) return -Errno.EADDRNOTAVAIL;
  const r = sk.ctx.tables.bind(sk, laddr, port);
  if (r < 0) return r;
  sk.laddr = laddr;
  return 0;
}

/**
 * listen(): enter LISTEN, or only update the backlog when already listening.
 *
 * @example
 * ```ts
 * // tcpListen(tcb, 128) === 0 // same as sk.listen(128)
 * ```
 */
export function tcpListen(sk: Tcb, backlog: number): number {
  const b = Math.max(1, Math.min(backlog | 0, sk.ctx.config.somaxconn));
  if (sk.state === TcpState.LISTEN && sk.listen !== null) {
    sk.listen.backlog = b; // listen() again only updates the backlog
    return 0;
  }
  if (sk.state !== TcpState.CLOSED) return -Errno.EINVAL;
  if (sk.lport === 0) {
    const r = tcpBind(sk, 0, 0);
    if (r < 0) return r;
  }
  const r = sk.ctx.tables.listen(sk);
  if (r < 0) return r;
  sk.listen = new ListenState(b);
  sk.done = false;
  sk.shutdownMask = 0;
  sk.setState(TcpState.LISTEN);
  return 0;
}

/**
 * connect(): active OPEN (`tcp_v4_connect` + `tcp_connect`). Returns
 * `-EINPROGRESS` once the SYN is out; completion is signalled by a state
 * change (POLLOUT) or an error (POLLERR).
 *
 * @example
 * ```ts
 * // tcpConnect(tcb, 0xc0000202, 80) === -Errno.EINPROGRESS
 * ```
 */
export function tcpConnect(
  sk: Tcb,
  raddr: Ipv4Address,
  rport: number,
  laddr?: Ipv4Address,
): number {
  const ctx = sk.ctx;
  switch (sk.state) {
    case TcpState.SYN_SENT:
    case TcpState.SYN_RECEIVED:
      return -Errno.EALREADY;
    case TcpState.CLOSED:
      break;
    default:
      return -Errno.EISCONN;
  }
  if (sk.done) return -Errno.EISCONN; // no reuse of a finished TCB
  raddr >>>= 0;
  if (raddr === 0) raddr = INADDR_LOOPBACK;
  if (!(rport > 0 && rport <= 65535)) return -Errno.EINVAL;
  // MUST-46: no connections to broadcast or multicast addresses.
  const kind = ctx.ipv4.addrType(raddr);
  if (kind === AddrType.BROADCAST || kind === AddrType.MULTICAST) return -Errno.ENETUNREACH;
  const rt = ctx.ipv4.route(raddr);
  if (rt === null) return -Errno.ENETUNREACH;
  // MUST-44/45: the local address comes from the bind or the route, once.
  let src = (laddr ?? sk.laddr) >>> 0;
  if (src === 0) src = rt.src >>> 0;
  else if (ctx.ipv4.addrType(src) !== AddrType.LOCAL) return -Errno.EADDRNOTAVAIL;
  const snd = sk.snd;
  snd.mssClamp = TCP_DEFAULT_MSS;
  keepRoute(sk, rt);
  // SYN-SENT before the port is chosen (Linux tcp_v4_connect).
  sk.setState(TcpState.SYN_SENT);
  sk.laddr = src;
  sk.raddr = raddr;
  sk.rport = rport;
  const r = ctx.tables.connect(sk, src, raddr, rport);
  if (r < 0) {
    sk.raddr = 0;
    sk.rport = 0;
    sk.setState(TcpState.CLOSED);
    return r;
  }
  connectInit(sk, rt.mtu);
  snd.iss = snd.presetIss >= 0
    ? snd.presetIss
    : ctx.isn.isn(sk.laddr, sk.lport, sk.raddr, sk.rport) >>> 0;
  sk.tsOffset = ctx.isn.tsOffset(sk.laddr, sk.raddr) >>> 0;
  sk.cong.recover = snd.iss;
  snd.wl2 = snd.iss;
  ctx.stats.activeOpens++;
  const e = sendSyn(sk, false);
  if (e < 0) {
    tcpDone(sk);
    sk.done = false;
    return e;
  }
  return -Errno.EINPROGRESS;
}

/**
 * accept(): the next established child, or null (non-blocking: -EAGAIN is the caller's).
 *
 * @example
 * ```ts
 * // const child = tcpAccept(listener); // null when none waits
 * ```
 */
export function tcpAccept(sk: Tcb): Tcb | null {
  if (sk.state !== TcpState.LISTEN || sk.listen === null) return null;
  const child = sk.listen.acceptQueue.shift();
  if (child === undefined) return null;
  child.inAcceptQueue = false;
  child.parent = null;
  return child;
}

/**
 * shutdown(how): 0 = SHUT_RD, 1 = SHUT_WR, 2 = SHUT_RDWR.
 *
 * @example
 * ```ts
 * // tcpShutdown(tcb, 1); // SHUT_WR: FIN, FIN-WAIT-1 or LAST-ACK
 * ```
 */
export function tcpShutdown(sk: Tcb, how: number): number {
  if (how !== 0 && how !== 1 && how !== 2) return -Errno.EINVAL;
  const mask = how + 1; // RCV = 1, SEND = 2, BOTH = 3
  const s = sk.state;
  if (s === TcpState.CLOSED) {
    sk.shutdownMask |= mask;
    return -Errno.ENOTCONN;
  }
  if (s === TcpState.LISTEN) {
    // shutdown(SHUT_RD) on a listener disconnects it (Linux inet_shutdown).
    if (mask & Shutdown.RCV) stopListening(sk);
    return 0;
  }
  if (s === TcpState.SYN_SENT) {
    tcpDone(sk);
    sk.done = false;
    return 0;
  }
  sk.shutdownMask |= mask & Shutdown.RCV;
  if ((mask & Shutdown.SEND) && !(sk.shutdownMask & Shutdown.SEND)) {
    sk.shutdownMask |= Shutdown.SEND;
    closeSend(sk);
  }
  sk.wake();
  return 0;
}

/** Our half goes: FIN and the RFC 9293 §3.10.4 transition. */
function closeSend(sk: Tcb): void {
  switch (sk.state) {
    case TcpState.SYN_RECEIVED:
    case TcpState.ESTABLISHED:
      sk.setState(TcpState.FIN_WAIT_1);
      break;
    case TcpState.CLOSE_WAIT:
      sk.setState(TcpState.LAST_ACK);
      break;
    default:
      return;
  }
  if (sendFin(sk) < 0) {
    // No buffer for the FIN: without it the close never completes and the
    // peer is never told. Abort (RFC 9293 §3.10.5 ABORT: RST, CLOSED) and
    // report ENOBUFS to a user who still holds the socket.
    sendActiveReset(sk);
    tcpFail(sk, Errno.ENOBUFS);
  }
}

/** A listener stops: its queues go, it leaves the tables, CLOSED. */
function stopListening(sk: Tcb): void {
  stopListener(sk);
  sk.ctx.tables.unhash(sk);
  sk.setState(TcpState.CLOSED);
}

/** Release a TCB that never got (or no longer has) a connection. */
function releaseUnconnected(sk: Tcb): void {
  clearAllTimers(sk);
  purgeWrite(sk);
  sk.ctx.tables.unhash(sk);
  release(sk);
}

/**
 * close(): the user is done with the socket (RFC 9293 §3.10.4, Linux
 * `tcp_close`). Unread data or SO_LINGER 0 → RST (RFC 2525 §2.17);
 * otherwise FIN and the connection finishes on its own; the TCB is
 * released when it reaches CLOSED.
 *
 * @example
 * ```ts
 * // tcpClose(tcb); // FIN, or RST with unread data
 * ```
 */
export function tcpClose(sk: Tcb): void {
  if (sk.orphan) return;
  const ctx = sk.ctx;
  const s = sk.state;
  sk.onEvent = null;
  if (s === TcpState.LISTEN) stopListening(sk);
  const unread = sk.rcv.queued > 0;
  sk.orphan = true;
  sk.shutdownMask = Shutdown.BOTH;
  purgeReceive(sk);
  switch (s) {
    case TcpState.CLOSED:
    case TcpState.LISTEN:
      releaseUnconnected(sk);
      return;
    case TcpState.SYN_SENT:
      tcpDone(sk);
      return;
    case TcpState.TIME_WAIT:
      return; // the timer releases it
  }
  if (unread || sk.opt.linger === 0) {
    // RFC 2525 §2.17 / RFC 9293 §3.10.4 ABORT: data would be lost → RST.
    if (unread) ctx.stats.abortOnClose++;
    else ctx.stats.abortOnLinger++;
    if (s !== TcpState.SYN_RECEIVED || !sk.passive) sendActiveReset(sk);
    tcpDone(sk);
    return;
  }
  switch (s) {
    case TcpState.SYN_RECEIVED:
    case TcpState.ESTABLISHED:
    case TcpState.CLOSE_WAIT:
      closeSend(sk);
      break;
    case TcpState.FIN_WAIT_2:
      armKeep(sk, ctx.config.finTimeout);
      break;
  }
  // It lingers as an orphan: count it, and reset it past tcp_max_orphans.
  orphanCheck(sk);
}

/**
 * ABORT (RFC 9293 §3.10.5): RST if synchronized, CLOSED, released.
 *
 * @example
 * ```ts
 * // tcpAbort(tcb); // RST, CLOSED
 * ```
 */
export function tcpAbort(sk: Tcb): void {
  if (sk.orphan) return;
  const s = sk.state;
  if (
    s === TcpState.SYN_RECEIVED || s === TcpState.ESTABLISHED || s === TcpState.FIN_WAIT_1 ||
    s === TcpState.FIN_WAIT_2 || s === TcpState.CLOSE_WAIT
  ) {
    sendActiveReset(sk);
    sk.ctx.stats.abortOnClose++;
  }
  sk.onEvent = null;
  if (s === TcpState.LISTEN) stopListening(sk);
  sk.orphan = true;
  purgeReceive(sk);
  if (sk.state === TcpState.CLOSED) {
    releaseUnconnected(sk);
    return;
  }
  tcpDone(sk);
}
