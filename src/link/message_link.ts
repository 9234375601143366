/**
 * Links between netwasm stacks of one origin with no relay: a
 * {@link MessagePortLink} over a `MessagePort` (a page and its dedicated
 * Worker, a page and an iframe, two Workers handed the two ends of a
 * `MessageChannel`) and a {@link BroadcastChannelLink} over a
 * `BroadcastChannel` (every tab, iframe and Worker of an origin that opens
 * the channel's name is on one Ethernet segment, like a hub).
 *
 * **Messages.** Frames travel in batches: one message carries every frame a
 * burst produced (the flush is one deferred task on the clock, or sooner
 * when the batch buffer fills), as records `length:u32 (big-endian)` +
 * Ethernet frame in an `ArrayBuffer`:
 *
 * ```text
 * { f: ArrayBuffer, n: bytes used, a: messages of the peer processed, r: ArrayBuffer[] }
 * ```
 *
 * A `MessagePort` *transfers* the buffer (no copy in the browser) and the
 * receiver hands it back with its next message (`r`), so buffers circulate
 * instead of being allocated per batch. A `BroadcastChannel` cannot transfer:
 * each member gets a copy, and frames not addressed to it (unicast to
 * another MAC) are dropped before they cost an arena buffer.
 *
 * **Large segments.** Both ends are netwasm, so the link takes TCP
 * super-segments whole (`DeviceFeature.TSO`, up to 64 KiB per frame): a
 * page ↔ Worker transfer costs per 64 KiB what a wire costs per 1.5 KiB.
 * The MTU (default 1500) still bounds everything else.
 *
 * **Flow control (MessagePort).** Posting never blocks and a port queues
 * without bound, so the sender keeps at most `window` messages unprocessed
 * by the peer (each message reports `a`, how many the peer has processed;
 * a receiver with nothing to send reports it alone every few messages).
 * Beyond the window frames wait in a bounded queue (`txQueueLimit`), then
 * drop like a full NIC ring (`NET_XMIT_DROP`, counted): a busy page cannot
 * make its Worker buffer without bound, nor the other way round. A
 * BroadcastChannel has many receivers and no such feedback: its frames are
 * only bounded by the receivers' queues (`rxQueueLimit`).
 *
 * **Bad input** — a message that is not a batch, a record shorter than an
 * Ethernet header, longer than the link allows or running past the end —
 * is counted (`stats.rxDropped`, by reason in {@link MessageLinkStats}) and
 * dropped with the rest of its message; nothing throws.
 *
 * @module
 */
import { CryptoRandom, type RandomSource } from "../core/random.ts";
import type { SkBuff } from "../skb/skbuff.ts";
import { SkbQueue } from "../skb/queue.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";
import { BaseDevice, DeviceFeature, type DeviceOptions, GSO_MAX_FRAME, Xmit } from "./device.ts";

/** Bytes in front of each frame in a batch: its length, big-endian. */
const RECORD_HEADER = 4;
/** Default batch buffer size. */
const BATCH_BYTES = 262144;

/** The parts of a `MessagePort` or `BroadcastChannel` the links use. */
export interface MessageEndpoint {
  /** Post a message (with transferables where the endpoint supports them). */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Incoming messages. */
  onmessage: ((ev: MessageEvent) => unknown) | null;
  /** Close the endpoint. */
  close(): void;
}

/** One message on the wire: a batch of frames and/or link bookkeeping. */
export interface BatchMessage {
  /** Records, or absent in an acknowledgement-only message. */
  f?: ArrayBuffer;
  /** Bytes of `f` in use. */
  n?: number;
  /** Messages of the peer processed so far (MessagePort only). */
  a?: number;
  /** Buffers handed back (MessagePort only). */
  r?: ArrayBuffer[];
}

