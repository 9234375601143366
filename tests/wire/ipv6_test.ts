import * as assert from "uvu/assert";
import fc from "fast-check";
import { test } from "../_util/test.ts";
import { formatIpv6, IPV6_LOOPBACK, parseIpv6Address } from "../../src/wire/addr6.ts";
import {
  emitIpv6,
  type Ipv6EmitRepr,
  type Ipv6Repr,
  Ipv6View,
  NextHeader,
  parseIpv6,
} from "../../src/wire/ipv6.ts";
import {
  emitIpv6Fragment,
  emitIpv6Options,
  Ipv6Walk,
  ParamProblemCode,
  parseIpv6ExtHeader,
  parseIpv6Fragment,
  scanOptions,
  walkIpv6Headers,
  WalkStatus,
} from "../../src/wire/ipv6_ext.ts";
import { ipv6PseudoSum } from "../../src/wasm/checksum.ts";
import { refIpv6PseudoSum } from "../../src/wasm/reference.ts";
import { emitUdp6, parseUdp6 } from "../../src/wire/udp.ts";
import { toHex } from "./_frames.ts";
import {
  ECHO_REQUEST6,
  FRAGMENT_0,
  FRAGMENT_1,
  FRAGMENT_2,
  MLDV2_REPORT_UNSPECIFIED,
  UDP6_DATAGRAM,
} from "./_frames6.ts";

function ok(u8: Uint8Array, off: number, len: number): Ipv6Repr {
  const r = parseIpv6(u8, off, len);
  if (typeof r === "string") throw new Error(`unexpected drop ${r}`);
  return r;
}

