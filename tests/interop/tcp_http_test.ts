/**
 * HTTP over netwasm's TCP against Linux as the independent peer, both ways,
 * with the CLI as a subprocess on a TAP in a network namespace:
 *
 * - Linux `curl` downloads a file from `netwasm http` (then HEAD, 404 and a
 *   keep-alive reuse check);
 * - `netwasm fetch` downloads a file from Linux `python3 -m http.server`.
 *
 * The size is `NETWASM_HTTP_MIB` (MiB), default 256 under CI=true and 32
 * elsewhere; sha256 must match. Every frame is checked by tshark (see
 * `_tcp_wire.ts` for how the bulk port is dissected).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { isCi, requireInterop, withNetns } from "../_util/netns.ts";
import { CAPTURE_TOOLS, figure, KERNEL_IP, OUR_IP } from "./_stack.ts";
import {
  assertTcpWireClean,
  randomFile,
  sha256File,
  startTcpCapture,
  wireFigure,
} from "./_tcp_wire.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const HTTP_PORT = 8080;
const LINUX_HTTP_PORT = 8000;

/** Transfer size in MiB. */
function sizeMib(): number {
  const env = Deno.env.get("NETWASM_HTTP_MIB");
  if (env !== undefined && /^\d+$/.test(env) && Number(env) > 0) return Number(env);
  return isCi() ? 256 : 32;
}

/** Mbit/s for `bytes` in `seconds`. */
function mbps(bytes: number, seconds: number): string {
  return ((bytes * 8) / seconds / 1e6).toFixed(0);
}

