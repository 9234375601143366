/**
 * A UDP echo server (RFC 862) on a {@link Stack}'s `listenDatagram`: every
 * datagram is sent back to where it came from.
 *
 * Shared by `netwasm echo --udp PORT` (real time, on a TAP) and the demo
 * (virtual time, in memory).
 *
 * @module
 */
import type { Stack } from "../api/stack.ts";
import type { NetAddr } from "../api/datagram.ts";

/** Options for {@link runEchoServer}. */
export interface EchoServerOptions {
  /** UDP port to listen on. */
  port: number;
  /** Local address to bind (default: all of the stack's addresses). */
  hostname?: string;
  /** No line per datagram. */
  quiet?: boolean;
  /** Stops the server: the socket is closed and the promise resolves. */
  signal?: AbortSignal;
  /** Where lines go (default `console.log`). */
  write?: (line: string) => void;
  /** Called once the socket is bound (e.g. to print where it listens). */
  onListen?: (addr: NetAddr) => void;
}

/** What an echo server did. */
export interface EchoServerStats {
  /** Datagrams received (and echoed). */
  datagrams: number;
  /** Payload bytes received. */
  bytes: number;
}

/**
 * Echo datagrams until `signal` aborts. Rejects if the port cannot be bound
 * (`AddrInUse`, …) or the socket fails for another reason than being closed.
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { runEchoServer } from "./echo.ts";
 * const stack = new Stack();
 * const stop = new AbortController();
 * const done = runEchoServer(stack, { port: 7, signal: stop.signal });
 * stop.abort();
 * await done;
 * await stack.close();
 * ```
 */
export async function runEchoServer(
  stack: Stack,
  options: EchoServerOptions,
): Promise<EchoServerStats> {
  const write = options.write ?? ((l: string) => console.log(l));
  const stats: EchoServerStats = { datagrams: 0, bytes: 0 };
  if (options.signal?.aborted) return stats;
  const conn = stack.listenDatagram({
    port: options.port,
    transport: "udp",
    ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
  });
  const stop = () => conn.close();
  options.signal?.addEventListener("abort", stop, { once: true });
  options.onListen?.(conn.addr);
  try {
    for await (const [data, from] of conn) {
      stats.datagrams++;
      stats.bytes += data.length;
      if (!options.quiet) write(`${from.hostname}:${from.port}  ${data.length} bytes`);
      try {
        await conn.send(data, from);
      } catch (e) {
        // One peer we cannot answer (no ARP reply, message too long) must not
        // stop the server: report it and go on.
        if (options.signal?.aborted) break;
        write(`  could not echo to ${from.hostname}:${from.port}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    // Closing the socket ends a pending receive with an error; that is the
    // normal way out. Anything else is a real failure.
    if (!options.signal?.aborted) throw e;
  } finally {
    options.signal?.removeEventListener("abort", stop);
    try {
      conn.close();
    } catch { /* already closed by the abort */ }
  }
  return stats;
}
