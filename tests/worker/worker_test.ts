/**
 * `WorkerStack` (the page's proxy) and `serveStack` (the stack in the
 * Worker): connect, listen/accept, bytes both ways with sha256, half-close,
 * errors that keep their class across (ConnectionRefused, AddrInUse,
 * BadResource, BrokenPipe), in both carriers (shared rings, transferred
 * buffers); first over a MessageChannel in one thread, then in a real
 * module Worker started by `WorkerStack.start()` itself. The far end is a
 * stack in the test, joined to the Worker's stack by a `MessagePortLink`.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { Stack } from "../../src/api/stack.ts";
import type { Conn } from "../../src/api/conn.ts";
import { RealClock } from "../../src/core/clock.ts";
import { MessagePortLink } from "../../src/link/message_link.ts";
import { ConnectionRefused, NetError } from "../../src/socket/errors.ts";
import { serveStack } from "../../src/worker/host.ts";
import { type WorkerConn, WorkerStack, type WorkerStackOptions } from "../../src/worker/proxy.ts";

/** A stack here at 192.0.2.1 and a WorkerStack at 192.0.2.2 joined by a MessagePortLink. */
async function world(options: WorkerStackOptions & { inThread: boolean }) {
  const clock = new RealClock();
  const peer = new Stack({ clock });
  const { port1, port2 } = new MessageChannel();
  const link = new MessagePortLink(port1, { allocator: peer.allocator, clock });
  peer.addInterface(link, { address: "192.0.2.1/24" });
  let stopHost: (() => Promise<void>) | null = null;
  let ctl: MessageChannel | null = null;
  let ws: WorkerStack;
  if (options.inThread) {
    ctl = new MessageChannel();
    stopHost = serveStack(ctl.port2);
    ws = await WorkerStack.start({ ...options, worker: ctl.port1 });
  } else {
    ws = await WorkerStack.start(options);
  }
  await ws.addInterface({ type: "port", port: port2 }, { address: "192.0.2.2/24" });
  return {
    peer,
    ws,
    async close() {
      await ws.close();
      await stopHost?.();
      ctl?.port2.close();
      await peer.close();
      link.close();
      clock.close();
    },
  };
}

function pattern(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function sha(b: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}

async function readAll(c: Conn | WorkerConn, max: number): Promise<Uint8Array<ArrayBuffer>> {
  const buf = new Uint8Array(max + 1);
  let n = 0;
  for (;;) {
    const r = await c.read(buf.subarray(n));
    if (r === null) break;
    n += r;
    if (n > max) throw new Error(`more than ${max} bytes`);
  }
  return buf.slice(0, n);
}

async function writeAll(c: Conn | WorkerConn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await c.write(data.subarray(at, at + 100_000));
}

for (
  const [mode, options] of [
    ["shared rings", { shared: true, inThread: true }],
    ["transferred buffers", { shared: false, inThread: true }],
  ] as const
) {
  test(`WorkerStack (${mode}, one thread): connect to a peer, 4 MiB each way at once with sha256, half-close both ways; accept from the peer`, async () => {
    const w = await world(options);
    try {
      assert.is(w.ws.shared, options.shared);
      const size = 4 << 20;
      const up = pattern(size, 1);
      const down = pattern(size, 2);
      // The peer echoes nothing: it reads everything and sends its own data.
      const listener = w.peer.listen({ port: 7000 });
      const accepting = listener.accept();
      const conn = await w.ws.connect({ hostname: "192.0.2.1", port: 7000 });
      assert.equal(conn.remoteAddr, { transport: "tcp", hostname: "192.0.2.1", port: 7000 });
      assert.is(conn.localAddr.hostname, "192.0.2.2");
      const far = await accepting;
      const [gotFar, gotHere] = await Promise.all([
        readAll(far, size),
        readAll(conn, size),
        writeAll(conn, up).then(() => conn.closeWrite()),
        writeAll(far, down).then(() => far.closeWrite()),
      ]);
      assert.is(await sha(gotFar), await sha(up), "page → peer");
      assert.is(await sha(gotHere), await sha(down), "peer → page");
      conn.close();
      far.close();
      listener.close();
      // The other direction of setup: the peer connects, the page accepts.
      const wl = w.ws.listen({ port: 8000 });
      await wl.ready;
      assert.is(wl.addr.port, 8000);
      const acc = wl.accept();
      const c2 = await w.peer.connect({ hostname: "192.0.2.2", port: 8000 });
      const s2 = await acc;
      await c2.write(new TextEncoder().encode("hello worker"));
      await c2.closeWrite();
      assert.is(new TextDecoder().decode(await readAll(s2, 100)), "hello worker");
      await s2.write(new TextEncoder().encode("hello peer"));
      await s2.closeWrite();
      assert.is(new TextDecoder().decode(await readAll(c2, 100)), "hello peer");
      s2.close();
      c2.close();
      wl.close();
    } finally {
      await w.close();
    }
  });
}

test("WorkerStack: errors keep their class across — ConnectionRefused, AddrInUse on accept/ready, BadResource after close, BrokenPipe after closeWrite", async () => {
  const w = await world({ shared: true, inThread: true });
  try {
    const refused = await w.ws.connect({ hostname: "192.0.2.1", port: 9 }).then(
      () => null,
      (e) => e,
    );
    assert.instance(refused, ConnectionRefused);
    assert.ok(refused instanceof NetError);
    assert.is((refused as NetError).code, "ECONNREFUSED");
    const a = w.ws.listen({ port: 8100 });
    await a.ready;
    const b = w.ws.listen({ port: 8100 });
    const inUse = await b.ready.then(() => null, (e) => e);
    assert.is((inUse as NetError)?.code, "EADDRINUSE");
    assert.is((await b.accept().then(() => null, (e) => e) as NetError)?.code, "EADDRINUSE");
    const l = w.peer.listen({ port: 7001 });
    const acc = l.accept();
    const c = await w.ws.connect({ hostname: "192.0.2.1", port: 7001 });
    const far = await acc;
    await c.closeWrite();
    const broken = await c.write(new Uint8Array(1)).then(() => null, (e) => e);
    assert.is((broken as NetError)?.code, "EPIPE");
    c.close();
    const closed = await c.read(new Uint8Array(1)).then(() => null, (e) => e);
    assert.is((closed as NetError)?.name, "BadResource");
    assert.throws(() => c.close(), (e: Error) => e.name === "BadResource");
    far.close();
    l.close();
    a.close();
  } finally {
    await w.close();
  }
});

test("WorkerStack in a real module Worker (started by WorkerStack.start itself): 2 MiB to a peer and back, sha256 equal", async () => {
  const w = await world({ shared: true, inThread: false });
  try {
    assert.ok(w.ws.shared);
    const data = pattern(2 << 20, 3);
    const l = w.peer.listen({ port: 7002 });
    const acc = l.accept();
    const conn = await w.ws.connect({ hostname: "192.0.2.1", port: 7002 });
    const far = await acc;
    // The peer echoes.
    const echo = (async () => {
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await far.read(buf);
        if (n === null) break;
        await far.write(buf.subarray(0, n));
      }
      await far.closeWrite();
    })();
    const [got] = await Promise.all([
      readAll(conn, data.length),
      writeAll(conn, data).then(() => conn.closeWrite()),
      echo,
    ]);
    assert.is(await sha(got), await sha(data));
    conn.close();
    far.close();
    l.close();
    const st = await w.ws.stats();
    assert.is(st.sockets, 0, "the Worker closed the connection too");
  } finally {
    await w.close();
  }
});
