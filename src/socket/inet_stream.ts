/**
 * `inetStreamOps`: the proto_ops of AF_INET/SOCK_STREAM sockets (Linux
 * `inet_stream_ops`), dispatching to TCP's ops API (`stack.tcp.socket()`,
 * see `src/tcp/tcp.ts`). This file holds what Linux keeps in the INET
 * layer (`net/ipv4/af_inet.c`): `inet_stream_connect` with its BSD socket states,
 * `inet_listen`, `inet_accept`, `inet_shutdown`, `inet_getname`, plus the
 * SOL_SOCKET / SOL_IP (IP_TTL, IP_TOS) / SOL_TCP option plumbing and
 * readiness. Every op is
 * non-blocking; blocking lives in `fd_table.ts`.
 *
 * Choices worth knowing:
 * - A TCB that is finished (a failed connect, `connect(AF_UNSPEC)`) is
 *   replaced by a fresh one with the same options (Linux `tcp_disconnect`
 *   resets the TCB in place); a port the user bound explicitly stays bound
 *   (`SOCK_BINDPORT_LOCK`), an automatic one is released.
 * - SO_RCVBUF/SO_SNDBUF are handed to TCP as given (TCP does not double them
 *   like Linux, see `tcp.ts`).
 * - SO_LINGER with a positive time does not make close() wait: the
 *   connection finishes in the background as with no linger; 0 sends RST.
 *   getsockopt(SO_LINGER) reports `l_onoff`, the first int of C's
 *   `struct linger`.
 * - Urgent data is delivered in line (SO_OOBINLINE semantics, RFC 6093), so
 *   recv(MSG_OOB) is EINVAL as on Linux with SO_OOBINLINE.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { AddrType } from "../ipv4/layer.ts";
import { TcpState } from "../tcp/state.ts";
import type { TcpOptionName } from "../tcp/config.ts";
import type { TcpSock } from "../tcp/sock.ts";
import type { Tcb } from "../tcp/tcb.ts";
import { copySocketOptions } from "../tcp/sockopt.ts";
import type { TcpProtocol } from "../tcp/tcp.ts";
import {
  ParsedAddr,
  parseSockAddr,
  sockAddr,
  type SockAddrIn,
  type SockAddrInput,
} from "./address.ts";
import {
  AF_INET,
  AF_UNSPEC,
  IP_MTU,
  IP_MTU_DISCOVER,
  IP_TOS,
  IP_TTL,
  IPPROTO_TCP,
  MSG_ERRQUEUE,
  MSG_MORE,
  MSG_OOB,
  MSG_PEEK,
  POLLIN,
  POLLOUT,
  POLLRDNORM,
  POLLWRNORM,
  SO_ACCEPTCONN,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_SNDBUF,
  SOCK_STREAM,
  SOL_IP,
  SOL_SOCKET,
  SOL_TCP,
  TCP_CONGESTION,
  TCP_CORK,
  TCP_INFO,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_MAXSEG,
  TCP_NODELAY,
  TCP_USER_TIMEOUT,
} from "./constants.ts";
import type { SocketLayer } from "./fd_table.ts";
import { socketGetsockopt, socketSetsockopt } from "./sockopt.ts";
import type { SocketInfo } from "./socket_info.ts";
import { tcpInfo, tcpSocketInfo, tcpUnattachedInfo } from "./tcp_info.ts";
import { type InetConfig, PROT_SOCK } from "./inet.ts";
import {
  type ProtoOps,
  type RecvInfo,
  type SockCommon,
  type Socket,
  SocketState,
} from "./socket.ts";

/** SOL_SOCKET options TCP keeps in its TCB, by BSD number. */
const SOCKET_OPTIONS: ReadonlyMap<number, TcpOptionName> = new Map([
  [SO_REUSEADDR, "SO_REUSEADDR"],
  [SO_KEEPALIVE, "SO_KEEPALIVE"],
  [SO_LINGER, "SO_LINGER"],
  [SO_RCVBUF, "SO_RCVBUF"],
  [SO_SNDBUF, "SO_SNDBUF"],
]);

