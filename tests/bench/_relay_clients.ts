/**
 * Many relay clients in one process, for the relay-scale benchmark:
 * `deno run -A _relay_clients.ts 'JSON'` with {@link ClientsConfig}. Each
 * client is a WebSocket (batch framing, TCP_NODELAY) with its own MAC; the
 * clients of all processes form a ring — client i sends full-size frames
 * to client i + 1 — so every client sends and receives at once. Frames are
 * raw Ethernet (EtherType 0x88b5, IEEE 802 local experimental), not TCP:
 * the benchmark measures the relay, not the clients' stacks.
 *
 * Protocol on stdio: prints `{"ready": true}` once every client is
 * connected and has announced its MAC (a frame to itself, which the switch
 * learns and filters); on the line `go` it sends for `seconds`, each client
 * keeping at most `window` bytes unsent in its socket; then it waits a
 * little for frames in flight and prints per-client bytes received.
 *
 * @module
 */
import { TcpWebSocket } from "../../src/link/ws_client.ts";
import { BATCH_PROTOCOL } from "../../src/link/ws_batch.ts";

/** What one process does. */
export interface ClientsConfig {
  /** Relay URL. */
  readonly url: string;
  /** Index of this process's first client in the ring. */
  readonly first: number;
  /** Clients in this process. */
  readonly count: number;
  /** Clients in the whole ring. */
  readonly total: number;
  /** Seconds of sending. */
  readonly seconds: number;
  /** Bytes a client may have unsent in its socket (default 256 KiB). */
  readonly window?: number;
  /** Frame size (default 1514). */
  readonly frameBytes?: number;
}

const mac = (i: number): number[] => [0x02, 0x4e, 0x57, 0, (i >> 8) & 0xff, i & 0xff];

/** One batch message: as many frames from `from` to `to` as fit in 64 KiB. */
function batch(from: number, to: number, frameBytes: number): Uint8Array {
  const per = Math.floor(65536 / (frameBytes + 2));
  const out = new Uint8Array(per * (frameBytes + 2));
  for (let k = 0; k < per; k++) {
    const at = k * (frameBytes + 2);
    out[at] = frameBytes >> 8;
    out[at + 1] = frameBytes & 0xff;
    out.set(mac(to), at + 2);
    out.set(mac(from), at + 8);
    out[at + 14] = 0x88;
    out[at + 15] = 0xb5;
    for (let i = 16; i < frameBytes + 2; i++) out[at + i] = (i * 7 + k) & 0xff;
  }
  return out;
}

/** Count frames and bytes in a received batch. */
function count(bytes: Uint8Array, at: number, len: number): [number, number] {
  let frames = 0;
  let n = 0;
  for (let p = at; p + 2 <= at + len;) {
    const l = (bytes[p]! << 8) | bytes[p + 1]!;
    p += 2 + l;
    frames++;
    n += l;
  }
  return [frames, n];
}

if (import.meta.main) {
  const cfg = JSON.parse(Deno.args[0]!) as ClientsConfig;
  const frameBytes = cfg.frameBytes ?? 1514;
  const window = cfg.window ?? 256 << 10;
  const out = (v: unknown) => console.log(JSON.stringify(v));
  const clients = await Promise.all(
    Array.from({ length: cfg.count }, async (_, k) => {
      const i = cfg.first + k;
      const ws = new TcpWebSocket(cfg.url, { protocols: [BATCH_PROTOCOL] });
      const c = {
        i,
        ws,
        rxFrames: 0,
        rxBytes: 0,
        txFrames: 0,
        msg: batch(i, (i + 1) % cfg.total, frameBytes),
      };
      ws.onbinary = (b, at, len) => {
        const [f, n] = count(b, at, len);
        c.rxFrames += f;
        c.rxBytes += n;
      };
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onclose = (e) => reject(new Error(`client ${i}: closed ${e.code} ${e.reason}`));
      });
      if (ws.protocol !== BATCH_PROTOCOL) throw new Error(`client ${i}: no batch framing`);
      // Announce: one frame to ourselves (learned, then filtered).
      const hello = batch(i, i, 60).subarray(0, 62);
      ws.send(hello);
      return c;
    }),
  );
  out({ ready: true });
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    if (decoder.decode(chunk).includes("go")) break;
  }
  const perMsg = clients[0]!.msg.length / (frameBytes + 2);
  const t0 = performance.now();
  const end = t0 + cfg.seconds * 1000;
  // Round-robin over the clients: each sends while its socket has room.
  while (performance.now() < end) {
    let sent = 0;
    for (const c of clients) {
      if (c.ws.bufferedAmount < window) {
        c.ws.send(c.msg);
        c.txFrames += perMsg;
        sent++;
      }
    }
    // Let the writes and the received messages run.
    await new Promise((r) => setTimeout(r, sent === 0 ? 1 : 0));
  }
  const seconds = (performance.now() - t0) / 1000;
  // Frames in flight arrive within a moment.
  await new Promise((r) => setTimeout(r, 500));
  out({
    seconds,
    clients: clients.map((c) => ({
      i: c.i,
      rxBytes: c.rxBytes,
      rxFrames: c.rxFrames,
      txFrames: c.txFrames,
    })),
  });
  for (const c of clients) c.ws.close();
  await new Promise((r) => setTimeout(r, 200));
  Deno.exit(0);
}
