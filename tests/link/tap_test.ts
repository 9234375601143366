import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import {
  assertInterop,
  countPcapFrames,
  requireInterop,
  tsharkCheck,
  withNetns,
} from "../_util/netns.ts";
import { TapDevice, TapError } from "../../src/link/tap.ts";
import { Xmit } from "../../src/link/device.ts";
import { Arena } from "../../src/skb/arena.ts";
import { SkbAllocator } from "../../src/skb/skbuff.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import { checksum, finishChecksum, ipv4PseudoSum } from "../../src/wasm/checksum.ts";

// Our side of the link: the address the kernel (192.0.2.1) pings and ARPs for.
const OUR_IP = "192.0.2.2";
const OUR_MAC = 0x02_00_5e_10_00_02; // locally administered
const BROADCAST = 0xffff_ffff_ffff;
const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;

function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
}

function macString(mac: number): string {
  return [...macBytes(mac)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

function macBytes(mac: number): Uint8Array {
  const out = new Uint8Array(6);
  for (let i = 5; i >= 0; i--) {
    out[i] = mac % 256;
    mac = Math.floor(mac / 256);
  }
  return out;
}

function readMac(f: Uint8Array, at: number): number {
  let mac = 0;
  for (let i = 0; i < 6; i++) mac = mac * 256 + f[at + i]!;
  return mac;
}

function ethernet(dst: number, src: number, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  new DataView(f.buffer).setUint16(12, type);
  f.set(payload, 14);
  return f;
}

/** An ARP frame parsed by hand (RFC 826, Ethernet/IPv4 only). */
interface Arp {
  op: number;
  senderMac: number;
  senderIp: number;
  targetIp: number;
  dstMac: number;
}

function parseArp(f: Uint8Array): Arp | null {
  if (f.length < 42) return null;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint16(12) !== ETH_P_ARP) return null;
  // htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4
  if (v.getUint16(14) !== 1 || v.getUint16(16) !== ETH_P_IP || f[18] !== 6 || f[19] !== 4) {
    return null;
  }
  return {
    op: v.getUint16(20),
    senderMac: readMac(f, 22),
    senderIp: v.getUint32(28),
    targetIp: v.getUint32(38),
    dstMac: readMac(f, 0),
  };
}

function arpFrame(
  op: number,
  srcMac: number,
  srcIp: number,
  dstMac: number,
  dstIp: number,
): Uint8Array {
  const a = new Uint8Array(28);
  const v = new DataView(a.buffer);
  v.setUint16(0, 1);
  v.setUint16(2, ETH_P_IP);
  a[4] = 6;
  a[5] = 4;
  v.setUint16(6, op);
  a.set(macBytes(srcMac), 8);
  v.setUint32(14, srcIp);
  a.set(macBytes(op === 1 ? 0 : dstMac), 18);
  v.setUint32(24, dstIp);
  return ethernet(op === 1 ? BROADCAST : dstMac, srcMac, ETH_P_ARP, a);
}

/** IPv4 header (20 bytes, DF, TTL 64) in front of `payload`, checksum filled in. */
function ipv4(src: number, dst: number, protocol: number, id: number, payload: Uint8Array) {
  const p = new Uint8Array(20 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  v.setUint16(4, id);
  v.setUint16(6, 0x4000);
  p[8] = 64;
  p[9] = protocol;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint16(10, finishChecksum(checksum(p, 0, 20)));
  p.set(payload, 20);
  return p;
}

function udp(src: number, dst: number, sport: number, dport: number, data: Uint8Array) {
  const u = new Uint8Array(8 + data.length);
  const v = new DataView(u.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint16(4, u.length);
  u.set(data, 8);
  // RFC 768: checksum over pseudo-header + UDP; 0 is sent as 0xffff.
  const c = finishChecksum(checksum(u, 0, u.length, ipv4PseudoSum(src, dst, 17, u.length)));
  v.setUint16(6, c === 0 ? 0xffff : c);
  return u;
}

/** The IPv4 ICMP echo request in `f` addressed to us, or null. */
function parseEchoRequest(f: Uint8Array, ourMac: number, ourIp: number) {
  if (f.length < 14 + 20 + 8) return null;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint16(12) !== ETH_P_IP || readMac(f, 0) !== ourMac) return null;
  const ihl = (f[14]! & 0x0f) * 4;
  if (f[14]! >> 4 !== 4 || f[23] !== 1 || v.getUint32(30) !== ourIp) return null;
  if (f[14 + ihl] !== 8) return null; // ICMP type 8: echo request
  const total = v.getUint16(16);
  return {
    srcMac: readMac(f, 6),
    srcIp: v.getUint32(26),
    icmp: f.slice(14 + ihl, 14 + total),
  };
}

/** The echo reply (RFC 792) to a request parsed by {@link parseEchoRequest}. */
function echoReply(
  req: NonNullable<ReturnType<typeof parseEchoRequest>>,
  ourMac: number,
  ourIp: number,
  id: number,
) {
  const icmp = req.icmp.slice();
  icmp[0] = 0; // echo reply; code, identifier, sequence and data stay
  icmp[2] = icmp[3] = 0;
  new DataView(icmp.buffer).setUint16(2, finishChecksum(checksum(icmp, 0, icmp.length)));
  return ethernet(req.srcMac, ourMac, ETH_P_IP, ipv4(ourIp, req.srcIp, 1, id, icmp));
}

function threadNetns(): string {
  return Deno.readLinkSync("/proc/thread-self/ns/net");
}

async function expectTapError(
  p: Promise<TapDevice>,
  code: string,
  ...fragments: string[]
): Promise<void> {
  let err: unknown;
  try {
    const dev = await p;
    await dev.close();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TapError, `expected TapError ${code}, got ${err}`);
  assert.is(err.code, code, err.message);
  for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" lacks "${f}"`);
}

function deviceOptions(name: string) {
  return { name, allocator: new SkbAllocator(new Arena()), clock: new VirtualClock() };
}

test("TapDevice.open: empty, too long or malformed names are refused with a RangeError that says why", async () => {
  const cases: [string, string][] = [
    ["", "empty"],
    ["netwasm-tap-0123", "16 bytes, at most 15 fit (IFNAMSIZ)"],
    ["tap/0", `contain "/"`],
    ["tap 0", "whitespace"],
    ["..", `"."`],
  ];
  for (const [name, why] of cases) {
    let err: unknown;
    try {
      await TapDevice.open(deviceOptions(name));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RangeError, `${JSON.stringify(name)}: ${err}`);
    assert.ok(err.message.startsWith(`Cannot open TAP "${name}": `), err.message);
    assert.ok(err.message.includes(why), err.message);
  }
});

test(
  "TapDevice.open: missing device, busy, taken name, not a TAP and missing netns fail with TapError codes; the thread's namespace is restored",
  async () => {
    const before = threadNetns();
    await withNetns(async (ns) => {
      const missing = `nwnone${Deno.pid % 100000}`;
      await expectTapError(
        TapDevice.open({ ...deviceOptions(missing), netns: ns.name }),
        "ENODEV",
        `Cannot open TAP "${missing}": no such device in network namespace "${ns.name}"`,
        `ip tuntap add dev ${missing} mode tap`,
      );
      // ns.dev is held by ns.tap: a single-queue TAP takes one reader.
      await expectTapError(
        TapDevice.open({ ...deviceOptions(ns.dev), netns: ns.name }),
        "EBUSY",
        "device busy",
      );
      await expectTapError(
        TapDevice.open({ ...deviceOptions(ns.dev), netns: ns.name, create: true }),
        "EEXIST",
        "already exists",
      );
      await expectTapError(
        TapDevice.open({ ...deviceOptions("lo"), netns: ns.name }),
        "EINVAL",
        "exists",
        "is not a TAP device",
      );
      await expectTapError(
        TapDevice.open({ ...deviceOptions("nwtap0"), netns: `netwasm-absent-${Deno.pid}` }),
        "ENOENT",
        "does not exist",
      );
      assert.is(threadNetns(), before, "open() must switch back to the original namespace");
      assert.ok(ns.tap.isUp, "failed opens must not disturb the open device");
    });
    assert.is(threadNetns(), before);
  },
  requireInterop("tap open errors"),
);

test(
  "TapDevice.open: without CAP_NET_ADMIN → EPERM 'need root or CAP_NET_ADMIN'; without /dev/net/tun → ENOENT 'modprobe tun'",
  async () => {
    await withNetns(async (ns) => {
      const url = (p: string) => new URL(p, import.meta.url).href;
      const script = `
        import { TapDevice } from "${url("../../src/link/tap.ts")}";
        import { Arena } from "${url("../../src/skb/arena.ts")}";
        import { SkbAllocator } from "${url("../../src/skb/skbuff.ts")}";
        import { VirtualClock } from "${url("../../src/core/clock.ts")}";
        try {
          const d = await TapDevice.open({ name: "nwperm0", create: true,
            allocator: new SkbAllocator(new Arena()), clock: new VirtualClock() });
          await d.close();
          console.log(JSON.stringify({ opened: true }));
        } catch (e) {
          console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message }));
        }`;
      const deno = Deno.execPath();
      // Both run inside the test namespace, so even a wrongly successful
      // create could only make a TAP there.
      const [noCaps, noTun] = await Promise.all([
        ns.exec(["setpriv", "--inh-caps=-all", "--bounding-set=-all", deno, "eval", script], {
          check: true,
          timeout: 15_000,
        }),
        ns.exec([
          "unshare",
          "--mount",
          "sh",
          "-c",
          'mount -t tmpfs netwasm-no-tun /dev/net && exec "$0" eval "$1"',
          deno,
          script,
        ], { check: true, timeout: 15_000 }),
      ]);
      const perm = JSON.parse(noCaps.stdout.trim());
      assert.equal(perm.name, "TapError", noCaps.stdout);
      assert.equal(perm.code, "EPERM");
      assert.ok(
        perm.message.includes("permission denied (need root or CAP_NET_ADMIN"),
        perm.message,
      );
      const gone = JSON.parse(noTun.stdout.trim());
      assert.equal(gone.code, "ENOENT", noTun.stdout);
      assert.ok(gone.message.includes("/dev/net/tun does not exist"), gone.message);
    });
  },
  requireInterop("tap open permission errors", { tools: ["setpriv", "unshare"] }),
);

test(
  "read path: `ping 192.0.2.2` in the namespace makes the kernel ARP for it, and TapDevice receives the request",
  async () => {
    await withNetns(async (ns) => {
      const ping = ns.spawn(["ping", "-c", "3", "-W", "1", OUR_IP]);
      const frame = await ns.receive((f) => parseArp(f)?.targetIp === ipToInt(OUR_IP));
      const arp = parseArp(frame)!;
      assert.is(arp.op, 1, "ARP request");
      assert.is(arp.dstMac, BROADCAST);
      assert.is(arp.senderIp, ipToInt(ns.kernelIp));
      const kernelMac = (await ns.exec(["cat", `/sys/class/net/${ns.dev}/address`], {
        check: true,
      })).stdout.trim();
      assert.is(macString(arp.senderMac), kernelMac);
      assert.ok(ns.tap.stats.rxPackets >= 1);
      assert.is(ns.tap.stats.rxDropped, 0);
      await ping.kill();
    });
  },
  requireInterop("tap read path", { tools: ["ping"] }),
);

test(
  "write path: our ARP reply lands in the kernel's neighbour table and our echo replies complete `ping -c 3`; every captured frame passes tshark",
  async () => {
    await withNetns(async (ns) => {
      const ourIp = ipToInt(OUR_IP);
      const ping = ns.spawn(["ping", "-c", "3", "-i", "0.2", "-W", "2", OUR_IP]);
      const req = parseArp(await ns.receive((f) => parseArp(f)?.targetIp === ourIp))!;
      assert.is(
        ns.send(arpFrame(2, OUR_MAC, ourIp, req.senderMac, req.senderIp)),
        Xmit.OK,
      );
      // The kernel resolved us: its echo requests now come to our MAC.
      for (let seq = 1; seq <= 3; seq++) {
        const frame = await ns.receive((f) => parseEchoRequest(f, OUR_MAC, ourIp) !== null);
        const echo = parseEchoRequest(frame, OUR_MAC, ourIp)!;
        assert.is(new DataView(echo.icmp.buffer).getUint16(6), seq, "icmp sequence");
        assert.is(ns.send(echoReply(echo, OUR_MAC, ourIp, seq)), Xmit.OK);
      }
      const status = await ping.status;
      assert.ok(status.success, `ping failed: ${ping.stdout}${ping.stderr}`);
      assert.match(ping.stdout, /3 packets transmitted, 3 received/);
      const neigh = await ns.exec(["ip", "neigh", "show", OUR_IP, "dev", ns.dev], { check: true });
      assert.ok(neigh.stdout.includes(`lladdr ${macString(OUR_MAC)}`), neigh.stdout);
      assert.is(ns.tap.stats.txPackets, 4);
      assert.is(ns.tap.stats.txErrors, 0);
      const pcap = await ns.stopCapture();
      const report = await tsharkCheck(pcap!);
      // ARP request + reply, 3 × (echo request + reply), and nothing else.
      assert.is(report.frames, 8, "frames captured");
      assert.equal(report.findings, []);
    }, { capture: true, mac: OUR_MAC });
  },
  requireInterop("tap write path (ARP, ICMP)", { tools: ["ping", "tcpdump", "tshark"] }),
);

test(
  "write path: a hand-built IPv4/UDP datagram reaches `socat UDP-RECV` in the namespace byte for byte; tshark finds it valid",
  async () => {
    await withNetns(async (ns) => {
      const kernelMac = (await ns.exec(["cat", `/sys/class/net/${ns.dev}/address`], {
        check: true,
      })).stdout.trim();
      const socat = ns.spawn(["socat", "-d", "-d", "-u", "UDP-RECV:9999", "STDOUT"]);
      // Printed once the socket is bound, before socat waits for data.
      await socat.waitForOutput("starting data transfer loop", { stream: "stderr" });
      const payload = new Uint8Array(1200);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;
      const src = ipToInt(OUR_IP);
      const dst = ipToInt(ns.kernelIp);
      const frame = ethernet(
        parseInt(kernelMac.replaceAll(":", ""), 16),
        OUR_MAC,
        ETH_P_IP,
        ipv4(src, dst, 17, 0x1234, udp(src, dst, 40000, 9999, payload)),
      );
      assert.is(ns.send(frame), Xmit.OK);
      await socat.waitUntil((p) => p.stdoutBytes.length >= payload.length, {
        what: "the datagram on stdout",
      });
      assert.equal(socat.stdoutBytes, payload);
      await socat.kill();
      // withNetns runs tsharkCheck on the capture after this body (capture: "check").
      assert.is(await countPcapFrames((await ns.stopCapture())!), 1, "only our datagram");
    }, { capture: "check", mac: OUR_MAC });
  },
  requireInterop("tap write path (UDP)", { tools: ["socat", "tcpdump", "tshark"] }),
);

test(
  "receive: a frame longer than our MTU (kernel MTU 3000) is dropped and counted, never truncated into the stack",
  async () => {
    await withNetns(async (ns) => {
      await ns.exec(["ip", "link", "set", ns.dev, "mtu", "3000"], { check: true });
      const bcast = "192.0.2.255";
      const isEcho = (size: number) => (f: Uint8Array) =>
        f.length === size && new DataView(f.buffer).getUint16(12) === ETH_P_IP && f[23] === 1;
      // Broadcast echo requests need no ARP: 2500 + 8 + 20 + 14 bytes, then 100 + 42.
      await ns.exec(["ping", "-b", "-c", "1", "-W", "0.1", "-s", "2500", bcast]);
      await ns.exec(["ping", "-b", "-c", "1", "-W", "0.1", "-s", "100", bcast]);
      const small = await ns.receive((f) => isEcho(142)(f) || isEcho(2542)(f));
      assert.is(small.length, 142, "the oversized frame must not be delivered");
      assert.is(ns.tap.stats.rxDropped, 1);
      assert.is(ns.tap.stats.rxPackets, 1);
    });
  },
  requireInterop("tap oversize receive", { tools: ["ping"] }),
);

test(
  "close(): returns at once although a 10 s poll is pending, frees queued frames (arena back to baseline), later transmits report DOWN",
  async () => {
    const allocator = new SkbAllocator(new Arena());
    const baseline = allocator.arena.inUse;
    await withNetns(async (ns) => {
      const tap = ns.tap;
      // Leave the kernel's ARP reply on the receive queue: nobody polls it.
      const queued = new Promise<void>((resolve) => tap.setRxNotify(() => resolve()));
      const ourIp = ipToInt(OUR_IP);
      ns.send(arpFrame(1, OUR_MAC, ourIp, 0, ipToInt(ns.kernelIp)));
      await withTimeout(queued, 5000, "the kernel's ARP reply");
      assert.ok(tap.rxQueue.length >= 1);
      assert.ok(allocator.arena.inUse > baseline, "the queued frame holds an arena slot");
      const t0 = performance.now();
      await tap.close();
      const took = performance.now() - t0;
      assert.ok(
        took < 1000,
        `close() took ${took.toFixed(0)} ms; the eventfd should wake the poll`,
      );
      assert.is(tap.closed, true);
      assert.is(tap.fd, -1);
      assert.is(await tap.stopped, null);
      assert.is(tap.rxQueue.length, 0);
      assert.is(allocator.arena.inUse, baseline);
      const skb = allocator.alloc(60)!;
      skb.put(60);
      assert.is(tap.transmit(skb), Xmit.DOWN);
      assert.is(allocator.arena.inUse, baseline, "transmit after close frees the buffer");
      await tap.close(); // idempotent
    }, { allocator, tap: { pollTimeoutMs: 10_000 } });
    assert.is(allocator.arena.inUse, baseline);
    assert.is(allocator.live, 0);
  },
  requireInterop("tap close"),
);

test(
  "kernel side down → transmit reports DOWN and counts txErrors (EIO); deleted → read loop stops with an error, close() still clean",
  async () => {
    await withNetns(async (ns) => {
      const tap = ns.tap;
      await ns.exec(["ip", "link", "set", ns.dev, "down"], { check: true });
      const arp = arpFrame(1, OUR_MAC, ipToInt(OUR_IP), 0, ipToInt(ns.kernelIp));
      assert.is(ns.send(arp), Xmit.DOWN);
      assert.is(tap.stats.txErrors, 1);
      await ns.exec(["ip", "link", "del", ns.dev], { check: true });
      const err = await withTimeout(tap.stopped, 5000, "the read loop to stop");
      assert.ok(err instanceof Error);
      assert.match(err.message, /went away|read failed/);
      assert.is(tap.isUp, false);
      assert.is(ns.send(arp), Xmit.DOWN);
      await tap.close();
      assert.is(ns.arena.inUse, 0);
    });
  },
  requireInterop("tap kernel side gone"),
);

test(
  "tsharkCheck: flags a frame with a bad IPv4 header checksum, passes the same frame fixed",
  async () => {
    assertInterop({ tools: ["tshark"], netns: false });
    const dir = await Deno.makeTempDir({ prefix: "netwasm-tshark-" });
    try {
      const src = ipToInt(OUR_IP);
      const dst = ipToInt("192.0.2.1");
      const good = ethernet(
        0x02_00_00_00_00_aa,
        OUR_MAC,
        ETH_P_IP,
        ipv4(src, dst, 17, 1, udp(src, dst, 1, 9, new Uint8Array([1, 2, 3]))),
      );
      const bad = good.slice();
      bad[14 + 10]! ^= 0x01; // IPv4 header checksum
      await Deno.writeFile(`${dir}/good.pcap`, pcapFile([good]));
      await Deno.writeFile(`${dir}/bad.pcap`, pcapFile([good, bad]));
      assert.equal(await tsharkCheck(`${dir}/good.pcap`), { frames: 1, findings: [] });
      const r = await tsharkCheck(`${dir}/bad.pcap`);
      assert.is(r.frames, 2);
      assert.is(r.findings.length, 1, r.findings.join("\n"));
      assert.ok(r.findings[0]!.startsWith("2|"), r.findings[0]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("tsharkCheck", { tools: ["tshark"], netns: false }),
);

/** A classic pcap file (LINKTYPE_ETHERNET) holding `frames`. */
function pcapFile(frames: Uint8Array[]): Uint8Array {
  const size = 24 + frames.reduce((a, f) => a + 16 + f.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true);
  let at = 24;
  frames.forEach((f, i) => {
    v.setUint32(at, 1_700_000_000 + i, true);
    v.setUint32(at + 8, f.length, true);
    v.setUint32(at + 12, f.length, true);
    out.set(f, at + 16);
    at += 16 + f.length;
  });
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
