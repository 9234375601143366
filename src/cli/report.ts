/**
 * Text tables for the terminal: the per-stack counters (ARP, IP, ICMP by
 * type, UDP, TCP, drops by reason) and the per-link impairment counters.
 *
 * @module
 */
import type { StackStats } from "../core/stats.ts";
import type { ImpairmentStats } from "../link/impair.ts";
import { IcmpType } from "../wire/icmp.ts";
import { Icmpv6Type } from "../wire/icmpv6.ts";

/** Column alignment for {@link formatTable}. */
export type Align = "left" | "right";

/**
 * Lay rows out in columns two spaces apart; `align[i]` aligns column i
 * (default: first column left, the rest right). A row with one cell is a
 * section label and does not widen the first column.
 *
 * @example
 * ```ts
 * import { formatTable } from "./report.ts";
 * formatTable([["", "a", "b"], ["sent", "1", "20"]]);
 * // ["          a   b", "sent      1  20"] (columns padded to their widest cell)
 * ```
 */
export function formatTable(
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    if (row.length === 1) continue;
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  }
  return rows.map((row) => {
    if (row.length === 1) return row[0]!;
    return row
      .map((cell, i) => {
        const pad = " ".repeat(Math.max(0, widths[i]! - width(cell)));
        return (align[i] ?? (i === 0 ? "left" : "right")) === "left" ? cell + pad : pad + cell;
      })
      .join("  ")
      .trimEnd();
  });
}

/** Display width: code points (the tables use no wide characters). */
function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Two related counters in one cell: `in/out`, `sent/received`. */
function pair(a: number, b: number): string {
  return `${a}/${b}`;
}

/**
 * The counter table of several stacks side by side: one column per stack,
 * one row per counter, drop reasons last (only those counted anywhere).
 *
 * @example
 * ```ts
 * import { StackStats } from "../core/stats.ts";
 * import { stackCounterTable } from "./report.ts";
 * const lines = stackCounterTable([["a", new StackStats()], ["b", new StackStats()]]);
 * console.log(lines.join("\n"));
 * ```
 */
