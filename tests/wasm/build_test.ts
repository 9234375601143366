import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";

const ROOT = isDeno ? new URL("../../", import.meta.url).pathname : "";

async function run(
  args: string[],
  cwd = ROOT,
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

test("build: src/wasm/_generated/ is up to date with asm/ (build.ts --check exits 0)", async () => {
  const r = await run(["run", "-A", "--quiet", "build.ts", "--check"]);
  assert.is(r.code, 0, `build.ts --check failed (run \`deno task build\`):\n${r.err}`);
}, { ignore: !isDeno, reason: "runs build.ts in a Deno subprocess" });

test(
  "build: the browser bundle of mod.ts imports and binds WASM in a host without Deno",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "netwasm_bundle_" });
    try {
      const outfile = `${dir}/netwasm.js`;
      const b = await run([
        "run",
        "-A",
        "--quiet",
        "build.ts",
        "--bundle-only",
        "--outfile",
        outfile,
      ]);
      assert.is(b.code, 0, b.err);
      // Delete the Deno namespace before importing: any unguarded Deno use at
      // import time, or in the arena and binding paths, then throws.
      const script = `delete globalThis.Deno;
      const m = await import(${JSON.stringify(new URL(`file://${outfile}`).href)});
      const arena = new m.Arena();
      const hot = m.hotPathsFor(arena);
      const off = arena.tryAllocSlot(8);
      arena.u8.set([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], off);
      console.log(hot.kind + " " + m.checksum(arena.u8, off, 8).toString(16));`;
      const r = await run(["eval", "--quiet", script], dir);
      assert.is(r.code, 0, r.err);
      assert.is(r.out.trim(), "simd ddf2");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { ignore: !isDeno, reason: "bundles with esbuild in a Deno subprocess" },
);
