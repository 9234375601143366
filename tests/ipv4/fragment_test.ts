import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { IpStats } from "../../src/core/stats.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { Arena, type ArenaOptions, MAX_HEADER } from "../../src/skb/arena.ts";
import { Csum, SkbAllocator, type SkBuff } from "../../src/skb/skbuff.ts";
import { ipv4PseudoSum } from "../../src/wasm/checksum.ts";
import { emitIpv4, IpProtocol, type Ipv4Repr, parseIpv4 } from "../../src/wire/ipv4.ts";
import { emitUdp, parseUdp } from "../../src/wire/udp.ts";
import {
  fragmentIpv4,
  type FragmentResult,
  IPV4_MIN_MTU,
  IPV4_OPTION_COPIED,
} from "../../src/ipv4/fragment.ts";

const SRC = 0xc0000201; // 192.0.2.1
const DST = 0xc0000202; // 192.0.2.2

/** LSRR (type 131, copied) with one address, then RR (type 7, not copied), NOP, Security-ish copied 130. */
const OPTIONS = new Uint8Array([
  ...[131, 7, 4, 198, 51, 100, 1], // LSRR: copied (RFC 791 §3.1)
  ...[7, 7, 4, 0, 0, 0, 0], // Record Route: not copied
  1, // NOP: not copied
  ...[130, 3, 0], // copied (type has 0x80)
]);

interface Env {
  arena: Arena;
  allocator: SkbAllocator;
  stats: IpStats;
  assertNoLeak(): void;
}

function env(options: ArenaOptions = {}): Env {
  const arena = new Arena(options);
  const allocator = new SkbAllocator(arena);
  const inUse = arena.inUse;
  const live = allocator.live;
  return {
    arena,
    allocator,
    stats: new IpStats(),
    assertNoLeak() {
      assert.is(arena.inUse, inUse, "arena slots leaked");
      assert.is(allocator.live, live, "SkBuff headers leaked");
    },
  };
}

interface DatagramSpec {
  payload: number;
  id?: number;
  protocol?: number;
  options?: Uint8Array;
  df?: boolean;
  mf?: boolean;
  offset?: number;
  rng?: SeededRandom;
}

/** An skb holding an IPv4 datagram with a random (or patterned) payload. */
function datagram(e: Env, s: DatagramSpec): SkBuff {
  const optLen = s.options?.length ?? 0;
  const hl = 20 + ((optLen + 3) & ~3);
  const skb = e.allocator.alloc(hl + s.payload)!;
  assert.ok(skb, "arena exhausted building a test datagram");
  const at = skb.put(hl + s.payload);
  const u8 = e.arena.u8;
  emitIpv4(
    {
      src: SRC,
      dst: DST,
      tos: 0x28,
      id: s.id ?? 0x1234,
      dontFragment: s.df ?? false,
      moreFragments: s.mf ?? false,
      fragmentOffset: s.offset ?? 0,
      ttl: 61,
      protocol: s.protocol ?? IpProtocol.UDP,
      payloadLength: s.payload,
      ...(s.options ? { options: s.options } : {}),
    },
    u8,
    at,
  );
  const body = u8.subarray(at + hl, at + hl + s.payload);
  if (s.rng) s.rng.fill(body);
  else for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) & 0xff;
  return skb;
}

function parsed(skb: SkBuff): Ipv4Repr {
  const r = parseIpv4(skb.arena.u8, skb.data, skb.len);
  if (typeof r === "string") throw new Error(`fragment does not parse: ${r}`);
  return r;
}

function run(e: Env, skb: SkBuff, mtu: number): { r: FragmentResult; out: SkBuff[] } {
  const out: SkBuff[] = [];
  const r = fragmentIpv4(skb, mtu, e.allocator, (f) => out.push(f), e.stats);
  return { r, out };
}

/** Option types present in a header's option bytes (EOL ends the list). */
function optionTypes(u8: Uint8Array, ip: Ipv4Repr): number[] {
  const types: number[] = [];
  for (let i = ip.optionsOffset; i < ip.optionsOffset + ip.optionsLength;) {
    const t = u8[i]!;
    if (t === 0) break;
    types.push(t);
    i += t === 1 ? 1 : u8[i + 1]!;
  }
  return types;
}

