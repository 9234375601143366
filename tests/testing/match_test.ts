import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { parseEventLine } from "../../src/testing/parser.ts";
import type { PacketSpec } from "../../src/testing/ast.ts";
import {
  Flow,
  Flows,
  type MatchContext,
  matchPacket,
  SeqTranslator,
} from "../../src/testing/match.ts";
import { tcpFrame } from "../../src/testing/packets.ts";
import { decodeFrame } from "../../src/testing/decode.ts";

const LOCAL = 0xc0000202;
const REMOTE = 0xc0000201;

function expectation(line: string): PacketSpec {
  const e = parseEventLine(`0 ${line}`);
  if (e.type !== "packet") throw new Error("not a packet line");
  return e.packet;
}

function sent(
  o: { seq: number; ack: number; flags: number; window?: number; options?: number[]; len?: number },
) {
  return decodeFrame(
    tcpFrame({ srcMac: 2, dstMac: 1, srcIp: LOCAL, dstIp: REMOTE, ipId: 1 }, {
      srcPort: 8080,
      dstPort: 48000,
      seq: o.seq,
      ack: o.ack,
      flags: o.flags,
      window: o.window ?? 1000,
      urgentPointer: 0,
      options: new Uint8Array(o.options ?? []),
      payload: new Uint8Array(o.len ?? 0),
      badChecksum: false,
    }),
    0,
  );
}

function context(absolute = false): MatchContext {
  return {
    flows: new Flows(8080, 48000),
    xlate: new SeqTranslator(absolute),
    localIp: LOCAL,
    remoteIp: REMOTE,
  };
}

test("match: the peer's ISN is its first SYN's seq; later seqs are offsets (wrapping mod 2^32)", () => {
  const x = new SeqTranslator(false);
  const f = new Flow(8080, 48000);
  assert.is(x.inSeq(f, 1, false), 1, "unknown ISN counts as 0");
  assert.is(x.inSeq(f, 0xfffffff0, true), 0xfffffff0);
  assert.is(f.remoteIsn, 0xfffffff0);
  assert.is(x.inSeq(f, 0x20, false), 0x10, "wraps");
  assert.is(x.inSeq(f, 5, true), 5, "a later SYN's seq is absolute too and does not move the ISN");
  assert.is(x.outRemote(f, 0x10), 0x20, "outbound acks are shown relative to the peer's ISN");
  const abs = new SeqTranslator(true);
  const g = new Flow(8080, 48000);
  assert.is(abs.inSeq(g, 7, true), 7);
  assert.is(abs.inSeq(g, 1, false), 1, "absolute: no translation");
  assert.is(g.remoteIsn, undefined);
});

test("match: the stack's ISN and TS clock are learned from its first SYN and TS option", () => {
  const x = new SeqTranslator(false);
  const f = new Flow(8080, 48000);
  assert.is(x.outSeq(f, 5, false, 0), 5, "before any SYN, numbers are as sent");
  assert.is(x.outSeq(f, 0x80000000, true, 0), 0);
  assert.is(x.outSeq(f, 0x80000001 + 100, false, 0), 101);
  assert.is(x.inLocal(f, 101), 0x80000001 + 100, "inbound acks translate back");
  const g = new Flow(8080, 48001);
  assert.is(x.outSeq(g, 9000, true, 1000), 1000, "the script may write the SYN's seq as any ISN");
  assert.is(x.outSeq(g, 9001, false, 0), 1, "non-SYN seqs stay relative to ISN 0 (packetdrill)");
  assert.is(x.outTsVal(f, 777_000, 100), 100);
  assert.is(x.outTsVal(f, 777_010, 0), 110);
  assert.is(x.inEcr(f, 110), 777_010);
});

test("match: a matching SYN-ACK teaches the ISN; fields that differ are named", () => {
  const ctx = context();
  ctx.flows.current.remoteIsn = 1000;
  const synAck = sent({ seq: 0xabcdef00, ack: 1001, flags: 0x12, options: [2, 4, 5, 0xb4] });
  const m = matchPacket(expectation("> S. 0:0(0) ack 1 win 1000 <mss 1460>"), synAck, ctx);
  assert.equal(m.diffs, []);
  assert.is(m.got, "> S. 0:0(0) ack 1 win 1000 <mss 1460>");
  assert.is(ctx.flows.current.localIsn, 0xabcdef00);
  const data = sent({ seq: 0xabcdef01, ack: 2001, flags: 0x18, window: 64240, len: 100 });
  const d = matchPacket(expectation("> . 1:1(0) ack 1001"), data, ctx);
  assert.equal(d.diffs, ["flags", "length"]);
  assert.is(d.got, "> P. 1:101(100) ack 1001 win 64240");
  const o = matchPacket(expectation("> P. 1:101(100) ack 1001 win 5 <nop>"), data, ctx);
  assert.equal(o.diffs, ["win", "options"]);
  const any = matchPacket(expectation("> P. 1:101(100) ack * win * <...>"), data, ctx);
  assert.equal(any.diffs, []);
});

test("match: wrong ports and a UDP packet where TCP was expected are reported", () => {
  const ctx = context();
  ctx.flows.current.localPort = 9999;
  const m = matchPacket(
    expectation("> R. 0:0(0) ack 1"),
    sent({ seq: 0, ack: 1, flags: 0x14 }),
    ctx,
  );
  assert.equal(m.diffs, ["ports"]);
  assert.match(m.got, /^> 8080>48000 R\. 0:0\(0\) ack 1 win 1000$/);
  assert.equal(
    matchPacket(expectation("> udp (0)"), sent({ seq: 0, ack: 1, flags: 0x14 }), ctx).diffs,
    [
      "protocol",
    ],
  );
});

test("match: a flow started by connect() learns the stack's ephemeral port from its first packet", () => {
  const flows = new Flows(8080, 48000);
  const f = flows.begin(undefined, 48000);
  const ctx: MatchContext = {
    flows,
    xlate: new SeqTranslator(false),
    localIp: LOCAL,
    remoteIp: REMOTE,
  };
  const m = matchPacket(expectation("> S 0:0(0)"), sent({ seq: 42, ack: 0, flags: 0x02 }), ctx);
  assert.equal(m.diffs, []);
  assert.is(f.localPort, 8080);
  assert.is(flows.get(8080, 48000), f);
});
