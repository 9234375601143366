import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { AllocPriority, Arena, DEFAULT_SIZE_CLASSES, RESERVED_BYTES } from "../../src/skb/arena.ts";

test("Arena: offset 0 and the reserved page are never handed out", () => {
  const arena = new Arena();
  const off = arena.tryAllocSlot(100);
  assert.ok(off >= RESERVED_BYTES, `slot at ${off}`);
  arena.releaseSlotAt(off);
  assert.is(arena.inUse, 0);
});

test("Arena: picks the smallest class that fits and refuses what fits none", () => {
  const arena = new Arena();
  const sizes = DEFAULT_SIZE_CLASSES.map((c) => c.size);
  const control = arena.tryAllocSlotId(14 + 60 + 60); // headers only: a SYN, an ACK
  const small = arena.tryAllocSlotId(1514 + 192);
  const jumbo = arena.tryAllocSlotId(9014 + 192);
  const big = arena.tryAllocSlotId(65535 + 14 + 192);
  assert.is(arena.slotSize(control), sizes[0]);
  assert.is(arena.slotSize(small), sizes[1]);
  assert.is(arena.slotSize(jumbo), sizes[2]);
  assert.is(arena.slotSize(big), sizes[3]);
  assert.is(arena.tryAllocSlotId(sizes[3]! + 1), -1);
  for (const id of [control, small, jumbo, big]) arena.releaseSlot(id);
  assert.is(arena.inUse, 0);
});

test("Arena: exhaustion returns -1 and counts, falling back to a larger class first (ENOBUFS, no throw)", () => {
  const arena = new Arena({ classes: [{ size: 128, max: 4, initial: 1 }, { size: 256, max: 2 }] });
  const got: number[] = [];
  for (let i = 0; i < 6; i++) got.push(arena.tryAllocSlotId(100));
  assert.ok(got.every((id) => id >= 0), "4 small + 2 larger slots");
  assert.is(arena.tryAllocSlotId(100), -1);
  const st = arena.stats();
  assert.is(st.inUse, 6);
  assert.ok(st.classes[0]!.failures >= 1);
  assert.ok(st.classes[1]!.failures >= 1);
  for (const id of got) arena.releaseSlot(id);
  assert.is(arena.inUse, 0);
});

test("Arena: memory grows lazily and views are re-derived after growth", () => {
  const arena = new Arena({ classes: [{ size: 65536, max: 8, initial: 1 }] });
  const before = arena.memory.buffer.byteLength;
  const ids = [];
  for (let i = 0; i < 8; i++) ids.push(arena.tryAllocSlotId(65536));
  assert.ok(arena.memory.buffer.byteLength > before, "memory grew");
  const last = arena.slotOffset(ids[7]!);
  arena.u8[last + 65535] = 0xab; // would throw RangeError on a stale view
  assert.is(arena.view.getUint8(last + 65535), 0xab);
  for (const id of ids) arena.releaseSlot(id);
});

test("Arena: double free and retain of a free slot throw TypeError (programmer misuse)", () => {
  const arena = new Arena();
  const id = arena.tryAllocSlotId(10);
  arena.releaseSlot(id);
  assert.throws(() => arena.releaseSlot(id), TypeError);
  assert.throws(() => arena.retainSlot(id), TypeError);
  assert.throws(() => arena.releaseSlotAt(12345), TypeError);
});

test("Arena: invalid size-class configs are rejected with RangeError", () => {
  assert.throws(() => new Arena({ classes: [] }), RangeError);
  assert.throws(() => new Arena({ classes: [{ size: 100, max: 1 }] }), RangeError);
  assert.throws(
    () => new Arena({ classes: [{ size: 256, max: 1 }, { size: 128, max: 1 }] }),
    RangeError,
  );
  assert.throws(() => new Arena({ classes: [{ size: 128, max: 0 }] }), RangeError);
});

test("Arena: random alloc/retain/release sequences never hand out a slot twice and end at zero", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ op: fc.integer({ min: 0, max: 2 }), size: fc.integer({ min: 0, max: 12000 }) }),
        { maxLength: 300 },
      ),
      (ops) => {
        const arena = new Arena({
          classes: [{ size: 2048, max: 32, initial: 4 }, { size: 16384, max: 8, initial: 1 }],
        });
        const held: number[] = []; // one entry per reference
        const owner = new Map<number, number>(); // offset -> slot id
        for (const { op, size } of ops) {
          if (op === 0 || held.length === 0) {
            const id = arena.tryAllocSlotId(size);
            if (id < 0) continue;
            const off = arena.slotOffset(id);
            assert.not.ok(owner.has(off), "slot handed out twice");
            assert.ok(arena.slotSize(id) >= size);
            owner.set(off, id);
            held.push(id);
          } else if (op === 1) {
            const id = held[size % held.length]!;
            arena.retainSlot(id);
            held.push(id);
          } else {
            const id = held.splice(size % held.length, 1)[0]!;
            arena.releaseSlot(id);
            if (arena.slotRefs(id) === 0) owner.delete(arena.slotOffset(id));
          }
        }
        assert.is(arena.inUse, owner.size);
        for (const id of held) arena.releaseSlot(id);
        assert.is(arena.inUse, 0);
      },
    ),
    { seed: testSeed(), numRuns: 200 },
  );
});

