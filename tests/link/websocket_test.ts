/**
 * `WebSocketLink` against an in-memory fake socket on virtual time:
 * framing, receive validation, the bufferedAmount-driven transmit queue and
 * its bound, reconnect with backoff, carrier events, URL errors. The real
 * relay over loopback is exercised in tests/relay/.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { linkEnv, readId, testFrame } from "./_harness.ts";
import { Xmit } from "../../src/link/device.ts";
import {
  type LinkChangeEvent,
  type WebSocketLike,
  WebSocketLink,
  WebSocketLinkError,
} from "../../src/link/websocket.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { BATCH_PROTOCOL } from "../../src/link/ws_batch.ts";

/** A WebSocket stand-in: records sends, lets the test drive events. */
class FakeSocket implements WebSocketLike {
  binaryType = "blob";
  readyState = 0;
  /** The subprotocol "the server selected". */
  protocol = "";
  /** Protocols offered when this socket was made. */
  offered: string[] | undefined;
  bufferedAmount = 0;
  sent: Uint8Array[] = [];
  closedWith: [number | undefined, string | undefined] | null = null;
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;

  send(data: Uint8Array | ArrayBuffer): void {
    // Like WebSocket.send: the bytes are copied at the call (the link may reuse them).
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data.slice(0)) : data.slice();
    this.sent.push(bytes);
    this.bufferedAmount += bytes.length;
  }
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  message(data: unknown): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }
  serverClose(code: number, reason: string): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }
}

function setup(options: Partial<ConstructorParameters<typeof WebSocketLink>[1]> = {}) {
  const env = linkEnv();
  const sockets: FakeSocket[] = [];
  const first = new FakeSocket();
  sockets.push(first);
  const link = new WebSocketLink(first, {
    allocator: env.allocator,
    clock: env.clock,
    random: new SeededRandom(1),
    url: "ws://relay.invalid/",
    createSocket: (_url, protocols) => {
      const s = new FakeSocket();
      s.offered = protocols;
      sockets.push(s);
      return s;
    },
    ...options,
  });
  const events: LinkChangeEvent[] = [];
  link.onLinkChange((e) => events.push(e));
  return { env, link, sockets, events, first };
}

test("WebSocketLink: one binary message per frame, exact bytes; binaryType arraybuffer", () => {
  const { env, link, first } = setup();
  assert.is(first.binaryType, "arraybuffer");
  first.open();
  assert.ok(link.carrier);
  for (let id = 1; id <= 3; id++) {
    assert.is(link.transmit(testFrame(env.allocator, id, 100)), Xmit.OK);
  }
  assert.is(first.sent.length, 3);
  const u8 = first.sent[1]!;
  assert.is(u8.length, 100);
  const copy = env.allocator.fromBytes(u8)!;
  assert.is(readId(copy), 2);
  copy.free();
  assert.is(link.stats.txPackets, 3);
  link.close();
  assert.equal(first.closedWith, [1000, "closed"]);
  env.assertNoLeak();
});

test("WebSocketLink: receive copies frames into the arena; text, runts and oversize are dropped and counted", () => {
  const { env, link, first } = setup();
  first.open();
  const frame = new Uint8Array(60);
  frame.fill(0xff, 0, 6);
  first.message(frame.buffer);
  first.message("hello");
  first.message(new ArrayBuffer(13));
  first.message(new ArrayBuffer(1515));
  assert.is(link.rxQueue.length, 1);
  assert.is(link.wsStats.rxTextDropped, 1);
  assert.is(link.wsStats.rxBadLength, 2);
  assert.is(link.stats.rxDropped, 3);
  link.poll(8, (skb) => {
    assert.is(skb.len, 60);
    skb.free();
  });
  link.close();
  env.assertNoLeak();
});

test("WebSocketLink: above the high-water mark frames queue up to the limit, beyond it they drop; the queue drains in order as bufferedAmount falls", () => {
  const { env, link, first } = setup({ highWaterMark: 1000, txQueueLimit: 4, drainIntervalMs: 5 });
  first.open();
  first.bufferedAmount = 5000; // a slow peer
  const results: number[] = [];
  for (let id = 1; id <= 7; id++) results.push(link.transmit(testFrame(env.allocator, id)));
  assert.equal(results, [0, 0, 0, 0, 1, 1, 1].map((x) => x === 0 ? Xmit.OK : Xmit.DROP));
  assert.is(first.sent.length, 0);
  assert.is(link.txQueue.length, 4);
  assert.is(link.wsStats.txQueueDropped, 3);
  assert.is(link.stats.txDropped, 3);
  env.clock.advance(5); // still full: nothing moves
  assert.is(first.sent.length, 0);
  first.bufferedAmount = 0;
  env.clock.advance(5);
  assert.is(first.sent.length, 4);
  const ids = first.sent.map((u8) => {
    const s = env.allocator.fromBytes(u8)!;
    const id = readId(s);
    s.free();
    return id;
  });
  assert.equal(ids, [1, 2, 3, 4]);
  assert.is(link.txQueue.length, 0);
  link.close();
  env.assertNoLeak();
});

