/**
 * `deno task demo`: three netwasm stacks on an in-memory network with
 * simulated delay, jitter, loss, reordering, duplication and corruption,
 * run on virtual time so it is deterministic for a seed and done in a few
 * seconds. It pings (small and fragmented), exchanges UDP datagrams, moves
 * 4 MiB over TCP across the lossy WAN (progress bar, sha256, throughput),
 * fetches a file over HTTP, shows an ARP failure, prints every stack's and link's counters, and writes a
 * pcap of the LAN for Wireshark.
 *
 * The demo is a list of {@link DemoStep}s; new protocols add steps. The
 * command-line entry point is `demo.ts` (the CLI's `demo` command).
 *
 * @module
 */
import type { NetAddr } from "../api/datagram.ts";
import { type PcapRecording, recordPcap } from "../link/pcap.ts";
import { PcapFileSink } from "../link/pcap_file.ts";
import { IcmpType } from "../wire/icmp.ts";
import { buildDemoNet, type DemoNet } from "./demo_net.ts";
import { type DemoStepIo, httpFetch, TCP_DEMO_BYTES, tcpTransfer } from "./demo_tcp.ts";
import { runEchoServer } from "./echo.ts";
import { formatPingSummary, formatRtt, runPing } from "./ping.ts";
import { formatTable, linkCounterTable, stackCounterTable } from "./report.ts";

/** Seed used when none is given. */
export const DEFAULT_DEMO_SEED = 1;
/** Capture written when neither `--pcap` nor `--no-pcap` is given. */
export const DEFAULT_DEMO_PCAP = "demo.pcap";

/** One scenario of the demo. */
export interface DemoStep {
  /** One line shown above the step's output. */
  readonly title: string;
  /** Run on `net`, writing indented lines with `out` (and a live line with `io.live`). */
  run(net: DemoNet, out: (line: string) => void, io?: DemoStepIo): Promise<void>;
}

/** Options for {@link runDemo}. */
export interface DemoOptions {
  /** Seed of every random choice (default {@link DEFAULT_DEMO_SEED}). */
  seed?: number;
  /** pcap file of the LAN (default {@link DEFAULT_DEMO_PCAP}); `null` writes none. */
  pcap?: string | null;
  /** Where lines go (default `console.log`). */
  write?: (line: string) => void;
  /** Steps to run (default {@link DEMO_STEPS}). */
  steps?: readonly DemoStep[];
  /** A line redrawn in place (progress bars on a terminal); null erases it. */
  live?: (line: string | null) => void;
}

/** What a demo run produced. */
export interface DemoResult {
  /** The capture's path, or null. */
  readonly pcap: string | null;
  /** Frames in the capture. */
  readonly frames: number;
  /** Arena slots still in use after every stack closed (0: nothing leaked). */
  readonly leaked: number;
  /** Virtual milliseconds the scenario took. */
  readonly simulatedMs: number;
}

const ECHO_PORT = 7;
/** RFC 863's discard port: nobody listens there in the demo. */
const DISCARD_PORT = 9;
/** How long the UDP step waits for each echo (simulated). */
const ECHO_WAIT_MS = 500;
/** A little more than the 30 s reassembly timeout. */
const REASSEMBLY_WAIT_MS = 31_000;

/**
 * The demo's scenarios, in order. A later protocol adds its own step.
 *
 * @example
 * ```ts
 * import { DEMO_STEPS, type DemoStep, runDemo } from "./demo_run.ts";
 * const hello: DemoStep = {
 *   title: "say hello",
 *   run: (net, out) => Promise.resolve(out(`${net.hosts.length} hosts`)),
 * };
 * await runDemo({ steps: [...DEMO_STEPS, hello], pcap: null });
 * ```
 */