/** Options for {@link MessagePortLink} and {@link BroadcastChannelLink}. */
export interface MessageLinkOptions extends Omit<DeviceOptions, "name"> {
  /** Interface name (default `"mp0"` / `"bc0"`). */
  name?: string;
  /** Bytes per batch buffer (default 256 KiB; at least one largest frame). */
  batchBytes?: number;
  /** MessagePort: messages the peer may have unprocessed (default 16). */
  window?: number;
  /** MessagePort: frames waiting for the window before drops (default 1024). */
  txQueueLimit?: number;
  /** Randomness for the default MAC (default: crypto). */
  random?: RandomSource;
}

/** Driver counters beyond the device's. */
export class MessageLinkStats {
  /** Messages posted (batches and acknowledgements). */
  messagesOut = 0;
  /** Messages received. */
  messagesIn = 0;
  /** Frames that waited for the window. */
  txQueued = 0;
  /** Frames dropped because the window and the queue were full. */
  txQueueDropped = 0;
  /** Messages that were not batches (dropped). */
  rxBadMessage = 0;
  /** Records that were malformed (the rest of their message is dropped). */
  rxBadRecord = 0;
  /** BroadcastChannel: frames for another member's MAC, dropped unread. */
  rxOtherHost = 0;
  /** Buffers reused instead of allocated. */
  buffersReused = 0;
}

/** A random locally administered unicast MAC. */
function randomMac(rng: RandomSource): number {
  const hi = ((rng.nextU32() & 0xfeff) | 0x0200) >>> 0;
  return hi * 2 ** 32 + rng.nextU32();
}

/**
 * The machinery both links share: batching, the record format, receive
 * validation; the subclasses say whether the endpoint transfers and
 * acknowledges. Use {@link MessagePortLink} or {@link BroadcastChannelLink}.
 *
 * @example
 * ```ts
 * import { MessageLink, MessagePortLink } from "./message_link.ts";
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * const { port1 } = new MessageChannel();
 * const link: MessageLink = new MessagePortLink(port1, {
 *   allocator: new SkbAllocator(new Arena()), clock: new VirtualClock(),
 * });
 * link.close();
 * ```
 */
export abstract class MessageLink extends BaseDevice {
  /** Driver counters. */
  readonly msgStats: MessageLinkStats = new MessageLinkStats();
  /** Frames waiting for the window (MessagePort). */
  readonly txQueue: SkbQueue = new SkbQueue();
  /** Bound of {@link MessageLink.txQueue}. */
  readonly txQueueLimit: number;
  /** Bytes per batch buffer. */
  readonly batchBytes: number;

  /** The port or channel (null once closed). */
  protected endpoint: MessageEndpoint | null;
  #buf: ArrayBuffer | null = null;
  #u8: Uint8Array | null = null;
  #len = 0;
  #flushQueued = false;
  /** Spare buffers (reused, bounded). */
  #pool: ArrayBuffer[] = [];
  /** Buffers to hand back to the peer with the next message. */
  protected giveBack: ArrayBuffer[] = [];
  readonly #flushTask = () => this.flush();
  readonly #onMessage = (ev: MessageEvent) => this.#receive(ev.data);

  /** A link over `endpoint` (started at once; closed with the link). */
  constructor(endpoint: MessageEndpoint, defaultName: string, options: MessageLinkOptions) {
    const rng = options.random ?? new CryptoRandom();
    super({
      ...options,
      name: options.name ?? defaultName,
      mac: options.mac ?? randomMac(rng),
      features: options.features ?? DeviceFeature.TSO,
    });
    this.batchBytes = Math.max(options.batchBytes ?? BATCH_BYTES, GSO_MAX_FRAME + RECORD_HEADER);
    this.txQueueLimit = options.txQueueLimit ?? 1024;
    this.endpoint = endpoint;
    endpoint.onmessage = this.#onMessage;
    (endpoint as { start?: () => void }).start?.();
    this.up();
  }

