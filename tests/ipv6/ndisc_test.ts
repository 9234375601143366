/**
 * Neighbour discovery in live stacks (RFC 4861): resolution, the NUD state
 * machine, the receive rules for solicitations and advertisements, the hop
 * limit 255 check, redirects, and the bounded cache.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { settle } from "../_util/sim.ts";
import { pattern } from "../_util/frames.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { formatIpv6, parseIpv6Address, solicitedNode } from "../../src/wire/addr6.ts";
import { Icmpv6Type } from "../../src/wire/icmpv6.ts";
import {
  emitNeighborAdvert,
  emitNeighborSolicit,
  emitRedirect,
  emitRouterSolicit,
} from "../../src/wire/ndp.ts";
import {
  A6,
  B6,
  capture6,
  inject6,
  ip6Frame,
  MAC_B6,
  ndMessage,
  pair6,
  sendRaw6,
} from "./_helpers.ts";

const a6 = parseIpv6Address;
const state = (p: ReturnType<typeof pair6>, addr: string) =>
  p.a.ipv6.ndisc.entries().find((e) => formatIpv6(e.address) === addr)?.state;

test("RFC 4861 §7.2: resolution — multicast NS with SLLA from the prompting source, NA (S, O) back, the queued packet follows", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  const rx = capture6(p.devA, "rx");
  await settle(p.clock, p.a.ping(B6));
  const ns = tx.icmp(Icmpv6Type.NEIGHBOR_SOLICIT)[0]!;
  assert.is(ns.dst, "ff02::1:ff00:2");
  assert.is(ns.src, A6, "§7.2.2: the prompting packet's source");
  assert.is(ns.ip.hopLimit, 255);
  assert.is(ns.ethDst, 0x3333ff000002);
  const na = rx.icmp(Icmpv6Type.NEIGHBOR_ADVERT)[0]!;
  assert.is(na.bytes[na.upperAt + 4]! & 0xe0, 0x60, "solicited and override, not router");
  assert.is(state(p, B6), "REACHABLE");
  assert.is(
    p.b.ipv6.ndisc.entries().find((e) => formatIpv6(e.address) === A6)?.state !== undefined,
    true,
    "§7.2.3: the solicitation taught B our address",
  );
  await p.close();
});

test("RFC 4861 §7.3: NUD — REACHABLE → STALE → (send) DELAY → PROBE (unicast) → REACHABLE; no answer → removed", async () => {
  const p = pair6({ dad: false });
  await settle(p.clock, p.a.ping(B6));
  p.clock.advance(46_000); // ReachableTime is at most 1.5 × 30 s
  assert.is(state(p, B6), "STALE");
  const tx = capture6(p.devA);
  sendRaw6(p.a, B6, pattern(4));
  assert.is(state(p, B6), "DELAY", "used while STALE: the packet goes out and DELAY starts");
  assert.is(tx.frames.filter((f) => f.upper === 253).length, 1);
  p.clock.advance(5000);
  const probe = tx.icmp(Icmpv6Type.NEIGHBOR_SOLICIT).at(-1)!;
  assert.is(probe.dst, B6, "PROBE solicits by unicast");
  assert.is(probe.ethDst, MAC_B6);
  p.clock.advance(10);
  assert.is(state(p, B6), "REACHABLE", "B answered the probe");
  // Now B goes away: the next probe round fails and the entry is removed.
  p.b.ipv6.addrconf.disable(p.ifB);
  p.clock.advance(46_000);
  sendRaw6(p.a, B6, pattern(4));
  p.clock.advance(5000 + 3 * 1000 + 10);
  assert.is(state(p, B6), undefined, "MAX_UNICAST_SOLICIT probes unanswered: removed");
  await p.close();
});

test("RFC 4861 §6.1/§7.1: ND messages with a hop limit other than 255 are dropped; RS is ignored by hosts", async () => {
  const p = pair6({ dad: false });
  const ns = ndMessage((b, at) => emitNeighborSolicit(a6(A6), 0, MAC_B6, null, b, at));
  inject6(
    p,
    ip6Frame({ src: B6, dst: "ff02::1:ff00:1", hopLimit: 254, nextHeader: 58, payload: ns }),
  );
  assert.is(p.a.stats.drops.get("ndisc.bad_hop_limit"), 1);
  const rs = ndMessage((b, at) => emitRouterSolicit(MAC_B6, b, at));
  inject6(
    p,
    ip6Frame({
      src: formatIpv6(p.llB),
      dst: "ff02::1",
      hopLimit: 255,
      nextHeader: 58,
      payload: rs,
    }),
  );
  assert.is(p.a.stats.drops.get("ndisc.rs_ignored"), 1);
  await p.close();
});

test("RFC 4861 §7.2.5: an unsolicited advertisement for an unknown address creates no entry", async () => {
  const p = pair6({ dad: false });
  const na = ndMessage((b, at) =>
    emitNeighborAdvert(
      { router: false, solicited: false, override: true },
      a6("2001:db8::66"),
      0,
      0x020000000066,
      b,
      at,
    )
  );
  for (let i = 0; i < 100; i++) {
    inject6(
      p,
      ip6Frame({ src: "2001:db8::66", dst: "ff02::1", hopLimit: 255, nextHeader: 58, payload: na }),
    );
  }
  assert.is(p.a.ipv6.ndisc.size, 0);
  assert.is(p.a.stats.ndisc.unsolicitedIgnored, 100);
  await p.close();
});

test("RFC 4861 §7.2.5: a non-override advertisement with another address only makes REACHABLE stale; an override one updates", async () => {
  const p = pair6({ dad: false });
  await settle(p.clock, p.a.ping(B6));
  const na = (override: boolean, mac: number) =>
    ndMessage((b, at) =>
      emitNeighborAdvert({ router: false, solicited: false, override }, a6(B6), 0, mac, b, at)
    );
  inject6(
    p,
    ip6Frame({
      src: B6,
      dst: A6,
      hopLimit: 255,
      nextHeader: 58,
      payload: na(false, 0x020000000099),
    }),
  );
  let e = p.a.ipv6.ndisc.entries()[0]!;
  assert.is(e.state, "STALE");
  assert.is(e.mac, MAC_B6, "not overridden");
  inject6(
    p,
    ip6Frame({
      src: B6,
      dst: A6,
      hopLimit: 255,
      nextHeader: 58,
      payload: na(true, 0x020000000099),
    }),
  );
  e = p.a.ipv6.ndisc.entries()[0]!;
  assert.is(e.mac, 0x020000000099);
  assert.is(e.state, "STALE");
  // §7.1.2: a solicited advertisement to a multicast destination is invalid.
  const bad = ndMessage((b, at) =>
    emitNeighborAdvert({ router: false, solicited: true, override: true }, a6(B6), 0, MAC_B6, b, at)
  );
  inject6(p, ip6Frame({ src: B6, dst: "ff02::1", hopLimit: 255, nextHeader: 58, payload: bad }));
  assert.is(p.a.stats.drops.get("ndisc.bad_na"), 1);
  await p.close();
});

test("RFC 4861 §7.2.4: a DAD probe (from ::) for our address is answered to ff02::1 with Solicited clear", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  const ns = ndMessage((b, at) =>
    emitNeighborSolicit(a6(A6), 0, null, new Uint8Array(6).fill(7), b, at)
  );
  inject6(
    p,
    ip6Frame({
      src: "::",
      dst: formatIpv6(solicitedNode(a6(A6))),
      hopLimit: 255,
      nextHeader: 58,
      payload: ns,
    }),
  );
  const na = tx.icmp(Icmpv6Type.NEIGHBOR_ADVERT);
  assert.is(na.length, 1);
  assert.is(na[0]!.dst, "ff02::1");
  assert.is(na[0]!.bytes[na[0]!.upperAt + 4]! & 0xe0, 0x20, "override only");
  // §7.1.1: from :: to a non-solicited-node destination, or with SLLA: invalid.
  inject6(p, ip6Frame({ src: "::", dst: "ff02::1", hopLimit: 255, nextHeader: 58, payload: ns }));
  assert.is(p.a.stats.drops.get("ndisc.bad_dad_ns"), 1);
  await p.close();
});

test("RFC 4861 §8: a redirect from the current first-hop router installs a host route; from anyone else it is refused", async () => {
  const p = pair6({ dad: false });
  p.a.ipv6.addrconf.addDefaultRoute(p.ifA, p.llB);
  const dest = "2001:db8:77::1";
  const betterLl = a6("fe80::99");
  const redirect = ndMessage((b, at) => emitRedirect(betterLl, a6(dest), 0x020000000099, b, at));
  inject6(
    p,
    ip6Frame({ src: "fe80::5", dst: A6, hopLimit: 255, nextHeader: 58, payload: redirect }),
  );
  assert.is(p.a.stats.drops.get("ndisc.bad_redirect"), 1, "not our first hop");
  inject6(
    p,
    ip6Frame({ src: formatIpv6(p.llB), dst: A6, hopLimit: 255, nextHeader: 58, payload: redirect }),
  );
  const rt = p.a.ipv6.layer.route(a6(dest), 0);
  assert.ok(rt !== null && rt !== "zone");
  assert.is(formatIpv6(rt.gateway!), "fe80::99");
  assert.is(rt.route?.origin, "redirect");
  assert.is(p.a.ipv6.ndisc.lookupMac(p.ifA, betterLl, 0), 0x020000000099, "§8.3: TLLA cached");
  p.clock.advance(600_001);
  const later = p.a.ipv6.layer.route(a6(dest), 0);
  assert.ok(
    later !== null && later !== "zone" && later.route?.origin === "static",
    "redirects expire",
  );
  await p.close();
});

test("§8 row 17: the cache stays within maxEntries under sends to many unresolvable addresses; the arena comes back", async () => {
  const p = pair6({ dad: false, a: { ipv6: { neighbour: { maxEntries: 64 } } } });
  const rng = new SeededRandom(5);
  const baseline = p.arena.inUse;
  for (let i = 0; i < 2000; i++) {
    const t = new Uint8Array(16);
    t.set(a6("2001:db8::"));
    rng.fill(t.subarray(8));
    const skb = p.a.allocator.alloc(8)!;
    skb.append(pattern(8));
    p.a.ipv6.layer.output(skb, t, 0, { nextHeader: 253 });
    if (i % 100 === 0) p.clock.advance(50);
  }
  assert.ok(p.a.ipv6.ndisc.size <= 64, `${p.a.ipv6.ndisc.size} entries`);
  assert.ok(p.a.stats.ndisc.tableFull > 0);
  p.clock.advance(10_000);
  assert.is(p.arena.inUse, baseline);
  const r = await settle(p.clock, p.a.ping(B6));
  assert.is(r.from, B6, "still resolves a real neighbour");
  await p.close();
});
