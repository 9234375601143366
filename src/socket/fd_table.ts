/**
 * The BSD socket layer of one stack: a descriptor table (Linux
 * `sockfd_lookup_light`, `sock_alloc_file`, `fd_install` → EBADF, ENOTSOCK,
 * ENFILE; tests/socket/fd_table_test.ts), `socket()` with the per-family registry (`inetsw`), and the
 * system calls. Calls that can block in C return Promises; the rest are
 * synchronous and throw typed errors (`NetError` subclasses with the errno
 * `code`).
 *
 * Blocking (tests/socket/fd_table_test.ts, inet_stream_io_test.ts). Protocol ops never wait. A blocking call tries
 * the op; on EAGAIN it fails at once when the descriptor is O_NONBLOCK or
 * the call has MSG_DONTWAIT, and otherwise awaits the socket's readiness and
 * tries again, until SO_RCVTIMEO/SO_SNDTIMEO expires (EAGAIN) or the
 * `signal` aborts (EINTR, our `signal_pending`). An EAGAIN while the socket
 * already reports itself ready is a real error (e.g. no ephemeral port left
 * for the automatic bind) and is returned, not waited on.
 *
 * Closing a descriptor fails the calls blocked on it with EBADF (Linux would
 * leave them asleep; here that would leak a pending Promise).
 *
 * Descriptors 0–2 stand for the host process's stdin/stdout/stderr: they
 * are open but are not sockets (ENOTSOCK), so sockets start at 3 like in a C
 * program, and closing one of them frees the number.
 *
 * @module
 */
import { type Clock, holdProcess } from "../core/clock.ts";
import { Errno } from "../core/errno.ts";
import { describeAddr, type SockAddrIn, type SockAddrInput } from "./address.ts";
import {
  F_GETFL,
  F_SETFL,
  IPPROTO_IP,
  MSG_DONTWAIT,
  MSG_ERRQUEUE,
  MSG_NOSIGNAL,
  MSG_PEEK,
  MSG_WAITALL,
  O_NONBLOCK,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLRDHUP,
  SO_LINGER,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  type SOL_TCP,
  type TCP_CONGESTION,
  type TCP_INFO,
} from "./constants.ts";
import { errnoError, type NetError } from "./errors.ts";
import type { SocketInfo } from "./socket_info.ts";
import type { TcpInfo } from "./tcp_info.ts";
import {
  type ProtoOps,
  RecvInfo,
  type SockCommon,
  Socket,
  SocketState,
  type SockExtendedError,
  WaitPool,
} from "./socket.ts";

/** Default cap on open sockets per stack: 1,048,576, Linux's `fs.nr_open` (servers hold 10,000s). */
export const DEFAULT_MAX_SOCKETS = 1 << 20;

/**
 * Options for {@link SocketLayer}.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "../core/clock.ts";
 * import { SocketLayer, type SocketLayerOptions } from "./fd_table.ts";
 * const o: SocketLayerOptions = { clock: new VirtualClock(), maxSockets: 64 };
 * new SocketLayer(o).maxSockets; // 64
 * ```
 */
export interface SocketLayerOptions {
  /** The stack's clock (timeouts). */
  clock: Clock;
  /**
   * Most sockets open at once; more fail with ENFILE (default
   * {@link DEFAULT_MAX_SOCKETS}, Linux `fs.nr_open`). The table grows as
   * sockets open, so a high cap costs nothing until used; lower it to bound
   * what one program may hold.
   */
  maxSockets?: number;
}

/**
 * Options of the calls that may block.
 *
 * @example
 * ```ts
 * import type { BlockingOptions } from "./fd_table.ts";
 * const o: BlockingOptions = { signal: AbortSignal.timeout(1000) };
 * // await stack.sockets.recvfrom(fd, buf, 0, o) → Interrupted (EINTR) after 1 s
 * ```
 */
export interface BlockingOptions {
  /** Abort the wait: the call fails with EINTR (`Interrupted`). */
  signal?: AbortSignal;
  /**
   * Keep the host process alive while the call waits (default true, like a
   * pending Deno socket op; a socket's `Socket.setRef(false)` — `unref()` on
   * `Conn`, `Listener`, `DatagramConn` — turns it off for all its calls).
   */
  keepAlive?: boolean;
}

/**
 * What `recvfrom` returns.
 *
 * @example
 * ```ts
 * import type { RecvResult } from "./fd_table.ts";
 * function show(r: RecvResult): string {
 *   return `${r.bytes} bytes from ${r.from?.address}:${r.from?.port}`;
 * }
 * ```
 */
export interface RecvResult {
  /** recvfrom(2)'s return value: bytes copied, or the datagram's real length with MSG_TRUNC. */
  readonly bytes: number;
  /** `msg_flags`: MSG_TRUNC when the datagram did not fit, MSG_ERRQUEUE for an error. */
  readonly flags: number;
  /** The sender; null at end of file (receive side shut down). */
  readonly from: SockAddrIn | null;
  /** Where the datagram was sent: our address and port (RFC 1122 §4.1.3.5, U5). */
  readonly to: SockAddrIn | null;
  /** With MSG_ERRQUEUE: the ICMP error. */
  readonly error: SockExtendedError | null;
}

