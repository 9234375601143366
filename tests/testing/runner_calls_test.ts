/**
 * Socket calls in scripts, through a fake {@link ScriptSockets} whose
 * blocking calls are woken by packets or virtual-time timers: fd mapping,
 * blocking calls with end times, errno results, option values, and the
 * failures. Independent of the real socket layer.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { runScript, type ScriptResult } from "../../src/testing/runner.ts";
import type { ScriptSockets, SockOptValue } from "../../src/testing/sockets.ts";
import { type ToyIo, toyTarget } from "./_toy_target.ts";

const err = (code: string, message = code) => Object.assign(new Error(message), { code });

interface FakeSock {
  nonBlocking: boolean;
  dgram: boolean;
}

/**
 * Live fds start at 100 (so script fds 3, 4 must be mapped). accept() and
 * recv() wait for the next inbound UDP datagram; a stream connect() takes 100 ms.
 */
class FakeSockets implements ScriptSockets {
  readonly log: string[] = [];
  readonly #socks = new Map<number, FakeSock>();
  #next = 100;
  #waiters: ((len: number) => void)[] = [];
  constructor(readonly io: ToyIo) {}

  datagram(len: number): void {
    this.#waiters.shift()?.(len);
  }
  #get(fd: number): FakeSock {
    const s = this.#socks.get(fd);
    if (s === undefined) throw err("EBADF", `fd ${fd} is not open`);
    return s;
  }
  #wait(fd: number): Promise<number> {
    if (this.#get(fd).nonBlocking) throw err("EAGAIN", "Resource temporarily unavailable");
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  socket(domain: number, type: number, protocol: number): number {
    this.log.push(`socket(${domain}, ${type}, ${protocol})`);
    const fd = this.#next++;
    this.#socks.set(fd, { nonBlocking: (type & 0o4000) !== 0, dgram: (type & 0xf) === 2 });
    return fd;
  }
  bind(fd: number, a: { address: string; port: number }): void {
    this.#get(fd);
    this.log.push(`bind(${fd}, ${a.address}:${a.port})`);
  }
  listen(fd: number, backlog: number): void {
    this.#get(fd);
    this.log.push(`listen(${fd}, ${backlog})`);
  }
  async accept(fd: number): Promise<number> {
    await this.#wait(fd);
    const nfd = this.#next++;
    this.#socks.set(nfd, { nonBlocking: false, dgram: false });
    return nfd;
  }
  connect(fd: number, a: { address: string; port: number }): Promise<void> | void {
    this.log.push(`connect(${fd}, ${a.address}:${a.port})`);
    const s = this.#get(fd);
    if (s.dgram) return;
    if (s.nonBlocking) throw err("EINPROGRESS", "Operation now in progress");
    return new Promise((resolve) => this.io.env.clock.setTimer(100, resolve));
  }
  send(
    fd: number,
    data: Uint8Array,
    _flags: number,
    to?: { address: string; port: number },
  ): number {
    this.#get(fd);
    if (to) this.log.push(`sendto(${fd}, ${to.address}:${to.port})`);
    this.io.send(this.io.udp(data.length));
    return data.length;
  }
  async recv(fd: number, buffer: Uint8Array): Promise<number> {
    const n = Math.min(buffer.length, await this.#wait(fd));
    buffer.fill(0x61, 0, n); // "aaa…"
    return n;
  }
  shutdown(fd: number, how: number): void {
    this.#get(fd);
    this.log.push(`shutdown(${fd}, ${how})`);
  }
  close(fd: number): void {
    this.#get(fd);
    this.#socks.delete(fd);
    this.log.push(`close(${fd})`);
  }
  setsockopt(fd: number, level: number, name: number, value: SockOptValue): void {
    this.#get(fd);
    this.log.push(`setsockopt(${fd}, ${level}, ${name}, ${JSON.stringify(value)})`);
  }
  getsockopt(fd: number, _level: number, name: number): SockOptValue {
    this.#get(fd);
    if (name === 4) return 111; // SO_ERROR: ECONNREFUSED
    if (name === 666) throw new RangeError("a bug in the adapter");
    return 0;
  }
  setNonBlocking(fd: number, nonBlocking: boolean): void {
    this.#get(fd).nonBlocking = nonBlocking;
    this.log.push(`nonblock(${fd}, ${nonBlocking})`);
  }
}

function fake() {
  let sockets: FakeSockets | undefined;
  const toy = toyTarget({
    sockets: (io) => (sockets = new FakeSockets(io)),
    onFrame: (seen) => seen.udp && sockets?.datagram(seen.udp.payload.length),
  });
  return { factory: toy.factory, sockets: () => sockets! };
}

async function run(text: string): Promise<{ r: ScriptResult; log: string[] }> {
  const f = fake();
  const r = await runScript(text, { target: f.factory });
  return { r, log: f.sockets().log };
}

async function ok(text: string): Promise<string[]> {
  const { r, log } = await run(text);
  assert.ok(r.ok, r.failure?.message);
  return log;
}

async function fails(text: string, message: string | RegExp): Promise<void> {
  const { r } = await run(text);
  assert.not.ok(r.ok, "expected a failure");
  if (typeof message === "string") assert.is(r.failure?.message, message);
  else assert.match(r.failure!.message, message);
}

test("calls: script fds map onto the adapter's; ... arguments use the script's addresses", async () => {
  const log = await ok(`
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0   bind(3, ..., ...) = 0
+0   listen(3, 1) = 0
+0   sendto(3, ..., 3, 0, ..., ...) = 3
+0   > udp (3)
+0   socket(..., SOCK_DGRAM, IPPROTO_UDP) = 4
+0   connect(4, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("192.0.2.9")}, 16) = 0
+0   shutdown(3, SHUT_WR) = 0
+0   close(4) = 0
+0   close(3) = 0
`);
  assert.equal(log, [
    "socket(2, 1, 6)",
    "setsockopt(100, 1, 2, 1)",
    "bind(100, 192.0.2.2:8080)",
    "listen(100, 1)",
    "sendto(100, 192.0.2.1:48000)",
    "socket(2, 2, 17)",
    "connect(101, 192.0.2.9:53)",
    "shutdown(100, 1)",
    "close(101)",
    "close(100)",
  ]);
});

test("calls: a blocking accept/read started at +0...T returns when a packet wakes it, at T", async () => {
  await ok(`
0       socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0      bind(3, ..., ...) = 0
+0      listen(3, 1) = 0
+0...0.2 accept(3, ..., ...) = 4
+.2     < udp (1)
+0...0.3 read(4, ..., 1000) = 7
+.3     < udp (7)
+0      read(4, "aa", 2) = -1 EAGAIN (Resource temporarily unavailable)
`.replace(
    '+0      read(4, "aa", 2)',
    '+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, "aa", 2)',
  ));
  // A string buffer in read() is the data expected.
  await fails(
    `0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
+0...0.1 read(3, "abc", 3) = 3
+.1 < udp (3)
`,
    'line 2: read(): read "aaa", expected "abc"',
  );
});

test("calls: blocking calls that return at the wrong time, or never, fail", async () => {
  await fails(
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0...0.1 accept(3, ..., ...) = 4\n+.2 < udp (1)\n",
    "line 2: accept() had not returned by t=0.100 (expected at t=0.100)",
  );
  await fails(
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0...0.3 accept(3, ..., ...) = 4\n+.2 < udp (1)\n",
    "line 2: accept() returned at t=0.200, expected t=0.300",
  );
  await fails(
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 accept(3, ..., ...) = 4\n",
    'line 2: accept() did not return at t=0.000; a call that blocks needs its end time, e.g. "+0...0.1 accept(...)"',
  );
  await fails(
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0...0.5 accept(3, ..., ...) = 4\n",
    "line 2: accept() had not returned by t=0.500 (expected at t=0.500)",
  );
  // connect() on a blocking socket takes the fake 100 ms.
  await ok("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0...0.1 connect(3, ..., ...) = 0\n");
});

test("calls: errno results, non-blocking sockets and option values are checked", async () => {
  await ok(`
0   socket(..., SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 3
+0  fcntl(3, F_GETFL) = 0x802 (flags O_RDWR|O_NONBLOCK)
+0  connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0  accept(3, ..., ...) = -1 EWOULDBLOCK (Resource temporarily unavailable)
+0  getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0
+0  fcntl(3, F_SETFL, O_RDWR) = 0
+0  fcntl(3, F_GETFL) = 0x2
`);
  await fails(
    "0 socket(..., SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 3\n+0 accept(3, ..., ...) = 4\n",
    "line 2: expected accept(3, ..., ...) = 4, got -1 EAGAIN (Resource temporarily unavailable)",
  );
  await fails(
    "0 socket(..., SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 3\n+0 connect(3, ..., ...) = -1 ECONNREFUSED\n",
    "line 2: expected connect(3, ..., ...) = -1 ECONNREFUSED, got -1 EINPROGRESS (Operation now in progress)",
  );
  await fails(
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n",
    "line 2: getsockopt(): option value is 111, expected [0]",
  );
  await fails(
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = -1 EBADF\n",
    "line 2: expected close(3) = -1 EBADF, got 0",
  );
});

test("calls: misuse is reported with the line — unknown fds, symbols, calls, adapter bugs", async () => {
  await fails("0 close(5) = 0\n", "line 1: fd 5 is not open in this script (open: none)");
  await fails("0 socket(..., SOCK_BOGUS, 0) = 3\n", "line 1: unknown symbol SOCK_BOGUS (type)");
  await fails(
    "0 poll(..., 1, 0) = 0\n",
    /^line 1: unsupported call poll\(\) \(supported: socket, bind,/,
  );
  await fails("0 listen(3) = 0\n", "line 1: listen() takes 2 arguments, got 1");
  await fails(
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, SOL_SOCKET, 666, [0], [4]) = 0\n",
    "line 2: getsockopt() threw RangeError: a bug in the adapter",
  );
  await fails(
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
    "line 2: fd 3 is already open in this script",
  );
});

test("calls: without a socket adapter, calls fail with a clear reason", async () => {
  const r = await runScript("0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n", {
    target: toyTarget().factory,
  });
  assert.is(
    r.failure?.message,
    "line 1: socket() threw TypeError: socket calls are unavailable: the target has no socket adapter",
  );
});
