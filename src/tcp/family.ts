/**
 * What differs between TCP over IPv4 and over IPv6 (Linux keeps it in
 * `tcp_ipv4.c` / `tcp_ipv6.c` behind `inet_connection_sock_af_ops`): where a
 * segment goes (route, output, the pseudo-header checksum), how large it may
 * be (MTU minus 40 or 60 bytes of headers), the keyed hashes over the
 * addresses (ISN, timestamp offset, SYN cookies) and which neighbour table
 * forward progress confirms.
 *
 * ## Address representation (the family tag)
 *
 * A TCB's IPv4 addresses are u32 numbers in `laddr`/`raddr`, as before; an
 * IPv6 TCB has `addr6`, one 32-byte array (local at 0, remote at 16)
 * allocated once per connection, and `laddr`/`raddr` 0. `addr6 === null`
 * *is* the family tag: the IPv4 hot path pays one null check per segment
 * and allocates nothing; the IPv6 path hashes and compares the bytes in
 * place (`KeyedHash.hashIp6Pair`, `ip6Equal`), in the packet on receive and
 * in `addr6` on send — no strings, no per-segment objects. An AF_INET6
 * socket talking to a v4-mapped address (`::ffff:a.b.c.d`) has an IPv4 TCB:
 * the socket layer maps the addresses, as Linux's `ipv6_mapped` ops do.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import type { NetDevice } from "../link/device.ts";
import type { Iface } from "../ipv4/iface.ts";
import type { Route6Result } from "../ipv6/route.ts";
import type { SkBuff } from "../skb/skbuff.ts";
import { isLinkLocal6 } from "../wire/addr6.ts";
import { IPV4_HEADER_LENGTH, IPV4_MIN_DATAGRAM } from "../wire/ipv4.ts";
import { IPV6_HEADER_LENGTH, IPV6_MIN_MTU } from "../wire/ipv6.ts";
import { cachedRoute } from "./dst.ts";
import type { Tcb, TcpContext } from "./tcb.ts";

/**
 * The addresses of a segment being answered or a connection being made:
 * ours is the segment's destination. IPv4 in `laddr`/`raddr` with `addr6`
 * null; IPv6 in `addr6` (local at 0, remote at 16) with `scopeId` the
 * interface of a link-local pair. A {@link Tcb} is one.
 *
 * @example
 * ```ts
 * import type { SegmentEnds } from "./family.ts";
 * const ends: SegmentEnds = { laddr: 0xc0000202, raddr: 0xc0000201, addr6: null, scopeId: 0 };
 * ```
 */
export interface SegmentEnds {
  /** Our IPv4 address (the segment's destination); 0 over IPv6. */
  readonly laddr: number;
  /** The sender's IPv4 address; 0 over IPv6. */
  readonly raddr: number;
  /** IPv6: ours at 0, the sender's at 16; null over IPv4. */
  readonly addr6: Uint8Array | null;
  /** IPv6: the interface index of a link-local pair, else 0. */
  readonly scopeId: number;
}

/**
 * Bytes of network and TCP fixed headers: MSS = MTU − 40 over IPv4, − 60
 * over IPv6 (RFC 9293 MUST-67, RFC 8200 §8.3).
 *
 * @example
 * ```ts
 * // tcpIpHeaders(tcb); // 40 or 60
 * ```
 */
export function tcpIpHeaders(sk: SegmentEnds): number {
  return (sk.addr6 === null ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH) + 20;
}

/**
 * The MTU towards the connection's peer, from its cached route (`dst.ts`;
 * over IPv6 {@link route6}, with the RFC 8201 path MTU cache): 576 (IPv4)
 * or 1280 (IPv6) when there is no route.
 *
 * @example
 * ```ts
 * // routeMtu(tcb); // 1500 on an Ethernet route
 * ```
 */
export function routeMtu(sk: Tcb): number {
  const a6 = sk.addr6;
  if (a6 === null) {
    const rt = cachedRoute(sk);
    return rt !== null ? rt.mtu : IPV4_MIN_DATAGRAM;
  }
  const ip6 = sk.ctx.ipv6?.layer;
  const rt = route6(sk);
  if (ip6 === undefined || rt === null) return IPV6_MIN_MTU;
  return rt.iface.loopback ? rt.iface.mtu : ip6.pathMtu(a6, 16, rt);
}

/**
 * The device a connection's segments leave through (for TSO), or null.
 *
 * @example
 * ```ts
 * // routeDevice(tcb)?.features
 * ```
 */
