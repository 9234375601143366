/**
 * The virtual-time test kit: {@link simulate} builds a {@link Network} of
 * stacks joined by seeded, impaired in-memory links on one virtual clock,
 * and drives that clock while a test awaits. Everything is deterministic
 * from the seed and no host timer is involved: a 40 ms link costs no real
 * time.
 *
 * How time moves. While an operation of the network's stacks is pending
 * (`connect()`, `read()`, `accept()`, `ping()`… on a ref'd object) or a
 * {@link Network.run} is waiting, the network steps its clock: it lets every
 * promise continuation run (one host macrotask), then runs the tasks due now
 * or jumps to the next timer. So plain `await conn.read(buf)` works; wrap an
 * await in `net.run(…)` to have it fail with a clear error, instead of Deno's
 * "Promise resolution is still pending but the event loop has already
 * resolved", when it can never settle (nothing scheduled: a deadlock) or has
 * not settled after `maxMs` of virtual time. Do not mix awaited host I/O
 * with awaited simulation work: the clock moves whenever the network waits.
 *
 * @example
 * ```ts
 * import { simulate } from "./network.ts";
 * await using net = simulate({ seed: 1 });
 * const [client, server] = net.pair({ delay: 40, loss: 0.05, reorder: 0.1 });
 * const listener = server.listen({ port: 80 });
 * const [conn, peer] = await net.run(
 *   Promise.all([client.connect({ hostname: "192.0.2.2", port: 80 }), listener.accept()]),
 * );
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
 * const buf = new Uint8Array(64);
 * const n = await net.run(peer.read(buf)); // 18 bytes, about 40 ms of virtual time later
 * ```
 *
 * @module
 */
import { holdProcess, type Timer, VirtualClock } from "../core/clock.ts";
import { SeededRandom } from "../core/random.ts";
import type { ImpairmentConfig } from "../link/impair.ts";
import { createPipe, type PipeDevice } from "../link/pipe.ts";
import type { Iface } from "../ipv4/iface.ts";
import { Arena } from "../skb/arena.ts";
import { Stack, type StackOptions } from "../api/stack.ts";
import { formatSocketTable } from "../socket/socket_info.ts";
import { formatIpv4 } from "../wire/addr.ts";
import { formatIpv6, parseIpv6Address } from "../wire/addr6.ts";

/**
 * Options for {@link simulate}.
 *
 * @example
 * ```ts
 * import type { SimulateOptions } from "./network.ts";
 * const o: SimulateOptions = { seed: 42, maxMs: 60_000 };
 * ```
 */
export interface SimulateOptions {
  /** Seed of every random choice: stacks' ISNs and ports, links' losses (default 1). */
  seed?: number;
  /** Virtual time a {@link Network.run} may take before it fails (default 600 000 ms). */
  maxMs?: number;
  /** Options every stack of the network gets (clock, arena and random are the network's). */
  stack?: Omit<StackOptions, "clock" | "arena" | "random">;
}

/**
 * A link between two stacks: impairments of both directions (the fields of
 * `ImpairmentConfig`: `delay`, `loss`, `reorder`, `jitter`, `rate`, …), with
 * per-direction overrides and the interface addresses.
 *
 * @example
 * ```ts
 * import type { LinkOptions } from "./network.ts";
 * const wan: LinkOptions = { delay: 40, loss: 0.02, bToA: { rate: 10_000_000 } };
 * ```
 */
export interface LinkOptions extends Omit<ImpairmentConfig, "mtu"> {
  /**
   * `ADDRESS/PREFIX` of the two ends (default: the next free test network,
   * 192.0.2.1/24 and 192.0.2.2/24 first, then 198.51.100.0/24, 203.0.113.0/24,
   * 10.0.N.0/24). IPv6 ones (`2001:db8::1/64`) give an IPv6-only link;
   * their duplicate address detection takes about a second of virtual time.
   */
  addresses?: readonly [string, string];
  /** Impairments of a → b only, over the common ones. */
  aToB?: ImpairmentConfig;
  /** Impairments of b → a only, over the common ones. */
  bToA?: ImpairmentConfig;
  /** Interface MTU of both ends (default 1500). */
  mtu?: number;
}

/**
 * One link of a {@link Network}.
 *
 * @example
 * ```ts
 * import { simulate } from "./network.ts";
 * const net = simulate();
 * const link = net.link(net.stack(), net.stack(), { delay: 5 });
 * link.addresses; // ["192.0.2.1", "192.0.2.2"]
 * ```
 */
