import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { capture, datagramOf, icmpError, IP_A, IP_B, ipv4Frame, pattern } from "../_util/frames.ts";
import {
  IP_MTU_DISCOVER,
  IP_MULTICAST_TTL,
  IP_PMTUDISC_DO,
  IP_RECVERR,
  IP_TOS,
  IP_TTL,
  MSG_ERRQUEUE,
  POLLERR,
  SO_BROADCAST,
  SO_ERROR,
  SO_NO_CHECK,
  SO_RCVBUF,
  SO_REUSEADDR,
  SOL_IP,
  SOL_SOCKET,
} from "../../src/socket/constants.ts";
import { ConnectionRefused, HostUnreachable, MessageTooLong } from "../../src/socket/errors.ts";
import { checksum, finishChecksum, ipv4PseudoSum } from "../../src/wasm/checksum.ts";
import { get16 } from "../../src/wire/bytes.ts";
import type { Pair } from "../_util/sim.ts";
import type { Stack } from "../../src/api/stack.ts";
import { DEFAULT_SIZE_CLASSES } from "../../src/skb/arena.ts";
import { bytes, rejects, text, throws, udpSocket } from "../socket/_util.ts";

const B = "192.0.2.2";

/** Resolve ARP between the pair (the neighbour layer queues only 3 packets meanwhile). */
async function warm(p: Pair): Promise<void> {
  await settle(p.clock, p.a.ping(B));
}

/** An open socket with SO_REUSEADDR, bound to `address:port`. */
function reuseSocket(stack: Stack, address: string, port: number): number {
  const fd = udpSocket(stack);
  stack.sockets.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  stack.sockets.bind(fd, { address, port });
  return fd;
}

/** What is queued on `fd` right now, as text (no waiting). */
function drain(stack: Stack, fd: number): string[] {
  const out: string[] = [];
  const buf = new Uint8Array(2048);
  for (;;) {
    try {
      const r = stack.sockets.recvfromNow(fd, buf);
      out.push(text(buf.subarray(0, r.bytes)));
    } catch {
      return out;
    }
  }
}

test("U4: a datagram whose checksum computes to 0 goes out as 0xffff and is accepted", async () => {
  const p = pair({ seed: 41 });
  // Search the two-byte payload that makes the computed checksum 0.
  const seg = new Uint8Array(10);
  seg.set([40000 >> 8, 40000 & 255, 7000 >> 8, 7000 & 255, 0, 10, 0, 0]);
  let payload = -1;
  for (let x = 0; x < 65536 && payload < 0; x++) {
    seg[8] = x >> 8;
    seg[9] = x & 255;
    if (finishChecksum(checksum(seg, 0, 10, ipv4PseudoSum(IP_A, IP_B, 17, 10))) === 0) payload = x;
  }
  assert.ok(payload >= 0, "some payload sums to 0");
  const rx = udpSocket(p.b, { port: 7000 });
  const tx = udpSocket(p.a, { address: "192.0.2.1", port: 40000 });
  const cap = capture(p.devA);
  await p.a.sockets.sendto(tx, seg.subarray(8, 10), 0, { address: B, port: 7000 });
  const r = await settle(p.clock, p.b.sockets.recvfrom(rx, new Uint8Array(4)));
  assert.is(r.bytes, 2);
  const f = cap.ip(17)[0]!;
  const udpAt = f.ip!.payloadOffset;
  assert.is(get16(f.bytes, udpAt + 6), 0xffff, "RFC 768: computed 0 is sent as all ones");
  assert.is(
    checksum(f.bytes, udpAt, 10, ipv4PseudoSum(IP_A, IP_B, 17, 10)),
    0xffff,
    "and verifies",
  );
  assert.is(p.b.stats.udp.inCsumErrors, 0);
  await p.close();
});

