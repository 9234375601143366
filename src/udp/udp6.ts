/**
 * UDP over IPv6 (RFC 8200 §8.1, RFC 768; Linux `udp_ipv6.c`): receive with
 * the mandatory checksum, demultiplexing by hash (the port bucket, then
 * addresses compared in place in the packet), ICMPv6 port unreachable,
 * errors to sockets, and the AF_INET6 send and connect paths. Sockets, the
 * port table and the receive queues are UDP's own (`udp.ts`): one table for
 * both families, as in Linux, so an AF_INET6 socket on `::` also receives
 * IPv4 datagrams unless IPV6_V6ONLY, through the IPv4 code and the
 * v4-mapped mirror of its addresses.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import type { Iface } from "../ipv4/iface.ts";
import { icmpv6Errno } from "../ipv6/icmp.ts";
import type { Icmpv6Error, Inet6Protocol, Ipv6Layer, Ipv6SendOptions } from "../ipv6/layer.ts";
import { selectSource } from "../ipv6/select.ts";
import { Csum, type SkBuff } from "../skb/skbuff.ts";
import { ip6Equal, IPV6_LOOPBACK, isMulticast6, isUnspecified6 } from "../wire/addr6.ts";
import { type EmitOptions, get16, type ParseOptions } from "../wire/bytes.ts";
import { Icmpv6Type } from "../wire/icmpv6.ts";
import { type Ipv6Repr, NextHeader } from "../wire/ipv6.ts";
import { emitUdp6, parseUdp6, UDP_HEADER_LENGTH } from "../wire/udp.ts";
import { ERR_QUEUE_MAX, SEND_SHUTDOWN, type UdpSock } from "./sock.ts";
import { takesV6 } from "./table.ts";
import type { UdpProtocol } from "./udp.ts";

/**
 * Largest UDP payload over IPv6: 65535 − 8 (no jumbograms).
 *
 * @example
 * ```ts
 * import { UDP6_MAX_PAYLOAD } from "./udp6.ts";
 * UDP6_MAX_PAYLOAD; // 65527
 * ```
 */
export const UDP6_MAX_PAYLOAD = 65527;

const NO_VERIFY: ParseOptions = { verifyChecksum: false };
const NO_CHECKSUM: EmitOptions = { checksum: false };

/** The send options as one reused record (fields may be reset to undefined). */
type MutableSend = { -readonly [K in keyof Ipv6SendOptions]: Ipv6SendOptions[K] | undefined };

/**
 * The IPv6 half of UDP; registers itself for next header 17.
 *
 * @example
 * ```ts
 * // Created by Stack: new Udp6(stack.udp, stack.ipv6.layer)
 * ```
 */
