/**
 * `inetStreamOps` through the BSD layer, connection management: socket,
 * bind, listen, connect (blocking and not), accept/accept4, AF_UNSPEC
 * disconnect — the errno paths of Linux's socket layer (`inet_stream_connect`,
 * `inet_listen`, `inet_accept`, `sys_accept4`). Data, shutdown and options
 * are in `inet_stream_io_test.ts`.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  F_GETFL,
  F_SETFL,
  IPPROTO_TCP,
  O_NONBLOCK,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  SHUT_RDWR,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_ERROR,
  SO_LINGER,
  SO_PROTOCOL,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  SO_TYPE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../../src/socket/constants.ts";
import {
  AddrInUse,
  AddrNotAvailable,
  ConnectionAborted,
  ConnectionRefused,
  PermissionDenied,
  TimedOut,
} from "../../src/socket/errors.ts";
import type { Stack } from "../../src/api/stack.ts";
import { TcpState } from "../../src/tcp/state.ts";
import type { StreamSock } from "../../src/socket/inet_stream.ts";
import { bytes, rejects, text, throws } from "./_util.ts";

const B = "192.0.2.2";

function tcp(stack: Stack, type = SOCK_STREAM): number {
  return stack.sockets.socket(AF_INET, type, 0);
}

function listening(stack: Stack, port: number, backlog = 16): number {
  const fd = tcp(stack);
  stack.sockets.bind(fd, { port });
  stack.sockets.listen(fd, backlog);
  return fd;
}

function tcb(stack: Stack, fd: number) {
  return (stack.sockets.get(fd).sk as StreamSock).tcp;
}

/** Resolve after `ms` of virtual time (other work runs meanwhile). */
function idle(p: ReturnType<typeof pair>, ms: number): Promise<void> {
  return settle(p.clock, new Promise<void>((r) => p.clock.setTimer(ms, r)));
}

test("socket(AF_INET, SOCK_STREAM, 0) is TCP: SO_TYPE/PROTOCOL/DOMAIN, 0.0.0.0:0, ENOTCONN peer, POLLOUT|POLLHUP", async () => {
  const p = pair({ seed: 301 });
  const s = p.a.sockets;
  const fd = tcp(p.a);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_DOMAIN), AF_INET);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
  assert.equal(s.getsockname(fd), { family: AF_INET, address: "0.0.0.0", port: 0 });
  throws(() => s.getpeername(fd), "ENOTCONN");
  // tcp_poll on a fresh socket: CLOSED is POLLHUP, and it is "writable".
  const pfd = [{ fd, events: POLLIN | POLLOUT, revents: 0 }];
  assert.is(await s.poll(pfd, 0), 1);
  assert.is(pfd[0]!.revents & (POLLOUT | POLLHUP | POLLIN), POLLOUT | POLLHUP);
  s.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  await p.close();
});

test("inet_bind for TCP: EADDRNOTAVAIL non-local, EACCES privileged, EINVAL twice, EADDRINUSE, EAFNOSUPPORT", async () => {
  const p = pair({ seed: 302, b: { allowPrivilegedPorts: false } });
  const s = p.a.sockets;
  const fd = tcp(p.a);
  const e = throws(() => s.bind(fd, { address: "192.0.2.9", port: 80 }), "EADDRNOTAVAIL");
  assert.instance(e, AddrNotAvailable);
  assert.is(e.message, "Cannot bind 192.0.2.9:80: address not available on any interface");
  throws(() => s.bind(fd, { family: AF_INET6, port: 80 }), "EAFNOSUPPORT");
  throws(() => s.bind(fd, { family: AF_UNSPEC, address: "192.0.2.1", port: 80 }), "EAFNOSUPPORT");
  s.bind(fd, { address: "192.0.2.1", port: 80 });
  assert.equal(s.getsockname(fd), { family: AF_INET, address: "192.0.2.1", port: 80 });
  assert.match(throws(() => s.bind(fd, { port: 81 }), "EINVAL").message, /already bound/);
  const other = tcp(p.a);
  assert.instance(throws(() => s.bind(other, { port: 80 }), "EADDRINUSE"), AddrInUse);
  s.bind(other, { address: "127.0.0.1", port: 80 }); // disjoint address: fine
  const priv = tcp(p.b);
  assert.instance(throws(() => p.b.sockets.bind(priv, { port: 80 }), "EACCES"), PermissionDenied);
  p.b.sockets.bind(priv, { port: 0 });
  assert.ok(p.b.sockets.getsockname(priv).port >= 32768);
  await p.close();
});

