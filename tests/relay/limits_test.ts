/**
 * The relay's resource limits: a client sending a message longer than a
 * frame is closed with 1009; a pcap capture that fails to write (full disk,
 * broken pipe) or reaches its size cap stops with a log line while the relay
 * keeps running; a pcap whose header cannot be written fails `startRelay`
 * without leaking the file.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { startRelay } from "../../src/relay/server.ts";
import { readPcap } from "../../src/link/pcap.ts";
import { closeSocket, rawSocket, until, within } from "./_helpers.ts";
import { BATCH_PROTOCOL } from "../../src/link/ws_batch.ts";

const quiet = { port: 0, bundleDir: null, summaryIntervalMs: 0 } as const;

/** A valid 60-byte broadcast frame from a locally administered source `n`. */
function frame(n: number, len = 60): Uint8Array<ArrayBuffer> {
  const u = new Uint8Array(len);
  u.fill(0xff, 0, 6);
  u.set([0x02, 0, 0, 0, 0, n], 6);
  return u;
}

test("relay limits: a message longer than a frame closes the client with 1009 and is counted; a 1518-byte one does not", async () => {
  const lines: string[] = [];
  const relay = await startRelay({ ...quiet, log: (l) => lines.push(l) });
  const ws = await rawSocket(relay.url);
  try {
    const closed = new Promise<CloseEvent>((r) => ws.addEventListener("close", (e) => r(e)));
    ws.send(frame(1, 1518));
    await until(() => relay.stats().totals.rxFrames === 1, "the 1518-byte frame accepted");
    assert.is(ws.readyState, WebSocket.OPEN);
    ws.send(new Uint8Array(1519));
    const ev = await within(closed, 5000, "close after an oversize message");
    assert.is(ev.code, 1009);
    assert.is(relay.stats().oversize, 1);
    assert.ok(lines.some((l) => l.includes("1519-byte message")), lines.join("\n"));
  } finally {
    await closeSocket(ws);
    await relay.close();
  }
});

test("relay limits: a pcap write that fails (broken pipe) stops the capture once, is counted, and the relay keeps forwarding", async () => {
  const dir = await Deno.makeTempDir();
  const fifo = `${dir}/cap.pcap`;
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(mk.success, "mkfifo");
  const lines: string[] = [];
  // Opening a FIFO waits for the other end: start the reader first (async).
  const reading = Deno.open(fifo, { read: true });
  const relay = await startRelay({ ...quiet, pcap: fifo, log: (l) => lines.push(l) });
  const reader = await reading;
  const a = await rawSocket(relay.url);
  const b = await rawSocket(relay.url);
  try {
    const header = new Uint8Array(24);
    let got = 0;
    while (got < 24) {
      const n = await reader.read(header.subarray(got));
      assert.ok(n !== null, "pcap header");
      got += n;
    }
    reader.close(); // the next write gets EPIPE
    await until(() => relay.stats().clients === 2, "two clients");
    const seen: number[] = [];
    b.onmessage = (e) => seen.push(new Uint8Array(e.data as ArrayBuffer)[11]!);
    for (let i = 1; i <= 3; i++) a.send(frame(1));
    await until(() => seen.length === 3, "all three frames forwarded to the other client");
    const s = relay.stats();
    assert.is(s.pcapErrors, 1, "one error, then the capture is off");
    assert.is(s.pcapActive, false);
    assert.is(s.pcapFrames, 0);
    assert.is(lines.filter((l) => l.includes("capture stopped")).length, 1, lines.join("\n"));
  } finally {
    await closeSocket(a);
    await closeSocket(b);
    await relay.close();
    await Deno.remove(dir, { recursive: true });
  }
});

test("relay limits: pcapMaxBytes stops the capture before the file would exceed it, with a log line", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/cap.pcap`;
  const lines: string[] = [];
  const cap = 24 + 2 * (16 + 60);
  const relay = await startRelay({
    ...quiet,
    pcap: path,
    pcapMaxBytes: cap,
    log: (l) => lines.push(l),
  });
  const ws = await rawSocket(relay.url);
  try {
    for (let i = 0; i < 4; i++) ws.send(frame(1));
    await until(() => relay.stats().totals.rxFrames === 4, "four frames in");
    const s = relay.stats();
    assert.is(s.pcapFrames, 2);
    assert.is(s.pcapActive, false);
    assert.is(s.pcapErrors, 0);
    assert.is(lines.filter((l) => l.includes("size cap")).length, 1, lines.join("\n"));
    const bytes = await Deno.readFile(path);
    assert.is(bytes.length, cap);
    const parsed = readPcap(bytes);
    assert.ok(parsed.ok);
    assert.is(parsed.frames.length, 2);
  } finally {
    await closeSocket(ws);
    await relay.close();
    await Deno.remove(dir, { recursive: true });
  }
});

test("relay limits: a pcap header that cannot be written (/dev/full) fails startRelay and leaks no file", async () => {
  let err: unknown = null;
  try {
    const relay = await startRelay({ ...quiet, quiet: true, pcap: "/dev/full" });
    await relay.close();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, "startRelay rejected");
  // Deno's resource sanitizer fails this test if the pcap file stayed open.
});

/** A batch message (length-prefixed records) of `frames`. */
function batch(frames: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(frames.reduce((n, f) => n + 2 + f.length, 0));
  let at = 0;
  for (const f of frames) {
    out[at] = f.length >> 8;
    out[at + 1] = f.length & 0xff;
    out.set(f, at + 2);
    at += 2 + f.length;
  }
  return out;
}

test("relay limits: a batch client — malformed records and 1519-byte frames are counted and dropped, the rest of a good batch passes; a message over 64 KiB closes it with 1009", async () => {
  const lines: string[] = [];
  const relay = await startRelay({ ...quiet, log: (l) => lines.push(l) });
  const ws = await rawSocket(relay.url, [BATCH_PROTOCOL]);
  try {
    assert.is(ws.protocol, BATCH_PROTOCOL, "the relay selected batch framing");
    await until(() => relay.stats().batchClients === 1, "batch client registered");
    const closed = new Promise<CloseEvent>((r) => ws.addEventListener("close", (e) => r(e)));
    // Two good frames, a 1519-byte one (dropped by the switch), one more good.
    ws.send(batch([frame(1), frame(1, 1518), frame(1, 1519), frame(1)]));
    await until(() => relay.stats().totals.rxFrames === 3, "3 frames accepted");
    assert.is(relay.stats().totals.dropMalformed, 1);
    // A record running past the end: counted once, the rest of the message dropped.
    const bad = batch([frame(1), frame(1)]);
    bad[62] = 0xff;
    ws.send(bad);
    ws.send(batch([frame(1)]).subarray(0, 1)); // half a length field
    await until(() => relay.stats().totals.dropMalformed === 3, "malformed batches counted");
    assert.is(relay.stats().totals.rxFrames, 4, "the first frame of the bad batch passed");
    assert.is(ws.readyState, WebSocket.OPEN);
    ws.send(new Uint8Array(65537));
    const ev = await within(closed, 5000, "close after an oversize batch");
    assert.is(ev.code, 1009);
    assert.is(relay.stats().oversize, 1);
    assert.ok(lines.some((l) => l.includes("65537-byte message")), lines.join("\n"));
  } finally {
    await closeSocket(ws);
    await relay.close();
  }
});
