/**
 * Frames on the scripted wire: building the Ethernet/IPv4/TCP|UDP|ICMP
 * frames the script injects (with correct checksums unless told otherwise,
 * TCP options byte for byte as written) and decoding the frames the stack
 * sends into plain objects the matcher compares. Decoding never throws: a
 * malformed frame is reported as a `problem`, since a broken packet from the
 * stack is a test failure to describe, not a crash.
 *
 * @module
 */
import { checksum, finishChecksum, ipv4PseudoSum } from "../wasm/checksum.ts";
import { type MacAddress, readMac } from "../wire/addr.ts";
import { type ArpRepr, parseArp } from "../wire/arp.ts";
import { get16, get32, set16, set32 } from "../wire/bytes.ts";
import { emitEthernet, ETHERNET_HEADER_LENGTH, EtherType } from "../wire/ethernet.ts";
import { emitIpv4, IpProtocol } from "../wire/ipv4.ts";
import { TCP_HEADER_LENGTH, TcpField, type TcpRepr, TcpView } from "../wire/tcp.ts";
import { TCP_MAX_OPTIONS_LENGTH } from "../wire/tcp_options.ts";
import type { IpInfo, TcpOptionSpec } from "./ast.ts";
import { isIcmpErrorType } from "../wire/icmp.ts";

/** ECN bits of the TOS byte (RFC 3168 §5). */
const ECN_BITS: Readonly<Record<string, number>> = { noecn: 0, ect1: 1, ect0: 2, ce: 3 };

/** Addresses of one injected frame. */
export interface FrameAddressing {
  readonly srcMac: MacAddress;
  readonly dstMac: MacAddress;
  readonly srcIp: number;
  readonly dstIp: number;
  /** IPv4 identification. */
  readonly ipId: number;
  readonly ip?: IpInfo | undefined;
}

/** The TCP header fields scripts read and write, as on the wire (the wire layer's own). */
export type TcpHeaderFields = Pick<
  TcpRepr,
  "srcPort" | "dstPort" | "seq" | "ack" | "flags" | "window" | "urgentPointer"
>;

/** TCP fields of an injected segment, as they go on the wire. */
export interface TcpWireFields extends TcpHeaderFields {
  /** Option bytes, already padded to a multiple of 4. */
  readonly options: Uint8Array;
  readonly payload: Uint8Array;
  readonly badChecksum: boolean;
}

/**
 * The TOS byte for `ip`: its `tos` with the ECN bits replaced by `ecn`.
 *
 * @example
 * ```ts
 * import { tosOf } from "./packets.ts";
 * tosOf({ ecn: "ce" }); // 3
 * tosOf({ tos: 0x10, ecn: "ect0" }); // 0x12
 * ```
 */
export function tosOf(ip: IpInfo | undefined): number {
  const tos = ip?.tos ?? 0;
  const ecn = ip?.ecn;
  return ecn === undefined || ecn === "ect01" ? tos : (tos & ~3) | ECN_BITS[ecn]!;
}

function ipFrame(a: FrameAddressing, protocol: number, transport: Uint8Array): Uint8Array {
  const frame = new Uint8Array(ETHERNET_HEADER_LENGTH + 20 + transport.length);
  emitEthernet({ dst: a.dstMac, src: a.srcMac, ethertype: EtherType.IPV4 }, frame, 0);
  emitIpv4(
    {
      src: a.srcIp,
      dst: a.dstIp,
      tos: tosOf(a.ip),
      id: a.ipId & 0xffff,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: a.ip?.ttl ?? 64,
      protocol,
      payloadLength: transport.length,
    },
    frame,
    ETHERNET_HEADER_LENGTH,
  );
  frame.set(transport, ETHERNET_HEADER_LENGTH + 20);
  return frame;
}

/** A checksum value that is certainly wrong: XOR with 0x00ff never maps to the ±0 alias. */
function spoil(sum: number): number {
  return (sum ^ 0x00ff) & 0xffff;
}

