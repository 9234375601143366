/**
 * `stack.fetch()`: HTTP/1.1 (RFC 9110, RFC 9112) over netwasm's TCP through
 * the public `Conn` API, returning a standard `Response`.
 *
 * - **Connections** are kept alive and reused per `host:port` (at most
 *   `maxIdlePerHost` idle ones, each closed after `idleTimeoutMs` unused).
 *   An idle connection the server closed is noticed before reuse (it polls
 *   readable); a request that fails on a reused connection before any byte of
 *   answer is retried once on a new one when it is safe to repeat (RFC 9110
 *   §9.2.2: idempotent method, replayable body).
 * - **Bodies**: responses framed by `Content-Length`, chunked, or the end of
 *   the connection (parsed by `bare-http-parser`, strict per RFC 9112); the
 *   `Response` body streams from the socket as it is read, so a slow reader
 *   closes the TCP window. Request bodies are bytes (`Content-Length`) or a
 *   `ReadableStream` (sent chunked). `gzip`/`deflate` content codings are
 *   decoded when the platform has `DecompressionStream`.
 * - **Redirects** (301, 302, 303, 307, 308) are followed up to
 *   `maxRedirects` (default 20) with the Fetch standard's method rewriting;
 *   `redirect: "manual"` returns the 3xx response, `"error"` rejects.
 * - **Aborts and timeouts**: `signal` aborts the connect, the wait for the
 *   head or the body (the stream errors with the signal's reason);
 *   `timeout` bounds the time to the response head, `idleTimeout` the gaps
 *   in the body; both end in `TimedOut`.
 * - **Errors**: network failures reject with a `TypeError` naming the URL
 *   and the cause (`fetch http://192.0.2.9/: Cannot connect to …: connection
 *   refused`), with the underlying error as `cause`, as `fetch` does.
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import { Errno } from "../core/errno.ts";
import type { Conn, ConnectOptions } from "../api/conn.ts";
import { POLLIN } from "../socket/constants.ts";
import { errnoError } from "../socket/errors.ts";
import type { SocketLayer } from "../socket/fd_table.ts";
import {
  headerHasToken,
  type HttpEvent,
  type HttpHeaders,
  HttpParseError,
  HttpParser,
  type HttpResponseHead,
} from "./parser.ts";
import {
  checkUrl,
  type FetchInit,
  type PreparedRequest,
  prepareRequest,
  requestHead,
  wantsClose,
} from "./request.ts";

export type { FetchInit } from "./request.ts";

/** What the client needs from the stack. */
export interface HttpClientDeps {
  /** `stack.connect` (names resolved through the stack's resolver). */
  connect(options: ConnectOptions): Promise<Conn>;
  readonly sockets: SocketLayer;
  readonly clock: Clock;
}

/** Options of {@link HttpClient}. */
export interface HttpClientOptions {
  /** Idle connections kept per host:port (default 6; 0 disables reuse). */
  maxIdlePerHost?: number;
  /** Close an idle connection after this long, ms (default 30 000). */
  idleTimeoutMs?: number;
  /** `User-Agent` unless the request sets one (default "netwasm-fetch/0.1"). */
  userAgent?: string;
}

/** Counters of an {@link HttpClient}. */
export interface HttpClientStats {
  /** Requests sent (each redirect hop counts; a retry on a new connection does not). */
  requests: number;
  /** New TCP connections opened. */
  connectionsOpened: number;
  /** Requests sent on a kept-alive connection. */
  connectionsReused: number;
  /** Redirects followed. */
  redirects: number;
  /** Requests repeated on a new connection after a reused one failed. */
  retries: number;
}

/** Statuses whose response has no body (RFC 9110 §15.3.5, §15.4.5; Fetch "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const READ_SIZE = 64 * 1024;
/** A redirect's body is read (to keep the connection) up to this much, else the connection is closed. */
const DRAIN_LIMIT = 64 * 1024;

interface Pooled {
  conn: Conn;
  key: string;
  timer: Timer | null;
}

