/**
 * The receive side of the TCP control block (`tcb.rcv`, Linux `rcv_*`, the
 * receive and out-of-order queues) and the SACK blocks it reports. Data
 * only; `tcb.ts` (which re-exports everything here) holds the rest of the
 * control block.
 *
 * @module
 */
import { SkbQueue } from "../skb/queue.ts";
import { TCP_DEFAULT_MSS } from "../wire/tcp_options.ts";
import type { TcpMemory } from "./mem.ts";

/** What {@link rcvQueueOf} and {@link ofoQueueOf} need of a TCB (a `Tcb` is one). */
export interface QueueOwner {
  /** The receive side. */
  readonly rcv: RecvState;
  /** The protocol's memory account, charged by the queues. */
  readonly ctx: { readonly mem: TcpMemory };
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
export function rcvQueueOf(sk: QueueOwner): SkbQueue {
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
export function ofoQueueOf(sk: QueueOwner): SkbQueue {
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
