/**
 * libpcap capture files, written from a device tap and read back for tests.
 *
 * The format (the classic one every tool reads, `tcpdump -w`): a 24-byte
 * global header (magic, version 2.4, snaplen, link type) followed by records
 * of a 16-byte header (seconds, sub-second part, captured length, original
 * length) and the captured bytes. We write little-endian with the
 * microsecond magic `0xa1b2c3d4` by default, or the nanosecond magic
 * `0xa1b23c4d` on request; link type 1 (Ethernet). Timestamps come from the
 * device's clock, so a capture on virtual time is byte-for-byte reproducible;
 * `epochMs` shifts them to a calendar date if wanted.
 *
 * Output goes to a sink callback as `Uint8Array` chunks (one for the header,
 * one per frame), so the same writer works in a browser (collect into a Blob)
 * and in Deno (see `pcap_file.ts`). This module uses no host API.
 *
 * @module
 */
import type { NetDevice, TapDirection } from "./device.ts";

/** Microsecond-resolution magic. */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
/** Nanosecond-resolution magic. */
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** `LINKTYPE_ETHERNET`. */
export const LINKTYPE_ETHERNET = 1;
/** Default snapshot length: large enough for a 65536-MTU loopback frame. */
export const PCAP_SNAPLEN = 262144;

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

/** Receives pcap bytes; may keep the chunk (a new one is made for each call). */
export type PcapSink = (chunk: Uint8Array) => void;

/** Options for {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** Added to clock time (ms) before writing timestamps (default 0: time since clock start). */
  readonly epochMs?: number;
  /** Longest captured length; longer frames are truncated (default {@link PCAP_SNAPLEN}). */
  readonly snaplen?: number;
  /** Timestamp resolution (default `"us"`). */
  readonly precision?: "us" | "ns";
}

/**
 * Writes a libpcap stream to a sink: the global header at construction, then
 * one chunk per {@link PcapWriter.writeFrame}.
 *
 * @example
 * ```ts
 * import { PcapWriter } from "./pcap.ts";
 * const chunks: Uint8Array[] = [];
 * const w = new PcapWriter((c) => chunks.push(c));
 * const frame = new Uint8Array(60);
 * w.writeFrame(frame, 0, frame.length, 1.5); // at clock time 1.5 ms
 * w.frames; // 1
 * ```
 */
export class PcapWriter {
  /** Frames written. */
  frames = 0;
  /** Bytes handed to the sink, headers included. */
  bytes = 0;
  /** Longest captured length. */
  readonly snaplen: number;
  /** Added to clock time for the timestamps. */
  readonly epochMs: number;
  /** Timestamp resolution. */
  readonly precision: "us" | "ns";
  readonly #sink: PcapSink;
  readonly #unitsPerMs: number;
  readonly #unitsPerSec: number;

  /** A writer; the file header goes to `sink` at once. */
  constructor(sink: PcapSink, options: PcapWriterOptions = {}) {
    this.#sink = sink;
    this.snaplen = options.snaplen ?? PCAP_SNAPLEN;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > 0x7fffffff) {
      throw new RangeError(`PcapWriter: snaplen must be a positive integer, got ${this.snaplen}`);
    }
    this.epochMs = options.epochMs ?? 0;
    if (!Number.isFinite(this.epochMs)) {
      throw new RangeError(`PcapWriter: epochMs must be finite, got ${this.epochMs}`);
    }
    this.precision = options.precision ?? "us";
    this.#unitsPerMs = this.precision === "ns" ? 1e6 : 1e3;
    this.#unitsPerSec = this.precision === "ns" ? 1e9 : 1e6;
    const h = new Uint8Array(GLOBAL_HEADER);
    const v = new DataView(h.buffer);
    v.setUint32(0, this.precision === "ns" ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    v.setUint16(4, 2, true); // version 2.4
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone: timestamps are UTC
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    this.#emit(h);
  }

