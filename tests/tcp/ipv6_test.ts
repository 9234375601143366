/**
 * TCP over IPv6 (RFC 9293 over RFC 8200; issue 12 item 5): handshakes,
 * transfers with and without TSO, MSS from the IPv6 MTU, RSTs, SYN cookies,
 * TIME-WAIT, ICMPv6 errors (Packet Too Big lowers the MSS; unreachable
 * aborts a connection attempt), neighbour confirmation by forward progress,
 * and the checksum over the IPv6 pseudo-header.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { A6, B6, capture6, icmp6, inject6, ip6Frame, pair6 } from "../ipv6/_helpers.ts";
import { Icmpv6Type } from "../../src/wire/icmpv6.ts";
import { NextHeader } from "../../src/wire/ipv6.ts";
import { Errno } from "../../src/core/errno.ts";
import { DeviceFeature } from "../../src/link/device.ts";
import { formatIpv6, parseIpv6Address } from "../../src/wire/addr6.ts";
import { TcpState } from "../../src/tcp/state.ts";
import type { TcpSock } from "../../src/tcp/sock.ts";
import { type Pair, settle } from "../_util/sim.ts";
import { exchange, randomBytes, sha256 } from "./_helpers.ts";

const ADDR_A = parseIpv6Address(A6);
const ADDR_B = parseIpv6Address(B6);
const ANY = new Uint8Array(16);

/** Listen on B [::]:port, connect from A to B over IPv6, run until accepted. */
function connect6(p: Pair, port = 8080, o: { v6only?: boolean } = {}) {
  const listener = p.b.tcp.socket();
  listener.v6only = o.v6only ?? false;
  assert.is(listener.bind6(ANY, port), 0);
  assert.is(listener.listen(16), 0);
  const client = p.a.tcp.socket();
  assert.is(client.connect6(ADDR_B, port), -Errno.EINPROGRESS);
  const got: { server: TcpSock | null } = { server: null };
  p.clock.runUntil(() => {
    got.server ??= listener.accept();
    return got.server !== null && client.state === TcpState.ESTABLISHED;
  }, 60_000);
  if (got.server === null) throw new Error("no connection accepted");
  return { listener, client, server: got.server };
}

test("IPv6: handshake, 4-tuple, MSS = MTU − 60, bytes both ways exactly once", async () => {
  const p = pair6();
  const { listener, client, server } = connect6(p);
  assert.equal(client.addr6!.subarray(0, 16), ADDR_A);
  assert.equal(client.addr6!.subarray(16), ADDR_B);
  assert.equal(server.addr6!.subarray(0, 16), ADDR_B);
  assert.equal(server.addr6!.subarray(16), ADDR_A);
  assert.is(server.rport, client.lport);
  assert.is(client.laddr, 0);
  // 1500 − 40 − 20, minus 12 bytes of timestamps.
  assert.is(client.tcb.snd.mss, 1500 - 60 - 12);
  assert.is(client.tcb.rcv.advmss, 1500 - 60 - 12);
  const x = randomBytes(300_000, 1), y = randomBytes(200_000, 2);
  const r = exchange(p, client, server, x, y);
  assert.is(r.xError, 0);
  assert.is(r.yError, 0);
  assert.is(await sha256(r.atY), await sha256(x));
  assert.is(await sha256(r.atX), await sha256(y));
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});

test("IPv6: TSO super-segments cross a TSO pipe whole, are cut into valid frames by a lossy TSO wire (software GSO), and a plain pipe gets MSS segments", async () => {
  const cases = [
    { features: DeviceFeature.TSO, loss: 0 },
    { features: DeviceFeature.TSO, loss: 0.01 },
    { features: 0, loss: 0 },
  ];
  for (const { features, loss } of cases) {
    const p = pair6({ features, ...(loss > 0 ? { impair: { loss } } : {}) });
    const { listener, client, server } = connect6(p);
    const x = randomBytes(2_000_000, 3);
    const sent0 = p.devA.stats.txPackets;
    const rx0 = p.devB.stats.rxPackets;
    let maxTx = 0;
    p.devA.addTap((dir, _u8, _o, len) => {
      if (dir === "tx") maxTx = Math.max(maxTx, len);
    });
    const r = exchange(p, client, server, x, new Uint8Array(0));
    assert.is(r.xError, 0);
    assert.is(await sha256(r.atY), await sha256(x));
    assert.is(p.b.stats.drops.get("tcp.bad_checksum"), 0, "every GSO piece's checksum is right");
    const frames = p.devA.stats.txPackets - sent0;
    if (features === DeviceFeature.TSO) {
      assert.ok(client.tcb.snd.sizeGoal > client.tcb.snd.mss, "TSO size goal");
      assert.ok(maxTx > 1514, `super-segments handed to the device: largest ${maxTx}`);
      if (loss === 0) {
        assert.ok(frames < x.length / client.tcb.snd.mss / 4, `super-segments: ${frames} frames`);
      } else {
        const wire = p.devB.stats.rxPackets - rx0;
        assert.ok(wire > x.length / client.tcb.snd.mss, `cut on the wire: ${wire} frames`);
      }
    } else {
      assert.is(client.tcb.snd.sizeGoal, client.tcb.snd.mss);
      assert.ok(frames >= x.length / client.tcb.snd.mss, `wire-sized frames: ${frames}`);
    }
    client.close();
    server.close();
    listener.close();
    p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
    await p.close();
  }
});

