import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { linkEnv } from "../link/_harness.ts";
import { LoopbackDevice } from "../../src/link/loopback.ts";
import { Iface } from "../../src/ipv4/iface.ts";
import { type NeighbourOutput, NeighbourTable } from "../../src/ipv4/neighbour.ts";
import { ipv4, type Ipv4Address, MAC_BROADCAST, type MacAddress } from "../../src/wire/addr.ts";
import { ARP_DROP_REASONS, ArpOp, type ArpRepr } from "../../src/wire/arp.ts";
import { EtherType, parseEthernet } from "../../src/wire/ethernet.ts";
import {
  A_IP,
  A_MAC,
  arpFrames,
  arpIn,
  B_IP,
  B_MAC,
  C_IP,
  datagram,
  ipIds,
  reply,
  request,
  resolved,
  tableDeps,
  uniqueSenders,
  world,
  X_MAC,
} from "./_neighbour.ts";

test("resolution: first send queues and broadcasts one request; the reply releases the queue in order; both sides learn (L4)", () => {
  const w = world();
  const { a, b, env } = w;
  const out: NeighbourOutput[] = [];
  for (let id = 1; id <= 3; id++) {
    out.push(a.table.output(a.iface, B_IP, datagram(env.allocator, id)));
  }
  assert.equal(out, ["queued", "queued", "queued"]);
  assert.is(a.table.entries()[0]?.state, "INCOMPLETE");
  assert.is(a.table.entries()[0]?.pending, 3);
  env.clock.advance(0);

  // B saw exactly one broadcast request (RFC 826 layout, padded to 60 bytes: RFC 894) …
  const req = b.frames[0]!;
  assert.is(req.dst, MAC_BROADCAST);
  assert.is(req.src, A_MAC);
  assert.is(req.type, EtherType.ARP);
  assert.is(req.len, 60);
  assert.equal(req.arp, request(A_MAC, A_IP, B_IP));
  // … then the three datagrams, in order, unicast with the right MACs.
  const data = b.frames.filter((f) => f.type === EtherType.IPV4);
  assert.equal(data.map((f) => [f.id, f.dst, f.src]), [[1, B_MAC, A_MAC], [2, B_MAC, A_MAC], [
    3,
    B_MAC,
    A_MAC,
  ]]);
  assert.is(arpFrames(b).length, 1);
  // A got a unicast reply.
  assert.is(a.frames.length, 1);
  assert.is(a.frames[0]!.dst, A_MAC);
  assert.equal(a.frames[0]!.arp, {
    op: ArpOp.REPLY,
    senderMac: B_MAC,
    senderIp: B_IP,
    targetMac: A_MAC,
    targetIp: A_IP,
  });

  // Both tables hold the other (requester via the reply, responder via the request).
  const ea = a.table.entries();
  assert.equal(ea.map((e) => [e.ip, e.mac, e.state, e.iface, e.ifindex, e.pending]), [[
    B_IP,
    B_MAC,
    "REACHABLE",
    "pipe0a",
    1,
    0,
  ]]);
  assert.is(ea[0]!.expires, 30_000);
  assert.equal(b.table.entries().map((e) => [e.ip, e.mac, e.state]), [[A_IP, A_MAC, "REACHABLE"]]);
  assert.is(a.table.lookup(B_IP, a.iface), B_MAC);
  assert.is(a.table.lookup(B_IP), B_MAC);
  assert.is(a.table.lookup(C_IP), undefined);

  // Now both directions go straight out, no more ARP.
  assert.is(a.table.output(a.iface, B_IP, datagram(env.allocator, 4)), "sent");
  assert.is(b.table.output(b.iface, A_IP, datagram(env.allocator, 5)), "sent");
  env.clock.advance(0);
  assert.equal(ipIds(b), [1, 2, 3, 4]);
  assert.equal(ipIds(a), [5]);
  assert.is(arpFrames(a).length + arpFrames(b).length, 2);
  assert.is(a.stats.arp.requestsSent, 1);
  assert.is(a.stats.arp.repliesReceived, 1);
  assert.is(b.stats.arp.requestsReceived, 1);
  assert.is(b.stats.arp.repliesSent, 1);
  assert.is(a.stats.drops.total + b.stats.drops.total, 0);
  w.finish();
});

