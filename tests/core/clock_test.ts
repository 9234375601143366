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