/**
 * One entry of {@link SocketLayer.poll}: `revents` is filled in.
 *
 * @example
 * ```ts
 * import type { PollFd } from "./fd_table.ts";
 * const p: PollFd = { fd: 3, events: 1, revents: 0 }; // events: POLLIN
 * ```
 */
export interface PollFd {
  /** Descriptor (negative: ignored). */
  fd: number;
  /** POLL* bits asked for. */
  events: number;
  /** POLL* bits that are ready (filled in). */
  revents: number;
}

/**
 * C's `struct linger` for `setsockopt(fd, SOL_SOCKET, SO_LINGER, …)`.
 *
 * @example
 * ```ts
 * import type { Linger } from "./fd_table.ts";
 * const resetOnClose: Linger = { onoff: 1, linger: 0 }; // close() sends RST
 * ```
 */
export interface Linger {
  /** Non-zero / true: linger on. */
  readonly onoff: number | boolean;
  /** Seconds; 0 with `onoff` makes close() abort the connection (RST). */
  readonly linger: number;
}

/**
 * Makes the ops and control block of a new socket (an `inetsw` entry).
 *
 * @example
 * ```ts
 * // layer.register(AF_INET, SOCK_DGRAM, IPPROTO_UDP, () => ({ ops, sk: udp.createSock() }));
 * ```
 */
export type SocketFactory<S extends SockCommon> = () => { ops: ProtoOps<S>; sk: S };

interface Registered {
  protocol: number;
  create: SocketFactory<SockCommon>;
}

/** The stdio placeholders in descriptors 0–2. */
const NOT_A_SOCKET = { kind: "stdio" } as const;
type Entry = Socket | typeof NOT_A_SOCKET | undefined;

const SOCK_TYPE_MASK = 0xf;
/** Linux `SOCK_MAX` and `NPROTO`: beyond them socket() fails before any lookup. */
const SOCK_MAX = 11;
const NPROTO = 46;
const IPPROTO_MAX = 256;

/**
 * The descriptor table and system calls of one stack (`stack.sockets`).
 *
 * @example
 * ```ts
 * import { AF_INET, SOCK_DGRAM } from "./constants.ts";
 * // const s = stack.sockets;
 * // const fd = s.socket(AF_INET, SOCK_DGRAM, 0);
 * // s.bind(fd, { address: "0.0.0.0", port: 5353 });
 * // const { bytes, from } = await s.recvfrom(fd, new Uint8Array(1500));
 * // s.close(fd);
 * ```
 */
export class SocketLayer {
  /** Most sockets open at once (ENFILE beyond). */
  readonly maxSockets: number;
  /**
   * The SIGPIPE stand-in (tests/socket/inet_stream_io_test.ts): called with the descriptor when
   * a send fails with EPIPE and the call had no MSG_NOSIGNAL. The send still
   * fails with EPIPE (`BrokenPipe`). Null (default): nothing happens.
   */
  onSigpipe: ((fd: number) => void) | null = null;
  readonly #clock: Clock;
  readonly #table: Entry[] = [NOT_A_SOCKET, NOT_A_SOCKET, NOT_A_SOCKET];
  /** No free descriptor below this one (the search for the lowest free one starts here). */
  #firstFree = 3;
  /** Waiter records every socket of this layer shares. */
  readonly #waitPool = new WaitPool();
  readonly #families = new Map<number, Map<number, Registered[]>>();
  readonly #info = new RecvInfo();
  readonly #infoSources: (() => SocketInfo[])[] = [];
  #open = 0;

  /** An empty descriptor table (0–2 are stdio placeholders). */
  constructor(options: SocketLayerOptions) {
    this.#clock = options.clock;
    this.maxSockets = options.maxSockets ?? DEFAULT_MAX_SOCKETS;
    if (!(Number.isInteger(this.maxSockets) && this.maxSockets >= 1)) {
      throw new RangeError(`maxSockets must be a positive integer, got ${this.maxSockets}`);
    }
  }

  /** The stack's clock (timeouts, keep-alive). */
  get clock(): Clock {
    return this.#clock;
  }

  /** Sockets currently open. */
  get openSockets(): number {
    return this.#open;
  }

  /**
   * Make `family`/`type`/`protocol` available to {@link socket} (an `inetsw`
   * entry). The first entry of a type is its default for protocol 0.
   */
  register<S extends SockCommon>(
    family: number,
    type: number,
    protocol: number,
    create: SocketFactory<S>,
  ): void {
    let types = this.#families.get(family);
    if (types === undefined) this.#families.set(family, types = new Map());
    let list = types.get(type);
    if (list === undefined) types.set(type, list = []);
    if (list.some((r) => r.protocol === protocol)) {
      throw new TypeError(
        `Socket family ${family} type ${type} protocol ${protocol} is registered`,
      );
    }
    list.push({ protocol, create });
  }

