/**
 * The TCP control block (`TcpSock`, Linux `struct tcp_sock`): RFC 9293 §3.3.1
 * variables, Linux-style fields, socket fields, the queues, and the one
 * `setState()` every transition goes through.
 *
 * The ops API the socket layer wraps (bind, listen, connect, accept, send,
 * recv, shutdown, close, abort, options, poll) is implemented here as
 * methods and documented in `tcp.ts`.
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import type { DropCounters, TcpStats } from "../core/stats.ts";
import type { Ipv4Layer } from "../ipv4/layer.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import type { HotPaths } from "../wasm/bindings.ts";
import type { Ipv4Address } from "../wire/addr.ts";
import { TCP_DEFAULT_MSS } from "../wire/tcp_options.ts";
import type { CongestionControl, CongestionState } from "./congestion/reno.ts";
import {
  tcpAbort,
  tcpAccept,
  tcpBind,
  tcpClose,
  tcpConnect,
  tcpGetOption,
  tcpListen,
  tcpSetOption,
  tcpShutdown,
} from "./conn.ts";
import { sendmsg } from "./output.ts";
import { recvmsg } from "./recv.ts";
import { TcpState } from "./state.ts";
import type { TcpTableEntry, TcpTables } from "./tables.ts";

/**
 * `sk_shutdown` bits.
 *
 * @example
 * ```ts
 * import { Shutdown } from "./sock.ts";
 * Shutdown.BOTH === (Shutdown.RCV | Shutdown.SEND); // true
 * ```
 */
export const Shutdown = { RCV: 1, SEND: 2, BOTH: 3 } as const;

/**
 * Readiness bits (Linux `EPOLL*` values).
 *
 * @example
 * ```ts
 * import { Poll } from "./sock.ts";
 * const readable = (mask: number) => (mask & (Poll.IN | Poll.HUP)) !== 0;
 * ```
 */
export const Poll = {
  IN: 0x001,
  PRI: 0x002,
  OUT: 0x004,
  ERR: 0x008,
  HUP: 0x010,
  RDHUP: 0x2000,
} as const;

/**
 * `send()` / `recv()` flags (Linux values).
 *
 * @example
 * ```ts
 * import { MsgFlags } from "./sock.ts";
 * // sk.send(header, MsgFlags.MORE); sk.send(body);
 * MsgFlags.PEEK; // 2
 * ```
 */
export const MsgFlags = {
  /** Urgent data (RFC 9293 §3.8.5): the end of this send becomes the urgent pointer. */
  OOB: 0x1,
  /** Peek at received data without consuming it. */
  PEEK: 0x2,
  /** More data follows: hold a partial segment (cork for this call). */
  MORE: 0x8000,
} as const;

/**
 * Socket options understood by {@link TcpSock.setOption} (Linux units).
 *
 * @example
 * ```ts
 * import type { TcpOptionName } from "./sock.ts";
 * const opt: TcpOptionName = "TCP_NODELAY";
 * ```
 */
export type TcpOptionName =
  | "TCP_NODELAY" // 0/1
  | "TCP_CORK" // 0/1
  | "TCP_MAXSEG" // bytes (user MSS, before connect)
  | "SO_KEEPALIVE" // 0/1
  | "TCP_KEEPIDLE" // seconds
  | "TCP_KEEPINTVL" // seconds
  | "TCP_KEEPCNT" // probes
  | "SO_LINGER" // seconds, -1 = off
  | "SO_RCVBUF" // bytes
  | "SO_SNDBUF" // bytes
  | "SO_REUSEADDR" // 0/1
  | "TCP_USER_TIMEOUT" // ms, 0 = default R2
  | "TCP_TIMEWAIT_MS" // TIME-WAIT length in ms (default 2 × MSL)
  | "IP_TTL" // 1…255, -1 = the stack default (MUST-49)
  | "IP_TOS"; // 0…255; the two ECN bits are TCP's and kept 0 (MUST-48)

/**
 * Stack-wide TCP settings (Linux sysctls). Times in ms.
 *
 * @example
 * ```ts
 * import type { TcpConfig } from "./sock.ts";
 * const fast: Partial<TcpConfig> = { msl: 1000, rtoMin: 50 };
 * ```
 */
