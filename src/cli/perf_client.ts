/**
 * `netwasm perf -c HOST`: the client side of an iperf3 test — connect the
 * control channel, send the parameters, open the data streams, run for
 * `-t` seconds or `-n` bytes, end the test, exchange results and print the
 * summary. The peer is `iperf3 -s` (or `netwasm perf -s`).
 *
 * @module
 */
import type { Conn } from "../api/conn.ts";
import type { DatagramConn, NetAddr } from "../api/datagram.ts";
import type { Stack } from "../api/stack.ts";
import { bigReceiveBuffer, PerfRun, PerfStream, summarize } from "./perf_engine.ts";
import {
  DEFAULT_TCP_BLKSIZE,
  DEFAULT_UDP_BLKSIZE,
  DEFAULT_UDP_RATE,
  makeCookie,
  PerfProtocolError,
  type PerfResults,
  PerfState,
  readJson,
  readState,
  streamId,
  UDP_CONNECT_MSG,
  writeAll,
  writeJson,
  writeState,
} from "./perf_proto.ts";

/** What `netwasm perf -c` was asked to do. */
export interface PerfClientOptions {
  /** Server address. */
  readonly host: string;
  /** Server port (default 5201). */
  readonly port: number;
  /** Test length in seconds (default 10; ignored with bytes/blocks). */
  readonly time: number;
  /** Bytes to move (0: use the time). */
  readonly bytes: number;
  /** Parallel streams. */
  readonly parallel: number;
  /** Server sends, client receives. */
  readonly reverse: boolean;
  /** UDP instead of TCP. */
  readonly udp: boolean;
  /** Target rate, bits/s per stream (UDP default 1 Mbit/s; TCP 0 = unlimited). */
  readonly rate?: number;
  /** Block size (default 128 KiB for TCP, the control connection's MSS for UDP). */
  readonly len?: number;
  /** Seconds between interval reports (0: none). */
  readonly interval: number;
  /** TCP_NODELAY on the data streams. */
  readonly noDelay: boolean;
  /** Print iperf3-shaped JSON at the end instead of text. */
  readonly json: boolean;
  /** Output lines. */
  readonly out: (line: string) => void;
  /** Abort the test (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** Raised for a server that refuses or fails the test. */
export class PerfServerError extends Error {
  /** An error reported by (or about) the server. */
  constructor(message: string) {
    super(message);
    this.name = "PerfServerError";
  }
}

/**
 * Run one test against an iperf3 server; resolves with the JSON report (also
 * printed with `json`), or rejects with {@link PerfServerError} /
 * {@link PerfProtocolError} / a connection error.
 *
 * @example
 * ```ts ignore
 * // await runPerfClient(host.stack, { host: "192.0.2.1", port: 5201, time: 3, … });
 * ```
 */
export async function runPerfClient(
  stack: Stack,
  o: PerfClientOptions,
): Promise<Record<string, unknown>> {
  const out = o.json ? () => {} : o.out;
  const cookie = makeCookie();
  out(`Connecting to host ${o.host}, port ${o.port}`);
  if (o.reverse) out(`Reverse mode, remote host ${o.host} is sending`);
  const control = await stack.connect({ hostname: o.host, port: o.port });
  const streams: PerfStream[] = [];
  const udpSockets: DatagramConn[] = [];
  let run: PerfRun | null = null;
  let peer: PerfResults | null = null;
  const connected: Record<string, unknown>[] = [];
  const start: Record<string, unknown> = {};
  const onAbort = () => {
    try {
      control.close();
    } catch { /* closed */ }
  };
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await writeAll(control, cookie);
    const mss = stack.sockets.list().find((r) => r.fd === control.fd)?.tcp?.mss ?? 0;
    const len = o.len ?? (o.udp ? (mss > 0 ? mss : DEFAULT_UDP_BLKSIZE) : DEFAULT_TCP_BLKSIZE);
    const rate = o.rate ?? (o.udp ? DEFAULT_UDP_RATE : 0);
    const useBytes = o.bytes > 0;
    const params = {
      ...(o.udp ? { udp: true } : { tcp: true }),
      omit: 0,
      time: useBytes ? 0 : o.time,
      ...(useBytes ? { num: o.bytes } : {}),
      ...(o.noDelay ? { nodelay: true } : {}),
      parallel: o.parallel,
      ...(o.reverse ? { reverse: true } : {}),
      len,
      ...(rate > 0 ? { bandwidth: rate } : {}),
      pacing_timer: 1000,
      client_version: "3.12",
    };
    Object.assign(start, {
      connecting_to: { host: o.host, port: o.port },
      cookie: new TextDecoder().decode(cookie.subarray(0, 36)),
      ...(mss > 0 ? { tcp_mss_default: mss } : {}),
      test_start: {
        protocol: o.udp ? "UDP" : "TCP",
        num_streams: o.parallel,
        blksize: len,
        omit: 0,
        duration: useBytes ? 0 : o.time,
        bytes: o.bytes,
        blocks: 0,
        reverse: o.reverse ? 1 : 0,
        tos: 0,
        target_bitrate: rate,
      },
    });
    let endTimer: ReturnType<typeof setTimeout> | undefined;
    let watchdog: ReturnType<typeof setInterval> | undefined;
    const endTest = () => {
      if (endTimer !== undefined) clearTimeout(endTimer);
      if (watchdog !== undefined) clearInterval(watchdog);
      endTimer = watchdog = undefined;
      if (run === null || !run.running) return;
      run.stop();
      writeState(control, PerfState.TEST_END).catch(() => {});
    };
    const loop = async () => {
      for (;;) {
        const state = await readState(control);
        if (state === null) throw new PerfProtocolError("the server closed the control connection");
        switch (state) {
          case PerfState.PARAM_EXCHANGE:
            await writeJson(control, params);
            break;
          case PerfState.CREATE_STREAMS:
            for (let i = 0; i < o.parallel; i++) {
              const s = o.udp
                ? await udpStream(stack, o, i, udpSockets)
                : await tcpStream(stack, o, i, cookie);
              streams.push(s);
              const c = s.conn;
              const local = c?.localAddr ?? s.udp!.addr;
              const remote = c?.remoteAddr ?? s.peer!;
              connected.push({
                socket: s.label,
                local_host: local.hostname,
                local_port: local.port,
                remote_host: remote.hostname,
                remote_port: remote.port,
              });
              out(
                `[${String(s.label).padStart(3)}] local ${local.hostname} port ${local.port} ` +
                  `connected to ${remote.hostname} port ${remote.port}`,
              );
            }
            break;
          case PerfState.TEST_START:
            run = new PerfRun(streams, {
              stack,
              udp: o.udp,
              sending: !o.reverse,
              len,
              rate,
              bytes: o.bytes,
              blocks: 0,
              interval: o.interval,
              counters64: false,
              json: o.json,
              out,
            });
            break;
          case PerfState.TEST_RUNNING: {
            const r = run as PerfRun | null;
            if (r === null) throw new PerfProtocolError("TEST_RUNNING before TEST_START");
            r.start(endTest);
            for (const s of streams) if (s.udp !== null && !s.sender) pumpUdp(r, s);
            if (!useBytes) endTimer = setTimeout(endTest, o.time * 1000);
            else if (o.reverse) {
              // -R -n: the server stops at -n bytes; if some never arrive (UDP
              // loss), end the test once nothing has come for 2 s.
              let last = -1;
              let idle = 0;
              watchdog = setInterval(() => {
                const b = streams.reduce((a, s) => a + s.bytes, 0);
                if (b !== last) {
                  last = b;
                  idle = 0;
                } else if (b > 0 && ++idle >= 4) endTest();
              }, 500);
            }
            break;
          }
          case PerfState.EXCHANGE_RESULTS: {
            const r = run as PerfRun | null;
            if (r === null) throw new PerfProtocolError("EXCHANGE_RESULTS before the test ran");
            r.stop();
            await writeJson(control, r.results());
            peer = await readJson(control) as PerfResults;
            if (peer === null || !Array.isArray(peer.streams)) {
              throw new PerfProtocolError("the server's results have no streams");
            }
            break;
          }
          case PerfState.DISPLAY_RESULTS:
            await (run as PerfRun | null)?.close();
            await writeState(control, PerfState.IPERF_DONE);
            return;
          case PerfState.SERVER_TERMINATE:
            throw new PerfServerError("the server has terminated");
          case PerfState.ACCESS_DENIED:
            throw new PerfServerError(
              "the server is busy running a test. try again later",
            );
          case PerfState.SERVER_ERROR: {
            const e = await readErrorPair(control);
            throw new PerfServerError(`the server reported error ${e[0]} (errno ${e[1]})`);
          }
          default:
            throw new PerfProtocolError(`unexpected state ${state} from the server`);
        }
      }
    };
    try {
      await loop();
    } finally {
      if (endTimer !== undefined) clearTimeout(endTimer);
      if (watchdog !== undefined) clearInterval(watchdog);
    }
    const r = run as PerfRun | null;
    if (r === null) throw new PerfProtocolError("the test never started");
    const summary = summarize(r, peer);
    for (const l of summary.lines) out(l);
    out("");
    out("iperf Done.");
    const report = {
      start: {
        connected,
        version: "netwasm perf (iperf3 protocol 3.12)",
        system_info: `netwasm on Deno ${Deno.version.deno}`,
        timestamp: { time: new Date().toUTCString(), timesecs: Math.floor(Date.now() / 1000) },
        ...start,
      },
      intervals: r.intervals,
      end: summary.end,
    };
    if (o.json) o.out(JSON.stringify(report, null, 2));
    return report;
  } catch (e) {
    if (o.signal?.aborted) {
      // Ctrl-C: tell the server, as iperf3 does on SIGINT.
      await writeState(control, PerfState.CLIENT_TERMINATE).catch(() => {});
    }
    throw e;
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    await (run as PerfRun | null)?.close();
    for (const s of streams) {
      try {
        s.conn?.close();
      } catch { /* closed */ }
    }
    for (const u of udpSockets) {
      try {
        u.close();
      } catch { /* closed */ }
    }
    try {
      control.close();
    } catch { /* closed */ }
  }
}

