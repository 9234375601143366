/**
 * A stop-gap {@link ScriptSockets} for TCP scripts while the BSD layer has
 * no stream sockets: SOCK_STREAM calls go straight to the TCP ops API
 * (`stack.tcp.socket()` and the `TcpSock` methods), everything else to the
 * BSD layer. Blocking calls wait on the socket's readiness callback. Delete
 * this file (and its uses) once `stack.sockets.socket(AF_INET, SOCK_STREAM)`
 * works: `bsdSockets` then covers TCP too.
 *
 * @module
 */
import type { Stack } from "../../src/api/stack.ts";
import { Errno } from "../../src/core/errno.ts";
import { errnoError } from "../../src/socket/errors.ts";
import { bsdSockets } from "../../src/testing/bsd_adapter.ts";
import type { ScriptSockets } from "../../src/testing/sockets.ts";
import type { TcpOptionName, TcpSock } from "../../src/tcp/sock.ts";
import { parseIpv4 } from "../../src/wire/addr.ts";

interface Stream {
  sk: TcpSock;
  nonBlocking: boolean;
  waiters: (() => void)[];
}

/** (level, name) → the TCP ops option name. */
const OPTIONS: Record<string, TcpOptionName> = {
  "1,2": "SO_REUSEADDR",
  "1,7": "SO_SNDBUF",
  "1,8": "SO_RCVBUF",
  "1,9": "SO_KEEPALIVE",
  "1,13": "SO_LINGER",
  "6,1": "TCP_NODELAY",
  "6,2": "TCP_MAXSEG",
  "6,3": "TCP_CORK",
  "6,4": "TCP_KEEPIDLE",
  "6,5": "TCP_KEEPINTVL",
  "6,6": "TCP_KEEPCNT",
  "6,18": "TCP_USER_TIMEOUT",
};

/**
 * Stream sockets over `stack.tcp`, datagram sockets over `stack.sockets`.
 *
 * @example
 * ```ts
 * import { stackTarget } from "../../src/testing/runner.ts";
 * import { tcpOpsSockets } from "./_tcp_ops_adapter.ts";
 * const target = stackTarget({ sockets: tcpOpsSockets });
 * ```
 */
export function tcpOpsSockets(stack: Stack): ScriptSockets {
  const dgram = bsdSockets(stack);
  const streams = new Map<number, Stream>();
  let next = 1000; // far from the BSD layer's descriptors
  const check = (r: number, what: string): number => {
    if (r < 0) throw errnoError(-r, what);
    return r;
  };
  const add = (sk: TcpSock, nonBlocking: boolean): number => {
    const st: Stream = { sk, nonBlocking, waiters: [] };
    sk.onEvent = () => {
      for (const w of st.waiters.splice(0)) w();
    };
    streams.set(next, st);
    return next++;
  };
  const wait = (st: Stream) => new Promise<void>((resolve) => st.waiters.push(resolve));
  /** Retry `op` until it stops saying EAGAIN (or fail at once when non-blocking). */
  const blocking = async (st: Stream, what: string, op: () => number): Promise<number> => {
    for (;;) {
      const r = op();
      if (r !== -Errno.EAGAIN || st.nonBlocking) return check(r, what);
      await wait(st);
    }
  };
  return {
    socket(domain, type, protocol) {
      if ((type & 0xf) !== 1) return dgram.socket(domain, type, protocol);
      return add(stack.tcp.socket(), (type & 0o4000) !== 0);
    },
    bind(fd, a) {
      const st = streams.get(fd);
      if (!st) return dgram.bind(fd, a);
      check(st.sk.bind(parseIpv4(a.address), a.port), `bind(${fd})`);
    },
    listen(fd, backlog) {
      const st = streams.get(fd);
      if (!st) return dgram.listen(fd, backlog);
      check(st.sk.listen(backlog), `listen(${fd})`);
    },
    async accept(fd, flags) {
      const st = streams.get(fd);
      if (!st) return dgram.accept(fd, flags);
      for (;;) {
        const c = st.sk.accept();
        if (c !== null) return add(c, (flags & 0o4000) !== 0);
        if (st.nonBlocking) throw errnoError(Errno.EAGAIN, `accept(${fd})`);
        await wait(st);
      }
    },
    async connect(fd, a) {
      const st = streams.get(fd);
      if (!st) return dgram.connect(fd, a);
      const r = st.sk.connect(parseIpv4(a.address), a.port);
      if (r !== -Errno.EINPROGRESS || st.nonBlocking) return void check(r, `connect(${fd})`);
      // inet_wait_for_connect: until writable or hung up, then the pending error decides.
      while ((st.sk.poll() & (0x004 | 0x010)) === 0) await wait(st);
      const e = st.sk.error;
      if (e !== 0) throw errnoError(e, `connect(${fd})`);
    },
    send(fd, data, flags, to) {
      const st = streams.get(fd);
      if (!st) return dgram.send(fd, data, flags, to);
      return blocking(st, `send(${fd})`, () => st.sk.send(data, flags));
    },
    recv(fd, buf, flags) {
      const st = streams.get(fd);
      if (!st) return dgram.recv(fd, buf, flags);
      return blocking(st, `recv(${fd})`, () => st.sk.recv(buf, flags));
    },
    shutdown(fd, how) {
      const st = streams.get(fd);
      if (!st) return dgram.shutdown(fd, how);
      check(st.sk.shutdown(how), `shutdown(${fd})`);
    },
    close(fd) {
      const st = streams.get(fd);
      if (!st) return dgram.close(fd);
      streams.delete(fd);
      st.sk.onEvent = null;
      st.sk.close();
    },
    setsockopt(fd, level, name, value) {
      const st = streams.get(fd);
      if (!st) return dgram.setsockopt(fd, level, name, value);
      const opt = OPTIONS[`${level},${name}`];
      if (opt === undefined) throw errnoError(Errno.ENOPROTOOPT, `setsockopt(${fd})`);
      const v = typeof value === "number" ? value : value.onoff ? value.linger : -1;
      check(st.sk.setOption(opt, v), `setsockopt(${fd})`);
    },
    getsockopt(fd, level, name) {
      const st = streams.get(fd);
      if (!st) return dgram.getsockopt(fd, level, name);
      if (level === 1 && name === 4) return st.sk.error; // SO_ERROR
      const opt = OPTIONS[`${level},${name}`];
      if (opt === undefined) throw errnoError(Errno.ENOPROTOOPT, `getsockopt(${fd})`);
      return check(st.sk.getOption(opt), `getsockopt(${fd})`);
    },
    setNonBlocking(fd, nonBlocking) {
      const st = streams.get(fd);
      if (!st) return dgram.setNonBlocking(fd, nonBlocking);
      st.nonBlocking = nonBlocking;
    },
    dispose() {
      for (const st of streams.values()) st.sk.onEvent = null;
    },
  };
}
