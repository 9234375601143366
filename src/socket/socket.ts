/**
 * The BSD socket object (Linux `struct socket`) and the dispatch contract
 * between it and the protocols (`struct proto_ops`).
 *
 * Every op is **non-blocking and synchronous**: it does what it can now and
 * returns a result or `-errno`, `-EAGAIN` when it would have to wait. Blocking
 * lives in one place, the socket layer (`fd_table.ts`): it awaits the
 * socket's readiness ({@link Socket.wait}, woken by the protocol through
 * `sk.wake()`) and retries, with SO_RCVTIMEO/SO_SNDTIMEO deadlines and an
 * `AbortSignal` in place of signals (tests/socket/fd_table_test.ts). TCP plugs into the same
 * shape with `inetStreamOps` (adding `listen`/`accept`).
 *
 * The protocol control block (`sk`) belongs to the transport layer; this
 * module only describes the fields it needs ({@link SockCommon}), so imports
 * still go down only.
 *
 * @module
 */
import type { SocketInfo } from "./socket_info.ts";
import type { Clock, Timer } from "../core/clock.ts";
import { Errno } from "../core/errno.ts";
import type { SockAddrIn, SockAddrInput } from "./address.ts";
import { O_RDWR } from "./constants.ts";

/**
 * `sk_shutdown` bit: receive side shut down (Linux `RCV_SHUTDOWN`; the
 * transports define the same value, as they may not import this layer).
 *
 * @example
 * ```ts
 * import { RCV_SHUTDOWN } from "./socket.ts";
 * RCV_SHUTDOWN; // 1 (SHUT_RD + 1)
 * ```
 */
export const RCV_SHUTDOWN = 1;
/**
 * `sk_shutdown` bit: send side shut down (Linux `SEND_SHUTDOWN`).
 *
 * @example
 * ```ts
 * import { SEND_SHUTDOWN } from "./socket.ts";
 * SEND_SHUTDOWN; // 2 (SHUT_WR + 1)
 * ```
 */
export const SEND_SHUTDOWN = 2;

/**
 * BSD socket states (Linux `sock->state`, `SS_*`).
 *
 * @example
 * ```ts
 * import { SocketState } from "./socket.ts";
 * SocketState.CONNECTED; // 3, after connect()
 * ```
 */
export const SocketState = {
  UNCONNECTED: 1,
  CONNECTING: 2,
  CONNECTED: 3,
  DISCONNECTING: 4,
} as const;
/**
 * One of {@link SocketState}.
 *
 * @example
 * ```ts
 * import { SocketState } from "./socket.ts";
 * const s: SocketState = SocketState.UNCONNECTED;
 * ```
 */
export type SocketState = typeof SocketState[keyof typeof SocketState];

/**
 * What the socket layer needs of any protocol control block (`struct sock`).
 *
 * @example
 * ```ts
 * import type { SockCommon } from "./socket.ts";
 * const sk: SockCommon = { err: 0, shutdown: 0, wake: () => {} };
 * ```
 */
export interface SockCommon {
  /** Pending error (`sk_err`): a positive errno, or 0. */
  err: number;
  /** {@link RCV_SHUTDOWN} | {@link SEND_SHUTDOWN}. */
  shutdown: number;
  /** Set by the socket: the protocol calls it when readiness may have changed. */
  wake: () => void;
}

/**
 * An ICMP error read with `MSG_ERRQUEUE` (Linux `struct sock_extended_err`).
 *
 * @example
 * ```ts
 * import type { SockExtendedError } from "./socket.ts";
 * const e: SockExtendedError = {
 *   errno: 111, origin: 2, type: 3, code: 3, info: 0, offender: "192.0.2.2",
 * };
 * ```
 */
export interface SockExtendedError {
  /** errno the error maps to (111 = ECONNREFUSED for port unreachable). */
  readonly errno: number;
  /** SO_EE_ORIGIN_ICMP (2). */
  readonly origin: number;
  /** ICMP type and code. */
  readonly type: number;
  /** ICMP code. */
  readonly code: number;
  /** Next-hop MTU for "fragmentation needed", else 0. */
  readonly info: number;
  /** Who sent the ICMP error. */
  readonly offender: string;
}

/**
 * What `recvmsg` reports besides the byte count; one reusable object per
 * socket layer, filled by the op.
 *
 * @example
 * ```ts
 * import { RecvInfo } from "./socket.ts";
 * const info = new RecvInfo();
 * info.flags; // 0 until an op sets MSG_TRUNC
 * ```
 */
