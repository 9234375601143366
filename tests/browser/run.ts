/**
 * The Chromium runner: bundles the browser test set (`files.ts`,
 * `bundle.ts`), serves it on 127.0.0.1 with COOP/COEP (`server.ts`), drives
 * Debian's `/usr/bin/chromium` with playwright-core, and collects per-file
 * outcomes from the page. {@link runInDeno} runs the same files under
 * `deno test` and {@link compare} checks that, per file, the same tests
 * passed in both places.
 *
 * `deno task test:browser` runs it from the command line and prints the
 * table; `tests/browser/chromium_test.ts` runs it under `deno test`.
 *
 * @module
 */
import { chromium } from "playwright-core";
import type { BrowserResult } from "../_util/test.ts";
import type { PageReport } from "./_page.ts";
import { bundleBrowserTests } from "./bundle.ts";
import { browserTestFiles, type Exclusion } from "./files.ts";
import { startServer } from "./server.ts";

const ROOT = new URL("../../", import.meta.url);
const path = (u: URL) => decodeURIComponent(u.pathname);

/** Where Debian's chromium package installs the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Flags for headless Chromium; the last four stop it from calling out to Google. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launch Debian's Chromium headless with {@link CHROMIUM_ARGS} and a fresh
 * profile in `profileDir`; close the returned context when done.
 *
 * @example
 * ```ts
 * import { launchChromium } from "./run.ts";
 * const context = await launchChromium(await Deno.makeTempDir());
 * await context.close();
 * ```
 */
export function launchChromium(
  profileDir: string,
): ReturnType<typeof chromium.launchPersistentContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
}

/** Per-file outcome counts and names. */
export interface FileOutcome {
  passed: string[];
  failed: string[];
  /** Registered with `ignore` (in the browser: Deno-only tests, with reasons). */
  ignored: string[];
  /** Failure details and ignore reasons, by test name. */
  detail: Record<string, string>;
}

/** Outcomes by test file (relative to `tests/`). */
export type Outcomes = Record<string, FileOutcome>;

const empty = (): FileOutcome => ({ passed: [], failed: [], ignored: [], detail: {} });

/**
 * The environment both runs see, so they run the same tests with the same
 * parameters: `CI` and every `NETWASM_*` variable from this process, with
 * `NETWASM_TCP_SEEDS` (20) and `NETWASM_TCP_MAX` (1 MiB) defaulted to keep
 * transfer_test's CI matrix out of the equivalence run (the full matrix runs
 * in the Deno suite). `NETWASM_SEED` is passed when set; unset, both use 42.
 */
export function equivalenceEnv(): Record<string, string> {
  const out: Record<string, string> = {
    NETWASM_TCP_SEEDS: "20",
    NETWASM_TCP_MAX: String(1 << 20),
  };
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (k === "CI" || k.startsWith("NETWASM_")) out[k] = v;
  }
  return out;
}

function group(results: readonly BrowserResult[]): Outcomes {
  const out: Outcomes = {};
  for (const r of results) {
    const o = out[r.file] ??= empty();
    o[r.status].push(r.name);
    if (r.detail) o.detail[r.name] = r.detail;
  }
  return out;
}

/** The result of a Chromium run. */
export interface ChromiumRun {
  readonly outcomes: Outcomes;
  readonly files: readonly string[];
  readonly excluded: readonly Exclusion[];
  readonly userAgent: string;
  readonly crossOriginIsolated: boolean;
  /** Bytes of JavaScript in the test bundle. */
  readonly bundleBytes: number;
  /** What `/netwasm.js` reported in a page and in a module Worker. */
  readonly bundleCheck: { page: unknown; worker: unknown };
  /** Bytes of `netwasm.js`. */
  readonly netwasmBytes: number;
  readonly ms: number;
}

/** Options for {@link runInChromium}. */
export interface ChromiumOptions {
  /** Environment for the page's `env()` (default {@link equivalenceEnv}). */
  readonly env?: Record<string, string>;
  /** Overall limit for the test page, ms (default 150 000). */
  readonly timeoutMs?: number;
  /** Only these files (default: the whole browser set). */
  readonly files?: readonly string[];
}

/**
 * Load `url` in `page` and wait for it to call `__netwasmDone(json)`,
 * bounded by `timeoutMs`; rejects on a page error or crash.
 */
