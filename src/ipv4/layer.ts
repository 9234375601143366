/**
 * The IPv4 layer: input validation and local delivery (`ip_rcv`,
 * `ip_local_deliver`), output with routing, IP IDs and fragmentation
 * (`ip_queue_xmit`, `ip_fragment`), and the protocol table transport
 * protocols register in (`inet_protos[]`).
 *
 * This host does not forward: datagrams not addressed to it are dropped and
 * counted (RFC 1122 §3.2.1.3).
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { Errno } from "../core/errno.ts";
import { KeyedHash } from "../core/hash.ts";
import type { RandomSource } from "../core/random.ts";
import type { StackStats } from "../core/stats.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { Csum } from "../skb/skbuff.ts";
import {
  IPV4_BROADCAST,
  type Ipv4Address,
  isBroadcast,
  isLoopback,
  isMartianSource,
  isMulticast,
} from "../wire/addr.ts";
import type { ParseOptions } from "../wire/bytes.ts";
import {
  type IcmpQuoteRepr,
  IcmpTimeExceededCode,
  IcmpType,
  IcmpUnreachableCode,
} from "../wire/icmp.ts";
import {
  emitIpv4,
  IPV4_HEADER_LENGTH,
  type Ipv4Repr,
  type MutableIpv4Repr,
  newIpv4Repr,
  parseIpv4Into,
} from "../wire/ipv4.ts";
import { DeviceFeature } from "../link/device.ts";
import { gsoSegment } from "../link/gso.ts";
import { fragmentIpv4 } from "./fragment.ts";
import type { Iface } from "./iface.ts";
import type { NeighbourTable } from "./neighbour.ts";
import { Reassembler, type ReassemblyOptions } from "./reassembly.ts";
import type { RouteResult, RouteTable } from "./route.ts";

/** An ICMP error handed to the transport protocol whose datagram it quotes. */
export interface IcmpError {
  /** ICMP type (3 unreachable, 11 time exceeded, 12 parameter problem). */
  readonly type: number;
  /** ICMP code. */
  readonly code: number;
  /** Next-hop MTU for "fragmentation needed" (RFC 1191), else 0. */
  readonly nextHopMtu: number;
  /** Who sent the ICMP error. */
  readonly from: Ipv4Address;
  /** The quoted datagram's header fields and where its transport bytes are in `u8`. */
  readonly quote: IcmpQuoteRepr;
  /** Bytes holding the quote (valid only during the call). */
  readonly u8: Uint8Array;
  /** The errno a socket reports for it (`icmp_errno.ts`, Linux `icmp_err_convert`). */
  readonly errno: number;
  /** Fatal ("hard", RFC 1122 §3.2.2.1, Linux's fatal bits): a connection attempt gives up. */
  readonly fatal: boolean;
}

/** A transport protocol's entry in the protocol table (Linux `net_protocol`). */
export interface InetProtocol {
  /**
   * A datagram for this protocol: `skb.data` at the transport header,
   * `skb.len` the transport length, `skb.networkHeader` at the IP header.
   * The handler owns `skb`. `ip` is the layer's reused record: valid only
   * during the call (copy what must outlive it).
   */
  rcv(skb: SkBuff, ip: Ipv4Repr, iface: Iface): void;
  /** An ICMP error about a datagram of this protocol that we sent (MUST-54). */
  err?(error: IcmpError): void;
}

/** Address classes for `addrType` (Linux `RTN_*`). */
export const AddrType = {
  UNICAST: 0,
  LOCAL: 1,
  BROADCAST: 2,
  MULTICAST: 3,
} as const;
/** One of {@link AddrType}. */
export type AddrType = typeof AddrType[keyof typeof AddrType];

/** Per-datagram output options. */
export interface Ipv4SendOptions {
  /** Transport protocol number. */
  protocol: number;
  /** Source address (default: the route's preferred source). Must be ours. */
  src?: Ipv4Address;
  /** Time to live (default 64; 0 is never sent, RFC 1122 §3.2.1.7). */
  ttl?: number;
  /** TOS / DSCP+ECN byte (default 0). */
  tos?: number;
  /** Set DF; an oversize datagram then fails with EMSGSIZE instead of fragmenting. */
  dontFragment?: boolean;
  /** Send through this interface only (SO_BINDTODEVICE, limited broadcast). */
  oif?: Iface;
  /** A route already looked up (connected sockets cache theirs); undefined looks it up. */
  route?: RouteResult | undefined;
}

/**
 * What a {@link PreroutingHook} decides for a datagram: deliver it on
 * (`"continue"`), or take it (`"stolen"`: the hook now owns the skb and may
 * hand it back later with {@link Ipv4Layer.rcv}).
 */
