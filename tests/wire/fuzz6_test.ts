/**
 * Fuzz every IPv6 wire parser with seeded random and mutated frames: the
 * fixed header, extension-header walks, fragment headers, ICMPv6, its quotes,
 * NDP, MLD and UDP over IPv6. Nothing may throw; every result must be a Repr
 * whose ranges stay inside the input, or a known drop reason. Replay a
 * failure with `NETWASM_SEED=<seed>`.
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { randomInt, SeededRandom } from "../../src/core/random.ts";
import { ipv6PseudoSum } from "../../src/wasm/checksum.ts";
import { get16, set16 } from "../../src/wire/bytes.ts";
import { isWireDropReason, WIRE_DROP_REASONS } from "../../src/wire/drop_reason.ts";
import { emitEthernet, EtherType, parseEthernet } from "../../src/wire/ethernet.ts";
import {
  emitIcmpv6Echo,
  emitIcmpv6Error,
  fillIcmpv6Checksum,
  Icmpv6Type,
  parseIcmpv6,
  parseIcmpv6Quote,
} from "../../src/wire/icmpv6.ts";
import { emitIpv6, NextHeader, parseIpv6 } from "../../src/wire/ipv6.ts";
import {
  emitIpv6Fragment,
  emitIpv6Options,
  type Ipv6Option,
  Ipv6Walk,
  parseIpv6ExtHeader,
  parseIpv6Fragment,
  walkIpv6Headers,
  WalkStatus,
} from "../../src/wire/ipv6_ext.ts";
import { emitMldv2Report, parseMldQuery, parseMldv2Report } from "../../src/wire/mld.ts";
import {
  emitNeighborAdvert,
  emitNeighborSolicit,
  emitRedirect,
  emitRouterAdvert,
  emitRouterSolicit,
  parseNeighborAdvert,
  parseNeighborSolicit,
  parseRedirect,
  parseRouterAdvert,
  parseRouterSolicit,
} from "../../src/wire/ndp.ts";
import { emitUdp6, parseUdp6 } from "../../src/wire/udp.ts";

const NO_VERIFY = { verifyChecksum: false } as const;
const MAX_FRAME = 1600;
/** Every reason the IPv6 parsers can return (the IPv4 ones are fuzz_test.ts's). */
const IPV6_REASONS = WIRE_DROP_REASONS.filter((r) =>
  /^(ipv6|icmpv6|ndp|mld)\./.test(r) || r === "udp.zero_checksum"
);

/** Repr fields that locate a 16-byte address. */
const ADDRESS_FIELDS = [
  "srcOffset",
  "dstOffset",
  "targetOffset",
  "destinationOffset",
  "groupOffset",
] as const;
/** Repr fields that locate a byte range. */
const RANGE_FIELDS = [
  ["payloadOffset", "payloadLength"],
  ["transportOffset", "transportLength"],
  ["dataOffset", "dataLength"],
  ["nonceOffset", "nonceLength"],
  ["redirectedOffset", "redirectedLength"],
  ["offset", "length"],
] as const;

class Fuzzer6 {
  readonly rng: SeededRandom;
  frames = 0;
  calls = 0;
  chainDrops = 0;
  /** Drops by reason on the left-to-right chain only. */
  readonly chainReasons = new Map<string, number>();
  readonly drops = new Map<string, number>();
  readonly accepted = new Map<string, number>();
  readonly buf = new Uint8Array(4096);
  readonly walk = new Ipv6Walk();

