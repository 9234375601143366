/**
 * `DatagramConn`: UDP the way `Deno.listenDatagram` offers it, on top of the
 * stack's BSD socket layer.
 *
 * Differences from Deno worth knowing: hostnames are IPv4 literals (or
 * `"localhost"`; resolve names first with `stack.resolveDns()`); `receive()` without a buffer returns the
 * whole datagram (Deno allocates 1024 bytes and truncates); `broadcast`
 * sets SO_BROADCAST.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { formatIpv4, tryParseIpv4 } from "../wire/addr.ts";
import {
  AF_INET,
  IPPROTO_UDP,
  MSG_PEEK,
  MSG_TRUNC,
  SO_BROADCAST,
  SO_REUSEADDR,
  SOCK_DGRAM,
  SOL_SOCKET,
} from "../socket/constants.ts";
import { BadResource, type NetError, WouldBlock } from "../socket/errors.ts";
import type { RecvResult, SocketLayer } from "../socket/fd_table.ts";

/**
 * A UDP endpoint, as `Deno.NetAddr`.
 *
 * @example
 * ```ts
 * import type { NetAddr } from "./datagram.ts";
 * const dns: NetAddr = { transport: "udp", hostname: "192.0.2.53", port: 53 };
 * ```
 */
export interface NetAddr {
  readonly transport: "udp";
  readonly hostname: string;
  readonly port: number;
}

/**
 * Options for `stack.listenDatagram()` (as `Deno.listenDatagram`'s).
 *
 * @example
 * ```ts
 * import type { ListenDatagramOptions } from "./datagram.ts";
 * const o: ListenDatagramOptions = { hostname: "0.0.0.0", port: 5353, transport: "udp" };
 * ```
 */