/** One exchange's connection and the parser reading from it. */
interface Exchange {
  readonly conn: Conn;
  /** The request said `Connection: close`. */
  readonly last: boolean;
  readonly key: string;
  readonly parser: HttpParser;
  /** Events parsed but not yet handed out. */
  readonly pending: HttpEvent[];
  head: HttpResponseHead | null;
  ended: boolean;
  /** The connection may carry another request once this response ended. */
  reusable: boolean;
  closed: boolean;
  /**
   * Why parsing stopped (malformed or cut short). Events parsed before it
   * stay usable: a complete response followed by junk still stands.
   */
  failure: TypeError | null;
}

/**
 * The HTTP client behind `stack.fetch`.
 *
 * @example
 * ```ts
 * // const res = await stack.fetch("http://files.test:8000/blob");
 * // const bytes = new Uint8Array(await res.arrayBuffer());
 * ```
 */
export class HttpClient {
  /** Request and connection counters. */
  readonly stats: HttpClientStats = {
    requests: 0,
    connectionsOpened: 0,
    connectionsReused: 0,
    redirects: 0,
    retries: 0,
  };
  readonly #deps: HttpClientDeps;
  readonly #maxIdle: number;
  readonly #idleMs: number;
  readonly #userAgent: string;
  readonly #idle = new Map<string, Pooled[]>();
  #closed = false;

  /** A client connecting through `deps` (the stack); idle connections are pooled per host:port. */
  constructor(deps: HttpClientDeps, options: HttpClientOptions = {}) {
    this.#deps = deps;
    this.#maxIdle = options.maxIdlePerHost ?? 6;
    this.#idleMs = options.idleTimeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? "netwasm-fetch/0.1";
  }

