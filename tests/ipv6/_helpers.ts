/**
 * Helpers for the IPv6 suites: a pair of stacks with IPv6 on their pipe
 * (A = 2001:db8::1, B = 2001:db8::2, link-local addresses, DAD done), a
 * builder for hand-made IPv6 frames with extension headers and correct
 * upper-layer checksums, and a capture that decodes IPv6.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { type Pair, pair, type PairOptions } from "../_util/sim.ts";
import { testSeed } from "../_util/test.ts";
import type { Stack } from "../../src/api/stack.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import type { NetDevice } from "../../src/link/device.ts";
import { checksum, finishChecksum, ipv6PseudoSum } from "../../src/wasm/checksum.ts";
import { type MacAddress, readMac } from "../../src/wire/addr.ts";
import {
  formatIpv6,
  type Ipv6Address,
  ipv6MulticastMac,
  isMulticast6,
  parseIpv6Address,
} from "../../src/wire/addr6.ts";
import { get16, set16 } from "../../src/wire/bytes.ts";
import { emitEthernet, EtherType } from "../../src/wire/ethernet.ts";
import { emitIpv6, type Ipv6Repr, NextHeader, parseIpv6 } from "../../src/wire/ipv6.ts";
import { Ipv6Walk, walkIpv6Headers, WalkStatus } from "../../src/wire/ipv6_ext.ts";

/** A's and B's global addresses. */
export const A6 = "2001:db8::1";
export const B6 = "2001:db8::2";
/** The pipe's MACs (createPipe defaults). */
export const MAC_A6: MacAddress = 0x02_00_00_00_00_01;
export const MAC_B6: MacAddress = 0x02_00_00_00_00_02;

/** A pair with IPv6 on both ends. */
export interface Pair6 extends Pair {
  ifA: Iface;
  ifB: Iface;
  /** A's and B's link-local addresses. */
  llA: Ipv6Address;
  llB: Ipv6Address;
}

/**
 * Two stacks on a pipe with IPv6: static 2001:db8::1/64 and ::2/64 plus
 * link-local addresses, RAs ignored, DAD finished (or off with
 * `dad: false`), and the start-up traffic (DAD, MLD) delivered.
 */
export function pair6(o: PairOptions & { dad?: boolean; slaac?: boolean } = {}): Pair6 {
  const ipv6 = o.dad === false ? { dadTransmits: 0 } : {};
  const p = pair({
    seed: testSeed(),
    ...o,
    a: { ...o.a, ipv6: { ...ipv6, ...o.a?.ipv6 } },
    b: { ...o.b, ipv6: { ...ipv6, ...o.b?.ipv6 } },
  });
  const ifA = p.a.interfaces[1]!;
  const ifB = p.b.interfaces[1]!;
  for (const [s, iface, addr] of [[p.a, ifA, A6], [p.b, ifB, B6]] as const) {
    s.ipv6.addrconf.enable(iface, { acceptRa: o.slaac ?? false });
    s.ipv6.addrconf.addStatic(iface, parseIpv6Address(addr), 64);
  }
  p.clock.advance(5000);
  const llA = p.a.ipv6.devices.get(ifA)!.linkLocal()!.address;
  const llB = p.b.ipv6.devices.get(ifB)!.linkLocal()!.address;
  return { ...p, ifA, ifB, llA, llB };
}

/** An extension header for {@link ip6Frame}: its type and its bytes (Next Header byte is filled in). */
export interface Ext {
  type: number;
  bytes: number[] | Uint8Array;
}

/** What {@link ip6Frame} builds. */
export interface Frame6Spec {
  src: string | Uint8Array;
  dst: string | Uint8Array;
  hopLimit?: number;
  flowLabel?: number;
  /** Extension headers, in order. */
  ext?: Ext[];
  /** Upper-layer protocol and its bytes. */
  nextHeader: number;
  payload: Uint8Array;
  /** Fill in the upper-layer checksum at this offset (default: 2 for ICMPv6, 6 for UDP). */
  checksumAt?: number | null;
  ethDst?: MacAddress;
  ethSrc?: MacAddress;
}

function addr(a: string | Uint8Array): Uint8Array {
  return typeof a === "string" ? parseIpv6Address(a) : a;
}

/** A complete Ethernet frame carrying an IPv6 packet (checksums correct unless told otherwise). */
export function ip6Frame(s: Frame6Spec): Uint8Array {
  const ext = s.ext ?? [];
  const extLen = ext.reduce((n, e) => n + e.bytes.length, 0);
  const plen = extLen + s.payload.length;
  const f = new Uint8Array(14 + 40 + plen);
  const dst = addr(s.dst);
  emitEthernet(
    {
      dst: s.ethDst ?? (isMulticast6(dst, 0) ? ipv6MulticastMac(dst, 0) : MAC_A6),
      src: s.ethSrc ?? MAC_B6,
      ethertype: EtherType.IPV6,
    },
    f,
    0,
  );
  emitIpv6(
    {
      trafficClass: 0,
      flowLabel: s.flowLabel ?? 0x12345,
      payloadLength: plen,
      nextHeader: ext.length > 0 ? ext[0]!.type : s.nextHeader,
      hopLimit: s.hopLimit ?? 64,
      src: addr(s.src),
      dst,
    },
    f,
    14,
  );
  let p = 54;
  ext.forEach((e, i) => {
    f.set(e.bytes, p);
    f[p] = i + 1 < ext.length ? ext[i + 1]!.type : s.nextHeader;
    p += e.bytes.length;
  });
  f.set(s.payload, p);
  const at = s.checksumAt === undefined
    ? (s.nextHeader === NextHeader.ICMPV6 ? 2 : s.nextHeader === NextHeader.UDP ? 6 : null)
    : s.checksumAt;
  if (at !== null) {
    set16(f, p + at, 0);
    const c = finishChecksum(
      checksum(f, p, s.payload.length, ipv6PseudoSum(f, 22, f, 38, s.payload.length, s.nextHeader)),
    );
    set16(f, p + at, c === 0 ? 0xffff : c);
  }
  return f;
}

