/**
 * The CLI under attack from a hostile peer in the namespace (issue 15), the
 * Linux kernel side of the TAP acting as gateway and client. The peer is
 * `_attack_peer.py` (Python 3 standard library: raw AF_PACKET and plain
 * sockets), bounded in count and time:
 *
 * - a burst of spoofed ARP replies claiming the gateway's address while
 *   `curl` downloads from `netwasm http` through that gateway: netwasm's
 *   frames to the gateway may be disrupted ≤ 8 s and the download completes
 *   with sha256 equal (ARP poisoning, §8 row 17 in tests/tcp/TRACEABILITY.md);
 * - 300 slowloris connections that reopen as soon as they are dropped
 *   against `netwasm http`: a normal client's requests succeed ≥ 95 %;
 * - broadcast and multicast UDP to `netwasm echo --udp` get no answer,
 *   unicast does.
 *
 * Each prints one `[interop] …` figure line.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Netns, type NsProcess, requireInterop, withNetns } from "../_util/netns.ts";
import { figure, KERNEL_IP, OUR_IP } from "./_stack.ts";
import { randomFile, sha256File } from "./_tcp_wire.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const PEER = new URL("./_attack_peer.py", import.meta.url).pathname;
const HTTP_PORT = 8080;
const OUR_MAC = "02:00:5e:10:00:02";
const FAKE_MAC = "02:de:ad:be:ef:01";

/** Start the CLI `command` on the namespace's TAP; resolves once it printed `ready`. */
async function startCli(ns: Netns, args: readonly string[], ready: RegExp): Promise<NsProcess> {
  const cli = ns.spawn([
    Deno.execPath(),
    "run",
    "-A",
    CLI,
    ...args,
    "--tap",
    ns.dev,
    "--netns",
    ns.name,
    "--ip",
    `${OUR_IP}/24`,
    "--mac",
    OUR_MAC,
  ]);
  await cli.waitForOutput(ready, { timeout: 30_000 });
  return cli;
}

