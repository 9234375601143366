/**
 * Benchmarks (`deno task bench [name ...]`): runs every module under
 * tests/bench/ in turn, or only those named. Add a module by exporting a
 * `BenchModule` from a new file here and listing it in `MODULES`.
 *
 * @example
 * ```sh
 * deno task bench            # everything
 * deno task bench checksum   # one module
 * ```
 *
 * @module
 */
import type { BenchModule } from "./_harness.ts";
import { checksumBench } from "./checksum.ts";
import { relayBench } from "./relay.ts";
import { tcpBench } from "./tcp.ts";
import { tapBench } from "./tap.ts";

/** Every benchmark module, in the order they run. */
export const MODULES: readonly BenchModule[] = [checksumBench, tcpBench, relayBench, tapBench];

if (import.meta.main) {
  const only = Deno.args;
  const chosen = MODULES.filter((m) => only.length === 0 || only.includes(m.name));
  if (chosen.length === 0) {
    console.error(
      `No benchmark named ${only.join(", ")}; have: ${MODULES.map((m) => m.name).join(", ")}`,
    );
    Deno.exit(2);
  }
  for (const m of chosen) {
    console.log(`\n=== ${m.name} ===\n`);
    await m.run();
  }
}