  constructor(seed: number) {
    this.rng = new SeededRandom(seed);
  }
  int(n: number): number {
    return randomInt(this.rng, n);
  }
  chance(p: number): boolean {
    return this.rng.nextU32() < p * 4294967296;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  fill(at: number, n: number): void {
    this.rng.fill(this.buf.subarray(at, at + n));
  }
  addr(): Uint8Array {
    const a = new Uint8Array(16);
    this.rng.fill(a);
    if (this.chance(0.3)) a.set([0xfe, 0x80, 0, 0, 0, 0, 0, 0]);
    else if (this.chance(0.2)) a.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]);
    else if (this.chance(0.1)) a.fill(0);
    return a;
  }

  check(name: string, r: unknown, off: number, len: number): boolean {
    this.calls++;
    if (typeof r === "string") {
      if (!isWireDropReason(r)) throw new Error(`${name} returned unknown reason ${r}`);
      this.drops.set(r, (this.drops.get(r) ?? 0) + 1);
      if (!name.endsWith("*")) {
        this.chainDrops++;
        this.chainReasons.set(r, (this.chainReasons.get(r) ?? 0) + 1);
      }
      return false;
    }
    if (typeof r !== "object" || r === null) throw new Error(`${name} returned ${String(r)}`);
    const items = Array.isArray(r) ? r : [r];
    const inside = (what: string, a: number, l: number) => {
      if (!(a >= off && l >= 0 && a + l <= off + len)) {
        throw new Error(`${name}: ${what} ${a}+${l} outside input ${off}+${len}`);
      }
    };
    for (const item of items) {
      const rep = item as Record<string, number>;
      for (const k of ADDRESS_FIELDS) if (k in rep && rep[k]! >= 0) inside(k, rep[k]!, 16);
      for (const [o, l] of RANGE_FIELDS) if (o in rep && rep[o]! >= 0) inside(o, rep[o]!, rep[l]!);
      if ("sourcesOffset" in rep) inside("sources", rep.sourcesOffset!, 16 * rep.sourceCount!);
      for (
        const p of (rep as unknown as { prefixes?: { prefixOffset: number }[] }).prefixes ?? []
      ) {
        inside("prefix", p.prefixOffset, 16);
      }
    }
    this.accepted.set(name, (this.accepted.get(name) ?? 0) + 1);
    return true;
  }

  /** Parse the ICMPv6 body by type, as the stack would. */
  icmpBody(name: string, type: number, at: number, len: number): void {
    const u8 = this.buf;
    switch (type) {
      case Icmpv6Type.ROUTER_SOLICIT:
        this.check(`rs${name}`, parseRouterSolicit(u8, at, len), at, len);
        break;
      case Icmpv6Type.ROUTER_ADVERT:
        this.check(`ra${name}`, parseRouterAdvert(u8, at, len), at, len);
        break;
      case Icmpv6Type.NEIGHBOR_SOLICIT:
        this.check(`ns${name}`, parseNeighborSolicit(u8, at, len), at, len);
        break;
      case Icmpv6Type.NEIGHBOR_ADVERT:
        this.check(`na${name}`, parseNeighborAdvert(u8, at, len), at, len);
        break;
      case Icmpv6Type.REDIRECT:
        this.check(`redirect${name}`, parseRedirect(u8, at, len), at, len);
        break;
      case Icmpv6Type.MLD_QUERY:
        this.check(`mld_query${name}`, parseMldQuery(u8, at, len), at, len);
        break;
      case Icmpv6Type.MLDV2_REPORT:
        this.check(`mld_report${name}`, parseMldv2Report(u8, at, len), at, len);
        break;
      default:
        if (type < 128 && len >= 8) {
          this.check(`quote${name}`, parseIcmpv6Quote(u8, at + 8, len - 8), at + 8, len - 8);
        }
    }
  }

  parseFrame(off: number, len: number): void {
    this.frames++;
    const u8 = this.buf;
    for (const verify of [true, false]) {
      const opts = verify ? undefined : NO_VERIFY;
      const eth = parseEthernet(u8, off, len);
      if (!this.check("ethernet", eth, off, len) || typeof eth === "string") continue;
      if (eth.ethertype !== EtherType.IPV6) continue;
      const p = eth.payloadOffset;
      const ip = parseIpv6(u8, p, eth.payloadLength);
      if (!this.check("ipv6", ip, p, eth.payloadLength) || typeof ip === "string") continue;
      const end = ip.payloadOffset + ip.payloadLength;
      const w = this.walk;
      let st = walkIpv6Headers(u8, ip.nextHeader, ip.payloadOffset, end, true, p + 6, w);
      if (st === WalkStatus.FRAGMENT) {
        const f = parseIpv6Fragment(u8, w.offset, end - w.offset);
        if (!this.check("fragment", f, w.offset, end - w.offset) || typeof f === "string") continue;
        if (f.fragmentOffset !== 0) continue;
        st = walkIpv6Headers(u8, f.nextHeader, w.offset + 8, end, false, w.offset, w);
        // A second fragment header is the layer's to refuse (no nested reassembly).
        if (st === WalkStatus.FRAGMENT) continue;
      }
      if (st !== WalkStatus.UPPER) {
        this.check("walk", w.reason, 0, 0);
        continue;
      }
      this.accepted.set("walk", (this.accepted.get("walk") ?? 0) + 1);
      const t = w.offset, tl = end - t;
      if (w.nextHeader === NextHeader.UDP) {
        const ph = { src: u8, srcOffset: ip.srcOffset, dst: u8, dstOffset: ip.dstOffset };
        this.check("udp6", parseUdp6(u8, t, tl, ph, opts), t, tl);
      } else if (w.nextHeader === NextHeader.ICMPV6) {
        const pseudo = ipv6PseudoSum(u8, ip.srcOffset, u8, ip.dstOffset, tl, 58);
        const m = parseIcmpv6(u8, t, tl, pseudo, opts);
        if (this.check("icmpv6", m, t, tl) && typeof m !== "string") {
          this.icmpBody("", m.type, t, tl);
        }
      }
    }
    // Every parser on raw bytes, whatever the demux would have said.
    const a = off + Math.min(len, 14), al = len - Math.min(len, 14);
    this.check("ipv6*", parseIpv6(u8, a, al), a, al);
    this.check("ext*", parseIpv6ExtHeader(u8, a, al), a, al);
    this.check("fragment*", parseIpv6Fragment(u8, a, al), a, al);
    this.check("icmpv6*", parseIcmpv6(u8, a, al, 0, NO_VERIFY), a, al);
    this.check("quote*", parseIcmpv6Quote(u8, a, al), a, al);
    this.check(
      "udp6*",
      parseUdp6(u8, a, al, { src: u8, srcOffset: 0, dst: u8, dstOffset: 0 }, NO_VERIFY),
      a,
      al,
    );
    this.icmpBody("*", u8[a] ?? 0, a, al);
    const w = this.walk;
    const st = walkIpv6Headers(
      u8,
      this.pick([0, 43, 44, 60, 17]),
      a,
      a + al,
      this.chance(0.5),
      a,
      w,
    );
    if (st === WalkStatus.DROP || st === WalkStatus.PARAM_PROBLEM) {
      this.check("walk*", w.reason, 0, 0);
    } else if (!(w.offset >= a && w.offset <= a + al)) {
      throw new Error(`walk* offset ${w.offset} outside`);
    }
  }

  /** A chain of extension headers at `at` ending in `upper`; returns its length and first nh. */
  extChain(at: number, upper: number): [number, number] {
    const u8 = this.buf;
    const kinds: number[] = [];
    if (this.chance(0.3)) kinds.push(NextHeader.HOP_BY_HOP);
    const n = this.chance(0.05) ? 10 + this.int(10) : this.int(3);
    for (let i = 0; i < n; i++) {
      kinds.push(this.pick([NextHeader.DESTINATION_OPTIONS, NextHeader.ROUTING]));
    }
    if (kinds.length === 0) return [0, upper];
    let p = at;
    for (let i = 0; i < kinds.length; i++) {
      const nh = i + 1 < kinds.length ? kinds[i + 1]! : upper;
      if (kinds[i] === NextHeader.ROUTING) {
        const len = 8 * (1 + 2 * this.int(3));
        u8.fill(0, p, p + len);
        u8[p] = nh;
        u8[p + 1] = len / 8 - 1;
        u8[p + 2] = this.pick([0, 2, 3, 4]);
        u8[p + 3] = this.chance(0.9) ? 0 : 1 + this.int(4);
        p += len;
      } else {
        const options: Ipv6Option[] = [];
        const count = this.chance(0.05) ? 8 + this.int(3) : this.int(3);
        for (let k = 0; k < count; k++) {
          const type = kinds[i] === NextHeader.HOP_BY_HOP && this.chance(0.3)
            ? 5
            : this.chance(0.9)
            ? this.int(0x40) | 0x02
            : this.int(256);
          const data = new Uint8Array(type === 5 ? 2 : this.int(8));
          this.rng.fill(data);
          if (type === 1) data.fill(0);
          options.push({ type, data });
        }
        p += emitIpv6Options(nh, options, u8, p);
      }
    }
    return [p - at, kinds[0]!];
  }

  /** An ICMPv6 message at `t`; returns its length. */
  icmp(t: number): number {
    const u8 = this.buf;
    const target = this.addr();
    const mac = this.chance(0.8) ? this.int(0xffffff) * 0x1000000 + this.int(0xffffff) : null;
    switch (this.int(10)) {
      case 0:
      case 1: {
        const n = this.int(200);
        this.fill(t + 8, n);
        emitIcmpv6Echo(
          {
            type: this.pick([128, 129]),
            id: this.int(65536),
            seq: this.int(65536),
            payloadLength: n,
          },
          u8,
          t,
          0,
        );
        return 8 + n;
      }
      case 2: {
        // An error quoting an IPv6 packet, perhaps with extension headers.
        const q = t + 8;
        const [el, first] = this.extChain(q + 40, this.pick([17, 6, 58]));
        const body = 8 + this.int(40);
        this.fill(q + 40 + el, body);
        emitIpv6(
          {
            trafficClass: 0,
            flowLabel: 0,
            payloadLength: el + body + this.int(500),
            nextHeader: first,
            hopLimit: 64,
            src: this.addr(),
            dst: this.addr(),
          },
          u8,
          q,
        );
        const ql = 40 + el + body;
        emitIcmpv6Error(this.pick([1, 2, 3, 4]), this.int(8), this.rng.nextU32(), ql, u8, t, 0);
        return 8 + ql;
      }
      case 3:
        return emitNeighborSolicit(
          target,
          0,
          mac,
          this.chance(0.3) ? new Uint8Array(6) : null,
          u8,
          t,
        );
      case 4:
        return emitNeighborAdvert(
          { router: this.chance(0.5), solicited: this.chance(0.5), override: this.chance(0.5) },
          target,
          0,
          mac,
          u8,
          t,
        );
      case 5:
        return emitRouterSolicit(mac, u8, t);
      case 6: {
        const prefixes = [];
        for (let i = this.int(4); i > 0; i--) {
          prefixes.push({
            prefix: this.addr(),
            prefixLength: this.pick([64, 48, 128, this.int(256)]),
            onLink: this.chance(0.8),
            autonomous: this.chance(0.8),
            validLifetime: this.rng.nextU32(),
            preferredLifetime: this.rng.nextU32(),
          });
        }
        return emitRouterAdvert(
          {
            curHopLimit: this.int(256),
            routerLifetime: this.int(65536),
            ...(mac !== null ? { sourceLinkAddress: mac } : {}),
            ...(this.chance(0.5) ? { mtu: this.rng.nextU32() } : {}),
            prefixes,
          },
          u8,
          t,
        );
      }
      case 7:
        return emitRedirect(target, this.addr(), mac, u8, t);
      case 8: {
        const records = [];
        for (let i = this.int(4); i > 0; i--) {
          const sources = [];
          for (let k = this.int(3); k > 0; k--) sources.push(this.addr());
          records.push({ type: 1 + this.int(6), group: this.addr(), sources });
        }
        return emitMldv2Report(records, u8, t);
      }
      default: {
        const n = this.pick([24, 28, 28 + 16 * this.int(3)]);
        this.fill(t, n);
        u8[t] = Icmpv6Type.MLD_QUERY;
        u8[t + 1] = 0;
        if (n >= 28) set16(u8, t + 26, (n - 28) / 16);
        return n;
      }
    }
  }

  /** Build a valid frame at `off`; returns its length. */
  validFrame(off: number): number {
    const u8 = this.buf;
    emitEthernet(
      { dst: this.rng.nextU32() * 65536, src: this.rng.nextU32() * 4, ethertype: EtherType.IPV6 },
      u8,
      off,
    );
    const ip = off + 14;
    const src = this.addr(), dst = this.addr();
    const upper = this.pick([
      NextHeader.UDP,
      NextHeader.ICMPV6,
      NextHeader.ICMPV6,
      NextHeader.NO_NEXT_HEADER,
    ]);
    let p = ip + 40;
    // A fragment header goes after the other extension headers (RFC 8200 §4.1 order).
    const fragmented = this.chance(0.15);
    const [el, first] = this.extChain(p, fragmented ? NextHeader.FRAGMENT : upper);
    p += el;
    if (fragmented) {
      emitIpv6Fragment(
        {
          nextHeader: upper,
          fragmentOffset: this.chance(0.7) ? 0 : 8 * this.int(100),
          moreFragments: this.chance(0.5),
          identification: this.rng.nextU32(),
        },
        u8,
        p,
      );
      p += 8;
    }
    let tl = 0;
    if (upper === NextHeader.UDP) {
      const n = this.int(300);
      this.fill(p + 8, n);
      set16(u8, p + 4, 8 + n);
      tl = 8 + n;
    } else if (upper === NextHeader.ICMPV6) {
      tl = this.icmp(p);
    }
    const payloadLength = p + tl - (ip + 40);
    emitIpv6(
      {
        trafficClass: this.int(256),
        flowLabel: this.int(0x100000),
        payloadLength,
        nextHeader: first,
        hopLimit: this.pick([1, 64, 255]),
        src,
        dst,
      },
      u8,
      ip,
    );
    this.fixChecksums(off, p + tl - off);
    const pad = this.chance(0.3) ? this.int(20) : 0;
    this.fill(p + tl, pad);
    return p + tl + pad - off;
  }

  /** Recompute the ICMPv6/UDP checksum where the walk reaches the upper layer. */
  fixChecksums(off: number, len: number): void {
    const u8 = this.buf;
    if (len < 54 || get16(u8, off + 12) !== EtherType.IPV6) return;
    const ip = parseIpv6(u8, off + 14, len - 14);
    if (typeof ip === "string") return;
    const end = ip.payloadOffset + ip.payloadLength;
    const w = this.walk;
    let st = walkIpv6Headers(u8, ip.nextHeader, ip.payloadOffset, end, true, 0, w);
    if (st === WalkStatus.FRAGMENT && end - w.offset >= 8) {
      st = walkIpv6Headers(u8, u8[w.offset]!, w.offset + 8, end, false, w.offset, w);
    }
    if (st !== WalkStatus.UPPER) return;
    const t = w.offset, tl = end - t;
    if (w.nextHeader === NextHeader.ICMPV6 && tl >= 8) {
      fillIcmpv6Checksum(u8, t, tl, ipv6PseudoSum(u8, ip.srcOffset, u8, ip.dstOffset, tl, 58));
    } else if (w.nextHeader === NextHeader.UDP && tl >= 8) {
      const ul = Math.min(Math.max(get16(u8, t + 4), 8), tl);
      set16(u8, t + 4, ul);
      emitUdp6({ srcPort: get16(u8, t), dstPort: get16(u8, t + 2), payloadLength: ul - 8 }, u8, t, {
        src: u8,
        srcOffset: ip.srcOffset,
        dst: u8,
        dstOffset: ip.dstOffset,
      });
    }
  }

  mutate(off: number, len: number): number {
    const u8 = this.buf;
    const rounds = 1 + this.int(4);
    for (let m = 0; m < rounds; m++) {
      switch (this.int(7)) {
        case 0:
          for (let k = 1 + this.int(8); k > 0 && len > 0; k--) {
            const i = off + this.int(len);
            u8[i] = u8[i]! ^ (1 << this.int(8));
          }
          break;
        case 1:
          if (len > 0) {
            u8[off + this.int(Math.min(len, this.chance(0.8) ? 120 : len))] = this.int(256);
          }
          break;
        case 2:
          len = this.int(len + 1);
          break;
        case 3: { // a length, next-header or type field to a boundary value
          const field = this.pick([off + 18, off + 20, off + 54, off + 55, off + 62, off + 63]);
          const v = this.pick([
            0,
            1,
            2,
            4,
            8,
            17,
            43,
            44,
            58,
            59,
            60,
            128,
            133,
            134,
            135,
            136,
            137,
            143,
            130,
            255,
            len - 54,
            this.int(65536),
          ]);
          if (field === off + 18) set16(u8, field, v);
          else u8[field] = v;
          break;
        }
        case 4: { // NDP/MLD option bytes with edge lengths
          const at = off + 54 + 8 + this.int(40);
          for (let i = 0; i < 8 && at + i < off + len; i++) {
            u8[at + i] = this.pick([0, 1, 2, 3, 4, 5, 14, 0xff, this.int(256)]);
          }
          break;
        }
        case 5: {
          const extra = this.int(64);
          this.fill(off + len, extra);
          len += extra;
          break;
        }
        default:
          if (this.chance(0.5)) set16(u8, off + 12, this.pick([0x86dd, 0x0800, 0x86dd]));
          else u8[off + 14] = this.pick([0x60, 0x45, 0x6f, 0x00]);
      }
    }
    return Math.min(len, this.buf.length - off);
  }
}

