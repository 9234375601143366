/**
 * The IPv6 layer (Linux `ip6_input.c` / `ip6_output.c`): input validation
 * with counted drops, extension header processing, reassembly, delivery to
 * the upper-layer protocol table, and output with routing, source selection,
 * flow labels, path MTU and fragmentation.
 *
 * This host does not forward (RFC 8200 §3: hop limit is not checked on
 * receive; packets not addressed to us are dropped and counted). Receive
 * rules, each a counted drop:
 * - **Sources** (RFC 4291 §2.5.2, §2.5.3, §2.7; RFC 4038 §4.2): multicast,
 *   `::1` or v4-mapped from the wire are martian; one of our own usable
 *   addresses from the wire is spoofed. `::` is allowed (DAD probes, MLD
 *   reports); upper layers decide.
 * - **Destinations**: a usable address of ours on any interface (the weak
 *   host model, like Linux), a multicast group the interface listens to
 *   (ff02::1, solicited-node groups, joined groups), or — only for neighbour
 *   discovery — a tentative address (RFC 4862 §5.4: other packets to it are
 *   silently discarded).
 * - **Extension headers** by `walkIpv6Headers` (action bits, hop-by-hop
 *   first, routing headers, option floods). Parameter Problems are sent as
 *   RFC 8200 §4 says, never about a packet to multicast unless the option's
 *   action bits (10) ask for it.
 * - **Fragments** (RFC 8200 §4.5): atomic fragments are processed in
 *   isolation (RFC 6946); a misaligned or oversized fragment draws a
 *   Parameter Problem code 0; a first fragment without the whole header
 *   chain is dropped with Parameter Problem code 3 (RFC 7112); a fragment
 *   header inside a reassembled packet is refused (no nested reassembly).
 * - **Unknown next header**: Parameter Problem code 1 pointing at it.
 *
 * Output: routes per family (`route.ts`); our own addresses (and `::1`) go
 * through loopback; a link-local or multicast destination needs an interface
 * (a zone) unless only one interface could carry it (else EINVAL); RFC 6724
 * source selection; the flow label is a keyed hash of the flow (RFC 6437
 * §3); the hop limit is the socket's, else the router-advertised one, else
 * 64; packets larger than the path MTU (route, link and the RFC 8201 cache)
 * are fragmented at the source with identifications from keyed
 * per-destination counters (RFC 7739), or refused with EMSGSIZE when the
 * caller forbids fragmentation.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { Errno } from "../core/errno.ts";
import { KeyedHash } from "../core/hash.ts";
import type { RandomSource } from "../core/random.ts";
import type { StackStats } from "../core/stats.ts";
import type { Iface } from "../ipv4/iface.ts";
import { DeviceFeature } from "../link/device.ts";
import { gsoSegment } from "../link/gso.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { checksum, finishChecksum, ipv6PseudoSum } from "../wasm/checksum.ts";
import { set16 } from "../wire/bytes.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import {
  ip6Word,
  isLinkLocal6,
  isLoopback6,
  isMulticast6,
  isV4Mapped,
  scope6,
} from "../wire/addr6.ts";
import { Icmpv6Type } from "../wire/icmpv6.ts";
import type { Icmpv6QuoteRepr } from "../wire/icmpv6.ts";
import {
  emitIpv6,
  IPV6_HEADER_LENGTH,
  IPV6_MAX_PAYLOAD,
  type Ipv6EmitRepr,
  type Ipv6Repr,
  NextHeader,
  parseIpv6,
} from "../wire/ipv6.ts";
import { Ipv6Walk, ParamProblemCode, walkIpv6Headers, WalkStatus } from "../wire/ipv6_ext.ts";
import { fragmentIpv6 } from "./fragment.ts";
import { AddrState, type Ipv6Devices } from "./inet6_dev.ts";
import type { PmtuCache } from "./pmtu.ts";
import { Fragment6, Reassembler6, type Reassembly6Options } from "./reassembly.ts";
import type { Route6Result, Route6Table } from "./route.ts";
import { selectSource } from "./select.ts";

/**
 * An ICMPv6 error handed to the upper-layer protocol whose packet it quotes.
 *
 * @example
 * ```ts
 * import type { Icmpv6Error } from "./layer.ts";
 * const refused = (e: Icmpv6Error) => e.type === 1 && e.code === 4;
 * ```
 */
