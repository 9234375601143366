/**
 * IPv6 fragmentation at the source (RFC 8200 §4.5; Linux `ip6_fragment`).
 *
 * Decisions recorded here:
 * - **Unfragmentable part** = the IPv6 header plus a leading hop-by-hop
 *   header, the only extension header this stack ever sends before its
 *   payload (MLD reports, which are never fragmented). Everything after it is
 *   the fragmentable part and travels in pieces behind a fragment header.
 * - **Sizes**: each non-final fragment carries `(mtu − unfragmentable − 8)`
 *   rounded down to 8 bytes; every IPv6 link has mtu ≥ 1280, so pieces are
 *   never tiny, and the first fragment always holds the whole header chain
 *   and the upper-layer header (RFC 7112).
 * - **Identification** comes from the caller (the layer draws it from keyed,
 *   per-destination counters, RFC 7739 §5), never from a global counter.
 * - **All or nothing**, as for IPv4: every fragment is built before any is
 *   handed to `out`; when the arena runs out nothing is sent (`ENOBUFS`).
 * - A `Csum.Partial` upper-layer checksum is completed before splitting.
 *
 * @module
 */
import type { IpStats } from "../core/stats.ts";
import { SkbQueue } from "../skb/queue.ts";
import { Csum, type SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
import { checksum, finishChecksum } from "../wasm/checksum.ts";
import { get16, set16 } from "../wire/bytes.ts";
import { IPV6_HEADER_LENGTH, IPV6_MIN_MTU, NextHeader } from "../wire/ipv6.ts";
import { emitIpv6Fragment, IPV6_FRAGMENT_HEADER_LENGTH } from "../wire/ipv6_ext.ts";

/**
 * What {@link fragmentIpv6} did (the packet is consumed either way).
 *
 * @example
 * ```ts
 * import type { Fragment6Result } from "./fragment.ts";
 * const r: Fragment6Result = "sent";
 * ```
 */
export type Fragment6Result = "sent" | "no_buffers";

/**
 * Send the IPv6 packet at `skb.data` over a path with `mtu`, in fragments
 * when it does not fit (callers decide whether it may be fragmented).
 * Consumes `skb`. Fragments get `MAX_HEADER` of headroom. Counters: `fragOKs`,
 * `fragCreates`, `fragFails` (RFC 4293). `RangeError` for an MTU below 1280.
 *
 * @param skb the packet, `data` at its IPv6 header
 * @param mtu the path MTU (IPv6 header + payload), ≥ 1280
 * @param id the fragment identification to use
 * @param allocator where fragments are allocated
 * @param out receives each packet, in offset order, and owns it
 * @param stats IPv6 counters
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
 * import { IpStats } from "../core/stats.ts";
 * import { IPV6_LOOPBACK } from "../wire/addr6.ts";
 * import { emitIpv6 } from "../wire/ipv6.ts";
 * import { fragmentIpv6 } from "./fragment.ts";
 * const skbs = new SkbAllocator(new Arena());
 * const skb = skbs.alloc(3000)!;
 * const at = skb.put(3000);
 * emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: 2960, nextHeader: 17,
 *   hopLimit: 64, src: IPV6_LOOPBACK, dst: IPV6_LOOPBACK }, skb.arena.u8, at);
 * const sent: SkBuff[] = [];
 * fragmentIpv6(skb, 1500, 7, skbs, (f) => sent.push(f), new IpStats()); // "sent": 3 fragments
 * for (const f of sent) f.free();
 * ```
 */
export function fragmentIpv6(
  skb: SkBuff,
  mtu: number,
  id: number,
  allocator: SkbAllocator,
  out: (frag: SkBuff) => void,
  stats: IpStats,
): Fragment6Result {
  if (!Number.isInteger(mtu) || mtu < IPV6_MIN_MTU) {
    throw new RangeError(`fragmentIpv6: MTU ${mtu} is below the IPv6 minimum of ${IPV6_MIN_MTU}`);
  }
  const u0 = allocator.arena.u8;
  const ip = skb.data;
  const total = IPV6_HEADER_LENGTH + get16(u0, ip + 4);
  if (total <= mtu) {
    out(skb);
    return "sent";
  }
  if (skb.ipSummed === Csum.Partial) completeChecksum(skb, ip + total);
  // The unfragmentable part: the fixed header and a leading hop-by-hop header.
  let unfrag = IPV6_HEADER_LENGTH;
  let nhField = ip + 6;
  if (u0[ip + 6] === NextHeader.HOP_BY_HOP) {
    nhField = ip + IPV6_HEADER_LENGTH;
    unfrag += (u0[ip + IPV6_HEADER_LENGTH + 1]! + 1) * 8;
  }
  const nextHeader = u0[nhField]!;
  const payload = total - unfrag;
  const chunkMax = (mtu - unfrag - IPV6_FRAGMENT_HEADER_LENGTH) & ~7;
  const pieces = new SkbQueue();
  for (let off = 0; off < payload;) {
    const chunk = Math.min(chunkMax, payload - off);
    const last = off + chunk === payload;
    const size = unfrag + IPV6_FRAGMENT_HEADER_LENGTH + chunk;
    const frag = allocator.alloc(size);
    if (frag === null) {
      pieces.purge();
      stats.fragFails++;
      skb.free();
      return "no_buffers";
    }
    const u8 = allocator.arena.u8; // re-derived: the memory may have grown
    const at = frag.put(size);
    u8.copyWithin(at, ip, ip + unfrag);
    u8[at + (nhField - ip)] = NextHeader.FRAGMENT;
    set16(u8, at + 4, size - IPV6_HEADER_LENGTH);
    emitIpv6Fragment(
      { nextHeader, fragmentOffset: off, moreFragments: !last, identification: id },
      u8,
      at + unfrag,
    );
    u8.copyWithin(
      at + unfrag + IPV6_FRAGMENT_HEADER_LENGTH,
      ip + unfrag + off,
      ip + unfrag + off + chunk,
    );
    frag.protocol = skb.protocol;
    frag.ifindex = skb.ifindex;
    frag.tstamp = skb.tstamp;
    frag.networkHeader = at;
    pieces.push(frag);
    off += chunk;
  }
  const n = pieces.length;
  stats.fragOKs++;
  stats.fragCreates += n;
  skb.free();
  try {
    for (let f = pieces.shift(); f !== null; f = pieces.shift()) out(f);
  } finally {
    pieces.purge();
  }
  return "sent";
}

function completeChecksum(skb: SkBuff, end: number): void {
  const u8 = skb.arena.u8;
  const field = skb.csumStart + skb.csumOffset;
  set16(u8, field, 0);
  const v = finishChecksum(checksum(u8, skb.csumStart, end - skb.csumStart, skb.csum));
  set16(u8, field, v === 0 ? 0xffff : v);
  skb.ipSummed = Csum.None;
}
