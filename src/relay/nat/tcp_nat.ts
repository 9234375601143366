/**
 * TCP through the NAT relay, the slirp way: a page's connection to any
 * address is terminated by the gateway stack and re-originated with the
 * relay host's native `Deno.connect`.
 *
 * 1. A page's SYN to an outside `dst:dport` reaches the gateway's prerouting
 *    hook (the gateway claims every outside address, so TCP would take it).
 *    The policy and the client's connection limit decide; a refusal lets the
 *    SYN go on to TCP, which finds no listener and answers RST: the page
 *    sees "connection refused" at once, and nothing left the relay.
 * 2. An allowed SYN is held while the relay connects natively. If that
 *    fails, the SYN is handed back to TCP and refused the same way; so the
 *    page learns the truth about the real destination.
 * 3. On success a listener bound to `dst:dport` (a transparent address) is
 *    put in place and the SYN handed back: the handshake completes, and the
 *    accepted connection is piped to the native one, throttled per client.
 *
 * @module
 */
import type { Conn } from "../../api/conn.ts";
import type { Listener } from "../../api/listener.ts";
import type { Iface } from "../../ipv4/iface.ts";
import type { PreroutingVerdict } from "../../ipv4/layer.ts";
import type { SkBuff } from "../../skb/skbuff.ts";
import { SO_LINGER, SOL_SOCKET } from "../../socket/constants.ts";
import { formatIpv4, type Ipv4Address } from "../../wire/addr.ts";
import { get16, get32 } from "../../wire/bytes.ts";
import { emitTcp, TCP_HEADER_LENGTH, TcpFlags } from "../../wire/tcp.ts";
import { NO_TCP_OPTIONS } from "../../wire/tcp_options.ts";
import type { Ipv4Repr } from "../../wire/ipv4.ts";
import type { NatContext } from "./context.ts";
import { pipeBoth } from "./pipe.ts";

const SYN = 0x02;
const ACK = 0x10;

interface Session {
  readonly key: string;
  readonly client: Ipv4Address;
  readonly sport: number;
  readonly dst: Ipv4Address;
  readonly dport: number;
  state: "connecting" | "accepting" | "open";
  held: { skb: SkBuff; iface: Iface } | null;
  remote: Deno.Conn | null;
  /** The page's side, once accepted. */
  local: Conn | null;
}

interface Bound {
  readonly listener: Listener;
  /** Sessions using it (connecting, accepting or open). */
  users: number;
}

/**
 * The TCP half of the NAT.
 *
 * @example
 * ```ts
 * // const tcp = new TcpNat(ctx);  // ctx.stack.ipv4.setPrerouting((s, ip, i) => tcp.prerouting(s, ip, i))
 * ```
 */
export class TcpNat {
  readonly #ctx: NatContext;
  readonly #sessions = new Map<string, Session>();
  readonly #bound = new Map<string, Bound>();
  #closed = false;

  constructor(ctx: NatContext) {
    this.#ctx = ctx;
  }

  /** Sessions in any state. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** The prerouting hook's TCP part: `skb.data` at the IPv4 header of a segment to an outside address. */
  prerouting(skb: SkBuff, ip: Ipv4Repr, iface: Iface): PreroutingVerdict {
    const u8 = skb.arena.u8;
    const at = skb.data + ip.headerLength;
    if (skb.len < ip.headerLength + 14) return "continue"; // TCP drops it
    const sport = get16(u8, at);
    const dport = get16(u8, at + 2);
    const flags = u8[at + 13]!;
    const key = `${ip.src}:${sport}>${ip.dst}:${dport}`;
    const s = this.#sessions.get(key);
    if (s !== undefined) {
      if (s.state !== "connecting") return "continue";
      // A retransmitted SYN while we connect: the held one will answer it.
      skb.free();
      return "stolen";
    }
    if ((flags & (SYN | ACK)) !== SYN) return "continue"; // not a new flow: TCP resets it
    const ctx = this.#ctx;
    const flow = `tcp ${formatIpv4(ip.src)}:${sport} → ${formatIpv4(ip.dst)}:${dport}`;
    const d = ctx.policy.check(ip.dst, dport);
    if (!d.allow || this.#closed) {
      ctx.stats.deniedTcp++;
      ctx.limits.denied(ip.src);
      ctx.log(`relay: nat: denied ${flow} (${this.#closed ? "shutting down" : d.reason})`);
      return this.#refuse(skb);
    }
    if (!ctx.limits.openConnection(ip.src)) {
      ctx.stats.limited++;
      ctx.log(
        `relay: nat: refused ${flow}: ${
          formatIpv4(ip.src)
        } has ${ctx.limits.maxConnections} connections (limit)`,
      );
      return this.#refuse(skb);
    }
    const session: Session = {
      key,
      client: ip.src,
      sport,
      dst: ip.dst,
      dport,
      state: "connecting",
      held: { skb, iface },
      remote: null,
      local: null,
    };
    this.#sessions.set(key, session);
    this.#connect(session, flow);
    return "stolen";
  }

