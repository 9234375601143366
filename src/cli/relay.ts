/**
 * `netwasm relay`: the WebSocket-to-Ethernet relay from the command line
 * (see `src/relay/server.ts`). Parses its own flags, runs until SIGINT or
 * SIGTERM, then closes every client, the TAP and the pcap and prints the
 * final counters.
 *
 * @example
 * ```ts
 * import { relayMain } from "./relay.ts";
 * const code = await relayMain(["--listen", "127.0.0.1:8080"], {
 *   out: console.log, err: console.error,
 * }, AbortSignal.timeout(1000));
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { TapError } from "../link/tap.ts";
import { type RelayOptions, startRelay } from "../relay/server.ts";
import { tryParseCidr, tryParseIpv4 } from "../wire/addr.ts";
import { type NatGatewayOptions, parseForward } from "../relay/nat/gateway.ts";
import { parseRule, type PolicyRule } from "../relay/nat/policy.ts";

/** Output sinks (the CLI's `CliIo` subset the relay needs). */
export interface RelayIo {
  out(line: string): void;
  err(line: string): void;
}

const FLAGS = {
  listen: { type: "string" },
  tap: { type: "string" },
  netns: { type: "string" },
  create: { type: "boolean" },
  offload: { type: "boolean" },
  "host-ip": { type: "string" },
  static: { type: "string" },
  demo: { type: "boolean" },
  "max-clients": { type: "string" },
  "max-per-address": { type: "string" },
  "first-frame-timeout": { type: "string" },
  rate: { type: "string" },
  origin: { type: "string", multiple: true },
  token: { type: "string" },
  pcap: { type: "string" },
  "pcap-max-bytes": { type: "string" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
  nat: { type: "boolean" },
  "nat-lan": { type: "string" },
  "dns-upstream": { type: "string", multiple: true },
  forward: { type: "string", multiple: true },
  allow: { type: "string", multiple: true },
  deny: { type: "string", multiple: true },
  "client-connections": { type: "string" },
  "client-rate": { type: "string" },
  "client-dns": { type: "string" },
  "connect-timeout": { type: "string" },
} as const;

/**
 * The relay's help text.
 *
 * @example
 * ```ts
 * import { relayHelp } from "./relay.ts";
 * console.log(relayHelp());
 * ```
 */
export function relayHelp(): string {
  return `netwasm relay — an Ethernet switch between browser pages (WebSocket clients) and,
optionally, a real network through a TAP device. One Ethernet frame per binary
WebSocket message (v86-compatible). Serves static pages with COOP/COEP headers.

Usage: deno task netwasm relay --listen HOST:PORT [flags]

  --listen HOST:PORT   address to listen on (e.g. 127.0.0.1:8080)
  --tap NAME           uplink TAP device (raw frames; the relay runs no IP stack)
  --create             create the TAP (removed again on exit)
  --netns NS           the TAP lives in network namespace NS
  --host-ip ADDR/LEN   give the kernel side of the TAP this address and bring it up
  --offload            open the TAP with IFF_VNET_HDR offloads: the kernel hands over TCP
                       super-frames (TSO), which the relay cuts into frames for the clients;
                       a batch client then gets a whole super-frame in one message (faster
                       downloads into pages)
  --static DIR         serve DIR at / (and the package's dist/netwasm.js at /netwasm.js)
  --demo               serve the package's demo page (examples/) at / instead of --static
  --max-clients N      most WebSocket clients at once (default 64); at the limit a newcomer
                       evicts the longest-connected client that has not sent a frame yet,
                       and gets 503 only if all are active
  --max-per-address N  the same limit per remote address (default 16)
  --first-frame-timeout SECS
                       close a client that sends no frame this long after connecting
                       (default 30; 0 = never)
  --rate PKTS/S        frames per second each client may send (default 20000; 0 = no limit)
  --origin ORIGIN      allow browser pages from ORIGIN only (repeatable; default any)
  --token TOKEN        require ?token=TOKEN (or Authorization: Bearer TOKEN)
  --pcap FILE          record every accepted frame to FILE (a failed write stops the capture)
  --pcap-max-bytes N   stop the capture before FILE exceeds N bytes (default no cap)
  -q, --quiet          no per-client lines or periodic summaries

NAT gateway (--nat): the relay runs its own netwasm stack on the LAN as the pages' router,
DHCP server and DNS forwarder, and re-originates their TCP and UDP with its own sockets
(no root, no TAP needed). ICMP echo is re-originated with ping sockets where the host allows
them (net.ipv4.ping_group_range), else refused.
  --nat                run the gateway
  --nat-lan ADDR/LEN   the gateway's LAN address (default 10.0.2.2/24; DHCP hands out the upper half)
  --dns-upstream IP[:PORT]  upstream name server (repeatable; default: /etc/resolv.conf)
  --forward tcp:[HOST:]PORT=ADDR:PORT  forward a host port (HOST default 127.0.0.1) to a page
  --allow CIDR[:PORTS] let pages reach CIDR (ports like 80,8000-8100); repeatable
  --deny CIDR[:PORTS]  refuse CIDR; rules apply in the order given, first match wins.
                       Unmatched: loopback, private, link-local, CGNAT, documentation and
                       special ranges and the relay's own addresses are denied, the rest allowed
  --client-connections N  TCP sessions + UDP flows per page (default 128)
  --client-rate BYTES/S   bandwidth per page, both directions (default unlimited)
  --client-dns N          DNS queries per second per page (default 50)
  --connect-timeout SECS  outbound TCP connect timeout (default 10)

Example (two commands to put a page on a real network):
  sudo deno task netwasm relay --listen 127.0.0.1:8080 --tap nw0 --create \\
       --host-ip 192.0.2.1/24 --static examples/
  open http://127.0.0.1:8080/`;
}

/**
 * Run the relay command; resolves with the exit status when `signal` (or
 * SIGINT/SIGTERM) stops it. 2 for usage errors, 1 for failures.
 */
export async function relayMain(
  args: readonly string[],
  io: RelayIo,
  signal?: AbortSignal,
): Promise<number> {
  let values;
  try {
    const parsed = parseArgs({ args: [...args], options: FLAGS, allowPositionals: true });
    if (parsed.positionals.length > 0) {
      throw new Error(`unexpected argument ${parsed.positionals.join(" ")}`);
    }
    values = parsed.values;
  } catch (e) {
    return usage(io, (e as Error).message);
  }
  if (values.help) {
    io.out(relayHelp());
    return 0;
  }
  const options: RelayOptions = { log: io.out };
  const listen = values.listen;
  if (listen === undefined) return usage(io, "relay: --listen HOST:PORT is required");
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  if (m === null || Number(m[2]) > 65535) {
    return usage(io, `relay: --listen ${JSON.stringify(listen)} is not HOST:PORT`);
  }
  options.hostname = m[1]!.replace(/^\[|\]$/g, "");
  options.port = Number(m[2]);
  if (values.tap !== undefined) {
    const hostIp = values["host-ip"];
    if (hostIp !== undefined && tryParseCidr(hostIp) === null) {
      return usage(io, `relay: --host-ip ${JSON.stringify(hostIp)} is not ADDR/PREFIX`);
    }
    options.tap = {
      name: values.tap,
      ...(values.create ? { create: true } : {}),
      ...(values.netns !== undefined ? { netns: values.netns } : {}),
      ...(hostIp !== undefined ? { hostAddress: hostIp } : {}),
      ...(values.offload ? { offload: true } : {}),
    };
  } else if (
    values.create || values.offload || values.netns !== undefined ||
    values["host-ip"] !== undefined
  ) {
    return usage(io, "relay: --create, --offload, --netns and --host-ip need --tap NAME");
  }
  if (values.static !== undefined) {
    try {
      if (!(await Deno.stat(values.static)).isDirectory) throw new Error("not a directory");
    } catch (e) {
      return usage(io, `relay: --static ${JSON.stringify(values.static)}: ${(e as Error).message}`);
    }
    options.staticDir = values.static;
  }
  for (
    const [flag, key, min, max] of [
      ["max-clients", "maxClients", 1, 100_000],
      ["max-per-address", "maxClientsPerAddress", 1, 100_000],
      ["rate", "ratePps", 0, 10_000_000],
      ["pcap-max-bytes", "pcapMaxBytes", 24, Number.MAX_SAFE_INTEGER],
    ] as const
  ) {
    const text = values[flag];
    if (text === undefined) continue;
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= min && n <= max)) {
      return usage(
        io,
        `relay: --${flag} ${JSON.stringify(text)} must be an integer in ${min}…${max}`,
      );
    }
    options[key] = n;
  }
  const firstFrame = values["first-frame-timeout"];
  if (firstFrame !== undefined) {
    const secs = /^\d+(\.\d+)?$/.test(firstFrame) ? Number(firstFrame) : NaN;
    if (!(secs >= 0 && secs <= 3600)) {
      return usage(
        io,
        `relay: --first-frame-timeout ${JSON.stringify(firstFrame)} must be seconds in 0…3600`,
      );
    }
    options.firstFrameTimeoutMs = Math.round(secs * 1000);
  }
  if (values.origin !== undefined) options.origins = values.origin;
  if (values.token !== undefined) {
    if (values.token === "") return usage(io, "relay: --token must not be empty");
    options.token = values.token;
  }
  if (values.demo) {
    if (values.static !== undefined) {
      return usage(io, "relay: --demo and --static exclude each other");
    }
    options.demo = true;
  }
  if (values.pcap !== undefined) options.pcap = values.pcap;
  const natFlags = [
    "nat-lan",
    "dns-upstream",
    "forward",
    "allow",
    "deny",
    "client-connections",
    "client-rate",
    "client-dns",
    "connect-timeout",
  ] as const;
  if (!values.nat) {
    const given = natFlags.find((f) => values[f] !== undefined);
    if (given !== undefined) return usage(io, `relay: --${given} needs --nat`);
  } else {
    try {
      options.nat = natOptions(args, values);
    } catch (e) {
      return usage(io, `relay: ${(e as Error).message}`);
    }
  }
  if (values.quiet) options.quiet = true;

  // The page loads /netwasm.js from dist/: build it on first use so the
  // README's two commands work on a fresh clone.
  if (options.staticDir !== undefined || options.demo) await ensureBundle(io);

  let relay;
  try {
    relay = await startRelay(options);
  } catch (e) {
    io.err(`netwasm relay: ${(e as Error).message}`);
    if (e instanceof TapError && (e.code === "EPERM" || e.code === "EACCES")) {
      io.err("netwasm: opening a TAP needs root (or CAP_NET_ADMIN) and --allow-ffi");
    } else if (e instanceof TapError && e.code === "ENODEV") {
      io.err(`netwasm: create it first (ip tuntap add dev ${e.device} mode tap) or pass --create`);
    } else if (e instanceof Deno.errors.AddrInUse) {
      io.err(`netwasm: ${listen} is in use; pick another --listen port`);
    }
    return 1;
  }
  if (values.quiet) io.out(`netwasm relay: listening on ${relay.url}`);
  const stop = new AbortController();
  const handler = () => stop.abort();
  const added: Deno.Signal[] = [];
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(s, handler);
      added.push(s);
    } catch { /* not supported here */ }
  }
  try {
    const stopped = AbortSignal.any(signal ? [stop.signal, signal] : [stop.signal]);
    await new Promise<void>((resolve) => {
      if (stopped.aborted) resolve();
      stopped.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    for (const s of added) Deno.removeSignalListener(s, handler);
    await relay.close();
    if (values.quiet) io.out(relay.summary());
  }
  return 0;
}

function usage(io: RelayIo, message: string): number {
  io.err(`netwasm: ${message}`);
  io.err("Try 'deno task netwasm relay --help' for the flags.");
  return 2;
}

/**
 * In a git checkout, build `dist/netwasm.js` (`build.ts --bundle-only`) when
 * it is missing. A published package ships the bundle (built ahead of
 * time) and has no build.ts: nothing to do there.
 */
async function ensureBundle(io: { err(line: string): void }): Promise<void> {
  const dist = new URL("../../dist/netwasm.js", import.meta.url);
  const build = new URL("../../build.ts", import.meta.url);
  if (dist.protocol !== "file:") return;
  try {
    await Deno.stat(dist);
    return;
  } catch {
    // missing: build it below, if this is a checkout
  }
  try {
    await Deno.stat(build);
  } catch {
    io.err("netwasm relay: this package has no dist/netwasm.js; pages cannot load /netwasm.js");
    return;
  }
  io.err("netwasm relay: building dist/netwasm.js for the page (first run)…");
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", build.pathname, "--bundle-only"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) {
    io.err(`netwasm relay: could not build the bundle: ${new TextDecoder().decode(r.stderr)}`);
  }
}

