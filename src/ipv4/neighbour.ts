/**
 * The ARP neighbour table (Linux `net/core/neighbour.c` + `net/ipv4/arp.c`;
 * RFC 826, RFC 1122 §2.3.2): maps a next hop `(interface, IPv4 address)` to
 * the MAC address its frames go to, resolves unknown ones with ARP requests,
 * answers requests for our own address, and forgets what it has not heard
 * about for a while.
 *
 * States (Linux's NUD machine; one timer per entry, and each timer event
 * touches only its own entry, so the work per event is bounded):
 *
 * - **INCOMPLETE**: resolving. A broadcast request goes out at once, then one
 *   every `retransMs` (≥ 1 s: RFC 1122 §2.3.2.1, L2), `maxProbes` in all.
 *   Packets wait on a bounded per-entry queue (L3: the oldest is dropped when
 *   full, so the latest always survives). No answer → **FAILED**.
 * - **FAILED**: the pending packets went to `onResolveFailed`; the entry is
 *   kept for `retransMs` so a burst of sends cannot start an ARP storm — sends
 *   are dropped and counted meanwhile — then removed, and the next send
 *   resolves afresh.
 * - **REACHABLE**: confirmed, by an ARP packet from the neighbour or by an
 *   upper layer ({@link NeighbourTable.confirm}: TCP forward progress, Linux
 *   `dst_confirm`/`neigh_confirm`); trusted for `reachableMs` after the last
 *   confirmation. Then, if it was used within the last `delayProbeMs`,
 *   **DELAY**, otherwise **STALE** (L1; Linux `neigh_timer_handler`).
 * - **STALE**: still usable, but the next use moves it to DELAY; unused for
 *   `staleMs` it is removed (Linux `gc_staletime`), which frees it (L1).
 * - **DELAY**: in use but unconfirmed: packets still go to the cached MAC,
 *   and for `delayProbeMs` (Linux `delay_first_probe_time`, 5 s) an upper
 *   layer may confirm it (→ REACHABLE, no ARP at all); otherwise → PROBE.
 * - **PROBE**: packets still go to the cached MAC while unicast requests check
 *   it, one per `retransMs`, `maxProbes` in all; confirmed → REACHABLE,
 *   otherwise the entry is removed and the next send resolves afresh.
 *
 * Integrity against ARP cache poisoning. Unauthenticated ARP can
 * claim any address; what we believe:
 *
 * - An ARP packet whose sender MAC equals the cached one confirms the entry
 *   (it proves that MAC is live on the link). Linux marks only unicast
 *   replies REACHABLE; a spoofer gains nothing by re-confirming the MAC we
 *   already use, so we keep this cheaper rule.
 * - A different MAC within `locktimeMs` (1 s, Linux `locktime`) of the
 *   entry's last update is ignored: if several answers arrive back to back
 *   the first one wins (Linux `arp_process`: `override =
 *   time_after(jiffies, n->updated + LOCKTIME)`), counted `arp.locktime`.
 * - A different MAC later is **not adopted**. Linux's ARP would adopt it
 *   (`neigh_update(..., NEIGH_UPDATE_F_OVERRIDE)`: REACHABLE for a unicast
 *   reply, STALE otherwise), which is how one spoofed burst cuts a host off
 *   from its gateway. We follow instead what Linux's NDISC does for an
 *   advertisement without the Override flag (RFC 4861 §7.2.5;
 *   `NEIGH_UPDATE_F_WEAK_OVERRIDE` in `__neigh_update`: keep the old
 *   link-layer address, only stop trusting it): traffic keeps going to the
 *   cached MAC, the claim is remembered, and the entry goes to PROBE at once
 *   (not via STALE/DELAY, so a genuine change costs ~`maxProbes·retransMs`,
 *   not 8 s). Unicast probes ask the *cached* MAC: if it answers (or an
 *   upper layer confirms it) the claim was false and is dropped
 *   (`arp.change_rejected`); if it stays silent the entry is removed and the
 *   next send resolves by broadcast, so the new MAC is adopted only when it
 *   answers a request of ours. Counted `arp.unverified_change`
 *   (DEVIATIONS.md DEV-ARP-1).
 *
 * Security (tests/ipv4/neighbour_test.ts): the table is bounded (`maxEntries`), and
 * resolution is rate limited per destination. Entries are created only by our
 * own sends and by requests that target our address (RFC 826: we will likely
 * talk to the requester); unsolicited replies and gratuitous ARP never create
 * one — they only confirm entries we already have (RFC 826 merge, limited as
 * above).
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import type { ArpStats, DropCounters } from "../core/stats.ts";
import { Xmit } from "../link/device.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import {
  IPV4_BROADCAST,
  type Ipv4Address,
  ipv4MulticastMac,
  isMacMulticast,
  isMartianSource,
  isMulticast,
  MAC_BROADCAST,
  MAC_ZERO,
  type MacAddress,
  readMac,
} from "../wire/addr.ts";
import { ARP_LENGTH, ArpOp, type ArpRepr, emitArp, parseArp } from "../wire/arp.ts";
import { emitEthernet, ETHERNET_HEADER_LENGTH, EthernetView, EtherType } from "../wire/ethernet.ts";
import type { Iface } from "./iface.ts";

/** Ethernet minimum frame without FCS (RFC 894: 46 bytes of data at least). */
const ETH_ZLEN = 60;

