/**
 * The demo's network: three stacks on one virtual clock and one arena,
 * joined by seeded impaired pipes, and a driver that moves virtual time
 * forward while the demo awaits something.
 *
 * ```
 *   server 192.0.2.2 ──lan── 192.0.2.1 client 198.51.100.1 ──wan── 198.51.100.2 far
 * ```
 *
 * There is no router in the stack yet, so the client is multi-homed: one
 * interface on each link.
 *
 * @module
 */
import { Stack } from "../api/stack.ts";
import { VirtualClock } from "../core/clock.ts";
import { SeededRandom } from "../core/random.ts";
import type { ImpairmentConfig } from "../link/impair.ts";
import { createPipe, type PipeDevice } from "../link/pipe.ts";
import { Arena } from "../skb/arena.ts";

/** One simulated host. */
export interface DemoHost {
  /** "client", "server" or "far". */
  readonly name: string;
  /** Its stack (virtual clock, seeded randomness, shared arena). */
  readonly stack: Stack;
  /** Its address with prefix on each link it is on, by link name. */
  readonly addresses: Readonly<Record<string, string>>;
  /** Its IPv6 address with prefix on each link it is on, by link name. */
  readonly addresses6: Readonly<Record<string, string>>;
}

/** One simulated cable between two hosts. */
export interface DemoLink {
  /** "lan" or "wan". */
  readonly name: string;
  /** What the impairments look like, for the screen. */
  readonly description: string;
  /** MTU of both ends. */
  readonly mtu: number;
  /** One end: its host and device (`dev.wire.stats` counts what it sent). */
  readonly a: { readonly host: DemoHost; readonly dev: PipeDevice };
  /** The other end. */
  readonly b: { readonly host: DemoHost; readonly dev: PipeDevice };
}

/** The network the demo runs on. */
export interface DemoNet {
  /** The seed everything was derived from. */
  readonly seed: number;
  /** The one virtual clock of every stack and link. */
  readonly clock: VirtualClock;
  /** The one packet arena (frames travel between stacks without copies). */
  readonly arena: Arena;
  /** On both links: 192.0.2.1 (lan) and 198.51.100.1 (wan). */
  readonly client: DemoHost;
  /** 192.0.2.2 on the lan. */
  readonly server: DemoHost;
  /** 198.51.100.2 on the wan. */
  readonly far: DemoHost;
  /** client, server, far. */
  readonly hosts: readonly DemoHost[];
  /** client ↔ server: short and nearly clean. */
  readonly lan: DemoLink;
  /** client ↔ far: long, lossy, duplicating, corrupting, MTU 1280. */
  readonly wan: DemoLink;
  /** lan, wan. */
  readonly links: readonly DemoLink[];
  /**
   * Await `promise` while moving virtual time forward, event by event.
   * Throws if nothing is scheduled while it is still pending (it would hang)
   * or after `maxMs` of virtual time.
   */
  run<T>(promise: Promise<T>, maxMs?: number): Promise<T>;
  /** Let virtual time pass (timers fire) for `ms`. */
  idle(ms: number): Promise<void>;
  /** Close every stack (and so every link); returns arena slots still in use (0 = no leak). */
  close(): Promise<number>;
}

/** Options for {@link buildDemoNet}. */
export interface DemoNetOptions {
  /**
   * Called for each link before any interface is up, so a capture started
   * here sees the very first frames (the gratuitous ARPs).
   */
  onLink?: (link: DemoLink) => void;
}

/** A LAN: short delay, a little jitter, loss and reordering. */
const LAN: ImpairmentConfig = { delay: 2, jitter: 1, loss: 0.01, reorder: 0.03, reorderDelay: 3 };
/** A WAN: longer and more variable, lossier, with duplicates and a few corrupted frames. */
const WAN: ImpairmentConfig = {
  delay: 20,
  jitter: 8,
  loss: 0.02,
  reorder: 0.05,
  reorderDelay: 15,
  duplicate: 0.02,
  corrupt: 0.04,
  corruptOffset: 14, // keep the Ethernet header: the IP/ICMP checksums catch the damage
};
const WAN_MTU = 1280;

/**
 * Build the demo network from `seed` (same seed, same run).
 *
 * @example
 * ```ts
 * import { buildDemoNet } from "./demo_net.ts";
 * const net = buildDemoNet(1);
 * await net.run(net.client.stack.ping("192.0.2.2"));
 * await net.close();
 * ```
 */
