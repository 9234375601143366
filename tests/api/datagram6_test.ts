/**
 * `DatagramConn` over IPv6: `"::1"`, `"2001:db8::2"`, `"[addr]"` hostnames,
 * `"[addr]:port"` strings, dual-stack listeners and the family mismatch error.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { settle } from "../_util/sim.ts";
import { parseHostPort } from "../../src/api/datagram.ts";
import { pair6 } from "../ipv6/_helpers.ts";
import { bytes, text } from "../socket/_util.ts";

test('DatagramConn over IPv6: a "::" listener echoes to "2001:db8::1" and, dual stack, to an IPv4 client', async () => {
  const p = pair6({ dad: false });
  const server = p.b.listenDatagram({ hostname: "::", port: 7 });
  assert.equal(server.addr, { transport: "udp", hostname: "::", port: 7 });
  const echo = (async () => {
    for (let i = 0; i < 2; i++) {
      const [data, from] = await server.receive();
      await server.send(data, from);
    }
  })();
  const c6 = p.a.listenDatagram({ hostname: "2001:db8::1", port: 0 });
  await c6.send(bytes("six"), "[2001:db8::2]:7");
  const [r6, from6] = await settle(p.clock, c6.receive());
  assert.is(text(r6), "six");
  assert.equal(from6, { transport: "udp", hostname: "2001:db8::2", port: 7 });
  const c4 = p.a.listenDatagram({ hostname: "0.0.0.0", port: 0 });
  await c4.send(bytes("four"), { hostname: "192.0.2.2", port: 7 });
  const [r4, from4] = await settle(p.clock, c4.receive());
  assert.is(text(r4), "four");
  assert.is(from4.hostname, "192.0.2.2");
  await settle(p.clock, echo);
  c6.close();
  c4.close();
  server.close();
  await p.close();
});

test('DatagramConn: "::1" and "[::1]" on loopback; an IPv4 socket refuses an IPv6 destination with a clear TypeError', async () => {
  const p = pair6({ dad: false });
  const conn = p.a.listenDatagram({ hostname: "[::1]", port: 9999 });
  assert.is(conn.addr.hostname, "::1");
  await conn.send(bytes("loop"), { hostname: "::1", port: 9999 });
  const [d, from] = await settle(p.clock, conn.receive());
  assert.is(text(d), "loop");
  assert.is(from.hostname, "::1");
  const v4 = p.a.listenDatagram({ port: 0 });
  let err: unknown;
  try {
    await v4.send(bytes("x"), "[2001:db8::2]:7");
  } catch (e) {
    err = e;
  }
  assert.instance(err, TypeError);
  assert.match(String(err), /listen on "::"/);
  assert.throws(
    () => p.a.listenDatagram({ hostname: "2001:db8::zz", port: 0 }),
    /not an IPv4 or IPv6 address/,
  );
  conn.close();
  v4.close();
  await p.close();
});

test("parseHostPort: host:port and [ipv6]:port; malformed forms are a TypeError", () => {
  assert.equal(parseHostPort("[2001:db8::2]:53"), {
    transport: "udp",
    hostname: "2001:db8::2",
    port: 53,
  });
  assert.equal(parseHostPort("192.0.2.2:7"), { transport: "udp", hostname: "192.0.2.2", port: 7 });
  for (const bad of ["2001:db8::2:53", "[::1]", "[::1]:99999", "host", ":7"]) {
    assert.throws(() => parseHostPort(bad), TypeError, bad);
  }
});
