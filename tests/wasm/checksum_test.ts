import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { Arena } from "../../src/skb/arena.ts";
import {
  checksum,
  checksumCopy,
  finishChecksum,
  registerChecksumEngine,
} from "../../src/wasm/checksum.ts";
import { refChecksum } from "../../src/wasm/reference.ts";
import type { HotPaths } from "../../src/wasm/bindings.ts";
import { arenaWithEngines, fillRandom, KINDS } from "./_engines.ts";

const RFC1071_WORDS = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];

/** Two jumbo-class slots (10 KiB each) for sources and destinations. */
function setup(): { arena: Arena; engines: HotPaths[]; a: number; b: number } {
  const { arena, engines } = arenaWithEngines();
  const a = arena.tryAllocSlot(9100);
  const b = arena.tryAllocSlot(9100);
  if (a < 0 || b < 0) throw new Error("arena exhausted");
  return { arena, engines, a, b };
}

/** Every engine's result for `f`, with the engine name, for a readable failure. */
function agree(engines: HotPaths[], f: (e: HotPaths) => number, what: string): number {
  const results = engines.map(f);
  const want = results[results.length - 1]!; // the reference engine comes last
  results.forEach((r, i) => {
    if (r !== want) {
      assert.unreachable(`${what}: ${engines[i]!.kind} gave ${hex(r)}, reference ${hex(want)}`);
    }
  });
  return want;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

test("engines under test: SIMD, scalar and reference all run here", () => {
  const { engines } = setup();
  assert.equal(engines.map((e) => e.kind), [...KINDS]);
});

test("K1: RFC 1071 §3 example: sum 0xddf2, checksum 0x220d in every engine, even and odd offsets", () => {
  const { arena, engines, a } = setup();
  for (const off of [a, a + 1, a + 7]) {
    arena.u8.set(RFC1071_WORDS, off);
    for (const e of engines) {
      assert.is(e.checksum(off, 8, 0), 0xddf2, `${e.kind} at +${off - a}`);
      assert.is(finishChecksum(e.checksum(off, 8, 0)), 0x220d, e.kind);
    }
  }
  assert.is(refChecksum(new Uint8Array(RFC1071_WORDS), 0, 8, 0), 0xddf2);
});

test("K1: an odd trailing byte is the high byte of a zero-padded word", () => {
  const { arena, engines, a } = setup();
  arena.u8.set([0x12, 0x34, 0xab], a + 3);
  for (const e of engines) {
    assert.is(e.checksum(a + 3, 3, 0), 0x1234 + 0xab00, e.kind);
    assert.is(e.checksum(a + 5, 1, 0), 0xab00, e.kind);
    assert.is(e.checksum(a + 5, 0, 0x1_2345), 0x2346, `${e.kind}: initial is folded`);
  }
});

test("K2: a buffer with its checksum field filled in sums to 0xffff (every engine)", () => {
  const { arena, engines, a } = setup();
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 700 }),
      fc.integer({ min: 0, max: 15 }),
      fc.integer(),
      (words, align, seed) => {
        const off = a + align;
        const len = words * 2;
        const field = off + 2 * (Math.abs(seed) % words);
        const u8 = arena.u8;
        fillRandom(u8, off, len, seed);
        u8[field] = u8[field + 1] = 0;
        for (const e of engines) {
          const c = finishChecksum(e.checksum(off, len, 0));
          u8[field] = c >>> 8;
          u8[field + 1] = c & 0xff;
          assert.is(e.checksum(off, len, 0), 0xffff, e.kind);
          u8[field] = u8[field + 1] = 0;
        }
      },
    ),
    { seed: testSeed(), numRuns: 500 },
  );
});

test("K3: RFC 1624 §4 example: HC 0xdd2f, m 0x5555 → 0x3285 gives 0x0000; RFC 1141 form gives −0", () => {
  const { engines } = setup();
  for (const e of engines) assert.is(e.csumUpdate16(0xdd2f, 0x5555, 0x3285), 0x0000, e.kind);
  // RFC 1141: HC' = HC + m + ~m' (one's complement sum), which yields 0xffff here.
  let s = 0xdd2f + 0x5555 + (~0x3285 & 0xffff);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  assert.is(s, 0xffff);
});

