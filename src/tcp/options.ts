/**
 * Per-connection setup and option negotiation: what a connection starts
 * with (`tcp_connect_init`), the SYN options it accepts (`tcp_parse_options`
 * on a SYN / SYN-ACK: MSS, window scale, timestamps, SACK-permitted), and
 * the effective send MSS (`tcp_sync_mss`, MUST-16).
 *
 * @module
 */
import { DeviceFeature } from "../link/device.ts";
import { MAX_HEADER } from "../skb/arena.ts";
import { gsoMaxPayload, routeDevice, routeMtu, tcpIpHeaders } from "./family.ts";
import {
  clampWindowScale,
  effectiveMss,
  TCP_DEFAULT_MSS,
  type TcpOptions,
} from "../wire/tcp_options.ts";
import { rcvFullWindow, smallDataSlot } from "./buffers.ts";
import { PathMtuState, type Tcb } from "./tcb.ts";

/** Bytes the timestamp option takes in every segment once negotiated (10, padded to 12). */
export const TCPOLEN_TSTAMP_ALIGNED = 12;
/** Fewest payload bytes we ever put in a segment (§8 rows 7/11). */
const MIN_SEGMENT_PAYLOAD = 64;

/**
 * The path MTU towards the peer: the route's MTU (576 without a route,
 * RFC 1122 EMTU_R; over IPv6 the IP layer's RFC 8201 estimate from Packet
 * Too Big, at least 1280, `family.ts`), lowered by what ICMP taught this
 * connection over IPv4 (RFC 1191) and, while RFC 4821 probing is on, to
 * the largest MTU known to work.
 *
 * @example
 * ```ts
 * // pathMtu(tcb); // 1500 on an Ethernet route
 * ```
 */
export function pathMtu(sk: Tcb): number {
  let mtu = routeMtu(sk);
  const m = sk.snd.mtu;
  if (m === null) return mtu;
  // RFC 1191: what ICMP taught us (IP_PMTUDISC_PROBE ignores it).
  if (m.pmtu !== 0 && m.pmtu < mtu && sk.opt.pmtudisc !== 3) mtu = m.pmtu;
  // RFC 4821: while probing, segments are sized to what is known to work.
  if (m.mtupEnabled && m.mtupLow < mtu) mtu = m.mtupLow;
  return mtu;
}

/**
 * Payload bytes of a segment filling `mtu` (network and TCP headers and
 * the timestamp option off: 40 or 60 bytes, `family.ts`).
 *
 * @example
 * ```ts
 * // mtuToMss(tcb, 1500); // 1448 with timestamps over IPv4
 * ```
 */
export function mtuToMss(sk: Tcb, mtu: number): number {
  return mtu - tcpIpHeaders(sk) - (sk.tsOk ? TCPOLEN_TSTAMP_ALIGNED : 0);
}

/**
 * Path MTU discovery's record for `sk`, made on first use with RFC 4821's
 * search bounds (Linux `tcp_mtup_init`): from `baseMss` up to the route MTU.
 *
 * @example
 * ```ts
 * // pathMtuState(tcb).pmtu = 1280;
 * ```
 */
export function pathMtuState(sk: Tcb): PathMtuState {
  let m = sk.snd.mtu;
  if (m !== null) return m;
  m = sk.snd.mtu = new PathMtuState();
  m.mtupHigh = routeMtu(sk);
  m.mtupLow = Math.min(
    m.mtupHigh,
    sk.ctx.config.baseMss + tcpIpHeaders(sk) + (sk.tsOk ? TCPOLEN_TSTAMP_ALIGNED : 0),
  );
  m.mtupStamp = sk.now();
  return m;
}

/**
 * At connection setup: with `mtuProbing` 2, packetization-layer probing
 * (RFC 4821) is on from the start.
 *
 * @example
 * ```ts
 * // mtupInit(tcb); // when the connection is established
 * ```
 */
export function mtupInit(sk: Tcb): void {
  if (sk.ctx.config.mtuProbing === 2) pathMtuState(sk).mtupEnabled = true;
}

/** Segments that must fit one small data slot before they share it (below: one segment per buffer). */
const COALESCE_MIN_SEGMENTS = 4;

/**
 * The size goal for `mss` (Linux `tcp_xmit_size_goal`): as many whole
 * segments as fit in one super-segment when the route's device takes TSO;
 * elsewhere one segment — unless the MSS is so small that four or more fit
 * the smallest arena slot: then the write queue builds buffers of as many
 * as fit (cut into segments by software GSO on the way out), so a tiny
 * MSS (TCP_MAXSEG 88) costs slots by the byte, not by the segment.
 *
 * @example
 * ```ts
 * // tcb.snd.sizeGoal = sizeGoal(tcb, 1448); // 65160 on a TSO pipe, 1448 elsewhere
 * // sizeGoal(tcb, 76); // 1824 on a TAP: 24 segments share a 2 KiB slot
 * ```
 */
export function sizeGoal(sk: Tcb, mss: number): number {
  const dev = routeDevice(sk);
  if (dev === null || (dev.features & DeviceFeature.TSO) === 0) {
    const fit = Math.floor((smallDataSlot(sk.ctx.allocator.arena) - MAX_HEADER) / mss);
    return fit >= COALESCE_MIN_SEGMENTS ? fit * mss : mss;
  }
  return Math.max(mss, Math.floor(gsoMaxPayload(sk) / mss) * mss);
}

