/**
 * BSD socket constants with their Linux (x86-64) values, so code ported from
 * C reads the same: `socket(AF_INET, SOCK_DGRAM, 0)`, `MSG_PEEK`,
 * `setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1)`.
 *
 * @module
 */

export * from "./option_names.ts";
export * from "./option_names6.ts";

/**
 * Unspecified family: `connect()` with it disconnects a datagram socket.
 *
 * @example
 * ```ts
 * import { AF_UNSPEC } from "./constants.ts";
 * AF_UNSPEC; // 0
 * ```
 */
export const AF_UNSPEC = 0;

/**
 * Local (Unix-domain) sockets: not supported here (EAFNOSUPPORT).
 *
 * @example
 * ```ts
 * import { AF_UNIX } from "./constants.ts";
 * AF_UNIX; // 1
 * ```
 */
export const AF_UNIX = 1;

/**
 * IPv4.
 *
 * @example
 * ```ts
 * import { AF_INET } from "./constants.ts";
 * AF_INET; // 2
 * ```
 */
export const AF_INET = 2;

/**
 * IPv6 (datagram sockets; stream sockets are not supported over IPv6 yet).
 *
 * @example
 * ```ts
 * import { AF_INET6 } from "./constants.ts";
 * AF_INET6; // 10
 * ```
 */
export const AF_INET6 = 10;

/**
 * Byte stream (TCP).
 *
 * @example
 * ```ts
 * import { SOCK_STREAM } from "./constants.ts";
 * SOCK_STREAM; // 1
 * ```
 */
export const SOCK_STREAM = 1;

/**
 * Datagrams (UDP).
 *
 * @example
 * ```ts
 * import { SOCK_DGRAM } from "./constants.ts";
 * SOCK_DGRAM; // 2
 * ```
 */
export const SOCK_DGRAM = 2;

/**
 * Raw IP: not supported (ESOCKTNOSUPPORT).
 *
 * @example
 * ```ts
 * import { SOCK_RAW } from "./constants.ts";
 * SOCK_RAW; // 3
 * ```
 */
export const SOCK_RAW = 3;

/**
 * Sequenced packets: not supported for AF_INET (ESOCKTNOSUPPORT).
 *
 * @example
 * ```ts
 * import { SOCK_SEQPACKET } from "./constants.ts";
 * SOCK_SEQPACKET; // 5
 * ```
 */
export const SOCK_SEQPACKET = 5;

/**
 * `socket()` type flag: open the descriptor non-blocking (O_NONBLOCK).
 *
 * @example
 * ```ts
 * import { SOCK_NONBLOCK } from "./constants.ts";
 * SOCK_NONBLOCK; // 2048
 * ```
 */
export const SOCK_NONBLOCK = 0o4000;

/**
 * `socket()` type flag: close-on-exec; accepted and ignored (there is no exec).
 *
 * @example
 * ```ts
 * import { SOCK_CLOEXEC } from "./constants.ts";
 * SOCK_CLOEXEC; // 524288
 * ```
 */
export const SOCK_CLOEXEC = 0o2000000;

/**
 * "Any protocol for this type" in `socket()`, and the IP option level (SOL_IP).
 *
 * @example
 * ```ts
 * import { IPPROTO_IP } from "./constants.ts";
 * IPPROTO_IP; // 0
 * ```
 */
export const IPPROTO_IP = 0;

/**
 * ICMP.
 *
 * @example
 * ```ts
 * import { IPPROTO_ICMP } from "./constants.ts";
 * IPPROTO_ICMP; // 1
 * ```
 */
export const IPPROTO_ICMP = 1;

/**
 * TCP.
 *
 * @example
 * ```ts
 * import { IPPROTO_TCP } from "./constants.ts";
 * IPPROTO_TCP; // 6
 * ```
 */
export const IPPROTO_TCP = 6;

/**
 * UDP.
 *
 * @example
 * ```ts
 * import { IPPROTO_UDP } from "./constants.ts";
 * IPPROTO_UDP; // 17
 * ```
 */
export const IPPROTO_UDP = 17;

/**
 * Out-of-band data: not supported for datagrams (EOPNOTSUPP).
 *
 * @example
 * ```ts
 * import { MSG_OOB } from "./constants.ts";
 * MSG_OOB; // 1
 * ```
 */
export const MSG_OOB = 0x1;

/**
 * Receive without removing the datagram from the queue.
 *
 * @example
 * ```ts
 * import { MSG_PEEK } from "./constants.ts";
 * MSG_PEEK; // 2
 * ```
 */
export const MSG_PEEK = 0x2;

/**
 * Accepted and ignored.
 *
 * @example
 * ```ts
 * import { MSG_DONTROUTE } from "./constants.ts";
 * MSG_DONTROUTE; // 4
 * ```
 */
export const MSG_DONTROUTE = 0x4;

/**
 * In: return the datagram's real length. Out: the datagram was longer than the buffer.
 *
 * @example
 * ```ts
 * import { MSG_TRUNC } from "./constants.ts";
 * MSG_TRUNC; // 32
 * ```
 */
export const MSG_TRUNC = 0x20;

/**
 * Do not block: EAGAIN instead of waiting.
 *
 * @example
 * ```ts
 * import { MSG_DONTWAIT } from "./constants.ts";
 * MSG_DONTWAIT; // 64
 * ```
 */
export const MSG_DONTWAIT = 0x40;

/**
 * Receive a queued ICMP error (IP_RECVERR) instead of data.
 *
 * @example
 * ```ts
 * import { MSG_ERRQUEUE } from "./constants.ts";
 * MSG_ERRQUEUE; // 8192
 * ```
 */
