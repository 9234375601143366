import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import {
  formatPingSummary,
  formatRtt,
  pingExitCode,
  type PingRunOptions,
  runPing,
} from "../../src/cli/ping.ts";
import type { Pair } from "../_util/sim.ts";

/** Run a ping session on the pair's virtual clock, collecting its lines. */
async function ping(p: Pair, host: string, o: PingRunOptions = {}) {
  const lines: string[] = [];
  const errors: string[] = [];
  const summary = await settle(
    p.clock,
    runPing(p.a, host, { write: (l) => lines.push(l), writeError: (l) => errors.push(l), ...o }),
  );
  return { summary, lines, errors, all: [...lines, ...formatPingSummary(summary)] };
}

test("ping: prints ping(8)'s header, one line per reply and its summary; exit 0", async () => {
  const p = pair({ seed: 11, impair: { delay: 5 } });
  const r = await ping(p, "192.0.2.2", { count: 3 });
  assert.equal(r.all, [
    "PING 192.0.2.2 (192.0.2.2) 56(84) bytes of data.",
    "64 bytes from 192.0.2.2: icmp_seq=1 ttl=64 time=15.0 ms", // waits for B's gratuitous ARP
    "64 bytes from 192.0.2.2: icmp_seq=2 ttl=64 time=10.0 ms",
    "64 bytes from 192.0.2.2: icmp_seq=3 ttl=64 time=10.0 ms",
    "",
    "--- 192.0.2.2 ping statistics ---",
    "3 packets transmitted, 3 received, 0% packet loss, time 2010ms",
    "rtt min/avg/max/mdev = 10.000/11.667/15.000/2.357 ms",
  ]);
  assert.is(pingExitCode(r.summary), 0);
  assert.is(p.b.stats.icmp.inByType[8], 3, "three echo requests reached B");
  await p.close();
});

test("ping: probes leave one interval apart even while earlier ones are unanswered", async () => {
  // 1500 ms one way: every reply comes back after the next probe left.
  const p = pair({ seed: 12, impair: { delay: 1500 } });
  const r = await ping(p, "192.0.2.2", { count: 3, intervalMs: 1000 });
  assert.is(r.summary.received, 3);
  // B's gratuitous ARP reaches A at 1500 ms and releases probes 1 and 2.
  assert.equal(r.summary.rtts, [4500, 3500, 3000]);
  // Last probe at 2000 ms, its reply at 5000 ms; the run ends when it arrives.
  assert.is(r.summary.elapsedMs, 5000);
  await p.close();
});

test("ping: a silent host gives 100% loss after the -W linger, exit 1", async () => {
  const p = pair({ seed: 13 });
  p.devB.down(); // B no longer hears anything on the pipe
  const r = await ping(p, "192.0.2.2", { count: 2, intervalMs: 500, lingerMs: 1000 });
  assert.equal(r.all.slice(-2), [
    "--- 192.0.2.2 ping statistics ---",
    "2 packets transmitted, 0 received, 100% packet loss, time 1500ms",
  ]);
  assert.is(pingExitCode(r.summary), 1);
  await p.close();
});

test("ping: an unresolvable neighbour is reported per probe as Destination Host Unreachable", async () => {
  const p = pair({ seed: 14 });
  const r = await ping(p, "192.0.2.99", { count: 1 });
  assert.equal(r.all, [
    "PING 192.0.2.99 (192.0.2.99) 56(84) bytes of data.",
    "From 192.0.2.1 icmp_seq=1 Destination Host Unreachable",
    "",
    "--- 192.0.2.99 ping statistics ---",
    "1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 3000ms",
  ]);
  assert.is(pingExitCode(r.summary), 1);
  await p.close();
});

test("ping: a send the stack refuses (no route) is printed as ping(8)'s sendmsg error and counted", async () => {
  const p = pair({ seed: 15 });
  const r = await ping(p, "198.51.100.1", { count: 2, intervalMs: 200 });
  assert.equal(r.errors, [
    "ping: sendmsg: Network is unreachable (ENETUNREACH)",
    "ping: sendmsg: Network is unreachable (ENETUNREACH)",
  ]);
  assert.match(r.all.at(-1)!, /^2 packets transmitted, 0 received, \+2 errors, 100% packet loss/);
  await p.close();
});

test("ping: duplicated replies are marked (DUP!) and counted apart; loss percentages like ping(8)", async () => {
  const p = pair({ seed: 16, impair: { delay: 1 }, bToA: { duplicate: 1 } });
  const r = await ping(p, "192.0.2.2", { count: 2, intervalMs: 200 });
  assert.is(r.lines.filter((l) => l.endsWith("(DUP!)")).length, 2);
  assert.is(r.summary.received, 2);
  assert.is(r.summary.duplicates, 2);
  assert.match(
    r.all.join("\n"),
    /2 packets transmitted, 2 received, \+2 duplicates, 0% packet loss/,
  );
  const third = formatPingSummary({
    host: "h",
    transmitted: 3,
    received: 2,
    duplicates: 0,
    errors: 0,
    rtts: [1, 2],
    elapsedMs: 2000.4,
  });
  assert.is(third[2], "3 packets transmitted, 2 received, 33.3333% packet loss, time 2000ms");
  await p.close();
});

