/**
 * TCP output: building and transmitting segments (`tcp_transmit_skb`), the
 * send path (`tcp_sendmsg` → `tcp_push` → `tcp_write_xmit`: congestion
 * window, send window, sender SWS avoidance, Nagle), FIN, SYN, ACKs
 * (immediate, delayed, challenge) and RSTs.
 *
 * Write-queue segments hold only payload, with headroom for every header;
 * transmitting pushes the TCP header into a clone's headroom (or into a
 * private copy when an earlier clone of the same buffer may still be in a
 * device queue, Linux's `skb_cloned` → `pskb_copy` rule), so the queue keeps
 * the original for retransmission.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import type { Ipv4SendOptions } from "../ipv4/layer.ts";
import type { SkBuff } from "../skb/skbuff.ts";
import type { Ipv4Address } from "../wire/addr.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { emitTcp, TCP_HEADER_LENGTH, type TcpEmitRepr, TcpFlags } from "../wire/tcp.ts";
import { type TcpOptions, tcpOptionsLength } from "../wire/tcp_options.ts";
import { INITIAL_WINDOW_SEGMENTS } from "./congestion/reno.ts";
import { seqAfter, TcpState } from "./state.ts";
import { MsgFlags, Shutdown, type TcpContext, type TcpSock, TimerKind } from "./sock.ts";
import { selectWindow } from "./recv.ts";
import { armDelack, armRtx, clearDelack, probeDelay } from "./timers.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// Scratch objects reused for every segment: no per-segment allocation of
// option/repr/send-option objects on the hot path.
const opts: Mutable<TcpOptions> = {
  mss: null,
  windowScale: null,
  sackPermitted: false,
  tsVal: null,
  tsEcr: 0,
  sackBlocks: null,
};
const repr: Mutable<TcpEmitRepr> = {
  srcPort: 0,
  dstPort: 0,
  seq: 0,
  ack: 0,
  flags: 0,
  window: 0,
  urgentPointer: 0,
  options: opts,
  payloadLength: 0,
};
const pseudo = { src: 0, dst: 0 };
const sendOpts: Mutable<Ipv4SendOptions> = { protocol: IpProtocol.TCP, src: 0 };

/**
 * How `writeXmit` treats a partial last segment.
 *
 * @example
 * ```ts
 * import { Nagle } from "./output.ts";
 * Nagle.PUSH; // 1: send partial segments now
 * ```
 */
export const Nagle = {
  /** Nagle's algorithm (Minshall variant): hold a small segment while a small one is unacked. */
  NAGLE: 0,
  /** Send partial segments now (TCP_NODELAY, FIN, explicit push). */
  PUSH: 1,
  /** Hold partial segments (TCP_CORK, MSG_MORE). */
  CORK: 2,
} as const;

/**
 * The Nagle mode a socket's own settings ask for.
 *
 * @example
 * ```ts
 * // writeXmit(sk, nagleMode(sk));
 * ```
 */
export function nagleMode(sk: TcpSock): number {
  return sk.cork ? Nagle.CORK : sk.nodelay ? Nagle.PUSH : Nagle.NAGLE;
}

/**
 * Build the TCP header for `skb` (payload at `[data, tail)`; seq, flags in
 * its control block) and send it. With `cloneIt` the queue keeps `skb`;
 * otherwise `skb` is consumed. Returns 0 or `-errno`.
 *
 * @example
 * ```ts
 * // transmitSkb(sk, skb, true); // the write queue keeps skb
 * ```
 */
