/**
 * The IPv4 layer inside a live stack: hand-made frames injected into a
 * device (RFC 1122 §3.2.1 input checks, each drop counted by reason),
 * output (TTL, IDs, MTU), fragmentation and reassembly across impaired
 * pipes (I8, I9), and ARP as the stack uses it (L1–L4).
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { type Pair, pair, settle } from "../_util/sim.ts";
import {
  arpFrame,
  capture,
  fixIpChecksum,
  icmpEcho,
  ip,
  IP_A,
  IP_B,
  ipv4Frame,
  MAC_A,
  MAC_B,
  pattern,
} from "../_util/frames.ts";
import { randomInt, SeededRandom } from "../../src/core/random.ts";
import type { Stack } from "../../src/api/stack.ts";
import { MAC_BROADCAST } from "../../src/wire/addr.ts";
import { EtherType } from "../../src/wire/ethernet.ts";
import { IcmpType } from "../../src/wire/icmp.ts";
import { IpProtocol, type Ipv4Repr } from "../../src/wire/ipv4.ts";
import { get16 } from "../../src/wire/bytes.ts";

/** RFC 3692 experimental protocol number used for raw test datagrams. */
const RAW = 253;

interface Got {
  data: Uint8Array;
  ip: Ipv4Repr;
  options: Uint8Array;
  iface: string;
}

/** Register a handler for `proto` on `stack` that records every datagram. */
function sink(stack: Stack, proto = RAW): Got[] {
  const got: Got[] = [];
  stack.ipv4.register(proto, {
    rcv(skb, ip, iface) {
      const u8 = skb.arena.u8;
      got.push({
        data: skb.bytes().slice(),
        ip: { ...ip }, // the layer reuses its record: valid during the call only
        options: u8.slice(ip.optionsOffset, ip.optionsOffset + ip.optionsLength),
        iface: iface.name,
      });
      skb.free();
    },
  });
  return got;
}

/** Send `data` from `stack` to `dst` as one raw datagram of protocol `proto`. */
function sendRaw(
  stack: Stack,
  dst: number,
  data: Uint8Array,
  o: { ttl?: number; dontFragment?: boolean; proto?: number } = {},
): number {
  const skb = stack.allocator.alloc(data.length)!;
  skb.append(data);
  return stack.ipv4.output(skb, dst, {
    protocol: o.proto ?? RAW,
    ...(o.ttl !== undefined ? { ttl: o.ttl } : {}),
    ...(o.dontFragment !== undefined ? { dontFragment: o.dontFragment } : {}),
  });
}

/** A pair whose gratuitous ARPs have been delivered (no traffic pending). */
function quietPair(o: Parameters<typeof pair>[0] = {}): Pair {
  const p = pair({ seed: testSeed(), ...o });
  p.clock.advance(100);
  return p;
}

/** Inject `frame` into A's device as if it came off the wire, and process it. */
function inject(p: Pair, frame: Uint8Array): void {
  assert.ok(p.devA.receiveBytes(frame), "frame accepted by the device");
  p.clock.advance(0);
}

/** An echo request from B to A (192.0.2.2 → 192.0.2.1) with `data`. */
function echoFrame(data = pattern(16, 1), o: Partial<Parameters<typeof ipv4Frame>[0]> = {}) {
  return ipv4Frame({
    src: IP_B,
    dst: IP_A,
    protocol: IpProtocol.ICMP,
    payload: icmpEcho(IcmpType.ECHO_REQUEST, 0x4242, 1, data),
    ...o,
  });
}

// ---------------------------------------------------------------------------
// Input validation (I1–I4, I6, I7)

test("I1/I2: version ≠ 4 and bad header checksums are dropped silently and counted by reason", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  for (const version of [0, 5, 6, 15]) {
    const f = echoFrame();
    f[14] = (version << 4) | 5;
    inject(p, fixIpChecksum(f));
  }
  assert.is(p.a.stats.drops.get("ipv4.bad_version"), 4);
  const bad = echoFrame();
  bad[24]! ^= 0x01; // header checksum
  inject(p, bad);
  const bad2 = echoFrame();
  bad2[22]! ^= 0x40; // TTL changed, checksum not
  inject(p, bad2);
  assert.is(p.a.stats.drops.get("ipv4.bad_checksum"), 2);
  assert.is(p.a.stats.ip.inHdrErrors, 6);
  assert.is(p.a.stats.ip.inDelivers, 0);
  assert.is(tx.frames.length, 0, "nothing answered, no ICMP about bad headers");
  // The same datagram, intact, is answered: the drops were for the damage only.
  inject(p, echoFrame());
  assert.is(tx.icmp(IcmpType.ECHO_REPLY).length, 1);
  await p.close();
});

