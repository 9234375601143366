/**
 * Passive open (RFC 9293 §3.10.7.2 LISTEN; Linux `tcp_v4_conn_request`,
 * `tcp_conn_request`, `cookie_v4_check`): a SYN queue and an accept queue
 * bounded by the backlog (§8 row 1), and SYN cookies (RFC 4987 §3.6, DEV-23)
 * when the SYN queue is full (`config.syncookies` 1, default) or always (2).
 * Both families: the segment's addresses come as {@link SegmentEnds}, so a
 * dual-stack listener's IPv4 children are IPv4 connections.
 *
 * @module
 */
import type { SkBuff } from "../skb/skbuff.ts";
import { TcpFlags, type TcpRepr } from "../wire/tcp.ts";
import {
  cookieCheck,
  cookieFor,
  isnOf,
  routeMtu,
  type SegmentEnds,
  takeEnds,
  tsOffsetOf,
} from "./family.ts";
import { tcpRcv } from "./input.ts";
import { dropRequest, establishChild } from "./lifecycle.ts";
import { ecnAcceptSyn } from "./ecn.ts";
import { applySynOptions, connectInit } from "./options.ts";
import { sendResetFor, sendSyn, transmitSkb } from "./output.ts";
import { copySocketOptions } from "./sockopt.ts";
import { seqAdd, TcpState } from "./state.ts";
import { COOKIE_MAX_AGE, COOKIE_SLOT_MS, cookieDecodeTs, cookieEncodeTs } from "./syncookies.ts";
import type { Tcb } from "./tcb.ts";
import { newTcb } from "./timeouts.ts";
import { resetKeepalive } from "./timers.ts";

/**
 * A segment for a listener (RFC 9293 §3.10.7.2) that arrived at
 * `ends.laddr` (or `ends.addr6`) from the peer. `skb.data` is at the
 * payload. Consumes `skb`; `ends` is read during the call only.
 *
 * @example
 * ```ts
 * // rcvListen(listener, skb, th, { laddr: ip.dst, raddr: ip.src, addr6: null, scopeId: 0 });
 * ```
 */
export function rcvListen(lsk: Tcb, skb: SkBuff, th: TcpRepr, ip: SegmentEnds): void {
  const ctx = lsk.ctx;
  const flags = th.flags;
  const st = ctx.stats;
  const lq = lsk.listen!;
  if (flags & TcpFlags.RST) {
    // First: an incoming RST is ignored.
    skb.free();
    return;
  }
  if (flags & TcpFlags.ACK) {
    // RFC 4987 §3.6: an ACK with no SYN-queue entry may complete a
    // handshake whose state lives only in a SYN cookie.
    if (!(flags & TcpFlags.SYN) && cookieAck(lsk, skb, th, ip)) return;
    // Second: any other ACK → <SEQ=SEG.ACK><CTL=RST>.
    skb.free();
    sendResetFor(ctx, th, ip);
    return;
  }
  if (!(flags & TcpFlags.SYN)) {
    skb.free();
    ctx.drops.count("tcp.listen_no_syn");
    return;
  }
  skb.free(); // data on a SYN is not queued (no Fast Open)
  // Bounded SYN queue and accept queue (§8 row 1).
  if (lq.acceptQueue.length >= lq.backlog) {
    // Accept queue full: drop the SYN even with cookies (Linux
    // tcp_conn_request): the completing ACK would find no room either, and
    // a client with nothing to send never retransmits it. The client's SYN
    // retransmission tries again.
    st.listenOverflows++;
    st.listenDrops++;
    return;
  }
  const cookies = ctx.config.syncookies;
  if (lq.synQueue.size >= lq.backlog || cookies === 2) {
    if (cookies !== 0) {
      // RFC 4987 §3.6: answer with a SYN cookie and keep no state.
      sendCookie(lsk, th, ip);
      return;
    }
    st.listenDrops++; // syncookies = 0: drop the SYN (Linux without cookies)
    return;
  }
  const child = newChild(lsk, th, ip);
  if (child === null) return;
  const rcv = child.rcv;
  const snd = child.snd;
  rcv.irs = th.seq;
  rcv.nxt = rcv.wup = seqAdd(th.seq, 1);
  applySynOptions(child, th.options);
  // RFC 3168 §6.1.1: an ECN-setup SYN; the SYN-ACK answers with ECE.
  ecnAcceptSyn(child, flags);
  snd.iss = isnOf(child);
  child.tsOffset = tsOffsetOf(ctx, child);
  child.cong.recover = snd.iss;
  // W3: the SYN's window is not scaled.
  snd.wnd = snd.maxWnd = th.window;
  snd.wl1 = th.seq;
  snd.wl2 = snd.iss;
  child.setState(TcpState.SYN_RECEIVED);
  lq.synQueue.add(child);
  if (sendSyn(child, true) < 0) dropRequest(child);
}

