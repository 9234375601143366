import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { type Ipv4Repr, parseIpv4 } from "../../src/wire/ipv4.ts";
import {
  emitTcp,
  parseTcp,
  TCP_HEADER_LENGTH,
  TcpFlags,
  tcpHeaderLength,
  type TcpRepr,
  TcpView,
} from "../../src/wire/tcp.ts";
import { NO_TCP_OPTIONS } from "../../src/wire/tcp_options.ts";
import { pseudo, tcpSegment } from "./_arbitraries.ts";
import { flip, TCP_DATA, TCP_RST_ACK, TCP_SYN, TCP_SYN_ACK, toHex } from "./_frames.ts";

function ipOf(frame: Uint8Array): Ipv4Repr {
  const ip = parseIpv4(frame, 14, frame.length - 14);
  if (typeof ip === "string") throw new Error(ip);
  return ip;
}

function tcpOf(frame: Uint8Array): TcpRepr {
  const ip = ipOf(frame);
  const r = parseTcp(frame, ip.payloadOffset, ip.payloadLength, ip);
  if (typeof r === "string") throw new Error(`unexpected drop ${r}`);
  return r;
}

/** Copy a captured frame, edit its TCP header, fix the TCP checksum. */
function edited(frame: Uint8Array, f: (v: TcpView, b: Uint8Array) => void): Uint8Array {
  const b = frame.slice();
  const ip = ipOf(b);
  const v = new TcpView(b, ip.payloadOffset);
  f(v, b);
  v.fillChecksum(ip, ip.payloadLength);
  return b;
}

function parseFrame(b: Uint8Array): TcpRepr | string {
  const ip = ipOf(b);
  return parseTcp(b, ip.payloadOffset, ip.payloadLength, ip);
}

/** Re-emit a parsed segment over a zeroed header and compare with the capture. */
function assertReEmits(frame: Uint8Array): void {
  const ip = ipOf(frame);
  const r = tcpOf(frame);
  const out = frame.slice();
  out.fill(0, ip.payloadOffset, r.payloadOffset);
  assert.is(emitTcp(r, out, ip.payloadOffset, ip), r.headerLength);
  assert.is(toHex(out), toHex(frame));
}

test("tcp: emit → parse round trip for random headers, options and data", () => {
  fc.assert(
    fc.property(tcpSegment, pseudo, fc.nat(30), ({ repr, data }, ip, at) => {
      const hl = tcpHeaderLength(repr.options);
      const buf = new Uint8Array(at + hl + data.length);
      buf.set(data, at + hl);
      assert.is(emitTcp(repr, buf, at, ip), hl);
      const r = parseTcp(buf, at, hl + data.length, ip);
      if (typeof r === "string") throw new Error(r);
      assert.equal({ ...r, options: { ...r.options } }, {
        ...repr,
        options: { ...repr.options },
        headerLength: hl,
        payloadOffset: at + hl,
      });
      assert.equal(buf.slice(at + hl), data);
    }),
    { seed: testSeed(), numRuns: 1000 },
  );
});

test("tcp: captured Linux SYN parses (checksum 0xd1a5) and re-emits byte for byte", () => {
  const r = tcpOf(TCP_SYN);
  assert.equal(
    [r.srcPort, r.dstPort, r.seq, r.ack, r.flags, r.window, r.urgentPointer, r.headerLength],
    [42678, 8080, 0xc1bc5a97, 0, TcpFlags.SYN, 64240, 0, 40],
  );
  assert.equal({ ...r.options }, {
    mss: 1460,
    windowScale: 10,
    sackPermitted: true,
    tsVal: 1664594320,
    tsEcr: 0,
    sackBlocks: null,
  });
  assert.is(r.payloadLength, 0);
  assertReEmits(TCP_SYN);
});

test("tcp: captured SYN-ACK, data segment and RST-ACK parse and re-emit byte for byte", () => {
  const sa = tcpOf(TCP_SYN_ACK);
  assert.is(sa.flags, TcpFlags.SYN | TcpFlags.ACK);
  assert.is(sa.ack, 0xc1bc5a98);
  assert.is(sa.options.tsEcr, 1664594320);
  assertReEmits(TCP_SYN_ACK);
  const d = tcpOf(TCP_DATA);
  assert.is(d.flags, TcpFlags.PSH | TcpFlags.ACK);
  assert.is(d.headerLength, 32);
  assert.is(d.payloadLength, 6);
  assert.is(new TextDecoder().decode(TCP_DATA.subarray(d.payloadOffset)), "hello\n");
  assert.equal([d.options.mss, d.options.tsVal, d.options.tsEcr], [null, 1664594320, 1841477257]);
  assertReEmits(TCP_DATA);
  const rst = tcpOf(TCP_RST_ACK);
  assert.is(rst.flags, TcpFlags.RST | TcpFlags.ACK);
  assert.is(rst.options, NO_TCP_OPTIONS);
  assertReEmits(TCP_RST_ACK);
});

test("tcp.truncated: fewer than 20 bytes", () => {
  const ip = ipOf(TCP_RST_ACK);
  for (let n = 0; n < 20; n++) assert.is(parseTcp(TCP_RST_ACK, 34, n, ip), "tcp.truncated");
});

test("tcp.bad_data_offset: data offset < 5 or beyond the segment", () => {
  for (const doff of [0, 1, 4]) {
    const b = edited(TCP_RST_ACK, (_v, b) => (b[46] = doff << 4));
    assert.is(parseFrame(b), "tcp.bad_data_offset", `doff ${doff}`);
  }
  const b = edited(TCP_RST_ACK, (v) => (v.headerLength = 24)); // 24 > 20 bytes present
  assert.is(parseFrame(b), "tcp.bad_data_offset");
  const syn = edited(TCP_SYN, (v) => (v.headerLength = 60));
  assert.is(parseFrame(syn), "tcp.bad_data_offset");
});

