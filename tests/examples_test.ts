/**
 * The README's library example is a real file (examples/two_stacks.ts); the
 * README shows it verbatim. This checks the two are the same text and runs
 * the file as a user would (`deno run examples/two_stacks.ts`, no
 * permissions), which must print the echo and exit by itself.
 */
import * as assert from "uvu/assert";
import { test } from "./_util/test.ts";

const ROOT = new URL("../", import.meta.url);

/** The fenced ```ts blocks of the README, in order. */
export async function readmeBlocks(): Promise<string[]> {
  const text = await Deno.readTextFile(new URL("README.md", ROOT));
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test("README library example is examples/two_stacks.ts, verbatim", async () => {
  const file = await Deno.readTextFile(new URL("examples/two_stacks.ts", ROOT));
  const blocks = await readmeBlocks();
  assert.ok(
    blocks.some((b) => b === file),
    "README.md must show examples/two_stacks.ts verbatim in a ```ts block",
  );
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
