/**
 * The DHCP client on virtual time against the project's DHCP server on a
 * second stack (B = 192.0.2.1, the server, router and name server; A the
 * client, unconfigured until it has a lease).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { settle } from "../_util/sim.ts";
import { arpFrame, type Capture, capture } from "../_util/frames.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { createPipe, type PipeDevice } from "../../src/link/pipe.ts";
import { Arena } from "../../src/skb/arena.ts";
import { Stack } from "../../src/api/stack.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import type { DhcpClientOptions, DhcpEvent, DhcpLease } from "../../src/dhcp/client.ts";
import { DhcpServer, type DhcpServerOptions } from "../../src/dhcp/server.ts";
import {
  DHCP_DROP_REASONS,
  DhcpMessageType,
  DhcpOption,
  emitDhcp,
  parseDhcp,
} from "../../src/dhcp/wire.ts";
import { formatIpv4 } from "../../src/wire/addr.ts";
import type { DatagramConn } from "../../src/api/datagram.ts";

interface Net {
  clock: VirtualClock;
  a: Stack;
  b: Stack;
  devA: PipeDevice;
  devB: PipeDevice;
  iface: Iface;
  server: DhcpServer;
  socket: DatagramConn;
  events: string[];
  close(): Promise<void>;
}

const SERVER_OPTIONS: DhcpServerOptions = {
  serverAddress: "192.0.2.1",
  prefixLength: 24,
  poolStart: "192.0.2.100",
  poolEnd: "192.0.2.110",
  router: "192.0.2.1",
  dnsServers: ["192.0.2.1"],
  domain: "lan.test",
  mtu: 1400,
  leaseTime: 600,
};

function net(
  o: { server?: Partial<DhcpServerOptions>; client?: DhcpClientOptions; seed?: number } = {},
): Net {
  const clock = new VirtualClock();
  const arena = new Arena();
  const seed = o.seed ?? 1;
  const a = new Stack({ clock, arena, random: new SeededRandom(seed * 2 + 1) });
  const b = new Stack({ clock, arena, random: new SeededRandom(seed * 2 + 2) });
  const [devA, devB] = createPipe({ allocator: a.allocator, clock, seed });
  b.addInterface(devB, { address: "192.0.2.1/24" });
  const socket = b.listenDatagram({ port: 67, broadcast: true });
  const server = new DhcpServer({ socket, clock, drops: b.stats.drops }, {
    ...SERVER_OPTIONS,
    ...o.server,
  });
  const loop = server.run();
  const iface = a.addInterface(devA, { dhcp: o.client ?? {} });
  const events: string[] = [];
  for (const t of ["bound", "renew", "rebind", "renewed", "expired", "nak", "declined"]) {
    a.dhcp(iface)!.addEventListener(t, (e) => {
      events.push(`${t}@${clock.now()}:${(e as DhcpEvent).lease?.address ?? "-"}`);
    });
  }
  return {
    clock,
    a,
    b,
    devA,
    devB,
    iface,
    server,
    socket,
    events,
    async close() {
      socket.close();
      await loop;
      await a.close();
      await b.close();
      clock.runUntilIdle(600_000);
      assert.is(arena.inUse, 0, "arena leak");
    },
  };
}

function sleep(n: Net, ms: number): Promise<void> {
  return settle(n.clock, new Promise<void>((r) => n.clock.setTimer(ms, () => r())));
}

interface SeenDhcp {
  src: string;
  dst: string;
  type: number;
  ciaddr: string;
  broadcast: boolean;
}

/** The DHCP messages in a capture. */
function dhcpOf(c: Capture): SeenDhcp[] {
  const out: SeenDhcp[] = [];
  for (const f of c.ip(17)) {
    const ip = f.ip!;
    const m = parseDhcp(
      f.bytes.subarray(ip.payloadOffset + 8, ip.payloadOffset + ip.payloadLength),
    );
    if (typeof m === "string") continue;
    out.push({
      src: formatIpv4(ip.src),
      dst: formatIpv4(ip.dst),
      type: m.options.get(DhcpOption.MESSAGE_TYPE)?.[0] ?? -1,
      ciaddr: formatIpv4(m.ciaddr),
      broadcast: m.broadcast,
    });
  }
  return out;
}

/** ARP sender IPs in a capture. */
function arpSenders(c: Capture): string[] {
  return c.arp().map((f) =>
    formatIpv4(
      ((f.bytes[28]! << 24) | (f.bytes[29]! << 16) | (f.bytes[30]! << 8) | f.bytes[31]!) >>> 0,
    )
  );
}

const { DISCOVER, REQUEST, DECLINE } = DhcpMessageType;