test("retries (L2): one request per retransMs, maxProbes in all, then onResolveFailed gets the queue; the FAILED hold sends no ARP; resolution restarts after it", () => {
  const w = world();
  const { a, b, env } = w;
  a.table.output(a.iface, C_IP, datagram(env.allocator, 1));
  a.table.output(a.iface, C_IP, datagram(env.allocator, 2));
  env.clock.advance(2999);
  const reqs = () => arpFrames(b).filter((f) => f.arp!.targetIp === C_IP);
  assert.equal(reqs().map((f) => f.t), [0, 1000, 2000]);
  assert.ok(reqs().every((f) => f.dst === MAC_BROADCAST));
  assert.equal(a.failed, []);
  env.clock.advance(1);
  assert.equal(a.failed, [{ ip: C_IP, ids: [1, 2] }]);
  assert.is(a.stats.arp.resolveFailed, 1);
  assert.is(a.stats.drops.get("arp.resolve_failed"), 2);
  assert.equal(a.table.entries().map((e) => [e.state, e.mac, e.expires]), [[
    "FAILED",
    undefined,
    4000,
  ]]);
  assert.is(a.table.lookup(C_IP), undefined);

  // A burst during the hold: every packet dropped and counted, not one request.
  for (let i = 0; i < 100; i++) {
    assert.is(a.table.output(a.iface, C_IP, datagram(env.allocator, 100 + i)), "dropped");
    env.clock.advance(9.99);
  }
  assert.is(a.stats.drops.get("arp.unresolved"), 100);
  assert.is(reqs().length, 3);
  assert.is(a.stats.arp.requestsSent, 3);

  env.clock.advance(4000 - env.clock.now());
  assert.is(a.table.size, 0, "hold over: entry removed");
  assert.is(a.table.output(a.iface, C_IP, datagram(env.allocator, 7)), "queued");
  env.clock.advance(0);
  assert.equal(reqs().map((f) => f.t), [0, 1000, 2000, 4000]);
  assert.is(b.stats.drops.get("arp.not_for_us"), 4, "B ignores requests for others (no proxy ARP)");
  w.finish();
});

test("L2: a thousand packets to an unresolved address within 1 s cause exactly one request; retransMs < 1000 is refused", () => {
  const w = world();
  const { a, b, env } = w;
  for (let i = 0; i < 1000; i++) {
    a.table.output(a.iface, C_IP, datagram(env.allocator, i));
    env.clock.advance(0.999);
  }
  assert.ok(env.clock.now() < 1000);
  assert.is(arpFrames(b).length, 1);
  assert.is(a.stats.arp.requestsSent, 1);
  // L3 keeps the latest packets within the bounds: 212,992 bytes counted by
  // slot (truesize), and at most pendingPerEntry packets; the older ones
  // were dropped.
  const probe = datagram(env.allocator, 0);
  const slot = probe.arena.slotSize(probe.slot);
  probe.free();
  const queued = a.table.entries().find((e) => e.ip === C_IP)!.pending;
  assert.is(queued, Math.min(Math.floor(212_992 / slot), a.table.pendingPerEntry));
  assert.is(a.stats.arp.pendingDropped, 1000 - queued);
  env.clock.advance(1000 - env.clock.now());
  assert.is(arpFrames(b).length, 2, "the second request only after a full second");
  for (const bad of [999, 0, NaN]) {
    assert.throws(
      () => new NeighbourTable({ ...tableDeps(env), retransMs: bad }),
      RangeError,
      String(bad),
    );
  }
  for (const opt of ["maxEntries", "maxProbes", "pendingPerEntry", "pendingBytes"] as const) {
    assert.throws(() => new NeighbourTable({ ...tableDeps(env), [opt]: 0 }), RangeError, opt);
  }
  w.finish();
});