test("U4: checksum 0 (SO_NO_CHECK sender) means none and is accepted", async () => {
  const p = pair({ seed: 42 });
  const rx = udpSocket(p.b, { port: 7001 });
  const tx = udpSocket(p.a);
  p.a.sockets.setsockopt(tx, SOL_SOCKET, SO_NO_CHECK, 1);
  const cap = capture(p.devA);
  await p.a.sockets.sendto(tx, bytes("unchecked"), 0, { address: B, port: 7001 });
  const buf = new Uint8Array(16);
  const r = await settle(p.clock, p.b.sockets.recvfrom(rx, buf));
  assert.is(text(buf.subarray(0, r.bytes)), "unchecked");
  const f = cap.ip(17)[0]!;
  assert.is(get16(f.bytes, f.ip!.payloadOffset + 6), 0);
  assert.is(p.b.stats.udp.inCsumErrors, 0);
  await p.close();
});

test("U4: a bad non-zero checksum is silently dropped and counted (inCsumErrors), no ICMP", async () => {
  const p = pair({ seed: 43 });
  const rx = udpSocket(p.b, { port: 7002 });
  const tx = udpSocket(p.a);
  const cap = capture(p.devA);
  await p.a.sockets.sendto(tx, bytes("good"), 0, { address: B, port: 7002 });
  await settle(p.clock, p.b.sockets.recvfrom(rx, new Uint8Array(8)));
  const frame = cap.ip(17)[0]!.bytes.slice();
  frame[frame.length - 1]! ^= 0x01; // one data bit: the IP header stays valid
  p.devB.receiveBytes(frame);
  p.clock.runUntilIdle(1000);
  const st = p.b.stats.udp;
  assert.is(st.inCsumErrors, 1);
  assert.is(st.inErrors, 1);
  assert.is(p.b.stats.drops.get("udp.bad_checksum"), 1);
  assert.equal(drain(p.b, rx), []);
  assert.is(p.b.stats.icmp.outByType[3], 0, "silently");
  await p.close();
});

test("U1/C8: no socket on the port → ICMP port unreachable to the sender, counted in noPorts", async () => {
  const p = pair({ seed: 44 });
  const tx = udpSocket(p.a);
  const cap = capture(p.devB);
  await p.a.sockets.sendto(tx, bytes("anyone?"), 0, { address: B, port: 9999 });
  p.clock.runUntilIdle(1000);
  assert.is(p.b.stats.udp.noPorts, 1);
  const icmp = cap.icmp(3);
  assert.is(icmp.length, 1);
  const f = icmp[0]!;
  assert.is(f.bytes[f.ip!.payloadOffset + 1], 3, "code 3: port unreachable");
  assert.is(f.ip!.dst, IP_A);
  assert.is(p.a.stats.icmp.inByType[3], 1);
  await p.close();
});

test("C2: no port unreachable about a broadcast datagram", async () => {
  const p = pair({ seed: 45 });
  const tx = udpSocket(p.a);
  p.a.sockets.setsockopt(tx, SOL_SOCKET, SO_BROADCAST, 1);
  await p.a.sockets.sendto(tx, bytes("hello?"), 0, { address: "192.0.2.255", port: 9999 });
  await p.a.sockets.sendto(tx, bytes("hello?"), 0, { address: "255.255.255.255", port: 9999 });
  p.clock.runUntilIdle(1000);
  assert.is(p.b.stats.udp.noPorts, 2);
  assert.is(p.b.stats.drops.get("udp.no_socket_broadcast"), 2);
  assert.is(p.b.stats.icmp.outByType[3], 0);
  await p.close();
});

test("SO_BROADCAST: a broadcast reaches every matching socket of the peer, from a unicast source (U6)", async () => {
  const p = pair({ seed: 46 });
  const w1 = reuseSocket(p.b, "0.0.0.0", 5000);
  const w2 = reuseSocket(p.b, "0.0.0.0", 5000);
  const unicast = reuseSocket(p.b, B, 5000); // bound to the unicast address: not a broadcast receiver
  const bcast = reuseSocket(p.b, "192.0.2.255", 5000); // bound to the subnet broadcast
  const tx = udpSocket(p.a, { port: 5001 });
  p.a.sockets.setsockopt(tx, SOL_SOCKET, SO_BROADCAST, 1);
  await p.a.sockets.sendto(tx, bytes("subnet"), 0, { address: "192.0.2.255", port: 5000 });
  await p.a.sockets.sendto(tx, bytes("all"), 0, { address: "255.255.255.255", port: 5000 });
  p.clock.runUntilIdle(1000);
  assert.equal(drain(p.b, w1), ["subnet", "all"]);
  assert.equal(drain(p.b, w2), ["subnet", "all"]);
  assert.equal(drain(p.b, bcast), ["subnet"]);
  assert.equal(drain(p.b, unicast), []);
  const r = await settle(
    p.clock,
    (async () => {
      await p.a.sockets.sendto(tx, bytes("again"), 0, { address: "192.0.2.255", port: 5000 });
      return await p.b.sockets.recvfrom(w1, new Uint8Array(8));
    })(),
  );
  assert.equal(r.from, { family: 2, address: "192.0.2.1", port: 5001 });
  assert.equal(r.to, { family: 2, address: "192.0.2.255", port: 5000 });
  await p.close();
});

