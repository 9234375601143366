import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { RealClock } from "../../src/core/clock.ts";

test("RealClock: close() closes both ends of the defer channel (no leaked message port)", async () => {
  // The resource sanitizer of test() fails this test if a port stays open.
  const clock = new RealClock();
  const keepAlive = setTimeout(() => {}, 1000); // the unref'd port alone doesn't keep the loop running
  await new Promise<void>((resolve) => clock.defer(resolve));
  clock.close();
  clearTimeout(keepAlive);
});

test("RealClock: deferred tasks run in order as one later task; timers fire after their delay", async () => {
  const clock = new RealClock();
  const log: string[] = [];
  const keepAlive = setTimeout(() => {}, 1000);
  const done = new Promise<void>((resolve) => {
    clock.defer(() => log.push("a"));
    clock.defer(() => log.push("b"));
    const start = clock.now();
    clock.setTimer(5, () => {
      log.push(clock.now() - start >= 5 ? "timer-late-enough" : "timer-early");
      resolve();
    });
  });
  log.push("sync");
  await done;
  clock.close();
  clearTimeout(keepAlive);
  assert.equal(log, ["sync", "a", "b", "timer-late-enough"]);
});

test("RealClock: zero-delay timers and deferred work run without a host timer (no millisecond hops)", async () => {
  const clock = new RealClock();
  const hostTimers = { n: 0 };
  const realSetTimeout = globalThis.setTimeout;
  // Count host timers the clock asks for while a 1000-step chain of
  // zero-delay timers and deferred tasks runs.
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    hostTimers.n++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  let steps = 0;
  clock.ref(); // this test waits on the clock's work
  try {
    await new Promise<void>((resolve) => {
      const step = () => {
        if (++steps === 1000) return resolve();
        if (steps % 2 === 0) clock.setTimer(0, step);
        else clock.defer(step);
      };
      step();
    });
  } finally {
    globalThis.setTimeout = realSetTimeout;
    clock.unref();
    clock.close();
  }
  assert.is(steps, 1000);
  assert.is(hostTimers.n, 0, "a zero-delay timer must not become a host setTimeout");
});

test("RealClock: inside a deferred task now() reads the task's start; outside it reads the host clock", async () => {
  const clock = new RealClock();
  const readings: number[] = [];
  await new Promise<void>((resolve) => {
    clock.defer(() => {
      readings.push(clock.now());
      const until = performance.now() + 2;
      while (performance.now() < until) { /* work for 2 ms */ }
      readings.push(clock.now());
      resolve();
    });
  });
  clock.close();
  assert.is(readings[1], readings[0], "one reading per callback (Linux tcp_mstamp)");
  assert.ok(clock.now() >= readings[0]! + 2, "outside callbacks the clock moves");
});

test("RealClock: a task chain that never stops still lets the host run its own timers (yields after a slice)", async () => {
  const clock = new RealClock();
  let hostTimerRan = false;
  let stepsBeforeHost = -1;
  const t = setTimeout(() => {
    hostTimerRan = true;
  }, 0);
  let steps = 0;
  clock.ref(); // this test waits on the clock's work
  await new Promise<void>((resolve) => {
    const step = () => {
      steps++;
      if (hostTimerRan && stepsBeforeHost < 0) stepsBeforeHost = steps;
      const until = performance.now() + 0.25;
      while (performance.now() < until) { /* a busy receive drain */ }
      // Stop once the host timer ran and some more work followed, or after
      // 2 s of work (the assertion below then fails: the host was starved).
      if ((stepsBeforeHost > 0 && steps > stepsBeforeHost + 10) || steps > 8000) resolve();
      else clock.defer(step);
    };
    clock.defer(step);
  });
  clearTimeout(t);
  clock.unref();
  clock.close();
  assert.ok(hostTimerRan, `the host's setTimeout(0) never ran during ${steps} steps`);
  assert.ok(stepsBeforeHost > 0 && stepsBeforeHost < steps);
});