test("I2: header length and total length are checked against the frame; nothing is delivered", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  const cases: [string, (f: Uint8Array) => Uint8Array][] = [
    ["ipv4.truncated", (f) => f.slice(0, 14 + 19)],
    ["ipv4.bad_header_length", (f) => {
      f[14] = 0x44; // IHL 4
      return fixIpChecksum(f);
    }],
    ["ipv4.bad_header_length", (f) => {
      f[14] = 0x4f; // IHL 15 = 60 bytes, frame has 20 + 24
      return f.slice(0, 14 + 44);
    }],
    ["ipv4.bad_total_length", (f) => {
      f[16] = 0;
      f[17] = 19; // total length < header length
      return fixIpChecksum(f);
    }],
    ["ipv4.bad_total_length", (f) => {
      f[16] = 0x05;
      f[17] = 0xdc; // 1500 > what arrived
      return fixIpChecksum(f);
    }],
    ["ipv4.bad_total_length", (f) => f.slice(0, f.length - 1)], // cut one byte short
  ];
  for (const [reason, mutate] of cases) {
    const before = p.a.stats.drops.get(reason);
    inject(p, mutate(echoFrame()));
    assert.is(p.a.stats.drops.get(reason), before + 1, reason);
  }
  assert.is(p.a.stats.ip.inHdrErrors, cases.length);
  assert.is(p.a.stats.ip.inDelivers, 0);
  assert.is(tx.frames.length, 0);
  // Frames shorter than an Ethernet header never reach IP.
  assert.not.ok(p.devA.receiveBytes(new Uint8Array(13)));
  const empty = new Uint8Array(14);
  empty.set([2, 0, 0, 0, 0, 1]); // to A's MAC, ethertype 0
  assert.ok(p.devA.receiveBytes(empty));
  p.clock.advance(0);
  assert.is(p.a.stats.drops.get("link.unknown_ethertype"), 1, "ethertype 0");
  await p.close();
});

test("I2: link padding after the datagram is trimmed — the echo reply carries exactly the request's data", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  const dropsBefore = p.a.stats.drops.total;
  const data = pattern(4, 9);
  const f = echoFrame(data, { padTo: 60 });
  f.fill(0xee, 14 + 20 + 8 + 4); // non-zero junk in the padding
  inject(p, f);
  const big = echoFrame(data, { padTo: 400 });
  big.fill(0xa5, 14 + 20 + 8 + 4);
  inject(p, big);
  const replies = tx.icmp(IcmpType.ECHO_REPLY);
  assert.is(replies.length, 2);
  for (const r of replies) {
    assert.is(r.ip!.payloadLength, 8 + 4, "reply is as long as the request, padding excluded");
    assert.equal(r.bytes.slice(r.ip!.payloadOffset + 8, r.ip!.payloadOffset + 12), data);
  }
  assert.is(p.a.stats.drops.total, dropsBefore);
  await p.close();
});

test("I3: datagrams not addressed to us are dropped and counted; broadcast and all-hosts are accepted", async () => {
  const p = quietPair();
  const got = sink(p.a);
  const tx = capture(p.devA);
  const raw = (dst: number, ethDst = MAC_A) =>
    ipv4Frame({ ethDst, src: IP_B, dst, protocol: RAW, payload: pattern(32) });
  inject(p, raw(ip("192.0.2.77"))); // on-link, someone else
  inject(p, raw(ip("198.51.100.1"))); // off-link: a host does not forward
  inject(p, raw(0)); // 0.0.0.0
  assert.is(p.a.stats.drops.get("ipv4.not_for_us"), 3);
  inject(p, raw(ip("224.0.0.251"), 0x01_00_5e_00_00_fb)); // mDNS group, not joined
  assert.is(p.a.stats.drops.get("ipv4.multicast_not_joined"), 1);
  inject(p, raw(ip("127.0.0.1")));
  inject(p, raw(ip("127.255.255.255")));
  assert.is(p.a.stats.drops.get("ipv4.martian_destination"), 2, "127/8 never from the wire");
  // Our address but a frame for another station's MAC: dropped at the link.
  inject(p, raw(IP_A, 0x02_00_00_00_00_99));
  assert.is(p.a.stats.drops.get("link.other_host"), 1);
  assert.is(p.a.stats.ip.inAddrErrors, 6);
  assert.is(got.length, 0);
  // Accepted: our address, directed and limited broadcast, all-hosts.
  inject(p, raw(IP_A));
  inject(p, raw(ip("192.0.2.255"), MAC_BROADCAST));
  inject(p, raw(0xffffffff, MAC_BROADCAST));
  inject(p, raw(ip("224.0.0.1"), 0x01_00_5e_00_00_01));
  assert.equal(got.map((g) => g.ip.dst >>> 0), [
    IP_A,
    ip("192.0.2.255"),
    0xffffffff,
    ip("224.0.0.1"),
  ]);
  assert.ok(got.every((g) => g.data.length === 32));
  assert.is(tx.frames.length, 0, "no ICMP about any of them (C2: not about broadcast)");
  await p.close();
});

