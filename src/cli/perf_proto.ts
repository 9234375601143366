/**
 * iperf3's wire protocol, as `netwasm perf` speaks it with Debian's `iperf3`
 * (3.x): the control connection and its state bytes, the length-prefixed
 * JSON messages (parameters, results), the cookie that ties data streams to
 * their test, the UDP stream handshake and the UDP datagram header. Written
 * from the protocol's observable behaviour (esnet/iperf `iperf_api.c`,
 * `iperf_client_api.c`, `iperf_server_api.c`, `iperf_udp.c`); no code of
 * iperf3 is used.
 *
 * The exchange, client → server unless marked ←:
 *
 * 1. TCP connect to port 5201, send the 37-byte cookie (36 characters of
 *    `[a-z2-7]` and a NUL).
 * 2. ← `PARAM_EXCHANGE` (9); the parameters as JSON (4-byte big-endian
 *    length, then the text): `{"tcp":true,"omit":0,"time":10,"parallel":1,
 *    "len":131072,…}`.
 * 3. ← `CREATE_STREAMS` (10); the client opens `parallel` data streams: TCP
 *    connections to the same port, each starting with the cookie; for UDP a
 *    4-byte datagram to the server's UDP port, answered by a 4-byte
 *    datagram.
 * 4. ← `TEST_START` (1), ← `TEST_RUNNING` (2); data flows (server → client
 *    with `reverse`).
 * 5. The client ends the test (time up, or `num` bytes moved): `TEST_END`
 *    (4). ← `EXCHANGE_RESULTS` (13); the client sends its results JSON, the
 *    server answers with its own. ← `DISPLAY_RESULTS` (14); the client sends
 *    `IPERF_DONE` (16) and closes.
 *
 * A busy server answers a new control connection with `ACCESS_DENIED` (-1);
 * a server that cannot run the test sends `SERVER_ERROR` (-2) and two
 * big-endian int32s (iperf's error number and errno).
 *
 * Stream ids are 1, 3, 4, 5, … in creation order on both sides (iperf3's
 * numbering skips 2); results are matched by id.
 *
 * @module
 */
import type { Conn } from "../api/conn.ts";

/** iperf3's default port. */
export const IPERF_PORT = 5201;
/** Cookie bytes: 36 characters and a NUL. */
export const COOKIE_SIZE = 37;
/** Longest JSON message we accept (results of 128 streams fit easily). */
export const MAX_JSON_BYTES = 1 << 20;
/** Most parallel streams (iperf3's `MAX_STREAMS`). */
export const MAX_STREAMS = 128;
/** Default TCP block size (iperf3: 128 KiB). */
export const DEFAULT_TCP_BLKSIZE = 128 * 1024;
/** Default UDP block size without a known MSS. */
export const DEFAULT_UDP_BLKSIZE = 1460;
/** Default UDP rate, bits/s (iperf3: 1 Mbit/s). */
export const DEFAULT_UDP_RATE = 1024 * 1024;
/** The client's UDP stream hello (written in host byte order by iperf3). */
export const UDP_CONNECT_MSG = 0x36373839;
/** The server's answer to it. */
export const UDP_CONNECT_REPLY = 0x39383736;

/** Control-connection state bytes (signed char). */
export const PerfState = {
  TEST_START: 1,
  TEST_RUNNING: 2,
  TEST_END: 4,
  PARAM_EXCHANGE: 9,
  CREATE_STREAMS: 10,
  SERVER_TERMINATE: 11,
  CLIENT_TERMINATE: 12,
  EXCHANGE_RESULTS: 13,
  DISPLAY_RESULTS: 14,
  IPERF_START: 15,
  IPERF_DONE: 16,
  ACCESS_DENIED: -1,
  SERVER_ERROR: -2,
} as const;

/** iperf3 error numbers we send in `SERVER_ERROR` (`iperf_api.h`). */
export const PerfErrno = {
  /** "not implemented yet" (an option we do not support). */
  IEUNIMP: 13,
  /** Unable to create the stream listener. */
  IESTREAMLISTEN: 200,
} as const;

/** The test parameters the client sends (iperf3's `send_parameters`). */
export interface PerfParams {
  tcp?: boolean;
  udp?: boolean;
  sctp?: boolean;
  omit?: number;
  time?: number;
  num?: number;
  blockcount?: number;
  MSS?: number;
  nodelay?: boolean;
  parallel?: number;
  reverse?: boolean;
  bidirectional?: boolean;
  window?: number;
  len?: number;
  bandwidth?: number;
  burst?: number;
  TOS?: number;
  title?: string;
  get_server_output?: number;
  udp_counters_64bit?: number;
  client_version?: string;
}

/** One stream's entry in a results message. */
export interface PerfStreamResult {
  id: number;
  bytes: number;
  retransmits: number;
  jitter: number;
  errors: number;
  packets: number;
  start_time: number;
  end_time: number;
}

/** A results message (iperf3's `send_results`). */
export interface PerfResults {
  cpu_util_total: number;
  cpu_util_user: number;
  cpu_util_system: number;
  sender_has_retransmits: number;
  streams: PerfStreamResult[];
}

const COOKIE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * A fresh cookie: 36 random characters of iperf3's alphabet and a NUL.
 *
 * @example
 * ```ts
 * import { makeCookie } from "./perf_proto.ts";
 * makeCookie().length; // 37
 * ```
 */
export function makeCookie(): Uint8Array<ArrayBuffer> {
  const r = crypto.getRandomValues(new Uint8Array(COOKIE_SIZE - 1));
  const out = new Uint8Array(COOKIE_SIZE);
  for (let i = 0; i < r.length; i++) out[i] = COOKIE_ALPHABET.charCodeAt(r[i]! & 31);
  return out;
}

