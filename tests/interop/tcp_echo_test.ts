/**
 * TCP against Linux as the independent peer: byte streams through the CLI
 * `netwasm echo --tcp` with half-close (socat, nc), 200 concurrent
 * connections each way with every byte checked, a Linux RST in the middle
 * of a transfer, and a connect to a closed port. Every frame is checked by
 * tshark (`_tcp_wire.ts`).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { type Netns, requireInterop, withNetns } from "../_util/netns.ts";
import { ConnectionRefused, ConnectionReset } from "../../src/socket/errors.ts";
import { CAPTURE_TOOLS, figure, KERNEL_IP, OUR_IP, withStack, withTimeout } from "./_stack.ts";
import {
  assertTcpWireClean,
  randomFile,
  sha256File,
  startTcpCapture,
  wireFigure,
} from "./_tcp_wire.ts";
import { echoOn, message, PY_CLIENTS, PY_ECHO_SERVER } from "./_echo.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const ECHO_PORT = 7;
const LINUX_PORT = 9000;
const PYTHON = "/usr/bin/python3";
/** Concurrent connections per direction. */
const CONNECTIONS = 200;

/** Start `netwasm echo --tcp 7` in the namespace; resolves once it listens. */
async function startCliEcho(ns: Netns) {
  const cli = ns.spawn([
    Deno.execPath(),
    "run",
    "-A",
    CLI,
    "echo",
    "--tcp",
    String(ECHO_PORT),
    "--tap",
    ns.dev,
    "--netns",
    ns.name,
    "--ip",
    `${OUR_IP}/24`,
  ]);
  await cli.waitForOutput(/listening on tcp/, { timeout: 20_000 });
  return cli;
}

