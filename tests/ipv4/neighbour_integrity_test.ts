/**
 * Neighbour-cache integrity (issue 15; ARP poisoning): locktime, MAC
 * claims verified by unicast probes of the cached MAC, and reachability
 * confirmation by upper layers (Linux `dst_confirm`) with DELAY → PROBE when
 * it is missing.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { NEIGHBOUR_STATES, NeighbourTable } from "../../src/ipv4/neighbour.ts";
import { MAC_BROADCAST, type MacAddress } from "../../src/wire/addr.ts";
import { ArpOp } from "../../src/wire/arp.ts";
import { EtherType } from "../../src/wire/ethernet.ts";
import {
  A_IP,
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
  world,
  X_MAC,
} from "./_neighbour.ts";

/** A gratuitous ARP (RFC 5227 §3 announcement) claiming `ip` is at `mac`. */
function garp(mac: MacAddress, ip: number) {
  return { op: ArpOp.REQUEST, senderMac: mac, senderIp: ip, targetMac: 0, targetIp: ip };
}

const state = (t: NeighbourTable) => t.entries().map((e) => [e.state, e.mac, e.claimedMac]);

test("§8-17 locktime: of different answers within 1 s the first wins; a different MAC after that is only a claim to verify", () => {
  const w = world();
  const { a, b, env } = w;
  b.answer = false; // we inject B's answers by hand
  assert.is(a.table.output(a.iface, B_IP, datagram(env.allocator, 1)), "queued");
  a.table.rcvArp(arpIn(env.allocator, reply(B_MAC, B_IP)), a.iface);
  assert.equal(state(a.table), [["REACHABLE", B_MAC, undefined]]);
  for (const dt of [10, 490, 499]) {
    env.clock.advance(dt);
    a.table.rcvArp(arpIn(env.allocator, reply(X_MAC, B_IP)), a.iface);
  }
  assert.is(env.clock.now(), 999);
  assert.equal(state(a.table), [["REACHABLE", B_MAC, undefined]]);
  assert.is(a.stats.arp.lockIgnored, 3);
  assert.is(a.stats.drops.get("arp.locktime"), 3);
  env.clock.advance(1);
  a.table.rcvArp(arpIn(env.allocator, reply(X_MAC, B_IP)), a.iface);
  assert.equal(state(a.table), [["PROBE", B_MAC, X_MAC]]);
  assert.is(a.stats.arp.lockIgnored, 3);
  assert.is(a.stats.arp.changesUnverified, 1);
  // The datagram that waited went to the first answer.
  env.clock.advance(0);
  assert.equal(b.frames.filter((f) => f.id >= 0).map((f) => [f.id, f.dst]), [[1, B_MAC]]);
  w.finish();
});

test("§8-17 ARP poisoning: 500 spoofed replies for B over 5 s never re-point the entry — every datagram goes to B's MAC, probes stay ≤ 1/s, B's answers reject each claim", () => {
  const w = resolved();
  const { a, b, env } = w;
  for (let i = 0; i < 500; i++) {
    a.table.rcvArp(arpIn(env.allocator, reply(X_MAC, B_IP)), a.iface);
    assert.ok(a.table.output(a.iface, B_IP, datagram(env.allocator, i)) === "sent");
    env.clock.advance(10);
  }
  const data = b.frames.filter((f) => f.type === EtherType.IPV4);
  assert.is(data.length, 500);
  assert.ok(data.every((f) => f.dst === B_MAC), "a datagram went to the spoofed MAC");
  const probes = arpFrames(b);
  assert.ok(probes.length >= 4 && probes.length <= 6, `${probes.length} probes in 5 s`);
  assert.ok(probes.every((f) => f.dst === B_MAC && f.arp!.op === ArpOp.REQUEST));
  for (let i = 1; i < probes.length; i++) {
    assert.ok(probes[i]!.t - probes[i - 1]!.t >= 1000, "L2: ≤ 1 request/s per destination");
  }
  const s = a.stats.arp;
  assert.is(s.lockIgnored + s.changesUnverified, 500, "each spoofed reply counted once");
  assert.is(s.changesRejected, probes.length, "each probe's answer rejected the claim");
  assert.is(s.changesAccepted, 0);
  env.clock.advance(1000);
  assert.equal(state(a.table), [["REACHABLE", B_MAC, undefined]]);
  w.finish();
});

