/**
 * The TCP control block (Linux `struct tcp_sock`, RFC 9293 §3.3.1): data
 * only, grouped by concern the way gVisor's `tcp/state.go` groups
 * `TCPSenderState` / `TCPReceiverState` / `TCPRTTState` —
 *
 * | record | holds |
 * |---|---|
 * | {@link SendState} `tcb.snd` | SND.* sequence space, the write queue, SO_SNDBUF, the send MSS |
 * | {@link RecvState} `tcb.rcv` | RCV.* sequence space, the receive and out-of-order queues, SO_RCVBUF, ACK owed |
 * | {@link RttState} `tcb.rtt` | the RFC 6298 estimator and backoff (fields of the TCB itself) |
 * | `CongestionState` `tcb.cong` | cwnd, ssthresh, recovery, and the pluggable algorithm |
 * | {@link TimerState} `tcb.timers` | the three timer slots (Linux `ICSK_TIME_*`) and probes (fields of the TCB itself) |
 * | {@link SocketSettings} `tcb.opt` | socket options (`setsockopt`) |
 * | {@link RateLimits} `tcb.limits` | RFC 5961 challenge-ACK and out-of-window ACK budgets |
 * | {@link ListenState} `tcb.listen` | a listener's backlog, SYN queue and accept queue |
 *
 * State only some connections need hangs off these records as `null` until
 * first use (`x ??= new …`), so an idle connection does not pay for it: the
 * SACK scoreboard ({@link Scoreboard} `snd.sb`, {@link SackInput}
 * `snd.sackIn`), the SACK blocks we report ({@link SackReport} `rcv.sack`),
 * path MTU discovery ({@link PathMtuState} `snd.mtu`), TCP_INFO's rate and
 * chrono ({@link SendRate} `snd.rate`), loss recovery — PRR, undo, RACK, TLP
 * (`LossState` `cong.loss`) — and the algorithm's record (`cong.priv`:
 * CUBIC with HyStart++), besides {@link RateLimits} and {@link ListenState}.
 * ECN's state is bits of one integer on the TCB ({@link TcbEcn}).
 *
 * Then the few things every layer reads directly on the TCB: the 4-tuple, the
 * state, the negotiated options, the socket's error and shutdown bits. The
 * only behaviour here is what touches nothing but this data: the one
 * {@link Tcb.setState} every transition goes through, the deferred wake-up,
 * and readiness ({@link Tcb.poll}).
 *
 * Everything that acts on a TCB is a function in the modules above this one
 * (`output.ts`, `input.ts`, `conn.ts`, …), which depend one way: see `tcp.ts`.
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import type { DropCounters, TcpStats } from "../core/stats.ts";
import type { Ipv4Layer } from "../ipv4/layer.ts";
import type { Ipv6Family } from "../ipv6/setup.ts";
import type { SkbAllocator } from "../skb/skbuff.ts";
import type { HotPaths } from "../wasm/bindings.ts";
import type { Ipv4Address } from "../wire/addr.ts";
import { type CongestionControl, CongestionState } from "./congestion/cc.ts";
import { type IsnSource, Poll, Shutdown, type TcpConfig, TimerKind } from "./config.ts";
import type { TcpMemory } from "./mem.ts";
import type { SegmentScratch } from "./scratch.ts";
import type { SynCookies } from "./syncookies.ts";
import { seqAdd, seqDiff, TcpState } from "./state.ts";
import type { TcpTableEntry, TcpTables } from "./tables.ts";
import type { AckBatch, WakeBatch } from "./batches.ts";
import { SendState } from "./tcb_send.ts";
import { RecvState } from "./tcb_recv.ts";

export * from "./batches.ts";
export * from "./tcb_send.ts";
export * from "./tcb_recv.ts";

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
  readonly sk: Tcb;
  /** State before. */
  readonly from: TcpState;
  /** State after. */
  readonly to: TcpState;
  /** Clock ms. */
  readonly time: number;
}

/**
 * Everything a TCB needs from its protocol instance (one per stack).
 *
 * @example
 * ```ts
 * // const ctx: TcpContext = stack.tcp.ctx; ctx.stats.inSegs
 * ```
 */