/**
 * Encode an option list byte for byte, translating numbers with `seqOf`
 * (SACK edges) and `ecrOf` (TS ecr), padded with zero bytes (EOL) to a
 * multiple of 4. Returns an error string when the result exceeds 40 bytes.
 *
 * @example
 * ```ts
 * import { encodeTcpOptions } from "./packets.ts";
 * const b = encodeTcpOptions([{ kind: "mss", value: 1460 }], (x) => x, (x) => x);
 * typeof b !== "string" && b.length; // 4
 * ```
 */
export function encodeTcpOptions(
  list: readonly TcpOptionSpec[],
  seqOf: (n: number) => number,
  ecrOf: (n: number) => number,
): Uint8Array | string {
  const out: number[] = [];
  const u32 = (v: number) => out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  for (const o of list) {
    switch (o.kind) {
      case "nop":
        out.push(1);
        break;
      case "eol":
        out.push(0);
        break;
      case "mss":
        out.push(2, 4, o.value >> 8, o.value & 255);
        break;
      case "wscale":
        out.push(3, 3, o.value);
        break;
      case "sackOK":
        out.push(4, 2);
        break;
      case "sack":
        out.push(5, 2 + 8 * o.blocks.length);
        for (const [l, r] of o.blocks) {
          u32(seqOf(l));
          u32(seqOf(r));
        }
        break;
      case "TS":
        out.push(8, 10);
        u32(o.val === "*" ? 0 : o.val);
        u32(o.ecr === "*" ? 0 : ecrOf(o.ecr));
        break;
      case "opt":
        out.push(o.code, o.length);
        if (o.data !== null) out.push(...o.data);
        else for (let i = 2; i < o.length; i++) out.push(0);
        break;
      case "raw":
        out.push(...o.bytes);
        break;
    }
  }
  while (out.length % 4 !== 0) out.push(0);
  if (out.length > TCP_MAX_OPTIONS_LENGTH) {
    return `TCP options take ${out.length} bytes, more than the 40 a header can hold`;
  }
  return new Uint8Array(out);
}

/**
 * An Ethernet frame with one TCP segment (checksums correct unless
 * `badChecksum`).
 *
 * @example
 * ```ts
 * import { tcpFrame } from "./packets.ts";
 * const f = tcpFrame(
 *   { srcMac: 1, dstMac: 2, srcIp: 0xc0000201, dstIp: 0xc0000202, ipId: 1 },
 *   { srcPort: 48000, dstPort: 8080, seq: 0, ack: 0, flags: 2, window: 65535,
 *     urgentPointer: 0, options: new Uint8Array(0), payload: new Uint8Array(0),
 *     badChecksum: false },
 * );
 * f.length; // 54
 * ```
 */
export function tcpFrame(a: FrameAddressing, t: TcpWireFields): Uint8Array {
  const hl = 20 + t.options.length;
  const seg = new Uint8Array(hl + t.payload.length);
  set16(seg, 0, t.srcPort);
  set16(seg, 2, t.dstPort);
  set32(seg, 4, t.seq >>> 0);
  set32(seg, 8, t.ack >>> 0);
  seg[12] = (hl >>> 2) << 4;
  seg[13] = t.flags;
  set16(seg, 14, t.window);
  set16(seg, 18, t.urgentPointer);
  seg.set(t.options, 20);
  seg.set(t.payload, hl);
  const sum = finishChecksum(
    checksum(seg, 0, seg.length, ipv4PseudoSum(a.srcIp, a.dstIp, IpProtocol.TCP, seg.length)),
  );
  set16(seg, 16, t.badChecksum ? spoil(sum) : sum);
  return ipFrame(a, IpProtocol.TCP, seg);
}

