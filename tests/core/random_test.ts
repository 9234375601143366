import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { CryptoRandom, randomFloat, randomInt, SeededRandom } from "../../src/core/random.ts";

test("SeededRandom: same seed, same sequence; different seeds differ", () => {
  const a = new SeededRandom(7), b = new SeededRandom(7), c = new SeededRandom(8);
  const xs = Array.from({ length: 100 }, () => a.nextU32());
  assert.equal(Array.from({ length: 100 }, () => b.nextU32()), xs);
  assert.not.equal(Array.from({ length: 100 }, () => c.nextU32()), xs);
  assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
});

test("SeededRandom: every bit is close to uniform over 100,000 draws", () => {
  const rng = new SeededRandom(1);
  const ones = new Array(32).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const x = rng.nextU32();
    for (let b = 0; b < 32; b++) ones[b] += (x >>> b) & 1;
  }
  // 5 standard deviations of a fair coin over n draws: ~0.8 % of n.
  for (let b = 0; b < 32; b++) {
    assert.ok(Math.abs(ones[b] / n - 0.5) < 0.008, `bit ${b}: ${ones[b] / n}`);
  }
});

test("randomInt: unbiased bounds and range checks", () => {
  const rng = new SeededRandom(3);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60_000; i++) counts[randomInt(rng, 6)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `${c}`);
  assert.throws(() => randomInt(rng, 0), RangeError);
  assert.throws(() => randomInt(rng, 1.5), RangeError);
  const f = randomFloat(rng);
  assert.ok(f >= 0 && f < 1);
});

test("CryptoRandom: fills large and shared buffers", () => {
  const rng = new CryptoRandom();
  const big = new Uint8Array(200_000);
  rng.fill(big);
  assert.ok(big.some((x) => x !== 0));
  const shared = new Uint8Array(new SharedArrayBuffer(64));
  rng.fill(shared);
  assert.ok(shared.some((x) => x !== 0));
  assert.ok(rng.nextU32() >= 0);
});
