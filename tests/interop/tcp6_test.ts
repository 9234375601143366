/**
 * TCP over IPv6 against the Linux kernel as the independent peer (issue 12
 * item 5): a TAP into a network namespace each test creates, 2001:db8::/64
 * (plus 192.0.2.0/24 for the dual-stack case), every frame captured and
 * checked by tshark (`_tcp_wire.ts`).
 *
 * - Linux `curl -6` downloads 64 MiB from the CLI `netwasm http`, which
 *   listens on `[::]` (dual stack): `curl -4` is answered by the same
 *   listener, its client shown as `::ffff:192.0.2.1`;
 * - the CLI `netwasm fetch http://[2001:db8::1]:8000/…` downloads 64 MiB
 *   from Linux `python3 -m http.server --bind 2001:db8::1` over an
 *   IPv6-only link;
 * - 200 concurrent connections each way over IPv6, every byte verified.
 *
 * The size is `NETWASM_HTTP6_MIB` (MiB, default 64: the figure).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { type Netns, requireInterop, withNetns } from "../_util/netns.ts";
import type { Stack } from "../../src/api/stack.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import { AddrState } from "../../src/ipv6/inet6_dev.ts";
import { CAPTURE_TOOLS, figure, OUR_IP, withStack, withTimeout } from "./_stack.ts";
import {
  assertTcpWireClean,
  randomFile,
  sha256File,
  startTcpCapture,
  wireFigure,
} from "./_tcp_wire.ts";
import { echoOn, message, PY_CLIENTS, PY_ECHO_SERVER } from "./_echo.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const OUR_IP6 = "2001:db8::2";
const KERNEL_IP6 = "2001:db8::1";
const HTTP_PORT = 8080;
const LINUX_HTTP_PORT = 8000;
const ECHO_PORT = 7;
const LINUX_ECHO_PORT = 9000;
const PYTHON = "/usr/bin/python3";
/** Concurrent connections per direction. */
const CONNECTIONS = 200;

/** Transfer size in MiB. */
function sizeMib(): number {
  const env = Deno.env.get("NETWASM_HTTP6_MIB");
  return env !== undefined && /^\d+$/.test(env) && Number(env) > 0 ? Number(env) : 64;
}

/** The CLI's link flags for the namespace's TAP (IPv6, and IPv4 too with `dual`). */
function linkFlags(ns: Netns, dual: boolean): string[] {
  return [
    "--tap",
    ns.dev,
    "--netns",
    ns.name,
    ...(dual ? ["--ip", `${OUR_IP}/24`] : []),
    "--ip6",
    `${OUR_IP6}/64`,
  ];
}

test(
  "interop TCP/IPv6: Linux `curl -6` downloads 64 MiB from the CLI `netwasm http` → sha256 matches; the same [::] listener answers `curl -4` (v4-mapped client); tshark clean",
  async () => {
    const mib = sizeMib();
    const bytes = mib * 1024 * 1024;
    const dir = await Deno.makeTempDir({ prefix: "netwasm-http6-" });
    try {
      await randomFile(`${dir}/blob`, bytes);
      await Deno.writeTextFile(`${dir}/index.html`, "<h1>netwasm over both families</h1>\n");
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
          ...linkFlags(ns, true),
        ]);
        await cli.waitForOutput(/serving .* on http:\/\//, { timeout: 20_000 });
        const r = await ns.exec([
          "sh",
          "-c",
          `curl -6 --max-time 120 -sS -w '%{stderr}%{http_code} %{size_download} %{time_total}\\n' ` +
          `-o - 'http://[${OUR_IP6}]:${HTTP_PORT}/blob' | sha256sum`,
        ], { timeout: 130_000 });
        assert.ok(!r.timedOut, `curl -6 timed out: ${r.stderr}`);
        assert.is(r.code, 0, r.stderr);
        const [code, size, seconds] = r.stderr.trim().split("\n").pop()!.split(" ");
        assert.is(code, "200", r.stderr);
        assert.is(Number(size), bytes, "bytes curl received");
        assert.is(r.stdout.split(/\s+/)[0], want, "sha256 of what curl -6 received");
        // Dual stack: the same listener on [::] takes an IPv4 client.
        const four = await ns.exec([
          "curl",
          "-4",
          "--max-time",
          "20",
          "-sS",
          `http://${OUR_IP}:${HTTP_PORT}/index.html`,
        ], { timeout: 30_000 });
        assert.is(four.code, 0, four.stderr);
        assert.match(four.stdout, /netwasm over both families/);
        const status = await cli.kill("SIGINT");
        assert.is(status.code, 0, `CLI: ${cli.stderr}`);
        assert.match(cli.stdout, new RegExp(`\\[${KERNEL_IP6}\\]:\\d+ "GET /blob HTTP/1\\.1" 200`));
        assert.match(cli.stdout, /\[::ffff:192\.0\.2\.1\]:\d+ "GET \/index\.html HTTP\/1\.1" 200/);
        const wire = await assertTcpWireClean(capture, { rawPorts: [HTTP_PORT] });
        figure(
          "HTTP linux curl -6 ← CLI netwasm http",
          `${mib} MiB, sha256 match, ${Number(seconds).toFixed(2)} s, ${
            ((bytes * 8) / Number(seconds) / 1e6).toFixed(0)
          } Mbit/s; curl -4 to the same [::] listener served (::ffff:192.0.2.1); ${
            wireFigure(wire)
          }`,
        );
      }, { openTap: false, ipv6: true });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("HTTP curl -6 to netwasm http", {
    tools: ["curl", "sha256sum", ...CAPTURE_TOOLS],
  }),
);

