/**
 * TCP output: building and transmitting segments (`tcp_transmit_skb`), the
 * transmit loop (`tcp_write_xmit`: congestion window, send window, sender
 * SWS avoidance, Nagle), SYN, retransmission of the head, ACKs (immediate,
 * delayed, challenge, rate-limited) and RSTs. Queueing user data and the FIN
 * (`tcp_sendmsg`, `tcp_send_fin`) lives in `send.ts`.
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
import { SACKED, type SkBuff } from "../skb/skbuff.ts";
import type { EmitOptions } from "../wire/bytes.ts";
import { emitTcp, TCP_HEADER_LENGTH, TcpFlags, type TcpRepr } from "../wire/tcp.ts";
import { tcpOptionsLength } from "../wire/tcp_options.ts";
import { FRAGMENT_SLACK, SEND_ALLOC, smallDataSlot } from "./buffers.ts";
import { CaState, INITIAL_WINDOW_SEGMENTS, lossState } from "./congestion/cc.ts";
import { TimerKind } from "./config.ts";
import { reply6, type SegmentEnds, transmit6 } from "./family.ts";
import { TCPOLEN_TSTAMP_ALIGNED } from "./options.ts";
import { sackOption } from "./sack.ts";
import { seqAdd, seqAfter, seqBefore, seqDiff, TcpState } from "./state.ts";
import { cachedRoute } from "./dst.ts";
import {
  type AckBatch,
  RateLimits,
  scoreboardOf,
  SendRate,
  type Tcb,
  TcbEcn,
  type TcpContext,
} from "./tcb.ts";
import { armDelack, armRtx, clearDelack, probeDelay } from "./timers.ts";
import { scheduleLossProbe } from "./xmit_timer.ts";
import { isMtuProbe, mtupPrepareProbe, pmtuDontFragment, pmtuExpire } from "./pmtu.ts";
import { selectWindow } from "./window.ts";

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
 * // writeXmit(tcb, nagleMode(tcb));
 * ```
 */
export function nagleMode(sk: Tcb): number {
  return sk.opt.cork ? Nagle.CORK : sk.opt.nodelay ? Nagle.PUSH : Nagle.NAGLE;
}

/**
 * Build the TCP header for `skb` (payload at `[data, tail)`; seq, flags in
 * its control block) and send it. With `cloneIt` the queue keeps `skb`;
 * otherwise `skb` is consumed. Returns 0 or `-errno`.
 *
 * @example
 * ```ts
 * // transmitSkb(tcb, skb, true); // the write queue keeps skb
 * ```
 */
