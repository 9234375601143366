/**
 * ICMPv6 (RFC 4443): the echo server, echo requests for `ping`, error
 * generation with the §2.4 (e) "never about" rules and the §2.4 (f) rate
 * limit, delivery of received errors to the upper layer whose packet they
 * quote, Packet Too Big into the path MTU cache (RFC 8201), and dispatch of
 * neighbour discovery and MLD messages.
 *
 * Decisions recorded here:
 * - **Echo to multicast is answered** (RFC 4443 §4.2 "SHOULD"; Linux's
 *   `icmp_echo_ignore_multicast` default 0) from a unicast source chosen by
 *   RFC 6724; `ignoreMulticastEcho` turns it off.
 * - **Rate limit** (§2.4 (f), a MUST): a token bucket per destination
 *   (default one per second, burst 6, bounded map) and a global one (1000/s);
 *   errors to ourselves (over loopback) are not limited, as in Linux.
 * - **Unknown types** (§2.4 (a), (b)): unknown informational messages are
 *   dropped (`icmpv6.unknown_type`); unknown error types quote a packet, but
 *   with no code we understand there is nothing to tell the upper layer, so
 *   they are dropped too (`icmpv6.unknown_error`).
 * - **Errors about packets we did not send** (the quoted source is not ours)
 *   are dropped (RFC 5927 §4.1 spirit).
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import type { Iface } from "../ipv4/iface.ts";
import { MAX_HEADER } from "../skb/arena.ts";
import { Csum, type SkBuff } from "../skb/skbuff.ts";
import { ipv6PseudoSum } from "../wasm/checksum.ts";
import { formatIpv6, isMulticast6, isUnspecified6 } from "../wire/addr6.ts";
import type { ParseOptions } from "../wire/bytes.ts";
import {
  ICMPV6_ERROR_MAX,
  ICMPV6_HEADER_LENGTH,
  Icmpv6Type,
  parseIcmpv6,
  parseIcmpv6Quote,
} from "../wire/icmpv6.ts";
import { IPV6_HEADER_LENGTH, type Ipv6Repr, NextHeader, parseIpv6 } from "../wire/ipv6.ts";
import { Ipv6Walk, walkIpv6Headers, WalkStatus } from "../wire/ipv6_ext.ts";
import { set16, set32 } from "../wire/bytes.ts";
import type { Icmpv6Error, Icmpv6Sender, Inet6Protocol, Ipv6Layer } from "./layer.ts";
import type { Mld } from "./mld.ts";
import type { NeighbourDiscovery } from "./ndisc.ts";
import { selectSource } from "./select.ts";
import { icmpv6Errno } from "./icmp_errno.ts";

export { icmpv6Errno };

/** Link-layer packet types (Linux `PACKET_*`), as the stack sets `skb.pktType`. */
const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;

/**
 * A received echo reply, or an error about one of our echo requests.
 *
 * @example
 * ```ts
 * import type { Echo6Reply } from "./icmp.ts";
 * const show = (r: Echo6Reply) => `${r.data.length} bytes from ${r.from}`;
 * ```
 */
export interface Echo6Reply {
  /** Who answered (canonical text). */
  readonly from: string;
  /** Echo identifier (ours, from the request). */
  readonly id: number;
  /** Echo sequence number. */
  readonly seq: number;
  /** The reply's hop limit. */
  readonly hopLimit: number;
  /** ICMPv6 data (a copy). */
  readonly data: Uint8Array;
  /** Clock time of arrival. */
  readonly time: number;
}

/**
 * An ICMPv6 error about one of our echo requests.
 *
 * @example
 * ```ts
 * import type { Echo6Error } from "./icmp.ts";
 * const show = (e: Echo6Error) => `From ${e.from}: ${e.reason}`;
 * ```
 */
export interface Echo6Error {
  /** Who sent the error (canonical text). */
  readonly from: string;
  /** Identifier of the echo request the error quotes. */
  readonly id: number;
  /** Sequence number of the echo request the error quotes. */
  readonly seq: number;
  /** EHOSTUNREACH, ENETUNREACH, ECONNREFUSED, EMSGSIZE… */
  readonly errno: number;
  /** The error in words (`"packet too big (MTU 1280)"`, `"hop limit exceeded"`, …). */
  readonly reason: string;
}

/**
 * ICMPv6 tuning.
 *
 * @example
 * ```ts
 * import type { Icmpv6Options } from "./icmp.ts";
 * const o: Icmpv6Options = { rateLimitMs: 100, ignoreMulticastEcho: true };
 * ```
 */
