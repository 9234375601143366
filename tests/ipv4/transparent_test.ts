/**
 * The IPv4 layer's AnyIP claim (`setTransparent`) and prerouting hook, the
 * two pieces the NAT relay builds on: a stack that claims an outside
 * address terminates TCP to it with no change to TCP, and a hook can hold a
 * SYN and hand it back later.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import type { SkBuff } from "../../src/skb/skbuff.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import { ip } from "../_util/frames.ts";

const OUTSIDE = "203.0.113.5";

test("AnyIP: a claimed outside address is local to TCP (listen, accept) and routed normally on output", async () => {
  const p = pair({ seed: 91 });
  p.a.routes.add(p.a.interfaces[1]!, 0, 0, { gateway: ip("192.0.2.2") });
  p.b.ipv4.setTransparent((a) => a === ip(OUTSIDE));
  assert.is(p.b.ipv4.addrType(ip(OUTSIDE)), 1, "LOCAL");
  assert.is(p.b.ipv4.addrType(ip("203.0.113.6")), 0, "UNICAST: not claimed");
  assert.is(p.b.ipv4.route(ip(OUTSIDE))?.iface.loopback ?? false, false, "not via loopback");
  const listener = p.b.listen({ hostname: OUTSIDE, port: 80 });
  const accepted = listener.accept();
  const conn = await settle(p.clock, p.a.connect({ hostname: OUTSIDE, port: 80 }));
  const server = await settle(p.clock, accepted);
  assert.is(server.localAddr.hostname, OUTSIDE);
  assert.is(server.remoteAddr.hostname, "192.0.2.1");
  await server.write(new TextEncoder().encode("from 203.0.113.5"));
  const buf = new Uint8Array(64);
  const n = await settle(p.clock, conn.read(buf));
  assert.is(new TextDecoder().decode(buf.subarray(0, n!)), "from 203.0.113.5");
  server.close();
  conn.close();
  listener.close();
  p.b.ipv4.setTransparent(null);
  assert.is(p.b.ipv4.addrType(ip(OUTSIDE)), 0);
  await p.close();
});

test("prerouting hook: sees datagrams before their protocol; a stolen SYN handed back later connects", async () => {
  const p = pair({ seed: 92 });
  const held: { skb: SkBuff; iface: Iface }[] = [];
  let seen = 0;
  p.b.ipv4.setPrerouting((skb, hdr, iface) => {
    seen++;
    if (hdr.protocol === 6 && held.length === 0 && seen < 3) {
      held.push({ skb, iface });
      return "stolen";
    }
    return "continue";
  });
  const listener = p.b.listen({ port: 81 });
  const accepted = listener.accept();
  const connecting = p.a.connect({ hostname: "192.0.2.2", port: 81 });
  // Let the SYN arrive and be held; nothing answers it meanwhile.
  await settle(p.clock, new Promise((r) => p.clock.setTimer(100, () => r(null))));
  assert.is(held.length, 1);
  p.b.ipv4.rcv(held[0]!.skb, held[0]!.iface);
  const conn = await settle(p.clock, connecting);
  (await settle(p.clock, accepted)).close();
  conn.close();
  listener.close();
  p.b.ipv4.setPrerouting(null);
  await p.close();
});
