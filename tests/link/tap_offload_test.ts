/**
 * The TAP driver with `IFF_VNET_HDR` offloads against the Linux kernel
 * (issue 10 item 1): negotiation, 64 KiB super-frames crossing intact in
 * both directions through a Stack, and a counted drop for a frame the header
 * does not allow. The pure header logic is tested in `virtio_net_test.ts`.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { requireInterop, withNetns } from "../_util/netns.ts";
import { DeviceFeature } from "../../src/link/device.ts";
import type { TapDevice } from "../../src/link/tap.ts";
import { TunOffload } from "../../src/link/virtio_net.ts";
import { KERNEL_IP, OUR_IP, OUR_MAC, withStack } from "../interop/_stack.ts";
import { randomBytes, sha256 } from "../tcp/_helpers.ts";

function macString(mac: number): string {
  return mac.toString(16).padStart(12, "0").match(/../g)!.join(":");
}

test(
  "TAP offload: IFF_VNET_HDR and TSO/checksum offloads are negotiated; without `offload` the TAP stays plain",
  async () => {
    await withNetns(async (ns) => {
      const tap = ns.tap;
      assert.ok(tap.vnetHdr);
      assert.ok(tap.offloads & TunOffload.CSUM);
      assert.ok(tap.offloads & TunOffload.TSO4);
      assert.ok(tap.features & DeviceFeature.TSO, "TSO advertised to the stack");
      const flags = await ns.exec(["cat", `/sys/class/net/${ns.dev}/tun_flags`]);
      assert.ok(parseInt(flags.stdout, 16) & 0x4000, "IFF_VNET_HDR on the kernel side");
    }, { tap: { offload: true } });
    await withNetns((ns) => {
      const tap: TapDevice = ns.tap;
      assert.not.ok(tap.vnetHdr);
      assert.is(tap.offloads, 0);
      assert.is(tap.features & DeviceFeature.TSO, 0);
      return Promise.resolve();
    });
  },
  requireInterop("TAP offload negotiation"),
);

test(
  "TAP offload: 8 MiB each way through a Stack crosses as 64 KiB super-frames, every byte intact, arena back to zero",
  async () => {
    const data = randomBytes(8 * 1024 * 1024, 42);
    const digest = await sha256(data);
    await withStack(async (ns, stack) => {
      const tap = ns.tap;
      // Kernel → us: nc sends a file; we hash what arrives.
      const file = await Deno.makeTempFile({ prefix: "netwasm-offload-" });
      try {
        await Deno.writeFile(file, data);
        const listener = stack.listen({ port: 5001 });
        const send = ns.exec(["sh", "-c", `nc -N ${OUR_IP} 5001 < ${file}`], { timeout: 30_000 });
        const conn = await listener.accept();
        const got = new Uint8Array(data.length);
        let at = 0;
        for (;;) {
          const n = await conn.read(got.subarray(at));
          if (n === null) break;
          at += n;
          if (at === got.length) {
            const extra = await conn.read(new Uint8Array(1));
            assert.is(extra, null, "more bytes than sent");
            break;
          }
        }
        conn.close();
        listener.close();
        assert.is((await send).code, 0);
        assert.is(at, data.length);
        assert.is(await sha256(got), digest);
        assert.ok(tap.offloadStats.rxSuperFrames > 0, "the kernel sent no super-frame");
        // Us → kernel: nc -l writes a file; the kernel hashes it.
        const out = `${file}.out`;
        const recv = ns.exec(["sh", "-c", `nc -l -p 5002 > ${out}`], { timeout: 30_000 });
        let c = null;
        for (let i = 0; i < 100 && c === null; i++) {
          c = await stack.connect({ hostname: KERNEL_IP, port: 5002 }).catch(() => null);
          if (c === null) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(c !== null, "nc -l never listened");
        for (let i = 0; i < data.length; i += 1 << 20) {
          await c.write(data.subarray(i, i + (1 << 20)));
        }
        await c.closeWrite();
        assert.is((await recv).code, 0);
        c.close();
        const sum = await ns.exec(["sha256sum", out], { check: true });
        assert.is(sum.stdout.split(" ")[0], digest);
        await Deno.remove(out).catch(() => {});
        assert.ok(tap.offloadStats.txSuperFrames > 0, "we sent no super-frame");
        assert.is(tap.offloadStats.txGsoDropped, 0);
        assert.equal(Object.values(tap.offloadStats.rxDrops), [0, 0, 0, 0, 0, 0, 0]);
        console.log(
          `[offload] rx ${tap.offloadStats.rxSuperFrames} super-frames, ` +
            `tx ${tap.offloadStats.txSuperFrames}; ${tap.stats.rxPackets} frames in, ${tap.stats.txPackets} out`,
        );
      } finally {
        await Deno.remove(file).catch(() => {});
      }
    }, { netns: { capture: false, tap: { offload: true } } });
  },
  requireInterop("TAP offload transfer", { tools: ["nc", "sha256sum"] }),
);

test(
  "TAP offload: a plain frame longer than our MTU (kernel MTU 9000) is dropped and counted as vnet_oversized",
  async () => {
    await withNetns(async (ns) => {
      const tap = ns.tap;
      await ns.exec(["ip", "link", "set", ns.dev, "mtu", "9000"], { check: true });
      await ns.exec(
        ["ip", "neigh", "replace", OUR_IP, "lladdr", macString(OUR_MAC), "dev", ns.dev],
        { check: true },
      );
      tap.setRxNotify((dev) => dev.poll(64, (skb) => skb.free()));
      await ns.exec(["ping", "-c", "1", "-W", "1", "-s", "4000", OUR_IP]);
      for (let i = 0; i < 100 && tap.offloadStats.rxDrops.vnet_oversized === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.is(tap.offloadStats.rxDrops.vnet_oversized, 1);
      assert.ok(tap.stats.rxDropped >= 1);
    }, { tap: { offload: true }, mac: OUR_MAC });
  },
  requireInterop("TAP offload oversized", { tools: ["ping"] }),
);
