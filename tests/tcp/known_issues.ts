/**
 * Known issues in the TCP core found by the adversarial fuzz / security
 * review: one minimal FAILING test each. This file is deliberately not named
 * `*_test.ts`, so the suite does not pick it up. Run it by hand:
 *
 *     deno test -A tests/tcp/known_issues.ts
 *
 * When an issue is fixed its test passes: move it to `security_test.ts`
 * (or the relevant suite) and, for KI-1, drop the exclusion in
 * `fuzz_scale_test.ts` (search "KNOWN ISSUE").
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Pair, pair } from "../_util/sim.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { TcpState } from "../../src/tcp/state.ts";
import type { TcpSock } from "../../src/tcp/sock.ts";
import { emitTcp, tcpHeaderLength } from "../../src/wire/tcp.ts";
import { NO_TCP_OPTIONS, type TcpOptions } from "../../src/wire/tcp_options.ts";
import type { Ipv4Repr } from "../../src/wire/ipv4.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import type { Stack } from "../../src/api/stack.ts";
import { rawAccept, TcpFlags } from "./_raw.ts";
import { ADDR_A, ADDR_B, connectPair, randomBytes } from "./_helpers.ts";

const { ACK, SYN, PSH, FIN } = TcpFlags;

/** Deliver a crafted segment to `to`'s TCP as if from `src`:`sport`. */
function inject(
  p: Pair,
  to: Stack,
  src: number,
  dst: number,
  s: {
    sport: number;
    dport: number;
    seq: number;
    ack: number;
    flags: number;
    options?: Partial<TcpOptions>;
    payload?: Uint8Array;
  },
): void {
  const payload = s.payload ?? new Uint8Array(0);
  const options: TcpOptions = { ...NO_TCP_OPTIONS, ...s.options };
  const skb = to.allocator.alloc(payload.length)!;
  skb.append(payload);
  const hlen = tcpHeaderLength(options);
  const at = skb.push(hlen);
  emitTcp(
    {
      srcPort: s.sport,
      dstPort: s.dport,
      seq: s.seq >>> 0,
      ack: s.ack >>> 0,
      flags: s.flags,
      window: 65535,
      urgentPointer: 0,
      options,
      payloadLength: payload.length,
    },
    p.arena.u8,
    at,
    { src, dst },
  );
  skb.networkHeader = at;
  to.tcp.rcv(skb, { src, dst, protocol: 6 } as unknown as Ipv4Repr, undefined as unknown as Iface);
}

/**
 * KI-1 (HIGH: silent data loss). src/tcp/tcp.ts `TcpProtocol.rcv`, TIME-WAIT
 * branch (`sk.orphan = true; tcpDone(sk)` when `timeWaitAcceptsSyn`), and the
 * same pattern in `onTimeWaitReuse`: ending TIME-WAIT early for an RFC 6191
 * SYN forces `orphan`, so `tcpDone` runs `purgeReceive` and releases the
 * socket although the user still holds it with unread data. recv() then
 * returns 0 (EOF) — the stream is silently truncated. Without timestamps any
 * SYN with SEG.SEQ > RCV.NXT qualifies, i.e. half of all blind random SYNs.
 * Found by fuzz_scale_test (seed 42506, no-timestamp part). Fix: if the TCB
 * is not orphaned, unhash it and finish it without purging the receive queue
 * (Linux keeps the full socket's queue; only the timewait mini-socket dies).
 */
