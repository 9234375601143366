/**
 * The Worker side of {@link WorkerStack}: a {@link Stack} on a real clock
 * that serves the page's requests (attach links, connect, listen, accept,
 * close, ping) and pumps each connection's bytes through two streams
 * (`stream.ts`): TCP → page on the `rx` stream, page → TCP on `tx`.
 *
 * When the page asks for shared memory (it is cross-origin isolated), the
 * stack's arena is a shared `WebAssembly.Memory`, handed to the page once;
 * each connection's two rings are arena slots, so a byte read from TCP is
 * copied once into the ring and once out of it into the page's buffer,
 * with no message per chunk. Otherwise chunks are transferred.
 *
 * @module
 */
import { Stack } from "../api/stack.ts";
import type { Conn } from "../api/conn.ts";
import type { Listener } from "../api/listener.ts";
import { RealClock } from "../core/clock.ts";
import { Arena, DEFAULT_SIZE_CLASSES } from "../skb/arena.ts";
import type { NetDevice } from "../link/device.ts";
import { WebSocketLink } from "../link/websocket.ts";
import { BroadcastChannelLink, MessagePortLink } from "../link/message_link.ts";
import { BadResource } from "../socket/errors.ts";
import { Errno } from "../core/errno.ts";
import type {
  ConnInfo,
  LinkSpec,
  Request,
  RingRef,
  WireMessage,
  WorkerEndpoint,
} from "./protocol.ts";
import {
  initRing,
  RingConsumer,
  RingProducer,
  serializeError,
  type StreamConsumer,
  type StreamProducer,
  type StreamSignal,
  TransferConsumer,
  TransferProducer,
} from "./stream.ts";

/** Bytes of a ring slot: 1 MiB of data plus the header (a size class of its own). */
const RING_SLOT = (1 << 20) + 64;

interface HostConn {
  readonly conn: Conn;
  readonly rx: StreamProducer;
  readonly tx: StreamConsumer;
  readonly rings: number[];
  /** Resolves when the rx pump has stopped. */
  rxDone: Promise<void>;
  /** Resolves when the tx pump has passed everything (and the FIN) to TCP, or stopped. */
  txDone: Promise<void>;
  closed: boolean;
}

/**
 * Serve a {@link WorkerStack} on `endpoint` (in a Worker: `self`). Returns a
 * function that stops serving (closing the stack).
 *
 * A module Worker started by `WorkerStack.start()` with no script of its
 * own runs this by itself (the bundle checks for a Worker named
 * `netwasm-stack`); a Worker script of your own calls it:
 *
 * @example Inside a module Worker: not run by `deno test --doc`
 * ```ts ignore
 * import { serveStack } from "./netwasm.js";
 * serveStack(self);
 * ```
 */
