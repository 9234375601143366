/**
 * `inet6DgramOps`: the proto_ops of AF_INET6/SOCK_DGRAM sockets (Linux
 * `inet6_dgram_ops`, `inet6_bind`, `ip6_datagram_connect`,
 * `udpv6_sendmsg`), dispatching to UDP over IPv6 (`udp6.ts`) and, for
 * IPv4-mapped addresses on a dual-stack socket, to UDP over IPv4 (RFC 3493
 * §3.7, RFC 4038 §4.2).
 *
 * Decisions recorded here (Linux's):
 * - **Dual stack by default** (`bindv6only` = 0): a socket on `::` receives
 *   IPv4 too, reported as `::ffff:a.b.c.d`, unless IPV6_V6ONLY, which can
 *   only change before bind (EINVAL after).
 * - **Mapped addresses on an IPV6_V6ONLY socket**: bind is EINVAL, connect
 *   and send are ENETUNREACH.
 * - **Link-local addresses need a zone**: bind and connect without a scope
 *   id (and without a bound interface) are EINVAL; an unknown interface is
 *   ENODEV.
 * - **Tentative addresses cannot be bound** (EADDRNOTAVAIL) until DAD has
 *   finished, unless IP_FREEBIND or `nonlocalBind`.
 * - IP-level options (SOL_IP) still apply to the socket's IPv4 traffic.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { AddrType } from "../ipv4/layer.ts";
import type { Ipv6Layer } from "../ipv6/layer.ts";
import type { UdpSock } from "../udp/sock.ts";
import type { Udp6 } from "../udp/udp6.ts";
import { UDP6_MAX_PAYLOAD } from "../udp/udp6.ts";
import { type UdpProtocol, UdpRecvMeta } from "../udp/udp.ts";
import {
  isLinkLocal6,
  isMulticast6,
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
  IPPROTO_UDP,
  IPV6_DONTFRAG,
  IPV6_MTU_DISCOVER,
  IPV6_MULTICAST_HOPS,
  IPV6_RECVERR,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
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
  SOL_IPV6,
  SOL_SOCKET,
} from "./constants.ts";
import type { SocketLayer } from "./fd_table.ts";
import {
  type InetConfig,
  inetShutdown,
  PROT_SOCK,
  SOCK_BINDADDR_LOCK,
  SOCK_BINDPORT_LOCK,
} from "./inet.ts";
import { ipGetsockopt, ipSetsockopt, sockGetsockopt, sockSetsockopt } from "./sockopt.ts";
import {
  type ProtoOps,
  RCV_SHUTDOWN,
  type RecvInfo,
  SEND_SHUTDOWN,
  type Socket,
  SocketState,
} from "./socket.ts";

/** SO_EE_ORIGIN_ICMP6 (Linux). */
const SO_EE_ORIGIN_ICMP6 = 3;
/** IPV6_PMTUDISC_DO. */
const IPV6_PMTUDISC_DO = 2;

/**
 * The datagram operations of AF_INET6 sockets over one stack's UDP.
 *
 * @example
 * ```ts
 * // Registered by the Stack: registerInet6Dgram(stack.sockets, stack.udp, stack.udp6, ip6, config)
 * ```
 */
export class Inet6DgramOps implements ProtoOps<UdpSock> {
  readonly #udp: UdpProtocol;
  readonly #udp6: Udp6;
  readonly #ip6: Ipv6Layer;
  readonly #cfg: InetConfig;
  readonly #ifindex: (name: string) => number;
  readonly #addr = new ParsedAddr6();
  readonly #meta = new UdpRecvMeta();
  readonly #mapped = new Uint8Array(16);

