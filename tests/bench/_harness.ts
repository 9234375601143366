/**
 * Tiny benchmark harness shared by the modules under tests/bench/: each module
 * exports a {@link BenchModule}; `main.ts` runs them in turn.
 *
 * @module
 */

/** One measured row: what, in which unit, netwasm's figure and (when there is one) native's. */
export interface BenchRow {
  /** What was measured (the row's label). */
  readonly measure: string;
  /** Unit of `netwasm` and `native` ("µs", "Gbit/s", "conn/s", "KiB", …). */
  readonly unit: string;
  /** netwasm's median. */
  readonly netwasm: number;
  /** Deno's native TCP in the same run, when the row has a reference. */
  readonly native?: number;
  /** netwasm vs native: > 1 means netwasm is better (rates: netwasm ÷ native; times: native ÷ netwasm). */
  readonly ratio?: number;
  /** Anything else worth knowing (target, sample count). */
  readonly note?: string;
}

/** Where modules put machine-readable rows (`deno task bench --json`). */
export class BenchReport {
  /** Rows by module name, in the order they were added. */
  readonly rows: { module: string; row: BenchRow }[] = [];
  /** Add `row` for `module`. */
  add(module: string, row: BenchRow): void {
    this.rows.push({ module, row });
  }
}

/** One benchmark module: a name and a function that prints its results. */
export interface BenchModule {
  /** Short name, also what `deno task bench <name>` filters on. */
  readonly name: string;
  /** Run and print (plain text tables); rows for `--json` go to `report` when given. */
  run(report?: BenchReport): void | Promise<void>;
}

/** Options for {@link measure}. */
export interface MeasureOptions {
  /** Wall time for the whole measurement (default 300 ms), split into `repeats` runs. */
  readonly targetMs?: number;
  /** Timed runs; the median is reported (default 3). */
  readonly repeats?: number;
  /** Untimed warm-up before calibration (default 50 ms), so the JIT tiers up first. */
  readonly warmupMs?: number;
}

/**
 * Nanoseconds per operation of `loop(n)`, which must run the operation `n`
 * times and return something derived from the results (so nothing is dead code).
 * Warms up, calibrates `n` to fill the target time, and reports the median run.
 *
 * @example
 * ```ts
 * import { measure } from "./_harness.ts";
 * const ns = measure((n) => {
 *   let x = 0;
 *   for (let i = 0; i < n; i++) x ^= Math.imul(i, 31);
 *   return x;
 * });
 * ```
 */
export function measure(loop: (n: number) => number, options: MeasureOptions = {}): number {
  const targetMs = options.targetMs ?? 300;
  const repeats = options.repeats ?? 3;
  const warmupMs = options.warmupMs ?? 50;
  let sink = 0;
  let n = 1;
  // Warm up and calibrate together: double n until one run takes warmupMs.
  for (;;) {
    const t0 = performance.now();
    sink ^= loop(n);
    const dt = performance.now() - t0;
    if (dt >= warmupMs) {
      n = Math.max(1, Math.round((n * targetMs) / repeats / dt));
      break;
    }
    n *= 2;
  }
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    sink ^= loop(n);
    samples.push(((performance.now() - t0) * 1e6) / n);
  }
  if (sink === 0.5) console.log(""); // never true; keeps `sink` observable
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

/**
 * Format rows as a fixed-width text table (first column left-aligned, others right).
 *
 * @example
 * ```ts
 * import { table } from "./_harness.ts";
 * console.log(table(["size", "GB/s"], [["64", "5.1"]]));
 * ```
 */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
