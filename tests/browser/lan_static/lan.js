// The page side of tests/browser/lan_test.ts: netwasm stacks joined without
// a relay — over a BroadcastChannel (page ↔ page), over a MessagePort
// (page ↔ its Worker, lan_worker.js) — and the stack in a Worker used
// through WorkerStack. The test drives `globalThis.lan` with page.evaluate.
import { BroadcastChannelLink, MessagePortLink, RealClock, Stack, WorkerStack } from "/netwasm.js";

const dec = new TextDecoder();

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
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off, off + 262144));
}

async function readAll(conn, max) {
  const buf = new Uint8Array(max + 1);
  let n = 0;
  for (;;) {
    const r = await conn.read(buf.subarray(n));
    if (r === null) break;
    n += r;
    if (n > max) throw new Error(`more than ${max} bytes`);
  }
  return buf.subarray(0, n);
}

let bc = null;

/**
 * TCP buffers for bulk transfers between the page and its Worker (both
 * stacks use them). The default cap of the receive buffer (rmemMax 512 KiB,
 * sized for wire links without segmentation offload) left the sender
 * receive-window-limited for 30–40 % of the transfer (tcp_info rwndLimited);
 * on this link of 64 KiB super-segments 4 MiB is what Linux would allow.
 */
const BULK_TCP = { rmemMax: 4 << 20, wmemMax: 4 << 20 };

