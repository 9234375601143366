import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import { Arena } from "../../src/skb/arena.ts";
import { SkbAllocator, type SkBuff } from "../../src/skb/skbuff.ts";
import { SkbQueue } from "../../src/skb/queue.ts";

test("SkbQueue: behaves like an array model under random push/unshift/shift/pop/unlink/insert", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat(1000)), { maxLength: 200 }),
      (ops) => {
        const arena = new Arena({ classes: [{ size: 128, max: 256 }] });
        const skbs = new SkbAllocator(arena);
        const q = new SkbQueue();
        const model: SkBuff[] = [];
        let id = 0;
        const make = () => {
          const s = skbs.alloc(8, { headroom: 0 })!;
          s.put(id % 8);
          s.seq = id++;
          return s;
        };
        for (const [op, n] of ops) {
          if (op === 0) {
            const s = make();
            q.push(s);
            model.push(s);
          } else if (op === 1) {
            const s = make();
            q.unshift(s);
            model.unshift(s);
          } else if (op === 2) {
            const s = q.shift();
            assert.is(s, model.shift() ?? null);
            s?.free();
          } else if (op === 3) {
            const s = q.pop();
            assert.is(s, model.pop() ?? null);
            s?.free();
          } else if (op === 4 && model.length > 0) {
            const s = model.splice(n % model.length, 1)[0]!;
            q.unlink(s);
            s.free();
          } else if (op === 5 && model.length > 0) {
            const i = n % model.length;
            const s = make();
            q.insertAfter(model[i]!, s);
            model.splice(i + 1, 0, s);
          }
          assert.is(q.length, model.length);
          assert.is(q.bytes, model.reduce((a, s) => a + s.len, 0));
        }
        assert.equal([...q].map((s) => s.seq), model.map((s) => s.seq));
        assert.is(q.purge(), model.length);
        assert.is(arena.inUse, 0);
      },
    ),
    { seed: testSeed(), numRuns: 200 },
  );
});

test("SkbQueue: a buffer cannot sit on two queues or be freed while queued", () => {
  const skbs = new SkbAllocator(new Arena());
  const a = new SkbQueue();
  const b = new SkbQueue();
  const s = skbs.alloc(10)!;
  a.push(s);
  assert.throws(() => b.push(s), TypeError);
  assert.throws(() => b.unlink(s), TypeError);
  assert.throws(() => s.free(), TypeError);
  a.unlink(s);
  s.free();
  assert.throws(() => a.push(s), TypeError, "freed buffers are refused");
});

test("SkbQueue: truesize sums whole slots and is charged to the account on the way in and out", () => {
  const skbs = new SkbAllocator(new Arena());
  const charged = {
    bytes: 0,
    charge(n: number) {
      this.bytes += n;
    },
    uncharge(n: number) {
      this.bytes -= n;
    },
  };
  const q = new SkbQueue();
  q.account = charged;
  const a = skbs.alloc(10)!; // a 256-byte slot for 10 bytes (and its headroom)
  const b = skbs.alloc(5000)!; // a 10 KiB slot
  q.push(a);
  q.insertBefore(a, b);
  assert.is(q.truesize, 256 + 10240);
  assert.is(charged.bytes, q.truesize);
  assert.is(a.truesize, 256);
  q.unlink(b);
  assert.is(q.truesize, 256);
  q.purge();
  b.free();
  assert.is(q.truesize, 0);
  assert.is(charged.bytes, 0);
});