test("K3: incremental 16- and 32-bit updates equal full recomputation on random edits", () => {
  const { arena, engines, a } = setup();
  fc.assert(
    fc.property(
      fc.integer({ min: 4, max: 400 }),
      fc.integer({ min: 0, max: 7 }),
      fc.integer(),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.boolean(),
      (words, align, seed, value, wide) => {
        const off = a + 2 * align;
        const len = words * 2;
        const u8 = arena.u8;
        fillRandom(u8, off, len, seed);
        // Checksum field at word 0; the edited field somewhere after it.
        const field = off;
        const at = off + 2 + 2 * ((seed >>> 1) % (words - (wide ? 2 : 1)));
        for (const e of engines) {
          u8[field] = u8[field + 1] = 0;
          const hc = finishChecksum(e.checksum(off, len, 0));
          const m = wide ? readU32(u8, at) : (u8[at]! << 8) | u8[at + 1]!;
          const m2 = wide ? value : value & 0xffff;
          if (wide) writeU32(u8, at, m2);
          else writeU16(u8, at, m2);
          const incremental = wide ? e.csumUpdate32(hc, m, m2) : e.csumUpdate16(hc, m, m2);
          const full = finishChecksum(e.checksum(off, len, 0));
          if (e.checksum(off, len, 0) === 0) {
            // All-zero data: eqn. 3 gives +0 where recomputation gives −0, the
            // same one's-complement value (RFC 1624 §3 only rules this out for
            // headers that cannot be all zero).
            assert.is(incremental % 0xffff, full % 0xffff, e.kind);
          } else {
            assert.is(incremental, full, `${e.kind} ${wide ? 32 : 16}-bit edit`);
          }
          if (wide) writeU32(u8, at, m);
          else writeU16(u8, at, m);
        }
      },
    ),
    { seed: testSeed(), numRuns: 2000 },
  );
});

function readU32(u8: Uint8Array, p: number): number {
  return ((u8[p]! << 24) | (u8[p + 1]! << 16) | (u8[p + 2]! << 8) | u8[p + 3]!) >>> 0;
}

function writeU16(u8: Uint8Array, p: number, v: number): void {
  u8[p] = v >>> 8;
  u8[p + 1] = v;
}

function writeU32(u8: Uint8Array, p: number, v: number): void {
  u8[p] = v >>> 24;
  u8[p + 1] = v >>> 16;
  u8[p + 2] = v >>> 8;
  u8[p + 3] = v;
}

