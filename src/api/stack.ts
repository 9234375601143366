/**
 * `Stack`: the object users create. It owns the arena, the receive drain,
 * the interfaces (a loopback one with 127.0.0.1/8 by default), routing, ARP,
 * IPv4, ICMP and the transport protocols, and the counters.
 *
 * @module
 */
import { type Clock, holdProcess, RealClock } from "../core/clock.ts";
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
  formatIpv4,
  type Ipv4Address,
  isMacBroadcast,
  isMacMulticast,
  parseIpv4 as parseAddress,
  tryParseCidr,
  tryParseIpv4,
} from "../wire/addr.ts";
import { ETHERNET_HEADER_LENGTH, EtherType, parseEthernetInto } from "../wire/ethernet.ts";
import { IcmpType, IcmpUnreachableCode } from "../wire/icmp.ts";
import { IpProtocol, parseIpv4 } from "../wire/ipv4.ts";
import { type IcmpOptions, IcmpProtocol, PacketType } from "../ipv4/icmp.ts";
import { Iface } from "../ipv4/iface.ts";
import { Ipv4Layer, type Ipv4LayerOptions } from "../ipv4/layer.ts";
import { type NeighbourOptions, NeighbourTable } from "../ipv4/neighbour.ts";
import { RouteTable } from "../ipv4/route.ts";
import { errnoError, TimedOut } from "../socket/errors.ts";
import { IsnGenerator } from "../tcp/isn.ts";
import { SynCookies } from "../tcp/syncookies.ts";
import type { TcpConfig } from "../tcp/config.ts";
import type { Tcb } from "../tcp/tcb.ts";
import { createTcpTables } from "../tcp/tables_impl.ts";
import { TcpProtocol } from "../tcp/tcp.ts";
import { Tcp6 } from "../tcp/tcp6.ts";
import { SocketLayer } from "../socket/fd_table.ts";
import type { InetConfig } from "../socket/inet.ts";
import { registerInetDgram } from "../socket/inet_dgram.ts";
import { registerInetStream } from "../socket/inet_stream.ts";
import { registerInet6Dgram } from "../socket/inet6_dgram.ts";
import { registerInet6Stream } from "../socket/inet6_stream.ts";
import { Udp6 } from "../udp/udp6.ts";
import { type UdpOptions, UdpProtocol } from "../udp/udp.ts";
import { closeIpv6, createIpv6, type Ipv6Family, type Ipv6Options } from "../ipv6/setup.ts";
import { Icmpv6Type } from "../wire/icmpv6.ts";
import { isLinkLocal6 } from "../wire/addr6.ts";
import { pingIpv6, planInterface } from "./stack6.ts";
import { parseIpv6 as parseIpv6Header } from "../wire/ipv6.ts";
import { type DatagramConn, listenDatagram, type ListenDatagramOptions } from "./datagram.ts";
import { checkConnectOptions, type Conn, connect, type ConnectOptions } from "./conn.ts";
import { happyEyeballs, interleaveFamilies } from "./happy_eyeballs.ts";
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
  /** Most open sockets; more fail with ENFILE (default 1,048,576, Linux `fs.nr_open`). */
  maxSockets?: number;
  /** UDP tuning (initial SO_RCVBUF/SO_SNDBUF). */
  udp?: Omit<UdpOptions, "localPortRange">;
  /** IPv6 tuning (DAD, address generation, neighbour cache, ICMPv6, reassembly). */
  ipv6?: Ipv6Options;
  /** The stub resolver: name servers, search list, hosts map, cache bounds (see `Resolver`). */
  dns?: ResolverOptions;
}

/**
 * How to configure an interface: a static IPv4 `address`, or `dhcp`; and
 * IPv6 beside it when the configuration asks for it: an IPv6 `address`,
 * `ip6`, `gateway6`, `slaac: true` or `ipv6: true`; it then gets a
 * link-local address and, unless `slaac` is false, configures itself from
 * router advertisements.
 */
