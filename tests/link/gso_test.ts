import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { Arena } from "../../src/skb/arena.ts";
import { SkbAllocator, type SkBuff } from "../../src/skb/skbuff.ts";
import { completeL4Checksum, gsoSegment } from "../../src/link/gso.ts";
import { randomInt, SeededRandom } from "../../src/core/random.ts";
import { emitIpv4, IpProtocol, parseIpv4 } from "../../src/wire/ipv4.ts";
import { emitTcp, parseTcp, TcpFlags } from "../../src/wire/tcp.ts";
import { NO_TCP_OPTIONS } from "../../src/wire/tcp_options.ts";
import { pair } from "../_util/sim.ts";
import { DeviceFeature } from "../../src/link/device.ts";
import { connectPair, exchange, randomBytes, sha256 } from "../tcp/_helpers.ts";
import { checksum, finishChecksum, ipv6PseudoSum } from "../../src/wasm/checksum.ts";
import { parseIpv6Address } from "../../src/wire/addr6.ts";
import { get16, set16 } from "../../src/wire/bytes.ts";
import { emitIpv6, parseIpv6 } from "../../src/wire/ipv6.ts";

const SRC = 0xc0000201;
const DST = 0xc0000202;

/** A TCP/IPv4 super-segment of `payload` with timestamps, built as TCP output builds one. */
function superSegment(
  alloc: SkbAllocator,
  payload: Uint8Array,
  seq: number,
  flags: number,
  mss: number,
): SkBuff {
  const skb = alloc.alloc(payload.length)!;
  skb.append(payload);
  const opts = { ...NO_TCP_OPTIONS, tsVal: 12345, tsEcr: 678 };
  const tcpAt = skb.push(32);
  emitTcp(
    {
      srcPort: 40000,
      dstPort: 80,
      seq,
      ack: 7,
      flags,
      window: 500,
      urgentPointer: 0,
      options: opts,
      payloadLength: payload.length,
    },
    alloc.arena.u8,
    tcpAt,
    { src: SRC, dst: DST },
  );
  const ipAt = skb.push(20);
  emitIpv4(
    {
      src: SRC,
      dst: DST,
      tos: 0,
      id: 0xfffe,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: IpProtocol.TCP,
      payloadLength: 32 + payload.length,
    },
    alloc.arena.u8,
    ipAt,
  );
  skb.gsoSize = mss;
  return skb;
}

test("GSO (Linux tcp4_gso_segment): 500 random super-segments are cut into valid MSS pieces — checksums, sequence numbers, IDs, FIN/PSH last, CWR first, payload intact", () => {
  const arena = new Arena();
  const alloc = new SkbAllocator(arena);
  const r = new SeededRandom(11);
  for (let round = 0; round < 500; round++) {
    const mss = 64 + randomInt(r, 1400);
    const len = mss + 1 + randomInt(r, 65000 - mss);
    const payload = randomBytes(len, round);
    const seq = r.nextU32();
    const flags = TcpFlags.ACK | TcpFlags.PSH | TcpFlags.CWR | (round % 3 === 0 ? TcpFlags.FIN : 0);
    const skb = superSegment(alloc, payload, seq, flags, mss);
    const pieces: Uint8Array[] = [];
    const n = gsoSegment(skb, 0, alloc, (piece) => {
      assert.is(piece.gsoSize, 0);
      pieces.push(piece.bytes().slice());
      piece.free();
    });
    assert.is(n, Math.ceil(len / mss));
    assert.is(pieces.length, n);
    const got = new Uint8Array(len);
    let off = 0;
    pieces.forEach((b, i) => {
      const ip = parseIpv4(b, 0, b.length);
      if (typeof ip === "string") throw new Error(`piece ${i}: ${ip}`);
      assert.is(ip.id, (0xfffe + i) & 0xffff, "IDs count up from the original's");
      const th = parseTcp(b, ip.payloadOffset, ip.payloadLength, ip); // checksum verified
      if (typeof th === "string") throw new Error(`piece ${i}: ${th}`);
      assert.ok(th.payloadLength <= mss && th.payloadLength > 0);
      assert.is(th.seq, (seq + off) >>> 0);
      const last = i === n - 1;
      assert.is((th.flags & (TcpFlags.FIN | TcpFlags.PSH)) !== 0, last);
      if (last) assert.is(th.flags & TcpFlags.FIN, flags & TcpFlags.FIN);
      assert.is((th.flags & TcpFlags.CWR) !== 0, i === 0);
      assert.is(th.options.tsVal, 12345);
      got.set(b.subarray(th.payloadOffset, th.payloadOffset + th.payloadLength), off);
      off += th.payloadLength;
    });
    assert.is(off, len);
    assert.equal(got, payload);
  }
  assert.is(arena.inUse, 0);
});