export const DEMO_STEPS: readonly DemoStep[] = [
  {
    title: "ping the server across the LAN (the first probe waits for ARP)",
    run: (net, out) => ping(net, "192.0.2.2", { count: 5 }, out),
  },
  {
    title: "ping the far host across the lossy, corrupting WAN",
    run: (net, out) => ping(net, "198.51.100.2", { count: 5 }, out),
  },
  {
    title: "large ping: 8000 bytes, 6 IP fragments each way, reassembled at both ends",
    run: (net, out) => ping(net, "192.0.2.2", { count: 3, size: 8000 }, out),
  },
  {
    title: "large ping across the WAN: 3000 bytes, 3 fragments each way (MTU 1280)",
    run: (net, out) => ping(net, "198.51.100.2", { count: 4, size: 3000 }, out),
  },
  {
    title: `UDP: datagrams to the server's echo port ${ECHO_PORT}, then to a closed port`,
    run: udpEcho,
  },
  {
    title: "IPv6 beside IPv4: ping6 across the LAN (neighbour discovery instead of ARP)",
    run: (net, out) => ping(net, "2001:db8:1::2", { count: 3 }, out),
  },
  {
    title: "IPv6 large ping across the WAN: 3000 bytes, fragment headers (MTU 1280)",
    run: (net, out) => ping(net, "2001:db8:2::2", { count: 3, size: 3000 }, out),
  },
  {
    title: "UDP over IPv6: one dual-stack socket on :: echoes an IPv6 and an IPv4 client",
    run: udpDualStack,
  },
  {
    title: `TCP: ${
      TCP_DEMO_BYTES >> 20
    } MiB from the client to the far host across the lossy, corrupting WAN`,
    run: tcpTransfer,
  },
  {
    title: "HTTP: the server host's `http` handler serves files; the client fetches one",
    run: (net, out) => httpFetch(net, out),
  },
  {
    title: "ping a host that is not there: ARP gives up after three probes",
    run: (net, out) => ping(net, "192.0.2.99", { count: 1 }, out),
  },
  {
    title: "quiet for 30 s: datagrams that lost a fragment time out in reassembly",
    run: reassemblyTimeouts,
  },
];

/** A dual-stack echo server on `[::]:7` answers a client over IPv6, then one over IPv4. */
async function udpDualStack(net: DemoNet, out: (line: string) => void): Promise<void> {
  const stop = new AbortController();
  const echo = runEchoServer(net.server.stack, {
    port: ECHO_PORT + 1000,
    hostname: "::",
    quiet: true,
    signal: stop.signal,
  });
  try {
    for (const [local, to] of [["2001:db8:1::1", "[2001:db8:1::2]"], ["192.0.2.1", "192.0.2.2"]]) {
      const conn = net.client.stack.listenDatagram({ port: 0, hostname: local! });
      try {
        const data = new TextEncoder().encode(`hello over ${to!.includes(":") ? "IPv6" : "IPv4"}`);
        const sent = net.clock.now();
        let reply: [Uint8Array, NetAddr] | null = null;
        // The LAN loses 1%: try up to three times.
        for (let i = 0; i < 3 && reply === null; i++) {
          await net.run(conn.send(data, `${to}:${ECHO_PORT + 1000}`));
          reply = await net.run(raceTimeout(net, conn.receive(), ECHO_WAIT_MS));
        }
        out(
          reply === null
            ? `${local} → ${to}: no echo`
            : `${local} → ${to}:${ECHO_PORT + 1000}  "${
              new TextDecoder().decode(reply[0])
            }" echoed by ${reply[1].hostname} in ${formatRtt(net.clock.now() - sent)} ms`,
        );
      } finally {
        conn.close();
      }
    }
    out("(the server saw the IPv4 client as ::ffff:192.0.2.1: one socket, both families)");
  } finally {
    stop.abort();
    await net.run(echo);
  }
}

/** Let the reassembly timer (30 s, Linux `ipfrag_time`) expire everywhere and report it. */
async function reassemblyTimeouts(net: DemoNet, out: (line: string) => void): Promise<void> {
  const count = () =>
    net.hosts.reduce(
      (n, h) => ({
        timeouts: n.timeouts + h.stack.stats.ip.reasmTimeout,
        icmp: n.icmp + (h.stack.stats.icmp.outByType[IcmpType.TIME_EXCEEDED] ?? 0),
      }),
      { timeouts: 0, icmp: 0 },
    );
  const before = count();
  await net.idle(REASSEMBLY_WAIT_MS);
  const after = count();
  const n = after.timeouts - before.timeouts;
  if (n === 0) {
    out("no datagram was left incomplete");
    return;
  }
  out(`${n} incomplete datagram${n === 1 ? "" : "s"} timed out (ipv4.frag_timeout)`);
  // RFC 792 / RFC 1122 §3.3.2: only if fragment zero arrived can the error quote it.
  out(`${after.icmp - before.icmp} ICMP time exceeded (reassembly) sent back to the source`);
}

