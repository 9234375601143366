/**
 * ICMPv4 (RFC 792, RFC 1122 §3.2.2): the echo server, echo requests for
 * `ping`, error generation with the RFC 1122 "never about" rules and rate
 * limiting, and delivery of received errors to the transport protocol whose
 * datagram they quote (MUST-54, C4, U3).
 *
 * @module
 */
import { type Ipv4Address, isLoopback, isMartianSource, isMulticast } from "../wire/addr.ts";
import { emitIcmp, ICMP_HEADER_LENGTH, IcmpType, parseIcmp, parseIcmpQuote } from "../wire/icmp.ts";
import { IpProtocol, type Ipv4Repr, parseIpv4 } from "../wire/ipv4.ts";
import type { ParseOptions } from "../wire/bytes.ts";
import { Csum, type SkBuff } from "../skb/skbuff.ts";
import { Errno } from "../core/errno.ts";
import { MAX_HEADER } from "../skb/arena.ts";
import type { Iface } from "./iface.ts";
import { icmpErrno, icmpFatal } from "./icmp_errno.ts";
import {
  AddrType,
  type IcmpError,
  type IcmpSender,
  type InetProtocol,
  type Ipv4Layer,
} from "./layer.ts";

/** Link-layer packet types (Linux `PACKET_*`), set by the stack on receive. */
export const PacketType = {
  HOST: 0,
  BROADCAST: 1,
  MULTICAST: 2,
  OTHERHOST: 3,
} as const;

/** A received echo reply, as handed to `ping`. */
export interface EchoReply {
  /** Who sent the reply. */
  readonly from: Ipv4Address;
  /** Echo identifier. */
  readonly id: number;
  /** Echo sequence number. */
  readonly seq: number;
  /** The reply's TTL. */
  readonly ttl: number;
  /** ICMP data bytes (a copy). */
  readonly data: Uint8Array;
  /** Clock time of arrival. */
  readonly time: number;
}

/** An ICMP error about one of our echo requests (ping prints "Destination Host Unreachable"). */
export interface EchoError {
  /** Who sent the ICMP error. */
  readonly from: Ipv4Address;
  /** Echo identifier of the request it is about. */
  readonly id: number;
  /** Sequence number of the request it is about. */
  readonly seq: number;
  /** errno the error maps to (`icmp_errno.ts`: ENETUNREACH, EHOSTUNREACH, EMSGSIZE, …). */
  readonly errno: number;
  /** What the ICMP message said. */
  readonly reason: string;
}

/** ICMP tuning. */
export interface IcmpOptions {
  /** Per-destination error budget: one token every `rateLimitMs` (default 1000, Linux icmp_ratelimit). */
  rateLimitMs?: number;
  /** Per-destination burst (default 6, Linux XRLIM_BURST_FACTOR). */
  rateBurst?: number;
  /** Errors per second across all destinations (default 1000, Linux icmp_msgs_per_sec). */
  globalPerSecond?: number;
  /** Ignore echo requests sent to broadcast/multicast (default true: no Smurf amplifier, C5). */
  ignoreBroadcastEcho?: boolean;
}

const NO_VERIFY: ParseOptions = { verifyChecksum: false };
/** Largest ICMP error datagram (RFC 1812 §4.3.2.3 and Linux: 576 bytes). */
const ICMP_ERROR_MAX = 576;
const PER_DEST_CAP = 1024;

interface Bucket {
  tokens: number;
  last: number;
}

/**
 * The ICMP protocol of one stack.
 *
 * @example
 * ```ts
 * // Created by Stack: stack.icmp.sendEcho(dst, id, seq, data)
 * ```
 */
export class IcmpProtocol implements InetProtocol, IcmpSender {
  readonly #ip: Ipv4Layer;
  readonly #rateLimitMs: number;
  readonly #burst: number;
  readonly #globalPerSecond: number;
  readonly #ignoreBroadcastEcho: boolean;
  readonly #buckets = new Map<number, Bucket>();
  #global: Bucket;
  readonly #echoListeners = new Map<number, (reply: EchoReply | EchoError) => void>();
  #nextEchoId: number;

  /** ICMP over the IPv4 layer `ip`. */
  constructor(ip: Ipv4Layer, o: IcmpOptions = {}) {
    this.#ip = ip;
    this.#rateLimitMs = o.rateLimitMs ?? 1000;
    this.#burst = o.rateBurst ?? 6;
    this.#globalPerSecond = o.globalPerSecond ?? 1000;
    this.#ignoreBroadcastEcho = o.ignoreBroadcastEcho ?? true;
    this.#global = { tokens: Math.min(50, this.#globalPerSecond), last: ip.clock.now() };
    this.#nextEchoId = ip.rng.nextU32() & 0xffff;
    ip.icmp = this;
    ip.register(IpProtocol.ICMP, this);
  }

