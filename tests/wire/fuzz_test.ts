/**
 * Fuzz every wire parser with seeded random and mutated frames. Nothing may
 * throw; every result must be a Repr whose ranges stay inside the input, or
 * a known drop reason. Replay a failure with `NETWASM_SEED=<seed>`.
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { randomInt, SeededRandom } from "../../src/core/random.ts";
import { checksum, finishChecksum, ipv4PseudoSum } from "../../src/wasm/checksum.ts";
import { emitArp, parseArp } from "../../src/wire/arp.ts";
import { get16, set16 } from "../../src/wire/bytes.ts";
import { isWireDropReason, WIRE_DROP_REASONS } from "../../src/wire/drop_reason.ts";
import { emitEthernet, EtherType, parseEthernet } from "../../src/wire/ethernet.ts";
import { emitIcmp, IcmpType, parseIcmp, parseIcmpQuote } from "../../src/wire/icmp.ts";
import {
  emitIpv4,
  IpProtocol,
  ipv4HeaderLength,
  Ipv4View,
  parseIpv4,
} from "../../src/wire/ipv4.ts";
import { emitTcp, parseTcp, tcpHeaderLength, TcpView } from "../../src/wire/tcp.ts";
import { maxSackBlocks, parseTcpOptions, type TcpOptions } from "../../src/wire/tcp_options.ts";
import { emitUdp, parseUdp } from "../../src/wire/udp.ts";

const NO_VERIFY = { verifyChecksum: false } as const;
/** Largest frame a 1500-byte MTU link delivers, plus a little. */
const MAX_FRAME = 1536;

/** The fuzzer: a PRNG, a scratch buffer, and tallies of what the parsers said. */
class Fuzzer {
  readonly rng: SeededRandom;
  /** Frames fed to the parser chain. */
  frames = 0;
  /** Individual parser calls. */
  calls = 0;
  /** Drops by the left-to-right chain (not by the raw-range probes, whose names end in "*"). */
  chainDrops = 0;
  /** How often each drop reason came back. */
  readonly drops = new Map<string, number>();
  /** How often each parser accepted. */
  readonly accepted = new Map<string, number>();
  /** Where frames are built; a large random offset exercises offset arithmetic. */
  readonly buf = new Uint8Array(4096);

  constructor(seed: number) {
    this.rng = new SeededRandom(seed);
  }

