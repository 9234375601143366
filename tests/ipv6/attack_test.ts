/**
 * Attacks on the IPv6 layer, counted and bounded (§8 rows 9, 17 and 18 in
 * tests/tcp/TRACEABILITY.md §6; issue 12): overlapping and tiny fragments, fragment-train floods,
 * neighbour cache exhaustion with 50,000 random targets, a router
 * advertisement flood, and hop-by-hop option floods. After each the stack
 * still answers a ping and, once the timers have run, the arena is back at
 * its baseline. All on virtual time with seeded randomness.
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { settle } from "../_util/sim.ts";
import { pattern } from "../_util/frames.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { formatIpv6, parseIpv6Address } from "../../src/wire/addr6.ts";
import { emitNeighborSolicit, emitRouterAdvert } from "../../src/wire/ndp.ts";
import { A6, B6, inject6, ip6Frame, MAC_B6, ndMessage, type Pair6, pair6 } from "./_helpers.ts";

const a6 = parseIpv6Address;

/** A random address in 2001:db8::/64 (or fe80::/64). */
function randomAddr(rng: SeededRandom, prefix = "2001:db8::"): Uint8Array {
  const a = a6(prefix);
  rng.fill(a.subarray(8));
  return a;
}

/** The stack still answers, and after `settleMs` of quiet the arena is at `baseline`. */
async function stillFine(p: Pair6, baseline: number, settleMs: number): Promise<void> {
  const r = await settle(p.clock, p.b.ping(A6));
  assert.is(r.from, A6);
  assert.ok(r.dataMatches);
  p.clock.advance(settleMs);
  assert.is(
    p.arena.inUse,
    baseline,
    `arena back at its baseline (${p.arena.inUse} vs ${baseline})`,
  );
}

function fragment(
  src: Uint8Array,
  id: number,
  offset: number,
  more: boolean,
  data: Uint8Array,
): Uint8Array {
  const fh = [
    0,
    0,
    (offset >> 8) & 0xff,
    (offset & 0xf8) | (more ? 1 : 0),
    id >>> 24,
    (id >>> 16) & 255,
    (id >>> 8) & 255,
    id & 255,
  ];
  return ip6Frame({
    src,
    dst: A6,
    ext: [{ type: 44, bytes: fh }],
    nextHeader: 253,
    payload: data,
    checksumAt: null,
  });
}

test("§8 row 9: 20,000 overlapping and tiny fragments from random sources are dropped and counted; memory bounded", async () => {
  const p = pair6({ dad: false });
  const rng = new SeededRandom(testSeed());
  const baseline = p.arena.inUse;
  let peak = 0;
  const sources = Array.from({ length: 16 }, () => randomAddr(rng));
  for (let i = 0; i < 20_000; i++) {
    const src = sources[rng.nextU32() & 15]!;
    const id = rng.nextU32() & 0x3f;
    // Tiny (8-byte) pieces at random offsets, often overlapping one another.
    const off = (rng.nextU32() % 64) * 8;
    inject6(p, fragment(src, id, off, true, pattern(8 + 8 * (rng.nextU32() % 3), i)));
    peak = Math.max(peak, p.a.ipv6.layer.reassembler.memoryBytes);
  }
  const d = p.a.stats.drops;
  assert.ok(d.get("ipv6.frag_overlap") + d.get("ipv6.frag_duplicate") > 0);
  assert.ok(peak <= 4 * 1024 * 1024, `reassembly memory peaked at ${peak}`);
  assert.ok(p.a.ipv6.layer.reassembler.queues <= 1024);
  await stillFine(p, baseline, 120_000);
  assert.is(p.a.ipv6.layer.reassembler.queues, 0);
});

test("§8 row 9: a flood of 5,000 incomplete fragment trains stays within the queue and memory caps", async () => {
  const p = pair6({ dad: false });
  const rng = new SeededRandom(testSeed() + 1);
  const baseline = p.arena.inUse;
  for (let i = 0; i < 5000; i++) {
    const src = randomAddr(rng);
    inject6(p, fragment(src, i, 0, true, pattern(1232, i)));
    inject6(p, fragment(src, i, 2464, true, pattern(1232, i))); // never completed
  }
  assert.ok(p.a.ipv6.layer.reassembler.queues <= 1024);
  assert.ok(p.a.ipv6.layer.reassembler.memoryBytes <= 4 * 1024 * 1024);
  assert.ok(
    p.a.stats.drops.get("ipv6.frag_queue_limit") + p.a.stats.drops.get("ipv6.frag_memory") > 0,
  );
  // The survivors time out after 60 s; Time Exceeded goes to each spoofed
  // source, whose resolution then fails a few seconds later.
  await stillFine(p, baseline, 120_000);
});

