/**
 * Packet scripts for the second-generation TCP behaviours (issue 11): SACK
 * and D-SACK generation, scoreboard recovery, PRR, RACK and TLP timing,
 * CUBIC, ECN, path MTU, the ACK policy (quick-ACK, delayed ACK). One script
 * per behaviour in `tests/tcp/behaviour/`, named after the file and the
 * requirement IDs on its first comment line. A script that needs stack
 * settings other than the defaults says so on a comment line
 * `// stack: {"tcp": {…}}` (JSON, `StackOptions`).
 *
 * Every script runs over both families, as the §3.10 matrix does
 * (`behaviour: …` over IPv4, `behaviour ipv6: …` with AF_INET6 sockets and
 * the ECN field in the traffic class); a script whose header names
 * `--ip_version` (RFC 1191's ICMP "fragmentation needed" and its 552-byte
 * floor, or IPv6's Packet Too Big and 1280) runs in that family only.
 */
import { scriptTest } from "../_util/script_test_helper.ts";
import { type IpVersion, loadScriptDir, parseScript } from "../../src/testing/script.ts";
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

/** The family a script's header pins (`--ip_version=…`), if any. */
function pinnedFamily(text: string): IpVersion | undefined {
  try {
    const v = parseScript(text, { ignoreShellCommands: true }).options.ip_version;
    return typeof v === "string" ? v as IpVersion : undefined;
  } catch {
    return undefined; // the test itself reports the syntax error
  }
}

for (const f of await loadScriptDir(new URL("./behaviour/", import.meta.url))) {
  const ids = scriptIds(f.text);
  const stack = stackOptions(f.text);
  const name = `${f.name.replace(/\.pkt$/, "")}${ids ? ` (${ids})` : ""}`;
  const pinned = pinnedFamily(f.text);
  for (const ipVersion of pinned !== undefined ? [pinned] : ["ipv4", "ipv6"] as const) {
    const label = ipVersion === "ipv4" ? "behaviour" : `behaviour ${ipVersion}`;
    scriptTest(`${label}: ${name}`, f.text, {
      ipVersion,
      ...(stack ? { target: stackTarget({ stack }) } : {}),
    });
  }
}
