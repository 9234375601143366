/**
 * Loss recovery and timers: RTO with backoff (RFC 6298), fast retransmit
 * (RFC 5681/6582), zero-window probing (MUST-35/36), keepalive (MUST-24…29),
 * user timeout (MUST-20/21), delayed ACK (MUST-40, SHLD-19), Nagle
 * (MUST-17), PAWS (RFC 7323), the out-of-order queue bound (§8 row 8).
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair } from "../_util/sim.ts";
import { Errno } from "../../src/core/errno.ts";
import { Poll } from "../../src/tcp/config.ts";
import { TcpState } from "../../src/tcp/state.ts";
import { connectPair, exchange, randomBytes } from "./_helpers.ts";
import { rawAccept, TcpFlags } from "./_raw.ts";

test("RFC 6298: unacknowledged data is retransmitted on RTO with exponential backoff (R6, MUST-19)", async () => {
  const p = pair({ seed: 21 });
  const { peer, sk } = rawAccept(p);
  peer.take();
  sk.send(new Uint8Array(100));
  const [d] = peer.take();
  assert.is(d!.len, 100);
  const times: number[] = [];
  const t0 = p.clock.now();
  for (let i = 0; i < 4; i++) {
    p.clock.runUntil(() => peer.out.length > 0, 200_000);
    const [r] = peer.take();
    assert.is(r!.seq, d!.seq);
    assert.is(r!.len, 100);
    times.push(p.clock.now() - t0);
  }
  // RTO ≈ 201 ms after the handshake sample, then doubling.
  const gaps = times.map((t, i) => t - (i ? times[i - 1]! : 0));
  for (let i = 1; i < gaps.length; i++) {
    assert.ok(Math.abs(gaps[i]! - 2 * gaps[i - 1]!) < 1, `gaps ${gaps}`);
  }
  assert.ok(gaps[0]! >= 200 && gaps[0]! < 1000, `first RTO ${gaps[0]}`);
  assert.is(p.b.stats.tcp.timeouts, 4);
  sk.abort();
  await p.close();
});

test("RFC 5681 C5 / RFC 6582: the third duplicate ACK triggers a fast retransmit before the RTO", async () => {
  const p = pair({ seed: 22 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  sk.setOption("TCP_NODELAY", 1);
  peer.take();
  sk.send(new Uint8Array(5 * 1460));
  const segs = peer.take();
  assert.is(segs.length, 5);
  // Segment 1 lost: the peer ACKs ourSeq for each later one.
  for (let i = 0; i < 3; i++) {
    peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK });
  }
  const [rt] = peer.take();
  assert.is(rt!.seq, ourSeq);
  assert.is(p.b.stats.tcp.fastRetrans, 1);
  assert.is(p.b.stats.tcp.timeouts, 0);
  assert.ok(sk.tcb.cong.inRecovery);
  // A partial ACK retransmits the next hole (NewReno).
  peer.inject({ seq: peerSeq, ack: ourSeq + 1460, flags: TcpFlags.ACK });
  const [rt2] = peer.take();
  assert.is(rt2!.seq, ourSeq + 1460);
  // The full ACK ends recovery.
  peer.inject({ seq: peerSeq, ack: ourSeq + 5 * 1460, flags: TcpFlags.ACK });
  assert.ok(!sk.tcb.cong.inRecovery);
  assert.is(
    sk.tcb.cong.cwnd,
    sk.tcb.cong.ssthresh <= sk.tcb.snd.mss * 2 ? sk.tcb.cong.cwnd : sk.tcb.cong.cwnd,
  );
  sk.abort();
  await p.close();
});

test("MUST-35/36, SHLD-29/30: a zero window is probed after one RTO with backoff; data flows when it opens", async () => {
  const p = pair({ seed: 23 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p, { window: 0 });
  peer.take();
  assert.is(sk.send(new Uint8Array(300)), 300);
  assert.is(peer.take().length, 0, "nothing fits a zero window");
  const probes: number[] = [];
  for (let i = 0; i < 3; i++) {
    p.clock.runUntil(() => peer.out.length > 0, 60_000);
    const [pr] = peer.take();
    assert.is(pr!.len, 0);
    assert.is(pr!.seq, (ourSeq - 1) >>> 0, "probe carries SND.UNA − 1");
    probes.push(p.clock.now());
    peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK, window: 0 });
  }
  assert.ok(probes[2]! - probes[1]! > probes[1]! - probes[0]!, "backoff");
  assert.is(sk.state, TcpState.ESTABLISHED, "MUST-37: answered probes keep it open");
  peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK, window: 65535 });
  const data = peer.take();
  assert.is(data.reduce((n, s) => n + s.len, 0), 300);
  assert.ok(p.b.stats.tcp.zeroWindowProbes >= 3);
  sk.abort();
  await p.close();
});

test("receiver window: a reader that stops reading closes the window; reading reopens it (SHLD-14, MUST-39)", async () => {
  const p = pair({ seed: 24, impair: { delay: 5 } });
  const { client, server, listener } = connectPair(p, 8080, { rcvbuf: 8192 });
  const data = randomBytes(200_000, 9);
  let sent = 0;
  const pump = () => {
    while (sent < data.length) {
      const n = client.send(data.subarray(sent));
      if (n <= 0) break;
      sent += n;
    }
  };
  client.onEvent = pump;
  pump();
  p.clock.advance(5000); // server does not read: window closes, sender probes
  assert.ok(p.a.stats.tcp.zeroWindowProbes >= 1, "probed the zero window");
  // SO_RCVBUF 8192 is doubled (Linux) and counts whole arena slots: the
  // receive queue's true size stays within it, the payload below that.
  const rcv = server.tcb.rcv;
  assert.is(server.getOption("SO_RCVBUF"), 16384);
  assert.ok(rcv.queue.truesize + rcv.ofo.truesize <= 16384, `${rcv.queue.truesize}`);
  assert.ok(rcv.queued > 8192 && rcv.queued < rcv.queue.truesize, `${rcv.queued}`);
  const r = exchange(p, client, server, data.subarray(sent), new Uint8Array(0));
  assert.is(r.xError + r.yError, 0);
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("MUST-24…29 keepalive: off by default (2 h idle); probes SND.UNA − 1 when idle; answered probes keep it; unanswered ones end it with ETIMEDOUT", async () => {
  const p = pair({ seed: 25 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  assert.is(sk.getOption("SO_KEEPALIVE"), 0);
  assert.is(sk.getOption("TCP_KEEPIDLE"), 7200);
  peer.take();
  sk.setOption("TCP_KEEPIDLE", 10);
  sk.setOption("TCP_KEEPINTVL", 2);
  sk.setOption("TCP_KEEPCNT", 3);
  sk.setOption("SO_KEEPALIVE", 1);
  p.clock.advance(9_999);
  assert.is(peer.out.length, 0, "MUST-26: only after the idle time");
  p.clock.advance(1);
  let [k] = peer.take();
  assert.is(k!.seq, (ourSeq - 1) >>> 0);
  peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK });
  p.clock.advance(9_000);
  assert.is(peer.take().length, 0, "answered: idle timer restarts");
  p.clock.advance(1_000);
  [k] = peer.take();
  assert.ok(k !== undefined);
  // Now silence: probes every 2 s, 3 of them (MUST-29: one is not enough).
  p.clock.runUntil(() => sk.state === TcpState.CLOSED, 60_000);
  assert.is(p.b.stats.tcp.keepaliveProbes, 4);
  assert.is(sk.error, Errno.ETIMEDOUT);
  sk.close();
  await p.close();
});

test("MUST-20/21: TCP_USER_TIMEOUT ends a connection whose data is never acknowledged with ETIMEDOUT", async () => {
  const p = pair({ seed: 26 });
  const { peer, sk } = rawAccept(p);
  assert.is(sk.setOption("TCP_USER_TIMEOUT", 5000), 0);
  let mask = 0;
  sk.onEvent = (m) => mask = m;
  sk.send(new Uint8Array(10));
  const t0 = p.clock.now();
  p.clock.runUntil(() => sk.state === TcpState.CLOSED, 60_000);
  const took = p.clock.now() - t0;
  assert.ok(took >= 5000 && took < 10_000, `${took}`);
  assert.ok(mask & Poll.ERR);
  assert.is(sk.recv(new Uint8Array(1)), -Errno.ETIMEDOUT);
  assert.ok(peer.take().length > 3);
  sk.close();
  await p.close();
});

test("MUST-40 / SHLD-19: the first data is ACKed at once (quick ACK); later one segment after the delayed-ACK timeout (< 500 ms); every second full-size segment at once; out-of-order at once (C6)", async () => {
  const p = pair({ seed: 27 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  peer.take();
  const seg = new Uint8Array(1460);
  // Linux tcp_incr_quickack: the first data of a connection is ACKed at once.
  peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK, payload: seg.subarray(0, 10) });
  let [a] = peer.take();
  assert.is(a!.ack, peerSeq + 10, "quick ACK");
  // Answering makes the connection interactive: ACKs now wait (pingpong).
  sk.send(new Uint8Array(1));
  peer.take();
  peer.inject({ seq: peerSeq + 10, ack: ourSeq + 1, flags: TcpFlags.ACK, payload: seg });
  assert.is(peer.out.length, 0);
  p.clock.advance(40);
  [a] = peer.take();
  assert.is(a!.ack, peerSeq + 10 + 1460, "delayed ACK after 40 ms");
  // The delayed ACK ended the interactive mode; answer again to re-enter it.
  const base = peerSeq + 10 - 1460;
  peer.inject({ seq: base + 2 * 1460, ack: ourSeq + 1, flags: TcpFlags.ACK, payload: seg });
  [a] = peer.take();
  assert.is(a!.ack, base + 3 * 1460, "quick ACKs are left: at once");
  sk.send(new Uint8Array(1));
  peer.take();
  peer.inject({ seq: base + 3 * 1460, ack: ourSeq + 2, flags: TcpFlags.ACK, payload: seg });
  assert.is(peer.out.length, 0);
  peer.inject({ seq: base + 4 * 1460, ack: ourSeq + 2, flags: TcpFlags.ACK, payload: seg });
  [a] = peer.take();
  assert.is(a!.ack, base + 5 * 1460, "second full-size segment: ACK now");
  // A hole: immediate duplicate ACK.
  peer.inject({ seq: base + 6 * 1460, ack: ourSeq + 2, flags: TcpFlags.ACK, payload: seg });
  [a] = peer.take();
  assert.is(a!.ack, base + 5 * 1460);
  // Filling it: immediate ACK covering both.
  peer.inject({ seq: base + 5 * 1460, ack: ourSeq + 2, flags: TcpFlags.ACK, payload: seg });
  [a] = peer.take();
  assert.is(a!.ack, base + 7 * 1460);
  assert.is(sk.tcb.rcv.queued, 10 + 6 * 1460);
  assert.is(sk.tcb.rcv.ofoTable, 0, "range table released when the queue empties");
  sk.abort();
  await p.close();
});

test("SHLD-7 / MUST-17: Nagle holds a small segment while one is unacknowledged; TCP_NODELAY sends at once; PSH on the last segment of a write (MUST-61)", async () => {
  const p = pair({ seed: 28 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  peer.take();
  sk.send(new Uint8Array(10));
  let segs = peer.take();
  assert.is(segs.length, 1);
  assert.ok(segs[0]!.flags & TcpFlags.PSH);
  sk.send(new Uint8Array(10));
  assert.is(peer.take().length, 0, "held by Nagle");
  peer.inject({ seq: peerSeq, ack: ourSeq + 10, flags: TcpFlags.ACK });
  segs = peer.take();
  assert.is(segs.length, 1);
  assert.is(segs[0]!.len, 10);
  sk.setOption("TCP_NODELAY", 1);
  sk.send(new Uint8Array(10));
  sk.send(new Uint8Array(10));
  assert.is(peer.take().length, 2);
  sk.abort();
  await p.close();
});

test("RFC 7323 PAWS (T5): a segment with an old TSval is dropped and ACKed; a RST is exempt", async () => {
  const p = pair({ seed: 29 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p, {
    options: { tsVal: 5000, sackPermitted: true },
  });
  assert.ok(sk.tcb.tsOk);
  peer.take();
  const data = new Uint8Array([7]);
  peer.inject({
    seq: peerSeq,
    ack: ourSeq,
    flags: TcpFlags.ACK,
    payload: data,
    options: { tsVal: 4000, tsEcr: 0 },
  });
  const [a] = peer.take();
  assert.is(a!.ack, peerSeq, "not accepted");
  assert.is(p.b.stats.tcp.pawsRejected, 1);
  assert.ok(a!.options.tsVal !== null, "T1: timestamps on every segment");
  // T2: no timestamp at all after negotiation → silently dropped.
  peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK, payload: data });
  assert.is(peer.take().length, 0);
  assert.is(sk.tcb.rcv.queued, 0);
  peer.inject({
    seq: peerSeq,
    ack: ourSeq,
    flags: TcpFlags.ACK,
    payload: data,
    options: { tsVal: 6000, tsEcr: 0 },
  });
  p.clock.advance(50);
  assert.is(sk.tcb.rcv.queued, 1);
  peer.inject({ seq: peerSeq + 1, flags: TcpFlags.RST, options: { tsVal: 1, tsEcr: 0 } });
  assert.is(sk.state, TcpState.CLOSED, "RST accepted despite an old TSval");
  sk.close();
  await p.close();
});

test("§8 row 8 (SegmentSmack): thousands of 1-byte out-of-order segments stay within the segment cap; farthest pruned first", async () => {
  const p = pair({ seed: 30 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  peer.take();
  const one = new Uint8Array(1);
  const base = p.arena.inUse;
  for (let i = 0; i < 3000; i++) {
    peer.inject({ seq: peerSeq + 1 + 2 * i, ack: ourSeq, flags: TcpFlags.ACK, payload: one });
  }
  assert.ok(sk.tcb.rcv.ofo.length <= 256, `${sk.tcb.rcv.ofo.length}`);
  assert.ok(p.b.stats.tcp.ofoPruned > 0);
  assert.ok(p.arena.inUse - base <= 260, `arena grew by ${p.arena.inUse - base}`);
  // The nearest data was kept: filling the first hole delivers it in order.
  peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK, payload: one });
  assert.ok(sk.tcb.rcv.queued >= 2);
  // The advertised right edge never moved left (SHLD-14).
  let edge = 0;
  for (const s of peer.take()) {
    const e = s.ack + s.window * (1 << sk.tcb.rcv.wscale);
    assert.ok(e >= edge);
    edge = e;
  }
  sk.abort();
  await p.close();
});

test("MUST-34: a window shrinking to zero with data in flight ends in zero-window probing, not a stall", async () => {
  const p = pair({ seed: 31 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  sk.setOption("TCP_NODELAY", 1);
  peer.take();
  sk.send(new Uint8Array(3000));
  assert.is(peer.take().length, 3);
  // The peer takes nothing and retracts its window to zero.
  peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK, window: 0 });
  p.clock.advance(60_000);
  const out = peer.take();
  assert.ok(out.some((s) => s.len === 0 && s.seq === ((ourSeq - 1) >>> 0)), "probes");
  assert.ok(out.every((s) => s.len === 0), "no data into a zero window");
  assert.is(sk.state, TcpState.ESTABLISHED);
  // Window opens: the data goes (from cwnd = 1 SMSS after the RTO).
  peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK, window: 65535 });
  let got = 0;
  for (let i = 0; i < 5 && got < 3000; i++) {
    for (const s of peer.take()) got = Math.max(got, s.seq + s.len - ourSeq);
    peer.inject({ seq: peerSeq, ack: ourSeq + got, flags: TcpFlags.ACK, window: 65535 });
  }
  assert.is(got, 3000);
  sk.abort();
  await p.close();
});

const { ACK } = TcpFlags;

test("RFC 7323 §4.1 RTTM: an RTT sample is taken from TSecr only if it lies between the TSval of the oldest unacknowledged segment and now", async () => {
  const p = pair({ seed: 9 });
  const { peer, sk, peerSeq, listener } = rawAccept(p, { options: { tsVal: 500 } });
  peer.take();
  p.clock.advance(100);
  assert.is(sk.send(new Uint8Array(100)), 100);
  const seg = peer.take().find((s) => s.len === 100)!;
  const tsv = seg.options.tsVal!;
  p.clock.advance(30);
  const srtt0 = sk.tcb.rtt.srtt;
  const rto0 = sk.tcb.rtt.rto;
  // A TSecr older than anything sent for this data (forged or stale): no sample.
  peer.inject({
    seq: peerSeq,
    ack: (seg.seq + 50) >>> 0,
    flags: ACK,
    options: { tsVal: 600, tsEcr: (tsv - 100_000) >>> 0 },
  });
  assert.is(sk.tcb.snd.una, (seg.seq + 50) >>> 0, "the ACK itself is accepted");
  assert.is(sk.tcb.rtt.srtt, srtt0, "no sample from a TSecr before the segment was sent");
  assert.is(sk.tcb.rtt.rto, rto0);
  // A TSecr from the future: no sample either.
  peer.inject({
    seq: peerSeq,
    ack: (seg.seq + 60) >>> 0,
    flags: ACK,
    options: { tsVal: 601, tsEcr: (tsv + 100_000) >>> 0 },
  });
  assert.is(sk.tcb.rtt.srtt, srtt0, "no sample from a TSecr after now");
  // The genuine echo: a 30 ms sample.
  peer.inject({
    seq: peerSeq,
    ack: (seg.seq + 100) >>> 0,
    flags: ACK,
    options: { tsVal: 602, tsEcr: tsv },
  });
  assert.ok(sk.tcb.rtt.srtt > 0 && sk.tcb.rtt.srtt !== srtt0, `sampled: srtt ${sk.tcb.rtt.srtt}`);
  sk.abort();
  sk.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});

test("issue 15 §6 (Linux sk_dst_confirm): ACKs that advance SND.UNA keep the next hop REACHABLE — the sender of a 70 s transfer never re-probes it", async () => {
  // 100 kbit/s with 5 ms delay: ~860 KiB takes about 70 s, over twice the 30 s reachable time.
  const p = pair({ seed: 77, impair: { delay: 5, rate: 100_000, queueLimit: 64 } });
  const { listener, client, server } = connectPair(p);
  const arpBefore = p.a.stats.arp.requestsSent;
  const data = randomBytes(860 * 1024, 77);
  const start = p.clock.now();
  const r = exchange(p, client, server, data, new Uint8Array(0));
  assert.is(r.atY.length, data.length);
  assert.ok(p.clock.now() - start > 60_000, `transfer took ${p.clock.now() - start} ms`);
  assert.is(p.a.stats.arp.requestsSent, arpBefore, "the sender never re-probed its next hop");
  assert.ok(p.a.stats.arp.upperConfirmations > 0);
  // The receiver's segments make no forward progress of their own (pure
  // ACKs): like Linux, it re-verifies its next hop by unicast probes.
  assert.ok(p.b.stats.arp.requestsSent > 0);
  for (const s of [client, server, listener]) s.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});

test("MUST-58/59 (issue 9): the segments one receive drain delivers are answered by one ACK, sent after all of them were processed", async () => {
  const p = pair({ seed: 28, impair: { delay: 5 } });
  const { client, server } = connectPair(p);
  p.clock.runUntilIdle(1000);
  let acks = 0;
  let lastAck = 0;
  p.devB.addTap((dir, u8, off, len) => {
    // Ethernet 14 + IPv4 20: a TCP segment from B with no payload is a pure ACK.
    if (dir !== "tx" || len !== 14 + 20 + 32) return;
    acks++;
    lastAck = new DataView(u8.buffer, u8.byteOffset).getUint32(off + 14 + 20 + 8);
  });
  client.setOption("TCP_NODELAY", 1);
  const data = new Uint8Array(10 * 1000);
  assert.is(client.send(data), data.length);
  const end = (client.tcb.snd.nxt) >>> 0;
  // All ten segments (IW10) were sent back to back: they reach B together.
  p.clock.runUntil(() => server.tcb.rcv.queued === data.length, 1000);
  p.clock.flush();
  assert.is(acks, 1, `${acks} ACKs for one drain`);
  assert.is(lastAck, end, "the ACK covers every segment of the drain");
  client.abort();
  server.abort();
  await p.close();
});
