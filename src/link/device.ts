/**
 * The `NetDevice` contract (Linux `struct net_device`) and a base class that
 * drivers extend.
 *
 * Frames are Ethernet II frames: `skb.data` points at the destination MAC on
 * both transmit and receive. A driver's receive side (the "interrupt") only
 * copies the frame into an arena buffer and calls {@link BaseDevice.netifRx},
 * which enqueues it on the bounded receive queue and, when the queue turns
 * non-empty, calls the notify callback the stack registered (how the stack
 * schedules its budgeted drain, `net_rx_action`). The stack then calls
 * {@link NetDevice.poll} with a budget.
 *
 * Transmit always consumes the buffer (`__dev_queue_xmit`): on success the
 * driver owns it, on failure it is freed and counted.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";

/** Device feature bits (Linux `NETIF_F_*`). */
export const DeviceFeature = {
  /** The device needs no checksums at all (loopback: `NETIF_F_NO_CSUM`). */
  NO_CSUM: 1 << 0,
  /** The device fills in L4 checksums of `Csum.Partial` packets (`NETIF_F_HW_CSUM`). */
  HW_CSUM: 1 << 1,
  /**
   * The device takes TCP/IPv4 segments larger than its MTU (`skb.gsoSize` >
   * 0) and cuts them itself (`NETIF_F_TSO`): in-process links pass them on
   * whole, like veth and loopback.
   */
  TSO: 1 << 2,
} as const;

/** Largest super-segment a TSO device takes: a full IPv4 datagram plus the Ethernet header. */
export const GSO_MAX_FRAME: number = 65535 + ETHERNET_HEADER_LENGTH;

/** Result of {@link NetDevice.transmit} (the buffer is consumed either way). */
export const Xmit = {
  /** Accepted for transmission (not a delivery guarantee). */
  OK: 0,
  /** Dropped: the transmit queue is full (`NET_XMIT_DROP`). */
  DROP: 1,
  /** Dropped: the device is down (`-ENETDOWN`). */
  DOWN: 2,
  /** Dropped: the frame is malformed or larger than the device allows. */
  INVALID: 3,
} as const;
/** One of the {@link Xmit} values. */
export type Xmit = typeof Xmit[keyof typeof Xmit];

/** Interface counters (Linux `rtnl_link_stats64`). */
export class DeviceStats {
  /** Frames received. */
  rxPackets = 0;
  /** Bytes received. */
  rxBytes = 0;
  /** Frames dropped on receive (queue full, no buffer, malformed). */
  rxDropped = 0;
  /** Frames transmitted. */
  txPackets = 0;
  /** Bytes transmitted. */
  txBytes = 0;
  /** Frames dropped on transmit (queue full, down, oversize). */
  txDropped = 0;
  /** Transmit failures reported by the driver's backend. */
  txErrors = 0;
}

/** Direction of a frame seen by a tap. */
export type TapDirection = "rx" | "tx";

/**
 * A packet tap (Linux `ptype_all`, what tcpdump uses): sees every frame the
 * device receives (when enqueued) or transmits (when accepted), with the clock
 * time. It must not keep `u8` or modify the bytes.
 */
export type DeviceTap = (
  direction: TapDirection,
  u8: Uint8Array,
  offset: number,
  length: number,
  time: number,
) => void;

/** What the stack sees of a device. */
export interface NetDevice {
  /** Interface name (`tap0`, `lo`, `pipe0a`). */
  readonly name: string;
  /** Largest IP datagram the link carries (Ethernet payload), e.g. 1500. */
  readonly mtu: number;
  /** The device's MAC address as a 48-bit integer. */
  readonly mac: number;
  /** {@link DeviceFeature} bits. */
  readonly features: number;
  /** Counters. */
  readonly stats: DeviceStats;
  /** Administrative and link state. */
  readonly isUp: boolean;
  /** Frames waiting for the stack's poll. */
  readonly rxQueue: SkbQueue;
  /** Queue a frame for transmission. Always consumes `skb`. */
  transmit(skb: SkBuff): Xmit;
  /** Register the callback invoked when the receive queue turns non-empty. */
  setRxNotify(notify: ((dev: NetDevice) => void) | null): void;
  /**
   * Dequeue up to `budget` frames, handing each to `deliver` (which then owns
   * it). Returns how many were delivered (`napi_poll`).
   */
  poll(budget: number, deliver: (skb: SkBuff, dev: NetDevice) => void): number;
  /** Add a packet tap; returns a function that removes it. */
  addTap(tap: DeviceTap): () => void;
  /** Bring the device up. */
  up(): void;
  /** Take the device down; queued receive frames are freed. */
  down(): void;
  /** Release driver resources (files, sockets, timers); the device stays down. */
  close(): void | Promise<void>;
}

/** Options every device takes. */
export interface DeviceOptions {
  /** Interface name. */
  name: string;
  /** Allocator for receive buffers. */
  allocator: SkbAllocator;
  /** Time source (tap timestamps, driver timers). */
  clock: Clock;
  /** MTU (default 1500). */
  mtu?: number;
  /** MAC address as a 48-bit integer (default: chosen by the driver). */
  mac?: number;
  /** Receive queue bound in frames (default 1000, Linux `netdev_max_backlog`). */
  rxQueueLimit?: number;
  /** Feature bits (default 0). */
  features?: number;
}