export interface TcpConfig {
  /** Maximum segment lifetime; TIME-WAIT lasts 2 × MSL (default 30 000 → 60 s, Linux TCP_TIMEWAIT_LEN). */
  msl: number;
  /** RTO floor (default 200, Linux TCP_RTO_MIN; RFC 6298 suggests 1 s — documented deviation). */
  rtoMin: number;
  /** RTO ceiling (default 120 000, Linux TCP_RTO_MAX). */
  rtoMax: number;
  /** RTO before any RTT sample (default 1000, RFC 6298 §2.1). */
  rtoInitial: number;
  /** Give up a SYN after this long (default 180 000 ≥ 3 min, MUST-23). */
  synR2: number;
  /** Give up retransmitting data after this long (default 900 000 ≈ Linux tcp_retries2=15; ≥ 100 s, SHLD-11). */
  r2: number;
  /** Delayed-ACK timeout (default 40, Linux TCP_DELACK_MIN; < 500, MUST-40). */
  delack: number;
  /** SYN-ACK retransmissions before a SYN-queue entry is dropped (default 5, Linux tcp_synack_retries). */
  synAckRetries: number;
  /** Orphaned FIN-WAIT-2 timeout (default 60 000, Linux tcp_fin_timeout). */
  finTimeout: number;
  /** Default receive buffer (bytes, default 262 144). */
  rcvbuf: number;
  /** Default send buffer (bytes, default 262 144). */
  sndbuf: number;
  /** Offer window scaling (default true). */
  windowScaling: boolean;
  /** Offer timestamps (default true). */
  timestamps: boolean;
  /** Offer SACK-permitted (default true; received blocks are validated and ignored for now). */
  sack: boolean;
  /** Smallest send MSS accepted from a peer (default 88: 64 bytes of payload survive 24 of options; §8 rows 7/11). */
  minMss: number;
  /** Largest segment payload we build (default 8960: one 10 KiB arena slot). */
  maxSegment: number;
  /** Keepalive idle time (default 7 200 000 = 2 h, MUST-28). */
  keepIdle: number;
  /** Keepalive probe interval (default 75 000). */
  keepIntvl: number;
  /** Keepalive probes before giving up (default 9). */
  keepCnt: number;
  /** Challenge ACKs per connection per second (default 10; RFC 5961 §7, no global counter). */
  challengeAckLimit: number;
  /** Cap on out-of-order segments held per connection (default 256, §8 row 8). */
  maxOfoSegments: number;
  /** Minimum ms between ACKs answering out-of-window / PAWS-rejected pure ACKs or SYNs, per connection (default 500, Linux tcp_invalid_ratelimit; 0 = off). */
  invalidRateLimit: number;
  /** Zero-window probes (backoff count) before an orphaned socket in persist is aborted (default 8, Linux tcp_orphan_retries = 0 → 8; RFC 6429). */
  orphanRetries: number;
  /** Cap on TIME-WAIT TCBs; beyond it a closing connection skips TIME-WAIT (default 16 384, Linux tcp_max_tw_buckets; §8 row 18). */
  maxTimeWait: number;
  /**
   * SYN cookies (RFC 4987 §3.6; Linux tcp_syncookies): 0 = off (a SYN that
   * finds the queues full is dropped), 1 = only when the SYN queue or the
   * accept queue is full (default), 2 = for every SYN.
   */
  syncookies: 0 | 1 | 2;
}

/**
 * Defaults for {@link TcpConfig}.
 *
 * @example
 * ```ts
 * import { DEFAULT_TCP_CONFIG } from "./sock.ts";
 * 2 * DEFAULT_TCP_CONFIG.msl; // 60000: TIME-WAIT like Linux
 * ```
 */