/**
 * A TCB for the route towards the segment's source: MTU-derived MSS and
 * window, the listener's socket options.
 */
function prepareChild(sk: Tcb, lsk: Tcb, th: TcpRepr, ip: SegmentEnds): void {
  copySocketOptions(lsk, sk);
  takeEnds(sk, ip);
  sk.v6only = lsk.v6only;
  sk.lport = lsk.lport;
  sk.rport = th.srcPort;
}

/**
 * A child TCB for `lsk` (4-tuple from the segment), hashed into the
 * established table and initialised for the route's MTU; null (counted as
 * a listen drop) when the 4-tuple cannot be hashed.
 */
function newChild(lsk: Tcb, th: TcpRepr, ip: SegmentEnds): Tcb | null {
  const ctx = lsk.ctx;
  const child = newTcb(ctx);
  ctx.socks.add(child);
  child.parent = lsk;
  child.passive = true;
  prepareChild(child, lsk, th, ip);
  child.userBoundPort = true;
  if (ctx.tables.hashEstablished(child) < 0) {
    ctx.socks.delete(child);
    ctx.stats.listenDrops++;
    return null;
  }
  connectInit(child, routeMtu(child));
  return child;
}

/**
 * Answer a SYN with a cookie SYN-ACK (Linux `tcp_conn_request` with
 * `want_cookie`, `cookie_v4_init_sequence`): the ISN encodes the peer's MSS,
 * the TSval its window scale and SACK-permitted; nothing is stored. A
 * scratch TCB (never hashed, never in `socks`, no timers armed) only carries
 * the fields the segment builder reads.
 */
function sendCookie(lsk: Tcb, th: TcpRepr, ip: SegmentEnds): void {
  const ctx = lsk.ctx;
  const tmp = newTcb(ctx);
  prepareChild(tmp, lsk, th, ip);
  connectInit(tmp, routeMtu(tmp));
  tmp.rcv.nxt = seqAdd(th.seq, 1);
  const o = th.options;
  // RFC 4987 §3.6 (Linux tcp_conn_request → tcp_clear_options): without
  // timestamps there is nowhere to keep window scale and SACK-permitted,
  // so the cookie SYN-ACK does not offer them.
  const ts = o.tsVal !== null && ctx.config.timestamps;
  applySynOptions(tmp, ts ? o : { ...o, windowScale: null, sackPermitted: false });
  const cookie = cookieFor(ctx, ip, th, th.seq, tmp.snd.mssClamp);
  if (tmp.tsOk) {
    // Linux cookie_init_timestamp: options in the TSval's low bits; the
    // offset makes tsNow() return exactly that value.
    const now = Math.floor(ctx.clock.now());
    const real = seqAdd(now, tsOffsetOf(ctx, ip));
    const enc = cookieEncodeTs(real, tmp.wscaleOk ? tmp.snd.wscale : null, tmp.sackOk);
    tmp.tsOffset = seqAdd(enc, -now);
  }
  const skb = ctx.allocator.alloc(0);
  if (skb === null) return;
  tmp.snd.iss = cookie;
  skb.seq = cookie;
  skb.endSeq = seqAdd(cookie, 1);
  skb.tcpFlags = TcpFlags.SYN | TcpFlags.ACK;
  transmitSkb(tmp, skb, false);
  ctx.stats.syncookiesSent++;
  lsk.listen!.lastCookieSent = ctx.clock.now();
}

