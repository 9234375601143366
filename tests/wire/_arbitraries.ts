/**
 * fast-check arbitraries for every wire Repr, shared by the round-trip tests.
 * Each produces only valid input (what an emitter may be handed), so parsing
 * the emitted bytes must give the Repr back.
 *
 * @module
 */
import fc from "fast-check";
import type { ArpRepr } from "../../src/wire/arp.ts";
import type { EthernetEmitRepr } from "../../src/wire/ethernet.ts";
import type { IcmpEmitRepr } from "../../src/wire/icmp.ts";
import type { Ipv4EmitRepr, Ipv4PseudoHeader } from "../../src/wire/ipv4.ts";
import type { TcpEmitRepr } from "../../src/wire/tcp.ts";
import { NO_TCP_OPTIONS, type TcpOptions } from "../../src/wire/tcp_options.ts";

/** `fc.record` with ordinary prototypes, so uvu's deep equality matches parsed Reprs. */
export function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as unknown as fc.Arbitrary<T>;
}

/** 0 … 255. */
export const u8 = fc.integer({ min: 0, max: 0xff });
/** 0 … 65535. */
export const u16 = fc.integer({ min: 0, max: 0xffff });
/** 0 … 2^32-1 (fc.integer is limited to signed 32 bits, so build it from halves). */
export const u32 = fc.tuple(u16, u16).map(([h, l]) => h * 65536 + l);
/** A 48-bit MAC address. */
export const mac = fc.tuple(u16, u32).map(([h, l]) => h * 4294967296 + l);
/** An IPv4 address. */
export const ipv4Addr = u32;
/** Pseudo-header addresses. */
export const pseudo: fc.Arbitrary<Ipv4PseudoHeader> = record({ src: ipv4Addr, dst: ipv4Addr });
/** Arbitrary bytes up to `max` long. */
export const bytes = (max: number) => fc.uint8Array({ maxLength: max });

/** Ethernet header fields. */
export const ethernetRepr: fc.Arbitrary<EthernetEmitRepr> = record({
  dst: mac,
  src: mac,
  ethertype: u16,
});

/** A valid Ethernet/IPv4 ARP Repr. */
export const arpRepr: fc.Arbitrary<ArpRepr> = record({
  op: fc.constantFrom(1 as const, 2 as const),
  senderMac: mac,
  senderIp: ipv4Addr,
  targetMac: mac,
  targetIp: ipv4Addr,
});

/** One well-formed IPv4 option as bytes: NOP or a (type, len ≥ 2, data) TLV. */
const ipv4Option = fc.oneof(
  fc.constant(new Uint8Array([1])),
  fc.tuple(fc.integer({ min: 2, max: 255 }), bytes(10)).map(([type, data]) => {
    const o = new Uint8Array(2 + data.length);
    o[0] = type;
    o[1] = o.length;
    o.set(data, 2);
    return o;
  }),
);

/** Well-formed IPv4 options, ≤ 40 bytes, sometimes ending with EOL. */
export const ipv4Options: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.array(ipv4Option, { maxLength: 6 }), fc.boolean())
  .map(([opts, eol]) => {
    const parts: number[] = [];
    for (const o of opts) {
      if (parts.length + o.length > 40) break;
      parts.push(...o);
    }
    if (eol && parts.length < 40) parts.push(0);
    return new Uint8Array(parts);
  });

/** A valid IPv4 header to emit (fragment fields consistent, length ≤ 65535). */
export const ipv4Repr: fc.Arbitrary<Ipv4EmitRepr> = record({
  src: ipv4Addr,
  dst: ipv4Addr,
  tos: u8,
  id: u16,
  dontFragment: fc.boolean(),
  moreFragments: fc.boolean(),
  fragmentUnits: fc.integer({ min: 0, max: 0x1fff }),
  ttl: u8,
  protocol: u8,
  payloadLength: fc.integer({ min: 0, max: 300 }),
  options: fc.option(ipv4Options, { nil: undefined }),
})
  .map((r) => {
    const { fragmentUnits, options, ...rest } = r;
    const payloadLength = r.moreFragments ? r.payloadLength & ~7 : r.payloadLength;
    const hl = 20 + (((options?.length ?? 0) + 3) & ~3);
    // Keep the fragment's end within 65,535 bytes (parse drops it otherwise).
    const maxUnits = Math.floor((65535 - hl - payloadLength) / 8);
    const repr: Ipv4EmitRepr = {
      ...rest,
      payloadLength,
      fragmentOffset: Math.min(fragmentUnits, maxUnits) * 8,
    };
    return options === undefined ? repr : { ...repr, options };
  });

