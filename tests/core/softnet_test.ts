/**
 * The budgeted receive drain (Linux `net_rx_action`, NAPI): a flood is
 * processed at most `budget` frames per task, each unfinished drain counts a
 * squeeze and re-schedules, timers stay on time while the flood is drained,
 * and busy devices share the drain fairly (per-device weight).
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { EventLoopClock } from "../_util/event_loop.ts";
import { IP_A, ipv4Frame, MAC_A, pattern } from "../_util/frames.ts";
import type { Clock } from "../../src/core/clock.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { SoftNet } from "../../src/core/softnet.ts";
import { Stack } from "../../src/api/stack.ts";
import { BaseDevice, type DeviceOptions, Xmit } from "../../src/link/device.ts";
import { createPipe } from "../../src/link/pipe.ts";
import { Arena } from "../../src/skb/arena.ts";
import { SkbAllocator, type SkBuff } from "../../src/skb/skbuff.ts";

/** A receive-only device: transmit discards. */
class SinkDevice extends BaseDevice {
  constructor(o: DeviceOptions) {
    super(o);
  }
  protected override hardStartXmit(skb: SkBuff): Xmit {
    skb.free();
    return Xmit.OK;
  }
}

/** An arena with room for `n` small frames. */
function smallArena(n: number): Arena {
  return new Arena({
    classes: [
      { size: 128, max: n, initial: Math.min(n, 4096) },
      { size: 2048, max: 4096, initial: 64 },
      { size: 66560, max: 8, initial: 1 },
    ],
  });
}

function device(
  name: string,
  allocator: SkbAllocator,
  clock: Clock,
  rxQueueLimit: number,
): SinkDevice {
  const d = new SinkDevice({ name, allocator, clock, rxQueueLimit, mac: 0x02_00_00_00_00_99 });
  d.up();
  return d;
}

/** Queue `n` 60-byte frames on `dev`, the first byte of each carrying `tag`. */
function flood(dev: BaseDevice, n: number, tag = 0): void {
  const frame = new Uint8Array(60);
  frame[0] = tag;
  for (let i = 0; i < n; i++) assert.ok(dev.receiveBytes(frame));
}

// ---------------------------------------------------------------------------

test("net_rx_action: a 50,000-frame backlog is drained ≤ budget frames per task, squeezes counted, nothing lost", () => {
  const N = 50_000, BUDGET = 256;
  const clock = new EventLoopClock();
  const arena = smallArena(N + 16);
  const allocator = new SkbAllocator(arena);
  const perRun = new Uint32Array(1024);
  let maxQueued = 0;
  const softnet = new SoftNet(clock, (skb) => {
    perRun[softnet.runs]!++;
    maxQueued = Math.max(maxQueued, clock.queued);
    skb.free();
  }, { budget: BUDGET, weight: 64 });
  const dev = device("flood0", allocator, clock, N);
  dev.setRxNotify((d) => softnet.raise(d));
  flood(dev, N);
  assert.is(dev.rxQueue.length, N);
  assert.is(clock.queued, 1, "the first frame raised one drain task");
  clock.run(1_000);
  const runs = Math.ceil(N / BUDGET);
  assert.is(softnet.runs, runs);
  assert.is(softnet.processed, N);
  assert.is(softnet.timeSqueeze, runs - 1, "every drain but the last stopped with work left");
  for (let r = 1; r < runs; r++) assert.is(perRun[r], BUDGET, `drain ${r}`);
  assert.is(perRun[runs], N - BUDGET * (runs - 1));
  assert.is(maxQueued, 0, "no second drain is queued while one runs");
  assert.is(dev.rxQueue.length, 0);
  assert.is(arena.inUse, 0);
});

