/**
 * What users see: two netwasm stacks in one process on a real clock,
 * through the public API (`Stack`, `createPipe`, `connect` / `listen`,
 * `Conn.read` / `write`), side by side with Deno's own TCP on 127.0.0.1 in
 * the same run. Medians of `reps` runs; ratios are netwasm ÷ native for
 * rates and native ÷ netwasm for times, so > 1 means netwasm is better.
 *
 * @module
 */
import v8 from "node:v8";
import { createPipe } from "../../src/link/pipe.ts";
import { Arena } from "../../src/skb/arena.ts";
import { RealClock } from "../../src/core/clock.ts";
import { Stack, type StackOptions } from "../../src/api/stack.ts";
import type { Conn } from "../../src/api/conn.ts";
import { type BenchModule, type BenchReport, type BenchRow, table } from "./_harness.ts";
import { pair } from "../_util/sim.ts";
import { connectPair, exchange, randomBytes } from "../tcp/_helpers.ts";

/** The minimal connection shape both netwasm's `Conn` and `Deno.TcpConn` have. */
export interface ByteConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(on?: boolean): void;
}

/** A place to open connections: netwasm's two stacks, or the kernel. */
export interface Net {
  readonly name: string;
  /** Start a listener; returns its port and an accept function. */
  listen(port: number): { accept(): Promise<ByteConn>; close(): void };
  connect(port: number): Promise<ByteConn>;
  close(): Promise<void>;
}

/** Two stacks joined by an unimpaired pipe of `mtu`, on a real clock. */
export function netwasmNet(mtu: number, extra: Partial<StackOptions> = {}): Net & {
  a: Stack;
  b: Stack;
  arena: Arena;
} {
  const clock = new RealClock();
  const arena = new Arena();
  const a = new Stack({ ...extra, clock, arena });
  const b = new Stack({ ...extra, clock, arena });
  const [da, db] = createPipe({ allocator: a.allocator, clock, seed: 1, mtu });
  a.addInterface(da, { address: "192.0.2.1/24" });
  b.addInterface(db, { address: "192.0.2.2/24" });
  return {
    name: `netwasm (MTU ${mtu})`,
    a,
    b,
    arena,
    listen(port) {
      const l = b.listen({ port, hostname: "192.0.2.2" });
      const it = l[Symbol.asyncIterator]();
      return {
        accept: async () => (await it.next()).value as Conn,
        close: () => l.close(),
      };
    },
    connect: (port) => a.connect({ hostname: "192.0.2.2", port }),
    async close() {
      await a.close();
      await b.close();
      clock.close();
    },
  };
}

/** Deno's TCP over 127.0.0.1. */
export function nativeNet(): Net {
  return {
    name: "Deno native",
    listen(port) {
      const l = Deno.listen({ hostname: "127.0.0.1", port });
      return { accept: () => l.accept(), close: () => l.close() };
    },
    connect: (port) => Deno.connect({ hostname: "127.0.0.1", port }),
    close: () => Promise.resolve(),
  };
}

async function readFull(c: ByteConn, buf: Uint8Array): Promise<boolean> {
  let got = 0;
  while (got < buf.length) {
    const n = await c.read(buf.subarray(got));
    if (n === null) return false;
    got += n;
  }
  return true;
}

/** Mean µs per 64-byte request/response over `iterations` (after a warm-up). */
export async function roundTrip(net: Net, port: number, iterations: number): Promise<number> {
  const l = net.listen(port);
  const accepted = l.accept();
  const c = await net.connect(port);
  const s = await accepted;
  c.setNoDelay(true);
  s.setNoDelay(true);
  const echo = (async () => {
    const buf = new Uint8Array(64);
    while (await readFull(s, buf)) await s.write(buf);
  })();
  const msg = new Uint8Array(64).fill(7);
  const back = new Uint8Array(64);
  const once = async () => {
    await c.write(msg);
    // Usually one read; a short one is completed (the same code for every Net).
    let got = await c.read(back);
    while (got !== null && got < back.length) {
      const n = await c.read(back.subarray(got));
      got = n === null ? null : got + n;
    }
    if (got === null) throw new Error("echo ended early");
  };
  for (let i = 0; i < iterations / 10; i++) await once();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await once();
  const dt = performance.now() - t0;
  await c.closeWrite();
  await echo;
  c.close();
  s.close();
  l.close();
  return (dt * 1000) / iterations;
}

