/**
 * Decoding the frames the stack sends on the scripted wire into plain
 * objects the matcher compares (`match.ts`). Decoding never throws: a
 * malformed frame is reported as a `problem`, since a broken packet from the
 * stack is a test failure to describe, not a crash. IPv6 frames decode the
 * same way; ICMPv6 errors are mapped back to their ICMP equivalents
 * ({@link icmpFromV6}) and neighbour discovery and MLD frames come out as
 * `nd`. Building frames is `packets.ts`.
 *
 * @module
 */
import { checksum, ipv4PseudoSum, ipv6PseudoSum } from "../wasm/checksum.ts";
import { type MacAddress, readMac } from "../wire/addr.ts";
import { formatIpv6 } from "../wire/addr6.ts";
import { type ArpRepr, parseArp } from "../wire/arp.ts";
import { get16, get32 } from "../wire/bytes.ts";
import { ETHERNET_HEADER_LENGTH, EtherType } from "../wire/ethernet.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { isIcmpErrorType } from "../wire/icmp.ts";
import { TCP_HEADER_LENGTH, TcpField, TcpView } from "../wire/tcp.ts";
import type { TcpOptionSpec } from "./ast.ts";
import { icmpFromV6, NH_ICMPV6, type TcpHeaderFields } from "./packets.ts";

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
 * import { decodeFrame } from "./decode.ts";
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
 * import { decodeFrame } from "./decode.ts";
 * import { udpFrame } from "./packets.ts";
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
      const tcp = decodeTcp(bytes, off, len, pseudo(IpProtocol.TCP));
      return typeof tcp === "string"
        ? { t, bytes, dstMac, ip, problem: tcp }
        : { t, bytes, dstMac, ip, tcp };
    }
    case IpProtocol.UDP: {
      // Over IPv4 a zero checksum means "none" (RFC 768).
      const udp = decodeUdp(bytes, off, len, pseudo(IpProtocol.UDP), true);
      return typeof udp === "string"
        ? { t, bytes, dstMac, ip, problem: udp }
        : { t, bytes, dstMac, ip, udp };
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

/** The TCP segment at `bytes[off, off + len)` (`pseudo`: its pseudo-header sum), or what is wrong with it. */
function decodeTcp(bytes: Uint8Array, off: number, len: number, pseudo: number): SeenTcp | string {
  if (len < 20) return "truncated TCP header";
  const th = new TcpView(bytes, off);
  const hl = th.headerLength;
  if (hl < 20 || hl > len) return "bad TCP data offset";
  return {
    srcPort: th.srcPort,
    dstPort: th.dstPort,
    seq: th.seq,
    ack: th.ack,
    flags: th.flags,
    window: th.window,
    urgentPointer: th.urgentPointer,
    options: decodeTcpOptions(bytes, off + TCP_HEADER_LENGTH, hl - TCP_HEADER_LENGTH),
    payload: bytes.slice(off + hl, off + len),
    checksumOk: checksum(bytes, off, len, pseudo) === 0xffff,
  };
}

/** The UDP datagram at `bytes[off, off + len)`, or what is wrong with it; `zeroOk`: a 0 checksum means none. */
function decodeUdp(
  bytes: Uint8Array,
  off: number,
  len: number,
  pseudo: number,
  zeroOk: boolean,
): SeenUdp | string {
  if (len < 8) return "truncated UDP header";
  const ulen = get16(bytes, off + 4);
  if (ulen < 8 || ulen > len) return "bad UDP length";
  const field = get16(bytes, off + 6);
  return {
    srcPort: get16(bytes, off),
    dstPort: get16(bytes, off + 2),
    payload: bytes.slice(off + 8, off + ulen),
    checksumOk: field === 0 ? zeroOk : checksum(bytes, off, ulen, pseudo) === 0xffff,
  };
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
      const tcp = decodeTcp(bytes, off, len, pseudo(IpProtocol.TCP));
      return typeof tcp === "string"
        ? { t, bytes, dstMac, ip, problem: tcp }
        : { t, bytes, dstMac, ip, tcp };
    }
    case IpProtocol.UDP: {
      // RFC 8200 §8.1: a zero checksum is not allowed over IPv6.
      const udp = decodeUdp(bytes, off, len, pseudo(IpProtocol.UDP), false);
      return typeof udp === "string"
        ? { t, bytes, dstMac, ip, problem: udp }
        : { t, bytes, dstMac, ip, udp };
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
 * import { decodeTcpOptions } from "./decode.ts";
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