test("net_rx_action: timers stay on time under a receive flood — a t+10 ms timer fires at exactly 10 ms mid-flood", () => {
  const N = 50_000, BUDGET = 256;
  const COST = 1 / 256; // ms of CPU per frame: a full drain costs exactly 1 ms
  const run = (budget: number, timeBudgetMs?: number) => {
    const clock = new EventLoopClock();
    const arena = smallArena(N + 16);
    const allocator = new SkbAllocator(arena);
    const order: string[] = [];
    let lastRun = 0;
    const softnet = new SoftNet(clock, (skb) => {
      if (softnet.runs !== lastRun) {
        lastRun = softnet.runs;
        order.push("drain");
      }
      clock.charge(COST);
      skb.free();
    }, { budget, weight: 64, ...(timeBudgetMs !== undefined ? { timeBudgetMs } : {}) });
    const dev = device("flood0", allocator, clock, N);
    dev.setRxNotify((d) => softnet.raise(d));
    flood(dev, N);
    let firedAt = -1, processedThen = -1;
    clock.setTimer(10, () => {
      firedAt = clock.now();
      processedThen = softnet.processed;
      order.push("timer");
    });
    clock.run(1_000);
    assert.is(softnet.processed, N);
    assert.is(arena.inUse, 0);
    return { firedAt, processedThen, order, end: clock.now() };
  };
  const r = run(BUDGET);
  assert.is(r.firedAt, 10, "exactly on time");
  assert.is(r.processedThen, 10 * BUDGET, "ten drains ran before it");
  assert.ok(r.processedThen < N, "the flood was still being drained");
  const i = r.order.indexOf("timer");
  assert.is(i, 10, "timer after the 10th drain batch");
  assert.is(
    r.order.length - i - 1,
    Math.ceil(N / BUDGET) - 10,
    "and the rest of the flood after it",
  );
  assert.is(r.end, N * COST);
  // Control: a drain that never yields makes the same timer ~185 ms late…
  const all = run(N, Infinity);
  assert.is(all.firedAt, N * COST);
  assert.is(all.order.indexOf("timer"), 1);
  // …and without a packet budget the time budget (2 ms, netdev_budget_usecs) still
  // bounds the lateness to one time slice plus one device turn (64 frames).
  const timed = run(N);
  assert.ok(timed.firedAt >= 10 && timed.firedAt <= 10 + 2 + 64 * COST, `${timed.firedAt}`);
});

test("net_rx_action in a live stack: 50,000 frames on virtual time are drained in ceil(N/budget) tasks, every one counted", async () => {
  const N = 50_000;
  const clock = new VirtualClock();
  const arena = smallArena(N + 64);
  const stack = new Stack({ clock, arena, random: new SeededRandom(testSeed()) });
  const [d0, d1] = createPipe({ allocator: stack.allocator, clock, rxQueueLimit: N });
  stack.addInterface(d0, { address: "192.0.2.1/24", announce: false });
  d1.up();
  let got = 0;
  stack.ipv4.register(253, {
    rcv(skb) {
      got++;
      skb.free();
    },
  });
  const frame = ipv4Frame({
    ethDst: MAC_A,
    src: 0xc0000202,
    dst: IP_A,
    protocol: 253,
    payload: pattern(8),
  });
  for (let i = 0; i < N; i++) assert.ok(d0.receiveBytes(frame));
  const runs0 = stack.softnet.runs;
  let fired = -1;
  clock.setTimer(0, () => (fired = got));
  clock.advance(0);
  assert.is(got, N);
  assert.is(stack.softnet.runs - runs0, Math.ceil(N / stack.softnet.budget));
  assert.is(stack.softnet.timeSqueeze, Math.ceil(N / stack.softnet.budget) - 1);
  assert.is(stack.stats.ip.inDelivers, N);
  // VirtualClock runs deferred work before timers due at the same instant, so
  // there the drain completes first; the interleaving is shown with EventLoopClock.
  assert.is(fired, N);
  await stack.close();
  d1.close();
  clock.runUntilIdle();
  assert.is(arena.inUse, 0);
});