export function serveStack(endpoint: WorkerEndpoint): () => Promise<void> {
  let stack: Stack | null = null;
  let clock: RealClock | null = null;
  let shared = false;
  const links: NetDevice[] = [];
  const conns = new Map<number, HostConn>();
  const listeners = new Map<number, Listener>();
  /** Stream ends by sid. */
  const producers = new Map<number, StreamProducer>();
  const consumers = new Map<number, StreamConsumer>();
  let nextCid = 1;
  let nextLid = 1;
  const send = (m: WireMessage, transfer: Transferable[] = []) => endpoint.postMessage(m, transfer);
  const signal = (s: StreamSignal, transfer?: Transferable[]) => send(s, transfer ?? []);

  const need = (): Stack => {
    if (stack === null) throw new TypeError("serveStack: init first");
    return stack;
  };

  /** The arena's memory as the SharedArrayBuffer it is in shared mode (current length). */
  const sab = () => stack!.arena.memory.buffer as unknown as SharedArrayBuffer;
  const ring = (): RingRef | undefined => {
    if (!shared) return undefined;
    const offset = stack!.arena.tryAllocSlot(RING_SLOT);
    if (offset < 0) return undefined; // no room: this stream goes by transfer
    initRing({ buffer: sab(), offset, bytes: RING_SLOT });
    return { offset, bytes: RING_SLOT };
  };
  const place = (r: RingRef) => ({ buffer: sab(), offset: r.offset, bytes: r.bytes });

  /** Wrap a connected Conn: streams, pumps, and the description for the page. */
  const adopt = (conn: Conn): ConnInfo => {
    const cid = nextCid++;
    const rxSid = cid * 2;
    const txSid = cid * 2 + 1;
    const rxRing = ring();
    const txRing = ring();
    const rx: StreamProducer = rxRing !== undefined
      ? new RingProducer(place(rxRing), rxSid, signal)
      : new TransferProducer(rxSid, signal);
    const tx: StreamConsumer = txRing !== undefined
      ? new RingConsumer(place(txRing), txSid, signal)
      : new TransferConsumer(txSid, signal);
    producers.set(rxSid, rx);
    consumers.set(txSid, tx);
    const hc: HostConn = {
      conn,
      rx,
      tx,
      rings: [rxRing?.offset ?? -1, txRing?.offset ?? -1].filter((o) => o >= 0),
      rxDone: Promise.resolve(),
      txDone: Promise.resolve(),
      closed: false,
    };
    conns.set(cid, hc);
    hc.rxDone = pumpRx(hc);
    hc.txDone = pumpTx(hc);
    return {
      cid,
      localAddr: conn.localAddr,
      remoteAddr: conn.remoteAddr,
      rx: { sid: rxSid, ...(rxRing !== undefined ? { ring: rxRing } : {}) },
      tx: { sid: txSid, ...(txRing !== undefined ? { ring: txRing } : {}) },
    };
  };

  /** TCP → page, straight into the stream's free space. */
  const pumpRx = async (hc: HostConn): Promise<void> => {
    for (;;) {
      const view = await hc.rx.reserve();
      if (view === null || hc.closed) return;
      let n: number | null;
      try {
        n = await hc.conn.read(view);
      } catch (e) {
        hc.rx.commit(0);
        if (!hc.closed) hc.rx.end(serializeError(e));
        return;
      }
      if (n === null) {
        hc.rx.commit(0);
        hc.rx.end();
        return;
      }
      hc.rx.commit(n);
    }
  };

  /** Page → TCP, straight out of the stream; its end is our FIN. */
  const pumpTx = async (hc: HostConn): Promise<void> => {
    for (;;) {
      let view: Uint8Array | null;
      try {
        view = await hc.tx.peek();
      } catch {
        return;
      }
      if (hc.closed) return;
      if (view === null) {
        try {
          await hc.conn.closeWrite();
        } catch { /* reported by the next call */ }
        return;
      }
      try {
        for (let at = 0; at < view.length;) at += await hc.conn.write(view.subarray(at));
      } catch (e) {
        if (!hc.closed) hc.tx.cancel(serializeError(e));
        return;
      }
      hc.tx.consume(view.length);
    }
  };

  const release = (cid: number): void => {
    const hc = conns.get(cid);
    if (hc === undefined) return;
    conns.delete(cid);
    hc.closed = true;
    producers.delete(cid * 2);
    consumers.delete(cid * 2 + 1);
    try {
      hc.conn.close(); // pending reads and writes of the pumps fail now
    } catch { /* already closed */ }
    hc.rx.abort();
    hc.tx.cancel();
    // The rings go back to the arena only once both pumps have stopped
    // touching them (the page's ends stopped when its Conn was closed).
    const arena = stack?.arena;
    void Promise.all([hc.rxDone, hc.txDone]).then(() => {
      for (const off of hc.rings) arena?.releaseSlotAt(off);
    });
  };

  const makeLink = async (spec: LinkSpec, s: Stack, c: RealClock): Promise<NetDevice> => {
    const common = {
      allocator: s.allocator,
      clock: c,
      ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    };
    switch (spec.type) {
      case "websocket":
        return await WebSocketLink.connect(spec.url, {
          ...common,
          framing: spec.framing ?? "batch",
          reconnect: false,
        });
      case "port":
        return new MessagePortLink(spec.port, common);
      case "broadcast":
        return BroadcastChannelLink.open(spec.name, common);
      default:
        throw new TypeError(`addInterface: unknown link type ${(spec as { type: unknown }).type}`);
    }
  };

  const handle = async (r: Request): Promise<unknown> => {
    switch (r.op) {
      case "init": {
        if (stack !== null) throw new TypeError("serveStack: already initialised");
        shared = r.shared && typeof SharedArrayBuffer === "function";
        clock = new RealClock();
        stack = new Stack({
          clock,
          // Shared: the page reads and writes each connection's rings in
          // this arena directly (a class of 1 MiB ring slots, carved on demand).
          ...(shared
            ? {
              arena: new Arena({
                shared: true,
                classes: [...DEFAULT_SIZE_CLASSES, { size: RING_SLOT, max: 512, initial: 0 }],
              }),
            }
            : {}),
          ...(r.config.tcp !== undefined ? { tcp: r.config.tcp } : {}),
          ...(r.config.maxSockets !== undefined ? { maxSockets: r.config.maxSockets } : {}),
          ...(r.config.loopback !== undefined ? { loopback: r.config.loopback } : {}),
        });
        return {
          shared,
          engine: stack.hotPaths.kind,
          ...(shared ? { memory: stack.arena.memory } : {}),
        };
      }
      case "addInterface": {
        const s = need();
        const dev = await makeLink(r.link, s, clock!);
        try {
          s.addInterface(dev, r.config);
        } catch (e) {
          await dev.close();
          throw e;
        }
        links.push(dev);
        return { name: dev.name, mac: dev.mac, mtu: dev.mtu };
      }
      case "connect":
        return adopt(await need().connect({ hostname: r.hostname, port: r.port }));
      case "listen": {
        const l = need().listen({
          ...(r.hostname !== undefined ? { hostname: r.hostname } : {}),
          ...(r.port !== undefined ? { port: r.port } : {}),
        });
        const lid = nextLid++;
        listeners.set(lid, l);
        return { lid, addr: l.addr };
      }
      case "accept": {
        const l = listeners.get(r.lid);
        if (l === undefined) {
          throw new BadResource(Errno.EBADF, "Cannot accept: the Listener is closed");
        }
        return adopt(await l.accept());
      }
      case "closeListener": {
        const l = listeners.get(r.lid);
        listeners.delete(r.lid);
        l?.close();
        return null;
      }
      case "closeWrite": {
        const hc = conns.get(r.cid);
        if (hc === undefined) {
          throw new BadResource(Errno.EBADF, "Cannot closeWrite: the Conn is closed");
        }
        await hc.txDone;
        return null;
      }
      case "close":
        release(r.cid);
        return null;
      case "setNoDelay":
      case "setKeepAlive": {
        const hc = conns.get(r.cid);
        if (hc === undefined) {
          throw new BadResource(Errno.EBADF, `Cannot ${r.op}: the Conn is closed`);
        }
        if (r.op === "setNoDelay") hc.conn.setNoDelay(r.on);
        else hc.conn.setKeepAlive(r.on);
        return null;
      }
      case "ping":
        return await need().ping(r.host, r.options);
      case "stats":
        return { sockets: conns.size + listeners.size, arenaInUse: stack?.arena.inUse ?? 0 };
      case "shutdown":
        await stop();
        return null;
      default:
        throw new TypeError(`serveStack: unknown operation ${(r as { op: unknown }).op}`);
    }
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const cid of [...conns.keys()]) release(cid);
    for (const l of listeners.values()) {
      try {
        l.close();
      } catch { /* already closed */ }
    }
    listeners.clear();
    await stack?.close();
    for (const d of links) await d.close();
    clock?.close();
  };

  endpoint.onmessage = (ev: MessageEvent) => {
    const m = ev.data as WireMessage;
    if (typeof m !== "object" || m === null) return;
    if ("t" in m) {
      // A stream signal: a producer of ours (rx) or a consumer (tx).
      const p = producers.get(m.sid);
      if (p !== undefined) p.signal(m);
      else consumers.get(m.sid)?.signal(m);
      return;
    }
    if (!("op" in m)) return;
    handle(m).then(
      (value) => send({ id: m.id, ok: true, value }),
      (e) => send({ id: m.id, ok: false, error: serializeError(e) }),
    );
  };
  return stop;
}
