/**
 * `stack.listen()` and `Listener`: Deno-shaped accept, async iteration,
 * close semantics, bind errors, and many concurrent connections each way on
 * virtual time with their contents verified.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Pair, pair, settle } from "../_util/sim.ts";
import type { Conn } from "../../src/api/conn.ts";
import type { Listener } from "../../src/api/listener.ts";
import type { Stack } from "../../src/api/stack.ts";
import {
  AddrInUse,
  AddrNotAvailable,
  BadResource,
  ConnectionReset,
  PermissionDenied,
} from "../../src/socket/errors.ts";
import { randomBytes } from "../tcp/_helpers.ts";
import { bytes, text } from "../socket/_util.ts";

function idle(p: Pair, ms: number): Promise<void> {
  return settle(p.clock, new Promise<void>((r) => p.clock.setTimer(ms, r)));
}

async function rejectsWith<T>(p: Promise<unknown>, cls: new (...a: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, cls, `got ${e}`);
    return e as T;
  }
  return assert.unreachable(`expected ${cls.name}, the promise resolved`) as never;
}

/** Everything until EOF. */
async function readAll(conn: Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(16384);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of parts) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

test("listen: addr shows transport, default hostname 0.0.0.0 and the real port for port 0", async () => {
  const p = pair({ seed: 601 });
  const fixed = p.b.listen({ port: 80, transport: "tcp" });
  assert.equal(fixed.addr, { transport: "tcp", hostname: "0.0.0.0", port: 80 });
  const eph = p.b.listen({ port: 0, hostname: "192.0.2.2" });
  assert.is(eph.addr.hostname, "192.0.2.2");
  assert.ok(eph.addr.port >= 32768 && eph.addr.port <= 60999);
  fixed.close();
  eph.close();
  await p.close();
});

test("accept(): a Conn with the client's address; bytes sent before accept() are not lost", async () => {
  const p = pair({ seed: 602, impair: { delay: 4 } });
  const listener = p.b.listen({ port: 7 });
  const client = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 7 }));
  await client.write(bytes("sent before accept"));
  await client.closeWrite();
  await idle(p, 200);
  const server = await listener.accept();
  assert.equal(server.remoteAddr, client.localAddr);
  assert.is(text(await settle(p.clock, readAll(server))), "sent before accept");
  client.close();
  server.close();
  listener.close();
  await p.close();
});

test("Listener.close(): pending accepts reject with BadResource, later ones too, close twice throws; the port is free again", async () => {
  const p = pair({ seed: 603 });
  const listener = p.b.listen({ port: 8080 });
  const pending = [listener.accept(), listener.accept()];
  listener.close();
  for (const a of pending) {
    const e = await rejectsWith(a, BadResource);
    assert.is(e.message, "Cannot accept: the Listener is closed");
  }
  await rejectsWith(listener.accept(), BadResource);
  assert.throws(() => listener.close(), (e: unknown) => e instanceof BadResource);
  assert.is(p.b.sockets.openSockets, 0);
  p.b.listen({ port: 8080 }).close();
  await p.close();
});

test("Listener.close() resets connections that were never accepted; accepted Conns stay open", async () => {
  const p = pair({ seed: 604 });
  const listener = p.b.listen({ port: 8080 });
  const first = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 8080 }));
  const server = await settle(p.clock, listener.accept());
  const second = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 8080 }));
  listener.close();
  await rejectsWith(settle(p.clock, second.read(new Uint8Array(4))), ConnectionReset);
  await first.write(bytes("still"));
  const buf = new Uint8Array(8);
  assert.is(text(buf.subarray(0, (await settle(p.clock, server.read(buf)))!)), "still");
  for (const c of [first, second, server]) c.close();
  await p.close();
});

test("for await (const conn of listener): yields connections and ends when the listener is closed", async () => {
  const p = pair({ seed: 605 });
  const listener = p.b.listen({ port: 9 });
  const seen: number[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      seen.push(conn.remoteAddr.port);
      conn.close();
      if (seen.length === 3) listener.close();
    }
  })();
  const clients: Conn[] = [];
  for (let i = 0; i < 3; i++) {
    clients.push(await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 9 })));
  }
  await settle(p.clock, loop);
  assert.equal(seen, clients.map((c) => c.localAddr.port));
  for (const c of clients) c.close();
  await p.close();
});

