/**
 * Live-stack fuzzing (§8 rows 15 and 19 in tests/tcp/TRACEABILITY.md §6):
 * more than 100,000 seeded random and mutated frames — ARP, IPv4 carrying
 * ICMP/UDP/TCP/unknown payloads, fragments, options, garbage — go into a
 * live stack's device. Nothing is wrapped in try/catch: an exception escaping
 * the stack fails the test. Afterwards the stack must still answer a ping,
 * and once its timers have run out (reassembly, ARP) the arena must be back
 * at its baseline; closing must free everything.
 *
 * Replay a failure with NETWASM_SEED=<seed>.
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { type Pair, pair, settle } from "../_util/sim.ts";
import {
  arpFrame,
  fixIpChecksum,
  icmpRaw,
  IP_A,
  IP_B,
  ipv4Frame,
  MAC_A,
  MAC_B,
} from "../_util/frames.ts";
import { randomInt, type RandomSource, SeededRandom } from "../../src/core/random.ts";
import { checksum, finishChecksum } from "../../src/wasm/checksum.ts";
import { get16, set16 } from "../../src/wire/bytes.ts";
import { emitUdp } from "../../src/wire/udp.ts";
import type { BaseDevice } from "../../src/link/device.ts";

/** Frames injected between two runs of the clock (below the 1000-frame rx queue). */
const BATCH = 250;

class Gen {
  readonly r: RandomSource;
  constructor(seed: number) {
    this.r = new SeededRandom(seed);
  }
  int(n: number): number {
    return randomInt(this.r, n);
  }
  chance(p: number): boolean {
    return this.int(1_000_000) < p * 1_000_000;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    this.r.fill(b);
    return b;
  }

  /** An address that exercises the input checks. */
  addr(): number {
    switch (this.int(12)) {
      case 0:
      case 1:
      case 2:
        return IP_A;
      case 3:
        return IP_B;
      case 4:
        return 0xc0000200 | this.int(256); // on-link, incl. .0 and .255
      case 5:
        return 0xffffffff;
      case 6:
        return 0;
      case 7:
        return 0x7f000000 | this.int(1 << 24);
      case 8:
        return (0xe0000000 | this.int(1 << 28)) >>> 0;
      case 9:
        return (0xf0000000 | this.int(1 << 28)) >>> 0;
      case 10:
        return 0xe0000001;
      default:
        return this.r.nextU32();
    }
  }

  /** A source that usually passes the martian checks, so deeper code runs. */
  src(): number {
    return this.chance(0.8)
      ? this.pick([IP_B, 0xc0000200 | (1 + this.int(253)), 0xc6336401])
      : this.addr();
  }

  dst(): number {
    return this.chance(0.75) ? IP_A : this.addr();
  }

  mac(): number {
    switch (this.int(10)) {
      case 0:
        return 0xffffffffffff;
      case 1:
        return 0x01005e000001;
      case 2:
        return this.int(1 << 24) * (1 << 24) + this.int(1 << 24);
      default:
        return MAC_A;
    }
  }

  /** IP options: valid TLVs, NOP/EOL runs, or garbage (0–40 bytes). */
  options(): Uint8Array | undefined {
    if (!this.chance(0.15)) return undefined;
    const n = this.int(41);
    if (this.chance(0.3)) return this.bytes(n);
    const out = new Uint8Array(n);
    let i = 0;
    while (i < n) {
      const left = n - i;
      const k = this.int(4);
      if (k === 0 || left < 2) out[i++] = this.pick([0, 1]);
      else {
        const len = 2 + this.int(Math.min(left - 1, 12));
        out[i] = this.pick([7, 68, 131, 137, 148, 0x9e, this.int(256)]);
        out[i + 1] = this.chance(0.9) ? len : this.int(256);
        i += len;
      }
    }
    return out;
  }

