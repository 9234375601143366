import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import { randomInt, SeededRandom } from "../../src/core/random.ts";
import { KeyedHash } from "../../src/core/hash.ts";
import { DropCounters, IpStats } from "../../src/core/stats.ts";
import { Arena, DEFAULT_SIZE_CLASSES, MAX_HEADER } from "../../src/skb/arena.ts";
import { Csum, SkbAllocator, type SkBuff } from "../../src/skb/skbuff.ts";
import { emitIpv4, IpProtocol, type Ipv4Repr, parseIpv4 } from "../../src/wire/ipv4.ts";
import { fragmentIpv4 } from "../../src/ipv4/fragment.ts";
import {
  DEFAULT_MAX_FRAGMENTS,
  Reassembler,
  type ReassemblyOptions,
  SWEEP_BATCH,
} from "../../src/ipv4/reassembly.ts";

const SRC = 0xc0000201; // 192.0.2.1
const DST = 0xc0000202; // 192.0.2.2
const OTHER = 0xc6336401; // 198.51.100.1
const T = 30_000;

type Tuning = Partial<Omit<ReassemblyOptions, "clock" | "allocator" | "rng" | "stats" | "drops">>;

interface Env {
  arena: Arena;
  allocator: SkbAllocator;
  clock: VirtualClock;
  stats: IpStats;
  drops: DropCounters;
  rx: Reassembler;
  /** Arguments `onTimeout` was called with: the fragment's bytes, or null. */
  timeouts: (Uint8Array | null)[];
  /** close() the reassembler, then assert every slot and header came back. */
  finish(): void;
}

function env(tuning: Tuning = {}, arena = new Arena()): Env {
  const allocator = new SkbAllocator(arena);
  const clock = new VirtualClock();
  const stats = new IpStats();
  const drops = new DropCounters();
  const timeouts: (Uint8Array | null)[] = [];
  const inUse = arena.inUse;
  const live = allocator.live;
  const rx = new Reassembler({
    clock,
    allocator,
    rng: new SeededRandom(testSeed()),
    stats,
    drops,
    onTimeout: (first) => {
      timeouts.push(first === null ? null : first.bytes().slice());
      first?.free();
    },
    ...tuning,
  });
  return {
    arena,
    allocator,
    clock,
    stats,
    drops,
    rx,
    timeouts,
    finish() {
      rx.close();
      assert.is(rx.queues, 0);
      assert.is(rx.memoryBytes, 0);
      assert.is(clock.pending, 0, "the reassembly timer must be cancelled");
      assert.is(arena.inUse, inUse, "arena slots leaked");
      assert.is(allocator.live, live, "SkBuff headers leaked");
    },
  };
}

/** Payload byte at datagram offset `k` of datagram `id` (so any misplacement shows). */
function pattern(id: number, k: number): number {
  return (k * 7 + id * 13 + (k >>> 8)) & 0xff;
}

interface FragSpec {
  offset: number;
  len: number;
  mf: boolean;
  id?: number;
  src?: number;
  protocol?: number;
  options?: Uint8Array;
}

/** A hand-made fragment carrying bytes [offset, offset+len) of datagram `id`. */
function frag(e: Env, s: FragSpec): SkBuff {
  const optLen = s.options?.length ?? 0;
  const hl = 20 + ((optLen + 3) & ~3);
  const skb = e.allocator.alloc(hl + s.len)!;
  const at = skb.put(hl + s.len);
  const u8 = e.arena.u8;
  const id = s.id ?? 1;
  emitIpv4(
    {
      src: s.src ?? SRC,
      dst: DST,
      tos: 0,
      id,
      dontFragment: false,
      moreFragments: s.mf,
      fragmentOffset: s.offset,
      ttl: 64,
      protocol: s.protocol ?? IpProtocol.UDP,
      payloadLength: s.len,
      ...(s.options ? { options: s.options } : {}),
    },
    u8,
    at,
  );
  for (let k = 0; k < s.len; k++) u8[at + hl + k] = pattern(id, s.offset + k);
  return skb;
}

function parsed(skb: SkBuff): Ipv4Repr {
  const r = parseIpv4(skb.arena.u8, skb.data, skb.len);
  if (typeof r === "string") throw new Error(`does not parse: ${r}`);
  return r;
}