test("inet_listen: an unbound socket autobinds an ephemeral port; SO_ACCEPTCONN; POLLIN when a connection waits", async () => {
  const p = pair({ seed: 303 });
  const s = p.b.sockets;
  const l = tcp(p.b);
  s.listen(l, 4);
  const port = s.getsockname(l).port;
  assert.ok(port >= 32768 && port <= 60999, `ephemeral port ${port}`);
  assert.is(s.getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
  const pfd = [{ fd: l, events: POLLIN, revents: 0 }];
  assert.is(await s.poll(pfd, 0), 0, "nothing to accept yet");
  const c = tcp(p.a);
  await settle(p.clock, p.a.sockets.connect(c, { address: B, port }));
  assert.is(await settle(p.clock, s.poll(pfd, 1000)), 1);
  assert.is(pfd[0]!.revents, POLLIN);
  await p.close();
});

test("listen() on a listener only updates the backlog (Linux inet_listen); EINVAL when connected or not CLOSE/LISTEN", async () => {
  const p = pair({ seed: 304 });
  const s = p.b.sockets;
  const l = listening(p.b, 8080, 1);
  assert.is(tcb(p.b, l).tcb.listen!.backlog, 1);
  s.listen(l, 32);
  assert.is(tcb(p.b, l).tcb.listen!.backlog, 32, "backlog updated");
  assert.is(tcb(p.b, l).state, TcpState.LISTEN);
  // Both connections now fit the accept queue (a backlog of 1 would drop one SYN).
  const c1 = tcp(p.a);
  const c2 = tcp(p.a);
  await settle(
    p.clock,
    Promise.all([
      p.a.sockets.connect(c1, { address: B, port: 8080 }),
      p.a.sockets.connect(c2, { address: B, port: 8080 }),
    ]),
  );
  assert.is(tcb(p.b, l).tcb.listen!.acceptQueue.length, 2);
  // A connected socket cannot listen (sock->state != SS_UNCONNECTED).
  throws(() => p.a.sockets.listen(c1, 4), "EINVAL");
  await p.close();
});

test("blocking connect + blocking accept: ESTABLISHED both ends, names agree, accept peer, EISCONN afterwards", async () => {
  const p = pair({ seed: 305, impair: { delay: 3 } });
  const l = listening(p.b, 8080);
  const accepted = p.b.sockets.accept(l);
  const c = tcp(p.a);
  await settle(p.clock, p.a.sockets.connect(c, { address: B, port: 8080 }));
  const { fd, peer } = await settle(p.clock, accepted);
  const local = p.a.sockets.getsockname(c);
  assert.is(local.address, "192.0.2.1");
  assert.equal(p.a.sockets.getpeername(c), { family: AF_INET, address: B, port: 8080 });
  assert.equal(peer, local);
  assert.equal(p.b.sockets.getpeername(fd), local);
  assert.equal(p.b.sockets.getsockname(fd), { family: AF_INET, address: B, port: 8080 });
  assert.is(tcb(p.a, c).state, TcpState.ESTABLISHED);
  const e = await rejects(p.a.sockets.connect(c, { address: B, port: 8080 }), "EISCONN");
  assert.is(e.message, "Cannot connect to 192.0.2.2:8080: the socket is already connected");
  // A listening socket is not CLOSED either: EISCONN (inet_stream_connect, SS_UNCONNECTED).
  await rejects(p.b.sockets.connect(l, { address: "192.0.2.1", port: 9 }), "EISCONN");
  await p.close();
});

test("non-blocking connect: EINPROGRESS, EALREADY while SYN-SENT, POLLOUT, SO_ERROR 0, then 0 and EISCONN", async () => {
  const p = pair({ seed: 306, impair: { delay: 10 } });
  listening(p.b, 8080);
  const s = p.a.sockets;
  const c = tcp(p.a, SOCK_STREAM | SOCK_NONBLOCK);
  await rejects(s.connect(c, { address: B, port: 8080 }), "EINPROGRESS");
  assert.is(tcb(p.a, c).state, TcpState.SYN_SENT);
  const e = await rejects(s.connect(c, { address: B, port: 8080 }), "EALREADY");
  assert.match(e.message, /already in progress/);
  const pfd = [{ fd: c, events: POLLOUT, revents: 0 }];
  assert.is(await s.poll(pfd, 0), 0, "no POLLOUT while handshaking");
  assert.is(await settle(p.clock, s.poll(pfd, -1)), 1);
  assert.is(pfd[0]!.revents, POLLOUT);
  assert.ok(p.clock.now() >= 20, "at least one round trip (SYN → SYN-ACK)");
  assert.is(s.getsockopt(c, SOL_SOCKET, SO_ERROR), 0);
  // SS_CONNECTING with an established TCB: the next connect() completes it (returns 0) …
  await s.connect(c, { address: B, port: 8080 });
  // … and only then is the socket SS_CONNECTED.
  await rejects(s.connect(c, { address: B, port: 8080 }), "EISCONN");
  await p.close();
});

test("non-blocking connect to a closed port: POLLERR|POLLHUP, SO_ERROR ECONNREFUSED once; the socket connects again", async () => {
  const p = pair({ seed: 307 });
  const s = p.a.sockets;
  const c = tcp(p.a, SOCK_STREAM | SOCK_NONBLOCK);
  await rejects(s.connect(c, { address: B, port: 81 }), "EINPROGRESS");
  const pfd = [{ fd: c, events: POLLOUT, revents: 0 }];
  await settle(p.clock, s.poll(pfd, -1));
  assert.is(pfd[0]!.revents & (POLLERR | POLLHUP), POLLERR | POLLHUP);
  assert.is(s.getsockopt(c, SOL_SOCKET, SO_ERROR), 111);
  assert.is(s.getsockopt(c, SOL_SOCKET, SO_ERROR), 0, "read and cleared");
  // SS_CONNECTING + CLOSE with no error left: the sock_error path says ECONNABORTED …
  assert.instance(
    await rejects(s.connect(c, { address: B, port: 81 }), "ECONNABORTED"),
    ConnectionAborted,
  );
  // … and the socket is unconnected again: a new attempt goes out.
  listening(p.b, 8080);
  await rejects(s.connect(c, { address: B, port: 8080 }), "EINPROGRESS");
  await settle(p.clock, s.poll(pfd, -1));
  assert.is(s.getsockopt(c, SOL_SOCKET, SO_ERROR), 0);
  assert.is(tcb(p.a, c).state, TcpState.ESTABLISHED);
  await p.close();
});

test("non-blocking connect refused, error not read: the next connect() reports ECONNREFUSED (sock_error)", async () => {
  const p = pair({ seed: 308 });
  const s = p.a.sockets;
  const c = tcp(p.a, SOCK_STREAM | SOCK_NONBLOCK);
  await rejects(s.connect(c, { address: B, port: 81 }), "EINPROGRESS");
  await settle(p.clock, s.poll([{ fd: c, events: POLLOUT, revents: 0 }], -1));
  const e = await rejects(s.connect(c, { address: B, port: 81 }), "ECONNREFUSED");
  assert.is(e.message, "Cannot connect to 192.0.2.2:81: connection refused");
  await rejects(s.connect(c, { address: B, port: 81 }), "EINPROGRESS"); // a fresh attempt
  await p.close();
});

test("blocking connect to a closed port: ConnectionRefused; an explicitly bound port survives for the retry", async () => {
  const p = pair({ seed: 309 });
  const s = p.a.sockets;
  const c = tcp(p.a);
  s.bind(c, { port: 40000 });
  const e = await rejects(settle(p.clock, s.connect(c, { address: B, port: 81 })), "ECONNREFUSED");
  assert.instance(e, ConnectionRefused);
  assert.is(e.message, "Cannot connect to 192.0.2.2:81: connection refused");
  assert.is(s.getsockopt(c, SOL_SOCKET, SO_ERROR), 0, "connect() consumed the error");
  assert.is(s.getsockname(c).port, 40000, "SOCK_BINDPORT_LOCK: still bound");
  const l = listening(p.b, 8080);
  const acc = p.b.sockets.accept(l);
  await settle(p.clock, s.connect(c, { address: B, port: 8080 }));
  assert.is((await settle(p.clock, acc)).peer.port, 40000);
  await p.close();
});

test("blocking connect: SO_SNDTIMEO expiry is EINPROGRESS and the attempt goes on; a second blocking connect waits for it (EALREADY path)", async () => {
  // The SYN is lost; SYN retries give up after synR2.
  const p = pair({ seed: 310, aToB: { loss: 1 }, a: { tcp: { synR2: 10_000 } } });
  const s = p.a.sockets;
  const c = tcp(p.a);
  s.setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, 500);
  await rejects(settle(p.clock, s.connect(c, { address: B, port: 8080 })), "EINPROGRESS");
  assert.is(p.clock.now(), 500);
  assert.is(tcb(p.a, c).state, TcpState.SYN_SENT, "still trying");
  s.setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, 0);
  const e = await rejects(settle(p.clock, s.connect(c, { address: B, port: 8080 })), "ETIMEDOUT");
  assert.instance(e, TimedOut);
  assert.ok(p.clock.now() >= 10_000, `gave up at ${p.clock.now()}`);
  await p.close();
});

