/**
 * Helpers for the HTTP tests: a pair of stacks on virtual time with the
 * `http` handler on B (192.0.2.2:80), raw exchanges from A, and response
 * parsing for assertions.
 *
 * @module
 */
import { type Pair, pair, type PairOptions, settle } from "../_util/sim.ts";
import { type HttpServerOptions, type HttpServerStats, serveHttp } from "../../src/cli/http.ts";
import type { HttpFileSource } from "../../src/cli/http_files.ts";
import { HttpParser, type HttpResponseHead } from "../../src/cli/http_parser.ts";

/** The server's address and port in these tests. */
export const SERVER = { hostname: "192.0.2.2", port: 80 } as const;

/** A pair with a running HTTP server on B. */
export interface HttpPair extends Pair {
  /** Server log lines. */
  readonly log: string[];
  /** Run `p` to completion on virtual time. */
  run<T>(p: Promise<T>, maxMs?: number): Promise<T>;
  /** Stop the server, close both stacks, check for leaks. */
  stop(): Promise<void>;
  /** The server's counters (final once `stop()` has resolved). */
  readonly stats: Promise<HttpServerStats>;
}

/** Server limits a test may set. */
export type HttpLimits = Pick<
  HttpServerOptions,
  | "idleTimeoutMs"
  | "maxConnections"
  | "maxConnectionsPerClient"
  | "headerTimeoutMs"
  | "requestTimeoutMs"
  | "quiet"
>;

/**
 * Start `serveHttp` on B with `files`.
 *
 * @example
 * ```ts
 * // const h = await httpPair(memorySource({ "/a": bytes }));
 * // const r = await h.run(exchange(h, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
 * // await h.stop();
 * ```
 */
export function httpPair(
  files: HttpFileSource,
  o: PairOptions & HttpLimits = {},
): HttpPair {
  const p = pair(o);
  const limits: HttpLimits = {};
  for (
    const k of [
      "idleTimeoutMs",
      "maxConnections",
      "maxConnectionsPerClient",
      "headerTimeoutMs",
      "requestTimeoutMs",
      "quiet",
    ] as const
  ) {
    if (o[k] !== undefined) (limits as Record<string, unknown>)[k] = o[k];
  }
  const log: string[] = [];
  const stop = new AbortController();
  const server = serveHttp(p.b, {
    port: SERVER.port,
    files,
    signal: stop.signal,
    write: (l) => log.push(l),
    ...limits,
  });
  server.catch(() => {});
  return {
    ...p,
    log,
    stats: server,
    run: (x, maxMs) => settle(p.clock, x, maxMs),
    async stop() {
      stop.abort();
      await settle(p.clock, server);
      await p.close();
    },
  };
}

/**
 * Connect from A, send `request` (text or bytes), half-close unless
 * `keepOpen`, and read everything the server sends until it closes.
 */
export async function exchange(
  p: Pair,
  request: string | Uint8Array,
  o: { halfClose?: boolean } = {},
): Promise<Uint8Array> {
  const conn = await p.a.connect(SERVER);
  try {
    await conn.write(typeof request === "string" ? new TextEncoder().encode(request) : request);
    if (o.halfClose ?? true) await conn.closeWrite();
    return await readAll(conn);
  } finally {
    conn.close();
  }
}

/** Read until the end of the stream. */
export async function readAll(
  conn: { read(p: Uint8Array): Promise<number | null> },
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
  }
  return concat(parts);
}

/** Concatenate byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A parsed response. */
export interface ParsedResponse extends HttpResponseHead {
  readonly body: Uint8Array;
  readonly text: string;
}

/**
 * Parse the responses in `bytes` (a stream from one connection);
 * `firstIsHead`: the first answers a HEAD request (no body).
 */
export function parseResponses(bytes: Uint8Array, firstIsHead = false): ParsedResponse[] {
  const parser = new HttpParser();
  const out: ParsedResponse[] = [];
  let head: HttpResponseHead | null = null;
  let body: Uint8Array[] = [];
  if (firstIsHead) parser.skipBody();
  const events = [...parser.push(bytes), ...parser.end()];
  for (const ev of events) {
    if (ev.type === "response") {
      head = ev;
      body = [];
    } else if (ev.type === "data") body.push(ev.data.slice());
    else if (head !== null) {
      const b = concat(body);
      out.push({ ...head, body: b, text: new TextDecoder().decode(b) });
      head = null;
    }
  }
  return out;
}

/** sha256 of `data` as hex. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function pattern(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
