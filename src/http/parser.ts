/**
 * HTTP/1.1 message parsing for `netwasm http` and `netwasm fetch`: a typed
 * facade over the npm package `bare-http-parser` (pinned in deno.json).
 *
 * Why that parser (see the CLI section of the README): it is incremental for
 * both requests and responses, pure JavaScript (no native addon, no WASM), and
 * strict the way RFC 9112 asks — a missing `Host` on HTTP/1.1, conflicting
 * `Content-Length` / `Transfer-Encoding`, duplicate framing headers,
 * non-hex or oversized chunk sizes, bare CR/LF and over-long headers are all
 * errors, never guesses. `http-parser-js`, the best-known pure-JS parser, was
 * rejected: its chunk-size parsing is `parseInt(line, 16)`, so a chunk size of
 * `-5` sends it into an endless loop, and it takes `Content-Length: abc`
 * as NaN. llhttp has no Deno binding without a native addon or undici's
 * private WASM build.
 *
 * Body bytes come out as views into the chunk given to {@link HttpParser.push}:
 * use them before that buffer is reused.
 *
 * @module
 */
// First: capture the web MessageChannel before the npm package replaces it.
import { WEB_MESSAGE_CHANNEL } from "./_web_message_channel.ts";
import { Buffer } from "node:buffer";
import BareHttpParser from "bare-http-parser";

// Loading the package swapped the global MessageChannel for Node's, whose
// messages overtake pending promise callbacks (see _web_message_channel.ts).
if (globalThis.MessageChannel !== WEB_MESSAGE_CHANNEL) {
  globalThis.MessageChannel = WEB_MESSAGE_CHANNEL;
}

/** Header fields by lower-case name; `set-cookie` is the one list. */
export type HttpHeaders = Readonly<Record<string, string | readonly string[]>>;

/** The start of a request: its line and header section. */
export interface HttpRequestHead {
  readonly type: "request";
  readonly method: string;
  /** The request target as sent (`/path?query`, or absolute-form). */
  readonly url: string;
  readonly version: "HTTP/1.0" | "HTTP/1.1";
  readonly headers: HttpHeaders;
}

/** The start of a response: its status line and header section. */
export interface HttpResponseHead {
  readonly type: "response";
  readonly version: "HTTP/1.0" | "HTTP/1.1";
  readonly status: number;
  readonly reason: string;
  readonly headers: HttpHeaders;
}

/** What parsing a chunk produced, in order. */
export type HttpEvent =
  | HttpRequestHead
  | HttpResponseHead
  /** Body bytes (a view into the pushed chunk: dechunked, framing removed). */
  | { readonly type: "data"; readonly data: Uint8Array }
  /** The message is complete (its whole body was seen). */
  | { readonly type: "end" };

/** Why a message was rejected. */
export type HttpParseErrorCode =
  | "INVALID_MESSAGE"
  | "INVALID_HEADER"
  | "HEADER_OVERFLOW"
  | "INVALID_METHOD"
  | "INVALID_CONTENT_LENGTH"
  | "INVALID_CHUNK_LENGTH";

/**
 * A malformed or truncated message. After one, the parser is done: the
 * connection it read from cannot be parsed further.
 *
 * @example
 * ```ts
 * import { HttpParseError, HttpParser } from "./parser.ts";
 * try {
 *   new HttpParser().push(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
 * } catch (e) {
 *   if (e instanceof HttpParseError) console.log(e.code); // "INVALID_HEADER" (no Host)
 * }
 * ```
 */
export class HttpParseError extends Error {
  /** The parser's classification. */
  readonly code: HttpParseErrorCode;
  /**
   * The events the failing call completed before the error, in order: a
   * whole message followed by junk still yields that message (handle these,
   * then treat the stream as broken).
   */
  readonly events: readonly HttpEvent[];
  constructor(code: HttpParseErrorCode, message: string, events: readonly HttpEvent[] = []) {
    super(message);
    this.code = code;
    this.events = events;
  }
  override get name(): string {
    return "HttpParseError";
  }
}

/** Options for {@link HttpParser}. */
export interface HttpParserOptions {
  /** Longest start line plus header section, in bytes (default 16 384). */
  maxHeaderSize?: number;
  /** Most header fields in one message (default 100). */
  maxHeadersCount?: number;
}

/** What the package exports (it ships no types). */
interface BareEvent {
  type: number;
  version?: "HTTP/1.0" | "HTTP/1.1";
  method?: string;
  url?: string;
  code?: number;
  reason?: string;
  headers?: Record<string, string | string[]>;
  data?: Uint8Array;
}
interface BareParser {
  push(data: Uint8Array): Iterable<BareEvent>;
  end(): Iterable<BareEvent>;
  skipBody(): void;
}
type BareParserClass = (new (opts?: object) => BareParser) & {
  constants: { REQUEST: number; RESPONSE: number; DATA: number; END: number };
};
const Impl = BareHttpParser as unknown as BareParserClass;
const { REQUEST, RESPONSE, DATA } = Impl.constants;

