/**
 * `MessagePortLink` and `BroadcastChannelLink`: batching, the record format,
 * buffer hand-back, the MessagePort flow-control window, malformed input
 * (on a hand-driven endpoint pair and virtual time); then real
 * `MessageChannel`s and `BroadcastChannel`s on a real clock: TCP both ways
 * with sha256, super-segments crossing whole, a three-member hub that drops
 * frames for other members unread. Runs in Deno and in Chromium.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { linkEnv, readId, testFrame } from "./_harness.ts";
import { Xmit } from "../../src/link/device.ts";
import {
  BroadcastChannelLink,
  type MessageEndpoint,
  MessagePortLink,
} from "../../src/link/message_link.ts";
import { RealClock } from "../../src/core/clock.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { Stack } from "../../src/api/stack.ts";
import type { Conn } from "../../src/api/conn.ts";

/** One end of a hand-driven pair: posts are held until the test delivers them. */
class FakeEnd implements MessageEndpoint {
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  peer: FakeEnd | null = null;
  /** Messages posted to the peer, not yet delivered. */
  outbox: { data: unknown; transfer: Transferable[] }[] = [];
  closed = false;
  postMessage(data: unknown, transfer: Transferable[] = []): void {
    this.outbox.push({ data, transfer });
  }
  close(): void {
    this.closed = true;
  }
  /** Deliver up to `n` posted messages to the peer. */
  deliver(n = Infinity): number {
    let k = 0;
    while (k < n && this.outbox.length > 0) {
      const m = this.outbox.shift()!;
      this.peer!.onmessage?.(new MessageEvent("message", { data: m.data }));
      k++;
    }
    return k;
  }
  /** Inject a raw message as if the peer had posted it. */
  inject(data: unknown): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }
}

