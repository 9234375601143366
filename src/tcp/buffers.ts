/**
 * Socket buffers by true size (Linux `sk_wmem_queued`, `sk_rmem_alloc`,
 * `tcp_win_from_space`, `tcp_rcv_space_adjust`, `tcp_sndbuf_expand`,
 * `tcp_wmem_schedule`): a connection is charged the whole arena slot of
 * every buffer it queues (`SkbQueue.truesize`), against SO_SNDBUF and
 * SO_RCVBUF, so 76-byte segments in 2 KiB slots cost what they occupy.
 *
 * - **Send.** New write-queue memory is granted by {@link sndMemSchedule}:
 *   within SO_SNDBUF, and from the stack's account (`mem.ts`): always the
 *   guaranteed minimum `wmemMin` (progress, as `tcp_wmem_schedule`), never
 *   above the high mark, only the fair share under pressure. A refused
 *   writer waits (poll shows no write space) until memory comes back. The
 *   send buffer grows with the congestion window ({@link sndbufExpand}).
 * - **Receive.** The window we offer is what the free part of SO_RCVBUF can
 *   hold at the payload-to-slot ratio measured on full-sized segments
 *   (`tcp_win_from_space` with `scaling_ratio`); auto-tuning (DRS,
 *   {@link rcvSpaceAdjust}) grows SO_RCVBUF to twice what the reader drains
 *   per round trip, up to `rmemMax`, unless the user set SO_RCVBUF.
 *
 * @module
 */
import { AllocPriority, type Arena, MAX_HEADER } from "../skb/arena.ts";
import type { AllocOptions, SkBuff } from "../skb/skbuff.ts";
import type { Tcb, TcpContext } from "./tcb.ts";
import { MemWait } from "./mem.ts";

/** `ratio` is a fraction of 256 (Linux `TCP_RMEM_TO_WIN_SCALE` = 8). */
export const RATIO_SHIFT = 8;
/** The ratio before any full-sized segment was measured: half (Linux `TCP_DEFAULT_SCALING_RATIO`). */
export const DEFAULT_RATIO = 1 << (RATIO_SHIFT - 1);
/** Smallest SO_RCVBUF: two small slots (Linux `SOCK_MIN_RCVBUF`). */
export const MIN_RCVBUF = 4096;
/** Smallest SO_SNDBUF (Linux `SOCK_MIN_SNDBUF`). */
export const MIN_SNDBUF = 4096;
/** Largest SO_RCVBUF / SO_SNDBUF. */
export const MAX_BUFFER = 1 << 30;
/** Segments in the initial receive-space estimate (Linux `TCP_INIT_CWND`). */
const INIT_SPACE_SEGMENTS = 10;
/** Splits of sent data stop once half the write queue is this far past SO_SNDBUF (Linux `tcp_fragment`'s 128 KiB). */
export const FRAGMENT_SLACK = 128 << 10;

/** Payload a data slot must hold at least: one default-MSS segment (RFC 9293 MUST-15's 536). */
const SMALL_DATA_PAYLOAD = 536;

/**
 * The arena's small data slot (bytes): the smallest size class that holds a
 * 536-byte segment after `MAX_HEADER` of headroom — 2 KiB with the default
 * classes, whose 256-byte class is for bare headers (SYNs, ACKs). Tiny-MSS
 * segments share it, short writes and repacked receive data fill it.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * smallDataSlot(new Arena()); // 2048
 * ```
 */
export function smallDataSlot(arena: Arena): number {
  const classes = arena.classes;
  for (let i = 0; i < classes.length; i++) {
    if (classes[i]!.size - MAX_HEADER >= SMALL_DATA_PAYLOAD) return classes[i]!.size;
  }
  return classes[classes.length - 1]!.size;
}

/**
 * How write-queue buffers are allocated: they are socket memory
 * (`AllocPriority.NORMAL`) and leave the arena's reserve to the receive path.
 *
 * @example
 * ```ts
 * // const skb = ctx.allocator.alloc(size, SEND_ALLOC);
 * ```
 */
export const SEND_ALLOC: AllocOptions = Object.freeze({ priority: AllocPriority.NORMAL });

/**
 * Bytes of arena slots the receive side holds (Linux `sk_rmem_alloc`): the
 * in-order and out-of-order queues.
 *
 * @example
 * ```ts
 * // rmemAlloc(tcb) <= tcb.rcv.buf  (apart from data already promised by the window)
 * ```
 */
