/**
 * `netwasm perf` output in iperf3's shapes: byte and bit-rate units
 * ("1.10 GBytes", "9.42 Gbits/sec"), the interval and summary lines, and
 * iperf3's unit suffixes on the command line ("100M", "1G").
 *
 * @module
 */

const BYTE_UNITS = ["Bytes", "KBytes", "MBytes", "GBytes", "TBytes"];
const BIT_UNITS = ["bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec", "Tbits/sec"];

/** Three significant digits like iperf3's `unit_snprintf`. */
function digits(v: number): string {
  if (v < 9.995) return v.toFixed(2).padStart(4);
  if (v < 99.95) return v.toFixed(1).padStart(4);
  return v.toFixed(0).padStart(4);
}

/**
 * Bytes with an adaptive binary unit, as iperf3 prints transfers.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./perf_format.ts";
 * formatBytes(1181116006); // "1.10 GBytes"
 * ```
 */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${digits(v)} ${BYTE_UNITS[u]}`;
}

/**
 * A bit rate with an adaptive decimal unit, as iperf3 prints bitrates.
 *
 * @example
 * ```ts
 * import { formatRate } from "./perf_format.ts";
 * formatRate(9.42e9); // "9.42 Gbits/sec"
 * ```
 */
export function formatRate(bitsPerSecond: number): string {
  let v = bitsPerSecond;
  let u = 0;
  while (v >= 1000 && u < BIT_UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return `${digits(v)} ${BIT_UNITS[u]}`;
}

/**
 * A size argument with iperf3's suffixes: K, M, G, T (binary, either case),
 * e.g. `-n 100M`, `-l 128K`. Null if it is not a size.
 *
 * @example
 * ```ts
 * import { parseSize } from "./perf_format.ts";
 * parseSize("128K"); // 131072
 * ```
 */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([kKmMgGtT]?)$/.exec(text);
  if (m === null) return null;
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()]!;
  return Math.round(Number(m[1]) * mult);
}

/**
 * A rate argument with iperf3's suffixes: K, M, G, T (decimal, either case),
 * e.g. `-b 100M` (10^8 bits/s). Null if it is not a rate.
 *
 * @example
 * ```ts
 * import { parseRate } from "./perf_format.ts";
 * parseRate("100M"); // 100000000
 * ```
 */
export function parseRate(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([kKmMgGtT]?)$/.exec(text);
  if (m === null) return null;
  const mult = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[m[2]!.toLowerCase()]!;
  return Math.round(Number(m[1]) * mult);
}

/** The separator iperf3 prints before the summary. */
export const SEPARATOR = "- - - - - - - - - - - - - - - - - - - - - - - - -";

/** Column headers. */
export const Header = {
  TCP: "[ ID] Interval           Transfer     Bitrate",
  TCP_RETR: "[ ID] Interval           Transfer     Bitrate         Retr",
  TCP_RETR_CWND: "[ ID] Interval           Transfer     Bitrate         Retr  Cwnd",
  UDP: "[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams",
  UDP_SENDER: "[ ID] Interval           Transfer     Bitrate         Total Datagrams",
} as const;

/** What one interval or summary line reports. */
export interface LineFigures {
  /** Stream label: its socket number, or "SUM". */
  readonly id: number | "SUM";
  /** Seconds since the test started, at the start and end of the span. */
  readonly start: number;
  readonly end: number;
  readonly bytes: number;
  /** TCP sender: retransmitted segments in the span. */
  readonly retransmits?: number;
  /** TCP sender: congestion window (bytes). */
  readonly cwnd?: number;
  /** UDP receiver: jitter (ms), lost and total datagrams. */
  readonly jitterMs?: number;
  readonly lost?: number;
  readonly packets?: number;
  /** "sender", "receiver" or "". */
  readonly role?: string;
}

/**
 * One line in iperf3's layout, e.g.
 * `[  5]   0.00-1.00   sec  1.10 GBytes  9.42 Gbits/sec    0   3.01 MBytes`.
 *
 * @example
 * ```ts
 * import { formatLine } from "./perf_format.ts";
 * formatLine({ id: 5, start: 0, end: 1, bytes: 1181116006 });
 * ```
 */
export function formatLine(f: LineFigures): string {
  const id = f.id === "SUM" ? "[SUM]" : `[${String(f.id).padStart(3)}]`;
  const secs = f.end - f.start;
  const rate = secs > 0 ? (f.bytes * 8) / secs : 0;
  const head = `${id} ${f.start.toFixed(2).padStart(6)}-${f.end.toFixed(2).padEnd(6)} sec  ${
    formatBytes(f.bytes)
  }  ${formatRate(rate)}`;
  const role = f.role ?? "";
  if (f.jitterMs !== undefined) {
    const lost = f.lost ?? 0;
    const total = f.packets ?? 0;
    const pct = total > 0 ? (100 * lost) / total : 0;
    return `${head}  ${f.jitterMs.toFixed(3)} ms  ${lost}/${total} (${
      Number(pct.toPrecision(2))
    }%)  ${role}`.trimEnd();
  }
  if (f.packets !== undefined) return `${head}  ${f.packets}  ${role}`.trimEnd();
  if (f.retransmits !== undefined && f.cwnd !== undefined) {
    return `${head}  ${String(f.retransmits).padStart(3)}   ${formatBytes(f.cwnd)}       ${role}`
      .trimEnd();
  }
  if (f.retransmits !== undefined) {
    return `${head}  ${String(f.retransmits).padStart(3)}             ${role}`.trimEnd();
  }
  return `${head}                  ${role}`.trimEnd();
}
