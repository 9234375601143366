import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { MAC_ZERO, parseIpv4, parseMac } from "../../src/wire/addr.ts";
import { ARP_LENGTH, ArpOp, ArpView, emitArp, parseArp } from "../../src/wire/arp.ts";
import { arpRepr } from "./_arbitraries.ts";
import { ARP_REPLY, ARP_REQUEST, toHex } from "./_frames.ts";

test("arp: emit → parse round trip, trailing Ethernet padding ignored", () => {
  fc.assert(
    fc.property(arpRepr, fc.nat(20), fc.nat(18), (repr, at, pad) => {
      const buf = new Uint8Array(at + ARP_LENGTH + pad);
      assert.is(emitArp(repr, buf, at), ARP_LENGTH);
      assert.equal(parseArp(buf, at, ARP_LENGTH + pad), repr);
    }),
    { seed: testSeed(), numRuns: 500 },
  );
});

test("arp: captured Linux request and reply parse and re-emit byte for byte", () => {
  const req = parseArp(ARP_REQUEST, 14, ARP_REQUEST.length - 14);
  assert.equal(req, {
    op: ArpOp.REQUEST,
    senderMac: parseMac("02:00:00:00:00:01"),
    senderIp: parseIpv4("192.0.2.1"),
    targetMac: MAC_ZERO,
    targetIp: parseIpv4("192.0.2.2"),
  });
  const rep = parseArp(ARP_REPLY, 14, ARP_REPLY.length - 14);
  if (typeof rep === "string") throw new Error(rep);
  assert.is(rep.op, ArpOp.REPLY);
  assert.is(rep.senderMac, parseMac("02:00:00:00:00:02"));
  assert.is(rep.targetIp, parseIpv4("192.0.2.1"));
  const out = new Uint8Array(28);
  emitArp(rep, out, 0);
  assert.is(toHex(out), toHex(ARP_REPLY.subarray(14)));
});

test("arp.truncated: fewer than 28 bytes", () => {
  for (let n = 0; n < 28; n++) assert.is(parseArp(ARP_REQUEST, 14, n), "arp.truncated");
});

test("arp.bad_hardware / bad_protocol / bad_op: non-Ethernet/IPv4 ARP is dropped", () => {
  const edit = (f: (v: ArpView) => void) => {
    const b = ARP_REQUEST.slice(14);
    f(new ArpView(b, 0));
    return parseArp(b, 0, b.length);
  };
  assert.is(edit((v) => (v.htype = 6)), "arp.bad_hardware"); // IEEE 802
  assert.is(edit((v) => (v.hlen = 8)), "arp.bad_hardware");
  assert.is(edit((v) => (v.ptype = 0x86dd)), "arp.bad_protocol");
  assert.is(edit((v) => (v.plen = 16)), "arp.bad_protocol");
  assert.is(edit((v) => (v.op = 3)), "arp.bad_op"); // RARP request
  assert.is(edit((v) => (v.op = 0)), "arp.bad_op");
  assert.is(edit((v) => (v.op = 0x0101)), "arp.bad_op");
});

test("arp: view reads what emit wrote", () => {
  const b = new Uint8Array(28);
  const repr = {
    op: ArpOp.REPLY,
    senderMac: 0x020000000002,
    senderIp: 0xc0000202,
    targetMac: 0x020000000001,
    targetIp: 0xc0000201,
  } as const;
  emitArp(repr, b, 0);
  const v = new ArpView(b);
  assert.equal(
    [v.htype, v.ptype, v.hlen, v.plen, v.op, v.senderMac, v.senderIp, v.targetMac, v.targetIp],
    [1, 0x0800, 6, 4, 2, repr.senderMac, repr.senderIp, repr.targetMac, repr.targetIp],
  );
  v.senderIp = 0x01020304;
  v.targetMac = 0xffffffffffff;
  assert.is(v.senderIp, 0x01020304);
  assert.is(v.targetMac, 0xffffffffffff);
});