test("WebSocketLink: no carrier → frames dropped as DOWN; server close reports code and reason, then reconnects with growing, bounded, jittered backoff", () => {
  const { env, link, sockets, events, first } = setup({
    reconnect: { initialDelayMs: 100, maxDelayMs: 400, factor: 2, jitter: 0.5, maxAttempts: 10 },
  });
  assert.is(link.transmit(testFrame(env.allocator, 1)), Xmit.DOWN);
  assert.is(link.wsStats.txNoCarrier, 1);
  first.open();
  assert.equal(events.map((e) => e.up), [true]);
  first.serverClose(1001, "relay shutting down");
  assert.not.ok(link.carrier);
  const down = events[1]!;
  assert.is(down.up, false);
  assert.is(down.code, 1001);
  assert.is(down.reason, "relay shutting down");
  assert.ok(down.retryInMs! >= 50 && down.retryInMs! <= 100, `${down.retryInMs}`);
  // Failed attempts: each creates a socket after a delay within [base/2, base].
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    const n = sockets.length;
    const t0 = env.clock.now();
    env.clock.runUntil(() => sockets.length > n, 1000);
    delays.push(env.clock.now() - t0);
    sockets.at(-1)!.serverClose(1006, "");
  }
  const bases = [100, 200, 400, 400, 400];
  delays.forEach((d, i) => assert.ok(d >= bases[i]! / 2 && d <= bases[i]!, `delay ${i}: ${d}`));
  assert.is(link.wsStats.reconnectAttempts, 5);
  // Success resets the backoff and raises carrier.
  env.clock.runUntil(() => sockets.length > 6, 1000);
  sockets.at(-1)!.open();
  assert.ok(link.carrier);
  assert.is(events.at(-1)!.up, true);
  assert.is(link.wsStats.connects, 2);
  link.close();
  assert.is(events.at(-1)!.final, true);
  assert.is(env.clock.pending, 0, "no timer left behind");
  env.assertNoLeak();
});

test("WebSocketLink: gives up after maxAttempts; reconnect: false gives up at once", () => {
  const a = setup({ reconnect: { initialDelayMs: 10, maxAttempts: 2, jitter: 0 } });
  a.first.open();
  a.first.serverClose(1006, "");
  for (let i = 0; i < 2; i++) {
    const n = a.sockets.length;
    a.env.clock.runUntil(() => a.sockets.length > n, 1000);
    a.sockets.at(-1)!.serverClose(1006, "");
  }
  assert.is(a.events.at(-1)!.final, true);
  assert.is(a.env.clock.pending, 0);
  a.link.close();
  const b = setup({ reconnect: false });
  b.first.open();
  b.first.serverClose(4000, "bye");
  assert.equal(b.events.at(-1), { up: false, code: 4000, reason: "bye", final: true });
  assert.is(b.sockets.length, 1);
  b.link.close();
});

test("WebSocketLink: default MAC is random, locally administered and unicast", () => {
  for (let i = 0; i < 20; i++) {
    const { link } = setup({ random: new SeededRandom(i) });
    const first = Math.floor(link.mac / 2 ** 40);
    assert.is(first & 0x02, 0x02, "locally administered");
    assert.is(first & 0x01, 0, "unicast");
    link.close();
  }
});

test("WebSocketLink.connect: a bad URL is a clear error", async () => {
  const env = linkEnv();
  for (const [url, why] of [["http://x/", "scheme"], ["not a url", "not a URL"]] as const) {
    const err = await WebSocketLink.connect(url, { allocator: env.allocator, clock: env.clock })
      .then(() => null, (e) => e);
    assert.instance(err, WebSocketLinkError);
    assert.ok((err as Error).message.includes(why), (err as Error).message);
  }
});

test("WebSocketLink.connect: a bad option rejects (never throws synchronously) and closes the socket it opened", async () => {
  const env = linkEnv();
  const socket = new FakeSocket();
  let p: Promise<WebSocketLink> | null = null;
  try {
    p = WebSocketLink.connect("ws://relay.invalid/", {
      allocator: env.allocator,
      clock: env.clock,
      createSocket: () => socket,
      highWaterMark: -1,
    });
  } catch (e) {
    assert.unreachable(`connect threw synchronously: ${(e as Error).message}`);
  }
  const err = await p!.then(() => null, (e) => e);
  assert.instance(err, Error);
  assert.ok(socket.closedWith !== null, "the socket was closed");
});

/** Split a batch message into its frames (length-prefixed records). */
function records(msg: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < msg.length;) {
    const n = (msg[at]! << 8) | msg[at + 1]!;
    out.push(msg.subarray(at + 2, at + 2 + n));
    at += 2 + n;
  }
  return out;
}

/** A batch message from frames. */
function batchOf(frames: Uint8Array[]): ArrayBuffer {
  const len = frames.reduce((n, f) => n + 2 + f.length, 0);
  const out = new Uint8Array(len);
  let at = 0;
  for (const f of frames) {
    out[at] = f.length >> 8;
    out[at + 1] = f.length & 0xff;
    out.set(f, at + 2);
    at += 2 + f.length;
  }
  return out.buffer;
}

