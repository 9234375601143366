/**
 * The DHCP client state machine of one interface (RFC 2131 §4.4, Figure 5):
 *
 * ```
 * INIT ─DISCOVER→ SELECTING ─OFFER/REQUEST→ REQUESTING ─ACK→ CHECKING ─no ARP reply→ BOUND
 *  ↑                                             │NAK            │conflict: DECLINE, wait 10 s
 *  └──────────────────────────────────────────────┴──────────────┘
 * INIT-REBOOT ─REQUEST(requested IP)→ REBOOTING ─ACK→ CHECKING; NAK or silence → INIT
 * BOUND ─T1→ RENEWING (unicast REQUEST) ─T2→ REBINDING (broadcast) ─lease end→ address removed, INIT
 * ```
 *
 * - Retransmission (§4.1): DISCOVER and REQUEST after 4, 8, 16, 32, 64 s,
 *   each ±1 s at random; in RENEWING/REBINDING after half the time left
 *   until T2 (or the lease's end), at least `minRenewRetransmitMs` (60 s).
 * - Before using an address from an ACK the client probes it with ARP
 *   (§4.4.1, RFC 5227 §2.1.1: sender IP 0.0.0.0); any sign that another
 *   host uses it → DHCPDECLINE and INIT after ten seconds (§3.1 step 5).
 * - T1 and T2 default to 0.5 and 0.875 of the lease (§4.4.5).
 * - Replies are accepted only with our `xid` and our `chaddr`, and in
 *   REQUESTING only from the server we chose (option 54); the broadcast flag
 *   is set until we have an address, so servers answer to 255.255.255.255
 *   (§4.1: a client that cannot receive unicast before it is configured).
 *
 * The client talks to its interface through {@link DhcpHost}: sending,
 * ARP probing, and applying or removing the lease. Time and randomness come
 * from the stack.
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import { randomInt, type RandomSource } from "../core/random.ts";
import {
  formatIpv4,
  IPV4_BROADCAST,
  type Ipv4Address,
  isMartianSource,
  type MacAddress,
  maskToPrefix,
} from "../wire/addr.ts";
import {
  addressesValue,
  decodeSearchList,
  DhcpMessageType,
  DhcpOption,
  type DhcpRepr,
  emitDhcp,
  messageType,
  optAddress,
  optAddresses,
  optText,
  optU16,
  optU32,
  u16Value,
} from "./wire.ts";

/** Client states (RFC 2131 Figure 5, plus CHECKING for the ARP probe and STOPPED). */
export type DhcpState =
  | "INIT"
  | "SELECTING"
  | "REQUESTING"
  | "CHECKING"
  | "BOUND"
  | "RENEWING"
  | "REBINDING"
  | "INIT-REBOOT"
  | "REBOOTING"
  | "DECLINED"
  | "STOPPED";

/** A lease as applied to the interface. */
export interface DhcpLease {
  /** Our address. */
  readonly address: string;
  /** The subnet's prefix length (from the subnet mask, option 1). */
  readonly prefixLength: number;
  /** The server that granted it (option 54). */
  readonly serverId: string;
  /** Routers (option 3), first preferred. */
  readonly routers: readonly string[];
  /** Name servers (option 6). */
  readonly dnsServers: readonly string[];
  /** Domain name (option 15). */
  readonly domain: string | null;
  /** Domain search list (option 119), else the domain. */
  readonly search: readonly string[];
  /** Interface MTU (option 26, at least 68), or null. */
  readonly mtu: number | null;
  /** Lease time, seconds (0xffffffff: infinite). */
  readonly leaseTime: number;
  /** T1: seconds after `obtainedAt` to start renewing (RFC 2131 §4.4.5). */
  readonly renewalTime: number;
  /** T2: seconds after `obtainedAt` to start rebinding with any server. */
  readonly rebindingTime: number;
  /** Clock time the lease starts (when the REQUEST it answers was sent). */
  readonly obtainedAt: number;
}

