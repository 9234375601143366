/**
 * `Stack`: the object users create. It owns the arena, the receive drain,
 * the interfaces (a loopback one with 127.0.0.1/8 by default), routing, ARP,
 * IPv4, ICMP and the transport protocols, and the counters.
 *
 * @module
 */
import { type Clock, RealClock } from "../core/clock.ts";
import { Errno } from "../core/errno.ts";
import { CryptoRandom, type RandomSource } from "../core/random.ts";
import { SoftNet, type SoftNetOptions } from "../core/softnet.ts";
import { StackStats } from "../core/stats.ts";
import type { NetDevice } from "../link/device.ts";
import { LoopbackDevice } from "../link/loopback.ts";
import { Arena } from "../skb/arena.ts";
import { SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
import {
  bindHotPaths,
  type EngineChoice,
  type HotPaths,
  releaseHotPaths,
} from "../wasm/bindings.ts";
import {
  type Ipv4Address,
  isMacBroadcast,
  isMacMulticast,
  parseIpv4 as parseAddress,
  tryParseCidr,
  tryParseIpv4,
} from "../wire/addr.ts";
import { ETHERNET_HEADER_LENGTH, EtherType, parseEthernet } from "../wire/ethernet.ts";
import { parseIpv4 } from "../wire/ipv4.ts";
import { type IcmpOptions, IcmpProtocol, PacketType } from "../ipv4/icmp.ts";
import { Iface } from "../ipv4/iface.ts";
import { Ipv4Layer, type Ipv4LayerOptions } from "../ipv4/layer.ts";
import { type NeighbourOptions, NeighbourTable } from "../ipv4/neighbour.ts";
import { RouteTable } from "../ipv4/route.ts";
import { errnoError, TimedOut } from "../socket/errors.ts";
import { IsnGenerator } from "../tcp/isn.ts";
import { SynCookies } from "../tcp/syncookies.ts";
import type { TcpConfig, TcpSock } from "../tcp/sock.ts";
import { createTcpTables } from "../tcp/tables_impl.ts";
import { TcpProtocol } from "../tcp/tcp.ts";
import { SocketLayer } from "../socket/fd_table.ts";
import type { InetConfig } from "../socket/inet.ts";
import { registerInetDgram } from "../socket/inet_dgram.ts";
import { registerInetStream } from "../socket/inet_stream.ts";
import { type UdpOptions, UdpProtocol } from "../udp/udp.ts";
import { type DatagramConn, listenDatagram, type ListenDatagramOptions } from "./datagram.ts";
import { checkConnectOptions, type Conn, connect, type ConnectOptions } from "./conn.ts";
import { happyEyeballs } from "./happy_eyeballs.ts";
import {
  type MxRecord,
  type RecordType,
  type ResolveDnsOptions,
  Resolver,
  type ResolverOptions,
  type SoaRecord,
  type SrvRecord,
} from "../dns/resolver.ts";
import { DnsStats } from "../dns/transport.ts";
import type { DhcpClient, DhcpClientOptions, DhcpLease } from "../dhcp/client.ts";
import { DhcpService } from "../dhcp/service.ts";
import { type FetchInit, HttpClient } from "../http/client.ts";
import { listen, type Listener, type ListenOptions } from "./listener.ts";

/** Options for {@link Stack}. */
export interface StackOptions {
  /** Time source (default: real time). Tests pass a `VirtualClock`. */
  clock?: Clock;
  /** Randomness for secrets, ports and IDs (default: `crypto.getRandomValues`). */
  random?: RandomSource;
  /** Packet-buffer arena (default: a new one). Stacks joined by pipes may share one. */
  arena?: Arena;
  /** WebAssembly engine for the hot paths (default "auto"). */
  engine?: EngineChoice;
  /** Receive-drain budgets. */
  softnet?: SoftNetOptions;
  /** ARP tuning. */
  neighbour?: Partial<Omit<NeighbourOptions, "clock" | "allocator" | "stats" | "drops">>;
  /** Reassembly tuning. */
  reassembly?: Ipv4LayerOptions["reassembly"];
  /** ICMP tuning. */
  icmp?: IcmpOptions;
  /** Create the loopback interface 127.0.0.1/8 (default true). */
  loopback?: boolean;
  /** Default TTL (default 64). */
  ttl?: number;
  /** TCP tuning (MSL, RTO bounds, buffers, …; see `TcpConfig`). */
  tcp?: Partial<TcpConfig>;
  /** Ephemeral port range, RFC 6056 (default [32768, 60999], Linux `ip_local_port_range`). */
  localPortRange?: readonly [number, number];
  /**
   * May sockets bind ports below 1024 (CAP_NET_BIND_SERVICE)? Default true: a
   * userspace stack is its own root. False makes such binds fail with EACCES.
   */
  allowPrivilegedPorts?: boolean;
  /** Most open sockets; more fail with ENFILE (default 1024). */
  maxSockets?: number;
  /** UDP tuning (initial SO_RCVBUF/SO_SNDBUF). */
  udp?: Omit<UdpOptions, "localPortRange">;
  /** The stub resolver: name servers, search list, hosts map, cache bounds (see `Resolver`). */
  dns?: ResolverOptions;
}

/** How to configure an interface: a static `address`, or `dhcp`. */
export interface InterfaceConfig {
  /** Address and prefix, `"192.0.2.2/24"` (required unless `dhcp`). */
  address?: string;
  /**
   * Get the address, router, name servers, domain and MTU by DHCP (RFC 2131):
   * `true` or client options. `stack.dhcp(iface)` is the client (events,
   * `bound()`).
   */
  dhcp?: boolean | DhcpClientOptions;
  /** Default gateway on this link, `"192.0.2.1"`. */
  gateway?: string;
  /** Send a gratuitous ARP when the interface comes up (default true). */
  announce?: boolean;
}

/** Options for {@link Stack.ping}. */
export interface PingOptions {
  /** Bytes of ICMP data (default 56, like ping(8)). */
  size?: number;
  /** Sequence number (default 0). */
  seq?: number;
  /** Echo identifier (default: a fresh one). */
  id?: number;
  /** Milliseconds to wait for the reply (default 1000). */
  timeout?: number;
  /** TTL of the request. */
  ttl?: number;
  /** Set DF (no fragmentation). */
  dontFragment?: boolean;
  /** Abort the wait. */
  signal?: AbortSignal;
}

/** A ping answer. */
export interface PingResult {
  from: string;
  seq: number;
  ttl: number;
  /** ICMP message bytes (data + 8-byte header), as ping(8) prints. */
  bytes: number;
  /** Round-trip time in milliseconds (clock time). */
  rtt: number;
  /** True when the reply carried exactly the data we sent. */
  dataMatches: boolean;
}

/**
 * A TCP/IP stack instance.
 *
 * @example
 * ```ts
 * import { Stack, VirtualClock } from "../../mod.ts";
 * const stack = new Stack({ clock: new VirtualClock() });
 * // stack.addInterface(device, { address: "192.0.2.2/24", gateway: "192.0.2.1" });
 * const reply = stack.ping("127.0.0.1");
 * ```
 */
export class Stack {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly arena: Arena;
  readonly allocator: SkbAllocator;
  readonly hotPaths: HotPaths;
  readonly stats: StackStats = new StackStats();
  readonly softnet: SoftNet;
  readonly routes: RouteTable = new RouteTable();
  readonly neighbours: NeighbourTable;
  readonly ipv4: Ipv4Layer;
  readonly icmp: IcmpProtocol;
  /** TCP (RFC 9293); `stack.tcp.socket()` is the ops API the socket layer wraps. */
  readonly tcp: TcpProtocol;
  /** UDP (RFC 768). */
  readonly udp: UdpProtocol;
  /** The BSD socket layer: `socket()`, `bind()`, `sendto()`, … on descriptors. */
  readonly sockets: SocketLayer;
  /** INET socket settings (privileged ports, non-local bind); may be changed at run time. */
  readonly inet: InetConfig;
  /** The stub resolver behind {@link Stack.resolveDns} and connecting by name. */
  readonly dns: Resolver;
  /** The loopback interface (undefined with `loopback: false`). */
  readonly loopback: Iface | undefined;
  readonly #ifaces: Iface[] = [];
  readonly #byDev = new Map<NetDevice, Iface>();
  readonly #ownsClock: boolean;
  readonly #dhcp: DhcpService;
  /** Name servers come from DHCP leases unless `options.dns.nameServers` set them. */
  readonly #dnsFromDhcp: boolean;
  #http: HttpClient | null = null;
  #closed = false;

  constructor(options: StackOptions = {}) {
    this.#ownsClock = options.clock === undefined;
    this.clock = options.clock ?? new RealClock();
    this.random = options.random ?? new CryptoRandom();
    this.arena = options.arena ?? new Arena();
    this.allocator = new SkbAllocator(this.arena);
    this.hotPaths = bindHotPaths(this.arena, { engine: options.engine ?? "auto" });
    this.softnet = new SoftNet(
      this.clock,
      (skb, dev) => this.#netifReceive(skb, dev),
      options.softnet,
    );
    this.neighbours = new NeighbourTable({
      ...options.neighbour,
      clock: this.clock,
      allocator: this.allocator,
      stats: this.stats.arp,
      drops: this.stats.drops,
      onResolveFailed: (_iface, _ip, pending) => this.#resolveFailed(pending),
    });
    this.ipv4 = new Ipv4Layer({
      clock: this.clock,
      rng: this.random,
      allocator: this.allocator,
      stats: this.stats,
      routes: this.routes,
      neighbours: this.neighbours,
      loopback: () => this.loopback,
      ifaces: () => this.#ifaces,
      ...(options.reassembly ? { reassembly: options.reassembly } : {}),
      ...(options.ttl !== undefined ? { defaultTtl: options.ttl } : {}),
    });
    this.icmp = new IcmpProtocol(this.ipv4, options.icmp);
    const random = this.random;
    this.tcp = new TcpProtocol({
      clock: this.clock,
      ipv4: this.ipv4,
      allocator: this.allocator,
      hotPaths: this.hotPaths,
      tables: createTcpTables({
        now: () => this.clock.now(),
        nextU32: () => random.nextU32(),
        ...(options.localPortRange ? { portRange: options.localPortRange } : {}),
        onTimeWaitReuse: (tw, sk) => this.tcp.onTimeWaitReuse(tw as TcpSock, sk as TcpSock),
      }),
      isn: new IsnGenerator({ now: () => this.clock.now(), rng: random }),
      cookies: new SynCookies({ now: () => this.clock.now(), rng: random }),
      stats: this.stats.tcp,
      drops: this.stats.drops,
      ...(options.tcp ? { config: options.tcp } : {}),
    });
    this.ipv4.register(6, this.tcp);
    this.udp = new UdpProtocol(this.ipv4, {
      ...options.udp,
      ...(options.localPortRange ? { localPortRange: options.localPortRange } : {}),
    });
    this.sockets = new SocketLayer({
      clock: this.clock,
      ...(options.maxSockets !== undefined ? { maxSockets: options.maxSockets } : {}),
    });
    const ipv4 = this.ipv4;
    this.inet = {
      addrType: (a) => ipv4.addrType(a),
      defaultTtl: ipv4.defaultTtl,
      allowPrivilegedPorts: options.allowPrivilegedPorts ?? true,
      nonlocalBind: false,
    };
    registerInetDgram(this.sockets, this.udp, this.inet);
    registerInetStream(this.sockets, this.tcp, this.inet);
    this.dns = new Resolver({
      sockets: this.sockets,
      clock: this.clock,
      random: this.random,
      drops: this.stats.drops,
      stats: new DnsStats(),
    }, options.dns);
    this.#dnsFromDhcp = options.dns?.nameServers === undefined;
    this.#dhcp = new DhcpService({
      sockets: this.sockets,
      ipv4: this.ipv4,
      neighbours: this.neighbours,
      allocator: this.allocator,
      clock: this.clock,
      random: this.random,
      drops: this.stats.drops,
      configure: (iface, lease) => this.#applyLease(iface, lease),
    });
    if (options.loopback ?? true) {
      const lo = new LoopbackDevice({ allocator: this.allocator, clock: this.clock });
      this.loopback = this.#attach(lo, 0x7f000001, 8, { loopback: true, announce: false });
    }
  }

  /** Configured interfaces, loopback first. */
  get interfaces(): readonly Iface[] {
    return this.#ifaces;
  }

  /**
   * Attach `dev` with an address, bring it up, add its on-link route (and a
   * default route when `gateway` is given), and announce the address with a
   * gratuitous ARP.
   */
  addInterface(dev: NetDevice, config: InterfaceConfig): Iface {
    if (config.dhcp !== undefined && config.dhcp !== false) {
      if (config.address !== undefined || config.gateway !== undefined) {
        throw new TypeError("addInterface: give either dhcp or a static address/gateway, not both");
      }
      const iface = this.#attach(dev, 0, 32, { loopback: false, announce: false });
      this.#dhcp.start(iface, config.dhcp === true ? {} : config.dhcp);
      return iface;
    }
    if (config.address === undefined) {
      throw new TypeError("addInterface: an address (e.g. 192.0.2.2/24) or dhcp: true is required");
    }
    const cidr = tryParseCidr(config.address);
    if (cidr === null) {
      throw new TypeError(
        `Interface address "${config.address}" is not ADDRESS/PREFIX (e.g. 192.0.2.2/24)`,
      );
    }
    const iface = this.#attach(dev, cidr.address, cidr.prefixLen, {
      loopback: false,
      announce: config.announce ?? true,
    });
    if (config.gateway !== undefined) {
      const gw = tryParseIpv4(config.gateway);
      if (gw === null) throw new TypeError(`Gateway "${config.gateway}" is not an IPv4 address`);
      this.routes.add(iface, 0, 0, { gateway: gw });
    }
    return iface;
  }

  /** The DHCP client of `iface`, when it was added with `dhcp`. */
  dhcp(iface: Iface): DhcpClient | undefined {
    return this.#dhcp.client(iface);
  }

  /**
   * Give `iface` a new address (and optionally a default gateway and a route
   * MTU), or take its address away with null: its routes and neighbour
   * entries are replaced, and the new address is announced (gratuitous ARP).
   * DHCP uses this; so can a program managing addresses itself.
   */
  configureInterface(
    iface: Iface,
    config: { address: string; gateway?: string; mtu?: number } | null,
  ): void {
    if (!this.#ifaces.includes(iface) || iface.loopback) {
      throw new TypeError(`configureInterface: ${iface.name} is not a configurable interface`);
    }
    const cidr = config === null ? { address: 0, prefixLen: 32 } : tryParseCidr(config.address);
    if (cidr === null) {
      throw new TypeError(`Interface address "${config!.address}" is not ADDRESS/PREFIX`);
    }
    const gw = config?.gateway === undefined ? null : tryParseIpv4(config.gateway);
    if (config?.gateway !== undefined && gw === null) {
      throw new TypeError(`Gateway "${config.gateway}" is not an IPv4 address`);
    }
    this.routes.remove((r) => r.iface === iface);
    if (iface.address !== cidr.address) this.neighbours.flush(iface);
    iface.setAddress(cidr.address, cidr.prefixLen);
    if (config === null) return;
    const mtu = config.mtu !== undefined ? { mtu: config.mtu } : {};
    this.routes.add(iface, cidr.address, cidr.prefixLen, mtu);
    if (gw !== null) this.routes.add(iface, 0, 0, { gateway: gw, ...mtu });
    if (!iface.noArp) this.neighbours.announce(iface);
  }

  /** Detach an interface: routes through it and its neighbour entries go too. */
  removeInterface(iface: Iface): void {
    const i = this.#ifaces.indexOf(iface);
    if (i < 0) return;
    this.#dhcp.stop(iface);
    this.#ifaces.splice(i, 1);
    this.#byDev.delete(iface.dev);
    this.routes.remove((r) => r.iface === iface);
    this.neighbours.flush(iface);
    iface.dev.setRxNotify(null);
  }

  /** The interface using `dev`, if attached. */
  interfaceOf(dev: NetDevice): Iface | undefined {
    return this.#byDev.get(dev);
  }

  /**
   * Send one ICMP echo request and wait for its reply.
   * Rejects with `TimedOut` when no reply arrives within `timeout`, or with the
   * routing error (`NetworkUnreachable`, …) when it cannot be sent.
   */
  ping(host: string | Ipv4Address, options: PingOptions = {}): Promise<PingResult> {
    const dst = typeof host === "number" ? host >>> 0 : parseAddress(host);
    const size = options.size ?? 56;
    if (!(size >= 0 && size <= 65507)) throw new RangeError(`ping size ${size} is outside 0…65507`);
    const id = options.id ?? this.icmp.allocEchoId();
    const seq = (options.seq ?? 0) & 0xffff;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i + 8) & 0xff; // ping(8)'s pattern
    const timeout = options.timeout ?? 1000;
    return new Promise<PingResult>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(errnoError(Errno.EINTR, `ping ${fmt(dst)}`, "aborted"));
        return;
      }
      const sent = this.clock.now();
      const finish = (result: PingResult | Error) => {
        remove();
        this.clock.clearTimer(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const onAbort = () => finish(errnoError(Errno.EINTR, `ping ${fmt(dst)}`, "aborted"));
      const timer = this.clock.setTimer(timeout, () => {
        finish(new TimedOut(Errno.ETIMEDOUT, `ping ${fmt(dst)}: no reply within ${timeout} ms`));
      });
      const remove = this.icmp.onEchoReply(id, (reply) => {
        if (reply.seq !== seq) return;
        if ("errno" in reply) {
          finish(
            errnoError(
              reply.errno,
              `ping ${fmt(dst)}`,
              `${reply.reason} (from ${fmt(reply.from)})`,
            ),
          );
          return;
        }
        let same = reply.data.length === data.length;
        for (let i = 0; same && i < data.length; i++) same = reply.data[i] === data[i];
        finish({
          from: fmt(reply.from),
          seq: reply.seq,
          ttl: reply.ttl,
          bytes: reply.data.length + 8,
          rtt: reply.time - sent,
          dataMatches: same,
        });
      });
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const r = this.icmp.sendEcho(dst, id, seq, data, {
        ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
        ...(options.dontFragment !== undefined ? { dontFragment: options.dontFragment } : {}),
      });
      if (r < 0) finish(errnoError(r, `ping ${fmt(dst)}`));
    });
  }

  /**
   * Open a UDP socket bound to `hostname:port` (default hostname 0.0.0.0),
   * like `Deno.listenDatagram`. Throws `AddrInUse`, `AddrNotAvailable`,
   * `PermissionDenied`, … (`Cannot bind 192.0.2.9:53: address not available
   * on any interface`).
   */
  listenDatagram(options: ListenDatagramOptions): DatagramConn {
    return listenDatagram(this.sockets, options);
  }

  /**
   * Open a TCP connection to `hostname:port` (default hostname 127.0.0.1),
   * like `Deno.connect`. Rejects with `ConnectionRefused`, `TimedOut`,
   * `NetworkUnreachable`, `HostUnreachable`, or `Interrupted` when
   * `signal` aborts (`Cannot connect to 192.0.2.2:80: connection refused`).
   */
  connect(options: ConnectOptions): Promise<Conn> {
    const host = options.hostname;
    if (host === undefined || host === "localhost" || isIpv4Literal(host)) {
      return connect(this.sockets, options);
    }
    return this.#connectByName(host, options);
  }

  /**
   * Resolve `query` for `recordType` through {@link Stack.dns}, like
   * `Deno.resolveDns`: `"A"`/`"AAAA"`/`"CNAME"`/`"NS"`/`"PTR"` give strings
   * (names fully qualified: `"files.test."`), `"TXT"` lists of strings,
   * `"MX"`/`"SRV"`/`"SOA"` records. Rejects with `NotFound` (NXDOMAIN,
   * NODATA), `TimedOut` (no server answered), `DnsError` (servers failed, a
   * CNAME loop), `Interrupted` (aborted).
   */
  resolveDns(
    query: string,
    recordType: "A" | "AAAA" | "CNAME" | "NS" | "PTR",
    options?: ResolveDnsOptions,
  ): Promise<string[]>;
  resolveDns(query: string, recordType: "MX", options?: ResolveDnsOptions): Promise<MxRecord[]>;
  resolveDns(query: string, recordType: "SRV", options?: ResolveDnsOptions): Promise<SrvRecord[]>;
  resolveDns(query: string, recordType: "TXT", options?: ResolveDnsOptions): Promise<string[][]>;
  resolveDns(query: string, recordType: "SOA", options?: ResolveDnsOptions): Promise<SoaRecord[]>;
  resolveDns(
    query: string,
    recordType: RecordType,
    options?: ResolveDnsOptions,
  ): Promise<string[] | MxRecord[] | SrvRecord[] | string[][] | SoaRecord[]>;
  resolveDns(
    query: string,
    recordType: RecordType,
    options?: ResolveDnsOptions,
  ): Promise<string[] | MxRecord[] | SrvRecord[] | string[][] | SoaRecord[]> {
    return this.dns.resolveDns(query, recordType, options);
  }

  /**
   * HTTP/1.1 over this stack's TCP, returning a standard `Response` (see
   * `HttpClient`): keep-alive connection reuse, chunked and length-framed
   * bodies streamed from the socket, streaming request bodies, redirects (at
   * most `maxRedirects`, default 20), `signal`, `timeout` (to the response
   * head) and `idleTimeout` (between body bytes). Plain http:// only.
   * Network failures reject with a `TypeError` whose `cause` is the socket
   * or resolver error.
   */
  fetch(input: string | URL | Request, init?: FetchInit): Promise<Response> {
    return this.http.fetch(input, init);
  }

  /** The HTTP client behind {@link Stack.fetch} (its pool and counters). */
  get http(): HttpClient {
    this.#http ??= new HttpClient({
      connect: (o) => this.connect(o),
      sockets: this.sockets,
      clock: this.clock,
    });
    return this.#http;
  }

  /**
   * `connect()` to a name: its addresses from the resolver, tried with Happy
   * Eyeballs (RFC 8305). IPv4 only until the stack has IPv6: then AAAA is
   * asked too and `interleaveFamilies` orders the answers.
   */
  async #connectByName(host: string, options: ConnectOptions): Promise<Conn> {
    checkConnectOptions(options);
    const signal = options.signal;
    const addrs = await this.dns.lookupHost(host, signal ? { signal } : {});
    return await happyEyeballs(
      addrs.filter((a) => a.family === 4),
      (a, s) => connect(this.sockets, { ...options, hostname: a.address, signal: s }),
      { clock: this.clock, discard: (c) => c.close(), ...(signal ? { signal } : {}) },
    );
  }

  /**
   * Listen for TCP connections on `hostname:port` (default hostname
   * 0.0.0.0), like `Deno.listen`. Throws `AddrInUse`, `AddrNotAvailable`,
   * `PermissionDenied`, …
   */
  listen(options: ListenOptions): Listener {
    return listen(this.sockets, options);
  }

  /** Close every socket, take every interface down, free queued packets, cancel timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dhcp.close();
    this.#http?.close();
    this.sockets.closeAll();
    this.tcp.close();
    this.neighbours.close();
    this.ipv4.close();
    for (const iface of [...this.#ifaces]) {
      this.removeInterface(iface);
      await iface.dev.close();
    }
    releaseHotPaths(this.arena);
    if (this.#ownsClock && this.clock instanceof RealClock) this.clock.close();
  }

  #attach(
    dev: NetDevice,
    address: Ipv4Address,
    prefixLength: number,
    o: { loopback: boolean; announce: boolean },
  ): Iface {
    if (this.#byDev.has(dev)) throw new TypeError(`Device ${dev.name} is already attached`);
    const index = this.#ifaces.reduce((m, i) => Math.max(m, i.index), 0) + 1;
    const iface = new Iface({ index, dev, address, prefixLength, loopback: o.loopback });
    this.#ifaces.push(iface);
    this.#byDev.set(dev, iface);
    if (address !== 0) this.routes.add(iface, address, prefixLength);
    dev.setRxNotify((d) => this.softnet.raise(d));
    dev.up();
    if (o.announce && !iface.noArp) this.neighbours.announce(iface);
    return iface;
  }

  /** Apply a DHCP lease: address, default route via the first on-link router, MTU, DNS. */
  #applyLease(iface: Iface, lease: DhcpLease | null): void {
    if (lease === null) {
      this.configureInterface(iface, null);
      if (this.#dnsFromDhcp) this.dns.configure({ nameServers: [], search: [] });
      return;
    }
    const probe = new Iface({
      index: 0,
      dev: iface.dev,
      address: tryParseIpv4(lease.address)!,
      prefixLength: lease.prefixLength,
    });
    // RFC 2132 §3.5: routers in order of preference; one off our subnet is unusable.
    const gateway = lease.routers.find((r) => probe.onLink(tryParseIpv4(r)!));
    this.configureInterface(iface, {
      address: `${lease.address}/${lease.prefixLength}`,
      ...(gateway !== undefined ? { gateway } : {}),
      ...(lease.mtu !== null ? { mtu: lease.mtu } : {}),
    });
    if (this.#dnsFromDhcp) {
      try {
        this.dns.configure({ nameServers: lease.dnsServers, search: lease.search });
      } catch {
        // A domain that is no DNS name: keep the servers, skip the search list.
        this.stats.drops.count("dhcp.bad_domain");
        this.dns.configure({ nameServers: lease.dnsServers, search: [] });
      }
    }
  }

  /** Link-layer receive (`netif_receive_skb`): `skb.data` at the Ethernet header. */
  #netifReceive(skb: SkBuff, dev: NetDevice): void {
    const iface = this.#byDev.get(dev);
    if (iface === undefined) {
      this.stats.drops.count("link.no_interface");
      skb.free();
      return;
    }
    const eth = parseEthernet(this.arena.u8, skb.data, skb.len);
    if (typeof eth === "string") {
      this.stats.drops.count(eth);
      skb.free();
      return;
    }
    skb.macHeader = skb.data;
    if (eth.dst === dev.mac || iface.loopback) skb.pktType = PacketType.HOST;
    else if (isMacBroadcast(eth.dst)) skb.pktType = PacketType.BROADCAST;
    else if (isMacMulticast(eth.dst)) skb.pktType = PacketType.MULTICAST;
    else {
      this.stats.drops.count("link.other_host");
      skb.free();
      return;
    }
    skb.pull(ETHERNET_HEADER_LENGTH);
    skb.protocol = eth.ethertype;
    switch (eth.ethertype) {
      case EtherType.IPV4:
        this.ipv4.rcv(skb, iface);
        return;
      case EtherType.ARP:
        if (iface.noArp) break;
        this.neighbours.rcvArp(skb, iface);
        return;
    }
    this.stats.drops.count("link.unknown_ethertype");
    skb.free();
  }

  /**
   * ARP gave up: like Linux's `arp_error_report`, answer each queued datagram
   * with ICMP host unreachable to its source — for our own datagrams that is
   * us, so the sending socket learns EHOSTUNREACH.
   */
  #resolveFailed(pending: SkBuff[]): void {
    for (const skb of pending) {
      const ip = parseIpv4(this.arena.u8, skb.data, skb.len);
      if (typeof ip !== "string") {
        skb.networkHeader = skb.data;
        this.icmp.sendError(skb, 3, 1);
      }
      skb.free();
    }
  }
}

function isIpv4Literal(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) && tryParseIpv4(host) !== null;
}

function fmt(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}
