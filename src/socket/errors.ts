/**
 * Socket errors, named like Deno's (`Deno.errors.ConnectionRefused`, …), each
 * carrying the errno `code` the BSD layer would return (`"ECONNREFUSED"`) and
 * its number. Messages say what failed and why.
 *
 * Under Deno every class whose name Deno has (`ConnectionRefused`,
 * `TimedOut`, `BadResource`, …) extends the matching `Deno.errors` class, so
 * `e instanceof Deno.errors.ConnectionRefused` holds for our errors as it does
 * for `Deno.connect`'s. In browsers they extend `Error`. Either way
 * `e instanceof NetError` is true for every one of them and `code`/`errno`
 * are set.
 *
 * @module
 */
import { Errno, ERRNO_TEXT, type ErrnoCode, errnoName } from "../core/errno.ts";

/** Marks every error this module makes, whichever base class it extends. */
const NET_ERROR = Symbol.for("netwasm.NetError");

/**
 * Constructor of an error class of this module: `(errno, message, options?)`.
 *
 * @example
 * ```ts
 * import { ConnectionReset, type NetErrorConstructor } from "./errors.ts";
 * const Cls: NetErrorConstructor = ConnectionReset;
 * new Cls(104, "read: connection reset by peer").code; // "ECONNRESET"
 * ```
 */
export type NetErrorConstructor = new (
  errno: number,
  message: string,
  options?: ErrorOptions,
) => NetError;

/** The fields every error of this module has (set by {@link initNetError}). */
interface NetErrorFields {
  code: ErrnoCode | `E${number}`;
  errno: number;
  [NET_ERROR]: true;
}

function initNetError(e: Error, errno: number): void {
  const f = e as Error & NetErrorFields;
  f.errno = Math.abs(errno);
  f.code = errnoName(f.errno);
  f[NET_ERROR] = true;
}

/**
 * Base class of every socket error. `instanceof NetError` is true for all of
 * them, including those that extend a `Deno.errors` class under Deno.
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
  declare readonly code: ErrnoCode | `E${number}`;
  /** errno number (positive). */
  declare readonly errno: number;
  /**
   * An error for `errno`.
   *
   * @param errno errno value (sign ignored)
   * @param message what failed and why
   * @param options `cause`
   */
  constructor(errno: number, message: string, options?: ErrorOptions) {
    super(message, options);
    initNetError(this, errno);
  }

  /** The class name (`"ConnectionRefused"`). */
  override get name(): string {
    return this.constructor.name;
  }

  /** True for every error of this module, whichever base class it has. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== NetError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null &&
      (value as Partial<NetErrorFields>)[NET_ERROR] === true;
  }
}

type DenoErrorClass = new (message?: string, options?: ErrorOptions) => Error;

/** `Deno.errors` when running under Deno. */
const DENO_ERRORS: Readonly<Record<string, DenoErrorClass | undefined>> | undefined =
  (globalThis as { Deno?: { errors?: Record<string, DenoErrorClass | undefined> } }).Deno?.errors;

/**
 * The base of the error class named `denoName`: a subclass of
 * `Deno.errors[denoName]` with `code`/`errno` under Deno, {@link NetError}
 * elsewhere.
 */
function netErrorBase(denoName: string): NetErrorConstructor {
  const Parent = DENO_ERRORS?.[denoName];
  if (Parent === undefined) return NetError;
  class DenoNetError extends Parent {
    constructor(errno: number, message: string, options?: ErrorOptions) {
      super(message, options);
      initNetError(this, errno);
    }
    override get name(): string {
      return this.constructor.name;
    }
    override set name(_: string) {
      // Deno's constructors assign their own name; ours is the class name.
    }
  }
  return DenoNetError as unknown as NetErrorConstructor;
}