  /** Whether the endpoint transfers buffers (and acknowledges). */
  protected abstract get transfers(): boolean;
  /** May another message be posted now? (the flow-control window) */
  protected abstract canPost(): boolean;
  /** Post one batch (or an acknowledgement, with `f` absent). */
  protected abstract post(msg: BatchMessage, transfer: ArrayBuffer[]): void;
  /** Keep the frame at `bytes[at … at + len)`? (a hub's filter) */
  protected accept(_bytes: Uint8Array, _at: number): boolean {
    return true;
  }
  /** Bookkeeping after a message from the peer was processed. */
  protected processed(_msg: BatchMessage): void {}

  /**
   * Release the endpoint. Frames already accepted for sending (the batch
   * being built, frames waiting for the window) are posted first: a FIN that
   * `stack.close()` queued a moment earlier still reaches the peer. Idempotent.
   */
  override close(): void {
    if (this.endpoint !== null && this.isUp) {
      for (let skb = this.txQueue.shift(); skb !== null; skb = this.txQueue.shift()) {
        this.#append(skb);
      }
      this.flush();
    }
    this.down();
    const e = this.endpoint;
    if (e === null) return;
    this.endpoint = null;
    e.onmessage = null;
    try {
      e.close();
    } catch { /* already closed */ }
  }

  /** Take the device down: queued and batched frames are dropped. */
  override down(): void {
    super.down();
    this.txQueue.purge();
    this.#len = 0;
  }

  /** Batch the frame (or queue it while the window is full). */
  protected override hardStartXmit(skb: SkBuff): Xmit {
    if (this.endpoint === null) {
      skb.free();
      return Xmit.DOWN;
    }
    if (this.txQueue.length > 0 || !this.canPost()) {
      if (this.txQueue.length >= this.txQueueLimit) {
        this.msgStats.txQueueDropped++;
        skb.free();
        return Xmit.DROP;
      }
      this.txQueue.push(skb);
      this.msgStats.txQueued++;
      return Xmit.OK;
    }
    this.#append(skb);
    return Xmit.OK;
  }

  /** Copy the frame into the batch (flushing a full one first); frees it. */
  #append(skb: SkBuff): void {
    const len = skb.len;
    if (this.#u8 !== null && this.#len + RECORD_HEADER + len > this.#u8.length) this.flush();
    if (this.#u8 === null) {
      const b = this.#pool.pop();
      if (b !== undefined) this.msgStats.buffersReused++;
      this.#buf = b ?? new ArrayBuffer(this.batchBytes);
      this.#u8 = new Uint8Array(this.#buf);
      this.#len = 0;
    }
    const u8 = this.#u8;
    const at = this.#len;
    u8[at] = len >>> 24;
    u8[at + 1] = (len >>> 16) & 0xff;
    u8[at + 2] = (len >>> 8) & 0xff;
    u8[at + 3] = len & 0xff;
    u8.set(this.allocator.arena.u8.subarray(skb.data, skb.data + len), at + RECORD_HEADER);
    this.#len = at + RECORD_HEADER + len;
    skb.free();
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      this.clock.defer(this.#flushTask);
    }
  }

