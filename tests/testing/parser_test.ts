import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { formatEvent } from "../../src/testing/format.ts";
import { parseEventLine, parseScript, ScriptSyntaxError } from "../../src/testing/parser.ts";

/** Parse, format, parse again: the canonical text is stable and the events are equal. */
function roundTrip(text: string, canonical = text): void {
  const e = parseEventLine(text);
  const out = formatEvent(e);
  assert.is(out, canonical, `format(parse(${JSON.stringify(text)}))`);
  assert.equal(parseEventLine(out), e, `parse(format(…)) of ${JSON.stringify(text)}`);
}

function syntaxError(text: string, pattern: RegExp, line = 1): void {
  try {
    parseScript(text);
  } catch (e) {
    assert.instance(e, ScriptSyntaxError);
    const err = e as ScriptSyntaxError;
    assert.is(err.line, line, `line of ${JSON.stringify(text)}: ${err.message}`);
    assert.match(err.message, pattern);
    return;
  }
  assert.unreachable(`expected a syntax error for ${JSON.stringify(text)}`);
}

test("parser: times — absolute, relative, any, ranges, blocking end (canonical spelling)", () => {
  roundTrip("0 < . 1:1(0) ack 1 win 257");
  roundTrip("0.100 < . 1:1(0) ack 1 win 257", "0.1 < . 1:1(0) ack 1 win 257");
  roundTrip("+0 > . 1:1(0) ack 1");
  roundTrip("+.1 > . 1:1(0)", "+0.1 > . 1:1(0)");
  roundTrip("+0.000250 > . 1:1(0)", "+0.00025 > . 1:1(0)");
  roundTrip("* > . 1:1(0)");
  roundTrip("0.1~0.2 > . 1:1(0)");
  roundTrip("+0.1~+0.25 > . 1:1(0)");
  roundTrip("+0...0.200 accept(3, ..., ...) = 4", "+0...0.2 accept(3, ..., ...) = 4");
  roundTrip("0...1.5 read(4, ..., 1000) = 1000");
  const e = parseEventLine("+0.1~+0.2 > . 1:1(0)");
  assert.equal(e.time, { kind: "relRange", us: 100_000, endUs: 200_000 });
  const c = parseEventLine("+0.05...0.3 read(4, ..., 10) = 10");
  assert.equal(c.time, { kind: "rel", us: 50_000 });
  assert.is(c.type === "syscall" && c.call.endUs, 300_000);
});

test("parser: TCP flags, sequence ranges, ack/win/urg, ports, payload, bad_csum", () => {
  roundTrip("0 < S 0:0(0) win 65535");
  roundTrip("0 > S. 0:0(0) ack 1 win 64240");
  roundTrip("0 < P. 1:1001(1000) ack 1 win 257");
  roundTrip("0 < .P 1:11(10) ack 1", "0 < P. 1:11(10) ack 1"); // letters in any order
  roundTrip("0 > FP. 1:11(10) ack 1");
  roundTrip("0 < SEW 0:0(0) win 65535");
  roundTrip("0 > S.E 0:0(0) ack 1");
  roundTrip("0 < R 1:1(0) win 0");
  roundTrip("0 < - 1:1(0) win 100"); // no flags at all
  roundTrip("0 < U. 1:2(1) ack 1 win 100 urg 1", "0 < .U 1:2(1) ack 1 win 100 urg 1");
  roundTrip("0 > . 1:1(0) ack * win *");
  roundTrip("0 < 48001>8080 S 0:0(0) win 65535");
  roundTrip('0 < P. 1:6(5) ack 1 win 100 payload "hello"');
  roundTrip("0 < P. 1:3(2) ack 1 win 100 payload 0x00ff");
  roundTrip("0 < . 1:1(0) ack 1 win 100 bad_csum");
  roundTrip("0 < [ce] . 1:1(0) ack 1 win 100");
  roundTrip("0 > [ect01] . 1:1(0) ack 1");
  roundTrip("0 < [tos 0x10,ttl 1] S 0:0(0) win 100");
  // 32-bit wrap in a range is consistent: 4294967295 + 2 = 1 (mod 2^32).
  roundTrip("0 < . 4294967295:1(2) ack 1 win 100");
  const e = parseEventLine("0 < SEW 0:0(0) win 65535");
  assert.is(e.type === "packet" && e.packet.proto === "tcp" && e.packet.flags, 0x02 | 0x40 | 0x80);
});

