/**
 * Connection management: the user calls of RFC 9293 §3.10.1–§3.10.6 (OPEN,
 * SEND is in `output.ts`, RECEIVE in `recv.ts`, CLOSE, ABORT) in their BSD
 * shape (bind, listen, connect, accept, shutdown, close), socket options, and
 * the ways a connection ends (`tcp_done`, `tcp_reset`, TIME-WAIT).
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { AddrType } from "../ipv4/layer.ts";
import type { Ipv4Address } from "../wire/addr.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { nagleMode, sendActiveReset, sendFin, sendSyn, writeXmit } from "./output.ts";
import { purgeOfo, purgeReceive } from "./recv.ts";
import { TcpState } from "./state.ts";
import { Shutdown, type TcpOptionName, type TcpSock } from "./sock.ts";
import {
  armKeep,
  clearAllTimers,
  clearDelack,
  clearKeep,
  clearRtx,
  resetKeepalive,
} from "./timers.ts";

/** Free the write queue. */
function purgeWrite(sk: TcpSock): void {
  sk.writeQueue.purge();
  sk.sendHead = null;
}

/**
 * The connection is over (`tcp_done`): CLOSED, timers stopped, unsent and
 * out-of-order data freed, out of the tables. An orphan (closed by the user,
 * or a never-accepted request) is released; otherwise the user can still
 * read what was received.
 *
 * @example
 * ```ts
 * // tcpDone(sk); // CLOSED, timers stopped, out of the tables
 * ```
 */