/** Run the attack peer's `command` in the namespace and parse its JSON line. */
async function peer(
  ns: Netns,
  args: readonly string[],
  timeout: number,
): Promise<Record<string, unknown>> {
  const r = await ns.exec(["python3", PEER, ...args], { timeout });
  assert.ok(
    r.success,
    `peer ${args[0]} failed (${r.code}${r.timedOut ? ", timed out" : ""}): ${r.stderr}`,
  );
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

test(
  "interop §8-17 ARP spoofing: a burst of 200 spoofed replies for the gateway disrupts netwasm's traffic to it ≤ 8 s; a download through it in progress completes (sha256 equal)",
  async () => {
    const bytes = 12 << 20;
    const dir = await Deno.makeTempDir({ prefix: "netwasm-arp-" });
    try {
      await randomFile(`${dir}/blob`, bytes);
      const want = await sha256File(`${dir}/blob`);
      await withNetns(async (ns) => {
        // The kernel is the gateway to 198.51.100.0/24 (its own address there
        // is on lo): netwasm reaches the client 198.51.100.1 through 192.0.2.1.
        await ns.exec(["ip", "addr", "add", "198.51.100.1/24", "dev", "lo"], { check: true });
        const gwMac = (await ns.exec(["cat", `/sys/class/net/${ns.dev}/address`], { check: true }))
          .stdout.trim();
        const cli = await startCli(
          ns,
          ["http", "--port", String(HTTP_PORT), "--root", dir, "--gateway", KERNEL_IP, "-q"],
          /serving .* on http:\/\//,
        );
        // ~8 s at 1.5 MB/s: in progress through the attack (2.0–3.0 s) and after.
        const download = ns.exec([
          "sh",
          "-c",
          `curl --max-time 60 --limit-rate 1500k --interface 198.51.100.1 -sS ` +
          `-w '%{stderr}%{http_code} %{size_download} %{time_total}\\n' ` +
          `-o - http://${OUR_IP}:${HTTP_PORT}/blob | sha256sum`,
        ], { timeout: 70_000 });
        const attack = peer(ns, [
          "arp-spoof",
          "--iface",
          ns.dev,
          "--victim-mac",
          OUR_MAC,
          "--victim-ip",
          OUR_IP,
          "--claim-ip",
          KERNEL_IP,
          "--gw-mac",
          gwMac,
          "--fake-mac",
          FAKE_MAC,
          "--count",
          "200",
          "--interval",
          "0.005",
          "--start-delay",
          "2",
          "--duration",
          "12",
        ], 30_000);
        const [d, a] = await Promise.all([download, attack]);
        assert.ok(!d.timedOut && d.code === 0, `curl: ${d.stderr}`);
        const [code, size, seconds] = d.stderr.trim().split("\n").pop()!.split(" ");
        assert.is(code, "200", d.stderr);
        assert.is(Number(size), bytes);
        assert.is(d.stdout.split(/\s+/)[0], want, "sha256 of what curl received");
        assert.is(a.spoofed, 200);
        const probes = (a.probes as [number, string][]).filter(([t]) => t >= 2);
        // Not vacuous: netwasm saw the claims and asked the gateway directly.
        assert.ok(
          probes.length >= 1,
          `no verification probe after the attack: ${JSON.stringify(a)}`,
        );
        assert.ok(probes.every(([, mac]) => mac === gwMac), `probes: ${JSON.stringify(probes)}`);
        assert.ok((a.to_gateway as number) > 0);
        assert.ok((a.disrupted_s as number) <= 8, `disrupted ${a.disrupted_s} s`);
        await cli.kill("SIGINT");
        figure(
          "ARP spoofing of the gateway",
          `${a.spoofed} spoofed replies in 1 s; frames to the fake MAC ${a.to_wrong_mac}, ` +
            `to the gateway ${a.to_gateway}; disrupted ${a.disrupted_s} s (limit 8); ` +
            `longest pause to the gateway from the attack to 2 s after ${a.longest_gap_s} s; ` +
            `${probes.length} unicast ` +
            `verification probe(s); 12 MiB download completed in ${
              Number(seconds).toFixed(1)
            } s, sha256 equal`,
        );
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("ARP spoofing", { tools: ["python3", "curl", "sha256sum"] }),
);

test(
  "interop slowloris: 300 slow connections that reopen as soon as they are dropped (from 11 addresses, 50 sharing the normal client's) — the normal client's requests succeed ≥ 95 %",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "netwasm-slowloris-" });
    const index = "<h1>netwasm under slowloris</h1>\n";
    try {
      await Deno.writeTextFile(`${dir}/index.html`, index);
      await withNetns(async (ns) => {
        const aliases = Array.from({ length: 10 }, (_, i) => `192.0.2.${10 + i}`);
        for (const a of aliases) {
          await ns.exec(["ip", "addr", "add", `${a}/24`, "dev", ns.dev], { check: true });
        }
        const cli = await startCli(
          ns,
          ["http", "--port", String(HTTP_PORT), "--root", dir, "-q"],
          /serving .* on http:\/\//,
        );
        // Round robin over 12 entries: 50 from the client's own address, 25 from each alias.
        const sources = [KERNEL_IP, KERNEL_IP, ...aliases].join(",");
        const r = await peer(ns, [
          "slowloris",
          "--target",
          OUR_IP,
          "--port",
          String(HTTP_PORT),
          "--sources",
          sources,
          "--count",
          "300",
          "--warmup",
          "3",
          "--measure",
          "8",
          "--duration",
          "20",
          "--expect",
          index,
        ], 60_000);
        await cli.kill("SIGINT");
        const summary =
          /evicted (\d+) \(per client (\d+)\), refused (\d+) \(per client (\d+)\), header timeouts (\d+)/
            .exec(cli.stdout);
        const [evicted, evictedPerClient, refused, refusedPerClient] = summary === null
          ? [NaN, NaN, NaN, NaN]
          : summary.slice(1).map(Number);
        const tries = r.tries as number;
        const ok = r.ok as number;
        const rate = ok / tries;
        figure(
          "slowloris against netwasm http",
          `normal client ${ok}/${tries} = ${(rate * 100).toFixed(1)} % (≥ 95 % required); ` +
            `attackers connected ${r.attacker_connects} times, dropped ${r.attacker_dropped}; ` +
            `server evicted ${evicted} at the global cap and ${evictedPerClient} at the ` +
            `per-client cap, refused ${refused} + ${refusedPerClient}; failures ${
              JSON.stringify(r.fail_reasons)
            }`,
        );
        assert.ok(summary !== null, `no summary from the CLI: ${cli.stdout}\n${cli.stderr}`);
        assert.ok(tries >= 20, `only ${tries} tries`);
        assert.ok(rate >= 0.95, `normal client succeeded ${ok}/${tries}`);
        // Not vacuous: the attack held the caps and was pushed out.
        assert.ok(evicted! > 0, "no eviction at the global cap");
        assert.ok(evictedPerClient! > 0, "no eviction at the per-client cap");
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("slowloris", { tools: ["python3"] }),
);

test(
  "interop UDP echo: datagrams to the limited and directed broadcast and to a multicast group get no answer (counted); unicast does",
  async () => {
    await withNetns(async (ns) => {
      const cli = await startCli(ns, ["echo", "--udp", "7", "-q"], /listening on udp/);
      const r = await peer(ns, [
        "udp-bcast",
        "--iface",
        ns.dev,
        "--source",
        KERNEL_IP,
        "--target",
        OUR_IP,
        "--directed",
        "192.0.2.255",
      ], 20_000);
      // Sent in order and echoed in order: the unicast answer proves the three
      // before it were processed, and ignored.
      assert.equal(r.echoed, ["unicast"]);
      await cli.kill("SIGINT");
      const m = /(\d+) datagrams, (\d+) bytes echoed, (\d+) to broadcast\/multicast ignored/
        .exec(cli.stdout);
      assert.ok(m !== null, cli.stdout);
      assert.equal(m.slice(1).map(Number), [1, 7, 3]);
      figure(
        "UDP echo vs broadcast",
        `sent ${(r.sent as string[]).join(", ")}; echoed ${
          (r.echoed as string[]).join(", ")
        }; the CLI counted ${m[3]} ignored`,
      );
    }, { openTap: false });
  },
  requireInterop("UDP echo broadcast", { tools: ["python3"] }),
);