test("L3: with pendingPerEntry 3 and five packets queued, the 3 latest are sent and 2 counted as dropped", () => {
  const w = world({ pendingPerEntry: 3 });
  const { a, b, env } = w;
  b.answer = false; // hold the reply back until all five are queued
  for (let id = 1; id <= 5; id++) {
    assert.is(a.table.output(a.iface, B_IP, datagram(env.allocator, id)), "queued");
  }
  assert.is(a.table.entries()[0]?.pending, 3);
  assert.is(a.stats.arp.pendingDropped, 2);
  assert.is(a.stats.drops.get("arp.pending_overflow"), 2);
  b.answer = true;
  env.clock.advance(1000); // the retransmitted request is answered
  assert.equal(ipIds(b), [3, 4, 5]);
  assert.is(env.arena.inUse, 0);
  w.finish();
});

test("L1: REACHABLE turns STALE after reachableMs; the next use sends at once and waits in DELAY; unconfirmed, a unicast probe follows after delayProbeMs and its answer confirms it", () => {
  const w = resolved();
  const { a, b, env } = w;
  env.clock.advance(29_999);
  assert.is(a.table.entries()[0]?.state, "REACHABLE");
  env.clock.advance(1);
  assert.is(a.table.entries()[0]?.state, "STALE");
  assert.is(a.table.lookup(B_IP), B_MAC, "STALE is still usable");
  assert.is(a.table.output(a.iface, B_IP, datagram(env.allocator, 1)), "sent");
  // Linux __neigh_event_send: STALE → DELAY (delay_first_probe_time, 5 s).
  assert.is(a.table.entries()[0]?.state, "DELAY");
  assert.is(a.table.entries()[0]?.expires, 35_000);
  assert.is(a.table.output(a.iface, B_IP, datagram(env.allocator, 2)), "sent");
  env.clock.advance(4_999);
  assert.equal(ipIds(b), [1, 2]);
  assert.equal(arpFrames(b), [], "no ARP while an upper layer may still confirm");
  env.clock.advance(1);
  const probes = arpFrames(b);
  assert.is(probes.length, 1);
  assert.is(probes[0]!.t, 35_000);
  assert.is(probes[0]!.dst, B_MAC, "RFC 1122 §2.3.2.1: unicast poll of the cached address");
  assert.equal(probes[0]!.arp, request(A_MAC, A_IP, B_IP));
  assert.is(a.table.entries()[0]?.state, "REACHABLE");
  assert.is(a.table.entries()[0]?.expires, 65_000);
  w.finish();
});

test("L1: an unanswered re-probe removes the entry after maxProbes·retransMs; the next send broadcasts again", () => {
  const w = resolved();
  const { a, b, env } = w;
  b.answer = false; // B went away
  env.clock.advance(30_000);
  a.table.output(a.iface, B_IP, datagram(env.allocator, 1));
  assert.is(a.table.entries()[0]?.state, "DELAY");
  env.clock.advance(5_000); // nobody confirms it: PROBE
  const t0 = env.clock.now();
  env.clock.advance(2999);
  assert.equal(arpFrames(b).map((f) => [f.t - t0, f.dst]), [[0, B_MAC], [1000, B_MAC], [
    2000,
    B_MAC,
  ]]);
  assert.is(a.table.entries()[0]?.state, "PROBE");
  env.clock.advance(1);
  assert.is(a.table.size, 0);
  assert.is(a.table.lookup(B_IP), undefined);
  assert.is(a.table.output(a.iface, B_IP, datagram(env.allocator, 2)), "queued");
  env.clock.advance(0);
  assert.is(arpFrames(b).at(-1)!.dst, MAC_BROADCAST);
  w.finish();
});