/**
 * Effective send MSS (MUST-16): min(peer MSS, path MTU − 40, TCP_MAXSEG,
 * our largest buffer) minus the timestamp option when in use.
 *
 * @example
 * ```ts
 * // syncMss(tcb); tcb.snd.mss; // e.g. 1448 with timestamps on a 1500-byte path
 * ```
 */
export function syncMss(sk: Tcb): void {
  const snd = sk.snd;
  let mss = Math.min(snd.mssClamp, pathMtu(sk) - tcpIpHeaders(sk), sk.ctx.config.maxSegment);
  if (sk.opt.userMss > 0) mss = Math.min(mss, sk.opt.userMss);
  if (sk.tsOk) mss -= TCPOLEN_TSTAMP_ALIGNED;
  // §8 rows 7/11: never fewer than 64 payload bytes per segment (the peer's
  // MSS was already floored at config.minMss).
  snd.mss = Math.max(mss, MIN_SEGMENT_PAYLOAD);
  snd.sizeGoal = sizeGoal(sk, snd.mss);
}

/**
 * Take the SYN options (`tcp_parse_options` on a SYN / SYN-ACK): MSS (536
 * when absent, MUST-15, floored at `minMss`), window scale only if both
 * sides sent it (W1, clamped to 14, W2), timestamps (T1), SACK-permitted.
 *
 * @example
 * ```ts
 * // applySynOptions(tcb, th.options); tcb.wscaleOk, tcb.tsOk, tcb.sackOk
 * ```
 */
export function applySynOptions(sk: Tcb, o: TcpOptions): void {
  const cfg = sk.ctx.config;
  const snd = sk.snd;
  const rcv = sk.rcv;
  snd.mssClamp = Math.max(effectiveMss(o.mss), cfg.minMss);
  const userMss = sk.opt.userMss;
  if (userMss > 0) snd.mssClamp = Math.min(snd.mssClamp, Math.max(userMss, cfg.minMss));
  if (o.windowScale !== null && cfg.windowScaling) {
    if (o.windowScale > 14) sk.ctx.drops.count("tcp.wscale_clamped");
    snd.wscale = clampWindowScale(o.windowScale);
    sk.wscaleOk = true;
  } else {
    snd.wscale = 0;
    rcv.wscale = 0;
    sk.wscaleOk = false;
  }
  if (o.tsVal !== null && cfg.timestamps) {
    sk.tsOk = true;
    sk.tsRecent = o.tsVal;
    sk.tsRecentStamp = sk.stampNow();
    // Linux: advmss drops by the 12 bytes of the timestamp option.
    rcv.advmss -= TCPOLEN_TSTAMP_ALIGNED;
  } else {
    sk.tsOk = false;
  }
  sk.sackOk = o.sackPermitted && cfg.sack;
  rcv.mss = Math.min(rcv.advmss, snd.mssClamp);
  mtupInit(sk);
  syncMss(sk);
}

/**
 * Window scale to offer so a window of `rcvbuf` bytes fits (RFC 7323 §2.3);
 * with auto-tuning, the largest buffer it may grow to (Linux sizes it for
 * `tcp_rmem[2]`).
 *
 * @example
 * ```ts
 * import { chooseRcvWscale } from "./options.ts";
 * chooseRcvWscale(262144); // 3
 * chooseRcvWscale(65535); // 0
 * ```
 */
export function chooseRcvWscale(rcvbuf: number): number {
  let s = 0;
  while (s < 14 && 65535 * 2 ** s < rcvbuf) s++;
  return s;
}

/**
 * Per-connection setup before the SYN or SYN-ACK (`tcp_connect_init`).
 *
 * @example
 * ```ts
 * // connectInit(tcb, route.mtu); // advmss = mtu − 40, initial window and RTO
 * ```
 */
export function connectInit(sk: Tcb, mtu: number): void {
  const cfg = sk.ctx.config;
  const rcv = sk.rcv;
  // MUST-67 / Linux: advertise MTU − 40 (≤ MMS_R − 20), capped by TCP_MAXSEG;
  // over IPv6 MTU − 60 (RFC 8200 §8.3).
  rcv.advmss = Math.max(MIN_SEGMENT_PAYLOAD, Math.min(mtu - tcpIpHeaders(sk), 65495));
  if (sk.opt.userMss > 0) rcv.advmss = Math.min(rcv.advmss, sk.opt.userMss);
  const maxBuf = cfg.moderateRcvbuf && !rcv.bufLocked ? Math.max(rcv.buf, cfg.rmemMax) : rcv.buf;
  rcv.wscale = cfg.windowScaling ? chooseRcvWscale(maxBuf) : 0;
  // The SYN carries an unscaled window (W3): that is what the peer believes;
  // the buffer is counted in slots, so the window is what it holds (`buffers.ts`).
  rcv.wnd = Math.min(rcvFullWindow(sk), 65535);
  rcv.mss = Math.min(rcv.advmss, TCP_DEFAULT_MSS);
  sk.rtt.rto = cfg.rtoInitial;
  sk.rtt.srtt = sk.rtt.rttvar = 0;
  sk.skErr = 0;
  sk.shutdownMask = 0;
  rcv.lastRcv = sk.stampNow();
}
