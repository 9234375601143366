/**
 * What TCP does about memory beyond accounting it: the orphan cap (Linux
 * `tcp_max_orphans`, `tcp_check_oom`) and, while the stack's memory is under
 * pressure, the eviction of connections that hold buffers and make no
 * progress (RFC 6429; Linux `tcp_out_of_resources`).
 *
 * RFC 6429 §2: a connection in persist may be aborted when resources are
 * exhausted (MUST-37 keeps it open only while resources allow). A scan runs
 * every {@link SCAN_INTERVAL_MS} while the account is under pressure
 * (`mem.ts`) and resets, oldest progress first, until the pressure ends
 * (the total is back below the low mark):
 * - orphans (closed by the user) holding more than `wmemMin` whose data did
 *   not move since the last scan (Linux resets them at once under memory
 *   pressure);
 * - connections whose queued data has not moved for `stuckTimeout` while the
 *   peer's window is zero or below one segment — stuck in persist, or
 *   starved by a 1-byte window (Sockstress).
 *
 * A reader that drains slowly makes progress and is never chosen; nothing
 * is evicted without pressure.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import type { Timer } from "../core/clock.ts";
import { tcpDone, tcpFail } from "./lifecycle.ts";
import { sendActiveReset } from "./output.ts";
import { TcpState } from "./state.ts";
import type { Tcb, TcpContext } from "./tcb.ts";

/** How often the eviction scan runs while memory is under pressure (ms). */
export const SCAN_INTERVAL_MS = 500;

/**
 * The eviction scan of one TCP instance: started when the account enters
 * pressure, re-armed while it lasts.
 *
 * @example
 * ```ts
 * // const scan = new PressureScan(tcp.ctx); // TcpProtocol does this
 * // scan.stop(); // at stack shutdown
 * ```
 */
export class PressureScan {
  readonly #ctx: TcpContext;
  readonly #timer: Timer;
  readonly #victims: Tcb[] = [];

  /** A scan for `ctx`; it arms itself whenever `ctx.mem` enters pressure. */
  constructor(ctx: TcpContext) {
    this.#ctx = ctx;
    this.#timer = ctx.clock.createTimer(() => this.#run());
    ctx.mem.onPressure = () => this.#arm();
  }

  /** Stop scanning (stack shutdown). */
  stop(): void {
    this.#ctx.mem.onPressure = null;
    this.#ctx.clock.clearTimer(this.#timer);
  }

  #arm(): void {
    if (!this.#timer.pending) this.#ctx.clock.resetTimer(this.#timer, SCAN_INTERVAL_MS);
  }

  #run(): void {
    const ctx = this.#ctx;
    const mem = ctx.mem;
    if (!mem.underPressure) return;
    const now = ctx.clock.now();
    const stuckMs = ctx.config.stuckTimeout;
    const victims = this.#victims;
    for (const sk of ctx.socks) {
      const snd = sk.snd;
      if (snd.queue.empty) {
        snd.progressAt = now;
        continue;
      }
      if (snd.una !== snd.progressUna || snd.progressAt === 0) {
        // First sight of this backlog, or its data moved since the last scan.
        snd.progressUna = snd.una;
        snd.progressAt = now;
        continue;
      }
      if (!holdsConnection(sk)) continue;
      if (sk.orphan) {
        if (snd.queue.truesize > ctx.config.wmemMin) victims.push(sk);
      } else if (
        stuckMs > 0 && now - snd.progressAt >= stuckMs && snd.wnd < snd.mss
      ) {
        victims.push(sk);
      }
    }
    // Orphans first, then the longest without progress.
    victims.sort((a, b) =>
      a.orphan !== b.orphan ? (a.orphan ? -1 : 1) : a.snd.progressAt - b.snd.progressAt
    );
    // Down to the low mark: that is where the pressure ends (and windows and
    // buffers may grow again).
    for (let i = 0; i < victims.length && mem.underPressure; i++) {
      evict(victims[i]!);
    }
    victims.length = 0;
    if (mem.underPressure) this.#arm();
  }
}

/** A synchronized connection that still sends (not TIME-WAIT or CLOSED). */
function holdsConnection(sk: Tcb): boolean {
  const s = sk.state;
  return s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT ||
    s === TcpState.FIN_WAIT_1 || s === TcpState.CLOSING || s === TcpState.LAST_ACK;
}

/** Reset `sk` for the memory it holds: an orphan silently, a user's with ETIMEDOUT. */
function evict(sk: Tcb): void {
  const st = sk.ctx.mem.stats;
  sendActiveReset(sk);
  if (sk.orphan) {
    st.orphansAborted++;
    tcpDone(sk);
  } else {
    // The peer stopped taking data: what the persist timer would report
    // after a user timeout (RFC 6429 §2).
    st.stuckEvicted++;
    tcpFail(sk, Errno.ETIMEDOUT);
  }
}

/**
 * A connection the user just closed lingers (FIN, unsent data): count it as
 * an orphan, and reset it at once when that makes more than `maxOrphans`
 * (Linux `tcp_close` → `tcp_check_oom`: "too many orphaned sockets").
 * Returns true when it was reset.
 *
 * @example
 * ```ts
 * // tcpClose(tcb) calls orphanCheck(tcb) once the FIN is queued
 * ```
 */
export function orphanCheck(sk: Tcb): boolean {
  const ctx = sk.ctx;
  if (sk.orphanCounted || (!holdsConnection(sk) && sk.state !== TcpState.FIN_WAIT_2)) return false;
  sk.orphanCounted = true;
  ctx.orphans++;
  if (ctx.orphans <= ctx.config.maxOrphans) return false;
  ctx.mem.stats.orphansAborted++;
  ctx.drops.count("tcp.too_many_orphans");
  sendActiveReset(sk);
  tcpDone(sk);
  return true;
}
