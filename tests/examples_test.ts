/**
 * The README's TypeScript examples are real files (examples/two_stacks.ts,
 * examples/echo_sim_test.ts) shown verbatim. This checks the README still
 * shows them and runs each as a user would, with no permissions: each must
 * succeed and exit by itself.
 */
import * as assert from "uvu/assert";
import { test } from "./_util/test.ts";

const ROOT = new URL("../", import.meta.url);

/** The fenced ```ts blocks of the README, in order. */
export async function readmeBlocks(): Promise<string[]> {
  const text = await Deno.readTextFile(new URL("README.md", ROOT));
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test("README shows examples/two_stacks.ts and examples/echo_sim_test.ts verbatim", async () => {
  const blocks = await readmeBlocks();
  for (const name of ["examples/two_stacks.ts", "examples/echo_sim_test.ts"]) {
    const file = await Deno.readTextFile(new URL(name, ROOT));
    assert.ok(blocks.includes(file), `README.md must show ${name} verbatim in a \`\`\`ts block`);
  }
});

test("examples/echo_sim_test.ts (the README's test-kit example) passes under deno test", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "examples/echo_sim_test.ts"],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000), // a hang guard only
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.is(out.code, 0, text);
  assert.match(text, /1 passed \| 0 failed/);
});

test("examples/two_stacks.ts run as written echoes its line and exits by itself", async () => {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "examples/two_stacks.ts"],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
    // A hang guard only: the example exits by itself long before.
    signal: AbortSignal.timeout(60_000),
  }).output();
  const ms = performance.now() - started;
  const stdout = new TextDecoder().decode(out.stdout);
  assert.is(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(stdout, /^echoed: hello through netwasm$/m);
  assert.match(stdout, /A sent \d+ TCP segments, retransmitted \d+/);
  console.log(`examples/two_stacks.ts exited by itself after ${ms.toFixed(0)} ms`);
});
