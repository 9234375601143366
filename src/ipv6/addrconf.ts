/**
 * IPv6 address configuration for a host (RFC 4862; Linux `addrconf.c`):
 * link-local addresses, static addresses, stateless autoconfiguration from
 * router advertisements with RFC 7217 stable, opaque interface identifiers,
 * duplicate address detection, lifetimes, default routers and on-link
 * prefixes learnt from advertisements (RFC 4861 §6.3.4), router
 * solicitation (§6.3.7), redirects (§8.3), and `::1` on loopback.
 *
 * Decisions recorded here:
 * - **Interface identifiers** (RFC 8064 recommends RFC 7217 by default):
 *   `IID = first 64 bits of SHA-256(prefix | interface name | DAD_Counter |
 *   secret)`, the secret a 128-bit key drawn once per stack (or given as
 *   `stableSecret` so addresses survive restarts, like Linux's
 *   `stable_secret`). The same prefix on the same interface always yields
 *   the same address, and nothing about the MAC leaks. `addrGenMode:
 *   "eui64"` gives modified EUI-64 identifiers (RFC 4291 Appendix A) instead.
 *   Reserved identifiers (RFC 5453) are skipped by bumping the counter.
 * - **DAD** (RFC 4862 §5.4): `dadTransmits` probes (default 1) RetransTimer
 *   apart, the first after a random delay up to MAX_RTR_SOLICITATION_DELAY
 *   (1 s); the address is usable only afterwards (no optimistic DAD,
 *   RFC 4429). A duplicate stable-privacy address is regenerated with the
 *   next DAD_Counter, up to IDGEN_RETRIES (3) times (RFC 7217 §6); a duplicate
 *   EUI-64 link-local address disables IPv6 on the interface (RFC 4862
 *   §5.4.5); other duplicates stay in state `duplicate`, unused.
 * - **SLAAC** (§5.5.3): prefixes with the A flag and length 64 (our
 *   identifiers are 64 bits) make one address each; preferred > valid is
 *   ignored; lifetimes of existing addresses follow the two-hour rule (e).
 * - **Router advertisement floods are bounded**: at most
 *   `maxAddresses` autoconfigured addresses (default 16, Linux
 *   `max_addresses`), `maxRouters` default routers (8) and `maxPrefixes`
 *   on-link prefixes (16) per interface; beyond that, new ones are ignored
 *   and counted. The RetransTimer an RA may set is clamped to 100 ms – 1 h.
 * - **Lifetimes**: one timer for the whole stack, armed at the earliest
 *   deadline (deprecation, expiry of an address, router or prefix).
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import { randomInt, type RandomSource } from "../core/random.ts";
import { sha256 } from "../core/sha256.ts";
import type { DropCounters, NdiscStats } from "../core/stats.ts";
import type { Iface } from "../ipv4/iface.ts";
import {
  inPrefix6,
  ip6Equal,
  IPV6_LOOPBACK,
  isLinkLocal6,
  maskPrefix6,
  solicitedNode,
  writeEui64,
} from "../wire/addr6.ts";
import { IPV6_MIN_MTU } from "../wire/ipv6.ts";
import type { RouterAdvertRepr } from "../wire/ndp.ts";
import {
  type AddrOrigin,
  AddrState,
  Inet6Addr,
  type Inet6Dev,
  type Ipv6Devices,
} from "./inet6_dev.ts";
import type { Mld } from "./mld.ts";
import type { NdiscHooks, NeighbourDiscovery } from "./ndisc.ts";
import type { Route6Table } from "./route.ts";

/** MAX_RTR_SOLICITATION_DELAY, RTR_SOLICITATION_INTERVAL, MAX_RTR_SOLICITATIONS (RFC 4861 §10). */
const RS_DELAY_MS = 1000;
const RS_INTERVAL_MS = 4000;
const RS_MAX = 3;
/** IDGEN_RETRIES (RFC 7217 §7). */
const IDGEN_RETRIES = 3;
/** The two hours of RFC 4862 §5.5.3 (e). */
const TWO_HOURS_MS = 7200_000;
/** Redirect routes kept, and for how long (Linux's dst lifetime is similar). */
const MAX_REDIRECTS = 64;
const REDIRECT_MS = 600_000;
/** A lifetime of all ones is infinity (RFC 4861 §4.6.2). */
const INFINITE = 0xffffffff;