test("blocking connect: an aborted signal is EINTR (Interrupted); the attempt stays in progress (EALREADY)", async () => {
  const p = pair({ seed: 311, impair: { delay: 50 } });
  const s = p.a.sockets;
  const c = tcp(p.a);
  const ac = new AbortController();
  p.clock.setTimer(10, () => ac.abort());
  const e = await rejects(
    settle(p.clock, s.connect(c, { address: B, port: 8080 }, { signal: ac.signal })),
    "EINTR",
  );
  assert.is(e.message, "Cannot connect to 192.0.2.2:8080: aborted");
  s.fcntl(c, F_SETFL, O_NONBLOCK);
  await rejects(s.connect(c, { address: B, port: 8080 }), "EALREADY");
  await p.close();
});

test("inet_stream_connect sock_error: shutdown() by another caller during a blocking connect is ECONNABORTED", async () => {
  const p = pair({ seed: 312, impair: { delay: 50 } });
  const s = p.a.sockets;
  const c = tcp(p.a);
  const pending = s.connect(c, { address: B, port: 8080 });
  p.clock.setTimer(10, () => s.shutdown(c, SHUT_RDWR)); // SYN-SENT: tcp_disconnect
  const e = await rejects(settle(p.clock, pending), "ECONNABORTED");
  assert.match(e.message, /aborted/);
  assert.is(tcb(p.a, c).state, TcpState.CLOSED);
  await p.close();
});

