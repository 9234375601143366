/**
 * The Chromium runner's bookkeeping: parsing `deno test` output into per-file
 * outcomes, and the per-file comparison that chromium_test.ts asserts on.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { compare, parseDenoReport } from "./run.ts";

const REPORT = [
  "running 2 tests from ./tests/core/a_test.ts",
  "./tests/core/a_test.ts => one ... ok (1ms)",
  "------- post-test output -------",
  "noise",
  "./tests/core/a_test.ts => two: a ... b ...----- post-test output end -----",
  "./tests/core/a_test.ts => two: a ... b ... ok (2ms)",
  "./tests/wasm/b_test.ts => needs deno ... ok (3ms)",
  "./tests/wasm/b_test.ts => shared ... FAILED (3ms)",
  "./tests/wasm/b_test.ts => off ... ignored (0ms)",
  "",
  "FAILED | 3 passed | 1 failed | 1 ignored (1s)",
].join("\n");

test(
  "browser runner: parseDenoReport groups deno test's lines by file and checks the summary",
  () => {
    const out = parseDenoReport(REPORT);
    assert.equal(out["core/a_test.ts"]?.passed, ["one", "two: a ... b"]);
    assert.equal(out["wasm/b_test.ts"]?.passed, ["needs deno"]);
    assert.equal(out["wasm/b_test.ts"]?.failed, ["shared"]);
    assert.equal(out["wasm/b_test.ts"]?.ignored, ["off"]);
    assert.throws(() => parseDenoReport(REPORT.replace("3 passed", "4 passed")), /deno test says/);
    assert.throws(() => parseDenoReport("no summary"), /no deno test summary/);
  },
  { ignore: !isDeno, reason: "the runner's bookkeeping is Deno-side code" },
);

test(
  "browser runner: compare accepts Deno-only tests the page reported as ignored, and flags any other difference",
  () => {
    const deno = parseDenoReport(REPORT);
    const o = (passed: string[], failed: string[] = [], ignored: string[] = []) => ({
      passed,
      failed,
      ignored,
      detail: {},
    });
    const same = compare(["core/a_test.ts", "wasm/b_test.ts"], deno, {
      "core/a_test.ts": o(["two: a ... b", "one"]),
      "wasm/b_test.ts": o([], ["shared"], ["needs deno"]),
    });
    assert.equal(same.map((r) => r.problems), [[], []]);
    assert.equal(same[1]?.denoOnly, ["needs deno"]);
    const differ = compare(["core/a_test.ts", "wasm/b_test.ts"], deno, {
      "core/a_test.ts": o(["one"], ["two: a ... b"]),
    });
    assert.equal(differ[0]?.problems, [
      "passed under Deno only: two: a ... b",
      "failed in Chromium only: two: a ... b: ",
    ]);
    assert.equal(differ[1]?.problems, ["passed under Deno only: needs deno"]);
  },
  { ignore: !isDeno, reason: "the runner's bookkeeping is Deno-side code" },
);