  /** Post the batch being built, if any. */
  protected flush(): void {
    this.#flushQueued = false;
    const buf = this.#buf;
    if (buf === null || this.#len === 0 || this.endpoint === null) return;
    const n = this.#len;
    this.#buf = this.#u8 = null;
    this.#len = 0;
    const r = this.giveBack;
    const msg: BatchMessage = { f: buf, n };
    const transfer = this.transfers ? [buf] : [];
    if (this.transfers && r.length > 0) {
      msg.r = r.splice(0, 4);
      transfer.push(...msg.r);
    }
    this.post(msg, transfer);
    this.msgStats.messagesOut++;
    // A buffer that was not transferred (BroadcastChannel clones) is ours again.
    if (!this.transfers) this.#pool.push(buf);
  }

  /** The window opened: move waiting frames into batches. */
  protected drainQueue(): void {
    while (this.txQueue.length > 0 && this.canPost()) {
      const skb = this.txQueue.shift()!;
      this.#append(skb);
      if (this.#len >= this.batchBytes - GSO_MAX_FRAME) this.flush();
    }
  }

  #receive(data: unknown): void {
    this.msgStats.messagesIn++;
    const msg = data as BatchMessage | null;
    if (typeof msg !== "object" || msg === null) {
      this.msgStats.rxBadMessage++;
      this.stats.rxDropped++;
      return;
    }
    if (Array.isArray(msg.r)) {
      for (const b of msg.r) {
        if (b instanceof ArrayBuffer && b.byteLength === this.batchBytes && this.#pool.length < 8) {
          this.#pool.push(b);
        }
      }
    }
    const f = msg.f;
    if (f !== undefined) {
      if (!(f instanceof ArrayBuffer) || typeof msg.n !== "number" || !(msg.n <= f.byteLength)) {
        this.msgStats.rxBadMessage++;
        this.stats.rxDropped++;
      } else {
        this.#records(new Uint8Array(f), msg.n);
        if (this.transfers && this.giveBack.length < 8) this.giveBack.push(f);
      }
    }
    this.processed(msg);
  }

  #records(bytes: Uint8Array, n: number): void {
    const maxFrame = (this.features & DeviceFeature.TSO) !== 0
      ? GSO_MAX_FRAME
      : this.mtu + ETHERNET_HEADER_LENGTH;
    for (let p = 0; p < n;) {
      const len = p + RECORD_HEADER <= n
        ? ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0
        : 0;
      p += RECORD_HEADER;
      if (len < ETHERNET_HEADER_LENGTH || len > maxFrame || len > n - p) {
        this.msgStats.rxBadRecord++;
        this.stats.rxDropped++;
        return;
      }
      if (this.accept(bytes, p)) {
        const skb = this.allocator.alloc(len, { headroom: 0 });
        if (skb === null) {
          this.stats.rxDropped++;
        } else {
          const to = skb.put(len);
          this.allocator.arena.u8.set(bytes.subarray(p, p + len), to);
          this.netifRx(skb);
        }
      }
      p += len;
    }
  }
}

/**
 * An Ethernet link over a `MessagePort`: two netwasm stacks in one page and
 * its Worker (or an iframe, or two Workers) joined by the two ends of a
 * `MessageChannel`.
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { MessagePortLink } from "./message_link.ts";
 * const clock = new VirtualClock();
 * const { port1, port2 } = new MessageChannel();
 * const a = new Stack({ clock });
 * const b = new Stack({ clock });
 * const la = new MessagePortLink(port1, { allocator: a.allocator, clock });
 * const lb = new MessagePortLink(port2, { allocator: b.allocator, clock });
 * a.addInterface(la, { address: "192.0.2.1/24" });
 * b.addInterface(lb, { address: "192.0.2.2/24" });
 * // (in a Worker: postMessage(port2, [port2]) and build the link there)
 * la.close();
 * lb.close();
 * ```
 */
export class MessagePortLink extends MessageLink {
  /** Messages the peer may have unprocessed before frames wait. */
  readonly window: number;
  #posted = 0;
  /** Messages of ours the peer has processed (from its `a`). */
  #peerProcessed = 0;
  /** Messages of the peer we have processed. */
  #processed = 0;
  /** `#processed` as last reported to the peer. */
  #reported = 0;
  #ackQueued = false;
  readonly #ackTask = () => this.#sendAck();

  /** A link over `port` (started at once; closed with the link). */
  constructor(port: MessageEndpoint, options: MessageLinkOptions) {
    super(port, "mp0", options);
    this.window = Math.max(1, options.window ?? 16);
  }

  /** A port transfers buffers. */
  protected get transfers(): boolean {
    return true;
  }

  /** Within the window of unprocessed messages. */
  protected canPost(): boolean {
    return this.#posted - this.#peerProcessed < this.window;
  }