/**
 * An Ethernet frame with one UDP datagram.
 *
 * @example
 * ```ts
 * import { udpFrame } from "./packets.ts";
 * const f = udpFrame({ srcMac: 1, dstMac: 2, srcIp: 0xc0000201, dstIp: 0xc0000202, ipId: 1 },
 *   48000, 8080, new Uint8Array(10), false);
 * f.length; // 52
 * ```
 */
export function udpFrame(
  a: FrameAddressing,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
  badChecksum: boolean,
): Uint8Array {
  const d = new Uint8Array(8 + payload.length);
  set16(d, 0, srcPort);
  set16(d, 2, dstPort);
  set16(d, 4, d.length);
  d.set(payload, 8);
  let sum = finishChecksum(
    checksum(d, 0, d.length, ipv4PseudoSum(a.srcIp, a.dstIp, IpProtocol.UDP, d.length)),
  );
  if (sum === 0) sum = 0xffff; // RFC 768: a computed 0 goes out as all ones
  set16(d, 6, badChecksum ? spoil(sum) : sum);
  return ipFrame(a, IpProtocol.UDP, d);
}

/** What an injected ICMP error quotes (the first 8 transport bytes are built from it). */
export type QuotedDatagram =
  | {
    readonly proto: "tcp";
    readonly srcIp: number;
    readonly dstIp: number;
    readonly srcPort: number;
    readonly dstPort: number;
    readonly seq: number;
    readonly len: number;
  }
  | {
    readonly proto: "udp";
    readonly srcIp: number;
    readonly dstIp: number;
    readonly srcPort: number;
    readonly dstPort: number;
    readonly len: number;
  };

/**
 * An Ethernet frame with an ICMP message; errors quote a 20-byte IP header
 * plus the first 8 transport bytes (RFC 792), enough to find the socket.
 *
 * @example
 * ```ts
 * import { icmpFrame } from "./packets.ts";
 * const f = icmpFrame({ srcMac: 1, dstMac: 2, srcIp: 0xc0000201, dstIp: 0xc0000202, ipId: 1 },
 *   { type: 3, code: 3, rest: 0, badChecksum: false },
 *   { proto: "udp", srcIp: 0xc0000202, dstIp: 0xc0000201, srcPort: 8080, dstPort: 48000, len: 10 });
 * f.length; // 70
 * ```
 */
export function icmpFrame(
  a: FrameAddressing,
  m: { type: number; code: number; rest: number; badChecksum: boolean },
  quote: QuotedDatagram | undefined,
): Uint8Array {
  const body = new Uint8Array(8 + (quote ? 28 : 0));
  body[0] = m.type;
  body[1] = m.code;
  set32(body, 4, m.rest >>> 0);
  if (quote) {
    const q = body.subarray(8);
    const l4 = quote.proto === "tcp" ? 20 + quote.len : 8 + quote.len;
    emitIpv4(
      {
        src: quote.srcIp,
        dst: quote.dstIp,
        tos: 0,
        id: 0,
        dontFragment: false,
        moreFragments: false,
        fragmentOffset: 0,
        ttl: 64,
        protocol: quote.proto === "tcp" ? IpProtocol.TCP : IpProtocol.UDP,
        payloadLength: l4,
      },
      q,
      0,
    );
    set16(q, 20, quote.srcPort);
    set16(q, 22, quote.dstPort);
    if (quote.proto === "tcp") set32(q, 24, quote.seq >>> 0);
    else set16(q, 24, l4);
  }
  const sum = finishChecksum(checksum(body, 0, body.length));
  set16(body, 2, m.badChecksum ? spoil(sum) : sum);
  return ipFrame(a, IpProtocol.ICMP, body);
}

/**
 * An ARP frame.
 *
 * @example
 * ```ts
 * import { arpFrame } from "./packets.ts";
 * arpFrame(0xffffffffffff, 2, { op: 1, senderMac: 2, senderIp: 0xc0000201,
 *   targetMac: 0, targetIp: 0xc0000202 }).length; // 42
 * ```
 */
