import * as assert from "uvu/assert";
import { test } from "../../_util/test.ts";
import { VirtualClock } from "../../../src/core/clock.ts";
import { EgressPolicy, parseRule } from "../../../src/relay/nat/policy.ts";
import { ClientLimits } from "../../../src/relay/nat/limits.ts";
import { parseForward } from "../../../src/relay/nat/gateway.ts";
import { ip } from "../../_util/frames.ts";

test("NAT policy: by default loopback, private, link-local, CGNAT, documentation and own addresses are denied; the rest allowed", () => {
  const p = new EgressPolicy([], { ownAddresses: [ip("203.0.113.9"), ip("93.184.216.34")] });
  const cases: [string, number, boolean, RegExp][] = [
    ["127.0.0.1", 80, false, /loopback/],
    ["10.1.2.3", 80, false, /private network/],
    ["172.20.0.1", 80, false, /private network/],
    ["192.168.1.1", 80, false, /private network/],
    ["169.254.169.254", 80, false, /link-local/],
    ["100.64.0.1", 80, false, /shared address space/],
    ["192.0.2.1", 80, false, /documentation/],
    ["198.51.100.1", 80, false, /documentation/],
    ["224.0.0.1", 80, false, /multicast/],
    ["255.255.255.255", 80, false, /broadcast/],
    ["93.184.216.34", 443, false, /the relay's own address/],
    ["1.1.1.1", 53, true, /public/],
  ];
  for (const [a, port, allow, why] of cases) {
    const d = p.check(ip(a), port);
    assert.is(d.allow, allow, a);
    assert.match(d.reason, why, a);
  }
});

test("NAT policy: --allow/--deny rules apply in order, first match wins, ports narrow a rule", () => {
  const p = new EgressPolicy([
    parseRule("deny", "192.0.2.66"),
    parseRule("allow", "192.0.2.0/24:8000,53,9000-9010"),
    parseRule("deny", "8.8.8.0/24"),
  ], { ownAddresses: [] });
  assert.is(p.check(ip("192.0.2.66"), 8000).allow, false);
  assert.is(p.check(ip("192.0.2.1"), 8000).allow, true);
  assert.is(p.check(ip("192.0.2.1"), 9005).allow, true);
  assert.is(p.check(ip("192.0.2.1"), 22).reason, "default: documentation");
  assert.is(p.check(ip("8.8.8.8"), 53).reason, "deny 8.8.8.0/24");
  assert.throws(() => parseRule("allow", "192.0.2.0/33"), /not CIDR/);
  assert.throws(() => parseRule("allow", "192.0.2.0/24:0"), /bad port range/);
  assert.throws(() => parseRule("allow", "192.0.2.0/24:90-80"), /bad port range/);
});

test("NAT limits: connections are capped and released; DNS is a token bucket; bandwidth waits", async () => {
  const clock = new VirtualClock();
  const l = new ClientLimits(clock, {
    maxConnections: 2,
    dnsPerSecond: 5,
    bytesPerSecond: 100_000,
  });
  const c = ip("198.51.100.128");
  assert.ok(l.openConnection(c));
  assert.ok(l.openConnection(c));
  assert.not.ok(l.openConnection(c));
  l.closeConnection(c);
  assert.ok(l.openConnection(c));
  assert.ok(l.openConnection(ip("198.51.100.129")), "limits are per client");
  let ok = 0;
  for (let i = 0; i < 20; i++) if (l.takeDnsQuery(c)) ok++;
  assert.is(ok, 10, "a burst of twice the rate");
  clock.advance(1000);
  assert.ok(l.takeDnsQuery(c), "refilled after a second");
  // 16 KiB depth at 100 kB/s: 200 kB more must wait about 2 s.
  let done = false;
  const p = (async () => {
    for (let i = 0; i < 20; i++) await l.spend(c, 10_000, false);
    done = true;
  })();
  for (let t = 0; t < 3000 && !done; t += 10) {
    await Promise.resolve();
    clock.advance(10);
    await new Promise((r) => setTimeout(r, 0));
  }
  await p;
  assert.ok(clock.now() >= 1000 + 1800, `throttled to ${clock.now() - 1000} ms`);
  const counters = l.counters(c);
  assert.is(counters.bytesDown, 200_000);
  assert.ok(counters.throttledMs > 0);
  assert.is(counters.limited, 1 + 10);
});

test("NAT --forward parses tcp:[HOST:]PORT=ADDR:PORT", () => {
  assert.equal(parseForward("tcp:8080=10.0.2.15:80"), {
    hostAddress: "127.0.0.1",
    hostPort: 8080,
    address: "10.0.2.15",
    port: 80,
    text: "tcp:8080=10.0.2.15:80",
  });
  assert.is(parseForward("tcp:0.0.0.0:8080=10.0.2.15:80").hostAddress, "0.0.0.0");
  assert.throws(() => parseForward("udp:53=10.0.2.15:53"), /tcp:\[HOST:\]PORT=ADDR:PORT/);
  assert.throws(() => parseForward("tcp:70000=10.0.2.15:80"), /tcp:/);
});