test("L1: flushes out-of-date entries — memory returns to baseline after sweeping many addresses", () => {
  const w = world();
  const { a, b, env } = w;
  b.answer = false;
  const sender = uniqueSenders(17);
  // 500 neighbours ask for us (each creates an entry), then go quiet.
  for (let i = 0; i < 500; i++) {
    const [mac, ip] = sender();
    a.table.rcvArp(arpIn(env.allocator, request(mac, ip, A_IP)), a.iface);
    if (i % 100 === 99) env.clock.advance(0);
  }
  assert.is(a.table.size, 500);
  assert.is(a.stats.arp.repliesSent, 500);
  env.clock.advance(30_000);
  assert.ok(a.table.entries().every((e) => e.state === "STALE"));
  env.clock.advance(60_000);
  assert.is(a.table.size, 0, "unused STALE entries are flushed after staleMs");
  // 300 unresolvable destinations: every entry and queued packet is gone after the hold.
  for (let i = 0; i < 300; i++) {
    a.table.output(a.iface, (ipv4(192, 0, 2, 0) + 4 + (i % 250)) >>> 0, datagram(env.allocator, i));
  }
  assert.is(a.table.size, 250);
  env.clock.advance(4000);
  assert.is(a.table.size, 0);
  assert.is(env.arena.inUse, 0);
  assert.is(env.clock.pending, 0, "no timer left for removed entries");
  w.finish();
});

test("§8-17: a flood of requests from random senders cannot grow the table past maxEntries; resolving entries survive eviction", () => {
  const w = world({ maxEntries: 64 });
  const { a, b, env } = w;
  b.answer = false;
  a.table.output(a.iface, C_IP, datagram(env.allocator, 1)); // INCOMPLETE, must not be evicted
  const sender = uniqueSenders(99);
  const n = 3000;
  for (let i = 0; i < n; i++) {
    // For us: creates an entry and gets a reply.
    const [m1, ip1] = sender();
    a.table.rcvArp(arpIn(env.allocator, request(m1, ip1, A_IP)), a.iface);
    // For someone else, and unsolicited replies: no entry.
    const [m2, ip2] = sender();
    a.table.rcvArp(arpIn(env.allocator, request(m2, ip2, C_IP)), a.iface);
    const [m3, ip3] = sender();
    a.table.rcvArp(arpIn(env.allocator, reply(m3, ip3)), a.iface);
    assert.ok(a.table.size <= 64);
    if (i % 200 === 199) env.clock.advance(0);
  }
  env.clock.advance(0);
  assert.is(a.table.size, 64);
  assert.is(a.stats.arp.tableFull, n - 63);
  assert.is(a.stats.arp.requestsReceived, 2 * n);
  assert.is(a.stats.arp.repliesReceived, n);
  assert.is(a.stats.arp.repliesSent, n, "requests for us are answered even when not cached");
  assert.is(a.stats.arp.unsolicitedIgnored, n);
  assert.is(a.stats.drops.get("arp.unsolicited_reply"), n);
  assert.is(a.stats.drops.get("arp.not_for_us"), n);
  const inc = a.table.entries().filter((e) => e.state === "INCOMPLETE");
  assert.equal(inc.map((e) => [e.ip, e.pending]), [[C_IP, 1]]);

  // A table full of resolving entries refuses new ones instead of evicting them.
  const w2 = world({ maxEntries: 4 });
  const t = w2.a.table;
  for (let i = 0; i < 4; i++) {
    assert.is(
      t.output(w2.a.iface, ipv4(192, 0, 2, 10 + i), datagram(w2.env.allocator, i)),
      "queued",
    );
  }
  assert.is(t.output(w2.a.iface, ipv4(192, 0, 2, 20), datagram(w2.env.allocator, 9)), "dropped");
  assert.is(w2.a.stats.drops.get("arp.table_full"), 1);
  assert.is(w2.a.stats.arp.tableFull, 1);
  t.rcvArp(arpIn(w2.env.allocator, request(X_MAC, ipv4(192, 0, 2, 30), A_IP)), w2.a.iface);
  assert.is(t.size, 4);
  assert.is(w2.a.stats.arp.repliesSent, 1);
  w.finish();
  w2.finish();
});

