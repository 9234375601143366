/**
 * Frames on the scripted wire: building the Ethernet/IPv4|IPv6/TCP|UDP|ICMP
 * frames the script injects (with correct checksums unless told otherwise,
 * TCP options byte for byte as written) and decoding the frames the stack
 * sends into plain objects the matcher compares. Decoding never throws: a
 * malformed frame is reported as a `problem`, since a broken packet from the
 * stack is a test failure to describe, not a crash.
 *
 * Over IPv6 (`--ip_version=ipv6`) the same script notation is used: a frame
 * is IPv6 when its addressing has `src6`/`dst6`; ICMP lines are translated
 * to their ICMPv6 equivalents ({@link icmpToV6}) and ICMPv6 the stack sends
 * back ({@link icmpFromV6}), and neighbour discovery and MLD frames are
 * decoded as `nd` (the runner plays the peer's side of them, like ARP).
 *
 * @module
 */
import { checksum, finishChecksum, ipv4PseudoSum, ipv6PseudoSum } from "../wasm/checksum.ts";
import { type MacAddress, readMac } from "../wire/addr.ts";
import { formatIpv6 } from "../wire/addr6.ts";
import { type ArpRepr, parseArp } from "../wire/arp.ts";
import { get16, get32, set16, set32 } from "../wire/bytes.ts";
import { emitEthernet, ETHERNET_HEADER_LENGTH, EtherType } from "../wire/ethernet.ts";
import { emitIpv4, IpProtocol } from "../wire/ipv4.ts";
import { emitIpv6 } from "../wire/ipv6.ts";
import { emitNeighborAdvert, emitNeighborSolicit } from "../wire/ndp.ts";
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
  /** IPv6 source and destination (16 bytes each): with them the frame is IPv6. */
  readonly src6?: Uint8Array | undefined;
  readonly dst6?: Uint8Array | undefined;
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

/** ICMPv6's next header number (RFC 4443). */
const NH_ICMPV6 = 58;

