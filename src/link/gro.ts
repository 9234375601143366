/**
 * Generic receive offload in software (Linux `tcp4_gro_receive`,
 * `tcp_gro_receive`): consecutive Ethernet frames carrying one TCP/IPv4
 * flow's in-order segments are merged into one super-frame with
 * `skb.gsoSize` set, for a device that takes large segments (a TAP opened
 * with `IFF_VNET_HDR` and TSO: one `write` then carries up to 64 KiB
 * instead of one frame). It is the inverse of `gso.ts`: cutting the merged
 * frame again gives back the frames that went in.
 *
 * A frame joins the one being built only when nothing but its position
 * differs: the same Ethernet header, an IPv4 header of 20 bytes with the
 * same addresses, TOS, TTL and DF flag and no fragment, TCP with the same
 * ports, acknowledgement, window and options (byte for byte), only ACK set
 * (PSH too on the last), a sequence number that continues the previous
 * segment, and a payload as long as the first one's (a shorter one is
 * taken and ends the merge). Each frame's TCP checksum is verified first:
 * a corrupt frame is passed on as it is, never merged (its fresh checksum
 * would hide the corruption). Anything else flushes what is held and goes
 * on alone, so the order of frames never changes.
 *
 * @module
 */
import { MAX_HEADER } from "../skb/arena.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { checksum, finishChecksum, ipv4PseudoSum } from "../wasm/checksum.ts";
import { get16, get32, set16 } from "../wire/bytes.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { TcpField, TcpFlags } from "../wire/tcp.ts";

const ETH_P_IP = 0x0800;
const IP_HEADER = 20;
const IP_TOTAL_LENGTH = 2;
const IP_FRAG = 6;
const IP_CHECKSUM = 10;
const IP_SRC = 12;
const IP_DST = 16;
/** The flags bits of the IPv4 fragment field: DF (0x4000) may differ from MF and the offset. */
const IP_MF_OFFSET = 0x3fff;
/** Largest IPv4 datagram: what one merged frame may hold. */
const IP_MAX = 65535;
/** TCP flags that forbid merging (anything but ACK and PSH). */
const NO_MERGE = TcpFlags.FIN | TcpFlags.SYN | TcpFlags.RST | TcpFlags.URG | TcpFlags.ECE |
  TcpFlags.CWR;

/** Counters of a {@link TcpGro}. */
export class GroStats {
  /** Frames that went into a merged frame. */
  merged = 0;
  /** Merged frames handed on (each from two frames or more). */
  superFrames = 0;
  /** Frames handed on as they came. */
  passed = 0;
  /** TCP frames not merged because their checksum was wrong. */
  badChecksum = 0;
}

/**
 * Merges consecutive frames of one TCP/IPv4 flow; {@link TcpGro.flush} at
 * the end of each batch of work (a drain, a message), as Linux flushes GRO
 * at the end of a NAPI poll.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { TcpGro } from "./gro.ts";
 * const allocator = new SkbAllocator(new Arena());
 * const gro = new TcpGro(allocator, (skb) => skb.free()); // a device's transmit
 * // for each frame at arena bytes [off, off + len): gro.add(off, len);
 * gro.flush();
 * ```
 */
export class TcpGro {
  /** Counters. */
  readonly stats: GroStats = new GroStats();
  readonly #allocator: SkbAllocator;
  readonly #emit: (skb: SkBuff, frames: number) => void;
  /** The frame being built (its first segment's headers, the payloads after), or null. */
  #held: SkBuff | null = null;
  /** Segments in it. */
  #count = 0;
  /** Payload bytes of its first segment: every one but the last must have as many. */
  #mss = 0;
  /** The sequence number the next segment must start at. */
  #nextSeq = 0;
  /** Length of its Ethernet + IP + TCP headers. */
  #hdrs = 0;
  /** A shorter (or PSH) segment was taken: nothing may follow it. */
  #closed = false;

  /**
   * A merger that hands every frame (merged or not) to `emit`, which takes
   * ownership; `frames` is how many frames went into it (1 if not merged).
   */
  constructor(allocator: SkbAllocator, emit: (skb: SkBuff, frames: number) => void) {
    this.#allocator = allocator;
    this.#emit = emit;
  }