export function buildDemoNet(seed: number, options: DemoNetOptions = {}): DemoNet {
  const clock = new VirtualClock();
  const arena = new Arena();
  // Every random stream (stacks' IDs and ports, each link direction) is
  // drawn from this one, in a fixed order.
  const rng = new SeededRandom(seed);
  const stack = () => new Stack({ clock, arena, random: rng.fork() });
  const client = {
    name: "client",
    stack: stack(),
    addresses: { lan: "192.0.2.1/24", wan: "198.51.100.1/24" },
    addresses6: { lan: "2001:db8:1::1/64", wan: "2001:db8:2::1/64" },
  };
  const server = {
    name: "server",
    stack: stack(),
    addresses: { lan: "192.0.2.2/24" },
    addresses6: { lan: "2001:db8:1::2/64" },
  };
  const far = {
    name: "far",
    stack: stack(),
    addresses: { wan: "198.51.100.2/24" },
    addresses6: { wan: "2001:db8:2::2/64" },
  };

  const link = (
    name: string,
    a: DemoHost,
    b: DemoHost,
    o: { impair: ImpairmentConfig; mtu: number; macs: [number, number] },
  ): DemoLink => {
    const [devA, devB] = createPipe({
      allocator: a.stack.allocator,
      clock,
      rng: rng.fork(),
      names: [`${name}-${a.name}`, `${name}-${b.name}`],
      macs: o.macs,
      mtu: o.mtu,
      impair: o.impair,
    });
    return {
      name,
      description: describe(o.impair, o.mtu),
      mtu: o.mtu,
      a: { host: a, dev: devA },
      b: { host: b, dev: devB },
    };
  };
  const lan = link("lan", client, server, {
    impair: LAN,
    mtu: 1500,
    macs: [0x02_00_00_00_01_01, 0x02_00_00_00_01_02],
  });
  const wan = link("wan", client, far, {
    impair: WAN,
    mtu: WAN_MTU,
    macs: [0x02_00_00_00_02_01, 0x02_00_00_00_02_02],
  });
  options.onLink?.(lan);
  options.onLink?.(wan);
  for (const l of [lan, wan]) {
    for (const end of [l.a, l.b]) {
      // Dual stack: IPv6 beside IPv4 on every link (static addresses; no router, no SLAAC).
      end.host.stack.addInterface(end.dev, {
        address: end.host.addresses[l.name]!,
        ip6: end.host.addresses6[l.name]!,
        slaac: false,
      });
    }
  }

  const run = async <T>(promise: Promise<T>, maxMs = 600_000): Promise<T> => {
    let done = false;
    const p = promise.finally(() => {
      done = true;
    });
    p.catch(() => {}); // awaited below; no unhandled-rejection report meanwhile
    const deadline = clock.now() + maxMs;
    for (;;) {
      // Let promise continuations (the demo's own awaits) run between events.
      await macrotask();
      if (done) break;
      if (clock.flush() > 0) continue;
      const next = clock.nextDeadline();
      if (next === undefined) {
        throw new Error("demo: nothing scheduled but a step is still waiting");
      }
      if (next > deadline) throw new Error(`demo: a step is still waiting after ${maxMs} ms`);
      clock.advance(next - clock.now());
    }
    return await p;
  };

  const hosts = [client, server, far];
  return {
    seed,
    clock,
    arena,
    client,
    server,
    far,
    hosts,
    lan,
    wan,
    links: [lan, wan],
    run,
    idle: (ms) => run(new Promise<void>((resolve) => clock.setTimer(ms, resolve))),
    async close() {
      for (const h of hosts) await h.stack.close();
      clock.runUntilIdle(600_000);
      return arena.inUse;
    },
  };
}

function describe(c: ImpairmentConfig, mtu: number): string {
  const pct = (x: number | undefined) => `${+((x ?? 0) * 100).toFixed(1)}%`;
  const parts = [`${c.delay ?? 0} ms ±${c.jitter ?? 0}`, `loss ${pct(c.loss)}`];
  if (c.reorder) parts.push(`reorder ${pct(c.reorder)}`);
  if (c.duplicate) parts.push(`dup ${pct(c.duplicate)}`);
  if (c.corrupt) parts.push(`corrupt ${pct(c.corrupt)}`);
  parts.push(`MTU ${mtu}`);
  return parts.join(", ");
}

/** One macrotask hop (a MessageChannel message: never clamped like nested timeouts). */
function macrotask(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(0);
  });
}
