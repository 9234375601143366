import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import {
  AF_INET6,
  AF_UNSPEC,
  IP_FREEBIND,
  IP_MTU_DISCOVER,
  IP_MULTICAST_TTL,
  IP_RECVERR,
  IP_TOS,
  IP_TTL,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MSG_DONTWAIT,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_BROADCAST,
  SO_DOMAIN,
  SO_ERROR,
  SO_NO_CHECK,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_TYPE,
  SOL_IP,
  SOL_SOCKET,
} from "../../src/socket/constants.ts";
import {
  AddrInUse,
  AddrNotAvailable,
  BrokenPipe,
  Interrupted,
  PermissionDenied,
  WouldBlock,
} from "../../src/socket/errors.ts";
import { bytes, rejects, text, throws, udpSocket } from "./_util.ts";

const B = "192.0.2.2";

test("inet_bind: a second bind on the same socket is EINVAL (seed [004] step 6)", async () => {
  const p = pair({ seed: 11 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a, { port: 5000 });
  const e = throws(() => s.bind(fd, { port: 5001 }), "EINVAL");
  assert.match(e.message, /already bound/);
  assert.equal(s.getsockname(fd), { family: 2, address: "0.0.0.0", port: 5000 });
  await p.close();
});

test("inet_bind: a taken port is EADDRINUSE (AddrInUse); disjoint specific addresses may share it", async () => {
  const p = pair({ seed: 12 });
  const s = p.a.sockets;
  udpSocket(p.a, { address: "192.0.2.1", port: 5000 });
  udpSocket(p.a, { address: "127.0.0.1", port: 5000 }); // different address: no clash
  const fd = udpSocket(p.a);
  const e = throws(() => s.bind(fd, { port: 5000 }), "EADDRINUSE"); // wildcard overlaps both
  assert.instance(e, AddrInUse);
  assert.is(e.message, "Cannot bind 0.0.0.0:5000: address already in use");
  throws(() => s.bind(fd, { address: "192.0.2.1", port: 5000 }), "EADDRINUSE");
  // The failed bind left the socket unbound, so it can still bind elsewhere.
  s.bind(fd, { port: 5001 });
  await p.close();
});

test("SO_REUSEADDR: several sockets share a port only when every one of them set it", async () => {
  const p = pair({ seed: 13 });
  const s = p.a.sockets;
  const a = udpSocket(p.a);
  s.setsockopt(a, SOL_SOCKET, SO_REUSEADDR, true);
  s.bind(a, { port: 6000 });
  const b = udpSocket(p.a);
  throws(() => s.bind(b, { port: 6000 }), "EADDRINUSE");
  s.setsockopt(b, SOL_SOCKET, SO_REUSEADDR, 1);
  s.bind(b, { port: 6000 });
  assert.is(s.getsockopt(b, SOL_SOCKET, SO_REUSEADDR), 1);
  await p.close();
});

test("inet_bind: a non-local address is EADDRNOTAVAIL unless IP_FREEBIND (seed [004] step 4)", async () => {
  const p = pair({ seed: 14 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  const e = throws(() => s.bind(fd, { address: "192.0.2.9", port: 53 }), "EADDRNOTAVAIL");
  assert.instance(e, AddrNotAvailable);
  assert.is(e.message, "Cannot bind 192.0.2.9:53: address not available on any interface");
  s.setsockopt(fd, SOL_IP, IP_FREEBIND, 1);
  s.bind(fd, { address: "192.0.2.9", port: 53 });
  assert.equal(s.getsockname(fd), { family: 2, address: "192.0.2.9", port: 53 });
  // Broadcast and multicast addresses are bindable (RTN_BROADCAST / RTN_MULTICAST).
  udpSocket(p.a, { address: "192.0.2.255", port: 53 });
  udpSocket(p.a, { address: "255.255.255.255", port: 53 });
  udpSocket(p.a, { address: "224.0.0.1", port: 53 });
  await p.close();
});

test("inet_bind: ports below 1024 are EACCES when the Stack lacks the privilege (default: allowed)", async () => {
  const p = pair({ seed: 15, b: { allowPrivilegedPorts: false } });
  udpSocket(p.a, { port: 53 }); // A: default, a userspace stack is its own root
  const fd = udpSocket(p.b);
  const e = throws(() => p.b.sockets.bind(fd, { port: 53 }), "EACCES");
  assert.instance(e, PermissionDenied);
  assert.match(e.message, /Cannot bind 0\.0\.0\.0:53: ports below 1024 need privilege/);
  p.b.sockets.bind(fd, { port: 1024 }); // PROT_SOCK itself is fine
  udpSocket(p.b, { port: 0 }); // and an ephemeral port
  p.b.inet.allowPrivilegedPorts = true; // the "capability" can change at run time
  udpSocket(p.b, { port: 53 });
  await p.close();
});

test("inet_bind: malformed addresses are EINVAL, foreign families EAFNOSUPPORT", async () => {
  const p = pair({ seed: 16 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  throws(() => s.bind(fd, { address: "192.0.2.300", port: 1 }), "EINVAL");
  throws(() => s.bind(fd, { address: "192.0.2.1", port: 70000 }), "EINVAL");
  throws(() => s.bind(fd, { address: "192.0.2.1", port: 1.5 }), "EINVAL");
  throws(() => s.bind(fd, { address: -1, port: 1 }), "EINVAL");
  throws(() => s.bind(fd, { family: AF_INET6, port: 1 }), "EAFNOSUPPORT");
  // AF_UNSPEC is accepted for INADDR_ANY only (Linux compatibility).
  throws(() => s.bind(fd, { family: AF_UNSPEC, address: "192.0.2.1", port: 1 }), "EAFNOSUPPORT");
  s.bind(fd, { family: AF_UNSPEC, address: 0, port: 7001 });
  await p.close();
});

test("connect: sets the peer and the local address; getpeername is ENOTCONN before; AF_UNSPEC disconnects", async () => {
  const p = pair({ seed: 17 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  throws(() => s.getpeername(fd), "ENOTCONN");
  await s.connect(fd, { address: B, port: 7 });
  assert.equal(s.getpeername(fd), { family: 2, address: B, port: 7 });
  const local = s.getsockname(fd);
  assert.is(local.address, "192.0.2.1", "ip4_datagram_connect fixes the source address");
  assert.ok(local.port >= 32768 && local.port <= 60999, "connect autobinds an ephemeral port");
  await s.connect(fd, { family: AF_UNSPEC });
  throws(() => s.getpeername(fd), "ENOTCONN");
  assert.equal(
    s.getsockname(fd),
    { family: 2, address: "0.0.0.0", port: 0 },
    "autobound port released",
  );
  // An explicitly bound socket keeps its address and port across a disconnect.
  const g = udpSocket(p.a, { address: "192.0.2.1", port: 7100 });
  await s.connect(g, { address: B, port: 7 });
  await s.connect(g, { family: AF_UNSPEC });
  assert.equal(s.getsockname(g), { family: 2, address: "192.0.2.1", port: 7100 });
  await p.close();
});

test("connect: a broadcast peer needs SO_BROADCAST (EACCES); no route is ENETUNREACH", async () => {
  const p = pair({ seed: 18 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  await rejects(s.connect(fd, { address: "192.0.2.255", port: 9 }), "EACCES");
  await rejects(s.connect(fd, { address: "198.51.100.1", port: 9 }), "ENETUNREACH");
  s.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1);
  await s.connect(fd, { address: "192.0.2.255", port: 9 });
  await p.close();
});

test("sendto: EDESTADDRREQ without an address on an unconnected socket; EMSGSIZE above 65507", async () => {
  const p = pair({ seed: 19 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  const e = await rejects(s.send(fd, bytes("x")), "EDESTADDRREQ");
  assert.match(e.message, /not connected and no destination/);
  await rejects(s.sendto(fd, new Uint8Array(65508), 0, { address: B, port: 9 }), "EMSGSIZE");
  const b = udpSocket(p.b, { port: 9 });
  // Resolve ARP first: the neighbour layer keeps only 3 packets (45 fragments here) while resolving.
  await s.sendto(fd, bytes("warm"), 0, { address: B, port: 9 });
  await settle(p.clock, p.b.sockets.recvfrom(b, new Uint8Array(8)));
  assert.is(await s.sendto(fd, new Uint8Array(65507), 0, { address: B, port: 9 }), 65507);
  const r = await settle(p.clock, p.b.sockets.recvfrom(b, new Uint8Array(65536)));
  assert.is(r.bytes, 65507);
  await p.close();
});

test("sendto: broadcast without SO_BROADCAST is EACCES, checked after the route lookup (seed [001])", async () => {
  const p = pair({ seed: 20 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  const e = await rejects(
    s.sendto(fd, bytes("x"), 0, { address: "192.0.2.255", port: 9 }),
    "EACCES",
  );
  assert.instance(e, PermissionDenied);
  assert.match(e.message, /needs SO_BROADCAST/);
  await rejects(s.sendto(fd, bytes("x"), 0, { address: "255.255.255.255", port: 9 }), "EACCES");
  // No route comes first: the broadcast check needs the route's verdict.
  await rejects(s.sendto(fd, bytes("x"), 0, { address: "198.51.100.255", port: 9 }), "ENETUNREACH");
  s.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, true);
  assert.is(await s.sendto(fd, bytes("x"), 0, { address: "192.0.2.255", port: 9 }), 1);
  await p.close();
});

test("sendto: port 0 and malformed addresses are EINVAL, IPv6 EAFNOSUPPORT, MSG_OOB EOPNOTSUPP", async () => {
  const p = pair({ seed: 21 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  await rejects(s.sendto(fd, bytes("x"), 0, { address: B, port: 0 }), "EINVAL");
  await rejects(s.sendto(fd, bytes("x"), 0, { address: "b", port: 9 }), "EINVAL");
  await rejects(
    s.sendto(fd, bytes("x"), 0, { family: AF_INET6, address: B, port: 9 }),
    "EAFNOSUPPORT",
  );
  await rejects(s.sendto(fd, bytes("x"), MSG_OOB, { address: B, port: 9 }), "EOPNOTSUPP");
  await p.close();
});

test("sendto: a send auto-binds an ephemeral port; sending to 0.0.0.0 reaches this host", async () => {
  const p = pair({ seed: 22 });
  const s = p.a.sockets;
  const rx = udpSocket(p.a, { port: 4000 });
  const fd = udpSocket(p.a);
  assert.is(s.getsockname(fd).port, 0);
  await s.sendto(fd, bytes("self"), 0, { address: "0.0.0.0", port: 4000 });
  const port = s.getsockname(fd).port;
  assert.ok(port >= 32768 && port <= 60999, `ephemeral ${port}`);
  const r = await settle(p.clock, s.recvfrom(rx, new Uint8Array(16)));
  assert.is(r.bytes, 4);
  assert.equal(r.from, { family: 2, address: "127.0.0.1", port });
  await p.close();
});

test("shutdown(SHUT_WR): later sends fail with EPIPE (BrokenPipe); unconnected: ENOTCONN yet applied", async () => {
  const p = pair({ seed: 23 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  await s.connect(fd, { address: B, port: 9 });
  s.shutdown(fd, SHUT_WR);
  const e = await rejects(s.send(fd, bytes("x")), "EPIPE");
  assert.instance(e, BrokenPipe);
  // inet_shutdown on TCP_CLOSE: ENOTCONN, then falls through and sets the bits.
  const u = udpSocket(p.a);
  throws(() => s.shutdown(u, SHUT_WR), "ENOTCONN");
  await rejects(s.sendto(u, bytes("x"), 0, { address: B, port: 9 }), "EPIPE");
  throws(() => s.shutdown(u, 3), "EINVAL");
  await p.close();
});

test("shutdown(SHUT_RD): queued data is still read, then recv returns 0 at once and wakes a waiter", async () => {
  const p = pair({ seed: 24 });
  const s = p.a.sockets;
  const rx = udpSocket(p.a, { address: "127.0.0.1", port: 4001 });
  const tx = udpSocket(p.a);
  await s.connect(rx, { address: "127.0.0.1", port: 9 });
  const pending = s.recvfrom(rx, new Uint8Array(8));
  s.shutdown(rx, SHUT_RD);
  const r = await settle(p.clock, pending);
  assert.is(r.bytes, 0);
  assert.is(r.from, null);
  await rejects(s.send(tx, bytes("x")), "EDESTADDRREQ");
  s.shutdown(rx, SHUT_RDWR);
  assert.is((await s.recvfrom(rx, new Uint8Array(8))).bytes, 0);
  await p.close();
});

test("recvfrom MSG_PEEK leaves the datagram queued; U5 reports source and destination", async () => {
  const p = pair({ seed: 25 });
  const rx = udpSocket(p.b, { port: 5300 });
  const tx = udpSocket(p.a, { port: 5301 });
  await settle(p.clock, p.a.sockets.sendto(tx, bytes("peekaboo"), 0, { address: B, port: 5300 }));
  const s = p.b.sockets;
  const buf = new Uint8Array(32);
  const r1 = await settle(p.clock, s.recvfrom(rx, buf, MSG_PEEK));
  const r2 = await s.recvfrom(rx, buf, MSG_PEEK);
  assert.is(r1.bytes, 8);
  assert.is(r2.bytes, 8);
  const r3 = await s.recvfrom(rx, buf);
  assert.is(text(buf.subarray(0, r3.bytes)), "peekaboo");
  assert.equal(r3.from, { family: 2, address: "192.0.2.1", port: 5301 });
  assert.equal(r3.to, { family: 2, address: B, port: 5300 });
  await rejects(s.recvfrom(rx, buf, MSG_DONTWAIT), "EAGAIN");
  await p.close();
});

test("recvfrom MSG_TRUNC: the datagram is cut to the buffer, the rest discarded, MSG_TRUNC reported", async () => {
  const p = pair({ seed: 26 });
  const s = p.a.sockets;
  const rx = udpSocket(p.a, { address: "127.0.0.1", port: 4002 });
  const tx = udpSocket(p.a);
  for (const m of ["0123456789", "abcdefghij", "", "xyz"]) {
    await s.sendto(tx, bytes(m), 0, { address: "127.0.0.1", port: 4002 });
  }
  p.clock.runUntilIdle();
  const small = new Uint8Array(4);
  const r1 = await s.recvfrom(rx, small);
  assert.is(r1.bytes, 4);
  assert.is(r1.flags, MSG_TRUNC);
  assert.is(text(small), "0123");
  // With MSG_TRUNC in flags the real length is returned (Linux udp_recvmsg).
  const r2 = await s.recvfrom(rx, small, MSG_TRUNC);
  assert.is(r2.bytes, 10);
  assert.is(r2.flags, MSG_TRUNC);
  assert.is(text(small), "abcd");
  const r3 = await s.recvfrom(rx, small);
  assert.is(r3.bytes, 0, "a zero-length datagram is a datagram");
  assert.ok(r3.from !== null);
  const r4 = await s.recvfrom(rx, small);
  assert.is(r4.flags, 0);
  assert.is(text(small.subarray(0, r4.bytes)), "xyz");
  await p.close();
});

test("EAGAIN: MSG_DONTWAIT and O_NONBLOCK fail at once; SO_RCVTIMEO after the timeout; abort is EINTR", async () => {
  const p = pair({ seed: 27 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a, { port: 4003 });
  const buf = new Uint8Array(8);
  const e1 = await rejects(s.recvfrom(fd, buf, MSG_DONTWAIT), "EAGAIN");
  assert.instance(e1, WouldBlock);
  throws(() => s.recvfromNow(fd, buf), "EAGAIN");
  s.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 250);
  const t0 = p.clock.now();
  const e2 = await rejects(settle(p.clock, s.recvfrom(fd, buf)), "EAGAIN");
  assert.match(e2.message, /SO_RCVTIMEO \(250 ms\)/);
  assert.is(p.clock.now() - t0, 250);
  s.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 0);
  const ac = new AbortController();
  const pending = s.recvfrom(fd, buf, 0, { signal: ac.signal });
  ac.abort();
  assert.instance(await rejects(pending, "EINTR"), Interrupted);
  assert.is(s.get(fd).waiting, 0, "the aborted waiter is gone");
  await p.close();
});

test("a blocked recvfrom resolves when a datagram arrives", async () => {
  const p = pair({ seed: 28, impair: { delay: 3 } });
  const rx = udpSocket(p.b, { port: 4004 });
  const pending = p.b.sockets.recvfrom(rx, new Uint8Array(8));
  const tx = udpSocket(p.a);
  await p.a.sockets.sendto(tx, bytes("late"), 0, { address: B, port: 4004 });
  const r = await settle(p.clock, pending);
  assert.is(r.bytes, 4);
  assert.ok(p.clock.now() >= 3);
  await p.close();
});

test("socket options: defaults, Linux doubling of SO_RCVBUF/SO_SNDBUF, range checks, ENOPROTOOPT", async () => {
  const p = pair({ seed: 29 });
  const s = p.a.sockets;
  const fd = udpSocket(p.a);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_TYPE), 2);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_DOMAIN), 2);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_RCVBUF), 212992);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_BROADCAST), 0);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_ERROR), 0);
  assert.is(s.getsockopt(fd, SOL_IP, IP_TTL), 64);
  assert.is(s.getsockopt(fd, SOL_IP, IP_MULTICAST_TTL), 1);
  s.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 100_000);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_RCVBUF), 200_000);
  s.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 1000);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_RCVBUF), 2304, "SOCK_MIN_RCVBUF");
  s.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 10_000_000);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_SNDBUF), 425984, "clamped to wmem_max, doubled");
  s.setsockopt(fd, SOL_IP, IP_TTL, 7);
  assert.is(s.getsockopt(fd, SOL_IP, IP_TTL), 7);
  s.setsockopt(fd, SOL_IP, IP_TTL, -1);
  assert.is(s.getsockopt(fd, SOL_IP, IP_TTL), 64);
  throws(() => s.setsockopt(fd, SOL_IP, IP_TTL, 0), "EINVAL"); // RFC 1122 §3.2.1.7
  throws(() => s.setsockopt(fd, SOL_IP, IP_TTL, 256), "EINVAL");
  throws(() => s.setsockopt(fd, SOL_IP, IP_TOS, 256), "EINVAL");
  throws(() => s.setsockopt(fd, SOL_IP, IP_MTU_DISCOVER, 9), "EINVAL");
  throws(() => s.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, -1), "EINVAL");
  s.setsockopt(fd, SOL_IP, IP_TOS, 0x10);
  assert.is(s.getsockopt(fd, SOL_IP, IP_TOS), 0x10);
  s.setsockopt(fd, SOL_IP, IP_RECVERR, true);
  assert.is(s.getsockopt(fd, SOL_IP, IP_RECVERR), 1);
  s.setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, 1);
  assert.is(s.getsockopt(fd, SOL_SOCKET, SO_NO_CHECK), 1);
  throws(() => s.setsockopt(fd, SOL_SOCKET, 999, 1), "ENOPROTOOPT");
  throws(() => s.getsockopt(fd, SOL_SOCKET, 999), "ENOPROTOOPT");
  throws(() => s.setsockopt(fd, SOL_SOCKET, SO_ERROR, 1), "ENOPROTOOPT"); // read-only
  throws(() => s.setsockopt(fd, IPPROTO_UDP, 1, 1), "ENOPROTOOPT"); // UDP_CORK: not here
  throws(() => s.getsockopt(fd, IPPROTO_TCP, 1), "ENOPROTOOPT");
  throws(() => s.getsockopt(fd, SOL_IP, 99), "ENOPROTOOPT");
  await p.close();
});
