/**
 * The stack in a Worker: {@link WorkerStack} runs a netwasm {@link Stack}
 * in a dedicated Worker and gives the page the same `connect` / `listen` /
 * `Conn` API through a thin proxy, so networking (TCP, the receive drain,
 * checksums) never competes with rendering for the main thread.
 *
 * - **Links live in the Worker**: `addInterface({ type: "websocket", url })`
 *   joins a relay, `{ type: "port", port }` a {@link MessagePortLink} (the
 *   port is transferred), `{ type: "broadcast", name }` a
 *   {@link BroadcastChannelLink}.
 * - **Bytes cross once each way.** Cross-origin isolated (the default when
 *   `crossOriginIsolated` is true), the Worker's arena is a shared
 *   `WebAssembly.Memory` and each connection has two rings in it: `read()`
 *   copies straight out of the ring into your buffer, `write()` straight
 *   into it, and a message is sent only when the other side waits.
 *   Otherwise bytes go in transferred `ArrayBuffer`s (no copy by the
 *   browser), with a 1 MiB window per direction.
 * - **Differences from `Stack`**, because every call crosses to the Worker:
 *   `listen()` returns the {@link WorkerListener} at once but binds in the
 *   Worker — a bind error rejects `accept()` and `ready` (and `addr.port` is
 *   the real one only after `ready`); `write()` resolves once the bytes are
 *   in the connection's stream to the Worker (backpressure when it is full),
 *   and an error of the connection rejects a later call; `setNoDelay` /
 *   `setKeepAlive` take effect asynchronously.
 *
 * The Worker needs no script of its own: `WorkerStack.start()` starts this
 * very module (or bundle) as a module Worker named `netwasm-stack`, which
 * serves itself ({@link serveStack}). Pass `worker` to use your own.
 *
 * @module
 */
import type { InterfaceConfig, PingOptions, PingResult } from "../api/stack.ts";
import type { ConnectOptions, TcpNetAddr } from "../api/conn.ts";
import type { ListenOptions } from "../api/listener.ts";
import { BadResource } from "../socket/errors.ts";
import { Errno } from "../core/errno.ts";
import { serveStack } from "./host.ts";
import type {
  ConnInfo,
  InterfaceInfo,
  LinkSpec,
  Replies,
  Reply,
  Request,
  WireMessage,
  WorkerEndpoint,
  WorkerStackConfig,
  WorkerStackStats,
} from "./protocol.ts";
import {
  reviveError,
  RingConsumer,
  RingProducer,
  type StreamConsumer,
  type StreamProducer,
  type StreamSignal,
  TransferConsumer,
  TransferProducer,
} from "./stream.ts";

/** The name of the Worker `WorkerStack.start()` makes; that Worker serves itself. */
export const WORKER_NAME = "netwasm-stack";

