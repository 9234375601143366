/**
 * `stack.connect()` and `Conn`: Deno-shaped TCP over the BSD layer, on
 * virtual time. Every test ends with `pair().close()`, which fails on an
 * arena leak.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Pair, pair, settle } from "../_util/sim.ts";
import type { Conn } from "../../src/api/conn.ts";
import type { Listener } from "../../src/api/listener.ts";
import {
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_SNDBUF,
  SOL_SOCKET,
  SOL_TCP,
  TCP_NODELAY,
  TCP_USER_TIMEOUT,
} from "../../src/socket/constants.ts";
import {
  BadResource,
  BrokenPipe,
  ConnectionRefused,
  ConnectionReset,
  HostUnreachable,
  NetError,
  NetworkUnreachable,
  TimedOut,
} from "../../src/socket/errors.ts";
import { randomBytes } from "../tcp/_helpers.ts";
import { bytes, text } from "../socket/_util.ts";
import { DnsError } from "../../src/dns/errors.ts";

function idle(p: Pair, ms: number): Promise<void> {
  return settle(p.clock, new Promise<void>((r) => p.clock.setTimer(ms, r)));
}

/** `p` must reject with an error of class `cls`; returns it. */
async function rejectsWith<T>(
  p: Promise<unknown>,
  cls: new (...a: never[]) => T,
): Promise<T> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, cls, `got ${e}`);
    return e as T;
  }
  return assert.unreachable(`expected ${cls.name}, the promise resolved`) as never;
}

/** A client Conn on A connected to a server Conn on B. */
async function connectedConns(
  p: Pair,
  port = 7,
  o: { rcvbuf?: number } = {},
): Promise<{ listener: Listener; client: Conn; server: Conn }> {
  const listener = p.b.listen({ port });
  if (o.rcvbuf !== undefined) p.b.sockets.setsockopt(listener.fd, SOL_SOCKET, SO_RCVBUF, o.rcvbuf);
  const accepted = listener.accept();
  const client = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port }));
  const server = await settle(p.clock, accepted);
  return { listener, client, server };
}

/** Read everything until null through `conn.read`. */
async function readToEnd(p: Pair, conn: Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(32768);
  for (;;) {
    const n = await settle(p.clock, conn.read(buf));
    if (n === null) break;
    parts.push(buf.slice(0, n));
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of parts) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

test("Conn: echo round trip; localAddr/remoteAddr are Deno-shaped; read → null after the peer's FIN", async () => {
  const p = pair({ seed: 501, impair: { delay: 2 } });
  const { listener, client, server } = await connectedConns(p);
  assert.equal(client.remoteAddr, { transport: "tcp", hostname: "192.0.2.2", port: 7 });
  assert.is(client.localAddr.hostname, "192.0.2.1");
  assert.equal(server.remoteAddr, client.localAddr);
  assert.equal(server.localAddr, client.remoteAddr);
  assert.is(await client.write(bytes("ping")), 4);
  const buf = new Uint8Array(16);
  const n = await settle(p.clock, server.read(buf));
  assert.is(text(buf.subarray(0, n!)), "ping");
  await server.write(buf.subarray(0, n!));
  assert.is(text(buf.subarray(0, (await settle(p.clock, client.read(buf)))!)), "ping");
  assert.is(await client.read(new Uint8Array(0)), 0, "an empty buffer reads 0, not EOF");
  server.close();
  assert.is(await settle(p.clock, client.read(buf)), null);
  assert.is(await client.read(buf), null);
  client.close();
  listener.close();
  await p.close();
});

test("Conn: localAddr/remoteAddr first read after the connection (and its stack) closed still name its ends", async () => {
  const p = pair({ seed: 503 });
  const { listener, client, server } = await connectedConns(p);
  client.close();
  await p.b.close();
  // Neither was read before: they are formatted now, from the closed sockets.
  assert.equal(client.remoteAddr, { transport: "tcp", hostname: "192.0.2.2", port: 7 });
  assert.is(client.localAddr.hostname, "192.0.2.1");
  assert.equal(server.remoteAddr, client.localAddr);
  assert.equal(server.localAddr, client.remoteAddr);
  assert.is(client.localAddr, client.localAddr, "formatted once, then the same object");
  listener.close();
  await p.close();
});

test("stack.connect: hostname defaults to 127.0.0.1 (loopback on the same stack)", async () => {
  const p = pair({ seed: 502 });
  const listener = p.a.listen({ port: 9000, hostname: "localhost" });
  assert.equal(listener.addr, { transport: "tcp", hostname: "127.0.0.1", port: 9000 });
  const accepted = listener.accept();
  const client = await settle(p.clock, p.a.connect({ port: 9000 }));
  const server = await settle(p.clock, accepted);
  assert.is(client.remoteAddr.hostname, "127.0.0.1");
  await client.write(bytes("lo"));
  const buf = new Uint8Array(4);
  assert.is(await settle(p.clock, server.read(buf)), 2);
  client.close();
  server.close();
  listener.close();
  await p.close();
});

test("streams: readable.pipeTo(writable) echoes 300 KB through a server; closing the writable half-closes", async () => {
  const p = pair({ seed: 503, impair: { delay: 3 } });
  const { listener, client, server } = await connectedConns(p);
  const echo = server.readable.pipeTo(server.writable); // ends with closeWrite when the client FINs
  const data = randomBytes(300_000, 5);
  const sending = (async () => {
    const w = client.writable.getWriter();
    for (let i = 0; i < data.length; i += 10_000) await w.write(data.subarray(i, i + 10_000));
    await w.close(); // FIN
  })();
  const received = (async () => {
    const parts: Uint8Array[] = [];
    for await (const chunk of client.readable) parts.push(chunk.slice());
    return concat(parts);
  })();
  const [got] = await settle(p.clock, Promise.all([received, sending, echo]));
  assert.equal(got, data);
  client.close();
  server.close();
  listener.close();
  await p.close();
});

test("half-close both ways: closeWrite() sends FIN, the other side reads null yet still writes back", async () => {
  const p = pair({ seed: 504 });
  const { listener, client, server } = await connectedConns(p);
  const up = randomBytes(50_000, 6);
  const down = randomBytes(70_000, 7);
  await settle(p.clock, client.write(up));
  await client.closeWrite();
  await rejectsWith(client.write(bytes("late")), BrokenPipe);
  assert.equal(await readToEnd(p, server), up);
  await settle(p.clock, server.write(down));
  await server.closeWrite();
  assert.equal(await readToEnd(p, client), down);
  client.close();
  server.close();
  listener.close();
  await p.close();
});

test("MUST-12: a peer reset is ConnectionReset (not EOF) for read, and for every later read and write", async () => {
  const p = pair({ seed: 505 });
  const { listener, client, server } = await connectedConns(p);
  p.b.sockets.setsockopt(server.fd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 });
  server.close(); // RST
  const e = await rejectsWith(settle(p.clock, client.read(new Uint8Array(8))), ConnectionReset);
  assert.is(e.code, "ECONNRESET");
  await rejectsWith(client.read(new Uint8Array(8)), ConnectionReset);
  await rejectsWith(client.write(bytes("x")), ConnectionReset);
  client.close();
  listener.close();
  await p.close();
});