  icmp(): Uint8Array {
    const t = this.pick([0, 8, 8, 8, 3, 3, 4, 5, 11, 12, 13, 17, this.int(256)]);
    const code = this.chance(0.8) ? this.int(16) : this.int(256);
    let body: Uint8Array;
    if (t === 3 || t === 4 || t === 5 || t === 11 || t === 12) {
      // Quote a datagram, often one "from" us so it reaches the transport err().
      const q = ipv4Frame({
        src: this.chance(0.7) ? IP_A : this.addr(),
        dst: this.addr(),
        protocol: this.pick([1, 6, 17, 253, this.int(256)]),
        payload: this.bytes(this.int(40)),
        options: this.options(),
      }).subarray(14);
      body = q.subarray(0, Math.min(q.length, this.pick([8, 20, 27, 28, 36, q.length])));
    } else {
      body = this.bytes(this.pick([0, 1, 8, 56, this.int(1500)]));
    }
    return icmpRaw(t, t === 8 || t === 0 ? 0 : code, this.r.nextU32(), body);
  }

  udp(src: number, dst: number): Uint8Array {
    const n = this.pick([0, 1, 8, 100, this.int(1472)]);
    const out = new Uint8Array(8 + n);
    out.set(this.bytes(n), 8);
    emitUdp(
      {
        srcPort: this.int(65536),
        dstPort: this.pick([7, 53, 9, 1024, this.int(65536)]),
        payloadLength: n,
      },
      out,
      0,
      { src, dst },
    );
    if (this.chance(0.2)) set16(out, 4, this.int(65536)); // lying length
    if (this.chance(0.2)) set16(out, 6, this.chance(0.5) ? 0 : this.int(65536));
    return out;
  }

  tcp(): Uint8Array {
    const out = this.bytes(20 + this.pick([0, 4, 12, 20, 40]) + this.int(200));
    out[12] = (this.int(16) << 4) | (out[12]! & 15);
    return out;
  }

  /** One IPv4 frame with a transport payload (not fragmented by us). */
  ipv4(): Uint8Array {
    const src = this.src();
    const dst = this.dst();
    const protocol = this.pick([1, 1, 1, 17, 17, 6, 253, 2, this.int(256)]);
    const payload = protocol === 1
      ? this.icmp()
      : protocol === 17
      ? this.udp(src, dst)
      : protocol === 6
      ? this.tcp()
      : this.bytes(this.int(600));
    return ipv4Frame({
      ethDst: this.mac(),
      ethSrc: this.chance(0.9) ? MAC_B : this.mac(),
      src,
      dst,
      protocol,
      payload,
      ttl: this.pick([0, 1, 64, 255]),
      id: this.int(65536),
      tos: this.int(256),
      dontFragment: this.chance(0.3),
      options: this.options(),
      padTo: this.chance(0.3) ? 60 : 0,
    });
  }

  /**
   * Fragments of one datagram: in order, shuffled, with duplicates, with
   * overlaps, with pieces missing — as a list of frames.
   */
  fragments(): Uint8Array[] {
    const src = this.chance(0.5)
      ? IP_B
      : this.chance(0.8)
      ? 0xc0000200 | this.int(256)
      : this.src();
    const dst = this.chance(0.9) ? IP_A : this.dst();
    const protocol = this.pick([1, 17, 253, 6]);
    const size = this.pick([16, 100, 1000, 3000, 8000, 20_000, this.int(65_400)]);
    const payload = protocol === 1
      ? icmpRaw(8, 0, this.r.nextU32(), this.bytes(Math.max(0, size - 8)))
      : protocol === 17
      ? this.udp(src, dst)
      : this.bytes(size);
    const id = this.int(65536);
    // Mostly up to ~64 pieces; sometimes more, to hit the per-datagram cap.
    const minStep = 8 * Math.ceil(payload.length / (this.chance(0.9) ? 64 : 100) / 8);
    const step = Math.max(minStep, 8 * (1 + this.int(this.pick([2, 20, 185]))));
    const options = this.options();
    const frames: Uint8Array[] = [];
    // At most one anomaly of each kind per datagram, so many datagrams complete.
    const pieces = Math.ceil(payload.length / step);
    const at = (p: number) => (this.chance(p) ? step * this.int(pieces) : -1);
    const overlapAt = at(0.08), stretchAt = at(0.05), wildAt = at(0.05);
    for (let off = 0; off < payload.length; off += step) {
      let o = off;
      let end = Math.min(off + step, payload.length);
      if (off === overlapAt) o = Math.max(0, o - 8 * (1 + this.int(3))); // into the previous
      if (off === stretchAt) end = Math.min(payload.length, end + 8); // into the next
      const last = end >= payload.length;
      frames.push(ipv4Frame({
        ethDst: MAC_A,
        src,
        dst,
        protocol,
        id,
        fragmentOffset: off === wildAt ? this.int(8192) * 8 : o,
        moreFragments: off === wildAt && this.chance(0.5) ? last : !last,
        payload: payload.subarray(o, end),
        ...(o === 0 && options !== undefined ? { options } : {}),
      }));
    }
    if (this.chance(0.3)) shuffle(this, frames);
    if (this.chance(0.2)) frames.push(this.pick(frames)); // duplicate
    if (this.chance(0.15) && frames.length > 1) frames.splice(this.int(frames.length), 1); // loss
    return frames;
  }

