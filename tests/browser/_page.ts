/**
 * The page side of the Chromium runner (bundled to `_page.js`; never run by
 * Deno). Imports each test file in turn, the way uvu's CLI does (one queue
 * group per file, `UVU_DEFER` set by the page before uvu loads), runs them
 * all with uvu's `exec`, and hands the outcomes that `tests/_util/test.ts`
 * recorded to the harness: through `__netwasmDone` (exposed by Playwright)
 * and `globalThis.__NETWASM_DONE__`.
 *
 * The page URL carries the environment for `env()` / `testSeed()` as
 * `?env=<JSON object>`, so `NETWASM_SEED` and friends match the Deno run.
 *
 * @module
 */
import { exec, test as uvuTest } from "uvu";
import type { BrowserHooks, BrowserResult } from "../_util/test.ts";

/** What the page reports when it is done. */
export interface PageReport {
  readonly results: BrowserResult[];
  /** Test files in the order imported. */
  readonly files: string[];
  readonly userAgent: string;
  readonly crossOriginIsolated: boolean;
  readonly ms: number;
}

interface UvuGlobals {
  UVU_QUEUE: unknown[][];
  UVU_INDEX: number;
  __NETWASM_TEST__: BrowserHooks;
  __NETWASM_DONE__?: PageReport;
  __netwasmDone?: (json: string) => void;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const g = globalThis as unknown as UvuGlobals;
  const envParam = new URL(location.href).searchParams.get("env");
  const hooks: BrowserHooks = {
    file: "",
    env: envParam ? JSON.parse(envParam) as Record<string, string> : {},
    results: [],
  };
  g.__NETWASM_TEST__ = hooks;
  const files = await (await fetch(new URL("manifest.json", location.href))).json() as string[];
  for (const [i, file] of files.entries()) {
    g.UVU_QUEUE.push([file]);
    g.UVU_INDEX = i;
    hooks.file = file;
    try {
      await import(new URL(file.replace(/\.ts$/, ".js"), location.href).href);
    } catch (e) {
      const detail = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
      hooks.results.push({ file, name: "(import)", status: "failed", detail, ms: 0 });
    }
    uvuTest.run();
  }
  await exec();
  const report: PageReport = {
    results: hooks.results,
    files,
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    ms: performance.now() - t0,
  };
  g.__NETWASM_DONE__ = report;
  g.__netwasmDone?.(JSON.stringify(report));
}

await main();