test("a reset first seen by write() still fails the next read() (no EOF after an abort)", async () => {
  const p = pair({ seed: 506 });
  const { listener, client, server } = await connectedConns(p);
  await client.write(bytes("unread")); // the server never reads it …
  await idle(p, 50);
  server.close(); // … so its close is a RST (RFC 2525 §2.17)
  await idle(p, 50);
  await rejectsWith(client.write(bytes("x")), ConnectionReset);
  await rejectsWith(client.read(new Uint8Array(8)), ConnectionReset);
  client.close();
  listener.close();
  await p.close();
});

test("connect to a closed port: ConnectionRefused, 'Cannot connect to 192.0.2.2:80: connection refused'", async () => {
  const p = pair({ seed: 507 });
  const e = await rejectsWith(
    settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 80 })),
    ConnectionRefused,
  );
  assert.is(e.message, "Cannot connect to 192.0.2.2:80: connection refused");
  assert.is(p.a.sockets.openSockets, 0, "the failed socket is closed");
  await p.close();
});

test("connect: an abort signal rejects with signal.reason, as Deno.connect (also when already aborted); no socket is left", async () => {
  const p = pair({ seed: 508, impair: { delay: 100 } });
  const ac = new AbortController();
  const reason = new Error("user gave up");
  p.clock.setTimer(20, () => ac.abort(reason));
  try {
    await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 80, signal: ac.signal }));
    assert.unreachable("connect resolved");
  } catch (e) {
    assert.is(e, reason, `got ${e}`);
  }
  const e = await rejectsWith(
    p.a.connect({ hostname: "192.0.2.2", port: 80, signal: AbortSignal.abort() }),
    DOMException,
  );
  assert.is(e.name, "AbortError");
  assert.is(p.a.sockets.openSockets, 0);
  await idle(p, 1000);
  assert.is(p.a.tcp.socks.size, 0, "the SYN-SENT TCB went with the socket");
  await p.close();
});