export interface TcpContext {
  /** Time source and timers. */
  readonly clock: Clock;
  /** IPv4 output and routing. */
  readonly ipv4: Ipv4Layer;
  /** IPv6 output, routing and neighbour discovery (null: a stack without IPv6 TCP). */
  readonly ipv6: Ipv6Family | null;
  /** Packet buffers. */
  readonly allocator: SkbAllocator;
  /** WebAssembly hot paths (range tables). */
  readonly hotPaths: HotPaths;
  /** Bind / listen / established tables. */
  readonly tables: TcpTables<Tcb>;
  /** The ISN for a 4-tuple (keyed hash plus clock, RFC 9293 §3.4.1). */
  readonly isn: IsnSource;
  /** SYN cookie generator and checker (RFC 4987 §3.6). */
  readonly cookies: SynCookies;
  /** TCP MIB counters. */
  readonly stats: TcpStats;
  /** Drop counters by reason. */
  readonly drops: DropCounters;
  /** Stack-wide settings. */
  readonly config: TcpConfig;
  /** Congestion control for new connections. */
  readonly cc: CongestionControl;
  /** ACKs owed at the end of the current receive drain (one per connection per drain). */
  readonly acks: AckBatch<Tcb>;
  /** Every live TCB (listeners, connections, TIME-WAIT, requests). */
  readonly socks: Set<Tcb>;
  /** Records the output path reuses for every segment. */
  readonly scratch: SegmentScratch;
  /** Optional state-change hook. */
  trace: ((e: TcpTraceEvent) => void) | null;
  /** TCBs now in TIME-WAIT (kept by `setState`). */
  timeWaitCount: number;
  /** The memory every TCP queue is charged to (Linux `tcp_memory_allocated`, `tcp_mem`). */
  readonly mem: TcpMemory;
  /** Orphans: closed by the user and still finishing (Linux `tcp_orphan_count`). */
  orphans: number;
  /** Readiness callbacks waiting to run, one deferred task per batch ({@link Tcb.wake}). */
  readonly wakes: WakeBatch<Tcb>;
  /** The stack's default socket options, shared by every TCB until it sets one ({@link Tcb.ownOpt}). */
  readonly defaultOpts: SocketSettings;
}

/**
 * The RTT estimator and RTO (RFC 6298; Linux `srtt_us`, `mdev_us`,
 * `icsk_rto`, `icsk_backoff`; gVisor `TCPRTTState`).
 *
 * @example
 * ```ts
 * import { RttState } from "./tcb.ts";
 * new RttState(1000).srtt; // 0: no sample yet
 * ```
 */
export class RttState {
  /** SRTT in ms (0 = no sample yet). */
  srtt = 0;
  /** RTTVAR in ms. */
  rttvar = 0;
  /** Exponential backoff count. */
  backoff = 0;
  /** Time-based RTT sample in progress (no timestamps): its end sequence number, or -1. */
  seq: number = -1;
  /** When the timed segment was sent. */
  time = 0;
  /** The RTT sample the last ACK gave (ms), or -1 (for congestion control, HyStart++). */
  lastSample: number = -1;

  /** An estimator whose RTO starts at `rto` ms. */
  constructor(
    /** Current RTO in ms (backed off). */
    public rto: number,
  ) {}
}

/**
 * The three timer slots of a connection, as in Linux: retransmit-or-probe,
 * delayed ACK, and keepalive (shared by FIN-WAIT-2 and TIME-WAIT). They
 * share ONE clock timer armed for the earliest slot (`timers.ts`): a slot
 * is a deadline (Infinity when off), and the timer's callback, bound once
 * when the TCB is created (`timeouts.ts`), runs whichever slots are due.
 * Ten thousand connections cost ten thousand timer entries, not thirty.
 *
 * @example
 * ```ts
 * import { TimerState } from "./tcb.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * new TimerState(new VirtualClock()).rtxKind; // TimerKind.NONE
 * ```
 */