  /** Idle connections held now. */
  get idleConnections(): number {
    let n = 0;
    for (const l of this.#idle.values()) n += l.length;
    return n;
  }

  /** Fetch `input` (see the module documentation). */
  async fetch(input: string | URL | Request, init: FetchInit = {}): Promise<Response> {
    if (this.#closed) throw new TypeError("fetch: the stack is closed");
    const req = await prepareRequest(input, init);
    const signal = req.signal;
    if (signal?.aborted) throw signal.reason;
    const maxRedirects = init.maxRedirects ?? 20;
    let redirects = 0;
    for (;;) {
      const x = await this.#exchange(req, init);
      const head = x.head!;
      const location = headerValue(head.headers, "location");
      if (REDIRECT.has(head.status) && location !== undefined && req.redirect !== "manual") {
        await this.#discard(x);
        if (req.redirect === "error") {
          throw new TypeError(
            `fetch ${req.url.href}: redirected (${head.status}) with redirect: "error"`,
          );
        }
        if (++redirects > maxRedirects) {
          throw new TypeError(`fetch ${req.url.href}: more than ${maxRedirects} redirects`);
        }
        this.stats.redirects++;
        this.#redirect(req, head.status, location);
        continue;
      }
      return this.#response(x, req, init, redirects > 0);
    }
  }

  /** Close idle connections now. */
  closeIdle(): void {
    for (const list of this.#idle.values()) {
      for (const p of list) this.#closePooled(p);
    }
    this.#idle.clear();
  }

  /** Close idle connections; later fetches fail. */
  close(): void {
    this.#closed = true;
    this.closeIdle();
  }

  /** Fetch standard §4.4 "HTTP-redirect fetch": the next request. */
  #redirect(req: PreparedRequest, status: number, location: string): void {
    let next: URL;
    try {
      next = new URL(location, req.url);
    } catch {
      throw new TypeError(`fetch ${req.url.href}: bad Location ${JSON.stringify(location)}`);
    }
    checkUrl(next);
    // 301/302 after POST and 303 (but HEAD) become GET without a body.
    if (
      ((status === 301 || status === 302) && req.method === "POST") ||
      (status === 303 && req.method !== "HEAD")
    ) {
      req.method = "GET";
      req.body = null;
      for (
        const h of ["content-type", "content-encoding", "content-language", "content-location"]
      ) {
        req.headers.delete(h);
      }
    } else if (req.body instanceof ReadableStream) {
      throw new TypeError(
        `fetch ${req.url.href}: ${status} redirect would resend a streamed body, which cannot be replayed`,
      );
    }
    // Credentials do not follow a redirect to another origin.
    if (next.origin !== req.url.origin) req.headers.delete("authorization");
    req.url = next;
  }

  /** Send the request and read the response head; retries once on a stale reused connection. */
  async #exchange(req: PreparedRequest, init: FetchInit): Promise<Exchange> {
    this.stats.requests++;
    const url = req.url;
    const key = `${url.hostname}:${url.port || "80"}`;
    const signal = req.signal;
    const deadline = init.timeout === undefined ? null : this.#deps.clock.now() + init.timeout;
    for (let attempt = 0;; attempt++) {
      const pooled = attempt === 0 ? await this.#takeIdle(key) : null;
      let conn: Conn;
      if (pooled !== null) {
        conn = pooled;
        this.stats.connectionsReused++;
      } else {
        conn = await this.#open(req, deadline);
        this.stats.connectionsOpened++;
      }
      const x: Exchange = {
        conn,
        last: wantsClose(req),
        key,
        parser: new HttpParser(),
        pending: [],
        head: null,
        ended: false,
        reusable: false,
        closed: false,
        failure: null,
      };
      if (req.method === "HEAD") x.parser.skipBody();
      let gotBytes = false;
      try {
        await this.#guard(x, url, signal, deadline, async () => {
          await this.#send(x, req);
          gotBytes = await this.#readHead(x);
        });
        return x;
      } catch (e) {
        this.#close(x);
        if (signal?.aborted) throw signal.reason;
        const replayable = !(req.body instanceof ReadableStream) && IDEMPOTENT.has(req.method);
        if (pooled !== null && !gotBytes && replayable && !isTimeout(e)) {
          this.stats.retries++;
          continue; // RFC 9112 §9.3.1: retry an idempotent request after a failed reuse
        }
        throw networkError(url, e);
      }
    }
  }

  /** A new connection (stack.connect resolves names), bounded by the signal and the deadline. */
  async #open(req: PreparedRequest, deadline: number | null): Promise<Conn> {
    const url = req.url;
    const stop = new AbortController();
    const clock = this.#deps.clock;
    let timedOut = false;
    const timer = deadline === null
      ? null
      : clock.setTimer(Math.max(0, deadline - clock.now()), () => {
        timedOut = true;
        stop.abort();
      });
    const onAbort = () => stop.abort();
    req.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.#deps.connect({
        hostname: url.hostname,
        port: Number(url.port || 80),
        signal: stop.signal,
      });
    } catch (e) {
      if (req.signal?.aborted) throw req.signal.reason;
      if (timedOut) throw timeoutError(url, "no connection");
      throw networkError(url, e);
    } finally {
      if (timer !== null) clock.clearTimer(timer);
      req.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Run `fn` with the exchange's connection closed when `signal` aborts or
   * the deadline passes (which makes pending reads and writes fail).
   */
  async #guard(
    x: Exchange,
    url: URL,
    signal: AbortSignal | null,
    deadline: number | null,
    fn: () => Promise<void>,
  ): Promise<void> {
    const clock = this.#deps.clock;
    let timedOut = false;
    const onAbort = () => this.#close(x);
    const timer = deadline === null
      ? null
      : clock.setTimer(Math.max(0, deadline - clock.now()), () => {
        timedOut = true;
        this.#close(x);
      });
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await fn();
    } catch (e) {
      if (timedOut) throw timeoutError(url, "no response head in time");
      throw e;
    } finally {
      if (timer !== null) clock.clearTimer(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async #send(x: Exchange, req: PreparedRequest): Promise<void> {
    const head = new TextEncoder().encode(
      requestHead(req, { userAgent: this.#userAgent, close: this.#maxIdle === 0 }),
    );
    const body = req.body;
    if (body instanceof Uint8Array) {
      if (body.length <= 16 * 1024) {
        const all = new Uint8Array(head.length + body.length);
        all.set(head);
        all.set(body, head.length);
        await x.conn.write(all);
      } else {
        await x.conn.write(head);
        await x.conn.write(body);
      }
      return;
    }
    await x.conn.write(head);
    if (body === null) return;
    // RFC 9112 §7.1: chunked, one chunk per piece the stream gives us.
    const reader = body.getReader();
    const enc = new TextEncoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.length === 0) continue;
        await x.conn.write(enc.encode(`${value.length.toString(16)}\r\n`));
        await x.conn.write(value);
        await x.conn.write(enc.encode("\r\n"));
      }
    } finally {
      reader.releaseLock();
    }
    await x.conn.write(enc.encode("0\r\n\r\n"));
  }

  /** Read until the response head (1xx skipped); true once any byte arrived. */
  async #readHead(x: Exchange): Promise<boolean> {
    let got = false;
    while (x.head === null) {
      const ev = x.pending.shift();
      if (ev === undefined) {
        if (x.failure !== null) throw x.failure;
        if (x.ended) throw new TypeError("the server closed the connection before a response");
        if ((await this.#fill(x)) > 0) got = true;
        continue;
      }
      if (ev.type !== "response") continue;
      if (ev.status < 200 && ev.status !== 101) continue; // 1xx: the answer follows
      if (ev.status === 101) throw new TypeError("protocol upgrades (101) are not supported");
      x.head = ev;
    }
    return got;
  }

  /**
   * Read once from the connection into the parser; returns the bytes read
   * (0 at the end of the stream, after which `ended` is set). A parse
   * failure keeps the events before it and is recorded in `failure`.
   */
  async #fill(x: Exchange): Promise<number> {
    if (x.failure !== null) throw x.failure;
    const buf = new Uint8Array(READ_SIZE);
    const n = await x.conn.read(buf);
    try {
      if (n === null) {
        x.ended = true;
        x.pending.push(...x.parser.end());
        return 0;
      }
      x.pending.push(...x.parser.push(buf.subarray(0, n)));
    } catch (e) {
      if (!(e instanceof HttpParseError)) throw e;
      x.pending.push(...e.events);
      x.failure = n === null
        ? new TypeError(`the response was cut short: ${e.message}`, { cause: e })
        : new TypeError(`malformed response: ${e.message}`, { cause: e });
    }
    return n ?? 0;
  }

  /** Read and drop a redirect's body, keeping the connection if it is short. */
  async #discard(x: Exchange): Promise<void> {
    let read = 0;
    try {
      for (;;) {
        const ev = x.pending.shift();
        if (ev === undefined) {
          if (x.ended || x.failure !== null || read > DRAIN_LIMIT) break;
          read += await this.#fill(x);
          continue;
        }
        if (ev.type === "end") {
          this.#finish(x);
          return;
        }
      }
    } catch { /* a broken redirect body only costs the connection */ }
    this.#close(x);
  }

  /** The response is complete: pool the connection if it may carry another. */
  #finish(x: Exchange): void {
    const h = x.head!;
    const keep = !x.last && !x.ended && x.failure === null && x.pending.length === 0 &&
      h.version === "HTTP/1.1" &&
      !headerHasToken(h.headers, "connection", "close") && this.#maxIdle > 0 && !this.#closed;
    if (!keep) {
      this.#close(x);
      return;
    }
    x.closed = true; // this exchange no longer owns it
    const list = this.#idle.get(x.key) ?? [];
    if (list.length >= this.#maxIdle) {
      closeQuietly(x.conn);
      return;
    }
    const p: Pooled = { conn: x.conn, key: x.key, timer: null };
    p.timer = this.#deps.clock.setTimer(this.#idleMs, () => {
      const l = this.#idle.get(p.key);
      const i = l?.indexOf(p) ?? -1;
      if (i >= 0) l!.splice(i, 1);
      this.#closePooled(p);
    });
    list.push(p);
    this.#idle.set(x.key, list);
  }

  /** The most recently used live idle connection to `key`, or null. */
  async #takeIdle(key: string): Promise<Conn | null> {
    const list = this.#idle.get(key);
    while (list !== undefined && list.length > 0) {
      const p = list.pop()!;
      if (p.timer !== null) this.#deps.clock.clearTimer(p.timer);
      // Readable while idle means the server closed it (or sent junk): not reusable.
      const fds = [{ fd: p.conn.fd, events: POLLIN, revents: 0 }];
      let stale = true;
      try {
        stale = (await this.#deps.sockets.poll(fds, 0)) > 0;
      } catch { /* closed meanwhile */ }
      if (!stale) return p.conn;
      closeQuietly(p.conn);
    }
    return null;
  }

  #closePooled(p: Pooled): void {
    if (p.timer !== null) this.#deps.clock.clearTimer(p.timer);
    p.timer = null;
    closeQuietly(p.conn);
  }

  #close(x: Exchange): void {
    if (x.closed) return;
    x.closed = true;
    closeQuietly(x.conn);
  }

  /** Wrap the exchange in a `Response` whose body streams from the connection. */
  #response(x: Exchange, req: PreparedRequest, init: FetchInit, redirected: boolean): Response {
    const head = x.head!;
    const headers = new Headers();
    for (const [name, value] of Object.entries(head.headers)) {
      for (const v of typeof value === "string" ? [value] : value) {
        try {
          headers.append(name, v);
        } catch { /* a value Headers refuses (NUL, CR, LF) is left out */ }
      }
    }
    const url = req.url;
    const signal = req.signal;
    const clock = this.#deps.clock;
    const idleMs = init.idleTimeout;
    let body: ReadableStream<Uint8Array> | null = null;
    if (NULL_BODY.has(head.status) || req.method === "HEAD") {
      // Nothing to read; the end event follows the head.
      while (x.pending.length > 0 && x.pending[0]!.type !== "end") x.pending.shift();
      if (x.pending[0]?.type === "end") {
        x.pending.shift();
        this.#finish(x);
      } else this.#close(x);
    } else {
      let timer: Timer | null = null;
      let timedOut = false;
      const stopTimer = () => {
        if (timer !== null) clock.clearTimer(timer);
        timer = null;
      };
      const onAbort = () => this.#close(x);
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        stopTimer();
        signal?.removeEventListener("abort", onAbort);
      };
      body = new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          try {
            for (;;) {
              const ev = x.pending.shift();
              if (ev !== undefined) {
                if (ev.type === "data") {
                  if (ev.data.length === 0) continue;
                  controller.enqueue(ev.data.slice());
                  return;
                }
                if (ev.type === "end") {
                  done();
                  this.#finish(x);
                  controller.close();
                  return;
                }
                continue;
              }
              if (x.failure !== null) throw x.failure;
              if (x.ended) {
                throw new TypeError("the connection ended before the body was complete");
              }
              if (idleMs !== undefined) {
                stopTimer();
                timer = clock.setTimer(idleMs, () => {
                  timedOut = true;
                  this.#close(x);
                });
              }
              await this.#fill(x);
              // The idle clock runs only while we wait for the server, never
              // while a slow reader leaves the stream unpulled.
              stopTimer();
            }
          } catch (e) {
            done();
            this.#close(x);
            if (signal?.aborted) controller.error(signal.reason);
            else if (timedOut) controller.error(timeoutError(url, `no body byte for ${idleMs} ms`));
            else controller.error(bodyError(url, e));
          }
        },
        cancel: () => {
          done();
          this.#close(x);
        },
      }, { highWaterMark: 0 });
      const coding = headerValue(head.headers, "content-encoding")?.trim().toLowerCase();
      if (
        (coding === "gzip" || coding === "deflate") && typeof DecompressionStream === "function"
      ) {
        const inflate = new DecompressionStream(coding) as unknown as TransformStream<
          Uint8Array,
          Uint8Array
        >;
        body = body.pipeThrough(inflate);
      }
    }
    const res = new Response(body, { status: head.status, statusText: head.reason, headers });
    Object.defineProperty(res, "url", { value: url.href });
    Object.defineProperty(res, "redirected", { value: redirected });
    return res;
  }
}

function headerValue(h: HttpHeaders, name: string): string | undefined {
  const v = h[name];
  return v === undefined ? undefined : typeof v === "string" ? v : v.join(", ");
}

function closeQuietly(conn: Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

function isTimeout(e: unknown): boolean {
  return (e as { code?: string })?.code === "ETIMEDOUT";
}

/** What fetch rejects with for a network failure: a TypeError naming the URL, the cause kept. */
function networkError(url: URL, e: unknown): Error {
  if (e instanceof TypeError && e.message.startsWith("fetch ")) return e;
  if (isTimeout(e) && (e as Error).message.startsWith("fetch ")) return e as Error;
  const why = e instanceof Error ? e.message : String(e);
  return new TypeError(`fetch ${url.href}: ${why}`, { cause: e });
}

function bodyError(url: URL, e: unknown): Error {
  const why = e instanceof Error ? e.message : String(e);
  return new TypeError(`fetch ${url.href}: reading the body failed: ${why}`, { cause: e });
}

function timeoutError(url: URL, what: string): Error {
  return errnoError(Errno.ETIMEDOUT, `fetch ${url.href}`, what);
}
