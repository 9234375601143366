/**
 * TCP's socket options (`do_tcp_setsockopt` / `do_tcp_getsockopt`, and the
 * `SOL_SOCKET` / `SOL_IP` ones a stream socket keeps on its TCB). Linux
 * units: seconds for the keepalive times, ms for the user timeout.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { TCP_DEFAULT_MSS } from "../wire/tcp_options.ts";
import { MAX_BUFFER, MIN_RCVBUF, MIN_SNDBUF } from "./buffers.ts";
import type { TcpOptionName } from "./config.ts";
import { congestionByName } from "./congestion/registry.ts";
import { pathMtu } from "./options.ts";
import { Nagle, nagleMode, writeXmit } from "./output.ts";
import { TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";
import { clearKeep, resetKeepalive } from "./timers.ts";

/**
 * setsockopt. 0 or -errno (`-ENOPROTOOPT` for an unknown name, `-EINVAL` for a bad value).
 *
 * @example
 * ```ts
 * // tcpSetOption(tcb, "TCP_NODELAY", 1) === 0
 * ```
 */
export function tcpSetOption(sk: Tcb, name: TcpOptionName, value: number): number {
  if (!Number.isFinite(value)) return -Errno.EINVAL;
  const on = value !== 0;
  const opt = sk.ownOpt();
  switch (name) {
    case "TCP_NODELAY":
      opt.nodelay = on;
      // tcp(7): setting TCP_NODELAY flushes pending output, even corked
      // (Linux tcp_push_pending_frames with TCP_NAGLE_PUSH).
      if (on) writeXmit(sk, Nagle.PUSH);
      return 0;
    case "TCP_CORK":
      opt.cork = on;
      if (!on) writeXmit(sk, nagleMode(sk));
      return 0;
    case "TCP_MAXSEG":
      if (value < 0 || value > 65535) return -Errno.EINVAL;
      opt.userMss = value === 0 ? 0 : Math.max(value, sk.ctx.config.minMss);
      return 0;
    case "SO_KEEPALIVE":
      opt.keepalive = on;
      if (on) resetKeepalive(sk);
      else if (sk.state === TcpState.ESTABLISHED || sk.state === TcpState.CLOSE_WAIT) {
        clearKeep(sk);
      }
      return 0;
    case "TCP_KEEPIDLE":
      if (value < 1 || value > 32767) return -Errno.EINVAL;
      opt.keepIdle = value * 1000;
      if (opt.keepalive) resetKeepalive(sk);
      return 0;
    case "TCP_KEEPINTVL":
      if (value < 1 || value > 32767) return -Errno.EINVAL;
      opt.keepIntvl = value * 1000;
      return 0;
    case "TCP_KEEPCNT":
      if (value < 1 || value > 127) return -Errno.EINVAL;
      opt.keepCnt = value;
      return 0;
    case "SO_LINGER":
      opt.linger = value < 0 ? -1 : value;
      return 0;
    case "SO_RCVBUF":
      // Linux sock_setsockopt: the buffer is counted in true size (whole
      // slots), so the value is doubled to leave room for the overhead, and
      // auto-tuning stops (SOCK_RCVBUF_LOCK). getsockopt returns the double.
      if (value < 0) return -Errno.EINVAL;
      sk.rcv.buf = Math.max(MIN_RCVBUF, Math.min(value, MAX_BUFFER / 2) * 2);
      sk.rcv.bufLocked = true;
      return 0;
    case "SO_SNDBUF":
      if (value < 0) return -Errno.EINVAL;
      sk.snd.buf = Math.max(MIN_SNDBUF, Math.min(value, MAX_BUFFER / 2) * 2);
      sk.snd.bufLocked = true;
      return 0;
    case "SO_REUSEADDR":
      sk.reuseAddr = on;
      return 0;
    case "TCP_USER_TIMEOUT":
      if (value < 0) return -Errno.EINVAL;
      opt.userTimeout = value;
      return 0;
    case "TCP_TIMEWAIT_MS":
      if (value < 0) return -Errno.EINVAL;
      opt.timeWaitLen = value;
      return 0;
    case "IP_TTL":
      // Linux do_ip_setsockopt: -1 restores the default, else 1…255.
      if (value !== -1 && !(value >= 1 && value <= 255)) return -Errno.EINVAL;
      opt.ttl = value | 0;
      return 0;
    case "IP_TOS":
      // Linux keeps the ECN bits of a stream socket under TCP's control.
      opt.tos = value & 0xfc;
      return 0;
    case "TCP_ECN":
      if (value !== -1 && value !== 0 && value !== 1 && value !== 2) return -Errno.EINVAL;
      opt.ecn = value;
      return 0;
    case "IP_MTU_DISCOVER":
      // Linux IP_PMTUDISC_DONT/WANT/DO/PROBE (4/5, INTERFACE/OMIT, are for datagrams).
      if (!(Number.isInteger(value) && value >= 0 && value <= 3)) return -Errno.EINVAL;
      opt.pmtudisc = value;
      return 0;
  }
  return -Errno.ENOPROTOOPT;
}