test("§8-17: an unsolicited reply creates no entry; a reply from a known neighbour merges its new MAC", () => {
  const w = resolved();
  const { a, env } = w;
  a.table.rcvArp(arpIn(env.allocator, reply(X_MAC, C_IP)), a.iface);
  assert.is(a.table.lookup(C_IP), undefined);
  assert.is(a.table.size, 1);
  assert.is(a.stats.arp.unsolicitedIgnored, 1);
  assert.is(a.stats.drops.get("arp.unsolicited_reply"), 1);

  // A reply claiming a new MAC for B. The old code merged it at once (RFC 826)
  // and trusted it for 30 s — the ARP-poisoning hole of issue 15. Now the claim
  // is remembered, traffic stays on the cached MAC and B is asked directly.
  env.clock.advance(10_000);
  a.table.rcvArp(arpIn(env.allocator, reply(X_MAC, B_IP)), a.iface);
  assert.is(a.table.lookup(B_IP), B_MAC);
  assert.equal(a.table.entries().map((e) => [e.state, e.mac, e.claimedMac]), [[
    "PROBE",
    B_MAC,
    X_MAC,
  ]]);
  assert.is(a.stats.arp.unsolicitedIgnored, 1);
  assert.is(a.stats.drops.get("arp.unverified_change"), 1);
  a.table.output(a.iface, B_IP, datagram(env.allocator, 1));
  env.clock.advance(0);
  // The unicast probe to B's cached MAC, then the datagram, also to it; B answers.
  assert.equal(w.b.frames.map((f) => [f.dst, f.arp?.op ?? f.id]), [
    [B_MAC, ArpOp.REQUEST],
    [B_MAC, 1],
  ]);
  assert.equal(a.table.entries().map((e) => [e.state, e.mac, e.claimedMac]), [[
    "REACHABLE",
    B_MAC,
    undefined,
  ]]);
  assert.is(a.stats.arp.changesRejected, 1);
  assert.is(a.stats.drops.get("arp.change_rejected"), 1);
  w.finish();
});

test("§8-17: gratuitous ARP updates an existing entry only; a request not for us still merges a known sender", () => {
  const w = resolved();
  const { a, env } = w;
  const garp = (mac: MacAddress, ip: Ipv4Address, op: ArpOp) => ({
    op,
    senderMac: mac,
    senderIp: ip,
    targetMac: op === ArpOp.REPLY ? MAC_BROADCAST : 0,
    targetIp: ip,
  });
  // Unknown senders: neither form creates an entry.
  a.table.rcvArp(arpIn(env.allocator, garp(X_MAC, C_IP, ArpOp.REQUEST)), a.iface);
  a.table.rcvArp(arpIn(env.allocator, garp(X_MAC, C_IP, ArpOp.REPLY)), a.iface);
  assert.is(a.table.size, 1);
  assert.is(a.stats.drops.get("arp.not_for_us"), 1);
  assert.is(a.stats.arp.unsolicitedIgnored, 1);
  // A known sender announces a new MAC within locktime of B's reply: ignored
  // (the old code took it: any ARP frame could re-point a confirmed entry).
  a.table.rcvArp(arpIn(env.allocator, garp(X_MAC, B_IP, ArpOp.REQUEST)), a.iface);
  assert.is(a.table.lookup(B_IP), B_MAC);
  assert.is(a.stats.arp.lockIgnored, 1);
  assert.is(a.stats.drops.get("arp.locktime"), 1);
  // The same MAC confirms (and moves the locktime window).
  env.clock.advance(900);
  a.table.rcvArp(arpIn(env.allocator, garp(B_MAC, B_IP, ArpOp.REPLY)), a.iface);
  assert.is(a.table.entries()[0]?.expires, 30_900);
  // After locktime, a known sender's request not for us is still merged before
  // RFC 826 asks "am I the target?" — as a claim to verify, not a new binding.
  env.clock.advance(1000);
  a.table.rcvArp(arpIn(env.allocator, request(X_MAC, B_IP, C_IP)), a.iface);
  assert.is(a.table.lookup(B_IP), B_MAC);
  assert.is(a.table.entries()[0]?.claimedMac, X_MAC);
  assert.is(a.stats.arp.changesUnverified, 1);
  assert.is(a.stats.arp.repliesSent, 0, "none of these is answered");
  w.finish();
});

