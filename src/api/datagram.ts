/**
 * `DatagramConn`: UDP the way `Deno.listenDatagram` offers it, on top of the
 * stack's BSD socket layer.
 *
 * Differences from Deno worth knowing: hostnames are IPv4 or IPv6 literals
 * (`"192.0.2.2"`, `"2001:db8::2"`, `"[::1]"`, `"fe80::1%eth0"`) or
 * `"localhost"` (resolve names first with `stack.resolveDns()`); `send()` also takes `"host:port"` and
 * `"[addr]:port"` strings; `receive()` without a buffer returns the whole
 * datagram (Deno allocates 1024 bytes and truncates); `broadcast` sets
 * SO_BROADCAST; there is no multicast (`joinMulticastV4`/`V6` reject with
 * `NotSupported`, `loopback` changes nothing).
 *
 * Families: an IPv6 `hostname` (`"::"` included) opens an AF_INET6 socket,
 * dual stack like Deno's on Linux: IPv4 peers appear as `::ffff:a.b.c.d`, and
 * IPv4 destinations are sent to through their mapped form.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { formatIpv4, tryParseIpv4 } from "../wire/addr.ts";
import { formatIpv6, splitZone, tryParseIpv6Address } from "../wire/addr6.ts";
import {
  AF_INET,
  AF_INET6,
  IPPROTO_UDP,
  MSG_PEEK,
  MSG_TRUNC,
  SO_BROADCAST,
  SO_REUSEADDR,
  SOCK_DGRAM,
  SOL_SOCKET,
} from "../socket/constants.ts";
import { BadResource, type NetError, NotSupported, WouldBlock } from "../socket/errors.ts";
import type { RecvResult, SocketLayer } from "../socket/fd_table.ts";
import { checkPort } from "./conn.ts";
import type { Socket } from "../socket/socket.ts";

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
  /** Always "udp". */
  readonly transport: "udp";
  /** IPv4 address (dotted quad) or IPv6 address (RFC 5952 text). */
  readonly hostname: string;
  /** UDP port. */
  readonly port: number;
}

/**
 * Any address `send()` accepts, as `Deno.Addr`: only UDP addresses are
 * usable here (`transport` "udp" or absent); others are a `TypeError`.
 *
 * @example
 * ```ts
 * import type { Addr } from "./datagram.ts";
 * const to: Addr = { hostname: "192.0.2.2", port: 7 };
 * ```
 */
export type Addr =
  | { readonly transport?: "tcp" | "udp"; readonly hostname: string; readonly port: number }
  | { readonly transport: "unix" | "unixpacket"; readonly path: string }
  | { readonly transport: "vsock"; readonly cid: number; readonly port: number };

/**
 * What `joinMulticastV4` would resolve with (as `Deno.MulticastV4Membership`);
 * netwasm has no multicast, so it never does.
 */
export interface MulticastV4Membership {
  /** Leave the group. */
  leave(): Promise<void>;
  /** IP_MULTICAST_LOOP. */
  setLoopback(loopback: boolean): Promise<void>;
  /** IP_MULTICAST_TTL. */
  setTTL(ttl: number): Promise<void>;
}

