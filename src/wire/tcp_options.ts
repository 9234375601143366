/**
 * TCP options (RFC 9293 §3.1 and §3.2, RFC 7323, RFC 2018): a loop-safe
 * parser and a canonical writer.
 *
 * Parsing (every length is checked before anything is read):
 * - EOL (0) ends the list; what follows is padding and is not looked at
 *   (MUST-69 tells senders to zero it; receivers need not care).
 * - NOP (1) is one byte. Options need not be word-aligned (MUST-64).
 * - Every other kind has a length byte (MUST-68). A length of 0 or 1, or one
 *   running past the header, makes the whole segment malformed (MUST-7):
 *   `"tcp.bad_option"`, a drop, never a loop or a throw.
 * - Known kinds must have their exact length (MSS 4, window scale 3,
 *   SACK-permitted 2, timestamps 10, SACK 2 + 8n with n = 1…4); anything else
 *   is malformed too, like smoltcp and unlike Linux, which skips them: a
 *   wrong length on a known kind means a broken or hostile sender, and
 *   dropping costs nothing a correct peer ever sees.
 * - Unknown kinds are skipped by their length (MUST-6); an option may appear
 *   in any segment (MUST-5): which options count in which segment (MSS and
 *   window scale only on SYN, W1; timestamps rules T1–T3) is the stack's call.
 * - A repeated option: the last one wins (as in Linux `tcp_parse_options`).
 * - Values are reported as received: MSS 0 stays 0 (see {@link effectiveMss}),
 *   a window-scale shift above 14 stays as is (see {@link clampWindowScale}).
 *
 * Writing follows Linux `tcp_options_write`, so segments look like Linux's on
 * the wire: MSS; SACK-permitted + timestamps (or NOP NOP + timestamps); NOP
 * NOP SACK-permitted when there are no timestamps; NOP + window scale;
 * NOP NOP + SACK blocks. Every piece is a whole 32-bit word, so the options
 * never need trailing padding (MUST-69 holds trivially).
 *
 * @module
 */
import { checkRange, get16, get32, set16, set32 } from "./bytes.ts";

/**
 * Option kinds (IANA "TCP Option Kind Numbers").
 *
 * @example
 * ```ts
 * import { TcpOptionKind } from "./tcp_options.ts";
 * TcpOptionKind.TIMESTAMPS; // 8
 * ```
 */
export const TcpOptionKind = {
  /** End of option list (RFC 9293). */
  EOL: 0,
  /** No operation (RFC 9293). */
  NOP: 1,
  /** Maximum segment size, length 4 (RFC 9293 §3.7.1). */
  MSS: 2,
  /** Window scale, length 3 (RFC 7323 §2). */
  WINDOW_SCALE: 3,
  /** SACK permitted, length 2 (RFC 2018). */
  SACK_PERMITTED: 4,
  /** SACK blocks, length 2 + 8n (RFC 2018). */
  SACK: 5,
  /** Timestamps, length 10 (RFC 7323 §3). */
  TIMESTAMPS: 8,
} as const;

/**
 * Room for options in a TCP header: data offset 15 × 4 − 20.
 *
 * @example
 * ```ts
 * import { TCP_MAX_OPTIONS_LENGTH } from "./tcp_options.ts";
 * TCP_MAX_OPTIONS_LENGTH; // 40
 * ```
 */
export const TCP_MAX_OPTIONS_LENGTH = 40;
/**
 * Largest window-scale shift (RFC 7323 §2.3, W2).
 *
 * @example
 * ```ts
 * import { TCP_MAX_WINDOW_SCALE } from "./tcp_options.ts";
 * TCP_MAX_WINDOW_SCALE; // 14
 * ```
 */
export const TCP_MAX_WINDOW_SCALE = 14;
/**
 * Send MSS to assume when the peer sent none (RFC 9293 §3.7.1, RFC 1122 §4.2.2.6).
 *
 * @example
 * ```ts
 * import { TCP_DEFAULT_MSS } from "./tcp_options.ts";
 * TCP_DEFAULT_MSS; // 536
 * ```
 */
export const TCP_DEFAULT_MSS = 536;