export function arpFrame(dstMac: MacAddress, srcMac: MacAddress, r: ArpRepr): Uint8Array {
  const f = new Uint8Array(42);
  emitEthernet({ dst: dstMac, src: srcMac, ethertype: EtherType.ARP }, f, 0);
  set16(f, 14, 1);
  set16(f, 16, 0x0800);
  f[18] = 6;
  f[19] = 4;
  set16(f, 20, r.op);
  writeMac48(f, 22, r.senderMac);
  set32(f, 28, r.senderIp >>> 0);
  writeMac48(f, 32, r.targetMac);
  set32(f, 38, r.targetIp >>> 0);
  return f;
}

function writeMac48(u8: Uint8Array, off: number, mac: MacAddress): void {
  for (let i = 5; i >= 0; i--) {
    u8[off + i] = mac % 256;
    mac = Math.floor(mac / 256);
  }
}

// ---------------------------------------------------------------------------
// Decoding what the stack sent

/** A TCP segment as sent (numbers as on the wire). */
export interface SeenTcp extends TcpHeaderFields {
  readonly options: readonly TcpOptionSpec[];
  readonly payload: Uint8Array;
  readonly checksumOk: boolean;
}

/** A UDP datagram as sent. */
export interface SeenUdp {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
  readonly checksumOk: boolean;
}

/** The datagram an outbound ICMP error quotes, as far as the quote shows it. */
export interface SeenQuote {
  readonly protocol: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** TCP sequence number (TCP only). */
  readonly seq?: number;
  /** Transport payload length implied by the quoted headers. */
  readonly len: number;
}

/** An ICMP message as sent. */
export interface SeenIcmp {
  readonly type: number;
  readonly code: number;
  /** Bytes 4–7 of the header (MTU, echo id/seq, pointer…). */
  readonly rest: number;
  readonly quote?: SeenQuote;
  readonly checksumOk: boolean;
}

/** The IPv4 header of a sent datagram. */
export interface SeenIp {
  readonly src: number;
  readonly dst: number;
  readonly tos: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly fragment: boolean;
}

/**
 * One frame the stack transmitted, decoded.
 *
 * @example
 * ```ts
 * import { decodeFrame } from "./packets.ts";
 * decodeFrame(new Uint8Array(10), 0).problem; // "truncated Ethernet header"
 * ```
 */
export interface SeenFrame {
  /** Capture time, µs of virtual time. */
  readonly t: number;
  readonly bytes: Uint8Array;
  readonly dstMac?: MacAddress;
  readonly arp?: ArpRepr;
  readonly ip?: SeenIp;
  readonly tcp?: SeenTcp;
  readonly udp?: SeenUdp;
  readonly icmp?: SeenIcmp;
  /** Why the frame could not be decoded fully. */
  readonly problem?: string;
}

/**
 * Decode a frame the stack sent. Checks the IP header checksum and the
 * transport checksum (MUST-2): a bad one is a `problem` or `checksumOk: false`.
 *
 * @example
 * ```ts
 * import { decodeFrame, udpFrame } from "./packets.ts";
 * const f = udpFrame({ srcMac: 1, dstMac: 2, srcIp: 0xc0000201, dstIp: 0xc0000202, ipId: 1 },
 *   1, 2, new Uint8Array(3), false);
 * decodeFrame(f, 0).udp?.payload.length; // 3
 * ```
 */