  int(n: number): number {
    return randomInt(this.rng, n);
  }
  u32(): number {
    return this.rng.nextU32();
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

  /** Record one parser result, checking it is a known drop or a Repr whose ranges fit. */
  check(name: string, r: unknown, off: number, len: number): boolean {
    this.calls++;
    if (typeof r === "string") {
      if (!isWireDropReason(r)) throw new Error(`${name} returned unknown reason ${r}`);
      this.drops.set(r, (this.drops.get(r) ?? 0) + 1);
      if (!name.endsWith("*")) this.chainDrops++;
      return false;
    }
    if (typeof r !== "object" || r === null) throw new Error(`${name} returned ${String(r)}`);
    const rep = r as Record<string, number>;
    for (
      const [o, l] of [["payloadOffset", "payloadLength"], ["optionsOffset", "optionsLength"], [
        "transportOffset",
        "transportLength",
      ]] as const
    ) {
      if (o in rep) {
        const a = rep[o]!, b = rep[l]!;
        if (!(a >= off && b >= 0 && a + b <= off + len)) {
          throw new Error(`${name}: ${o}/${l} ${a}+${b} outside input ${off}+${len}`);
        }
      }
    }
    this.accepted.set(name, (this.accepted.get(name) ?? 0) + 1);
    return true;
  }

  /** Parse a frame left to right like the stack would, then every parser on raw ranges. */
  parseFrame(off: number, len: number): void {
    this.frames++;
    const u8 = this.buf;
    for (const verify of [true, false]) {
      const opts = verify ? undefined : NO_VERIFY;
      const eth = parseEthernet(u8, off, len);
      if (!this.check("ethernet", eth, off, len) || typeof eth === "string") continue;
      const p = eth.payloadOffset, pl = eth.payloadLength;
      if (eth.ethertype === EtherType.ARP) {
        this.check("arp", parseArp(u8, p, pl), p, pl);
        continue;
      }
      if (eth.ethertype !== EtherType.IPV4) continue;
      const ip = parseIpv4(u8, p, pl, opts);
      if (!this.check("ipv4", ip, p, pl) || typeof ip === "string") continue;
      const t = ip.payloadOffset, tl = ip.payloadLength;
      if (ip.protocol === IpProtocol.TCP) this.check("tcp", parseTcp(u8, t, tl, ip, opts), t, tl);
      else if (ip.protocol === IpProtocol.UDP) {
        this.check("udp", parseUdp(u8, t, tl, ip, opts), t, tl);
      } else if (ip.protocol === IpProtocol.ICMP) {
        const m = parseIcmp(u8, t, tl, opts);
        if (this.check("icmp", m, t, tl) && typeof m !== "string" && m.type !== 0 && m.type !== 8) {
          const q = parseIcmpQuote(u8, m.payloadOffset, m.payloadLength);
          if (typeof q === "string") throw new Error("a parsed ICMP error has an unusable quote");
          this.check("quote", q, m.payloadOffset, m.payloadLength);
        }
      }
    }
    // Every parser sees every byte pattern, not only what the demux hands it.
    const ph = { src: this.u32(), dst: this.u32() };
    const a = off + Math.min(len, 14), al = len - Math.min(len, 14);
    this.check("arp*", parseArp(u8, a, al), a, al);
    this.check("ipv4*", parseIpv4(u8, a, al, NO_VERIFY), a, al);
    this.check("icmp*", parseIcmp(u8, a, al, NO_VERIFY), a, al);
    this.check("quote*", parseIcmpQuote(u8, a, al), a, al);
    this.check("udp*", parseUdp(u8, a, al, ph, NO_VERIFY), a, al);
    this.check("tcp*", parseTcp(u8, a, al, ph, NO_VERIFY), a, al);
    const ol = Math.min(al, 40);
    this.check("tcp_options*", parseTcpOptions(u8, a, ol), a, ol);
  }

  /** Random valid TCP options that fit. */
  tcpOptions(): TcpOptions {
    const base = {
      mss: this.chance(0.5) ? this.int(65536) : null,
      windowScale: this.chance(0.4) ? this.int(256) : null,
      sackPermitted: this.chance(0.4),
      tsVal: this.chance(0.6) ? this.u32() : null,
      tsEcr: 0,
    };
    const n = this.int(maxSackBlocks(base) + 1);
    const sackBlocks: number[] = [];
    for (let i = 0; i < 2 * n; i++) sackBlocks.push(this.u32());
    return {
      ...base,
      tsEcr: base.tsVal === null ? 0 : this.u32(),
      sackBlocks: n ? sackBlocks : null,
    };
  }

  /** Build a valid frame at `off`; returns its length. */
  validFrame(off: number): number {
    const u8 = this.buf;
    const kind = this.int(6);
    const eth = {
      dst: this.u32() * 65536 + this.int(65536),
      src: this.u32() * 65536 + this.int(65536),
    };
    if (kind === 0) {
      emitEthernet({ ...eth, ethertype: EtherType.ARP }, u8, off);
      emitArp(
        {
          op: this.pick([1, 2] as const),
          senderMac: eth.src,
          senderIp: this.u32(),
          targetMac: eth.dst,
          targetIp: this.u32(),
        },
        u8,
        off + 14,
      );
      const pad = this.int(19);
      this.fill(off + 42, pad);
      return 42 + pad;
    }
    emitEthernet({ ...eth, ethertype: EtherType.IPV4 }, u8, off);
    let options: Uint8Array | undefined;
    if (this.chance(0.2)) {
      // NOP, a record-route-like option, EOL: well formed, random contents.
      const n = 3 + this.int(30);
      options = new Uint8Array(n + 2);
      this.rng.fill(options);
      options[0] = 1;
      options[1] = 7;
      options[2] = n;
      options[n + 1] = 0;
    }
    const ip = { src: this.u32(), dst: this.u32() };
    const t = off + 14 + ipv4HeaderLength(options?.length ?? 0);
    let protocol: number;
    let tl: number;
    if (kind === 1 || kind === 2) {
      protocol = IpProtocol.TCP;
      const o = this.tcpOptions();
      const hl = tcpHeaderLength(o);
      const data = this.chance(0.5) ? 0 : this.int(300);
      this.fill(t + hl, data);
      emitTcp(
        {
          srcPort: this.int(65536),
          dstPort: this.int(65536),
          seq: this.u32(),
          ack: this.u32(),
          flags: this.int(256),
          window: this.int(65536),
          urgentPointer: this.int(65536),
          options: o,
          payloadLength: data,
        },
        u8,
        t,
        ip,
      );
      tl = hl + data;
    } else if (kind === 3) {
      protocol = IpProtocol.UDP;
      const data = this.int(300);
      this.fill(t + 8, data);
      emitUdp(
        { srcPort: this.int(65536), dstPort: this.int(65536), payloadLength: data },
        u8,
        t,
        ip,
      );
      tl = 8 + data;
    } else if (kind === 4) {
      protocol = IpProtocol.ICMP;
      const data = this.int(120);
      this.fill(t + 8, data);
      const type = this.pick([IcmpType.ECHO_REQUEST, IcmpType.ECHO_REPLY] as const);
      emitIcmp(
        { type, code: 0, id: this.int(65536), seq: this.int(65536), payloadLength: data },
        u8,
        t,
      );
      tl = 8 + data;
    } else {
      protocol = IpProtocol.ICMP;
      // An error quoting a plausible datagram: IPv4 header (IHL 5–15) + 8–64 bytes.
      const ihl = 5 + (this.chance(0.8) ? 0 : this.int(11));
      const qlen = ihl * 4 + 8 + this.int(57);
      this.fill(t + 8, qlen);
      u8[t + 8] = 0x40 | ihl;
      u8[t + 8 + 9] = this.pick([1, 6, 17]);
      const type = this.pick([3, 4, 5, 11, 12] as const);
      const code = this.int(16);
      const rest = this.int(65536);
      const repr = type === 3
        ? { type, code, nextHopMtu: rest, payloadLength: qlen }
        : type === 5
        ? { type, code, gateway: this.u32(), payloadLength: qlen }
        : type === 12
        ? { type, code, pointer: rest & 255, payloadLength: qlen }
        : { type, code, payloadLength: qlen };
      emitIcmp(repr, u8, t);
      tl = 8 + qlen;
    }
    const fragmented = this.chance(0.1);
    emitIpv4(
      {
        ...ip,
        tos: this.int(256),
        id: this.int(65536),
        dontFragment: this.chance(0.5),
        moreFragments: fragmented && (tl & 7) === 0,
        fragmentOffset: fragmented ? this.int(64) * 8 : 0,
        ttl: this.int(256),
        protocol,
        payloadLength: tl,
        ...(options ? { options } : {}),
      },
      u8,
      off + 14,
    );
    const pad = this.chance(0.3) ? this.int(20) : 0;
    this.fill(t + tl, pad);
    return t + tl + pad - off;
  }

  /** Apply 1–4 random mutations to the frame at `off`; returns the new length. */
  mutate(off: number, len: number): number {
    const u8 = this.buf;
    const rounds = 1 + this.int(4);
    for (let m = 0; m < rounds; m++) {
      switch (this.int(7)) {
        case 0: // bit flips
          for (let k = 1 + this.int(8); k > 0 && len > 0; k--) {
            const i = off + this.int(len);
            u8[i] = u8[i]! ^ (1 << this.int(8));
          }
          break;
        case 1: // a random byte anywhere, most often in the headers
          if (len > 0) {
            u8[off + this.int(Math.min(len, this.chance(0.8) ? 80 : len))] = this.int(256);
          }
          break;
        case 2: // truncation
          len = this.int(len + 1);
          break;
        case 3: { // a length field set to a boundary or random value
          const l4 = off + 14 + (u8[off + 14]! & 15) * 4;
          const field = this.pick([off + 14, off + 16, l4 + 4, l4 + 12, l4 + 8, off + 18]);
          const v = this.pick([
            0,
            1,
            4,
            5,
            7,
            8,
            15,
            20,
            len - 14,
            len - 13,
            len - 34,
            0xffff,
            this.int(65536),
          ]);
          if (field === off + 14) u8[field] = 0x40 | (v & 15);
          else if (field === l4 + 12) u8[field] = (v & 15) << 4;
          else if (field === l4 + 8) u8[field] = 0x40 | (v & 15);
          else set16(u8, field, v);
          break;
        }
        case 4: { // random option bytes biased toward real kinds and edge lengths
          const ipOpts = this.chance(0.3);
          const hdr = ipOpts ? off + 14 : off + 14 + (u8[off + 14]! & 15) * 4;
          const words = 5 + this.int(11);
          if (ipOpts) u8[hdr] = 0x40 | words;
          else u8[hdr + 12] = words << 4;
          for (let i = hdr + 20; i < hdr + words * 4; i++) {
            u8[i] = this.chance(0.5)
              ? this.pick([0, 1, 1, 2, 3, 4, 5, 7, 8, 30, 68, 131, 254])
              : this.pick([0, 1, 2, 3, 4, 8, 10, 11, 18, 34, 40, 42, this.int(256)]);
          }
          len = Math.max(len, hdr + words * 4 - off + this.int(8));
          break;
        }
        case 5: { // grow with random bytes (looks like link padding or garbage)
          const extra = this.int(64);
          this.fill(off + len, extra);
          len += extra;
          break;
        }
        default: // a different EtherType or IP protocol, to cross the demux
          if (this.chance(0.5)) {
            set16(u8, off + 12, this.pick([0x0800, 0x0806, 0x86dd, 0x8100, 46]));
          } else u8[off + 23] = this.pick([1, 6, 17, 0, 255]);
      }
    }
    return Math.min(len, this.buf.length - off);
  }

  /** Recompute IPv4 and transport checksums where the (mutated) lengths allow it. */
  fixChecksums(off: number, len: number): void {
    const u8 = this.buf;
    if (len < 34 || get16(u8, off + 12) !== EtherType.IPV4) return;
    const ipOff = off + 14, avail = len - 14;
    const v = new Ipv4View(u8, ipOff);
    const hl = v.headerLength;
    if (hl < 20 || hl > avail) return;
    v.fillChecksum();
    const total = Math.min(v.totalLength, avail);
    if (total < hl) return;
    const t = ipOff + hl, tl = total - hl;
    const ph = { src: v.src, dst: v.dst };
    if (v.protocol === IpProtocol.TCP && tl >= 20) new TcpView(u8, t).fillChecksum(ph, tl);
    else if (v.protocol === IpProtocol.UDP && tl >= 8) {
      const ul = Math.min(get16(u8, t + 4), tl);
      set16(u8, t + 6, 0);
      set16(u8, t + 6, finishChecksum(checksum(u8, t, ul, ipv4PseudoSum(ph.src, ph.dst, 17, ul))));
    } else if (v.protocol === IpProtocol.ICMP && tl >= 8) {
      set16(u8, t + 2, 0);
      set16(u8, t + 2, finishChecksum(checksum(u8, t, tl)));
    }
  }
}

test("fuzz: ≥ 100,000 random and mutated frames through every parser, no exception", () => {
  const seed = testSeed();
  const fz = new Fuzzer(seed);
  const plan = { valid: 10_000, mutated: 45_000, mutatedFixed: 35_000, random: 12_000 };
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
        )
          .join("");
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
    // Half of them get a plausible EtherType and version nibble so they reach deeper.
    if (fz.chance(0.5) && len >= 15) {
      set16(fz.buf, off + 12, fz.pick([0x0800, 0x0806]));
      fz.buf[off + 14] = 0x40 | (fz.buf[off + 14]! & 15);
    }
    return len;
  });

  const total = plan.valid + plan.mutated + plan.mutatedFixed + plan.random;
  assert.is(fz.frames, total);
  assert.ok(fz.frames >= 100_000, `only ${fz.frames} frames`);
  assert.ok(fz.calls >= 10 * fz.frames, `only ${fz.calls} parser calls`);
  // The fuzzer is only useful if it reaches every drop reason and every parser's accept path.
  // (IPv6's parsers, and UDP's IPv6-only zero-checksum rule, have their own: fuzz6_test.ts.)
  const ipv6Only = /^(ipv6|icmpv6|ndp|mld)\.|^udp\.zero_checksum$/;
  const missed = WIRE_DROP_REASONS.filter((r) => !ipv6Only.test(r) && !fz.drops.has(r));
  assert.equal(missed, [], `drop reasons never produced: ${missed.join(", ")}`);
  for (const p of ["ethernet", "arp", "ipv4", "tcp", "udp", "icmp", "quote", "tcp_options*"]) {
    assert.ok((fz.accepted.get(p) ?? 0) > 100, `${p} accepted only ${fz.accepted.get(p) ?? 0}`);
  }
  // Valid frames must all parse end to end; a regression here would hide behind the fuzz.
  assert.ok((fz.accepted.get("tcp") ?? 0) > plan.valid / 6, "too few TCP segments accepted");
});

test("fuzz: valid frames built by the emitters always parse end to end", () => {
  const fz = new Fuzzer(testSeed() ^ 0x5eed);
  for (let i = 0; i < 3000; i++) {
    const off = fz.int(256);
    fz.parseFrame(off, fz.validFrame(off));
  }
  assert.is(fz.chainDrops, 0, JSON.stringify([...fz.drops].filter(([r]) => r)));
  const chain = ["ethernet", "arp", "ipv4", "tcp", "udp", "icmp", "quote"];
  const acceptedChain = chain.reduce((s, p) => s + (fz.accepted.get(p) ?? 0), 0);
  // Each frame: ethernet ×2 (verify on/off), then ARP ×2 or IPv4 ×2 + transport ×2 (+ quote ×2).
  assert.ok(acceptedChain >= 3000 * 4, `chain accepted ${acceptedChain}`);
});
