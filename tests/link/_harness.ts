/**
 * Shared fixtures for the link-layer tests: a fresh arena, allocator and
 * virtual clock per test, a leak check, and numbered test frames.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { Arena, type ArenaOptions } from "../../src/skb/arena.ts";
import { SkbAllocator, type SkBuff } from "../../src/skb/skbuff.ts";
import { VirtualClock } from "../../src/core/clock.ts";

/** Ethertype used for test frames (IEEE 802 local experimental). */
export const TEST_ETHERTYPE = 0x88b5;
/** Offset of the frame id in a test frame (three big-endian copies follow). */
export const ID_OFFSET = 14;

/** A per-test world with a leak check. */
export interface LinkEnv {
  readonly arena: Arena;
  readonly allocator: SkbAllocator;
  readonly clock: VirtualClock;
  /** Assert every arena slot and SkBuff header taken since creation was returned. */
  assertNoLeak(): void;
}

/**
 * A fresh arena, allocator and virtual clock.
 *
 * @example
 * ```ts
 * const env = linkEnv();
 * env.assertNoLeak();
 * ```
 */
export function linkEnv(options: ArenaOptions = {}, start = 0): LinkEnv {
  const arena = new Arena(options);
  const allocator = new SkbAllocator(arena);
  const clock = new VirtualClock(start);
  const inUse = arena.inUse;
  const live = allocator.live;
  return {
    arena,
    allocator,
    clock,
    assertNoLeak() {
      assert.is(arena.inUse, inUse, "arena slots leaked");
      assert.is(allocator.live, live, "SkBuff headers leaked");
    },
  };
}

/**
 * Fill `u8[off, off+len)` with test frame `id`: broadcast destination, a
 * fixed source, {@link TEST_ETHERTYPE}, the id three times (so a single bit
 * flip cannot hide which frame it was), then a pattern derived from the id.
 */
export function writeTestFrame(u8: Uint8Array, off: number, len: number, id: number): void {
  for (let i = 0; i < 6; i++) u8[off + i] = 0xff;
  for (let i = 0; i < 6; i++) u8[off + 6 + i] = i === 0 ? 0x02 : i;
  u8[off + 12] = TEST_ETHERTYPE >>> 8;
  u8[off + 13] = TEST_ETHERTYPE & 0xff;
  for (let k = 0; k < 3; k++) {
    const at = off + ID_OFFSET + 4 * k;
    if (at + 4 > off + len) break;
    u8[at] = id >>> 24;
    u8[at + 1] = id >>> 16;
    u8[at + 2] = id >>> 8;
    u8[at + 3] = id;
  }
  for (let i = ID_OFFSET + 12; i < len; i++) u8[off + i] = (id * 31 + i * 7) & 0xff;
}

/**
 * Allocate test frame `id` of `len` bytes (≥ 26), or fail the test.
 *
 * @example
 * ```ts
 * const env = linkEnv();
 * const skb = testFrame(env.allocator, 7);
 * readId(skb); // 7
 * skb.free();
 * ```
 */
export function testFrame(allocator: SkbAllocator, id: number, len = 64): SkBuff {
  const skb = allocator.alloc(len);
  if (skb === null) throw new Error(`test frame ${id}: arena exhausted`);
  const at = skb.put(len);
  writeTestFrame(allocator.arena.u8, at, len, id);
  return skb;
}

/** The id of a test frame, by majority of its three copies (survives one corrupted copy). */
export function readId(skb: SkBuff): number {
  const u8 = skb.arena.u8;
  const at = skb.data + ID_OFFSET;
  const v = (k: number) =>
    ((u8[at + 4 * k]! << 24) | (u8[at + 4 * k + 1]! << 16) | (u8[at + 4 * k + 2]! << 8) |
      u8[at + 4 * k + 3]!) >>> 0;
  const a = v(0), b = v(1), c = v(2);
  return a === b || a === c ? a : b;
}

/** Number of differing bits between two equal-length byte ranges. */
export function bitDistance(x: Uint8Array, y: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < x.length; i++) {
    let v = x[i]! ^ y[i]!;
    while (v) {
      d += v & 1;
      v >>>= 1;
    }
  }
  return d;
}

/** FNV-1a of a byte range, for compact traces. */
export function fnv1a(u8: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ u8[i]!, 0x01000193);
  return h >>> 0;
}
