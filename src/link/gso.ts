/**
 * Generic segmentation offload in software (Linux `skb_gso_segment`,
 * `tcp4_gso_segment`, `tcp6_gso_segment`): a TCP super-segment over IPv4
 * or IPv6 (no extension headers) built for a device that
 * takes large segments (`DeviceFeature.TSO`, `skb.gsoSize` > 0) is cut into
 * wire-sized segments of `gsoSize` payload bytes each — for a device that
 * cannot take it, or a simulated wire that must lose, delay or corrupt each
 * frame on its own.
 *
 * Every piece gets a copy of the headers in front of the TCP payload (link
 * header, if any, IP and TCP with options), then: IPv4 total length, the
 * identification counted up from the original's and the header checksum
 * (IPv6: the payload length);
 * TCP sequence number advanced by the payload offset, FIN and PSH only on
 * the last piece, CWR only on the first (RFC 3168 §6.1.2), and the checksum
 * over the piece (computed in WebAssembly). The pieces leave in order.
 *
 * @module
 */
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { checksum, finishChecksum, ipv4PseudoSum, ipv6PseudoSum } from "../wasm/checksum.ts";
import { get16, get32, set16, set32 } from "../wire/bytes.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { TcpField, TcpFlags } from "../wire/tcp.ts";

/** Offsets of the IPv4 header fields this module rewrites. */
const IP_TOTAL_LENGTH = 2;
const IP_ID = 4;
const IP_CHECKSUM = 10;
const IP_SRC = 12;
const IP_DST = 16;
/** The IPv6 header (RFC 8200 §3): fixed length, and its fields this module reads or rewrites. */
const IPV6_HEADER = 40;
const IP6_PAYLOAD_LENGTH = 4;
const IP6_NEXT_HEADER = 6;
const IP6_SRC = 8;
const IP6_DST = 24;

/**
 * Cut `skb` (a TCP segment whose IPv4 or IPv6 header starts `l3` bytes
 * into its data) into pieces of at most `skb.gsoSize` payload bytes, handing
 * each to `emit` in order; consumes `skb`. Returns how many pieces were
 * emitted, or -1 when the arena had no room for one (the rest is dropped, as
 * a device that cannot send drops) or the segment is not TCP directly over
 * IPv4 or IPv6.
 *
 * @example
 * ```ts
 * // const n = gsoSegment(skb, 14, allocator, (piece) => wire.send(piece));
 * ```
 */
export function gsoSegment(
  skb: SkBuff,
  l3: number,
  allocator: SkbAllocator,
  emit: (piece: SkBuff) => void,
): number {
  let u8 = allocator.arena.u8;
  const ip = skb.data + l3;
  const v6 = u8[ip]! >> 4 === 6;
  const ihl = v6 ? IPV6_HEADER : (u8[ip]! & 15) * 4;
  if (
    v6
      ? u8[ip + IP6_NEXT_HEADER] !== IpProtocol.TCP
      : u8[ip]! >> 4 !== 4 || u8[ip + 9] !== IpProtocol.TCP
  ) {
    skb.free();
    return -1;
  }
  const tcp = ip + ihl;
  const thl = (u8[tcp + TcpField.DATA_OFFSET]! >> 4) * 4;
  const hdrs = tcp + thl - skb.data; // link + IPv4 + TCP header bytes
  const payload = skb.len - hdrs;
  const mss = skb.gsoSize;
  if (mss <= 0 || payload <= mss) {
    skb.gsoSize = 0;
    emit(skb);
    return 1;
  }
  const seq0 = get32(u8, tcp + TcpField.SEQ);
  const flags0 = u8[tcp + TcpField.FLAGS]!;
  const id0 = get16(u8, ip + IP_ID);
  const src = get32(u8, ip + IP_SRC);
  const dst = get32(u8, ip + IP_DST);
  let n = 0;
  for (let off = 0; off < payload; off += mss) {
    const chunk = Math.min(mss, payload - off);
    const piece = allocator.alloc(hdrs + chunk, { headroom: skb.headroom });
    if (piece === null) {
      skb.free();
      return -1;
    }
    u8 = allocator.arena.u8; // allocating may have grown (and detached) the memory
    const at = piece.put(hdrs + chunk);
    // The headers, then this piece's payload.
    u8.copyWithin(at, skb.data, skb.data + hdrs);
    u8.copyWithin(at + hdrs, skb.data + hdrs + off, skb.data + hdrs + off + chunk);
    const pip = at + l3;
    const ptcp = pip + ihl;
    if (v6) {
      set16(u8, pip + IP6_PAYLOAD_LENGTH, thl + chunk);
    } else {
      set16(u8, pip + IP_TOTAL_LENGTH, ihl + thl + chunk);
      set16(u8, pip + IP_ID, (id0 + n) & 0xffff);
      set16(u8, pip + IP_CHECKSUM, 0);
      set16(u8, pip + IP_CHECKSUM, finishChecksum(checksum(u8, pip, ihl)));
    }
    set32(u8, ptcp + TcpField.SEQ, (seq0 + off) >>> 0);
    const last = off + chunk >= payload;
    let flags = flags0;
    if (!last) flags &= ~(TcpFlags.FIN | TcpFlags.PSH);
    if (n > 0) flags &= ~TcpFlags.CWR;
    u8[ptcp + TcpField.FLAGS] = flags;
    const segLen = thl + chunk;
    set16(u8, ptcp + TcpField.CHECKSUM, 0);
    const pseudo = v6
      ? ipv6PseudoSum(u8, pip + IP6_SRC, u8, pip + IP6_DST, segLen, IpProtocol.TCP)
      : ipv4PseudoSum(src, dst, IpProtocol.TCP, segLen);
    const sum = checksum(u8, ptcp, segLen, pseudo);
    set16(u8, ptcp + TcpField.CHECKSUM, finishChecksum(sum));
    piece.copyMeta(skb);
    piece.gsoSize = 0;
    piece.macHeader = l3 > 0 ? at : -1;
    piece.networkHeader = pip;
    piece.transportHeader = ptcp;
    emit(piece);
    n++;
  }
  skb.free();
  return n;
}

