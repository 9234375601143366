/**
 * TCP states (RFC 9293 §3.3.2), spelled as the RFC spells them, and
 * sequence-space comparisons (RFC 9293 §3.4; Linux `before()`/`after()`).
 *
 * Single comparisons stay inline in TypeScript rather than in WASM: a WASM
 * call per comparison would cost more than the comparison.
 *
 * @module
 */

/** The eleven TCP states. */
export const TcpState = {
  CLOSED: 0,
  LISTEN: 1,
  SYN_SENT: 2,
  SYN_RECEIVED: 3,
  ESTABLISHED: 4,
  FIN_WAIT_1: 5,
  FIN_WAIT_2: 6,
  CLOSE_WAIT: 7,
  CLOSING: 8,
  LAST_ACK: 9,
  TIME_WAIT: 10,
} as const;
/** One of {@link TcpState}. */
export type TcpState = typeof TcpState[keyof typeof TcpState];

/** RFC spellings, indexed by state. */
export const TCP_STATE_NAMES: readonly string[] = [
  "CLOSED",
  "LISTEN",
  "SYN-SENT",
  "SYN-RECEIVED",
  "ESTABLISHED",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT",
];

/**
 * True when sequence number `a` comes before `b` in sequence space (mod 2^32).
 *
 * @example
 * ```ts
 * import { seqBefore } from "./state.ts";
 * seqBefore(0xffffffff, 0); // true: 0 is one after 2^32 - 1
 * ```
 */
export function seqBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** True when `a` comes after `b` (mod 2^32). */
export function seqAfter(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/** True when `a ≤ b` in sequence space. */
export function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** True when `a ≥ b` in sequence space. */
export function seqGeq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** `a + n` wrapped to an unsigned 32-bit sequence number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The distance `a - b` in sequence space, as a signed 32-bit number. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** True when `lo ≤ x < hi` in sequence space (RFC 9293 §3.4 window tests). */
export function seqInWindow(x: number, lo: number, hi: number): boolean {
  return ((x - lo) | 0) >= 0 && ((x - hi) | 0) < 0;
}
