/**
 * One DNS exchange with one server: a query over UDP (RFC 1035 §4.2.1) from a
 * fresh socket on a random port with a random ID, or over TCP with the
 * two-byte length prefix (RFC 1035 §4.2.2, RFC 7766).
 *
 * RFC 5452 §9.1 (forgery resilience): an answer is accepted only when it
 * comes from the server's address and port, to our socket's random port
 * (the socket layer demultiplexes on it), with our ID and our question
 * (RFC 5452 §4.1, §9.1). Anything else is dropped, counted by reason, and the
 * wait goes on, so a flood of forgeries cannot end an exchange early.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { Errno } from "../core/errno.ts";
import type { RandomSource } from "../core/random.ts";
import type { DropCounters } from "../core/stats.ts";
import { connect } from "../api/conn.ts";
import { AF_INET, IPPROTO_UDP, SOCK_DGRAM } from "../socket/constants.ts";
import { errnoError } from "../socket/errors.ts";
import type { SocketLayer } from "../socket/fd_table.ts";
import { sameName } from "./name.ts";
import { DNS_CLASS_IN, type DnsMessage, emitDnsQuery, parseDnsMessage } from "./wire.ts";

/**
 * A name server: IPv4 address and port.
 *
 * @example
 * ```ts
 * import type { DnsServer } from "./transport.ts";
 * const s: DnsServer = { address: "192.0.2.1", port: 53 };
 * ```
 */
export interface DnsServer {
  /** The server's address (IPv4 or IPv6 text). */
  readonly address: string;
  /** Its UDP/TCP port (53 unless configured otherwise). */
  readonly port: number;
}

/**
 * Resolver counters (what `stack.dns.stats` shows).
 *
 * @example
 * ```ts
 * import { DnsStats } from "./transport.ts";
 * const s = new DnsStats();
 * s.udpQueries; // 0
 * ```
 */
export class DnsStats {
  /** Lookups asked of the resolver (resolveDns, connect by name). */
  lookups = 0;
  /** Queries sent over UDP (each retry counts). */
  udpQueries = 0;
  /** Queries sent over TCP. */
  tcpQueries = 0;
  /** UDP answers with TC set (then retried over TCP). */
  truncated = 0;
  /** Tries that got no acceptable answer in time. */
  timeouts = 0;
  /** Answers accepted. */
  answers = 0;
  /** Datagrams rejected as forged or stray (wrong source, ID or question). */
  rejected = 0;
  /** Answers served from the hosts map. */
  hostsHits = 0;
  /** Queries retried without EDNS after FORMERR (RFC 6891 §7). */
  ednsFallbacks = 0;
}

/** What an exchange needs from the stack. */
export interface ExchangeContext {
  readonly sockets: SocketLayer;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly drops: DropCounters;
  readonly stats: DnsStats;
}

/** One question to ask. */
export interface DnsQueryParams {
  readonly name: string;
  readonly type: number;
  /** EDNS UDP payload size to advertise, or undefined for none. */
  readonly ednsUdpSize?: number;
}

/** How an exchange ended. */
export type ExchangeResult =
  | { readonly kind: "answer"; readonly message: DnsMessage }
  | { readonly kind: "timeout" }
  /** The query could not be sent or the connection failed (no route, refused, reset). */
  | { readonly kind: "error"; readonly error: Error };

const UDP_BUFFER = 65535;

/**
 * A signal that aborts after `ms` on `clock` or when `outer` aborts;
 * `dispose()` cancels the timer.
 */
function deadline(clock: Clock, ms: number, outer: AbortSignal | undefined) {
  const c = new AbortController();
  let timedOut = false;
  const t = clock.setTimer(ms, () => {
    timedOut = true;
    c.abort();
  });
  const onOuter = () => c.abort();
  outer?.addEventListener("abort", onOuter, { once: true });
  return {
    signal: c.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clock.clearTimer(t);
      outer?.removeEventListener("abort", onOuter);
    },
  };
}

/** The user's abort, as the socket layer reports it. */
function interrupted(what: string): Error {
  return errnoError(Errno.EINTR, what, "aborted");
}

/**
 * Does `m` answer our query? RFC 5452 §9.1: same ID, and the question
 * section repeats ours (one question, same name ignoring case, type, class).
 */
function matches(m: DnsMessage, id: number, q: DnsQueryParams): string | null {
  if (!m.response) return "dns.not_a_response";
  if (m.id !== id) return "dns.wrong_id";
  const question = m.questions[0];
  if (
    m.questions.length !== 1 || question === undefined || question.type !== q.type ||
    question.class !== DNS_CLASS_IN || !sameName(question.name, q.name)
  ) {
    return "dns.wrong_question";
  }
  return null;
}

/**
 * Ask `server` over UDP from a new socket on a random ephemeral port (RFC
 * 6056 via the UDP table) with a random ID; wait up to `timeoutMs` for a
 * matching answer. Throws `Interrupted` when `signal` aborts.
 *
 * @example
 * ```ts
 * // const r = await udpExchange(ctx, { address: "192.0.2.1", port: 53 },
 * //   { name: "files.test", type: 1, ednsUdpSize: 1232 }, 2000);
 * // if (r.kind === "answer") console.log(r.message.answers);
 * ```
 */
