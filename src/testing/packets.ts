/**
 * Frames on the scripted wire: building the Ethernet/IPv4|IPv6/TCP|UDP|ICMP
 * frames the script injects (with correct checksums unless told otherwise,
 * TCP options byte for byte as written). Decoding the frames the stack sends
 * is `decode.ts`.
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
import type { MacAddress } from "../wire/addr.ts";
import type { ArpRepr } from "../wire/arp.ts";
import { set16, set32 } from "../wire/bytes.ts";
import { emitEthernet, ETHERNET_HEADER_LENGTH, EtherType } from "../wire/ethernet.ts";
import { emitIpv4, IpProtocol } from "../wire/ipv4.ts";
import { emitIpv6 } from "../wire/ipv6.ts";
import { emitNeighborAdvert, emitNeighborSolicit } from "../wire/ndp.ts";
import type { TcpRepr } from "../wire/tcp.ts";
import { TCP_MAX_OPTIONS_LENGTH } from "../wire/tcp_options.ts";
import type { IpInfo, TcpOptionSpec } from "./ast.ts";

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
/** IPv6 next header of ICMPv6. */
export const NH_ICMPV6 = 58;

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
