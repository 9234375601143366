/**
 * `Listener`: a listening TCP socket the way `Deno.listen` offers it, on
 * top of the stack's BSD socket layer. Connections that complete their
 * handshake wait in the accept queue (bounded by `tcpBacklog`), data they
 * receive meanwhile included, until `accept()` takes them.
 *
 * @module
 */
import { IPPROTO_TCP, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET } from "../socket/constants.ts";
import { Errno } from "../core/errno.ts";
import { BadResource, Interrupted, NotSupported } from "../socket/errors.ts";
import type { SocketLayer } from "../socket/fd_table.ts";
import type { Socket } from "../socket/socket.ts";
import { checkPort, closedError, Conn, hostFamily, resolveHost, type TcpNetAddr } from "./conn.ts";

/**
 * Options for `stack.listen()` (as `Deno.TcpListenOptions`, same names).
 *
 * @example
 * ```ts
 * import type { ListenOptions } from "./listener.ts";
 * const o: ListenOptions = { hostname: "0.0.0.0", port: 8080, tcpBacklog: 511 };
 * ```
 */
export interface ListenOptions {
  /** Local port (default 0: an ephemeral port, see `Listener.addr`). */
  port?: number;
  /**
   * Local address (default "0.0.0.0": every IPv4 interface; `"::"` takes
   * IPv6 and, v4-mapped, IPv4 clients too).
   */
  hostname?: string;
  /** Only "tcp". */
  transport?: "tcp";
  /**
   * SO_REUSEADDR (default true, as Deno/Rust set it on Unix): restart a
   * server while old connections on its port are still in TIME-WAIT. Two
   * listeners on one port are refused either way.
   */
  reuseAddress?: boolean;
  /** Accept-queue length (default 128; at most `TcpConfig.somaxconn`, 4096 unless raised, as Linux), as Deno's. */
  tcpBacklog?: number;
  /** @deprecated Use `tcpBacklog` (Deno's name). */
  backlog?: number;
  /**
   * SO_REUSEPORT (Deno's `reusePort`, Linux only there): not supported —
   * `true` throws `NotSupported`; several listeners cannot share a port.
   */
  reusePort?: boolean;
}

/**
 * Listen for TCP connections on `options.hostname:options.port`. Throws the
 * typed bind errors: `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`,
 * with messages like `Cannot bind 192.0.2.9:80: address not available on
 * any interface`; a `RangeError` for a port outside 0…65535.
 *
 * @example
 * ```ts
 * // const listener = listen(stack.sockets, { port: 7 });
 * // for await (const conn of listener) conn.readable.pipeTo(conn.writable); // echo
 * ```
 */
export function listen(sockets: SocketLayer, options: ListenOptions = {}): Listener {
  if (options.transport !== undefined && options.transport !== "tcp") {
    throw new TypeError(`listen: transport "${options.transport}" is not supported (only "tcp")`);
  }
  const port = checkPort(options.port ?? 0, 0, "listen");
  if (options.reusePort) {
    throw new NotSupported(
      Errno.EOPNOTSUPP,
      "listen: reusePort (SO_REUSEPORT) is not supported by netwasm's TCP",
    );
  }
  const backlog = options.tcpBacklog ?? options.backlog ?? 128;
  if (!(Number.isInteger(backlog) && backlog >= 0)) {
    throw new TypeError(`listen: backlog ${backlog} is not a non-negative integer`);
  }
  const address = resolveHost(options.hostname ?? "0.0.0.0", "listen");
  const family = hostFamily(address);
  const fd = sockets.socket(family, SOCK_STREAM, IPPROTO_TCP);
  try {
    if (options.reuseAddress ?? true) sockets.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    sockets.bind(fd, { family, address, port });
    sockets.listen(fd, backlog);
  } catch (e) {
    sockets.close(fd);
    throw e;
  }
  return new Listener(sockets, fd);
}

/**
 * A listening TCP socket with Deno's `Listener` interface.
 *
 * @example
 * ```ts
 * // const listener = stack.listen({ port: 8080 });
 * // const conn = await listener.accept();
 * // await conn.write(new TextEncoder().encode("hello\n"));
 * // conn.close();
 * // listener.close();
 * ```
 */
export class Listener implements AsyncIterable<Conn>, Disposable {
  /** Where it listens (the real port when 0 was asked for). */
  readonly addr: TcpNetAddr;
  readonly #sockets: SocketLayer;
  readonly #fd: number;
  /** The socket behind `#fd` (the stack may close it beneath us; the number may be reused). */
  readonly #sock: Socket;
  #closed = false;

  /** Use `stack.listen()`; `fd` must be a listening stream socket this object now owns. */
  constructor(sockets: SocketLayer, fd: number) {
    this.#sockets = sockets;
    this.#fd = fd;
    this.#sock = sockets.get(fd);
    const a = sockets.getsockname(fd);
    this.addr = { transport: "tcp", hostname: a.address, port: a.port };
  }

  /** The descriptor, for the BSD calls. */
  get fd(): number {
    return this.#fd;
  }

  /**
   * The next connection, waiting for one if none is queued. Rejects with
   * `BadResource` once the listener (or its stack) is closed, also when
   * closed while waiting.
   */
  async accept(): Promise<Conn> {
    if (this.#closed || this.#sock.closed) throw closedError("accept", "Listener");
    try {
      // No abort signal of our own: closing the socket fails its waiters
      // with EBADF, which is how close() (ours or the stack's) ends a wait.
      const { fd } = await this.#sockets.accept(this.#fd);
      return new Conn(this.#sockets, fd);
    } catch (e) {
      if (this.#closed || this.#sock.closed) throw closedError("accept", "Listener");
      throw e;
    }
  }

  /**
   * Stop listening: connections not yet accepted are reset, pending
   * `accept()` calls reject with `BadResource`. Accepted Conns stay open.
   * Closing twice throws `BadResource` (as Deno does).
   */
  close(): void {
    if (this.#closed) throw closedError("close", "Listener");
    this.#closed = true;
    if (!this.#sock.closed) this.#sockets.close(this.#fd);
  }

  /**
   * Accept connections until the listener or its stack is closed: then the
   * loop simply ends (as Deno's does on `BadResource` or `Interrupted`).
   */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Conn> {
    for (;;) {
      if (this.#closed) return;
      try {
        yield await this.accept();
      } catch (e) {
        if (e instanceof BadResource || e instanceof Interrupted) return;
        throw e;
      }
    }
  }

  /** A pending `accept()` keeps the process alive (the default, as in Deno). */
  ref(): void {
    this.#sock.setRef(true);
  }

  /** A pending `accept()` no longer keeps the process alive. */
  unref(): void {
    this.#sock.setRef(false);
  }

  /** Close unless already closed (`using listener = stack.listen(…)`). */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }
}
