/**
 * UDP against the Linux kernel as an independent peer, with the capture
 * checked by tshark: 1,000 datagrams of random sizes (1–1472, and one in ten 1473–8000
 * so they fragment) each way, every byte checked, through a TAP into a
 * network namespace. The Linux side is a small `/usr/bin/python3` program
 * (client or echo server) run inside the namespace; our side is
 * `stack.listenDatagram` in this process, or the `netwasm echo` CLI as a
 * subprocess. Zero loss is expected (a TAP does not drop), zero tshark
 * findings on every captured frame.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { type Netns, requireInterop, withNetns } from "../_util/netns.ts";
import {
  AF_INET,
  IPPROTO_UDP,
  SO_ERROR,
  SOCK_DGRAM,
  SOL_SOCKET,
} from "../../src/socket/constants.ts";
import { ConnectionRefused } from "../../src/socket/errors.ts";
import {
  assertWireClean,
  CAPTURE_TOOLS,
  figure,
  KERNEL_IP,
  kernelSnmp,
  OUR_IP,
  withStack,
  withTimeout,
} from "./_stack.ts";

/** Datagrams per direction. */
const N = 1000;
/** Datagrams in flight at once (echo round trips overlap, bounded). */
const WINDOW = 8;
const PYTHON = "/usr/bin/python3";
const ECHO_PORT = 7;
const LINUX_ECHO_PORT = 9000;

/**
 * Linux-side client: sends `n` datagrams of seeded random sizes and contents
 * to HOST:PORT from a connected socket, at most `window` in flight, and
 * checks each echo byte for byte, in order. Prints one `OK …` line, or
 * `FAIL …` and exits 1. Every receive waits at most 2 s.
 */
const PY_CLIENT = `
import socket, random, sys, collections
host, port, n, seed, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
fixed = [1, 1472, 1473, 8000]
def size(i):
    if i < len(fixed): return fixed[i]
    return rng.randint(1473, 8000) if rng.random() < 0.1 else rng.randint(1, 1472)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.settimeout(2.0)
s.connect((host, port))
pending = collections.deque()
sent = got = nbytes = big = 0
try:
    while got < n:
        while sent < n and len(pending) < window:
            data = rng.randbytes(size(sent))
            s.send(data)
            pending.append(data)
            sent += 1
            big += len(data) > 1472
        reply = s.recv(65536)
        want = pending.popleft()
        if reply != want:
            print(f"FAIL datagram {got}: {len(reply)} bytes back, {len(want)} sent, first difference at "
                  f"{next((i for i, (a, b) in enumerate(zip(reply, want)) if a != b), min(len(reply), len(want)))}")
            sys.exit(1)
        got += 1
        nbytes += len(reply)
except (socket.timeout, OSError) as e:
    print(f"FAIL after sent={sent} received={got}: {e!r}")
    sys.exit(1)
print(f"OK sent={sent} received={got} bytes={nbytes} fragmented={big}")
`;

/**
 * Linux-side echo server on HOST:PORT: echoes `n` datagrams, then prints
 * `ECHOED count bytes` and exits; gives up after 2 s without a datagram.
 */
const PY_ECHO = `
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((host, port))
print("READY", flush=True)
s.settimeout(10.0)
count = nbytes = 0
try:
    while count < n:
        data, addr = s.recvfrom(65536)
        s.sendto(data, addr)
        count += 1
        nbytes += len(data)
        s.settimeout(2.0)
except socket.timeout:
    print(f"TIMEOUT after {count}", flush=True)
    sys.exit(1)
print(f"ECHOED {count} {nbytes}", flush=True)
`;

/** mulberry32: a small seeded PRNG for our side's sizes and contents. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Run the Linux-side client against HOST:PORT and parse its line. */
async function pythonClient(ns: Netns, host: string, port: number, seed: number) {
  const r = await ns.exec(
    [PYTHON, "-c", PY_CLIENT, host, String(port), String(N), String(seed), String(WINDOW)],
    { timeout: 30_000 },
  );
  const out = `${r.stdout}${r.stderr}`;
  assert.ok(!r.timedOut, `python client timed out: ${out}`);
  assert.is(r.code, 0, out);
  const m = /OK sent=(\d+) received=(\d+) bytes=(\d+) fragmented=(\d+)/.exec(r.stdout);
  assert.ok(m !== null, out);
  return { sent: Number(m[1]), received: Number(m[2]), bytes: Number(m[3]), big: Number(m[4]) };
}

/** Deltas of the kernel's UDP counters over `fn`. */
async function kernelUdpDelta(ns: Netns, fn: () => Promise<void>) {
  const before = await kernelSnmp(ns);
  await fn();
  const after = await kernelSnmp(ns);
  const d: Record<string, number> = {};
  for (const k of Object.keys(after)) if (k.startsWith("Udp.")) d[k] = after[k]! - before[k]!;
  return d;
}

