/**
 * ICMP in a live stack (RFC 1122 §3.2.2, C1–C8; §8 rows 14 and
 * 16 of tests/tcp/TRACEABILITY.md §6): the echo server, what is ignored, the "never an error about" rules,
 * quoting, rate limiting, and delivery of received errors to the protocol
 * whose datagram they quote.
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { type Pair, pair, settle } from "../_util/sim.ts";
import { Errno } from "../../src/core/errno.ts";
import {
  capture,
  datagramOf,
  icmpEcho,
  icmpError,
  icmpRaw,
  ip,
  IP_A,
  IP_B,
  ipv4Frame,
  MAC_A,
  pattern,
  type SeenFrame,
} from "../_util/frames.ts";
import type { Stack } from "../../src/api/stack.ts";
import type { IcmpError } from "../../src/ipv4/layer.ts";
import { MAC_BROADCAST } from "../../src/wire/addr.ts";
import { checksum } from "../../src/wasm/checksum.ts";
import { get16 } from "../../src/wire/bytes.ts";
import { IcmpType } from "../../src/wire/icmp.ts";
import { IpProtocol, parseIpv4 } from "../../src/wire/ipv4.ts";
import { createPipe } from "../../src/link/pipe.ts";

const RAW = 253;

function quietPair(o: Parameters<typeof pair>[0] = {}): Pair {
  const p = pair({ seed: testSeed(), ...o });
  p.clock.advance(100);
  return p;
}

function inject(p: Pair, frame: Uint8Array): void {
  assert.ok(p.devA.receiveBytes(frame));
  p.clock.advance(0);
}

/** ICMP fields of a captured frame. */
function icmpOf(f: SeenFrame) {
  const at = f.ip!.payloadOffset;
  const len = f.ip!.payloadLength;
  return {
    type: f.bytes[at]!,
    code: f.bytes[at + 1]!,
    rest: f.bytes.slice(at + 4, at + 8),
    body: f.bytes.slice(at + 8, at + len),
    checksumOk: checksum(f.bytes, at, len) === 0xffff,
  };
}

/** Records ICMP errors delivered to protocol RAW on `stack`. */
function rawErrors(stack: Stack): { errors: Omit<IcmpError, "u8">[]; got: number[] } {
  const errors: Omit<IcmpError, "u8">[] = [];
  const got: number[] = [];
  stack.ipv4.register(RAW, {
    rcv(skb) {
      got.push(skb.len);
      skb.free();
    },
    err(e) {
      const { u8: _u8, ...rest } = e;
      errors.push(rest);
    },
  });
  return { errors, got };
}

function sendRaw(stack: Stack, dst: number, data: Uint8Array, proto = RAW): number {
  const skb = stack.allocator.alloc(data.length)!;
  skb.append(data);
  return stack.ipv4.output(skb, dst, { protocol: proto });
}

/** An echo request frame B → A. */
function echoReq(
  data: Uint8Array,
  o: { dst?: number; ethDst?: number; src?: number; id?: number; seq?: number } = {},
) {
  return ipv4Frame({
    src: o.src ?? IP_B,
    dst: o.dst ?? IP_A,
    ethDst: o.ethDst ?? MAC_A,
    protocol: IpProtocol.ICMP,
    payload: icmpEcho(IcmpType.ECHO_REQUEST, o.id ?? 0x77, o.seq ?? 1, data),
  });
}

// ---------------------------------------------------------------------------
// Echo (C5)