export type PreroutingVerdict = "continue" | "stolen";

/**
 * A netfilter-PREROUTING-like hook: sees every datagram addressed to us
 * (after validation and reassembly, `skb.data` at the IPv4 header) before
 * its transport protocol does. A NAT gateway uses it to set up a session
 * (a listener, an outbound connection) before the first segment of a flow
 * reaches TCP or UDP.
 */
export type PreroutingHook = (skb: SkBuff, ip: Ipv4Repr, iface: Iface) => PreroutingVerdict;

/** What the IPv4 layer needs from the stack. */
export interface Ipv4LayerOptions {
  /** The stack clock. */
  clock: Clock;
  /** Randomness for IP IDs. */
  rng: RandomSource;
  /** Packet buffers. */
  allocator: SkbAllocator;
  /** The stack's counters. */
  stats: StackStats;
  /** The routing table. */
  routes: RouteTable;
  /** The ARP table. */
  neighbours: NeighbourTable;
  /** The loopback interface, used for datagrams to our own addresses. */
  loopback: () => Iface | undefined;
  /** All interfaces. */
  ifaces: () => readonly Iface[];
  /** Reassembly tuning (timeouts, caps). */
  reassembly?: Partial<
    Omit<ReassemblyOptions, "clock" | "allocator" | "rng" | "stats" | "drops" | "onTimeout">
  >;
  /** Default TTL (default 64). */
  defaultTtl?: number;
}

const NO_VERIFY: ParseOptions = { verifyChecksum: false };
const IP_IDENTS = 2048;

/**
 * Sends ICMP errors on the IPv4 layer's behalf (implemented by the ICMP module;
 * declared here so the layer does not import upward).
 */
export interface IcmpSender {
  /** Send an ICMP error about `orig` (its IPv4 header at `orig.networkHeader`). Does not consume `orig`. */
  sendError(orig: SkBuff, type: number, code: number, info?: number): void;
}

/**
 * The IPv4 layer of one stack.
 *
 * @example
 * ```ts
 * // Created by Stack; transport protocols register themselves:
 * // stack.ipv4.register(IpProtocol.UDP, udp);
 * // stack.ipv4.output(skb, dst, { protocol: IpProtocol.UDP });
 * ```
 */
