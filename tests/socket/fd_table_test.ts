import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  F_GETFL,
  F_SETFL,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  O_NONBLOCK,
  O_RDWR,
  POLLERR,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
} from "../../src/socket/constants.ts";
import { BadResource, SocketError } from "../../src/socket/errors.ts";
import type { PollFd } from "../../src/socket/fd_table.ts";
import { bytes, rejects, throws, udpSocket } from "./_util.ts";

test("socket(): descriptors start at 3 (0–2 are stdio), lowest free first, reused after close", async () => {
  const p = pair({ seed: 31 });
  const s = p.a.sockets;
  const a = s.socket(AF_INET, SOCK_DGRAM, 0);
  const b = s.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  const c = s.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert.equal([a, b, c], [3, 4, 5]);
  s.close(b);
  assert.is(s.socket(AF_INET, SOCK_DGRAM, 0), 4);
  assert.is(s.openSockets, 3);
  await p.close();
  assert.is(s.openSockets, 0, "Stack.close() closes every socket");
});

test("socket(): EAFNOSUPPORT, EINVAL, ESOCKTNOSUPPORT, EPROTONOSUPPORT for unsupported combinations", async () => {
  const p = pair({ seed: 32 });
  const s = p.a.sockets;
  // AF_INET6 has datagram and stream sockets, but no raw ones.
  s.close(s.socket(AF_INET6, SOCK_DGRAM, 0));
  s.close(s.socket(AF_INET6, SOCK_STREAM, 0));
  throws(() => s.socket(AF_INET6, SOCK_RAW, 0), "ESOCKTNOSUPPORT");
  throws(() => s.socket(AF_INET6, SOCK_STREAM, IPPROTO_ICMP), "EPROTONOSUPPORT");
  throws(() => s.socket(AF_UNIX, SOCK_DGRAM, 0), "EAFNOSUPPORT");
  throws(() => s.socket(99, SOCK_DGRAM, 0), "EAFNOSUPPORT");
  throws(() => s.socket(AF_INET, 0, 0), "EINVAL"); // no such type
  throws(() => s.socket(AF_INET, 12, 0), "EINVAL");
  throws(() => s.socket(AF_INET, SOCK_DGRAM | 0x100, 0), "EINVAL"); // unknown type flag
  throws(() => s.socket(AF_INET, SOCK_DGRAM, 300), "EINVAL");
  // inet_create: a type with no protocol at all, then a protocol the type lacks.
  const e = throws(() => s.socket(AF_INET, SOCK_RAW, 0), "ESOCKTNOSUPPORT");
  assert.instance(e, SocketError);
  throws(() => s.socket(AF_INET, SOCK_SEQPACKET, 0), "ESOCKTNOSUPPORT");
  throws(() => s.socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), "EPROTONOSUPPORT");
  throws(() => s.socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), "EPROTONOSUPPORT");
  assert.is(s.openSockets, 0);
  await p.close();
});

test("socket(): ENFILE when the table is full; a close makes room", async () => {
  const p = pair({ seed: 33, a: { maxSockets: 4 } });
  const s = p.a.sockets;
  const fds = [0, 1, 2, 3].map(() => s.socket(AF_INET, SOCK_DGRAM, 0));
  const e = throws(() => s.socket(AF_INET, SOCK_DGRAM, 0), "ENFILE");
  assert.match(e.message, /all 4 sockets are in use/);
  s.close(fds[2]!);
  assert.is(s.socket(AF_INET, SOCK_DGRAM, 0), fds[2]);
  await p.close();
});