  /**
   * socket(2): a new descriptor, the lowest free one. `type` may carry
   * SOCK_NONBLOCK / SOCK_CLOEXEC. Fails with EINVAL (unknown flags, type out
   * of range, protocol outside 0…255), EAFNOSUPPORT (family), ENFILE (table
   * full), ESOCKTNOSUPPORT (no such type in the family) or EPROTONOSUPPORT
   * (type exists, protocol does not) — Linux `__sock_create` / `inet_create`
   * order. (Linux's socket() never returns EPROTOTYPE; neither do we.)
   */
  socket(family: number, type: number, protocol: number = IPPROTO_IP): number {
    const what = `socket(${family}, ${type}, ${protocol})`;
    const flags = type & ~SOCK_TYPE_MASK;
    if (!Number.isInteger(type) || (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) {
      throw errnoError(Errno.EINVAL, what, "unknown type flags");
    }
    const base = type & SOCK_TYPE_MASK;
    if (!Number.isInteger(family) || family < 0 || family >= NPROTO) {
      throw errnoError(Errno.EAFNOSUPPORT, what);
    }
    if (base < 1 || base >= SOCK_MAX) throw errnoError(Errno.EINVAL, what, "unknown socket type");
    if (this.#open >= this.maxSockets) {
      throw errnoError(Errno.ENFILE, what, `all ${this.maxSockets} sockets are in use`);
    }
    const types = this.#families.get(family);
    if (types === undefined) throw errnoError(Errno.EAFNOSUPPORT, what);
    if (!Number.isInteger(protocol) || protocol < 0 || protocol >= IPPROTO_MAX) {
      throw errnoError(Errno.EINVAL, what, "protocol out of range");
    }
    const list = types.get(base);
    if (list === undefined || list.length === 0) throw errnoError(Errno.ESOCKTNOSUPPORT, what);
    // inet_create: protocol 0 takes the type's default; otherwise it must match.
    const entry = protocol === IPPROTO_IP ? list[0]! : list.find((r) => r.protocol === protocol);
    if (entry === undefined) throw errnoError(Errno.EPROTONOSUPPORT, what);
    const { ops, sk } = entry.create();
    const sock = new Socket({
      family,
      type: base,
      protocol: entry.protocol,
      ops,
      sk,
      clock: this.#clock,
      pool: this.#waitPool,
    });
    if ((flags & SOCK_NONBLOCK) !== 0) sock.fileFlags |= O_NONBLOCK;
    return this.#install(sock);
  }

  /** The socket at `fd`, or undefined (no error string built on the fast path). */
  #socketOf(fd: number): Socket | undefined {
    const e = this.#table[fd];
    return e === undefined || e === NOT_A_SOCKET ? undefined : e as Socket;
  }

  /**
   * The socket behind `fd` (`sockfd_lookup_light`); throws EBADF for a
   * descriptor that is not open, ENOTSOCK for one that is not a socket.
   */
  get(fd: number, what = `socket ${fd}`): Socket {
    const e = Number.isInteger(fd) && fd >= 0 ? this.#table[fd] : undefined;
    if (e === undefined) throw errnoError(Errno.EBADF, what, `${fd} is not an open descriptor`);
    if (e === NOT_A_SOCKET) {
      throw errnoError(Errno.ENOTSOCK, what, `descriptor ${fd} is not a socket`);
    }
    return e as Socket;
  }

  /** bind(2). Errors: EINVAL, EAFNOSUPPORT, EADDRNOTAVAIL, EACCES, EADDRINUSE. */
  bind(fd: number, addr: SockAddrInput): void {
    const what = `Cannot bind ${describeAddr(addr)}`;
    const sock = this.get(fd, what);
    const r = sock.ops.bind(sock, addr);
    if (r < 0) throw this.#error(sock, r, what);
  }

  /**
   * connect(2). For datagram sockets it sets the default peer at once;
   * `{ family: AF_UNSPEC }` disconnects. A stream protocol answering
   * EINPROGRESS (attempt started) or EALREADY (one is under way) is waited
   * for unless the descriptor is non-blocking (Linux
   * `inet_stream_connect`): the outcome is `ops.connectResult()`; when
   * SO_SNDTIMEO expires the call fails with that same EINPROGRESS/EALREADY
   * and the attempt goes on; an aborted `signal` is EINTR.
   */
  async connect(fd: number, addr: SockAddrInput, options: BlockingOptions = {}): Promise<void> {
    const what = `Cannot connect to ${describeAddr(addr)}`;
    const sock = this.get(fd, what);
    const r = sock.ops.connect(sock, addr);
    const waits = r === -Errno.EINPROGRESS ||
      (r === -Errno.EALREADY && sock.ops.connectResult !== undefined);
    if (!waits || (sock.fileFlags & O_NONBLOCK) !== 0) {
      if (r < 0) throw this.#error(sock, r, what);
      return;
    }
    const deadline = sock.sndTimeo > 0 ? this.#clock.now() + sock.sndTimeo : Infinity;
    for (;;) {
      const w = await this.#wait(sock, POLLOUT | POLLHUP, deadline, options);
      // inet_stream_connect: a timeout leaves the connection in progress.
      if (w < 0) throw this.#error(sock, w === -Errno.EAGAIN ? r : w, what);
      if (sock.ops.connectResult === undefined) {
        const e = sock.sk.err;
        sock.sk.err = 0;
        if (e !== 0) throw this.#error(sock, -e, what);
        return;
      }
      const c = sock.ops.connectResult(sock);
      if (c === -Errno.EINPROGRESS || c === -Errno.EALREADY) continue; // woken early
      if (c < 0) throw this.#error(sock, c, what);
      return;
    }
  }

