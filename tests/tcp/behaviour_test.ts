/**
 * Packet scripts for the second-generation TCP behaviours (issue 11): SACK
 * and D-SACK generation, scoreboard recovery, PRR, RACK and TLP timing,
 * CUBIC, ECN, path MTU, the ACK policy (quick-ACK, delayed ACK). One script
 * per behaviour in `tests/tcp/behaviour/`, named after the file and the
 * requirement IDs on its first comment line. A script that needs stack
 * settings other than the defaults says so on a comment line
 * `// stack: {"tcp": {…}}` (JSON, `StackOptions`).
 */
import { scriptTest } from "../_util/script_test_helper.ts";
import { loadScriptDir } from "../../src/testing/script.ts";
import { stackTarget } from "../../src/testing/run_config.ts";
import type { StackOptions } from "../../src/api/stack.ts";

/** The requirement IDs on a script's first line (`// RFC2018-S2 RFC2883`). */
function scriptIds(text: string): string {
  const m = /^\/\/\s*(.*)$/m.exec(text);
  return m ? m[1]!.trim() : "";
}

/** The `// stack: {…}` line of a script, parsed. */
function stackOptions(text: string): Partial<StackOptions> | undefined {
  const m = /^\/\/\s*stack:\s*(\{.*\})\s*$/m.exec(text);
  return m ? JSON.parse(m[1]!) as Partial<StackOptions> : undefined;
}

for (const f of await loadScriptDir(new URL("./behaviour/", import.meta.url))) {
  const ids = scriptIds(f.text);
  const stack = stackOptions(f.text);
  scriptTest(
    `behaviour: ${f.name.replace(/\.pkt$/, "")}${ids ? ` (${ids})` : ""}`,
    f.text,
    stack ? { target: stackTarget({ stack }) } : {},
  );
}
