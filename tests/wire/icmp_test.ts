import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { parseIpv4 as parseAddr } from "../../src/wire/addr.ts";
import { checksum, finishChecksum } from "../../src/wasm/checksum.ts";
import { get16, set16 } from "../../src/wire/bytes.ts";
import {
  emitIcmp,
  ICMP_HEADER_LENGTH,
  type IcmpRepr,
  IcmpTimeExceededCode,
  IcmpType,
  IcmpUnreachableCode,
  parseIcmp,
  parseIcmpQuote,
} from "../../src/wire/icmp.ts";
import { IpProtocol } from "../../src/wire/ipv4.ts";
import { icmpMessage } from "./_arbitraries.ts";
import {
  flip,
  ICMP_ECHO_REQUEST,
  ICMP_FRAG_NEEDED,
  ICMP_PORT_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  toHex,
} from "./_frames.ts";

/** The ICMP message inside a captured frame (Ethernet + 20-byte IPv4 header). */
function icmpOf(frame: Uint8Array): Uint8Array {
  return frame.slice(34);
}

function parseOk(b: Uint8Array): IcmpRepr {
  const r = parseIcmp(b, 0, b.length);
  if (typeof r === "string") throw new Error(`unexpected drop ${r}`);
  return r;
}

/** Build a message with emitIcmp (so the checksum is right) around `data`. */
function build(repr: Parameters<typeof emitIcmp>[0], data: Uint8Array): Uint8Array {
  const b = new Uint8Array(ICMP_HEADER_LENGTH + data.length);
  b.set(data, ICMP_HEADER_LENGTH);
  emitIcmp(repr, b, 0);
  return b;
}

test("icmp: emit → parse round trip for every message kind", () => {
  fc.assert(
    fc.property(icmpMessage, fc.nat(30), ({ repr, data }, at) => {
      const buf = new Uint8Array(at + ICMP_HEADER_LENGTH + data.length + 5);
      buf.set(data, at + ICMP_HEADER_LENGTH);
      assert.is(emitIcmp(repr, buf, at), ICMP_HEADER_LENGTH);
      const r = parseIcmp(buf, at, ICMP_HEADER_LENGTH + data.length);
      assert.equal(r, { ...repr, payloadOffset: at + ICMP_HEADER_LENGTH });
    }),
    { seed: testSeed(), numRuns: 1000 },
  );
});

test("icmp: captured echo request parses and re-emits byte for byte (checksum 0x9e1c)", () => {
  const b = icmpOf(ICMP_ECHO_REQUEST);
  const r = parseOk(b);
  if (r.type !== IcmpType.ECHO_REQUEST) throw new Error("not an echo request");
  assert.equal([r.code, r.id, r.seq, r.payloadOffset, r.payloadLength], [0, 0x157e, 1, 8, 56]);
  const out = b.slice();
  out.fill(0, 0, 8);
  emitIcmp(r, out, 0);
  assert.is(toHex(out), toHex(b));
});

test("C3/C4: captured port unreachable quotes the UDP datagram; ports are readable", () => {
  const b = icmpOf(ICMP_PORT_UNREACHABLE);
  const r = parseOk(b);
  if (r.type !== IcmpType.DEST_UNREACHABLE) throw new Error("not unreachable");
  assert.is(r.code, IcmpUnreachableCode.PORT);
  const q = parseIcmpQuote(b, r.payloadOffset, r.payloadLength);
  if (typeof q === "string") throw new Error(q);
  assert.equal(
    [q.src, q.dst, q.protocol, q.fragmentOffset, q.totalLength],
    [parseAddr("192.0.2.1"), parseAddr("192.0.2.2"), IpProtocol.UDP, 0, 36],
  );
  assert.is(q.transportLength, 16);
  assert.is(get16(b, q.transportOffset), 59241);
  assert.is(get16(b, q.transportOffset + 2), 9999);
  const out = b.slice();
  out.fill(0, 0, 8);
  emitIcmp(r, out, 0);
  assert.is(toHex(out), toHex(b));
});

test("RFC 1191: captured frag-needed carries next-hop MTU 1280 and the original length", () => {
  const b = icmpOf(ICMP_FRAG_NEEDED);
  const r = parseOk(b);
  if (r.type !== IcmpType.DEST_UNREACHABLE) throw new Error("not unreachable");
  assert.is(r.code, IcmpUnreachableCode.FRAG_NEEDED);
  assert.is(r.nextHopMtu, 1280);
  const q = parseIcmpQuote(b, r.payloadOffset, r.payloadLength);
  if (typeof q === "string") throw new Error(q);
  assert.is(q.totalLength, 1428);
  assert.is(q.protocol, IpProtocol.ICMP);
  assert.is(q.dst, parseAddr("198.51.100.1"));
  assert.is(r.payloadLength, 576 - 28); // Linux quotes up to 576 bytes of IP in total
  const out = b.slice();
  out.fill(0, 0, 8);
  emitIcmp(r, out, 0);
  assert.is(toHex(out), toHex(b));
});

