/**
 * A small DHCP server (RFC 2131 §4.3) on a netwasm stack: one subnet, an
 * address pool, leases by client hardware address, and the options a LAN
 * needs (mask, router, name servers, domain, MTU, lease times). The NAT
 * relay runs one for its pages; tests use it as the peer of the client.
 *
 * Replies go to 255.255.255.255 unless the client has an address (ciaddr),
 * then to it (§4.1: we cannot unicast to a client without an ARP entry, and
 * broadcasting is always allowed). Leases are kept in memory.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import type { DropCounters } from "../core/stats.ts";
import type { DatagramConn } from "../api/datagram.ts";
import {
  formatIpv4,
  type Ipv4Address,
  type MacAddress,
  prefixToMask,
  tryParseIpv4,
} from "../wire/addr.ts";
import {
  addressesValue,
  DHCP_CLIENT_PORT,
  DhcpMessageType,
  DhcpOption,
  type DhcpRepr,
  emitDhcp,
  messageType,
  optAddress,
  parseDhcp,
  u16Value,
  u32Value,
} from "./wire.ts";

/** What the server needs: a UDP socket on port 67 with SO_BROADCAST, and a clock. */
export interface DhcpServerDeps {
  readonly socket: DatagramConn;
  readonly clock: Clock;
  readonly drops?: DropCounters;
}

/**
 * Server configuration.
 *
 * @example
 * ```ts
 * import type { DhcpServerOptions } from "./server.ts";
 * const o: DhcpServerOptions = {
 *   serverAddress: "192.0.2.1", prefixLength: 24, poolStart: "192.0.2.100", poolEnd: "192.0.2.199",
 *   router: "192.0.2.1", dnsServers: ["192.0.2.1"], domain: "lan.test", leaseTime: 3600,
 * };
 * ```
 */
export interface DhcpServerOptions {
  /** Our address (the server identifier, option 54). */
  serverAddress: string;
  /** Prefix length of the subnet served (sent as the subnet mask, option 1). */
  prefixLength: number;
  /** First address of the pool (inside the subnet). */
  poolStart: string;
  /** Last address of the pool (inside the subnet, not below `poolStart`). */
  poolEnd: string;
  /** Router to hand out (option 3); none when omitted. */
  router?: string;
  /** Name servers to hand out (option 6); none when omitted. */
  dnsServers?: readonly string[];
  /** Domain name to hand out (option 15). */
  domain?: string;
  /** Interface MTU to hand out (option 26). */
  mtu?: number;
  /** Seconds (default 3600). */
  leaseTime?: number;
  /** T1 seconds (option 58; default: not sent, the client uses 0.5 of the lease). */
  renewalTime?: number;
  /** T2 seconds (option 59; default: not sent, the client uses 0.875 of the lease). */
  rebindingTime?: number;
  /** How long an address a client declined stays out of the pool, seconds (default 600). */
  declineHoldSeconds?: number;
}

interface Lease {
  address: Ipv4Address;
  mac: MacAddress;
  expires: number;
  /** Offered, not yet requested. */
  offered: boolean;
}

/** Server counters. */
export interface DhcpServerStats {
  /** DHCPDISCOVERs received. */
  discovers: number;
  /** DHCPREQUESTs received. */
  requests: number;
  /** DHCPOFFERs sent. */
  offers: number;
  /** DHCPACKs sent. */
  acks: number;
  /**
   * DHCPNAKs sent: a REQUEST for an address outside the subnet or held by another client (RFC 2131
   * §4.3.2).
   */
  naks: number;
  /** DHCPDECLINEs received (the address is kept out of the pool for a while). */
  declines: number;
  /** DHCPRELEASEs received. */
  releases: number;
  /** Messages ignored (no address left, not for us, malformed). */
  ignored: number;
}

/**
 * A DHCP server on one subnet.
 *
 * @example
 * ```ts
 * // const socket = stack.listenDatagram({ port: 67, broadcast: true });
 * // const server = new DhcpServer({ socket, clock: stack.clock }, {
 * //   serverAddress: "192.0.2.1", prefixLength: 24, poolStart: "192.0.2.100", poolEnd: "192.0.2.199" });
 * // server.run();
 * ```
 */
export class DhcpServer {
  /** Message counters. */
  readonly stats: DhcpServerStats = {
    discovers: 0,
    requests: 0,
    offers: 0,
    acks: 0,
    naks: 0,
    declines: 0,
    releases: 0,
    ignored: 0,
  };
  /**
   * A test hook: return false to drop a message unanswered (a server that
   * stops renewing, a lost reply).
   */
  filter: ((m: DhcpRepr, type: number) => boolean) | null = null;
  readonly #deps: DhcpServerDeps;
  readonly #self: Ipv4Address;
  readonly #mask: Ipv4Address;
  readonly #start: Ipv4Address;
  readonly #end: Ipv4Address;
  readonly #o: DhcpServerOptions;
  readonly #leases = new Map<MacAddress, Lease>();
  readonly #declined = new Map<Ipv4Address, number>();

