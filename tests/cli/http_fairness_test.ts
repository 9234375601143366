/**
 * Fairness of `netwasm http` under slowloris-style load (issue 15): the
 * global and per-client caps evict the connection that has waited longest
 * for a request head, the head deadline runs from the accept, and the
 * admission bookkeeping itself ({@link HttpAdmission}).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { memorySource } from "../../src/cli/http_files.ts";
import { HttpAdmission } from "../../src/cli/http_admission.ts";
import type { Conn } from "../../src/api/conn.ts";
import { concat, type HttpPair, httpPair, parseResponses, readAll, SERVER } from "./_http.ts";

const INDEX = new TextEncoder().encode("<h1>netwasm</h1>\n");
const enc = new TextEncoder();
const GET_CLOSE = "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

function sleep(h: HttpPair, ms: number): Promise<void> {
  return new Promise<void>((r) => h.clock.setTimer(ms, () => r()));
}

/** Resolves with the clock time at which the server closed `conn` (FIN or RST), reading nothing. */
function closedAt(h: HttpPair, conn: Conn): Promise<number> {
  const buf = new Uint8Array(1024);
  return (async () => {
    try {
      while (await conn.read(buf) !== null) { /* an error page would be unexpected too */ }
    } catch { /* reset */ }
    return h.clock.now();
  })();
}

