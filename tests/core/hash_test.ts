import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { KeyedHash } from "../../src/core/hash.ts";
import { SeededRandom } from "../../src/core/random.ts";

// Reference HalfSipHash-2-4 32-bit vectors: key bytes 00..07, message bytes 00..len-1,
// output little-endian (vectors_hsip32[4], [8], [12], [16] of the reference code).
const KEY: [number, number] = [0x03020100, 0x07060504];
const W = [0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c];

test("KeyedHash: matches the HalfSipHash-2-4 reference vectors for 4, 8, 12 and 16 bytes", () => {
  const h = new KeyedHash(new SeededRandom(0), KEY);
  assert.is(h.hash1(W[0]!), 0x89466e2a);
  assert.is(h.hash2(W[0]!, W[1]!), 0x8f84b8d0);
  assert.is(h.hash3(W[0]!, W[1]!, W[2]!), 0x2f87f057);
  assert.is(h.hash4(W[0]!, W[1]!, W[2]!, W[3]!), 0x84acb5d9);
});

test("KeyedHash: different keys give unrelated outputs; output bits are balanced", () => {
  const a = new KeyedHash(new SeededRandom(1));
  const b = new KeyedHash(new SeededRandom(2));
  let same = 0;
  const ones = new Array(32).fill(0);
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const x = a.hash3(0xc0000201, 0xc0000202, i);
    if (x === b.hash3(0xc0000201, 0xc0000202, i)) same++;
    for (let k = 0; k < 32; k++) ones[k] += (x >>> k) & 1;
  }
  assert.ok(same < 3, `${same} collisions between keys`);
  for (let k = 0; k < 32; k++) assert.ok(Math.abs(ones[k] / n - 0.5) < 0.02, `bit ${k}`);
});