test("connect: EAFNOSUPPORT, EINVAL port 0, ENETUNREACH without a route (nothing sent)", async () => {
  const p = pair({ seed: 313 });
  const s = p.a.sockets;
  const c = tcp(p.a);
  await rejects(s.connect(c, { family: AF_INET6, address: B, port: 80 }), "EAFNOSUPPORT");
  await rejects(s.connect(c, { address: "300.1.1.1", port: 80 }), "EINVAL");
  await rejects(s.connect(c, { address: B, port: 0 }), "EINVAL");
  const e = await rejects(s.connect(c, { address: "198.51.100.1", port: 80 }), "ENETUNREACH");
  assert.is(e.message, "Cannot connect to 198.51.100.1:80: no route to the destination");
  assert.is(p.a.stats.tcp.activeOpens, 0);
  await p.close();
});

test("connect(AF_UNSPEC) disconnects: RST to the peer, ENOTCONN peer name, a bound port stays, reconnect works", async () => {
  const p = pair({ seed: 314 });
  const l = listening(p.b, 8080);
  const s = p.a.sockets;
  const c = tcp(p.a);
  s.bind(c, { port: 41000 });
  const acc = p.b.sockets.accept(l);
  await settle(p.clock, s.connect(c, { address: B, port: 8080 }));
  const { fd } = await settle(p.clock, acc);
  await s.connect(c, { family: AF_UNSPEC });
  throws(() => s.getpeername(c), "ENOTCONN");
  assert.is(s.getsockname(c).port, 41000);
  await rejects(settle(p.clock, p.b.sockets.recv(fd, new Uint8Array(8))), "ECONNRESET");
  const acc2 = p.b.sockets.accept(l);
  await settle(p.clock, s.connect(c, { address: B, port: 8080 }));
  assert.is((await settle(p.clock, acc2)).peer.port, 41000);
  // AF_UNSPEC on a fresh socket is a no-op.
  await s.connect(tcp(p.a), { family: AF_UNSPEC });
  await p.close();
});