/** A quoted datagram for an ICMP error: an IPv4 header plus ≥ 8 bytes. */
export const icmpQuote: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.integer({ min: 5, max: 15 }), fc.integer({ min: 8, max: 64 }), u32, u32, u8)
  .map(([ihl, extra, src, dst, proto]) => {
    const q = new Uint8Array(ihl * 4 + extra);
    q[0] = 0x40 | ihl;
    q[9] = proto;
    new DataView(q.buffer).setUint32(12, src);
    new DataView(q.buffer).setUint32(16, dst);
    return q;
  });

/** A valid ICMP message: its emit Repr and its data bytes. */
export const icmpMessage: fc.Arbitrary<{ repr: IcmpEmitRepr; data: Uint8Array }> = fc.oneof(
  record({ type: fc.constantFrom(0 as const, 8 as const), code: u8, id: u16, seq: u16 })
    .chain((h) => bytes(100).map((data) => ({ repr: { ...h, payloadLength: data.length }, data }))),
  fc.tuple(u8, u16, icmpQuote).map(([code, nextHopMtu, data]) => ({
    repr: { type: 3 as const, code, nextHopMtu, payloadLength: data.length },
    data,
  })),
  fc.tuple(u8, icmpQuote).map(([code, data]) => ({
    repr: { type: 4 as const, code, payloadLength: data.length },
    data,
  })),
  fc.tuple(u8, ipv4Addr, icmpQuote).map(([code, gateway, data]) => ({
    repr: { type: 5 as const, code, gateway, payloadLength: data.length },
    data,
  })),
  fc.tuple(u8, icmpQuote).map(([code, data]) => ({
    repr: { type: 11 as const, code, payloadLength: data.length },
    data,
  })),
  fc.tuple(u8, u8, icmpQuote).map(([code, pointer, data]) => ({
    repr: { type: 12 as const, code, pointer, payloadLength: data.length },
    data,
  })),
);

/** Valid TCP options that fit in 40 bytes (at most 3 SACK blocks with timestamps). */
export const tcpOptions: fc.Arbitrary<TcpOptions> = record({
  mss: fc.option(u16, { nil: null }),
  windowScale: fc.option(u8, { nil: null }),
  sackPermitted: fc.boolean(),
  ts: fc.option(fc.tuple(u32, u32), { nil: null }),
  sack: fc.array(fc.tuple(u32, u32), { maxLength: 4 }),
})
  .map((o) => {
    // Budget: 40 bytes minus what the other options take, 4 + 8n for n blocks.
    const used = (o.mss !== null ? 4 : 0) + (o.ts !== null ? 12 : o.sackPermitted ? 4 : 0) +
      (o.windowScale !== null ? 4 : 0);
    const n = Math.min(o.sack.length, Math.max(0, Math.floor((40 - used - 4) / 8)));
    const result: TcpOptions = {
      mss: o.mss,
      windowScale: o.windowScale,
      sackPermitted: o.sackPermitted,
      tsVal: o.ts === null ? null : o.ts[0],
      tsEcr: o.ts === null ? 0 : o.ts[1],
      sackBlocks: n === 0 ? null : o.sack.slice(0, n).flat(),
    };
    const empty = result.mss === null && result.windowScale === null && !result.sackPermitted &&
      result.tsVal === null && result.sackBlocks === null;
    return empty ? NO_TCP_OPTIONS : result;
  });

/** A valid TCP segment: its emit Repr and its data. */
export const tcpSegment: fc.Arbitrary<{ repr: TcpEmitRepr; data: Uint8Array }> = record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: u8,
  window: u16,
  urgentPointer: u16,
  options: tcpOptions,
  data: bytes(200),
})
  .map(({ data, ...h }) => ({ repr: { ...h, payloadLength: data.length }, data }));
