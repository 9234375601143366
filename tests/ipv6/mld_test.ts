/**
 * MLDv2 host behaviour (RFC 3810 §6): state-change reports for solicited-node
 * groups, query responses, and the checks on queries.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { formatIpv6, parseIpv6Address, solicitedNode } from "../../src/wire/addr6.ts";
import { Icmpv6Type } from "../../src/wire/icmpv6.ts";
import { parseMldv2Report } from "../../src/wire/mld.ts";
import { capture6, icmp6, inject6, ip6Frame, pair6, type Seen6 } from "./_helpers.ts";

const a6 = parseIpv6Address;

function records(f: Seen6): [number, string][] {
  const r = parseMldv2Report(f.bytes, f.upperAt, f.bytes.length - f.upperAt);
  if (typeof r === "string") throw new Error(r);
  return r.map((x) => [x.type, formatIpv6(f.bytes, x.groupOffset)]);
}

test("RFC 3810 §6.1: a new address's solicited-node group is reported (CHANGE_TO_EXCLUDE) twice to ff02::16 with hop limit 1 and Router Alert; leaving reports CHANGE_TO_INCLUDE", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  const addr = a6("2001:db8::abcd");
  p.a.ipv6.addrconf.addStatic(p.ifA, addr, 64);
  p.clock.advance(2000);
  const group = formatIpv6(solicitedNode(addr));
  const reports = tx.icmp(Icmpv6Type.MLDV2_REPORT);
  assert.is(reports.length, 2, "Robustness Variable 2");
  for (const r of reports) {
    assert.is(r.dst, "ff02::16");
    assert.is(r.ip.hopLimit, 1);
    assert.is(r.ip.nextHeader, 0, "hop-by-hop first");
    assert.is(r.src, formatIpv6(p.llA));
    assert.equal(records(r), [[4, group]]);
  }
  tx.clear();
  p.a.ipv6.addrconf.remove(p.ifA, addr);
  p.clock.advance(2000);
  assert.equal(tx.icmp(Icmpv6Type.MLDV2_REPORT).map(records), [[[3, group]], [[3, group]]]);
  await p.close();
});

test("RFC 3810 §6.2: a general query is answered once with every group's state, even when flooded; bad queries are dropped", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  const query = icmp6(Icmpv6Type.MLD_QUERY, 0, 1000 << 16, new Uint8Array(20)); // max resp 1000 ms, ::, v2
  for (let i = 0; i < 100; i++) {
    inject6(
      p,
      ip6Frame({
        src: formatIpv6(p.llB),
        dst: "ff02::1",
        hopLimit: 1,
        nextHeader: 58,
        payload: query,
      }),
    );
  }
  p.clock.advance(1001);
  const reports = tx.icmp(Icmpv6Type.MLDV2_REPORT);
  assert.is(reports.length, 1);
  const recs = records(reports[0]!);
  assert.ok(recs.length >= 2, "the link-local and the global address's groups");
  assert.ok(recs.every(([t]) => t === 2), "MODE_IS_EXCLUDE");
  assert.ok(!recs.some(([, g]) => g === "ff02::1"), "ff02::1 is never reported");
  inject6(
    p,
    ip6Frame({ src: "2001:db8::2", dst: "ff02::1", hopLimit: 1, nextHeader: 58, payload: query }),
  );
  inject6(
    p,
    ip6Frame({
      src: formatIpv6(p.llB),
      dst: "ff02::1",
      hopLimit: 255,
      nextHeader: 58,
      payload: query,
    }),
  );
  assert.is(p.a.stats.drops.get("mld.bad_source"), 1);
  assert.is(p.a.stats.drops.get("mld.bad_hop_limit"), 1);
  await p.close();
});