export class TimerState {
  /** The clock timer, armed for the earliest slot's deadline (or earlier: it re-arms lazily). */
  readonly timer: Timer;
  /** `TimerKind.RETRANS` or `TimerKind.PROBE` while the retransmit slot is on. */
  rtxKind: number = TimerKind.NONE;
  /** When the retransmit / persist slot is due (Infinity when off). */
  rtxDeadline: number = Infinity;
  /** When the delayed ACK is due (Infinity when none is owed). */
  delackDeadline: number = Infinity;
  /** When the keepalive / FIN-WAIT-2 / TIME-WAIT slot is due (Infinity when off). */
  keepDeadline: number = Infinity;
  /** Unanswered keepalive or zero-window probes. */
  probesOut = 0;

  /**
   * One unscheduled timer of `clock`, re-armed in place for the
   * connection's life (no allocation per arm); its callback is bound when
   * the TCB is created (`timeouts.ts`).
   */
  constructor(clock: Clock) {
    this.timer = clock.createTimer(noop);
  }
}

/**
 * Socket options kept per connection (`setsockopt`); a passively opened
 * child starts with its listener's (Linux `sk_clone_lock`).
 *
 * @example
 * ```ts
 * import { SocketSettings } from "./tcb.ts";
 * import { DEFAULT_TCP_CONFIG } from "./config.ts";
 * new SocketSettings(DEFAULT_TCP_CONFIG).keepIdle; // 7 200 000 ms (2 h, MUST-28)
 * ```
 */
export class SocketSettings {
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
  /** TCP_MAXSEG, 0 = none. */
  userMss = 0;
  /** IP_TTL for this connection's segments, -1 = the IP layer's default (MUST-49). */
  ttl: number = -1;
  /** IP_TOS / DSCP for this connection's segments, ECN bits clear (MUST-48). */
  tos = 0;
  /** TCP_ECN: -1 = the stack's `ecn`, else 0 / 1 / 2 (`TcpConfig.ecn`). */
  ecn: number = -1;
  /** IP_MTU_DISCOVER: 0 DONT, 1 WANT (default, as Linux for TCP), 2 DO, 3 PROBE. */
  pmtudisc = 1;

  /** The stack's defaults. */
  constructor(c: Readonly<TcpConfig>) {
    this.keepIdle = c.keepIdle;
    this.keepIntvl = c.keepIntvl;
    this.keepCnt = c.keepCnt;
    this.timeWaitLen = 2 * c.msl;
  }

  /** Copy every setting from `o` (a child inherits its listener's). */
  copyFrom(o: SocketSettings): void {
    this.nodelay = o.nodelay;
    this.cork = o.cork;
    this.keepalive = o.keepalive;
    this.keepIdle = o.keepIdle;
    this.keepIntvl = o.keepIntvl;
    this.keepCnt = o.keepCnt;
    this.linger = o.linger;
    this.userTimeout = o.userTimeout;
    this.timeWaitLen = o.timeWaitLen;
    this.userMss = o.userMss;
    this.ttl = o.ttl;
    this.tos = o.tos;
    this.ecn = o.ecn;
    this.pmtudisc = o.pmtudisc;
  }
}

/**
 * Per-connection answer budgets: RFC 5961 §7 challenge ACKs and the
 * rate-limited ACK to out-of-window segments (Linux `last_oow_ack_time`).
 *
 * @example
 * ```ts
 * import { RateLimits } from "./tcb.ts";
 * new RateLimits().challengeStamp; // -1: no challenge ACK sent yet
 * ```
 */
export class RateLimits {
  /** Start of the current challenge-ACK second, or -1. */
  challengeStamp: number = -1;
  /** Challenge ACKs sent in that second. */
  challengeCount = 0;
  /** When the last rate-limited out-of-window ACK went out, or -1. */
  lastOowAck: number = -1;
}

/**
 * A listener's queues (Linux `inet_connection_sock.icsk_accept_queue`).
 *
 * @example
 * ```ts
 * import { ListenState } from "./tcb.ts";
 * new ListenState(128).acceptQueue.length; // 0
 * ```
 */
export class ListenState {
  /** Children in SYN-RECEIVED (the SYN queue). */
  readonly synQueue: Set<Tcb> = new Set();
  /** Established children waiting for accept(). */
  readonly acceptQueue: Tcb[] = [];
  /** When this listener last sent a SYN cookie, or -1 (Linux `ts_recent_stamp` of the listener). */
  lastCookieSent: number = -1;