export function rmemAlloc(sk: Tcb): number {
  return sk.rcv.queue.truesize + sk.rcv.ofo.truesize;
}

/**
 * Window bytes that `space` bytes of receive buffer can hold (Linux
 * `tcp_win_from_space`): the space times the measured payload-to-slot ratio.
 *
 * @example
 * ```ts
 * // winFromSpace(tcb, 262144); // 131072 before any segment was measured
 * ```
 */
export function winFromSpace(sk: Tcb, space: number): number {
  return space <= 0 ? 0 : Math.floor((space * sk.rcv.ratio) / (1 << RATIO_SHIFT));
}

/**
 * Receive-buffer bytes needed for `win` bytes of window (Linux `tcp_space_from_win`).
 *
 * @example
 * ```ts
 * // spaceFromWin(tcb, 65536); // 131072 at the default ratio
 * ```
 */
export function spaceFromWin(sk: Tcb, win: number): number {
  return Math.ceil((win * (1 << RATIO_SHIFT)) / sk.rcv.ratio);
}

/**
 * The window the free part of the receive buffer can hold (Linux
 * `tcp_space`): `winFromSpace(SO_RCVBUF − rmem)`.
 *
 * @example
 * ```ts
 * // const free = rcvFreeWindow(tcb);
 * ```
 */
export function rcvFreeWindow(sk: Tcb): number {
  return winFromSpace(sk, sk.rcv.buf - rmemAlloc(sk));
}

/**
 * The whole receive buffer in window bytes (Linux `tcp_full_space`).
 *
 * @example
 * ```ts
 * // rcvFullWindow(tcb); // what an empty buffer could offer
 * ```
 */
export function rcvFullWindow(sk: Tcb): number {
  return winFromSpace(sk, sk.rcv.buf);
}

/**
 * Measure the payload-to-slot ratio on an arriving full-sized segment
 * (Linux `tcp_measure_rcv_mss` → `scaling_ratio`), so the window we offer
 * matches what the buffer can hold with the slots this link delivers in.
 *
 * @example
 * ```ts
 * // measureRatio(tcb, skb); // skb.data at the payload
 * ```
 */
export function measureRatio(sk: Tcb, skb: SkBuff): void {
  const len = skb.len;
  const rcv = sk.rcv;
  if (len < rcv.mss) return;
  // A super-segment's slot is a size class far above most of its lengths:
  // one that is less than half full says how much the sender had to send,
  // not how this link packs data. Measured, it shrinks the window, which
  // shrinks the next super-segment — a spiral (TSO matrix −4.5 %).
  if (len < skb.truesize >>> 1 && skb.truesize > smallDataSlot(sk.ctx.allocator.arena)) return;
  const r = Math.min(
    Math.max(1, Math.floor((len << RATIO_SHIFT) / skb.truesize)),
    1 << RATIO_SHIFT,
  );
  rcv.ratio = r;
}

/**
 * Receive-buffer auto-tuning, dynamic right-sizing (Linux
 * `tcp_rcv_space_adjust`, after Fisher's DRS): once per round trip, if the
 * reader drained more than last time, grow SO_RCVBUF so the window covers
 * twice that plus 16 segments, more while the sender is still speeding up,
 * up to `rmemMax`. Not when the user set SO_RCVBUF, nor under memory
 * pressure. Call after the user read `copied` bytes.
 *
 * @example
 * ```ts
 * // rcvSpaceAdjust(tcb, n); // in recvmsg
 * ```
 */
export function rcvSpaceAdjust(sk: Tcb, copied: number): void {
  const rcv = sk.rcv;
  const now = sk.now();
  if (rcv.spaceTime < 0) {
    // tcp_init_buffer_space: the first estimate is the initial window.
    rcv.space = Math.min(rcvFullWindow(sk), INIT_SPACE_SEGMENTS * rcv.advmss);
    rcv.spaceTime = now;
    rcv.spaceCopied = copied;
    return;
  }
  rcv.spaceCopied += copied;
  const rtt = sk.rtt.srtt;
  if (rtt <= 0 || now - rcv.spaceTime < rtt) return;
  const got = rcv.spaceCopied;
  if (got > rcv.space) {
    const ctx = sk.ctx;
    const cfg = ctx.config;
    if (cfg.moderateRcvbuf && !rcv.bufLocked && !ctx.mem.underPressure) {
      // 2 × what the reader took (losses), a cushion of 16 segments, and
      // room for a sender still doubling its rate (slow start).
      let win = 2 * got + 16 * rcv.advmss;
      win += 2 * Math.floor((win * (got - rcv.space)) / Math.max(rcv.space, 1));
      const buf = Math.min(spaceFromWin(sk, win), Math.max(cfg.rmemMax, rcv.buf));
      if (buf > rcv.buf) {
        rcv.buf = buf;
        ctx.mem.stats.rcvbufGrown++;
      }
    }
    rcv.space = got;
  }
  rcv.spaceCopied = 0;
  rcv.spaceTime = now;
}

