import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { TimerEntry, TimerHeap } from "../../src/core/timers.ts";
import { VirtualClock } from "../../src/core/clock.ts";

test("TimerHeap: pops in (deadline, arming order) for random schedules and cancels", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ when: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), {
        maxLength: 200,
      }),
      (specs) => {
        const heap = new TimerHeap();
        const entries = specs.map((s, i) => {
          const e = new TimerEntry(() => {});
          (e as unknown as { id: number }).id = i;
          heap.schedule(e, s.when);
          return e;
        });
        specs.forEach((s, i) => {
          if (s.cancel) heap.cancel(entries[i]!);
        });
        const expected = specs
          .map((s, i) => ({ ...s, i }))
          .filter((s) => !s.cancel)
          .sort((a, b) => a.when - b.when || a.i - b.i)
          .map((s) => s.i);
        const got: number[] = [];
        for (let e = heap.popDue(Infinity); e; e = heap.popDue(Infinity)) {
          got.push((e as unknown as { id: number }).id);
          assert.is(e.pending, false);
        }
        assert.equal(got, expected);
        assert.is(heap.size, 0);
      },
    ),
    { seed: testSeed(), numRuns: 300 },
  );
});

test("TimerHeap: rescheduling a pending timer moves it instead of duplicating it", () => {
  const heap = new TimerHeap();
  const a = new TimerEntry(() => {});
  heap.schedule(a, 10);
  heap.schedule(a, 5);
  assert.is(heap.size, 1);
  assert.is(heap.popDue(5), a);
  assert.is(heap.popDue(100), undefined);
});

test("TimerHeap: non-finite deadlines are refused with RangeError", () => {
  const heap = new TimerHeap();
  assert.throws(() => heap.schedule(new TimerEntry(() => {}), NaN), RangeError);
});

test("VirtualClock: timers fire at their deadline, in order, with now() == deadline", () => {
  const clock = new VirtualClock(1000);
  const log: string[] = [];
  clock.setTimer(30, () => log.push(`b@${clock.now()}`));
  clock.setTimer(10, () => {
    log.push(`a@${clock.now()}`);
    clock.setTimer(5, () => log.push(`c@${clock.now()}`));
  });
  const t = clock.setTimer(20, () => log.push("cancelled"));
  clock.clearTimer(t);
  clock.advance(29);
  assert.equal(log, ["a@1010", "c@1015"]);
  assert.is(clock.now(), 1029);
  clock.advance(1);
  assert.equal(log, ["a@1010", "c@1015", "b@1030"]);
});

test("VirtualClock: deferred tasks run FIFO before later timers", () => {
  const clock = new VirtualClock();
  const log: number[] = [];
  clock.setTimer(0, () => log.push(3));
  clock.defer(() => {
    log.push(1);
    clock.defer(() => log.push(2));
  });
  clock.advance(0);
  assert.equal(log, [1, 2, 3]);
});

test("VirtualClock: runUntil throws when the condition never holds (no silent hang)", () => {
  const clock = new VirtualClock();
  const tick = () => clock.setTimer(100, tick);
  tick();
  assert.throws(() => clock.runUntil(() => false, 10_000), /still false/);
  assert.is(clock.now(), 10_000);
  const idle = new VirtualClock();
  assert.throws(() => idle.runUntil(() => false), /idle/);
});

test("VirtualClock: runUntilIdle stops at maxMs with a self-rearming timer", () => {
  const clock = new VirtualClock();
  let n = 0;
  const tick = () => {
    n++;
    clock.setTimer(1000, tick);
  };
  clock.setTimer(1000, tick);
  clock.runUntilIdle(10_500);
  assert.is(n, 10);
});
