import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import {
  concatChunks,
  LINKTYPE_ETHERNET,
  PCAP_MAGIC_NS,
  PCAP_MAGIC_US,
  PCAP_SNAPLEN,
  PcapWriter,
  readPcap,
  recordPcap,
} from "../../src/link/pcap.ts";
import { createPipe } from "../../src/link/pipe.ts";
import { LoopbackDevice } from "../../src/link/loopback.ts";
import { linkEnv, readId, testFrame } from "./_harness.ts";

// Low bytes of a test frame's first id copy (ids here are < 65536).
const ID_HI = 16;
const ID_LO = 17;

function collect(): { chunks: Uint8Array[]; sink: (c: Uint8Array) => void } {
  const chunks: Uint8Array[] = [];
  return { chunks, sink: (c) => chunks.push(c) };
}

test("pcap: global header is libpcap 2.4, little-endian µs magic, Ethernet, snaplen", () => {
  const { chunks, sink } = collect();
  const w = new PcapWriter(sink);
  assert.is(chunks.length, 1);
  const h = chunks[0]!;
  const v = new DataView(h.buffer);
  assert.equal([...h.subarray(0, 4)], [0xd4, 0xc3, 0xb2, 0xa1]);
  assert.is(v.getUint32(0, true), PCAP_MAGIC_US);
  assert.is(v.getUint16(4, true), 2);
  assert.is(v.getUint16(6, true), 4);
  assert.is(v.getInt32(8, true), 0);
  assert.is(v.getUint32(16, true), PCAP_SNAPLEN);
  assert.ok(PCAP_SNAPLEN >= 65535);
  assert.is(v.getUint32(20, true), LINKTYPE_ETHERNET);
  assert.is(w.frames, 0);
  assert.is(w.bytes, 24);
  const ns = collect();
  new PcapWriter(ns.sink, { precision: "ns" });
  assert.is(new DataView(ns.chunks[0]!.buffer).getUint32(0, true), PCAP_MAGIC_NS);
  assert.throws(() => new PcapWriter(sink, { snaplen: 0 }), RangeError);
  assert.throws(() => new PcapWriter(sink, { epochMs: NaN }), RangeError);
});

test("pcap: record timestamps split clock ms into seconds and µs/ns, with the epoch offset", () => {
  const { chunks, sink } = collect();
  const w = new PcapWriter(sink, { epochMs: 1_700_000_000_000 });
  const frame = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  w.writeFrame(frame, 1, 14, 1234.5678);
  w.writeFrame(frame, 0, 15, 999.9999); // rounds up into the next second
  const r1 = new DataView(chunks[1]!.buffer);
  assert.is(r1.getUint32(0, true), 1_700_000_001);
  assert.is(r1.getUint32(4, true), 234568);
  assert.is(r1.getUint32(8, true), 14);
  assert.is(r1.getUint32(12, true), 14);
  assert.equal([...chunks[1]!.subarray(16)], [...frame.subarray(1, 15)]);
  const r2 = new DataView(chunks[2]!.buffer);
  assert.is(r2.getUint32(0, true), 1_700_000_001);
  assert.is(r2.getUint32(4, true), 0);
  const ns = collect();
  new PcapWriter(ns.sink, { precision: "ns" }).writeFrame(frame, 0, 15, 1234.5678);
  const r3 = new DataView(ns.chunks[1]!.buffer);
  assert.is(r3.getUint32(0, true), 1);
  assert.is(r3.getUint32(4, true), 234567800);
});

test("pcap: snaplen truncates captured bytes and keeps the original length", () => {
  const { chunks, sink } = collect();
  const w = new PcapWriter(sink, { snaplen: 100 });
  w.writeFrame(new Uint8Array(300).fill(7), 0, 300, 0);
  const r = readPcap(concatChunks(chunks));
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.snaplen, 100);
  assert.is(r.frames[0]!.data.length, 100);
  assert.is(r.frames[0]!.origLen, 300);
});

test("pcap: readPcap reads back what PcapWriter wrote (property)", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          data: fc.uint8Array({ minLength: 0, maxLength: 300 }),
          t: fc.integer({ min: 0, max: 4_000_000_000_000 }),
        }),
        { maxLength: 20 },
      ),
      fc.constantFrom<"us" | "ns">("us", "ns"),
      (frames, precision) => {
        const { chunks, sink } = collect();
        const w = new PcapWriter(sink, { precision });
        // Integer µs times are exact in both precisions.
        for (const f of frames) w.writeFrame(f.data, 0, f.data.length, f.t / 1000);
        const r = readPcap(concatChunks(chunks));
        assert.ok(r.ok, r.ok ? "" : r.error);
        if (!r.ok) return;
        assert.is(r.precision, precision);
        assert.is(r.linkType, LINKTYPE_ETHERNET);
        assert.is(r.frames.length, frames.length);
        frames.forEach((f, i) => {
          const g = r.frames[i]!;
          assert.equal([...g.data], [...f.data]);
          assert.is(g.origLen, f.data.length);
          assert.ok(Math.abs(g.timeMs - f.t / 1000) < 1e-6);
        });
      },
    ),
    { seed: testSeed(), numRuns: 200 },
  );
});