  /** Post with the count of the peer's messages processed. */
  protected post(msg: BatchMessage, transfer: ArrayBuffer[]): void {
    msg.a = this.#processed;
    this.#reported = this.#processed;
    this.#posted++;
    try {
      this.endpoint?.postMessage(msg, transfer);
    } catch {
      this.stats.txErrors++;
    }
  }

  /** Count the message, take the peer's progress, acknowledge when nothing else will. */
  protected override processed(msg: BatchMessage): void {
    if (msg.f !== undefined) this.#processed++;
    if (typeof msg.a === "number" && msg.a > this.#peerProcessed && msg.a <= this.#posted) {
      this.#peerProcessed = msg.a;
      if (this.txQueue.length > 0) this.drainQueue();
    }
    // Nothing of ours going out soon: report progress (and hand buffers back) alone.
    if (!this.#ackQueued && (this.#processed - this.#reported >= 4 || this.giveBack.length >= 4)) {
      this.#ackQueued = true;
      this.clock.defer(this.#ackTask);
    }
  }

  #sendAck(): void {
    this.#ackQueued = false;
    if (this.endpoint === null) return;
    if (this.#processed === this.#reported && this.giveBack.length === 0) return;
    const r = this.giveBack.splice(0, 8);
    const msg: BatchMessage = { a: this.#processed, r };
    this.#reported = this.#processed;
    try {
      this.endpoint.postMessage(msg, r);
      this.msgStats.messagesOut++;
    } catch {
      this.stats.txErrors++;
    }
  }
}

/**
 * An Ethernet segment over a `BroadcastChannel`: every stack of an origin
 * (tabs, iframes, Workers) that opens a link with the same channel name is
 * on it, as on a hub. Frames addressed to another member's MAC are dropped
 * on arrival, unread.
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { RealClock } from "../core/clock.ts";
 * import { BroadcastChannelLink } from "./message_link.ts";
 * const clock = new RealClock();
 * const stack = new Stack({ clock });
 * const link = BroadcastChannelLink.open("netwasm-lan", { allocator: stack.allocator, clock });
 * stack.addInterface(link, { address: "192.0.2.7/24" });
 * // every other tab that does the same (another address) is on the LAN
 * link.close();
 * await stack.close();
 * clock.close();
 * ```
 */
export class BroadcastChannelLink extends MessageLink {
  /** A link over `channel` (closed with the link). */
  constructor(channel: MessageEndpoint, options: MessageLinkOptions) {
    super(channel, "bc0", options);
  }

  /** Open the channel `name` and join it. */
  static open(name: string, options: MessageLinkOptions): BroadcastChannelLink {
    return new BroadcastChannelLink(new BroadcastChannel(name), options);
  }

  /** A channel clones (no transfer). */
  protected get transfers(): boolean {
    return false;
  }

  /** No window: many receivers, no feedback. */
  protected canPost(): boolean {
    return true;
  }

  /** Post to every member. */
  protected post(msg: BatchMessage): void {
    try {
      this.endpoint?.postMessage(msg);
    } catch {
      this.stats.txErrors++;
    }
  }

  /** A hub delivers everything: keep our MAC, broadcast and multicast only. */
  protected override accept(bytes: Uint8Array, at: number): boolean {
    if ((bytes[at]! & 1) !== 0) return true; // group address (broadcast included)
    const mac = this.mac;
    const hi = Math.floor(mac / 2 ** 32);
    const lo = mac >>> 0;
    const dhi = (bytes[at]! << 8) | bytes[at + 1]!;
    const dlo = ((bytes[at + 2]! << 24) | (bytes[at + 3]! << 16) | (bytes[at + 4]! << 8) |
      bytes[at + 5]!) >>> 0;
    if (dhi === hi && dlo === lo) return true;
    this.msgStats.rxOtherHost++;
    return false;
  }
}