export function transmitSkb(sk: Tcb, skb: SkBuff, cloneIt: boolean): number {
  const ctx = sk.ctx;
  let out: SkBuff | null = skb;
  if (cloneIt) {
    out = skb.isShared ? ctx.allocator.copy(skb) : skb.clone();
    if (out === null) return -Errno.ENOBUFS;
  }
  const { opts, repr, pseudo, send } = ctx.scratch;
  const rcv = sk.rcv;
  let flags = out.tcpFlags;
  const syn = (flags & TcpFlags.SYN) !== 0;
  const ack = (flags & TcpFlags.ACK) !== 0;
  const cfg = ctx.config;
  // MUST-65 / W1: MSS and window scale only on SYNs; a SYN-ACK echoes only
  // what the SYN offered (tcb.*Ok were set from it).
  // The MSS option is MTU − 40 whatever options we use (RFC 6691 §3, Linux
  // tcp_synack_options); advmss already had the timestamp's 12 bytes taken off.
  opts.mss = syn ? rcv.advmss + (sk.tsOk ? TCPOLEN_TSTAMP_ALIGNED : 0) : null;
  const activeSyn = syn && !ack;
  opts.windowScale = syn && (activeSyn ? cfg.windowScaling : sk.wscaleOk) ? rcv.wscale : null;
  opts.sackPermitted = syn && (activeSyn ? cfg.sack : sk.sackOk);
  // T1: TSopt on the SYN if we offer it, afterwards on every segment once negotiated.
  const ts = activeSyn ? cfg.timestamps : sk.tsOk;
  opts.tsVal = ts ? sk.tsNow() : null;
  // T3: TSecr only with ACK.
  opts.tsEcr = ts && ack && sk.tsRecent >= 0 ? sk.tsRecent : 0;
  const payloadLength = out.len;
  // RFC 2018 §4: SACK blocks (D-SACK first, RFC 2883) on every ACK once
  // SACK is negotiated; 4 fit alone, 3 beside timestamps (S2). A data
  // segment carries only the blocks that fit beside its payload within the
  // MSS; what does not fit goes in a pure ACK at the end of the drain.
  let sackShort = false;
  opts.sackBlocks = null;
  if (!syn && ack && sk.sackOk) {
    const want = (rcv.dsack ? 1 : 0) + rcv.numSacks;
    if (want > 0) {
      let room = ts ? 3 : 4;
      if (payloadLength > 0) {
        const piece = payloadLength > sk.snd.mss ? sk.snd.mss : payloadLength;
        const slack = sk.snd.mss - piece - 4; // NOP NOP kind length
        room = slack < 8 ? 0 : Math.min(room, slack >>> 3);
      }
      sackShort = room < want && room < (ts ? 3 : 4);
      if (room > 0) opts.sackBlocks = sackOption(rcv, ctx.scratch.sackArrays, room);
    }
  }
  // Longer than one segment: a TSO super-segment, cut into `mss` pieces by
  // the device or by software GSO on the way out.
  // (A PLPMTUD probe goes whole: it tests the path with one datagram.)
  out.gsoSize = payloadLength > sk.snd.mss && !isMtuProbe(sk, out.endSeq) ? sk.snd.mss : 0;
  const hlen = TCP_HEADER_LENGTH + tcpOptionsLength(opts);
  const at = out.push(hlen);
  out.transportHeader = at;
  // RFC 3168 §6.1: new data goes out ECT(0) (never retransmissions, pure
  // ACKs, probes, SYNs: §6.1.4/§6.1.5); ACKs carry ECE while a CE mark waits
  // for the sender's CWR; the first new segment after a reduction carries CWR.
  let tos = sk.opt.tos;
  if (sk.ecnOk && !syn) {
    if (ack && (sk.ecn & TcbEcn.CE) !== 0) flags |= TcpFlags.ECE;
    if (payloadLength > 0 && out.txCount === 0) {
      tos |= ECN_ECT0;
      if ((sk.ecn & TcbEcn.CWR) !== 0) {
        flags |= TcpFlags.CWR;
        sk.ecn &= ~TcbEcn.CWR;
      }
    }
  }
  repr.srcPort = sk.lport;
  repr.dstPort = sk.rport;
  repr.seq = out.seq;
  repr.ack = ack ? rcv.nxt : 0;
  repr.flags = flags;
  // W3: the window in a SYN or SYN-ACK is never scaled.
  repr.window = syn ? Math.min(rcv.wnd, 65535) : selectWindow(sk);
  repr.urgentPointer = 0;
  const up = sk.snd.up;
  if (up >= 0 && !syn) {
    // RFC 9293 §3.8.5 / RFC 6093, MUST-62: the pointer is the offset from
    // SEG.SEQ of the byte after the urgent data; sent while it lies ahead.
    const off = seqDiff(up, out.seq);
    if (off > 0) {
      repr.flags = flags | TcpFlags.URG;
      repr.urgentPointer = off > 0xffff ? 0xffff : off;
    }
  }
  repr.payloadLength = payloadLength;
  pseudo.src = sk.laddr;
  pseudo.dst = sk.raddr;
  // IPv6 (`family.ts`): the layer fills the checksum over its pseudo-header.
  const v6 = sk.addr6 !== null;
  emitTcp(repr, ctx.allocator.arena.u8, at, pseudo, v6 ? CHECKSUM_BY_IP : undefined);
  if (opts.sackBlocks !== null) rcv.sack!.dsack = false; // a D-SACK block is reported once
  if (ack) {
    rcv.lastAckSent = rcv.nxt;
    rcv.unacked = 0;
    if (rcv.ackPending) {
      // Linux tcp_event_ack_sent → tcp_dec_quickack_mode: an owed ACK went out.
      if (rcv.quick > 0) rcv.quick--;
      clearDelack(sk);
    }
    if (sackShort) queueAck(sk);
  }
  ctx.stats.outSegs++;
  if (flags & TcpFlags.RST) ctx.stats.outRsts++;
  const snd = sk.snd;
  snd.segsOut++;
  if (payloadLength > 0) {
    snd.dataSegsOut++;
    snd.bytesSent += payloadLength;
  }
  // RFC 3168 §5 over IPv6: the ECN field is the traffic class's low 2 bits.
  if (v6) return transmit6(sk, out, tos);
  send.src = sk.laddr;
  // MUST-48/49: the connection's TTL and TOS (RSTs for unknown peers use the defaults).
  send.ttl = sk.opt.ttl > 0 ? sk.opt.ttl : ctx.ipv4.defaultTtl;
  send.tos = tos;
  // RFC 1191: DF unless IP_PMTUDISC_DONT (or a floored MTU under WANT).
  send.dontFragment = pmtuDontFragment(sk);
  send.route = cachedRoute(sk) ?? undefined;
  const r = ctx.ipv4.output(out, sk.raddr, send);
  send.route = undefined;
  send.dontFragment = false;
  return r;
}

/** ECT(0) in the IP header's ECN field (RFC 3168 §5). */
const ECN_ECT0 = 2;

/**
 * The connection's ECN mode (RFC 3168; `TcpConfig.ecn`): the socket's
 * TCP_ECN when set, else the stack's — 0 off, 1 ask and accept, 2 accept.
 *
 * @example
 * ```ts
 * // if (ecnMode(tcb) === 1) synFlags |= TcpFlags.ECE | TcpFlags.CWR;
 * ```
 */