/** The --nat flags → gateway options. --allow/--deny keep their command-line order. */
function natOptions(
  args: readonly string[],
  values: Record<string, string | boolean | string[] | undefined>,
): NatGatewayOptions {
  const rules: PolicyRule[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--(allow|deny)(?:=(.*))?$/.exec(args[i]!);
    if (m === null) continue;
    const text = m[2] ?? args[++i];
    if (text === undefined) throw new TypeError(`--${m[1]} needs CIDR[:PORTS]`);
    rules.push(parseRule(m[1] as "allow" | "deny", text));
  }
  const int = (flag: string, min: number, max: number): number | undefined => {
    const text = values[flag];
    if (typeof text !== "string") return undefined;
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= min && n <= max)) {
      throw new TypeError(`--${flag} ${JSON.stringify(text)} must be an integer in ${min}…${max}`);
    }
    return n;
  };
  const lan = values["nat-lan"];
  if (typeof lan === "string" && tryParseCidr(lan) === null) {
    throw new TypeError(`--nat-lan ${JSON.stringify(lan)} is not ADDR/PREFIX`);
  }
  const upstreams = (values["dns-upstream"] as string[] | undefined)?.map((u) => {
    const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d{1,5}))?$/.exec(u);
    if (m === null || tryParseIpv4(m[1]!) === null || Number(m[2] ?? 53) > 65535) {
      throw new TypeError(`--dns-upstream ${JSON.stringify(u)} is not IP[:PORT]`);
    }
    return { address: m[1]!, port: Number(m[2] ?? 53) };
  });
  const forwards = (values.forward as string[] | undefined)?.map(parseForward) ?? [];
  const maxConnections = int("client-connections", 1, 1_000_000);
  const bytesPerSecond = int("client-rate", 1, Number.MAX_SAFE_INTEGER);
  const dnsPerSecond = int("client-dns", 1, 1_000_000);
  const connectTimeout = int("connect-timeout", 1, 600);
  return {
    rules,
    forwards,
    ...(typeof lan === "string" ? { lan } : {}),
    ...(upstreams !== undefined ? { dnsUpstreams: upstreams } : {}),
    ...(connectTimeout !== undefined ? { connectTimeoutMs: connectTimeout * 1000 } : {}),
    limits: {
      ...(maxConnections !== undefined ? { maxConnections } : {}),
      ...(bytesPerSecond !== undefined ? { bytesPerSecond } : {}),
      ...(dnsPerSecond !== undefined ? { dnsPerSecond } : {}),
    },
  };
}
