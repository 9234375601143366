/**
 * The WebSocket tunnel and the relay (`deno task bench relay`), each party
 * in its own process as deployed: the relay (`_relay_proc.ts`), netwasm
 * stacks on `WebSocketLink`s (`_ws_peer.ts`), Linux in a network namespace
 * behind the relay's TAP, many raw clients (`_relay_clients.ts`). Rows:
 *
 * - stack ↔ stack through the relay, one frame per message (v86 framing)
 *   and batch framing (`netwasm.batch.v1`): TCP bulk, sha256 checked;
 * - stack → relay → TAP → Linux and Linux → TAP → relay → stack (batch),
 *   with a Python peer in the namespace (needs root; skipped otherwise),
 *   with the relay's TAP plain and with offloads (`--offload`: the kernel's
 *   TSO super-frames reach a batch client as one message);
 * - 100 clients at once in a ring (each sends full-size frames to the next
 *   through the relay): aggregate, slowest and fastest client against the
 *   fair share;
 * - the reference: the same TCP bulk between two stacks over the in-memory
 *   pipe (virtual time: the stacks' CPU cost alone).
 *
 * Each figure is the median of `REPS` runs; the relay's CPU time per
 * forwarded frame comes from its `process.cpuUsage()`. The relay is
 * profiled (inspector CPU profile) during one batch stack ↔ stack run and
 * during the first 100-client run; the top entries of each are printed. `NETWASM_BENCH_QUICK=1` runs one repetition of smaller sizes.
 *
 * @module
 */
import type { BenchModule, BenchReport } from "./_harness.ts";
import { table } from "./_harness.ts";
import { formatProfile, type ProfileEntry } from "./_profile.ts";
import { pair } from "../_util/sim.ts";
import { connectPair, exchange, randomBytes } from "../tcp/_helpers.ts";
import { interopAvailable, type Netns, withNetns } from "../_util/netns.ts";
import { patternBlock, patternSha } from "./_ws_peer.ts";

const MIB = 1 << 20;
const QUICK = Deno.env.get("NETWASM_BENCH_QUICK") === "1";
const REPS = QUICK ? 1 : 3;
const BYTES = (QUICK ? 32 : 128) * MIB;
const HERE = new URL(".", import.meta.url);
const gbps = (bytes: number, s: number) => (bytes * 8) / s / 1e9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** A child process speaking one JSON object per line on stdout. */
class Proc {
  readonly child: Deno.ChildProcess;
  readonly script: string;
  #lines: string[] = [];
  #buf = "";
  #wake: (() => void) | null = null;
  #done = false;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null;