  /**
   * A server answering on `deps.socket`. Throws `RangeError` when the pool is not within the
   * subnet.
   */
  constructor(deps: DhcpServerDeps, options: DhcpServerOptions) {
    this.#deps = deps;
    this.#o = options;
    this.#self = addr(options.serverAddress);
    this.#mask = prefixToMask(options.prefixLength);
    this.#start = addr(options.poolStart);
    this.#end = addr(options.poolEnd);
    if (this.#start > this.#end || !this.#inSubnet(this.#start) || !this.#inSubnet(this.#end)) {
      throw new RangeError(
        `DHCP pool ${options.poolStart}–${options.poolEnd} is not within ${options.serverAddress}/${options.prefixLength}`,
      );
    }
  }

  /** Leases held now: address → MAC. */
  get leases(): ReadonlyMap<string, MacAddress> {
    const now = this.#deps.clock.now();
    const out = new Map<string, MacAddress>();
    for (const l of this.#leases.values()) {
      if (!l.offered && l.expires > now) out.set(formatIpv4(l.address), l.mac);
    }
    return out;
  }

  /**
   * Take `address` back from whoever leases it and keep it out of the pool
   * for the decline hold time (an administrator's revocation): the holder's
   * next renewal is NAKed.
   */
  revoke(address: string): void {
    const a = addr(address);
    for (const [mac, l] of this.#leases) if (l.address === a) this.#leases.delete(mac);
    this.#declined.set(a, this.#now() + (this.#o.declineHoldSeconds ?? 600) * 1000);
  }

  /** Serve until the socket is closed. */
  async run(): Promise<void> {
    for (;;) {
      let data: Uint8Array;
      try {
        [data] = await this.#deps.socket.receive();
      } catch {
        return; // closed
      }
      this.handle(data);
    }
  }

  /** Handle one datagram received on port 67. */
  handle(data: Uint8Array): void {
    const m = parseDhcp(data);
    if (typeof m === "string") {
      this.#deps.drops?.count(m);
      this.stats.ignored++;
      return;
    }
    const type = messageType(m);
    if (m.op !== 1 || type === null) {
      this.stats.ignored++;
      return;
    }
    if (this.filter !== null && !this.filter(m, type)) return;
    switch (type) {
      case DhcpMessageType.DISCOVER:
        this.stats.discovers++;
        return this.#discover(m);
      case DhcpMessageType.REQUEST:
        this.stats.requests++;
        return this.#request(m);
      case DhcpMessageType.DECLINE: {
        this.stats.declines++;
        const a = optAddress(m, DhcpOption.REQUESTED_IP);
        if (a !== null && optAddress(m, DhcpOption.SERVER_ID) === this.#self) {
          // RFC 2131 §4.3.3: the address is in use elsewhere; keep it out of the pool.
          this.#declined.set(a, this.#now() + (this.#o.declineHoldSeconds ?? 600) * 1000);
          this.#leases.delete(m.chaddr);
        }
        return;
      }
      case DhcpMessageType.RELEASE: {
        this.stats.releases++;
        const l = this.#leases.get(m.chaddr);
        if (l !== undefined && l.address === m.ciaddr) this.#leases.delete(m.chaddr);
        return;
      }
    }
    this.stats.ignored++;
  }

  #now(): number {
    return this.#deps.clock.now();
  }

  #inSubnet(a: Ipv4Address): boolean {
    return ((a ^ this.#self) & this.#mask) === 0;
  }

  #inPool(a: Ipv4Address): boolean {
    return a >= this.#start && a <= this.#end;
  }

