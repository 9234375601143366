/**
 * bind() and connect() of an IPv6 TCB (Linux `inet6_bind`'s TCP part,
 * `tcp_v6_connect`): addresses are 16-byte arrays, a link-local one needs
 * a zone (the interface index), the source of a connection comes from the
 * bind or from RFC 6724 selection once, and the MSS from the IPv6 path MTU
 * (MTU − 60). listen(), accept(), close() and the rest are `conn.ts`'s,
 * shared by both families. v4-mapped addresses are the socket layer's to
 * turn into IPv4 calls (`socket/inet6_stream.ts`); here they are EAFNOSUPPORT.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { selectSource } from "../ipv6/select.ts";
import {
  IPV6_LOOPBACK,
  isLinkLocal6,
  isMulticast6,
  isUnspecified6,
  isV4Mapped,
} from "../wire/addr6.ts";
import { TCP_DEFAULT_MSS } from "../wire/tcp_options.ts";
import { isnOf, routeMtu, scopeIface, tsOffsetOf } from "./family.ts";
import { tcpDone } from "./lifecycle.ts";
import { connectInit } from "./options.ts";
import { sendSyn } from "./output.ts";
import { TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/**
 * bind() an IPv6 TCB to `addr` (`::` = any) and `port` (0 = pick one);
 * `scopeId` is the interface of a link-local address. 0 or -errno:
 * EINVAL (already bound, bad port, a link-local address without a zone, a
 * v4-mapped address), ENODEV (no such interface), EADDRNOTAVAIL (not a
 * usable address of ours: unknown, tentative, multicast), EADDRINUSE.
 *
 * @example
 * ```ts
 * // tcpBind6(tcb, IPV6_UNSPECIFIED, 8080, 0) === 0 // dual stack unless tcb.v6only
 * ```
 */
export function tcpBind6(sk: Tcb, addr: Uint8Array, port: number, scopeId: number): number {
  if (sk.state !== TcpState.CLOSED || sk.lport !== 0) return -Errno.EINVAL;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) return -Errno.EINVAL;
  const ip6 = sk.ctx.ipv6;
  if (ip6 === null) return -Errno.EAFNOSUPPORT;
  if (isV4Mapped(addr, 0)) return -Errno.EAFNOSUPPORT;
  let zone = 0;
  if (!isUnspecified6(addr, 0)) {
    if (isMulticast6(addr, 0)) return -Errno.EADDRNOTAVAIL;
    if (isLinkLocal6(addr, 0)) {
      // RFC 4007 §6: a link-local address means nothing without its link.
      if (scopeId === 0) return -Errno.EINVAL;
      const dev = ip6.devices.byIndex(scopeId);
      if (dev === undefined) return -Errno.ENODEV;
      if (!(dev.find(addr, 0)?.usable ?? false)) return -Errno.EADDRNOTAVAIL;
      zone = scopeId;
    } else if (!ip6.devices.isLocal(addr, 0)) {
      return -Errno.EADDRNOTAVAIL;
    }
  }
  const r = sk.ctx.tables.bind6(sk, addr, 0, port);
  if (r < 0) return r;
  sk.scopeId = zone;
  return 0;
}

/**
 * connect() an IPv6 TCB to `raddr`:`rport` (Linux `tcp_v6_connect`):
 * `::` means this host (`::1`); `scopeId` is the zone of a link-local peer
 * (else the bound one). Returns -EINPROGRESS once the SYN is out, or
 * -EALREADY / -EISCONN / -EINVAL (port, zone needed) / -ENETUNREACH
 * (multicast, no route) / -EADDRNOTAVAIL (no source, no port) /
 * -EAFNOSUPPORT (v4-mapped, no IPv6).
 *
 * @example
 * ```ts
 * // tcpConnect6(tcb, parseIpv6Address("2001:db8::2"), 80, 0) === -Errno.EINPROGRESS
 * ```
 */
export function tcpConnect6(sk: Tcb, raddr: Uint8Array, rport: number, scopeId: number): number {
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
  if (sk.done) return -Errno.EISCONN;
  const ip6 = ctx.ipv6;
  if (ip6 === null || isV4Mapped(raddr, 0)) return -Errno.EAFNOSUPPORT;
  if (!(Number.isInteger(rport) && rport > 0 && rport <= 65535)) return -Errno.EINVAL;
  const dst = isUnspecified6(raddr, 0) ? IPV6_LOOPBACK : raddr;
  // MUST-46: no connections to multicast addresses.
  if (isMulticast6(dst, 0)) return -Errno.ENETUNREACH;
  const zone = scopeId !== 0 ? scopeId : sk.scopeId;
  const oif = scopeIface(ctx, zone);
  if (zone !== 0 && oif === undefined) return -Errno.ENODEV;
  const rt = ip6.layer.route(dst, 0, oif);
  if (rt === "zone") return -Errno.EINVAL;
  if (rt === null) return -Errno.ENETUNREACH;
  // MUST-44/45: the local address comes from the bind or (RFC 6724) the route, once.
  const bound = sk.addr6;
  let src: Uint8Array;
  if (bound !== null && !isUnspecified6(bound, 0)) {
    src = bound.slice(0, 16);
  } else {
    const a = selectSource(ip6.devices, dst, 0, rt.iface);
    if (a === null) return -Errno.EADDRNOTAVAIL;
    src = a.address;
  }
  const snd = sk.snd;
  snd.mssClamp = TCP_DEFAULT_MSS;
  snd.route6 = null;
  snd.flowLabel = 0;
  // SYN-SENT before the port is chosen (Linux tcp_v6_connect).
  sk.setState(TcpState.SYN_SENT);
  const r = ctx.tables.connect6(sk, src, dst, rport);
  if (r < 0) {
    sk.setState(TcpState.CLOSED);
    return r;
  }
  sk.scopeId = isLinkLocal6(src, 0) || isLinkLocal6(dst, 0) ? rt.iface.index : 0;
  // One route lookup per connection end (`dst.ts`): the one made above.
  snd.route6 = rt;
  snd.routeGen = ip6.routes.generation;
  connectInit(sk, routeMtu(sk));
  snd.iss = snd.presetIss >= 0 ? snd.presetIss : isnOf(sk);
  sk.tsOffset = tsOffsetOf(ctx, sk);
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