test("§8-17 a genuine MAC change (B's NIC replaced, old MAC silent): the old MAC is probed maxProbes times, then the entry is re-resolved and the new MAC adopted once it answers our broadcast — never before", () => {
  const w = resolved();
  const { a, b, env } = w;
  b.answer = false; // the old NIC is gone
  env.clock.advance(1000);
  a.table.rcvArp(arpIn(env.allocator, garp(X_MAC, B_IP)), a.iface);
  assert.equal(state(a.table), [["PROBE", B_MAC, X_MAC]]);
  let id = 0;
  let adoptedAt = -1;
  while (env.clock.now() < 6000) {
    a.table.output(a.iface, B_IP, datagram(env.allocator, ++id));
    env.clock.advance(0); // deliver
    // The new NIC answers requests sent by broadcast (it does not get unicasts to B_MAC).
    const ask = arpFrames(b).find((f) => f.dst === MAC_BROADCAST && f.t === env.clock.now());
    if (ask !== undefined && adoptedAt < 0) {
      a.table.rcvArp(arpIn(env.allocator, reply(X_MAC, B_IP)), a.iface);
      adoptedAt = env.clock.now();
    }
    env.clock.advance(100);
  }
  const probes = arpFrames(b);
  assert.equal(probes.map((f) => [f.t, f.dst]), [
    [1000, B_MAC],
    [2000, B_MAC],
    [3000, B_MAC],
    [4000, MAC_BROADCAST],
  ]);
  assert.is(adoptedAt, 4000, "adopted after maxProbes·retransMs");
  const data = b.frames.filter((f) => f.type === EtherType.IPV4);
  assert.ok(data.filter((f) => f.t < 4000).every((f) => f.dst === B_MAC));
  assert.ok(data.filter((f) => f.t >= 4000).every((f) => f.dst === X_MAC));
  assert.ok(data.some((f) => f.dst === X_MAC));
  assert.equal(state(a.table), [["REACHABLE", X_MAC, undefined]]);
  assert.is(a.stats.arp.changesAccepted, 1);
  assert.is(a.stats.drops.get("arp.probe_failed"), 0, "PROBE sends, it queues nothing to drop");
  w.finish();
});

test("confirm() (dst_confirm): a DELAY entry confirmed by an upper layer is REACHABLE again with no ARP; a REACHABLE one only moves its time stamp; nothing to confirm → false", () => {
  assert.ok(NEIGHBOUR_STATES.includes("DELAY"));
  const w = resolved();
  const { a, b, env } = w;
  env.clock.advance(30_000);
  assert.equal(state(a.table), [["STALE", B_MAC, undefined]]);
  a.table.output(a.iface, B_IP, datagram(env.allocator, 1));
  assert.is(a.table.entries()[0]?.state, "DELAY");
  env.clock.advance(2000);
  assert.ok(a.table.confirm(a.iface, B_IP));
  assert.is(a.table.entries()[0]?.state, "REACHABLE");
  assert.is(a.table.entries()[0]?.expires, 62_000);
  // REACHABLE: each confirmation moves the expiry without re-arming a timer.
  const timers = env.clock.pending;
  for (let t = 0; t < 100; t++) {
    env.clock.advance(100);
    assert.ok(a.table.confirm(a.iface, B_IP));
  }
  assert.is(env.clock.pending, timers);
  assert.is(a.table.entries()[0]?.expires, 72_000);
  env.clock.advance(29_999);
  assert.is(a.table.entries()[0]?.state, "REACHABLE");
  assert.equal(arpFrames(b), [], "no ARP at all: the upper layer's word was enough");
  assert.is(a.stats.arp.upperConfirmations, 101);
  // Nothing to confirm: unknown, resolving, other interface.
  assert.not.ok(a.table.confirm(a.iface, C_IP));
  a.table.output(a.iface, C_IP, datagram(env.allocator, 2));
  assert.not.ok(a.table.confirm(a.iface, C_IP));
  assert.not.ok(a.table.confirm(b.iface, B_IP));
  assert.is(a.stats.arp.upperConfirmations, 101);
  w.finish();
});

