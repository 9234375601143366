/**
 * `netwasm perf`: a throughput tool that speaks iperf3's protocol, so the
 * real `iperf3` is its peer both ways: `iperf3 -c` against `netwasm perf -s`
 * and `netwasm perf -c` against `iperf3 -s`. Flags follow iperf3's (`-s`,
 * `-c HOST`, `-p`, `-t`, `-n`, `-P`, `-R`, `-u`, `-b`, `-l`, `-i`, `-N`,
 * `-J`/`--json`, `-1`), plus the link flags every command takes (`--tap` or
 * `--relay`, `--ip`, …). On a TAP the link is opened with offloads
 * (`IFF_VNET_HDR`, TSO/GSO; `--no-offload` for a plain TAP).
 *
 * Not implemented: `--bidir` and SCTP (a server refuses such a test with
 * iperf3's "not implemented" error); `-O` omit, `-w` window, `-M` MSS, `-S`
 * TOS, `-C` congestion control (a server accepts and ignores them; the
 * client has no flag for them); `-Z`, `-F`, `--get-server-output` and
 * authentication. A server honours `-k` block counts sent by iperf3; the
 * client takes `-n` only.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type CliHost,
  describeLease,
  type HostConfig,
  LINK_FLAG_NAMES,
  LINK_OPTIONS,
  openHost,
} from "./link.ts";
import { parseRate, parseSize } from "./perf_format.ts";
import { IPERF_PORT, MAX_STREAMS } from "./perf_proto.ts";
import { startStatsReporter, statsReport } from "./stats.ts";

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  server: { type: "boolean", short: "s" },
  client: { type: "string", short: "c" },
  port: { type: "string", short: "p" },
  time: { type: "string", short: "t" },
  bytes: { type: "string", short: "n" },
  parallel: { type: "string", short: "P" },
  reverse: { type: "boolean", short: "R" },
  udp: { type: "boolean", short: "u" },
  bitrate: { type: "string", short: "b" },
  length: { type: "string", short: "l" },
  interval: { type: "string", short: "i" },
  "no-delay": { type: "boolean", short: "N" },
  json: { type: "boolean", short: "J" },
  "one-off": { type: "boolean", short: "1" },
  "no-offload": { type: "boolean" },
  stats: { type: "string" },
  // Link flags, handed to the common link configuration.
  ...LINK_OPTIONS,
} as const;

/** Where `netwasm perf` writes (the CLI's `CliIo`). */
export interface PerfIo {
  /** Normal output (stdout). */
  out(line: string): void;
  /** Errors and diagnostics (stderr). */
  err(line: string): void;
}

/** The link flags' values, as the common `hostConfig` takes them. */
export type LinkValues = Partial<Record<string, string | boolean | string[]>>;

/**
 * The help text of `netwasm perf`.
 *
 * @example
 * ```ts
 * import { perfHelp } from "./perf.ts";
 * perfHelp().startsWith("netwasm perf"); // true
 * ```
 */
export function perfHelp(): string {
  return `netwasm perf — throughput tests with iperf3's protocol (iperf3 is the peer)

Usage: deno task netwasm perf -s [flags] LINK        server (iperf3 -c connects to it)
       deno task netwasm perf -c HOST [flags] LINK   client (against iperf3 -s)

  -s, --server         serve tests (one at a time) until Ctrl-C
  -1, --one-off        serve one test, then exit
  -c, --client HOST    run a test against the iperf3 server at HOST
  -p, --port PORT      server port (default ${IPERF_PORT})
  -t, --time SECS      test length (default 10)
  -n, --bytes N[KMG]   move N bytes instead of running for a time
  -P, --parallel N     parallel streams (1…${MAX_STREAMS}, default 1)
  -R, --reverse        the server sends, the client receives
  -u, --udp            UDP instead of TCP
  -b, --bitrate N[KMG] target bits/s per stream (UDP default 1M; TCP unlimited)
  -l, --length N[KMG]  block size (TCP default 128K; UDP the path MSS)
  -i, --interval SECS  seconds between interval reports (default 1, 0 for none)
  -N, --no-delay       TCP_NODELAY on the data streams
  -J, --json           iperf3-shaped JSON report instead of text
  --no-offload         open the TAP without IFF_VNET_HDR offloads (plain frames)
  --stats SECS         print the socket table and TCP/drop counters to stderr every
                       SECS seconds and at the end (kill -USR1 PID: at any time)

Link (required): --tap NAME [--netns NS] [--create] or --relay ws://HOST:PORT/,
with --ip ADDR/PREFIX (or --dhcp, --ip6, --slaac), --gateway, --mtu, --mac, --pcap:
see deno task netwasm help.

Examples:
  sudo deno task netwasm perf -s --tap tap0 --ip 192.0.2.2/24     # then: iperf3 -c 192.0.2.2
  sudo deno task netwasm perf -c 192.0.2.1 -t 5 -P 2 --tap tap0 --ip 192.0.2.2/24
  sudo deno task netwasm perf -c 192.0.2.1 -u -b 100M -R --tap tap0 --ip 192.0.2.2/24`;
}

/**
 * Run `netwasm perf` with `args` (after the command name). `linkConfig`
 * turns the link flags into a host configuration (the CLI's own checks; it
 * throws for a usage error). Resolves with the exit status: 0 success, 1
 * failure, 2 usage error.
 *
 * @example
 * ```ts
 * import { perfMain } from "./perf.ts";
 * const io = { out: () => {}, err: () => {} };
 * await perfMain(["--help"], io, () => ({})); // 0
 * ```
 */
