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
import { formatIpv4 } from "../wire/addr.ts";
import { formatIpv6, isLinkLocal6 } from "../wire/addr6.ts";
import type { Stack } from "../api/stack.ts";
import type { Iface } from "../ipv4/iface.ts";
import { runEchoServer } from "./echo.ts";
import { startStatsReporter } from "./stats.ts";
import { runTcpEchoServer } from "./tcp_echo.ts";
import { type CliHost, describeLease, type HostConfig, openHost } from "./link.ts";
import {
  COMMAND_FLAGS,
  type Flag,
  helpText,
  hostConfig,
  num,
  OPTIONS,
  str,
  UsageError,
  type Values,
} from "./flags.ts";

export { helpText };
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