test("net_rx_action in a live stack on an event loop: ARP retransmissions stay on time during a 1.25 s flood", async () => {
  const N = 40_000;
  const clock = new EventLoopClock();
  const arena = smallArena(N + 64);
  const stack = new Stack({
    clock,
    arena,
    random: new SeededRandom(testSeed()),
    softnet: { budget: 256, weight: 64 },
  });
  const [d0, d1] = createPipe({ allocator: stack.allocator, clock, rxQueueLimit: N });
  stack.addInterface(d0, { address: "192.0.2.1/24", announce: false });
  d1.up();
  let got = 0;
  stack.ipv4.register(253, {
    rcv(skb) {
      got++;
      clock.charge(1 / 32); // 64 frames (one turn) cost exactly 2 ms
      skb.free();
    },
  });
  const frame = ipv4Frame({ src: 0xc0000202, dst: IP_A, protocol: 253, payload: pattern(8) });
  for (let i = 0; i < N; i++) assert.ok(d0.receiveBytes(frame));
  const arp: [number, number][] = [];
  d0.addTap((dir, u8, off, _len, time) => {
    if (dir === "tx" && u8[off + 12] === 0x08 && u8[off + 13] === 0x06) {
      arp.push([time, stack.softnet.processed]);
    }
  });
  // Nobody answers for 192.0.2.77: ARP asks at 0, 1000 and 2000 ms (L2), then gives up.
  let err: unknown;
  stack.ping("192.0.2.77", { timeout: 5000 }).catch((e) => (err = e));
  clock.run(10_000);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(arp.map(([t]) => t), [0, 1000, 2000], "probes on time");
  assert.ok(arp[1]![1] > 0 && arp[1]![1] < N, `the flood was mid-way at 1000 ms (${arp[1]![1]})`);
  assert.is(arp[2]![1], N, "and over by 2000 ms");
  assert.is((err as { code?: string }).code, "EHOSTUNREACH");
  assert.is(got, N);
  await stack.close();
  d1.close();
  clock.run(100_000);
  assert.is(arena.inUse, 0);
});

test("round robin: two flooded devices alternate in turns of `weight` and finish together (budget 300, weight 64)", () => {
  const clock = new EventLoopClock();
  const arena = smallArena(20_100);
  const allocator = new SkbAllocator(arena);
  const seq: number[] = [];
  const softnet = new SoftNet(clock, (skb) => {
    seq.push(arena.u8[skb.data]!);
    skb.free();
  });
  const d1 = device("d1", allocator, clock, 20_000);
  const d2 = device("d2", allocator, clock, 20_000);
  d1.setRxNotify((d) => softnet.raise(d));
  d2.setRxNotify((d) => softnet.raise(d));
  flood(d1, 10_000, 1);
  flood(d2, 10_000, 2);
  clock.run(1_000);
  assert.is(seq.length, 20_000);
  assert.equal(seq.slice(0, 256), [
    ...Array(64).fill(1),
    ...Array(64).fill(2),
    ...Array(64).fill(1),
    ...Array(64).fill(2),
  ]);
  let diff = 0, worst = 0;
  for (const s of seq) {
    diff += s === 1 ? 1 : -1;
    worst = Math.max(worst, Math.abs(diff));
  }
  assert.ok(worst <= 64, `share never differs by more than one turn (worst ${worst})`);
  assert.ok(seq.lastIndexOf(1) > 19_800 && seq.lastIndexOf(2) > 19_800, "both finish at the end");
});

test("round robin: fair shares even when the budget is not a multiple of the weight (budget 100, weight 64)", () => {
  const clock = new EventLoopClock();
  const arena = smallArena(20_100);
  const allocator = new SkbAllocator(arena);
  const seq: number[] = [];
  const softnet = new SoftNet(clock, (skb) => {
    seq.push(arena.u8[skb.data]!);
    skb.free();
  }, { budget: 100, weight: 64 });
  const d1 = device("d1", allocator, clock, 20_000);
  const d2 = device("d2", allocator, clock, 20_000);
  d1.setRxNotify((d) => softnet.raise(d));
  d2.setRxNotify((d) => softnet.raise(d));
  flood(d1, 10_000, 1);
  flood(d2, 10_000, 2);
  clock.run(1_000);
  let diff = 0, worst = 0;
  for (const [i, s] of seq.entries()) {
    diff += s === 1 ? 1 : -1;
    if (i < 19_000) worst = Math.max(worst, Math.abs(diff));
  }
  assert.ok(worst <= 64, `share never differs by more than one turn (worst ${worst})`);
  assert.ok(softnet.runs <= 201);
  assert.ok(seq.slice(0, 100 * 20).filter((s) => s === 1).length <= 1000 + 64);
});