test("U6: a socket bound to a broadcast address sends from the interface's unicast address", async () => {
  const p = pair({ seed: 47 });
  const rx = udpSocket(p.b, { port: 7003 });
  const tx = udpSocket(p.a, { address: "192.0.2.255", port: 6000 });
  const cap = capture(p.devA);
  await p.a.sockets.sendto(tx, bytes("u6"), 0, { address: B, port: 7003 });
  const r = await settle(p.clock, p.b.sockets.recvfrom(rx, new Uint8Array(4)));
  assert.equal(r.from, { family: 2, address: "192.0.2.1", port: 6000 });
  assert.is(cap.ip(17)[0]!.ip!.src, IP_A);
  await p.close();
});

test("SO_REUSEADDR: unicast goes to the most recently bound socket", async () => {
  const p = pair({ seed: 48 });
  await warm(p);
  const first = reuseSocket(p.b, "0.0.0.0", 5100);
  const second = reuseSocket(p.b, "0.0.0.0", 5100);
  const tx = udpSocket(p.a);
  await p.a.sockets.sendto(tx, bytes("one"), 0, { address: B, port: 5100 });
  p.clock.runUntilIdle(1000);
  assert.equal(drain(p.b, second), ["one"]);
  assert.equal(drain(p.b, first), []);
  p.b.sockets.close(second);
  await p.a.sockets.sendto(tx, bytes("two"), 0, { address: B, port: 5100 });
  p.clock.runUntilIdle(1000);
  assert.equal(drain(p.b, first), ["two"]);
  await p.close();
});

test("demultiplexing: connected 4-tuple > bound address > wildcard, whatever the bind order", async () => {
  const p = pair({ seed: 49 });
  await warm(p);
  const s = p.b.sockets;
  const connected = reuseSocket(p.b, B, 5200);
  await s.connect(connected, { address: "192.0.2.1", port: 6000 });
  const bound = reuseSocket(p.b, B, 5200);
  const wildcard = reuseSocket(p.b, "0.0.0.0", 5200); // newest, yet least specific
  const from6000 = udpSocket(p.a, { port: 6000 });
  const from6001 = udpSocket(p.a, { port: 6001 });
  await p.a.sockets.sendto(from6000, bytes("peer"), 0, { address: B, port: 5200 });
  await p.a.sockets.sendto(from6001, bytes("stranger"), 0, { address: B, port: 5200 });
  const local = udpSocket(p.b);
  await s.sendto(local, bytes("loopback"), 0, { address: "127.0.0.1", port: 5200 });
  p.clock.runUntilIdle(1000);
  assert.equal(drain(p.b, connected), ["peer"]);
  assert.equal(drain(p.b, bound), ["stranger"]);
  assert.equal(drain(p.b, wildcard), ["loopback"]);
  await p.close();
});

