/**
 * Shared fixtures for the tests/wasm suites: one arena bound to every engine
 * the host supports, and a fast seeded byte filler (fast-check draws the seed;
 * generating 9 KB buffers byte by byte through fast-check would dominate the run).
 *
 * @module
 */
import { Arena } from "../../src/skb/arena.ts";
import { bindHotPaths, engineSupported, type HotPaths } from "../../src/wasm/bindings.ts";

/** Engines in preference order. */
export const KINDS = ["simd", "scalar", "reference"] as const;

/**
 * A fresh arena and one HotPaths per engine this host runs, all over the same
 * memory (so they see identical bytes).
 *
 * @example
 * ```ts
 * import { arenaWithEngines } from "./_engines.ts";
 * const { arena, engines } = arenaWithEngines();
 * engines.map((e) => e.kind); // ["simd", "scalar", "reference"] under Deno
 * ```
 */
export function arenaWithEngines(
  arena: Arena = new Arena(),
): { arena: Arena; engines: HotPaths[] } {
  const shared = arena.shared;
  const engines = KINDS.filter((k) => engineSupported(k, shared)).map((engine) =>
    bindHotPaths(arena, { engine })
  );
  return { arena, engines };
}

/**
 * Fill `u8[off, off+len)` with bytes from a xorshift32 stream seeded by `seed`.
 *
 * @example
 * ```ts
 * import { fillRandom } from "./_engines.ts";
 * fillRandom(new Uint8Array(16), 0, 16, 1);
 * ```
 */
export function fillRandom(u8: Uint8Array, off: number, len: number, seed: number): void {
  let x = (seed | 0) || 0x9e3779b9;
  for (let i = 0; i < len; i++) {
    if ((i & 3) === 0) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    u8[off + i] = x >>> ((i & 3) << 3);
  }
}
