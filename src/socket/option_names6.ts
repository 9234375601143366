/**
 * IPv6 socket option names with their Linux values (`<netinet/in.h>`,
 * RFC 3493 §5 and RFC 3542), re-exported by `constants.ts`.
 *
 * @module
 */

/**
 * Option level of IPv6 options (`IPPROTO_IPV6`, Linux `SOL_IPV6`).
 *
 * @example
 * ```ts
 * import { SOL_IPV6 } from "./constants.ts";
 * SOL_IPV6; // 41
 * ```
 */
export const SOL_IPV6 = 41;

/**
 * IPv6-in-IP / the IPv6 option level.
 *
 * @example
 * ```ts
 * import { IPPROTO_IPV6 } from "./constants.ts";
 * IPPROTO_IPV6; // 41
 * ```
 */
export const IPPROTO_IPV6 = 41;

/**
 * ICMPv6 (RFC 4443).
 *
 * @example
 * ```ts
 * import { IPPROTO_ICMPV6 } from "./constants.ts";
 * IPPROTO_ICMPV6; // 58
 * ```
 */
export const IPPROTO_ICMPV6 = 58;

/**
 * Hop limit of sent unicast packets (1…255, -1 = the route's or 64).
 *
 * @example
 * ```ts
 * import { IPV6_UNICAST_HOPS } from "./constants.ts";
 * IPV6_UNICAST_HOPS; // 16
 * ```
 */
export const IPV6_UNICAST_HOPS = 16;

/**
 * Hop limit of sent multicast packets (default 1).
 *
 * @example
 * ```ts
 * import { IPV6_MULTICAST_HOPS } from "./constants.ts";
 * IPV6_MULTICAST_HOPS; // 18
 * ```
 */
export const IPV6_MULTICAST_HOPS = 18;

/**
 * Path MTU discovery mode: IPV6_PMTUDISC_DO forbids fragmenting (like IPV6_DONTFRAG).
 *
 * @example
 * ```ts
 * import { IPV6_MTU_DISCOVER } from "./constants.ts";
 * IPV6_MTU_DISCOVER; // 23
 * ```
 */
export const IPV6_MTU_DISCOVER = 23;

/**
 * Queue ICMPv6 errors for `recvmsg(MSG_ERRQUEUE)`.
 *
 * @example
 * ```ts
 * import { IPV6_RECVERR } from "./constants.ts";
 * IPV6_RECVERR; // 25
 * ```
 */
export const IPV6_RECVERR = 25;

/**
 * Only IPv6: no IPv4 through v4-mapped addresses (default 0, dual stack; settable before bind only).
 *
 * @example
 * ```ts
 * import { IPV6_V6ONLY } from "./constants.ts";
 * IPV6_V6ONLY; // 26
 * ```
 */
export const IPV6_V6ONLY = 26;

/**
 * Never fragment: a datagram over the path MTU fails with EMSGSIZE (RFC 3542 §11.2).
 *
 * @example
 * ```ts
 * import { IPV6_DONTFRAG } from "./constants.ts";
 * IPV6_DONTFRAG; // 62
 * ```
 */
export const IPV6_DONTFRAG = 62;

/**
 * Traffic class of sent packets (0…255, -1 = 0).
 *
 * @example
 * ```ts
 * import { IPV6_TCLASS } from "./constants.ts";
 * IPV6_TCLASS; // 67
 * ```
 */
export const IPV6_TCLASS = 67;
