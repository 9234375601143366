/**
 * The `.pkt` corpus in tests/testing/scripts/ (one test per file) and the
 * helpers that load and register scripts.
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { pendingReason, scriptTestDir } from "../_util/script_test_helper.ts";
import { loadScriptDir } from "../../src/testing/load.ts";

const DIR = new URL("./scripts/", import.meta.url);

// Browsers have no directory listing: there the corpus is skipped.
const count = isDeno ? await scriptTestDir(DIR, { prefix: "pkt: " }) : 0;
// The same scripts over IPv6 (ICMP lines become ICMPv6, the runner plays neighbour discovery).
const count6 = isDeno ? await scriptTestDir(DIR, { prefix: "pkt ipv6: ", ipVersion: "ipv6" }) : 0;

test("script files: every .pkt file is registered, in name order", async () => {
  if (!isDeno) return;
  const files = await loadScriptDir(DIR);
  assert.is(files.length, count);
  assert.is(count6, count);
  assert.ok(count >= 4);
  const names = files.map((f) => f.name);
  assert.equal(names, [...names].sort());
  assert.ok(names.every((n) => n.endsWith(".pkt")));
});

test("script files: --pending in a header marks a script as waiting, with its reason", () => {
  assert.is(pendingReason('--pending="needs TCP"\n0 < udp (1)\n'), "needs TCP");
  assert.is(pendingReason("--pending\n0 < udp (1)\n"), "pending");
  assert.is(pendingReason("0 < udp (1)\n"), undefined);
  assert.is(pendingReason("0 < bogus\n"), undefined, "a broken script is run (and fails) instead");
});
