import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { createPipe, PipeDevice } from "../../src/link/pipe.ts";
import { ImpairedChannel, type ImpairmentConfig } from "../../src/link/impair.ts";
import { Xmit } from "../../src/link/device.ts";
import { SeededRandom } from "../../src/core/random.ts";
import type { SkBuff } from "../../src/skb/skbuff.ts";
import {
  bitDistance,
  type LinkEnv,
  linkEnv,
  readId,
  testFrame,
  writeTestFrame,
} from "./_harness.ts";

/** A pipe a → b with `cfg` on a → b, both ends up, and a log of what b received. */
function pipeWith(env: LinkEnv, cfg: ImpairmentConfig, seed = 1) {
  const [a, b] = createPipe({ allocator: env.allocator, clock: env.clock, seed, aToB: cfg });
  a.up();
  b.up();
  const got: { id: number; t: number; len: number }[] = [];
  const drain = () =>
    b.poll(Infinity, (skb) => {
      got.push({ id: readId(skb), t: env.clock.now(), len: skb.len });
      skb.free();
    });
  b.setRxNotify(() => drain());
  return { a, b, got };
}

test("pipe: two Ethernet ends with default names and MACs; a frame arrives after the delay", () => {
  const env = linkEnv();
  const { a, b, got } = pipeWith(env, { delay: 5 });
  assert.is(a.name, "pipe0a");
  assert.is(b.name, "pipe0b");
  assert.is(a.mac, 0x020000000001);
  assert.is(b.mac, 0x020000000002);
  assert.is(a.peer, b);
  assert.is(b.peer, a);
  env.clock.advance(3);
  assert.is(a.transmit(testFrame(env.allocator, 1)), Xmit.OK);
  env.clock.advance(4.999);
  assert.is(got.length, 0);
  env.clock.advance(0.001);
  assert.equal(got, [{ id: 1, t: 8, len: 64 }]);
  assert.is(a.wire.stats.sent, 1);
  assert.is(a.wire.stats.delivered, 1);
  assert.is(a.wire.stats.deliveredBytes, 64);
  assert.is(b.wire.stats.sent, 0);
  assert.is(b.stats.rxPackets, 1);
  a.close();
  env.assertNoLeak();
});

test("pipe: frames travel as they are, shared ones too (a clone over veth); only corruption copies, never writing the sender's bytes", () => {
  const env = linkEnv();
  const { a, b } = pipeWith(env, { delay: 1 });
  b.setRxNotify(null);
  const plain = testFrame(env.allocator, 1);
  const slot = plain.slot;
  a.transmit(plain);
  assert.is(env.arena.inUse, 1, "no copy for an unshared frame");
  const shared = testFrame(env.allocator, 2);
  const kept = shared.clone()!;
  const before = kept.bytes().slice();
  a.transmit(shared);
  assert.is(env.arena.inUse, 2, "no copy for a shared frame either");
  env.clock.advance(1);
  const got: { slot: number; shared: boolean; bytes: Uint8Array }[] = [];
  b.poll(8, (skb) => {
    got.push({ slot: skb.slot, shared: skb.isShared, bytes: skb.bytes().slice() });
    skb.free();
  });
  assert.equal(got.map((g) => [g.slot, g.shared]), [[slot, false], [kept.slot, true]]);
  assert.equal(got[1]!.bytes, before, "the receiver reads the sender's bytes");
  assert.equal(kept.bytes(), before);
  kept.free();
  a.close();
  // A corrupting wire copies first: the sender's (retransmission) bytes stay intact.
  const { a: c, b: d } = pipeWith(env, { corrupt: 1, corruptOffset: 14 });
  d.setRxNotify(null);
  const f = testFrame(env.allocator, 3);
  const mine = f.clone()!;
  const original = mine.bytes().slice();
  c.transmit(f);
  env.clock.advance(0);
  d.poll(8, (skb) => {
    assert.is(skb.isShared, false);
    assert.not.equal(skb.bytes(), original);
    skb.free();
  });
  assert.equal(mine.bytes(), original);
  mine.free();
  c.close();
  env.assertNoLeak();
});

