/**
 * TCP bulk throughput: two netwasm stacks joined by an unimpaired in-memory
 * pipe at MTU 1500 (virtual time, so this measures the stacks' CPU cost per
 * byte: segmentation, checksums, ACK processing, copies), against Deno's
 * native TCP over loopback (the kernel) measured in the same run.
 *
 * @module
 */
import type { BenchModule, BenchReport } from "./_harness.ts";
import { table } from "./_harness.ts";
import { DeviceFeature } from "../../src/link/device.ts";
import { pair } from "../_util/sim.ts";
import { connectPair, randomBytes } from "../tcp/_helpers.ts";

const MIB = 1 << 20;

/**
 * Seconds to move `bytes` from one netwasm stack to another (one
 * direction), through the BSD-style TcpSock calls with 64 KiB writes and
 * reads, stepping the virtual clock whenever both sides would block. The
 * harness does nothing per byte but count (and check a sample), so the
 * figure is the stacks' own CPU cost.
 */
async function netwasmSeconds(bytes: number, mtu: number, features = 0): Promise<number> {
  const p = pair({ seed: 1, mtu, impair: {}, features });
  const { listener, client, server } = connectPair(p, 8080);
  const data = randomBytes(Math.min(bytes, 4 * MIB), 7);
  const buf = new Uint8Array(65536);
  let sent = 0;
  let got = 0;
  let mismatch = 0;
  const t0 = performance.now();
  for (let guard = 0; got < bytes && guard < 100_000_000; guard++) {
    let progressed = false;
    while (sent < bytes) {
      const at = sent % data.length;
      const n = client.send(
        data.subarray(at, Math.min(data.length, at + 65536, at + bytes - sent)),
      );
      if (n <= 0) break;
      sent += n;
      progressed = true;
    }
    for (;;) {
      const n = server.recv(buf);
      if (n <= 0) break;
      // One byte per read checked against what was sent there.
      if (buf[n - 1] !== data[(got + n - 1) % data.length]) mismatch++;
      got += n;
      progressed = true;
    }
    if (!progressed) p.clock.runUntilIdle(1000);
  }
  const t1 = performance.now();
  if (got !== bytes || mismatch !== 0) {
    throw new Error(
      `netwasm transfer failed: got ${got} of ${bytes} bytes, ${mismatch} mismatches`,
    );
  }
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
  return (t1 - t0) / 1000;
}

/** Seconds to move `bytes` over Deno's native TCP on 127.0.0.1. */
async function nativeSeconds(bytes: number): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const data = randomBytes(Math.min(bytes, 4 * MIB), 7);
  const t0 = performance.now();
  const accepting = listener.accept();
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  const server = await accepting;
  const reading = (async () => {
    const buf = new Uint8Array(65536);
    let got = 0;
    for (;;) {
      const n = await server.read(buf);
      if (n === null) break;
      got += n;
    }
    return got;
  })();
  let sent = 0;
  while (sent < bytes) {
    const chunk = data.subarray(0, Math.min(data.length, bytes - sent));
    let off = 0;
    while (off < chunk.length) off += await client.write(chunk.subarray(off));
    sent += chunk.length;
  }
  await client.closeWrite();
  const got = await reading;
  const t1 = performance.now();
  client.close();
  server.close();
  listener.close();
  if (got !== bytes) throw new Error(`native transfer: got ${got} of ${bytes} bytes`);
  return (t1 - t0) / 1000;
}

function gbps(bytes: number, s: number): number {
  return (bytes * 8) / s / 1e9;
}

/** In-memory TCP bulk throughput vs. Deno's native TCP over loopback. */
export const tcpBench: BenchModule = {
  name: "tcp",
  async run(report?: BenchReport) {
    const bytes = 64 * MIB;
    // Warm up both paths so JIT tiers are comparable.
    await netwasmSeconds(4 * MIB, 1500);
    await nativeSeconds(4 * MIB);
    const rows: string[][] = [];
    const results: { what: string; s: number }[] = [];
    await netwasmSeconds(4 * MIB, 1500, DeviceFeature.TSO);
    for (let i = 0; i < 3; i++) {
      results.push({ what: "native", s: await nativeSeconds(bytes) });
      results.push({ what: "netwasm", s: await netwasmSeconds(bytes, 1500) });
      results.push({ what: "tso", s: await netwasmSeconds(bytes, 1500, DeviceFeature.TSO) });
    }
    const median = (what: string) => {
      const xs = results.filter((r) => r.what === what).map((r) => r.s).sort((a, b) => a - b);
      return xs[Math.floor(xs.length / 2)]!;
    };
    const native = median("native");
    const ours = median("netwasm");
    const tso = median("tso");
    rows.push([
      "netwasm ↔ netwasm, in-memory pipe, MTU 1500, frame by frame",
      (bytes / MIB).toFixed(0),
      ours.toFixed(3),
      gbps(bytes, ours).toFixed(2),
      (native / ours).toFixed(2) + "x",
    ]);
    rows.push([
      "netwasm ↔ netwasm, in-memory pipe, MTU 1500, TSO (createPipe's default)",
      (bytes / MIB).toFixed(0),
      tso.toFixed(3),
      gbps(bytes, tso).toFixed(2),
      (native / tso).toFixed(2) + "x",
    ]);
    for (const [what, s] of [["frame by frame", ours], ["TSO", tso], ["native", native]] as const) {
      report?.add("tcp", {
        measure: `bulk 64 MiB on virtual time (${what})`,
        unit: "Gbit/s",
        netwasm: gbps(bytes, s),
        ...(what === "native" ? {} : { native: gbps(bytes, native), ratio: native / s }),
        note: what === "native" ? "Deno native TCP, 127.0.0.1, real time" : "target ≥ 8 Gbit/s",
      });
    }
    rows.push([
      "Deno native TCP, 127.0.0.1 (kernel)",
      (bytes / MIB).toFixed(0),
      native.toFixed(3),
      gbps(bytes, native).toFixed(2),
      "1.00x",
    ]);
    console.log("TCP bulk throughput, one direction, median of 3 runs\n");
    console.log(table(["path", "MiB", "seconds", "Gbit/s", "vs native"], rows));
  },
};
