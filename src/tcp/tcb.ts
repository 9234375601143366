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
import type { RouteResult } from "../ipv4/route.ts";
import type { Route6Result } from "../ipv6/route.ts";
import type { Ipv6Family } from "../ipv6/setup.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import type { HotPaths } from "../wasm/bindings.ts";
import type { Ipv4Address } from "../wire/addr.ts";
import { TCP_DEFAULT_MSS } from "../wire/tcp_options.ts";
import { type CongestionControl, CongestionState } from "./congestion/cc.ts";
import { type IsnSource, Poll, Shutdown, type TcpConfig, TimerKind } from "./config.ts";
import type { TcpMemory } from "./mem.ts";
import type { SegmentScratch } from "./scratch.ts";
import type { SynCookies } from "./syncookies.ts";
import { seqAdd, seqBefore, seqDiff, TcpState } from "./state.ts";
import type { TcpTableEntry, TcpTables } from "./tables.ts";

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
  readonly acks: AckBatch;
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
  readonly wakes: WakeBatch;
  /** The stack's default socket options, shared by every TCB until it sets one ({@link Tcb.ownOpt}). */
  readonly defaultOpts: SocketSettings;
}

/**
 * Readiness callbacks of many TCBs run as ONE deferred task (the issue's
 * "wakeups of blocked readers and writers are batched"): a softnet drain
 * that touches a thousand connections schedules one task, not a thousand.
 * Wakes raised while the batch runs go to the next batch, so a callback
 * that keeps waking its own socket cannot starve the clock.
 *
 * @example
 * ```ts
 * import { WakeBatch } from "./tcb.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * const wakes = new WakeBatch(new VirtualClock());
 * wakes.pending; // 0
 * ```
 */
export class WakeBatch {
  // Counted, never truncated: `length = 0` drops an array's backing store,
  // and the next push allocates a new one (about 160 bytes per batch).
  #queue: (Tcb | null)[] = [];
  #n = 0;
  #spare: (Tcb | null)[] = [];
  readonly #clock: Clock;
  readonly #run = (): void => {
    const q = this.#queue;
    const n = this.#n;
    this.#queue = this.#spare;
    this.#n = 0;
    let error: unknown = null;
    for (let i = 0; i < n; i++) {
      const sk = q[i]!;
      q[i] = null;
      try {
        sk.runWake();
      } catch (e) {
        // One throwing callback must not leave the rest of the batch unwoken.
        error ??= e;
      }
    }
    this.#spare = q;
    if (error !== null) throw error;
  };

  /** A batch that defers on `clock`. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** TCBs whose callbacks wait for the next batch. */
  get pending(): number {
    return this.#n;
  }

  /** Queue `sk`'s callback (the caller makes sure it is queued once). */
  add(sk: Tcb): void {
    const q = this.#queue;
    const n = this.#n++;
    if (n < q.length) q[n] = sk;
    else q.push(sk);
    if (n === 0) this.#clock.defer(this.#run);
  }
}

/**
 * Connections owed an immediate ACK, sent together once the current batch
 * of work (a receive drain) is done (`output.ts` `queueAck`): the segments a
 * drain delivers to one connection cost one ACK (RFC 9293 MUST-58/59,
 * "aggregate ACKs"; Linux gets the same from GRO). Data sent meanwhile
 * carries the ACK and the pure one is skipped.
 *
 * @example
 * ```ts
 * import { AckBatch } from "./tcb.ts";
 * new AckBatch().count; // 0
 * ```
 */
export class AckBatch {
  /**
   * Connections with `rcv.ackNow` set, in the order they asked: the first
   * {@link AckBatch.count} slots (reused, never truncated — `length = 0`
   * would drop the backing store and the next push allocate one).
   */
  readonly queue: (Tcb | null)[] = [];
  /** Slots of {@link AckBatch.queue} in use. */
  count = 0;
  /** A flush task is deferred. */
  armed = false;
  /** The flush task (bound once by the protocol). */
  run: () => void = noop;
}

/**
 * Path MTU discovery's per-connection state (RFC 1191, RFC 4821; `pmtu.ts`),
 * allocated only for connections that learn something about their path.
 *
 * @example
 * ```ts
 * import { PathMtuState } from "./tcb.ts";
 * new PathMtuState().pmtu; // 0: the route's MTU applies
 * ```
 */
