/**
 * An in-memory Ethernet "cable": two devices joined by a simulated wire, each
 * direction an {@link ImpairedChannel} with its own seeded impairments
 * (loss, duplication, reordering, delay and jitter, corruption, rate limit
 * with a tail-drop queue, wire MTU, blackouts). Two stacks on the two ends
 * talk to each other on virtual time, reproducibly from one seed — the
 * simulation tier of the tests (tests/_util/sim.ts, the `./testing` entry point).
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { type RandomSource, SeededRandom } from "../core/random.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import { BaseDevice, DeviceFeature, type DeviceOptions, type Xmit } from "./device.ts";
import { ImpairedChannel, type ImpairmentConfig } from "./impair.ts";

/** Options for {@link createPipe}. */
export interface PipeOptions {
  /** Allocator of the arena both ends share. */
  readonly allocator: SkbAllocator;
  /** Time source for arrivals and tap timestamps. */
  readonly clock: Clock;
  /** Seed of the impairment randomness (default 0); ignored when `rng` is given. */
  readonly seed?: number;
  /** Source the two directions' streams are derived from (read twice, at construction). */
  readonly rng?: RandomSource;
  /** Interface names (default `["pipe0a", "pipe0b"]`). */
  readonly names?: readonly [string, string];
  /** MAC addresses (default 02:00:00:00:00:01 and 02:00:00:00:00:02). */
  readonly macs?: readonly [number, number];
  /** Device MTU of both ends (default 1500); the wire's own MTU is an impairment. */
  readonly mtu?: number;
  /**
   * Receive queue bound of both ends in frames (default
   * {@link PIPE_RX_QUEUE_LIMIT}). Larger than a NIC's `netdev_max_backlog`
   * (1000): Linux processes a loopback or veth frame right after the
   * syscall that sent it, while here a program's synchronous loop (10,000
   * `connect()` calls) sends its whole burst before the receiver's softnet
   * runs. The arena bounds the memory either way.
   */
  readonly rxQueueLimit?: number;
  /**
   * Feature bits of both ends (default `DeviceFeature.TSO`: TCP segments up
   * to 64 KiB cross whole, as over veth, unless the wire impairs frames one
   * by one; 0 turns it off).
   */
  readonly features?: number;
  /** Impairments of both directions. */
  readonly impair?: ImpairmentConfig;
  /** Impairments of a → b, merged over `impair`. */
  readonly aToB?: ImpairmentConfig;
  /** Impairments of b → a, merged over `impair`. */
  readonly bToA?: ImpairmentConfig;
}

/**
 * One end of a pipe. Transmit puts the frame on this end's outgoing
 * {@link ImpairedChannel} (`wire`); the peer's `netifRx` receives it.
 *
 * `down()` keeps the wire: frames arriving at a down end are dropped and
 * freed on arrival (counted in the channel's `downDropped`). `close()` on
 * either end unplugs the cable: both directions' timers are cancelled and
 * every frame on the wire is freed.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { createPipe } from "./pipe.ts";
 * const clock = new VirtualClock();
 * const [a, b] = createPipe({
 *   allocator: new SkbAllocator(new Arena()), clock, seed: 7,
 *   aToB: { delay: 2, loss: 0.01 },
 * });
 * a.up(); b.up();
 * a.transmit(a.allocator.fromBytes(new Uint8Array(60))!);
 * clock.advance(2);
 * b.poll(64, (skb) => skb.free()); // 1 (or 0 if lost)
 * a.wire.stats.sent; // 1
 * ```
 */
export class PipeDevice extends BaseDevice {
  #peer: PipeDevice | null = null;
  #wire: ImpairedChannel | null = null;

  /** Use {@link createPipe}; a lone end has no wire and drops everything. */
  constructor(options: DeviceOptions) {
    super(options);
  }

  /** The other end. */
  get peer(): PipeDevice {
    if (this.#peer === null) throw new TypeError(`Device ${this.name} is not part of a pipe`);
    return this.#peer;
  }

  /** This end's outgoing direction (its `stats` are the per-impairment counters). */
  get wire(): ImpairedChannel {
    if (this.#wire === null) throw new TypeError(`Device ${this.name} is not part of a pipe`);
    return this.#wire;
  }

  /** Put the frame on this end's outgoing channel. */
  protected override hardStartXmit(skb: SkBuff): Xmit {
    const wire = this.#wire;
    if (wire === null) throw new TypeError(`Device ${this.name} is not part of a pipe`);
    return wire.send(skb);
  }

  /** Close this end; frames in flight are dropped. */
  override close(): void {
    this.down();
    this.#wire?.close();
    const peer = this.#peer;
    if (peer !== null) peer.#wire?.close();
  }

  /** Join two ends (what {@link createPipe} does). */
  static connect(
    a: PipeDevice,
    b: PipeDevice,
    options: {
      allocator: SkbAllocator;
      clock: Clock;
      rng: RandomSource;
      aToB: ImpairmentConfig;
      bToA: ImpairmentConfig;
    },
  ): void {
    if (a.#peer !== null || b.#peer !== null || a === b) {
      throw new TypeError(`Cannot connect ${a.name} and ${b.name}: already part of a pipe`);
    }
    // Each direction gets its own derived source, drawn in a fixed order, so
    // impairing one direction never shifts the other's random sequence.
    const rngAB = new SeededRandom(options.rng.nextU32());
    const rngBA = new SeededRandom(options.rng.nextU32());
    const { allocator, clock } = options;
    a.#wire = new ImpairedChannel({
      allocator,
      clock,
      receiver: b,
      rng: rngAB,
      config: options.aToB,
    });
    b.#wire = new ImpairedChannel({
      allocator,
      clock,
      receiver: a,
      rng: rngBA,
      config: options.bToA,
    });
    a.#peer = b;
    b.#peer = a;
  }
}

/** Default receive queue bound of a pipe end, in frames (see {@link PipeOptions.rxQueueLimit}). */
export const PIPE_RX_QUEUE_LIMIT = 16384;

/**
 * Two Ethernet devices joined by a simulated wire with seeded impairments per
 * direction. Both start down; call `up()` on each.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { createPipe } from "./pipe.ts";
 * const [a, b] = createPipe({
 *   allocator: new SkbAllocator(new Arena()),
 *   clock: new VirtualClock(),
 *   seed: 42,
 *   impair: { delay: 10, jitter: 2, loss: 0.05, reorder: 0.01 },
 *   bToA: { rate: 1_000_000, queueLimit: 50 },
 * });
 * a.up();
 * b.up();
 * ```
 */
export function createPipe(options: PipeOptions): [PipeDevice, PipeDevice] {
  const names = options.names ?? ["pipe0a", "pipe0b"];
  const macs = options.macs ?? [0x02_00_00_00_00_01, 0x02_00_00_00_00_02];
  const common = {
    allocator: options.allocator,
    clock: options.clock,
    ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
    rxQueueLimit: options.rxQueueLimit ?? PIPE_RX_QUEUE_LIMIT,
    features: options.features ?? DeviceFeature.TSO,
  };
  const a = new PipeDevice({ ...common, name: names[0], mac: macs[0] });
  const b = new PipeDevice({ ...common, name: names[1], mac: macs[1] });
  PipeDevice.connect(a, b, {
    allocator: options.allocator,
    clock: options.clock,
    rng: options.rng ?? new SeededRandom(options.seed ?? 0),
    aToB: { ...options.impair, ...options.aToB },
    bToA: { ...options.impair, ...options.bToA },
  });
  return [a, b];
}
