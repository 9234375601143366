import * as assert from "uvu/assert";
import fc from "fast-check";
import { test } from "../_util/test.ts";
import { formatMac } from "../../src/wire/addr.ts";
import {
  commonPrefixLength,
  formatIpv6,
  inPrefix6,
  ip6Equal,
  IPV6_ALL_NODES,
  IPV6_LOOPBACK,
  ipv6MulticastMac,
  isLinkLocal6,
  isLoopback6,
  isMulticast6,
  isSolicitedNodeOf,
  isUniqueLocal6,
  isUnspecified6,
  isV4Mapped,
  maskPrefix6,
  parseIpv6Address,
  scope6,
  solicitedNode,
  splitZone,
  tryParseIpv6Address,
  tryParseIpv6Cidr,
  v4FromMapped,
  v4Mapped,
  writeEui64,
} from "../../src/wire/addr6.ts";

const a = parseIpv6Address;

test("addr6: RFC 4291 §2.2 text forms parse to the same address", () => {
  const forms = [
    "2001:DB8:0:0:8:800:200C:417A",
    "2001:db8:0:0:8:800:200c:417a",
    "2001:db8::8:800:200c:417a",
    "2001:0db8:0000:0000:0008:0800:200c:417a",
  ];
  for (const f of forms) assert.is(formatIpv6(a(f)), "2001:db8::8:800:200c:417a", f);
  assert.is(formatIpv6(a("::13.1.68.3")), "::d01:4403");
  assert.is(formatIpv6(a("::FFFF:129.144.52.38")), "::ffff:129.144.52.38");
  assert.is(formatIpv6(a("0:0:0:0:0:0:0:0")), "::");
  assert.is(formatIpv6(a("ff01::101")), "ff01::101");
});

test("addr6: RFC 5952 canonical output (§4.1 no leading zeros, §4.2 longest run, first on ties, §4.3 lower case)", () => {
  assert.is(formatIpv6(a("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  assert.is(formatIpv6(a("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1"); // one zero: no ::
  assert.is(formatIpv6(a("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1");
  assert.is(formatIpv6(a("2001:db8::aaaa:0:0:1")), "2001:db8::aaaa:0:0:1");
  assert.is(formatIpv6(a("1:0:0:2:0:0:3:4")), "1::2:0:0:3:4");
  assert.is(formatIpv6(a("1::")), "1::");
  assert.is(formatIpv6(IPV6_LOOPBACK), "::1");
});

test("addr6: malformed text is refused (null, or TypeError from the strict parser)", () => {
  for (
    const bad of [
      "",
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "12345::",
      "g::1",
      ":1",
      "1:",
      "1:::2",
      "::1.2.3",
      "1:2:3:4:5:6:7:1.2.3.4",
      "::256.0.0.1",
      "::01.2.3.4",
      " ::1",
      "fe80::1%eth0",
      "[::1]",
      "::1/128",
    ]
  ) {
    assert.is(tryParseIpv6Address(bad), null, bad);
  }
  assert.throws(() => a("1::2::3"), (e: unknown) => e instanceof TypeError);
});

test("addr6: format → parse round trip for random addresses", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (x) => {
      const t = formatIpv6(x);
      const back = tryParseIpv6Address(t);
      assert.ok(back !== null, t);
      assert.ok(ip6Equal(back, 0, x, 0), t);
      assert.is(t, t.toLowerCase());
    }),
    { numRuns: 2000 },
  );
});

test("addr6: random strings never throw from tryParseIpv6Address", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9a-fA-F:.%]{0,48}$/), (s) => {
      const r = tryParseIpv6Address(s);
      if (r !== null) assert.is(r.length, 16);
    }),
    { numRuns: 3000 },
  );
});