test("KI-1: a SYN that reopens a TIME-WAIT 4-tuple must not discard data the user has not read", () => {
  const p = pair({ seed: 1, impair: { delay: 1 }, a: { tcp: { timestamps: false } } });
  const { listener, client, server } = connectPair(p);
  // Server closes first, client sends data then closes: server ends in TIME-WAIT
  // with the client's data still unread.
  server.shutdown(1);
  p.clock.advance(50);
  const data = randomBytes(5000, 1);
  assert.is(client.send(data), 5000);
  client.close();
  p.clock.runUntil(() => server.state === TcpState.TIME_WAIT, 10_000);
  assert.is(server.state, TcpState.TIME_WAIT);
  // A (blind) SYN for the same 4-tuple with a higher sequence number.
  inject(p, p.b, ADDR_A, ADDR_B, {
    sport: client.lport,
    dport: 8080,
    seq: (server.rcvNxt + 1_000_000) >>> 0,
    ack: 0,
    flags: SYN,
    options: { mss: 1460 },
  });
  const buf = new Uint8Array(10_000);
  let got = 0;
  for (let n = server.recv(buf); n > 0; n = server.recv(buf)) got += n;
  assert.is(got, 5000, `read ${got} of 5000 bytes before EOF`);
  void listener;
});

/**
 * KI-2 (MEDIUM: ACK loop / storm). src/tcp/input.ts `rcvSynchronized`: the
 * PAWS branch (`pawsReject` → `sendAck`) and the "not acceptable" branch
 * (`!acceptable` → `sendAck`) answer every segment with an ACK, without the
 * rate limit Linux applies (`tcp_oow_rate_limited`, sysctl
 * tcp_invalid_ratelimit = 500 ms, commit f2b2c582e824 "tcp: mitigate ACK
 * loops for connections as tcp_sock"). When both ends consider the other's
 * segments unacceptable (both TS.Recent ahead, or desynchronised sequence
 * numbers after a hijack), each ACK triggers an ACK: an endless ping-pong at
 * wire speed. Seen in fuzz_scale_test as ~26,000 PAWS rejections in 450 ms of
 * virtual time. Fix: rate-limit these dupACKs per socket (e.g. ≥ 500 ms
 * apart, as Linux), sharing nothing global.
 */
test("KI-2: PAWS-rejected and out-of-window segments must not produce an unbounded ACK ping-pong", () => {
  const p = pair({ seed: 1, impair: { delay: 1 } });
  const { client, server } = connectPair(p);
  assert.ok(client.tsOk && server.tsOk);
  // Move each end's TS.Recent 100 s ahead (a segment at exactly RCV.NXT).
  const poison = (to: Stack, sk: TcpSock, src: number, dst: number) =>
    inject(p, to, src, dst, {
      sport: sk.rport,
      dport: sk.lport,
      seq: sk.rcvNxt,
      ack: sk.sndNxt,
      flags: ACK,
      options: { tsVal: (sk.tsRecent + 100_000) >>> 0, tsEcr: 0 },
    });
  poison(p.b, server, ADDR_A, ADDR_B);
  poison(p.a, client, ADDR_B, ADDR_A);
  const out0 = p.a.stats.tcp.outSegs + p.b.stats.tcp.outSegs;
  client.send(new Uint8Array(1)); // one segment starts it
  p.clock.advance(1000);
  const sent = p.a.stats.tcp.outSegs + p.b.stats.tcp.outSegs - out0;
  assert.ok(
    sent < 50,
    `${sent} segments in 1 s (PAWS rejects ${p.a.stats.tcp.pawsRejected}+${p.b.stats.tcp.pawsRejected})`,
  );
});

/**
 * KI-3 (MEDIUM: connection wedged by a segment that is itself refused).
 * src/tcp/input.ts `rcvSynchronized`: RFC 7323 T4 (`tsRecent ← SEG.TSval`)
 * runs right after the sequence-number check — before the RST, SYN and ACK
 * checks. A SYN (or RST ≠ RCV.NXT handled as challenge, or an ACK above
 * SND.NXT) at SEG.SEQ = RCV.NXT with a TSval far in the future is answered
 * with a challenge ACK and dropped, yet TS.Recent has already jumped, so every
 * later genuine segment fails PAWS. Linux moved the update into `tcp_ack()`
 * behind FLAG_UPDATE_TS_RECENT for exactly this (commit bd090dfc634d "tcp:
 * tcp_replace_ts_recent() should not be called from tcp_validate_incoming()").
 * Fix: update TS.Recent only once the segment passed the RST/SYN/ACK checks.
 */
