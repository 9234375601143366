/**
 * `Conn`: a TCP connection the way `Deno.connect` / `Deno.TcpConn` offer
 * it, on top of the stack's BSD socket layer (`stack.sockets`).
 *
 * Behaviour worth knowing:
 * - `write(p)` resolves once all of `p` is in the send buffer; it waits for
 *   space while the buffer is full (backpressure from the peer's window).
 * - `readable` is a byte stream that reads from the socket only when its
 *   consumer asks, so a consumer that stops reading lets the receive buffer
 *   fill and TCP's window close. `writable` writes with the same
 *   backpressure as `write()`; closing it is `closeWrite()` (FIN).
 * - A normal end of stream (FIN) is `read() → null`; a reset is an error
 *   (`ConnectionReset`, MUST-12), and so is a timeout (`TimedOut`). Once a
 *   connection has failed, every later `read()`/`write()` reports that
 *   same error, whichever call saw it first.
 * - This function takes IPv4 and IPv6 literals (`"::1"`, `"[2001:db8::2]"`,
 *   `"fe80::1%eth0"`) or `"localhost"`; `stack.connect()` also takes names,
 *   resolved through the stack's resolver (Happy Eyeballs over both families).
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { formatIpv4, tryParseIpv4 } from "../wire/addr.ts";
import { formatIpv6, splitZone, tryParseIpv6Address } from "../wire/addr6.ts";
import {
  AF_INET,
  AF_INET6,
  IPPROTO_TCP,
  SHUT_RD,
  SHUT_WR,
  SO_KEEPALIVE,
  SOCK_STREAM,
  SOL_SOCKET,
  SOL_TCP,
  TCP_INFO,
  TCP_NODELAY,
} from "../socket/constants.ts";
import type { TcpInfo } from "../socket/tcp_info.ts";
import { BadResource, NetError } from "../socket/errors.ts";
import type { SocketLayer } from "../socket/fd_table.ts";
import type { Socket } from "../socket/socket.ts";

/**
 * A TCP endpoint, as `Deno.NetAddr` with `transport: "tcp"`.
 *
 * @example
 * ```ts
 * import type { TcpNetAddr } from "./conn.ts";
 * const web: TcpNetAddr = { transport: "tcp", hostname: "192.0.2.2", port: 80 };
 * ```
 */
export interface TcpNetAddr {
  /** Always "tcp". */
  readonly transport: "tcp";
  /** IPv4 address (dotted quad) or IPv6 address (RFC 5952 text; an IPv4 peer of a `::` listener is `::ffff:a.b.c.d`). */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
}

/**
 * Options for `stack.connect()` (as `Deno.ConnectOptions`).
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "./conn.ts";
 * const o: ConnectOptions = { hostname: "192.0.2.2", port: 80, signal: AbortSignal.timeout(5000) };
 * ```
 */
export interface ConnectOptions {
  /** Remote port, 1…65535. */
  port: number;
  /** Remote IPv4 or IPv6 address or "localhost" (default "127.0.0.1", like Deno). */
  hostname?: string;
  /** Only "tcp". */
  transport?: "tcp";
  /** Abort the connection attempt: the promise rejects with `signal.reason` (as Deno's). */
  signal?: AbortSignal;
}

/**
 * Open a TCP connection (active open). Rejects with the typed errors of the
 * socket layer: `ConnectionRefused` (RST from the peer), `TimedOut` (no
 * answer within the SYN retry budget), `NetworkUnreachable` (no route),
 * `HostUnreachable` (ARP failed, ICMP), with messages like `Cannot connect
 * to 192.0.2.2:80: connection refused`; with `signal.reason` when the signal
 * aborts (as `Deno.connect`). A port outside 1…65535 is a `RangeError`.
 *
 * @example
 * ```ts
 * // const conn = await connect(stack.sockets, { hostname: "192.0.2.2", port: 7 });
 * // await conn.write(new TextEncoder().encode("hi"));
 * ```
 */
export async function connect(sockets: SocketLayer, options: ConnectOptions): Promise<Conn> {
  const port = checkConnectOptions(options);
  const address = resolveHost(options.hostname ?? "127.0.0.1", "connect");
  const signal = options.signal;
  signal?.throwIfAborted();
  const family = hostFamily(address);
  const fd = sockets.socket(family, SOCK_STREAM, IPPROTO_TCP);
  try {
    await sockets.connect(fd, { family, address, port }, signal ? { signal } : {});
  } catch (e) {
    closeQuietly(sockets, fd);
    // Deno.connect rejects with the signal's reason (a TimeoutError for AbortSignal.timeout).
    if (signal?.aborted) throw signal.reason;
    throw e;
  }
  return new Conn(sockets, fd);
}

