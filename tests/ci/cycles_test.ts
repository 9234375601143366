import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";

const ROOT = new URL("../../", import.meta.url);
const SCRIPT = new URL(".ci/cycles.ts", ROOT).pathname;
const FIXTURES = new URL("fixtures/", import.meta.url).pathname;

async function check(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

test("cycle check: a cycle closed by a type-only import fails the check and is printed as a path", async () => {
  const r = await check(`${FIXTURES}cycle`);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, "import cycle: a.ts → b.ts → a.ts");
  assert.match(r.stdout, "1 import cycles among 3 modules");
});

test("cycle check: a DAG passes", async () => {
  const r = await check(`${FIXTURES}dag`);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, "0 import cycles among 3 modules");
});

test("cycle check: src/ has no import cycle (imports go one way)", async () => {
  const r = await check(new URL("src", ROOT).pathname);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^0 import cycles among \d+ modules/);
});
