/**
 * ICMP echo against the Linux kernel as an independent peer, with the
 * capture checked by tshark: the kernel sits in a network namespace behind a TAP whose
 * other end is a {@link Stack} in this process (192.0.2.2/24, real clock).
 * Every frame on the TAP is captured and must pass tshark with zero findings.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { requireInterop, run, tsharkCheck, withNetns } from "../_util/netns.ts";
import {
  assertWireClean,
  CAPTURE_TOOLS,
  figure,
  KERNEL_IP,
  kernelSnmp,
  OUR_IP,
  parsePingSummary,
  repoFileExists,
  withStack,
} from "./_stack.ts";

const COUNT = 200;

test(
  "interop: Linux `ping -c 200` to our stack at 56, 1472 and 8000 bytes (8000 fragmented both ways): 0% loss, no wrong data, duplicates or bad checksums; tshark clean",
  async () => {
    await withStack(async (ns, stack) => {
      const parts: string[] = [];
      // 56 with a 16-byte -p pattern; 1472 (largest unfragmented) and 8000
      // with ping's default incrementing bytes, whose period (256) is not a
      // divisor of the 1480-byte fragment payload, so a misplaced fragment shows.
      const runs: [number, string[]][] = [
        [56, ["-p", "a55a0ff0c33c9669deadbeef01234567"]],
        [1472, []],
        [8000, []],
      ];
      for (const [size, extra] of runs) {
        const before = { ...stack.stats.ip };
        const echoRepliesBefore = stack.stats.icmp.outByType[0]!;
        const r = await ns.exec(
          // As root any interval is allowed; 200 × 5 ms keeps a run near 1–2 s.
          [
            "ping",
            "-c",
            String(COUNT),
            "-i",
            "0.005",
            "-W",
            "1",
            "-s",
            String(size),
            ...extra,
            OUR_IP,
          ],
          { timeout: 15_000 },
        );
        const out = `${r.stdout}\n${r.stderr}`;
        assert.ok(!r.timedOut, `ping -s ${size} timed out:\n${out}`);
        const s = parsePingSummary(r.stdout);
        assert.is(s.transmitted, COUNT, out);
        assert.is(s.received, COUNT, `ping -s ${size}: ${s.lossPercent}% loss`);
        assert.is(s.lossPercent, 0);
        assert.is(s.duplicates, 0, "duplicate replies");
        assert.is(s.errors, 0, "ICMP errors");
        for (const bad of ["wrong data", "BAD CHECKSUM", "truncated", "DUP!"]) {
          assert.not.ok(out.includes(bad), `ping -s ${size} reported "${bad}":\n${out}`);
        }
        assert.is(r.code, 0, out);
        // Every reply line has the full size.
        const lines = r.stdout.split("\n").filter((l) => l.includes(`bytes from ${OUR_IP}`));
        assert.is(lines.length, COUNT);
        assert.ok(lines.every((l) => l.startsWith(`${size + 8} bytes from ${OUR_IP}`)), lines[0]);
        assert.is(stack.stats.icmp.outByType[0]! - echoRepliesBefore, COUNT, "echo replies sent");
        if (size > 1472) {
          // 8008 bytes of ICMP in 1480-byte fragments: 6 per datagram each way.
          assert.is(stack.stats.ip.reasmOKs - before.reasmOKs, COUNT, "requests reassembled");
          assert.is(stack.stats.ip.fragCreates - before.fragCreates, COUNT * 6, "reply fragments");
        } else {
          assert.is(stack.stats.ip.fragCreates, before.fragCreates, "no fragmentation");
        }
        parts.push(
          `${size}B ${s.received}/${s.transmitted} ${s.lossPercent}% loss rtt avg ${s.rttAvg} max ${s.rttMax} ms`,
        );
      }
      const snmp = await kernelSnmp(ns);
      assert.is(snmp["Icmp.InEchoReps"], 3 * COUNT, "the kernel counted every reply");
      assert.is(snmp["Ip.ReasmOKs"], COUNT, "the kernel reassembled every 8000-byte reply");
      assert.is(snmp["Icmp.InErrors"], 0);
      assert.is(snmp["Icmp.InCsumErrors"], 0);
      assert.is(stack.stats.drops.total, 0, "the stack dropped something");
      const wire = await assertWireClean(ns);
      figure(
        "linux ping → netwasm",
        `${parts.join("; ")}; tshark ${wire.frames} frames, 0 findings`,
      );
    });
  },
  requireInterop("linux ping to netwasm", { tools: ["ping", ...CAPTURE_TOOLS] }),
);

test(
  "interop: our Stack.ping to Linux (8000 and 56 bytes, 5 each; the first, 6 fragments, sent before ARP resolved): every reply matches byte for byte; the kernel's counters agree; tshark clean",
  async () => {
    await withStack(async (ns, stack) => {
      const before = await kernelSnmp(ns);
      const rtts: Record<number, number[]> = { 56: [], 8000: [] };
      let seq = 0;
      // 8000 first: its 6 fragments all wait in the ARP queue of a cold
      // neighbour entry and must all go out once the kernel answers.
      for (const size of [8000, 56]) {
        for (let i = 0; i < 5; i++) {
          const r = await stack.ping(KERNEL_IP, { size, seq: ++seq, timeout: 2000 });
          assert.is(r.from, KERNEL_IP);
          assert.is(r.seq, seq);
          assert.is(r.bytes, size + 8);
          assert.is(r.ttl, 64, "Linux's default TTL");
          assert.ok(r.dataMatches, `reply ${seq} (${size} bytes) differs`);
          rtts[size]!.push(r.rtt);
        }
      }
      const after = await kernelSnmp(ns);
      const d = (k: string) => after[k]! - before[k]!;
      assert.is(d("Icmp.InEchos"), 10, "echo requests the kernel accepted");
      assert.is(d("Icmp.OutEchoReps"), 10);
      assert.is(d("Ip.ReasmOKs"), 5, "our 8000-byte requests reassembled by Linux");
      assert.is(d("Ip.ReasmFails"), 0);
      assert.is(d("Icmp.InErrors"), 0);
      assert.is(d("Icmp.InCsumErrors"), 0);
      assert.is(stack.stats.ip.reasmOKs, 5, "Linux's fragmented replies reassembled by us");
      const wire = await assertWireClean(ns);
      const avg = (a: number[]) => (a.reduce((x, y) => x + y, 0) / a.length).toFixed(3);
      figure(
        "netwasm ping → linux",
        `56B 5/5 avg ${avg(rtts[56]!)} ms, 8000B 5/5 avg ${
          avg(rtts[8000]!)
        } ms, all data matches; tshark ${wire.frames} frames, 0 findings`,
      );
    });
  },
  requireInterop("netwasm ping to linux", { tools: [...CAPTURE_TOOLS] }),
);

const CLI = "src/cli/main.ts";
const cliReady = repoFileExists(CLI);

test(
  "interop: the CLI `netwasm ping -c 3 192.0.2.1 --tap … --netns … --ip 192.0.2.2/24` as a subprocess: exit 0, 3 received; tshark clean",
  async () => {
    await withNetns(async (ns) => {
      const dir = await Deno.makeTempDir({ prefix: "netwasm-cli-" });
      try {
        const ownPcap = `${dir}/cli.pcap`;
        const r = await run([
          Deno.execPath(),
          "run",
          "-A",
          new URL(`../../${CLI}`, import.meta.url).pathname,
          "ping",
          "-c",
          "3",
          "-i",
          "0.2",
          KERNEL_IP,
          "--tap",
          ns.dev,
          "--netns",
          ns.name,
          "--ip",
          `${OUR_IP}/24`,
          "--pcap",
          ownPcap,
        ], { timeout: 30_000 });
        const out = `${r.stdout}\n${r.stderr}`;
        assert.ok(!r.timedOut, `the CLI timed out:\n${out}`);
        assert.is(r.code, 0, out);
        assert.match(r.stdout, /3 packets transmitted, 3 received/);
        assert.match(r.stdout, /[^.\d]0(\.0)?% packet loss/);
        const snmp = await kernelSnmp(ns);
        assert.is(snmp["Icmp.InEchos"], 3, "the kernel answered three requests");
        const wire = await assertWireClean(ns);
        // The pcap the stack wrote itself holds the same frames, also valid.
        const own = await tsharkCheck(ownPcap);
        assert.equal(own.findings, [], "findings in the CLI's own pcap");
        assert.is(own.frames, wire.frames, "the CLI's pcap and tcpdump saw the same frames");
        figure(
          "CLI ping → linux",
          `3/3 received, exit 0; tshark ${wire.frames} frames (tcpdump) + ${own.frames} (its own pcap), 0 findings`,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }, { openTap: false, capture: "check" });
  },
  cliReady
    ? requireInterop("CLI ping", { tools: [...CAPTURE_TOOLS] })
    : { ignore: true, reason: `${CLI} does not exist yet` },
);

test(
  "interop: ICMP errors reach ping: no ARP answer → EHOSTUNREACH; Linux as a router sends net unreachable (ENETUNREACH), admin prohibited and TTL exceeded (EHOSTUNREACH); tshark clean",
  async () => {
    await withStack(async (ns, stack) => {
      // The kernel as a router for 198.51.100.0/24, which leads nowhere: no
      // route to .0/26, a prohibit route for .64/26, and .128/25 via an
      // on-link neighbour that never exists (only reached by TTL-1 probes,
      // which Linux answers before forwarding, so it never ARPs for it).
      await ns.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"], { check: true });
      await ns.exec(["ip", "route", "add", "prohibit", "198.51.100.64/26"], { check: true });
      await ns.exec(["ip", "route", "add", "198.51.100.128/25", "via", "192.0.2.3"], {
        check: true,
      });
      const failure = async (host: string, o: { ttl?: number; timeout?: number } = {}) => {
        const t0 = performance.now();
        try {
          const r = await stack.ping(host, { timeout: 5000, ...o });
          throw new Error(`ping ${host} unexpectedly answered by ${r.from}`);
        } catch (e) {
          return { e: e as Error & { code?: string }, ms: performance.now() - t0 };
        }
      };
      const [noArp, net, prohibited, ttl] = await Promise.all([
        failure("192.0.2.99", { timeout: 10_000 }),
        failure("198.51.100.1"),
        failure("198.51.100.65"),
        failure("198.51.100.129", { ttl: 1 }),
      ]);
      assert.is(noArp.e.code, "EHOSTUNREACH", String(noArp.e));
      assert.ok(noArp.ms > 1500 && noArp.ms < 5000, `EHOSTUNREACH after ${noArp.ms} ms`);
      assert.is(stack.stats.arp.resolveFailed, 1);
      assert.is(net.e.code, "ENETUNREACH", String(net.e));
      assert.match(String(net.e), /from 192\.0\.2\.1/);
      assert.is(prohibited.e.code, "EHOSTUNREACH", String(prohibited.e));
      assert.match(String(prohibited.e), /from 192\.0\.2\.1/);
      assert.is(ttl.e.code, "EHOSTUNREACH", String(ttl.e));
      assert.match(String(ttl.e), /time to live exceeded/);
      // The errors are answers, not timeouts (5 s): each came back at once
      // (bounded loosely: a loaded CI machine is slow, not wrong).
      for (const x of [net, prohibited, ttl]) assert.ok(x.ms < 4000, `${x.e} after ${x.ms} ms`);
      // Two from Linux, and the host unreachable the stack sends itself (over
      // loopback) for the echo request that was waiting for ARP.
      assert.is(stack.stats.icmp.inByType[3], 3, "destination unreachable received");
      assert.is(stack.stats.icmp.inByType[11], 1, "time exceeded received");
      const snmp = await kernelSnmp(ns);
      assert.is(snmp["Icmp.OutDestUnreachs"], 2);
      assert.is(snmp["Icmp.OutTimeExcds"], 1);
      const wire = await assertWireClean(ns);
      figure(
        "ICMP errors → netwasm",
        `EHOSTUNREACH after ${(noArp.ms / 1000).toFixed(1)} s (3 ARP probes), net unreachable ${
          net.ms.toFixed(1)
        } ms, prohibited ${prohibited.ms.toFixed(1)} ms, TTL exceeded ${
          ttl.ms.toFixed(1)
        } ms; tshark ${wire.frames} frames, 0 findings`,
      );
    }, { gateway: KERNEL_IP });
  },
  requireInterop("ICMP errors from linux", { tools: [...CAPTURE_TOOLS] }),
);