test("C5: echo replies carry identical data (0…1472 bytes), the same id/seq, a valid checksum", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  const sizes = [0, 1, 7, 56, 57, 1000, 1472];
  for (const [i, n] of sizes.entries()) {
    inject(p, echoReq(pattern(n, i), { id: 0x1000 + i, seq: i }));
  }
  const replies = tx.icmp(IcmpType.ECHO_REPLY);
  assert.is(replies.length, sizes.length);
  for (const [i, r] of replies.entries()) {
    const m = icmpOf(r);
    assert.ok(m.checksumOk);
    assert.is(m.code, 0);
    assert.equal(m.rest, new Uint8Array([0x10, i, 0, i]));
    assert.equal(m.body, pattern(sizes[i]!, i), `size ${sizes[i]}`);
    assert.is(r.ip!.src, IP_A);
    assert.is(r.ip!.dst, IP_B);
  }
  assert.is(p.a.stats.icmp.inByType[IcmpType.ECHO_REQUEST], sizes.length);
  assert.is(p.a.stats.icmp.outByType[IcmpType.ECHO_REPLY], sizes.length);
  await p.close();
});

test("C5: the reply's source is the request's specific destination (second interface, loopback alias)", async () => {
  const p = quietPair();
  // A second interface on A with another subnet.
  const [x0, x1] = createPipe({ allocator: p.a.allocator, clock: p.clock, names: ["x0", "x1"] });
  p.a.addInterface(x0, { address: "198.51.100.1/24", announce: false });
  x1.up();
  const tx = capture(p.devA);
  // B asks 198.51.100.1 through A's first interface (weak host model: accepted).
  inject(p, echoReq(pattern(20), { dst: ip("198.51.100.1") }));
  const r = tx.icmp(IcmpType.ECHO_REPLY);
  assert.is(r.length, 1);
  assert.is(r[0]!.ip!.src, ip("198.51.100.1"), "not the outgoing interface's 192.0.2.1");
  assert.is(r[0]!.ip!.dst, IP_B);
  // Loopback: ping 127.5.5.5 is answered from 127.5.5.5.
  const reply = await settle(p.clock, p.a.ping("127.5.5.5"));
  assert.is(reply.from, "127.5.5.5");
  p.a.removeInterface(p.a.interfaceOf(x0)!);
  x0.close();
  await p.close();
});

test("C5/§8-16 Smurf: echo requests to directed, limited broadcast, multicast or in a link broadcast are ignored", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  inject(p, echoReq(pattern(8), { dst: ip("192.0.2.255"), ethDst: MAC_BROADCAST }));
  inject(p, echoReq(pattern(8), { dst: 0xffffffff, ethDst: MAC_BROADCAST }));
  inject(p, echoReq(pattern(8), { dst: ip("224.0.0.1"), ethDst: 0x01_00_5e_00_00_01 }));
  inject(p, echoReq(pattern(8), { dst: IP_A, ethDst: MAC_BROADCAST })); // unicast IP, broadcast MAC
  inject(p, echoReq(pattern(8), { dst: IP_A, ethDst: 0x01_00_5e_00_00_01 }));
  assert.is(p.a.stats.drops.get("icmp.echo_broadcast_ignored"), 5);
  assert.is(tx.frames.length, 0, "no reply, no ICMP error");
  inject(p, echoReq(pattern(8)));
  assert.is(tx.icmp(IcmpType.ECHO_REPLY).length, 1);
  await p.close();
});

test("C5: with ignoreBroadcastEcho: false, broadcast echoes are answered from our unicast address", async () => {
  const p = quietPair({ a: { icmp: { ignoreBroadcastEcho: false } } });
  await settle(p.clock, p.a.ping("192.0.2.2"));
  const tx = capture(p.devA);
  inject(p, echoReq(pattern(8), { dst: ip("192.0.2.255"), ethDst: MAC_BROADCAST, seq: 1 }));
  inject(p, echoReq(pattern(8), { dst: 0xffffffff, ethDst: MAC_BROADCAST, seq: 2 }));
  inject(p, echoReq(pattern(8), { dst: ip("224.0.0.1"), ethDst: 0x01_00_5e_00_00_01, seq: 3 }));
  inject(p, echoReq(pattern(8), { dst: IP_A, ethDst: MAC_BROADCAST, seq: 4 }));
  const r = tx.icmp(IcmpType.ECHO_REPLY);
  assert.is(r.length, 4, "the option is honoured");
  // RFC 1122 §3.2.2.6 / §3.2.1.3: never a broadcast or multicast source.
  assert.ok(r.every((f) => f.ip!.src === IP_A && f.ip!.dst === IP_B));
  assert.equal(r.map((f) => get16(icmpOf(f).rest, 2)), [1, 2, 3, 4]);
  await p.close();
});