export function ecnMode(sk: Tcb): number {
  return sk.opt.ecn >= 0 ? sk.opt.ecn : sk.ctx.config.ecn;
}

/** A control segment (no payload) with `flags` at `seq`, sent at once. */
function sendControl(sk: Tcb, seq: number, flags: number): void {
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
 * // sendAck(tcb); // <SEQ=SND.MAX><ACK=RCV.NXT><CTL=ACK>
 * ```
 */
export function sendAck(sk: Tcb): void {
  sendControl(sk, sk.snd.max, TcpFlags.ACK);
}

/** Most quick ACKs granted at once (Linux `TCP_MAX_QUICKACKS`). */
const MAX_QUICKACKS = 16;

/**
 * Grant quick ACKs (Linux `tcp_incr_quickack`): enough to ACK every segment
 * of half the receive window at once, at least 2, at most `max`.
 *
 * @example
 * ```ts
 * // incrQuickAck(tcb, 16); // at the start of a connection, after idle, on CE
 * ```
 */
export function incrQuickAck(sk: Tcb, max: number = MAX_QUICKACKS): void {
  const rcv = sk.rcv;
  let n = Math.floor(rcv.wnd / (2 * rcv.mss));
  if (n === 0) n = 2;
  if (n > max) n = max;
  if (n > rcv.quick) rcv.quick = n;
}

/**
 * In-order data arrived (Linux `tcp_event_data_recv`): the first data of a
 * connection, or data after an idle gap longer than the RTO, starts quick-ACK
 * mode (the sender is in slow start and waits for every ACK); otherwise
 * ACKs may be delayed.
 *
 * @example
 * ```ts
 * // dataReceived(tcb); scheduleAck(tcb, false);
 * ```
 */
export function dataReceived(sk: Tcb): void {
  const rcv = sk.rcv;
  const now = sk.now();
  if (rcv.ato === 0) {
    incrQuickAck(sk);
    rcv.ato = sk.ctx.config.delack;
  } else if (now - rcv.lastDataRcv > sk.rtt.rto) {
    incrQuickAck(sk);
  }
  rcv.lastDataRcv = now;
}

/**
 * Schedule an ACK (`tcp_ack_snd_check`): at the end of this drain when
 * `now` (out of order, a gap filled, a FIN), in quick-ACK mode, or when two
 * full-sized segments are unacknowledged (SHLD-19, RFC 5681 C6); else
 * within the delayed-ACK timeout (< 500 ms, MUST-40).
 *
 * @example
 * ```ts
 * // scheduleAck(tcb, false); // delayed unless two full segments are unacked
 * ```
 */
export function scheduleAck(sk: Tcb, now: boolean): void {
  const rcv = sk.rcv;
  if (now || rcv.unacked >= 2 * rcv.mss || (rcv.quick > 0 && !rcv.pingpong)) {
    queueAck(sk);
    return;
  }
  armDelack(sk);
}

/**
 * Owe an ACK now, sent when the current drain's work is done (the
 * connection's {@link AckBatch}): several segments delivered in one drain
 * cost one ACK, and data sent meanwhile carries it instead (MUST-58/59).
 *
 * @example
 * ```ts
 * // queueAck(tcb); // one ACK after this batch, unless data carries it first
 * ```
 */
export function queueAck(sk: Tcb): void {
  const rcv = sk.rcv;
  rcv.ackPending = true;
  if (rcv.ackNow) return;
  rcv.ackNow = true;
  const b = sk.ctx.acks;
  const q = b.queue;
  const n = b.count++;
  if (n < q.length) q[n] = sk;
  else q.push(sk);
  if (!b.armed) {
    b.armed = true;
    sk.ctx.clock.defer(b.run);
  }
}

/**
 * Send the ACKs a batch still owes (those no data segment carried).
 *
 * @example
 * ```ts
 * // ctx.acks.run = () => flushAcks(ctx.acks);
 * ```
 */
export function flushAcks(b: AckBatch<Tcb>): void {
  b.armed = false;
  const q = b.queue;
  // b.count is read each turn: an ACK sent here may queue another.
  for (let i = 0; i < b.count; i++) {
    const sk = q[i]!;
    q[i] = null;
    if (!sk.rcv.ackNow) continue;
    sk.rcv.ackNow = false;
    if (sk.state !== TcpState.CLOSED && sk.state !== TcpState.LISTEN) sendAck(sk);
  }
  b.count = 0;
}

/**
 * A challenge ACK (RFC 5961 §3.2, §4.2, §5.2), rate-limited per connection
 * (B4: no global counter an off-path attacker could observe, CVE-2016-5696).
 *
 * @example
 * ```ts
 * // sendChallengeAck(tcb); // at most challengeAckLimit per second per connection
 * ```
 */
export function sendChallengeAck(sk: Tcb): void {
  const st = sk.ctx.stats;
  const lim = sk.limits ??= new RateLimits();
  const now = sk.now();
  if (lim.challengeStamp < 0 || now - lim.challengeStamp >= 1000) {
    lim.challengeStamp = now;
    lim.challengeCount = 0;
  }
  if (lim.challengeCount >= sk.ctx.config.challengeAckLimit) {
    st.challengeAcksLimited++;
    return;
  }
  lim.challengeCount++;
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
 * // sendOowAck(tcb, segLen, false); // out-of-window segment of segLen
 * ```
 */
export function sendOowAck(sk: Tcb, segLen: number, syn: boolean): void {
  const limit = sk.ctx.config.invalidRateLimit;
  if ((segLen === 0 || syn) && limit > 0) {
    const lim = sk.limits ??= new RateLimits();
    const now = sk.now();
    if (lim.lastOowAck >= 0 && now - lim.lastOowAck < limit) {
      sk.ctx.drops.count("tcp.oow_ack_rate_limited");
      return;
    }
    lim.lastOowAck = now;
  }
  sendAck(sk);
}

/**
 * Send `<SEQ=SND.NXT><CTL=RST,ACK>` from a connection (`tcp_send_active_reset`).
 *
 * @example
 * ```ts
 * // sendActiveReset(tcb); // <SEQ=SND.MAX><CTL=RST,ACK>
 * ```
 */
export function sendActiveReset(sk: Tcb): void {
  sendControl(sk, sk.snd.max, TcpFlags.RST | TcpFlags.ACK);
}

/**
 * A keepalive / zero-window probe: an ACK carrying SEG.SEQ = SND.UNA − 1 (`tcp_xmit_probe_skb`).
 *
 * @example
 * ```ts
 * // sendProbe(tcb); // keepalive / zero-window probe
 * ```
 */
export function sendProbe(sk: Tcb): void {
  sendControl(sk, seqAdd(sk.snd.una, -1), TcpFlags.ACK);
}

/** The IPv6 layer computes the checksum (it knows the pseudo-header once the source is set). */
const CHECKSUM_BY_IP: EmitOptions = { checksum: false };

/**
 * Answer segment `th` (which arrived at `ends.laddr` from `ends.raddr`) with a
 * RST, the one reply rule of RFC 9293 §3.10.7.1 (and of every state that
 * resets an unacceptable segment; Linux `tcp_v4_send_reset`):
 * `<SEQ=SEG.ACK><CTL=RST>` if it had ACK, else
 * `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`. A RST is never answered. The
 * reset carries no options and the stack's default TTL.
 *
 * @example
 * ```ts
 * // sendResetFor(ctx, th, { laddr: ip.dst, raddr: ip.src });
 * ```
 */
export function sendResetFor(ctx: TcpContext, th: TcpRepr, ends: SegmentEnds): void {
  const segFlags = th.flags;
  if (segFlags & TcpFlags.RST) return;
  const skb = ctx.allocator.alloc(0);
  if (skb === null) return;
  const { repr, pseudo, send } = ctx.scratch;
  ctx.scratch.clearOptions();
  const at = skb.push(TCP_HEADER_LENGTH);
  repr.srcPort = th.dstPort;
  repr.dstPort = th.srcPort;
  if (segFlags & TcpFlags.ACK) {
    repr.seq = th.ack;
    repr.ack = 0;
    repr.flags = TcpFlags.RST;
  } else {
    const segLen = th.payloadLength + (segFlags & TcpFlags.SYN ? 1 : 0) +
      (segFlags & TcpFlags.FIN ? 1 : 0);
    repr.seq = 0;
    repr.ack = seqAdd(th.seq, segLen);
    repr.flags = TcpFlags.RST | TcpFlags.ACK;
  }
  repr.window = 0;
  repr.urgentPointer = 0;
  repr.payloadLength = 0;
  pseudo.src = ends.laddr;
  pseudo.dst = ends.raddr;
  const v6 = ends.addr6 !== null;
  emitTcp(repr, ctx.allocator.arena.u8, at, pseudo, v6 ? CHECKSUM_BY_IP : undefined);
  ctx.stats.outSegs++;
  ctx.stats.outRsts++;
  if (v6) {
    reply6(ctx, skb, ends);
    return;
  }
  send.src = ends.laddr;
  send.ttl = ctx.ipv4.defaultTtl;
  send.tos = 0;
  ctx.ipv4.output(skb, ends.raddr, send);
}

/**
 * Split `skb` so its first `len` payload bytes stay and the rest moves to a
 * new segment queued right after it (`tcp_fragment`). FIN and PSH move to the
 * second part. Returns false when the arena is exhausted, or when splitting
 * data already sent while the queue holds more than twice SO_SNDBUF plus
 * 128 KiB (Linux `tcp_fragment`, CVE-2019-11478: a peer answering with tiny
 * windows or SACK ranges cannot make each byte its own slot) — except the
 * first and the last segment in flight, which retransmission and new data
 * need. Unsent data is split freely (Linux `TCP_FRAG_IN_WRITE_QUEUE`): the
 * send buffer already bounds it.
 *
 * @example
 * ```ts
 * // fragment(tcb, skb, 500); // skb keeps 500 bytes, the rest follows it
 * ```
 */
export function fragment(sk: Tcb, skb: SkBuff, len: number): boolean {
  const rest = skb.len - len;
  if (rest <= 0) return true;
  const snd = sk.snd;
  const q = snd.queue;
  const head = skb === q.head;
  if (
    skb.txCount > 0 && !head && skb.next !== snd.head &&
    q.truesize / 2 > snd.buf + FRAGMENT_SLACK
  ) {
    sk.ctx.drops.count("tcp.fragment_over_sndbuf");
    return false;
  }
  // The unsent tail keeps a slot it can grow in: later writes append to it
  // up to the size goal (Linux's tail skb grows by page fragments); in a
  // slot cut to `rest`, a writer polling write() would trickle an MSS at a
  // time into it, each split off as its own small segment.
  const grow = skb.next === null && skb.txCount === 0 && snd.sizeGoal > snd.mss &&
    skb.end - skb.head > smallDataSlot(sk.ctx.allocator.arena);
  const size = grow ? Math.max(rest, snd.sizeGoal) : rest;
  const n = head ? sk.ctx.allocator.alloc(size) : sk.ctx.allocator.alloc(size, SEND_ALLOC);
  if (n === null) return false;
  const u8 = sk.ctx.allocator.arena.u8;
  const at = n.put(rest);
  u8.copyWithin(at, skb.data + len, skb.tail);
  skb.tail -= rest;
  n.seq = seqAdd(skb.seq, len);
  n.endSeq = skb.endSeq;
  n.tcpFlags = skb.tcpFlags;
  n.when = skb.when;
  n.txCount = skb.txCount;
  n.sacked = skb.sacked; // both halves keep the scoreboard marks (totals are unchanged)
  skb.tcpFlags &= ~(TcpFlags.FIN | TcpFlags.PSH);
  skb.endSeq = n.seq;
  q.insertAfter(skb, n);
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
 * // writeXmit(tcb, Nagle.PUSH); // true if something was sent
 * ```
 */
export function writeXmit(sk: Tcb, mode: number, newDataOnly = false): boolean {
  if (!canSendData(sk.state)) return false;
  const snd = sk.snd;
  const cong = sk.cong;
  const mss = snd.mss;
  let sent = false;
  if (
    snd.head !== null && snd.nxt === snd.una && snd.lastSend > 0 &&
    sk.now() - snd.lastSend > sk.rtt.rto
  ) {
    // RFC 5681 §4.1 (C7): after an idle period longer than the RTO, restart
    // from at most the initial window (Linux tcp_cwnd_restart).
    cong.cwnd = Math.min(cong.cwnd, INITIAL_WINDOW_SEGMENTS * mss);
  }
  if (snd.mtu !== null) {
    pmtuExpire(sk);
    // RFC 4821: a probe for a larger path MTU, built from the next new data.
    if (snd.head !== null && !newDataOnly) mtupPrepareProbe(sk);
  }
  // RFC 6675 NextSeg() rule 1: segments deemed lost go first (F-RTO's step
  // 2b sends new data instead, `newDataOnly`).
  if (snd.lostHint !== null && !newDataOnly && retransmitLost(sk)) {
    const k = sk.timers.rtxKind;
    if (k === TimerKind.NONE || k === TimerKind.PROBE) armRtx(sk, TimerKind.RETRANS, sk.rtt.rto);
  }
  // RFC 3042 limited transmit (C9): without SACK, the first two duplicate
  // ACKs each allow one new segment beyond cwnd (with SACK the pipe already
  // leaves SACKed segments out).
  const cwnd = cong.cwnd +
    (!sk.sackOk && !cong.inRecovery && cong.dupAcks > 0 ? Math.min(cong.dupAcks, 2) * mss : 0);
  let cwndLimited = false;
  for (let skb = snd.head; skb !== null; skb = snd.head) {
    const flight = snd.flight;
    // Congestion window (RFC 5681; RFC 6675 §5 with SACK: the pipe, not the
    // flight): a segment may start while what is in the network < cwnd.
    const pipe = snd.pipe;
    if (pipe > 0 && pipe + Math.min(skb.len, mss) > cwnd) {
      cwndLimited = true;
      break;
    }
    if (skb.len > mss && !isMtuProbe(sk, skb.endSeq)) {
      if (!splitSuperSegment(sk, skb, cwnd - pipe, mode)) break;
    }
    const wndEnd = seqAdd(snd.una, snd.wnd);
    if (seqAfter(skb.endSeq, wndEnd)) {
      // MUST-38 sender SWS avoidance (RFC 9293 §3.8.6.2.1): send a piece of
      // a segment only if at least half the largest window the peer ever
      // offered is usable; otherwise wait (persist timer below).
      const usable = seqDiff(wndEnd, skb.seq);
      if (usable > 0 && usable < skb.len && usable >= (snd.maxWnd >>> 1) && usable >= 1) {
        if (!fragment(sk, skb, usable)) break;
        continue;
      }
      break;
    }
    if (skb.len < mss && (skb.tcpFlags & TcpFlags.FIN) === 0 && skb.next === null) {
      if (mode === Nagle.CORK) break;
      // RFC 9293 §3.7.4 Nagle (SHLD-7), Minshall's variant as in Linux: hold a
      // small segment only while an earlier small segment is unacknowledged.
      if (mode === Nagle.NAGLE && flight > 0 && seqAfter(snd.sml, snd.una)) break;
    }
    if (!sendNewSegment(sk, skb)) break;
    sent = true;
  }
  if (sent || cwndLimited) cwndValidate(sk, cwndLimited);
  // What limits sending now (Linux tcp_chrono, for TCP_INFO).
  chrono(
    sk,
    snd.head === null
      ? (snd.una === snd.nxt ? CHRONO_NONE : CHRONO_BUSY)
      : seqAfter(snd.head.endSeq, seqAdd(snd.una, snd.wnd)) && !cwndLimited
      ? CHRONO_RWND
      : CHRONO_BUSY,
  );
  const kind = sk.timers.rtxKind;
  if (sent && kind !== TimerKind.REO) {
    // RFC 8985 §7.2: a tail loss probe after new data, when allowed.
    scheduleLossProbe(sk);
  }
  if (
    !sent && snd.head !== null && snd.nxt === snd.una && sk.timers.rtxKind === TimerKind.NONE
  ) {
    // Data waits for a window and nothing is in flight: persist timer, first
    // probe after one RTO (SHLD-29).
    armRtx(sk, TimerKind.PROBE, probeDelay(sk));
  }
  return sent;
}

/** Chrono types (Linux `tcp_chrono`): nothing to send, busy, receive-window limited, send-buffer limited. */
const CHRONO_NONE = 0;
const CHRONO_BUSY = 1;
const CHRONO_RWND = 2;
/**
 * The send buffer limits the application (Linux TCP_CHRONO_SNDBUF_LIMITED).
 *
 * @example
 * ```ts
 * // chrono(tcb, CHRONO_SNDBUF); // sendmsg found the buffer full
 * ```
 */
export const CHRONO_SNDBUF = 3;

/**
 * Switch what limits sending (Linux `tcp_chrono_start`): the time since the
 * last switch is added to the old state's total.
 *
 * @example
 * ```ts
 * // chrono(tcb, CHRONO_SNDBUF);
 * ```
 */
export function chrono(sk: Tcb, type: number): void {
  const snd = sk.snd;
  let r = snd.rate;
  if (r === null) {
    if (type === CHRONO_NONE) return; // a fresh record's state: nothing to make
    r = snd.rate = new SendRate();
  }
  if (r.chronoType === type) return;
  const now = sk.now();
  const d = now - r.chronoStart;
  if (r.chronoType === CHRONO_BUSY) r.busyTime += d;
  else if (r.chronoType === CHRONO_RWND) r.rwndLimitedTime += d;
  else if (r.chronoType === CHRONO_SNDBUF) r.sndbufLimitedTime += d;
  r.chronoType = type;
  r.chronoStart = now;
}

/**
 * Remember how fully the window is used (Linux `tcp_cwnd_validate`): the
 * window was cwnd-limited, or the most in flight during it. Congestion
 * control grows cwnd only for a window that used it (RFC 7661's concern,
 * RFC 9438 §5.8 for CUBIC).
 */
function cwndValidate(sk: Tcb, limited: boolean): void {
  const cong = sk.cong;
  const snd = sk.snd;
  const inFlight = snd.pipe;
  if (
    !seqBefore(snd.una, cong.cwndUsageSeq) || limited ||
    (!cong.cwndLimited && inFlight > cong.maxFlight)
  ) {
    cong.cwndLimited = limited;
    cong.maxFlight = inFlight;
    cong.cwndUsageSeq = snd.nxt;
  }
}

/**
 * May an ACK grow cwnd (Linux `tcp_is_cwnd_limited`)? When the last window
 * was cwnd-limited, or in slow start while cwnd is under twice the most
 * that was in flight.
 *
 * @example
 * ```ts
 * // if (isCwndLimited(tcb)) tcb.cong.algorithm.congAvoid(tcb, acked);
 * ```
 */
export function isCwndLimited(sk: Tcb): boolean {
  const cong = sk.cong;
  if (cong.cwndLimited) return true;
  return cong.cwnd < cong.ssthresh && cong.cwnd < 2 * cong.maxFlight;
}

/**
 * Retransmit the segments deemed lost, oldest first, while the pipe leaves
 * room under cwnd (RFC 6675 §5 steps (C); NextSeg rule 1; Linux
 * `tcp_xmit_retransmit_queue`). Returns whether anything was sent.
 *
 * @example
 * ```ts
 * // retransmitLost(tcb); // also done by writeXmit before new data
 * ```
 */
export function retransmitLost(sk: Tcb): boolean {
  const snd = sk.snd;
  const cong = sk.cong;
  const q = snd.queue;
  const sb = snd.sb;
  if (sb === null) return false;
  let skb = sb.lostHint;
  if (skb === null) return false;
  if (skb.list !== q || seqBefore(skb.seq, snd.una)) skb = q.head;
  let sent = false;
  for (; skb !== null && skb !== snd.head; skb = skb.next) {
    const f = skb.sacked;
    if ((f & SACKED.LOST) === 0 || (f & (SACKED.SACKED_ACKED | SACKED.SACKED_RETRANS)) !== 0) {
      continue;
    }
    const pipe = snd.pipe;
    const room = cong.cwnd - pipe;
    if (pipe > 0 && room < Math.min(skb.len, snd.mss)) {
      sb.lostHint = skb;
      return sent;
    }
    // MUST-34: beyond a window that shrank, only the head is resent (it
    // probes the window; Linux tcp_retransmit_skb).
    if (skb.seq !== snd.una && !seqBefore(skb.seq, seqAdd(snd.una, snd.wnd))) {
      sb.lostHint = skb;
      return sent;
    }
    // A super-segment (or one from before the MSS shrank) goes out in
    // pieces that fit: whole MSS as far as cwnd allows where the route takes
    // TSO super-segments, one MSS where it does not (the IP layer only cuts
    // datagrams larger than the route MTU, not the path MTU).
    if (skb.len > snd.mss) {
      const fit = snd.sizeGoal > snd.mss ? Math.max(snd.mss, room - room % snd.mss) : snd.mss;
      if (fit < skb.len && !fragment(sk, skb, fit)) {
        sb.lostHint = skb;
        return sent;
      }
    }
    if (!retransmitSkb(sk, skb)) {
      sb.lostHint = skb;
      return sent;
    }
    sent = true;
  }
  sb.lostHint = null;
  return sent;
}

/**
 * Send `skb` (already sent before) again: a retransmission counted in the
 * pipe, PRR's prr_out and the statistics (`tcp_retransmit_skb`). False
 * when out of memory.
 *
 * @example
 * ```ts
 * // retransmitSkb(tcb, tcb.snd.queue.head!);
 * ```
 */
export function retransmitSkb(sk: Tcb, skb: SkBuff): boolean {
  if (transmitSkb(sk, skb, true) === -Errno.ENOBUFS) return false;
  const snd = sk.snd;
  const cong = sk.cong;
  const len = skb.endSeq - skb.seq;
  skb.txCount++;
  skb.when = sk.now();
  if ((skb.sacked & SACKED.SACKED_RETRANS) === 0) scoreboardOf(snd).retransBytes += len;
  skb.sacked |= SACKED.SACKED_RETRANS | SACKED.EVER_RETRANS;
  const loss = lossState(cong);
  loss.totalRetrans++;
  loss.bytesRetrans += skb.len;
  sk.ctx.stats.retransSegs++;
  if (loss.undoRetrans >= 0) loss.undoRetrans++;
  if (cong.state === CaState.RECOVERY || cong.state === CaState.CWR) loss.prrOut += len;
  return true;
}

/**
 * A TSO super-segment at the send head goes out as far as the congestion
 * window (`cwndRoom` bytes) and the send window allow, in whole segments;
 * unless pushed, a sub-MSS tail of the last segment is split off to wait
 * as a small segment does (Linux `tcp_mss_split_point` / `tso_fragment`).
 * False when the arena had no room for the split.
 */
function splitSuperSegment(sk: Tcb, skb: SkBuff, cwndRoom: number, mode: number): boolean {
  const snd = sk.snd;
  const mss = snd.mss;
  // Without TSO (a buffer from before the MSS shrank): one MSS at a time.
  if (snd.sizeGoal <= mss) return fragment(sk, skb, mss);
  let limit = Math.min(skb.len, Math.max(mss, cwndRoom - cwndRoom % mss));
  const wndRoom = seqDiff(seqAdd(snd.una, snd.wnd), skb.seq);
  if (wndRoom >= mss) limit = Math.min(limit, wndRoom - wndRoom % mss);
  if (
    mode !== Nagle.PUSH && skb.next === null && (skb.tcpFlags & TcpFlags.FIN) === 0 &&
    skb.len % mss !== 0
  ) {
    limit = Math.min(limit, skb.len - skb.len % mss);
  }
  return limit >= skb.len || fragment(sk, skb, limit);
}

/**
 * Transmit `skb`, the send head, and advance SND.NXT past it (Linux
 * `tcp_transmit_skb` + `tcp_event_new_data_sent`). False when out of memory.
 */
function sendNewSegment(sk: Tcb, skb: SkBuff): boolean {
  const ctx = sk.ctx;
  const snd = sk.snd;
  const rtt = sk.rtt;
  const retrans = skb.txCount > 0;
  const err = transmitSkb(sk, skb, true);
  if (err === -Errno.ENOBUFS) return false;
  const now = sk.now();
  if (retrans) ctx.stats.retransSegs++;
  skb.txCount++;
  skb.when = now;
  snd.nxt = skb.endSeq;
  if (seqAfter(snd.nxt, snd.max)) snd.max = snd.nxt;
  if (skb.len < snd.mss) snd.sml = skb.endSeq;
  // RFC 6298 R7 without timestamps: time one segment per RTT (Karn: never
  // a retransmitted one).
  if (!sk.tsOk && rtt.seq < 0 && !retrans) {
    rtt.seq = skb.endSeq;
    rtt.time = now;
  }
  snd.lastSend = now;
  snd.head = skb.next;
  const cong = sk.cong;
  if (cong.state === CaState.RECOVERY || cong.state === CaState.CWR) {
    // (A reduction made the loss record: initCwndReduction.)
    lossState(cong).prrOut += skb.endSeq - skb.seq;
  }
  // Linux tcp_event_data_sent: data sent within the delayed-ACK timeout of
  // data received makes the connection interactive (pingpong): ACKs wait to
  // ride on the reply instead of going out at once.
  const rcv = sk.rcv;
  if (rcv.ato > 0 && now - rcv.lastDataRcv < rcv.ato) rcv.pingpong = true;
  // R6: start the timer when sending data and it is not running (a loss
  // probe or RACK timer stands for it; writeXmit may then arm a probe).
  const kind = sk.timers.rtxKind;
  if (kind === TimerKind.NONE || kind === TimerKind.PROBE) armRtx(sk, TimerKind.RETRANS, rtt.rto);
  return true;
}

/**
 * Persist-timer send (`tcp_write_wakeup`): if the peer's window has any room,
 * send as much of the next segment as fits, ignoring Nagle and SWS; false
 * when the window is zero (the caller sends a bare probe).
 *
 * @example
 * ```ts
 * // if (!writeWakeup(tcb)) sendProbe(tcb);
 * ```
 */
export function writeWakeup(sk: Tcb): boolean {
  const snd = sk.snd;
  const skb = snd.head;
  if (skb === null || !canSendData(sk.state)) return false;
  const usable = seqDiff(seqAdd(snd.una, snd.wnd), skb.seq);
  if (usable <= 0) return false;
  if (usable < skb.len && !fragment(sk, skb, usable)) return false;
  return sendNewSegment(sk, skb);
}

/**
 * Queue and send our SYN (or SYN-ACK when `ack`) at ISS (`tcp_connect`,
 * `tcp_send_synack`); the segment stays on the write queue for
 * retransmission.
 *
 * @example
 * ```ts
 * // sendSyn(tcb, false); // SYN; sendSyn(child, true) for a SYN-ACK
 * ```
 */
export function sendSyn(sk: Tcb, ack: boolean): number {
  const skb = sk.ctx.allocator.alloc(0);
  if (skb === null) return -Errno.ENOBUFS;
  const snd = sk.snd;
  skb.seq = snd.iss;
  skb.endSeq = seqAdd(snd.iss, 1);
  // RFC 3168 §6.1.1: an ECN-setup SYN carries ECE and CWR, an ECN-setup
  // SYN-ACK ECE alone (the listener decided `ecnOk` from the SYN).
  skb.tcpFlags = TcpFlags.SYN | (ack ? TcpFlags.ACK | (sk.ecnOk ? TcpFlags.ECE : 0) : 0) |
    (!ack && ecnMode(sk) === 1 ? TcpFlags.ECE | TcpFlags.CWR : 0);
  snd.queue.push(skb);
  snd.una = snd.iss;
  // RACK's high-water mark starts at SND.UNA (a stale 0 would lie "after"
  // every sequence number for half of all ISSs); so does the scoreboard's.
  sk.cong.rackFack = snd.iss;
  snd.sb = null;
  snd.nxt = snd.max = snd.writeSeq = skb.endSeq;
  const now = sk.now();
  skb.when = now;
  skb.txCount = 1;
  snd.retransStamp = Math.floor(now); // a whole ms: see Tcb.stampNow
  transmitSkb(sk, skb, true);
  armRtx(sk, TimerKind.RETRANS, sk.rtt.rto);
  return 0;
}

/**
 * Retransmit the first unacknowledged segment (fast retransmit, partial ACK, RTO of a SYN).
 *
 * @example
 * ```ts
 * // retransmitHead(tcb); // fast retransmit / NewReno partial ACK
 * ```
 */
export function retransmitHead(sk: Tcb): void {
  const snd = sk.snd;
  const skb = snd.queue.head;
  if (skb === null || skb === snd.head) return;
  // The head may extend past what the window now allows; send at most one MSS.
  if (skb.len > snd.mss && !fragment(sk, skb, snd.mss)) return;
  if ((skb.tcpFlags & TcpFlags.SYN) !== 0) {
    if (transmitSkb(sk, skb, true) === -Errno.ENOBUFS) return;
    skb.txCount++;
    skb.when = sk.now();
    sk.ctx.stats.retransSegs++;
    return;
  }
  retransmitSkb(sk, skb);
}