// Internal states: small integers, compared on the hot path.
const INCOMPLETE = 0;
const REACHABLE = 1;
const STALE = 2;
const DELAY = 3;
const PROBE = 4;
const FAILED = 5;

/**
 * Names of the neighbour states, as `ip neigh` prints them.
 *
 * @example
 * ```ts
 * import { NEIGHBOUR_STATES } from "./neighbour.ts";
 * NEIGHBOUR_STATES.includes("STALE"); // true
 * ```
 */
export const NEIGHBOUR_STATES = [
  "INCOMPLETE",
  "REACHABLE",
  "STALE",
  "DELAY",
  "PROBE",
  "FAILED",
] as const;
/**
 * One neighbour state name (see the module comment for the machine).
 *
 * @example
 * ```ts
 * import type { NeighbourState } from "./neighbour.ts";
 * const s: NeighbourState = "REACHABLE";
 * ```
 */
export type NeighbourState = typeof NEIGHBOUR_STATES[number];

/**
 * What {@link NeighbourTable.output} did with the packet (it is consumed either way).
 *
 * @example
 * ```ts
 * import type { NeighbourOutput } from "./neighbour.ts";
 * const r: NeighbourOutput = "queued"; // waiting for ARP resolution
 * ```
 */
export type NeighbourOutput = "sent" | "queued" | "dropped";

/**
 * Options for {@link NeighbourTable}.
 *
 * @example
 * ```ts
 * import type { NeighbourOptions } from "./neighbour.ts";
 * const tuning: Partial<NeighbourOptions> = { maxEntries: 256, reachableMs: 30_000 };
 * ```
 */
export interface NeighbourOptions {
  /** Time source for timers. */
  clock: Clock;
  /** Allocator for ARP frames. */
  allocator: SkbAllocator;
  /** ARP counters. */
  stats: ArpStats;
  /** Drops by reason (`"arp.unsolicited_reply"`, `"arp.bad_sender"`, parser reasons, …). */
  drops: DropCounters;
  /**
   * Bound on entries (default 1024). When full, a new entry evicts the oldest
   * entry that is not resolving (REACHABLE, STALE or FAILED); if every entry
   * is resolving, the new one is refused. Both count `stats.tableFull`.
   */
  maxEntries?: number;
  /** How long an entry stays REACHABLE after its last confirmation (default 30 000; Linux `base_reachable_time`). */
  reachableMs?: number;
  /**
   * How long an entry in use but no longer confirmed waits in DELAY for an
   * upper-layer confirmation before probing (default 5000; Linux
   * `delay_first_probe_time`).
   */
  delayProbeMs?: number;
  /**
   * A different MAC for a neighbour within this long of its last update is
   * ignored: the first answer wins (default 1000; Linux `locktime`).
   */
  locktimeMs?: number;
  /** Interval between requests to one destination, at least 1000 (default 1000; RFC 1122 §2.3.2.1, L2). */
  retransMs?: number;
  /** Requests before giving up (default 3; Linux `mcast_probes`/`ucast_probes`). */
  maxProbes?: number;
  /** Packets queued per unresolved entry (default 256; the oldest is dropped when full, L3). */
  pendingPerEntry?: number;
  /**
   * Buffer memory (slot sizes) queued per unresolved entry (default 212,992,
   * Linux `unres_qlen_bytes`): enough for every fragment of a 64 KiB datagram,
   * so the first datagram to a new neighbour is not cut short (L3).
   */
  pendingBytes?: number;
  /**
   * Buffer memory queued across all unresolved entries beyond each entry's
   * first packet (default 1 MiB): a flood towards many unresolvable
   * addresses (e.g. SYN-ACKs to spoofed on-link sources) stays bounded by
   * maxEntries packets plus this (bounded against ARP floods).
   */
  pendingTotalBytes?: number;
  /** How long an unused STALE entry is kept (default 60 000; Linux `gc_staletime`). */
  staleMs?: number;
  /**
   * Called when resolution fails, with the packets that were waiting (so the
   * stack can send ICMP host unreachable or fail a send with EHOSTUNREACH).
   * The callee owns the buffers; without a callback they are freed.
   */
  onResolveFailed?: (iface: Iface, ip: Ipv4Address, pending: SkBuff[]) => void;
}

/**
 * A read-only picture of one entry, for tests and `ip neigh`-like output.
 *
 * @example
 * ```ts
 * import type { NeighbourEntrySnapshot } from "./neighbour.ts";
 * const show = (e: NeighbourEntrySnapshot) => `${e.ip} dev ${e.iface} ${e.state}`;
 * ```
 */
