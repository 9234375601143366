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
      const stack = new m.Stack({ clock: new m.VirtualClock() });
      const off = stack.arena.tryAllocSlot(8);
      stack.arena.u8.set([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], off);
      console.log(stack.hotPaths.kind + " " + stack.hotPaths.checksum(off, 8, 0).toString(16));
      await stack.close();`;
      const r = await run(["eval", "--quiet", script], dir);
      assert.is(r.code, 0, r.err);
      assert.is(r.out.trim(), "simd ddf2");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { ignore: !isDeno, reason: "bundles with esbuild in a Deno subprocess" },
);

test(
  "build: the minified bundle keeps class names, and its .d.ts type-checks a user's code (tsc)",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "netwasm_dist_" });
    try {
      const b = await run(["run", "-A", "--quiet", "build.ts", "--outfile", `${dir}/netwasm.js`]);
      assert.is(b.code, 0, b.err);
      for (const f of ["netwasm.js", "netwasm.min.js", "netwasm.d.ts", "netwasm.min.d.ts"]) {
        assert.ok((await Deno.stat(`${dir}/${f}`)).size > 0, f);
      }
      const full = (await Deno.stat(`${dir}/netwasm.js`)).size;
      const min = (await Deno.stat(`${dir}/netwasm.min.js`)).size;
      console.log(`netwasm.js ${full} B, netwasm.min.js ${min} B`);
      assert.ok(min < full * 0.7, `minified ${min} B vs ${full} B`);
      const script = `delete globalThis.Deno;
      const m = await import(${JSON.stringify(new URL(`file://${dir}/netwasm.min.js`).href)});
      const e = m.errnoError(-111, "connect");
      console.log(e.name + " " + (e instanceof m.NetError) + " " + e.code);`;
      const r = await run(["eval", "--quiet", script], dir);
      assert.is(r.code, 0, r.err);
      assert.is(r.out.trim(), "ConnectionRefused true ECONNREFUSED");
      // A user's TypeScript against the declarations, checked by tsc.
      await Deno.writeTextFile(
        `${dir}/user.ts`,
        `import { type Conn, ConnectionRefused, Stack, VirtualClock } from "./netwasm.min.js";
        const stack: Stack = new Stack({ clock: new VirtualClock() });
        export async function hello(c: Conn): Promise<number | null> {
          await c.write(new TextEncoder().encode("hi"));
          return await c.read(new Uint8Array(8));
        }
        export const isRefused = (e: unknown): boolean => e instanceof ConnectionRefused;
        // @ts-expect-error a port must be a number
        stack.listen({ port: "80" });
        `,
      );
      const check = `import ts from "typescript";
      const p = ts.createProgram([${JSON.stringify(`${dir}/user.ts`)}], {
        noEmit: true, strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler, lib: ["lib.esnext.d.ts", "lib.dom.d.ts"],
        types: [], skipLibCheck: false,
      });
      const d = ts.getPreEmitDiagnostics(p);
      console.log(d.length === 0 ? "ok" : d.map((x) => ts.flattenDiagnosticMessageText(x.messageText, " ")).join("\\n"));`;
      const t = await run(["eval", "--quiet", check]);
      assert.is(t.code, 0, t.err);
      assert.is(t.out.trim(), "ok");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { ignore: !isDeno, reason: "builds with esbuild and TypeScript in Deno subprocesses" },
);
