/**
 * A UDP echo server (RFC 862) on a {@link Stack}'s `listenDatagram`: every
 * datagram is sent back to where it came from.
 *
 * Datagrams sent to a broadcast (limited or directed) or multicast address
 * are ignored and counted unless `broadcast` is set: one spoofed datagram to
 * a broadcast address would otherwise make every echo server on the link
 * answer the victim at once (the "fraggle" reflector, CVE-1999-0103; RFC
 * 1122 §4.1.3.6 lets a UDP application know the destination address, and
 * Linux servers bound to INADDR_ANY see broadcasts too).
 *
 * Shared by `netwasm echo --udp PORT` (real time, on a TAP) and the demo
 * (virtual time, in memory).
 *
 * @module
 */
import type { Stack } from "../api/stack.ts";
import type { NetAddr } from "../api/datagram.ts";
import { IPV4_BROADCAST, isMulticast, tryParseIpv4 } from "../wire/addr.ts";

/** Options for {@link runEchoServer}. */
export interface EchoServerOptions {
  /** UDP port to listen on. */
  port: number;
  /** Local address to bind (default: all of the stack's addresses). */
  hostname?: string;
  /** No line per datagram. */
  quiet?: boolean;
  /** Also answer datagrams sent to a broadcast or multicast address (default false: ignored, counted). */
  broadcast?: boolean;
  /** Stops the server: the socket is closed and the promise resolves. */
  signal?: AbortSignal;
  /** Where lines go (default `console.log`). */
  write?: (line: string) => void;
  /** Called once the socket is bound (e.g. to print where it listens). */
  onListen?: (addr: NetAddr) => void;
}

/** What an echo server did. */
export interface EchoServerStats {
  /** Datagrams received and echoed. */
  datagrams: number;
  /** Payload bytes of those. */
  bytes: number;
  /** Datagrams sent to a broadcast or multicast address, not answered (without `broadcast`). */
  ignoredBroadcast: number;
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
  const stats: EchoServerStats = { datagrams: 0, bytes: 0, ignoredBroadcast: 0 };
  if (options.signal?.aborted) return stats;
  const conn = stack.listenDatagram({
    port: options.port,
    transport: "udp",
    ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
  });
  const stop = () => conn.close();
  options.signal?.addEventListener("abort", stop, { once: true });
  options.onListen?.(conn.addr);
  // recvfrom on the descriptor, not the iterator: it says where each
  // datagram was sent (RFC 1122 §4.1.3.5), which the broadcast check needs.
  const buf = new Uint8Array(65536);
  const recvOptions = options.signal !== undefined ? { signal: options.signal } : {};
  try {
    for (;;) {
      const r = await stack.sockets.recvfrom(conn.fd, buf, 0, recvOptions);
      if (r.from === null) break; // receive side shut down
      const from = { hostname: r.from.address, port: r.from.port };
      if (!options.broadcast && isBroadcastOrMulticast(stack, r.to?.address)) {
        stats.ignoredBroadcast++;
        if (!options.quiet) {
          write(`${from.hostname}:${from.port}  to ${r.to?.address}: broadcast/multicast, ignored`);
        }
        continue;
      }
      const data = buf.subarray(0, r.bytes);
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

/**
 * Whether `address` (a datagram's destination) is the limited broadcast, a
 * multicast group or the directed broadcast of one of the stack's subnets.
 */
function isBroadcastOrMulticast(stack: Stack, address: string | undefined): boolean {
  const a = address === undefined ? null : tryParseIpv4(address);
  if (a === null) return false;
  const dst = a >>> 0;
  if (dst === IPV4_BROADCAST || isMulticast(dst)) return true;
  return stack.interfaces.some((i) => i.broadcast >= 0 && i.broadcast >>> 0 === dst);
}