  /**
   * Take the frame at arena bytes `[off, off + len)` (copied; the bytes
   * stay the caller's). Returns false when no arena slot was free for it
   * (dropped, as a full device queue drops).
   */
  add(off: number, len: number): boolean {
    const u8 = this.#allocator.arena.u8;
    const seg = tcpSegment(u8, off, len);
    const held = this.#held;
    if (held !== null) {
      if (seg > 0 && this.#joins(u8, off, len, seg)) return true;
      this.flush();
    }
    if (seg > 0 && (u8[off + seg + TcpField.FLAGS]! & (NO_MERGE | TcpFlags.PSH)) === 0) {
      // A candidate to start a merge: held in a slot a whole datagram fits.
      if (!checksumOk(u8, off, len, seg)) {
        this.stats.badChecksum++;
        return this.#pass(off, len);
      }
      const skb = this.#allocator.alloc(ETHERNET_HEADER_LENGTH + IP_MAX, { headroom: MAX_HEADER });
      if (skb === null) return this.#pass(off, len);
      const at = skb.put(len);
      this.#allocator.arena.u8.copyWithin(at, off, off + len);
      this.#held = skb;
      this.#count = 1;
      this.#hdrs = seg + ((u8[off + seg + TcpField.DATA_OFFSET]! >> 4) * 4);
      this.#mss = len - this.#hdrs;
      this.#nextSeq = (get32(u8, off + seg + TcpField.SEQ) + this.#mss) >>> 0;
      this.#closed = false;
      return true;
    }
    return this.#pass(off, len);
  }

  /** Hand on what is held: merged (with `gsoSize`) or, if it is one segment, as it came. */
  flush(): void {
    const skb = this.#held;
    if (skb === null) return;
    this.#held = null;
    if (this.#count > 1) {
      const u8 = this.#allocator.arena.u8;
      const ip = skb.data + ETHERNET_HEADER_LENGTH;
      set16(u8, ip + IP_TOTAL_LENGTH, skb.len - ETHERNET_HEADER_LENGTH);
      set16(u8, ip + IP_CHECKSUM, 0);
      set16(u8, ip + IP_CHECKSUM, finishChecksum(checksum(u8, ip, IP_HEADER)));
      // The TCP checksum is the device's to fill in per segment (the
      // virtio header asks for it); what is there now covers the first one.
      skb.gsoSize = this.#mss;
      this.stats.superFrames++;
      this.stats.merged += this.#count;
    } else {
      this.stats.passed++;
    }
    this.#emit(skb, this.#count);
  }

  /** Append the segment at `[off, off + len)` to the held frame if it continues it. */
  #joins(u8: Uint8Array, off: number, len: number, seg: number): boolean {
    if (this.#closed) return false;
    const held = this.#held!;
    const hdrs = this.#hdrs;
    const payload = len - hdrs;
    if (
      payload <= 0 || payload > this.#mss || held.len + payload > ETHERNET_HEADER_LENGTH + IP_MAX
    ) {
      return false;
    }
    if (held.tailroom < payload) return false;
    const h = held.data;
    const flags = u8[off + seg + TcpField.FLAGS]!;
    if ((flags & NO_MERGE) !== 0) return false;
    if (get32(u8, off + seg + TcpField.SEQ) !== this.#nextSeq) return false;
    // Headers equal but for the IP length, identification, fragment field's
    // DF-less bits and checksum, and the TCP sequence number, flags and checksum.
    const ip = ETHERNET_HEADER_LENGTH;
    for (let i = 0; i < hdrs; i++) {
      if (u8[off + i] === u8[h + i]) continue;
      if (i >= ip + IP_TOTAL_LENGTH && i < ip + IP_FRAG) continue; // length, identification
      if (i >= ip + IP_CHECKSUM && i < ip + IP_CHECKSUM + 2) continue;
      const t = i - seg;
      if (t >= TcpField.SEQ && t < TcpField.SEQ + 4) continue;
      if (t === TcpField.FLAGS || (t >= TcpField.CHECKSUM && t < TcpField.CHECKSUM + 2)) continue;
      return false;
    }
    if ((get16(u8, off + ip + IP_FRAG) & IP_MF_OFFSET) !== 0) return false;
    if (!checksumOk(u8, off, len, seg)) {
      this.stats.badChecksum++;
      return false;
    }
    const at = held.put(payload);
    this.#allocator.arena.u8.copyWithin(at, off + hdrs, off + len);
    this.#count++;
    this.#nextSeq = (this.#nextSeq + payload) >>> 0;
    if ((flags & TcpFlags.PSH) !== 0) u8[h + seg + TcpField.FLAGS]! |= TcpFlags.PSH;
    if (payload < this.#mss || (flags & TcpFlags.PSH) !== 0) this.#closed = true;
    return true;
  }

  /** Hand on a copy of the frame as it is. */
  #pass(off: number, len: number): boolean {
    const skb = this.#allocator.alloc(len, { headroom: 0 });
    if (skb === null) return false;
    const at = skb.put(len);
    this.#allocator.arena.u8.copyWithin(at, off, off + len);
    this.stats.passed++;
    this.#emit(skb, 1);
    return true;
  }
}

/**
 * Offset of the TCP header from the frame start when the frame is TCP over
 * IPv4 with a 20-byte header, complete (the IP length matches the frame,
 * allowing Ethernet padding only on short frames) and not a fragment; else 0.
 */
function tcpSegment(u8: Uint8Array, off: number, len: number): number {
  if (len < ETHERNET_HEADER_LENGTH + IP_HEADER + 20) return 0;
  if (get16(u8, off + 12) !== ETH_P_IP) return 0;
  const ip = off + ETHERNET_HEADER_LENGTH;
  if (u8[ip] !== 0x45 || u8[ip + 9] !== IpProtocol.TCP) return 0;
  if (get16(u8, ip + IP_TOTAL_LENGTH) !== len - ETHERNET_HEADER_LENGTH) return 0;
  if ((get16(u8, ip + IP_FRAG) & IP_MF_OFFSET) !== 0) return 0;
  const thl = (u8[ip + IP_HEADER + TcpField.DATA_OFFSET]! >> 4) * 4;
  if (thl < 20 || ETHERNET_HEADER_LENGTH + IP_HEADER + thl > len) return 0;
  return ETHERNET_HEADER_LENGTH + IP_HEADER;
}

/** The TCP checksum of the segment is right (RFC 9293 §3.1 with the IPv4 pseudo-header). */
function checksumOk(u8: Uint8Array, off: number, len: number, seg: number): boolean {
  const ip = off + ETHERNET_HEADER_LENGTH;
  const tcpLen = len - seg;
  const pseudo = ipv4PseudoSum(
    get32(u8, ip + IP_SRC),
    get32(u8, ip + IP_DST),
    IpProtocol.TCP,
    tcpLen,
  );
  return checksum(u8, off + seg, tcpLen, pseudo) === 0xffff;
}
