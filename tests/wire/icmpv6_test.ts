import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { formatIpv6, parseIpv6Address } from "../../src/wire/addr6.ts";
import { ipv6PseudoSum } from "../../src/wasm/checksum.ts";
import {
  emitIcmpv6Echo,
  emitIcmpv6Error,
  fillIcmpv6Checksum,
  type Icmpv6Repr,
  Icmpv6Type,
  parseIcmpv6,
  parseIcmpv6Quote,
} from "../../src/wire/icmpv6.ts";
import { parseIpv6 } from "../../src/wire/ipv6.ts";
import { Ipv6Walk, walkIpv6Headers } from "../../src/wire/ipv6_ext.ts";
import {
  emitMldv2Report,
  MldRecordType,
  parseMldQuery,
  parseMldv2Report,
} from "../../src/wire/mld.ts";
import {
  emitNeighborAdvert,
  emitNeighborSolicit,
  emitRedirect,
  emitRouterAdvert,
  emitRouterSolicit,
  parseNeighborAdvert,
  parseNeighborSolicit,
  parseRedirect,
  parseRouterAdvert,
  parseRouterSolicit,
} from "../../src/wire/ndp.ts";
import { toHex } from "./_frames.ts";
import {
  ECHO_REPLY6,
  ECHO_REQUEST6,
  MLDV2_REPORT,
  MLDV2_REPORT_UNSPECIFIED,
  NA,
  NS,
  NS_DAD,
  PACKET_TOO_BIG,
  PORT_UNREACHABLE6,
  RA,
  RS,
  TIME_EXCEEDED6,
} from "./_frames6.ts";

/** The ICMPv6 message of a captured frame (walking any extension headers), checksum verified. */
function icmp(f: Uint8Array): { m: Icmpv6Repr; pseudo: number; at: number; len: number } {
  const ip = parseIpv6(f, 14, f.length - 14);
  if (typeof ip === "string") throw new Error(ip);
  const w = new Ipv6Walk();
  walkIpv6Headers(
    f,
    ip.nextHeader,
    ip.payloadOffset,
    ip.payloadOffset + ip.payloadLength,
    true,
    20,
    w,
  );
  const at = w.offset;
  const len = ip.payloadOffset + ip.payloadLength - at;
  const pseudo = ipv6PseudoSum(f, ip.srcOffset, f, ip.dstOffset, len, 58);
  const m = parseIcmpv6(f, at, len, pseudo);
  if (typeof m === "string") throw new Error(m);
  return { m, pseudo, at, len };
}

/** Zero the message (keeping it in place), let `emit` rewrite it, compare with the capture. */
function reemits(f: Uint8Array, emit: (b: Uint8Array, at: number) => number): void {
  const { pseudo, at, len } = icmp(f);
  const b = f.slice();
  b.fill(0, at, at + len);
  assert.is(emit(b, at), len);
  fillIcmpv6Checksum(b, at, len, pseudo);
  assert.is(toHex(b), toHex(f));
}

test("icmpv6: captured echo request/reply verify and re-emit byte for byte", () => {
  for (const f of [ECHO_REQUEST6, ECHO_REPLY6]) {
    const { m, pseudo, at, len } = icmp(f);
    assert.is(m.id, 0x3e49);
    assert.is(m.seq, 1);
    assert.is(m.payloadLength, 56);
    const b = f.slice();
    b.fill(0, at, at + 8);
    emitIcmpv6Echo({ type: m.type, id: m.id, seq: m.seq, payloadLength: len - 8 }, b, at, pseudo);
    assert.is(toHex(b), toHex(f));
  }
  assert.is(icmp(ECHO_REQUEST6).m.type, Icmpv6Type.ECHO_REQUEST);
  assert.is(icmp(ECHO_REPLY6).m.type, Icmpv6Type.ECHO_REPLY);
});

test("icmpv6.bad_checksum (mandatory, RFC 4443 §2.3) and icmpv6.truncated", () => {
  const { pseudo, at, len } = icmp(ECHO_REQUEST6);
  const bad = ECHO_REQUEST6.slice();
  bad[at + 20]! ^= 0x40;
  assert.is(parseIcmpv6(bad, at, len, pseudo), "icmpv6.bad_checksum");
  // The pseudo-header is covered: the same bytes to another destination fail.
  assert.is(parseIcmpv6(ECHO_REQUEST6, at, len, pseudo + 1), "icmpv6.bad_checksum");
  assert.is(parseIcmpv6(ECHO_REQUEST6, at, 7, 0), "icmpv6.truncated");
});