  /**
   * sendto(2): resolves with the bytes sent. Without `to` the socket must be
   * connected (EDESTADDRREQ). Errors (as Linux `udp_sendmsg`): EMSGSIZE, EACCES
   * (broadcast without SO_BROADCAST), EINVAL (port 0), EPIPE (after
   * SHUT_WR), ENETUNREACH, EAGAIN (no port for the automatic bind), and a
   * pending ICMP error of a connected socket (ECONNREFUSED, …).
   *
   * Streams (`tcp_sendmsg`): a blocking send waits for buffer space until
   * all of `data` is queued; a non-blocking one queues what fits. Once some
   * bytes are queued, a later error, timeout or abort returns the count
   * instead (partial writes, as Linux `tcp_sendmsg`). EPIPE calls
   * {@link onSigpipe} unless `flags` has MSG_NOSIGNAL
   * (tests/socket/inet_stream_io_test.ts covers both).
   */
  async sendto(
    fd: number,
    data: Uint8Array,
    flags = 0,
    to?: SockAddrInput,
    options: BlockingOptions = {},
  ): Promise<number> {
    if (!(data instanceof Uint8Array)) throw new TypeError("sendto: data must be a Uint8Array");
    const what = to === undefined
      ? `Cannot send on socket ${fd}`
      : `Cannot send to ${describeAddr(to)}`;
    const sock = this.get(fd, what);
    const nonblock = (flags & MSG_DONTWAIT) !== 0 || (sock.fileFlags & O_NONBLOCK) !== 0;
    const deadline = !nonblock && sock.sndTimeo > 0 ? this.#clock.now() + sock.sndTimeo : Infinity;
    const stream = sock.type === SOCK_STREAM;
    let sent = 0;
    for (;;) {
      const r = sock.ops.sendmsg(sock, sent === 0 ? data : data.subarray(sent), flags, to);
      if (r >= 0) {
        sent += r;
        if (!stream || nonblock || sent >= data.length) return sent;
        continue;
      }
      if (r !== -Errno.EAGAIN || nonblock || (sock.ops.poll(sock) & POLLOUT) !== 0) {
        // An error, a non-blocking EAGAIN, or EAGAIN while ready (a real
        // error: waiting would spin) — after a partial write, the count.
        if (sent > 0) {
          // Linux tcp_sendmsg returns the count and leaves sk_err set, so the
          // next call reports the failure (ECONNRESET, not a later EPIPE).
          // The protocol read-and-cleared it for us: put it back.
          if (r !== -Errno.EAGAIN && r !== -Errno.EPIPE && sock.sk.err === 0) sock.sk.err = -r;
          return sent;
        }
        if (r === -Errno.EPIPE && (flags & MSG_NOSIGNAL) === 0) this.onSigpipe?.(fd);
        throw this.#error(sock, r, what);
      }
      const w = await this.#wait(sock, POLLOUT | POLLHUP, deadline, options);
      if (w < 0) {
        if (sent > 0) return sent;
        throw this.#error(sock, w, what);
      }
    }
  }

  /** send(2): {@link sendto} to the connected peer. */
  send(fd: number, data: Uint8Array, flags = 0, options: BlockingOptions = {}): Promise<number> {
    return this.sendto(fd, data, flags, undefined, options);
  }

