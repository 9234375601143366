/**
 * UDP (RFC 768, RFC 1122 §4.1): receive with checksum verification and
 * demultiplexing to the most specific socket, ICMP port unreachable when no
 * socket wants a datagram, bounded receive queues, the send path
 * (`udp_sendmsg`), connect/disconnect for datagram sockets, and ICMP errors
 * handed to the sockets they concern.
 *
 * Everything here speaks numbers: addresses are unsigned 32-bit integers and
 * failures are `-errno`. The socket layer above turns them into calls and
 * typed errors.
 *
 * ICMP errors (RFC 1122 §4.1.3.3, U3; C4). A **connected** socket stores
 * every Destination Unreachable / Time Exceeded / Parameter Problem about
 * its datagrams as its pending error (`sk_err`), reported once by the next
 * send, receive or SO_ERROR: ECONNREFUSED for port unreachable,
 * ENETUNREACH/EHOSTUNREACH, EMSGSIZE for "fragmentation needed" (unless
 * IP_MTU_DISCOVER is DONT), EPROTO for a parameter problem. Linux without
 * IP_RECVERR keeps only the hard ones (protocol/port unreachable); we keep
 * the soft ones too, so an application learns of an unreachable host as the
 * RFC asks. An **unconnected** socket cannot tell which of its destinations
 * failed, so it ignores errors, exactly like Linux, unless it opts in with
 * IP_RECVERR: then each error is queued for `recvmsg(MSG_ERRQUEUE)` with the
 * ICMP type, code, sender and the quoted datagram, and also set as the
 * pending error.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import type { UdpStats } from "../core/stats.ts";
import { AddrType, type IcmpError, type InetProtocol, type Ipv4Layer } from "../ipv4/layer.ts";
import type { Iface } from "../ipv4/iface.ts";
import type { RouteResult } from "../ipv4/route.ts";
import { Csum, type SkBuff } from "../skb/skbuff.ts";
import { IPV4_BROADCAST, IPV4_LOOPBACK, isMulticast } from "../wire/addr.ts";
import { type EmitOptions, get16, get32, type ParseOptions } from "../wire/bytes.ts";
import { IcmpType, IcmpUnreachableCode } from "../wire/icmp.ts";
import { IpProtocol, type Ipv4Repr } from "../wire/ipv4.ts";
import { emitUdp, parseUdp, UDP_HEADER_LENGTH } from "../wire/udp.ts";
import {
  ERR_QUEUE_MAX,
  RCV_SHUTDOWN,
  SEND_SHUTDOWN,
  SKB_TRUESIZE_OVERHEAD,
  Udp6State,
  UDP_DEFAULT_BUF,
  type UdpErrRecord,
  UdpSock,
} from "./sock.ts";
import { UdpTable } from "./table.ts";

/**
 * Largest UDP payload: 65535 − 20 (IPv4 header) − 8 (UDP header).
 *
 * @example
 * ```ts
 * import { UDP_MAX_PAYLOAD } from "./udp.ts";
 * UDP_MAX_PAYLOAD; // 65507
 * ```
 */
export const UDP_MAX_PAYLOAD = 65507;

/** `sk_userlocks` bits set by bind() (Linux values). */
const SOCK_BINDADDR_LOCK = 4;
const SOCK_BINDPORT_LOCK = 8;
/** IP_MTU_DISCOVER values used here. */
const IP_PMTUDISC_DONT = 0;
const IP_PMTUDISC_DO = 2;

const NO_VERIFY: ParseOptions = { verifyChecksum: false };
const NO_CHECKSUM: EmitOptions = { checksum: false };

/**
 * Options for {@link UdpProtocol}.
 *
 * @example
 * ```ts
 * import type { UdpOptions } from "./udp.ts";
 * const o: UdpOptions = { localPortRange: [49152, 65535], rcvbuf: 65536 };
 * ```
 */
export interface UdpOptions {
  /** Ephemeral port range (default [32768, 60999], Linux `ip_local_port_range`). */
  localPortRange?: readonly [number, number];
  /** Initial SO_RCVBUF of new sockets, as stored (default 212992). */
  rcvbuf?: number;
  /** Initial SO_SNDBUF of new sockets, as stored (default 212992). */
  sndbuf?: number;
}

