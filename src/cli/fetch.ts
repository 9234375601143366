/**
 * An HTTP/1.1 GET for `netwasm fetch URL` on {@link Stack.fetch}: bodies
 * framed by `Content-Length`, chunked transfer coding, or the end of the
 * connection; redirects are reported, not followed. The body goes to a sink
 * chunk by chunk (awaited, so a slow sink slows the TCP window down, never
 * memory up).
 *
 * The URL's host is an IPv4 literal, an IPv6 literal in brackets
 * (`http://[2001:db8::2]:8080/`, RFC 3986 §3.2.2) or a name, resolved by the
 * stack's resolver.
 *
 * @module
 */
import type { Stack } from "../api/stack.ts";
import { type HttpHeaders, HttpParseError } from "./http_parser.ts";

/** User agent sent. */
export const FETCH_USER_AGENT = "netwasm-fetch/0.1";
/** Default time without a byte from the server before giving up. */
export const DEFAULT_FETCH_IDLE_MS = 30_000;

/** What a URL asks for, checked. */
export interface FetchTarget {
  /** The server: an IPv4 address, an IPv6 address in brackets, or a name. */
  readonly hostname: string;
  readonly port: number;
  /** Path and query, as sent in the request line. */
  readonly path: string;
  /** The `Host` header (with the port unless it is 80). */
  readonly host: string;
}

/** A URL {@link parseFetchUrl} cannot use, and why. */
export class FetchUrlError extends Error {
  override get name(): string {
    return "FetchUrlError";
  }
}

/**
 * Check an `http://HOST[:port]/path` URL. Throws {@link FetchUrlError} for
 * another scheme, user info or a bad port.
 *
 * @example
 * ```ts
 * import { parseFetchUrl } from "./fetch.ts";
 * parseFetchUrl("http://192.0.2.2:8080/blob?x=1");
 * // { hostname: "192.0.2.2", port: 8080, path: "/blob?x=1", host: "192.0.2.2:8080" }
 * ```
 */
export function parseFetchUrl(url: string): FetchTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FetchUrlError(`${JSON.stringify(url)} is not a URL (e.g. http://192.0.2.2/file)`);
  }
  if (u.protocol !== "http:") {
    throw new FetchUrlError(
      `${u.protocol.slice(0, -1)}: is not supported: only http:// (netwasm has no TLS)`,
    );
  }
  if (u.username !== "" || u.password !== "") {
    throw new FetchUrlError("user:password@ in the URL is not supported");
  }
  const port = u.port === "" ? 80 : Number(u.port);
  if (!(port >= 1 && port <= 65535)) throw new FetchUrlError(`port ${u.port} is not in 1…65535`);
  return {
    hostname: u.hostname,
    port,
    path: `${u.pathname}${u.search}`,
    host: port === 80 ? u.hostname : `${u.hostname}:${port}`,
  };
}

/** Options for {@link httpGet}. */
export interface FetchOptions {
  /** Receives the body, chunk by chunk (a view: copy it to keep it). Awaited. */
  sink?: (chunk: Uint8Array) => Promise<void> | void;
  /** Progress: body bytes so far and the expected total (null if unknown). */
  onProgress?: (received: number, total: number | null) => void;
  /** Called when the response head arrives. */
  onResponse?: (status: number, reason: string, headers: HttpHeaders) => void;
  /** Abort: connect or transfer stops, the promise rejects. */
  signal?: AbortSignal;
  /** Give up after this long without a byte (default 30 s, on the stack's clock). */
  idleTimeoutMs?: number;
}

/** What a completed fetch got. */
export interface FetchResult {
  readonly status: number;
  readonly reason: string;
  readonly headers: HttpHeaders;
  /** Body bytes received (after dechunking). */
  readonly bytes: number;
  /** `Content-Length`, or null (chunked, or until close). */
  readonly contentLength: number | null;
  /** The body was chunked. */
  readonly chunked: boolean;
  /** `Location` of a 3xx response (not followed). */
  readonly location: string | null;
  /** Stack-clock milliseconds from connect to the last byte. */
  readonly elapsedMs: number;
  /** Stack-clock milliseconds until the response head (connect and request included). */
  readonly connectMs: number;
}

/**
 * The connection ended before the body was complete: fewer bytes than
 * `Content-Length`, no last chunk, or a reset in the middle.
 *
 * @example
 * ```ts
 * import { TruncatedBody } from "./fetch.ts";
 * const e = new TruncatedBody("cut short", 10, 100);
 * e.received; // 10
 * ```
 */
export class TruncatedBody extends Error {
  /** Body bytes that did arrive (and went to the sink). */
  readonly received: number;
  /** The length announced, or null. */
  readonly expected: number | null;
  constructor(message: string, received: number, expected: number | null, options?: ErrorOptions) {
    super(message, options);
    this.received = received;
    this.expected = expected;
  }
  override get name(): string {
    return "TruncatedBody";
  }
}

