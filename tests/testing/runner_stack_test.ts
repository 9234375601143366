/**
 * The runner against the real stack (the default target): ARP, ICMP, and
 * UDP and TCP through the BSD socket layer.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { assertScriptOk, scriptTest } from "../_util/script_test_helper.ts";
import type { Stack } from "../../src/api/stack.ts";
import { runScript, stackTarget } from "../../src/testing/runner.ts";

// A closed UDP port is answered with port unreachable (RFC 1122 §4.1.3.1).
scriptTest(
  "script: UDP to a closed port is answered with ICMP unreachable quoting the datagram",
  `
0   < udp (10)
+0  > icmp unreachable port_unreachable [udp (10)]
`,
);

// RFC 9293 §3.10.7.1: no ACK in the SYN, so <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
scriptTest(
  "script: a SYN to a port nobody listens on gets RST (RFC 9293 §3.10.7.1)",
  "0 < S 0:0(0) win 65535 <mss 1460>\n+0 > R. 0:0(0) ack 1\n",
);

scriptTest(
  "script: an ACK to a port nobody listens on gets RST with seq = SEG.ACK (RFC 9293 §3.10.7.1)",
  "0 < . 1:1(0) ack 1 win 65535\n+0 > R 1:1(0)\n",
);

scriptTest(
  "script: MUST-6 an unknown option is skipped, the SYN is still answered",
  "0 < S 0:0(0) win 65535 <opt 99 len 4,mss 1460>\n+0 > R. 0:0(0) ack 1\n",
);

test("script: MUST-3 a segment with a bad checksum is dropped silently (and counted)", async () => {
  let stack: Stack | undefined;
  const r = await runScript("0 < S 0:0(0) win 65535 bad_csum\n", {
    target: stackTarget({ setup: (s) => void (stack = s) }),
  });
  assertScriptOk(r);
  assert.is(stack!.stats.drops.snapshot()["tcp.bad_checksum"], 1);
});

test("script: MUST-7 a zero option length is dropped, not answered (and counted)", async () => {
  let stack: Stack | undefined;
  const target = stackTarget({ setup: (s) => void (stack = s) });
  assertScriptOk(await runScript("0 < S 0:0(0) win 65535 <opt 2 len 0>\n", { target }));
  assert.is(stack!.stats.drops.snapshot()["tcp.bad_option"], 1);
  assertScriptOk(await runScript("0 < S 0:0(0) win 65535 <mss 1460,raw 0x081e>\n", { target }));
  assert.is(stack!.stats.drops.snapshot()["tcp.bad_option"], 1, "a length running past the header");
});

test(
  "script: a UDP datagram with a bad checksum gets no ICMP error (RFC 1122 §4.1.3.4)",
  async () => {
    let stack: Stack | undefined;
    const r = await runScript("0 < udp (10) bad_csum\n", {
      target: stackTarget({ setup: (s) => void (stack = s) }),
    });
    assertScriptOk(r);
    assert.is(stack!.stats.drops.snapshot()["udp.bad_checksum"], 1);
  },
);

test("script: without a preseeded neighbour the runner answers the stack's ARP request", async () => {
  const r = await runScript("0 < icmp echo_request id 7\n+0 > icmp echo_reply id 7\n", {
    preseedArp: false,
  });
  assertScriptOk(r);
  const arp = r.transcript.filter((e) => e.kind === "arp").map((e) => e.text);
  assert.equal(arp, ["> arp who-has 192.0.2.1 tell 192.0.2.2 (answered)"]);
  // Preseeded (the default), the stack already knows the peer: no request.
  const p = await runScript("0 < icmp echo_request id 7\n+0 > icmp echo_reply id 7\n");
  assertScriptOk(p);
  assert.not.ok(p.transcript.some((e) => e.text.includes("who-has 192.0.2.1")));
});

test("script: a wrong expectation against the real stack fails with both packets shown", async () => {
  const code = "port_unreachable";
  const r = await runScript("0 < udp (10)\n+0 > icmp unreachable host_unreachable\n");
  assert.is(
    r.failure?.message,
    `line 2: expected > icmp unreachable host_unreachable at t=0.000, got > icmp unreachable ${code} [udp (10)] at t=0.000 (code differs)`,
  );
  const quote = await runScript(`0 < udp (10)\n+0 > icmp unreachable ${code} [udp (11)]\n`);
  assert.match(
    quote.failure!.message,
    /got > icmp unreachable \w+ \[udp \(10\)\] at t=0\.000 \(quote differs\)$/,
  );
  const silent = await runScript("0 < udp (10)\n");
  assert.match(
    silent.failure!.message,
    /^unexpected packet > icmp unreachable .* at t=0\.000 \(after the last line\)$/,
  );
});

scriptTest(
  "script: UDP socket calls — recvfrom, sendto and a blocking read woken by a datagram",
  `
0        socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
+0       bind(3, ..., ...) = 0
+.1      < udp (10)
+0       recvfrom(3, ..., 100, 0, ..., ...) = 10
+0       sendto(3, ..., 5, 0, ..., ...) = 5
+0       > udp (5)
+0...0.2 read(3, ..., 100) = 7
+.2      < udp (7) payload "payload"
+0       fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0       read(3, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)
+0       close(3) = 0
`,
);

scriptTest(
  "script: an ICMP port unreachable for a connected UDP socket fails its next send (ECONNREFUSED)",
  `
0     socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
+0    connect(3, ..., ...) = 0
+0    write(3, ..., 5) = 5
+0    > udp (5)
+.01  < icmp unreachable port_unreachable [udp (5)]
+0    write(3, ..., 5) = -1 ECONNREFUSED (Connection refused)
`,
);

scriptTest(
  "script: passive open — listen, SYN, SYN-ACK, ACK, accept, close sends FIN",
  `
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
+0    < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
+0    > S. 0:0(0) ack 1 <...>
+.1   < . 1:1(0) ack 1 win 512 <nop,nop,TS val 110 ecr 0>
+0    accept(3, ..., ...) = 4
+0    close(4) = 0
+0    > F. 1:1(0) ack 1 <...>
+.1   < F. 1:1(0) ack 2 win 512 <nop,nop,TS val 120 ecr 100>
+0    > . 2:2(0) ack 2 <...>
`,
);

scriptTest(
  "script: active open — non-blocking connect, SYN, SYN-ACK, ACK",
  `
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > S 0:0(0) <...>
+.1   < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0    > . 1:1(0) ack 1 <...>
+0    getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
`,
);
