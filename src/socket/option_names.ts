/**
 * Socket option levels and names with their Linux values (`SOL_*`, `SO_*`,
 * `IP_*`, `TCP_*`): what `setsockopt`/`getsockopt` take. Re-exported by
 * `constants.ts`.
 *
 * @module
 */

/**
 * Socket-level options (`SO_*`).
 *
 * @example
 * ```ts
 * import { SOL_SOCKET } from "./constants.ts";
 * SOL_SOCKET; // 1
 * ```
 */
export const SOL_SOCKET = 1;

/**
 * IP-level options (`IP_*`), the same number as IPPROTO_IP.
 *
 * @example
 * ```ts
 * import { SOL_IP } from "./constants.ts";
 * SOL_IP; // 0
 * ```
 */
export const SOL_IP = 0;

/**
 * Let several sockets bind one UDP port when all of them set it.
 *
 * @example
 * ```ts
 * import { SO_REUSEADDR } from "./constants.ts";
 * SO_REUSEADDR; // 2
 * ```
 */
export const SO_REUSEADDR = 2;

/**
 * Read-only: the socket type.
 *
 * @example
 * ```ts
 * import { SO_TYPE } from "./constants.ts";
 * SO_TYPE; // 3
 * ```
 */
export const SO_TYPE = 3;

/**
 * Read-only: the pending socket error (`sk_err`), cleared by reading.
 *
 * @example
 * ```ts
 * import { SO_ERROR } from "./constants.ts";
 * SO_ERROR; // 4
 * ```
 */
export const SO_ERROR = 4;

/**
 * Allow sending to broadcast addresses (else EACCES).
 *
 * @example
 * ```ts
 * import { SO_BROADCAST } from "./constants.ts";
 * SO_BROADCAST; // 6
 * ```
 */
export const SO_BROADCAST = 6;

/**
 * Send buffer size in bytes (Linux stores twice the value set).
 *
 * @example
 * ```ts
 * import { SO_SNDBUF } from "./constants.ts";
 * SO_SNDBUF; // 7
 * ```
 */
export const SO_SNDBUF = 7;

/**
 * Receive buffer size in bytes (Linux stores twice the value set).
 *
 * @example
 * ```ts
 * import { SO_RCVBUF } from "./constants.ts";
 * SO_RCVBUF; // 8
 * ```
 */
export const SO_RCVBUF = 8;

/**
 * UDP: send without a checksum (checksum field 0, RFC 768).
 *
 * @example
 * ```ts
 * import { SO_NO_CHECK } from "./constants.ts";
 * SO_NO_CHECK; // 11
 * ```
 */
export const SO_NO_CHECK = 11;

/**
 * Receive timeout in milliseconds (0 = wait forever); expiry is EAGAIN.
 *
 * @example
 * ```ts
 * import { SO_RCVTIMEO } from "./constants.ts";
 * SO_RCVTIMEO; // 20
 * ```
 */
export const SO_RCVTIMEO = 20;

/**
 * Send timeout in milliseconds (0 = wait forever).
 *
 * @example
 * ```ts
 * import { SO_SNDTIMEO } from "./constants.ts";
 * SO_SNDTIMEO; // 21
 * ```
 */
export const SO_SNDTIMEO = 21;

/**
 * Read-only: the protocol number.
 *
 * @example
 * ```ts
 * import { SO_PROTOCOL } from "./constants.ts";
 * SO_PROTOCOL; // 38
 * ```
 */
export const SO_PROTOCOL = 38;

/**
 * Read-only: the address family.
 *
 * @example
 * ```ts
 * import { SO_DOMAIN } from "./constants.ts";
 * SO_DOMAIN; // 39
 * ```
 */
export const SO_DOMAIN = 39;

/**
 * Type of service byte (DSCP + ECN) of sent datagrams.
 *
 * @example
 * ```ts
 * import { IP_TOS } from "./constants.ts";
 * IP_TOS; // 1
 * ```
 */
export const IP_TOS = 1;

/**
 * Time to live of sent unicast datagrams (1…255; -1 = the stack default).
 *
 * @example
 * ```ts
 * import { IP_TTL } from "./constants.ts";
 * IP_TTL; // 2
 * ```
 */
export const IP_TTL = 2;

/**
 * Queue ICMP errors for `MSG_ERRQUEUE` and report them on unconnected sockets too.
 *
 * @example
 * ```ts
 * import { IP_RECVERR } from "./constants.ts";
 * IP_RECVERR; // 11
 * ```
 */
export const IP_RECVERR = 11;

/**
 * Path MTU discovery mode: IP_PMTUDISC_DONT, _WANT or _DO.
 *
 * @example
 * ```ts
 * import { IP_MTU_DISCOVER } from "./constants.ts";
 * IP_MTU_DISCOVER; // 10
 * ```
 */
export const IP_MTU_DISCOVER = 10;

/**
 * Read-only: the path MTU of a connected socket (TCP: what PMTU discovery
 * learnt; ENOTCONN when not connected).
 *
 * @example
 * ```ts
 * import { IP_MTU } from "./constants.ts";
 * IP_MTU; // 14
 * ```
 */
export const IP_MTU = 14;

