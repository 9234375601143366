/**
 * IPv6 neighbour discovery for a host (RFC 4861; Linux `ndisc.c` over
 * `neighbour.c`): the neighbour cache with its Neighbor Unreachability
 * Detection state machine, address resolution on output, and receipt of
 * Neighbor Solicitations/Advertisements, Router Advertisements (handed to
 * address configuration), Router Solicitations (ignored: we are no router)
 * and Redirects.
 *
 * NUD (RFC 4861 §7.3.2, one timer per entry, each event bounded):
 * - **INCOMPLETE**: multicast solicitations to the solicited-node group every
 *   RetransTimer, `maxMulticastSolicit` (3) in all; packets wait on a bounded
 *   queue; no answer → FAILED (queued packets go to `onResolveFailed`, which
 *   sends ICMPv6 address unreachable, §7.2.2), held one RetransTimer so a
 *   burst of sends is no solicitation storm.
 * - **REACHABLE** for ReachableTime after the last confirmation, then **STALE**.
 * - **STALE**: usable; the next send moves it to **DELAY** (5 s,
 *   DELAY_FIRST_PROBE_TIME) waiting for an upper-layer confirmation
 *   ({@link NeighbourDiscovery.confirm}), then **PROBE**: unicast
 *   solicitations, `maxUnicastSolicit` (3); no answer → removed. Unused STALE
 *   entries go after `staleMs` (Linux `gc_staletime`).
 *
 * Flood protections, the same as ARP's (RFC 6583: neighbour cache exhaustion): the cache is
 * bounded (`maxEntries`; a new entry evicts the least recently confirmed one
 * that is not resolving, else is refused), buckets come from a keyed hash
 * (an attacker cannot aim 50,000 targets at one chain), pending packets are
 * bounded per entry and in total, solicitations for one address are at least
 * RetransTimer apart, and entries are created only by our own sends and by
 * messages that name us: solicitations for our address (§7.2.3), router
 * advertisements (§6.3.4) and redirects (§8.3). Unsolicited advertisements
 * never create one (§7.2.5). Every ND message must arrive with hop limit 255
 * (§6.1, §7.1: it then cannot come from off-link).
 *
 * DAD (RFC 4862 §5.4) runs in `addrconf.ts`; this module sends its probes
 * and tells it when a solicitation or advertisement reveals a duplicate. DAD
 * probes carry a nonce (RFC 7527) so our own probe looped back by the link is
 * recognised and not taken for a duplicate.
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import { KeyedHash } from "../core/hash.ts";
import type { RandomSource } from "../core/random.ts";
import type { DropCounters, NdiscStats } from "../core/stats.ts";
import type { Iface } from "../ipv4/iface.ts";
import { Xmit } from "../link/device.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { isMacMulticast, MAC_ZERO, type MacAddress } from "../wire/addr.ts";
import {
  ip6Equal,
  ip6Word,
  IPV6_ALL_NODES,
  IPV6_ALL_ROUTERS,
  IPV6_UNSPECIFIED,
  ipv6MulticastMac,
  isLinkLocal6,
  isMulticast6,
  isSolicitedNodeOf,
  isUnspecified6,
  solicitedNode,
} from "../wire/addr6.ts";
import { ETHERNET_HEADER_LENGTH, EthernetView, EtherType } from "../wire/ethernet.ts";
import { Icmpv6Type } from "../wire/icmpv6.ts";
import type { Ipv6Repr } from "../wire/ipv6.ts";
import {
  emitNeighborAdvert,
  emitNeighborSolicit,
  emitRouterSolicit,
  parseNeighborAdvert,
  parseNeighborSolicit,
  parseRedirect,
  parseRouterAdvert,
  type RouterAdvertRepr,
} from "../wire/ndp.ts";
import { allocControl, finishControl } from "./ctl.ts";
import { AddrState, type Inet6Addr, type Inet6Dev, type Ipv6Devices } from "./inet6_dev.ts";

const INCOMPLETE = 0;
const REACHABLE = 1;
const STALE = 2;
const DELAY = 3;
const PROBE = 4;
const FAILED = 5;

/**
 * Names of the NUD states, as `ip -6 neigh` prints them.
 *
 * @example
 * ```ts
 * import { NEIGHBOUR6_STATES } from "./ndisc.ts";
 * NEIGHBOUR6_STATES[3]; // "DELAY"
 * ```
 */
export const NEIGHBOUR6_STATES = [
  "INCOMPLETE",
  "REACHABLE",
  "STALE",
  "DELAY",
  "PROBE",
  "FAILED",
] as const;