export class Ipv4Layer {
  /** The stack clock. */
  readonly clock: Clock;
  /** Randomness for IP IDs. */
  readonly rng: RandomSource;
  /** Packet buffers. */
  readonly allocator: SkbAllocator;
  /** The stack's counters. */
  readonly stats: StackStats;
  /** The routing table. */
  readonly routes: RouteTable;
  /** The ARP table. */
  readonly neighbours: NeighbourTable;
  /** Fragment reassembly. */
  readonly reassembler: Reassembler;
  /** TTL of datagrams we originate (default 64). */
  readonly defaultTtl: number;
  /** Set by the ICMP module when it is created. */
  icmp: IcmpSender | null = null;
  readonly #protocols: (InetProtocol | undefined)[] = new Array(256);
  readonly #loopback: () => Iface | undefined;
  readonly #ifaces: () => readonly Iface[];
  readonly #idHash: KeyedHash;
  readonly #idents: Uint16Array;
  /** The header of the datagram being received (reused; handlers must not keep it). */
  readonly #rxIp: MutableIpv4Repr = newIpv4Repr();
  /** The header being emitted (reused). */
  readonly #txIp = {
    src: 0,
    dst: 0,
    tos: 0,
    id: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 0,
    payloadLength: 0,
  };
  #transparent: ((a: Ipv4Address) => boolean) | null = null;
  #prerouting: PreroutingHook | null = null;

  /** The IPv4 layer of one stack. */
  constructor(o: Ipv4LayerOptions) {
    this.clock = o.clock;
    this.rng = o.rng;
    this.allocator = o.allocator;
    this.stats = o.stats;
    this.routes = o.routes;
    this.neighbours = o.neighbours;
    this.defaultTtl = o.defaultTtl ?? 64;
    this.#loopback = o.loopback;
    this.#ifaces = o.ifaces;
    this.#idHash = new KeyedHash(o.rng);
    // RFC 7739 §5.3: IDs from one of many counters chosen by a keyed hash of
    // the flow, each starting at a random value, so an off-path observer can
    // neither predict our IDs nor count our traffic to others (Linux ip_idents).
    this.#idents = new Uint16Array(IP_IDENTS);
    for (let i = 0; i < IP_IDENTS; i++) this.#idents[i] = o.rng.nextU32();
    this.reassembler = new Reassembler({
      ...o.reassembly,
      clock: o.clock,
      allocator: o.allocator,
      rng: o.rng,
      stats: o.stats.ip,
      drops: o.stats.drops,
      onTimeout: (first: SkBuff | null) => {
        if (first === null) return;
        // RFC 1122 §3.3.2 (I8): Time Exceeded, code 1, if fragment 0 arrived.
        this.icmp?.sendError(first, IcmpType.TIME_EXCEEDED, IcmpTimeExceededCode.REASSEMBLY);
        first.free();
      },
    });
  }

  /** Register `handler` for IP protocol number `protocol`. */
  register(protocol: number, handler: InetProtocol): void {
    if (this.#protocols[protocol] !== undefined) {
      throw new TypeError(`IP protocol ${protocol} already has a handler`);
    }
    this.#protocols[protocol] = handler;
  }

  /** The handler for `protocol`, if any. */
  protocol(protocol: number): InetProtocol | undefined {
    return this.#protocols[protocol];
  }

  /**
   * Treat every unicast address `claim` accepts as one of ours (Linux's
   * "AnyIP": `ip route add local 0.0.0.0/0 dev lo`, what TPROXY and
   * IP_TRANSPARENT rely on): datagrams to it are delivered locally and
   * sockets may bind it, so a gateway can terminate connections addressed
   * to anywhere. The transport protocols consult {@link addrType} and need
   * no change. Null turns it off.
   */
  setTransparent(claim: ((a: Ipv4Address) => boolean) | null): void {
    this.#transparent = claim;
  }

  /** Install (or with null remove) the {@link PreroutingHook}. */
  setPrerouting(hook: PreroutingHook | null): void {
    this.#prerouting = hook;
  }

  /** True when `a` is one of our addresses. */
  isLocal(a: Ipv4Address): boolean {
    const ifaces = this.#ifaces();
    for (let k = 0; k < ifaces.length; k++) {
      const i = ifaces[k]!;
      // An interface without an IPv4 address (0: IPv6-only, or before DHCP) owns none.
      if (i.address === a && a !== 0) return true;
      if (i.loopback && isLoopback(a)) return true;
    }
    return this.#transparent !== null && this.#claimed(a >>> 0);
  }

  /** A transparently claimed unicast address (never broadcast, multicast, 0 or loopback). */
  #claimed(a: Ipv4Address): boolean {
    const t = this.#transparent;
    if (t === null || a === 0 || a === IPV4_BROADCAST || isMulticast(a) || isLoopback(a)) {
      return false;
    }
    for (const i of this.#ifaces()) if (i.broadcast === a) return false;
    return t(a);
  }

  /** One of the interfaces' own addresses (not a transparent claim: those are routed normally). */
  #ownAddress(a: Ipv4Address): boolean {
    const ifaces = this.#ifaces();
    for (let k = 0; k < ifaces.length; k++) {
      const i = ifaces[k]!;
      if (i.address === a && a !== 0) return true;
      if (i.loopback && isLoopback(a)) return true;
    }
    return false;
  }

  /** Classify `a` the way `inet_addr_type` does. */
  addrType(a: Ipv4Address): AddrType {
    a >>>= 0;
    if (a === IPV4_BROADCAST) return AddrType.BROADCAST;
    if (isMulticast(a)) return AddrType.MULTICAST;
    const ifaces = this.#ifaces();
    for (let k = 0; k < ifaces.length; k++) {
      const i = ifaces[k]!;
      // An unconfigured interface (address 0, before DHCP) owns no address.
      if ((i.address === a && a !== 0) || (i.loopback && isLoopback(a))) return AddrType.LOCAL;
      if (i.broadcast === a) return AddrType.BROADCAST;
    }
    return this.#claimed(a) ? AddrType.LOCAL : AddrType.UNICAST;
  }

  /**
   * Route to `dst`: our own addresses go through loopback (Linux's local
   * table), limited broadcast out of `oif` or the first non-loopback
   * interface, everything else through the routing table. Null when there is
   * no route (ENETUNREACH).
   */
  route(dst: Ipv4Address, oif?: Iface): RouteResult | null {
    dst >>>= 0;
    if (oif === undefined && this.#ownAddress(dst)) {
      const lo = this.#loopback();
      if (lo !== undefined && lo.dev.isUp) {
        const lr = this.routes.lookup(dst, lo);
        if (lr !== null) return { ...lr, src: dst, nextHop: dst };
        return {
          route: {
            network: dst,
            prefixLength: 32,
            gateway: 0,
            iface: lo,
            src: dst,
            metric: 0,
            mtu: lo.mtu,
          },
          iface: lo,
          nextHop: dst,
          src: dst,
          mtu: lo.mtu,
        };
      }
    }
    if (dst === IPV4_BROADCAST) {
      const out = oif ?? this.#ifaces().find((i) => !i.loopback && i.dev.isUp);
      if (out === undefined) return null;
      return {
        route: {
          network: dst,
          prefixLength: 32,
          gateway: 0,
          iface: out,
          src: out.address,
          metric: 0,
          mtu: out.mtu,
        },
        iface: out,
        nextHop: dst,
        src: out.address,
        mtu: out.mtu,
      };
    }
    return this.routes.lookup(dst, oif);
  }

  /** The next IP ID for a datagram of `protocol` from `src` to `dst` (RFC 7739). */
  nextId(src: Ipv4Address, dst: Ipv4Address, protocol: number): number {
    const b = this.#idHash.hash3(dst, src, protocol) & (IP_IDENTS - 1);
    const id = this.#idents[b]!;
    this.#idents[b] = id + 1;
    return id;
  }

  /**
   * Send a transport datagram: `skb.data` at the transport header, with at
   * least 20 bytes of headroom. Pushes and fills the IPv4 header, fragments
   * to the route MTU (or fails with EMSGSIZE under DF) and hands each packet
   * to the neighbour layer. Always consumes `skb`. Returns 0 or `-errno`.
   */
  output(skb: SkBuff, dst: Ipv4Address, o: Ipv4SendOptions): number {
    dst >>>= 0;
    const rt = o.route ?? this.route(dst, o.oif);
    if (rt === null) {
      this.stats.ip.outNoRoutes++;
      skb.free();
      return -Errno.ENETUNREACH;
    }
    const src = (o.src ?? rt.src) >>> 0;
    const ttl = o.ttl ?? this.defaultTtl;
    if (!(ttl >= 1 && ttl <= 255)) {
      skb.free();
      throw new RangeError(`IP TTL ${ttl} is outside 1…255 (RFC 1122 §3.2.1.7: never send TTL 0)`);
    }
    const payloadLength = skb.len;
    if (payloadLength + IPV4_HEADER_LENGTH > 65535) {
      this.stats.ip.outDiscards++;
      skb.free();
      return -Errno.EMSGSIZE;
    }
    const at = skb.push(IPV4_HEADER_LENGTH);
    skb.networkHeader = at;
    const h = this.#txIp;
    h.src = src;
    h.dst = dst;
    h.tos = o.tos ?? 0;
    h.id = this.nextId(src, dst, o.protocol);
    h.dontFragment = o.dontFragment ?? false;
    h.ttl = ttl;
    h.protocol = o.protocol;
    h.payloadLength = payloadLength;
    emitIpv4(h, this.allocator.arena.u8, at);
    this.stats.ip.outRequests++;
    return this.#finishOutput(skb, rt);
  }

  /**
   * Send a datagram whose IPv4 header is already at `skb.data` (ICMP errors,
   * forwarding of reassembled data in tests). Consumes `skb`; returns 0 or `-errno`.
   */
  outputRaw(skb: SkBuff, rt: RouteResult): number {
    skb.networkHeader = skb.data;
    this.stats.ip.outRequests++;
    return this.#finishOutput(skb, rt);
  }

  #finishOutput(skb: SkBuff, rt: RouteResult): number {
    if (skb.gsoSize === 0 && skb.len <= rt.mtu) {
      this.neighbours.output(rt.iface, rt.nextHop, skb);
      return 0;
    }
    if (skb.gsoSize > 0) {
      // A TCP super-segment (more payload than one segment — even within
      // the MTU, when a tiny MSS packs several in one buffer): a TSO device
      // takes it whole; for any other we cut it here (software GSO, Linux
      // validate_xmit_skb → skb_gso_segment).
      if ((rt.iface.dev.features & DeviceFeature.TSO) !== 0) {
        this.neighbours.output(rt.iface, rt.nextHop, skb);
        return 0;
      }
      const n = gsoSegment(skb, 0, this.allocator, (piece) => {
        this.neighbours.output(rt.iface, rt.nextHop, piece);
      });
      return n < 0 ? -Errno.ENOBUFS : 0;
    }
    // RFC 1122 §3.3.3 (I9): never send more than the MTU unfragmented; with
    // DF set the fragmenter refuses (EMSGSIZE, the caller learns the MTU).
    const r = fragmentIpv4(skb, rt.mtu, this.allocator, (frag: SkBuff) => {
      this.neighbours.output(rt.iface, rt.nextHop, frag);
    }, this.stats.ip);
    if (r.status === "sent") return 0;
    return r.status === "frag_needed" ? -Errno.EMSGSIZE : -Errno.ENOBUFS;
  }

  /**
   * Receive an IPv4 datagram (`ip_rcv`): `skb.data` at the IPv4 header.
   * Validates it (RFC 1122 §3.2.1), reassembles fragments and delivers it to
   * the protocol handler. Consumes `skb`; drops are counted by reason.
   */
  rcv(skb: SkBuff, iface: Iface): void {
    const st = this.stats;
    st.ip.inReceives++;
    const u8 = this.allocator.arena.u8;
    const ip = this.#rxIp;
    const bad = parseIpv4Into(
      u8,
      skb.data,
      skb.len,
      ip,
      skb.ipSummed === Csum.Unnecessary ? NO_VERIFY : undefined,
    );
    if (bad !== null) {
      st.ip.inHdrErrors++;
      return this.#drop(skb, bad);
    }
    skb.networkHeader = skb.data;
    // Link-layer padding after the datagram is not part of it.
    skb.trim(ip.headerLength + ip.payloadLength);

    // RFC 1122 §3.2.1.3 (I4): silently discard datagrams whose source is not a
    // single host: broadcast, multicast, class E, 0/8, and 127/8 from the wire.
    const src = ip.src;
    // Source 0.0.0.0 is a host that does not know its address yet (RFC 1122
    // §3.2.1.3 (a)): accepted only to the limited broadcast, where DHCP
    // clients send from it (Linux ip_route_input_slow's brd_input).
    const booting = src === 0 && ip.dst === IPV4_BROADCAST;
    if (
      !booting &&
      ((isLoopback(src) ? !iface.loopback : isMartianSource(src)) || this.#isBroadcastAddr(src))
    ) {
      st.ip.inAddrErrors++;
      return this.#drop(skb, "ipv4.martian_source");
    }
    // A datagram from the wire claiming to come from us is spoofed (Linux
    // fib_validate_source); only loopback carries our own addresses.
    if (!iface.loopback && this.isLocal(src)) {
      st.ip.inAddrErrors++;
      return this.#drop(skb, "ipv4.own_source");
    }
    // RFC 1122 §3.2.1.3 (I3): only our addresses, broadcast, and the
    // all-hosts group (we join no other multicast group).
    const kind = this.addrType(ip.dst);
    if (kind === AddrType.UNICAST) {
      st.ip.inAddrErrors++;
      return this.#drop(skb, "ipv4.not_for_us");
    }
    if (kind === AddrType.MULTICAST && ip.dst !== 0xe0000001) {
      st.ip.inAddrErrors++;
      return this.#drop(skb, "ipv4.multicast_not_joined");
    }
    if (!iface.loopback && isLoopback(ip.dst)) {
      st.ip.inAddrErrors++;
      return this.#drop(skb, "ipv4.martian_destination");
    }

    if (ip.moreFragments || ip.fragmentOffset !== 0) {
      const whole = this.reassembler.add(skb, ip);
      if (whole === null) return;
      skb = whole;
      const again = parseIpv4Into(this.allocator.arena.u8, skb.data, skb.len, ip, NO_VERIFY);
      if (again !== null) {
        st.ip.inHdrErrors++;
        return this.#drop(skb, again);
      }
      skb.networkHeader = skb.data;
    }

    const hook = this.#prerouting;
    if (hook !== null && hook(skb, ip, iface) === "stolen") return;
    const handler = this.#protocols[ip.protocol];
    skb.pull(ip.headerLength);
    skb.transportHeader = skb.data;
    if (handler === undefined) {
      st.ip.inUnknownProtos++;
      // RFC 1122 §3.2.2.1 (C8): protocol unreachable, unless the datagram
      // was broadcast (C2; sendError checks the rest).
      if (kind === AddrType.LOCAL) {
        this.icmp?.sendError(skb, IcmpType.DEST_UNREACHABLE, IcmpUnreachableCode.PROTOCOL);
      }
      return this.#drop(skb, "ipv4.unknown_protocol");
    }
    st.ip.inDelivers++;
    handler.rcv(skb, ip, iface);
  }

  /** Free the reassembly queues and their timers. */
  close(): void {
    this.reassembler.close();
  }

  #isBroadcastAddr(a: Ipv4Address): boolean {
    if (isBroadcast(a)) return true;
    const ifaces = this.#ifaces();
    for (let k = 0; k < ifaces.length; k++) if (ifaces[k]!.broadcast === a) return true;
    return false;
  }

  #drop(skb: SkBuff, reason: string): void {
    this.stats.drops.count(reason);
    skb.free();
  }
}
