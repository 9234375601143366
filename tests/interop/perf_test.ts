/**
 * `netwasm perf` against Debian's real `iperf3` (issue 10 item 2), over a TAP
 * opened with offloads (issue 10 item 1: `IFF_VNET_HDR`, TSO/GSO both
 * ways): Linux `iperf3 -c` against `netwasm perf -s`, and `netwasm perf -c`
 * against Linux `iperf3 -s`, TCP (one and two streams, both directions) and
 * UDP. Both sides print JSON, and each side's report carries the other's
 * results message, so the figures must agree exactly: what iperf3 says the
 * netwasm side received is what netwasm says it received, and the reverse.
 *
 * Tests are bounded by bytes (`-n`), not time, so they take a second or two
 * however loaded the machine is. Throughput is printed, never asserted.
 *
 * The capture check: one test records the link with tcpdump (snapshot length
 * 64 KiB+, for super-frames) and runs tshark on it. On an offloaded TAP the
 * kernel-side capture sees TCP/UDP checksums before anyone filled them in
 * (they hold the pseudo-header seed, Linux `CHECKSUM_PARTIAL`): the harness
 * accepts exactly those (recomputing each seed from the frame's own
 * headers) and reports every other bad frame.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Netns, requireInterop, withNetns } from "../_util/netns.ts";
import { netwasm, spawnNetwasm } from "../cli/_cli.ts";
import { figure } from "./_stack.ts";

const TOOLS = ["iperf3"] as const;
const OUR_IP = "192.0.2.2";
const KERNEL_IP = "192.0.2.1";

function link(ns: Netns): string[] {
  return ["--tap", ns.dev, "--netns", ns.name, "--ip", `${OUR_IP}/24`];
}

/** iperf3's `-J` report, the parts the tests read. */
interface Report {
  start?: { test_start?: { protocol?: string; num_streams?: number; reverse?: number } };
  end: {
    streams: unknown[];
    sum_sent?: { bytes: number; bits_per_second: number };
    sum_received?: { bytes: number; bits_per_second: number; seconds: number };
    sum?: { bytes: number; packets: number; lost_packets: number; bits_per_second: number };
  };
  error?: string;
}

function parseReport(text: string, who: string): Report {
  const at = text.indexOf("{");
  if (at < 0) throw new Error(`${who} printed no JSON:\n${text}`);
  const r = JSON.parse(text.slice(at)) as Report;
  if (r.error !== undefined) throw new Error(`${who}: ${r.error}`);
  return r;
}

function gbits(bps: number): string {
  return `${(bps / 1e9).toFixed(2)} Gbit/s`;
}

/** Run `netwasm perf -s -1 --json` and, once it listens, `iperf3 -c … -J`. */
async function linuxClient(ns: Netns, iperfArgs: string[]): Promise<[Report, Report]> {
  const server = spawnNetwasm(["perf", "-s", "-1", "--json", ...link(ns)], { timeout: 60_000 });
  // iperf3 does not retry a refused connect: wait for "listening".
  await server.waitFor(/listening on port 5201/, 30_000, "stderr");
  const client = await ns.exec(["iperf3", "-c", OUR_IP, "-J", ...iperfArgs], { timeout: 60_000 });
  const ours = await server.result;
  assert.is(client.code, 0, `iperf3 -c failed:\n${client.stdout}\n${client.stderr}`);
  assert.is(ours.code, 0, `netwasm perf -s failed:\n${ours.stdout}\n${ours.stderr}`);
  return [parseReport(client.stdout, "iperf3 -c"), parseReport(ours.stdout, "netwasm perf -s")];
}

/** Start `iperf3 -s -1 -J`, then run `netwasm perf -c … --json`. */
async function linuxServer(ns: Netns, perfArgs: string[]): Promise<[Report, Report]> {
  const server = ns.spawn(["iperf3", "-s", "-1", "-J"]);
  await waitForLinuxListener(ns, 5201);
  const ours = await netwasm(
    ["perf", "-c", KERNEL_IP, "--json", ...perfArgs, ...link(ns)],
    { timeout: 60_000 },
  );
  assert.is(ours.code, 0, `netwasm perf -c failed:\n${ours.stdout}\n${ours.stderr}`);
  const status = await server.status;
  assert.is(status.code, 0, `iperf3 -s failed:\n${server.stdout}\n${server.stderr}`);
  return [parseReport(server.stdout, "iperf3 -s"), parseReport(ours.stdout, "netwasm perf -c")];
}

