/**
 * One direction of a byte stream between two agents (a page and its
 * Worker), for the {@link WorkerStack} proxy: a producer end that fills
 * views and commits them, a consumer end that peeks views and consumes
 * them — so the data is copied once on each side (TCP ↔ the stream, the
 * stream ↔ the user's buffer) and never per call allocated.
 *
 * Two carriers, one interface:
 *
 * - **Shared ring** ({@link RingProducer}/{@link RingConsumer}): a
 *   single-producer single-consumer ring in shared memory (the Worker
 *   stack's arena when the page is cross-origin isolated). Head and tail are
 *   `Atomics` cells; a side that finds the ring empty (or full) raises its
 *   waiting flag, re-checks, and sleeps until the other side rings its
 *   doorbell — a small control message, sent only on that transition.
 * - **Transfer** ({@link TransferProducer}/{@link TransferConsumer}): chunks
 *   in `ArrayBuffer`s moved with `postMessage(…, [buffer])` (no copy by the
 *   browser), with credit-based flow control: at most `window` bytes
 *   unconsumed; the consumer returns credit — and the emptied buffers, for
 *   reuse — every quarter window.
 *
 * End of stream and errors travel in order with the data. The control
 * messages are {@link StreamSignal}s posted by the owner's `send` function.
 *
 * @module
 */
import { errnoError } from "../socket/errors.ts";

/** A control message of a stream (routed by `sid`). */
export type StreamSignal =
  | { t: "data"; sid: number; buf?: ArrayBuffer; n?: number } // ring: doorbell; transfer: a chunk
  | { t: "space"; sid: number; credit?: number; bufs?: ArrayBuffer[] } // ring: doorbell; transfer: credit
  | { t: "end"; sid: number; error?: SerializedError } // producer: no more data (or failed)
  | { t: "cancel"; sid: number; error?: SerializedError }; // consumer: gone (or failed), stop

/** An error as it crosses between agents. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly errno?: number;
}

/** How a stream end sends its control messages. */
export type SignalSender = (s: StreamSignal, transfer?: Transferable[]) => void;

/** The producing end. */
export interface StreamProducer {
  /**
   * Wait for room; a view (at least 1 byte) to fill, or null when the
   * consumer cancelled.
   */
  reserve(): Promise<Uint8Array | null>;
  /** Publish `n` bytes written at the start of the last reserved view. */
  commit(n: number): void;
  /** No more data (with an error: the consumer's reads fail with it). */
  end(error?: SerializedError): void;
  /** Why the consumer cancelled, once `reserve()` returned null (if it said). */
  readonly cancelError: SerializedError | undefined;
  /** Stop locally (this end is being closed): a pending `reserve()` returns null; nothing is sent. */
  abort(): void;
  /** A control message for this stream arrived. */
  signal(s: StreamSignal): void;
}

/** The consuming end. */
export interface StreamConsumer {
  /** Wait for data: a view of readable bytes, or null at the end. Rejects with the producer's error. */
  peek(): Promise<Uint8Array | null>;
  /** Mark `n` bytes of the last peeked view consumed. */
  consume(n: number): void;
  /** Stop (with the error that made it stop): the producer is told, data in flight is discarded. */
  cancel(error?: SerializedError): void;
  /** A control message for this stream arrived. */
  signal(s: StreamSignal): void;
}

/** Ring header cells (Int32 indices): bytes written, bytes read, flags. */
const HEAD = 0;
const TAIL = 1;
const CLOSED = 2; // producer ended (1) or consumer cancelled (2)
const WAIT_DATA = 3; // the consumer sleeps until data
const WAIT_SPACE = 4; // the producer sleeps until space
/** Bytes of the ring header (keeps the data 64-byte aligned). */
export const RING_HEADER = 64;

/** Where a ring lives: `bytes` bytes at `offset` of a shared buffer. */
export interface RingPlace {
  readonly buffer: SharedArrayBuffer;
  readonly offset: number;
  /** Header plus data; the data part is rounded down to a power of two. */
  readonly bytes: number;
}

