/**
 * `inet6StreamOps`: the proto_ops of AF_INET6/SOCK_STREAM sockets (Linux
 * `inet6_stream_ops`: `inet6_bind`, `tcp_v6_connect`, `inet6_getname`,
 * `ipv6_setsockopt`), on the same TCP as AF_INET (`inet_stream.ts` keeps
 * everything that does not look at an address: accept, send, receive,
 * shutdown, close, readiness, SOL_SOCKET and SOL_TCP options).
 *
 * Decisions recorded here (Linux's):
 * - **Dual stack by default** (`bindv6only` = 0): a listener on `::` also
 *   accepts IPv4 clients, whose addresses are reported v4-mapped
 *   (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2, RFC 3493 §3.7) — unless
 *   IPV6_V6ONLY, which can only change before bind (EINVAL after).
 * - **v4-mapped addresses** turn the connection into IPv4 underneath (the
 *   TCB is an IPv4 one; Linux's `ipv6_mapped` ops): bind to
 *   `::ffff:a.b.c.d` and connect to one work like AF_INET; on an
 *   IPV6_V6ONLY socket bind is EINVAL and connect ENETUNREACH. A socket
 *   bound to a mapped address cannot connect to a real IPv6 one
 *   (EAFNOSUPPORT), nor one bound to a specific IPv6 address to IPv4 (EINVAL).
 * - **Link-local addresses need a zone** (`fe80::1%eth0` or `scopeId`) for
 *   bind (EINVAL without); connect picks the only interface that could
 *   carry it, else EINVAL. An unknown interface is ENODEV.
 * - **listen() without bind()** binds `::` (dual stack unless IPV6_V6ONLY).
 * - IPV6_UNICAST_HOPS and IPV6_TCLASS set the hop limit and traffic class
 *   of the connection's IPv6 segments (TCP's IP_TTL / IP_TOS slots).
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { AddrType } from "../ipv4/layer.ts";
import type { Ipv6Layer } from "../ipv6/layer.ts";
import { TcpState } from "../tcp/state.ts";
import type { TcpProtocol } from "../tcp/tcp.ts";
import {
  IPV6_UNSPECIFIED,
  isLinkLocal6,
  isUnspecified6,
  isV4Mapped,
  v4FromMapped,
  writeV4Mapped,
} from "../wire/addr6.ts";
import {
  ParsedAddr6,
  parseSockAddr6,
  sockAddr6,
  type SockAddrIn,
  type SockAddrInput,
} from "./address.ts";
import {
  AF_INET6,
  AF_UNSPEC,
  IPPROTO_TCP,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  SOCK_STREAM,
  SOL_IPV6,
} from "./constants.ts";
import type { SocketLayer } from "./fd_table.ts";
import { type InetConfig, PROT_SOCK } from "./inet.ts";
import { InetStreamOps, StreamSock, StreamV6 } from "./inet_stream.ts";
import { type Socket, SocketState } from "./socket.ts";
import type { SocketInfo } from "./socket_info.ts";
import { tcpSocketInfo } from "./tcp_info.ts";

/**
 * The stream operations of AF_INET6 sockets over one stack's TCP.
 *
 * @example
 * ```ts
 * // Registered by the Stack: registerInet6Stream(stack.sockets, stack.tcp, ip6, stack.inet)
 * // stack.sockets.socket(AF_INET6, SOCK_STREAM, 0) now works
 * ```
 */
export class Inet6StreamOps extends InetStreamOps {
  readonly #tcp6: TcpProtocol;
  readonly #ip6: Ipv6Layer;
  readonly #conf: InetConfig;
  readonly #ifindex: (name: string) => number;
  readonly #p6 = new ParsedAddr6();
  readonly #a = new Uint8Array(16);
  readonly #b = new Uint8Array(16);

