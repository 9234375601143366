/**
 * IPv4 fragmentation on output (RFC 791 §2.3 and the example procedure in
 * §3.2; RFC 1122 §3.3.3, I9; Linux `ip_fragment` / `ip_do_fragment`).
 *
 * Decisions recorded here:
 * - **Options in non-initial fragments are dropped, not NOP-filled.** RFC 791
 *   §3.1 copies an option into every fragment only when its copy bit (0x80 of
 *   the type) is set, and the §3.2 example procedure recomputes IHL from the
 *   options actually copied. Linux overwrites the others with NOPs to keep one
 *   header length; dropping them gives later fragments more payload and
 *   headers that say exactly what they carry. The copied options are
 *   re-padded with EOL to a 32-bit boundary. A piece whose final offset is 0
 *   (the datagram's first fragment) keeps the input header byte for byte.
 * - **All or nothing.** Every fragment is built before any is handed to
 *   `out`: when the arena runs out half way, nothing reaches the wire (a
 *   partial datagram could only waste the receiver's reassembly memory until
 *   its timeout), what was built is freed, and the caller gets `ENOBUFS`.
 * - **DF set and too big**: nothing is sent; the result carries the MTU so
 *   the caller can report `EMSGSIZE` locally or, when forwarding, send ICMP
 *   "fragmentation needed" with the next-hop MTU (RFC 1191 §4). Which one is
 *   the caller's decision, not this function's.
 * - **The transport checksum must be final** before the payload is split
 *   (Linux calls `skb_checksum_help` in `ip_do_fragment` for the same reason):
 *   a `Csum.Partial` input is completed in software first.
 * - One copy per payload byte (a plain in-arena copy: the IPv4 header
 *   checksum does not cover the payload, so there is nothing to sum).
 *
 * @module
 */
