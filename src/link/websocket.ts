/**
 * `WebSocketLink`: an Ethernet link over a WebSocket, for browsers (which
 * cannot open raw sockets) and Deno alike.
 *
 * **Framing.** Exactly one Ethernet II frame per *binary* WebSocket message,
 * no header, no FCS: the framing of the v86 emulator's relays
 * (`websockproxy`, `wsnic`), so a page running netwasm can join those
 * networks, and netwasm's own relay (`src/relay/`) speaks the same.
 *
 * **Batch framing** (`framing: "batch"`): many frames per message, with the
 * subprotocol `netwasm.batch.v1` (see `ws_batch.ts`), which netwasm's relay
 * speaks. A message costs far more than its bytes, so batches are what let
 * the tunnel pass 1 Gbit/s. The link offers the subprotocol and uses batches
 * only if the server selected it; otherwise (Deno) it falls back to one
 * frame per message. (Chromium refuses the connection outright when a
 * server ignores an offered subprotocol: use the default framing for v86
 * relays.) The default stays one frame per message for v86 compatibility,
 * so a page that talks to netwasm's relay should opt in — `framing:
 * "batch"` — or it is bound by the browser's message rate.
 *
 * **Receive.** Each frame is copied once into an arena buffer and handed to
 * {@link BaseDevice.netifRx} (bounded by `rxQueueLimit`); a batch is first
 * copied whole into the arena, then each frame within it (so no view is made
 * per frame). Text messages, runts and frames longer than `mtu + 14` are
 * dropped and counted (`stats.rxDropped`, and by reason in
 * {@link WebSocketLinkStats}); so are malformed batch records.
 *
 * **Transmit.** A frame goes out of the arena without a copy of ours where
 * the socket allows: as a view of the arena, or straight from it with the
 * Deno client's `sendBytes`. A `SharedArrayBuffer` arena and the browser's
 * `WebSocket` (which refuses such views) cost one copy into a private
 * buffer. Batches are built in an arena slot (`copyWithin`) and sent once
 * per burst: the flush is one deferred task on the clock, after whatever
 * produced the frames (a TCP write, a receive drain). When the socket's
 * `bufferedAmount` is above `highWaterMark` (the peer or the network is
 * slower than we are), frames wait in a bounded queue (`txQueueLimit`) that
 * a timer on the injected clock drains as `bufferedAmount` falls (the web
 * API has no event for it); beyond the bound they are dropped and counted
 * like a full NIC ring (`NET_XMIT_DROP`), which TCP treats as loss. No
 * closure and no `ArrayBuffer` is made per frame.
 *
 * **The socket.** In Deno the link uses {@link TcpWebSocket} (TCP_NODELAY;
 * Deno's own client leaves Nagle on and stalls ~40 ms per large message),
 * in browsers the platform `WebSocket`.
 *
 * **Carrier and reconnect.** The link has carrier while the socket is open;
 * {@link WebSocketLink.onLinkChange} reports changes with the close code and
 * reason. Frames sent without carrier are dropped (`Xmit.DOWN`). Unless
 * `reconnect: false`, a lost connection is re-established with bounded,
 * jittered exponential backoff; after `maxAttempts` failures in a row the
 * link gives up and reports it.
 *
 * Only web-platform APIs are used (`WebSocket`, `URL`) unless running in
 * Deno, so this module loads in any browser and in Deno.
 *
 * @module
 */
import type { Timer } from "../core/clock.ts";
import { CryptoRandom, randomFloat, type RandomSource } from "../core/random.ts";
import { SkbQueue } from "../skb/queue.ts";
import { Csum, type SkBuff } from "../skb/skbuff.ts";
import { BaseDevice, DeviceFeature, Xmit } from "./device.ts";
import { gsoSegment } from "./gso.ts";
import { TcpGro } from "./gro.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";
import { ArenaBatch, BATCH_MAX_BYTES, BATCH_PROTOCOL } from "./ws_batch.ts";
import { TcpWebSocket } from "./ws_client.ts";
import {
  checkWebSocketUrl,
  type LinkChangeEvent,
  type ReconnectOptions,
  type WebSocketLike,
  WebSocketLinkError,
  type WebSocketLinkOptions,
  WebSocketLinkStats,
} from "./websocket_types.ts";