test(
  "interop TCP/IPv6: the CLI `netwasm fetch http://[2001:db8::1]:8000/blob` downloads 64 MiB from Linux `python3 -m http.server` on an IPv6-only link → sha256 matches; tshark clean",
  async () => {
    const mib = sizeMib();
    const bytes = mib * 1024 * 1024;
    const dir = await Deno.makeTempDir({ prefix: "netwasm-fetch6-" });
    const out = `${dir}.received`;
    try {
      await randomFile(`${dir}/blob`, bytes);
      const want = await sha256File(`${dir}/blob`);
      await withNetns(async (ns) => {
        const capture = await startTcpCapture(ns);
        const server = ns.spawn([
          "python3",
          "-m",
          "http.server",
          String(LINUX_HTTP_PORT),
          "--bind",
          KERNEL_IP6,
          "--directory",
          dir,
        ]);
        await server.waitForOutput(/Serving HTTP/, { timeout: 10_000 });
        const r = await ns.exec([
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "fetch",
          `http://[${KERNEL_IP6}]:${LINUX_HTTP_PORT}/blob`,
          "-o",
          out,
          ...linkFlags(ns, false),
        ], { timeout: 150_000 });
        assert.ok(!r.timedOut, `fetch timed out: ${r.stderr}`);
        assert.is(r.code, 0, r.stderr);
        const m = /HTTP 200 OK, (\d+) bytes .* in ([\d.]+) s, ([\d.]+ [GMk]?bit\/s)/.exec(r.stderr);
        assert.ok(m !== null, r.stderr);
        assert.is(Number(m[1]), bytes);
        assert.is(await sha256File(out), want, "sha256 of what netwasm fetch wrote");
        await server.kill("SIGINT");
        assert.match(server.stderr, /2001:db8::2 - - .*"GET \/blob HTTP\/1\.1" 200/);
        const wire = await assertTcpWireClean(capture, { rawPorts: [LINUX_HTTP_PORT] });
        figure(
          "HTTP CLI netwasm fetch ← linux python http.server (IPv6)",
          `${mib} MiB, sha256 match, ${m[2]} s, ${m[3]}; ${wireFigure(wire)}`,
        );
      }, { openTap: false, ipv6: true });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(out).catch(() => {});
    }
  },
  requireInterop("HTTP netwasm fetch over IPv6", {
    tools: ["python3", "sha256sum", ...CAPTURE_TOOLS],
  }),
);

