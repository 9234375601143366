// The page side of tests/browser/e2e_test.ts: a netwasm stack in the page,
// joined to the relay that served it (WebSocketLink), with bulk TCP
// operations the test drives through page.evaluate (`globalThis.e2e`).
// Every operation returns sizes, sha256 digests (crypto.subtle) and times.
import { Stack, WebSocketLink } from "/netwasm.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
let stack = null;
let link = null;

/** Hex sha256 of `bytes`. */
async function sha256(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `size` bytes from a seeded xorshift32 (the same generator as the test's). */
function seeded(size, seed) {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >>> 2);
  let x = (seed >>> 0) || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = i & 0xff;
  return out;
}

async function writeAll(conn, bytes) {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Read until EOF into a buffer of at most `max` bytes (throws beyond). */
async function readAll(conn, max) {
  const buf = new Uint8Array(max);
  let n = 0;
  for (;;) {
    if (n === max) {
      const extra = await conn.read(new Uint8Array(1));
      if (extra === null) break;
      throw new Error(`more than ${max} bytes`);
    }
    const r = await conn.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  return buf.subarray(0, n);
}

function headerEnd(b) {
  for (let i = 0; i + 3 < b.length && i < 8192; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i + 4;
  }
  return -1;
}

globalThis.e2e = {
  /** Join the relay that served this page with one interface at `address` (ADDR/LEN). */
  async up(address) {
    const relay = `ws://${location.host}/`;
    stack = new Stack();
    link = await WebSocketLink.connect(relay, {
      allocator: stack.allocator,
      clock: stack.clock,
      reconnect: false,
      // Many frames per message (netwasm.batch.v1, which the relay speaks):
      // one message per frame caps the page at the browser's message rate.
      framing: "batch",
    });
    stack.addInterface(link, { address });
    document.getElementById("status").textContent = `up at ${address}`;
    return {
      engine: stack.hotPaths.kind,
      crossOriginIsolated: globalThis.crossOriginIsolated,
      batching: link.batching,
    };
  },

  /** HTTP/1.0 GET over the page's TCP; the body is kept and hashed. */
  async download(host, port, path, maxBody) {
    const conn = await stack.connect({ hostname: host, port });
    const t0 = performance.now();
    await writeAll(
      conn,
      enc.encode(`GET ${path} HTTP/1.0\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`),
    );
    const all = await readAll(conn, maxBody + 8192);
    const ms = performance.now() - t0;
    conn.close();
    const end = headerEnd(all);
    if (end < 0) throw new Error("no end of HTTP header");
    const head = dec.decode(all.subarray(0, end));
    const body = all.subarray(end);
    const h0 = performance.now();
    const digest = await sha256(body);
    return {
      status: head.split("\r\n")[0],
      head,
      bytes: body.length,
      sha256: digest,
      ms,
      hashMs: performance.now() - h0,
    };
  },

  /**
   * Send `size` seeded bytes to host:port, half-close, and read the peer's
   * reply (the receiver's digest line) until EOF.
   */
  async upload(host, port, size, seed) {
    const data = seeded(size, seed);
    const mine = await sha256(data);
    const conn = await stack.connect({ hostname: host, port });
    const t0 = performance.now();
    await writeAll(conn, data);
    await conn.closeWrite();
    const reply = dec.decode(await readAll(conn, 4096)).trim();
    const ms = performance.now() - t0;
    conn.close();
    return { bytes: size, sha256: mine, reply, ms };
  },

  /**
   * Full-duplex exchange on one connection: send `size` seeded bytes and,
   * at the same time, read the peer's bytes until EOF. `listenPort` set:
   * accept one connection on it (resolves when the exchange is done);
   * otherwise connect to host:port.
   */
  async exchange(opts) {
    let conn;
    if (opts.listenPort !== undefined) {
      const listener = stack.listen({ port: opts.listenPort });
      globalThis.e2eListening = true;
      conn = await listener.accept();
      listener.close();
    } else {
      conn = await stack.connect({ hostname: opts.host, port: opts.port });
    }
    const data = seeded(opts.size, opts.seed);
    const sent = await sha256(data);
    const t0 = performance.now();
    const [received] = await Promise.all([
      readAll(conn, opts.size),
      writeAll(conn, data).then(() => conn.closeWrite()),
    ]);
    const ms = performance.now() - t0;
    conn.close();
    return {
      sent,
      sentBytes: data.length,
      received: await sha256(received),
      receivedBytes: received.length,
      ms,
    };
  },

  /**
   * Join the relay with IPv6 only, configured by SLAAC (RFC 4862) from the
   * router advertisements on the relay's link; resolves once a global
   * address is usable, with that address as text.
   */
  async upSlaac(timeoutMs) {
    const relay = `ws://${location.host}/`;
    stack = new Stack();
    link = await WebSocketLink.connect(relay, {
      allocator: stack.allocator,
      clock: stack.clock,
      reconnect: false,
    });
    const iface = stack.addInterface(link, { slaac: true });
    const dev = stack.ipv6.devices.get(iface);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const a = dev.addrs.find((x) => x.usable && !(x.address[0] === 0xfe && x.address[1] >= 0x80));
      if (a !== undefined) {
        const words = [];
        for (let i = 0; i < 16; i += 2) {
          words.push(((a.address[i] << 8) | a.address[i + 1]).toString(16));
        }
        const address = words.join(":");
        document.getElementById("status").textContent = `up at ${address} (SLAAC)`;
        const routes = stack.ipv6.routes.describe();
        return { address, prefixLength: a.prefixLength, routes, engine: stack.hotPaths.kind };
      }
      if (performance.now() > deadline) throw new Error(`no SLAAC address within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  },

  /** `stack.fetch(url)`: the body's length and sha256, the status, the time. */
  async fetch(url) {
    const t0 = performance.now();
    const res = await stack.fetch(url);
    const body = new Uint8Array(await res.arrayBuffer());
    const ms = performance.now() - t0;
    return { status: res.status, bytes: body.length, sha256: await sha256(body), ms };
  },

  stats() {
    return link === null ? null : { ...JSON.parse(JSON.stringify(link.stats)), ...link.wsStats };
  },

  async down() {
    await stack?.close();
    link?.close();
    stack = null;
    link = null;
  },
};
document.getElementById("status").textContent = "ready";