/** Sequential connect + close per second. */
export async function connectRate(net: Net, port: number, count: number): Promise<number> {
  const l = net.listen(port);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const accepted = l.accept();
    const c = await net.connect(port);
    const s = await accepted;
    c.close();
    s.close();
  }
  const dt = performance.now() - t0;
  l.close();
  return count / (dt / 1000);
}

/** Gbit/s moving `bytes` one way (64 KiB writes, reads into 64 KiB). */
export async function bulk(net: Net, port: number, bytes: number): Promise<number> {
  const l = net.listen(port);
  const accepted = l.accept();
  const c = await net.connect(port);
  const s = await accepted;
  const chunk = new Uint8Array(65536);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 255;
  const t0 = performance.now();
  const reading = (async () => {
    const buf = new Uint8Array(65536);
    let got = 0;
    for (;;) {
      const n = await s.read(buf);
      if (n === null) return got;
      got += n;
    }
  })();
  for (let sent = 0; sent < bytes;) {
    const n = Math.min(chunk.length, bytes - sent);
    let off = 0;
    while (off < n) off += await c.write(chunk.subarray(off, n));
    sent += n;
  }
  await c.closeWrite();
  const got = await reading;
  const dt = performance.now() - t0;
  c.close();
  s.close();
  l.close();
  if (got !== bytes) throw new Error(`${net.name}: got ${got} of ${bytes} bytes`);
  return (bytes * 8) / (dt / 1000) / 1e9;
}

/** `n` connections opened at once (a `Promise.all` of connects, accepted in a loop): ms, and both ends. */
export async function openMany(
  net: ReturnType<typeof netwasmNet>,
  port: number,
  n: number,
): Promise<{ ms: number; conns: Conn[]; accepted: Conn[]; listener: { close(): void } }> {
  const l = net.b.listen({ port, hostname: "192.0.2.2", tcpBacklog: n });
  const t0 = performance.now();
  const accepted: Conn[] = [];
  const accepting = (async () => {
    for (let i = 0; i < n; i++) accepted.push(await l.accept());
  })();
  const conns = await Promise.all(
    Array.from({ length: n }, () => net.a.connect({ hostname: "192.0.2.2", port })),
  );
  await accepting;
  return { ms: performance.now() - t0, conns, accepted, listener: l };
}

/** Force a full GC when the process runs with `--v8-flags=--expose-gc` (the bench task does). */
function gc(): boolean {
  const f = (globalThis as { gc?: () => void }).gc;
  if (f === undefined) return false;
  f();
  f();
  return true;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Run `f` `reps` times, alternating with `g`; medians of both. */
async function paired(
  reps: number,
  f: () => Promise<number>,
  g: () => Promise<number>,
): Promise<[number, number]> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < reps; i++) {
    a.push(await f());
    b.push(await g());
  }
  return [median(a), median(b)];
}

/** Bytes V8 has allocated so far (`total_allocated_bytes`, missing from the node:v8 types). */
function allocatedBytes(): number {
  return (v8.getHeapStatistics() as unknown as { total_allocated_bytes: number })
    .total_allocated_bytes;
}

/** Bulk through Conn measuring heap allocated and heap kept per TCP segment. */
async function heapPerSegment(
  bytes: number,
): Promise<{ allocated: number; growth: number; segs: number; gbps: number }> {
  const nw = netwasmNet(1500);
  await bulk(nw, 29000, 32 << 20); // warm: the JIT and every pool at steady state
  const segs0 = nw.a.stats.tcp.outSegs + nw.b.stats.tcp.outSegs;
  gc();
  const used0 = v8.getHeapStatistics().used_heap_size;
  const a0 = allocatedBytes();
  const g = await bulk(nw, 29001, bytes);
  const a1 = allocatedBytes();
  gc();
  const used1 = v8.getHeapStatistics().used_heap_size;
  const segs = nw.a.stats.tcp.outSegs + nw.b.stats.tcp.outSegs - segs0;
  await nw.close();
  return { allocated: (a1 - a0) / segs, growth: (used1 - used0) / segs, segs, gbps: g };
}

