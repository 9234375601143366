/**
 * All wire-format drop reasons in one list, so stats can keep one counter per
 * reason (a numeric array indexed by {@link wireDropIndex}) and tests can
 * check that a parser returned a known one.
 *
 * A parser's result `r` is a drop when `typeof r === "string"`.
 *
 * @module
 */
import { ARP_DROP_REASONS } from "./arp.ts";
import { ETHERNET_DROP_REASONS } from "./ethernet.ts";
import { ICMP_DROP_REASONS } from "./icmp.ts";
import { IPV4_DROP_REASONS } from "./ipv4.ts";
import { TCP_DROP_REASONS } from "./tcp.ts";
import { UDP_DROP_REASONS } from "./udp.ts";
import { IPV6_DROP_REASONS } from "./ipv6.ts";
import { IPV6_EXT_DROP_REASONS } from "./ipv6_ext.ts";
import { ICMPV6_DROP_REASONS } from "./icmpv6.ts";
import { NDP_DROP_REASONS } from "./ndp.ts";
import { MLD_DROP_REASONS } from "./mld.ts";

/**
 * Every drop reason any parser in `src/wire/` can return.
 *
 * @example
 * ```ts
 * import { WIRE_DROP_REASONS } from "./drop_reason.ts";
 * const counters = new Float64Array(WIRE_DROP_REASONS.length);
 * ```
 */
export const WIRE_DROP_REASONS = [
  ...ETHERNET_DROP_REASONS,
  ...ARP_DROP_REASONS,
  ...IPV4_DROP_REASONS,
  ...ICMP_DROP_REASONS,
  ...UDP_DROP_REASONS,
  ...TCP_DROP_REASONS,
  ...IPV6_DROP_REASONS,
  ...IPV6_EXT_DROP_REASONS,
  ...ICMPV6_DROP_REASONS,
  ...NDP_DROP_REASONS,
  ...MLD_DROP_REASONS,
] as const;

/**
 * Any wire-format drop reason, e.g. `"ipv4.bad_checksum"`.
 *
 * @example
 * ```ts
 * import type { WireDropReason } from "./drop_reason.ts";
 * const why: WireDropReason = "tcp.bad_option";
 * ```
 */
export type WireDropReason = typeof WIRE_DROP_REASONS[number];

const INDEX = new Map<string, number>(WIRE_DROP_REASONS.map((r, i) => [r, i]));

/**
 * True when `x` is one of {@link WIRE_DROP_REASONS}.
 *
 * @example
 * ```ts
 * import { isWireDropReason } from "./drop_reason.ts";
 * isWireDropReason("udp.bad_length"); // true
 * isWireDropReason("udp.whatever"); // false
 * ```
 */
export function isWireDropReason(x: unknown): x is WireDropReason {
  return typeof x === "string" && INDEX.has(x);
}

/**
 * The position of `reason` in {@link WIRE_DROP_REASONS} (a stats array index).
 *
 * @example
 * ```ts
 * import { WIRE_DROP_REASONS, wireDropIndex } from "./drop_reason.ts";
 * WIRE_DROP_REASONS[wireDropIndex("ipv4.bad_version")]; // "ipv4.bad_version"
 * ```
 */
export function wireDropIndex(reason: WireDropReason): number {
  return INDEX.get(reason)!;
}