export interface Icmpv6Options {
  /** One error token per destination every `rateLimitMs` (default 1000, Linux `icmp/ratelimit`). */
  rateLimitMs?: number;
  /** Per-destination burst (default 6). */
  rateBurst?: number;
  /** Errors per second across all destinations (default 1000). */
  globalPerSecond?: number;
  /** Do not answer echo requests sent to multicast (default false: RFC 4443 §4.2 answers). */
  ignoreMulticastEcho?: boolean;
}

const NO_VERIFY: ParseOptions = { verifyChecksum: false };
const PER_DEST_CAP = 1024;

interface Bucket {
  tokens: number;
  last: number;
}

/**
 * The ICMPv6 protocol of one stack.
 *
 * @example
 * ```ts
 * // Created by Stack: stack.icmp6.sendEcho(dst, 0, id, seq, data)
 * ```
 */
export class Icmpv6Protocol implements Inet6Protocol, Icmpv6Sender {
  readonly #ip: Ipv6Layer;
  readonly #ndisc: NeighbourDiscovery;
  readonly #mld: Mld;
  readonly #rateLimitMs: number;
  readonly #burst: number;
  readonly #globalPerSecond: number;
  readonly #ignoreMulticastEcho: boolean;
  readonly #buckets = new Map<string, Bucket>();
  readonly #global: Bucket;
  readonly #listeners = new Map<number, (r: Echo6Reply | Echo6Error) => void>();
  #nextEchoId: number;
  readonly #walk = new Ipv6Walk();
  /** Scratch copies of addresses a reply needs after its buffer is rewritten. */
  readonly #dst = new Uint8Array(16);
  readonly #src = new Uint8Array(16);

  /** ICMPv6 over the IPv6 layer `ip`, handing NDP messages to `ndisc` and MLD queries to `mld`. */
  constructor(ip: Ipv6Layer, ndisc: NeighbourDiscovery, mld: Mld, o: Icmpv6Options = {}) {
    this.#ip = ip;
    this.#ndisc = ndisc;
    this.#mld = mld;
    this.#rateLimitMs = o.rateLimitMs ?? 1000;
    this.#burst = o.rateBurst ?? 6;
    this.#globalPerSecond = o.globalPerSecond ?? 1000;
    this.#ignoreMulticastEcho = o.ignoreMulticastEcho ?? false;
    this.#global = { tokens: Math.min(50, this.#globalPerSecond), last: ip.clock.now() };
    this.#nextEchoId = ip.rng.nextU32() & 0xffff;
    ip.icmp = this;
    ip.register(NextHeader.ICMPV6, this);
  }

  /** Receive an ICMPv6 message (`skb.data` at it). */
  rcv(skb: SkBuff, ip: Ipv6Repr, iface: Iface): void {
    const st = this.#ip.stats;
    const u8 = this.#ip.allocator.arena.u8;
    st.icmp6.inMsgs++;
    const len = skb.len;
    const pseudo = ipv6PseudoSum(u8, ip.srcOffset, u8, ip.dstOffset, len, NextHeader.ICMPV6);
    const m = parseIcmpv6(
      u8,
      skb.data,
      len,
      pseudo,
      skb.ipSummed === Csum.Unnecessary ? NO_VERIFY : undefined,
    );
    if (typeof m === "string") {
      st.icmp6.inErrors++;
      return this.#drop(skb, m);
    }
    st.icmp6.inByType[m.type]!++;
    switch (m.type) {
      case Icmpv6Type.ECHO_REQUEST:
        return this.#echo(skb, ip, iface);
      case Icmpv6Type.ECHO_REPLY: {
        const l = this.#listeners.get(m.id);
        if (l === undefined) return this.#drop(skb, "icmpv6.echo_reply_unmatched");
        l({
          from: formatIpv6(u8, ip.srcOffset),
          id: m.id,
          seq: m.seq,
          hopLimit: ip.hopLimit,
          data: u8.slice(m.payloadOffset, m.payloadOffset + m.payloadLength),
          time: this.#ip.clock.now(),
        });
        skb.free();
        return;
      }
      case Icmpv6Type.DEST_UNREACHABLE:
      case Icmpv6Type.PACKET_TOO_BIG:
      case Icmpv6Type.TIME_EXCEEDED:
      case Icmpv6Type.PARAMETER_PROBLEM:
        return this.#error(skb, ip, m.type, m.code, m.word, m.payloadOffset, m.payloadLength);
      case Icmpv6Type.ROUTER_SOLICIT:
      case Icmpv6Type.ROUTER_ADVERT:
      case Icmpv6Type.NEIGHBOR_SOLICIT:
      case Icmpv6Type.NEIGHBOR_ADVERT:
      case Icmpv6Type.REDIRECT: {
        const why = this.#ndisc.rcv(m.type, ip, skb.data, len, iface);
        if (why !== null) return this.#drop(skb, why);
        skb.free();
        return;
      }
      case Icmpv6Type.MLD_QUERY: {
        const dev = this.#ip.devices.get(iface);
        const why = dev === undefined ? "mld.disabled" : this.#mld.rcvQuery(dev, ip, skb.data, len);
        if (why !== null) return this.#drop(skb, why);
        skb.free();
        return;
      }
      case Icmpv6Type.MLD_REPORT:
      case Icmpv6Type.MLD_DONE:
      case Icmpv6Type.MLDV2_REPORT:
        // Other listeners' reports: MLDv2 hosts do not suppress their own (RFC 3810 §6).
        skb.free();
        return;
    }
    // RFC 4443 §2.4 (a), (b).
    return this.#drop(skb, m.type < 128 ? "icmpv6.unknown_error" : "icmpv6.unknown_type");
  }

