/**
 * Focused tests for RFC 9293 MUSTs that no script in tests/tcp/scripts and no
 * other TCP test covered (tests/tcp/TRACEABILITY.md lists what proves each).
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair } from "../_util/sim.ts";
import { assertScriptOk } from "../_util/script_test_helper.ts";
import type { Stack } from "../../src/api/stack.ts";
import { Errno } from "../../src/core/errno.ts";
import { runScript, stackTarget } from "../../src/testing/script.ts";
import { rttSample } from "../../src/tcp/rtt.ts";
import { TcpState } from "../../src/tcp/state.ts";
import { parseIpv4 } from "../../src/wire/addr.ts";
import { ADDR_B } from "./_helpers.ts";
import { rawAccept, TcpFlags } from "./_raw.ts";

test("MUST-48/49: IP_TOS and IP_TTL set on a listener reach its connections' segments; RSTs for unknown peers keep the defaults", async () => {
  // Every socket the script opens gets IP_TTL 7 and IP_TOS 0x4b (the ECN bits 0x03 are TCP's: cleared).
  const setup = (s: Stack) => {
    const orig = s.tcp.socket.bind(s.tcp);
    s.tcp.socket = () => {
      const sk = orig();
      assert.is(sk.setOption("IP_TTL", 7), 0);
      assert.is(sk.setOption("IP_TOS", 0x4b), 0);
      assert.is(sk.getOption("IP_TOS"), 0x48);
      assert.is(sk.setOption("IP_TTL", 0), -Errno.EINVAL);
      assert.is(sk.setOption("IP_TTL", 256), -Errno.EINVAL);
      assert.is(sk.getOption("IP_TTL"), 7);
      return sk;
    };
  };
  const r = await runScript(
    `--tolerance_usecs=0
--quiet_usecs=100000
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > [tos 0x48, ttl 7] S. 0:0(0) ack 1 <mss 1460>
+0    < . 1:1(0) ack 1 win 65535
+0    accept(3, ..., ...) = 4
+0    write(4, ..., 10) = 10
+0    > [tos 0x48, ttl 7] P. 1:11(10) ack 1
+0    < 48001>9999 S 0:0(0) win 65535
+0    > [tos 0x00, ttl 64] 9999>48001 R. 0:0(0) ack 1
`,
    { target: stackTarget({ setup }) },
  );
  assertScriptOk(r);
});

test("MUST-43/44/46: connect() takes an optional local address, else the route's; broadcast and multicast remotes are refused", async () => {
  const p = pair({ seed: 5 });
  const a = p.a.tcp.socket();
  // 192.0.2.255 is the pair's subnet broadcast; 224.0.0.1 multicast; 255.255.255.255 limited broadcast.
  for (const bad of ["224.0.0.1", "255.255.255.255", "192.0.2.255"]) {
    assert.is(a.connect(parseIpv4(bad), 80), -Errno.ENETUNREACH, bad);
    assert.is(a.state, TcpState.CLOSED);
  }
  // An explicit local address that is not ours is refused (MUST-43).
  assert.is(a.connect(ADDR_B, 80, parseIpv4("192.0.2.77")), -Errno.EADDRNOTAVAIL);
  // With one of ours it is used; without, the route's source (MUST-44).
  const own = p.a.ipv4.route(ADDR_B)!.src;
  assert.is(a.connect(ADDR_B, 80, own), -Errno.EINPROGRESS);
  assert.is(a.laddr, own);
  const b = p.a.tcp.socket();
  assert.is(b.connect(ADDR_B, 81), -Errno.EINPROGRESS);
  assert.is(b.laddr, own);
  a.abort();
  b.abort();
  await p.close();
});

test("MUST-63: a SYN from a broadcast or multicast source is dropped by IP before TCP (no SYN-ACK, no RST)", async () => {
  for (const src of ["192.0.2.255", "224.0.0.9", "255.255.255.255"]) {
    let stack: Stack | undefined;
    const r = await runScript(
      `--remote_ip=${src}\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 < S 0:0(0) win 65535 <mss 1460>\n`,
      { target: stackTarget({ setup: (s) => void (stack = s) }) },
    );
    assertScriptOk(r);
    assert.is(stack!.stats.drops.snapshot()["ipv4.martian_source"], 1, src);
    assert.is(stack!.stats.tcp.inSegs, 0, src);
  }
});

test("MUST-18: RTO = SRTT + max(4·RTTVAR, 200 ms) per RFC 6298 (first sample, update, clamp)", async () => {
  const p = pair({ seed: 9 });
  const sk = p.a.tcp.socket();
  rttSample(sk.tcb, 40); // R2: SRTT 40, RTTVAR 20 → RTO 40 + max(80, 200)
  assert.is(sk.tcb.rtt.srtt, 40);
  assert.is(sk.tcb.rtt.rttvar, 20);
  assert.is(sk.tcb.rtt.rto, 240);
  rttSample(sk.tcb, 440); // R3: RTTVAR = 3/4·20 + 1/4·400 = 115; SRTT = 7/8·40 + 1/8·440 = 90
  assert.is(sk.tcb.rtt.rttvar, 115);
  assert.is(sk.tcb.rtt.srtt, 90);
  assert.is(sk.tcb.rtt.rto, 90 + 460);
  rttSample(sk.tcb, 1e9);
  assert.is(sk.tcb.rtt.rto, p.a.tcp.config.rtoMax, "clamped to the maximum");
  await p.close();
});

test("MUST-18 (Karn): an ACK covering retransmitted data gives no RTT sample", async () => {
  const p = pair({ seed: 11 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p);
  peer.take();
  const srtt = sk.tcb.rtt.srtt;
  assert.is(sk.send(new Uint8Array(100)), 100);
  peer.take();
  // No ACK: the RTO fires and the segment is retransmitted.
  p.clock.runUntil(() => peer.out.length > 0, 10_000);
  assert.is(peer.take()[0]!.seq, ourSeq);
  p.clock.advance(5000); // the ACK comes very late: a timed sample would be seconds
  peer.inject({ seq: peerSeq, ack: (ourSeq + 100) >>> 0, flags: TcpFlags.ACK, window: 65535 });
  assert.is(sk.tcb.rtt.srtt, srtt, "no sample from a retransmitted segment");
  sk.abort();
  await p.close();
});

test("MUST-37: a zero window answered for longer than R2 (> 900 s) keeps the connection open, probing with backoff", async () => {
  const p = pair({ seed: 23 });
  const { peer, sk, peerSeq, ourSeq } = rawAccept(p, { window: 0 });
  peer.take();
  assert.is(sk.send(new Uint8Array(300)), 300);
  const start = p.clock.now();
  let probes = 0;
  while (p.clock.now() - start < 1_200_000) {
    p.clock.runUntil(() => peer.out.length > 0, 300_000);
    if (peer.take().length > 0) probes++;
    peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK, window: 0 });
    assert.is(sk.state, TcpState.ESTABLISHED, `after ${probes} probes`);
  }
  assert.ok(probes >= 10 && probes < 40, `${probes} probes in 20 min (backoff to RTO max)`);
  peer.inject({ seq: peerSeq, ack: ourSeq, flags: TcpFlags.ACK, window: 65535 });
  assert.is(peer.take().reduce((n, s) => n + s.len, 0), 300, "data flows once the window opens");
  sk.abort();
  await p.close();
});
