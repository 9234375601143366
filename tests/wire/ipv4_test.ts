import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { parseIpv4 as parseAddr } from "../../src/wire/addr.ts";
import {
  emitIpv4,
  IpProtocol,
  ipv4HeaderLength,
  ipv4OptionsValid,
  type Ipv4Repr,
  Ipv4View,
  parseIpv4,
} from "../../src/wire/ipv4.ts";
import { ipv4Repr } from "./_arbitraries.ts";
import {
  flip,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  IPV4_RECORD_ROUTE_REPLY,
  IPV4_RECORD_ROUTE_REQUEST,
  TCP_SYN,
  toHex,
  UDP_DATAGRAM,
} from "./_frames.ts";

const NO_VERIFY = { verifyChecksum: false } as const;

function parseOk(u8: Uint8Array, off: number, len: number): Ipv4Repr {
  const r = parseIpv4(u8, off, len);
  if (typeof r === "string") throw new Error(`unexpected drop ${r}`);
  return r;
}

/** A copy of the IPv4 packet inside a captured Ethernet frame. */
function ipOf(frame: Uint8Array): Uint8Array {
  return frame.slice(14);
}

/** Edit a header in place, then fix its checksum so only the edit is tested. */
function edited(frame: Uint8Array, f: (v: Ipv4View, b: Uint8Array) => void): Uint8Array {
  const b = ipOf(frame);
  const v = new Ipv4View(b, 0);
  f(v, b);
  v.fillChecksum();
  return b;
}

test("ipv4: emit → parse round trip for random headers with options, padding and offsets", () => {
  fc.assert(
    fc.property(ipv4Repr, fc.nat(30), fc.nat(20), (repr, at, pad) => {
      const hl = ipv4HeaderLength(repr.options?.length ?? 0);
      const buf = new Uint8Array(at + hl + repr.payloadLength + pad);
      assert.is(emitIpv4(repr, buf, at), hl);
      const r = parseOk(buf, at, buf.length - at);
      const { options, ...fields } = repr;
      assert.equal(r, {
        ...fields,
        headerLength: hl,
        optionsOffset: at + 20,
        optionsLength: hl - 20,
        payloadOffset: at + hl,
        payloadLength: repr.payloadLength,
      });
      if (options !== undefined) {
        assert.equal(buf.slice(at + 20, at + 20 + options.length), options);
        // RFC 791: padding after the copied options is zero (EOL).
        assert.ok(buf.subarray(at + 20 + options.length, at + hl).every((x) => x === 0));
      }
      assert.ok(new Ipv4View(buf, at).verifyChecksum());
    }),
    { seed: testSeed(), numRuns: 1000 },
  );
});

test("ipv4: captured Linux echo request parses and re-emits byte for byte (checksum 0x62f6)", () => {
  const r = parseOk(ICMP_ECHO_REQUEST, 14, ICMP_ECHO_REQUEST.length - 14);
  assert.equal(
    [r.src, r.dst, r.tos, r.id, r.dontFragment, r.moreFragments, r.fragmentOffset, r.ttl],
    [parseAddr("192.0.2.1"), parseAddr("192.0.2.2"), 0, 0x53af, true, false, 0, 64],
  );
  assert.is(r.protocol, IpProtocol.ICMP);
  assert.is(r.headerLength, 20);
  assert.is(r.payloadOffset, 34);
  assert.is(r.payloadLength, 64);
  const out = new Uint8Array(20);
  emitIpv4(r, out, 0);
  assert.is(toHex(out), toHex(ICMP_ECHO_REQUEST.subarray(14, 34)));
  // And the reply, sent without DF.
  const rep = parseOk(ICMP_ECHO_REPLY, 14, ICMP_ECHO_REPLY.length - 14);
  assert.is(rep.dontFragment, false);
  emitIpv4(rep, out, 0);
  assert.is(toHex(out), toHex(ICMP_ECHO_REPLY.subarray(14, 34)));
});

