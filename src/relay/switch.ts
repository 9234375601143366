/**
 * A learning Ethernet switch with port security, the heart of the relay
 * (IEEE 802.1D transparent bridging, minus spanning tree: the relay is a
 * star, so there are no loops to break).
 *
 * Every frame entering a port is **validated** (length 14…1518, source MAC
 * unicast and non-zero), **rate limited** (a token bucket per port, in
 * frames per second), checked by **port security** (a source MAC belongs to
 * the first port that used it until it ages out or that port leaves; a
 * frame from another port claiming it is a spoof and is dropped), counted
 * against a **per-port MAC limit** (so a client cannot fill the table by
 * rotating source addresses), **learned**, and **forwarded**: to the port
 * that owns the destination, or flooded to every other port when the
 * destination is unknown, broadcast or multicast. The MAC table is bounded
 * (`maxMacs`) and entries age out after `agingMs` without traffic.
 *
 * The switch is host-agnostic: ports are sinks (`deliver(frame) → bool`),
 * time comes from the injected clock, and nothing here does I/O. Every drop
 * is counted per port and in total; nothing throws on bad input.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";

/** Smallest frame accepted: an Ethernet header. */
export const MIN_FRAME = ETHERNET_HEADER_LENGTH;
/** Largest frame accepted: 1500 bytes of payload, header and one 802.1Q tag. */
export const MAX_FRAME = 1518;

/** Where a port's outgoing frames go. */
export interface PortSink {
  /**
   * Send the frame `bytes[offset … offset + length)` out of this port.
   * Return false when it had to be dropped (queue full, port closing); the
   * switch counts it. The bytes are valid during the call only (they may be
   * a receive buffer that is reused): a sink that keeps the frame copies it.
   */
  deliver(bytes: Uint8Array, offset: number, length: number): boolean;
}

/** The counters of {@link PortStats} as a plain object. */
export interface PortCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  dropMalformed: number;
  dropSpoof: number;
  dropRate: number;
  dropMacLimit: number;
  dropQueue: number;
}

/** Per-port counters. */
export class PortStats {
  /** Frames accepted from this port. */
  rxFrames = 0;
  rxBytes = 0;
  /** Frames sent out of this port. */
  txFrames = 0;
  txBytes = 0;
  /** Dropped on ingress: bad length or source MAC. */
  dropMalformed = 0;
  /** Dropped on ingress: source MAC owned by another port. */
  dropSpoof = 0;
  /** Dropped on ingress: over the port's rate. */
  dropRate = 0;
  /** Dropped on ingress: a new source MAC beyond the port's MAC limit (or a full table). */
  dropMacLimit = 0;
  /** Dropped on egress: the port's queue was full. */
  dropQueue = 0;

  /** Sum of the drop counters. */
  get dropped(): number {
    return this.dropMalformed + this.dropSpoof + this.dropRate + this.dropMacLimit +
      this.dropQueue;
  }

  /** Add another port's counters (totals over departed ports). */
  add(o: PortStats): void {
    this.rxFrames += o.rxFrames;
    this.rxBytes += o.rxBytes;
    this.txFrames += o.txFrames;
    this.txBytes += o.txBytes;
    this.dropMalformed += o.dropMalformed;
    this.dropSpoof += o.dropSpoof;
    this.dropRate += o.dropRate;
    this.dropMacLimit += o.dropMacLimit;
    this.dropQueue += o.dropQueue;
  }

  /** A plain copy (for logs and JSON). */
  toJSON(): PortCounters {
    return {
      rxFrames: this.rxFrames,
      rxBytes: this.rxBytes,
      txFrames: this.txFrames,
      txBytes: this.txBytes,
      dropMalformed: this.dropMalformed,
      dropSpoof: this.dropSpoof,
      dropRate: this.dropRate,
      dropMacLimit: this.dropMacLimit,
      dropQueue: this.dropQueue,
    };
  }
}

/** Options for {@link EthernetSwitch.addPort}. */
export interface PortOptions {
  /** Name for logs (`client 3 127.0.0.1:50412`, `tap nw0`). */
  name?: string;
  /** Frames per second this port may send; 0 = unlimited (default: the switch's). */
  ratePps?: number;
  /** Token-bucket depth in frames (default: the switch's). */
  burst?: number;
  /** Source MACs this port may own at once (default: the switch's). */
  maxMacs?: number;
}

/** A switch port. */
export class SwitchPort {
  readonly id: number;
  readonly name: string;
  readonly stats: PortStats = new PortStats();
  readonly ratePps: number;
  readonly burst: number;
  readonly maxMacs: number;
  /** Source MACs currently bound to this port. */
  macs = 0;
  /** True once removed from its switch. */
  removed = false;
  readonly sink: PortSink;
  tokens: number;
  lastRefill: number;

