/**
 * A scripted DNS server built from a netwasm stack's own UDP and TCP: each
 * query goes to a handler that returns the replies to send (messages or raw
 * bytes, each optionally delayed on the stack's clock, or sent from another
 * port), so tests can script truncation, loss, late and forged answers.
 *
 * @module
 */
import type { Stack } from "../../src/api/stack.ts";
import type { DatagramConn, NetAddr } from "../../src/api/datagram.ts";
import type { Listener } from "../../src/api/listener.ts";
import {
  DNS_CLASS_IN,
  type DnsMessage,
  type DnsRecord,
  emitDnsMessage,
  parseDnsMessage,
} from "../../src/dns/wire.ts";

/** One reply to send. */
export interface Reply {
  /** The message (or use `bytes`). */
  message?: DnsMessage;
  /** Raw bytes instead of a message. */
  bytes?: Uint8Array;
  /** Send after this many ms of the stack's clock (default 0). */
  delayMs?: number;
  /** Send from this UDP port instead of the server's (a forgery). */
  fromPort?: number;
}

/** A query as the server saw it. */
export interface SeenQuery {
  readonly transport: "udp" | "tcp";
  readonly name: string;
  readonly type: number;
  readonly id: number;
  readonly from: NetAddr | { hostname: string; port: number };
  readonly edns: boolean;
  readonly at: number;
}

/** What the handler gets. */
export interface QueryContext {
  readonly transport: "udp" | "tcp";
  /** Queries seen so far, this one included. */
  readonly count: number;
}

export type Handler = (q: DnsMessage, ctx: QueryContext) => Reply[] | Reply | null;

/**
 * A response to `q`: same ID and question, RD copied, RA set.
 */
export function answer(
  q: DnsMessage,
  answers: readonly DnsRecord[],
  o: {
    rcode?: number;
    authorities?: readonly DnsRecord[];
    additionals?: readonly DnsRecord[];
    truncated?: boolean;
    id?: number;
    questions?: DnsMessage["questions"];
  } = {},
): DnsMessage {
  return {
    id: o.id ?? q.id,
    response: true,
    opcode: 0,
    authoritative: true,
    truncated: o.truncated ?? false,
    recursionDesired: q.recursionDesired,
    recursionAvailable: true,
    rcode: o.rcode ?? 0,
    questions: o.questions ?? q.questions,
    answers,
    authorities: o.authorities ?? [],
    additionals: o.additionals ?? [],
    edns: null,
  };
}

/** An A record. */
export function a(name: string, address: string, ttl = 300): DnsRecord {
  return { name, type: 1, class: DNS_CLASS_IN, ttl, data: { kind: "a", address } };
}
/** A CNAME record. */
export function cname(name: string, target: string, ttl = 300): DnsRecord {
  return { name, type: 5, class: DNS_CLASS_IN, ttl, data: { kind: "name", name: target } };
}
/** An SOA record for negative answers (RFC 2308). */
export function soa(zone: string, ttl: number, minimum: number): DnsRecord {
  return {
    name: zone,
    type: 6,
    class: DNS_CLASS_IN,
    ttl,
    data: {
      kind: "soa",
      mname: `ns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum,
    },
  };
}

/**
 * The server: UDP on `port` and (unless `tcp: false`) TCP on the same port.
 */
export class ScriptedDnsServer {
  readonly queries: SeenQuery[] = [];
  readonly malformed: number[] = [];
  handler: Handler;
  readonly #stack: Stack;
  readonly #udp: DatagramConn;
  readonly #tcp: Listener | null;
  readonly #others = new Map<number, DatagramConn>();
  readonly #loops: Promise<void>[] = [];
  #closed = false;

  constructor(stack: Stack, handler: Handler, o: { port?: number; tcp?: boolean } = {}) {
    this.#stack = stack;
    this.handler = handler;
    const port = o.port ?? 53;
    this.#udp = stack.listenDatagram({ port });
    this.#tcp = o.tcp === false ? null : stack.listen({ port });
    this.#loops.push(this.#udpLoop());
    if (this.#tcp !== null) this.#loops.push(this.#tcpLoop(this.#tcp));
  }

  /** Queries of `type` seen (all transports). */
  count(transport?: "udp" | "tcp"): number {
    return this.queries.filter((q) => transport === undefined || q.transport === transport).length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#udp.close();
    this.#tcp?.close();
    for (const c of this.#others.values()) c.close();
    await Promise.allSettled(this.#loops);
  }

  #record(m: DnsMessage, transport: "udp" | "tcp", from: SeenQuery["from"]): QueryContext {
    const q = m.questions[0];
    this.queries.push({
      transport,
      name: q?.name ?? "",
      type: q?.type ?? 0,
      id: m.id,
      from,
      edns: m.edns !== null,
      at: this.#stack.clock.now(),
    });
    return { transport, count: this.queries.length };
  }

  async #udpLoop(): Promise<void> {
    try {
      for await (const [data, from] of this.#udp) {
        const m = parseDnsMessage(data);
        if (typeof m === "string") {
          this.malformed.push(data.length);
          continue;
        }
        const ctx = this.#record(m, "udp", from);
        for (const r of list(this.handler(m, ctx))) this.#sendUdp(r, from);
      }
    } catch (e) {
      if (!this.#closed) throw e;
    }
  }

  #sendUdp(r: Reply, to: NetAddr): void {
    const bytes = r.bytes ?? emitDnsMessage(r.message!);
    const send = () => {
      if (this.#closed) return;
      let conn = this.#udp;
      if (r.fromPort !== undefined) {
        let c = this.#others.get(r.fromPort);
        if (c === undefined) {
          c = this.#stack.listenDatagram({ port: r.fromPort });
          this.#others.set(r.fromPort, c);
        }
        conn = c;
      }
      conn.send(bytes, to).catch(() => {});
    };
    if (r.delayMs) this.#stack.clock.setTimer(r.delayMs, send);
    else send();
  }

  async #tcpLoop(listener: Listener): Promise<void> {
    try {
      for await (const conn of listener) {
        (async () => {
          const buf = new Uint8Array(65537);
          let have = 0;
          try {
            for (;;) {
              const n = await conn.read(buf.subarray(have));
              if (n === null) break;
              have += n;
              while (have >= 2) {
                const len = (buf[0]! << 8) | buf[1]!;
                if (have < 2 + len) break;
                const m = parseDnsMessage(buf.slice(2, 2 + len));
                buf.copyWithin(0, 2 + len, have);
                have -= 2 + len;
                if (typeof m === "string") continue;
                const ctx = this.#record(m, "tcp", conn.remoteAddr);
                for (const r of list(this.handler(m, ctx))) {
                  const bytes = r.bytes ?? emitDnsMessage(r.message!);
                  const framed = new Uint8Array(2 + bytes.length);
                  framed[0] = bytes.length >> 8;
                  framed[1] = bytes.length & 0xff;
                  framed.set(bytes, 2);
                  await conn.write(framed);
                }
              }
            }
            conn.close();
          } catch {
            try {
              conn.close();
            } catch { /* closed */ }
          }
        })();
      }
    } catch (e) {
      if (!this.#closed) throw e;
    }
  }
}

function list(r: Reply[] | Reply | null): Reply[] {
  return r === null ? [] : Array.isArray(r) ? r : [r];
}
