/**
 * The data side of `netwasm perf`, shared by client and server: streams that
 * send or receive (TCP connections, UDP "streams" with iperf3's datagram
 * header), their counters, interval reports every `interval` seconds, the
 * results message for the peer and the end-of-test summary, as text lines in
 * iperf3's layout or as iperf3-shaped JSON.
 *
 * @module
 */
import process from "node:process";
import type { Conn } from "../api/conn.ts";
import type { DatagramConn, NetAddr } from "../api/datagram.ts";
import type { Stack } from "../api/stack.ts";
import { SO_RCVBUF, SOL_SOCKET } from "../socket/constants.ts";
import { formatLine, Header, type LineFigures, SEPARATOR } from "./perf_format.ts";
import type { PerfResults, PerfStreamResult } from "./perf_proto.ts";

/** A stream of a test: one TCP connection or one UDP flow. */
export class PerfStream {
  /** iperf3 stream id (1, 3, 4, …). */
  readonly id: number;
  /** Label in the output (the socket number, as iperf3 prints its fd). */
  readonly label: number;
  /** True if this side sends on it. */
  readonly sender: boolean;
  readonly conn: Conn | null;
  readonly udp: DatagramConn | null;
  /** UDP peer (where to send, whose datagrams are ours). */
  readonly peer: NetAddr | null;
  /** Bytes sent (sender) or received (receiver). */
  bytes = 0;
  /** Bytes in the current interval. */
  intervalBytes = 0;
  /** UDP: datagrams sent (sender) / highest counter seen (receiver). */
  packets = 0;
  /** UDP receiver: datagrams missing from the counter sequence. */
  lost = 0;
  /** UDP receiver: datagrams that came out of order. */
  outOfOrder = 0;
  /** UDP receiver: RFC 1889 jitter estimate (seconds). */
  jitter = 0;
  #prevTransit = 0;
  #intervalLostBase = 0;
  #intervalPacketsBase = 0;
  /** TCP sender: retransmits counted at the start of the interval. */
  #retransBase = 0;
  /** Seconds (test clock) when this stream started and stopped. */
  endTime = 0;

  /** A stream over `conn` (TCP) or `udp` to `peer`. */
  constructor(
    o: {
      id: number;
      label: number;
      sender: boolean;
      conn?: Conn;
      udp?: DatagramConn;
      peer?: NetAddr;
    },
  ) {
    this.id = o.id;
    this.label = o.label;
    this.sender = o.sender;
    this.conn = o.conn ?? null;
    this.udp = o.udp ?? null;
    this.peer = o.peer ?? null;
  }