export interface SimLink {
  /** The two stacks, in the order given. */
  readonly stacks: readonly [Stack, Stack];
  /** The two ends' devices (counters: `devices[0].wire.stats`). */
  readonly devices: readonly [PipeDevice, PipeDevice];
  /** The two ends' interfaces. */
  readonly interfaces: readonly [Iface, Iface];
  /** The two ends' addresses, without prefix. */
  readonly addresses: readonly [string, string];
}

/**
 * Options of {@link Network.run} and {@link Network.settle}.
 *
 * @example
 * ```ts
 * import type { RunOptions } from "./network.ts";
 * const o: RunOptions = { maxMs: 5_000 };
 * ```
 */
export interface RunOptions {
  /** Virtual milliseconds it may take (default: the network's `maxMs`). */
  maxMs?: number;
}

/**
 * A test waited on something that can never happen (`kind` "deadlock":
 * nothing is scheduled) or that did not happen in time (`kind` "timeout").
 * The message lists every stack's sockets.
 *
 * @example
 * ```ts
 * import { SimulationError } from "./network.ts";
 * const e = new SimulationError("deadlock", "run: nothing is scheduled");
 * e.kind; // "deadlock"
 * ```
 */
export class SimulationError extends Error {
  /** "deadlock": nothing scheduled; "timeout": `maxMs` passed. */
  readonly kind: "deadlock" | "timeout";
  /**
   * An error of `kind`.
   *
   * @param kind what went wrong
   * @param message the explanation
   */
  constructor(kind: "deadlock" | "timeout", message: string) {
    super(message);
    this.kind = kind;
  }
  /** "SimulationError". */
  override get name(): string {
    return "SimulationError";
  }
}