/** Parse (verifying the checksum, as `ip_rcv` would) and add. */
function feed(e: Env, skb: SkBuff): SkBuff | null {
  return e.rx.add(skb, parsed(skb));
}

function add(e: Env, s: FragSpec): SkBuff | null {
  return feed(e, frag(e, s));
}

/** Check a reassembled datagram: header fields and the pattern over `len` payload bytes. */
function assertWhole(whole: SkBuff | null, id: number, len: number): void {
  assert.ok(whole, "expected the datagram to complete");
  const ip = parsed(whole!);
  assert.is(ip.moreFragments, false);
  assert.is(ip.fragmentOffset, 0);
  assert.is(ip.payloadLength, len);
  assert.is(ip.id, id);
  const u8 = whole!.arena.u8;
  for (let k = 0; k < len; k++) {
    if (u8[ip.payloadOffset + k] !== pattern(id, k)) assert.unreachable(`payload byte ${k} wrong`);
  }
  assert.ok(whole!.headroom >= MAX_HEADER, "headroom for a later push");
  whole!.free();
}

// ---------------------------------------------------------------------------
// Round trips

test("I8 property (≥ 200 runs): fragment → shuffle/duplicate → reassemble is byte-identical; drop some → no completion, one timeout with fragment 0 iff it arrived", () => {
  const arena = new Arena();
  const rng = new SeededRandom(testSeed());
  const options = new Uint8Array([131, 7, 4, 198, 51, 100, 1, 7, 7, 4, 0, 0, 0, 0]);
  fc.assert(
    fc.property(
      fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 65000 })),
      fc.oneof(
        fc.integer({ min: 68, max: 600 }),
        fc.integer({ min: 68, max: 1500 }),
        fc.integer({ min: 68, max: 9000 }),
      ),
      fc.record({
        options: fc.boolean(),
        refragment: fc.boolean(), // some pieces cross a second, smaller MTU
        mtu2: fc.integer({ min: 68, max: 1500 }),
        dups: fc.nat(5),
        drop: fc.boolean(),
        protocol: fc.constantFrom(IpProtocol.UDP, IpProtocol.ICMP, 253),
      }),
      (payload, mtu, o) => {
        const e = env({ maxFragmentsPerDatagram: 4096, highThresholdBytes: 64 << 20 }, arena);
        const hl = o.options ? 36 : 20;
        const total = hl + payload;
        if (total > 65535) return;
        const skb = e.allocator.alloc(total)!;
        const at = skb.put(total);
        emitIpv4(
          {
            src: SRC,
            dst: DST,
            tos: 0,
            id: rng.nextU32() & 0xffff,
            dontFragment: false,
            moreFragments: false,
            fragmentOffset: 0,
            ttl: 64,
            protocol: o.protocol,
            payloadLength: payload,
            ...(o.options ? { options } : {}),
          },
          e.arena.u8,
          at,
        );
        rng.fill(e.arena.u8.subarray(at + hl, at + total));
        const original = skb.bytes().slice();
        let pieces: SkBuff[] = [];
        fragmentIpv4(skb, mtu, e.allocator, (f) => pieces.push(f), e.stats);
        if (o.refragment) {
          const again: SkBuff[] = [];
          for (const p of pieces) {
            if (randomInt(rng, 2) === 0) again.push(p);
            else fragmentIpv4(p, Math.min(o.mtu2, mtu), e.allocator, (f) => again.push(f), e.stats);
          }
          pieces = again;
        }
        if (pieces.length === 1) {
          // It fitted: not a fragment, nothing to reassemble.
          assert.equal(pieces[0]!.bytes(), original);
          pieces[0]!.free();
          e.finish();
          return;
        }
        // Shuffle (Fisher–Yates on the seeded stream).
        for (let i = pieces.length - 1; i > 0; i--) {
          const j = randomInt(rng, i + 1);
          [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
        }
        let dropped: SkBuff[] = [];
        if (o.drop) {
          const n = 1 + randomInt(rng, pieces.length - 1); // keep at least one
          dropped = pieces.splice(0, n);
        }
        const zero = pieces.find((p) => parsed(p).fragmentOffset === 0);
        const zeroBytes = zero?.bytes().slice() ?? null;
        // Duplicates go anywhere before the completing (last) fragment.
        const last = pieces.pop()!;
        for (let d = 0; d < o.dups; d++) {
          const src = pieces[randomInt(rng, pieces.length || 1)] ?? last;
          pieces.splice(randomInt(rng, pieces.length + 1), 0, e.allocator.copy(src)!);
        }
        pieces.push(last);
        let whole: SkBuff | null = null;
        for (const p of pieces) {
          const r = feed(e, p);
          if (r !== null) {
            assert.is(whole, null, "completed twice");
            whole = r;
          }
        }
        for (const p of dropped) p.free();
        if (!o.drop) {
          assert.ok(whole, "all fragments arrived: the datagram must complete");
          assert.equal(whole!.bytes(), original);
          whole!.free();
          assert.is(e.rx.queues, 0);
          assert.is(e.stats.reasmOKs, 1);
          assert.is(e.stats.reasmFails, 0);
        } else {
          assert.is(whole, null);
          assert.is(e.rx.queues, 1);
          e.clock.advance(T - 1);
          assert.is(e.timeouts.length, 0);
          e.clock.advance(1);
          assert.is(e.timeouts.length, 1);
          assert.equal(e.timeouts[0], zeroBytes);
          assert.is(e.stats.reasmTimeout, 1);
        }
        assert.is(e.stats.reasmReqds, pieces.length);
        e.finish();
      },
    ),
    { numRuns: 350, seed: testSeed() },
  );
});