test("GSO: a segment no longer than its gsoSize passes unchanged; no room for a piece drops the rest (counted as -1), never a leak", () => {
  const arena = new Arena({
    classes: [{ size: 2048, max: 3, initial: 3 }, { size: 66560, max: 1 }],
  });
  const alloc = new SkbAllocator(arena);
  const small = superSegment(alloc, new Uint8Array(1000), 1, TcpFlags.ACK, 1448);
  let seen = 0;
  assert.is(gsoSegment(small, 0, alloc, (p) => (seen++, p.free())), 1);
  assert.is(seen, 1);
  const big = superSegment(alloc, new Uint8Array(10_000), 1, TcpFlags.ACK, 1000);
  const held: SkBuff[] = [];
  assert.is(gsoSegment(big, 0, alloc, (p) => held.push(p)), -1, "three 2 KiB slots for ten pieces");
  assert.is(held.length, 3);
  for (const p of held) p.free();
  assert.is(arena.inUse, 0);
});

test("TSO end to end: a clean TSO pipe carries super-segments whole; the same transfer over a plain pipe carries MTU frames — both sha256 equal", async () => {
  for (const features of [DeviceFeature.TSO, 0]) {
    const p = pair({ seed: 5, impair: { delay: 1 }, features });
    const { listener, client, server } = connectPair(p);
    let frames = 0;
    let maxFrame = 0;
    p.devB.addTap((dir, _u8, _o, len) => {
      if (dir !== "rx") return;
      frames++;
      maxFrame = Math.max(maxFrame, len);
    });
    const data = randomBytes(4 << 20, 5);
    const r = exchange(p, client, server, data, new Uint8Array(0));
    assert.is(await sha256(r.atY), await sha256(data));
    if (features !== 0) {
      assert.ok(maxFrame > 60_000, `largest frame ${maxFrame}`);
      assert.ok(frames < (4 << 20) / 20_000, `${frames} frames for 4 MiB`);
    } else {
      assert.ok(maxFrame <= 1514, `largest frame ${maxFrame}`);
    }
    for (const s of [client, server, listener]) s.close();
    p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 300_000);
    await p.close();
  }
});

/** A TCP/IPv6 super-segment (2001:db8::1 → ::2), TCP checksum over the IPv6 pseudo-header. */
function superSegment6(
  alloc: SkbAllocator,
  payload: Uint8Array,
  seq: number,
  flags: number,
  mss: number,
): SkBuff {
  const skb = alloc.alloc(payload.length)!;
  skb.append(payload);
  const opts = { ...NO_TCP_OPTIONS, tsVal: 12345, tsEcr: 678 };
  const tcpAt = skb.push(32);
  const u8 = alloc.arena.u8;
  emitTcp(
    {
      srcPort: 40000,
      dstPort: 80,
      seq,
      ack: 7,
      flags,
      window: 500,
      urgentPointer: 0,
      options: opts,
      payloadLength: payload.length,
    },
    u8,
    tcpAt,
    { src: 0, dst: 0 },
    { checksum: false },
  );
  const ipAt = skb.push(40);
  emitIpv6(
    {
      trafficClass: 0,
      flowLabel: 0x12345,
      payloadLength: 32 + payload.length,
      nextHeader: 6,
      hopLimit: 64,
      src: SRC6,
      dst: DST6,
    },
    u8,
    ipAt,
  );
  const len = 32 + payload.length;
  set16(
    u8,
    tcpAt + 16,
    finishChecksum(checksum(u8, tcpAt, len, ipv6PseudoSum(u8, ipAt + 8, u8, ipAt + 24, len, 6))),
  );
  skb.gsoSize = mss;
  return skb;
}

const SRC6 = parseIpv6Address("2001:db8::1");
const DST6 = parseIpv6Address("2001:db8::2");

