/**
 * Path MTU discovery for TCP.
 *
 * - **RFC 1191** (Linux `tcp_v4_mtu_reduced`): segments go out with DF (the
 *   socket's IP_MTU_DISCOVER, WANT by default); an ICMP "fragmentation
 *   needed" quoting a segment in flight (RFC 5927 §4.1, checked by the
 *   caller) lowers the path MTU, never raises it, and the segments in flight
 *   that no longer fit are resent at the new size at once (no congestion
 *   response: the units changed, not the load). A reported MTU below the
 *   floor (`pmtuMin`, 552 by default) — a forged "tiny MTU" (attack class §8
 *   row 14) — stops at the floor, and DF is cleared (WANT), so segments are
 *   never cut smaller than that by an attacker. A learnt MTU is forgotten
 *   after `pmtuExpires` (RFC 1191 §6.3). Without a next-hop MTU in the
 *   message, the RFC 1191 §7 plateau below the quoted datagram is used.
 * - **RFC 4821** packetization-layer probing (Linux `tcp_mtu_probing`,
 *   `tcp_mtu_probe`): where ICMP never comes (a black hole), repeated
 *   timeouts switch it on; segments shrink to what is known to work
 *   (`baseMss`, halved again on further timeouts) and probes — one segment
 *   of a size halfway between what works and what does not, sent with DF —
 *   search upwards: an acknowledged probe raises the floor, a lost one
 *   lowers the ceiling, until they are within 8 bytes.
 *
 * @module
 */
import type { SkBuff } from "../skb/skbuff.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { SEND_ALLOC } from "./buffers.ts";
import { CaState } from "./congestion/cc.ts";
import { routeMtu } from "./family.ts";
import { mtuToMss, pathMtu, pathMtuState, syncMss } from "./options.ts";
import { seqAdd, seqAfter } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/**
 * IP_MTU_DISCOVER modes (Linux `IP_PMTUDISC_*`).
 *
 * @example
 * ```ts
 * import { PmtuDisc } from "./pmtu.ts";
 * PmtuDisc.WANT; // 1: DF set, fragment when the MTU is locked
 * ```
 */
export const PmtuDisc = {
  /** Never set DF. */
  DONT: 0,
  /** Set DF unless the path MTU hit the floor (the default). */
  WANT: 1,
  /** Always set DF. */
  DO: 2,
  /** Set DF, ignore ICMP's MTU (probing only). */
  PROBE: 3,
} as const;

/**
 * RFC 1191 §7: MTU plateaus, for messages without a next-hop MTU.
 *
 * @example
 * ```ts
 * import { MTU_PLATEAUS } from "./pmtu.ts";
 * MTU_PLATEAUS.find((p) => p < 1500); // 1492
 * ```
 */
export const MTU_PLATEAUS: readonly number[] = [
  65535,
  32000,
  17914,
  8166,
  4352,
  2002,
  1492,
  1006,
  508,
  296,
  68,
];

/** RFC 4821 §7.2: stop searching once high − low is below this (Linux tcp_probe_threshold 8). */
const PROBE_THRESHOLD = 8;
/** Timeouts in a row that suggest a black hole (Linux tcp_retries1). */
export const BLACK_HOLE_RETRIES = 3;

/**
 * Whether this connection's segments carry DF (Linux `ip_dont_fragment`).
 *
 * @example
 * ```ts
 * // send.dontFragment = pmtuDontFragment(tcb);
 * ```
 */
export function pmtuDontFragment(sk: Tcb): boolean {
  const m = sk.opt.pmtudisc;
  return m === PmtuDisc.DO || m === PmtuDisc.PROBE ||
    (m === PmtuDisc.WANT && !(sk.snd.mtu?.pmtuLocked ?? false));
}

/**
 * The path MTU now in use (`IP_MTU`).
 *
 * @example
 * ```ts
 * // pmtuCurrent(tcb); // 1500, or less after an ICMP
 * ```
 */
export function pmtuCurrent(sk: Tcb): number {
  return pathMtu(sk);
}