/** DELAY_FIRST_PROBE_TIME (RFC 4861 §10). */
const DELAY_FIRST_PROBE_MS = 5000;

/**
 * Options for {@link NeighbourDiscovery}.
 *
 * @example
 * ```ts
 * import type { NdiscOptions } from "./ndisc.ts";
 * const tuning: Partial<NdiscOptions> = { maxEntries: 256 };
 * ```
 */
export interface NdiscOptions {
  /** Time source for neighbour timers. */
  clock: Clock;
  /** Allocates solicitations and advertisements. */
  allocator: SkbAllocator;
  /** Randomness: DAD nonces, hash secret, solicitation delays. */
  rng: RandomSource;
  /** Neighbour discovery counters. */
  stats: NdiscStats;
  /** Drops by reason (malformed or refused NDP messages, queue overflows). */
  drops: DropCounters;
  /** The per-interface IPv6 state (addresses answered for, RetransTimer, ReachableTime). */
  devices: Ipv6Devices;
  /** Bound on cache entries (default 1024, like the ARP table). */
  maxEntries?: number;
  /** Multicast solicitations before giving up (default 3, MAX_MULTICAST_SOLICIT). */
  maxMulticastSolicit?: number;
  /** Unicast probes before giving up (default 3, MAX_UNICAST_SOLICIT). */
  maxUnicastSolicit?: number;
  /** Packets queued per unresolved entry (default 256; oldest dropped when full). */
  pendingPerEntry?: number;
  /** Slot bytes queued per unresolved entry (default 212,992). */
  pendingBytes?: number;
  /** Slot bytes queued across entries beyond each one's first packet (default 1 MiB). */
  pendingTotalBytes?: number;
  /** How long an unused STALE entry is kept (default 60 000). */
  staleMs?: number;
  /** Resolution failed: the packets that waited (the callee owns them). */
  onResolveFailed?: (iface: Iface, pending: SkBuff[]) => void;
}

/**
 * What address configuration needs to hear from neighbour discovery.
 *
 * @example
 * ```ts
 * import type { NdiscHooks } from "./ndisc.ts";
 * const quiet: NdiscHooks = {
 *   dadConflict: () => {}, routerAdvert: () => {}, routerGone: () => {}, redirect: () => false,
 * };
 * ```
 */
export interface NdiscHooks {
  /** A solicitation or advertisement shows `addr` (tentative) is used by another node. */
  dadConflict(dev: Inet6Dev, addr: Inet6Addr): void;
  /** A valid Router Advertisement from the link-local `u8[srcOff]`. */
  routerAdvert(dev: Inet6Dev, ra: RouterAdvertRepr, u8: Uint8Array, srcOff: number): void;
  /** The neighbour at `addr` says it is no longer a router (§7.2.5). */
  routerGone(dev: Inet6Dev, addr: Uint8Array): void;
  /**
   * A Redirect from `source`: `dest` is better reached through `target`
   * (§8.3). Returns false (refused) unless `source` is the current first hop
   * for `dest` (§8.1).
   */
  redirect(dev: Inet6Dev, source: Uint8Array, target: Uint8Array, dest: Uint8Array): boolean;
}

/**
 * A read-only picture of one cache entry.
 *
 * @example
 * ```ts
 * import type { Neighbour6Snapshot } from "./ndisc.ts";
 * const show = (e: Neighbour6Snapshot) => `${e.address} dev ${e.iface} ${e.state}`;
 * ```
 */
export interface Neighbour6Snapshot {
  /** The neighbour's IPv6 address (16 bytes). */
  readonly address: Uint8Array;
  /** Its link-layer address, undefined while unresolved. */
  readonly mac: MacAddress | undefined;
  /** Neighbour Unreachability Detection state (RFC 4861 §7.3.2). */
  readonly state: typeof NEIGHBOUR6_STATES[number];
  /** The neighbour said it is a router (R flag). */
  readonly router: boolean;
  /** Name of the interface it is on. */
  readonly iface: string;
  /** Solicitations sent in the current resolution or probe. */
  readonly probes: number;
  /** Packets queued waiting for the address to resolve. */
  readonly pending: number;
}

class Neighbour6 {
  state = INCOMPLETE;
  mac: MacAddress = MAC_ZERO;
  isRouter = false;
  probes = 0;
  lastProbe = -Infinity;
  confirmed = 0;
  timer: Timer | null = null;
  readonly pending = new SkbQueue();
  pendingTruesize = 0;
  onTimer: () => void = noop;
  hashNext: Neighbour6 | null = null;
  lruPrev: Neighbour6 | null = null;
  lruNext: Neighbour6 | null = null;
  readonly addr = new Uint8Array(16);