export interface InterfaceConfig {
  /**
   * Address and prefix, `"192.0.2.2/24"` or `"2001:db8::2/64"` (optional
   * with `dhcp` or `ip6`).
   */
  address?: string;
  /**
   * Get the IPv4 address, router, name servers, domain and MTU by DHCP (RFC
   * 2131): `true` or client options. `stack.dhcp(iface)` is the client
   * (events, `bound()`).
   */
  dhcp?: boolean | DhcpClientOptions;
  /** Default gateway on this link, `"192.0.2.1"` (or an IPv6 one, like `gateway6`). */
  gateway?: string;
  /** Send a gratuitous ARP when the interface comes up (default true). */
  announce?: boolean;
  /** Static IPv6 addresses with prefix, `"2001:db8::2/64"`. */
  ip6?: string | readonly string[];
  /** IPv6 default router on this link, `"fe80::1"` or `"2001:db8::1"`. */
  gateway6?: string;
  /** Autoconfigure from router advertisements (default true when IPv6 is on). */
  slaac?: boolean;
  /** Enable IPv6 (link-local address, neighbour discovery) even without IPv6 addresses. */
  ipv6?: boolean;
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
  /** Abort the wait: the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Send through this interface (name or index): needed for link-local IPv6 destinations on a multi-link host. */
  interface?: string | number;
}

/** A ping answer. */
export interface PingResult {
  /** Who answered (dotted quad). */
  from: string;
  /** The echo sequence number. */
  seq: number;
  /** The reply's TTL. */
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
export class Stack implements AsyncDisposable {
  /** The time source every layer uses. */
  readonly clock: Clock;
  /** Randomness for ISNs, ports and IDs. */
  readonly random: RandomSource;
  /** The memory every packet buffer lives in. */
  readonly arena: Arena;
  /** Allocates packet buffers (skbs) in the arena; devices need it. */
  readonly allocator: SkbAllocator;
  /** The WebAssembly hot paths bound to the arena (`hotPaths.kind`: "simd", "scalar", "reference"). */
  readonly hotPaths: HotPaths;
  /** Every counter: IP, ICMP, UDP, TCP, ARP, drops by reason. */
  readonly stats: StackStats = new StackStats();
  /** The receive drain (budgeted polling of the devices). */
  readonly softnet: SoftNet<NetDevice>;
  /** The routing table. */
  readonly routes: RouteTable = new RouteTable();
  /** The ARP table. */
  readonly neighbours: NeighbourTable;
  /** IPv4: input, output, fragmentation, reassembly. */
  readonly ipv4: Ipv4Layer;
  /** ICMP: echo, errors, rate limiting. */
  readonly icmp: IcmpProtocol;
  /**
   * TCP (RFC 9293); `stack.tcp.socket()` is the ops API the socket layer
   * wraps. Internal: its type lives in `src/tcp/`, which has no entry point
   * of its own yet.
   *
   * @internal
   */
  readonly tcp: TcpProtocol;
  /** UDP (RFC 768). */
  readonly udp: UdpProtocol;
  /**
   * The IPv6 family: `layer` (input/output), `icmp` (ICMPv6), `ndisc`
   * (neighbour cache), `addrconf` (addresses, SLAAC, DAD), `mld`,
   * `devices` (per-interface state), `routes`, `pmtu`.
   */
  readonly ipv6: Ipv6Family;
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
  /** The Ethernet header of the frame being received (reused: no allocation per frame). */
  readonly #eth = { dst: 0, src: 0, ethertype: 0, payloadOffset: 0, payloadLength: 0 };
  readonly #dhcp: DhcpService;
  /** Name servers come from DHCP leases unless `options.dns.nameServers` set them. */
  readonly #dnsFromDhcp: boolean;
  #http: HttpClient | null = null;
  #closed = false;