  /**
   * Refuse a SYN: "connection refused" for the page. Without a listener on
   * its address TCP does that itself; with one (another page's session to
   * the same place) we answer the RST here (RFC 9293 §3.10.7.1: seq 0, ACK
   * of the SYN), so the listener never completes a handshake we refused.
   */
  #refuse(skb: SkBuff): PreroutingVerdict {
    // skb.data is at the IPv4 header (validated by the IPv4 layer).
    const u8 = skb.arena.u8;
    const ipAt = skb.data;
    const ihl = (u8[ipAt]! & 0xf) << 2;
    const src = get32(u8, ipAt + 12), dst = get32(u8, ipAt + 16);
    const at = ipAt + ihl;
    const sport = get16(u8, at), dport = get16(u8, at + 2);
    if (!this.#bound.has(`${dst}:${dport}`)) return "continue";
    const seq = get32(u8, at + 4);
    const segLen = skb.len - ihl - ((u8[at + 12]! >>> 4) << 2) + 1; // + SYN
    skb.free();
    const stack = this.#ctx.stack;
    const rst = stack.allocator.alloc(TCP_HEADER_LENGTH);
    if (rst === null) return "stolen";
    const o = rst.put(TCP_HEADER_LENGTH);
    emitTcp(
      {
        srcPort: dport,
        dstPort: sport,
        seq: 0,
        ack: (seq + segLen) >>> 0,
        flags: TcpFlags.RST | TcpFlags.ACK,
        window: 0,
        urgentPointer: 0,
        options: NO_TCP_OPTIONS,
        payloadLength: 0,
      },
      stack.allocator.arena.u8,
      o,
      { src: dst, dst: src },
    );
    rst.transportHeader = o;
    stack.ipv4.output(rst, src, { protocol: 6, src: dst });
    return "stolen";
  }

  /**
   * The page at `client` left (its WebSocket closed): reset its sessions
   * now instead of waiting for TCP to time them out, freeing its limits.
   */
  abortClient(client: Ipv4Address): number {
    let n = 0;
    for (const s of [...this.#sessions.values()]) {
      if (s.client !== client) continue;
      n++;
      if (s.local !== null) this.#abort(s.local); // the pipe ends and cleans up
      else {
        s.held?.skb.free();
        s.held = null;
        try {
          s.remote?.close();
        } catch { /* closed */ }
        if (s.state === "accepting") this.#ctx.stats.tcpActive--;
        this.#end(s);
      }
    }
    return n;
  }

  /** Close every session and listener; free held SYNs. */
  close(): void {
    this.#closed = true;
    for (const s of this.#sessions.values()) {
      s.held?.skb.free();
      s.held = null;
      try {
        s.remote?.close();
      } catch { /* closed */ }
    }
    for (const b of this.#bound.values()) {
      try {
        b.listener.close();
      } catch { /* closed */ }
    }
    this.#bound.clear();
  }

  async #connect(s: Session, flow: string): Promise<void> {
    const ctx = this.#ctx;
    const host = formatIpv4(s.dst);
    let remote: Deno.Conn;
    try {
      remote = await withDeadline(
        ctx.clock,
        (signal) => Deno.connect({ hostname: host, port: s.dport, signal } as Deno.ConnectOptions),
        ctx.connectTimeoutMs,
      );
    } catch (e) {
      ctx.stats.tcpConnectFailed++;
      ctx.log(`relay: nat: ${flow}: connect failed: ${(e as Error).message}`);
      this.#end(s);
      const held = s.held;
      s.held = null;
      // The page learns it as "connection refused": TCP refuses the SYN we
      // hand back, or (with a listener there for another page) we do.
      if (held === null) return;
      if (this.#closed) held.skb.free();
      else if (this.#refuse(held.skb) === "continue") ctx.stack.ipv4.rcv(held.skb, held.iface);
      return;
    }
    if (this.#closed) {
      remote.close();
      return;
    }
    s.remote = remote;
    ctx.stats.tcpOpened++;
    ctx.stats.tcpActive++;
    const b = this.#listener(s.dst, s.dport);
    if (b === null) {
      remote.close();
      ctx.stats.tcpActive--;
      this.#end(s);
      s.held?.skb.free();
      s.held = null;
      return;
    }
    b.users++;
    s.state = "accepting";
    const held = s.held!;
    s.held = null;
    ctx.stack.ipv4.rcv(held.skb, held.iface);
  }

  /** The listener on `dst:dport`, made on first use. */
  #listener(dst: Ipv4Address, dport: number): Bound | null {
    const key = `${dst}:${dport}`;
    const have = this.#bound.get(key);
    if (have !== undefined) return have;
    let listener: Listener;
    try {
      listener = this.#ctx.stack.listen({ hostname: formatIpv4(dst), port: dport, backlog: 256 });
    } catch (e) {
      this.#ctx.log(
        `relay: nat: cannot listen on ${formatIpv4(dst)}:${dport}: ${(e as Error).message}`,
      );
      return null;
    }
    const b: Bound = { listener, users: 0 };
    this.#bound.set(key, b);
    this.#accept(b);
    return b;
  }

