/**
 * A static-file HTTP/1.1 server on a {@link Stack}'s `listen`: GET and HEAD,
 * `Content-Length` and `Content-Type` by extension, persistent connections
 * (HTTP/1.1 by default, `Connection: close` honoured, HTTP/1.0 only with
 * `Connection: keep-alive`), pipelined requests answered in order, files
 * streamed in chunks with the connection's backpressure.
 *
 * | request | answer |
 * |---|---|
 * | GET / HEAD of a file | 200, the file (HEAD: headers only) |
 * | no such file (or a directory without index.html) | 404 |
 * | path with `..` (or an encoded `/`) | 403 |
 * | malformed (bad start line, no Host on 1.1, bad framing) | 400, then close |
 * | headers over 16 KiB | 431, then close |
 * | POST, PUT, DELETE, CONNECT, … | 405 with `Allow: GET, HEAD`, then close |
 * | a method the parser does not know | 501, then close |
 *
 * Fairness under load (issue 15): at most `maxConnections` at once and
 * `maxConnectionsPerClient` from one address; at either cap a newcomer
 * evicts the connection that has waited longest for a request head (see
 * `http_admission.ts`) and is refused only when every connection at the cap
 * is busy with a request. A request head must be complete `headerTimeoutMs`
 * after the accept (later heads on a persistent connection: after their
 * first byte), the whole request `requestTimeoutMs` after its first byte.
 *
 * Shared by `netwasm http` (real time, on a TAP) and the demo (virtual time).
 *
 * @module
 */
import type { Stack } from "../api/stack.ts";
import type { Conn, TcpNetAddr } from "../api/conn.ts";
import type { Clock } from "../core/clock.ts";
import { contentType, type HttpFile, type HttpFileSource, resolveTarget } from "./http_files.ts";
import { type Admitted, HttpAdmission } from "./http_admission.ts";
import { serveConnections } from "./serve.ts";
import { headerHasToken, HttpParseError, HttpParser, type HttpRequestHead } from "./http_parser.ts";

/** Server name sent in `Server:`. */
export const SERVER_NAME = "netwasm";
/** Default time a persistent connection may sit idle between requests. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Default time from a request's first byte to its last (slowloris bound). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/** Default time a write may wait for the client to make room (a client that stopped reading). */
export const DEFAULT_WRITE_TIMEOUT_MS = 60_000;
/**
 * Default time from the accept to a complete first request head (Apache
 * `mod_reqtimeout` header=20): bounds a connection that sends nothing or
 * trickles its head.
 */
export const DEFAULT_HEADER_TIMEOUT_MS = 20_000;
/** Default cap on simultaneous connections. */
export const DEFAULT_MAX_CONNECTIONS = 256;
/** Default cap on simultaneous connections from one client address. */
export const DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 32;
/** How long a closing connection waits for the client's FIN (lingering close). */
const LINGER_MS = 2_000;
/** Bytes read from a file per write to the connection. */
const FILE_CHUNK = 128 * 1024;
/** Read size from the connection. */
const READ_CHUNK = 16 * 1024;

/** Options for {@link serveHttp}. */
export interface HttpServerOptions {
  /** TCP port to listen on. */
  port: number;
  /** Local address (default: all of the stack's addresses). */
  hostname?: string;
  /** The files to serve. */
  files: HttpFileSource;
  /** No line per request. */
  quiet?: boolean;
  /** Stops the server: the listener and every connection are closed, then the promise resolves. */
  signal?: AbortSignal;
  /** Where lines go (default `console.log`). */
  write?: (line: string) => void;
  /** Called once listening (e.g. to print where). */
  onListen?: (addr: TcpNetAddr) => void;
  /** Close a connection idle this long between requests (default 30 s, on the stack's clock). */
  idleTimeoutMs?: number;
  /**
   * Close a connection whose request (head and any body) is not complete
   * this long after its first byte, however steadily it trickles in
   * (default 15 s).
   */
  requestTimeoutMs?: number;
  /**
   * Close a connection whose request head is not complete this long after
   * the accept (later requests: after their first byte) (default 20 s).
   */
  headerTimeoutMs?: number;
  /** Abort a connection when one write makes no progress this long: the client stopped reading (default 60 s). */
  writeTimeoutMs?: number;
  /**
   * Connections at once (default 256). At the cap a newcomer evicts the
   * connection that has waited longest for a request head; it is refused
   * only when all are busy with a request.
   */
  maxConnections?: number;
  /** Connections at once from one client address, with the same eviction rule (default 32). */
  maxConnectionsPerClient?: number;
  /** Wall-clock time for the `Date` header (omitted without one: simulated runs). */
  date?: () => Date;
}

