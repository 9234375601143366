/**
 * Interop: two relays joined by VXLAN, the deployment the README describes
 * for outgrowing one machine. Each relay runs with a TAP uplink in its own
 * network namespace; in each namespace a Linux bridge joins that TAP to a
 * VXLAN device (VNI 42), and the two VXLAN endpoints talk over a veth pair
 * between the namespaces (the "underlay", 198.51.100.0/24). A WebSocket
 * client on each relay is then on one Ethernet segment with the other:
 * they ping each other and move 4 MiB over TCP both ways, sha256 equal.
 * Nothing but Linux's own bridge and VXLAN joins the relays.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Netns, requireInterop, run, withNetns } from "../_util/netns.ts";
import { startRelay } from "../../src/relay/server.ts";
import { patternBytes, readAll, sha256Hex, within, wsHost } from "./_helpers.ts";

const SIZE = 4 << 20;

/** Bridge `ns.dev` (the relay's uplink TAP) with a VXLAN device whose peer is `remote`. */
async function joinByVxlan(ns: Netns, underlay: string, local: string, remote: string) {
  const x = (cmd: string) => ns.exec(cmd.split(" "), { check: true });
  await x(`ip addr add ${local}/24 dev ${underlay}`);
  // VXLAN adds 50 bytes: an underlay MTU of 1600 carries 1500-byte frames whole.
  await x(`ip link set ${underlay} mtu 1600 up`);
  await x(
    `ip link add vx42 type vxlan id 42 local ${local} remote ${remote} dstport 4789 dev ${underlay}`,
  );
  await x(`ip link set vx42 mtu 1500`);
  await x(`ip link add br42 type bridge`);
  // The uplink is a bridge port: no address of its own.
  await x(`ip addr flush dev ${ns.dev}`);
  await x(`ip link set ${ns.dev} master br42`);
  await x(`ip link set vx42 master br42`);
  await x(`ip link set vx42 up`);
  await x(`ip link set br42 up`);
}

test(
  "interop: two relays in two namespaces joined by Linux VXLAN through their TAP uplinks; a client on each pings the other and moves 4 MiB over TCP both ways (sha256 equal)",
  async () => {
    await withNetns(async (nsA) => {
      await withNetns(async (nsB) => {
        const tag = `${Deno.pid % 10000}${Math.floor(Math.random() * 100)}`;
        const [ua, ub] = [`vxa${tag}`, `vxb${tag}`];
        await run([
          "ip",
          "link",
          "add",
          ua,
          "netns",
          nsA.name,
          "type",
          "veth",
          "peer",
          "name",
          ub,
          "netns",
          nsB.name,
        ], {
          check: true,
        });
        await joinByVxlan(nsA, ua, "198.51.100.1", "198.51.100.2");
        await joinByVxlan(nsB, ub, "198.51.100.2", "198.51.100.1");
        const relayA = await startRelay({
          port: 0,
          quiet: true,
          bundleDir: null,
          tap: { name: nsA.dev, netns: nsA.name },
        });
        const relayB = await startRelay({
          port: 0,
          quiet: true,
          bundleDir: null,
          tap: { name: nsB.dev, netns: nsB.name },
        });
        const a = await wsHost(relayA.url, "192.0.2.10");
        const b = await wsHost(relayB.url, "192.0.2.11");
        try {
          // ARP crosses the bridges and the tunnel like any broadcast.
          const reply = await within(a.stack.ping("192.0.2.11", { timeout: 5000 }), 10_000, "ping");
          assert.ok(reply.dataMatches);
          const listener = b.stack.listen({ hostname: "192.0.2.11", port: 7000 });
          const up = patternBytes(SIZE, 21);
          const down = patternBytes(SIZE, 22);
          const served = (async () => {
            const conn = await listener.accept();
            const got = await readAll(conn, SIZE);
            await conn.write(down);
            conn.close();
            return got;
          })();
          const conn = await a.stack.connect({ hostname: "192.0.2.11", port: 7000 });
          await conn.write(up);
          await conn.closeWrite();
          const back = await within(readAll(conn, SIZE + 1), 60_000, "4 MiB back");
          const there = await within(served, 60_000, "4 MiB there");
          conn.close();
          listener.close();
          assert.is(there.length, SIZE);
          assert.is(back.length, SIZE);
          assert.is(await sha256Hex(there), await sha256Hex(up));
          assert.is(await sha256Hex(back), await sha256Hex(down));
          // Both relays switched the traffic to and from their uplinks.
          const [sa, sb] = [relayA.stats(), relayB.stats()];
          const moved = (t: { rxFrames: number; txFrames: number; dropped: number }) =>
            t.rxFrames > 4000 && t.txFrames > 4000;
          assert.ok(moved(sa.totals) && moved(sb.totals), JSON.stringify([sa.totals, sb.totals]));
          assert.is(sa.totals.dropped + sb.totals.dropped, 0, "frames dropped by a relay");
          // The frames went through Linux's VXLAN devices in both namespaces.
          for (const ns of [nsA, nsB]) {
            const r = await ns.exec([
              "cat",
              "/sys/class/net/vx42/statistics/tx_packets",
              "/sys/class/net/vx42/statistics/rx_packets",
            ], { check: true });
            const [tx, rx] = r.stdout.trim().split(/\s+/).map(Number);
            assert.ok(tx! > 1000 && rx! > 1000, `${ns.name} vx42 tx ${tx} rx ${rx}`);
          }
          console.log(
            `vxlan: relay A switched ${sa.totals.rxFrames} frames, relay B ${sb.totals.rxFrames}; 2 × ${SIZE} bytes sha256 equal`,
          );
        } finally {
          await a.close();
          await b.close();
          await relayA.close();
          await relayB.close();
        }
      }, { openTap: false, kernelAddress: "192.0.2.254/24" });
    }, { openTap: false, kernelAddress: "192.0.2.253/24" });
  },
  requireInterop("relay vxlan", { tools: ["ip"] }),
);