test("I4: martian, broadcast and multicast sources, 127/8 and our own address from the wire are dropped", async () => {
  const p = quietPair();
  const got = sink(p.a);
  const tx = capture(p.devA);
  const martians = [
    "0.0.0.0",
    "0.1.2.3",
    "127.0.0.1",
    "127.9.9.9",
    "224.0.0.1",
    "239.1.1.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.255", // our subnet's directed broadcast
  ];
  for (const s of martians) {
    inject(p, ipv4Frame({ src: ip(s), dst: IP_A, protocol: RAW, payload: pattern(8) }));
  }
  assert.is(p.a.stats.drops.get("ipv4.martian_source"), martians.length);
  // Land-style spoof: our own address as the source on the wire.
  inject(p, ipv4Frame({ src: IP_A, dst: IP_A, protocol: RAW, payload: pattern(8) }));
  inject(p, echoFrame(pattern(8), { src: IP_A }));
  assert.is(p.a.stats.drops.get("ipv4.own_source"), 2);
  assert.is(p.a.stats.ip.inAddrErrors, martians.length + 2);
  assert.is(got.length, 0);
  assert.is(tx.frames.length, 0, "no echo reply to ourselves, no ARP for a martian");
  // A normal unicast source is fine.
  inject(p, ipv4Frame({ src: ip("192.0.2.9"), dst: IP_A, protocol: RAW, payload: pattern(8) }));
  assert.is(got.length, 1);
  await p.close();
});

test("I6: datagrams with TTL 0 or 1 are accepted; replies use the default TTL; TTL 0 is never sent", async () => {
  const p = quietPair();
  const got = sink(p.a);
  const tx = capture(p.devA);
  for (const ttl of [0, 1]) {
    inject(p, ipv4Frame({ src: IP_B, dst: IP_A, protocol: RAW, payload: pattern(8), ttl }));
    inject(p, echoFrame(pattern(8), { ttl }));
  }
  assert.equal(got.map((g) => g.ip.ttl), [0, 1]);
  const replies = tx.icmp(IcmpType.ECHO_REPLY);
  assert.is(replies.length, 2);
  assert.ok(replies.every((r) => r.ip!.ttl === 64));
  assert.throws(() => sendRaw(p.a, IP_B, pattern(8), { ttl: 0 }), RangeError);
  assert.throws(() => sendRaw(p.a, IP_B, pattern(8), { ttl: 256 }), RangeError);
  await p.close();
});

test("I6: the TTL is configurable per stack and per datagram", async () => {
  const p = pair({ seed: testSeed(), a: { ttl: 17 } });
  const tx = capture(p.devA);
  await settle(p.clock, p.a.ping("192.0.2.2"));
  await settle(p.clock, p.a.ping("192.0.2.2", { ttl: 3, seq: 1 }));
  const req = tx.icmp(IcmpType.ECHO_REQUEST);
  assert.equal(req.map((f) => f.ip!.ttl), [17, 3]);
  const r = await settle(p.clock, p.b.ping("192.0.2.1"));
  assert.is(r.ttl, 17, "A's echo reply uses A's default TTL");
  await p.close();
});

test("I7: unknown options are ignored and passed up; malformed options drop the datagram", async () => {
  const p = quietPair();
  const got = sink(p.a);
  const tx = capture(p.devA);
  // Unknown option 0x9e (len 4), NOP, EOL; then Router Alert (148, len 4).
  const unknown = new Uint8Array([0x9e, 4, 0xab, 0xcd, 1, 0, 0, 0]);
  inject(
    p,
    ipv4Frame({ src: IP_B, dst: IP_A, protocol: RAW, payload: pattern(8), options: unknown }),
  );
  const ra = new Uint8Array([148, 4, 0, 0]);
  inject(p, echoFrame(pattern(10), { options: ra }));
  // A 40-byte option area of NOPs.
  inject(p, echoFrame(pattern(10), { options: new Uint8Array(40).fill(1) }));
  assert.is(got.length, 1);
  assert.equal(got[0]!.options, unknown, "options reach the transport (I7)");
  assert.is(got[0]!.ip.headerLength, 28);
  assert.equal(got[0]!.data, pattern(8), "payload starts after the options");
  assert.is(tx.icmp(IcmpType.ECHO_REPLY).length, 2, "echo with options answered");
  // Malformed: length 0, length 1, length running past the header.
  for (const bad of [[0x9e, 0, 0, 0], [0x9e, 1, 0, 0], [0x9e, 8, 0, 0]]) {
    inject(p, echoFrame(pattern(8), { options: new Uint8Array(bad) }));
  }
  assert.is(p.a.stats.drops.get("ipv4.bad_option"), 3);
  assert.is(tx.icmp(IcmpType.ECHO_REPLY).length, 2);
  await p.close();
});