test("pipe: jitter alone never reorders, and arrivals stay within [delay, delay + jitter)", () => {
  const env = linkEnv();
  const { a, got } = pipeWith(env, { delay: 10, jitter: 50 }, 3);
  const sentAt: number[] = [];
  for (let id = 0; id < 2000; id++) {
    sentAt.push(env.clock.now());
    a.transmit(testFrame(env.allocator, id));
    env.clock.advance(id % 7 === 0 ? 0 : 1); // some frames leave at the same instant
  }
  env.clock.runUntilIdle();
  assert.is(got.length, 2000);
  let spread = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    assert.is(g.id, i, "arrival order is send order");
    const lag = g.t - sentAt[i]!;
    assert.ok(lag >= 10, `frame ${i} lag ${lag} below the base delay`);
    if (i > 0) assert.ok(g.t >= got[i - 1]!.t);
    spread = Math.max(spread, lag);
  }
  assert.ok(spread > 40, "jitter actually varied the delay");
  assert.is(a.wire.stats.reordered, 0);
  a.close();
  env.assertNoLeak();
});

test("pipe: rate limit serializes frames back to back at (len + overhead) · 8 / rate", () => {
  const env = linkEnv();
  // 1 Mbit/s: a 1000-byte frame plus 25 bytes of overhead takes exactly 8.2 ms.
  const { a, got } = pipeWith(env, { rate: 1_000_000, overhead: 25, delay: 2 });
  for (let id = 0; id < 10; id++) a.transmit(testFrame(env.allocator, id, 1000));
  assert.is(a.wire.backlog, 10);
  env.clock.runUntilIdle();
  assert.is(got.length, 10);
  got.forEach((g, i) => {
    assert.is(g.id, i);
    assert.ok(Math.abs(g.t - ((i + 1) * 8.2 + 2)) < 1e-9, `frame ${i} at ${g.t}`);
  });
  // An idle link starts serializing at once: no credit carried over from the past.
  env.clock.advance(100);
  const t0 = env.clock.now();
  a.transmit(testFrame(env.allocator, 10, 1000));
  env.clock.runUntilIdle();
  assert.ok(Math.abs(got[10]!.t - (t0 + 8.2 + 2)) < 1e-9);
  a.close();
  env.assertNoLeak();
});

test("pipe: a saturated rate-limited link delivers the configured throughput (±0.1 %)", () => {
  const env = linkEnv();
  const rate = 10_000_000;
  const { a, got } = pipeWith(env, { rate, queueLimit: 100 });
  // Offer 2x the rate for 1 s of virtual time: 1250-byte frames every 0.5 ms.
  for (let i = 0; i < 2000; i++) {
    a.transmit(testFrame(env.allocator, i, 1250));
    env.clock.advance(0.5);
  }
  const elapsed = env.clock.now();
  const bits = got.reduce((n, g) => n + g.len * 8, 0);
  const measured = bits / (elapsed / 1000);
  assert.ok(Math.abs(measured - rate) / rate < 0.001, `measured ${measured} bit/s`);
  assert.ok(a.wire.stats.queueDropped > 0);
  env.clock.runUntilIdle();
  assert.is(a.wire.stats.delivered + a.wire.stats.queueDropped, 2000);
  a.close();
  env.assertNoLeak();
});

