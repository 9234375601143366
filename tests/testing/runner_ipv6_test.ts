/**
 * The runner over IPv6 and v4-mapped AF_INET6 sockets (`--ip_version`,
 * issue 12 item 6): the same notation over 2001:db8::/64, neighbour
 * discovery played like ARP and kept out of the script, ICMP lines as
 * ICMPv6, and clear failures for what has no IPv6 form.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { assertScriptOk } from "../_util/script_test_helper.ts";
import type { Stack } from "../../src/api/stack.ts";
import { runScript, stackTarget } from "../../src/testing/runner.ts";

test("ipv6: the stack's neighbour probe for the peer is answered and recorded, never a script line", async () => {
  let stack: Stack | undefined;
  // After the port unreachable at t=0 the peer's entry goes STALE → DELAY;
  // 5 s later neighbour discovery probes it (RFC 4861 §7.3.3).
  const r = await runScript(
    `--ip_version=ipv6
0   < udp (10)
+0  > icmp unreachable port_unreachable [udp (10)]
+7  < udp (3)
+0  > icmp unreachable port_unreachable [udp (3)]
`,
    { target: stackTarget({ setup: (s) => void (stack = s) }) },
  );
  assertScriptOk(r);
  const nd = r.transcript.filter((e) => e.kind === "nd");
  assert.ok(
    nd.some((e) => /neighbour solicitation for 2001:db8::1 .*\(answered\)/.test(e.text)),
    nd.map((e) => e.text).join("\n"),
  );
  assert.ok(nd.some((e) => e.text.startsWith("< nd neighbour solicitation for 2001:db8::2")));
  assert.ok(stack!.stats.ip6.outRequests > 0);
  assert.is(stack!.stats.ip.outRequests, 0, "nothing went over IPv4");
});

test("ipv6: sockaddrs with sin6_ fields and inet_pton; the wire carries the IPv6 addresses", async () => {
  assertScriptOk(
    await runScript(`--ip_version=ipv6
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, {sin6_family=AF_INET6, sin6_port=htons(8080), sin6_addr=inet_pton(AF_INET6, "2001:db8::1")}, 28) = -1 EINPROGRESS
+0    > S 0:0(0) <...>
+0    < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0    > . 1:1(0) ack 1
+0    close(3) = 0
+0    > F. 1:1(0) ack 1
+0    < . 1:1(0) ack 2 win 65535
`),
  );
});

test("ipv4-mapped-ipv6: AF_INET6 sockets, IPv4 on the wire", async () => {
  let stack: Stack | undefined;
  const r = await runScript(
    `--ip_version=ipv4-mapped-ipv6
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 <mss 1460>
+0    < . 1:1(0) ack 1 win 65535
+0    accept(3, ..., ...) = 4
+0    getsockopt(4, SOL_IPV6, IPV6_V6ONLY, [0], [4]) = 0
`,
    { target: stackTarget({ setup: (s) => void (stack = s) }) },
  );
  assertScriptOk(r);
  assert.is(stack!.stats.ip6.outRequests, 0, "IPv4 on the wire");
  assert.ok(stack!.stats.tcp.passiveOpens >= 1);
});

test("ipv6: an ICMP line with no ICMPv6 form, a bad --ip_version and a non-IPv6 address fail clearly", async () => {
  const r1 = await runScript("--ip_version=ipv6\n0 < icmp type_4 [udp (4)]\n");
  assert.not.ok(r1.ok);
  assert.match(r1.failure!.message, /no ICMPv6 equivalent .*--ip_version=ipv4/);
  const r2 = await runScript("--ip_version=ipv5\n0 < udp (1)\n");
  assert.match(r2.failure!.message, /--ip_version is ipv4, ipv6 or ipv4-mapped-ipv6/);
  const r3 = await runScript("--ip_version=ipv6\n--local_ip=192.0.2.2\n0 < udp (1)\n");
  assert.match(r3.failure!.message, /--local_ip=192.0.2.2 is not an IPv6 address/);
});
