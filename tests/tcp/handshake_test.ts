import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { Errno } from "../../src/core/errno.ts";
import { Poll } from "../../src/tcp/config.ts";
import { TcpState } from "../../src/tcp/state.ts";
import { ADDR_A, ADDR_B, connectPair, exchange, randomBytes } from "./_helpers.ts";
import { rawAccept, RawPeer, TcpFlags } from "./_raw.ts";

test("TCP: active/passive open reaches ESTABLISHED on both ends (RFC 9293 §3.5)", async () => {
  const p = pair({ seed: 1, impair: { delay: 5 } });
  const { listener, client, server } = connectPair(p);
  assert.is(client.state, TcpState.ESTABLISHED);
  assert.is(server.state, TcpState.ESTABLISHED);
  assert.is(server.raddr, ADDR_A);
  assert.is(server.rport, client.lport);
  assert.ok(client.tcb.tsOk && client.tcb.wscaleOk && client.tcb.sackOk, "options negotiated");
  assert.is(p.a.stats.tcp.activeOpens, 1);
  assert.is(p.b.stats.tcp.passiveOpens, 1);
  const r = exchange(p, client, server, randomBytes(5000, 1), randomBytes(3000, 2));
  assert.equal(r.atY, randomBytes(5000, 1));
  assert.equal(r.atX, randomBytes(3000, 2));
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("MUST-10: simultaneous open — crossed SYNs go SYN-SENT → SYN-RECEIVED → ESTABLISHED", async () => {
  const p = pair({ seed: 2, impair: { delay: 10 } });
  const a = p.a.tcp.socket();
  const b = p.b.tcp.socket();
  assert.is(a.bind(0, 5000), 0);
  assert.is(b.bind(0, 6000), 0);
  // Resolve ARP first so both SYNs really cross on the wire.
  await settle(p.clock, p.a.ping("192.0.2.2"));
  assert.is(a.connect(ADDR_B, 6000), -Errno.EINPROGRESS);
  assert.is(b.connect(ADDR_A, 5000), -Errno.EINPROGRESS);
  const seen: number[] = [];
  p.a.tcp.trace = (e) => e.sk === a.tcb && seen.push(e.to);
  p.clock.runUntil(() => a.state === TcpState.ESTABLISHED && b.state === TcpState.ESTABLISHED);
  assert.equal(seen, [TcpState.SYN_RECEIVED, TcpState.ESTABLISHED]);
  const r = exchange(p, a, b, randomBytes(20_000, 3), randomBytes(10_000, 4));
  assert.equal(r.atY, randomBytes(20_000, 3));
  assert.equal(r.atX, randomBytes(10_000, 4));
  a.close();
  b.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("connect-to-self on loopback works through simultaneous open (MUST-10, as Linux)", async () => {
  const p = pair({ seed: 3 });
  const s = p.a.tcp.socket();
  assert.is(s.bind(0x7f000001, 7000), 0);
  assert.is(s.connect(0x7f000001, 7000), -Errno.EINPROGRESS);
  p.clock.runUntil(() => s.state === TcpState.ESTABLISHED, 5000);
  assert.is(s.send(new TextEncoder().encode("echo")), 4);
  p.clock.runUntil(() => (s.poll() & Poll.IN) !== 0, 5000);
  const buf = new Uint8Array(10);
  assert.is(new TextDecoder().decode(buf.subarray(0, s.recv(buf))), "echo");
  s.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("MUST-22/23: SYN retransmits with exponential backoff and gives up after ≥ 3 min with ETIMEDOUT", async () => {
  // The ARP entry stays REACHABLE throughout: a failed re-resolution would
  // (rightly, as in Linux) end the attempt early with EHOSTUNREACH.
  const p = pair({
    seed: 4,
    aToB: { blackouts: [[100, 1e9]] },
    a: { neighbour: { reachableMs: 1e9 } },
  });
  await settle(p.clock, p.a.ping("192.0.2.2")); // ARP resolved; then A's frames are lost
  p.clock.advance(100);
  const c = p.a.tcp.socket();
  const t0 = p.clock.now();
  c.connect(ADDR_B, 80);
  p.clock.runUntil(() => c.state === TcpState.CLOSED, 600_000);
  const elapsed = p.clock.now() - t0;
  assert.ok(elapsed >= 180_000, `gave up after ${elapsed} ms`);
  assert.is(c.error, Errno.ETIMEDOUT);
  // Retransmissions at 1, 3, 7, 15, 31, 63, 127 s; the next expiry
  // (127 + RTO_MAX 120 = 247 s) is past the 180 s SYN R2: it gives up there.
  assert.is(p.a.stats.tcp.synRetrans, 7, `${p.a.stats.tcp.synRetrans} retransmissions`);
  assert.is(elapsed, 247_000);
  c.close();
  await p.close();
});

test("SYN queue is bounded by the backlog; a full accept queue drops the handshake-completing ACK, which the client's retransmission later completes", async () => {
  const p = pair({ seed: 5, impair: { delay: 1 } });
  const l = p.b.tcp.socket();
  l.bind(0, 8080);
  l.listen(1);
  const c1 = p.a.tcp.socket();
  const c2 = p.a.tcp.socket();
  c1.connect(ADDR_B, 8080);
  p.clock.runUntil(() => l.tcb.listen!.acceptQueue.length === 1);
  c2.connect(ADDR_B, 8080);
  // Client 2's SYN is dropped while the accept queue is full.
  p.clock.advance(500);
  assert.is(p.b.stats.tcp.listenDrops, 1);
  assert.is(c2.state, TcpState.SYN_SENT);
  const a1 = l.accept()!;
  assert.ok(a1 !== null);
  // c2's SYN retransmission (after 1 s) now gets through.
  p.clock.runUntil(() => l.tcb.listen!.acceptQueue.length === 1, 10_000);
  const a2 = l.accept()!;
  assert.is(c2.state, TcpState.ESTABLISHED);
  // listen() again only updates the backlog.
  assert.is(l.listen(4), 0);
  assert.is(l.tcb.listen!.backlog, 4);
  for (const s of [c1, c2, a1, a2, l]) s.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("data and FIN that arrive before accept() are kept; the accepted socket is already CLOSE-WAIT", async () => {
  const p = pair({ seed: 6, impair: { delay: 1 } });
  const l = p.b.tcp.socket();
  l.bind(0, 8080);
  l.listen(4);
  const c = p.a.tcp.socket();
  let lEvents = 0;
  l.onEvent = (m) => {
    if (m & Poll.IN) lEvents++;
  };
  c.connect(ADDR_B, 8080);
  p.clock.runUntil(() => c.state === TcpState.ESTABLISHED);
  c.send(new TextEncoder().encode("early bird"));
  c.shutdown(1);
  p.clock.advance(1000);
  assert.ok(lEvents >= 1);
  const s = l.accept()!;
  assert.is(s.state, TcpState.CLOSE_WAIT);
  const buf = new Uint8Array(32);
  assert.is(new TextDecoder().decode(buf.subarray(0, s.recv(buf))), "early bird");
  assert.is(s.recv(buf), 0);
  s.close();
  l.close();
  c.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("MUST-15/16: no MSS option → 536; a tiny MSS is floored; MSS only on SYNs (MUST-65); W1 no scaling unless both offer", async () => {
  const p = pair({ seed: 7 });
  const { peer, sk, listener } = rawAccept(p, { options: { mss: null } });
  assert.is(sk.tcb.snd.mssClamp, 536);
  assert.is(sk.tcb.snd.mss, 536);
  assert.is(sk.tcb.wscaleOk, false);
  assert.is(sk.tcb.snd.wscale, 0);
  assert.is(sk.tcb.rcv.wscale, 0);
  peer.take();
  sk.send(new Uint8Array(2000));
  const segs = peer.take();
  assert.ok(segs.length >= 3 && segs.every((s) => s.len <= 536 && s.options.mss === null));
  sk.abort();
  listener.close();
  const q = rawAccept(p, { options: { mss: 8, windowScale: 20 } });
  assert.is(q.sk.tcb.snd.mssClamp, 88, "floored (§8 rows 7/11)");
  assert.is(q.sk.tcb.snd.wscale, 14, "W2: clamped to 14");
  q.sk.abort();
  await p.close();
});

test("SYN-RECEIVED: a retransmitted SYN gets the SYN-ACK again at once (lost SYN-ACK)", async () => {
  const p = pair({ seed: 8 });
  const peer = new RawPeer(p);
  const l = p.b.tcp.socket();
  l.bind(0, 8080);
  l.listen(4);
  peer.inject({ seq: 77, flags: TcpFlags.SYN, options: { mss: 1460 } });
  const [sa1] = peer.take();
  peer.inject({ seq: 77, flags: TcpFlags.SYN, options: { mss: 1460 } });
  const [sa2] = peer.take();
  assert.is(sa2!.flags, TcpFlags.SYN | TcpFlags.ACK);
  assert.is(sa2!.seq, sa1!.seq);
  assert.is(sa2!.ack, 78);
  assert.is(l.tcb.listen!.synQueue.size, 1, "no second request");
  l.close();
  await p.close();
});
