/**
 * Routing and source address selection in live stacks: longest-prefix
 * match, default gateway (next hop and ARP target), the outgoing
 * interface's source address, ENETUNREACH, down interfaces, metrics, and
 * route MTUs (RFC 1122 §3.3.1, §3.3.4.3; Linux `fib_lookup`).
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { settle } from "../_util/sim.ts";
import { capture, ip, pattern } from "../_util/frames.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { Stack } from "../../src/api/stack.ts";
import { createPipe, type PipeDevice } from "../../src/link/pipe.ts";
import { Arena } from "../../src/skb/arena.ts";
import { MAC_BROADCAST } from "../../src/wire/addr.ts";
import { get16, get32 } from "../../src/wire/bytes.ts";
import { IcmpType } from "../../src/wire/icmp.ts";
import { NetworkUnreachable } from "../../src/socket/errors.ts";

const RAW = 253;
const MAC_A0 = 0x02_00_00_00_0a_01;
const MAC_B0 = 0x02_00_00_00_0b_01;
const MAC_B1 = 0x02_00_00_00_0b_02;
const MAC_C0 = 0x02_00_00_00_0c_01;

/**
 * A (192.0.2.1/24, default via 192.0.2.254) — B (192.0.2.254/24 and
 * 198.51.100.254/24) — C (198.51.100.1/24, default via 198.51.100.254).
 * B is a host stack: it does not forward.
 */
interface Topo {
  clock: VirtualClock;
  arena: Arena;
  a: Stack;
  b: Stack;
  c: Stack;
  a0: PipeDevice;
  b0: PipeDevice;
  b1: PipeDevice;
  c0: PipeDevice;
  close(): Promise<void>;
}

function topo(): Topo {
  const clock = new VirtualClock();
  const arena = new Arena();
  const seed = testSeed();
  const mk = (n: number) => new Stack({ clock, arena, random: new SeededRandom(seed * 10 + n) });
  const a = mk(1), b = mk(2), c = mk(3);
  const [a0, b0] = createPipe({
    allocator: a.allocator,
    clock,
    seed,
    names: ["a0", "b0"],
    macs: [MAC_A0, MAC_B0],
    impair: { delay: 1 },
  });
  const [b1, c0] = createPipe({
    allocator: a.allocator,
    clock,
    seed: seed + 1,
    names: ["b1", "c0"],
    macs: [MAC_B1, MAC_C0],
    impair: { delay: 1 },
  });
  a.addInterface(a0, { address: "192.0.2.1/24", gateway: "192.0.2.254" });
  b.addInterface(b0, { address: "192.0.2.254/24" });
  b.addInterface(b1, { address: "198.51.100.254/24" });
  c.addInterface(c0, { address: "198.51.100.1/24", gateway: "198.51.100.254" });
  clock.advance(10); // announcements delivered
  return {
    clock,
    arena,
    a,
    b,
    c,
    a0,
    b0,
    b1,
    c0,
    async close() {
      await a.close();
      await b.close();
      await c.close();
      clock.runUntilIdle(600_000);
      assert.is(arena.inUse, 0, "arena slots leaked");
    },
  };
}

async function rejects(p: Promise<unknown>, clock: VirtualClock): Promise<unknown> {
  try {
    await settle(clock, p);
  } catch (e) {
    return e;
  }
  assert.unreachable("expected a rejection");
}

function sendRaw(stack: Stack, dst: number, n = 32): number {
  const skb = stack.allocator.alloc(n)!;
  skb.append(pattern(n));
  return stack.ipv4.output(skb, dst, { protocol: RAW });
}

