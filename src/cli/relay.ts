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
import { tryParseCidr } from "../wire/addr.ts";

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
    };
  } else if (values.create || values.netns !== undefined || values["host-ip"] !== undefined) {
    return usage(io, "relay: --create, --netns and --host-ip need --tap NAME");
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
