/**
 * Address configuration (RFC 4862) in live stacks: RFC 7217 identifiers,
 * SLAAC from router advertisements, lifetimes and the two-hour rule, default
 * routers, DAD, RFC 6724 source selection, router solicitation and the
 * bounds that keep an RA flood harmless.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { testSeed } from "../_util/test.ts";
import { formatIpv6, inPrefix6, parseIpv6Address } from "../../src/wire/addr6.ts";
import { Icmpv6Type } from "../../src/wire/icmpv6.ts";
import {
  emitNeighborAdvert,
  emitRouterAdvert,
  type RouterAdvertEmitRepr,
} from "../../src/wire/ndp.ts";
import { AddrState } from "../../src/ipv6/inet6_dev.ts";
import { selectSource } from "../../src/ipv6/select.ts";
import { Ipv6Devices } from "../../src/ipv6/inet6_dev.ts";
import { Inet6Addr } from "../../src/ipv6/inet6_dev.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import { B6, capture6, inject6, ip6Frame, MAC_B6, ndMessage, pair6 } from "./_helpers.ts";

const a6 = parseIpv6Address;
const SECRET = new Uint8Array(16).fill(0x42);

function ra(
  p: ReturnType<typeof pair6>,
  repr: RouterAdvertEmitRepr,
  src = formatIpv6(p.llB),
): void {
  const m = ndMessage((b, at) => emitRouterAdvert({ sourceLinkAddress: MAC_B6, ...repr }, b, at));
  inject6(p, ip6Frame({ src, dst: "ff02::1", hopLimit: 255, nextHeader: 58, payload: m }));
}

const prefix = (text: string, valid = 86400, preferred = 14400) => ({
  prefix: a6(text),
  prefixLength: 64,
  onLink: true,
  autonomous: true,
  validLifetime: valid,
  preferredLifetime: preferred,
});

test("RFC 7217: link-local and SLAAC identifiers are stable for a secret, interface and prefix, opaque, and differ per prefix", async () => {
  const mk = () => {
    const p = pair({ seed: testSeed(), a: { ipv6: { stableSecret: SECRET } } });
    p.a.ipv6.addrconf.enable(p.a.interfaces[1]!, { acceptRa: false });
    p.clock.advance(3000);
    return p;
  };
  const p1 = mk(), p2 = mk();
  const ll1 = p1.a.ipv6.devices.get(p1.a.interfaces[1]!)!.linkLocal()!.address;
  const ll2 = p2.a.ipv6.devices.get(p2.a.interfaces[1]!)!.linkLocal()!.address;
  assert.is(formatIpv6(ll1), formatIpv6(ll2), "same secret, interface, prefix: same address");
  assert.ok(formatIpv6(ll1).startsWith("fe80::"));
  assert.not.ok(formatIpv6(ll1).includes("ff:fe"), "not EUI-64");
  await p1.close();
  await p2.close();
  const p3 = pair({ seed: testSeed(), a: { ipv6: { addrGenMode: "eui64" } } });
  p3.a.ipv6.addrconf.enable(p3.a.interfaces[1]!, { acceptRa: false });
  p3.clock.advance(3000);
  assert.is(
    formatIpv6(p3.a.ipv6.devices.get(p3.a.interfaces[1]!)!.linkLocal()!.address),
    "fe80::ff:fe00:1",
  );
  await p3.close();
});

test("RFC 4862 §5.5.3 / RFC 4861 §6.3.4: an RA gives a SLAAC address, a default route, an on-link prefix, the MTU and hop limit", async () => {
  const p = pair6({ slaac: true, a: { ipv6: { stableSecret: SECRET } } });
  ra(p, {
    curHopLimit: 32,
    routerLifetime: 1800,
    mtu: 1400,
    reachableTime: 20_000,
    retransTimer: 500,
    prefixes: [prefix("2001:db8:5::")],
  });
  const dev = p.a.ipv6.devices.get(p.ifA)!;
  const auto = dev.addrs.find((a) => a.origin === "slaac")!;
  assert.ok(inPrefix6(auto.address, 0, a6("2001:db8:5::"), 0, 64));
  assert.is(auto.state, AddrState.TENTATIVE);
  p.clock.advance(3000);
  assert.is(auto.state, AddrState.PREFERRED, "after DAD");
  assert.is(p.a.stats.ndisc.slaacAddresses, 1);
  const def = p.a.ipv6.routes.routes.find((r) => r.prefixLength === 0)!;
  assert.is(formatIpv6(def.gateway!), formatIpv6(p.llB));
  assert.ok(p.a.ipv6.routes.routes.some((r) => r.origin === "ra-prefix" && r.prefixLength === 64));
  assert.is(dev.mtu, 1400);
  assert.is(dev.hopLimit, 32);
  assert.is(dev.retransMs, 500);
  assert.ok(
    dev.reachableMs >= 10_000 && dev.reachableMs <= 30_000,
    "§6.3.2: random around the base",
  );
  // The same RA again is idempotent: one address, one route.
  ra(p, { routerLifetime: 1800, prefixes: [prefix("2001:db8:5::")] });
  assert.is(dev.addrs.filter((a) => a.origin === "slaac").length, 1);
  assert.is(p.a.ipv6.routes.routes.filter((r) => r.prefixLength === 0).length, 1);
  // Router lifetime 0: no longer a default router.
  ra(p, { routerLifetime: 0 });
  assert.is(p.a.ipv6.routes.routes.filter((r) => r.prefixLength === 0).length, 0);
  await p.close();
});

test("RFC 4862 §5.5.4 / §5.5.3 (e): addresses deprecate, expire, and a short valid lifetime obeys the two-hour rule", async () => {
  const p = pair6({ slaac: true });
  ra(p, { routerLifetime: 600, prefixes: [prefix("2001:db8:6::", 30, 10)] });
  const dev = p.a.ipv6.devices.get(p.ifA)!;
  const a = dev.addrs.find((x) => x.origin === "slaac")!;
  p.clock.advance(3000);
  assert.is(a.state, AddrState.PREFERRED);
  p.clock.advance(8000);
  assert.is(a.state, AddrState.DEPRECATED);
  p.clock.advance(20_000);
  assert.not.ok(dev.addrs.includes(a), "removed when the valid lifetime ends");
  // Two-hour rule: valid 3 h, then an RA says 1 h → 2 h, not 1 h.
  ra(p, { routerLifetime: 600, prefixes: [prefix("2001:db8:7::", 3 * 3600, 3600)] });
  const b = dev.addrs.find((x) => x.origin === "slaac")!;
  const t0 = p.clock.now();
  ra(p, { routerLifetime: 600, prefixes: [prefix("2001:db8:7::", 3600, 1800)] });
  assert.is(b.validUntil, t0 + 7200_000);
  // … while a longer one is taken as is.
  ra(p, { routerLifetime: 600, prefixes: [prefix("2001:db8:7::", 5 * 3600, 1800)] });
  assert.is(b.validUntil, t0 + 5 * 3600_000);
  await p.close();
});

test("RFC 4862 §5.5.3: prefixes that are link-local, not /64, or with preferred > valid make no address", async () => {
  const p = pair6({ slaac: true });
  ra(p, {
    prefixes: [
      prefix("fe80::"),
      { ...prefix("2001:db8:8::"), prefixLength: 48 },
      prefix("2001:db8:9::", 100, 200),
    ],
  });
  const dev = p.a.ipv6.devices.get(p.ifA)!;
  assert.is(dev.addrs.filter((a) => a.origin === "slaac").length, 0);
  assert.is(p.a.stats.drops.get("addrconf.bad_prefix_length"), 1);
  assert.is(p.a.stats.drops.get("addrconf.bad_lifetimes"), 1);
  await p.close();
});

test("RFC 4861 §6.3.7: router solicitations — at most 3, 4 s apart, stopped by an RA", async () => {
  const p = pair({ seed: testSeed() });
  const tx = capture6(p.devA);
  p.a.ipv6.addrconf.enable(p.a.interfaces[1]!);
  p.clock.advance(20_000);
  const rs = tx.icmp(Icmpv6Type.ROUTER_SOLICIT);
  assert.is(rs.length, 3);
  assert.ok(rs.every((f) => f.dst === "ff02::2" && f.ip.hopLimit === 255));
  const p2 = pair6({ slaac: true });
  const tx2 = capture6(p2.devA);
  ra(p2, { routerLifetime: 100 });
  p2.clock.advance(20_000);
  assert.is(tx2.icmp(Icmpv6Type.ROUTER_SOLICIT).length, 0, "no more after an RA");
  await p.close();
  await p2.close();
});

test("RFC 4862 §5.4: DAD finds a duplicate — a static address another node has stays unused", async () => {
  const p = pair6();
  const a = p.a.ipv6.addrconf.addStatic(p.ifA, a6(B6), 64);
  p.clock.advance(3000);
  assert.is(a.state, AddrState.DUPLICATE);
  assert.is(p.a.stats.ndisc.dadFailed, 1);
  assert.is(p.b.stats.ndisc.naSent > 0, true, "B defended its address");
  // The address we gave up is B's: its advertisements resolve it for us.
  const r = await settle(p.clock, p.a.ping(B6));
  assert.is(r.from, B6);
  await p.close();
});

test("RFC 4862 §5.4.3 / RFC 7217 §6: a duplicate seen during DAD regenerates a stable identifier; our own looped probe is not a duplicate", async () => {
  const p = pair6({ slaac: true });
  const dev = p.a.ipv6.devices.get(p.ifA)!;
  // Reflect A's own DAD probes straight back at it, as a looping link would.
  const stop = p.devA.addTap((dir, u8, off, len) => {
    if (dir !== "tx" || u8[off + 54] !== Icmpv6Type.NEIGHBOR_SOLICIT || u8[off + 22] !== 0) return;
    const copy = u8.slice(off, off + len);
    copy.set([0x02, 0, 0, 0, 0, 0x09], 6);
    p.devA.receiveBytes(copy);
  });
  const a = p.a.ipv6.addrconf.addStatic(p.ifA, a6("2001:db8::55"), 64);
  p.clock.advance(3000);
  stop();
  assert.is(p.a.stats.drops.get("ndisc.dad_looped"), 1, "RFC 7527: our nonce, so not a duplicate");
  assert.is(a.state, AddrState.PREFERRED);
  // A generated address: NA for it while tentative → regenerate with the next counter.
  ra(p, { prefixes: [prefix("2001:db8:a::")] });
  const first = dev.addrs.find((x) => x.origin === "slaac")!;
  const na = ndMessage((b, at) =>
    emitNeighborAdvert(
      { router: false, solicited: false, override: true },
      first.address,
      0,
      0x020000000077,
      b,
      at,
    )
  );
  inject6(
    p,
    ip6Frame({
      src: formatIpv6(first.address),
      dst: "ff02::1",
      hopLimit: 255,
      nextHeader: 58,
      payload: na,
    }),
  );
  const next = dev.addrs.find((x) => x.origin === "slaac")!;
  assert.is(next.dadCounter, 1);
  assert.is.not(formatIpv6(next.address), formatIpv6(first.address));
  assert.ok(inPrefix6(next.address, 0, a6("2001:db8:a::"), 0, 64));
  p.clock.advance(3000);
  assert.is(next.state, AddrState.PREFERRED);
  await p.close();
});

test("§8: an RA flood cannot add more than 8 routers, 16 prefixes or 16 addresses per interface", async () => {
  const p = pair6({ slaac: true, dad: false });
  for (let i = 0; i < 200; i++) {
    const pfx = a6("2001:db8::");
    pfx[4] = i >> 8;
    pfx[5] = i & 255;
    const router = `fe80::${(i + 1).toString(16)}`;
    ra(p, { routerLifetime: 1800, prefixes: [{ ...prefix("::"), prefix: pfx }] }, router);
  }
  const dev = p.a.ipv6.devices.get(p.ifA)!;
  assert.ok(p.a.ipv6.routes.routes.filter((r) => r.origin === "ra-default").length <= 8);
  assert.ok(p.a.ipv6.routes.routes.filter((r) => r.origin === "ra-prefix").length <= 16);
  assert.ok(dev.addrs.filter((a) => a.origin === "slaac").length <= 16);
  assert.ok(p.a.stats.drops.get("addrconf.too_many_routers") > 0);
  assert.ok(p.a.stats.drops.get("addrconf.too_many_addresses") > 0);
  await p.close();
});

test("RFC 6724 §5: source selection — same address, scope, deprecated, outgoing interface, label, longest prefix", () => {
  const devs = new Ipv6Devices();
  const fake = (index: number, loopback = false) =>
    ({
      index,
      loopback,
      name: `if${index}`,
      mtu: 1500,
      dev: { isUp: true, mtu: 1500, mac: 2 },
    }) as unknown as Iface;
  const i1 = fake(1), i2 = fake(2);
  const d1 = devs.enable(i1, false), d2 = devs.enable(i2, false);
  const add = (d: typeof d1, text: string, state: number = AddrState.PREFERRED) => {
    const a = new Inet6Addr(a6(text), 64, "static");
    a.state = state as AddrState;
    d.addrs.push(a);
    return a;
  };
  add(d1, "fe80::1");
  add(d1, "2001:db8:1::1");
  add(d1, "fd00::1");
  add(d2, "2001:db8:2::1");
  const dep = add(d1, "2001:db8:3::1", AddrState.DEPRECATED);
  const sel = (dst: string, oif: Iface | null = i1) =>
    formatIpv6(selectSource(devs, a6(dst), 0, oif)!.address);
  assert.is(sel("2001:db8:1::1"), "2001:db8:1::1", "rule 1");
  assert.is(sel("fe80::9"), "fe80::1", "rule 2: link scope");
  assert.is(
    sel("2001:db8:3::9"),
    "2001:db8:1::1",
    "rule 3: avoid deprecated even with a longer match",
  );
  assert.is(sel("2001:db8:2::9", i1), "2001:db8:1::1", "rule 5: the outgoing interface");
  assert.is(sel("2001:db8:2::9", i2), "2001:db8:2::1");
  assert.is(sel("fd00::9"), "fd00::1", "rule 6: ULA label");
  assert.is(sel("2a00::1"), "2001:db8:1::1", "rule 6/8: global");
  dep.state = AddrState.TENTATIVE;
  assert.is(sel("2001:db8:3::9"), "2001:db8:1::1", "tentative is never a source");
});

test("::1 lives on the loopback interface; a loopback ping goes through it", async () => {
  const p = pair6({ dad: false });
  const lo = p.a.ipv6.devices.loopback()!;
  assert.equal(lo.addrs.map((a) => formatIpv6(a.address)), ["::1"]);
  assert.is(lo.addrs[0]!.state, AddrState.PREFERRED);
  assert.ok(p.a.ipv6.layer.isLocal(a6("::1"), 0));
  await p.close();
});