  arp(): Uint8Array {
    const f = arpFrame({
      op: this.pick([1, 1, 2] as const),
      senderMac: this.chance(0.8) ? 0x020000100000 + this.int(1 << 16) : this.mac(),
      senderIp: this.chance(0.7) ? 0xc0000200 | this.int(256) : this.addr(),
      targetMac: this.chance(0.5) ? 0 : this.mac(),
      targetIp: this.chance(0.7) ? IP_A : this.addr(),
      ethDst: this.pick([0xffffffffffff, MAC_A, MAC_A, this.mac()]),
      ethSrc: this.chance(0.9) ? 0x020000100000 + this.int(1 << 16) : MAC_A,
    });
    if (this.chance(0.1)) f[14 + this.int(8)] = this.int(256); // htype/ptype/len/op
    return this.chance(0.05) ? f.subarray(0, 14 + this.int(46)) : f;
  }

  garbage(): Uint8Array {
    const f = this.bytes(14 + this.pick([0, 1, 19, 20, 28, 46, this.int(1500)]));
    for (let i = 0; i < 6; i++) f[i] = [2, 0, 0, 0, 0, 1][i]!; // to A, so it gets past the link
    if (this.chance(0.7)) set16(f, 12, this.pick([0x0800, 0x0806, 0x86dd, 0x8100]));
    if (this.chance(0.5) && f.length >= 34) {
      f[14] = 0x40 | (f[14]! & 15);
      if (this.chance(0.5)) fixIpChecksum(f);
    }
    return f;
  }

  /** Mutate a copy of `frame`; then, often, repair the checksums so the damage goes deep. */
  mutate(frame: Uint8Array): Uint8Array {
    let f = frame.slice();
    const ops = 1 + this.int(4);
    for (let k = 0; k < ops; k++) {
      switch (this.int(7)) {
        case 0:
          f[this.int(f.length)]! ^= 1 << this.int(8);
          break;
        case 1:
          f[this.int(f.length)] = this.int(256);
          break;
        case 2: // IPv4 header fields: version/IHL, lengths, flags/offset, proto, addresses
          if (f.length > 34) f[14 + this.int(20)] = this.int(256);
          break;
        case 3:
          if (f.length > 18) {
            set16(f, 14 + 2 * this.int(Math.min(10, (f.length - 16) >> 1)), this.int(65536));
          }
          break;
        case 4:
          f = f.subarray(0, 14 + this.int(f.length - 13));
          break;
        case 5: {
          const g = new Uint8Array(f.length + 1 + this.int(64));
          g.set(f);
          g.set(this.bytes(g.length - f.length), f.length);
          f = g;
          break;
        }
        default: // transport bytes
          if (f.length > 40) f[34 + this.int(f.length - 34)] = this.int(256);
      }
    }
    if (this.chance(0.6)) repairChecksums(f);
    return f;
  }
}

