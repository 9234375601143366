/**
 * The relay on loopback with real WebSocketLinks: two Deno-side stacks ping
 * and move 8 MiB of TCP through it; learning; abuse (malformed, oversize,
 * spoofing, flooding past the rate) while a concurrent transfer still
 * succeeds; client limit; origin allowlist and token; reconnect with
 * backoff across a relay restart.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { startRelay } from "../../src/relay/server.ts";
import { WebSocketLink, WebSocketLinkError } from "../../src/link/websocket.ts";
import type { LinkChangeEvent } from "../../src/link/websocket.ts";
import { RealClock } from "../../src/core/clock.ts";
import { Arena } from "../../src/skb/arena.ts";
import { SkbAllocator } from "../../src/skb/skbuff.ts";
import {
  closeSocket,
  patternBytes,
  rawRequest,
  rawSocket,
  transfer,
  until,
  within,
  wsHost,
} from "./_helpers.ts";

const MIB = 1 << 20;
const quiet = { quiet: true, port: 0, bundleDir: null } as const;

function macBytes(mac: number): number[] {
  return Array.from({ length: 6 }, (_, i) => Math.floor(mac / 2 ** (40 - 8 * i)) & 0xff);
}

test("relay: two stacks over WebSockets ping and move 8 MiB of TCP (sha256 equal); unicast after learning", async () => {
  const relay = await startRelay({ ...quiet, ratePps: 0 });
  const a = await wsHost(relay.url, "192.0.2.10");
  const b = await wsHost(relay.url, "192.0.2.11");
  try {
    const reply = await a.stack.ping("192.0.2.11", { timeout: 5000 });
    assert.ok(reply.dataMatches);
    const flooded = relay.stats().switch.flooded;
    const r = await transfer(a.stack, b, patternBytes(8 * MIB, 3), { timeoutMs: 60_000 });
    assert.is(r.bytes, 8 * MIB);
    assert.is(r.gotSha, r.sentSha);
    const s = relay.stats();
    assert.ok(s.switch.unicast > 5000, `unicast ${s.switch.unicast}`);
    assert.ok(s.switch.flooded - flooded < 5, "no flooding once both MACs are learned");
    assert.is(s.totals.dropped, 0);
    assert.is(relay.switch.lookup(a.link.mac)?.macs, 1);
    console.log(
      `relay: 8 MiB in ${r.seconds.toFixed(2)} s (${
        (8 * 8 * MIB / r.seconds / 1e9).toFixed(2)
      } Gbit/s), ` +
        `sha256 ${
          r.gotSha.slice(0, 16)
        }…, unicast ${s.switch.unicast}, flooded ${s.switch.flooded}`,
    );
  } finally {
    await a.close();
    await b.close();
    await relay.close();
  }
});

test("relay: batch clients (netwasm.batch.v1) and a one-frame client share the switch: 4 MiB each way over TCP, sha256 equal; batches carry many frames per message", async () => {
  const relay = await startRelay({ ...quiet, ratePps: 0 });
  const a = await wsHost(relay.url, "192.0.2.10", { framing: "batch" });
  const b = await wsHost(relay.url, "192.0.2.11"); // default: one frame per message
  const c = await wsHost(relay.url, "192.0.2.12", { framing: "batch" });
  try {
    assert.ok(a.link.batching, "a negotiated batch framing");
    assert.ok(c.link.batching);
    assert.not.ok(b.link.batching);
    assert.is(relay.stats().batchClients, 2);
    await a.stack.ping("192.0.2.11", { timeout: 5000 });
    await a.stack.ping("192.0.2.12", { timeout: 5000 });
    const ab = await transfer(a.stack, b, patternBytes(4 * MIB, 4), { timeoutMs: 60_000 });
    const ba = await transfer(b.stack, a, patternBytes(4 * MIB, 5), {
      port: 9001,
      timeoutMs: 60_000,
    });
    const ac = await transfer(a.stack, c, patternBytes(4 * MIB, 6), {
      port: 9002,
      timeoutMs: 60_000,
    });
    for (const r of [ab, ba, ac]) {
      assert.is(r.bytes, 4 * MIB);
      assert.is(r.gotSha, r.sentSha);
    }
    const s = relay.stats();
    assert.is(s.totals.dropped, 0);
    // a's frames leave batched, and reach c (a batch client) batched.
    assert.ok(
      a.link.wsStats.messagesOut < a.link.stats.txPackets / 2,
      `a sent ${a.link.stats.txPackets} frames in ${a.link.wsStats.messagesOut} messages`,
    );
    assert.ok(
      c.link.wsStats.messagesIn < c.link.stats.rxPackets / 2,
      `c received ${c.link.stats.rxPackets} frames in ${c.link.wsStats.messagesIn} messages`,
    );
    // b (one frame per message, as a v86 client) sees one frame per message both ways.
    assert.is(b.link.wsStats.messagesIn, b.link.stats.rxPackets);
    assert.is(b.link.wsStats.messagesOut, b.link.stats.txPackets);
  } finally {
    await a.close();
    await b.close();
    await c.close();
    await relay.close();
  }
});

test("relay: abuse — malformed, text, spoofed and flooding frames are dropped and counted while a concurrent ping and transfer succeed", async () => {
  const relay = await startRelay({ ...quiet, ratePps: 4000, burst: 200 });
  const a = await wsHost(relay.url, "192.0.2.10");
  const b = await wsHost(relay.url, "192.0.2.11");
  const evil = await rawSocket(relay.url);
  try {
    await a.stack.ping("192.0.2.11", { timeout: 5000 }); // both MACs learned
    const good = transfer(a.stack, b, patternBytes(1 * MIB, 9), { timeoutMs: 30_000 });
    const evilMac = [0x02, 0xee, 0, 0, 0, 1];
    const bcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const f = (dst: number[], src: number[], len = 60) => {
      const u = new Uint8Array(len);
      u.set(dst, 0);
      u.set(src, 6);
      return u;
    };
    evil.send(new Uint8Array(5)); // runt
    evil.send(f(bcast, bcast)); // broadcast source
    evil.send("hello"); // text
    for (let i = 0; i < 50; i++) evil.send(f(macBytes(b.link.mac), macBytes(a.link.mac))); // spoof A
    for (let i = 0; i < 5000; i++) evil.send(f(bcast, evilMac, 1000)); // flood
    const pong = await a.stack.ping("192.0.2.11", { timeout: 5000 });
    assert.ok(pong.dataMatches);
    const r = await good;
    assert.is(r.gotSha, r.sentSha, "concurrent transfer intact");
    await until(() => relay.stats().totals.dropRate > 0, "rate drops");
    const evilPort = relay.switch.ports.find((p) => p.stats.dropSpoof > 0)!;
    assert.ok(evilPort !== undefined, "spoofs counted on the attacker's port");
    const st = evilPort.stats;
    assert.is(st.dropMalformed, 3, "runt, broadcast source, text");
    assert.is(st.dropSpoof, 50);
    assert.ok(st.dropRate > 3000, `rate drops ${st.dropRate}`);
    assert.is(relay.switch.lookup(a.link.mac)?.macs, 1, "A still owns its MAC");
    console.log(`relay abuse: ${relay.summary()}`);
  } finally {
    await closeSocket(evil);
    await a.close();
    await b.close();
    await relay.close();
  }
});

test("relay: admission — client limit (503 when every client is active), origin allowlist (403), token (401; query and bearer accepted)", async () => {
  const relay = await startRelay({
    ...quiet,
    maxClients: 1,
    origins: ["http://good.example"],
    token: "s3cret",
  });
  try {
    const up = (path: string, headers: Record<string, string> = {}) =>
      rawRequest(relay.port, path, { upgrade: true, headers });
    assert.is((await up("/")).status, 401, "no token");
    assert.is((await up("/?token=wrong")).status, 401, "wrong token");
    assert.is((await up("/?token=s3cret", { Origin: "http://evil.example" })).status, 403);
    const clock = new RealClock();
    const first = await WebSocketLink.connect(`${relay.url}?token=s3cret`, {
      allocator: new SkbAllocator(new Arena()),
      clock,
      reconnect: false,
    });
    try {
      await until(() => relay.stats().clients === 1, "first client registered");
      // An active client (it sent a frame) is never evicted for a newcomer:
      // the newcomer is refused. (A silent one would be: admission_test.ts.)
      const hello = new Uint8Array(60);
      hello.fill(0xff, 0, 6);
      hello.set([0x02, 0, 0, 0, 0, 1], 6);
      first.up();
      first.transmit(first.allocator.fromBytes(hello)!);
      await until(() => relay.stats().totals.rxFrames === 1, "first client active");
      assert.is((await up("/?token=s3cret", { Origin: "http://good.example" })).status, 503);
      assert.is(
        (await up("/", { Authorization: "Bearer s3cret" })).status,
        503,
        "bearer accepted, then full",
      );
      assert.is(
        (await up("/", { Authorization: "bEaReR s3cret" })).status,
        503,
        "the auth scheme is case-insensitive (RFC 7235)",
      );
      const err = await WebSocketLink.connect(`${relay.url}?token=s3cret`, {
        allocator: first.allocator,
        clock: first.clock,
        reconnect: false,
      }).then(() => null, (e) => e);
      assert.instance(err, WebSocketLinkError);
    } finally {
      first.close();
      clock.close();
    }
    const s = relay.stats();
    assert.equal(s.rejected, { origin: 1, token: 2, full: 4, perAddress: 0 });
    assert.equal(s.evicted, { full: 0, perAddress: 0, silent: 0 });
  } finally {
    await relay.close();
  }
});

/**
 * A relay on a port below Linux's ephemeral range (32768–60999), so that
 * after it stops no outgoing connection of a test running in parallel can
 * take its port before it restarts there (port 0 would pick from that range).
 */