test("KI-3: a SYN refused with a challenge ACK must not move TS.Recent (later genuine data still accepted)", () => {
  const p = pair({ seed: 1 });
  const { peer, sk, peerSeq } = rawAccept(p, { options: { tsVal: 1000, sackPermitted: true } });
  peer.take();
  const before = sk.tsRecent;
  peer.inject({ seq: peerSeq, flags: SYN, options: { tsVal: 1000 + 0x40000000, tsEcr: 0 } });
  assert.ok(peer.take().length === 1, "challenge ACK");
  assert.is(sk.tsRecent, before, "TS.Recent moved by a refused SYN");
  peer.inject({
    seq: peerSeq,
    ack: sk.sndNxt,
    flags: ACK | PSH,
    options: { tsVal: 1010, tsEcr: 0 },
    payload: new Uint8Array([1, 2, 3]),
  });
  assert.is(sk.rcvNxt, (peerSeq + 3) >>> 0, "genuine data refused by PAWS");
});

/**
 * KI-4 (LOW–MEDIUM: O(n) per segment, bounded by the cap). src/tcp/recv.ts
 * `queueOfo` / `pruneOfo` / `rebuildRanges`: once the out-of-order queue is at
 * `maxOfoSegments`, every further segment is inserted, then the farthest one
 * pruned, and `rebuildRanges` re-inserts the whole queue into the range table
 * — 256 `rangeInsert` calls per arriving 1-byte segment (plus a linear
 * sorted-insert scan from the tail). §8 row 8 asks that per-segment work not
 * grow with the queue. Fix: when pruning from the tail, trim the range table
 * (`rangeRemove`/truncate above the new right edge) instead of rebuilding;
 * reject a segment beyond the current farthest one outright when at the cap
 * (Linux drops the incoming farthest segment without touching the rest).
 */
test("KI-4: out-of-order segments at the cap cost O(1) range-table work each, not O(queue)", () => {
  const p = pair({ seed: 1 });
  const { peer, sk, peerSeq } = rawAccept(p);
  peer.take();
  const hp = sk.ctx.hotPaths;
  let calls = 0;
  const orig = hp.rangeInsert.bind(hp);
  (hp as { rangeInsert: typeof hp.rangeInsert }).rangeInsert = (t, a, b) => {
    calls++;
    return orig(t, a, b);
  };
  const perSeg = (from: number, n: number) => {
    const c0 = calls;
    for (let i = from; i < from + n; i++) {
      peer.inject({
        seq: (peerSeq + 2 + 2 * i) >>> 0,
        ack: sk.sndNxt,
        flags: ACK,
        payload: new Uint8Array([i & 255]),
      });
    }
    peer.take();
    return (calls - c0) / n;
  };
  const early = perSeg(0, 50); // queue 0 → 50
  perSeg(50, 250); // fill to the cap
  const atCap = perSeg(1000, 200); // queue at the cap (256)
  assert.ok(
    atCap <= early * 2 + 1,
    `range inserts per segment: ${early} early, ${atCap} at the cap`,
  );
});

/**
 * KI-5 (MEDIUM, documented gap: SYN cookies not implemented). With the SYN
 * queue bounded by the backlog (16) and a flood of 1000 SYN/s from spoofed
 * sources, each SYN-RECEIVED entry lives through 5 SYN-ACK retries (~63 s),
 * so the queue is full all the time and a legitimate client's SYN (and its
 * retransmissions) are dropped: it cannot connect while the flood lasts.
 * §8 row 1 requires legitimate clients to still connect. Fix: SYN cookies
 * when the SYN queue is full (RFC 4987 §3.6), or at least evict the oldest
 * SYN-RECEIVED entry (random early drop) instead of refusing the new SYN.
 */
