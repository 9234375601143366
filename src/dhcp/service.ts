/**
 * The stack's DHCP client side: one UDP socket on port 68 shared by the
 * clients of every DHCP interface (replies are matched to a client by
 * `chaddr` and `xid`), and a send path that picks the outgoing interface
 * itself (what Linux clients do with a packet socket or SO_BINDTODEVICE):
 * before an interface has an address its DISCOVER must leave through it,
 * from 0.0.0.0, to 255.255.255.255.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import type { RandomSource } from "../core/random.ts";
import type { DropCounters } from "../core/stats.ts";
import type { Iface } from "../ipv4/iface.ts";
import type { Ipv4Layer } from "../ipv4/layer.ts";
import type { NeighbourTable } from "../ipv4/neighbour.ts";
import type { SkbAllocator } from "../skb/skbuff.ts";
import { AF_INET, IPPROTO_UDP, SO_BROADCAST, SOCK_DGRAM, SOL_SOCKET } from "../socket/constants.ts";
import type { SocketLayer } from "../socket/fd_table.ts";
import type { Ipv4Address } from "../wire/addr.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { emitUdp, UDP_HEADER_LENGTH } from "../wire/udp.ts";
import { DhcpClient, type DhcpClientOptions, type DhcpLease } from "./client.ts";
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, parseDhcp } from "./wire.ts";

/** What the service needs from the stack. */
export interface DhcpServiceDeps {
  readonly sockets: SocketLayer;
  readonly ipv4: Ipv4Layer;
  readonly neighbours: NeighbourTable;
  readonly allocator: SkbAllocator;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly drops: DropCounters;
  /** Apply a lease to `iface` (null: remove it). */
  configure(iface: Iface, lease: DhcpLease | null): void;
}

/**
 * DHCP clients of one stack (`stack.addInterface(dev, { dhcp: true })`).
 *
 * @example
 * ```ts
 * // Created by the Stack; use stack.dhcp(iface) to reach a client.
 * ```
 */
export class DhcpService {
  readonly #deps: DhcpServiceDeps;
  readonly #clients = new Map<Iface, DhcpClient>();
  #fd: number | null = null;
  #loop: Promise<void> | null = null;
  #closed = false;

  constructor(deps: DhcpServiceDeps) {
    this.#deps = deps;
  }

  /** The client of `iface`, if it uses DHCP. */
  client(iface: Iface): DhcpClient | undefined {
    return this.#clients.get(iface);
  }

  /** Start a client on `iface` (which must have no address yet). */
  start(iface: Iface, options: DhcpClientOptions = {}): DhcpClient {
    if (this.#clients.has(iface)) throw new TypeError(`${iface.name} already runs DHCP`);
    this.#open();
    const d = this.#deps;
    const client = new DhcpClient({
      clock: d.clock,
      random: d.random,
      mac: iface.dev.mac,
      send: (msg, dst, src) => this.#send(iface, msg, dst, src),
      probe: (ip) => d.neighbours.probe(iface, ip),
      watch: (ip, cb) => d.neighbours.watchAddress(iface, ip, cb),
      apply: (lease) => d.configure(iface, lease),
      unapply: () => d.configure(iface, null),
    }, options);
    this.#clients.set(iface, client);
    client.start();
    return client;
  }

  /** Stop the client of `iface` (releasing its lease when asked). */
  stop(iface: Iface, options: { release?: boolean } = {}): void {
    const c = this.#clients.get(iface);
    if (c === undefined) return;
    c.stop(options);
    this.#clients.delete(iface);
  }

  /** Stop every client and close the socket. */
  close(): void {
    this.#closed = true;
    for (const iface of [...this.#clients.keys()]) this.stop(iface);
    if (this.#fd !== null) {
      try {
        this.#deps.sockets.close(this.#fd);
      } catch { /* closed with the stack */ }
      this.#fd = null;
    }
  }

  #open(): void {
    if (this.#fd !== null) return;
    const s = this.#deps.sockets;
    const fd = s.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    s.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1);
    s.bind(fd, { address: "0.0.0.0", port: DHCP_CLIENT_PORT });
    this.#fd = fd;
    this.#loop = this.#receive(fd);
  }

  async #receive(fd: number): Promise<void> {
    const s = this.#deps.sockets;
    const buf = new Uint8Array(2048);
    for (;;) {
      let n: number;
      try {
        const r = await s.recvfrom(fd, buf);
        n = r.bytes;
        if (r.from?.port !== DHCP_SERVER_PORT) {
          this.#deps.drops.count("dhcp.wrong_port");
          continue;
        }
      } catch {
        return; // closed
      }
      const m = parseDhcp(buf.subarray(0, n));
      if (typeof m === "string") {
        this.#deps.drops.count(m);
        continue;
      }
      let taken = false;
      for (const [iface, c] of this.#clients) {
        if (iface.dev.mac === m.chaddr) {
          c.receive(m);
          taken = true;
        }
      }
      if (!taken) this.#deps.drops.count("dhcp.no_client");
    }
  }

  /** A UDP datagram 68 → `dst`:67 out of `iface`, from `src` (0.0.0.0 before we have an address). */
  #send(iface: Iface, payload: Uint8Array, dst: Ipv4Address, src: Ipv4Address): void {
    if (this.#closed) return;
    const d = this.#deps;
    const skb = d.allocator.alloc(UDP_HEADER_LENGTH + payload.length);
    if (skb === null) {
      d.drops.count("dhcp.no_buffer");
      return;
    }
    const at = skb.put(UDP_HEADER_LENGTH + payload.length);
    const u8 = d.allocator.arena.u8;
    u8.set(payload, at + UDP_HEADER_LENGTH);
    emitUdp(
      { srcPort: DHCP_CLIENT_PORT, dstPort: DHCP_SERVER_PORT, payloadLength: payload.length },
      u8,
      at,
      { src, dst },
    );
    skb.transportHeader = at;
    const r = d.ipv4.output(skb, dst, { protocol: IpProtocol.UDP, src, oif: iface });
    if (r < 0) d.drops.count("dhcp.send_failed");
  }
}
