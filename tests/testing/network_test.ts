/**
 * The virtual-time test kit (`simulate()`, `Network`): deterministic from
 * the seed, driven without host timers, and clear about waits that can
 * never end.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { simulate, SimulationError } from "../../src/testing/mod.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** One lossy transfer; returns what a test would want to compare between runs. */
async function transfer(seed: number): Promise<string> {
  await using net = simulate({ seed });
  const [a, b] = net.pair({ delay: 25, loss: 0.1, reorder: 0.2, duplicate: 0.05 });
  const listener = b.listen({ port: 9 });
  const served = net.run(async () => {
    const conn = await listener.accept();
    const got = await new Response(conn.readable).text();
    conn.close();
    return got.length;
  });
  const conn = await net.run(a.connect({ hostname: "192.0.2.2", port: 9 }));
  await net.run(conn.write(new Uint8Array(50_000)));
  await conn.closeWrite();
  const n = await served;
  conn.close();
  listener.close();
  return `${n} bytes, t=${net.clock.now()}, retrans=${a.stats.tcp.retransSegs}, ` +
    `lost=${net.links[0]!.devices[0].wire.stats.lost}`;
}

test("simulate: the same seed gives the same run; another seed another one", async () => {
  const first = await transfer(5);
  assert.is(await transfer(5), first);
  assert.match(first, /^50000 bytes/);
  assert.is.not(await transfer(6), first);
});

test("simulate: plain awaits work (pending operations drive the clock); pair() addresses", async () => {
  await using net = simulate({ seed: 2 });
  const [a, b] = net.pair({ delay: 30 });
  assert.equal(net.links[0]!.addresses, ["192.0.2.1", "192.0.2.2"]);
  const listener = b.listen({ port: 7 });
  const conn = await a.connect({ hostname: "192.0.2.2", port: 7 }); // no net.run()
  const peer = await listener.accept();
  await conn.write(enc("hi"));
  const buf = new Uint8Array(8);
  assert.is(await peer.read(buf), 2);
  assert.ok(
    net.clock.now() >= 90,
    `the handshake and the data took virtual time (${net.clock.now()})`,
  );
  const reply = await a.ping("192.0.2.2");
  assert.is(reply.rtt, 60);
  const third = net.stack();
  const link = net.link(b, third, { delay: 1 });
  assert.equal(link.addresses, ["198.51.100.1", "198.51.100.2"]);
  conn.close();
  peer.close();
  listener.close();
});

test("run(): a wait that can never end is a deadlock SimulationError naming the sockets", async () => {
  await using net = simulate({ seed: 3 });
  const [, b] = net.pair({ delay: 10 });
  const listener = b.listen({ port: 80 });
  try {
    await net.run(listener.accept()); // nobody connects
    assert.unreachable("accept() resolved");
  } catch (e) {
    assert.instance(e, SimulationError);
    assert.is((e as SimulationError).kind, "deadlock");
    assert.match(String(e), /nothing is scheduled/);
    assert.match(String(e), /LISTEN\s+0\s+128\s+0\.0\.0\.0:80/);
  }
  listener.close();
});

test("run(): maxMs bounds the virtual time a wait may take (a timeout SimulationError)", async () => {
  await using net = simulate({ seed: 4 });
  const [a] = net.pair({ delay: 10, aToB: { loss: 1 } });
  const started = net.clock.now();
  try {
    await net.run(a.connect({ hostname: "192.0.2.2", port: 80 }), { maxMs: 5_000 });
    assert.unreachable("connected through a dead link");
  } catch (e) {
    assert.instance(e, SimulationError);
    assert.is((e as SimulationError).kind, "timeout");
    assert.match(String(e), /still pending after 5000 ms of virtual time/);
    assert.match(String(e), /SYN-SENT/);
  }
  assert.is(net.clock.now() - started, 5_000);
});

test("settle() runs until nothing is scheduled (TIME-WAIT included); sleep() is virtual", async () => {
  await using net = simulate({ seed: 5 });
  const [a, b] = net.pair({ delay: 5 });
  const listener = b.listen({ port: 7 });
  const conn = await a.connect({ hostname: "192.0.2.2", port: 7 });
  const peer = await listener.accept();
  conn.close();
  peer.close();
  listener.close();
  const before = net.clock.now();
  await net.run(net.sleep(1_000));
  assert.is(net.clock.now() - before, 1_000);
  const took = await net.settle();
  assert.ok(took >= 59_000, `TIME-WAIT (2 MSL) ran out: ${took} ms`);
  assert.is(a.sockets.list().length + b.sockets.list().length, 0);
});

test("close() reports packet buffers that were never freed", async () => {
  const net = simulate();
  const s = net.stack();
  const skb = s.allocator.alloc(64); // a leak on purpose
  try {
    await net.close();
    assert.unreachable("close() passed with a leak");
  } catch (e) {
    assert.match(String(e), /1 packet buffers were never freed/);
  }
  skb?.free();
});

test("simulate: an IPv6 link (2001:db8::/64): TCP across it once DAD is done, with loss", async () => {
  await using net = simulate({ seed: 4 });
  const a = net.stack();
  const b = net.stack();
  const link = net.link(a, b, {
    addresses: ["2001:db8::1/64", "2001:db8::2/64"],
    delay: 10,
    loss: 0.05,
  });
  assert.equal(link.addresses, ["2001:db8::1", "2001:db8::2"]);
  await net.sleep(2000); // duplicate address detection
  const listener = b.listen({ hostname: "::", port: 9 });
  const served = net.run(async () => {
    const conn = await listener.accept();
    const got = await new Response(conn.readable).arrayBuffer();
    assert.is(conn.remoteAddr.hostname, "2001:db8::1");
    conn.close();
    return got.byteLength;
  });
  const conn = await net.run(a.connect({ hostname: "2001:db8::2", port: 9 }));
  await net.run(conn.write(new Uint8Array(100_000)));
  await conn.closeWrite();
  assert.is(await served, 100_000);
  // Every TCP segment went out over IPv6 (a count, not a threshold: with TSO
  // super-segments and one ACK per drain, 100 kB is only a handful).
  assert.ok(a.stats.tcp.outSegs > 0, "segments were sent");
  assert.ok(a.stats.ip6.outRequests >= a.stats.tcp.outSegs, "over IPv6");
  assert.is(a.stats.ip.outRequests, 0, "nothing over IPv4");
  conn.close();
  listener.close();
});