export * from "./websocket_types.ts";

/** `WebSocket.readyState` values. */
const CONNECTING = 0;
const OPEN = 1;

/** A random locally administered unicast MAC (02:xx:xx:xx:xx:xx with bit 1 set, bit 0 clear). */
function randomMac(rng: RandomSource): number {
  const hi = ((rng.nextU32() & 0xfeff) | 0x0200) >>> 0; // first octet: LAA, unicast
  return hi * 2 ** 32 + rng.nextU32();
}

const IS_DENO = typeof (globalThis as { Deno?: { connect?: unknown } }).Deno?.connect ===
  "function";

const defaultCreateSocket = (url: string, protocols?: string[]): WebSocketLike =>
  IS_DENO
    ? new TcpWebSocket(url, protocols !== undefined ? { protocols } : {})
    : new WebSocket(url, protocols) as unknown as WebSocketLike;

/**
 * An Ethernet device whose wire is a WebSocket to a relay.
 *
 * @example Needs a running relay (`netwasm relay`): not run by `deno test --doc`
 * ```ts ignore
 * import { Stack } from "../api/stack.ts";
 * import { RealClock } from "../core/clock.ts";
 * import { WebSocketLink } from "./websocket.ts";
 * const clock = new RealClock();
 * const stack = new Stack({ clock });
 * const link = await WebSocketLink.connect("ws://127.0.0.1:8080/", {
 *   allocator: stack.allocator,
 *   clock,
 * });
 * link.onLinkChange((e) => console.log(e.up ? "link up" : `link down (${e.code})`));
 * stack.addInterface(link, { address: "192.0.2.2/24", gateway: "192.0.2.1" });
 * ```
 */
export class WebSocketLink extends BaseDevice {
  /** Frames waiting for `bufferedAmount` to fall below the high-water mark. */
  readonly txQueue: SkbQueue = new SkbQueue();
  /** Bound of {@link WebSocketLink.txQueue}. */
  readonly txQueueLimit: number;
  /** Bytes of `bufferedAmount` above which frames queue. */
  readonly highWaterMark: number;
  /** Driver counters. */
  readonly wsStats: WebSocketLinkStats = new WebSocketLinkStats();
  /** The relay URL (empty when built from a socket without `url`). */
  readonly url: string;

  #socket: WebSocketLike | null;
  #createSocket: (url: string, protocols?: string[]) => WebSocketLike;
  /** Batch framing was asked for. */
  readonly #wantBatch: boolean;
  /** The open socket speaks batch framing: the batch being built (else null). */
  #batch: ArenaBatch | null = null;
  /** A batch flush is queued on the clock. */
  #flushQueued = false;
  /** The arena slot a received batch is copied into (held while batching). */
  #bounce = -1;
  /** A private copy buffer, for a SharedArrayBuffer arena and a socket without `sendBytes`. */
  #copy: Uint8Array<ArrayBuffer> | null = null;
  readonly #flushTask = () => this.#flush();
  readonly #onBinary = (bytes: Uint8Array, at: number, len: number) => this.#binary(bytes, at, len);
  #reconnect: Required<ReconnectOptions> | null;
  #rng: RandomSource;
  #drainIntervalMs: number;
  #drainTimer: Timer | null = null;
  #retryTimer: Timer | null = null;
  #attempt = 0;
  #carrier = false;
  #closed = false;
  #listeners: ((e: LinkChangeEvent) => void)[] = [];
  #lastClose: { code: number; reason: string } | null = null;
  readonly #drain = () => this.#onDrainTimer();
  readonly #onOpen = () => this.#opened();
  readonly #onMessage = (ev: MessageEvent) => this.#message(ev.data);
  readonly #onClose = (ev: CloseEvent) => this.#closedBy(ev.code, ev.reason);
  readonly #onError = () => {/* a close event follows; it carries the code */};