  /** An error quoting one of our ICMPv6 packets: tell its ping, if it was an echo request. */
  err(e: Icmpv6Error): void {
    const t = e.quote.transportOffset;
    if (e.quote.fragmentOffset !== 0 || e.u8[t] !== Icmpv6Type.ECHO_REQUEST) return;
    const id = (e.u8[t + 4]! << 8) | e.u8[t + 5]!;
    const seq = (e.u8[t + 6]! << 8) | e.u8[t + 7]!;
    const l = this.#listeners.get(id);
    if (l === undefined) return;
    const [errno, reason] = icmpv6Errno(e.type, e.code, e.info);
    l({ from: formatIpv6(e.u8, e.fromOffset), id, seq, errno, reason });
  }

  /** Listen for echo replies (and errors) with identifier `id`; returns a remover. */
  onEchoReply(id: number, listener: (r: Echo6Reply | Echo6Error) => void): () => void {
    const k = id & 0xffff;
    this.#listeners.set(k, listener);
    return () => {
      if (this.#listeners.get(k) === listener) this.#listeners.delete(k);
    };
  }

  /** A fresh echo identifier not in use. */
  allocEchoId(): number {
    for (let i = 0; i < 65536; i++) {
      const id = this.#nextEchoId;
      this.#nextEchoId = (this.#nextEchoId + 1) & 0xffff;
      if (!this.#listeners.has(id)) return id;
    }
    throw new RangeError("All 65536 ICMPv6 echo identifiers are in use");
  }

  /**
   * Send an echo request to `dst[off]`. Returns 0 or `-errno` (ENETUNREACH,
   * EINVAL for a link-local destination without a zone, EADDRNOTAVAIL,
   * EMSGSIZE with `dontFragment`, ENOBUFS).
   */
  sendEcho(
    dst: Uint8Array,
    off: number,
    id: number,
    seq: number,
    data: Uint8Array,
    o: { hopLimit?: number; oif?: Iface; dontFragment?: boolean } = {},
  ): number {
    const skb = this.#ip.allocator.alloc(ICMPV6_HEADER_LENGTH + data.length);
    if (skb === null) return -Errno.ENOBUFS;
    const at = skb.put(ICMPV6_HEADER_LENGTH + data.length);
    const u8 = this.#ip.allocator.arena.u8;
    u8[at] = Icmpv6Type.ECHO_REQUEST;
    u8[at + 1] = 0;
    set16(u8, at + 4, id);
    set16(u8, at + 6, seq);
    u8.set(data, at + ICMPV6_HEADER_LENGTH);
    this.#ip.stats.icmp6.outMsgs++;
    this.#ip.stats.icmp6.outByType[Icmpv6Type.ECHO_REQUEST]!++;
    return this.#ip.output(skb, dst, off, {
      nextHeader: NextHeader.ICMPV6,
      checksumOffset: 2,
      ...(o.hopLimit !== undefined ? { hopLimit: o.hopLimit } : {}),
      ...(o.oif !== undefined ? { oif: o.oif } : {}),
      ...(o.dontFragment !== undefined ? { dontFragment: o.dontFragment } : {}),
    });
  }