export function transmitSkb(sk: TcpSock, skb: SkBuff, cloneIt: boolean): number {
  const ctx = sk.ctx;
  let out: SkBuff | null = skb;
  if (cloneIt) {
    out = skb.isShared ? ctx.allocator.copy(skb) : skb.clone();
    if (out === null) return -Errno.ENOBUFS;
  }
  const flags = out.tcpFlags;
  const syn = (flags & TcpFlags.SYN) !== 0;
  const ack = (flags & TcpFlags.ACK) !== 0;
  const cfg = ctx.config;
  // MUST-65 / W1: MSS and window scale only on SYNs; a SYN-ACK echoes only
  // what the SYN offered (sk.*Ok were set from it).
  // The MSS option is MTU − 40 whatever options we use (RFC 6691 §3, Linux
  // tcp_synack_options); advmss already had the timestamp's 12 bytes taken off.
  opts.mss = syn ? sk.advmss + (sk.tsOk ? 12 : 0) : null;
  const activeSyn = syn && !ack;
  opts.windowScale = syn && (activeSyn ? cfg.windowScaling : sk.wscaleOk) ? sk.rcvWscale : null;
  opts.sackPermitted = syn && (activeSyn ? cfg.sack : sk.sackOk);
  // T1: TSopt on the SYN if we offer it, afterwards on every segment once negotiated.
  const ts = activeSyn ? cfg.timestamps : sk.tsOk;
  opts.tsVal = ts ? sk.tsNow() : null;
  // T3: TSecr only with ACK.
  opts.tsEcr = ts && ack && sk.tsRecent >= 0 ? sk.tsRecent : 0;
  opts.sackBlocks = null;
  const payloadLength = out.len;
  const hlen = TCP_HEADER_LENGTH + tcpOptionsLength(opts);
  const at = out.push(hlen);
  out.transportHeader = at;
  repr.srcPort = sk.lport;
  repr.dstPort = sk.rport;
  repr.seq = out.seq;
  repr.ack = ack ? sk.rcvNxt : 0;
  repr.flags = flags;
  // W3: the window in a SYN or SYN-ACK is never scaled.
  repr.window = syn ? Math.min(sk.rcvWnd, 65535) : selectWindow(sk);
  repr.urgentPointer = 0;
  if (sk.sndUp >= 0 && !syn) {
    // RFC 9293 §3.8.5 / RFC 6093, MUST-62: the pointer is the offset from
    // SEG.SEQ of the byte after the urgent data; sent while it lies ahead.
    const off = (sk.sndUp - out.seq) | 0;
    if (off > 0) {
      repr.flags = flags | TcpFlags.URG;
      repr.urgentPointer = off > 0xffff ? 0xffff : off;
    }
  }
  repr.payloadLength = payloadLength;
  pseudo.src = sk.laddr;
  pseudo.dst = sk.raddr;
  emitTcp(repr, ctx.allocator.arena.u8, at, pseudo);
  if (ack) {
    sk.lastAckSent = sk.rcvNxt;
    sk.rcvUnacked = 0;
    if (sk.ackPending) clearDelack(sk);
  }
  ctx.stats.outSegs++;
  if (flags & TcpFlags.RST) ctx.stats.outRsts++;
  sendOpts.src = sk.laddr;
  // MUST-48/49: the connection's TTL and TOS (RSTs for unknown peers use the defaults).
  sendOpts.ttl = sk.ttl > 0 ? sk.ttl : ctx.ipv4.defaultTtl;
  sendOpts.tos = sk.tos;
  return ctx.ipv4.output(out, sk.raddr, sendOpts);
}

/** A control segment (no payload) with `flags` at `seq`, sent at once. */
function sendControl(sk: TcpSock, seq: number, flags: number): void {
  const skb = sk.ctx.allocator.alloc(0);
  if (skb === null) {
    sk.ctx.drops.count("tcp.out_of_memory");
    return;
  }
  skb.seq = skb.endSeq = seq;
  skb.tcpFlags = flags;
  transmitSkb(sk, skb, false);
}

/**
 * Send an ACK now: `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` (`tcp_send_ack`).
 * SEQ is the highest sequence number sent (BSD `snd_max`): after an RTO our
 * SND.NXT retreats for go-back-N, and a pure ACK carrying the retreated
 * number would fall below the peer's RCV.NXT and be dropped as a duplicate.
 *
 * @example
 * ```ts
 * // sendAck(sk); // <SEQ=SND.MAX><ACK=RCV.NXT><CTL=ACK>
 * ```
 */
export function sendAck(sk: TcpSock): void {
  sendControl(sk, sk.sndMax, TcpFlags.ACK);
}

/**
 * Schedule an ACK (`tcp_ack_snd_check`): immediately when `now`, when two
 * full-sized segments are unacknowledged (SHLD-19, RFC 5681 C6), else within
 * the delayed-ACK timeout (< 500 ms, MUST-40).
 *
 * @example
 * ```ts
 * // scheduleAck(sk, false); // delayed unless two full segments are unacked
 * ```
 */
export function scheduleAck(sk: TcpSock, now: boolean): void {
  if (now || sk.rcvUnacked >= 2 * sk.rcvMss) {
    sendAck(sk);
    return;
  }
  armDelack(sk);
}

/**
 * A challenge ACK (RFC 5961 §3.2, §4.2, §5.2), rate-limited per connection
 * (B4: no global counter an off-path attacker could observe, CVE-2016-5696).
 *
 * @example
 * ```ts
 * // sendChallengeAck(sk); // at most challengeAckLimit per second per connection
 * ```
 */