/** Options for {@link WorkerStack.start}. */
export interface WorkerStackOptions {
  /**
   * The Worker (or endpoint) running {@link serveStack}; a URL or string is
   * started as a module Worker. Default: this module as a module Worker.
   */
  worker?: Worker | URL | string | WorkerEndpoint;
  /** Shared-memory streams (default: `crossOriginIsolated`). */
  shared?: boolean;
  /** The Worker stack's options. */
  stack?: WorkerStackConfig;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/**
 * A TCP connection of a {@link WorkerStack}: the shape of `Conn` (and of
 * `Deno.TcpConn` as far as it goes), with the bytes crossing to the Worker.
 *
 * @example Needs a WorkerStack: not run by `deno test --doc`
 * ```ts ignore
 * const conn: WorkerConn = await stack.connect({ hostname: "192.0.2.1", port: 7 });
 * await conn.write(new Uint8Array([1, 2, 3]));
 * await conn.closeWrite();
 * conn.close();
 * ```
 */
export interface WorkerConn extends Disposable, AsyncDisposable {
  /** Our address and port. */
  readonly localAddr: TcpNetAddr;
  /** The peer's address and port. */
  readonly remoteAddr: TcpNetAddr;
  /** Read into `p`: the byte count, or null at the end of the stream; `BadResource` once closed. */
  read(p: Uint8Array): Promise<number | null>;
  /**
   * Queue all of `p` for the Worker: resolves with `p.length` once it is in
   * the stream (waits while the stream is full). A connection error rejects
   * this or a later call; `BrokenPipe` after `closeWrite()`.
   */
  write(p: Uint8Array): Promise<number>;
  /** Half-close: FIN after everything written so far; resolves once it is queued in the Worker. */
  closeWrite(): Promise<void>;
  /** Close; pending reads and writes reject with `BadResource`; twice throws it. */
  close(): void;
  /** TCP_NODELAY (applied in the Worker). */
  setNoDelay(noDelay?: boolean): void;
  /** SO_KEEPALIVE (applied in the Worker). */
  setKeepAlive(keepAlive?: boolean): void;
  /** No effect in a page (nothing to keep alive). */
  ref(): void;
  /** No effect in a page. */
  unref(): void;
  /** The received bytes as a byte stream. */
  readonly readable: ReadableStream<Uint8Array<ArrayBuffer>>;
  /** A sink for bytes to send; closing it sends FIN. */
  readonly writable: WritableStream<Uint8Array>;
}

/**
 * A TCP listener of a {@link WorkerStack}: the shape of `Listener`, bound
 * in the Worker.
 *
 * @example Needs a WorkerStack: not run by `deno test --doc`
 * ```ts ignore
 * const listener: WorkerListener = stack.listen({ port: 8080 });
 * await listener.ready; // listener.addr.port is final now
 * for await (const conn of listener) conn.close();
 * ```
 */
export interface WorkerListener extends AsyncIterable<WorkerConn>, Disposable {
  /** Where it listens; the port is final once {@link WorkerListener.ready} resolved. */
  readonly addr: TcpNetAddr;
  /** Resolves once bound in the Worker; rejects with the bind error (`AddrInUse`, …). */
  readonly ready: Promise<void>;
  /** The next connection (rejects with the bind error if binding failed). */
  accept(): Promise<WorkerConn>;
  /** Stop listening; twice throws `BadResource`. */
  close(): void;
}

/** What a connection object needs of its stack (kept out of the public API). */
interface StackOps {
  call<K extends Request["op"]>(
    r: Request & { op: K },
    transfer?: Transferable[],
  ): Promise<Replies[K]>;
  streams(info: ConnInfo): { rx: StreamConsumer; tx: StreamProducer };
  forget(info: ConnInfo): void;
}

function closedError(op: string, what: string): BadResource {
  return new BadResource(Errno.EBADF, `Cannot ${op}: the ${what} is closed`);
}

/**
 * A netwasm stack in a dedicated Worker, used from the page.
 *
 * @example In a page (cross-origin isolated or not): not run by `deno test --doc`
 * ```ts ignore
 * import { WorkerStack } from "./netwasm.js";
 * const stack = await WorkerStack.start();
 * await stack.addInterface({ type: "websocket", url: "ws://127.0.0.1:8080/" }, {
 *   address: "192.0.2.10/24",
 * });
 * const conn = await stack.connect({ hostname: "192.0.2.1", port: 80 });
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
 * const buf = new Uint8Array(4096);
 * console.log(await conn.read(buf));
 * conn.close();
 * await stack.close();
 * ```
 */
export class WorkerStack {
  /** Streams go through shared memory (else transferred buffers). */
  readonly shared: boolean;
  /** The Worker stack's hot-path engine ("simd", "scalar", "reference"). */
  readonly engine: string;
  readonly #endpoint: WorkerEndpoint;
  readonly #worker: Worker | null;
  #memory: WebAssembly.Memory | null;
  readonly #pending = new Map<number, Pending>();
  /** Stream ends of the page by sid. */
  readonly #streams = new Map<number, StreamProducer | StreamConsumer>();
  #nextId = 1;
  #closed = false;
  readonly #ops: StackOps = {
    call: <K extends Request["op"]>(r: Request & { op: K }, transfer?: Transferable[]) =>
      this.#call<K>(r, transfer),
    streams: (info) => this.#makeStreams(info),
    forget: (info) => {
      this.#streams.delete(info.rx.sid);
      this.#streams.delete(info.tx.sid);
    },
  };

  private constructor(
    endpoint: WorkerEndpoint,
    worker: Worker | null,
    init: Replies["init"],
  ) {
    this.#endpoint = endpoint;
    this.#worker = worker;
    this.shared = init.shared;
    this.engine = init.engine;
    this.#memory = init.memory ?? null;
  }

