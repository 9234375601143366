/**
 * The one `test()` every test file uses. Under Deno it is `Deno.test`; in a
 * browser (the Chromium runner, `tests/browser/`) it registers with uvu, so
 * the same files run in both places.
 *
 * In a browser the harness may set `globalThis.__NETWASM_TEST__` (see
 * {@link BrowserHooks}) before importing each test file: every test then also
 * records its outcome there, attributed to the file being imported, and
 * {@link env} reads the environment the harness passed (so `NETWASM_SEED` and
 * friends have the same values as under Deno).
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

/** One test's outcome in a browser run. */
export interface BrowserResult {
  /** The test file, as the harness named it (e.g. `wire/addr_test.ts`). */
  readonly file: string;
  readonly name: string;
  /** `ignored`: registered with `ignore: true` (e.g. needs Deno), not run. */
  readonly status: "passed" | "failed" | "ignored";
  /** Failure message and stack, or the reason a test was ignored. */
  readonly detail?: string;
  /** Milliseconds. */
  readonly ms: number;
}

/** What the browser harness provides on `globalThis.__NETWASM_TEST__`. */
export interface BrowserHooks {
  /** The file whose tests are being registered now. */
  file: string;
  /** Environment variables for {@link env}. */
  env: Record<string, string>;
  /** Outcomes, appended as tests finish. */
  results: BrowserResult[];
}

const deno = (globalThis as { Deno?: typeof Deno }).Deno;

function hooks(): BrowserHooks | undefined {
  return (globalThis as { __NETWASM_TEST__?: BrowserHooks }).__NETWASM_TEST__;
}

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
    return;
  }
  const h = hooks();
  if (h === undefined) {
    if (!options.ignore) uvuTest(name, fn);
    return;
  }
  const file = h.file;
  if (options.ignore) {
    h.results.push({ file, name, status: "ignored", detail: options.reason ?? "", ms: 0 });
    return;
  }
  uvuTest(name, async () => {
    const t0 = performance.now();
    try {
      await fn();
    } catch (e) {
      const detail = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
      h.results.push({ file, name, status: "failed", detail, ms: performance.now() - t0 });
      throw e;
    }
    h.results.push({ file, name, status: "passed", ms: performance.now() - t0 });
  });
}

/** True when running under Deno (interop and CLI tests need it). */
export const isDeno = deno !== undefined;

/**
 * An environment variable: `Deno.env` under Deno, the browser harness's
 * copy in a browser (undefined when unset or without a harness).
 *
 * @example
 * ```ts
 * import { env } from "./test.ts";
 * const ci = env("CI") === "true";
 * ```
 */
export function env(name: string): string | undefined {
  if (deno !== undefined) return deno.env.get(name);
  return hooks()?.env[name];
}

/**
 * A seed for property tests: fixed in CI (`NETWASM_SEED` or 42), printed so a
 * failing run can be replayed with the same value. The browser runner passes
 * the same `NETWASM_SEED` to the page.
 */
export function testSeed(): number {
  const value = env("NETWASM_SEED");
  return value !== undefined ? Number(value) | 0 : 42;
}