test("I8: a 576-byte datagram (EMTU_R) cut into 8-byte fragments reassembles under the default cap", () => {
  const e = env();
  // ⌈556 / 8⌉ = 70 fragments: the default cap is exactly this.
  assert.is(DEFAULT_MAX_FRAGMENTS, 70);
  let whole: SkBuff | null = null;
  for (let off = 552; off >= 0; off -= 8) {
    const len = off === 552 ? 4 : 8;
    whole = add(e, { offset: off, len, mf: off !== 552, id: 9 });
    if (off > 0) assert.is(whole, null);
  }
  assertWhole(whole, 9, 556);
  e.finish();
});

test("reassembly keeps fragment 0's header and options, recomputes length and checksum, marks loopback-verified data", () => {
  const e = env();
  const opts = new Uint8Array([7, 7, 4, 0, 0, 0, 0]); // Record Route: first fragment only
  const a = frag(e, { offset: 0, len: 16, mf: true, options: opts });
  const b = frag(e, { offset: 16, len: 5, mf: false });
  a.ipSummed = b.ipSummed = Csum.Unnecessary;
  assert.is(feed(e, b), null);
  const whole = feed(e, a)!;
  const ip = parsed(whole);
  assert.is(ip.headerLength, 28);
  assert.equal([...e.arena.u8.subarray(ip.optionsOffset, ip.optionsOffset + 7)], [...opts]);
  assert.is(whole.ipSummed, Csum.Unnecessary);
  assert.is(whole.networkHeader, whole.data);
  assert.is(whole.transportHeader, whole.data + 28);
  assertWhole(whole, 1, 21);
  e.finish();
});

// ---------------------------------------------------------------------------
// §8 row 9: overlaps, duplicates, sizes

test("§8-9 teardrop: a second fragment overlapping the first by 8 drops the whole datagram", () => {
  const e = env();
  assert.is(add(e, { offset: 0, len: 24, mf: true }), null);
  assert.is(add(e, { offset: 16, len: 20, mf: false }), null);
  assert.is(e.rx.queues, 0);
  assert.is(e.drops.get("ipv4.frag_overlap"), 2);
  assert.is(e.stats.reasmFails, 1);
  // Nothing is blacklisted: the same id reassembles when sent properly.
  add(e, { offset: 0, len: 24, mf: true });
  assertWhole(add(e, { offset: 24, len: 12, mf: false }), 1, 36);
  e.finish();
});

test("§8-9 overlap: a fragment fully inside another (either arrival order) drops the datagram", () => {
  for (const order of [0, 1]) {
    const e = env();
    const outer = { offset: 0, len: 48, mf: true };
    const inner = { offset: 8, len: 16, mf: true };
    add(e, order === 0 ? outer : inner);
    assert.is(add(e, order === 0 ? inner : outer), null);
    assert.is(e.rx.queues, 0);
    assert.is(e.drops.get("ipv4.frag_overlap"), 2);
    e.finish();
  }
});