function fakePair(): [FakeEnd, FakeEnd] {
  const a = new FakeEnd();
  const b = new FakeEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

function portPair(
  options: { window?: number; txQueueLimit?: number; batchBytes?: number; mtu?: number } = {},
) {
  const env = linkEnv();
  const [ea, eb] = fakePair();
  const common = { allocator: env.allocator, clock: env.clock, ...options };
  const a = new MessagePortLink(ea, { ...common, random: new SeededRandom(1) });
  const b = new MessagePortLink(eb, { ...common, random: new SeededRandom(2) });
  return { env, ea, eb, a, b };
}

/** Frame ids received on `link`, in order (frees them). */
function receivedIds(link: MessagePortLink | BroadcastChannelLink): number[] {
  const ids: number[] = [];
  link.poll(10_000, (skb) => {
    ids.push(readId(skb));
    skb.free();
  });
  return ids;
}

test("MessagePortLink: a burst leaves as one batch message (length-prefixed records) on the flush task; the peer gets every frame in order; buffers come back and are reused", () => {
  const { env, ea, eb, a, b } = portPair();
  for (let id = 1; id <= 10; id++) {
    assert.is(a.transmit(testFrame(env.allocator, id, 1000)), Xmit.OK);
  }
  assert.is(ea.outbox.length, 0, "nothing before the deferred flush");
  env.clock.flush();
  assert.is(ea.outbox.length, 1);
  const msg = ea.outbox[0]!;
  const data = msg.data as { f: ArrayBuffer; n: number };
  assert.is(data.n, 10 * 1004);
  assert.equal(msg.transfer, [data.f], "the batch buffer is transferred");
  ea.deliver();
  assert.equal(receivedIds(b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // b answers with frames of its own: a's buffer goes back with them and is reused.
  b.transmit(testFrame(env.allocator, 99, 100));
  env.clock.flush();
  const back = eb.outbox[0]!.data as { r?: ArrayBuffer[]; a: number };
  assert.equal(back.r, [data.f]);
  assert.is(back.a, 1, "b reports one message processed");
  eb.deliver();
  assert.equal(receivedIds(a), [99]);
  a.transmit(testFrame(env.allocator, 11, 100));
  env.clock.flush();
  assert.is((ea.outbox.at(-1)!.data as { f: ArrayBuffer }).f, data.f, "the same buffer again");
  assert.is(a.msgStats.buffersReused, 1);
  ea.deliver();
  receivedIds(b);
  a.close();
  b.close();
  assert.ok(ea.closed && eb.closed);
  env.assertNoLeak();
});

test("MessagePortLink: takes TCP super-segments whole (TSO), up to 64 KiB per frame", () => {
  const { env, ea, a, b } = portPair();
  assert.ok((a.features & 4) !== 0, "DeviceFeature.TSO");
  const big = env.allocator.alloc(65_000)!;
  big.put(65_000);
  env.arena.u8.fill(0xff, big.data, big.data + 6);
  big.gsoSize = 1460;
  assert.is(a.transmit(big), Xmit.OK);
  env.clock.flush();
  ea.deliver();
  const lens: number[] = [];
  b.poll(8, (skb) => {
    lens.push(skb.len);
    skb.free();
  });
  assert.equal(lens, [65_000]);
  a.close();
  b.close();
  env.assertNoLeak();
});

test("MessagePortLink: at most `window` messages unprocessed by the peer; then frames wait (bounded) and drop beyond; acknowledgements release them in order", () => {
  const { env, ea, eb, a, b } = portPair({
    window: 2,
    txQueueLimit: 3,
    batchBytes: 70_000,
    mtu: 65_000,
  });
  const results: number[] = [];
  // Each frame fills most of a batch buffer, so each is its own message.
  for (let id = 1; id <= 7; id++) {
    results.push(a.transmit(testFrame(env.allocator, id, 60_000)));
    env.clock.flush();
  }
  // 2 posted, 3 waiting, 2 dropped.
  assert.equal(results, [0, 0, 0, 0, 0, 1, 1]);
  assert.is(ea.outbox.length, 2);
  assert.is(a.txQueue.length, 3);
  assert.is(a.msgStats.txQueueDropped, 2);
  assert.is(a.stats.txDropped, 2);
  // The peer processes both; with nothing to send, it acknowledges alone (deferred).
  ea.deliver();
  env.clock.flush();
  assert.is(eb.outbox.length, 0, "acks are sent every 4 messages, not per message");
  assert.equal(receivedIds(b), [1, 2]);
  // Without an ack a stays blocked; b reports progress with its next frame.
  b.transmit(testFrame(env.allocator, 50, 100));
  env.clock.flush();
  eb.deliver();
  env.clock.flush();
  assert.is(a.txQueue.length, 1, "two more went out");
  ea.deliver();
  env.clock.flush();
  assert.equal(receivedIds(b), [3, 4]);
  b.transmit(testFrame(env.allocator, 51, 100));
  env.clock.flush();
  eb.deliver();
  env.clock.flush();
  ea.deliver();
  assert.equal(receivedIds(b), [5]);
  assert.equal(receivedIds(a), [50, 51]);
  a.close();
  b.close();
  env.assertNoLeak();
});

test("MessagePortLink: a receiver with nothing to send acknowledges every 4 messages (no deadlock one way)", () => {
  const { env, ea, eb, a, b } = portPair({ window: 4, batchBytes: 70_000, mtu: 65_000 });
  for (let id = 1; id <= 40; id++) {
    a.transmit(testFrame(env.allocator, id, 60_000));
    env.clock.flush();
    ea.deliver();
    env.clock.flush();
    eb.deliver();
    env.clock.flush();
  }
  ea.deliver();
  const ids = receivedIds(b);
  assert.is(ids.length, 40);
  assert.equal(ids, Array.from({ length: 40 }, (_, i) => i + 1));
  assert.is(a.msgStats.txQueueDropped, 0);
  a.close();
  b.close();
  env.assertNoLeak();
});

test("MessagePortLink: malformed messages and records are counted and dropped, never thrown; good records before a bad one are kept", () => {
  const { env, eb, a, b } = portPair();
  const batch = (records: [number, number][]) => {
    // [declared length, actual bytes]
    const total = records.reduce((n, [, real]) => n + 4 + real, 0);
    const u8 = new Uint8Array(total);
    let at = 0;
    for (const [decl, real] of records) {
      new DataView(u8.buffer).setUint32(at, decl);
      u8.fill(0xff, at + 4, at + 4 + Math.min(6, real));
      at += 4 + real;
    }
    return { f: u8.buffer, n: total };
  };
  for (const junk of [null, 7, "frames", { f: "x", n: 1 }, { f: new ArrayBuffer(8), n: 9 }]) {
    eb.inject(junk);
  }
  assert.is(b.msgStats.rxBadMessage, 5);
  eb.inject(batch([[60, 60], [13, 13]])); // runt record
  eb.inject(batch([[60, 60], [70_000, 60]])); // longer than any frame
  eb.inject(batch([[60, 60], [200, 60]])); // runs past the end
  assert.is(b.msgStats.rxBadRecord, 3);
  assert.is(b.rxQueue.length, 3, "the good first record of each");
  assert.is(b.stats.rxDropped, 8);
  receivedIds(b);
  a.close();
  b.close();
  env.assertNoLeak();
});

async function bulk(from: Stack, to: Stack, toIp: string, size: number, port: number) {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + 7) & 0xff;
  const listener = to.listen({ port });
  const accepting = listener.accept();
  const client = await from.connect({ hostname: toIp, port });
  const server: Conn = await accepting;
  const got = new Uint8Array(size + 1); // room to see EOF (a read into 0 bytes returns 0)
  const reading = (async () => {
    let n = 0;
    for (;;) {
      const r = await server.read(got.subarray(n));
      if (r === null) break;
      n += r;
    }
    return n;
  })();
  for (let at = 0; at < size;) at += await client.write(data.subarray(at, at + 65536));
  await client.closeWrite();
  const n = await reading;
  server.close();
  client.close();
  listener.close();
  const d1 = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  const d2 = new Uint8Array(await crypto.subtle.digest("SHA-256", got.subarray(0, n)));
  return { n, equal: d1.every((x, i) => x === d2[i]) };
}

test("MessagePortLink over a real MessageChannel: two stacks move 8 MiB each way over TCP (sha256 equal) in super-segments and batches", async () => {
  const clock = new RealClock();
  const { port1, port2 } = new MessageChannel();
  const a = new Stack({ clock });
  const b = new Stack({ clock });
  const la = new MessagePortLink(port1, { allocator: a.allocator, clock });
  const lb = new MessagePortLink(port2, { allocator: b.allocator, clock });
  try {
    a.addInterface(la, { address: "192.0.2.1/24" });
    b.addInterface(lb, { address: "192.0.2.2/24" });
    const ab = await bulk(a, b, "192.0.2.2", 8 << 20, 7000);
    const ba = await bulk(b, a, "192.0.2.1", 8 << 20, 7001);
    assert.is(ab.n, 8 << 20);
    assert.ok(ab.equal, "a → b sha256");
    assert.is(ba.n, 8 << 20);
    assert.ok(ba.equal, "b → a sha256");
    assert.ok(la.stats.txBytes / la.stats.txPackets > 4000, "super-segments crossed whole");
    assert.ok(la.msgStats.messagesOut < la.stats.txPackets, "frames were batched");
    assert.ok(la.msgStats.buffersReused > 0, "buffers came back");
    assert.is(la.stats.rxDropped + lb.stats.rxDropped, 0);
  } finally {
    await a.close();
    await b.close();
    la.close();
    lb.close();
    clock.close();
  }
});

test("BroadcastChannelLink: three stacks on one channel — ping and 1 MiB of TCP between two; the third drops their unicast frames unread", async () => {
  const clock = new RealClock();
  const name = `netwasm-test-${crypto.randomUUID()}`;
  const stacks = [0, 1, 2].map(() => new Stack({ clock }));
  const links = stacks.map((s) =>
    BroadcastChannelLink.open(name, { allocator: s.allocator, clock })
  );
  try {
    stacks.forEach((s, i) => s.addInterface(links[i]!, { address: `192.0.2.${i + 1}/24` }));
    const reply = await stacks[0]!.ping("192.0.2.2", { timeout: 5000 });
    assert.ok(reply.dataMatches);
    const r = await bulk(stacks[0]!, stacks[1]!, "192.0.2.2", 1 << 20, 7002);
    assert.is(r.n, 1 << 20);
    assert.ok(r.equal);
    assert.ok(links[2]!.msgStats.rxOtherHost > 10, `${links[2]!.msgStats.rxOtherHost}`);
    assert.ok(links[2]!.stats.rxPackets < 10, "the third member took only broadcasts");
    const third = await stacks[0]!.ping("192.0.2.3", { timeout: 5000 });
    assert.ok(third.dataMatches, "and it is on the LAN");
  } finally {
    for (const s of stacks) await s.close();
    for (const l of links) l.close();
    clock.close();
  }
});

test("MessagePortLink: close() posts the batch being built and the frames waiting for the window, so a FIN queued just before stack.close() reaches the peer", () => {
  const { env, ea, a, b } = portPair({ window: 1 });
  // The first batch uses the window; the next frames wait for it.
  assert.is(a.transmit(testFrame(env.allocator, 1, 100)), Xmit.OK);
  env.clock.flush();
  assert.is(ea.outbox.length, 1);
  for (let id = 2; id <= 4; id++) assert.is(a.transmit(testFrame(env.allocator, id, 100)), Xmit.OK);
  assert.is(ea.outbox.length, 1, "waiting for the window");
  a.close();
  assert.is(ea.outbox.length, 2, "one more message, posted by close()");
  ea.deliver();
  assert.equal(receivedIds(b), [1, 2, 3, 4]);
  b.close();
  assert.is(env.allocator.arena.inUse, 0);
});
