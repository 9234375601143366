/**
 * `ss`-style reports from a running CLI process: the socket table (state,
 * queues, cwnd, srtt, rto, retransmits per connection) and the TCP and drop
 * counters, written when the process gets SIGUSR1 (`kill -USR1 PID`) and,
 * with `--stats N`, every N seconds.
 *
 * @module
 */
import type { Stack } from "../api/stack.ts";
import { formatSocketTable } from "../socket/socket_info.ts";

/**
 * The report: a header line, the socket table, then one line of TCP
 * counters, one of memory ({@link memoryLine}) and one of drops.
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { statsReport } from "./stats.ts";
 * const stack = new Stack({ clock: new VirtualClock() });
 * stack.listen({ port: 7 });
 * console.log(statsReport(stack).join("\n"));
 * await stack.close();
 * ```
 */
export function statsReport(stack: Stack, title = "netwasm ss"): string[] {
  const rows = stack.sockets.list();
  const t = stack.stats.tcp;
  const drops = Object.entries(stack.stats.drops.snapshot()).map(([k, v]) => `${k}=${v}`);
  return [
    `${title}: ${rows.length} sockets at ${new Date().toISOString()}`,
    ...(rows.length > 0 ? formatSocketTable(rows).split("\n") : []),
    `tcp: ${t.currEstab} established, ${t.activeOpens} active / ${t.passiveOpens} passive opens, ` +
    `${t.inSegs} segments in, ${t.outSegs} out, ${t.retransSegs} retransmitted ` +
    `(${t.fastRetrans} fast, ${t.timeouts} timeouts), ${t.outRsts} RSTs sent`,
    memoryLine(stack),
    `drops: ${drops.length > 0 ? drops.join(" ") : "none"}`,
  ];
}

/**
 * One line on packet memory: the arena (bytes of slots in use, their high
 * water, the capacity, allocations that failed and NORMAL ones kept off the
 * receive reserve) and TCP's account (bytes charged by every queue, its high
 * water, the low/pressure/high marks, pressure, writers waiting, connections
 * evicted, orphans reset, queues repacked). Sizes in KiB.
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { memoryLine } from "./stats.ts";
 * const stack = new Stack({ clock: new VirtualClock() });
 * memoryLine(stack); // "memory: arena 0 KiB in use (high water 0 KiB) of … KiB, …"
 * await stack.close();
 * ```
 */
export function memoryLine(stack: Stack): string {
  const a = stack.arena.stats();
  const m = stack.tcp.mem;
  const k = (n: number) => Math.round(n / 1024);
  let failed = 0;
  let kept = 0;
  for (const c of a.classes) {
    failed += c.failures;
    kept += c.reserveRefusals;
  }
  const s = m.stats;
  return `memory: arena ${k(a.bytesInUse)} KiB in use (high water ${k(a.bytesHighWater)} KiB) ` +
    `of ${k(a.capacityBytes)} KiB, ${failed} allocations failed, ${kept} kept off the reserve; ` +
    `tcp ${k(m.allocated)} KiB (high water ${k(m.highWater)} KiB), marks ${k(m.low)}/${
      k(m.pressure)
    }/${k(m.high)} KiB, pressure ${m.underPressure ? "on" : "off"} (${s.pressureEntered}×), ` +
    `${m.waiting} writers waiting, ${s.sendSuppressed} sends held back, ` +
    `${s.stuckEvicted} stuck evicted, ${s.orphansAborted} orphans reset, ` +
    `${s.ofoPrunedForMemory} out-of-order pruned, ${s.collapsed} queues repacked, ` +
    `${stack.tcp.ctx.orphans} orphans`;
}

/** Options for {@link startStatsReporter}. */
export interface StatsReporterOptions {
  /** Also report every this many seconds (absent: only on the signal). */
  readonly everySec?: number | undefined;
  /** Report on this signal (default SIGUSR1; null: none). */
  readonly signal?: Deno.Signal | null;
}

/**
 * Write {@link statsReport} through `write` on SIGUSR1 and every
 * `everySec` seconds; returns the function that stops it (the signal
 * listener and the interval keep a process alive until then).
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { startStatsReporter } from "./stats.ts";
 * const stack = new Stack();
 * const stop = startStatsReporter(stack, console.error, { everySec: 5 });
 * stop();
 * await stack.close();
 * ```
 */
export function startStatsReporter(
  stack: Stack,
  write: (line: string) => void,
  options: StatsReporterOptions = {},
): () => void {
  const report = () => {
    for (const line of statsReport(stack)) write(line);
  };
  const signal = options.signal === undefined ? "SIGUSR1" : options.signal;
  let listening = false;
  if (signal !== null) {
    try {
      Deno.addSignalListener(signal, report);
      listening = true;
    } catch { /* no such signal on this OS (Windows) */ }
  }
  const every = options.everySec;
  const interval = every !== undefined ? setInterval(report, every * 1000) : undefined;
  return () => {
    if (listening && signal !== null) Deno.removeSignalListener(signal, report);
    listening = false;
    if (interval !== undefined) clearInterval(interval);
  };
}