/** What a server did. */
export interface HttpServerStats {
  /** Connections accepted. */
  connections: number;
  /** Requests answered (any status). */
  requests: number;
  /** Body bytes sent. */
  bodyBytes: number;
  /** Responses by status code. */
  byStatus: Record<number, number>;
  /** Connections closed on accept: `maxConnections` were open, all busy. */
  refused: number;
  /** Connections closed on accept: their address had `maxConnectionsPerClient` open, all busy. */
  refusedPerClient: number;
  /** Connections waiting for a request head, closed to admit a newcomer at `maxConnections`. */
  evicted: number;
  /** The same at the newcomer's address's `maxConnectionsPerClient`. */
  evictedPerClient: number;
  /** Connections closed because a request head was not complete within `headerTimeoutMs`. */
  headerTimeouts: number;
}

function newStats(connections: number): HttpServerStats {
  return {
    connections,
    requests: 0,
    bodyBytes: 0,
    byStatus: {},
    refused: 0,
    refusedPerClient: 0,
    evicted: 0,
    evictedPerClient: 0,
    headerTimeouts: 0,
  };
}

/**
 * Serve `options.files` over HTTP until `signal` aborts. Rejects if the port
 * cannot be bound (`AddrInUse`, …).
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { memorySource } from "./http_files.ts";
 * import { serveHttp } from "./http.ts";
 * const stack = new Stack();
 * const stop = new AbortController();
 * const files = memorySource({ "/index.html": new TextEncoder().encode("<h1>hi</h1>") });
 * const done = serveHttp(stack, { port: 8080, files, signal: stop.signal });
 * stop.abort();
 * await done;
 * await stack.close();
 * ```
 */
export async function serveHttp(
  stack: Stack,
  options: HttpServerOptions,
): Promise<HttpServerStats> {
  const stats = newStats(0);
  if (options.signal?.aborted) return stats;
  const admission = new HttpAdmission({
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxPerClient: options.maxConnectionsPerClient ?? DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
  });
  const listener = stack.listen({
    port: options.port,
    ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
  });
  options.onListen?.(listener.addr);
  await serveConnections(listener, {
    signal: options.signal,
    accept(conn) {
      const c = new HttpConnection(conn, stack.clock, options, stats, admission);
      const r = admission.admit(c);
      Object.assign(stats, admission.stats);
      // Over a cap with every connection busy: refuse at once rather than queue.
      if (r === "refused" || r === "refused_per_client") return null;
      stats.connections++;
      const release = () => admission.release(c);
      return { abort: () => c.abort(), done: c.serve().finally(release) };
    },
  });
  return stats;
}

/**
 * Serve one accepted connection until the client closes it, asks to, goes
 * idle, or sends something malformed. Never rejects.
 *
 * @example
 * ```ts
 * // for await (const conn of stack.listen({ port: 80 })) {
 * //   serveHttpConnection(conn, stack.clock, { files });
 * // }
 * ```
 */
export function serveHttpConnection(
  conn: Conn,
  clock: Clock,
  options: Omit<HttpServerOptions, "port" | "hostname" | "signal" | "onListen">,
): Promise<HttpServerStats> {
  const stats = newStats(1);
  return new HttpConnection(conn, clock, options, stats, null).serve().then(() => stats);
}

