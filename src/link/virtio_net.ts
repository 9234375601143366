/**
 * The `virtio_net_hdr` that a TAP opened with `IFF_VNET_HDR` puts in front of
 * every frame, in both directions (virtio 1.2 §5.1.6 "Device Operation";
 * Linux `include/uapi/linux/virtio_net.h`, `virtio_net_hdr_to_skb`,
 * `virtio_net_hdr_from_skb`), and the checks a received header must pass.
 *
 * Layout (10 bytes, little-endian on the hosts Deno runs on; the TAP keeps
 * the legacy native-endian header unless `TUNSETVNETLE` is used):
 *
 * | byte | field | meaning |
 * |---|---|---|
 * | 0 | `flags` | `NEEDS_CSUM`: the L4 checksum at `csum_start + csum_offset` holds only the pseudo-header sum; `DATA_VALID`: checksums already verified |
 * | 1 | `gso_type` | `NONE`, `TCPV4`, `TCPV6`, `UDP`, `UDP_L4`, plus the `ECN` bit |
 * | 2 | `hdr_len` | bytes of headers (Ethernet + IP + TCP) before the payload |
 * | 4 | `gso_size` | payload bytes per segment when the frame is cut |
 * | 6 | `csum_start` | where checksumming starts (from the frame's first byte) |
 * | 8 | `csum_offset` | where the checksum goes, from `csum_start` |
 *
 * A TCP super-segment crosses as one frame of up to 65,535 + 14 bytes:
 * `gso_type` TCPV4 (or TCPV6), `gso_size` the MSS, `NEEDS_CSUM` with the
 * TCP checksum field holding the pseudo-header sum (the seed); whoever cuts
 * it (the kernel's GSO, or a NIC) finishes each piece's checksum from that
 * seed. Received super-frames (the kernel's GRO/TSO output) are taken whole,
 * as Linux takes GRO'd packets.
 *
 * Everything here is pure (no FFI), so the header logic is tested without a
 * TAP.
 *
 * @module
 */
import { checksum, ipv4PseudoSum } from "../wasm/checksum.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";

/** Bytes of the `virtio_net_hdr` (without `num_buffers`), the TAP default. */
export const VNET_HDR_LEN = 10;

/** `virtio_net_hdr.flags` bits. */
export const VnetFlag = {
  /** The L4 checksum is partial (only the pseudo-header sum): finish it. */
  NEEDS_CSUM: 1,
  /** Checksums were verified already (receive only). */
  DATA_VALID: 2,
  /** Receive-segment-coalescing info in the header (not used by TAPs). */
  RSC_INFO: 4,
} as const;

/** `virtio_net_hdr.gso_type` values. */
export const VnetGso = {
  NONE: 0,
  TCPV4: 1,
  UDP: 3,
  TCPV6: 4,
  UDP_L4: 5,
  /** Bit: the segment carries ECN (CWR must be cleared on all but the first piece). */
  ECN: 0x80,
} as const;

/** `TUNSETOFFLOAD` flags (Linux `TUN_F_*`): what we accept from the kernel. */
export const TunOffload = {
  /** We take partial checksums (`NEEDS_CSUM`). */
  CSUM: 0x01,
  /** We take TCP/IPv4 super-frames. */
  TSO4: 0x02,
  /** We take TCP/IPv6 super-frames. */
  TSO6: 0x04,
  /** We take super-frames with the ECN bit. */
  TSO_ECN: 0x08,
} as const;

/** Largest frame behind a virtio header: a 65,535-byte IP datagram in Ethernet. */
export const VNET_MAX_FRAME = 65535 + ETHERNET_HEADER_LENGTH;

/** Why a received header/frame pair is refused (counted under these names). */
export type VnetDropReason =
  | "vnet_short"
  | "vnet_bad_flags"
  | "vnet_bad_gso_type"
  | "vnet_bad_gso_size"
  | "vnet_bad_csum_offset"
  | "vnet_gso_mismatch"
  | "vnet_oversized";

/** A parsed `virtio_net_hdr` (reused record; copy what you keep). */
export class VnetHdr {
  /** {@link VnetFlag} bits. */
  flags = 0;
  /** {@link VnetGso} value, with the ECN bit. */
  gsoType = 0;
  /** Header bytes before the payload. */
  hdrLen = 0;
  /** Payload bytes per segment. */
  gsoSize = 0;
  /** Where checksumming starts, from the frame's first byte. */
  csumStart = 0;
  /** Where the checksum goes, from `csumStart`. */
  csumOffset = 0;
}

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const TCP_CHECK = 16;
const TCP_FLAG_CWR = 0x80;

