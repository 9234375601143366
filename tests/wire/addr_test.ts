import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import {
  directedBroadcast,
  formatIpv4,
  formatMac,
  inSubnet,
  ipv4,
  ipv4MulticastMac,
  isBroadcast,
  isDirectedBroadcast,
  isLinkLocal,
  isLoopback,
  isMacBroadcast,
  isMacLocallyAdministered,
  isMacMulticast,
  isMartianSource,
  isMulticast,
  isReservedClassE,
  isThisNetwork,
  isUnspecified,
  MAC_BROADCAST,
  maskToPrefix,
  networkAddress,
  parseCidr,
  parseIpv4,
  parseMac,
  prefixToMask,
  readMac,
  tryParseCidr,
  tryParseIpv4,
  tryParseMac,
  writeMac,
} from "../../src/wire/addr.ts";
import { ipv4Addr, mac } from "./_arbitraries.ts";

test("addr: dotted quad format → parse round trip for every address", () => {
  fc.assert(
    fc.property(ipv4Addr, (a) => {
      assert.is(parseIpv4(formatIpv4(a)), a);
    }),
    { seed: testSeed(), numRuns: 2000 },
  );
});

test("addr: dotted quad parse accepts canonical forms", () => {
  assert.is(parseIpv4("0.0.0.0"), 0);
  assert.is(parseIpv4("255.255.255.255"), 0xffffffff);
  assert.is(parseIpv4("192.0.2.1"), 0xc0000201);
  assert.is(parseIpv4("10.0.0.255"), 0x0a0000ff);
  assert.is(ipv4(198, 51, 100, 7), parseIpv4("198.51.100.7"));
});

test("addr: dotted quad parse rejects leading zeros, range, garbage", () => {
  const bad = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "01.2.3.4",
    "1.2.3.04",
    "1.2.3.00",
    "256.0.0.1",
    "1.2.3.1000",
    "1.2.3.-1",
    "+1.2.3.4",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1..3.4",
    "1.2.3.",
    ".1.2.3",
    "0x1.2.3.4",
    "1.2.3.4/24",
    "a.b.c.d",
    "١.٢.٣.٤",
    "1.2.3.4\n",
  ];
  for (const s of bad) {
    assert.is(tryParseIpv4(s), null, s);
    assert.throws(() => parseIpv4(s), (e: unknown) => e instanceof TypeError, s);
  }
  assert.throws(() => parseIpv4("1.2.3"), /Invalid IPv4 address "1\.2\.3"/);
});

test("addr: random strings never throw from tryParseIpv4 and agree with a reference regex", () => {
  const re =
    /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9.]{0,16}$/), (s) => {
      assert.is(tryParseIpv4(s) !== null, re.test(s), s);
    }),
    { seed: testSeed(), numRuns: 3000 },
  );
});

test("addr: classification per RFC 1122 3.2.1.3", () => {
  assert.ok(isBroadcast(parseIpv4("255.255.255.255")));
  assert.not.ok(isBroadcast(parseIpv4("192.0.2.255")));
  assert.ok(isMulticast(parseIpv4("224.0.0.1")));
  assert.ok(isMulticast(parseIpv4("239.255.255.255")));
  assert.not.ok(isMulticast(parseIpv4("240.0.0.0")));
  assert.not.ok(isMulticast(parseIpv4("223.255.255.255")));
  assert.ok(isLoopback(parseIpv4("127.255.0.1")));
  assert.not.ok(isLoopback(parseIpv4("128.0.0.1")));
  assert.ok(isUnspecified(0));
  assert.not.ok(isUnspecified(1));
  assert.ok(isThisNetwork(parseIpv4("0.1.2.3")));
  assert.ok(isLinkLocal(parseIpv4("169.254.0.1")));
  assert.not.ok(isLinkLocal(parseIpv4("169.253.0.1")));
  assert.ok(isReservedClassE(parseIpv4("250.1.1.1")));
});

test("I4: martian sources are 0/8, 127/8, multicast, class E and limited broadcast", () => {
  for (
    const s of ["0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255"]
  ) {
    assert.ok(isMartianSource(parseIpv4(s)), s);
  }
  for (const s of ["192.0.2.1", "198.51.100.7", "10.0.0.1", "169.254.1.1", "223.255.255.254"]) {
    assert.not.ok(isMartianSource(parseIpv4(s)), s);
  }
});