export interface ListenDatagramOptions {
  /** Local port; 0 picks a random ephemeral port. */
  port: number;
  /** Local address (default "0.0.0.0": every interface). */
  hostname?: string;
  /** Only "udp". */
  transport?: "udp";
  /** SO_REUSEADDR: share the port with other sockets that set it too. */
  reuseAddress?: boolean;
  /** SO_BROADCAST: allow sending to broadcast addresses (not in Deno). */
  broadcast?: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * Open a UDP socket bound to `options.hostname:options.port`. Throws the
 * typed bind errors: `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, …
 * with messages like `Cannot bind 192.0.2.9:53: address not available on any
 * interface`.
 *
 * @example
 * ```ts
 * // const conn = listenDatagram(stack.sockets, { port: 5353 });
 * // for await (const [data, from] of conn) await conn.send(data, from); // echo
 * ```
 */
export function listenDatagram(sockets: SocketLayer, options: ListenDatagramOptions): DatagramConn {
  if (options.transport !== undefined && options.transport !== "udp") {
    throw new TypeError(
      `listenDatagram: transport "${options.transport}" is not supported (only "udp")`,
    );
  }
  const address = resolveHost(options.hostname ?? "0.0.0.0", "listenDatagram");
  const fd = sockets.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  try {
    if (options.reuseAddress) sockets.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (options.broadcast) sockets.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1);
    sockets.bind(fd, { address, port: options.port });
  } catch (e) {
    sockets.close(fd);
    throw e;
  }
  return new DatagramConn(sockets, fd);
}

/**
 * A bound UDP socket with Deno's `DatagramConn` interface.
 *
 * @example
 * ```ts
 * // const conn = stack.listenDatagram({ port: 0 });
 * // await conn.send(new TextEncoder().encode("hi"), { hostname: "192.0.2.2", port: 7 });
 * // const [data, from] = await conn.receive();
 * // conn.close();
 * ```
 */
export class DatagramConn implements AsyncIterable<[Uint8Array, NetAddr]> {
  /** Where this socket is bound (the real port when 0 was asked for). */
  readonly addr: NetAddr;
  readonly #sockets: SocketLayer;
  readonly #fd: number;
  readonly #stop = new AbortController();
  #closed = false;

  /** Use `stack.listenDatagram()`; `fd` must be a bound datagram socket this object now owns. */
  constructor(sockets: SocketLayer, fd: number) {
    this.#sockets = sockets;
    this.#fd = fd;
    const a = sockets.getsockname(fd);
    this.addr = { transport: "udp", hostname: a.address, port: a.port };
  }

  /** The descriptor, for the BSD calls (`stack.sockets.setsockopt(conn.fd, …)`). */
  get fd(): number {
    return this.#fd;
  }

  /**
   * The next datagram and its sender. With `p`, the data is copied into it
   * (truncated to its length, the rest discarded) and a view of `p` is
   * returned; without, a buffer of exactly the datagram's size.
   */
  async receive(p?: Uint8Array): Promise<[Uint8Array, NetAddr]> {
    this.#check("receive");
    const signal = this.#stop.signal;
    try {
      if (p !== undefined) {
        const r = await this.#sockets.recvfrom(this.#fd, p, 0, { signal });
        return [p.subarray(0, r.bytes), netAddr(r)];
      }
      for (;;) {
        // Wait until a datagram (or an error) is there, without taking it.
        await this.#sockets.recvfrom(this.#fd, EMPTY, MSG_PEEK, { signal });
        // Then, synchronously so no other receive() can take it in between:
        // its length (MSG_PEEK | MSG_TRUNC on an empty buffer), and the datagram.
        let size: number;
        try {
          size = this.#sockets.recvfromNow(this.#fd, EMPTY, MSG_PEEK | MSG_TRUNC).bytes;
        } catch (e) {
          if (e instanceof WouldBlock) continue; // a concurrent receive() got it first
          throw e;
        }
        const buf = new Uint8Array(size);
        return [buf, netAddr(this.#sockets.recvfromNow(this.#fd, buf))];
      }
    } catch (e) {
      if (this.#closed) throw closedError("receive");
      throw e;
    }
  }

  /** Send `p` to `addr` as one datagram; resolves with the bytes sent. */
  async send(
    p: Uint8Array,
    addr: { hostname: string; port: number; transport?: string },
  ): Promise<number> {
    this.#check("send");
    if (addr.transport !== undefined && addr.transport !== "udp") {
      throw new TypeError(`send: transport "${addr.transport}" is not supported (only "udp")`);
    }
    const address = resolveHost(addr.hostname, "send");
    return await this.#sockets.sendto(this.#fd, p, 0, { address, port: addr.port });
  }

  /**
   * Close the socket. Pending `receive()` calls reject with `BadResource`;
   * closing twice throws it too (as Deno does).
   */
  close(): void {
    this.#check("close");
    this.#closed = true;
    this.#stop.abort();
    this.#sockets.close(this.#fd);
  }

  /** Receive datagrams until the connection is closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array, NetAddr]> {
    for (;;) {
      if (this.#closed) return;
      try {
        yield await this.receive();
      } catch (e) {
        if (e instanceof BadResource && this.#closed) return;
        throw e;
      }
    }
  }

  #check(op: string): void {
    if (this.#closed) throw closedError(op);
  }
}

function closedError(op: string): NetError {
  return new BadResource(Errno.EBADF, `Cannot ${op}: the DatagramConn is closed`);
}

function netAddr(r: RecvResult): NetAddr {
  const from = r.from;
  return { transport: "udp", hostname: from?.address ?? "0.0.0.0", port: from?.port ?? 0 };
}

/** An IPv4 literal, or "localhost"; names are resolved with `stack.resolveDns()` first. */
function resolveHost(hostname: string, op: string): string {
  if (hostname === "localhost") return "127.0.0.1";
  const a = tryParseIpv4(hostname);
  if (a === null) {
    throw new TypeError(
      `${op}: hostname "${hostname}" is not an IPv4 address (resolve it with stack.resolveDns())`,
    );
  }
  return formatIpv4(a);
}
