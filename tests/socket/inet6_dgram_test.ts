/**
 * AF_INET6 datagram sockets over UDP/IPv6 (RFC 3493, RFC 4038 §4.2, RFC 8200
 * §8.1): bind and connect rules, dual stack with v4-mapped addresses,
 * IPV6_V6ONLY, bind conflicts across families, link-local zones, ICMPv6
 * errors to sockets, and the mandatory checksum.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { settle } from "../_util/sim.ts";
import { pattern } from "../_util/frames.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IPV6_DONTFRAG,
  IPV6_RECVERR,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  MSG_ERRQUEUE,
  SO_REUSEADDR,
  SOCK_DGRAM,
  SOL_IPV6,
  SOL_SOCKET,
} from "../../src/socket/constants.ts";
import { formatIpv6 } from "../../src/wire/addr6.ts";
import type { Stack } from "../../src/api/stack.ts";
import type { SockAddrIn6 } from "../../src/socket/address.ts";
import { A6, B6, capture6, inject6, ip6Frame, pair6 } from "../ipv6/_helpers.ts";
import { bytes, rejects, text, throws } from "./_util.ts";

function udp6(
  stack: Stack,
  bind?: { address?: string; port?: number; scopeId?: number | string },
): number {
  const fd = stack.sockets.socket(AF_INET6, SOCK_DGRAM, 0);
  if (bind !== undefined) stack.sockets.bind(fd, { family: AF_INET6, ...bind });
  return fd;
}

test("AF_INET6 UDP: round trip 2001:db8::1 ↔ ::2; recvfrom and getsockname/getpeername report IPv6 addresses", async () => {
  const p = pair6({ dad: false });
  const s = p.b.sockets;
  const server = udp6(p.b, { address: "::", port: 7 });
  const client = udp6(p.a, { address: A6, port: 0 });
  assert.equal(p.a.sockets.getsockname(client).address, A6);
  assert.is(p.a.sockets.getsockname(client).family, AF_INET6);
  await p.a.sockets.sendto(client, bytes("hello6"), 0, { family: AF_INET6, address: B6, port: 7 });
  const buf = new Uint8Array(64);
  const r = await settle(p.clock, s.recvfrom(server, buf));
  assert.is(text(buf.subarray(0, r.bytes)), "hello6");
  assert.is(r.from?.address, A6);
  assert.is(r.to?.address, B6, "U5: the datagram's destination");
  s.connect(server, { family: AF_INET6, address: A6, port: r.from!.port });
  assert.equal(s.getpeername(server).address, A6);
  await s.send(server, bytes("back"));
  const r2 = await settle(p.clock, p.a.sockets.recvfrom(client, buf));
  assert.is(text(buf.subarray(0, r2.bytes)), "back");
  assert.is(r2.from?.port, 7);
  assert.ok(p.b.stats.udp.inDatagrams >= 1);
  await p.close();
});

test("RFC 4038 §4.2: a socket on :: takes IPv4 datagrams too, reporting ::ffff:a.b.c.d; IPV6_V6ONLY turns that off", async () => {
  const p = pair6({ dad: false });
  const dual = udp6(p.b, { port: 5000 });
  const v6only = p.b.sockets.socket(AF_INET6, SOCK_DGRAM, 0);
  p.b.sockets.setsockopt(v6only, SOL_IPV6, IPV6_V6ONLY, 1);
  p.b.sockets.bind(v6only, { family: AF_INET6, port: 5001 });
  const c4 = p.a.sockets.socket(AF_INET, SOCK_DGRAM, 0);
  await p.a.sockets.sendto(c4, bytes("via v4"), 0, { address: "192.0.2.2", port: 5000 });
  const buf = new Uint8Array(64);
  const r = await settle(p.clock, p.b.sockets.recvfrom(dual, buf));
  assert.is(text(buf.subarray(0, r.bytes)), "via v4");
  assert.is(r.from?.address, "::ffff:192.0.2.1");
  assert.is(r.to?.address, "::ffff:192.0.2.2");
  // The answer goes back through IPv4.
  await p.b.sockets.sendto(dual, bytes("reply"), 0, {
    family: AF_INET6,
    address: "::ffff:192.0.2.1",
    port: r.from!.port,
  });
  const r4 = await settle(p.clock, p.a.sockets.recvfrom(c4, buf));
  assert.is(text(buf.subarray(0, r4.bytes)), "reply");
  assert.is(r4.from?.address, "192.0.2.2");
  // The v6-only socket: IPv4 to its port finds no socket (ICMP port unreachable).
  const unreach = p.b.stats.udp.noPorts;
  await p.a.sockets.sendto(c4, bytes("x"), 0, { address: "192.0.2.2", port: 5001 });
  p.clock.advance(10);
  assert.is(p.b.stats.udp.noPorts, unreach + 1);
  assert.is(p.b.sockets.getsockopt(v6only, SOL_IPV6, IPV6_V6ONLY), 1);
  throws(() => p.b.sockets.setsockopt(v6only, SOL_IPV6, IPV6_V6ONLY, 0), "EINVAL"); // bound already
  await rejects(
    p.b.sockets.sendto(v6only, bytes("x"), 0, {
      family: AF_INET6,
      address: "::ffff:192.0.2.1",
      port: 9,
    }),
    "ENETUNREACH",
  );
  const only2 = p.b.sockets.socket(AF_INET6, SOCK_DGRAM, 0);
  p.b.sockets.setsockopt(only2, SOL_IPV6, IPV6_V6ONLY, 1);
  throws(
    () => p.b.sockets.bind(only2, { family: AF_INET6, address: "::ffff:192.0.2.2", port: 0 }),
    "EINVAL",
  );
  await p.close();
});

test("bind conflicts across families: :: (dual) vs 0.0.0.0 clash; :: with IPV6_V6ONLY and 0.0.0.0 coexist; SO_REUSEADDR shares", async () => {
  const p = pair6({ dad: false });
  const s = p.b.sockets;
  const v4 = s.socket(AF_INET, SOCK_DGRAM, 0);
  s.bind(v4, { address: "0.0.0.0", port: 6000 });
  throws(() => s.bind(udp6(p.b), { family: AF_INET6, address: "::", port: 6000 }), "EADDRINUSE");
  const only = s.socket(AF_INET6, SOCK_DGRAM, 0);
  s.setsockopt(only, SOL_IPV6, IPV6_V6ONLY, 1);
  s.bind(only, { family: AF_INET6, address: "::", port: 6000 });
  // Specific addresses of different families never clash.
  s.bind(udp6(p.b), { family: AF_INET6, address: B6, port: 6001 });
  const v4b = s.socket(AF_INET, SOCK_DGRAM, 0);
  s.bind(v4b, { address: "192.0.2.2", port: 6001 });
  // The same IPv6 address twice clashes unless both reuse.
  throws(() => s.bind(udp6(p.b), { family: AF_INET6, address: B6, port: 6001 }), "EADDRINUSE");
  const r1 = s.socket(AF_INET6, SOCK_DGRAM, 0), r2 = s.socket(AF_INET6, SOCK_DGRAM, 0);
  s.setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, 1);
  s.setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, 1);
  s.bind(r1, { family: AF_INET6, port: 6002 });
  s.bind(r2, { family: AF_INET6, port: 6002 });
  // A mapped bind claims that IPv4 address.
  throws(
    () => s.bind(udp6(p.b), { family: AF_INET6, address: "::ffff:192.0.2.2", port: 6001 }),
    "EADDRINUSE",
  );
  await p.close();
});

test("inet6_bind: not our address EADDRNOTAVAIL, link-local without a zone EINVAL, unknown zone ENODEV, a tentative address EADDRNOTAVAIL", async () => {
  const p = pair6();
  const s = p.a.sockets;
  throws(
    () => s.bind(udp6(p.a), { family: AF_INET6, address: "2001:db8::99", port: 0 }),
    "EADDRNOTAVAIL",
  );
  throws(
    () => s.bind(udp6(p.a), { family: AF_INET6, address: formatIpv6(p.llA), port: 0 }),
    "EINVAL",
  );
  throws(
    () => s.bind(udp6(p.a), { family: AF_INET6, address: `${formatIpv6(p.llA)}%nope`, port: 0 }),
    "ENODEV",
  );
  const ok = udp6(p.a);
  s.bind(ok, { family: AF_INET6, address: `${formatIpv6(p.llA)}%${p.ifA.name}`, port: 0 });
  assert.is(s.getsockname(ok).address, formatIpv6(p.llA));
  assert.is((s.getsockname(ok) as SockAddrIn6).scopeId, p.ifA.index);
  p.a.ipv6.addrconf.addStatic(
    p.ifA,
    new Uint8Array([0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 0x42]),
    64,
  );
  const e = throws(
    () => s.bind(udp6(p.a), { family: AF_INET6, address: "2001:db8::42", port: 0 }),
    "EADDRNOTAVAIL",
  );
  assert.match(e.message, /tentative/);
  p.clock.advance(3000);
  s.bind(udp6(p.a), { family: AF_INET6, address: "2001:db8::42", port: 0 });
  throws(() => s.bind(udp6(p.a), { family: AF_INET, address: "::1", port: 0 }), "EAFNOSUPPORT");
  await p.close();
});

test("link-local peers: a connected socket with a scope id talks over that interface; replies carry the scope", async () => {
  const p = pair6({ dad: false });
  const server = udp6(p.b, { port: 53 });
  const client = udp6(p.a);
  p.a.sockets.connect(client, {
    family: AF_INET6,
    address: formatIpv6(p.llB),
    port: 53,
    scopeId: p.ifA.index,
  });
  await p.a.sockets.send(client, bytes("ll"));
  const buf = new Uint8Array(16);
  const r = await settle(p.clock, p.b.sockets.recvfrom(server, buf));
  assert.is(r.from?.address, formatIpv6(p.llA));
  assert.is((r.from as SockAddrIn6).scopeId, p.ifB.index);
  await p.b.sockets.sendto(server, bytes("ok"), 0, r.from!);
  const r2 = await settle(p.clock, p.a.sockets.recvfrom(client, buf));
  assert.is(text(buf.subarray(0, r2.bytes)), "ok");
  await p.close();
});

test("ICMPv6 port unreachable: ECONNREFUSED on a connected socket (U3); the error queue with IPV6_RECVERR", async () => {
  const p = pair6({ dad: false });
  const s = p.a.sockets;
  const c = udp6(p.a);
  s.connect(c, { family: AF_INET6, address: B6, port: 9 });
  await s.send(c, bytes("anyone?"));
  p.clock.advance(10);
  await rejects(s.send(c, bytes("again")), "ECONNREFUSED");
  const u = udp6(p.a);
  s.setsockopt(u, SOL_IPV6, IPV6_RECVERR, 1);
  await s.sendto(u, bytes("q"), 0, { family: AF_INET6, address: B6, port: 10 });
  p.clock.advance(10);
  const r = s.recvfromNow(u, new Uint8Array(16), MSG_ERRQUEUE);
  assert.is(r.error?.type, 1);
  assert.is(r.error?.code, 4);
  assert.is(r.error?.offender, B6);
  assert.is(r.from?.port, 10);
  s.connect(c, { family: AF_UNSPEC });
  await p.close();
});

test("RFC 8200 §8.1: a zero UDP checksum over IPv6 is dropped; hop limit, traffic class and DONTFRAG options apply", async () => {
  const p = pair6({ dad: false });
  const server = udp6(p.a, { port: 4000 });
  const dgram = new Uint8Array(12);
  dgram.set([0x30, 0x39, 0x0f, 0xa0, 0, 12, 0, 0], 0);
  inject6(p, ip6Frame({ src: B6, dst: A6, nextHeader: 17, payload: dgram, checksumAt: null }));
  assert.is(p.a.stats.drops.get("udp.zero_checksum"), 1);
  assert.is(p.a.stats.udp.inCsumErrors, 1);
  const c = udp6(p.b);
  p.b.sockets.setsockopt(c, SOL_IPV6, IPV6_UNICAST_HOPS, 9);
  p.b.sockets.setsockopt(c, SOL_IPV6, IPV6_TCLASS, 0xb8);
  const tx = capture6(p.devB);
  await p.b.sockets.sendto(c, bytes("x"), 0, { family: AF_INET6, address: A6, port: 4000 });
  p.clock.advance(10);
  const f = tx.frames.find((x) => x.upper === 17)!;
  assert.is(f.ip.hopLimit, 9);
  assert.is(f.ip.trafficClass, 0xb8);
  assert.ok(f.ip.flowLabel !== 0, "RFC 6437 flow label");
  p.b.sockets.setsockopt(c, SOL_IPV6, IPV6_DONTFRAG, 1);
  await rejects(
    p.b.sockets.sendto(c, pattern(3000), 0, { family: AF_INET6, address: A6, port: 4000 }),
    "EMSGSIZE",
  );
  p.b.sockets.setsockopt(c, SOL_IPV6, IPV6_DONTFRAG, 0);
  assert.is(
    await p.b.sockets.sendto(c, pattern(3000), 0, { family: AF_INET6, address: A6, port: 4000 }),
    3000,
  );
  const buf = new Uint8Array(4000);
  assert.is((await settle(p.clock, p.a.sockets.recvfrom(server, buf))).bytes, 1, 'the first "x"');
  const r = await settle(p.clock, p.a.sockets.recvfrom(server, buf));
  assert.is(r.bytes, 3000, "fragmented and reassembled");
  assert.equal(buf.subarray(0, 3000), pattern(3000));
  await p.close();
});