test("C8/I3: an unknown protocol is counted (inUnknownProtos, ipv4.unknown_protocol) and answered with protocol unreachable", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  inject(p, ipv4Frame({ src: IP_B, dst: IP_A, protocol: 200, payload: pattern(40) }));
  assert.is(p.a.stats.ip.inUnknownProtos, 1);
  assert.is(p.a.stats.drops.get("ipv4.unknown_protocol"), 1);
  const errs = tx.icmp(IcmpType.DEST_UNREACHABLE);
  assert.is(errs.length, 1);
  assert.is(errs[0]!.bytes[errs[0]!.ip!.payloadOffset + 1], 2, "code 2: protocol unreachable");
  // Broadcast-addressed unknown protocol: counted, but no error (C2).
  inject(
    p,
    ipv4Frame({
      ethDst: MAC_BROADCAST,
      src: IP_B,
      dst: ip("192.0.2.255"),
      protocol: 200,
      payload: pattern(40),
    }),
  );
  assert.is(p.a.stats.ip.inUnknownProtos, 2);
  assert.is(tx.icmp(IcmpType.DEST_UNREACHABLE).length, 1);
  await p.close();
});

// ---------------------------------------------------------------------------
// Output (I4, I9, I10)

test("I10: IP IDs of consecutive datagrams of one flow are distinct; DF datagrams too", async () => {
  const p = quietPair();
  sink(p.b);
  const tx = capture(p.devA);
  await settle(p.clock, p.a.ping("192.0.2.2")); // resolve ARP
  tx.clear();
  for (let i = 0; i < 500; i++) sendRaw(p.a, IP_B, pattern(8, i));
  for (let i = 0; i < 500; i++) sendRaw(p.a, IP_B, pattern(8, i), { dontFragment: true });
  p.clock.advance(10);
  const ids = tx.ip(RAW).map((f) => f.ip!.id);
  assert.is(ids.length, 1000);
  assert.is(new Set(ids.slice(0, 500)).size, 500);
  assert.is(new Set(ids.slice(500)).size, 500);
  await p.close();
});

test("I10: two stacks with different secrets start their ID sequences at unrelated values", async () => {
  const first: number[] = [];
  for (const seed of [1, 2, 3, 4]) {
    const p = pair({ seed });
    const tx = capture(p.devA);
    await settle(p.clock, p.a.ping("192.0.2.2"));
    first.push(tx.icmp(IcmpType.ECHO_REQUEST)[0]!.ip!.id);
    await p.close();
  }
  assert.is(new Set(first).size, 4, `first IDs ${first}`);
});

test("I4: every datagram the stack sends has one of its own unicast addresses as source", async () => {
  const p = quietPair();
  sink(p.b);
  const tx = capture(p.devA);
  await settle(p.clock, p.a.ping("192.0.2.2"));
  sendRaw(p.a, IP_B, pattern(8));
  sendRaw(p.a, ip("192.0.2.255"), pattern(8));
  sendRaw(p.a, 0xffffffff, pattern(8));
  inject(p, ipv4Frame({ src: IP_B, dst: IP_A, protocol: 99, payload: pattern(8) })); // → ICMP error
  inject(p, echoFrame(pattern(8), { dst: 0xffffffff, ethDst: MAC_BROADCAST })); // ignored
  p.clock.advance(10);
  const sent = tx.ip();
  assert.ok(sent.length >= 5);
  assert.ok(sent.every((f) => f.ip!.src === IP_A), "source is always 192.0.2.1");
  await p.close();
});

