/**
 * The RFC 9293 §3.10 conformance matrix (CONFORMANCE.md §3.3, goal G2): one
 * packet script per (state × segment class) in `tests/tcp/scripts/`, plus
 * the hand-written MUST scripts there (`must-*.pkt`). Each test is named
 * after the file and the requirement IDs on the script's first comment line,
 * e.g. `matrix: established-rst-in-window (RFC5961-B1 §3.10.7.4)`. The cells
 * and what is not covered are listed in `tests/tcp/TRACEABILITY.md`; the
 * matrix files are written by `tests/tcp/gen_matrix.ts`.
 *
 * Socket calls go through the BSD layer when it has stream sockets, else
 * through the TCP ops adapter (same rule as tests/testing/runner_stack_test.ts).
 */
import { scriptTest } from "../_util/script_test_helper.ts";
import { Stack } from "../../src/api/stack.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import { loadScriptDir, stackTarget } from "../../src/testing/script.ts";
import { tcpOpsSockets } from "../testing/_tcp_ops_adapter.ts";

const STREAMS = await (async () => {
  const s = new Stack({ clock: new VirtualClock() });
  let ok = false;
  try {
    s.sockets.close(s.sockets.socket(2, 1, 6)); // AF_INET, SOCK_STREAM, IPPROTO_TCP
    ok = true;
  } catch {
    // ESOCKTNOSUPPORT until stream ops are registered with the socket layer.
  }
  await s.close();
  return ok;
})();
const OPTIONS = STREAMS ? {} : { target: stackTarget({ sockets: tcpOpsSockets }) };

/** The requirement IDs on a script's first line (`// MUST-66 RFC5961-B1`). */
export function scriptIds(text: string): string {
  const m = /^\/\/\s*(.*)$/m.exec(text);
  return m ? m[1]!.trim() : "";
}

for (const f of await loadScriptDir(new URL("./scripts/", import.meta.url))) {
  const ids = scriptIds(f.text);
  scriptTest(`matrix: ${f.name.replace(/\.pkt$/, "")}${ids ? ` (${ids})` : ""}`, f.text, OPTIONS);
}
