/**
 * Connecting to a host that has several addresses: Happy Eyeballs version 2
 * (RFC 8305). Addresses are ordered with the families interleaved, IPv6
 * first (§4); the first attempt starts at once and each next one when the
 * previous fails or after the Connection Attempt Delay (§5, 250 ms), without
 * cancelling the earlier ones; the first connection to succeed wins and the
 * others are aborted (or closed, if they succeed later).
 *
 * With only IPv4 addresses this still helps: an address that black-holes
 * SYNs costs 250 ms, not a whole SYN timeout.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";

/** An address to try. */
export interface CandidateAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Options for {@link happyEyeballs}. */
export interface HappyEyeballsOptions<T> {
  readonly clock: Clock;
  /** Connection Attempt Delay in ms (RFC 8305 §5: default 250, at least 100 recommended). */
  readonly delayMs?: number;
  /** Abort everything: rejects with what `attempt` rejects with once aborted. */
  readonly signal?: AbortSignal;
  /** Release a connection that succeeded after another one won. */
  readonly discard: (value: T) => void;
}

/**
 * RFC 8305 §4 ordering: alternate families, starting with the family of the
 * first address (the resolver puts IPv6 first when it has it).
 *
 * @example
 * ```ts
 * import { interleaveFamilies } from "./happy_eyeballs.ts";
 * interleaveFamilies([
 *   { address: "2001:db8::1", family: 6 }, { address: "2001:db8::2", family: 6 },
 *   { address: "192.0.2.1", family: 4 },
 * ]).map((a) => a.address); // ["2001:db8::1", "192.0.2.1", "2001:db8::2"]
 * ```
 */
export function interleaveFamilies(addrs: readonly CandidateAddress[]): CandidateAddress[] {
  if (addrs.length === 0) return [];
  const first = addrs[0]!.family;
  const a = addrs.filter((x) => x.family === first);
  const b = addrs.filter((x) => x.family !== first);
  const out: CandidateAddress[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]!);
    if (i < b.length) out.push(b[i]!);
  }
  return out;
}

/**
 * Race staggered attempts over `addresses` (already in preference order);
 * resolves with the first success, rejects with the first attempt's error
 * when all fail.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "../core/clock.ts";
 * import { happyEyeballs } from "./happy_eyeballs.ts";
 * const winner = happyEyeballs(
 *   [{ address: "192.0.2.1", family: 4 }, { address: "192.0.2.2", family: 4 }],
 *   (a) => Promise.resolve(a.address),
 *   { clock: new VirtualClock(), discard: () => {} },
 * ); // resolves "192.0.2.1"
 * ```
 */
export function happyEyeballs<T>(
  addresses: readonly CandidateAddress[],
  attempt: (address: CandidateAddress, signal: AbortSignal) => Promise<T>,
  options: HappyEyeballsOptions<T>,
): Promise<T> {
  const { clock } = options;
  const delay = options.delayMs ?? 250;
  return new Promise<T>((resolve, reject) => {
    if (addresses.length === 0) {
      reject(new TypeError("happyEyeballs: no address to connect to"));
      return;
    }
    /** Attempts still running. */
    const controllers = new Set<AbortController>();
    const errors: unknown[] = new Array(addresses.length);
    let next = 0;
    let failed = 0;
    let done = false;
    let timer: ReturnType<Clock["setTimer"]> | null = null;
    const onAbort = () => {
      for (const c of controllers) c.abort(options.signal?.reason);
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const finish = () => {
      done = true;
      if (timer !== null) clock.clearTimer(timer);
      timer = null;
      options.signal?.removeEventListener("abort", onAbort);
    };
    const startNext = () => {
      if (timer !== null) clock.clearTimer(timer);
      timer = null;
      if (done || next >= addresses.length) return;
      const i = next++;
      const c = new AbortController();
      controllers.add(c);
      if (options.signal?.aborted) c.abort(options.signal.reason);
      // RFC 8305 §5: the next attempt starts after the delay even if this one is still going.
      if (next < addresses.length) timer = clock.setTimer(delay, startNext);
      attempt(addresses[i]!, c.signal).then(
        (value) => {
          controllers.delete(c);
          if (done) {
            options.discard(value);
            return;
          }
          finish();
          for (const other of controllers) other.abort();
          resolve(value);
        },
        (e) => {
          controllers.delete(c);
          errors[i] = e;
          failed++;
          if (done) return;
          if (failed === addresses.length) {
            finish();
            reject(errors[0]);
            return;
          }
          // A failure starts the next attempt at once (§5).
          if (i === next - 1) startNext();
        },
      );
    };
    startNext();
  });
}