test("GSO over IPv6 (Linux tcp6_gso_segment): 200 random super-segments are cut into MSS pieces with the payload length and the checksum over the IPv6 pseudo-header right", () => {
  const arena = new Arena();
  const alloc = new SkbAllocator(arena);
  const r = new SeededRandom(12);
  for (let round = 0; round < 200; round++) {
    const mss = 64 + randomInt(r, 1400);
    const len = mss + 1 + randomInt(r, 65000 - mss);
    const payload = randomBytes(len, round);
    const seq = r.nextU32();
    const flags = TcpFlags.ACK | TcpFlags.PSH | (round % 3 === 0 ? TcpFlags.FIN : 0);
    const skb = superSegment6(alloc, payload, seq, flags, mss);
    const got = new Uint8Array(len);
    let off = 0;
    let i = 0;
    const n = gsoSegment(skb, 0, alloc, (piece) => {
      const b = piece.bytes().slice();
      piece.free();
      const ip = parseIpv6(b, 0, b.length);
      if (typeof ip === "string") throw new Error(`piece ${i}: ${ip}`);
      assert.is(ip.payloadLength, b.length - 40, "payload length rewritten");
      assert.is(ip.flowLabel, 0x12345);
      const t = ip.payloadOffset;
      assert.is(
        checksum(b, t, ip.payloadLength, ipv6PseudoSum(b, 8, b, 24, ip.payloadLength, 6)),
        0xffff,
        `piece ${i}: TCP checksum over the IPv6 pseudo-header`,
      );
      const th = parseTcp(b, t, ip.payloadLength, { src: 0, dst: 0 }, { verifyChecksum: false });
      if (typeof th === "string") throw new Error(`piece ${i}: ${th}`);
      assert.is(th.seq, (seq + off) >>> 0);
      assert.ok(th.payloadLength > 0 && th.payloadLength <= mss);
      got.set(b.subarray(th.payloadOffset, th.payloadOffset + th.payloadLength), off);
      off += th.payloadLength;
      i++;
    });
    assert.is(n, Math.ceil(len / mss));
    assert.is(off, len);
    assert.equal(got, payload);
  }
  assert.is(arena.inUse, 0);
});

test("completeL4Checksum (Linux skb_checksum_help): a partial TCP checksum (pseudo-header seed) over IPv4 and IPv6, and a UDP one, become the full checksum; non-IP, fragments and bad lengths are left alone", () => {
  const arena = new Arena();
  const alloc = new SkbAllocator(arena);
  const u8 = () => arena.u8;
  for (const [name, make] of [["IPv4", superSegment], ["IPv6", superSegment6]] as const) {
    for (const size of [0, 1, 999, 1448, 4000]) {
      const skb = make(alloc, randomBytes(size, size + 3), 1000, TcpFlags.ACK, 0);
      const tcpAt = skb.data + (name === "IPv4" ? 20 : 40);
      const full = get16(u8(), tcpAt + 16);
      // What an offloading kernel hands over: only the pseudo-header sum, not complemented.
      const len = 32 + size;
      // (The addresses sit back to back in both headers: IPv4 at +12, IPv6 at +8.)
      const seed = checksum(
        u8(),
        skb.data + (name === "IPv4" ? 12 : 8),
        name === "IPv4" ? 8 : 32,
        6 + len,
      );
      set16(u8(), tcpAt + 16, seed);
      assert.ok(completeL4Checksum(u8(), skb.data, skb.len), `${name} ${size}: completed`);
      assert.is(get16(u8(), tcpAt + 16), full, `${name} ${size}: the full checksum`);
      skb.free();
    }
  }
  // UDP over IPv4: the sum is recomputed the same way; zero is sent as 0xffff (RFC 768).
  const b = new Uint8Array(28 + 5);
  b.set([0x45, 0, 0, 33, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
  b.set([0x30, 0x39, 0x00, 0x35, 0, 13, 0, 0, 1, 2, 3, 4, 5], 20);
  assert.ok(completeL4Checksum(b, 0, b.length));
  const pseudo = checksum(b, 12, 8, 17 + 13);
  assert.is(finishChecksum(checksum(b, 20, 13, pseudo)), 0, "UDP checksum verifies");
  // Left alone: ARP-ish garbage, a first fragment (MF), a total length past the end.
  const before = b.slice();
  b[0] = 0x15;
  assert.not.ok(completeL4Checksum(b, 0, b.length), "not IP");
  b[0] = 0x45;
  b[6] = 0x20; // MF
  assert.not.ok(completeL4Checksum(b, 0, b.length), "a fragment");
  b[6] = 0x40;
  assert.not.ok(completeL4Checksum(b, 0, 30), "total length beyond the bytes given");
  assert.equal(b.slice(26, 28), before.slice(26, 28), "the checksum field untouched");
});