export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = Object.freeze({
  msl: 30_000,
  rtoMin: 200,
  rtoMax: 120_000,
  rtoInitial: 1000,
  synR2: 180_000,
  r2: 900_000,
  /** Delayed-ACK slot fired. */
  delack: 40,
  synAckRetries: 5,
  finTimeout: 60_000,
  /** SO_RCVBUF (bytes). */
  rcvbuf: 262_144,
  /** SO_SNDBUF (bytes). */
  sndbuf: 262_144,
  windowScaling: true,
  timestamps: true,
  sack: true,
  minMss: 88,
  maxSegment: 8960,
  /** Keepalive idle time in ms (default 2 h, MUST-28). */
  keepIdle: 7_200_000,
  /** Keepalive probe interval in ms. */
  keepIntvl: 75_000,
  /** Keepalive probes before giving up. */
  keepCnt: 9,
  challengeAckLimit: 10,
  maxOfoSegments: 256,
  invalidRateLimit: 500,
  orphanRetries: 8,
  maxTimeWait: 16_384,
  syncookies: 1,
});

/**
 * Generates ISNs and timestamp offsets (implemented in `isn.ts`).
 *
 * @example
 * ```ts
 * import type { IsnSource } from "./sock.ts";
 * const fixed: IsnSource = { isn: () => 1000, tsOffset: () => 0 }; // tests only
 * ```
 */
export interface IsnSource {
  /** The ISN for a 4-tuple (keyed hash plus clock, RFC 9293 §3.4.1). */
  isn(laddr: Ipv4Address, lport: number, raddr: Ipv4Address, rport: number): number;
  /** Random timestamp offset for an address pair (RFC 7323 §7.1). */
  tsOffset(laddr: Ipv4Address, raddr: Ipv4Address): number;
}

/**
 * A state-change trace record.
 *
 * @example
 * ```ts
 * // stack.tcp.trace = (e: TcpTraceEvent) => console.log(TCP_STATE_NAMES[e.to]);
 * ```
 */
export interface TcpTraceEvent {
  /** The connection. */
  readonly sk: TcpSock;
  /** State before. */
  readonly from: TcpState;
  /** State after. */
  readonly to: TcpState;
  /** Clock ms. */
  readonly time: number;
}

/**
 * Everything a TCB needs from its protocol instance.
 *
 * @example
 * ```ts
 * // TcpProtocol implements TcpContext; TcpSock reads sk.ctx.clock, sk.ctx.stats, …
 * ```
 */
export interface TcpContext {
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
  /** Optional state-change hook. */
  trace: ((e: TcpTraceEvent) => void) | null;
  /** TCBs now in TIME-WAIT (kept by `setState`). */
  timeWaitCount: number;
  /** Called when a socket is fully dead (closed by the user and CLOSED). */
  release(sk: TcpSock): void;
  /** Implemented by tcp.ts: stop a listener and drop its children. */
  stopListener(sk: TcpSock): void;
}

/**
 * Timer slots (Linux `ICSK_TIME_*`).
 *
 * @example
 * ```ts
 * import { TimerKind } from "./sock.ts";
 * TimerKind.PROBE; // 2: the persist timer is armed
 * ```
 */
export const TimerKind = { NONE: 0, RETRANS: 1, PROBE: 2 } as const;

/**
 * A TCP socket / connection. Created by `TcpProtocol.socket()`; accepted
 * children come from {@link TcpSock.accept}.
 *
 * @example
 * ```ts
 * // const sk = stack.tcp.socket();
 * // sk.onEvent = (mask) => { if (mask & Poll.IN) read(); };
 * // sk.connect(0xc0000202, 80); // -EINPROGRESS
 * ```
 */
export class TcpSock implements TcpTableEntry, CongestionState {
  // ---- identity (TcpTableEntry) ----
  /** Local address (0 = any). */
  laddr: Ipv4Address = 0;
  /** Local port (0 = unbound). */
  lport = 0;
  /** Remote address. */
  raddr: Ipv4Address = 0;
  /** Remote port. */
  rport = 0;
  /** SO_REUSEADDR. */
  reuseAddr = false;
  /** Set by the tables: the port came from bind(). */
  userBoundPort = false;
  /** TS.Recent (RFC 7323) or -1 when none. */
  tsRecent: number = -1;
  /** Clock ms of the last TS.Recent update. */
  tsRecentStamp = 0;

  /** Current state; change it only through `setState()`. */
  state: TcpState = TcpState.CLOSED;