export class RecvInfo {
  /** Sender (for the error queue: the failed datagram's destination), or null at end of file. */
  from: SockAddrIn | null = null;
  /** The datagram's destination address (RFC 1122 §4.1.3.5, U5), or null. */
  to: SockAddrIn | null = null;
  /** Out flags: MSG_TRUNC when the datagram was longer than the buffer, MSG_ERRQUEUE for errors. */
  flags = 0;
  /** The queued ICMP error for MSG_ERRQUEUE, else null. */
  error: SockExtendedError | null = null;
}

/**
 * The per-family, per-type operations (`struct proto_ops`). Results are
 * numbers: ≥ 0 success, `-errno` failure. An op may put a human reason for
 * its failure in `sock.why` (used in the error message).
 *
 * @example
 * ```ts
 * import type { ProtoOps, SockCommon } from "./socket.ts";
 * // const inetDgramOps: ProtoOps<UdpSock> = new InetDgramOps(udp, config);
 * type AnyOps = ProtoOps<SockCommon>;
 * ```
 */
export interface ProtoOps<S extends SockCommon = SockCommon> {
  /** bind(2): 0 or -errno. */
  bind(sock: Socket<S>, addr: SockAddrInput): number;
  /**
   * connect(2) without waiting: 0, -EINPROGRESS when the caller must wait for
   * POLLOUT and then read `sk.err` (streams), or -errno. `{ family: AF_UNSPEC }`
   * disconnects.
   */
  connect(sock: Socket<S>, addr: SockAddrInput): number;
  /** Send once: bytes sent or -errno (-EAGAIN: would block). `to` undefined: the connected peer. */
  sendmsg(sock: Socket<S>, data: Uint8Array, flags: number, to: SockAddrInput | undefined): number;
  /** Receive once into `buf`: the recvfrom(2) return value or -errno (-EAGAIN: would block). */
  recvmsg(sock: Socket<S>, buf: Uint8Array, flags: number, info: RecvInfo): number;
  /**
   * getsockname(2) (`peer` false) / getpeername(2): the address, or -errno
   * (ENOTCONN). `forAccept` is accept4's own lookup (Linux `getname(…, 2)`):
   * it skips the "closed → ENOTCONN" test, since an accepted connection may
   * already be reset.
   */
  getname(sock: Socket<S>, peer: boolean, forAccept?: boolean): SockAddrIn | number;
  /** shutdown(2) with SHUT_RD/SHUT_WR/SHUT_RDWR: 0 or -errno. */
  shutdown(sock: Socket<S>, how: number): number;
  /** close(2): leave every table and free everything queued. */
  release(sock: Socket<S>): void;
  /** setsockopt(2) for the levels this family knows: 0 or -errno (ENOPROTOOPT). */
  setsockopt(sock: Socket<S>, level: number, name: number, value: number): number;
  /** getsockopt(2): the value (≥ 0) or -errno (ENOPROTOOPT). */
  getsockopt(sock: Socket<S>, level: number, name: number): number;
  /**
   * setsockopt(2) for an option whose value is a string (TCP_CONGESTION):
   * 0 or -errno. Absent: every such option is EINVAL.
   */
  setsockoptString?(sock: Socket<S>, level: number, name: number, value: string): number;
  /**
   * getsockopt(2) for an option whose value is not a number (TCP_INFO's
   * struct, TCP_CONGESTION's name): the value, or -errno (a number), or
   * undefined when `name` is a plain number option.
   */
  getsockoptValue?(
    sock: Socket<S>,
    level: number,
    name: number,
  ): object | string | number | undefined;
  /** Current readiness as a POLL* mask (`sock->ops->poll`). */
  poll(sock: Socket<S>): number;
  /**
   * Streams: the outcome of a connect(2) that returned -EINPROGRESS or
   * -EALREADY, once the socket shows POLLOUT/POLLHUP/an error (the tail of
   * `inet_stream_connect`): 0 connected, -EINPROGRESS/-EALREADY still
   * connecting, or -errno. Absent: the pending `sk.err` decides.
   */
  connectResult?(sock: Socket<S>): number;
  /** The socket's row for `SocketLayer.list()` (absent: the socket is not listed). */
  info?(sock: Socket<S>): SocketInfo;
  /** listen(2) (streams; absent: EOPNOTSUPP like Linux `sock_no_listen`). */
  listen?(sock: Socket<S>, backlog: number): number;
  /**
   * accept(2) without waiting (streams; absent: EOPNOTSUPP): the new
   * connection's control block, or -EAGAIN (wait for POLLIN) / -errno.
   */
  accept?(sock: Socket<S>): S | number;
}

/**
 * Fields for {@link Socket}'s constructor.
 *
 * @example
 * ```ts
 * // new Socket({ family: AF_INET, type: SOCK_DGRAM, protocol: 17, ops, sk, clock })
 * ```
 */
