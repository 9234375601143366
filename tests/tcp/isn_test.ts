import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { ipv4 } from "../../src/wire/addr.ts";
import { ISN_TICKS_PER_MS, IsnGenerator } from "../../src/tcp/isn.ts";
import { seqAfter } from "../../src/tcp/state.ts";
import { SynCookies } from "../../src/tcp/syncookies.ts";

const L = ipv4(192, 0, 2, 1);
const R = ipv4(198, 51, 100, 7);
const N = 100_000;

/** A generator on a clock the test drives. */
function gen(seed = testSeed()) {
  const clock = { t: 1_234.5 };
  return { g: new IsnGenerator({ now: () => clock.t, rng: new SeededRandom(seed) }), clock };
}

/**
 * 10^5 ISNs for distinct 4-tuples that an attacker would pick to be close
 * (consecutive local ports, then the next remote port), opened 10 µs apart.
 */
function isnSeries(seed = testSeed()): number[] {
  const { g, clock } = gen(seed);
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    out.push(g.isn(L, 1024 + (i & 0x7fff), R, 80 + (i >>> 15)));
    clock.t += 0.01;
  }
  return out;
}

/** Pearson chi-square of `counts` against a uniform expectation. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const e = total / counts.length;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}

/** Chi-square critical value for 255 degrees of freedom at p = 0.001. */
const CHI_255 = 330.5;

function byteChi(xs: number[], shift: number): number {
  const counts = new Array(256).fill(0);
  for (const x of xs) counts[(x >>> shift) & 0xff]++;
  return chiSquare(counts);
}

/** Modular inverse of an odd number mod 2^32 (Newton's iteration). */
function inverseOdd(a: number): number {
  let x = a;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(a, x));
  return x >>> 0;
}

/** How often each simple predictor guesses x[i+1] from the values before it. */
function predictorHits(xs: number[]): { step: number; lcg: number; near: number } {
  let step = 0, lcg = 0, near = 0;
  for (let i = 2; i + 1 < xs.length; i++) {
    const x0 = xs[i - 2]!, x1 = xs[i - 1]!, x2 = xs[i]!, next = xs[i + 1]!;
    // Constant increment: next = x2 + (x2 - x1).
    if (((2 * x2 - x1) >>> 0) === next) step++;
    // LCG fitted to the last three values: x2 = a*x1 + c, x1 = a*x0 + c (mod 2^32).
    const dx = (x1 - x0) >>> 0;
    if (dx & 1) {
      const a = Math.imul((x2 - x1) >>> 0, inverseOdd(dx)) >>> 0;
      const c = (x2 - Math.imul(a, x1)) >>> 0;
      if (((Math.imul(a, x2) + c) >>> 0) === next) lcg++;
    }
    // "A little after the previous one" (a bare clock or counter).
    if (((next - x2) >>> 0) < 1 << 20) near++;
  }
  return { step, lcg, near };
}

function serialCorrelation(x: number[]): number {
  const n = x.length - 1;
  let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]! / 2 ** 32, b = x[i + 1]! / 2 ** 32;
    sa += a, sb += b, saa += a * a, sbb += b * b, sab += a * b;
  }
  return (n * sab - sa * sb) / Math.sqrt((n * saa - sa * sa) * (n * sbb - sb * sb));
}

test("ISN (MUST-9, N5): 10^5 ISNs from different 4-tuples are uniform in every byte (chi-square)", () => {
  const xs = isnSeries();
  for (const shift of [0, 8, 16, 24]) {
    const chi = byteChi(xs, shift);
    assert.ok(chi < CHI_255, `bits ${shift}-${shift + 7}: chi-square ${chi.toFixed(1)}`);
  }
  assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
  assert.ok(new Set(xs).size > N - 5, "no repeated ISNs beyond birthday chance");
});