/** Poll (bounded) until the kernel has a TCP listener on `port` in the namespace. */
async function waitForLinuxListener(ns: Netns, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await ns.exec(["ss", "-Hltn", `sport = :${port}`]);
    if (r.success && r.stdout.trim() !== "") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`iperf3 -s never listened on ${port}`);
}

test(
  "perf: iperf3 -c → netwasm perf -s, TCP over an offloaded TAP; both reports agree byte for byte",
  async () => {
    await withNetns(async (ns) => {
      const [linux, ours] = await linuxClient(ns, ["-n", "256M"]);
      // iperf3's sum_received is our results message; ours is what we counted.
      assert.is(linux.end.sum_received!.bytes, ours.end.sum_received!.bytes);
      assert.is(linux.end.sum_sent!.bytes, ours.end.sum_sent!.bytes);
      assert.ok(linux.end.sum_sent!.bytes >= 256 * 1024 * 1024, "iperf3 sent less than -n");
      assert.ok(ours.end.sum_received!.bytes > 0);
      assert.ok(ours.end.sum_received!.bytes <= linux.end.sum_sent!.bytes);
      const flags = await ns.exec(["cat", `/sys/class/net/${ns.dev}/tun_flags`]);
      assert.ok(
        (parseInt(flags.stdout, 16) & 0x4000) !== 0,
        "the TAP was not opened with IFF_VNET_HDR",
      );
      figure("perf linux→netwasm", gbits(linux.end.sum_received!.bits_per_second));
    }, { openTap: false });
  },
  requireInterop("perf iperf3 -c", { tools: [...TOOLS, "ss"] }),
);

test(
  "perf: iperf3 -c -R -P 2 → netwasm perf -s sends on two streams",
  async () => {
    await withNetns(async (ns) => {
      const [linux, ours] = await linuxClient(ns, ["-R", "-P", "2", "-n", "256M"]);
      assert.is(linux.end.streams.length, 2);
      assert.is(ours.end.streams.length, 2);
      assert.is(linux.end.sum_sent!.bytes, ours.end.sum_sent!.bytes);
      assert.is(linux.end.sum_received!.bytes, ours.end.sum_received!.bytes);
      assert.ok(ours.end.sum_sent!.bytes >= 256 * 1024 * 1024, "netwasm sent less than -n");
      figure("perf netwasm→linux -P 2", gbits(linux.end.sum_received!.bits_per_second));
    }, { openTap: false });
  },
  requireInterop("perf iperf3 -c -R -P 2", { tools: [...TOOLS, "ss"] }),
);

test(
  "perf: netwasm perf -c → iperf3 -s, TCP both directions",
  async () => {
    await withNetns(async (ns) => {
      const [linux, ours] = await linuxServer(ns, ["-n", "256M"]);
      // Linux received; its count reached us in its results message.
      assert.is(linux.end.sum_received!.bytes, ours.end.sum_received!.bytes);
      assert.ok(ours.end.sum_sent!.bytes >= 256 * 1024 * 1024);
      assert.ok(ours.end.sum_received!.bytes <= ours.end.sum_sent!.bytes);
      figure("perf netwasm -c → linux", gbits(ours.end.sum_received!.bits_per_second));
      const [linuxR, oursR] = await linuxServer(ns, ["-R", "-n", "256M"]);
      // Linux sent (-R); its count reached us in its results message.
      assert.is(linuxR.end.sum_sent!.bytes, oursR.end.sum_sent!.bytes);
      assert.ok(oursR.end.sum_received!.bytes >= 256 * 1024 * 1024, "-R -n: received less");
      figure("perf netwasm -c -R ← linux", gbits(oursR.end.sum_received!.bits_per_second));
    }, { openTap: false });
  },
  requireInterop("perf netwasm -c", { tools: [...TOOLS, "ss"] }),
);