test("fuzz6: ≥ 100,000 random and mutated IPv6 frames through every IPv6 parser, no exception", () => {
  const seed = testSeed();
  const fz = new Fuzzer6(seed);
  const plan = { valid: 12_000, mutated: 45_000, mutatedFixed: 33_000, random: 12_000 };
  const run = (kind: string, n: number, make: (off: number) => number) => {
    for (let i = 0; i < n; i++) {
      const off = fz.int(256);
      const len = make(off);
      try {
        fz.parseFrame(off, len);
      } catch (e) {
        const hex = Array.from(
          fz.buf.subarray(off, off + len),
          (b) => b.toString(16).padStart(2, "0"),
        ).join("");
        throw new Error(`seed ${seed}, ${kind} #${i}: ${(e as Error).message}\nframe: ${hex}`, {
          cause: e,
        });
      }
    }
  };
  run("valid", plan.valid, (off) => fz.validFrame(off));
  run("mutated", plan.mutated, (off) => fz.mutate(off, fz.validFrame(off)));
  run("mutated+checksums", plan.mutatedFixed, (off) => {
    const len = fz.mutate(off, fz.validFrame(off));
    fz.fixChecksums(off, len);
    return len;
  });
  run("random", plan.random, (off) => {
    const len = fz.int(MAX_FRAME + 1);
    fz.fill(off, len);
    if (fz.chance(0.5) && len >= 15) {
      set16(fz.buf, off + 12, 0x86dd);
      fz.buf[off + 14] = 0x60 | (fz.buf[off + 14]! & 15);
    }
    return len;
  });
  const total = plan.valid + plan.mutated + plan.mutatedFixed + plan.random;
  assert.is(fz.frames, total);
  assert.ok(fz.frames >= 100_000, `only ${fz.frames} frames`);
  assert.ok(fz.calls >= 10 * fz.frames, `only ${fz.calls} parser calls`);
  const missed = IPV6_REASONS.filter((r) => !fz.drops.has(r));
  assert.equal(missed, [], `drop reasons never produced: ${missed.join(", ")}`);
  for (
    const p of [
      "ipv6",
      "walk",
      "fragment",
      "udp6",
      "icmpv6",
      "quote",
      "ns",
      "na",
      "rs",
      "ra",
      "redirect",
      "mld_report",
      "mld_query",
    ]
  ) {
    assert.ok((fz.accepted.get(p) ?? 0) > 100, `${p} accepted only ${fz.accepted.get(p) ?? 0}`);
  }
  console.log(
    `fuzz6: ${fz.frames} frames, ${fz.calls} parser calls, ${fz.drops.size} distinct drop reasons`,
  );
});

test("fuzz6: valid IPv6 frames built by the emitters parse end to end (when the chain is valid)", () => {
  const fz = new Fuzzer6(testSeed() ^ 0x5eed);
  let upper = 0;
  for (let i = 0; i < 3000; i++) {
    const off = fz.int(256);
    const len = fz.validFrame(off);
    const before = fz.chainDrops;
    fz.parseFrame(off, len);
    // Only the deliberately bad pieces (routing headers with segments left, option
    // floods, long chains — also inside quotes —, multicast NDP targets) may be refused.
    if (fz.chainDrops === before) upper++;
  }
  const bad = [...fz.chainReasons.keys()].filter((r) =>
    !/ipv6\.(routing_|too_many|unknown_option|bad_padding)|ndp\.bad_target|icmpv6\.bad_quote/.test(
      r,
    )
  );
  assert.equal(
    bad,
    [],
    `valid frames dropped for other reasons: ${JSON.stringify([...fz.chainReasons])}`,
  );
  assert.ok(upper > 2000, `only ${upper} of 3000 reached the upper layer`);
  assert.is(fz.chainReasons.get("icmpv6.bad_checksum") ?? 0, 0);
});