/** What the client needs from its interface and stack. */
export interface DhcpHost {
  readonly clock: Clock;
  readonly random: RandomSource;
  /** The interface's MAC (chaddr, client identifier). */
  readonly mac: MacAddress;
  /** Send a message from port 68 to `dst`:67 with source `src` (0 until bound). */
  send(message: Uint8Array, dst: Ipv4Address, src: Ipv4Address): void;
  /** ARP-probe `ip` (RFC 5227 probe, sender 0.0.0.0). */
  probe(ip: Ipv4Address): void;
  /** Report another host using `ip`; returns the function that stops watching. */
  watch(ip: Ipv4Address, onConflict: (mac: MacAddress) => void): () => void;
  /** Configure the interface (address, routes, MTU, DNS) from `lease`. */
  apply(lease: DhcpLease): void;
  /** Remove what {@link apply} configured. */
  unapply(lease: DhcpLease): void;
}

/**
 * Client options (`addInterface(dev, { dhcp: { … } })`).
 *
 * @example
 * ```ts
 * import type { DhcpClientOptions } from "./client.ts";
 * const o: DhcpClientOptions = { hostname: "page1", requestedAddress: "192.0.2.50" };
 * ```
 */
export interface DhcpClientOptions {
  /** Host name to send (option 12). */
  hostname?: string;
  /** An address we had: start in INIT-REBOOT asking for it (RFC 2131 §3.2). */
  requestedAddress?: string;
  /** ARP probes before using an address (default 2; 0 skips the check). */
  probes?: number;
  /** Between probes, and after the last, ms (default 500). */
  probeIntervalMs?: number;
  /** Random delay before the first DISCOVER, at most, ms (default 1000; RFC 2131 §4.4.1 says 1–10 s). */
  startDelayMs?: number;
  /** Shortest wait between RENEWING/REBINDING retransmissions, ms (default 60 000, RFC 2131 §4.4.5). */
  minRenewRetransmitMs?: number;
  /** REQUEST retransmissions in REQUESTING/REBOOTING before going back to INIT (default 4). */
  requestRetries?: number;
}

/**
 * A client event: `bound` (a new lease is in use), `renewed`, `expired`
 * (the address was removed), `nak`, `declined` (ARP conflict), `state`.
 *
 * @example
 * ```ts
 * // client.addEventListener("bound", (e) => console.log((e as DhcpEvent).lease?.address));
 * ```
 */
export class DhcpEvent extends Event {
  /** The lease concerned (null for `state` in INIT, …). */
  readonly lease: DhcpLease | null;
  /** The client's state after the event. */
  readonly state: DhcpState;
  /** An event of `type` carrying the lease and the client's state. */
  constructor(type: string, lease: DhcpLease | null, state: DhcpState) {
    super(type);
    this.lease = lease;
    this.state = state;
  }
}

/** Counters of one client. */
export interface DhcpClientStats {
  /** DHCPDISCOVERs sent. */
  discovers: number;
  /** DHCPREQUESTs sent (selecting, renewing, rebinding, rebooting). */
  requests: number;
  /** DHCPOFFERs received and considered. */
  offers: number;
  /** DHCPACKs received and taken. */
  acks: number;
  /** DHCPNAKs received (the client restarts from INIT). */
  naks: number;
  /** DHCPDECLINEs sent (the offered address answered ARP, RFC 2131 §3.1 step 5). */
  declines: number;
  /** Replies ignored: wrong xid or chaddr, unexpected type or server, unusable lease. */
  ignored: number;
}

const PARAMETERS = [
  DhcpOption.SUBNET_MASK,
  DhcpOption.ROUTER,
  DhcpOption.DNS_SERVERS,
  DhcpOption.DOMAIN_NAME,
  DhcpOption.INTERFACE_MTU,
  DhcpOption.BROADCAST,
  DhcpOption.LEASE_TIME,
  DhcpOption.RENEWAL_TIME,
  DhcpOption.REBINDING_TIME,
  DhcpOption.DOMAIN_SEARCH,
];
const INFINITE = 0xffffffff;

/**
 * One interface's DHCP client.
 *
 * @example
 * ```ts
 * // const iface = stack.addInterface(dev, { dhcp: true });
 * // const lease = await stack.dhcp(iface)!.bound();
 * // console.log(lease.address, lease.routers, lease.dnsServers);
 * ```
 */