/**
 * How interface identifiers are made.
 *
 * @example
 * ```ts
 * import type { AddrGenMode } from "./addrconf.ts";
 * const mode: AddrGenMode = "stable-privacy";
 * ```
 */
export type AddrGenMode = "stable-privacy" | "eui64";

/**
 * An address event, for tests and tools.
 *
 * @example
 * ```ts
 * import type { AddrEvent } from "./addrconf.ts";
 * const log = (e: AddrEvent) => console.log(e.type, e.iface.name);
 * ```
 */
export interface AddrEvent {
  /**
   * What happened: added (tentative), usable (DAD passed), duplicate (DAD failed), deprecated
   * (preferred lifetime over), removed.
   */
  readonly type: "added" | "usable" | "duplicate" | "deprecated" | "removed";
  /** The interface the address is on. */
  readonly iface: Iface;
  /** The address concerned. */
  readonly addr: Inet6Addr;
}

/**
 * Options for {@link Addrconf}.
 *
 * @example
 * ```ts
 * import type { AddrconfOptions } from "./addrconf.ts";
 * const tuning: Partial<AddrconfOptions> = { dadTransmits: 0, addrGenMode: "eui64" };
 * ```
 */
export interface AddrconfOptions {
  /** Time source for DAD, router solicitation and lifetime timers. */
  clock: Clock;
  /** Randomness: RFC 7217 secret, DAD and solicitation delays, ReachableTime jitter. */
  rng: RandomSource;
  /** Neighbour discovery counters (`dadStarted`, `dadFailed`, `slaacAddresses`, …). */
  stats: NdiscStats;
  /** Drops by reason (RAs refused, limits hit). */
  drops: DropCounters;
  /** The per-interface IPv6 state the addresses live in. */
  devices: Ipv6Devices;
  /** Routes added for prefixes and default routers learnt from RAs. */
  routes: Route6Table;
  /** Neighbour discovery, which sends the DAD probes and RSs. */
  ndisc: NeighbourDiscovery;
  /** MLD, told to join each address's solicited-node group. */
  mld: Mld;
  /** DAD probes per address (default 1, RFC 4862 DupAddrDetectTransmits; 0 = no DAD). */
  dadTransmits?: number;
  /** Interface identifier generation (default "stable-privacy", RFC 7217). */
  addrGenMode?: AddrGenMode;
  /** RFC 7217 secret key, 16 bytes (default: random per stack). */
  stableSecret?: Uint8Array;
  /** Autoconfigured addresses per interface (default 16). */
  maxAddresses?: number;
  /** Default routers per interface (default 8). */
  maxRouters?: number;
  /** On-link prefixes from RAs per interface (default 16). */
  maxPrefixes?: number;
  /** Told about every address change. */
  onEvent?: (e: AddrEvent) => void;
}

/**
 * Options for enabling IPv6 on an interface.
 *
 * @example
 * ```ts
 * import type { EnableOptions } from "./addrconf.ts";
 * const o: EnableOptions = { acceptRa: true };
 * ```
 */
