/**
 * Resets and blind-injection defences: RFC 9293 §3.10.7 RST rules, RFC 5961
 * (B1–B5), RFC 1337, and CLOSED-port processing.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair } from "../_util/sim.ts";
import { Errno } from "../../src/core/errno.ts";
import { Poll } from "../../src/tcp/config.ts";
import { TcpState } from "../../src/tcp/state.ts";
import { ADDR_B, connectPair } from "./_helpers.ts";
import { rawAccept, RawPeer, TcpFlags } from "./_raw.ts";

test("CLOSED port: SYN gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><RST,ACK>; ACK gets <SEQ=SEG.ACK><RST>; RST gets nothing (§3.10.7.1)", async () => {
  const p = pair({ seed: 1 });
  const peer = new RawPeer(p);
  peer.inject({ seq: 500, flags: TcpFlags.SYN, dport: 9999 });
  let [r] = peer.take();
  assert.is(r!.flags, TcpFlags.RST | TcpFlags.ACK);
  assert.is(r!.seq, 0);
  assert.is(r!.ack, 501);
  peer.inject({
    seq: 500,
    ack: 7777,
    flags: TcpFlags.ACK,
    dport: 9999,
    payload: new Uint8Array(10),
  });
  [r] = peer.take();
  assert.is(r!.flags, TcpFlags.RST);
  assert.is(r!.seq, 7777);
  peer.inject({ seq: 500, flags: TcpFlags.FIN, dport: 9999, payload: new Uint8Array(3) });
  [r] = peer.take();
  assert.is(r!.ack, 504, "SEG.LEN counts data and FIN");
  peer.inject({ seq: 500, ack: 1, flags: TcpFlags.RST | TcpFlags.ACK, dport: 9999 });
  assert.is(peer.take().length, 0, "never RST a RST");
  assert.is(p.b.stats.tcp.outRsts, 3);
  await p.close();
});

test("connect() to a closed port fails with ECONNREFUSED (SYN-SENT RST with acceptable ACK)", async () => {
  const p = pair({ seed: 2, impair: { delay: 2 } });
  const c = p.a.tcp.socket();
  let events = 0;
  c.onEvent = () => events++;
  assert.is(c.connect(ADDR_B, 4444), -Errno.EINPROGRESS);
  p.clock.runUntil(() => c.state === TcpState.CLOSED, 10_000);
  assert.ok(c.poll() & Poll.ERR);
  assert.is(c.error, Errno.ECONNREFUSED);
  assert.is(c.error, 0, "read-and-clear");
  assert.ok(events >= 2);
  assert.is(p.a.stats.tcp.attemptFails, 1);
  c.close();
  await p.close();
});

test("RFC 5961 B1: RST exactly at RCV.NXT resets (ECONNRESET, MUST-12); in window → challenge ACK; outside → dropped", async () => {
  const p = pair({ seed: 3 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  peer.take();
  // Out of window: silently dropped.
  peer.inject({ seq: peerSeq + 10_000_000, flags: TcpFlags.RST });
  assert.is(peer.take().length, 0);
  assert.is(sk.state, TcpState.ESTABLISHED);
  // In window but not exact: challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><ACK>.
  peer.inject({ seq: peerSeq + 100, flags: TcpFlags.RST });
  const [c] = peer.take();
  assert.is(c!.flags, TcpFlags.ACK);
  assert.is(c!.seq, ourSeq);
  assert.is(c!.ack, peerSeq);
  assert.is(sk.state, TcpState.ESTABLISHED);
  assert.is(p.b.stats.tcp.challengeAcks, 1);
  // Exact: reset.
  peer.inject({ seq: peerSeq, flags: TcpFlags.RST });
  assert.is(sk.state, TcpState.CLOSED);
  assert.is(sk.recv(new Uint8Array(10)), -Errno.ECONNRESET);
  assert.is(sk.recv(new Uint8Array(10)), 0, "then end of stream");
  assert.is(p.b.stats.tcp.estabResets, 1);
  sk.close();
  await p.close();
});

test("RFC 5961 B2: a SYN in ESTABLISHED (any seq) gets a challenge ACK, never a reset", async () => {
  const p = pair({ seed: 4 });
  const { peer, sk, peerSeq } = rawAccept(p);
  peer.take();
  for (const seq of [peerSeq, peerSeq + 5, peerSeq - 1000, 12345]) {
    peer.inject({ seq, flags: TcpFlags.SYN, options: { mss: 1000 } });
    const [c] = peer.take();
    assert.is(c!.flags, TcpFlags.ACK, `seq ${seq}`);
    assert.is(c!.ack, peerSeq);
  }
  assert.is(sk.state, TcpState.ESTABLISHED);
  sk.abort();
  await p.close();
});

test("RFC 5961 B3: ACK above SND.NXT or below SND.UNA − MAX.SND.WND is dropped with an ACK; its data is not taken", async () => {
  const p = pair({ seed: 5 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  peer.take();
  const data = new Uint8Array([1, 2, 3]);
  peer.inject({ seq: peerSeq, ack: ourSeq + 1000, flags: TcpFlags.ACK, payload: data });
  let [c] = peer.take();
  assert.is(c!.flags, TcpFlags.ACK);
  assert.is(c!.ack, peerSeq, "data not accepted");
  assert.is(sk.poll() & Poll.IN, 0);
  peer.inject({ seq: peerSeq, ack: ourSeq - 200_000, flags: TcpFlags.ACK, payload: data });
  [c] = peer.take();
  assert.is(c!.ack, peerSeq);
  // An acceptable ACK with the data is taken.
  peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK | TcpFlags.PSH, payload: data });
  p.clock.advance(100);
  assert.ok(sk.poll() & Poll.IN);
  sk.abort();
  await p.close();
});

test("RFC 5961 B4 / CVE-2016-5696: challenge ACKs are limited per connection, not globally", async () => {
  const p = pair({ seed: 6 });
  const one = rawAccept(p);
  // A second connection from another port, through the same scripted peer.
  const peer = one.peer;
  peer.inject({ sport: 40001, seq: 5000, flags: TcpFlags.SYN, options: { mss: 1460 } });
  const sa = peer.out.find((s) => s.dstPort === 40001 && s.flags === 0x12)!;
  peer.inject({ sport: 40001, seq: 5001, ack: sa.seq + 1, flags: TcpFlags.ACK });
  const two = one.listener.accept()!;
  assert.ok(two !== null);
  peer.take();
  // 50 in-window RSTs on connection one: only `challengeAckLimit` ACKs per second.
  for (let i = 0; i < 50; i++) one.peer.inject({ seq: one.peerSeq + 1 + i, flags: TcpFlags.RST });
  const acks1 = one.peer.take().filter((s) => s.dstPort === 40000).length;
  assert.is(acks1, 10);
  // Connection two still gets its challenge ACK.
  peer.inject({ sport: 40001, seq: 5001 + 3, flags: TcpFlags.RST });
  const acks2 = peer.take().filter((s) => s.dstPort === 40001).length;
  assert.is(acks2, 1);
  // A second later the budget is back.
  p.clock.advance(1000);
  one.peer.inject({ seq: one.peerSeq + 2, flags: TcpFlags.RST });
  assert.is(one.peer.take().length, 1);
  assert.is(p.b.stats.tcp.challengeAcksLimited, 40);
  one.sk.abort();
  two.abort();
  await p.close();
});

test("MUST-11 / B5: RST in SYN-RECEIVED (passive) drops the request; the listener keeps listening", async () => {
  const p = pair({ seed: 7 });
  const peer = new RawPeer(p);
  const l = p.b.tcp.socket();
  l.bind(0, 8080);
  l.listen(4);
  peer.inject({ seq: 100, flags: TcpFlags.SYN });
  const [sa] = peer.take();
  assert.is(l.tcb.listen!.synQueue.size, 1);
  peer.inject({ seq: 101, flags: TcpFlags.RST });
  assert.is(l.tcb.listen!.synQueue.size, 0);
  assert.is(l.state, TcpState.LISTEN);
  assert.is(l.accept(), null);
  assert.is(p.b.tcp.socks.size, 1, "only the listener is left");
  // And a new SYN works.
  peer.inject({ seq: 900, flags: TcpFlags.SYN });
  const [sa2] = peer.take();
  assert.ok(sa2!.flags === 0x12 && sa2!.ack === 901 && sa!.seq !== undefined);
  l.close();
  await p.close();
});

test("RFC 1337: RST in TIME-WAIT is ignored; a retransmitted FIN is re-ACKed", async () => {
  const p = pair({ seed: 8 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  sk.shutdown(1); // our FIN
  const fin = peer.take().find((s) => s.flags & TcpFlags.FIN)!;
  assert.is(fin.seq, ourSeq);
  assert.is(sk.state, TcpState.FIN_WAIT_1);
  peer.inject({ seq: peerSeq, ack: ourSeq + 1, flags: TcpFlags.ACK | TcpFlags.FIN });
  assert.is(sk.state, TcpState.TIME_WAIT);
  peer.take();
  peer.inject({ seq: peerSeq + 1, flags: TcpFlags.RST });
  assert.is(sk.state, TcpState.TIME_WAIT);
  assert.is(p.b.stats.drops.get("tcp.timewait_rst_ignored"), 1);
  peer.inject({ seq: peerSeq, ack: ourSeq + 1, flags: TcpFlags.ACK | TcpFlags.FIN });
  const [a] = peer.take();
  assert.is(a!.flags, TcpFlags.ACK);
  assert.is(a!.ack, peerSeq + 1);
  sk.close();
  p.clock.runUntil(() => sk.state === TcpState.CLOSED, 120_000);
  await p.close();
});

test("RST after connection established via real peers: abort() makes the peer see ECONNRESET", async () => {
  const p = pair({ seed: 9, impair: { delay: 3 } });
  const { client, server, listener } = connectPair(p);
  server.abort();
  p.clock.runUntil(() => client.state === TcpState.CLOSED, 10_000);
  assert.is(client.error, Errno.ECONNRESET);
  client.close();
  listener.close();
  await p.close();
});

test("MUST-3/MUST-7: a bad checksum or malformed option is dropped and counted (InErrs), no reply", async () => {
  const p = pair({ seed: 10 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  peer.take();
  // Malformed option: kind 30 with length 0, built by hand.
  const skb = p.b.allocator.alloc(0)!;
  const at = skb.put(24);
  const u8 = p.arena.u8;
  u8.fill(0, at, at + 24);
  u8[at] = 40000 >> 8;
  u8[at + 1] = 40000 & 255;
  u8[at + 2] = 8080 >> 8;
  u8[at + 3] = 8080 & 255;
  new DataView(u8.buffer).setUint32(at + 4, peerSeq);
  new DataView(u8.buffer).setUint32(at + 8, ourSeq);
  u8[at + 12] = 6 << 4;
  u8[at + 13] = TcpFlags.RST;
  u8[at + 20] = 30;
  u8[at + 21] = 0;
  skb.ipSummed = 1; // checksum "verified": only the option is wrong
  p.b.tcp.rcv(skb, { src: 0xc0000201, dst: ADDR_B } as never, undefined as never);
  assert.is(sk.state, TcpState.ESTABLISHED, "the RST with a bad option did nothing");
  assert.is(p.b.stats.drops.get("tcp.bad_option"), 1);
  assert.is(p.b.stats.tcp.inErrs, 1);
  assert.is(peer.take().length, 0);
  sk.abort();
  await p.close();
});

test("S4 / §8 row 7: incoming SACK blocks are validated and otherwise ignored; invalid ones are counted", async () => {
  const p = pair({ seed: 32 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p, { options: { sackPermitted: true } });
  assert.ok(sk.tcb.sackOk);
  peer.take();
  sk.send(new Uint8Array(3000));
  peer.take();
  peer.inject({
    seq: peerSeq,
    ack: ourSeq,
    flags: TcpFlags.ACK,
    options: { sackBlocks: [ourSeq + 1448, ourSeq + 2896, ourSeq + 900_000, ourSeq + 5] },
  });
  assert.is(p.b.stats.drops.get("tcp.sack_invalid_block"), 1);
  assert.is(sk.state, TcpState.ESTABLISHED);
  sk.abort();
  await p.close();
});

test("MUST-57: segments to a broadcast address get no RST and open nothing", async () => {
  const p = pair({ seed: 33 });
  const peer = new RawPeer(p);
  const l = p.b.tcp.socket();
  l.bind(0, 8080);
  l.listen(4);
  peer.inject({ seq: 1, flags: TcpFlags.SYN, dst: 0xc00002ff });
  peer.inject({ seq: 1, flags: TcpFlags.SYN, dst: 0xc00002ff, dport: 9 });
  peer.inject({ seq: 1, ack: 5, flags: TcpFlags.ACK, dst: 0xffffffff, dport: 9 });
  assert.is(peer.take().length, 0);
  assert.is(l.tcb.listen!.synQueue.size, 0);
  assert.is(p.b.stats.drops.get("tcp.not_unicast"), 3);
  l.close();
  await p.close();
});