const addr16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const ipv6Repr: fc.Arbitrary<Ipv6EmitRepr> = fc.record({
  trafficClass: fc.integer({ min: 0, max: 255 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  payloadLength: fc.integer({ min: 0, max: 300 }),
  nextHeader: fc.integer({ min: 0, max: 255 }),
  hopLimit: fc.integer({ min: 0, max: 255 }),
  src: addr16,
  dst: addr16,
});

test("ipv6: emit → parse round trip for random headers at random offsets, link padding ignored", () => {
  fc.assert(
    fc.property(ipv6Repr, fc.nat(30), fc.nat(20), (repr, at, pad) => {
      const buf = new Uint8Array(at + 40 + repr.payloadLength + pad);
      assert.is(emitIpv6(repr, buf, at), 40);
      const r = ok(buf, at, buf.length - at);
      assert.equal(r, {
        trafficClass: repr.trafficClass,
        flowLabel: repr.flowLabel,
        nextHeader: repr.nextHeader,
        hopLimit: repr.hopLimit,
        srcOffset: at + 8,
        dstOffset: at + 24,
        payloadOffset: at + 40,
        payloadLength: repr.payloadLength,
      });
      assert.is(toHex(buf.subarray(at + 8, at + 24)), toHex(repr.src));
      assert.is(toHex(buf.subarray(at + 24, at + 40)), toHex(repr.dst));
      const v = new Ipv6View(buf, at);
      assert.is(v.version, 6);
      assert.is(v.flowLabel, repr.flowLabel);
      assert.is(v.trafficClass, repr.trafficClass);
    }),
    { numRuns: 500 },
  );
});

test("ipv6: captured frames' fixed headers parse and re-emit byte for byte", () => {
  for (
    const f of [ECHO_REQUEST6, UDP6_DATAGRAM, FRAGMENT_0, FRAGMENT_2, MLDV2_REPORT_UNSPECIFIED]
  ) {
    const r = ok(f, 14, f.length - 14);
    const out = new Uint8Array(40);
    emitIpv6({ ...r, src: f, srcOffset: r.srcOffset, dst: f, dstOffset: r.dstOffset }, out, 0);
    assert.is(toHex(out), toHex(f.subarray(14, 54)));
  }
  const e = ok(ECHO_REQUEST6, 14, ECHO_REQUEST6.length - 14);
  assert.is(e.flowLabel, 0x1cddf);
  assert.is(e.nextHeader, NextHeader.ICMPV6);
  assert.is(e.hopLimit, 64);
  assert.is(formatIpv6(ECHO_REQUEST6, e.srcOffset), "2001:db8::1");
  assert.is(formatIpv6(ECHO_REQUEST6, e.dstOffset), "2001:db8::2");
});

test("ipv6.truncated / bad_version / bad_payload_length", () => {
  const f = ECHO_REQUEST6.slice(14);
  assert.is(parseIpv6(f, 0, 39), "ipv6.truncated");
  const v4 = f.slice();
  v4[0] = 0x45;
  assert.is(parseIpv6(v4, 0, v4.length), "ipv6.bad_version");
  assert.is(parseIpv6(f, 0, f.length - 1), "ipv6.bad_payload_length");
  // Payload length 0 is legal (e.g. No Next Header).
  const empty = new Uint8Array(40);
  emitIpv6(
    {
      trafficClass: 0,
      flowLabel: 0,
      payloadLength: 0,
      nextHeader: NextHeader.NO_NEXT_HEADER,
      hopLimit: 1,
      src: IPV6_LOOPBACK,
      dst: IPV6_LOOPBACK,
    },
    empty,
    0,
  );
  assert.is(ok(empty, 0, 40).payloadLength, 0);
  assert.throws(() => parseIpv6(f, 10, f.length), (e: unknown) => e instanceof RangeError);
});

test("K5: IPv6 pseudo-header sum — the WASM-routed path, the split path and the reference agree", () => {
  fc.assert(
    fc.property(addr16, addr16, fc.nat(0xfffff), fc.nat(255), (s, d, len, nh) => {
      const hdr = new Uint8Array(40);
      hdr.set(s, 8);
      hdr.set(d, 24);
      const ref = refIpv6PseudoSum(s, 0, d, 0, len, nh);
      assert.is(ipv6PseudoSum(hdr, 8, hdr, 24, len, nh), ref);
      assert.is(ipv6PseudoSum(s, 0, d, 0, len, nh), ref);
    }),
    { numRuns: 500 },
  );
});

test("U4 (IPv6): captured UDP datagram verifies, re-emits byte for byte; zero checksum is a drop", () => {
  const f = UDP6_DATAGRAM;
  const ip = ok(f, 14, f.length - 14);
  const ph = { src: f, srcOffset: ip.srcOffset, dst: f, dstOffset: ip.dstOffset };
  const r = parseUdp6(f, ip.payloadOffset, ip.payloadLength, ph);
  if (typeof r === "string") throw new Error(r);
  assert.is(r.srcPort, 36100);
  assert.is(r.dstPort, 9);
  assert.is(
    new TextDecoder().decode(f.subarray(r.payloadOffset, r.payloadOffset + r.payloadLength)),
    "hello\n",
  );
  const copy = f.slice();
  copy.fill(0, ip.payloadOffset, ip.payloadOffset + 8);
  emitUdp6(r, copy, ip.payloadOffset, { ...ph, src: copy, dst: copy });
  assert.is(toHex(copy), toHex(f));
  const zero = f.slice();
  zero[ip.payloadOffset + 6] = 0;
  zero[ip.payloadOffset + 7] = 0;
  assert.is(
    parseUdp6(zero, ip.payloadOffset, ip.payloadLength, { ...ph, src: zero, dst: zero }),
    "udp.zero_checksum",
  );
  const bad = f.slice();
  bad[bad.length - 1]! ^= 1;
  assert.is(
    parseUdp6(bad, ip.payloadOffset, ip.payloadLength, { ...ph, src: bad, dst: bad }),
    "udp.bad_checksum",
  );
});

test("ipv6 fragment header: captured fragments parse; emit re-creates them byte for byte", () => {
  const expect = [[0, true], [1448, true], [2896, false]] as const;
  [FRAGMENT_0, FRAGMENT_1, FRAGMENT_2].forEach((f, i) => {
    const ip = ok(f, 14, f.length - 14);
    assert.is(ip.nextHeader, NextHeader.FRAGMENT);
    const r = parseIpv6Fragment(f, ip.payloadOffset, ip.payloadLength);
    if (typeof r === "string") throw new Error(r);
    assert.is(r.fragmentOffset, expect[i]![0]);
    assert.is(r.moreFragments, expect[i]![1]);
    assert.is(r.identification, 0xa73a7a0f);
    assert.is(r.nextHeader, NextHeader.ICMPV6);
    const out = new Uint8Array(8);
    emitIpv6Fragment(r, out, 0);
    assert.is(toHex(out), toHex(f.subarray(ip.payloadOffset, ip.payloadOffset + 8)));
    const w = new Ipv6Walk();
    assert.is(
      walkIpv6Headers(
        f,
        ip.nextHeader,
        ip.payloadOffset,
        ip.payloadOffset + ip.payloadLength,
        true,
        20,
        w,
      ),
      WalkStatus.FRAGMENT,
    );
    assert.is(w.fragmentOffset, r.fragmentOffset);
  });
  assert.is(parseIpv6Fragment(new Uint8Array(7), 0, 7), "ipv6.bad_fragment_header");
});

test("ipv6 hop-by-hop: captured MLDv2 report's Router Alert is seen and its header re-emits byte for byte", () => {
  const f = MLDV2_REPORT_UNSPECIFIED;
  const ip = ok(f, 14, f.length - 14);
  assert.is(ip.nextHeader, NextHeader.HOP_BY_HOP);
  const w = new Ipv6Walk();
  const end = ip.payloadOffset + ip.payloadLength;
  assert.is(walkIpv6Headers(f, 0, ip.payloadOffset, end, true, 20, w), WalkStatus.UPPER);
  assert.is(w.nextHeader, NextHeader.ICMPV6);
  assert.is(w.routerAlert, 0); // MLD (RFC 2711)
  assert.is(w.offset, ip.payloadOffset + 8);
  const h = parseIpv6ExtHeader(f, ip.payloadOffset, ip.payloadLength);
  if (typeof h === "string") throw new Error(h);
  assert.is(h.length, 8);
  const out = new Uint8Array(8);
  emitIpv6Options(58, [{ type: 5, data: new Uint8Array([0, 0]) }], out, 0);
  assert.is(toHex(out), toHex(f.subarray(ip.payloadOffset, ip.payloadOffset + 8)));
});

/** A chain of headers: [nh, body…] built by hand into a buffer; returns the walk. */
function walk(bytes: number[], firstNh: number, first = true): Ipv6Walk {
  const b = new Uint8Array(bytes);
  const w = new Ipv6Walk();
  walkIpv6Headers(b, firstNh, 0, b.length, first, 1000, w);
  return w;
}

test("RFC 8200 §4.2: unknown options by their action bits — skip, discard, Parameter Problem (always / unless multicast)", () => {
  // Destination options: type with action bits, 1 byte of data, then PadN(2) to 8.
  const mk = (type: number) => walk([17, 0, type, 1, 0xaa, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 60);
  const skip = mk(0x1e);
  assert.is(skip.status, WalkStatus.UPPER);
  assert.is(skip.nextHeader, 17);
  const discard = mk(0x5e);
  assert.is(discard.status, WalkStatus.DROP);
  assert.is(discard.reason, "ipv6.unknown_option");
  const always = mk(0x9e);
  assert.is(always.status, WalkStatus.PARAM_PROBLEM);
  assert.is(always.icmpCode, ParamProblemCode.UNRECOGNIZED_OPTION);
  assert.is(always.icmpPointer, 2);
  assert.ok(always.icmpEvenIfMulticast);
  const unlessMc = mk(0xde);
  assert.is(unlessMc.status, WalkStatus.PARAM_PROBLEM);
  assert.not.ok(unlessMc.icmpEvenIfMulticast);
  // Jumbo Payload (0xC2) is unknown to us: action 11.
  const jumbo = walk([59, 0, 0xc2, 4, 0, 1, 0, 0], 0);
  assert.is(jumbo.status, WalkStatus.PARAM_PROBLEM);
  assert.not.ok(jumbo.icmpEvenIfMulticast);
});

test("RFC 4942 / option floods: > 7 bytes of padding, non-zero PadN, > 8 options are dropped", () => {
  assert.is(walk([17, 1, ...new Array(14).fill(0)], 60).reason, "ipv6.bad_padding"); // 14 × Pad1
  assert.is(walk([17, 1, 1, 12, ...new Array(12).fill(0)], 60).reason, "ipv6.bad_padding");
  assert.is(walk([17, 0, 1, 4, 0, 1, 0, 0], 60).reason, "ipv6.bad_padding");
  // 6 bytes of padding is fine.
  assert.is(walk([17, 0, 1, 4, 0, 0, 0, 0], 60).status, WalkStatus.UPPER);
  // Nine skippable options (type 0x1e, empty) in 24 bytes.
  const nine = [17, 2, ...new Array(9).fill([0x1e, 0]).flat(), 0, 0, 0, 0];
  assert.is(walk(nine, 60).reason, "ipv6.too_many_options");
  const eight = [17, 2, ...new Array(8).fill([0x1e, 0]).flat(), 1, 4, 0, 0, 0, 0];
  assert.is(walk(eight, 60).status, WalkStatus.UPPER);
  // An option running past its header.
  assert.is(walk([17, 0, 0x1e, 9, 0, 0, 0, 0], 60).reason, "ipv6.bad_option");
  const w = new Ipv6Walk();
  assert.is(scanOptions(new Uint8Array([0x1e]), 0, 1, w, false), WalkStatus.DROP);
});

test("RFC 8200 §4.3: hop-by-hop anywhere but first draws Parameter Problem code 1 at the Next Header field", () => {
  // Destination options (nh = 0 → HBH) then HBH.
  const w = walk([0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0], 60);
  assert.is(w.status, WalkStatus.PARAM_PROBLEM);
  assert.is(w.reason, "ipv6.hbh_not_first");
  assert.is(w.icmpCode, ParamProblemCode.UNRECOGNIZED_NEXT_HEADER);
  assert.is(w.icmpPointer, 0);
  assert.is(walk([17, 0, 1, 4, 0, 0, 0, 0], 0, false).reason, "ipv6.hbh_not_first");
});

test("RFC 5095: a type 0 routing header with segments left is refused; segments left 0 is ignored", () => {
  const rh0 = walk([17, 2, 0, 1, 0, 0, 0, 0, ...new Array(16).fill(0)], 43);
  assert.is(rh0.status, WalkStatus.PARAM_PROBLEM);
  assert.is(rh0.reason, "ipv6.routing_type0");
  assert.is(rh0.icmpCode, ParamProblemCode.ERRONEOUS_HEADER);
  assert.is(rh0.icmpPointer, 2);
  const srh = walk([17, 2, 4, 1, 0, 0, 0, 0, ...new Array(16).fill(0)], 43);
  assert.is(srh.reason, "ipv6.routing_segments_left");
  const done = walk([17, 2, 0, 0, 0, 0, 0, 0, ...new Array(16).fill(0)], 43);
  assert.is(done.status, WalkStatus.UPPER);
  assert.is(done.nextHeader, 17);
  assert.is(done.offset, 24);
});

test("ipv6 ext: truncation and chain-length limits never read past the payload", () => {
  assert.is(walk([17, 1, 1, 4, 0, 0, 0, 0], 60).reason, "ipv6.ext_truncated");
  assert.is(walk([17, 0, 1], 60).reason, "ipv6.ext_truncated");
  // 17 destination options headers in a row.
  const chain: number[] = [];
  for (let i = 0; i < 17; i++) chain.push(60, 0, 1, 4, 0, 0, 0, 0);
  assert.is(walk(chain, 60).reason, "ipv6.too_many_ext_headers");
  assert.is(
    parseIpv6ExtHeader(new Uint8Array([17, 1, 0, 0, 0, 0, 0, 0]), 0, 8),
    "ipv6.ext_truncated",
  );
});

test("ipv6 ext: emitIpv6Options pads with Pad1/PadN to 8 bytes and the walker accepts the result", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ type: fc.integer({ min: 2, max: 0x3f }), len: fc.nat(6) }), {
        maxLength: 8,
      }),
      (opts) => {
        const options = opts.filter((o) => o.type !== 5).map((o) => ({
          type: o.type,
          data: new Uint8Array(o.len).fill(7),
        }));
        const b = new Uint8Array(2048);
        const n = emitIpv6Options(17, options, b, 0);
        assert.is(n % 8, 0);
        const w = new Ipv6Walk();
        assert.is(walkIpv6Headers(b, 60, 0, n, true, 0, w), WalkStatus.UPPER, `${w.reason}`);
        assert.is(w.offset, n);
      },
    ),
  );
});

test("ipv6: view edits in place", () => {
  const b = new Uint8Array(40);
  const v = new Ipv6View(b, 0);
  v.setVersion();
  v.flowLabel = 0xabcde;
  v.trafficClass = 0xb8;
  v.payloadLength = 1232;
  v.nextHeader = 17;
  v.hopLimit = 255;
  const r = ok(new Uint8Array([...b, ...new Uint8Array(1232)]), 0, 1272);
  assert.is(r.flowLabel, 0xabcde);
  assert.is(r.trafficClass, 0xb8);
  assert.is(r.hopLimit, 255);
  assert.is(formatIpv6(b, v.srcOffset), "::");
  assert.is(formatIpv6(parseIpv6Address("2001:db8::1")), "2001:db8::1");
});
