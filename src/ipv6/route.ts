/**
 * The IPv6 routing table (one table per family: IPv4 has `ipv4/route.ts`):
 * longest-prefix match over 128-bit prefixes, each route naming an interface
 * and an optional gateway, with an origin and an expiry so routes learnt from
 * router advertisements (RFC 4861 §6.3.4: on-link prefixes, default routers)
 * and redirects (§8.3) age out.
 *
 * A host's table is small (a few routes per interface), so a list kept sorted
 * by prefix length then metric is simple and fast; lookups skip expired
 * routes, and {@link Route6Table.expire} removes them.
 *
 * @module
 */
import type { Iface } from "../ipv4/iface.ts";
import { formatIpv6, inPrefix6, ip6Equal, isLinkLocal6, maskPrefix6 } from "../wire/addr6.ts";

/**
 * Where a route came from.
 *
 * @example
 * ```ts
 * import type { Route6Origin } from "./route.ts";
 * const o: Route6Origin = "ra-default";
 * ```
 */
export type Route6Origin =
  | "connected"
  | "static"
  | "ra-prefix"
  | "ra-default"
  | "redirect"
  | "local";

/**
 * One IPv6 route.
 *
 * @example
 * ```ts
 * import type { Route6 } from "./route.ts";
 * const isDefault = (r: Route6) => r.prefixLength === 0;
 * ```
 */
export interface Route6 {
  /** Destination prefix (host bits cleared). */
  readonly prefix: Uint8Array;
  /** Prefix length in bits (0 = default route). */
  readonly prefixLength: number;
  /** Next-hop router, or null for on-link destinations. */
  readonly gateway: Uint8Array | null;
  /** Interface the route sends through. */
  readonly iface: Iface;
  /** Lower wins among equal prefixes (RA router preference maps onto it). */
  metric: number;
  /** Largest packet for this route (default: the interface's MTU). */
  mtu: number;
  /** Clock time the route expires (Infinity: never). */
  expires: number;
  /** Who added it: static, connected, an RA prefix or default router, a redirect, local. */
  readonly origin: Route6Origin;
}

/**
 * What a lookup returns.
 *
 * @example
 * ```ts
 * import type { Route6Result } from "./route.ts";
 * const viaRouter = (r: Route6Result) => r.gateway !== null;
 * ```
 */
export interface Route6Result {
  /** The table entry used, or null for destinations that need none (ours, link-scope). */
  readonly route: Route6 | null;
  /** Interface to send through. */
  readonly iface: Iface;
  /** The router to send to, or null: the destination is on-link. */
  readonly gateway: Uint8Array | null;
  /** Largest packet for this route (before path MTU discovery lowers it). */
  readonly mtu: number;
}

/**
 * Options for {@link Route6Table.add}.
 *
 * @example
 * ```ts
 * import type { Route6Options } from "./route.ts";
 * const o: Route6Options = { metric: 1024, origin: "static" };
 * ```
 */
export interface Route6Options {
  /** Next-hop router, or null/omitted for on-link. */
  gateway?: Uint8Array | null;
  /** Lower wins among equal prefixes (default 1024, as Linux). */
  metric?: number;
  /** Largest packet (default: the interface's MTU). */
  mtu?: number;
  /** Clock time the route expires (default Infinity: never). */
  expires?: number;
  /** Who adds it (default "static"). */
  origin?: Route6Origin;
}

/**
 * Longest-prefix-match IPv6 routing table.
 *
 * @example
 * ```ts
 * import { Route6Table } from "./route.ts";
 * const routes = new Route6Table(() => 0);
 * routes.routes.length; // 0
 * // routes.add(iface, parseIpv6Address("2001:db8::"), 64);          // on-link /64
 * // routes.add(iface, new Uint8Array(16), 0, { gateway: routerLl }); // default route
 * ```
 */
export class Route6Table {
  #routes: Route6[] = [];
  readonly #now: () => number;
  /**
   * Bumped by every change; a route a connection cached (TCP's `route6`) is
   * valid while the generation it was taken at is current.
   */
  generation = 0;

  /**
   * An empty table.
   *
   * @param now the clock, for expiry
   */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** All routes, most specific first. */
  get routes(): readonly Route6[] {
    return this.#routes;
  }

