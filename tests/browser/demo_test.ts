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
 * The live view is checked too: during a transfer the plots (throughput, cwnd,
 * RTT) receive points, the connection, counter and frame tables fill, and the
 * pcap button downloads a capture that parses. Screenshots go to
 * `$NETWASM_ARTIFACTS/browser/` (default `test-output/browser/`), which CI
 * keeps as an artifact.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { CHROMIUM, launchChromium } from "./run.ts";
import { startServer } from "./server.ts";
import { readPcap } from "../../src/link/pcap.ts";

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

/** Where screenshots go: `$NETWASM_ARTIFACTS/browser/`, default `test-output/browser/`. */
async function artifactDir(): Promise<string> {
  const base = Deno.env.get("NETWASM_ARTIFACTS") ?? path("test-output");
  const dir = `${base}/browser`;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** Points each plot of the page holds (its canvas's `data-points`). */
type PlotPoints = { throughput: number; cwnd: number; rtt: number };
const plotPoints = (): PlotPoints => {
  const n = (id: string) => Number(document.getElementById(id)?.dataset.points ?? 0);
  return { throughput: n("plot-throughput"), cwnd: n("plot-cwnd"), rtt: n("plot-rtt") };
};

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
      for (const [tab, page] of [["listener", a], ["client", b]] as const) {
        const points = await page.evaluate(plotPoints);
        assert.ok(
          points.throughput > 0,
          `${tab}: throughput plot got points ${JSON.stringify(points)}`,
        );
        assert.ok(
          points.cwnd > 0 && points.rtt > 0,
          `${tab}: cwnd/RTT plots ${JSON.stringify(points)}`,
        );
      }
      await a.screenshot({ path: `${await artifactDir()}/demo-listener.png`, fullPage: true });
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

test(
  "demo page ?local: plots, tables, packet list and the pcap download live during a lossy in-page transfer (screenshot kept)",
  async () => {
    assert.ok(available, `${reason}; CI=true requires it`);
    const dir = await Deno.makeTempDir({ prefix: "netwasm_demo_" });
    const profile = await Deno.makeTempDir({ prefix: "netwasm_chromium_" });
    await bundleDemo(`${dir}/netwasm.js`);
    const server = startServer([{ prefix: "/", dir }, { prefix: "/", dir: path("examples") }]);
    const context = await launchChromium(profile);
    try {
      const page = await context.newPage();
      await page.goto(`${server.origin}/index.html?local&size=4194304&loss=0.01&seed=3`);
      // While the transfer runs (status "connected; GET …"), the plots get points.
      await page.waitForFunction(
        () => Number(document.getElementById("plot-cwnd")?.dataset.points ?? 0) >= 3,
        undefined,
        { timeout: 30_000 },
      );
      const during = await page.evaluate(plotPoints);
      await page.waitForFunction(
        () => /^(done|error)/.test(document.getElementById("status")?.textContent ?? ""),
        undefined,
        { timeout: 60_000 },
      );
      const log = await page.textContent("#log") ?? "";
      assert.is(await page.textContent("#status"), "done: 4194304 bytes of body", log);
      assert.ok(during.throughput > 0 && during.cwnd >= 3, JSON.stringify(during));
      const after = await page.evaluate(plotPoints);
      assert.ok(after.rtt > 0 && after.cwnd >= during.cwnd, JSON.stringify(after));
      // The tables: connections (the listener at least), counters, the last frames.
      await page.evaluate(() =>
        (globalThis as { netwasmDemo?: { sample(): void } }).netwasmDemo?.sample()
      );
      assert.match(await page.textContent("#sockets") ?? "", /tcp.*LISTEN/);
      assert.match(await page.textContent("#counters") ?? "", /segments in \/ out/);
      assert.match(
        await page.textContent("#packets") ?? "",
        /TCP 192\.0\.2\.1[01]:\d+ > 192\.0\.2\.1[01]:\d+/,
      );
      // The pcap button downloads the capture. The click is dispatched on the
      // element rather than at its coordinates: the tables above it keep
      // changing height while sampling runs, and a layout shift between
      // playwright's stability check and its mouse click sends the click
      // elsewhere (seen once in CI as a 30 s wait for a download never started).
      const download = page.waitForEvent("download");
      await page.locator("#pcap").dispatchEvent("click");
      const file = await (await download).path();
      const cap = readPcap(await Deno.readFile(file));
      assert.ok(cap.ok && cap.frames.length > 100, `pcap with ${cap.frames.length} frames`);
      const shot = `${await artifactDir()}/demo-local.png`;
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok((await Deno.stat(shot)).size > 10_000, "a screenshot with content");
      console.log(`screenshot: ${shot}; plot points ${JSON.stringify(after)}`);
    } finally {
      await context.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
  { ignore: !isDeno || (!available && !IN_CI), reason },
);

test("demo page opened from file:// says it must be served over HTTP", async () => {
  assert.ok(available, `${reason}; CI=true requires it`);
  const profile = await Deno.makeTempDir({ prefix: "netwasm_chromium_" });
  const context = await launchChromium(profile);
  try {
    const page = await context.newPage();
    await page.goto(new URL("examples/index.html", ROOT).href);
    const text = await page.textContent("#fatal") ?? "";
    assert.match(text, /must be served over HTTP/);
    assert.match(text, /task netwasm relay --listen 127\.0\.0\.1:8080 --static examples\//);
    assert.ok(await page.isVisible("#fatal"));
  } finally {
    await context.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}, { ignore: !isDeno || (!available && !IN_CI), reason });
