/**
 * Shared pieces of the relay tests and bench: Deno-side stacks attached to a
 * relay by {@link WebSocketLink}, a bounded TCP bulk transfer with sha256,
 * raw HTTP requests (to see exact statuses and send paths `fetch` would
 * normalise), and a raw WebSocket client for abuse.
 *
 * @module
 */
import { Stack } from "../../src/api/stack.ts";
import type { Conn } from "../../src/api/conn.ts";
import { RealClock } from "../../src/core/clock.ts";
import { WebSocketLink, type WebSocketLinkOptions } from "../../src/link/websocket.ts";

/** A stack whose one interface is a WebSocketLink to a relay. */
export interface WsHost {
  readonly stack: Stack;
  readonly link: WebSocketLink;
  readonly clock: RealClock;
  readonly ip: string;
  close(): Promise<void>;
}

/** Connect a new stack at `ip`/24 to the relay at `url`. */
export async function wsHost(
  url: string,
  ip: string,
  options: Partial<WebSocketLinkOptions> = {},
): Promise<WsHost> {
  const clock = new RealClock();
  const stack = new Stack({ clock });
  let link: WebSocketLink;
  try {
    link = await WebSocketLink.connect(url, {
      allocator: stack.allocator,
      clock,
      reconnect: false,
      ...options,
    });
  } catch (e) {
    await stack.close();
    clock.close();
    throw e;
  }
  stack.addInterface(link, { address: `${ip}/24` });
  return {
    stack,
    link,
    clock,
    ip,
    async close() {
      await stack.close();
      link.close();
      clock.close();
    },
  };
}

/** Reject with `what` if `p` takes longer than `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        id = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(id);
  }
}

/** Hex sha256. */
export async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Deterministic pseudo-random bytes. */
export function patternBytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Read a Conn to its end. */
export async function readAll(conn: Conn, limit = 1 << 30): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  const buf = new Uint8Array(65536);
  for (;;) {
    const r = await conn.read(buf);
    if (r === null) break;
    chunks.push(buf.slice(0, r));
    n += r;
    if (n > limit) throw new Error(`readAll: more than ${limit} bytes`);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** What {@link transfer} measured. */
export interface TransferResult {
  readonly bytes: number;
  readonly seconds: number;
  readonly sentSha: string;
  readonly gotSha: string;
}

/** Send `data` from `from` to a listener on `to` (port `port`) over TCP; sha256 both ends. */
export async function transfer(
  from: Stack,
  to: { stack: Stack; ip: string },
  data: Uint8Array<ArrayBuffer>,
  options: { port?: number; timeoutMs?: number } = {},
): Promise<TransferResult> {
  const port = options.port ?? 9000;
  const listener = to.stack.listen({ port });
  try {
    const t0 = performance.now();
    const work = (async () => {
      const accepting = listener.accept();
      const client = await from.connect({ hostname: to.ip, port });
      const server = await accepting;
      const reading = readAll(server);
      for (let at = 0; at < data.length;) at += await client.write(data.subarray(at));
      await client.closeWrite();
      const got = await reading;
      server.close();
      await readAll(client); // the peer's FIN
      client.close();
      return got;
    })();
    const got = await within(work, options.timeoutMs ?? 60_000, `TCP transfer of ${data.length}`);
    const seconds = (performance.now() - t0) / 1000;
    return {
      bytes: got.length,
      seconds,
      sentSha: await sha256Hex(data),
      gotSha: await sha256Hex(got),
    };
  } finally {
    listener.close();
  }
}

/**
 * Send a raw HTTP/1.1 request to `host:port` and return the status code and
 * headers (lower-case names). With `upgrade`, a WebSocket handshake is made
 * (the connection is closed right after the status line arrives).
 */
export async function rawRequest(
  port: number,
  path: string,
  options: { headers?: Record<string, string>; upgrade?: boolean; method?: string } = {},
): Promise<{ status: number; headers: Record<string, string> }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const lines = [`${options.method ?? "GET"} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
    if (options.upgrade) {
      lines.push(
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
      );
    } else {
      lines.push("Connection: close");
    }
    for (const [k, v] of Object.entries(options.headers ?? {})) lines.push(`${k}: ${v}`);
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    let text = "";
    const buf = new Uint8Array(4096);
    const work = (async () => {
      while (!text.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    })();
    await within(work, 5000, `HTTP ${path}`);
    const [statusLine, ...rest] = text.split("\r\n\r\n")[0]!.split("\r\n");
    const headers: Record<string, string> = {};
    for (const l of rest) {
      const i = l.indexOf(":");
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    return { status: Number(statusLine?.split(" ")[1]), headers };
  } finally {
    conn.close();
  }
}

/** A raw WebSocket to the relay, open (offering `protocols`, if given). */
export async function rawSocket(url: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  ws.binaryType = "arraybuffer";
  await within(
    new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onclose = (e) => reject(new Error(`raw socket closed: ${e.code}`));
    }),
    5000,
    "raw socket open",
  );
  ws.onclose = null;
  return ws;
}

/** Close a WebSocket and wait for the close to complete (bounded). */
export async function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const done = new Promise<void>((r) => ws.addEventListener("close", () => r()));
  ws.close();
  await within(done, 5000, "socket close");
}

/** Wait (bounded) until `cond` holds, re-checking on each timer tick of `ms`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