  /**
   * Send an ICMPv6 error about `orig` (IPv6 header at `orig.networkHeader`).
   * Never about (RFC 4443 §2.4 (e)): an ICMPv6 error or redirect, a packet
   * to multicast or received as link-layer multicast/broadcast (except Packet
   * Too Big and `evenIfMulticast` Parameter Problems), or from a source that
   * is not one unicast node. Rate limited (§2.4 (f)). Does not consume `orig`.
   */
  sendError(orig: SkBuff, type: number, code: number, info = 0, evenIfMulticast = false): void {
    const ip = this.#ip;
    const st = ip.stats;
    if (orig.networkHeader < 0) return;
    const u8 = ip.allocator.arena.u8;
    const nh = orig.networkHeader;
    const avail = orig.tail - nh;
    const oh = parseIpv6(u8, nh, avail);
    if (typeof oh === "string") return;
    const exempt = type === Icmpv6Type.PACKET_TOO_BIG || evenIfMulticast;
    if (
      !exempt &&
      (isMulticast6(u8, oh.dstOffset) || orig.pktType === PACKET_MULTICAST ||
        orig.pktType === PACKET_BROADCAST)
    ) {
      return;
    }
    if (isUnspecified6(u8, oh.srcOffset) || isMulticast6(u8, oh.srcOffset)) return;
    // (e.1), (e.2): never about an ICMPv6 error or a redirect.
    const w = this.#walk;
    const s = walkIpv6Headers(u8, oh.nextHeader, oh.payloadOffset, nh + avail, true, nh + 6, w);
    if (s === WalkStatus.UPPER && w.nextHeader === NextHeader.ICMPV6 && w.offset < nh + avail) {
      const t = u8[w.offset]!;
      if (t < 128 || t === Icmpv6Type.REDIRECT) return;
    }
    const toSelf = ip.isLocal(u8, oh.srcOffset);
    if (!toSelf && !this.#allow(u8, oh.srcOffset)) {
      st.icmp6.outRateLimited++;
      return;
    }
    // Source: the offending packet's destination when it is one of ours.
    const dst = this.#dst;
    dst.set(u8.subarray(oh.srcOffset, oh.srcOffset + 16));
    let src: Uint8Array | undefined;
    if (ip.isLocal(u8, oh.dstOffset)) {
      this.#src.set(u8.subarray(oh.dstOffset, oh.dstOffset + 16));
      src = this.#src;
    }
    const rt = ip.route(dst, 0, undefined);
    if (rt === null || rt === "zone") {
      // A link-local source on one of several links: answer on the one it came in on.
      if (rt === "zone") return this.#sendErrorOn(orig, dst, src, type, code, info, avail);
      return;
    }
    this.#sendErrorOn(orig, dst, src, type, code, info, avail, rt.iface);
  }

