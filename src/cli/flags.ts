/**
 * The `netwasm` command line's flags: every flag `parseArgs` knows, which
 * command takes which, the help text, and turning flag values into numbers
 * and a host configuration (`link.ts`) with usage errors that say what is
 * wrong. The commands themselves are `main.ts`.
 *
 * @module
 */
import { tryParseCidr, tryParseIpv4, tryParseMac } from "../wire/addr.ts";
import { tryParseIpv6Address, tryParseIpv6Cidr } from "../wire/addr6.ts";
import { type HostConfig, LINK_FLAG_NAMES, LINK_OPTIONS } from "./link.ts";
import { PING6_MAX_SIZE, PING_MAX_COUNT, PING_MAX_SIZE, PING_MIN_INTERVAL_MS } from "./ping.ts";

/** Every flag of every command, for `parseArgs`; which command takes which is checked after. */
export const OPTIONS = {
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
export type Flag = keyof typeof OPTIONS;

const LINK_FLAGS: readonly Flag[] = [...LINK_FLAG_NAMES, "offload"];
export const COMMAND_FLAGS: Readonly<Record<string, readonly Flag[]>> = {
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

/** A usage error: the CLI prints its message and exits 2. */
export class UsageError extends Error {}

/** The values `parseArgs` returned for {@link OPTIONS}. */
export type Values = Partial<Record<Flag, string | boolean | string[]>>;

/** A string flag's value (the last one when repeated). */
export function str(values: Values, flag: Flag): string | undefined {
  const v = values[flag];
  return typeof v === "string" ? v : undefined;
}

/** A number flag: decimal, finite, within [min, max], integral unless `real`. */
export function num(
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
export function hostConfig(values: Values): HostConfig {
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
