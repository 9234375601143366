/**
 * IPv6 against the Linux kernel as an independent peer (issue 12): a TAP
 * into a network namespace each test creates, 2001:db8::/32 only, every
 * frame captured and checked by tshark. Linux `ping -6` to our link-local
 * and global addresses (plain and 8,000-byte fragmented), our pings to
 * Linux, SLAAC from `radvd`, DAD finding a duplicate of the kernel's
 * address, and UDP echo both ways over IPv6 (plus IPv4 into the same
 * dual-stack socket). Lean on purpose: seconds per test.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { type Netns, requireInterop, run, withNetns } from "../_util/netns.ts";
import type { Stack } from "../../src/api/stack.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import { AddrState } from "../../src/ipv6/inet6_dev.ts";
import { formatIpv6, inPrefix6, parseIpv6Address } from "../../src/wire/addr6.ts";
import {
  assertWireClean,
  CAPTURE_TOOLS,
  figure,
  OUR_IP,
  parsePingSummary,
  withStack,
  withTimeout,
} from "./_stack.ts";

const OUR_IP6 = "2001:db8::2";
const KERNEL_IP6 = "2001:db8::1";
const PYTHON = "/usr/bin/python3";
const COUNT = 50;
const N = 300;

/** Wait (real time, polling) until every address on `iface` is out of DAD; hang guard `ms`. */
async function whenUsable(stack: Stack, iface: Iface, ms = 10_000): Promise<void> {
  const dev = stack.ipv6.devices.get(iface)!;
  const deadline = performance.now() + ms;
  while (dev.addrs.length === 0 || dev.addrs.some((a) => a.state === AddrState.TENTATIVE)) {
    if (performance.now() > deadline) throw new Error(`addresses still tentative after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The kernel's link-local address on the TAP. */
async function kernelLinkLocal(ns: Netns): Promise<string> {
  const r = await ns.exec(["ip", "-6", "-o", "addr", "show", "dev", ns.dev, "scope", "link"], {
    check: true,
  });
  const m = /inet6 (fe80::[0-9a-f:]+)\//.exec(r.stdout);
  assert.ok(m !== null, r.stdout);
  return m[1]!;
}

/** Run Linux `ping -6` and check ping(8)'s verdict: every probe answered, nothing odd. */
async function linuxPing6(ns: Netns, target: string, size: number): Promise<void> {
  const r = await ns.exec(
    ["ping", "-6", "-c", String(COUNT), "-i", "0.01", "-W", "1", "-s", String(size), target],
    { timeout: 15_000 },
  );
  const out = `${r.stdout}\n${r.stderr}`;
  assert.ok(!r.timedOut, `ping -6 ${target} timed out:\n${out}`);
  const s = parsePingSummary(r.stdout);
  assert.is(s.transmitted, COUNT, out);
  assert.is(s.received, COUNT, `ping -6 -s ${size} ${target}: ${s.lossPercent}% loss\n${out}`);
  assert.is(s.duplicates, 0);
  assert.is(s.errors, 0);
  for (const bad of ["wrong data", "BAD CHECKSUM", "truncated", "DUP!"]) {
    assert.not.ok(out.includes(bad), `${bad}:\n${out}`);
  }
  const lines = r.stdout.split("\n").filter((l) => l.includes("bytes from"));
  assert.is(lines.length, COUNT);
  assert.ok(lines.every((l) => l.startsWith(`${size + 8} bytes from`)), lines[0]);
}

const V6 = {
  iface: { ip6: `${OUR_IP6}/64`, slaac: false },
  netns: { ipv6: true, capture: "check" as const },
};

test(
  "interop IPv6: Linux `ping -6` to our link-local and global addresses, 56 and 8000 bytes (fragmented both ways): 0% loss; tshark clean",
  async () => {
    await withStack(async (ns, stack, iface) => {
      await whenUsable(stack, iface);
      const ll = formatIpv6(stack.ipv6.devices.get(iface)!.linkLocal()!.address);
      const before = { ...stack.stats.ip6 };
      for (const target of [OUR_IP6, `${ll}%${ns.dev}`]) {
        for (const size of [56, 8000]) await linuxPing6(ns, target, size);
      }
      const st = stack.stats.ip6;
      // 8008 bytes of ICMPv6 in 1448-byte fragments: 6 per packet each way.
      assert.is(st.reasmOKs - before.reasmOKs, 2 * COUNT, "requests reassembled");
      assert.is(st.fragCreates - before.fragCreates, 2 * COUNT * 6, "reply fragments made");
      assert.is(stack.stats.icmp6.outByType[129], 4 * COUNT, "echo replies");
      assert.is(stack.stats.drops.get("icmpv6.bad_checksum"), 0);
      const wire = await assertWireClean(ns);
      figure(
        "ping -6 linux → netwasm",
        `${4 * COUNT}/${
          4 * COUNT
        } replies (global and ${ll}, 56 and 8000 bytes), 0% loss; tshark ${wire.frames} frames, 0 findings`,
      );
    }, V6);
  },
  requireInterop("ping -6 linux to netwasm", { tools: ["ping", ...CAPTURE_TOOLS] }),
);

test(
  "interop IPv6: netwasm pings Linux at its global and link-local addresses, 56 and 8000 bytes: every reply back",
  async () => {
    await withStack(async (ns, stack, iface) => {
      await whenUsable(stack, iface);
      const ll = await kernelLinkLocal(ns);
      let replies = 0;
      for (const target of [KERNEL_IP6, `${ll}%${iface.name}`]) {
        for (const size of [56, 8000]) {
          for (let seq = 0; seq < 10; seq++) {
            const r = await stack.ping(target, { size, seq, timeout: 2000 });
            assert.ok(r.dataMatches, `${target} seq ${seq}`);
            assert.is(r.bytes, size + 8);
            replies++;
          }
        }
      }
      assert.is(replies, 40);
      const wire = await assertWireClean(ns);
      figure(
        "ping -6 netwasm → linux",
        `40/40 replies (${KERNEL_IP6} and ${ll}); tshark ${wire.frames} frames`,
      );
    }, V6);
  },
  requireInterop("netwasm ping -6 to linux", { tools: CAPTURE_TOOLS }),
);

test(
  "interop IPv6: SLAAC from radvd gives an RFC 7217 global address and a default route that carries traffic off-link; tshark clean",
  async () => {
    await withStack(async (ns, stack, iface) => {
      await ns.exec(["ip", "-6", "addr", "add", "2001:db8:ff::1/128", "dev", "lo"], {
        check: true,
      });
      const dir = await Deno.makeTempDir({ prefix: "netwasm-radvd-" });
      try {
        const conf = `${dir}/radvd.conf`;
        await Deno.writeTextFile(
          conf,
          `interface ${ns.dev} {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvDefaultLifetime 600;
  AdvLinkMTU 1500;
  prefix 2001:db8:1::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 3600; AdvPreferredLifetime 1800; };
};
`,
        );
        ns.spawn(["radvd", "-C", conf, "-p", `${dir}/radvd.pid`, "-n", "-m", "stderr"]);
        const dev = stack.ipv6.devices.get(iface)!;
        const prefix = parseIpv6Address("2001:db8:1::");
        const deadline = performance.now() + 15_000;
        let auto = dev.addrs.find((a) => a.origin === "slaac" && a.state === AddrState.PREFERRED);
        while (auto === undefined) {
          if (performance.now() > deadline) throw new Error("no SLAAC address within 15 s");
          await new Promise((r) => setTimeout(r, 100));
          auto = dev.addrs.find((a) => a.origin === "slaac" && a.state === AddrState.PREFERRED);
        }
        assert.ok(inPrefix6(auto.address, 0, prefix, 0, 64), formatIpv6(auto.address));
        assert.not.ok(formatIpv6(auto.address).includes("ff:fe"), "opaque (RFC 7217), not EUI-64");
        const ll = await kernelLinkLocal(ns);
        const def = stack.ipv6.routes.routes.find((r) =>
          r.prefixLength === 0 && r.origin === "ra-default"
        );
        assert.ok(def !== undefined, stack.ipv6.routes.describe().join("\n"));
        assert.is(formatIpv6(def.gateway!), ll);
        // 2001:db8:ff::1 is off-link: only the default route reaches it.
        for (let seq = 0; seq < 5; seq++) {
          const r = await stack.ping("2001:db8:ff::1", { seq, timeout: 2000 });
          assert.is(r.from, "2001:db8:ff::1");
        }
        // The kernel sees our SLAAC address as a neighbour on the link.
        const nb = await ns.exec(["ip", "-6", "neigh", "show", "dev", ns.dev], { check: true });
        assert.ok(nb.stdout.includes(formatIpv6(auto.address)), nb.stdout);
        const wire = await assertWireClean(ns);
        figure(
          "SLAAC from radvd",
          `${
            formatIpv6(auto.address)
          }/64, default via ${ll}, 5/5 pings off-link; tshark ${wire.frames} frames`,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }, {
      iface: { slaac: true },
      netns: { ipv6: true, kernelAddress6: "2001:db8:1::1/64", capture: "check" },
    });
  },
  requireInterop("SLAAC from radvd", { tools: ["radvd", ...CAPTURE_TOOLS] }),
);

test(
  "interop IPv6: DAD detects that the kernel already has 2001:db8::1; our other address works",
  async () => {
    await withStack(async (ns, stack, iface) => {
      const dup = stack.ipv6.addrconf.addStatic(iface, parseIpv6Address(KERNEL_IP6), 64);
      await whenUsable(stack, iface);
      assert.is(dup.state, AddrState.DUPLICATE);
      assert.is(stack.stats.ndisc.dadFailed, 1);
      assert.ok(stack.stats.ndisc.naReceived >= 1, "the kernel defended its address");
      const ours = stack.ipv6.devices.get(iface)!.find(parseIpv6Address(OUR_IP6), 0)!;
      assert.is(ours.state, AddrState.PREFERRED);
      const r = await stack.ping(KERNEL_IP6, { timeout: 2000 });
      assert.is(r.from, KERNEL_IP6);
      const wire = await assertWireClean(ns);
      figure(
        "DAD",
        `duplicate ${KERNEL_IP6} found (kernel's NA), ${OUR_IP6} preferred; tshark ${wire.frames} frames`,
      );
    }, V6);
  },
  requireInterop("DAD against linux", { tools: CAPTURE_TOOLS }),
);

