/**
 * The SACK scoreboard, sender side (RFC 6675 §2–4, RFC 2018 §5, D-SACK RFC
 * 2883 §4; Linux `tcp_sacktag_write_queue`, `tcp_mark_skb_lost`): which
 * sent segments the peer holds (SACKed), which are deemed lost, which have
 * a retransmission in flight. Marks live in each write-queue buffer's
 * `sacked` bits (`SACKED` in `skb/skbuff.ts`); byte totals on the send record
 * ({@link SendState}), from which `snd.pipe` (RFC 6675 §4) follows.
 *
 * Cost per ACK is bounded ("SACK Panic", attack class §8 row 7): at most 4
 * blocks, each validated (inside SND.UNA…SND.MAX, left < right); a block
 * the previous ACK already reported is skipped or only its new part walked;
 * the walk resumes from where the last one stopped when it can; a TSO
 * super-segment is split only at whole-MSS boundaries, so pieces never
 * shrink below one MSS.
 *
 * @module
 */
import { SACKED, type SkBuff } from "../skb/skbuff.ts";
import { fragment } from "./output.ts";
import { isMtuProbe, mtupProbeLost } from "./pmtu.ts";
import { rackDelivered, rackOnDsack } from "./rack.ts";
import { seqAdd, seqAfter, seqBefore, seqDiff, seqGeq, seqLeq } from "./state.ts";
import { SackInput, scoreboardOf, type Tcb } from "./tcb.ts";

/**
 * What {@link sackTag} found, as bits (Linux `FLAG_*`), merged into the
 * ACK's `AckFlag` mask.
 *
 * @example
 * ```ts
 * import { SackFlag } from "./scoreboard.ts";
 * (SackFlag.DATA_SACKED & SackFlag.DSACK) === 0; // true
 * ```
 */
export const SackFlag = {
  /** New data was SACKed. */
  DATA_SACKED: 0x100,
  /** The ACK carried a D-SACK block (RFC 2883). */
  DSACK: 0x200,
  /** Data never retransmitted was (S)ACKed (F-RTO's test, Linux FLAG_ORIG_SACK_ACKED). */
  ORIG_SACK_ACKED: 0x800,
} as const;

/**
 * Mark `skb` lost (RFC 6675 IsLost, RACK, an RTO): it now waits for a
 * retransmission. A retransmission of it that was in flight is deemed lost
 * too. Returns false when it was already lost or SACKed.
 *
 * @example
 * ```ts
 * // if (markLost(tcb, skb)) stats.rackLost++;
 * ```
 */
export function markLost(sk: Tcb, skb: SkBuff): boolean {
  const f = skb.sacked;
  if ((f & SACKED.SACKED_ACKED) !== 0) return false;
  // Already lost and waiting for its retransmission: nothing new.
  if ((f & SACKED.LOST) !== 0 && (f & SACKED.SACKED_RETRANS) === 0) return false;
  const snd = sk.snd;
  const sb = scoreboardOf(snd);
  const len = skb.endSeq - skb.seq;
  if ((f & SACKED.SACKED_RETRANS) !== 0) sb.retransBytes -= len;
  if ((f & SACKED.LOST) === 0) sb.lostBytes += len;
  skb.sacked = (f | SACKED.LOST) & ~SACKED.SACKED_RETRANS;
  // RFC 4821 §7.6: a lost probe says that MTU does not work.
  if (isMtuProbe(sk, skb.endSeq)) mtupProbeLost(sk);
  const hint = sb.lostHint;
  if (hint === null || hint.list !== snd.queue || seqBefore(skb.seq, hint.seq)) sb.lostHint = skb;
  return true;
}

/**
 * A retransmission of `skb` was sent: it counts in the pipe again.
 *
 * @example
 * ```ts
 * // markRetransmitted(tcb, skb);
 * ```
 */
export function markRetransmitted(sk: Tcb, skb: SkBuff): void {
  const f = skb.sacked;
  if ((f & SACKED.SACKED_RETRANS) === 0) scoreboardOf(sk.snd).retransBytes += skb.endSeq - skb.seq;
  skb.sacked = f | SACKED.SACKED_RETRANS | SACKED.EVER_RETRANS;
}

/** `skb` was SACKed for the first time. */
function markSacked(sk: Tcb, skb: SkBuff): void {
  const sb = scoreboardOf(sk.snd);
  const f = skb.sacked;
  const len = skb.endSeq - skb.seq;
  if ((f & SACKED.LOST) !== 0) sb.lostBytes -= len;
  if ((f & SACKED.SACKED_RETRANS) !== 0) sb.retransBytes -= len;
  sb.sackedBytes += len;
  skb.sacked = (f | SACKED.SACKED_ACKED) & ~(SACKED.LOST | SACKED.SACKED_RETRANS);
}

