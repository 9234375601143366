/**
 * Helpers for TCP tests: connect a client on stack A to a listener on stack
 * B, and pump a two-way transfer with half-close on virtual time.
 *
 * @module
 */
import type { Pair } from "../_util/sim.ts";
import { Errno } from "../../src/core/errno.ts";
import { TcpState } from "../../src/tcp/state.ts";
import type { TcpSock } from "../../src/tcp/sock.ts";

/** 192.0.2.1 (stack A). */
export const ADDR_A = 0xc0000201;
/** 192.0.2.2 (stack B). */
export const ADDR_B = 0xc0000202;

/** A listener on B:`port`, a client on A connected to it, and the accepted child. */
export interface Connected {
  listener: TcpSock;
  client: TcpSock;
  server: TcpSock;
}

/** Listen on B, connect from A, run until the child is accepted. */
export function connectPair(
  p: Pair,
  port = 8080,
  o: { rcvbuf?: number; maxMs?: number } = {},
): Connected {
  const maxMs = o.maxMs ?? 120_000;
  const listener = p.b.tcp.socket();
  if (o.rcvbuf !== undefined) listener.setOption("SO_RCVBUF", o.rcvbuf);
  if (listener.bind(0, port) !== 0) throw new Error("bind failed");
  if (listener.listen(16) !== 0) throw new Error("listen failed");
  const client = p.a.tcp.socket();
  const r = client.connect(ADDR_B, port);
  if (r !== -Errno.EINPROGRESS) throw new Error(`connect: ${r}`);
  let server: TcpSock | null = null;
  p.clock.runUntil(() => {
    server ??= listener.accept();
    return server !== null && client.state === TcpState.ESTABLISHED;
  }, maxMs);
  return { listener, client, server: server! };
}

/** Deterministic pseudo-random bytes. */
export function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** One direction's progress. */
interface Side {
  sk: TcpSock;
  out: Uint8Array;
  sent: number;
  shut: boolean;
  chunks: Uint8Array[];
  received: number;
  eof: boolean;
  error: number;
}

/** Result of {@link exchange}. */
export interface Exchange {
  /** What `x` received from `y`, and vice versa. */
  atX: Uint8Array;
  atY: Uint8Array;
  xError: number;
  yError: number;
  /** Virtual ms taken. */
  elapsed: number;
}

function concat(chunks: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * Send `dataX` from `x` to `y` and `dataY` from `y` to `x` at the same time;
 * each side shuts down its sending half when done and reads until EOF.
 */
export function exchange(
  p: Pair,
  x: TcpSock,
  y: TcpSock,
  dataX: Uint8Array,
  dataY: Uint8Array,
  maxMs = 600_000,
): Exchange {
  const buf = new Uint8Array(65536);
  const mk = (sk: TcpSock, out: Uint8Array): Side => ({
    sk,
    out,
    sent: 0,
    shut: false,
    chunks: [],
    received: 0,
    eof: false,
    error: 0,
  });
  const sx = mk(x, dataX);
  const sy = mk(y, dataY);
  const step = (s: Side) => {
    while (s.sent < s.out.length) {
      const n = s.sk.send(s.out.subarray(s.sent, Math.min(s.out.length, s.sent + 100_000)));
      if (n < 0) {
        if (n !== -Errno.EAGAIN) s.error = -n;
        break;
      }
      s.sent += n;
    }
    if (s.sent === s.out.length && !s.shut) {
      s.shut = true;
      s.sk.shutdown(1);
    }
    while (!s.eof) {
      const n = s.sk.recv(buf);
      if (n > 0) {
        s.chunks.push(buf.slice(0, n));
        s.received += n;
      } else if (n === 0) s.eof = true;
      else {
        if (n !== -Errno.EAGAIN) {
          s.error = -n;
          s.eof = true;
        }
        break;
      }
    }
  };
  x.onEvent = () => step(sx);
  y.onEvent = () => step(sy);
  const start = p.clock.now();
  step(sx);
  step(sy);
  p.clock.runUntil(() => {
    step(sx);
    step(sy);
    return (sx.eof && sy.eof && sx.shut && sy.shut) || sx.error !== 0 || sy.error !== 0;
  }, maxMs);
  x.onEvent = null;
  y.onEvent = null;
  return {
    atX: concat(sx.chunks, sx.received),
    atY: concat(sy.chunks, sy.received),
    xError: sx.error,
    yError: sy.error,
    elapsed: p.clock.now() - start,
  };
}

/** SHA-256 hex of `data`. */
export async function sha256(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}
