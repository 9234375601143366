/**
 * The send side of the TCP control block (`tcb.snd`, Linux `snd_*` and the
 * write queue) and the records it makes on first use: path MTU discovery,
 * TCP_INFO's delivery rate, the SACK scoreboard and the SACK input of the
 * last ACK. Data only; `tcb.ts` (which re-exports everything here) holds
 * the rest of the control block.
 *
 * @module
 */
import type { RouteResult } from "../ipv4/route.ts";
import type { Route6Result } from "../ipv6/route.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { SkBuff } from "../skb/skbuff.ts";
import { TCP_DEFAULT_MSS } from "../wire/tcp_options.ts";
import { seqBefore, seqDiff } from "./state.ts";

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
