/**
 * TCP: the protocol object registered as IP protocol 6 (`stack.tcp`), the
 * demux (established table → listener → CLOSED processing), passive open
 * (SYN queue, accept queue), ICMP errors, and the ops API the socket layer
 * wraps.
 *
 * ## Ops API (non-blocking; the socket layer adds blocking)
 *
 * `stack.tcp.socket(): TcpSock`, then on the socket:
 *
 * | call | returns |
 * |---|---|
 * | `bind(laddr, port)` | 0 or -EADDRINUSE / -EADDRNOTAVAIL / -EINVAL |
 * | `listen(backlog)` | 0 or -errno; again on a listener only updates the backlog |
 * | `connect(raddr, rport, laddr?)` | -EINPROGRESS (SYN sent), or -EISCONN / -EALREADY / -ENETUNREACH / -EADDRNOTAVAIL / -EINVAL |
 * | `accept()` | an established (possibly already CLOSE-WAIT/CLOSED) child `TcpSock`, or null |
 * | `send(bytes, flags?)` | bytes queued (may be fewer: partial write), -EAGAIN (buffer full or still connecting), -EPIPE, -ENOTCONN, or the pending error |
 * | `recv(buf, flags?)` | bytes read; 0 = end of stream (FIN); -EAGAIN; pending error (-ECONNRESET, -ETIMEDOUT, -ECONNREFUSED, -EPIPE); -ENOTCONN |
 * | `shutdown(how)` | 0 or -ENOTCONN / -EINVAL (0 SHUT_RD, 1 SHUT_WR, 2 SHUT_RDWR) |
 * | `close()` | void: FIN (or RST with unread data / SO_LINGER 0); the TCB lives on until CLOSED |
 * | `abort()` | void: RST, CLOSED |
 * | `setOption(name, value)` / `getOption(name)` | 0 / value, or -ENOPROTOOPT / -EINVAL (`TcpOptionName`) |
 * | `error` | pending errno (positive) or 0, read-and-clear (SO_ERROR) |
 * | `poll()` | `Poll` mask: IN, PRI, OUT, ERR, HUP, RDHUP |
 * | `onEvent = (mask) => …` | deferred (never re-entrant), at most once per batch: data ready, write space, state change, urgent data |
 * | `urgentMark()` | unread bytes before the end of pending urgent data, or -1 |
 * | `state`, `laddr`, `lport`, `raddr`, `rport` | read-only by convention |
 *
 * `MsgFlags.PEEK` for recv; `MsgFlags.MORE` (cork this write) and
 * `MsgFlags.OOB` (urgent data) for send.
 *
 * ## Design decisions (documented deviations and choices)
 *
 * - MSL 30 s → TIME-WAIT 60 s like Linux (`StackOptions.tcp.msl`; per socket
 *   `TCP_TIMEWAIT_MS`). RFC 1337: RSTs in TIME-WAIT are ignored. RFC 6191: a
 *   SYN with a newer timestamp (or, without timestamps, a higher sequence
 *   number) reopens a TIME-WAIT 4-tuple when a listener exists.
 * - RTO = SRTT + max(4·RTTVAR, 200 ms) (Linux), initial 1 s, max 120 s.
 * - IW10 (RFC 6928, Linux) rather than RFC 5681's ≤ 4 segments.
 * - MSS: advertise MTU − 40; peer MSS floored at 88 (64 payload bytes survive
 *   24 bytes of options); our segments capped at 8960 bytes (arena slot).
 * - MUST-7: a segment with a malformed option is dropped and counted
 *   (`tcp.bad_option`, InErrs) — never reset the connection: a forged bad
 *   segment must not be able to kill it (Linux drops too).
 * - Urgent data (MUST-30…33, 62) with RFC 6093 semantics: the pointer marks
 *   the byte after the urgent data; received urgent bytes stay in line
 *   (SO_OOBINLINE), the user learns of them through `Poll.PRI` and
 *   `urgentMark()`; no out-of-band byte is pulled out (RFC 6093 §6 advice).
 * - R2 900 s for data, 180 s for SYNs (MUST-23), TCP_USER_TIMEOUT overrides.
 * - Data on a SYN or SYN-ACK is not queued (no Fast Open), as Linux.
 * - After an RTO the sender goes back N (SND.NXT retreats, BSD style); pure
 *   ACKs and RSTs carry the highest sequence number sent (BSD `snd_max`).
 * - The SYN queue is bounded by the listen backlog (Linux
 *   `inet_csk_reqsk_queue_is_full`); SYNs beyond it get a SYN cookie
 *   (`config.syncookies` 1, default; 2 = always; 0 = drop them; RFC 4987
 *   §3.6, `syncookies.ts`, DEV-23); SYNs while the accept queue is full are
 *   dropped, and a handshake-completing ACK that finds it full is dropped
 *   (`tcp_abort_on_overflow` = 0).
 * - RFC 7323 T2: once timestamps are negotiated, a non-RST segment without
 *   them is dropped (Linux accepts it).
 * - SO_RCVBUF / SO_SNDBUF are taken as given (Linux doubles them); the
 *   window scale is fixed at SYN time from SO_RCVBUF.
 * - ACKs answering out-of-window or PAWS-rejected pure ACKs / SYNs are
 *   rate-limited per connection (500 ms, Linux `tcp_oow_rate_limited`);
 *   an out-of-window SYN gets a challenge ACK (RFC 5961 §7 limit).
 * - An orphan (closed by the user) in persist is aborted after 8 backed-off
 *   zero-window probes even if the peer answers (Linux
 *   `tcp_orphan_retries`, RFC 6429); a socket the user holds is not (MUST-37).
 *
 * ## Not yet (later work)
 *
 * SACK loss recovery (RFC 6675) and SACK/D-SACK block generation (blocks
 * received are validated and ignored); CUBIC; RACK-TLP; spurious-retransmit
 * undo; out-of-band reads of urgent data (MSG_OOB on recv); ECN;
 * PMTU discovery (DF is never set);
 * adaptive delayed-ACK timeout / quick-ACK mode; buffer auto-tuning; global
 * memory pressure eviction (RFC 6429); Fast Open; MD5.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { Errno } from "../core/errno.ts";
import type { DropCounters, TcpStats } from "../core/stats.ts";
import type { IcmpError, InetProtocol, Ipv4Layer } from "../ipv4/layer.ts";
import { AddrType } from "../ipv4/layer.ts";
import type { Iface } from "../ipv4/iface.ts";
import { Csum, type SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
import type { HotPaths } from "../wasm/bindings.ts";
import { get16, get32, type ParseOptions } from "../wire/bytes.ts";
import type { Ipv4Repr } from "../wire/ipv4.ts";
import { parseTcp, TcpFlags, type TcpRepr } from "../wire/tcp.ts";
import { type CongestionControl, NEW_RENO } from "./congestion/reno.ts";
import { connectInit, establishChild, isBareSyn, tcpDone, tcpFail } from "./conn.ts";
import { applySynOptions, tcpRcv, timeWaitAcceptsSyn } from "./input.ts";
import {
  COOKIE_MAX_AGE,
  COOKIE_SLOT_MS,
  cookieDecodeTs,
  cookieEncodeTs,
  SynCookies,
} from "./syncookies.ts";
import { SeededRandom } from "../core/random.ts";
import {
  Nagle,
  retransmitHead,
  sendAck,
  sendActiveReset,
  sendProbe,
  sendResetFor,
  sendSyn,
  transmitSkb,
  writeWakeup,
  writeXmit,
} from "./output.ts";
import { purgeReceive, rbufHooks } from "./recv.ts";
import { seqInWindow, TcpState } from "./state.ts";
import {
  DEFAULT_TCP_CONFIG,
  type IsnSource,
  type TcpConfig,
  type TcpContext,
  TcpSock,
  type TcpTimerHooks,
  type TcpTraceEvent,
} from "./sock.ts";
import type { TcpTables } from "./tables.ts";
import { clearAllTimers, resetKeepalive, timerHooks } from "./timers.ts";

/**
 * What {@link TcpProtocol} needs from the stack.
 *
 * @example
 * ```ts
 * // new TcpProtocol({ clock, ipv4, allocator, hotPaths, tables, isn, stats, drops });
 * ```
 */