test("MUST-3: a segment with a bad checksum is dropped, unless verification is off", () => {
  const b = TCP_DATA.slice();
  flip(b, b.length - 1, 0x40); // one data bit
  assert.is(parseFrame(b), "tcp.bad_checksum");
  const ip = ipOf(b);
  assert.ok(typeof parseTcp(b, 34, ip.payloadLength, ip, { verifyChecksum: false }) !== "string");
  // The pseudo-header is covered: same bytes, other destination.
  assert.is(parseTcp(TCP_SYN, 34, 40, { ...ip, dst: ip.dst ^ 1 }), "tcp.bad_checksum");
});

test("MUST-7: a segment with a zero-length option is dropped (tcp.bad_option), no loop", () => {
  const b = edited(TCP_SYN, (_v, b) => b.set([30, 0], 54));
  assert.is(parseFrame(b), "tcp.bad_option");
  const c = edited(
    TCP_SYN,
    (_v, b) => b.set([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2], 54),
  );
  assert.is(parseFrame(c), "tcp.bad_option");
});

test("MUST-5: options are accepted in any segment (MSS on a plain ACK is parsed)", () => {
  const ip = { src: 1, dst: 2 };
  const b = new Uint8Array(24);
  emitTcp(
    {
      srcPort: 1,
      dstPort: 2,
      seq: 5,
      ack: 6,
      flags: TcpFlags.ACK,
      window: 100,
      urgentPointer: 0,
      options: { ...NO_TCP_OPTIONS, mss: 1000 },
      payloadLength: 0,
    },
    b,
    0,
    ip,
  );
  const r = parseTcp(b, 0, 24, ip);
  assert.ok(typeof r !== "string" && r.options.mss === 1000);
});

test("tcp: odd flag combinations (null, Xmas, SYN+FIN+RST) parse; the state machine judges", () => {
  for (const flags of [0, 0xff, TcpFlags.FIN | TcpFlags.PSH | TcpFlags.URG, 0x07]) {
    const b = edited(TCP_RST_ACK, (v) => (v.flags = flags));
    const r = parseFrame(b);
    assert.ok(typeof r !== "string" && r.flags === flags);
  }
});

test("tcp: reserved bits and AE next to the flags are ignored", () => {
  const b = edited(TCP_RST_ACK, (_v, b) => (b[46] = 0x5f));
  const r = parseFrame(b);
  assert.ok(typeof r !== "string" && r.headerLength === 20 && r.flags === 0x14);
});

test("tcp: view reads and writes every field; checksum helpers agree with parse", () => {
  const ip = { src: 0xc0000201, dst: 0xc0000202 };
  const b = new Uint8Array(26);
  const v = new TcpView(b).at(2);
  v.srcPort = 443;
  v.dstPort = 50000;
  v.seq = 0xfffffffe;
  v.ack = 0x80000000;
  v.headerLength = 24;
  v.flags = TcpFlags.SYN | TcpFlags.ECE | TcpFlags.CWR;
  v.window = 65535;
  v.urgentPointer = 7;
  b.set([1, 1, 1, 0], 22);
  v.fillChecksum(ip, 24);
  assert.ok(v.verifyChecksum(ip, 24));
  assert.equal(
    [v.srcPort, v.dstPort, v.seq, v.ack, v.headerLength, v.flags, v.window, v.urgentPointer],
    [443, 50000, 0xfffffffe, 0x80000000, 24, 0xc2, 65535, 7],
  );
  const r = parseTcp(b, 2, 24, ip);
  assert.ok(typeof r !== "string" && r.seq === 0xfffffffe && r.options === NO_TCP_OPTIONS);
  v.checksum = v.checksum ^ 1;
  assert.not.ok(v.verifyChecksum(ip, 24));
});

test("tcp: emit without checksum leaves 0 for offload; header length helper", () => {
  const b = new Uint8Array(20).fill(0xff);
  emitTcp(
    {
      srcPort: 1,
      dstPort: 2,
      seq: 0,
      ack: 0,
      flags: TcpFlags.SYN,
      window: 0,
      urgentPointer: 0,
      options: NO_TCP_OPTIONS,
      payloadLength: 0,
    },
    b,
    0,
    { src: 0, dst: 0 },
    { checksum: false },
  );
  assert.is(new TcpView(b).checksum, 0);
  assert.is(tcpHeaderLength(NO_TCP_OPTIONS), TCP_HEADER_LENGTH);
  assert.is(
    tcpHeaderLength({ ...NO_TCP_OPTIONS, mss: 1, sackPermitted: true, tsVal: 0, windowScale: 0 }),
    40,
  );
});

test("tcp: caller bugs are RangeErrors: options over 40 bytes, bad ranges", () => {
  const repr = {
    srcPort: 1,
    dstPort: 2,
    seq: 0,
    ack: 0,
    flags: TcpFlags.ACK,
    window: 0,
    urgentPointer: 0,
    options: { ...NO_TCP_OPTIONS, tsVal: 1, sackBlocks: [1, 2, 3, 4, 5, 6, 7, 8] },
    payloadLength: 0,
  };
  assert.throws(() => emitTcp(repr, new Uint8Array(100), 0, { src: 0, dst: 0 }), RangeError);
  assert.throws(
    () => emitTcp({ ...repr, options: NO_TCP_OPTIONS }, new Uint8Array(19), 0, { src: 0, dst: 0 }),
    RangeError,
  );
  assert.throws(() => parseTcp(new Uint8Array(20), 0, 21, { src: 0, dst: 0 }), RangeError);
});
