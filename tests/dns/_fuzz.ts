/**
 * Seeded malformed DNS messages for the parser and resolver fuzz tests.
 *
 * @module
 */
import { SeededRandom } from "../../src/core/random.ts";

/**
 * Malformed responses: valid ones mutated (bit flips, truncation, pointer
 * rewrites, count and length edits) plus random bytes.
 */
export function malformedResponses(
  seed: number,
  n: number,
  base: Uint8Array[],
): Generator<Uint8Array> {
  const rng = new SeededRandom(seed);
  const int = (k: number) => rng.nextU32() % k;
  return (function* () {
    for (let i = 0; i < n; i++) {
      const src = base[int(base.length)]!;
      let m: Uint8Array;
      switch (int(6)) {
        case 0: {
          m = src.slice();
          for (let k = 1 + int(4); k > 0; k--) {
            const at = int(m.length);
            m[at] = m[at]! ^ (1 << int(8));
          }
          break;
        }
        case 1:
          m = src.slice(0, int(src.length));
          break;
        case 2: {
          // A compression pointer somewhere, to anywhere (loops, forward jumps).
          m = src.slice();
          const at = 12 + int(Math.max(1, m.length - 13));
          m[at] = 0xc0 | int(4);
          m[at + 1] = int(256);
          break;
        }
        case 3: {
          m = src.slice();
          const field = 4 + 2 * int(4);
          m[field] = int(3);
          m[field + 1] = int(256);
          break;
        }
        case 4: {
          m = new Uint8Array(int(600));
          rng.fill(m);
          break;
        }
        default: {
          // An RDLENGTH or label length rewritten.
          m = src.slice();
          const at = 12 + int(Math.max(1, m.length - 12));
          m[at] = int(256);
          break;
        }
      }
      yield m;
    }
  })();
}
