import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import type { TcpOptionSpec } from "../../src/testing/ast.ts";
import {
  arpFrame,
  encodeTcpOptions,
  icmpFrame,
  tcpFrame,
  tosOf,
  udpFrame,
} from "../../src/testing/packets.ts";
import { decodeFrame, decodeTcpOptions } from "../../src/testing/decode.ts";
import { parseArp } from "../../src/wire/arp.ts";
import { parseIcmp, parseIcmpQuote } from "../../src/wire/icmp.ts";
import { parseIpv4 } from "../../src/wire/ipv4.ts";
import { parseTcp } from "../../src/wire/tcp.ts";
import { parseUdp } from "../../src/wire/udp.ts";

const A = {
  srcMac: 0x020000000001,
  dstMac: 0x020000000002,
  srcIp: 0xc0000201,
  dstIp: 0xc0000202,
  ipId: 9,
};
const id = (n: number) => n;

function ip(frame: Uint8Array) {
  const r = parseIpv4(frame, 14, frame.length - 14);
  if (typeof r === "string") throw new Error(r);
  return r;
}

test("packets: an injected TCP segment is valid on the wire, options byte for byte (MUST-2 for the peer)", () => {
  const opts = encodeTcpOptions(
    [{ kind: "mss", value: 1460 }, { kind: "sackOK" }, { kind: "TS", val: 100, ecr: 0 }, {
      kind: "nop",
    }, {
      kind: "wscale",
      value: 7,
    }],
    id,
    id,
  );
  assert.type(opts, "object");
  const f = tcpFrame(A, {
    srcPort: 48000,
    dstPort: 8080,
    seq: 0xfffffff0,
    ack: 0,
    flags: 0x02,
    window: 65535,
    urgentPointer: 0,
    options: opts as Uint8Array,
    payload: new Uint8Array(0),
    badChecksum: false,
  });
  const i = ip(f);
  const t = parseTcp(f, i.payloadOffset, i.payloadLength, i);
  if (typeof t === "string") throw new Error(t);
  assert.is(t.seq, 0xfffffff0);
  assert.is(t.options.mss, 1460);
  assert.is(t.options.windowScale, 7);
  assert.is(t.options.tsVal, 100);
  assert.ok(t.options.sackPermitted);
  assert.is(t.headerLength, 20 + 20, "4 + 2 + 10 + 1 + 3 = 20 option bytes");
  assert.equal([...f.subarray(34 + 20, 34 + 24)], [2, 4, 0x05, 0xb4], "order as written");
});

test("packets: bad_csum really breaks the transport checksum (MUST-3 tests rely on it)", () => {
  for (let seq = 0; seq < 300; seq++) {
    const f = tcpFrame(A, {
      srcPort: 1,
      dstPort: 2,
      seq,
      ack: 0,
      flags: 0x10,
      window: 0,
      urgentPointer: 0,
      options: new Uint8Array(0),
      payload: new Uint8Array(seq % 7),
      badChecksum: true,
    });
    const i = ip(f);
    assert.is(parseTcp(f, i.payloadOffset, i.payloadLength, i), "tcp.bad_checksum", `seq ${seq}`);
    const u = udpFrame(A, 1, 2, new Uint8Array(seq % 5), true);
    const j = ip(u);
    assert.is(parseUdp(u, j.payloadOffset, j.payloadLength, j), "udp.bad_checksum", `udp ${seq}`);
  }
});

test("packets: options encode with translation, pad to 4n and refuse more than 40 bytes", () => {
  const b = encodeTcpOptions(
    [{ kind: "sack", blocks: [[1, 2]] }, { kind: "TS", val: 7, ecr: 3 }],
    (n) => n + 1000,
    (n) => n + 50,
  ) as Uint8Array;
  assert.is(b.length, 20);
  assert.equal(decodeTcpOptions(b, 0, b.length), [
    { kind: "sack", blocks: [[1001, 1002]] },
    { kind: "TS", val: 7, ecr: 53 },
  ]);
  const odd = encodeTcpOptions([{ kind: "wscale", value: 2 }], id, id) as Uint8Array;
  assert.equal([...odd], [3, 3, 2, 0], "padded with EOL");
  const tooLong = encodeTcpOptions(
    [{ kind: "sack", blocks: [[1, 2], [3, 4], [5, 6], [7, 8]] }, { kind: "TS", val: 1, ecr: 1 }],
    id,
    id,
  );
  assert.match(tooLong as string, /more than the 40/);
});