globalThis.lan = {
  /** Join the BroadcastChannel LAN `name` at `address`. */
  bcUp(name, address) {
    const clock = new RealClock();
    const stack = new Stack({ clock });
    const link = BroadcastChannelLink.open(name, { allocator: stack.allocator, clock });
    stack.addInterface(link, { address });
    bc = { clock, stack, link };
    return { crossOriginIsolated: globalThis.crossOriginIsolated, mac: link.mac };
  },

  /** Full-duplex exchange on the BroadcastChannel LAN (listen, or connect to host:port). */
  async bcExchange(opts) {
    const { stack } = bc;
    let conn;
    if (opts.listenPort !== undefined) {
      const listener = stack.listen({ port: opts.listenPort });
      globalThis.lanListening = true;
      conn = await listener.accept();
      listener.close();
    } else {
      await stack.ping(opts.host, { timeout: 5000 });
      conn = await stack.connect({ hostname: opts.host, port: opts.port });
    }
    const data = seeded(opts.size, opts.seed);
    const t0 = performance.now();
    const [received] = await Promise.all([
      readAll(conn, opts.size),
      writeAll(conn, data).then(() => conn.closeWrite()),
    ]);
    const ms = performance.now() - t0;
    conn.close();
    return {
      sent: await sha256(data),
      received: await sha256(received),
      receivedBytes: received.length,
      ms,
      linkStats: { ...bc.link.msgStats, rxPackets: bc.link.stats.rxPackets },
    };
  },

  async bcDown() {
    if (bc === null) return;
    await bc.stack.close();
    bc.link.close();
    bc.clock.close();
    bc = null;
  },

  /**
   * Page ↔ Worker over a MessagePort: the page's stack (192.0.2.1) sends
   * `size` seeded bytes to the Worker's (lan_worker.js, 192.0.2.2), which
   * answers with the count and sha256; or, with `fromWorker`, the Worker
   * sends and the page hashes.
   */
  async workerBulk({ size, seed, fromWorker = false }) {
    const clock = new RealClock();
    const stack = new Stack({ clock, tcp: BULK_TCP });
    const { port1, port2 } = new MessageChannel();
    const link = new MessagePortLink(port1, { allocator: stack.allocator, clock });
    stack.addInterface(link, { address: "192.0.2.1/24" });
    const worker = new Worker("./lan_worker.js", { type: "module" });
    let watch;
    const events = [];
    let notify = null;
    worker.onmessage = (e) => {
      events.push(e.data);
      notify?.();
    };
    // A Worker that fails to load or throws says so at once, not after the test's timeout.
    worker.onerror = (e) => {
      events.push({ error: `${e.message ?? e} (${e.filename ?? "?"}:${e.lineno ?? "?"})` });
      notify?.();
    };
    const next = async (pred) => {
      for (;;) {
        const i = events.findIndex((e) => pred(e) || e.error !== undefined);
        if (i >= 0) {
          const [e] = events.splice(i, 1);
          if (e.error !== undefined) throw new Error(`worker: ${e.error}`);
          return e;
        }
        await new Promise((r) => (notify = r));
      }
    };
    try {
      worker.postMessage(
        { port: port2, max: size, ...(fromWorker ? { send: size, seed } : {}) },
        [port2],
      );
      const ready = await next((e) => e.ready);
      const conn = await stack.connect({ hostname: "192.0.2.2", port: 9000 });
      // A stall (no byte acknowledged or received for 30 s, however slow the
      // machine) ends the transfer with both ends' TCP and link state.
      const stalls = [];
      let progress = -1;
      watch = setInterval(() => {
        let info = null;
        let now = progress;
        try {
          info = conn.info();
          now = info.bytesAcked + info.bytesReceived;
        } catch (e) {
          info = String(e);
        }
        if (now !== progress) {
          progress = now;
          stalls.length = 0;
          return;
        }
        stalls.push(JSON.stringify({ info, link: link.msgStats, dev: link.stats }));
        worker.postMessage({ diag: true });
        if (stalls.length >= 3) {
          const peer = events.filter((e) => e.diag !== undefined).map((e) => e.diag);
          stalled(
            new Error(
              `stalled; state every 10 s:\n${stalls.join("\n")}\nthe Worker's:\n${peer.join("\n")}`,
            ),
          );
        }
      }, 10_000);
      let stalled;
      const stall = new Promise((_, reject) => (stalled = reject));
      let result;
      if (fromWorker) {
        const t0 = performance.now();
        const got = await Promise.race([readAll(conn, size), stall]);
        const ms = performance.now() - t0;
        await conn.closeWrite();
        const sent = await next((e) => e.sent !== undefined);
        result = { bytes: got.length, sha256: await sha256(got), peerSha256: sent.sha256, ms };
      } else {
        const data = seeded(size, seed);
        const want = await sha256(data);
        const t0 = performance.now();
        await Promise.race([writeAll(conn, data), stall]);
        await conn.closeWrite();
        const reply = dec.decode(await Promise.race([readAll(conn, 4096), stall])).trim();
        const ms = performance.now() - t0;
        const [n, digest] = reply.split(" ");
        result = { bytes: Number(n), sha256: digest, peerSha256: want, ms };
      }
      conn.close();
      const done = await next((e) => e.done);
      return {
        ...result,
        engine: ready.engine,
        pageLink: {
          ...link.msgStats,
          txPackets: link.stats.txPackets,
          txBytes: link.stats.txBytes,
        },
        workerLink: done.linkStats,
      };
    } finally {
      clearInterval(watch);
      worker.terminate();
      await stack.close();
      link.close();
      clock.close();
    }
  },

  /**
   * The stack in a Worker through WorkerStack: the Worker's stack (the
   * bundle itself as the Worker) joined by a MessagePort to a stack in the
   * page that echoes; the page writes `size` seeded bytes through a
   * WorkerConn and reads them back.
   */
  async proxyEcho({ size, seed, shared }) {
    const clock = new RealClock();
    const stack = new Stack({ clock });
    const { port1, port2 } = new MessageChannel();
    const link = new MessagePortLink(port1, { allocator: stack.allocator, clock });
    stack.addInterface(link, { address: "192.0.2.1/24" });
    const listener = stack.listen({ port: 7 });
    const echo = (async () => {
      const c = await listener.accept();
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await c.read(buf);
        if (n === null) break;
        await c.write(buf.subarray(0, n));
      }
      await c.closeWrite();
      c.close();
    })();
    const ws = await WorkerStack.start({ shared });
    try {
      await ws.addInterface({ type: "port", port: port2 }, { address: "192.0.2.2/24" });
      const conn = await ws.connect({ hostname: "192.0.2.1", port: 7 });
      const data = seeded(size, seed);
      const t0 = performance.now();
      const [got] = await Promise.all([
        readAll(conn, size),
        writeAll(conn, data).then(() => conn.closeWrite()),
      ]);
      const ms = performance.now() - t0;
      conn.close();
      await echo;
      return {
        shared: ws.shared,
        engine: ws.engine,
        bytes: got.length,
        sha256: await sha256(got),
        want: await sha256(data),
        ms,
      };
    } finally {
      listener.close();
      await ws.close();
      await stack.close();
      link.close();
      clock.close();
    }
  },
};
document.getElementById("status").textContent = "ready";