  /**
   * Add (or, for the same prefix, gateway, interface and origin, refresh) a
   * route. Throws `RangeError` for a prefix length outside 0…128.
   */
  add(iface: Iface, prefix: Uint8Array, prefixLength: number, o: Route6Options = {}): Route6 {
    if (!(Number.isInteger(prefixLength) && prefixLength >= 0 && prefixLength <= 128)) {
      throw new RangeError(`Route prefix length ${prefixLength} is outside 0…128`);
    }
    const net = maskPrefix6(prefix, prefixLength);
    const gateway = o.gateway ?? null;
    const origin = o.origin ?? "static";
    const existing = this.find(iface, net, prefixLength, gateway, origin);
    const mtu = Math.min(o.mtu ?? iface.mtu, iface.mtu);
    if (existing !== undefined) {
      existing.expires = o.expires ?? Infinity;
      existing.metric = o.metric ?? existing.metric;
      existing.mtu = mtu;
      this.#sort();
      this.generation++;
      return existing;
    }
    const r: Route6 = {
      prefix: net,
      prefixLength,
      gateway: gateway === null ? null : gateway.slice(0, 16),
      iface,
      metric: o.metric ?? 1024,
      mtu,
      expires: o.expires ?? Infinity,
      origin,
    };
    this.#routes.push(r);
    this.#sort();
    this.generation++;
    return r;
  }

  /** The route with exactly these fields, if present. */
  find(
    iface: Iface,
    prefix: Uint8Array,
    prefixLength: number,
    gateway: Uint8Array | null,
    origin: Route6Origin,
  ): Route6 | undefined {
    for (const r of this.#routes) {
      if (r.iface !== iface || r.prefixLength !== prefixLength || r.origin !== origin) continue;
      if (!inPrefix6(r.prefix, 0, prefix, 0, prefixLength)) continue;
      if ((r.gateway === null) !== (gateway === null)) continue;
      if (r.gateway !== null && !ip6Equal(r.gateway, 0, gateway!, 0)) continue;
      return r;
    }
    return undefined;
  }

  /** Remove routes matching `pred`; returns how many. */
  remove(pred: (r: Route6) => boolean): number {
    const before = this.#routes.length;
    this.#routes = this.#routes.filter((r) => !pred(r));
    this.generation++;
    return before - this.#routes.length;
  }

  /** Remove expired routes; returns them. */
  expire(): Route6[] {
    const now = this.#now();
    const gone = this.#routes.filter((r) => r.expires <= now);
    if (gone.length > 0) {
      this.#routes = this.#routes.filter((r) => r.expires > now);
      this.generation++;
    }
    return gone;
  }

  /** The earliest expiry among routes (Infinity when none expires). */
  nextExpiry(): number {
    let t = Infinity;
    for (const r of this.#routes) if (r.expires < t) t = r.expires;
    return t;
  }

  /**
   * The best route to the address at `u8[off]` (optionally only through
   * `oif`), or null (ENETUNREACH). Link-local destinations only match routes
   * of `oif` when one is given (RFC 4007 §9: a zone is needed to use them).
   */
  lookup(u8: Uint8Array, off: number, oif?: Iface): Route6Result | null {
    const now = this.#now();
    for (const r of this.#routes) {
      if (oif !== undefined && r.iface !== oif) continue;
      if (!r.iface.dev.isUp || r.expires <= now) continue;
      if (!inPrefix6(u8, off, r.prefix, 0, r.prefixLength)) continue;
      return { route: r, iface: r.iface, gateway: r.gateway, mtu: r.mtu };
    }
    return null;
  }

  /** Lines like `ip -6 route` prints (for diagnostics). */
  describe(): string[] {
    return this.#routes.map((r) =>
      `${r.prefixLength === 0 ? "default" : `${formatIpv6(r.prefix)}/${r.prefixLength}`}${
        r.gateway ? ` via ${formatIpv6(r.gateway)}` : ""
      } dev ${r.iface.name} proto ${r.origin} metric ${r.metric}${
        Number.isFinite(r.expires) ? ` expires ${Math.round(r.expires)}` : ""
      }`
    );
  }

  #sort(): void {
    this.#routes.sort((a, b) =>
      b.prefixLength - a.prefixLength || a.metric - b.metric ||
      // Link-local gateways are the normal case for RA routes; keep order stable otherwise.
      Number(a.gateway !== null && !isLinkLocal6(a.gateway)) -
        Number(b.gateway !== null && !isLinkLocal6(b.gateway))
    );
  }
}