export function decodeFrame(bytes: Uint8Array, t: number): SeenFrame {
  if (bytes.length < ETHERNET_HEADER_LENGTH) {
    return { t, bytes, problem: "truncated Ethernet header" };
  }
  const dstMac = readMac(bytes, 0);
  const ethertype = get16(bytes, 12);
  const l3 = ETHERNET_HEADER_LENGTH;
  if (ethertype === EtherType.ARP) {
    const arp = parseArp(bytes, l3, bytes.length - l3);
    return typeof arp === "string" ? { t, bytes, dstMac, problem: arp } : { t, bytes, dstMac, arp };
  }
  if (ethertype !== EtherType.IPV4) {
    return { t, bytes, dstMac, problem: `EtherType 0x${ethertype.toString(16)}` };
  }
  const avail = bytes.length - l3;
  if (avail < 20 || bytes[l3]! >> 4 !== 4) return { t, bytes, dstMac, problem: "bad IPv4 header" };
  const ihl = (bytes[l3]! & 15) * 4;
  const total = get16(bytes, l3 + 2);
  if (ihl < 20 || total < ihl || total > avail) {
    return { t, bytes, dstMac, problem: "bad IPv4 header length" };
  }
  if (checksum(bytes, l3, ihl) !== 0xffff) {
    return { t, bytes, dstMac, problem: "bad IPv4 header checksum" };
  }
  const frag = get16(bytes, l3 + 6);
  const ip: SeenIp = {
    src: get32(bytes, l3 + 12),
    dst: get32(bytes, l3 + 16),
    tos: bytes[l3 + 1]!,
    ttl: bytes[l3 + 8]!,
    protocol: bytes[l3 + 9]!,
    fragment: (frag & 0x3fff) !== 0,
  };
  if (ip.fragment) return { t, bytes, dstMac, ip, problem: "IPv4 fragment" };
  const off = l3 + ihl;
  const len = total - ihl;
  const pseudo = (proto: number) => ipv4PseudoSum(ip.src, ip.dst, proto, len);
  switch (ip.protocol) {
    case IpProtocol.TCP: {
      if (len < 20) return { t, bytes, dstMac, ip, problem: "truncated TCP header" };
      const th = new TcpView(bytes, off);
      const hl = th.headerLength;
      if (hl < 20 || hl > len) return { t, bytes, dstMac, ip, problem: "bad TCP data offset" };
      const tcp: SeenTcp = {
        srcPort: th.srcPort,
        dstPort: th.dstPort,
        seq: th.seq,
        ack: th.ack,
        flags: th.flags,
        window: th.window,
        urgentPointer: th.urgentPointer,
        options: decodeTcpOptions(bytes, off + TCP_HEADER_LENGTH, hl - TCP_HEADER_LENGTH),
        payload: bytes.slice(off + hl, off + len),
        checksumOk: checksum(bytes, off, len, pseudo(IpProtocol.TCP)) === 0xffff,
      };
      return { t, bytes, dstMac, ip, tcp };
    }
    case IpProtocol.UDP: {
      if (len < 8) return { t, bytes, dstMac, ip, problem: "truncated UDP header" };
      const ulen = get16(bytes, off + 4);
      if (ulen < 8 || ulen > len) return { t, bytes, dstMac, ip, problem: "bad UDP length" };
      const field = get16(bytes, off + 6);
      const udp: SeenUdp = {
        srcPort: get16(bytes, off),
        dstPort: get16(bytes, off + 2),
        payload: bytes.slice(off + 8, off + ulen),
        checksumOk: field === 0 || checksum(bytes, off, ulen, pseudo(IpProtocol.UDP)) === 0xffff,
      };
      return { t, bytes, dstMac, ip, udp };
    }
    case IpProtocol.ICMP: {
      if (len < 8) return { t, bytes, dstMac, ip, problem: "truncated ICMP header" };
      const type = bytes[off]!;
      const quoted = isIcmpErrorType(type);
      const quote = quoted ? decodeQuote(bytes, off + 8, len - 8) : undefined;
      const icmp: SeenIcmp = {
        type,
        code: bytes[off + 1]!,
        rest: get32(bytes, off + 4),
        ...(quote ? { quote } : {}),
        checksumOk: checksum(bytes, off, len) === 0xffff,
      };
      return { t, bytes, dstMac, ip, icmp };
    }
  }
  return { t, bytes, dstMac, ip, problem: `IP protocol ${ip.protocol}` };
}

