/**
 * A ping(8) session on a {@link Stack}: ICMP echo requests at an interval,
 * replies and ICMP errors printed as they arrive, and the Linux-style summary.
 *
 * It talks to the stack's ICMP protocol directly rather than through
 * `Stack.ping`, because ping(8) keeps one echo identifier for the whole run
 * and sends the next probe on schedule while earlier ones are still
 * outstanding (a reply may come back after the next request left), which one
 * `Stack.ping` call per probe cannot express. All waiting goes through the
 * stack's {@link Clock}, so the same code runs on real time in the CLI and on
 * virtual time in the demo and in tests.
 *
 * @module
 */
import type { Stack } from "../api/stack.ts";
import { type Clock, holdProcess, type Timer } from "../core/clock.ts";
import { ERRNO_TEXT, type ErrnoCode, errnoName } from "../core/errno.ts";
import type { EchoError, EchoReply } from "../ipv4/icmp.ts";
import type { Iface } from "../ipv4/iface.ts";
import type { Echo6Error, Echo6Reply } from "../ipv6/icmp.ts";
import { formatIpv4, type Ipv4Address, tryParseIpv4 } from "../wire/addr.ts";
import { formatIpv6, splitZone, tryParseIpv6Address } from "../wire/addr6.ts";

/** Largest ICMP data size: 65535 − 20 (IPv4 header) − 8 (ICMP header). */
export const PING_MAX_SIZE = 65507;
/** Largest ICMPv6 data size: 65535 (payload length) − 8 (ICMPv6 header). */
export const PING6_MAX_SIZE = 65527;
/** Smallest interval between probes, in ms (ping(8)'s limit for unprivileged users). */
export const PING_MIN_INTERVAL_MS = 200;
/** Largest count: one run never reuses a sequence number. */
export const PING_MAX_COUNT = 65535;

/** Options for {@link runPing}. */
export interface PingRunOptions {
  /** Probes to send (default 4; 1 … {@link PING_MAX_COUNT}). */
  count?: number;
  /** ICMP data bytes per probe (default 56). */
  size?: number;
  /** Milliseconds between probes (default 1000, at least {@link PING_MIN_INTERVAL_MS}). */
  intervalMs?: number;
  /**
   * Milliseconds to wait after the last probe when no reply has arrived at all
   * (ping(8)'s `-W`, default 10 000). Once replies arrive, the final wait is
   * ping(8)'s: twice the largest round trip, at least one interval.
   */
  lingerMs?: number;
  /** TTL of the requests (default: the stack's). */
  ttl?: number;
  /** Stops the run early; the summary still covers what was sent. */
  signal?: AbortSignal;
  /** Where lines go (default `console.log`). */
  write?: (line: string) => void;
  /** Where send failures go (default `console.error`). */
  writeError?: (line: string) => void;
}

/** What a run did, for {@link formatPingSummary} and the exit status. */
export interface PingSummary {
  /** Destination as given. */
  readonly host: string;
  /** Requests sent (including ones the stack could not send). */
  readonly transmitted: number;
  /** Distinct probes answered. */
  readonly received: number;
  /** Extra replies to already answered probes. */
  readonly duplicates: number;
  /** Probes answered by an ICMP error or refused by the stack. */
  readonly errors: number;
  /** Round-trip times of the `received` replies, in ms. */
  readonly rtts: readonly number[];
  /** Clock time from the first probe to the end of the run, in ms. */
  readonly elapsedMs: number;
}

/**
 * Send `count` echo requests to `host` and print ping(8)-style lines.
 * Resolves with the summary (also when `signal` aborts the run). Bad
 * arguments throw at once (`RangeError`, `TypeError`); send failures and
 * ICMP errors are printed and counted, never thrown.
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { formatPingSummary, runPing } from "./ping.ts";
 * const stack = new Stack();
 * const summary = await runPing(stack, "127.0.0.1", { count: 1 });
 * for (const line of formatPingSummary(summary)) console.log(line);
 * await stack.close();
 * ```
 */
export function runPing(
  stack: Stack,
  host: string,
  options: PingRunOptions = {},
): Promise<PingSummary> {
  const o = checkOptions(options);
  const dst = parsePingTarget(host);
  if (dst.family === 4 && o.size > PING_MAX_SIZE) {
    throw new RangeError(`ping: size ${o.size} is over the IPv4 maximum of ${PING_MAX_SIZE}`);
  }
  // A running ping is a pending operation: it keeps the process alive (a real clock).
  const release = holdProcess(stack.clock);
  return new PingSession(stack, host, dst, o).run().finally(release);
}