export interface EnableOptions {
  /** Configure from router advertisements (SLAAC, default routers); default true. */
  acceptRa?: boolean;
  /** Give the interface a link-local address (default true; loopback gets ::1 instead). */
  linkLocal?: boolean;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`Addrconf: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/**
 * Address configuration of one stack.
 *
 * @example
 * ```ts
 * // const dev = stack.ipv6.addrconf.enable(iface, { acceptRa: true });
 * // stack.ipv6.addrconf.addStatic(iface, parseIpv6Address("2001:db8::2"), 64);
 * ```
 */
export class Addrconf implements NdiscHooks {
  /** DAD probes per address (RFC 4862 DupAddrDetectTransmits; 0 = no DAD). */
  readonly dadTransmits: number;
  /** How interface identifiers are generated. */
  readonly addrGenMode: AddrGenMode;
  /** Autoconfigured addresses per interface. */
  readonly maxAddresses: number;
  /** Default routers per interface. */
  readonly maxRouters: number;
  /** On-link prefixes from RAs per interface. */
  readonly maxPrefixes: number;
  readonly #clock: Clock;
  readonly #rng: RandomSource;
  readonly #stats: NdiscStats;
  readonly #drops: DropCounters;
  readonly #devs: Ipv6Devices;
  readonly #routes: Route6Table;
  readonly #ndisc: NeighbourDiscovery;
  readonly #mld: Mld;
  readonly #secret: Uint8Array;
  readonly #onEvent: ((e: AddrEvent) => void) | undefined;
  readonly #dadTimers = new Map<Inet6Addr, Timer>();
  readonly #rsTimers = new Map<Inet6Dev, Timer>();
  #lifetimeTimer: Timer | null = null;
  #lifetimeDue = Infinity;
  #closed = false;

  /**
   * Throws `RangeError` when `dadTransmits` is negative, a limit is not a positive integer, or the
   * secret is not 16 bytes.
   */
  constructor(o: AddrconfOptions) {
    this.#clock = o.clock;
    this.#rng = o.rng;
    this.#stats = o.stats;
    this.#drops = o.drops;
    this.#devs = o.devices;
    this.#routes = o.routes;
    this.#ndisc = o.ndisc;
    this.#mld = o.mld;
    this.#onEvent = o.onEvent;
    this.dadTransmits = o.dadTransmits ?? 1;
    if (!Number.isInteger(this.dadTransmits) || this.dadTransmits < 0) {
      throw new RangeError(`Addrconf: dadTransmits must be a non-negative integer`);
    }
    this.addrGenMode = o.addrGenMode ?? "stable-privacy";
    this.maxAddresses = positiveInt(o.maxAddresses ?? 16, "maxAddresses");
    this.maxRouters = positiveInt(o.maxRouters ?? 8, "maxRouters");
    this.maxPrefixes = positiveInt(o.maxPrefixes ?? 16, "maxPrefixes");
    if (o.stableSecret !== undefined && o.stableSecret.length !== 16) {
      throw new RangeError(`Addrconf: stableSecret must be 16 bytes, got ${o.stableSecret.length}`);
    }
    this.#secret = o.stableSecret?.slice() ?? new Uint8Array(16);
    if (o.stableSecret === undefined) this.#rng.fill(this.#secret);
    o.ndisc.hooks = this;
  }

  /**
   * Enable IPv6 on `iface`: the loopback interface gets `::1/128`; others a
   * link-local address (DAD, then router solicitations when RAs are accepted).
   */
  enable(iface: Iface, o: EnableOptions = {}): Inet6Dev {
    const existing = this.#devs.get(iface);
    if (existing !== undefined) return existing;
    const dev = this.#devs.enable(iface, !iface.loopback && (o.acceptRa ?? true));
    dev.reachableMs = this.#randomReachable(dev.baseReachableMs);
    if (iface.loopback) {
      const lo = new Inet6Addr(IPV6_LOOPBACK.slice(), 128, "loopback");
      lo.state = AddrState.PREFERRED;
      dev.addrs.push(lo);
      this.#routes.add(iface, IPV6_LOOPBACK, 128, { origin: "local", metric: 0 });
      this.#event("added", dev, lo);
      return dev;
    }
    this.#routes.add(iface, FE80, 64, { origin: "connected", metric: 256 });
    if (o.linkLocal ?? true) {
      const ll = this.#generate(dev, FE80, 64, "link-local", 0);
      if (ll !== null) this.#start(dev, ll);
    }
    // Without a link-local address to come, solicit right away (from ::).
    if (dev.acceptRa && dev.linkLocal() === undefined && !dev.addrs.some(isLinkLocalAddr)) {
      this.#scheduleRs(dev, randomInt(this.#rng, RS_DELAY_MS));
    }
    return dev;
  }

  /** Disable IPv6 on `iface`: addresses, groups, routes and neighbours go. */
  disable(iface: Iface): void {
    const dev = this.#devs.get(iface);
    if (dev === undefined) return;
    for (const a of [...dev.addrs]) this.#removeAddr(dev, a, false);
    const rs = this.#rsTimers.get(dev);
    if (rs !== undefined) this.#clock.clearTimer(rs);
    this.#rsTimers.delete(dev);
    this.#mld.forget(dev);
    this.#routes.remove((r) => r.iface === iface);
    this.#ndisc.flush(iface);
    this.#devs.remove(iface);
  }

  /**
   * Add a static address (with its on-link prefix route unless /128), run
   * DAD on it (unless `dad` is false), and return it. Throws `TypeError` if
   * IPv6 is not enabled on `iface` or the address is already there.
   */
  addStatic(
    iface: Iface,
    address: Uint8Array,
    prefixLength: number,
    o: { dad?: boolean } = {},
  ): Inet6Addr {
    const dev = this.#devs.get(iface) ?? this.enable(iface);
    if (!(Number.isInteger(prefixLength) && prefixLength >= 0 && prefixLength <= 128)) {
      throw new RangeError(`IPv6 prefix length ${prefixLength} is outside 0…128`);
    }
    if (dev.find(address, 0) !== undefined) {
      throw new TypeError(`Interface ${iface.name} already has that IPv6 address`);
    }
    const a = new Inet6Addr(address.slice(0, 16), prefixLength, "static");
    dev.addrs.push(a);
    if (prefixLength < 128 && !isLinkLocal6(address)) {
      this.#routes.add(iface, address, prefixLength, { origin: "connected", metric: 256 });
    }
    this.#event("added", dev, a);
    this.#start(dev, a, o.dad ?? true);
    return a;
  }

  /** Remove an address from its interface (its solicited-node group is left). */
  remove(iface: Iface, address: Uint8Array): boolean {
    const dev = this.#devs.get(iface);
    const a = dev?.find(address, 0);
    if (dev === undefined || a === undefined) return false;
    this.#removeAddr(dev, a, true);
    return true;
  }

  /** Add a static default route through `gateway` on `iface`. */
  addDefaultRoute(iface: Iface, gateway: Uint8Array): void {
    this.#routes.add(iface, new Uint8Array(16), 0, { gateway, origin: "static", metric: 1024 });
  }

  /** Cancel every timer (the stack is closing). */
  close(): void {
    this.#closed = true;
    for (const t of this.#dadTimers.values()) this.#clock.clearTimer(t);
    this.#dadTimers.clear();
    for (const t of this.#rsTimers.values()) this.#clock.clearTimer(t);
    this.#rsTimers.clear();
    if (this.#lifetimeTimer !== null) this.#clock.clearTimer(this.#lifetimeTimer);
    this.#lifetimeTimer = null;
  }

  // ---------------------------------------------------------------------------
  // NdiscHooks

  /** RFC 4862 §5.4.5: a duplicate was found while `addr` was tentative. */
  dadConflict(dev: Inet6Dev, addr: Inet6Addr): void {
    if (addr.state !== AddrState.TENTATIVE) return;
    this.#stats.dadFailed++;
    this.#drops.count("addrconf.dad_failed");
    const t = this.#dadTimers.get(addr);
    if (t !== undefined) this.#clock.clearTimer(t);
    this.#dadTimers.delete(addr);
    addr.state = AddrState.DUPLICATE;
    this.#mld.leave(dev, solicitedNode(addr.address));
    this.#event("duplicate", dev, addr);
    const generated = addr.origin === "slaac" || addr.origin === "link-local";
    if (generated && this.addrGenMode === "stable-privacy" && addr.dadCounter < IDGEN_RETRIES) {
      // RFC 7217 §6: try again with the next DAD_Counter.
      const prefix = addr.prefix ?? FE80;
      const i = dev.addrs.indexOf(addr);
      if (i >= 0) dev.addrs.splice(i, 1);
      const next = this.#generate(dev, prefix, addr.prefixLength, addr.origin, addr.dadCounter + 1);
      if (next !== null) {
        next.preferredUntil = addr.preferredUntil;
        next.validUntil = addr.validUntil;
        this.#start(dev, next);
      }
      return;
    }
    if (addr.origin === "link-local" && this.addrGenMode === "eui64") {
      // RFC 4862 §5.4.5: a duplicate hardware-derived link-local address means
      // the interface identifier is not unique: stop using IPv6 on the link.
      dev.disabled = true;
      this.#drops.count("addrconf.interface_disabled");
    }
  }

  /** RFC 4861 §6.3.4 and RFC 4862 §5.5.3. */
  routerAdvert(dev: Inet6Dev, ra: RouterAdvertRepr, u8: Uint8Array, srcOff: number): void {
    if (this.#closed) return;
    dev.raReceived = true;
    const rs = this.#rsTimers.get(dev);
    if (rs !== undefined) {
      this.#clock.clearTimer(rs);
      this.#rsTimers.delete(dev);
    }
    const now = this.#clock.now();
    const iface = dev.iface;
    if (ra.curHopLimit !== 0) dev.hopLimit = ra.curHopLimit;
    if (
      ra.reachableTime !== 0 && ra.reachableTime <= 3_600_000 &&
      ra.reachableTime !== dev.baseReachableMs
    ) {
      dev.baseReachableMs = ra.reachableTime;
      dev.reachableMs = this.#randomReachable(ra.reachableTime);
    }
    if (ra.retransTimer !== 0) dev.retransMs = Math.min(3_600_000, Math.max(100, ra.retransTimer));
    // §6.3.4: take the MTU if it is at least 1280 and at most the link's.
    if (ra.mtu >= IPV6_MIN_MTU && ra.mtu <= iface.mtu) {
      dev.mtu = ra.mtu;
      for (const r of this.#routes.routes) if (r.iface === iface) r.mtu = Math.min(r.mtu, ra.mtu);
    }
    const router = u8.slice(srcOff, srcOff + 16);
    const zero = new Uint8Array(16);
    const have = this.#routes.find(iface, zero, 0, router, "ra-default");
    if (ra.routerLifetime === 0) {
      if (have !== undefined) this.#routes.remove((r) => r === have);
    } else {
      const routers = this.#routes.routes.filter((r) =>
        r.iface === iface && r.origin === "ra-default"
      ).length;
      if (have === undefined && routers >= this.maxRouters) {
        this.#drops.count("addrconf.too_many_routers");
      } else {
        // RFC 4191 §2.2 preference: high 512, medium 1024, low 2048 (Linux's metrics).
        this.#routes.add(iface, zero, 0, {
          gateway: router,
          origin: "ra-default",
          metric: ra.preference > 0 ? 512 : ra.preference < 0 ? 2048 : 1024,
          expires: now + ra.routerLifetime * 1000,
        });
      }
    }
    for (const p of ra.prefixes) this.#prefix(dev, p, u8, now);
    this.#armLifetimes();
  }

  /** §7.2.5: the neighbour is no router any more. */
  routerGone(dev: Inet6Dev, addr: Uint8Array): void {
    this.#routes.remove((r) =>
      r.iface === dev.iface && r.origin === "ra-default" && r.gateway !== null &&
      ip6Equal(r.gateway, 0, addr, 0)
    );
  }

  /** RFC 4861 §8.1 (first-hop check) and §8.3 (a host route for `dest`). */
  redirect(dev: Inet6Dev, source: Uint8Array, target: Uint8Array, dest: Uint8Array): boolean {
    const rt = this.#routes.lookup(dest, 0, dev.iface);
    if (rt === null || rt.gateway === null || !ip6Equal(rt.gateway, 0, source, 0)) return false;
    const onLink = ip6Equal(target, 0, dest, 0);
    const mine = this.#routes.routes.filter((r) => r.origin === "redirect");
    if (mine.length >= MAX_REDIRECTS) {
      const oldest = mine.reduce((a, b) => (a.expires <= b.expires ? a : b));
      this.#routes.remove((r) => r === oldest);
    }
    this.#routes.remove((r) =>
      r.origin === "redirect" && r.prefixLength === 128 && ip6Equal(r.prefix, 0, dest, 0)
    );
    this.#routes.add(dev.iface, dest, 128, {
      gateway: onLink ? null : target,
      origin: "redirect",
      metric: 0,
      expires: this.#clock.now() + REDIRECT_MS,
    });
    this.#armLifetimes();
    return true;
  }

  // ---------------------------------------------------------------------------

  /** RFC 4862 §5.5.3 for one Prefix Information option (and §6.3.4 for its L flag). */
  #prefix(
    dev: Inet6Dev,
    p: RouterAdvertRepr["prefixes"][number],
    u8: Uint8Array,
    now: number,
  ): void {
    const iface = dev.iface;
    const prefix = maskPrefix6(u8, Math.min(p.prefixLength, 128), p.prefixOffset);
    // §5.5.3 (b) / §6.3.4: the link-local prefix is never taken from an RA.
    if (isLinkLocal6(prefix) || p.prefixLength > 128) return;
    if (p.onLink) {
      const have = this.#routes.find(iface, prefix, p.prefixLength, null, "ra-prefix");
      if (p.validLifetime === 0) {
        if (have !== undefined) this.#routes.remove((r) => r === have);
      } else if (
        have === undefined &&
        this.#routes.routes.filter((r) => r.iface === iface && r.origin === "ra-prefix").length >=
          this.maxPrefixes
      ) {
        this.#drops.count("addrconf.too_many_prefixes");
      } else {
        this.#routes.add(iface, prefix, p.prefixLength, {
          origin: "ra-prefix",
          metric: 256,
          expires: lifetimeEnd(now, p.validLifetime),
        });
      }
    }
    if (!p.autonomous) return;
    // §5.5.3 (c): preferred > valid is ignored.
    if (p.preferredLifetime > p.validLifetime) {
      return void this.#drops.count("addrconf.bad_lifetimes");
    }
    // §5.5.3 (d): prefix + interface identifier must be 128 bits; ours are 64.
    if (p.prefixLength !== 64) return void this.#drops.count("addrconf.bad_prefix_length");
    const existing = dev.addrs.find((a) =>
      a.origin === "slaac" && a.prefix !== null && inPrefix6(a.prefix, 0, prefix, 0, 64) &&
      a.state !== AddrState.DUPLICATE
    );
    if (existing !== undefined) {
      this.#updateLifetimes(dev, existing, p.validLifetime, p.preferredLifetime, now);
      return;
    }
    if (p.validLifetime === 0) return;
    const auto = dev.addrs.filter((a) => a.origin === "slaac").length;
    if (auto >= this.maxAddresses) return void this.#drops.count("addrconf.too_many_addresses");
    const a = this.#generate(dev, prefix, 64, "slaac", 0);
    if (a === null) return;
    a.validUntil = lifetimeEnd(now, p.validLifetime);
    a.preferredUntil = lifetimeEnd(now, p.preferredLifetime);
    this.#stats.slaacAddresses++;
    this.#start(dev, a);
  }

  /** §5.5.3 (e): the two-hour rule. */
  #updateLifetimes(
    dev: Inet6Dev,
    a: Inet6Addr,
    valid: number,
    preferred: number,
    now: number,
  ): void {
    const remaining = a.validUntil - now;
    const received = valid === INFINITE ? Infinity : valid * 1000;
    if (received > TWO_HOURS_MS || received > remaining) a.validUntil = lifetimeEnd(now, valid);
    else if (remaining > TWO_HOURS_MS) a.validUntil = now + TWO_HOURS_MS;
    a.preferredUntil = lifetimeEnd(now, preferred);
    if (a.state === AddrState.DEPRECATED && a.preferredUntil > now) {
      a.state = AddrState.PREFERRED;
      this.#event("usable", dev, a);
    }
  }

  /** A new generated address (link-local or SLAAC) with its RFC 7217 (or EUI-64) identifier. */
  #generate(
    dev: Inet6Dev,
    prefix: Uint8Array,
    prefixLength: number,
    origin: AddrOrigin,
    counter: number,
  ): Inet6Addr | null {
    for (let c = counter; c <= counter + IDGEN_RETRIES; c++) {
      const address = maskPrefix6(prefix, 64);
      if (this.addrGenMode === "eui64") writeEui64(address, 0, dev.iface.dev.mac);
      else this.#stableIid(address, dev.iface, c);
      if (reservedIid(address) || dev.find(address, 0) !== undefined) {
        if (this.addrGenMode === "eui64") return null;
        continue;
      }
      const a = new Inet6Addr(address, prefixLength, origin);
      a.dadCounter = c;
      a.prefix = prefix.slice(0, 16);
      dev.addrs.push(a);
      this.#event("added", dev, a);
      return a;
    }
    return null;
  }

  /** RFC 7217 §5: RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key). */
  #stableIid(address: Uint8Array, iface: Iface, counter: number): void {
    const name = new TextEncoder().encode(iface.name);
    const input = new Uint8Array(8 + name.length + 1 + 16);
    input.set(address.subarray(0, 8), 0);
    input.set(name, 8);
    input[8 + name.length] = counter;
    input.set(this.#secret, 9 + name.length);
    address.set(sha256(input).subarray(0, 8), 8);
  }

  /** Join the solicited-node group and run DAD (or skip it) on a new address. */
  #start(dev: Inet6Dev, a: Inet6Addr, dad = true): void {
    a.state = AddrState.TENTATIVE;
    // RFC 4862 §5.4.2: join the solicited-node group before probing.
    this.#mld.join(dev, solicitedNode(a.address));
    if (!dad || this.dadTransmits === 0 || dev.iface.noArp) {
      this.#dadDone(dev, a);
      return;
    }
    this.#stats.dadStarted++;
    a.dadProbesLeft = this.dadTransmits;
    // §5.4.2: the first probe after a random delay up to MAX_RTR_SOLICITATION_DELAY.
    this.#armDad(a, randomInt(this.#rng, RS_DELAY_MS), dev);
  }

  #armDad(a: Inet6Addr, ms: number, dev: Inet6Dev): void {
    const t = this.#clock.setTimer(ms, () => this.#dadStep(dev, a));
    this.#dadTimers.set(a, t);
  }

  #dadStep(dev: Inet6Dev, a: Inet6Addr): void {
    this.#dadTimers.delete(a);
    if (this.#closed || a.state !== AddrState.TENTATIVE) return;
    if (a.dadProbesLeft > 0) {
      a.dadProbesLeft--;
      this.#ndisc.sendDadProbe(dev, a);
      this.#armDad(a, dev.retransMs, dev);
      return;
    }
    this.#dadDone(dev, a);
  }

  /** §5.4: no duplicate heard: the address becomes usable. */
  #dadDone(dev: Inet6Dev, a: Inet6Addr): void {
    const now = this.#clock.now();
    a.state = a.preferredUntil <= now ? AddrState.DEPRECATED : AddrState.PREFERRED;
    this.#event("usable", dev, a);
    if (isLinkLocal6(a.address) && dev.acceptRa && !dev.raReceived && !this.#rsTimers.has(dev)) {
      // RFC 4861 §6.3.7: solicit routers once a link-local source exists.
      this.#scheduleRs(dev, randomInt(this.#rng, RS_DELAY_MS));
    }
    this.#armLifetimes();
  }

  #scheduleRs(dev: Inet6Dev, ms: number): void {
    const t = this.#clock.setTimer(ms, () => {
      this.#rsTimers.delete(dev);
      if (this.#closed || dev.raReceived || dev.disabled || dev.rsSent >= RS_MAX) return;
      dev.rsSent++;
      this.#ndisc.sendRouterSolicit(dev);
      if (dev.rsSent < RS_MAX) this.#scheduleRs(dev, RS_INTERVAL_MS);
    });
    this.#rsTimers.set(dev, t);
  }

  #removeAddr(dev: Inet6Dev, a: Inet6Addr, withRoute: boolean): void {
    const i = dev.addrs.indexOf(a);
    if (i < 0) return;
    dev.addrs.splice(i, 1);
    const t = this.#dadTimers.get(a);
    if (t !== undefined) this.#clock.clearTimer(t);
    this.#dadTimers.delete(a);
    if (a.state !== AddrState.DUPLICATE) this.#mld.leave(dev, solicitedNode(a.address));
    if (withRoute && a.origin === "static" && a.prefixLength < 128) {
      this.#routes.remove((r) =>
        r.iface === dev.iface && r.origin === "connected" && r.prefixLength === a.prefixLength &&
        inPrefix6(r.prefix, 0, a.address, 0, a.prefixLength)
      );
    }
    this.#event("removed", dev, a);
  }

  /** Arm the one lifetime timer at the earliest deadline. */
  #armLifetimes(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    let due = this.#routes.nextExpiry();
    for (const dev of this.#devs.all()) {
      for (const a of dev.addrs) {
        if (a.state === AddrState.PREFERRED && a.preferredUntil < due) due = a.preferredUntil;
        if (a.validUntil < due) due = a.validUntil;
      }
    }
    if (due === Infinity || (this.#lifetimeTimer !== null && due >= this.#lifetimeDue)) return;
    if (this.#lifetimeTimer !== null) this.#clock.clearTimer(this.#lifetimeTimer);
    this.#lifetimeDue = due;
    this.#lifetimeTimer = this.#clock.setTimer(Math.max(0, due - now), () => this.#onLifetimes());
  }

  #onLifetimes(): void {
    this.#lifetimeTimer = null;
    this.#lifetimeDue = Infinity;
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const dev of this.#devs.all()) {
      for (const a of [...dev.addrs]) {
        if (a.validUntil <= now) {
          this.#removeAddr(dev, a, false);
        } else if (a.state === AddrState.PREFERRED && a.preferredUntil <= now) {
          // RFC 4862 §5.5.4: deprecated addresses stay valid, but new
          // communication prefers others.
          a.state = AddrState.DEPRECATED;
          this.#event("deprecated", dev, a);
        }
      }
    }
    this.#routes.expire();
    this.#armLifetimes();
  }

  /** RFC 4861 §6.3.2: ReachableTime is uniformly random in [0.5, 1.5] × BaseReachableTime. */
  #randomReachable(base: number): number {
    return Math.round(base * (0.5 + randomInt(this.#rng, 1_000_001) / 1_000_000));
  }

  #event(type: AddrEvent["type"], dev: Inet6Dev, addr: Inet6Addr): void {
    this.#onEvent?.({ type, iface: dev.iface, addr });
  }
}

const FE80 = new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

function isLinkLocalAddr(a: Inet6Addr): boolean {
  return isLinkLocal6(a.address);
}

function lifetimeEnd(now: number, seconds: number): number {
  return seconds === INFINITE ? Infinity : now + seconds * 1000;
}

/** RFC 5453 reserved interface identifiers: all zeros (subnet-router anycast) and fdff:ffff:ffff:ff80–ffff. */
function reservedIid(a: Uint8Array): boolean {
  let zero = true;
  for (let i = 8; i < 16; i++) if (a[i] !== 0) zero = false;
  if (zero) return true;
  return a[8] === 0xfd && a[9] === 0xff && a[10] === 0xff && a[11] === 0xff && a[12] === 0xff &&
    a[13] === 0xff && a[14] === 0xff && (a[15]! & 0x80) === 0x80;
}