  /**
   * Wrap a socket (open or still connecting). Use {@link WebSocketLink.connect}
   * for a real relay; this constructor is for tests and for callers that make
   * their own socket. The device is administratively up at once; it has
   * carrier when the socket is open.
   */
  constructor(socket: WebSocketLike, options: WebSocketLinkOptions) {
    const rng = options.random ?? new CryptoRandom();
    super({
      ...options,
      name: options.name ?? "ws0",
      mac: options.mac ?? randomMac(rng),
      // TCP hands over super-segments; the link cuts them into frames as it
      // sends (software GSO, Linux's `validate_xmit_skb` for a device
      // without TSO): one trip through TCP per 64 KiB instead of per frame.
      features: options.features ?? DeviceFeature.TSO,
    });
    this.#rng = rng;
    this.url = options.url ?? "";
    this.#createSocket = options.createSocket ?? defaultCreateSocket;
    this.#wantBatch = options.framing === "batch";
    this.highWaterMark = nonNegative("highWaterMark", options.highWaterMark ?? 1 << 20);
    this.txQueueLimit = nonNegative("txQueueLimit", options.txQueueLimit ?? 1000);
    this.#drainIntervalMs = nonNegative("drainIntervalMs", options.drainIntervalMs ?? 2);
    const r = options.reconnect;
    this.#reconnect = r === false || this.url === "" ? null : {
      initialDelayMs: nonNegative("initialDelayMs", r?.initialDelayMs ?? 250),
      maxDelayMs: nonNegative("maxDelayMs", r?.maxDelayMs ?? 10_000),
      factor: Math.max(1, r?.factor ?? 2),
      jitter: Math.min(1, Math.max(0, r?.jitter ?? 0.3)),
      maxAttempts: nonNegative("maxAttempts", r?.maxAttempts ?? 20),
    };
    this.#socket = socket;
    this.#attach(socket);
    this.up();
    if (socket.readyState === OPEN) this.#opened();
  }

  /**
   * Open a WebSocket to `url` and resolve with the link once it is open.
   * Rejects with {@link WebSocketLinkError} for a bad URL, a refused or
   * failed connection (with the close code and reason) or a timeout.
   */
  static connect(url: string, options: WebSocketLinkOptions): Promise<WebSocketLink> {
    let socket: WebSocketLike;
    try {
      checkWebSocketUrl(url);
      socket = (options.createSocket ?? defaultCreateSocket)(
        url,
        ...(options.framing === "batch" ? [[BATCH_PROTOCOL]] : []),
      );
    } catch (e) {
      if (e instanceof WebSocketLinkError) return Promise.reject(e);
      return Promise.reject(
        new WebSocketLinkError(`Cannot connect to ${url}: ${(e as Error).message}`, undefined, "", {
          cause: e,
        }),
      );
    }
    let link: WebSocketLink;
    try {
      link = new WebSocketLink(socket, { ...options, url });
    } catch (e) {
      // A bad option: do not leave the socket we just opened behind.
      try {
        socket.close();
      } catch { /* already closed */ }
      return Promise.reject(e);
    }
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    return new Promise<WebSocketLink>((resolve, reject) => {
      let timer: Timer | null = null;
      const off = link.onLinkChange((e) => {
        if (e.up) {
          finish();
          resolve(link);
        } else {
          finish();
          void link.close();
          reject(
            new WebSocketLinkError(
              `Cannot connect to ${url}: connection closed (code ${e.code ?? "?"}${
                e.reason ? `, ${e.reason}` : ""
              }) — is a relay listening there, and does it accept this origin and token?`,
              e.code,
              e.reason,
            ),
          );
        }
      });
      const finish = () => {
        off();
        if (timer !== null) link.clock.clearTimer(timer);
      };
      timer = link.clock.setTimer(timeoutMs, () => {
        off();
        void link.close();
        reject(new WebSocketLinkError(`Cannot connect to ${url}: no answer in ${timeoutMs} ms`));
      });
    });
  }

  /** True while the socket is open. */
  get carrier(): boolean {
    return this.#carrier;
  }

  /** The current socket (null between reconnect attempts and after close). */
  get socket(): WebSocketLike | null {
    return this.#socket;
  }

  /** True while the open socket uses batch framing. */
  get batching(): boolean {
    return this.#batch !== null;
  }

  /** Code and reason of the last close, if any. */
  get lastClose(): { code: number; reason: string } | null {
    return this.#lastClose;
  }

  /** Listen for carrier changes; returns a function that removes the listener. */
  onLinkChange(listener: (e: LinkChangeEvent) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Take the device down; frames waiting to be sent are freed. */
  override down(): void {
    super.down();
    this.txQueue.purge();
    this.#batch?.clear();
  }

  /** Close the socket (code 1000), stop reconnecting and free queued frames. Idempotent. */
  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Frames already accepted for sending go out before the close frame (the
    // socket buffers them; close(1000) is graceful): a FIN queued by
    // `stack.close()` a moment earlier still reaches the peer.
    const open = this.#socket;
    if (open !== null && this.#carrier && open.readyState === OPEN) {
      for (let skb = this.txQueue.shift(); skb !== null; skb = this.txQueue.shift()) {
        this.#send(open, skb);
      }
      this.#flush();
    }
    this.down();
    if (this.#retryTimer !== null) this.clock.clearTimer(this.#retryTimer);
    if (this.#drainTimer !== null) this.clock.clearTimer(this.#drainTimer);
    this.#retryTimer = this.#drainTimer = null;
    const s = this.#socket;
    if (s !== null) {
      this.#detach(s);
      if (s.readyState === OPEN || s.readyState === CONNECTING) s.close(1000, "closed");
    }
    this.#socket = null;
    this.#stopBatching();
    const wasUp = this.#carrier;
    this.#carrier = false;
    if (wasUp) this.#emit({ up: false, code: 1000, reason: "closed", final: true });
  }

  /** Send the frame as one binary message (or queue it while the socket is busy). */
  protected override hardStartXmit(skb: SkBuff): Xmit {
    if (skb.gsoSize > 0 && skb.len > this.mtu + ETHERNET_HEADER_LENGTH) {
      // A TCP super-segment: frames of at most the MTU, each sent (or
      // queued, or batched) as if TCP had built it.
      const len = skb.len;
      this.#gsoResult = Xmit.OK;
      this.#gsoFrames = this.#gsoBytes = 0;
      const n = gsoSegment(skb, ETHERNET_HEADER_LENGTH, this.allocator, this.#gsoPiece);
      // The device counters count frames on the wire: the caller adds one
      // packet of `len` bytes for an accepted super-segment, the rest is here.
      const r = n < 0 ? Xmit.DROP : this.#gsoResult;
      const st = this.stats;
      st.txPackets += this.#gsoFrames - (r === Xmit.OK ? 1 : 0);
      st.txBytes += this.#gsoBytes - (r === Xmit.OK ? len : 0);
      if (n < 0) st.txErrors++;
      return r;
    }
    return this.#xmitFrame(skb);
  }

  /** What the pieces of the super-segment being cut came to (DROP if any was dropped). */
  #gsoResult: Xmit = Xmit.OK;
  /** Pieces of it accepted, and their bytes. */
  #gsoFrames = 0;
  #gsoBytes = 0;
  readonly #gsoPiece = (piece: SkBuff): void => {
    const len = piece.len;
    const r = this.#xmitFrame(piece);
    if (r === Xmit.OK) {
      this.#gsoFrames++;
      this.#gsoBytes += len;
    } else this.#gsoResult = r;
  };

  /** One frame of at most the MTU: sent, batched or queued behind the frames waiting. */
  #xmitFrame(skb: SkBuff): Xmit {
    const s = this.#socket;
    if (!this.#carrier || s === null) {
      this.wsStats.txNoCarrier++;
      skb.free();
      return Xmit.DOWN;
    }
    // Frames already waiting go first: TCP relies on a link not reordering.
    if (this.txQueue.length > 0 || s.bufferedAmount > this.highWaterMark) {
      return this.#enqueue(skb);
    }
    this.#send(s, skb);
    return Xmit.OK;
  }

  #enqueue(skb: SkBuff): Xmit {
    if (this.txQueue.length >= this.txQueueLimit) {
      this.wsStats.txQueueDropped++;
      skb.free();
      return Xmit.DROP;
    }
    this.txQueue.push(skb);
    this.wsStats.txQueued++;
    if (this.#drainTimer === null) {
      this.#drainTimer = this.clock.setTimer(this.#drainIntervalMs, this.#drain);
    }
    return Xmit.OK;
  }

  /** Send (or batch) one frame; frees the skb. */
  #send(s: WebSocketLike, skb: SkBuff): void {
    const b = this.#batch;
    if (b !== null) {
      if (!b.fits(skb.len)) this.#flush();
      if (b.append(skb.data, skb.len)) {
        skb.free();
        if (!this.#flushQueued) {
          this.#flushQueued = true;
          this.clock.defer(this.#flushTask);
        }
        return;
      }
      // No arena slot for a batch (or an oversized frame): send it on its own.
    }
    this.#sendBytes(s, skb.data, skb.len);
    skb.free();
  }

  /** One message from arena bytes `[at, at + len)`, copied only if the socket forces it. */
  #sendBytes(s: WebSocketLike, at: number, len: number): void {
    const arena = this.allocator.arena;
    try {
      if (s.sendBytes !== undefined) {
        s.sendBytes(arena.u8, at, len);
      } else if (!arena.shared) {
        s.send(arena.u8.subarray(at, at + len));
      } else {
        // WebSocket.send refuses views of a SharedArrayBuffer: one copy.
        let c = this.#copy;
        if (c === null || c.length < len) c = this.#copy = new Uint8Array(Math.max(len, 2048));
        c.set(arena.u8.subarray(at, at + len));
        s.send(c.subarray(0, len));
      }
      this.wsStats.messagesOut++;
    } catch {
      this.stats.txErrors++;
    }
  }

  /** Send the batch being built (the deferred task, or when the next frame does not fit). */
  #flush(): void {
    this.#flushQueued = false;
    const b = this.#batch;
    const s = this.#socket;
    if (b === null || b.length === 0) return;
    if (s !== null && this.#carrier) this.#sendBytes(s, b.offset, b.length);
    b.clear();
  }

  #onDrainTimer(): void {
    this.#drainTimer = null;
    const s = this.#socket;
    if (s === null || !this.#carrier) {
      this.txQueue.purge();
      return;
    }
    // Bounded by the queue length; stops as soon as the socket is full again.
    let budget = this.txQueue.length;
    while (budget-- > 0 && s.bufferedAmount <= this.highWaterMark) {
      const skb = this.txQueue.shift();
      if (skb === null) break;
      this.#send(s, skb);
    }
    if (this.txQueue.length > 0) {
      this.#drainTimer = this.clock.setTimer(this.#drainIntervalMs, this.#drain);
    }
  }

  #startBatching(): void {
    const arena = this.allocator.arena;
    if (this.#bounce < 0) this.#bounce = arena.tryAllocSlot(BATCH_MAX_BYTES);
    if (this.#bounce < 0) return; // no room: stay with one frame per message
    this.#batch ??= new ArenaBatch(arena);
  }

  #stopBatching(): void {
    this.#batch?.release();
    this.#batch = null;
    this.#flushQueued = false;
    if (this.#bounce >= 0) this.allocator.arena.releaseSlotAt(this.#bounce);
    this.#bounce = -1;
  }

  #attach(s: WebSocketLike): void {
    s.binaryType = "arraybuffer";
    s.onopen = this.#onOpen;
    s.onmessage = this.#onMessage;
    if ("onbinary" in s) s.onbinary = this.#onBinary;
    s.onclose = this.#onClose;
    s.onerror = this.#onError;
  }

  #detach(s: WebSocketLike): void {
    s.onopen =
      s.onmessage =
      s.onclose =
      s.onerror =
        null;
    if ("onbinary" in s) s.onbinary = null;
  }

  #opened(): void {
    if (this.#closed || this.#carrier) return;
    this.#carrier = true;
    this.#attempt = 0;
    this.wsStats.connects++;
    if (this.#wantBatch && this.#socket?.protocol === BATCH_PROTOCOL) this.#startBatching();
    else this.#stopBatching();
    this.#emit({ up: true });
  }

  #message(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      // Text (or a Blob, if someone changed binaryType): not a frame.
      this.wsStats.messagesIn++;
      this.wsStats.rxTextDropped++;
      this.stats.rxDropped++;
      return;
    }
    this.#binary(new Uint8Array(data), 0, data.byteLength);
  }

  /** A binary message `bytes[at … at + len)`: one frame, or a batch of them. */
  #binary(bytes: Uint8Array, at: number, len: number): void {
    this.wsStats.messagesIn++;
    if (this.#batch === null) {
      if (len < ETHERNET_HEADER_LENGTH || len > this.mtu + ETHERNET_HEADER_LENGTH) {
        this.wsStats.rxBadLength++;
        this.stats.rxDropped++;
        return;
      }
      const skb = this.allocator.alloc(len, { headroom: 0 });
      if (skb === null) {
        this.stats.rxDropped++;
        return;
      }
      const to = skb.put(len);
      this.allocator.arena.u8.set(
        at === 0 && len === bytes.length ? bytes : bytes.subarray(at, at + len),
        to,
      );
      this.netifRx(skb);
      return;
    }
    if (len > BATCH_MAX_BYTES) {
      this.wsStats.rxBadBatch++;
      this.stats.rxDropped++;
      return;
    }
    // The whole batch into the arena in one copy, then each frame out of it.
    const bounce = this.#bounce;
    this.allocator.arena.u8.set(
      at === 0 && len === bytes.length ? bytes : bytes.subarray(at, at + len),
      bounce,
    );
    const maxFrame = this.mtu + ETHERNET_HEADER_LENGTH;
    for (let p = 0; p < len;) {
      const u8 = this.allocator.arena.u8;
      const n = p + 2 <= len ? (u8[bounce + p]! << 8) | u8[bounce + p + 1]! : 0;
      p += 2;
      if (n < ETHERNET_HEADER_LENGTH || n > len - p) {
        this.wsStats.rxBadBatch++;
        this.stats.rxDropped++;
        return;
      }
      if (n > maxFrame) {
        this.wsStats.rxBadLength++;
        this.stats.rxDropped++;
      } else if (!this.#gro.add(bounce + p, n)) {
        this.stats.rxDropped++;
      }
      p += n;
    }
    this.#gro.flush();
  }

  /**
   * A batch's frames go up through software GRO (`gro.ts`): one TCP flow's
   * consecutive segments reach the stack as one super-segment (checksums
   * verified on the way in), so TCP runs once per up to 64 KiB, not per frame.
   */
  readonly #gro = new TcpGro(this.allocator, (skb, frames) => {
    if (frames > 1) skb.ipSummed = Csum.Unnecessary; // every segment's checksum was verified
    // The counters count frames as they crossed the link.
    if (this.netifRx(skb) && frames > 1) this.stats.rxPackets += frames - 1;
  });

  #closedBy(code: number, reason: string): void {
    const s = this.#socket;
    if (s !== null) this.#detach(s);
    this.#socket = null;
    this.#lastClose = { code, reason };
    const wasUp = this.#carrier;
    this.#carrier = false;
    this.txQueue.purge();
    this.#stopBatching();
    if (this.#closed) return;
    const r = this.#reconnect;
    if (r === null || this.#attempt >= r.maxAttempts) {
      this.#emit({ up: false, code, reason, final: true });
      return;
    }
    const base = Math.min(r.maxDelayMs, r.initialDelayMs * r.factor ** this.#attempt);
    const delay = Math.round(base * (1 - r.jitter * randomFloat(this.#rng)));
    this.#attempt++;
    this.#retryTimer = this.clock.setTimer(delay, () => this.#retry());
    if (wasUp || this.#attempt === 1) this.#emit({ up: false, code, reason, retryInMs: delay });
  }

  #retry(): void {
    this.#retryTimer = null;
    if (this.#closed) return;
    this.wsStats.reconnectAttempts++;
    let s: WebSocketLike;
    try {
      s = this.#wantBatch
        ? this.#createSocket(this.url, [BATCH_PROTOCOL])
        : this.#createSocket(this.url);
    } catch {
      this.#closedBy(1006, "cannot create WebSocket");
      return;
    }
    this.#socket = s;
    this.#attach(s);
    if (s.readyState === OPEN) this.#opened();
  }

  #emit(e: LinkChangeEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(e);
      } catch (err) {
        reportError(err);
      }
    }
  }
}

function nonNegative(what: string, n: number): number {
  if (!(n >= 0)) throw new RangeError(`WebSocketLink: ${what} must be ≥ 0, got ${n}`);
  return n;
}