test("C5: echo replies are not rate limited — 200 requests at one instant get 200 replies", async () => {
  const p = quietPair();
  await settle(p.clock, p.a.ping("192.0.2.2")); // A knows B's MAC: nothing waits for ARP
  const tx = capture(p.devA);
  for (let i = 0; i < 200; i++) p.devA.receiveBytes(echoReq(pattern(8), { seq: i }));
  p.clock.advance(0);
  assert.is(tx.icmp(IcmpType.ECHO_REPLY).length, 200);
  assert.is(p.a.stats.icmp.outRateLimited, 0);
  await p.close();
});

test("ICMP input: truncated messages and bad checksums are dropped and counted (inErrors)", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  const short = ipv4Frame({
    src: IP_B,
    dst: IP_A,
    protocol: 1,
    payload: new Uint8Array([8, 0, 0, 0]),
  });
  inject(p, short);
  const bad = echoReq(pattern(16));
  bad[14 + 20 + 8]! ^= 0xff; // data byte, ICMP checksum now wrong
  inject(p, bad);
  assert.is(p.a.stats.drops.get("icmp.truncated"), 1);
  assert.is(p.a.stats.drops.get("icmp.bad_checksum"), 1);
  assert.is(p.a.stats.icmp.inErrors, 2);
  assert.is(tx.frames.length, 0);
  // An unmatched echo reply is counted, nothing else happens.
  inject(
    p,
    ipv4Frame({
      src: IP_B,
      dst: IP_A,
      protocol: 1,
      payload: icmpEcho(IcmpType.ECHO_REPLY, 0x9999, 1, pattern(4)),
    }),
  );
  assert.is(p.a.stats.drops.get("icmp.echo_reply_unmatched"), 1);
  await p.close();
});

// ---------------------------------------------------------------------------
// What is ignored (C1, C6, C7)

test("C1: unknown ICMP types are discarded silently and counted", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  const types = [1, 2, 6, 7, 9, 10, 13, 14, 15, 16, 17, 18, 30, 42, 43, 128, 255];
  for (const t of types) {
    inject(
      p,
      ipv4Frame({
        src: IP_B,
        dst: IP_A,
        protocol: 1,
        payload: icmpRaw(t, 0, 0x01020304, pattern(28)),
      }),
    );
  }
  assert.is(p.a.stats.drops.get("icmp.unsupported_type"), types.length);
  assert.is(tx.frames.length, 0, "no reply and no error about them");
  await p.close();
});

/** The datagram (IP header + 8 bytes) A just sent to B, as B would quote it. */
async function sentDatagram(p: Pair): Promise<Uint8Array> {
  const tx = capture(p.devA);
  await settle(p.clock, p.a.ping("192.0.2.2"));
  sendRaw(p.a, IP_B, pattern(32));
  p.clock.advance(1);
  tx.stop();
  const f = tx.ip(RAW)[0]!;
  return datagramOf(f.bytes).slice(0, 28);
}

test("C6 (MUST-55): Source Quench is ignored; C7: Redirects are ignored and routing is unchanged", async () => {
  const p = quietPair();
  const { errors } = rawErrors(p.a);
  p.b.ipv4.register(RAW, { rcv: (skb) => skb.free() });
  const quote = await sentDatagram(p);
  inject(p, ipv4Frame({ src: IP_B, dst: IP_A, protocol: 1, payload: icmpError(4, 0, quote) }));
  assert.is(p.a.stats.drops.get("icmp.source_quench_ignored"), 1);
  const before = p.a.ipv4.route(ip("198.51.100.9"));
  assert.is(before, null);
  for (const code of [0, 1, 2, 3]) {
    inject(
      p,
      ipv4Frame({
        src: IP_B,
        dst: IP_A,
        protocol: 1,
        payload: icmpError(5, code, quote, ip("192.0.2.77")),
      }),
    );
  }
  assert.is(p.a.stats.drops.get("icmp.redirect_ignored"), 4);
  assert.is(p.a.ipv4.route(ip("198.51.100.9")), null, "no route learned");
  assert.is(p.a.ipv4.route(IP_B)!.nextHop, IP_B, "on-link destination still direct");
  assert.is(errors.length, 0, "neither reaches the transport");
  await p.close();
});

