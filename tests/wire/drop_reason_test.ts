import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { ARP_DROP_REASONS } from "../../src/wire/arp.ts";
import { isWireDropReason, WIRE_DROP_REASONS, wireDropIndex } from "../../src/wire/drop_reason.ts";
import { ETHERNET_DROP_REASONS } from "../../src/wire/ethernet.ts";
import { ICMP_DROP_REASONS } from "../../src/wire/icmp.ts";
import { IPV4_DROP_REASONS } from "../../src/wire/ipv4.ts";
import { TCP_DROP_REASONS } from "../../src/wire/tcp.ts";
import { UDP_DROP_REASONS } from "../../src/wire/udp.ts";
import { IPV6_DROP_REASONS } from "../../src/wire/ipv6.ts";
import { IPV6_EXT_DROP_REASONS } from "../../src/wire/ipv6_ext.ts";
import { ICMPV6_DROP_REASONS } from "../../src/wire/icmpv6.ts";
import { NDP_DROP_REASONS } from "../../src/wire/ndp.ts";
import { MLD_DROP_REASONS } from "../../src/wire/mld.ts";

test("drop reasons: one list with every parser's reasons, unique, prefixed by protocol", () => {
  const lists: [string, readonly string[]][] = [
    ["ethernet", ETHERNET_DROP_REASONS],
    ["arp", ARP_DROP_REASONS],
    ["ipv4", IPV4_DROP_REASONS],
    ["icmp", ICMP_DROP_REASONS],
    ["udp", UDP_DROP_REASONS],
    ["tcp", TCP_DROP_REASONS],
    ["ipv6", IPV6_DROP_REASONS],
    ["ipv6", IPV6_EXT_DROP_REASONS],
    ["icmpv6", ICMPV6_DROP_REASONS],
    ["ndp", NDP_DROP_REASONS],
    ["mld", MLD_DROP_REASONS],
  ];
  let n = 0;
  for (const [proto, list] of lists) {
    for (const r of list) {
      assert.ok(r.startsWith(`${proto}.`), r);
      assert.ok(isWireDropReason(r), r);
      assert.is(WIRE_DROP_REASONS[wireDropIndex(r)], r);
      n++;
    }
  }
  assert.is(WIRE_DROP_REASONS.length, n);
  assert.is(new Set(WIRE_DROP_REASONS).size, n);
  assert.not.ok(isWireDropReason("tcp.nope"));
  assert.not.ok(isWireDropReason(42));
});
