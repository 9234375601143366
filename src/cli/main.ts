/**
 * `netwasm`: the command line. `deno task netwasm <command> …`
 *
 * - `ping HOST` — ping(8) through our stack on a TAP.
 * - `echo --udp PORT` / `echo --tcp PORT` — UDP and/or TCP echo servers on a TAP.
 * - `http --port PORT --root DIR` — a static-file HTTP/1.1 server on a TAP.
 * - `fetch URL [-o FILE]` — an HTTP/1.1 GET through netwasm's TCP on a TAP.
 * - `demo` — the in-memory demo network (no TAP, no root).
 * - `relay --listen HOST:PORT` — WebSocket ↔ Ethernet relay for browser pages
 *   (own flags; see `relay.ts`).
 * - `help` — commands and flags.
 *
 * Exit status: 0 on success; 1 on failure (for `ping`: no reply at all; for
 * `fetch`: no connection, HTTP status ≥ 400, or a body cut short); 2 for
 * usage errors.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["help"]); // prints the help, returns 0
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { TapError } from "../link/tap.ts";
import { formatIpv4, tryParseCidr, tryParseIpv4, tryParseMac } from "../wire/addr.ts";
import { formatIpv6, isLinkLocal6, tryParseIpv6Address, tryParseIpv6Cidr } from "../wire/addr6.ts";
import type { Stack } from "../api/stack.ts";
import type { Iface } from "../ipv4/iface.ts";
import { runEchoServer } from "./echo.ts";
import { startStatsReporter } from "./stats.ts";
import { runTcpEchoServer } from "./tcp_echo.ts";
import { type CliHost, describeLease, type HostConfig, LINK_OPTIONS, openHost } from "./link.ts";
import {
  formatPingSummary,
  parsePingTarget,
  PING6_MAX_SIZE,
  PING_MAX_COUNT,
  PING_MAX_SIZE,
  PING_MIN_INTERVAL_MS,
  pingExitCode,
  runPing,
} from "./ping.ts";

/** Exit status for a usage error (bad flag, missing argument). */
export const EXIT_USAGE = 2;
/** Exit status for a failure (cannot open the TAP; ping got no reply). */
export const EXIT_FAILURE = 1;

/** Where the CLI writes; tests pass collectors. */
export interface CliIo {
  /** Normal output (stdout). */
  out(line: string): void;
  /** Errors and diagnostics (stderr). */
  err(line: string): void;
  /** Raw bytes for stdout (`fetch` without `-o`); default: the process's stdout. */
  bytes?(chunk: Uint8Array): Promise<void>;
  /**
   * A transient status line (fetch progress), redrawn in place; absent when
   * stderr is not a terminal. `null` erases it.
   */
  status?(line: string | null): void;
}

const CONSOLE_IO: CliIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  bytes: (chunk) => writeAll(Deno.stdout, chunk),
  ...(stderrIsTerminal()
    ? {
      status: (line: string | null) => {
        const text = line === null ? "\r\x1b[K" : `\r\x1b[K${line}`;
        Deno.stderr.writeSync(new TextEncoder().encode(text));
      },
    }
    : {}),
};

function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** Write all of `p` (a `write` may take only part). */
async function writeAll(w: { write(p: Uint8Array): Promise<number> }, p: Uint8Array) {
  for (let at = 0; at < p.length;) at += await w.write(p.subarray(at));
}

/** Every flag of every command, for `parseArgs`; which command takes which is checked after. */
const OPTIONS = {
  help: { type: "boolean", short: "h" },
  ...LINK_OPTIONS,
  offload: { type: "boolean" },
  count: { type: "string", short: "c" },
  size: { type: "string", short: "s" },
  interval: { type: "string", short: "i" },
  timeout: { type: "string", short: "W" },
  ttl: { type: "string", short: "t" },
  quiet: { type: "boolean", short: "q" },
  udp: { type: "string" },
  tcp: { type: "string" },
  port: { type: "string", short: "p" },
  root: { type: "string" },
  output: { type: "string", short: "o" },
  seed: { type: "string" },
  "no-pcap": { type: "boolean" },
  "max-connections": { type: "string" },
  "max-per-client": { type: "string" },
  "header-timeout": { type: "string" },
  "request-timeout": { type: "string" },
  broadcast: { type: "boolean" },
  stats: { type: "string" },
  "tcp-mem": { type: "string" },
  "arena-max": { type: "string" },
} as const;
type Flag = keyof typeof OPTIONS;