test(
  "interop HTTP: Linux curl downloads NETWASM_HTTP_MIB MiB from the CLI `netwasm http` → sha256 matches; HEAD, 404 and keep-alive reuse work; tshark clean",
  async () => {
    const mib = sizeMib();
    const bytes = mib * 1024 * 1024;
    const dir = await Deno.makeTempDir({ prefix: "netwasm-http-" });
    try {
      await randomFile(`${dir}/blob`, bytes);
      await Deno.writeTextFile(`${dir}/index.html`, "<h1>netwasm</h1>\n");
      const want = await sha256File(`${dir}/blob`);
      await withNetns(async (ns) => {
        const capture = await startTcpCapture(ns);
        const cli = ns.spawn([
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "http",
          "--port",
          String(HTTP_PORT),
          "--root",
          dir,
          "--tap",
          ns.dev,
          "--netns",
          ns.name,
          "--ip",
          `${OUR_IP}/24`,
        ]);
        await cli.waitForOutput(/serving .* on http:\/\//, { timeout: 20_000 });
        const url = `http://${OUR_IP}:${HTTP_PORT}`;
        // The body goes straight into sha256sum; curl's figures go to stderr.
        const r = await ns.exec([
          "sh",
          "-c",
          `curl --max-time 120 -sS -w '%{stderr}%{http_code} %{size_download} %{time_total}\\n' ` +
          `-o - ${url}/blob | sha256sum`,
        ], { timeout: 130_000 });
        assert.ok(!r.timedOut, `curl timed out: ${r.stderr}`);
        assert.is(r.code, 0, r.stderr);
        const [code, size, seconds] = r.stderr.trim().split("\n").pop()!.split(" ");
        assert.is(code, "200", r.stderr);
        assert.is(Number(size), bytes, "bytes curl received");
        const got = r.stdout.split(/\s+/)[0];
        assert.is(got, want, "sha256 of what curl received");
        // Three URLs on one connection (HTTP/1.1 keep-alive): 200, 404, and a HEAD.
        const w = ["-w", "%{http_code} %{num_connects} %{size_download}\\n"];
        const more = await ns.exec([
          "curl",
          "--max-time",
          "20",
          "-sS",
          ...w,
          "-o",
          "/dev/null",
          `${url}/index.html`,
          "-o",
          "/dev/null",
          `${url}/missing`,
          "--next",
          "-sS",
          "-I",
          ...w,
          "-o",
          "/dev/null",
          `${url}/blob`,
        ], { timeout: 30_000 });
        assert.is(more.code, 0, more.stderr);
        assert.equal(
          more.stdout.trim().split("\n").map((l) => l.split(" ").slice(0, 2).join(" ")),
          ["200 1", "404 0", "200 0"],
          `status and new connections (one connection for all three):\n${more.stdout}`,
        );
        const status = await cli.kill("SIGINT");
        assert.is(status.code, 0, `CLI: ${cli.stderr}`);
        assert.match(cli.stdout, /"GET \/blob HTTP\/1\.1" 200 \d+/);
        assert.match(cli.stdout, /"HEAD \/blob HTTP\/1\.1" 200 0/);
        assert.match(cli.stdout, /netwasm http: 2 connections, 4 requests/);
        const wire = await assertTcpWireClean(capture, { rawPorts: [HTTP_PORT] });
        figure(
          "HTTP linux curl ← CLI netwasm http",
          `${mib} MiB, sha256 match, ${Number(seconds).toFixed(2)} s, ${
            mbps(bytes, Number(seconds))
          } Mbit/s; then GET, 404 and HEAD on 1 kept-alive connection; ${wireFigure(wire)}`,
        );
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("HTTP curl to netwasm http", { tools: ["curl", "sha256sum", ...CAPTURE_TOOLS] }),
);

test(
  "interop HTTP: the CLI `netwasm fetch` downloads NETWASM_HTTP_MIB MiB from Linux `python3 -m http.server` → sha256 matches, exit 0; 404 exits 1; tshark clean",
  async () => {
    const mib = sizeMib();
    const bytes = mib * 1024 * 1024;
    const dir = await Deno.makeTempDir({ prefix: "netwasm-fetch-" });
    try {
      await randomFile(`${dir}/blob`, bytes);
      const want = await sha256File(`${dir}/blob`);
      const out = `${dir}.received`;
      await withNetns(async (ns) => {
        const capture = await startTcpCapture(ns);
        const server = ns.spawn([
          "python3",
          "-m",
          "http.server",
          String(LINUX_HTTP_PORT),
          "--bind",
          KERNEL_IP,
          "--directory",
          dir,
        ]);
        await server.waitForOutput(/Serving HTTP/, { timeout: 10_000 });
        const fetch = (path: string, output: string) =>
          ns.exec([
            Deno.execPath(),
            "run",
            "-A",
            CLI,
            "fetch",
            `http://${KERNEL_IP}:${LINUX_HTTP_PORT}${path}`,
            "-o",
            output,
            "--tap",
            ns.dev,
            "--netns",
            ns.name,
            "--ip",
            `${OUR_IP}/24`,
          ], { timeout: 150_000 });
        const r = await fetch("/blob", out);
        assert.ok(!r.timedOut, `fetch timed out: ${r.stderr}`);
        assert.is(r.code, 0, r.stderr);
        const m = /HTTP 200 OK, (\d+) bytes .* in ([\d.]+) s, ([\d.]+ [GMk]?bit\/s)/.exec(r.stderr);
        assert.ok(m !== null, r.stderr);
        assert.is(Number(m[1]), bytes);
        assert.is((await Deno.stat(out)).size, bytes);
        assert.is(await sha256File(out), want, "sha256 of what netwasm fetch wrote");
        const missing = await fetch("/missing", `${dir}.missing`);
        assert.is(missing.code, 1, missing.stderr);
        assert.match(missing.stderr, /HTTP 404/);
        await server.kill("SIGINT");
        const wire = await assertTcpWireClean(capture, { rawPorts: [LINUX_HTTP_PORT] });
        figure(
          "HTTP CLI netwasm fetch ← linux python http.server",
          `${mib} MiB, sha256 match, ${m[2]} s, ${m[3]}; 404 → exit 1; ${wireFigure(wire)}`,
        );
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
      for (const f of [`${dir}.received`, `${dir}.missing`]) await Deno.remove(f).catch(() => {});
    }
  },
  requireInterop("HTTP netwasm fetch from linux", {
    tools: ["python3", "sha256sum", ...CAPTURE_TOOLS],
  }),
);
