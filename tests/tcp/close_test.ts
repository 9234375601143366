/**
 * Closing: half-close both ways, every closing path (FIN-WAIT-1/2, CLOSING,
 * CLOSE-WAIT, LAST-ACK, TIME-WAIT), TIME-WAIT length (MUST-13), aborts.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair } from "../_util/sim.ts";
import { Errno } from "../../src/core/errno.ts";
import { Poll } from "../../src/tcp/config.ts";
import { TcpState } from "../../src/tcp/state.ts";
import { ADDR_A, ADDR_B, connectPair, randomBytes } from "./_helpers.ts";
import { injectInto, rawAccept, RawPeer, TcpFlags } from "./_raw.ts";

const S = TcpState;

function states(sk: { readonly tcb: { readonly ctx: unknown } }, log: number[]) {
  const tcb = sk.tcb;
  const ctx = tcb.ctx as { trace: ((e: { sk: unknown; to: number }) => void) | null };
  const prev = ctx.trace;
  ctx.trace = (e) => {
    prev?.(e);
    if (e.sk === tcb) log.push(e.to);
  };
}

test("active close: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT for 2×MSL = 60 s → CLOSED; passive: CLOSE-WAIT → LAST-ACK → CLOSED (MUST-13)", async () => {
  const p = pair({ seed: 11, impair: { delay: 5 } });
  const { client, server, listener } = connectPair(p);
  const cl: number[] = [];
  const sl: number[] = [];
  states(client, cl);
  states(server, sl);
  client.close();
  p.clock.runUntil(() => server.state === S.CLOSE_WAIT);
  assert.is(server.recv(new Uint8Array(4)), 0, "EOF (MUST-12: FIN, not RST)");
  assert.ok(server.poll() & Poll.RDHUP);
  server.close();
  p.clock.runUntil(() => client.state === S.TIME_WAIT);
  const twStart = p.clock.now();
  p.clock.runUntil(() => server.state === S.CLOSED);
  p.clock.runUntil(() => client.state === S.CLOSED, 120_000);
  const tw = p.clock.now() - twStart;
  assert.ok(tw >= 60_000 && tw < 60_100, `TIME-WAIT lasted ${tw} ms`);
  assert.equal(cl, [S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT, S.CLOSED]);
  assert.equal(sl, [S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]);
  assert.is(p.a.tcp.socks.size, 0);
  listener.close();
  assert.is(p.b.tcp.socks.size, 0);
  await p.close();
});

test("simultaneous close: both FIN-WAIT-1 → CLOSING → TIME-WAIT", async () => {
  const p = pair({ seed: 12, impair: { delay: 20 } });
  const { client, server, listener } = connectPair(p);
  const cl: number[] = [];
  const sl: number[] = [];
  states(client, cl);
  states(server, sl);
  client.shutdown(1);
  server.shutdown(1);
  p.clock.runUntil(() => client.state === S.TIME_WAIT && server.state === S.TIME_WAIT);
  assert.equal(cl, [S.FIN_WAIT_1, S.CLOSING, S.TIME_WAIT]);
  assert.equal(sl, [S.FIN_WAIT_1, S.CLOSING, S.TIME_WAIT]);
  assert.is(client.recv(new Uint8Array(1)), 0);
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 120_000);
  await p.close();
});

test("half-close both directions: data keeps flowing toward the side that shut down its sending half", async () => {
  const p = pair({ seed: 13, impair: { delay: 2 } });
  const { client, server, listener } = connectPair(p);
  const enc = new TextEncoder();
  // Client shuts down writing first; server keeps sending.
  assert.is(client.shutdown(1), 0);
  p.clock.runUntil(() => server.state === S.CLOSE_WAIT && client.state === S.FIN_WAIT_2);
  assert.is(client.send(enc.encode("x")), -Errno.EPIPE);
  assert.is(server.send(enc.encode("late data")), 9);
  const buf = new Uint8Array(64);
  p.clock.runUntil(() => (client.poll() & Poll.IN) !== 0);
  assert.is(new TextDecoder().decode(buf.subarray(0, client.recv(buf))), "late data");
  server.shutdown(1);
  p.clock.runUntil(() => client.state === S.TIME_WAIT && server.state === S.CLOSED);
  assert.is(client.recv(buf), 0);
  // And the other direction: the server side shuts first.
  const c2 = connectPair(p, 8081);
  c2.server.shutdown(1);
  p.clock.runUntil(() => c2.client.state === S.CLOSE_WAIT);
  assert.is(c2.client.send(enc.encode("reply")), 5);
  p.clock.runUntil(() => (c2.server.poll() & Poll.IN) !== 0);
  assert.is(c2.server.recv(buf), 5);
  c2.client.close();
  p.clock.runUntil(() => c2.client.state === S.CLOSED && c2.server.state === S.TIME_WAIT);
  for (const s of [client, server, listener, c2.server, c2.listener]) s.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 120_000);
  await p.close();
});

test("RFC 2525 §2.17: close() with unread data sends RST; the peer gets ECONNRESET", async () => {
  const p = pair({ seed: 14, impair: { delay: 2 } });
  const { client, server, listener } = connectPair(p);
  client.send(new Uint8Array(100));
  p.clock.runUntil(() => (server.poll() & Poll.IN) !== 0);
  server.close();
  assert.is(p.b.stats.tcp.abortOnClose, 1);
  p.clock.runUntil(() => client.state === S.CLOSED);
  assert.is(client.recv(new Uint8Array(10)), -Errno.ECONNRESET);
  client.close();
  listener.close();
  await p.close();
});

test("SO_LINGER 0: close() aborts with RST at once", async () => {
  const p = pair({ seed: 15, impair: { delay: 2 } });
  const { client, server, listener } = connectPair(p);
  assert.is(client.setOption("SO_LINGER", 0), 0);
  client.close();
  assert.is(p.a.stats.tcp.abortOnLinger, 1);
  assert.is(p.a.tcp.socks.size, 0, "no TIME-WAIT after an abort");
  p.clock.runUntil(() => server.state === S.CLOSED);
  assert.is(server.error, Errno.ECONNRESET);
  server.close();
  listener.close();
  await p.close();
});

test("TIME-WAIT length follows the stack's MSL and TCP_TIMEWAIT_MS", async () => {
  const p = pair({ seed: 16, impair: { delay: 1 }, a: { tcp: { msl: 2000 } } });
  const { client, server, listener } = connectPair(p);
  assert.is(client.getOption("TCP_TIMEWAIT_MS"), 4000);
  client.close();
  server.close();
  p.clock.runUntil(() => client.state === S.TIME_WAIT);
  const t0 = p.clock.now();
  p.clock.runUntil(() => client.state === S.CLOSED, 10_000);
  assert.ok(Math.abs(p.clock.now() - t0 - 4000) < 2);
  listener.close();
  p.clock.runUntil(() => p.b.tcp.socks.size === 0);
  await p.close();
});

test("orphaned FIN-WAIT-2 times out after 60 s (Linux tcp_fin_timeout)", async () => {
  const p = pair({ seed: 17 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  sk.close();
  peer.take();
  peer.inject({ seq: peerSeq, ack: ourSeq + 1, flags: TcpFlags.ACK });
  assert.is(sk.state, S.FIN_WAIT_2);
  p.clock.advance(59_000);
  assert.is(sk.state, S.FIN_WAIT_2);
  p.clock.advance(1_001);
  assert.is(sk.state, S.CLOSED);
  await p.close();
});

test("data arriving for a closed (orphaned) socket is answered with RST", async () => {
  const p = pair({ seed: 18 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  sk.close();
  peer.take();
  peer.inject({
    seq: peerSeq,
    ack: ourSeq + 1,
    flags: TcpFlags.ACK,
    payload: new Uint8Array([1, 2, 3]),
  });
  const [r] = peer.take();
  assert.ok(r!.flags & TcpFlags.RST);
  assert.is(sk.state, S.CLOSED);
  assert.is(p.b.stats.tcp.abortOnData, 1);
  await p.close();
});

test("RFC 6191 / MAY-2: in TIME-WAIT a SYN with a newer timestamp opens a new connection at once", async () => {
  const p = pair({ seed: 19, impair: { delay: 2 } });
  const l = p.b.tcp.socket();
  l.bind(0, 8080);
  l.listen(4);
  const c = p.a.tcp.socket();
  c.setOption("SO_REUSEADDR", 1);
  c.bind(0, 5555);
  c.connect(0xc0000202, 8080);
  p.clock.runUntil(() => l.tcb.listen!.acceptQueue.length === 1);
  const s = l.accept()!;
  // The server closes first: the server side holds TIME-WAIT.
  s.close();
  p.clock.runUntil(() => c.state === S.CLOSE_WAIT);
  c.close();
  p.clock.runUntil(() => s.state === S.TIME_WAIT && c.state === S.CLOSED);
  p.clock.advance(2000);
  const c2 = p.a.tcp.socket();
  c2.setOption("SO_REUSEADDR", 1);
  assert.is(c2.bind(0, 5555), 0);
  c2.connect(0xc0000202, 8080);
  p.clock.runUntil(() => l.tcb.listen!.acceptQueue.length === 1, 5000);
  assert.is(c2.state, S.ESTABLISHED);
  assert.is(s.state, S.CLOSED, "the TIME-WAIT TCB gave way");
  const s2 = l.accept()!;
  assert.is(s2.rport, 5555);
  for (const x of [c2, s2, l]) x.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("TIME-WAIT reuse by connect() (tables hand-off, Linux tcp_twsk_unique): new ISS = old SND.NXT + 65537", async () => {
  const p = pair({ seed: 20, impair: { delay: 2 } });
  const l = p.b.tcp.socket();
  l.bind(0, 8080);
  l.listen(4);
  const c = p.a.tcp.socket();
  c.setOption("SO_REUSEADDR", 1);
  c.bind(0, 5556);
  c.connect(0xc0000202, 8080);
  p.clock.runUntil(() => l.tcb.listen!.acceptQueue.length === 1);
  const s = l.accept()!;
  c.close(); // the client holds TIME-WAIT
  p.clock.runUntil(() => s.state === S.CLOSE_WAIT);
  s.close();
  p.clock.runUntil(() => c.state === S.TIME_WAIT && s.state === S.CLOSED);
  const twNxt = c.tcb.snd.nxt;
  p.clock.advance(2000);
  const c2 = p.a.tcp.socket();
  c2.setOption("SO_REUSEADDR", 1);
  assert.is(c2.bind(0, 5556), 0);
  c2.connect(0xc0000202, 8080);
  assert.is(c.state, S.CLOSED);
  assert.is(c2.tcb.snd.iss, (twNxt + 65537) >>> 0);
  p.clock.runUntil(
    () => c2.state === S.ESTABLISHED && l.tcb.listen!.acceptQueue.length === 1,
    5000,
  );
  const s2 = l.accept()!;
  for (const x of [c2, s2, l]) x.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("§8 row 1: an unanswered SYN-ACK is retried (tcp_synack_retries = 5) and the request then dropped silently", async () => {
  const p = pair({ seed: 31 });
  const peer = new RawPeer(p);
  const l = p.b.tcp.socket();
  l.bind(0, 8080);
  l.listen(4);
  peer.inject({ seq: 1, flags: TcpFlags.SYN });
  p.clock.advance(200_000);
  const synacks = peer.take().filter((s) => s.flags === (TcpFlags.SYN | TcpFlags.ACK));
  assert.is(synacks.length, 6);
  assert.is(l.tcb.listen!.synQueue.size, 0);
  assert.is(p.b.tcp.socks.size, 1);
  assert.is(p.b.stats.tcp.outRsts, 0);
  l.close();
  await p.close();
});

test("§8 row 18: TIME-WAIT TCBs are capped (maxTimeWait); beyond the cap a closing connection skips TIME-WAIT", async () => {
  const p = pair({ seed: 34, impair: { delay: 1 }, a: { tcp: { maxTimeWait: 1 } } });
  const one = connectPair(p, 8080);
  const two = connectPair(p, 8081);
  for (const c of [one, two]) {
    c.client.close();
    p.clock.runUntil(() => c.server.state === S.CLOSE_WAIT);
    c.server.close();
  }
  p.clock.runUntil(() => one.client.state === S.TIME_WAIT && two.client.state === S.CLOSED);
  assert.is(p.a.tcp.timeWaitCount, 1);
  assert.is(p.a.stats.drops.get("tcp.timewait_overflow"), 1);
  p.clock.runUntil(() => one.client.state === S.CLOSED, 120_000);
  assert.is(p.a.tcp.timeWaitCount, 0);
  one.listener.close();
  two.listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("KI-1 (RFC 6191, MAY-2): a SYN that reopens a TIME-WAIT 4-tuple must not discard data the user has not read", async () => {
  const p = pair({ seed: 1, impair: { delay: 1 }, a: { tcp: { timestamps: false } } });
  const { listener, client, server } = connectPair(p);
  // Server closes first, client sends data then closes: the server ends in
  // TIME-WAIT with the client's data still unread.
  server.shutdown(1);
  p.clock.advance(50);
  const data = randomBytes(5000, 1);
  assert.is(client.send(data), 5000);
  client.close();
  p.clock.runUntil(() => server.state === S.TIME_WAIT, 10_000);
  assert.is(server.state, S.TIME_WAIT);
  // A (blind) SYN for the same 4-tuple with a higher sequence number: RFC
  // 6191 without timestamps lets it end TIME-WAIT.
  injectInto(p, p.b, ADDR_A, ADDR_B, {
    sport: client.lport,
    dport: 8080,
    seq: (server.tcb.rcv.nxt + 1_000_000) >>> 0,
    flags: TcpFlags.SYN,
    options: { mss: 1460 },
  });
  assert.is(server.state, S.CLOSED, "TIME-WAIT ended early");
  const buf = new Uint8Array(10_000);
  const got: Uint8Array[] = [];
  for (let n = server.recv(buf); n > 0; n = server.recv(buf)) got.push(buf.slice(0, n));
  const all = new Uint8Array(got.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const g of got) (all.set(g, o), o += g.length);
  assert.equal(all, data, `read ${all.length} of 5000 bytes before EOF`);
  assert.is(server.recv(buf), 0, "then end of stream");
  server.close();
  for (let s = listener.accept(); s !== null; s = listener.accept()) s.abort();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});

test("KI-1: TIME-WAIT reuse by connect() (Linux tcp_twsk_unique) keeps the unread data of the socket the user still holds", async () => {
  const p = pair({ seed: 20, impair: { delay: 2 } });
  const l = p.b.tcp.socket();
  l.bind(0, 8080);
  l.listen(4);
  const c = p.a.tcp.socket();
  c.setOption("SO_REUSEADDR", 1);
  c.bind(0, 5556);
  c.connect(ADDR_B, 8080);
  p.clock.runUntil(() => l.tcb.listen!.acceptQueue.length === 1);
  const s = l.accept()!;
  c.shutdown(1); // the client closes first (TIME-WAIT) but keeps the socket
  p.clock.runUntil(() => s.state === S.CLOSE_WAIT);
  assert.is(s.send(new Uint8Array([7, 8, 9])), 3);
  s.close();
  p.clock.runUntil(() => c.state === S.TIME_WAIT && s.state === S.CLOSED);
  p.clock.advance(2000);
  const c2 = p.a.tcp.socket();
  c2.setOption("SO_REUSEADDR", 1);
  assert.is(c2.bind(0, 5556), 0);
  c2.connect(ADDR_B, 8080);
  assert.is(c.state, S.CLOSED, "the TIME-WAIT guard is gone");
  const buf = new Uint8Array(16);
  assert.is(c.recv(buf), 3, "unread data survives");
  assert.equal([...buf.subarray(0, 3)], [7, 8, 9]);
  assert.is(c.recv(buf), 0);
  p.clock.runUntil(
    () => c2.state === S.ESTABLISHED && l.tcb.listen!.acceptQueue.length === 1,
    5000,
  );
  const s2 = l.accept()!;
  for (const x of [c, c2, s2, l]) x.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 200_000);
  await p.close();
});

test("FIN allocation failure (RFC 9293 §3.10.4/§3.10.5): shutdown with the arena exhausted aborts with ENOBUFS instead of never sending the FIN", async () => {
  const p = pair({ seed: 3 });
  const { listener, client, server } = connectPair(p);
  p.clock.advance(100);
  // Exhaust the arena so no FIN segment can be allocated.
  const held = [];
  for (let b = p.a.allocator.alloc(0); b !== null; b = p.a.allocator.alloc(0)) held.push(b);
  assert.ok(held.length > 0);
  assert.is(client.shutdown(1), 0);
  for (const b of held) b.free();
  assert.is(client.state, S.CLOSED, "not left in FIN-WAIT-1 without a FIN");
  assert.is(client.error, Errno.ENOBUFS);
  assert.ok(p.a.tcp.drops.get("tcp.out_of_memory") > 0);
  // The peer is not left hanging: the RST (now that memory is back, the next
  // segment from the peer is answered with a RST by the closed port).
  server.send(new Uint8Array(1));
  p.clock.runUntil(() => server.state === S.CLOSED, 10_000);
  assert.is(server.state, S.CLOSED);
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});
