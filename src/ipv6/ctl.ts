/**
 * Building the ICMPv6 control packets that neighbour discovery, DAD and MLD
 * send themselves (Linux `ndisc_alloc_skb` / `mld_newpack`): one buffer with
 * the Ethernet header, the IPv6 header (plus a hop-by-hop Router Alert for
 * MLD, RFC 3810 §5) and the ICMPv6 message with its checksum, computed over
 * the pseudo-header in the arena (the WASM checksum path).
 *
 * These packets bypass the IPv6 output path on purpose: their addresses are
 * fixed by the protocol (the unspecified source of a DAD probe, hop limit
 * 255, a solicited-node group) rather than chosen by routing and source
 * selection, and a DAD probe must go out while every address is tentative.
 *
 * @module
 */
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { ipv6PseudoSum } from "../wasm/checksum.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";
import { fillIcmpv6Checksum } from "../wire/icmpv6.ts";
import { emitIpv6, IPV6_HEADER_LENGTH, NextHeader } from "../wire/ipv6.ts";

/** Router Alert hop-by-hop header for MLD: Next Header ICMPv6, RA value 0, PadN(0). */
const ROUTER_ALERT_MLD = new Uint8Array([58, 0, 5, 2, 0, 0, 1, 0]);

/**
 * Addresses and IP fields of a control packet.
 *
 * @example
 * ```ts
 * import type { ControlHeader } from "./ctl.ts";
 * import { IPV6_ALL_ROUTERS, IPV6_UNSPECIFIED } from "../wire/addr6.ts";
 * const rs: ControlHeader = { src: IPV6_UNSPECIFIED, dst: IPV6_ALL_ROUTERS, hopLimit: 255 };
 * ```
 */
export interface ControlHeader {
  /** Source address (16 bytes at `srcOffset`, default 0). */
  readonly src: Uint8Array;
  /** Offset of the source address in `src`; default 0. */
  readonly srcOffset?: number;
  /** Destination address. */
  readonly dst: Uint8Array;
  /** Offset of the destination address in `dst`; default 0. */
  readonly dstOffset?: number;
  /** 255 for neighbour discovery (RFC 4861 §6.1), 1 for MLD (RFC 3810 §5). */
  readonly hopLimit: number;
  /** Add the hop-by-hop Router Alert option (MLD). */
  readonly routerAlert?: boolean;
}

/**
 * Allocate a control packet with room for an ICMPv6 message of `length`
 * bytes and write its IPv6 header (and the Router Alert header for MLD).
 * Returns the buffer with `data` at the IPv6 header, Ethernet headroom in
 * front, and `transportHeader` at the ICMPv6 message; null when the arena is
 * out of buffers. The caller writes the message, calls {@link finishControl}
 * and hands the packet to the neighbour layer's output.
 *
 * @example
 * ```ts
 * // const skb = allocControl(allocator, hdr, 16);
 * // emitRouterSolicit(dev.mac, skb.arena.u8, skb.transportHeader);
 * // finishControl(skb, 16);
 * ```
 */
export function allocControl(
  allocator: SkbAllocator,
  h: ControlHeader,
  length: number,
): SkBuff | null {
  const hbh = h.routerAlert ? ROUTER_ALERT_MLD.length : 0;
  const size = IPV6_HEADER_LENGTH + hbh + length;
  const skb = allocator.alloc(size, { headroom: ETHERNET_HEADER_LENGTH + 2 });
  if (skb === null) return null;
  const ip = skb.put(size);
  const u8 = allocator.arena.u8;
  emitIpv6(
    {
      trafficClass: 0,
      flowLabel: 0,
      payloadLength: hbh + length,
      nextHeader: hbh > 0 ? NextHeader.HOP_BY_HOP : NextHeader.ICMPV6,
      hopLimit: h.hopLimit,
      src: h.src,
      srcOffset: h.srcOffset ?? 0,
      dst: h.dst,
      dstOffset: h.dstOffset ?? 0,
    },
    u8,
    ip,
  );
  if (hbh > 0) u8.set(ROUTER_ALERT_MLD, ip + IPV6_HEADER_LENGTH);
  skb.networkHeader = ip;
  skb.transportHeader = ip + IPV6_HEADER_LENGTH + hbh;
  return skb;
}

/**
 * Fill in the ICMPv6 checksum of a packet from {@link allocControl} whose
 * message (`length` bytes) is written.
 *
 * @example
 * ```ts
 * // finishControl(skb, 24);
 * ```
 */
export function finishControl(skb: SkBuff, length: number): void {
  const u8 = skb.arena.u8;
  const ip = skb.networkHeader;
  fillIcmpv6Checksum(
    u8,
    skb.transportHeader,
    length,
    ipv6PseudoSum(u8, ip + 8, u8, ip + 24, length, NextHeader.ICMPV6),
  );
}
