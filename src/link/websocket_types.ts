/**
 * The public shapes around `WebSocketLink` (`websocket.ts`, which re-exports
 * everything here): what it needs of a socket, its options, reconnect
 * policy, link events, errors and counters, and the relay-URL check.
 *
 * @module
 */
import type { RandomSource } from "../core/random.ts";
import type { DeviceOptions } from "./device.ts";

/** The parts of a `WebSocket` the link uses (a real one, or a test fake). */
export interface WebSocketLike {
  /** "arraybuffer" is set before use. */
  binaryType: string;
  /** WebSocket.OPEN (1) while usable. */
  readonly readyState: number;
  /** Bytes queued and not yet sent. */
  readonly bufferedAmount: number;
  /** The subprotocol the server selected ("" or absent: none). */
  readonly protocol?: string;
  /** Send one binary message. */
  send(data: Uint8Array | ArrayBuffer): void;
  /**
   * Optional: send `bytes[at … at + len)` as one binary message without a
   * view (the Deno client has it; the link uses it when present).
   */
  sendBytes?(bytes: Uint8Array, at: number, len: number): void;
  /**
   * Optional: when the socket supports it, binary messages arrive here as
   * `bytes[at … at + len)` (valid during the call) instead of `onmessage`.
   */
  onbinary?: ((bytes: Uint8Array, at: number, len: number) => void) | null;
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
  /**
   * Makes sockets (default: {@link TcpWebSocket} in Deno, `new WebSocket(url,
   * protocols)` elsewhere); tests pass fakes. `protocols` holds the batch
   * subprotocol when `framing` is "batch".
   */
  createSocket?: (url: string, protocols?: string[]) => WebSocketLike;
  /**
   * "frame" (default): one Ethernet frame per message, v86-compatible.
   * "batch": offer `netwasm.batch.v1` and send many frames per message when
   * the server selects it (netwasm's relay does).
   */
  framing?: "frame" | "batch";
  /** Queue frames while `bufferedAmount` exceeds this many bytes (default 1 MiB). */
  highWaterMark?: number;
  /**
   * Frames that may wait for `bufferedAmount` to fall (default 1000, Linux's
   * `txqueuelen`): enough for a TCP window's burst beyond `highWaterMark`,
   * which a 256-frame queue turned into drops and retransmissions.
   */
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
  /** Binary messages (or batch records) shorter than 14 or longer than mtu + 14 (dropped). */
  rxBadLength = 0;
  /** Batch messages with a malformed record (the rest of the message is dropped). */
  rxBadBatch = 0;
  /** Messages sent (a batch counts once). */
  messagesOut = 0;
  /** Messages received. */
  messagesIn = 0;
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