test("ARP from our own MAC is ignored; malformed ARP and bad senders are dropped and counted by reason", () => {
  const w = resolved();
  const { a, env } = w;
  const t = a.table;
  const before = t.entries();
  // Our own request reflected back, by ARP sender or by Ethernet source.
  t.rcvArp(arpIn(env.allocator, request(A_MAC, B_IP, A_IP)), a.iface);
  t.rcvArp(arpIn(env.allocator, request(X_MAC, C_IP, A_IP), A_MAC), a.iface);
  assert.is(a.stats.drops.get("arp.own_mac"), 2);
  assert.is(a.stats.arp.requestsReceived, 0, "not counted as received");

  // Malformed: each parser reason is counted under its own name.
  const raw = (mutate: (u8: Uint8Array, at: number) => void, len = 28) => {
    const skb = arpIn(env.allocator, request(X_MAC, C_IP, A_IP));
    mutate(skb.arena.u8, skb.data);
    skb.trim(len);
    return skb;
  };
  t.rcvArp(raw(() => {}, 27), a.iface);
  t.rcvArp(
    raw((u8, at) => {
      u8[at + 1] = 6;
    }),
    a.iface,
  ); // htype 6 (IEEE 802)
  t.rcvArp(
    raw((u8, at) => {
      u8[at + 5] = 16;
    }),
    a.iface,
  ); // plen 16
  t.rcvArp(
    raw((u8, at) => {
      u8[at + 7] = 3;
    }),
    a.iface,
  ); // RARP request
  for (const reason of ARP_DROP_REASONS) assert.is(a.stats.drops.get(reason), 1, reason);

  // Bad sender protocol or hardware addresses never reach the table.
  const bad: [ArpRepr, string][] = [
    [request(X_MAC, 0xffffffff, A_IP), "arp.bad_sender"],
    [request(X_MAC, ipv4(192, 0, 2, 255), A_IP), "arp.bad_sender"], // directed broadcast
    [request(X_MAC, ipv4(224, 0, 0, 1), A_IP), "arp.bad_sender"],
    [request(X_MAC, ipv4(127, 0, 0, 1), A_IP), "arp.bad_sender"],
    [request(0x01005e000001, C_IP, A_IP), "arp.bad_sender"], // multicast MAC
    [request(MAC_BROADCAST, C_IP, A_IP), "arp.bad_sender"],
    [request(0, C_IP, A_IP), "arp.bad_sender"],
    [request(X_MAC, A_IP, A_IP), "arp.address_conflict"],
  ];
  for (const [repr] of bad) t.rcvArp(arpIn(env.allocator, repr, X_MAC), a.iface);
  assert.is(a.stats.drops.get("arp.bad_sender"), 7);
  assert.is(a.stats.drops.get("arp.address_conflict"), 1);
  assert.equal(t.entries(), before);
  assert.is(a.stats.arp.repliesSent, 0);
  w.finish();
});

test("RFC 5227: a probe (sender 0.0.0.0) for our address gets a reply but creates no entry", () => {
  const w = world();
  const { a, b, env } = w;
  b.answer = false;
  a.table.rcvArp(arpIn(env.allocator, request(X_MAC, 0, A_IP)), a.iface);
  a.table.rcvArp(arpIn(env.allocator, request(X_MAC, 0, C_IP)), a.iface);
  env.clock.advance(0);
  assert.is(a.table.size, 0);
  assert.equal(arpFrames(b).map((f) => [f.dst, f.arp]), [[X_MAC, {
    op: ArpOp.REPLY,
    senderMac: A_MAC,
    senderIp: A_IP,
    targetMac: X_MAC,
    targetIp: 0,
  }]]);
  w.finish();
});