  /** Start (or attach to) the Worker and initialise its stack. */
  static async start(options: WorkerStackOptions = {}): Promise<WorkerStack> {
    let worker: Worker | null = null;
    let endpoint: WorkerEndpoint;
    const w = options.worker;
    if (w === undefined || typeof w === "string" || w instanceof URL) {
      worker = new Worker(w ?? import.meta.url, { type: "module", name: WORKER_NAME });
      endpoint = worker;
    } else {
      endpoint = w;
      if (typeof Worker === "function" && w instanceof Worker) worker = w;
    }
    const shared = options.shared ??
      ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true);
    // Requests before the object exists: a bootstrap with its own reply handling.
    const pending = new Map<number, Pending>();
    let early: WorkerStack | null = null;
    endpoint.onmessage = (ev: MessageEvent) => {
      if (early !== null) early.#message(ev.data);
      else {
        const r = ev.data as Reply;
        const p = pending.get(r.id);
        if (p === undefined) return;
        pending.delete(r.id);
        if (r.ok) p.resolve(r.value);
        else p.reject(reviveError(r.error));
      }
    };
    const init = await new Promise<Replies["init"]>((resolve, reject) => {
      pending.set(0, { resolve: resolve as (v: unknown) => void, reject });
      const req: Request = { id: 0, op: "init", shared, config: options.stack ?? {} };
      endpoint.postMessage(req);
    }).catch((e) => {
      worker?.terminate();
      throw e;
    });
    early = new WorkerStack(endpoint, worker, init);
    return early;
  }

  /** Attach a link (made in the Worker) and configure its interface. */
  addInterface(link: LinkSpec, config: InterfaceConfig): Promise<InterfaceInfo> {
    const transfer = link.type === "port" ? [link.port] : [];
    return this.#call({ id: 0, op: "addInterface", link, config }, transfer);
  }

  /** Open a TCP connection (IPv4 literal `hostname`). */
  async connect(options: ConnectOptions): Promise<WorkerConn> {
    const info = await this.#call({
      id: 0,
      op: "connect",
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port,
    });
    return new ProxyConn(this.#ops, info);
  }

  /**
   * Listen for TCP connections. Binding happens in the Worker: a bind error
   * rejects `accept()` and `ready`; `addr` is final after `ready`.
   */
  listen(options: ListenOptions = {}): WorkerListener {
    const bound = this.#call({
      id: 0,
      op: "listen",
      ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
    });
    return new ProxyListener(this.#ops, bound, options);
  }

  /** Ping from the Worker's stack (the abort signal does not cross). */
  ping(host: string, options: Omit<PingOptions, "signal"> = {}): Promise<PingResult> {
    return this.#call({ id: 0, op: "ping", host, options });
  }

  /** Sockets open in the Worker (for tests and status pages). */
  stats(): Promise<WorkerStackStats> {
    return this.#call({ id: 0, op: "stats" });
  }

  /** Close the Worker's stack and terminate the Worker we started. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#call({ id: 0, op: "shutdown" });
    } catch { /* the Worker is gone already */ }
    this.#closed = true;
    for (const p of this.#pending.values()) p.reject(closedError("call", "WorkerStack"));
    this.#pending.clear();
    this.#endpoint.onmessage = null;
    this.#worker?.terminate();
    (this.#endpoint as { close?: () => void }).close?.();
  }

  /** @internal A request; resolves with its reply. */
  call<K extends Request["op"]>(
    r: Request & { op: K },
    transfer: Transferable[] = [],
  ): Promise<Replies[K]> {
    return this.#call<K>(r, transfer);
  }

  #call<K extends Request["op"]>(
    r: Request & { op: K },
    transfer: Transferable[] = [],
  ): Promise<Replies[K]> {
    if (this.#closed) return Promise.reject(closedError(r.op, "WorkerStack"));
    const id = this.#nextId++;
    return new Promise<Replies[K]>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.#endpoint.postMessage({ ...r, id }, transfer);
      } catch (e) {
        this.#pending.delete(id);
        reject(e as Error);
      }
    });
  }

  /** The two stream ends of a connection the Worker described. */
  #makeStreams(info: ConnInfo): { rx: StreamConsumer; tx: StreamProducer } {
    const send = (s: StreamSignal, transfer?: Transferable[]) =>
      this.#endpoint.postMessage(s, transfer ?? []);
    const mem = this.#memory;
    const place = (r: { offset: number; bytes: number }) => ({
      buffer: mem!.buffer as unknown as SharedArrayBuffer,
      offset: r.offset,
      bytes: r.bytes,
    });
    const rx: StreamConsumer = info.rx.ring !== undefined && mem !== null
      ? new RingConsumer(place(info.rx.ring), info.rx.sid, send)
      : new TransferConsumer(info.rx.sid, send);
    const tx: StreamProducer = info.tx.ring !== undefined && mem !== null
      ? new RingProducer(place(info.tx.ring), info.tx.sid, send)
      : new TransferProducer(info.tx.sid, send);
    this.#streams.set(info.rx.sid, rx);
    this.#streams.set(info.tx.sid, tx);
    return { rx, tx };
  }

  #message(m: WireMessage): void {
    if (typeof m !== "object" || m === null) return;
    if ("t" in m) {
      this.#streams.get(m.sid)?.signal(m);
      return;
    }
    if (!("ok" in m)) return;
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    this.#pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(reviveError(m.error));
  }
}