test("§8-9 RFC 1858: an offset-8 fragment rewriting the TCP header is an overlap", () => {
  const e = env();
  add(e, { offset: 8, len: 16, mf: false, protocol: IpProtocol.TCP });
  assert.is(add(e, { offset: 0, len: 24, mf: true, protocol: IpProtocol.TCP }), null);
  assert.is(e.drops.get("ipv4.frag_overlap"), 2);
  e.finish();
});

test("§8-9 RFC 5722: an exact duplicate is ignored, the datagram still completes", () => {
  const e = env();
  add(e, { offset: 0, len: 16, mf: true });
  add(e, { offset: 0, len: 16, mf: true });
  add(e, { offset: 32, len: 3, mf: false });
  add(e, { offset: 32, len: 3, mf: false });
  assertWhole(add(e, { offset: 16, len: 16, mf: true }), 1, 35);
  assert.is(e.drops.get("ipv4.frag_duplicate"), 2);
  assert.is(e.stats.reasmFails, 0);
  assert.is(e.stats.reasmReqds, 5);
  assert.is(e.stats.reasmOKs, 1);
  e.finish();
});

test("§8-9 ping of death: offset + length beyond 65,535 drops the fragment and its datagram", () => {
  const e = env();
  add(e, { offset: 0, len: 64, mf: true });
  // parseIpv4 already refuses this; the reassembler must not rely on it.
  const skb = frag(e, { offset: 65504, len: 8, mf: false });
  const ip = { ...parsed(skb), fragmentOffset: 65512 };
  assert.is(e.rx.add(skb, ip), null);
  assert.is(e.rx.queues, 0);
  assert.is(e.drops.get("ipv4.frag_too_big"), 2);
  assert.is(e.stats.reasmFails, 1);
  e.finish();
});

test("§8-9 ping of death: fragment 0's long header pushing the whole past 65,535 is caught at assembly", () => {
  const e = env();
  const opts = new Uint8Array(40).fill(1); // IHL 15
  add(e, { offset: 0, len: 32768, mf: true, options: opts });
  // 20 + 65512 fits, but 60 + 65512 = 65572 does not.
  assert.is(add(e, { offset: 32768, len: 32744, mf: false }), null);
  assert.is(e.drops.get("ipv4.frag_too_big"), 2);
  assert.is(e.rx.queues, 0);
  e.finish();
});

test("§8-9 FragmentSmack: more than maxFragmentsPerDatagram fragments drops the datagram", () => {
  const e = env({ maxFragmentsPerDatagram: 4 });
  for (let i = 0; i < 4; i++) assert.is(add(e, { offset: i * 16, len: 8, mf: true }), null);
  assert.is(e.rx.queues, 1);
  assert.is(add(e, { offset: 64, len: 8, mf: true }), null);
  assert.is(e.rx.queues, 0);
  assert.is(e.drops.get("ipv4.frag_too_many"), 5);
  assert.is(e.stats.reasmFails, 1);
  e.finish();
});

test("§8-9 RFC 3128: a tiny first fragment is dropped (TCP needs its 20-byte header, others 8)", () => {
  const e = env();
  add(e, { offset: 16, len: 8, mf: false, protocol: IpProtocol.TCP });
  assert.is(add(e, { offset: 0, len: 16, mf: true, protocol: IpProtocol.TCP }), null);
  assert.is(e.drops.get("ipv4.frag_tiny_first"), 2, "the datagram goes with it");
  assert.is(e.rx.queues, 0);
  // Alone, with no queue yet: one drop, one failure.
  assert.is(add(e, { offset: 0, len: 8, mf: true, protocol: IpProtocol.TCP, id: 2 }), null);
  assert.is(e.drops.get("ipv4.frag_tiny_first"), 3);
  assert.is(e.stats.reasmFails, 2);
  // 8 bytes are enough for UDP (its whole header) and 24 for TCP.
  add(e, { offset: 0, len: 8, mf: true, id: 3 });
  assertWhole(add(e, { offset: 8, len: 8, mf: false, id: 3 }), 3, 16);
  add(e, { offset: 0, len: 24, mf: true, id: 4, protocol: IpProtocol.TCP });
  assertWhole(add(e, { offset: 24, len: 1, mf: false, id: 4, protocol: IpProtocol.TCP }), 4, 25);
  e.finish();
});