test("round robin: a lightly loaded device is not stuck behind a flooded one", () => {
  const clock = new EventLoopClock();
  const arena = smallArena(10_200);
  const allocator = new SkbAllocator(arena);
  const seq: number[] = [];
  const softnet = new SoftNet(clock, (skb) => {
    seq.push(arena.u8[skb.data]!);
    skb.free();
  });
  const d1 = device("d1", allocator, clock, 20_000);
  const d2 = device("d2", allocator, clock, 20_000);
  d1.setRxNotify((d) => softnet.raise(d));
  d2.setRxNotify((d) => softnet.raise(d));
  flood(d1, 10_000, 1);
  flood(d2, 100, 2);
  clock.run(1_000);
  assert.ok(seq.lastIndexOf(2) < 300, `d2 done at ${seq.lastIndexOf(2)}: within the first drain`);
});

test("a device signalled while the drain runs does not get a second drain task queued", () => {
  const clock = new EventLoopClock();
  const arena = smallArena(2_000);
  const allocator = new SkbAllocator(arena);
  const d1 = device("d1", allocator, clock, 2_000);
  const d2 = device("d2", allocator, clock, 2_000);
  let maxQueued = 0;
  const frame = new Uint8Array(60);
  const softnet = new SoftNet(clock, (skb, dev) => {
    // Each frame from d1 makes d2 receive one (a driver answering synchronously).
    if (dev === d1) d2.receiveBytes(frame);
    skb.free();
  }, { budget: 64, weight: 16 });
  d1.setRxNotify((d) => softnet.raise(d));
  d2.setRxNotify((d) => softnet.raise(d));
  flood(d1, 500, 1);
  const origDefer = clock.defer.bind(clock);
  clock.defer = (cb) => {
    origDefer(cb);
    maxQueued = Math.max(maxQueued, clock.queued);
  };
  clock.run(1_000);
  assert.is(softnet.processed, 1000);
  assert.is(maxQueued, 1, "at most one drain task waits at any time");
  assert.is(arena.inUse, 0);
});

test("a handler that throws affects one frame: the device is not stranded, the rest is drained later", () => {
  const clock = new EventLoopClock();
  const arena = smallArena(1_000);
  const allocator = new SkbAllocator(arena);
  let n = 0;
  const softnet = new SoftNet(clock, (skb) => {
    skb.free();
    if (++n === 5) throw new Error("handler bug");
  });
  const d1 = device("d1", allocator, clock, 1_000);
  d1.setRxNotify((d) => softnet.raise(d));
  flood(d1, 100);
  assert.throws(() => clock.run(1_000), /handler bug/);
  assert.is(n, 5);
  // The exception escaped one task (a browser logs it and carries on): the
  // remaining 95 frames must still be drained, and new frames too.
  clock.run(1_000);
  assert.is(n, 100);
  flood(d1, 10);
  clock.run(1_000);
  assert.is(n, 110);
  assert.is(arena.inUse, 0);
});

test("a device taken down with frames queued leaves the poll list; budget and weight are validated", () => {
  const clock = new EventLoopClock();
  const arena = smallArena(1_000);
  const allocator = new SkbAllocator(arena);
  let n = 0;
  const softnet = new SoftNet(clock, (skb) => {
    n++;
    skb.free();
  }, { budget: 10 });
  const d1 = device("d1", allocator, clock, 1_000);
  d1.setRxNotify((d) => softnet.raise(d));
  flood(d1, 100);
  clock.run(0);
  assert.is(n, 100);
  // Again, but the device goes down after the second drain.
  const origDefer = clock.defer.bind(clock);
  let drains = 0;
  clock.defer = (cb) =>
    origDefer(() => {
      cb();
      if (++drains === 2) d1.down();
    });
  flood(d1, 100);
  clock.run(1_000);
  assert.is(n, 120, "two drains of 10, then the device went down and its queue was freed");
  assert.is(arena.inUse, 0);
  assert.not.ok(softnet.pending);
  assert.throws(() => new SoftNet(clock, () => {}, { budget: 0 }), RangeError);
  assert.throws(() => new SoftNet(clock, () => {}, { weight: 0 }), RangeError);
});