test("accept4: SOCK_NONBLOCK sets O_NONBLOCK on the new fd; O_NONBLOCK of the listener is NOT inherited (Linux __sys_accept4)", async () => {
  const p = pair({ seed: 315 });
  const s = p.b.sockets;
  const l = tcp(p.b, SOCK_STREAM | SOCK_NONBLOCK);
  s.bind(l, { port: 8080 });
  s.listen(l, 8);
  await rejects(s.accept(l), "EAGAIN");
  for (let i = 0; i < 2; i++) {
    await settle(p.clock, p.a.sockets.connect(tcp(p.a), { address: B, port: 8080 }));
  }
  await settle(p.clock, s.poll([{ fd: l, events: POLLIN, revents: 0 }], -1));
  const plain = await s.accept(l);
  assert.is(s.fcntl(plain.fd, F_GETFL), O_RDWR, "file flags are not inherited via accept()");
  const nb = await s.accept(l, SOCK_NONBLOCK | SOCK_CLOEXEC);
  assert.is(s.fcntl(nb.fd, F_GETFL), O_RDWR | O_NONBLOCK);
  await rejects(s.recv(nb.fd, new Uint8Array(4)), "EAGAIN");
  await rejects(s.accept(l, 0x1), "EINVAL"); // unknown flag
  await rejects(s.accept(l), "EAGAIN");
  await p.close();
});

test("inet_accept: EINVAL on a socket that is not listening; a blocked accept wakes with EINVAL on shutdown(SHUT_RD)", async () => {
  const p = pair({ seed: 316 });
  const s = p.b.sockets;
  const e = await rejects(s.accept(tcp(p.b)), "EINVAL");
  assert.match(e.message, /not listening/);
  const l = listening(p.b, 8080);
  const pending = s.accept(l);
  p.clock.setTimer(100, () => s.shutdown(l, 0)); // SHUT_RD on a listener disconnects it
  await rejects(settle(p.clock, pending), "EINVAL");
  assert.is(tcb(p.b, l).state, TcpState.CLOSED);
  // Nobody listens any more: a SYN gets RST.
  await rejects(
    settle(p.clock, p.a.sockets.connect(tcp(p.a), { address: B, port: 8080 })),
    "ECONNREFUSED",
  );
  await p.close();
});

test("shutdown(SHUT_WR) on a listener changes nothing (the LISTEN branch needs RCV_SHUTDOWN)", async () => {
  const p = pair({ seed: 317 });
  const l = listening(p.b, 8080);
  p.b.sockets.shutdown(l, 1);
  assert.is(tcb(p.b, l).state, TcpState.LISTEN);
  const acc = p.b.sockets.accept(l);
  await settle(p.clock, p.a.sockets.connect(tcp(p.a), { address: B, port: 8080 }));
  await settle(p.clock, acc);
  await p.close();
});

test("data that arrives right after the handshake, before accept(), is kept for the accepted socket", async () => {
  const p = pair({ seed: 318, impair: { delay: 2 } });
  const l = listening(p.b, 8080);
  const c = tcp(p.a);
  await settle(p.clock, p.a.sockets.connect(c, { address: B, port: 8080 }));
  assert.is(await p.a.sockets.send(c, bytes("early bird")), 10);
  await idle(p, 100);
  const { fd } = await p.b.sockets.accept(l);
  const buf = new Uint8Array(32);
  const n = await p.b.sockets.recv(fd, buf);
  assert.is(text(buf.subarray(0, n)), "early bird");
  await p.close();
});