export const MSG_ERRQUEUE = 0x2000;

/**
 * Stop receiving.
 *
 * @example
 * ```ts
 * import { SHUT_RD } from "./constants.ts";
 * SHUT_RD; // 0
 * ```
 */
export const SHUT_RD = 0;

/**
 * Stop sending (later sends fail with EPIPE).
 *
 * @example
 * ```ts
 * import { SHUT_WR } from "./constants.ts";
 * SHUT_WR; // 1
 * ```
 */
export const SHUT_WR = 1;

/**
 * Both.
 *
 * @example
 * ```ts
 * import { SHUT_RDWR } from "./constants.ts";
 * SHUT_RDWR; // 2
 * ```
 */
export const SHUT_RDWR = 2;

/**
 * `fcntl()` command: read the descriptor flags.
 *
 * @example
 * ```ts
 * import { F_GETFL } from "./constants.ts";
 * F_GETFL; // 3
 * ```
 */
export const F_GETFL = 3;

/**
 * `fcntl()` command: set the descriptor flags (only O_NONBLOCK changes).
 *
 * @example
 * ```ts
 * import { F_SETFL } from "./constants.ts";
 * F_SETFL; // 4
 * ```
 */
export const F_SETFL = 4;

/**
 * Descriptor flag: open for reading and writing (always set on sockets).
 *
 * @example
 * ```ts
 * import { O_RDWR } from "./constants.ts";
 * O_RDWR; // 2
 * ```
 */
export const O_RDWR = 2;

/**
 * Descriptor flag: calls that would block fail with EAGAIN.
 *
 * @example
 * ```ts
 * import { O_NONBLOCK } from "./constants.ts";
 * O_NONBLOCK; // 2048
 * ```
 */
export const O_NONBLOCK = 0o4000;

/**
 * Readable: data queued, or the receive side shut down.
 *
 * @example
 * ```ts
 * import { POLLIN } from "./constants.ts";
 * POLLIN; // 1
 * ```
 */
export const POLLIN = 0x1;

/**
 * Urgent data (never set for UDP).
 *
 * @example
 * ```ts
 * import { POLLPRI } from "./constants.ts";
 * POLLPRI; // 2
 * ```
 */
export const POLLPRI = 0x2;

/**
 * Writable.
 *
 * @example
 * ```ts
 * import { POLLOUT } from "./constants.ts";
 * POLLOUT; // 4
 * ```
 */
export const POLLOUT = 0x4;

/**
 * A socket error or a queued ICMP error is pending (always reported).
 *
 * @example
 * ```ts
 * import { POLLERR } from "./constants.ts";
 * POLLERR; // 8
 * ```
 */
export const POLLERR = 0x8;

/**
 * Both directions shut down (always reported).
 *
 * @example
 * ```ts
 * import { POLLHUP } from "./constants.ts";
 * POLLHUP; // 16
 * ```
 */
export const POLLHUP = 0x10;

/**
 * The descriptor is not open (always reported).
 *
 * @example
 * ```ts
 * import { POLLNVAL } from "./constants.ts";
 * POLLNVAL; // 32
 * ```
 */
export const POLLNVAL = 0x20;

/**
 * Readable (normal data).
 *
 * @example
 * ```ts
 * import { POLLRDNORM } from "./constants.ts";
 * POLLRDNORM; // 64
 * ```
 */
export const POLLRDNORM = 0x40;

/**
 * Writable (normal data).
 *
 * @example
 * ```ts
 * import { POLLWRNORM } from "./constants.ts";
 * POLLWRNORM; // 256
 * ```
 */
export const POLLWRNORM = 0x100;

/**
 * The receive side was shut down.
 *
 * @example
 * ```ts
 * import { POLLRDHUP } from "./constants.ts";
 * POLLRDHUP; // 8192
 * ```
 */
export const POLLRDHUP = 0x2000;

/**
 * `MSG_ERRQUEUE` error origin: generated locally.
 *
 * @example
 * ```ts
 * import { SO_EE_ORIGIN_LOCAL } from "./constants.ts";
 * SO_EE_ORIGIN_LOCAL; // 1
 * ```
 */
export const SO_EE_ORIGIN_LOCAL = 1;

/**
 * `MSG_ERRQUEUE` error origin: an ICMP message.
 *
 * @example
 * ```ts
 * import { SO_EE_ORIGIN_ICMP } from "./constants.ts";
 * SO_EE_ORIGIN_ICMP; // 2
 * ```
 */
export const SO_EE_ORIGIN_ICMP = 2;

/**
 * Streams: wait until the whole buffer is filled (or EOF, an error, a timeout).
 *
 * @example
 * ```ts
 * import { MSG_WAITALL } from "./constants.ts";
 * MSG_WAITALL; // 256
 * ```
 */
export const MSG_WAITALL = 0x100;

/**
 * Do not raise the SIGPIPE callback on EPIPE (`SocketLayer.onSigpipe`).
 *
 * @example
 * ```ts
 * import { MSG_NOSIGNAL } from "./constants.ts";
 * MSG_NOSIGNAL; // 16384
 * ```
 */
export const MSG_NOSIGNAL = 0x4000;

/**
 * TCP: more data follows; hold a partial segment (cork for this call).
 *
 * @example
 * ```ts
 * import { MSG_MORE } from "./constants.ts";
 * MSG_MORE; // 32768
 * ```
 */
export const MSG_MORE = 0x8000;