/**
 * Options carried by one segment. Absent options are `null` / `false`.
 *
 * @example
 * ```ts
 * import { type TcpOptions, NO_TCP_OPTIONS } from "./tcp_options.ts";
 * const syn: TcpOptions = { ...NO_TCP_OPTIONS, mss: 1460, windowScale: 7, sackPermitted: true };
 * ```
 */
export interface TcpOptions {
  /** MSS as received (0 is possible; see {@link effectiveMss}), or null. */
  readonly mss: number | null;
  /** Window-scale shift as received (may exceed 14; see {@link clampWindowScale}), or null. */
  readonly windowScale: number | null;
  /** SACK-permitted seen. */
  readonly sackPermitted: boolean;
  /** TSval, or null when no timestamps option was present. */
  readonly tsVal: number | null;
  /** TSecr (0 when absent; meaningful only with ACK set, T3). */
  readonly tsEcr: number;
  /**
   * SACK blocks as flat pairs `[left1, right1, left2, right2, …]` (1–4 pairs),
   * or null. Flat so the scoreboard can consume it without per-block objects.
   */
  readonly sackBlocks: readonly number[] | null;
}

/**
 * The options of a segment that has none; shared, frozen, so parsing a
 * segment without options allocates nothing for them.
 *
 * @example
 * ```ts
 * import { NO_TCP_OPTIONS, tcpOptionsLength } from "./tcp_options.ts";
 * tcpOptionsLength(NO_TCP_OPTIONS); // 0
 * ```
 */
export const NO_TCP_OPTIONS: TcpOptions = Object.freeze({
  mss: null,
  windowScale: null,
  sackPermitted: false,
  tsVal: null,
  tsEcr: 0,
  sackBlocks: null,
});

/**
 * Parse the options in `u8[offset, offset+length)` (the bytes between the
 * fixed TCP header and the data). Returns `"tcp.bad_option"` for malformed
 * input (MUST-7). Never throws and always terminates: each step advances by
 * at least one byte. `RangeError` only for a range outside `u8`.
 *
 * @example
 * ```ts
 * import { parseTcpOptions } from "./tcp_options.ts";
 * const o = new Uint8Array([2, 4, 0x05, 0xb4, 1, 3, 3, 7]); // MSS 1460, NOP, WS 7
 * const r = parseTcpOptions(o, 0, o.length);
 * typeof r !== "string" && r.mss; // 1460
 * parseTcpOptions(new Uint8Array([30, 0]), 0, 2); // "tcp.bad_option" (MUST-7)
 * ```
 */
export function parseTcpOptions(
  u8: Uint8Array,
  offset: number,
  length: number,
): TcpOptions | "tcp.bad_option" {
  const out = new TcpOptionsScratch();
  const r = parseTcpOptionsInto(u8, offset, length, out);
  if (r !== null) return r;
  const o = out.options;
  if (
    o.mss === null && o.windowScale === null && !o.sackPermitted && o.tsVal === null &&
    o.sackBlocks === null
  ) {
    return NO_TCP_OPTIONS;
  }
  // A record of its own, with SACK blocks that are not the scratch's.
  return { ...o, sackBlocks: o.sackBlocks === null ? null : [...o.sackBlocks] };
}

/** {@link TcpOptions} a parser may fill. */
export type MutableTcpOptions = { -readonly [K in keyof TcpOptions]: TcpOptions[K] };

/**
 * A reusable options record plus the SACK-block arrays it points into (one
 * per block count), for {@link parseTcpOptionsInto}: parsing options
 * allocates nothing.
 *
 * @example
 * ```ts
 * import { TcpOptionsScratch } from "./tcp_options.ts";
 * const s = new TcpOptionsScratch();
 * s.options.mss; // null
 * ```
 */
export class TcpOptionsScratch {
  /** The record parsing fills. */
  readonly options: MutableTcpOptions = {
    mss: null,
    windowScale: null,
    sackPermitted: false,
    tsVal: null,
    tsEcr: 0,
    sackBlocks: null,
  };
  /** `blocks[n - 1]` holds n SACK blocks (2n sequence numbers). */
  readonly blocks: number[][] = [[0, 0], [0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]];
}

