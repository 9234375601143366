/**
 * The protocol object: ICMP errors (MUST-54…56, RFC 5927), listener
 * shutdown, transition counters, and SYN-SENT checks (PAWS on the SYN-ACK,
 * MUST-11 for an active SYN-RECEIVED).
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair } from "../_util/sim.ts";
import { Errno } from "../../src/core/errno.ts";
import type { IcmpError } from "../../src/ipv4/layer.ts";
import { icmpErrno, icmpFatal } from "../../src/ipv4/icmp_errno.ts";
import { TcpState } from "../../src/tcp/state.ts";
import { ADDR_A, ADDR_B, connectPair } from "./_helpers.ts";
import { rawAccept, RawPeer, TcpFlags } from "./_raw.ts";
import { MsgFlags, Poll } from "../../src/tcp/config.ts";

function icmpFor(
  src: number,
  dst: number,
  sport: number,
  dport: number,
  seq: number,
  type: number,
  code: number,
): IcmpError {
  const u8 = new Uint8Array(8);
  const v = new DataView(u8.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint32(4, seq);
  return {
    type,
    code,
    nextHopMtu: 0,
    from: dst,
    errno: icmpErrno(type, code),
    fatal: icmpFatal(type, code),
    u8,
    quote: {
      src,
      dst,
      protocol: 6,
      id: 0,
      fragmentOffset: 0,
      totalLength: 40,
      transportOffset: 0,
      transportLength: 8,
    },
  };
}

test("MUST-54/56, RFC 5927: ICMP port unreachable (hard) aborts a connect with ECONNREFUSED; a soft error only records; an out-of-window quote is ignored", async () => {
  const p = pair({ seed: 41 });
  const peer = new RawPeer(p); // capture B's SYN
  const c = p.b.tcp.socket();
  c.connect(ADDR_A, 9);
  const [syn] = peer.take();
  // Out of window: ignored.
  p.b.tcp.err(icmpFor(ADDR_B, ADDR_A, c.lport, 9, syn!.seq + 5000, 3, 3));
  assert.is(c.state, TcpState.SYN_SENT);
  assert.is(p.b.stats.drops.get("tcp.icmp_out_of_window"), 1);
  // Soft (host unreachable): recorded, not fatal (MUST-56).
  p.b.tcp.err(icmpFor(ADDR_B, ADDR_A, c.lport, 9, syn!.seq, 3, 1));
  assert.is(c.state, TcpState.SYN_SENT);
  assert.is(c.tcb.softErr, Errno.EHOSTUNREACH);
  // Hard: the attempt fails.
  p.b.tcp.err(icmpFor(ADDR_B, ADDR_A, c.lport, 9, syn!.seq, 3, 3));
  assert.is(c.state, TcpState.CLOSED);
  assert.is(c.error, Errno.ECONNREFUSED);
  c.close();
  await p.close();
});

test("closing a listener resets connections that were never accepted and drops its SYN queue", async () => {
  const p = pair({ seed: 42, impair: { delay: 1 } });
  const { client, server, listener } = connectPair(p);
  const c2 = p.a.tcp.socket();
  c2.connect(ADDR_B, 8080);
  p.clock.runUntil(() => listener.tcb.listen!.acceptQueue.length === 1);
  listener.close();
  p.clock.runUntil(() => c2.state === TcpState.CLOSED);
  assert.is(c2.error, Errno.ECONNRESET);
  assert.is(server.state, TcpState.ESTABLISHED, "the accepted one is unaffected");
  for (const s of [client, server, c2]) s.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("setState counts transitions; CurrEstab is a gauge", async () => {
  const p = pair({ seed: 43, impair: { delay: 1 } });
  const { client, server, listener } = connectPair(p);
  const t = p.a.stats.tcp.transitions;
  assert.is(t[TcpState.CLOSED * 11 + TcpState.SYN_SENT], 1);
  assert.is(t[TcpState.SYN_SENT * 11 + TcpState.ESTABLISHED], 1);
  assert.is(p.a.stats.tcp.currEstab, 1);
  assert.is(p.b.stats.tcp.currEstab, 1);
  client.abort();
  assert.is(p.a.stats.tcp.currEstab, 0);
  server.close();
  listener.close();
  p.clock.runUntil(() => p.b.tcp.socks.size === 0, 200_000);
  assert.is(p.b.stats.tcp.currEstab, 0);
  await p.close();
});

test("SYN-SENT: a SYN-ACK with a wrong ACK gets <SEQ=SEG.ACK><RST>; TSecr outside our send times is rejected (PAWSActiveRejected); data on the SYN-ACK is not queued", async () => {
  const p = pair({ seed: 44 });
  const peer = new RawPeer(p, 9, 0);
  const c = p.b.tcp.socket();
  c.connect(ADDR_A, 9);
  const [syn] = peer.take();
  const sport = 9;
  const dport = c.lport;
  peer.inject({
    sport,
    dport,
    seq: 7000,
    ack: syn!.seq + 5,
    flags: TcpFlags.SYN | TcpFlags.ACK,
  });
  let [r] = peer.take();
  assert.is(r!.flags, TcpFlags.RST);
  assert.is(r!.seq, syn!.seq + 5);
  assert.is(c.state, TcpState.SYN_SENT);
  peer.inject({
    sport,
    dport,
    seq: 7000,
    ack: syn!.seq + 1,
    flags: TcpFlags.SYN | TcpFlags.ACK,
    options: { tsVal: 1, tsEcr: (syn!.options.tsVal! + 100_000) >>> 0 },
  });
  [r] = peer.take();
  assert.is(r!.flags, TcpFlags.RST);
  assert.is(p.b.stats.tcp.pawsRejected, 1);
  assert.is(c.state, TcpState.SYN_SENT);
  peer.inject({
    sport,
    dport,
    seq: 7000,
    ack: syn!.seq + 1,
    flags: TcpFlags.SYN | TcpFlags.ACK,
    options: { mss: 1000, tsVal: 1, tsEcr: syn!.options.tsVal! },
    payload: new Uint8Array(5),
  });
  [r] = peer.take();
  assert.is(c.state, TcpState.ESTABLISHED);
  assert.is(r!.ack, 7001, "only the SYN is acknowledged");
  assert.is(c.tcb.rcv.queued, 0);
  assert.is(c.tcb.snd.mss, 1000 - 12);
  c.abort();
  await p.close();
});

test("MUST-11: a RST in SYN-RECEIVED reached by an active open (simultaneous open) ends in CLOSED with ECONNREFUSED", async () => {
  const p = pair({ seed: 45 });
  const peer = new RawPeer(p, 9, 0);
  const c = p.b.tcp.socket();
  c.connect(ADDR_A, 9);
  const [syn] = peer.take();
  peer.inject({ sport: 9, dport: c.lport, seq: 3000, flags: TcpFlags.SYN });
  assert.is(c.state, TcpState.SYN_RECEIVED);
  const [sa] = peer.take();
  assert.is(sa!.flags, TcpFlags.SYN | TcpFlags.ACK);
  assert.is(sa!.seq, syn!.seq);
  assert.is(sa!.ack, 3001);
  peer.inject({ sport: 9, dport: c.lport, seq: 3001, flags: TcpFlags.RST });
  assert.is(c.state, TcpState.CLOSED);
  assert.is(c.error, Errno.ECONNREFUSED);
  c.close();
  await p.close();
});

test("MUST-30…33, MUST-62: urgent data — URG with the pointer after the last urgent byte; the receiver learns how much is pending (Poll.PRI); bytes stay in line", async () => {
  const p = pair({ seed: 46 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  peer.take();
  sk.setOption("TCP_NODELAY", 1);
  const enc = new TextEncoder();
  sk.send(enc.encode("abc"));
  sk.send(enc.encode("URGENT!"), MsgFlags.OOB);
  const segs = peer.take();
  const last = segs[segs.length - 1]!;
  assert.ok(last.flags & TcpFlags.URG);
  assert.is(
    (last.seq + last.urgentPointer) >>> 0,
    (ourSeq + 10) >>> 0,
    "points after the urgent data",
  );
  assert.ok(!(segs[0]!.flags & TcpFlags.URG) || segs.length === 1);
  // Receive side: urgent data pointer 5 on a 10-byte segment.
  peer.inject({
    seq: peerSeq,
    ack: ourSeq + 10,
    flags: TcpFlags.ACK | TcpFlags.URG | TcpFlags.PSH,
    payload: enc.encode("0123456789"),
    urgentPointer: 5,
  });
  p.clock.flush();
  assert.ok(sk.poll() & Poll.PRI);
  assert.is(sk.urgentMark(), 5);
  const buf = new Uint8Array(3);
  sk.recv(buf);
  assert.is(sk.urgentMark(), 2);
  sk.recv(buf);
  assert.is(sk.urgentMark(), -1);
  assert.is(sk.poll() & Poll.PRI, 0);
  sk.abort();
  await p.close();
});
