/**
 * UDP through the NAT relay. A page's datagram to an outside `dst:dport`
 * starts a flow (page address and port, destination address and port) if
 * the policy and the client's connection limit allow it: the gateway binds a
 * socket to `dst:dport` (a transparent address) that receives the page's
 * datagrams, and the relay host sends them from a native UDP socket of the
 * flow's own. Replies are accepted only from `dst:dport` (endpoint-dependent
 * filtering, RFC 4787 §5) and sent to the page from `dst:dport`. A flow idle
 * for `udpIdleMs` is closed. A refused datagram finds no socket, so the
 * gateway's UDP answers ICMP port unreachable: a connected page socket sees
 * ECONNREFUSED.
 *
 * Native UDP is `node:dgram` (Deno's own `listenDatagram` is still unstable).
 *
 * @module
 */
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import type { DatagramConn } from "../../api/datagram.ts";
import type { PreroutingVerdict } from "../../ipv4/layer.ts";
import type { SkBuff } from "../../skb/skbuff.ts";
import type { Timer } from "../../core/clock.ts";
import { formatIpv4, type Ipv4Address } from "../../wire/addr.ts";
import { get16 } from "../../wire/bytes.ts";
import type { Ipv4Repr } from "../../wire/ipv4.ts";
import type { NatContext } from "./context.ts";

interface Flow {
  readonly key: string;
  readonly client: Ipv4Address;
  readonly sport: number;
  readonly bound: Bound;
  readonly socket: dgram.Socket;
  lastUsed: number;
  timer: Timer | null;
}

interface Bound {
  readonly key: string;
  readonly dst: Ipv4Address;
  readonly dport: number;
  readonly conn: DatagramConn;
  readonly flows: Map<string, Flow>;
}

/**
 * The UDP half of the NAT.
 *
 * @example
 * ```ts
 * // const udp = new UdpNat(ctx); // called from the gateway's prerouting hook
 * ```
 */
export class UdpNat {
  readonly #ctx: NatContext;
  readonly #bound = new Map<string, Bound>();
  #closed = false;

  constructor(ctx: NatContext) {
    this.#ctx = ctx;
  }

  /** The prerouting hook's UDP part (a datagram to an outside address). */
  prerouting(skb: SkBuff, ip: Ipv4Repr): PreroutingVerdict {
    if (skb.len < ip.headerLength + 8) return "continue";
    const u8 = skb.arena.u8;
    const at = skb.data + ip.headerLength;
    const sport = get16(u8, at);
    const dport = get16(u8, at + 2);
    const bkey = `${ip.dst}:${dport}`;
    const b = this.#bound.get(bkey);
    const fkey = `${ip.src}:${sport}`;
    if (b?.flows.has(fkey)) return "continue";
    const ctx = this.#ctx;
    const flow = `udp ${formatIpv4(ip.src)}:${sport} → ${formatIpv4(ip.dst)}:${dport}`;
    const d = ctx.policy.check(ip.dst, dport);
    if (!d.allow || this.#closed) {
      ctx.stats.deniedUdp++;
      ctx.limits.denied(ip.src);
      ctx.log(`relay: nat: denied ${flow} (${this.#closed ? "shutting down" : d.reason})`);
      return "continue"; // no socket: ICMP port unreachable
    }
    if (!ctx.limits.openConnection(ip.src)) {
      ctx.stats.limited++;
      ctx.log(`relay: nat: refused ${flow}: connection limit`);
      return "continue";
    }
    const bound = b ?? this.#bind(ip.dst, dport);
    if (bound === null) {
      ctx.limits.closeConnection(ip.src);
      return "continue";
    }
    this.#open(bound, ip.src, sport, flow);
    return "continue";
  }

