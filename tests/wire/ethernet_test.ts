import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { formatMac, MAC_BROADCAST, parseMac } from "../../src/wire/addr.ts";
import {
  emitEthernet,
  ETHERNET_HEADER_LENGTH,
  EthernetView,
  EtherType,
  parseEthernet,
} from "../../src/wire/ethernet.ts";
import { ethernetRepr } from "./_arbitraries.ts";
import { ARP_REQUEST, TCP_SYN, toHex } from "./_frames.ts";

test("ethernet: emit → parse round trip at any offset, payload range is the rest", () => {
  fc.assert(
    fc.property(ethernetRepr, fc.nat(40), fc.nat(100), (repr, at, payload) => {
      const buf = new Uint8Array(at + ETHERNET_HEADER_LENGTH + payload);
      assert.is(emitEthernet(repr, buf, at), ETHERNET_HEADER_LENGTH);
      const r = parseEthernet(buf, at, ETHERNET_HEADER_LENGTH + payload);
      assert.equal(r, {
        ...repr,
        payloadOffset: at + ETHERNET_HEADER_LENGTH,
        payloadLength: payload,
      });
    }),
    { seed: testSeed(), numRuns: 500 },
  );
});

test("L4: captured RFC 894 frames parse, and re-emitting the header gives the same bytes", () => {
  const arp = parseEthernet(ARP_REQUEST, 0, ARP_REQUEST.length);
  if (typeof arp === "string") throw new Error(arp);
  assert.is(arp.dst, MAC_BROADCAST);
  assert.is(formatMac(arp.src), "02:00:00:00:00:01");
  assert.is(arp.ethertype, EtherType.ARP);
  assert.is(arp.payloadOffset, 14);
  assert.is(arp.payloadLength, 28);
  const syn = parseEthernet(TCP_SYN, 0, TCP_SYN.length);
  if (typeof syn === "string") throw new Error(syn);
  assert.is(syn.ethertype, EtherType.IPV4);
  assert.is(syn.dst, parseMac("02:00:00:00:00:02"));
  const out = new Uint8Array(14);
  emitEthernet(syn, out, 0);
  assert.is(toHex(out), toHex(TCP_SYN.subarray(0, 14)));
});

test("ethernet.truncated: fewer than 14 bytes", () => {
  for (let n = 0; n < 14; n++) assert.is(parseEthernet(TCP_SYN, 0, n), "ethernet.truncated");
  const r = parseEthernet(TCP_SYN, 0, 14);
  assert.ok(typeof r !== "string" && r.payloadLength === 0);
});

test("ethernet: 802.1Q and 802.3 length fields are reported as is, not decoded", () => {
  const f = new Uint8Array(64);
  const v = new EthernetView(f, 0);
  v.ethertype = EtherType.VLAN;
  let r = parseEthernet(f, 0, 64);
  assert.ok(typeof r !== "string" && r.ethertype === 0x8100);
  v.ethertype = 46; // an IEEE 802.3 length
  r = parseEthernet(f, 0, 64);
  assert.ok(typeof r !== "string" && r.ethertype === 46);
});

test("ethernet: view reads and writes fields in place", () => {
  const f = new Uint8Array(20);
  const v = new EthernetView(f).at(3);
  v.dst = 0x0a0b0c0d0e0f;
  v.src = 0x020000000001;
  v.ethertype = EtherType.IPV6;
  assert.is(toHex(f.subarray(3, 17)), "0a0b0c0d0e0f02000000000186dd");
  assert.is(v.payloadOffset, 17);
  assert.is(v.dst, 0x0a0b0c0d0e0f);
});

test("ethernet: a range outside the buffer is a RangeError (caller bug), not a drop", () => {
  assert.throws(() => parseEthernet(new Uint8Array(10), 0, 20), RangeError);
  assert.throws(() => parseEthernet(new Uint8Array(10), -1, 5), RangeError);
  assert.throws(() => parseEthernet(new Uint8Array(10), 0.5, 5), RangeError);
  assert.throws(
    () => emitEthernet({ dst: 0, src: 0, ethertype: 0 }, new Uint8Array(10), 0),
    RangeError,
  );
});