export function stackCounterTable(stacks: readonly (readonly [string, StackStats])[]): string[] {
  const s = stacks.map(([, st]) => st);
  const row = (label: string, f: (st: StackStats) => string | number) => [
    `  ${label}`,
    ...s.map((st) => String(f(st))),
  ];
  const icmp = (type: number) => (st: StackStats) =>
    pair(st.icmp.inByType[type] ?? 0, st.icmp.outByType[type] ?? 0);
  const reasons = [...new Set(s.flatMap((st) => Object.keys(st.drops.snapshot())))].sort();
  const rows: string[][] = [
    ["", ...stacks.map(([name]) => name)],
    ["ARP"],
    row("requests out/in", (st) => pair(st.arp.requestsSent, st.arp.requestsReceived)),
    row("replies out/in", (st) => pair(st.arp.repliesSent, st.arp.repliesReceived)),
    row("resolutions failed", (st) => st.arp.resolveFailed),
    ["IPv4"],
    row("datagrams in/out", (st) => pair(st.ip.inReceives, st.ip.outRequests)),
    row("delivered up", (st) => st.ip.inDelivers),
    row("header errors", (st) => st.ip.inHdrErrors),
    row("fragmented/fragments made", (st) => pair(st.ip.fragOKs, st.ip.fragCreates)),
    row("fragments in/reassembled", (st) => pair(st.ip.reasmReqds, st.ip.reasmOKs)),
    row("reassembly failed/timeouts", (st) => pair(st.ip.reasmFails, st.ip.reasmTimeout)),
    ["ICMP (in/out)"],
    row("echo request", icmp(IcmpType.ECHO_REQUEST)),
    row("echo reply", icmp(IcmpType.ECHO_REPLY)),
    row("destination unreachable", icmp(IcmpType.DEST_UNREACHABLE)),
    row("time exceeded", icmp(IcmpType.TIME_EXCEEDED)),
    row("malformed in / rate-limited", (st) => pair(st.icmp.inErrors, st.icmp.outRateLimited)),
    ["IPv6"],
    row("packets in/out", (st) => pair(st.ip6.inReceives, st.ip6.outRequests)),
    row("delivered up / header errors", (st) => pair(st.ip6.inDelivers, st.ip6.inHdrErrors)),
    row("fragmented/fragments made", (st) => pair(st.ip6.fragOKs, st.ip6.fragCreates)),
    row("fragments in/reassembled", (st) => pair(st.ip6.reasmReqds, st.ip6.reasmOKs)),
    ["ICMPv6 and neighbour discovery (in/out)"],
    row(
      "echo request/reply in",
      (st) =>
        pair(
          st.icmp6.inByType[Icmpv6Type.ECHO_REQUEST] ?? 0,
          st.icmp6.inByType[Icmpv6Type.ECHO_REPLY] ?? 0,
        ),
    ),
    row("neighbor solicit", (st) => pair(st.ndisc.nsReceived, st.ndisc.nsSent)),
    row("neighbor advert", (st) => pair(st.ndisc.naReceived, st.ndisc.naSent)),
    row("DAD runs / duplicates", (st) => pair(st.ndisc.dadStarted, st.ndisc.dadFailed)),
    row("MLDv2 reports out", (st) => st.ndisc.mldReportsSent),
    ["UDP"],
    row("datagrams in/out", (st) => pair(st.udp.inDatagrams, st.udp.outDatagrams)),
    row("no port / bad checksum", (st) => pair(st.udp.noPorts, st.udp.inCsumErrors)),
    ["TCP"],
    row("active/passive opens", (st) => pair(st.tcp.activeOpens, st.tcp.passiveOpens)),
    row("established now", (st) => st.tcp.currEstab),
    row("failed attempts / resets", (st) => pair(st.tcp.attemptFails, st.tcp.estabResets)),
    row("segments in/out", (st) => pair(st.tcp.inSegs, st.tcp.outSegs)),
    row("retransmitted segments", (st) => st.tcp.retransSegs),
    row("fast retransmits / timeouts", (st) => pair(st.tcp.fastRetrans, st.tcp.timeouts)),
    row("out-of-order queued", (st) => st.tcp.ofoQueued),
    row("delayed ACKs", (st) => st.tcp.delayedAcks),
    row("RSTs out / bad segments in", (st) => pair(st.tcp.outRsts, st.tcp.inErrs)),
    ["Drops by reason"],
    ...(reasons.length === 0
      ? [row("(none)", () => "")]
      : reasons.map((r) => row(r, (st) => st.drops.get(r)))),
  ];
  return formatTable(rows);
}

/**
 * One row per link direction with its impairment counters.
 *
 * @example
 * ```ts
 * import { ImpairmentStats } from "../link/impair.ts";
 * import { linkCounterTable } from "./report.ts";
 * console.log(linkCounterTable([["lan a→b", new ImpairmentStats()]]).join("\n"));
 * ```
 */
export function linkCounterTable(
  directions: readonly (readonly [string, ImpairmentStats])[],
): string[] {
  const cols: [string, (s: ImpairmentStats) => number][] = [
    ["sent", (s) => s.sent],
    ["delivered", (s) => s.delivered],
    ["lost", (s) => s.lost],
    ["reordered", (s) => s.reordered],
    ["duplicated", (s) => s.duplicated],
    ["corrupted", (s) => s.corrupted],
    [
      "other drops",
      (s) =>
        s.queueDropped + s.mtuDropped + s.blackoutDropped + s.noBuffer + s.downDropped +
        s.rxDropped,
    ],
  ];
  return formatTable([
    ["", ...cols.map(([name]) => name)],
    ...directions.map(([name, st]) => [`  ${name}`, ...cols.map(([, f]) => String(f(st)))]),
  ]);
}