test("I9: nothing larger than the MTU leaves the device; offsets tile the datagram (MTUs 576/1500/9000)", async () => {
  for (const mtu of [576, 1500, 9000]) {
    const p = quietPair({ mtu, b: { reassembly: { maxFragmentsPerDatagram: 128 } } });
    const got = sink(p.b);
    const tx = capture(p.devA);
    await settle(p.clock, p.a.ping("192.0.2.2")); // resolve ARP
    tx.clear();
    const sizes = [mtu - 20, mtu - 19, 2 * mtu, 65_000, 65_515];
    for (const [i, n] of sizes.entries()) {
      assert.is(sendRaw(p.a, IP_B, pattern(n, i)), 0);
      p.clock.advance(1);
    }
    assert.ok(tx.frames.every((f) => f.bytes.length <= mtu + 14), `mtu ${mtu}`);
    // Group by ID and check the offsets tile [0, n) without gaps.
    const byId = new Map<number, Ipv4Repr[]>();
    for (const f of tx.ip(RAW)) byId.set(f.ip!.id, [...(byId.get(f.ip!.id) ?? []), f.ip!]);
    assert.is(byId.size, sizes.length);
    const total = [...byId.values()].map((fr) => {
      let off = 0;
      for (const x of fr) {
        assert.is(x.fragmentOffset, off);
        off += x.payloadLength;
      }
      assert.not.ok(fr[fr.length - 1]!.moreFragments);
      return off;
    });
    assert.equal(total, sizes);
    assert.equal(got.map((g) => g.data.length), sizes);
    assert.ok(got.every((g, i) => equalBytes(g.data, pattern(sizes[i]!, i))));
    // DF and too big: EMSGSIZE, nothing sent.
    tx.clear();
    assert.is(sendRaw(p.a, IP_B, pattern(mtu), { dontFragment: true }), -90 /* EMSGSIZE */);
    assert.is(tx.frames.length, 0);
    await p.close();
  }
});

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Fragmentation and reassembly across impaired links (I8, I9)

test("I8/I9: random datagrams ≤ 65,000 bytes over reordering, duplicating pipes arrive once and intact (MTU 1500, 9000, 576)", async () => {
  const rng = new SeededRandom(testSeed());
  for (const mtu of [1500, 9000, 576]) {
    const p = quietPair({
      mtu,
      impair: { delay: 2, jitter: 3, reorder: 0.25, reorderDelay: 5, duplicate: 0.15 },
      // 65,000 bytes at MTU 576 is 118 fragments: above the default cap of 70.
      b: { reassembly: { maxFragmentsPerDatagram: 128 } },
    });
    const got = sink(p.b);
    await settle(p.clock, p.a.ping("192.0.2.2"));
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const n = i < 2 ? [65_000, 1][i]! : 1 + randomInt(rng, 65_000);
      const data = pattern(n, i + mtu);
      sent.push(data);
      assert.is(sendRaw(p.a, IP_B, data), 0);
      p.clock.advance(randomInt(rng, 4)); // several datagrams interleave on the wire
    }
    p.clock.advance(1000);
    // Every datagram arrives intact; nothing arrives that was not sent. IP does not
    // remove duplicates, so an unfragmented datagram duplicated on the wire may arrive
    // twice — but duplicated fragments never produce a second copy here (the duplicate
    // of a completing fragment only opens a queue that times out).
    const count = sent.map(() => 0);
    for (const g of got) {
      const i = sent.findIndex((s) => equalBytes(s, g.data));
      assert.ok(i >= 0, `mtu ${mtu}: delivered ${g.data.length} bytes that were never sent`);
      count[i]!++;
    }
    for (const [i, s] of sent.entries()) {
      assert.ok(count[i]! >= 1, `mtu ${mtu}: datagram ${i} (${s.length} bytes) lost`);
      if (s.length + 20 > mtu) assert.is(count[i], 1, `mtu ${mtu}: datagram ${i} duplicated`);
    }
    assert.ok(got.length - sent.length <= p.devA.wire.stats.duplicated);
    assert.is(p.b.stats.ip.reasmFails, 0);
    assert.ok(p.b.stats.drops.get("ipv4.frag_duplicate") > 0, "duplicates were seen and ignored");
    assert.ok(p.devA.wire.stats.reordered > 0);
    await p.close();
  }
});

