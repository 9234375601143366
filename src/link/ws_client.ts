/**
 * `TcpWebSocket`: a WebSocket client (RFC 6455) over Deno's TCP with
 * `TCP_NODELAY`, for {@link WebSocketLink} in Deno.
 *
 * Why not Deno's own `WebSocket`: its client leaves Nagle's algorithm on,
 * and writes a frame's header and payload separately for messages of about
 * 1 KiB and more. The payload then waits for the ACK of the header, which
 * the peer's kernel delays (delayed ACK): every full-size Ethernet frame a
 * Deno client sent through a relay stalled about 40 ms (measured on
 * loopback: 44 ms per 1514-byte message, 0.2 ms with `TCP_NODELAY`), which
 * capped a TCP transfer through the relay at window ÷ 40 ms. Browsers set
 * `TCP_NODELAY` on WebSockets themselves.
 *
 * It also saves work: frames sent in one task go out in one `write`, and a
 * binary message is handed to {@link TcpWebSocket.onbinary} as a view of the
 * read buffer, without the `ArrayBuffer` and `MessageEvent` each message of
 * the web API costs (`onmessage` still works, for other users).
 *
 * Scope: the client side of RFC 6455 without extensions (no
 * permessage-deflate): the opening handshake with `Sec-WebSocket-Accept`
 * checked (§4.1), optional subprotocols (§1.9), masked frames out (§5.3, a
 * fresh key per frame), fragmented messages in (§5.4), ping answered with
 * pong (§5.5.2), the closing handshake (§7). A server that masks its
 * frames, sends a reserved opcode or RSV bit, a control frame over 125
 * bytes, or a message over `maxMessageBytes` is answered with close 1002 or
 * 1009 and the connection ends. `wss:` goes through `Deno.startTls` on the
 * same (no-delay) TCP connection.
 *
 * @module
 */

/** `readyState` values, as on `WebSocket`. */
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** RFC 6455 §1.3: appended to the key before hashing. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Largest response head read during the handshake. */
const MAX_HEAD = 16384;

/** Options for {@link TcpWebSocket}. */
export interface TcpWebSocketOptions {
  /** Subprotocols offered (`Sec-WebSocket-Protocol`). */
  protocols?: readonly string[];
  /** Largest message accepted, bytes (default 16 MiB); larger closes with 1009. */
  maxMessageBytes?: number;
  /** Extra request headers (e.g. `Authorization`, `Origin`). */
  headers?: Record<string, string>;
}

/**
 * A WebSocket client with `TCP_NODELAY` (Deno only), shaped like the web
 * `WebSocket` as far as {@link WebSocketLink} uses it.
 *
 * @example Needs a WebSocket server: not run by `deno test --doc`
 * ```ts ignore
 * import { TcpWebSocket } from "./ws_client.ts";
 * const ws = new TcpWebSocket("ws://127.0.0.1:8080/");
 * ws.onopen = () => ws.send(new Uint8Array([1, 2, 3]));
 * ws.onbinary = (bytes, at, len) => console.log(bytes.subarray(at, at + len));
 * ```
 */
export class TcpWebSocket {
  /** Only "arraybuffer" is supported (what `onmessage` hands binary messages as). */
  binaryType = "arraybuffer";
  /** The URL connected to. */
  readonly url: string;
  /** Connected. */
  onopen: ((ev: Event) => unknown) | null = null;
  /** A message arrived (binary ones only when {@link TcpWebSocket.onbinary} is null). */
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  /**
   * A binary message arrived: `bytes[at … at + len)`, valid during the call
   * only (it is the read buffer). Preferred over `onmessage` when set.
   */
  onbinary: ((bytes: Uint8Array, at: number, len: number) => void) | null = null;
  /** Closed. */
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  /** An error happened (a close event follows). */
  onerror: ((ev: Event) => unknown) | null = null;

  #state = CONNECTING;
  #protocol = "";
  #conn: ByteStream | null = null;
  #maxMessage: number;
  /** Outgoing frames not yet handed to `write`. */
  #out = new Uint8Array(65536);
  #outLen = 0;
  /** Bytes handed to `write` and not yet written. */
  #writing = 0;
  #flushing = false;
  #closeSent = false;
  #closeReceived = false;
  /** Forces the end if the server does not finish the closing handshake. */
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closeCode = 1006;
  #closeReason = "";
  #closeEmitted = false;
  /** Mask keys: xorshift32 seeded from crypto (a fresh key per frame, §5.3). */
  #rng: number;
  /** A fragmented message being assembled. */
  #frag: Uint8Array | null = null;
  #fragLen = 0;
  #fragOp = 0;