test(
  `interop TCP/IPv6: ${CONNECTIONS} concurrent connections from Linux (python asyncio) to the CLI \`netwasm echo --tcp 7\` at [2001:db8::2], 1–32 KiB each with half-close, every byte verified; tshark clean`,
  async () => {
    await withNetns(async (ns) => {
      const capture = await startTcpCapture(ns);
      const cli = ns.spawn([
        Deno.execPath(),
        "run",
        "-A",
        CLI,
        "echo",
        "--tcp",
        String(ECHO_PORT),
        ...linkFlags(ns, false),
      ]);
      await cli.waitForOutput(/listening on tcp/, { timeout: 20_000 });
      const seed = testSeed();
      const r = await ns.exec(
        [PYTHON, "-c", PY_CLIENTS, OUR_IP6, String(ECHO_PORT), String(CONNECTIONS), String(seed)],
        { timeout: 90_000 },
      );
      assert.is(r.code, 0, `${r.stdout}${r.stderr}`);
      const [, n, bytes, secs] = r.stdout.trim().split(" ");
      assert.is(Number(n), CONNECTIONS);
      const status = await cli.kill("SIGINT");
      assert.is(status.code, 0, cli.stderr);
      assert.match(
        cli.stdout,
        new RegExp(
          `${CONNECTIONS} connections \\(${CONNECTIONS} closed cleanly, 0 failed\\), ${bytes} bytes`,
        ),
      );
      const wire = await assertTcpWireClean(capture);
      figure(
        "TCP/IPv6 linux ×200 → CLI netwasm echo",
        `${CONNECTIONS}/${CONNECTIONS} connections, ${bytes} bytes echoed and verified in ${secs} s, seed ${seed}; ${
          wireFigure(wire)
        }`,
      );
    }, { openTap: false, ipv6: true });
  },
  requireInterop("TCP/IPv6 200 linux clients to CLI echo", {
    tools: ["python3", ...CAPTURE_TOOLS],
  }),
);

/** Wait (real time, polling) until every address on `iface` is out of DAD; hang guard `ms`. */
async function whenUsable(stack: Stack, iface: Iface, ms = 10_000): Promise<void> {
  const dev = stack.ipv6.devices.get(iface)!;
  const deadline = performance.now() + ms;
  while (dev.addrs.length === 0 || dev.addrs.some((a) => a.state === AddrState.TENTATIVE)) {
    if (performance.now() > deadline) throw new Error(`addresses still tentative after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  `interop TCP/IPv6: ${CONNECTIONS} concurrent stack.connect("${KERNEL_IP6}") to a Linux echo server (python asyncio), 1–32 KiB each with half-close, every byte verified; tshark clean`,
  async () => {
    await withStack(async (ns, stack, iface) => {
      await whenUsable(stack, iface);
      const capture = await startTcpCapture(ns);
      const server = ns.spawn([
        PYTHON,
        "-c",
        PY_ECHO_SERVER,
        KERNEL_IP6,
        String(LINUX_ECHO_PORT),
        String(CONNECTIONS),
      ]);
      await server.waitForOutput("READY", { stream: "stdout" });
      const seed = testSeed();
      const messages = Array.from({ length: CONNECTIONS }, (_, i) => message(seed, i));
      const bytes = messages.reduce((n, m) => n + m.length, 0);
      // Resolve the kernel's link-layer address first (neighbour discovery),
      // as the IPv4 test resolves ARP: 200 SYNs into an unresolved entry
      // would overflow its queue.
      await stack.ping(KERNEL_IP6, { timeout: 2000 });
      const t0 = performance.now();
      const conns = await withTimeout(
        Promise.all(
          messages.map(() => stack.connect({ hostname: KERNEL_IP6, port: LINUX_ECHO_PORT })),
        ),
        30_000,
        `${CONNECTIONS} connects`,
      );
      const connectMs = performance.now() - t0;
      assert.ok(conns.every((c) => c.remoteAddr.hostname === KERNEL_IP6));
      await withTimeout(
        Promise.all(conns.map((c, i) => echoOn(c, messages[i]!))),
        60_000,
        `${CONNECTIONS} echoes`,
      );
      const ms = performance.now() - t0;
      const status = await withTimeout(server.status, 10_000, "the Linux echo server to exit");
      assert.is(status.code, 0, server.stdout + server.stderr);
      assert.match(server.stdout, new RegExp(`DONE ${CONNECTIONS} ${bytes}`));
      assert.is(stack.stats.tcp.synRetrans, 0, "SYNs retransmitted");
      const wire = await assertTcpWireClean(capture);
      figure(
        "TCP/IPv6 netwasm ×200 → linux echo",
        `${CONNECTIONS}/${CONNECTIONS} connections (all open after ${
          connectMs.toFixed(0)
        } ms), ${bytes} bytes echoed and verified in ${(ms / 1000).toFixed(2)} s, seed ${seed}; ${
          wireFigure(wire)
        }`,
      );
    }, { iface: { ip6: `${OUR_IP6}/64`, slaac: false }, netns: { ipv6: true, capture: false } });
  },
  requireInterop("TCP/IPv6 200 netwasm clients to linux", {
    tools: ["python3", ...CAPTURE_TOOLS],
  }),
);