test("default gateway: an off-link datagram goes to the gateway's MAC with the final IP; ARP asks for the gateway", async () => {
  const t = topo();
  const tx = capture(t.a0);
  const cRx = capture(t.c0, "rx");
  const err = await rejects(t.a.ping("198.51.100.1", { timeout: 500 }), t.clock);
  assert.match(String(err), /no reply/, "B does not forward, so C never answers");
  const arp = tx.arp();
  assert.is(arp.length, 1);
  assert.is(get32(arp[0]!.bytes, 14 + 24), ip("192.0.2.254"), "ARP target is the gateway, not C");
  const echo = tx.icmp(IcmpType.ECHO_REQUEST);
  assert.is(echo.length, 1);
  assert.is(echo[0]!.ethDst, MAC_B0, "frame addressed to the gateway's MAC");
  assert.is(echo[0]!.ip!.dst, ip("198.51.100.1"), "datagram addressed to C");
  assert.is(echo[0]!.ip!.src, ip("192.0.2.1"));
  assert.is(t.b.stats.drops.get("ipv4.not_for_us"), 1, "B is a host: not for it, dropped");
  assert.is(cRx.ip().length, 0, "nothing reached C's subnet");
  assert.is(t.a.neighbours.lookup(ip("198.51.100.1")), undefined);
  assert.is(t.a.neighbours.lookup(ip("192.0.2.254")), MAC_B0);
  // The gateway itself is reachable directly.
  const r = await settle(t.clock, t.a.ping("192.0.2.254"));
  assert.ok(r.dataMatches);
  await t.close();
});

test("longest-prefix match: /25 beats /24 beats /0, whatever the insertion order; next hop and ARP target follow", async () => {
  const t = topo();
  const ifA = t.a.interfaceOf(t.a0)!;
  const gw24 = ip("192.0.2.253"), gw25 = ip("192.0.2.252"), gw32 = ip("192.0.2.251");
  t.a.routes.add(ifA, ip("203.0.113.128"), 25, { gateway: gw25 });
  t.a.routes.add(ifA, ip("203.0.113.0"), 24, { gateway: gw24 });
  t.a.routes.add(ifA, ip("203.0.113.200"), 32, { gateway: gw32 });
  const hop = (d: string) => t.a.ipv4.route(ip(d))?.nextHop;
  assert.is(hop("203.0.113.1"), gw24);
  assert.is(hop("203.0.113.127"), gw24);
  assert.is(hop("203.0.113.128"), gw25);
  assert.is(hop("203.0.113.255"), gw25);
  assert.is(hop("203.0.113.200"), gw32);
  assert.is(hop("203.0.114.1"), ip("192.0.2.254"), "default route");
  assert.is(hop("192.0.2.77"), ip("192.0.2.77"), "on-link: the destination itself");
  // On the wire: the ARP request names the chosen gateway.
  const tx = capture(t.a0);
  for (const d of ["203.0.113.5", "203.0.113.130", "203.0.113.200"]) sendRaw(t.a, ip(d));
  t.clock.advance(1);
  assert.equal(tx.arp().map((f) => get32(f.bytes, 14 + 24)), [gw24, gw25, gw32]);
  t.clock.advance(5000); // let the resolutions fail
  await t.close();
});

test("source address selection: a multi-homed host uses the outgoing interface's address", async () => {
  const t = topo();
  // Make A multi-homed: a second link, 203.0.113.0/24, straight to C.
  const [a1, c1] = createPipe({
    allocator: t.a.allocator,
    clock: t.clock,
    names: ["a1", "c1"],
    macs: [0x02_00_00_00_0a_02, 0x02_00_00_00_0c_02],
  });
  t.a.addInterface(a1, { address: "203.0.113.7/24" });
  t.c.addInterface(c1, { address: "203.0.113.8/24" });
  t.clock.advance(10);
  const tx0 = capture(t.a0);
  const tx1 = capture(a1);
  await settle(t.clock, t.a.ping("192.0.2.254")); // B via a0
  await settle(t.clock, t.a.ping("203.0.113.8")); // C via a1 (on-link beats the default)
  const e0 = tx0.icmp(IcmpType.ECHO_REQUEST);
  const e1 = tx1.icmp(IcmpType.ECHO_REQUEST);
  assert.is(e0.length, 1);
  assert.is(e1.length, 1);
  assert.is(e0[0]!.ip!.src, ip("192.0.2.1"));
  assert.is(e1[0]!.ip!.src, ip("203.0.113.7"));
  assert.is(t.a.ipv4.route(ip("203.0.113.200"))!.src, ip("203.0.113.7"));
  assert.is(t.a.ipv4.route(ip("8.8.8.8"))!.src, ip("192.0.2.1"), "default route via a0");
  // A route may name a preferred source; it is used when given.
  t.a.routes.add(t.a.interfaceOf(a1)!, ip("198.18.0.0"), 15, {
    gateway: ip("203.0.113.8"),
    src: ip("192.0.2.1"),
  });
  assert.is(t.a.ipv4.route(ip("198.18.3.4"))!.src, ip("192.0.2.1"));
  assert.is(t.a.ipv4.route(ip("198.18.3.4"))!.iface.name, "a1");
  t.a.removeInterface(t.a.interfaceOf(a1)!);
  t.c.removeInterface(t.c.interfaceOf(c1)!);
  a1.close();
  await t.close();
});