export interface Icmpv6Error {
  /** ICMPv6 type (1 unreachable, 2 packet too big, 3 time exceeded, 4 parameter problem). */
  readonly type: number;
  /** ICMPv6 code (RFC 4443 §3): the sub-reason, e.g. 4 port unreachable. */
  readonly code: number;
  /** The MTU (Packet Too Big) or pointer (Parameter Problem), else 0. */
  readonly info: number;
  /** Who sent the error: 16 bytes at `fromOffset` in `u8`. */
  readonly fromOffset: number;
  /** The quoted packet. */
  readonly quote: Icmpv6QuoteRepr;
  /** Bytes holding the message (valid only during the call). */
  readonly u8: Uint8Array;
  /** Hard errors (RFC 4443 §3.1 port unreachable; RFC 1122 spirit), else soft. */
  readonly hard: boolean;
}

/**
 * An upper-layer protocol in the IPv6 protocol table (Linux `inet6_protocol`).
 *
 * @example
 * ```ts
 * import type { Inet6Protocol } from "./layer.ts";
 * const discard: Inet6Protocol = { rcv: (skb) => skb.free() };
 * ```
 */
export interface Inet6Protocol {
  /**
   * A packet for this protocol: `skb.data` at the upper-layer header,
   * `skb.len` its length, `skb.networkHeader` at the IPv6 header; `ip`
   * locates the addresses. The handler owns `skb`.
   */
  rcv(skb: SkBuff, ip: Ipv6Repr, iface: Iface): void;
  /** An ICMPv6 error about a packet of this protocol that we sent. */
  err?(error: Icmpv6Error): void;
}

/**
 * Sends ICMPv6 errors on the layer's behalf (the ICMPv6 module; declared here
 * so the layer does not import upward).
 *
 * @example
 * ```ts
 * import type { Icmpv6Sender } from "./layer.ts";
 * const mute: Icmpv6Sender = { sendError: () => {} };
 * ```
 */
export interface Icmpv6Sender {
  /** Send an error about `orig` (its IPv6 header at `orig.networkHeader`); does not consume it. */
  sendError(
    orig: SkBuff,
    type: number,
    code: number,
    info?: number,
    evenIfMulticast?: boolean,
  ): void;
}

/**
 * Transmits a packet to a next hop (the neighbour discovery layer).
 *
 * @example
 * ```ts
 * import type { Neighbour6Output } from "./layer.ts";
 * const drop: Neighbour6Output = { output: (_i, _a, _o, skb) => (skb.free(), "dropped") };
 * ```
 */
export interface Neighbour6Output {
  /**
   * Send `skb` (`data` at its IPv6 header) on `iface` to the next hop `nextHop[off, off+16)`: sent,
   * queued while the address resolves, or dropped (and freed).
   */
  output(
    iface: Iface,
    nextHop: Uint8Array,
    off: number,
    skb: SkBuff,
  ): "sent" | "queued" | "dropped";
}

/**
 * Per-packet output options.
 *
 * @example
 * ```ts
 * import type { Ipv6SendOptions } from "./layer.ts";
 * const o: Ipv6SendOptions = { nextHeader: 17, hopLimit: 64 };
 * ```
 */