/**
 * Shared machinery for drivers: bounded receive queue with notify, poll, taps,
 * counters, up/down. A driver implements {@link BaseDevice.hardStartXmit}.
 */
export abstract class BaseDevice implements NetDevice {
  readonly name: string;
  readonly mtu: number;
  readonly mac: number;
  readonly features: number;
  readonly stats: DeviceStats = new DeviceStats();
  readonly rxQueue: SkbQueue = new SkbQueue();
  /** Receive queue bound (frames). */
  readonly rxQueueLimit: number;
  /** Allocates received frames. */
  readonly allocator: SkbAllocator;
  /** Time source (tap timestamps, deferred work). */
  readonly clock: Clock;
  #up = false;
  #notify: ((dev: NetDevice) => void) | null = null;
  #taps: DeviceTap[] = [];

  /** A device from its options (down until `up()`). */
  constructor(options: DeviceOptions) {
    this.name = options.name;
    this.mtu = options.mtu ?? 1500;
    if (!Number.isInteger(this.mtu) || this.mtu < 68 || this.mtu > 65536) {
      throw new RangeError(`Device ${options.name}: MTU ${this.mtu} is outside 68…65536`);
    }
    this.mac = options.mac ?? 0x02_00_00_00_00_01;
    this.features = options.features ?? 0;
    this.rxQueueLimit = options.rxQueueLimit ?? 1000;
    this.allocator = options.allocator;
    this.clock = options.clock;
  }

  get isUp(): boolean {
    return this.#up;
  }

  up(): void {
    this.#up = true;
  }

  down(): void {
    this.#up = false;
    this.rxQueue.purge();
  }

  close(): void | Promise<void> {
    this.down();
  }

  setRxNotify(notify: ((dev: NetDevice) => void) | null): void {
    this.#notify = notify;
    if (notify && this.rxQueue.length > 0) notify(this);
  }

  addTap(tap: DeviceTap): () => void {
    this.#taps.push(tap);
    return () => {
      const i = this.#taps.indexOf(tap);
      if (i >= 0) this.#taps.splice(i, 1);
    };
  }

  /**
   * Transmit: checks state and size, shows the frame to taps, then hands it to
   * the driver. Always consumes `skb`.
   */
  transmit(skb: SkBuff): Xmit {
    const len = skb.len;
    if (!this.#up) {
      this.stats.txDropped++;
      skb.free();
      return Xmit.DOWN;
    }
    if (
      len < ETHERNET_HEADER_LENGTH ||
      (len > this.mtu + ETHERNET_HEADER_LENGTH &&
        (skb.gsoSize === 0 || (this.features & DeviceFeature.TSO) === 0 || len > GSO_MAX_FRAME))
    ) {
      this.stats.txDropped++;
      skb.free();
      return Xmit.INVALID;
    }
    if (this.#taps.length > 0) this.#tap("tx", skb);
    const r = this.hardStartXmit(skb);
    if (r === Xmit.OK) {
      this.stats.txPackets++;
      this.stats.txBytes += len;
    } else {
      this.stats.txDropped++;
    }
    return r;
  }

  /**
   * Driver transmit (`ndo_start_xmit`): takes ownership of `skb` in every case
   * (free it on failure) and returns the outcome.
   */
  protected abstract hardStartXmit(skb: SkBuff): Xmit;

  /**
   * Receive entry for drivers (`netif_rx`): takes ownership of `skb` (frame at
   * `skb.data`), enqueues it or drops and counts it. Returns true if queued.
   */
  netifRx(skb: SkBuff): boolean {
    if (!this.#up || this.rxQueue.length >= this.rxQueueLimit || skb.len < ETHERNET_HEADER_LENGTH) {
      this.stats.rxDropped++;
      skb.free();
      return false;
    }
    skb.tstamp = this.clock.now();
    if (this.#taps.length > 0) this.#tap("rx", skb);
    this.stats.rxPackets++;
    this.stats.rxBytes += skb.len;
    const wasEmpty = this.rxQueue.length === 0;
    this.rxQueue.push(skb);
    if (wasEmpty && this.#notify !== null) this.#notify(this);
    return true;
  }

  /**
   * Copy a frame from outside the arena into a new buffer and receive it.
   * Returns false (and counts a drop) when the arena is exhausted.
   */
  receiveBytes(frame: Uint8Array): boolean {
    const skb = this.allocator.fromBytes(frame);
    if (skb === null) {
      this.stats.rxDropped++;
      return false;
    }
    return this.netifRx(skb);
  }

  poll(budget: number, deliver: (skb: SkBuff, dev: NetDevice) => void): number {
    let n = 0;
    while (n < budget) {
      const skb = this.rxQueue.shift();
      if (skb === null) break;
      n++;
      deliver(skb, this);
    }
    return n;
  }

  #tap(dir: TapDirection, skb: SkBuff): void {
    const u8 = this.allocator.arena.u8;
    const t = this.clock.now();
    const taps = this.#taps;
    for (let i = 0; i < taps.length; i++) taps[i]!(dir, u8, skb.data, skb.len, t);
  }
}