test("ENETUNREACH with no route: ping rejects NetworkUnreachable, output returns -ENETUNREACH, outNoRoutes counted", async () => {
  const clock = new VirtualClock();
  const s = new Stack({ clock, random: new SeededRandom(testSeed()) });
  const [d0, d1] = createPipe({ allocator: s.allocator, clock });
  s.addInterface(d0, { address: "192.0.2.1/24" }); // no gateway
  const err = await rejects(s.ping("198.51.100.1"), clock);
  assert.instance(err, NetworkUnreachable);
  assert.is((err as { code: string }).code, "ENETUNREACH");
  assert.is(sendRaw(s, ip("198.51.100.1")), -101 /* ENETUNREACH */);
  assert.is(s.stats.ip.outNoRoutes, 2);
  assert.is(s.arena.inUse, 1, "only the gratuitous ARP on the wire; the datagrams were freed");
  await s.close();
  d1.close();
  clock.runUntilIdle();
  assert.is(s.arena.inUse, 0);
});

test("routes through a down interface are skipped; with every route down the result is ENETUNREACH; up again restores it", async () => {
  const t = topo();
  const [a1, x1] = createPipe({
    allocator: t.a.allocator,
    clock: t.clock,
    names: ["a1", "x1"],
    macs: [0x02_00_00_00_0a_02, 0x02_00_00_00_0e_01],
  });
  t.a.addInterface(a1, { address: "10.9.0.1/24", announce: false });
  x1.up();
  const dst = ip("203.0.113.9");
  t.a.routes.add(t.a.interfaceOf(t.a0)!, ip("203.0.113.0"), 24, { gateway: ip("192.0.2.254") });
  t.a.routes.add(t.a.interfaceOf(a1)!, ip("203.0.113.0"), 24, {
    gateway: ip("10.9.0.2"),
    metric: 5,
  });
  assert.is(t.a.ipv4.route(dst)!.iface.name, "a0", "lower metric wins");
  t.a0.down();
  assert.is(t.a.ipv4.route(dst)!.iface.name, "a1", "the down interface is skipped");
  assert.is(t.a.ipv4.route(dst)!.src, ip("10.9.0.1"));
  assert.is(t.a.ipv4.route(ip("8.8.8.8")), null, "the default route is on the down interface");
  a1.down();
  assert.is(t.a.ipv4.route(dst), null);
  assert.is(sendRaw(t.a, dst), -101);
  t.a0.up();
  a1.up();
  assert.is(t.a.ipv4.route(dst)!.iface.name, "a0");
  t.a.removeInterface(t.a.interfaceOf(a1)!);
  assert.is(t.a.routes.routes.filter((r) => r.iface.name === "a1").length, 0, "routes removed");
  a1.close();
  await t.close();
});

test("metric ties: lower metric wins regardless of order; equal metrics keep the first route added", async () => {
  const t = topo();
  const ifA = t.a.interfaceOf(t.a0)!;
  const g1 = ip("192.0.2.11"), g2 = ip("192.0.2.12"), g3 = ip("192.0.2.13");
  t.a.routes.add(ifA, ip("203.0.113.0"), 24, { gateway: g1, metric: 10 });
  t.a.routes.add(ifA, ip("203.0.113.0"), 24, { gateway: g2, metric: 5 });
  t.a.routes.add(ifA, ip("203.0.113.0"), 24, { gateway: g3, metric: 5 });
  assert.is(t.a.ipv4.route(ip("203.0.113.1"))!.nextHop, g2);
  t.a.routes.remove((r) => r.gateway === g2);
  assert.is(t.a.ipv4.route(ip("203.0.113.1"))!.nextHop, g3);
  t.a.routes.remove((r) => r.gateway === g3);
  assert.is(t.a.ipv4.route(ip("203.0.113.1"))!.nextHop, g1);
  await t.close();
});

