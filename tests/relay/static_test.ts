/**
 * The relay's static serving: cross-origin-isolation headers, content
 * types, the bundle at /netwasm.js, directory index, and refusal of
 * traversal (`..`, encoded `..`, symlinks out of the root).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { startRelay } from "../../src/relay/server.ts";
import { rawRequest } from "./_helpers.ts";

test("relay static: COOP/COEP/CORP headers, content types, /netwasm.js from the bundle dir, index.html; traversal refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netwasm-relay-static-" });
  try {
    await Deno.mkdir(`${dir}/site/sub`, { recursive: true });
    await Deno.mkdir(`${dir}/dist`);
    await Deno.writeTextFile(`${dir}/site/index.html`, "<!doctype html><title>hi</title>");
    await Deno.writeTextFile(`${dir}/site/sub/app.js`, "export const x = 1;\n");
    await Deno.writeTextFile(`${dir}/dist/netwasm.js`, "export const netwasm = true;\n");
    await Deno.writeTextFile(`${dir}/secret.txt`, "do not serve");
    await Deno.symlink(`${dir}/secret.txt`, `${dir}/site/link.txt`);
    const relay = await startRelay({
      port: 0,
      quiet: true,
      staticDir: `${dir}/site`,
      bundleDir: `${dir}/dist`,
    });
    try {
      const index = await fetch(relay.httpUrl);
      assert.is(index.status, 200);
      assert.is(index.headers.get("cross-origin-opener-policy"), "same-origin");
      assert.is(index.headers.get("cross-origin-embedder-policy"), "require-corp");
      assert.is(index.headers.get("cross-origin-resource-policy"), "same-origin");
      assert.is(index.headers.get("content-type"), "text/html; charset=utf-8");
      assert.ok((await index.text()).includes("<title>hi</title>"));
      const js = await fetch(`${relay.httpUrl}sub/app.js`);
      assert.is(js.headers.get("content-type"), "text/javascript; charset=utf-8");
      assert.is(await js.text(), "export const x = 1;\n");
      const bundle = await fetch(`${relay.httpUrl}netwasm.js`);
      assert.is(bundle.status, 200);
      assert.is(bundle.headers.get("content-type"), "text/javascript; charset=utf-8");
      assert.is(bundle.headers.get("cross-origin-embedder-policy"), "require-corp");
      assert.is(await bundle.text(), "export const netwasm = true;\n");
      const missing = await fetch(`${relay.httpUrl}nope.html`);
      await missing.body?.cancel();
      assert.is(missing.status, 404);
      const post = await fetch(relay.httpUrl, { method: "POST", body: "x" });
      await post.body?.cancel();
      assert.is(post.status, 405);
      // Paths fetch() would normalise go raw.
      for (
        const path of [
          "/../secret.txt",
          "/sub/../../secret.txt",
          "/%2e%2e/secret.txt",
          "/..%2fsecret.txt",
        ]
      ) {
        const r = await rawRequest(relay.port, path);
        // The URL parser already folds dot segments (→ 404 outside the root);
        // what survives decoding as ".." is refused with 403. Never 200.
        assert.ok(r.status === 403 || r.status === 404, `${path}: ${r.status}`);
        assert.is(r.headers["cross-origin-embedder-policy"], "require-corp");
      }
      assert.is((await rawRequest(relay.port, "/..%2fsecret.txt")).status, 403);
      assert.is((await rawRequest(relay.port, "/link.txt")).status, 404, "symlink out of root");
      assert.is((await rawRequest(relay.port, "/sub")).status, 301);
    } finally {
      await relay.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("relay static: the directory redirect is built from the cleaned path (no '//host' open redirect), encoded, query kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.mkdir(`${dir}/a b`);
    const relay = await startRelay({
      port: 0,
      staticDir: dir,
      bundleDir: null,
      quiet: true,
      summaryIntervalMs: 0,
    });
    try {
      for (
        const [path, want] of [
          ["/sub", "/sub/"],
          ["//sub", "/sub/"],
          ["///sub", "/sub/"],
          ["/./sub?x=1&y=%2F", "/sub/?x=1&y=%2F"],
          ["/a%20b", "/a%20b/"],
        ]
      ) {
        const r = await rawRequest(relay.port, path!);
        assert.is(r.status, 301, path);
        assert.is(r.headers["location"], want, path);
      }
    } finally {
      await relay.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
