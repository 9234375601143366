import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import {
  AddrInUse,
  AddrNotAvailable,
  BadResource,
  PermissionDenied,
} from "../../src/socket/errors.ts";
import type { NetAddr } from "../../src/api/datagram.ts";
import { bytes, text } from "../socket/_util.ts";

test("DatagramConn: round trip between two stacks; addr shows the real ephemeral port", async () => {
  const p = pair({ seed: 71, impair: { delay: 2 } });
  const server = p.b.listenDatagram({ port: 7, transport: "udp" });
  assert.equal(server.addr, { transport: "udp", hostname: "0.0.0.0", port: 7 });
  const client = p.a.listenDatagram({ hostname: "192.0.2.1", port: 0 });
  assert.is(client.addr.hostname, "192.0.2.1");
  assert.ok(client.addr.port >= 32768 && client.addr.port <= 60999);
  const echoed = (async () => {
    const [data, from] = await server.receive();
    await server.send(data, from);
    return from;
  })();
  assert.is(await client.send(bytes("ping"), { hostname: "192.0.2.2", port: 7 }), 4);
  const [reply, replyFrom] = await settle(p.clock, client.receive());
  assert.is(text(reply), "ping");
  assert.equal(replyFrom, { transport: "udp", hostname: "192.0.2.2", port: 7 });
  assert.equal(await echoed, { transport: "udp", hostname: "192.0.2.1", port: client.addr.port });
  client.close();
  server.close();
  await p.close();
});

test("DatagramConn.receive(p): copies into p and returns a view, truncating a longer datagram", async () => {
  const p = pair({ seed: 72 });
  const conn = p.a.listenDatagram({ hostname: "localhost", port: 5353 });
  assert.is(conn.addr.hostname, "127.0.0.1");
  await conn.send(bytes("abcdefgh"), { hostname: "localhost", port: 5353 });
  await conn.send(bytes("xyz"), { hostname: "127.0.0.1", port: 5353, transport: "udp" });
  const p4 = new Uint8Array(4);
  const [a] = await settle(p.clock, conn.receive(p4));
  assert.is(a.buffer, p4.buffer);
  assert.is(text(a), "abcd");
  const [b] = await conn.receive(); // no buffer: exactly the datagram
  assert.is(b.length, 3);
  assert.is(text(b), "xyz");
  conn.close();
  await p.close();
});

test("DatagramConn: async iteration yields datagrams and ends when the conn is closed", async () => {
  const p = pair({ seed: 73 });
  const conn = p.a.listenDatagram({ port: 6000 });
  const seen: string[] = [];
  const loop = (async () => {
    for await (const [data, from] of conn) {
      seen.push(`${text(data)}@${from.port}`);
      if (seen.length === 3) conn.close();
    }
  })();
  const sender = p.a.listenDatagram({ port: 6001 });
  for (const m of ["a", "b", "c"]) {
    await sender.send(bytes(m), { hostname: "127.0.0.1", port: 6000 });
  }
  await settle(p.clock, loop);
  assert.equal(seen, ["a@6001", "b@6001", "c@6001"]);
  sender.close();
  await p.close();
});

test("DatagramConn.close(): pending receives reject with BadResource, later calls too, the port is free again", async () => {
  const p = pair({ seed: 74 });
  const conn = p.a.listenDatagram({ port: 6100 });
  const pendingWhole = conn.receive();
  const pendingInto = conn.receive(new Uint8Array(8));
  conn.close();
  for (const pending of [pendingWhole, pendingInto]) {
    try {
      await pending;
      assert.unreachable("should reject");
    } catch (e) {
      assert.instance(e, BadResource);
      assert.is((e as BadResource).code, "EBADF");
    }
  }
  let err: unknown;
  try {
    await conn.send(bytes("x"), { hostname: "127.0.0.1", port: 9 });
  } catch (e) {
    err = e;
  }
  assert.instance(err, BadResource);
  assert.throws(() => conn.close(), (e: unknown) => e instanceof BadResource);
  assert.is(p.a.sockets.openSockets, 0, "nothing leaks");
  const again = p.a.listenDatagram({ port: 6100 });
  again.close();
  await p.close();
});

test("listenDatagram: typed bind errors with Deno-style messages", async () => {
  const p = pair({ seed: 75, b: { allowPrivilegedPorts: false } });
  const first = p.a.listenDatagram({ port: 53 });
  assert.throws(
    () => p.a.listenDatagram({ hostname: "192.0.2.9", port: 53 }),
    (e: unknown) =>
      e instanceof AddrNotAvailable &&
      e.message === "Cannot bind 192.0.2.9:53: address not available on any interface",
  );
  assert.throws(
    () => p.a.listenDatagram({ port: 53 }),
    (e: unknown) => e instanceof AddrInUse && e.code === "EADDRINUSE",
  );
  // SO_REUSEADDR on the newcomer alone is not enough: the first socket lacks it.
  assert.throws(
    () => p.a.listenDatagram({ port: 53, reuseAddress: true }),
    (e: unknown) => e instanceof AddrInUse,
  );
  assert.throws(
    () => p.b.listenDatagram({ port: 53 }),
    (e: unknown) => e instanceof PermissionDenied,
  );
  assert.throws(() => p.a.listenDatagram({ port: 1, transport: "tcp" as "udp" }), TypeError);
  assert.throws(() => p.a.listenDatagram({ hostname: "example.com", port: 1 }), TypeError);
  assert.is(p.a.sockets.openSockets, 1, "failed listens closed their sockets");
  first.close();
  await p.close();
});

test("listenDatagram: reuseAddress shares a port, broadcast enables SO_BROADCAST", async () => {
  const p = pair({ seed: 76 });
  const a = p.b.listenDatagram({ port: 6200, reuseAddress: true });
  const b = p.b.listenDatagram({ port: 6200, reuseAddress: true });
  const caster = p.a.listenDatagram({ port: 0, broadcast: true });
  const plain = p.a.listenDatagram({ port: 0 });
  let denied: unknown;
  try {
    await plain.send(bytes("no"), { hostname: "192.0.2.255", port: 6200 });
  } catch (e) {
    denied = e;
  }
  assert.instance(denied, PermissionDenied);
  await caster.send(bytes("all"), { hostname: "192.0.2.255", port: 6200 });
  const got: [Uint8Array, NetAddr][] = await settle(
    p.clock,
    Promise.all([a.receive(), b.receive()]),
  );
  assert.equal(got.map(([d]) => text(d)), ["all", "all"]);
  for (const c of [a, b, caster, plain]) c.close();
  await p.close();
});

test("DatagramConn: concurrent receive() calls each get a different whole datagram", async () => {
  const p = pair({ seed: 77 });
  const conn = p.a.listenDatagram({ port: 6300 });
  const first = conn.receive();
  const second = conn.receive();
  await conn.send(bytes("short"), { hostname: "127.0.0.1", port: 6300 });
  await conn.send(bytes("a longer one"), { hostname: "127.0.0.1", port: 6300 });
  const got = await settle(p.clock, Promise.all([first, second]));
  assert.equal(got.map(([d]) => text(d)).sort(), ["a longer one", "short"]);
  conn.close();
  await p.close();
});
