import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import {
  type HotPaths,
  RANGE_FULL,
  RANGE_INVALID,
  rangeTableBytes,
} from "../../src/wasm/bindings.ts";
import { SCRATCH_OFFSET } from "../../src/skb/arena.ts";
import { arenaWithEngines } from "./_engines.ts";

/** Where each engine keeps its own table, and a SACK output area, in scratch memory. */
const TAB_STRIDE = 4096;
const SACK_OUT = SCRATCH_OFFSET + 3 * TAB_STRIDE;

function tables(): { engines: HotPaths[]; view: () => DataView; tab: (i: number) => number } {
  const { arena, engines } = arenaWithEngines();
  return {
    engines,
    view: () => arena.view,
    tab: (i) => SCRATCH_OFFSET + i * TAB_STRIDE,
  };
}

/** The ranges of one table as [start, end] pairs. */
function read(view: DataView, tab: number): [number, number][] {
  const n = view.getUint32(tab, true);
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    out.push([view.getUint32(tab + 8 + 8 * i, true), view.getUint32(tab + 12 + 8 * i, true)]);
  }
  return out;
}

test("range table: merges across the 2^32 wrap and keeps ranges sorted in sequence order", () => {
  const { engines, view, tab } = tables();
  engines.forEach((e, i) => {
    const t = tab(i);
    e.rangeInit(t, 8);
    assert.is(e.rangeInsert(t, 0x10, 0x20), 1, e.kind);
    assert.is(e.rangeInsert(t, 0xfffffff0, 0xfffffff8), 2, e.kind);
    assert.equal(read(view(), t), [[0xfffffff0, 0xfffffff8], [0x10, 0x20]], e.kind);
    assert.is(e.rangeInsert(t, 0xfffffff8, 0x10), 1, `${e.kind}: touching on both sides merges`);
    assert.equal(read(view(), t), [[0xfffffff0, 0x20]], e.kind);
    assert.is(e.rangeFind(t, 0), 0, e.kind);
    assert.is(e.rangeFind(t, 0x20), -1, `${e.kind}: half-open`);
    assert.is(e.rangeCovered(t, 0xffffff00, 0x100), 0x30, e.kind);
  });
});

test("range table: a full table refuses a new entry and stays unchanged, but still merges", () => {
  const { engines, view, tab } = tables();
  engines.forEach((e, i) => {
    const t = tab(i);
    e.rangeInit(t, 2);
    e.rangeInsert(t, 100, 200);
    e.rangeInsert(t, 300, 400);
    const before = read(view(), t);
    assert.is(e.rangeInsert(t, 500, 600), RANGE_FULL, e.kind);
    assert.equal(read(view(), t), before, e.kind);
    assert.is(e.rangeInsert(t, 150, 350), 1, `${e.kind}: a bridging insert frees entries`);
    assert.is(e.rangeInsert(t, 500, 600), 2, e.kind);
    assert.is(e.rangeInsert(t, 10, 5), RANGE_INVALID, e.kind);
    assert.is(e.rangeInsert(t, 7, 7), 2, `${e.kind}: empty range is a no-op`);
  });
});

test("range table: advance drops covered ranges and trims a straddling one (RCV.NXT moves)", () => {
  const { engines, view, tab } = tables();
  engines.forEach((e, i) => {
    const t = tab(i);
    e.rangeInit(t, 8);
    e.rangeInsert(t, 0xffffff00, 0xffffff10);
    e.rangeInsert(t, 0x20, 0x40);
    e.rangeInsert(t, 0x80, 0x90);
    assert.is(e.rangeAdvance(t, 0x30), 2, e.kind);
    assert.equal(read(view(), t), [[0x30, 0x40], [0x80, 0x90]], e.kind);
    assert.is(e.rangeAdvance(t, 0x40), 1, `${e.kind}: a range ending at seq goes`);
    assert.is(e.rangeAdvance(t, 0x10), 1, `${e.kind}: advancing behind changes nothing`);
    assert.equal(read(view(), t), [[0x80, 0x90]], e.kind);
  });
});

test("range table: SACK blocks put the range holding the newest segment first (RFC 2018 §4)", () => {
  const { engines, view, tab } = tables();
  engines.forEach((e, i) => {
    const t = tab(i);
    e.rangeInit(t, 8);
    for (const [s, f] of [[100, 200], [300, 400], [500, 600], [700, 800]]) e.rangeInsert(t, s!, f!);
    assert.is(e.rangeSack(t, 550, SACK_OUT, 3), 3, e.kind);
    const v = view();
    const got = [0, 1, 2].map((k) => [
      v.getUint32(SACK_OUT + 8 * k, true),
      v.getUint32(SACK_OUT + 8 * k + 4, true),
    ]);
    assert.equal(got, [[500, 600], [100, 200], [300, 400]], e.kind);
    assert.is(e.rangeSack(t, 50, SACK_OUT, 0), 0, e.kind);
  });
});

/** One operation on the table, with sequence numbers as offsets from a base. */
type Op =
  | { op: "insert"; s: number; e: number }
  | { op: "advance"; s: number }
  | { op: "find"; s: number }
  | { op: "covered"; s: number; e: number }
  | { op: "sack"; s: number; max: number };

const WINDOW = 3000;