test("Linux inet_accept: an accepted socket may already be CLOSE-WAIT (data + FIN) or CLOSED (reset) — accept still returns it", async () => {
  const p = pair({ seed: 319 });
  const l = listening(p.b, 8080);
  const s = p.b.sockets;
  // 1: data and FIN before accept.
  const c1 = tcp(p.a);
  await settle(p.clock, p.a.sockets.connect(c1, { address: B, port: 8080 }));
  await p.a.sockets.send(c1, bytes("bye"));
  p.a.sockets.shutdown(c1, 1);
  // 2: connected, then reset (SO_LINGER 0 close) before accept.
  const c2 = tcp(p.a);
  await settle(p.clock, p.a.sockets.connect(c2, { address: B, port: 8080 }));
  p.a.sockets.setsockopt(c2, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 });
  await idle(p, 50);
  p.a.sockets.close(c2);
  await idle(p, 50);
  const first = await s.accept(l);
  assert.is(tcb(p.b, first.fd).state, TcpState.CLOSE_WAIT);
  const buf = new Uint8Array(8);
  assert.is(await s.recv(first.fd, buf), 3);
  assert.is(await s.recv(first.fd, buf), 0, "then end of stream");
  const second = await s.accept(l);
  assert.is(tcb(p.b, second.fd).state, TcpState.CLOSED);
  assert.is(second.peer.address, "192.0.2.1", "getname(…, 2) skips the CLOSED check");
  throws(() => s.getpeername(second.fd), "ENOTCONN"); // getpeername (peer 1) does not
  await rejects(s.recv(second.fd, buf), "ECONNRESET");
  await p.close();
});

test("ENFILE: accept with a full descriptor table fails and leaves the connection queued", async () => {
  const p = pair({ seed: 320, b: { maxSockets: 2 } });
  const s = p.b.sockets;
  const l = listening(p.b, 8080);
  await settle(p.clock, p.a.sockets.connect(tcp(p.a), { address: B, port: 8080 }));
  const filler = tcp(p.b);
  await rejects(s.accept(l), "ENFILE");
  assert.is(tcb(p.b, l).tcb.listen!.acceptQueue.length, 1);
  s.close(filler);
  await s.accept(l);
  await p.close();
});

test("close(): a listener resets connections never accepted; the client sees ECONNRESET", async () => {
  const p = pair({ seed: 321 });
  const l = listening(p.b, 8080);
  const c = tcp(p.a);
  await settle(p.clock, p.a.sockets.connect(c, { address: B, port: 8080 }));
  p.b.sockets.close(l);
  await rejects(settle(p.clock, p.a.sockets.recv(c, new Uint8Array(4))), "ECONNRESET");
  assert.is(p.b.tcp.socks.size, 0, "no TCB left on the server");
  await p.close();
});

test("MUST-10: connect-to-self works through simultaneous open; the socket talks to itself", async () => {
  const p = pair({ seed: 322 });
  const s = p.a.sockets;
  const fd = tcp(p.a);
  s.bind(fd, { address: "127.0.0.1", port: 5000 });
  await settle(p.clock, s.connect(fd, { address: "127.0.0.1", port: 5000 }));
  assert.is(tcb(p.a, fd).state, TcpState.ESTABLISHED);
  assert.equal(s.getpeername(fd), s.getsockname(fd));
  await s.send(fd, bytes("echo"));
  const buf = new Uint8Array(8);
  assert.is(text(buf.subarray(0, await settle(p.clock, s.recv(fd, buf)))), "echo");
  await p.close();
});

test("blocking accept: SO_RCVTIMEO expiry is EAGAIN, an aborted signal EINTR, closing the listener EBADF", async () => {
  const p = pair({ seed: 323 });
  const s = p.b.sockets;
  const l = listening(p.b, 8080);
  s.setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, 250);
  const t0 = p.clock.now();
  await rejects(settle(p.clock, s.accept(l)), "EAGAIN");
  assert.is(p.clock.now() - t0, 250);
  s.setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, 0);
  await rejects(s.accept(l, 0, { signal: AbortSignal.abort() }), "EINTR");
  const pending = s.accept(l);
  s.close(l);
  await rejects(pending, "EBADF");
  await p.close();
});

test("a refused connect releases its automatic port: bind() and listen() work on the same socket afterwards", async () => {
  const p = pair({ seed: 324 });
  const s = p.a.sockets;
  const fd = tcp(p.a, SOCK_STREAM | SOCK_NONBLOCK);
  await rejects(s.connect(fd, { address: B, port: 81 }), "EINPROGRESS");
  await settle(p.clock, s.poll([{ fd, events: POLLOUT, revents: 0 }], -1));
  s.bind(fd, { port: 6000 });
  s.listen(fd, 4);
  assert.is(tcb(p.a, fd).state, TcpState.LISTEN);
  assert.equal(s.getsockname(fd), { family: AF_INET, address: "0.0.0.0", port: 6000 });
  await p.close();
});