test("addr: prefix and mask helpers", () => {
  assert.is(prefixToMask(0), 0);
  assert.is(prefixToMask(1), 0x80000000);
  assert.is(prefixToMask(24), 0xffffff00);
  assert.is(prefixToMask(32), 0xffffffff);
  for (let p = 0; p <= 32; p++) assert.is(maskToPrefix(prefixToMask(p)), p);
  assert.is(maskToPrefix(0xff00ff00), null);
  assert.is(maskToPrefix(0x00ffffff), null);
  assert.throws(() => prefixToMask(33), RangeError);
  assert.throws(() => prefixToMask(-1), RangeError);
  assert.throws(() => prefixToMask(1.5), RangeError);
  const net = parseIpv4("192.0.2.0");
  assert.is(networkAddress(parseIpv4("192.0.2.77"), 24), net);
  assert.ok(inSubnet(parseIpv4("192.0.2.200"), net, 24));
  assert.not.ok(inSubnet(parseIpv4("192.0.3.1"), net, 24));
  assert.ok(inSubnet(parseIpv4("8.8.8.8"), 0, 0));
  assert.is(directedBroadcast(net, 24), parseIpv4("192.0.2.255"));
  assert.is(directedBroadcast(parseIpv4("10.0.0.0"), 8), parseIpv4("10.255.255.255"));
  assert.is(directedBroadcast(net, 31), null);
  assert.is(directedBroadcast(net, 32), null);
  assert.ok(isDirectedBroadcast(parseIpv4("192.0.2.255"), net, 24));
  assert.not.ok(isDirectedBroadcast(parseIpv4("192.0.2.254"), net, 24));
});

test("addr: inSubnet agrees with network-address equality for random input", () => {
  fc.assert(
    fc.property(ipv4Addr, ipv4Addr, fc.integer({ min: 0, max: 32 }), (a, n, p) => {
      assert.is(inSubnet(a, n, p), networkAddress(a, p) === networkAddress(n, p));
    }),
    { seed: testSeed(), numRuns: 1000 },
  );
});

test("addr: CIDR parse is strict", () => {
  assert.equal(parseCidr("192.0.2.1/24"), { address: 0xc0000201, prefixLen: 24 });
  assert.equal(parseCidr("0.0.0.0/0"), { address: 0, prefixLen: 0 });
  for (
    const s of ["192.0.2.1", "192.0.2.1/", "192.0.2.1/33", "192.0.2.1/024", "1.2.3/8", "1.2.3.4/x"]
  ) {
    assert.is(tryParseCidr(s), null, s);
  }
  assert.throws(() => parseCidr("1.2.3.4/40"), TypeError);
});

test("addr: MAC format → parse round trip and read/write agree", () => {
  fc.assert(
    fc.property(mac, (m) => {
      assert.is(parseMac(formatMac(m)), m);
      const b = new Uint8Array(8);
      writeMac(b, 1, m);
      assert.is(readMac(b, 1), m);
    }),
    { seed: testSeed(), numRuns: 2000 },
  );
});

test("addr: MAC parse is strict, accepts either case", () => {
  assert.is(parseMac("02:00:00:00:00:01"), 0x020000000001);
  assert.is(parseMac("AA:bb:Cc:dD:ee:FF"), 0xaabbccddeeff);
  assert.is(formatMac(0xaabbccddeeff), "aa:bb:cc:dd:ee:ff");
  for (
    const s of [
      "",
      "02:00:00:00:00",
      "02-00-00-00-00-01",
      "2:0:0:0:0:1",
      "02:00:00:00:00:0g",
      "02:00:00:00:00:011",
    ]
  ) {
    assert.is(tryParseMac(s), null, s);
  }
  assert.throws(() => parseMac("nope"), TypeError);
});

test("addr: MAC broadcast, group and local bits", () => {
  assert.ok(isMacBroadcast(MAC_BROADCAST));
  assert.ok(isMacMulticast(MAC_BROADCAST));
  assert.ok(isMacMulticast(parseMac("01:00:5e:00:00:01")));
  assert.not.ok(isMacMulticast(parseMac("02:00:00:00:00:01")));
  assert.ok(isMacLocallyAdministered(parseMac("02:00:00:00:00:01")));
  assert.not.ok(isMacLocallyAdministered(parseMac("00:1b:21:00:00:01")));
  assert.is(formatMac(ipv4MulticastMac(parseIpv4("239.255.0.1"))), "01:00:5e:7f:00:01");
  assert.is(formatMac(ipv4MulticastMac(parseIpv4("224.128.0.251"))), "01:00:5e:00:00:fb");
});