/**
 * Read the header at `u8[at]` into `out`.
 *
 * @example
 * ```ts
 * import { readVnetHdr, VnetHdr } from "./virtio_net.ts";
 * const h = readVnetHdr(new Uint8Array(10), 0, new VnetHdr());
 * h.gsoType; // 0 (VnetGso.NONE)
 * ```
 */
export function readVnetHdr(u8: Uint8Array, at: number, out: VnetHdr): VnetHdr {
  out.flags = u8[at]!;
  out.gsoType = u8[at + 1]!;
  out.hdrLen = u8[at + 2]! | (u8[at + 3]! << 8);
  out.gsoSize = u8[at + 4]! | (u8[at + 5]! << 8);
  out.csumStart = u8[at + 6]! | (u8[at + 7]! << 8);
  out.csumOffset = u8[at + 8]! | (u8[at + 9]! << 8);
  return out;
}

/**
 * Write a header into `u8[at, at + 10)`.
 *
 * @example
 * ```ts
 * import { VnetGso, writeVnetHdr } from "./virtio_net.ts";
 * const b = new Uint8Array(10);
 * writeVnetHdr(b, 0, 0, VnetGso.NONE, 0, 0, 0, 0); // "no offload": all zero
 * ```
 */
export function writeVnetHdr(
  u8: Uint8Array,
  at: number,
  flags: number,
  gsoType: number,
  hdrLen: number,
  gsoSize: number,
  csumStart: number,
  csumOffset: number,
): void {
  u8[at] = flags;
  u8[at + 1] = gsoType;
  u8[at + 2] = hdrLen & 0xff;
  u8[at + 3] = hdrLen >>> 8;
  u8[at + 4] = gsoSize & 0xff;
  u8[at + 5] = gsoSize >>> 8;
  u8[at + 6] = csumStart & 0xff;
  u8[at + 7] = csumStart >>> 8;
  u8[at + 8] = csumOffset & 0xff;
  u8[at + 9] = csumOffset >>> 8;
}

/**
 * Check a received header against the frame it describes (`frameLen` bytes
 * at `u8[frame]`), as Linux's `virtio_net_hdr_to_skb` does for a guest's
 * transmit: known flag bits only, a known GSO type with a non-zero size that
 * matches the frame's protocol (we negotiate TCP segmentation only), a
 * checksum position inside the frame, and a length within `maxFrame` for a
 * plain frame or {@link VNET_MAX_FRAME} for a super-frame. Returns null when
 * it is acceptable, else the drop reason.
 *
 * @example
 * ```ts
 * import { checkVnetRx, VnetHdr } from "./virtio_net.ts";
 * checkVnetRx(new VnetHdr(), new Uint8Array(60), 0, 60, 1514); // null
 * ```
 */
export function checkVnetRx(
  h: VnetHdr,
  u8: Uint8Array,
  frame: number,
  frameLen: number,
  maxFrame: number,
): VnetDropReason | null {
  if (frameLen < ETHERNET_HEADER_LENGTH) return "vnet_short";
  if ((h.flags & ~(VnetFlag.NEEDS_CSUM | VnetFlag.DATA_VALID)) !== 0) return "vnet_bad_flags";
  if (h.flags & VnetFlag.NEEDS_CSUM) {
    // The checksum field must lie in the frame, past the Ethernet header.
    if (
      h.csumStart < ETHERNET_HEADER_LENGTH || h.csumStart + h.csumOffset + 2 > frameLen
    ) {
      return "vnet_bad_csum_offset";
    }
  }
  const gso = h.gsoType & ~VnetGso.ECN;
  if (gso === VnetGso.NONE) {
    if (h.gsoType !== VnetGso.NONE) return "vnet_bad_gso_type"; // ECN bit alone
    return frameLen > maxFrame ? "vnet_oversized" : null;
  }
  if (gso !== VnetGso.TCPV4 && gso !== VnetGso.TCPV6) return "vnet_bad_gso_type";
  if (h.gsoSize === 0) return "vnet_bad_gso_size";
  if (frameLen > VNET_MAX_FRAME) return "vnet_oversized";
  const type = (u8[frame + 12]! << 8) | u8[frame + 13]!;
  const l3 = frame + ETHERNET_HEADER_LENGTH;
  if (gso === VnetGso.TCPV4) {
    if (
      type !== ETH_P_IP || frameLen < ETHERNET_HEADER_LENGTH + 20 || u8[l3]! >> 4 !== 4 ||
      u8[l3 + 9] !== IPPROTO_TCP
    ) {
      return "vnet_gso_mismatch";
    }
  } else if (
    type !== ETH_P_IPV6 || frameLen < ETHERNET_HEADER_LENGTH + 40 || u8[l3]! >> 4 !== 6 ||
    u8[l3 + 6] !== IPPROTO_TCP
  ) {
    return "vnet_gso_mismatch";
  }
  return null;
}