/**
 * Allow binding an address that is not (yet) ours.
 *
 * @example
 * ```ts
 * import { IP_FREEBIND } from "./constants.ts";
 * IP_FREEBIND; // 15
 * ```
 */
export const IP_FREEBIND = 15;

/**
 * Time to live of sent multicast datagrams (default 1).
 *
 * @example
 * ```ts
 * import { IP_MULTICAST_TTL } from "./constants.ts";
 * IP_MULTICAST_TTL; // 33
 * ```
 */
export const IP_MULTICAST_TTL = 33;

/**
 * Never set DF; fragment locally (the default here).
 *
 * @example
 * ```ts
 * import { IP_PMTUDISC_DONT } from "./constants.ts";
 * IP_PMTUDISC_DONT; // 0
 * ```
 */
export const IP_PMTUDISC_DONT = 0;

/**
 * Treated like IP_PMTUDISC_DONT (no path MTU cache yet).
 *
 * @example
 * ```ts
 * import { IP_PMTUDISC_WANT } from "./constants.ts";
 * IP_PMTUDISC_WANT; // 1
 * ```
 */
export const IP_PMTUDISC_WANT = 1;

/**
 * Always set DF; a datagram over the MTU fails with EMSGSIZE.
 *
 * @example
 * ```ts
 * import { IP_PMTUDISC_DO } from "./constants.ts";
 * IP_PMTUDISC_DO; // 2
 * ```
 */
export const IP_PMTUDISC_DO = 2;

/**
 * Option level of TCP options (`IPPROTO_TCP`, Linux `SOL_TCP`).
 *
 * @example
 * ```ts
 * import { SOL_TCP } from "./constants.ts";
 * SOL_TCP; // 6
 * ```
 */
export const SOL_TCP = 6;

/**
 * TCP: send keepalive probes on an idle connection (RFC 9293 MUST-24…29).
 *
 * @example
 * ```ts
 * import { SO_KEEPALIVE } from "./constants.ts";
 * SO_KEEPALIVE; // 9
 * ```
 */
export const SO_KEEPALIVE = 9;

/**
 * TCP: what close() does with unsent data; `{ onoff: 1, linger: 0 }` resets the connection.
 *
 * @example
 * ```ts
 * import { SO_LINGER } from "./constants.ts";
 * SO_LINGER; // 13
 * ```
 */
export const SO_LINGER = 13;

/**
 * Read-only: 1 when the socket is listening.
 *
 * @example
 * ```ts
 * import { SO_ACCEPTCONN } from "./constants.ts";
 * SO_ACCEPTCONN; // 30
 * ```
 */
export const SO_ACCEPTCONN = 30;

/**
 * TCP: turn Nagle's algorithm off (RFC 9293 §3.7.4).
 *
 * @example
 * ```ts
 * import { TCP_NODELAY } from "./constants.ts";
 * TCP_NODELAY; // 1
 * ```
 */
export const TCP_NODELAY = 1;

/**
 * TCP: cap the MSS (set before connect/listen).
 *
 * @example
 * ```ts
 * import { TCP_MAXSEG } from "./constants.ts";
 * TCP_MAXSEG; // 2
 * ```
 */
export const TCP_MAXSEG = 2;

/**
 * TCP: hold partial segments until uncorked.
 *
 * @example
 * ```ts
 * import { TCP_CORK } from "./constants.ts";
 * TCP_CORK; // 3
 * ```
 */
export const TCP_CORK = 3;

/**
 * TCP: idle seconds before the first keepalive probe.
 *
 * @example
 * ```ts
 * import { TCP_KEEPIDLE } from "./constants.ts";
 * TCP_KEEPIDLE; // 4
 * ```
 */
export const TCP_KEEPIDLE = 4;

/**
 * TCP: seconds between keepalive probes.
 *
 * @example
 * ```ts
 * import { TCP_KEEPINTVL } from "./constants.ts";
 * TCP_KEEPINTVL; // 5
 * ```
 */
export const TCP_KEEPINTVL = 5;

/**
 * TCP: unanswered keepalive probes before the connection is dropped.
 *
 * @example
 * ```ts
 * import { TCP_KEEPCNT } from "./constants.ts";
 * TCP_KEEPCNT; // 6
 * ```
 */
export const TCP_KEEPCNT = 6;

/**
 * TCP, read-only: the connection's `struct tcp_info` (a `TcpInfo` object;
 * `conn.info()` is the typed shortcut).
 *
 * @example
 * ```ts
 * import { TCP_INFO } from "./constants.ts";
 * TCP_INFO; // 11
 * ```
 */
export const TCP_INFO = 11;

/**
 * TCP: the congestion-control algorithm by name ("cubic", "reno"); a string
 * value, like Linux's `char[16]`.
 *
 * @example
 * ```ts
 * import { TCP_CONGESTION } from "./constants.ts";
 * TCP_CONGESTION; // 13
 * ```
 */
export const TCP_CONGESTION = 13;

/**
 * TCP: ms unacknowledged data may wait before the connection fails with ETIMEDOUT (RFC 5482).
 *
 * @example
 * ```ts
 * import { TCP_USER_TIMEOUT } from "./constants.ts";
 * TCP_USER_TIMEOUT; // 18
 * ```
 */
export const TCP_USER_TIMEOUT = 18;