/**
 * The summary lines ping(8) prints at the end.
 *
 * @example
 * ```ts
 * import { formatPingSummary } from "./ping.ts";
 * formatPingSummary({
 *   host: "192.0.2.1", transmitted: 2, received: 2, duplicates: 0, errors: 0,
 *   rtts: [0.5, 0.7], elapsedMs: 1001,
 * });
 * // ["", "--- 192.0.2.1 ping statistics ---",
 * //  "2 packets transmitted, 2 received, 0% packet loss, time 1001ms",
 * //  "rtt min/avg/max/mdev = 0.500/0.600/0.700/0.100 ms"]
 * ```
 */
export function formatPingSummary(s: PingSummary): string[] {
  const parts = [`${s.transmitted} packets transmitted`, `${s.received} received`];
  if (s.duplicates > 0) parts.push(`+${s.duplicates} duplicates`);
  if (s.errors > 0) parts.push(`+${s.errors} errors`);
  if (s.transmitted > 0) {
    const loss = ((s.transmitted - s.received) * 100) / s.transmitted;
    parts.push(`${Number(loss.toPrecision(6))}% packet loss`);
  }
  parts.push(`time ${Math.round(s.elapsedMs)}ms`);
  const lines = ["", `--- ${s.host} ping statistics ---`, parts.join(", ")];
  if (s.rtts.length > 0) {
    const n = s.rtts.length;
    let min = Infinity, max = 0, sum = 0, sum2 = 0;
    for (const t of s.rtts) {
      min = Math.min(min, t);
      max = Math.max(max, t);
      sum += t;
      sum2 += t * t;
    }
    const avg = sum / n;
    // ping(8)'s mdev: the standard deviation, sqrt(E[t²] − E[t]²).
    const mdev = Math.sqrt(Math.max(0, sum2 / n - avg * avg));
    const f = (x: number) => x.toFixed(3);
    lines.push(`rtt min/avg/max/mdev = ${f(min)}/${f(avg)}/${f(max)}/${f(mdev)} ms`);
  }
  return lines;
}

/**
 * ping(8)'s exit status: 0 when at least one reply arrived, 1 when none did.
 *
 * @example
 * ```ts
 * import { pingExitCode } from "./ping.ts";
 * pingExitCode({ received: 0 }); // 1
 * ```
 */
export function pingExitCode(summary: Pick<PingSummary, "received">): number {
  return summary.received > 0 ? 0 : 1;
}

/**
 * A round-trip time as ping(8) prints it: three significant decimals below
 * 1 ms, fewer as the number grows (`0.532`, `4.21`, `27.3`, `153`).
 *
 * @example
 * ```ts
 * import { formatRtt } from "./ping.ts";
 * formatRtt(0.5321); // "0.532"
 * formatRtt(153.4); // "153"
 * ```
 */