  #sendErrorOn(
    orig: SkBuff,
    dst: Uint8Array,
    src: Uint8Array | undefined,
    type: number,
    code: number,
    info: number,
    avail: number,
    oif?: Iface,
  ): void {
    const ip = this.#ip;
    const st = ip.stats;
    let out = oif;
    if (out === undefined) {
      for (const d of ip.devices.all()) if (d.iface.index === orig.ifindex) out = d.iface;
    }
    // §2.4 (c): as much of the packet as fits in the minimum MTU.
    const quote = Math.min(avail, ICMPV6_ERROR_MAX - IPV6_HEADER_LENGTH - ICMPV6_HEADER_LENGTH);
    const skb = ip.allocator.alloc(ICMPV6_HEADER_LENGTH + quote, { headroom: MAX_HEADER });
    if (skb === null) {
      st.icmp6.outErrors++;
      return;
    }
    const at = skb.put(ICMPV6_HEADER_LENGTH + quote);
    const u = ip.allocator.arena.u8;
    u.copyWithin(at + ICMPV6_HEADER_LENGTH, orig.networkHeader, orig.networkHeader + quote);
    u[at] = type;
    u[at + 1] = code;
    set32(u, at + 4, info);
    if (src === undefined) {
      const a = selectSource(ip.devices, dst, 0, out ?? null);
      if (a === null) {
        skb.free();
        return;
      }
      src = a.address;
    }
    st.icmp6.outMsgs++;
    st.icmp6.outByType[type]!++;
    const r = ip.output(skb, dst, 0, {
      nextHeader: NextHeader.ICMPV6,
      checksumOffset: 2,
      src,
      ...(out !== undefined ? { oif: out } : {}),
    });
    if (r < 0) st.icmp6.outErrors++;
  }

  /** A received error (§3): to the path MTU cache and the upper layer it quotes. */
  #error(
    skb: SkBuff,
    ip: Ipv6Repr,
    type: number,
    code: number,
    word: number,
    qOff: number,
    qLen: number,
  ): void {
    const st = this.#ip.stats;
    const u8 = this.#ip.allocator.arena.u8;
    const q = parseIcmpv6Quote(u8, qOff, qLen);
    if (typeof q === "string") {
      st.icmp6.inErrors++;
      return this.#drop(skb, q);
    }
    if (!this.#ip.isLocal(u8, q.srcOffset)) return this.#drop(skb, "icmpv6.error_not_ours");
    if (type === Icmpv6Type.PACKET_TOO_BIG) {
      // RFC 8201 §4: lower the estimate (never below 1280, never up).
      const rt = this.#ip.route(u8, q.dstOffset);
      const current = rt === null || rt === "zone" ? 65535 : this.#ip.pathMtu(u8, q.dstOffset, rt);
      this.#ip.pmtu.update(u8, q.dstOffset, word, current);
    }
    const handler = this.#ip.protocol(q.nextHeader);
    handler?.err?.({
      type,
      code,
      info: type === Icmpv6Type.PACKET_TOO_BIG || type === Icmpv6Type.PARAMETER_PROBLEM ? word : 0,
      fromOffset: ip.srcOffset,
      quote: q,
      u8,
      // Port unreachable is a hard error (RFC 4443 §3.1 code 4, like IPv4's C4).
      hard: type === Icmpv6Type.DEST_UNREACHABLE && code === 4,
    });
    skb.free();
  }

  /** RFC 4443 §4.2: the reply carries the request's identifier, sequence and data. */
  #echo(skb: SkBuff, ip: Ipv6Repr, iface: Iface): void {
    const st = this.#ip.stats;
    const u8 = this.#ip.allocator.arena.u8;
    const multicast = isMulticast6(u8, ip.dstOffset);
    if (multicast && this.#ignoreMulticastEcho) {
      return this.#drop(skb, "icmpv6.echo_multicast_ignored");
    }
    if (isUnspecified6(u8, ip.srcOffset)) return this.#drop(skb, "icmpv6.echo_from_unspecified");
    const dst = this.#dst;
    dst.set(u8.subarray(ip.srcOffset, ip.srcOffset + 16));
    let src: Uint8Array;
    if (!multicast) {
      this.#src.set(u8.subarray(ip.dstOffset, ip.dstOffset + 16));
      src = this.#src;
    } else {
      const a = selectSource(this.#ip.devices, dst, 0, iface);
      if (a === null) return this.#drop(skb, "icmpv6.no_source");
      src = a.address;
    }
    const tclass = ip.trafficClass;
    const len = skb.len;
    if (skb.isShared) {
      const copy = this.#ip.allocator.alloc(len);
      if (copy === null) {
        st.icmp6.outErrors++;
        return this.#drop(skb, "icmpv6.no_buffer");
      }
      const c = copy.put(len);
      this.#ip.allocator.arena.u8.copyWithin(c, skb.data, skb.data + len);
      skb.free();
      skb = copy;
    } else {
      skb.resetMeta();
    }
    const u = this.#ip.allocator.arena.u8;
    u[skb.data] = Icmpv6Type.ECHO_REPLY;
    u[skb.data + 1] = 0;
    st.icmp6.outMsgs++;
    st.icmp6.outByType[Icmpv6Type.ECHO_REPLY]!++;
    const r = this.#ip.output(skb, dst, 0, {
      nextHeader: NextHeader.ICMPV6,
      checksumOffset: 2,
      src,
      trafficClass: tclass,
      // A link-local requester is answered on the link it asked from.
      ...(iface.loopback ? {} : { oif: iface }),
    });
    if (r < 0) st.icmp6.outErrors++;
  }

  /** Token buckets: per destination (bounded) and global. */
  #allow(u8: Uint8Array, off: number): boolean {
    const now = this.#ip.clock.now();
    const g = this.#global;
    g.tokens = Math.min(
      Math.min(50, this.#globalPerSecond),
      g.tokens + ((now - g.last) * this.#globalPerSecond) / 1000,
    );
    g.last = now;
    if (g.tokens < 1) return false;
    // Errors are rare; a string key here costs nothing on the data path.
    const key = formatIpv6(u8, off);
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= PER_DEST_CAP) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: this.#burst, last: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.last) / this.#rateLimitMs);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    g.tokens -= 1;
    return true;
  }

  #drop(skb: SkBuff, reason: string): void {
    this.#ip.stats.drops.count(reason);
    skb.free();
  }
}