  /** Append one frame `u8[offset, offset+length)` captured at clock time `timeMs`. */
  writeFrame(u8: Uint8Array, offset: number, length: number, timeMs: number): void {
    const caplen = Math.min(length, this.snaplen);
    const chunk = new Uint8Array(RECORD_HEADER + caplen);
    const v = new DataView(chunk.buffer);
    // Whole units first, then split: splitting ms into sec and a rounded
    // fraction could produce a fraction of exactly one second.
    const t = Math.max(0, Math.round((timeMs + this.epochMs) * this.#unitsPerMs));
    const sec = Math.floor(t / this.#unitsPerSec);
    v.setUint32(0, sec >>> 0, true);
    v.setUint32(4, t - sec * this.#unitsPerSec, true);
    v.setUint32(8, caplen, true);
    v.setUint32(12, length, true);
    chunk.set(u8.subarray(offset, offset + caplen), RECORD_HEADER);
    this.frames++;
    this.#emit(chunk);
  }

  #emit(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.#sink(chunk);
  }
}

/** Which frames {@link recordPcap} captures. */
export type PcapDirection = "rx" | "tx" | "both";

/** Options for {@link recordPcap}. */
export interface RecordPcapOptions extends PcapWriterOptions {
  /**
   * Directions to capture (default `"both"`). Recording both ends of a pipe
   * with `"both"` sees every delivered frame twice (tx on one end, rx on the
   * other): record one end with `"both"`, or both ends with `"rx"` into one
   * shared {@link PcapWriter}.
   */
  readonly direction?: PcapDirection;
}

/** A running capture; {@link PcapRecording.stop} detaches the tap. */
export interface PcapRecording {
  /** The writer (shared when one was passed in). */
  readonly writer: PcapWriter;
  /** Frames this recording captured. */
  readonly frames: number;
  /** Remove the tap; idempotent. */
  stop(): void;
}

/**
 * Capture a device's frames as pcap: attaches a tap (`device.addTap`) that
 * writes each frame with its clock time. Pass a {@link PcapWriter} instead of
 * a sink to record several devices into one stream.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { LoopbackDevice } from "./loopback.ts";
 * import { recordPcap } from "./pcap.ts";
 * const clock = new VirtualClock();
 * const lo = new LoopbackDevice({ allocator: new SkbAllocator(new Arena()), clock });
 * const chunks: Uint8Array[] = [];
 * const rec = recordPcap(lo, (c) => chunks.push(c), { direction: "tx" });
 * // ... run traffic ...
 * rec.stop();
 * rec.frames; // frames captured
 * ```
 */
export function recordPcap(
  device: NetDevice,
  sink: PcapSink | PcapWriter,
  options: RecordPcapOptions = {},
): PcapRecording {
  const writer = sink instanceof PcapWriter ? sink : new PcapWriter(sink, options);
  const want = options.direction ?? "both";
  let frames = 0;
  let remove: (() => void) | null = device.addTap(
    (dir: TapDirection, u8: Uint8Array, offset: number, length: number, time: number) => {
      if (want !== "both" && dir !== want) return;
      frames++;
      writer.writeFrame(u8, offset, length, time);
    },
  );
  return {
    writer,
    get frames() {
      return frames;
    },
    stop() {
      remove?.();
      remove = null;
    },
  };
}

/** One record read back by {@link readPcap}. */
export interface PcapFrame {
  /** Timestamp in ms (seconds and fraction as written, epoch included). */
  readonly timeMs: number;
  /** Captured bytes (a copy). */
  readonly data: Uint8Array;
  /** Length of the frame on the wire (≥ `data.length` when truncated by snaplen). */
  readonly origLen: number;
}

/** Result of {@link readPcap}: the frames, or a reason and the frames read before it. */
export type PcapReadResult =
  | {
    readonly ok: true;
    readonly linkType: number;
    readonly snaplen: number;
    readonly precision: "us" | "ns";
    readonly frames: PcapFrame[];
  }
  | { readonly ok: false; readonly error: string; readonly frames: PcapFrame[] };

/** Cap on one record, against hostile caplen fields (pcap tools use 256 KiB too). */
const MAX_RECORD = 262144;

/**
 * Parse a classic libpcap file (either byte order, µs or ns magic). Never
 * throws on malformed input: it returns `{ ok: false, error }` with the
 * frames read up to the problem.
 *
 * @example
 * ```ts
 * import { PcapWriter, readPcap } from "./pcap.ts";
 * const parts: Uint8Array[] = [];
 * const w = new PcapWriter((c) => parts.push(c));
 * w.writeFrame(new Uint8Array(60), 0, 60, 2);
 * const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
 * let at = 0;
 * for (const p of parts) { bytes.set(p, at); at += p.length; }
 * const r = readPcap(bytes);
 * if (r.ok) r.frames[0]!.timeMs; // 2
 * ```
 */
export function readPcap(bytes: Uint8Array): PcapReadResult {
  const frames: PcapFrame[] = [];
  const fail = (error: string): PcapReadResult => ({ ok: false, error, frames });
  if (bytes.length < GLOBAL_HEADER) return fail(`truncated global header (${bytes.length} bytes)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  const m = v.getUint32(0, true);
  if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) le = true;
  else if (v.getUint32(0, false) === PCAP_MAGIC_US || v.getUint32(0, false) === PCAP_MAGIC_NS) {
    le = false;
  } else {
    return fail(`bad magic 0x${m.toString(16).padStart(8, "0")}`);
  }
  const precision = v.getUint32(0, le) === PCAP_MAGIC_NS ? "ns" : "us";
  const major = v.getUint16(4, le);
  const minor = v.getUint16(6, le);
  if (major !== 2 || minor !== 4) return fail(`unsupported version ${major}.${minor}`);
  const snaplen = v.getUint32(16, le);
  const linkType = v.getUint32(20, le) & 0x0fffffff; // upper bits: FCS length flags
  const fracPerMs = precision === "ns" ? 1e6 : 1e3;
  const fracMax = precision === "ns" ? 1e9 : 1e6;
  let at = GLOBAL_HEADER;
  while (at < bytes.length) {
    if (bytes.length - at < RECORD_HEADER) {
      return fail(`truncated record header at byte ${at}`);
    }
    const sec = v.getUint32(at, le);
    const frac = v.getUint32(at + 4, le);
    const caplen = v.getUint32(at + 8, le);
    const origLen = v.getUint32(at + 12, le);
    if (frac >= fracMax) return fail(`record at byte ${at}: sub-second field ${frac} too large`);
    if (caplen > MAX_RECORD) return fail(`record at byte ${at}: caplen ${caplen} too large`);
    if (caplen > origLen) return fail(`record at byte ${at}: caplen ${caplen} > length ${origLen}`);
    const start = at + RECORD_HEADER;
    if (bytes.length - start < caplen) return fail(`truncated record data at byte ${at}`);
    frames.push({
      timeMs: sec * 1000 + frac / fracPerMs,
      data: bytes.slice(start, start + caplen),
      origLen,
    });
    at = start + caplen;
  }
  return { ok: true, linkType, snaplen, precision, frames };
}

/**
 * Concatenate chunks (from a sink) into one buffer.
 *
 * @example
 * ```ts
 * import { concatChunks } from "./pcap.ts";
 * concatChunks([new Uint8Array([1]), new Uint8Array([2, 3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
