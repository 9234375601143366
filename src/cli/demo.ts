/**
 * `deno task demo`: the CLI's `demo` command — three netwasm stacks on an
 * in-memory network with simulated delay, jitter, loss, reordering,
 * duplication and corruption, on virtual time (see `demo_run.ts`).
 *
 * Usage: `deno task demo [--seed N] [--pcap FILE | --no-pcap]`
 *
 * @module
 */
import { main } from "./main.ts";

export {
  DEFAULT_DEMO_PCAP,
  DEFAULT_DEMO_SEED,
  DEMO_STEPS,
  type DemoOptions,
  type DemoResult,
  type DemoStep,
  runDemo,
} from "./demo_run.ts";

if (import.meta.main) {
  // One parser for every command: `deno task demo …` is `netwasm demo …`.
  main(["demo", ...Deno.args]).then((code) => Deno.exit(code));
}