export async function pageReport(
  // deno-lint-ignore no-explicit-any
  page: any,
  url: string,
  timeoutMs: number,
): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      timer = setTimeout(async () => {
        const partial = await page.evaluate(() =>
          // deno-lint-ignore no-explicit-any
          JSON.stringify((globalThis as any).__NETWASM_TEST__?.results?.slice(-3) ?? null)
        ).catch(() => "unavailable");
        reject(new Error(`${url}: no report after ${timeoutMs} ms; last results: ${partial}`));
      }, timeoutMs);
      page.on("pageerror", (e: Error) => reject(new Error(`${url}: page error: ${e.stack ?? e}`)));
      page.on("crash", () => reject(new Error(`${url}: page crashed`)));
      page.exposeFunction("__netwasmDone", (json: string) => resolve(json))
        .then(() => page.goto(url))
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Bundle, serve and run the browser test set in headless Chromium; also load
 * a freshly built `netwasm.js` in a plain page and in a module Worker.
 *
 * @example
 * ```ts
 * import { runInChromium } from "./run.ts";
 * const run = await runInChromium();
 * console.log(run.outcomes["core/hash_test.ts"]?.passed.length);
 * ```
 */
export async function runInChromium(options: ChromiumOptions = {}): Promise<ChromiumRun> {
  const t0 = performance.now();
  const set = await browserTestFiles(new URL("tests/", ROOT));
  const files = options.files ?? set.files;
  const env = options.env ?? equivalenceEnv();
  const work = await Deno.makeTempDir({ prefix: "netwasm_browser_" });
  const profile = await Deno.makeTempDir({ prefix: "netwasm_chromium_" });
  let server: ReturnType<typeof startServer> | undefined;
  // deno-lint-ignore no-explicit-any
  let context: any;
  try {
    const bundle = await bundleBrowserTests(`${work}/t`, files);
    const built = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "build.ts",
        "--bundle-only",
        "--outfile",
        `${work}/netwasm.js`,
      ],
      cwd: path(ROOT),
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!built.success) {
      throw new Error(`build.ts --bundle-only failed:\n${new TextDecoder().decode(built.stderr)}`);
    }
    const netwasmBytes = (await Deno.stat(`${work}/netwasm.js`)).size;
    server = startServer([
      { prefix: "/t/", dir: `${work}/t` },
      { prefix: "/t/", dir: path(new URL("tests/", ROOT)), listing: true },
      { prefix: "/", dir: work },
      { prefix: "/", dir: path(new URL("static/", import.meta.url)) },
    ]);
    context = await launchChromium(profile);
    const checkPage = await context.newPage();
    const bundleCheck = JSON.parse(
      await pageReport(checkPage, `${server.origin}/bundle.html`, 30_000),
    ) as ChromiumRun["bundleCheck"];
    await checkPage.close();
    const page = await context.newPage();
    const url = `${server.origin}/t/index.html?env=${encodeURIComponent(JSON.stringify(env))}`;
    const report = JSON.parse(
      await pageReport(page, url, options.timeoutMs ?? 150_000),
    ) as PageReport;
    return {
      outcomes: group(report.results),
      files: report.files,
      excluded: set.excluded,
      userAgent: report.userAgent,
      crossOriginIsolated: report.crossOriginIsolated,
      bundleBytes: bundle.bytes,
      bundleCheck,
      netwasmBytes,
      ms: performance.now() - t0,
    };
  } finally {
    await context?.close();
    await server?.close();
    await Deno.remove(work, { recursive: true });
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** One line of `deno test`'s pretty report: `./tests/x_test.ts => name ... ok (1ms)`. */
const RESULT = /^\.\/tests\/(\S+_test\.ts) => (.*) \.\.\. (ok|FAILED|ignored) \(/;
const SUMMARY =
  /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \| (\d+) ignored)?/;

/**
 * Parse `deno test`'s pretty output (run with `--parallel`, so each line
 * names its file) into per-file outcomes; throws if the lines do not add up
 * to Deno's summary.
 */
export function parseDenoReport(text: string): Outcomes {
  const out: Outcomes = {};
  let summary: RegExpExecArray | null = null;
  for (const line of text.split("\n")) {
    const m = RESULT.exec(line);
    if (m) {
      const o = out[m[1]!] ??= empty();
      (m[3] === "ok" ? o.passed : m[3] === "FAILED" ? o.failed : o.ignored).push(m[2]!);
    }
    summary = SUMMARY.exec(line) ?? summary;
  }
  if (summary === null) throw new Error(`no deno test summary in:\n${text.slice(-2000)}`);
  const count = (k: "passed" | "failed" | "ignored") =>
    Object.values(out).reduce((n, o) => n + o[k].length, 0);
  const want = [Number(summary[1]), Number(summary[2]), Number(summary[3] ?? 0)];
  const got = [count("passed"), count("failed"), count("ignored")];
  if (want.join() !== got.join()) {
    throw new Error(`parsed ${got} passed/failed/ignored, deno test says ${want}`);
  }
  return out;
}

/**
 * Run `files` (relative to `tests/`) under `deno test --parallel` with `env`
 * added to this process's environment, and return per-file outcomes.
 */
export async function runInDeno(
  files: readonly string[],
  env: Record<string, string> = equivalenceEnv(),
): Promise<Outcomes> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", "--parallel", ...files.map((f) => `tests/${f}`)],
    cwd: path(ROOT),
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return parseDenoReport(dec.decode(r.stdout) + dec.decode(r.stderr));
}