test("pipe: the bottleneck queue tail-drops beyond queueLimit frames or queueLimitBytes", () => {
  const env = linkEnv();
  const { a, got } = pipeWith(env, { rate: 1_000_000, queueLimit: 5 });
  for (let id = 0; id < 20; id++) a.transmit(testFrame(env.allocator, id, 1000));
  assert.is(a.wire.stats.queueDropped, 15);
  assert.is(a.wire.backlog, 5);
  env.clock.advance(8); // one frame has left the queue: room for exactly one
  a.transmit(testFrame(env.allocator, 20, 1000));
  a.transmit(testFrame(env.allocator, 21, 1000));
  assert.is(a.wire.stats.queueDropped, 16);
  env.clock.runUntilIdle();
  assert.equal(got.map((g) => g.id), [0, 1, 2, 3, 4, 20]);

  const env2 = linkEnv();
  const p2 = pipeWith(env2, { rate: 1_000_000, queueLimitBytes: 2500 });
  for (let id = 0; id < 5; id++) p2.a.transmit(testFrame(env2.allocator, id, 1000));
  assert.is(p2.a.wire.stats.queueDropped, 3);
  env2.clock.runUntilIdle();
  assert.equal(p2.got.map((g) => g.id), [0, 1]);
  a.close();
  p2.a.close();
  env.assertNoLeak();
  env2.assertNoLeak();
});

test("pipe: the wire MTU drops frames over mtu + 14 even when the devices allow them", () => {
  const env = linkEnv();
  const { a, got } = pipeWith(env, { mtu: 1000 });
  assert.is(a.mtu, 1500);
  a.transmit(testFrame(env.allocator, 1, 1014));
  a.transmit(testFrame(env.allocator, 2, 1015));
  a.transmit(testFrame(env.allocator, 3, 1514));
  assert.is(a.transmit(testFrame(env.allocator, 4, 1515)), Xmit.INVALID, "device MTU first");
  env.clock.runUntilIdle();
  assert.equal(got.map((g) => g.id), [1]);
  assert.is(a.wire.stats.mtuDropped, 2);
  assert.is(a.wire.stats.sent, 3);
  assert.is(a.stats.txDropped, 1);
  a.close();
  env.assertNoLeak();
});

test("pipe: blackouts drop exactly the frames sent inside the windows and the pattern", () => {
  const env = linkEnv();
  const windows: [number, number][] = [[100, 200], [150, 300], [700, 701], [900, 900]];
  const pattern = { period: 400, duration: 50, start: 1000 };
  const { a, got } = pipeWith(env, { delay: 30, blackouts: windows, blackoutPattern: pattern });
  const expected: number[] = [];
  for (let id = 0; id < 2000; id++) {
    const t = env.clock.now();
    const inWindow = windows.some(([from, to]) => t >= from && t < to);
    const inPattern = t >= 1000 && (t - 1000) % 400 < 50;
    if (!inWindow && !inPattern) expected.push(id);
    a.transmit(testFrame(env.allocator, id));
    env.clock.advance(id % 3 === 0 ? 0.5 : 1);
  }
  env.clock.runUntilIdle();
  assert.equal(got.map((g) => g.id), expected);
  assert.is(a.wire.stats.blackoutDropped, 2000 - expected.length);
  // Frames sent just before a window still arrive inside it (cut at the sender).
  assert.ok(got.some((g) => g.t >= 100 && g.t < 130));
  assert.throws(() => pipeWith(linkEnv(), { blackouts: [[5, 1]] }), RangeError);
  a.close();
  env.assertNoLeak();
});

test("pipe: corruption flips exactly corruptBits bits of a private copy, never the sender's", () => {
  const env = linkEnv();
  const { a, b } = pipeWith(env, { corrupt: 0.1, corruptBits: 3, delay: 1 }, 11);
  b.setRxNotify(null);
  const n = 20_000;
  const original = new Uint8Array(200);
  let corrupted = 0;
  for (let id = 0; id < n; id++) {
    const skb = testFrame(env.allocator, id, 200);
    const kept = skb.clone()!; // TCP-style retransmission reference
    a.transmit(skb);
    env.clock.advance(1);
    b.poll(8, (got: SkBuff) => {
      writeTestFrame(original, 0, 200, id);
      const d = bitDistance(got.bytes(), original);
      assert.ok(d === 0 || d === 3, `frame ${id}: ${d} bits differ`);
      if (d > 0) corrupted++;
      got.free();
    });
    const k = kept.bytes();
    writeTestFrame(original, 0, 200, id);
    assert.is(bitDistance(k, original), 0, "the sender's buffer was written");
    kept.free();
  }
  assert.is(corrupted, a.wire.stats.corrupted);
  assert.ok(Math.abs(corrupted / n - 0.1) / 0.1 < 0.1, `corruption rate ${corrupted / n}`);
  a.close();
  env.assertNoLeak();
});