export class PathMtuState {
  /** The path MTU learnt from ICMP (RFC 1191), or 0 to use the route's. */
  pmtu = 0;
  /** When {@link PathMtuState.pmtu} was lowered (it expires, RFC 1191 §6.3). */
  pmtuStamp = 0;
  /** A forged or absurd MTU hit the floor: DF is off (IP_PMTUDISC_WANT), Linux's locked MTU. */
  pmtuLocked = false;
  /** Packetization-layer probing (RFC 4821) is on for this connection. */
  mtupEnabled = false;
  /** RFC 4821 search_low: the largest MTU known to work. */
  mtupLow = 0;
  /** RFC 4821 search_high: the smallest MTU known (or assumed) not to. */
  mtupHigh = 0;
  /** The MTU of the probe in flight, or 0. */
  mtupProbe = 0;
  /** The probe's end sequence number. */
  mtupProbeEnd = 0;
  /** When the last search finished (ms): a new one after `mtuProbeInterval`. */
  mtupStamp = 0;
}

/**
 * TCP_INFO's delivery-rate sample and "what limits sending" clock (Linux
 * `tcp_rate.c`, `tcp_chrono_*`), per connection but made only once it sends
 * or has data acknowledged (`ack.ts` `rateSample`, `output.ts` `chrono`):
 * an idle connection carries a null slot.
 *
 * @example
 * ```ts
 * import { SendRate } from "./tcb.ts";
 * new SendRate().chronoType; // 0: nothing to send
 * ```
 */
export class SendRate {
  /** Delivery-rate sampling: `delivered` at the start of the interval. */
  rateDelivered = 0;
  /** Delivery-rate sampling: when the interval began (ms), 0 = not yet. */
  rateStamp = 0;
  /** The last delivery-rate sample (bytes/s, `tcpi_delivery_rate`). */
  deliveryRate = 0;
  /** That sample was taken while the sender was not cwnd-limited (`tcpi_delivery_rate_app_limited`). */
  rateAppLimited = false;
  /** What limits sending now (Linux chrono): 0 none, 1 busy, 2 receive window, 3 send buffer. */
  chronoType = 0;
  /** When {@link SendRate.chronoType} began (ms). */
  chronoStart = 0;
  /** ms spent busy / receive-window limited / send-buffer limited (`tcpi_busy_time`, …). */
  busyTime = 0;
  /** ms limited by the peer's window (`tcpi_rwnd_limited`). */
  rwndLimitedTime = 0;
  /** ms limited by the send buffer (`tcpi_sndbuf_limited`). */
  sndbufLimitedTime = 0;
}

/**
 * The SACK scoreboard's totals (RFC 6675 §2–4, Linux `sacked_out`,
 * `lost_out`, `retrans_out` in bytes): one record per connection that ever
 * saw a SACK block, deemed a segment lost or retransmitted.
 *
 * @example
 * ```ts
 * import { Scoreboard } from "./tcb.ts";
 * new Scoreboard(0).sackedBytes; // 0
 * ```
 */
export class Scoreboard {
  /** Bytes of sent segments the peer SACKed (RFC 6675 SACKed). */
  sackedBytes = 0;
  /** Bytes of sent, un-SACKed segments deemed lost (RACK, NewReno, RTO). */
  lostBytes = 0;
  /** Bytes of retransmissions still in flight. */
  retransBytes = 0;
  /** The first segment that may wait for a retransmission (a hint, checked before use). */
  lostHint: SkBuff | null = null;

  /** A scoreboard with nothing marked; SND.UNA is `una`. */
  constructor(
    /** End of the highest SACKed segment, or SND.UNA when it was made (`SendState.highSack` reads it). */
    public highSack: number,
  ) {}
}

/**
 * `snd`'s scoreboard, made on first use.
 *
 * @example
 * ```ts
 * import { scoreboardOf, SendState } from "./tcb.ts";
 * scoreboardOf(new SendState(65536)).lostBytes; // 0
 * ```
 */
export function scoreboardOf(snd: SendState): Scoreboard {
  return snd.sb ??= new Scoreboard(snd.una);
}