test("ISN (MUST-9, N5): consecutive ISNs defeat constant-step, LCG, small-delta and correlation predictors", () => {
  const xs = isnSeries();
  const hits = predictorHits(xs);
  assert.ok(hits.step <= 1, `constant step predicted ${hits.step}`);
  assert.ok(hits.lcg <= 1, `LCG fit predicted ${hits.lcg}`);
  // A uniform guess lands within 2^20 with probability 2^-12: ~24 of 10^5.
  assert.ok(hits.near < 60, `${hits.near} ISNs within 2^20 after the previous`);
  const r = serialCorrelation(xs);
  assert.ok(Math.abs(r) < 0.015, `serial correlation ${r}`);

  // The predictors are not vacuous: they catch an LCG, a counter and a bare clock.
  const lcg = [12345];
  for (let i = 1; i < 1000; i++) lcg.push((Math.imul(lcg[i - 1]!, 1103515245) + 12345) >>> 0);
  assert.ok(predictorHits(lcg).lcg > 400);
  const counter = Array.from({ length: 1000 }, (_, i) => (i * 64000) >>> 0);
  assert.ok(predictorHits(counter).step > 990);
  const clockOnly = Array.from({ length: 1000 }, (_, i) => Math.floor(i * 0.01 * 250));
  assert.ok(predictorHits(clockOnly).near > 990);
});

test("ISN (MUST-8): for one 4-tuple M ticks every 4 µs, 250 per ms, monotonic across the 2^32 wrap", () => {
  const { g, clock } = gen();
  const at = (t: number) => {
    clock.t = t;
    return g.isn(L, 40000, R, 80);
  };
  const base = at(1000);
  assert.is((at(1001) - base) >>> 0, ISN_TICKS_PER_MS);
  assert.is((at(1000.00401) - base) >>> 0, 1);
  assert.is((at(1000.0039) - base) >>> 0, 0);
  assert.is((at(2000) - base) >>> 0, 250_000);

  // Random steps of up to 10 ms, past the point where M itself exceeds 2^32
  // ticks (≈ 4.77 h), starting 5·10^6 ticks (20 s) before the ISN wraps.
  const rng = new SeededRandom(testSeed());
  let t = 2 ** 32 / ISN_TICKS_PER_MS + 12_345;
  t += (2 ** 32 - at(t) - 5e6) / ISN_TICKS_PER_MS;
  let prev = at(t);
  let wrapped = false;
  for (let i = 0; i < 10_000; i++) {
    const dt = 0.004 + (rng.nextU32() / 2 ** 32) * 10;
    const expected = Math.floor((t + dt) * 250) - Math.floor(t * 250);
    t += dt;
    const x = at(t);
    assert.ok(seqAfter(x, prev), `step ${i}`);
    assert.is((x - prev) >>> 0, expected);
    if (x < prev) wrapped = true;
    prev = x;
  }
  assert.ok(wrapped, "the run crossed the 32-bit wrap");
});

test("ISN (MUST-9): F is keyed — different secrets give unrelated sequences, the same secret replays", () => {
  const a = isnSeries(1), b = isnSeries(2), a2 = isnSeries(1);
  assert.equal(a2, a, "same secret and clock: the same ISNs (deterministic replay)");
  let same = 0;
  const diff: number[] = [];
  for (let i = 0; i < N; i++) {
    if (a[i] === b[i]) same++;
    diff.push((a[i]! - b[i]!) >>> 0);
  }
  assert.ok(same <= 1, `${same} equal ISNs across secrets`);
  // If the secret only shifted F, the difference would be constant.
  for (const shift of [0, 24]) {
    assert.ok(byteChi(diff, shift) < CHI_255, `difference bits ${shift}-${shift + 7}`);
  }

  // Every field of the 4-tuple feeds F: one flipped bit changes ~16 output bits.
  const { g } = gen(3);
  const rng = new SeededRandom(testSeed());
  const fields = ["laddr", "lport", "raddr", "rport"] as const;
  for (const field of fields) {
    let flipped = 0;
    const trials = 2000;
    for (let i = 0; i < trials; i++) {
      const t = {
        laddr: rng.nextU32(),
        lport: rng.nextU32() & 0xffff,
        raddr: rng.nextU32(),
        rport: rng.nextU32() & 0xffff,
      };
      const x = g.isn(t.laddr, t.lport, t.raddr, t.rport);
      const bit = rng.nextU32() % (field.endsWith("port") ? 16 : 32);
      const u = { ...t, [field]: (t[field] ^ (1 << bit)) >>> 0 };
      const y = g.isn(u.laddr, u.lport, u.raddr, u.rport);
      let v = (x ^ y) >>> 0;
      for (; v; v &= v - 1) flipped++;
    }
    const mean = flipped / trials;
    assert.ok(mean > 15.5 && mean < 16.5, `${field}: ${mean} bits flip on average`);
  }
});

