/**
 * Benchmarks (`deno task bench [name ...]`): runs every module under
 * tests/bench/ in turn, or only those named. Add a module by exporting a
 * `BenchModule` from a new file here and listing it in `MODULES`.
 *
 * @example
 * ```sh
 * deno task bench            # everything
 * deno task bench checksum   # one module
 * deno task bench --json api # rows as JSON on stdout (text goes to stderr)
 * ```
 *
 * @module
 */
import { type BenchModule, BenchReport } from "./_harness.ts";
import { apiBench } from "./api.ts";
import { checksumBench } from "./checksum.ts";
import { relayBench } from "./relay.ts";
import { tcpBench } from "./tcp.ts";
import { tapBench } from "./tap.ts";

/** Every benchmark module, in the order they run. */
export const MODULES: readonly BenchModule[] = [
  checksumBench,
  apiBench,
  tcpBench,
  relayBench,
  tapBench,
];

if (import.meta.main) {
  const json = Deno.args.includes("--json");
  const only = Deno.args.filter((a) => a !== "--json");
  const chosen = MODULES.filter((m) => only.length === 0 || only.includes(m.name));
  if (chosen.length === 0) {
    console.error(
      `No benchmark named ${only.join(", ")}; have: ${MODULES.map((m) => m.name).join(", ")}`,
    );
    Deno.exit(2);
  }
  const report = new BenchReport();
  // With --json the text tables go to stderr and stdout carries only the JSON.
  const log = console.log;
  if (json) console.log = (...a: unknown[]) => console.error(...a);
  for (const m of chosen) {
    console.log(`\n=== ${m.name} ===\n`);
    await m.run(report);
  }
  if (json) {
    console.log = log;
    const rows = report.rows.map(({ module, row }) => ({ module, ...row }));
    console.log(
      JSON.stringify({ date: new Date().toISOString(), deno: Deno.version, rows }, null, 2),
    );
  }
}
