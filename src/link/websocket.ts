/**
 * `WebSocketLink`: an Ethernet link over a WebSocket, for browsers (which
 * cannot open raw sockets) and Deno alike.
 *
 * **Framing.** Exactly one Ethernet II frame per *binary* WebSocket message,
 * no header, no FCS: the framing of the v86 emulator's relays
 * (`websockproxy`, `wsnic`), so a page running netwasm can join those
 * networks, and netwasm's own relay (`src/relay/`) speaks the same.
 *
 * **Receive.** Each message is copied once into an arena buffer and handed
 * to {@link BaseDevice.netifRx} (bounded by `rxQueueLimit`). Text messages,
 * runts and frames longer than `mtu + 14` are dropped and counted
 * (`stats.rxDropped`, and by reason in {@link WebSocketLinkStats}).
 *
 * **Transmit.** A frame is copied out of the arena (`WebSocket.send` refuses
 * views of a `SharedArrayBuffer`, and the arena may be one) and sent. When
 * the socket's `bufferedAmount` is above `highWaterMark` (the peer or the
 * network is slower than we are), frames wait in a bounded queue
 * (`txQueueLimit`) that a timer on the injected clock drains as
 * `bufferedAmount` falls; beyond the bound they are dropped and counted like
 * a full NIC ring (`NET_XMIT_DROP`), which TCP treats as loss. No closure is
 * made per frame.
 *
 * **Carrier and reconnect.** The link has carrier while the socket is open;
 * {@link WebSocketLink.onLinkChange} reports changes with the close code and
 * reason. Frames sent without carrier are dropped (`Xmit.DOWN`). Unless
 * `reconnect: false`, a lost connection is re-established with bounded,
 * jittered exponential backoff; after `maxAttempts` failures in a row the
 * link gives up and reports it.
 *
 * Only web-platform APIs are used (`WebSocket`, `URL`), so this module loads
 * in any browser and in Deno.
 *
 * @module
 */
import type { Timer } from "../core/clock.ts";
import { CryptoRandom, randomFloat, type RandomSource } from "../core/random.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { SkBuff } from "../skb/skbuff.ts";
import { BaseDevice, type DeviceOptions, Xmit } from "./device.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";

/** `WebSocket.readyState` values. */
const CONNECTING = 0;
const OPEN = 1;

/** The parts of a `WebSocket` the link uses (a real one, or a test fake). */
export interface WebSocketLike {
  /** "arraybuffer" is set before use. */
  binaryType: string;
  /** WebSocket.OPEN (1) while usable. */
  readonly readyState: number;
  /** Bytes queued and not yet sent. */
  readonly bufferedAmount: number;
  /** Send one binary message. */
  send(data: Uint8Array | ArrayBuffer): void;
  /** Close the connection. */
  close(code?: number, reason?: string): void;
  /** Connected. */
  onopen: ((ev: Event) => unknown) | null;
  /** A message arrived. */
  onmessage: ((ev: MessageEvent) => unknown) | null;
  /** Closed. */
  onclose: ((ev: CloseEvent) => unknown) | null;
  /** An error happened. */
  onerror: ((ev: Event) => unknown) | null;
}

/** Reconnect policy (exponential backoff with jitter). */
export interface ReconnectOptions {
  /** First delay in ms (default 250). */
  initialDelayMs?: number;
  /** Largest delay in ms (default 10 000). */
  maxDelayMs?: number;
  /** Growth factor per failed attempt (default 2). */
  factor?: number;
  /** Fraction of the delay taken off at random, 0…1 (default 0.3). */
  jitter?: number;
  /** Failed attempts in a row before giving up (default 20). */
  maxAttempts?: number;
}

/** A carrier change reported by {@link WebSocketLink.onLinkChange}. */
export interface LinkChangeEvent {
  /** True when the socket (re)opened. */
  readonly up: boolean;
  /** Close code (down events). */
  readonly code?: number;
  /** Close reason (down events; may be empty). */
  readonly reason?: string;
  /** Delay before the next attempt in ms, when one is scheduled (down events). */
  readonly retryInMs?: number;
  /** True when the link has given up (closed by us, or reconnects exhausted). */
  readonly final?: boolean;
}

/** Options for {@link WebSocketLink}. */
export interface WebSocketLinkOptions extends Omit<DeviceOptions, "name"> {
  /** Interface name (default `"ws0"`). */
  name?: string;
  /** Relay URL (`ws:` / `wss:`); needed for reconnects of a link built from a socket. */
  url?: string;
  /** Makes sockets (default `new WebSocket(url)`); tests pass fakes. */
  createSocket?: (url: string) => WebSocketLike;
  /** Queue frames while `bufferedAmount` exceeds this many bytes (default 1 MiB). */
  highWaterMark?: number;
  /** Frames that may wait for `bufferedAmount` to fall (default 256). */
  txQueueLimit?: number;
  /** How often the waiting queue is retried, ms (default 2). */
  drainIntervalMs?: number;
  /** Reconnect policy, or false to never reconnect (default: enabled). */
  reconnect?: ReconnectOptions | false;
  /** How long {@link WebSocketLink.connect} waits for the first open, ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Randomness for the default MAC and the jitter (default: crypto). */
  random?: RandomSource;
}