export interface SocketInit<S extends SockCommon> {
  /** Address family. */
  family: number;
  /** Socket type. */
  type: number;
  /** Protocol number. */
  protocol: number;
  /** The protocol's operations. */
  ops: ProtoOps<S>;
  /** The protocol's control block. */
  sk: S;
  /** The stack clock (timeouts). */
  clock: Clock;
  /** Waiter records shared by the sockets of one layer (default: the socket's own). */
  pool?: WaitPool;
}

/**
 * Waiter records and the promise-executor capture, shared by every socket of
 * one `SocketLayer`: a socket with nobody waiting on it owns no waiter
 * arrays and no closures, and a wait allocates nothing but its promise.
 *
 * @example
 * ```ts
 * import { WaitPool } from "./socket.ts";
 * new WaitPool().free.length; // 0
 * ```
 */
export class WaitPool {
  /** Released waiter records, reused by the next wait (at most {@link WaitPool.MAX}). */
  readonly free: Waiter[] = [];
  /** The resolve function the executor captured last. */
  captured: (r: number) => void = noResolve;
  /** A promise executor that keeps its resolve function in {@link WaitPool.captured}. */
  readonly capture = (resolve: (r: number) => void): void => {
    this.captured = resolve;
  };
  /** Most released records kept. */
  static readonly MAX = 64;
}

/** A socket's wait list before anyone waits (shared, never written). */
const NO_WAITERS: Waiter[] = [];

/** One blocked call on a socket. */
export interface Waiter {
  /** POLL* bits that end the wait. */
  events: number;
  /** Also wake when `sk.err` is set (blocking calls; poll uses POLLERR instead). */
  onError: boolean;
  /** This wait keeps the process alive while the socket is ref'd. */
  holds: boolean;
  /** Settles the caller's promise (0, or a negative errno). */
  resolve: (r: number) => void;
  /** The deadline timer (SO_RCVTIMEO / SO_SNDTIMEO), or null. */
  timer: Timer | null;
  /** The caller's abort signal, if any. */
  signal: AbortSignal | undefined;
  /** The abort listener added to {@link Waiter.signal}, or null. */
  onAbort: (() => void) | null;
}

function noResolve(_r: number): void {}

function newWaiter(): Waiter {
  return {
    events: 0,
    onError: false,
    holds: true,
    resolve: noResolve,
    timer: null,
    signal: undefined,
    onAbort: null,
  };
}

/**
 * One socket: the descriptor-side state (`struct socket` + `struct file`
 * flags) around a protocol control block.
 *
 * @example
 * ```ts
 * // Created by SocketLayer.socket(); tests reach it with layer.get(fd).
 * ```
 */
export class Socket<S extends SockCommon = SockCommon> {
  /** family | type << 8 | protocol << 16 (one field, not three: 8 bytes each per socket). */
  readonly #kind: number;
  /** The protocol's operations. */
  readonly ops: ProtoOps<S>;
  /** The protocol's control block. */
  readonly sk: S;
  /** The descriptor, -1 once closed. */
  fd: number = -1;
  /** BSD state (`sock->state`). */
  state: SocketState = SocketState.UNCONNECTED;
  /** Descriptor flags (`f_flags`): O_RDWR, O_NONBLOCK. */
  fileFlags: number = O_RDWR;
  /** SO_RCVTIMEO in ms, 0 = wait forever. */
  rcvTimeo = 0;
  /** SO_SNDTIMEO in ms, 0 = wait forever. */
  sndTimeo = 0;
  /** Why the last op failed, when the errno alone does not say (error paths only). */
  why: string | null = null;
  readonly #clock: Clock;
  #waiters: Waiter[] = NO_WAITERS;
  readonly #pool: WaitPool;
  /**
   * Bit 0: {@link Socket.closed}. Bit 1: waiters do NOT hold the process
   * alive (Deno's `unref()`; held is the default), see {@link Socket.setRef}.
   * One field for two booleans.
   */
  #flags = 0;

  /** A socket from its parts (made by `SocketLayer.socket()`). */
  constructor(init: SocketInit<S>) {
    this.#kind = init.family | (init.type << 8) | (init.protocol << 16);
    this.ops = init.ops;
    this.sk = init.sk;
    this.#clock = init.clock;
    this.#pool = init.pool ?? new WaitPool();
    // One closure per socket (sk_data_ready and friends), none per packet.
    this.sk.wake = this.wake.bind(this); // a bound function: 48 bytes, a closure and its context 96
  }