test("RFC 4443 §3: captured Packet Too Big, Time Exceeded and port unreachable quote our packets; ports readable", () => {
  const ptb = icmp(PACKET_TOO_BIG);
  assert.is(ptb.m.type, Icmpv6Type.PACKET_TOO_BIG);
  assert.is(ptb.m.word, 1280);
  assert.is(ptb.len, 1240, "as much as fits in 1280 bytes (§2.4 (c))");
  const q = parseIcmpv6Quote(PACKET_TOO_BIG, ptb.m.payloadOffset, ptb.m.payloadLength);
  if (typeof q === "string") throw new Error(q);
  assert.is(formatIpv6(PACKET_TOO_BIG, q.srcOffset), "2001:db8::1");
  assert.is(formatIpv6(PACKET_TOO_BIG, q.dstOffset), "2001:db8:1::2");
  assert.is(q.nextHeader, 58);
  const te = icmp(TIME_EXCEEDED6);
  assert.is(te.m.type, Icmpv6Type.TIME_EXCEEDED);
  assert.is(te.m.code, 0);
  const pu = icmp(PORT_UNREACHABLE6);
  assert.is(pu.m.type, Icmpv6Type.DEST_UNREACHABLE);
  assert.is(pu.m.code, 4);
  const uq = parseIcmpv6Quote(PORT_UNREACHABLE6, pu.m.payloadOffset, pu.m.payloadLength);
  if (typeof uq === "string") throw new Error(uq);
  assert.is(uq.nextHeader, 17);
  assert.is(
    (PORT_UNREACHABLE6[uq.transportOffset + 2]! << 8) | PORT_UNREACHABLE6[uq.transportOffset + 3]!,
    9,
  );
  reemits(PORT_UNREACHABLE6, (b, at) => {
    const quote = pu.len - 8;
    b.set(PORT_UNREACHABLE6.subarray(at + 8, at + 8 + quote), at + 8);
    emitIcmpv6Error(1, 4, 0, quote, b, at, 0);
    return pu.len;
  });
});

test("icmpv6.bad_quote: no IPv6 header, wrong version, or no 8 bytes of the upper layer", () => {
  const pu = icmp(PORT_UNREACHABLE6);
  const off = pu.m.payloadOffset;
  assert.is(parseIcmpv6Quote(PORT_UNREACHABLE6, off, 47), "icmpv6.bad_quote");
  const v4 = PORT_UNREACHABLE6.slice();
  v4[off] = 0x45;
  assert.is(parseIcmpv6Quote(v4, off, pu.m.payloadLength), "icmpv6.bad_quote");
  // A quoted extension header claiming more bytes than the quote holds.
  const q = new Uint8Array(56);
  q[0] = 0x60;
  q[6] = 60;
  q[41] = 5;
  assert.is(parseIcmpv6Quote(q, 0, 56), "icmpv6.bad_quote");
  // A non-first fragment's quote is accepted, flagged by its offset.
  const frag = new Uint8Array(56);
  frag[0] = 0x60;
  frag[6] = 44;
  frag[40] = 17;
  frag[43] = 0xb0; // offset 176
  const r = parseIcmpv6Quote(frag, 0, 56);
  if (typeof r === "string") throw new Error(r);
  assert.is(r.fragmentOffset, 176);
});

test("RFC 4861: captured NS, NA, RS, RA and DAD NS parse; our emitters re-create them byte for byte", () => {
  const ns = icmp(NS);
  const nsr = parseNeighborSolicit(NS, ns.at, ns.len);
  if (typeof nsr === "string") throw new Error(nsr);
  assert.is(formatIpv6(NS, nsr.targetOffset), "2001:db8::2");
  assert.is(nsr.sourceLinkAddress, 0x020000000001);
  reemits(
    NS,
    (b, at) => emitNeighborSolicit(parseIpv6Address("2001:db8::2"), 0, 0x020000000001, null, b, at),
  );

  const na = icmp(NA);
  const nar = parseNeighborAdvert(NA, na.at, na.len);
  if (typeof nar === "string") throw new Error(nar);
  assert.ok(nar.router && nar.solicited && nar.override);
  assert.is(nar.targetLinkAddress, 0x020000000002);
  reemits(NA, (b, at) =>
    emitNeighborAdvert(
      { router: true, solicited: true, override: true },
      parseIpv6Address("2001:db8::2"),
      0,
      0x020000000002,
      b,
      at,
    ));

  const rs = icmp(RS);
  const rsr = parseRouterSolicit(RS, rs.at, rs.len);
  if (typeof rsr === "string") throw new Error(rsr);
  assert.is(rsr.sourceLinkAddress, 0x020000000001);
  reemits(RS, (b, at) => emitRouterSolicit(0x020000000001, b, at));

  const dad = icmp(NS_DAD);
  const dadr = parseNeighborSolicit(NS_DAD, dad.at, dad.len);
  if (typeof dadr === "string") throw new Error(dadr);
  assert.is(dadr.sourceLinkAddress, null, "a DAD probe carries no SLLA (RFC 4862 §5.4.2)");
  assert.is(dadr.nonceLength, 6);
  const nonce = NS_DAD.slice(dadr.nonceOffset, dadr.nonceOffset + 6);
  reemits(
    NS_DAD,
    (b, at) => emitNeighborSolicit(parseIpv6Address("fe80::ff:fe00:1"), 0, null, nonce, b, at),
  );

  const ra = icmp(RA);
  const rar = parseRouterAdvert(RA, ra.at, ra.len);
  if (typeof rar === "string") throw new Error(rar);
  assert.is(rar.curHopLimit, 64);
  assert.is(rar.routerLifetime, 12); // radvd: 3 × MaxRtrAdvInterval
  assert.is(rar.mtu, 1500);
  assert.is(rar.sourceLinkAddress, 0x020000000002);
  assert.is(rar.prefixes.length, 1);
  const p = rar.prefixes[0]!;
  assert.equal(
    [p.prefixLength, p.onLink, p.autonomous, p.validLifetime, p.preferredLifetime],
    [64, true, true, 86400, 14400],
  );
  assert.is(formatIpv6(RA, p.prefixOffset), "2001:db8::");
  // radvd orders the options prefix, MTU, SLLA; ours writes SLLA, MTU, prefixes: same content.
  const b = new Uint8Array(80);
  const n = emitRouterAdvert(
    {
      curHopLimit: 64,
      routerLifetime: 12,
      sourceLinkAddress: 0x020000000002,
      mtu: 1500,
      prefixes: [{
        prefix: parseIpv6Address("2001:db8::"),
        prefixLength: 64,
        onLink: true,
        autonomous: true,
        validLifetime: 86400,
        preferredLifetime: 14400,
      }],
    },
    b,
    0,
  );
  assert.is(n, ra.len);
  const again = parseRouterAdvert(b, 0, n);
  if (typeof again === "string") throw new Error(again);
  const view = (r: typeof rar, u8: Uint8Array) => ({
    ...r,
    prefixes: r.prefixes.map((x) => ({ ...x, prefixOffset: formatIpv6(u8, x.prefixOffset) })),
  });
  assert.equal(view(again, b), view(rar, RA));
});