// ---------------------------------------------------------------------------
// Received errors go to the transport (C4, §8-14)

test("C4: unreachable, time exceeded and parameter problem reach the quoting protocol with errno and fatal bit from Linux's table", async () => {
  const p = quietPair();
  const { errors } = rawErrors(p.a);
  p.b.ipv4.register(RAW, { rcv: (skb) => skb.free() });
  const quote = await sentDatagram(p);
  // [type, code, next-hop MTU, errno, fatal] (Linux icmp_err_convert; parameter problem EPROTO, fatal).
  const cases: [number, number, number, number, boolean][] = [
    [3, 0, 0, Errno.ENETUNREACH, false],
    [3, 1, 0, Errno.EHOSTUNREACH, false],
    [3, 2, 0, Errno.ENOPROTOOPT, true],
    [3, 3, 0, Errno.ECONNREFUSED, true],
    [3, 4, 1280, Errno.EMSGSIZE, false],
    [3, 13, 0, Errno.EHOSTUNREACH, true],
    [11, 0, 0, Errno.EHOSTUNREACH, false],
    [11, 1, 0, Errno.EHOSTUNREACH, false],
    [12, 0, 9, Errno.EPROTO, true],
  ];
  for (const [type, code, info] of cases) {
    inject(
      p,
      ipv4Frame({ src: IP_B, dst: IP_A, protocol: 1, payload: icmpError(type, code, quote, info) }),
    );
  }
  assert.equal(
    errors.map((e) => [e.type, e.code, e.errno, e.fatal]),
    cases.map(([t, c, , errno, fatal]) => [t, c, errno, fatal]),
  );
  assert.is(errors[4]!.nextHopMtu, 1280);
  assert.ok(errors.every((e) => e.from === IP_B && e.quote.src === IP_A && e.quote.dst === IP_B));
  await p.close();
});

test("§8-14: errors about datagrams we did not send, or with a short quote, are dropped", async () => {
  const p = quietPair();
  const { errors } = rawErrors(p.a);
  const foreign = datagramOf(
    ipv4Frame({ src: ip("192.0.2.99"), dst: IP_B, protocol: RAW, payload: pattern(8) }),
  );
  inject(p, ipv4Frame({ src: IP_B, dst: IP_A, protocol: 1, payload: icmpError(3, 3, foreign) }));
  assert.is(p.a.stats.drops.get("icmp.error_not_ours"), 1);
  const ours = datagramOf(ipv4Frame({ src: IP_A, dst: IP_B, protocol: RAW, payload: pattern(8) }));
  inject(
    p,
    ipv4Frame({ src: IP_B, dst: IP_A, protocol: 1, payload: icmpError(3, 3, ours.slice(0, 27)) }),
  );
  assert.is(p.a.stats.drops.get("icmp.bad_quote"), 1);
  assert.is(errors.length, 0);
  inject(p, ipv4Frame({ src: IP_B, dst: IP_A, protocol: 1, payload: icmpError(3, 3, ours) }));
  assert.is(errors.length, 1);
  await p.close();
});