/**
 * What the sender keeps between ACKs that carry SACK blocks (`scoreboard.ts`
 * `sackTag`; Linux `recv_sack_cache`, the skb hint): made when the first
 * SACK block arrives.
 *
 * @example
 * ```ts
 * import { SackInput } from "./tcb.ts";
 * new SackInput().cacheLen; // 0
 * ```
 */
export class SackInput {
  /** The SACK blocks processed for the previous ACK (`[l, r, …]`, 4 pairs; skip what they cover). */
  readonly cache: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  /** Pairs in {@link SackInput.cache}. */
  cacheLen = 0;
  /** Where the last SACK walk stopped (a hint, checked before use). */
  hint: SkBuff | null = null;
  /** D-SACK blocks received (`tcpi_dsack_dups`). */
  dsackDups = 0;
}

/**
 * The send side (RFC 9293 §3.3.1 send sequence variables; Linux `snd_*`,
 * `write_seq`, `sk_write_queue`; gVisor `TCPSenderState`).
 *
 * @example
 * ```ts
 * import { SendState } from "./tcb.ts";
 * const snd = new SendState(262_144);
 * snd.queued; // 0: SND.WRITE − SND.UNA
 * ```
 */
export class SendState {
  /** ISS: our initial sequence number. */
  iss = 0;
  /** SND.UNA: oldest unacknowledged sequence number. */
  una = 0;
  /** SND.NXT: next sequence number to send (retreats on RTO, go-back-N). */
  nxt = 0;
  /** Highest sequence number sent + 1 (BSD snd_max; SND.NXT retreats on RTO). */
  max = 0;
  /** Sequence number after the last byte queued by the user (Linux write_seq). */
  writeSeq = 0;
  /** SND.WND: the peer's window, scaled (bytes). */
  wnd = 0;
  /** SND.WL1: SEG.SEQ of the last window update. */
  wl1 = 0;
  /** SND.WL2: SEG.ACK of the last window update. */
  wl2 = 0;
  /** MAX.SND.WND (RFC 5961 §5). */
  maxWnd = 0;
  /** End of the last small segment sent (Minshall's Nagle). */
  sml = 0;
  /** SND.UP: the sequence number after the last urgent byte sent, or -1 (RFC 6093). */
  up: number = -1;
  /** Shift applied to windows the peer sends (RFC 7323 Snd.Wind.Shift). */
  wscale = 0;
  /** Effective send MSS: payload bytes per segment, options excluded (MUST-16). */
  mss: number = TCP_DEFAULT_MSS;
  /** The peer's MSS (536 until it tells us, MUST-15). */
  mssClamp: number = TCP_DEFAULT_MSS;
  /**
   * Bytes to build a write-queue segment up to (Linux `tcp_xmit_size_goal`):
   * `mss`, or a multiple of it up to 64 KiB when the route's device takes
   * TSO super-segments.
   */
  sizeGoal: number = TCP_DEFAULT_MSS;
  /** Bytes of TSO super-segments the last ACK freed (`ack.ts`, for slow start). */
  superAcked = 0;
  /** Unacknowledged and unsent segments, in sequence order. */
  readonly queue: SkbQueue = new SkbQueue();
  /** First segment never sent, or null (Linux sk_send_head). */
  head: SkBuff | null = null;
  /** The booleans below as bits of one integer (one 8-byte field, not 3). */
  #bits = 0;
  /** SND.UNA when the pressure scan last saw it move (`pressure.ts`). */
  progressUna = 0;
  /** When the pressure scan last saw SND.UNA move, or the data wait begin (clock ms). */
  progressAt = 0;
  /** Clock ms when the SYN (or current head retransmission series) was first sent. */
  retransStamp = 0;
  /** Retransmissions of the current head (R1/R2). */
  retransmits = 0;
  /** Clock ms of the last data sent. */
  lastSend = 0;
  /** The route to the peer (Linux `sk_dst_cache`), or null until looked up. */
  route: RouteResult | null = null;
  /** The route to an IPv6 peer (`family.ts`), or null until looked up. */
  route6: Route6Result | null = null;
  /** The route table's generation when {@link SendState.route} (or `route6`) was looked up. */
  routeGen: number = -1;
  /** IPv6: the flow label of the connection (RFC 6437), 0 until first computed. */
  flowLabel: number = 0;
  /** When forward progress last confirmed the next hop (`ack.ts`), or -Infinity. */
  confirmedAt: number = -Infinity;
  /**
   * The SACK scoreboard's totals (RFC 6675 §2–4; `scoreboard.ts`; the
   * per-segment marks live in each write-queue buffer's `sacked` bits), made
   * by the first SACK, loss mark or retransmission; null (all zero) until
   * then. Read them through the getters below.
   */
  sb: Scoreboard | null = null;
  /** What processing the peer's SACK blocks remembers (`scoreboard.ts`), made at the first SACK received. */
  sackIn: SackInput | null = null;
  /** Path MTU discovery's state (`pmtu.ts`), made when first needed (an ICMP, a black hole). */
  mtu: PathMtuState | null = null;
  // Counters for TCP_INFO (`socket/tcp_info.ts`).
  /** Segments sent, retransmissions and pure ACKs included (`tcpi_segs_out`). */
  segsOut = 0;
  /** Segments sent with data (`tcpi_data_segs_out`). */
  dataSegsOut = 0;
  /** Payload bytes sent, retransmissions included (`tcpi_bytes_sent`). */
  bytesSent = 0;
  /** Bytes cumulatively acknowledged (`tcpi_bytes_acked`). */
  bytesAcked = 0;
  /** Bytes delivered to the peer, SACKed included (`tcpi_delivered`, in bytes). */
  delivered = 0;
  /** Clock ms of the last acceptable ACK (`tcpi_last_ack_recv`). */
  lastAckRcv = 0;
  /** Delivery-rate samples and send-limit times (TCP_INFO), made when data is first sent or ACKed. */
  rate: SendRate | null = null;