/** Goodput on virtual time over a lossy pipe: Mbit/s of simulated time. */
function lossyGoodput(
  bytes: number,
  loss: number,
  oneWayMs: number,
): { mbps: number; bound: number } {
  const p = pair({ seed: 9, mtu: 1500, impair: { loss, delay: oneWayMs } });
  const { listener, client, server } = connectPair(p, 8080);
  const t0 = p.clock.now();
  const r = exchange(p, client, server, randomBytes(bytes, 3), new Uint8Array(0), 3_600_000);
  const seconds = (p.clock.now() - t0) / 1000;
  if (r.atY.length !== bytes) throw new Error(`lossy transfer: got ${r.atY.length} of ${bytes}`);
  client.close();
  server.close();
  listener.close();
  const mss = client.tcb.snd.mss;
  // Mathis et al.: MSS/RTT · C/√p with C = √(3/2) ≈ 1.22.
  const bound = (mss * 8) / ((2 * oneWayMs) / 1000) * 1.22 / Math.sqrt(loss) / 1e6;
  void p.close();
  return { mbps: (bytes * 8) / seconds / 1e6, bound };
}

/**
 * What users see, side by side with Deno's native TCP in the same run:
 * round trip, connection rate, bulk at MTU 1500 and 65,536, 10,000
 * connections, 20,000 idle ones, heap per segment, goodput under loss.
 */
