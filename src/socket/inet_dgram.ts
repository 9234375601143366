/**
 * `inetDgramOps`: the proto_ops of AF_INET/SOCK_DGRAM sockets (Linux
 * `inet_dgram_ops`), dispatching to UDP. Argument checks that belong to the
 * BSD/INET layers live here; UDP itself works on numbers.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import type { UdpSock } from "../udp/sock.ts";
import { UDP_MAX_PAYLOAD, type UdpProtocol, UdpRecvMeta } from "../udp/udp.ts";
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
  IP_RECVERR,
  IPPROTO_UDP,
  MSG_ERRQUEUE,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  POLLRDNORM,
  POLLWRNORM,
  SO_EE_ORIGIN_ICMP,
  SOCK_DGRAM,
  SOL_IP,
  SOL_SOCKET,
} from "./constants.ts";
import { inetBind, type InetConfig, inetGetname, inetShutdown } from "./inet.ts";
import { ipGetsockopt, ipSetsockopt, sockGetsockopt, sockSetsockopt } from "./sockopt.ts";
import {
  type ProtoOps,
  RCV_SHUTDOWN,
  type RecvInfo,
  SEND_SHUTDOWN,
  type Socket,
  SocketState,
} from "./socket.ts";
import type { SocketLayer } from "./fd_table.ts";
import { formatIpv4 } from "../wire/addr.ts";
import type { SocketInfo } from "./socket_info.ts";

const POLL_WRITABLE = POLLOUT | POLLWRNORM;

/**
 * The datagram operations over one stack's UDP.
 *
 * @example
 * ```ts
 * // Registered by the Stack:
 * // registerInetDgram(stack.sockets, stack.udp, config);
 * ```
 */
export class InetDgramOps implements ProtoOps<UdpSock> {
  readonly #udp: UdpProtocol;
  readonly #cfg: InetConfig;
  // Scratch, reused by every call (ops run synchronously, one at a time).
  readonly #addr = new ParsedAddr();
  readonly #meta = new UdpRecvMeta();

  /** The datagram ops over `udp`. */
  constructor(udp: UdpProtocol, cfg: InetConfig) {
    this.#udp = udp;
    this.#cfg = cfg;
  }

  /** The socket's row for `SocketLayer.list()`. */
  info(sock: Socket<UdpSock>): SocketInfo {
    const sk = sock.sk;
    return {
      fd: sock.fd,
      protocol: "udp",
      state: sk.connected ? "CONNECTED" : "UNCONNECTED",
      local: { address: formatIpv4(sk.rcvSaddr), port: sk.num },
      remote: sk.connected ? { address: formatIpv4(sk.daddr), port: sk.dport } : null,
      recvQueue: sk.rmemAlloc,
      sendQueue: 0,
    };
  }