test(
  "interop TCP echo: socat and nc stream 4 MiB / 1 MiB through the CLI `netwasm echo --tcp 7` and half-close; every byte comes back, then our FIN; tshark clean",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "netwasm-echo-" });
    try {
      await randomFile(`${dir}/big`, 4 << 20);
      await randomFile(`${dir}/small`, 1 << 20);
      await withNetns(async (ns) => {
        const capture = await startTcpCapture(ns);
        const cli = await startCliEcho(ns);
        // socat: stdin to the connection, the connection to stdout; at EOF
        // on stdin it half-closes (FIN) and keeps reading up to -t 5 s for
        // the rest of the echo and our FIN.
        const t0 = performance.now();
        const socat = await ns.exec([
          "sh",
          "-c",
          `socat -t 5 - TCP:${OUR_IP}:${ECHO_PORT} < ${dir}/big > ${dir}/big.out`,
        ], { timeout: 60_000 });
        const socatMs = performance.now() - t0;
        assert.is(socat.code, 0, socat.stderr);
        // nc -N: shutdown(SHUT_WR) at EOF on stdin, then read to our FIN.
        const nc = await ns.exec([
          "sh",
          "-c",
          `nc -N ${OUR_IP} ${ECHO_PORT} < ${dir}/small > ${dir}/small.out`,
        ], { timeout: 60_000 });
        assert.is(nc.code, 0, nc.stderr);
        for (const f of ["big", "small"]) {
          assert.is(
            await sha256File(`${dir}/${f}.out`),
            await sha256File(`${dir}/${f}`),
            `${f}: the echo differs`,
          );
        }
        const status = await cli.kill("SIGINT");
        assert.is(status.code, 0, cli.stderr);
        const lines = cli.stdout.split("\n").filter((l) => l.includes("bytes echoed in"));
        assert.is(lines.length, 2, cli.stdout);
        assert.ok(lines.every((l) => /closed after the client's FIN$/.test(l)), cli.stdout);
        assert.match(cli.stdout, /2 connections \(2 closed cleanly, 0 failed\), 5242880 bytes/);
        const wire = await assertTcpWireClean(capture);
        figure(
          "TCP socat/nc ↔ CLI netwasm echo",
          `4 MiB (socat, ${
            (socatMs / 1000).toFixed(2)
          } s round trip) + 1 MiB (nc) echoed with half-close, sha256 match; ${wireFigure(wire)}`,
        );
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("TCP socat/nc to CLI echo", {
    tools: ["socat", "nc", "sha256sum", ...CAPTURE_TOOLS],
  }),
);

test(
  `interop TCP echo: ${CONNECTIONS} concurrent connections from Linux (python asyncio) to the CLI \`netwasm echo --tcp 7\`, 1–32 KiB each with half-close, every byte verified; tshark clean`,
  async () => {
    await withNetns(async (ns) => {
      const capture = await startTcpCapture(ns);
      const cli = await startCliEcho(ns);
      const seed = testSeed();
      const r = await ns.exec(
        [PYTHON, "-c", PY_CLIENTS, OUR_IP, String(ECHO_PORT), String(CONNECTIONS), String(seed)],
        { timeout: 90_000 },
      );
      assert.is(r.code, 0, `${r.stdout}${r.stderr}`);
      const [, n, bytes, secs] = r.stdout.trim().split(" ");
      assert.is(Number(n), CONNECTIONS);
      const status = await cli.kill("SIGINT");
      assert.is(status.code, 0, cli.stderr);
      assert.match(
        cli.stdout,
        new RegExp(
          `${CONNECTIONS} connections \\(${CONNECTIONS} closed cleanly, 0 failed\\), ${bytes} bytes`,
        ),
      );
      const wire = await assertTcpWireClean(capture);
      figure(
        "TCP linux ×200 → CLI netwasm echo",
        `${CONNECTIONS}/${CONNECTIONS} connections, ${bytes} bytes echoed and verified in ${secs} s, seed ${seed}; ${
          wireFigure(wire)
        }`,
      );
    }, { openTap: false });
  },
  requireInterop("TCP 200 linux clients to CLI echo", { tools: ["python3", ...CAPTURE_TOOLS] }),
);

test(
  `interop TCP: ${CONNECTIONS} concurrent stack.connect() to a Linux echo server (python asyncio), 1–32 KiB each with half-close, every byte verified; tshark clean`,
  async () => {
    await withStack(async (ns, stack) => {
      const capture = await startTcpCapture(ns);
      const server = ns.spawn([
        PYTHON,
        "-c",
        PY_ECHO_SERVER,
        KERNEL_IP,
        String(LINUX_PORT),
        String(CONNECTIONS),
      ]);
      await server.waitForOutput("READY", { stream: "stdout" });
      const seed = testSeed();
      const messages = Array.from({ length: CONNECTIONS }, (_, i) => message(seed, i));
      const bytes = messages.reduce((n, m) => n + m.length, 0);
      // Resolve the kernel's MAC first: 200 SYNs sent into a cold ARP entry
      // overflow its queue (212 992 bytes, Linux's unres_qlen_bytes: ~104
      // frames) and the rest wait for the 1 s SYN retransmission.
      await stack.ping(KERNEL_IP, { timeout: 2000 });
      const t0 = performance.now();
      // All 200 handshakes at once, then all 200 transfers at once.
      const conns = await withTimeout(
        Promise.all(messages.map(() => stack.connect({ hostname: KERNEL_IP, port: LINUX_PORT }))),
        30_000,
        `${CONNECTIONS} connects`,
      );
      const connectMs = performance.now() - t0;
      await withTimeout(
        Promise.all(conns.map((c, i) => echoOn(c, messages[i]!))),
        60_000,
        `${CONNECTIONS} echoes`,
      );
      const ms = performance.now() - t0;
      const status = await withTimeout(server.status, 10_000, "the Linux echo server to exit");
      assert.is(status.code, 0, server.stdout + server.stderr);
      assert.match(server.stdout, new RegExp(`DONE ${CONNECTIONS} ${bytes}`));
      assert.is(stack.stats.tcp.synRetrans, 0, "SYNs retransmitted");
      const wire = await assertTcpWireClean(capture);
      figure(
        "TCP netwasm ×200 → linux echo",
        `${CONNECTIONS}/${CONNECTIONS} connections (all open after ${
          connectMs.toFixed(0)
        } ms), ${bytes} bytes echoed and verified in ${(ms / 1000).toFixed(2)} s, seed ${seed}; ${
          wireFigure(wire)
        }`,
      );
    }, { netns: { capture: false } });
  },
  requireInterop("TCP 200 netwasm clients to linux", { tools: ["python3", ...CAPTURE_TOOLS] }),
);

/**
 * Linux-side server that resets: accepts one connection, sends `n` bytes
 * (sendall: they are in its send buffer, not necessarily delivered), then
 * closes with SO_LINGER {on, 0}, which makes Linux send RST and drop what is
 * still unsent.
 */
const PY_RESETTER = `
import socket, struct, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(1)
print("READY", flush=True)
s.settimeout(20)
c, _ = s.accept()
c.sendall(bytes(range(256)) * (n // 256))
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
print("RESET", flush=True)
`;

test(
  "interop TCP: Linux resets in the middle of a transfer (SO_LINGER 0 close) → our read fails with ConnectionReset, and so does the next write; a connect to a closed Linux port → ConnectionRefused; tshark clean",
  async () => {
    await withStack(async (ns, stack) => {
      const capture = await startTcpCapture(ns);
      // Refused: nothing listens on the port, Linux answers the SYN with RST.
      const t0 = performance.now();
      const refused = await stack.connect({ hostname: KERNEL_IP, port: LINUX_PORT + 1 }).then(
        (c) => {
          c.close();
          return null;
        },
        (e) => e,
      );
      const refusedMs = performance.now() - t0;
      assert.instance(refused, ConnectionRefused, String(refused));
      assert.is((refused as ConnectionRefused).code, "ECONNREFUSED");
      // Reset mid-transfer: Linux sends 4 MiB into its buffer and aborts;
      // we read slowly (small reads, a pause each time) so the RST arrives
      // while its data is still coming.
      const resetter = ns.spawn([
        PYTHON,
        "-c",
        PY_RESETTER,
        KERNEL_IP,
        String(LINUX_PORT),
        String(4 << 20),
      ]);
      await resetter.waitForOutput("READY", { stream: "stdout" });
      const conn = await stack.connect({ hostname: KERNEL_IP, port: LINUX_PORT });
      let received = 0;
      let error: unknown = null;
      try {
        await withTimeout(
          (async () => {
            const buf = new Uint8Array(16 * 1024);
            for (;;) {
              const n = await conn.read(buf);
              if (n === null) throw new Error(`FIN after ${received} bytes, not a reset`);
              for (let i = 0; i < n; i++) {
                if (buf[i] !== ((received + i) & 0xff)) {
                  throw new Error(`bad byte at ${received + i}`);
                }
              }
              received += n;
              if (received < 256 * 1024) await new Promise((r) => setTimeout(r, 5));
            }
          })(),
          20_000,
          "the reset",
        );
      } catch (e) {
        error = e;
      }
      assert.instance(error, ConnectionReset, `read after ${received} bytes: ${error}`);
      assert.is((error as ConnectionReset).code, "ECONNRESET");
      assert.ok(received < 4 << 20, `all ${received} bytes arrived: the RST was not mid-transfer`);
      await resetter.waitForOutput("RESET", { stream: "stdout" });
      // Every later call reports the same reset (MUST-12), writes included.
      const writeError = await conn.write(new Uint8Array(16)).then(() => null, (e) => e);
      assert.instance(writeError, ConnectionReset, String(writeError));
      conn.close();
      const wire = await assertTcpWireClean(capture);
      figure(
        "TCP RST/refused from linux → netwasm",
        `closed port: ConnectionRefused in ${refusedMs.toFixed(1)} ms; RST after ${
          (received / 1024).toFixed(0)
        } KiB of 4096 read: ConnectionReset on read and on the next write; ${wireFigure(wire)}`,
      );
    }, { netns: { capture: false } });
  },
  requireInterop("TCP reset and refused from linux", { tools: ["python3", ...CAPTURE_TOOLS] }),
);