  /** A listener with a backlog of `backlog` (the accept-queue bound). */
  constructor(
    /** Listen backlog (accept-queue bound, and the SYN queue's). */
    public backlog: number,
  ) {}
}

/**
 * {@link Tcb.ecn}'s bits: ECN's whole per-connection state is one small
 * integer on the TCB, whatever the connection does.
 *
 * @example
 * ```ts
 * import { TcbEcn } from "./tcb.ts";
 * TcbEcn.OK | TcbEcn.CE; // 3: negotiated, a CE mark awaits the sender's CWR
 * ```
 */
export const TcbEcn = {
  /** Negotiated (RFC 3168 §6.1.1). */
  OK: 1,
  /** A CE mark arrived: every ACK carries ECE until the sender's CWR (§6.1.3). */
  CE: 2,
  /** The next new data segment carries CWR (§6.1.2: cwnd was reduced for an ECE). */
  CWR: 4,
} as const;

/**
 * A TCP connection's control block. Created by the protocol
 * (`TcpProtocol.socket()`, passive opens); the user holds it through a
 * `TcpSock`.
 *
 * @example
 * ```ts
 * // const tcb = stack.tcp.socket().tcb;
 * // tcb.snd.una, tcb.rcv.nxt, tcb.rtt.srtt, tcb.cong.cwnd
 * ```
 */
export class Tcb implements TcpTableEntry {
  /** Local IPv4 address (0 = any; 0 on an IPv6 connection). */
  laddr: Ipv4Address = 0;
  /** Local port (0 = unbound). */
  lport = 0;
  /** Remote IPv4 address (0 on an IPv6 connection). */
  raddr: Ipv4Address = 0;
  /** Remote port. */
  rport = 0;
  /**
   * An IPv6 TCB's addresses, 32 bytes: local at 0 (`::` = any), remote at
   * 16; null for IPv4 (the family tag: `family.ts`). Allocated once per
   * IPv6 connection; segments compare and hash it in place.
   */
  addr6: Uint8Array | null = null;
  /** Interface index an IPv6 link-local connection is tied to (its zone), 0 = none. */
  scopeId = 0;
  /** Owned by the stack's tables ({@link TcpTableEntry.tablesRec}). */
  tablesRec: unknown = null;
  /** Current state; change it only through {@link Tcb.setState}. */
  state: TcpState = TcpState.CLOSED;
  /**
   * The TCB's booleans as bits of one integer (one field, not thirteen: a
   * field is 8 bytes per connection), read and written through the accessors
   * below; bit 12 is "a wake-up is queued", bits 13–14 hold
   * {@link Tcb.shutdownMask} and bits 16–18 {@link Tcb.ecn}.
   */
  #bits = 0;

  /** Random per-connection timestamp offset (T7). */
  tsOffset = 0;
  /** TS.Recent (RFC 7323) or -1 when none. */
  tsRecent: number = -1;
  /** Clock ms of the last TS.Recent update. */
  tsRecentStamp = 0;

  /** Send side. */
  readonly snd: SendState;
  /** Receive side. */
  readonly rcv: RecvState;
  /**
   * RTT estimator: the TCB itself, which carries {@link RttState}'s fields
   * (one object fewer per connection: a header and a pointer, 32 bytes).
   */
  get rtt(): RttState {
    return this;
  }
  /** Congestion control. */
  readonly cong: CongestionState;
  /** Timer slots: the TCB itself, which carries {@link TimerState}'s fields (as {@link Tcb.rtt}). */
  get timers(): TimerState {
    return this;
  }

  // RttState's fields, read as `tcb.rtt.*`.
  /** SRTT in ms (0 = no sample yet); read it as `rtt.srtt`. */
  srtt = 0;
  /** RTTVAR in ms; read it as `rtt.rttvar`. */
  rttvar = 0;
  /** Exponential backoff count; read it as `rtt.backoff`. */
  backoff = 0;
  /** Time-based RTT sample in progress: its end sequence number, or -1; read it as `rtt.seq`. */
  seq: number = -1;
  /** When the timed segment was sent; read it as `rtt.time`. */
  time = 0;
  /** The RTT sample the last ACK gave (ms), or -1; read it as `rtt.lastSample`. */
  lastSample: number = -1;
  /** Current RTO in ms (backed off); read it as `rtt.rto`. */
  rto: number;