test("DHCP: DISCOVER/OFFER/REQUEST/ACK configures address, default route, DNS, search domain and MTU (RFC 2131 §3.1, RFC 2132)", async () => {
  const n = net();
  const tx = capture(n.devA);
  assert.is(n.iface.address, 0, "unconfigured before the lease");
  const lease: DhcpLease = await settle(n.clock, n.a.dhcp(n.iface)!.bound());
  assert.is(lease.address, "192.0.2.100");
  assert.is(formatIpv4(n.iface.address), "192.0.2.100");
  assert.is(n.iface.prefixLength, 24);
  const def = n.a.routes.lookup(0xc6336401)!; // 198.51.100.1 goes via the router
  assert.is(formatIpv4(def.nextHop), "192.0.2.1");
  assert.is(def.mtu, 1400, "option 26 applied to the routes");
  assert.equal(n.a.dns.config.nameServers, [{ address: "192.0.2.1", port: 53 }]);
  assert.equal(n.a.dns.config.search, ["lan.test"]);
  assert.equal(n.events, [`bound@${n.clock.now()}:192.0.2.100`]);
  // DISCOVER and REQUEST from 0.0.0.0 to the broadcast with the broadcast flag.
  assert.equal(dhcpOf(tx).map((d) => [d.src, d.dst, d.type, d.broadcast]), [
    ["0.0.0.0", "255.255.255.255", DISCOVER, true],
    ["0.0.0.0", "255.255.255.255", REQUEST, true],
  ]);
  // Two ARP probes with sender 0.0.0.0 (RFC 5227) before the address is used, then an announcement.
  assert.equal(arpSenders(tx).slice(0, 3), ["0.0.0.0", "0.0.0.0", "192.0.2.100"]);
  const reply = await settle(n.clock, n.a.ping("192.0.2.1"));
  assert.is(reply.from, "192.0.2.1");
  await n.close();
});

test("DHCP: renews at T1 by unicast, rebinds at T2 by broadcast when renewals go unanswered (RFC 2131 §4.4.5)", async () => {
  const n = net();
  const first = await settle(n.clock, n.a.dhcp(n.iface)!.bound());
  // T1 = 300 s of a 600 s lease: a unicast REQUEST with ciaddr, answered at once.
  await sleep(n, first.obtainedAt + 300_000 - n.clock.now() + 1);
  assert.match(n.events.join(" "), /renewed@/);
  const second = n.a.dhcp(n.iface)!.lease!;
  assert.is(second.obtainedAt, first.obtainedAt + 300_000);
  // Now renewals are ignored until T2 (525 s): RENEWING retransmits, then REBINDING broadcasts.
  const t2 = second.obtainedAt + 525_000;
  n.server.filter = (m, type) => !(type === REQUEST && m.ciaddr !== 0 && n.clock.now() < t2);
  const tx = capture(n.devA);
  await sleep(n, t2 - n.clock.now() + 1);
  const seen = dhcpOf(tx).map((d) => [d.src, d.dst, d.type, d.ciaddr]);
  assert.equal(seen, [
    ["192.0.2.100", "192.0.2.1", REQUEST, "192.0.2.100"], // T1
    ["192.0.2.100", "192.0.2.1", REQUEST, "192.0.2.100"], // half of 225 s later
    ["192.0.2.100", "192.0.2.1", REQUEST, "192.0.2.100"], // 60 s minimum
    ["192.0.2.100", "255.255.255.255", REQUEST, "192.0.2.100"], // T2: REBINDING
  ]);
  assert.equal(n.a.dhcp(n.iface)!.state, "BOUND");
  assert.match(n.events.join(" "), /rebind@.*renewed@/);
  assert.is(formatIpv4(n.iface.address), "192.0.2.100");
  await n.close();
});

test("DHCP: a lease the server stops renewing expires and the address, routes and DNS go away", async () => {
  const n = net();
  const lease = await settle(n.clock, n.a.dhcp(n.iface)!.bound());
  n.server.filter = () => false; // silent from now on
  await sleep(n, lease.obtainedAt + 600_000 - n.clock.now() - 1);
  assert.is(formatIpv4(n.iface.address), "192.0.2.100", "still ours 1 ms before the end");
  await sleep(n, 2);
  assert.is(n.iface.address, 0, "removed at the end of the lease");
  assert.is(n.a.routes.routes.filter((r) => r.iface === n.iface).length, 0);
  assert.equal(n.a.dns.config.nameServers, []);
  assert.match(n.events.join(" "), /expired@/);
  const err = await settle(n.clock, n.a.ping("192.0.2.1").catch((e) => e));
  assert.instance(err, Error);
  // It starts over: a server that answers again gives a lease again.
  n.server.filter = null;
  const again = await settle(n.clock, n.a.dhcp(n.iface)!.bound());
  assert.is(again.address, "192.0.2.100");
  await n.close();
});