/**
 * getsockopt: the value, or -ENOPROTOOPT.
 *
 * @example
 * ```ts
 * // tcpGetOption(tcb, "TCP_KEEPIDLE") === 7200
 * ```
 */
export function tcpGetOption(sk: Tcb, name: TcpOptionName): number {
  const opt = sk.opt;
  switch (name) {
    case "TCP_NODELAY":
      return opt.nodelay ? 1 : 0;
    case "TCP_CORK":
      return opt.cork ? 1 : 0;
    case "TCP_MAXSEG":
      return sk.state === TcpState.CLOSED || sk.state === TcpState.LISTEN
        ? (opt.userMss || TCP_DEFAULT_MSS)
        : sk.snd.mss;
    case "SO_KEEPALIVE":
      return opt.keepalive ? 1 : 0;
    case "TCP_KEEPIDLE":
      return opt.keepIdle / 1000;
    case "TCP_KEEPINTVL":
      return opt.keepIntvl / 1000;
    case "TCP_KEEPCNT":
      return opt.keepCnt;
    case "SO_LINGER":
      return opt.linger;
    case "SO_RCVBUF":
      return sk.rcv.buf;
    case "SO_SNDBUF":
      return sk.snd.buf;
    case "SO_REUSEADDR":
      return sk.reuseAddr ? 1 : 0;
    case "TCP_USER_TIMEOUT":
      return opt.userTimeout;
    case "TCP_TIMEWAIT_MS":
      return opt.timeWaitLen;
    case "IP_TTL":
      return opt.ttl > 0 ? opt.ttl : sk.ctx.ipv4.defaultTtl;
    case "IP_TOS":
      return opt.tos;
    case "TCP_ECN":
      return opt.ecn;
    case "IP_MTU_DISCOVER":
      return opt.pmtudisc;
    case "IP_MTU":
      // Linux: the path MTU of a connected socket, else ENOTCONN.
      return sk.state === TcpState.ESTABLISHED || sk.state === TcpState.CLOSE_WAIT ||
          sk.state === TcpState.FIN_WAIT_1 || sk.state === TcpState.FIN_WAIT_2
        ? pathMtu(sk)
        : -Errno.ENOTCONN;
  }
  return -Errno.ENOPROTOOPT;
}

/**
 * setsockopt(TCP_CONGESTION): switch the connection to the algorithm called
 * `name` (Linux `tcp_set_congestion_control`): 0, or -ENOENT when there is
 * no such algorithm. An established connection keeps its windows; the new
 * algorithm starts its own state afresh.
 *
 * @example
 * ```ts
 * // tcpSetCongestion(tcb, "reno") === 0
 * ```
 */
export function tcpSetCongestion(sk: Tcb, name: string): number {
  const alg = congestionByName(name);
  if (alg === null) return -Errno.ENOENT;
  const cong = sk.cong;
  if (cong.algorithm === alg) return 0;
  cong.algorithm = alg;
  cong.priv = null;
  return 0;
}

/**
 * Copy the options a fresh TCB keeps from `from` (what `tcp_disconnect`
 * leaves alone; also what a child inherits from its listener, Linux
 * `sk_clone_lock`): socket settings, buffer sizes, SO_REUSEADDR, the
 * congestion-control algorithm.
 *
 * @example
 * ```ts
 * // copySocketOptions(oldTcb, freshTcb);
 * ```
 */
export function copySocketOptions(from: Tcb, to: Tcb): void {
  // Copy-on-write: the child shares the listener's record, and whichever of
  // them sets an option next copies it first.
  to.opt = from.opt;
  to.optOwned = false;
  from.optOwned = false;
  // A child uses its listener's algorithm (Linux tcp_assign_congestion_control).
  to.cong.algorithm = from.cong.algorithm;
  to.rcv.buf = from.rcv.buf;
  to.snd.buf = from.snd.buf;
  to.rcv.bufLocked = from.rcv.bufLocked;
  to.snd.bufLocked = from.snd.bufLocked;
  to.reuseAddr = from.reuseAddr;
  to.v6only = from.v6only;
}