/** A response about to be written. */
interface Reply {
  status: number;
  headers: [string, string][];
  /** A short body (error pages); files are streamed separately. */
  body?: Uint8Array;
  close: boolean;
}

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
};

const encoder = new TextEncoder();

/** One connection's request loop. */
class HttpConnection implements Admitted {
  readonly #conn: Conn;
  readonly #clock: Clock;
  readonly #o: Omit<HttpServerOptions, "port" | "hostname" | "signal" | "onListen">;
  readonly #stats: HttpServerStats;
  readonly #admission: HttpAdmission | null;
  readonly #peer: string;
  readonly client: string;
  #closed = false;
  /** When the request being received must be complete (clock ms), or null between requests. */
  #deadline: number | null = null;
  /** When the request head being received must be complete (clock ms), or null. */
  #headDeadline: number | null;

  constructor(
    conn: Conn,
    clock: Clock,
    options: Omit<HttpServerOptions, "port" | "hostname" | "signal" | "onListen">,
    stats: HttpServerStats,
    admission: HttpAdmission | null,
  ) {
    this.#conn = conn;
    this.#clock = clock;
    this.#o = options;
    this.#stats = stats;
    this.#admission = admission;
    this.client = conn.remoteAddr.hostname;
    const h = conn.remoteAddr.hostname;
    this.#peer = `${h.includes(":") ? `[${h}]` : h}:${conn.remoteAddr.port}`;
    // The first head's clock runs from the accept: a connection that sends
    // nothing holds its slot no longer than one that trickles.
    this.#headDeadline = clock.now() + this.#headerMs;
  }