/**
 * `skb` leaves the write queue (cumulatively acknowledged): take its marks
 * out of the totals.
 *
 * @example
 * ```ts
 * // unaccount(tcb, skb); q.unlink(skb); skb.free();
 * ```
 */
export function unaccount(sk: Tcb, skb: SkBuff): void {
  const f = skb.sacked;
  const sb = sk.snd.sb;
  if (f === 0 || sb === null) return; // (a marked segment made the scoreboard)
  const len = skb.endSeq - skb.seq;
  if ((f & SACKED.SACKED_ACKED) !== 0) sb.sackedBytes -= len;
  if ((f & SACKED.LOST) !== 0) sb.lostBytes -= len;
  if ((f & SACKED.SACKED_RETRANS) !== 0) sb.retransBytes -= len;
}

/**
 * The first `n` bytes of `skb` were acknowledged and trimmed off: take them
 * out of the totals its marks count in.
 *
 * @example
 * ```ts
 * // trimAccount(tcb, skb, n); skb.data += n;
 * ```
 */
export function trimAccount(sk: Tcb, skb: SkBuff, n: number): void {
  const f = skb.sacked;
  const sb = sk.snd.sb;
  if (f === 0 || sb === null) return;
  if ((f & SACKED.SACKED_ACKED) !== 0) sb.sackedBytes -= n;
  if ((f & SACKED.LOST) !== 0) sb.lostBytes -= n;
  if ((f & SACKED.SACKED_RETRANS) !== 0) sb.retransBytes -= n;
}

/**
 * Forget every SACK mark (the peer reneged: RFC 2018 §8, the sender must
 * not free SACKed data and must be ready to resend it).
 *
 * @example
 * ```ts
 * // clearSacked(tcb);
 * ```
 */
export function clearSacked(sk: Tcb): void {
  const snd = sk.snd;
  for (let skb = snd.queue.head; skb !== null && skb !== snd.head; skb = skb.next) {
    skb.sacked &= ~SACKED.SACKED_ACKED;
  }
  if (snd.sb !== null) {
    snd.sb.sackedBytes = 0;
    snd.sb.highSack = snd.una;
  }
  if (snd.sackIn !== null) snd.sackIn.cacheLen = 0;
}

/**
 * Forget which segments were deemed lost (a loss episode proved spurious
 * and is undone).
 *
 * @example
 * ```ts
 * // clearLost(tcb);
 * ```
 */
export function clearLost(sk: Tcb): void {
  const snd = sk.snd;
  for (let skb = snd.queue.head; skb !== null && skb !== snd.head; skb = skb.next) {
    skb.sacked &= ~SACKED.LOST;
  }
  if (snd.sb !== null) {
    snd.sb.lostBytes = 0;
    snd.sb.lostHint = null;
  }
}

/** Is [l, r) inside one of the previous ACK's blocks? Returns the new part's start, or -1 when wholly old. */
function uncachedStart(snd: Tcb["snd"], l: number, r: number): number {
  const si = snd.sackIn;
  if (si === null) return l;
  const c = si.cache;
  for (let i = 0; i < si.cacheLen; i++) {
    const cl = c[2 * i]!;
    const cr = c[2 * i + 1]!;
    if (seqLeq(cl, l) && seqLeq(l, cr)) {
      if (seqLeq(r, cr)) return -1;
      return cr;
    }
  }
  return l;
}

/**
 * Apply the SACK blocks of an ACK (flat `[l, r, …]`, as parsed) to the
 * scoreboard; `ack` is the ACK's SEG.ACK.
 * Returns {@link SackFlag} bits. Invalid blocks are counted and ignored
 * (the rules of Linux `tcp_is_sackblock_valid`); a D-SACK block (below SEG.ACK, or inside the second
 * block, RFC 2883 §4) is counted and feeds RACK's reordering window.
 *
 * @example
 * ```ts
 * // flag |= sackTag(tcb, th.options.sackBlocks, th.ack);
 * ```
 */