test("I7: captured Record Route options (unaligned after a NOP) are exposed as a range", () => {
  const r = parseOk(IPV4_RECORD_ROUTE_REQUEST, 14, IPV4_RECORD_ROUTE_REQUEST.length - 14);
  assert.is(r.headerLength, 60);
  assert.is(r.optionsOffset, 34);
  assert.is(r.optionsLength, 40);
  assert.is(IPV4_RECORD_ROUTE_REQUEST[34], 1); // NOP
  assert.is(IPV4_RECORD_ROUTE_REQUEST[35], 7); // RR, starting at an odd offset
  assert.is(r.payloadLength, 16);
  const reply = parseOk(IPV4_RECORD_ROUTE_REPLY, 14, IPV4_RECORD_ROUTE_REPLY.length - 14);
  assert.is(reply.optionsLength, 40);
  // Re-emit with the same option bytes: identical header, checksum included.
  const out = new Uint8Array(60);
  const options = IPV4_RECORD_ROUTE_REPLY.subarray(reply.optionsOffset, reply.optionsOffset + 39);
  assert.is(emitIpv4({ ...reply, options }, out, 0), 60);
  assert.is(toHex(out), toHex(IPV4_RECORD_ROUTE_REPLY.subarray(14, 74)));
});

test("I7: unknown options are accepted; EOL ends the list even if junk follows", () => {
  const b = edited(IPV4_RECORD_ROUTE_REQUEST, (_v, b) => {
    b.set([0x9e, 4, 0xaa, 0xbb, 1, 0, 0xff, 0xff, 0x00], 20);
  });
  assert.ok(typeof parseIpv4(b, 0, b.length) !== "string");
});

test("ipv4: trailing link padding is allowed and the true payload length reported", () => {
  const padded = new Uint8Array(UDP_DATAGRAM.length + 10);
  padded.set(UDP_DATAGRAM);
  const r = parseOk(padded, 14, padded.length - 14);
  assert.is(r.payloadLength, 16);
  assert.is(r.payloadOffset, 34);
});

test("ipv4.truncated: fewer than 20 bytes", () => {
  for (let n = 0; n < 20; n++) assert.is(parseIpv4(TCP_SYN, 14, n), "ipv4.truncated");
});

test("I1: a datagram whose version is not 4 is dropped (ipv4.bad_version)", () => {
  for (const version of [0, 5, 6, 15]) {
    const b = edited(TCP_SYN, (_v, b) => (b[0] = (version << 4) | 5));
    assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_version", `version ${version}`);
  }
});

test("ipv4.bad_header_length: IHL < 5 or beyond the bytes available", () => {
  for (const ihl of [0, 1, 4]) {
    const b = ipOf(TCP_SYN);
    b[0] = 0x40 | ihl;
    assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_header_length", `ihl ${ihl}`);
  }
  const b = ipOf(TCP_SYN);
  b[0] = 0x4f; // 60 bytes claimed
  assert.is(parseIpv4(b, 0, 40), "ipv4.bad_header_length");
});

test("ipv4.bad_total_length: shorter than the header, or longer than what arrived", () => {
  let b = edited(TCP_SYN, (v) => (v.totalLength = 19));
  assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_total_length");
  b = edited(IPV4_RECORD_ROUTE_REQUEST, (v) => (v.totalLength = 40)); // IHL says 60
  assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_total_length");
  b = edited(TCP_SYN, (v) => (v.totalLength = b.length + 1));
  assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_total_length");
  b = ipOf(TCP_SYN);
  assert.is(parseIpv4(b, 0, b.length - 1), "ipv4.bad_total_length"); // the link cut it short
});

test("I2: a header with a bad checksum is dropped, unless verification is skipped (offload)", () => {
  const b = ipOf(TCP_SYN);
  flip(b, 8); // TTL changed, checksum not updated
  assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_checksum");
  assert.ok(typeof parseIpv4(b, 0, b.length, NO_VERIFY) !== "string");
  flip(b, 8);
  flip(b, 10, 0x80);
  assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_checksum");
});