/**
 * {@link parseTcpOptions} into `scratch.options` (reset first). Returns the
 * drop reason, or null when the options are well formed; `sackBlocks`, when
 * present, is one of the scratch's arrays, valid until the next parse.
 *
 * @example
 * ```ts
 * import { parseTcpOptionsInto, TcpOptionsScratch } from "./tcp_options.ts";
 * const s = new TcpOptionsScratch();
 * parseTcpOptionsInto(new Uint8Array([2, 4, 5, 180]), 0, 4, s); // null
 * s.options.mss; // 1460
 * ```
 */
export function parseTcpOptionsInto(
  u8: Uint8Array,
  offset: number,
  length: number,
  scratch: TcpOptionsScratch,
): "tcp.bad_option" | null {
  checkRange(u8, offset, length, "parseTcpOptions");
  const out = scratch.options;
  out.mss =
    out.windowScale =
    out.tsVal =
    out.sackBlocks =
      null;
  out.sackPermitted = false;
  out.tsEcr = 0;
  const end = offset + length;
  let i = offset;
  while (i < end) {
    const kind = u8[i]!;
    if (kind === TcpOptionKind.EOL) break; // the rest is padding
    if (kind === TcpOptionKind.NOP) {
      i++;
      continue;
    }
    // MUST-68: every other kind has a length byte; MUST-7: check it before use.
    if (i + 1 >= end) return "tcp.bad_option";
    const len = u8[i + 1]!;
    if (len < 2 || len > end - i) return "tcp.bad_option";
    switch (kind) {
      case TcpOptionKind.MSS:
        if (len !== 4) return "tcp.bad_option";
        out.mss = get16(u8, i + 2);
        break;
      case TcpOptionKind.WINDOW_SCALE:
        if (len !== 3) return "tcp.bad_option";
        out.windowScale = u8[i + 2]!;
        break;
      case TcpOptionKind.SACK_PERMITTED:
        if (len !== 2) return "tcp.bad_option";
        out.sackPermitted = true;
        break;
      case TcpOptionKind.TIMESTAMPS:
        if (len !== 10) return "tcp.bad_option";
        out.tsVal = get32(u8, i + 2);
        out.tsEcr = get32(u8, i + 6);
        break;
      case TcpOptionKind.SACK: {
        // RFC 2018 §3: length 2 + 8n with n = 1…4 (4 is all that fits in 40 bytes).
        const n = (len - 2) >>> 3;
        if (n === 0 || n > 4 || len !== 2 + 8 * n) return "tcp.bad_option";
        const blocks = scratch.blocks[n - 1]!;
        for (let b = 0; b < 2 * n; b++) blocks[b] = get32(u8, i + 2 + 4 * b);
        out.sackBlocks = blocks;
        break;
      }
      default:
        // MUST-6: ignore an option we do not implement, skipping it by its length.
        break;
    }
    i += len;
  }
  return null;
}

/**
 * Bytes {@link emitTcpOptions} writes for `options` (a multiple of 4), so a
 * caller can reserve headroom; the TCP header is 20 plus this.
 *
 * @example
 * ```ts
 * import { NO_TCP_OPTIONS, tcpOptionsLength } from "./tcp_options.ts";
 * // Linux's SYN: MSS, SACK-permitted + timestamps, NOP + window scale.
 * tcpOptionsLength({ ...NO_TCP_OPTIONS, mss: 1460, sackPermitted: true, tsVal: 1, windowScale: 7 }); // 20
 * ```
 */
export function tcpOptionsLength(options: TcpOptions): number {
  let n = 0;
  if (options.mss !== null) n += 4;
  if (options.tsVal !== null) n += 12;
  else if (options.sackPermitted) n += 4;
  if (options.windowScale !== null) n += 4;
  if (options.sackBlocks !== null && options.sackBlocks.length >= 2) {
    n += 4 + 8 * (options.sackBlocks.length >>> 1);
  }
  return n;
}

/**
 * How many SACK blocks fit next to the other options of a segment: 4 alone,
 * 3 with timestamps (RFC 2018 §3).
 *
 * @example
 * ```ts
 * import { maxSackBlocks, NO_TCP_OPTIONS } from "./tcp_options.ts";
 * maxSackBlocks({ ...NO_TCP_OPTIONS, tsVal: 5 }); // 3
 * ```
 */
