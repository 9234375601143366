/**
 * The README's command-line examples, run as written: each `sudo deno task
 * netwasm …` line of the README (its TAP `tap0`, which the README makes with
 * `ip tuntap`, becomes the test's TAP in a network namespace: `--tap DEV
 * --netns NS`), and the README's `curl` line run from the kernel side.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { requireInterop, withNetns } from "../_util/netns.ts";
import { spawnNetwasm } from "./_cli.ts";

const ROOT = new URL("../../", import.meta.url);

/** The README's `sudo deno task netwasm CMD …` lines, as argument lists after `netwasm`. */
async function readmeCommands(): Promise<string[][]> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const lines = [...readme.matchAll(/^sudo deno task netwasm (.+)$/gm)].map((m) => m[1]!);
  return lines.map((l) => l.trim().split(/\s+/));
}

/** `args` with the README's `--tap tap0` replaced by this namespace's TAP. */
function onTap(args: string[], dev: string, netns: string): string[] {
  const i = args.indexOf("--tap");
  assert.ok(i >= 0 && args[i + 1] === "tap0", `README command uses --tap tap0: ${args.join(" ")}`);
  return [...args.slice(0, i), "--tap", dev, "--netns", netns, ...args.slice(i + 2)];
}

test(
  "README: `netwasm http --root ./examples` serves what the README's curl fetches; `ping -c 3` gets replies",
  async () => {
    const commands = await readmeCommands();
    const http = commands.find((c) => c[0] === "http");
    const ping = commands.find((c) => c[0] === "ping");
    assert.ok(http && ping, `README has http and ping lines: ${JSON.stringify(commands)}`);
    const readme = await Deno.readTextFile(new URL("README.md", ROOT));
    const curl = /^curl (http:\/\/\S+)$/m.exec(readme);
    assert.ok(curl, "README has a curl line");
    await withNetns(async (ns) => {
      const p = await spawnNetwasm(onTap(ping, ns.dev, ns.name), { timeout: 30_000 }).result;
      assert.is(p.code, 0, `${p.stdout}\n${p.stderr}`);
      assert.match(p.stdout, /3 packets transmitted, 3 received/);
      const server = spawnNetwasm(onTap(http, ns.dev, ns.name), {
        timeout: 30_000,
        cwd: ROOT.pathname,
      });
      await server.waitFor(/serving \.\/examples on http:\/\/192\.0\.2\.2:8080\//);
      const r = await ns.exec(["curl", "-sS", "--max-time", "10", curl[1]!], { timeout: 15_000 });
      assert.is(r.code, 0, r.stderr);
      const page = await Deno.readTextFile(new URL("examples/index.html", ROOT));
      assert.is(r.stdout, page, "curl got examples/index.html");
      server.kill("SIGTERM");
      const done = await server.result;
      assert.is(done.code, 0, done.stderr);
      assert.match(done.stdout, /1 requests \(1×200\)/);
    }, { openTap: false });
  },
  requireInterop("README CLI examples through a TAP", { tools: ["curl"] }),
);