test("tsOffset (N4): per address pair, independent of ports and clock; unrelated across pairs and secrets", () => {
  const { g, clock } = gen();
  const off = g.tsOffset(L, R);
  clock.t += 1e6;
  assert.is(g.tsOffset(L, R), off, "stable over time: TSvals to one peer stay monotonic");
  assert.is.not(g.tsOffset(R, L), off, "direction matters");
  assert.is.not(g.tsOffset(L, (R + 1) >>> 0), off);
  assert.is.not(gen(testSeed() + 1).g.tsOffset(L, R), off, "another secret, another offset");
  // The timestamp key is not the ISN key: the offset is not an ISN's F term for any ports.
  clock.t = 0;
  assert.is.not(g.isn(L, 0, R, 0), off);

  const xs: number[] = [];
  for (let i = 0; i < 50_000; i++) xs.push(g.tsOffset(L, (R + i) >>> 0));
  for (const shift of [0, 24]) assert.ok(byteChi(xs, shift) < CHI_255, `bits ${shift}`);
  assert.ok(Math.abs(serialCorrelation(xs)) < 0.02);
});

test("N1 over IPv6: isn6 hashes both whole addresses and the ports, and advances 250 per ms; tsOffset6 is per address pair", () => {
  const { g, clock } = gen();
  const a6 = new Uint8Array(32);
  a6.set([0x20, 0x01, 0x0d, 0xb8], 0);
  a6[15] = 1;
  a6.set([0x20, 0x01, 0x0d, 0xb8], 16);
  a6[31] = 2;
  const base = g.isn6(a6, 40000, 80);
  const seen = new Set<number>([base]);
  for (let i = 0; i < 32; i++) {
    const b = a6.slice();
    b[i]! ^= 1;
    seen.add(g.isn6(b, 40000, 80));
  }
  seen.add(g.isn6(a6, 40001, 80));
  seen.add(g.isn6(a6, 40000, 81));
  assert.is(seen.size, 35, "every address byte and both ports change the ISN");
  clock.t += 1;
  assert.is((g.isn6(a6, 40000, 80) - base) >>> 0, ISN_TICKS_PER_MS);
  assert.is(g.tsOffset6(a6), g.tsOffset6(a6.slice()));
  const other = a6.slice();
  other[31] = 3;
  assert.is.not(g.tsOffset6(other), g.tsOffset6(a6));
  assert.is.not(
    new IsnGenerator({ now: () => clock.t, rng: new SeededRandom(99) }).isn6(a6, 1, 2),
    g.isn6(a6, 1, 2),
  );
});

test("RFC 4987 §3.6 over IPv6: make6/check6 round-trip the MSS; another address byte, port or sequence number, or two minutes, fail", () => {
  const clock = { t: 5_000 };
  const c = new SynCookies({ now: () => clock.t, rng: new SeededRandom(testSeed()) });
  const a6 = new Uint8Array(32);
  a6[0] = 0x20;
  a6[15] = 2;
  a6[16] = 0x20;
  a6[31] = 1;
  const isn = c.make6(a6, 80, 40000, 1000, 1440);
  assert.equal(c.check6(a6, 80, 40000, 1000, isn), { mss: 1440 });
  for (let i = 0; i < 32; i += 5) {
    const b = a6.slice();
    b[i]! ^= 4;
    assert.is(c.check6(b, 80, 40000, 1000, isn), null, `byte ${i}`);
  }
  assert.is(c.check6(a6, 80, 40001, 1000, isn), null);
  assert.is(c.check6(a6, 80, 40000, 2000, isn), null);
  clock.t += 120_000;
  assert.is(c.check6(a6, 80, 40000, 1000, isn), null, "expired");
});
