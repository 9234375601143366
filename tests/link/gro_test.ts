/**
 * Software GRO (`src/link/gro.ts`): merging is the inverse of GSO — cutting
 * what comes out gives back exactly the frames that went in, in order,
 * whatever the mix of flows, flags, lengths and corrupt frames.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { Arena } from "../../src/skb/arena.ts";
import { SkbAllocator, type SkBuff } from "../../src/skb/skbuff.ts";
import { gsoSegment } from "../../src/link/gso.ts";
import { TcpGro } from "../../src/link/gro.ts";
import { randomInt, SeededRandom } from "../../src/core/random.ts";
import { emitIpv4, IpProtocol, parseIpv4 } from "../../src/wire/ipv4.ts";
import { emitTcp, TcpFlags } from "../../src/wire/tcp.ts";
import { NO_TCP_OPTIONS } from "../../src/wire/tcp_options.ts";
import { checksum } from "../../src/wasm/checksum.ts";

const SRC = 0xc0000201;
const DST = 0xc0000202;

/** An Ethernet + IPv4 + TCP frame (timestamps) of `payload`, checksums filled in. */
function frame(
  alloc: SkbAllocator,
  payload: Uint8Array,
  o: { seq: number; flags?: number; sport?: number; ack?: number; id?: number; df?: boolean },
): SkBuff {
  const skb = alloc.alloc(payload.length)!;
  skb.append(payload);
  const tcpAt = skb.push(32);
  emitTcp(
    {
      srcPort: o.sport ?? 40000,
      dstPort: 80,
      seq: o.seq >>> 0,
      ack: o.ack ?? 7,
      flags: o.flags ?? TcpFlags.ACK,
      window: 500,
      urgentPointer: 0,
      options: { ...NO_TCP_OPTIONS, tsVal: 12345, tsEcr: 678 },
      payloadLength: payload.length,
    },
    alloc.arena.u8,
    tcpAt,
    { src: SRC, dst: DST },
  );
  const ipAt = skb.push(20);
  emitIpv4(
    {
      src: SRC,
      dst: DST,
      tos: 0,
      id: o.id ?? 100,
      dontFragment: o.df ?? true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: IpProtocol.TCP,
      payloadLength: 32 + payload.length,
    },
    alloc.arena.u8,
    ipAt,
  );
  const eth = skb.push(14);
  const u8 = alloc.arena.u8;
  u8.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], eth);
  return skb;
}

/** The frames `gsoSegment` cuts `skb` into (as byte arrays); consumes it. */
function cut(alloc: SkbAllocator, skb: SkBuff): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (skb.gsoSize === 0) {
    out.push(alloc.arena.u8.slice(skb.data, skb.tail));
    skb.free();
    return out;
  }
  gsoSegment(skb, 14, alloc, (p) => {
    out.push(alloc.arena.u8.slice(p.data, p.tail));
    p.free();
  });
  return out;
}

function bytes(n: number, seed: number): Uint8Array {
  const r = new SeededRandom(seed);
  return Uint8Array.from({ length: n }, () => randomInt(r, 256));
}

test("GRO: the frames GSO cut from a super-segment merge back into one frame with gsoSize = MSS, valid IP header; cut again it gives the same frames byte for byte", () => {
  const arena = new Arena();
  const alloc = new SkbAllocator(arena);
  const big = frame(alloc, bytes(40 * 1448 + 700, 1), { seq: 0xfffff000, id: 0xfff0 });
  big.gsoSize = 1448;
  const pieces = cut(alloc, big);
  assert.is(pieces.length, 41);
  const out: SkBuff[] = [];
  const gro = new TcpGro(alloc, (s) => out.push(s));
  for (const p of pieces) {
    const s = alloc.alloc(p.length)!;
    s.append(p);
    assert.ok(gro.add(s.data, s.len));
    s.free();
  }
  gro.flush();
  assert.is(out.length, 1);
  const m = out[0]!;
  assert.is(m.gsoSize, 1448);
  assert.is(m.len, 14 + 20 + 32 + 40 * 1448 + 700);
  const ip = parseIpv4(arena.u8, m.data + 14, m.len - 14);
  assert.ok(typeof ip !== "number", "a valid IPv4 header (length and checksum)");
  assert.is(checksum(arena.u8, m.data + 14, 20), 0xffff);
  assert.equal(cut(alloc, m), pieces, "GSO(GRO(frames)) = frames");
  assert.equal([gro.stats.merged, gro.stats.superFrames, gro.stats.passed], [41, 1, 0]);
  assert.is(arena.inUse, 0);
});