/**
 * The link could not be established or was closed by the server; `code` and
 * `reason` are the WebSocket close code and reason when there was one.
 *
 * @example
 * ```ts
 * import { WebSocketLink, WebSocketLinkError } from "./websocket.ts";
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { RealClock } from "../core/clock.ts";
 * try {
 *   await WebSocketLink.connect("http://not-a-websocket", {
 *     allocator: new SkbAllocator(new Arena()), clock: new RealClock(),
 *   });
 * } catch (e) {
 *   if (e instanceof WebSocketLinkError) console.log(e.message);
 * }
 * ```
 */
export class WebSocketLinkError extends Error {
  /** Close code, if the server closed the connection. */
  readonly code: number | undefined;
  /** Close reason, if any. */
  readonly reason: string | undefined;

  /** An error with the close `code` and `reason` when there were some. */
  constructor(message: string, code?: number, reason?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WebSocketLinkError";
    this.code = code;
    this.reason = reason;
  }
}

/** Driver counters beyond {@link DeviceStats}. */
export class WebSocketLinkStats {
  /** Frames that waited in the transmit queue. */
  txQueued = 0;
  /** Frames dropped because the transmit queue was full. */
  txQueueDropped = 0;
  /** Frames dropped because there was no open socket. */
  txNoCarrier = 0;
  /** Text messages received (dropped). */
  rxTextDropped = 0;
  /** Binary messages shorter than 14 or longer than mtu + 14 (dropped). */
  rxBadLength = 0;
  /** Connections opened (the first one included). */
  connects = 0;
  /** Reconnect attempts made. */
  reconnectAttempts = 0;
}

/**
 * Check a relay URL: `ws:`/`wss:` with a host. Throws {@link WebSocketLinkError}
 * saying what is wrong.
 *
 * @example
 * ```ts
 * import { checkWebSocketUrl } from "./websocket.ts";
 * checkWebSocketUrl("ws://127.0.0.1:8080/"); // ok
 * ```
 */
export function checkWebSocketUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new WebSocketLinkError(`Invalid relay URL ${JSON.stringify(url)}: not a URL`);
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new WebSocketLinkError(
      `Invalid relay URL ${JSON.stringify(url)}: the scheme must be ws: or wss:, not ${u.protocol}`,
    );
  }
  if (u.hash !== "") {
    throw new WebSocketLinkError(`Invalid relay URL ${JSON.stringify(url)}: no #fragment allowed`);
  }
  return u;
}

/** A random locally administered unicast MAC (02:xx:xx:xx:xx:xx with bit 1 set, bit 0 clear). */
function randomMac(rng: RandomSource): number {
  const hi = ((rng.nextU32() & 0xfeff) | 0x0200) >>> 0; // first octet: LAA, unicast
  return hi * 2 ** 32 + rng.nextU32();
}

const defaultCreateSocket = (url: string): WebSocketLike =>
  new WebSocket(url) as unknown as WebSocketLike;

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
  #createSocket: (url: string) => WebSocketLike;
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
    super({ ...options, name: options.name ?? "ws0", mac: options.mac ?? randomMac(rng) });
    this.#rng = rng;
    this.url = options.url ?? "";
    this.#createSocket = options.createSocket ?? defaultCreateSocket;
    this.highWaterMark = nonNegative("highWaterMark", options.highWaterMark ?? 1 << 20);
    this.txQueueLimit = nonNegative("txQueueLimit", options.txQueueLimit ?? 256);
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
      socket = (options.createSocket ?? defaultCreateSocket)(url);
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
  }

  /** Close the socket (code 1000), stop reconnecting and free queued frames. Idempotent. */
  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
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
    const wasUp = this.#carrier;
    this.#carrier = false;
    if (wasUp) this.#emit({ up: false, code: 1000, reason: "closed", final: true });
  }

  /** Send the frame as one binary message (or queue it while the socket is busy). */
  protected override hardStartXmit(skb: SkBuff): Xmit {
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

  #send(s: WebSocketLike, skb: SkBuff): void {
    // A copy: send() refuses SharedArrayBuffer views, and the skb is freed now.
    const frame = this.allocator.arena.u8.slice(skb.data, skb.data + skb.len);
    skb.free();
    try {
      s.send(frame);
    } catch {
      this.stats.txErrors++;
    }
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

  #attach(s: WebSocketLike): void {
    s.binaryType = "arraybuffer";
    s.onopen = this.#onOpen;
    s.onmessage = this.#onMessage;
    s.onclose = this.#onClose;
    s.onerror = this.#onError;
  }

  #detach(s: WebSocketLike): void {
    s.onopen =
      s.onmessage =
      s.onclose =
      s.onerror =
        null;
  }

  #opened(): void {
    if (this.#closed || this.#carrier) return;
    this.#carrier = true;
    this.#attempt = 0;
    this.wsStats.connects++;
    this.#emit({ up: true });
  }

  #message(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      // Text (or a Blob, if someone changed binaryType): not a frame.
      this.wsStats.rxTextDropped++;
      this.stats.rxDropped++;
      return;
    }
    const len = data.byteLength;
    if (len < ETHERNET_HEADER_LENGTH || len > this.mtu + ETHERNET_HEADER_LENGTH) {
      this.wsStats.rxBadLength++;
      this.stats.rxDropped++;
      return;
    }
    this.receiveBytes(new Uint8Array(data));
  }

  #closedBy(code: number, reason: string): void {
    const s = this.#socket;
    if (s !== null) this.#detach(s);
    this.#socket = null;
    this.#lastClose = { code, reason };
    const wasUp = this.#carrier;
    this.#carrier = false;
    this.txQueue.purge();
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
      s = this.#createSocket(this.url);
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