test("connect: SYNs never answered → TimedOut; no route → NetworkUnreachable; no ARP answer → HostUnreachable", async () => {
  const p = pair({ seed: 509, aToB: { loss: 1 }, a: { tcp: { synR2: 8000 } } });
  const t = await rejectsWith(
    settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 80 })),
    TimedOut,
  );
  assert.is(t.message, "Cannot connect to 192.0.2.2:80: timed out");
  const n = await rejectsWith(
    p.a.connect({ hostname: "198.51.100.7", port: 80 }),
    NetworkUnreachable,
  );
  assert.is(n.message, "Cannot connect to 198.51.100.7:80: no route to the destination");
  await rejectsWith(
    settle(p.clock, p.a.connect({ hostname: "192.0.2.99", port: 80 })),
    HostUnreachable,
  );
  assert.is(p.a.sockets.openSockets, 0);
  await p.close();
});

test("TCP_USER_TIMEOUT through conn.fd: a read on a connection whose peer vanished rejects with TimedOut", async () => {
  const p = pair({ seed: 510 });
  const { listener, client, server } = await connectedConns(p);
  p.a.sockets.setsockopt(client.fd, SOL_TCP, TCP_USER_TIMEOUT, 2000);
  p.devB.down();
  await client.write(bytes("hello?"));
  await rejectsWith(settle(p.clock, client.read(new Uint8Array(8))), TimedOut);
  await rejectsWith(client.write(bytes("x")), TimedOut);
  client.close();
  server.close();
  listener.close();
  await p.close();
});

test("backpressure: write() waits while the reader does not read (zero window), the readable pulls only on demand", async () => {
  const p = pair({ seed: 511, impair: { delay: 5 } });
  const { listener, client, server } = await connectedConns(p, 7, { rcvbuf: 16384 });
  p.a.sockets.setsockopt(client.fd, SOL_SOCKET, SO_SNDBUF, 16384);
  const zeroWindows: number[] = [];
  p.devB.addTap((dir, u8, off, len) => {
    if (dir !== "tx" || len < 54 || u8[off + 23] !== 6) return;
    const th = off + 14 + (u8[off + 14]! & 0xf) * 4;
    if ((u8[th + 13]! & 0x17) === 0x10 && u8[th + 14] === 0 && u8[th + 15] === 0) {
      zeroWindows.push(p.clock.now());
    }
  });
  const data = randomBytes(400_000, 8);
  let written = false;
  const writing = client.write(data).then((n) => {
    written = true;
    return n;
  });
  const reader = server.readable.getReader(); // created, but not reading yet
  await idle(p, 3000);
  assert.not.ok(written, "the writer is held back");
  assert.ok(zeroWindows.length > 0, "the receiver's window closed on the wire");
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < data.length) {
    const r = await settle(p.clock, reader.read());
    parts.push(r.value!.slice());
    total += r.value!.length;
  }
  assert.is(await settle(p.clock, writing), data.length);
  assert.equal(concat(parts), data);
  reader.releaseLock();
  client.close();
  server.close();
  listener.close();
  await p.close();
});

test("Conn.close(): pending reads reject with BadResource, later calls too; closing twice throws", async () => {
  const p = pair({ seed: 512 });
  const { listener, client, server } = await connectedConns(p);
  const pending = client.read(new Uint8Array(8));
  client.close();
  const e = await rejectsWith(pending, BadResource);
  assert.is(e.message, "Cannot read: the Conn is closed");
  await rejectsWith(client.read(new Uint8Array(8)), BadResource);
  await rejectsWith(client.write(bytes("x")), BadResource);
  await rejectsWith(client.closeWrite(), BadResource);
  assert.throws(() => client.close(), (x: unknown) => x instanceof BadResource);
  assert.is(await settle(p.clock, server.read(new Uint8Array(8))), null, "the peer saw FIN");
  server.close();
  listener.close();
  await p.close();
});

test("setNoDelay/setKeepAlive set TCP_NODELAY/SO_KEEPALIVE (default true); dispose closes once", async () => {
  const p = pair({ seed: 513 });
  const { listener, client, server } = await connectedConns(p);
  const s = p.a.sockets;
  client.setNoDelay();
  assert.is(s.getsockopt(client.fd, SOL_TCP, TCP_NODELAY), 1);
  client.setNoDelay(false);
  assert.is(s.getsockopt(client.fd, SOL_TCP, TCP_NODELAY), 0);
  client.setKeepAlive();
  assert.is(s.getsockopt(client.fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  client.ref();
  client.unref();
  {
    using _c = client;
  }
  assert.is(s.openSockets, 0, "using closed it");
  client[Symbol.dispose](); // a no-op now
  await server[Symbol.asyncDispose]();
  listener.close();
  await p.close();
});

test("connect: misuse is a TypeError (transport, malformed hostname); a port outside 1…65535 a RangeError, as Deno's", async () => {
  const p = pair({ seed: 514 });
  const bad = [
    { port: 80, transport: "udp" as "tcp" },
    { port: 80, hostname: "bad..name" },
    { port: "80" as unknown as number },
  ];
  for (const o of bad) await rejectsWith(p.a.connect(o), TypeError);
  for (const port of [0, 70000, 1.5, -1]) {
    const e = await rejectsWith(p.a.connect({ port }), RangeError);
    assert.match(e.message, `port ${port} is not in 1…65535`);
  }
  // The port is checked before a name is resolved.
  await rejectsWith(p.a.connect({ port: 0, hostname: "example.com" }), RangeError);
  // A well-formed name goes to the resolver, which has no server here.
  await rejectsWith(p.a.connect({ port: 80, hostname: "example.com" }), DnsError);
  assert.is(p.a.sockets.openSockets, 0);
  await p.close();
});

test("errors are NetErrors with an errno code, catchable by class", async () => {
  const p = pair({ seed: 515 });
  try {
    await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 1 }));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, NetError);
    assert.is((e as NetError).code, "ECONNREFUSED");
    assert.is((e as NetError).name, "ConnectionRefused");
  }
  await p.close();
});