/**
 * Prepare the header for sending the Ethernet frame at `u8[frame, frame +
 * len)` as a TCP super-segment cut into `gsoSize`-byte pieces (Linux
 * `virtio_net_hdr_from_skb` for a GSO skb): writes the header into
 * `hdr[0, 10)` and replaces the TCP checksum in the frame with the
 * pseudo-header seed the cutter finishes from (`NEEDS_CSUM`). Returns false
 * when the frame is not TCP over IPv4 (or, with `v6`, IPv6 without
 * extension headers) — the caller then segments in software.
 *
 * @example
 * ```ts
 * // if (!vnetGsoHdr(hdr, u8, skb.data, skb.len, skb.gsoSize, tso6)) gsoSegment(…);
 * ```
 */
export function vnetGsoHdr(
  hdr: Uint8Array,
  u8: Uint8Array,
  frame: number,
  len: number,
  gsoSize: number,
  v6: boolean,
): boolean {
  const type = (u8[frame + 12]! << 8) | u8[frame + 13]!;
  const l3 = frame + ETHERNET_HEADER_LENGTH;
  let l4: number;
  let gsoType: number;
  if (type === ETH_P_IP) {
    if (u8[l3]! >> 4 !== 4 || u8[l3 + 9] !== IPPROTO_TCP) return false;
    l4 = l3 + (u8[l3]! & 15) * 4;
    gsoType = VnetGso.TCPV4;
  } else if (type === ETH_P_IPV6 && v6) {
    if (u8[l3]! >> 4 !== 6 || u8[l3 + 6] !== IPPROTO_TCP) return false;
    l4 = l3 + 40;
    gsoType = VnetGso.TCPV6;
  } else {
    return false;
  }
  const thl = (u8[l4 + 12]! >> 4) * 4;
  if (thl < 20 || l4 + thl > frame + len) return false;
  const tcpLen = frame + len - l4;
  let seed: number;
  if (gsoType === VnetGso.TCPV4) {
    const src = ((u8[l3 + 12]! << 24) | (u8[l3 + 13]! << 16) | (u8[l3 + 14]! << 8) |
      u8[l3 + 15]!) >>> 0;
    const dst = ((u8[l3 + 16]! << 24) | (u8[l3 + 17]! << 16) | (u8[l3 + 18]! << 8) |
      u8[l3 + 19]!) >>> 0;
    seed = ipv4PseudoSum(src, dst, IPPROTO_TCP, tcpLen);
  } else {
    // RFC 8200 §8.1: both addresses, the upper-layer length and next header.
    seed = checksum(u8, l3 + 8, 32, (tcpLen >>> 16) + (tcpLen & 0xffff) + IPPROTO_TCP);
  }
  // Linux tcp_v4_send_check for CHECKSUM_PARTIAL: th->check = ~csum_fold(~seed)
  // i.e. the folded pseudo-header sum, not complemented.
  u8[l4 + TCP_CHECK] = seed >>> 8;
  u8[l4 + TCP_CHECK + 1] = seed & 0xff;
  if (u8[l4 + 13]! & TCP_FLAG_CWR) gsoType |= VnetGso.ECN;
  writeVnetHdr(
    hdr,
    0,
    VnetFlag.NEEDS_CSUM,
    gsoType,
    l4 + thl - frame,
    gsoSize,
    l4 - frame,
    TCP_CHECK,
  );
  return true;
}

/**
 * Choose the `TUNSETOFFLOAD` flags: the richest set the kernel accepts,
 * trying `CSUM|TSO4|TSO6|TSO_ECN`, then `CSUM|TSO4|TSO6`, `CSUM|TSO4`,
 * `CSUM`, and finally none. `trySet(flags)` performs the ioctl and returns
 * true on success.
 *
 * @example
 * ```ts
 * import { negotiateOffload, TunOffload } from "./virtio_net.ts";
 * negotiateOffload((f) => (f & TunOffload.TSO6) === 0); // CSUM|TSO4 (0x03)
 * ```
 */
export function negotiateOffload(trySet: (flags: number) => boolean): number {
  const { CSUM, TSO4, TSO6, TSO_ECN } = TunOffload;
  for (const f of [CSUM | TSO4 | TSO6 | TSO_ECN, CSUM | TSO4 | TSO6, CSUM | TSO4, CSUM]) {
    if (trySet(f)) return f;
  }
  trySet(0);
  return 0;
}