export function sendChallengeAck(sk: TcpSock): void {
  const st = sk.ctx.stats;
  const now = sk.now();
  if (sk.challengeStamp < 0 || now - sk.challengeStamp >= 1000) {
    sk.challengeStamp = now;
    sk.challengeCount = 0;
  }
  if (sk.challengeCount >= sk.ctx.config.challengeAckLimit) {
    st.challengeAcksLimited++;
    return;
  }
  sk.challengeCount++;
  st.challengeAcks++;
  sendAck(sk);
}

/**
 * The duplicate ACK owed to an out-of-window or PAWS-rejected segment
 * (RFC 9293 §3.10.7.4 first, RFC 7323 §5.3), rate-limited per connection
 * like Linux `tcp_oow_rate_limited` (commit f2b2c582e824, sysctl
 * tcp_invalid_ratelimit): a pure ACK (or SYN) gets an answer at most every
 * `invalidRateLimit` ms, so two ends that each find the other's segments
 * unacceptable cannot ping-pong ACKs at wire speed (KI-2). A segment
 * carrying data or FIN is always answered: it is not part of an ACK loop and
 * its sender needs the ACK (a retransmission whose ACK was lost).
 *
 * @example
 * ```ts
 * // sendOowAck(sk, segLen, false); // out-of-window segment of segLen
 * ```
 */
export function sendOowAck(sk: TcpSock, segLen: number, syn: boolean): void {
  const limit = sk.ctx.config.invalidRateLimit;
  if ((segLen === 0 || syn) && limit > 0) {
    const now = sk.now();
    if (sk.lastOowAck >= 0 && now - sk.lastOowAck < limit) {
      sk.ctx.drops.count("tcp.oow_ack_rate_limited");
      return;
    }
    sk.lastOowAck = now;
  }
  sendAck(sk);
}

/**
 * Send `<SEQ=SND.NXT><CTL=RST,ACK>` from a connection (`tcp_send_active_reset`).
 *
 * @example
 * ```ts
 * // sendActiveReset(sk); // <SEQ=SND.MAX><CTL=RST,ACK>
 * ```
 */
export function sendActiveReset(sk: TcpSock): void {
  sendControl(sk, sk.sndMax, TcpFlags.RST | TcpFlags.ACK);
}

/**
 * A keepalive / zero-window probe: an ACK carrying SEG.SEQ = SND.UNA − 1 (`tcp_xmit_probe_skb`).
 *
 * @example
 * ```ts
 * // sendProbe(sk); // keepalive / zero-window probe
 * ```
 */
export function sendProbe(sk: TcpSock): void {
  sendControl(sk, (sk.sndUna - 1) >>> 0, TcpFlags.ACK);
}

/**
 * A RST for a segment no connection wants (RFC 9293 §3.10.7.1), sent from
 * `laddr:lport` to `raddr:rport`: `<SEQ=SEG.ACK><CTL=RST>` if the segment had
 * ACK, else `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`. Never for a RST
 * (the caller checks), never with options.
 *
 * @example
 * ```ts
 * // sendResetFor(ctx, ip.dst, th.dstPort, ip.src, th.srcPort, th.ack, 0, TcpFlags.RST);
 * ```
 */
export function sendResetFor(
  ctx: TcpContext,
  laddr: Ipv4Address,
  lport: number,
  raddr: Ipv4Address,
  rport: number,
  seq: number,
  ackNo: number,
  flags: number,
): void {
  const skb = ctx.allocator.alloc(0);
  if (skb === null) return;
  opts.mss =
    opts.windowScale =
    opts.tsVal =
    opts.sackBlocks =
      null;
  opts.sackPermitted = false;
  opts.tsEcr = 0;
  const at = skb.push(TCP_HEADER_LENGTH);
  repr.srcPort = lport;
  repr.dstPort = rport;
  repr.seq = seq >>> 0;
  repr.ack = ackNo >>> 0;
  repr.flags = flags;
  repr.window = 0;
  repr.urgentPointer = 0;
  repr.payloadLength = 0;
  pseudo.src = laddr;
  pseudo.dst = raddr;
  emitTcp(repr, ctx.allocator.arena.u8, at, pseudo);
  ctx.stats.outSegs++;
  ctx.stats.outRsts++;
  sendOpts.src = laddr;
  sendOpts.ttl = ctx.ipv4.defaultTtl;
  sendOpts.tos = 0;
  ctx.ipv4.output(skb, raddr, sendOpts);
}