  // ---- send sequence space (RFC 9293 §3.3.1) ----
  /** ISS: our initial sequence number. */
  iss = 0;
  /** ISS inherited from a reused TIME-WAIT 4-tuple, or -1. */
  presetIss: number = -1;
  /** SND.UNA: oldest unacknowledged sequence number. */
  sndUna = 0;
  /** SND.NXT: next sequence number to send (retreats on RTO, go-back-N). */
  sndNxt = 0;
  /** Highest sequence number sent + 1 (BSD snd_max; SND.NXT retreats on RTO). */
  sndMax = 0;
  /** Sequence number after the last byte queued by the user (Linux write_seq). */
  writeSeq = 0;
  /** SND.WND: the peer's window, scaled (bytes). */
  sndWnd = 0;
  /** SND.WL1: SEG.SEQ of the last window update. */
  sndWl1 = 0;
  /** SND.WL2: SEG.ACK of the last window update. */
  sndWl2 = 0;
  /** MAX.SND.WND (RFC 5961 §5). */
  maxSndWnd = 0;
  /** End of the last small segment sent (Minshall's Nagle). */
  sndSml = 0;
  /** SND.UP: the sequence number after the last urgent byte sent, or -1 (RFC 6093). */
  sndUp: number = -1;

  // ---- receive sequence space ----
  /** IRS: the peer's initial sequence number. */
  irs = 0;
  /** RCV.NXT: next sequence number expected. */
  rcvNxt = 0;
  /** Window we advertised, relative to rcvWup (Linux rcv_wnd). */
  rcvWnd = 0;
  /** RCV.NXT when the window was last advertised (Linux rcv_wup). */
  rcvWup = 0;
  /** RCV.UP: the sequence number after the last urgent byte received, or -1. */
  rcvUp: number = -1;
  /** Bytes in the receive queue not yet read. */
  rcvQueued = 0;
  /** Bytes held out of order. */
  ofoBytes = 0;
  /** Largest segment received (for the every-second-segment ACK rule). */
  rcvMss: number = TCP_DEFAULT_MSS;
  /** Bytes received since the last ACK we sent. */
  rcvUnacked = 0;
  /** An ACK is owed (delayed-ACK timer armed). */
  ackPending = false;
  /** Last ACK number we sent (RFC 7323 Last.ACK.sent). */
  lastAckSent = 0;

  // ---- options ----
  /** Peer's MSS (536 until it tells us, MUST-15). */
  mssClamp: number = TCP_DEFAULT_MSS;
  /** MSS we advertise. */
  advmss: number = TCP_DEFAULT_MSS;
  /** TCP_MAXSEG, 0 = none. */
  userMss = 0;
  /** Effective send MSS (payload bytes per segment, options excluded; MUST-16). */
  mssCache: number = TCP_DEFAULT_MSS;
  /** Shift applied to windows the peer sends (RFC 7323). */
  sndWscale = 0;
  /** Shift applied to windows we send. */
  rcvWscale = 0;
  /** Window scaling negotiated (both sides offered it, W1). */
  wscaleOk = false;
  /** Timestamps negotiated. */
  tsOk = false;
  /** SACK-permitted negotiated. */
  sackOk = false;
  /** Random per-connection timestamp offset (T7). */
  tsOffset = 0;
  /** Clock ms when the SYN (or current head retransmission series) was first sent. */
  retransStamp = 0;

  // ---- RTT / RTO (RFC 6298) ----
  /** SRTT in ms (0 = no sample yet). */
  srtt = 0;
  /** RTTVAR in ms. */
  rttvar = 0;
  /** Current RTO in ms (backed off). */
  rto = 1000;
  /** Exponential backoff count. */
  backoff = 0;
  /** Retransmissions of the current head (R1/R2). */
  retransmits = 0;
  /** Time-based RTT sample in progress (no timestamps): seq and send time; -1 none. */
  rttSeq: number = -1;
  /** When the timed segment was sent. */
  rttTime = 0;

  // ---- congestion (CongestionState) ----
  cwnd = 0;
  ssthresh = 0x7fffffff;
  bytesAcked = 0;
  /** Consecutive duplicate ACKs (RFC 5681 C8). */
  dupAcks = 0;
  /** In NewReno fast recovery (RFC 6582). */
  inRecovery = false;
  /** RFC 6582 "recover". */
  recover = 0;