/** A connection that sent a complete request for a big file and does not read: busy. */
async function busy(h: HttpPair): Promise<Conn> {
  const c = await h.a.connect(SERVER);
  await c.write(enc.encode("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  return c;
}

async function get(h: HttpPair): Promise<number> {
  const c = await h.a.connect(SERVER);
  try {
    await c.write(enc.encode(GET_CLOSE));
    const r = parseResponses(await readAll(c));
    return r[0]?.status ?? 0;
  } catch {
    return 0;
  } finally {
    c.close();
  }
}

const files = () => memorySource({ "/index.html": INDEX, "/big": new Uint8Array(4 << 20) });

test("http fairness: at maxConnections a newcomer evicts the connection waiting longest for its head (silent or trickling alike), never one past its head; with all busy it is refused", async () => {
  const h = httpPair(files(), { maxConnections: 3, quiet: true });
  try {
    const r = await h.run(
      (async () => {
        const b1 = await busy(h);
        const w1 = await h.a.connect(SERVER); // silent
        const w1Closed = closedAt(h, w1);
        await sleep(h, 100);
        const w2 = await h.a.connect(SERVER);
        await w2.write(enc.encode("GET /index.html HT")); // trickling
        const w2Closed = closedAt(h, w2);
        await sleep(h, 100);
        // Newcomers that hold their slots (complete heads, downloads they do
        // not read), so each eviction is forced by the cap, not by timing.
        const t1 = h.clock.now();
        const n1 = await busy(h); // evicts w1, the oldest waiter
        const w1At = await w1Closed;
        const n2 = await busy(h); // then w2
        const w2At = await w2Closed;
        // Every slot is busy now: the newcomer is refused.
        const t2 = h.clock.now();
        const late = await h.a.connect(SERVER);
        const lateAt = await closedAt(h, late);
        // A slot that frees up is taken without evicting anyone.
        n2.close();
        await sleep(h, 1000);
        const third = await get(h);
        for (const c of [b1, n1, w1, w2, late]) c.close();
        return { third, w1At: w1At - t1, w2At: w2At - t1, lateAt: lateAt - t2 };
      })(),
      60_000,
    );
    assert.is(r.third, 200);
    assert.ok(r.w1At < 1000, `w1 closed ${r.w1At} ms after the newcomer`);
    assert.ok(r.w2At < 1000, `w2 closed ${r.w2At} ms after the newcomer`);
    // The idle timeout (30 s) or header timeout (20 s) would close it much later.
    assert.ok(r.lateAt < 1000, `the newcomer facing three busy ones closed after ${r.lateAt} ms`);
  } finally {
    await h.stop();
  }
  const s = await h.stats;
  assert.is(s.evicted, 2);
  assert.is(s.refused, 1);
  assert.is(s.evictedPerClient + s.refusedPerClient, 0);
  assert.is(s.byStatus[200], 4, "3 busy downloads started (never finished) and 1 served");
});

test("http fairness: maxConnectionsPerClient evicts that client's longest waiter, refuses it when all its connections are busy", async () => {
  const h = httpPair(files(), { maxConnections: 100, maxConnectionsPerClient: 2, quiet: true });
  try {
    const r = await h.run(
      (async () => {
        const w1 = await h.a.connect(SERVER);
        const w1Closed = closedAt(h, w1);
        const b1 = await busy(h);
        const ok = await get(h); // third from this address: evicts w1
        const w1At = await w1Closed;
        await sleep(h, 100); // the server sees the FIN of `ok` and frees its slot
        const b2 = await busy(h);
        const t = h.clock.now();
        const late = await h.a.connect(SERVER); // b1, b2 busy: refused
        const lateAt = await closedAt(h, late);
        for (const c of [w1, b1, b2, late]) c.close();
        return { ok, w1At, lateAt, t };
      })(),
      60_000,
    );
    assert.is(r.ok, 200);
    assert.ok(r.lateAt - r.t < 1000, `refused after ${r.lateAt - r.t} ms`);
  } finally {
    await h.stop();
  }
  const s = await h.stats;
  assert.is(s.evictedPerClient, 1);
  assert.is(s.refusedPerClient, 1);
  assert.is(s.evicted + s.refused, 0);
});

test("http fairness: the first request head must be complete headerTimeoutMs after the accept — silent, or silent then trickling under the request timeout — counted; later heads on a kept-alive connection get their own allowance", async () => {
  const h = httpPair(files(), { headerTimeoutMs: 20_000, quiet: true });
  try {
    const r = await h.run(
      (async () => {
        // Silent: closed at 20 s, not at the 30 s idle timeout.
        const t0 = h.clock.now();
        const silent = await h.a.connect(SERVER);
        const silentAt = (await closedAt(h, silent)) - t0;
        silent.close();
        // Silent 12 s, then one byte every 2 s: the request timeout (15 s from
        // the first byte) would end it at 27 s; the head deadline does at 20 s.
        const t1 = h.clock.now();
        const slow = await h.a.connect(SERVER);
        const slowClosed = closedAt(h, slow);
        await sleep(h, 12_000);
        const head = "GET /index.html HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
        for (const ch of head) {
          try {
            await slow.write(enc.encode(ch));
          } catch {
            break;
          }
          await sleep(h, 2_000);
          if (h.clock.now() - t1 > 40_000) break;
        }
        const slowAt = (await slowClosed) - t1;
        slow.close();
        // Kept alive: the second head 25 s after the first is served.
        const ka = await h.a.connect(SERVER);
        await ka.write(enc.encode("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"));
        await sleep(h, 25_000);
        await ka.write(enc.encode(GET_CLOSE));
        const both = await readAll(ka);
        ka.close();
        return { silentAt, slowAt, statuses: parseResponses(concat([both])).map((x) => x.status) };
      })(),
      200_000,
    );
    assert.is(r.silentAt, 20_000);
    assert.is(r.slowAt, 20_000);
    assert.equal(r.statuses, [200, 200]);
  } finally {
    await h.stop();
  }
  const s = await h.stats;
  assert.is(s.headerTimeouts, 2);
});

test("http fairness (simulation): 24 slow connections that reopen when dropped, against maxConnections 16 — a normal client's 25 requests all succeed (refusing newcomers gave it none)", async () => {
  const h = httpPair(files(), {
    maxConnections: 16,
    impair: { delay: 1 },
    quiet: true,
  });
  let attackerConnects = 0;
  try {
    const r = await h.run(
      (async () => {
        let stop = false;
        const attacker = async () => {
          while (!stop) {
            let c: Conn;
            try {
              c = await h.a.connect(SERVER);
            } catch {
              await sleep(h, 50);
              continue;
            }
            attackerConnects++;
            try {
              await c.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
              const closed = closedAt(h, c).then(() => true);
              // One header byte per second until the server drops us.
              while (!stop) {
                const dropped = await Promise.race([closed, sleep(h, 1000).then(() => false)]);
                if (dropped) break;
                await c.write(enc.encode("X")).catch(() => {});
              }
            } catch { /* dropped */ }
            c.close();
            await sleep(h, 50); // reopen (almost) at once
          }
        };
        const attackers = Array.from({ length: 24 }, attacker);
        await sleep(h, 2_000); // the attack holds every slot
        const statuses: number[] = [];
        for (let i = 0; i < 25; i++) {
          statuses.push(await get(h));
          await sleep(h, 200);
        }
        stop = true;
        await Promise.all(attackers);
        return statuses;
      })(),
      120_000,
    );
    const ok = r.filter((s) => s === 200).length;
    assert.is(ok, 25, `normal client: ${ok}/25`);
  } finally {
    await h.stop();
  }
  const s = await h.stats;
  assert.ok(s.evicted >= 25, `evicted ${s.evicted}`);
  assert.ok(attackerConnects > 24, "the attackers did reconnect");
});

test("HttpAdmission: age order, busy connections are never victims, waiting() re-queues, per-client caps leave other clients alone, bad limits throw", () => {
  const log: string[] = [];
  const conn = (client: string, name: string) => ({ client, evict: () => log.push(name) });
  const adm = new HttpAdmission({ maxConnections: 4, maxPerClient: 2 });
  const a1 = conn("a", "a1");
  const a2 = conn("a", "a2");
  const b1 = conn("b", "b1");
  const c1 = conn("c", "c1");
  assert.is(adm.admit(a1), "admitted");
  assert.is(adm.admit(b1), "admitted");
  assert.is(adm.admit(a2), "admitted");
  // a's cap: a1 waited longest of a's.
  assert.is(adm.admit(conn("a", "a3")), "evicted_per_client");
  assert.equal(log, ["a1"]);
  assert.is(adm.size, 3);
  // a2 becomes busy; b1 answered a request and waits again (now the youngest).
  adm.busy(a2);
  adm.busy(b1);
  adm.waiting(b1);
  assert.is(adm.admit(c1), "admitted");
  assert.is(adm.size, 4);
  // Global cap: the longest waiter is a3 (b1 re-queued after it, a2 busy).
  assert.is(adm.admit(conn("d", "d1")), "evicted");
  assert.equal(log, ["a1", "a3"]);
  // b's cap is not reached by other clients' connections.
  assert.is(adm.waitingCount, 3); // b1, c1, d1
  adm.busy(c1);
  adm.busy(b1);
  assert.is(adm.admit(conn("e", "e1")), "evicted"); // d1, the only waiter
  assert.is(adm.waitingCount, 1);
  // Unknown connections: harmless.
  adm.busy(conn("z", "z"));
  adm.waiting(conn("z", "z"));
  adm.release(conn("z", "z"));
  assert.is(adm.size, 4);
  adm.release(a2);
  adm.release(a2); // idempotent
  assert.is(adm.size, 3);
  assert.is(adm.admit(conn("a", "a4")), "admitted");
  assert.is(adm.admit(conn("a", "a5")), "evicted"); // global cap again: e1 waited longest
  assert.equal(log, ["a1", "a3", "d1", "e1"]);
  // a has a4 (waiting) and a5 (waiting): a third evicts a4, both caps respected.
  assert.is(adm.admit(conn("a", "a6")), "evicted_per_client");
  assert.equal(log.at(-1), "a4");
  assert.equal(adm.stats, { refused: 0, refusedPerClient: 0, evicted: 3, evictedPerClient: 2 });
  // All busy: refused, per client and globally.
  const full = new HttpAdmission({ maxConnections: 2, maxPerClient: 1 });
  const x = conn("x", "x");
  const y = conn("y", "y");
  full.admit(x);
  full.busy(x);
  assert.is(full.admit(conn("x", "x2")), "refused_per_client");
  full.admit(y);
  full.busy(y);
  assert.is(full.admit(conn("z", "z")), "refused");
  assert.equal(full.stats, { refused: 1, refusedPerClient: 1, evicted: 0, evictedPerClient: 0 });
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => new HttpAdmission({ maxConnections: bad, maxPerClient: 1 }), RangeError);
    assert.throws(() => new HttpAdmission({ maxConnections: 1, maxPerClient: bad }), RangeError);
  }
});