test("pipe: corruptOffset keeps the first bytes intact", () => {
  const env = linkEnv();
  const { a, b } = pipeWith(env, { corrupt: 1, corruptOffset: 14 });
  b.setRxNotify(null);
  const ref = new Uint8Array(64);
  for (let id = 0; id < 500; id++) {
    a.transmit(testFrame(env.allocator, id));
    env.clock.advance(0);
    b.poll(1, (skb) => {
      writeTestFrame(ref, 0, 64, id);
      const u8 = skb.bytes();
      assert.equal(u8.subarray(0, 14), ref.subarray(0, 14));
      assert.is(bitDistance(u8, ref), 1);
      skb.free();
    });
  }
  a.close();
  env.assertNoLeak();
});

test("pipe: frames in flight to a down end are dropped and freed on arrival", () => {
  const env = linkEnv();
  const { a, b, got } = pipeWith(env, { delay: 10, duplicate: 0.5 });
  for (let id = 0; id < 50; id++) a.transmit(testFrame(env.allocator, id));
  b.down();
  env.clock.runUntilIdle();
  assert.is(got.length, 0);
  assert.is(a.wire.stats.downDropped, 50 + a.wire.stats.duplicated);
  assert.is(a.wire.inFlight, 0);
  env.assertNoLeak();
  b.up();
  a.transmit(testFrame(env.allocator, 99));
  env.clock.runUntilIdle();
  assert.is(got.at(-1)?.id, 99);
  a.close();
  env.assertNoLeak();
});

test("pipe: close cancels both directions' timers and frees everything on the wire", () => {
  const env = linkEnv();
  const [a, b] = createPipe({
    allocator: env.allocator,
    clock: env.clock,
    seed: 5,
    impair: { delay: 50, jitter: 10, reorder: 0.3, duplicate: 0.3 },
  });
  a.up();
  b.up();
  for (let id = 0; id < 100; id++) {
    a.transmit(testFrame(env.allocator, id));
    b.transmit(testFrame(env.allocator, 1000 + id));
  }
  assert.ok(env.clock.pending > 0);
  b.close();
  assert.is(env.clock.pending, 0, "no timer left behind");
  assert.is(a.wire.inFlight + b.wire.inFlight, 0);
  env.assertNoLeak();
  // The cable is unplugged: a (still up) can send, but nothing arrives.
  assert.is(a.transmit(testFrame(env.allocator, 7)), Xmit.OK);
  assert.ok(a.wire.closed);
  env.clock.runUntilIdle();
  assert.is(a.stats.rxPackets + b.stats.rxPackets, 0);
  a.close();
  env.assertNoLeak();
});