export function routeDevice(sk: Tcb): NetDevice | null {
  const rt = sk.addr6 === null ? cachedRoute(sk) : route6(sk);
  return rt === null ? null : rt.iface.dev;
}

/**
 * Largest TSO super-segment payload: a 65,535-byte datagram minus the
 * network header (IPv6's payload length counts the TCP header too) and the
 * longest TCP header.
 *
 * @example
 * ```ts
 * // gsoMaxPayload(tcb); // 65455 over IPv4, 65435 over IPv6
 * ```
 */
export function gsoMaxPayload(sk: SegmentEnds): number {
  return 65535 - (sk.addr6 === null ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH) - 60;
}

/**
 * The ISN for the connection's 4-tuple (RFC 9293 §3.4.1) in its family.
 *
 * @example
 * ```ts
 * // tcb.snd.iss = isnOf(tcb);
 * ```
 */
export function isnOf(sk: Tcb): number {
  const isn = sk.ctx.isn;
  const a6 = sk.addr6;
  return (a6 === null
    ? isn.isn(sk.laddr, sk.lport, sk.raddr, sk.rport)
    : isn.isn6(a6, sk.lport, sk.rport)) >>> 0;
}

/**
 * The RFC 7323 §7.1 timestamp offset for the address pair of `ends`.
 *
 * @example
 * ```ts
 * // tcb.tsOffset = tsOffsetOf(tcb.ctx, tcb);
 * ```
 */
export function tsOffsetOf(ctx: TcpContext, ends: SegmentEnds): number {
  const a6 = ends.addr6;
  return (a6 === null ? ctx.isn.tsOffset(ends.laddr, ends.raddr) : ctx.isn.tsOffset6(a6)) >>> 0;
}

/**
 * A SYN cookie for a SYN that arrived at `ends` (RFC 4987 §3.6).
 *
 * @example
 * ```ts
 * // const isn = cookieFor(ctx, ends, th.dstPort, th.srcPort, th.seq, mss);
 * ```
 */
export function cookieFor(
  ctx: TcpContext,
  ends: SegmentEnds,
  ports: { readonly dstPort: number; readonly srcPort: number },
  synSeq: number,
  mss: number,
): number {
  const a6 = ends.addr6;
  return a6 === null
    ? ctx.cookies.make(ends.laddr, ports.dstPort, ends.raddr, ports.srcPort, synSeq, mss)
    : ctx.cookies.make6(a6, ports.dstPort, ports.srcPort, synSeq, mss);
}

/**
 * Check the cookie an ACK that arrived at `ends` returns; its MSS, or null.
 *
 * @example
 * ```ts
 * // const dec = cookieCheck(ctx, ends, th, synSeq, cookie);
 * ```
 */
export function cookieCheck(
  ctx: TcpContext,
  ends: SegmentEnds,
  ports: { readonly dstPort: number; readonly srcPort: number },
  synSeq: number,
  cookie: number,
): { mss: number } | null {
  const a6 = ends.addr6;
  return a6 === null
    ? ctx.cookies.check(ends.laddr, ports.dstPort, ends.raddr, ports.srcPort, synSeq, cookie)
    : ctx.cookies.check6(a6, ports.dstPort, ports.srcPort, synSeq, cookie);
}

/**
 * Give `sk` the addresses of `ends` (a passive open): IPv4 numbers, or a
 * fresh `addr6` with the zone.
 *
 * @example
 * ```ts
 * // takeEnds(child, ends);
 * ```
 */
export function takeEnds(sk: Tcb, ends: SegmentEnds): void {
  const a6 = ends.addr6;
  if (a6 === null) {
    sk.laddr = ends.laddr;
    sk.raddr = ends.raddr;
    sk.addr6 = null;
    return;
  }
  sk.laddr = sk.raddr = 0;
  const own = sk.addr6 ??= new Uint8Array(32);
  own.set(a6);
  sk.scopeId = ends.scopeId;
}

/**
 * The interface of zone `scopeId`, or undefined (none, or unknown).
 *
 * @example
 * ```ts
 * // scopeIface(ctx, tcb.scopeId); // the link of a fe80:: peer
 * ```
 */
export function scopeIface(ctx: TcpContext, scopeId: number): Iface | undefined {
  if (scopeId === 0) return undefined;
  return ctx.ipv6?.devices.byIndex(scopeId)?.iface;
}

/**
 * The zone a pair of IPv6 addresses needs: `ifindex` when either is
 * link-local (RFC 4007 §6), else 0.
 *
 * @example
 * ```ts
 * // child.scopeId = zoneOf(addr6, iface.index);
 * ```
 */
