/**
 * DHCP and DNS against Debian's dnsmasq, as DHCP server and DNS server on
 * the kernel side of a TAP in a namespace the test creates:
 *
 * - the in-process stack gets a lease, resolves A, AAAA, CNAME and NXDOMAIN
 *   (and a bare name through the lease's domain), renews at T1, and when
 *   dnsmasq is gone the lease expires and the address goes away. dnsmasq
 *   will not lease for less than two minutes, so this stack runs on a clock
 *   that goes 30× faster than real time (the DHCP client's timers, and
 *   everything else of this stack; dnsmasq's lease is only renewed early);
 * - the CLI, as a subprocess on real time, `netwasm fetch --dhcp
 *   http://files.test:8000/blob` downloads NETWASM_DHCP_FETCH_MIB MiB
 *   (default 64) BY NAME from Linux `python3 -m http.server`, sha256 equal.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Netns, type NsProcess, requireInterop, withNetns } from "../_util/netns.ts";
import { ScaledClock } from "../_util/scaled_clock.ts";
import { figure, KERNEL_IP, OUR_MAC, withTimeout } from "./_stack.ts";
import { randomFile, sha256File } from "./_tcp_wire.ts";
import { Stack } from "../../src/api/stack.ts";
import type { DhcpEvent, DhcpLease } from "../../src/dhcp/client.ts";
import { NotFound } from "../../src/dns/errors.ts";
import { formatIpv4 } from "../../src/wire/addr.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const SCALE = 30;
const HTTP_PORT = 8000;

/** Start dnsmasq in `ns` as DHCP server for 192.0.2.100–150 and DNS server for *.test. */
async function startDnsmasq(ns: Netns, dir: string, extra: string[] = []): Promise<NsProcess> {
  const p = ns.spawn([
    "dnsmasq",
    "--keep-in-foreground",
    "--log-facility=-",
    "--conf-file=/dev/null",
    "--user=root",
    "--group=root",
    `--pid-file=${dir}/dnsmasq.pid`,
    `--dhcp-leasefile=${dir}/dnsmasq.leases`,
    `--interface=${ns.dev}`,
    "--bind-interfaces",
    "--except-interface=lo",
    "--no-resolv",
    "--no-hosts",
    "--log-dhcp",
    "--no-ping",
    "--log-queries",
    "--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m",
    "--dhcp-option=option:router,192.0.2.1",
    "--dhcp-option=option:dns-server,192.0.2.1",
    "--dhcp-option=option:mtu,1400",
    "--domain=test",
    "--local=/test/",
    "--host-record=files.test,192.0.2.1,2001:db8::1",
    "--cname=alias.test,files.test",
    ...extra,
  ]);
  await p.waitForOutput(/DHCP, IP range 192\.0\.2\.100/, { timeout: 10_000 });
  return p;
}