/**
 * An ACK reached a listener with no request sock: if SYN cookies were sent
 * lately (Linux `tcp_synq_no_recent_overflow`), check SEG.ACK − 1 as a
 * cookie (Linux `cookie_v4_check`) and, if valid, create the child
 * directly in ESTABLISHED and process the segment on it. Returns false
 * when the caller should answer as RFC 9293 §3.10.7.2 says (RST).
 */
function cookieAck(lsk: Tcb, skb: SkBuff, th: TcpRepr, ip: SegmentEnds): boolean {
  const ctx = lsk.ctx;
  const cfg = ctx.config;
  const st = ctx.stats;
  const lq = lsk.listen!;
  if (cfg.syncookies === 0) return false;
  const sentAt = lq.lastCookieSent;
  if (sentAt < 0 || ctx.clock.now() - sentAt >= COOKIE_SLOT_MS * COOKIE_MAX_AGE) {
    return false; // no cookie outstanding: a plain stray ACK
  }
  const synSeq = seqAdd(th.seq, -1);
  const cookie = seqAdd(th.ack, -1);
  const dec = cookieCheck(ctx, ip, th, synSeq, cookie);
  if (dec === null) {
    // Forged, expired or for another 4-tuple (RFC 4987 §3.6).
    st.syncookiesFailed++;
    ctx.drops.count("tcp.syncookie_failed");
    return false;
  }
  if (lq.acceptQueue.length >= lq.backlog) {
    // Accept queue full: drop the ACK (tcp_abort_on_overflow = 0); the
    // peer's retransmission carries the same cookie.
    st.listenOverflows++;
    st.listenDrops++;
    skb.free();
    return true;
  }
  const o = th.options;
  // Linux cookie_timestamp_decode: TSecr ≠ 0 means our SYN-ACK had TSopt
  // and its low bits hold window scale / SACK-permitted.
  const ts = o.tsVal !== null && o.tsEcr !== 0 && cfg.timestamps;
  const tsOpts = ts ? cookieDecodeTs(o.tsEcr) : null;
  const child = newChild(lsk, th, ip);
  if (child === null) {
    skb.free();
    return true;
  }
  st.syncookiesRecv++;
  const rcv = child.rcv;
  const snd = child.snd;
  rcv.irs = synSeq;
  rcv.nxt = rcv.wup = rcv.lastAckSent = th.seq;
  applySynOptions(child, {
    mss: dec.mss,
    windowScale: tsOpts !== null && cfg.windowScaling ? tsOpts.windowScale : null,
    sackPermitted: tsOpts !== null && tsOpts.sackPermitted,
    tsVal: ts ? o.tsVal : null,
    tsEcr: 0,
    sackBlocks: null,
  });
  snd.iss = cookie;
  child.tsOffset = tsOffsetOf(ctx, child);
  child.cong.recover = cookie;
  snd.una =
    snd.nxt =
    snd.max =
    snd.writeSeq =
      th.ack;
  // The ACK's window is scaled (RFC 7323 §2.2: only SYNs are not).
  snd.wnd = snd.maxWnd = th.window * (1 << snd.wscale);
  snd.wl1 = th.seq;
  snd.wl2 = th.ack;
  establishChild(child);
  child.cong.algorithm.init(child);
  child.setState(TcpState.ESTABLISHED);
  resetKeepalive(child);
  // Data or FIN riding on the ACK: process it on the new connection.
  if (skb.len > 0 || (th.flags & TcpFlags.FIN)) tcpRcv(child, skb, th);
  else skb.free();
  return true;
}
