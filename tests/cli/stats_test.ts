/**
 * `netwasm ss`-style reports: the socket table with per-connection TCP
 * figures, the counters, on SIGUSR1 and with `--stats N`.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { requireInterop, withNetns } from "../_util/netns.ts";
import { startStatsReporter, statsReport } from "../../src/cli/stats.ts";
import { spawnNetwasm } from "./_cli.ts";

test("statsReport: one row per socket with state, queues, cwnd, srtt, rto, retransmits; TCP counters", async () => {
  const p = pair({ seed: 1410, impair: { delay: 10 } });
  const listener = p.b.listen({ port: 80 });
  const conn = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 80 }));
  const peer = await settle(p.clock, listener.accept());
  await settle(p.clock, conn.write(new Uint8Array(3000)));
  const lines = statsReport(p.a);
  assert.match(lines[0]!, /^netwasm ss: 1 sockets at /);
  assert.match(
    lines[1]!,
    /^Proto\s+fd\s+State\s+Recv-Q\s+Send-Q\s+Local\s+Peer\s+cwnd\s+ssthresh\s+srtt\s+rto\s+retrans$/,
  );
  assert.match(
    lines[2]!,
    /^tcp\s+3\s+ESTABLISHED\s+0\s+3000\s+192\.0\.2\.1:\d+\s+192\.0\.2\.2:80\s+\d+\s+-\s+\d+\.\dms\s+\d+ms\s+0$/,
  );
  assert.match(lines[3]!, /^tcp: 1 established, 1 active \/ 0 passive opens, \d+ segments in/);
  await settle(p.clock, new Promise((r) => p.clock.setTimer(100, () => r(0)))); // data arrives
  const server = statsReport(p.b).join("\n");
  assert.match(server, /tcp\s+3\s+LISTEN\s+0\s+128\s+0\.0\.0\.0:80\s+\*:\*/);
  assert.match(
    server,
    /tcp\s+4\s+ESTABLISHED\s+3000\s+0\s+192\.0\.2\.2:80/,
    "3000 bytes wait unread",
  );
  conn.close();
  peer.close();
  listener.close();
  assert.match(
    statsReport(p.a).join("\n"),
    /tcp\s+-\s+FIN-WAIT-1/,
    "a closed connection still shows",
  );
  await p.close();
});

test("startStatsReporter: SIGUSR1 writes the report; stop() removes the listener", async () => {
  const p = pair({ seed: 1411 });
  const listener = p.a.listen({ port: 7 });
  let written: string[] = [];
  // A hang guard that also keeps the event loop up until the signal arrives.
  let guard: ReturnType<typeof setTimeout> | undefined;
  const got = new Promise<void>((resolve, reject) => {
    guard = setTimeout(() => reject(new Error("no report within 30 s of SIGUSR1")), 30_000);
    const stop = startStatsReporter(p.a, (l) => {
      written.push(l);
      if (l.startsWith("drops:")) {
        stop();
        resolve();
      }
    });
  });
  Deno.kill(Deno.pid, "SIGUSR1");
  await got.finally(() => clearTimeout(guard));
  assert.match(written.join("\n"), /tcp\s+3\s+LISTEN\s+0\s+128\s+0\.0\.0\.0:7/);
  written = [];
  listener.close();
  await p.close();
}, { ignore: Deno.build.os === "windows", reason: "no SIGUSR1 on Windows" });

test(
  "netwasm echo --tcp 7 --stats 0.3: the report on stderr shows the kernel's connection ESTABLISHED",
  async () => {
    await withNetns(async (ns) => {
      const server = spawnNetwasm([
        "echo",
        "--tcp",
        "7",
        "--stats",
        "0.3",
        "--tap",
        ns.dev,
        "--netns",
        ns.name,
        "--ip",
        "192.0.2.2/24",
      ], { timeout: 30_000 });
      await server.waitFor(/listening on tcp/);
      // The kernel's nc keeps its connection open for 3 s after sending.
      const client = ns.exec(["sh", "-c", "(printf hi; sleep 3) | nc -q 1 192.0.2.2 7"], {
        timeout: 15_000,
      });
      await server.waitFor(
        /tcp\s+\d+\s+ESTABLISHED\s+\d+\s+\d+\s+192\.0\.2\.2:7\s+192\.0\.2\.1:\d+/,
        15_000,
        "stderr",
      );
      const r = await client;
      assert.is(r.stdout, "hi", r.stderr);
      server.kill("SIGTERM");
      const done = await server.result;
      assert.is(done.code, 0, done.stderr);
      assert.match(done.stderr, /^netwasm ss: \d+ sockets at /m);
      assert.match(done.stderr, /^tcp\s+3\s+LISTEN\s+0\s+\d+\s+0\.0\.0\.0:7/m);
      assert.match(done.stderr, /^tcp: \d+ established, 0 active \/ 1 passive opens/m);
    }, { openTap: false });
  },
  requireInterop("netwasm echo --stats through a TAP", { tools: ["nc"] }),
);

test(
  "netwasm echo --arena-max 8M (issue 15 item 3): the arena is capped at 8 MiB, TCP's default marks follow it (a quarter, three eighths, half of the 7 MiB off the reserve), and echo works under it",
  async () => {
    await withNetns(async (ns) => {
      const server = spawnNetwasm([
        "echo",
        "--tcp",
        "7",
        "--stats",
        "0.3",
        "--arena-max",
        "8M",
        "--tap",
        ns.dev,
        "--netns",
        ns.name,
        "--ip",
        "192.0.2.2/24",
      ], { timeout: 30_000 });
      await server.waitFor(/listening on tcp/);
      const r = await ns.exec(["sh", "-c", "(printf capped; sleep 1) | nc -q 1 192.0.2.2 7"], {
        timeout: 15_000,
      });
      assert.is(r.stdout, "capped", r.stderr);
      await server.waitFor(/^memory: .* of 8192 KiB, /m, 15_000, "stderr");
      server.kill("SIGTERM");
      const done = await server.result;
      assert.is(done.code, 0, done.stderr);
      assert.match(done.stderr, /^memory: .* of 8192 KiB, .* marks 1792\/2688\/3584 KiB, /m);
    }, { openTap: false });
  },
  requireInterop("netwasm echo --arena-max through a TAP", { tools: ["nc"] }),
);
