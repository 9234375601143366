/**
 * WebSocket-tunnel throughput: two netwasm stacks on real time, each
 * attached to the relay on 127.0.0.1 by a {@link WebSocketLink}, move a TCP
 * bulk transfer through it (one direction, sha256 checked). As a baseline
 * in the same run, the same transfer between two stacks over the in-memory
 * pipe (virtual time: the stacks' CPU cost alone).
 *
 * @module
 */
import type { BenchModule } from "./_harness.ts";
import { table } from "./_harness.ts";
import { pair } from "../_util/sim.ts";
import { connectPair, exchange, randomBytes } from "../tcp/_helpers.ts";
import { startRelay } from "../../src/relay/server.ts";
import { patternBytes, transfer, wsHost } from "../relay/_helpers.ts";

const MIB = 1 << 20;

/** Seconds for `bytes` through the relay (sha256 verified). */
async function relaySeconds(bytes: number): Promise<number> {
  const relay = await startRelay({ port: 0, quiet: true, bundleDir: null, ratePps: 0 });
  const a = await wsHost(relay.url, "192.0.2.10");
  const b = await wsHost(relay.url, "192.0.2.11");
  try {
    await a.stack.ping("192.0.2.11", { timeout: 5000 });
    const r = await transfer(a.stack, b, patternBytes(bytes, 5), { timeoutMs: 300_000 });
    if (r.gotSha !== r.sentSha || r.bytes !== bytes) {
      throw new Error(`relay transfer corrupted: ${r.bytes} bytes, ${r.gotSha} ≠ ${r.sentSha}`);
    }
    return r.seconds;
  } finally {
    await a.close();
    await b.close();
    await relay.close();
  }
}

/** Seconds for `bytes` over the in-memory pipe (virtual time, wall-clock measured). */
async function pipeSeconds(bytes: number): Promise<number> {
  const p = pair({ seed: 1, mtu: 1500, impair: {} });
  const { listener, client, server } = connectPair(p, 8080);
  const data = randomBytes(bytes, 7);
  const t0 = performance.now();
  const r = exchange(p, client, server, data, new Uint8Array(0));
  const t1 = performance.now();
  if (r.xError !== 0 || r.yError !== 0 || r.atY.length !== bytes) {
    throw new Error(`pipe transfer failed: ${r.xError}/${r.yError}, got ${r.atY.length} bytes`);
  }
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
  return (t1 - t0) / 1000;
}

const gbps = (bytes: number, s: number) => (bytes * 8) / s / 1e9;

/** TCP through the WebSocket relay vs. the in-memory pipe. */
export const relayBench: BenchModule = {
  name: "relay",
  async run() {
    const bytes = 64 * MIB;
    await relaySeconds(4 * MIB); // warm-up
    await pipeSeconds(4 * MIB);
    const ws = await relaySeconds(bytes);
    const pipe = await pipeSeconds(bytes);
    console.log("TCP bulk throughput, one direction, MTU 1500\n");
    console.log(table(["path", "MiB", "seconds", "Gbit/s"], [
      [
        "netwasm → WebSocket → relay → WebSocket → netwasm (127.0.0.1, real time)",
        "64",
        ws.toFixed(3),
        gbps(bytes, ws).toFixed(3),
      ],
      [
        "netwasm ↔ netwasm, in-memory pipe (virtual time)",
        "64",
        pipe.toFixed(3),
        gbps(bytes, pipe).toFixed(3),
      ],
    ]));
  },
};