  /** Connect to `url` (`ws:` or `wss:`); events report the outcome. */
  constructor(url: string | URL, options: TcpWebSocketOptions = {}) {
    const u = new URL(url);
    if (u.protocol !== "ws:" && u.protocol !== "wss:") {
      throw new SyntaxError(`TcpWebSocket: the scheme must be ws: or wss:, not ${u.protocol}`);
    }
    this.url = u.href;
    this.#maxMessage = options.maxMessageBytes ?? 16 << 20;
    const seed = new Uint32Array(1);
    crypto.getRandomValues(seed);
    this.#rng = seed[0]! | 1;
    void this.#run(u, options);
  }

  /** `WebSocket.readyState`. */
  get readyState(): number {
    return this.#state;
  }

  /** Bytes queued or being written (frame headers included). */
  get bufferedAmount(): number {
    return this.#outLen + this.#writing;
  }

  /** The subprotocol the server chose ("" for none). */
  get protocol(): string {
    return this.#protocol;
  }

  /** Send one binary message (a text message for a string). Frames sent in one task share a write. */
  send(data: Uint8Array | ArrayBuffer | string): void {
    if (this.#state === CONNECTING) {
      throw new DOMException("TcpWebSocket: still connecting", "InvalidStateError");
    }
    if (this.#state !== OPEN) return; // like WebSocket: silently discarded once closing
    if (typeof data === "string") {
      const b = new TextEncoder().encode(data);
      this.#frame(OP_TEXT, b, 0, b.length);
    } else if (data instanceof ArrayBuffer) {
      this.#frame(OP_BINARY, new Uint8Array(data), 0, data.byteLength);
    } else {
      this.#frame(OP_BINARY, data, 0, data.length);
    }
    this.#kick();
  }

  /**
   * Send `bytes[at … at + len)` as one binary message without making a view
   * (what {@link WebSocketLink} uses).
   */
  sendBytes(bytes: Uint8Array, at: number, len: number): void {
    if (this.#state !== OPEN) return;
    this.#frame(OP_BINARY, bytes, at, len);
    this.#kick();
  }

  /** Start the closing handshake (default code 1000). */
  close(code?: number, reason?: string): void {
    if (this.#state === CLOSING || this.#state === CLOSED) return;
    if (this.#state === CONNECTING) {
      this.#closeCode = 1006;
      this.#state = CLOSING;
      this.#conn?.close();
      return;
    }
    this.#state = CLOSING;
    this.#sendClose(code ?? 1000, reason ?? "");
    // §7.1.1: the server should answer and close TCP; do not wait forever.
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      this.#conn?.close();
      this.#conn = null;
      this.#finish();
    }, 3000);
  }

  async #run(u: URL, options: TcpWebSocketOptions): Promise<void> {
    let rbuf = new Uint8Array(65536);
    let rlen = 0;
    try {
      const port = Number(u.port || (u.protocol === "wss:" ? 443 : 80));
      const hostname = u.hostname.replace(/^\[|\]$/g, "");
      const net = (globalThis as { Deno?: DenoNet }).Deno;
      if (net === undefined) throw new Error("TcpWebSocket needs Deno's TCP sockets");
      const tcp = await net.connect({ hostname, port });
      tcp.setNoDelay(true);
      let conn: ByteStream = tcp;
      if (u.protocol === "wss:") conn = await net.startTls(tcp, { hostname });
      this.#conn = conn;
      if (this.#state !== CONNECTING) throw new Error("closed while connecting");
      // §4.1: the opening handshake.
      const keyBytes = new Uint8Array(16);
      crypto.getRandomValues(keyBytes);
      const key = btoa(String.fromCharCode(...keyBytes));
      const lines = [
        `GET ${u.pathname}${u.search} HTTP/1.1`,
        `Host: ${u.host}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${key}`,
        "Sec-WebSocket-Version: 13",
      ];
      if (options.protocols !== undefined && options.protocols.length > 0) {
        lines.push(`Sec-WebSocket-Protocol: ${options.protocols.join(", ")}`);
      }
      for (const [k, v] of Object.entries(options.headers ?? {})) lines.push(`${k}: ${v}`);
      await writeAll(conn, new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
      let headEnd = -1;
      while (headEnd < 0) {
        if (rlen >= MAX_HEAD) throw new Error("handshake response head too long");
        const n = await conn.read(rbuf.subarray(rlen, MAX_HEAD));
        if (n === null) throw new Error("connection closed during the handshake");
        rlen += n;
        headEnd = findHeadEnd(rbuf, rlen);
      }
      const head = new TextDecoder().decode(rbuf.subarray(0, headEnd));
      await this.#checkHandshake(head, key, options.protocols ?? []);
      rbuf.copyWithin(0, headEnd + 4, rlen);
      rlen -= headEnd + 4;
      if (this.#state !== CONNECTING) throw new Error("closed while connecting");
      this.#state = OPEN;
      this.#fire(this.onopen, new Event("open"));
      // Frames.
      for (;;) {
        let at = 0;
        for (;;) {
          const used = this.#parse(rbuf, at, rlen);
          if (used <= 0) {
            if (used < 0) {
              // Need a bigger buffer for this frame: -used bytes in all.
              const need = -used;
              if (need - at > rbuf.length) {
                const bigger = new Uint8Array(Math.max(need - at, rbuf.length * 2));
                bigger.set(rbuf.subarray(at, rlen));
                rlen -= at;
                at = 0;
                rbuf = bigger;
              }
            }
            break;
          }
          at += used;
          if (this.#state === CLOSED) return;
        }
        if (at > 0) {
          rbuf.copyWithin(0, at, rlen);
          rlen -= at;
        }
        if (rlen === rbuf.length) {
          const bigger = new Uint8Array(rbuf.length * 2);
          bigger.set(rbuf);
          rbuf = bigger;
        }
        const n = await conn.read(rbuf.subarray(rlen));
        if (n === null) break;
        rlen += n;
      }
    } catch (e) {
      if (this.#state !== CLOSED && !this.#closeEmitted) {
        this.#fire(this.onerror, new ErrorEvent("error", { message: (e as Error).message }));
      }
    }
    this.#finish();
  }

  async #checkHandshake(head: string, key: string, offered: readonly string[]): Promise<void> {
    const [status, ...rest] = head.split("\r\n");
    if (!/^HTTP\/1\.1 101 /.test(status ?? "")) {
      throw new Error(`handshake refused: ${status}`);
    }
    const headers = new Map<string, string>();
    for (const l of rest) {
      const i = l.indexOf(":");
      if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID));
    const want = btoa(String.fromCharCode(...new Uint8Array(digest)));
    if (headers.get("sec-websocket-accept") !== want) {
      throw new Error("handshake: wrong Sec-WebSocket-Accept");
    }
    const proto = headers.get("sec-websocket-protocol") ?? "";
    if (proto !== "" && !offered.includes(proto)) {
      throw new Error(`handshake: the server chose subprotocol ${proto}, which was not offered`);
    }
    if ((headers.get("sec-websocket-extensions") ?? "") !== "") {
      throw new Error("handshake: the server chose an extension, none was offered");
    }
    this.#protocol = proto;
  }

  /**
   * Parse one frame at `buf[at …)`: bytes consumed, 0 when incomplete, or
   * −(bytes needed from `at`'s buffer start) when the frame does not fit.
   */
  #parse(buf: Uint8Array, at: number, end: number): number {
    if (end - at < 2) return 0;
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const op = b0 & 0x0f;
    let len = b1 & 0x7f;
    let hdr = 2;
    if ((b0 & 0x70) !== 0 || (b1 & 0x80) !== 0) {
      // §5.2: RSV bits without a negotiated extension; §5.1: a server must not mask.
      this.#protocolError(1002, (b1 & 0x80) !== 0 ? "masked frame from server" : "RSV bit set");
      return end - at;
    }
    if (len === 126) {
      if (end - at < 4) return 0;
      len = (buf[at + 2]! << 8) | buf[at + 3]!;
      hdr = 4;
    } else if (len === 127) {
      if (end - at < 10) return 0;
      const hi = ((buf[at + 2]! << 24) | (buf[at + 3]! << 16) | (buf[at + 4]! << 8) |
        buf[at + 5]!) >>> 0;
      const lo = ((buf[at + 6]! << 24) | (buf[at + 7]! << 16) | (buf[at + 8]! << 8) |
        buf[at + 9]!) >>> 0;
      len = hi * 4294967296 + lo;
      hdr = 10;
    }
    if (op >= OP_CLOSE && (len > 125 || !fin)) {
      this.#protocolError(1002, "bad control frame"); // §5.5
      return end - at;
    }
    if (len + this.#fragLen > this.#maxMessage) {
      this.#protocolError(1009, "message too big");
      return end - at;
    }
    if (end - at < hdr + len) {
      return hdr + len > buf.length - at ? -(hdr + len) : 0;
    }
    const p = at + hdr;
    switch (op) {
      case OP_BINARY:
      case OP_TEXT:
        if (this.#frag !== null) {
          this.#protocolError(1002, "new message inside a fragmented one");
          break;
        }
        if (fin) this.#deliver(op, buf, p, len);
        else this.#startFragments(op, buf, p, len);
        break;
      case OP_CONT:
        if (this.#frag === null) {
          this.#protocolError(1002, "continuation without a message");
          break;
        }
        this.#appendFragment(buf, p, len);
        if (fin) {
          const whole = this.#frag;
          const n = this.#fragLen;
          this.#frag = null;
          this.#fragLen = 0;
          this.#deliver(this.#fragOp, whole, 0, n);
        }
        break;
      case OP_PING:
        if (this.#state === OPEN) {
          this.#frame(OP_PONG, buf, p, len);
          this.#kick();
        }
        break;
      case OP_PONG:
        break;
      case OP_CLOSE: {
        // §7.1.5: the code is the first two bytes; 1005 when absent.
        const code = len >= 2 ? (buf[p]! << 8) | buf[p + 1]! : 1005;
        const reason = len > 2 ? new TextDecoder().decode(buf.subarray(p + 2, p + len)) : "";
        this.#closeCode = code;
        this.#closeReason = reason;
        this.#closeReceived = true;
        this.#state = CLOSING;
        if (!this.#closeSent) this.#sendClose(code === 1005 ? 1000 : code, "");
        else this.#maybeFinish();
        break;
      }
      default:
        this.#protocolError(1002, `reserved opcode ${op}`);
    }
    return hdr + len;
  }

  #deliver(op: number, buf: Uint8Array, p: number, len: number): void {
    if (this.#state !== OPEN) return;
    if (op === OP_TEXT) {
      const text = new TextDecoder().decode(buf.subarray(p, p + len));
      this.#fire(this.onmessage, new MessageEvent("message", { data: text }));
    } else if (this.onbinary !== null) {
      try {
        this.onbinary(buf, p, len);
      } catch (e) {
        reportError(e);
      }
    } else {
      const data = buf.slice(p, p + len).buffer;
      this.#fire(this.onmessage, new MessageEvent("message", { data }));
    }
  }

  #startFragments(op: number, buf: Uint8Array, p: number, len: number): void {
    this.#fragOp = op;
    this.#frag = new Uint8Array(Math.max(4096, len * 2));
    this.#fragLen = 0;
    this.#appendFragment(buf, p, len);
  }

  #appendFragment(buf: Uint8Array, p: number, len: number): void {
    let f = this.#frag!;
    if (this.#fragLen + len > f.length) {
      const bigger = new Uint8Array(Math.max(f.length * 2, this.#fragLen + len));
      bigger.set(f.subarray(0, this.#fragLen));
      this.#frag = f = bigger;
    }
    f.set(buf.subarray(p, p + len), this.#fragLen);
    this.#fragLen += len;
  }

  #protocolError(code: number, why: string): void {
    this.#closeCode = code;
    this.#closeReason = why;
    if (!this.#closeSent) this.#sendClose(code, why);
    this.#state = CLOSING;
    this.#conn?.close(); // stop reading: what follows is not trusted
    this.#conn = null;
    this.#finish();
  }

  #sendClose(code: number, reason: string): void {
    this.#closeSent = true;
    const r = new TextEncoder().encode(reason).subarray(0, 123);
    const payload = new Uint8Array(2 + r.length);
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    payload.set(r, 2);
    this.#frame(OP_CLOSE, payload, 0, payload.length);
    this.#kick();
  }

  /** Append one masked frame (§5.2, §5.3) to the outgoing buffer. */
  #frame(op: number, src: Uint8Array, at: number, len: number): void {
    const hdr = len < 126 ? 6 : len < 65536 ? 8 : 14;
    const need = this.#outLen + hdr + len;
    if (need > this.#out.length) {
      let size = this.#out.length * 2;
      while (size < need) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.#out.subarray(0, this.#outLen));
      this.#out = bigger;
    }
    const o = this.#out;
    let w = this.#outLen;
    o[w++] = 0x80 | op;
    if (len < 126) {
      o[w++] = 0x80 | len;
    } else if (len < 65536) {
      o[w++] = 0x80 | 126;
      o[w++] = len >> 8;
      o[w++] = len & 0xff;
    } else {
      o[w++] = 0x80 | 127;
      o[w++] = 0;
      o[w++] = 0;
      o[w++] = 0;
      o[w++] = 0;
      o[w++] = (len >>> 24) & 0xff;
      o[w++] = (len >> 16) & 0xff;
      o[w++] = (len >> 8) & 0xff;
      o[w++] = len & 0xff;
    }
    let x = this.#rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#rng = x;
    const m0 = x & 0xff, m1 = (x >>> 8) & 0xff, m2 = (x >>> 16) & 0xff, m3 = x >>> 24;
    o[w++] = m0;
    o[w++] = m1;
    o[w++] = m2;
    o[w++] = m3;
    if (len > 0) {
      if (len <= 64) {
        for (let i = 0; i < len; i++) o[w + i] = src[at + i]!;
      } else {
        o.set(src.subarray(at, at + len), w);
      }
      maskInPlace(o, w, len, x);
    }
    this.#outLen = w + len;
  }

  /** Start writing if no write is in flight. */
  #kick(): void {
    if (!this.#flushing && this.#outLen > 0 && this.#conn !== null) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    let spare = new Uint8Array(this.#out.length);
    try {
      while (this.#outLen > 0 && this.#conn !== null) {
        // Swap buffers: frames sent while this write runs go to the other one.
        const chunk = this.#out;
        const n = this.#outLen;
        this.#out = spare.length >= chunk.length ? spare : new Uint8Array(chunk.length);
        this.#outLen = 0;
        this.#writing = n;
        const conn = this.#conn;
        let done = 0;
        while (done < n) {
          done += await conn.write(chunk.subarray(done, n));
          this.#writing = n - done;
        }
        spare = chunk;
      }
    } catch {
      this.#writing = 0;
      this.#outLen = 0;
      this.#conn?.close();
      this.#conn = null;
    } finally {
      this.#flushing = false;
    }
    this.#maybeFinish();
  }

  /** Both close frames exchanged (ours written): end the connection. */
  #maybeFinish(): void {
    if (
      (this.#closeReceived && this.#closeSent && !this.#flushing && this.#outLen === 0) ||
      (this.#conn === null && !this.#flushing && this.#state !== CONNECTING)
    ) {
      this.#finish();
    }
  }

  #finish(): void {
    if (this.#closeEmitted) return;
    if (this.#flushing && this.#conn !== null) return; // the flush ends it
    this.#closeEmitted = true;
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    const wasOpen = this.#state !== CONNECTING;
    this.#state = CLOSED;
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = null;
    this.#outLen = 0;
    this.#writing = 0;
    const code = wasOpen ? this.#closeCode : 1006;
    this.#fire(
      this.onclose,
      new CloseEvent("close", {
        code,
        reason: this.#closeReason,
        wasClean: code !== 1006 && this.#closeSent,
      }),
    );
  }

  #fire<E extends Event>(h: ((ev: E) => unknown) | null, ev: E): void {
    if (h === null) return;
    try {
      h.call(this, ev);
    } catch (e) {
      reportError(e);
    }
  }
}

/**
 * XOR `len` bytes at `o[w …)` with the mask key `key` (byte 0 = low byte),
 * four bytes at a time over the aligned middle.
 */
function maskInPlace(o: Uint8Array, w: number, len: number, key: number): void {
  const end = w + len;
  let i = w;
  // Bytes up to the first 4-aligned offset (relative to the buffer start).
  const abs = o.byteOffset + i;
  const lead = Math.min(len, (4 - (abs & 3)) & 3);
  for (let k = 0; k < lead; k++, i++) o[i] = o[i]! ^ ((key >>> (8 * ((i - w) & 3))) & 0xff);
  const words = (end - i) >> 2;
  if (words > 0) {
    // The key rotated so its byte for offset (i - w) lands on the word's first byte (little-endian).
    const r = ((i - w) & 3) * 8;
    const k32 = r === 0 ? key : ((key >>> r) | (key << (32 - r))) >>> 0;
    const u32 = new Uint32Array(o.buffer, o.byteOffset + i, words);
    for (let k = 0; k < words; k++) u32[k] = u32[k]! ^ k32;
    i += words * 4;
  }
  for (; i < end; i++) o[i] = o[i]! ^ ((key >>> (8 * ((i - w) & 3))) & 0xff);
}

function findHeadEnd(b: Uint8Array, n: number): number {
  for (let i = 0; i + 3 < n; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/**
 * What this client uses of a `Deno.Conn`, typed here so that the package's
 * declarations (and the browser bundle's `.d.ts`) need no Deno types.
 */
interface ByteStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** What this client uses of the `Deno` namespace (present only in Deno). */
interface DenoNet {
  connect(o: { hostname: string; port: number }): Promise<
    ByteStream & { setNoDelay(on?: boolean): void }
  >;
  startTls(conn: ByteStream, o: { hostname: string }): Promise<ByteStream>;
}

async function writeAll(conn: ByteStream, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}
