import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair } from "../_util/sim.ts";
import { SO_REUSEADDR, SOL_SOCKET } from "../../src/socket/constants.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { UdpSock } from "../../src/udp/sock.ts";
import { UdpTable } from "../../src/udp/table.ts";
import { bytes, rejects, throws, udpSocket } from "../socket/_util.ts";

const LO = 32768;
const HI = 60999;

/** Chi-square statistic of `ports` over `bins` equal slices of [lo, hi]. */
function chiSquare(ports: number[], lo: number, hi: number, bins: number): number {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo + 1) / bins;
  for (const port of ports) counts[Math.floor((port - lo) / width)]!++;
  const expected = ports.length / bins;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

test("RFC 6056 (N2): ephemeral ports are spread over 32768–60999, with no sequential pattern", async () => {
  const p = pair({ seed: 61, a: { maxSockets: 2100 } });
  const s = p.a.sockets;
  // Held open: each new port must avoid the ones in use.
  const held: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const fd = udpSocket(p.a, { port: 0 });
    held.push(s.getsockname(fd).port);
  }
  // Allocated and released one at a time: nothing carries over but chance.
  const churn: number[] = [];
  const fd = udpSocket(p.a);
  for (let i = 0; i < 2000; i++) {
    await s.connect(fd, { address: "127.0.0.1", port: 9 }); // autobinds (inet_dgram_connect)
    churn.push(s.getsockname(fd).port);
    await s.connect(fd, { family: 0 }); // AF_UNSPEC: releases the autobound port
  }
  for (const ports of [held, churn]) {
    assert.ok(ports.every((x) => x >= LO && x <= HI), "inside the range");
    // 16 bins, 15 degrees of freedom: 37.7 is the 0.1 % critical value.
    const chi = chiSquare(ports, LO, HI, 16);
    assert.ok(chi < 37.7, `chi-square ${chi.toFixed(1)}`);
    let steps = 0;
    for (let i = 1; i < ports.length; i++) if (Math.abs(ports[i]! - ports[i - 1]!) <= 2) steps++;
    assert.ok(steps < 10, `${steps} near-sequential neighbours`);
  }
  assert.is(new Set(held).size, held.length, "held ports are distinct");
  await p.close();
});

test("explicitly bound ports are never picked as ephemeral ports; exhaustion: bind EADDRINUSE, autobind EAGAIN", async () => {
  const p = pair({ seed: 62, a: { localPortRange: [40000, 40099] } });
  const s = p.a.sockets;
  const explicit = new Set<number>();
  for (let port = 40000; port < 40100; port += 2) {
    const fd = udpSocket(p.a);
    s.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1); // sharing would be allowed: still skipped
    s.bind(fd, { port });
    explicit.add(port);
  }
  const picked: number[] = [];
  for (let i = 0; i < 50; i++) {
    const fd = udpSocket(p.a);
    s.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    s.bind(fd, { port: 0 });
    picked.push(s.getsockname(fd).port);
  }
  assert.ok(picked.every((x) => !explicit.has(x) && x >= 40000 && x <= 40099));
  assert.is(new Set(picked).size, 50, "every odd port, once");
  // The range is full now. Seeds: bind → get_port failure is EADDRINUSE
  // ([004] step 8); the automatic bind of send/connect is EAGAIN ([001]).
  const fd = udpSocket(p.a);
  const e = throws(() => s.bind(fd, { port: 0 }), "EADDRINUSE");
  assert.match(e.message, /no free port in the local port range/);
  await rejects(s.sendto(fd, bytes("x"), 0, { address: "127.0.0.1", port: 9 }), "EAGAIN");
  await rejects(s.connect(fd, { address: "127.0.0.1", port: 9 }), "EAGAIN");
  s.bind(fd, { port: 40100 }); // outside the range an explicit bind still works
  await p.close();
});

test("an explicit bind of a port an ephemeral socket holds is EADDRINUSE", async () => {
  const p = pair({ seed: 63 });
  const s = p.a.sockets;
  const eph = udpSocket(p.a, { port: 0 });
  const port = s.getsockname(eph).port;
  throws(() => udpSocket(p.a, { port }), "EADDRINUSE");
  await p.close();
});

test("UdpTable: a range from the Stack option, checked; the table empties as sockets leave", () => {
  const t = new UdpTable(new SeededRandom(7), [50000, 50009]);
  const socks = Array.from({ length: 10 }, () => new UdpSock(212992, 212992));
  for (const sk of socks) assert.is(t.getPort(sk, 0), 0);
  assert.equal(socks.map((sk) => sk.num).sort(), [...Array(10).keys()].map((i) => 50000 + i));
  assert.is(t.getPort(new UdpSock(1, 1), 0), -98);
  for (const sk of socks) t.unhash(sk);
  assert.is(t.size, 0);
  assert.throws(() => new UdpTable(new SeededRandom(1), [2000, 1000]), RangeError);
  assert.throws(() => (t.localPortRange = [0, 10]), RangeError);
  t.localPortRange = [1024, 65535];
  assert.equal(t.localPortRange, [1024, 65535]);
});