/** SOL_IP options TCP applies to its segments (MUST-48/49), by BSD number. */
const IP_OPTIONS: ReadonlyMap<number, TcpOptionName> = new Map([
  [IP_TTL, "IP_TTL"],
  [IP_TOS, "IP_TOS"],
  [IP_MTU_DISCOVER, "IP_MTU_DISCOVER"],
  [IP_MTU, "IP_MTU"],
]);

/** SOL_TCP options, by BSD number. */
const TCP_OPTIONS: ReadonlyMap<number, TcpOptionName> = new Map([
  [TCP_NODELAY, "TCP_NODELAY"],
  [TCP_MAXSEG, "TCP_MAXSEG"],
  [TCP_CORK, "TCP_CORK"],
  [TCP_KEEPIDLE, "TCP_KEEPIDLE"],
  [TCP_KEEPINTVL, "TCP_KEEPINTVL"],
  [TCP_KEEPCNT, "TCP_KEEPCNT"],
  [TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT"],
]);

/**
 * The socket layer's view of a TCP socket: a handle on the current TCB
 * (which `connect(AF_UNSPEC)` or a failed connect may replace) plus the
 * INET fields TCP does not keep (`sk_userlocks` and the bound address).
 *
 * @example
 * ```ts
 * // const sk = new StreamSock(stack.tcp.socket());
 * // sk.err → the TCB's pending error; sk.tcp.state → TcpState
 * ```
 */
export class StreamSock implements SockCommon {
  /**
   * The current TCB.
   *
   * @internal
   */
  tcp: TcpSock;
  #wake: () => void = noop;
  /** bind() fixed the local port (Linux `SOCK_BINDPORT_LOCK`): it survives a disconnect. */
  portLocked = false;
  /** {@link StreamSock.boundAddr} as int32: a field V8 keeps in place (a uint32 ≥ 2^31 would be a 16-byte box per socket). */
  #bound = 0;
  /** The address bind() asked for (0 = any). */
  get boundAddr(): number {
    return this.#bound >>> 0;
  }
  set boundAddr(a: number) {
    this.#bound = a | 0;
  }
  /**
   * An AF_INET6 socket's IPv6 state (`inet6_stream.ts`), null for AF_INET.
   *
   * @internal
   */
  v6: StreamV6 | null = null;

  /** A handle on TCB `tcp`. */
  constructor(tcp: TcpSock) {
    this.tcp = tcp;
    this.attach(tcp);
  }

  /**
   * Bind a fresh TCB `tcp` to the address bind() fixed and `port` again
   * (after a disconnect): 0 or -errno.
   *
   * @internal
   */
  rebind(tcp: TcpSock, port: number): number {
    const v6 = this.v6;
    if (v6 === null || v6.mapped) return tcp.bind(this.boundAddr, port);
    tcp.v6only = v6.v6only;
    return tcp.bind6(v6.boundAddr, port, v6.scopeId);
  }

  /**
   * Make `tcp` the current TCB and route its readiness callback here.
   *
   * @internal
   */
  attach(tcp: TcpSock): void {
    this.tcp = tcp;
    // Deferred by TCP (never re-entrant), at most once per batch of events.
    tcp.onEvent = this.#wake;
  }

  /** Set by the owning `Socket`: wakes its waiters (`sk_data_ready` & co.); the TCB calls it too. */
  get wake(): () => void {
    return this.#wake;
  }
  set wake(f: () => void) {
    this.#wake = f;
    this.tcp.onEvent = f;
  }

  /** The pending error (`sk_err`, SO_ERROR). */
  get err(): number {
    return this.tcp.skErr;
  }
  set err(e: number) {
    this.tcp.skErr = e;
  }

  /** `sk_shutdown`: RCV_SHUTDOWN | SEND_SHUTDOWN. */
  get shutdown(): number {
    return this.tcp.shutdownMask;
  }
  set shutdown(v: number) {
    this.tcp.shutdownMask = v;
  }
}

/**
 * What an AF_INET6 stream socket keeps beside its TCB (Linux `ipv6_pinfo`).
 *
 * @example
 * ```ts
 * import { StreamV6 } from "./inet_stream.ts";
 * new StreamV6().v6only; // false: dual stack (bindv6only = 0)
 * ```
 */
export class StreamV6 {
  /** IPV6_V6ONLY (settable before bind only). */
  v6only = false;
  /** The address bind() asked for (`::` = any). */
  readonly boundAddr: Uint8Array = new Uint8Array(16);
  /** bind() took a v4-mapped address: the socket is IPv4 underneath. */
  mapped = false;
  /** The zone bind() fixed (a link-local address's interface), 0 = none. */
  scopeId = 0;
}

function connecting(s: TcpState): boolean {
  return s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED;
}

/**
 * The stream operations over one stack's TCP.
 *
 * @example
 * ```ts
 * // Registered by the Stack:
 * // registerInetStream(stack.sockets, stack.tcp, stack.inet);
 * // stack.sockets.socket(AF_INET, SOCK_STREAM, 0) now works
 * ```
 */
export class InetStreamOps implements ProtoOps<StreamSock> {
  readonly #tcp: TcpProtocol;
  readonly #cfg: InetConfig;
  // Scratch, reused by every call (ops run synchronously, one at a time).
  readonly #addr = new ParsedAddr();

  /** The stream ops over `tcp`. */
  constructor(tcp: TcpProtocol, cfg: InetConfig) {
    this.#tcp = tcp;
    this.#cfg = cfg;
  }

  /** The socket's row for `SocketLayer.list()`. */
  info(sock: Socket<StreamSock>): SocketInfo {
    return tcpSocketInfo(sock.sk.tcp.tcb, sock.fd);
  }

  /** A control block for a new socket. */
  create(): StreamSock {
    return new StreamSock(this.#tcp.socket());
  }

  /**
   * `inet_bind` for TCP: parse (EINVAL / EAFNOSUPPORT), a local address
   * (EADDRNOTAVAIL), a privileged port (EACCES), not yet bound and not
   * active (EINVAL), then TCP's bind table (EADDRINUSE).
   */
  bind(sock: Socket<StreamSock>, addr: SockAddrInput): number {
    const p = this.#addr;
    const r = parseSockAddr(addr, p);
    if (r < 0) return r;
    if (p.family === AF_UNSPEC && p.addr !== 0) return -Errno.EAFNOSUPPORT;
    // A failed attempt released its port (Linux inet_put_port): bind may follow.
    if (sock.state !== SocketState.CONNECTED) this.renew(sock);
    const sk = sock.sk;
    // TCP can only use unicast addresses of its own (MUST-46 rules out the rest).
    if (p.addr !== 0 && this.#cfg.addrType(p.addr) !== AddrType.LOCAL) {
      sock.why = "address not available on any interface";
      return -Errno.EADDRNOTAVAIL;
    }
    if (p.port !== 0 && p.port < PROT_SOCK && !this.#cfg.allowPrivilegedPorts) {
      sock.why = `ports below ${PROT_SOCK} need privilege (Stack option allowPrivilegedPorts)`;
      return -Errno.EACCES;
    }
    if (sk.tcp.state !== TcpState.CLOSED || sk.tcp.lport !== 0) {
      sock.why = "the socket is already bound";
      return -Errno.EINVAL;
    }
    const b = sk.tcp.bind(p.addr, p.port);
    if (b < 0) {
      if (p.port === 0) sock.why = "no free port in the local port range";
      return b;
    }
    sk.boundAddr = p.addr;
    sk.portLocked = p.port !== 0;
    return 0;
  }

  /**
   * `inet_stream_connect` (Linux; tests/socket/inet_stream_test.ts): AF_UNSPEC disconnects; CONNECTED is
   * EISCONN; CONNECTING is EALREADY while the handshake runs, else the
   * outcome ({@link connectResult}); UNCONNECTED starts the handshake (EISCONN
   * when the TCB is not CLOSED, e.g. listening) and returns EINPROGRESS.
   */
  connect(sock: Socket<StreamSock>, addr: SockAddrInput): number {
    const p = this.#addr;
    const r = parseSockAddr(addr, p);
    if (r < 0) return r;
    if (p.family === AF_UNSPEC) {
      this.disconnect(sock);
      return 0;
    }
    switch (sock.state) {
      case SocketState.CONNECTED:
        sock.why = "the socket is already connected";
        return -Errno.EISCONN;
      case SocketState.CONNECTING:
        if (connecting(sock.sk.tcp.state)) {
          sock.why = "a connection attempt is already in progress";
          return -Errno.EALREADY;
        }
        return this.connectResult(sock);
      case SocketState.UNCONNECTED:
        break;
      default:
        return -Errno.EINVAL;
    }
    this.renew(sock);
    const tcp = sock.sk.tcp;
    if (tcp.state !== TcpState.CLOSED) {
      sock.why = tcp.state === TcpState.LISTEN
        ? "the socket is listening"
        : "the socket is already connected";
      return -Errno.EISCONN;
    }
    const c = tcp.connect(p.addr, p.port);
    if (c !== -Errno.EINPROGRESS) {
      if (c === -Errno.ENETUNREACH) sock.why = "no route to the destination";
      else if (c === -Errno.EADDRNOTAVAIL) {
        sock.why = "no free local port for this destination";
      }
      return c;
    }
    sock.state = SocketState.CONNECTING;
    return -Errno.EINPROGRESS;
  }

  /**
   * The tail of `inet_stream_connect`: still in SYN-SENT/SYN-RECEIVED →
   * EALREADY; CLOSED → the socket error, or ECONNABORTED when there is none
   * (closed by another caller), and the socket is unconnected again (and
   * reusable); otherwise CONNECTED, 0.
   */
  connectResult(sock: Socket<StreamSock>): number {
    const tcp = sock.sk.tcp;
    if (connecting(tcp.state)) return -Errno.EALREADY;
    if (tcp.state === TcpState.CLOSED) {
      const e = tcp.error;
      if (e === 0) sock.why = "the connection attempt was aborted";
      this.disconnect(sock);
      return -(e || Errno.ECONNABORTED);
    }
    sock.state = SocketState.CONNECTED;
    return 0;
  }

  /**
   * `inet_listen`: EINVAL unless the socket is unconnected and its TCB is
   * CLOSED or LISTEN; an unbound socket gets an ephemeral port (autobind);
   * listen() on a listener only updates the backlog (as Linux `inet_listen`).
   */
  listen(sock: Socket<StreamSock>, backlog: number): number {
    if (sock.state !== SocketState.UNCONNECTED) {
      sock.why = "the socket is connected";
      return -Errno.EINVAL;
    }
    this.renew(sock);
    const tcp = sock.sk.tcp;
    if (tcp.state !== TcpState.CLOSED && tcp.state !== TcpState.LISTEN) {
      sock.why = "the socket is not closed";
      return -Errno.EINVAL;
    }
    const r = tcp.listen(backlog);
    if (r === -Errno.EADDRINUSE) sock.why = "another socket listens on that port";
    return r;
  }

  /**
   * `inet_accept`: the next established child (it may already be in
   * CLOSE-WAIT or CLOSED), -EAGAIN when none waits, EINVAL when not listening.
   */
  accept(sock: Socket<StreamSock>): StreamSock | number {
    const tcp = sock.sk.tcp;
    if (tcp.state !== TcpState.LISTEN) {
      sock.why = "the socket is not listening";
      return -Errno.EINVAL;
    }
    const child = tcp.accept();
    return child === null ? -Errno.EAGAIN : new StreamSock(child);
  }

  /**
   * `tcp_sendmsg`: bytes queued (a partial write when the buffer fills),
   * EAGAIN, EPIPE after SHUT_WR or once the connection is over, ENOTCONN
   * before connect, or the pending error. MSG_OOB and MSG_MORE go to TCP;
   * the address of sendto() is ignored, as Linux does for TCP.
   */
  sendmsg(
    sock: Socket<StreamSock>,
    data: Uint8Array,
    flags: number,
    _to: SockAddrInput | undefined,
  ): number {
    const tcp = sock.sk.tcp;
    const r = tcp.send(data, flags & (MSG_OOB | MSG_MORE));
    if (r === -Errno.EPIPE) {
      sock.why = tcp.shutdownMask !== 0 && tcp.state !== TcpState.CLOSED
        ? "the socket was shut down for sending"
        : "the connection is closed";
    } else if (r === -Errno.ENOTCONN) sock.why = "the socket is not connected";
    return r;
  }

  /**
   * `tcp_recvmsg`: bytes read, 0 at end of stream, EAGAIN, ENOTCONN, or the
   * pending error (ECONNRESET, ETIMEDOUT, …). MSG_PEEK leaves the data queued.
   */
  recvmsg(sock: Socket<StreamSock>, buf: Uint8Array, flags: number, info: RecvInfo): number {
    info.from = info.to = null;
    info.flags = 0;
    info.error = null;
    if ((flags & MSG_ERRQUEUE) !== 0) return -Errno.EAGAIN; // TCP queues no ICMP errors
    if ((flags & MSG_OOB) !== 0) {
      sock.why = "urgent data is delivered in line";
      return -Errno.EINVAL;
    }
    const r = sock.sk.tcp.recv(buf, flags & MSG_PEEK);
    if (r === -Errno.ENOTCONN) sock.why = "the socket is not connected";
    return r;
  }

  /**
   * `inet_getname`: the local address and port, or the peer (ENOTCONN when
   * there is none, or — except for accept's own lookup — when the TCB is
   * CLOSED or SYN-SENT).
   */
  getname(sock: Socket<StreamSock>, peer: boolean, forAccept = false): SockAddrIn | number {
    const tcp = sock.sk.tcp;
    if (!peer) return sockAddr(tcp.laddr, tcp.lport);
    if (
      tcp.rport === 0 ||
      (!forAccept && (tcp.state === TcpState.CLOSED || tcp.state === TcpState.SYN_SENT))
    ) {
      sock.why = "the socket is not connected";
      return -Errno.ENOTCONN;
    }
    return sockAddr(tcp.raddr, tcp.rport);
  }

  /**
   * `inet_shutdown` (Linux; tests/socket/inet_stream_test.ts): a connecting socket becomes DISCONNECTING
   * (still handshaking or closed) or CONNECTED; CLOSED is ENOTCONN but the
   * bits still apply; on a listener only SHUT_RD acts, and stops it; in
   * SYN-SENT the attempt is dropped; both leave the socket UNCONNECTED.
   */
  shutdown(sock: Socket<StreamSock>, how: number): number {
    if (!(how === 0 || how === 1 || how === 2)) return -Errno.EINVAL;
    const tcp = sock.sk.tcp;
    const before = tcp.state;
    if (sock.state === SocketState.CONNECTING) {
      sock.state = connecting(before) || before === TcpState.CLOSED
        ? SocketState.DISCONNECTING
        : SocketState.CONNECTED;
    }
    const r = tcp.shutdown(how);
    // The LISTEN (with RCV_SHUTDOWN) and SYN-SENT branches disconnect.
    if (before === TcpState.SYN_SENT || (before === TcpState.LISTEN && how !== 1)) {
      sock.state = SocketState.UNCONNECTED;
    }
    if (r === -Errno.ENOTCONN) {
      sock.why = "the socket is not connected (the shutdown still applies)";
    }
    sock.wake(); // sk_state_change
    return r;
  }

  /** close(2): FIN, or RST with unread data or SO_LINGER 0 (`tcp_close`). */
  release(sock: Socket<StreamSock>): void {
    const tcp = sock.sk.tcp;
    tcp.onEvent = null;
    tcp.close();
  }

  setsockopt(sock: Socket<StreamSock>, level: number, name: number, value: number): number {
    const tcp = sock.sk.tcp;
    if (level === SOL_SOCKET) {
      const generic = socketSetsockopt(sock, name, value);
      if (generic !== null) return generic;
      const opt = SOCKET_OPTIONS.get(name);
      if (opt === undefined) return -Errno.ENOPROTOOPT;
      return tcp.setOption(opt, opt === "SO_LINGER" && value < 0 ? -1 : value);
    }
    const opt = (level === SOL_TCP ? TCP_OPTIONS : level === SOL_IP ? IP_OPTIONS : null)?.get(name);
    return opt === undefined ? -Errno.ENOPROTOOPT : tcp.setOption(opt, value);
  }

  /** TCP_CONGESTION by name (Linux `tcp_set_congestion_control`): ENOENT for an unknown one. */
  setsockoptString(sock: Socket<StreamSock>, level: number, name: number, value: string): number {
    if (level !== SOL_TCP || name !== TCP_CONGESTION) return -Errno.EINVAL;
    return sock.sk.tcp.setCongestion(value);
  }

  /** TCP_INFO (a `TcpInfo`, Linux `tcp_get_info`) and TCP_CONGESTION (its name). */
  getsockoptValue(
    sock: Socket<StreamSock>,
    level: number,
    name: number,
  ): object | string | undefined {
    if (level !== SOL_TCP) return undefined;
    if (name === TCP_INFO) return tcpInfo(sock.sk.tcp.tcb);
    if (name === TCP_CONGESTION) return sock.sk.tcp.congestion;
    return undefined;
  }

  getsockopt(sock: Socket<StreamSock>, level: number, name: number): number {
    const tcp = sock.sk.tcp;
    if (level === SOL_SOCKET) {
      const generic = socketGetsockopt(sock, name);
      if (generic !== null) return generic;
      switch (name) {
        case SO_ERROR:
          return tcp.error;
        case SO_ACCEPTCONN:
          return tcp.state === TcpState.LISTEN ? 1 : 0;
        case SO_LINGER:
          return tcp.getOption("SO_LINGER") >= 0 ? 1 : 0; // l_onoff
      }
      const opt = SOCKET_OPTIONS.get(name);
      return opt === undefined ? -Errno.ENOPROTOOPT : tcp.getOption(opt);
    }
    const opt = (level === SOL_TCP ? TCP_OPTIONS : level === SOL_IP ? IP_OPTIONS : null)?.get(name);
    return opt === undefined ? -Errno.ENOPROTOOPT : tcp.getOption(opt);
  }

  /**
   * `tcp_poll`: POLLIN data, end of stream or a connection to accept;
   * POLLOUT write space (never while handshaking); POLLERR a pending error;
   * POLLHUP closed or shut both ways; POLLRDHUP the peer's FIN; POLLPRI
   * urgent data. The *NORM bits follow IN and OUT.
   */
  poll(sock: Socket<StreamSock>): number {
    let m = sock.sk.tcp.poll();
    if ((m & POLLIN) !== 0) m |= POLLRDNORM;
    if ((m & POLLOUT) !== 0) m |= POLLWRNORM;
    return m;
  }

  /**
   * `tcp_disconnect` for `connect(AF_UNSPEC)` and failed connects: the TCB
   * is aborted (RST when synchronized) and replaced by a fresh CLOSED one
   * with the same options; an explicitly bound port is bound again.
   *
   * @internal
   */
  disconnect(sock: Socket<StreamSock>): void {
    const sk = sock.sk;
    const old = sk.tcp;
    sock.state = SocketState.UNCONNECTED;
    if (old.state === TcpState.CLOSED && !old.done) return; // nothing to undo
    const port = sk.portLocked ? old.lport : 0;
    const fresh = this.#tcp.socket();
    copySocketOptions(old.tcb, fresh.tcb);
    old.onEvent = null;
    old.abort();
    sk.attach(fresh);
    if (port !== 0 && sk.rebind(fresh, port) < 0) sk.portLocked = false;
    sock.wake();
  }

  /**
   * A finished TCB (CLOSED after a connection) is replaced before reuse.
   *
   * @internal
   */
  renew(sock: Socket<StreamSock>): void {
    const tcp = sock.sk.tcp;
    if (tcp.state === TcpState.CLOSED && tcp.done) this.disconnect(sock);
  }
}

/**
 * Register AF_INET/SOCK_STREAM/IPPROTO_TCP with a socket layer (the `inetsw`
 * entry for TCP).
 *
 * @example
 * ```ts
 * // registerInetStream(stack.sockets, stack.tcp, stack.inet);
 * // const fd = stack.sockets.socket(AF_INET, SOCK_STREAM, 0);
 * ```
 *
 * @internal
 */
export function registerInetStream(layer: SocketLayer, tcp: TcpProtocol, cfg: InetConfig): void {
  const ops = new InetStreamOps(tcp, cfg);
  layer.register(AF_INET, SOCK_STREAM, IPPROTO_TCP, () => ({ ops, sk: ops.create() }));
  // `ss` lists connections no descriptor refers to (TIME-WAIT, orphans) too.
  layer.addInfoSource(() => {
    const attached = new Set<Tcb>();
    for (const sock of layer.openSocketObjects()) {
      if (sock.sk instanceof StreamSock) attached.add(sock.sk.tcp.tcb);
    }
    return tcpUnattachedInfo(tcp, attached);
  });
}

function noop(): void {}