  /**
   * recvfrom(2): waits for a datagram (unless O_NONBLOCK / MSG_DONTWAIT:
   * EAGAIN at once) and copies it into `buf`. Flags: MSG_PEEK (leave it
   * queued), MSG_TRUNC (return the real length), MSG_DONTWAIT, MSG_ERRQUEUE
   * (read a queued ICMP error; never waits). SO_RCVTIMEO expiry is EAGAIN;
   * `options.signal` aborting is EINTR; closing the descriptor is EBADF.
   *
   * Streams return what is there (0 at end of stream); with MSG_WAITALL
   * (and no MSG_PEEK) they wait until `buf` is full, and end of stream, an
   * error, a timeout or an abort after some bytes return the count.
   */
  async recvfrom(
    fd: number,
    buf: Uint8Array,
    flags = 0,
    options: BlockingOptions = {},
  ): Promise<RecvResult> {
    const what = `Cannot receive on socket ${fd}`;
    const sock = this.get(fd, what);
    const nonblock = (flags & (MSG_DONTWAIT | MSG_ERRQUEUE)) !== 0 ||
      (sock.fileFlags & O_NONBLOCK) !== 0;
    const deadline = !nonblock && sock.rcvTimeo > 0 ? this.#clock.now() + sock.rcvTimeo : Infinity;
    // MSG_WAITALL (tcp_recvmsg's target = len): keep reading into the rest of buf.
    const waitAll = sock.type === SOCK_STREAM && !nonblock &&
      (flags & (MSG_WAITALL | MSG_PEEK)) === MSG_WAITALL;
    let got = 0;
    for (;;) {
      let r: RecvResult | null;
      try {
        r = this.#tryRecv(sock, got === 0 ? buf : buf.subarray(got), flags, what);
      } catch (e) {
        if (got > 0) return streamResult(got);
        throw e;
      }
      if (r !== null) {
        if (!waitAll) return r;
        got += r.bytes;
        if (r.bytes === 0 || got >= buf.length) return streamResult(got);
        continue;
      }
      if (nonblock) throw this.#error(sock, -Errno.EAGAIN, what, "nothing to receive");
      const w = await this.#wait(sock, POLLIN | POLLRDHUP | POLLHUP, deadline, options);
      if (w < 0 && got > 0) return streamResult(got);
      if (w === -Errno.EAGAIN) {
        throw this.#error(
          sock,
          w,
          what,
          `nothing received within SO_RCVTIMEO (${sock.rcvTimeo} ms)`,
        );
      }
      if (w < 0) throw this.#error(sock, w, what);
    }
  }

  /**
   * recvfrom(2) that never waits, synchronously: the datagram, or a thrown
   * `WouldBlock` (EAGAIN) when none is queued. For event loops built on
   * {@link poll}.
   */
  recvfromNow(fd: number, buf: Uint8Array, flags = 0): RecvResult {
    const what = `Cannot receive on socket ${fd}`;
    const sock = this.get(fd, what);
    const r = this.#tryRecv(sock, buf, flags, what);
    if (r === null) throw this.#error(sock, -Errno.EAGAIN, what, "nothing to receive");
    return r;
  }

  /**
   * The stream read fast path (`Conn.read`): one non-blocking attempt that
   * allocates nothing. Returns the bytes read (> 0), 0 at end of stream, or
   * -EAGAIN when nothing is queued yet (then {@link waitReadable}); throws
   * what recv(2) would (ECONNRESET, …).
   */
  recvStreamNow(fd: number, buf: Uint8Array): number {
    const sock = this.#socketOf(fd) ?? this.get(fd, `Cannot receive on socket ${fd}`);
    const r = sock.ops.recvmsg(sock, buf, 0, this.#info);
    if (r >= 0) return r;
    // Ready yet EAGAIN would loop forever: report it as the error it is.
    if (r !== -Errno.EAGAIN || (sock.ops.poll(sock) & POLLIN) !== 0) {
      throw this.#error(sock, r, `Cannot receive on socket ${fd}`);
    }
    return r;
  }

  /**
   * The stream write fast path (`Conn.write`): queue what fits now, without
   * waiting or allocating. Returns the bytes queued (0 when the send buffer
   * is full: then {@link waitWritable}). On an error it throws what send(2)
   * with MSG_NOSIGNAL would (EPIPE, ECONNRESET, …) — unless `queuedBefore`
   * bytes of the same write were already queued: then, like a partial
   * send(2), it returns -1 and leaves the error for the next call.
   */
  sendStreamNow(fd: number, data: Uint8Array, queuedBefore = 0): number {
    const sock = this.#socketOf(fd) ?? this.get(fd, `Cannot send on socket ${fd}`);
    const r = sock.ops.sendmsg(sock, data, MSG_NOSIGNAL, undefined);
    if (r >= 0) return r;
    if (r === -Errno.EAGAIN && (sock.ops.poll(sock) & POLLOUT) === 0) return 0;
    if (queuedBefore > 0) {
      // As sendto: the protocol read-and-cleared the error; put it back.
      if (r !== -Errno.EAGAIN && r !== -Errno.EPIPE && sock.sk.err === 0) sock.sk.err = -r;
      return -1;
    }
    throw this.#error(sock, r, `Cannot send on socket ${fd}`);
  }

  /**
   * Resolve once `fd` can be read (data, end of stream, an error): 0, or
   * -errno (-EBADF when it is closed meanwhile). Honors SO_RCVTIMEO (-EAGAIN).
   */
  waitReadable(fd: number): Promise<number> {
    const sock = this.get(fd, `Cannot receive on socket ${fd}`);
    const deadline = sock.rcvTimeo > 0 ? this.#clock.now() + sock.rcvTimeo : Infinity;
    return sock.wait(POLLIN | POLLRDHUP | POLLHUP, deadline, undefined, true);
  }

  /** Resolve once `fd` has send-buffer space (or an error): 0 or -errno. Honors SO_SNDTIMEO. */
  waitWritable(fd: number): Promise<number> {
    const sock = this.get(fd, `Cannot send on socket ${fd}`);
    const deadline = sock.sndTimeo > 0 ? this.#clock.now() + sock.sndTimeo : Infinity;
    return sock.wait(POLLOUT | POLLHUP, deadline, undefined, true);
  }

  /** The error a failed fast-path wait stands for (`-errno` from a wait). */
  waitError(fd: number, r: number, what: string): NetError {
    const e = Number.isInteger(fd) && fd >= 0 ? this.#table[fd] : undefined;
    if (e === undefined || e === NOT_A_SOCKET) return errnoError(r, what);
    return this.#error(e as Socket, r, what);
  }

  /** recv(2): {@link recvfrom} returning only the byte count. */
  async recv(
    fd: number,
    buf: Uint8Array,
    flags = 0,
    options: BlockingOptions = {},
  ): Promise<number> {
    return (await this.recvfrom(fd, buf, flags, options)).bytes;
  }

  /** listen(2); EOPNOTSUPP for socket types without connections (UDP). */
  listen(fd: number, backlog: number): void {
    const what = `listen(${fd}, ${backlog})`;
    const sock = this.get(fd, what);
    const r = sock.ops.listen?.(sock, backlog) ?? -Errno.EOPNOTSUPP;
    if (r < 0) throw this.#error(sock, r, what);
  }

  /**
   * accept4(2) (Linux `__sys_accept4`; tests/socket/inet_stream_test.ts): waits for a connection unless the listener is
   * non-blocking, then installs it on the lowest free descriptor. The new
   * descriptor does not inherit O_NONBLOCK ("file flags are not inherited
   * via accept"); pass SOCK_NONBLOCK in `flags` for that. ENFILE is checked
   * before a connection is taken, so a full table leaves it queued.
   * EOPNOTSUPP for datagram sockets.
   */
  async accept(
    fd: number,
    flags = 0,
    options: BlockingOptions = {},
  ): Promise<{ fd: number; peer: SockAddrIn }> {
    const what = `accept(${fd})`;
    const sock = this.get(fd, what);
    if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) {
      throw errnoError(Errno.EINVAL, what, "unknown flags");
    }
    const nonblock = (sock.fileFlags & O_NONBLOCK) !== 0;
    const deadline = !nonblock && sock.rcvTimeo > 0 ? this.#clock.now() + sock.rcvTimeo : Infinity;
    for (;;) {
      if (this.#open >= this.maxSockets) {
        throw errnoError(Errno.ENFILE, what, `all ${this.maxSockets} sockets are in use`);
      }
      const r = sock.ops.accept?.(sock) ?? -Errno.EOPNOTSUPP;
      if (typeof r !== "number") {
        const child = new Socket({
          family: sock.family,
          type: sock.type,
          protocol: sock.protocol,
          ops: sock.ops,
          sk: r,
          clock: this.#clock,
          pool: this.#waitPool,
        });
        child.state = SocketState.CONNECTED;
        if ((flags & SOCK_NONBLOCK) !== 0) child.fileFlags |= O_NONBLOCK;
        const peer = child.ops.getname(child, true, true);
        // sys_accept4: a peer name that cannot be read is ECONNABORTED.
        if (typeof peer === "number") {
          child.ops.release(child);
          throw errnoError(Errno.ECONNABORTED, what);
        }
        return { fd: this.#install(child), peer };
      }
      if (r !== -Errno.EAGAIN || nonblock) throw this.#error(sock, r, what);
      const w = await this.#wait(sock, POLLIN | POLLHUP, deadline, options);
      if (w < 0) throw this.#error(sock, w, what);
    }
  }

  /**
   * shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR. On an unconnected
   * datagram socket it throws ENOTCONN but the shutdown still takes effect
   * (Linux `inet_shutdown`; tests/socket/inet_dgram_test.ts).
   */
  shutdown(fd: number, how: number): void {
    const what = `shutdown(${fd}, ${how})`;
    const sock = this.get(fd, what);
    const r = sock.ops.shutdown(sock, how);
    if (r < 0) throw this.#error(sock, r, what);
  }

  /** close(2): release the socket; calls blocked on it fail with EBADF. */
  close(fd: number): void {
    const e = Number.isInteger(fd) && fd >= 0 ? this.#table[fd] : undefined;
    if (e === undefined) {
      throw errnoError(Errno.EBADF, `close(${fd})`, `${fd} is not an open descriptor`);
    }
    this.#table[fd] = undefined;
    if (fd < this.#firstFree) this.#firstFree = fd;
    while (this.#table.length > 0 && this.#table[this.#table.length - 1] === undefined) {
      this.#table.pop();
    }
    if (e === NOT_A_SOCKET) return;
    const sock = e as Socket;
    this.#open--;
    sock.ops.release(sock);
    sock.markClosed();
  }

  /**
   * Every socket, like `ss -tuna -i`: one row per open descriptor (state,
   * addresses, Recv-Q/Send-Q, and for TCP connections cwnd, srtt, rto,
   * retransmits…), then rows with `fd` -1 from the protocols for what no
   * descriptor refers to any more (TCP connections closing or in TIME-WAIT,
   * handshakes not yet accepted). `formatSocketTable()` prints them.
   *
   * @example
   * ```ts
   * import { Stack } from "../api/stack.ts";
   * import { VirtualClock } from "../core/clock.ts";
   * import { formatSocketTable } from "./socket_info.ts";
   * const stack = new Stack({ clock: new VirtualClock() });
   * stack.listen({ port: 80 });
   * console.log(formatSocketTable(stack.sockets.list())); // tcp 3 LISTEN 0 128 0.0.0.0:80 *:*
   * await stack.close();
   * ```
   */
  list(): SocketInfo[] {
    const rows: SocketInfo[] = [];
    for (const e of this.#table) {
      if (e === undefined || e === NOT_A_SOCKET) continue;
      const sock = e as Socket;
      const row = sock.ops.info?.(sock);
      if (row !== undefined) rows.push(row);
    }
    for (const source of this.#infoSources) rows.push(...source());
    return rows;
  }

  /** The open sockets, in descriptor order (for protocols' {@link addInfoSource}). */
  *openSocketObjects(): IterableIterator<Socket> {
    for (const e of this.#table) if (e !== undefined && e !== NOT_A_SOCKET) yield e as Socket;
  }

  /** Add rows to {@link list} that no descriptor stands for (a protocol's orphans). */
  addInfoSource(source: () => SocketInfo[]): void {
    this.#infoSources.push(source);
  }

  /** Close every socket (stack shutdown). */
  closeAll(): void {
    for (let fd = 0; fd < this.#table.length; fd++) {
      const e = this.#table[fd];
      if (e !== undefined && e !== NOT_A_SOCKET) this.close(fd);
    }
  }

  /** getsockname(2): the local address (0.0.0.0:0 before bind). */
  getsockname(fd: number): SockAddrIn {
    return this.#getname(fd, false);
  }

  /** getpeername(2): the connected peer; ENOTCONN when not connected. */
  getpeername(fd: number): SockAddrIn {
    return this.#getname(fd, true);
  }

  /**
   * setsockopt(2) (four arguments like C, an exception to the two-parameter
   * convention). Booleans count as 0/1. SO_LINGER also takes C's
   * `struct linger` as `{ onoff, linger }` (seconds); the number form is the
   * linger time, negative = off. Unknown options: ENOPROTOOPT.
   */
  setsockopt(
    fd: number,
    level: number,
    name: number,
    value: number | boolean | Linger | string,
  ): void {
    const what = `setsockopt(${fd}, ${level}, ${name})`;
    const sock = this.get(fd, what);
    if (typeof value === "string") {
      // Options whose value is a string (TCP_CONGESTION).
      const r = sock.ops.setsockoptString?.(sock, level, name, value) ?? -Errno.EINVAL;
      if (r < 0) throw this.#error(sock, r, what);
      return;
    }
    let v: unknown = value;
    if (typeof value === "boolean") v = value ? 1 : 0;
    else if (typeof value === "object" && value !== null) {
      if (level !== SOL_SOCKET || name !== SO_LINGER) {
        throw errnoError(Errno.EINVAL, what, "only SO_LINGER takes { onoff, linger }");
      }
      const l = value.linger;
      if (typeof l !== "number" || !(l >= 0)) {
        throw errnoError(Errno.EINVAL, what, "linger must be a number of seconds >= 0");
      }
      v = value.onoff ? l : -1;
    }
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw errnoError(Errno.EINVAL, what, "not a number");
    }
    const r = sock.ops.setsockopt(sock, level, name, v);
    if (r < 0) throw this.#error(sock, r, what);
  }

  /**
   * getsockopt(2): the option's value — a number, except TCP_INFO (a
   * `TcpInfo`) and TCP_CONGESTION (the algorithm's name). Unknown options:
   * ENOPROTOOPT.
   */
  getsockopt(fd: number, level: typeof SOL_TCP, name: typeof TCP_INFO): TcpInfo;
  /** getsockopt(TCP_CONGESTION): the congestion-control algorithm's name. */
  getsockopt(fd: number, level: typeof SOL_TCP, name: typeof TCP_CONGESTION): string;
  /** getsockopt(2) of a number-valued option. */
  getsockopt(fd: number, level: number, name: number): number;
  getsockopt(fd: number, level: number, name: number): number | string | TcpInfo {
    const what = `getsockopt(${fd}, ${level}, ${name})`;
    const sock = this.get(fd, what);
    const v = sock.ops.getsockoptValue?.(sock, level, name);
    if (v !== undefined) {
      if (typeof v === "number" && v < 0) throw this.#error(sock, v, what);
      return v as number | string | TcpInfo;
    }
    const r = sock.ops.getsockopt(sock, level, name);
    if (r < 0) throw this.#error(sock, r, what);
    return r;
  }

  /**
   * fcntl(2), F_GETFL / F_SETFL: O_NONBLOCK is per descriptor (Linux `setfl`;
   * tests/socket/fd_table_test.ts). Other commands: EINVAL.
   */
  fcntl(fd: number, cmd: number, arg = 0): number {
    const what = `fcntl(${fd}, ${cmd})`;
    const e = Number.isInteger(fd) && fd >= 0 ? this.#table[fd] : undefined;
    if (e === undefined) throw errnoError(Errno.EBADF, what, `${fd} is not an open descriptor`);
    if (e === NOT_A_SOCKET) return cmd === F_GETFL ? O_RDWR : 0;
    const sock = e as Socket;
    if (cmd === F_GETFL) return sock.fileFlags;
    if (cmd === F_SETFL) {
      sock.fileFlags = O_RDWR | (arg & O_NONBLOCK);
      return 0;
    }
    throw errnoError(Errno.EINVAL, what, "unsupported command");
  }

  /**
   * poll(2): fills each entry's `revents` (POLLERR, POLLHUP and POLLNVAL are
   * always reported) and resolves with how many are ready, waiting up to
   * `timeoutMs` (-1: no limit; 0: just look). Resolves 0 on timeout; EINTR
   * when `signal` aborts.
   */
  async poll(fds: PollFd[], timeoutMs = -1, options: BlockingOptions = {}): Promise<number> {
    const deadline = timeoutMs < 0 ? Infinity : this.#clock.now() + timeoutMs;
    for (;;) {
      let ready = 0;
      for (const p of fds) {
        p.revents = this.#revents(p);
        if (p.revents !== 0) ready++;
      }
      if (ready > 0 || timeoutMs === 0) return ready;
      if (options.signal?.aborted) throw errnoError(Errno.EINTR, "poll", "aborted");
      if (this.#clock.now() >= deadline) return 0;
      const release = options.keepAlive === false ? null : holdProcess(this.#clock);
      let w: number;
      try {
        w = await this.#waitAny(fds, deadline, options.signal);
      } finally {
        release?.();
      }
      if (w === -Errno.EINTR) throw errnoError(Errno.EINTR, "poll", "aborted");
      if (w === -Errno.EAGAIN) return 0;
    }
  }

  /**
   * A blocking call's wait. The socket holds the process alive while it
   * waits (unless unref'd); `options.keepAlive` false drops that hold for
   * this call.
   */
  #wait(
    sock: Socket,
    mask: number,
    deadline: number,
    options: BlockingOptions,
  ): Promise<number> {
    return sock.wait(mask, deadline, options.signal, true, options.keepAlive !== false);
  }

  /** `fd_install` on the lowest free descriptor. */
  #install(sock: Socket): number {
    // Every descriptor below #firstFree is taken (Linux `files->next_fd`).
    let fd = this.#firstFree;
    while (fd < this.#table.length && this.#table[fd] !== undefined) fd++;
    this.#firstFree = fd + 1;
    this.#table[fd] = sock;
    sock.fd = fd;
    this.#open++;
    return fd;
  }

  #tryRecv(sock: Socket, buf: Uint8Array, flags: number, what: string): RecvResult | null {
    if (!(buf instanceof Uint8Array)) throw new TypeError("recvfrom: buf must be a Uint8Array");
    const info = this.#info;
    const r = sock.ops.recvmsg(sock, buf, flags, info);
    if (r === -Errno.EAGAIN) {
      // Ready yet EAGAIN would loop forever: report it as the error it is.
      if ((sock.ops.poll(sock) & POLLIN) !== 0 && (flags & MSG_ERRQUEUE) === 0) {
        throw this.#error(sock, r, what);
      }
      return null;
    }
    if (r < 0) throw this.#error(sock, r, what);
    return { bytes: r, flags: info.flags, from: info.from, to: info.to, error: info.error };
  }

  #getname(fd: number, peer: boolean): SockAddrIn {
    const what = `${peer ? "getpeername" : "getsockname"}(${fd})`;
    const sock = this.get(fd, what);
    const r = sock.ops.getname(sock, peer);
    if (typeof r === "number") throw this.#error(sock, r, what);
    return r;
  }

  #revents(p: PollFd): number {
    // Linux poll(2): a negative fd is ignored (revents 0) — the usual way to
    // switch an entry off; any other unknown descriptor is POLLNVAL.
    if (Number.isInteger(p.fd) && p.fd < 0) return 0;
    const e = Number.isInteger(p.fd) ? this.#table[p.fd] : undefined;
    if (e === undefined) return POLLNVAL;
    if (e === NOT_A_SOCKET) return p.events & POLLOUT;
    const sock = e as Socket;
    return sock.ops.poll(sock) & (p.events | POLLERR | POLLHUP);
  }

  /** Wait until any of `fds` may be ready: 0, -EAGAIN (deadline) or -EINTR. */
  async #waitAny(fds: PollFd[], deadline: number, signal?: AbortSignal): Promise<number> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const waits: Promise<number>[] = [];
    for (const p of fds) {
      const e = this.#table[p.fd];
      if (e === undefined || e === NOT_A_SOCKET) continue;
      waits.push((e as Socket).wait(p.events | POLLERR | POLLHUP, deadline, stop.signal, false));
    }
    try {
      // Nothing that can become ready: sleep until the deadline or the abort,
      // as poll(2) does with no (or only ignored) descriptors.
      if (waits.length === 0) waits.push(this.#sleep(deadline, stop.signal));
      const w = await Promise.race(waits);
      // A socket closed under us shows up as POLLNVAL on the next pass.
      return w === -Errno.EBADF ? 0 : w;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      stop.abort(); // releases the waits that lost the race
    }
  }

  /** Resolve with -EAGAIN at `deadline` (never when it is Infinity), or -EINTR on abort. */
  #sleep(deadline: number, signal: AbortSignal): Promise<number> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(deadline)
        ? this.#clock.setTimer(deadline - this.#clock.now(), () => {
          signal.removeEventListener("abort", onAbort);
          resolve(-Errno.EAGAIN);
        })
        : null;
      const onAbort = () => {
        if (timer !== null) this.#clock.clearTimer(timer);
        resolve(-Errno.EINTR);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #error(sock: Socket, r: number, what: string, fallback?: string): NetError {
    const why = sock.takeWhy() ?? (r === -Errno.EBADF ? "the socket was closed" : fallback);
    return errnoError(r, what, r === -Errno.EINTR ? "aborted" : why);
  }
}

/** What a stream read of `bytes` returns (no addresses: TCP fills no `msg_name`). */
function streamResult(bytes: number): RecvResult {
  return { bytes, flags: 0, from: null, to: null, error: null };
}