  /** @internal use {@link EthernetSwitch.addPort}. */
  constructor(
    id: number,
    sink: PortSink,
    o: { name: string; ratePps: number; burst: number; maxMacs: number; now: number },
  ) {
    this.id = id;
    this.sink = sink;
    this.name = o.name;
    this.ratePps = o.ratePps;
    this.burst = o.burst;
    this.maxMacs = o.maxMacs;
    this.tokens = o.burst;
    this.lastRefill = o.now;
  }
}

/** Options for {@link EthernetSwitch}. */
export interface SwitchOptions {
  /** Time source for aging and rate limits. */
  clock: Clock;
  /** MAC entries expire after this long without a frame from them, ms (default 300 000). */
  agingMs?: number;
  /** MAC table bound (default 4096). */
  maxMacs?: number;
  /** Default frames per second per port; 0 = unlimited (default 0). */
  ratePps?: number;
  /** Default token-bucket depth in frames (default max(64, rate / 10)). */
  burst?: number;
  /** Default source MACs per port (default 4). */
  maxMacsPerPort?: number;
}

/** What {@link EthernetSwitch.receive} did with a frame. */
export const Forward = {
  /** Sent to the one port that owns the destination. */
  UNICAST: 0,
  /** Flooded to every other port. */
  FLOOD: 1,
  /** Destination is on the ingress port: filtered (not an error). */
  FILTERED: 2,
  /** Dropped on ingress (see the port's counters). */
  DROPPED: 3,
} as const;
/** One of the {@link Forward} values. */
export type Forward = typeof Forward[keyof typeof Forward];

/** Totals over the switch. */
export class SwitchStats {
  unicast = 0;
  flooded = 0;
  filtered = 0;
  /** Entries removed by aging. */
  aged = 0;
}

interface MacEntry {
  port: SwitchPort;
  seen: number;
}

/** Read a MAC at `at` as a 48-bit integer. */
export function readMac(f: Uint8Array, at: number): number {
  return ((f[at]! << 8) | f[at + 1]!) * 4294967296 +
    (((f[at + 2]! << 24) | (f[at + 3]! << 16) | (f[at + 4]! << 8) | f[at + 5]!) >>> 0);
}

/**
 * A learning switch with port security.
 *
 * @example
 * ```ts
 * import { EthernetSwitch } from "./switch.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * const sw = new EthernetSwitch({ clock: new VirtualClock(), ratePps: 1000 });
 * const got: Uint8Array[] = [];
 * const a = sw.addPort({ deliver: () => true }, { name: "a" });
 * sw.addPort({ deliver: (f, at, n) => got.push(f.slice(at, at + n)) > 0 }, { name: "b" });
 * const frame = new Uint8Array(60).fill(0xff, 0, 6); // broadcast
 * frame.set([2, 0, 0, 0, 0, 1], 6);
 * sw.receive(a, frame); // Forward.FLOOD: b got it
 * ```
 */
export class EthernetSwitch {
  readonly stats: SwitchStats = new SwitchStats();
  /** Counters of ports that have left, summed. */
  readonly departed: PortStats = new PortStats();
  readonly agingMs: number;
  readonly maxMacs: number;
  readonly clock: Clock;
  #ports: SwitchPort[] = [];
  #nextId = 1;
  #table = new Map<number, MacEntry>();
  #defaults: { ratePps: number; burst: number | undefined; maxMacs: number };

