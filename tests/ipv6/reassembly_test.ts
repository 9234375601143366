/**
 * IPv6 reassembly in a live stack (RFC 8200 §4.5) with RFC 5722 (overlaps
 * discard the whole datagram, including fragments still to come), RFC 6946
 * (atomic fragments in isolation), RFC 7112 (the first fragment holds the
 * header chain), the ICMPv6 errors §4.5 asks for, and the caps shared with
 * IPv4 (fragments per datagram, memory, queues per source, timeout).
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pattern } from "../_util/frames.ts";
import { Icmpv6Type } from "../../src/wire/icmpv6.ts";
import { A6, B6, capture6, inject6, ip6Frame, pair6, sink6 } from "./_helpers.ts";

const RAW = 253;

/** One fragment: `data` at `offset` of datagram `id`, with the fragment header (M as given). */
function fragment(
  id: number,
  offset: number,
  more: boolean,
  data: Uint8Array,
  o: { nh?: number; src?: string } = {},
): Uint8Array {
  const fh = [
    0,
    0,
    (offset >> 8) & 0xff,
    (offset & 0xf8) | (more ? 1 : 0),
    id >>> 24,
    (id >>> 16) & 255,
    (id >>> 8) & 255,
    id & 255,
  ];
  return ip6Frame({
    src: o.src ?? B6,
    dst: A6,
    ext: [{ type: 44, bytes: fh }],
    nextHeader: o.nh ?? RAW,
    payload: data,
    checksumAt: null,
  });
}

/** Cut `data` into `sizes` pieces (the last takes the rest) as fragments of `id`. */
function cut(id: number, data: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = Math.min(sizes[i] ?? data.length, data.length - off);
    out.push(fragment(id, off, off + n < data.length, data.subarray(off, off + n)));
    off += n;
  }
  return out;
}

test("RFC 8200 §4.5: fragments in any order, with exact duplicates, reassemble once; the arena is returned", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.a);
  const data = pattern(3000, 7);
  const f = cut(1, data, [1232, 1232]);
  const baseline = p.arena.inUse;
  for (const i of [2, 0, 0, 1]) inject6(p, f[i]!);
  assert.is(got.length, 1);
  assert.equal(got[0]!.data, data);
  assert.is(p.a.stats.drops.get("ipv6.frag_duplicate"), 1);
  assert.is(p.a.stats.ip6.reasmOKs, 1);
  assert.is(p.a.ipv6.layer.reassembler.queues, 0);
  assert.is(p.arena.inUse, baseline);
  await p.close();
});

test("RFC 5722 §4: an overlap discards the datagram silently, and fragments of it that arrive later too", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.a);
  const tx = capture6(p.devA);
  const data = pattern(2400, 1);
  inject6(p, fragment(9, 0, true, data.subarray(0, 1200)));
  inject6(p, fragment(9, 1192, true, data.subarray(1192, 1600))); // overlaps by 8 bytes
  inject6(p, fragment(9, 1600, false, data.subarray(1600)));
  inject6(p, fragment(9, 1200, true, data.subarray(1200, 1600))); // the "right" piece, too late
  assert.is(got.length, 0);
  assert.is(p.a.stats.drops.get("ipv6.frag_overlap"), 4);
  assert.is(tx.frames.filter((f) => f.icmpType >= 0 && f.icmpType < 128).length, 0, "silently");
  assert.is(p.a.ipv6.layer.reassembler.memoryBytes, 0, "the fragments' memory is freed at once");
  // After the 60-second tombstone the same identification works again.
  p.clock.advance(60_001);
  for (const fr of cut(9, data, [1200])) inject6(p, fr);
  assert.is(got.length, 1);
  await p.close();
});

test("RFC 6946: an atomic fragment is processed in isolation and does not disturb a queue with its identification", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.a);
  const data = pattern(2000, 2);
  const f = cut(77, data, [1000]);
  inject6(p, f[0]!);
  inject6(p, fragment(77, 0, false, pattern(40, 9)));
  assert.is(got.length, 1, "the atomic fragment is delivered at once");
  assert.equal(got[0]!.data, pattern(40, 9));
  inject6(p, f[1]!);
  assert.is(got.length, 2);
  assert.equal(got[1]!.data, data);
  await p.close();
});