test("addr6: classification and scopes (RFC 4291 §2.4, RFC 6724 §3.1)", () => {
  assert.ok(isUnspecified6(a("::")));
  assert.ok(isLoopback6(a("::1")));
  assert.not.ok(isLoopback6(a("::2")));
  assert.ok(isMulticast6(IPV6_ALL_NODES));
  assert.ok(isLinkLocal6(a("fe80::1")));
  assert.ok(isLinkLocal6(a("febf::1")));
  assert.not.ok(isLinkLocal6(a("fec0::1")));
  assert.ok(isUniqueLocal6(a("fd12::1")));
  assert.ok(isV4Mapped(a("::ffff:192.0.2.1")));
  assert.not.ok(isV4Mapped(a("::192.0.2.1")));
  assert.is(scope6(a("fe80::1")), 2);
  assert.is(scope6(a("::1")), 2);
  assert.is(scope6(a("ff05::2")), 5);
  assert.is(scope6(a("2001:db8::1")), 14);
  assert.is(scope6(a("fec0::1")), 5);
});

test("addr6: v4-mapped conversion both ways", () => {
  const m = v4Mapped(0xc0000201);
  assert.is(formatIpv6(m), "::ffff:192.0.2.1");
  assert.is(v4FromMapped(m), 0xc0000201);
});

test("addr6: solicited-node group (RFC 4291 §2.7.1) and its Ethernet address (RFC 2464 §7)", () => {
  const t = a("2001:db8::ab:cdef");
  const g = solicitedNode(t);
  assert.is(formatIpv6(g), "ff02::1:ffab:cdef");
  assert.ok(isSolicitedNodeOf(g, 0, t, 0));
  assert.not.ok(isSolicitedNodeOf(g, 0, a("2001:db8::ab:cdee"), 0));
  assert.not.ok(isSolicitedNodeOf(a("ff02::2:ffab:cdef"), 0, t, 0));
  assert.is(formatMac(ipv6MulticastMac(g)), "33:33:ff:ab:cd:ef");
  assert.is(formatMac(ipv6MulticastMac(IPV6_ALL_NODES)), "33:33:00:00:00:01");
});

test("addr6: prefixes: inPrefix6, commonPrefixLength, maskPrefix6", () => {
  const x = a("2001:db8:1:2::9");
  assert.ok(inPrefix6(x, 0, a("2001:db8::"), 0, 32));
  assert.ok(inPrefix6(x, 0, a("2001:db8:1::"), 0, 48));
  assert.not.ok(inPrefix6(x, 0, a("2001:db8:1:3::"), 0, 64));
  assert.ok(inPrefix6(x, 0, a("::"), 0, 0));
  assert.ok(inPrefix6(x, 0, a("2001:db8:1:3::"), 0, 62)); // 2 and 3 share 15 bits
  assert.is(commonPrefixLength(x, 0, x, 0), 128);
  assert.is(commonPrefixLength(a("::"), 0, a("8000::"), 0), 0);
  assert.is(commonPrefixLength(a("2001:db8::1"), 0, a("2001:db8::2"), 0), 126);
  assert.is(formatIpv6(maskPrefix6(x, 48)), "2001:db8:1::");
  assert.is(formatIpv6(maskPrefix6(a("2001:db8:ffff::"), 37)), "2001:db8:f800::");
  assert.throws(() => maskPrefix6(x, 129), (e: unknown) => e instanceof RangeError);
});

test("addr6: CIDR parse and zones", () => {
  assert.is(tryParseIpv6Cidr("2001:db8::2/64")?.prefixLen, 64);
  assert.is(tryParseIpv6Cidr("2001:db8::2/129"), null);
  assert.is(tryParseIpv6Cidr("2001:db8::2/064"), null);
  assert.is(tryParseIpv6Cidr("2001:db8::2"), null);
  assert.equal(splitZone("fe80::1%tap0"), ["fe80::1", "tap0"]);
  assert.equal(splitZone("::1"), ["::1", null]);
});

test("addr6: modified EUI-64 (RFC 4291 Appendix A) flips the U/L bit", () => {
  const ll = a("fe80::");
  writeEui64(ll, 0, 0x02_00_00_00_00_01);
  assert.is(formatIpv6(ll), "fe80::ff:fe00:1"); // what Linux derives for 02:00:00:00:00:01
  const g = a("fe80::");
  writeEui64(g, 0, 0x00_1b_21_3a_4c_5d);
  assert.is(formatIpv6(g), "fe80::21b:21ff:fe3a:4c5d");
});
