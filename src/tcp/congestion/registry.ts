/**
 * The congestion-control algorithms a connection can choose by name
 * (`TCP_CONGESTION`, `TcpConfig.congestion`; Linux's
 * `tcp_register_congestion_control` list). Immutable: algorithms keep their
 * per-connection state on the connection.
 *
 * @module
 */
import type { CongestionControl } from "./cc.ts";
import { CUBIC } from "./cubic.ts";
import { NEW_RENO } from "./reno.ts";

/**
 * Every algorithm by its `TCP_CONGESTION` name: "cubic" (RFC 9438 with
 * HyStart++, the default) and "reno" (NewReno, RFC 5681 / RFC 6582).
 *
 * @example
 * ```ts
 * import { CONGESTION_ALGORITHMS } from "./registry.ts";
 * [...CONGESTION_ALGORITHMS.keys()]; // ["cubic", "reno"]
 * ```
 */
export const CONGESTION_ALGORITHMS: ReadonlyMap<string, CongestionControl> = new Map([
  [CUBIC.name, CUBIC],
  [NEW_RENO.name, NEW_RENO],
]);

/**
 * The algorithm called `name`, or null when there is none.
 *
 * @example
 * ```ts
 * import { congestionByName } from "./registry.ts";
 * congestionByName("reno")?.name; // "reno"
 * congestionByName("bbr"); // null
 * ```
 */
export function congestionByName(name: string): CongestionControl | null {
  return CONGESTION_ALGORITHMS.get(name) ?? null;
}