/** A waiting {@link Network.run} or {@link Network.settle}. */
interface Waiter {
  /** Settle when nothing is scheduled any more (settle()) rather than on a promise. */
  readonly idle: boolean;
  readonly deadline: number;
  readonly maxMs: number;
  readonly started: number;
  readonly resolve: (v: number) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * The network's clock: a {@link VirtualClock} that tells the network when
 * work is scheduled and when operations start waiting (`ref()`, the keep-
 * alive hook the stacks' blocked operations call).
 */
class SimClock extends VirtualClock {
  holds = 0;
  onActivity: () => void = () => {};

  override setTimer(delayMs: number, callback: () => void): Timer {
    const t = super.setTimer(delayMs, callback);
    this.onActivity();
    return t;
  }

  override defer(callback: () => void): void {
    super.defer(callback);
    this.onActivity();
  }

  override ref(): void {
    this.holds++;
    this.onActivity();
  }

  override unref(): void {
    if (this.holds > 0) this.holds--;
  }
}

/** The runtime's MessageChannel, captured before an npm CommonJS package may replace it. */
const WebMessageChannel: typeof MessageChannel = globalThis.MessageChannel;

/**
 * One host macrotask: resolves after every pending promise continuation has
 * run. A fresh channel each time: a reused port's next message can be
 * dispatched within the same microtask checkpoint as continuations queued
 * just before it.
 */
function hop(): Promise<void> {
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

const SUBNETS = ["192.0.2", "198.51.100", "203.0.113"] as const;

/**
 * Stacks and links on one virtual clock and packet arena; see the module
 * documentation. Made by {@link simulate}.
 *
 * @example
 * ```ts
 * import { simulate } from "./network.ts";
 * await using net = simulate({ seed: 3 });
 * const [a, b] = net.pair({ delay: 10 });
 * const reply = await net.run(a.ping("192.0.2.2"));
 * reply.rtt; // 20
 * ```
 */
export class Network implements AsyncDisposable {
  /** The virtual clock every stack and link uses. */
  readonly clock: VirtualClock;
  /** The packet arena every stack shares. */
  readonly arena: Arena;
  /** The seed. */
  readonly seed: number;
  /** Default `maxMs` of {@link run}. */
  readonly maxMs: number;
  readonly #clock: SimClock;
  readonly #stackOptions: SimulateOptions["stack"];
  readonly #stacks: Stack[] = [];
  readonly #links: SimLink[] = [];
  readonly #waiters = new Set<Waiter>();
  #driving: Promise<void> | null = null;
  #closed = false;

  /** Use {@link simulate}. */
  constructor(options: SimulateOptions = {}) {
    this.seed = options.seed ?? 1;
    this.maxMs = options.maxMs ?? 600_000;
    this.#clock = new SimClock();
    this.clock = this.#clock;
    this.arena = new Arena();
    this.#stackOptions = options.stack;
    this.#clock.onActivity = () => {
      if (this.#driving === null && (this.#waiters.size > 0 || this.#clock.holds > 0)) {
        void this.#drive();
      }
    };
  }

  /** The stacks, in creation order. */
  get stacks(): readonly Stack[] {
    return this.#stacks;
  }

  /** The links, in creation order. */
  get links(): readonly SimLink[] {
    return this.#links;
  }

  /** A new stack on the network's clock and arena (no interface but loopback yet). */
  stack(options: Omit<StackOptions, "clock" | "arena" | "random"> = {}): Stack {
    if (this.#closed) throw new Error("Network.stack: the network is closed");
    const s = new Stack({
      ...this.#stackOptions,
      ...options,
      clock: this.#clock,
      arena: this.arena,
      random: new SeededRandom(this.seed * 1000 + this.#stacks.length + 1),
    });
    this.#stacks.push(s);
    return s;
  }

  /** Join `a` and `b` with a new link (an impaired in-memory cable) and give both ends an address. */
  link(a: Stack, b: Stack, options: LinkOptions = {}): SimLink {
    const { addresses, aToB, bToA, mtu, ...impair } = options;
    const n = this.#links.length;
    const subnet = SUBNETS[n] ?? `10.0.${n - SUBNETS.length}`;
    const [cidrA, cidrB] = addresses ?? [`${subnet}.1/24`, `${subnet}.2/24`];
    const [devA, devB] = createPipe({
      allocator: a.allocator,
      clock: this.#clock,
      seed: this.seed * 1000 + 500 + n,
      names: [`sim${n}a`, `sim${n}b`],
      impair,
      ...(aToB ? { aToB } : {}),
      ...(bToA ? { bToA } : {}),
      ...(mtu !== undefined ? { mtu } : {}),
    });
    const ifA = a.addInterface(devA, { address: cidrA });
    const ifB = b.addInterface(devB, { address: cidrB });
    const link: SimLink = {
      stacks: [a, b],
      devices: [devA, devB],
      interfaces: [ifA, ifB],
      addresses: [addressText(cidrA, ifA), addressText(cidrB, ifB)],
    };
    this.#links.push(link);
    return link;
  }

  /**
   * Two new stacks on one new link ({@link link}): on the network's first
   * link the first one is 192.0.2.1 and the second 192.0.2.2.
   */
  pair(options: LinkOptions = {}): [Stack, Stack] {
    const a = this.stack();
    const b = this.stack();
    this.link(a, b, options);
    return [a, b];
  }

  /**
   * Await `work` (a promise, or a function returning one) while driving
   * virtual time. Rejects with a {@link SimulationError} when it can never
   * settle (nothing is scheduled: "deadlock") or has not settled after
   * `maxMs` of virtual time ("timeout").
   */
  run<T>(work: Promise<T> | (() => Promise<T>), options: RunOptions = {}): Promise<T> {
    let promise: Promise<T>;
    try {
      promise = typeof work === "function" ? work() : work;
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => {
      const w = this.#waiter(false, options, () => {}, reject);
      promise.then(
        (v) => {
          this.#waiters.delete(w);
          resolve(v);
        },
        (e) => {
          this.#waiters.delete(w);
          reject(e);
        },
      );
    });
  }

  /**
   * Drive virtual time until nothing is scheduled any more (every timer has
   * fired: retransmissions given up, TIME-WAIT over); resolves with the
   * virtual milliseconds that took. Rejects with a "timeout"
   * {@link SimulationError} if timers keep coming for `maxMs`.
   */
  settle(options: RunOptions = {}): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#waiter(true, options, resolve, reject);
    });
  }

  /** A promise resolved `ms` of virtual time from now (it keeps the network's time moving). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = holdProcess(this.#clock);
      this.#clock.setTimer(ms, () => {
        release();
        resolve();
      });
    });
  }

  /** Every stack's sockets, as a table per stack (what the errors show). */
  describe(): string {
    const parts = this.#stacks.map((s, i) => {
      const addrs = s.interfaces.filter((f) => !f.loopback).map((f) => formatIpv4(f.address));
      const rows = s.sockets.list();
      const table = rows.length === 0 ? "  (no sockets)" : indent(formatSocketTable(rows));
      return `stack ${i + 1} (${addrs.join(", ") || "no interfaces"}):\n${table}`;
    });
    return parts.join("\n");
  }

  /**
   * Close every stack, run the clock until nothing is scheduled (TIME-WAIT
   * and other timers end), and check that every packet buffer went back to
   * the arena: a leak is an error. Closing twice is a no-op.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#stacks) await s.close();
    this.#clock.runUntilIdle(this.maxMs);
    for (const w of this.#waiters) {
      this.#waiters.delete(w);
      w.reject(new Error("Network closed while a run() was waiting"));
    }
    // Nothing waits any more: the stepping loop ends at its next step.
    await this.#driving;
    if (this.arena.inUse !== 0) {
      throw new Error(`Network.close: ${this.arena.inUse} packet buffers were never freed (leak)`);
    }
  }

  /** {@link close} (`await using net = simulate()`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #waiter(
    idle: boolean,
    options: RunOptions,
    resolve: (v: number) => void,
    reject: (e: unknown) => void,
  ): Waiter {
    const maxMs = options.maxMs ?? this.maxMs;
    const started = this.#clock.now();
    const w: Waiter = { idle, deadline: started + maxMs, maxMs, started, resolve, reject };
    this.#waiters.add(w);
    void this.#drive();
    return w;
  }

  /**
   * Step the clock while anything waits: a macrotask (continuations run),
   * then the tasks due now, else a jump to the next timer. One loop at a
   * time; it stops when nothing waits, or goes dormant when nothing is
   * scheduled (new work wakes it).
   */
  #drive(): Promise<void> {
    if (this.#driving !== null) return this.#driving;
    this.#driving = this.#loop();
    return this.#driving;
  }

  async #loop(): Promise<void> {
    const clock = this.#clock;
    try {
      for (;;) {
        await hop();
        if (this.#waiters.size === 0 && clock.holds === 0) return;
        if (clock.flush() > 0) continue;
        const next = clock.nextDeadline();
        if (next === undefined) {
          this.#settleIdle();
          const failed = this.#fail("deadlock", (w) => !w.idle);
          if (this.#waiters.size === 0) {
            // Dormant: operations still wait, on something outside the
            // simulation or on nothing at all. New work wakes the loop.
            if (clock.holds > 0 && failed === 0 && !this.#closed) {
              warnDormant(clock.now(), clock.holds);
            }
            return;
          }
          continue;
        }
        let limit = Infinity;
        for (const w of this.#waiters) limit = Math.min(limit, w.deadline);
        if (next > limit) {
          clock.advance(limit - clock.now());
          this.#fail("timeout", (w) => w.deadline <= clock.now());
          continue;
        }
        clock.advance(next - clock.now());
      }
    } finally {
      this.#driving = null;
    }
  }

  #settleIdle(): void {
    for (const w of this.#waiters) {
      if (!w.idle) continue;
      this.#waiters.delete(w);
      w.resolve(this.#clock.now() - w.started);
    }
  }

  /** Reject the waiters `which` picks; returns how many. */
  #fail(kind: "deadlock" | "timeout", which: (w: Waiter) => boolean): number {
    const now = this.#clock.now();
    let n = 0;
    for (const w of this.#waiters) {
      if (!which(w)) continue;
      this.#waiters.delete(w);
      n++;
      const what = w.idle ? "settle()" : "run()";
      const why = kind === "deadlock"
        ? `${what}: at t=${now} ms the awaited promise is still pending and nothing is ` +
          "scheduled (no timer, no packet in flight, no task): it can never settle. " +
          "Is it waiting for something no one will do (accept() with no client, read() " +
          "from a peer that never writes, a reply to a packet that was never sent)?"
        : w.idle
        ? `settle(): timers were still being scheduled after ${w.maxMs} ms of virtual time ` +
          `(t=${now} ms): something keeps re-arming (a periodic timer, a retry loop)`
        : `run(): still pending after ${w.maxMs} ms of virtual time (t=${now} ms); ` +
          "raise maxMs if it legitimately takes longer";
      w.reject(new SimulationError(kind, `${why}\n${this.describe()}`));
    }
    return n;
  }
}

