/**
 * Linux errno numbers. Lower layers return `-errno` like the kernel does
 * (`return -EHOSTUNREACH`); the socket layer turns them into typed errors
 * with the symbolic `code` (`"EHOSTUNREACH"`).
 *
 * @module
 */

/** errno values (Linux, x86-64). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EPIPE: 32,
  ENONET: 64,
  EPROTO: 71,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
} as const;

/** A symbolic errno name, e.g. `"ECONNREFUSED"`. */
export type ErrnoCode = keyof typeof Errno;

const NAMES = new Map<number, ErrnoCode>(
  (Object.entries(Errno) as [ErrnoCode, number][]).map(([k, v]) => [v, k]),
);

/**
 * The symbolic name of an errno value (sign ignored), e.g. `errnoName(-111)` → `"ECONNREFUSED"`.
 *
 * @example
 * ```ts
 * import { Errno, errnoName } from "./errno.ts";
 * errnoName(-Errno.EHOSTUNREACH); // "EHOSTUNREACH"
 * ```
 */
export function errnoName(errno: number): ErrnoCode | `E${number}` {
  return NAMES.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

/** Human text for an errno, like `strerror(3)`. */
export const ERRNO_TEXT: Readonly<Record<ErrnoCode, string>> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  EINTR: "interrupted",
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable",
  ENOMEM: "out of memory",
  EACCES: "permission denied",
  EFAULT: "bad address",
  EINVAL: "invalid argument",
  ENFILE: "too many open sockets in the stack",
  EMFILE: "too many open files",
  EPIPE: "broken pipe",
  ENONET: "machine is not on the network",
  EPROTO: "protocol error",
  ENOTSOCK: "not a socket",
  EDESTADDRREQ: "destination address required",
  EMSGSIZE: "message too long",
  EPROTOTYPE: "protocol wrong type for socket",
  ENOPROTOOPT: "protocol not available",
  ENODEV: "no such device",
  EPROTONOSUPPORT: "protocol not supported",
  ESOCKTNOSUPPORT: "socket type not supported",
  EOPNOTSUPP: "operation not supported",
  EAFNOSUPPORT: "address family not supported",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available",
  ENETDOWN: "network is down",
  ENETUNREACH: "network is unreachable",
  ECONNABORTED: "connection aborted",
  ECONNRESET: "connection reset by peer",
  ENOBUFS: "no buffer space available",
  EISCONN: "already connected",
  ENOTCONN: "not connected",
  ESHUTDOWN: "cannot send after shutdown",
  ETIMEDOUT: "timed out",
  ECONNREFUSED: "connection refused",
  EHOSTDOWN: "host is down",
  EHOSTUNREACH: "no route to host",
  EALREADY: "operation already in progress",
  EINPROGRESS: "operation in progress",
};