  constructor(
    script: string,
    arg: unknown,
    options: { stdin?: boolean; env?: Record<string, string> } = {},
  ) {
    this.script = script;
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(script, HERE).pathname, JSON.stringify(arg)],
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "inherit",
      ...(options.env ? { env: options.env } : {}),
    }).spawn();
    this.#writer = options.stdin ? this.child.stdin.getWriter() : null;
    // A process that exits first breaks the pipe: that is not an error of the bench.
    this.#writer?.closed.catch(() => {});
    void this.#pump();
  }

  async #pump(): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of this.child.stdout) {
      this.#buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = this.#buf.indexOf("\n")) >= 0) {
        this.#lines.push(this.#buf.slice(0, nl));
        this.#buf = this.#buf.slice(nl + 1);
      }
      this.#wake?.();
    }
    this.#done = true;
    this.#wake?.();
  }

  /** The next JSON line (bounded wait). */
  async next<T = Record<string, unknown>>(timeoutMs = 300_000): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const l = this.#lines.shift();
      if (l !== undefined) {
        try {
          return JSON.parse(l) as T;
        } catch {
          continue; // not ours (a log line)
        }
      }
      if (this.#done) throw new Error("process ended");
      if (performance.now() > deadline) throw new Error(`no answer in ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 1000);
      });
    }
  }

  async send(line: string): Promise<void> {
    try {
      await this.#writer!.write(new TextEncoder().encode(line + "\n"));
    } catch (e) {
      throw new Error(`${this.script}: cannot send ${JSON.stringify(line)}: ${e}`, { cause: e });
    }
  }

  async ask<T = Record<string, unknown>>(line: string): Promise<T> {
    await this.send(line);
    return await this.next<T>();
  }

  async end(): Promise<void> {
    try {
      await this.#writer?.close();
    } catch { /* already gone */ }
    try {
      this.child.kill("SIGKILL");
    } catch { /* exited */ }
    await this.child.status;
  }
}

interface Since {
  framesIn: number;
  framesOut: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
  dropped: number;
  cpuUs: number;
}

/** A relay process; `tap` puts its uplink on the namespace's TAP. */
async function relayProc(options: Record<string, unknown>): Promise<{ proc: Proc; url: string }> {
  const proc = new Proc("_relay_proc.ts", { summaryIntervalMs: 0, ...options }, { stdin: true });
  const { url } = await proc.next<{ url: string }>(30_000);
  return { proc, url };
}

interface RunResult {
  gbps: number;
  cpuUsPerFrame: number;
  framesPerMessage: number;
  profile?: ProfileEntry[];
}

/** One TCP bulk `source → sink` through a fresh relay, both stacks in their own processes. */
async function stackToStack(framing: "frame" | "batch", profile: boolean): Promise<RunResult> {
  const { proc: relay, url } = await relayProc({ ratePps: 0 });
  const common = { url, port: 9000, framing, buffer: 4 * MIB };
  const sink = new Proc("_ws_peer.ts", { ...common, address: "192.0.2.11/24", role: "sink" });
  let source: Proc | null = null;
  try {
    await sink.next();
    source = new Proc("_ws_peer.ts", {
      ...common,
      address: "192.0.2.10/24",
      role: "source",
      to: "192.0.2.11",
      bytes: BYTES,
      ping: true,
    });
    await source.next();
    await relay.ask("mark");
    if (profile) await relay.ask("profile");
    const [a, b] = await Promise.all([source.next<Sha>(), sink.next<Sha>()]);
    const since = await relay.ask<Since>("since");
    const top = profile ? (await relay.ask<{ top: ProfileEntry[] }>("top 12")).top : undefined;
    if (a.sha256 !== b.sha256 || b.bytes !== BYTES) {
      throw new Error(`transfer corrupted: ${b.bytes} bytes, ${b.sha256} ≠ ${a.sha256}`);
    }
    return {
      gbps: gbps(BYTES, b.seconds),
      cpuUsPerFrame: since.cpuUs / Math.max(1, since.framesIn),
      framesPerMessage: since.framesIn / Math.max(1, since.messagesIn),
      ...(top !== undefined ? { profile: top } : {}),
    };
  } finally {
    await source?.end();
    await sink.end();
    await relay.ask("quit").catch(() => {});
    await relay.end();
  }
}

interface Sha {
  bytes: number;
  sha256: string;
  seconds: number;
}

/** Linux side of the TAP rows: receive (hash) or send (a pattern) on the namespace's address. */
const PY_PEER = `
import socket, hashlib, sys, time
mode, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
block = sys.stdin.buffer.read(1 << 20) if mode == "source" else b""
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(1)
s.settimeout(120)
print("READY", flush=True)
c, _ = s.accept()
c.settimeout(120)
if mode == "sink":
    h = hashlib.sha256()
    got = 0
    t0 = None
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        if t0 is None:
            t0 = time.monotonic()
        h.update(d)
        got += len(d)
    print(f"GOT {got} {h.hexdigest()} {time.monotonic() - (t0 or time.monotonic())}", flush=True)
else:
    sent = 0
    while sent < n:
        m = min(len(block), n - sent)
        c.sendall(block[:m])
        sent += m
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
    print("SENT", flush=True)
c.close()
`;

/**
 * stack ↔ Linux through the relay's TAP, `toLinux` or from it; with
 * `offload` the relay opens its TAP with `IFF_VNET_HDR` (`--offload`).
 */
async function stackTap(ns: Netns, toLinux: boolean, offload = false): Promise<RunResult> {
  const { proc: relay, url } = await relayProc({
    ratePps: 0,
    tap: { name: ns.dev, netns: ns.name, ...(offload ? { offload: true } : {}) },
  });
  const block = patternBlock();
  const py = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns.name,
      "python3",
      "-u",
      "-c",
      PY_PEER,
      toLinux ? "sink" : "source",
      ns.kernelIp,
      "9000",
      String(BYTES),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The Python source reads its block before it listens; the sink reads no stdin.
  const w = py.stdin.getWriter();
  if (!toLinux) await w.write(block);
  await w.close();
  let text = "";
  const waiter: { wake: (() => void) | null } = { wake: null };
  const pyOut = (async () => {
    const dec = new TextDecoder();
    for await (const c of py.stdout) {
      text += dec.decode(c, { stream: true });
      waiter.wake?.();
    }
    return text;
  })();
  // Linux listens before the stack connects (bounded wait).
  const readyBy = performance.now() + 30_000;
  while (!text.includes("READY")) {
    if (performance.now() > readyBy) throw new Error("the Linux peer did not listen in 30 s");
    await new Promise<void>((r) => {
      waiter.wake = r;
      setTimeout(r, 200);
    });
  }
  const peer = new Proc("_ws_peer.ts", {
    url,
    port: 9000,
    framing: "batch",
    buffer: 4 * MIB,
    address: "192.0.2.10/24",
    ...(toLinux
      ? { role: "source", to: ns.kernelIp, bytes: BYTES, ping: true }
      : { role: "sink", connectTo: ns.kernelIp }),
  });
  try {
    await peer.next();
    await relay.ask("mark");
    const r = await peer.next<Sha>();
    const since = await relay.ask<Since>("since");
    const text = await pyOut;
    const want = patternSha(BYTES, block);
    let seconds = r.seconds;
    if (toLinux) {
      const m = /GOT (\d+) ([0-9a-f]{64}) ([\d.]+)/.exec(text);
      if (m === null || Number(m[1]) !== BYTES || m[2] !== want) {
        throw new Error(`Linux received ${m?.[1]} bytes, sha ${m?.[2]} ≠ ${want}`);
      }
    } else if (r.bytes !== BYTES || r.sha256 !== want) {
      throw new Error(`stack received ${r.bytes} bytes, sha ${r.sha256} ≠ ${want}`);
    }
    seconds = r.seconds;
    return {
      gbps: gbps(BYTES, seconds),
      cpuUsPerFrame: since.cpuUs / Math.max(1, since.framesIn),
      framesPerMessage: since.framesIn / Math.max(1, since.messagesIn + since.messagesOut) * 2,
    };
  } finally {
    await peer.end();
    try {
      py.kill("SIGKILL");
    } catch { /* exited */ }
    await py.status;
    await relay.ask("quit").catch(() => {});
    await relay.end();
  }
}

interface ScaleResult {
  gbps: number;
  minShare: number;
  maxShare: number;
  cpuUsPerFrame: number;
  dropped: number;
  profile?: ProfileEntry[];
}

/** `total` clients in a ring through one relay, `procs` client processes, `seconds` of sending. */
async function manyClients(
  total: number,
  procs: number,
  seconds: number,
  profile: boolean,
): Promise<ScaleResult> {
  const { proc: relay, url } = await relayProc({
    maxClients: total + 8,
    maxClientsPerAddress: total + 8,
  });
  const per = Math.ceil(total / procs);
  const ps: Proc[] = [];
  try {
    for (let p = 0; p < procs; p++) {
      const first = p * per;
      const count = Math.min(per, total - first);
      ps.push(
        new Proc("_relay_clients.ts", { url, first, count, total, seconds }, { stdin: true }),
      );
    }
    for (const p of ps) await p.next(60_000);
    await relay.ask("mark");
    if (profile) await relay.ask("profile");
    for (const p of ps) await p.send("go");
    const results = await Promise.all(
      ps.map((p) =>
        p.next<{ seconds: number; clients: { i: number; rxBytes: number }[] }>(
          seconds * 1000 + 60_000,
        )
      ),
    );
    const since = await relay.ask<Since>("since");
    const top = profile ? (await relay.ask<{ top: ProfileEntry[] }>("top 12")).top : undefined;
    const rx = results.flatMap((r) => r.clients.map((c) => c.rxBytes));
    const secs = Math.max(...results.map((r) => r.seconds));
    const aggregate = rx.reduce((a, b) => a + b, 0);
    const fair = aggregate / total;
    return {
      gbps: gbps(aggregate, secs),
      minShare: Math.min(...rx) / fair,
      maxShare: Math.max(...rx) / fair,
      cpuUsPerFrame: since.cpuUs / Math.max(1, since.framesIn),
      dropped: since.dropped,
      ...(top !== undefined ? { profile: top } : {}),
    };
  } finally {
    for (const p of ps) await p.end();
    await relay.ask("quit").catch(() => {});
    await relay.end();
  }
}

/** Seconds for `bytes` over the in-memory pipe (virtual time, wall-clock measured). */
async function pipeSeconds(bytes: number): Promise<number> {
  const p = pair({ seed: 1, mtu: 1500, impair: {} });
  const { listener, client, server } = connectPair(p, 8080);
  const data = randomBytes(bytes, 7);
  const t0 = performance.now();
  const r = exchange(p, client, server, data, new Uint8Array(0));
  const t1 = performance.now();
  if (r.xError !== 0 || r.yError !== 0 || r.atY.length !== bytes) {
    throw new Error(`pipe transfer failed: ${r.xError}/${r.yError}, got ${r.atY.length} bytes`);
  }
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
  return (t1 - t0) / 1000;
}

async function medianOf(
  f: (rep: number) => Promise<RunResult>,
): Promise<RunResult & { runs: number[] }> {
  const rs: RunResult[] = [];
  for (let i = 0; i < REPS; i++) rs.push(await f(i));
  const m = median(rs.map((r) => r.gbps));
  const mid = rs.find((r) => r.gbps === m)!;
  return { ...mid, runs: rs.map((r) => r.gbps), profile: rs.find((r) => r.profile)?.profile ?? [] };
}

const fmt = (r: RunResult & { runs: number[] }) => [
  r.gbps.toFixed(3),
  r.runs.map((x) => x.toFixed(2)).join(" "),
  r.cpuUsPerFrame.toFixed(2),
  r.framesPerMessage.toFixed(1),
];

/** The relay rows. */
export const relayBench: BenchModule = {
  name: "relay",
  async run(report?: BenchReport) {
    const rows: string[][] = [];
    /** Rows for `--json`: label and the median run. */
    const json: { measure: string; r: RunResult & { runs: number[] } }[] = [];
    const frame = await medianOf(() => stackToStack("frame", false));
    rows.push([`stack → WebSocket → relay → WebSocket → stack, 1 frame/message`, ...fmt(frame)]);
    json.push({ measure: rows.at(-1)![0]!, r: frame });
    const batch = await medianOf((i) => stackToStack("batch", i === 0));
    rows.push([`stack → WebSocket → relay → WebSocket → stack, batches`, ...fmt(batch)]);
    json.push({ measure: rows.at(-1)![0]!, r: batch });
    const tap = interopAvailable({ tools: ["python3"] });
    if (tap.ok) {
      await withNetns(async (ns) => {
        const up = await medianOf(() => stackTap(ns, true));
        rows.push(["stack → WebSocket → relay → TAP → Linux, batches", ...fmt(up)]);
        json.push({ measure: rows.at(-1)![0]!, r: up });
        const down = await medianOf(() => stackTap(ns, false));
        rows.push(["Linux → TAP → relay → WebSocket → stack, batches", ...fmt(down)]);
        json.push({ measure: rows.at(-1)![0]!, r: down });
        const upOff = await medianOf(() => stackTap(ns, true, true));
        rows.push([
          "stack → WebSocket → relay → TAP → Linux, batches, relay --offload",
          ...fmt(upOff),
        ]);
        json.push({ measure: rows.at(-1)![0]!, r: upOff });
        const downOff = await medianOf(() => stackTap(ns, false, true));
        rows.push([
          "Linux → TAP → relay → WebSocket → stack, batches, relay --offload",
          ...fmt(downOff),
        ]);
        json.push({ measure: rows.at(-1)![0]!, r: downOff });
      }, { openTap: false });
    } else {
      rows.push([`(TAP rows skipped: ${tap.reason})`, "", "", "", ""]);
    }
    await pipeSeconds(8 * MIB); // warm-up
    const pipe = await pipeSeconds(BYTES);
    rows.push([
      "reference: stack ↔ stack, in-memory pipe (virtual time, one thread)",
      gbps(BYTES, pipe).toFixed(3),
      "",
      "",
      "",
    ]);
    console.log(
      `TCP bulk, ${BYTES / MIB} MiB one way, MTU 1500, median of ${REPS}; ` +
        "relay, stacks and Linux peer in separate processes, 127.0.0.1\n",
    );
    console.log(table(["path", "Gbit/s", "runs", "relay µs/frame", "frames/msg"], rows));
    const pipeGbps = gbps(BYTES, pipe);
    for (const { measure, r } of json) {
      report?.add("relay", {
        measure,
        unit: "Gbit/s",
        netwasm: r.gbps,
        note: `median of ${r.runs.map((x) => x.toFixed(3)).join(", ")}; relay ` +
          `${r.cpuUsPerFrame.toFixed(2)} µs/frame; in-memory pipe reference in the same run ` +
          `${pipeGbps.toFixed(3)} Gbit/s; issue 10 target ≥ 1 Gbit/s`,
      });
    }
    if (batch.profile && batch.profile.length > 0) {
      console.log("\nrelay process, inspector CPU profile during a batch run (self time):");
      console.log(formatProfile(batch.profile));
    }
    const total = 100;
    const seconds = QUICK ? 3 : 8;
    const scale: ScaleResult[] = [];
    for (let i = 0; i < REPS; i++) scale.push(await manyClients(total, 4, seconds, i === 0));
    const s = scale.find((x) => x.gbps === median(scale.map((y) => y.gbps)))!;
    console.log(
      `\n${total} relay clients at once (4 processes, a ring of raw full-size frames, batches, ` +
        `default relay limits), ${seconds} s, median of ${REPS}:\n`,
    );
    console.log(
      table([
        "aggregate Gbit/s",
        "runs",
        "slowest/fair",
        "fastest/fair",
        "relay µs/frame",
        "dropped",
      ], [[
        s.gbps.toFixed(3),
        scale.map((x) => x.gbps.toFixed(2)).join(" "),
        s.minShare.toFixed(2),
        s.maxShare.toFixed(2),
        s.cpuUsPerFrame.toFixed(2),
        String(s.dropped),
      ]]),
    );
    report?.add("relay", {
      measure: `${total} relay clients at once, aggregate`,
      unit: "Gbit/s",
      netwasm: s.gbps,
      note: `median of ${REPS}; slowest ${s.minShare.toFixed(2)}× and fastest ` +
        `${s.maxShare.toFixed(2)}× the fair share; relay ${s.cpuUsPerFrame.toFixed(2)} µs/frame; ` +
        `${s.dropped} dropped; issue 10 target ≥ 1 Gbit/s, each client within 2× of fair`,
    });
    const scaleProfile = scale.find((x) => x.profile)?.profile ?? [];
    if (scaleProfile.length > 0) {
      console.log(
        "\nrelay process, inspector CPU profile during the first 100-client run (self time):",
      );
      console.log(formatProfile(scaleProfile));
    }
  },
};