test(
  "interop UDP: Linux → us: 1000 datagrams (1–8000 bytes, seeded) to a netwasm echo on listenDatagram, every byte back in order, 0 loss; tshark clean",
  async () => {
    await withStack(async (ns, stack) => {
      const conn = stack.listenDatagram({ hostname: OUR_IP, port: ECHO_PORT, transport: "udp" });
      let echoed = 0;
      const server = (async () => {
        try {
          for await (const [data, from] of conn) {
            await conn.send(data, from);
            echoed++;
          }
        } catch { /* closed */ }
      })();
      const seed = testSeed();
      let c!: Awaited<ReturnType<typeof pythonClient>>;
      let k: Record<string, number>;
      try {
        k = await kernelUdpDelta(ns, async () => {
          c = await pythonClient(ns, OUR_IP, ECHO_PORT, seed);
        });
      } finally {
        conn.close(); // ends the echo loop
      }
      await withTimeout(server, 2000, "the echo loop to end");
      assert.is(c.sent, N);
      assert.is(c.received, N, "echoes the Linux client got back");
      assert.is(echoed, N);
      assert.ok(c.big >= 50, `only ${c.big} fragmented datagrams`);
      assert.is(stack.stats.udp.inDatagrams, N);
      assert.is(stack.stats.udp.outDatagrams, N);
      assert.is(stack.stats.udp.inErrors, 0);
      assert.is(stack.stats.udp.inCsumErrors, 0);
      assert.is(stack.stats.udp.rcvbufErrors, 0);
      assert.is(stack.stats.udp.noPorts, 0);
      assert.is(k["Udp.InDatagrams"], N, "datagrams the kernel delivered");
      assert.is(k["Udp.OutDatagrams"], N);
      assert.is(k["Udp.InErrors"], 0);
      assert.is(k["Udp.InCsumErrors"], 0);
      assert.is(k["Udp.RcvbufErrors"], 0);
      assert.is(stack.stats.drops.total, 0, "the stack dropped something");
      const wire = await assertWireClean(ns);
      figure(
        "UDP linux → netwasm echo",
        `${c.received}/${c.sent} datagrams (${c.big} fragmented), ${c.bytes} bytes verified, 0 loss, seed ${seed}; tshark ${wire.frames} frames, 0 findings`,
      );
    });
  },
  requireInterop("UDP linux to netwasm", { tools: ["python3", ...CAPTURE_TOOLS] }),
);

test(
  "interop UDP: us → Linux: 1000 datagrams (1–8000 bytes, seeded) from our DatagramConn to a Linux echo, every byte back in order, 0 loss; tshark clean",
  async () => {
    await withStack(async (ns, stack) => {
      const echo = ns.spawn([PYTHON, "-c", PY_ECHO, KERNEL_IP, String(LINUX_ECHO_PORT), String(N)]);
      await echo.waitForOutput("READY", { stream: "stdout" });
      const conn = stack.listenDatagram({ hostname: OUR_IP, port: 40000, transport: "udp" });
      const seed = testSeed();
      const rnd = prng(seed);
      const fixed = [1, 1472, 1473, 8000];
      const make = (i: number) => {
        const size = i < fixed.length
          ? fixed[i]!
          : rnd() < 0.1
          ? 1473 + Math.floor(rnd() * (8000 - 1472))
          : 1 + Math.floor(rnd() * 1472);
        const d = new Uint8Array(size);
        for (let j = 0; j < size; j++) d[j] = (rnd() * 256) | 0;
        return d;
      };
      const dst = { hostname: KERNEL_IP, port: LINUX_ECHO_PORT };
      const pending: Uint8Array[] = [];
      let sent = 0, received = 0, bytes = 0, big = 0;
      const t0 = performance.now();
      const k = await kernelUdpDelta(ns, async () => {
        try {
          while (received < N) {
            // The first window (1, 1472, 1473 and 8000 bytes first: 10
            // frames and more) leaves before ARP has resolved the kernel,
            // so it all waits in the neighbour queue and must all get out.
            while (sent < N && pending.length < WINDOW) {
              const d = make(sent);
              pending.push(d);
              assert.is(await conn.send(d, dst), d.length);
              sent++;
              if (d.length > 1472) big++;
            }
            const [data, from] = await withTimeout(
              conn.receive(),
              2000,
              `echo ${received} (sent ${sent})`,
            );
            assert.is(`${from.hostname}:${from.port}`, `${KERNEL_IP}:${LINUX_ECHO_PORT}`);
            const want = pending.shift()!;
            assert.is(data.length, want.length, `echo ${received}: length`);
            assert.equal(data, want, `echo ${received}: bytes`);
            received++;
            bytes += data.length;
          }
        } finally {
          conn.close();
        }
      });
      const ms = performance.now() - t0;
      const status = await withTimeout(echo.status, 5000, "the Linux echo to exit");
      assert.is(status.code, 0, echo.stdout + echo.stderr);
      assert.match(echo.stdout, new RegExp(`ECHOED ${N} ${bytes}`));
      assert.ok(big >= 50, `only ${big} fragmented datagrams`);
      assert.is(k["Udp.InDatagrams"], N, "datagrams the kernel delivered");
      assert.is(k["Udp.InErrors"], 0);
      assert.is(k["Udp.InCsumErrors"], 0);
      assert.is(k["Udp.RcvbufErrors"], 0);
      assert.is(stack.stats.udp.inDatagrams, N);
      assert.is(stack.stats.udp.outDatagrams, N);
      assert.is(stack.stats.udp.inCsumErrors, 0);
      assert.is(stack.stats.drops.total, 0, "the stack dropped something");
      const wire = await assertWireClean(ns);
      figure(
        "UDP netwasm → linux echo",
        `${received}/${sent} datagrams (${big} fragmented), ${bytes} bytes verified, 0 loss, ${
          (ms / 1000).toFixed(2)
        } s, seed ${seed}; tshark ${wire.frames} frames, 0 findings`,
      );
    });
  },
  requireInterop("UDP netwasm to linux", { tools: ["python3", ...CAPTURE_TOOLS] }),
);