test("I8: with fragment loss incomplete datagrams time out (counted); Time Exceeded code 1 only when fragment 0 arrived", async () => {
  const p = quietPair({ aToB: { loss: 0.05, delay: 1 } });
  const got = sink(p.b);
  const errs: { type: number; code: number; id: number }[] = [];
  const rxA = capture(p.devA, "rx");
  // Which fragments reached B, by IP ID.
  const rxB = capture(p.devB, "rx");
  // Both sides resolve each other first (retrying: the A → B direction is lossy).
  for (const [from, to] of [[p.b, "192.0.2.1"], [p.a, "192.0.2.2"]] as const) {
    for (let tries = 0;; tries++) {
      try {
        await settle(p.clock, from.ping(to, { seq: tries }));
        break;
      } catch (e) {
        if (tries > 10) throw e;
      }
    }
  }
  rxB.clear();
  const N = 150;
  for (let i = 0; i < N; i++) {
    sendRaw(p.a, IP_B, pattern(6000, i)); // 5 fragments each
    p.clock.advance(1000); // one per second: the ICMP rate limit (1/s) is not what we test
  }
  p.clock.advance(40_000);
  const frags = new Map<number, { first: boolean; n: number }>();
  for (const f of rxB.ip(RAW)) {
    const e = frags.get(f.ip!.id) ?? { first: false, n: 0 };
    e.n++;
    if (f.ip!.fragmentOffset === 0) e.first = true;
    frags.set(f.ip!.id, e);
  }
  const complete = [...frags.values()].filter((e) => e.n === 5).length;
  const incomplete = [...frags.values()].filter((e) => e.n < 5);
  const withFirst = incomplete.filter((e) => e.first).length;
  assert.ok(incomplete.length > 3, `${incomplete.length} incomplete datagrams (loss works)`);
  assert.ok(
    withFirst > 0 && withFirst < incomplete.length,
    `both kinds occur: ${withFirst} of ${incomplete.length} had fragment 0`,
  );
  assert.is(got.length, complete);
  assert.is(p.b.stats.ip.reasmTimeout, incomplete.length, "every incomplete datagram timed out");
  assert.is(
    p.b.stats.drops.get("ipv4.frag_timeout"),
    incomplete.reduce((s, e) => s + e.n, 0),
    "their fragments counted as frag_timeout",
  );
  const te = rxA.icmp(IcmpType.TIME_EXCEEDED);
  for (const f of te) {
    const at = f.ip!.payloadOffset;
    errs.push({ type: f.bytes[at]!, code: f.bytes[at + 1]!, id: get16(f.bytes, at + 8 + 4) });
  }
  assert.is(
    errs.length,
    withFirst,
    "one Time Exceeded per timed-out datagram whose fragment 0 arrived",
  );
  assert.ok(errs.every((e) => e.code === 1), "code 1: reassembly time exceeded");
  for (const e of errs) {
    assert.ok(frags.get(e.id)?.first, "quotes a datagram whose fragment 0 arrived");
  }
  assert.is(p.b.ipv4.reassembler.queues, 0);
  await p.close();
});

test("L3/I9: a fragmented datagram sent before the neighbour is resolved survives resolution (5000 and 65,000 bytes)", async () => {
  // RFC 1122 §2.3.2.2 keeps "at least the latest packet"; with fragmentation the
  // unit that must survive is the datagram: dropping fragment 0 of a 4+-fragment
  // datagram from the pending queue loses all of it (Linux queues by bytes,
  // unres_qlen_bytes, enough for a 64 KiB datagram).
  for (const size of [5000, 65_000]) {
    const p = quietPair({ impair: { delay: 1 } });
    const r = await settle(p.clock, p.a.ping("192.0.2.2", { size, timeout: 3000 }));
    assert.ok(r.dataMatches, `size ${size}`);
    assert.is(p.a.stats.drops.get("arp.pending_overflow"), 0, `size ${size}`);
    await p.close();
  }
});

test("§8-9: overlapping and oversized fragment attacks injected into a live stack are dropped; a clean datagram still gets through", async () => {
  const p = quietPair();
  const got = sink(p.a);
  const frag = (id: number, off: number, len: number, mf: boolean, seed = id) =>
    ipv4Frame({
      src: IP_B,
      dst: IP_A,
      protocol: RAW,
      id,
      fragmentOffset: off,
      moreFragments: mf,
      payload: pattern(len, seed + off),
    });
  // Teardrop: second fragment starts inside the first.
  inject(p, frag(1, 0, 48, true));
  inject(p, frag(1, 40, 48, false));
  // A fragment inside another, then the "completing" piece.
  inject(p, frag(2, 0, 96, true));
  inject(p, frag(2, 16, 16, true));
  inject(p, frag(2, 96, 8, false));
  // Same range, different bytes (not an exact duplicate of the slot).
  inject(p, frag(3, 0, 64, true));
  inject(p, frag(3, 0, 56, true));
  inject(p, frag(3, 64, 8, false));
  // Counted per fragment: the one already queued and the offender, for each datagram.
  assert.is(p.a.stats.drops.get("ipv4.frag_overlap"), 6, "whole datagrams dropped");
  // Ping of death: offset + length past 65,535.
  inject(p, frag(4, 65_528, 16, false));
  assert.is(p.a.stats.drops.get("ipv4.bad_fragment"), 1, "rejected by the header parser");
  // Tiny first fragment.
  inject(p, frag(5, 0, 0, true));
  assert.is(got.length, 0);
  // Nothing of the attacks lingers once the timeout has passed.
  p.clock.advance(31_000);
  assert.is(p.a.ipv4.reassembler.queues, 0);
  assert.is(p.a.ipv4.reassembler.memoryBytes, 0);
  // A clean two-fragment datagram is reassembled.
  inject(p, frag(6, 0, 48, true, 0));
  inject(p, frag(6, 48, 10, false, 0));
  assert.is(got.length, 1);
  assert.is(got[0]!.data.length, 58);
  await p.close();
});