export const apiBench: BenchModule = {
  name: "api",
  async run(report?: BenchReport) {
    const rows: BenchRow[] = [];
    const add = (r: BenchRow) => {
      rows.push(r);
      report?.add("api", r);
    };
    let port = 20000 + Math.floor(Math.random() * 5000);
    const nat = nativeNet();
    const nw = netwasmNet(1500);
    // Warm both: JIT tiers and pools. netwasm's round trip reaches its
    // steady state only after some 15,000 round trips (V8 optimises its many
    // small functions over time: 30–42 µs for the first four rounds of 3,000,
    // 11–13 µs from then on, measured), so both sides get 15,000 first.
    for (let i = 0; i < 5; i++) {
      await roundTrip(nw, port++, 3000);
      await roundTrip(nat, port++, 3000);
    }
    await connectRate(nw, port++, 2000);
    await connectRate(nat, port++, 2000);

    const [rrN, rrK] = await paired(
      5,
      () => roundTrip(nw, port++, 3000),
      () => roundTrip(nat, port++, 3000),
    );
    add({
      measure: "64 B request/response round trip (NODELAY)",
      unit: "µs",
      netwasm: rrN,
      native: rrK,
      ratio: rrK / rrN,
      note: "target ≤ 0.5× native",
    });
    const [ccN, ccK] = await paired(
      3,
      () => connectRate(nw, port++, 1000),
      () => connectRate(nat, port++, 1000),
    );
    add({
      measure: "sequential connect + close",
      unit: "conn/s",
      netwasm: ccN,
      native: ccK,
      ratio: ccN / ccK,
      note: "target ≥ 2× native",
    });
    const [b1N, b1K] = await paired(
      3,
      () => bulk(nw, port++, 64 << 20),
      () => bulk(nat, port++, 64 << 20),
    );
    add({
      measure: "bulk 64 MiB one way, MTU 1500",
      unit: "Gbit/s",
      netwasm: b1N,
      native: b1K,
      ratio: b1N / b1K,
      note: "target ≥ 6 and ≥ 0.25× native",
    });
    await nw.close();
    const big = netwasmNet(65536);
    await bulk(big, port++, 16 << 20);
    const [b64N, b64K] = await paired(
      3,
      () => bulk(big, port++, 64 << 20),
      () => bulk(nat, port++, 64 << 20),
    );
    add({
      measure: "bulk 64 MiB one way, MTU 65,536",
      unit: "Gbit/s",
      netwasm: b64N,
      native: b64K,
      ratio: b64N / b64K,
      note: "target ≥ 0.8× native",
    });
    await big.close();

    // 10,000 connections at once.
    {
      const many = netwasmNet(1500, { tcp: { somaxconn: 65535 } });
      await connectRate(many, port++, 200);
      const r = await openMany(many, port++, 10_000);
      add({
        measure: "10,000 connections opened at once",
        unit: "ms",
        netwasm: r.ms,
        note: "target ≤ 1000 ms",
      });
      // Heap is measured on a second batch, in steady state: the first one
      // grew the stacks' bounded caches (each SkbAllocator keeps up to 4,096
      // SkBuff headers: 10,000 handshakes in flight at once fill them, and
      // they stay for the stack's life, not per connection). The first
      // batch's client ends stay in TIME-WAIT meanwhile, in both figures.
      for (const c of r.conns) c.close();
      for (const c of r.accepted) c.close();
      r.listener.close();
      await new Promise((res) => setTimeout(res, 500));
      const hasGc = gc();
      const h0 = Deno.memoryUsage().heapUsed;
      const r2 = await openMany(many, port++, 10_000);
      gc();
      const h1 = Deno.memoryUsage().heapUsed;
      if (r2.conns.length + r2.accepted.length !== 20_000) throw new Error("openMany");
      if (hasGc) {
        add({
          measure: "heap per connection end (TCB + socket + Conn), 10,000 open",
          unit: "KiB",
          netwasm: (h1 - h0) / 1024 / 20_000,
          note: "target ≤ 2 KiB",
        });
      }
      await many.close();
    }

    // 20,000 idle connections: does an idle connection cost anything per segment?
    {
      const empty = netwasmNet(1500);
      const idle = netwasmNet(1500, { tcp: { somaxconn: 65535 } });
      await openMany(idle, port++, 20_000);
      await roundTrip(empty, port++, 1000);
      await roundTrip(idle, port++, 1000);
      const [rrE, rrI] = await paired(
        3,
        () => roundTrip(empty, port++, 3000),
        () => roundTrip(idle, port++, 3000),
      );
      add({
        measure: "round trip with 20,000 idle connections (vs an empty stack)",
        unit: "µs",
        netwasm: rrI,
        ratio: rrE / rrI,
        note: `empty stack ${rrE.toFixed(1)} µs; target within 10 %`,
      });
      const [bE, bI] = await paired(
        3,
        () => bulk(empty, port++, 32 << 20),
        () => bulk(idle, port++, 32 << 20),
      );
      add({
        measure: "bulk with 20,000 idle connections (vs an empty stack)",
        unit: "Gbit/s",
        netwasm: bI,
        ratio: bI / bE,
        note: `empty stack ${bE.toFixed(2)} Gbit/s; target within 10 %`,
      });
      await empty.close();
      await idle.close();
    }

    const h = await heapPerSegment(1 << 30);
    add({
      measure: "heap allocated per TCP segment, 1 GiB bulk",
      unit: "B/segment",
      netwasm: h.allocated,
      note: `${h.segs} segments (both directions), ${h.gbps.toFixed(2)} Gbit/s`,
    });
    add({
      measure: "heap kept per TCP segment (growth after GC), 1 GiB bulk",
      unit: "B/segment",
      netwasm: h.growth,
      note: "target 0",
    });

    const lossy = lossyGoodput(16 << 20, 0.01, 10);
    add({
      measure: "goodput on virtual time, 1 % loss, 20 ms RTT",
      unit: "Mbit/s",
      netwasm: lossy.mbps,
      note: `Mathis bound ${lossy.bound.toFixed(1)} Mbit/s`,
    });

    console.log(
      "netwasm through the public API on a real clock vs Deno's native TCP (127.0.0.1), medians\n",
    );
    const f = (x: number | undefined, unit: string) =>
      x === undefined
        ? ""
        : unit === "conn/s" || unit === "ms"
        ? x.toFixed(0)
        : x < 10
        ? x.toFixed(2)
        : x.toFixed(1);
    console.log(table(
      ["measure", "unit", "netwasm", "native", "ratio", "note"],
      rows.map((
        r,
      ) => [
        r.measure,
        r.unit,
        f(r.netwasm, r.unit),
        f(r.native, r.unit),
        r.ratio === undefined ? "" : r.ratio.toFixed(2) + "x",
        r.note ?? "",
      ]),
    ));
    console.log(
      "\nratio > 1 means netwasm is better (rates: netwasm ÷ native; times: native ÷ netwasm)",
    );
  },
};

if (import.meta.main) await apiBench.run();
