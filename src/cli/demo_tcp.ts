/**
 * The demo's TCP steps: a bulk transfer across the lossy, corrupting WAN
 * with a progress bar, a sha256 check and throughput figures (simulated and
 * real), and HTTP from the server host's `http` handler across the LAN
 * (a file, a 404, and a refused connection).
 *
 * @module
 */
import type { DemoNet } from "./demo_net.ts";
import { formatBytes, formatRate, httpGet } from "./fetch.ts";
import { serveHttp } from "./http.ts";
import { memorySource } from "./http_files.ts";

/** What a step may use besides its output lines. */
export interface DemoStepIo {
  /** A transient line redrawn in place (a terminal's progress bar); null erases it. */
  live?: (line: string | null) => void;
}

/** Bytes sent across the WAN. */
export const TCP_DEMO_BYTES = 4 * 1024 * 1024;
/** The far host's sink port. */
const SINK_PORT = 5001;
const HTTP_PORT = 80;
/** Width of the progress bar in characters. */
const BAR = 32;

/**
 * Seeded bytes for the transfer (xorshift32), so the hash is checked
 * against data that is not all alike.
 */
function payload(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function sha256(data: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * `[########........]  2.0/4.0 MiB  50%  t=8.41 s`
 *
 * @example
 * ```ts
 * import { progressBar } from "./demo_tcp.ts";
 * progressBar(1, 4, 2.5); // "[########························]  1 B/4 B  25%  t=2.50 s"
 * ```
 */
export function progressBar(done: number, total: number, simSeconds: number): string {
  const f = total > 0 ? Math.min(1, done / total) : 1;
  const fill = Math.round(f * BAR);
  return `[${"#".repeat(fill)}${"·".repeat(BAR - fill)}]  ${formatBytes(done)}/${
    formatBytes(total)
  }  ${String(Math.floor(f * 100)).padStart(3)}%  t=${simSeconds.toFixed(2)} s`;
}

/**
 * 4 MiB from the client to the far host across the WAN (20 ms ± 8, 2 %
 * loss, reordering, duplicates, 4 % corrupted frames, MTU 1280): every
 * byte must arrive once and in order — checked by sha256 — while TCP
 * retransmits what was lost or damaged.
 */
export async function tcpTransfer(
  net: DemoNet,
  out: (line: string) => void,
  io: DemoStepIo = {},
): Promise<void> {
  const data = payload(TCP_DEMO_BYTES, net.seed);
  const sent = sha256(data);
  const listener = net.far.stack.listen({ port: SINK_PORT });
  const clock = net.clock;
  const wall0 = performance.now();
  const t0 = clock.now();
  let milestone = 0;
  const received = new Uint8Array(TCP_DEMO_BYTES);
  let got = 0;
  const retransBefore = net.client.stack.stats.tcp.retransSegs;
  const sink = (async () => {
    const conn = await listener.accept();
    try {
      for (;;) {
        const n = await conn.read(received.subarray(got));
        if (n === null) break;
        got += n;
        const t = (clock.now() - t0) / 1000;
        io.live?.(`      ${progressBar(got, TCP_DEMO_BYTES, t)}`);
        // Fixed lines at every quarter: the same for a seed, on any terminal.
        while (milestone < 4 && got >= ((milestone + 1) * TCP_DEMO_BYTES) / 4) {
          milestone++;
          io.live?.(null);
          out(progressBar(got, TCP_DEMO_BYTES, t));
        }
        if (got === TCP_DEMO_BYTES) break;
      }
    } finally {
      conn.close();
    }
  })();
  const source = (async () => {
    const conn = await net.client.stack.connect({ hostname: "198.51.100.2", port: SINK_PORT });
    try {
      for (let at = 0; at < data.length; at += 64 * 1024) {
        await conn.write(data.subarray(at, Math.min(data.length, at + 64 * 1024)));
      }
      await conn.closeWrite();
      // Wait for the sink's FIN: everything was delivered and acknowledged.
      await conn.read(new Uint8Array(1));
    } finally {
      conn.close();
    }
  })();
  try {
    await net.run(Promise.all([sink, source]));
  } finally {
    listener.close();
  }
  io.live?.(null);
  const simMs = clock.now() - t0;
  const wallMs = performance.now() - wall0;
  const [a, b] = await Promise.all([sent, sha256(received.subarray(0, got))]);
  const retrans = net.client.stack.stats.tcp.retransSegs - retransBefore;
  out(`sha256 sent     ${a}`);
  out(`sha256 received ${b}  ${a === b && got === TCP_DEMO_BYTES ? "✓ identical" : "✗ DIFFERENT"}`);
  out(
    `${formatBytes(got)} in ${(simMs / 1000).toFixed(2)} s simulated: ${
      formatRate(got, simMs)
    }; ${retrans} segments retransmitted`,
  );
  out(`(wall clock: ${(wallMs / 1000).toFixed(2)} s real, ${formatRate(got, wallMs)})`);
}

/**
 * The server host serves files from memory with the CLI's `http` handler;
 * the client fetches one across the LAN (sha256 checked), then a missing
 * one, then knocks on a port where nobody listens.
 */
export async function httpFetch(net: DemoNet, out: (line: string) => void): Promise<void> {
  const blob = payload(512 * 1024, net.seed + 1);
  const stop = new AbortController();
  const server = serveHttp(net.server.stack, {
    port: HTTP_PORT,
    files: memorySource({
      "/index.html": new TextEncoder().encode("<h1>netwasm demo</h1>\n"),
      "/blob.bin": blob,
    }),
    signal: stop.signal,
    write: (l) => out(`server: ${l}`),
  });
  try {
    const chunks: Uint8Array[] = [];
    const r = await net.run(httpGet(net.client.stack, `http://192.0.2.2/blob.bin`, {
      sink: (c) => void chunks.push(c.slice()),
    }));
    const body = new Uint8Array(r.bytes);
    let at = 0;
    for (const c of chunks) {
      body.set(c, at);
      at += c.length;
    }
    const same = await sha256(body) === await sha256(blob);
    out(
      `GET /blob.bin → ${r.status} ${r.reason}, ${formatBytes(r.bytes)} in ${
        (r.elapsedMs / 1000).toFixed(3)
      } s simulated (${formatRate(r.bytes, r.elapsedMs)}), sha256 ${
        same ? "✓ identical" : "✗ DIFFERENT"
      }`,
    );
    const missing = await net.run(httpGet(net.client.stack, `http://192.0.2.2/nope`));
    out(`GET /nope → ${missing.status} ${missing.reason}`);
    const t = net.clock.now();
    const refused = await net.run(
      net.client.stack.connect({ hostname: "192.0.2.2", port: 81 }).then(
        (c) => {
          c.close();
          return "connected?!";
        },
        (e: Error) => `${e.name} (${(e as { code?: string }).code ?? ""})`,
      ),
    );
    out(`connect 192.0.2.2:81 → ${refused} after ${(net.clock.now() - t).toFixed(1)} ms`);
  } finally {
    stop.abort();
    await net.run(server);
  }
}
