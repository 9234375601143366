/**
 * The core suites in headless Chromium, compared with Deno (the same
 * results in both runtimes). Runs the browser test set (`files.ts`) in Chromium via
 * playwright-core and the same files under `deno test`, concurrently and with
 * the same environment (`equivalenceEnv`: same `NETWASM_SEED`), and asserts
 * that per file the same tests passed, by name — except tests the page
 * reported as ignored because they need Deno, which are listed. Also loads a
 * freshly built `netwasm.js` in a page and in a module Worker.
 *
 * Skips with a printed reason when `/usr/bin/chromium` is missing, unless
 * `CI=true`, where it fails (`.ci/setup` installs it).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { browserTestFiles } from "./files.ts";
import { CHROMIUM, compare, equivalenceEnv, formatTable, runInChromium, runInDeno } from "./run.ts";

const IN_CI = isDeno && Deno.env.get("CI") === "true";

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const available = isDeno && haveChromium();
const reason = `${CHROMIUM} not found (apt-get install -y chromium)`;
if (isDeno && !available && !IN_CI) console.log(`skip: chromium_test: ${reason}`);

test(
  "browser: the core suites pass in headless Chromium exactly as under Deno, file by file; netwasm.js loads in a page and a Worker",
  async () => {
    assert.ok(available, `${reason}; CI=true requires it`);
    const env = equivalenceEnv();
    const set = await browserTestFiles(new URL("../", import.meta.url));
    const [browser, deno] = await Promise.all([
      runInChromium({ env, files: set.files }),
      runInDeno(set.files, env),
    ]);
    const rows = compare(set.files, deno, browser.outcomes);
    console.log(formatTable(rows));
    console.log(
      `excluded from the browser set:\n${
        browser.excluded.map((e) => `  ${e.file}: ${e.reason}`).join("\n")
      }\n${browser.userAgent}; crossOriginIsolated ${browser.crossOriginIsolated}; ` +
        `netwasm.js ${browser.netwasmBytes} B; ${(browser.ms / 1000).toFixed(1)} s`,
    );
    assert.ok(browser.crossOriginIsolated, "the test page is not cross-origin isolated");
    const bad = rows.filter((r) => r.problems.length > 0);
    assert.equal(bad.map((r) => `${r.file}: ${r.problems.join("; ")}`), []);
    for (const where of ["page", "worker"] as const) {
      const r = browser.bundleCheck[where] as {
        ok: boolean;
        error?: string;
        result?: { kind: string; checksum: string; shared: string };
      };
      assert.ok(r.ok, `netwasm.js in a ${where}: ${r.error}`);
      assert.is(`${r.result?.kind} ${r.result?.checksum}`, "simd ddf2", `netwasm.js in a ${where}`);
      assert.is(r.result?.shared, "simd SharedArrayBuffer", `shared arena in a ${where}`);
    }
  },
  { ignore: !isDeno || (!available && !IN_CI), reason },
);