test("announce() emits a well-formed gratuitous ARP; a peer holding our old, silent MAC verifies it, drops it and adopts the new one when it answers a broadcast", () => {
  const w = world();
  const { a, b, env } = w;
  b.table.rcvArp(arpIn(env.allocator, request(X_MAC, A_IP, B_IP)), b.iface); // B knows "A" at X
  assert.is(b.table.lookup(A_IP), X_MAC);
  env.clock.advance(1000); // past locktime
  a.table.announce(a.iface);
  env.clock.advance(0);
  // B's first probe of X is answered by A (the pipe delivers every frame): skip it.
  const g = arpFrames(b).find((f) => f.arp!.op === ArpOp.REQUEST)!;
  assert.is(g.dst, MAC_BROADCAST);
  assert.is(g.src, A_MAC);
  assert.is(g.len, 60);
  assert.equal(g.arp, {
    op: ArpOp.REQUEST,
    senderMac: A_MAC,
    senderIp: A_IP,
    targetMac: 0,
    targetIp: A_IP,
  });
  // Not believed on its word: B keeps X while it asks X directly.
  assert.is(b.table.lookup(A_IP), X_MAC);
  assert.is(b.table.entries()[0]?.claimedMac, A_MAC);
  // X never answers (the pipe hands B's probes to A, whose replies carry
  // A_MAC: one more claim each, still not trusted). After maxProbes the entry
  // goes, and the next send resolves by broadcast: A's answer is adopted.
  env.clock.advance(3000);
  assert.is(b.table.size, 0);
  assert.is(b.stats.arp.changesAccepted, 1);
  assert.is(b.table.output(b.iface, A_IP, datagram(env.allocator, 1)), "queued");
  env.clock.advance(0);
  assert.is(b.table.lookup(A_IP), A_MAC);
  assert.is(a.frames.filter((f) => f.type === EtherType.IPV4).at(-1)!.dst, A_MAC);
  w.finish();
});

test("broadcast, directed broadcast, multicast and noArp destinations need no ARP", () => {
  const w = world();
  const { a, b, env } = w;
  assert.is(a.table.output(a.iface, 0xffffffff, datagram(env.allocator, 1)), "sent");
  assert.is(a.table.output(a.iface, ipv4(192, 0, 2, 255), datagram(env.allocator, 2)), "sent");
  assert.is(a.table.output(a.iface, ipv4(224, 0, 0, 251), datagram(env.allocator, 3)), "sent");
  env.clock.advance(0);
  assert.equal(b.frames.map((f) => [f.id, f.dst, f.src, f.type]), [
    [1, MAC_BROADCAST, A_MAC, EtherType.IPV4],
    [2, MAC_BROADCAST, A_MAC, EtherType.IPV4],
    [3, 0x01005e0000fb, A_MAC, EtherType.IPV4],
  ]);
  assert.is(a.table.size, 0);
  assert.is(a.stats.arp.requestsSent, 0);

  // Loopback: no resolution, the frame is addressed to the device's own MAC.
  const lo = new LoopbackDevice({ allocator: env.allocator, clock: env.clock });
  lo.up();
  const loIf = new Iface({
    index: 9,
    dev: lo,
    address: ipv4(127, 0, 0, 1),
    prefixLength: 8,
    noArp: true,
  });
  const got: [number, number][] = [];
  lo.setRxNotify(() =>
    env.clock.defer(() =>
      lo.poll(Infinity, (skb) => {
        const eth = parseEthernet(skb.arena.u8, skb.data, skb.len) as {
          dst: number;
          ethertype: number;
        };
        got.push([eth.dst, eth.ethertype]);
        skb.free();
      })
    )
  );
  assert.is(a.table.output(loIf, ipv4(127, 0, 0, 1), datagram(env.allocator, 4)), "sent");
  env.clock.advance(0);
  assert.equal(got, [[lo.mac, EtherType.IPV4]]);
  assert.is(a.table.size, 0);
  a.table.announce(loIf); // no-op
  a.table.rcvArp(arpIn(env.allocator, request(X_MAC, C_IP, ipv4(127, 0, 0, 1))), loIf);
  assert.is(a.stats.drops.get("arp.disabled"), 1);
  lo.close();
  w.finish();
});

