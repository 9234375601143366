import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { checksum, finishChecksum, ipv4PseudoSum } from "../../src/wasm/checksum.ts";
import { parseIpv4 as parseAddr } from "../../src/wire/addr.ts";
import { type Ipv4Repr, parseIpv4 } from "../../src/wire/ipv4.ts";
import { emitUdp, parseUdp, UDP_HEADER_LENGTH, UdpView } from "../../src/wire/udp.ts";
import { bytes, pseudo, u16 } from "./_arbitraries.ts";
import { flip, toHex, UDP_DATAGRAM } from "./_frames.ts";

function ipOf(frame: Uint8Array): Ipv4Repr {
  const ip = parseIpv4(frame, 14, frame.length - 14);
  if (typeof ip === "string") throw new Error(ip);
  return ip;
}

test("udp: emit → parse round trip; IP payload past the UDP length is ignored", () => {
  fc.assert(
    fc.property(
      pseudo,
      u16,
      u16,
      bytes(300),
      fc.nat(30),
      fc.nat(8),
      (ip, sp, dp, data, at, extra) => {
        const buf = new Uint8Array(at + UDP_HEADER_LENGTH + data.length + extra);
        buf.set(data, at + UDP_HEADER_LENGTH);
        const n = emitUdp({ srcPort: sp, dstPort: dp, payloadLength: data.length }, buf, at, ip);
        assert.is(n, UDP_HEADER_LENGTH);
        assert.is.not(new UdpView(buf, at).checksum, 0); // U4: never sent as "no checksum"
        const r = parseUdp(buf, at, buf.length - at, ip);
        assert.equal(r, {
          srcPort: sp,
          dstPort: dp,
          hasChecksum: true,
          payloadOffset: at + UDP_HEADER_LENGTH,
          payloadLength: data.length,
        });
      },
    ),
    { seed: testSeed(), numRuns: 1000 },
  );
});

test("udp: captured Linux datagram verifies and re-emits byte for byte (checksum 0xbbf6)", () => {
  const ip = ipOf(UDP_DATAGRAM);
  const r = parseUdp(UDP_DATAGRAM, ip.payloadOffset, ip.payloadLength, ip);
  assert.equal(r, {
    srcPort: 59241,
    dstPort: 9999,
    hasChecksum: true,
    payloadOffset: 42,
    payloadLength: 8,
  });
  assert.is(new TextDecoder().decode(UDP_DATAGRAM.subarray(42, 50)), "netwasm\n");
  const out = UDP_DATAGRAM.slice();
  out.fill(0, 34, 42);
  emitUdp({ srcPort: 59241, dstPort: 9999, payloadLength: 8 }, out, 34, ip);
  assert.is(toHex(out), toHex(UDP_DATAGRAM));
  assert.is(ip.src, parseAddr("192.0.2.1"));
});

test("U4: a computed zero UDP checksum is sent as 0xffff, and 0xffff verifies", () => {
  const ip = { src: parseAddr("192.0.2.1"), dst: parseAddr("192.0.2.2") };
  const b = new Uint8Array(8 + 4);
  // Make the last data word equal the checksum computed with it zero: the
  // datagram then sums to 0xffff, i.e. its checksum is 0.
  emitUdp({ srcPort: 1234, dstPort: 5678, payloadLength: 4 }, b, 0, ip);
  b.set([b[6]!, b[7]!], 10);
  b[6] = 0;
  b[7] = 0;
  assert.is(finishChecksum(checksum(b, 0, 12, ipv4PseudoSum(ip.src, ip.dst, 17, 12))), 0);
  emitUdp({ srcPort: 1234, dstPort: 5678, payloadLength: 4 }, b, 0, ip);
  assert.is(new UdpView(b).checksum, 0xffff);
  const r = parseUdp(b, 0, b.length, ip);
  assert.ok(typeof r !== "string" && r.hasChecksum);
});

test("U4: checksum 0 on receive means none was sent: accepted, reported as hasChecksum false", () => {
  const ip = ipOf(UDP_DATAGRAM);
  const b = UDP_DATAGRAM.slice();
  b[40] = 0;
  b[41] = 0;
  const r = parseUdp(b, ip.payloadOffset, ip.payloadLength, ip);
  assert.ok(typeof r !== "string" && !r.hasChecksum && r.payloadLength === 8);
  // And emit can leave it out on request.
  emitUdp({ srcPort: 1, dstPort: 2, payloadLength: 8 }, b, 34, ip, { checksum: false });
  assert.is(new UdpView(b, 34).checksum, 0);
});

test("U4: a non-zero wrong checksum is dropped (udp.bad_checksum), unless verification is off", () => {
  const ip = ipOf(UDP_DATAGRAM);
  const b = UDP_DATAGRAM.slice();
  flip(b, 45, 4);
  assert.is(parseUdp(b, ip.payloadOffset, ip.payloadLength, ip), "udp.bad_checksum");
  assert.ok(
    typeof parseUdp(b, ip.payloadOffset, ip.payloadLength, ip, { verifyChecksum: false }) !==
      "string",
  );
  // The pseudo-header counts: the same bytes "from" another address do not verify.
  const c = UDP_DATAGRAM.slice();
  assert.is(parseUdp(c, 34, 16, { ...ip, src: ip.src + 1 }), "udp.bad_checksum");
});

test("udp.truncated: IP payload shorter than 8 bytes", () => {
  for (let n = 0; n < 8; n++) {
    assert.is(parseUdp(UDP_DATAGRAM, 34, n, ipOf(UDP_DATAGRAM)), "udp.truncated");
  }
});

test("udp.bad_length: UDP length < 8, or longer than the IP payload", () => {
  const ip = ipOf(UDP_DATAGRAM);
  for (const len of [0, 7, 17, 0xffff]) {
    const b = UDP_DATAGRAM.slice();
    new UdpView(b, 34).length = len;
    assert.is(parseUdp(b, 34, 16, ip), "udp.bad_length", `length ${len}`);
  }
  // The IP payload was cut short under a correct UDP header.
  assert.is(parseUdp(UDP_DATAGRAM, 34, 15, ip), "udp.bad_length");
});

test("udp: view reads and writes fields in place", () => {
  const v = new UdpView(new Uint8Array(12)).at(4);
  v.srcPort = 53;
  v.dstPort = 40000;
  v.length = 8;
  v.checksum = 0xabcd;
  assert.equal([v.srcPort, v.dstPort, v.length, v.checksum], [53, 40000, 8, 0xabcd]);
  assert.is(toHex(v.u8), "0000000000359c400008abcd");
});

test("udp: caller bugs are RangeErrors", () => {
  assert.throws(() => parseUdp(new Uint8Array(8), 0, 9, { src: 0, dst: 0 }), RangeError);
  assert.throws(
    () =>
      emitUdp({ srcPort: 1, dstPort: 2, payloadLength: 1 }, new Uint8Array(8), 0, {
        src: 0,
        dst: 0,
      }),
    RangeError,
  );
});
