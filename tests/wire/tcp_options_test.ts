import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import {
  clampWindowScale,
  effectiveMss,
  emitTcpOptions,
  maxSackBlocks,
  NO_TCP_OPTIONS,
  parseTcpOptions,
  TCP_DEFAULT_MSS,
  TCP_MAX_OPTIONS_LENGTH,
  TcpOptionKind,
  type TcpOptions,
  tcpOptionsLength,
} from "../../src/wire/tcp_options.ts";
import { tcpOptions } from "./_arbitraries.ts";
import { hex, TCP_DATA, TCP_SYN, toHex } from "./_frames.ts";

function opts(...b: number[]): TcpOptions | string {
  return parseTcpOptions(new Uint8Array(b), 0, b.length);
}

function optsOk(...b: number[]): TcpOptions {
  const r = opts(...b);
  if (typeof r === "string") throw new Error(`unexpected ${r}`);
  return r;
}

test("MUST-69: emitted options are whole 32-bit words (no padding needed) and parse back", () => {
  fc.assert(
    fc.property(tcpOptions, fc.nat(7), (o, at) => {
      const len = tcpOptionsLength(o);
      assert.is(len % 4, 0);
      assert.ok(len <= TCP_MAX_OPTIONS_LENGTH);
      const buf = new Uint8Array(at + len + 3).fill(0xee);
      assert.is(emitTcpOptions(o, buf, at), len);
      assert.is(buf[at + len], 0xee, "wrote past the computed length");
      assert.equal(parseTcpOptions(buf, at, len), { ...o });
    }),
    { seed: testSeed(), numRuns: 2000 },
  );
});

test("tcp options: Linux's SYN option block is reproduced byte for byte (canonical order)", () => {
  const captured = TCP_SYN.subarray(54, 74); // after Ethernet, IPv4 and the fixed TCP header
  assert.is(toHex(captured), "020405b40402080a6337b190000000000103030a");
  const o = optsOk(...captured);
  assert.equal({ ...o }, {
    mss: 1460,
    windowScale: 10,
    sackPermitted: true,
    tsVal: 1664594320,
    tsEcr: 0,
    sackBlocks: null,
  });
  const out = new Uint8Array(20);
  assert.is(emitTcpOptions(o, out, 0), 20);
  assert.is(toHex(out), toHex(captured));
  // Timestamps without SACK-permitted: NOP NOP TS, as in the captured data segment.
  const data = TCP_DATA.subarray(54, 66);
  const d = optsOk(...data);
  const out2 = new Uint8Array(12);
  emitTcpOptions(d, out2, 0);
  assert.is(toHex(out2), toHex(data));
  // SACK-permitted alone, window scale, SACK blocks: NOP-aligned words.
  const out3 = new Uint8Array(28);
  const n = emitTcpOptions(
    { ...NO_TCP_OPTIONS, sackPermitted: true, windowScale: 7, sackBlocks: [1, 2, 0xfffffff0, 5] },
    out3,
    0,
  );
  assert.is(n, 4 + 4 + 4 + 16);
  assert.is(
    toHex(out3),
    "01010402" + "01030307" + "01010512" + "00000001" + "00000002" + "fffffff0" + "00000005",
  );
});

test("MUST-4: EOL, NOP and MSS are understood", () => {
  assert.is(optsOk(1, 1, 2, 4, 0x02, 0x18, 0, 0).mss, 536);
  assert.is(optsOk(0, 2, 4, 5, 0xb4).mss, null); // EOL first: the MSS after it is padding
});

test("MUST-6: unknown options are skipped by their length, later options still read", () => {
  const o = optsOk(
    ...[30, 4, 0xab, 0xcd], // MPTCP-ish
    ...[34, 10, 1, 2, 3, 4, 5, 6, 7, 8], // TCP Fast Open cookie
    ...[19, 2], // an empty (unknown here) option
    ...[254, 6, 0xf9, 0x89, 0, 0], // experimental (RFC 6994)
    ...[2, 4, 0x05, 0x78],
  );
  assert.is(o.mss, 1400);
});

test("MUST-7: zero-length option is malformed, no loop", () => {
  assert.is(opts(30, 0), "tcp.bad_option");
  assert.is(opts(1, 1, 99, 0, 1, 1, 1, 1), "tcp.bad_option");
  // A known kind with length 0 too.
  assert.is(opts(2, 0, 0, 0), "tcp.bad_option");
});

test("MUST-7: length-1 option is malformed (it would cut its own length byte)", () => {
  assert.is(opts(30, 1, 1, 1), "tcp.bad_option");
  assert.is(opts(8, 1), "tcp.bad_option");
});

test("MUST-7: an option running past the header is malformed", () => {
  assert.is(opts(30, 5, 0, 0), "tcp.bad_option");
  assert.is(opts(2, 4, 5), "tcp.bad_option");
  assert.is(opts(8, 10, 0, 0, 0, 0, 0, 0, 0), "tcp.bad_option");
});