test("I9: a datagram that fits the MTU goes out unchanged, no fragment counters", () => {
  const e = env();
  const skb = datagram(e, { payload: 1480 });
  const before = skb.bytes().slice();
  const { r, out } = run(e, skb, 1500);
  assert.equal(r, { status: "sent", fragments: 1 });
  assert.is(out.length, 1);
  assert.is(out[0], skb, "the same buffer, not a copy");
  assert.equal(out[0]!.bytes(), before);
  assert.is(e.stats.fragOKs + e.stats.fragCreates + e.stats.fragFails, 0);
  out[0]!.free();
  e.assertNoLeak();
});

test("I9: 3000 bytes at MTU 1500 → offsets 0/1480/2960, MF on all but the last, valid headers", () => {
  const e = env();
  const skb = datagram(e, { payload: 2980, id: 77 });
  const original = skb.bytes().slice();
  const { r, out } = run(e, skb, 1500);
  assert.equal(r, { status: "sent", fragments: 3 });
  const ips = out.map(parsed); // verifies every header checksum
  assert.equal(ips.map((ip) => ip.fragmentOffset), [0, 1480, 2960]);
  assert.equal(ips.map((ip) => ip.payloadLength), [1480, 1480, 20]);
  assert.equal(ips.map((ip) => ip.moreFragments), [true, true, false]);
  for (const ip of ips) {
    assert.is(ip.id, 77);
    assert.is(ip.ttl, 61);
    assert.is(ip.tos, 0x28);
    assert.is(ip.protocol, IpProtocol.UDP);
  }
  for (const f of out) {
    assert.ok(f.len <= 1500);
    assert.ok(f.headroom >= MAX_HEADER, "headroom for the link header");
    assert.is(f.networkHeader, f.data);
  }
  const joined = new Uint8Array(2980);
  out.forEach((f, i) => joined.set(f.bytes().subarray(20), ips[i]!.fragmentOffset));
  assert.equal(joined, original.subarray(20));
  assert.is(e.stats.fragOKs, 1);
  assert.is(e.stats.fragCreates, 3);
  assert.is(e.stats.fragFails, 0);
  for (const f of out) f.free();
  e.assertNoLeak();
});

test("I9 / RFC 1191: DF set and too big → frag_needed with the MTU, nothing sent, skb freed", () => {
  const e = env();
  const skb = datagram(e, { payload: 2000, df: true });
  const { r, out } = run(e, skb, 1400);
  assert.equal(r, { status: "frag_needed", errno: "EMSGSIZE", mtu: 1400 });
  assert.is(out.length, 0);
  assert.ok(skb.isFreed);
  assert.is(e.stats.fragFails, 1);
  assert.is(e.stats.fragOKs, 0);
  e.assertNoLeak();
});

test("I9: DF set but the datagram fits → sent unchanged", () => {
  const e = env();
  const { r, out } = run(e, datagram(e, { payload: 500, df: true }), 576);
  assert.is(r.status, "sent");
  assert.ok(parsed(out[0]!).dontFragment);
  out[0]!.free();
  e.assertNoLeak();
});

test("RFC 791: MTU below 68 is a caller bug (RangeError), the skb stays with the caller", () => {
  const e = env();
  const skb = datagram(e, { payload: 100 });
  assert.throws(() => run(e, skb, IPV4_MIN_MTU - 1), RangeError);
  assert.throws(() => run(e, skb, 1500.5), RangeError);
  assert.not.ok(skb.isFreed);
  // 68 itself works: 8-byte pieces even with a 60-byte header.
  const big = datagram(e, { payload: 100, options: new Uint8Array(40).fill(1) });
  const { r, out } = run(e, big, 68);
  assert.is(r.status, "sent");
  assert.equal(parsed(out[0]!).payloadLength, 8, "first piece keeps the 60-byte header");
  for (const f of out) assert.ok(f.len <= 68);
  for (const f of out) f.free();
  skb.free();
  e.assertNoLeak();
});