/** The base class of `ConnectionRefused` (see the module doc). @internal */
export const ConnectionRefusedBase: NetErrorConstructor = netErrorBase("ConnectionRefused");
/** The base class of `ConnectionReset` (see the module doc). @internal */
export const ConnectionResetBase: NetErrorConstructor = netErrorBase("ConnectionReset");
/** The base class of `ConnectionAborted` (see the module doc). @internal */
export const ConnectionAbortedBase: NetErrorConstructor = netErrorBase("ConnectionAborted");
/** The base class of `TimedOut` (see the module doc). @internal */
export const TimedOutBase: NetErrorConstructor = netErrorBase("TimedOut");
/** The base class of `BrokenPipe` (see the module doc). @internal */
export const BrokenPipeBase: NetErrorConstructor = netErrorBase("BrokenPipe");
/** The base class of `NotConnected` (see the module doc). @internal */
export const NotConnectedBase: NetErrorConstructor = netErrorBase("NotConnected");
/** The base class of `AddrInUse` (see the module doc). @internal */
export const AddrInUseBase: NetErrorConstructor = netErrorBase("AddrInUse");
/** The base class of `AddrNotAvailable` (see the module doc). @internal */
export const AddrNotAvailableBase: NetErrorConstructor = netErrorBase("AddrNotAvailable");
/** The base class of `NetworkUnreachable` (see the module doc). @internal */
export const NetworkUnreachableBase: NetErrorConstructor = netErrorBase("NetworkUnreachable");
/** The base class of `WouldBlock` (see the module doc). @internal */
export const WouldBlockBase: NetErrorConstructor = netErrorBase("WouldBlock");
/** The base class of `Interrupted` (see the module doc). @internal */
export const InterruptedBase: NetErrorConstructor = netErrorBase("Interrupted");
/** The base class of `PermissionDenied` (see the module doc). @internal */
export const PermissionDeniedBase: NetErrorConstructor = netErrorBase("PermissionDenied");
/** The base class of `BadResource` (see the module doc). @internal */
export const BadResourceBase: NetErrorConstructor = netErrorBase("BadResource");
/** The base class of `NotSupported` (see the module doc). @internal */
export const NotSupportedBase: NetErrorConstructor = netErrorBase("NotSupported");

/** ECONNREFUSED: nobody listens at the destination (RST, or ICMP port unreachable). */
export class ConnectionRefused extends ConnectionRefusedBase {}
/** ECONNRESET: the peer reset the connection. */
export class ConnectionReset extends ConnectionResetBase {}
/** ECONNABORTED: the connection was aborted locally. */
export class ConnectionAborted extends ConnectionAbortedBase {}
/** ETIMEDOUT: no answer in time. */
export class TimedOut extends TimedOutBase {}
/** EPIPE: write after the sending side was shut down. */
export class BrokenPipe extends BrokenPipeBase {}
/** ENOTCONN: the socket is not connected. */
export class NotConnected extends NotConnectedBase {}
/** EISCONN: the socket is already connected (Deno has no such class). */
export class AlreadyConnected extends NetError {}
/** EADDRINUSE: the local address is taken. */
export class AddrInUse extends AddrInUseBase {}
/** EADDRNOTAVAIL: the address is not one of ours, or no port is left. */
export class AddrNotAvailable extends AddrNotAvailableBase {}
/** ENETUNREACH: no route to that network. */
export class NetworkUnreachable extends NetworkUnreachableBase {}
/**
 * EHOSTUNREACH: the host did not answer ARP, or an ICMP host unreachable
 * came back (Deno has no such class).
 */
export class HostUnreachable extends NetError {}
/** EAGAIN: a non-blocking call would block. */
export class WouldBlock extends WouldBlockBase {}
/** EINTR: the call was interrupted (a BSD call's AbortSignal aborted). */
export class Interrupted extends InterruptedBase {}
/** EACCES: permission denied (e.g. broadcast without SO_BROADCAST). */
export class PermissionDenied extends PermissionDeniedBase {}
/** EMSGSIZE: the message is too long for the socket or the path (Deno has no such class). */
export class MessageTooLong extends NetError {}
/** ENOBUFS: the packet arena is exhausted (Deno has no such class). */
export class NoBufferSpace extends NetError {}
/** EOPNOTSUPP: the operation is not supported (multicast, SO_REUSEPORT, …). */
export class NotSupported extends NotSupportedBase {}
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
export class BadResource extends BadResourceBase {}
/** Any other errno (EINVAL, EDESTADDRREQ, ENOTSOCK, …). */
export class SocketError extends NetError {}

const CLASSES: Partial<Record<ErrnoCode, NetErrorConstructor>> = {
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
  EOPNOTSUPP: NotSupported,
  EBADF: BadResource,
};

/**
 * The typed error for `errno` (sign ignored): `"<what>: <strerror>"`, with an
 * optional reason appended (`… : address not available on any interface`).
 *
 * @example
 * ```ts
 * import { errnoError } from "./errors.ts";
 * const e = errnoError(-99, "Cannot bind 192.0.2.9:80", "not an address of any interface");
 * e.code; // "EADDRNOTAVAIL"
 * ```
 */
export function errnoError(errno: number, what: string, why?: string): NetError {
  const name = errnoName(errno);
  const text = (ERRNO_TEXT as Record<string, string>)[name] ?? `errno ${Math.abs(errno)}`;
  const Cls = (CLASSES as Record<string, NetErrorConstructor>)[name] ?? SocketError;
  return new Cls(errno, `${what}: ${why ?? text}`);
}

export { Errno };