/**
 * Split `skb` so its first `len` payload bytes stay and the rest moves to a
 * new segment queued right after it (`tcp_fragment`). FIN and PSH move to the
 * second part. Returns false when the arena is exhausted.
 *
 * @example
 * ```ts
 * // fragment(sk, skb, 500); // skb keeps 500 bytes, the rest follows it
 * ```
 */
export function fragment(sk: TcpSock, skb: SkBuff, len: number): boolean {
  const rest = skb.len - len;
  if (rest <= 0) return true;
  const n = sk.ctx.allocator.alloc(rest);
  if (n === null) return false;
  const u8 = sk.ctx.allocator.arena.u8;
  const at = n.put(rest);
  u8.copyWithin(at, skb.data + len, skb.tail);
  skb.tail -= rest;
  n.seq = (skb.seq + len) >>> 0;
  n.endSeq = skb.endSeq;
  n.tcpFlags = skb.tcpFlags;
  n.when = skb.when;
  n.txCount = skb.txCount;
  skb.tcpFlags &= ~(TcpFlags.FIN | TcpFlags.PSH);
  skb.endSeq = n.seq;
  sk.writeQueue.insertAfter(skb, n);
  return true;
}

/** States in which new data may be transmitted. */
function canSendData(state: number): boolean {
  return state === TcpState.ESTABLISHED || state === TcpState.CLOSE_WAIT ||
    state === TcpState.FIN_WAIT_1 || state === TcpState.CLOSING || state === TcpState.LAST_ACK;
}

/**
 * Send what the windows allow (`tcp_write_xmit`): each segment must fit the
 * congestion window and lie inside the send window; a partial segment obeys
 * `mode` (Nagle / push / cork). Arms the retransmission timer for new data
 * and the persist (zero-window probe) timer when data waits for a window
 * with nothing in flight (MUST-35/36). Returns true if anything was sent.
 *
 * @example
 * ```ts
 * // writeXmit(sk, Nagle.PUSH); // true if something was sent
 * ```
 */
export function writeXmit(sk: TcpSock, mode: number): boolean {
  if (!canSendData(sk.state)) return false;
  const mss = sk.mssCache;
  let sent = false;
  if (
    sk.sendHead !== null && sk.sndNxt === sk.sndUna && sk.lastSend > 0 &&
    sk.now() - sk.lastSend > sk.rto
  ) {
    // RFC 5681 §4.1 (C7): after an idle period longer than the RTO, restart
    // from at most the initial window (Linux tcp_cwnd_restart).
    sk.cwnd = Math.min(sk.cwnd, INITIAL_WINDOW_SEGMENTS * mss);
  }
  // RFC 3042 limited transmit (C9): the first two duplicate ACKs each allow
  // one new segment beyond cwnd.
  const cwnd = sk.cwnd + (!sk.inRecovery && sk.dupAcks > 0 ? Math.min(sk.dupAcks, 2) * mss : 0);
  for (let skb = sk.sendHead; skb !== null; skb = sk.sendHead) {
    const flight = (sk.sndNxt - sk.sndUna) | 0;
    // Congestion window (RFC 5681): a segment may start while flight < cwnd.
    if (flight > 0 && flight + skb.len > cwnd) break;
    const wndEnd = (sk.sndUna + sk.sndWnd) >>> 0;
    if (seqAfter(skb.endSeq, wndEnd)) {
      // MUST-38 sender SWS avoidance (RFC 9293 §3.8.6.2.1): send a piece of
      // a segment only if at least half the largest window the peer ever
      // offered is usable; otherwise wait (persist timer below).
      const usable = (wndEnd - skb.seq) | 0;
      if (usable > 0 && usable < skb.len && usable >= (sk.maxSndWnd >>> 1) && usable >= 1) {
        if (!fragment(sk, skb, usable)) break;
        continue;
      }
      break;
    }
    if (skb.len < mss && (skb.tcpFlags & TcpFlags.FIN) === 0 && skb.next === null) {
      if (mode === Nagle.CORK) break;
      // RFC 9293 §3.7.4 Nagle (SHLD-7), Minshall's variant as in Linux: hold a
      // small segment only while an earlier small segment is unacknowledged.
      if (mode === Nagle.NAGLE && flight > 0 && seqAfter(sk.sndSml, sk.sndUna)) break;
    }
    if (!sendNewSegment(sk, skb)) break;
    sent = true;
  }
  if (
    !sent && sk.sendHead !== null && sk.sndNxt === sk.sndUna && sk.rtxKind === TimerKind.NONE
  ) {
    // Data waits for a window and nothing is in flight: persist timer, first
    // probe after one RTO (SHLD-29).
    armRtx(sk, TimerKind.PROBE, probeDelay(sk));
  }
  return sent;
}