const CLI = "src/cli/main.ts";

test(
  "interop UDP: the CLI `netwasm echo --udp 7` as a subprocess echoes 1000 datagrams from Linux, every byte, 0 loss; tshark clean",
  async () => {
    await withNetns(async (ns) => {
      const cli = ns.spawn([
        Deno.execPath(),
        "run",
        "-A",
        new URL(`../../${CLI}`, import.meta.url).pathname,
        "echo",
        "--udp",
        String(ECHO_PORT),
        "--quiet",
        "--tap",
        ns.dev,
        "--netns",
        ns.name,
        "--ip",
        `${OUR_IP}/24`,
      ]);
      await cli.waitForOutput(/listening|echo/i, { timeout: 15_000 });
      const seed = testSeed() + 1;
      const c = await pythonClient(ns, OUR_IP, ECHO_PORT, seed);
      assert.is(c.received, N);
      const status = await cli.kill("SIGINT");
      assert.ok(status.code === 0 || status.signal === "SIGINT", `CLI: ${cli.stderr}`);
      const wire = await assertWireClean(ns);
      figure(
        "UDP linux → CLI echo",
        `${c.received}/${c.sent} datagrams (${c.big} fragmented), ${c.bytes} bytes verified, seed ${seed}; tshark ${wire.frames} frames, 0 findings`,
      );
    }, { openTap: false, capture: "check" });
  },
  requireInterop("UDP CLI echo", { tools: ["python3", ...CAPTURE_TOOLS] }),
);

test(
  "interop UDP: a datagram to a closed port on Linux brings back ICMP port unreachable: a connected socket reports ECONNREFUSED (once), an unconnected one carries on; tshark clean",
  async () => {
    await withStack(async (ns, stack) => {
      const closed = { address: KERNEL_IP, port: 9 }; // nothing listens in the namespace
      const { sockets } = stack;
      // Connected: the error is the socket's pending error, reported by the next call.
      const fd = sockets.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
      const t0 = performance.now();
      let refused: unknown;
      try {
        await sockets.connect(fd, closed);
        assert.is(await sockets.send(fd, new Uint8Array([1, 2, 3])), 3);
        await withTimeout(sockets.recv(fd, new Uint8Array(16)), 2000, "ECONNREFUSED");
      } catch (e) {
        refused = e;
      }
      const ms = performance.now() - t0;
      assert.instance(refused, ConnectionRefused, String(refused));
      assert.is((refused as ConnectionRefused).code, "ECONNREFUSED");
      assert.is(sockets.getsockopt(fd, SOL_SOCKET, SO_ERROR), 0, "reported once, then cleared");
      sockets.close(fd);
      // Unconnected (DatagramConn): like Linux without IP_RECVERR, the error
      // is not pinned on the socket; a later exchange with a live peer works.
      const echo = ns.spawn([PYTHON, "-c", PY_ECHO, KERNEL_IP, String(LINUX_ECHO_PORT), "1"]);
      await echo.waitForOutput("READY", { stream: "stdout" });
      const conn = stack.listenDatagram({ hostname: OUR_IP, port: 40001, transport: "udp" });
      try {
        await conn.send(new Uint8Array([4, 5, 6]), { hostname: KERNEL_IP, port: 9 });
        const hello = new TextEncoder().encode("still works");
        await conn.send(hello, { hostname: KERNEL_IP, port: LINUX_ECHO_PORT });
        const [data] = await withTimeout(conn.receive(), 2000, "the echo");
        assert.equal(data, hello);
      } finally {
        conn.close();
      }
      assert.is(stack.stats.icmp.inByType[3], 2, "two port unreachables received");
      const snmp = await kernelSnmp(ns);
      assert.is(snmp["Udp.NoPorts"], 2);
      assert.is(snmp["Icmp.OutDestUnreachs"], 2);
      const wire = await assertWireClean(ns);
      figure(
        "UDP port unreachable → netwasm",
        `connected socket: ECONNREFUSED after ${
          ms.toFixed(1)
        } ms; unconnected: ignored, next exchange fine; tshark ${wire.frames} frames, 0 findings`,
      );
    });
  },
  requireInterop("UDP port unreachable", { tools: ["python3", ...CAPTURE_TOOLS] }),
);