export interface TcpProtocolOptions {
  /** Time source and timers. */
  clock: Clock;
  /** IPv4 output and routing. */
  ipv4: Ipv4Layer;
  /** Packet buffers. */
  allocator: SkbAllocator;
  /** WebAssembly hot paths (range tables). */
  hotPaths: HotPaths;
  /** Bind / listen / established tables. */
  tables: TcpTables;
  /** The ISN for a 4-tuple (keyed hash plus clock, RFC 9293 §3.4.1). */
  isn: IsnSource;
  /** TCP MIB counters. */
  stats: TcpStats;
  /** Drop counters by reason. */
  drops: DropCounters;
  /** Overrides of {@link DEFAULT_TCP_CONFIG}. */
  config?: Partial<TcpConfig>;
  /** Congestion control (default NewReno). */
  cc?: CongestionControl;
  /** SYN cookie secrets (default: drawn from a fixed seed; the Stack passes its random source). */
  cookies?: SynCookies;
}

const NO_VERIFY: ParseOptions = { verifyChecksum: false };

/**
 * The TCP protocol instance of one stack.
 *
 * @example
 * ```ts
 * // const srv = stack.tcp.socket();
 * // srv.bind(0, 8080); srv.listen(16);
 * // srv.onEvent = () => { const c = srv.accept(); … };
 * ```
 */
