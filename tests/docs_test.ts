/**
 * Every `@example` in the package's sources runs: `deno test --doc mod.ts
 * src/` in a subprocess (the same as `deno task test:doc`). Examples that
 * need root, a TAP device, a relay or a network are fenced as ```ts ignore
 * with a title that says why.
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "./_util/test.ts";

test("doc examples: deno test --doc mod.ts src/ passes", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--doc", "mod.ts", "src/"],
    cwd: new URL("../", import.meta.url).pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    // A hang guard only: ~900 examples type-check in a few minutes alone,
    // and took over ten with seven agents on two cores.
    signal: AbortSignal.timeout(1_200_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const summary = /(ok|FAILED) \| (\d+) passed[^\n]*\| (\d+) failed/.exec(text);
  assert.ok(summary !== null, text.slice(-3000));
  console.log(`deno test --doc: ${summary[0]}`);
  assert.is(out.code, 0, text.slice(-6000));
  assert.is(summary[3], "0");
}, { ignore: !isDeno, reason: "runs deno test in a subprocess" });
