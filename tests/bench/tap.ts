/**
 * TAP throughput against the Linux kernel (issue 10 targets): Linux `iperf3`
 * against `netwasm perf -s` over a TAP in a network namespace, each
 * direction, with offloads (`IFF_VNET_HDR`, TSO/GSO) and without, next to
 * Linux ↔ Linux over a veth pair measured in the same run (two namespaces,
 * iperf3 on both ends). Medians of `RUNS` runs of `SECONDS` s each; ratios
 * to veth. Needs root (namespaces, TAP) and iperf3; prints why it skips
 * otherwise. `deno task bench tap`.
 *
 * @module
 */
import type { BenchModule, BenchReport } from "./_harness.ts";
import { table } from "./_harness.ts";
import { interopAvailable, type Netns, run, withNetns } from "../_util/netns.ts";
import { spawnNetwasm } from "../cli/_cli.ts";

const RUNS = 3;
const SECONDS = 3;

/** One measured row. */
export interface TapBenchRow {
  readonly path: string;
  /** Median bits/s. */
  readonly bps: number;
  /** Every run, bits/s. */
  readonly runs: readonly number[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Receiver-side bits/s from iperf3's `-J` report. */
function receivedBps(stdout: string): number {
  const r = JSON.parse(stdout.slice(stdout.indexOf("{"))) as {
    end?: { sum_received?: { bits_per_second: number } };
    error?: string;
  };
  if (r.error !== undefined || r.end?.sum_received === undefined) {
    throw new Error(`iperf3: ${r.error ?? "no sum_received"}`);
  }
  return r.end.sum_received.bits_per_second;
}

/** Linux ↔ Linux over veth: two namespaces, iperf3 -s in one, -c (and -c -R) in the other. */
async function vethRows(): Promise<TapBenchRow[]> {
  const tag = `nwbench-${Deno.pid}`;
  const [a, b] = [`${tag}-a`, `${tag}-b`];
  const sh = (ns: string, cmd: string[]) => ["ip", "netns", "exec", ns, ...cmd];
  let server: Deno.ChildProcess | undefined;
  try {
    await run(["ip", "netns", "add", a], { check: true });
    await run(["ip", "netns", "add", b], { check: true });
    await run([
      "ip",
      "link",
      "add",
      "v0",
      "netns",
      a,
      "type",
      "veth",
      "peer",
      "name",
      "v1",
      "netns",
      b,
    ], {
      check: true,
    });
    await run(sh(a, ["ip", "addr", "add", "198.51.100.1/24", "dev", "v0"]), { check: true });
    await run(sh(b, ["ip", "addr", "add", "198.51.100.2/24", "dev", "v1"]), { check: true });
    for (const [ns, dev] of [[a, "v0"], [b, "v1"]] as const) {
      await run(sh(ns, ["ip", "link", "set", dev, "up"]), { check: true });
      await run(sh(ns, ["ip", "link", "set", "lo", "up"]), { check: true });
    }
    server = new Deno.Command("ip", {
      args: ["netns", "exec", b, "iperf3", "-s"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitListening(b);
    const rows: TapBenchRow[] = [];
    for (const reverse of [false, true]) {
      const runs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await run(
          sh(a, [
            "iperf3",
            "-c",
            "198.51.100.2",
            "-t",
            String(SECONDS),
            "-J",
            ...(reverse ? ["-R"] : []),
          ]),
          { timeout: 60_000, check: true },
        );
        runs.push(receivedBps(r.stdout));
      }
      rows.push({
        path: `Linux → Linux over veth (iperf3${reverse ? " -R" : ""})`,
        bps: median(runs),
        runs,
      });
    }
    return rows;
  } finally {
    server?.kill("SIGKILL");
    await server?.status;
    await run(["ip", "netns", "del", a]);
    await run(["ip", "netns", "del", b]);
  }
}

async function waitListening(ns: string, port = 5201): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await run(["ip", "netns", "exec", ns, "ss", "-Hltn", `sport = :${port}`]);
    if (r.success && r.stdout.trim() !== "") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("iperf3 -s never listened");
}

/** Linux iperf3 -c (and -c -R) against `netwasm perf -s` on a TAP. */
async function tapRows(offload: boolean): Promise<TapBenchRow[]> {
  return await withNetns(async (ns: Netns) => {
    const server = spawnNetwasm([
      "perf",
      "-s",
      "-i",
      "0",
      ...(offload ? [] : ["--no-offload"]),
      "--tap",
      ns.dev,
      "--netns",
      ns.name,
      "--ip",
      "192.0.2.2/24",
    ], { timeout: 600_000 });
    try {
      await server.waitFor(/listening on port 5201/, 30_000, "stderr");
      const rows: TapBenchRow[] = [];
      for (const reverse of [false, true]) {
        const runs: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const r = await ns.exec(
            ["iperf3", "-c", "192.0.2.2", "-t", String(SECONDS), "-J", ...(reverse ? ["-R"] : [])],
            { timeout: 60_000, check: true },
          );
          runs.push(receivedBps(r.stdout));
        }
        rows.push({
          path: reverse
            ? `netwasm → Linux over a TAP${
              offload ? ", offloads" : ", plain"
            } (iperf3 -c -R ↔ perf -s)`
            : `Linux → netwasm over a TAP${
              offload ? ", offloads" : ", plain"
            } (iperf3 -c ↔ perf -s)`,
          bps: median(runs),
          runs,
        });
      }
      return rows;
    } finally {
      server.kill("SIGTERM");
      await server.result.catch(() => {});
    }
  }, { openTap: false });
}

/**
 * Every row of the TAP bench (veth reference first), or null with the reason
 * when the machine cannot run it.
 */
export async function tapBenchRows(): Promise<TapBenchRow[] | string> {
  const s = interopAvailable({ tools: ["iperf3", "ss"] });
  if (!s.ok) return s.reason;
  const veth = await vethRows();
  const offloaded = await tapRows(true);
  const plain = await tapRows(false);
  return [...veth, ...offloaded, ...plain];
}

/** `deno task bench tap`. */
export const tapBench: BenchModule = {
  name: "tap",
  async run(report?: BenchReport) {
    const rows = await tapBenchRows();
    if (typeof rows === "string") {
      console.log(`tap bench skipped: ${rows}`);
      return;
    }
    const veth = rows.slice(0, 2);
    rows.forEach((r, i) => {
      if (i < 2) return;
      const ref = veth[i % 2]!.bps;
      report?.add("tap", {
        measure: r.path,
        unit: "Gbit/s",
        netwasm: r.bps / 1e9,
        native: ref / 1e9,
        ratio: r.bps / ref,
        note: `"native" here is Linux ↔ Linux over veth (iperf3) in the same run; ` +
          `medians of ${RUNS} × ${SECONDS} s; issue 10 target ≥ 5 Gbit/s and ≥ 0.3× (offloads)`,
      });
    });
    console.log(
      `TCP throughput over a TAP vs. veth, iperf3 on the Linux side, medians of ${RUNS} × ${SECONDS} s\n`,
    );
    console.log(table(
      ["path", "Gbit/s", "runs", "vs veth"],
      rows.map((r, i) => {
        const ref = veth[i < 2 ? i : i % 2]!.bps;
        return [
          r.path,
          (r.bps / 1e9).toFixed(2),
          r.runs.map((x) => (x / 1e9).toFixed(2)).join(" "),
          i < 2 ? "1.00×" : `${(r.bps / ref).toFixed(2)}×`,
        ];
      }),
    ));
  },
};