export class Udp6 implements Inet6Protocol {
  readonly #udp: UdpProtocol;
  readonly #ip: Ipv6Layer;
  // Scratch reused for every datagram: receiving and sending allocate no objects.
  readonly #ph: { src: Uint8Array; srcOffset: number; dst: Uint8Array; dstOffset: number } = {
    src: new Uint8Array(0),
    srcOffset: 0,
    dst: new Uint8Array(0),
    dstOffset: 0,
  };
  readonly #repr = { srcPort: 0, dstPort: 0, payloadLength: 0 };
  readonly #out: MutableSend = { nextHeader: NextHeader.UDP };
  readonly #loop = IPV6_LOOPBACK.slice();

  constructor(udp: UdpProtocol, ip: Ipv6Layer) {
    this.#udp = udp;
    this.#ip = ip;
    ip.register(NextHeader.UDP, this);
  }

  /** Receive a datagram (`__udp6_lib_rcv`): `skb.data` at the UDP header. Consumes `skb`. */
  rcv(skb: SkBuff, ip: Ipv6Repr, iface: Iface): void {
    const st = this.#ip.stats.udp;
    const u8 = this.#ip.allocator.arena.u8;
    const ph = this.#ph;
    ph.src = ph.dst = u8;
    ph.srcOffset = ip.srcOffset;
    ph.dstOffset = ip.dstOffset;
    const r = parseUdp6(
      u8,
      skb.data,
      skb.len,
      ph,
      skb.ipSummed === Csum.Unnecessary ? NO_VERIFY : undefined,
    );
    if (typeof r === "string") {
      if (r === "udp.bad_checksum" || r === "udp.zero_checksum") st.inCsumErrors++;
      st.inErrors++;
      return this.#drop(skb, r);
    }
    skb.trim(UDP_HEADER_LENGTH + r.payloadLength);
    skb.pull(UDP_HEADER_LENGTH);
    if (isMulticast6(u8, ip.dstOffset)) return this.#deliverToAll(skb, ip, r.srcPort, r.dstPort);
    const sk = this.#udp.table.lookup6(
      u8,
      ip.srcOffset,
      r.srcPort,
      ip.dstOffset,
      r.dstPort,
      iface.index,
    );
    if (sk === null) {
      st.noPorts++;
      // RFC 4443 §3.1: port unreachable (code 4); sendError applies §2.4 (e) and (f).
      this.#ip.icmp?.sendError(skb, Icmpv6Type.DEST_UNREACHABLE, 4);
      return this.#drop(skb, "udp.no_socket");
    }
    this.#udp.deliver(sk, skb);
  }

  /**
   * An ICMPv6 error about a datagram we sent (`__udp6_lib_err`): a connected
   * socket keeps it as its pending error, a socket with IPV6_RECVERR queues
   * it; Packet Too Big only updates the path MTU (done by ICMPv6) unless the
   * socket asked for errors, as in Linux.
   */
  err(e: Icmpv6Error): void {
    const q = e.quote;
    if (q.fragmentOffset !== 0 || q.transportLength < UDP_HEADER_LENGTH) return;
    const t = q.transportOffset;
    const sport = get16(e.u8, t);
    const dport = get16(e.u8, t + 2);
    const sk = this.#udp.table.lookup6(e.u8, q.dstOffset, dport, q.srcOffset, sport, -1);
    if (sk === null || sk.v6 === null) return;
    const v6 = sk.v6;
    const [errno] = icmpv6Errno(e.type, e.code, e.info);
    const tooBig = e.type === Icmpv6Type.PACKET_TOO_BIG;
    if (!v6.recvErr && (tooBig || !sk.connected)) return;
    if (v6.recvErr) {
      if (sk.errQueue.length >= ERR_QUEUE_MAX) {
        this.#ip.stats.drops.count("udp.err_queue_full");
      } else {
        sk.errQueue.push({
          errno,
          type: e.type,
          code: e.code,
          info: e.info,
          offender: 0,
          dstAddr: 0,
          dstPort: dport,
          payload: e.u8.slice(t + UDP_HEADER_LENGTH, t + q.transportLength),
          offender6: e.u8.slice(e.fromOffset, e.fromOffset + 16),
          dstAddr6: e.u8.slice(q.dstOffset, q.dstOffset + 16),
        });
      }
    }
    sk.err = errno;
    sk.wake();
  }

  /**
   * Set the default destination of an AF_INET6 socket to a (non-mapped)
   * IPv6 address (`ip6_datagram_connect`): autobind, route (ENETUNREACH;
   * EINVAL for a link-local peer without a scope), and fix the source.
   */
  connect(sk: UdpSock, addr: Uint8Array, port: number, scopeId: number): number {
    const v6 = sk.v6;
    if (v6 === null) return -Errno.EAFNOSUPPORT;
    if (this.#udp.autobind(sk) < 0) return -Errno.EAGAIN;
    const dst = isUnspecified6(addr, 0) ? this.#loop : addr;
    const oif = this.#oif(sk, scopeId);
    if (oif === null) return -Errno.ENODEV;
    const rt = this.#ip.route(dst, 0, oif);
    if (rt === "zone") return -Errno.EINVAL;
    if (rt === null) {
      this.#ip.stats.ip6.outNoRoutes++;
      return -Errno.ENETUNREACH;
    }
    if (isUnspecified6(v6.saddr, 0)) {
      const a = selectSource(this.#ip.devices, dst, 0, rt.iface);
      if (a === null) return -Errno.EADDRNOTAVAIL;
      v6.saddr.set(a.address);
      if (isUnspecified6(v6.rcvSaddr, 0)) v6.rcvSaddr.set(a.address);
    }
    v6.daddr.set(dst.subarray(0, 16));
    v6.peerScope = scopeId !== 0 ? scopeId : oif?.index ?? 0;
    sk.daddr = 0;
    sk.dport = port;
    sk.connected = true;
    return 0;
  }

  /**
   * Send one datagram from an AF_INET6 socket to a non-mapped IPv6 address
   * (`udpv6_sendmsg`); `to` null means the connected peer. Returns the bytes
   * sent or `-errno`, in the order of the IPv4 path: EAGAIN (autobind),
   * EMSGSIZE, EDESTADDRREQ, EINVAL (port 0), the pending error, EPIPE,
   * ENOBUFS, then routing (ENETUNREACH, EINVAL without a zone) and
   * EMSGSIZE under IPV6_DONTFRAG.
   */
  sendmsg(
    sk: UdpSock,
    data: Uint8Array,
    to: Uint8Array | null,
    toPort: number,
    scopeId: number,
  ): number {
    const v6 = sk.v6;
    if (v6 === null) return -Errno.EAFNOSUPPORT;
    const len = data.length;
    if (this.#udp.autobind(sk) < 0) return -Errno.EAGAIN;
    if (len > UDP6_MAX_PAYLOAD) return -Errno.EMSGSIZE;
    let dst: Uint8Array;
    let dport: number;
    let scope = scopeId;
    if (to !== null) {
      if (toPort === 0) return -Errno.EINVAL;
      dst = to;
      dport = toPort;
    } else {
      if (!sk.connected || isUnspecified6(v6.daddr, 0)) return -Errno.EDESTADDRREQ;
      dst = v6.daddr;
      dport = sk.dport;
      scope = v6.peerScope;
    }
    // Sending to :: means this host (as INADDR_ANY does for IPv4).
    if (isUnspecified6(dst, 0)) dst = this.#loop;
    if (sk.err !== 0) {
      const e = sk.err;
      sk.err = 0;
      return -e;
    }
    if ((sk.shutdown & SEND_SHUTDOWN) !== 0) return -Errno.EPIPE;
    const oif = this.#oif(sk, scope);
    if (oif === null) return -Errno.ENODEV;
    const ip = this.#ip;
    const skb = ip.allocator.alloc(UDP_HEADER_LENGTH + len);
    if (skb === null) {
      ip.stats.udp.sndbufErrors++;
      return -Errno.ENOBUFS;
    }
    const at = skb.put(UDP_HEADER_LENGTH + len);
    const u8 = ip.allocator.arena.u8;
    u8.set(data, at + UDP_HEADER_LENGTH);
    const repr = this.#repr;
    repr.srcPort = sk.num;
    repr.dstPort = dport;
    repr.payloadLength = len;
    // The checksum needs the source, which the layer may still have to choose:
    // it fills it in over the pseudo-header once the IPv6 header is written.
    const ph = this.#ph;
    ph.src = ph.dst = u8;
    emitUdp6(repr, u8, at, ph, NO_CHECKSUM);
    skb.transportHeader = at;
    const out = this.#out;
    // Always a checksum: SO_NO_CHECK does not apply over IPv6 (RFC 8200 §8.1).
    out.checksumOffset = 6;
    out.src = isUnspecified6(v6.saddr, 0) ? undefined : v6.saddr;
    const multicast = isMulticast6(dst, 0);
    out.hopLimit = multicast ? v6.mcHops : v6.hopLimit >= 0 ? v6.hopLimit : undefined;
    out.trafficClass = v6.tclass;
    out.dontFragment = v6.dontFrag;
    out.oif = oif;
    out.flowKey = (sk.num << 16) | dport;
    const r = ip.output(skb, dst, 0, out as Ipv6SendOptions);
    if (r < 0) {
      if (r === -Errno.ENOBUFS) {
        ip.stats.udp.sndbufErrors++;
        if (!v6.recvErr) return len;
      }
      return r;
    }
    ip.stats.udp.outDatagrams++;
    return len;
  }

  /** The interface a send or connect is bound to: the scope given, else the socket's; null = no such interface. */
  #oif(sk: UdpSock, scopeId: number): Iface | undefined | null {
    const idx = scopeId !== 0 ? scopeId : sk.v6?.boundIf ?? 0;
    if (idx === 0) return undefined;
    return this.#ip.devices.byIndex(idx)?.iface ?? null;
  }

  /** Multicast goes to every matching AF_INET6 socket (`__udp6_lib_mcast_deliver`). */
  #deliverToAll(skb: SkBuff, ip: Ipv6Repr, sport: number, dport: number): void {
    const u8 = this.#ip.allocator.arena.u8;
    const b = this.#udp.table.bucket(dport);
    const match = (sk: UdpSock) => {
      const v6 = sk.v6;
      if (v6 === null || !takesV6(sk)) return false;
      if (!isUnspecified6(v6.rcvSaddr, 0) && !ip6Equal(v6.rcvSaddr, 0, u8, ip.dstOffset)) {
        return false;
      }
      if (!isUnspecified6(v6.daddr, 0) && !ip6Equal(v6.daddr, 0, u8, ip.srcOffset)) return false;
      return sk.dport === 0 || sk.dport === sport;
    };
    const targets = b === undefined ? [] : b.filter(match);
    if (targets.length === 0) {
      this.#ip.stats.udp.noPorts++;
      return this.#drop(skb, "udp.no_socket_broadcast");
    }
    for (let i = 0; i < targets.length - 1; i++) {
      const c = skb.clone();
      if (c === null) {
        this.#ip.stats.udp.inErrors++;
        this.#ip.stats.drops.count("udp.no_buffer");
        continue;
      }
      this.#udp.deliver(targets[i]!, c);
    }
    this.#udp.deliver(targets[targets.length - 1]!, skb);
  }

  #drop(skb: SkBuff, reason: string): void {
    this.#ip.stats.drops.count(reason);
    skb.free();
  }
}
