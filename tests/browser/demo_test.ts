/**
 * The demo page (`examples/index.html` + `app.js`) in two Chromium tabs: the
 * first listens on 192.0.2.10:8080, the second joins the same Ethernet and
 * fetches 1 MiB from it over HTTP on the stacks' own TCP. The relay here is a
 * minimal WebSocket hub (every frame to every other client), so this checks
 * the page and `WebSocketLink` in a browser, not `src/relay/` (the relay's
 * own end-to-end tests do that, with a TAP).
 *
 * `/netwasm.js` is the real bundle of `mod.ts` (`build.ts --bundle-only`),
 * which exports `WebSocketLink`.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { CHROMIUM, launchChromium } from "./run.ts";
import { startServer } from "./server.ts";

const ROOT = new URL("../../", import.meta.url);
const path = (rel: string) => decodeURIComponent(new URL(rel, ROOT).pathname);
const IN_CI = isDeno && Deno.env.get("CI") === "true";

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}
const available = isDeno && haveChromium();
const reason = `${CHROMIUM} not found (apt-get install -y chromium)`;

/** Build the real browser bundle (`build.ts --bundle-only`), as the relay serves it. */
async function bundleDemo(outfile: string): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "build.ts", "--bundle-only", "--outfile", outfile],
    cwd: path("."),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

test(
  "demo page: a tab fetches 1 MiB over HTTP/TCP from another tab's listener through a WebSocket hub",
  async () => {
    assert.ok(available, `${reason}; CI=true requires it`);
    const dir = await Deno.makeTempDir({ prefix: "netwasm_demo_" });
    const profile = await Deno.makeTempDir({ prefix: "netwasm_chromium_" });
    const sockets = new Set<WebSocket>();
    const closed: Promise<void>[] = [];
    await bundleDemo(`${dir}/netwasm.js`);
    const server = startServer([
      { prefix: "/", dir },
      { prefix: "/", dir: path("examples") },
    ], {
      webSocket(socket) {
        socket.binaryType = "arraybuffer";
        closed.push(new Promise((resolve) => socket.addEventListener("close", () => resolve())));
        socket.onopen = () => sockets.add(socket);
        socket.onclose = () => sockets.delete(socket);
        socket.onmessage = (e) => {
          for (const s of sockets) {
            if (s !== socket && s.readyState === WebSocket.OPEN) s.send(e.data);
          }
        };
      },
    });
    const context = await launchChromium(profile);
    try {
      // Runs in the page: is the status line matching `source` yet?
      const status = (source: string): boolean =>
        new RegExp(source).test(document.getElementById("status")?.textContent ?? "");
      const a = await context.newPage();
      await a.goto(`${server.origin}/index.html?ip=192.0.2.10/24&listen=8080&size=1048576`);
      await a.waitForFunction(status, "^(listening|error)", { timeout: 15_000 });
      assert.match(await a.textContent("#status") ?? "", /^listening on 192\.0\.2\.10/);
      const b = await context.newPage();
      await b.goto(`${server.origin}/index.html?ip=192.0.2.11/24&connect=192.0.2.10:8080`);
      await b.waitForFunction(status, "^(done|error)", { timeout: 30_000 });
      const log = await b.textContent("#log");
      assert.is(await b.textContent("#status"), "done: 1048576 bytes of body", log ?? "");
      assert.match(await b.textContent("#bytes") ?? "", /^ABCDEFGHIJKLMNOPQRSTUVWXYZABC/);
      assert.match(await b.textContent("#stats") ?? "", /1\.00 MiB of 1\.00 MiB in .* Mbit\/s/);
      assert.match(log ?? "", /response: 200 OK/);
    } finally {
      await context.close();
      await Promise.all(closed);
      await server.close();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
  { ignore: !isDeno || (!available && !IN_CI), reason },
);
