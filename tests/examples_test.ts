/**
 * The README's library example is a real file; this runs it so the two cannot drift.
 */
import * as assert from "uvu/assert";
import { test } from "./_util/test.ts";

test("examples/two_stacks.ts (README library example) echoes its line over TCP and exits 0", async () => {
  const script = new URL("../examples/two_stacks.ts", import.meta.url).pathname;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  });
  const out = await cmd.output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.is(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(stdout, /^echoed: hello through netwasm$/m);
  assert.match(stdout, /A sent \d+ TCP segments, retransmitted \d+/);
});