  /** Address family (AF_INET). */
  get family(): number {
    return this.#kind & 0xff;
  }
  /** SOCK_STREAM or SOCK_DGRAM. */
  get type(): number {
    return (this.#kind >>> 8) & 0xff;
  }
  /** IPPROTO_TCP or IPPROTO_UDP. */
  get protocol(): number {
    return this.#kind >>> 16;
  }

  /** True once closed. */
  get closed(): boolean {
    return (this.#flags & 1) !== 0;
  }
  set closed(on: boolean) {
    this.#flags = on ? this.#flags | 1 : this.#flags & ~1;
  }

  /** Waiters hold the process alive (Deno's `ref()`, the default). */
  get #refd(): boolean {
    return (this.#flags & 2) === 0;
  }
  set #refd(on: boolean) {
    this.#flags = on ? this.#flags & ~2 : this.#flags | 2;
  }

  /** Callers waiting on this socket. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Take the failure reason the last op left, if any. */
  takeWhy(): string | null {
    const w = this.why;
    this.why = null;
    return w;
  }

  /**
   * Resolve with 0 once `ops.poll()` shows any of `events` (or, with
   * `onError`, once `sk.err` is set); with -EAGAIN at `deadline` (clock ms,
   * `Infinity` for none), -EINTR when `signal` aborts, -EBADF when the socket
   * is closed. Never rejects. While it waits it keeps the host process alive
   * (a clock ref, like a pending Deno op) if `hold` and the socket is ref'd
   * ({@link Socket.setRef}).
   */
  wait(
    events: number,
    deadline: number,
    signal: AbortSignal | undefined,
    onError: boolean,
    hold = true,
  ): Promise<number> {
    if (this.closed) return Promise.resolve(-Errno.EBADF);
    if (this.#ready(events, onError)) return Promise.resolve(0);
    if (signal?.aborted) return Promise.resolve(-Errno.EINTR);
    let delay = Infinity;
    if (deadline !== Infinity) {
      delay = deadline - this.#clock.now();
      if (delay <= 0) return Promise.resolve(-Errno.EAGAIN);
    }
    // One promise per wait and nothing else on the common path: the
    // executor is bound once and waiter records are reused.
    const pool = this.#pool;
    const p = new Promise<number>(pool.capture);
    const w = pool.free.pop() ?? newWaiter();
    w.events = events;
    w.onError = onError;
    w.holds = hold;
    w.resolve = pool.captured;
    pool.captured = noResolve;
    w.signal = signal;
    if (delay !== Infinity) {
      w.timer = this.#clock.setTimer(delay, () => this.#settle(w, -Errno.EAGAIN));
    }
    if (signal !== undefined) {
      w.onAbort = () => this.#settle(w, -Errno.EINTR);
      signal.addEventListener("abort", w.onAbort, { once: true });
    }
    // A blocked caller keeps the process alive, like a pending Deno op.
    if (this.#refd && hold) this.#clock.ref();
    // The first waiter makes an array of exactly one slot, kept for later
    // waits (a pushed-to empty array would reserve 17 slots per socket).
    if (this.#waiters === NO_WAITERS) this.#waiters = [w];
    else this.#waiters.push(w);
    return p;
  }

  /**
   * Whether callers blocked on this socket keep the host process alive
   * (default true; Deno's `conn.ref()` / `conn.unref()`).
   */
  setRef(on: boolean): void {
    if (on === this.#refd) return;
    this.#refd = on;
    for (let i = 0; i < this.#waiters.length; i++) {
      if (!this.#waiters[i]!.holds) continue;
      if (on) this.#clock.ref();
      else this.#clock.unref();
    }
  }

  /** Wake the waiters whose condition now holds (`sk_data_ready`, `sk_state_change`, …). */
  wake(): void {
    // Backwards, because settling removes the entry; resolving a Promise runs
    // nothing synchronously, so the list cannot change under us otherwise.
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (this.closed) this.#settle(w, -Errno.EBADF);
      else if (this.#ready(w.events, w.onError)) this.#settle(w, 0);
    }
  }

  /** Mark closed and fail every waiter with EBADF. */
  markClosed(): void {
    this.closed = true;
    this.fd = -1;
    this.wake();
  }

  #ready(events: number, onError: boolean): boolean {
    if (onError && this.sk.err !== 0) return true;
    return (this.ops.poll(this) & events) !== 0;
  }

  #settle(w: Waiter, r: number): void {
    const ws = this.#waiters;
    const i = ws.indexOf(w);
    if (i < 0) return;
    // In place, order kept: splice would allocate the array of what it removed.
    for (let j = i + 1; j < ws.length; j++) ws[j - 1] = ws[j]!;
    ws.pop();
    if (this.#refd && w.holds) this.#clock.unref();
    if (w.timer !== null) this.#clock.clearTimer(w.timer);
    if (w.onAbort !== null) w.signal?.removeEventListener("abort", w.onAbort);
    const resolve = w.resolve;
    w.resolve = noResolve;
    w.timer = null;
    w.signal = undefined;
    w.onAbort = null;
    const free = this.#pool.free;
    if (free.length < WaitPool.MAX) free.push(w);
    resolve(r);
  }
}
