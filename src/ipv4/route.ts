/**
 * The routing table (Linux FIB, much reduced): longest-prefix match over
 * routes, each naming an interface and an optional gateway, plus source
 * address selection. Tables are small (a few routes per interface), so a
 * list kept sorted by prefix length is both simple and fast.
 *
 * @module
 */
import type { Iface } from "./iface.ts";
import { formatIpv4, type Ipv4Address, prefixToMask } from "../wire/addr.ts";

/** One route. */
export interface Route {
  /** Destination network. */
  readonly network: Ipv4Address;
  /** Prefix length (0 = default route). */
  readonly prefixLength: number;
  /** Next-hop gateway, or 0 for on-link destinations. */
  readonly gateway: Ipv4Address;
  /** Outgoing interface. */
  readonly iface: Iface;
  /** Preferred source address (default: the interface's address). */
  readonly src: Ipv4Address;
  /** Lower wins among equal prefixes. */
  readonly metric: number;
  /** Largest datagram for this route (default: the interface MTU). */
  readonly mtu: number;
}

/** What a lookup returns. */
export interface RouteResult {
  /** The matching route. */
  readonly route: Route;
  /** The outgoing interface. */
  readonly iface: Iface;
  /** Where to send the frame: the gateway, or the destination itself. */
  readonly nextHop: Ipv4Address;
  /** Source address to use (RFC 1122 §3.3.4.3: the outgoing interface's). */
  readonly src: Ipv4Address;
  /** Path MTU for this destination. */
  readonly mtu: number;
}

/** Options for {@link RouteTable.add}. */
export interface RouteOptions {
  /** Next hop (absent: on-link). */
  gateway?: Ipv4Address;
  /** Preferred source address. */
  src?: Ipv4Address;
  /** Lower wins among equal prefixes (default 0). */
  metric?: number;
  /** Path MTU of the route (default: the interface MTU). */
  mtu?: number;
}

/**
 * Longest-prefix-match routing table.
 *
 * @example
 * ```ts
 * import { RouteTable } from "./route.ts";
 * const routes = new RouteTable();
 * // routes.add(iface, 0xc0000200, 24);                          // on-link 192.0.2.0/24
 * // routes.add(iface, 0, 0, { gateway: 0xc0000201 });           // default via 192.0.2.1
 * // routes.lookup(0xc6336401)?.nextHop === 0xc0000201
 * ```
 */
export class RouteTable {
  #routes: Route[] = [];
  /** The last result, handed out again for the same route and next hop. */
  #last: RouteResult | null = null;
  /**
   * Bumped by every change; a cached {@link RouteResult} (a connection's
   * "dst cache") is valid while the generation it was taken at is current.
   */
  generation = 0;

  /** All routes, most specific first. */
  get routes(): readonly Route[] {
    return this.#routes;
  }

  /** Add a route to `network/prefixLength` through `iface`. */
  add(iface: Iface, network: Ipv4Address, prefixLength: number, options: RouteOptions = {}): Route {
    if (!(prefixLength >= 0 && prefixLength <= 32) || !Number.isInteger(prefixLength)) {
      throw new RangeError(`Route prefix length ${prefixLength} is outside 0…32`);
    }
    const route: Route = {
      network: (network & prefixToMask(prefixLength)) >>> 0,
      prefixLength,
      gateway: (options.gateway ?? 0) >>> 0,
      iface,
      src: (options.src ?? iface.address) >>> 0,
      metric: options.metric ?? 0,
      mtu: Math.min(options.mtu ?? iface.mtu, iface.mtu),
    };
    if (route.gateway !== 0 && !iface.onLink(route.gateway) && !iface.noArp) {
      throw new RangeError(
        `Gateway ${
          formatIpv4(route.gateway)
        } is not on ${iface.name}'s subnet, so it cannot be reached`,
      );
    }
    this.#routes.push(route);
    this.generation++;
    this.#routes.sort((a, b) => b.prefixLength - a.prefixLength || a.metric - b.metric);
    return route;
  }

  /** Remove routes matching `pred`; returns how many. */
  remove(pred: (r: Route) => boolean): number {
    const before = this.#routes.length;
    this.#routes = this.#routes.filter((r) => !pred(r));
    this.generation++;
    return before - this.#routes.length;
  }

  /**
   * The best route to `dst` (optionally only through interface `oif`), or
   * null when there is none (ENETUNREACH).
   */
  lookup(dst: Ipv4Address, oif?: Iface): RouteResult | null {
    const routes = this.#routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (oif !== undefined && r.iface !== oif) continue;
      if (!r.iface.dev.isUp) continue;
      if (((dst ^ r.network) & prefixToMask(r.prefixLength)) !== 0) continue;
      const nextHop = r.gateway !== 0 ? r.gateway : dst >>> 0;
      // Results are read-only, so connections to one next hop share one
      // (each TCP connection keeps its route: 10,000 connections to a peer
      // would otherwise keep 10,000 equal records).
      const last = this.#last;
      if (last !== null && last.route === r && last.nextHop === nextHop) return last;
      return this.#last = { route: r, iface: r.iface, nextHop, src: r.src, mtu: r.mtu };
    }
    return null;
  }
}
