/**
 * Stateful fuzzing (§8 rows 15/19 in TRACEABILITY.md §6): random
 * segments — flags, sequence and acknowledgment numbers near and far from
 * the window, options (SACK blocks, timestamps, window scale, MSS), payloads
 * — thrown at a listener and at live connections in every state. No
 * exception may escape, the connections must still deliver their data
 * intact, and the arena must return to its baseline.
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { pair } from "../_util/sim.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { TcpState } from "../../src/tcp/state.ts";
import type { TcpSock } from "../../src/tcp/sock.ts";
import { ADDR_A, ADDR_B, connectPair, exchange, randomBytes, sha256 } from "./_helpers.ts";
import { emitTcp } from "../../src/wire/tcp.ts";
import { NO_TCP_OPTIONS, type TcpOptions } from "../../src/wire/tcp_options.ts";
import type { Ipv4Repr } from "../../src/wire/ipv4.ts";
import type { Iface } from "../../src/ipv4/iface.ts";

type Rng = SeededRandom;

function pick<T>(r: Rng, xs: readonly T[]): T {
  return xs[r.nextU32() % xs.length]!;
}

/** A sequence number near `base` (in window, just outside, far away). */
function near(r: Rng, base: number): number {
  const k = r.nextU32() % 6;
  if (k === 0) return r.nextU32();
  const d = [0, 1, -1, 1000, -70_000, 300_000][k]!;
  return (base + d + (r.nextU32() % 3) - 1) >>> 0;
}

function randomOptions(r: Rng): TcpOptions {
  const o: { -readonly [K in keyof TcpOptions]: TcpOptions[K] } = { ...NO_TCP_OPTIONS };
  if (r.nextU32() % 3 === 0) o.mss = r.nextU32() % 70_000 & 0xffff;
  if (r.nextU32() % 3 === 0) o.windowScale = r.nextU32() % 20;
  if (r.nextU32() % 3 === 0) o.sackPermitted = true;
  if (r.nextU32() % 2 === 0) {
    o.tsVal = r.nextU32();
    o.tsEcr = r.nextU32();
  }
  if (r.nextU32() % 4 === 0) {
    const n = 1 + (r.nextU32() % (o.tsVal !== null ? 2 : 3));
    const b: number[] = [];
    for (let i = 0; i < 2 * n; i++) b.push(r.nextU32());
    o.sackBlocks = b;
  }
  return o;
}

/** Inject one random segment from `src:sport` to B:`dport`, aimed at `sk` when given. */
function fuzzOne(
  p: ReturnType<typeof pair>,
  r: Rng,
  sport: number,
  dport: number,
  sk: TcpSock | null,
): void {
  const len = pick(r, [0, 0, 0, 1, 10, 536, 1460]);
  const skb = p.b.allocator.alloc(len)!;
  const at0 = skb.put(len);
  for (let i = 0; i < len; i++) p.arena.u8[at0 + i] = r.nextU32() & 255;
  let options = randomOptions(r);
  let optLen = 0;
  {
    // Keep within 40 bytes of options.
    const { mss, tsVal, sackPermitted, windowScale, sackBlocks } = options;
    optLen = (mss !== null ? 4 : 0) + (tsVal !== null ? 12 : sackPermitted ? 4 : 0) +
      (windowScale !== null ? 4 : 0) + (sackBlocks !== null ? 4 + 4 * sackBlocks.length : 0);
    if (optLen > 40) {
      options = { ...options, sackBlocks: null };
      optLen -= 4 + 4 * sackBlocks!.length;
    }
  }
  const at = skb.push(20 + optLen);
  const seq = sk ? near(r, sk.tcb.rcv.nxt) : r.nextU32();
  const ack = sk ? near(r, sk.tcb.snd.nxt) : r.nextU32();
  const flags = r.nextU32() % 4 === 0
    ? r.nextU32() & 0x3f
    : pick(r, [0x10, 0x18, 0x11, 0x04, 0x14, 0x02, 0x12, 0x01, 0x00, 0x3f]);
  emitTcp(
    {
      srcPort: sport,
      dstPort: dport,
      seq,
      ack,
      flags,
      window: r.nextU32() & 0xffff,
      urgentPointer: r.nextU32() & 0xffff,
      options,
      payloadLength: len,
    },
    p.arena.u8,
    at,
    { src: ADDR_A, dst: ADDR_B },
  );
  const ip = { src: ADDR_A, dst: ADDR_B, protocol: 6 } as unknown as Ipv4Repr;
  p.b.tcp.rcv(skb, ip, undefined as unknown as Iface);
}

test("fuzz (§8 rows 15/19): random segments into a listener and live connections never throw, never leak", async () => {
  const seed = testSeed();
  const r = new SeededRandom(seed);
  for (let round = 0; round < 8; round++) {
    const p = pair({ seed: seed + round, impair: { delay: 2, loss: 0.01 } });
    const { listener, client, server } = connectPair(p);
    // Garbage at the listener port and at closed ports.
    for (let i = 0; i < 300; i++) {
      fuzzOne(p, r, 1000 + (r.nextU32() % 50), pick(r, [8080, 9]), null);
    }
    // Aimed at the live connection's 4-tuple (blind-injection class).
    for (let i = 0; i < 400; i++) {
      if (server.state === TcpState.CLOSED) break;
      fuzzOne(p, r, client.lport, 8080, server);
      if (i % 50 === 0) p.clock.advance(10);
    }
    // Whatever state things are in now, let them settle and then tidy up.
    p.clock.advance(1000);
    for (let s = listener.accept(); s !== null; s = listener.accept()) s.abort();
    client.abort();
    server.abort();
    listener.close();
    p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 300_000);
    await p.close(); // arena back to zero
  }
});

test("fuzz: a connection survives blind out-of-window injection (RFC 5961) and still delivers intact data", async () => {
  const r = new SeededRandom(testSeed() + 99);
  const p = pair({ seed: 3, impair: { delay: 2 } });
  const { listener, client, server } = connectPair(p);
  // Off-path attacker: guesses sequence numbers far from the window.
  for (let i = 0; i < 2000; i++) {
    const skb = p.b.allocator.alloc(4)!;
    skb.put(4);
    const at = skb.push(20);
    const flags = pick(r, [0x04, 0x02, 0x10, 0x18, 0x14]);
    emitTcp(
      {
        srcPort: client.lport,
        dstPort: 8080,
        seq: (server.tcb.rcv.nxt + 0x40000000 + (r.nextU32() % 0x7fffffff)) >>> 0,
        ack: r.nextU32(),
        flags,
        window: 65535,
        urgentPointer: 0,
        options: NO_TCP_OPTIONS,
        payloadLength: flags & 0x08 ? 4 : 0,
      },
      p.arena.u8,
      at,
      { src: ADDR_A, dst: ADDR_B },
    );
    if (!(flags & 0x08)) skb.tail -= 4;
    p.b.tcp.rcv(skb, { src: ADDR_A, dst: ADDR_B } as never, undefined as never);
  }
  assert.is(server.state, TcpState.ESTABLISHED);
  const dx = randomBytes(300_000, 5);
  const dy = randomBytes(200_000, 6);
  const x = exchange(p, client, server, dx, dy);
  assert.is(await sha256(x.atY), await sha256(dx));
  assert.is(await sha256(x.atX), await sha256(dy));
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 300_000);
  await p.close();
});