test("pcap: readPcap reads big-endian files", () => {
  const b = new Uint8Array(24 + 16 + 2);
  const v = new DataView(b.buffer);
  v.setUint32(0, PCAP_MAGIC_US, false);
  v.setUint16(4, 2, false);
  v.setUint16(6, 4, false);
  v.setUint32(16, 65535, false);
  v.setUint32(20, 1, false);
  v.setUint32(24, 3, false);
  v.setUint32(28, 500, false);
  v.setUint32(32, 2, false);
  v.setUint32(36, 2, false);
  b[40] = 0xab;
  b[41] = 0xcd;
  const r = readPcap(b);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.snaplen, 65535);
  assert.is(r.frames[0]!.timeMs, 3000.5);
  assert.equal([...r.frames[0]!.data], [0xab, 0xcd]);
});

test("pcap: readPcap never throws on garbage or damaged files; it returns an error", () => {
  const { chunks, sink } = collect();
  const w = new PcapWriter(sink);
  for (let i = 0; i < 4; i++) w.writeFrame(new Uint8Array(40).fill(i), 0, 40, i);
  const good = concatChunks(chunks);
  // Every truncation point: the frames before it, then a clear error (or ok at a boundary).
  for (let cut = 0; cut < good.length; cut++) {
    const r = readPcap(good.subarray(0, cut));
    const boundary = cut >= 24 && (cut - 24) % 56 === 0;
    assert.is(r.ok, boundary, `cut at ${cut}`);
    assert.is(r.frames.length, cut < 24 ? 0 : Math.floor((cut - 24) / 56));
  }
  assert.not.ok(readPcap(new Uint8Array(24)).ok);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }),
      (garbage, edits) => {
        const r1 = readPcap(garbage);
        if (!r1.ok) assert.type(r1.error, "string");
        const mutated = good.slice();
        for (const [at, value] of edits) mutated[at % mutated.length] = value;
        const r2 = readPcap(mutated);
        assert.ok(r2.frames.length <= 4);
      },
    ),
    { seed: testSeed(), numRuns: 500 },
  );
});

test("pcap: recording one pipe end with 'both' captures each frame once, with clock times", () => {
  const env = linkEnv(undefined, 1000);
  const [a, b] = createPipe({
    allocator: env.allocator,
    clock: env.clock,
    seed: 3,
    aToB: { delay: 2, loss: 0.2 },
    bToA: { delay: 3 },
  });
  a.up();
  b.up();
  b.setRxNotify((dev) => dev.poll(Infinity, (skb) => skb.free()));
  a.setRxNotify((dev) => dev.poll(Infinity, (skb) => skb.free()));
  const all = collect();
  const rx = collect();
  const rec = recordPcap(a, all.sink);
  const recRx = recordPcap(a, rx.sink, { direction: "rx" });
  for (let id = 0; id < 50; id++) {
    a.transmit(testFrame(env.allocator, id));
    b.transmit(testFrame(env.allocator, 1000 + id));
    env.clock.advance(1);
  }
  env.clock.runUntilIdle();
  rec.stop();
  rec.stop(); // idempotent
  recRx.stop();
  a.transmit(testFrame(env.allocator, 9999)); // after stop: not captured
  env.clock.runUntilIdle();
  assert.is(rec.frames, 100, "50 sent by a (lost ones included) + 50 received from b");
  assert.is(recRx.frames, 50);
  const r = readPcap(concatChunks(all.chunks));
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.frames.length, 100);
  const sentByA = r.frames.filter((f) => f.data[ID_HI] === 0 && f.data[ID_LO]! < 50).length;
  assert.is(sentByA, 50);
  assert.is(r.frames[0]!.timeMs, 1000, "the tx tap sees the clock time of transmit");
  const rxr = readPcap(concatChunks(rx.chunks));
  assert.ok(rxr.ok && rxr.frames.every((f, i) => f.timeMs === 1003 + i));
  a.close();
  env.assertNoLeak();
});
test("pcap: both pipe ends' rx into one shared writer gives a single, ordered capture", () => {
  const env = linkEnv();
  const [a, b] = createPipe({
    allocator: env.allocator,
    clock: env.clock,
    impair: { delay: 1 },
  });
  a.up();
  b.up();
  for (const d of [a, b]) d.setRxNotify((dev) => dev.poll(Infinity, (skb) => skb.free()));
  const { chunks, sink } = collect();
  const w = new PcapWriter(sink);
  const ra = recordPcap(a, w, { direction: "rx" });
  const rb = recordPcap(b, w, { direction: "rx" });
  assert.is(ra.writer, w);
  for (let id = 0; id < 10; id++) {
    (id % 2 ? a : b).transmit(testFrame(env.allocator, id));
    env.clock.advance(0.5);
  }
  env.clock.runUntilIdle();
  ra.stop();
  rb.stop();
  assert.is(w.frames, 10);
  const r = readPcap(concatChunks(chunks));
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.frames.map((f) => f.data[ID_LO]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  a.close();
  env.assertNoLeak();
});

test("pcap: loopback tx capture", () => {
  const env = linkEnv();
  const lo = new LoopbackDevice({ allocator: env.allocator, clock: env.clock });
  lo.up();
  const { chunks, sink } = collect();
  const rec = recordPcap(lo, sink, { direction: "tx" });
  lo.transmit(testFrame(env.allocator, 5, 100));
  env.clock.flush();
  lo.poll(1, (skb) => (assert.is(readId(skb), 5), skb.free()));
  rec.stop();
  const r = readPcap(concatChunks(chunks));
  assert.ok(r.ok && r.frames.length === 1 && r.frames[0]!.data.length === 100);
  env.assertNoLeak();
});