test("§8 row 17: 50,000 random targets and 50,000 spoofed solicitations cannot grow the neighbour cache past its bound", async () => {
  const p = pair6({ dad: false });
  const rng = new SeededRandom(testSeed() + 2);
  const baseline = p.arena.inUse;
  const max = p.a.ipv6.ndisc.maxEntries;
  // Our own sends towards 50,000 on-link addresses nobody has.
  for (let i = 0; i < 50_000; i++) {
    const skb = p.a.allocator.alloc(16)!;
    skb.append(pattern(16));
    p.a.ipv6.layer.output(skb, randomAddr(rng), 0, { nextHeader: 253 });
    if (i % 1000 === 0) p.clock.advance(100);
  }
  assert.ok(p.a.ipv6.ndisc.size <= max, `${p.a.ipv6.ndisc.size} > ${max}`);
  // Solicitations for our address from 50,000 spoofed sources, each with a link-layer address.
  const ns = ndMessage((b, at) => emitNeighborSolicit(a6(A6), 0, MAC_B6, null, b, at));
  for (let i = 0; i < 50_000; i++) {
    inject6(
      p,
      ip6Frame({
        src: randomAddr(rng),
        dst: "ff02::1:ff00:1",
        hopLimit: 255,
        nextHeader: 58,
        payload: ns,
      }),
    );
    if (i % 1000 === 0) p.clock.advance(100);
  }
  assert.ok(p.a.ipv6.ndisc.size <= max);
  assert.ok(p.a.stats.ndisc.tableFull > 0);
  await stillFine(p, baseline, 120_000);
});

test("§8: a flood of 10,000 router advertisements from random routers with random prefixes is bounded", async () => {
  const p = pair6({ dad: false, slaac: true });
  const rng = new SeededRandom(testSeed() + 3);
  const baseline0 = p.arena.inUse;
  for (let i = 0; i < 10_000; i++) {
    const pfx = randomAddr(rng);
    pfx.fill(0, 8);
    rng.fill(pfx.subarray(2, 8));
    const m = ndMessage((b, at) =>
      emitRouterAdvert(
        {
          routerLifetime: 1800,
          sourceLinkAddress: 0x020000000000 + (i & 0xffff),
          prefixes: [{
            prefix: pfx,
            prefixLength: 64,
            onLink: true,
            autonomous: true,
            validLifetime: 600,
            preferredLifetime: 300,
          }],
        },
        b,
        at,
      )
    );
    inject6(
      p,
      ip6Frame({
        src: formatIpv6(randomAddr(rng, "fe80::")),
        dst: "ff02::1",
        hopLimit: 255,
        nextHeader: 58,
        payload: m,
      }),
    );
  }
  const dev = p.a.ipv6.devices.get(p.ifA)!;
  assert.ok(dev.addrs.filter((a) => a.origin === "slaac").length <= 16);
  assert.ok(p.a.ipv6.routes.routes.filter((r) => r.origin === "ra-default").length <= 8);
  assert.ok(p.a.ipv6.routes.routes.filter((r) => r.origin === "ra-prefix").length <= 16);
  assert.ok(p.a.ipv6.ndisc.size <= p.a.ipv6.ndisc.maxEntries);
  // The flood's addresses and routes age out; B still reaches A's static address.
  await stillFine(p, baseline0, 10_000);
  p.clock.advance(1800_000);
  assert.is(dev.addrs.filter((a) => a.origin === "slaac").length, 0);
  assert.is(p.a.ipv6.routes.routes.filter((r) => r.origin === "ra-default").length, 0);
});

test("§8: hop-by-hop option floods (many options, long padding, unknown options) are dropped at bounded cost", async () => {
  const p = pair6({ dad: false });
  const baseline = p.arena.inUse;
  const rng = new SeededRandom(testSeed() + 4);
  let sent = 0;
  for (let i = 0; i < 10_000; i++) {
    // A 1,024-byte hop-by-hop header of one of three kinds.
    const body = new Uint8Array(1024);
    body[1] = 1024 / 8 - 1;
    const kind = i % 3;
    for (let k = 2; k < 1024;) {
      if (kind === 0) {
        body[k] = 0x1e; // skippable, empty: 500 of them
        body[k + 1] = 0;
        k += 2;
      } else if (kind === 1) {
        body[k] = 0; // Pad1 × 1022
        k++;
      } else {
        body[k] = 0x3e + (rng.nextU32() & 0xc0); // random action bits
        body[k + 1] = 4;
        k += 6;
      }
    }
    inject6(
      p,
      ip6Frame({
        src: B6,
        dst: A6,
        ext: [{ type: 0, bytes: body.subarray(0, 1024) }],
        nextHeader: 59,
        payload: new Uint8Array(0),
      }),
    );
    sent++;
  }
  const d = p.a.stats.drops;
  const counted = d.get("ipv6.too_many_options") + d.get("ipv6.bad_padding") +
    d.get("ipv6.unknown_option") +
    d.get("ipv6.bad_option") + d.get("ipv6.no_next_header");
  assert.is(counted, sent, "every packet dropped and counted");
  assert.ok(d.get("ipv6.too_many_options") >= 3000);
  assert.ok(d.get("ipv6.bad_padding") >= 3000);
  assert.ok(p.a.stats.icmp6.outRateLimited > 0, "Parameter Problems are rate limited");
  await stillFine(p, baseline, 5000);
});
