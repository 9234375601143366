/**
 * `netwasm perf -s`: an iperf3 server. One test at a time (a second client
 * gets `ACCESS_DENIED`, as from iperf3); control and TCP data connections
 * share the listening port, UDP streams arrive on the same port number over
 * UDP. After each test it waits for the next (or returns, with `oneOff`).
 *
 * Bad input is refused, never fatal: a control connection that sends no
 * cookie or parameters within the setup deadline, malformed or unsupported
 * parameters (answered with `SERVER_ERROR`), a data connection with a wrong
 * cookie (`ACCESS_DENIED`), and a client that vanishes mid-test (the test is
 * abandoned `time + 10` seconds after it started).
 *
 * @module
 */
import type { Conn } from "../api/conn.ts";
import type { DatagramConn, NetAddr } from "../api/datagram.ts";
import type { Listener } from "../api/listener.ts";
import type { Stack } from "../api/stack.ts";
import { bigReceiveBuffer, PerfRun, PerfStream, summarize } from "./perf_engine.ts";
import {
  checkParams,
  COOKIE_SIZE,
  DEFAULT_TCP_BLKSIZE,
  DEFAULT_UDP_BLKSIZE,
  PerfErrno,
  type PerfParams,
  PerfProtocolError,
  type PerfResults,
  PerfState,
  readExact,
  readJson,
  readState,
  streamId,
  UDP_CONNECT_REPLY,
  writeJson,
  writeServerError,
  writeState,
} from "./perf_proto.ts";

/** What `netwasm perf -s` was asked to do. */
export interface PerfServerOptions {
  /** Port for control, TCP data and UDP data (default 5201). */
  readonly port: number;
  /** Serve one test, then return. */
  readonly oneOff: boolean;
  /** Seconds between interval reports (0: none). */
  readonly interval: number;
  /** JSON report per test instead of text. */
  readonly json: boolean;
  /** Output lines. */
  readonly out: (line: string) => void;
  /** Stop serving (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Called once the listener is up. */
  readonly onListen?: () => void;
  /** Longest wait for the cookie, parameters and streams of a test (ms, default 10 000). */
  readonly setupTimeoutMs?: number;
}

/** What a server run did. */
export interface PerfServerStats {
  /** Tests completed (results exchanged). */
  tests: number;
  /** Tests abandoned (client vanished, bad parameters, timeouts). */
  failed: number;
  /** Connections refused (busy, wrong cookie). */
  refused: number;
}

/** Waiters for data connections of the test in CREATE_STREAMS. */
interface StreamWaiter {
  cookie: Uint8Array;
  conns: Conn[];
  want: number;
  wake: () => void;
}

/**
 * Serve iperf3 tests until `signal` aborts (or one test with `oneOff`).
 *
 * @example
 * ```ts ignore
 * // await runPerfServer(host.stack, { port: 5201, oneOff: false, interval: 1, json: false, out: console.log });
 * ```
 */