test("K6: SIMD, scalar and reference agree on 10,000 random buffers (len 0–9000, any alignment, any initial)", () => {
  const { arena, engines, a } = setup();
  fc.assert(
    fc.property(
      fc.integer(),
      fc.integer({ min: 0, max: 9000 }),
      fc.integer({ min: 0, max: 63 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (seed, len, align, initial) => {
        const off = a + align;
        fillRandom(arena.u8, off, len, seed);
        agree(engines, (e) => e.checksum(off, len, initial), `len ${len} align ${align}`);
      },
    ),
    { seed: testSeed(), numRuns: 10_000 },
  );
});

test("K6: every length 0–300 at every alignment 0–15 agrees across engines", () => {
  const { arena, engines, a } = setup();
  fillRandom(arena.u8, a, 400, 7);
  for (let align = 0; align < 16; align++) {
    for (let len = 0; len <= 300; len++) {
      agree(engines, (e) => e.checksum(a + align, len, 0x1234), `len ${len} align ${align}`);
    }
  }
});

test("K6: buffers at the very start of memory (SIMD tail cannot look back 16 bytes) agree", () => {
  const { arena, engines } = setup();
  fillRandom(arena.u8, 0, 64, 3);
  for (let off = 0; off < 16; off++) {
    for (let len = 0; len <= 32; len++) {
      agree(engines, (e) => e.checksum(off, len, 0), `off ${off} len ${len}`);
    }
  }
});

test("K6: long buffers across the SIMD 1 MiB flush, all-0xff (largest lane sums) and random", () => {
  const size = 3 * 1024 * 1024 + 128;
  const { arena, engines } = arenaWithEngines(
    new Arena({ classes: [{ size, max: 2, initial: 2 }] }),
  );
  const off = arena.tryAllocSlot(size);
  const dst = arena.tryAllocSlot(size);
  const lengths = [1 << 20, (1 << 20) - 1, (1 << 20) + 17, 3 << 20, (3 << 20) + 63];
  for (const fill of ["ff", "random"] as const) {
    if (fill === "ff") arena.u8.fill(0xff, off, off + size);
    else fillRandom(arena.u8, off, size, 99);
    for (const len of lengths) {
      for (const align of [0, 1]) {
        const src = off + align;
        const sum = agree(engines, (e) => e.checksum(src, len, 0xfffe), `${fill} len ${len}`);
        const copySum = agree(engines, (e) => {
          arena.u8.fill(0, dst, dst + size);
          const s = e.checksumCopy(src, dst + 1 - align, len, 0xfffe);
          const u8 = arena.u8;
          if (
            !bytesEqual(
              u8.subarray(dst + 1 - align, dst + 1 - align + len),
              u8.subarray(src, src + len),
            )
          ) {
            assert.unreachable(`${e.kind}: long copy differs`);
          }
          return s;
        }, `${fill} copy len ${len}`);
        assert.is(copySum, sum);
      }
    }
  }
});

test("checksumCopy: engines agree on 10,000 random copies and every copy is exact", () => {
  const { arena, engines, a, b } = setup();
  fc.assert(
    fc.property(
      fc.integer(),
      fc.integer({ min: 0, max: 9000 }),
      fc.integer({ min: 0, max: 63 }),
      fc.integer({ min: 0, max: 63 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (seed, len, sa, da, initial) => {
        const src = a + sa;
        const dst = b + da;
        const u8 = arena.u8;
        fillRandom(u8, src, len, seed);
        const want = u8.slice(src, src + len);
        const sum = agree(engines, (e) => {
          u8.fill(0, b, b + 9100);
          const s = e.checksumCopy(src, dst, len, initial);
          if (!bytesEqual(u8.subarray(dst, dst + len), want)) {
            assert.unreachable(`${e.kind}: copy differs (len ${len})`);
          }
          assert.is(u8[dst + len], 0, `${e.kind} wrote past the end`);
          if (da > 0) assert.is(u8[dst - 1], 0, `${e.kind} wrote before the start`);
          return s;
        }, `len ${len}`);
        assert.is(sum, refChecksum(want, 0, len, initial));
      },
    ),
    { seed: testSeed(), numRuns: 10_000 },
  );
});

test("checksumCopy: overlapping ranges behave like memmove in every engine", () => {
  const { arena, engines, a } = setup();
  fc.assert(
    fc.property(
      fc.integer(),
      fc.integer({ min: 0, max: 4000 }),
      fc.integer({ min: 0, max: 4000 }),
      fc.integer({ min: 0, max: 4000 }),
      (seed, len, so, dof) => {
        const src = a + so;
        const dst = a + dof;
        const u8 = arena.u8;
        const results: Uint8Array[] = [];
        agree(engines, (e) => {
          fillRandom(u8, a, 9000, seed);
          const s = e.checksumCopy(src, dst, len, 0);
          results.push(u8.slice(a, a + 9000));
          return s;
        }, `overlap ${so}→${dof} len ${len}`);
        fillRandom(u8, a, 9000, seed);
        u8.copyWithin(dst, src, src + len);
        for (const r of results) assert.ok(bytesEqual(r, u8.subarray(a, a + 9000)));
      },
    ),
    { seed: testSeed(), numRuns: 300 },
  );
});

function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

test("gather / gatherChecksum: engines agree on 10,000 random descriptor lists", () => {
  const { arena, engines, a, b } = setup();
  const desc = 4096; // scratch area
  fc.assert(
    fc.property(
      fc.integer(),
      fc.array(fc.record({ off: fc.nat(8999), len: fc.nat(600) }), { maxLength: 16, size: "max" }),
      fc.integer({ min: 0, max: 7 }),
      fc.integer({ min: 0, max: 0xffff }),
      (seed, segs, da, initial) => {
        const u8 = arena.u8;
        const view = arena.view;
        fillRandom(u8, a, 9100, seed);
        const parts = segs.map((s) => {
          const len = Math.min(s.len, 9100 - s.off);
          return { off: a + s.off, len };
        });
        parts.forEach((p, i) => {
          view.setUint32(desc + 8 * i, p.off, true);
          view.setUint32(desc + 8 * i + 4, p.len, true);
        });
        const want = concat(parts.map((p) => u8.slice(p.off, p.off + p.len)));
        const dst = b + da;
        for (const e of engines) {
          u8.fill(0, b, b + 9100);
          assert.is(e.gather(desc, parts.length, dst), want.length, e.kind);
          assert.ok(
            bytesEqual(u8.subarray(dst, dst + want.length), want),
            `${e.kind}: gathered bytes`,
          );
        }
        const sum = agree(engines, (e) => {
          u8.fill(0, b, b + 9100);
          return e.gatherChecksum(desc, parts.length, dst, initial);
        }, `gatherChecksum of ${parts.length} segments`);
        assert.ok(bytesEqual(u8.subarray(dst, dst + want.length), want));
        assert.is(sum, refChecksum(want, 0, want.length, initial));
      },
    ),
    { seed: testSeed(), numRuns: 10_000 },
  );
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test("checksumBatch: one call sums many buffers like per-buffer calls", () => {
  const { arena, engines, a } = setup();
  const desc = 4096;
  const out = 8192;
  fillRandom(arena.u8, a, 9100, 5);
  const lens = [0, 1, 2, 63, 64, 65, 1460, 1461, 9000 - 13];
  lens.forEach((len, i) => {
    arena.view.setUint32(desc + 8 * i, a + i, true);
    arena.view.setUint32(desc + 8 * i + 4, len, true);
  });
  for (const e of engines) {
    arena.u8.fill(0xee, out, out + 4 * lens.length);
    assert.is(e.checksumBatch(desc, lens.length, out), lens.length);
    lens.forEach((len, i) => {
      assert.is(
        arena.view.getUint32(out + 4 * i, true),
        refChecksum(arena.u8, a + i, len, 0),
        e.kind,
      );
    });
  }
});

test("K5: ipv4PseudoSum equals the sum of the 12-byte pseudo-header; engines agree", () => {
  const { arena, engines, a } = setup();
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 0xffff }),
      (src, dst, proto, length) => {
        const u8 = arena.u8;
        writeU32(u8, a, src);
        writeU32(u8, a + 4, dst);
        u8.set([0, proto, length >>> 8, length & 0xff], a + 8);
        const want = refChecksum(u8, a, 12, 0);
        const got = agree(engines, (e) => e.ipv4PseudoSum(src, dst, proto, length), "pseudo");
        assert.is(got, want);
      },
    ),
    { seed: testSeed(), numRuns: 1000 },
  );
});

test("RFC 1624 updates: engines agree on random (hc, m, m') including 0 and 0xffff", () => {
  const { engines } = setup();
  const u16 = fc.oneof(fc.constantFrom(0, 0xffff, 1, 0xfffe), fc.integer({ min: 0, max: 0xffff }));
  const u32 = fc.oneof(fc.constantFrom(0, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
  fc.assert(
    fc.property(u16, u16, u16, u32, u32, (hc, m, m2, w, w2) => {
      agree(engines, (e) => e.csumUpdate16(hc, m, m2), "csumUpdate16");
      agree(engines, (e) => e.csumUpdate32(hc, w, w2), "csumUpdate32");
    }),
    { seed: testSeed(), numRuns: 2000 },
  );
});

test("checksum facade: arena views go to the bound engine, plain arrays to the reference", () => {
  const { arena, a } = setup();
  arena.u8.set(RFC1071_WORDS, a + 1);
  let calls = 0;
  registerChecksumEngine(arena.memory, {
    kind: "spy",
    checksum(off, len, initial) {
      calls++;
      return refChecksum(arena.u8, off, len, initial);
    },
    checksumCopy(src, _dst, len, initial) {
      calls++;
      return refChecksum(arena.u8, src, len, initial);
    },
  });
  const view = arena.u8.subarray(a); // byteOffset != 0: the facade adds it back
  assert.is(checksum(view, 1, 8), 0xddf2);
  assert.is(calls, 1);
  assert.is(checksum(new Uint8Array(RFC1071_WORDS), 0, 8), 0xddf2);
  assert.is(calls, 1);
  // Re-binding replaces the spy with WASM.
  const { engines } = arenaWithEngines(arena);
  const simd = engines[0]!;
  registerChecksumEngine(arena.memory, simd);
  assert.is(checksum(view, 1, 8), 0xddf2);
  assert.is(checksumCopy(view, 1, 101, 8), 0xddf2);
  assert.is(calls, 1);
});