test("§8-9: under the default cap (70 fragments) a 40,000-byte datagram at MTU 576 is refused (frag_too_many)", async () => {
  const p = quietPair({ mtu: 576 });
  const got = sink(p.b);
  await settle(p.clock, p.a.ping("192.0.2.2"));
  assert.is(sendRaw(p.a, IP_B, pattern(38_640)), 0); // exactly 70 fragments of 552
  assert.is(sendRaw(p.a, IP_B, pattern(40_000)), 0); // 73 fragments
  p.clock.advance(10);
  assert.equal(got.map((g) => g.data.length), [38_640]);
  assert.ok(p.b.stats.drops.get("ipv4.frag_too_many") >= 1);
  await p.close();
});

// ---------------------------------------------------------------------------
// ARP through the stack (L1–L4, §8-17)

test("L4: resolution between two stacks: one broadcast request, a unicast reply, RFC 894 frames, both sides learn", async () => {
  const p = pair({ seed: testSeed(), impair: { delay: 1 } });
  const txA = capture(p.devA);
  const txB = capture(p.devB);
  p.clock.advance(10);
  txA.clear();
  txB.clear();
  await settle(p.clock, p.a.ping("192.0.2.2"));
  const reqs = txA.arp();
  const reps = txB.arp();
  // B's gratuitous ARP merged into A's INCOMPLETE entry in the stack_test timing; here
  // the announcements are long gone, so A asks and B answers.
  assert.is(reqs.length, 1);
  assert.is(reqs[0]!.ethDst, MAC_BROADCAST);
  assert.is(reqs[0]!.bytes.length, 60, "ARP padded to the 60-byte minimum");
  assert.is(reps.length, 1);
  assert.is(reps[0]!.ethDst, MAC_A, "reply is unicast to the requester");
  assert.is(get16(reps[0]!.bytes, 14 + 6), 2);
  assert.ok(txA.ip().every((f) => f.ethertype === EtherType.IPV4 && f.ethDst === MAC_B));
  assert.is(p.a.neighbours.lookup(IP_B), MAC_B);
  assert.is(p.b.neighbours.lookup(IP_A), MAC_A, "B learned A from the request aimed at it");
  // B answers without asking.
  txB.clear();
  await settle(p.clock, p.b.ping("192.0.2.1"));
  assert.is(txB.arp().length, 0);
  await p.close();
});

test("L1–L4: gratuitous ARP when an interface comes up; announce: false sends none", async () => {
  const p = pair({ seed: testSeed() });
  // pair() attached both interfaces before we could tap; check the counters and B's receipt.
  assert.is(p.a.stats.arp.requestsSent, 1);
  const rx = capture(p.devB, "rx");
  p.clock.advance(1);
  const g = rx.arp();
  assert.is(g.length, 1);
  const b = g[0]!.bytes;
  assert.is(g[0]!.ethDst, MAC_BROADCAST);
  assert.is(get16(b, 20), 1, "request");
  assert.is(get16(b, 28) * 65536 + get16(b, 30), IP_A, "sender = our address");
  assert.is(get16(b, 38) * 65536 + get16(b, 40), IP_A, "target = our address");
  await p.close();

  const q = pair({ seed: testSeed(), a: { loopback: true } });
  const { createPipe } = await import("../../src/link/pipe.ts");
  const [d1, d2] = createPipe({ allocator: q.a.allocator, clock: q.clock, names: ["x0", "x1"] });
  const tx = capture(d1);
  q.a.addInterface(d1, { address: "203.0.113.1/24", announce: false });
  q.clock.advance(1);
  assert.is(tx.frames.length, 0);
  q.a.removeInterface(q.a.interfaceOf(d1)!);
  d1.close();
  d2.close();
  await q.close();
});

test("§8-17 (L2): an ARP request flood from random senders leaves the live stack's table bounded and the stack working", async () => {
  const max = 64;
  const p = quietPair({ a: { neighbour: { maxEntries: max } } });
  const rng = new SeededRandom(testSeed());
  for (let i = 0; i < 5000; i++) {
    const sender = (0xc0000200 | (2 + randomInt(rng, 250))) >>> 0;
    const mac = 0x02_00_00_10_00_00 + i;
    p.devA.receiveBytes(arpFrame({ op: 1, senderMac: mac, senderIp: sender, targetIp: IP_A }));
    if (i % 500 === 499) p.clock.advance(1);
  }
  p.clock.advance(1);
  assert.ok(p.a.neighbours.size <= max, `${p.a.neighbours.size} entries`);
  assert.ok(p.a.stats.arp.tableFull > 0);
  assert.is(p.a.stats.arp.requestsReceived, 5000 + 1, "the flood and B's announcement");
  assert.is(p.a.stats.arp.repliesSent, 5000, "each request for us answered, to its sender");
  // The replies went to the flood's MACs: B dropped them at the link, learned nothing.
  assert.is(p.b.stats.drops.get("link.other_host"), 5000);
  assert.is(p.b.neighbours.size, 0);
  const r = await settle(p.clock, p.b.ping("192.0.2.1"));
  assert.ok(r.dataMatches);
  await p.close();
});