/** The {@link WorkerConn} the proxy hands out. */
class ProxyConn implements WorkerConn {
  /** Our address and port. */
  readonly localAddr: TcpNetAddr;
  /** The peer's address and port. */
  readonly remoteAddr: TcpNetAddr;
  readonly #stack: StackOps;
  readonly #info: ConnInfo;
  readonly #rx: StreamConsumer;
  readonly #tx: StreamProducer;
  #closed = false;
  #writeShut = false;
  /** Calls of one kind run one at a time (a stream has one reader and one writer). */
  #reading: Promise<unknown> = Promise.resolve();
  #writing: Promise<unknown> = Promise.resolve();
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;

  constructor(stack: StackOps, info: ConnInfo) {
    this.#stack = stack;
    this.#info = info;
    this.localAddr = info.localAddr;
    this.remoteAddr = info.remoteAddr;
    const { rx, tx } = stack.streams(info);
    this.#rx = rx;
    this.#tx = tx;
  }

  /** Read into `p`: the byte count, or null at the end of the stream. */
  read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(closedError("read", "Conn"));
    if (p.length === 0) return Promise.resolve(0);
    const r = this.#reading.then(() => this.#read(p));
    this.#reading = r.catch(() => {});
    return r;
  }

  async #read(p: Uint8Array): Promise<number | null> {
    const view = await this.#rx.peek();
    if (this.#closed) throw closedError("read", "Conn");
    if (view === null) return null;
    const n = Math.min(view.length, p.length);
    p.set(n === view.length ? view : view.subarray(0, n));
    this.#rx.consume(n);
    return n;
  }

  /** Queue all of `p` for the Worker: resolves with `p.length` once it is in the stream. */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(closedError("write", "Conn"));
    if (this.#writeShut) {
      return Promise.reject(
        reviveError({
          name: "BrokenPipe",
          message: "Cannot write: closeWrite() was called",
          errno: Errno.EPIPE,
        }),
      );
    }
    const w = this.#writing.then(() => this.#write(p));
    this.#writing = w.catch(() => {});
    return w;
  }

  async #write(p: Uint8Array): Promise<number> {
    let at = 0;
    while (at < p.length) {
      const view = await this.#tx.reserve();
      if (this.#closed) throw closedError("write", "Conn");
      if (view === null) {
        const e = this.#tx.cancelError;
        throw e !== undefined ? reviveError(e) : reviveError({
          name: "BrokenPipe",
          message: "Cannot write: the connection is closed",
          errno: Errno.EPIPE,
        });
      }
      const n = Math.min(view.length, p.length - at);
      view.set(p.subarray(at, at + n));
      this.#tx.commit(n);
      at += n;
    }
    return p.length;
  }

  /** Half-close: FIN after everything written so far. */
  async closeWrite(): Promise<void> {
    if (this.#closed) throw closedError("closeWrite", "Conn");
    if (this.#writeShut) return;
    this.#writeShut = true;
    await this.#writing;
    this.#tx.end();
    await this.#stack.call({ id: 0, op: "closeWrite", cid: this.#info.cid });
  }

  /** Close the connection; pending reads and writes reject with `BadResource`. */
  close(): void {
    if (this.#closed) throw closedError("close", "Conn");
    this.#closed = true;
    this.#rx.cancel();
    this.#tx.abort();
    this.#stack.forget(this.#info);
    this.#stack.call({ id: 0, op: "close", cid: this.#info.cid }).catch(() => {});
  }

  /** TCP_NODELAY (applied in the Worker). */
  setNoDelay(noDelay = true): void {
    if (this.#closed) throw closedError("setNoDelay", "Conn");
    this.#stack.call({ id: 0, op: "setNoDelay", cid: this.#info.cid, on: noDelay }).catch(() => {});
  }

  /** SO_KEEPALIVE (applied in the Worker). */
  setKeepAlive(keepAlive = true): void {
    if (this.#closed) throw closedError("setKeepAlive", "Conn");
    this.#stack.call({ id: 0, op: "setKeepAlive", cid: this.#info.cid, on: keepAlive }).catch(
      () => {},
    );
  }

  /** No effect: a page has no process to keep alive. */
  ref(): void {}

  /** No effect: a page has no process to keep alive. */
  unref(): void {}

  /** The received bytes as a byte stream. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: 65536,
      pull: async (controller) => {
        const req = controller.byobRequest!;
        const v = req.view!;
        try {
          const n = await this.read(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
          if (n === null) {
            controller.close();
            req.respond(0);
          } else req.respond(n);
        } catch (e) {
          controller.error(e);
        }
      },
      cancel: () => {
        if (!this.#closed) this.#rx.cancel();
      },
    });
    return this.#readable;
  }

  /** A sink for bytes to send; closing it sends FIN. */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: async () => {
        if (!this.#closed) await this.closeWrite();
      },
      abort: () => {
        if (!this.#closed) this.close();
      },
    });
    return this.#writable;
  }

  /** Close unless already closed. */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  /** As {@link [Symbol.dispose]}. */
  [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
    return Promise.resolve();
  }
}

/** The {@link WorkerListener} the proxy hands out. */
class ProxyListener implements WorkerListener {
  /** Where it listens; the port is final once {@link WorkerListener.ready} resolved. */
  addr: TcpNetAddr;
  /** Resolves once bound in the Worker; rejects with the bind error. */
  readonly ready: Promise<void>;
  readonly #stack: StackOps;
  readonly #bound: Promise<Replies["listen"]>;
  #closed = false;

  constructor(stack: StackOps, bound: Promise<Replies["listen"]>, options: ListenOptions) {
    this.#stack = stack;
    this.#bound = bound;
    this.addr = {
      transport: "tcp",
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port ?? 0,
    };
    this.ready = bound.then((b) => {
      this.addr = b.addr;
    });
    this.ready.catch(() => {}); // reported by accept() too
  }

  /** The next connection. */
  async accept(): Promise<WorkerConn> {
    if (this.#closed) throw closedError("accept", "Listener");
    const { lid } = await this.#bound;
    try {
      return new ProxyConn(this.#stack, await this.#stack.call({ id: 0, op: "accept", lid }));
    } catch (e) {
      if (this.#closed) throw closedError("accept", "Listener");
      throw e;
    }
  }

  /** Stop listening. */
  close(): void {
    if (this.#closed) throw closedError("close", "Listener");
    this.#closed = true;
    this.#bound.then(({ lid }) => this.#stack.call({ id: 0, op: "closeListener", lid })).catch(
      () => {},
    );
  }

  /** Accept until closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<WorkerConn> {
    for (;;) {
      if (this.#closed) return;
      try {
        yield await this.accept();
      } catch (e) {
        if (e instanceof BadResource) return;
        throw e;
      }
    }
  }

  /** Close unless already closed. */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }
}

// A module Worker started by WorkerStack.start() (named WORKER_NAME) serves itself.
{
  const g = globalThis as { name?: unknown; postMessage?: unknown; document?: unknown };
  const W = (globalThis as { WorkerGlobalScope?: new () => unknown }).WorkerGlobalScope;
  if (
    g.name === WORKER_NAME && g.document === undefined && typeof g.postMessage === "function" &&
    (W === undefined || globalThis instanceof W)
  ) {
    serveStack(globalThis as unknown as WorkerEndpoint);
  }
}