test("malformed input is a caller bug (TypeError), not consumed", () => {
  const e = env();
  const skb = e.allocator.alloc(100)!;
  skb.put(100); // zeros: version 0
  assert.throws(() => run(e, skb, 68), TypeError);
  assert.not.ok(skb.isFreed);
  skb.free();
  const other = new SkbAllocator(new Arena());
  const foreign = other.alloc(10)!;
  assert.throws(
    () => fragmentIpv4(foreign, 1500, e.allocator, () => {}, e.stats),
    TypeError,
  );
  foreign.free();
  e.assertNoLeak();
});

test("RFC 791 §3.1: options with the copy bit go in every fragment, the rest only in the first", () => {
  const e = env();
  const skb = datagram(e, { payload: 1000, options: OPTIONS });
  const firstHeader = skb.bytes().slice(0, 40);
  const { r, out } = run(e, skb, 300);
  assert.is(r.status, "sent");
  const u8 = e.arena.u8;
  const ips = out.map(parsed);
  assert.is(ips[0]!.headerLength, 40);
  // The first fragment keeps the original header byte for byte (except length, MF, checksum).
  const h0 = out[0]!.bytes();
  assert.equal(h0.subarray(20, 40), firstHeader.subarray(20, 40));
  assert.equal(optionTypes(u8, ips[0]!), [131, 7, 1, 130]);
  for (const ip of ips.slice(1)) {
    // LSRR (7) + 130 (3) = 10 bytes, EOL-padded to 12: IHL recomputed (RFC 791 §3.2).
    assert.is(ip.headerLength, 32);
    assert.equal(optionTypes(u8, ip), [131, 130]);
    for (const t of optionTypes(u8, ip)) assert.ok((t & IPV4_OPTION_COPIED) !== 0);
  }
  // Chunks: (300 − 40) & ~7 = 256 first, then (300 − 32) & ~7 = 264.
  assert.equal(ips.map((ip) => ip.payloadLength), [256, 264, 264, 216]);
  assert.equal(ips.map((ip) => ip.fragmentOffset), [0, 256, 520, 784]);
  for (const f of out) f.free();
  e.assertNoLeak();
});

test("I9: re-fragmenting a fragment keeps its offset base and its MF on the last piece", () => {
  const e = env();
  // A middle fragment (MF set) at offset 1480, 1480 bytes, through MTU 576.
  const mid = datagram(e, { payload: 1480, mf: true, offset: 1480, options: OPTIONS });
  const { out } = run(e, mid, 576);
  const ips = out.map(parsed);
  assert.equal(ips.map((ip) => ip.fragmentOffset), [1480, 2024, 2568]);
  assert.equal(ips.map((ip) => ip.moreFragments), [true, true, true]);
  // Not the datagram's first fragment: no piece carries the non-copied options.
  for (const ip of ips) assert.equal(optionTypes(e.arena.u8, ip), [131, 130]);
  // The last fragment (MF clear) re-fragmented: only its last piece has MF clear.
  const last = datagram(e, { payload: 1000, offset: 2960 });
  const r2 = run(e, last, 576);
  assert.equal(r2.out.map((f) => parsed(f).moreFragments), [true, false]);
  assert.equal(r2.out.map((f) => parsed(f).fragmentOffset), [2960, 3512]);
  for (const f of [...out, ...r2.out]) f.free();
  e.assertNoLeak();
});

test("ENOBUFS: arena exhaustion mid-way frees what was built, sends nothing, counts fragFails", () => {
  const e = env({ classes: [{ size: 2048, max: 4 }, { size: 10240, max: 1 }] });
  const skb = datagram(e, { payload: 8980 }); // takes the only 10 KiB slot
  const { r, out } = run(e, skb, 1500); // needs 7 pieces, 4 slots exist
  assert.equal(r, { status: "no_buffers", errno: "ENOBUFS" });
  assert.is(out.length, 0, "all or nothing: no partial datagram on the wire");
  assert.ok(skb.isFreed);
  assert.is(e.stats.fragFails, 1);
  assert.is(e.stats.fragCreates, 0);
  e.assertNoLeak();
});