  /** Is `a` free for `mac` (not leased to another, not declined, not ours)? */
  #free(a: Ipv4Address, mac: MacAddress): boolean {
    if (a === this.#self || !this.#inPool(a)) return false;
    const held = this.#declined.get(a);
    if (held !== undefined && held > this.#now()) return false;
    const now = this.#now();
    for (const l of this.#leases.values()) {
      if (l.address === a && l.mac !== mac && l.expires > now) return false;
    }
    return true;
  }

  #discover(m: DhcpRepr): void {
    // RFC 2131 §4.3.1: the client's current lease, else the requested address, else a free one.
    const now = this.#now();
    let address: Ipv4Address | null = null;
    const prev = this.#leases.get(m.chaddr);
    if (prev !== undefined && this.#free(prev.address, m.chaddr)) address = prev.address;
    const asked = optAddress(m, DhcpOption.REQUESTED_IP);
    if (address === null && asked !== null && this.#free(asked, m.chaddr)) address = asked;
    for (let a = this.#start; address === null && a <= this.#end; a++) {
      if (this.#free(a, m.chaddr)) address = a;
    }
    if (address === null) {
      this.stats.ignored++; // pool exhausted: no offer
      return;
    }
    this.#leases.set(m.chaddr, { address, mac: m.chaddr, expires: now + 60_000, offered: true });
    this.stats.offers++;
    this.#reply(m, DhcpMessageType.OFFER, address);
  }

  #request(m: DhcpRepr): void {
    const server = optAddress(m, DhcpOption.SERVER_ID);
    const asked = optAddress(m, DhcpOption.REQUESTED_IP);
    const lease = this.#leases.get(m.chaddr);
    if (server !== null) {
      // SELECTING (§4.3.2): the client chose a server; if not us, forget our offer.
      if (server !== this.#self) {
        if (lease?.offered) this.#leases.delete(m.chaddr);
        return;
      }
      if (lease === undefined || asked !== lease.address) return this.#nak(m);
      return this.#ack(m, lease.address);
    }
    if (m.ciaddr === 0) {
      // INIT-REBOOT (§4.3.2): NAK an address that is wrong for this network.
      if (asked === null) return this.#nak(m);
      if (!this.#inSubnet(asked) || !this.#free(asked, m.chaddr)) return this.#nak(m);
      return this.#ack(m, asked);
    }
    // RENEWING / REBINDING: extend the client's lease on ciaddr.
    if (lease !== undefined && lease.address === m.ciaddr && !lease.offered) {
      return this.#ack(m, m.ciaddr);
    }
    if (!this.#inSubnet(m.ciaddr) || !this.#free(m.ciaddr, m.chaddr)) return this.#nak(m);
    return this.#ack(m, m.ciaddr);
  }

  #ack(m: DhcpRepr, address: Ipv4Address): void {
    const t = this.#o.leaseTime ?? 3600;
    this.#leases.set(m.chaddr, {
      address,
      mac: m.chaddr,
      expires: this.#now() + t * 1000,
      offered: false,
    });
    this.stats.acks++;
    this.#reply(m, DhcpMessageType.ACK, address);
  }

  #nak(m: DhcpRepr): void {
    this.stats.naks++;
    this.#leases.delete(m.chaddr);
    this.#reply(m, DhcpMessageType.NAK, 0);
  }

  #reply(m: DhcpRepr, type: number, yiaddr: Ipv4Address): void {
    const o = this.#o;
    const options = new Map<number, Uint8Array>();
    options.set(DhcpOption.MESSAGE_TYPE, Uint8Array.of(type));
    options.set(DhcpOption.SERVER_ID, addressesValue([this.#self]));
    if (type !== DhcpMessageType.NAK) {
      options.set(DhcpOption.LEASE_TIME, u32Value(o.leaseTime ?? 3600));
      if (o.renewalTime !== undefined) {
        options.set(DhcpOption.RENEWAL_TIME, u32Value(o.renewalTime));
      }
      if (o.rebindingTime !== undefined) {
        options.set(DhcpOption.REBINDING_TIME, u32Value(o.rebindingTime));
      }
      options.set(DhcpOption.SUBNET_MASK, addressesValue([this.#mask]));
      if (o.router !== undefined) options.set(DhcpOption.ROUTER, addressesValue([addr(o.router)]));
      if (o.dnsServers !== undefined && o.dnsServers.length > 0) {
        options.set(DhcpOption.DNS_SERVERS, addressesValue(o.dnsServers.map(addr)));
      }
      if (o.domain !== undefined) {
        options.set(DhcpOption.DOMAIN_NAME, new TextEncoder().encode(o.domain));
      }
      if (o.mtu !== undefined) options.set(DhcpOption.INTERFACE_MTU, u16Value(o.mtu));
    }
    const bytes = emitDhcp({
      op: 2,
      xid: m.xid,
      secs: 0,
      broadcast: m.broadcast,
      ciaddr: type === DhcpMessageType.NAK ? 0 : m.ciaddr,
      yiaddr,
      siaddr: 0,
      giaddr: m.giaddr,
      chaddr: m.chaddr,
      options,
    });
    // RFC 2131 §4.1: NAKs and replies to clients without an address are broadcast.
    const to = m.ciaddr !== 0 && type !== DhcpMessageType.NAK
      ? formatIpv4(m.ciaddr)
      : "255.255.255.255";
    this.#deps.socket.send(bytes, { hostname: to, port: DHCP_CLIENT_PORT }).catch(() => {
      this.#deps.drops?.count("dhcp.server_send_failed");
    });
  }
}

function addr(text: string): Ipv4Address {
  const a = tryParseIpv4(text);
  if (a === null) throw new TypeError(`DHCP server: "${text}" is not an IPv4 address`);
  return a;
}
