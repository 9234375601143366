import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { settle } from "../_util/sim.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import {
  type CandidateAddress,
  happyEyeballs,
  interleaveFamilies,
} from "../../src/api/happy_eyeballs.ts";

const v4 = (n: number): CandidateAddress => ({ address: `192.0.2.${n}`, family: 4 });
const v6 = (n: number): CandidateAddress => ({ address: `2001:db8::${n}`, family: 6 });

/** An attempt that settles after `ms` (success or failure), or never; records start times. */
function script(clock: VirtualClock, plan: Record<string, { ms: number; ok: boolean } | "hang">) {
  const started: [string, number][] = [];
  const aborted: string[] = [];
  const attempt = (a: CandidateAddress, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      started.push([a.address, clock.now()]);
      signal.addEventListener("abort", () => {
        aborted.push(a.address);
        reject(new Error(`aborted ${a.address}`));
      });
      const p = plan[a.address];
      if (p === undefined || p === "hang") return;
      clock.setTimer(
        p.ms,
        () => p.ok ? resolve(a.address) : reject(new Error(`failed ${a.address}`)),
      );
    });
  return { started, aborted, attempt };
}

test("Happy Eyeballs: families interleave, IPv6 first (RFC 8305 §4)", () => {
  assert.equal(
    interleaveFamilies([v6(1), v6(2), v6(3), v4(1), v4(2)]).map((a) => a.address),
    ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "2001:db8::3"],
  );
  assert.equal(interleaveFamilies([]), []);
});

test("Happy Eyeballs: staggered by 250 ms; a failure starts the next at once; the winner aborts the rest (RFC 8305 §5)", async () => {
  const clock = new VirtualClock();
  const s = script(clock, {
    "192.0.2.1": "hang",
    "192.0.2.2": { ms: 10, ok: false },
    "192.0.2.3": { ms: 100, ok: true },
    "192.0.2.4": "hang",
  });
  const winner = await settle(
    clock,
    happyEyeballs([v4(1), v4(2), v4(3), v4(4)], s.attempt, { clock, discard: () => {} }),
  );
  assert.is(winner, "192.0.2.3");
  assert.equal(s.started, [["192.0.2.1", 0], ["192.0.2.2", 250], ["192.0.2.3", 260]]);
  assert.equal(s.aborted, ["192.0.2.1"]);
});

test("Happy Eyeballs: all failing rejects with the first address's error; a late success is discarded", async () => {
  const clock = new VirtualClock();
  const s = script(clock, {
    "192.0.2.1": { ms: 50, ok: false },
    "192.0.2.2": { ms: 60, ok: false },
  });
  const e = await settle(
    clock,
    happyEyeballs([v4(1), v4(2)], s.attempt, { clock, discard: () => {} }).catch((e) => e),
  );
  assert.match(e.message, /failed 192\.0\.2\.1/);
  const discarded: string[] = [];
  const late = script(clock, {
    "192.0.2.1": { ms: 300, ok: true },
    "192.0.2.2": { ms: 10, ok: true },
  });
  const w = await settle(
    clock,
    happyEyeballs([v4(1), v4(2)], (a) => late.attempt(a, new AbortController().signal), {
      clock,
      discard: (x) => discarded.push(x),
    }),
  );
  assert.is(w, "192.0.2.2");
  await settle(clock, new Promise((r) => clock.setTimer(500, () => r(null))));
  assert.equal(discarded, ["192.0.2.1"]);
});