  // TimerState's fields, read as `tcb.timers.*`.
  /** The clock timer, armed for the earliest slot's deadline; read it as `timers.timer`. */
  readonly timer: Timer;
  /** `TimerKind.RETRANS` or `TimerKind.PROBE` while the retransmit slot is on; `timers.rtxKind`. */
  rtxKind: number = TimerKind.NONE;
  /** When the retransmit / persist slot is due (Infinity when off); `timers.rtxDeadline`. */
  rtxDeadline: number = Infinity;
  /** When the delayed ACK is due (Infinity when none is owed); `timers.delackDeadline`. */
  delackDeadline: number = Infinity;
  /** When the keepalive / FIN-WAIT-2 / TIME-WAIT slot is due (Infinity when off); `timers.keepDeadline`. */
  keepDeadline: number = Infinity;
  /** Unanswered keepalive or zero-window probes; `timers.probesOut`. */
  probesOut = 0;
  /**
   * Socket options: the stack's defaults (or the listener's, for a child)
   * shared until this TCB sets one; write only through {@link Tcb.ownOpt}.
   */
  opt: SocketSettings;
  /** Answer budgets, made on the first challenge or out-of-window ACK (null until then). */
  limits: RateLimits | null = null;
  /** A listener's queues (null unless LISTEN). */
  listen: ListenState | null = null;
  /** The listener that created this child (until accept()). */
  parent: Tcb | null = null;

  /** {@link Tcb.skErr} (bits 0–15) and {@link Tcb.softErr} (bits 16–30): errnos, one field. */
  #errs = 0;
  /** Readiness callback: data ready, write space, state change. */
  onEvent: ((mask: number) => void) | null = null;