test("Arena: a shared-memory arena is backed by a SharedArrayBuffer", () => {
  const arena = new Arena({ shared: true, classes: [{ size: 2048, max: 4 }] });
  assert.ok(arena.memory.buffer instanceof SharedArrayBuffer);
  const off = arena.tryAllocSlot(10);
  arena.u8[off] = 7;
  assert.is(arena.u8[off], 7);
  arena.releaseSlotAt(off);
});

test("Arena: NORMAL allocations leave each class's reserve to ATOMIC ones (the receive path cannot be starved)", () => {
  const arena = new Arena({ classes: [{ size: 2048, max: 16, reserve: 4 }] });
  const normal: number[] = [];
  for (let id = arena.tryAllocSlotId(100, AllocPriority.NORMAL); id >= 0;) {
    normal.push(id);
    id = arena.tryAllocSlotId(100, AllocPriority.NORMAL);
  }
  assert.is(normal.length, 12, "16 slots less the reserve of 4");
  assert.is(arena.stats().classes[0]!.reserveRefusals, 1);
  // Frames from a device, ARP, pure ACKs: ATOMIC (the default) gets the reserve.
  const atomic = [0, 1, 2, 3].map(() => arena.tryAllocSlotId(100));
  assert.ok(atomic.every((id) => id >= 0), "the reserve is there for ATOMIC");
  assert.is(arena.tryAllocSlotId(100), -1, "then the class is full for everyone");
  arena.releaseSlot(normal.pop()!);
  assert.is(
    arena.tryAllocSlotId(100, AllocPriority.NORMAL),
    -1,
    "the freed slot is back in the reserve",
  );
  for (const id of [...normal, ...atomic]) arena.releaseSlot(id);
  assert.is(arena.inUse, 0);
});

test("Arena: NORMAL allocations fall through to a larger class with room beyond its reserve; bytesInUse and its high water count whole slots", () => {
  const arena = new Arena({
    classes: [{ size: 2048, max: 4, reserve: 2 }, { size: 10240, max: 4, reserve: 1 }],
    reserveFraction: 0,
  });
  const a = arena.tryAllocSlotId(100, AllocPriority.NORMAL);
  const b = arena.tryAllocSlotId(100, AllocPriority.NORMAL);
  const c = arena.tryAllocSlotId(100, AllocPriority.NORMAL); // small class at its reserve
  assert.is(arena.slotSize(c), 10240);
  assert.is(arena.bytesInUse, 2048 + 2048 + 10240);
  arena.releaseSlot(c);
  assert.is(arena.bytesInUse, 4096);
  assert.is(arena.bytesHighWater, 14336);
  arena.resetHighWater();
  assert.is(arena.bytesHighWater, 4096);
  arena.releaseSlot(a);
  arena.releaseSlot(b);
  assert.is(arena.bytesInUse, 0);
});

test("Arena: maxBytes caps the memory; the reserve fraction of it is ATOMIC-only", () => {
  const arena = new Arena({
    classes: [{ size: 2048, max: 1000, reserve: 0, initial: 1 }],
    maxBytes: 16 * 2048,
    reserveFraction: 1 / 4,
  });
  assert.is(arena.capacityBytes, 16 * 2048);
  assert.is(arena.normalLimitBytes, 12 * 2048);
  const ids: number[] = [];
  for (let id = arena.tryAllocSlotId(1, AllocPriority.NORMAL); id >= 0;) {
    ids.push(id);
    id = arena.tryAllocSlotId(1, AllocPriority.NORMAL);
  }
  assert.is(ids.length, 12);
  for (let id = arena.tryAllocSlotId(1); id >= 0; id = arena.tryAllocSlotId(1)) ids.push(id);
  assert.is(ids.length, 16, "no more than maxBytes of slots, ever");
  assert.ok(arena.memory.buffer.byteLength <= RESERVED_BYTES + 16 * 2048 + 65536);
  for (const id of ids) arena.releaseSlot(id);
  assert.throws(() => new Arena({ maxBytes: 100 }), RangeError);
  assert.throws(() => new Arena({ reserveFraction: 1 }), RangeError);
  assert.throws(() => new Arena({ classes: [{ size: 2048, max: 4, reserve: 4 }] }), RangeError);
});