/** As {@link MulticastV4Membership}, for IPv6 (as `Deno.MulticastV6Membership`). */
export interface MulticastV6Membership {
  /** Leave the group. */
  leave(): Promise<void>;
  /** IPV6_MULTICAST_LOOP. */
  setLoopback(loopback: boolean): Promise<void>;
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
  /** Local port (default 0: a random ephemeral port). */
  port?: number;
  /** Local address (default "0.0.0.0": every IPv4 interface; "::" for both families). */
  hostname?: string;
  /** Only "udp". */
  transport?: "udp";
  /** SO_REUSEADDR: share the port with other sockets that set it too. */
  reuseAddress?: boolean;
  /** SO_BROADCAST: allow sending to broadcast addresses (not in Deno). */
  broadcast?: boolean;
  /** IP_MULTICAST_LOOP in Deno; netwasm has no multicast, so it changes nothing. */
  loopback?: boolean;
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
export function listenDatagram(
  sockets: SocketLayer,
  options: ListenDatagramOptions = {},
): DatagramConn {
  if (options.transport !== undefined && options.transport !== "udp") {
    throw new TypeError(
      `listenDatagram: transport "${options.transport}" is not supported (only "udp")`,
    );
  }
  const port = checkPort(options.port ?? 0, 0, "listenDatagram");
  const host = resolveHost(options.hostname ?? "0.0.0.0", "listenDatagram");
  const fd = sockets.socket(host.family, SOCK_DGRAM, IPPROTO_UDP);
  try {
    if (options.reuseAddress) sockets.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (options.broadcast) sockets.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1);
    sockets.bind(fd, { family: host.family, address: host.address, port });
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
export class DatagramConn implements AsyncIterable<[Uint8Array<ArrayBuffer>, NetAddr]> {
  /** Where this socket is bound (the real port when 0 was asked for). */
  readonly addr: NetAddr;
  readonly #sockets: SocketLayer;
  readonly #fd: number;
  /** The socket behind `#fd` (the stack may close it beneath us; the number may be reused). */
  readonly #sock: Socket;
  readonly #family: number;
  readonly #stop = new AbortController();
  #closed = false;

  /** Use `stack.listenDatagram()`; `fd` must be a bound datagram socket this object now owns. */
  constructor(sockets: SocketLayer, fd: number) {
    this.#sockets = sockets;
    this.#fd = fd;
    this.#sock = sockets.get(fd);
    const a = sockets.getsockname(fd);
    this.#family = a.family;
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
  async receive(p?: Uint8Array): Promise<[Uint8Array<ArrayBuffer>, NetAddr]> {
    this.#check("receive");
    const signal = this.#stop.signal;
    try {
      if (p !== undefined) {
        const r = await this.#sockets.recvfrom(this.#fd, p, 0, { signal });
        // Deno types the view as ArrayBuffer-backed whatever `p` is.
        return [p.subarray(0, r.bytes) as Uint8Array<ArrayBuffer>, netAddr(r)];
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
      if (this.#closed || this.#sock.closed) throw closedError("receive");
      throw e;
    }
  }

  /**
   * Send `p` to `addr` as one datagram; resolves with the bytes sent. `addr`
   * is a `Deno.Addr`-like object or a string `"192.0.2.2:7"` /
   * `"[2001:db8::2]:7"`. A non-UDP address is a `TypeError`, a port outside
   * 0…65535 a `RangeError`.
   */
  async send(p: Uint8Array, addr: Addr | string): Promise<number> {
    this.#check("send");
    const to = typeof addr === "string" ? parseHostPort(addr, "send") : addr;
    if ((to.transport !== undefined && to.transport !== "udp") || !("hostname" in to)) {
      throw new TypeError(`send: transport "${to.transport}" is not supported (only "udp")`);
    }
    const host = resolveHost(to.hostname, "send");
    const port = checkPort(to.port, 0, "send");
    if (this.#family === AF_INET6) {
      // A dual-stack socket reaches IPv4 through the mapped form (RFC 4038 §4.2).
      const address = host.family === AF_INET ? `::ffff:${host.address}` : host.address;
      return await this.#sockets.sendto(this.#fd, p, 0, { family: AF_INET6, address, port });
    }
    if (host.family !== AF_INET) {
      throw new TypeError(
        `send: ${to.hostname} is an IPv6 address but this socket is IPv4 (listen on "::" for both)`,
      );
    }
    return await this.#sockets.sendto(this.#fd, p, 0, { address: host.address, port });
  }

  /** Multicast is not supported: rejects with `NotSupported`. */
  joinMulticastV4(address: string, _networkInterface: string): Promise<MulticastV4Membership> {
    return Promise.reject(noMulticast(address));
  }

  /** Multicast is not supported: rejects with `NotSupported`. */
  joinMulticastV6(address: string, _networkInterface: number): Promise<MulticastV6Membership> {
    return Promise.reject(noMulticast(address));
  }

  /**
   * Close the socket. Pending `receive()` calls reject with `BadResource`;
   * closing twice throws it too (as Deno does).
   */
  close(): void {
    if (this.#closed) throw closedError("close");
    this.#closed = true;
    this.#stop.abort();
    if (!this.#sock.closed) this.#sockets.close(this.#fd);
  }

  /** Receive datagrams until the connection (or its stack) is closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array<ArrayBuffer>, NetAddr]> {
    for (;;) {
      if (this.#closed) return;
      try {
        yield await this.receive();
      } catch (e) {
        if (e instanceof BadResource) return;
        throw e;
      }
    }
  }

  #check(op: string): void {
    if (this.#closed || this.#sock.closed) throw closedError(op);
  }
}

function noMulticast(address: string): NetError {
  return new NotSupported(
    Errno.EOPNOTSUPP,
    `Cannot join multicast group ${address}: netwasm has no multicast`,
  );
}

function closedError(op: string): NetError {
  return new BadResource(Errno.EBADF, `Cannot ${op}: the DatagramConn is closed`);
}

function netAddr(r: RecvResult): NetAddr {
  const from = r.from;
  return { transport: "udp", hostname: from?.address ?? "0.0.0.0", port: from?.port ?? 0 };
}

/**
 * An IPv4 or IPv6 literal (brackets and a `%zone` allowed), or "localhost";
 * names are resolved with `stack.resolveDns()` first.
 */
function resolveHost(hostname: string, op: string): { family: number; address: string } {
  if (hostname === "localhost") return { family: AF_INET, address: "127.0.0.1" };
  const a = typeof hostname === "string" ? tryParseIpv4(hostname) : null;
  if (a !== null) return { family: AF_INET, address: formatIpv4(a) };
  const bare = typeof hostname === "string" && hostname.startsWith("[") && hostname.endsWith("]")
    ? hostname.slice(1, -1)
    : String(hostname);
  const [text, zone] = splitZone(bare);
  const a6 = tryParseIpv6Address(text);
  if (a6 !== null) {
    return { family: AF_INET6, address: formatIpv6(a6) + (zone !== null ? `%${zone}` : "") };
  }
  throw new TypeError(
    `${op}: hostname "${hostname}" is not an IPv4 or IPv6 address (resolve it with stack.resolveDns())`,
  );
}

/**
 * Split `"host:port"` or `"[ipv6]:port"` (RFC 3986 §3.2.2) into a `NetAddr`;
 * throws `TypeError` on anything else.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./datagram.ts";
 * parseHostPort("[2001:db8::2]:53"); // { transport: "udp", hostname: "2001:db8::2", port: 53 }
 * parseHostPort("192.0.2.2:7").port; // 7
 * ```
 */
export function parseHostPort(text: string, op = "parseHostPort"): NetAddr {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\[\]]+):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 0 && port <= 65535)) {
    throw new TypeError(
      `${op}: "${text}" is not HOST:PORT (an IPv6 address goes in brackets: [2001:db8::2]:53)`,
    );
  }
  return { transport: "udp", hostname: m[1]!, port };
}