  constructor(udp: UdpProtocol, udp6: Udp6, ip6: Ipv6Layer, cfg: InetConfig) {
    this.#udp = udp;
    this.#udp6 = udp6;
    this.#ip6 = ip6;
    this.#cfg = cfg;
    this.#ifindex = (name) => {
      for (const d of ip6.devices.all()) if (d.iface.name === name) return d.iface.index;
      return 0;
    };
  }

  /** `inet6_bind`. */
  bind(sock: Socket<UdpSock>, input: SockAddrInput): number {
    const sk = sock.sk;
    const v6 = sk.v6!;
    const p = this.#addr;
    const r = parseSockAddr6(input, p, this.#ifindex);
    if (r < 0) return r;
    if (p.family !== AF_INET6) return -Errno.EAFNOSUPPORT;
    const a = p.addr;
    const free = this.#cfg.nonlocalBind || sk.freebind;
    let v4 = 0;
    let kind: AddrType = AddrType.UNICAST;
    let boundIf = 0;
    if (isV4Mapped(a, 0)) {
      if (v6.v6only) {
        sock.why = "an IPV6_V6ONLY socket cannot bind an IPv4-mapped address";
        return -Errno.EINVAL;
      }
      v4 = v4FromMapped(a, 0);
      kind = this.#cfg.addrType(v4);
      if (!free && v4 !== 0 && kind === AddrType.UNICAST) {
        sock.why = "address not available on any interface";
        return -Errno.EADDRNOTAVAIL;
      }
    } else if (!isUnspecified6(a, 0)) {
      if (isLinkLocal6(a, 0) || (isMulticast6(a, 0) && (a[1]! & 15) <= 2)) {
        boundIf = p.scopeId !== 0 ? p.scopeId : v6.boundIf;
        if (boundIf === 0) {
          sock.why = "a link-local address needs a scope id (the interface, e.g. fe80::1%eth0)";
          return -Errno.EINVAL;
        }
        if (this.#ip6.devices.byIndex(boundIf) === undefined) return -Errno.ENODEV;
      }
      if (!isMulticast6(a, 0) && !free) {
        const found = this.#ip6.devices.findAddr(a, 0);
        const ok = found !== undefined && found.addr.usable &&
          (boundIf === 0 || !isLinkLocal6(a, 0) || found.dev.iface.index === boundIf);
        if (!ok) {
          sock.why = found !== undefined && found.addr.state === 0
            ? "the address is still tentative (duplicate address detection is running)"
            : "address not available on any interface";
          return -Errno.EADDRNOTAVAIL;
        }
      }
    }
    if (p.port !== 0 && p.port < PROT_SOCK && !this.#cfg.allowPrivilegedPorts) {
      sock.why = `ports below ${PROT_SOCK} need privilege (Stack option allowPrivilegedPorts)`;
      return -Errno.EACCES;
    }
    if (sk.num !== 0) {
      sock.why = "the socket is already bound";
      return -Errno.EINVAL;
    }
    v6.rcvSaddr.set(a);
    v6.saddr.set(a);
    if (isMulticast6(a, 0)) v6.saddr.fill(0);
    v6.boundIf = boundIf;
    sk.rcvSaddr = sk.saddr = v4;
    if (kind === AddrType.MULTICAST || kind === AddrType.BROADCAST) {
      sk.saddr = 0;
      v6.saddr.fill(0);
    }
    if (this.#udp.getPort(sk, p.port) < 0) {
      v6.rcvSaddr.fill(0);
      v6.saddr.fill(0);
      v6.boundIf = 0;
      sk.rcvSaddr = sk.saddr = 0;
      if (p.port === 0) sock.why = "no free port in the local port range";
      return -Errno.EADDRINUSE;
    }
    if (!isUnspecified6(a, 0)) sk.userLocks |= SOCK_BINDADDR_LOCK;
    if (p.port !== 0) sk.userLocks |= SOCK_BINDPORT_LOCK;
    sk.daddr = 0;
    sk.dport = 0;
    return 0;
  }

  /** `ip6_datagram_connect` (AF_UNSPEC disconnects; mapped peers go through IPv4). */
  connect(sock: Socket<UdpSock>, input: SockAddrInput): number {
    const sk = sock.sk;
    const v6 = sk.v6!;
    const p = this.#addr;
    const r = parseSockAddr6(input, p, this.#ifindex);
    if (r < 0) {
      // connect(AF_UNSPEC) needs no address at all.
      if (input !== null && typeof input === "object" && input.family === AF_UNSPEC) {
        this.#udp.disconnect(sk);
        sock.state = SocketState.UNCONNECTED;
        return 0;
      }
      return r;
    }
    if (p.family === AF_UNSPEC) {
      this.#udp.disconnect(sk);
      sock.state = SocketState.UNCONNECTED;
      return 0;
    }
    let c: number;
    if (isV4Mapped(p.addr, 0)) {
      if (v6.v6only) return -Errno.ENETUNREACH;
      c = this.#udp.connect(sk, v4FromMapped(p.addr, 0), p.port);
      if (c === 0) {
        writeV4Mapped(v6.daddr, 0, sk.daddr);
        if (isUnspecified6(v6.saddr, 0)) writeV4Mapped(v6.saddr, 0, sk.saddr);
        if (isUnspecified6(v6.rcvSaddr, 0)) writeV4Mapped(v6.rcvSaddr, 0, sk.rcvSaddr);
      }
    } else {
      // A link-local peer without a scope: the layer routes it when only one
      // interface could carry it, else EINVAL.
      c = this.#udp6.connect(sk, p.addr, p.port, p.scopeId);
    }
    if (c < 0) {
      sock.why = this.#why(c, 0);
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
    if ((flags & MSG_OOB) !== 0) return -Errno.EOPNOTSUPP;
    const sk = sock.sk;
    const v6 = sk.v6!;
    let r: number;
    if (to === undefined) {
      r = sk.connected && isV4Mapped(v6.daddr, 0)
        ? this.#udp.sendmsg(sk, data, -1, 0)
        : this.#udp6.sendmsg(sk, data, null, 0, 0);
    } else {
      const p = this.#addr;
      const e = parseSockAddr6(to, p, this.#ifindex);
      if (e < 0) return e;
      if (isV4Mapped(p.addr, 0)) {
        r = v6.v6only
          ? -Errno.ENETUNREACH
          : this.#udp.sendmsg(sk, data, v4FromMapped(p.addr, 0), p.port);
      } else {
        r = this.#udp6.sendmsg(sk, data, p.addr, p.port, p.scopeId);
      }
    }
    if (r < 0) sock.why = this.#why(r, data.length);
    return r;
  }

  /** `udpv6_recvmsg`: addresses are reported as IPv6 (IPv4 senders v4-mapped). */
  recvmsg(sock: Socket<UdpSock>, buf: Uint8Array, flags: number, info: RecvInfo): number {
    const meta = this.#meta;
    const sk = sock.sk;
    if ((flags & MSG_ERRQUEUE) !== 0) {
      const n = this.#udp.recvError(sk, buf, meta);
      if (n < 0) return n;
      const e = meta.error!;
      info.from = this.#addrOf(meta.family, meta.srcAddr6, meta.srcAddr, meta.srcPort, 0);
      info.to = null;
      info.flags = MSG_ERRQUEUE | (meta.length > n ? MSG_TRUNC : 0);
      const off = e.offender6 ?? this.#map(e.offender);
      info.error = {
        errno: e.errno,
        origin: e.offender6 !== undefined ? SO_EE_ORIGIN_ICMP6 : SO_EE_ORIGIN_ICMP,
        type: e.type,
        code: e.code,
        info: e.info,
        offender: sockAddr6(off, 0, 0).address,
      };
      return n;
    }
    const n = this.#udp.recvmsg(sk, buf, (flags & MSG_PEEK) !== 0, meta);
    if (n < 0) return n;
    info.error = null;
    if (meta.eof) {
      info.from = info.to = null;
      info.flags = 0;
      return 0;
    }
    const scope = meta.family === 6 && isLinkLocal6(meta.srcAddr6, 0) ? meta.ifindex : 0;
    info.from = this.#addrOf(meta.family, meta.srcAddr6, meta.srcAddr, meta.srcPort, scope);
    info.to = this.#addrOf(meta.family, meta.dstAddr6, meta.dstAddr, meta.dstPort, scope);
    info.flags = meta.length > n ? MSG_TRUNC : 0;
    return (flags & MSG_TRUNC) !== 0 ? meta.length : n;
  }

  /** `inet6_getname`. */
  getname(sock: Socket<UdpSock>, peer: boolean): SockAddrIn | number {
    const sk = sock.sk;
    const v6 = sk.v6!;
    if (peer) {
      if (!sk.connected) return -Errno.ENOTCONN;
      return sockAddr6(v6.daddr, 0, sk.dport, v6.peerScope);
    }
    const local = isUnspecified6(v6.rcvSaddr, 0) ? v6.saddr : v6.rcvSaddr;
    return sockAddr6(local, 0, sk.num, isLinkLocal6(local, 0) ? v6.boundIf : 0);
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
    const sk = sock.sk;
    const v6 = sk.v6!;
    if (level === SOL_SOCKET) return sockSetsockopt(sock, name, value);
    if (level === SOL_IP) return ipSetsockopt(sk, name, value);
    if (level !== SOL_IPV6) return -Errno.ENOPROTOOPT;
    switch (name) {
      case IPV6_V6ONLY:
        // RFC 3493 §5.3; Linux: only while unbound.
        if (sk.num !== 0) return -Errno.EINVAL;
        v6.v6only = value !== 0;
        return 0;
      case IPV6_UNICAST_HOPS:
        if (!(Number.isInteger(value) && value >= -1 && value <= 255)) return -Errno.EINVAL;
        v6.hopLimit = value === 0 ? -1 : value;
        return 0;
      case IPV6_MULTICAST_HOPS:
        if (!(Number.isInteger(value) && value >= -1 && value <= 255)) return -Errno.EINVAL;
        v6.mcHops = value === -1 ? 1 : Math.max(1, value);
        return 0;
      case IPV6_TCLASS:
        if (!(Number.isInteger(value) && value >= -1 && value <= 255)) return -Errno.EINVAL;
        v6.tclass = value === -1 ? 0 : value;
        return 0;
      case IPV6_RECVERR:
        v6.recvErr = value !== 0;
        if (!v6.recvErr && !sk.recvErr) sk.errQueue.length = 0;
        return 0;
      case IPV6_DONTFRAG:
        v6.dontFrag = value !== 0;
        return 0;
      case IPV6_MTU_DISCOVER:
        if (!(Number.isInteger(value) && value >= 0 && value <= 5)) return -Errno.EINVAL;
        v6.dontFrag = value === IPV6_PMTUDISC_DO;
        return 0;
    }
    return -Errno.ENOPROTOOPT;
  }

  getsockopt(sock: Socket<UdpSock>, level: number, name: number): number {
    const sk = sock.sk;
    const v6 = sk.v6!;
    if (level === SOL_SOCKET) return sockGetsockopt(sock, name);
    if (level === SOL_IP) return ipGetsockopt(sk, name, this.#cfg);
    if (level !== SOL_IPV6) return -Errno.ENOPROTOOPT;
    switch (name) {
      case IPV6_V6ONLY:
        return v6.v6only ? 1 : 0;
      case IPV6_UNICAST_HOPS:
        return v6.hopLimit >= 0 ? v6.hopLimit : this.#ip6.defaultHopLimit;
      case IPV6_MULTICAST_HOPS:
        return v6.mcHops;
      case IPV6_TCLASS:
        return v6.tclass;
      case IPV6_RECVERR:
        return v6.recvErr ? 1 : 0;
      case IPV6_DONTFRAG:
        return v6.dontFrag ? 1 : 0;
      case IPV6_MTU_DISCOVER:
        return v6.dontFrag ? IPV6_PMTUDISC_DO : 0;
    }
    return -Errno.ENOPROTOOPT;
  }

  /** `datagram_poll`. */
  poll(sock: Socket<UdpSock>): number {
    const sk = sock.sk;
    let mask = POLLOUT | POLLWRNORM;
    if (sk.err !== 0 || sk.errQueue.length > 0) mask |= POLLERR;
    if ((sk.shutdown & RCV_SHUTDOWN) !== 0) mask |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (sk.shutdown === (RCV_SHUTDOWN | SEND_SHUTDOWN)) mask |= POLLHUP;
    if (sk.rcvQueue.length > 0) mask |= POLLIN | POLLRDNORM;
    return mask;
  }

  #map(v4: number): Uint8Array {
    writeV4Mapped(this.#mapped, 0, v4);
    return this.#mapped;
  }

  #addrOf(family: number, a6: Uint8Array, a4: number, port: number, scope: number): SockAddrIn {
    return family === 6 ? sockAddr6(a6, 0, port, scope) : sockAddr6(this.#map(a4), 0, port, 0);
  }

  #why(r: number, len: number): string | null {
    switch (-r) {
      case Errno.EACCES:
        return "sending to a broadcast address needs SO_BROADCAST";
      case Errno.EDESTADDRREQ:
        return "the socket is not connected and no destination was given";
      case Errno.EMSGSIZE:
        return len > UDP6_MAX_PAYLOAD
          ? `${len} bytes exceed the UDP maximum of ${UDP6_MAX_PAYLOAD}`
          : "the datagram is larger than the path MTU and may not be fragmented";
      case Errno.EAGAIN:
        return "no free port in the local port range";
      case Errno.EINVAL:
        return "destination port 0, or a link-local destination without a scope id";
      case Errno.EPIPE:
        return "the socket was shut down for sending";
      case Errno.ENETUNREACH:
        return "no route (an IPV6_V6ONLY socket cannot reach IPv4-mapped addresses)";
    }
    return null;
  }
}

/**
 * Register AF_INET6/SOCK_DGRAM/IPPROTO_UDP with a socket layer.
 *
 * @example
 * ```ts
 * // registerInet6Dgram(stack.sockets, stack.udp, udp6, stack.ipv6.layer, stack.inet);
 * // stack.sockets.socket(AF_INET6, SOCK_DGRAM, 0) now works
 * ```
 */
export function registerInet6Dgram(
  layer: SocketLayer,
  udp: UdpProtocol,
  udp6: Udp6,
  ip6: Ipv6Layer,
  cfg: InetConfig,
): void {
  const ops = new Inet6DgramOps(udp, udp6, ip6, cfg);
  layer.register(AF_INET6, SOCK_DGRAM, IPPROTO_UDP, () => ({ ops, sk: udp.createSock6() }));
}