  async #accept(b: Bound): Promise<void> {
    for (;;) {
      let conn: Conn;
      try {
        conn = await b.listener.accept();
      } catch {
        return; // closed
      }
      const r = conn.remoteAddr, l = conn.localAddr;
      const key = `${ip4(r.hostname)}:${r.port}>${ip4(l.hostname)}:${l.port}`;
      const s = this.#sessions.get(key);
      if (s === undefined || s.state !== "accepting" || s.remote === null) {
        this.#abort(conn); // not a flow we set up: reset it
        continue;
      }
      s.state = "open";
      s.local = conn;
      this.#run(s, conn, s.remote);
    }
  }

  async #run(s: Session, page: Conn, remote: Deno.Conn): Promise<void> {
    const ctx = this.#ctx;
    const flow = `tcp ${formatIpv4(s.client)}:${s.sport} → ${formatIpv4(s.dst)}:${s.dport}`;
    ctx.log(`relay: nat: ${flow} open`);
    const r = await pipeBoth(page, remote, async (n, up) => {
      if (up) ctx.stats.bytesUp += n;
      else ctx.stats.bytesDown += n;
      await ctx.limits.spend(s.client, n, up);
    });
    ctx.stats.tcpActive--;
    this.#end(s);
    ctx.log(
      `relay: nat: ${flow} closed: ${r.aToB} bytes up, ${r.bToA} down${
        r.error !== undefined ? ` (${(r.error as Error).message ?? r.error})` : ""
      }`,
    );
  }

  /** Close with RST (SO_LINGER 0: abortive close). */
  #abort(conn: Conn): void {
    try {
      this.#ctx.stack.sockets.setsockopt(conn.fd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 });
    } catch { /* closing anyway */ }
    try {
      conn.close();
    } catch { /* closed */ }
  }

  /** Forget a session; close the listener when nobody uses it. */
  #end(s: Session): void {
    if (!this.#sessions.delete(s.key)) return;
    this.#ctx.limits.closeConnection(s.client);
    if (s.state === "connecting") return;
    const key = `${s.dst}:${s.dport}`;
    const b = this.#bound.get(key);
    if (b !== undefined && --b.users <= 0) {
      this.#bound.delete(key);
      try {
        b.listener.close();
      } catch { /* closed */ }
    }
  }
}

function ip4(text: string): number {
  const p = text.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** Run `f` with a signal that aborts after `ms` of `clock`; rejects with a timeout error then. */
async function withDeadline<T>(
  clock: NatContext["clock"],
  f: (signal: AbortSignal) => Promise<T>,
  ms: number,
): Promise<T> {
  const c = new AbortController();
  let timedOut = false;
  const t = clock.setTimer(ms, () => {
    timedOut = true;
    c.abort();
  });
  try {
    return await f(c.signal);
  } catch (e) {
    if (timedOut) throw new Error(`no answer within ${ms} ms`);
    throw e;
  } finally {
    clock.clearTimer(t);
  }
}