test("streams over a lossy, reordering, duplicating link: 200 KB each way arrive intact", async () => {
  const p = pair({
    seed: 516,
    impair: { delay: 10, jitter: 3, loss: 0.02, reorder: 0.02, duplicate: 0.01 },
  });
  const { listener, client, server } = await connectedConns(p);
  const up = randomBytes(200_000, 9);
  const down = randomBytes(200_000, 10);
  const [atServer, atClient] = await settle(
    p.clock,
    Promise.all([
      (async () => {
        const [, got] = await Promise.all([
          server.write(down).then(() => server.closeWrite()),
          readAllConn(server),
        ]);
        return got;
      })(),
      (async () => {
        const [, got] = await Promise.all([
          client.write(up).then(() => client.closeWrite()),
          readAllConn(client),
        ]);
        return got;
      })(),
    ]),
  );
  assert.equal(atServer, up);
  assert.equal(atClient, down);
  client.close();
  server.close();
  listener.close();
  await p.close();
});

/** Everything until null, without driving the clock (the caller settles). */
async function readAllConn(conn: Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(32768);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return concat(parts);
    parts.push(buf.slice(0, n));
  }
}

test("close() right after write() still delivers every queued byte, then FIN (RFC 9293 §3.10.4 CLOSE)", async () => {
  const p = pair({ seed: 517, impair: { delay: 5, loss: 0.02 } });
  const { listener, client, server } = await connectedConns(p);
  const data = randomBytes(500_000, 11);
  const reading = readAllConn(server);
  await settle(p.clock, client.write(data)); // resolves once queued, long before it is acknowledged
  client.close();
  assert.equal(await settle(p.clock, reading), data);
  server.close();
  listener.close();
  await idle(p, 300_000);
  assert.is(p.a.tcp.socks.size + p.b.tcp.socks.size, 0, "both TCBs finished");
  await p.close();
});

test("Conn.close() while write() waits for buffer space: the write rejects with BadResource", async () => {
  const p = pair({ seed: 518 });
  const { listener, client, server } = await connectedConns(p, 7, { rcvbuf: 4096 });
  p.a.sockets.setsockopt(client.fd, SOL_SOCKET, SO_SNDBUF, 8192);
  const writing = client.write(new Uint8Array(200_000));
  await idle(p, 500);
  client.close();
  await rejectsWith(writing, BadResource);
  server.close();
  listener.close();
  await p.close();
});

test(
  "Conn.write: a RST that arrives while a write is half queued returns the short count, and the next write fails with ConnectionReset (Linux keeps sk_err), not BrokenPipe",
  async () => {
    const p = pair({ seed: 1, impair: { delay: 1 } });
    try {
      const listener = p.b.listen({ port: 9 });
      const server = (async () => {
        const c = await listener.accept();
        const buf = new Uint8Array(65536);
        let got = 0;
        while (got < 256 * 1024) {
          const n = await c.read(buf);
          if (n === null) break;
          got += n;
        }
        // SO_LINGER {on, 0}: close() aborts with RST (Linux tcp_disconnect).
        p.b.sockets.setsockopt(c.fd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 });
        c.close();
      })();
      const conn = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 9 }));
      const chunk = new Uint8Array(1 << 20); // bigger than the send buffer: writes block mid-chunk
      let error: unknown = null;
      const writer = (async () => {
        try {
          for (let i = 0; i < 16; i++) {
            const n = await conn.write(chunk);
            // Linux: a short count once the connection failed, and the
            // error (ECONNRESET) from the next call.
            if (n < chunk.length) continue;
          }
        } catch (e) {
          error = e;
        }
      })();
      await settle(p.clock, Promise.all([server, writer]));
      assert.instance(error, ConnectionReset, `got ${error}`);
      conn.close();
      listener.close();
    } finally {
      await p.close();
    }
  },
);
