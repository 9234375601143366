/**
 * `netwasm relay --nat` run INSIDE a namespace the test creates, so what it
 * re-originates can reach only that namespace: the kernel side of a TAP at
 * 192.0.2.1 (Linux `python3 -m http.server` and dnsmasq as DNS server) and
 * 192.0.2.99 on the namespace's loopback (one of "the relay's own
 * addresses"). The relay's LAN is 198.51.100.0/24, inside the relay
 * process. Pages are netwasm stacks joined over WebSocket (no TAP), run as
 * subprocesses in the namespace (`_nat_client.ts` and the CLI):
 *
 * - the CLI `netwasm fetch --relay … --dhcp http://files.test:8000/blob`
 *   downloads NETWASM_NAT_MIB MiB (default 64) by name, sha256 equal;
 * - DNS through the relay's forwarder and a UDP query straight through the NAT;
 * - denied destinations (the relay's own address, a private range, a port
 *   the policy does not allow) refused at once and counted, nothing sent;
 * - ICMP echo re-originated with a ping socket (allowed) or refused;
 * - port forwarding lets Linux `curl` reach a page's listener;
 * - per-client limits on connections and DNS queries hold under a loop, and
 *   the bandwidth limit slows a download down.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Netns, type NsProcess, requireInterop, withNetns } from "../_util/netns.ts";
import { figure, KERNEL_IP } from "./_stack.ts";
import { randomFile, sha256File } from "./_tcp_wire.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const CLIENT = new URL("./_nat_client.ts", import.meta.url).pathname;
const RELAY_PORT = 8090;
const FORWARD_PORT = 8088;
const RELAY = `ws://127.0.0.1:${RELAY_PORT}/`;
/** The first DHCP lease of the relay's LAN (198.51.100.2/24: the pool starts at .128). */
const FIRST_PAGE = "198.51.100.128";

function sizeMib(): number {
  const env = Deno.env.get("NETWASM_NAT_MIB");
  if (env !== undefined && /^\d+$/.test(env) && Number(env) > 0) return Number(env);
  return 64;
}

/** python http.server and dnsmasq (DNS only) at 192.0.2.1; 192.0.2.99 on lo. */
async function servers(ns: Netns, dir: string): Promise<NsProcess[]> {
  await ns.exec(["ip", "addr", "add", "192.0.2.99/32", "dev", "lo"], { check: true });
  await ns.exec(["ip", "addr", "add", "192.0.2.7/32", "dev", "lo"], { check: true });
  // Unprivileged ICMP ("ping sockets") for the relay's echo forwarding.
  await ns.exec(["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"], { check: true });
  const http = ns.spawn([
    "python3",
    "-m",
    "http.server",
    "8000",
    "--bind",
    KERNEL_IP,
    "--directory",
    `${dir}/files`,
  ]);
  const dns = ns.spawn([
    "dnsmasq",
    "--keep-in-foreground",
    "--log-facility=-",
    "--conf-file=/dev/null",
    "--user=root",
    "--group=root",
    `--pid-file=${dir}/dnsmasq.pid`,
    `--listen-address=${KERNEL_IP}`,
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--local=/test/",
    "--log-queries",
    "--host-record=files.test,192.0.2.1",
  ]);
  await http.waitForOutput(/Serving HTTP/, { timeout: 10_000 });
  await dns.waitForOutput(/started/, { timeout: 10_000 });
  return [http, dns];
}

function relay(ns: Netns, extra: string[]): NsProcess {
  return ns.spawn([
    Deno.execPath(),
    "run",
    "-A",
    CLI,
    "relay",
    "--listen",
    `127.0.0.1:${RELAY_PORT}`,
    "--nat",
    "--nat-lan",
    "198.51.100.2/24",
    "--dns-upstream",
    KERNEL_IP,
    "--allow",
    `${KERNEL_IP}/32:8000,53`,
    "--allow",
    "192.0.2.7",
    ...extra,
  ]);
}