test("DHCP: another host answering for the offered address → DHCPDECLINE, ten seconds, another address (RFC 2131 §4.4.1, §3.1 step 5)", async () => {
  const n = net();
  const client = n.a.dhcp(n.iface)!;
  const tx = capture(n.devA);
  const intruder = 0x02_00_00_00_0b_ad;
  let declinedAt = -1;
  client.addEventListener("state", () => {
    if (client.state === "CHECKING" && declinedAt < 0) {
      // Someone already uses 192.0.2.100: it answers our probe.
      const frame = arpFrame({
        op: 2,
        senderMac: intruder,
        senderIp: 0xc0000264,
        targetMac: n.devA.mac,
        targetIp: 0,
        ethDst: n.devA.mac,
      });
      const skb = n.b.allocator.alloc(frame.length)!;
      skb.append(frame);
      n.devB.transmit(skb);
    }
    if (client.state === "DECLINED") declinedAt = n.clock.now();
  });
  const lease = await settle(n.clock, client.bound());
  assert.is(lease.address, "192.0.2.101", "the declined address is not offered again");
  assert.is(client.stats.declines, 1);
  assert.is(n.server.stats.declines, 1);
  const msgs = dhcpOf(tx);
  const decline = msgs.find((d) => d.type === DECLINE)!;
  assert.equal([decline.src, decline.dst, decline.ciaddr], [
    "0.0.0.0",
    "255.255.255.255",
    "0.0.0.0",
  ]);
  const rediscover = msgs.filter((d) => d.type === DISCOVER)[1];
  assert.ok(rediscover !== undefined);
  assert.ok(n.clock.now() - declinedAt >= 10_000, "waited ten seconds before starting over");
  assert.match(n.events.join(" "), /declined@\d+:192\.0\.2\.100 bound@\d+:192\.0\.2\.101/);
  await n.close();
});

test("DHCP: INIT-REBOOT asks for the old address without DISCOVER; a NAK sends the client to INIT (RFC 2131 §3.2)", async () => {
  const n = net({ client: { requestedAddress: "192.0.2.105" } });
  const lease = await settle(n.clock, n.a.dhcp(n.iface)!.bound());
  assert.is(lease.address, "192.0.2.105");
  assert.is(n.server.stats.discovers, 0, "no DISCOVER");
  assert.is(n.server.stats.requests, 1);
  await n.close();
  // An address from another network: NAK, then the normal DISCOVER path.
  const m = net({ client: { requestedAddress: "198.51.100.7" } });
  const l2 = await settle(m.clock, m.a.dhcp(m.iface)!.bound());
  assert.is(l2.address, "192.0.2.100");
  assert.match(m.events.join(" "), /nak@/);
  assert.is(m.server.stats.naks, 1);
  await m.close();
});

test("DHCP: a NAK while renewing removes the address at once and starts over", async () => {
  const n = net();
  const lease = await settle(n.clock, n.a.dhcp(n.iface)!.bound());
  n.server.revoke("192.0.2.100");
  await sleep(n, lease.obtainedAt + 300_000 - n.clock.now() + 1);
  assert.match(n.events.join(" "), /nak@\d+:192\.0\.2\.100/);
  const again = await settle(n.clock, n.a.dhcp(n.iface)!.bound());
  assert.is(again.address, "192.0.2.101");
  await n.close();
});

test("DHCP client fuzz: malformed and stray replies on port 68 are counted, never exceptions", async () => {
  const n = net();
  await settle(n.clock, n.a.dhcp(n.iface)!.bound());
  const client = n.a.dhcp(n.iface)!;
  const rng = new SeededRandom(testSeed());
  const good = emitDhcp({
    op: 2,
    xid: client.xid,
    secs: 0,
    broadcast: true,
    ciaddr: 0,
    yiaddr: 0xc0000265,
    siaddr: 0,
    giaddr: 0,
    chaddr: n.devA.mac,
    options: new Map([
      [DhcpOption.MESSAGE_TYPE, Uint8Array.of(5)],
      [DhcpOption.SERVER_ID, Uint8Array.of(192, 0, 2, 1)],
    ]),
  });
  const N = 5000;
  for (let i = 0; i < N; i++) {
    const m = good.slice(0, 200 + (rng.nextU32() % 150));
    for (let k = 0; k < 4; k++) {
      const at = rng.nextU32() % m.length;
      m[at] = m[at]! ^ (1 << (rng.nextU32() % 8));
    }
    await n.socket.send(m, { hostname: "192.0.2.100", port: 68 });
    if (i % 50 === 0) await sleep(n, 1);
  }
  await sleep(n, 10);
  const drops = n.a.stats.drops.snapshot();
  let dropped = 0;
  for (const [k, v] of Object.entries(drops)) {
    if (!k.startsWith("dhcp.")) continue;
    assert.ok((DHCP_DROP_REASONS as readonly string[]).includes(k) || k === "dhcp.no_client", k);
    dropped += v;
  }
  const ignored = client.stats.ignored;
  assert.ok(dropped > 0 && ignored > 0, `${dropped} dropped, ${ignored} ignored`);
  assert.is(client.state, "BOUND");
  assert.is(client.lease!.address, "192.0.2.100", "no mutated reply changed the lease");
  await n.close();
});
