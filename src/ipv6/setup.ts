/**
 * Wiring of the IPv6 family for a stack: the interface table, routing
 * table, path MTU cache, neighbour discovery, MLD, address configuration,
 * the IPv6 layer and ICMPv6, created in dependency order (each module only
 * knows the ones below it; the hooks that point upward are interfaces).
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import type { RandomSource } from "../core/random.ts";
import type { StackStats } from "../core/stats.ts";
import type { Iface } from "../ipv4/iface.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { Addrconf, type AddrconfOptions } from "./addrconf.ts";
import { type Icmpv6Options, Icmpv6Protocol } from "./icmp.ts";
import { Ipv6Devices } from "./inet6_dev.ts";
import { Ipv6Layer, type Ipv6LayerOptions } from "./layer.ts";
import { Mld } from "./mld.ts";
import { type NdiscOptions, NeighbourDiscovery } from "./ndisc.ts";
import { PmtuCache } from "./pmtu.ts";
import { Route6Table } from "./route.ts";

/**
 * IPv6 tuning a stack accepts.
 *
 * @example
 * ```ts
 * import type { Ipv6Options } from "./setup.ts";
 * const o: Ipv6Options = { dadTransmits: 0, addrGenMode: "eui64" };
 * ```
 */
export interface Ipv6Options {
  /** DAD probes per address (default 1; 0 turns DAD off, like Linux `accept_dad=0`). */
  dadTransmits?: number;
  /** Interface identifiers: RFC 7217 "stable-privacy" (default) or "eui64". */
  addrGenMode?: AddrconfOptions["addrGenMode"];
  /** RFC 7217 secret (16 bytes) so generated addresses survive restarts. */
  stableSecret?: Uint8Array;
  /** Autoconfigured addresses per interface (default 16). */
  maxAddresses?: number;
  /** Default routers per interface (default 8). */
  maxRouters?: number;
  /** On-link prefixes from RAs per interface (default 16). */
  maxPrefixes?: number;
  /** Neighbour cache tuning. */
  neighbour?: Partial<
    Omit<
      NdiscOptions,
      "clock" | "allocator" | "rng" | "stats" | "drops" | "devices" | "onResolveFailed"
    >
  >;
  /** ICMPv6 tuning. */
  icmp?: Icmpv6Options;
  /** Reassembly tuning. */
  reassembly?: Ipv6LayerOptions["reassembly"];
  /** Default hop limit (default 64). */
  hopLimit?: number;
  /** Told about address changes (added, usable, duplicate, deprecated, removed). */
  onAddressEvent?: AddrconfOptions["onEvent"];
}

/**
 * The IPv6 family of one stack.
 *
 * @example
 * ```ts
 * // const v6 = createIpv6({ clock, rng, allocator, stats, onResolveFailed });
 * // v6.addrconf.enable(iface); v6.layer.rcv(skb, iface)
 * ```
 */
export interface Ipv6Family {
  /** Per-interface IPv6 state. */
  readonly devices: Ipv6Devices;
  /** The routing table. */
  readonly routes: Route6Table;
  /** Path MTU estimates. */
  readonly pmtu: PmtuCache;
  /** Neighbour discovery and the neighbour cache (RFC 4861). */
  readonly ndisc: NeighbourDiscovery;
  /** MLDv2 host side (RFC 3810). */
  readonly mld: Mld;
  /** Address configuration: link-local, SLAAC, DAD (RFC 4862). */
  readonly addrconf: Addrconf;
  /** The IPv6 layer: input, output, extension headers, fragments (RFC 8200). */
  readonly layer: Ipv6Layer;
  /** ICMPv6: errors, echo, and the NDP/MLD dispatch (RFC 4443). */
  readonly icmp: Icmpv6Protocol;
}

/**
 * Create and wire the IPv6 family.
 *
 * @example
 * ```ts
 * import { createIpv6 } from "./setup.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { SeededRandom } from "../core/random.ts";
 * import { StackStats } from "../core/stats.ts";
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * const v6 = createIpv6({
 *   clock: new VirtualClock(), rng: new SeededRandom(1),
 *   allocator: new SkbAllocator(new Arena()), stats: new StackStats(),
 * });
 * v6.devices.all().length; // 0
 * ```
 */
export function createIpv6(o: {
  clock: Clock;
  rng: RandomSource;
  allocator: SkbAllocator;
  stats: StackStats;
  options?: Ipv6Options;
  /** Packets whose next hop did not resolve (ICMPv6 address unreachable goes back). */
  onResolveFailed?: (iface: Iface, pending: SkBuff[]) => void;
}): Ipv6Family {
  const opt = o.options ?? {};
  const devices = new Ipv6Devices();
  const routes = new Route6Table(() => o.clock.now());
  const pmtu = new PmtuCache(() => o.clock.now(), o.rng);
  const ndisc = new NeighbourDiscovery({
    ...opt.neighbour,
    clock: o.clock,
    allocator: o.allocator,
    rng: o.rng,
    stats: o.stats.ndisc,
    drops: o.stats.drops,
    devices,
    ...(o.onResolveFailed ? { onResolveFailed: o.onResolveFailed } : {}),
  });
  const mld = new Mld({
    clock: o.clock,
    allocator: o.allocator,
    rng: o.rng,
    stats: o.stats.ndisc,
    drops: o.stats.drops,
    devices,
    output: (iface, dst, off, skb) => void ndisc.output(iface, dst, off, skb),
  });
  const addrconf = new Addrconf({
    clock: o.clock,
    rng: o.rng,
    stats: o.stats.ndisc,
    drops: o.stats.drops,
    devices,
    routes,
    ndisc,
    mld,
    ...(opt.dadTransmits !== undefined ? { dadTransmits: opt.dadTransmits } : {}),
    ...(opt.addrGenMode !== undefined ? { addrGenMode: opt.addrGenMode } : {}),
    ...(opt.stableSecret !== undefined ? { stableSecret: opt.stableSecret } : {}),
    ...(opt.maxAddresses !== undefined ? { maxAddresses: opt.maxAddresses } : {}),
    ...(opt.maxRouters !== undefined ? { maxRouters: opt.maxRouters } : {}),
    ...(opt.maxPrefixes !== undefined ? { maxPrefixes: opt.maxPrefixes } : {}),
    ...(opt.onAddressEvent !== undefined ? { onEvent: opt.onAddressEvent } : {}),
  });
  const layer = new Ipv6Layer({
    clock: o.clock,
    rng: o.rng,
    allocator: o.allocator,
    stats: o.stats,
    devices,
    routes,
    pmtu,
    neighbours: ndisc,
    ...(opt.reassembly ? { reassembly: opt.reassembly } : {}),
    ...(opt.hopLimit !== undefined ? { defaultHopLimit: opt.hopLimit } : {}),
  });
  const icmp = new Icmpv6Protocol(layer, ndisc, mld, opt.icmp);
  return { devices, routes, pmtu, ndisc, mld, addrconf, layer, icmp };
}

/**
 * Shut the family down: timers cancelled, queued packets freed.
 *
 * @example
 * ```ts
 * // closeIpv6(stack.ip6);
 * ```
 */
export function closeIpv6(f: Ipv6Family): void {
  f.addrconf.close();
  f.mld.close();
  f.ndisc.close();
  f.layer.close();
}