  /** A send side with an SO_SNDBUF of `buf` bytes. */
  constructor(
    /** SO_SNDBUF (bytes). */
    public buf: number,
  ) {}

  /** Bytes queued for sending and not yet acknowledged (payload; SO_SNDBUF counts `queue.truesize`). */
  get queued(): number {
    return seqDiff(this.writeSeq, this.una);
  }

  /** FlightSize: SND.NXT − SND.UNA. */
  get flight(): number {
    return seqDiff(this.nxt, this.una);
  }

  /** Bytes of sent segments the peer SACKed (RFC 6675 SACKed). */
  get sackedBytes(): number {
    const b = this.sb;
    return b === null ? 0 : b.sackedBytes;
  }

  /** Bytes of sent, un-SACKed segments deemed lost (RACK, NewReno, RTO). */
  get lostBytes(): number {
    const b = this.sb;
    return b === null ? 0 : b.lostBytes;
  }

  /** Bytes of retransmissions still in flight. */
  get retransBytes(): number {
    const b = this.sb;
    return b === null ? 0 : b.retransBytes;
  }

  /** End of the highest SACKed segment, or SND.UNA (RFC 6675 HighACK's counterpart). */
  get highSack(): number {
    const b = this.sb;
    return b === null || seqBefore(b.highSack, this.una) ? this.una : b.highSack;
  }

  /** The first segment that may wait for a retransmission (a hint, checked before use). */
  get lostHint(): SkBuff | null {
    const b = this.sb;
    return b === null ? null : b.lostHint;
  }

  /**
   * RFC 6675 §4 "pipe": bytes believed in the network — sent and not
   * acknowledged, less what was SACKed or deemed lost, plus retransmissions
   * in flight (Linux `tcp_packets_in_flight`, in bytes). Equals the flight
   * when no SACK or loss information exists.
   */
  get pipe(): number {
    const f = seqDiff(this.nxt, this.una);
    const b = this.sb;
    return b === null ? f : f - b.sackedBytes - b.lostBytes + b.retransBytes;
  }