  constructor(options: SwitchOptions) {
    this.clock = options.clock;
    this.agingMs = options.agingMs ?? 300_000;
    this.maxMacs = options.maxMacs ?? 4096;
    this.#defaults = {
      ratePps: options.ratePps ?? 0,
      burst: options.burst,
      maxMacs: options.maxMacsPerPort ?? 4,
    };
  }

  /** Ports currently attached. */
  get ports(): readonly SwitchPort[] {
    return this.#ports;
  }

  /** Entries in the MAC table (some may be expired until the next sweep). */
  get macTableSize(): number {
    return this.#table.size;
  }

  /** Attach a port. */
  addPort(sink: PortSink, options: PortOptions = {}): SwitchPort {
    const id = this.#nextId++;
    const ratePps = options.ratePps ?? this.#defaults.ratePps;
    const port = new SwitchPort(id, sink, {
      name: options.name ?? `port ${id}`,
      ratePps,
      burst: options.burst ?? this.#defaults.burst ?? Math.max(64, Math.ceil(ratePps / 10)),
      maxMacs: options.maxMacs ?? this.#defaults.maxMacs,
      now: this.clock.now(),
    });
    this.#ports.push(port);
    return port;
  }

  /** Detach a port; its MAC entries are forgotten at once. */
  removePort(port: SwitchPort): void {
    const i = this.#ports.indexOf(port);
    if (i < 0) return;
    this.#ports.splice(i, 1);
    port.removed = true;
    for (const [mac, e] of this.#table) if (e.port === port) this.#table.delete(mac);
    port.macs = 0;
    this.departed.add(port.stats);
  }

  /** The port owning `mac` (a live, unexpired entry), if any. */
  lookup(mac: number): SwitchPort | undefined {
    const e = this.#table.get(mac);
    if (e === undefined || this.clock.now() - e.seen > this.agingMs) return undefined;
    return e.port;
  }

  /** MACs bound to `port` (a table scan, bounded by the table size; for logs). */
  macsOf(port: SwitchPort): number[] {
    const out: number[] = [];
    for (const [mac, e] of this.#table) if (e.port === port) out.push(mac);
    return out;
  }

  /** Remove expired entries; returns how many. Bounded by the table size. */
  sweep(): number {
    const now = this.clock.now();
    let n = 0;
    for (const [mac, e] of this.#table) {
      if (now - e.seen > this.agingMs) {
        this.#table.delete(mac);
        e.port.macs--;
        n++;
      }
    }
    this.stats.aged += n;
    return n;
  }

  /**
   * A frame arrived on `port`: `frame[offset … offset + length)` (default:
   * all of `frame`). Validates, polices, learns and forwards it; never
   * throws for bad input. The bytes are handed to the sinks during the call
   * and not kept.
   */
  receive(
    port: SwitchPort,
    frame: Uint8Array,
    offset = 0,
    length: number = frame.length - offset,
  ): Forward {
    const st = port.stats;
    const len = length;
    if (port.removed) return Forward.DROPPED;
    if (len < MIN_FRAME || len > MAX_FRAME || offset < 0 || offset + len > frame.length) {
      st.dropMalformed++;
      return Forward.DROPPED;
    }
    // Source: unicast (I/G bit clear, which also rules out broadcast) and not zero.
    const src = readMac(frame, offset + 6);
    if ((frame[offset + 6]! & 1) !== 0 || src === 0) {
      st.dropMalformed++;
      return Forward.DROPPED;
    }
    const now = this.clock.now();
    if (port.ratePps > 0 && !this.#take(port, now)) {
      st.dropRate++;
      return Forward.DROPPED;
    }
    // Port security and learning.
    const e = this.#table.get(src);
    if (e !== undefined && e.port !== port && now - e.seen <= this.agingMs) {
      st.dropSpoof++;
      return Forward.DROPPED;
    }
    if (e !== undefined && e.port === port) {
      e.seen = now;
    } else {
      if (e !== undefined) {
        // Expired entry of another port: the address is free again.
        e.port.macs--;
        this.#table.delete(src);
        this.stats.aged++;
      }
      if (port.macs >= port.maxMacs || (this.#table.size >= this.maxMacs && this.sweep() === 0)) {
        st.dropMacLimit++;
        return Forward.DROPPED;
      }
      this.#table.set(src, { port, seen: now });
      port.macs++;
    }
    st.rxFrames++;
    st.rxBytes += len;
    // Destination: group addresses (I/G bit set, broadcast included) flood.
    if ((frame[offset]! & 1) === 0) {
      const d = this.#table.get(readMac(frame, offset));
      if (d !== undefined && now - d.seen <= this.agingMs) {
        if (d.port === port) {
          this.stats.filtered++;
          return Forward.FILTERED;
        }
        this.stats.unicast++;
        this.#out(d.port, frame, offset, len);
        return Forward.UNICAST;
      }
    }
    this.stats.flooded++;
    const ports = this.#ports;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p !== port) this.#out(p, frame, offset, len);
    }
    return Forward.FLOOD;
  }

  #out(p: SwitchPort, frame: Uint8Array, offset: number, len: number): void {
    let ok = false;
    try {
      ok = p.sink.deliver(frame, offset, len);
    } catch {
      ok = false;
    }
    if (ok) {
      p.stats.txFrames++;
      p.stats.txBytes += len;
    } else {
      p.stats.dropQueue++;
    }
  }

  /** Token bucket: refill by elapsed time, take one. */
  #take(port: SwitchPort, now: number): boolean {
    const elapsed = now - port.lastRefill;
    if (elapsed > 0) {
      port.tokens = Math.min(port.burst, port.tokens + (elapsed * port.ratePps) / 1000);
      port.lastRefill = now;
    }
    if (port.tokens < 1) return false;
    port.tokens -= 1;
    return true;
  }
}