test("C4/U3: an ICMP error about our echo request fails the ping with the mapped errno", async () => {
  const p = quietPair();
  // Off-link destination through B, which (a host) silently drops it: B never replies.
  p.a.routes.add(p.a.interfaceOf(p.devA)!, 0, 0, { gateway: IP_B });
  await settle(p.clock, p.a.ping("192.0.2.2"));
  const tx = capture(p.devA);
  for (const [code, errno] of [[0, "ENETUNREACH"], [1, "EHOSTUNREACH"], [4, "EMSGSIZE"]] as const) {
    const ping = p.a.ping("198.51.100.7", { seq: code, timeout: 5000 });
    let err: unknown;
    ping.catch((e) => (err = e));
    p.clock.advance(0);
    const req = tx.icmp(IcmpType.ECHO_REQUEST).at(-1);
    assert.ok(req, "request sent");
    inject(
      p,
      ipv4Frame({
        src: IP_B,
        dst: IP_A,
        protocol: 1,
        payload: icmpError(3, code, datagramOf(req.bytes).slice(0, 28), 1400),
      }),
    );
    await Promise.resolve();
    await Promise.resolve();
    assert.is((err as { code?: string } | undefined)?.code, errno);
  }
  assert.is(p.b.stats.drops.get("ipv4.not_for_us"), 3);
  await p.close();
});

// ---------------------------------------------------------------------------
// Errors we send (C2, C3, C8, I8)

test("C8/C3: protocol unreachable from the datagram's destination, quoting header + data, ≤ 576 bytes", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  // Small: the whole datagram is quoted.
  const small = ipv4Frame({ src: IP_B, dst: IP_A, protocol: 200, payload: pattern(8), id: 7 });
  inject(p, small);
  // Options: a 60-byte header plus 8 octets at least.
  const opt = ipv4Frame({
    src: IP_B,
    dst: IP_A,
    protocol: 200,
    payload: pattern(100),
    options: new Uint8Array(40).fill(1),
  });
  inject(p, opt);
  // Big: cut at 576 bytes in all.
  const big = ipv4Frame({ src: IP_B, dst: IP_A, protocol: 200, payload: pattern(1400) });
  inject(p, big);
  const errs = tx.icmp(IcmpType.DEST_UNREACHABLE);
  assert.is(errs.length, 3);
  for (const e of errs) {
    const m = icmpOf(e);
    assert.is(m.code, 2);
    assert.ok(m.checksumOk);
    assert.is(e.ip!.src, IP_A, "from the address the datagram was sent to");
    assert.is(e.ip!.dst, IP_B);
    assert.is(e.ip!.tos, 0xc0);
    assert.ok(e.ip!.headerLength + e.ip!.payloadLength <= 576);
  }
  assert.equal(icmpOf(errs[0]!).body, datagramOf(small));
  assert.equal(icmpOf(errs[1]!).body, datagramOf(opt).slice(0, 60 + 100));
  assert.is(errs[2]!.ip!.headerLength + errs[2]!.ip!.payloadLength, 576);
  assert.equal(icmpOf(errs[2]!).body, datagramOf(big).slice(0, 576 - 28));
  await p.close();
});

test("C8 over loopback: an unknown protocol sent to 127.0.0.1 or to our own address comes back as protocol unreachable", async () => {
  const p = quietPair();
  const errs: [number, number, number][] = [];
  const seen = capture(p.a.loopback!.dev, "rx");
  for (const dst of [ip("127.0.0.1"), IP_A]) {
    assert.is(sendRaw(p.a, dst, pattern(16), 200), 0);
    p.clock.advance(0);
  }
  for (const f of seen.icmp(IcmpType.DEST_UNREACHABLE)) {
    const m = icmpOf(f);
    errs.push([f.ip!.dst, m.type, m.code]);
  }
  assert.equal(errs, [[ip("127.0.0.1"), 3, 2], [IP_A, 3, 2]]);
  assert.is(p.a.stats.ip.inUnknownProtos, 2);
  await p.close();
});

