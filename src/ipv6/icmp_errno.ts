/**
 * The one table from an ICMPv6 error to the errno a socket reports, its
 * text, and whether it is fatal (Linux `icmpv6_err_convert` and its
 * `tab_unreach[]`): the IPv6 twin of `ipv4/icmp_errno.ts`. UDP reads the
 * errno, TCP the errno and the fatal bit, ping the text.
 *
 * Fatal errors say the destination will not answer however long we wait:
 * administratively prohibited, port unreachable, source address policy and
 * reject routes (RFC 4443 §3.1 codes 1, 4, 5, 6), unknown unreachable codes,
 * and parameter problems. TCP aborts a connection attempt on them and
 * treats the rest (no route, address unreachable, hop limit exceeded, packet
 * too big) as soft (RFC 1122 §4.2.3.9, MUST-56).
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { Icmpv6Type } from "../wire/icmpv6.ts";

/** errno, fatal bit and text per Destination Unreachable code 0…6 (RFC 4443 §3.1). */
const UNREACH: readonly (readonly [number, boolean, string])[] = [
  [Errno.ENETUNREACH, false, "no route to destination"],
  [Errno.EACCES, true, "communication administratively prohibited"],
  [Errno.EHOSTUNREACH, false, "beyond scope of source address"],
  [Errno.EHOSTUNREACH, false, "address unreachable"],
  [Errno.ECONNREFUSED, true, "port unreachable"],
  [Errno.EACCES, true, "source address failed ingress/egress policy"],
  [Errno.EACCES, true, "reject route to destination"],
];

/**
 * errno and text for an ICMPv6 error (Linux `icmpv6_err_convert`); `info`
 * is the MTU of a Packet Too Big or the pointer of a Parameter Problem.
 *
 * @example
 * ```ts
 * import { icmpv6Errno } from "./icmp_errno.ts";
 * icmpv6Errno(1, 4)[0]; // 111 (ECONNREFUSED)
 * icmpv6Errno(2, 0, 1400)[1]; // "packet too big (MTU 1400)"
 * ```
 */
export function icmpv6Errno(type: number, code: number, info = 0): [number, string] {
  switch (type) {
    case Icmpv6Type.DEST_UNREACHABLE: {
      const u = UNREACH[code];
      return u !== undefined
        ? [u[0], u[2]]
        : [Errno.EHOSTUNREACH, `destination unreachable, code ${code}`];
    }
    case Icmpv6Type.PACKET_TOO_BIG:
      return [Errno.EMSGSIZE, `packet too big (MTU ${info})`];
    case Icmpv6Type.TIME_EXCEEDED:
      return [
        Errno.EHOSTUNREACH,
        code === 0 ? "hop limit exceeded" : "fragment reassembly time exceeded",
      ];
    default:
      return [Errno.EPROTO, `parameter problem, code ${code}, pointer ${info}`];
  }
}

/**
 * Is the ICMPv6 error fatal (Linux `icmpv6_err_convert`'s return value)?
 *
 * @example
 * ```ts
 * import { icmpv6Fatal } from "./icmp_errno.ts";
 * icmpv6Fatal(1, 4); // true: port unreachable
 * icmpv6Fatal(1, 3); // false: address unreachable is soft (MUST-56)
 * ```
 */
export function icmpv6Fatal(type: number, code: number): boolean {
  switch (type) {
    case Icmpv6Type.DEST_UNREACHABLE:
      return UNREACH[code]?.[1] ?? true;
    case Icmpv6Type.PARAMETER_PROBLEM:
      return true;
  }
  return false;
}