test("RFC 791: a second, different last fragment or data past the end drops the datagram", () => {
  const cases: FragSpec[][] = [
    // Two different last fragments (no overlap between them).
    [{ offset: 16, len: 8, mf: false }, { offset: 32, len: 8, mf: false }],
    // Data beyond the end fixed by the last fragment, and the converse.
    [{ offset: 16, len: 8, mf: false }, { offset: 24, len: 8, mf: true }],
    [{ offset: 32, len: 8, mf: true }, { offset: 16, len: 8, mf: false }],
  ];
  for (const steps of cases) {
    const e = env();
    for (const s of steps) assert.is(add(e, s), null);
    assert.is(e.rx.queues, 0);
    assert.is(e.drops.get("ipv4.frag_inconsistent_end"), steps.length);
    assert.is(e.stats.reasmFails, 1);
    e.finish();
  }
});

test("an empty fragment drops its datagram (Linux ip_frag_queue)", () => {
  const e = env();
  add(e, { offset: 0, len: 8, mf: true });
  assert.is(add(e, { offset: 8, len: 0, mf: true }), null);
  assert.is(e.drops.get("ipv4.frag_empty"), 2);
  assert.is(e.rx.queues, 0);
  e.finish();
});

test("a non-fragment is a caller bug (TypeError), nothing consumed or counted", () => {
  const e = env();
  const skb = frag(e, { offset: 0, len: 8, mf: false });
  assert.throws(() => feed(e, skb), TypeError);
  assert.is(e.stats.reasmReqds, 0);
  skb.free();
  e.finish();
});

test("different protocol, source or id are different datagrams", () => {
  const e = env();
  add(e, { offset: 0, len: 8, mf: true });
  assert.is(add(e, { offset: 8, len: 8, mf: false, protocol: IpProtocol.ICMP }), null);
  assert.is(add(e, { offset: 8, len: 8, mf: false, src: OTHER }), null);
  assert.is(add(e, { offset: 8, len: 8, mf: false, id: 2 }), null);
  assert.is(e.rx.queues, 4);
  assertWhole(add(e, { offset: 8, len: 8, mf: false }), 1, 16);
  e.finish();
});

// ---------------------------------------------------------------------------
// Resource caps

/** Arena classes from 2 KiB up: fragments from a device arrive in frame-sized slots. */
function frameSlots(): Arena {
  return new Arena({ classes: DEFAULT_SIZE_CLASSES.filter((c) => c.size >= 2048) });
}

test("§8-9 memory cap: thousands of tiny fragments from many ids stay under the cap, oldest evicted first", () => {
  const high = 64 * 2048;
  const e = env(
    { highThresholdBytes: high, lowThresholdBytes: 48 * 2048, maxDatagrams: 4096 },
    frameSlots(),
  );
  const N = 4000;
  for (let i = 0; i < N; i++) {
    // 8-byte last fragments in 2 KiB slots: counted by slot, not by payload.
    add(e, { offset: 8, len: 8, mf: false, id: i & 0xffff, src: SRC + (i % 200) });
    assert.ok(e.rx.memoryBytes <= high, `memory ${e.rx.memoryBytes} over the cap`);
  }
  assert.is(e.rx.memoryBytes, e.rx.queues * 2048, "truesize is the slot size");
  assert.ok(e.rx.queues <= 64);
  const evicted = N - e.rx.queues;
  assert.is(e.drops.get("ipv4.frag_memory"), evicted);
  assert.is(e.stats.reasmFails, evicted);
  // The newest datagram is still there; the oldest is gone (its fragment 0 now starts a new queue).
  const newest = N - 1;
  assertWhole(
    add(e, { offset: 0, len: 8, mf: true, id: newest, src: SRC + (newest % 200) }),
    newest,
    16,
  );
  assert.is(add(e, { offset: 0, len: 8, mf: true, id: 0, src: SRC }), null);
  e.finish();
});