  /**
   * Account one received UDP datagram (`u8`, its iperf3 header: seconds,
   * microseconds and a 32- or 64-bit counter), arriving at `nowSec` (wall
   * clock seconds).
   */
  udpReceived(u8: Uint8Array, length: number, nowSec: number, counters64: boolean): void {
    this.bytes += length;
    this.intervalBytes += length;
    if (length < (counters64 ? 16 : 12)) return;
    const v = new DataView(u8.buffer, u8.byteOffset, length);
    const sent = v.getUint32(0) + v.getUint32(4) / 1e6;
    const pcount = counters64 ? Number(v.getBigUint64(8)) : v.getUint32(8);
    if (pcount >= this.packets + 1) {
      if (pcount > this.packets + 1) this.lost += pcount - 1 - this.packets;
      this.packets = pcount;
    } else {
      // Out of order: it fills a gap counted as lost before.
      this.outOfOrder++;
      if (this.lost > 0) this.lost--;
    }
    // RFC 1889 §6.3.1 / A.8 interarrival jitter, in seconds.
    const transit = nowSec - sent;
    const first = this.packets === pcount && this.bytes === length;
    if (first) this.#prevTransit = transit;
    const d = Math.abs(transit - this.#prevTransit);
    this.#prevTransit = transit;
    this.jitter += (d - this.jitter) / 16;
  }

  /** The figures of the interval ending now, then start a new one. */
  takeInterval(stack: Stack, start: number, end: number, udp: boolean): LineFigures {
    const f: LineFigures = { id: this.label, start, end, bytes: this.intervalBytes };
    this.intervalBytes = 0;
    if (udp) {
      if (this.sender) {
        const n = this.packets - this.#intervalPacketsBase;
        this.#intervalPacketsBase = this.packets;
        return { ...f, packets: n };
      }
      const lost = this.lost - this.#intervalLostBase;
      const n = this.packets - this.#intervalPacketsBase;
      this.#intervalLostBase = this.lost;
      this.#intervalPacketsBase = this.packets;
      return { ...f, jitterMs: this.jitter * 1000, lost, packets: n };
    }
    if (!this.sender || this.conn === null) return f;
    const info = tcpRow(stack, this.conn.fd);
    const retr = info?.retransmits ?? this.#retransBase;
    const r = { ...f, retransmits: retr - this.#retransBase, cwnd: info?.cwnd ?? 0 };
    this.#retransBase = retr;
    return r;
  }

  /** Total retransmits of a TCP sender so far (-1 when not applicable). */
  retransmits(stack: Stack): number {
    if (!this.sender || this.conn === null) return -1;
    return tcpRow(stack, this.conn.fd)?.retransmits ?? 0;
  }
}

function tcpRow(stack: Stack, fd: number): { retransmits: number; cwnd: number } | null {
  for (const row of stack.sockets.list()) {
    if (row.fd === fd && row.protocol === "tcp" && row.tcp !== undefined) {
      return { retransmits: row.tcp.retransmits, cwnd: row.tcp.cwnd };
    }
  }
  return null;
}

/** Settings of a running test, from this side's point of view. */
export interface PerfRunConfig {
  readonly stack: Stack;
  readonly udp: boolean;
  /** True if this side sends. */
  readonly sending: boolean;
  /** Block size (TCP write size, UDP datagram size). */
  readonly len: number;
  /** UDP target rate per stream, bits/s (0: unlimited). */
  readonly rate: number;
  /** Stop after this many bytes in total (0: no limit). */
  readonly bytes: number;
  /** Stop after this many blocks in total (0: no limit). */
  readonly blocks: number;
  /** Interval between reports, seconds (0: none). */
  readonly interval: number;
  /** 64-bit UDP counters. */
  readonly counters64: boolean;
  /** JSON output instead of text lines. */
  readonly json: boolean;
  /** Where text lines go. */
  readonly out: (line: string) => void;
}

/** Wall clock in seconds, for UDP timestamps (iperf3 uses gettimeofday). */
function wallSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

/** CPU use of this process since `from` as iperf3's percentages. */
export class CpuMeter {
  #wall = performance.now();
  #cpu = process.cpuUsage();

  /** [total, user, system] percent of wall time since construction. */
  read(): [number, number, number] {
    const wallUs = Math.max(1, (performance.now() - this.#wall) * 1000);
    const d = process.cpuUsage(this.#cpu);
    const user = (100 * d.user) / wallUs;
    const system = (100 * d.system) / wallUs;
    return [user + system, user, system];
  }
}

/**
 * The data phase of one test: runs every stream's send or receive loop,
 * reports intervals, and stops on {@link PerfRun.stop} or when the byte or
 * block limit is reached (then `onLimit` is called once).
 */
export class PerfRun {
  readonly streams: PerfStream[];
  readonly config: PerfRunConfig;
  /** performance.now() at TEST_START. */
  #t0 = 0;
  #running = false;
  #stopped = false;
  #bytesTotal = 0;
  #blocksTotal = 0;
  #intervalTimer: ReturnType<typeof setInterval> | undefined;
  #intervalStart = 0;
  #loops: Promise<void>[] = [];
  #onLimit: (() => void) | null = null;
  /** Interval reports, for JSON output. */
  readonly intervals: unknown[] = [];
  /** Seconds the data phase ran (set by stop()). */
  duration = 0;
  readonly cpu: CpuMeter = new CpuMeter();

  /** A run of `streams` with `config`. */
  constructor(streams: PerfStream[], config: PerfRunConfig) {
    this.streams = streams;
    this.config = config;
  }

  /** Seconds since the test started. */
  elapsed(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  /** True while data flows. */
  get running(): boolean {
    return this.#running;
  }

  /** Start the data phase; `onLimit` runs once when `-n`/`-k` is reached by this side. */
  start(onLimit: () => void): void {
    this.#t0 = performance.now();
    this.#running = true;
    this.#onLimit = onLimit;
    const c = this.config;
    if (!c.json && c.interval > 0) this.#printHeader();
    if (c.interval > 0) {
      this.#intervalTimer = setInterval(() => this.#reportInterval(), c.interval * 1000);
    }
    for (const s of this.streams) {
      this.#loops.push(
        (s.sender ? (c.udp ? this.#udpSend(s) : this.#tcpSend(s)) : c.udp
          ? Promise.resolve() // UDP receive is driven by the socket owner (see udpDeliver)
          : this.#tcpRecv(s)).catch(() => {/* a closed stream ends its loop */}),
      );
    }
  }

  #printHeader(): void {
    const c = this.config;
    this.config.out(
      c.udp
        ? (c.sending ? Header.UDP_SENDER : Header.UDP)
        : (c.sending ? Header.TCP_RETR_CWND : Header.TCP),
    );
  }

  #limit(bytes: number): boolean {
    this.#bytesTotal += bytes;
    this.#blocksTotal++;
    const c = this.config;
    if (
      (c.bytes > 0 && this.#bytesTotal >= c.bytes) ||
      (c.blocks > 0 && this.#blocksTotal >= c.blocks)
    ) {
      if (this.#onLimit !== null) {
        const f = this.#onLimit;
        this.#onLimit = null;
        queueMicrotask(f);
      }
      return true;
    }
    return false;
  }

  async #tcpSend(s: PerfStream): Promise<void> {
    const buf = payload(this.config.len);
    const conn = s.conn!;
    while (this.#running) {
      const n = await conn.write(buf);
      if (!this.#running) break;
      s.bytes += n;
      s.intervalBytes += n;
      if (this.#limit(n)) break;
    }
  }

  async #tcpRecv(s: PerfStream): Promise<void> {
    const buf = new Uint8Array(Math.max(this.config.len, 65536));
    const conn = s.conn!;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      if (!this.#running) continue; // late data after TEST_END: drained, not counted
      s.bytes += n;
      s.intervalBytes += n;
      if (this.config.bytes > 0) this.#limit(n);
    }
  }

  async #udpSend(s: PerfStream): Promise<void> {
    const c = this.config;
    const buf = payload(c.len);
    const v = new DataView(buf.buffer);
    const sock = s.udp!;
    const peer = s.peer!;
    const t0 = performance.now();
    let sinceYield = 0;
    while (this.#running) {
      if (c.rate > 0) {
        const allowed = (c.rate * (performance.now() - t0)) / 8000;
        if (s.bytes >= allowed) {
          await sleep(1);
          continue;
        }
      } else if (++sinceYield >= 64) {
        sinceYield = 0;
        await sleep(0);
      }
      const now = wallSeconds();
      s.packets++;
      v.setUint32(0, Math.floor(now));
      v.setUint32(4, Math.floor((now % 1) * 1e6));
      if (c.counters64) v.setBigUint64(8, BigInt(s.packets));
      else v.setUint32(8, s.packets >>> 0);
      const n = await sock.send(buf, peer);
      s.bytes += n;
      s.intervalBytes += n;
      if (this.#limit(n)) break;
    }
  }

  /** Account a datagram received for stream `s` (UDP receivers). */
  udpDeliver(s: PerfStream, data: Uint8Array): void {
    if (!this.#running) return; // iperf3 counts only in TEST_RUNNING
    s.udpReceived(data, data.length, wallSeconds(), this.config.counters64);
    if (this.config.bytes > 0) this.#limit(data.length);
  }

  #reportInterval(): void {
    const end = this.elapsed();
    const start = this.#intervalStart;
    this.#intervalStart = end;
    if (end - start < 0.001) return;
    const c = this.config;
    const lines = this.streams.map((s) => s.takeInterval(c.stack, start, end, c.udp));
    if (c.json) {
      this.intervals.push({
        streams: lines.map((l, i) => jsonInterval(l, this.streams[i]!.sender, c.udp)),
        sum: jsonInterval(sumOf(lines, start, end), c.sending, c.udp),
      });
      return;
    }
    for (const l of lines) c.out(formatLine(l));
    if (lines.length > 1) c.out(formatLine(sumOf(lines, start, end)));
  }

  /** Stop the data phase (idempotent); reports the last partial interval. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.duration = this.elapsed();
    for (const s of this.streams) s.endTime = this.duration;
    if (this.#intervalTimer !== undefined) clearInterval(this.#intervalTimer);
    if (this.config.interval > 0 && this.duration - this.#intervalStart >= 0.01) {
      this.#reportInterval();
    }
    this.#running = false;
  }

  /** Close every stream (ends the loops) and wait for them. */
  async close(): Promise<void> {
    this.stop();
    for (const s of this.streams) {
      try {
        s.conn?.close();
      } catch { /* closed already */ }
    }
    await Promise.all(this.#loops);
  }

  /** This side's results message for the peer. */
  results(): PerfResults {
    const [total, user, system] = this.cpu.read();
    const st = this.config.stack;
    return {
      cpu_util_total: total,
      cpu_util_user: user,
      cpu_util_system: system,
      sender_has_retransmits: this.config.sending && !this.config.udp ? 1 : -1,
      streams: this.streams.map((s): PerfStreamResult => ({
        id: s.id,
        bytes: s.bytes,
        retransmits: this.config.udp ? -1 : s.retransmits(st),
        jitter: s.jitter,
        errors: s.lost,
        packets: s.packets,
        start_time: 0,
        end_time: s.endTime,
      })),
    };
  }
}

/**
 * Give a UDP test socket a 4 MiB receive buffer, so a moment when the event
 * loop is busy elsewhere (the test starting up, a GC) shows up as queueing,
 * not as loss the network did not cause (iperf3 users pass `-w` for this).
 */
export function bigReceiveBuffer(stack: Stack, fd: number): void {
  stack.sockets.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 4 * 1024 * 1024);
}

/** A block of `len` bytes of varied data (iperf3 sends random bytes). */
function payload(len: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i += 65536) {
    crypto.getRandomValues(b.subarray(i, Math.min(len, i + 65536)));
  }
  return b;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The [SUM] figures of `lines`. */
export function sumOf(lines: readonly LineFigures[], start: number, end: number): LineFigures {
  let bytes = 0;
  let retr: number | undefined;
  let lost: number | undefined;
  let packets: number | undefined;
  let jitter: number | undefined;
  for (const l of lines) {
    bytes += l.bytes;
    if (l.retransmits !== undefined) retr = (retr ?? 0) + l.retransmits;
    if (l.lost !== undefined) lost = (lost ?? 0) + l.lost;
    if (l.packets !== undefined) packets = (packets ?? 0) + l.packets;
    if (l.jitterMs !== undefined) jitter = (jitter ?? 0) + l.jitterMs / lines.length;
  }
  return {
    id: "SUM",
    start,
    end,
    bytes,
    ...(retr !== undefined ? { retransmits: retr } : {}),
    ...(jitter !== undefined ? { jitterMs: jitter } : {}),
    ...(lost !== undefined ? { lost } : {}),
    ...(packets !== undefined ? { packets } : {}),
    ...(lines[0]?.role !== undefined ? { role: lines[0].role } : {}),
  };
}

/** One interval or summary entry in iperf3's JSON shape. */
export function jsonInterval(l: LineFigures, sender: boolean, udp: boolean): object {
  const seconds = l.end - l.start;
  const out: Record<string, unknown> = {
    ...(l.id !== "SUM" ? { socket: l.id } : {}),
    start: l.start,
    end: l.end,
    seconds,
    bytes: l.bytes,
    bits_per_second: seconds > 0 ? (l.bytes * 8) / seconds : 0,
  };
  if (l.retransmits !== undefined) out.retransmits = l.retransmits;
  if (l.cwnd !== undefined) out.snd_cwnd = l.cwnd;
  if (udp) {
    out.packets = l.packets ?? 0;
    if (l.jitterMs !== undefined) {
      out.jitter_ms = l.jitterMs;
      out.lost_packets = l.lost ?? 0;
      out.lost_percent = l.packets ? (100 * (l.lost ?? 0)) / l.packets : 0;
    }
  }
  out.omitted = false;
  out.sender = sender;
  return out;
}

/** What the end-of-test report needs from the peer. */
export interface PeerResults {
  readonly results: PerfResults | null;
}

/**
 * The summary (text lines, or the `end` object for JSON) of a finished run,
 * combining this side's counters with the peer's results message.
 */
export function summarize(
  run: PerfRun,
  peer: PerfResults | null,
): { lines: string[]; end: Record<string, unknown> } {
  const c = run.config;
  const lines: string[] = [SEPARATOR];
  const pairs: { sender: LineFigures; receiver: LineFigures }[] = [];
  for (const s of run.streams) {
    const p = peer?.streams.find((r) => r.id === s.id);
    const local: LineFigures = {
      id: s.label,
      start: 0,
      end: s.endTime,
      bytes: s.bytes,
      ...(c.udp
        ? (s.sender
          ? { jitterMs: (p?.jitter ?? 0) * 1000, lost: p?.errors ?? 0, packets: s.packets }
          : { jitterMs: s.jitter * 1000, lost: s.lost, packets: s.packets })
        : s.sender
        ? { retransmits: Math.max(0, s.retransmits(c.stack)) }
        : {}),
    };
    const remote: LineFigures = {
      id: s.label,
      start: 0,
      end: p ? p.end_time - p.start_time : 0,
      bytes: p?.bytes ?? 0,
      ...(c.udp
        ? (s.sender
          ? { jitterMs: (p?.jitter ?? 0) * 1000, lost: p?.errors ?? 0, packets: p?.packets ?? 0 }
          : { jitterMs: s.jitter * 1000, lost: s.lost, packets: p?.packets ?? 0 })
        : !s.sender
        ? { retransmits: Math.max(0, p?.retransmits ?? 0) }
        : {}),
    };
    pairs.push(
      s.sender
        ? { sender: { ...local, role: "sender" }, receiver: { ...remote, role: "receiver" } }
        : { sender: { ...remote, role: "sender" }, receiver: { ...local, role: "receiver" } },
    );
  }
  lines.push(c.udp ? Header.UDP : Header.TCP_RETR);
  for (const pr of pairs) {
    lines.push(formatLine(stripCwnd(pr.sender)));
    lines.push(formatLine(c.udp ? pr.receiver : stripRetr(pr.receiver)));
  }
  const maxEnd = (xs: LineFigures[]) => Math.max(0, ...xs.map((x) => x.end));
  const sumSender = sumOf(
    pairs.map((p) => p.sender),
    0,
    maxEnd(pairs.map((p) => p.sender)),
  );
  const sumReceiver = sumOf(
    pairs.map((p) => p.receiver),
    0,
    maxEnd(pairs.map((p) => p.receiver)),
  );
  if (pairs.length > 1) {
    lines.push(formatLine({ ...sumSender, role: "sender" }));
    lines.push(
      formatLine(
        { ...(c.udp ? sumReceiver : stripRetr(sumReceiver)), role: "receiver" },
      ),
    );
  }
  const [total, user, system] = run.cpu.read();
  const end: Record<string, unknown> = {
    streams: pairs.map((p) =>
      c.udp ? { udp: jsonInterval(p.receiver, false, true) } : {
        sender: jsonInterval(p.sender, true, false),
        receiver: jsonInterval(stripRetr(p.receiver), false, false),
      }
    ),
    ...(c.udp ? { sum: jsonInterval({ ...sumReceiver, id: "SUM" }, c.sending, true) } : {
      sum_sent: jsonInterval(sumSender, true, false),
      sum_received: jsonInterval(stripRetr(sumReceiver), false, false),
    }),
    cpu_utilization_percent: {
      host_total: total,
      host_user: user,
      host_system: system,
      remote_total: peer?.cpu_util_total ?? 0,
      remote_user: peer?.cpu_util_user ?? 0,
      remote_system: peer?.cpu_util_system ?? 0,
    },
  };
  return { lines, end };
}

function stripCwnd(f: LineFigures): LineFigures {
  const { cwnd: _cwnd, ...rest } = f;
  return rest;
}

function stripRetr(f: LineFigures): LineFigures {
  const { retransmits: _r, ...rest } = f;
  return rest;
}