test("ping: a large ping is fragmented and its size shown as ping(8) does", async () => {
  const p = pair({ seed: 17, impair: { delay: 1, reorder: 0.3 } });
  // Resolve ARP first: an unresolved entry queues only 3 packets (6 fragments would overflow).
  await settle(p.clock, p.a.ping("192.0.2.2"));
  const r = await ping(p, "192.0.2.2", { count: 2, size: 8000, intervalMs: 200 });
  assert.is(r.lines[0], "PING 192.0.2.2 (192.0.2.2) 8000(8028) bytes of data.");
  assert.match(r.lines[1]!, /^8008 bytes from 192\.0\.2\.2: icmp_seq=1 ttl=64 time=/);
  assert.ok(!r.lines.some((l) => l.includes("BAD DATA")));
  assert.is(p.b.stats.ip.reasmOKs, 2);
  await p.close();
});

test("ping: -t sets the TTL of the requests", async () => {
  const p = pair({ seed: 18 });
  const seen: number[] = [];
  p.devB.addTap((dir, u8, off, len) => {
    if (dir === "rx" && len > 34 && u8[off + 12] === 8 && u8[off + 23] === 1) {
      seen.push(u8[off + 22]!);
    }
  });
  await ping(p, "192.0.2.2", { count: 1, ttl: 3 });
  assert.equal(seen, [3]);
  await p.close();
});

test("ping: aborting stops sending and still yields the summary of what was sent", async () => {
  const p = pair({ seed: 19, impair: { delay: 2 } });
  const stop = new AbortController();
  const lines: string[] = [];
  const run = runPing(p.a, "192.0.2.2", {
    count: 10,
    write: (l) => {
      lines.push(l);
      if (l.includes("icmp_seq=2 ")) stop.abort();
    },
    signal: stop.signal,
  });
  const s = await settle(p.clock, run);
  assert.is(s.transmitted, 2);
  assert.is(s.received, 2);
  assert.is(pingExitCode(s), 0);
  await p.close();
});

test("ping: bad arguments are refused with the reason", () => {
  const p = pair({ seed: 20 });
  const bad: [string, PingRunOptions, RegExp][] = [
    ["192.0.2.2", { count: 0 }, /count must be an integer in 1…65535/],
    ["192.0.2.2", { size: 70000 }, /size must be an integer in 0…65527/],
    ["192.0.2.2", { size: 65508 }, /size 65508 is over the IPv4 maximum of 65507/],
    ["192.0.2.2", { intervalMs: 100 }, /interval must be at least 0.2 s/],
    ["192.0.2.2", { ttl: 0 }, /TTL must be an integer in 1…255/],
    ["example.com", {}, /not an IPv4 or IPv6 address \(netwasm has no name resolver/],
    ["fe80::1%nope", {}, /no interface "nope"/],
  ];
  for (const [host, o, re] of bad) {
    assert.throws(() => runPing(p.a, host, o), re);
  }
  return p.close();
});

test("formatRtt: ping(8)'s precision steps", () => {
  assert.is(formatRtt(0.5321), "0.532");
  assert.is(formatRtt(4.213), "4.21");
  assert.is(formatRtt(27.34), "27.3");
  assert.is(formatRtt(153.4), "153");
  assert.is(formatRtt(1097.278), "1097");
});

test("ping -6: ping(8)'s IPv6 header and lines, a link-local target with %zone, and address unreachable", async () => {
  const { pair6 } = await import("../ipv6/_helpers.ts");
  const { formatIpv6 } = await import("../../src/wire/addr6.ts");
  const p = pair6({ dad: false, impair: { delay: 5 } });
  const r = await ping(p, "2001:db8::2", { count: 2 });
  assert.is(r.all[0], "PING 2001:db8::2(2001:db8::2) 56 data bytes");
  assert.match(r.all[1]!, /^64 bytes from 2001:db8::2: icmp_seq=1 ttl=64 time=[\d.]+ ms$/);
  assert.is(r.summary.received, 2);
  const ll = `${formatIpv6(p.llB)}%${p.ifA.name}`;
  const r2 = await ping(p, ll, { count: 1, size: 3000 });
  assert.match(r2.all[1]!, new RegExp(`^3008 bytes from ${formatIpv6(p.llB)}: icmp_seq=1`));
  const r3 = await ping(p, "2001:db8::99", { count: 1 });
  assert.match(
    r3.lines.join("\n"),
    /From 2001:db8::1 icmp_seq=1 Destination unreachable: Address unreachable/,
  );
  assert.is(pingExitCode(r3.summary), 1);
  await p.close();
});
