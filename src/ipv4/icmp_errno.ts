/**
 * The one table from an ICMP error to the errno a socket reports and
 * whether the error is fatal (Linux `icmp_err_convert[]` and the type
 * switches of `tcp_v4_err`, `__udp4_lib_err` and `ping_err`). Every
 * transport reads `IcmpError.errno` / `IcmpError.fatal`, computed here once
 * when ICMP input builds the error.
 *
 * Fatal errors (RFC 1122 §3.2.2.1 "hard"; Linux's `fatal` bits) say the
 * destination will not answer however long we wait: protocol and port
 * unreachable, unknown or isolated destinations, and administrative
 * prohibition (RFC 1812 §5.2.7.1, codes 9, 10, 13). TCP aborts a connection
 * attempt on them and treats everything else as soft (MUST-56).
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { IcmpType } from "../wire/icmp.ts";

/** errno and fatal bit per Destination Unreachable code 0…15 (Linux `icmp_err_convert`). */
const UNREACH: readonly (readonly [number, boolean])[] = [
  [Errno.ENETUNREACH, false], // 0 net unreachable
  [Errno.EHOSTUNREACH, false], // 1 host unreachable
  [Errno.ENOPROTOOPT, true], // 2 protocol unreachable
  [Errno.ECONNREFUSED, true], // 3 port unreachable
  [Errno.EMSGSIZE, false], // 4 fragmentation needed and DF set
  [Errno.EOPNOTSUPP, false], // 5 source route failed
  [Errno.ENETUNREACH, true], // 6 destination network unknown
  [Errno.EHOSTDOWN, true], // 7 destination host unknown
  [Errno.ENONET, true], // 8 source host isolated
  [Errno.ENETUNREACH, true], // 9 network administratively prohibited
  [Errno.EHOSTUNREACH, true], // 10 host administratively prohibited
  [Errno.ENETUNREACH, false], // 11 network unreachable for TOS
  [Errno.EHOSTUNREACH, false], // 12 host unreachable for TOS
  [Errno.EHOSTUNREACH, true], // 13 communication administratively prohibited
  [Errno.EHOSTUNREACH, true], // 14 host precedence violation
  [Errno.EHOSTUNREACH, true], // 15 precedence cutoff in effect
];

/**
 * The errno for an ICMP error of `type`/`code` (3, 11 or 12), or 0 for a
 * type no socket is told about (source quench, MUST-55, and the rest).
 *
 * @example
 * ```ts
 * import { icmpErrno } from "./icmp_errno.ts";
 * icmpErrno(3, 3); // ECONNREFUSED (111)
 * icmpErrno(11, 0); // EHOSTUNREACH (113): TTL exceeded
 * icmpErrno(4, 0); // 0: source quench is ignored
 * ```
 */
export function icmpErrno(type: number, code: number): number {
  switch (type) {
    case IcmpType.DEST_UNREACHABLE:
      return UNREACH[code]?.[0] ?? Errno.EHOSTUNREACH;
    case IcmpType.TIME_EXCEEDED:
      return Errno.EHOSTUNREACH;
    case IcmpType.PARAMETER_PROBLEM:
      return Errno.EPROTO;
  }
  return 0;
}

/**
 * Is the error fatal (the peer cannot be reached this way at all)?
 *
 * @example
 * ```ts
 * import { icmpFatal } from "./icmp_errno.ts";
 * icmpFatal(3, 13); // true: administratively prohibited
 * icmpFatal(3, 1); // false: host unreachable is soft (MUST-56)
 * ```
 */
export function icmpFatal(type: number, code: number): boolean {
  switch (type) {
    case IcmpType.DEST_UNREACHABLE:
      return UNREACH[code]?.[1] ?? false;
    case IcmpType.PARAMETER_PROBLEM:
      return true;
  }
  return false;
}
