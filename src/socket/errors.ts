/**
 * Socket errors, named like Deno's (`Deno.errors.ConnectionRefused`, …), each
 * carrying the errno `code` the BSD layer would return (`"ECONNREFUSED"`) and
 * its number. Messages say what failed and why.
 *
 * @module
 */
import { Errno, ERRNO_TEXT, type ErrnoCode, errnoName } from "../core/errno.ts";

/**
 * Base class of every socket error.
 *
 * @example
 * ```ts
 * import { NetError, errnoError } from "./errors.ts";
 * const e = errnoError(-111, "connect 192.0.2.2:80");
 * e instanceof NetError; // true
 * e.code; // "ECONNREFUSED"
 * ```
 */
export class NetError extends Error {
  /** Symbolic errno, e.g. `"ECONNREFUSED"`. */
  readonly code: ErrnoCode | `E${number}`;
  /** errno number (positive). */
  readonly errno: number;
  constructor(errno: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.errno = Math.abs(errno);
    this.code = errnoName(this.errno);
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** ECONNREFUSED: nobody listens at the destination (RST, or ICMP port unreachable). */
export class ConnectionRefused extends NetError {}
/** ECONNRESET: the peer reset the connection. */
export class ConnectionReset extends NetError {}
/** ECONNABORTED: the connection was aborted locally. */
export class ConnectionAborted extends NetError {}
/** ETIMEDOUT: no answer in time. */
export class TimedOut extends NetError {}
/** EPIPE: write after the sending side was shut down. */
export class BrokenPipe extends NetError {}
/** ENOTCONN: the socket is not connected. */
export class NotConnected extends NetError {}
/** EISCONN: the socket is already connected. */
export class AlreadyConnected extends NetError {}
/** EADDRINUSE: the local address is taken. */
export class AddrInUse extends NetError {}
/** EADDRNOTAVAIL: the address is not one of ours, or no port is left. */
export class AddrNotAvailable extends NetError {}
/** ENETUNREACH: no route to that network. */
export class NetworkUnreachable extends NetError {}
/** EHOSTUNREACH: the host did not answer ARP, or an ICMP host unreachable came back. */
export class HostUnreachable extends NetError {}
/** EAGAIN: a non-blocking call would block. */
export class WouldBlock extends NetError {}
/** EINTR: the call was aborted through its AbortSignal. */
export class Interrupted extends NetError {}
/** EACCES: permission denied (e.g. broadcast without SO_BROADCAST). */
export class PermissionDenied extends NetError {}
/** EMSGSIZE: the message is too long for the socket or the path. */
export class MessageTooLong extends NetError {}
/** ENOBUFS: the packet arena is exhausted. */
export class NoBufferSpace extends NetError {}
/**
 * EBADF: the descriptor or connection is closed (Deno's `BadResource`), also
 * what calls still pending on a socket get when it is closed.
 *
 * @example
 * ```ts
 * import { BadResource, errnoError } from "./errors.ts";
 * errnoError(-9, "Cannot receive on socket 3") instanceof BadResource; // true
 * ```
 */
export class BadResource extends NetError {}
/** Any other errno (EINVAL, EDESTADDRREQ, ENOTSOCK, …). */
export class SocketError extends NetError {}

const CLASSES: Partial<Record<ErrnoCode, new (errno: number, message: string) => NetError>> = {
  ECONNREFUSED: ConnectionRefused,
  ECONNRESET: ConnectionReset,
  ECONNABORTED: ConnectionAborted,
  ETIMEDOUT: TimedOut,
  EPIPE: BrokenPipe,
  ENOTCONN: NotConnected,
  EISCONN: AlreadyConnected,
  EADDRINUSE: AddrInUse,
  EADDRNOTAVAIL: AddrNotAvailable,
  ENETUNREACH: NetworkUnreachable,
  EHOSTUNREACH: HostUnreachable,
  EAGAIN: WouldBlock,
  EINTR: Interrupted,
  EACCES: PermissionDenied,
  EMSGSIZE: MessageTooLong,
  ENOBUFS: NoBufferSpace,
  EBADF: BadResource,
};

/**
 * The typed error for `errno` (sign ignored): `"<what>: <strerror>"`, with an
 * optional reason appended (`… : address not available on any interface`).
 *
 * @example
 * ```ts
 * import { errnoError } from "./errors.ts";
 * throw errnoError(-99, "Cannot bind 192.0.2.9:80", "not an address of any interface");
 * ```
 */
export function errnoError(errno: number, what: string, why?: string): NetError {
  const name = errnoName(errno);
  const text = (ERRNO_TEXT as Record<string, string>)[name] ?? `errno ${Math.abs(errno)}`;
  const Cls = (CLASSES as Record<string, new (errno: number, message: string) => NetError>)[name] ??
    SocketError;
  return new Cls(errno, `${what}: ${why ?? text}`);
}

export { Errno };