async function relayBelowEphemeral(): Promise<Awaited<ReturnType<typeof startRelay>>> {
  for (let i = 0;; i++) {
    const port = 20000 + ((Math.random() * 12000) | 0);
    try {
      return await startRelay({ ...quiet, port });
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse) || i >= 20) throw e;
    }
  }
}

test("relay: a link reconnects with backoff when the relay restarts, with down/up events, and traffic flows again", async () => {
  let relay = await relayBelowEphemeral();
  const port = relay.port;
  const b = await wsHost(relay.url, "192.0.2.11");
  const a = await wsHost(relay.url, "192.0.2.10", {
    reconnect: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 50 },
  });
  const events: LinkChangeEvent[] = [];
  let onEvent: (() => void) | null = null;
  a.link.onLinkChange((e) => {
    events.push(e);
    onEvent?.();
  });
  const next = (pred: (e: LinkChangeEvent) => boolean, what: string) =>
    within(
      new Promise<LinkChangeEvent>((resolve) => {
        const check = () => {
          const e = events.find(pred);
          if (e) {
            onEvent = null;
            resolve(e);
          }
        };
        onEvent = check;
        check();
      }),
      10_000,
      what,
    );
  try {
    await relay.close();
    const down = await next((e) => !e.up, "link down");
    assert.is(down.code, 1001);
    assert.is(down.reason, "relay shutting down");
    assert.ok(down.retryInMs !== undefined);
    assert.not.ok(a.link.carrier);
    await b.close();
    relay = await startRelay({ ...quiet, port });
    const up = await next((e) => e.up, "link up again");
    assert.ok(up.up);
    assert.ok(a.link.wsStats.reconnectAttempts >= 1);
    const c = await wsHost(relay.url, "192.0.2.12");
    try {
      const reply = await a.stack.ping("192.0.2.12", { timeout: 5000 });
      assert.ok(reply.dataMatches);
    } finally {
      await c.close();
    }
  } finally {
    await a.close();
    await b.close();
    await relay.close();
  }
});