test("KI-5: a legitimate client connects while 1000 SYN/s from spoofed sources hit a backlog-16 listener", () => {
  const p = pair({ seed: 1, impair: { delay: 2 } });
  const listener = p.b.tcp.socket();
  listener.bind(0, 8080);
  listener.listen(16);
  const r = new SeededRandom(11);
  const client = p.a.tcp.socket();
  let connectedAt = -1;
  for (let ms = 0; ms < 30_000; ms += 10) {
    for (let i = 0; i < 10; i++) {
      const src = (0xc0000200 | (10 + (r.nextU32() % 240))) >>> 0;
      inject(p, p.b, src, ADDR_B, {
        sport: 1024 + (r.nextU32() % 60000),
        dport: 8080,
        seq: r.nextU32(),
        ack: 0,
        flags: SYN,
      });
    }
    if (ms === 1000) client.connect(ADDR_B, 8080);
    p.clock.advance(10);
    if (connectedAt < 0 && client.state === TcpState.ESTABLISHED) connectedAt = p.clock.now();
  }
  assert.ok(
    connectedAt >= 0,
    `client state ${client.state} after 29 s of flood; SYN queue ${listener.synQueue.size}, ` +
      `listenDrops ${p.b.stats.tcp.listenDrops}, client SYN retransmits ${p.a.stats.tcp.synRetrans}`,
  );
});

/**
 * KI-6 (LOW: unthrottled reflection). src/tcp/input.ts `rcvSynchronized`: a
 * SYN outside the receive window is answered by the generic "not acceptable"
 * `sendAck` before the SYN check, so RFC 5961 §4.2 ("irrespective of the
 * sequence number … challenge ACK") is met in content but not in rate: the
 * §7 per-connection limit (`challengeAckLimit`) does not apply. A blind
 * attacker gets a 1:1 ACK reflection for every random-sequence SYN. Fix: route
 * SYN (and pure out-of-window) answers through `sendChallengeAck` or the
 * KI-2 rate limit.
 */
test("KI-6: out-of-window SYNs are answered under the challenge-ACK rate limit", () => {
  const p = pair({ seed: 1 });
  const { peer, sk } = rawAccept(p);
  peer.take();
  const r = new SeededRandom(5);
  for (let i = 0; i < 200; i++) {
    peer.inject({ seq: (sk.rcvNxt + 0x40000000 + (r.nextU32() % 0x3fffffff)) >>> 0, flags: SYN });
  }
  const acks = peer.take().length;
  assert.ok(
    acks <= p.b.tcp.config.challengeAckLimit,
    `${acks} ACKs for 200 blind SYNs within one second`,
  );
  void FIN;
});

/**
 * KI-7 (MEDIUM, documented gap "orphan eviction (RFC 6429)"). src/tcp/timers.ts
 * `probeTimer`: MUST-37 keeps probing as long as the peer answers, with no
 * limit for an orphaned socket (the user already called close()). A
 * Sockstress peer that answers every zero-window probe with window 0 pins the
 * TCB and its whole send buffer (here ~256 KB of arena) forever; many such
 * connections exhaust the arena. Linux bounds orphans by
 * `tcp_orphan_retries` (backoff count, even when the peer answers) and
 * `tcp_out_of_resources`. Fix: when `sk.orphan`, abort after N backed-off
 * probes (or a total persist time), and under arena pressure.
 */
test("KI-7: an orphaned connection stuck on a zero window is eventually aborted and its send buffer freed", () => {
  const p = pair({ seed: 1 });
  const { peer, sk, peerSeq } = rawAccept(p, { window: 0 });
  peer.take();
  for (let i = 0; i < 10; i++) sk.send(new Uint8Array(100_000));
  sk.close(); // orphan, FIN queued behind the data
  const t0 = p.clock.now();
  while (p.clock.now() - t0 < 3_600_000) {
    const next = p.clock.nextDeadline();
    if (next === undefined) break;
    p.clock.advance(Math.max(next - p.clock.now(), 1));
    if (peer.take().length > 0) {
      peer.inject({ seq: peerSeq, ack: sk.sndUna, flags: ACK, window: 0 });
    }
  }
  assert.is(sk.state, TcpState.CLOSED, `after 1 h: state ${sk.state}, ${sk.sndQueued} bytes held`);
});
