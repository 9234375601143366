import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { LOOPBACK_MTU, LoopbackDevice } from "../../src/link/loopback.ts";
import { DeviceFeature, type NetDevice, Xmit } from "../../src/link/device.ts";
import { Csum, type SkBuff } from "../../src/skb/skbuff.ts";
import { linkEnv, readId, testFrame } from "./_harness.ts";

test("loopback: defaults are lo, MTU 65536, NO_CSUM, MAC 0", () => {
  const env = linkEnv();
  const lo = new LoopbackDevice({ allocator: env.allocator, clock: env.clock });
  assert.is(lo.name, "lo");
  assert.is(lo.mtu, LOOPBACK_MTU);
  assert.is(lo.mtu, 65536);
  assert.is(lo.features, DeviceFeature.NO_CSUM);
  assert.is(lo.mac, 0);
  assert.is(lo.isUp, false);
  assert.throws(
    () => new LoopbackDevice({ allocator: env.allocator, clock: env.clock, inFlightLimit: 0 }),
    RangeError,
  );
});

test("loopback: transmit delivers through clock.defer, never synchronously, in order", () => {
  const env = linkEnv();
  const lo = new LoopbackDevice({ allocator: env.allocator, clock: env.clock });
  let notified = 0;
  lo.setRxNotify(() => notified++);
  lo.up();
  for (let id = 0; id < 5; id++) assert.is(lo.transmit(testFrame(env.allocator, id)), Xmit.OK);
  // Nothing reached the receive queue inside transmit: the stack is not re-entered.
  assert.is(lo.rxQueue.length, 0);
  assert.is(lo.inFlight, 5);
  assert.is(notified, 0);
  assert.is(env.clock.pending, 1, "one deferred task for the whole batch");
  env.clock.flush();
  assert.is(lo.inFlight, 0);
  assert.is(lo.rxQueue.length, 5);
  assert.is(notified, 1);
  const ids: number[] = [];
  const n = lo.poll(64, (skb) => {
    ids.push(readId(skb));
    assert.is(skb.ipSummed, Csum.Unnecessary, "NO_CSUM device marks checksums unnecessary");
    skb.free();
  });
  assert.is(n, 5);
  assert.equal(ids, [0, 1, 2, 3, 4]);
  assert.is(lo.stats.txPackets, 5);
  assert.is(lo.stats.rxPackets, 5);
  assert.is(lo.stats.txBytes, 5 * 64);
  assert.is(lo.stats.rxBytes, 5 * 64);
  env.assertNoLeak();
});

test("loopback: in-flight frames are bounded; the excess is dropped and counted", () => {
  const env = linkEnv();
  const lo = new LoopbackDevice({
    allocator: env.allocator,
    clock: env.clock,
    inFlightLimit: 3,
  });
  lo.up();
  const results: Xmit[] = [];
  for (let id = 0; id < 5; id++) results.push(lo.transmit(testFrame(env.allocator, id)));
  assert.equal(results, [Xmit.OK, Xmit.OK, Xmit.OK, Xmit.DROP, Xmit.DROP]);
  assert.is(lo.loStats.inFlightDropped, 2);
  assert.is(lo.stats.txDropped, 2);
  assert.is(lo.stats.txPackets, 3);
  env.clock.flush();
  // The bound is on frames waiting for the hand-back, so room is back now.
  assert.is(lo.transmit(testFrame(env.allocator, 5)), Xmit.OK);
  env.clock.flush();
  const ids: number[] = [];
  lo.poll(64, (skb) => (ids.push(readId(skb)), skb.free()));
  assert.equal(ids, [0, 1, 2, 5]);
  env.assertNoLeak();
});

test("loopback: a frame answered from inside delivery is deferred again (no recursion)", () => {
  const env = linkEnv();
  const lo = new LoopbackDevice({ allocator: env.allocator, clock: env.clock });
  let depth = 0;
  let maxDepth = 0;
  let rounds = 0;
  const deliver = (skb: SkBuff, dev: NetDevice) => {
    depth++;
    maxDepth = Math.max(maxDepth, depth);
    const id = readId(skb);
    skb.free();
    // Ping-pong: answer every frame straight away, for 100 rounds.
    if (id < 100) {
      rounds++;
      dev.transmit(testFrame(env.allocator, id + 1));
    }
    depth--;
  };
  lo.setRxNotify((dev) => dev.poll(64, deliver));
  lo.up();
  lo.transmit(testFrame(env.allocator, 0));
  const tasks = env.clock.flush();
  assert.is(rounds, 100);
  assert.is(maxDepth, 1, "delivery never nested inside delivery");
  assert.is(tasks, 101, "each answer needed its own deferred task");
  env.assertNoLeak();
});