const LINK_FLAGS: readonly Flag[] = [
  "tap",
  "relay",
  "netns",
  "create",
  "ip",
  "ip6",
  "slaac",
  "dhcp",
  "gateway",
  "gateway6",
  "mtu",
  "mac",
  "pcap",
  "offload",
];
const COMMAND_FLAGS: Readonly<Record<string, readonly Flag[]>> = {
  help: [],
  ping: [...LINK_FLAGS, "count", "size", "interval", "timeout", "ttl", "quiet"],
  echo: [...LINK_FLAGS, "udp", "tcp", "broadcast", "quiet", "stats", "tcp-mem", "arena-max"],
  http: [
    ...LINK_FLAGS,
    "port",
    "root",
    "max-connections",
    "max-per-client",
    "header-timeout",
    "request-timeout",
    "quiet",
    "stats",
    "tcp-mem",
    "arena-max",
  ],
  fetch: [...LINK_FLAGS, "output", "timeout", "quiet", "stats", "tcp-mem", "arena-max"],
  demo: ["seed", "pcap", "no-pcap"],
};

/**
 * The help text.
 *
 * @example
 * ```ts
 * import { helpText } from "./main.ts";
 * console.log(helpText());
 * ```
 */
export function helpText(): string {
  return `netwasm — a TCP/IP stack in TypeScript, from the command line

Usage: deno task netwasm <command> [flags]

Commands:
  ping HOST        send ICMP (or ICMPv6) echo requests through netwasm on a TAP, like ping(8)
  echo --udp PORT  UDP echo server (RFC 862) on a TAP; stop with Ctrl-C
  echo --tcp PORT  TCP echo server (RFC 862); --udp and --tcp may be given together
  http --port PORT --root DIR
                   static-file HTTP/1.1 server (GET, HEAD, keep-alive) on a TAP
  fetch URL        HTTP/1.1 GET through netwasm's TCP, like curl; body to stdout or -o FILE
  demo             in-memory network demo on simulated time (no TAP, no root)
  perf -s | -c HOST  throughput test speaking iperf3's protocol (iperf3 is the peer);
                   flags: deno task netwasm perf --help
  relay --listen HOST:PORT
                   switch browser pages' frames (WebSocket) to each other and a TAP;
                   flags: deno task netwasm relay --help
  help             this text (also --help, -h)

Link flags (ping, echo, http, fetch) — netwasm needs a link to the outside: a TAP device
or a relay
  --tap NAME       attach to the existing TAP NAME (ip tuntap add dev NAME mode tap)
  --relay URL      join a netwasm relay as a WebSocket client (ws://HOST:PORT/); with
                   relay --nat, --dhcp gets an address and the relay is the way out
  --create         create a new TAP NAME instead (removed again on exit)
  --netns NS       the TAP lives in network namespace NS (ip netns add NS)
  --ip ADDR/PREFIX our address on the link, e.g. 192.0.2.2/24 or 2001:db8::2/64
  --dhcp           get the IPv4 address, router, DNS servers and domain by DHCP
                   (instead of an IPv4 --ip)
  --ip6 ADDR/PREFIX  an IPv6 address, e.g. 2001:db8::2/64 (repeatable; enables IPv6:
                   a link-local address, neighbour discovery, SLAAC from router adverts)
  --slaac          enable IPv6 and configure it from router advertisements only
                   (at least one of --ip, --dhcp, --ip6, --slaac is required)
  --gateway ADDR   default gateway on the link (IPv4, or IPv6)
  --gateway6 ADDR  IPv6 default router on the link (with an IPv4 --gateway)
  --mtu N          interface MTU (default 1500)
  --mac MAC        our MAC address, e.g. 02:00:00:00:00:02 (default: chosen by the driver)
  --pcap FILE      write every frame of the interface to FILE (libpcap format)
  --offload        open the TAP with IFF_VNET_HDR offloads: the kernel checksums and cuts
                   TCP segments, 64 KiB super-segments cross each way (perf: on by default)
  --stats N        (echo, http, fetch) print the socket table (state, queues, cwnd, srtt,
                   rto, retransmits), TCP counters and memory to stderr every N seconds;
                   kill -USR1 PID prints it at any time
  --tcp-mem LOW,PRESSURE,HIGH  (echo, http, fetch) TCP's memory marks in bytes of packet
                   buffers (K and M suffixes, e.g. 8M,12M,16M; Linux tcp_mem): above
                   PRESSURE buffers shrink and stuck connections are reset until back
                   below LOW; above HIGH writers wait (default: a quarter, three eighths
                   and half of the packet arena)
  --arena-max SIZE  (echo, http, fetch) most bytes the packet arena may grow to (K, M, G
                   suffixes, at least 1M; default and most: every size class full, 69M);
                   the --tcp-mem defaults scale with it

ping flags:
  -c COUNT         probes to send (default 4, at most ${PING_MAX_COUNT})
  HOST             an IPv4 or IPv6 address (2001:db8::1, fe80::1%tap0 for link-local)
  -s SIZE          ICMP data bytes (default 56, at most ${PING_MAX_SIZE}, ${PING6_MAX_SIZE} over IPv6;
                   large pings fragment)
  -i INTERVAL      seconds between probes (default 1, at least ${PING_MIN_INTERVAL_MS / 1000})
  -W TIMEOUT       seconds to wait after the last probe if nothing answered (default 10)
  -t TTL           time to live of the requests (1…255)
  -q               print only the header and the summary

echo flags:
  --udp PORT       UDP port to echo on (1…65535)
  --tcp PORT       TCP port to echo on: each connection is echoed until the client's
                   FIN (half-close), then closed; many at once
  --broadcast      also answer UDP datagrams sent to a broadcast or multicast address
                   (ignored and counted by default: an echo must not be a reflector)
  -q, --quiet      no line per datagram or connection

http flags:
  -p, --port PORT  TCP port to serve on (1…65535)
  --root DIR       directory to serve; nothing outside it is ever served (404 for
                   missing files, 403 for paths with .., 405 for methods but GET/HEAD)
  --max-connections N  connections at once (default 256); at the cap a newcomer evicts
                   the connection that has waited longest for a request head, and is
                   refused only if all are busy with a request
  --max-per-client N   the same cap per client address (default 32)
  --header-timeout SECS  close a connection whose request head is not complete this long
                   after it was accepted (default 20)
  --request-timeout SECS  close a connection whose request is not complete this long
                   after its first byte (default 15)
  -q, --quiet      no line per request

fetch flags:
  URL              http://HOST[:PORT]/PATH — HOST an IPv4 address, an IPv6 address in
                   brackets (http://[2001:db8::2]:8080/) or a name (resolved with the
                   name servers from --dhcp). Redirects are printed, not followed.
  -o, --output FILE  write the body to FILE instead of stdout
  -W, --timeout SECS  give up after SECS without a byte from the server (default 30)
  -q, --quiet      no summary line on stderr (errors are still printed)

demo flags:
  --seed N         seed of the simulated links and stacks (default 1)
  --pcap FILE      capture of the LAN link (default demo.pcap)
  --no-pcap        write no capture

Exit status: 0 success; 1 failure (ping: no reply at all; fetch: no connection,
HTTP status ≥ 400 or a truncated body); 2 usage error.
Opening a TAP needs root or CAP_NET_ADMIN (a netns also CAP_SYS_ADMIN) and --allow-ffi.

Examples:
  sudo ip tuntap add dev tap0 mode tap && sudo ip addr add 192.0.2.1/24 dev tap0 && sudo ip link set tap0 up
  sudo deno task netwasm ping -c 3 192.0.2.1 --tap tap0 --ip 192.0.2.2/24
  sudo deno task netwasm ping -c 3 2001:db8::1 --tap tap0 --ip 192.0.2.2/24 --ip6 2001:db8::2/64
  sudo deno task netwasm echo --udp 7 --tcp 7 --tap tap0 --ip 192.0.2.2/24 --pcap echo.pcap
  sudo deno task netwasm http --port 8080 --root ./examples --tap tap0 --ip 192.0.2.2/24
  sudo deno task netwasm fetch http://192.0.2.1:8000/file -o file --tap tap0 --ip 192.0.2.2/24
  deno task netwasm demo --seed 7`;
}