function ipFrame(a: FrameAddressing, protocol: number, transport: Uint8Array): Uint8Array {
  if (a.src6 !== undefined && a.dst6 !== undefined) return ip6Frame(a, protocol, transport);
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

function ip6Frame(a: FrameAddressing, protocol: number, transport: Uint8Array): Uint8Array {
  const frame = new Uint8Array(ETHERNET_HEADER_LENGTH + 40 + transport.length);
  emitEthernet({ dst: a.dstMac, src: a.srcMac, ethertype: EtherType.IPV6 }, frame, 0);
  emitIpv6(
    {
      trafficClass: tosOf(a.ip),
      flowLabel: 0,
      payloadLength: transport.length,
      nextHeader: protocol === IpProtocol.ICMP ? NH_ICMPV6 : protocol,
      hopLimit: a.ip?.ttl ?? 64,
      src: a.src6!,
      dst: a.dst6!,
    },
    frame,
    ETHERNET_HEADER_LENGTH,
  );
  frame.set(transport, ETHERNET_HEADER_LENGTH + 40);
  return frame;
}

/** The pseudo-header sum of a transport message of `len` bytes of `protocol` (IPv4 or IPv6). */
function pseudoOf(a: FrameAddressing, protocol: number, len: number): number {
  if (a.src6 !== undefined && a.dst6 !== undefined) {
    return ipv6PseudoSum(a.src6, 0, a.dst6, 0, len, protocol);
  }
  return ipv4PseudoSum(a.srcIp, a.dstIp, protocol, len);
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
    checksum(seg, 0, seg.length, pseudoOf(a, IpProtocol.TCP, seg.length)),
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
  let sum = finishChecksum(checksum(d, 0, d.length, pseudoOf(a, IpProtocol.UDP, d.length)));
  if (sum === 0) sum = 0xffff; // RFC 768: a computed 0 goes out as all ones
  set16(d, 6, badChecksum ? spoil(sum) : sum);
  return ipFrame(a, IpProtocol.UDP, d);
}

/**
 * What an injected ICMP error quotes (the first 8 transport bytes are built
 * from it); with `src6`/`dst6` the quoted header is IPv6.
 */
export type QuotedDatagram =
  | {
    readonly proto: "tcp";
    readonly srcIp: number;
    readonly dstIp: number;
    readonly srcPort: number;
    readonly dstPort: number;
    readonly seq: number;
    readonly len: number;
    readonly src6?: Uint8Array;
    readonly dst6?: Uint8Array;
  }
  | {
    readonly proto: "udp";
    readonly srcIp: number;
    readonly dstIp: number;
    readonly srcPort: number;
    readonly dstPort: number;
    readonly len: number;
    readonly src6?: Uint8Array;
    readonly dst6?: Uint8Array;
  };

/**
 * The ICMPv6 type and code (RFC 4443) of an ICMP type and code as scripts
 * write them, or null when ICMPv6 has no equivalent (source quench, source
 * route failed…): echo request/reply, destination unreachable (network →
 * no route, host → address unreachable, port → port unreachable,
 * administratively prohibited), fragmentation needed → Packet Too Big, time
 * exceeded, parameter problem.
 *
 * @example
 * ```ts
 * import { icmpToV6 } from "./packets.ts";
 * icmpToV6(3, 3); // [1, 4]: port unreachable
 * icmpToV6(3, 4); // [2, 0]: Packet Too Big
 * icmpToV6(4, 0); // null: no source quench in ICMPv6
 * ```
 */
export function icmpToV6(type: number, code: number): [number, number] | null {
  switch (type) {
    case 8:
      return [128, code];
    case 0:
      return [129, code];
    case 3:
      switch (code) {
        case 0:
        case 6:
          return [1, 0];
        case 1:
        case 7:
          return [1, 3];
        case 3:
          return [1, 4];
        case 4:
          return [2, 0];
        case 9:
        case 10:
        case 13:
          return [1, 1];
      }
      return null;
    case 11:
      return [3, code];
    case 12:
      return code === 0 ? [4, 0] : null;
  }
  return null;
}

/**
 * The ICMP type and code scripts write for an ICMPv6 message (the inverse
 * of {@link icmpToV6}), or null for messages with no ICMP equivalent.
 *
 * @example
 * ```ts
 * import { icmpFromV6 } from "./packets.ts";
 * icmpFromV6(1, 4); // [3, 3]: port unreachable
 * icmpFromV6(129, 0); // [0, 0]: echo reply
 * ```
 */
export function icmpFromV6(type: number, code: number): [number, number] | null {
  switch (type) {
    case 128:
      return [8, code];
    case 129:
      return [0, code];
    case 1:
      return code === 0
        ? [3, 0]
        : code === 1
        ? [3, 13]
        : code === 3
        ? [3, 1]
        : code === 4
        ? [3, 3]
        : null;
    case 2:
      return [3, 4];
    case 3:
      return [11, code];
    case 4:
      return [12, 0];
  }
  return null;
}

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
  if (a.src6 !== undefined && a.dst6 !== undefined) return icmp6Frame(a, m, quote);
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
 * {@link icmpFrame} over IPv6: `m.type`/`m.code` are ICMPv6 numbers; an error
 * quotes a 40-byte IPv6 header plus the first 8 transport bytes; the
 * checksum covers the IPv6 pseudo-header (RFC 4443 §2.3).
 */
function icmp6Frame(
  a: FrameAddressing,
  m: { type: number; code: number; rest: number; badChecksum: boolean },
  quote: QuotedDatagram | undefined,
): Uint8Array {
  const body = new Uint8Array(8 + (quote ? 48 : 0));
  body[0] = m.type;
  body[1] = m.code;
  set32(body, 4, m.rest >>> 0);
  if (quote) {
    const q = body.subarray(8);
    const l4 = quote.proto === "tcp" ? 20 + quote.len : 8 + quote.len;
    emitIpv6(
      {
        trafficClass: 0,
        flowLabel: 0,
        payloadLength: l4,
        nextHeader: quote.proto === "tcp" ? IpProtocol.TCP : IpProtocol.UDP,
        hopLimit: 64,
        src: quote.src6 ?? new Uint8Array(16),
        dst: quote.dst6 ?? new Uint8Array(16),
      },
      q,
      0,
    );
    set16(q, 40, quote.srcPort);
    set16(q, 42, quote.dstPort);
    if (quote.proto === "tcp") set32(q, 44, quote.seq >>> 0);
    else set16(q, 44, l4);
  }
  const sum = finishChecksum(checksum(body, 0, body.length, pseudoOf(a, NH_ICMPV6, body.length)));
  set16(body, 2, m.badChecksum ? spoil(sum) : sum);
  return ipFrame(a, IpProtocol.ICMP, body);
}

/**
 * A neighbour solicitation (`solicit`) or solicited advertisement for
 * `target` from `src6` to `dst6` with our link-layer address `srcMac` in
 * its option, hop limit 255 (RFC 4861 §7.1) — how the runner plays the
 * peer's side of neighbour discovery over IPv6, as it plays ARP over IPv4.
 *
 * @example
 * ```ts
 * import { ndFrame } from "./packets.ts";
 * import { parseIpv6Address } from "../wire/addr6.ts";
 * const a = parseIpv6Address("2001:db8::1"), b = parseIpv6Address("2001:db8::2");
 * ndFrame("solicit", { srcMac: 1, dstMac: 2, src6: a, dst6: b }, b).length; // 86
 * ```
 */
export function ndFrame(
  kind: "solicit" | "advert",
  a: { srcMac: MacAddress; dstMac: MacAddress; src6: Uint8Array; dst6: Uint8Array },
  target: Uint8Array,
): Uint8Array {
  const body = new Uint8Array(32);
  if (kind === "solicit") emitNeighborSolicit(target, 0, a.srcMac, null, body, 0);
  else {
    const flags = { router: false, solicited: true, override: true };
    emitNeighborAdvert(flags, target, 0, a.srcMac, body, 0);
  }
  const addressing: FrameAddressing = { ...a, srcIp: 0, dstIp: 0, ipId: 0, ip: { ttl: 255 } };
  set16(
    body,
    2,
    finishChecksum(checksum(body, 0, body.length, pseudoOf(addressing, NH_ICMPV6, body.length))),
  );
  return ipFrame(addressing, IpProtocol.ICMP, body);
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

/**
 * The IP header of a sent datagram. Over IPv6 (`version` 6) `src`/`dst` are
 * 0 and the addresses are text in `src6`/`dst6`; `tos` is the traffic
 * class, `ttl` the hop limit, and ICMPv6 shows as `protocol` 1 (ICMP).
 */
export interface SeenIp {
  readonly src: number;
  readonly dst: number;
  readonly tos: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly fragment: boolean;
  /** 6 for IPv6; absent for IPv4. */
  readonly version?: 6;
  readonly src6?: string;
  readonly dst6?: string;
}

/**
 * A neighbour discovery or MLD message the stack sent (ICMPv6 types
 * 130–143): background traffic the runner answers or records, never a
 * script line.
 */
export interface SeenNd {
  /** ICMPv6 type (135 neighbour solicitation, 136 advertisement, 143 MLDv2 report…). */
  readonly type: number;
  /** The target address of a solicitation or advertisement, else null. */
  readonly target: string | null;
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
  /** Neighbour discovery or MLD (IPv6 only). */
  readonly nd?: SeenNd;
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
  if (ethertype === EtherType.IPV6) return decodeIpv6Frame(bytes, t, dstMac);
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

/** The IPv6 part of {@link decodeFrame}: TCP, UDP, ICMPv6 (as ICMP), ND/MLD; no extension headers. */
function decodeIpv6Frame(bytes: Uint8Array, t: number, dstMac: MacAddress): SeenFrame {
  const l3 = ETHERNET_HEADER_LENGTH;
  const avail = bytes.length - l3;
  if (avail < 40 || bytes[l3]! >> 4 !== 6) return { t, bytes, dstMac, problem: "bad IPv6 header" };
  const plen = get16(bytes, l3 + 4);
  if (plen > avail - 40) return { t, bytes, dstMac, problem: "bad IPv6 payload length" };
  let nh = bytes[l3 + 6]!;
  let off = l3 + 40;
  let len = plen;
  // A hop-by-hop options header (MLD reports carry Router Alert, RFC 3810 §5) is skipped.
  if (nh === 0 && len >= 8) {
    const hl = (bytes[off + 1]! + 1) * 8;
    if (hl > len) return { t, bytes, dstMac, problem: "truncated hop-by-hop header" };
    nh = bytes[off]!;
    off += hl;
    len -= hl;
  }
  const ip: SeenIp = {
    src: 0,
    dst: 0,
    tos: ((bytes[l3]! & 15) << 4) | (bytes[l3 + 1]! >> 4),
    ttl: bytes[l3 + 7]!,
    protocol: nh === NH_ICMPV6 ? IpProtocol.ICMP : nh,
    fragment: nh === 44,
    version: 6,
    src6: formatIpv6(bytes, l3 + 8),
    dst6: formatIpv6(bytes, l3 + 24),
  };
  if (ip.fragment) return { t, bytes, dstMac, ip, problem: "IPv6 fragment" };
  const pseudo = (proto: number) => ipv6PseudoSum(bytes, l3 + 8, bytes, l3 + 24, len, proto);
  switch (nh) {
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
      const udp: SeenUdp = {
        srcPort: get16(bytes, off),
        dstPort: get16(bytes, off + 2),
        payload: bytes.slice(off + 8, off + ulen),
        // RFC 8200 §8.1: a zero checksum is not allowed over IPv6.
        checksumOk: get16(bytes, off + 6) !== 0 &&
          checksum(bytes, off, ulen, pseudo(IpProtocol.UDP)) === 0xffff,
      };
      return { t, bytes, dstMac, ip, udp };
    }
    case NH_ICMPV6: {
      if (len < 8) return { t, bytes, dstMac, ip, problem: "truncated ICMPv6 header" };
      const type6 = bytes[off]!;
      if (type6 >= 130 && type6 <= 143) {
        const target = (type6 === 135 || type6 === 136) && len >= 24
          ? formatIpv6(bytes, off + 8)
          : null;
        return { t, bytes, dstMac, ip, nd: { type: type6, target } };
      }
      const v4 = icmpFromV6(type6, bytes[off + 1]!);
      if (v4 === null) {
        return { t, bytes, dstMac, ip, problem: `ICMPv6 type ${type6} code ${bytes[off + 1]}` };
      }
      const quote = type6 < 128 ? decodeQuote(bytes, off + 8, len - 8) : undefined;
      const word = get32(bytes, off + 4);
      const icmp: SeenIcmp = {
        type: v4[0],
        code: v4[1],
        // Packet Too Big carries a 32-bit MTU; scripts read it from the low 16 bits.
        rest: type6 === 2 ? Math.min(word, 0xffff) : word,
        ...(quote ? { quote } : {}),
        checksumOk: checksum(bytes, off, len, pseudo(NH_ICMPV6)) === 0xffff,
      };
      return { t, bytes, dstMac, ip, icmp };
    }
  }
  return { t, bytes, dstMac, ip, problem: `IPv6 next header ${nh}` };
}

function decodeQuote(u8: Uint8Array, off: number, len: number): SeenQuote | undefined {
  if (len >= 48 && u8[off]! >> 4 === 6) {
    const protocol = u8[off + 6]!;
    const plen = get16(u8, off + 4);
    const t = off + 40;
    const srcPort = get16(u8, t);
    const dstPort = get16(u8, t + 2);
    if (protocol === IpProtocol.UDP) {
      return { protocol, srcPort, dstPort, len: get16(u8, t + 4) - 8 };
    }
    if (protocol === IpProtocol.TCP) {
      const th = new TcpView(u8, t);
      const thl = 40 + TcpField.DATA_OFFSET < len ? th.headerLength : TCP_HEADER_LENGTH;
      return { protocol, srcPort, dstPort, seq: th.seq, len: plen - thl };
    }
    return { protocol, srcPort, dstPort, len: plen };
  }
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