function warnDormant(t: number, holds: number): void {
  console.error(
    `netwasm simulate(): at t=${t} ms ${holds} operation(s) wait but nothing is scheduled; ` +
      "unless something outside the simulation will wake them, they never complete " +
      "(await them through net.run() to get this as an error with the socket tables)",
  );
}

/** A link end's address as text: IPv4 from the interface, IPv6 as given (canonical). */
function addressText(cidr: string, iface: Iface): string {
  const text = cidr.split("/")[0]!;
  return text.includes(":") ? formatIpv6(parseIpv6Address(text)) : formatIpv4(iface.address);
}

function indent(s: string): string {
  return s.split("\n").map((l) => `  ${l}`).join("\n");
}

/**
 * A new {@link Network}: stacks, links and impairments on one virtual
 * clock, seeded.
 *
 * @example
 * ```ts
 * import { simulate } from "./network.ts";
 * await using net = simulate({ seed: 7 });
 * const [a, b] = net.pair({ delay: 20, loss: 0.01 });
 * const server = b.listen({ port: 7 });
 * const conn = await net.run(a.connect({ hostname: "192.0.2.2", port: 7 }));
 * conn.close();
 * server.close();
 * ```
 */
export function simulate(options: SimulateOptions = {}): Network {
  return new Network(options);
}