/** An ICMPv6 message: type, code, the 32-bit word, then `body`. */
export function icmp6(
  type: number,
  code: number,
  word: number,
  body: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const m = new Uint8Array(8 + body.length);
  m[0] = type;
  m[1] = code;
  m[4] = word >>> 24;
  m[5] = word >>> 16;
  m[6] = word >>> 8;
  m[7] = word;
  m.set(body, 8);
  return m;
}

/** Inject `frame` into A's device as if from the wire and process it. */
export function inject6(p: Pair, frame: Uint8Array): void {
  assert.ok(p.devA.receiveBytes(frame), "frame accepted by the device");
  p.clock.advance(0);
}

/** A transmitted IPv6 frame, decoded. */
export interface Seen6 {
  bytes: Uint8Array;
  ethDst: MacAddress;
  ip: Ipv6Repr;
  src: string;
  dst: string;
  /** Upper-layer protocol and offset (after walking extension headers, or at a fragment header). */
  upper: number;
  upperAt: number;
  /** ICMPv6 type when `upper` is 58. */
  icmpType: number;
  /** Fragment header fields, if one was found. */
  frag: { offset: number; more: boolean; id: number } | null;
}

/** Decode an IPv6 frame copy (null for other frames). */
export function decode6(bytes: Uint8Array): Seen6 | null {
  if (get16(bytes, 12) !== EtherType.IPV6) return null;
  const ip = parseIpv6(bytes, 14, bytes.length - 14);
  if (typeof ip === "string") return null;
  const w = new Ipv6Walk();
  const end = ip.payloadOffset + ip.payloadLength;
  const st = walkIpv6Headers(bytes, ip.nextHeader, ip.payloadOffset, end, true, 20, w);
  let frag: Seen6["frag"] = null;
  if (st === WalkStatus.FRAGMENT) {
    frag = { offset: w.fragmentOffset, more: w.moreFragments, id: w.identification };
    walkIpv6Headers(bytes, bytes[w.offset]!, w.offset + 8, end, false, w.offset, w);
  }
  return {
    bytes,
    ethDst: readMac(bytes, 0),
    ip,
    src: formatIpv6(bytes, ip.srcOffset),
    dst: formatIpv6(bytes, ip.dstOffset),
    upper: w.nextHeader,
    upperAt: w.offset,
    icmpType: w.nextHeader === 58 ? bytes[w.offset]! : -1,
    frag,
  };
}

/** Records every IPv6 frame `dev` transmits (or receives). */
export interface Capture6 {
  readonly frames: Seen6[];
  /** ICMPv6 frames of `type`. */
  icmp(type: number): Seen6[];
  clear(): void;
  stop(): void;
}

/** Start capturing IPv6 frames of `dev`. */
export function capture6(dev: NetDevice, dir: "tx" | "rx" = "tx"): Capture6 {
  const frames: Seen6[] = [];
  const stop = dev.addTap((d, u8, off, len) => {
    if (d !== dir) return;
    const s = decode6(u8.slice(off, off + len));
    if (s !== null) frames.push(s);
  });
  return {
    frames,
    icmp: (type) =>
      frames.filter((f) => f.icmpType === type && (f.frag === null || f.frag.offset === 0)),
    clear: () => {
      frames.length = 0;
    },
    stop,
  };
}

/** Register a raw handler for next header `nh` on `stack` that records what it gets. */
export function sink6(stack: Stack, nh = 253): { data: Uint8Array; src: string; dst: string }[] {
  const got: { data: Uint8Array; src: string; dst: string }[] = [];
  stack.ipv6.layer.register(nh, {
    rcv(skb, ip) {
      const u8 = skb.arena.u8;
      got.push({
        data: skb.bytes().slice(),
        src: formatIpv6(u8, ip.srcOffset),
        dst: formatIpv6(u8, ip.dstOffset),
      });
      skb.free();
    },
  });
  return got;
}

/** Send `data` as one raw packet with next header `nh` from `stack` to `dst`. */
export function sendRaw6(
  stack: Stack,
  dst: string,
  data: Uint8Array,
  o: { nh?: number; dontFragment?: boolean; hopLimit?: number; oif?: Iface } = {},
): number {
  const skb = stack.allocator.alloc(data.length)!;
  skb.append(data);
  return stack.ipv6.layer.output(skb, parseIpv6Address(dst), 0, {
    nextHeader: o.nh ?? 253,
    ...(o.dontFragment !== undefined ? { dontFragment: o.dontFragment } : {}),
    ...(o.hopLimit !== undefined ? { hopLimit: o.hopLimit } : {}),
    ...(o.oif !== undefined ? { oif: o.oif } : {}),
  });
}

/** An ND message built by one of the `wire/ndp.ts` emitters, as an ICMPv6 payload. */
export function ndMessage(emit: (b: Uint8Array, at: number) => number): Uint8Array {
  const b = new Uint8Array(512);
  return b.slice(0, emit(b, 0));
}
