/**
 * Turning `fetch(input, init)` arguments into what goes on the wire: the URL
 * (http: only), the method, the header fields we send and the body, either
 * bytes (sent with `Content-Length`, replayable for redirects and retries)
 * or a stream (sent chunked, RFC 9112 §7.1).
 *
 * @module
 */

/**
 * `RequestInit` plus netwasm's limits.
 *
 * @example
 * ```ts
 * import type { FetchInit } from "./request.ts";
 * const init: FetchInit = { method: "POST", body: "x=1", timeout: 5000, maxRedirects: 3 };
 * ```
 */
export interface FetchInit extends RequestInit {
  /** Milliseconds until the response head must have arrived (connect included); default none. */
  timeout?: number;
  /** Milliseconds the body may go without a byte; default none. */
  idleTimeout?: number;
  /** Redirects followed at most (default 20, as the Fetch standard). */
  maxRedirects?: number;
}

/** A request ready to send. */
export interface PreparedRequest {
  url: URL;
  method: string;
  headers: Headers;
  /** Bytes (replayable), a stream (sent once, chunked), or none. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  signal: AbortSignal | null;
  redirect: RequestRedirect;
}

/** Methods the Fetch standard normalizes to upper case. */
const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
/** Header fields the client owns: framing and connection management (RFC 9112 §6, §9). */
const OWNED = new Set([
  "connection",
  "content-length",
  "transfer-encoding",
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
]);

/**
 * Check and normalize the arguments of `fetch()`. Throws `TypeError` for a
 * URL that is not http:, a GET/HEAD with a body, or a bad method.
 *
 * @example
 * ```ts
 * import { prepareRequest } from "./request.ts";
 * const r = await prepareRequest("http://192.0.2.1/x", { method: "post", body: "hi" });
 * r.method; // "POST"
 * ```
 */
export async function prepareRequest(
  input: string | URL | Request,
  init: FetchInit = {},
): Promise<PreparedRequest> {
  const req = input instanceof Request ? input : null;
  let url: URL;
  try {
    url = new URL(req !== null ? req.url : String(input));
  } catch {
    throw new TypeError(`fetch: ${JSON.stringify(String(input))} is not a URL`);
  }
  checkUrl(url);
  let method = init.method ?? req?.method ?? "GET";
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) {
    throw new TypeError(`fetch: ${JSON.stringify(method)} is not a valid HTTP method`);
  }
  if (NORMALIZED.has(method.toUpperCase())) method = method.toUpperCase();
  if (method === "CONNECT" || method === "TRACE" || method === "TRACK") {
    throw new TypeError(`fetch: method ${method} is forbidden`);
  }
  const headers = new Headers(init.headers ?? req?.headers);
  let body: PreparedRequest["body"] = null;
  const rawBody = init.body !== undefined ? init.body : null;
  if (rawBody !== null) {
    if (rawBody instanceof ReadableStream) body = rawBody as ReadableStream<Uint8Array>;
    else {
      // Let the platform serialize strings, forms, blobs and buffers (and
      // pick their Content-Type), then send the bytes.
      const tmp = new Request("http://netwasm.invalid/", { method: "POST", body: rawBody });
      body = new Uint8Array(await tmp.arrayBuffer());
      const type = tmp.headers.get("content-type");
      if (type !== null && !headers.has("content-type")) headers.set("content-type", type);
    }
  } else if (req !== null && req.body !== null && init.body === undefined) {
    body = new Uint8Array(await req.arrayBuffer());
  }
  if (body !== null && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`fetch: a ${method} request cannot have a body`);
  }
  return {
    url,
    method,
    headers,
    body,
    signal: init.signal ?? req?.signal ?? null,
    redirect: init.redirect ?? req?.redirect ?? "follow",
  };
}

/** Only http: (TLS is not part of netwasm), no credentials; IPv6 literals (`http://[::1]/`) are fine. */
export function checkUrl(url: URL): void {
  if (url.protocol !== "http:") {
    throw new TypeError(
      `fetch: ${
        url.protocol.slice(0, -1)
      }: URLs are not supported, only http:// (netwasm has no TLS): ${url.href}`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError(`fetch: credentials in the URL are not supported: ${url.origin}`);
  }
}

/**
 * The request head (RFC 9112 §3): request line, `Host`, our defaults, the
 * caller's fields (less those we own) and the framing for `body`.
 *
 * @example
 * ```ts
 * import { requestHead } from "./request.ts";
 * requestHead({ url: new URL("http://files.test:8000/a?b"), method: "GET", headers: new Headers(),
 *   body: null, signal: null, redirect: "follow" }, { userAgent: "x", close: false });
 * // "GET /a?b HTTP/1.1\r\nHost: files.test:8000\r\n…"
 * ```
 */
export function requestHead(
  r: PreparedRequest,
  o: { userAgent: string; close: boolean },
): string {
  const lines = [`${r.method} ${r.url.pathname}${r.url.search} HTTP/1.1`];
  lines.push(`Host: ${r.headers.get("host") ?? r.url.host}`);
  if (!r.headers.has("user-agent")) lines.push(`User-Agent: ${o.userAgent}`);
  if (!r.headers.has("accept")) lines.push("Accept: */*");
  for (const [name, value] of r.headers) {
    if (name === "host" || OWNED.has(name)) continue;
    lines.push(`${name}: ${value}`);
  }
  if (r.body instanceof Uint8Array) lines.push(`Content-Length: ${r.body.length}`);
  else if (r.body !== null) lines.push("Transfer-Encoding: chunked");
  else if (r.method === "POST" || r.method === "PUT") lines.push("Content-Length: 0");
  if (o.close || wantsClose(r)) lines.push("Connection: close");
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * The caller asked for `Connection: close` (the one connection option a
 * caller may set): the request is the connection's last.
 *
 * @example
 * ```ts
 * import { wantsClose } from "./request.ts";
 * wantsClose({ headers: new Headers({ connection: "close" }) }); // true
 * ```
 */
export function wantsClose(r: Pick<PreparedRequest, "headers">): boolean {
  const v = r.headers.get("connection");
  return v !== null && v.split(",").some((t) => t.trim().toLowerCase() === "close");
}
