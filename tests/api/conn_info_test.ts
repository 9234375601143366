/**
 * `conn.info()` / `getsockopt(TCP_INFO)` (Linux `struct tcp_info`) and
 * `TCP_CONGESTION` through the BSD layer, on a lossy 20 ms path: the figures
 * must agree with what the pipe and the stack's own counters say.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { SOL_TCP, TCP_CONGESTION, TCP_INFO } from "../../src/socket/constants.ts";
import { randomBytes } from "../tcp/_helpers.ts";

test("conn.info(): RTT, cwnd, retransmissions, bytes and segments of a lossy transfer match the path and the counters; TCP_INFO through getsockopt is the same record", async () => {
  const p = pair({
    seed: 1301,
    aToB: { delay: 10, loss: 0.02, rate: 50_000_000, queueLimit: 200 },
    bToA: { delay: 10 },
  });
  const listener = p.b.listen({ port: 7 });
  const accepted = listener.accept();
  const client = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 7 }));
  const server = await settle(p.clock, accepted);
  const data = randomBytes(2_000_000, 7);
  const reading = (async () => {
    const buf = new Uint8Array(65536);
    let n = 0;
    for (;;) {
      const r = await server.read(buf);
      if (r === null) return n;
      n += r;
    }
  })();
  const t0 = p.clock.now();
  // Sample the delivery rate while the transfer runs.
  let maxRate = 0;
  let sampling = true;
  const sampler = () => {
    if (!sampling) return;
    maxRate = Math.max(maxRate, client.info().deliveryRate);
    p.clock.setTimer(20, sampler);
  };
  p.clock.setTimer(20, sampler);
  await settle(p.clock, client.write(data));
  // Everything acknowledged before looking.
  await settle(
    p.clock,
    new Promise<void>((resolve) => {
      const poll = () => {
        const i = client.info();
        if (i.unacked === 0 && i.notsentBytes === 0) resolve();
        else p.clock.setTimer(5, poll);
      };
      poll();
    }),
  );
  const elapsed = p.clock.now() - t0;
  sampling = false;
  const i = client.info();
  assert.equal(p.a.sockets.getsockopt(client.fd, SOL_TCP, TCP_INFO), i);
  assert.is(i.state, 1, "ESTABLISHED (Linux numbering)");
  assert.is(i.stateName, "ESTABLISHED");
  assert.is(i.options & 7, 7, "timestamps, SACK, window scale");
  assert.is(i.congestion, "cubic");
  // 10 ms each way plus serialization and queueing at 50 Mbit/s.
  assert.ok(i.minRtt >= 20_000 && i.minRtt < 25_000, `min RTT ${i.minRtt} µs`);
  assert.ok(i.rtt >= i.minRtt && i.rtt < 80_000, `RTT ${i.rtt} µs`);
  assert.ok(i.rto >= 200_000, `RTO ${i.rto} µs (200 ms floor)`);
  assert.is(i.sndMss, 1448);
  assert.is(i.pmtu, 1500);
  assert.is(i.bytesAcked, data.length + 0, "every byte acknowledged");
  assert.ok(
    i.bytesSent >= data.length && i.bytesSent === data.length + i.bytesRetrans,
    "sent = data + retransmitted",
  );
  assert.is(i.totalRetrans, p.a.stats.tcp.retransSegs, "total_retrans = the stack's RetransSegs");
  assert.ok(i.totalRetrans > 0, "2% loss: something was retransmitted");
  assert.ok(i.dataSegsOut >= Math.ceil(data.length / 1448) && i.segsOut >= i.dataSegsOut);
  assert.ok(i.segsIn > 0 && i.dataSegsIn === 0, "the client received ACKs only");
  assert.ok(
    i.sndCwnd >= 2 && i.sndSsthresh < 0x7fffffff,
    `cwnd ${i.sndCwnd}, ssthresh ${i.sndSsthresh} (loss seen)`,
  );
  // Delivery rate, as sampled during the transfer: never above the
  // bottleneck, and its best sample at least the average goodput.
  const goodput = data.length * 1000 / elapsed;
  assert.ok(maxRate <= 50_000_000 / 8 * 1.05, `delivery rate ${maxRate} B/s ≤ 50 Mbit/s`);
  assert.ok(maxRate >= goodput, `best delivery rate ${maxRate} B/s vs goodput ${goodput} B/s`);
  assert.ok(i.deliveryRate > 0);
  assert.ok(i.busyTime > 0 && i.busyTime <= elapsed * 1000 + 1000, `busy ${i.busyTime} µs`);
  assert.ok(i.lastAckRecv >= 0 && i.lastDataSent >= i.lastAckRecv);
  client.closeWrite();
  assert.is(await settle(p.clock, reading), data.length);
  const s = server.info();
  assert.is(s.bytesReceived, data.length);
  assert.ok(s.dataSegsIn >= Math.ceil(data.length / 1448));
  assert.is(s.stateName, "CLOSE-WAIT");
  client.close();
  server.close();
  listener.close();
  await p.close();
});

test("TCP_CONGESTION: getsockopt names the algorithm, setsockopt switches it ('reno'), an unknown name is refused", async () => {
  const p = pair({ seed: 1302, impair: { delay: 1 } });
  const listener = p.b.listen({ port: 7 });
  const accepted = listener.accept();
  const client = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 7 }));
  const server = await settle(p.clock, accepted);
  assert.is(p.a.sockets.getsockopt(client.fd, SOL_TCP, TCP_CONGESTION), "cubic");
  p.a.sockets.setsockopt(client.fd, SOL_TCP, TCP_CONGESTION, "reno");
  assert.is(p.a.sockets.getsockopt(client.fd, SOL_TCP, TCP_CONGESTION), "reno");
  assert.is(client.info().congestion, "reno");
  assert.throws(
    () => p.a.sockets.setsockopt(client.fd, SOL_TCP, TCP_CONGESTION, "bbr"),
    /ENOENT|no such/i,
  );
  client.close();
  server.close();
  listener.close();
  await p.close();
});