test("RFC 8200 §4.5: a misaligned non-final fragment draws Parameter Problem code 0 at the payload length; an oversized one at the offset", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  inject6(p, fragment(3, 0, true, pattern(1001)));
  inject6(p, fragment(4, 65528, false, pattern(16)));
  const pp = tx.icmp(Icmpv6Type.PARAMETER_PROBLEM);
  assert.is(pp.length, 2);
  const ptr = (i: number) => {
    const m = pp[i]!;
    return (m.bytes[m.upperAt + 4]! << 24 | m.bytes[m.upperAt + 5]! << 16 |
      m.bytes[m.upperAt + 6]! << 8 | m.bytes[m.upperAt + 7]!) >>> 0;
  };
  assert.is(ptr(0), 4, "payload length field");
  assert.is(ptr(1), 42, "fragment offset field");
  assert.is(p.a.stats.drops.get("ipv6.frag_misaligned"), 1);
  assert.is(p.a.stats.drops.get("ipv6.frag_too_big"), 1);
  await p.close();
});

test("RFC 7112: a first fragment without the whole header chain is dropped with Parameter Problem code 3", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  // The fragmentable part starts with a 16-byte destination options header, but the
  // first fragment carries only 8 bytes of it.
  const chain = new Uint8Array(8);
  chain[0] = 60;
  chain[1] = 1;
  inject6(p, fragment(5, 0, true, chain, { nh: 60 }));
  assert.is(p.a.stats.drops.get("ipv6.frag_incomplete_chain"), 1);
  const pp = tx.icmp(Icmpv6Type.PARAMETER_PROBLEM);
  assert.is(pp.length, 1);
  assert.is(pp[0]!.bytes[pp[0]!.upperAt + 1], 3);
  // A first fragment of UDP with only 4 bytes of the header: also incomplete.
  inject6(p, fragment(6, 0, true, pattern(0), { nh: 17 }));
  assert.is(p.a.stats.drops.get("ipv6.frag_incomplete_chain"), 2);
  await p.close();
});

test("RFC 8200 §4.5: a timed-out reassembly sends Time Exceeded code 1 quoting the first fragment, after 60 s", async () => {
  const p = pair6({ dad: false });
  const tx = capture6(p.devA);
  inject6(p, fragment(11, 0, true, pattern(1232)));
  p.clock.advance(59_999);
  assert.is(tx.icmp(Icmpv6Type.TIME_EXCEEDED).length, 0);
  p.clock.advance(2);
  const te = tx.icmp(Icmpv6Type.TIME_EXCEEDED);
  assert.is(te.length, 1);
  assert.is(te[0]!.bytes[te[0]!.upperAt + 1], 1);
  assert.is(p.a.stats.ip6.reasmTimeout, 1);
  // Without the first fragment, no ICMP.
  tx.clear();
  inject6(p, fragment(12, 1232, false, pattern(100)));
  p.clock.advance(60_001);
  assert.is(tx.icmp(Icmpv6Type.TIME_EXCEEDED).length, 0);
  assert.is(p.a.stats.ip6.reasmTimeout, 2);
  await p.close();
});

test("caps: more than 64 fragments drops the datagram; a source can hold at most maxPerSource queues", async () => {
  const p = pair6({ dad: false, a: { ipv6: { reassembly: { maxPerSource: 4 } } } });
  const got = sink6(p.a);
  for (let i = 0; i < 70; i++) inject6(p, fragment(20, i * 8, true, pattern(8, i)));
  assert.is(p.a.stats.drops.get("ipv6.frag_too_many"), 65, "64 queued then the 65th kills them");
  p.clock.advance(60_001); // the rest of that train times out
  for (let id = 100; id < 110; id++) inject6(p, fragment(id, 0, true, pattern(8)));
  assert.is(p.a.ipv6.layer.reassembler.queues, 4);
  assert.is(p.a.stats.drops.get("ipv6.frag_source_limit"), 6);
  assert.is(got.length, 0);
  await p.close();
});

test("a fragment header inside a reassembled packet is refused (no nested reassembly)", async () => {
  const p = pair6({ dad: false });
  const got = sink6(p.a);
  // The reassembled payload itself starts with a fragment header.
  const inner = new Uint8Array(16);
  inner[0] = RAW;
  inner[3] = 0; // offset 0, M clear: atomic
  const whole = new Uint8Array(1600);
  whole.set(inner);
  inject6(p, fragment(31, 0, true, whole.subarray(0, 1200), { nh: 44 }));
  inject6(p, fragment(31, 1200, false, whole.subarray(1200), { nh: 44 }));
  assert.is(got.length, 0);
  assert.is(p.a.stats.drops.get("ipv6.nested_fragment"), 1);
  await p.close();
});
