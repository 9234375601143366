/**
 * A connection's route (Linux `sk_dst_cache`, `__sk_dst_check`): looked up
 * once and kept while the route table is unchanged and its interface is up.
 * Every TCP path that needs the route — the MSS and the TSO size goal, the
 * SYN and every later segment — reads this one record, so a connection
 * costs one lookup, not one per use.
 *
 * @module
 */
import type { RouteResult } from "../ipv4/route.ts";
import type { Tcb } from "./tcb.ts";

/**
 * The route to `sk.raddr`, from the connection's cache; null when there is
 * none (ENETUNREACH).
 *
 * @example
 * ```ts
 * // const rt = cachedRoute(tcb); rt?.mtu; // 1500 on an Ethernet route
 * ```
 */
export function cachedRoute(sk: Tcb): RouteResult | null {
  const snd = sk.snd;
  const ipv4 = sk.ctx.ipv4;
  const gen = ipv4.routes.generation;
  let rt = snd.route;
  if (rt === null || snd.routeGen !== gen || !rt.iface.dev.isUp) {
    rt = ipv4.route(sk.raddr);
    snd.route = rt;
    snd.routeGen = gen;
  }
  return rt;
}

/**
 * Seed the cache with a route just looked up for `sk.raddr` (connect()
 * needs it before the 4-tuple is set, for the source address).
 *
 * @example
 * ```ts
 * // keepRoute(tcb, stack.ipv4.route(raddr));
 * ```
 */
export function keepRoute(sk: Tcb, rt: RouteResult | null): void {
  sk.snd.route = rt;
  sk.snd.routeGen = sk.ctx.ipv4.routes.generation;
}