test("icmp: captured time exceeded (TTL in transit) parses", () => {
  const r = parseOk(icmpOf(ICMP_TIME_EXCEEDED));
  assert.is(r.type, IcmpType.TIME_EXCEEDED);
  assert.is(r.code, IcmpTimeExceededCode.TTL);
  assert.is(r.payloadLength, 84);
});

test("C6: source quench is parsed (so it can be counted and ignored)", () => {
  const quote = icmpOf(ICMP_PORT_UNREACHABLE).slice(8);
  const r = parseOk(
    build({ type: IcmpType.SOURCE_QUENCH, code: 0, payloadLength: quote.length }, quote),
  );
  assert.is(r.type, IcmpType.SOURCE_QUENCH);
});

test("icmp: redirect gateway and parameter-problem pointer are read from the header", () => {
  const quote = icmpOf(ICMP_PORT_UNREACHABLE).slice(8);
  const red = parseOk(
    build(
      { type: IcmpType.REDIRECT, code: 1, gateway: 0xc0000203, payloadLength: quote.length },
      quote,
    ),
  );
  assert.ok(red.type === IcmpType.REDIRECT && red.gateway === 0xc0000203);
  const pp = parseOk(
    build(
      { type: IcmpType.PARAMETER_PROBLEM, code: 0, pointer: 9, payloadLength: quote.length },
      quote,
    ),
  );
  assert.ok(pp.type === IcmpType.PARAMETER_PROBLEM && pp.pointer === 9);
});

test("icmp.truncated: fewer than 8 bytes", () => {
  const b = icmpOf(ICMP_ECHO_REQUEST);
  for (let n = 0; n < 8; n++) assert.is(parseIcmp(b, 0, n), "icmp.truncated");
});

test("icmp.bad_checksum: any flipped bit; skipped when verification is off", () => {
  const b = icmpOf(ICMP_ECHO_REQUEST);
  flip(b, 40, 0x10);
  assert.is(parseIcmp(b, 0, b.length), "icmp.bad_checksum");
  assert.ok(typeof parseIcmp(b, 0, b.length, { verifyChecksum: false }) !== "string");
  // A cut-short message no longer sums right either.
  const c = icmpOf(ICMP_ECHO_REQUEST);
  assert.is(parseIcmp(c, 0, c.length - 2), "icmp.bad_checksum");
});

test("C1: unknown and obsolete types are dropped (icmp.unsupported_type)", () => {
  for (const type of [1, 2, 9, 10, 13, 14, 15, 16, 17, 18, 30, 42, 255]) {
    const b = build(
      { type: IcmpType.ECHO_REQUEST, code: 0, id: 1, seq: 1, payloadLength: 0 },
      new Uint8Array(0),
    );
    b[0] = type;
    emitRawChecksum(b);
    assert.is(parseIcmp(b, 0, b.length), "icmp.unsupported_type", `type ${type}`);
  }
});

/** Fix the checksum of a hand-edited message (emit would rewrite the type-specific fields). */
function emitRawChecksum(b: Uint8Array): void {
  set16(b, 2, 0);
  set16(b, 2, finishChecksum(checksum(b, 0, b.length)));
}

test("C3: an error whose quote is not an IPv4 header + 8 octets is dropped (icmp.bad_quote)", () => {
  const good = icmpOf(ICMP_PORT_UNREACHABLE).slice(8); // 36 bytes: header + 16
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["header + 7", good.slice(0, 27)],
    ["version 6", Uint8Array.from(good, (x, i) => (i === 0 ? 0x65 : x))],
    ["IHL 4", Uint8Array.from(good, (x, i) => (i === 0 ? 0x44 : x))],
    ["IHL 8: 32 + 8 > 36", Uint8Array.from(good, (x, i) => (i === 0 ? 0x48 : x))],
  ];
  for (const [name, quote] of cases) {
    for (const type of [3, 4, 5, 11, 12] as const) {
      const b = new Uint8Array(8 + quote.length);
      b.set(quote, 8);
      b[0] = type;
      emitRawChecksum(b);
      assert.is(parseIcmp(b, 0, b.length), "icmp.bad_quote", `${name}, type ${type}`);
    }
    assert.is(parseIcmpQuote(quote, 0, quote.length), "icmp.bad_quote", name);
  }
  // Exactly header + 8 is enough; the quoted header's own checksum is not checked.
  const min = good.slice(0, 28);
  flip(min, 10, 0xff);
  assert.ok(typeof parseIcmpQuote(min, 0, 28) !== "string");
});

test("icmp: parseIcmpQuote reports a non-initial fragment's offset", () => {
  const q = icmpOf(ICMP_PORT_UNREACHABLE).slice(8);
  q[6] = 0x20; // MF
  q[7] = 0xb9; // offset 185 × 8
  const r = parseIcmpQuote(q, 0, q.length);
  assert.ok(typeof r !== "string" && r.fragmentOffset === 1480);
});

test("icmp: caller bugs are RangeErrors", () => {
  assert.throws(() => parseIcmp(new Uint8Array(8), 4, 8), RangeError);
  assert.throws(
    () => emitIcmp({ type: 8, code: 0, id: 0, seq: 0, payloadLength: 4 }, new Uint8Array(8), 0),
    RangeError,
  );
});