function decodeQuote(u8: Uint8Array, off: number, len: number): SeenQuote | undefined {
  if (len < 28 || u8[off]! >> 4 !== 4) return undefined;
  const ihl = (u8[off]! & 15) * 4;
  if (ihl < 20 || ihl + 8 > len) return undefined;
  const protocol = u8[off + 9]!;
  const total = get16(u8, off + 2);
  const t = off + ihl;
  const srcPort = get16(u8, t);
  const dstPort = get16(u8, t + 2);
  if (protocol === IpProtocol.UDP) return { protocol, srcPort, dstPort, len: get16(u8, t + 4) - 8 };
  if (protocol === IpProtocol.TCP) {
    // The data offset is byte 12, beyond the 8 bytes a minimal quote has; assume 20 then.
    const th = new TcpView(u8, t);
    const thl = ihl + TcpField.DATA_OFFSET < len ? th.headerLength : TCP_HEADER_LENGTH;
    return { protocol, srcPort, dstPort, seq: th.seq, len: total - ihl - thl };
  }
  return { protocol, srcPort, dstPort, len: total - ihl };
}

/** Expected lengths of the options the script names. */
const KNOWN_LENGTHS: Readonly<Record<number, number>> = { 2: 4, 3: 3, 4: 2, 8: 10 };

/**
 * Decode option bytes into the list the script would write, in wire order;
 * malformed bytes come back as `opt`/`raw` items rather than an error, so a
 * failure message can show them.
 *
 * @example
 * ```ts
 * import { decodeTcpOptions } from "./packets.ts";
 * decodeTcpOptions(new Uint8Array([2, 4, 5, 180, 1, 3, 3, 7]), 0, 8);
 * // [{ kind: "mss", value: 1460 }, { kind: "nop" }, { kind: "wscale", value: 7 }]
 * ```
 */
export function decodeTcpOptions(u8: Uint8Array, off: number, len: number): TcpOptionSpec[] {
  const out: TcpOptionSpec[] = [];
  const end = off + len;
  let i = off;
  while (i < end) {
    const kind = u8[i]!;
    if (kind === 0) {
      out.push({ kind: "eol" });
      // MUST-69: what follows EOL must be zero padding; show anything else.
      if (u8.subarray(i + 1, end).some((b) => b !== 0)) {
        out.push({ kind: "raw", bytes: u8.slice(i + 1, end) });
      }
      return out;
    }
    if (kind === 1) {
      out.push({ kind: "nop" });
      i++;
      continue;
    }
    const l = i + 1 < end ? u8[i + 1]! : -1;
    if (l < 2 || i + l > end) {
      out.push({ kind: "raw", bytes: u8.slice(i, end) });
      return out;
    }
    const body = u8.subarray(i + 2, i + l);
    if (KNOWN_LENGTHS[kind] === l || (kind === 5 && l > 2 && (l - 2) % 8 === 0)) {
      switch (kind) {
        case 2:
          out.push({ kind: "mss", value: get16(u8, i + 2) });
          break;
        case 3:
          out.push({ kind: "wscale", value: u8[i + 2]! });
          break;
        case 4:
          out.push({ kind: "sackOK" });
          break;
        case 8:
          out.push({ kind: "TS", val: get32(u8, i + 2), ecr: get32(u8, i + 6) });
          break;
        case 5: {
          const blocks: [number, number][] = [];
          for (let b = i + 2; b < i + l; b += 8) blocks.push([get32(u8, b), get32(u8, b + 4)]);
          out.push({ kind: "sack", blocks });
          break;
        }
      }
    } else {
      out.push({
        kind: "opt",
        code: kind,
        length: l,
        data: body.some((b) => b !== 0) ? body.slice() : null,
      });
    }
    i += l;
  }
  return out;
}
