// The Worker side of lan.js's page ↔ Worker test: a netwasm stack of its own
// (192.0.2.2), joined to the page's stack by a MessagePortLink over the port
// the page transfers. It serves one TCP connection on 9000: reads to EOF,
// hashes what it got (crypto.subtle), and answers "<bytes> <sha256>\n"; or,
// with `send`, sends that many seeded bytes and closes.
import { MessagePortLink, RealClock, Stack } from "/netwasm.js";
// The page's TCP buffer settings for bulk transfers (see BULK_TCP in lan.js).
const BULK_TCP = { rmemMax: 4 << 20, wmemMax: 4 << 20 };

async function sha256(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

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

onmessage = async (ev) => {
  const { port, max, send, seed } = ev.data;
  try {
    const clock = new RealClock();
    const stack = new Stack({ clock, tcp: BULK_TCP });
    const link = new MessagePortLink(port, { allocator: stack.allocator, clock });
    stack.addInterface(link, { address: "192.0.2.2/24" });
    const listener = stack.listen({ port: 9000 });
    postMessage({ ready: true, engine: stack.hotPaths.kind });
    const conn = await listener.accept();
    // The page asks for this side's state when a transfer stalls.
    addEventListener("message", (e) => {
      if (e.data?.diag) {
        let info;
        try {
          info = conn.info();
        } catch (err) {
          info = String(err);
        }
        postMessage({ diag: JSON.stringify({ info, link: link.msgStats, dev: link.stats }) });
      }
    });
    if (send !== undefined) {
      const data = seeded(send, seed);
      for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at, at + 262144));
      await conn.closeWrite();
      postMessage({ sent: send, sha256: await sha256(data) });
    } else {
      const buf = new Uint8Array(max + 1);
      let n = 0;
      for (;;) {
        const r = await conn.read(buf.subarray(n));
        if (r === null) break;
        n += r;
        if (n > max) throw new Error(`more than ${max} bytes`);
      }
      const digest = await sha256(buf.subarray(0, n));
      await conn.write(new TextEncoder().encode(`${n} ${digest}\n`));
      await conn.closeWrite();
    }
    // Wait for the page's FIN, then close everything.
    const sink = new Uint8Array(64);
    while ((await conn.read(sink)) !== null) { /* drain */ }
    conn.close();
    listener.close();
    postMessage({ done: true, linkStats: { ...link.msgStats } });
    await stack.close();
    link.close();
    clock.close();
  } catch (e) {
    postMessage({ error: String(e && e.stack || e) });
  }
};