test("parser: TCP options, including unknown and malformed ones (MUST-6, MUST-7)", () => {
  roundTrip("0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
  roundTrip("0 < . 1:1(0) ack 1 win 100 <nop,nop,sack 1001:2001 3001:4001>");
  roundTrip("0 < S 0:0(0) win 100 <mss 1460,eol>");
  roundTrip("0 > S. 0:0(0) ack 1 <...>");
  roundTrip("0 > . 1:1(0) ack 1 <nop,nop,TS val * ecr 100>");
  roundTrip("0 < S 0:0(0) win 100 <opt 99 len 4>");
  roundTrip("0 < S 0:0(0) win 100 <opt 99>", "0 < S 0:0(0) win 100 <opt 99 len 2>");
  roundTrip("0 < S 0:0(0) win 100 <opt 2 len 0>");
  roundTrip("0 < S 0:0(0) win 100 <opt 99 len 6 0xdeadbeef>");
  roundTrip("0 < S 0:0(0) win 100 <opt 30 0xab>", "0 < S 0:0(0) win 100 <opt 30 len 3 0xab>");
  roundTrip("0 < S 0:0(0) win 100 <raw 0x0200>");
  const e = parseEventLine("0 < S 0:0(0) win 100 <opt 2 len 0, raw 0x01>");
  assert.equal(e.type === "packet" && e.packet.proto === "tcp" && e.packet.options, [
    { kind: "opt", code: 2, length: 0, data: null },
    { kind: "raw", bytes: new Uint8Array([1]) },
  ]);
});

test("parser: UDP and ICMP lines", () => {
  roundTrip("0 < udp (10)");
  roundTrip("0 > udp (0)");
  roundTrip("0 < udp 48000>53 (12)");
  roundTrip('0 < udp (3) payload "abc"');
  roundTrip("0 > icmp unreachable port_unreachable [udp (10)]");
  roundTrip("0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]");
  roundTrip("0 < icmp unreachable host_unreachable");
  roundTrip("0 < icmp echo_request id 7");
  roundTrip("0 > icmp echo_reply id 7");
  roundTrip("0 < icmp source_quench [1:1(0)]");
  roundTrip("0 < icmp type_42 code_7");
  roundTrip("0 < icmp unreachable code_3", "0 < icmp unreachable port_unreachable");
  roundTrip("0 < icmp unreachable port_unreachable [udp (4)] bad_csum");
});

test("parser: socket calls as packetdrill writes them", () => {
  roundTrip("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
  roundTrip("+0 socket(..., SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 3");
  roundTrip("+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0");
  roundTrip("+0 bind(3, ..., ...) = 0");
  roundTrip("+0 listen(3, 1) = 0");
  roundTrip("+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
  roundTrip("+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0");
  roundTrip("+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
  roundTrip("+0 fcntl(3, F_GETFL) = 0x802 (flags O_RDWR|O_NONBLOCK)");
  roundTrip("+0 write(4, ..., 1000) = 1000");
  roundTrip('+0 read(4, "hello", 5) = 5');
  roundTrip("+0 shutdown(4, SHUT_WR) = 0");
  roundTrip("+0 close(4) = 0");
  roundTrip("+0 read(4, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)");
  roundTrip("+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0");
  roundTrip(
    '+0 connect(3, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("192.0.2.1")}, 16) = 0',
  );
  roundTrip("+0 sendto(3, ..., 5, 0, ..., ...) = 5");
  const e = parseEventLine("+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
  assert.equal(e.type === "syscall" && e.call, {
    name: "connect",
    args: [{ kind: "int", value: 3, hex: false }, { kind: "ellipsis" }, { kind: "ellipsis" }],
    result: -1,
    errno: "EINPROGRESS",
    note: "Operation now in progress",
  });
});

test("parser: scripts — header options, comments, multi-line calls, line numbers", () => {
  const s = parseScript(`--tolerance_usecs=4000
--absolute_seq
--pending="needs TCP"
// a comment line
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 // trailing comment
/* a block
   comment */ +0 bind(3, ..., ...) = 0
+0 setsockopt(3,
              SOL_SOCKET, SO_REUSEADDR,
              [1], 4) = 0
+0 < S 0:0(0) win 65535 <mss 1460>
`);
  assert.equal(s.options, { tolerance_usecs: "4000", absolute_seq: true, pending: "needs TCP" });
  assert.equal(s.events.map((e) => e.line), [5, 7, 8, 11]);
  assert.is(s.events[2]!.type === "syscall" && s.events[2]!.call.args.length, 5);
  // Comment markers inside strings are data.
  const t = parseScript('0 read(3, "a//b", 4) = 4');
  assert.equal(t.events[0]!.type === "syscall" && t.events[0]!.call.args[1], {
    kind: "string",
    value: "a//b",
  });
});

test("parser: errors name the line and what is wrong", () => {
  syntaxError(
    "0 < S 0:0(0)\n+0 > S. 0:0(0) ack 1\n%{ print(tcpi_rtt) }%",
    /Python blocks are not supported/,
    3,
  );
  syntaxError("`./defaults.sh`\n0 < S 0:0(0)", /shell commands/);
  syntaxError("0 < Q 0:0(0)", /expected TCP flags/);
  syntaxError("0 < S- 0:0(0)", /"-" \(no flags\) cannot be combined/);
  syntaxError("0 < SS 0:0(0)", /flag S given twice/);
  syntaxError("0 < S 0:5(0)", /inconsistent sequence range/);
  syntaxError("* < S 0:0(0)", /only allowed for outbound/);
  syntaxError("0.1~0.2 < S 0:0(0)", /only allowed for outbound/);
  syntaxError("0.2~0.1 > S 0:0(0)", /backwards/);
  syntaxError("+0.1~0.2 > S 0:0(0)", /both ends of a time range/);
  syntaxError("0...0.1 > S 0:0(0)", /blocking call's end time/);
  syntaxError("0.0000001 < S 0:0(0)", /finer than a microsecond/);
  syntaxError("< S 0:0(0)", /expected a time/);
  syntaxError("0 < S 0:0(0) <...>", /only be used with outbound/);
  syntaxError("0 < . 1:1(0) ack *", /only allowed in expectations/);
  syntaxError("0 < [ect01] . 1:1(0)", /ect01/);
  syntaxError("0 > . 1:1(0) bad_csum", /bad_csum is for inbound/);
  syntaxError('0 < P. 1:3(2) payload "abc"', /payload has 3 bytes but the packet length is 2/);
  syntaxError("0 < S 0:0(0) <md5 00>", /unknown TCP option "md5"/);
  syntaxError("0 < S 0:0(0) <mss 70000>", /MSS 70000 is out of range/);
  syntaxError("0 < S 0:0(0) <mss 1460", /"," or ">"/);
  syntaxError("0 < icmp bogus", /unknown ICMP type "bogus"/);
  syntaxError("0 < icmp unreachable bogus_code", /unknown ICMP code "bogus_code"/);
  syntaxError("0 < icmp unreachable port_unreachable mtu 1200", /mtu is only valid/);
  syntaxError("0 connect(3, ..., ...) = 0 EINPROGRESS", /only goes with the result -1/);
  syntaxError("0 close(3)", /"=" and the expected result/);
  syntaxError("0 close(3,\n", /unclosed bracket/);
  syntaxError("0 < S 0:0(0)\n--mss=1000", /must come before the first event/, 2);
  syntaxError('0 read(3, "abc', /unterminated string/);
  syntaxError("0 frobnicate", /expected "<", ">" or a socket call/);
});
