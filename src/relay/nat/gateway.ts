/**
 * `netwasm relay --nat`: the relay's own netwasm stack on the relay's LAN
 * as the pages' default router, DHCP server and DNS forwarder, terminating
 * their TCP and UDP to anywhere and re-originating it with the relay host's
 * native sockets (the slirp idea), behind an egress policy and per-client
 * limits; plus port forwarding from the host into a page.
 *
 * The gateway claims every address outside its LAN (`setTransparent`), so
 * segments to them are delivered to its TCP and UDP; its prerouting hook
 * sets up each flow (or refuses it) before the first segment gets there.
 * ICMP echo to outside addresses is re-originated with Linux ping sockets
 * (through FFI: Deno has no ICMP API) where the host permits them; where it
 * does not, it is answered "communication administratively prohibited" and
 * counted, so a ping fails at once instead of lying.
 *
 * @module
 */
import { type Clock, RealClock } from "../../core/clock.ts";
import { Stack } from "../../api/stack.ts";
import type { Conn } from "../../api/conn.ts";
import { DhcpServer } from "../../dhcp/server.ts";
import type { Iface } from "../../ipv4/iface.ts";
import type { PreroutingVerdict } from "../../ipv4/layer.ts";
import { createPipe, type PipeDevice } from "../../link/pipe.ts";
import type { SkBuff } from "../../skb/skbuff.ts";
import {
  formatIpv4,
  type Ipv4Address,
  prefixToMask,
  tryParseCidr,
  tryParseIpv4,
} from "../../wire/addr.ts";
import type { Ipv4Repr } from "../../wire/ipv4.ts";
import { type NatContext, NatStats } from "./context.ts";
import { serveDnsForwarder, type Upstream, upstreamsFromResolvConf } from "./dns_forward.ts";
import { type ClientLimitOptions, ClientLimits } from "./limits.ts";
import { pipeBoth } from "./pipe.ts";
import { EgressPolicy, type PolicyRule } from "./policy.ts";
import { TcpNat } from "./tcp_nat.ts";
import { PingSockets } from "./ping.ts";
import { emitIcmp } from "../../wire/icmp.ts";
import { UdpNat } from "./udp_nat.ts";

/** Echo requests being forwarded at once, at most (each holds a socket for up to 3 s). */
const MAX_PINGS = 64;

/** A `--forward` rule: host `hostAddress:hostPort` → page `address:port` (TCP). */
export interface PortForward {
  readonly hostAddress: string;
  readonly hostPort: number;
  readonly address: string;
  readonly port: number;
  readonly text: string;
}

/**
 * Parse `tcp:[HOST:]PORT=ADDR:PORT` (HOST defaults to 127.0.0.1).
 *
 * @example
 * ```ts
 * import { parseForward } from "./gateway.ts";
 * parseForward("tcp:8080=10.0.2.15:80");
 * // { hostAddress: "127.0.0.1", hostPort: 8080, address: "10.0.2.15", port: 80, text: "tcp:8080=10.0.2.15:80" }
 * ```
 */