/**
 * Forget a learnt path MTU that is too old (RFC 1191 §6.3: try larger again,
 * here by going back to the route's after `pmtuExpires`).
 *
 * @example
 * ```ts
 * // pmtuExpire(tcb); // before sending
 * ```
 */
export function pmtuExpire(sk: Tcb): void {
  const m = sk.snd.mtu;
  if (m === null || m.pmtu === 0 || sk.now() - m.pmtuStamp < sk.ctx.config.pmtuExpires) return;
  m.pmtu = 0;
  m.pmtuLocked = false;
  syncMss(sk);
}

/**
 * A retransmission timeout (RFC 4821 §6.1, Linux `tcp_mtu_probing`): after
 * {@link BLACK_HOLE_RETRIES} in a row, a black hole is suspected: probing
 * starts (segments shrink to what is known to work), or — already on —
 * what is known to work halves (not below `minMss` / 64 payload bytes).
 *
 * @example
 * ```ts
 * // if (snd.retransmits >= BLACK_HOLE_RETRIES) mtupBlackHole(tcb);
 * ```
 */
export function mtupBlackHole(sk: Tcb): void {
  const cfg = sk.ctx.config;
  if (cfg.mtuProbing === 0) return;
  const m = pathMtuState(sk);
  if (!m.mtupEnabled) {
    m.mtupEnabled = true;
    m.mtupStamp = sk.now();
  } else {
    const headers = m.mtupLow - mtuToMss(sk, m.mtupLow);
    let mss = Math.min(cfg.baseMss, mtuToMss(sk, m.mtupLow) >> 1);
    mss = Math.max(mss, cfg.minMss, 64);
    m.mtupLow = mss + headers;
  }
  m.mtupProbe = 0;
  sk.ctx.stats.mtuBlackHoles++;
  syncMss(sk);
}

/**
 * Before sending new data (Linux `tcp_mtu_probe`): when probing is on and
 * nothing else is going on, merge the next unsent data into one probe
 * segment of the MTU halfway between what works and what does not, and
 * mark it; `output.ts` sends it whole (DF, no segmentation). Returns the
 * probe's payload size to send, or 0.
 *
 * @example
 * ```ts
 * // const n = mtupPrepareProbe(tcb);
 * ```
 */
export function mtupPrepareProbe(sk: Tcb): number {
  const snd = sk.snd;
  const cong = sk.cong;
  const m = snd.mtu;
  if (m === null || !m.mtupEnabled || m.mtupProbe !== 0 || cong.state !== CaState.OPEN) return 0;
  if (sk.rcv.numSacks !== 0 || sk.rcv.dsack) return 0; // room for SACK blocks: later
  const cfg = sk.ctx.config;
  const now = sk.now();
  let high = m.mtupHigh;
  if (high - m.mtupLow < PROBE_THRESHOLD) {
    // The search converged; search again (from the route MTU) later.
    if (now - m.mtupStamp < cfg.mtuProbeInterval) return 0;
    high = m.mtupHigh = routeMtu(sk);
    m.mtupStamp = now;
    if (high - m.mtupLow < PROBE_THRESHOLD) return 0;
  }
  const mss = snd.mss;
  const probeMtu = (high + m.mtupLow) >> 1;
  const size = mtuToMss(sk, probeMtu);
  // Enough cwnd and data queued (Linux: the probe plus reordering+1 segments).
  if (size <= mss || cong.cwnd < 11 * mss || cong.cwnd - snd.pipe < 2 * size) return 0;
  if (seqAfter(seqAdd(snd.nxt, size), seqAdd(snd.una, snd.wnd))) return 0;
  let queued = 0;
  for (let skb = snd.head; skb !== null && queued < size + 4 * mss; skb = skb.next) {
    if (skb.tcpFlags & (TcpFlags.FIN | TcpFlags.SYN)) return 0;
    queued += skb.len;
  }
  if (queued < size + 4 * mss) return 0;
  if (!mergeProbe(sk, size)) return 0;
  m.mtupProbe = probeMtu;
  m.mtupProbeEnd = seqAdd(snd.head!.seq, size);
  sk.ctx.stats.mtuProbes++;
  return size;
}