export class DhcpClient extends EventTarget {
  /** Message counters. */
  readonly stats: DhcpClientStats = {
    discovers: 0,
    requests: 0,
    offers: 0,
    acks: 0,
    naks: 0,
    declines: 0,
    ignored: 0,
  };
  readonly #host: DhcpHost;
  readonly #o: Required<Omit<DhcpClientOptions, "hostname" | "requestedAddress">>;
  readonly #hostname: string | undefined;
  #state: DhcpState = "INIT";
  #xid = 0;
  /** When the current exchange started (for `secs`) and when its last REQUEST went out. */
  #started = 0;
  #requestSent = 0;
  #tries = 0;
  #timer: Timer | null = null;
  #leaseTimers: Timer[] = [];
  /** The offer chosen (REQUESTING) or the address asked for (REBOOTING). */
  #offer: { address: Ipv4Address; server: Ipv4Address } | null = null;
  #lease: DhcpLease | null = null;
  #pending: DhcpLease | null = null;
  #unwatch: (() => void) | null = null;
  #requested: Ipv4Address | null;
  #waiters: ((l: DhcpLease) => void)[] = [];

  /** A client for the interface behind `host`, idle until `start()` (called for `dhcp: true`). */
  constructor(host: DhcpHost, options: DhcpClientOptions = {}) {
    super();
    this.#host = host;
    this.#hostname = options.hostname;
    this.#o = {
      probes: options.probes ?? 2,
      probeIntervalMs: options.probeIntervalMs ?? 500,
      startDelayMs: options.startDelayMs ?? 1000,
      minRenewRetransmitMs: options.minRenewRetransmitMs ?? 60_000,
      requestRetries: options.requestRetries ?? 4,
    };
    this.#requested = options.requestedAddress !== undefined
      ? parseAddr(options.requestedAddress)
      : null;
  }

  /** The state now. */
  get state(): DhcpState {
    return this.#state;
  }

  /** The lease in use (BOUND, RENEWING, REBINDING), else null. */
  get lease(): DhcpLease | null {
    return this.#lease;
  }

  /** The transaction ID of the exchange in progress (replies must carry it). */
  get xid(): number {
    return this.#xid;
  }

  /** Resolves with the lease once one is in use (at once if it already is). */
  bound(): Promise<DhcpLease> {
    if (this.#lease !== null) return Promise.resolve(this.#lease);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Begin: INIT-REBOOT with a requested address, else INIT after a random delay. */
  start(): void {
    if (this.#requested !== null) {
      this.#enter("INIT-REBOOT");
      this.#reboot();
      return;
    }
    this.#init(randomInt(this.#host.random, this.#o.startDelayMs + 1));
  }

  /**
   * Stop: cancel timers and, with `release`, give the lease back (RFC 2131
   * §4.4.6 DHCPRELEASE) and remove the address.
   */
  stop(options: { release?: boolean } = {}): void {
    this.#clearTimers();
    this.#unwatch?.();
    this.#unwatch = null;
    const lease = this.#lease;
    if (lease !== null && options.release) {
      const addr = parseAddr(lease.address);
      this.#xid = this.#host.random.nextU32();
      this.#host.send(
        this.#message(DhcpMessageType.RELEASE, {
          ciaddr: addr,
          extra: [[DhcpOption.SERVER_ID, addressesValue([parseAddr(lease.serverId)])]],
        }),
        parseAddr(lease.serverId),
        addr,
      );
      this.#host.unapply(lease);
      this.#lease = null;
    }
    this.#enter("STOPPED");
  }

  /** A DHCP message (op BOOTREPLY) that arrived on port 68. */
  receive(m: DhcpRepr): void {
    if (m.op !== 2 || m.xid !== this.#xid || m.chaddr !== this.#host.mac) {
      this.stats.ignored++;
      return;
    }
    const type = messageType(m);
    const server = optAddress(m, DhcpOption.SERVER_ID);
    switch (this.#state) {
      case "SELECTING":
        if (type !== DhcpMessageType.OFFER || server === null || !usableAddress(m.yiaddr)) break;
        this.stats.offers++;
        // The first acceptable offer (RFC 2131 §4.4.1 lets the client choose).
        this.#offer = { address: m.yiaddr, server };
        this.#enter("REQUESTING");
        this.#tries = 0;
        this.#sendRequest();
        return;
      case "REQUESTING":
      case "REBOOTING":
      case "RENEWING":
      case "REBINDING": {
        // RFC 2131 §4.4.1: in REQUESTING only the chosen server's answer counts.
        if (this.#state === "REQUESTING" && server !== this.#offer!.server) break;
        if (type === DhcpMessageType.NAK) {
          this.stats.naks++;
          this.#nak();
          return;
        }
        if (type !== DhcpMessageType.ACK) break;
        const lease = this.#leaseFrom(m);
        if (lease === null) break;
        this.stats.acks++;
        if (this.#state === "RENEWING" || this.#state === "REBINDING") this.#renewed(lease);
        else this.#check(lease);
        return;
      }
    }
    this.stats.ignored++;
  }

  // ---------------------------------------------------------------------------

  #enter(state: DhcpState): void {
    this.#state = state;
    this.dispatchEvent(new DhcpEvent("state", this.#lease, state));
  }

  #emit(type: string, lease: DhcpLease | null): void {
    this.dispatchEvent(new DhcpEvent(type, lease, this.#state));
  }

  #clearTimers(): void {
    if (this.#timer !== null) this.#host.clock.clearTimer(this.#timer);
    this.#timer = null;
    for (const t of this.#leaseTimers) this.#host.clock.clearTimer(t);
    this.#leaseTimers = [];
  }

  #after(ms: number, fn: () => void): void {
    if (this.#timer !== null) this.#host.clock.clearTimer(this.#timer);
    this.#timer = this.#host.clock.setTimer(ms, () => {
      this.#timer = null;
      fn();
    });
  }

  /** RFC 2131 §4.1: 4 s, 8 s, … 64 s, randomized by ±1 s. */
  #backoff(): number {
    const base = Math.min(4000 * 2 ** this.#tries, 64_000);
    return base - 1000 + randomInt(this.#host.random, 2001);
  }

  #init(delayMs: number): void {
    this.#offer = null;
    this.#enter("INIT");
    this.#after(delayMs, () => {
      this.#xid = this.#host.random.nextU32();
      this.#started = this.#host.clock.now();
      this.#tries = 0;
      this.#enter("SELECTING");
      this.#discover();
    });
  }

  #discover(): void {
    this.stats.discovers++;
    const extra: [number, Uint8Array][] = [];
    if (this.#requested !== null) {
      extra.push([DhcpOption.REQUESTED_IP, addressesValue([this.#requested])]);
    }
    this.#host.send(this.#message(DhcpMessageType.DISCOVER, { extra }), IPV4_BROADCAST, 0);
    this.#after(this.#backoff(), () => {
      this.#tries++;
      this.#discover();
    });
  }

  #reboot(): void {
    this.#xid = this.#host.random.nextU32();
    this.#started = this.#host.clock.now();
    this.#tries = 0;
    this.#offer = { address: this.#requested!, server: 0 };
    this.#enter("REBOOTING");
    this.#sendRequest();
  }

  /** REQUEST in REQUESTING (server id + requested IP) or REBOOTING (requested IP only). */
  #sendRequest(): void {
    if (this.#tries > this.#o.requestRetries) {
      this.#init(0); // RFC 2131 §4.4.1/§3.2: no answer → start over
      return;
    }
    this.stats.requests++;
    const o = this.#offer!;
    const extra: [number, Uint8Array][] = [[
      DhcpOption.REQUESTED_IP,
      addressesValue([o.address]),
    ]];
    if (this.#state === "REQUESTING") {
      extra.push([DhcpOption.SERVER_ID, addressesValue([o.server])]);
    }
    this.#requestSent = this.#host.clock.now();
    this.#host.send(this.#message(DhcpMessageType.REQUEST, { extra }), IPV4_BROADCAST, 0);
    this.#after(this.#backoff(), () => {
      this.#tries++;
      this.#sendRequest();
    });
  }

  /** RFC 2131 §4.4.1: probe the address; use it only if nobody answers. */
  #check(lease: LeaseDraft): void {
    this.#clearTimers();
    const full = { ...lease, obtainedAt: this.#requestSent };
    const probes = this.#o.probes;
    if (probes === 0) {
      this.#bind(full);
      return;
    }
    this.#enter("CHECKING");
    this.#pending = full;
    const addr = parseAddr(full.address);
    this.#unwatch = this.#host.watch(addr, () => this.#conflict(full));
    let sent = 0;
    const next = () => {
      if (sent < probes) {
        sent++;
        this.#host.probe(addr);
        this.#after(this.#o.probeIntervalMs, next);
        return;
      }
      this.#unwatch?.();
      this.#unwatch = null;
      this.#pending = null;
      this.#bind(full);
    };
    next();
  }

  #conflict(lease: DhcpLease): void {
    if (this.#state !== "CHECKING" || this.#pending !== lease) return;
    this.#unwatch?.();
    this.#unwatch = null;
    this.#pending = null;
    this.stats.declines++;
    // RFC 2131 §4.4.1: DHCPDECLINE with the address and the server; ciaddr 0.
    this.#host.send(
      this.#message(DhcpMessageType.DECLINE, {
        broadcast: false,
        extra: [
          [DhcpOption.REQUESTED_IP, addressesValue([parseAddr(lease.address)])],
          [DhcpOption.SERVER_ID, addressesValue([parseAddr(lease.serverId)])],
        ],
      }),
      IPV4_BROADCAST,
      0,
    );
    this.#requested = null;
    this.#enter("DECLINED");
    this.#emit("declined", lease);
    // RFC 2131 §3.1 step 5: wait at least ten seconds before starting again.
    this.#after(10_000, () => this.#init(0));
  }

  #bind(lease: DhcpLease): void {
    this.#lease = lease;
    this.#requested = parseAddr(lease.address);
    this.#host.apply(lease);
    this.#enter("BOUND");
    this.#armLease(lease);
    this.#emit("bound", lease);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w(lease);
  }

  #renewed(draft: LeaseDraft): void {
    const old = this.#lease!;
    const lease = { ...draft, obtainedAt: this.#requestSent };
    this.#clearTimers();
    if (old.address !== lease.address || old.prefixLength !== lease.prefixLength) {
      this.#host.unapply(old);
    }
    this.#lease = lease;
    this.#host.apply(lease);
    this.#enter("BOUND");
    this.#armLease(lease);
    this.#emit("renewed", lease);
  }

  #nak(): void {
    const lease = this.#lease;
    this.#clearTimers();
    // RFC 2131 §3.2 step 4 / §4.4.5: a NAK ends the lease at once; start over.
    if (lease !== null) {
      this.#host.unapply(lease);
      this.#lease = null;
    }
    this.#requested = null;
    this.#emit("nak", lease);
    this.#init(0);
  }

  /** Timers for T1, T2 and the end of the lease, from the time the REQUEST was sent. */
  #armLease(lease: DhcpLease): void {
    if (lease.leaseTime === INFINITE) return;
    const clock = this.#host.clock;
    const at = (s: number) => Math.max(0, lease.obtainedAt + s * 1000 - clock.now());
    this.#leaseTimers.push(
      clock.setTimer(at(lease.renewalTime), () => this.#renew("RENEWING")),
      clock.setTimer(at(lease.rebindingTime), () => this.#renew("REBINDING")),
      clock.setTimer(at(lease.leaseTime), () => this.#expire()),
    );
  }

  #renew(state: "RENEWING" | "REBINDING"): void {
    const lease = this.#lease;
    if (lease === null) return;
    this.#xid = this.#host.random.nextU32();
    this.#started = this.#host.clock.now();
    this.#enter(state);
    this.#emit(state === "RENEWING" ? "renew" : "rebind", lease);
    this.#sendRenewal();
  }

  /** RFC 2131 §4.4.5: REQUEST with ciaddr; unicast to the server when renewing. */
  #sendRenewal(): void {
    const lease = this.#lease!;
    const addr = parseAddr(lease.address);
    this.stats.requests++;
    this.#requestSent = this.#host.clock.now();
    const renewing = this.#state === "RENEWING";
    this.#host.send(
      this.#message(DhcpMessageType.REQUEST, { ciaddr: addr, broadcast: false }),
      renewing ? parseAddr(lease.serverId) : IPV4_BROADCAST,
      addr,
    );
    // Half the time left until T2 (renewing) or the end (rebinding), at least 60 s.
    const until = lease.obtainedAt +
      (renewing ? lease.rebindingTime : lease.leaseTime) * 1000 - this.#host.clock.now();
    const wait = Math.max(until / 2, this.#o.minRenewRetransmitMs);
    if (wait < until) this.#after(wait, () => this.#sendRenewal());
  }

  #expire(): void {
    const lease = this.#lease;
    this.#clearTimers();
    if (lease === null) return;
    // RFC 2131 §4.4.5: at the end of the lease the client stops using the address.
    this.#host.unapply(lease);
    this.#lease = null;
    this.#emit("expired", lease);
    this.#init(0);
  }

  /** A message from us: chaddr, client id, parameter list, `secs`, broadcast flag. */
  #message(
    type: number,
    o: { ciaddr?: Ipv4Address; broadcast?: boolean; extra?: [number, Uint8Array][] },
  ): Uint8Array {
    const options = new Map<number, Uint8Array>();
    options.set(DhcpOption.MESSAGE_TYPE, Uint8Array.of(type));
    // RFC 2132 §9.14: type 1 (Ethernet) + the MAC.
    const id = new Uint8Array(7);
    id[0] = 1;
    for (let i = 0; i < 6; i++) id[1 + i] = Math.floor(this.#host.mac / 2 ** (8 * (5 - i))) & 0xff;
    options.set(DhcpOption.CLIENT_ID, id);
    for (const [k, v] of o.extra ?? []) options.set(k, v);
    if (type !== DhcpMessageType.DECLINE && type !== DhcpMessageType.RELEASE) {
      options.set(DhcpOption.PARAMETER_LIST, Uint8Array.from(PARAMETERS));
      options.set(DhcpOption.MAX_MESSAGE_SIZE, u16Value(1500));
      if (this.#hostname !== undefined) {
        options.set(DhcpOption.HOST_NAME, new TextEncoder().encode(this.#hostname));
      }
    }
    const secs = Math.min(0xffff, Math.floor((this.#host.clock.now() - this.#started) / 1000));
    return emitDhcp({
      op: 1,
      xid: this.#xid,
      secs,
      broadcast: o.broadcast ?? true,
      ciaddr: o.ciaddr ?? 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr: this.#host.mac,
      options,
    });
  }

  /** The lease an ACK describes, or null when it is unusable. */
  #leaseFrom(m: DhcpRepr): LeaseDraft | null {
    const yiaddr = m.yiaddr;
    if (!usableAddress(yiaddr)) return null;
    const server = optAddress(m, DhcpOption.SERVER_ID) ?? this.#offer?.server ??
      (this.#lease ? parseAddr(this.#lease.serverId) : 0);
    const mask = optAddress(m, DhcpOption.SUBNET_MASK);
    const prefix = (mask !== null ? maskToPrefix(mask) : null) ?? classfulPrefix(yiaddr);
    // RFC 2131 §3.3: the server MUST give a lease time; if one does not, an hour.
    const leaseTime = optU32(m, DhcpOption.LEASE_TIME) ?? 3600;
    let t1 = optU32(m, DhcpOption.RENEWAL_TIME) ?? Math.floor(leaseTime * 0.5);
    let t2 = optU32(m, DhcpOption.REBINDING_TIME) ?? Math.floor(leaseTime * 0.875);
    if (!(t1 < t2 && t2 <= leaseTime)) {
      t1 = Math.floor(leaseTime * 0.5);
      t2 = Math.floor(leaseTime * 0.875);
    }
    const mtu = optU16(m, DhcpOption.INTERFACE_MTU);
    const domain = optText(m, DhcpOption.DOMAIN_NAME);
    const searchOpt = m.options.get(DhcpOption.DOMAIN_SEARCH);
    const search = searchOpt ? decodeSearchList(searchOpt) : [];
    return {
      address: formatIpv4(yiaddr),
      prefixLength: prefix,
      serverId: formatIpv4(server),
      routers: optAddresses(m, DhcpOption.ROUTER).map(formatIpv4),
      dnsServers: optAddresses(m, DhcpOption.DNS_SERVERS).filter((a) => !isMartianSource(a))
        .map(formatIpv4),
      domain,
      search: search.length > 0 ? search : domain !== null ? [domain] : [],
      mtu: mtu !== null && mtu >= 68 ? mtu : null,
      leaseTime,
      renewalTime: t1,
      rebindingTime: t2,
    };
  }
}

type LeaseDraft = Omit<DhcpLease, "obtainedAt">;

function usableAddress(a: Ipv4Address): boolean {
  return a !== 0 && !isMartianSource(a) && a !== IPV4_BROADCAST;
}

/** RFC 2131 §4.4.1 leaves the mask to the client when absent: the class default. */
function classfulPrefix(a: Ipv4Address): number {
  const top = a >>> 24;
  return top < 128 ? 8 : top < 192 ? 16 : 24;
}

function parseAddr(text: string): Ipv4Address {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (m === null || m.slice(1).some((x) => Number(x) > 255)) {
    throw new TypeError(`DHCP: "${text}" is not an IPv4 address`);
  }
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}