export class TcpProtocol implements InetProtocol, TcpContext {
  /** Time source and timers. */
  readonly clock: Clock;
  /** IPv4 output and routing. */
  readonly ipv4: Ipv4Layer;
  /** Packet buffers. */
  readonly allocator: SkbAllocator;
  /** WebAssembly hot paths (range tables). */
  readonly hotPaths: HotPaths;
  /** Bind / listen / established tables. */
  readonly tables: TcpTables;
  /** The ISN for a 4-tuple (keyed hash plus clock, RFC 9293 §3.4.1). */
  readonly isn: IsnSource;
  /** TCP MIB counters. */
  readonly stats: TcpStats;
  /** Drop counters by reason. */
  readonly drops: DropCounters;
  /** Stack-wide settings. */
  readonly config: TcpConfig;
  /** Congestion control. */
  readonly cc: CongestionControl;
  /** SYN cookie generator and checker (RFC 4987 §3.6). */
  readonly cookies: SynCookies;
  trace: ((e: TcpTraceEvent) => void) | null = null;
  /** TCBs now in TIME-WAIT. */
  timeWaitCount = 0;
  /** Every live TCB (listeners, connections, TIME-WAIT, requests). */
  readonly socks: Set<TcpSock> = new Set();
  readonly #timers: TcpTimerHooks;
  /** When each listener last sent a SYN cookie (Linux `rx_opt.ts_recent_stamp` of the listener). */
  readonly #cookieSentAt: WeakMap<TcpSock, number> = new WeakMap();