test("C2: no ICMP error about a broadcast or multicast destination, a link broadcast, or a martian source", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  const unk = (dst: number, ethDst = MAC_A) =>
    ipv4Frame({ ethDst, src: IP_B, dst, protocol: 200, payload: pattern(16) });
  inject(p, unk(ip("192.0.2.255"), MAC_BROADCAST));
  inject(p, unk(0xffffffff, MAC_BROADCAST));
  inject(p, unk(ip("224.0.0.1"), 0x01_00_5e_00_00_01));
  inject(p, unk(IP_A, MAC_BROADCAST));
  inject(p, unk(IP_A, 0x01_00_5e_00_00_01));
  assert.is(p.a.stats.ip.inUnknownProtos, 5);
  assert.is(tx.frames.length, 0);
  // sendError itself refuses martian sources even when handed one directly.
  for (const src of ["0.0.0.0", "224.0.0.9", "240.1.2.3", "255.255.255.255", "192.0.2.255"]) {
    const f = datagramOf(
      ipv4Frame({ src: ip(src), dst: IP_A, protocol: 200, payload: pattern(16) }),
    );
    const skb = p.a.allocator.fromBytes(f, 64)!;
    skb.networkHeader = skb.data;
    p.a.icmp.sendError(skb, 3, 2);
    skb.free();
  }
  p.clock.advance(10);
  assert.is(tx.frames.length, 0);
  assert.is(p.a.stats.icmp.outByType[3], 0);
  await p.close();
});

test("I8/C2: reassembly timeout sends Time Exceeded code 1 only when fragment 0 arrived, never about an ICMP error", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  const frag = (id: number, proto: number, off: number, payload: Uint8Array) =>
    ipv4Frame({
      src: IP_B,
      dst: IP_A,
      protocol: proto,
      id,
      fragmentOffset: off,
      moreFragments: true,
      payload,
    });
  // 1: fragment 0 of a raw datagram. 2: only a later fragment. 3: fragment 0 of an ICMP
  // error message (type 3). 4: fragment 0 of an echo request (a query: gets an error).
  inject(p, frag(1, RAW, 0, pattern(64)));
  inject(p, frag(2, RAW, 64, pattern(64)));
  inject(p, frag(3, 1, 0, icmpRaw(3, 3, 0, pattern(56))));
  inject(p, frag(4, 1, 0, icmpRaw(8, 0, 0x00010001, pattern(56))));
  p.clock.advance(29_999);
  assert.is(tx.frames.length, 0, "nothing before the timeout");
  p.clock.advance(1);
  const te = tx.icmp(IcmpType.TIME_EXCEEDED);
  assert.is(p.a.stats.ip.reasmTimeout, 4);
  assert.is(p.a.stats.drops.get("ipv4.frag_timeout"), 4);
  assert.equal(te.map((f) => get16(icmpOf(f).body, 4)), [1, 4], "about datagrams 1 and 4 only");
  for (const f of te) {
    const m = icmpOf(f);
    assert.is(m.code, 1);
    const q = parseIpv4(m.body, 0, m.body.length, { verifyChecksum: false });
    assert.ok(
      typeof q !== "string" && q.fragmentOffset === 0 && q.moreFragments,
      "quotes fragment 0",
    );
    assert.ok(m.body.length >= 28, "C3: header + at least 8 octets");
    assert.is(f.ip!.src, IP_A);
    assert.is(f.ip!.dst, IP_B);
  }
  await p.close();
});

// ---------------------------------------------------------------------------
// Rate limiting (C8)

test("C8: a burst of 100 datagrams to an unknown protocol yields the burst (6), then one error per second", async () => {
  const p = quietPair();
  await settle(p.clock, p.a.ping("192.0.2.2"));
  const tx = capture(p.devA);
  for (let i = 0; i < 100; i++) {
    p.devA.receiveBytes(
      ipv4Frame({ src: IP_B, dst: IP_A, protocol: 200, payload: pattern(8), id: i }),
    );
  }
  p.clock.advance(0);
  assert.is(tx.icmp(IcmpType.DEST_UNREACHABLE).length, 6);
  assert.is(p.a.stats.icmp.outRateLimited, 94);
  // Then 10 per second for 10 s: about one error per second gets out.
  tx.clear();
  for (let i = 0; i < 100; i++) {
    p.clock.advance(100);
    inject(p, ipv4Frame({ src: IP_B, dst: IP_A, protocol: 200, payload: pattern(8), id: i }));
  }
  const n = tx.icmp(IcmpType.DEST_UNREACHABLE).length;
  assert.ok(n >= 9 && n <= 11, `${n} errors in 10 s`);
  await p.close();
});