  /** Receive an ICMP message (`skb.data` at the ICMP header). */
  rcv(skb: SkBuff, ip: Ipv4Repr, iface: Iface): void {
    const st = this.#ip.stats;
    const u8 = this.#ip.allocator.arena.u8;
    st.icmp.inMsgs++;
    const m = parseIcmp(
      u8,
      skb.data,
      skb.len,
      skb.ipSummed === Csum.Unnecessary ? NO_VERIFY : undefined,
    );
    if (typeof m === "string") {
      st.icmp.inErrors++;
      st.drops.count(m);
      skb.free();
      return;
    }
    st.icmp.inByType[m.type]!++;
    switch (m.type) {
      case IcmpType.ECHO_REQUEST:
        this.#echo(skb, ip, iface, m.payloadOffset, m.payloadLength, m.id, m.seq);
        return;
      case IcmpType.ECHO_REPLY: {
        const listener = this.#echoListeners.get(m.id);
        if (listener !== undefined) {
          listener({
            from: ip.src,
            id: m.id,
            seq: m.seq,
            ttl: ip.ttl,
            data: u8.slice(m.payloadOffset, m.payloadOffset + m.payloadLength),
            time: this.#ip.clock.now(),
          });
        } else {
          st.drops.count("icmp.echo_reply_unmatched");
        }
        skb.free();
        return;
      }
      case IcmpType.SOURCE_QUENCH:
        // MUST-55 / RFC 6633: silently discard Source Quench.
        st.drops.count("icmp.source_quench_ignored");
        skb.free();
        return;
      case IcmpType.REDIRECT:
        // RFC 1122 §3.2.2.2 (C7) allows honouring redirects from the
        // first-hop gateway; we keep static routes and ignore them.
        st.drops.count("icmp.redirect_ignored");
        skb.free();
        return;
      case IcmpType.DEST_UNREACHABLE:
      case IcmpType.TIME_EXCEEDED:
      case IcmpType.PARAMETER_PROBLEM: {
        const q = parseIcmpQuote(u8, m.payloadOffset, m.payloadLength);
        if (typeof q === "string") {
          st.icmp.inErrors++;
          st.drops.count(q);
          skb.free();
          return;
        }
        // Only errors about datagrams we sent concern us (RFC 5927 §4.1).
        if (!this.#ip.isLocal(q.src)) {
          st.drops.count("icmp.error_not_ours");
          skb.free();
          return;
        }
        const handler = this.#ip.protocol(q.protocol);
        handler?.err?.({
          type: m.type,
          code: m.code,
          nextHopMtu: m.type === IcmpType.DEST_UNREACHABLE ? m.nextHopMtu : 0,
          from: ip.src,
          quote: q,
          u8,
          errno: icmpErrno(m.type, m.code),
          fatal: icmpFatal(m.type, m.code),
        });
        skb.free();
        return;
      }
    }
  }

  /**
   * An ICMP error quoting one of our ICMP datagrams: if it was an echo
   * request, tell its ping (RFC 1122 §3.2.2 C4: errors go to the sender).
   */
  err(e: IcmpError): void {
    const t = e.quote.transportOffset;
    if (e.quote.transportLength < 8 || e.u8[t] !== IcmpType.ECHO_REQUEST) return;
    const id = (e.u8[t + 4]! << 8) | e.u8[t + 5]!;
    const seq = (e.u8[t + 6]! << 8) | e.u8[t + 7]!;
    const listener = this.#echoListeners.get(id);
    if (listener === undefined) return;
    let reason = `ICMP type ${e.type} code ${e.code}`;
    if (e.type === IcmpType.DEST_UNREACHABLE) {
      reason = [
        "network unreachable",
        "host unreachable",
        "protocol unreachable",
        "port unreachable",
        `fragmentation needed (MTU ${e.nextHopMtu})`,
      ][e.code] ?? `destination unreachable, code ${e.code}`;
    } else if (e.type === IcmpType.TIME_EXCEEDED) {
      reason = e.code === 0 ? "time to live exceeded" : "fragment reassembly time exceeded";
    }
    listener({ from: e.from, id, seq, errno: e.errno, reason });
  }

  /** Register a listener for echo replies with identifier `id`; returns a remover. */
  onEchoReply(id: number, listener: (reply: EchoReply | EchoError) => void): () => void {
    this.#echoListeners.set(id & 0xffff, listener);
    return () => {
      if (this.#echoListeners.get(id & 0xffff) === listener) {
        this.#echoListeners.delete(id & 0xffff);
      }
    };
  }