function shuffle(g: Gen, xs: unknown[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = g.int(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
}

/** Recompute the IPv4 header checksum and the ICMP checksum when the bytes allow it. */
function repairChecksums(f: Uint8Array): void {
  if (f.length < 34 || get16(f, 12) !== 0x0800 || f[14]! >> 4 !== 4) return;
  const hl = (f[14]! & 15) * 4;
  if (hl < 20 || 14 + hl > f.length) return;
  fixIpChecksum(f);
  const tl = get16(f, 16);
  if (f[23] !== 1 || tl < hl + 8 || 14 + tl > f.length) return;
  if ((get16(f, 20) & 0x3fff) !== 0) return; // a fragment: the ICMP checksum spans others
  const at = 14 + hl;
  set16(f, at + 2, 0);
  set16(f, at + 2, finishChecksum(checksum(f, at, tl - hl)));
}

interface Outcome {
  frames: number;
  p: Pair;
}

/** Inject `count` frames from `next` into A, running the clock between batches. */
function run(p: Pair, g: Gen, count: number, next: () => Uint8Array[]): number {
  let sent = 0;
  let inBatch = 0;
  while (sent < count) {
    for (const f of next()) {
      p.devA.receiveBytes(f); // too-short frames are refused and counted by the device
      sent++;
      if (++inBatch === BATCH) {
        inBatch = 0;
        p.clock.advance(g.chance(0.1) ? g.int(5_000) : g.int(20));
      }
    }
  }
  p.clock.advance(0);
  return sent;
}

/** The common ending: timers run out → baseline; ping still answered; close → zero. */
async function finish(name: string, o: Outcome, baseline: number): Promise<void> {
  const { p } = o;
  p.clock.runUntilIdle(3_600_000);
  assert.is(p.a.ipv4.reassembler.queues, 0, "reassembly queues expired");
  assert.is(p.a.neighbours.size, 0, "neighbour entries expired");
  assert.is(p.arena.inUse, baseline, "arena back at its baseline once timers ran out");
  const r = await settle(p.clock, p.b.ping("192.0.2.1", { size: 1000, seq: 1 }));
  assert.ok(r.dataMatches, "the stack still answers a ping");
  const r2 = await settle(p.clock, p.a.ping("192.0.2.2", { size: 3000, seq: 2 }));
  assert.ok(r2.dataMatches, "and still sends and reassembles");
  const top = Object.entries(p.a.stats.drops.snapshot()).sort((x, y) => y[1] - x[1]).slice(0, 8);
  console.log(
    `fuzz ${name} (seed ${testSeed()}): ${o.frames} frames, ${p.a.stats.drops.total} drops: ` +
      top.map(([k, v]) => `${k}=${v}`).join(" "),
  );
  await p.close(); // throws on an arena leak
}

function fuzzPair(seed: number): { p: Pair; baseline: number } {
  const p = pair({ seed });
  p.clock.advance(100);
  return { p, baseline: p.arena.inUse };
}

test("§8-19 fuzz: 100,000 random well-formed and malformed frames of every kind into a live stack", async () => {
  const seed = testSeed();
  const g = new Gen(seed * 7 + 1);
  const { p, baseline } = fuzzPair(seed);
  const frames = run(p, g, 100_000, () => {
    switch (g.int(10)) {
      case 0:
      case 1:
        return [g.arp()];
      case 2:
        return g.fragments();
      case 3:
        return [g.garbage()];
      default:
        return [g.ipv4()];
    }
  });
  assert.ok(p.a.stats.ip.inReceives > 20_000);
  assert.ok(p.a.stats.icmp.inMsgs > 1000);
  await finish("random", { frames, p }, baseline);
});

test("§8-19 fuzz: 100,000 mutations of valid frames, checksums often repaired so the damage goes deep", async () => {
  const seed = testSeed();
  const g = new Gen(seed * 7 + 2);
  const { p, baseline } = fuzzPair(seed + 1);
  const frames = run(p, g, 100_000, () => {
    const k = g.int(40);
    const base = k < 8 ? [g.arp()] : k === 8 ? g.fragments() : [g.ipv4()];
    return base.map((f) => (g.chance(0.85) ? g.mutate(f) : f));
  });
  assert.ok(p.a.stats.ip.inDelivers > 1000, "repaired checksums let mutants reach the transports");
  await finish("mutated", { frames, p }, baseline);
});

test("§8-9/§8-19 fuzz: 60,000 fragment frames — reordered, duplicated, overlapping, lost, mutated", async () => {
  const seed = testSeed();
  const g = new Gen(seed * 7 + 3);
  const { p, baseline } = fuzzPair(seed + 2);
  const frames = run(p, g, 60_000, () => {
    const fr = g.fragments();
    return g.chance(0.2) ? fr.map((f) => (g.chance(0.3) ? g.mutate(f) : f)) : fr;
  });
  assert.ok(p.a.stats.ip.reasmOKs > 50, `${p.a.stats.ip.reasmOKs} datagrams reassembled`);
  assert.ok(p.a.stats.drops.get("ipv4.frag_overlap") > 0);
  await finish("fragments", { frames, p }, baseline);
});

test("§8-19 fuzz: 30,000 random and mutated frames into the loopback device (trusted path: 127/8, own sources)", async () => {
  const seed = testSeed();
  const g = new Gen(seed * 7 + 5);
  const { p, baseline } = fuzzPair(seed + 3);
  const lo = p.a.loopback!.dev as BaseDevice;
  const loAddr = () => g.pick([0x7f000001, 0x7f000000 | g.int(1 << 24), IP_A, g.addr()]);
  let sent = 0;
  while (sent < 30_000) {
    let f: Uint8Array;
    if (g.chance(0.2)) {
      f = g.fragments()[0]!;
    } else {
      f = g.ipv4();
    }
    // Re-address to loopback traffic, then maybe mutate.
    f.set([0, 0, 0, 0, 0, 0], 0);
    new DataView(f.buffer, f.byteOffset).setUint32(26, loAddr());
    new DataView(f.buffer, f.byteOffset).setUint32(30, loAddr());
    repairChecksums(f);
    lo.receiveBytes(g.chance(0.5) ? g.mutate(f) : f);
    if (++sent % BATCH === 0) p.clock.advance(g.int(20));
  }
  p.clock.advance(0);
  assert.ok(p.a.stats.ip.inReceives > 20_000);
  await finish("loopback", { frames: sent, p }, baseline);
});

test("§8-19: pings over a link flipping one bit in 30 % of frames never deliver corrupted data", async () => {
  // One frame per datagram (no fragments): each datagram carries at most one
  // flipped bit, which the Internet checksum always detects. (With fragments,
  // two flips in different fragments can cancel in the 16-bit sum — a limit of
  // RFC 1071, not of the stack — so they are left out here.)
  const p = pair({
    seed: testSeed(),
    impair: { delay: 1, corrupt: 0.3, corruptBits: 1 },
  });
  const g = new Gen(testSeed() * 7 + 4);
  let ok = 0, lost = 0;
  for (let i = 0; i < 300; i++) {
    const size = g.pick([0, 1, 56, 1000, 1471, 1472]);
    let r: { dataMatches: boolean } | undefined;
    try {
      r = await settle(p.clock, p.a.ping("192.0.2.2", { size, seq: i, timeout: 200 }));
    } catch (e) {
      assert.is((e as { code?: string }).code, "ETIMEDOUT", String(e));
      lost++;
    }
    if (r !== undefined) {
      assert.ok(r.dataMatches, `ping ${i} (${size} bytes) came back altered`);
      ok++;
    }
  }
  const corrupted = p.devA.wire.stats.corrupted + p.devB.wire.stats.corrupted;
  console.log(`corrupt link: ${ok} replies intact, ${lost} lost, ${corrupted} frames corrupted`);
  assert.ok(ok > 50 && lost > 10, `both outcomes occur (${ok} ok, ${lost} lost)`);
  assert.ok(corrupted > 100);
  const caught = ["ipv4.bad_checksum", "icmp.bad_checksum"].reduce(
    (n, k) => n + p.a.stats.drops.get(k) + p.b.stats.drops.get(k),
    0,
  );
  assert.ok(caught > 50, `${caught} corrupted datagrams caught by checksums`);
  p.clock.runUntilIdle();
  await p.close();
});