export async function runPerfServer(stack: Stack, o: PerfServerOptions): Promise<PerfServerStats> {
  const stats: PerfServerStats = { tests: 0, failed: 0, refused: 0 };
  const listener: Listener = stack.listen({ port: o.port });
  let udp: DatagramConn | null = null;
  let busy = false;
  const setupMs = o.setupTimeoutMs ?? 10_000;
  const test: { streams: StreamWaiter | null } = { streams: null };
  let current: Promise<void> | null = null;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const onAbort = () => done();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const out = o.json ? () => {} : o.out;
  const banner = () => {
    out("-----------------------------------------------------------");
    out(`Server listening on ${o.port} (test #${stats.tests + stats.failed + 1})`);
    out("-----------------------------------------------------------");
  };
  banner();
  o.onListen?.();

  const refuse = async (conn: Conn) => {
    stats.refused++;
    await writeState(conn, PerfState.ACCESS_DENIED).catch(() => {});
    conn.close();
  };

  // Every connection: a control connection when idle, a data stream while a
  // test is creating streams (the cookie tells), refused otherwise.
  const accepting = (async () => {
    for (;;) {
      let conn: Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // listener closed
      }
      if (!busy) {
        busy = true;
        current = serveTest(conn).finally(() => {
          busy = false;
          test.streams = null;
          if (o.oneOff || o.signal?.aborted) done();
          else banner();
        });
        continue;
      }
      const w = test.streams;
      if (w === null) {
        void refuse(conn);
        continue;
      }
      void (async () => {
        const cookie = await withDeadline(readExact(conn, COOKIE_SIZE), setupMs).catch(() => null);
        if (cookie === null || !sameBytes(cookie, w.cookie) || w.conns.length >= w.want) {
          await refuse(conn);
          return;
        }
        w.conns.push(conn);
        if (w.conns.length === w.want) w.wake();
      })();
    }
  })();

  async function serveTest(control: Conn): Promise<void> {
    let run: PerfRun | null = null;
    const udpPeers = new Map<string, PerfStream>();
    const conns: Conn[] = [];
    let abandon: ReturnType<typeof setTimeout> | undefined;
    try {
      const cookie = await withDeadline(readExact(control, COOKIE_SIZE), setupMs);
      if (cookie === null) throw new PerfProtocolError("the client sent no cookie");
      out(
        `Accepted connection from ${control.remoteAddr.hostname}, port ${control.remoteAddr.port}`,
      );
      await writeState(control, PerfState.PARAM_EXCHANGE);
      const params = await withDeadline(readJson(control), setupMs) as PerfParams;
      const bad = checkParams(params);
      if (bad !== null) {
        await writeServerError(control, PerfErrno.IEUNIMP, 0);
        throw new PerfProtocolError(`refused the test: ${bad}`);
      }
      const isUdp = params.udp === true;
      const parallel = params.parallel ?? 1;
      const reverse = params.reverse === true;
      const len = params.len ?? (isUdp ? DEFAULT_UDP_BLKSIZE : DEFAULT_TCP_BLKSIZE);
      const time = params.time ?? 10;
      if (isUdp && udp === null) {
        try {
          udp = stack.listenDatagram({ port: o.port });
          bigReceiveBuffer(stack, udp.fd);
        } catch {
          await writeServerError(control, PerfErrno.IESTREAMLISTEN, 98);
          throw new PerfProtocolError(`cannot listen on UDP port ${o.port}`);
        }
      }
      const created: PerfStream[] = [];
      if (isUdp) {
        // UDP "connections": a 4-byte hello from each client socket, answered.
        const sock = udp!;
        let wake: () => void = () => {};
        const all = new Promise<void>((r) => (wake = r));
        const pump = (async () => {
          const buf = new Uint8Array(65536);
          for (;;) {
            const [d, from] = await sock.receive(buf);
            const key = `${from.hostname}:${from.port}`;
            const s = udpPeers.get(key);
            if (s !== undefined) {
              const r = run as PerfRun | null;
              if (r !== null && !s.sender) r.udpDeliver(s, d);
              else if (d.length === 4 && created.length <= parallel) await hello(sock, from);
              continue;
            }
            if (created.length >= parallel || from.hostname !== control.remoteAddr.hostname) {
              continue; // not part of this test
            }
            const peer: NetAddr = { transport: "udp", hostname: from.hostname, port: from.port };
            const st = new PerfStream({
              id: streamId(created.length),
              label: sock.fd,
              sender: reverse,
              udp: sock,
              peer,
            });
            created.push(st);
            udpPeers.set(key, st);
            await hello(sock, from);
            if (created.length === parallel) wake();
          }
        })();
        pump.catch(() => {/* socket closed */});
        await writeState(control, PerfState.CREATE_STREAMS);
        await withDeadline(all, setupMs);
      } else {
        let wake: () => void = () => {};
        const all = new Promise<void>((r) => (wake = r));
        const w: StreamWaiter = { cookie, conns, want: parallel, wake };
        test.streams = w;
        await writeState(control, PerfState.CREATE_STREAMS);
        await withDeadline(all, setupMs);
        test.streams = null;
        conns.forEach((c, i) => {
          if (params.nodelay) c.setNoDelay(true);
          created.push(new PerfStream({ id: streamId(i), label: c.fd, sender: reverse, conn: c }));
        });
      }
      for (const s of created) {
        const l = s.conn?.localAddr ?? { hostname: "0.0.0.0", port: o.port };
        const r = s.conn?.remoteAddr ?? s.peer!;
        out(
          `[${
            String(s.label).padStart(3)
          }] local ${l.hostname} port ${l.port} connected to ${r.hostname} port ${r.port}`,
        );
      }
      run = new PerfRun(created, {
        stack,
        udp: isUdp,
        sending: reverse,
        len,
        rate: params.bandwidth ?? 0,
        bytes: reverse ? (params.num ?? 0) : 0,
        blocks: reverse ? (params.blockcount ?? 0) : 0,
        interval: o.interval,
        counters64: params.udp_counters_64bit !== undefined && params.udp_counters_64bit !== 0,
        json: o.json,
        out,
      });
      await writeState(control, PerfState.TEST_START);
      await writeState(control, PerfState.TEST_RUNNING);
      const r = run;
      // With -n in reverse mode we stop sending at the limit; the client ends the test.
      r.start(() => r.stop());
      // A client that never ends the test: give up (iperf3 allows time + omit + 5 s).
      let giveUp: () => void = () => {};
      const abandoned = new Promise<"abandoned">((res) => (giveUp = () => res("abandoned")));
      if (time > 0) abandon = setTimeout(giveUp, (time + 10) * 1000);
      for (;;) {
        const state = await Promise.race([readState(control), abandoned]);
        if (state === "abandoned") throw new PerfProtocolError("the client never ended the test");
        if (state === null) {
          throw new PerfProtocolError("the client has unexpectedly closed the connection");
        }
        if (state === PerfState.TEST_END) break;
        if (state === PerfState.CLIENT_TERMINATE) {
          throw new PerfProtocolError("the client has terminated");
        }
        if (state === PerfState.IPERF_DONE || state === PerfState.TEST_START) continue;
        throw new PerfProtocolError(`unexpected state ${state} from the client`);
      }
      r.stop();
      await r.close();
      await writeState(control, PerfState.EXCHANGE_RESULTS);
      const peer = await withDeadline(readJson(control), setupMs) as PerfResults;
      if (peer === null || typeof peer !== "object" || !Array.isArray(peer.streams)) {
        throw new PerfProtocolError("the client's results have no streams");
      }
      await writeJson(control, r.results());
      await writeState(control, PerfState.DISPLAY_RESULTS);
      // IPERF_DONE (or the close) ends it; don't wait forever for either.
      await withDeadline(readState(control), setupMs).catch(() => null);
      const summary = summarize(r, peer);
      for (const l of summary.lines) out(l);
      if (o.json) {
        o.out(JSON.stringify(
          {
            start: {
              accepted_connection: {
                host: control.remoteAddr.hostname,
                port: control.remoteAddr.port,
              },
              version: "netwasm perf (iperf3 protocol 3.12)",
            },
            intervals: r.intervals,
            end: summary.end,
          },
          null,
          2,
        ));
      }
      stats.tests++;
    } catch (e) {
      stats.failed++;
      o.out(`netwasm perf: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      if (abandon !== undefined) clearTimeout(abandon);
      await (run as PerfRun | null)?.close().catch(() => {});
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      try {
        control.close();
      } catch { /* closed */ }
      if (udp !== null) {
        // A fresh UDP socket per test, as iperf3 binds a new one.
        (udp as DatagramConn).close();
        udp = null;
      }
    }
  }

  try {
    await finished;
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    listener.close();
    await accepting;
    await current;
  }
  return stats;
}

async function hello(sock: DatagramConn, to: NetAddr): Promise<void> {
  const reply = new Uint8Array(4);
  new DataView(reply.buffer).setUint32(0, UDP_CONNECT_REPLY, true); // host order, as iperf3
  await sock.send(reply, to);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `p`, or a rejection after `ms`. */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(
        () => reject(new PerfProtocolError(`nothing from the client in ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(t));
}