test("route validation: an off-link gateway and a bad prefix length are refused", async () => {
  const t = topo();
  const ifA = t.a.interfaceOf(t.a0)!;
  assert.throws(
    () => t.a.routes.add(ifA, ip("203.0.113.0"), 24, { gateway: ip("10.0.0.1") }),
    RangeError,
  );
  assert.throws(() => t.a.routes.add(ifA, 0, 33), RangeError);
  assert.throws(() => t.a.routes.add(ifA, 0, -1), RangeError);
  assert.throws(() => t.a.routes.add(ifA, 0, 1.5), RangeError);
  assert.throws(() => t.a.addInterface(t.a0, { address: "192.0.2.9/24" }), TypeError);
  const [x, y] = createPipe({ allocator: t.a.allocator, clock: t.clock, names: ["x", "y"] });
  assert.throws(() => t.a.addInterface(x, { address: "192.0.2.9" }), TypeError);
  assert.throws(
    () => t.a.addInterface(x, { address: "192.0.2.9/24", gateway: "nonsense" }),
    TypeError,
  );
  // The failed gateway parse happened after attaching: clean up what was attached.
  const stray = t.a.interfaceOf(x);
  if (stray !== undefined) t.a.removeInterface(stray);
  x.close();
  y.close();
  await t.close();
});

test("own addresses route through loopback even when a more specific route points elsewhere", async () => {
  const t = topo();
  t.a.routes.add(t.a.interfaceOf(t.a0)!, ip("192.0.2.1"), 32, { gateway: ip("192.0.2.254") });
  const r = t.a.ipv4.route(ip("192.0.2.1"))!;
  assert.is(r.iface.name, "lo");
  assert.is(r.src, ip("192.0.2.1"));
  const tx = capture(t.a0);
  const reply = await settle(t.clock, t.a.ping("192.0.2.1"));
  assert.is(reply.rtt, 0);
  assert.is(tx.frames.length, 0);
  await t.close();
});

test("limited broadcast leaves through the first up interface to the link broadcast with no ARP; directed broadcast too", async () => {
  const t = topo();
  const got: number[] = [];
  t.b.ipv4.register(RAW, {
    rcv(skb, ip) {
      got.push(ip.dst);
      skb.free();
    },
  });
  const tx = capture(t.a0);
  assert.is(sendRaw(t.a, 0xffffffff), 0);
  assert.is(sendRaw(t.a, ip("192.0.2.255")), 0);
  t.clock.advance(5);
  assert.is(tx.arp().length, 0);
  assert.equal(tx.ip(RAW).map((f) => [f.ethDst, f.ip!.src]), [
    [MAC_BROADCAST, ip("192.0.2.1")],
    [MAC_BROADCAST, ip("192.0.2.1")],
  ]);
  assert.equal(got, [0xffffffff, ip("192.0.2.255")]);
  t.a0.down();
  assert.is(sendRaw(t.a, 0xffffffff), -101, "no up interface for a limited broadcast");
  t.a0.up();
  await t.close();
});

test("a route MTU smaller than the device's fragments to the route MTU", async () => {
  const t = topo();
  const ifA = t.a.interfaceOf(t.a0)!;
  t.a.routes.add(ifA, ip("192.0.2.254"), 32, { mtu: 576 });
  t.a.routes.add(ifA, ip("192.0.2.200"), 32, { mtu: 9000 }); // clamped to the device's 1500
  assert.is(t.a.ipv4.route(ip("192.0.2.200"))!.mtu, 1500);
  await settle(t.clock, t.a.ping("192.0.2.254")); // resolve first (see layer_test L3/I9)
  const tx = capture(t.a0);
  const r = await settle(t.clock, t.a.ping("192.0.2.254", { size: 2000 }));
  assert.ok(r.dataMatches);
  const req = tx.ip(1);
  assert.ok(req.length >= 4);
  assert.ok(req.every((f) => f.ip!.headerLength + f.ip!.payloadLength <= 576));
  assert.is(get16(req[0]!.bytes, 16), 572, "first fragment: 20 + 552");
  await t.close();
});