async function ping(
  net: DemoNet,
  host: string,
  o: { count: number; size?: number },
  out: (line: string) => void,
): Promise<void> {
  const summary = await net.run(runPing(net.client.stack, host, { ...o, write: out }));
  for (const line of formatPingSummary(summary)) if (line !== "") out(line);
}

/**
 * Datagrams of growing size to the server's echo port, one at a time (an
 * echo that comes back after its wait is still matched to its row, by size),
 * then one to a closed port.
 */
async function udpEcho(net: DemoNet, out: (line: string) => void): Promise<void> {
  const client = net.client.stack;
  const stop = new AbortController();
  const echo = runEchoServer(net.server.stack, {
    port: ECHO_PORT,
    quiet: true,
    signal: stop.signal,
  });
  const conn = client.listenDatagram({ port: 0, hostname: "192.0.2.1", transport: "udp" });
  const to: NetAddr = { hostname: "192.0.2.2", port: ECHO_PORT, transport: "udp" };
  const sizes = [32, 512, 1472, 4000, 9000];
  const rows = new Map<number, { sent: number; data: Uint8Array; result: string }>();
  // One receive stays pending across datagrams, so none is ever dropped unseen.
  const iter = conn[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<[Uint8Array, NetAddr]>> | null = null;
  const take = (reply: Uint8Array, from: NetAddr): number => {
    const row = rows.get(reply.length);
    if (row === undefined) return -1;
    const same = reply.every((b, i) => b === row.data[i]);
    row.result = `echoed by ${from.hostname}:${from.port} in ${
      formatRtt(net.clock.now() - row.sent)
    } ms${same ? "" : " (DIFFERENT DATA)"}`;
    return reply.length;
  };
  try {
    for (const size of sizes) {
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = (i * 7 + size) & 0xff;
      rows.set(size, { sent: net.clock.now(), data, result: "no echo (lost on the way)" });
      await net.run(conn.send(data, to));
      const deadline = net.clock.now() + ECHO_WAIT_MS;
      for (;;) {
        pending ??= iter.next();
        const left = deadline - net.clock.now();
        const got = left > 0 ? await net.run(raceTimeout(net, pending, left)) : null;
        if (got === null || got.done) break;
        pending = null;
        if (take(...got.value) === size) break;
      }
    }
    // Nobody listens on the discard port: the server answers ICMP port unreachable.
    const icmpBefore = client.stats.icmp.inByType[IcmpType.DEST_UNREACHABLE] ?? 0;
    await net.run(conn.send(new Uint8Array(16), { hostname: "192.0.2.2", port: DISCARD_PORT }));
    await net.idle(ECHO_WAIT_MS);
    const refused = (client.stats.icmp.inByType[IcmpType.DEST_UNREACHABLE] ?? 0) - icmpBefore;
    const fragments = (n: number) => Math.ceil((n + 8) / (Math.floor((net.lan.mtu - 20) / 8) * 8));
    const table = sizes.map((n) => {
      const f = fragments(n);
      return [`${n} bytes`, f > 1 ? `${f} fragments` : "", rows.get(n)!.result];
    });
    table.push([
      "16 bytes",
      `port ${DISCARD_PORT}`,
      refused > 0 ? "nobody listens: ICMP port unreachable came back" : "no answer",
    ]);
    for (const line of formatTable(table, ["right", "left", "left"])) out(line);
    const echoed = [...rows.values()].filter((r) => r.result.startsWith("echoed")).length;
    out(`${sizes.length} datagrams sent to port ${ECHO_PORT}, ${echoed} echoed back`);
  } finally {
    conn.close();
    stop.abort();
    await net.run(echo);
  }
}

/** `promise`, or null if it has not settled after `ms` of the net's clock. */
function raceTimeout<T>(net: DemoNet, promise: Promise<T>, ms: number): Promise<T | null> {
  return new Promise<T | null>((resolve, reject) => {
    const timer = net.clock.setTimer(ms, () => resolve(null));
    promise.then(
      (v) => {
        net.clock.clearTimer(timer);
        resolve(v);
      },
      (e) => {
        net.clock.clearTimer(timer);
        reject(e);
      },
    );
  });
}

/**
 * Run the demo and print it.
 *
 * @example
 * ```ts
 * import { runDemo } from "./demo_run.ts";
 * const r = await runDemo({ seed: 3, pcap: null });
 * r.leaked; // 0
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = performance.now();
  const write = options.write ?? ((l: string) => console.log(l));
  const seed = options.seed ?? DEFAULT_DEMO_SEED;
  const pcapPath = options.pcap === undefined ? DEFAULT_DEMO_PCAP : options.pcap;
  const steps = options.steps ?? DEMO_STEPS;
  let sink: PcapFileSink | undefined;
  let recording: PcapRecording | undefined;
  const net = buildDemoNet(seed, {
    onLink(link) {
      if (pcapPath === null || link.name !== "lan") return;
      sink = new PcapFileSink(pcapPath);
      // The client's end, both directions: every frame of the LAN once.
      recording = recordPcap(link.a.dev, sink.write);
    },
  });
  let leaked = -1;
  let simulatedMs = 0;
  try {
    write(`netwasm demo — ${net.hosts.length} stacks on simulated links, seed ${seed}`);
    write("All times are simulated (virtual clock): the same --seed gives the same run.");
    write("");
    for (const line of networkLines(net)) write(line);
    write("");
    const t0 = net.clock.now();
    for (const [i, step] of steps.entries()) {
      write(`[${i + 1}/${steps.length}] ${step.title}`);
      await step.run(net, (line) => write(`      ${line}`), {
        ...(options.live ? { live: options.live } : {}),
      });
      write("");
    }
    simulatedMs = net.clock.now() - t0;
    write(`Stack counters after ${(simulatedMs / 1000).toFixed(1)} s of simulated time`);
    for (const line of stackCounterTable(net.hosts.map((h) => [h.name, h.stack.stats]))) {
      write(line);
    }
    write("");
    write("Link counters, per direction");
    const dirs = net.links.flatMap((l) => [
      [`${l.name}  ${l.a.host.name} → ${l.b.host.name}`, l.a.dev.wire.stats] as const,
      [`${l.name}  ${l.b.host.name} → ${l.a.host.name}`, l.b.dev.wire.stats] as const,
    ]);
    for (const line of linkCounterTable(dirs)) write(line);
    write("");
  } finally {
    recording?.stop();
    sink?.close();
    leaked = await net.close();
  }
  if (leaked !== 0) write(`warning: ${leaked} packet buffers were not freed`);
  if (pcapPath !== null) {
    write(`Capture of the LAN: ${pcapPath} (${recording?.frames ?? 0} frames). Open it with`);
    write(`  wireshark ${pcapPath}     or     tshark -r ${pcapPath}`);
  }
  write(`Done in ${Math.round(performance.now() - started)} ms of real time.`);
  return { pcap: pcapPath, frames: recording?.frames ?? 0, leaked, simulatedMs };
}

/** Who is where, and what each link does to frames. */
function networkLines(net: DemoNet): string[] {
  const hosts = net.hosts.map((h) => [
    "  " + h.name,
    Object.entries(h.addresses).map(([link, a]) => `${a}, ${h.addresses6[link]} (${link})`)
      .join("; "),
  ]);
  const links = net.links.map((l) => [
    "  " + l.name,
    `${l.a.host.name} ↔ ${l.b.host.name}`,
    l.description,
  ]);
  return [
    "Hosts",
    ...formatTable(hosts, ["left", "left"]),
    "Links",
    ...formatTable(links, ["left", "left", "left"]),
  ];
}