export interface Ipv6SendOptions {
  /** Upper-layer protocol. */
  nextHeader: number;
  /** Source (16 bytes at `srcOffset`); default: RFC 6724 selection. Must be ours. */
  src?: Uint8Array;
  /** Offset of the source address in `src`; default 0. */
  srcOffset?: number;
  /** Hop limit (1–255); default: multicast 1, else the interface's or 64. */
  hopLimit?: number;
  /** Traffic class (default 0). */
  trafficClass?: number;
  /** Flow label (default: keyed hash of the flow, RFC 6437). */
  flowLabel?: number;
  /** More of the flow for the label hash (e.g. ports `sport << 16 | dport`). */
  flowKey?: number;
  /**
   * Offset, from the upper-layer header, of a 16-bit checksum for the layer
   * to fill in over the IPv6 pseudo-header once the source is chosen (UDP 6,
   * ICMPv6 2, TCP 16): computed in the arena, so in WebAssembly. A computed
   * 0 is written as 0xffff for UDP only (RFC 8200 §8.1). Leave unset when
   * the caller wrote it.
   */
  checksumOffset?: number;
  /** Refuse to fragment: EMSGSIZE when larger than the path MTU (IPV6_DONTFRAG). */
  dontFragment?: boolean;
  /** Send through this interface (a zone / scope id, SO_BINDTODEVICE). */
  oif?: Iface;
  /** A route already looked up. */
  route?: Route6Result;
}

/**
 * What the IPv6 layer needs from the stack.
 *
 * @example
 * ```ts
 * import type { Ipv6LayerOptions } from "./layer.ts";
 * type Needs = keyof Ipv6LayerOptions;
 * ```
 */
export interface Ipv6LayerOptions {
  /** Time source (reassembly timers). */
  clock: Clock;
  /** Randomness: flow-label and fragment-identification secrets (RFC 6437, RFC 7739). */
  rng: RandomSource;
  /** Allocates packet buffers (errors, fragments, reassembled packets). */
  allocator: SkbAllocator;
  /** The stack's counters (`ipv6`, drops by reason). */
  stats: StackStats;
  /** The per-interface IPv6 state (addresses, groups, MTU). */
  devices: Ipv6Devices;
  /** The routing table. */
  routes: Route6Table;
  /** Path MTU estimates (RFC 8201). */
  pmtu: PmtuCache;
  /** Where packets for a next hop go (neighbour discovery). */
  neighbours: Neighbour6Output;
  /** Reassembly tuning. */
  reassembly?: Partial<
    Omit<Reassembly6Options, "clock" | "allocator" | "rng" | "stats" | "drops" | "onTimeout">
  >;
  /** Default hop limit (default 64). */
  defaultHopLimit?: number;
}

const FRAG_IDENTS = 2048;

/**
 * The IPv6 layer of one stack.
 *
 * @example
 * ```ts
 * // Created by Stack; upper layers register: stack.ipv6.register(17, udp6)
 * // and send: stack.ipv6.output(skb, dst, 0, { nextHeader: 17 })
 * ```
 */