export function parseForward(text: string): PortForward {
  const m = /^tcp:(?:(\d+\.\d+\.\d+\.\d+):)?(\d{1,5})=(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(text);
  const hostPort = Number(m?.[2]), port = Number(m?.[4]);
  if (
    m === null || tryParseIpv4(m[3]!) === null || (m[1] && tryParseIpv4(m[1]) === null) ||
    !(hostPort >= 1 && hostPort <= 65535 && port >= 1 && port <= 65535)
  ) {
    throw new TypeError(
      `--forward ${
        JSON.stringify(text)
      } is not tcp:[HOST:]PORT=ADDR:PORT (e.g. tcp:8080=10.0.2.15:80)`,
    );
  }
  return { hostAddress: m[1] ?? "127.0.0.1", hostPort, address: m[3]!, port, text };
}

/** Options of {@link NatGateway.start}. */
export interface NatGatewayOptions {
  /** The gateway's LAN address and prefix (default 10.0.2.2/24, as slirp). */
  lan?: string;
  /** DHCP lease time, seconds (default 3600). */
  leaseTime?: number;
  /** Upstream name servers (default: the relay host's /etc/resolv.conf). */
  dnsUpstreams?: readonly Upstream[];
  /** `--allow` / `--deny` rules, in order. */
  rules?: readonly PolicyRule[];
  /** The relay host's own addresses (default: `Deno.networkInterfaces()`). */
  ownAddresses?: readonly Ipv4Address[];
  /** Per-client limits. */
  limits?: ClientLimitOptions;
  /** Port forwards into pages. */
  forwards?: readonly PortForward[];
  /** Longest outbound TCP connect, ms (default 10 000). */
  connectTimeoutMs?: number;
  /** UDP flow idle timeout, ms (default 60 000). */
  udpIdleMs?: number;
  /** Log sink. */
  log?: (line: string) => void;
  /** No per-flow log lines. */
  quiet?: boolean;
  /** Time source (default: a real clock, closed with the gateway). */
  clock?: Clock;
  /** Re-originate ICMP echo with ping sockets when possible (default true). */
  icmp?: boolean;
}

/**
 * The NAT gateway of a relay.
 *
 * @example
 * ```ts
 * // const gw = await NatGateway.start({ lan: "10.0.2.2/24", rules: [parseRule("allow", "192.0.2.0/24")] });
 * // relaySwitch.addPort(…gw.device…); … await gw.close();
 * ```
 */
export class NatGateway {
  /** The switch side of the gateway's LAN link (connect it to the relay's switch). */
  readonly device: PipeDevice;
  readonly stack: Stack;
  readonly lan: Iface;
  readonly stats: NatStats = new NatStats();
  readonly limits: ClientLimits;
  readonly policy: EgressPolicy;
  readonly dhcp: DhcpServer;
  readonly upstreams: readonly Upstream[];
  readonly #tcp: TcpNat;
  readonly #udp: UdpNat;
  readonly #ownClock: RealClock | null;
  readonly #closers: (() => void)[] = [];
  readonly #tasks: Promise<unknown>[] = [];
  readonly #log: (line: string) => void;
  /** Ping sockets, or null where they are not available (echo is refused then). */
  readonly #ping: PingSockets | null;
  #pings = 0;
  readonly #quiet: boolean;
  #closed = false;

  private constructor(o: NatGatewayOptions) {
    this.#ownClock = o.clock === undefined ? new RealClock() : null;
    const clock = o.clock ?? this.#ownClock!;
    const lanText = o.lan ?? "10.0.2.2/24";
    const cidr = tryParseCidr(lanText);
    if (cidr === null || cidr.prefixLen > 30) {
      throw new TypeError(
        `--nat-lan ${JSON.stringify(lanText)} is not ADDR/PREFIX with a prefix of at most 30`,
      );
    }
    const mask = prefixToMask(cidr.prefixLen);
    const net = (cidr.address & mask) >>> 0;
    const onLan = (a: Ipv4Address) => ((a ^ net) & mask) === 0;
    this.stack = new Stack({ clock });
    const [gw, sw] = createPipe({
      allocator: this.stack.allocator,
      clock,
      names: ["nat0", "nat-switch"],
      macs: [0x02_6e_77_00_00_01, 0x02_6e_77_00_00_02],
      // The switch forwards frames to pages as they are, and a page's link
      // takes at most its MTU: no TSO super-segments on this pipe.
      features: 0,
    });
    this.device = sw;
    sw.up();
    this.lan = this.stack.addInterface(gw, { address: lanText });
    this.policy = new EgressPolicy(o.rules ?? [], {
      ownAddresses: o.ownAddresses ?? hostAddresses(),
    });
    this.limits = new ClientLimits(clock, o.limits);
    const log = o.log ?? ((l: string) => console.log(l));
    const quiet = o.quiet ?? false;
    this.#log = log;
    this.#quiet = quiet;
    const ctx: NatContext = {
      stack: this.stack,
      lan: this.lan,
      policy: this.policy,
      limits: this.limits,
      clock,
      stats: this.stats,
      log: (l) => {
        if (!quiet) log(l);
      },
      connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
      udpIdleMs: o.udpIdleMs ?? 60_000,
    };
    this.#tcp = new TcpNat(ctx);
    this.#udp = new UdpNat(ctx);
    const ipv4 = this.stack.ipv4;
    // Everything outside the LAN is "ours" (AnyIP), so TCP and UDP take it.
    ipv4.setTransparent((a) => !onLan(a));
    ipv4.setPrerouting((skb, ip, iface) => this.#prerouting(ctx, skb, ip, iface, onLan));
    // DHCP: the pool is the LAN's upper half past the gateway, at most 200 addresses.
    const size = 2 ** (32 - cidr.prefixLen);
    const first = (net + Math.max(2, Math.floor(size / 2))) >>> 0;
    const last = (net + Math.min(size - 2, Math.floor(size / 2) + 200)) >>> 0;
    const dhcpSocket = this.stack.listenDatagram({ port: 67, broadcast: true });
    this.#closers.push(() => dhcpSocket.close());
    this.dhcp = new DhcpServer({ socket: dhcpSocket, clock, drops: this.stack.stats.drops }, {
      serverAddress: formatIpv4(cidr.address),
      prefixLength: cidr.prefixLen,
      poolStart: formatIpv4(first),
      poolEnd: formatIpv4(last),
      router: formatIpv4(cidr.address),
      dnsServers: [formatIpv4(cidr.address)],
      leaseTime: o.leaseTime ?? 3600,
      mtu: 1500,
    });
    this.#tasks.push(this.dhcp.run());
    this.upstreams = o.dnsUpstreams ?? readResolvConf();
    const dnsSocket = this.stack.listenDatagram({ hostname: formatIpv4(cidr.address), port: 53 });
    this.#closers.push(() => dnsSocket.close());
    this.#tasks.push(serveDnsForwarder(ctx, dnsSocket, this.upstreams));
    for (const f of o.forwards ?? []) this.#forward(ctx, f);
    const ping = o.icmp === false ? { reason: "disabled" } : PingSockets.open();
    this.#ping = "reason" in ping ? null : ping;
    if ("reason" in ping) {
      ctx.log(`relay: nat: ICMP echo to outside hosts is refused: ${ping.reason}`);
    }
  }

  /** Start a gateway (see {@link NatGatewayOptions}). */
  static start(options: NatGatewayOptions = {}): Promise<NatGateway> {
    return Promise.resolve(new NatGateway(options));
  }

  /** The NAT counters and the per-client ones. */
  snapshot(): { nat: NatStats; clients: ReturnType<ClientLimits["all"]>; leases: number } {
    return { nat: { ...this.stats }, clients: this.limits.all(), leases: this.dhcp.leases.size };
  }

  /** One line for the relay's summary. */
  summary(): string {
    const s = this.stats;
    return `nat: ${this.dhcp.leases.size} leases; tcp ${s.tcpActive} open/${s.tcpOpened} (connect failed ${s.tcpConnectFailed}), ` +
      `udp ${s.udpActive} open/${s.udpFlows}; dns ${s.dnsQueries} (refused ${s.dnsRefused}, failed ${s.dnsFailed}); ` +
      `denied tcp ${s.deniedTcp}, udp ${s.deniedUdp}, icmp ${s.deniedIcmp}; limited ${s.limited}; ` +
      `forwarded ${s.forwarded}; bytes up ${s.bytesUp}, down ${s.bytesDown}`;
  }

  /**
   * A switch port that owned `macs` went away: end the flows of the pages
   * behind those MACs (their addresses from the DHCP leases).
   */
  clientGone(macs: readonly number[]): void {
    for (const [address, mac] of this.dhcp.leases) {
      if (!macs.includes(mac)) continue;
      const a = tryParseIpv4(address)!;
      const n = this.#tcp.abortClient(a) + this.#udp.closeClient(a);
      if (n > 0 && !this.#quiet) this.#log(`relay: nat: ${address} left: ${n} flows closed`);
    }
  }

  /** Close every flow, listener and socket, and the gateway stack. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.stack.ipv4.setPrerouting(null);
    this.#tcp.close();
    this.#udp.close();
    for (const c of this.#closers) {
      try {
        c();
      } catch { /* closed */ }
    }
    await Promise.allSettled(this.#tasks);
    this.#ping?.close();
    await this.stack.close();
    this.#ownClock?.close();
  }

  #prerouting(
    ctx: NatContext,
    skb: SkBuff,
    ip: Ipv4Repr,
    iface: Iface,
    onLan: (a: Ipv4Address) => boolean,
  ): PreroutingVerdict {
    if (iface !== this.lan || onLan(ip.dst) || ip.dst === 0xffffffff) return "continue";
    switch (ip.protocol) {
      case 6:
        return this.#tcp.prerouting(skb, ip, iface);
      case 17:
        return this.#udp.prerouting(skb, ip);
      case 1:
        return this.#icmp(ctx, skb, ip);
    }
    this.stack.stats.drops.count("nat.unsupported_protocol");
    skb.free();
    return "stolen";
  }

  /**
   * ICMP to an outside address. An allowed echo request is re-originated
   * with a ping socket and the reply sent to the page from the destination;
   * anything the gateway cannot or may not forward is answered "communication
   * administratively prohibited" (RFC 1812 §5.2.7.1), never with a reply
   * for a host it did not ask.
   */
  #icmp(ctx: NatContext, skb: SkBuff, ip: Ipv4Repr): PreroutingVerdict {
    const u8 = skb.arena.u8;
    const at = skb.data + ip.headerLength;
    const len = skb.len - ip.headerLength;
    if (len < 8 || u8[at] !== 8 || u8[at + 1] !== 0) {
      skb.free(); // not an echo request: nothing to forward, nothing to answer
      return "stolen";
    }
    const d = ctx.policy.check(ip.dst, 0);
    const ping = this.#ping;
    if (!d.allow || ping === null || this.#pings >= MAX_PINGS) {
      if (!d.allow) {
        ctx.stats.deniedIcmp++;
        ctx.limits.denied(ip.src);
        ctx.log(
          `relay: nat: denied icmp echo ${formatIpv4(ip.src)} → ${
            formatIpv4(ip.dst)
          } (${d.reason})`,
        );
      } else ctx.stats.icmpUnanswered++;
      this.stack.icmp.sendError(skb, 3, 13);
      skb.free();
      return "stolen";
    }
    const id = (u8[at + 4]! << 8) | u8[at + 5]!;
    const seq = (u8[at + 6]! << 8) | u8[at + 7]!;
    const data = u8.slice(at + 8, at + len);
    const page = ip.src, dst = ip.dst;
    skb.free();
    this.#pings++;
    ping.echo(ctx.clock, dst, seq, data, 3000).then((reply) => {
      this.#pings--;
      if (reply === null || this.#closed) {
        ctx.stats.icmpUnanswered++;
        return;
      }
      ctx.stats.icmpEchoes++;
      const out = this.stack.allocator.alloc(8 + reply.data.length);
      if (out === null) return;
      const o = out.put(8 + reply.data.length);
      const mem = this.stack.allocator.arena.u8;
      mem.set(reply.data, o + 8);
      emitIcmp({ type: 0, code: 0, id, seq, payloadLength: reply.data.length }, mem, o);
      this.stack.ipv4.output(out, page, { protocol: 1, src: dst });
    });
    return "stolen";
  }

  /** Listen on the host and connect each accepted connection to a page. */
  #forward(ctx: NatContext, f: PortForward): void {
    const l = Deno.listen({ hostname: f.hostAddress, port: f.hostPort });
    this.#closers.push(() => l.close());
    ctx.log(`relay: nat: forwarding tcp ${f.hostAddress}:${f.hostPort} → ${f.address}:${f.port}`);
    this.#tasks.push((async () => {
      for (;;) {
        let host: Deno.Conn;
        try {
          host = await l.accept();
        } catch {
          return; // closed
        }
        const from = host.remoteAddr as Deno.NetAddr;
        (async () => {
          let page: Conn;
          try {
            page = await this.stack.connect({ hostname: f.address, port: f.port });
          } catch (e) {
            ctx.log(
              `relay: nat: forward ${f.text} from ${from.hostname}:${from.port}: ${
                (e as Error).message
              }`,
            );
            host.close();
            return;
          }
          ctx.stats.forwarded++;
          ctx.log(
            `relay: nat: forward ${from.hostname}:${from.port} → ${f.address}:${f.port} open`,
          );
          const r = await pipeBoth(host, page, (n, toPage) => {
            if (toPage) ctx.stats.bytesDown += n;
            else ctx.stats.bytesUp += n;
          });
          ctx.log(
            `relay: nat: forward ${from.hostname}:${from.port} → ${f.address}:${f.port} closed: ${r.aToB} bytes in, ${r.bToA} out`,
          );
        })();
      }
    })());
  }
}

/** IPv4 addresses of the relay host's interfaces. */
function hostAddresses(): Ipv4Address[] {
  try {
    return Deno.networkInterfaces()
      .filter((i) => i.family === "IPv4")
      .map((i) => tryParseIpv4(i.address))
      .filter((a): a is number => a !== null);
  } catch {
    return [];
  }
}

function readResolvConf(): Upstream[] {
  try {
    return upstreamsFromResolvConf(Deno.readTextFileSync("/etc/resolv.conf"));
  } catch {
    return [];
  }
}