  // ---- socket fields ----
  /** SO_RCVBUF (bytes). */
  rcvbuf: number;
  /** SO_SNDBUF (bytes). */
  sndbuf: number;
  /** TCP_NODELAY (MUST-17). */
  nodelay = false;
  /** TCP_CORK. */
  cork = false;
  /** SO_KEEPALIVE (off by default, MUST-25). */
  keepalive = false;
  /** Keepalive idle time in ms (default 2 h, MUST-28). */
  keepIdle: number;
  /** Keepalive probe interval in ms. */
  keepIntvl: number;
  /** Keepalive probes before giving up. */
  keepCnt: number;
  /** SO_LINGER seconds, -1 = off. */
  linger: number = -1;
  /** TCP_USER_TIMEOUT ms, 0 = use R2. */
  userTimeout = 0;
  /** TIME-WAIT length in ms (2 × MSL). */
  timeWaitLen: number;
  /** IP_TTL for this connection's segments, -1 = the IP layer's default (MUST-49). */
  ttl = -1;
  /** IP_TOS / DSCP for this connection's segments, ECN bits clear (MUST-48). */
  tos = 0;
  /** Pending hard error (positive errno), read-and-clear through `error`. */
  skErr = 0;
  /** Last soft error (ICMP), reported instead of ETIMEDOUT on timeout. */
  softErr = 0;
  /** `Shutdown` bits (Linux sk_shutdown). */
  shutdownMask = 0;
  /** The user closed the socket (Linux SOCK_DEAD). */
  orphan = false;
  /** The connection completed and later ended (Linux SOCK_DONE). */
  done = false;
  /** Write space was asked for and not yet signalled (SOCK_NOSPACE). */
  noSpace = false;
  /** Readiness callback: data ready, write space, state change. */
  onEvent: ((mask: number) => void) | null = null;

  // ---- queues ----
  /** Unacknowledged and unsent segments, in sequence order. */
  readonly writeQueue: SkbQueue = new SkbQueue();
  /** First segment never sent, or null (Linux sk_send_head). */
  sendHead: SkBuff | null = null;
  /** In-order received data. */
  readonly recvQueue: SkbQueue = new SkbQueue();
  /** Out-of-order segments, sorted by seq. */
  readonly ofoQueue: SkbQueue = new SkbQueue();
  /** Arena offset of the out-of-order range table, 0 when none. */
  ofoTable = 0;

  // ---- timers ----
  /** The retransmit / persist timer. */
  rtxTimer: Timer | null = null;
  /** RETRANS or PROBE while armed. */
  rtxKind: number = TimerKind.NONE;
  /** Deadline the retransmit/probe slot wants (lazy re-arming). */
  rtxDeadline = 0;
  /** The delayed-ACK timer. */
  delackTimer: Timer | null = null;
  /** Keepalive, FIN-WAIT-2 and TIME-WAIT share this slot (as in Linux). */
  keepTimer: Timer | null = null;
  /** When the keepalive slot is due. */
  keepDeadline = 0;
  /** Unanswered keepalive or zero-window probes. */
  probesOut = 0;
  /** Clock ms of the last segment received (keepalive idle). */
  lastRcv = 0;
  /** Clock ms of the last data sent. */
  lastSend = 0;

  // ---- RFC 5961 per-connection challenge-ACK budget ----
  /** Start of the current challenge-ACK second, or -1. */
  challengeStamp: number = -1;
  /** Challenge ACKs sent in that second. */
  challengeCount = 0;
  /** When the last rate-limited out-of-window ACK went out, or -1 (Linux last_oow_ack_time). */
  lastOowAck: number = -1;

  // ---- listener / passive-open ----
  /** Listen backlog (accept-queue bound). */
  backlog = 0;
  /** Children in SYN-RECEIVED (the SYN queue). */
  readonly synQueue: Set<TcpSock> = new Set();
  /** Established children waiting for accept(). */
  readonly acceptQueue: TcpSock[] = [];
  /** The listener that created this child (until accept()). */
  parent: TcpSock | null = null;
  /** SYN-RECEIVED came from a passive OPEN (MUST-11). */
  passive = false;
  /** Waiting on the listener's accept queue. */
  inAcceptQueue = false;