  /** The page at `client` left: close its flows. */
  closeClient(client: Ipv4Address): number {
    let n = 0;
    for (const b of [...this.#bound.values()]) {
      for (const f of [...b.flows.values()]) {
        if (f.client !== client) continue;
        this.#closeFlow(f);
        n++;
      }
    }
    return n;
  }

  /** Close every flow and bound socket. */
  close(): void {
    this.#closed = true;
    for (const b of this.#bound.values()) {
      for (const f of b.flows.values()) this.#closeFlow(f);
      try {
        b.conn.close();
      } catch { /* closed */ }
    }
    this.#bound.clear();
  }

  #bind(dst: Ipv4Address, dport: number): Bound | null {
    let conn: DatagramConn;
    try {
      conn = this.#ctx.stack.listenDatagram({
        hostname: formatIpv4(dst),
        port: dport,
        reuseAddress: true,
      });
    } catch (e) {
      this.#ctx.log(
        `relay: nat: cannot bind udp ${formatIpv4(dst)}:${dport}: ${(e as Error).message}`,
      );
      return null;
    }
    const b: Bound = { key: `${dst}:${dport}`, dst, dport, conn, flows: new Map() };
    this.#bound.set(b.key, b);
    this.#pump(b);
    return b;
  }

  #open(b: Bound, client: Ipv4Address, sport: number, text: string): void {
    const ctx = this.#ctx;
    const socket = dgram.createSocket("udp4");
    const f: Flow = {
      key: `${client}:${sport}`,
      client,
      sport,
      bound: b,
      socket,
      lastUsed: ctx.clock.now(),
      timer: null,
    };
    b.flows.set(f.key, f);
    ctx.stats.udpFlows++;
    ctx.stats.udpActive++;
    const dst = formatIpv4(b.dst);
    socket.on("message", (msg: Buffer, rinfo: { address: string; port: number }) => {
      // RFC 4787 §5: only the destination may answer through this flow.
      if (rinfo.address !== dst || rinfo.port !== b.dport) return;
      f.lastUsed = ctx.clock.now();
      const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength).slice();
      ctx.stats.udpDatagrams++;
      ctx.stats.bytesDown += data.length;
      ctx.limits.spend(client, data.length, false).then(() =>
        b.conn.send(data, { hostname: formatIpv4(client), port: sport })
      ).catch(() => {});
    });
    socket.on("error", (e: Error) => {
      ctx.log(`relay: nat: ${text}: ${e.message}`);
      this.#closeFlow(f);
    });
    ctx.log(`relay: nat: ${text} open`);
    this.#arm(f);
  }

  #arm(f: Flow): void {
    const ctx = this.#ctx;
    const idle = ctx.udpIdleMs;
    f.timer = ctx.clock.setTimer(Math.max(1, f.lastUsed + idle - ctx.clock.now()), () => {
      f.timer = null;
      if (ctx.clock.now() - f.lastUsed >= idle) this.#closeFlow(f);
      else this.#arm(f);
    });
  }

  /** Datagrams from pages to the bound address: out through each flow's native socket. */
  async #pump(b: Bound): Promise<void> {
    const ctx = this.#ctx;
    const dst = formatIpv4(b.dst);
    for (;;) {
      let data: Uint8Array, from: { hostname: string; port: number };
      try {
        [data, from] = await b.conn.receive();
      } catch {
        return; // closed
      }
      const f = b.flows.get(`${ip4(from.hostname)}:${from.port}`);
      if (f === undefined) continue; // its flow just expired: dropped
      f.lastUsed = ctx.clock.now();
      ctx.stats.udpDatagrams++;
      ctx.stats.bytesUp += data.length;
      await ctx.limits.spend(f.client, data.length, true);
      f.socket.send(data, b.dport, dst);
    }
  }

  #closeFlow(f: Flow): void {
    const b = f.bound;
    if (!b.flows.delete(f.key)) return;
    if (f.timer !== null) this.#ctx.clock.clearTimer(f.timer);
    try {
      f.socket.close();
    } catch { /* closed */ }
    this.#ctx.stats.udpActive--;
    this.#ctx.limits.closeConnection(f.client);
    if (b.flows.size === 0) {
      this.#bound.delete(b.key);
      try {
        b.conn.close();
      } catch { /* closed */ }
    }
  }
}

function ip4(text: string): number {
  const p = text.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}