class UsageError extends Error {}

/**
 * Run the CLI with `args` (without the program name). Resolves with the exit
 * status; never calls `Deno.exit` itself.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["ping", "192.0.2.1"]); // 2: --tap is required
 * ```
 */
export async function main(args: readonly string[], io: CliIo = CONSOLE_IO): Promise<number> {
  // The relay has flags of its own (repeatable --origin, --listen, …): parsed in relay.ts.
  if (args[0] === "relay") return (await import("./relay.ts")).relayMain(args.slice(1), io);
  // perf takes iperf3's flags (-c HOST, -s, -t, -P …) plus the link flags.
  if (args[0] === "perf") {
    return (await import("./perf.ts")).perfMain(args.slice(1), io, (v) => hostConfig(v as Values));
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return usage(io, (e as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? (values.help ? "help" : undefined);
  if (command === undefined) return usage(io, "no command given");
  if (command === "help" || values.help) {
    io.out(helpText());
    return 0;
  }
  const allowed = COMMAND_FLAGS[command];
  if (allowed === undefined) return usage(io, `unknown command "${command}"`);
  for (const [flag, value] of Object.entries(values)) {
    if (value !== undefined && !allowed.includes(flag as Flag)) {
      const short = (OPTIONS[flag as Flag] as { short?: string }).short;
      return usage(io, `${short ? `-${short}/` : ""}--${flag} is not a flag of "${command}"`);
    }
  }
  try {
    switch (command) {
      case "ping":
        return await ping(positionals.slice(1), values, io);
      case "echo":
        return await echo(positionals.slice(1), values, io);
      case "http":
        return await http(positionals.slice(1), values, io);
      case "fetch":
        return await fetch(positionals.slice(1), values, io);
      default:
        return await demo(positionals.slice(1), values, io);
    }
  } catch (e) {
    if (e instanceof UsageError) return usage(io, e.message);
    if (e instanceof TapError) {
      io.err(`netwasm ${command}: ${e.message}`);
      if (e.code === "EPERM" || e.code === "EACCES") {
        io.err("netwasm: opening a TAP needs root (or CAP_NET_ADMIN) and --allow-ffi");
      } else if (e.code === "ENODEV") {
        io.err(
          `netwasm: create it first (ip tuntap add dev ${e.device} mode tap) or pass --create`,
        );
      }
      return EXIT_FAILURE;
    }
    io.err(`netwasm ${command}: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_FAILURE;
  }
}

function usage(io: CliIo, message: string): number {
  io.err(`netwasm: ${message}`);
  io.err("Try 'deno task netwasm help' for the commands and flags.");
  return EXIT_USAGE;
}

type Values = Partial<Record<Flag, string | boolean | string[]>>;

function str(values: Values, flag: Flag): string | undefined {
  const v = values[flag];
  return typeof v === "string" ? v : undefined;
}

/** A number flag: decimal, finite, within [min, max], integral unless `real`. */
function num(
  values: Values,
  flag: Flag,
  o: { min: number; max: number; real?: boolean; what: string },
): number | undefined {
  const text = str(values, flag);
  if (text === undefined) return undefined;
  // Plain decimals only: Number() would also take "0x10", "1e3" and "".
  const n = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || (!o.real && !Number.isInteger(n)) || n < o.min || n > o.max) {
    const short = (OPTIONS[flag] as { short?: string }).short;
    throw new UsageError(
      `${short ? `-${short}` : `--${flag}`} ${JSON.stringify(text)}: ${o.what} must be ${
        o.real ? "a number" : "an integer"
      } in ${o.min}…${o.max}`,
    );
  }
  return n;
}

/** `--tcp-mem LOW,PRESSURE,HIGH` (bytes, K or M suffixes) → TCP config, or undefined. */
function tcpMem(values: Values): HostConfig["tcp"] {
  const text = str(values, "tcp-mem");
  if (text === undefined) return undefined;
  const sizes = text.split(",").map((t) => {
    const m = /^(\d+)([KM]?)$/i.exec(t.trim());
    if (m === null) return NaN;
    return Number(m[1]) * (m[2]!.toUpperCase() === "M" ? 1 << 20 : m[2] ? 1024 : 1);
  });
  const [low, pressure, high] = sizes;
  if (
    sizes.length !== 3 || !sizes.every((n) => Number.isSafeInteger(n) && n > 0) ||
    !(low! <= pressure! && pressure! <= high!)
  ) {
    throw new UsageError(
      `--tcp-mem ${
        JSON.stringify(text)
      }: give LOW,PRESSURE,HIGH in bytes (K/M suffixes), LOW ≤ PRESSURE ≤ HIGH, e.g. 8M,12M,16M`,
    );
  }
  return { memLow: low!, memPressure: pressure!, memHigh: high! };
}

/** Smallest `--arena-max`: the reserved page and a few slots of every default size class. */
const ARENA_MAX_MIN = 1 << 20;

/** `--arena-max SIZE` (bytes, K/M/G suffixes) → the arena's byte cap, or undefined. */
function arenaMax(values: Values): number | undefined {
  const text = str(values, "arena-max");
  if (text === undefined) return undefined;
  const m = /^(\d+)([KMG]?)$/i.exec(text.trim());
  const unit = m === null ? 0 : ({ "": 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 } as const)[
    m[2]!.toUpperCase() as "" | "K" | "M" | "G"
  ];
  const n = m === null ? NaN : Number(m[1]) * unit;
  // A wasm32 memory holds at most 4 GiB.
  if (!Number.isSafeInteger(n) || n < ARENA_MAX_MIN || n > 4 * 2 ** 30 - 65536) {
    throw new UsageError(
      `--arena-max ${
        JSON.stringify(text)
      }: give the arena's largest size in bytes (K/M/G suffixes), from 1M to 4G less 64K, e.g. 32M`,
    );
  }
  return n;
}

/** The link flags → a host configuration; without `--tap`, an error that says why it is needed. */
function hostConfig(values: Values): HostConfig {
  const tap = str(values, "tap");
  const relay = str(values, "relay");
  if (tap === undefined && relay === undefined) {
    throw new UsageError(
      `--tap is required: netwasm needs a link to reach anything, and on this command ` +
        `that link is a TAP device (e.g. --tap tap0 --ip 192.0.2.2/24; ` +
        `"deno task netwasm demo" needs none), or a relay (--relay ws://HOST:PORT/ --dhcp)`,
    );
  }
  if (tap !== undefined && relay !== undefined) {
    throw new UsageError("--tap and --relay are two different links: give one");
  }
  if (relay !== undefined) {
    if (!/^wss?:\/\/./.test(relay)) {
      throw new UsageError(`--relay ${JSON.stringify(relay)} is not a ws:// or wss:// URL`);
    }
    if (values.create || str(values, "netns") !== undefined) {
      throw new UsageError("--create and --netns are TAP flags; --relay needs neither");
    }
  }
  const address = str(values, "ip");
  const ip6 = Array.isArray(values.ip6) ? [...values.ip6] : [];
  const slaac = values.slaac === true;
  const dhcp = values.dhcp === true;
  const gatewayText = str(values, "gateway");
  if (
    dhcp && ((address !== undefined && !address.includes(":")) ||
      (gatewayText !== undefined && !gatewayText.includes(":")))
  ) {
    throw new UsageError(
      "--dhcp configures the IPv4 address and gateway: leave out an IPv4 --ip and --gateway",
    );
  }
  if (address === undefined && ip6.length === 0 && !slaac && !dhcp) {
    throw new UsageError(
      `--ip ADDR/PREFIX or --dhcp is required with --tap or --relay ` +
        `(or --ip6 ADDR/PREFIX, or --slaac; e.g. --ip 192.0.2.2/24)`,
    );
  }
  if (
    address !== undefined && tryParseCidr(address) === null && tryParseIpv6Cidr(address) === null
  ) {
    throw new UsageError(
      `--ip ${JSON.stringify(address)} is not ADDR/PREFIX (e.g. 192.0.2.2/24 or 2001:db8::2/64)`,
    );
  }
  for (const a of ip6) {
    if (tryParseIpv6Cidr(a) === null) {
      throw new UsageError(
        `--ip6 ${JSON.stringify(a)} is not an IPv6 ADDR/PREFIX (e.g. 2001:db8::2/64)`,
      );
    }
  }
  const gateway = str(values, "gateway");
  if (
    gateway !== undefined && tryParseIpv4(gateway) === null && tryParseIpv6Address(gateway) === null
  ) {
    throw new UsageError(`--gateway ${JSON.stringify(gateway)} is not an IPv4 or IPv6 address`);
  }
  if (
    gateway !== undefined && !gateway.includes(":") &&
    (address === undefined || address.includes(":"))
  ) {
    throw new UsageError(`--gateway ${gateway} needs an IPv4 --ip on the link`);
  }
  const gateway6 = str(values, "gateway6");
  if (gateway6 !== undefined && tryParseIpv6Address(gateway6) === null) {
    throw new UsageError(`--gateway6 ${JSON.stringify(gateway6)} is not an IPv6 address`);
  }
  const macText = str(values, "mac");
  const mac = macText === undefined ? undefined : tryParseMac(macText);
  if (mac === null) {
    throw new UsageError(
      `--mac ${JSON.stringify(macText)} is not a MAC address (six hex octets, 02:00:00:00:00:02)`,
    );
  }
  const mtu = num(values, "mtu", { min: 68, max: 65536, what: "the MTU" });
  const netns = str(values, "netns");
  const pcap = str(values, "pcap");
  const tcp = tcpMem(values);
  const arenaMaxBytes = arenaMax(values);
  return {
    ...(tap !== undefined ? { tap } : {}),
    ...(relay !== undefined ? { relay } : {}),
    ...(address !== undefined ? { address } : {}),
    ...(dhcp ? { dhcp: true } : {}),
    ...(ip6.length > 0 ? { ip6 } : {}),
    ...(slaac ? { slaac: true } : {}),
    ...(gateway6 !== undefined ? { gateway6 } : {}),
    ...(values.create ? { create: true } : {}),
    ...(netns !== undefined ? { netns } : {}),
    ...(gateway !== undefined ? { gateway } : {}),
    ...(mac !== undefined ? { mac } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(pcap !== undefined ? { pcap } : {}),
    ...(tcp !== undefined ? { tcp } : {}),
    ...(arenaMaxBytes !== undefined ? { arenaMaxBytes } : {}),
    ...(values.offload === true ? { offload: true } : {}),
  };
}

/**
 * Abort `controller` on SIGINT (and SIGTERM where the host supports it);
 * returns the function that removes the listeners again (a signal listener
 * keeps a Deno process alive).
 */
function onSignals(controller: AbortController, signals: readonly Deno.Signal[]): () => void {
  const handler = () => controller.abort();
  const added: Deno.Signal[] = [];
  for (const s of signals) {
    try {
      Deno.addSignalListener(s, handler);
      added.push(s);
    } catch { /* not supported on this OS (SIGTERM on Windows) */ }
  }
  return () => {
    for (const s of added) Deno.removeSignalListener(s, handler);
  };
}

async function ping(rest: readonly string[], values: Values, io: CliIo): Promise<number> {
  if (rest.length === 0) throw new UsageError("ping: a destination HOST is required");
  if (rest.length > 1) throw new UsageError(`ping: one HOST only, got ${rest.join(" ")}`);
  const dest = rest[0]!;
  let family: number;
  try {
    family = parsePingTarget(dest).family;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const count = num(values, "count", { min: 1, max: PING_MAX_COUNT, what: "the count" });
  const size = num(values, "size", {
    min: 0,
    max: family === 6 ? PING6_MAX_SIZE : PING_MAX_SIZE,
    what: "the size",
  });
  const interval = num(values, "interval", {
    min: PING_MIN_INTERVAL_MS / 1000,
    max: 3600,
    real: true,
    what: "the interval in seconds",
  });
  const timeout = num(values, "timeout", {
    min: 0,
    max: 3600,
    real: true,
    what: "the timeout in seconds",
  });
  const ttl = num(values, "ttl", { min: 1, max: 255, what: "the TTL" });
  const config = hostConfig(values);
  const host = await openHost(config);
  if (host.lease !== null) io.err(`netwasm: ${describeLease(host.lease)}`);
  const stop = new AbortController();
  const removeSignals = onSignals(stop, ["SIGINT", "SIGTERM"]);
  try {
    const quiet = values.quiet === true;
    const summary = await runPing(host.stack, dest, {
      ...(count !== undefined ? { count } : {}),
      ...(size !== undefined ? { size } : {}),
      ...(interval !== undefined ? { intervalMs: interval * 1000 } : {}),
      ...(timeout !== undefined ? { lingerMs: timeout * 1000 } : {}),
      ...(ttl !== undefined ? { ttl } : {}),
      signal: stop.signal,
      write: (l) => {
        if (!quiet || l.startsWith("PING ")) io.out(l);
      },
      writeError: io.err,
    });
    for (const line of formatPingSummary(summary)) io.out(line);
    return pingExitCode(summary);
  } finally {
    removeSignals();
    await host.close();
    if (config.pcap !== undefined) {
      io.err(`netwasm: wrote ${host.pcapFrames} frames to ${config.pcap}`);
    }
  }
}

async function echo(rest: readonly string[], values: Values, io: CliIo): Promise<number> {
  if (rest.length > 0) throw new UsageError(`echo: unexpected argument ${rest.join(" ")}`);
  const udp = num(values, "udp", { min: 1, max: 65535, what: "the port" });
  const tcp = num(values, "tcp", { min: 1, max: 65535, what: "the port" });
  if (udp === undefined && tcp === undefined) {
    throw new UsageError("echo: --udp PORT and/or --tcp PORT is required (e.g. --udp 7 --tcp 7)");
  }
  if (values.broadcast && udp === undefined) {
    throw new UsageError("echo: --broadcast applies to --udp PORT only");
  }
  const config = hostConfig(values);
  return await withHost(config, io, values, async (host, signal) => {
    const quiet = values.quiet === true;
    const servers: Promise<string>[] = [];
    // If one server fails to start, the other must not keep the process up.
    const failed = new AbortController();
    const both = AbortSignal.any([signal, failed.signal]);
    const guard = <T>(p: Promise<T>) =>
      p.catch((e) => {
        failed.abort();
        throw e;
      });
    // With IPv6 on the link, one dual-stack socket on :: serves both families.
    const ipv6 = usesIpv6(config);
    if (udp !== undefined) {
      servers.push(
        guard(runEchoServer(host.stack, {
          port: udp,
          ...(ipv6 ? { hostname: "::" } : {}),
          quiet,
          broadcast: values.broadcast === true,
          signal: both,
          write: io.out,
          onListen: (a) =>
            io.out(`netwasm echo: listening on udp ${a.hostname}:${a.port} (Ctrl-C stops)`),
        })).then((s) =>
          `${s.datagrams} datagrams, ${s.bytes} bytes echoed, ` +
          `${s.ignoredBroadcast} to broadcast/multicast ignored (udp)`
        ),
      );
    }
    if (tcp !== undefined) {
      servers.push(
        guard(runTcpEchoServer(host.stack, {
          port: tcp,
          ...(ipv6 ? { hostname: "::" } : {}),
          quiet,
          signal: both,
          write: io.out,
          onListen: (a) =>
            io.out(`netwasm echo: listening on tcp ${a.hostname}:${a.port} (Ctrl-C stops)`),
        })).then((s) =>
          `${s.connections} connections (${s.completed} closed cleanly, ${s.failed} failed), ${s.bytes} bytes echoed (tcp)`
        ),
      );
    }
    for (const line of await Promise.all(servers)) io.out(`netwasm echo: ${line}`);
    return 0;
  });
}

/**
 * The host part of a server's URL: for a wildcard listener the interface's
 * IPv4 address, else its first global IPv6 address in brackets.
 */
function servingHost(stack: Stack, iface: Iface, hostname: string): string {
  if (hostname === "0.0.0.0" || hostname === "::") {
    if (iface.address !== 0) return formatIpv4(iface.address);
    const g = stack.ipv6.devices.get(iface)?.addrs.find((a) =>
      a.usable && !isLinkLocal6(a.address)
    );
    if (g !== undefined) return `[${formatIpv6(g.address)}]`;
  }
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** Does the link run IPv6 (then servers listen on `::`, dual stack)? */
function usesIpv6(config: HostConfig): boolean {
  return config.ip6 !== undefined || config.slaac === true ||
    config.address?.includes(":") === true;
}

/**
 * Open the host, run `fn` with a signal that SIGINT/SIGTERM abort, report
 * the socket table on SIGUSR1 and every `--stats N` seconds, and always
 * close the host again (printing where the pcap went).
 */
async function withHost(
  config: HostConfig,
  io: CliIo,
  values: Values,
  fn: (host: CliHost, signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const everySec = num(values, "stats", { min: 0.1, max: 86400, real: true, what: "the interval" });
  const host = await openHost(config);
  if (host.lease !== null) io.err(`netwasm: ${describeLease(host.lease)}`);
  const stop = new AbortController();
  const removeSignals = onSignals(stop, ["SIGINT", "SIGTERM"]);
  const stopStats = startStatsReporter(host.stack, io.err, { everySec });
  try {
    return await fn(host, stop.signal);
  } finally {
    stopStats();
    removeSignals();
    await host.close();
    if (config.pcap !== undefined) {
      io.err(`netwasm: wrote ${host.pcapFrames} frames to ${config.pcap}`);
    }
  }
}

async function http(rest: readonly string[], values: Values, io: CliIo): Promise<number> {
  if (rest.length > 0) throw new UsageError(`http: unexpected argument ${rest.join(" ")}`);
  const port = num(values, "port", { min: 1, max: 65535, what: "the port" });
  if (port === undefined) throw new UsageError("http: --port PORT is required (e.g. --port 8080)");
  const root = str(values, "root");
  if (root === undefined) throw new UsageError("http: --root DIR is required (e.g. --root .)");
  let isDir = false;
  try {
    isDir = (await Deno.stat(root)).isDirectory;
  } catch (e) {
    throw new UsageError(`http: --root ${JSON.stringify(root)}: ${(e as Error).message}`);
  }
  if (!isDir) throw new UsageError(`http: --root ${JSON.stringify(root)} is not a directory`);
  const maxConnections = num(values, "max-connections", {
    min: 1,
    max: 65535,
    what: "the connection limit",
  });
  const maxConnectionsPerClient = num(values, "max-per-client", {
    min: 1,
    max: 65535,
    what: "the per-client connection limit",
  });
  const headerTimeout = num(values, "header-timeout", {
    min: 0.1,
    max: 3600,
    real: true,
    what: "the header timeout in seconds",
  });
  const requestTimeout = num(values, "request-timeout", {
    min: 0.1,
    max: 3600,
    real: true,
    what: "the request timeout in seconds",
  });
  const config = hostConfig(values);
  const { serveHttp } = await import("./http.ts");
  const { directorySource } = await import("./http_files.ts");
  return await withHost(config, io, values, async (host, signal) => {
    const stats = await serveHttp(host.stack, {
      port,
      // With IPv6 on the link, one dual-stack listener on :: serves both families.
      ...(usesIpv6(config) ? { hostname: "::" } : {}),
      files: directorySource(root),
      quiet: values.quiet === true,
      ...(maxConnections !== undefined ? { maxConnections } : {}),
      ...(maxConnectionsPerClient !== undefined ? { maxConnectionsPerClient } : {}),
      ...(headerTimeout !== undefined ? { headerTimeoutMs: headerTimeout * 1000 } : {}),
      ...(requestTimeout !== undefined ? { requestTimeoutMs: requestTimeout * 1000 } : {}),
      signal,
      write: io.out,
      date: () => new Date(),
      onListen: (a) =>
        io.out(
          `netwasm http: serving ${root} on http://${
            servingHost(host.stack, host.iface, a.hostname)
          }:${a.port}/ (Ctrl-C stops)`,
        ),
    });
    const by = Object.entries(stats.byStatus).map(([k, v]) => `${v}×${k}`).join(", ");
    io.out(
      `netwasm http: ${stats.connections} connections, ${stats.requests} requests${
        by ? ` (${by})` : ""
      }, ${stats.bodyBytes} body bytes sent; evicted ${stats.evicted} (per client ${stats.evictedPerClient}), ` +
        `refused ${stats.refused} (per client ${stats.refusedPerClient}), header timeouts ${stats.headerTimeouts}`,
    );
    return 0;
  });
}

async function fetch(rest: readonly string[], values: Values, io: CliIo): Promise<number> {
  if (rest.length === 0) throw new UsageError("fetch: a URL is required (http://192.0.2.1/file)");
  if (rest.length > 1) throw new UsageError(`fetch: one URL only, got ${rest.join(" ")}`);
  const { parseFetchUrl, FetchUrlError } = await import("./fetch.ts");
  let target;
  try {
    target = parseFetchUrl(rest[0]!);
  } catch (e) {
    if (e instanceof FetchUrlError) throw new UsageError(`fetch: ${e.message}`);
    throw e;
  }
  const timeout = num(values, "timeout", {
    min: 0.1,
    max: 3600,
    real: true,
    what: "the timeout in seconds",
  });
  const output = str(values, "output");
  const config = hostConfig(values);
  const { runFetchCommand } = await import("./fetch_command.ts");
  return await withHost(config, io, values, (host, signal) =>
    runFetchCommand(host.stack, target, {
      io,
      signal,
      quiet: values.quiet === true,
      ...(output !== undefined ? { output } : {}),
      ...(timeout !== undefined ? { idleTimeoutMs: timeout * 1000 } : {}),
    }));
}

async function demo(rest: readonly string[], values: Values, io: CliIo): Promise<number> {
  if (rest.length > 0) throw new UsageError(`demo: unexpected argument ${rest.join(" ")}`);
  const seed = num(values, "seed", { min: 0, max: 0xffffffff, what: "the seed" });
  if (values["no-pcap"] && values.pcap !== undefined) {
    throw new UsageError("demo: --pcap and --no-pcap contradict each other");
  }
  const pcap = values["no-pcap"] ? null : str(values, "pcap");
  // Loaded on demand: the other commands don't need the demo network.
  const { runDemo } = await import("./demo_run.ts");
  await runDemo({
    ...(seed !== undefined ? { seed } : {}),
    ...(pcap !== undefined ? { pcap } : {}),
    ...(io.status ? { live: io.status } : {}),
    write: io.out,
  });
  return 0;
}

if (import.meta.main) {
  main(Deno.args).then((code) => Deno.exit(code));
}
