/**
 * Hand-made Ethernet frames for tests that inject traffic into a live stack
 * (`device.receiveBytes`) and helpers to capture and decode what a device
 * transmits. Everything is built with the wire emitters, so headers are
 * valid unless a test breaks them on purpose.
 *
 * @module
 */
import { emitArp } from "../../src/wire/arp.ts";
import { MAC_BROADCAST, type MacAddress, readMac } from "../../src/wire/addr.ts";
import { emitEthernet, EtherType } from "../../src/wire/ethernet.ts";
import { emitIcmp, IcmpType } from "../../src/wire/icmp.ts";
import { emitIpv4, type Ipv4Repr, parseIpv4 } from "../../src/wire/ipv4.ts";
import { get16, set16 } from "../../src/wire/bytes.ts";
import { checksum, finishChecksum } from "../../src/wasm/checksum.ts";
import type { NetDevice } from "../../src/link/device.ts";

/** MAC of `pair()`'s device A (stack A, 192.0.2.1). */
export const MAC_A: MacAddress = 0x02_00_00_00_00_01;
/** MAC of `pair()`'s device B (stack B, 192.0.2.2). */
export const MAC_B: MacAddress = 0x02_00_00_00_00_02;
/** 192.0.2.1 */
export const IP_A = 0xc0000201;
/** 192.0.2.2 */
export const IP_B = 0xc0000202;

/** What {@link ipv4Frame} builds. */
export interface Ipv4FrameSpec {
  ethDst?: MacAddress;
  ethSrc?: MacAddress;
  src: number;
  dst: number;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
  tos?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset?: number;
  /** IP option bytes (padded to 4 by the emitter). */
  options?: Uint8Array | undefined;
  /** Pad the frame with zeros to this many bytes (link padding). */
  padTo?: number;
}

/** An Ethernet II frame carrying one IPv4 datagram with a correct header checksum. */
export function ipv4Frame(s: Ipv4FrameSpec): Uint8Array {
  const optLen = s.options === undefined ? 0 : (s.options.length + 3) & ~3;
  const len = 14 + 20 + optLen + s.payload.length;
  const out = new Uint8Array(Math.max(len, s.padTo ?? 0));
  emitEthernet(
    { dst: s.ethDst ?? MAC_A, src: s.ethSrc ?? MAC_B, ethertype: EtherType.IPV4 },
    out,
    0,
  );
  out.set(s.payload, 14 + 20 + optLen);
  emitIpv4(
    {
      src: s.src,
      dst: s.dst,
      tos: s.tos ?? 0,
      id: s.id ?? 0x1234,
      dontFragment: s.dontFragment ?? false,
      moreFragments: s.moreFragments ?? false,
      fragmentOffset: s.fragmentOffset ?? 0,
      ttl: s.ttl ?? 64,
      protocol: s.protocol,
      payloadLength: s.payload.length,
      ...(s.options !== undefined ? { options: s.options } : {}),
    },
    out,
    14,
  );
  return out;
}

/** Recompute the IPv4 header checksum of a frame (after a test edited the header). */
export function fixIpChecksum(frame: Uint8Array): Uint8Array {
  const hl = (frame[14]! & 15) * 4;
  if (14 + hl > frame.length) return frame;
  set16(frame, 24, 0);
  set16(frame, 24, finishChecksum(checksum(frame, 14, hl)));
  return frame;
}

/** An ICMP echo request or reply message (header + data) with its checksum. */
export function icmpEcho(
  type: number,
  id: number,
  seq: number,
  data: Uint8Array,
): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m.set(data, 8);
  emitIcmp({ type: type as 0 | 8, code: 0, id, seq, payloadLength: data.length }, m, 0);
  return m;
}

/** An ICMP error message quoting `quote` (an IP header + data). */
export function icmpError(type: number, code: number, quote: Uint8Array, info = 0): Uint8Array {
  const m = new Uint8Array(8 + quote.length);
  m.set(quote, 8);
  switch (type) {
    case IcmpType.DEST_UNREACHABLE:
      emitIcmp({ type, code, nextHopMtu: info, payloadLength: quote.length }, m, 0);
      break;
    case IcmpType.REDIRECT:
      emitIcmp({ type, code, gateway: info, payloadLength: quote.length }, m, 0);
      break;
    case IcmpType.PARAMETER_PROBLEM:
      emitIcmp({ type, code, pointer: info, payloadLength: quote.length }, m, 0);
      break;
    default:
      emitIcmp(
        { type: type as 4 | 11, code, payloadLength: quote.length },
        m,
        0,
      );
  }
  return m;
}

