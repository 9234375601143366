/// <reference lib="deno.unstable" />
/**
 * netwasm's Deno-shaped objects plug into code written for Deno: `Conn`,
 * `Listener` and `DatagramConn` are assignable to `Deno.TcpConn`,
 * `Deno.TcpListener` and `Deno.DatagramConn` (this file only type-checks if
 * they are: `deno check`, part of `deno task check`), errors are instances
 * of the matching `Deno.errors` classes, and options and argument checks use
 * Deno's names and error classes.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import {
  AddrInUse,
  BadResource,
  type Conn,
  ConnectionRefused,
  type DatagramConn,
  errnoError,
  HostUnreachable,
  type Listener,
  NetError,
  NotSupported,
  TimedOut,
} from "../../mod.ts";

/** `f()` must reject with an instance of `cls`. */
async function rejects(f: () => Promise<unknown>, cls: abstract new (...a: never[]) => unknown) {
  try {
    await f();
  } catch (e) {
    assert.instance(e, cls, `got ${e}`);
    return;
  }
  assert.unreachable(`expected ${cls.name}, the promise resolved`);
}

// ---- compile-time: assignability (a type error here fails `deno check`) ----
const asTcpConn = (c: Conn): Deno.TcpConn => c;
const asTcpListener = (l: Listener): Deno.TcpListener => l;
const asDatagramConn = (d: DatagramConn): Deno.DatagramConn => d;
const asConn = (c: Conn): Deno.Conn => c;
const asListener = (l: Listener): Deno.Listener => l;
/** Code written against Deno's interfaces, given netwasm objects. */
async function denoEcho(listener: Deno.TcpListener): Promise<void> {
  for await (const conn of listener) await conn.readable.pipeTo(conn.writable);
}

test("Conn, Listener, DatagramConn work where Deno.TcpConn, Deno.TcpListener, Deno.DatagramConn are expected", async () => {
  const p = pair({ seed: 1401 });
  const listener: Deno.TcpListener = asTcpListener(p.b.listen({ port: 7 }));
  asListener(p.b.listen());
  const serving = denoEcho(listener);
  const conn: Deno.TcpConn = asTcpConn(
    await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 7 })),
  );
  asConn(conn as Conn);
  conn.setNoDelay(true);
  await settle(p.clock, conn.write(new TextEncoder().encode("deno-shaped")));
  await conn.closeWrite();
  const got = await settle(p.clock, new Response(conn.readable).text());
  assert.is(got, "deno-shaped");
  conn.close();
  const udp: Deno.DatagramConn = asDatagramConn(p.a.listenDatagram({ transport: "udp" }));
  assert.is((udp.addr as Deno.NetAddr).transport, "udp");
  assert.ok((udp.addr as Deno.NetAddr).port >= 32768, "port defaults to 0: an ephemeral one");
  await rejects(() => udp.joinMulticastV4("224.0.0.251", "0.0.0.0"), NotSupported);
  await rejects(() => udp.joinMulticastV6("ff02::fb", 0), NotSupported);
  await rejects(
    () => udp.send(new Uint8Array(1), { transport: "unix", path: "/tmp/x" }),
    TypeError,
  );
  await rejects(
    () => udp.send(new Uint8Array(1), { transport: "udp", hostname: "192.0.2.2", port: 70000 }),
    RangeError,
  );
  udp.close();
  listener.close();
  await settle(p.clock, serving);
  await p.close();
});

test("errors are instances of Deno.errors.* (and NetError) and keep code/errno", async () => {
  const p = pair({ seed: 1402 });
  let refused: unknown;
  try {
    await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 80 }));
  } catch (e) {
    refused = e;
  }
  assert.ok(refused instanceof Deno.errors.ConnectionRefused, `got ${refused}`);
  assert.ok(refused instanceof ConnectionRefused);
  assert.ok(refused instanceof NetError);
  assert.is((refused as NetError).code, "ECONNREFUSED");
  assert.is((refused as NetError).errno, 111);
  assert.is((refused as Error).name, "ConnectionRefused");
  const first = p.a.listen({ port: 9 });
  const inUse = (() => {
    try {
      p.a.listen({ port: 9, reuseAddress: false });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(inUse instanceof Deno.errors.AddrInUse && inUse instanceof AddrInUse);
  first.close();
  try {
    first.close();
  } catch (e) {
    assert.ok(e instanceof Deno.errors.BadResource && e instanceof BadResource, `got ${e}`);
  }
  assert.ok(errnoError(-110, "x") instanceof Deno.errors.TimedOut);
  assert.ok(errnoError(-110, "x") instanceof TimedOut);
  assert.ok(errnoError(-4, "x") instanceof Deno.errors.Interrupted);
  assert.ok(errnoError(-95, "x") instanceof Deno.errors.NotSupported);
  // No Deno class: a NetError that is no Deno error.
  const h = errnoError(-113, "x");
  assert.ok(h instanceof HostUnreachable && h instanceof NetError && !(h instanceof TimedOut));
  assert.not.ok(new Deno.errors.ConnectionRefused("x") instanceof NetError);
  await p.close();
});

test("listen: Deno's option names — port defaults to 0, tcpBacklog; reusePort is NotSupported", async () => {
  const p = pair({ seed: 1403 });
  const l = p.a.listen({ tcpBacklog: 2 });
  assert.ok(l.addr.port >= 32768, `ephemeral port ${l.addr.port}`);
  assert.is(l.addr.hostname, "0.0.0.0");
  assert.throws(() => p.a.listen({ port: 81, reusePort: true }), (e: unknown) => {
    return e instanceof Deno.errors.NotSupported && /reusePort/.test(String(e));
  });
  assert.throws(() => p.a.listen({ port: 70000 }), RangeError);
  assert.throws(() => p.a.listenDatagram({ port: 70000 }), RangeError);
  assert.is(p.a.sockets.openSockets, 1, "the failed listens left no socket");
  l.close();
  await p.close();
});