  /** Bound callbacks for timers (one closure per socket, not per arm). */
  readonly onRtxTimer: () => void;
  /** Bound delayed-ACK timer callback. */
  readonly onDelackTimer: () => void;
  /** Bound keepalive-slot timer callback. */
  readonly onKeepTimer: () => void;

  /** A CLOSED socket with the stack's defaults (use `TcpProtocol.socket()`). */
  constructor(readonly ctx: TcpContext, timers: TcpTimerHooks) {
    const c = ctx.config;
    this.rcvbuf = c.rcvbuf;
    this.sndbuf = c.sndbuf;
    this.keepIdle = c.keepIdle;
    this.keepIntvl = c.keepIntvl;
    this.keepCnt = c.keepCnt;
    this.timeWaitLen = 2 * c.msl;
    this.rto = c.rtoInitial;
    this.onRtxTimer = () => timers.rtx(this);
    this.onDelackTimer = () => timers.delack(this);
    this.onKeepTimer = () => timers.keep(this);
  }

  /** True in TIME-WAIT (the tables treat the entry as a 4-tuple guard). */
  get isTimeWait(): boolean {
    return this.state === TcpState.TIME_WAIT;
  }

  /** Bytes in flight: SND.NXT − SND.UNA (CongestionState). */
  get flightSize(): number {
    return (this.sndNxt - this.sndUna) | 0;
  }

  /** Bytes queued for sending and not yet acknowledged (sndbuf accounting). */
  get sndQueued(): number {
    return (this.writeSeq - this.sndUna) | 0;
  }

  /** Current time in ms. */
  now(): number {
    return this.ctx.clock.now();
  }

  /** Our timestamp clock (1 ms ticks plus the per-connection offset, T7). */
  tsNow(): number {
    return (Math.floor(this.ctx.clock.now()) + this.tsOffset) >>> 0;
  }

  /**
   * The one place a state changes (ARCHITECTURE.md §4.3): traces, counts,
   * keeps the CurrEstab gauge and the SYN-queue length, and wakes waiters.
   */
  setState(to: TcpState): void {
    const from = this.state;
    if (from === to) return;
    const st = this.ctx.stats;
    st.transitions[from * 11 + to]!++;
    const wasEstab = from === TcpState.ESTABLISHED || from === TcpState.CLOSE_WAIT;
    const isEstab = to === TcpState.ESTABLISHED || to === TcpState.CLOSE_WAIT;
    if (wasEstab && !isEstab) st.currEstab--;
    if (!wasEstab && isEstab) st.currEstab++;
    if (from === TcpState.TIME_WAIT) this.ctx.timeWaitCount--;
    if (to === TcpState.TIME_WAIT) this.ctx.timeWaitCount++;
    if (from === TcpState.SYN_RECEIVED && this.passive && this.parent !== null) {
      this.parent.synQueue.delete(this);
    }
    this.state = to;
    this.ctx.trace?.({ sk: this, from, to, time: this.ctx.clock.now() });
    this.wake();
  }