  bind(sock: Socket<UdpSock>, addr: SockAddrInput): number {
    // A connected UDP socket is already bound (connect autobinds), so
    // inet_bind's "state != TCP_CLOSE" test adds nothing for UDP.
    return inetBind(sock, addr, this.#cfg, this.#addr, this.#udp, false);
  }

  /**
   * `inet_dgram_connect`: AF_UNSPEC disconnects; otherwise autobind (EAGAIN)
   * and `ip4_datagram_connect` (ENETUNREACH, EACCES for broadcast).
   */
  connect(sock: Socket<UdpSock>, addr: SockAddrInput): number {
    const p = this.#addr;
    const r = parseSockAddr(addr, p);
    if (r < 0) return r;
    if (p.family === AF_UNSPEC) {
      this.#udp.disconnect(sock.sk);
      sock.state = SocketState.UNCONNECTED;
      return 0;
    }
    const c = this.#udp.connect(sock.sk, p.addr, p.port);
    if (c < 0) {
      sock.why = this.#sendWhy(c, 0);
      return c;
    }
    sock.state = SocketState.CONNECTED;
    return 0;
  }

  sendmsg(
    sock: Socket<UdpSock>,
    data: Uint8Array,
    flags: number,
    to: SockAddrInput | undefined,
  ): number {
    // Modern udp_sendmsg: MSG_OOB is EOPNOTSUPP; other flags are ignored.
    if ((flags & MSG_OOB) !== 0) return -Errno.EOPNOTSUPP;
    let r: number;
    if (to === undefined) {
      r = this.#udp.sendmsg(sock.sk, data, -1, 0);
    } else {
      const p = this.#addr;
      const e = parseSockAddr(to, p);
      if (e < 0) return e;
      // AF_UNSPEC is accepted as AF_INET here (Linux udp_sendmsg).
      r = this.#udp.sendmsg(sock.sk, data, p.addr, p.port);
    }
    if (r < 0) sock.why = this.#sendWhy(r, data.length);
    return r;
  }

  /**
   * `udp_recvmsg`: MSG_PEEK keeps the datagram; a datagram longer than `buf`
   * is truncated (the rest discarded) and reported with MSG_TRUNC in
   * `info.flags`; with MSG_TRUNC in `flags` the return value is the real
   * length. MSG_ERRQUEUE reads a queued ICMP error (`ip_recv_error`).
   */
  recvmsg(sock: Socket<UdpSock>, buf: Uint8Array, flags: number, info: RecvInfo): number {
    const meta = this.#meta;
    if ((flags & MSG_ERRQUEUE) !== 0) {
      const n = this.#udp.recvError(sock.sk, buf, meta);
      if (n < 0) return n;
      const e = meta.error!;
      info.from = sockAddr(meta.srcAddr, meta.srcPort);
      info.to = null;
      info.flags = MSG_ERRQUEUE | (meta.length > n ? MSG_TRUNC : 0);
      info.error = {
        errno: e.errno,
        origin: SO_EE_ORIGIN_ICMP,
        type: e.type,
        code: e.code,
        info: e.info,
        offender: formatIpv4(e.offender),
      };
      return n;
    }
    const n = this.#udp.recvmsg(sock.sk, buf, (flags & MSG_PEEK) !== 0, meta);
    if (n < 0) return n;
    info.error = null;
    if (meta.eof) {
      info.from = info.to = null;
      info.flags = 0;
      return 0;
    }
    info.from = sockAddr(meta.srcAddr, meta.srcPort);
    info.to = sockAddr(meta.dstAddr, meta.dstPort);
    info.flags = meta.length > n ? MSG_TRUNC : 0;
    return (flags & MSG_TRUNC) !== 0 ? meta.length : n;
  }

  getname(sock: Socket<UdpSock>, peer: boolean): SockAddrIn | number {
    return inetGetname(sock.sk, peer, sock.sk.connected);
  }

  shutdown(sock: Socket<UdpSock>, how: number): number {
    const r = inetShutdown(sock.sk, how, sock.sk.connected);
    if (r === -Errno.ENOTCONN) {
      sock.why = "the socket is not connected (the shutdown still applies)";
    }
    return r;
  }

  release(sock: Socket<UdpSock>): void {
    this.#udp.release(sock.sk);
  }

  setsockopt(sock: Socket<UdpSock>, level: number, name: number, value: number): number {
    if (level === SOL_SOCKET) return sockSetsockopt(sock, name, value);
    if (level === SOL_IP) {
      const r = ipSetsockopt(sock.sk, name, value);
      // Turning IP_RECVERR off purges the error queue (Linux).
      if (r === 0 && name === IP_RECVERR && value === 0) sock.sk.errQueue.length = 0;
      return r;
    }
    // IPPROTO_UDP options (UDP_CORK, UDP_SEGMENT …) are not implemented.
    return -Errno.ENOPROTOOPT;
  }

  getsockopt(sock: Socket<UdpSock>, level: number, name: number): number {
    if (level === SOL_SOCKET) return sockGetsockopt(sock, name);
    if (level === SOL_IP) return ipGetsockopt(sock.sk, name, this.#cfg);
    return -Errno.ENOPROTOOPT;
  }

  /** `datagram_poll`: errors, shutdown, queued data; a datagram socket is always writable. */
  poll(sock: Socket<UdpSock>): number {
    const sk = sock.sk;
    let mask = POLL_WRITABLE;
    if (sk.err !== 0 || sk.errQueue.length > 0) mask |= POLLERR;
    if ((sk.shutdown & RCV_SHUTDOWN) !== 0) mask |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (sk.shutdown === (RCV_SHUTDOWN | SEND_SHUTDOWN)) mask |= POLLHUP;
    if (sk.rcvQueue.length > 0) mask |= POLLIN | POLLRDNORM;
    return mask;
  }

  /** A reason for a send/connect failure the errno alone does not explain. */
  #sendWhy(r: number, len: number): string | null {
    switch (-r) {
      case Errno.EACCES:
        return "sending to a broadcast address needs SO_BROADCAST";
      case Errno.EDESTADDRREQ:
        return "the socket is not connected and no destination was given";
      case Errno.EMSGSIZE:
        return len > UDP_MAX_PAYLOAD
          ? `${len} bytes exceed the UDP maximum of ${UDP_MAX_PAYLOAD}`
          : "the datagram is larger than the path MTU and may not be fragmented";
      case Errno.EAGAIN:
        return "no free port in the local port range";
      case Errno.EINVAL:
        return "destination port 0";
      case Errno.EPIPE:
        return "the socket was shut down for sending";
    }
    return null;
  }
}

/**
 * Register AF_INET/SOCK_DGRAM/IPPROTO_UDP with a socket layer (the `inetsw`
 * entry for UDP).
 *
 * @example
 * ```ts
 * // registerInetDgram(stack.sockets, stack.udp, config);
 * // stack.sockets.socket(AF_INET, SOCK_DGRAM, 0) now works
 * ```
 */
export function registerInetDgram(layer: SocketLayer, udp: UdpProtocol, cfg: InetConfig): void {
  const ops = new InetDgramOps(udp, cfg);
  layer.register(AF_INET, SOCK_DGRAM, IPPROTO_UDP, () => ({ ops, sk: udp.createSock() }));
}