export async function perfMain(
  args: readonly string[],
  io: PerfIo,
  linkConfig: (values: LinkValues) => HostConfig,
): Promise<number> {
  const usage = (m: string) => {
    io.err(`netwasm perf: ${m}`);
    io.err("Try 'deno task netwasm perf --help' for the flags.");
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return usage((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    io.out(perfHelp());
    return 0;
  }
  if (parsed.positionals.length > 0) {
    return usage(`unexpected argument ${parsed.positionals.join(" ")}`);
  }
  if (v.server === (v.client !== undefined)) {
    return usage("give -s (server) or -c HOST (client)");
  }
  const int = (name: string, text: string | undefined, min: number, max: number) => {
    if (text === undefined) return undefined;
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= min && n <= max)) throw new RangeError(`${name} ${text} is outside ${min}…${max}`);
    return n;
  };
  let port: number, time: number, parallel: number, interval: number;
  let bytes = 0;
  let rate: number | undefined;
  let len: number | undefined;
  let statsEvery: number | undefined;
  try {
    if (v.stats !== undefined) {
      statsEvery = Number(v.stats);
      if (!(statsEvery >= 0.1 && statsEvery <= 86400)) {
        throw new RangeError(`--stats ${v.stats} is outside 0.1…86400 seconds`);
      }
    }
    port = int("-p", v.port, 1, 65535) ?? IPERF_PORT;
    time = int("-t", v.time, 1, 86400) ?? 10;
    parallel = int("-P", v.parallel, 1, MAX_STREAMS) ?? 1;
    const iv = v.interval === undefined ? 1 : Number(v.interval);
    if (!(iv === 0 || (iv >= 0.1 && iv <= 60))) {
      throw new RangeError(`-i ${v.interval} is not 0 or 0.1…60`);
    }
    interval = iv;
    if (v.bytes !== undefined) {
      const b = parseSize(v.bytes);
      if (b === null || b < 1) throw new RangeError(`-n ${v.bytes} is not a size (e.g. 100M)`);
      bytes = b;
    }
    if (v.bitrate !== undefined) {
      const r = parseRate(v.bitrate);
      if (r === null) throw new RangeError(`-b ${v.bitrate} is not a rate (e.g. 100M)`);
      rate = r;
    }
    if (v.length !== undefined) {
      const l = parseSize(v.length);
      const max = v.udp ? 65507 : 16 * 1024 * 1024;
      if (l === null || l < (v.udp ? 16 : 1) || l > max) {
        throw new RangeError(`-l ${v.length} is not a block size in ${v.udp ? 16 : 1}…${max}`);
      }
      len = l;
    }
    if (v.server && (v.reverse || v.udp || v.bytes || v.bitrate || v.parallel || v.length)) {
      throw new RangeError("-R, -u, -n, -b, -P and -l are client flags (the client sends them)");
    }
  } catch (e) {
    return usage((e as Error).message);
  }
  const values: LinkValues = {};
  for (const k of LINK_FLAG_NAMES) if (v[k] !== undefined) values[k] = v[k];
  let config: HostConfig;
  try {
    config = linkConfig(values);
  } catch (e) {
    return usage((e as Error).message);
  }
  // The throughput tool wants the fast link: offloads unless --no-offload.
  config = { ...config, offload: v["no-offload"] !== true && config.tap !== undefined };
  let host: CliHost;
  try {
    host = await openHost(config);
  } catch (e) {
    io.err(`netwasm perf: ${(e as Error).message}`);
    return 1;
  }
  if (host.lease !== null) io.err(`netwasm: ${describeLease(host.lease)}`);
  const stopStats = startStatsReporter(host.stack, io.err, { everySec: statsEvery });
  const stop = new AbortController();
  const handler = () => stop.abort();
  const signals: Deno.Signal[] = [];
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(s, handler);
      signals.push(s);
    } catch { /* not on this OS */ }
  }
  try {
    if (v.server) {
      const { runPerfServer } = await import("./perf_server.ts");
      const st = await runPerfServer(host.stack, {
        port,
        oneOff: v["one-off"] === true,
        interval,
        json: v.json === true,
        out: io.out,
        signal: stop.signal,
        onListen: () => io.err(`netwasm perf: listening on port ${port}`),
      });
      io.err(`netwasm perf: ${st.tests} tests, ${st.failed} failed, ${st.refused} refused`);
      return v["one-off"] && st.tests === 0 ? 1 : 0;
    }
    const { runPerfClient } = await import("./perf_client.ts");
    await runPerfClient(host.stack, {
      host: v.client!,
      port,
      time,
      bytes,
      parallel,
      reverse: v.reverse === true,
      udp: v.udp === true,
      ...(rate !== undefined ? { rate } : {}),
      ...(len !== undefined ? { len } : {}),
      interval,
      noDelay: v["no-delay"] === true,
      json: v.json === true,
      out: io.out,
      signal: stop.signal,
    });
    return 0;
  } catch (e) {
    io.err(`netwasm perf: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, handler);
    stopStats();
    if (statsEvery !== undefined) { for (const l of statsReport(host.stack)) io.err(l); }
    if (statsEvery !== undefined) {
      io.err(`link ${host.tap.name}: ${JSON.stringify(host.tap.stats)}`);
    }
    await host.close();
    if (config.pcap !== undefined) {
      io.err(`netwasm: wrote ${host.pcapFrames} frames to ${config.pcap}`);
    }
  }
}