/**
 * Where {@link UdpProtocol.recvmsg} reports what it received; one reusable
 * object per caller, so receiving allocates nothing here.
 *
 * @example
 * ```ts
 * import { UdpRecvMeta } from "./udp.ts";
 * const meta = new UdpRecvMeta();
 * // udp.recvmsg(sk, buf, false, meta) → bytes copied; meta.srcAddr, meta.length …
 * ```
 */
export class UdpRecvMeta {
  /** Sender address and port (for the error queue: the failed datagram's destination). */
  srcAddr = 0;
  /** Sender's port. */
  srcPort = 0;
  /** The datagram's destination address and port (U5: the application learns both). */
  dstAddr = 0;
  /** The datagram's destination port. */
  dstPort = 0;
  /** The datagram's full payload length (more than copied when truncated). */
  length = 0;
  /** True when nothing was received because the receive side is shut down (read returns 0). */
  eof = false;
  /** For `MSG_ERRQUEUE`: the error read, else null. */
  error: UdpErrRecord | null = null;
  /** 4 or 6: the family of the datagram received (its addresses are in the *6 fields for 6). */
  family = 4;
  /** IPv6 sender (16 bytes, reused). */
  readonly srcAddr6: Uint8Array = new Uint8Array(16);
  /** IPv6 destination (16 bytes, reused). */
  readonly dstAddr6: Uint8Array = new Uint8Array(16);
  /** Interface the datagram arrived on (the scope of a link-local sender). */
  ifindex = 0;
}

interface SendOptions {
  protocol: number;
  src: number;
  ttl: number;
  tos: number;
  dontFragment: boolean;
  route?: RouteResult;
}

/**
 * The UDP protocol of one stack; registers itself for IP protocol 17.
 *
 * @example
 * ```ts
 * // Created by Stack: stack.udp. Sockets come from the socket layer:
 * // const fd = stack.sockets.socket(AF_INET, SOCK_DGRAM, 0);
 * ```
 */