/** Any ICMP message: `type`, `code`, 4 bytes of `rest`, then `body`; checksum filled. */
export function icmpRaw(type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + body.length);
  m[0] = type;
  m[1] = code;
  new DataView(m.buffer).setUint32(4, rest >>> 0);
  m.set(body, 8);
  set16(m, 2, finishChecksum(checksum(m, 0, m.length)));
  return m;
}

/** The IP datagram (header + payload) inside an Ethernet frame. */
export function datagramOf(frame: Uint8Array): Uint8Array {
  return frame.subarray(14, 14 + get16(frame, 16));
}

/** What {@link arpFrame} builds. */
export interface ArpFrameSpec {
  op: 1 | 2;
  senderMac: MacAddress;
  senderIp: number;
  targetMac?: MacAddress;
  targetIp: number;
  ethDst?: MacAddress;
  ethSrc?: MacAddress;
}

/** A 60-byte Ethernet frame carrying an ARP packet. */
export function arpFrame(s: ArpFrameSpec): Uint8Array {
  const out = new Uint8Array(60);
  emitEthernet(
    { dst: s.ethDst ?? MAC_BROADCAST, src: s.ethSrc ?? s.senderMac, ethertype: EtherType.ARP },
    out,
    0,
  );
  emitArp(
    {
      op: s.op,
      senderMac: s.senderMac,
      senderIp: s.senderIp,
      targetMac: s.targetMac ?? 0,
      targetIp: s.targetIp,
    },
    out,
    14,
  );
  return out;
}

/** A decoded transmitted frame. */
export interface SeenFrame {
  bytes: Uint8Array;
  ethDst: MacAddress;
  ethSrc: MacAddress;
  ethertype: number;
  /** Parsed IPv4 header (offsets relative to `bytes`) when the frame is a valid IPv4 datagram. */
  ip: Ipv4Repr | null;
  time: number;
}

/** Decode a frame copy. */
export function decode(bytes: Uint8Array, time = 0): SeenFrame {
  const ethertype = get16(bytes, 12);
  let ip: Ipv4Repr | null = null;
  if (ethertype === EtherType.IPV4) {
    const r = parseIpv4(bytes, 14, bytes.length - 14);
    if (typeof r !== "string") ip = r;
  }
  return { bytes, ethDst: readMac(bytes, 0), ethSrc: readMac(bytes, 6), ethertype, ip, time };
}

/** Records every frame `dev` transmits (or receives, with `dir: "rx"`). */
export interface Capture {
  readonly frames: SeenFrame[];
  /** IPv4 frames whose protocol is `protocol`. */
  ip(protocol?: number): SeenFrame[];
  /** ICMP frames of `type` (the ICMP header is at `ip.payloadOffset`). */
  icmp(type: number): SeenFrame[];
  /** ARP frames. */
  arp(): SeenFrame[];
  clear(): void;
  stop(): void;
}

/** Start capturing frames of `dev` in direction `dir` (default "tx"). */
export function capture(dev: NetDevice, dir: "tx" | "rx" = "tx"): Capture {
  const frames: SeenFrame[] = [];
  const stop = dev.addTap((d, u8, off, len, time) => {
    if (d === dir) frames.push(decode(u8.slice(off, off + len), time));
  });
  return {
    frames,
    ip: (protocol) =>
      frames.filter((f) => f.ip !== null && (protocol === undefined || f.ip.protocol === protocol)),
    icmp: (type) =>
      frames.filter((f) =>
        f.ip !== null && f.ip.protocol === 1 && f.bytes[f.ip.payloadOffset] === type
      ),
    arp: () => frames.filter((f) => f.ethertype === EtherType.ARP),
    clear: () => {
      frames.length = 0;
    },
    stop,
  };
}

/** Deterministic filler bytes for payloads. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Dotted quad → number. */
export function ip(text: string): number {
  const p = text.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}