test("packets: decoding shows malformed, unknown and post-EOL option bytes instead of failing", () => {
  const cases: [number[], TcpOptionSpec[]][] = [
    [[1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6], [{ kind: "nop" }, { kind: "nop" }, {
      kind: "TS",
      val: 5,
      ecr: 6,
    }]],
    [[99, 4, 0, 0], [{ kind: "opt", code: 99, length: 4, data: null }]],
    [[99, 4, 1, 2], [{ kind: "opt", code: 99, length: 4, data: new Uint8Array([1, 2]) }]],
    [[2, 3, 0, 1], [{ kind: "opt", code: 2, length: 3, data: null }, { kind: "nop" }]],
    [[2, 3, 9, 1], [{ kind: "opt", code: 2, length: 3, data: new Uint8Array([9]) }, {
      kind: "nop",
    }]],
    [[2, 0, 1, 1], [{ kind: "raw", bytes: new Uint8Array([2, 0, 1, 1]) }]],
    [[8, 30, 0, 0], [{ kind: "raw", bytes: new Uint8Array([8, 30, 0, 0]) }]],
    [[1, 0, 0, 0], [{ kind: "nop" }, { kind: "eol" }]],
    [[0, 0, 7, 0], [{ kind: "eol" }, { kind: "raw", bytes: new Uint8Array([0, 7, 0]) }]],
    [[5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1], [{ kind: "sack", blocks: [[1, 2]] }, { kind: "nop" }, {
      kind: "nop",
    }]],
  ];
  for (const [bytes, want] of cases) {
    const u8 = new Uint8Array(bytes);
    assert.equal(decodeTcpOptions(u8, 0, u8.length), want, JSON.stringify(bytes));
  }
});

test("packets: UDP, ICMP errors with quotes, and ARP frames parse with the stack's own parsers", () => {
  const u = udpFrame(A, 48000, 8080, new Uint8Array([1, 2, 3]), false);
  const ui = ip(u);
  const ur = parseUdp(u, ui.payloadOffset, ui.payloadLength, ui);
  assert.is(typeof ur !== "string" && ur.payloadLength, 3);

  const e = icmpFrame(A, { type: 3, code: 4, rest: 1200, badChecksum: false }, {
    proto: "tcp",
    srcIp: 0xc0000202,
    dstIp: 0xc0000201,
    srcPort: 8080,
    dstPort: 48000,
    seq: 12345,
    len: 1460,
  });
  const ei = ip(e);
  const er = parseIcmp(e, ei.payloadOffset, ei.payloadLength);
  if (typeof er === "string") throw new Error(er);
  assert.is(er.type === 3 && er.nextHopMtu, 1200);
  const q = parseIcmpQuote(e, er.payloadOffset, er.payloadLength);
  if (typeof q === "string") throw new Error(q);
  assert.is(q.protocol, 6);
  assert.is(q.totalLength, 20 + 20 + 1460, "the quoted header describes the whole segment");
  assert.is(q.src, 0xc0000202);

  const a = arpFrame(0xffffffffffff, 0x020000000001, {
    op: 1,
    senderMac: 0x020000000001,
    senderIp: 0xc0000201,
    targetMac: 0,
    targetIp: 0xc0000202,
  });
  const ar = parseArp(a, 14, a.length - 14);
  assert.is(typeof ar !== "string" && ar.targetIp, 0xc0000202);
  assert.is(tosOf({ tos: 0xff, ecn: "noecn" }), 0xfc);
  assert.is(tosOf({ ecn: "ect01" }), 0, "ect01 is for matching only");
});

test("packets: decodeFrame reads what a stack sends and flags bad checksums", () => {
  const f = tcpFrame(A, {
    srcPort: 8080,
    dstPort: 48000,
    seq: 7,
    ack: 9,
    flags: 0x18,
    window: 512,
    urgentPointer: 0,
    options: new Uint8Array([1, 1, 4, 2]),
    payload: new Uint8Array(5),
    badChecksum: false,
  });
  const d = decodeFrame(f, 1234);
  assert.is(d.t, 1234);
  assert.equal(d.tcp?.options, [{ kind: "nop" }, { kind: "nop" }, { kind: "sackOK" }]);
  assert.is(d.tcp?.payload.length, 5);
  assert.ok(d.tcp?.checksumOk);
  const bad = f.slice();
  bad[bad.length - 1] = 1; // payload byte changed, checksum not
  assert.is(decodeFrame(bad, 0).tcp?.checksumOk, false);
  const badIp = f.slice();
  badIp[14 + 8] = 1; // TTL changed, header checksum not
  assert.is(decodeFrame(badIp, 0).problem, "bad IPv4 header checksum");
  assert.is(decodeFrame(new Uint8Array(20), 0).problem, "EtherType 0x0");
});