  /** A stack with a loopback interface (unless `loopback: false`); add others with {@link addInterface}. */
  constructor(options: StackOptions = {}) {
    this.#ownsClock = options.clock === undefined;
    this.clock = options.clock ?? new RealClock();
    this.random = options.random ?? new CryptoRandom();
    this.arena = options.arena ?? new Arena();
    this.allocator = new SkbAllocator(this.arena);
    this.hotPaths = bindHotPaths(this.arena, { engine: options.engine ?? "auto" });
    this.softnet = new SoftNet<NetDevice>(
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
    this.ipv6 = createIpv6({
      clock: this.clock,
      rng: this.random,
      allocator: this.allocator,
      stats: this.stats,
      ...(options.ipv6 ? { options: options.ipv6 } : {}),
      onResolveFailed: (_iface, pending) => this.#resolveFailed6(pending),
    });
    const random = this.random;
    this.tcp = new TcpProtocol({
      clock: this.clock,
      ipv4: this.ipv4,
      allocator: this.allocator,
      hotPaths: this.hotPaths,
      tables: createTcpTables<Tcb>({
        now: () => this.clock.now(),
        nextU32: () => random.nextU32(),
        ...(options.localPortRange ? { portRange: options.localPortRange } : {}),
        onTimeWaitReuse: (tw, sk) => this.tcp.onTimeWaitReuse(tw, sk),
      }),
      isn: new IsnGenerator({ now: () => this.clock.now(), rng: random }),
      cookies: new SynCookies({ now: () => this.clock.now(), rng: random }),
      stats: this.stats.tcp,
      drops: this.stats.drops,
      ipv6: this.ipv6,
      ...(options.tcp ? { config: options.tcp } : {}),
    });
    this.ipv4.register(IpProtocol.TCP, this.tcp);
    new Tcp6(this.tcp.ctx); // registers itself for IPv6 next header 6
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
    registerInet6Dgram(
      this.sockets,
      this.udp,
      new Udp6(this.udp, this.ipv6.layer),
      this.ipv6.layer,
      this.inet,
    );
    registerInetStream(this.sockets, this.tcp, this.inet);
    registerInet6Stream(this.sockets, this.tcp, this.ipv6.layer, this.inet);
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
      this.ipv6.addrconf.enable(this.loopback); // ::1/128
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
    const dhcp = config.dhcp !== undefined && config.dhcp !== false;
    if (
      dhcp && (
        (config.address !== undefined && !config.address.includes(":")) ||
        (config.gateway !== undefined && !config.gateway.includes(":"))
      )
    ) {
      throw new TypeError("addInterface: give either dhcp or a static address/gateway, not both");
    }
    const plan = planInterface(config, dhcp);
    const iface = this.#attach(dev, plan.v4?.address ?? 0, plan.v4?.prefixLen ?? 32, {
      loopback: false,
      announce: plan.v4 !== null && (config.announce ?? true),
      v4: plan.v4 !== null,
    });
    if (plan.gateway4 !== null) this.routes.add(iface, 0, 0, { gateway: plan.gateway4 });
    if (plan.ipv6) {
      const ac = this.ipv6.addrconf;
      ac.enable(iface, { acceptRa: config.slaac ?? true });
      for (const a of plan.v6) ac.addStatic(iface, a.address, a.prefixLen);
      if (plan.gateway6 !== null) ac.addDefaultRoute(iface, plan.gateway6);
    }
    if (dhcp) this.#dhcp.start(iface, config.dhcp === true ? {} : config.dhcp as DhcpClientOptions);
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
    this.ipv6.addrconf.disable(iface);
    iface.dev.setRxNotify(null);
    this.softnet.forget(iface.dev);
  }

  /** The interface using `dev`, if attached. */
  interfaceOf(dev: NetDevice): Iface | undefined {
    return this.#byDev.get(dev);
  }