test("close() frees pending packets and cancels timers; no headroom and ENOBUFS are counted drops, never throws", () => {
  const env = linkEnv({ classes: [{ size: 2048, max: 4, initial: 4 }] });
  const w = world({}, {}, env);
  const { a, b } = w;
  b.answer = false;
  // Four slots: three datagrams queued, one request on the wire.
  for (let i = 0; i < 3; i++) a.table.output(a.iface, C_IP, datagram(env.allocator, i));
  assert.is(env.arena.inUse, 4);
  // Arena exhausted: the retransmitted request finds no buffer.
  env.clock.advance(0);
  const pin = env.allocator.alloc(1)!;
  env.clock.advance(1000);
  assert.is(a.stats.drops.get("arp.no_buffer"), 1);
  assert.is(a.stats.arp.requestsSent, 1);
  pin.free();
  // No room for the Ethernet header: dropped, not a RangeError.
  const tight = env.allocator.alloc(28, { headroom: 10 })!;
  tight.put(28);
  assert.is(a.table.output(a.iface, B_IP, tight), "dropped");
  assert.is(a.stats.drops.get("arp.no_headroom"), 1);
  a.table.close();
  assert.is(a.stats.drops.get("arp.flushed"), 3);
  assert.is(a.table.size, 0);
  assert.is(a.table.output(a.iface, C_IP, datagram(env.allocator, 9)), "dropped");
  a.table.rcvArp(arpIn(env.allocator, request(X_MAC, C_IP, A_IP)), a.iface);
  assert.is(a.stats.drops.get("arp.closed"), 2);
  assert.is(env.arena.inUse, 0);
  w.finish();
});

test("flush(iface) drops only that interface's entries and their queued packets", () => {
  const w = resolved();
  const { a, env } = w;
  a.table.output(a.iface, C_IP, datagram(env.allocator, 1));
  const other = new Iface({
    index: 7,
    dev: a.dev,
    address: ipv4(198, 51, 100, 1),
    prefixLength: 24,
  });
  a.table.output(other, ipv4(198, 51, 100, 2), datagram(env.allocator, 2));
  assert.is(a.table.size, 3);
  a.table.flush(a.iface);
  assert.equal(a.table.entries().map((e) => [e.ifindex, e.state]), [[7, "INCOMPLETE"]]);
  assert.is(a.stats.drops.get("arp.flushed"), 1);
  a.table.flush();
  assert.is(a.table.size, 0);
  w.finish();
});

test("L2: re-probing a STALE entry still waits a full retransMs after the last request to it", () => {
  // Request at t=0, reply at once.
  const w = resolved({ reachableMs: 200, delayProbeMs: 100 });
  const { a, b, env } = w;
  env.clock.advance(200);
  assert.is(a.table.entries()[0]?.state, "STALE");
  assert.is(a.table.output(a.iface, B_IP, datagram(env.allocator, 1)), "sent");
  assert.is(a.table.entries()[0]?.state, "DELAY");
  env.clock.advance(100);
  assert.is(a.table.entries()[0]?.state, "PROBE");
  env.clock.advance(699);
  assert.equal(arpFrames(b), [], "no probe within 1 s of the first request");
  env.clock.advance(1);
  assert.equal(arpFrames(b).map((f) => [f.t, f.dst]), [[1000, B_MAC]]);
  assert.is(a.table.entries()[0]?.state, "REACHABLE");
  w.finish();
});
