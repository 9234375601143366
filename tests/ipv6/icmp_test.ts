/**
 * ICMPv6 (RFC 4443) in live stacks: echo to multicast, the §2.4 (e) rules on
 * which errors are never sent, the §2.4 (f) rate limit, and errors handed to
 * the upper layer whose packet they quote.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pattern } from "../_util/frames.ts";
import { formatIpv6 } from "../../src/wire/addr6.ts";
import { Icmpv6Type } from "../../src/wire/icmpv6.ts";
import type { Icmpv6Error } from "../../src/ipv6/layer.ts";
import { A6, B6, capture6, icmp6, inject6, ip6Frame, pair6, sendRaw6 } from "./_helpers.ts";

test("RFC 4443 §4.2: an echo request to ff02::1 is answered from our unicast link-local address", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  const req = icmp6(Icmpv6Type.ECHO_REQUEST, 0, 0x12340001, pattern(32));
  inject6(p, ip6Frame({ src: formatIpv6(p.llB), dst: "ff02::1", nextHeader: 58, payload: req }));
  p.clock.advance(100);
  const rep = tx.icmp(Icmpv6Type.ECHO_REPLY);
  assert.is(rep.length, 1);
  assert.is(rep[0]!.src, formatIpv6(p.llA));
  assert.equal(rep[0]!.bytes.slice(rep[0]!.upperAt + 4), req.slice(4), "same id, seq and data");
  await p.close();
});

test("RFC 4443 §2.4 (e): no error about an ICMPv6 error, from :: or to multicast; §2.4 (f): errors are rate limited", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  const unknownNh = (src = B6, dst = A6) =>
    inject6(p, ip6Frame({ src, dst, nextHeader: 200, payload: pattern(8), checksumAt: null }));
  // A Destination Unreachable that itself has trouble (quoting garbage) draws nothing.
  const bogus = icmp6(Icmpv6Type.DEST_UNREACHABLE, 4, 0, pattern(48));
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 58, payload: bogus }));
  unknownNh("::");
  unknownNh(B6, "ff02::1");
  assert.is(tx.icmp(Icmpv6Type.PARAMETER_PROBLEM).length, 0);
  for (let i = 0; i < 20; i++) unknownNh();
  assert.is(tx.icmp(Icmpv6Type.PARAMETER_PROBLEM).length, 6, "the burst");
  assert.ok(p.a.stats.icmp6.outRateLimited >= 14);
  p.clock.advance(2000);
  unknownNh();
  unknownNh();
  unknownNh();
  assert.is(tx.icmp(Icmpv6Type.PARAMETER_PROBLEM).length, 8, "then about one per second");
  await p.close();
});

test("RFC 4443 §3: errors quoting our packets reach the upper layer (port unreachable is hard); others are dropped", async () => {
  const p = pair6({ dad: false });
  const errs: Icmpv6Error[] = [];
  p.a.ipv6.layer.register(253, { rcv: (skb) => skb.free(), err: (e) => void errs.push(e) });
  p.b.ipv6.layer.register(253, { rcv: (skb) => skb.free() }); // else B answers with a Parameter Problem
  const tx = capture6(p.devA);
  sendRaw6(p.a, B6, pattern(16));
  p.clock.advance(10);
  const ours = tx.frames.find((f) => f.upper === 253)!;
  const quote = ours.bytes.slice(14);
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 58, payload: icmp6(1, 4, 0, quote) }));
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 58, payload: icmp6(3, 0, 0, quote) }));
  assert.is(errs.length, 2);
  assert.equal([errs[0]!.type, errs[0]!.code, errs[0]!.hard], [1, 4, true]);
  assert.equal([errs[1]!.type, errs[1]!.hard], [3, false]);
  assert.is(formatIpv6(errs[0]!.u8, errs[0]!.fromOffset), B6);
  // A quote of a packet that was not ours.
  const foreign = quote.slice();
  foreign[8 + 15] = 0x77;
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 58, payload: icmp6(1, 4, 0, foreign) }));
  assert.is(errs.length, 2);
  assert.is(p.a.stats.drops.get("icmpv6.error_not_ours"), 1);
  // RFC 4443 §2.4 (a)/(b): unknown types are dropped.
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 58, payload: icmp6(200, 0, 0) }));
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 58, payload: icmp6(99, 0, 0, quote) }));
  assert.is(p.a.stats.drops.get("icmpv6.unknown_type"), 1);
  assert.is(p.a.stats.drops.get("icmpv6.unknown_error"), 1);
  await p.close();
});