/**
 * Grow SO_SNDBUF with the congestion window (Linux `tcp_sndbuf_expand` via
 * `tcp_should_expand_sndbuf`): room for twice the window in the slots its
 * segments take, up to `wmemMax`; not when the user set SO_SNDBUF, under
 * pressure, or above the low mark. Call after an ACK freed send memory.
 *
 * @example
 * ```ts
 * // sndbufExpand(tcb); // after new data was acknowledged
 * ```
 */
export function sndbufExpand(sk: Tcb): void {
  const snd = sk.snd;
  const ctx = sk.ctx;
  if (snd.bufLocked) return;
  const mem = ctx.mem;
  if (mem.underPressure || mem.allocated >= mem.low) return;
  const goal = snd.sizeGoal;
  // True size per byte of a full write-queue buffer of this connection.
  const slot = slotFor(ctx, goal);
  const want = Math.ceil((2 * sk.cong.cwnd * slot) / goal);
  if (want > snd.buf) {
    snd.buf = Math.min(want, Math.max(ctx.config.wmemMax, snd.buf));
    mem.stats.sndbufGrown++;
  }
}

/** The slot size a write-queue buffer for `payload` bytes takes. */
function slotFor(ctx: TcpContext, payload: number): number {
  return ctx.allocator.arena.classFor(payload + MAX_HEADER)?.size ?? payload + MAX_HEADER;
}

/**
 * May `sk` queue `bytes` more of send memory (Linux `sk_wmem_schedule` with
 * `tcp_wmem_schedule`'s guarantee)? Within SO_SNDBUF is the caller's check;
 * this is the stack-wide one, against TCP's marks — the high mark measured
 * on what the arena holds (TCP's charge, or more when frames in device
 * queues or other users add to it):
 * - a socket with less than `wmemMin` queued may (progress for everyone, as
 *   `tcp_wmem_schedule`) up to a ceiling a quarter of the way from the high
 *   mark back to the pressure mark — the rest is left for frames in flight;
 * - any other stops short of that ceiling by the guarantees of all sockets
 *   (at most half the distance from the pressure mark), so they fit;
 * - under pressure only within its fair share, `high` / sockets
 *   (`__sk_mem_raise_allocated`).
 * A refused writer waits (`mem.ts`: for the next freed buffer when it has
 * next to nothing queued, else for its own ACKs, the total to fall back or
 * the pressure to end).
 *
 * @example
 * ```ts
 * // if (!sndMemSchedule(tcb, skb.truesize)) skb.free(); // and the writer waits
 * ```
 */
export function sndMemSchedule(sk: Tcb, bytes: number): boolean {
  const ctx = sk.ctx;
  const mem = ctx.mem;
  // The high mark holds for the arena as a whole (frames in device queues,
  // other users): TCP adds no send buffer once either is there.
  const arenaUsed = ctx.allocator.arena.bytesInUse;
  const used = mem.allocated > arenaUsed ? mem.allocated : arenaUsed;
  if (used + bytes <= mem.low) return true;
  const queued = sk.snd.queue.truesize;
  const minimum = ctx.config.wmemMin;
  const forced = queued < minimum;
  const sockets = Math.max(1, ctx.socks.size - ctx.timeWaitCount);
  // Below the high mark: a quarter of its distance from the pressure mark
  // for frames in flight (device queues, reassembly), then half of it at
  // most for everyone's guaranteed minimum.
  const band = mem.high - mem.pressure;
  const ceiling = mem.high - (band >>> 2);
  const limit = forced ? ceiling : ceiling - Math.min(sockets * minimum, band >>> 1);
  if (used + bytes > limit) {
    mem.stats.sendSuppressed++;
    mem.wait(sk, forced ? MemWait.SLOT : MemWait.HIGH);
    return false;
  }
  if (forced || !mem.underPressure) return true;
  if ((queued + rmemAlloc(sk) + bytes) * sockets <= mem.high) return true;
  mem.stats.sendSuppressed++;
  mem.wait(sk, MemWait.SHARE);
  return false;
}