test("SO_RCVBUF bounds the receive queue: excess datagrams are dropped and counted", async () => {
  // Frame-sized slots, as datagrams from a real device arrive in (the
  // in-memory pipe hands over the sender's slot, which may be smaller).
  const p = pair({ seed: 50, arenaClasses: DEFAULT_SIZE_CLASSES.filter((c) => c.size >= 2048) });
  await warm(p);
  const rx = udpSocket(p.b, { port: 7004 });
  // Stored as 8192; each tiny datagram is charged its 2 KiB slot + 256 bytes.
  p.b.sockets.setsockopt(rx, SOL_SOCKET, SO_RCVBUF, 4096);
  const tx = udpSocket(p.a);
  for (let i = 0; i < 10; i++) {
    await p.a.sockets.sendto(tx, bytes(String(i)), 0, { address: B, port: 7004 });
  }
  p.clock.runUntilIdle(1000);
  assert.equal(drain(p.b, rx), ["0", "1", "2"]);
  assert.is(p.b.stats.udp.rcvbufErrors, 7);
  assert.is(p.b.stats.drops.get("udp.rcvbuf_full"), 7);
  // Draining makes room again.
  await p.a.sockets.sendto(tx, bytes("later"), 0, { address: B, port: 7004 });
  p.clock.runUntilIdle(1000);
  assert.equal(drain(p.b, rx), ["later"]);
  await p.close();
});

test("I8/I9: datagrams up to 65507 bytes are fragmented and arrive intact over a reordering, duplicating pipe", async () => {
  const p = pair({ seed: 51, impair: { delay: 1, reorder: 0.3, duplicate: 0.1 } });
  await warm(p);
  const rx = udpSocket(p.b, { port: 7005 });
  const tx = udpSocket(p.a);
  const buf = new Uint8Array(65536);
  for (const size of [1472, 1473, 8000, 30000, 65507]) {
    const data = pattern(size, size);
    await p.a.sockets.sendto(tx, data, 0, { address: B, port: 7005 });
    let got = -1;
    // UDP does not remove duplicates: skip copies of earlier datagrams.
    for (let tries = 0; tries < 5 && got !== size; tries++) {
      got = (await settle(p.clock, p.b.sockets.recvfrom(rx, buf))).bytes;
    }
    assert.is(got, size);
    assert.equal(buf.subarray(0, size), data, `size ${size}`);
  }
  assert.ok(p.a.stats.ip.fragCreates >= 2 + 6 + 21 + 45, `${p.a.stats.ip.fragCreates} fragments`);
  assert.ok(p.b.stats.ip.reasmOKs >= 4);
  await p.close();
});

test("U3/C4: a connected socket learns ECONNREFUSED from port unreachable, once, on recv, send or SO_ERROR", async () => {
  const p = pair({ seed: 52 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  await s.connect(fd, { address: B, port: 9999 });
  assert.is(await s.send(fd, bytes("1")), 1);
  const e = await rejects(settle(p.clock, s.recv(fd, new Uint8Array(4))), "ECONNREFUSED");
  assert.instance(e, ConnectionRefused);
  assert.is(await s.send(fd, bytes("2")), 1, "the error is reported once");
  const fds = [{ fd, events: 0, revents: 0 }];
  await settle(p.clock, s.poll(fds));
  assert.is(fds[0]!.revents, POLLERR);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_ERROR), 111);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_ERROR), 0);
  await s.send(fd, bytes("3"));
  await settle(p.clock, s.poll(fds));
  await rejects(s.send(fd, bytes("4")), "ECONNREFUSED");
  await p.close();
});

test("U3: an unconnected socket ignores ICMP errors unless IP_RECVERR (Linux)", async () => {
  const p = pair({ seed: 53 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  await s.sendto(fd, bytes("x"), 0, { address: B, port: 9999 });
  p.clock.runUntilIdle(1000);
  assert.is(p.a.stats.icmp.inByType[3], 1, "the error arrived");
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_ERROR), 0);
  assert.is(await s.sendto(fd, bytes("y"), 0, { address: B, port: 9999 }), 1);
  await p.close();
});