  /** The AF_INET6 stream ops over `tcp` and the IPv6 layer `ip6`. */
  constructor(tcp: TcpProtocol, ip6: Ipv6Layer, cfg: InetConfig) {
    super(tcp, cfg);
    this.#tcp6 = tcp;
    this.#ip6 = ip6;
    this.#conf = cfg;
    this.#ifindex = (name) => {
      for (const d of ip6.devices.all()) if (d.iface.name === name) return d.iface.index;
      return 0;
    };
  }

  /** A control block for a new AF_INET6 socket. */
  override create(): StreamSock {
    const sk = new StreamSock(this.#tcp6.socket());
    sk.v6 = new StreamV6();
    return sk;
  }

  /** The socket's row for `SocketLayer.list()`. */
  override info(sock: Socket<StreamSock>): SocketInfo {
    return tcpSocketInfo(sock.sk.tcp.tcb, sock.fd);
  }

  /**
   * `inet6_bind` for TCP: parse (EINVAL / EAFNOSUPPORT / ENODEV), a
   * v4-mapped address as AF_INET would (EINVAL under IPV6_V6ONLY), an IPv6
   * address of ours (EADDRNOTAVAIL; a link-local one needs its zone,
   * EINVAL), a privileged port (EACCES), not yet bound (EINVAL), then the
   * bind table (EADDRINUSE).
   */
  override bind(sock: Socket<StreamSock>, input: SockAddrInput): number {
    const p = this.#p6;
    const r = parseSockAddr6(input, p, this.#ifindex);
    if (r < 0) return r;
    if (p.family !== AF_INET6) return -Errno.EAFNOSUPPORT;
    if (sock.state !== SocketState.CONNECTED) this.renew(sock);
    const sk = sock.sk;
    const v6 = sk.v6!;
    const tcp = sk.tcp;
    const mapped = isV4Mapped(p.addr, 0);
    const v4 = mapped ? v4FromMapped(p.addr, 0) : 0;
    if (mapped) {
      if (v6.v6only) {
        sock.why = "an IPV6_V6ONLY socket cannot bind an IPv4-mapped address";
        return -Errno.EINVAL;
      }
      if (v4 !== 0 && this.#conf.addrType(v4) !== AddrType.LOCAL) {
        sock.why = "address not available on any interface";
        return -Errno.EADDRNOTAVAIL;
      }
    }
    if (p.port !== 0 && p.port < PROT_SOCK && !this.#conf.allowPrivilegedPorts) {
      sock.why = `ports below ${PROT_SOCK} need privilege (Stack option allowPrivilegedPorts)`;
      return -Errno.EACCES;
    }
    if (tcp.state !== TcpState.CLOSED || tcp.lport !== 0) {
      sock.why = "the socket is already bound";
      return -Errno.EINVAL;
    }
    let b: number;
    if (mapped) {
      b = tcp.bind(v4, p.port);
    } else {
      tcp.v6only = v6.v6only;
      b = tcp.bind6(p.addr, p.port, p.scopeId);
    }
    if (b < 0) {
      sock.why = this.#bindWhy(b, p.port);
      return b;
    }
    v6.mapped = mapped;
    v6.boundAddr.set(p.addr);
    v6.scopeId = mapped ? 0 : tcp.scopeId;
    sk.boundAddr = v4;
    sk.portLocked = p.port !== 0;
    return 0;
  }

  /**
   * `tcp_v6_connect` in the BSD socket states of `inet_stream_connect`:
   * AF_UNSPEC disconnects; a v4-mapped peer goes over IPv4 (ENETUNREACH
   * under IPV6_V6ONLY), any other over IPv6.
   */
  override connect(sock: Socket<StreamSock>, input: SockAddrInput): number {
    if (input !== null && typeof input === "object" && input.family === AF_UNSPEC) {
      this.disconnect(sock);
      return 0;
    }
    const p = this.#p6;
    const r = parseSockAddr6(input, p, this.#ifindex);
    if (r < 0) return r;
    if (p.family !== AF_INET6) return -Errno.EAFNOSUPPORT;
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
    const sk = sock.sk;
    const v6 = sk.v6!;
    const tcp = sk.tcp;
    if (tcp.state !== TcpState.CLOSED) {
      sock.why = tcp.state === TcpState.LISTEN
        ? "the socket is listening"
        : "the socket is already connected";
      return -Errno.EISCONN;
    }
    let c: number;
    if (isV4Mapped(p.addr, 0)) {
      if (v6.v6only) {
        sock.why = "an IPV6_V6ONLY socket cannot reach IPv4-mapped addresses";
        return -Errno.ENETUNREACH;
      }
      if (tcp.lport !== 0 && !v6.mapped && !isUnspecified6(v6.boundAddr, 0)) {
        sock.why = "the socket is bound to an IPv6 address";
        return -Errno.EINVAL;
      }
      c = tcp.connect(v4FromMapped(p.addr, 0), p.port);
    } else {
      if (v6.mapped) {
        sock.why = "the socket is bound to an IPv4-mapped address";
        return -Errno.EAFNOSUPPORT;
      }
      c = tcp.connect6(p.addr, p.port, p.scopeId);
    }
    if (c !== -Errno.EINPROGRESS) {
      if (c === -Errno.ENETUNREACH) sock.why = "no route to the destination";
      else if (c === -Errno.EADDRNOTAVAIL) {
        sock.why = "no source address or free local port for this destination";
      } else if (c === -Errno.EINVAL && isLinkLocal6(p.addr, 0)) {
        sock.why = "a link-local destination needs a scope id (e.g. fe80::1%eth0)";
      } else if (c === -Errno.EAFNOSUPPORT) sock.why = "the stack has no IPv6";
      return c;
    }
    sock.state = SocketState.CONNECTING;
    return -Errno.EINPROGRESS;
  }

  /** `inet_listen`; an unbound socket is bound to `::` first (dual stack unless IPV6_V6ONLY). */
  override listen(sock: Socket<StreamSock>, backlog: number): number {
    if (sock.state === SocketState.UNCONNECTED) {
      this.renew(sock);
      const tcp = sock.sk.tcp;
      if (tcp.state === TcpState.CLOSED && tcp.lport === 0) {
        tcp.v6only = sock.sk.v6!.v6only;
        const b = tcp.bind6(IPV6_UNSPECIFIED, 0, 0);
        if (b < 0) {
          sock.why = "no free port in the local port range";
          return b;
        }
      }
    }
    return super.listen(sock, backlog);
  }

  /** `inet_accept`: the child is an AF_INET6 socket too (an IPv4 peer's address v4-mapped). */
  override accept(sock: Socket<StreamSock>): StreamSock | number {
    const r = super.accept(sock);
    if (typeof r === "number") return r;
    const v6 = new StreamV6();
    v6.v6only = sock.sk.v6!.v6only;
    r.v6 = v6;
    return r;
  }

  /**
   * `inet6_getname`: IPv6 connections as they are (a link-local address
   * with its zone), IPv4 ones v4-mapped; an unbound socket is `[::]:0`.
   */
  override getname(
    sock: Socket<StreamSock>,
    peer: boolean,
    forAccept = false,
  ): SockAddrIn | number {
    const tcp = sock.sk.tcp;
    const v6 = sock.sk.v6!;
    if (peer) {
      if (
        tcp.rport === 0 ||
        (!forAccept && (tcp.state === TcpState.CLOSED || tcp.state === TcpState.SYN_SENT))
      ) {
        sock.why = "the socket is not connected";
        return -Errno.ENOTCONN;
      }
    }
    const a6 = tcp.addr6;
    const port = peer ? tcp.rport : tcp.lport;
    if (a6 !== null) {
      const off = peer ? 16 : 0;
      return sockAddr6(a6, off, port, isLinkLocal6(a6, off) ? tcp.scopeId : 0);
    }
    if (tcp.lport === 0 && !peer && !v6.mapped) return sockAddr6(IPV6_UNSPECIFIED, 0, 0);
    const out = peer ? this.#b : this.#a;
    writeV4Mapped(out, 0, peer ? tcp.raddr : tcp.laddr);
    return sockAddr6(out, 0, port);
  }

  /** SOL_IPV6: IPV6_V6ONLY (before bind), IPV6_UNICAST_HOPS, IPV6_TCLASS; the rest as AF_INET. */
  override setsockopt(
    sock: Socket<StreamSock>,
    level: number,
    name: number,
    value: number,
  ): number {
    if (level !== SOL_IPV6) return super.setsockopt(sock, level, name, value);
    const sk = sock.sk;
    const tcp = sk.tcp;
    switch (name) {
      case IPV6_V6ONLY:
        // RFC 3493 §5.3; Linux: only while unbound.
        if (tcp.lport !== 0 || tcp.state !== TcpState.CLOSED) {
          sock.why = "IPV6_V6ONLY can only change before bind()";
          return -Errno.EINVAL;
        }
        sk.v6!.v6only = value !== 0;
        return 0;
      case IPV6_UNICAST_HOPS:
        if (!(Number.isInteger(value) && value >= -1 && value <= 255)) return -Errno.EINVAL;
        return tcp.setOption("IP_TTL", value === 0 ? -1 : value);
      case IPV6_TCLASS:
        if (!(Number.isInteger(value) && value >= -1 && value <= 255)) return -Errno.EINVAL;
        return tcp.setOption("IP_TOS", value === -1 ? 0 : value);
    }
    return -Errno.ENOPROTOOPT;
  }

  /** SOL_IPV6 as {@link Inet6StreamOps.setsockopt} sets them; the rest as AF_INET. */
  override getsockopt(sock: Socket<StreamSock>, level: number, name: number): number {
    if (level !== SOL_IPV6) return super.getsockopt(sock, level, name);
    const tcp = sock.sk.tcp;
    switch (name) {
      case IPV6_V6ONLY:
        return sock.sk.v6!.v6only ? 1 : 0;
      case IPV6_UNICAST_HOPS: {
        const t = tcp.tcb.opt.ttl;
        return t > 0 ? t : this.#ip6.defaultHopLimit;
      }
      case IPV6_TCLASS:
        return tcp.getOption("IP_TOS");
    }
    return -Errno.ENOPROTOOPT;
  }

  #bindWhy(r: number, port: number): string | null {
    switch (-r) {
      case Errno.EADDRINUSE:
        return port === 0 ? "no free port in the local port range" : null;
      case Errno.EADDRNOTAVAIL:
        return "address not available on any interface (or still tentative)";
      case Errno.EINVAL:
        return "a link-local address needs a scope id (the interface, e.g. fe80::1%eth0)";
      case Errno.ENODEV:
        return "no such interface";
      case Errno.EAFNOSUPPORT:
        return "the stack has no IPv6";
    }
    return null;
  }
}

function connecting(s: TcpState): boolean {
  return s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED;
}

/**
 * Register AF_INET6/SOCK_STREAM/IPPROTO_TCP with a socket layer.
 *
 * @example
 * ```ts
 * // registerInet6Stream(stack.sockets, stack.tcp, stack.ipv6.layer, stack.inet);
 * // const fd = stack.sockets.socket(AF_INET6, SOCK_STREAM, 0);
 * ```
 *
 * @internal
 */
export function registerInet6Stream(
  layer: SocketLayer,
  tcp: TcpProtocol,
  ip6: Ipv6Layer,
  cfg: InetConfig,
): void {
  const ops = new Inet6StreamOps(tcp, ip6, cfg);
  layer.register(AF_INET6, SOCK_STREAM, IPPROTO_TCP, () => ({ ops, sk: ops.create() }));
}