  /** ECN (RFC 3168; `ecn.ts`): {@link TcbEcn} bits, 0 when not negotiated (bits 16–18 of the packed field). */
  get ecn(): number {
    return (this.#bits >>> 16) & 7;
  }

  set ecn(v: number) {
    this.#bits = (this.#bits & ~0x70000) | ((v & 7) << 16);
  }

  /** `Shutdown` bits (Linux sk_shutdown; bits 13–14 of the packed field). */
  get shutdownMask(): number {
    return (this.#bits >>> 13) & 3;
  }

  set shutdownMask(v: number) {
    this.#bits = (this.#bits & ~0x6000) | ((v & 3) << 13);
  }

  /** Pending hard error (positive errno), read-and-clear through {@link Tcb.error}. */
  get skErr(): number {
    return this.#errs & 0xffff;
  }

  set skErr(e: number) {
    this.#errs = (this.#errs & ~0xffff) | (e & 0xffff);
  }

  /** Last soft error (ICMP), reported instead of ETIMEDOUT on timeout (DEV-13). */
  get softErr(): number {
    return this.#errs >>> 16;
  }

  set softErr(e: number) {
    this.#errs = (this.#errs & 0xffff) | ((e & 0x7fff) << 16);
  }

  /** IPV6_V6ONLY of an IPv6 socket: a listener on `::` takes no IPv4. */
  get v6only(): boolean {
    return (this.#bits & 1) !== 0;
  }

  set v6only(on: boolean) {
    this.#bits = on ? this.#bits | 1 : this.#bits & ~1;
  }

  /** SO_REUSEADDR. */
  get reuseAddr(): boolean {
    return (this.#bits & 2) !== 0;
  }

  set reuseAddr(on: boolean) {
    this.#bits = on ? this.#bits | 2 : this.#bits & ~2;
  }

  /** Set by the tables: the port came from bind(). */
  get userBoundPort(): boolean {
    return (this.#bits & 4) !== 0;
  }

  set userBoundPort(on: boolean) {
    this.#bits = on ? this.#bits | 4 : this.#bits & ~4;
  }

  /** Window scaling negotiated (both sides offered it, W1). */
  get wscaleOk(): boolean {
    return (this.#bits & 8) !== 0;
  }

  set wscaleOk(on: boolean) {
    this.#bits = on ? this.#bits | 8 : this.#bits & ~8;
  }

  /** Timestamps negotiated. */
  get tsOk(): boolean {
    return (this.#bits & 16) !== 0;
  }

  set tsOk(on: boolean) {
    this.#bits = on ? this.#bits | 16 : this.#bits & ~16;
  }

  /** SACK-permitted negotiated. */
  get sackOk(): boolean {
    return (this.#bits & 32) !== 0;
  }

  set sackOk(on: boolean) {
    this.#bits = on ? this.#bits | 32 : this.#bits & ~32;
  }

  /** {@link Tcb.opt} is this TCB's own record (not shared): writes need no copy. */
  get optOwned(): boolean {
    return (this.#bits & 64) !== 0;
  }

  set optOwned(on: boolean) {
    this.#bits = on ? this.#bits | 64 : this.#bits & ~64;
  }

  /** SYN-RECEIVED came from a passive OPEN (MUST-11). */
  get passive(): boolean {
    return (this.#bits & 128) !== 0;
  }

  set passive(on: boolean) {
    this.#bits = on ? this.#bits | 128 : this.#bits & ~128;
  }

  /** Waiting on the listener's accept queue. */
  get inAcceptQueue(): boolean {
    return (this.#bits & 256) !== 0;
  }

  set inAcceptQueue(on: boolean) {
    this.#bits = on ? this.#bits | 256 : this.#bits & ~256;
  }

  /** The user closed the socket (Linux SOCK_DEAD). */
  get orphan(): boolean {
    return (this.#bits & 512) !== 0;
  }

  set orphan(on: boolean) {
    this.#bits = on ? this.#bits | 512 : this.#bits & ~512;
  }

  /** Counted in `ctx.orphans` (closed by the user while the connection lingers). */
  get orphanCounted(): boolean {
    return (this.#bits & 1024) !== 0;
  }

  set orphanCounted(on: boolean) {
    this.#bits = on ? this.#bits | 1024 : this.#bits & ~1024;
  }

  /** The connection completed and later ended (Linux SOCK_DONE). */
  get done(): boolean {
    return (this.#bits & 2048) !== 0;
  }

  set done(on: boolean) {
    this.#bits = on ? this.#bits | 2048 : this.#bits & ~2048;
  }

  /** A CLOSED TCB with the stack's defaults. */
  constructor(readonly ctx: TcpContext) {
    const c = ctx.config;
    this.snd = new SendState(c.sndbuf);
    this.rcv = new RecvState(c.rcvbuf);
    this.rto = c.rtoInitial;
    this.cong = new CongestionState(ctx.cc);
    this.timer = ctx.clock.createTimer(noop);
    this.opt = ctx.defaultOpts;
    // Every buffer this connection queues is charged to the stack (true size).
    this.snd.queue.account = ctx.mem;
  }

  /**
   * This TCB's options record to write to: copied first if it is shared
   * (copy-on-write: ten thousand connections that never call setsockopt
   * share one record).
   */
  ownOpt(): SocketSettings {
    if (!this.optOwned) {
      const o = new SocketSettings(this.ctx.config);
      o.copyFrom(this.opt);
      this.opt = o;
      this.optOwned = true;
    }
    return this.opt;
  }

  /** ECN negotiated (RFC 3168 §6.1.1): our data carries ECT(0), ECE/CWR are live. */
  get ecnOk(): boolean {
    return (this.ecn & TcbEcn.OK) !== 0;
  }

  set ecnOk(on: boolean) {
    this.ecn = on ? this.ecn | TcbEcn.OK : 0;
  }

  /** True in TIME-WAIT (the tables treat the entry as a 4-tuple guard). */
  get isTimeWait(): boolean {
    return this.state === TcpState.TIME_WAIT;
  }

  /** Current time in ms. */
  now(): number {
    return this.ctx.clock.now();
  }

  /**
   * Current time in whole ms, for the coarse stamps a connection keeps
   * (last segment received, TS.Recent's age, the retransmission series'
   * start, the min-RTT window): an integer below 2^31 is stored in the field
   * itself, where a fractional reading would be a separate 16-byte number in
   * every connection.
   */
  stampNow(): number {
    return Math.floor(this.ctx.clock.now());
  }

  /** Our timestamp clock (1 ms ticks plus the per-connection offset, T7). */
  tsNow(): number {
    return seqAdd(Math.floor(this.ctx.clock.now()), this.tsOffset);
  }

  /**
   * The one place a state changes (RFC 9293 §3.3.2): traces, counts, keeps
   * the CurrEstab gauge, the TIME-WAIT count and the SYN-queue length, and
   * wakes waiters.
   */
  setState(to: TcpState): void {
    const from = this.state;
    if (from === to) return;
    const ctx = this.ctx;
    const st = ctx.stats;
    st.transitions[from * 11 + to]!++;
    const wasEstab = from === TcpState.ESTABLISHED || from === TcpState.CLOSE_WAIT;
    const isEstab = to === TcpState.ESTABLISHED || to === TcpState.CLOSE_WAIT;
    if (wasEstab && !isEstab) st.currEstab--;
    if (!wasEstab && isEstab) st.currEstab++;
    if (from === TcpState.TIME_WAIT) ctx.timeWaitCount--;
    if (to === TcpState.TIME_WAIT) ctx.timeWaitCount++;
    if (from === TcpState.SYN_RECEIVED && this.passive) this.parent?.listen?.synQueue.delete(this);
    this.state = to;
    ctx.trace?.({ sk: this, from, to, time: ctx.clock.now() });
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
    if (this.onEvent === null || (this.#bits & 4608) !== 0) return; // orphan, or queued
    this.#bits |= 4096;
    this.ctx.wakes.add(this);
  }

  /**
   * Run the readiness callback now ({@link WakeBatch} calls it).
   *
   * @internal
   */
  runWake(): void {
    this.#bits &= ~4096;
    if (this.onEvent !== null && !this.orphan) this.onEvent(this.poll());
  }

  /**
   * Readiness (Linux `tcp_poll`): POLLIN data, EOF or a pending connection
   * (listener); POLLOUT write space; POLLERR a pending error; POLLHUP both
   * directions shut or CLOSED; POLLRDHUP the peer sent FIN.
   */
  poll(): number {
    const s = this.state;
    if (s === TcpState.LISTEN) {
      return this.listen !== null && this.listen.acceptQueue.length > 0 ? Poll.IN : 0;
    }
    let mask = 0;
    if (this.shutdownMask === Shutdown.BOTH || s === TcpState.CLOSED) mask |= Poll.HUP;
    if (this.shutdownMask & Shutdown.RCV) mask |= Poll.IN | Poll.RDHUP;
    if (s !== TcpState.SYN_SENT && s !== TcpState.SYN_RECEIVED) {
      if (this.rcv.queued > 0) mask |= Poll.IN;
      const snd = this.snd;
      if (this.shutdownMask & Shutdown.SEND) mask |= Poll.OUT;
      else if (!snd.memWait && snd.buf - snd.queue.truesize >= (snd.buf >>> 2)) mask |= Poll.OUT;
    }
    if (this.urgentMark() >= 0) mask |= Poll.PRI;
    if (this.skErr !== 0) mask |= Poll.ERR;
    return mask;
  }

  /**
   * Urgent data (MUST-32/33, RFC 6093 semantics, delivered in line like
   * SO_OOBINLINE): how many unread bytes lie before the end of the urgent
   * data, or -1 when none is pending. `Poll.PRI` is set while it is ≥ 0.
   */
  urgentMark(): number {
    const rcv = this.rcv;
    if (rcv.up < 0) return -1;
    const fin = (this.shutdownMask & Shutdown.RCV) ? 1 : 0;
    const copied = seqAdd(rcv.nxt, -(rcv.queued + fin));
    const d = seqDiff(rcv.up, copied);
    return d > 0 ? d : -1;
  }

  /** Read and clear the pending error (SO_ERROR): a positive errno or 0. */
  get error(): number {
    const e = this.skErr;
    this.skErr = 0;
    return e;
  }
}

function noop(): void {}
