/**
 * The TCP connection tables (Linux `struct inet_hashinfo`): the bind table
 * (which local ports are taken, and how), the listening table, and the
 * established table (full 4-tuples, TIME-WAIT included), plus ephemeral port
 * selection for connect (`__inet_hash_connect`, RFC 6056).
 *
 * This file fixes the contract between the tables and the rest of TCP; the
 * implementation lives in `tables_impl.ts`.
 *
 * @module
 */
import type { Ipv4Address } from "../wire/addr.ts";

/** What the tables need to know about a socket (implemented by the TCB). */
export interface TcpTableEntry {
  /** Local address (0 = any). */
  laddr: Ipv4Address;
  /** Local port (0 = not bound). */
  lport: number;
  /** Remote address (0 until connected). */
  raddr: Ipv4Address;
  /** Remote port (0 until connected). */
  rport: number;
  /** SO_REUSEADDR. */
  reuseAddr: boolean;
  /**
   * IPv6 entries: local address at 0 (`::` = any) and remote at 16, 32
   * bytes; null or absent for IPv4 (`laddr`/`raddr` then hold them).
   * Written by `bind6`/`connect6`.
   */
  addr6?: Uint8Array | null;
  /** IPV6_V6ONLY: an IPv6 entry on `::` does not claim IPv4 addresses. */
  v6only?: boolean;
  /** True when TIME-WAIT (the entry only guards its 4-tuple). */
  readonly isTimeWait: boolean;
  /** For TIME-WAIT reuse (RFC 6191 / Linux tcp_twsk_unique): last TS.Recent seen, or -1. */
  readonly tsRecent: number;
  /** Clock ms when TS.Recent was last updated. */
  readonly tsRecentStamp: number;
  /** Set by the tables: the port came from an explicit bind() (never picked as ephemeral). */
  userBoundPort: boolean;
  /**
   * Owned by the tables: where the entry sits (Linux keeps this in the
   * socket too: `icsk_bind_hash`, `sk_node`); null or absent while unhashed.
   * An entry is in one stack's tables at a time.
   */
  tablesRec?: unknown;
}

/** Options for the tables. */
export interface TcpTablesOptions {
  /** Ephemeral port range, inclusive (default 32768–60999, Linux ip_local_port_range). */
  portRange?: readonly [number, number];
  /** Ports never picked as ephemeral (ip_local_reserved_ports). */
  reservedPorts?: readonly number[];
  /** Allow TIME-WAIT 4-tuples to be reused by connect when timestamps prove it safe (tcp_tw_reuse; default true). */
  twReuse?: boolean;
  /** Clock for the TIME-WAIT reuse "older than 1 s" rule. */
  now: () => number;
  /** Randomness for port offsets (keyed hash secret and per-call perturbation). */
  nextU32: () => number;
}

/**
 * The operations TCP uses, generic over the entry type so callers get their
 * own type back from lookups (no downcasts). Every failure is a negative errno.
 *
 * Rules (Linux inet_csk_get_port / inet_hash_connect semantics):
 * - `bind(sk, laddr, 0)` picks a free port at random within the range;
 *   `bind(sk, laddr, port)` fails with -EADDRINUSE when a conflicting socket
 *   holds it: same port and overlapping address (either wildcard or equal),
 *   unless both set SO_REUSEADDR and the holder is not LISTEN; a TIME-WAIT
 *   holder conflicts only without SO_REUSEADDR.
 * - `connect(sk, laddr, raddr, rport)`: if `sk.lport` is 0, picks an ephemeral
 *   port whose 4-tuple is unique — offset = keyed hash(laddr, raddr, rport)
 *   plus a perturbation (RFC 6056 §3.3.4 algorithm 4), never a port some
 *   socket bound explicitly; a TIME-WAIT 4-tuple may be reused only when
 *   `twReuse` and its TS.Recent is older than 1 s. If `sk.lport` is set, only
 *   checks the 4-tuple is unique. Returns -EADDRNOTAVAIL when nothing fits.
 *   On success the socket is in the established table.
 */
export interface TcpTables<E extends TcpTableEntry = TcpTableEntry> {
  /**
   * Enter the bind table on `laddr:port` (`port` 0: a random free one, see above). Returns 0,
   * -EINVAL (already bound, or not a port) or -EADDRINUSE (taken; also when no ephemeral port is
   * free, as Linux `inet_bind`).
   */
  bind(sk: E, laddr: Ipv4Address, port: number): number;
  /** Leave the bind table (and any other table). */
  unhash(sk: E): void;
  /** Enter the listening table (the socket must be bound). */
  listen(sk: E): number;
  /** The listener for a SYN to `laddr:lport` (specific address before wildcard). */
  lookupListener(laddr: Ipv4Address, lport: number): E | null;
  /** Pick/validate the local port and enter the established table. */
  connect(sk: E, laddr: Ipv4Address, raddr: Ipv4Address, rport: number): number;
  /** Enter the established table with a fully specified 4-tuple (accepted children, TIME-WAIT). */
  hashEstablished(sk: E): number;
  /** Replace `old` by `next` under the same 4-tuple (a socket becoming TIME-WAIT). */
  replace(old: E, next: E): void;
  /** The socket owning a 4-tuple, or null. */
  lookupEstablished(
    laddr: Ipv4Address,
    lport: number,
    raddr: Ipv4Address,
    rport: number,
  ): E | null;
  /** Entries in the established table (TIME-WAIT included). */
  readonly establishedCount: number;

  // IPv6 (RFC 8200; Linux `inet6_hashtables.c`). One set of tables for both
  // families, as in Linux, so ports and bind conflicts are shared: an entry
  // on `::` without IPV6_V6ONLY also claims every IPv4 address of its port
  // (Linux `ipv6_rcv_saddr_equal`), and IPv4 SYNs reach it when no IPv4
  // listener is a better match. v4-mapped addresses never come here: the
  // socket layer turns them into IPv4 entries.

  /** bind() an IPv6 entry to `addr[off]` (`::` = any) and `port`, as {@link bind}. */
  bind6(sk: E, addr: Uint8Array, off: number, port: number): number;
  /**
   * connect() an IPv6 entry: `laddr` and `raddr` (16 bytes at offset 0,
   * neither `::`) and `rport`, as {@link connect}; they are copied into `sk.addr6`.
   */
  connect6(sk: E, laddr: Uint8Array, raddr: Uint8Array, rport: number): number;
  /** The listener for an IPv6 SYN to `u8[off]`:`lport` (specific address before `::`). */
  lookupListener6(u8: Uint8Array, off: number, lport: number): E | null;
  /** The IPv6 entry owning a 4-tuple whose addresses are at `u8[lOff]` and `u8[rOff]`, or null. */
  lookupEstablished6(
    u8: Uint8Array,
    lOff: number,
    lport: number,
    rOff: number,
    rport: number,
  ): E | null;
}