/**
 * An incremental HTTP/1.x parser for one connection: requests on a server,
 * responses on a client (each message says which it is). Push the bytes as
 * they arrive; call {@link HttpParser.end} at the end of the stream.
 *
 * @example
 * ```ts
 * import { HttpParser } from "./parser.ts";
 * const p = new HttpParser();
 * const bytes = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
 * for (const ev of p.push(bytes)) console.log(ev.type); // response, data, end
 * ```
 */
export class HttpParser {
  readonly #p: BareParser;

  constructor(options: HttpParserOptions = {}) {
    this.#p = new Impl({
      maxHeaderSize: options.maxHeaderSize ?? 16_384,
      maxHeadersCount: options.maxHeadersCount ?? 100,
    });
  }

  /**
   * Parse `chunk`; returns every event it completes. Throws
   * {@link HttpParseError} on malformed input (and on every call after);
   * its `events` are the ones this chunk completed before the bad bytes.
   */
  push(chunk: Uint8Array): HttpEvent[] {
    // A Buffer view over the same memory: no copy, and the package's
    // multi-chunk path (`buffer.copy`) has the Buffer methods it expects.
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    return this.#collect(() => this.#p.push(buf));
  }

  /**
   * The stream ended. Returns the end of a response that runs until the
   * connection closes (no length, not chunked); throws
   * {@link HttpParseError} if a message was cut short.
   */
  end(): HttpEvent[] {
    return this.#collect(() => this.#p.end());
  }

  /**
   * The next response has no body whatever its headers say: call before
   * pushing the answer to a HEAD request.
   */
  skipBody(): void {
    this.#p.skipBody();
  }

  #collect(run: () => Iterable<BareEvent>): HttpEvent[] {
    const out: HttpEvent[] = [];
    try {
      for (const ev of run()) out.push(convert(ev));
    } catch (e) {
      throw toParseError(e, out);
    }
    return out;
  }
}

function convert(ev: BareEvent): HttpEvent {
  switch (ev.type) {
    case REQUEST:
      return {
        type: "request",
        method: ev.method!,
        url: ev.url!,
        version: ev.version!,
        headers: ev.headers!,
      };
    case RESPONSE:
      return {
        type: "response",
        version: ev.version!,
        status: ev.code!,
        reason: ev.reason!,
        headers: ev.headers!,
      };
    case DATA: {
      // A plain Uint8Array view, not the package's Buffer: Buffer#slice()
      // is a view too, and a caller that slices to keep a copy must get one.
      const d = ev.data!;
      return { type: "data", data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
    }
    default:
      return { type: "end" };
  }
}

const CODES: readonly HttpParseErrorCode[] = [
  "INVALID_MESSAGE",
  "INVALID_HEADER",
  "HEADER_OVERFLOW",
  "INVALID_METHOD",
  "INVALID_CONTENT_LENGTH",
  "INVALID_CHUNK_LENGTH",
];

function toParseError(e: unknown, events: readonly HttpEvent[]): unknown {
  if (e instanceof HttpParseError) return e;
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string" && (CODES as readonly string[]).includes(code)) {
    // "INVALID_HEADER: Header 'Host' is missing" → the part after the code.
    const message = String((e as Error).message).replace(/^[A-Z_]+: /, "");
    return new HttpParseError(code as HttpParseErrorCode, message, events);
  }
  return e;
}

/**
 * One header's value as a single string (a list joined with ", "), or
 * undefined when absent.
 *
 * @example
 * ```ts
 * import { headerValue } from "./parser.ts";
 * headerValue({ connection: "close" }, "connection"); // "close"
 * ```
 */
export function headerValue(headers: HttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return v === undefined ? undefined : typeof v === "string" ? v : v.join(", ");
}

/**
 * Whether a comma-separated header (`Connection`) lists `token`, ignoring case.
 *
 * @example
 * ```ts
 * import { headerHasToken } from "./parser.ts";
 * headerHasToken({ connection: "keep-alive, Upgrade" }, "connection", "upgrade"); // true
 * ```
 */
export function headerHasToken(headers: HttpHeaders, name: string, token: string): boolean {
  const v = headerValue(headers, name);
  if (v === undefined) return false;
  const want = token.toLowerCase();
  return v.split(",").some((t) => t.trim().toLowerCase() === want);
}