/** B answers from `port` on A: an established IPv6 pair with `delay` ms each way. */
function delayed(delay: number) {
  const p = pair6({ impair: { delay } });
  return { p, ...connect6(p) };
}

/** The IPv6 packet (from its header on) of the last TCP segment A transmitted. */
function lastTcpPacket(cap: ReturnType<typeof capture6>): Uint8Array {
  const f = cap.frames.filter((x) => x.upper === 6).at(-1);
  if (f === undefined) throw new Error("no TCP segment captured");
  return f.bytes.subarray(14);
}

test("RFC 8201 §5.2: Packet Too Big quoting a segment in flight lowers the MSS to PMTU − 60 and the data goes on in the new size", async () => {
  const { p, listener, client, server } = delayed(10);
  const cap = capture6(p.devA);
  const data = randomBytes(200_000, 5);
  let sent = client.send(data);
  assert.ok(sent > 0);
  const quoted = lastTcpPacket(cap).slice(0, 1232);
  assert.is(client.tcb.snd.mss, 1500 - 60 - 12);
  inject6(
    p,
    ip6Frame({
      src: B6,
      dst: A6,
      nextHeader: NextHeader.ICMPV6,
      payload: icmp6(Icmpv6Type.PACKET_TOO_BIG, 0, 1280, quoted),
    }),
  );
  assert.is(client.tcb.snd.mss, 1280 - 60 - 12, "MSS follows the path MTU");
  cap.clear();
  const got: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  p.clock.runUntil(() => {
    if (sent < data.length) {
      const n = client.send(data.subarray(sent));
      if (n > 0) sent += n;
    }
    for (let n = server.recv(buf); n > 0; n = server.recv(buf)) got.push(buf.slice(0, n));
    return got.reduce((a, b) => a + b.length, 0) === data.length;
  }, 120_000);
  const all = new Uint8Array(data.length);
  let o = 0;
  for (const g of got) {
    all.set(g, o);
    o += g.length;
  }
  assert.is(await sha256(all), await sha256(data));
  const big = cap.frames.filter((f) => f.upper === 6 && f.bytes.length - 14 > 1280);
  assert.is(big.length, 0, "no segment larger than the new path MTU");
  // The oversized segments went through the SACK scoreboard (marked lost,
  // resent): its accounting is back to zero once everything is acknowledged.
  p.clock.runUntil(() => client.tcb.snd.una === client.tcb.snd.nxt, 60_000);
  assert.is(client.tcb.snd.lostBytes, 0);
  assert.is(client.tcb.snd.retransBytes, 0);
  assert.is(client.tcb.snd.sackedBytes, 0);
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});

test("MUST-56 over IPv6: administratively prohibited (fatal) aborts SYN-SENT with EACCES; address unreachable (soft) only records EHOSTUNREACH", async () => {
  const p = pair6({ impair: { delay: 10 } });
  const listener = p.b.tcp.socket();
  listener.bind6(ANY, 80);
  listener.listen(4);
  await settle(p.clock, p.a.ping(B6)); // neighbour discovery done: the SYN leaves at once
  for (const [code, fatal, errno] of [[1, true, Errno.EACCES], [3, false, Errno.EHOSTUNREACH]]) {
    const cap = capture6(p.devA);
    const c = p.a.tcp.socket();
    assert.is(c.connect6(ADDR_B, 80), -Errno.EINPROGRESS);
    const syn = lastTcpPacket(cap);
    cap.stop();
    inject6(
      p,
      ip6Frame({
        src: B6,
        dst: A6,
        nextHeader: NextHeader.ICMPV6,
        payload: icmp6(Icmpv6Type.DEST_UNREACHABLE, code as number, 0, syn),
      }),
    );
    if (fatal) {
      assert.is(c.state, TcpState.CLOSED);
      assert.is(c.error, errno);
      c.close();
    } else {
      assert.is(c.state, TcpState.SYN_SENT);
      assert.is(c.tcb.softErr, errno);
      p.clock.runUntil(() => c.state === TcpState.ESTABLISHED, 10_000);
      c.abort();
    }
  }
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});