test("ndp drops: bad code, truncated, zero-length option, multicast target, bad link-layer option", () => {
  const ns = icmp(NS);
  const code = NS.slice();
  code[ns.at + 1] = 1;
  assert.is(parseNeighborSolicit(code, ns.at, ns.len), "ndp.bad_code");
  assert.is(parseNeighborSolicit(NS, ns.at, 23), "ndp.truncated");
  const zero = NS.slice();
  zero[ns.at + 25] = 0;
  assert.is(parseNeighborSolicit(zero, ns.at, ns.len), "ndp.bad_option");
  const long = NS.slice();
  long[ns.at + 25] = 2;
  assert.is(parseNeighborSolicit(long, ns.at, ns.len), "ndp.bad_option");
  const mc = NS.slice();
  mc[ns.at + 8] = 0xff;
  assert.is(parseNeighborSolicit(mc, ns.at, ns.len), "ndp.bad_target");
  const b = new Uint8Array(40);
  emitRedirect(parseIpv6Address("fe80::1"), parseIpv6Address("ff02::1"), null, b, 0);
  assert.is(parseRedirect(b, 0, 40), "ndp.bad_target");
  // A 16-byte SLLA (length 2) on Ethernet.
  const rs = new Uint8Array(24);
  rs[0] = 133;
  rs[8] = 1;
  rs[9] = 2;
  assert.is(parseRouterSolicit(rs, 0, 24), "ndp.bad_link_address");
  assert.is(parseRouterAdvert(rs, 0, 15), "ndp.truncated");
});

test("RFC 3810: captured MLDv2 reports parse; ours re-create them byte for byte; queries decode", () => {
  for (const f of [MLDV2_REPORT_UNSPECIFIED, MLDV2_REPORT]) {
    const { m, at, len } = icmp(f);
    assert.is(m.type, Icmpv6Type.MLDV2_REPORT);
    const recs = parseMldv2Report(f, at, len);
    if (typeof recs === "string") throw new Error(recs);
    assert.is(recs.length, 1);
    assert.is(recs[0]!.type, MldRecordType.CHANGE_TO_EXCLUDE);
    const group = f.slice(recs[0]!.groupOffset, recs[0]!.groupOffset + 16);
    assert.ok(formatIpv6(group).startsWith("ff02::1:ff"), formatIpv6(group));
    reemits(f, (b, a) => emitMldv2Report([{ type: MldRecordType.CHANGE_TO_EXCLUDE, group }], b, a));
  }
  const q1 = new Uint8Array(24);
  q1[0] = 130;
  q1[4] = 0x27;
  q1[5] = 0x10;
  const r1 = parseMldQuery(q1, 0, 24);
  if (typeof r1 === "string") throw new Error(r1);
  assert.is(r1.version, 1);
  assert.is(r1.maxResponseDelay, 10000);
  const q2 = new Uint8Array(44);
  q2[0] = 130;
  q2[4] = 0x80; // exponent form: (0x1000 | 0) << 3
  q2[24] = 2;
  q2[27] = 1;
  const r2 = parseMldQuery(q2, 0, 44);
  if (typeof r2 === "string") throw new Error(r2);
  assert.equal([r2.version, r2.maxResponseDelay, r2.robustness, r2.sourceCount], [2, 32768, 2, 1]);
  assert.is(parseMldQuery(q2, 0, 26), "mld.truncated");
  assert.is(parseMldQuery(q2, 0, 43), "mld.truncated");
  const rep = new Uint8Array(28);
  emitMldv2Report([{ type: 4, group: new Uint8Array(16) }], rep, 0);
  assert.is(parseMldv2Report(rep, 0, 27), "mld.truncated");
});