test("WebSocketLink batch framing: frames sent in one task leave as one message of length-prefixed records (flushed by one deferred task), in order; a full batch is sent at once", () => {
  const { env, link, first } = setup({ framing: "batch" });
  first.protocol = BATCH_PROTOCOL;
  first.open();
  assert.ok(link.batching);
  for (let id = 1; id <= 5; id++) link.transmit(testFrame(env.allocator, id, 1000));
  assert.is(first.sent.length, 0, "nothing before the flush task");
  env.clock.flush();
  assert.is(first.sent.length, 1);
  const ids = records(first.sent[0]!).map((f) => {
    assert.is(f.length, 1000);
    const s = env.allocator.fromBytes(f)!;
    const id = readId(s);
    s.free();
    return id;
  });
  assert.equal(ids, [1, 2, 3, 4, 5]);
  // 100 frames of 1000 bytes: batches of at most 64 KiB (65 records), all in order.
  for (let id = 1; id <= 100; id++) link.transmit(testFrame(env.allocator, id, 1000));
  env.clock.flush();
  const msgs = first.sent.slice(1);
  assert.is(msgs.length, 2);
  assert.ok(msgs.every((m) => m.length <= 65536));
  assert.is(msgs.map((m) => records(m).length).reduce((a, b) => a + b), 100);
  assert.is(link.wsStats.messagesOut, 3);
  assert.is(link.stats.txPackets, 105);
  link.close();
  env.assertNoLeak();
});

test("WebSocketLink batch framing: a received batch becomes its frames; runts, oversize frames and a malformed record are dropped and counted", () => {
  const { env, link, first } = setup({ framing: "batch" });
  first.protocol = BATCH_PROTOCOL;
  first.open();
  const f = (n: number, fill: number) => new Uint8Array(n).fill(fill);
  first.message(batchOf([f(60, 1), f(1514, 2), f(1515, 4), f(100, 5)]));
  assert.is(link.rxQueue.length, 3);
  assert.is(link.wsStats.rxBadLength, 1, "a frame over mtu + 14 (the rest is kept)");
  // A record that claims more bytes than the message has: it and the rest go.
  const bad = new Uint8Array(batchOf([f(60, 6), f(60, 7)]));
  bad[62] = 0x7f; // second record's length: 0x7f3c
  first.message(bad.buffer);
  assert.is(link.rxQueue.length, 4);
  assert.is(link.wsStats.rxBadBatch, 1);
  // A runt record (under 14 bytes) is malformed too, so is a record cut short.
  first.message(batchOf([f(60, 8), f(13, 9), f(60, 10)]));
  first.message(new Uint8Array([0]).buffer);
  assert.is(link.rxQueue.length, 5);
  assert.is(link.wsStats.rxBadBatch, 3);
  first.message(new ArrayBuffer(65537));
  assert.is(link.wsStats.rxBadBatch, 4, "a message over 64 KiB");
  const fills: number[] = [];
  link.poll(16, (skb) => {
    fills.push(env.arena.u8[skb.data]!);
    skb.free();
  });
  assert.equal(fills, [1, 2, 5, 6, 8]);
  assert.is(link.stats.rxDropped, 5);
  link.close();
  env.assertNoLeak();
});

test("WebSocketLink batch framing: offered to the server; not selected → one frame per message, as with a v86 relay", () => {
  const { env, link, sockets, first } = setup({ framing: "batch" });
  first.open(); // the server selected nothing
  assert.not.ok(link.batching);
  link.transmit(testFrame(env.allocator, 1, 100));
  assert.is(first.sent.length, 1);
  assert.is(first.sent[0]!.length, 100);
  // Reconnects offer it again.
  first.serverClose(1006, "");
  env.clock.runUntil(() => sockets.length > 1, 60_000);
  assert.equal(sockets[1]!.offered, [BATCH_PROTOCOL]);
  link.close();
  env.assertNoLeak();
});

test("WebSocketLink: close() sends the batch being built and the frames queued behind bufferedAmount before the close frame (a FIN queued just before stack.close() is not lost)", () => {
  const ids = (msgs: Uint8Array[]) =>
    msgs.flatMap((m) => records(m)).map((f) => {
      const s = env.allocator.fromBytes(f)!;
      const id = readId(s);
      s.free();
      return id;
    });
  const { env, link, first } = setup({ framing: "batch", highWaterMark: 1000 });
  first.protocol = BATCH_PROTOCOL;
  first.open();
  for (let id = 1; id <= 3; id++) link.transmit(testFrame(env.allocator, id, 100));
  first.bufferedAmount = 5000; // the socket is busy: the next frames queue
  for (let id = 4; id <= 5; id++) link.transmit(testFrame(env.allocator, id, 100));
  assert.is(first.sent.length, 0, "nothing sent yet: the flush task has not run");
  link.close();
  assert.equal(ids(first.sent), [1, 2, 3, 4, 5]);
  assert.equal(first.closedWith, [1000, "closed"]);
  env.assertNoLeak();
});
