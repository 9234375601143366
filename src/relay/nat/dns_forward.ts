/**
 * The NAT relay's DNS forwarder: pages ask the gateway (the name server
 * their DHCP lease names) over UDP; each query is rate-limited per client
 * (over the rate: REFUSED) and forwarded to the relay host's upstream
 * servers from a fresh native socket with a fresh random ID (RFC 5452); an
 * answer must come from the server asked, carry that ID and repeat the
 * question, and goes back to the page with the page's own ID. No answer
 * from any upstream (or no upstream at all) is SERVFAIL.
 *
 * @module
 */
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import type { DatagramConn, NetAddr } from "../../api/datagram.ts";
import { DnsRcode, parseDnsMessage } from "../../dns/wire.ts";
import { sameName } from "../../dns/name.ts";
import type { NatContext } from "./context.ts";

/** An upstream name server of the relay host. */
export interface Upstream {
  readonly address: string;
  readonly port: number;
}

/**
 * Name servers from resolv.conf(5) text (IPv4 ones).
 *
 * @example
 * ```ts
 * import { upstreamsFromResolvConf } from "./dns_forward.ts";
 * upstreamsFromResolvConf("nameserver 192.0.2.53\nnameserver ::1\n"); // [{ address: "192.0.2.53", port: 53 }]
 * ```
 */
export function upstreamsFromResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (m !== null) out.push({ address: m[1]!, port: 53 });
  }
  return out;
}

/**
 * Serve DNS on `socket` (the gateway's port 53) until it is closed.
 *
 * @example
 * ```ts
 * // serveDnsForwarder(ctx, stack.listenDatagram({ hostname: "10.0.2.2", port: 53 }), upstreams);
 * ```
 */
export async function serveDnsForwarder(
  ctx: NatContext,
  socket: DatagramConn,
  upstreams: readonly Upstream[],
  timeoutMs = 4000,
): Promise<void> {
  for (;;) {
    let query: Uint8Array, from: NetAddr;
    try {
      [query, from] = await socket.receive();
    } catch {
      return; // closed
    }
    const q = parseDnsMessage(query);
    if (typeof q === "string" || q.response || q.questions.length !== 1) continue;
    ctx.stats.dnsQueries++;
    const client = ip4(from.hostname);
    if (!ctx.limits.takeDnsQuery(client)) {
      ctx.stats.dnsRefused++;
      ctx.stats.limited++;
      ctx.log(`relay: nat: dns query from ${from.hostname} refused: over the per-client rate`);
      send(socket, reply(query, DnsRcode.REFUSED), from);
      continue;
    }
    forward(ctx, query, upstreams, timeoutMs).then((answer) => {
      if (answer === null) {
        ctx.stats.dnsFailed++;
        send(socket, reply(query, DnsRcode.SERVFAIL), from);
        return;
      }
      ctx.stats.dnsForwarded++;
      send(socket, answer, from);
    });
  }
}

function send(socket: DatagramConn, data: Uint8Array, to: NetAddr): void {
  socket.send(data, to).catch(() => {});
}

/** A header-only answer with `rcode` to `query` (its ID and question kept). */
function reply(query: Uint8Array, rcode: number): Uint8Array {
  const r = query.slice();
  r[2] = (r[2]! | 0x80) & ~0x04; // QR, not AA
  r[3] = (r[3]! & 0x70) | 0x80 | rcode; // RA, RCODE
  return r;
}

/** Ask the upstreams in turn; the answer with the page's ID, or null. */
async function forward(
  ctx: NatContext,
  query: Uint8Array,
  upstreams: readonly Upstream[],
  timeoutMs: number,
): Promise<Uint8Array | null> {
  const q = parseDnsMessage(query);
  if (typeof q === "string") return null;
  const question = q.questions[0]!;
  for (const u of upstreams) {
    const id = crypto.getRandomValues(new Uint16Array(1))[0]!;
    const out = query.slice();
    out[0] = id >> 8;
    out[1] = id & 0xff;
    const answer = await new Promise<Uint8Array | null>((resolve) => {
      const s = dgram.createSocket("udp4");
      const t = ctx.clock.setTimer(timeoutMs, () => done(null));
      const done = (v: Uint8Array | null) => {
        ctx.clock.clearTimer(t);
        try {
          s.close();
        } catch { /* closed */ }
        resolve(v);
      };
      s.on("error", () => done(null));
      s.on("message", (msg: Buffer, rinfo: { address: string; port: number }) => {
        if (rinfo.address !== u.address || rinfo.port !== u.port) return;
        const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength).slice();
        const m = parseDnsMessage(bytes);
        if (typeof m === "string" || !m.response || m.id !== id) return;
        const mq = m.questions[0];
        if (
          m.questions.length !== 1 || mq === undefined || mq.type !== question.type ||
          !sameName(mq.name, question.name)
        ) return;
        bytes[0] = query[0]!;
        bytes[1] = query[1]!;
        done(bytes);
      });
      s.send(out, u.port, u.address);
    });
    if (answer !== null) return answer;
  }
  return null;
}

function ip4(text: string): number {
  const p = text.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}