export function zoneOf(a6: Uint8Array, ifindex: number): number {
  return isLinkLocal6(a6, 0) || isLinkLocal6(a6, 16) ? ifindex : 0;
}

/**
 * The connection's IPv6 route (Linux `__sk_dst_check`), kept while the
 * route table's generation is unchanged and its interface is up.
 *
 * @example
 * ```ts
 * // route6(tcb)?.iface
 * ```
 */
export function route6(sk: Tcb): Route6Result | null {
  const ip6 = sk.ctx.ipv6;
  if (ip6 === null || sk.addr6 === null) return null;
  const snd = sk.snd;
  const gen = ip6.routes.generation;
  let rt = snd.route6;
  if (rt === null || snd.routeGen !== gen || !rt.iface.dev.isUp) {
    const r = ip6.layer.route(sk.addr6, 16, scopeIface(sk.ctx, sk.scopeId));
    rt = r === "zone" ? null : r;
    snd.route6 = rt;
    snd.routeGen = gen;
  }
  return rt;
}

/**
 * Send a built IPv6 segment of `sk` (`skb.data` at the TCP header, its
 * checksum field still 0): the IPv6 layer fills the checksum over the
 * pseudo-header in WebAssembly once the header is written. Never fragmented
 * (Linux `ip6_xmit`: TCP follows the path MTU, RFC 8201). `trafficClass`
 * is the socket's, with the ECN bits of this segment (RFC 3168 §5).
 * Consumes `skb`.
 *
 * @example
 * ```ts
 * // transmit6(tcb, skb) === 0
 * ```
 */
export function transmit6(sk: Tcb, skb: SkBuff, trafficClass: number = sk.opt.tos): number {
  const ctx = sk.ctx;
  const ip6 = ctx.ipv6;
  const a6 = sk.addr6!;
  if (ip6 === null) {
    skb.free();
    return -Errno.EAFNOSUPPORT;
  }
  const o = ctx.scratch.send6;
  o.src = a6;
  o.srcOffset = 0;
  o.hopLimit = sk.opt.ttl > 0 ? sk.opt.ttl : undefined;
  o.trafficClass = trafficClass;
  const snd = sk.snd;
  if (snd.flowLabel === 0) {
    // RFC 6437 §3: one label per flow, a keyed hash of it; computed once.
    snd.flowLabel = ip6.layer.flowLabel(a6, 0, a6, 16, 6, (sk.lport << 16) | sk.rport);
  }
  o.flowLabel = snd.flowLabel;
  o.oif = scopeIface(ctx, sk.scopeId);
  o.route = route6(sk) ?? undefined;
  const r = ip6.layer.output(skb, a6, 16, o as Ipv6Send);
  o.route = undefined;
  return r;
}

/**
 * Send a RST (or other stateless reply) built in `skb` to the peer of
 * `ends` over IPv6, from our address there, with the default hop limit.
 *
 * @example
 * ```ts
 * // reply6(ctx, skb, ends);
 * ```
 */
export function reply6(ctx: TcpContext, skb: SkBuff, ends: SegmentEnds): number {
  const ip6 = ctx.ipv6;
  const a6 = ends.addr6!;
  if (ip6 === null) {
    skb.free();
    return -Errno.EAFNOSUPPORT;
  }
  const o = ctx.scratch.send6;
  o.src = a6;
  o.srcOffset = 0;
  o.hopLimit = undefined;
  o.trafficClass = 0;
  o.flowLabel = undefined;
  o.oif = scopeIface(ctx, ends.scopeId);
  o.route = undefined;
  return ip6.layer.output(skb, a6, 16, o as Ipv6Send);
}

/**
 * Forward progress proves the next hop delivers: tell neighbour discovery
 * (RFC 4861 §7.3.1) so a STALE entry skips DELAY/PROBE.
 *
 * @example
 * ```ts
 * // confirm6(tcb);
 * ```
 */
export function confirm6(sk: Tcb): void {
  const rt = sk.snd.route6;
  const ip6 = sk.ctx.ipv6;
  if (rt === null || ip6 === null || sk.addr6 === null || rt.iface.loopback) return;
  if (rt.gateway !== null) ip6.ndisc.confirm(rt.iface, rt.gateway, 0);
  else ip6.ndisc.confirm(rt.iface, sk.addr6, 16);
}

type Ipv6Send = Parameters<NonNullable<TcpContext["ipv6"]>["layer"]["output"]>[3];