test("§8-9 memory cap: a single datagram bigger than the cap is dropped, others untouched", () => {
  const e = env({ highThresholdBytes: 8 * 2048, lowThresholdBytes: 4 * 2048 }, frameSlots());
  add(e, { offset: 8, len: 8, mf: false, id: 100 });
  for (let i = 0; i < 8; i++) add(e, { offset: i * 8, len: 8, mf: true, id: 7 });
  // id 100 was evicted to make room for id 7's 8th fragment: exactly at the cap.
  assert.is(e.drops.get("ipv4.frag_memory"), 1);
  assert.is(e.rx.memoryBytes, 8 * 2048);
  // A 9th cannot fit even with everything else evicted: id 7 goes.
  add(e, { offset: 64, len: 8, mf: true, id: 7 });
  assert.is(e.drops.get("ipv4.frag_memory"), 1 + 9);
  assert.is(e.rx.queues, 0);
  e.finish();
});

test("§8-9 per-source cap: a source only evicts its own oldest datagram", () => {
  const e = env({ maxPerSource: 4 });
  add(e, { offset: 8, len: 8, mf: false, id: 1, src: OTHER });
  for (let id = 1; id <= 6; id++) add(e, { offset: 8, len: 8, mf: false, id });
  assert.is(e.rx.queues, 5);
  assert.is(e.drops.get("ipv4.frag_source_limit"), 2);
  assertWhole(add(e, { offset: 0, len: 8, mf: true, id: 6 }), 6, 16);
  assertWhole(add(e, { offset: 0, len: 8, mf: true, id: 1, src: OTHER }), 1, 16);
  assert.is(add(e, { offset: 0, len: 8, mf: true, id: 1 }), null, "id 1 from SRC was evicted");
  e.finish();
});

test("§8-18 queue cap: at maxDatagrams the oldest queue is evicted", () => {
  const e = env({ maxDatagrams: 8 });
  for (let i = 0; i < 10; i++) add(e, { offset: 8, len: 8, mf: false, id: i, src: SRC + i });
  assert.is(e.rx.queues, 8);
  assert.is(e.drops.get("ipv4.frag_queue_limit"), 2);
  assertWhole(add(e, { offset: 0, len: 8, mf: true, id: 2, src: SRC + 2 }), 2, 16);
  e.finish();
});

test("arena exhaustion while assembling drops the datagram, never throws", () => {
  const arena = new Arena({ classes: [{ size: 2048, max: 8 }] });
  const e = env({}, arena);
  add(e, { offset: 0, len: 1400, mf: true });
  assert.is(add(e, { offset: 1400, len: 1400, mf: false }), null); // 2820 bytes fit no slot
  assert.is(e.drops.get("ipv4.frag_nobufs"), 2);
  assert.is(e.stats.reasmFails, 1);
  e.finish();
});

// ---------------------------------------------------------------------------
// Timeout (RFC 1122 §3.3.2, I8)

test("I8: timeout counted once; onTimeout gets fragment 0 when it arrived, null when not", () => {
  const e = env();
  const zero = frag(e, { offset: 0, len: 16, mf: true, id: 1 });
  const zeroBytes = zero.bytes().slice();
  feed(e, zero);
  add(e, { offset: 32, len: 8, mf: false, id: 1 });
  add(e, { offset: 16, len: 8, mf: true, id: 2 });
  e.clock.advance(T);
  assert.is(e.rx.queues, 0);
  assert.is(e.stats.reasmTimeout, 2);
  assert.is(e.stats.reasmFails, 2);
  assert.is(e.drops.get("ipv4.frag_timeout"), 3);
  assert.equal(e.timeouts, [zeroBytes, null]);
  e.clock.advance(10 * T);
  assert.is(e.stats.reasmTimeout, 2, "counted once");
  e.finish();
});

test("I8: the timeout runs from the first fragment; trickling fragments do not extend it", () => {
  const e = env();
  add(e, { offset: 0, len: 8, mf: true });
  for (const t of [10_000, 10_000, 9_000]) {
    e.clock.advance(t);
    add(e, { offset: (e.stats.reasmReqds) * 8, len: 8, mf: true });
  }
  assert.is(e.clock.now(), 29_000);
  assert.is(e.rx.queues, 1);
  e.clock.advance(999);
  assert.is(e.timeouts.length, 0);
  e.clock.advance(1);
  assert.is(e.timeouts.length, 1, "expired exactly 30 s after the first fragment");
  // A fragment after expiry starts a fresh queue with a fresh deadline.
  add(e, { offset: 32, len: 8, mf: false });
  e.clock.advance(T - 1);
  assert.is(e.rx.queues, 1);
  e.clock.advance(1);
  assert.is(e.rx.queues, 0);
  assert.equal(e.timeouts.length, 2);
  e.finish();
});