test("C8: the per-destination burst and interval are configurable", async () => {
  const p = quietPair({ a: { icmp: { rateBurst: 3, rateLimitMs: 250 } } });
  await settle(p.clock, p.a.ping("192.0.2.2"));
  const tx = capture(p.devA);
  for (let i = 0; i < 50; i++) {
    p.devA.receiveBytes(
      ipv4Frame({ src: IP_B, dst: IP_A, protocol: 200, payload: pattern(8), id: i }),
    );
  }
  p.clock.advance(0);
  assert.is(tx.icmp(IcmpType.DEST_UNREACHABLE).length, 3);
  tx.clear();
  for (let i = 0; i < 100; i++) {
    p.clock.advance(50);
    inject(p, ipv4Frame({ src: IP_B, dst: IP_A, protocol: 200, payload: pattern(8), id: i }));
  }
  const n = tx.icmp(IcmpType.DEST_UNREACHABLE).length;
  assert.ok(n >= 19 && n <= 21, `${n} errors in 5 s at 4/s`);
  await p.close();
});

test("C8: the global limit caps errors across many sources; errors to ourselves are not limited", async () => {
  const p = quietPair({ a: { icmp: { globalPerSecond: 20 } } });
  // Off-link sources: A answers them through B as its gateway.
  p.a.routes.add(p.a.interfaceOf(p.devA)!, 0, 0, { gateway: IP_B });
  await settle(p.clock, p.a.ping("192.0.2.2"));
  const tx = capture(p.devA);
  const burst = (t: number) => {
    for (let i = 0; i < 200; i++) {
      const src = ip("198.51.100.0") + t * 256 + i;
      p.devA.receiveBytes(ipv4Frame({ src, dst: IP_A, protocol: 200, payload: pattern(8) }));
    }
    p.clock.advance(0);
  };
  burst(0);
  assert.is(tx.icmp(IcmpType.DEST_UNREACHABLE).length, 20, "the global bucket's depth");
  p.clock.advance(500);
  tx.clear();
  burst(1);
  assert.is(tx.icmp(IcmpType.DEST_UNREACHABLE).length, 10, "refilled at 20/s for 0.5 s");
  assert.ok(tx.icmp(IcmpType.DEST_UNREACHABLE).every((f) => f.ethDst === 0x02_00_00_00_00_02));
  // Errors to ourselves go through loopback and are not limited.
  const before = p.a.stats.icmp.outByType[3]!;
  for (let i = 0; i < 100; i++) sendRaw(p.a, IP_A, pattern(8), 200);
  p.clock.advance(0);
  assert.is(p.a.stats.icmp.outByType[3]! - before, 100);
  await p.close();
});

test("C8: the default global limit (1000/s, 50 deep) holds under a flood from many sources", async () => {
  const p = quietPair();
  p.a.routes.add(p.a.interfaceOf(p.devA)!, 0, 0, { gateway: IP_B });
  await settle(p.clock, p.a.ping("192.0.2.2"));
  const tx = capture(p.devA);
  for (let ms = 0; ms < 1000; ms += 10) {
    for (let i = 0; i < 40; i++) {
      const src = (ip("198.18.0.0") + ms * 40 + i) >>> 0;
      p.devA.receiveBytes(ipv4Frame({ src, dst: IP_A, protocol: 200, payload: pattern(8) }));
    }
    p.clock.advance(10);
  }
  const n = tx.icmp(IcmpType.DEST_UNREACHABLE).length;
  // 4000 offending datagrams in one second: ≤ 50 + 1000·1 s errors.
  assert.ok(n <= 1050, `${n} errors`);
  assert.ok(n >= 1000, `${n} errors (the limit is not stricter than configured)`);
  await p.close();
});