  /** Write space was asked for and not yet signalled (SOCK_NOSPACE). */
  get noSpace(): boolean {
    return (this.#bits & 1) !== 0;
  }

  set noSpace(on: boolean) {
    this.#bits = on ? this.#bits | 1 : this.#bits & ~1;
  }

  /** Waiting for the stack's memory (`mem.ts`): poll shows no write space meanwhile. */
  get memWait(): boolean {
    return (this.#bits & 2) !== 0;
  }

  set memWait(on: boolean) {
    this.#bits = on ? this.#bits | 2 : this.#bits & ~2;
  }

  /** SO_SNDBUF was set by the user: it does not grow with the window (SOCK_SNDBUF_LOCK). */
  get bufLocked(): boolean {
    return (this.#bits & 4) !== 0;
  }

  set bufLocked(on: boolean) {
    this.#bits = on ? this.#bits | 4 : this.#bits & ~4;
  }

  /**
   * ISS inherited from a reused TIME-WAIT 4-tuple, or -1: kept in
   * {@link SendState.iss} itself (unused until connect() takes it) with a
   * bit saying it was preset, not in a field of its own.
   */
  get presetIss(): number {
    return (this.#bits & 8) !== 0 ? this.iss : -1;
  }

  set presetIss(v: number) {
    if (v < 0) this.#bits &= ~8;
    else {
      this.iss = v;
      this.#bits |= 8;
    }
  }
}

/**
 * The receive side (RFC 9293 §3.3.1 receive sequence variables; Linux
 * `rcv_*`, `sk_receive_queue`, `out_of_order_queue`; gVisor `TCPReceiverState`).
 *
 * @example
 * ```ts
 * import { RecvState } from "./tcb.ts";
 * const rcv = new RecvState(262_144);
 * rcv.up; // -1: no urgent data
 * ```
 */
export class RecvState {
  /** IRS: the peer's initial sequence number. */
  irs = 0;
  /** RCV.NXT: next sequence number expected. */
  nxt = 0;
  /** Window we advertised, relative to `wup` (Linux rcv_wnd). */
  wnd = 0;
  /** RCV.NXT when the window was last advertised (Linux rcv_wup). */
  wup = 0;
  /** RCV.UP: the sequence number after the last urgent byte received, or -1. */
  up: number = -1;
  /** Shift applied to windows we send (RFC 7323 Rcv.Wind.Shift). */
  wscale = 0;
  /** MSS we advertise. */
  advmss: number = TCP_DEFAULT_MSS;
  /** Largest segment received (for the every-second-segment ACK rule). */
  mss: number = TCP_DEFAULT_MSS;
  /** Bytes in the receive queue not yet read. */
  queued = 0;
  /** Bytes held out of order. */
  ofoBytes = 0;
  /** Bytes received since the last ACK we sent. */
  unacked = 0;
  /** The booleans below as bits of one integer (one 8-byte field, not 4). */
  #bits = 0;
  /** Quick ACKs left (Linux `icsk_ack.quick`): ACK every data segment at once while > 0. */
  quick = 0;
  /** Delayed-ACK timeout in ms, 0 until the first data arrives (Linux `icsk_ack.ato`). */
  ato = 0;
  /** Clock ms of the last data segment received (Linux `icsk_ack.lrcvtime`). */
  lastDataRcv = 0;
  /** Segments received (`tcpi_segs_in`). */
  segsIn = 0;
  /** Segments received with data (`tcpi_data_segs_in`). */
  dataSegsIn = 0;
  /** Bytes received in order (`tcpi_bytes_received`). */
  bytesReceived = 0;
  /** Last ACK number we sent (RFC 7323 Last.ACK.sent). */
  lastAckSent = 0;
  /** Clock ms of the last segment received (keepalive idle, user timeout). */
  lastRcv = 0;
  /**
   * In-order received data: until the first byte arrives, the shared, frozen
   * empty queue (like {@link RecvState.ofo}); add to it only through
   * {@link rcvQueueOf}.
   */
  queue: SkbQueue = NO_OFO;
  /**
   * Out-of-order segments, sorted by seq: until the first one arrives, the
   * shared, frozen empty queue (most connections never see one); add to it
   * only through {@link ofoQueueOf}, which makes the connection's own.
   */
  ofo: SkbQueue = NO_OFO;
  /** Arena offset of the out-of-order range table, 0 when none. */
  ofoTable = 0;
  /** Payload per slot byte of full-sized arrivals, in 1/256 (Linux `scaling_ratio`; `buffers.ts`). */
  ratio = 128;
  /** Auto-tuning: bytes the reader drained in the last measured round trip (Linux `rcvq_space.space`). */
  space = 0;
  /** Auto-tuning: bytes read since the measurement began. */
  spaceCopied = 0;
  /** Auto-tuning: when the measurement began (clock ms), -1 before the first read. */
  spaceTime: number = -1;
  /**
   * The SACK and D-SACK blocks we report (`sack.ts`), made at the first
   * out-of-order or duplicate arrival and reused; null until then.
   */
  sack: SackReport | null = null;

  /** A receive side with an SO_RCVBUF of `buf` bytes. */
  constructor(
    /** SO_RCVBUF (bytes). */
    public buf: number,
  ) {}

  /** SACK blocks to report (0…4). */
  get numSacks(): number {
    const r = this.sack;
    return r === null ? 0 : r.count;
  }

  /** A D-SACK block is pending for the next ACK (RFC 2883). */
  get dsack(): boolean {
    const r = this.sack;
    return r !== null && r.dsack;
  }

  /** An ACK is owed (delayed-ACK timer armed, or queued for the end of the drain). */
  get ackPending(): boolean {
    return (this.#bits & 1) !== 0;
  }

  set ackPending(on: boolean) {
    this.#bits = on ? this.#bits | 1 : this.#bits & ~1;
  }

  /** Queued on the stack's {@link TcpContext.acks} batch: ACK at the end of this drain. */
  get ackNow(): boolean {
    return (this.#bits & 2) !== 0;
  }

  set ackNow(on: boolean) {
    this.#bits = on ? this.#bits | 2 : this.#bits & ~2;
  }

  /** Interactive (Linux pingpong): we answered data with data; ACKs wait for a reply to ride on. */
  get pingpong(): boolean {
    return (this.#bits & 4) !== 0;
  }

  set pingpong(on: boolean) {
    this.#bits = on ? this.#bits | 4 : this.#bits & ~4;
  }

  /** SO_RCVBUF was set by the user: no auto-tuning (SOCK_RCVBUF_LOCK). */
  get bufLocked(): boolean {
    return (this.#bits & 8) !== 0;
  }

  set bufLocked(on: boolean) {
    this.#bits = on ? this.#bits | 8 : this.#bits & ~8;
  }
}

/** The empty receive and out-of-order queue every {@link RecvState} starts with (frozen: adding to it throws). */
const NO_OFO: SkbQueue = Object.freeze(new SkbQueue());

/**
 * `sk`'s own receive queue, made (and charged to the stack's memory) on
 * first use: the queue to add in-order data to. An idle connection (and
 * every connection until its first byte) keeps none.
 *
 * @example
 * ```ts
 * // rcvQueueOf(tcb).push(skb);
 * ```
 */
export function rcvQueueOf(sk: Tcb): SkbQueue {
  let q = sk.rcv.queue;
  if (q === NO_OFO) {
    q = sk.rcv.queue = new SkbQueue();
    q.account = sk.ctx.mem;
  }
  return q;
}

/**
 * `sk`'s own out-of-order queue, made (and charged to the stack's memory)
 * on first use: the queue to add a segment to.
 *
 * @example
 * ```ts
 * // ofoQueueOf(tcb).insertAfter(at, skb);
 * ```
 */
export function ofoQueueOf(sk: Tcb): SkbQueue {
  let q = sk.rcv.ofo;
  if (q === NO_OFO) {
    q = sk.rcv.ofo = new SkbQueue();
    q.account = sk.ctx.mem;
  }
  return q;
}

/**
 * The SACK blocks a receiver reports (RFC 2018 §4, RFC 2883; Linux
 * `selective_acks`, `duplicate_sack`): one record per connection that ever
 * held out-of-order data or saw a duplicate.
 *
 * @example
 * ```ts
 * import { SackReport } from "./tcb.ts";
 * new SackReport().count; // 0
 * ```
 */
export class SackReport {
  /** Blocks, flat `[start, end, …]`, most recently touched first (4 kept). */
  readonly blocks: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  /** Blocks in use (0…4). */
  count = 0;
  /** A D-SACK block is pending for the next ACK (RFC 2883). */
  dsack = false;
  /** Start of the pending D-SACK block. */
  dsackStart = 0;
  /** End of the pending D-SACK block. */
  dsackEnd = 0;
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
