/**
 * A TCP echo server (RFC 862) on a {@link Stack}'s `listen`: every byte a
 * client sends comes back on the same connection. Connections are served
 * concurrently; each one is echoed until the client's FIN (half-close), then
 * our side closes too. One line per connection unless quiet.
 *
 * Shared by `netwasm echo --tcp PORT` (real time, on a TAP) and the tests.
 *
 * @module
 */
import type { Stack } from "../api/stack.ts";
import type { Conn, TcpNetAddr } from "../api/conn.ts";
import { serveConnections } from "./serve.ts";

/** Options for {@link runTcpEchoServer}. */
export interface TcpEchoServerOptions {
  /** TCP port to listen on. */
  port: number;
  /** Local address (default: all of the stack's addresses). */
  hostname?: string;
  /** No line per connection. */
  quiet?: boolean;
  /** Stops the server: the listener and every connection are closed, then the promise resolves. */
  signal?: AbortSignal;
  /** Where lines go (default `console.log`). */
  write?: (line: string) => void;
  /** Called once listening (e.g. to print where). */
  onListen?: (addr: TcpNetAddr) => void;
  /** Accept-queue length (default 1024: a burst of clients connecting at once). */
  backlog?: number;
}

/** What a TCP echo server did. */
export interface TcpEchoServerStats {
  /** Connections accepted. */
  connections: number;
  /** Connections that ended with the client's FIN and were closed cleanly. */
  completed: number;
  /** Connections that ended with an error (reset, timeout, shutdown). */
  failed: number;
  /** Bytes echoed, over all connections. */
  bytes: number;
}

/** Bytes read per `read()`. */
const ECHO_CHUNK = 64 * 1024;

/**
 * Echo TCP connections until `signal` aborts. Rejects if the port cannot be
 * bound (`AddrInUse`, …).
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { runTcpEchoServer } from "./tcp_echo.ts";
 * const stack = new Stack();
 * const stop = new AbortController();
 * const done = runTcpEchoServer(stack, { port: 7, signal: stop.signal });
 * stop.abort();
 * await done;
 * await stack.close();
 * ```
 */
export async function runTcpEchoServer(
  stack: Stack,
  options: TcpEchoServerOptions,
): Promise<TcpEchoServerStats> {
  const write = options.write ?? ((l: string) => console.log(l));
  const stats: TcpEchoServerStats = { connections: 0, completed: 0, failed: 0, bytes: 0 };
  if (options.signal?.aborted) return stats;
  const listener = stack.listen({
    port: options.port,
    ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
    backlog: options.backlog ?? 1024,
  });
  options.onListen?.(listener.addr);
  await serveConnections(listener, {
    signal: options.signal,
    accept(conn) {
      stats.connections++;
      const done = echoConnection(conn, stack.clock.now.bind(stack.clock)).then((r) => {
        stats.bytes += r.bytes;
        if (r.error === null) stats.completed++;
        else stats.failed++;
        if (!options.quiet) {
          const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
          const secs = (r.ms / 1000).toFixed(3);
          write(
            r.error === null
              ? `${peer}  ${r.bytes} bytes echoed in ${secs} s, closed after the client's FIN`
              : `${peer}  ${r.bytes} bytes echoed in ${secs} s, then ${
                options.signal?.aborted ? "closed by shutdown" : r.error
              }`,
          );
        }
      });
      return { abort: () => closeQuietly(conn), done };
    },
  });
  return stats;
}

/** One connection's outcome. */
interface EchoOutcome {
  bytes: number;
  ms: number;
  /** Null after a clean end (FIN echoed by our FIN), else what went wrong. */
  error: string | null;
}

/**
 * Echo one connection: read, write the same bytes back (each write waits
 * for send-buffer space, so a client that does not read stalls us, not our
 * memory), until the client's FIN; then close. Never rejects.
 */
async function echoConnection(conn: Conn, now: () => number): Promise<EchoOutcome> {
  const t0 = now();
  const buf = new Uint8Array(ECHO_CHUNK);
  let bytes = 0;
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break; // the client's FIN: everything it sent is echoed
      await conn.write(buf.subarray(0, n));
      bytes += n;
    }
    closeQuietly(conn); // our FIN after the echoed data
    return { bytes, ms: now() - t0, error: null };
  } catch (e) {
    closeQuietly(conn);
    const err = e as Error;
    return { bytes, ms: now() - t0, error: `${err.name}: ${err.message}` };
  }
}

function closeQuietly(conn: Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