  /**
   * Send one ICMP echo request and wait for its reply.
   * Rejects with `TimedOut` when no reply arrives within `timeout`, with the
   * routing error (`NetworkUnreachable`, …) when it cannot be sent, or with
   * `signal.reason` when `signal` aborts. While it waits it keeps the process
   * alive (on a real clock).
   */
  ping(host: string | Ipv4Address, options: PingOptions = {}): Promise<PingResult> {
    if (typeof host === "string" && host.includes(":")) {
      return pingIpv6(
        { clock: this.clock, icmp: this.ipv6.icmp, interfaces: this.#ifaces },
        host,
        options,
      );
    }
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
        reject(options.signal.reason);
        return;
      }
      const sent = this.clock.now();
      const release = holdProcess(this.clock);
      const finish = (result: PingResult | { reason: unknown }) => {
        remove();
        release();
        this.clock.clearTimer(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if ("reason" in result) reject(result.reason);
        else resolve(result);
      };
      const onAbort = () => finish({ reason: options.signal?.reason });
      const timer = this.clock.setTimer(timeout, () => {
        finish({
          reason: new TimedOut(
            Errno.ETIMEDOUT,
            `ping ${formatIpv4(dst)}: no reply within ${timeout} ms`,
          ),
        });
      });
      const remove = this.icmp.onEchoReply(id, (reply) => {
        if (reply.seq !== seq) return;
        if ("errno" in reply) {
          finish({
            reason: errnoError(
              reply.errno,
              `ping ${formatIpv4(dst)}`,
              `${reply.reason} (from ${formatIpv4(reply.from)})`,
            ),
          });
          return;
        }
        let same = reply.data.length === data.length;
        for (let i = 0; same && i < data.length; i++) same = reply.data[i] === data[i];
        finish({
          from: formatIpv4(reply.from),
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
      if (r < 0) finish({ reason: errnoError(r, `ping ${formatIpv4(dst)}`) });
    });
  }

  /**
   * Open a UDP socket bound to `hostname:port` (default hostname 0.0.0.0),
   * like `Deno.listenDatagram`. Throws `AddrInUse`, `AddrNotAvailable`,
   * `PermissionDenied`, … (`Cannot bind 192.0.2.9:53: address not available
   * on any interface`).
   */
  listenDatagram(options: ListenDatagramOptions = {}): DatagramConn {
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
    // Literals go straight to the socket layer (an IPv6 one gets its clear error there).
    if (host === undefined || host === "localhost" || isIpv4Literal(host) || host.includes(":")) {
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
  /** Resolve the MX records of `query`: `{ preference, exchange }`, exchange fully qualified. */
  resolveDns(query: string, recordType: "MX", options?: ResolveDnsOptions): Promise<MxRecord[]>;
  /** Resolve the SRV records of `query`: `{ priority, weight, port, target }`. */
  resolveDns(query: string, recordType: "SRV", options?: ResolveDnsOptions): Promise<SrvRecord[]>;
  /** Resolve the TXT records of `query`: one array of character-strings per record. */
  resolveDns(query: string, recordType: "TXT", options?: ResolveDnsOptions): Promise<string[][]>;
  /** Resolve the SOA record of `query` (RFC 1035 §3.3.13). */
  resolveDns(query: string, recordType: "SOA", options?: ResolveDnsOptions): Promise<SoaRecord[]>;
  /**
   * Resolve `query` for a `recordType` known only at run time; the result's shape follows the type.
   */
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
   * Eyeballs (RFC 8305). AAAA is asked too when the stack has a global (or
   * unique-local) IPv6 address (getaddrinfo's AI_ADDRCONFIG); the answers
   * are ordered IPv6 first with the families interleaved (§4).
   */
  async #connectByName(host: string, options: ConnectOptions): Promise<Conn> {
    checkConnectOptions(options);
    const signal = options.signal;
    const ipv6 = hasRoutableIpv6(this.ipv6);
    const addrs = await this.dns.lookupHost(host, { ipv6, ...(signal ? { signal } : {}) });
    return await happyEyeballs(
      interleaveFamilies(addrs.filter((a) => a.family === 4 || ipv6)),
      (a, s) => connect(this.sockets, { ...options, hostname: a.address, signal: s }),
      { clock: this.clock, discard: (c) => c.close(), ...(signal ? { signal } : {}) },
    );
  }

  /**
   * Listen for TCP connections on `hostname:port` (default hostname
   * 0.0.0.0), like `Deno.listen`. Throws `AddrInUse`, `AddrNotAvailable`,
   * `PermissionDenied`, …
   */
  listen(options: ListenOptions = {}): Listener {
    return listen(this.sockets, options);
  }

  /**
   * Close every socket, take every interface down, free queued packets,
   * cancel timers. Pending calls reject with `BadResource`; `for await`
   * loops over its listeners and datagram sockets end. Afterwards nothing of
   * this stack keeps the process alive. Closing twice is a no-op.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dhcp.close();
    this.#http?.close();
    this.sockets.closeAll();
    this.tcp.close();
    this.neighbours.close();
    this.ipv4.close();
    closeIpv6(this.ipv6);
    for (const iface of [...this.#ifaces]) {
      this.removeInterface(iface);
      await iface.dev.close();
    }
    releaseHotPaths(this.arena);
    if (this.#ownsClock && this.clock instanceof RealClock) this.clock.close();
  }

  /** {@link close} (`await using stack = new Stack(…)`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #attach(
    dev: NetDevice,
    address: Ipv4Address,
    prefixLength: number,
    o: { loopback: boolean; announce: boolean; v4?: boolean },
  ): Iface {
    if (this.#byDev.has(dev)) throw new TypeError(`Device ${dev.name} is already attached`);
    const index = this.#ifaces.reduce((m, i) => Math.max(m, i.index), 0) + 1;
    const iface = new Iface({ index, dev, address, prefixLength, loopback: o.loopback });
    this.#ifaces.push(iface);
    this.#byDev.set(dev, iface);
    if ((o.v4 ?? true) && address !== 0) this.routes.add(iface, address, prefixLength);
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
    const eth = this.#eth;
    const bad = parseEthernetInto(this.arena.u8, skb.data, skb.len, eth);
    if (bad !== null) {
      this.stats.drops.count(bad);
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
      case EtherType.IPV6:
        // An interface without IPv6 does not speak the protocol at all.
        if (this.ipv6.devices.get(iface) === undefined) break;
        this.ipv6.layer.rcv(skb, iface);
        return;
    }
    this.stats.drops.count("link.unknown_ethertype");
    skb.free();
  }

  /**
   * Neighbour discovery gave up (RFC 4861 §7.2.2): ICMPv6 address
   * unreachable for each queued packet, to its source — us, so the sending
   * socket learns EHOSTUNREACH.
   */
  #resolveFailed6(pending: SkBuff[]): void {
    for (const skb of pending) {
      const ip = parseIpv6Header(this.arena.u8, skb.data, skb.len);
      if (typeof ip !== "string") {
        skb.networkHeader = skb.data;
        this.ipv6.icmp.sendError(skb, Icmpv6Type.DEST_UNREACHABLE, 3);
      }
      skb.free();
    }
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
        this.icmp.sendError(skb, IcmpType.DEST_UNREACHABLE, IcmpUnreachableCode.HOST);
      }
      skb.free();
    }
  }
}

/** Does any interface have a usable IPv6 address beyond link scope (AI_ADDRCONFIG)? */
function hasRoutableIpv6(v6: Ipv6Family): boolean {
  for (const d of v6.devices.all()) {
    if (d.iface.loopback || d.disabled) continue;
    for (const a of d.addrs) if (a.usable && !isLinkLocal6(a.address)) return true;
  }
  return false;
}

/** An IPv4 dotted quad (not the shorthand forms `new URL` or inet_aton accept). */
function isIpv4Literal(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) && tryParseIpv4(host) !== null;
}