async function tcpStream(
  stack: Stack,
  o: PerfClientOptions,
  i: number,
  cookie: Uint8Array,
): Promise<PerfStream> {
  const conn: Conn = await stack.connect({ hostname: o.host, port: o.port });
  if (o.noDelay) conn.setNoDelay(true);
  await writeAll(conn, cookie);
  return new PerfStream({ id: streamId(i), label: conn.fd, sender: !o.reverse, conn });
}

async function udpStream(
  stack: Stack,
  o: PerfClientOptions,
  i: number,
  sockets: DatagramConn[],
): Promise<PerfStream> {
  const sock = stack.listenDatagram({ port: 0 });
  sockets.push(sock);
  bigReceiveBuffer(stack, sock.fd);
  const peer: NetAddr = { transport: "udp", hostname: o.host, port: o.port };
  const hello = new Uint8Array(4);
  new DataView(hello.buffer).setUint32(0, UDP_CONNECT_MSG, true); // host byte order, as iperf3
  // The hello may be lost: repeat it (bounded) until the server answers.
  const buf = new Uint8Array(64);
  for (let attempt = 0;; attempt++) {
    await sock.send(hello, peer);
    const reply = await Promise.race([
      sock.receive(buf).then(([d, from]) => ({ d, from })),
      new Promise<null>((r) => setTimeout(() => r(null), 1000)),
    ]);
    if (reply !== null && reply.from.port === o.port) break;
    if (attempt >= 9) throw new PerfServerError("no answer to the UDP stream hello in 10 s");
  }
  return new PerfStream({ id: streamId(i), label: sock.fd, sender: !o.reverse, udp: sock, peer });
}

/** Receive loop of a UDP receiver stream on its own socket. */
function pumpUdp(run: PerfRun, s: PerfStream): void {
  const buf = new Uint8Array(65536);
  (async () => {
    for (;;) {
      const [d, from] = await s.udp!.receive(buf);
      if (from.port !== s.peer!.port) continue;
      run.udpDeliver(s, d);
    }
  })().catch(() => {/* socket closed at the end */});
}

async function readErrorPair(control: Conn): Promise<[number, number]> {
  const b = new Uint8Array(8);
  let got = 0;
  while (got < 8) {
    const n = await control.read(b.subarray(got));
    if (n === null) break;
    got += n;
  }
  const v = new DataView(b.buffer);
  return [v.getInt32(0), v.getInt32(4)];
}