class Ring {
  readonly cells: Int32Array;
  readonly data: Uint8Array;
  readonly size: number;
  constructor(place: RingPlace) {
    this.cells = new Int32Array(place.buffer, place.offset, RING_HEADER / 4);
    let size = 1;
    while (size * 2 <= place.bytes - RING_HEADER) size *= 2;
    this.size = size;
    this.data = new Uint8Array(place.buffer, place.offset + RING_HEADER, size);
  }
}

/**
 * Reset the ring header at `place` (before either end is made).
 *
 * @example
 * ```ts
 * import { initRing, RING_HEADER } from "./stream.ts";
 * const buffer = new SharedArrayBuffer(RING_HEADER + 4096);
 * initRing({ buffer, offset: 0, bytes: buffer.byteLength });
 * ```
 */
export function initRing(place: RingPlace): void {
  const cells = new Int32Array(place.buffer, place.offset, RING_HEADER / 4);
  for (let i = 0; i < cells.length; i++) Atomics.store(cells, i, 0);
}

/** A deferred result, resolved by a doorbell. */
class Waiter {
  #resolve: (() => void) | null = null;
  wait(): Promise<void> {
    return new Promise<void>((r) => (this.#resolve = r));
  }
  wake(): void {
    const r = this.#resolve;
    this.#resolve = null;
    r?.();
  }
}

/** The producing end of a shared ring. */
export class RingProducer implements StreamProducer {
  readonly #ring: Ring;
  readonly #send: SignalSender;
  readonly #sid: number;
  readonly #waiter = new Waiter();
  #error: SerializedError | undefined;
  #cancelError: SerializedError | undefined;
  #aborted = false;

  /** Over `place` (see {@link initRing}). */
  constructor(place: RingPlace, sid: number, send: SignalSender) {
    this.#ring = new Ring(place);
    this.#sid = sid;
    this.#send = send;
  }

  async reserve(): Promise<Uint8Array | null> {
    const r = this.#ring;
    const c = r.cells;
    for (;;) {
      if (this.#aborted || Atomics.load(c, CLOSED) === 2) return null;
      const head = Atomics.load(c, HEAD);
      const used = (head - Atomics.load(c, TAIL)) | 0;
      if (used < r.size) {
        const at = head & (r.size - 1);
        const n = Math.min(r.size - used, r.size - at);
        return r.data.subarray(at, at + n);
      }
      // Full: sleep until the consumer frees space (flag, re-check, wait).
      Atomics.store(c, WAIT_SPACE, 1);
      if (((Atomics.load(c, HEAD) - Atomics.load(c, TAIL)) | 0) < r.size) {
        Atomics.store(c, WAIT_SPACE, 0);
        continue;
      }
      if (Atomics.load(c, CLOSED) === 2) return null;
      await this.#waiter.wait();
    }
  }

  abort(): void {
    this.#aborted = true;
    this.#waiter.wake();
  }

  commit(n: number): void {
    if (this.#aborted) return;
    const c = this.#ring.cells;
    Atomics.add(c, HEAD, n);
    if (Atomics.load(c, WAIT_DATA) === 1) {
      Atomics.store(c, WAIT_DATA, 0);
      this.#send({ t: "data", sid: this.#sid });
    }
  }

  end(error?: SerializedError): void {
    this.#error = error;
    const c = this.#ring.cells;
    if (Atomics.load(c, CLOSED) === 0) Atomics.store(c, CLOSED, 1);
    this.#send({ t: "end", sid: this.#sid, ...(error !== undefined ? { error } : {}) });
  }

  signal(s: StreamSignal): void {
    if (s.t === "cancel") this.#cancelError = s.error;
    if (s.t === "space" || s.t === "cancel") this.#waiter.wake();
  }

  get cancelError(): SerializedError | undefined {
    return this.#cancelError;
  }

  /** The error this end was ended with, if any. */
  get error(): SerializedError | undefined {
    return this.#error;
  }
}

/** The consuming end of a shared ring. */
export class RingConsumer implements StreamConsumer {
  readonly #ring: Ring;
  readonly #send: SignalSender;
  readonly #sid: number;
  readonly #waiter = new Waiter();
  #ended = false;
  #cancelled = false;
  #error: SerializedError | undefined;

  /** Over `place` (see {@link initRing}). */
  constructor(place: RingPlace, sid: number, send: SignalSender) {
    this.#ring = new Ring(place);
    this.#sid = sid;
    this.#send = send;
  }

  async peek(): Promise<Uint8Array | null> {
    const r = this.#ring;
    const c = r.cells;
    for (;;) {
      if (this.#cancelled) return null; // never touch the ring once cancelled
      const tail = Atomics.load(c, TAIL);
      const avail = (Atomics.load(c, HEAD) - tail) | 0;
      if (avail > 0) {
        const at = tail & (r.size - 1);
        const n = Math.min(avail, r.size - at);
        return r.data.subarray(at, at + n);
      }
      if (this.#ended || Atomics.load(c, CLOSED) !== 0) {
        // Drained and ended. The end signal carries the error: it may still be on its way.
        if (Atomics.load(c, CLOSED) === 1) {
          while (!this.#ended) await this.#waiter.wait();
        }
        if (((Atomics.load(c, HEAD) - Atomics.load(c, TAIL)) | 0) > 0) continue;
        if (this.#error !== undefined) throw reviveError(this.#error);
        return null;
      }
      Atomics.store(c, WAIT_DATA, 1);
      if (((Atomics.load(c, HEAD) - Atomics.load(c, TAIL)) | 0) > 0) {
        Atomics.store(c, WAIT_DATA, 0);
        continue;
      }
      await this.#waiter.wait();
    }
  }

  consume(n: number): void {
    if (this.#cancelled) return;
    const c = this.#ring.cells;
    Atomics.add(c, TAIL, n);
    if (Atomics.load(c, WAIT_SPACE) === 1) {
      Atomics.store(c, WAIT_SPACE, 0);
      this.#send({ t: "space", sid: this.#sid });
    }
  }

  cancel(error?: SerializedError): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    Atomics.store(this.#ring.cells, CLOSED, 2);
    this.#send({ t: "cancel", sid: this.#sid, ...(error !== undefined ? { error } : {}) });
    this.#ended = true;
    this.#waiter.wake();
  }

  signal(s: StreamSignal): void {
    if (s.t === "end") {
      this.#ended = true;
      this.#error = s.error;
    }
    if (s.t === "data" || s.t === "end") this.#waiter.wake();
  }
}

/** Default transfer window and chunk size. */
const TRANSFER_WINDOW = 1 << 20;
const CHUNK = 1 << 18;

/** The producing end over transferred chunks. */
export class TransferProducer implements StreamProducer {
  readonly #send: SignalSender;
  readonly #sid: number;
  readonly #window: number;
  readonly #waiter = new Waiter();
  #inFlight = 0;
  #pool: ArrayBuffer[] = [];
  #buf: ArrayBuffer | null = null;
  #cancelled = false;
  #cancelError: SerializedError | undefined;

  /** Sends at most `window` bytes ahead of the consumer (default 1 MiB). */
  constructor(sid: number, send: SignalSender, window = TRANSFER_WINDOW) {
    this.#sid = sid;
    this.#send = send;
    this.#window = window;
  }

  async reserve(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#cancelled) return null;
      const room = this.#window - this.#inFlight;
      if (room > 0) {
        this.#buf = this.#pool.pop() ?? new ArrayBuffer(CHUNK);
        return new Uint8Array(this.#buf, 0, Math.min(room, CHUNK));
      }
      await this.#waiter.wait();
    }
  }

  abort(): void {
    this.#cancelled = true;
    this.#waiter.wake();
  }

  commit(n: number): void {
    const buf = this.#buf;
    this.#buf = null;
    if (buf === null || n <= 0 || this.#cancelled) {
      if (buf !== null) this.#pool.push(buf);
      return;
    }
    this.#inFlight += n;
    this.#send({ t: "data", sid: this.#sid, buf, n }, [buf]);
  }

  end(error?: SerializedError): void {
    this.#send({ t: "end", sid: this.#sid, ...(error !== undefined ? { error } : {}) });
  }

  signal(s: StreamSignal): void {
    if (s.t === "space") {
      this.#inFlight -= s.credit ?? 0;
      for (const b of s.bufs ?? []) {
        if (b.byteLength === CHUNK && this.#pool.length < 4) this.#pool.push(b);
      }
      this.#waiter.wake();
    } else if (s.t === "cancel") {
      this.#cancelled = true;
      this.#cancelError = s.error;
      this.#waiter.wake();
    }
  }

  get cancelError(): SerializedError | undefined {
    return this.#cancelError;
  }
}

/** The consuming end over transferred chunks. */
export class TransferConsumer implements StreamConsumer {
  readonly #send: SignalSender;
  readonly #sid: number;
  readonly #window: number;
  readonly #waiter = new Waiter();
  /** Chunks received, not yet consumed: [buffer, start, end]. */
  #queue: { buf: ArrayBuffer; at: number; end: number }[] = [];
  #consumed = 0;
  #empties: ArrayBuffer[] = [];
  #ended = false;
  #error: SerializedError | undefined;

  /** For a producer with the same `window` (default 1 MiB). */
  constructor(sid: number, send: SignalSender, window = TRANSFER_WINDOW) {
    this.#sid = sid;
    this.#send = send;
    this.#window = window;
  }

  async peek(): Promise<Uint8Array | null> {
    for (;;) {
      const head = this.#queue[0];
      if (head !== undefined) return new Uint8Array(head.buf, head.at, head.end - head.at);
      if (this.#ended) {
        if (this.#error !== undefined) throw reviveError(this.#error);
        return null;
      }
      await this.#waiter.wait();
    }
  }

  consume(n: number): void {
    const head = this.#queue[0];
    if (head === undefined) return;
    head.at += n;
    if (head.at >= head.end) {
      this.#queue.shift();
      this.#empties.push(head.buf);
    }
    this.#consumed += n;
    // Credit every quarter window (and the emptied buffers with it).
    if (this.#consumed >= this.#window / 4) {
      const bufs = this.#empties.splice(0, 4);
      this.#send({ t: "space", sid: this.#sid, credit: this.#consumed, bufs }, bufs);
      this.#consumed = 0;
      this.#empties.length = 0;
    }
  }

  cancel(error?: SerializedError): void {
    this.#ended = true;
    this.#queue.length = 0;
    this.#send({ t: "cancel", sid: this.#sid, ...(error !== undefined ? { error } : {}) });
    this.#waiter.wake();
  }

  signal(s: StreamSignal): void {
    if (s.t === "data" && s.buf !== undefined && typeof s.n === "number" && !this.#ended) {
      this.#queue.push({ buf: s.buf, at: 0, end: Math.min(s.n, s.buf.byteLength) });
      this.#waiter.wake();
    } else if (s.t === "end") {
      this.#ended = true;
      this.#error = s.error;
      this.#waiter.wake();
    }
  }
}

/** Errors a stream or a call can end with, by name. */
const ERROR_NAMES = new Set([
  "TypeError",
  "RangeError",
]);

/**
 * An error as it crosses between agents: its class name, message and errno.
 *
 * @example
 * ```ts
 * import { serializeError } from "./stream.ts";
 * serializeError(new RangeError("port 70000 is not in 0…65535")).name; // "RangeError"
 * ```
 */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const errno = (e as { errno?: unknown }).errno;
    return {
      name: e.name,
      message: e.message,
      ...(typeof errno === "number" ? { errno } : {}),
    };
  }
  return { name: "Error", message: String(e) };
}

/**
 * The error back from its serialized form: a socket error class for an
 * errno, `TypeError`/`RangeError` as such, anything else an `Error` with the name.
 *
 * @example
 * ```ts
 * import { reviveError } from "./stream.ts";
 * reviveError({ name: "TypeError", message: "bad" }) instanceof TypeError; // true
 * ```
 */
export function reviveError(s: SerializedError): Error {
  if (typeof s.errno === "number") {
    // The socket error class for the errno (ConnectionRefused, …), with the original message.
    const e = errnoError(s.errno, "");
    e.message = s.message;
    return e;
  }
  if (ERROR_NAMES.has(s.name)) {
    return s.name === "TypeError" ? new TypeError(s.message) : new RangeError(s.message);
  }
  const e = new Error(s.message);
  e.name = s.name;
  return e;
}