export class Ipv6Layer {
  /** Time source. */
  readonly clock: Clock;
  /** Randomness. */
  readonly rng: RandomSource;
  /** Packet buffer allocator. */
  readonly allocator: SkbAllocator;
  /** The stack's counters. */
  readonly stats: StackStats;
  /** The per-interface IPv6 state. */
  readonly devices: Ipv6Devices;
  /** The routing table. */
  readonly routes: Route6Table;
  /** Path MTU estimates (RFC 8201). */
  readonly pmtu: PmtuCache;
  /** Fragment reassembly (RFC 8200 §4.5). */
  readonly reassembler: Reassembler6;
  /** Hop limit for unicast when neither the socket nor an RA sets one. */
  readonly defaultHopLimit: number;
  /** Set by the ICMPv6 module. */
  icmp: Icmpv6Sender | null = null;
  readonly #neigh: Neighbour6Output;
  readonly #protocols: (Inet6Protocol | undefined)[] = new Array(256);
  readonly #hash: KeyedHash;
  readonly #idents: Uint32Array;
  readonly #walk = new Ipv6Walk();
  readonly #chain = new Ipv6Walk();
  readonly #frag = new Fragment6();
  readonly #hdr: { -readonly [K in keyof Ipv6EmitRepr]-?: Ipv6EmitRepr[K] } = {
    trafficClass: 0,
    flowLabel: 0,
    payloadLength: 0,
    nextHeader: 0,
    hopLimit: 0,
    src: new Uint8Array(16),
    srcOffset: 0,
    dst: new Uint8Array(16),
    dstOffset: 0,
  };

  /** The IPv6 layer of one stack. */
  constructor(o: Ipv6LayerOptions) {
    this.clock = o.clock;
    this.rng = o.rng;
    this.allocator = o.allocator;
    this.stats = o.stats;
    this.devices = o.devices;
    this.routes = o.routes;
    this.pmtu = o.pmtu;
    this.#neigh = o.neighbours;
    this.defaultHopLimit = o.defaultHopLimit ?? 64;
    this.#hash = new KeyedHash(o.rng);
    // RFC 7739 §5.1: per-destination counters starting at random values.
    this.#idents = new Uint32Array(FRAG_IDENTS);
    for (let i = 0; i < FRAG_IDENTS; i++) this.#idents[i] = o.rng.nextU32();
    this.reassembler = new Reassembler6({
      ...o.reassembly,
      clock: o.clock,
      allocator: o.allocator,
      rng: o.rng,
      stats: o.stats.ip6,
      drops: o.stats.drops,
      onTimeout: (first) => {
        if (first === null) return;
        // RFC 8200 §4.5: Time Exceeded code 1 about the first fragment.
        this.icmp?.sendError(first, Icmpv6Type.TIME_EXCEEDED, 1);
        first.free();
      },
    });
  }

  /** Register `handler` for next header `nh`. */
  register(nh: number, handler: Inet6Protocol): void {
    if (this.#protocols[nh] !== undefined) {
      throw new TypeError(`IPv6 next header ${nh} already has a handler`);
    }
    this.#protocols[nh] = handler;
  }

  /** The handler for next header `nh`, if any. */
  protocol(nh: number): Inet6Protocol | undefined {
    return this.#protocols[nh];
  }

  /** True when `u8[off]` is a usable unicast address of ours (::1 included). */
  isLocal(u8: Uint8Array, off: number): boolean {
    return this.devices.isLocal(u8, off);
  }

  /**
   * Route to `dst[off]`: our own addresses through loopback, link-scope
   * destinations through `oif` (or the only interface that could carry them),
   * the rest through the routing table. Null when unreachable; `"zone"` when
   * a link-local destination needs an interface and several could carry it.
   */
  route(dst: Uint8Array, off: number, oif?: Iface): Route6Result | null | "zone" {
    if ((oif === undefined || oif.loopback) && this.devices.isLocal(dst, off)) {
      const lo = this.devices.loopback();
      if (lo !== undefined && lo.iface.dev.isUp) {
        return { route: null, iface: lo.iface, gateway: null, mtu: lo.iface.mtu };
      }
    }
    if (isMulticast6(dst, off) || isLinkLocal6(dst, off)) {
      let out = oif;
      if (out === undefined) {
        for (const d of this.devices.all()) {
          if (d.iface.loopback || d.disabled || !d.iface.dev.isUp) continue;
          if (out !== undefined) return "zone";
          out = d.iface;
        }
      }
      if (out === undefined) return null;
      const dev = this.devices.get(out);
      if (dev === undefined || dev.disabled) return null;
      if (isMulticast6(dst, off)) return { route: null, iface: out, gateway: null, mtu: dev.mtu };
      return this.routes.lookup(dst, off, out) ??
        { route: null, iface: out, gateway: null, mtu: dev.mtu };
    }
    return this.routes.lookup(dst, off, oif);
  }

  /** The path MTU towards `dst[off]` over `rt`. */
  pathMtu(dst: Uint8Array, off: number, rt: Route6Result): number {
    const dev = this.devices.get(rt.iface);
    const link = Math.min(rt.mtu, dev?.mtu ?? rt.mtu);
    return this.pmtu.get(dst, off, link);
  }

  /** The RFC 6437 flow label of a flow: a keyed hash, never 0. */
  flowLabel(
    src: Uint8Array,
    srcOff: number,
    dst: Uint8Array,
    dstOff: number,
    nh: number,
    key = 0,
  ): number {
    const h = this.#hash.hash4(
      ip6Word(src, srcOff, 0) ^ ip6Word(dst, dstOff, 0),
      ip6Word(src, srcOff, 1) ^ ip6Word(dst, dstOff, 1),
      ip6Word(src, srcOff, 2) ^ ip6Word(dst, dstOff, 2),
      ip6Word(src, srcOff, 3),
    );
    const l = this.#hash.hash3(h, ip6Word(dst, dstOff, 3), (nh << 24) ^ key) & 0xfffff;
    return l === 0 ? 1 : l;
  }

  /** The next fragment identification towards `dst` (RFC 7739 §5.1). */
  nextFragmentId(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): number {
    const b = this.#hash.hash4(
      ip6Word(dst, dstOff, 0) ^ ip6Word(src, srcOff, 3),
      ip6Word(dst, dstOff, 1),
      ip6Word(dst, dstOff, 2),
      ip6Word(dst, dstOff, 3),
    ) & (FRAG_IDENTS - 1);
    const id = this.#idents[b]!;
    this.#idents[b] = id + 1;
    return id;
  }

  /**
   * Send an upper-layer packet: `skb.data` at its header, with at least 40
   * bytes of headroom (plus the link header). Pushes the IPv6 header,
   * fragments to the path MTU (or fails with EMSGSIZE when `dontFragment`)
   * and hands it to neighbour discovery. Always consumes `skb`. Returns 0 or
   * `-errno` (ENETUNREACH, EINVAL for a missing zone, EADDRNOTAVAIL when no
   * source is usable, EMSGSIZE, ENOBUFS).
   */
  output(skb: SkBuff, dst: Uint8Array, dstOff: number, o: Ipv6SendOptions): number {
    const st = this.stats.ip6;
    const rt: Route6Result | null | "zone" = o.route ?? this.route(dst, dstOff, o.oif);
    if (rt === "zone") {
      st.outNoRoutes++;
      skb.free();
      return -Errno.EINVAL;
    }
    if (rt === null) {
      st.outNoRoutes++;
      skb.free();
      return -Errno.ENETUNREACH;
    }
    let src = o.src;
    let srcOff = o.srcOffset ?? 0;
    if (src === undefined) {
      const a = selectSource(this.devices, dst, dstOff, rt.iface);
      if (a === null) {
        st.outDiscards++;
        skb.free();
        return -Errno.EADDRNOTAVAIL;
      }
      src = a.address;
      srcOff = 0;
    }
    const payloadLength = skb.len;
    if (payloadLength > IPV6_MAX_PAYLOAD) {
      st.outDiscards++;
      skb.free();
      return -Errno.EMSGSIZE;
    }
    const dev = this.devices.get(rt.iface);
    const hopLimit = o.hopLimit ??
      (isMulticast6(dst, dstOff)
        ? 1
        : dev !== undefined && dev.hopLimit > 0
        ? dev.hopLimit
        : this.defaultHopLimit);
    if (!(hopLimit >= 1 && hopLimit <= 255)) {
      skb.free();
      throw new RangeError(`IPv6 hop limit ${hopLimit} is outside 1…255`);
    }
    const at = skb.push(IPV6_HEADER_LENGTH);
    skb.networkHeader = at;
    // One header record reused for every packet: output allocates no objects.
    const h = this.#hdr;
    h.trafficClass = o.trafficClass ?? 0;
    h.flowLabel = o.flowLabel ??
      this.flowLabel(src, srcOff, dst, dstOff, o.nextHeader, o.flowKey ?? 0);
    h.payloadLength = payloadLength;
    h.nextHeader = o.nextHeader;
    h.hopLimit = hopLimit;
    h.src = src;
    h.srcOffset = srcOff;
    h.dst = dst;
    h.dstOffset = dstOff;
    emitIpv6(h, this.allocator.arena.u8, at);
    const co = o.checksumOffset;
    if (co !== undefined && co >= 0) {
      const u8 = this.allocator.arena.u8;
      const t = at + IPV6_HEADER_LENGTH;
      set16(u8, t + co, 0);
      const pseudo = ipv6PseudoSum(u8, at + 8, u8, at + 24, payloadLength, o.nextHeader);
      const c = finishChecksum(checksum(u8, t, payloadLength, pseudo));
      // RFC 8200 §8.1 (and RFC 768): a UDP checksum computed as 0 goes out as
      // 0xffff, since 0 would mean "none". TCP and ICMPv6 send the 0 itself.
      set16(u8, t + co, c === 0 && o.nextHeader === IpProtocol.UDP ? 0xffff : c);
    }
    st.outRequests++;
    const mtu = rt.iface.loopback ? rt.iface.mtu : this.pathMtu(dst, dstOff, rt);
    const nextHop = rt.gateway ?? dst;
    const nhOff = rt.gateway === null ? dstOff : 0;
    const iface = rt.iface;
    if (skb.gsoSize === 0 && skb.len <= mtu) {
      this.#neigh.output(iface, nextHop, nhOff, skb);
      return 0;
    }
    if (skb.gsoSize > 0) {
      // A TCP super-segment (more payload than one segment — even within
      // the MTU, when a tiny MSS packs several in one buffer): a TSO device
      // takes it whole; for any other it is cut here (software GSO, Linux
      // validate_xmit_skb → skb_gso_segment).
      if ((iface.dev.features & DeviceFeature.TSO) !== 0) {
        this.#neigh.output(iface, nextHop, nhOff, skb);
        return 0;
      }
      const n = gsoSegment(skb, 0, this.allocator, (piece) => {
        this.#neigh.output(iface, nextHop, nhOff, piece);
      });
      return n < 0 ? -Errno.ENOBUFS : 0;
    }
    if (o.dontFragment) {
      st.fragFails++;
      skb.free();
      return -Errno.EMSGSIZE;
    }
    const id = this.nextFragmentId(src, srcOff, dst, dstOff);
    const r = fragmentIpv6(skb, mtu, id, this.allocator, (f) => {
      this.#neigh.output(iface, nextHop, nhOff, f);
    }, st);
    return r === "sent" ? 0 : -Errno.ENOBUFS;
  }

  /**
   * Receive an IPv6 packet (`ipv6_rcv`): `skb.data` at the IPv6 header.
   * Validates it, walks its extension headers, reassembles and delivers it.
   * Consumes `skb`; drops are counted by reason.
   */
  rcv(skb: SkBuff, iface: Iface): void {
    const st = this.stats.ip6;
    st.inReceives++;
    skb.ifindex = iface.index;
    const dev = this.devices.get(iface);
    if (dev === undefined || dev.disabled) return this.#drop(skb, "ipv6.disabled");
    let u8 = this.allocator.arena.u8;
    let ip = parseIpv6(u8, skb.data, skb.len);
    if (typeof ip === "string") {
      st.inHdrErrors++;
      return this.#drop(skb, ip);
    }
    skb.networkHeader = skb.data;
    skb.trim(IPV6_HEADER_LENGTH + ip.payloadLength);
    const wire = !iface.loopback;
    // RFC 4291 §2.7: multicast is never a source; ::1 and v4-mapped never come from the wire.
    if (
      isMulticast6(u8, ip.srcOffset) ||
      (wire && (isLoopback6(u8, ip.srcOffset) || isV4Mapped(u8, ip.srcOffset)))
    ) {
      st.inAddrErrors++;
      return this.#drop(skb, "ipv6.martian_source");
    }
    if (wire && this.devices.isLocal(u8, ip.srcOffset)) {
      st.inAddrErrors++;
      return this.#drop(skb, "ipv6.own_source");
    }
    const multicastDst = isMulticast6(u8, ip.dstOffset);
    let toTentative = false;
    if (multicastDst) {
      if (!dev.listens(u8, ip.dstOffset) || (scope6(u8, ip.dstOffset) <= 1 && wire)) {
        st.inAddrErrors++;
        return this.#drop(skb, "ipv6.multicast_not_joined");
      }
    } else if (wire && (isLoopback6(u8, ip.dstOffset) || isV4Mapped(u8, ip.dstOffset))) {
      st.inAddrErrors++;
      return this.#drop(skb, "ipv6.martian_destination");
    } else {
      const found = this.devices.findAddr(u8, ip.dstOffset);
      if (found === undefined || found.addr.state === AddrState.DUPLICATE) {
        st.inAddrErrors++;
        return this.#drop(skb, "ipv6.not_for_us");
      }
      toTentative = found.addr.state === AddrState.TENTATIVE;
    }

    const w = this.#walk;
    let reassembled = false;
    let first = true;
    let nh = ip.nextHeader;
    let off = ip.payloadOffset;
    let nhField = skb.data + 6;
    for (;;) {
      const end = skb.data + skb.len;
      const status = walkIpv6Headers(u8, nh, off, end, first, nhField, w);
      if (status === WalkStatus.UPPER) break;
      if (status === WalkStatus.DROP) {
        st.inHdrErrors++;
        return this.#drop(skb, w.reason);
      }
      if (status === WalkStatus.PARAM_PROBLEM) {
        st.inHdrErrors++;
        // RFC 8200 §4.2: code-2 errors about multicast only for action 10.
        if (!multicastDst || w.icmpEvenIfMulticast) {
          this.icmp?.sendError(
            skb,
            Icmpv6Type.PARAMETER_PROBLEM,
            w.icmpCode,
            w.icmpPointer - skb.networkHeader,
            w.icmpEvenIfMulticast,
          );
        }
        return this.#drop(skb, w.reason);
      }
      // A fragment header.
      const fh = w.offset;
      const dataStart = fh + 8;
      const dataLen = end - dataStart;
      if (reassembled) {
        st.inHdrErrors++;
        return this.#drop(skb, "ipv6.nested_fragment");
      }
      if (w.fragmentOffset === 0 && !w.moreFragments) {
        // RFC 6946 §4: an atomic fragment is processed in isolation.
        reassembled = true;
        first = false;
        nh = u8[fh]!;
        off = dataStart;
        nhField = fh;
        continue;
      }
      // RFC 8200 §4.5: a non-final fragment carries a multiple of 8 bytes…
      if (w.moreFragments && (dataLen & 7) !== 0) {
        st.inHdrErrors++;
        this.icmp?.sendError(
          skb,
          Icmpv6Type.PARAMETER_PROBLEM,
          ParamProblemCode.ERRONEOUS_HEADER,
          4,
        );
        return this.#drop(skb, "ipv6.frag_misaligned");
      }
      // …and no fragment may make the payload exceed 65,535 bytes.
      if (
        fh - skb.networkHeader - IPV6_HEADER_LENGTH + w.fragmentOffset + dataLen > IPV6_MAX_PAYLOAD
      ) {
        st.inHdrErrors++;
        this.icmp?.sendError(
          skb,
          Icmpv6Type.PARAMETER_PROBLEM,
          ParamProblemCode.ERRONEOUS_HEADER,
          fh + 2 - skb.networkHeader,
        );
        return this.#drop(skb, "ipv6.frag_too_big");
      }
      if (w.fragmentOffset === 0 && !this.#chainComplete(u8, u8[fh]!, dataStart, end, fh)) {
        // RFC 7112 §5: the first fragment must hold the whole header chain.
        st.inHdrErrors++;
        this.icmp?.sendError(
          skb,
          Icmpv6Type.PARAMETER_PROBLEM,
          ParamProblemCode.INCOMPLETE_CHAIN,
          0,
        );
        return this.#drop(skb, "ipv6.frag_incomplete_chain");
      }
      const f = this.#frag;
      f.unfragLength = fh - skb.networkHeader;
      f.nhField = w.nhFieldOffset - skb.networkHeader;
      f.nextHeader = u8[fh]!;
      f.fragmentOffset = w.fragmentOffset;
      f.moreFragments = w.moreFragments;
      f.identification = w.identification;
      f.dataLength = dataLen;
      const whole = this.reassembler.add(skb, f);
      if (whole === null) return;
      skb = whole;
      u8 = this.allocator.arena.u8;
      const again = parseIpv6(u8, skb.data, skb.len);
      if (typeof again === "string") {
        st.inHdrErrors++;
        return this.#drop(skb, again);
      }
      ip = again;
      skb.networkHeader = skb.data;
      reassembled = true;
      first = true;
      nh = ip.nextHeader;
      off = ip.payloadOffset;
      nhField = skb.data + 6;
    }
    const upper = w.nextHeader;
    const t = w.offset;
    if (upper === NextHeader.NO_NEXT_HEADER) return this.#drop(skb, "ipv6.no_next_header");
    // RFC 4862 §5.4: to a tentative address only neighbour discovery is accepted.
    if (
      toTentative &&
      !(upper === NextHeader.ICMPV6 &&
        (u8[t] === Icmpv6Type.NEIGHBOR_SOLICIT || u8[t] === Icmpv6Type.NEIGHBOR_ADVERT))
    ) {
      st.inAddrErrors++;
      return this.#drop(skb, "ipv6.tentative_destination");
    }
    const handler = this.#protocols[upper];
    if (handler === undefined) {
      st.inUnknownProtos++;
      // RFC 8200 §4: unrecognised Next Header → Parameter Problem code 1 at that field.
      if (!multicastDst) {
        this.icmp?.sendError(
          skb,
          Icmpv6Type.PARAMETER_PROBLEM,
          ParamProblemCode.UNRECOGNIZED_NEXT_HEADER,
          w.nhFieldOffset - skb.networkHeader,
        );
      }
      return this.#drop(skb, "ipv6.unknown_next_header");
    }
    skb.pull(t - skb.data);
    skb.transportHeader = skb.data;
    st.inDelivers++;
    handler.rcv(skb, ip, iface);
  }

  /** Free the reassembly queues and their timer. */
  close(): void {
    this.reassembler.close();
  }

  /**
   * RFC 7112: does the first fragment (`[off, end)` after its fragment
   * header) hold every extension header and the upper-layer header?
   */
  #chainComplete(u8: Uint8Array, nh: number, off: number, end: number, nhField: number): boolean {
    const c = this.#chain;
    const s = walkIpv6Headers(u8, nh, off, end, false, nhField, c);
    if (s === WalkStatus.DROP) return c.reason !== "ipv6.ext_truncated";
    if (s !== WalkStatus.UPPER) return true; // other problems are reported after reassembly
    const need = c.nextHeader === NextHeader.TCP
      ? 20
      : c.nextHeader === NextHeader.NO_NEXT_HEADER
      ? 0
      : 8;
    return end - c.offset >= need;
  }

  #drop(skb: SkBuff, reason: string): void {
    this.stats.drops.count(reason);
    skb.free();
  }
}