  /**
   * Schedule the readiness callback (`sk_data_ready` / `sk_write_space` /
   * `sk_state_change`). It runs as a deferred task with the mask current at
   * that time, at most once per batch of events: user code never runs in
   * the middle of segment processing (no re-entrancy), and a burst of
   * segments costs one callback.
   */
  wake(): void {
    if (this.onEvent === null || this.orphan || this.#wakeQueued) return;
    this.#wakeQueued = true;
    this.ctx.clock.defer(this.#runWake);
  }

  #wakeQueued = false;
  readonly #runWake = (): void => {
    this.#wakeQueued = false;
    if (this.onEvent !== null && !this.orphan) this.onEvent(this.poll());
  };

  /**
   * Readiness (Linux `tcp_poll`): POLLIN data, EOF or a pending connection
   * (listener); POLLOUT write space; POLLERR a pending error; POLLHUP both
   * directions shut or CLOSED; POLLRDHUP the peer sent FIN.
   */
  poll(): number {
    const s = this.state;
    if (s === TcpState.LISTEN) return this.acceptQueue.length > 0 ? Poll.IN : 0;
    let mask = 0;
    if (this.shutdownMask === Shutdown.BOTH || s === TcpState.CLOSED) mask |= Poll.HUP;
    if (this.shutdownMask & Shutdown.RCV) mask |= Poll.IN | Poll.RDHUP;
    if (s !== TcpState.SYN_SENT && s !== TcpState.SYN_RECEIVED) {
      if (this.rcvQueued > 0) mask |= Poll.IN;
      if (this.shutdownMask & Shutdown.SEND) mask |= Poll.OUT;
      else if (this.sndbuf - this.sndQueued >= (this.sndbuf >>> 2)) mask |= Poll.OUT;
    }
    if (this.urgentMark() >= 0) mask |= Poll.PRI;
    if (this.skErr !== 0) mask |= Poll.ERR;
    return mask;
  }

  // ---- the ops API (see tcp.ts) ----

  /** bind(): `port` 0 picks an ephemeral port. 0 or -errno. */
  bind(laddr: Ipv4Address, port: number): number {
    return tcpBind(this, laddr, port);
  }

  /** listen(): 0 or -errno; on a listener only updates the backlog. */
  listen(backlog: number): number {
    return tcpListen(this, backlog);
  }

  /** connect(): -EINPROGRESS once the SYN is out, else -errno. */
  connect(raddr: Ipv4Address, rport: number, laddr?: Ipv4Address): number {
    return tcpConnect(this, raddr, rport, laddr);
  }

  /** accept(): the next connection, or null when none is waiting. */
  accept(): TcpSock | null {
    return tcpAccept(this);
  }

  /** send(): bytes queued, or -errno (-EAGAIN, -EPIPE, …). */
  send(data: Uint8Array, flags = 0): number {
    return sendmsg(this, data, flags);
  }

  /** recv(): bytes read, 0 at end of stream, or -errno (-EAGAIN, -ECONNRESET, …). */
  recv(buf: Uint8Array, flags = 0): number {
    return recvmsg(this, buf, flags);
  }

  /** shutdown(): 0 SHUT_RD, 1 SHUT_WR, 2 SHUT_RDWR. */
  shutdown(how: number): number {
    return tcpShutdown(this, how);
  }

  /** close(): graceful (FIN) unless data would be lost or SO_LINGER is 0 (RST). */
  close(): void {
    tcpClose(this);
  }

  /** abort(): RST and CLOSED. */
  abort(): void {
    tcpAbort(this);
  }

  /** setsockopt(): 0 or -errno. */
  setOption(name: TcpOptionName, value: number | boolean): number {
    return tcpSetOption(this, name, typeof value === "boolean" ? (value ? 1 : 0) : value);
  }

  /** getsockopt(): the value or -ENOPROTOOPT. */
  getOption(name: TcpOptionName): number {
    return tcpGetOption(this, name);
  }

  /**
   * Urgent data (MUST-32/33, RFC 6093 semantics, delivered in line like
   * SO_OOBINLINE): how many unread bytes lie before the end of the urgent
   * data, or -1 when none is pending. `Poll.PRI` is set while it is ≥ 0.
   */
  urgentMark(): number {
    if (this.rcvUp < 0) return -1;
    const copied = (this.rcvNxt - this.rcvQueued - ((this.shutdownMask & Shutdown.RCV) ? 1 : 0)) >>>
      0;
    const d = (this.rcvUp - copied) | 0;
    return d > 0 ? d : -1;
  }

  /** Read and clear the pending error (SO_ERROR): a positive errno or 0. */
  get error(): number {
    const e = this.skErr;
    this.skErr = 0;
    return e;
  }
}

/**
 * Timer callbacks (implemented in timers.ts; injected to avoid an import cycle).
 *
 * @example
 * ```ts
 * // new TcpSock(ctx, timerHooks(ops)); // see timers.ts
 * ```
 */
export interface TcpTimerHooks {
  /** Retransmit / persist slot fired. */
  rtx(sk: TcpSock): void;
  /** Delayed-ACK slot fired. */
  delack(sk: TcpSock): void;
  /** Keepalive / FIN-WAIT-2 / TIME-WAIT slot fired. */
  keep(sk: TcpSock): void;
}
