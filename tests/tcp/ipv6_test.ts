/**
 * TCP over IPv6 (RFC 9293 over RFC 8200; issue 12 item 5): handshakes,
 * transfers with and without TSO, MSS from the IPv6 MTU, RSTs, SYN cookies,
 * TIME-WAIT, ICMPv6 errors (Packet Too Big lowers the MSS; unreachable
 * aborts a connection attempt), neighbour confirmation by forward progress,
 * and the checksum over the IPv6 pseudo-header.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { A6, B6, pair6 } from "../ipv6/_helpers.ts";
import { Errno } from "../../src/core/errno.ts";
import { DeviceFeature } from "../../src/link/device.ts";
import { parseIpv6Address } from "../../src/wire/addr6.ts";
import { TcpState } from "../../src/tcp/state.ts";
import type { TcpSock } from "../../src/tcp/sock.ts";
import type { Pair } from "../_util/sim.ts";
import { exchange, randomBytes, sha256 } from "./_helpers.ts";

const ADDR_A = parseIpv6Address(A6);
const ADDR_B = parseIpv6Address(B6);
const ANY = new Uint8Array(16);

/** Listen on B [::]:port, connect from A to B over IPv6, run until accepted. */
function connect6(p: Pair, port = 8080, o: { v6only?: boolean } = {}) {
  const listener = p.b.tcp.socket();
  listener.v6only = o.v6only ?? false;
  assert.is(listener.bind6(ANY, port), 0);
  assert.is(listener.listen(16), 0);
  const client = p.a.tcp.socket();
  assert.is(client.connect6(ADDR_B, port), -Errno.EINPROGRESS);
  const got: { server: TcpSock | null } = { server: null };
  p.clock.runUntil(() => {
    got.server ??= listener.accept();
    return got.server !== null && client.state === TcpState.ESTABLISHED;
  }, 60_000);
  if (got.server === null) throw new Error("no connection accepted");
  return { listener, client, server: got.server };
}

test("IPv6: handshake, 4-tuple, MSS = MTU − 60, bytes both ways exactly once", async () => {
  const p = pair6();
  const { listener, client, server } = connect6(p);
  assert.equal(client.addr6!.subarray(0, 16), ADDR_A);
  assert.equal(client.addr6!.subarray(16), ADDR_B);
  assert.equal(server.addr6!.subarray(0, 16), ADDR_B);
  assert.equal(server.addr6!.subarray(16), ADDR_A);
  assert.is(server.rport, client.lport);
  assert.is(client.laddr, 0);
  // 1500 − 40 − 20, minus 12 bytes of timestamps.
  assert.is(client.tcb.snd.mss, 1500 - 60 - 12);
  assert.is(client.tcb.rcv.advmss, 1500 - 60 - 12);
  const x = randomBytes(300_000, 1), y = randomBytes(200_000, 2);
  const r = exchange(p, client, server, x, y);
  assert.is(r.xError, 0);
  assert.is(r.yError, 0);
  assert.is(await sha256(r.atY), await sha256(x));
  assert.is(await sha256(r.atX), await sha256(y));
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});

test("IPv6: TSO super-segments cross a TSO pipe and are cut by software GSO on a plain one", async () => {
  for (const features of [DeviceFeature.TSO, 0]) {
    const p = pair6({ features });
    const { listener, client, server } = connect6(p);
    const x = randomBytes(2_000_000, 3);
    const sent0 = p.devA.stats.txPackets;
    const r = exchange(p, client, server, x, new Uint8Array(0));
    assert.is(r.xError, 0);
    assert.is(await sha256(r.atY), await sha256(x));
    const frames = p.devA.stats.txPackets - sent0;
    if (features === DeviceFeature.TSO) {
      assert.ok(client.tcb.snd.sizeGoal > client.tcb.snd.mss, "TSO size goal");
      assert.ok(frames < x.length / client.tcb.snd.mss / 4, `super-segments: ${frames} frames`);
    } else {
      assert.is(client.tcb.snd.sizeGoal, client.tcb.snd.mss);
      assert.ok(frames >= x.length / client.tcb.snd.mss, `wire-sized frames: ${frames}`);
    }
    client.close();
    server.close();
    listener.close();
    p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
    await p.close();
  }
});
