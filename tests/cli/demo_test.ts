import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { requireInterop, tsharkCheck } from "../_util/netns.ts";
import { DEMO, netwasm } from "./_cli.ts";
import { readPcap } from "../../src/link/pcap.ts";
import { runDemo } from "../../src/cli/demo.ts";

/** The demo's output without its wall-clock lines. */
function simulatedOnly(stdout: string): string {
  return stdout.split("\n").filter((l) =>
    !/^Done in \d+ ms of real time\.$/.test(l) && !/^ +\(wall clock: /.test(l)
  ).join("\n");
}

test("deno task demo: runs to completion, prints the counters, writes demo.pcap here", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netwasm-demo-" });
  try {
    const r = await netwasm([], { entry: DEMO, cwd: dir, timeout: 30_000 });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, "");
    const out = r.stdout;
    assert.match(out, /^netwasm demo — 3 stacks on simulated links, seed 1$/m);
    assert.match(out, /All times are simulated/);
    for (
      const step of [
        "[1/",
        "PING 192.0.2.2 (192.0.2.2) 8000(8028) bytes",
        "ping statistics",
        "4.0 MiB/4.0 MiB  100%",
        "GET /blob.bin → 200 OK",
        "ConnectionRefused (ECONNREFUSED)",
        "PING 2001:db8:1::2(2001:db8:1::2) 56 data bytes",
        "PING 2001:db8:2::2(2001:db8:2::2) 3000 data bytes",
        "echoed by 2001:db8:1::2",
        "neighbor solicit",
      ]
    ) {
      assert.ok(out.includes(step), `output has ${step}`);
    }
    assert.match(out, /^ {6}From 192\.0\.2\.1 icmp_seq=1 Destination Host Unreachable$/m);
    // The TCP step: the hash matches, and both throughput figures are there.
    assert.match(out, /^ {6}sha256 received [0-9a-f]{64} {2}✓ identical$/m);
    assert.match(
      out,
      /^ {6}4\.0 MiB in [\d.]+ s simulated: [\d.]+ [kMG]?bit\/s; \d+ segments retransmitted$/m,
    );
    assert.match(out, /^ {6}\(wall clock: [\d.]+ s real, [\d.]+ [kMG]?bit\/s\)$/m);
    assert.match(out, /GET \/blob\.bin → 200 OK, .* sha256 ✓ identical$/m);
    assert.match(out, /^Stack counters after [\d.]+ s of simulated time$/m);
    for (
      const row of [
        "requests out/in",
        "fragments in/reassembled",
        "echo request",
        "datagrams in/out",
      ]
    ) {
      assert.ok(out.includes(row), `counter table has ${row}`);
    }
    assert.match(out, /^ {2}lan {2}client → server +\d+ +\d+/m);
    assert.match(out, /^ {2}wan {2}far → client +\d+ +\d+/m);
    const m = /^Capture of the LAN: demo\.pcap \((\d+) frames\)/m.exec(out);
    assert.ok(m !== null, "says where the capture is");
    assert.match(out, /wireshark demo\.pcap .* tshark -r demo\.pcap/);
    assert.ok(!/warning/.test(out), "no leaked packet buffers");
    const cap = readPcap(await Deno.readFile(`${dir}/demo.pcap`));
    assert.ok(cap.ok, cap.ok ? "" : cap.error);
    assert.is(cap.linkType, 1);
    assert.ok(cap.frames.length > 0);
    assert.is(cap.frames.length, Number(m![1]), "the count printed is the count written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("demo: the same seed prints the same run; another seed a different one", async () => {
  const run = (seed: string) => netwasm(["--seed", seed, "--no-pcap"], { entry: DEMO });
  const [a, b, c] = await Promise.all([run("7"), run("7"), run("8")]);
  for (const r of [a, b, c]) assert.is(r.code, 0, r.stderr);
  assert.is(simulatedOnly(a.stdout), simulatedOnly(b.stdout));
  assert.ok(simulatedOnly(a.stdout) !== simulatedOnly(c.stdout), "the seed matters");
  assert.match(a.stdout, /seed 7$/m);
});

test("demo --no-pcap writes no file; --pcap FILE writes there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netwasm-demo-" });
  try {
    const none = await netwasm(["--no-pcap"], { entry: DEMO, cwd: dir });
    assert.is(none.code, 0, none.stderr);
    assert.equal([...Deno.readDirSync(dir)], [], "nothing written");
    assert.ok(!none.stdout.includes("Capture of the LAN"));
    const some = await netwasm(["demo", "--pcap", "lan.pcap"], { cwd: dir });
    assert.is(some.code, 0, some.stderr);
    assert.match(some.stdout, /Capture of the LAN: lan\.pcap/);
    assert.ok(readPcap(await Deno.readFile(`${dir}/lan.pcap`)).frames.length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("runDemo: every packet buffer is freed and the pcap holds the LAN's frames", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const lines: string[] = [];
    const r = await runDemo({ seed: 3, pcap: path, write: (l) => lines.push(l) });
    assert.is(r.leaked, 0);
    assert.ok(r.simulatedMs > 30_000, "includes the 30 s reassembly wait");
    const cap = readPcap(await Deno.readFile(path));
    assert.is(cap.frames.length, r.frames);
    // Every frame is on the LAN: both MACs are the LAN's (02:00:00:00:01:xx) or broadcast.
    for (const f of cap.frames) {
      const src = f.data.subarray(6, 12);
      assert.equal([...src.subarray(0, 5)], [2, 0, 0, 0, 1]);
    }
  } finally {
    await Deno.remove(path);
  }
});

test(
  "demo pcap: tshark finds no malformed frames and no checksum errors",
  async () => {
    const path = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      const r = await runDemo({ pcap: path, write: () => {} });
      const report = await tsharkCheck(path);
      assert.is(report.frames, r.frames);
      assert.equal(report.findings, []);
    } finally {
      await Deno.remove(path);
    }
  },
  requireInterop("demo pcap tshark check", { tools: ["tshark"], netns: false }),
);