  constructor(readonly bucket: number, readonly iface: Iface) {}
}

function noop(): void {}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`NeighbourDiscovery: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/**
 * Neighbour discovery and the neighbour cache of one stack (every interface).
 *
 * @example
 * ```ts
 * // Created by the Stack: stack.ipv6.ndisc.entries() lists the cache.
 * ```
 */
export class NeighbourDiscovery {
  /** Bound on cache entries. */
  readonly maxEntries: number;
  /** Multicast solicitations before resolution fails (MAX_MULTICAST_SOLICIT). */
  readonly maxMulticastSolicit: number;
  /** Unicast probes before a PROBE entry fails (MAX_UNICAST_SOLICIT). */
  readonly maxUnicastSolicit: number;
  /** Packets queued per unresolved entry. */
  readonly pendingPerEntry: number;
  /** Slot bytes queued per unresolved entry. */
  readonly pendingBytes: number;
  /** Slot bytes queued across entries beyond each one's first packet. */
  readonly pendingTotalBytes: number;
  /** How long an unused STALE entry is kept, ms. */
  readonly staleMs: number;
  /** Set by address configuration. */
  hooks: NdiscHooks | null = null;
  readonly #clock: Clock;
  readonly #allocator: SkbAllocator;
  readonly #rng: RandomSource;
  readonly #stats: NdiscStats;
  readonly #drops: DropCounters;
  readonly #devs: Ipv6Devices;
  readonly #onResolveFailed: NdiscOptions["onResolveFailed"];
  readonly #hash: KeyedHash;
  readonly #buckets: (Neighbour6 | null)[];
  readonly #mask: number;
  #size = 0;
  #lruHead: Neighbour6 | null = null;
  #lruTail: Neighbour6 | null = null;
  #pendingTotal = 0;
  #closed = false;
  readonly #eth = new EthernetView(new Uint8Array(0));

  /** Throws `RangeError` for limits that are not positive integers. */
  constructor(o: NdiscOptions) {
    this.#clock = o.clock;
    this.#allocator = o.allocator;
    this.#rng = o.rng;
    this.#stats = o.stats;
    this.#drops = o.drops;
    this.#devs = o.devices;
    this.#onResolveFailed = o.onResolveFailed;
    this.maxEntries = positiveInt(o.maxEntries ?? 1024, "maxEntries");
    this.maxMulticastSolicit = positiveInt(o.maxMulticastSolicit ?? 3, "maxMulticastSolicit");
    this.maxUnicastSolicit = positiveInt(o.maxUnicastSolicit ?? 3, "maxUnicastSolicit");
    this.pendingPerEntry = positiveInt(o.pendingPerEntry ?? 256, "pendingPerEntry");
    this.pendingBytes = positiveInt(o.pendingBytes ?? 212_992, "pendingBytes");
    this.pendingTotalBytes = positiveInt(o.pendingTotalBytes ?? 1024 * 1024, "pendingTotalBytes");
    this.staleMs = positiveInt(o.staleMs ?? 60_000, "staleMs");
    this.#hash = new KeyedHash(o.rng);
    let n = 16;
    while (n < 2 * this.maxEntries && n < 1 << 20) n *= 2;
    this.#mask = n - 1;
    this.#buckets = new Array<Neighbour6 | null>(n).fill(null);
  }

  /** Entries in the cache. */
  get size(): number {
    return this.#size;
  }

  /**
   * Transmit `skb` (`data` at its IPv6 header) to the next hop at
   * `nextHop[off]` on `iface`, resolving its link-layer address first if
   * needed. Always consumes `skb`.
   */
  output(
    iface: Iface,
    nextHop: Uint8Array,
    off: number,
    skb: SkBuff,
  ): "sent" | "queued" | "dropped" {
    if (this.#closed) return this.#drop(skb, "ndisc.closed");
    if (skb.headroom < ETHERNET_HEADER_LENGTH) return this.#drop(skb, "ndisc.no_headroom");
    if (iface.noArp) return this.#xmit(iface, skb, iface.dev.mac);
    // RFC 2464 §7: multicast maps onto 33:33 + the low 32 bits.
    if (isMulticast6(nextHop, off)) return this.#xmit(iface, skb, ipv6MulticastMac(nextHop, off));
    const n = this.#lookup(iface, nextHop, off);
    if (n === null) {
      const created = this.#create(iface, nextHop, off);
      if (created === null) return this.#drop(skb, "ndisc.table_full");
      created.pending.push(skb);
      created.pendingTruesize = skb.capacity;
      this.#pendingTotal += skb.capacity;
      this.#startRound(created, INCOMPLETE);
      return "queued";
    }
    switch (n.state) {
      case REACHABLE:
      case DELAY:
      case PROBE:
        return this.#xmit(iface, skb, n.mac);
      case STALE: {
        // RFC 4861 §7.3.3: sending to a STALE entry starts DELAY.
        const r = this.#xmit(iface, skb, n.mac);
        n.state = DELAY;
        n.probes = 0;
        this.#arm(n, DELAY_FIRST_PROBE_MS);
        return r;
      }
      case INCOMPLETE:
        while (
          n.pending.length > 0 &&
          (n.pending.length >= this.pendingPerEntry ||
            n.pendingTruesize + skb.capacity > this.pendingBytes)
        ) {
          const old = n.pending.shift()!;
          n.pendingTruesize -= old.capacity;
          this.#pendingTotal -= old.capacity;
          old.free();
          this.#stats.pendingDropped++;
          this.#drops.count("ndisc.pending_overflow");
        }
        if (n.pending.length > 0 && this.#pendingTotal + skb.capacity > this.pendingTotalBytes) {
          this.#stats.pendingDropped++;
          return this.#drop(skb, "ndisc.pending_total");
        }
        n.pending.push(skb);
        n.pendingTruesize += skb.capacity;
        this.#pendingTotal += skb.capacity;
        return "queued";
      default:
        return this.#drop(skb, "ndisc.unresolved");
    }
  }

  /**
   * An upper layer saw forward progress with the neighbour at `u8[off]`
   * (RFC 4861 §7.3.1, e.g. new TCP ACKs): it is REACHABLE again.
   */
  confirm(iface: Iface, u8: Uint8Array, off: number): void {
    const n = this.#lookup(iface, u8, off);
    if (n !== null && n.state !== INCOMPLETE && n.state !== FAILED) this.#reachable(n);
  }

  /**
   * An ND message (`type` 133–137) at `u8[at, at+len)`, checksum verified, in
   * the packet `ip` received on `iface`. Returns null when it was used, else
   * the drop reason. Does not consume any buffer.
   */
  rcv(type: number, ip: Ipv6Repr, at: number, len: number, iface: Iface): string | null {
    if (this.#closed) return "ndisc.closed";
    const dev = this.#devs.get(iface);
    if (dev === undefined || dev.disabled) return "ndisc.disabled";
    // RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1: the IP Hop Limit is 255.
    if (ip.hopLimit !== 255) return "ndisc.bad_hop_limit";
    const u8 = this.#allocator.arena.u8;
    switch (type) {
      case Icmpv6Type.NEIGHBOR_SOLICIT:
        return this.#rcvNs(dev, ip, u8, at, len);
      case Icmpv6Type.NEIGHBOR_ADVERT:
        return this.#rcvNa(dev, ip, u8, at, len);
      case Icmpv6Type.ROUTER_ADVERT:
        return this.#rcvRa(dev, ip, u8, at, len);
      case Icmpv6Type.REDIRECT:
        return this.#rcvRedirect(dev, ip, u8, at, len);
      default:
        // RFC 4861 §6.2.6: hosts silently discard Router Solicitations.
        return "ndisc.rs_ignored";
    }
  }

  /** Send a DAD probe for the tentative `addr` (RFC 4862 §5.4.2). */
  sendDadProbe(dev: Inet6Dev, addr: Inet6Addr): void {
    this.#rng.fill(addr.dadNonce);
    const group = solicitedNode(addr.address);
    // RFC 4862 §5.4.2: source unspecified, no source link-layer address option.
    const skb = allocControl(
      this.#allocator,
      { src: IPV6_UNSPECIFIED, dst: group, hopLimit: 255 },
      32,
    );
    if (skb === null) return void this.#drops.count("ndisc.no_buffer");
    emitNeighborSolicit(addr.address, 0, null, addr.dadNonce, skb.arena.u8, skb.transportHeader);
    finishControl(skb, 32);
    this.#stats.nsSent++;
    this.output(dev.iface, group, 0, skb);
  }

  /** Send a Router Solicitation (RFC 4861 §6.3.7) from the link-local address, or from :: without SLLA. */
  sendRouterSolicit(dev: Inet6Dev): void {
    const ll = dev.linkLocal();
    const src = ll?.address ?? IPV6_UNSPECIFIED;
    const len = ll !== undefined ? 16 : 8;
    const skb = allocControl(this.#allocator, { src, dst: IPV6_ALL_ROUTERS, hopLimit: 255 }, len);
    if (skb === null) return void this.#drops.count("ndisc.no_buffer");
    emitRouterSolicit(
      ll !== undefined ? dev.iface.dev.mac : null,
      skb.arena.u8,
      skb.transportHeader,
    );
    finishControl(skb, len);
    this.#stats.rsSent++;
    this.output(dev.iface, IPV6_ALL_ROUTERS, 0, skb);
  }

  /** The usable MAC of `u8[off]` on `iface`, if known. */
  lookupMac(iface: Iface, u8: Uint8Array, off: number): MacAddress | undefined {
    const n = this.#lookup(iface, u8, off);
    return n !== null && usable(n) ? n.mac : undefined;
  }

  /** A snapshot of every entry, least recently confirmed first. */
  entries(): Neighbour6Snapshot[] {
    const out: Neighbour6Snapshot[] = [];
    for (let n = this.#lruHead; n !== null; n = n.lruNext) {
      out.push({
        address: n.addr.slice(),
        mac: usable(n) ? n.mac : undefined,
        state: NEIGHBOUR6_STATES[n.state]!,
        router: n.isRouter,
        iface: n.iface.name,
        probes: n.probes,
        pending: n.pending.length,
      });
    }
    return out;
  }

  /** Remove every entry (of `iface`, if given), freeing queued packets. */
  flush(iface?: Iface): void {
    for (let n = this.#lruHead; n !== null;) {
      const next = n.lruNext;
      if (iface === undefined || n.iface === iface) this.#remove(n, "ndisc.flushed");
      n = next;
    }
  }

  /** Cancel all timers and free all pending packets; later calls drop their input. */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  // ---------------------------------------------------------------------------
  // Receive

  /** RFC 4861 §7.2.3 and RFC 4862 §5.4.3. */
  #rcvNs(dev: Inet6Dev, ip: Ipv6Repr, u8: Uint8Array, at: number, len: number): string | null {
    this.#stats.nsReceived++;
    const r = parseNeighborSolicit(u8, at, len);
    if (typeof r === "string") return r;
    const fromDad = isUnspecified6(u8, ip.srcOffset);
    if (fromDad) {
      // RFC 4861 §7.1.1: from :: only to a solicited-node group, and without SLLA.
      if (!isSolicitedNodeOf(u8, ip.dstOffset, u8, r.targetOffset)) return "ndisc.bad_dad_ns";
      if (r.sourceLinkAddress !== null) return "ndisc.bad_dad_ns";
    }
    const target = dev.find(u8, r.targetOffset);
    if (target === undefined) return "ndisc.not_for_us"; // no proxy ND
    if (target.state === AddrState.TENTATIVE) {
      if (!fromDad) return "ndisc.ns_for_tentative"; // RFC 4862 §5.4.3: ignore
      // RFC 7527 §4.2: our own probe looped back carries our nonce.
      if (r.nonceLength >= 6 && ip6EqualN(u8, r.nonceOffset, target.dadNonce, 6)) {
        return "ndisc.dad_looped";
      }
      this.hooks?.dadConflict(dev, target);
      return null;
    }
    if (!target.usable) return "ndisc.not_for_us";
    if (!fromDad && r.sourceLinkAddress !== null) {
      if (isMacMulticast(r.sourceLinkAddress)) return "ndisc.bad_lladdr";
      // §7.2.3: create or update the sender's entry; a new or changed address is STALE.
      this.#learn(dev.iface, u8, ip.srcOffset, r.sourceLinkAddress, false);
    }
    // §7.2.4: answer with our link-layer address, solicited unless the query came from ::.
    const dst = fromDad ? IPV6_ALL_NODES : u8.slice(ip.srcOffset, ip.srcOffset + 16);
    this.#sendNa(dev, target.address, dst, !fromDad);
    return null;
  }

  /** RFC 4861 §7.2.5 and RFC 4862 §5.4.4. */
  #rcvNa(dev: Inet6Dev, ip: Ipv6Repr, u8: Uint8Array, at: number, len: number): string | null {
    this.#stats.naReceived++;
    const r = parseNeighborAdvert(u8, at, len);
    if (typeof r === "string") return r;
    // §7.1.2: "If the IP Destination Address is a multicast address the Solicited flag is zero."
    if (r.solicited && isMulticast6(u8, ip.dstOffset)) return "ndisc.bad_na";
    const ours = dev.find(u8, r.targetOffset);
    // A duplicate we gave up is the other node's address: its advertisements resolve it.
    if (ours !== undefined && ours.state !== AddrState.DUPLICATE) {
      if (ours.state === AddrState.TENTATIVE) {
        this.hooks?.dadConflict(dev, ours); // RFC 4862 §5.4.4
        return null;
      }
      return "ndisc.address_conflict"; // another node claims an address DAD gave us
    }
    const n = this.#lookup(dev.iface, u8, r.targetOffset);
    if (n === null) {
      this.#stats.unsolicitedIgnored++;
      return "ndisc.unsolicited_na";
    }
    const lla = r.targetLinkAddress;
    if (lla !== null && isMacMulticast(lla)) return "ndisc.bad_lladdr";
    if (n.state === INCOMPLETE || n.state === FAILED) {
      if (lla === null) return "ndisc.na_without_lladdr";
      n.mac = lla;
      n.isRouter = r.router;
      if (r.solicited) this.#reachable(n);
      else this.#stale(n);
      this.#flushPending(n);
      return null;
    }
    const same = lla === null || lla === n.mac;
    if (!r.override && !same) {
      // §7.2.5: a non-override advertisement with another address only weakens trust.
      if (n.state === REACHABLE) this.#stale(n);
      return null;
    }
    if (lla !== null) n.mac = lla;
    if (r.solicited) this.#reachable(n);
    else if (!same) this.#stale(n);
    if (n.isRouter && !r.router) this.hooks?.routerGone(dev, n.addr);
    n.isRouter = r.router;
    return null;
  }

  /** RFC 4861 §6.1.2 validation; the rest is address configuration's (§6.3.4). */
  #rcvRa(dev: Inet6Dev, ip: Ipv6Repr, u8: Uint8Array, at: number, len: number): string | null {
    this.#stats.raReceived++;
    if (!isLinkLocal6(u8, ip.srcOffset)) return "ndisc.bad_ra_source";
    const r = parseRouterAdvert(u8, at, len);
    if (typeof r === "string") return r;
    if (!dev.acceptRa) return "ndisc.ra_ignored";
    if (r.sourceLinkAddress !== null && !isMacMulticast(r.sourceLinkAddress)) {
      this.#learn(dev.iface, u8, ip.srcOffset, r.sourceLinkAddress, true);
    } else {
      const n = this.#lookup(dev.iface, u8, ip.srcOffset);
      if (n !== null) n.isRouter = true;
    }
    this.hooks?.routerAdvert(dev, r, u8, ip.srcOffset);
    return null;
  }

  /** RFC 4861 §8.1 validation, then §8.3. */
  #rcvRedirect(
    dev: Inet6Dev,
    ip: Ipv6Repr,
    u8: Uint8Array,
    at: number,
    len: number,
  ): string | null {
    this.#stats.redirectsReceived++;
    if (!isLinkLocal6(u8, ip.srcOffset)) return "ndisc.bad_redirect";
    const r = parseRedirect(u8, at, len);
    if (typeof r === "string") return r;
    const toDest = ip6Equal(u8, r.targetOffset, u8, r.destinationOffset);
    // §8.1: the target is link-local (a better router) or the destination itself (on-link).
    if (!toDest && !isLinkLocal6(u8, r.targetOffset)) return "ndisc.bad_redirect";
    const target = u8.slice(r.targetOffset, r.targetOffset + 16);
    const dest = u8.slice(r.destinationOffset, r.destinationOffset + 16);
    const source = u8.slice(ip.srcOffset, ip.srcOffset + 16);
    // §8.1: "the IP source address of the Redirect is the same as the current
    // first-hop router for the specified ICMP Destination Address" — checked by
    // the hook, which owns the routes, and which refuses anything else.
    if (this.hooks === null || !this.hooks.redirect(dev, source, target, dest)) {
      return "ndisc.bad_redirect";
    }
    // §8.3: the target's link-layer address, if given, goes into the cache.
    if (r.targetLinkAddress !== null && !isMacMulticast(r.targetLinkAddress)) {
      this.#learn(dev.iface, target, 0, r.targetLinkAddress, !toDest);
    }
    return null;
  }

  // ---------------------------------------------------------------------------
  // The cache

  #learn(iface: Iface, u8: Uint8Array, off: number, mac: MacAddress, router: boolean): void {
    let n = this.#lookup(iface, u8, off);
    if (n === null) {
      n = this.#create(iface, u8, off);
      if (n === null) return;
      n.mac = mac;
      if (router) n.isRouter = true;
      this.#stale(n);
      return;
    }
    if (router) n.isRouter = true;
    if (n.state === INCOMPLETE || n.state === FAILED) {
      n.mac = mac;
      this.#stale(n);
      this.#flushPending(n);
    } else if (n.mac !== mac) {
      n.mac = mac;
      this.#stale(n);
    }
  }

  #sendNa(dev: Inet6Dev, target: Uint8Array, dst: Uint8Array, solicited: boolean): void {
    const skb = allocControl(this.#allocator, { src: target, dst, hopLimit: 255 }, 32);
    if (skb === null) return void this.#drops.count("ndisc.no_buffer");
    // §7.2.4: Override set (we are not an anycast/proxy), Router clear (host).
    emitNeighborAdvert(
      { router: false, solicited, override: true },
      target,
      0,
      dev.iface.dev.mac,
      skb.arena.u8,
      skb.transportHeader,
    );
    finishControl(skb, 32);
    this.#stats.naSent++;
    this.output(dev.iface, dst, 0, skb);
  }

  #key(iface: Iface, u8: Uint8Array, off: number): number {
    return this.#hash.hash4(
      ip6Word(u8, off, 0) ^ iface.index,
      ip6Word(u8, off, 1),
      ip6Word(u8, off, 2),
      ip6Word(u8, off, 3),
    ) & this.#mask;
  }

  #lookup(iface: Iface, u8: Uint8Array, off: number): Neighbour6 | null {
    for (
      let n: Neighbour6 | null = this.#buckets[this.#key(iface, u8, off)]!;
      n !== null;
      n = n.hashNext
    ) {
      if (n.iface === iface && ip6Equal(n.addr, 0, u8, off)) return n;
    }
    return null;
  }

  #create(iface: Iface, u8: Uint8Array, off: number): Neighbour6 | null {
    if (this.#size >= this.maxEntries) {
      this.#stats.tableFull++;
      let victim: Neighbour6 | null = null;
      for (let v = this.#lruHead; v !== null; v = v.lruNext) {
        if (v.state !== INCOMPLETE && v.state !== PROBE) {
          victim = v;
          break;
        }
      }
      if (victim === null) return null;
      this.#remove(victim, "ndisc.evicted");
    }
    const b = this.#key(iface, u8, off);
    const n = new Neighbour6(b, iface);
    n.addr.set(u8.subarray(off, off + 16));
    n.onTimer = () => this.#onTimer(n);
    n.hashNext = this.#buckets[b]!;
    this.#buckets[b] = n;
    this.#lruAppend(n);
    this.#size++;
    return n;
  }

  #remove(n: Neighbour6, reason: string): void {
    if (n.timer !== null) this.#clock.clearTimer(n.timer);
    n.timer = null;
    this.#pendingTotal -= n.pendingTruesize;
    n.pendingTruesize = 0;
    for (let skb = n.pending.shift(); skb !== null; skb = n.pending.shift()) {
      this.#drops.count(reason);
      skb.free();
    }
    let p: Neighbour6 | null = this.#buckets[n.bucket]!;
    if (p === n) this.#buckets[n.bucket] = n.hashNext;
    else {
      while (p !== null && p.hashNext !== n) p = p.hashNext;
      if (p !== null) p.hashNext = n.hashNext;
    }
    this.#lruUnlink(n);
    this.#size--;
  }

  #lruAppend(n: Neighbour6): void {
    n.lruNext = null;
    n.lruPrev = this.#lruTail;
    if (this.#lruTail !== null) this.#lruTail.lruNext = n;
    else this.#lruHead = n;
    this.#lruTail = n;
  }

  #lruUnlink(n: Neighbour6): void {
    if (n.lruPrev !== null) n.lruPrev.lruNext = n.lruNext;
    else this.#lruHead = n.lruNext;
    if (n.lruNext !== null) n.lruNext.lruPrev = n.lruPrev;
    else this.#lruTail = n.lruPrev;
    n.lruPrev = n.lruNext = null;
  }

  #reachable(n: Neighbour6): void {
    const was = n.state === REACHABLE && n.timer !== null;
    n.state = REACHABLE;
    n.probes = 0;
    n.confirmed = this.#clock.now();
    this.#lruUnlink(n);
    this.#lruAppend(n);
    if (!was) this.#arm(n, this.#reachableMs(n.iface));
  }

  #stale(n: Neighbour6): void {
    n.state = STALE;
    n.probes = 0;
    this.#arm(n, this.staleMs);
  }

  #reachableMs(iface: Iface): number {
    return this.#devs.get(iface)?.reachableMs ?? 30_000;
  }

  #retransMs(iface: Iface): number {
    return this.#devs.get(iface)?.retransMs ?? 1000;
  }

  #flushPending(n: Neighbour6): void {
    this.#pendingTotal -= n.pendingTruesize;
    n.pendingTruesize = 0;
    for (let skb = n.pending.shift(); skb !== null; skb = n.pending.shift()) {
      this.#xmit(n.iface, skb, n.mac);
    }
  }

  #startRound(n: Neighbour6, state: number): void {
    n.state = state;
    n.probes = 0;
    const wait = n.lastProbe + this.#retransMs(n.iface) - this.#clock.now();
    if (wait > 0) this.#arm(n, wait);
    else this.#probe(n);
  }

  /** §7.2.2: a multicast solicitation (INCOMPLETE) or a unicast one (PROBE). */
  #probe(n: Neighbour6): void {
    n.probes++;
    n.lastProbe = this.#clock.now();
    this.#arm(n, this.#retransMs(n.iface));
    const dev = this.#devs.get(n.iface);
    if (dev === undefined) return;
    // §7.2.2: the source is the prompting packet's source if it is ours, else any of ours.
    let src: Uint8Array | undefined;
    const first = n.pending.head;
    if (first !== null) {
      const a = dev.find(this.#allocator.arena.u8, first.data + 8);
      if (a !== undefined && a.usable) src = a.address;
    }
    src ??= dev.linkLocal()?.address ?? dev.addrs.find((a) => a.usable)?.address;
    if (src === undefined) return; // nothing usable yet (all tentative): the round times out
    const unicast = n.state === PROBE;
    const dst = unicast ? n.addr : solicitedNode(n.addr);
    const skb = allocControl(this.#allocator, { src, dst, hopLimit: 255 }, 32);
    if (skb === null) return void this.#drops.count("ndisc.no_buffer");
    emitNeighborSolicit(n.addr, 0, n.iface.dev.mac, null, skb.arena.u8, skb.transportHeader);
    finishControl(skb, 32);
    this.#stats.nsSent++;
    if (unicast) this.#xmit(n.iface, skb, n.mac);
    else this.#xmit(n.iface, skb, ipv6MulticastMac(dst, 0));
  }

  #arm(n: Neighbour6, ms: number): void {
    if (n.timer !== null) this.#clock.clearTimer(n.timer);
    n.timer = this.#clock.setTimer(ms, n.onTimer);
  }

  #onTimer(n: Neighbour6): void {
    n.timer = null;
    switch (n.state) {
      case INCOMPLETE:
        if (n.probes < this.maxMulticastSolicit) this.#probe(n);
        else this.#fail(n);
        return;
      case DELAY:
        // §7.3.3: no upper-layer confirmation within DELAY_FIRST_PROBE_TIME → PROBE.
        n.state = PROBE;
        n.probes = 0;
        this.#probe(n);
        return;
      case PROBE:
        if (n.probes < this.maxUnicastSolicit) this.#probe(n);
        else this.#remove(n, "ndisc.probe_failed");
        return;
      case REACHABLE: {
        const left = n.confirmed + this.#reachableMs(n.iface) - this.#clock.now();
        if (left > 0) this.#arm(n, left);
        else this.#stale(n);
        return;
      }
      default:
        this.#remove(n, "ndisc.expired");
    }
  }

  #fail(n: Neighbour6): void {
    n.state = FAILED;
    n.mac = MAC_ZERO;
    this.#stats.resolveFailed++;
    this.#arm(n, this.#retransMs(n.iface));
    if (n.pending.length === 0) return;
    const pending: SkBuff[] = [];
    this.#pendingTotal -= n.pendingTruesize;
    n.pendingTruesize = 0;
    for (let skb = n.pending.shift(); skb !== null; skb = n.pending.shift()) pending.push(skb);
    this.#drops.count("ndisc.resolve_failed", pending.length);
    const cb = this.#onResolveFailed;
    if (cb !== undefined) cb(n.iface, pending);
    else for (const skb of pending) skb.free();
  }

  #xmit(iface: Iface, skb: SkBuff, dst: MacAddress): "sent" | "dropped" {
    if (skb.networkHeader < 0) skb.networkHeader = skb.data;
    const at = skb.push(ETHERNET_HEADER_LENGTH);
    const eth = this.#eth;
    eth.u8 = skb.arena.u8;
    eth.offset = at;
    eth.dst = dst;
    eth.src = iface.dev.mac;
    eth.ethertype = EtherType.IPV6;
    skb.macHeader = at;
    skb.protocol = EtherType.IPV6;
    skb.ifindex = iface.index;
    return iface.dev.transmit(skb) === Xmit.OK ? "sent" : "dropped";
  }

  #drop(skb: SkBuff, reason: string): "dropped" {
    this.#drops.count(reason);
    skb.free();
    return "dropped";
  }
}

function usable(n: Neighbour6): boolean {
  return n.state === REACHABLE || n.state === STALE || n.state === DELAY || n.state === PROBE;
}

function ip6EqualN(u8: Uint8Array, off: number, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (u8[off + i] !== b[i]) return false;
  return true;
}