/** Per-file comparison of a Deno run and a Chromium run. */
export interface FileComparison {
  readonly file: string;
  readonly deno: { passed: number; failed: number; ignored: number };
  readonly chromium: { passed: number; failed: number; ignored: number };
  /** Deno passed, Chromium did not run them: tests ignored in the browser (need Deno). */
  readonly denoOnly: readonly string[];
  /** Empty when the file agrees: same passed and failed tests, by name. */
  readonly problems: readonly string[];
}

const counts = (o: FileOutcome) => ({
  passed: o.passed.length,
  failed: o.failed.length,
  ignored: o.ignored.length,
});

/**
 * Compare per file. A file agrees when the tests that passed in Chromium are
 * exactly the tests that passed under Deno minus those the browser reported
 * as ignored (Deno-only, with a reason), and the same tests failed.
 */
export function compare(
  files: readonly string[],
  deno: Outcomes,
  browser: Outcomes,
): FileComparison[] {
  return files.map((file) => {
    const d = deno[file] ?? empty();
    const c = browser[file] ?? empty();
    const browserIgnored = new Set(c.ignored);
    const denoOnly = d.passed.filter((n) => browserIgnored.has(n));
    const want = new Set(d.passed.filter((n) => !browserIgnored.has(n)));
    const got = new Set(c.passed);
    const problems: string[] = [];
    for (const n of want) if (!got.has(n)) problems.push(`passed under Deno only: ${n}`);
    for (const n of got) if (!want.has(n)) problems.push(`passed in Chromium only: ${n}`);
    const df = new Set(d.failed);
    for (const n of c.failed) {
      if (!df.has(n)) problems.push(`failed in Chromium only: ${n}: ${c.detail[n] ?? ""}`);
    }
    if (d.passed.length + d.failed.length === 0) problems.push("no tests ran under Deno");
    return { file, deno: counts(d), chromium: counts(c), denoOnly, problems };
  });
}

/** A text table of a comparison, one line per file plus a total. */
export function formatTable(rows: readonly FileComparison[]): string {
  const w = Math.max(...rows.map((r) => r.file.length), 5);
  const line = (f: string, d: string, c: string, note: string) =>
    `${f.padEnd(w)}  ${d.padStart(13)}  ${c.padStart(13)}  ${note}`;
  const fmt = (x: { passed: number; failed: number; ignored: number }) =>
    `${x.passed}/${x.failed}/${x.ignored}`;
  const total = (k: "deno" | "chromium") =>
    rows.reduce(
      (t, r) => ({
        passed: t.passed + r[k].passed,
        failed: t.failed + r[k].failed,
        ignored: t.ignored + r[k].ignored,
      }),
      { passed: 0, failed: 0, ignored: 0 },
    );
  return [
    line("file", "deno p/f/i", "chromium p/f/i", ""),
    ...rows.map((r) =>
      line(
        r.file,
        fmt(r.deno),
        fmt(r.chromium),
        [
          r.denoOnly.length ? `${r.denoOnly.length} Deno-only` : "",
          r.problems.length ? `MISMATCH: ${r.problems.join("; ")}` : "",
        ].filter(Boolean).join(" "),
      )
    ),
    line("total", fmt(total("deno")), fmt(total("chromium")), ""),
  ].join("\n");
}

if (import.meta.main) {
  const env = equivalenceEnv();
  const [browser, denoRun] = await Promise.all([
    runInChromium({ env }),
    browserTestFiles(new URL("tests/", ROOT)).then((s) => runInDeno(s.files, env)),
  ]);
  const rows = compare(browser.files, denoRun, browser.outcomes);
  console.log(formatTable(rows));
  console.log(`\nexcluded:\n${browser.excluded.map((e) => `  ${e.file}: ${e.reason}`).join("\n")}`);
  console.log(`\n${browser.userAgent}; crossOriginIsolated ${browser.crossOriginIsolated}`);
  console.log(`netwasm.js ${browser.netwasmBytes} B: ${JSON.stringify(browser.bundleCheck)}`);
  console.log(`test bundle ${browser.bundleBytes} B; ${(browser.ms / 1000).toFixed(1)} s`);
  Deno.exit(rows.some((r) => r.problems.length > 0) ? 1 : 0);
}