test("no confirmation: an entry in use whose reachability runs out goes to DELAY (not STALE), then PROBE by unicast after delayProbeMs; a confirmation in between prevents the probe", () => {
  const w = resolved();
  const { a, b, env } = w;
  let id = 0;
  const sendFor = (ms: number) => {
    for (const end = env.clock.now() + ms; env.clock.now() < end;) {
      a.table.output(a.iface, B_IP, datagram(env.allocator, ++id));
      env.clock.advance(500);
    }
  };
  sendFor(30_000);
  assert.is(a.table.entries()[0]?.state, "DELAY", "Linux neigh_timer_handler: used → DELAY");
  assert.equal(arpFrames(b), []);
  sendFor(5_000);
  const probes = arpFrames(b);
  assert.equal(probes.map((f) => [f.t, f.dst]), [[35_000, B_MAC]]);
  assert.is(a.table.entries()[0]?.state, "REACHABLE", "B answered the probe");
  assert.is(ipIds(b).length, id, "no datagram was held back meanwhile");

  // Again, but TCP confirms progress 3 s into DELAY: no probe.
  sendFor(30_000);
  assert.is(a.table.entries()[0]?.state, "DELAY");
  sendFor(3_000);
  assert.ok(a.table.confirm(a.iface, B_IP));
  sendFor(10_000);
  assert.is(arpFrames(b).length, 1, "no second probe");
  assert.is(a.table.entries()[0]?.state, "REACHABLE");
  w.finish();
});

test("confirm() while a claimed MAC is being verified rejects the claim: the cached MAC carries traffic that makes progress", () => {
  const w = resolved();
  const { a, b, env } = w;
  b.answer = false; // B's ARP is slow: only TCP tells us it is alive
  env.clock.advance(1000);
  a.table.rcvArp(arpIn(env.allocator, request(X_MAC, B_IP, A_IP)), a.iface);
  assert.equal(state(a.table), [["PROBE", B_MAC, X_MAC]]);
  assert.is(a.stats.arp.repliesSent, 1, "a request for us is still answered (to its sender)");
  env.clock.advance(500);
  assert.ok(a.table.confirm(a.iface, B_IP));
  assert.equal(state(a.table), [["REACHABLE", B_MAC, undefined]]);
  assert.is(a.stats.arp.changesRejected, 1);
  assert.is(a.stats.drops.get("arp.change_rejected"), 1);
  env.clock.advance(10_000);
  assert.equal(
    arpFrames(b).filter((f) => f.arp!.op === ArpOp.REQUEST).map((f) => [f.t, f.dst]),
    [[1000, B_MAC]],
    "the probe round ended with the confirmation",
  );
  w.finish();
});

test("options: delayProbeMs must be positive, locktimeMs non-negative; locktimeMs 0 makes any different MAC a claim at once", () => {
  const w = world({ locktimeMs: 0 });
  const { a, b, env } = w;
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(
      () => new NeighbourTable({ ...tableDeps(env), delayProbeMs: bad }),
      RangeError,
      "delayProbeMs",
    );
  }
  for (const bad of [-1, NaN, Infinity]) {
    assert.throws(
      () => new NeighbourTable({ ...tableDeps(env), locktimeMs: bad }),
      RangeError,
      "locktimeMs",
    );
  }
  b.answer = false;
  a.table.output(a.iface, B_IP, datagram(env.allocator, 1));
  a.table.rcvArp(arpIn(env.allocator, reply(B_MAC, B_IP)), a.iface);
  a.table.rcvArp(arpIn(env.allocator, reply(X_MAC, B_IP)), a.iface);
  assert.equal(state(a.table), [["PROBE", B_MAC, X_MAC]]);
  assert.is(a.stats.arp.lockIgnored, 0);
  w.finish();
});