export function formatRtt(ms: number): string {
  if (ms >= 99.95) return Math.round(ms).toString();
  if (ms >= 9.995) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

interface CheckedOptions {
  count: number;
  size: number;
  intervalMs: number;
  lingerMs: number;
  ttl: number | undefined;
  signal: AbortSignal | undefined;
  write: (line: string) => void;
  writeError: (line: string) => void;
}

function checkOptions(o: PingRunOptions): CheckedOptions {
  const count = o.count ?? 4;
  if (!Number.isInteger(count) || count < 1 || count > PING_MAX_COUNT) {
    throw new RangeError(`ping count must be an integer in 1…${PING_MAX_COUNT}, got ${count}`);
  }
  const size = o.size ?? 56;
  if (!Number.isInteger(size) || size < 0 || size > PING6_MAX_SIZE) {
    throw new RangeError(`ping size must be an integer in 0…${PING6_MAX_SIZE}, got ${size}`);
  }
  const intervalMs = o.intervalMs ?? 1000;
  if (!(intervalMs >= PING_MIN_INTERVAL_MS) || !Number.isFinite(intervalMs)) {
    throw new RangeError(
      `ping interval must be at least ${PING_MIN_INTERVAL_MS / 1000} s, got ${intervalMs / 1000} s`,
    );
  }
  const lingerMs = o.lingerMs ?? 10_000;
  if (!(lingerMs >= 0) || !Number.isFinite(lingerMs)) {
    throw new RangeError(`ping timeout must be a finite number ≥ 0, got ${lingerMs / 1000} s`);
  }
  if (o.ttl !== undefined && (!Number.isInteger(o.ttl) || o.ttl < 1 || o.ttl > 255)) {
    throw new RangeError(`ping TTL must be an integer in 1…255, got ${o.ttl}`);
  }
  return {
    count,
    size,
    intervalMs,
    lingerMs,
    ttl: o.ttl,
    signal: o.signal,
    write: o.write ?? ((l) => console.log(l)),
    writeError: o.writeError ?? ((l) => console.error(l)),
  };
}

/**
 * The destination as an address; `TypeError` saying why for anything but a
 * dotted quad (there is no name resolver).
 *
 * @example
 * ```ts
 * import { parsePingHost } from "./ping.ts";
 * parsePingHost("192.0.2.1"); // 0xc0000201
 * ```
 */
export function parsePingHost(host: string): Ipv4Address {
  const dst = tryParseIpv4(host);
  if (dst === null) {
    throw new TypeError(
      `ping: ${host}: not an IPv4 address (netwasm has no name resolver; give a dotted quad)`,
    );
  }
  return dst;
}

/**
 * A ping destination: IPv4, or IPv6 with an optional zone (`fe80::1%tap0`).
 *
 * @example
 * ```ts
 * import { parsePingTarget } from "./ping.ts";
 * parsePingTarget("2001:db8::1").family; // 6
 * ```
 */
export type PingTarget =
  | { readonly family: 4; readonly addr: Ipv4Address }
  | { readonly family: 6; readonly addr: Uint8Array; readonly zone: string | null };

/**
 * Parse a ping destination: an IPv4 dotted quad or an IPv6 address
 * (`2001:db8::1`, `[::1]`, `fe80::1%tap0`); throws `TypeError` otherwise.
 *
 * @example
 * ```ts
 * import { parsePingTarget } from "./ping.ts";
 * parsePingTarget("192.0.2.1"); // { family: 4, addr: 0xc0000201 }
 * ```
 */
export function parsePingTarget(host: string): PingTarget {
  const v4 = tryParseIpv4(host);
  if (v4 !== null) return { family: 4, addr: v4 };
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const [text, zone] = splitZone(bare);
  const v6 = tryParseIpv6Address(text);
  if (v6 !== null) return { family: 6, addr: v6, zone };
  throw new TypeError(
    `ping: ${host}: not an IPv4 or IPv6 address (netwasm has no name resolver; give an address)`,
  );
}

/** What ping(8) prints for the ICMP errors `IcmpProtocol.err` reports. */
const ERROR_TEXT: Readonly<Record<string, string>> = {
  "no route to destination": "Destination unreachable: No route",
  "address unreachable": "Destination unreachable: Address unreachable",
  "communication administratively prohibited":
    "Destination unreachable: Administratively prohibited",
  "beyond scope of source address": "Destination unreachable: Beyond scope",
  "hop limit exceeded": "Time exceeded: Hop limit",
  "network unreachable": "Destination Net Unreachable",
  "host unreachable": "Destination Host Unreachable",
  "protocol unreachable": "Destination Protocol Unreachable",
  "port unreachable": "Destination Port Unreachable",
  "time to live exceeded": "Time to live exceeded",
  "fragment reassembly time exceeded": "Frag reassembly time exceeded",
};

const PENDING = 0;
const ANSWERED = 1;
const FAILED = 2;

class PingSession {
  readonly #stack: Stack;
  readonly #clock: Clock;
  readonly #host: string;
  readonly #dst: PingTarget;
  readonly #oif: Iface | undefined;
  readonly #o: CheckedOptions;
  readonly #id: number;
  readonly #data: Uint8Array;
  /** Per sequence number (1-based): send time. */
  readonly #sentAt: number[] = [];
  /** Per sequence number: PENDING, ANSWERED or FAILED. */
  readonly #state: number[] = [];
  readonly #rtts: number[] = [];
  #transmitted = 0;
  #received = 0;
  #duplicates = 0;
  #errors = 0;
  #maxRtt = 0;
  /** Wakes the current wait early (abort, or every probe settled at the end). */
  #wake: (() => void) | null = null;
  #finalWait = false;

  constructor(stack: Stack, host: string, dst: PingTarget, o: CheckedOptions) {
    this.#stack = stack;
    this.#clock = stack.clock;
    this.#host = host;
    this.#dst = dst;
    this.#o = o;
    const zone = dst.family === 6 ? dst.zone : null;
    this.#oif = zone === null
      ? undefined
      : stack.interfaces.find((i) => i.name === zone || String(i.index) === zone);
    if (zone !== null && this.#oif === undefined) {
      throw new TypeError(`ping: no interface "${zone}"`);
    }
    this.#id = dst.family === 4 ? stack.icmp.allocEchoId() : stack.ipv6.icmp.allocEchoId();
    this.#data = new Uint8Array(o.size);
    // ping(8)'s fill pattern: byte i of the data is i + 8 (after its timestamp).
    for (let i = 0; i < o.size; i++) this.#data[i] = (i + 8) & 0xff;
  }

  async run(): Promise<PingSummary> {
    const { count, size, intervalMs, signal } = this.#o;
    const dst = this.#dst;
    if (dst.family === 4) {
      this.#o.write(
        `PING ${this.#host} (${formatIpv4(dst.addr)}) ${size}(${size + 28}) bytes of data.`,
      );
    } else {
      // iputils ping -6: "PING host(addr) 56 data bytes".
      this.#o.write(`PING ${this.#host}(${formatIpv6(dst.addr)}) ${size} data bytes`);
    }
    const remove = dst.family === 4
      ? this.#stack.icmp.onEchoReply(this.#id, (r) => this.#onReply(r))
      : this.#stack.ipv6.icmp.onEchoReply(this.#id, (r) => this.#onReply(r));
    const onAbort = () => this.#wake?.();
    signal?.addEventListener("abort", onAbort);
    const start = this.#clock.now();
    try {
      for (let seq = 1; seq <= count && !signal?.aborted; seq++) {
        this.#send(seq);
        if (seq < count) await this.#sleep(intervalMs);
      }
      if (!signal?.aborted && !this.#allSettled()) {
        // ping(8)'s schedule_exit: with replies, wait two of the slowest
        // round trips (at least one interval); without any, the full -W.
        const wait = this.#received > 0 ? Math.max(2 * this.#maxRtt, intervalMs) : this.#o.lingerMs;
        this.#finalWait = true;
        await this.#sleep(wait);
      }
    } finally {
      remove();
      signal?.removeEventListener("abort", onAbort);
    }
    return {
      host: this.#host,
      transmitted: this.#transmitted,
      received: this.#received,
      duplicates: this.#duplicates,
      errors: this.#errors,
      rtts: this.#rtts,
      elapsedMs: this.#clock.now() - start,
    };
  }

  #send(seq: number): void {
    this.#transmitted++;
    this.#sentAt[seq] = this.#clock.now();
    this.#state[seq] = PENDING;
    const dst = this.#dst;
    const r = dst.family === 4
      ? this.#stack.icmp.sendEcho(dst.addr, this.#id, seq, this.#data, {
        ...(this.#o.ttl !== undefined ? { ttl: this.#o.ttl } : {}),
      })
      : this.#stack.ipv6.icmp.sendEcho(dst.addr, 0, this.#id, seq, this.#data, {
        ...(this.#o.ttl !== undefined ? { hopLimit: this.#o.ttl } : {}),
        ...(this.#oif !== undefined ? { oif: this.#oif } : {}),
      });
    if (r < 0) {
      // Like ping(8)'s "ping: sendmsg: Network is unreachable"; the probe is lost.
      this.#state[seq] = FAILED;
      this.#errors++;
      const name = errnoName(r);
      const text = ERRNO_TEXT[name as ErrnoCode] ?? name;
      this.#o.writeError(`ping: sendmsg: ${text[0]!.toUpperCase()}${text.slice(1)} (${name})`);
    }
  }

  #onReply(r: EchoReply | EchoError | Echo6Reply | Echo6Error): void {
    const seq = r.seq;
    const state = this.#state[seq];
    if (state === undefined) return; // not one of ours (an earlier run's identifier)
    const from = typeof r.from === "string" ? r.from : formatIpv4(r.from);
    const ttl = "hopLimit" in r ? r.hopLimit : "ttl" in r ? r.ttl : 0;
    if ("errno" in r) {
      if (state === PENDING) {
        this.#state[seq] = FAILED;
        this.#errors++;
      }
      this.#o.write(`From ${from} icmp_seq=${seq} ${ERROR_TEXT[r.reason] ?? r.reason}`);
    } else {
      const rtt = r.time - this.#sentAt[seq]!;
      let tail = "";
      if (state === ANSWERED) {
        this.#duplicates++;
        tail = " (DUP!)";
      } else {
        if (state === FAILED) this.#errors--; // an error then a reply: count the reply
        this.#state[seq] = ANSWERED;
        this.#received++;
        this.#rtts.push(rtt);
        this.#maxRtt = Math.max(this.#maxRtt, rtt);
      }
      if (!sameData(r.data, this.#data)) tail += " (BAD DATA)";
      this.#o.write(
        `${r.data.length + 8} bytes from ${from}: icmp_seq=${seq} ttl=${ttl} time=${
          formatRtt(rtt)
        } ms${tail}`,
      );
    }
    if (this.#finalWait && this.#allSettled()) this.#wake?.();
  }

  /** Every probe sent has been answered or has failed (ping(8): received + errors ≥ count). */
  #allSettled(): boolean {
    return this.#received + this.#errors >= this.#o.count;
  }

  /** Wait `ms` on the stack's clock, or less if woken (abort, all settled). */
  #sleep(ms: number): Promise<void> {
    if (this.#o.signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: Timer | null = null;
      const done = () => {
        if (timer !== null) this.#clock.clearTimer(timer);
        this.#wake = null;
        resolve();
      };
      this.#wake = done;
      timer = this.#clock.setTimer(ms, done);
    });
  }
}

function sameData(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
