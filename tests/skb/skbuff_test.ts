import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { Arena, MAX_HEADER } from "../../src/skb/arena.ts";
import { SkbAllocator } from "../../src/skb/skbuff.ts";

function setup() {
  const arena = new Arena({ classes: [{ size: 2048, max: 8 }, { size: 10240, max: 2 }] });
  return { arena, skbs: new SkbAllocator(arena) };
}

test("SkBuff: head <= data <= tail <= end through reserve/put/push/pull/trim", () => {
  const { arena, skbs } = setup();
  const skb = skbs.alloc(100, { headroom: 0 })!;
  skb.reserve(64);
  assert.is(skb.headroom, 64);
  assert.is(skb.len, 0);
  const at = skb.put(20);
  assert.is(at, skb.head + 64);
  assert.is(skb.len, 20);
  skb.push(14);
  assert.is(skb.len, 34);
  assert.is(skb.headroom, 50);
  assert.is(skb.pull(14), skb.head + 64);
  assert.is(skb.pull(1000), -1, "pull past the end changes nothing");
  assert.is(skb.len, 20);
  skb.trim(5);
  assert.is(skb.len, 5);
  skb.trim(50);
  assert.is(skb.len, 5, "trim never grows");
  assert.ok(skb.head <= skb.data && skb.data <= skb.tail && skb.tail <= skb.end);
  skb.free();
  assert.is(arena.inUse, 0);
});

test("SkBuff: push past headroom and put past tailroom throw RangeError (skb_under/over_panic)", () => {
  const { skbs } = setup();
  const skb = skbs.alloc(10, { headroom: 8 })!;
  assert.throws(() => skb.push(9), RangeError);
  assert.throws(() => skb.put(skb.tailroom + 1), RangeError);
  skb.put(1);
  assert.throws(() => skb.reserve(1), RangeError, "reserve needs an empty buffer");
  skb.free();
});

test("SkBuff: default headroom is MAX_HEADER", () => {
  const { skbs } = setup();
  const skb = skbs.alloc(1460)!;
  assert.is(skb.headroom, MAX_HEADER);
  assert.ok(skb.tailroom >= 1460);
  skb.free();
});

test("SkBuff: clone shares data; the slot is released only with the last reference", () => {
  const { arena, skbs } = setup();
  const skb = skbs.alloc(4, { headroom: 0 })!;
  skb.append(new Uint8Array([1, 2, 3, 4]));
  skb.seq = 1000;
  skb.endSeq = 1004;
  const c = skb.clone()!;
  assert.is(c.data, skb.data);
  assert.is(c.seq, 1000);
  assert.ok(skb.isShared && c.isShared);
  arena.u8[skb.data] = 9;
  assert.is(c.bytes()[0], 9, "same bytes");
  c.pull(2); // headers are private: offsets move independently
  assert.is(skb.len, 4);
  skb.free();
  assert.is(arena.inUse, 1, "clone still holds the slot");
  assert.not.ok(c.isShared);
  c.free();
  assert.is(arena.inUse, 0);
  assert.is(skbs.live, 0);
});

test("SkBuff: copy is private and keeps header offsets relative to head", () => {
  const { arena, skbs } = setup();
  const skb = skbs.alloc(8, { headroom: 16 })!;
  skb.append(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  skb.networkHeader = skb.data + 2;
  const c = skbs.copy(skb)!;
  assert.equal([...c.bytes()], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.is(c.networkHeader - c.head, skb.networkHeader - skb.head);
  arena.u8[c.data] = 99;
  assert.is(skb.bytes()[0], 1);
  skb.free();
  c.free();
  assert.is(arena.inUse, 0);
});

test("SkbAllocator: exhaustion returns null and counts (ENOBUFS), never throws", () => {
  const { arena, skbs } = setup();
  const held = [];
  for (;;) {
    const s = skbs.alloc(100);
    if (s === null) break;
    held.push(s);
    assert.ok(held.length <= 10, "bounded by the arena");
  }
  assert.is(held.length, 10);
  assert.is(skbs.failures, 1);
  assert.is(skbs.alloc(20000), null, "larger than any class");
  for (const s of held) s.free();
  assert.is(arena.inUse, 0);
  assert.is(skbs.live, 0);
});

test("SkbAllocator: double free and use of a freed buffer throw TypeError", () => {
  const { skbs } = setup();
  const skb = skbs.alloc(10)!;
  skb.free();
  assert.throws(() => skb.free(), TypeError);
  assert.throws(() => skbs.clone(skb), TypeError);
});

test("SkbAllocator: headers are pooled (no new objects in the steady state)", () => {
  const { skbs } = setup();
  const a = skbs.alloc(10)!;
  a.free();
  const b = skbs.alloc(10)!;
  assert.is(b, a, "the pooled header is reused");
  assert.is(b.seq, 0, "metadata reset");
  b.free();
});