export async function udpExchange(
  ctx: ExchangeContext,
  server: DnsServer,
  q: DnsQueryParams,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ExchangeResult> {
  const what = `DNS query to ${server.address}:${server.port}`;
  if (signal?.aborted) throw interrupted(what);
  const { sockets } = ctx;
  let fd: number;
  try {
    fd = sockets.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    sockets.bind(fd, { address: "0.0.0.0", port: 0 });
  } catch (e) {
    return { kind: "error", error: e as Error };
  }
  const id = ctx.random.nextU32() & 0xffff;
  const d = deadline(ctx.clock, timeoutMs, signal);
  try {
    const query = emitDnsQuery({
      id,
      name: q.name,
      type: q.type,
      ...(q.ednsUdpSize !== undefined ? { ednsUdpSize: q.ednsUdpSize } : {}),
    });
    ctx.stats.udpQueries++;
    try {
      await sockets.sendto(fd, query, 0, { address: server.address, port: server.port }, {
        signal: d.signal,
      });
    } catch (e) {
      if (signal?.aborted) throw interrupted(what);
      if (d.timedOut()) return { kind: "timeout" };
      return { kind: "error", error: e as Error };
    }
    const buf = new Uint8Array(UDP_BUFFER);
    for (;;) {
      let r;
      try {
        r = await sockets.recvfrom(fd, buf, 0, { signal: d.signal });
      } catch (e) {
        if (signal?.aborted) throw interrupted(what);
        if (d.timedOut()) {
          ctx.stats.timeouts++;
          return { kind: "timeout" };
        }
        return { kind: "error", error: e as Error };
      }
      // RFC 5452 §9.1: from the address and port we asked.
      if (r.from === null || r.from.address !== server.address || r.from.port !== server.port) {
        reject(ctx, "dns.wrong_source");
        continue;
      }
      const m = parseDnsMessage(buf, 0, r.bytes);
      if (typeof m === "string") {
        reject(ctx, m);
        continue;
      }
      const bad = matches(m, id, q);
      if (bad !== null) {
        reject(ctx, bad);
        continue;
      }
      ctx.stats.answers++;
      return { kind: "answer", message: m };
    }
  } finally {
    d.dispose();
    try {
      sockets.close(fd);
    } catch { /* the stack closed it */ }
  }
}

function reject(ctx: ExchangeContext, reason: string): void {
  ctx.stats.rejected++;
  ctx.drops.count(reason);
}

/**
 * Ask `server` over TCP (RFC 7766 §8: two-byte length, then the message);
 * one query per connection. Throws `Interrupted` when `signal` aborts.
 *
 * @example
 * ```ts
 * // const r = await tcpExchange(ctx, { address: "192.0.2.1", port: 53 },
 * //   { name: "big.test", type: 16 }, 4000);
 * ```
 */
export async function tcpExchange(
  ctx: ExchangeContext,
  server: DnsServer,
  q: DnsQueryParams,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ExchangeResult> {
  const what = `DNS query over TCP to ${server.address}:${server.port}`;
  if (signal?.aborted) throw interrupted(what);
  const d = deadline(ctx.clock, timeoutMs, signal);
  const id = ctx.random.nextU32() & 0xffff;
  ctx.stats.tcpQueries++;
  let conn;
  try {
    conn = await connect(ctx.sockets, {
      hostname: server.address,
      port: server.port,
      signal: d.signal,
    });
  } catch (e) {
    d.dispose();
    if (signal?.aborted) throw interrupted(what);
    if (d.timedOut()) {
      ctx.stats.timeouts++;
      return { kind: "timeout" };
    }
    return { kind: "error", error: e as Error };
  }
  const close = () => {
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  d.signal.addEventListener("abort", close, { once: true });
  try {
    const query = emitDnsQuery({ id, name: q.name, type: q.type });
    const framed = new Uint8Array(2 + query.length);
    framed[0] = query.length >>> 8;
    framed[1] = query.length & 0xff;
    framed.set(query, 2);
    await conn.write(framed);
    const len = await readExactly(conn, 2);
    if (len === null) return { kind: "error", error: new Error(`${what}: closed before a length`) };
    const n = (len[0]! << 8) | len[1]!;
    const body = await readExactly(conn, n);
    if (body === null) return { kind: "error", error: new Error(`${what}: answer cut short`) };
    const m = parseDnsMessage(body);
    if (typeof m === "string") {
      reject(ctx, m);
      return { kind: "error", error: new Error(`${what}: malformed answer (${m})`) };
    }
    const bad = matches(m, id, q);
    if (bad !== null) {
      reject(ctx, bad);
      return { kind: "error", error: new Error(`${what}: answer does not match (${bad})`) };
    }
    ctx.stats.answers++;
    return { kind: "answer", message: m };
  } catch (e) {
    if (signal?.aborted) throw interrupted(what);
    if (d.timedOut()) {
      ctx.stats.timeouts++;
      return { kind: "timeout" };
    }
    return { kind: "error", error: e as Error };
  } finally {
    d.signal.removeEventListener("abort", close);
    d.dispose();
    close();
  }
}

/** Read exactly `n` bytes, or null at an early end of stream. */
async function readExactly(
  conn: { read(p: Uint8Array): Promise<number | null> },
  n: number,
): Promise<Uint8Array | null> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n;) {
    const r = await conn.read(out.subarray(at));
    if (r === null) return null;
    at += r;
  }
  return out;
}