export function sackTag(sk: Tcb, blocks: readonly number[], ack: number): number {
  const snd = sk.snd;
  const ctx = sk.ctx;
  const n = blocks.length >>> 1;
  const si = snd.sackIn ??= new SackInput();
  let flag = 0;
  let first = 0;
  if (n > 0) {
    const l0 = blocks[0]!;
    const r0 = blocks[1]!;
    // A D-SACK block must be well formed too (below SND.MAX, left < right).
    const dsack = seqBefore(l0, r0) && seqLeq(r0, snd.max) &&
      (seqBefore(l0, ack) ||
        (n > 1 && seqLeq(r0, blocks[3]!) && seqGeq(l0, blocks[2]!)));
    if (dsack) {
      flag |= SackFlag.DSACK;
      first = 1;
      ctx.stats.dsackRecv++;
      si.dsackDups++;
      rackOnDsack(sk);
      // A retransmission of this episode proved unnecessary (Linux tcp_check_dsack).
      const loss = sk.cong.loss;
      if (loss !== null && loss.undoRetrans > 0 && seqLeq(r0, snd.max)) {
        loss.undoRetrans -= Math.max(1, Math.ceil(seqDiff(r0, l0) / snd.mss));
        if (loss.undoRetrans < 0) loss.undoRetrans = 0;
      }
    }
  }
  // Valid blocks, ascending, each cut to what the previous ACK did not cover.
  const sorted = ctx.scratch.sackSort;
  let m = 0;
  const una = snd.una;
  for (let i = first; i < n; i++) {
    let l = blocks[2 * i]!;
    const r = blocks[2 * i + 1]!;
    // S4: left < right, inside SND.UNA…SND.MAX (a block wholly below SND.UNA is old news).
    if (!seqBefore(l, r) || seqAfter(r, snd.max) || seqBefore(l, seqAdd(una, -snd.maxWnd))) {
      ctx.drops.count("tcp.sack_invalid_block");
      continue;
    }
    if (seqLeq(r, una)) continue;
    if (seqBefore(l, una)) l = una;
    const from = uncachedStart(snd, l, r);
    if (from === -1) continue;
    // Insertion sort: at most 4.
    let j = m;
    while (j > 0 && seqAfter(sorted[2 * (j - 1)]!, from)) {
      sorted[2 * j] = sorted[2 * (j - 1)]!;
      sorted[2 * j + 1] = sorted[2 * (j - 1) + 1]!;
      j--;
    }
    sorted[2 * j] = from;
    sorted[2 * j + 1] = r;
    m++;
  }
  // Remember this ACK's blocks (valid, non-D-SACK) for the next one.
  const cache = si.cache;
  let k = 0;
  for (let i = first; i < n && k < 4; i++) {
    const l = blocks[2 * i]!;
    const r = blocks[2 * i + 1]!;
    if (!seqBefore(l, r) || seqAfter(r, snd.max)) continue;
    cache[2 * k] = l;
    cache[2 * k + 1] = r;
    k++;
  }
  si.cacheLen = k;
  if (m === 0) return flag;
  const mss = snd.mss;
  const q = snd.queue;
  let cur = si.hint;
  if (cur === null || cur.list !== q || seqAfter(cur.seq, sorted[0]!)) cur = q.head;
  for (let b = 0; b < m; b++) {
    const l = sorted[2 * b]!;
    const r = sorted[2 * b + 1]!;
    if (cur === null || seqAfter(cur.seq, l)) cur = q.head;
    // Skip what ends at or before the block.
    while (cur !== null && cur !== snd.head && seqLeq(cur.endSeq, l)) cur = cur.next;
    for (let skb = cur; skb !== null && skb !== snd.head && seqBefore(skb.seq, r); skb = skb.next) {
      cur = skb;
      if ((skb.sacked & SACKED.SACKED_ACKED) !== 0) continue;
      if (seqBefore(skb.seq, l)) {
        // The block starts inside this (super-)segment: split at the first
        // whole-MSS boundary at or after it (Linux tcp_match_skb_to_sack).
        let off = seqDiff(l, skb.seq);
        off = Math.ceil(off / mss) * mss;
        if (off >= skb.len || !fragment(sk, skb, off)) continue;
        continue; // the covered part is the next buffer
      }
      if (seqAfter(skb.endSeq, r)) {
        // The block ends inside: keep only whole MSS pieces it covers.
        const off = Math.floor(seqDiff(r, skb.seq) / mss) * mss;
        if (off <= 0 || !fragment(sk, skb, off)) break;
      }
      markSacked(sk, skb);
      flag |= SackFlag.DATA_SACKED;
      if ((skb.sacked & SACKED.EVER_RETRANS) === 0) flag |= SackFlag.ORIG_SACK_ACKED;
      rackDelivered(sk, skb);
      const sb = snd.sb!; // (markSacked made it)
      if (seqAfter(skb.endSeq, sb.highSack)) sb.highSack = skb.endSeq;
    }
  }
  si.hint = cur;
  return flag;
}
