/**
 * Seeded transfers: random sizes (up to 1 MiB locally, 8 MiB in CI) both ways with half-close over
 * impaired links; sha256 equal, both ends reach CLOSED / TIME-WAIT, and the
 * arena returns to its baseline (pair().close() checks).
 */
import * as assert from "uvu/assert";
import { env, test } from "../_util/test.ts";
import { pair, type PairOptions } from "../_util/sim.ts";
import { TcpState } from "../../src/tcp/state.ts";
import { randomInt, SeededRandom } from "../../src/core/random.ts";
import { DeviceFeature } from "../../src/link/device.ts";
import { connectPair, exchange, randomBytes, sha256 } from "./_helpers.ts";

const PROFILES: Record<string, PairOptions["impair"]> = {
  clean: { delay: 1 },
  loss1: { delay: 5, loss: 0.01 },
  loss5: { delay: 5, loss: 0.05 },
  reorder: { delay: 5, reorder: 0.1, reorderDelay: 8 },
  duplicate: { delay: 5, duplicate: 0.05 },
  rtt200: { delay: 100, loss: 0.005 },
};

/**
 * The same over pipes that take TSO super-segments (the pipe's default):
 * whole across a clean wire, cut into frames by software GSO on a lossy one.
 */
const TSO_PROFILES: Record<string, PairOptions["impair"]> = {
  "tso-clean": { delay: 1 },
  "tso-loss1": { delay: 5, loss: 0.01, reorder: 0.02, reorderDelay: 8 },
};

// CI runs the matrix (200 seeds x 6 profiles, up to 8 MiB each way,
// about a minute); local runs default to a quick 5 seeds x 1 MiB.
const CI = env("CI") === "true";
const SEEDS = Number(env("NETWASM_TCP_SEEDS") ?? (CI ? 200 : 5));
const MAX = Number(env("NETWASM_TCP_MAX") ?? (CI ? 8 << 20 : 1 << 20));

const ALL = [
  ...Object.entries(PROFILES).map(([name, impair]) => ({ name, impair, features: 0 })),
  ...Object.entries(TSO_PROFILES).map(([name, impair]) => ({
    name,
    impair,
    features: DeviceFeature.TSO,
  })),
];

for (const { name, impair, features } of ALL) {
  test(`TCP transfer (MUST-19, C5, R6): ${SEEDS} seeds × profile ${name}, ≤ ${MAX} B each way, half-close, sha256 equal`, async () => {
    let superFrames = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const p = pair({ seed, impair: impair!, features });
      // Count frames longer than the MTU that arrived (crossed the wire whole).
      const big = (dir: string, _u8: Uint8Array, _o: number, len: number) => {
        if (dir === "rx" && len > 1514) superFrames++;
      };
      p.devA.addTap(big);
      p.devB.addTap(big);
      const { listener, client, server } = connectPair(p, 8080);
      const sizes = new SeededRandom(seed);
      const sizeX = randomInt(sizes, MAX + 1);
      const sizeY = randomInt(sizes, MAX + 1);
      const dx = randomBytes(sizeX, seed);
      const dy = randomBytes(sizeY, seed + 1000);
      const r = exchange(p, client, server, dx, dy);
      assert.is(r.xError, 0, `seed ${seed}: client error ${r.xError}`);
      assert.is(r.yError, 0, `seed ${seed}: server error ${r.yError}`);
      assert.is(await sha256(r.atY), await sha256(dx), `seed ${seed}: client→server`);
      assert.is(await sha256(r.atX), await sha256(dy), `seed ${seed}: server→client`);
      client.close();
      server.close();
      listener.close();
      p.clock.runUntil(
        () =>
          (client.state === TcpState.CLOSED || client.state === TcpState.TIME_WAIT) &&
          (server.state === TcpState.CLOSED || server.state === TcpState.TIME_WAIT),
        300_000,
      );
      if (env("NETWASM_TCP_VERBOSE")) {
        console.log(
          `${name} seed ${seed}: ${sizeX}+${sizeY} B in ${r.elapsed} ms virtual; ` +
            `retrans ${p.a.stats.tcp.retransSegs}+${p.b.stats.tcp.retransSegs}, ` +
            `fast ${p.a.stats.tcp.fastRetrans}+${p.b.stats.tcp.fastRetrans}, ` +
            `rto ${p.a.stats.tcp.timeouts}+${p.b.stats.tcp.timeouts}`,
        );
      }
      p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 300_000);
      await p.close();
    }
    // Super-segments cross a clean TSO wire whole; an impaired one cuts them.
    if (name === "tso-clean") assert.ok(superFrames > 0, "no TSO super-segment crossed");
    else assert.is(superFrames, 0, "a frame over the MTU crossed a per-frame wire");
  });
}

test("MUST-16 / DEV-6: over a link with MTU 65,536 (no TSO) segments are MTU − 40 less options, up to a whole datagram; 4 MiB each way intact", async () => {
  const p = pair({ seed: 65, mtu: 65536, features: 0, impair: { delay: 1 } });
  let largest = 0;
  p.devB.addTap((dir, _u8, _o, len) => {
    if (dir === "rx" && len > largest) largest = len;
  });
  const { listener, client, server } = connectPair(p, 8080);
  // MTU − 40 (MUST-67) capped at a whole 65,535-byte datagram: 65,495 each
  // way (the peer's MSS option), less the 12 bytes of the timestamp option.
  assert.is(client.tcb.snd.mssClamp, 65495);
  assert.is(client.tcb.snd.mss, 65495 - 12);
  assert.is(client.tcb.rcv.advmss, 65495 - 12);
  const dx = randomBytes(4 << 20, 1);
  const dy = randomBytes(4 << 20, 2);
  const r = exchange(p, client, server, dx, dy);
  assert.is(await sha256(r.atY), await sha256(dx));
  assert.is(await sha256(r.atX), await sha256(dy));
  // Ethernet + IPv4 + TCP with timestamps around a full-size segment.
  assert.is(largest, 14 + 20 + 32 + client.tcb.snd.mss, "full-size segments crossed the wire");
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 300_000);
  await p.close();
});