export class UdpProtocol implements InetProtocol {
  /** The socket table (bind, lookup, ephemeral ports). */
  readonly table: UdpTable;
  readonly #ip: Ipv4Layer;
  readonly #stats: UdpStats;
  readonly #rcvbuf: number;
  readonly #sndbuf: number;
  // Reused for every datagram sent, so the send path allocates no objects
  // beyond the buffer.
  readonly #pseudo = { src: 0, dst: 0 };
  readonly #repr = { srcPort: 0, dstPort: 0, payloadLength: 0 };
  readonly #out: SendOptions = {
    protocol: IpProtocol.UDP,
    src: 0,
    ttl: 64,
    tos: 0,
    dontFragment: false,
  };

  /** UDP over the IPv4 layer `ip`. */
  constructor(ip: Ipv4Layer, options: UdpOptions = {}) {
    this.#ip = ip;
    this.#stats = ip.stats.udp;
    this.table = new UdpTable(ip.rng, options.localPortRange);
    this.#rcvbuf = options.rcvbuf ?? UDP_DEFAULT_BUF;
    this.#sndbuf = options.sndbuf ?? UDP_DEFAULT_BUF;
    ip.register(IpProtocol.UDP, this);
  }

  /** A new, unbound socket. */
  createSock(): UdpSock {
    return new UdpSock(this.#rcvbuf, this.#sndbuf);
  }

  /** A new, unbound AF_INET6 socket (dual stack unless IPV6_V6ONLY). */
  createSock6(): UdpSock {
    const sk = new UdpSock(this.#rcvbuf, this.#sndbuf);
    sk.v6 = new Udp6State();
    return sk;
  }

  /** Queue a received datagram on `sk` (the IPv6 receive path uses this). Consumes `skb`. */
  deliver(sk: UdpSock, skb: SkBuff): void {
    this.#enqueue(sk, skb);
  }

  /**
   * Receive a datagram (`__udp4_lib_rcv`): `skb.data` at the UDP header.
   * Consumes `skb`.
   */
  rcv(skb: SkBuff, ip: Ipv4Repr, iface: Iface): void {
    const st = this.#stats;
    const u8 = this.#ip.allocator.arena.u8;
    // RFC 1122 §4.1.3.4 (U4): verify unless the device already did
    // (loopback); parseUdp accepts checksum 0 as "none" (RFC 768).
    const r = parseUdp(
      u8,
      skb.data,
      skb.len,
      ip,
      skb.ipSummed === Csum.Unnecessary ? NO_VERIFY : undefined,
    );
    if (typeof r === "string") {
      // U4: a non-zero invalid checksum is silently discarded (and counted).
      if (r === "udp.bad_checksum") st.inCsumErrors++;
      st.inErrors++;
      return this.#drop(skb, r);
    }
    // IP payload past the UDP length is padding, not data (RFC 768).
    skb.trim(UDP_HEADER_LENGTH + r.payloadLength);
    skb.pull(UDP_HEADER_LENGTH);
    const daddr = ip.dst >>> 0;
    if (daddr === IPV4_BROADCAST || isMulticast(daddr) || daddr === iface.broadcast) {
      return this.#deliverToAll(skb, ip.src >>> 0, r.srcPort, daddr, r.dstPort);
    }
    const sk = this.table.lookup(ip.src >>> 0, r.srcPort, daddr, r.dstPort);
    if (sk === null) {
      st.noPorts++;
      // RFC 1122 §4.1.3.1 (U1) / §3.2.2.1 (C8): port unreachable. sendError
      // applies the "never about" rules of §3.2.2 (C2) and the rate limit.
      this.#ip.icmp?.sendError(skb, IcmpType.DEST_UNREACHABLE, IcmpUnreachableCode.PORT);
      return this.#drop(skb, "udp.no_socket");
    }
    this.#enqueue(sk, skb);
  }

  /**
   * An ICMP error about a datagram we sent (`__udp4_lib_err`); see the module
   * comment for who learns of it.
   */
  err(e: IcmpError): void {
    const q = e.quote;
    // A non-initial fragment's bytes are not a UDP header.
    if (q.fragmentOffset !== 0 || q.transportLength < UDP_HEADER_LENGTH) return;
    const t = q.transportOffset;
    const sport = get16(e.u8, t);
    const dport = get16(e.u8, t + 2);
    // The socket that would receive an answer from the failed destination.
    const sk = this.table.lookup(q.dst >>> 0, dport, q.src >>> 0, sport);
    if (sk === null) return;
    const errno = e.errno;
    if (errno === 0) return;
    if (
      e.type === IcmpType.DEST_UNREACHABLE && e.code === IcmpUnreachableCode.FRAG_NEEDED &&
      sk.pmtudisc === IP_PMTUDISC_DONT
    ) {
      return; // we fragment locally
    }
    if (!sk.recvErr && !sk.connected) return;
    if (sk.recvErr) {
      if (sk.errQueue.length >= ERR_QUEUE_MAX) {
        this.#ip.stats.drops.count("udp.err_queue_full");
      } else {
        sk.errQueue.push({
          errno,
          type: e.type,
          code: e.code,
          info: e.nextHopMtu,
          offender: e.from >>> 0,
          dstAddr: q.dst >>> 0,
          dstPort: dport,
          payload: e.u8.slice(t + UDP_HEADER_LENGTH, t + q.transportLength),
        });
      }
    }
    sk.err = errno;
    sk.wake();
  }

  /**
   * Give `sk` local port `snum`, or a random ephemeral one for 0
   * (`get_port`). Returns 0 or -EADDRINUSE.
   */
  getPort(sk: UdpSock, snum: number): number {
    return this.table.getPort(sk, snum);
  }

  /**
   * Bind an unbound socket to an ephemeral port (`inet_autobind`). Returns 0,
   * or -EAGAIN when the local port range is exhausted (Linux `udp_lib_get_port`; tests/udp/ports_test.ts
   * `inet_sendto`: "inet_autobind(sk) != 0 → -EAGAIN").
   */
  autobind(sk: UdpSock): number {
    if (sk.num !== 0) return 0;
    return this.table.getPort(sk, 0) < 0 ? -Errno.EAGAIN : 0;
  }

  /**
   * Set the default destination (`ip4_datagram_connect`): autobinds, routes,
   * refuses a broadcast destination without SO_BROADCAST (EACCES), and fixes
   * the local address to the route's source if none was bound.
   */
  connect(sk: UdpSock, daddr: number, dport: number): number {
    if (this.autobind(sk) < 0) return -Errno.EAGAIN;
    daddr = this.#resolveAny(sk, daddr >>> 0);
    const rt = this.#ip.route(daddr);
    if (rt === null) {
      this.#ip.stats.ip.outNoRoutes++;
      return -Errno.ENETUNREACH;
    }
    if (this.#ip.addrType(daddr) === AddrType.BROADCAST && !sk.broadcast) return -Errno.EACCES;
    if (sk.saddr === 0) sk.saddr = rt.src >>> 0;
    if (sk.rcvSaddr === 0) sk.rcvSaddr = rt.src >>> 0;
    sk.daddr = daddr;
    sk.dport = dport;
    sk.connected = true;
    return 0;
  }

  /**
   * Forget the default destination (`udp_disconnect`, via connect(AF_UNSPEC)):
   * the local address and port go too unless bind() fixed them.
   */
  disconnect(sk: UdpSock): number {
    sk.connected = false;
    sk.daddr = 0;
    sk.dport = 0;
    const v6 = sk.v6;
    if (v6 !== null) {
      v6.daddr.fill(0);
      v6.peerScope = 0;
    }
    if ((sk.userLocks & SOCK_BINDADDR_LOCK) === 0) {
      sk.rcvSaddr = 0;
      sk.saddr = 0;
      if (v6 !== null) {
        v6.rcvSaddr.fill(0);
        v6.saddr.fill(0);
      }
    }
    if ((sk.userLocks & SOCK_BINDPORT_LOCK) === 0) this.table.unhash(sk);
    return 0;
  }

  /**
   * Send one datagram (`inet_sendmsg` + `udp_sendmsg`). `to` is the
   * destination address, or -1 to use the connected peer. Returns the bytes
   * sent or `-errno`, checked in the modern kernel's order: autobind
   * (EAGAIN), size (EMSGSIZE), destination (EDESTADDRREQ, EINVAL for port 0),
   * route (ENETUNREACH), broadcast permission after the route lookup
   * (EACCES), then `sock_alloc_send_skb`: pending error, shutdown (EPIPE),
   * buffer (ENOBUFS).
   */
  sendmsg(sk: UdpSock, data: Uint8Array, to: number, toPort: number): number {
    const len = data.length;
    if (this.autobind(sk) < 0) return -Errno.EAGAIN;
    if (len > UDP_MAX_PAYLOAD) return -Errno.EMSGSIZE;
    let daddr: number;
    let dport: number;
    if (to >= 0) {
      // Seed [001] udp_sendto: "sin_port == 0 → -EINVAL".
      if (toPort === 0) return -Errno.EINVAL;
      daddr = to >>> 0;
      dport = toPort;
    } else {
      if (!sk.connected) return -Errno.EDESTADDRREQ;
      daddr = sk.daddr;
      dport = sk.dport;
    }
    daddr = this.#resolveAny(sk, daddr);
    const ip = this.#ip;
    const rt = ip.route(daddr);
    if (rt === null) {
      ip.stats.ip.outNoRoutes++;
      return -Errno.ENETUNREACH;
    }
    // Seed [001]: "Must turn broadcast on first" (checked after routing, as
    // modern udp_sendmsg does with RTCF_BROADCAST).
    const multicast = isMulticast(daddr);
    if (!multicast && ip.addrType(daddr) === AddrType.BROADCAST && !sk.broadcast) {
      return -Errno.EACCES;
    }
    if (sk.err !== 0) {
      const e = sk.err;
      sk.err = 0;
      return -e;
    }
    if ((sk.shutdown & SEND_SHUTDOWN) !== 0) return -Errno.EPIPE;
    const skb = ip.allocator.alloc(UDP_HEADER_LENGTH + len);
    if (skb === null) {
      this.#stats.sndbufErrors++;
      return -Errno.ENOBUFS;
    }
    const at = skb.put(UDP_HEADER_LENGTH + len);
    const u8 = ip.allocator.arena.u8; // after alloc: the memory may have grown
    u8.set(data, at + UDP_HEADER_LENGTH);
    // RFC 1122 §4.1.3.6 (U6): never a broadcast/multicast source; bind() to
    // such an address left saddr 0, so the route's unicast source is used.
    const src = sk.saddr !== 0 ? sk.saddr : rt.src >>> 0;
    const ph = this.#pseudo;
    ph.src = src;
    ph.dst = daddr;
    const repr = this.#repr;
    repr.srcPort = sk.num;
    repr.dstPort = dport;
    repr.payloadLength = len;
    // U4: checksums on by default; SO_NO_CHECK sends 0 ("none", RFC 768).
    // emitUdp sends a computed 0 as 0xffff.
    emitUdp(repr, u8, at, ph, sk.noCheck ? NO_CHECKSUM : undefined);
    skb.transportHeader = at;
    const out = this.#out;
    out.src = src;
    // Seed [001] udp_send: multicast uses ip_mc_ttl (1: local network only).
    out.ttl = multicast ? sk.mcTtl : sk.ttl < 0 ? ip.defaultTtl : sk.ttl;
    out.tos = sk.tos;
    out.dontFragment = sk.pmtudisc === IP_PMTUDISC_DO;
    out.route = rt;
    const r = ip.output(skb, daddr, out);
    if (r < 0) {
      // Linux udp_send_skb: a full device queue is not the sender's error
      // unless it asked for errors (IP_RECVERR).
      if (r === -Errno.ENOBUFS) {
        this.#stats.sndbufErrors++;
        if (!sk.recvErr) return len;
      }
      return r;
    }
    this.#stats.outDatagrams++;
    return len;
  }

  /**
   * Receive one datagram into `buf` (`udp_recvmsg`): a pending error first,
   * then the head of the queue, truncated to `buf` (the rest of the datagram
   * is discarded unless `peek`). Returns the bytes copied (0 with `meta.eof`
   * after SHUT_RD), or `-errno` (-EAGAIN when nothing is queued).
   */
  recvmsg(sk: UdpSock, buf: Uint8Array, peek: boolean, meta: UdpRecvMeta): number {
    meta.eof = false;
    meta.error = null;
    if (sk.err !== 0) {
      const e = sk.err;
      sk.err = 0;
      return -e;
    }
    const skb = sk.rcvQueue.head;
    if (skb === null) {
      if ((sk.shutdown & RCV_SHUTDOWN) === 0) return -Errno.EAGAIN;
      meta.eof = true;
      meta.length = 0;
      meta.srcAddr =
        meta.srcPort =
        meta.dstAddr =
        meta.dstPort =
          0;
      return 0;
    }
    const u8 = this.#ip.allocator.arena.u8;
    const len = skb.len;
    const n = len < buf.length ? len : buf.length;
    if (n > 0) buf.set(u8.subarray(skb.data, skb.data + n));
    meta.length = len;
    meta.ifindex = skb.ifindex;
    if (u8[skb.networkHeader]! >> 4 === 6) {
      meta.family = 6;
      meta.srcAddr = meta.dstAddr = 0;
      meta.srcAddr6.set(u8.subarray(skb.networkHeader + 8, skb.networkHeader + 24));
      meta.dstAddr6.set(u8.subarray(skb.networkHeader + 24, skb.networkHeader + 40));
    } else {
      meta.family = 4;
      meta.srcAddr = get32(u8, skb.networkHeader + 12);
      meta.dstAddr = get32(u8, skb.networkHeader + 16);
    }
    meta.srcPort = get16(u8, skb.transportHeader);
    meta.dstPort = get16(u8, skb.transportHeader + 2);
    if (!peek) {
      sk.rcvQueue.unlink(skb);
      sk.rmemAlloc -= truesize(skb);
      skb.free();
    }
    return n;
  }

  /**
   * Read one queued ICMP error (`ip_recv_error`, `recvmsg(MSG_ERRQUEUE)`):
   * the quoted payload goes to `buf`, the record to `meta.error`, and the
   * failed datagram's destination to `meta.srcAddr`/`srcPort`. Returns the
   * bytes copied or -EAGAIN when the queue is empty.
   */
  recvError(sk: UdpSock, buf: Uint8Array, meta: UdpRecvMeta): number {
    meta.eof = false;
    const e = sk.errQueue.shift();
    if (e === undefined) {
      meta.error = null;
      return -Errno.EAGAIN;
    }
    const n = Math.min(e.payload.length, buf.length);
    buf.set(e.payload.subarray(0, n));
    meta.error = e;
    meta.length = e.payload.length;
    meta.family = e.dstAddr6 !== undefined ? 6 : 4;
    if (e.dstAddr6 !== undefined) meta.srcAddr6.set(e.dstAddr6);
    meta.srcAddr = e.dstAddr;
    meta.srcPort = e.dstPort;
    meta.dstAddr = sk.saddr;
    meta.dstPort = sk.num;
    // Linux: the pending error becomes the next queued one's, or none.
    sk.err = sk.errQueue[0]?.errno ?? 0;
    return n;
  }

  /** Close: leave the table and free everything queued (`udp_lib_close`). */
  release(sk: UdpSock): void {
    this.table.unhash(sk);
    sk.rcvQueue.purge();
    sk.rmemAlloc = 0;
    sk.errQueue.length = 0;
    sk.dead = true;
    sk.wake = noop;
  }

  /**
   * Sending to 0.0.0.0 means this host (Linux `udp_sendmsg`: INADDR_ANY is
   * replaced by the local address; Linux routes it to the bound source or
   * loopback).
   */
  #resolveAny(sk: UdpSock, daddr: number): number {
    if (daddr !== 0) return daddr;
    return sk.saddr !== 0 ? sk.saddr : IPV4_LOOPBACK;
  }

  /**
   * Broadcast and multicast go to every matching socket
   * (`__udp4_lib_mcast_deliver`); each gets its own header over the shared
   * data. Never an ICMP error about them (RFC 1122 §3.2.2, C2).
   */
  #deliverToAll(skb: SkBuff, saddr: number, sport: number, daddr: number, dport: number): void {
    const b = this.table.bucket(dport);
    let matches = 0;
    if (b !== undefined) {
      for (let i = 0; i < b.length; i++) if (mcastMatch(b[i]!, saddr, sport, daddr)) matches++;
    }
    if (matches === 0) {
      this.#stats.noPorts++;
      return this.#drop(skb, "udp.no_socket_broadcast");
    }
    for (let i = 0; b !== undefined && i < b.length; i++) {
      const sk = b[i]!;
      if (!mcastMatch(sk, saddr, sport, daddr)) continue;
      if (--matches === 0) {
        this.#enqueue(sk, skb);
        return;
      }
      const c = skb.clone();
      if (c === null) {
        this.#stats.inErrors++;
        this.#ip.stats.drops.count("udp.no_buffer");
        continue;
      }
      this.#enqueue(sk, c);
    }
  }

  /**
   * Queue on `sk` if its receive buffer has room (`__udp_enqueue_schedule_skb`).
   * Each datagram is charged its whole buffer slot plus
   * {@link SKB_TRUESIZE_OVERHEAD}; an empty queue always takes one datagram,
   * so a buffer smaller than one datagram still receives.
   */
  #enqueue(sk: UdpSock, skb: SkBuff): void {
    const size = truesize(skb);
    if (sk.rmemAlloc !== 0 && sk.rmemAlloc + size > sk.rcvbuf) {
      sk.drops++;
      this.#stats.rcvbufErrors++;
      this.#stats.inErrors++;
      return this.#drop(skb, "udp.rcvbuf_full");
    }
    sk.rmemAlloc += size;
    sk.rcvQueue.push(skb);
    this.#stats.inDatagrams++;
    sk.wake();
  }

  #drop(skb: SkBuff, reason: string): void {
    this.#ip.stats.drops.count(reason);
    skb.free();
  }
}

/** What a queued datagram costs its socket (Linux `skb->truesize`). */
function truesize(skb: SkBuff): number {
  return skb.end - skb.head + SKB_TRUESIZE_OVERHEAD;
}

/** Does `sk` take a broadcast/multicast datagram (Linux `__udp_is_mcast_sock`)? */
function mcastMatch(sk: UdpSock, saddr: number, sport: number, daddr: number): boolean {
  if (sk.daddr !== 0 && sk.daddr !== saddr) return false;
  if (sk.dport !== 0 && sk.dport !== sport) return false;
  if (sk.rcvSaddr !== 0 && sk.rcvSaddr !== daddr) return false;
  return true;
}

function noop(): void {}
