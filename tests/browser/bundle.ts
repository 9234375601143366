/**
 * Bundles the browser test set for Chromium: one ESM entry per test file
 * (`<outdir>/wire/addr_test.js`, …) plus the page harness (`_page.js`), with
 * shared chunks (`splitting`) so uvu, fast-check and the stack are loaded once
 * and every file registers with the same uvu instance. Uses the esbuild that
 * `build.ts` uses; bare `npm:` imports from deno.json (`uvu`, `uvu/assert`,
 * `fast-check`, `pure-rand/...`) resolve through `node_modules/`, which
 * `nodeModulesDir: "auto"` populates.
 *
 * One substitution: `src/testing/load.ts` (which reads `.pkt` scripts with
 * Deno's file system) becomes a version that fetches the same files over HTTP
 * from the test server (see `server.ts`: `<dir>/index.json` lists a
 * directory of `tests/`). The script texts and everything that runs them are
 * unchanged.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);
const BUFFER_SHIM = decodeURIComponent(new URL("src/http/_buffer_browser.ts", ROOT).pathname);
const TESTS = new URL("tests/", ROOT);

/** What {@link bundleBrowserTests} wrote. */
export interface BrowserBundle {
  /** Directory holding `index.html`, `_page.js`, `manifest.json` and one `.js` per test file. */
  readonly outdir: string;
  /** The test files bundled, relative to `tests/` (`wire/addr_test.ts`). */
  readonly files: readonly string[];
  /** Total bytes of JavaScript written. */
  readonly bytes: number;
}

const LOAD_SHIM = `
export async function loadScriptDir(dir, options = {}) {
  const suffix = options.suffix ?? ".pkt";
  const base = new URL(String(dir).replace(/\\/*$/, "/"));
  const res = await fetch(new URL("index.json", base));
  if (!res.ok) throw new TypeError("loadScriptDir: " + res.status + " for " + base.href);
  const names = (await res.json())
    .filter((n) => n.endsWith(suffix) && (options.recursive || !n.includes("/")))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out = [];
  for (const name of names) {
    const url = new URL(name, base);
    const r = await fetch(url);
    if (!r.ok) throw new TypeError("loadScriptDir: " + r.status + " for " + url.href);
    out.push({ name, path: url.pathname, text: await r.text() });
  }
  return out;
}
`;

const PAGE_HTML = `<!doctype html>
<meta charset="utf-8">
<title>netwasm tests</title>
<script>globalThis.UVU_DEFER = 1;</script>
<script type="module" src="./_page.js"></script>
<pre id="log"></pre>
`;

/**
 * Bundle `files` (relative to `tests/`) and the page harness into `outdir`.
 *
 * @example
 * ```ts
 * import { bundleBrowserTests } from "./bundle.ts";
 * const b = await bundleBrowserTests(await Deno.makeTempDir(), ["core/hash_test.ts"]);
 * ```
 */
export async function bundleBrowserTests(
  outdir: string,
  files: readonly string[],
): Promise<BrowserBundle> {
  const esbuild = await import("esbuild");
  const entryPoints = [
    ...files.map((f) => ({
      in: decodeURIComponent(new URL(f, TESTS).pathname),
      out: f.replace(/\.ts$/, ""),
    })),
    { in: decodeURIComponent(new URL("_page.ts", import.meta.url).pathname), out: "_page" },
  ];
  let bytes = 0;
  try {
    const result = await esbuild.build({
      entryPoints,
      outdir,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      logLevel: "warning",
      legalComments: "none",
      chunkNames: "_chunks/[name]-[hash]",
      metafile: true,
      // As build.ts: the HTTP parser's Buffer is a small stand-in in browsers.
      alias: { "node:buffer": BUFFER_SHIM },
      inject: [BUFFER_SHIM],
      plugins: [{
        name: "netwasm-browser-load",
        setup(build) {
          build.onLoad({ filter: /[\\/]src[\\/]testing[\\/]load\.ts$/ }, () => ({
            contents: LOAD_SHIM,
            loader: "js",
          }));
        },
      }],
    });
    for (const out of Object.values(result.metafile.outputs)) bytes += out.bytes;
  } finally {
    await esbuild.stop();
  }
  await Deno.writeTextFile(`${outdir}/index.html`, PAGE_HTML);
  await Deno.writeTextFile(`${outdir}/manifest.json`, JSON.stringify(files));
  return { outdir, files, bytes };
}