export function tcpDone(sk: TcpSock): void {
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
    sk.ctx.release(sk);
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
 * // tcpReset(sk); sk.error; // ECONNRESET (ECONNREFUSED in SYN-SENT)
 * ```
 */
export function tcpReset(sk: TcpSock): void {
  const st = sk.ctx.stats;
  let err: number = Errno.ECONNRESET;
  switch (sk.state) {
    case TcpState.SYN_SENT:
      err = Errno.ECONNREFUSED;
      st.attemptFails++;
      break;
    case TcpState.SYN_RECEIVED:
      // Active open that went through simultaneous open: back to CLOSED (MUST-11).
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
 * // tcpResetChild(child); // listener.synQueue no longer holds it
 * ```
 */
export function tcpResetChild(sk: TcpSock): void {
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
 * // tcpFail(sk, Errno.ETIMEDOUT);
 * Errno.ETIMEDOUT; // 110
 * ```
 */
export function tcpFail(sk: TcpSock, errno: number): void {
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
 * TIME-WAIT or LAST-ACK completed normally: CLOSED.
 *
 * @example
 * ```ts
 * // tcpFinish(sk); // after TIME-WAIT or the last ACK
 * ```
 */
export function tcpFinish(sk: TcpSock): void {
  tcpDone(sk);
}

/**
 * Enter TIME-WAIT for 2 × MSL (MUST-13; the socket's `timeWaitLen`). The
 * TCB stays in the established table as the 4-tuple's guard; its send and
 * out-of-order queues go now.
 *
 * @example
 * ```ts
 * // enterTimeWait(sk); sk.state === TcpState.TIME_WAIT
 * ```
 */
export function enterTimeWait(sk: TcpSock): void {
  if (sk.ctx.timeWaitCount >= sk.ctx.config.maxTimeWait) {
    // §8 row 18 (Linux "time wait bucket table overflow"): no TIME-WAIT.
    sk.ctx.drops.count("tcp.timewait_overflow");
    tcpDone(sk);
    return;
  }
  sk.setState(TcpState.TIME_WAIT);
  clearRtx(sk);
  clearDelack(sk);
  purgeWrite(sk);
  purgeOfo(sk);
  sk.done = true;
  armKeep(sk, sk.timeWaitLen);
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
export function establishChild(sk: TcpSock): boolean {
  const parent = sk.parent;
  if (parent === null || !sk.passive) return true;
  if (parent.state !== TcpState.LISTEN) return false;
  if (parent.acceptQueue.length >= parent.backlog) return false;
  sk.ctx.stats.passiveOpens++;
  parent.acceptQueue.push(sk);
  sk.inAcceptQueue = true;
  parent.wake();
  return true;
}

// ---------------------------------------------------------------------------
// User calls.

/**
 * bind(): take `laddr:port` (port 0 = pick one). 0 or -errno.
 *
 * @example
 * ```ts
 * // tcpBind(sk, 0, 8080) === 0 // same as sk.bind(0, 8080)
 * ```
 */
export function tcpBind(sk: TcpSock, laddr: Ipv4Address, port: number): number {
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
 * // tcpListen(sk, 128) === 0 // same as sk.listen(128)
 * ```
 */
export function tcpListen(sk: TcpSock, backlog: number): number {
  const b = Math.max(1, Math.min(backlog | 0, 4096));
  if (sk.state === TcpState.LISTEN) {
    sk.backlog = b; // seed §4 item 15: listen() again only updates the backlog
    return 0;
  }
  if (sk.state !== TcpState.CLOSED) return -Errno.EINVAL;
  if (sk.lport === 0) {
    const r = tcpBind(sk, 0, 0);
    if (r < 0) return r;
  }
  sk.backlog = b;
  const r = sk.ctx.tables.listen(sk);
  if (r < 0) return r;
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
 * // tcpConnect(sk, 0xc0000202, 80) === -Errno.EINPROGRESS
 * ```
 */
export function tcpConnect(
  sk: TcpSock,
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
  if (raddr === 0) raddr = 0x7f000001; // Linux: INADDR_ANY means this host
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
  sk.mssClamp = 536;
  // Seed §2.3.1 step 10: SYN-SENT before the port is chosen.
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
  sk.laddr = src;
  sk.raddr = raddr;
  sk.rport = rport;
  connectInit(sk, rt.mtu);
  sk.iss = sk.presetIss >= 0
    ? sk.presetIss
    : ctx.isn.isn(sk.laddr, sk.lport, sk.raddr, sk.rport) >>> 0;
  sk.tsOffset = ctx.isn.tsOffset(sk.laddr, sk.raddr) >>> 0;
  sk.recover = sk.iss;
  sk.sndWl2 = sk.iss;
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
 * Window scale to offer so `rcvbuf` fits (RFC 7323 §2.3).
 *
 * @example
 * ```ts
 * import { chooseRcvWscale } from "./conn.ts";
 * chooseRcvWscale(262144); // 3
 * chooseRcvWscale(65535); // 0
 * ```
 */
export function chooseRcvWscale(rcvbuf: number): number {
  let s = 0;
  while (s < 14 && 65535 * 2 ** s < rcvbuf) s++;
  return s;
}

/**
 * Per-connection setup before the SYN or SYN-ACK (`tcp_connect_init`).
 *
 * @example
 * ```ts
 * // connectInit(sk, route.mtu); // advmss = mtu − 40, initial window and RTO
 * ```
 */
export function connectInit(sk: TcpSock, mtu: number): void {
  const cfg = sk.ctx.config;
  // MUST-67 / Linux: advertise MTU − 40 (≤ MMS_R − 20), capped by TCP_MAXSEG.
  sk.advmss = Math.max(64, Math.min(mtu - 40, 65495));
  if (sk.userMss > 0) sk.advmss = Math.min(sk.advmss, sk.userMss);
  sk.rcvWscale = cfg.windowScaling ? chooseRcvWscale(sk.rcvbuf) : 0;
  // The SYN carries an unscaled window (W3): that is what the peer believes.
  sk.rcvWnd = Math.min(sk.rcvbuf, 65535);
  sk.rcvMss = Math.min(sk.advmss, 536);
  sk.rto = cfg.rtoInitial;
  sk.srtt = sk.rttvar = 0;
  sk.skErr = 0;
  sk.shutdownMask = 0;
  sk.lastRcv = sk.now();
}

/**
 * accept(): the next established child, or null (non-blocking: -EAGAIN is the caller's).
 *
 * @example
 * ```ts
 * // const child = tcpAccept(listener); // null when none waits
 * ```
 */
export function tcpAccept(sk: TcpSock): TcpSock | null {
  if (sk.state !== TcpState.LISTEN) return null;
  const child = sk.acceptQueue.shift();
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
 * // tcpShutdown(sk, 1); // SHUT_WR: FIN, FIN-WAIT-1 or LAST-ACK
 * ```
 */
export function tcpShutdown(sk: TcpSock, how: number): number {
  if (how !== 0 && how !== 1 && how !== 2) return -Errno.EINVAL;
  const mask = how + 1; // RCV = 1, SEND = 2, BOTH = 3
  const s = sk.state;
  if (s === TcpState.CLOSED) {
    sk.shutdownMask |= mask;
    return -Errno.ENOTCONN;
  }
  if (s === TcpState.LISTEN) {
    // Seed §4 item 15: shutdown(SHUT_RD) on a listener disconnects it.
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
function closeSend(sk: TcpSock): void {
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

function stopListening(sk: TcpSock): void {
  sk.ctx.stopListener(sk);
  sk.ctx.tables.unhash(sk);
  sk.setState(TcpState.CLOSED);
}

/**
 * close(): the user is done with the socket (RFC 9293 §3.10.4, Linux
 * `tcp_close`). Unread data or SO_LINGER 0 → RST (RFC 2525 §2.17);
 * otherwise FIN and the connection finishes on its own; the TCB is
 * released when it reaches CLOSED.
 *
 * @example
 * ```ts
 * // tcpClose(sk); // FIN, or RST with unread data
 * ```
 */
export function tcpClose(sk: TcpSock): void {
  if (sk.orphan) return;
  const ctx = sk.ctx;
  const s = sk.state;
  sk.onEvent = null;
  if (s === TcpState.LISTEN) {
    stopListening(sk);
  }
  const unread = sk.rcvQueued > 0;
  sk.orphan = true;
  sk.shutdownMask = Shutdown.BOTH;
  purgeReceive(sk);
  switch (s) {
    case TcpState.CLOSED:
    case TcpState.LISTEN:
      clearAllTimers(sk);
      purgeWrite(sk);
      ctx.tables.unhash(sk);
      ctx.release(sk);
      return;
    case TcpState.SYN_SENT:
      tcpDone(sk);
      return;
    case TcpState.TIME_WAIT:
      return; // the timer releases it
  }
  if (unread || sk.linger === 0) {
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
}

/**
 * ABORT (RFC 9293 §3.10.5): RST if synchronized, CLOSED, released.
 *
 * @example
 * ```ts
 * // tcpAbort(sk); // RST, CLOSED
 * ```
 */
export function tcpAbort(sk: TcpSock): void {
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
    clearAllTimers(sk);
    purgeWrite(sk);
    sk.ctx.tables.unhash(sk);
    sk.ctx.release(sk);
    return;
  }
  tcpDone(sk);
}

/**
 * setsockopt. 0 or -errno (`-ENOPROTOOPT` for an unknown name, `-EINVAL` for a bad value).
 *
 * @example
 * ```ts
 * // tcpSetOption(sk, "TCP_NODELAY", 1) === 0
 * ```
 */
export function tcpSetOption(sk: TcpSock, name: TcpOptionName, value: number): number {
  if (!Number.isFinite(value)) return -Errno.EINVAL;
  const on = value !== 0;
  switch (name) {
    case "TCP_NODELAY":
      sk.nodelay = on;
      if (on) pushPending(sk);
      return 0;
    case "TCP_CORK":
      sk.cork = on;
      if (!on) pushPending(sk);
      return 0;
    case "TCP_MAXSEG":
      if (value < 0 || value > 65535) return -Errno.EINVAL;
      sk.userMss = value === 0 ? 0 : Math.max(value, sk.ctx.config.minMss);
      return 0;
    case "SO_KEEPALIVE":
      sk.keepalive = on;
      if (on) resetKeepalive(sk);
      else if (sk.state === TcpState.ESTABLISHED || sk.state === TcpState.CLOSE_WAIT) {
        clearKeep(sk);
      }
      return 0;
    case "TCP_KEEPIDLE":
      if (value < 1 || value > 32767) return -Errno.EINVAL;
      sk.keepIdle = value * 1000;
      if (sk.keepalive) resetKeepalive(sk);
      return 0;
    case "TCP_KEEPINTVL":
      if (value < 1 || value > 32767) return -Errno.EINVAL;
      sk.keepIntvl = value * 1000;
      return 0;
    case "TCP_KEEPCNT":
      if (value < 1 || value > 127) return -Errno.EINVAL;
      sk.keepCnt = value;
      return 0;
    case "SO_LINGER":
      sk.linger = value < 0 ? -1 : value;
      return 0;
    case "SO_RCVBUF":
      if (value < 0) return -Errno.EINVAL;
      sk.rcvbuf = Math.max(2048, Math.min(value, 1 << 30));
      return 0;
    case "SO_SNDBUF":
      if (value < 0) return -Errno.EINVAL;
      sk.sndbuf = Math.max(2048, Math.min(value, 1 << 30));
      return 0;
    case "SO_REUSEADDR":
      sk.reuseAddr = on;
      return 0;
    case "TCP_USER_TIMEOUT":
      if (value < 0) return -Errno.EINVAL;
      sk.userTimeout = value;
      return 0;
    case "TCP_TIMEWAIT_MS":
      if (value < 0) return -Errno.EINVAL;
      sk.timeWaitLen = value;
      return 0;
    case "IP_TTL":
      // Linux do_ip_setsockopt: -1 restores the default, else 1…255.
      if (value !== -1 && !(value >= 1 && value <= 255)) return -Errno.EINVAL;
      sk.ttl = value | 0;
      return 0;
    case "IP_TOS":
      // Linux keeps the ECN bits of a stream socket under TCP's control.
      sk.tos = value & 0xfc;
      return 0;
  }
  return -Errno.ENOPROTOOPT;
}

/**
 * getsockopt: the value, or -ENOPROTOOPT.
 *
 * @example
 * ```ts
 * // tcpGetOption(sk, "TCP_KEEPIDLE") === 7200
 * ```
 */
export function tcpGetOption(sk: TcpSock, name: TcpOptionName): number {
  switch (name) {
    case "TCP_NODELAY":
      return sk.nodelay ? 1 : 0;
    case "TCP_CORK":
      return sk.cork ? 1 : 0;
    case "TCP_MAXSEG":
      return sk.state === TcpState.CLOSED || sk.state === TcpState.LISTEN
        ? (sk.userMss || 536)
        : sk.mssCache;
    case "SO_KEEPALIVE":
      return sk.keepalive ? 1 : 0;
    case "TCP_KEEPIDLE":
      return sk.keepIdle / 1000;
    case "TCP_KEEPINTVL":
      return sk.keepIntvl / 1000;
    case "TCP_KEEPCNT":
      return sk.keepCnt;
    case "SO_LINGER":
      return sk.linger;
    case "SO_RCVBUF":
      return sk.rcvbuf;
    case "SO_SNDBUF":
      return sk.sndbuf;
    case "SO_REUSEADDR":
      return sk.reuseAddr ? 1 : 0;
    case "TCP_USER_TIMEOUT":
      return sk.userTimeout;
    case "TCP_TIMEWAIT_MS":
      return sk.timeWaitLen;
    case "IP_TTL":
      return sk.ttl > 0 ? sk.ttl : sk.ctx.ipv4.defaultTtl;
    case "IP_TOS":
      return sk.tos;
  }
  return -Errno.ENOPROTOOPT;
}

function pushPending(sk: TcpSock): void {
  writeXmit(sk, nagleMode(sk));
}

/**
 * True when a segment's flags make it a bare SYN.
 *
 * @example
 * ```ts
 * import { isBareSyn } from "./conn.ts";
 * isBareSyn(0x02); // true
 * isBareSyn(0x12); // false (SYN-ACK)
 * ```
 */
export function isBareSyn(flags: number): boolean {
  return (flags & (TcpFlags.SYN | TcpFlags.ACK | TcpFlags.RST)) === TcpFlags.SYN;
}