test("MUST-68: a kind other than EOL/NOP at the last byte has no length: malformed", () => {
  assert.is(opts(1, 1, 1, 2), "tcp.bad_option");
  assert.is(opts(1, 1, 1, 200), "tcp.bad_option"); // future kinds too
});

test("MUST-64: options are processed when not word-aligned", () => {
  const o = optsOk(1, 2, 4, 0x05, 0xb4, 3, 3, 6, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7, 4, 2, 1, 1);
  assert.equal([o.mss, o.windowScale, o.tsVal, o.tsEcr, o.sackPermitted], [1460, 6, 9, 7, true]);
});

test("MUST-69: bytes after EOL are padding and are not interpreted, even if not zero", () => {
  const o = optsOk(2, 4, 1, 0, 0, 30, 0, 0xff); // junk after EOL would be malformed if read
  assert.is(o.mss, 256);
});

test("tcp options: known kinds with the wrong length are malformed", () => {
  const bad: number[][] = [
    [2, 3, 5, 1],
    [2, 5, 5, 0xb4, 0],
    [3, 2, 1, 1],
    [3, 4, 7, 0],
    [4, 3, 0, 1],
    [8, 9, 0, 0, 0, 0, 0, 0, 0, 1],
    [8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [5, 2, 1, 1],
    [5, 9, 0, 0, 0, 0, 0, 0, 0],
    [5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  ];
  for (const b of bad) assert.is(opts(...b), "tcp.bad_option", JSON.stringify(b));
  // Five SACK blocks (42 bytes) cannot be valid even in a longer range.
  const five = [5, 42, ...new Array(40).fill(0)];
  assert.is(opts(...five), "tcp.bad_option");
});

test("tcp options: SACK blocks 1–4 are returned as flat [left, right] pairs", () => {
  for (let n = 1; n <= 4; n++) {
    const b = [5, 2 + 8 * n];
    const want: number[] = [];
    for (let i = 0; i < 2 * n; i++) {
      const v = (0x80000000 + i * 0x01010101) >>> 0;
      want.push(v);
      b.push(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
    }
    assert.equal(optsOk(...b).sackBlocks, want);
  }
});

test("tcp options: a repeated option — the last one wins (like Linux)", () => {
  assert.is(optsOk(2, 4, 0, 100, 2, 4, 0, 200).mss, 200);
  assert.is(optsOk(3, 3, 1, 3, 3, 2).windowScale, 2);
});

test("tcp options: MSS 0 is reported as 0; effectiveMss treats it as absent (536)", () => {
  assert.is(optsOk(2, 4, 0, 0).mss, 0);
  assert.is(effectiveMss(0), TCP_DEFAULT_MSS);
  assert.is(effectiveMss(null), 536);
  assert.is(effectiveMss(1), 1);
  assert.is(effectiveMss(8960), 8960);
});

test("W2: window scale > 14 is reported as is; clampWindowScale uses 14", () => {
  assert.is(optsOk(1, 3, 3, 15).windowScale, 15);
  assert.is(optsOk(1, 3, 3, 255).windowScale, 255);
  assert.is(clampWindowScale(15), 14);
  assert.is(clampWindowScale(255), 14);
  assert.is(clampWindowScale(14), 14);
  assert.is(clampWindowScale(0), 0);
});

test("tcp options: none, or only NOP/EOL/unknown, gives the shared NO_TCP_OPTIONS", () => {
  assert.is(opts(), NO_TCP_OPTIONS);
  assert.is(opts(1, 1, 1, 1), NO_TCP_OPTIONS);
  assert.is(opts(0, 0, 0, 0), NO_TCP_OPTIONS);
  assert.is(opts(30, 2, 1, 0), NO_TCP_OPTIONS);
  assert.ok(Object.isFrozen(NO_TCP_OPTIONS));
  assert.is(tcpOptionsLength(NO_TCP_OPTIONS), 0);
});

test("tcp options: maxSackBlocks leaves room for the rest (RFC 2018: 3 with timestamps)", () => {
  assert.is(maxSackBlocks(NO_TCP_OPTIONS), 4);
  assert.is(maxSackBlocks({ ...NO_TCP_OPTIONS, tsVal: 1 }), 3);
  assert.is(maxSackBlocks({ ...NO_TCP_OPTIONS, tsVal: 1, mss: 1, windowScale: 1 }), 2);
});

test("tcp options: kind constants and a hex vector for SACK-permitted + TS", () => {
  assert.is(TcpOptionKind.SACK, 5);
  const o = optsOk(...hex("0402080a0000000100000002"));
  assert.equal([o.sackPermitted, o.tsVal, o.tsEcr], [true, 1, 2]);
});

test("tcp options: a range outside the buffer is a RangeError", () => {
  assert.throws(() => parseTcpOptions(new Uint8Array(4), 2, 4), RangeError);
});