test("ipv4.bad_option: length 0 or 1, overrunning, or a missing length byte; never a loop", () => {
  const cases: [string, number[]][] = [
    ["length 0", [7, 0]],
    ["length 1", [7, 1]],
    ["overruns the header", [1, 1, 7, 60]],
    ["no length byte", [
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      0x44,
    ]],
  ];
  for (const [name, opt] of cases) {
    const b = edited(IPV4_RECORD_ROUTE_REQUEST, (_v, b) => {
      b.fill(1, 20, 60);
      b.set(opt, 20);
    });
    assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_option", name);
  }
  assert.ok(ipv4OptionsValid(new Uint8Array([1, 1, 1, 1]), 0, 4));
  assert.ok(ipv4OptionsValid(new Uint8Array([0x44, 4, 5, 0]), 0, 4));
  assert.not.ok(ipv4OptionsValid(new Uint8Array([0x44, 5, 5, 0]), 0, 4));
});

test("ipv4.bad_fragment: MF with a ragged length, or a fragment ending past 65,535", () => {
  // UDP_DATAGRAM has 16 bytes of payload: a multiple of 8, so MF alone is fine.
  let b = edited(UDP_DATAGRAM, (v) => (v.moreFragments = true));
  assert.ok(typeof parseIpv4(b, 0, b.length) !== "string");
  b = edited(ICMP_ECHO_REQUEST, (v) => {
    v.moreFragments = true;
    v.totalLength = 20 + 63;
  });
  assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_fragment");
  // Offset 65,520 + 16 bytes of data + 20 of header: past the limit (ping of death).
  b = edited(UDP_DATAGRAM, (v) => (v.fragmentOffset = 65520));
  assert.is(parseIpv4(b, 0, b.length), "ipv4.bad_fragment");
  b = edited(UDP_DATAGRAM, (v) => (v.fragmentOffset = 65496)); // ends at exactly 65,532
  const r = parseIpv4(b, 0, b.length);
  assert.ok(typeof r !== "string" && r.fragmentOffset === 65496);
});

test("ipv4: reserved flag is accepted and ignored (documented decision); emit clears it", () => {
  const b = edited(TCP_SYN, (v) => (v.reservedFlag = true));
  const v = new Ipv4View(b);
  assert.ok(v.reservedFlag);
  assert.ok(v.dontFragment);
  const r = parseOk(b, 0, b.length);
  const out = new Uint8Array(20);
  emitIpv4(r, out, 0);
  assert.not.ok(new Ipv4View(out).reservedFlag);
  assert.is(toHex(out), toHex(TCP_SYN.subarray(14, 34)));
});

test("I6: TTL 0 and 1 are not a reason to drop a received datagram", () => {
  for (const ttl of [0, 1]) {
    const b = edited(TCP_SYN, (v) => (v.ttl = ttl));
    assert.is(parseOk(b, 0, b.length).ttl, ttl);
  }
});

test("ipv4: view setters write the fields parse reads", () => {
  const b = new Uint8Array(28);
  const v = new Ipv4View(b);
  v.headerLength = 20;
  v.tos = 0xb8;
  v.totalLength = 28;
  v.id = 0xbeef;
  v.dontFragment = true;
  v.moreFragments = true;
  v.fragmentOffset = 1480;
  v.moreFragments = false;
  v.ttl = 3;
  v.protocol = IpProtocol.UDP;
  v.src = parseAddr("198.51.100.1");
  v.dst = parseAddr("192.0.2.9");
  v.fillChecksum();
  assert.ok(v.verifyChecksum());
  const r = parseOk(b, 0, 28);
  assert.equal(
    [v.version, r.tos, r.id, r.dontFragment, r.moreFragments, r.fragmentOffset, r.ttl, r.protocol],
    [4, 0xb8, 0xbeef, true, false, 1480, 3, 17],
  );
  assert.is(v.checksum, (b[10]! << 8) | b[11]!);
  assert.is(r.src, parseAddr("198.51.100.1"));
});

test("ipv4: caller bugs are RangeErrors: bad range, options over 40 bytes", () => {
  assert.throws(() => parseIpv4(new Uint8Array(20), 1, 20), RangeError);
  const repr = {
    src: 1,
    dst: 2,
    tos: 0,
    id: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 6,
    payloadLength: 0,
  };
  assert.throws(
    () => emitIpv4({ ...repr, options: new Uint8Array(41) }, new Uint8Array(80), 0),
    RangeError,
  );
  assert.throws(() => emitIpv4(repr, new Uint8Array(19), 0), RangeError);
  assert.is(ipv4HeaderLength(1), 24);
});