/**
 * Transmit `skb`, the send head, and advance SND.NXT past it (Linux
 * `tcp_transmit_skb` + `tcp_event_new_data_sent`). False when out of memory.
 */
function sendNewSegment(sk: TcpSock, skb: SkBuff): boolean {
  const ctx = sk.ctx;
  const retrans = skb.txCount > 0;
  const err = transmitSkb(sk, skb, true);
  if (err === -Errno.ENOBUFS) return false;
  const now = sk.now();
  if (retrans) ctx.stats.retransSegs++;
  skb.txCount++;
  skb.when = now;
  sk.sndNxt = skb.endSeq;
  if (seqAfter(sk.sndNxt, sk.sndMax)) sk.sndMax = sk.sndNxt;
  if (skb.len < sk.mssCache) sk.sndSml = skb.endSeq;
  // RFC 6298 R7 without timestamps: time one segment per RTT (Karn: never
  // a retransmitted one).
  if (!sk.tsOk && sk.rttSeq < 0 && !retrans) {
    sk.rttSeq = skb.endSeq;
    sk.rttTime = now;
  }
  sk.lastSend = now;
  sk.sendHead = skb.next;
  // R6: start the timer when sending data and it is not running.
  if (sk.rtxKind !== TimerKind.RETRANS) armRtx(sk, TimerKind.RETRANS, sk.rto);
  return true;
}

/**
 * Persist-timer send (`tcp_write_wakeup`): if the peer's window has any room,
 * send as much of the next segment as fits, ignoring Nagle and SWS; false
 * when the window is zero (the caller sends a bare probe).
 *
 * @example
 * ```ts
 * // if (!writeWakeup(sk)) sendProbe(sk);
 * ```
 */
export function writeWakeup(sk: TcpSock): boolean {
  const skb = sk.sendHead;
  if (skb === null || !canSendData(sk.state)) return false;
  const usable = (sk.sndUna + sk.sndWnd - skb.seq) | 0;
  if (usable <= 0) return false;
  if (usable < skb.len && !fragment(sk, skb, usable)) return false;
  return sendNewSegment(sk, skb);
}

/**
 * Queue user bytes (`tcp_sendmsg`): copy once into MSS-sized arena segments,
 * filling the unsent tail segment first, up to the send buffer; mark PSH on
 * the last segment written (MUST-61); push. Returns bytes queued, or
 * `-EAGAIN` when no room, `-EPIPE` after shutdown, the pending error, …
 *
 * @example
 * ```ts
 * // const n = sendmsg(sk, bytes, 0); // same as sk.send(bytes)
 * ```
 */
export function sendmsg(sk: TcpSock, data: Uint8Array, flags: number): number {
  if (sk.skErr !== 0) return -sk.error;
  if (sk.shutdownMask & Shutdown.SEND) return -Errno.EPIPE;
  const s = sk.state;
  if (s !== TcpState.ESTABLISHED && s !== TcpState.CLOSE_WAIT) {
    if (s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED) return -Errno.EAGAIN;
    if ((s === TcpState.CLOSED || s === TcpState.LISTEN) && !sk.done) return -Errno.ENOTCONN;
    return -Errno.EPIPE;
  }
  if (data.length === 0) return 0;
  const ctx = sk.ctx;
  const mss = sk.mssCache;
  let copied = 0;
  let last: SkBuff | null = null;
  while (copied < data.length) {
    let skb = sk.writeQueue.tail;
    let n = 0;
    if (
      skb !== null && sk.sendHead !== null && skb.txCount === 0 &&
      (skb.tcpFlags & (TcpFlags.SYN | TcpFlags.FIN)) === 0 && skb.len < mss && skb.tailroom > 0
    ) {
      n = Math.min(mss - skb.len, skb.tailroom, data.length - copied);
    } else {
      if (sk.sndQueued >= sk.sndbuf) {
        sk.noSpace = true;
        break;
      }
      skb = ctx.allocator.alloc(mss);
      if (skb === null) {
        ctx.drops.count("tcp.out_of_memory");
        sk.noSpace = true;
        break;
      }
      skb.seq = skb.endSeq = sk.writeSeq;
      skb.tcpFlags = TcpFlags.ACK;
      sk.writeQueue.push(skb);
      if (sk.sendHead === null) sk.sendHead = skb;
      n = Math.min(mss, skb.tailroom, data.length - copied);
    }
    const at = skb.put(n);
    ctx.allocator.arena.u8.set(data.subarray(copied, copied + n), at);
    skb.endSeq = (skb.endSeq + n) >>> 0;
    sk.writeSeq = (sk.writeSeq + n) >>> 0;
    copied += n;
    last = skb;
  }
  if (copied === 0) return -Errno.EAGAIN;
  // MUST-30/31: urgent data of any length; the pointer marks its end.
  if (flags & MsgFlags.OOB) sk.sndUp = sk.writeSeq;
  const more = (flags & MsgFlags.MORE) !== 0;
  if (last !== null && !more) last.tcpFlags |= TcpFlags.PSH;
  writeXmit(sk, more ? Nagle.CORK : nagleMode(sk));
  return copied;
}