test("GRO property: seeded mixes of two flows, PSH, short and out-of-order segments, other ACKs and corrupt frames — cut again, the output is the input, in order; corrupt frames are never merged", () => {
  let merged = 0;
  let bad = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const arena = new Arena();
    const alloc = new SkbAllocator(arena);
    const rng = new SeededRandom(seed);
    const input: Uint8Array[] = [];
    const corrupt = new Set<number>();
    const seqs = [1000, 0x7ffff000];
    for (let i = 0, n = 5 + randomInt(rng, 60); i < n; i++) {
      const flow = randomInt(rng, 4) === 0 ? 1 : 0;
      const r = randomInt(rng, 20);
      const len = r === 0 ? 1 + randomInt(rng, 1447) : 1448;
      const flags = TcpFlags.ACK | (r === 1 ? TcpFlags.PSH : 0) | (r === 2 ? TcpFlags.FIN : 0);
      // Now and then a segment out of order (a retransmission, say).
      const seq = r === 3 ? seqs[flow]! - 1448 : seqs[flow]!;
      const f = frame(alloc, bytes(len, seed * 1000 + i), {
        seq,
        flags,
        sport: 40000 + flow,
        ack: r === 4 ? 8 : 7,
        id: 100 + i,
      });
      if (randomInt(rng, 25) === 0) {
        arena.u8[f.tail - 1]! ^= 0x40; // a payload bit flipped after the checksum
        corrupt.add(i);
      }
      input.push(arena.u8.slice(f.data, f.tail));
      f.free();
      if (r !== 3) seqs[flow] = (seqs[flow]! + len + (r === 2 ? 1 : 0)) >>> 0;
    }
    const out: SkBuff[] = [];
    const gro = new TcpGro(alloc, (s) => out.push(s));
    for (let i = 0; i < input.length; i++) {
      const s = alloc.alloc(input[i]!.length)!;
      s.append(input[i]!);
      assert.ok(gro.add(s.data, s.len));
      s.free();
      if (randomInt(rng, 10) === 0) gro.flush(); // the end of a batch, now and then
    }
    gro.flush();
    const again: Uint8Array[] = [];
    for (const s of out) {
      // A merged frame holds no corrupt segment: GSO would give it a fresh checksum.
      again.push(...cut(alloc, s));
    }
    // Merged frames get identifications counted up from their first segment's,
    // as GSO gives them; compare everything else.
    const strip = (f: Uint8Array) => {
      const c = f.slice();
      c[18] =
        c[19] =
        c[24] =
        c[25] =
          0; // IPv4 identification and header checksum
      return c;
    };
    assert.equal(again.map(strip), input.map(strip), `seed ${seed}`);
    for (const i of corrupt) {
      assert.equal(again[i], input[i], `seed ${seed}: corrupt frame ${i} unchanged`);
    }
    merged += gro.stats.merged;
    bad += gro.stats.badChecksum;
    assert.is(arena.inUse, 0, `seed ${seed}: buffers leaked`);
  }
  // The mixes did merge, and did meet corrupt frames.
  assert.ok(merged > 1000, `${merged} frames merged`);
  assert.ok(bad > 50, `${bad} corrupt frames seen`);
});
