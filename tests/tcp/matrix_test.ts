/**
 * The RFC 9293 §3.10 conformance matrix (TRACEABILITY.md §4): one
 * packet script per (state × segment class) in `tests/tcp/scripts/`, plus
 * the hand-written MUST scripts there (`must-*.pkt`). Each test is named
 * after the file and the requirement IDs on the script's first comment line,
 * e.g. `matrix: established-rst-in-window (RFC5961-B1 §3.10.7.4)`. The cells
 * and what is not covered are listed in `tests/tcp/TRACEABILITY.md`; the
 * matrix files are written by `tests/tcp/gen_matrix.ts`.
 *
 * Socket calls go through the BSD socket layer (stream sockets).
 */
import { scriptTest } from "../_util/script_test_helper.ts";
import { loadScriptDir } from "../../src/testing/script.ts";

const OPTIONS = {};

/** The requirement IDs on a script's first line (`// MUST-66 RFC5961-B1`). */
export function scriptIds(text: string): string {
  const m = /^\/\/\s*(.*)$/m.exec(text);
  return m ? m[1]!.trim() : "";
}

for (const f of await loadScriptDir(new URL("./scripts/", import.meta.url))) {
  const ids = scriptIds(f.text);
  scriptTest(`matrix: ${f.name.replace(/\.pkt$/, "")}${ids ? ` (${ids})` : ""}`, f.text, OPTIONS);
}