test("listen: typed bind errors (AddrInUse even with reuseAddress, AddrNotAvailable, PermissionDenied), TypeErrors", async () => {
  const p = pair({ seed: 606, b: { allowPrivilegedPorts: false } });
  const first = p.a.listen({ port: 8080 });
  await rejectsWith(Promise.resolve().then(() => p.a.listen({ port: 8080 })), AddrInUse);
  await rejectsWith(
    Promise.resolve().then(() => p.a.listen({ port: 8080, reuseAddress: false })),
    AddrInUse,
  );
  const e = await rejectsWith(
    Promise.resolve().then(() => p.a.listen({ hostname: "192.0.2.9", port: 80 })),
    AddrNotAvailable,
  );
  assert.is(e.message, "Cannot bind 192.0.2.9:80: address not available on any interface");
  await rejectsWith(Promise.resolve().then(() => p.b.listen({ port: 80 })), PermissionDenied);
  assert.throws(() => p.a.listen({ port: 1, transport: "udp" as "tcp" }), TypeError);
  assert.throws(() => p.a.listen({ port: 1, hostname: "example.com" }), TypeError);
  assert.throws(() => p.a.listen({ port: -1 }), RangeError);
  assert.throws(() => p.a.listen({ port: 65536 }), RangeError);
  assert.is(p.a.sockets.openSockets, 1, "failed listens closed their sockets");
  assert.is(p.b.sockets.openSockets, 0);
  first.close();
  await p.close();
});

/** Serve an echo on `listener`: each Conn's readable piped into its writable. */
function echoServer(listener: Listener): Promise<void> {
  return (async () => {
    const pipes: Promise<void>[] = [];
    for await (const conn of listener) {
      pipes.push(conn.readable.pipeTo(conn.writable).finally(() => conn.close()));
    }
    await Promise.all(pipes);
  })();
}

/** `n` clients on `from` each send their own payload to `hostname:port` and check the echo. */
async function clients(
  from: Stack,
  hostname: string,
  o: { port: number; n: number; seed: number },
): Promise<number> {
  const { port, n, seed } = o;
  const runs: Promise<number>[] = [];
  for (let i = 0; i < n; i++) {
    runs.push((async () => {
      const data = randomBytes(1000 + ((i * 977) % 20_000), seed + i);
      const conn = await from.connect({ hostname, port });
      const [, echoed] = await Promise.all([
        conn.write(data).then(() => conn.closeWrite()),
        readAll(conn),
      ]);
      conn.close();
      assert.equal(echoed, data, `client ${i}`);
      return echoed.length;
    })());
  }
  return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
}

test("200 concurrent connections each way (A→B and B→A), echoed through pipeTo, contents verified, no leak", async () => {
  const p = pair({ seed: 607, impair: { delay: 2, jitter: 1 } });
  const onB = p.b.listen({ port: 7, backlog: 256 });
  const onA = p.a.listen({ port: 7, backlog: 256 });
  const servers = [echoServer(onB), echoServer(onA)];
  const [ab, ba] = await settle(
    p.clock,
    Promise.all([
      clients(p.a, "192.0.2.2", { port: 7, n: 200, seed: 1000 }),
      clients(p.b, "192.0.2.1", { port: 7, n: 200, seed: 5000 }),
    ]),
  );
  assert.ok(ab > 200 * 1000 && ba > 200 * 1000);
  onA.close();
  onB.close();
  await settle(p.clock, Promise.all(servers));
  assert.is(p.a.sockets.openSockets + p.b.sockets.openSockets, 0);
  await idle(p, 200_000); // TIME-WAIT runs out
  assert.is(p.a.tcp.socks.size + p.b.tcp.socks.size, 0, "every TCB is gone");
  await p.close();
});

test("ref/unref are accepted (on virtual time nothing holds a process); using closes the listener", async () => {
  const p = pair({ seed: 608 });
  {
    using l = p.a.listen({ port: 1234 });
    l.ref();
    l.unref();
    assert.is(p.a.sockets.openSockets, 1);
  }
  assert.is(p.a.sockets.openSockets, 0);
  await p.close();
});