test("U3: IP_RECVERR queues the ICMP error for MSG_ERRQUEUE with type, code, offender and payload", async () => {
  const p = pair({ seed: 54 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  s.setsockopt(fd, SOL_IP, IP_RECVERR, 1);
  await s.sendto(fd, bytes("quoted"), 0, { address: B, port: 9999 });
  const fds = [{ fd, events: 0, revents: 0 }];
  await settle(p.clock, s.poll(fds));
  assert.is(fds[0]!.revents, POLLERR);
  // The error is also pending (sk_err), so a plain receive reports it.
  await rejects(s.recvfrom(fd, new Uint8Array(8)), "ECONNREFUSED");
  const buf = new Uint8Array(16);
  const r = await s.recvfrom(fd, buf, MSG_ERRQUEUE);
  assert.is(text(buf.subarray(0, r.bytes)), "quoted");
  assert.is(r.flags, MSG_ERRQUEUE);
  assert.equal(r.from, { family: 2, address: B, port: 9999 });
  assert.equal(r.error, { errno: 111, origin: 2, type: 3, code: 3, info: 0, offender: B });
  await rejects(s.recvfrom(fd, buf, MSG_ERRQUEUE), "EAGAIN"); // never waits
  await p.close();
});

test("C4: a connected socket learns EHOSTUNREACH when ARP for its peer fails", async () => {
  const p = pair({ seed: 55 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  await s.connect(fd, { address: "192.0.2.99", port: 9 });
  await s.send(fd, bytes("hello?"));
  const t0 = p.clock.now();
  const e = await rejects(settle(p.clock, s.recv(fd, new Uint8Array(4))), "EHOSTUNREACH");
  assert.instance(e, HostUnreachable);
  assert.is(p.clock.now() - t0, 3000, "after the last ARP probe");
  await p.close();
});

test("IP_PMTUDISC_DO: DF is set, an oversize send is EMSGSIZE, and ICMP frag-needed is EMSGSIZE", async () => {
  const p = pair({ seed: 56 });
  await warm(p);
  const s = p.a.sockets;
  udpSocket(p.b, { port: 7006 });
  const fd = udpSocket(p.a);
  const lax = udpSocket(p.a); // IP_PMTUDISC_DONT (default): ignores frag-needed
  s.setsockopt(fd, SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
  await s.connect(fd, { address: B, port: 7006 });
  await s.connect(lax, { address: B, port: 7006 });
  await rejects(s.send(fd, new Uint8Array(1473)), "EMSGSIZE");
  const cap = capture(p.devA);
  await s.send(fd, bytes("probe"));
  await s.send(lax, bytes("probe"));
  const [strict, loose] = cap.ip(17);
  assert.ok(strict!.ip!.dontFragment);
  assert.not.ok(loose!.ip!.dontFragment);
  for (const f of [strict!, loose!]) {
    const quote = datagramOf(f.bytes).slice(0, 28);
    const icmp = icmpError(3, 4, quote, 1200);
    p.devA.receiveBytes(ipv4Frame({ src: IP_B, dst: IP_A, protocol: 1, payload: icmp }));
  }
  p.clock.runUntilIdle(1000);
  const e = await rejects(s.send(fd, bytes("again")), "EMSGSIZE");
  assert.instance(e, MessageTooLong);
  assert.is(await s.send(lax, bytes("again")), 5);
  await p.close();
});

test("I5/I6: IP_TTL and IP_TOS are honoured; multicast uses IP_MULTICAST_TTL (default 1)", async () => {
  const p = pair({ seed: 57 });
  await warm(p);
  const s = p.a.sockets;
  const rx = udpSocket(p.b, { port: 7007 });
  const fd = udpSocket(p.a);
  s.setsockopt(fd, SOL_IP, IP_TTL, 9);
  s.setsockopt(fd, SOL_IP, IP_TOS, 0x28);
  const cap = capture(p.devA);
  await s.sendto(fd, bytes("ttl"), 0, { address: B, port: 7007 });
  // 224.0.0.1 (all hosts) needs a route, as on Linux.
  p.a.routes.add(p.a.interfaceOf(p.devA)!, 0xe0000000, 4);
  await s.sendto(fd, bytes("mc"), 0, { address: "224.0.0.1", port: 7007 });
  s.setsockopt(fd, SOL_IP, IP_MULTICAST_TTL, 3);
  await s.sendto(fd, bytes("mc3"), 0, { address: "224.0.0.1", port: 7007 });
  p.clock.runUntilIdle(1000);
  const frames = cap.ip(17);
  assert.equal(frames.map((f) => [f.ip!.ttl, f.ip!.tos]), [[9, 0x28], [1, 0x28], [3, 0x28]]);
  assert.equal(drain(p.b, rx), ["ttl", "mc", "mc3"]);
  throws(() => s.setsockopt(fd, SOL_IP, IP_MULTICAST_TTL, 256), "EINVAL");
  await p.close();
});