/**
 * Check what {@link connect} checks before a name is resolved: a transport
 * other than "tcp" is a `TypeError`, a port outside 1…65535 a `RangeError`
 * (as Deno's). Returns the port.
 *
 * @example
 * ```ts
 * import { checkConnectOptions } from "./conn.ts";
 * checkConnectOptions({ port: 80 }); // 80
 * ```
 */
export function checkConnectOptions(options: ConnectOptions): number {
  if (options.transport !== undefined && options.transport !== "tcp") {
    throw new TypeError(`connect: transport "${options.transport}" is not supported (only "tcp")`);
  }
  return checkPort(options.port, 1, "connect");
}

/**
 * A connected TCP socket with Deno's `TcpConn` interface.
 *
 * @example
 * ```ts
 * // const conn = await stack.connect({ hostname: "192.0.2.2", port: 7 });
 * // await conn.write(new TextEncoder().encode("ping"));
 * // const buf = new Uint8Array(64);
 * // const n = await conn.read(buf); // null at end of stream
 * // conn.close();
 * ```
 */
export class Conn implements Disposable, AsyncDisposable {
  #localAddr: TcpNetAddr | null = null;
  #remoteAddr: TcpNetAddr | null = null;
  readonly #sockets: SocketLayer;
  readonly #fd: number;
  /** The socket behind `#fd` (the stack may close it beneath us; the number may be reused). */
  readonly #sock: Socket;
  #closed = false;
  /** The error that ended the connection (reset, timeout …), reported to every later call. */
  #failed: NetError | null = null;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;

  /**
   * Use `stack.connect()` or `Listener.accept()`; `fd` must be a connected
   * stream socket this object now owns. Both addresses are read from the
   * socket when first asked for (its TCB keeps them, also after close): a
   * Conn keeps no copy of the peer's.
   */
  constructor(sockets: SocketLayer, fd: number) {
    this.#sockets = sockets;
    this.#fd = fd;
    this.#sock = sockets.get(fd);
  }

  /**
   * Our address and port. Formatted when first read (a server holding ten
   * thousand connections keeps no address strings it never looks at); the
   * connection's ends never change, so later reads, even after close, agree.
   */
  get localAddr(): TcpNetAddr {
    return this.#localAddr ??= this.#name(false);
  }

  /** The peer's address and port (formatted when first read, like {@link Conn.localAddr}). */
  get remoteAddr(): TcpNetAddr {
    return this.#remoteAddr ??= this.#name(true);
  }

