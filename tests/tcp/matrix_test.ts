/**
 * The RFC 9293 §3.10 conformance matrix (TRACEABILITY.md §4): one
 * packet script per (state × segment class) in `tests/tcp/scripts/`, plus
 * the hand-written MUST scripts there (`must-*.pkt`). Each test is named
 * after the file and the requirement IDs on the script's first comment line,
 * e.g. `matrix: established-rst-in-window (RFC5961-B1 §3.10.7.4)`. The cells
 * and what is not covered are listed in `tests/tcp/TRACEABILITY.md`; the
 * matrix files are written by `tests/tcp/gen_matrix.ts`.
 *
 * Every script runs over both families (issue 12): as written over IPv4
 * (`matrix: …`) and over IPv6 (`matrix ipv6: …`, AF_INET6 sockets,
 * 2001:db8::/64, ICMP lines as ICMPv6; the runner keeps MSS values equal,
 * see `src/testing/runner.ts`). A script whose header names
 * `--ip_version` (IPv4 broadcast sources, ICMP types IPv6 lacks, or an
 * IPv6-only case) runs in that family only.
 *
 * Socket calls go through the BSD socket layer (stream sockets).
 */
import { scriptTest } from "../_util/script_test_helper.ts";
import { loadScriptDir, parseScript } from "../../src/testing/script.ts";
import type { IpVersion } from "../../src/testing/script.ts";

/** The requirement IDs on a script's first line (`// MUST-66 RFC5961-B1`). */
export function scriptIds(text: string): string {
  const m = /^\/\/\s*(.*)$/m.exec(text);
  return m ? m[1]!.trim() : "";
}

/** The family a script's header pins (`--ip_version=…`), if any. */
export function pinnedFamily(text: string): IpVersion | undefined {
  try {
    const v = parseScript(text, { ignoreShellCommands: true }).options.ip_version;
    return typeof v === "string" ? v as IpVersion : undefined;
  } catch {
    return undefined; // the test itself reports the syntax error
  }
}

for (const f of await loadScriptDir(new URL("./scripts/", import.meta.url))) {
  const ids = scriptIds(f.text);
  const name = `${f.name.replace(/\.pkt$/, "")}${ids ? ` (${ids})` : ""}`;
  const pinned = pinnedFamily(f.text);
  for (const ipVersion of pinned !== undefined ? [pinned] : ["ipv4", "ipv6"] as const) {
    const label = ipVersion === "ipv4" ? "matrix" : `matrix ${ipVersion}`;
    scriptTest(`${label}: ${name}`, f.text, { ipVersion });
  }
}