/** No byte arrived for too long. */
export class FetchTimeout extends Error {
  override get name(): string {
    return "FetchTimeout";
  }
}

/**
 * GET `url` over `stack` with {@link Stack.fetch} (`redirect: "manual"`: a
 * 3xx is the result, its `Location` reported). Resolves once the whole body
 * has been given to the sink, whatever the status (the caller judges it).
 * Rejects with the connection's error (`ConnectionRefused`, `TimedOut`, a
 * resolver's `NotFound`, …), an {@link HttpParseError} for a malformed
 * response, a {@link TruncatedBody}, or a {@link FetchTimeout}.
 *
 * @example Needs a link that reaches 192.0.2.2 (a TAP or a relay): not run by `deno test --doc`
 * ```ts ignore
 * import { Stack } from "../api/stack.ts";
 * import { httpGet } from "./fetch.ts";
 * const stack = new Stack(); // with an interface that reaches 192.0.2.2
 * const chunks: Uint8Array[] = [];
 * const r = await httpGet(stack, "http://192.0.2.2/index.html", {
 *   sink: (c) => void chunks.push(c.slice()),
 * });
 * console.log(r.status, r.bytes);
 * ```
 */
export async function httpGet(
  stack: Stack,
  url: string | FetchTarget,
  options: FetchOptions = {},
): Promise<FetchResult> {
  const target = typeof url === "string" ? parseFetchUrl(url) : url;
  const clock = stack.clock;
  const t0 = clock.now();
  const idleMs = options.idleTimeoutMs ?? DEFAULT_FETCH_IDLE_MS;
  const timeoutError = () =>
    new FetchTimeout(`no answer from ${target.host} for ${idleMs / 1000} s`);
  let res: Response;
  try {
    res = await stack.fetch(`http://${target.host}${target.path}`, {
      redirect: "manual",
      timeout: idleMs,
      idleTimeout: idleMs,
      // One request, then the process ends: say so (RFC 9112 §9.6).
      headers: { "user-agent": FETCH_USER_AGENT, connection: "close" },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    if (options.signal?.aborted) throw options.signal.reason ?? e;
    throw unwrap(e, timeoutError);
  }
  const headMs = clock.now() - t0;
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  const cl = res.headers.get("content-length");
  const contentLength = cl === null ? null : Number(cl);
  const chunked = res.headers.get("transfer-encoding") !== null;
  options.onResponse?.(res.status, res.statusText, headers);
  options.onProgress?.(0, contentLength);
  let bytes = 0;
  if (res.body !== null) {
    const reader = res.body.getReader();
    try {
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          if (options.signal?.aborted) throw options.signal.reason ?? e;
          const inner = unwrap(e, timeoutError);
          if (inner instanceof FetchTimeout) throw inner;
          throw new TruncatedBody(
            `the body ended after ${bytes} of ${
              contentLength ?? (chunked ? "a chunked" : "?")
            } bytes: ${(e as Error).message}`,
            bytes,
            contentLength,
            { cause: e },
          );
        }
        if (r.done) break;
        bytes += r.value.length;
        await options.sink?.(r.value);
        options.onProgress?.(bytes, contentLength);
      }
    } finally {
      reader.releaseLock();
    }
  }
  return {
    status: res.status,
    reason: res.statusText,
    headers,
    bytes,
    contentLength,
    chunked,
    location: res.status >= 300 && res.status < 400 ? res.headers.get("location") : null,
    elapsedMs: clock.now() - t0,
    connectMs: headMs,
  };
}

/**
 * The error under `stack.fetch`'s TypeError: the socket or resolver error,
 * the parser's error, or a {@link FetchTimeout} for a timeout.
 */
function unwrap(e: unknown, timeout: () => FetchTimeout): unknown {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur instanceof Error; i++) {
    if ((cur as { code?: string }).code === "ETIMEDOUT" && cur.message.startsWith("fetch ")) {
      return timeout();
    }
    if (cur instanceof HttpParseError) return cur;
    if (!(cur instanceof TypeError) || cur.cause === undefined) return cur;
    cur = cur.cause;
  }
  return cur;
}

/**
 * A throughput in human units: `"187.3 Mbit/s"`.
 *
 * @example
 * ```ts
 * import { formatRate } from "./fetch.ts";
 * formatRate(1_000_000, 1000); // "8.00 Mbit/s"
 * ```
 */
export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return "∞";
  const bits = (bytes * 8) / (ms / 1000);
  if (bits >= 1e9) return `${(bits / 1e9).toFixed(2)} Gbit/s`;
  if (bits >= 1e6) return `${(bits / 1e6).toFixed(2)} Mbit/s`;
  if (bits >= 1e3) return `${(bits / 1e3).toFixed(1)} kbit/s`;
  return `${bits.toFixed(0)} bit/s`;
}

/**
 * A byte count in human units: `"4.0 MiB"`.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./fetch.ts";
 * formatBytes(4 << 20); // "4.0 MiB"
 * ```
 */
export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
