/**
 * Register packet scripts as tests: `scriptTest(name, text)` for an inline
 * script, `scriptTestDir(url)` for every `.pkt` file in a directory. A
 * failing script's test error carries the runner's message and the whole
 * transcript. A script whose header has `--pending="why"` (or a test given
 * `pending`) is registered as ignored with that reason, so the list of
 * scripts waiting on a feature stays visible.
 *
 * @module
 */
import {
  formatTranscript,
  loadScriptDir,
  parseScript,
  runScript,
  type ScriptOptions,
  type ScriptResult,
} from "../../src/testing/script.ts";
import { test } from "./test.ts";

/** Options for {@link scriptTest}: runner options plus test bookkeeping. */
export interface ScriptTestOptions extends ScriptOptions {
  /** Register as ignored with this reason (e.g. "needs TCP listen/accept"). */
  readonly pending?: string;
}

/**
 * The `--pending` header of a script, if it has one (and parses).
 *
 * @example
 * ```ts
 * import { pendingReason } from "./script_test_helper.ts";
 * pendingReason('--pending="needs TCP"\n0 < udp (1)'); // "needs TCP"
 * ```
 */
export function pendingReason(text: string): string | undefined {
  try {
    const p = parseScript(text, { ignoreShellCommands: true }).options.pending;
    return p === undefined ? undefined : p === true ? "pending" : p;
  } catch {
    return undefined; // the test itself will report the syntax error
  }
}

/**
 * Throw with the failure message and transcript unless the script passed.
 *
 * @example
 * ```ts
 * import { assertScriptOk } from "./script_test_helper.ts";
 * import { runScript } from "../../src/testing/script.ts";
 * assertScriptOk(await runScript("0 < udp (4)\n+0 > icmp unreachable port_unreachable [udp (4)]"));
 * ```
 */
export function assertScriptOk(r: ScriptResult): void {
  if (r.ok) return;
  throw new Error(`${r.failure?.message}\n\ntranscript:\n${formatTranscript(r.transcript)}`);
}

/**
 * Register one script as a test.
 *
 * @example
 * ```ts
 * import { scriptTest } from "./script_test_helper.ts";
 * scriptTest("UDP to a closed port gets ICMP port unreachable (RFC 1122 U1)", `
 *   0   < udp (10)
 *   +0  > icmp unreachable port_unreachable [udp (10)]
 * `);
 * ```
 */
export function scriptTest(name: string, text: string, options: ScriptTestOptions = {}): void {
  const pending = options.pending ?? pendingReason(text);
  test(
    name,
    async () => assertScriptOk(await runScript(text, options)),
    pending === undefined ? {} : { ignore: true, reason: pending },
  );
}

/**
 * Register every `.pkt` file in `dir` as a test named `prefix` + file name.
 * Call it with top-level `await` in a test module.
 *
 * @example
 * ```ts
 * import { scriptTestDir } from "./script_test_helper.ts";
 * await scriptTestDir(new URL("../testing/scripts/", import.meta.url), { prefix: "pkt: " });
 * ```
 */
export async function scriptTestDir(
  dir: string | URL,
  options: ScriptTestOptions & { readonly prefix?: string; readonly recursive?: boolean } = {},
): Promise<number> {
  const files = await loadScriptDir(dir, { recursive: options.recursive ?? false });
  for (const f of files) scriptTest(`${options.prefix ?? ""}${f.name}`, f.text, options);
  return files.length;
}