/**
 * Fill in the TCP or UDP checksum of the IPv4 or IPv6 packet (no extension
 * headers) at `u8[ip …)`, `len` bytes from the IP header on, from scratch —
 * for a frame a kernel handed over with a partial checksum
 * (`VIRTIO_NET_HDR_F_NEEDS_CSUM`: only the pseudo-header sum is in place),
 * which must be complete before it goes on a wire (Linux `skb_checksum_help`).
 * Returns false, changing nothing, for anything else (not IP, another
 * protocol, a fragment, lengths that do not add up).
 *
 * @example
 * ```ts
 * // if (skb.ipSummed === Csum.Unnecessary) completeL4Checksum(u8, skb.data + 14, skb.len - 14);
 * ```
 */
export function completeL4Checksum(u8: Uint8Array, ip: number, len: number): boolean {
  if (len < 20) return false;
  const version = u8[ip]! >> 4;
  let l4: number;
  let l4Len: number;
  let proto: number;
  if (version === 4) {
    const ihl = (u8[ip]! & 15) * 4;
    const total = get16(u8, ip + IP_TOTAL_LENGTH);
    // Fragments (MF set or an offset) carry no whole L4 segment.
    if (ihl < 20 || total > len || total < ihl || (get16(u8, ip + 6) & 0x3fff) !== 0) return false;
    l4 = ip + ihl;
    l4Len = total - ihl;
    proto = u8[ip + 9]!;
  } else if (version === 6) {
    if (len < IPV6_HEADER) return false;
    l4Len = get16(u8, ip + IP6_PAYLOAD_LENGTH);
    if (IPV6_HEADER + l4Len > len) return false;
    l4 = ip + IPV6_HEADER;
    proto = u8[ip + IP6_NEXT_HEADER]!;
  } else {
    return false;
  }
  const field = proto === IpProtocol.TCP ? TcpField.CHECKSUM : proto === IpProtocol.UDP ? 6 : -1;
  if (field < 0 || l4Len < (proto === IpProtocol.TCP ? 20 : 8)) return false;
  set16(u8, l4 + field, 0);
  const pseudo = version === 6
    ? ipv6PseudoSum(u8, ip + IP6_SRC, u8, ip + IP6_DST, l4Len, proto)
    : ipv4PseudoSum(get32(u8, ip + IP_SRC), get32(u8, ip + IP_DST), proto, l4Len);
  let sum = finishChecksum(checksum(u8, l4, l4Len, pseudo));
  if (sum === 0 && proto === IpProtocol.UDP) sum = 0xffff; // RFC 768: 0 means "none"
  set16(u8, l4 + field, sum);
  return true;
}
