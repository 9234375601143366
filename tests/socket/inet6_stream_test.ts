/**
 * AF_INET6 stream sockets over TCP/IPv6 (RFC 3493, RFC 4038 §4.2, RFC 4291
 * §2.5.5.2): connect and accept over IPv6, a dual-stack listener on `::`
 * taking IPv4 clients as `::ffff:a.b.c.d`, IPV6_V6ONLY, v4-mapped binds and
 * connects, bind conflicts across families, link-local zones, and the
 * IPv6 socket options of a stream.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { settle } from "../_util/sim.ts";
import {
  AF_INET,
  AF_INET6,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  SO_REUSEADDR,
  SOCK_STREAM,
  SOL_IPV6,
  SOL_SOCKET,
} from "../../src/socket/constants.ts";
import { formatIpv6 } from "../../src/wire/addr6.ts";
import type { Stack } from "../../src/api/stack.ts";
import type { SockAddrIn6 } from "../../src/socket/address.ts";
import { A6, B6, capture6, pair6 } from "../ipv6/_helpers.ts";
import { bytes, rejects, text, throws } from "./_util.ts";

function tcp6(stack: Stack, bind?: { address?: string; port?: number; scopeId?: number | string }) {
  const fd = stack.sockets.socket(AF_INET6, SOCK_STREAM, 0);
  if (bind !== undefined) stack.sockets.bind(fd, { family: AF_INET6, ...bind });
  return fd;
}

test("AF_INET6 stream: connect 2001:db8::1 → [2001:db8::2]:80, accept, data both ways; names are IPv6", async () => {
  const p = pair6();
  const ls = tcp6(p.b, { address: "::", port: 80 });
  p.b.sockets.listen(ls, 8);
  const c = tcp6(p.a);
  await settle(p.clock, p.a.sockets.connect(c, { family: AF_INET6, address: B6, port: 80 }));
  const { fd: s, peer } = await settle(p.clock, p.b.sockets.accept(ls));
  assert.is(peer.address, A6);
  assert.is(peer.family, AF_INET6);
  const local = p.a.sockets.getsockname(c) as SockAddrIn6;
  assert.is(local.address, A6);
  assert.is(local.family, AF_INET6);
  assert.is(p.a.sockets.getpeername(c).address, B6);
  assert.is(p.a.sockets.getpeername(c).port, 80);
  assert.is(p.b.sockets.getsockname(s).address, B6);
  assert.is(p.b.sockets.getsockname(ls).address, "::");
  await p.a.sockets.send(c, bytes("over six"));
  const buf = new Uint8Array(64);
  const n = await settle(p.clock, p.b.sockets.recv(s, buf));
  assert.is(text(buf.subarray(0, n)), "over six");
  await p.b.sockets.send(s, bytes("and back"));
  const m = await settle(p.clock, p.a.sockets.recv(c, buf));
  assert.is(text(buf.subarray(0, m)), "and back");
  const rows = p.b.sockets.list().filter((r) => r.protocol === "tcp");
  assert.ok(rows.some((r) => r.local.address === B6 && r.remote?.address === A6), "ss shows IPv6");
  for (const [st, fd] of [[p.a, c], [p.b, s], [p.b, ls]] as const) st.sockets.close(fd);
  await p.close();
});

test("AF_INET6 stream: one listener on :: accepts IPv6 and IPv4 clients, the IPv4 one as ::ffff:192.0.2.1", async () => {
  const p = pair6();
  const ls = tcp6(p.b, { address: "::", port: 8080 });
  p.b.sockets.listen(ls, 8);
  const c6 = tcp6(p.a);
  await settle(p.clock, p.a.sockets.connect(c6, { family: AF_INET6, address: B6, port: 8080 }));
  const c4 = p.a.sockets.socket(AF_INET, SOCK_STREAM, 0);
  await settle(p.clock, p.a.sockets.connect(c4, { address: "192.0.2.2", port: 8080 }));
  const first = await settle(p.clock, p.b.sockets.accept(ls));
  const second = await settle(p.clock, p.b.sockets.accept(ls));
  const peers = [first.peer.address, second.peer.address].sort();
  assert.equal(peers, ["2001:db8::1", "::ffff:192.0.2.1"]);
  const four = first.peer.address.startsWith("::ffff:") ? first.fd : second.fd;
  assert.is(p.b.sockets.getsockname(four).address, "::ffff:192.0.2.2");
  assert.is(p.b.sockets.getsockname(four).family, AF_INET6);
  // The IPv4 client's data goes through the IPv4 connection.
  await p.a.sockets.send(c4, bytes("v4 client"));
  const buf = new Uint8Array(64);
  const n = await settle(p.clock, p.b.sockets.recv(four, buf));
  assert.is(text(buf.subarray(0, n)), "v4 client");
  for (const fd of [first.fd, second.fd, ls]) p.b.sockets.close(fd);
  for (const fd of [c4, c6]) p.a.sockets.close(fd);
  await p.close();
});

test("IPV6_V6ONLY: the listener on :: refuses IPv4 (RST: ECONNREFUSED) and a 0.0.0.0 listener may share its port; it is fixed at bind", async () => {
  const p = pair6();
  const ls = tcp6(p.b);
  p.b.sockets.setsockopt(ls, SOL_IPV6, IPV6_V6ONLY, 1);
  assert.is(p.b.sockets.getsockopt(ls, SOL_IPV6, IPV6_V6ONLY), 1);
  p.b.sockets.bind(ls, { family: AF_INET6, address: "::", port: 8080 });
  p.b.sockets.listen(ls, 8);
  throws(() => p.b.sockets.setsockopt(ls, SOL_IPV6, IPV6_V6ONLY, 0), "EINVAL");
  const c4 = p.a.sockets.socket(AF_INET, SOCK_STREAM, 0);
  await rejects(
    settle(p.clock, p.a.sockets.connect(c4, { address: "192.0.2.2", port: 8080 })),
    "ECONNREFUSED",
  );
  // With V6ONLY the :: listener claims no IPv4 address: 0.0.0.0 may bind the port.
  const l4 = p.b.sockets.socket(AF_INET, SOCK_STREAM, 0);
  p.b.sockets.bind(l4, { address: "0.0.0.0", port: 8080 });
  p.b.sockets.listen(l4, 8);
  const again = p.a.sockets.socket(AF_INET, SOCK_STREAM, 0);
  await settle(p.clock, p.a.sockets.connect(again, { address: "192.0.2.2", port: 8080 }));
  const got = await settle(p.clock, p.b.sockets.accept(l4));
  assert.is(got.peer.address, "192.0.2.1");
  // An IPV6_V6ONLY socket cannot reach IPv4-mapped addresses.
  const v6only = tcp6(p.a);
  p.a.sockets.setsockopt(v6only, SOL_IPV6, IPV6_V6ONLY, 1);
  await rejects(
    p.a.sockets.connect(v6only, { family: AF_INET6, address: "::ffff:192.0.2.2", port: 8080 }),
    "ENETUNREACH",
  );
  throws(
    () => p.a.sockets.bind(v6only, { family: AF_INET6, address: "::ffff:192.0.2.1", port: 0 }),
    "EINVAL",
  );
  for (const fd of [ls, l4, got.fd]) p.b.sockets.close(fd);
  for (const fd of [c4, again, v6only]) p.a.sockets.close(fd);
  await p.close();
});

test("bind conflicts across families: a dual :: and 0.0.0.0 on one port are EADDRINUSE even with SO_REUSEADDR; specific v4 vs v6 addresses do not collide", () => {
  const p = pair6({ dad: false });
  const s = p.b.sockets;
  const dual = tcp6(p.b);
  s.setsockopt(dual, SOL_SOCKET, SO_REUSEADDR, 1);
  s.bind(dual, { family: AF_INET6, address: "::", port: 9000 });
  s.listen(dual, 4);
  const v4 = s.socket(AF_INET, SOCK_STREAM, 0);
  s.setsockopt(v4, SOL_SOCKET, SO_REUSEADDR, 1);
  throws(() => s.bind(v4, { address: "0.0.0.0", port: 9000 }), "EADDRINUSE");
  const v4b = s.socket(AF_INET, SOCK_STREAM, 0);
  throws(() => s.bind(v4b, { address: "192.0.2.2", port: 9000 }), "EADDRINUSE");
  // A specific IPv6 address and a specific IPv4 one share a port freely.
  const a = tcp6(p.b, { address: B6, port: 9100 });
  const b = s.socket(AF_INET, SOCK_STREAM, 0);
  s.bind(b, { address: "192.0.2.2", port: 9100 });
  // Two sockets on the same IPv6 address and port collide.
  const c = tcp6(p.b);
  throws(() => s.bind(c, { family: AF_INET6, address: B6, port: 9100 }), "EADDRINUSE");
  // A v4-mapped bind is an IPv4 bind.
  const d = tcp6(p.b);
  throws(
    () => s.bind(d, { family: AF_INET6, address: "::ffff:192.0.2.2", port: 9100 }),
    "EADDRINUSE",
  );
  const e = tcp6(p.b, { address: "::ffff:192.0.2.2", port: 9200 });
  assert.is(s.getsockname(e).address, "::ffff:192.0.2.2");
  assert.is(s.getsockname(e).port, 9200);
  for (const fd of [dual, v4, v4b, a, b, c, d, e]) s.close(fd);
  return p.close();
});

test("AF_INET6 stream: connect to ::ffff:192.0.2.2 goes over IPv4; addresses come back v4-mapped", async () => {
  const p = pair6();
  const l = p.b.listen({ port: 7070 });
  const accepted = l.accept();
  const c = tcp6(p.a);
  await settle(
    p.clock,
    p.a.sockets.connect(c, { family: AF_INET6, address: "::ffff:192.0.2.2", port: 7070 }),
  );
  assert.is(p.a.sockets.getpeername(c).address, "::ffff:192.0.2.2");
  assert.is(p.a.sockets.getsockname(c).address, "::ffff:192.0.2.1");
  const conn = await settle(p.clock, accepted);
  assert.is(conn.remoteAddr.hostname, "192.0.2.1");
  conn.close();
  l.close();
  p.a.sockets.close(c);
  await p.close();
});

test("link-local: bind needs a zone (EINVAL), an unknown zone is ENODEV; connect to fe80::%iface works and reports the scope", async () => {
  const p = pair6();
  const llB = formatIpv6(p.llB);
  const llA = formatIpv6(p.llA);
  const bad = tcp6(p.b);
  throws(() => p.b.sockets.bind(bad, { family: AF_INET6, address: llB, port: 80 }), "EINVAL");
  throws(
    () => p.b.sockets.bind(bad, { family: AF_INET6, address: `${llB}%nosuch`, port: 80 }),
    "ENODEV",
  );
  const ls = tcp6(p.b, { address: llB, port: 80, scopeId: p.ifB.index });
  p.b.sockets.listen(ls, 4);
  const c = tcp6(p.a);
  await settle(
    p.clock,
    p.a.sockets.connect(c, { family: AF_INET6, address: `${llB}%${p.ifA.name}`, port: 80 }),
  );
  const peer = p.a.sockets.getpeername(c) as SockAddrIn6;
  assert.is(peer.address, llB);
  assert.is(peer.scopeId, p.ifA.index);
  const got = await settle(p.clock, p.b.sockets.accept(ls));
  assert.is(got.peer.address, llA);
  assert.is((got.peer as SockAddrIn6).scopeId, p.ifB.index);
  for (const fd of [ls, got.fd, bad]) p.b.sockets.close(fd);
  p.a.sockets.close(c);
  await p.close();
});

test("IPV6_UNICAST_HOPS and IPV6_TCLASS set the hop limit and traffic class of a connection's segments", async () => {
  const p = pair6();
  const ls = tcp6(p.b, { address: "::", port: 80 });
  p.b.sockets.listen(ls, 4);
  const c = tcp6(p.a);
  p.a.sockets.setsockopt(c, SOL_IPV6, IPV6_UNICAST_HOPS, 7);
  p.a.sockets.setsockopt(c, SOL_IPV6, IPV6_TCLASS, 0x20);
  assert.is(p.a.sockets.getsockopt(c, SOL_IPV6, IPV6_UNICAST_HOPS), 7);
  assert.is(p.a.sockets.getsockopt(c, SOL_IPV6, IPV6_TCLASS), 0x20);
  const cap = capture6(p.devA);
  await settle(p.clock, p.a.sockets.connect(c, { family: AF_INET6, address: B6, port: 80 }));
  const syn = cap.frames.find((f) => f.upper === 6);
  assert.ok(syn !== undefined, "the SYN went out over IPv6");
  assert.is(syn!.ip.hopLimit, 7);
  assert.is(syn!.ip.trafficClass, 0x20);
  cap.stop();
  const got = await settle(p.clock, p.b.sockets.accept(ls));
  for (const fd of [ls, got.fd]) p.b.sockets.close(fd);
  p.a.sockets.close(c);
  await p.close();
});

test("AF_INET6 stream: unbound getsockname is [::]:0; listen without bind takes :: and an ephemeral port", () => {
  const p = pair6({ dad: false });
  const fd = tcp6(p.b);
  const n = p.b.sockets.getsockname(fd);
  assert.is(n.address, "::");
  assert.is(n.port, 0);
  p.b.sockets.listen(fd, 4);
  const l = p.b.sockets.getsockname(fd);
  assert.is(l.address, "::");
  assert.ok(l.port >= 32768, `ephemeral ${l.port}`);
  p.b.sockets.close(fd);
  return p.close();
});