test("relay: connecting to a closed port fails with a clear WebSocketLinkError", async () => {
  const relay = await startRelay({ ...quiet });
  const url = relay.url;
  await relay.close();
  const err = await wsHost(url, "192.0.2.10").then(() => null, (e) => e);
  assert.instance(err, WebSocketLinkError);
  assert.ok(String(err.message).includes("Cannot connect"), err.message);
});

test("relay: the link's transmit queue holds frames while bufferedAmount is high (real socket, sanity)", async () => {
  const relay = await startRelay({ ...quiet, ratePps: 0 });
  const a = await wsHost(relay.url, "192.0.2.10", { highWaterMark: 0, txQueueLimit: 8 });
  try {
    // With a zero high-water mark, a burst finds bufferedAmount > 0 after the first send.
    const { allocator } = a.stack;
    let dropped = 0;
    for (let i = 0; i < 100; i++) {
      const skb = allocator.alloc(60)!;
      const at = skb.put(60);
      allocator.arena.u8.fill(0xff, at, at + 6);
      allocator.arena.u8.set(macBytes(a.link.mac), at + 6);
      if (a.link.transmit(skb) !== 0) dropped++;
    }
    assert.ok(dropped > 0, "some frames dropped at the queue bound");
    assert.is(a.link.wsStats.txQueueDropped, dropped);
    await until(() => a.link.txQueue.length === 0, "queue drained");
  } finally {
    await a.close();
    await relay.close();
  }
});