test("a throwing output callback leaks nothing", () => {
  const e = env();
  const skb = datagram(e, { payload: 4000 });
  let n = 0;
  assert.throws(() =>
    fragmentIpv4(skb, 1500, e.allocator, (f) => {
      f.free();
      if (++n === 2) throw new Error("device gone");
    }, e.stats)
  );
  e.assertNoLeak();
});

test("Csum.Partial: the transport checksum is completed before the payload is split", () => {
  const e = env();
  const payload = 3000;
  const skb = datagram(e, { payload });
  const u8 = e.arena.u8;
  const udpAt = skb.data + 20;
  emitUdp({ srcPort: 4000, dstPort: 5000, payloadLength: payload - 8 }, u8, udpAt, {
    src: SRC,
    dst: DST,
  }, { checksum: false });
  skb.ipSummed = Csum.Partial;
  skb.csumStart = udpAt;
  skb.csumOffset = 6;
  skb.csum = ipv4PseudoSum(SRC, DST, IpProtocol.UDP, payload);
  const { out } = run(e, skb, 1500);
  // Glue the payloads back together and verify the UDP checksum over them.
  const whole = new Uint8Array(payload);
  for (const f of out) {
    const ip = parsed(f);
    whole.set(
      u8.subarray(ip.payloadOffset, ip.payloadOffset + ip.payloadLength),
      ip.fragmentOffset,
    );
  }
  const udp = parseUdp(whole, 0, payload, { src: SRC, dst: DST });
  assert.type(udp, "object", `UDP checksum must verify, got ${String(udp)}`);
  for (const f of out) f.free();
  e.assertNoLeak();
});

test("I9 property (≥ 200 runs): random sizes ≤ 65,000, MTUs 68…9000, options → well-formed fragments that tile the payload", () => {
  const e = env();
  const rng = new SeededRandom(testSeed());
  fc.assert(
    fc.property(
      fc.oneof(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 65000 })),
      fc.oneof(
        fc.integer({ min: 68, max: 600 }),
        fc.integer({ min: 68, max: 1500 }),
        fc.integer({ min: 68, max: 9000 }),
      ),
      fc.boolean(),
      (payload, mtu, withOptions) => {
        const skb = datagram(e, {
          payload,
          rng,
          id: rng.nextU32() & 0xffff,
          ...(withOptions ? { options: OPTIONS } : {}),
        });
        const original = skb.bytes().slice();
        const hl = withOptions ? 40 : 20;
        const { r, out } = run(e, skb, mtu);
        assert.is(r.status, "sent");
        if (hl + payload <= mtu) {
          assert.is(out.length, 1);
          assert.equal(out[0]!.bytes(), original);
        } else {
          let expect = 0;
          const u8 = e.arena.u8;
          const joined = new Uint8Array(payload);
          out.forEach((f, i) => {
            const ip = parsed(f);
            assert.ok(f.len <= mtu, "fragment exceeds the MTU");
            assert.is(ip.fragmentOffset, expect, "fragments must tile the payload in order");
            const lastPiece = i === out.length - 1;
            assert.is(ip.moreFragments, !lastPiece);
            if (!lastPiece) assert.is(ip.payloadLength % 8, 0);
            assert.is(ip.id, (original[4]! << 8) | original[5]!);
            assert.is(ip.headerLength, i === 0 ? hl : withOptions ? 32 : 20);
            joined.set(u8.subarray(ip.payloadOffset, ip.payloadOffset + ip.payloadLength), expect);
            expect += ip.payloadLength;
          });
          assert.is(expect, payload);
          assert.equal(joined, original.subarray(hl));
        }
        for (const f of out) f.free();
        e.assertNoLeak();
      },
    ),
    { numRuns: 350, seed: testSeed() },
  );
  assert.is(e.stats.fragFails, 0);
});