test("EBADF for descriptors that are not open, ENOTSOCK for stdio ones", async () => {
  const p = pair({ seed: 34 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  s.close(fd);
  for (const bad of [fd, -1, 1.5, 1000]) {
    const e = throws(() => s.bind(bad, { port: 1 }), "EBADF");
    assert.instance(e, BadResource);
    throws(() => s.getsockname(bad), "EBADF");
    throws(() => s.close(bad), "EBADF");
  }
  await rejects(s.recvfrom(fd, new Uint8Array(1)), "EBADF");
  await rejects(s.sendto(fd, bytes("x"), 0, { address: "127.0.0.1", port: 9 }), "EBADF");
  for (const stdio of [0, 1, 2]) {
    throws(() => s.bind(stdio, { port: 1 }), "ENOTSOCK");
    throws(() => s.getsockopt(stdio, 1, 4), "ENOTSOCK");
  }
  await rejects(s.recvfrom(1, new Uint8Array(1)), "ENOTSOCK");
  s.close(0); // closing stdin frees descriptor 0 for the next socket
  assert.is(s.socket(AF_INET, SOCK_DGRAM, 0), 0);
  await p.close();
});

test("fcntl O_NONBLOCK and SOCK_NONBLOCK make receive fail with EAGAIN at once", async () => {
  const p = pair({ seed: 35 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a, { port: 4100 });
  assert.is(s.fcntl(fd, F_GETFL), O_RDWR);
  s.fcntl(fd, F_SETFL, O_NONBLOCK);
  assert.is(s.fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
  await rejects(s.recvfrom(fd, new Uint8Array(4)), "EAGAIN");
  s.fcntl(fd, F_SETFL, 0);
  assert.is(s.fcntl(fd, F_GETFL), O_RDWR);
  const nb = s.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  assert.is(s.fcntl(nb, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  await rejects(s.recv(nb, new Uint8Array(4)), "EAGAIN");
  throws(() => s.fcntl(fd, 99), "EINVAL");
  await p.close();
});

test("close() fails a blocked receive with EBADF and frees its queued datagrams", async () => {
  const p = pair({ seed: 36 });
  const s = p.a.sockets;
  const rx = udpSocket(p.a, { address: "127.0.0.1", port: 4101 });
  const pending = s.recvfrom(rx, new Uint8Array(4));
  const other = udpSocket(p.a, { address: "127.0.0.1", port: 4102 });
  const tx = udpSocket(p.a);
  for (let i = 0; i < 3; i++) {
    await s.sendto(tx, bytes("q"), 0, { address: "127.0.0.1", port: 4102 });
  }
  p.clock.runUntilIdle();
  assert.ok(p.arena.inUse > 0, "datagrams sit in the queue");
  s.close(rx);
  const e = await rejects(pending, "EBADF");
  assert.match(e.message, /the socket was closed/);
  s.close(other);
  s.close(tx);
  await p.close(); // checks that no arena slot leaked
});

test("poll: POLLOUT at once, POLLIN when a datagram arrives, 0 on timeout, POLLNVAL, EINTR", async () => {
  const p = pair({ seed: 37, impair: { delay: 2 } });
  const s = p.b.sockets;
  const rx = udpSocket(p.b, { port: 4103 });
  const fds: PollFd[] = [{ fd: rx, events: POLLIN | POLLOUT, revents: 0 }];
  assert.is(await s.poll(fds, 0), 1);
  assert.is(fds[0]!.revents, POLLOUT);
  const onlyIn: PollFd[] = [{ fd: rx, events: POLLIN, revents: 0 }];
  const t0 = p.clock.now();
  assert.is(await settle(p.clock, s.poll(onlyIn, 100)), 0);
  assert.is(p.clock.now() - t0, 100);
  const waiting = s.poll(onlyIn, -1);
  const tx = udpSocket(p.a);
  await p.a.sockets.sendto(tx, bytes("hi"), 0, { address: "192.0.2.2", port: 4103 });
  assert.is(await settle(p.clock, waiting), 1);
  assert.is(onlyIn[0]!.revents, POLLIN);
  const bad: PollFd[] = [{ fd: 77, events: POLLIN, revents: 0 }];
  assert.is(await s.poll(bad), 1);
  assert.is(bad[0]!.revents, POLLNVAL);
  await s.recv(rx, new Uint8Array(4));
  const ac = new AbortController();
  const aborted = s.poll(onlyIn, -1, { signal: ac.signal });
  ac.abort();
  await rejects(aborted, "EINTR");
  assert.is(s.get(rx).waiting, 0, "no waiter left behind");
  await p.close();
});

test("poll: a negative fd is ignored (revents 0, Linux); with nothing to wait on it sleeps until the timeout", async () => {
  const p = pair({ seed: 38, impair: { delay: 2 } });
  const s = p.b.sockets;
  const rx = udpSocket(p.b, { port: 4104 });
  const fds: PollFd[] = [
    { fd: -1, events: POLLIN, revents: 99 },
    { fd: rx, events: POLLIN, revents: 0 },
  ];
  const t0 = p.clock.now();
  assert.is(
    await settle(p.clock, s.poll(fds, 50)),
    0,
    "the disabled entry does not count as ready",
  );
  assert.is(fds[0]!.revents, 0);
  assert.is(p.clock.now() - t0, 50);
  const t1 = p.clock.now();
  assert.is(await settle(p.clock, s.poll([], 200)), 0);
  assert.is(p.clock.now() - t1, 200, "poll([], 200) waits 200 ms like poll(2)");
  const t2 = p.clock.now();
  assert.is(await settle(p.clock, s.poll([{ fd: -1, events: POLLIN, revents: 0 }], 30)), 0);
  assert.is(p.clock.now() - t2, 30);
  const ac = new AbortController();
  const forever = s.poll([], -1, { signal: ac.signal });
  ac.abort();
  await rejects(forever, "EINTR");
  await p.close();
});

test("poll reports POLLERR for a pending socket error (connected socket, port unreachable)", async () => {
  const p = pair({ seed: 38 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  await s.connect(fd, { address: "127.0.0.1", port: 9 });
  await s.send(fd, bytes("anyone?"));
  const fds: PollFd[] = [{ fd, events: POLLIN, revents: 0 }];
  assert.is(await settle(p.clock, s.poll(fds)), 1);
  assert.is(fds[0]!.revents, POLLERR);
  await p.close();
});

test("listen() and accept() on a datagram socket are EOPNOTSUPP (sock_no_listen / sock_no_accept)", async () => {
  const p = pair({ seed: 39 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a, { port: 4104 });
  throws(() => s.listen(fd, 16), "EOPNOTSUPP");
  await rejects(s.accept(fd), "EOPNOTSUPP");
  await rejects(s.accept(fd, 0x100), "EINVAL");
  await p.close();
});