/** Run the page client with a scenario; its JSON line. */
async function page(ns: Netns, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await ns.exec([Deno.execPath(), "run", "-A", CLIENT, RELAY, ...args], {
    timeout: 60_000,
  });
  assert.is(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  const line = r.stdout.trim().split("\n").pop()!;
  return JSON.parse(line);
}

test(
  "interop NAT: relay --nat in a namespace — a WebSocket client downloads NETWASM_NAT_MIB MiB by name from Linux, DNS passes (forwarder and UDP NAT), denied destinations are refused and counted, --forward lets curl reach a page, per-client limits hold",
  async () => {
    const mib = sizeMib();
    const bytes = mib << 20;
    const dir = await Deno.makeTempDir({ prefix: "netwasm-nat-" });
    try {
      await Deno.mkdir(`${dir}/files`);
      await randomFile(`${dir}/files/blob`, bytes);
      const want = await sha256File(`${dir}/files/blob`);
      await withNetns(async (ns) => {
        await servers(ns, dir);
        const gw = relay(ns, [
          "--forward",
          `tcp:127.0.0.1:${FORWARD_PORT}=${FIRST_PAGE}:80`,
          "--client-connections",
          "6",
          "--client-dns",
          "10",
        ]);
        await gw.waitForOutput(
          /listening on ws:\/\/127\.0\.0\.1:8090\/.*NAT gateway 198\.51\.100\.2\/24/,
          {
            timeout: 30_000,
          },
        );

        // Port forwarding: the first page serves; Linux curl reaches it through the relay.
        const server = ns.spawn([
          Deno.execPath(),
          "run",
          "-A",
          CLIENT,
          RELAY,
          "serve",
          "80",
          "hello from a page",
        ]);
        await server.waitForOutput(/"listening":"198\.51\.100\.128:80"/, { timeout: 30_000 });
        const curl = await ns.exec([
          "curl",
          "-sS",
          "--max-time",
          "20",
          `http://127.0.0.1:${FORWARD_PORT}/`,
        ]);
        assert.is(curl.code, 0, curl.stderr);
        assert.is(curl.stdout, "hello from a page", `curl: ${curl.stderr}; relay:\n${gw.stdout}`);
        await server.kill();

        // A client joined over WebSocket downloads by name (DNS forwarder, then TCP NAT).
        const out = `${dir}/received`;
        const t0 = performance.now();
        const f = await ns.exec([
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "fetch",
          "--relay",
          RELAY,
          "--dhcp",
          "http://files.test:8000/blob",
          "-o",
          out,
        ], { timeout: 150_000 });
        const took = (performance.now() - t0) / 1000;
        assert.is(f.code, 0, f.stderr);
        assert.match(f.stderr, /netwasm: DHCP lease 198\.51\.100\.\d+\/24 from 198\.51\.100\.2/);
        const m = /HTTP 200 OK, (\d+) bytes .* in ([\d.]+) s, ([\d.]+ [GMk]?bit\/s)/.exec(f.stderr);
        assert.ok(m !== null, f.stderr);
        assert.is(Number(m[1]), bytes);
        assert.is(await sha256File(out), want, "sha256 of what came through the NAT");
        await Deno.remove(out);

        // DNS: through the relay's forwarder, and straight to 192.0.2.1 over UDP through the NAT.
        const dns = await page(ns, "dns", "files.test", KERNEL_IP);
        assert.equal(dns.dns, ["198.51.100.2"]);
        assert.equal(dns.viaGateway, ["192.0.2.1"]);
        assert.equal(dns.direct, ["192.0.2.1"]);
        await gw.waitForOutput(/nat: udp 198\.51\.100\.\d+:\d+ → 192\.0\.2\.1:53 open/);

        // Denied destinations: refused at once (RST), counted, never attempted.
        const denied = await page(ns, "denied", "192.0.2.99:9", "10.1.2.3:80", `${KERNEL_IP}:22`);
        for (const [target, how] of Object.entries(denied.results as Record<string, string>)) {
          assert.match(how, /^ConnectionRefused after \d+ ms$/, target);
        }
        await gw.waitForOutput(
          /denied tcp .* → 192\.0\.2\.99:9 \(default: the relay's own address 192\.0\.2\.99\)/,
        );
        await gw.waitForOutput(/denied tcp .* → 10\.1\.2\.3:80 \(default: private network\)/);
        // 192.0.2.1 is allowed on ports 8000 and 53 only; it is also this host's own address.
        await gw.waitForOutput(
          /denied tcp .* → 192\.0\.2\.1:22 \(default: the relay's own address 192\.0\.2\.1\)/,
        );
        assert.not.match(
          gw.stdout,
          /: connect failed: /,
          `nothing denied was attempted:\n${gw.stdout}`,
        );

        // ICMP echo: re-originated with a ping socket where allowed, refused where not.
        const ping = await page(ns, "ping", "192.0.2.7", "192.0.2.99");
        assert.equal(ping.results, {
          "192.0.2.7": "reply from 192.0.2.7, data matches",
          "192.0.2.99": "HostUnreachable",
        });
        await gw.waitForOutput(
          /denied icmp echo .* → 192\.0\.2\.99 \(default: the relay's own address/,
        );

        // Per-client connection limit under a loop of 10 connections held open.
        const limit = await page(ns, "limit", `${KERNEL_IP}:8000`, "10");
        assert.is(limit.opened, 6, `${JSON.stringify(limit)}\n${gw.stdout}`);
        assert.equal(limit.refused, Array(4).fill("ConnectionRefused"));
        assert.is(limit.afterClose, "connected", JSON.stringify(limit));
        await gw.waitForOutput(/has 6 connections \(limit\)/);

        // Per-client DNS rate: 40 queries at once against 10/s (burst 20).
        const flood = await page(ns, "dnsflood", "test", "40");
        assert.ok((flood.refused as number) > 0, JSON.stringify(flood));
        assert.ok((flood.answered as number) >= 10, JSON.stringify(flood));
        assert.equal(flood.other, []);
        await gw.waitForOutput(/dns query from .* refused: over the per-client rate/);

        await gw.kill("SIGTERM");
        const summary = gw.stdout.trim().split("\n").filter((l) => l.includes("; nat: ")).pop()!;
        const counted = /denied tcp (\d+), udp \d+, icmp (\d+)/.exec(summary);
        assert.ok(counted !== null && Number(counted[1]) >= 3 && Number(counted[2]) === 1, summary);
        assert.match(summary, /tcp 0 open\//, "every session closed once its page left");
        figure(
          "NAT relay --nat (netns)",
          `${mib} MiB by name through the NAT in ${took.toFixed(2)} s (fetch: ${m[2]} s, ${
            m[3]
          }); ` +
            `DNS via forwarder and UDP NAT; ping forwarded; 3 TCP and 1 ICMP denials refused; ` +
            `6/10 connections under the limit; ` +
            `${flood.refused}/40 DNS queries over the rate refused; curl → --forward → page`,
        );
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("NAT relay", { tools: ["python3", "dnsmasq", "curl", "sha256sum"] }),
);

test(
  "interop NAT: --client-rate slows a page's download to the limit",
  async () => {
    const rate = 2_000_000;
    const bytes = 6 << 20;
    const dir = await Deno.makeTempDir({ prefix: "netwasm-nat-rate-" });
    try {
      await Deno.mkdir(`${dir}/files`);
      await randomFile(`${dir}/files/blob`, bytes);
      await withNetns(async (ns) => {
        await servers(ns, dir);
        const gw = relay(ns, ["--client-rate", String(rate)]);
        await gw.waitForOutput(/NAT gateway 198\.51\.100\.2\/24/, { timeout: 30_000 });
        const r = await ns.exec([
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "fetch",
          "--relay",
          RELAY,
          "--dhcp",
          `http://${KERNEL_IP}:8000/blob`,
          "-o",
          `${dir}/out`,
        ], { timeout: 60_000 });
        assert.is(r.code, 0, r.stderr);
        const m = /HTTP 200 OK, (\d+) bytes .* in ([\d.]+) s/.exec(r.stderr)!;
        assert.is(Number(m[1]), bytes);
        // A lower bound only (slower is always fine on a loaded machine): the
        // bucket starts full (0.2 s worth), so at least (bytes - depth) / rate.
        const floor = (bytes - rate / 10) / rate;
        assert.ok(Number(m[2]) >= floor * 0.95, `${m[2]} s for ${bytes} bytes at ${rate} B/s`);
        await gw.kill("SIGTERM");
        figure(
          "NAT relay --client-rate",
          `${bytes} bytes at ${rate} B/s took ${m[2]} s (floor ${floor.toFixed(2)} s)`,
        );
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("NAT relay rate", { tools: ["python3", "dnsmasq"] }),
);

test(
  "interop NAT: a Chromium page (examples/, ?dhcp) joined to relay --nat downloads NETWASM_NAT_MIB MiB from Linux with stack.fetch, sha256 equal",
  async () => {
    const { chromium } = await import("playwright-core");
    const mib = sizeMib();
    const bytes = mib << 20;
    const dir = await Deno.makeTempDir({ prefix: "netwasm-nat-page-" });
    try {
      await Deno.mkdir(`${dir}/files`);
      await Deno.mkdir(`${dir}/profile`);
      await randomFile(`${dir}/files/blob`, bytes);
      const want = await sha256File(`${dir}/files/blob`);
      await withNetns(async (ns) => {
        await servers(ns, dir);
        const gw = relay(ns, ["--static", new URL("../../examples/", import.meta.url).pathname]);
        await gw.waitForOutput(/NAT gateway 198\.51\.100\.2\/24/, { timeout: 120_000 });
        // Chromium inside the namespace too: Playwright talks to it over a
        // pipe, which crosses namespaces; its network is the namespace's.
        const wrapper = `${dir}/chromium-in-netns`;
        await Deno.writeTextFile(
          wrapper,
          `#!/bin/sh\nexec ip netns exec ${ns.name} /usr/bin/chromium "$@"\n`,
        );
        await Deno.chmod(wrapper, 0o755);
        const context = await chromium.launchPersistentContext(`${dir}/profile`, {
          executablePath: wrapper,
          headless: true,
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        });
        try {
          const tab = await context.newPage();
          const t0 = performance.now();
          await tab.goto(
            `http://127.0.0.1:${RELAY_PORT}/?dhcp&sha256&get=http://${KERNEL_IP}:8000/blob`,
          );
          await tab.waitForFunction(
            () => /^(done|error)/.test(document.getElementById("status")?.textContent ?? ""),
            undefined,
            { timeout: 120_000 },
          );
          const status = await tab.textContent("#status");
          const log = await tab.textContent("#log");
          assert.is(status, `done: ${bytes} bytes of body, sha256 ${want}`, log ?? "");
          assert.match(log ?? "", /DHCP lease 198\.51\.100\.\d+\/24 from 198\.51\.100\.2/);
          assert.match(log ?? "", /response: 200 OK/);
          figure(
            "NAT relay --nat ← Chromium page",
            `${mib} MiB via stack.fetch through the NAT, sha256 match, ${
              ((performance.now() - t0) / 1000).toFixed(2)
            } s wall (page load, DHCP, transfer, digest)`,
          );
        } finally {
          await context.close();
        }
        await gw.kill("SIGTERM");
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("NAT relay Chromium page", {
    tools: ["python3", "dnsmasq", "sha256sum", "chromium"],
  }),
);
