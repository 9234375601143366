/**
 * What users see: two netwasm stacks in one process on a real clock,
 * through the public API (`Stack`, `createPipe`, `connect` / `listen`,
 * `Conn.read` / `write`), side by side with Deno's own TCP on 127.0.0.1 in
 * the same run. Medians of `reps` runs; ratios are netwasm ÷ native for
 * rates and native ÷ netwasm for times, so > 1 means netwasm is better.
 *
 * @module
 */
import { createPipe } from "../../src/link/pipe.ts";
import { Arena } from "../../src/skb/arena.ts";
import { RealClock } from "../../src/core/clock.ts";
import { Stack } from "../../src/api/stack.ts";
import type { Conn } from "../../src/api/conn.ts";

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
export function netwasmNet(mtu: number, extra: { maxSockets?: number } = {}): Net & {
  a: Stack;
  b: Stack;
  arena: Arena;
} {
  const clock = new RealClock();
  const arena = new Arena();
  const a = new Stack({ clock, arena, ...extra });
  const b = new Stack({ clock, arena, ...extra });
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

if (import.meta.main) {
  const what = Deno.args[0] ?? "all";
  const nw = netwasmNet(1500);
  const nat = nativeNet();
  let port = 20000 + Math.floor(Math.random() * 10000);
  if (what === "rr" || what === "all") {
    for (let r = 0; r < 3; r++) {
      console.log("rr netwasm µs", (await roundTrip(nw, port++, 2000)).toFixed(1));
      console.log("rr native µs", (await roundTrip(nat, port++, 2000)).toFixed(1));
    }
  }
  if (what === "cc" || what === "all") {
    for (let r = 0; r < 3; r++) {
      console.log("connect/s netwasm", (await connectRate(nw, port++, 300)).toFixed(0));
      console.log("connect/s native", (await connectRate(nat, port++, 300)).toFixed(0));
    }
  }
  if (what === "bulk" || what === "all") {
    for (let r = 0; r < 3; r++) {
      console.log("bulk netwasm Gbit/s", (await bulk(nw, port++, 64 << 20)).toFixed(2));
      console.log("bulk native Gbit/s", (await bulk(nat, port++, 64 << 20)).toFixed(2));
    }
  }
  await nw.close();
}
