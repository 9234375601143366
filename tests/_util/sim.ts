/**
 * Two (or more) stacks on virtual time joined by seeded impaired pipes: the
 * simulation tier. Everything is deterministic from the seed.
 *
 * @module
 */
import { VirtualClock } from "../../src/core/clock.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { createPipe, type PipeDevice } from "../../src/link/pipe.ts";
import type { ImpairmentConfig } from "../../src/link/impair.ts";
import { Arena, type SizeClassConfig } from "../../src/skb/arena.ts";
import { Stack, type StackOptions } from "../../src/api/stack.ts";
import type { EngineChoice } from "../../src/wasm/bindings.ts";

/** A pair of stacks, A = 192.0.2.1/24 and B = 192.0.2.2/24, on one pipe. */
export interface Pair {
  clock: VirtualClock;
  arena: Arena;
  a: Stack;
  b: Stack;
  devA: PipeDevice;
  devB: PipeDevice;
  /** Close both stacks and check nothing leaked from the arena. */
  close(): Promise<void>;
}

/** Options for {@link pair}. */
export interface PairOptions {
  seed?: number;
  impair?: ImpairmentConfig;
  aToB?: ImpairmentConfig;
  bToA?: ImpairmentConfig;
  mtu?: number;
  /**
   * Device features of the pipe (default 0: frames cross as on a real wire,
   * which is what segment-level tests examine; `DeviceFeature.TSO` lets TCP
   * super-segments cross whole, the pipe's own default).
   */
  features?: number;
  engine?: EngineChoice;
  /** Arena size classes (default: the arena's defaults). */
  arenaClasses?: readonly SizeClassConfig[];
  a?: Partial<StackOptions>;
  b?: Partial<StackOptions>;
}

/**
 * Build a pair of stacks on a shared arena and virtual clock.
 *
 * @example
 * ```ts
 * import { pair } from "./sim.ts";
 * const p = pair({ seed: 1 });
 * // await p.a.ping("192.0.2.2") while p.clock advances …
 * await p.close();
 * ```
 */
export function pair(o: PairOptions = {}): Pair {
  const clock = new VirtualClock();
  const arena = new Arena(o.arenaClasses !== undefined ? { classes: o.arenaClasses } : {});
  const seed = o.seed ?? 1;
  const a = new Stack({
    clock,
    arena,
    random: new SeededRandom(seed * 2 + 1),
    ...(o.engine ? { engine: o.engine } : {}),
    ...o.a,
  });
  const b = new Stack({
    clock,
    arena,
    random: new SeededRandom(seed * 2 + 2),
    ...(o.engine ? { engine: o.engine } : {}),
    ...o.b,
  });
  const [devA, devB] = createPipe({
    allocator: a.allocator,
    clock,
    seed,
    ...(o.mtu ? { mtu: o.mtu } : {}),
    features: o.features ?? 0,
    ...(o.impair ? { impair: o.impair } : {}),
    ...(o.aToB ? { aToB: o.aToB } : {}),
    ...(o.bToA ? { bToA: o.bToA } : {}),
  });
  a.addInterface(devA, { address: "192.0.2.1/24" });
  b.addInterface(devB, { address: "192.0.2.2/24" });
  const baseline = arena.inUse;
  return {
    clock,
    arena,
    a,
    b,
    devA,
    devB,
    async close() {
      await a.close();
      await b.close();
      clock.runUntilIdle(600_000);
      if (arena.inUse !== 0) {
        throw new Error(`arena leak: ${arena.inUse} slots still in use (baseline ${baseline})`);
      }
    },
  };
}

/** The runtime's MessageChannel, captured before any npm CommonJS package can replace it. */
const WebMessageChannel: typeof MessageChannel = globalThis.MessageChannel;

/**
 * Yield one macrotask so every pending promise continuation runs (a
 * MessageChannel hop: unlike nested `setTimeout(0)` it is never clamped to 4 ms).
 */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new WebMessageChannel();
    port1.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(0);
  });
}

/**
 * Step virtual time until `promise` settles, letting promise continuations
 * run between steps; throws if nothing is scheduled while it is still
 * pending (a hang) or after `maxMs` of virtual time.
 */
export async function settle<T>(
  clock: VirtualClock,
  promise: Promise<T>,
  maxMs = 600_000,
): Promise<T> {
  let done = false;
  const p = promise.finally(() => {
    done = true;
  });
  p.catch(() => {}); // observed below; avoid an unhandled-rejection report meanwhile
  const deadline = clock.now() + maxMs;
  for (;;) {
    await macrotask();
    if (done) break;
    if (clock.flush() > 0) continue;
    const next = clock.nextDeadline();
    if (next === undefined) {
      throw new Error("settle: nothing scheduled but the promise is still pending");
    }
    if (next > deadline) throw new Error(`settle: still pending after ${maxMs} ms of virtual time`);
    clock.advance(next - clock.now());
  }
  return await p;
}