test(
  "perf: UDP at a set rate both ways (iperf3 -c -u → netwasm -s; netwasm -c -u -R ← iperf3 -s)",
  async () => {
    await withNetns(async (ns) => {
      // 2,000 datagrams of 1,400 bytes each way at 50 Mbit/s.
      const [linux, ours] = await linuxClient(ns, [
        "-u",
        "-b",
        "50M",
        "-l",
        "1400",
        "-n",
        "2800000",
      ]);
      // The receiver's loss count (ours) reaches iperf3 through the results message.
      const udpSums = JSON.stringify({ linux: linux.end.sum, ours: ours.end.sum });
      assert.is(linux.end.sum!.lost_packets, ours.end.sum!.lost_packets, udpSums);
      assert.is(linux.end.sum!.packets, 2000, udpSums);
      // Datagrams still queued when TEST_END arrives are not counted (as iperf3).
      assert.ok(ours.end.sum!.packets > 1500 && ours.end.sum!.packets <= 2000, udpSums);
      const [linuxR, oursR] = await linuxServer(ns, [
        "-u",
        "-R",
        "-b",
        "50M",
        "-l",
        "1400",
        "-n",
        "2800000",
      ]);
      // We end the test once -n bytes arrived; Linux may have sent a few
      // more meanwhile. Our loss count reached it in our results message.
      const udpSumsR = JSON.stringify({ linux: linuxR.end.sum, ours: oursR.end.sum });
      assert.is(linuxR.end.sum!.lost_packets, oursR.end.sum!.lost_packets, udpSumsR);
      assert.ok(oursR.end.sum!.packets >= 2000);
      assert.ok(oursR.end.sum!.packets <= linuxR.end.sum!.packets);
      figure(
        "perf udp",
        `linux→netwasm ${ours.end.sum!.lost_packets}/${ours.end.sum!.packets} lost; ` +
          `linux→netwasm (-R) ${oursR.end.sum!.lost_packets}/${oursR.end.sum!.packets} lost`,
      );
    }, { openTap: false });
  },
  requireInterop("perf udp", { tools: [...TOOLS, "ss"] }),
);

test(
  "perf: the offloaded link's capture is tshark-clean (offload seeds accepted, nothing else)",
  async () => {
    await withNetns(async (ns) => {
      const [linux] = await linuxClient(ns, ["-n", "8M"]);
      const [, oursR] = await linuxServer(ns, ["-R", "-n", "8M"]);
      const report = await ns.checkCapture();
      assert.equal(report.findings, [], `tshark findings in ${ns.pcapPath}`);
      assert.ok(report.frames > 100, `only ${report.frames} frames captured`);
      // Super-segments crossed (they carry seeds), so the seed path was exercised.
      assert.ok((report.partialChecksums ?? 0) > 0, "no offloaded frame in the capture");
      figure(
        "perf capture",
        `${report.frames} frames, ${report.partialChecksums} offloaded checksums; ` +
          `${linux.end.sum_received!.bytes + oursR.end.sum_received!.bytes} bytes moved`,
      );
    }, { openTap: false, capture: "check", captureSnaplen: 65600 });
  },
  requireInterop("perf capture", { tools: [...TOOLS, "ss", "tcpdump", "tshark"] }),
);

test(
  "perf: a busy netwasm server refuses a second client (ACCESS_DENIED); usage errors exit 2",
  async () => {
    const bad = await netwasm([
      "perf",
      "-s",
      "-c",
      "192.0.2.1",
      "--tap",
      "x",
      "--ip",
      "192.0.2.2/24",
    ]);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /give -s \(server\) or -c HOST/);
    const noLink = await netwasm(["perf", "-c", "192.0.2.1"]);
    assert.is(noLink.code, 2);
    assert.match(noLink.stderr, /--tap is required/);
    await withNetns(async (ns) => {
      const server = spawnNetwasm(["perf", "-s", "-1", ...link(ns)], { timeout: 60_000 });
      await server.waitFor(/listening on port 5201/, 30_000, "stderr");
      // A slow first client (UDP at 1 Mbit/s for 3 s) holds the server...
      const first = ns.exec(["iperf3", "-c", OUR_IP, "-u", "-t", "3"], { timeout: 30_000 });
      await server.waitFor(/connected to 192\.0\.2\.1 port/, 20_000);
      // ...so a second one is refused at once.
      const second = await ns.exec(["iperf3", "-c", OUR_IP, "-t", "1"], { timeout: 30_000 });
      assert.is.not(second.code, 0);
      assert.match(second.stdout + second.stderr, /busy/);
      assert.is((await first).code, 0);
      const r = await server.result;
      assert.is(r.code, 0);
      assert.match(r.stderr, /1 tests, 0 failed, 1 refused/);
    }, { openTap: false });
  },
  requireInterop("perf busy", { tools: [...TOOLS, "ss"] }),
);