  /** A fresh echo identifier not currently in use. */
  allocEchoId(): number {
    for (let i = 0; i < 65536; i++) {
      const id = this.#nextEchoId;
      this.#nextEchoId = (this.#nextEchoId + 1) & 0xffff;
      if (!this.#echoListeners.has(id)) return id;
    }
    throw new RangeError("All 65536 ICMP echo identifiers are in use");
  }

  /**
   * Send an echo request. Returns 0 or `-errno` (ENETUNREACH, ENOBUFS,
   * EMSGSIZE with DF).
   */
  sendEcho(
    dst: Ipv4Address,
    id: number,
    seq: number,
    data: Uint8Array,
    o: { ttl?: number; tos?: number; dontFragment?: boolean } = {},
  ): number {
    const skb = this.#ip.allocator.alloc(ICMP_HEADER_LENGTH + data.length);
    if (skb === null) return -Errno.ENOBUFS;
    const at = skb.put(ICMP_HEADER_LENGTH + data.length);
    const u8 = this.#ip.allocator.arena.u8;
    u8.set(data, at + ICMP_HEADER_LENGTH);
    emitIcmp(
      { type: IcmpType.ECHO_REQUEST, code: 0, id, seq, payloadLength: data.length },
      u8,
      at,
    );
    this.#ip.stats.icmp.outMsgs++;
    this.#ip.stats.icmp.outByType[IcmpType.ECHO_REQUEST]!++;
    return this.#ip.output(skb, dst, {
      protocol: IpProtocol.ICMP,
      ...(o.ttl !== undefined ? { ttl: o.ttl } : {}),
      ...(o.tos !== undefined ? { tos: o.tos } : {}),
      ...(o.dontFragment !== undefined ? { dontFragment: o.dontFragment } : {}),
    });
  }

  /**
   * Send an ICMP error about `orig` (`icmp_send`), whose IPv4 header is at
   * `orig.networkHeader`. Never sent about (RFC 1122 §3.2.2, C2): ICMP
   * errors, datagrams to broadcast/multicast or received as link broadcast,
   * non-initial fragments, or sources that are not a single host. Rate
   * limited per destination and globally (C8). Does not consume `orig`.
   */
  sendError(orig: SkBuff, type: number, code: number, info = 0): void {
    const ip = this.#ip;
    const st = ip.stats;
    const u8 = ip.allocator.arena.u8;
    if (orig.networkHeader < 0) return;
    const hdrLen = orig.tail - orig.networkHeader;
    const oh = parseIpv4(u8, orig.networkHeader, hdrLen, NO_VERIFY);
    if (typeof oh === "string") return;
    if (orig.pktType === PacketType.BROADCAST || orig.pktType === PacketType.MULTICAST) return;
    const dstType = ip.addrType(oh.dst);
    if (dstType === AddrType.BROADCAST || dstType === AddrType.MULTICAST) return;
    if (oh.fragmentOffset !== 0) return;
    // A 127/8 source is this host: such datagrams only arrive over loopback (the
    // input path drops them from the wire), and the local sender must learn the
    // error, e.g. ECONNREFUSED for UDP to a closed port on 127.0.0.1, as in Linux.
    const ownLoopback = isLoopback(oh.src) && ip.isLocal(oh.src);
    if (
      (isMartianSource(oh.src) && !ownLoopback) || isMulticast(oh.src) ||
      ip.addrType(oh.src) === AddrType.BROADCAST
    ) {
      return;
    }
    if (oh.protocol === IpProtocol.ICMP) {
      // Never an error about an ICMP error; only query messages may be answered.
      const t = u8[orig.networkHeader + oh.headerLength];
      const isQuery = t === IcmpType.ECHO_REQUEST || t === IcmpType.ECHO_REPLY ||
        (t !== undefined && t >= 13 && t <= 18);
      if (!isQuery || hdrLen < oh.headerLength + 1) return;
    }
    // Errors to ourselves (loopback) are not rate limited, as in Linux.
    const toSelf = ip.isLocal(oh.src);
    if (!toSelf && !this.#allow(oh.src)) {
      st.icmp.outRateLimited++;
      return;
    }
    // Source: the address the offending datagram was sent to if it was ours,
    // else the outgoing route's (RFC 1122 §3.2.2 / RFC 1812 §4.3.2.4).
    const rt = ip.route(oh.src);
    if (rt === null) return;
    const src = dstType === AddrType.LOCAL ? oh.dst : rt.src;
    // C3: quote the IP header and at least 8 octets; as much as fits in 576.
    const quoteLen = Math.min(hdrLen, Math.max(0, ICMP_ERROR_MAX - 20 - ICMP_HEADER_LENGTH));
    const skb = ip.allocator.alloc(ICMP_HEADER_LENGTH + quoteLen, { headroom: MAX_HEADER });
    if (skb === null) {
      st.icmp.outErrors++;
      return;
    }
    const at = skb.put(ICMP_HEADER_LENGTH + quoteLen);
    const u = ip.allocator.arena.u8;
    u.copyWithin(at + ICMP_HEADER_LENGTH, orig.networkHeader, orig.networkHeader + quoteLen);
    switch (type) {
      case IcmpType.DEST_UNREACHABLE:
        emitIcmp({ type, code, nextHopMtu: info, payloadLength: quoteLen }, u, at);
        break;
      case IcmpType.PARAMETER_PROBLEM:
        emitIcmp({ type, code, pointer: info, payloadLength: quoteLen }, u, at);
        break;
      case IcmpType.TIME_EXCEEDED:
        emitIcmp({ type, code, payloadLength: quoteLen }, u, at);
        break;
      default:
        skb.free();
        throw new RangeError(`sendError: ICMP type ${type} is not an error type`);
    }
    st.icmp.outMsgs++;
    st.icmp.outByType[type]!++;
    ip.output(skb, oh.src, { protocol: IpProtocol.ICMP, src, route: rt, tos: 0xc0 });
  }

  #echo(
    skb: SkBuff,
    ip: Ipv4Repr,
    iface: Iface,
    dataOff: number,
    dataLen: number,
    id: number,
    seq: number,
  ): void {
    const st = this.#ip.stats;
    const kind = this.#ip.addrType(ip.dst);
    const broadcast = kind !== AddrType.LOCAL ||
      (skb.pktType !== PacketType.HOST && !iface.loopback);
    // C5: echo to broadcast/multicast may be dropped; by default we do, so we
    // can't be a Smurf amplifier.
    if (broadcast && this.#ignoreBroadcastEcho) {
      st.drops.count("icmp.echo_broadcast_ignored");
      skb.free();
      return;
    }
    // RFC 1122 §3.2.2.6: the reply's source is the request's specific
    // destination; for a broadcast or multicast one, the receiving interface's
    // address (never a broadcast/multicast source, §3.2.1.3).
    const replySrc = kind === AddrType.LOCAL ? ip.dst : iface.address;
    // The reply reuses the request's buffer: same data (RFC 1122 §3.2.2.6),
    // rewritten header, source = the request's destination (C5).
    const u8 = this.#ip.allocator.arena.u8;
    const at = skb.data;
    if (dataOff !== at + ICMP_HEADER_LENGTH || skb.isShared) {
      const copy = this.#ip.allocator.alloc(ICMP_HEADER_LENGTH + dataLen);
      if (copy === null) {
        st.icmp.outErrors++;
        skb.free();
        return;
      }
      const c = copy.put(ICMP_HEADER_LENGTH + dataLen);
      this.#ip.allocator.arena.u8.copyWithin(c + ICMP_HEADER_LENGTH, dataOff, dataOff + dataLen);
      emitIcmp(
        { type: IcmpType.ECHO_REPLY, code: 0, id, seq, payloadLength: dataLen },
        this.#ip.allocator.arena.u8,
        c,
      );
      skb.free();
      skb = copy;
    } else {
      // Discard IP header/headroom state from the request.
      skb.trim(ICMP_HEADER_LENGTH + dataLen);
      emitIcmp({ type: IcmpType.ECHO_REPLY, code: 0, id, seq, payloadLength: dataLen }, u8, at);
      skb.resetMeta();
    }
    st.icmp.outMsgs++;
    st.icmp.outByType[IcmpType.ECHO_REPLY]!++;
    const r = this.#ip.output(skb, ip.src, {
      protocol: IpProtocol.ICMP,
      src: replySrc,
      tos: ip.tos,
    });
    if (r < 0) st.icmp.outErrors++;
  }

  /** Token buckets: per destination (bounded map) and global. */
  #allow(dst: Ipv4Address): boolean {
    const now = this.#ip.clock.now();
    const g = this.#global;
    g.tokens = Math.min(
      Math.min(50, this.#globalPerSecond),
      g.tokens + ((now - g.last) * this.#globalPerSecond) / 1000,
    );
    g.last = now;
    if (g.tokens < 1) return false;
    let b = this.#buckets.get(dst);
    if (b === undefined) {
      if (this.#buckets.size >= PER_DEST_CAP) {
        // Forget the oldest destination (Map keeps insertion order).
        const first = this.#buckets.keys().next().value;
        if (first !== undefined) this.#buckets.delete(first);
      }
      b = { tokens: this.#burst, last: now };
      this.#buckets.set(dst, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.last) / this.#rateLimitMs);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    g.tokens -= 1;
    return true;
  }
}