/**
 * The id of the `index`-th stream (0-based) as iperf3 numbers them: 1, 3, 4, 5, ….
 *
 * @example
 * ```ts
 * import { streamId } from "./perf_proto.ts";
 * [0, 1, 2].map(streamId); // [1, 3, 4]
 * ```
 */
export function streamId(index: number): number {
  return index === 0 ? 1 : index + 2;
}

/** The control connection or a stream ended where a message was due. */
export class PerfProtocolError extends Error {
  /** An error about the iperf3 exchange. */
  constructor(message: string) {
    super(message);
    this.name = "PerfProtocolError";
  }
}

/**
 * Read exactly `n` bytes (never more: what follows on a data stream is
 * data). Null on a clean end of stream before the first byte.
 *
 * @example
 * ```ts
 * // const cookie = await readExact(conn, COOKIE_SIZE);
 * ```
 */
export async function readExact(conn: Conn, n: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await conn.read(out.subarray(got));
    if (r === null) {
      if (got === 0) return null;
      throw new PerfProtocolError(`connection closed after ${got} of ${n} bytes`);
    }
    got += r;
  }
  return out;
}

/** Write all of `p`. */
export async function writeAll(conn: Conn, p: Uint8Array): Promise<void> {
  for (let at = 0; at < p.length;) at += await conn.write(p.subarray(at));
}

/**
 * The next state byte (signed), or null when the peer closed.
 *
 * @example
 * ```ts
 * // const s = await readState(control); // PerfState.PARAM_EXCHANGE
 * ```
 */
export async function readState(conn: Conn): Promise<number | null> {
  const b = await readExact(conn, 1);
  return b === null ? null : (b[0]! << 24) >> 24;
}

/** Send a state byte. */
export function writeState(conn: Conn, state: number): Promise<void> {
  return writeAll(conn, new Uint8Array([state & 0xff]));
}

/**
 * Read one length-prefixed JSON message; a missing, oversized or unparsable
 * message is a {@link PerfProtocolError}.
 *
 * @example
 * ```ts
 * // const params = await readJson(control) as PerfParams;
 * ```
 */
export async function readJson(conn: Conn): Promise<unknown> {
  const len = await readExact(conn, 4);
  if (len === null) throw new PerfProtocolError("connection closed where a JSON message was due");
  const n = new DataView(len.buffer).getUint32(0);
  if (n > MAX_JSON_BYTES) {
    throw new PerfProtocolError(`JSON message of ${n} bytes exceeds ${MAX_JSON_BYTES}`);
  }
  const body = await readExact(conn, n);
  if (body === null && n > 0) {
    throw new PerfProtocolError("connection closed inside a JSON message");
  }
  try {
    return JSON.parse(new TextDecoder().decode(body ?? new Uint8Array(0)));
  } catch {
    throw new PerfProtocolError("malformed JSON message");
  }
}

/** Send `value` as one length-prefixed JSON message. */
export async function writeJson(conn: Conn, value: unknown): Promise<void> {
  const text = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(4 + text.length);
  new DataView(out.buffer).setUint32(0, text.length);
  out.set(text, 4);
  await writeAll(conn, out);
}

/**
 * Send `SERVER_ERROR` with iperf's error number and an errno.
 *
 * @example
 * ```ts
 * // await writeServerError(control, PerfErrno.IEUNIMP, 0);
 * ```
 */
export async function writeServerError(conn: Conn, ierrno: number, errno: number): Promise<void> {
  const out = new Uint8Array(9);
  const v = new DataView(out.buffer);
  out[0] = PerfState.SERVER_ERROR & 0xff;
  v.setInt32(1, ierrno);
  v.setInt32(5, errno);
  await writeAll(conn, out);
}

/**
 * Check and normalise received parameters: the protocol, stream count,
 * sizes and rate must be sane numbers; returns a reason when not.
 *
 * @example
 * ```ts
 * import { checkParams } from "./perf_proto.ts";
 * checkParams({ tcp: true, parallel: 1, time: 10 }); // null
 * checkParams({ tcp: true, parallel: 1000 }); // "parallel 1000 is outside 1…128"
 * ```
 */
export function checkParams(p: PerfParams): string | null {
  if (typeof p !== "object" || p === null) return "parameters are not a JSON object";
  if (p.sctp) return "SCTP is not supported";
  if (p.bidirectional) return "bidirectional mode is not supported";
  const int = (v: unknown, min: number, max: number) =>
    v === undefined || (Number.isInteger(v) && (v as number) >= min && (v as number) <= max);
  if (!int(p.parallel, 1, MAX_STREAMS)) return `parallel ${p.parallel} is outside 1…${MAX_STREAMS}`;
  if (!int(p.time, 0, 86400)) return `time ${p.time} is outside 0…86400`;
  if (!int(p.omit, 0, 600)) return `omit ${p.omit} is outside 0…600`;
  if (!int(p.num, 0, Number.MAX_SAFE_INTEGER)) return `num ${p.num} is not a byte count`;
  if (!int(p.blockcount, 0, Number.MAX_SAFE_INTEGER)) {
    return `blockcount ${p.blockcount} is invalid`;
  }
  if (!int(p.len, 1, 16 * 1024 * 1024)) return `len ${p.len} is outside 1…16 MiB`;
  if (!int(p.bandwidth, 0, Number.MAX_SAFE_INTEGER)) return `bandwidth ${p.bandwidth} is invalid`;
  if (p.udp && p.len !== undefined && (p.len < 16 || p.len > 65507)) {
    return `UDP length ${p.len} is outside 16…65507`;
  }
  return null;
}