/**
 * Queue our FIN (`tcp_send_fin`): on the unsent tail segment if there is
 * one, else as a new empty segment; it takes one sequence number and is
 * pushed past Nagle. Returns 0, or `-ENOBUFS` when no buffer could hold
 * the FIN (nothing queued; the caller fails the connection).
 *
 * @example
 * ```ts
 * // if (sendFin(sk) < 0) tcpFail(sk, Errno.ENOBUFS); // after shutdown(SHUT_WR)
 * ```
 */
export function sendFin(sk: TcpSock): number {
  const tail = sk.writeQueue.tail;
  if (
    tail !== null && sk.sendHead !== null && tail.txCount === 0 &&
    (tail.tcpFlags & TcpFlags.SYN) === 0
  ) {
    tail.tcpFlags |= TcpFlags.FIN;
    tail.endSeq = (tail.endSeq + 1) >>> 0;
  } else {
    const skb = sk.ctx.allocator.alloc(0);
    if (skb === null) {
      // No memory for a FIN: the caller aborts rather than let the peer and
      // the user wait forever for a FIN that is never sent.
      sk.ctx.drops.count("tcp.out_of_memory");
      return -Errno.ENOBUFS;
    }
    skb.seq = sk.writeSeq;
    skb.endSeq = (sk.writeSeq + 1) >>> 0;
    skb.tcpFlags = TcpFlags.ACK | TcpFlags.FIN;
    sk.writeQueue.push(skb);
    if (sk.sendHead === null) sk.sendHead = skb;
  }
  sk.writeSeq = (sk.writeSeq + 1) >>> 0;
  writeXmit(sk, Nagle.PUSH);
  return 0;
}

/**
 * Queue and send our SYN (or SYN-ACK when `ack`) at ISS (`tcp_connect`,
 * `tcp_send_synack`); the segment stays on the write queue for
 * retransmission.
 *
 * @example
 * ```ts
 * // sendSyn(sk, false); // SYN; sendSyn(child, true) for a SYN-ACK
 * ```
 */
export function sendSyn(sk: TcpSock, ack: boolean): number {
  const skb = sk.ctx.allocator.alloc(0);
  if (skb === null) return -Errno.ENOBUFS;
  skb.seq = sk.iss;
  skb.endSeq = (sk.iss + 1) >>> 0;
  skb.tcpFlags = TcpFlags.SYN | (ack ? TcpFlags.ACK : 0);
  sk.writeQueue.push(skb);
  sk.sndUna = sk.iss;
  sk.sndNxt = sk.sndMax = sk.writeSeq = skb.endSeq;
  const now = sk.now();
  skb.when = now;
  skb.txCount = 1;
  sk.retransStamp = now;
  transmitSkb(sk, skb, true);
  armRtx(sk, TimerKind.RETRANS, sk.rto);
  return 0;
}

/**
 * Retransmit the first unacknowledged segment (fast retransmit, partial ACK, RTO of a SYN).
 *
 * @example
 * ```ts
 * // retransmitHead(sk); // fast retransmit / NewReno partial ACK
 * ```
 */
export function retransmitHead(sk: TcpSock): void {
  const skb = sk.writeQueue.head;
  if (skb === null || skb === sk.sendHead) return;
  // The head may extend past what the window now allows; send at most one MSS.
  if (skb.len > sk.mssCache && !fragment(sk, skb, sk.mssCache)) return;
  if (transmitSkb(sk, skb, true) === -Errno.ENOBUFS) return;
  skb.txCount++;
  skb.when = sk.now();
  sk.ctx.stats.retransSegs++;
}
