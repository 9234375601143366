/**
 * The CLI's UDP echo server (`runEchoServer`): unicast datagrams are echoed;
 * datagrams sent to the limited or directed broadcast or to a multicast group
 * are ignored and counted unless `broadcast` is set (issue 15: no reflector).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { runEchoServer } from "../../src/cli/echo.ts";

const PORT = 7;
const DESTINATIONS = ["192.0.2.2", "192.0.2.255", "255.255.255.255", "224.0.0.1"] as const;

/** Send one datagram from A to each destination; return the texts A got back and the server's stats. */
async function run(broadcast: boolean) {
  const p = pair({ seed: 7 });
  const stop = new AbortController();
  const lines: string[] = [];
  const server = runEchoServer(p.b, {
    port: PORT,
    broadcast,
    signal: stop.signal,
    write: (l) => lines.push(l),
  });
  // 224.0.0.1 (all hosts) needs a route, as on Linux.
  p.a.routes.add(p.a.interfaceOf(p.devA)!, 0xe0000000, 4);
  const rx = p.a.listenDatagram({ port: 5000, transport: "udp", broadcast: true });
  const got: string[] = [];
  const reading = (async () => {
    for await (const [data] of rx) got.push(new TextDecoder().decode(data));
  })().catch(() => {});
  for (const dst of DESTINATIONS) {
    await settle(p.clock, rx.send(new TextEncoder().encode(dst), { hostname: dst, port: PORT }));
  }
  // Let every datagram and answer through (virtual time, microtasks included).
  await settle(p.clock, new Promise<void>((r) => p.clock.setTimer(1000, r)));
  stop.abort();
  const stats = await settle(p.clock, server);
  rx.close();
  await settle(p.clock, reading);
  await p.close();
  return { got, stats, lines };
}

test("echo --udp: answers unicast only; broadcast (limited and directed) and multicast datagrams are ignored and counted", async () => {
  const r = await run(false);
  assert.equal(r.got, ["192.0.2.2"]);
  assert.equal(r.stats, { datagrams: 1, bytes: 9, ignoredBroadcast: 3 });
  assert.is(r.lines.filter((l) => l.endsWith("broadcast/multicast, ignored")).length, 3);
});

test("echo --udp --broadcast: every datagram is answered, to its unicast sender", async () => {
  const r = await run(true);
  assert.equal(r.got.sort(), [...DESTINATIONS].sort());
  assert.is(r.stats.ignoredBroadcast, 0);
  assert.is(r.stats.datagrams, 4);
});
