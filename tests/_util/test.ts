/**
 * The one `test()` every test file uses. Under Deno it is `Deno.test`; in a
 * browser (the Chromium runner) it registers with uvu, so the same files run
 * in both places.
 *
 * @module
 */
import { test as uvuTest } from "uvu";

/** A test body; may be async. */
export type TestFn = () => void | Promise<void>;

/** Options for a test. */
export interface TestOptions {
  /** Skip with this reason (printed). */
  ignore?: boolean;
  /** Why it is skipped, printed when `ignore` is true. */
  reason?: string;
}

const deno = (globalThis as { Deno?: typeof Deno }).Deno;

/**
 * Register a test.
 *
 * @example
 * ```ts
 * import { test } from "./test.ts";
 * import * as assert from "uvu/assert";
 * test("adds", () => assert.is(1 + 1, 2));
 * ```
 */
export function test(name: string, fn: TestFn, options: TestOptions = {}): void {
  if (deno?.test) {
    if (options.ignore && options.reason) console.log(`skip: ${name}: ${options.reason}`);
    deno.test({
      name,
      fn,
      ignore: options.ignore ?? false,
      sanitizeOps: true,
      sanitizeResources: true,
    });
  } else if (!options.ignore) {
    uvuTest(name, fn);
  }
}

/** True when running under Deno (interop and CLI tests need it). */
export const isDeno = deno !== undefined;

/**
 * A seed for property tests: fixed in CI (`NETWASM_SEED` or 42), printed so a
 * failing run can be replayed with the same value.
 */
export function testSeed(): number {
  const env = deno?.env.get("NETWASM_SEED");
  return env !== undefined ? Number(env) | 0 : 42;
}