  get #headerMs(): number {
    return this.#o.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
  }

  /** Evicted by admission to make room for a newcomer (it was waiting for a head). */
  evict(): void {
    if (!this.#o.quiet) this.#write(`${this.#peer} evicted (waiting for a request head)`);
    this.abort();
  }

  /** Close at once (server shutdown): pending reads and writes fail. */
  abort(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async serve(): Promise<void> {
    const parser = new HttpParser();
    const buf = new Uint8Array(READ_CHUNK);
    const queue: HttpRequestHead[] = [];
    let current: HttpRequestHead | null = null;
    let rejected: Reply | null = null;
    const requestMs = this.#o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    try {
      for (;;) {
        while (queue.length === 0) {
          if (rejected !== null) {
            await this.#send(rejected, null);
            return;
          }
          const n = await this.#readIdle(buf);
          if (n === null) return; // the client closed (or went idle/too slow): done
          let events;
          try {
            events = parser.push(buf.subarray(0, n));
          } catch (e) {
            if (!(e instanceof HttpParseError)) throw e;
            // Answer the good requests before the bad bytes first, in order.
            events = e.events;
            rejected = rejectParse(e);
          }
          // A request is in progress unless this chunk ended exactly at the
          // end of one: its clock runs from its first byte, not the last.
          const inProgress = !(events.length > 0 && events[events.length - 1]!.type === "end");
          if (!inProgress) this.#deadline = null;
          else this.#deadline ??= this.#clock.now() + requestMs;
          for (const ev of events) {
            if (ev.type === "request") {
              current = ev;
              // A complete head: no longer evictable, no head deadline.
              this.#headDeadline = null;
              this.#admission?.busy(this);
            } else if (ev.type === "end" && current !== null) {
              queue.push(current);
              current = null;
            }
            // Request bodies (a POST answered 405) are read and dropped.
          }
          // The next head has begun (its first bytes are in): its clock starts.
          if (inProgress && current === null) {
            this.#headDeadline ??= this.#clock.now() + this.#headerMs;
          }
        }
        const req = queue.shift()!;
        if (!await this.#respond(req)) return;
        // Time spent answering is not the client's: a request still being
        // received starts its allowance again.
        const now = this.#clock.now();
        if (this.#deadline !== null) this.#deadline = now + requestMs;
        if (this.#headDeadline !== null) this.#headDeadline = now + this.#headerMs;
        // Nothing complete left to answer: waiting for a head again (evictable).
        if (queue.length === 0 && current === null) this.#admission?.waiting(this);
      }
    } catch {
      // Reset, timeout, or closed under us: nothing left to answer.
    } finally {
      // Closing: may be evicted while it lingers.
      this.#admission?.waiting(this);
      await this.#finish();
    }
  }

  /** Answer one request; false when the connection must close after it. */
  async #respond(req: HttpRequestHead): Promise<boolean> {
    const close = wantsClose(req);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return await this.#send(
        // Closing after a refused method keeps us in step with the client:
        // the parser hands the rest of a CONNECT stream over as a tunnel.
        errorReply(405, `${req.method} is not supported here: only GET and HEAD`, true, [
          ["Allow", "GET, HEAD"],
        ]),
        req,
      );
    }
    const target = resolveTarget(req.url);
    if (!Array.isArray(target)) {
      return await this.#send(errorReply(target.status, target.reason, close), req);
    }
    const file = await this.#o.files.open(target);
    if (file === null) {
      return await this.#send(errorReply(404, `${req.url} was not found`, close), req);
    }
    try {
      const reply: Reply = {
        status: 200,
        headers: [
          ["Content-Type", contentType(file.name)],
          ["Content-Length", String(file.size)],
        ],
        close,
      };
      const head = this.#head(reply);
      this.#count(reply.status);
      this.#log(req, 200, req.method === "HEAD" ? 0 : file.size);
      if (req.method === "HEAD") {
        await this.#writeTimed(head);
        return !close;
      }
      await this.#streamFile(head, file);
      return !close;
    } finally {
      file.close();
    }
  }

  /** The head and then the file, in chunks: each write waits for send-buffer space. */
  async #streamFile(head: Uint8Array, file: HttpFile): Promise<void> {
    // The head travels with the first chunk: one write, no small segment.
    // write() resolves once the bytes are copied into the send buffer, so
    // the buffer is free again after each await.
    const buf = new Uint8Array(head.length + FILE_CHUNK);
    buf.set(head);
    let fill = head.length;
    let headLeft = head.length;
    let left = file.size;
    while (left > 0) {
      const n = await file.read(buf.subarray(fill, Math.min(buf.length, fill + left)));
      if (n === null) break;
      fill += n;
      left -= n;
      if (fill === buf.length || left === 0) {
        await this.#writeTimed(buf.subarray(0, fill));
        this.#stats.bodyBytes += fill - headLeft;
        fill = headLeft = 0;
      }
    }
    if (fill > 0) {
      await this.#writeTimed(buf.subarray(0, fill));
      this.#stats.bodyBytes += fill - headLeft;
    }
    // The file shrank while being sent: the body cannot be completed, and
    // closing makes the short body visible to the client as one.
    if (left > 0) throw new Error("the file is shorter than its Content-Length");
  }

  /** Write a reply with a short body; false when the connection closes after it. */
  async #send(reply: Reply, req: HttpRequestHead | null): Promise<boolean> {
    this.#count(reply.status);
    if (req !== null) this.#log(req, reply.status, reply.body?.length ?? 0);
    else if (!this.#o.quiet) this.#write(`${this.#peer} (malformed request) ${reply.status}`);
    const head = this.#head(reply);
    const body = req?.method === "HEAD" ? EMPTY : reply.body ?? EMPTY;
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    await this.#writeTimed(out);
    this.#stats.bodyBytes += body.length;
    return !reply.close;
  }

  #head(reply: Reply): Uint8Array {
    const lines = [`HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? "Unknown"}`];
    if (this.#o.date) lines.push(`Date: ${this.#o.date().toUTCString()}`);
    lines.push(`Server: ${SERVER_NAME}`);
    for (const [k, v] of reply.headers) lines.push(`${k}: ${v}`);
    if (reply.close) lines.push("Connection: close");
    return encoder.encode(lines.join("\r\n") + "\r\n\r\n");
  }

  /**
   * Write, aborting the connection when the write makes no progress for the
   * write timeout (the client stopped reading): the caller's write rejects
   * and its file is closed on the way out.
   */
  async #writeTimed(data: Uint8Array): Promise<void> {
    // write() may take fewer bytes than offered (as Deno.Conn's may): loop
    // until all are queued, or the body arrives short and the client waits
    // for the rest forever (seen under memory pressure).
    for (let at = 0; at < data.length;) {
      const timer = this.#clock.setTimer(
        this.#o.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS,
        () => this.abort(),
      );
      try {
        at += await this.#conn.write(data.subarray(at));
      } finally {
        this.#clock.clearTimer(timer);
      }
    }
  }

  /**
   * Read with the idle timeout, or the request or head deadline when one
   * is running and comes first: null at the client's FIN or when any ran
   * out (the connection is then closed).
   */
  async #readIdle(buf: Uint8Array): Promise<number | null> {
    let idle = false;
    const now = this.#clock.now();
    let wait = this.#o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (this.#deadline !== null) wait = Math.min(wait, this.#deadline - now);
    // Counted when the head deadline is what ends the wait.
    const head = this.#headDeadline !== null && this.#headDeadline - now <= wait;
    if (head) wait = this.#headDeadline! - now;
    if (wait <= 0) {
      if (head) this.#stats.headerTimeouts++;
      this.abort();
      return null;
    }
    const timer = this.#clock.setTimer(wait, () => {
      idle = true;
      if (head) this.#stats.headerTimeouts++;
      this.abort();
    });
    try {
      return await this.#conn.read(buf);
    } catch (e) {
      if (idle) return null;
      throw e;
    } finally {
      this.#clock.clearTimer(timer);
    }
  }

  /**
   * Close after the last response: FIN first, then wait (bounded) for the
   * client's FIN so a request it already sent cannot turn our close into an
   * RST that destroys the response in its receive buffer (RFC 9112 §9.6).
   */
  async #finish(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#conn.closeWrite();
      const timer = this.#clock.setTimer(LINGER_MS, () => this.abort());
      try {
        const sink = new Uint8Array(READ_CHUNK);
        while (!this.#closed && await this.#conn.read(sink) !== null) { /* drain */ }
      } finally {
        this.#clock.clearTimer(timer);
      }
    } catch { /* reset or aborted: closing anyway */ }
    this.abort();
  }

  #count(status: number): void {
    this.#stats.requests++;
    this.#stats.byStatus[status] = (this.#stats.byStatus[status] ?? 0) + 1;
  }

  #log(req: HttpRequestHead, status: number, bytes: number): void {
    if (this.#o.quiet) return;
    this.#write(`${this.#peer} "${req.method} ${req.url} ${req.version}" ${status} ${bytes}`);
  }

  #write(line: string): void {
    (this.#o.write ?? ((l: string) => console.log(l)))(line);
  }
}

const EMPTY = new Uint8Array(0);

/** HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only if asked to keep it. */
function wantsClose(req: HttpRequestHead): boolean {
  if (headerHasToken(req.headers, "connection", "close")) return true;
  return req.version === "HTTP/1.0" && !headerHasToken(req.headers, "connection", "keep-alive");
}

function errorReply(
  status: number,
  text: string,
  close: boolean,
  extra: [string, string][] = [],
): Reply {
  const body = encoder.encode(`${status} ${REASONS[status] ?? ""}: ${text}\n`);
  return {
    status,
    headers: [
      ...extra,
      ["Content-Type", "text/plain; charset=utf-8"],
      ["Content-Length", String(body.length)],
    ],
    body,
    close,
  };
}

/** The answer to a request the parser rejected; the connection closes after it. */
function rejectParse(e: HttpParseError): Reply {
  switch (e.code) {
    case "HEADER_OVERFLOW":
      return errorReply(431, e.message, true);
    case "INVALID_METHOD":
      return errorReply(501, e.message, true);
    default:
      return errorReply(400, e.message, true);
  }
}
