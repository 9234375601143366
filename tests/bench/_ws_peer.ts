/**
 * A netwasm stack on a {@link WebSocketLink} to a relay, as its own process,
 * for the relay benchmarks (each relay client is its own page or process in
 * every deployment): `deno run -A _ws_peer.ts 'JSON'` with
 * {@link PeerConfig}. It prints `{"ready": true}` once its link is up, then
 * does its role and prints one JSON result line:
 *
 * - `sink`: accept one TCP connection on `port` (or connect to
 *   `connectTo:port`), read to EOF; bytes, sha256 and seconds from the
 *   connection to EOF;
 * - `source`: connect to `to:port`, send `bytes` of a fixed pattern,
 *   half-close, wait for the peer's FIN; bytes, sha256 of what was sent and
 *   seconds from connect to FIN.
 *
 * The content check is a streaming sha256 (node:crypto, native) on both
 * sides; the pattern is a 1 MiB block of xorshift32 repeated.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Stack } from "../../src/api/stack.ts";
import { RealClock } from "../../src/core/clock.ts";
import { WebSocketLink } from "../../src/link/websocket.ts";
import { formatProfile, type Profiler, startProfile } from "./_profile.ts";

/** What a peer does. */
export interface PeerConfig {
  /** Relay URL. */
  readonly url: string;
  /** Our address with prefix, `192.0.2.10/24`. */
  readonly address: string;
  /** "sink" or "source". */
  readonly role: "sink" | "source";
  /** TCP port. */
  readonly port: number;
  /** Source: where to connect. */
  readonly to?: string;
  /** Source: bytes to send. */
  readonly bytes?: number;
  /** Link framing. */
  readonly framing?: "frame" | "batch";
  /** Source: ping `to` first (fills the ARP caches and the relay's MAC table). */
  readonly ping?: boolean;
  /** Socket buffers (TCP `rcvbuf`/`sndbuf`), bytes (default: the stack's). */
  readonly buffer?: number;
  /** Sink: connect to this address (and `port`) instead of listening. */
  readonly connectTo?: string;
  /** The link's `txQueueLimit` (default: the link's). */
  readonly txQueueLimit?: number;
}

/** A 1 MiB block of xorshift32 bytes (seeded). */
export function patternBlock(seed = 7): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(1 << 20);
  const w = new Uint32Array(out.buffer);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    w[i] = x;
  }
  return out;
}

/** sha256 (hex) of `bytes` of the repeated pattern block. */
export function patternSha(bytes: number, block = patternBlock()): string {
  const h = createHash("sha256");
  for (let at = 0; at < bytes; at += block.length) {
    h.update(block.subarray(0, Math.min(block.length, bytes - at)));
  }
  return h.digest("hex");
}

if (import.meta.main) {
  const cfg = JSON.parse(Deno.args[0]!) as PeerConfig;
  const clock = new RealClock();
  const stack = new Stack({
    clock,
    ...(cfg.buffer !== undefined ? { tcp: { rcvbuf: cfg.buffer, sndbuf: cfg.buffer } } : {}),
  });
  const link = await WebSocketLink.connect(cfg.url, {
    allocator: stack.allocator,
    clock,
    reconnect: false,
    framing: cfg.framing ?? "frame",
    ...(cfg.txQueueLimit !== undefined ? { txQueueLimit: cfg.txQueueLimit } : {}),
  });
  stack.addInterface(link, { address: cfg.address });
  const out = (v: unknown) => console.log(JSON.stringify(v));
  // NETWASM_PROFILE=1: an inspector CPU profile of the role, top entries on stderr.
  let profiler: Profiler | null = null;
  if (Deno.env.get("NETWASM_PROFILE") === "1") profiler = await startProfile();
  try {
    if (cfg.role === "sink") {
      const listener = cfg.connectTo === undefined ? stack.listen({ port: cfg.port }) : null;
      if (cfg.connectTo !== undefined) await stack.ping(cfg.connectTo, { timeout: 5000 });
      out({ ready: true, batching: link.batching });
      const conn = listener !== null
        ? await listener.accept()
        : await stack.connect({ hostname: cfg.connectTo!, port: cfg.port });
      const t0 = performance.now();
      const h = createHash("sha256");
      const buf = new Uint8Array(1 << 18);
      let n = 0;
      for (;;) {
        const r = await conn.read(buf);
        if (r === null) break;
        h.update(buf.subarray(0, r));
        n += r;
      }
      const seconds = (performance.now() - t0) / 1000;
      await conn.closeWrite();
      conn.close();
      listener?.close();
      out({ bytes: n, sha256: h.digest("hex"), seconds, link: link.wsStats });
    } else {
      const block = patternBlock();
      const total = cfg.bytes ?? 64 << 20;
      const sha256 = patternSha(total, block);
      if (cfg.ping) await stack.ping(cfg.to!, { timeout: 5000 });
      out({ ready: true, batching: link.batching });
      const t0 = performance.now();
      const conn = await stack.connect({ hostname: cfg.to!, port: cfg.port });
      // NETWASM_TRACE=1: the connection's TCP state every 200 ms on stderr.
      const trace = Deno.env.get("NETWASM_TRACE") === "1"
        ? setInterval(() => {
          for (const s of stack.sockets.list()) {
            if (s.tcp === undefined || s.state !== "ESTABLISHED") continue;
            console.error(
              `cwnd ${s.tcp.cwnd} sndWnd ${s.tcp.sndWnd} srtt ${s.tcp.srtt.toFixed(2)} ms ` +
                `sendQ ${s.sendQueue} buffered ${link.socket?.bufferedAmount} txq ${link.txQueue.length}`,
            );
          }
        }, 200)
        : undefined;
      for (let at = 0; at < total;) {
        const want = Math.min(block.length, total - at);
        let done = 0;
        while (done < want) done += await conn.write(block.subarray(done, want));
        at += want;
      }
      await conn.closeWrite();
      const sink = new Uint8Array(16);
      while ((await conn.read(sink)) !== null) { /* the peer's FIN */ }
      const seconds = (performance.now() - t0) / 1000;
      clearInterval(trace);
      conn.close();
      out({ bytes: total, sha256, seconds, link: link.wsStats });
    }
  } finally {
    if (profiler !== null) {
      const { top } = await profiler.stop(20);
      console.error(`profile of the ${cfg.role}:\n${formatProfile(top)}`);
    }
    await stack.close();
    link.close();
    clock.close();
  }
}