import type { IpStats } from "../core/stats.ts";
import { SkbQueue } from "../skb/queue.ts";
import { Csum, type SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
import { checksum, finishChecksum } from "../wasm/checksum.ts";
import { set16 } from "../wire/bytes.ts";
import {
  IPV4_HEADER_LENGTH,
  IPV4_MAX_HEADER_LENGTH,
  Ipv4Option,
  Ipv4View,
  parseIpv4,
} from "../wire/ipv4.ts";

/**
 * Smallest MTU an IPv4 link may have: a 60-byte header plus the minimum
 * 8-byte fragment (RFC 791 §2.3, "Every internet module must be able to
 * forward a datagram of 68 octets without further fragmentation").
 *
 * @example
 * ```ts
 * import { IPV4_MIN_MTU } from "./fragment.ts";
 * IPV4_MIN_MTU; // 68
 * ```
 */
export const IPV4_MIN_MTU = 68;

/**
 * RFC 791 §3.1: option types with this bit set are copied into every fragment.
 *
 * @example
 * ```ts
 * import { IPV4_OPTION_COPIED } from "./fragment.ts";
 * (131 & IPV4_OPTION_COPIED) !== 0; // LSRR is copied
 * ```
 */
export const IPV4_OPTION_COPIED = 0x80;

/**
 * What {@link fragmentIpv4} did with a datagram.
 *
 * - `sent`: handed to `out`, whole (`fragments === 1`) or as `fragments` pieces;
 * - `frag_needed`: DF was set and the datagram exceeds `mtu`; nothing was sent
 *   (report `EMSGSIZE`, or send ICMP type 3 code 4 quoting `mtu`, RFC 1191);
 * - `no_buffers`: the arena ran out while building fragments; nothing was sent.
 *
 * @example
 * ```ts
 * import type { FragmentResult } from "./fragment.ts";
 * function describe(r: FragmentResult): string {
 *   if (r.status === "frag_needed") return `EMSGSIZE, next-hop MTU ${r.mtu}`;
 *   return r.status === "sent" ? `${r.fragments} packet(s)` : "ENOBUFS";
 * }
 * ```
 */
export type FragmentResult =
  | { readonly status: "sent"; readonly fragments: number }
  | { readonly status: "frag_needed"; readonly errno: "EMSGSIZE"; readonly mtu: number }
  | { readonly status: "no_buffers"; readonly errno: "ENOBUFS" };

// Preallocated results for the common outcomes: the fits-in-MTU path allocates nothing.
const SENT_WHOLE: FragmentResult = Object.freeze({ status: "sent", fragments: 1 });
const NO_BUFFERS: FragmentResult = Object.freeze({ status: "no_buffers", errno: "ENOBUFS" });

// Scratch for the header of non-initial fragments (fixed part + copied options).
const template = new Uint8Array(IPV4_MAX_HEADER_LENGTH);
const view = new Ipv4View(new Uint8Array(0), 0);
const NO_VERIFY = { verifyChecksum: false } as const;

/**
 * Send the IPv4 datagram at `skb.data` (a complete, valid header followed by
 * its payload) over a link with `mtu`, fragmenting when it does not fit.
 * Consumes `skb` in every outcome: it goes to `out` unchanged when it fits,
 * and is freed otherwise. Each fragment is a fresh buffer with
 * `MAX_HEADER` bytes of headroom (the allocator default) for the link header.
 *
 * Counters (RFC 4293): `fragOKs` per datagram fragmented, `fragCreates` per
 * fragment made, `fragFails` per datagram that needed fragmenting and could not
 * be (DF set, or no buffers).
 *
 * Throws `RangeError` for an `mtu` below {@link IPV4_MIN_MTU} and `TypeError`
 * for a buffer that does not hold a well-formed datagram or lives in another
 * arena: both are caller bugs, and `skb` is then left with the caller.
 *
 * @param skb the datagram, `data` at its IPv4 header
 * @param mtu the link MTU in bytes (IPv4 header + payload), ≥ 68
 * @param allocator where fragments are allocated (the arena of `skb`)
 * @param out receives each packet to transmit, in offset order; owns it
 * @param stats IP counters to update
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
 * import { IpStats } from "../core/stats.ts";
 * import { emitIpv4 } from "../wire/ipv4.ts";
 * import { fragmentIpv4 } from "./fragment.ts";
 * const skbs = new SkbAllocator(new Arena());
 * const skb = skbs.alloc(3000)!;
 * const at = skb.put(3000);
 * emitIpv4({ src: 0xc0000201, dst: 0xc0000202, tos: 0, id: 9, dontFragment: false,
 *   moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: 17,
 *   payloadLength: 2980 }, skb.arena.u8, at);
 * const sent: SkBuff[] = [];
 * const r = fragmentIpv4(skb, 1500, skbs, (f) => sent.push(f), new IpStats());
 * // r = { status: "sent", fragments: 3 }: offsets 0, 1480, 2960
 * for (const f of sent) f.free();
 * ```
 */
export function fragmentIpv4(
  skb: SkBuff,
  mtu: number,
  allocator: SkbAllocator,
  out: (frag: SkBuff) => void,
  stats: IpStats,
): FragmentResult {
  if (!Number.isInteger(mtu) || mtu < IPV4_MIN_MTU) {
    throw new RangeError(`fragmentIpv4: MTU ${mtu} is below the IPv4 minimum of ${IPV4_MIN_MTU}`);
  }
  if (skb.allocator.arena !== allocator.arena) {
    throw new TypeError("fragmentIpv4: the datagram lives in another arena than the allocator");
  }
  const ip = parseIpv4(allocator.arena.u8, skb.data, skb.len, NO_VERIFY);
  if (typeof ip === "string") {
    throw new TypeError(`fragmentIpv4: the buffer does not hold a valid IPv4 datagram (${ip})`);
  }
  const hl = ip.headerLength;
  const totalLength = hl + ip.payloadLength;
  if (totalLength <= mtu) {
    out(skb);
    return SENT_WHOLE;
  }
  if (ip.dontFragment) {
    // RFC 791 §2.3 / RFC 1191 §4: DF forbids fragmenting; the caller reports the MTU.
    stats.fragFails++;
    skb.free();
    return { status: "frag_needed", errno: "EMSGSIZE", mtu };
  }
  if (skb.ipSummed === Csum.Partial) completeChecksum(skb, skb.data + totalLength);

  const hlRest = buildTemplate(allocator.arena.u8, skb.data, hl);
  const inOffset = ip.fragmentOffset;
  const inMore = ip.moreFragments;
  const payloadStart = skb.data + hl;
  const payloadLength = ip.payloadLength;
  const pieces = new SkbQueue();
  let off = 0;
  while (off < payloadLength) {
    // RFC 791 §2.3: only a fragment at offset 0 carries the non-copied options.
    const full = off === 0 && inOffset === 0;
    const hdr = full ? hl : hlRest;
    // RFC 791 §3.2: NFB = (MTU − IHL·4) / 8, offsets count 8-octet blocks.
    // mtu ≥ 68 and hdr ≤ 60 make every chunk at least 8 bytes.
    const chunk = Math.min((mtu - hdr) & ~7, payloadLength - off);
    const last = off + chunk === payloadLength;
    const frag = allocator.alloc(hdr + chunk);
    if (frag === null) {
      pieces.purge();
      stats.fragFails++;
      skb.free();
      return NO_BUFFERS;
    }
    const u8 = allocator.arena.u8; // re-derived: the allocation may have grown the memory
    const at = frag.put(hdr + chunk);
    if (full) u8.copyWithin(at, skb.data, skb.data + hl);
    else for (let k = 0; k < hlRest; k++) u8[at + k] = template[k]!;
    u8.copyWithin(at + hdr, payloadStart + off, payloadStart + off + chunk);
    view.u8 = u8;
    view.at(at);
    view.headerLength = hdr;
    view.totalLength = hdr + chunk;
    view.fragmentOffset = inOffset + off;
    // Re-fragmenting a non-final fragment keeps MF on its last piece (RFC 791 §3.2).
    view.moreFragments = !last || inMore;
    view.fillChecksum();
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
    pieces.purge(); // only non-empty if `out` threw
  }
  return { status: "sent", fragments: n };
}

/**
 * Fill {@link template} with the header for non-initial fragments: the fixed
 * 20 bytes of the input header plus its options that have the copy bit,
 * EOL-padded to 32 bits. Returns that header's length. The input options were
 * validated by `parseIpv4`, so every length byte is in range.
 */
function buildTemplate(u8: Uint8Array, h: number, hl: number): number {
  for (let i = 0; i < IPV4_HEADER_LENGTH; i++) template[i] = u8[h + i]!;
  let n = IPV4_HEADER_LENGTH;
  for (let i = IPV4_HEADER_LENGTH; i < hl;) {
    const type = u8[h + i]!;
    if (type === Ipv4Option.EOL) break;
    // NOP (type 1) has no copy bit: alignment padding is not carried over.
    if (type === Ipv4Option.NOP) {
      i++;
      continue;
    }
    const len = u8[h + i + 1]!;
    if ((type & IPV4_OPTION_COPIED) !== 0) {
      for (let k = 0; k < len; k++) template[n + k] = u8[h + i + k]!;
      n += len;
    }
    i += len;
  }
  const padded = (n + 3) & ~3;
  template.fill(Ipv4Option.EOL, n, padded);
  return padded;
}

/**
 * Finish a `Csum.Partial` transport checksum in software: `skb.csum` holds the
 * pseudo-header sum, the sum covers `[csumStart, end)`, the result goes at
 * `csumStart + csumOffset`. A computed 0 is written as 0xFFFF (the same value in
 * ones' complement, and the form UDP requires, RFC 768).
 */
function completeChecksum(skb: SkBuff, end: number): void {
  const u8 = skb.arena.u8;
  const field = skb.csumStart + skb.csumOffset;
  set16(u8, field, 0);
  const v = finishChecksum(checksum(u8, skb.csumStart, end - skb.csumStart, skb.csum));
  set16(u8, field, v === 0 ? 0xffff : v);
  skb.ipSummed = Csum.None;
}