/** Linux client over IPv4 or IPv6: `n` datagrams (1–3000 bytes, seeded), each echo checked. */
const PY_CLIENT = `
import socket, random, sys
fam, host, port, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
s = socket.socket(socket.AF_INET6 if fam == "6" else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)
s.connect((host, port))
big = nbytes = 0
for i in range(n):
    size = [1, 1232, 1233, 3000][i] if i < 4 else (rng.randint(1453, 3000) if rng.random() < 0.1 else rng.randint(1, 1452))
    data = rng.randbytes(size)
    s.send(data)
    try:
        reply = s.recv(65536)
    except OSError as e:
        print(f"FAIL {i}: {e!r}"); sys.exit(1)
    if reply != data:
        print(f"FAIL {i}: {len(reply)} bytes back, {len(data)} sent"); sys.exit(1)
    big += size > 1452
    nbytes += size
print(f"OK {n} {nbytes} {big}")
`;

/** Linux echo server over IPv6: echoes `n` datagrams, prints READY first and ECHOED at the end. */
const PY_ECHO6 = `
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((host, port))
print("READY", flush=True)
s.settimeout(10.0)
count = 0
while count < n:
    data, addr = s.recvfrom(65536)
    s.sendto(data, addr)
    count += 1
    s.settimeout(2.0)
print(f"ECHOED {count}", flush=True)
`;