export interface NeighbourEntrySnapshot {
  /** The neighbour's IPv4 address. */
  readonly ip: Ipv4Address;
  /** Its MAC address, or `undefined` while none is known (INCOMPLETE, FAILED). */
  readonly mac: MacAddress | undefined;
  /**
   * A different MAC some ARP packet claimed for this address, not trusted:
   * the cached one is being verified (PROBE). `undefined` when none.
   */
  readonly claimedMac: MacAddress | undefined;
  /** Current state. */
  readonly state: NeighbourState;
  /** Interface name. */
  readonly iface: string;
  /** Interface index. */
  readonly ifindex: number;
  /** Clock time at which the current state ends (next probe, expiry or removal). */
  readonly expires: number;
  /** Requests sent in the current INCOMPLETE or PROBE round. */
  readonly probes: number;
  /** Packets waiting for resolution. */
  readonly pending: number;
}

/** One neighbour (Linux `struct neighbour`). */
class Neighbour {
  state = INCOMPLETE;
  mac: MacAddress = MAC_ZERO;
  /** Requests sent in the current round. */
  probes = 0;
  /** When the last request for this address left (L2 spacing). */
  lastProbe = -Infinity;
  /** Last confirmation (clock ms). */
  confirmed = 0;
  /** Last time the MAC was learned or confirmed by ARP (Linux `updated`; locktime runs from it). */
  updated = -Infinity;
  /** Last transmission through this entry while REACHABLE (Linux `used`). */
  used = -Infinity;
  /** A different MAC claimed by ARP and not trusted (MAC_ZERO: none). */
  claimed: MacAddress = MAC_ZERO;
  /** When the armed timer fires. */
  deadline = 0;
  timer: Timer | null = null;
  readonly pending: SkbQueue = new SkbQueue();
  /** Slot bytes held by `pending` (truesize, not payload: tiny packets count fully). */
  pendingTruesize = 0;
  /** Bound once per entry, so arming a timer allocates no closure. */
  onTimer: () => void = noop;

  constructor(readonly key: number, readonly iface: Iface, readonly ip: Ipv4Address) {}
}

function noop(): void {}