test(
  "interop DHCP+DNS: dnsmasq leases an address (router, DNS, domain, MTU applied), names resolve (A, AAAA, CNAME, NXDOMAIN), T1 renews, and with dnsmasq gone the lease expires and the address goes away",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "netwasm-dnsmasq-" });
    const clock = new ScaledClock(SCALE);
    const stack = new Stack({ clock, dns: { timeout: 30_000 } });
    try {
      await withNetns(async (ns) => {
        const dnsmasq = await startDnsmasq(ns, dir);
        const t0 = performance.now();
        const iface = stack.addInterface(ns.tap, {
          dhcp: { startDelayMs: 0, probes: 1, probeIntervalMs: 3000, hostname: "netwasm" },
        });
        const client = stack.dhcp(iface)!;
        const events: string[] = [];
        for (const t of ["bound", "renewed", "rebind", "expired"]) {
          client.addEventListener(t, (e) => events.push(`${t} ${(e as DhcpEvent).lease?.address}`));
        }
        const lease: DhcpLease = await withTimeout(client.bound(), 20_000, "a DHCP lease");
        const leaseMs = performance.now() - t0;
        assert.match(lease.address, /^192\.0\.2\.(1[0-4]\d|150)$/);
        assert.is(lease.prefixLength, 24);
        assert.is(lease.serverId, "192.0.2.1");
        assert.equal(lease.routers, ["192.0.2.1"]);
        assert.equal(lease.dnsServers, ["192.0.2.1"]);
        assert.equal(lease.search, ["test"]);
        assert.is(lease.mtu, 1400);
        assert.is(lease.leaseTime, 120);
        assert.is(formatIpv4(iface.address), lease.address);
        assert.is(formatIpv4(stack.routes.lookup(0xc6336401)!.nextHop), "192.0.2.1");
        await dnsmasq.waitForOutput(
          new RegExp(`DHCPACK\\(${ns.dev}\\) ${lease.address.replaceAll(".", "\\.")}`),
        );

        // Names through the lease's name server.
        assert.equal(await stack.resolveDns("files.test", "A"), ["192.0.2.1"]);
        assert.equal(await stack.resolveDns("files.test", "AAAA"), ["2001:db8::1"]);
        assert.equal(await stack.resolveDns("alias.test", "CNAME"), ["files.test."]);
        assert.equal(await stack.resolveDns("alias.test", "A"), ["192.0.2.1"]);
        assert.equal(
          await stack.resolveDns("files", "A"),
          ["192.0.2.1"],
          "search domain from DHCP",
        );
        const nx = await stack.resolveDns("nx.test", "A").catch((e) => e);
        assert.instance(nx, NotFound);
        assert.is(nx.reason, "nxdomain");
        await dnsmasq.waitForOutput(/query\[AAAA\] files\.test from 192\.0\.2\.1\d\d/);

        // T1 = 60 s (2 s real): the renewal is a unicast REQUEST dnsmasq ACKs again.
        await withTimeout(
          new Promise<void>((r) => client.addEventListener("renewed", () => r(), { once: true })),
          20_000,
          "the T1 renewal",
        );
        // dnsmasq logged both ACKs (its log may lag the reply a little).
        await dnsmasq.waitUntil(
          (p) => ((p.stderr + p.stdout).match(/DHCPACK\(/g)?.length ?? 0) >= 2,
          {
            what: "a second DHCPACK in dnsmasq's log",
          },
        );
        const renewed = client.lease!;

        // dnsmasq stops: renewals and rebinding go unanswered; at the end of the lease the address goes.
        await dnsmasq.kill("SIGTERM");
        await withTimeout(
          new Promise<void>((r) => client.addEventListener("expired", () => r(), { once: true })),
          30_000,
          "the lease to expire",
        );
        const heldMs = clock.now() - renewed.obtainedAt;
        assert.ok(heldMs >= 120_000 && heldMs < 125_000, `expired ${heldMs} ms after the renewal`);
        assert.is(iface.address, 0, "the address is gone");
        assert.is(stack.routes.routes.filter((r) => r.iface === iface).length, 0);
        const ping = await stack.ping(KERNEL_IP, { timeout: 2000 }).catch((e) => e);
        assert.is(ping.name, "NetworkUnreachable");
        assert.match(events.join(", "), /^bound .*, renewed .*rebind .*expired /);
        figure(
          "DHCP+DNS netwasm ← dnsmasq",
          `lease ${lease.address}/24 in ${
            leaseMs.toFixed(0)
          } ms real; A/AAAA/CNAME/NXDOMAIN resolved; ` +
            `renewed at T1; expired ${
              (heldMs / 1000).toFixed(1)
            } s (scaled ×${SCALE}) after the last ACK`,
        );
      }, { mac: OUR_MAC, allocator: stack.allocator, clock, capture: "check" });
    } finally {
      await stack.close();
      clock.close();
      await Deno.remove(dir, { recursive: true });
    }
    assert.is(stack.arena.inUse, 0);
  },
  requireInterop("DHCP+DNS with dnsmasq", { tools: ["dnsmasq", "tcpdump", "tshark"] }),
);

/** Transfer size in MiB. */
function sizeMib(): number {
  const env = Deno.env.get("NETWASM_DHCP_FETCH_MIB");
  if (env !== undefined && /^\d+$/.test(env) && Number(env) > 0) return Number(env);
  return 64;
}

test(
  "interop DHCP+DNS: `netwasm fetch --dhcp http://files.test:8000/blob` downloads NETWASM_DHCP_FETCH_MIB MiB by name from Linux python3 http.server, sha256 equal",
  async () => {
    const mib = sizeMib();
    const bytes = mib * 1024 * 1024;
    const dir = await Deno.makeTempDir({ prefix: "netwasm-dhcp-fetch-" });
    const files = `${dir}/files`;
    await Deno.mkdir(files);
    try {
      await randomFile(`${files}/blob`, bytes);
      const want = await sha256File(`${files}/blob`);
      await withNetns(async (ns) => {
        const dnsmasq = await startDnsmasq(ns, dir);
        const server = ns.spawn([
          "python3",
          "-m",
          "http.server",
          String(HTTP_PORT),
          "--bind",
          KERNEL_IP,
          "--directory",
          files,
        ]);
        await server.waitForOutput(/Serving HTTP/, { timeout: 10_000 });
        const out = `${dir}/received`;
        const r = await ns.exec([
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "fetch",
          `http://files.test:${HTTP_PORT}/blob`,
          "-o",
          out,
          "--tap",
          ns.dev,
          "--netns",
          ns.name,
          "--dhcp",
        ], { timeout: 150_000 });
        assert.ok(!r.timedOut, `fetch timed out: ${r.stderr}`);
        assert.is(r.code, 0, r.stderr);
        assert.match(r.stderr, /netwasm: DHCP lease 192\.0\.2\.1\d\d\/24 from 192\.0\.2\.1/);
        const m = /HTTP 200 OK, (\d+) bytes .* in ([\d.]+) s, ([\d.]+ [GMk]?bit\/s)/.exec(r.stderr);
        assert.ok(m !== null, r.stderr);
        assert.is(Number(m[1]), bytes);
        assert.is(await sha256File(out), want, "sha256 of what netwasm fetch wrote");
        await dnsmasq.waitForOutput(/query\[A\] files\.test from 192\.0\.2\.1\d\d/);
        await server.kill("SIGINT");
        figure(
          "DHCP+DNS CLI netwasm fetch --dhcp ← python http.server by name",
          `${mib} MiB from http://files.test:${HTTP_PORT}/blob, sha256 match, ${m[2]} s, ${m[3]}`,
        );
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("DHCP fetch by name", { tools: ["dnsmasq", "python3", "sha256sum"] }),
);