test(
  "interop IPv6 UDP: Linux → our dual-stack [::]:7 echo over IPv6 and IPv4, and us → a Linux IPv6 echo; every byte back, 0 loss; tshark clean",
  async () => {
    await withStack(async (ns, stack, iface) => {
      await whenUsable(stack, iface);
      const conn = stack.listenDatagram({ hostname: "::", port: 7 });
      const server = (async () => {
        try {
          for await (const [data, from] of conn) await conn.send(data, from);
        } catch { /* closed */ }
      })();
      const seed = testSeed();
      const results: string[] = [];
      try {
        for (const [fam, host] of [["6", OUR_IP6], ["4", OUR_IP]] as const) {
          const r = await ns.exec([
            PYTHON,
            "-c",
            PY_CLIENT,
            fam,
            host,
            "7",
            String(N),
            String(seed),
          ], {
            timeout: 30_000,
          });
          assert.is(r.code, 0, r.stdout + r.stderr);
          const m = /OK (\d+) (\d+) (\d+)/.exec(r.stdout);
          assert.ok(m !== null, r.stdout);
          assert.ok(Number(m[3]) >= 10, "some fragmented");
          results.push(`IPv${fam}: ${m[1]}/${N} (${m[3]} fragmented)`);
        }
      } finally {
        conn.close();
      }
      await withTimeout(server, 2000, "the echo loop to end");
      // Us → Linux.
      const echo = ns.spawn([PYTHON, "-c", PY_ECHO6, "::", "9000", String(N)]);
      await echo.waitForOutput("READY", { stream: "stdout" });
      const c = stack.listenDatagram({ hostname: OUR_IP6, port: 0 });
      let back = 0;
      try {
        for (let i = 0; i < N; i++) {
          const d = new Uint8Array(i % 10 === 9 ? 1500 + (i * 13) % 1500 : 1 + (i * 37) % 1400);
          for (let j = 0; j < d.length; j++) d[j] = (i + j * 7) & 255;
          await c.send(d, `[${KERNEL_IP6}]:9000`);
          const [data, from] = await withTimeout(c.receive(), 2000, `echo ${i}`);
          assert.equal(data, d);
          assert.is(from.hostname, KERNEL_IP6);
          back++;
        }
      } finally {
        c.close();
      }
      const status = await withTimeout(echo.status, 5000, "the Linux echo to exit");
      assert.is(status.code, 0, echo.stdout + echo.stderr);
      assert.is(stack.stats.udp.inCsumErrors, 0);
      assert.is(stack.stats.drops.get("udp.zero_checksum"), 0);
      const wire = await assertWireClean(ns);
      figure(
        "UDP over IPv6",
        `linux → [::]:7 ${
          results.join(", ")
        }; netwasm → linux ${back}/${N}; tshark ${wire.frames} frames, 0 findings`,
      );
    }, V6);
  },
  requireInterop("UDP over IPv6", { tools: ["python3", ...CAPTURE_TOOLS] }),
);