/** Table key: (interface index, address) as one safe integer — no strings on the hot path. */
function keyOf(ifindex: number, ip: Ipv4Address): number {
  return ifindex * 4294967296 + ip;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`NeighbourTable: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}

function nonNegative(v: number, name: string): number {
  if (!(v >= 0) || !Number.isFinite(v)) {
    throw new RangeError(`NeighbourTable: ${name} must be a non-negative finite number, got ${v}`);
  }
  return v;
}

function positive(v: number, name: string): number {
  if (!(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(`NeighbourTable: ${name} must be a positive finite number, got ${v}`);
  }
  return v;
}

/**
 * The ARP neighbour table of one stack (all interfaces).
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { ArpStats, DropCounters } from "../core/stats.ts";
 * import { createPipe } from "../link/pipe.ts";
 * import { ipv4 } from "../wire/addr.ts";
 * import { Iface } from "./iface.ts";
 * import { NeighbourTable } from "./neighbour.ts";
 *
 * const clock = new VirtualClock();
 * const allocator = new SkbAllocator(new Arena());
 * const [dev] = createPipe({ allocator, clock });
 * dev.up();
 * const iface = new Iface({ index: 1, dev, address: ipv4(192, 0, 2, 1), prefixLength: 24 });
 * const neigh = new NeighbourTable({
 *   clock, allocator, stats: new ArpStats(), drops: new DropCounters(),
 * });
 * const skb = allocator.alloc(20)!;
 * skb.put(20); // an IPv4 datagram would be written here
 * neigh.output(iface, ipv4(192, 0, 2, 2), skb); // "queued": a broadcast ARP request went out
 * neigh.entries()[0]?.state; // "INCOMPLETE"
 * neigh.close();
 * ```
 */
export class NeighbourTable {
  /** Most entries (more are refused or evict old ones). */
  readonly maxEntries: number;
  /** How long an entry stays REACHABLE. */
  readonly reachableMs: number;
  /** How long a used STALE entry waits in DELAY for a confirmation before probing. */
  readonly delayProbeMs: number;
  /** A different MAC within this long of the last ARP update is ignored (Linux locktime). */
  readonly locktimeMs: number;
  /** Time between ARP probes. */
  readonly retransMs: number;
  /** Probes before resolution fails. */
  readonly maxProbes: number;
  /** Packets one unresolved entry may hold. */
  readonly pendingPerEntry: number;
  /** Bytes one unresolved entry may hold. */
  readonly pendingBytes: number;
  /** Bytes all unresolved entries may hold together. */
  readonly pendingTotalBytes: number;
  /** Slot bytes queued across all entries. */
  #pendingTotal = 0;
  /** How long a STALE entry is kept before garbage collection. */
  readonly staleMs: number;
  readonly #clock: Clock;
  readonly #allocator: SkbAllocator;
  readonly #stats: ArpStats;
  readonly #drops: DropCounters;
  readonly #onResolveFailed: NeighbourOptions["onResolveFailed"];
  /** Entries by {@link keyOf}; insertion order is confirmation order (oldest first). */
  readonly #table = new Map<number, Neighbour>();
  /** Reused to write Ethernet headers on the output path (no per-packet objects). */
  readonly #eth = new EthernetView(new Uint8Array(0));
  /** Addresses being checked for conflicts ({@link watchAddress}). */
  readonly #watchers: {
    iface: Iface;
    ip: Ipv4Address;
    onConflict: (mac: MacAddress) => void;
  }[] = [];
  #closed = false;

  /** An empty table. */
  constructor(options: NeighbourOptions) {
    this.#clock = options.clock;
    this.#allocator = options.allocator;
    this.#stats = options.stats;
    this.#drops = options.drops;
    this.#onResolveFailed = options.onResolveFailed;
    this.maxEntries = positiveInt(options.maxEntries ?? 1024, "maxEntries");
    this.reachableMs = positive(options.reachableMs ?? 30_000, "reachableMs");
    this.delayProbeMs = positive(options.delayProbeMs ?? 5000, "delayProbeMs");
    this.locktimeMs = nonNegative(options.locktimeMs ?? 1000, "locktimeMs");
    this.retransMs = positive(options.retransMs ?? 1000, "retransMs");
    // RFC 1122 §2.3.2.1 (L2): at most one request per second per destination.
    if (this.retransMs < 1000) {
      throw new RangeError(
        `NeighbourTable: retransMs ${this.retransMs} is below 1000: RFC 1122 §2.3.2.1 allows at most one ARP request per second per destination`,
      );
    }
    this.maxProbes = positiveInt(options.maxProbes ?? 3, "maxProbes");
    // L3 needs room for at least the latest packet.
    this.pendingPerEntry = positiveInt(options.pendingPerEntry ?? 256, "pendingPerEntry");
    this.pendingBytes = positiveInt(options.pendingBytes ?? 212_992, "pendingBytes");
    this.pendingTotalBytes = positiveInt(options.pendingTotalBytes ?? 1 << 20, "pendingTotalBytes");
    this.staleMs = positive(options.staleMs ?? 60_000, "staleMs");
  }

  /** Number of entries. */
  get size(): number {
    return this.#table.size;
  }

  /**
   * Send an IP datagram (`skb.data` at the IPv4 header) to next hop `nextHop`
   * on `iface`: push and fill the Ethernet header and transmit when the MAC is
   * known, queue and resolve otherwise. Always consumes `skb`.
   */
  output(iface: Iface, nextHop: Ipv4Address, skb: SkBuff): NeighbourOutput {
    if (this.#closed) return this.#drop(skb, "arp.closed");
    if (skb.headroom < ETHERNET_HEADER_LENGTH) return this.#drop(skb, "arp.no_headroom");
    const ip = nextHop >>> 0;
    // Links without ARP (loopback): the frame goes to the device's own MAC (Linux NUD_NOARP).
    if (iface.noArp) return this.#xmit(iface, skb, iface.dev.mac);
    // RFC 1122 §3.3.6: broadcasts map to the link broadcast, no resolution.
    if (ip === IPV4_BROADCAST || ip === iface.broadcast) {
      return this.#xmit(iface, skb, MAC_BROADCAST);
    }
    // RFC 1112 §6.4: multicast groups map onto 01:00:5e + low 23 bits.
    if (isMulticast(ip)) return this.#xmit(iface, skb, ipv4MulticastMac(ip));

    const key = keyOf(iface.index, ip);
    const n = this.#table.get(key);
    if (n === undefined) {
      const created = this.#create(key, iface, ip);
      if (created === null) return this.#drop(skb, "arp.table_full");
      created.pending.push(skb);
      created.pendingTruesize = skb.capacity;
      this.#pendingTotal += skb.capacity;
      this.#startRound(created, INCOMPLETE);
      return "queued";
    }
    switch (n.state) {
      case REACHABLE:
        n.used = this.#clock.now();
        return this.#xmit(iface, skb, n.mac);
      case DELAY:
      case PROBE:
        return this.#xmit(iface, skb, n.mac);
      case STALE: {
        // Still usable; this use starts the wait for a confirmation (Linux
        // __neigh_event_send: STALE → DELAY, probing after delay_first_probe_time).
        const r = this.#xmit(iface, skb, n.mac);
        n.state = DELAY;
        this.#arm(n, this.delayProbeMs);
        return r;
      }
      case INCOMPLETE:
        // RFC 1122 §2.3.2.2 (L3): keep the latest packets; drop the oldest when full.
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
          this.#drops.count("arp.pending_overflow");
        }
        // Table-wide budget (beyond each entry's first packet, which L3 keeps).
        if (n.pending.length > 0 && this.#pendingTotal + skb.capacity > this.pendingTotalBytes) {
          this.#stats.pendingDropped++;
          return this.#drop(skb, "arp.pending_total");
        }
        n.pending.push(skb);
        n.pendingTruesize += skb.capacity;
        this.#pendingTotal += skb.capacity;
        return "queued";
      default:
        // FAILED hold: resolving again now would make a burst of sends an ARP storm (L2).
        return this.#drop(skb, "arp.unresolved");
    }
  }

  /**
   * ARP input: `skb.data` at the ARP payload, the Ethernet header at
   * `skb.macHeader` (or -1 if unknown). Always consumes `skb`.
   */
  rcvArp(skb: SkBuff, iface: Iface): void {
    const why = this.#rcv(skb, iface);
    if (why === null) skb.free();
    else this.#drop(skb, why);
  }

  /** The body of {@link rcvArp}: `null` when the packet was used, else why it was dropped. */
  #rcv(skb: SkBuff, iface: Iface): string | null {
    if (this.#closed) return "arp.closed";
    // Linux drops ARP on IFF_NOARP devices: nobody resolves over them.
    if (iface.noArp) return "arp.disabled";
    const u8 = skb.arena.u8;
    const r = parseArp(u8, skb.data, skb.len);
    if (typeof r === "string") return r;
    const ourMac = iface.dev.mac;
    const ethSrc = skb.macHeader >= 0 ? readMac(u8, skb.macHeader + 6) : r.senderMac;
    // Our own frames reflected back (a hub, a bridge loop): never learn from them.
    if (r.senderMac === ourMac || ethSrc === ourMac) return "arp.own_mac";
    if (this.#watchers.length > 0) this.#checkWatchers(iface, r);
    const isRequest = r.op === ArpOp.REQUEST;
    if (isRequest) this.#stats.requestsReceived++;
    else this.#stats.repliesReceived++;

    const sip = r.senderIp >>> 0;
    const tip = r.targetIp >>> 0;
    const ours = iface.address;
    // A neighbour's MAC must be a unicast station address, or traffic would be misdirected.
    if (r.senderMac === MAC_ZERO || isMacMulticast(r.senderMac)) return "arp.bad_sender";
    if (sip === 0) {
      // RFC 5227 §2.1.1 probe (sender 0.0.0.0): nothing to learn, but a probe for
      // our address gets a reply so the prober sees the address is in use.
      if (!isRequest || tip !== ours || ours === 0) return "arp.not_for_us";
      this.#sendArp(iface, ArpOp.REPLY, r.senderMac, r.senderMac, 0, ours);
      return null;
    }
    // RFC 1122 §3.2.1.3: broadcast, multicast, loopback and 0/8 are never a host's
    // address, so they must not become (or poison) a table entry.
    if (isMartianSource(sip) || sip === iface.broadcast) return "arp.bad_sender";
    // Someone else claims our address (RFC 5227 §2.4 conflict): don't learn it.
    if (sip === ours) return "arp.address_conflict";

    const key = keyOf(iface.index, sip);
    const known = this.#table.get(key);
    const forUs = isRequest && tip === ours && ours !== 0;
    if (known !== undefined) {
      // RFC 826: "If the pair <protocol type, sender protocol address> is already in
      // my translation table, update the sender hardware address field" (merge),
      // within the limits of #merge. This covers replies completing INCOMPLETE/PROBE
      // entries and gratuitous ARP.
      this.#merge(known, r.senderMac);
    } else if (forUs) {
      // RFC 826: "If Merge_flag is false, add the triplet" — only when we are the target.
      const n = this.#create(key, iface, sip);
      if (n !== null) this.#confirm(n, r.senderMac);
    }
    if (forUs) {
      // RFC 826: swap the fields, put in our addresses, op = reply, send to the requester.
      this.#sendArp(iface, ArpOp.REPLY, r.senderMac, r.senderMac, sip, ours);
      return null;
    }
    if (known !== undefined) return null; // merged: used, not a drop
    if (isRequest) return "arp.not_for_us"; // no proxy ARP
    // ARP spoofing: a reply nobody asked for must not create an entry (neighbour_test.ts).
    this.#stats.unsolicitedIgnored++;
    return "arp.unsolicited_reply";
  }

  /**
   * Gratuitous ARP announcing `iface.address` (on interface up): a broadcast
   * request with sender = target = our address (RFC 5227 §3 announcement), so
   * neighbours holding an old MAC for us update it.
   */
  announce(iface: Iface): void {
    if (this.#closed || iface.noArp) return;
    this.#sendArp(iface, ArpOp.REQUEST, MAC_BROADCAST, MAC_ZERO, iface.address, iface.address);
  }

  /**
   * Reachability confirmed by an upper layer (Linux `dst_confirm` →
   * `neigh_confirm`; RFC 1122 §2.3.2.1 "advice from higher layers"): TCP
   * calls it when an ACK shows forward progress through next hop `ip` on
   * `iface`. The entry becomes REACHABLE for `reachableMs` with the MAC it
   * already has — a DELAY entry needs no probe, a PROBE stops probing, and a
   * MAC claimed by ARP meanwhile is dropped (the cached one evidently works).
   * Cheap enough to call per ACK: a REACHABLE entry only has its time stamp
   * moved. Returns false when there is no entry with a MAC to confirm.
   *
   * @example
   * ```ts
   * // In TCP, on an ACK that advances SND.UNA:
   * // stack.neighbours.confirm(route.iface, route.nextHop);
   * ```
   */
  confirm(iface: Iface, ip: Ipv4Address): boolean {
    if (this.#closed) return false;
    const n = this.#table.get(keyOf(iface.index, ip >>> 0));
    if (n === undefined || !usable(n)) return false;
    n.confirmed = this.#clock.now();
    this.#stats.upperConfirmations++;
    // A REACHABLE entry's timer re-reads `confirmed` when it fires.
    if (n.state === REACHABLE && n.timer !== null) return true;
    if (n.claimed !== MAC_ZERO) {
      // The cached MAC carries traffic that makes progress: the claim was false.
      this.#stats.changesRejected++;
      this.#drops.count("arp.change_rejected");
    }
    this.#confirm(n, n.mac, false);
    return true;
  }

  /**
   * RFC 5227 §2.1.1 probe: a broadcast ARP request for `ip` with sender IP
   * 0.0.0.0, so nobody's table learns anything from it while we find out
   * whether someone already uses `ip` (DHCP's check before using a lease,
   * RFC 2131 §4.4.1).
   */
  probe(iface: Iface, ip: Ipv4Address): void {
    if (this.#closed || iface.noArp) return;
    this.#sendArp(iface, ArpOp.REQUEST, MAC_BROADCAST, MAC_ZERO, ip >>> 0, 0);
  }

  /**
   * Call `onConflict(mac)` when another host shows it uses `ip` on `iface`
   * (RFC 5227 §2.1.1: an ARP packet whose sender is `ip`, or another host's
   * probe for `ip`). Returns the function that stops watching.
   */
  watchAddress(iface: Iface, ip: Ipv4Address, onConflict: (mac: MacAddress) => void): () => void {
    const w = { iface, ip: ip >>> 0, onConflict };
    this.#watchers.push(w);
    return () => {
      const i = this.#watchers.indexOf(w);
      if (i >= 0) this.#watchers.splice(i, 1);
    };
  }

  #checkWatchers(iface: Iface, r: ArpRepr): void {
    for (const w of [...this.#watchers]) {
      if (w.iface !== iface) continue;
      const probing = r.senderIp === 0 && r.op === ArpOp.REQUEST && r.targetIp >>> 0 === w.ip;
      if (r.senderIp >>> 0 === w.ip || probing) w.onConflict(r.senderMac);
    }
  }

  /** The usable MAC of `ip` (REACHABLE, STALE, DELAY or PROBE), on `iface` or any interface. */
  lookup(ip: Ipv4Address, iface?: Iface): MacAddress | undefined {
    const a = ip >>> 0;
    if (iface !== undefined) {
      const n = this.#table.get(keyOf(iface.index, a));
      return n !== undefined && usable(n) ? n.mac : undefined;
    }
    for (const n of this.#table.values()) if (n.ip === a && usable(n)) return n.mac;
    return undefined;
  }

  /** A snapshot of every entry, oldest confirmation first. */
  entries(): readonly NeighbourEntrySnapshot[] {
    const out: NeighbourEntrySnapshot[] = [];
    for (const n of this.#table.values()) {
      out.push({
        ip: n.ip,
        mac: n.state === INCOMPLETE || n.state === FAILED ? undefined : n.mac,
        claimedMac: n.claimed === MAC_ZERO ? undefined : n.claimed,
        state: NEIGHBOUR_STATES[n.state]!,
        iface: n.iface.name,
        ifindex: n.iface.index,
        expires: n.state === REACHABLE ? n.confirmed + this.reachableMs : n.deadline,
        probes: n.probes,
        pending: n.pending.length,
      });
    }
    return out;
  }

  /** Remove every entry (of `iface`, if given), freeing queued packets (counted `arp.flushed`). */
  flush(iface?: Iface): void {
    // Deleting the current key while iterating a Map is safe in JavaScript.
    for (const n of this.#table.values()) {
      if (iface === undefined || n.iface === iface) this.#remove(n, "arp.flushed");
    }
  }

  /** Cancel all timers and free all pending packets; later calls drop their input. */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  // -------------------------------------------------------------------------

  /** A new entry, evicting to stay within `maxEntries` (ARP floods); `null` if refused. */
  #create(key: number, iface: Iface, ip: Ipv4Address): Neighbour | null {
    if (this.#table.size >= this.maxEntries) {
      this.#stats.tableFull++;
      const victim = this.#oldestEvictable();
      if (victim === undefined) return null;
      this.#remove(victim, "arp.evicted");
    }
    const n = new Neighbour(key, iface, ip);
    n.onTimer = () => this.#onTimer(n);
    this.#table.set(key, n);
    return n;
  }

  /**
   * The first entry in confirmation order that is not resolving. INCOMPLETE and
   * PROBE entries are kept: evicting them would lose queued packets and the
   * time of the last request, letting a re-created entry ask again within 1 s.
   */
  #oldestEvictable(): Neighbour | undefined {
    for (const n of this.#table.values()) {
      if (n.state !== INCOMPLETE && n.state !== PROBE) return n;
    }
    return undefined;
  }

  #remove(n: Neighbour, reason: string): void {
    if (n.timer !== null) this.#clock.clearTimer(n.timer);
    n.timer = null;
    this.#pendingTotal -= n.pendingTruesize;
    n.pendingTruesize = 0;
    for (let skb = n.pending.shift(); skb !== null; skb = n.pending.shift()) {
      this.#drop(skb, reason);
    }
    this.#table.delete(n.key);
  }

  /**
   * An ARP packet from a known neighbour says it is at `mac`. What we believe
   * is in the module comment (Integrity); in short: no MAC yet → take it;
   * the same MAC → confirmed; a different one → ignored within locktime,
   * otherwise remembered and the cached MAC verified by unicast probes.
   */
  #merge(n: Neighbour, mac: MacAddress): void {
    if (!usable(n)) {
      // INCOMPLETE or FAILED: nothing to protect, the first answer wins.
      this.#confirm(n, mac);
      return;
    }
    if (mac === n.mac) {
      if (n.claimed !== MAC_ZERO) {
        // The cached MAC answered: the claimed change was false (or a conflict).
        this.#stats.changesRejected++;
        this.#drops.count("arp.change_rejected");
      }
      this.#confirm(n, mac);
      return;
    }
    const now = this.#clock.now();
    // Linux arp_process: override only after locktime — several different
    // answers back to back: the FIRST one wins (no ARP thrashing).
    if (now - n.updated < this.locktimeMs) {
      this.#stats.lockIgnored++;
      this.#drops.count("arp.locktime");
      return;
    }
    // RFC 4861 §7.2.5 (an advertisement without Override; Linux
    // NEIGH_UPDATE_F_WEAK_OVERRIDE): keep the cached address, stop trusting
    // it. Traffic keeps flowing to it while unicast probes ask it directly.
    this.#stats.changesUnverified++;
    this.#drops.count("arp.unverified_change");
    n.claimed = mac;
    if (n.state !== PROBE) this.#startRound(n, PROBE);
  }

  /**
   * The neighbour is at `mac` (it answered, or, `byArp` false, an upper layer
   * confirmed it): REACHABLE, and its queued packets go out in order. Only ARP
   * moves the locktime window (Linux: `neigh_update` sets `updated`,
   * `neigh_confirm` does not).
   */
  #confirm(n: Neighbour, mac: MacAddress, byArp = true): void {
    const wasReachable = n.state === REACHABLE && n.timer !== null;
    const now = this.#clock.now();
    n.mac = mac;
    n.claimed = MAC_ZERO;
    n.state = REACHABLE;
    n.probes = 0;
    n.confirmed = now;
    if (byArp) n.updated = now;
    // Move to the end of the Map: eviction takes the least recently confirmed.
    this.#table.delete(n.key);
    this.#table.set(n.key, n);
    // A REACHABLE entry's timer re-checks `confirmed` when it fires, so a flood of
    // confirmations costs no timer churn (Linux neigh_timer_handler does the same).
    if (!wasReachable) this.#arm(n, this.reachableMs);
    // RFC 1122 §2.3.2.2: transmit what waited for resolution, oldest first.
    this.#pendingTotal -= n.pendingTruesize;
    n.pendingTruesize = 0;
    for (let skb = n.pending.shift(); skb !== null; skb = n.pending.shift()) {
      this.#xmit(n.iface, skb, mac);
    }
  }

  /** Start an INCOMPLETE or PROBE round: request now, or as soon as L2 spacing allows. */
  #startRound(n: Neighbour, state: typeof INCOMPLETE | typeof PROBE): void {
    n.state = state;
    n.probes = 0;
    const wait = n.lastProbe + this.retransMs - this.#clock.now();
    if (wait > 0) this.#arm(n, wait); // RFC 1122 §2.3.2.1 (L2): ≤ 1 request/s per destination
    else this.#probe(n);
  }

  /** Send the next request of a round and arm the retransmission timer. */
  #probe(n: Neighbour): void {
    n.probes++;
    n.lastProbe = this.#clock.now();
    const iface = n.iface;
    // INCOMPLETE asks everyone; PROBE checks the cached MAC with a unicast request
    // (RFC 1122 §2.3.2.1 "unicast poll"), as Linux does with ucast_probes.
    const dst = n.state === PROBE ? n.mac : MAC_BROADCAST;
    this.#sendArp(iface, ArpOp.REQUEST, dst, MAC_ZERO, n.ip, iface.address);
    this.#arm(n, this.retransMs);
  }

  #arm(n: Neighbour, ms: number): void {
    if (n.timer !== null) this.#clock.clearTimer(n.timer);
    n.deadline = this.#clock.now() + ms;
    n.timer = this.#clock.setTimer(ms, n.onTimer);
  }

  /** One entry's timer: O(1) work plus at most `pendingPerEntry` packets. */
  #onTimer(n: Neighbour): void {
    n.timer = null;
    switch (n.state) {
      case INCOMPLETE:
        if (n.probes < this.maxProbes) this.#probe(n);
        else this.#fail(n);
        return;
      case PROBE:
        if (n.probes < this.maxProbes) {
          this.#probe(n);
        } else {
          // The cached MAC stopped answering. If another was claimed meanwhile
          // it may be genuine (a replaced NIC): it gets adopted when it answers
          // the broadcast request of the next send — never on its own word.
          if (n.claimed !== MAC_ZERO) this.#stats.changesAccepted++;
          this.#remove(n, "arp.probe_failed");
        }
        return;
      case DELAY:
        // No upper-layer confirmation within delayProbeMs (confirm() would
        // have made it REACHABLE): ask the neighbour directly.
        this.#startRound(n, PROBE);
        return;
      case REACHABLE: {
        const now = this.#clock.now();
        const left = n.confirmed + this.reachableMs - now;
        if (left > 0) {
          this.#arm(n, left); // confirmed since the timer was armed
        } else if (now - n.used < this.delayProbeMs) {
          // Linux neigh_timer_handler: in use but unconfirmed → DELAY, so
          // lack of forward progress leads to re-probing without waiting
          // for the next send.
          n.state = DELAY;
          this.#arm(n, this.delayProbeMs);
        } else {
          // RFC 1122 §2.3.2.1 (L1): out-of-date entries stop being trusted…
          n.state = STALE;
          this.#arm(n, this.staleMs);
        }
        return;
      }
      default:
        // …and are flushed (STALE unused for staleMs); a FAILED hold ends.
        this.#remove(n, "arp.expired");
    }
  }

  /** Give up: hand the waiting packets to the stack and hold FAILED for one retransMs. */
  #fail(n: Neighbour): void {
    n.state = FAILED;
    n.mac = MAC_ZERO;
    this.#stats.resolveFailed++;
    this.#arm(n, this.retransMs);
    if (n.pending.length === 0) return;
    const pending: SkBuff[] = [];
    this.#pendingTotal -= n.pendingTruesize;
    n.pendingTruesize = 0;
    for (let skb = n.pending.shift(); skb !== null; skb = n.pending.shift()) pending.push(skb);
    this.#drops.count("arp.resolve_failed", pending.length);
    const cb = this.#onResolveFailed;
    if (cb !== undefined) cb(n.iface, n.ip, pending);
    else for (const skb of pending) skb.free();
  }

  /** Push the Ethernet header (RFC 894, L4) and hand the frame to the device. */
  #xmit(iface: Iface, skb: SkBuff, dst: MacAddress): NeighbourOutput {
    if (skb.networkHeader < 0) skb.networkHeader = skb.data;
    const at = skb.push(ETHERNET_HEADER_LENGTH);
    const eth = this.#eth;
    eth.u8 = skb.arena.u8; // re-read: the memory may have grown
    eth.offset = at;
    eth.dst = dst;
    eth.src = iface.dev.mac;
    eth.ethertype = EtherType.IPV4;
    skb.macHeader = at;
    skb.protocol = EtherType.IPV4;
    skb.ifindex = iface.index;
    return iface.dev.transmit(skb) === Xmit.OK ? "sent" : "dropped";
  }

  /** Build and transmit one ARP frame, padded to the Ethernet minimum; ENOBUFS is a counted drop. */
  #sendArp(
    iface: Iface,
    op: ArpOp,
    ethDst: MacAddress,
    targetMac: MacAddress,
    targetIp: Ipv4Address,
    senderIp: Ipv4Address,
  ): void {
    const skb = this.#allocator.alloc(ETH_ZLEN, { headroom: 0 });
    if (skb === null) {
      this.#drops.count("arp.no_buffer");
      return;
    }
    const at = skb.put(ETH_ZLEN);
    const u8 = skb.arena.u8;
    const src = iface.dev.mac;
    emitEthernet({ dst: ethDst, src, ethertype: EtherType.ARP }, u8, at);
    const arpAt = at + ETHERNET_HEADER_LENGTH;
    emitArp({ op, senderMac: src, senderIp, targetMac, targetIp }, u8, arpAt);
    // RFC 894 padding: zeros, not whatever the slot held before.
    u8.fill(0, arpAt + ARP_LENGTH, at + ETH_ZLEN);
    skb.macHeader = at;
    skb.networkHeader = arpAt;
    skb.protocol = EtherType.ARP;
    skb.ifindex = iface.index;
    if (iface.dev.transmit(skb) !== Xmit.OK) return; // the device counted it
    if (op === ArpOp.REQUEST) this.#stats.requestsSent++;
    else this.#stats.repliesSent++;
  }

  /** Free `skb` and count it under `reason`. */
  #drop(skb: SkBuff, reason: string): "dropped" {
    this.#drops.count(reason);
    skb.free();
    return "dropped";
  }
}

/** Whether the entry holds a MAC that packets may go to. */
function usable(n: Neighbour): boolean {
  return n.state === REACHABLE || n.state === STALE || n.state === DELAY || n.state === PROBE;
}
