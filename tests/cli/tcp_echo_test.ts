import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { runTcpEchoServer } from "../../src/cli/tcp_echo.ts";
import { pattern, readAll } from "./_http.ts";

test("tcp echo: every byte comes back; the client's FIN (half-close) ends the echo and our FIN follows; 50 connections at once over a lossy link", async () => {
  const p = pair({ seed: 5, impair: { delay: 2, jitter: 1, loss: 0.01, reorder: 0.02 } });
  const stop = new AbortController();
  const lines: string[] = [];
  let listening = "";
  const server = runTcpEchoServer(p.b, {
    port: 7,
    signal: stop.signal,
    write: (l) => lines.push(l),
    onListen: (a) => (listening = `${a.hostname}:${a.port}`),
  });
  try {
    assert.is(listening, "0.0.0.0:7");
    const one = async (i: number) => {
      const data = pattern(1 + ((i * 7919) % 40_000), i + 1);
      const conn = await p.a.connect({ hostname: "192.0.2.2", port: 7 });
      try {
        const reading = readAll(conn);
        await conn.write(data);
        await conn.closeWrite();
        assert.equal(await reading, data, `connection ${i}`);
      } finally {
        conn.close();
      }
      return data.length;
    };
    const sizes = await settle(p.clock, Promise.all(Array.from({ length: 50 }, (_, i) => one(i))));
    stop.abort();
    const stats = await settle(p.clock, server);
    assert.is(stats.connections, 50);
    assert.is(stats.completed, 50);
    assert.is(stats.failed, 0);
    assert.is(stats.bytes, sizes.reduce((a, b) => a + b, 0));
    assert.is(lines.length, 50);
    assert.ok(
      lines.every((l) =>
        /^192\.0\.2\.1:\d+ {2}\d+ bytes echoed in [\d.]+ s, closed after the client's FIN$/.test(l)
      ),
      lines[0],
    );
  } finally {
    stop.abort();
    await settle(p.clock, server).catch(() => {});
    await p.close();
  }
});

test("tcp echo: stopping the server closes open connections (the client sees the end) and resolves; -q prints nothing", async () => {
  const p = pair({ seed: 6 });
  const stop = new AbortController();
  const lines: string[] = [];
  const server = runTcpEchoServer(p.b, {
    port: 7,
    signal: stop.signal,
    quiet: true,
    write: (l) => lines.push(l),
  });
  try {
    const conn = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 7 }));
    await settle(p.clock, conn.write(new Uint8Array([1, 2, 3])));
    const buf = new Uint8Array(8);
    assert.is(await settle(p.clock, conn.read(buf)), 3);
    stop.abort();
    const stats = await settle(p.clock, server);
    assert.is(stats.connections, 1);
    assert.is(stats.failed, 1, "ended by the shutdown, not by the client");
    const end = await settle(p.clock, conn.read(buf).then((n) => n, (e) => e));
    assert.ok(end === null || end instanceof Error, `the client sees the end: ${end}`);
    conn.close();
    assert.equal(lines, []);
  } finally {
    stop.abort();
    await p.close();
  }
});
