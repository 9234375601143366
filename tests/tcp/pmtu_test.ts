/**
 * Path MTU discovery end to end (RFC 1191, RFC 4821): DF on the wire and
 * the IP_MTU_DISCOVER / IP_MTU socket options through the BSD layer, and a
 * PMTU black hole — a link that silently drops frames over 1200 bytes and
 * sends no ICMP — crossed by packetization-layer probing.
 */
import * as assert from "uvu/assert";
import { env, test } from "../_util/test.ts";
import { pair } from "../_util/sim.ts";
import { pathMtu } from "../../src/tcp/options.ts";
import { TcpState } from "../../src/tcp/state.ts";
import {
  AF_INET,
  IP_MTU,
  IP_MTU_DISCOVER,
  IPPROTO_TCP,
  SOCK_STREAM,
  SOL_IP,
} from "../../src/socket/constants.ts";
import { connectPair, exchange, randomBytes, sha256 } from "./_helpers.ts";

/** The DF bit of every IPv4/TCP frame A sends with payload. */
function dfBits(p: ReturnType<typeof pair>): boolean[] {
  const seen: boolean[] = [];
  p.devA.addTap((dir, u8, off, len) => {
    if (dir !== "tx" || len < 54 || u8[off + 23] !== 6) return;
    const payload = len - 14 - 20 - ((u8[off + 14 + 20 + 12]! >> 4) * 4);
    if (payload > 0) seen.push((u8[off + 14 + 6]! & 0x40) !== 0);
  });
  return seen;
}

test("RFC 1191: TCP segments carry DF by default (IP_PMTUDISC_WANT); IP_PMTUDISC_DONT turns it off; IP_MTU reports the path MTU of a connected socket", async () => {
  const p = pair({ seed: 1201, impair: { delay: 1 } });
  const df = dfBits(p);
  const { client, server } = connectPair(p);
  client.setOption("TCP_NODELAY", 1);
  client.send(new Uint8Array(100));
  p.clock.runUntilIdle(1000);
  assert.ok(df.length > 0 && df.every((x) => x), "DF set");
  assert.is(client.getOption("IP_MTU_DISCOVER"), 1);
  assert.is(client.getOption("IP_MTU"), 1500);
  assert.is(client.setOption("IP_MTU_DISCOVER", 0), 0);
  df.length = 0;
  client.send(new Uint8Array(100));
  p.clock.runUntilIdle(1000);
  assert.ok(df.length > 0 && df.every((x) => !x), "DF clear with IP_PMTUDISC_DONT");
  assert.is(client.setOption("IP_MTU_DISCOVER", 7), -22, "EINVAL");
  // Through the BSD layer: IP_MTU on an unconnected socket is ENOTCONN.
  const fd = p.a.sockets.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  assert.is(p.a.sockets.getsockopt(fd, SOL_IP, IP_MTU_DISCOVER), 1);
  assert.throws(() => p.a.sockets.getsockopt(fd, SOL_IP, IP_MTU), /ENOTCONN|not connected/i);
  p.a.sockets.close(fd);
  client.abort();
  server.abort();
  await p.close();
});

test("RFC 4821 / Linux tcp_mtu_probing: a PMTU black hole (frames over 1200 bytes silently dropped, no ICMP) is detected by repeated timeouts and crossed; probes then find an MTU close to 1200", async () => {
  for (const seed of [1]) {
    const p = pair({ seed: 1210 + seed, aToB: { delay: 5, mtu: 1200 }, bToA: { delay: 5 } });
    const { client, server, listener } = connectPair(p);
    const data = randomBytes(1 << 20, seed);
    const t0 = p.clock.now();
    const r = exchange(p, client, server, data, new Uint8Array(0), 120_000);
    const took = p.clock.now() - t0;
    assert.is(r.xError, 0);
    assert.is(await sha256(r.atY), await sha256(data), `seed ${seed}: data intact`);
    const st = p.a.stats.tcp;
    assert.ok(st.mtuBlackHoles >= 1, "black hole detected");
    assert.ok(st.mtuProbesAcked >= 1, "a probe above the base MSS succeeded");
    const mtu = pathMtu(client.tcb); // the connection is closing: IP_MTU would say ENOTCONN
    assert.ok(mtu <= 1200 && mtu >= 1150, `seed ${seed}: path MTU found ${mtu}`);
    if (env("NETWASM_TCP_VERBOSE")) {
      console.log(
        `black hole seed ${seed}: 1 MiB in ${took} ms; MTU ${mtu}; probes ${st.mtuProbes}/${st.mtuProbesAcked} acked; RTOs ${st.timeouts}`,
      );
    }
    client.close();
    server.close();
    listener.close();
    p.clock.runUntil(
      () => client.state === TcpState.CLOSED || client.state === TcpState.TIME_WAIT,
      200_000,
    );
    p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 300_000);
    await p.close();
  }
});