  /** Create the protocol (the Stack does this and registers it as IP protocol 6). */
  constructor(o: TcpProtocolOptions) {
    this.clock = o.clock;
    this.ipv4 = o.ipv4;
    this.allocator = o.allocator;
    this.hotPaths = o.hotPaths;
    this.tables = o.tables;
    this.isn = o.isn;
    this.stats = o.stats;
    this.drops = o.drops;
    this.config = { ...DEFAULT_TCP_CONFIG, ...o.config };
    this.cc = o.cc ?? NEW_RENO;
    this.cookies = o.cookies ??
      new SynCookies({ now: () => o.clock.now(), rng: new SeededRandom(0x5eed) });
    this.#timers = timerHooks({
      /** Abort with an errno. */
      fail: tcpFail,
      retransmitHead,
      /** Send what the windows allow. */
      writeXmit: (sk) => void writeXmit(sk, Nagle.PUSH),
      sendAck,
      sendProbe,
      writeWakeup,
      /** The TCB is done (CLOSED). */
      finish: tcpDone,
      /** Drop a SYN-queue entry silently. */
      dropRequest: (sk) => {
        sk.orphan = true;
        tcpDone(sk);
      },
    });
    rbufHooks.windowUpdate = sendAck;
  }

  /** A new, unbound socket in CLOSED. */
  socket(): TcpSock {
    const sk = new TcpSock(this, this.#timers);
    this.socks.add(sk);
    return sk;
  }

  /** Called when a TCB is finished for good. */
  release(sk: TcpSock): void {
    this.socks.delete(sk);
  }

  /**
   * Handle the TIME-WAIT hand-off from the tables (`tcp_twsk_unique`): kill
   * the TIME-WAIT TCB; the new connection starts above its sequence space
   * and inherits TS.Recent.
   */
  onTimeWaitReuse(tw: TcpSock, sk: TcpSock): void {
    sk.presetIss = (tw.sndNxt + 65535 + 2) >>> 0 || 1;
    sk.tsRecent = tw.tsRecent;
    sk.tsRecentStamp = tw.tsRecentStamp;
    // KI-1: only the 4-tuple guard ends. A TCB the user still holds keeps its
    // unread data (tcpDone purges and releases only orphans; Linux likewise
    // frees just the timewait mini-socket, never the user's socket).
    tcpDone(tw);
  }

  /** Stop a listener: drop its SYN queue, reset connections never accepted. */
  stopListener(sk: TcpSock): void {
    for (const child of [...sk.synQueue]) {
      child.orphan = true;
      tcpDone(child);
    }
    for (const child of sk.acceptQueue.splice(0)) {
      child.inAcceptQueue = false;
      child.parent = null;
      child.orphan = true;
      if (child.state !== TcpState.CLOSED) {
        if (child.state !== TcpState.TIME_WAIT) sendActiveReset(child);
        tcpDone(child);
      } else {
        purgeReceive(child);
        this.release(child);
      }
    }
  }

  /** Free every TCB's buffers and timers (stack shutdown). */
  close(): void {
    for (const sk of this.socks) {
      clearAllTimers(sk);
      sk.writeQueue.purge();
      sk.sendHead = null;
      purgeReceive(sk);
      this.tables.unhash(sk);
      sk.orphan = true;
    }
    this.socks.clear();
  }

  /** IP delivers a TCP segment (`tcp_v4_rcv`). */
  rcv(skb: SkBuff, ip: Ipv4Repr, _iface: Iface): void {
    const st = this.stats;
    const th = parseTcp(
      this.allocator.arena.u8,
      skb.data,
      skb.len,
      ip,
      skb.ipSummed === Csum.Unnecessary ? NO_VERIFY : undefined,
    );
    if (typeof th === "string") {
      // MUST-3 (bad checksum) and MUST-7 (malformed options): drop and count.
      st.inErrs++;
      this.drops.count(th);
      skb.free();
      return;
    }
    st.inSegs++;
    // MUST-57: nothing for broadcast or multicast destinations (and no RST).
    if (this.ipv4.addrType(ip.dst) !== AddrType.LOCAL) {
      this.drops.count("tcp.not_unicast");
      skb.free();
      return;
    }
    skb.pull(th.headerLength);
    let sk = this.tables.lookupEstablished(ip.dst, th.dstPort, ip.src, th.srcPort) as
      | TcpSock
      | null;
    if (sk !== null) {
      if (
        sk.state === TcpState.TIME_WAIT && isBareSyn(th.flags) && timeWaitAcceptsSyn(sk, th) &&
        this.tables.lookupListener(ip.dst, th.dstPort) !== null
      ) {
        // RFC 6191 / MAY-2: a provably newer SYN ends TIME-WAIT early. KI-1:
        // unhash the TCB but keep what the user has not read yet (tcpDone
        // purges only an orphan's queue), as Linux's timewait mini-socket
        // is separate from the user's socket.
        tcpDone(sk);
        /** The connection. */
        sk = null;
      } else {
        tcpRcv(sk, skb, th);
        return;
      }
    }
    const lsk = this.tables.lookupListener(ip.dst, th.dstPort) as TcpSock | null;
    if (lsk !== null && lsk.state === TcpState.LISTEN) {
      this.#rcvListen(lsk, skb, th, ip);
      return;
    }
    this.#rcvClosed(skb, th, ip);
  }

  /** RFC 9293 §3.10.7.1: no connection. */
  #rcvClosed(skb: SkBuff, th: TcpRepr, ip: Ipv4Repr): void {
    const flags = th.flags;
    const len = skb.len;
    skb.free();
    this.drops.count("tcp.no_socket");
    if (flags & TcpFlags.RST) return; // never answer a RST
    if (flags & TcpFlags.ACK) {
      // <SEQ=SEG.ACK><CTL=RST>
      sendResetFor(this, ip.dst, th.dstPort, ip.src, th.srcPort, th.ack, 0, TcpFlags.RST);
    } else {
      // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
      const segLen = len + (flags & TcpFlags.SYN ? 1 : 0) + (flags & TcpFlags.FIN ? 1 : 0);
      sendResetFor(
        this,
        ip.dst,
        th.dstPort,
        ip.src,
        th.srcPort,
        0,
        (th.seq + segLen) >>> 0,
        TcpFlags.RST | TcpFlags.ACK,
      );
    }
  }

  /** RFC 9293 §3.10.7.2 LISTEN, with a SYN queue and accept queue (`tcp_conn_request`). */
  #rcvListen(lsk: TcpSock, skb: SkBuff, th: TcpRepr, ip: Ipv4Repr): void {
    const flags = th.flags;
    const st = this.stats;
    if (flags & TcpFlags.RST) {
      // First: an incoming RST is ignored.
      skb.free();
      return;
    }
    if (flags & TcpFlags.ACK) {
      // RFC 4987 §3.6: an ACK with no SYN-queue entry may complete a
      // handshake whose state lives only in a SYN cookie.
      if (!(flags & TcpFlags.SYN) && this.#cookieAck(lsk, skb, th, ip)) return;
      // Second: any other ACK → <SEQ=SEG.ACK><CTL=RST>.
      skb.free();
      sendResetFor(this, ip.dst, th.dstPort, ip.src, th.srcPort, th.ack, 0, TcpFlags.RST);
      return;
    }
    if (!(flags & TcpFlags.SYN)) {
      skb.free();
      this.drops.count("tcp.listen_no_syn");
      return;
    }
    skb.free(); // data on a SYN is not queued (no Fast Open)
    // Bounded SYN queue and accept queue (§8 row 1).
    if (lsk.acceptQueue.length >= lsk.backlog) {
      // Accept queue full: drop the SYN even with cookies (Linux
      // tcp_conn_request): the completing ACK would find no room either, and
      // a client with nothing to send never retransmits it. The client's SYN
      // retransmission tries again.
      st.listenOverflows++;
      st.listenDrops++;
      return;
    }
    const cookies = this.config.syncookies;
    if (lsk.synQueue.size >= lsk.backlog || cookies === 2) {
      if (cookies !== 0) {
        // RFC 4987 §3.6: answer with a SYN cookie and keep no state.
        this.#sendCookie(lsk, th, ip);
        return;
      }
      st.listenDrops++; // syncookies = 0: drop the SYN (Linux without cookies)
      return;
    }
    const child = this.#newChild(lsk, th, ip);
    if (child === null) return;
    child.irs = th.seq;
    child.rcvNxt = child.rcvWup = (th.seq + 1) >>> 0;
    applySynOptions(child, th.options, false);
    child.iss = this.isn.isn(child.laddr, child.lport, child.raddr, child.rport) >>> 0;
    child.tsOffset = this.isn.tsOffset(child.laddr, child.raddr) >>> 0;
    child.recover = child.iss;
    // W3: the SYN's window is not scaled.
    child.sndWnd = child.maxSndWnd = th.window;
    child.sndWl1 = th.seq;
    child.sndWl2 = child.iss;
    child.setState(TcpState.SYN_RECEIVED);
    lsk.synQueue.add(child);
    if (sendSyn(child, true) < 0) {
      child.orphan = true;
      tcpDone(child);
    }
  }

  /**
   * A child TCB for `lsk` (4-tuple from the segment), hashed into the
   * established table and initialised for the route's MTU; null (counted as
   * a listen drop) when the 4-tuple cannot be hashed.
   */
  #newChild(lsk: TcpSock, th: TcpRepr, ip: Ipv4Repr): TcpSock | null {
    const child = this.socket();
    child.parent = lsk;
    child.passive = true;
    inheritOptions(child, lsk);
    child.laddr = ip.dst;
    child.lport = lsk.lport;
    child.raddr = ip.src;
    child.rport = th.srcPort;
    child.userBoundPort = true;
    if (this.tables.hashEstablished(child) < 0) {
      this.socks.delete(child);
      this.stats.listenDrops++;
      return null;
    }
    const rt = this.ipv4.route(ip.src);
    connectInit(child, rt !== null ? rt.mtu : 576);
    return child;
  }

  /**
   * Answer a SYN with a cookie SYN-ACK (Linux `tcp_conn_request` with
   * `want_cookie`, `cookie_v4_init_sequence`): the ISN encodes the peer's MSS,
   * the TSval its window scale and SACK-permitted; nothing is stored. A
   * scratch TCB (never hashed, never in `socks`, no timers) only carries the
   * fields the segment builder reads.
   */
  #sendCookie(lsk: TcpSock, th: TcpRepr, ip: Ipv4Repr): void {
    const tmp = new TcpSock(this, this.#timers);
    inheritOptions(tmp, lsk);
    tmp.laddr = ip.dst;
    tmp.lport = lsk.lport;
    tmp.raddr = ip.src;
    tmp.rport = th.srcPort;
    const rt = this.ipv4.route(ip.src);
    connectInit(tmp, rt !== null ? rt.mtu : 576);
    tmp.rcvNxt = (th.seq + 1) >>> 0;
    const o = th.options;
    // RFC 4987 §3.6 (Linux tcp_conn_request → tcp_clear_options): without
    // timestamps there is nowhere to keep window scale and SACK-permitted,
    // so the cookie SYN-ACK does not offer them.
    const ts = o.tsVal !== null && this.config.timestamps;
    applySynOptions(tmp, ts ? o : { ...o, windowScale: null, sackPermitted: false }, false);
    const cookie = this.cookies.make(ip.dst, th.dstPort, ip.src, th.srcPort, th.seq, tmp.mssClamp);
    if (tmp.tsOk) {
      // Linux cookie_init_timestamp: options in the TSval's low bits; the
      // offset makes tsNow() return exactly that value.
      const now = Math.floor(this.clock.now());
      const real = (now + this.isn.tsOffset(ip.dst, ip.src)) >>> 0;
      const enc = cookieEncodeTs(real, tmp.wscaleOk ? tmp.sndWscale : null, tmp.sackOk);
      tmp.tsOffset = (enc - now) >>> 0;
    }
    const skb = this.allocator.alloc(0);
    if (skb === null) return;
    tmp.iss = cookie;
    skb.seq = cookie;
    skb.endSeq = (cookie + 1) >>> 0;
    skb.tcpFlags = TcpFlags.SYN | TcpFlags.ACK;
    transmitSkb(tmp, skb, false);
    this.stats.syncookiesSent++;
    this.#cookieSentAt.set(lsk, this.clock.now());
  }

  /**
   * An ACK reached a listener with no request sock: if SYN cookies were sent
   * lately (Linux `tcp_synq_no_recent_overflow`), check SEG.ACK − 1 as a
   * cookie (Linux `cookie_v4_check`) and, if valid, create the child
   * directly in ESTABLISHED and process the segment on it. Returns false
   * when the caller should answer as RFC 9293 §3.10.7.2 says (RST).
   */
  #cookieAck(lsk: TcpSock, skb: SkBuff, th: TcpRepr, ip: Ipv4Repr): boolean {
    const cfg = this.config;
    const st = this.stats;
    if (cfg.syncookies === 0) return false;
    const sentAt = this.#cookieSentAt.get(lsk);
    if (sentAt === undefined || this.clock.now() - sentAt >= COOKIE_SLOT_MS * COOKIE_MAX_AGE) {
      return false; // no cookie outstanding: a plain stray ACK
    }
    const synSeq = (th.seq - 1) >>> 0;
    const cookie = (th.ack - 1) >>> 0;
    const dec = this.cookies.check(ip.dst, th.dstPort, ip.src, th.srcPort, synSeq, cookie);
    if (dec === null) {
      // Forged, expired or for another 4-tuple (RFC 4987 §3.6).
      st.syncookiesFailed++;
      this.drops.count("tcp.syncookie_failed");
      return false;
    }
    if (lsk.acceptQueue.length >= lsk.backlog) {
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
    const child = this.#newChild(lsk, th, ip);
    if (child === null) {
      skb.free();
      return true;
    }
    st.syncookiesRecv++;
    child.irs = synSeq;
    child.rcvNxt = child.rcvWup = child.lastAckSent = th.seq;
    applySynOptions(child, {
      mss: dec.mss,
      windowScale: tsOpts !== null && cfg.windowScaling ? tsOpts.windowScale : null,
      sackPermitted: tsOpts !== null && tsOpts.sackPermitted,
      tsVal: ts ? o.tsVal : null,
      tsEcr: 0,
      sackBlocks: null,
    }, false);
    child.iss = cookie;
    child.tsOffset = this.isn.tsOffset(child.laddr, child.raddr) >>> 0;
    child.recover = cookie;
    child.sndUna =
      child.sndNxt =
      child.sndMax =
      child.writeSeq =
        th.ack;
    // The ACK's window is scaled (RFC 7323 §2.2: only SYNs are not).
    child.sndWnd = child.maxSndWnd = th.window * (1 << child.sndWscale);
    child.sndWl1 = th.seq;
    child.sndWl2 = th.ack;
    establishChild(child);
    this.cc.init(child);
    child.setState(TcpState.ESTABLISHED);
    resetKeepalive(child);
    // Data or FIN riding on the ACK: process it on the new connection.
    if (skb.len > 0 || (th.flags & TcpFlags.FIN)) tcpRcv(child, skb, th);
    else skb.free();
    return true;
  }

  /** An ICMP error about a segment we sent (MUST-54/55/56; RFC 5927). */
  err(e: IcmpError): void {
    const q = e.quote;
    if (q.transportLength < 8 || q.fragmentOffset !== 0) return;
    const u8 = e.u8;
    const off = q.transportOffset;
    const sport = get16(u8, off);
    const dport = get16(u8, off + 2);
    const seq = get32(u8, off + 4);
    const sk = this.tables.lookupEstablished(q.src, sport, q.dst, dport) as TcpSock | null;
    if (sk === null || sk.state === TcpState.TIME_WAIT) return;
    // RFC 5927 §4.1: act only if the quoted sequence number is in flight.
    if (!seqInWindow(seq, sk.sndUna, (sk.sndMax + 1) >>> 0)) {
      this.drops.count("tcp.icmp_out_of_window");
      return;
    }
    let errno: number = Errno.EHOSTUNREACH;
    if (e.type === 3) {
      if (e.code === 4) return; // fragmentation needed: we never set DF
      errno = e.code === 0 || e.code === 6 || e.code === 9 || e.code === 11
        ? Errno.ENETUNREACH
        : e.code === 2 || e.code === 3
        ? Errno.ECONNREFUSED
        : Errno.EHOSTUNREACH;
    } else if (e.type === 12) errno = Errno.EPROTO;
    else if (e.type !== 11) return; // MUST-55: source quench and others ignored
    // MUST-56: soft errors never abort; a hard error aborts a connection attempt.
    if (e.hard && (sk.state === TcpState.SYN_SENT || sk.state === TcpState.SYN_RECEIVED)) {
      tcpFail(sk, errno);
      return;
    }
    sk.softErr = errno;
  }
}

/** A child starts with its listener's socket options (Linux `sk_clone_lock`). */
function inheritOptions(child: TcpSock, lsk: TcpSock): void {
  child.rcvbuf = lsk.rcvbuf;
  child.sndbuf = lsk.sndbuf;
  child.nodelay = lsk.nodelay;
  child.cork = lsk.cork;
  child.reuseAddr = lsk.reuseAddr;
  child.keepalive = lsk.keepalive;
  child.keepIdle = lsk.keepIdle;
  child.keepIntvl = lsk.keepIntvl;
  child.keepCnt = lsk.keepCnt;
  child.linger = lsk.linger;
  child.userTimeout = lsk.userTimeout;
  child.userMss = lsk.userMss;
  child.timeWaitLen = lsk.timeWaitLen;
  child.ttl = lsk.ttl;
  child.tos = lsk.tos;
}

export { TcpSock };