test("I8: the timeout is configurable, and a sweep expires many queues in bounded batches", () => {
  const e = env({ timeoutMs: 60_000, maxDatagrams: 2048, maxPerSource: 2048 });
  const n = SWEEP_BATCH * 2 + 10;
  for (let i = 0; i < n; i++) add(e, { offset: 8, len: 8, mf: false, id: i });
  e.clock.advance(59_999);
  assert.is(e.rx.queues, n);
  e.clock.advance(1);
  assert.is(e.rx.queues, 0);
  assert.is(e.stats.reasmTimeout, n);
  assert.is(e.timeouts.length, n);
  e.finish();
});

test("a throwing onTimeout still leaves later queues to expire", () => {
  let calls = 0;
  const e = env({
    onTimeout: (first) => {
      first?.free();
      if (++calls === 1) throw new Error("icmp broke");
    },
  });
  add(e, { offset: 8, len: 8, mf: false, id: 1 });
  e.clock.advance(1000);
  add(e, { offset: 8, len: 8, mf: false, id: 2 });
  assert.throws(() => e.clock.advance(T - 1000));
  assert.is(e.rx.queues, 1);
  e.clock.advance(1000);
  assert.is(e.rx.queues, 0, "the timer was re-armed");
  assert.is(calls, 2);
  e.finish();
});

test("close() frees every fragment, cancels the timer, and later fragments are dropped", () => {
  const e = env();
  for (let id = 0; id < 20; id++) add(e, { offset: 0, len: 64, mf: true, id });
  assert.is(e.rx.queues, 20);
  assert.is(e.clock.pending, 1, "one timer for all queues");
  e.rx.close();
  assert.is(add(e, { offset: 8, len: 8, mf: false }), null);
  assert.is(e.drops.get("ipv4.frag_closed"), 1);
  e.finish();
});

// ---------------------------------------------------------------------------
// §8 row 18: keyed hash

test("§8-18: ids chosen to collide under one secret spread out under another", () => {
  const bucketOf = (k0: number, k1: number, id: number) =>
    new KeyedHash(new SeededRandom(0), [k0, k1]).hash3(SRC, DST, (id << 8) | IpProtocol.UDP) & 1023;
  // The attacker's collision set under secret A (found by brute force)…
  const target = bucketOf(1, 2, 0);
  const chosen: number[] = [];
  for (let id = 0; id < 65536 && chosen.length < 40; id++) {
    if (bucketOf(1, 2, id) === target) chosen.push(id);
  }
  assert.is(chosen.length, 40);
  // …lands in many buckets under secret B.
  const spread = new Set(chosen.map((id) => bucketOf(0xdeadbeef, 0x12345678, id)));
  assert.ok(spread.size >= 30, `only ${spread.size} buckets`);
});

test("§8-18: 1000 concurrent datagrams from one flow are all found again (chains compare exact keys)", () => {
  const e = env({ maxDatagrams: 1024, maxPerSource: 1024 });
  for (let id = 0; id < 1000; id++) add(e, { offset: 8, len: 8, mf: false, id });
  assert.is(e.rx.queues, 1000);
  for (let id = 999; id >= 0; id--) {
    assertWhole(add(e, { offset: 0, len: 8, mf: true, id }), id, 16);
  }
  assert.is(e.stats.reasmOKs, 1000);
  e.finish();
});

test("option limits are validated (RangeError)", () => {
  assert.throws(() => env({ maxFragmentsPerDatagram: 0 }), RangeError);
  assert.throws(() => env({ timeoutMs: 0 }), RangeError);
  assert.throws(() => env({ highThresholdBytes: 1000, lowThresholdBytes: 2000 }), RangeError);
  assert.throws(() => env({ maxPerSource: 1.5 }), RangeError);
});
