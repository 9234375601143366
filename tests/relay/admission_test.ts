/**
 * The relay's fair admission (issue 15): at the client limit, overall or per
 * address, a newcomer evicts the longest-connected client that has not sent
 * a frame (1013) and is refused (503) only when all are active; a client
 * silent past `firstFrameTimeoutMs` is closed (1008). Loopback clients all
 * share 127.0.0.1, so the per-address limit is exercised from one address.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { startRelay } from "../../src/relay/server.ts";
import { closeSocket, rawRequest, rawSocket, until, within } from "./_helpers.ts";

const quiet = { quiet: true, port: 0, bundleDir: null, summaryIntervalMs: 0 } as const;

/** A valid 60-byte broadcast frame from a locally administered source `n`. */
function frame(n: number): Uint8Array<ArrayBuffer> {
  const u = new Uint8Array(60);
  u.fill(0xff, 0, 6);
  u.set([0x02, 0, 0, 0, 0, n], 6);
  return u;
}

function closeEvent(ws: WebSocket): Promise<CloseEvent> {
  return new Promise((r) => ws.addEventListener("close", (e) => r(e)));
}

test("relay admission: at maxClients a newcomer evicts the longest-connected silent client (1013); with every client active it gets 503", async () => {
  const relay = await startRelay({ ...quiet, maxClients: 3 });
  const open: WebSocket[] = [];
  try {
    const a = await rawSocket(relay.url);
    const b = await rawSocket(relay.url); // silent, older
    const c = await rawSocket(relay.url); // silent, younger
    open.push(a, b, c);
    a.send(frame(1));
    await until(() => relay.stats().totals.rxFrames === 1, "a active");
    const bClosed = closeEvent(b);
    const d = await rawSocket(relay.url);
    open.push(d);
    const ev = await within(bClosed, 5000, "b evicted");
    assert.is(ev.code, 1013);
    assert.is(c.readyState, WebSocket.OPEN, "the younger silent client stays");
    assert.is(a.readyState, WebSocket.OPEN, "the active client stays");
    // Make everyone active: the next newcomer is refused.
    c.send(frame(3));
    d.send(frame(4));
    await until(() => relay.stats().totals.rxFrames === 3, "all active");
    const up = await rawRequest(relay.port, "/", { upgrade: true });
    assert.is(up.status, 503);
    const s = relay.stats();
    assert.equal(s.evicted, { full: 1, perAddress: 0, silent: 0 });
    assert.equal(s.rejected, { origin: 0, token: 0, full: 1, perAddress: 0 });
    assert.is(s.clients, 3);
  } finally {
    for (const ws of open) await closeSocket(ws);
    await relay.close();
  }
});

test("relay admission: maxClientsPerAddress evicts that address's longest-connected silent client, and refuses (503) when all of its clients are active", async () => {
  const relay = await startRelay({ ...quiet, maxClients: 64, maxClientsPerAddress: 2 });
  const open: WebSocket[] = [];
  try {
    const a = await rawSocket(relay.url);
    const b = await rawSocket(relay.url);
    open.push(a, b);
    a.send(frame(1));
    await until(() => relay.stats().totals.rxFrames === 1, "a active");
    const bClosed = closeEvent(b);
    const c = await rawSocket(relay.url);
    open.push(c);
    assert.is((await within(bClosed, 5000, "b evicted")).code, 1013);
    c.send(frame(3));
    await until(() => relay.stats().totals.rxFrames === 2, "c active");
    const up = await rawRequest(relay.port, "/", { upgrade: true });
    assert.is(up.status, 503);
    const s = relay.stats();
    assert.equal(s.evicted, { full: 0, perAddress: 1, silent: 0 });
    assert.equal(s.rejected, { origin: 0, token: 0, full: 0, perAddress: 1 });
  } finally {
    for (const ws of open) await closeSocket(ws);
    await relay.close();
  }
});

test("relay admission: a client that sends no frame within firstFrameTimeoutMs is closed (1008); one that did stays", async () => {
  const lines: string[] = [];
  const relay = await startRelay({
    ...quiet,
    quiet: false,
    log: (l) => lines.push(l),
    firstFrameTimeoutMs: 200,
  });
  const open: WebSocket[] = [];
  try {
    const active = await rawSocket(relay.url);
    active.send(frame(1));
    const idle = await rawSocket(relay.url);
    open.push(active, idle);
    const ev = await within(closeEvent(idle), 5000, "the silent client closed");
    assert.is(ev.code, 1008);
    assert.is(active.readyState, WebSocket.OPEN);
    assert.is(relay.stats().evicted.silent, 1);
    assert.ok(lines.some((l) => l.includes("no frame within 200 ms")), lines.join("\n"));
  } finally {
    for (const ws of open) await closeSocket(ws);
    await relay.close();
  }
  for (
    const bad of [
      { maxClients: 0 },
      { maxClientsPerAddress: 0 },
      { maxClientsPerAddress: 1.5 },
      { firstFrameTimeoutMs: -1 },
    ]
  ) {
    let err: unknown = null;
    await startRelay({ ...quiet, ...bad }).then((r) => r.close(), (e) => (err = e));
    assert.instance(err, RangeError, JSON.stringify(bad));
  }
});
