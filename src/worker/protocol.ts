/**
 * The messages between {@link WorkerStack} (the page's proxy) and
 * {@link serveStack} (the stack in the Worker): requests with an `id`
 * answered by one reply each, and stream signals (`t`, see `stream.ts`)
 * that carry a connection's bytes.
 *
 * Everything here is structured-clone data: plain objects, numbers,
 * strings, `ArrayBuffer`s, `MessagePort`s and (cross-origin isolated) the
 * arena's shared `WebAssembly.Memory`.
 *
 * @module
 */
import type { InterfaceConfig, PingOptions, PingResult } from "../api/stack.ts";
import type { TcpConfig } from "../tcp/config.ts";
import type { TcpNetAddr } from "../api/conn.ts";
import type { SerializedError, StreamSignal } from "./stream.ts";

/** What to attach the Worker's stack to: a link made inside the Worker. */
export type LinkSpec =
  | {
    /** A {@link WebSocketLink} to a relay. */
    readonly type: "websocket";
    readonly url: string;
    /** Default "batch" (falls back where the relay does not speak it; see WebSocketLink). */
    readonly framing?: "frame" | "batch";
    readonly mtu?: number;
  }
  | {
    /** A {@link MessagePortLink} over this port (transferred to the Worker). */
    readonly type: "port";
    readonly port: MessagePort;
    readonly mtu?: number;
  }
  | {
    /** A {@link BroadcastChannelLink} on the channel `name`. */
    readonly type: "broadcast";
    readonly name: string;
    readonly mtu?: number;
  };

/** Stack options that can cross to the Worker (no clock, arena or random: the Worker makes its own). */
export interface WorkerStackConfig {
  /** TCP tuning. */
  readonly tcp?: Partial<TcpConfig>;
  /** Most open sockets. */
  readonly maxSockets?: number;
  /** Create 127.0.0.1/8 (default true). */
  readonly loopback?: boolean;
}

/** Where a stream's shared ring lives in the arena (absent: transfer mode). */
export interface RingRef {
  readonly offset: number;
  readonly bytes: number;
}

/** A connection as the Worker describes it to the page. */
export interface ConnInfo {
  readonly cid: number;
  readonly localAddr: TcpNetAddr;
  readonly remoteAddr: TcpNetAddr;
  /** Worker → page bytes. */
  readonly rx: { readonly sid: number; readonly ring?: RingRef };
  /** Page → Worker bytes. */
  readonly tx: { readonly sid: number; readonly ring?: RingRef };
}

/** A request from the page, by operation. */
export type Request =
  | { id: number; op: "init"; shared: boolean; config: WorkerStackConfig }
  | { id: number; op: "addInterface"; link: LinkSpec; config: InterfaceConfig }
  | { id: number; op: "connect"; hostname: string; port: number }
  | { id: number; op: "listen"; hostname?: string; port?: number }
  | { id: number; op: "accept"; lid: number }
  | { id: number; op: "closeListener"; lid: number }
  | { id: number; op: "closeWrite"; cid: number }
  | { id: number; op: "close"; cid: number }
  | { id: number; op: "setNoDelay" | "setKeepAlive"; cid: number; on: boolean }
  | { id: number; op: "ping"; host: string; options: Omit<PingOptions, "signal"> }
  | { id: number; op: "stats" }
  | { id: number; op: "shutdown" };

/** What `addInterface` reports about the new interface. */
export interface InterfaceInfo {
  /** Device name (`ws0`, `mp0`, `bc0`). */
  readonly name: string;
  /** Its MAC as a 48-bit integer. */
  readonly mac: number;
  /** Its MTU. */
  readonly mtu: number;
}

/** What `WorkerStack.stats()` reports. */
export interface WorkerStackStats {
  /** Connections and listeners open in the Worker for the page. */
  readonly sockets: number;
  /** Arena slots in use in the Worker. */
  readonly arenaInUse: number;
}

/** Replies by operation. */
export interface Replies {
  init: { shared: boolean; memory?: WebAssembly.Memory; engine: string };
  addInterface: InterfaceInfo;
  connect: ConnInfo;
  listen: { lid: number; addr: TcpNetAddr };
  accept: ConnInfo;
  closeListener: null;
  closeWrite: null;
  close: null;
  setNoDelay: null;
  setKeepAlive: null;
  ping: PingResult;
  stats: WorkerStackStats;
  shutdown: null;
}

/** A reply to request `id`. */
export type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError };

/** Anything that crosses: a request, a reply or a stream signal. */
export type WireMessage = Request | Reply | StreamSignal;

/** The two ends' common shape (a `Worker`, a Worker's `self`, a `MessagePort`). */
export interface WorkerEndpoint {
  /** Post a message (with transferables). */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Incoming messages. */
  onmessage: ((ev: MessageEvent) => unknown) | null;
}