function opArb(): fc.Arbitrary<Op> {
  // Half the positions on a 50-step grid, so ranges often touch or coincide exactly.
  const at = fc.oneof(
    fc.integer({ min: 0, max: WINDOW / 50 }).map((k) => k * 50),
    fc.integer({ min: 0, max: WINDOW }),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("insert" as const), s: at, e: at }) },
    {
      weight: 4,
      arbitrary: fc.tuple(at, fc.integer({ min: 0, max: 200 })).map(([s, n]) => ({
        op: "insert" as const,
        s,
        e: s + n,
      })),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("advance" as const), s: at }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("find" as const), s: at }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("covered" as const), s: at, e: at }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant("sack" as const),
        s: at,
        max: fc.integer({ min: 0, max: 4 }),
      }),
    },
  );
}

/** Maximal runs of set entries of the model, as [start, end) offsets. */
function runs(bits: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < bits.length; i++) {
    if (!bits[i]) continue;
    const s = i;
    while (i < bits.length && bits[i]) i++;
    out.push([s, i]);
  }
  return out;
}

test("range table: WASM and TS agree with a bitmap model, bases near the 2^32 wrap", () => {
  const { engines, view, tab } = tables();
  const base = fc.oneof(
    fc.integer({ min: 0, max: 2 * WINDOW }).map((d) => (0x1_0000_0000 - WINDOW - d) >>> 0),
    fc.integer({ min: 0, max: 0xffffffff }),
  );
  fc.assert(
    fc.property(
      base,
      fc.integer({ min: 1, max: 12 }),
      fc.array(opArb(), { minLength: 1, maxLength: 80, size: "max" }),
      (b, cap, ops) => {
        const seq = (x: number) => (b + x) >>> 0;
        const off = (s: number) => (s - b) >>> 0;
        const model = new Uint8Array(WINDOW + 201);
        engines.forEach((e, i) => e.rangeInit(tab(i), cap));
        for (const o of ops) {
          const want = expected(model, o, cap);
          const results = engines.map((e, i) => apply(e, tab(i), o, seq));
          for (let i = 0; i < engines.length; i++) {
            assert.equal(results[i], want, `${engines[i]!.kind} ${JSON.stringify(o)}`);
            const got = read(view(), tab(i)).map(([s, f]) => [off(s), off(f)]);
            assert.equal(got, runs(model), `${engines[i]!.kind} table after ${o.op}`);
          }
        }
      },
    ),
    { seed: testSeed(), numRuns: 400 },
  );

  /** Apply `o` to the model; returns what every engine must answer. */
  function expected(model: Uint8Array, o: Op, cap: number): unknown {
    switch (o.op) {
      case "insert": {
        if (o.e < o.s) return RANGE_INVALID;
        if (o.e === o.s) return runs(model).length;
        const next = model.slice();
        next.fill(1, o.s, o.e);
        const n = runs(next).length;
        if (n > cap) return RANGE_FULL;
        model.set(next);
        return n;
      }
      case "advance":
        model.fill(0, 0, o.s);
        return runs(model).length;
      case "find":
        return model[o.s] ? runs(model).findIndex(([s, e]) => s <= o.s && o.s < e) : -1;
      case "covered":
        return o.e <= o.s ? 0 : model.subarray(o.s, o.e).reduce((n, x) => n + x, 0);
      case "sack": {
        const r = runs(model);
        const f = r.findIndex(([s, e]) => s <= o.s && o.s < e);
        const order = f >= 0 ? [r[f]!, ...r.filter((_, i) => i !== f)] : r;
        return order.slice(0, o.max);
      }
    }
  }

  function apply(e: HotPaths, t: number, o: Op, seq: (x: number) => number): unknown {
    switch (o.op) {
      case "insert":
        return e.rangeInsert(t, seq(o.s), seq(o.e));
      case "advance":
        return e.rangeAdvance(t, seq(o.s));
      case "find":
        return e.rangeFind(t, seq(o.s));
      case "covered":
        return e.rangeCovered(t, seq(o.s), seq(o.e));
      case "sack": {
        const n = e.rangeSack(t, seq(o.s), SACK_OUT, o.max);
        const v = view();
        const blocks: [number, number][] = [];
        for (let k = 0; k < n; k++) {
          blocks.push([
            (v.getUint32(SACK_OUT + 8 * k, true) - seq(0)) >>> 0,
            (v.getUint32(SACK_OUT + 8 * k + 4, true) - seq(0)) >>> 0,
          ]);
        }
        return blocks;
      }
    }
  }
});

test("range table: engines agree byte for byte on long random workloads (cap 64)", () => {
  const { engines, view, tab } = tables();
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(fc.tuple(fc.nat(3), fc.nat(60_000), fc.nat(3000)), {
        minLength: 100,
        maxLength: 400,
      }),
      (b, ops) => {
        engines.forEach((e, i) => e.rangeInit(tab(i), 64));
        for (const [kind, x, n] of ops) {
          const s = (b + x) >>> 0;
          const r = engines.map((e, i) => {
            const t = tab(i);
            if (kind <= 1) return e.rangeInsert(t, s, (s + n) >>> 0);
            if (kind === 2) return e.rangeCovered(t, s, (s + 10 * n) >>> 0);
            return x % 7 === 0 ? e.rangeAdvance(t, s) : e.rangeFind(t, s);
          });
          assert.ok(r.every((v) => v === r[0]), `results ${r}`);
        }
        const bytes = engines.map((_, i) =>
          new Uint8Array(view().buffer, tab(i), rangeTableBytes(64)).join()
        );
        assert.ok(bytes.every((x) => x === bytes[0]), "tables differ");
      },
    ),
    { seed: testSeed(), numRuns: 200 },
  );
});
