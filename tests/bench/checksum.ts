/**
 * Checksum throughput: WASM SIMD vs WASM scalar vs the TypeScript reference,
 * same process, same in-cache buffer in the arena, at 64, 1460, 9000 and
 * 65535 bytes, then the same for checksumCopy. Another table separates the per-call cost from the loop: it
 * times one `checksumBatch` call over 256 descriptors of the same buffer
 * (no JS→WASM crossing per buffer) and an empty-ish export call.
 *
 * @module
 */
import { Arena } from "../../src/skb/arena.ts";
import { bindHotPaths, engineSupported, type HotPaths } from "../../src/wasm/bindings.ts";
import { type BenchModule, measure, table } from "./_harness.ts";

const SIZES = [64, 1460, 9000, 65535];
const BATCH = 256;
const DESC = 4096; // scratch area: descriptors
const OUT = DESC + 8 * BATCH; // then the sums

function gbps(bytes: number, ns: number): number {
  return bytes / ns; // bytes per ns = GB/s
}

function fmt(x: number, digits = 2): string {
  return x.toFixed(digits);
}

/**
 * A fresh copy of `for (i < n) x ^= f(a, b, i & 0xffff)` per measurement.
 * Why: closures made from one function literal share V8's type feedback, so
 * timing three engines through one loop would make the call site polymorphic
 * and hide the inlined JS→WASM call a real (single-engine) caller gets.
 */
function callLoop(f: (a: number, b: number, c: number) => number, a: number, b: number) {
  return new Function(
    "f",
    "a",
    "b",
    "return function (n) { let x = 0; for (let i = 0; i < n; i++) x ^= f(a, b, i & 0xffff); return x; };",
  )(f, a, b) as (n: number) => number;
}

/** ns per checksum call of `len` bytes at `off`. */
function perCall(hot: HotPaths, off: number, len: number): number {
  return measure(callLoop(hot.checksum, off, len));
}

/** ns per buffer when `BATCH` buffers are summed in one `checksumBatch` call. */
function perBuffer(hot: HotPaths, arena: Arena, off: number, len: number): number {
  const view = arena.view;
  for (let i = 0; i < BATCH; i++) {
    view.setUint32(DESC + 8 * i, off, true);
    view.setUint32(DESC + 8 * i + 4, len, true);
  }
  const f = hot.checksumBatch;
  return measure(callLoop((a, b) => f(a, b, OUT), DESC, BATCH)) / BATCH;
}

/** The checksum benchmark module. */
export const checksumBench: BenchModule = {
  name: "checksum",
  run() {
    const arena = new Arena();
    const off = arena.tryAllocSlot(65535 + 64);
    const u8 = arena.u8;
    for (let i = 0; i < 65535 + 64; i++) u8[off + i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
    const kinds = (["simd", "scalar", "reference"] as const).filter((k) => engineSupported(k));
    const engines = kinds.map((engine) => bindHotPaths(arena, { engine }));
    const byKind = new Map(engines.map((e) => [e.kind, e]));

    const rows: string[][] = [];
    for (const len of SIZES) {
      const g = new Map<string, number>();
      for (const e of engines) g.set(e.kind, gbps(len, perCall(e, off, len)));
      const simd = g.get("simd");
      const scalar = g.get("scalar");
      const ref = g.get("reference")!;
      rows.push([
        String(len),
        ...kinds.map((k) => fmt(g.get(k)!)),
        simd !== undefined ? `${fmt(simd / ref, 1)}x` : "-",
        simd !== undefined && scalar !== undefined ? `${fmt(simd / scalar, 1)}x` : "-",
      ]);
    }
    console.log("Checksum throughput, GB/s (one call per buffer; in-cache buffer in the arena)\n");
    console.log(table(["bytes", ...kinds, "simd/ref", "simd/scalar"], rows));

    // Copy and sum in one pass (csum_partial_copy), to a second slot.
    const dst = arena.tryAllocSlot(65535 + 64);
    const copyRows: string[][] = [];
    for (const len of SIZES) {
      copyRows.push([
        String(len),
        ...engines.map((e) =>
          fmt(gbps(len, measure(callLoop((a, b, c) => e.checksumCopy(a, dst, b, c), off, len))))
        ),
      ]);
    }
    console.log("\nchecksumCopy throughput, GB/s of bytes copied and summed\n");
    console.log(table(["bytes", ...kinds], copyRows));

    // Where the time goes at small sizes: call overhead vs loop.
    const wasm = engines.filter((e) => e.kind !== "reference");
    if (wasm.length > 0) {
      const rows2: string[][] = [];
      for (const len of SIZES) {
        const cells: string[] = [String(len)];
        for (const e of wasm) {
          const single = perCall(e, off, len);
          const batched = perBuffer(e, arena, off, len);
          cells.push(fmt(single, 1), fmt(batched, 1), fmt(gbps(len, batched)));
        }
        rows2.push(cells);
      }
      const header = ["bytes"];
      for (const e of wasm) header.push(`${e.kind} ns/call`, `ns/buf batched`, "GB/s batched");
      console.log(`\nPer-call vs batched (${BATCH} buffers per checksumBatch call), ns\n`);
      console.log(table(header, rows2));
      const simd = byKind.get("simd") ?? wasm[0]!;
      const empty = measure(callLoop(simd.csumUpdate16, 0x1234, 0x5678));
      const odd = gbps(1460, perCall(simd, off + 1, 1460));
      console.log(
        `\nJS→WASM call of a trivial export (csumUpdate16): ${fmt(empty, 1)} ns; ` +
          `${simd.kind} at 1460 B from an odd offset: ${fmt(odd)} GB/s`,
      );
    }
  },
};