export function maxSackBlocks(options: Omit<TcpOptions, "sackBlocks">): number {
  const used = tcpOptionsLength({ ...options, sackBlocks: null });
  const room = TCP_MAX_OPTIONS_LENGTH - used - 4; // NOP NOP kind len
  return room < 8 ? 0 : Math.min(4, room >>> 3);
}

/**
 * Write `options` at `offset` in the canonical (Linux) order and return the
 * bytes written (= {@link tcpOptionsLength}). Trusts its input: the caller
 * keeps MSS and window scale to SYNs (MUST-65, W1) and the total within 40
 * bytes (`emitTcp` checks that). An odd trailing SACK number is ignored.
 *
 * @example
 * ```ts
 * import { emitTcpOptions, NO_TCP_OPTIONS } from "./tcp_options.ts";
 * const b = new Uint8Array(12);
 * emitTcpOptions({ ...NO_TCP_OPTIONS, tsVal: 100, tsEcr: 7 }, b, 0); // 12: NOP NOP TS
 * ```
 */
export function emitTcpOptions(options: TcpOptions, u8: Uint8Array, offset: number): number {
  let i = offset;
  if (options.mss !== null) {
    u8[i] = TcpOptionKind.MSS;
    u8[i + 1] = 4;
    set16(u8, i + 2, options.mss);
    i += 4;
  }
  if (options.tsVal !== null) {
    if (options.sackPermitted) {
      u8[i] = TcpOptionKind.SACK_PERMITTED;
      u8[i + 1] = 2;
    } else {
      u8[i] = TcpOptionKind.NOP;
      u8[i + 1] = TcpOptionKind.NOP;
    }
    u8[i + 2] = TcpOptionKind.TIMESTAMPS;
    u8[i + 3] = 10;
    set32(u8, i + 4, options.tsVal);
    set32(u8, i + 8, options.tsEcr);
    i += 12;
  } else if (options.sackPermitted) {
    u8[i] = TcpOptionKind.NOP;
    u8[i + 1] = TcpOptionKind.NOP;
    u8[i + 2] = TcpOptionKind.SACK_PERMITTED;
    u8[i + 3] = 2;
    i += 4;
  }
  if (options.windowScale !== null) {
    u8[i] = TcpOptionKind.NOP;
    u8[i + 1] = TcpOptionKind.WINDOW_SCALE;
    u8[i + 2] = 3;
    u8[i + 3] = options.windowScale;
    i += 4;
  }
  const sack = options.sackBlocks;
  if (sack !== null && sack.length >= 2) {
    const n = sack.length >>> 1;
    u8[i] = TcpOptionKind.NOP;
    u8[i + 1] = TcpOptionKind.NOP;
    u8[i + 2] = TcpOptionKind.SACK;
    u8[i + 3] = 2 + 8 * n;
    i += 4;
    for (let b = 0; b < 2 * n; b++, i += 4) set32(u8, i, sack[b]!);
  }
  return i - offset;
}

/**
 * The shift to use for a received window scale: at most 14 (RFC 7323 §2.3,
 * W2; the caller logs when it clamps).
 *
 * @example
 * ```ts
 * import { clampWindowScale } from "./tcp_options.ts";
 * clampWindowScale(15); // 14
 * clampWindowScale(7); // 7
 * ```
 */
export function clampWindowScale(shift: number): number {
  return shift > TCP_MAX_WINDOW_SCALE ? TCP_MAX_WINDOW_SCALE : shift;
}

/**
 * The send MSS implied by a received MSS option: the option's value, or 536
 * when it is absent (RFC 9293 §3.7.1) or 0. A zero MSS is reported as is by
 * the parser; treating it as absent follows Linux (`tcp_parse_options`
 * ignores `in_mss == 0`), since no segment size of 0 can be honoured. Floors
 * and ceilings (route MTU, a minimum like Linux's `tcp_min_snd_mss`) are the
 * stack's.
 *
 * @example
 * ```ts
 * import { effectiveMss } from "./tcp_options.ts";
 * effectiveMss(null); // 536
 * effectiveMss(0); // 536
 * effectiveMss(1460); // 1460
 * ```
 */
export function effectiveMss(mss: number | null): number {
  return mss === null || mss === 0 ? TCP_DEFAULT_MSS : mss;
}