test("loopback: a shared (cloned) frame is delivered as a private copy", () => {
  const env = linkEnv();
  const lo = new LoopbackDevice({ allocator: env.allocator, clock: env.clock });
  lo.up();
  const skb = testFrame(env.allocator, 9);
  const kept = skb.clone()!; // e.g. TCP's retransmission copy
  const before = kept.bytes().slice();
  lo.transmit(skb);
  env.clock.flush();
  lo.poll(1, (got) => {
    assert.is.not(got.slot, kept.slot);
    assert.equal(got.bytes(), before);
    got.bytes().fill(0xee); // the receiver may write its own buffer
    got.free();
  });
  assert.equal(kept.bytes(), before);
  assert.is(kept.isShared, false);
  assert.is(lo.loStats.copied, 1);
  kept.free();
  env.assertNoLeak();
});

test("loopback: arena exhaustion during the copy of a shared frame is a counted drop", () => {
  const env = linkEnv({ classes: [{ size: 2048, max: 1, initial: 1 }] });
  const lo = new LoopbackDevice({ allocator: env.allocator, clock: env.clock });
  lo.up();
  const skb = testFrame(env.allocator, 1);
  const kept = skb.clone()!;
  assert.is(lo.transmit(skb), Xmit.DROP);
  assert.is(lo.loStats.noBuffer, 1);
  assert.is(lo.stats.txDropped, 1);
  env.clock.flush();
  assert.is(lo.rxQueue.length, 0);
  kept.free();
  env.assertNoLeak();
});

test("loopback: down frees parked and queued frames; transmit while down is refused", () => {
  const env = linkEnv();
  const lo = new LoopbackDevice({ allocator: env.allocator, clock: env.clock });
  lo.up();
  lo.transmit(testFrame(env.allocator, 0));
  env.clock.flush();
  lo.transmit(testFrame(env.allocator, 1));
  assert.is(lo.rxQueue.length, 1);
  assert.is(lo.inFlight, 1);
  lo.down();
  assert.is(lo.rxQueue.length, 0);
  assert.is(lo.inFlight, 0);
  env.assertNoLeak();
  env.clock.flush(); // the stale deferred task finds nothing
  assert.is(lo.transmit(testFrame(env.allocator, 2)), Xmit.DOWN);
  lo.up();
  lo.transmit(testFrame(env.allocator, 3));
  lo.close();
  env.clock.flush();
  assert.is(lo.isUp, false);
  env.assertNoLeak();
});

test("loopback: a 65536-MTU frame round-trips; a larger one is refused", () => {
  const env = linkEnv();
  const lo = new LoopbackDevice({ allocator: env.allocator, clock: env.clock });
  lo.up();
  assert.is(lo.transmit(testFrame(env.allocator, 1, 65536 + 14)), Xmit.OK);
  assert.is(lo.transmit(testFrame(env.allocator, 2, 65536 + 15)), Xmit.INVALID);
  env.clock.flush();
  lo.poll(64, (skb) => {
    assert.is(skb.len, 65550);
    assert.is(readId(skb), 1);
    skb.free();
  });
  assert.is(lo.stats.rxPackets, 1);
  env.assertNoLeak();
});

test("loopback: a full receive queue drops and counts at netifRx", () => {
  const env = linkEnv();
  const lo = new LoopbackDevice({
    allocator: env.allocator,
    clock: env.clock,
    rxQueueLimit: 2,
  });
  lo.up();
  for (let id = 0; id < 4; id++) lo.transmit(testFrame(env.allocator, id));
  env.clock.flush();
  assert.is(lo.rxQueue.length, 2);
  assert.is(lo.stats.rxDropped, 2);
  lo.close();
  env.assertNoLeak();
});