test(
  "interop IPv6: the CLI `netwasm ping -c 3 2001:db8::1 --ip6 2001:db8::2/64` as a subprocess: exit 0, 3 received; tshark clean",
  async () => {
    await withNetns(async (ns) => {
      const r = await run([
        Deno.execPath(),
        "run",
        "-A",
        new URL("../../src/cli/main.ts", import.meta.url).pathname,
        "ping",
        "-c",
        "3",
        "-i",
        "0.2",
        KERNEL_IP6,
        "--tap",
        ns.dev,
        "--netns",
        ns.name,
        "--ip6",
        `${OUR_IP6}/64`,
      ], { timeout: 30_000 });
      const out = `${r.stdout}\n${r.stderr}`;
      assert.ok(!r.timedOut, `the CLI timed out:\n${out}`);
      assert.is(r.code, 0, out);
      assert.match(r.stdout, /^PING 2001:db8::1\(2001:db8::1\) 56 data bytes$/m);
      assert.match(r.stdout, /3 packets transmitted, 3 received/);
      // Not assertWireClean: while no process holds this persistent TAP, the
      // kernel's own MLD reports reach tcpdump but are dropped by the TAP
      // (tx_dropped, not tx_packets), so the frame counts differ by design.
      const wire = await ns.checkCapture();
      assert.equal(wire.findings, [], `tshark findings in ${ns.pcapPath}`);
      assert.ok(wire.frames >= 8, "the ping exchange was captured");
      figure(
        "CLI ping -6 → linux",
        `3/3 received, exit 0; tshark ${wire.frames} frames, 0 findings`,
      );
    }, { openTap: false, capture: "check", ipv6: true });
  },
  requireInterop("CLI ping -6", { tools: CAPTURE_TOOLS }),
);
