/**
 * SACK, receiver side (RFC 2018 §4, D-SACK RFC 2883; Linux
 * `tcp_sack_new_ofo_skb`, `tcp_sack_remove`, `tcp_dsack_set`,
 * `tcp_established_options`): the blocks a receiver reports, kept on the
 * receive record ({@link RecvState}) in the order they were last touched.
 *
 * - Every out-of-order arrival extends the block it touches, or starts a new
 *   one; either way that block moves to the front, so the first block always
 *   holds the most recently received segment (RFC 2018 §4 S2) and the rest
 *   follow most recent first ("repeat the most recently reported blocks").
 *   Blocks that now touch are merged. Four are remembered; a fifth distinct
 *   one forgets the oldest (its data is still held, merely not reported).
 * - When RCV.NXT advances, blocks it now covers go; when the out-of-order
 *   queue empties or is pruned (reneging), all go: a block must never claim
 *   data we no longer hold.
 * - A duplicate segment (wholly below RCV.NXT, or wholly already held out of
 *   order) is reported once as a D-SACK block, first in the next ACK (RFC
 *   2883 §4), then forgotten.
 *
 * What a segment carries is computed when it is built: the D-SACK block if
 * any, then as many SACK blocks as fit beside the other options (4, or 3
 * with timestamps, RFC 2018 §3).
 *
 * @module
 */
import { seqAfter, seqBefore } from "./state.ts";
import { type RecvState, SackReport } from "./tcb.ts";

/** Blocks a receiver remembers (Linux `TCP_NUM_SACKS`). */
export const SACK_BLOCKS_KEPT = 4;

/** Widen block `i` of `b` (flat pairs) to cover [s, e) if they overlap or touch. */
function extend(b: number[], i: number, s: number, e: number): boolean {
  const bs = b[2 * i]!;
  const be = b[2 * i + 1]!;
  if (seqAfter(s, be) || seqAfter(bs, e)) return false;
  if (seqBefore(s, bs)) b[2 * i] = s;
  if (seqAfter(e, be)) b[2 * i + 1] = e;
  return true;
}

/**
 * An out-of-order segment [seq, end) was queued: report it in the first
 * block (`tcp_sack_new_ofo_skb`). No-op without SACK.
 *
 * @example
 * ```ts
 * import { RecvState } from "./tcb.ts";
 * import { sackNewOfo } from "./sack.ts";
 * const rcv = new RecvState(65536);
 * sackNewOfo(rcv, 2000, 3000);
 * sackNewOfo(rcv, 5000, 6000);
 * rcv.sack!.blocks.slice(0, 4); // [5000, 6000, 2000, 3000]: most recent first
 * ```
 */
export function sackNewOfo(rcv: RecvState, seq: number, end: number): void {
  const r = rcv.sack ??= new SackReport();
  const b = r.blocks;
  let n = r.count;
  for (let i = 0; i < n; i++) {
    if (!extend(b, i, seq, end)) continue;
    // Rotate block i to the front, then merge any block it now reaches.
    const s = b[2 * i]!;
    const e = b[2 * i + 1]!;
    for (let j = i; j > 0; j--) {
      b[2 * j] = b[2 * j - 2]!;
      b[2 * j + 1] = b[2 * j - 1]!;
    }
    b[0] = s;
    b[1] = e;
    for (let j = 1; j < n;) {
      if (extend(b, 0, b[2 * j]!, b[2 * j + 1]!)) {
        n--;
        for (let k = j; k < n; k++) {
          b[2 * k] = b[2 * k + 2]!;
          b[2 * k + 1] = b[2 * k + 3]!;
        }
      } else j++;
    }
    r.count = n;
    return;
  }
  if (n === SACK_BLOCKS_KEPT) n--; // forget the oldest
  for (let j = n; j > 0; j--) {
    b[2 * j] = b[2 * j - 2]!;
    b[2 * j + 1] = b[2 * j - 1]!;
  }
  b[0] = seq >>> 0;
  b[1] = end >>> 0;
  r.count = n + 1;
}

/**
 * RCV.NXT advanced: drop the blocks it now covers (`tcp_sack_remove`); all
 * of them when the out-of-order queue is empty.
 *
 * @example
 * ```ts
 * // rcv.nxt = newNxt; sackRemove(rcv);
 * ```
 */
export function sackRemove(rcv: RecvState): void {
  const r = rcv.sack;
  if (r === null) return;
  let n = r.count;
  if (n === 0) return;
  if (rcv.ofo.empty) {
    r.count = 0;
    return;
  }
  const b = r.blocks;
  const nxt = rcv.nxt;
  for (let i = 0; i < n;) {
    if (!seqBefore(nxt, b[2 * i]!)) {
      n--;
      for (let k = i; k < n; k++) {
        b[2 * k] = b[2 * k + 2]!;
        b[2 * k + 1] = b[2 * k + 3]!;
      }
    } else i++;
  }
  r.count = n;
}

/**
 * Forget every block: out-of-order data was dropped (pruning, reneging) or
 * freed, and a block must never claim data we no longer hold.
 *
 * @example
 * ```ts
 * // dropped an out-of-order segment → sackReset(rcv);
 * ```
 */
export function sackReset(rcv: RecvState): void {
  if (rcv.sack !== null) rcv.sack.count = 0;
}

/**
 * A duplicate of [seq, end) arrived: report it as the D-SACK block of the
 * next ACK (RFC 2883 §4; Linux `tcp_dsack_set`, or `tcp_dsack_extend` when
 * one is already pending). Callers check the connection negotiated SACK.
 *
 * @example
 * ```ts
 * // segment wholly below RCV.NXT: dsackSet(tcb.rcv, seq, end);
 * ```
 */
export function dsackSet(rcv: RecvState, seq: number, end: number): void {
  const r = rcv.sack ??= new SackReport();
  if (r.dsack) {
    // Extend a pending D-SACK block it touches, else the newer one wins.
    if (!seqAfter(seq, r.dsackEnd) && !seqAfter(r.dsackStart, end)) {
      if (seqBefore(seq, r.dsackStart)) r.dsackStart = seq >>> 0;
      if (seqAfter(end, r.dsackEnd)) r.dsackEnd = end >>> 0;
      return;
    }
  }
  r.dsack = true;
  r.dsackStart = seq >>> 0;
  r.dsackEnd = end >>> 0;
}

/**
 * The SACK option for the ACK being built (`tcp_established_options`):
 * the D-SACK block first if one is pending, then the remembered blocks most
 * recent first, as many as fit in `room` blocks (4 alone, 3 beside
 * timestamps). Fills and returns one of `arrays` (`arrays[n − 1]` holds n
 * blocks), or null when there is nothing to report. A D-SACK block goes out
 * once: the caller clears `rcv.sack.dsack` after sending.
 *
 * @example
 * ```ts
 * // opts.sackBlocks = sackOption(tcb.rcv, scratch.sackArrays, tsOn ? 3 : 4);
 * ```
 */
export function sackOption(rcv: RecvState, arrays: number[][], room: number): number[] | null {
  const r = rcv.sack;
  if (r === null) return null;
  const d = r.dsack ? 1 : 0;
  const total = Math.min(d + r.count, room);
  if (total === 0) return null;
  const out = arrays[total - 1]!;
  let k = 0;
  if (d) {
    out[0] = r.dsackStart;
    out[1] = r.dsackEnd;
    k = 1;
  }
  const b = r.blocks;
  for (let i = 0; k < total; i++, k++) {
    out[2 * k] = b[2 * i]!;
    out[2 * k + 1] = b[2 * i + 1]!;
  }
  return out;
}