test("pipe: a full receive queue counts rxDropped; arena exhaustion is a counted drop", () => {
  const env = linkEnv();
  const [a, b] = createPipe({ allocator: env.allocator, clock: env.clock, rxQueueLimit: 3 });
  a.up();
  b.up();
  for (let id = 0; id < 5; id++) a.transmit(testFrame(env.allocator, id));
  env.clock.advance(0);
  assert.is(a.wire.stats.delivered, 3);
  assert.is(a.wire.stats.rxDropped, 2);
  assert.is(b.stats.rxDropped, 2);
  b.rxQueue.purge();

  // Two slots in all: a frame plus its retransmission clone leave no room for copies.
  const tiny = linkEnv({ classes: [{ size: 2048, max: 2, initial: 2 }] });
  const [c, d] = createPipe({
    allocator: tiny.allocator,
    clock: tiny.clock,
    aToB: { duplicate: 1, corrupt: 0 },
  });
  c.up();
  d.up();
  // A frame to corrupt needs a private copy: with both slots taken there is none.
  const [e, f] = createPipe({ allocator: tiny.allocator, clock: tiny.clock, aToB: { corrupt: 1 } });
  e.up();
  f.up();
  const f1 = testFrame(tiny.allocator, 1);
  const filler = testFrame(tiny.allocator, 2);
  assert.is(e.transmit(f1), Xmit.DROP, "no buffer for the corrupted copy");
  assert.is(e.wire.stats.noBuffer, 1);
  e.close();
  const f3 = testFrame(tiny.allocator, 3); // both slots taken again
  // Unshared frames travel, but their duplicates find no buffer: each delivered once.
  c.transmit(filler);
  c.transmit(f3);
  tiny.clock.advance(0);
  assert.is(c.wire.stats.noBuffer, 2);
  assert.is(c.wire.stats.duplicated, 0);
  assert.is(c.wire.stats.delivered, 2);
  d.rxQueue.purge();
  a.close();
  c.close();
  env.assertNoLeak();
  tiny.assertNoLeak();
});

test("pipe: direction configs merge over `impair`; bad configs throw RangeError", () => {
  const env = linkEnv();
  const [a, b] = createPipe({
    allocator: env.allocator,
    clock: env.clock,
    impair: { delay: 3, loss: 0.5 },
    bToA: { loss: 0 },
  });
  assert.equal(a.wire.config, { delay: 3, loss: 0.5 });
  assert.equal(b.wire.config, { delay: 3, loss: 0 });
  const bad: ImpairmentConfig[] = [
    { loss: 1.5 },
    { duplicate: -0.1 },
    { reorder: NaN },
    { delay: -1 },
    { jitter: Infinity },
    { rate: 0 },
    { queueLimit: 5 },
    { rate: 1e6, queueLimit: 1.5 },
    { corruptBits: 0 },
    { corruptBits: 65 },
    { mtu: -1 },
    { blackoutPattern: { period: 0, duration: 0 } },
    { blackoutPattern: { period: 10, duration: 11 } },
    { blackoutPattern: { period: 10, duration: 1, start: NaN } },
    { corruptOffset: 1.5 },
  ];
  for (const cfg of bad) {
    assert.throws(
      () => createPipe({ allocator: env.allocator, clock: env.clock, aToB: cfg }),
      RangeError,
      JSON.stringify(cfg),
    );
  }
  const lone = new PipeDevice({ name: "x", allocator: env.allocator, clock: env.clock });
  assert.throws(() => lone.wire, TypeError);
  assert.throws(() =>
    PipeDevice.connect(a, b, {
      allocator: env.allocator,
      clock: env.clock,
      rng: new SeededRandom(1),
      aToB: {},
      bToA: {},
    }), TypeError);
});

test("ImpairedChannel: usable on its own with any WireReceiver", () => {
  const env = linkEnv();
  const seen: number[] = [];
  const ch = new ImpairedChannel({
    allocator: env.allocator,
    clock: env.clock,
    rng: new SeededRandom(2),
    receiver: {
      isUp: true,
      netifRx(skb) {
        seen.push(readId(skb));
        skb.free();
        return true;
      },
    },
    config: { delay: 1, reorder: 1, reorderDelay: 4 },
  });
  for (let id = 0; id < 3; id++) ch.send(testFrame(env.allocator, id));
  env.clock.advance(4.999);
  assert.equal(seen, []);
  env.clock.advance(0.001);
  assert.equal(seen, [0, 1, 2], "held frames keep their order among themselves");
  assert.is(ch.stats.reordered, 3);
  ch.close();
  env.assertNoLeak();
});