  /** One end of the connection, read from the socket (its TCB keeps both ends after close). */
  #name(peer: boolean): TcpNetAddr {
    const sock = this.#sock;
    const r = sock.ops.getname(sock, peer, true);
    return typeof r === "number"
      ? { transport: "tcp", hostname: "0.0.0.0", port: 0 }
      : { transport: "tcp", hostname: r.address, port: r.port };
  }

  /** The descriptor, for the BSD calls (`stack.sockets.setsockopt(conn.fd, …)`). */
  get fd(): number {
    return this.#fd;
  }

  /**
   * Read into `p`: resolves with the byte count (at least 1 unless `p` is
   * empty), or null at the end of the stream (the peer's FIN). Rejects with
   * `ConnectionReset`, `TimedOut`, … when the connection failed, and with
   * `BadResource` once the Conn is closed.
   */
  read(p: Uint8Array): Promise<number | null> {
    try {
      this.#check("read");
      if (p.length === 0) return Promise.resolve(0);
      if (this.#failed !== null) throw this.#failed;
      // Fast path: data already queued costs no wait and no extra promise.
      const n = this.#sockets.recvStreamNow(this.#fd, p);
      if (n > 0) return Promise.resolve(n);
      if (n === 0) return Promise.resolve(this.#eof());
      return this.#readSlow(p);
    } catch (e) {
      return Promise.reject(this.#fail(e, "read"));
    }
  }

  /** Wait until readable, then read; one promise per wait. */
  async #readSlow(p: Uint8Array): Promise<number | null> {
    for (;;) {
      const w = await this.#sockets.waitReadable(this.#fd);
      try {
        if (this.#closed) throw closedError("read", "Conn");
        if (w < 0) {
          throw this.#sockets.waitError(this.#fd, w, `Cannot receive on socket ${this.#fd}`);
        }
        const n = this.#sockets.recvStreamNow(this.#fd, p);
        if (n > 0) return n;
        if (n === 0) return this.#eof();
      } catch (e) {
        throw this.#fail(e, "read");
      }
    }
  }

  /** End of stream, unless a reset seen by write() stands for it. */
  #eof(): null {
    if (this.#failed !== null) throw this.#failed;
    return null;
  }

  /**
   * Queue all of `p` for sending: resolves with `p.length` once every byte
   * is in the send buffer, waiting for space while it is full. Rejects with
   * `BrokenPipe` after `closeWrite()`, the connection's error when it
   * failed, `BadResource` once the Conn is closed.
   */
  write(p: Uint8Array): Promise<number> {
    try {
      this.#check("write");
      if (this.#failed !== null) throw this.#failed;
      // Fast path: everything fits in the send buffer now.
      const n = this.#sockets.sendStreamNow(this.#fd, p);
      if (n === p.length) return Promise.resolve(n);
      return this.#writeSlow(p, n);
    } catch (e) {
      return Promise.reject(this.#fail(e, "write"));
    }
  }

  /** Queue the rest of `p` as send-buffer space frees up (`sent` bytes already queued). */
  async #writeSlow(p: Uint8Array, sent: number): Promise<number> {
    while (sent < p.length) {
      const w = await this.#sockets.waitWritable(this.#fd);
      try {
        if (this.#closed) throw closedError("write", "Conn");
        if (w < 0) {
          // A timeout or an error after a partial write: report the count.
          if (sent > 0) return sent;
          throw this.#sockets.waitError(this.#fd, w, `Cannot send on socket ${this.#fd}`);
        }
        const n = this.#sockets.sendStreamNow(this.#fd, p.subarray(sent), sent);
        if (n < 0) return sent; // failed after a partial write: the next call reports it
        sent += n;
      } catch (e) {
        throw this.#fail(e, "write");
      }
    }
    return sent;
  }

  /**
   * Half-close: send FIN after the queued data (shutdown SHUT_WR). Reading
   * goes on until the peer closes its side.
   */
  closeWrite(): Promise<void> {
    try {
      this.#check("closeWrite");
      this.#sockets.shutdown(this.#fd, SHUT_WR);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Close the connection (FIN, or RST when received data was never read).
   * Pending reads and writes reject with `BadResource`; closing twice throws
   * it too (as Deno does).
   */
  close(): void {
    if (this.#closed) throw closedError("close", "Conn");
    this.#closed = true;
    if (!this.#sock.closed) this.#sockets.close(this.#fd);
  }

  /** TCP_NODELAY: turn Nagle's algorithm off (true, the default) or on. */
  setNoDelay(noDelay = true): void {
    this.#check("setNoDelay");
    this.#sockets.setsockopt(this.#fd, SOL_TCP, TCP_NODELAY, noDelay);
  }

  /**
   * The connection's state as Linux's `struct tcp_info` reports it
   * (`getsockopt(TCP_INFO)`): RTT and its variation, cwnd and ssthresh in
   * segments, retransmissions, bytes and segments both ways, delivery rate,
   * options negotiated — Linux's units (RTTs in µs, rates in bytes/s).
   * Throws `BadResource` once the Conn is closed.
   *
   * @example
   * ```ts
   * // const i = conn.info(); console.log(i.rtt / 1000, "ms", i.sndCwnd, "segments");
   * ```
   */
  info(): TcpInfo {
    this.#check("info");
    return this.#sockets.getsockopt(this.#fd, SOL_TCP, TCP_INFO);
  }

  /** SO_KEEPALIVE: probe an idle connection (true, the default) or not. */
  setKeepAlive(keepAlive = true): void {
    this.#check("setKeepAlive");
    this.#sockets.setsockopt(this.#fd, SOL_SOCKET, SO_KEEPALIVE, keepAlive);
  }

  /**
   * Let pending `read()`/`write()` calls keep the process alive (the
   * default, as in Deno).
   */
  ref(): void {
    this.#sock.setRef(true);
  }

  /**
   * Pending `read()`/`write()` calls no longer keep the process alive: a
   * program whose only remaining work is waiting on this connection exits.
   */
  unref(): void {
    this.#sock.setRef(false);
  }

  /**
   * The received bytes as a byte stream (BYOB-capable). It reads from the
   * socket only when its consumer asks, so a slow consumer closes the TCP
   * window. It ends at the peer's FIN and errors on a reset; cancelling it
   * shuts the receive side (SHUT_RD).
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: 16384,
      pull: async (controller) => {
        const req = controller.byobRequest!;
        const v = req.view!;
        const view = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        let n: number | null;
        try {
          n = await this.read(view);
        } catch (e) {
          controller.error(e);
          return;
        }
        if (n === null) {
          controller.close();
          req.respond(0);
        } else {
          req.respond(n);
        }
      },
      cancel: () => {
        if (this.#closed) return;
        try {
          this.#sockets.shutdown(this.#fd, SHUT_RD);
        } catch {
          // The connection is already gone: nothing left to stop.
        }
      },
    });
    return this.#readable;
  }

  /**
   * A sink for bytes to send, with the send buffer's backpressure: each
   * chunk's write resolves once it is queued. Closing it sends FIN
   * (`closeWrite()`); aborting it closes the Conn.
   */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        // write() is short only when a user-set SO_SNDTIMEO expires: go on.
        for (let off = 0; off < chunk.length;) {
          off += await this.write(off === 0 ? chunk : chunk.subarray(off));
        }
      },
      close: async () => {
        if (!this.#closed) await this.closeWrite();
      },
      abort: () => {
        if (!this.#closed) this.close();
      },
    });
    return this.#writable;
  }

  /** Close unless already closed (`using conn = await stack.connect(…)`). */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  /** As {@link [Symbol.dispose]} (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
    return Promise.resolve();
  }

  #check(op: string): void {
    if (this.#closed || this.#sock.closed) throw closedError(op, "Conn");
  }

  /** Map a failure of a pending call; remember the connection's own errors. */
  #fail(e: unknown, op: string): unknown {
    if (this.#closed || this.#sock.closed) return closedError(op, "Conn");
    if (e instanceof NetError && isConnectionError(e.errno)) this.#failed ??= e;
    return e;
  }
}

/** Errors that end a connection for both directions (the TCB's `sk_err`). */
function isConnectionError(errno: number): boolean {
  return errno === Errno.ECONNRESET || errno === Errno.ETIMEDOUT ||
    errno === Errno.ECONNREFUSED || errno === Errno.ECONNABORTED ||
    errno === Errno.EHOSTUNREACH || errno === Errno.ENETUNREACH || errno === Errno.EPROTO;
}

/**
 * The `BadResource` a closed Conn or Listener answers with.
 *
 * @example
 * ```ts
 * import { closedError } from "./conn.ts";
 * closedError("read", "Conn").message; // "Cannot read: the Conn is closed"
 * ```
 */
export function closedError(op: string, what: string): BadResource {
  return new BadResource(Errno.EBADF, `Cannot ${op}: the ${what} is closed`);
}

/**
 * `port` checked as Deno checks it: a `TypeError` unless it is a number, a
 * `RangeError` unless it is an integer in `min`…65535.
 *
 * @example
 * ```ts
 * import { checkPort } from "./conn.ts";
 * checkPort(80, 1, "connect"); // 80
 * // checkPort(70000, 1, "connect") throws RangeError
 * ```
 */
export function checkPort(port: unknown, min: number, op: string): number {
  if (typeof port !== "number") throw new TypeError(`${op}: port ${String(port)} is not a number`);
  if (!(Number.isInteger(port) && port >= min && port <= 65535)) {
    throw new RangeError(`${op}: port ${port} is not in ${min}…65535`);
  }
  return port;
}

/**
 * An IPv4 literal, an IPv6 literal (in brackets or not, with a `%zone`:
 * `"fe80::1%eth0"`), or "localhost" → 127.0.0.1 (names are resolved by the
 * stack before they get here), in canonical text; anything else is a
 * `TypeError` naming `op`.
 *
 * @example
 * ```ts
 * import { resolveHost } from "./conn.ts";
 * resolveHost("localhost", "connect"); // "127.0.0.1"
 * resolveHost("[2001:DB8::2]", "connect"); // "2001:db8::2"
 * ```
 */
export function resolveHost(hostname: string, op: string): string {
  if (hostname === "localhost") return "127.0.0.1";
  const a = typeof hostname === "string" ? tryParseIpv4(hostname) : null;
  if (a !== null) return formatIpv4(a);
  const bare = typeof hostname === "string" && hostname.startsWith("[") && hostname.endsWith("]")
    ? hostname.slice(1, -1)
    : String(hostname);
  const [text, zone] = splitZone(bare);
  const a6 = tryParseIpv6Address(text);
  if (a6 !== null && zone !== "") return formatIpv6(a6) + (zone !== null ? `%${zone}` : "");
  throw new TypeError(
    `${op}: hostname "${hostname}" is not an IPv4 or IPv6 address (resolve names with stack.connect() or stack.resolveDns())`,
  );
}

/**
 * The address family of an address {@link resolveHost} returned: AF_INET6
 * for IPv6 text, else AF_INET.
 *
 * @example
 * ```ts
 * import { hostFamily } from "./conn.ts";
 * hostFamily("::1"); // 10 (AF_INET6)
 * hostFamily("192.0.2.2"); // 2 (AF_INET)
 * ```
 */
export function hostFamily(address: string): number {
  return address.includes(":") ? AF_INET6 : AF_INET;
}

/** Close `fd` if it is still open (the stack may have closed it already). */
function closeQuietly(sockets: SocketLayer, fd: number): void {
  try {
    sockets.close(fd);
  } catch {
    // Already closed (stack shutdown): nothing to release.
  }
}