test("§8-17: unsolicited ARP replies and requests not for us create no entry; a spoofed reply for our own address is refused", async () => {
  const p = quietPair();
  const X = 0x02_00_00_00_00_aa;
  inject(
    p,
    arpFrame({
      op: 2,
      senderMac: X,
      senderIp: ip("192.0.2.50"),
      targetMac: MAC_A,
      targetIp: IP_A,
      ethDst: MAC_A,
    }),
  );
  inject(
    p,
    arpFrame({ op: 1, senderMac: X, senderIp: ip("192.0.2.51"), targetIp: ip("192.0.2.99") }),
  );
  inject(
    p,
    arpFrame({
      op: 2,
      senderMac: X,
      senderIp: IP_A,
      targetMac: MAC_A,
      targetIp: IP_A,
      ethDst: MAC_A,
    }),
  );
  assert.is(p.a.neighbours.size, 0);
  assert.is(p.a.stats.drops.get("arp.unsolicited_reply"), 1);
  assert.is(p.a.stats.drops.get("arp.not_for_us"), 1 + 1, "B's announcement and the request");
  assert.is(p.a.stats.drops.get("arp.address_conflict"), 1);
  // The poisoned-looking reply did not make A believe 192.0.2.50 is at X.
  const tx = capture(p.devA);
  p.a.ping("192.0.2.50", { timeout: 10 }).catch(() => {});
  p.clock.advance(20);
  assert.is(tx.arp().length, 1, "A still has to ask");
  assert.is(tx.ip().length, 0);
  p.clock.advance(5000);
  await p.close();
});

test("L2: fifty pings to a silent on-link address within one second cause one ARP request, three in all", async () => {
  const p = quietPair();
  const tx = capture(p.devA);
  const pings: Promise<unknown>[] = [];
  for (let i = 0; i < 50; i++) {
    pings.push(p.a.ping("192.0.2.77", { seq: i, timeout: 10_000 }).catch((e) => e));
    p.clock.advance(19);
  }
  assert.is(tx.arp().length, 1, "one request in the first second");
  p.clock.advance(11_000);
  const errs = await Promise.all(pings);
  assert.equal(tx.arp().map((f) => f.time), [0, 1000, 2000].map((t) => t + 100));
  // L3: all fifty fit in the byte-bounded queue (212,992 bytes of 2 KiB
  // slots), waited, and were answered with host unreachable when ARP gave up.
  const codes = errs.map((e) => (e as { code?: string }).code);
  assert.equal(codes, new Array(50).fill("EHOSTUNREACH"));
  assert.is(p.a.stats.drops.get("arp.pending_overflow"), 0);
  await p.close();
});

test("L4: only Ethernet II (RFC 894) is decoded — 802.3 length-field, VLAN-tagged and IPv6 frames are counted and dropped", async () => {
  const p = quietPair();
  const got = sink(p.a);
  for (const type of [0x0040, 0x05dc, 0x8100, 0x86dd, 0x88cc]) {
    const f = ipv4Frame({ src: IP_B, dst: IP_A, protocol: RAW, payload: pattern(20) });
    f[12] = type >> 8;
    f[13] = type & 255;
    inject(p, f);
  }
  assert.is(p.a.stats.drops.get("link.unknown_ethertype"), 5);
  assert.is(got.length, 0);
  await p.close();
});

test("L1: a neighbour entry learned by the stack goes stale and is flushed; the stack re-resolves", async () => {
  const p = pair({ seed: testSeed(), a: { neighbour: { reachableMs: 5000, staleMs: 5000 } } });
  await settle(p.clock, p.a.ping("192.0.2.2"));
  assert.is(p.a.neighbours.entries()[0]?.state, "REACHABLE");
  p.clock.advance(5001);
  assert.is(p.a.neighbours.entries()[0]?.state, "STALE");
  p.clock.advance(5001);
  assert.is(p.a.neighbours.size, 0, "flushed");
  const tx = capture(p.devA);
  await settle(p.clock, p.a.ping("192.0.2.2"));
  assert.is(tx.arp().length, 1);
  await p.close();
});