test("RFC 4861 §7.3.1 (DEV-6.7): TCP forward progress keeps the neighbour REACHABLE — no probes for it over 3 minutes, where UDP needs them", async () => {
  for (const proto of ["tcp", "udp"] as const) {
    const p = pair6();
    const { listener, client, server } = connect6(p);
    const udpA = p.a.listenDatagram({ hostname: A6, port: 5000 });
    const udpB = p.b.listenDatagram({ hostname: B6, port: 5000 });
    const cap = capture6(p.devA);
    const buf = new Uint8Array(64);
    for (let t = 0; t < 36; t++) {
      if (proto === "tcp") {
        assert.is(client.send(new Uint8Array(10)), 10);
        p.clock.advance(5000);
        while (server.recv(buf) > 0);
      } else {
        await udpA.send(new Uint8Array(10), { hostname: B6, port: 5000, transport: "udp" });
        p.clock.advance(5000);
      }
    }
    // Neighbour solicitations whose target (ICMPv6 offset 8) is B's address.
    const probes = cap.icmp(Icmpv6Type.NEIGHBOR_SOLICIT).filter((f) =>
      formatIpv6(f.bytes, f.upperAt + 8) === B6
    ).length;
    cap.stop();
    if (proto === "tcp") assert.is(probes, 0, "confirmed by ACKs: never STALE");
    else assert.ok(probes > 0, `UDP has no upper-layer confirmation: ${probes} probes`);
    udpA.close();
    udpB.close();
    client.close();
    server.close();
    listener.close();
    p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
    await p.close();
  }
});

test("MUST-3 over IPv6: a segment with a bad checksum is dropped and counted; with a good one a SYN to a closed port draws RST", async () => {
  const p = pair6();
  const seg = new Uint8Array(20);
  seg[0] = 0x9c; // source port 40000
  seg[1] = 0x40;
  seg[3] = 81; // destination port 81: nobody listens
  seg[7] = 1; // seq 1
  seg[12] = 5 << 4;
  seg[13] = 0x02; // SYN
  seg[15] = 0xff; // window
  const cap = capture6(p.devA);
  const drops0 = p.a.stats.drops.get("tcp.bad_checksum");
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 6, payload: seg, checksumAt: null }));
  assert.is(p.a.stats.drops.get("tcp.bad_checksum"), drops0 + 1);
  assert.is(cap.frames.filter((f) => f.upper === 6).length, 0, "no answer to a corrupt segment");
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 6, payload: seg, checksumAt: 16 }));
  const rst = cap.frames.filter((f) => f.upper === 6);
  assert.is(rst.length, 1);
  assert.is(rst[0]!.bytes[rst[0]!.upperAt + 13]! & 0x14, 0x14, "RST|ACK");
  assert.is(rst[0]!.dst, B6);
  cap.stop();
  await p.close();
});

test("RFC 4987 over IPv6: with syncookies = 2 every handshake completes through a cookie and carries data", async () => {
  const p = pair6({ b: { tcp: { syncookies: 2 } } });
  const { listener, client, server } = connect6(p);
  assert.ok(p.b.tcp.stats.syncookiesSent >= 1);
  assert.ok(p.b.tcp.stats.syncookiesRecv >= 1);
  const x = randomBytes(100_000, 9);
  const r = exchange(p, client, server, x, new Uint8Array(0));
  assert.is(await sha256(r.atY), await sha256(x));
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});

test("TIME-WAIT over IPv6: an explicit connect from the same port takes over the 4-tuple (timestamps) with ISS above the old SND.NXT", async () => {
  const p = pair6();
  const { listener, client, server } = connect6(p);
  const port = client.lport;
  client.close();
  p.clock.runUntil(() => server.state === TcpState.CLOSE_WAIT, 10_000);
  server.close();
  p.clock.runUntil(() => client.state === TcpState.TIME_WAIT, 10_000);
  const oldNxt = client.tcb.snd.nxt;
  const again = p.a.tcp.socket();
  again.setOption("SO_REUSEADDR", 1);
  assert.is(again.bind6(ADDR_A, port), 0);
  assert.is(again.connect6(ADDR_B, 8080), -Errno.EINPROGRESS);
  assert.is(again.tcb.snd.iss, (oldNxt + 65537) >>> 0);
  p.clock.runUntil(() => again.state === TcpState.ESTABLISHED, 10_000);
  assert.is(again.lport, port);
  again.abort();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});
