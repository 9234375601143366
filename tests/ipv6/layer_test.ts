/**
 * The IPv6 layer inside live stacks on virtual time: input validation with
 * counted drops (RFC 8200, RFC 4291), extension-header processing with the
 * ICMPv6 errors RFC 8200 §4 asks for, delivery, and output (routing, zones,
 * source selection, hop limit, flow labels, fragmentation, path MTU).
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { settle } from "../_util/sim.ts";
import { pattern } from "../_util/frames.ts";
import { Errno } from "../../src/core/errno.ts";
import { createPipe } from "../../src/link/pipe.ts";
import { formatIpv6, parseIpv6Address } from "../../src/wire/addr6.ts";
import { Icmpv6Type } from "../../src/wire/icmpv6.ts";
import { checksum, finishChecksum, ipv6PseudoSum } from "../../src/wasm/checksum.ts";
import { A6, B6, capture6, icmp6, inject6, ip6Frame, pair6, sendRaw6, sink6 } from "./_helpers.ts";

const RAW = 253;
const dstOpts = (...opts: number[]): number[] => {
  const body = [0, 0, ...opts];
  while (body.length % 8 !== 0) body.push(0);
  body[1] = body.length / 8 - 1;
  // Pad the tail with one PadN when more than one byte is left, else Pad1s.
  return body;
};

test("RFC 8200: a raw packet with destination options and a routing header (segments left 0) is delivered", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.a);
  inject6(
    p,
    ip6Frame({
      src: B6,
      dst: A6,
      ext: [
        { type: 60, bytes: [0, 0, 1, 4, 0, 0, 0, 0] },
        { type: 43, bytes: [0, 2, 4, 0, 0, 0, 0, 0, ...new Array(16).fill(0)] },
      ],
      nextHeader: RAW,
      payload: pattern(100),
    }),
  );
  assert.is(got.length, 1);
  assert.equal(got[0]!.data, pattern(100));
  assert.is(got[0]!.src, B6);
  assert.is(p.a.stats.ip6.inDelivers > 0, true);
  await p.close();
});

test("RFC 4291: multicast or v4-mapped sources, ::1 from the wire, and our own address from the wire are dropped and counted", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.a);
  for (const src of ["ff02::1", "::1", "::ffff:192.0.2.2", A6]) {
    inject6(p, ip6Frame({ src, dst: A6, nextHeader: RAW, payload: pattern(8) }));
  }
  assert.is(got.length, 0);
  assert.is(p.a.stats.drops.get("ipv6.martian_source"), 3);
  assert.is(p.a.stats.drops.get("ipv6.own_source"), 1);
  await p.close();
});

test("destinations: not ours, a group we do not listen to, ::1 from the wire are dropped; ff02::1 and our solicited-node group are accepted", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.a);
  const before = p.a.stats.drops.get("ipv6.multicast_not_joined"); // B's MLD reports to ff02::16
  for (const dst of ["2001:db8::99", "ff02::1234", "::1", "ff01::1"]) {
    inject6(p, ip6Frame({ src: B6, dst, nextHeader: RAW, payload: pattern(8) }));
  }
  assert.is(p.a.stats.drops.get("ipv6.not_for_us"), 1);
  assert.is(p.a.stats.drops.get("ipv6.multicast_not_joined") - before, 2);
  assert.is(p.a.stats.drops.get("ipv6.martian_destination"), 1);
  inject6(p, ip6Frame({ src: B6, dst: "ff02::1", nextHeader: RAW, payload: pattern(8) }));
  inject6(p, ip6Frame({ src: B6, dst: "ff02::1:ff00:1", nextHeader: RAW, payload: pattern(8) }));
  assert.is(got.length, 2);
  await p.close();
});

test("ipv6.bad_version and ipv6.bad_payload_length are header errors; an interface without IPv6 ignores 0x86DD", async () => {
  const p = pair6({ dad: false });
  const f = ip6Frame({ src: B6, dst: A6, nextHeader: RAW, payload: pattern(8) });
  const v = f.slice();
  v[14] = 0x50;
  inject6(p, v);
  const l = f.slice();
  l[19] = 200;
  inject6(p, l);
  assert.is(p.a.stats.drops.get("ipv6.bad_version"), 1);
  assert.is(p.a.stats.drops.get("ipv6.bad_payload_length"), 1);
  assert.is(p.a.stats.ip6.inHdrErrors, 2);
  p.a.ipv6.addrconf.disable(p.ifA);
  inject6(p, f);
  assert.is(p.a.stats.drops.get("link.unknown_ethertype"), 1);
  await p.close();
});

test("RFC 8200 §4: unknown next header draws Parameter Problem code 1 pointing at the Next Header field; none to multicast", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  inject6(
    p,
    ip6Frame({
      src: B6,
      dst: A6,
      ext: [{ type: 60, bytes: dstOpts() }],
      nextHeader: 200,
      payload: pattern(8),
    }),
  );
  const pp = tx.icmp(Icmpv6Type.PARAMETER_PROBLEM);
  assert.is(pp.length, 1);
  const m = pp[0]!;
  assert.is(m.bytes[m.upperAt + 1], 1, "code 1");
  // The pointer is at the destination options header's Next Header byte: offset 40.
  assert.is((m.bytes[m.upperAt + 6]! << 8) | m.bytes[m.upperAt + 7]!, 40);
  assert.is(m.dst, B6);
  assert.is(m.src, A6, "from the address the packet was sent to");
  assert.is(p.a.stats.drops.get("ipv6.unknown_next_header"), 1);
  tx.clear();
  inject6(p, ip6Frame({ src: B6, dst: "ff02::1", nextHeader: 200, payload: pattern(8) }));
  assert.is(tx.icmp(Icmpv6Type.PARAMETER_PROBLEM).length, 0);
  assert.is(p.a.stats.drops.get("ipv6.unknown_next_header"), 2);
  await p.close();
});

test("RFC 8200 §4.2: unknown options — 00 skipped, 01 dropped silently, 10 Parameter Problem even to multicast, 11 not to multicast", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.a);
  const tx = capture6(p.devA);
  const send = (type: number, dst: string) =>
    inject6(
      p,
      ip6Frame({
        src: B6,
        dst,
        ext: [{ type: 60, bytes: dstOpts(type, 1, 0xaa) }],
        nextHeader: RAW,
        payload: pattern(8),
      }),
    );
  send(0x1e, A6);
  assert.is(got.length, 1);
  send(0x5e, A6);
  assert.is(tx.icmp(Icmpv6Type.PARAMETER_PROBLEM).length, 0);
  send(0x9e, "ff02::1");
  send(0xde, "ff02::1");
  send(0xde, A6);
  const pps = tx.icmp(Icmpv6Type.PARAMETER_PROBLEM);
  assert.is(pps.length, 2, "action 10 to multicast and action 11 to unicast");
  for (const m of pps) {
    assert.is(m.bytes[m.upperAt + 1], 2, "code 2");
    assert.is(
      (m.bytes[m.upperAt + 6]! << 8) | m.bytes[m.upperAt + 7]!,
      42,
      "points at the option type",
    );
  }
  assert.is(got.length, 1);
  assert.is(p.a.stats.drops.get("ipv6.unknown_option"), 4);
  await p.close();
});

test("RFC 5095: a type 0 routing header with segments left is discarded with Parameter Problem code 0 at the routing type", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.a);
  const tx = capture6(p.devA);
  inject6(
    p,
    ip6Frame({
      src: B6,
      dst: A6,
      ext: [{ type: 43, bytes: [0, 2, 0, 1, 0, 0, 0, 0, ...parseIpv6Address("2001:db8::7")] }],
      nextHeader: RAW,
      payload: pattern(8),
    }),
  );
  assert.is(got.length, 0);
  assert.is(p.a.stats.drops.get("ipv6.routing_type0"), 1);
  const pp = tx.icmp(Icmpv6Type.PARAMETER_PROBLEM);
  assert.is(pp.length, 1);
  assert.is(pp[0]!.bytes[pp[0]!.upperAt + 1], 0);
  assert.is((pp[0]!.bytes[pp[0]!.upperAt + 6]! << 8) | pp[0]!.bytes[pp[0]!.upperAt + 7]!, 42);
  await p.close();
});

test("No Next Header (59) is consumed silently; to a tentative address only NS/NA get through (RFC 4862 §5.4)", async () => {
  const p = pair6();
  const got = sink6(p.a);
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 59, payload: new Uint8Array(0) }));
  assert.is(p.a.stats.drops.get("ipv6.no_next_header"), 1);
  const a = p.a.ipv6.addrconf.addStatic(p.ifA, parseIpv6Address("2001:db8::77"), 64);
  assert.is(a.state, 0, "tentative while DAD runs");
  inject6(p, ip6Frame({ src: B6, dst: "2001:db8::77", nextHeader: RAW, payload: pattern(8) }));
  assert.is(got.length, 0);
  assert.is(p.a.stats.drops.get("ipv6.tentative_destination"), 1);
  p.clock.advance(3000);
  assert.is(a.state, 1, "preferred after DAD");
  inject6(p, ip6Frame({ src: B6, dst: "2001:db8::77", nextHeader: RAW, payload: pattern(8) }));
  assert.is(got.length, 1);
  await p.close();
});

test("output: hop limit 64 by default, 1 to multicast, the caller's when given; a flow label per flow, never 0", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  sendRaw6(p.a, B6, pattern(10));
  sendRaw6(p.a, B6, pattern(10), { hopLimit: 7 });
  sendRaw6(p.a, "ff02::1", pattern(10));
  p.clock.advance(0);
  // The multicast one leaves at once; the unicast ones wait for neighbour discovery.
  const raw = tx.frames.filter((f) => f.upper === RAW).sort((x, y) =>
    y.ip.hopLimit - x.ip.hopLimit
  );
  assert.equal(raw.map((f) => f.ip.hopLimit), [64, 7, 1]);
  assert.ok(raw.every((f) => f.ip.flowLabel !== 0));
  assert.is(raw[0]!.ip.flowLabel, raw[1]!.ip.flowLabel, "same flow, same label");
  assert.is.not(raw[0]!.ip.flowLabel, raw[2]!.ip.flowLabel);
  assert.is(raw[0]!.src, A6, "RFC 6724: the global address for a global destination");
  assert.is(
    raw[2]!.src,
    formatIpv6(p.llA),
    "RFC 6724 rule 2: link-local for a link-scope destination",
  );
  await p.close();
});

test("output: no route is ENETUNREACH; a link-local destination with two candidate links needs a zone (EINVAL)", async () => {
  const p = pair6({ dad: false });
  assert.is(sendRaw6(p.a, "2001:db8:9::1", pattern(4)), -Errno.ENETUNREACH);
  assert.ok(p.a.stats.ip6.outNoRoutes >= 1);
  const [x] = createPipe({ allocator: p.a.allocator, clock: p.clock, names: ["extra0", "extra1"] });
  const second = p.a.addInterface(x, { ipv6: true, slaac: false });
  assert.is(sendRaw6(p.a, formatIpv6(p.llB), pattern(4)), -Errno.EINVAL);
  assert.is(sendRaw6(p.a, formatIpv6(p.llB), pattern(4), { oif: p.ifA }), 0);
  p.a.removeInterface(second);
  await x.close();
  await p.close();
});

test("I9 (IPv6): larger than the MTU is fragmented at the source (1448-byte pieces on 1500), reassembled by the peer; DONTFRAG is EMSGSIZE", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.b);
  const tx = capture6(p.devA);
  const data = pattern(8000, 3);
  assert.is(sendRaw6(p.a, B6, data), 0);
  p.clock.advance(10);
  const frags = tx.frames.filter((f) => f.frag !== null);
  assert.is(frags.length, 6);
  assert.ok(frags.every((f) => f.bytes.length - 14 <= 1500));
  assert.equal(frags.map((f) => f.frag!.offset), [0, 1448, 2896, 4344, 5792, 7240]);
  assert.ok(frags.every((f) => f.frag!.id === frags[0]!.frag!.id));
  assert.is(got.length, 1);
  assert.equal(got[0]!.data, data);
  assert.is(p.b.stats.ip6.reasmOKs, 1);
  assert.is(p.a.stats.ip6.fragCreates, 6);
  assert.is(sendRaw6(p.a, B6, data), 0);
  p.clock.advance(10);
  const ids = tx.frames.filter((f) => f.frag !== null).map((f) => f.frag!.id);
  assert.is.not(ids[6], ids[0], "a new identification per packet");
  assert.is(sendRaw6(p.a, B6, data, { dontFragment: true }), -Errno.EMSGSIZE);
  await p.close();
});

test("RFC 8201: Packet Too Big lowers the path MTU (never below 1280, never up) and later packets fit; the estimate ages out after 10 minutes", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  const first = pattern(1400);
  sendRaw6(p.a, B6, first);
  p.clock.advance(0);
  const sent = tx.frames.find((f) => f.upper === RAW)!;
  const quote = sent.bytes.slice(14, 14 + 1232);
  const ptb = (mtu: number) =>
    inject6(
      p,
      ip6Frame({
        src: B6,
        dst: A6,
        nextHeader: 58,
        payload: icmp6(Icmpv6Type.PACKET_TOO_BIG, 0, mtu, quote),
      }),
    );
  ptb(1300);
  const dst = parseIpv6Address(B6);
  assert.is(p.a.ipv6.pmtu.get(dst, 0, 1500), 1300);
  ptb(1400);
  assert.is(p.a.ipv6.pmtu.get(dst, 0, 1500), 1300, "never increased by a Packet Too Big");
  ptb(600);
  assert.is(p.a.ipv6.pmtu.get(dst, 0, 1500), 1280, "clamped to the minimum MTU");
  tx.clear();
  sendRaw6(p.a, B6, first);
  p.clock.advance(0);
  const frags = tx.frames.filter((f) => f.frag !== null);
  assert.is(frags.length, 2);
  assert.ok(frags.every((f) => f.bytes.length - 14 <= 1280));
  p.clock.advance(600_001);
  assert.is(p.a.ipv6.pmtu.get(dst, 0, 1500), 1500, "aged out (RFC 8201 §4)");
  await p.close();
});

test("ping over IPv6: global, link-local, ::1 and our own address; a fragmented 8000-byte echo", async () => {
  const p = pair6({ dad: false });
  const r1 = await settle(p.clock, p.a.ping(B6));
  assert.is(r1.from, B6);
  assert.ok(r1.dataMatches);
  const r2 = await settle(p.clock, p.a.ping(`${formatIpv6(p.llB)}%${p.ifA.name}`));
  assert.is(r2.from, formatIpv6(p.llB));
  const r3 = await settle(p.clock, p.a.ping("::1"));
  assert.is(r3.from, "::1");
  const r4 = await settle(p.clock, p.a.ping(`[${A6}]`));
  assert.is(r4.from, A6);
  const r5 = await settle(p.clock, p.a.ping(B6, { size: 8000 }));
  assert.is(r5.bytes, 8008);
  assert.ok(r5.dataMatches);
  assert.is(p.b.stats.ip6.reasmOKs, 1);
  assert.is(p.b.stats.icmp6.outByType[Icmpv6Type.ECHO_REPLY], 3, "B answered 1, 2 and 5");
  await p.close();
});

test("RFC 4861 §7.2.2: an unresolvable on-link destination fails the ping with address unreachable", async () => {
  const p = pair6({ dad: false });
  const err = await settle(p.clock, p.a.ping("2001:db8::99", { timeout: 10_000 })).then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(err !== null && /address unreachable/.test(err.message), String(err));
  assert.is(p.a.stats.ndisc.resolveFailed, 1);
  await p.close();
});

test("RFC 8200 §8.1, RFC 9293 §3.1: a checksum the layer fills that computes to 0 goes out as 0xffff for UDP only; TCP and ICMPv6 send 0", async () => {
  const p = pair6({ dad: false });
  for (const [nh, at, want] of [[17, 6, 0xffff], [6, 16, 0], [58, 2, 0]] as const) {
    // A transport payload whose last word is chosen so the ones'-complement
    // sum over pseudo-header and payload is 0xffff: the checksum is then 0.
    const body = new Uint8Array(24);
    body[0] = 0x12;
    body[1] = 0x34;
    body[5] = 24; // a UDP length field, harmless for the others
    const src = parseIpv6Address(A6);
    const dst = parseIpv6Address(B6);
    const seed = finishChecksum(checksum(body, 0, 24, ipv6PseudoSum(src, 0, dst, 0, 24, nh)));
    body[22] = seed >> 8;
    body[23] = seed & 0xff;
    assert.is(finishChecksum(checksum(body, 0, 24, ipv6PseudoSum(src, 0, dst, 0, 24, nh))), 0);
    let field = -1;
    let verifies = false;
    const stop = p.a.interfaces[1]!.dev.addTap((d, u8, off, len) => {
      if (d !== "tx" || len !== 14 + 40 + 24 || u8[off + 14 + 6] !== nh) return;
      field = (u8[off + 54 + at]! << 8) | u8[off + 54 + at + 1]!;
      const sum = checksum(u8, off + 54, 24, ipv6PseudoSum(u8, off + 22, u8, off + 38, 24, nh));
      verifies = sum === 0xffff;
    });
    const skb = p.a.allocator.alloc(body.length)!;
    skb.append(body);
    assert.is(p.a.ipv6.layer.output(skb, dst, 0, { nextHeader: nh, checksumOffset: at }), 0);
    p.clock.advance(10);
    stop();
    assert.is(field, want, `next header ${nh}`);
    assert.ok(verifies, `next header ${nh}: the receiver's sum is 0xffff either way`);
  }
  await p.close();
});