/** Merge the first `size` unsent bytes into one buffer at the send head. False when no buffer fits. */
function mergeProbe(sk: Tcb, size: number): boolean {
  const snd = sk.snd;
  const head = snd.head!;
  if (head.len >= size) return head.len === size || splitOff(sk, head, size);
  const alloc = sk.ctx.allocator;
  const probe = alloc.alloc(size, SEND_ALLOC); // write-queue data: socket memory
  if (probe === null) return false;
  const u8 = alloc.arena.u8;
  const at = probe.put(size);
  const before = head.prev; // the last segment sent, or null
  probe.seq = head.seq;
  probe.endSeq = seqAdd(head.seq, size);
  probe.tcpFlags = TcpFlags.ACK;
  let copied = 0;
  for (let skb: SkBuff | null = head; skb !== null && copied < size;) {
    const n = Math.min(skb.len, size - copied);
    u8.copyWithin(at + copied, skb.data, skb.data + n);
    copied += n;
    const next: SkBuff | null = skb.next;
    if (n === skb.len) {
      probe.tcpFlags |= skb.tcpFlags & TcpFlags.PSH;
      snd.queue.unlink(skb);
      skb.free();
    } else {
      skb.data += n;
      skb.seq = seqAdd(skb.seq, n);
    }
    skb = next;
  }
  if (before === null) snd.queue.unshift(probe);
  else snd.queue.insertAfter(before, probe);
  snd.head = probe;
  return true;
}

/** Keep the first `size` bytes of `skb` in it, the rest in a new buffer after it. */
function splitOff(sk: Tcb, skb: SkBuff, size: number): boolean {
  const rest = skb.len - size;
  const n = sk.ctx.allocator.alloc(rest, SEND_ALLOC);
  if (n === null) return false;
  const u8 = sk.ctx.allocator.arena.u8;
  const at = n.put(rest);
  u8.copyWithin(at, skb.data + size, skb.tail);
  skb.tail -= rest;
  n.seq = seqAdd(skb.seq, size);
  n.endSeq = skb.endSeq;
  n.tcpFlags = skb.tcpFlags;
  skb.tcpFlags &= ~TcpFlags.PSH;
  skb.endSeq = n.seq;
  sk.snd.queue.insertAfter(skb, n);
  return true;
}

/**
 * The probe was acknowledged (RFC 4821 §7.5): that MTU works — raise the
 * floor and the MSS with it.
 *
 * @example
 * ```ts
 * // if (isMtuProbe(tcb, skb.endSeq)) mtupProbeAcked(tcb);
 * ```
 */
export function mtupProbeAcked(sk: Tcb): void {
  const m = sk.snd.mtu!;
  m.mtupLow = m.mtupProbe;
  m.mtupProbe = 0;
  sk.ctx.stats.mtuProbesAcked++;
  syncMss(sk);
}

/**
 * The probe was lost (RFC 4821 §7.6): that MTU does not work — lower the
 * ceiling. Its data is resent at the current MSS like any lost segment; the
 * loss of a probe is no congestion signal.
 *
 * @example
 * ```ts
 * // mtupProbeLost(tcb);
 * ```
 */
export function mtupProbeLost(sk: Tcb): void {
  const m = sk.snd.mtu!;
  m.mtupHigh = m.mtupProbe - 1;
  m.mtupProbe = 0;
}

/**
 * Is `skb` the PLPMTUD probe in flight (sent whole: no segmentation)?
 *
 * @example
 * ```ts
 * // if (isMtuProbe(tcb, skb.endSeq)) out.gsoSize = 0;
 * ```
 */
export function isMtuProbe(sk: Tcb, endSeq: number): boolean {
  const m = sk.snd.mtu;
  return m !== null && m.mtupProbe !== 0 && endSeq === m.mtupProbeEnd;
}
