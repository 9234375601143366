import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { TimedOut } from "../../src/socket/errors.ts";
import { checksumEngineCount } from "../../src/wasm/checksum.ts";
import { Stack } from "../../src/api/stack.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import { Arena } from "../../src/skb/arena.ts";

test("Stack: ping across a pipe resolves ARP first and gets identical data back (C5)", async () => {
  const p = pair({ seed: 3, impair: { delay: 5 } });
  const r = await settle(p.clock, p.a.ping("192.0.2.2", { seq: 7 }));
  assert.is(r.from, "192.0.2.2");
  assert.is(r.seq, 7);
  assert.is(r.bytes, 64);
  assert.ok(r.dataMatches);
  // B's gratuitous ARP (sent when its interface came up) reaches A at 5 ms while
  // A's entry is INCOMPLETE; the RFC 826 merge completes it, so the echo leaves
  // at 5 ms and its reply is back at 15 ms.
  assert.is(r.rtt, 15);
  assert.is(p.a.stats.arp.requestsSent, 2, "gratuitous ARP on up + one resolution");
  assert.is(p.b.stats.icmp.outByType[0], 1, "one echo reply");
  const r2 = await settle(p.clock, p.a.ping("192.0.2.2", { seq: 8 }));
  assert.is(r2.rtt, 10, "ARP entry cached");
  await p.close();
});

test("Stack: ping to our own and to loopback addresses goes through loopback", async () => {
  const p = pair({ seed: 4 });
  for (const host of ["127.0.0.1", "127.1.2.3", "192.0.2.1"]) {
    const r = await settle(p.clock, p.a.ping(host));
    assert.ok(r.dataMatches, host);
    assert.is(r.rtt, 0, host);
  }
  assert.is(p.devA.stats.txPackets, 1, "only the gratuitous ARP left through the pipe");
  await p.close();
});

test("Stack: I9/I8 large pings are fragmented, reassembled and echoed (8000 and 65000 bytes)", async () => {
  const p = pair({ seed: 5, impair: { delay: 1, reorder: 0.3, duplicate: 0.1 } });
  for (const size of [1472, 1473, 8000, 65000]) {
    const r = await settle(
      p.clock,
      p.a.ping("192.0.2.2", { size, seq: size & 0xffff, timeout: 5000 }),
    );
    assert.ok(r.dataMatches, `size ${size}`);
    assert.is(r.bytes, size + 8);
  }
  assert.ok(p.a.stats.ip.fragCreates > 40, `${p.a.stats.ip.fragCreates} fragments`);
  assert.ok(p.b.stats.ip.reasmOKs >= 3);
  await p.close();
});

test("Stack: ping with DF larger than the MTU fails with EMSGSIZE", async () => {
  const p = pair({ seed: 6 });
  await settle(p.clock, p.a.ping("192.0.2.2")); // resolve ARP first
  let err: unknown;
  try {
    await settle(p.clock, p.a.ping("192.0.2.2", { size: 2000, dontFragment: true }));
  } catch (e) {
    err = e;
  }
  assert.is((err as { code?: string }).code, "EMSGSIZE");
  await p.close();
});

test("Stack: ping to an unreachable network is ENETUNREACH; to a silent host it times out", async () => {
  const p = pair({ seed: 7 });
  let err: unknown;
  try {
    await settle(p.clock, p.a.ping("198.51.100.1"));
  } catch (e) {
    err = e;
  }
  assert.is((err as { code?: string }).code, "ENETUNREACH");
  try {
    await settle(p.clock, p.a.ping("192.0.2.77", { timeout: 500 }));
    assert.unreachable("no reply expected");
  } catch (e) {
    assert.instance(e, TimedOut);
  }
  await p.close();
});

test("Stack: a host that never answers ARP makes ping fail with EHOSTUNREACH after the last probe", async () => {
  const p = pair({ seed: 8 });
  const start = p.clock.now();
  let err: unknown;
  try {
    await settle(p.clock, p.a.ping("192.0.2.99", { timeout: 10_000 }));
  } catch (e) {
    err = e;
  }
  assert.is((err as { code?: string }).code, "EHOSTUNREACH");
  assert.match(String(err), /host unreachable/);
  assert.is(p.clock.now() - start, 3000, "three probes one second apart (L2)");
  assert.is(p.a.stats.arp.resolveFailed, 1);
  await p.close();
});

test("Stack: close() releases the arena's checksum-engine binding (no registry growth over many stacks)", async () => {
  const before = checksumEngineCount();
  for (let i = 0; i < 50; i++) {
    const s = new Stack({
      clock: new VirtualClock(),
      arena: new Arena({ classes: [{ size: 2048, max: 8 }] }),
    });
    await s.close();
  }
  assert.is(checksumEngineCount(), before);
  // Two stacks sharing one arena: the binding lives until the second closes.
  const clock = new VirtualClock();
  const arena = new Arena({ classes: [{ size: 2048, max: 8 }] });
  const s1 = new Stack({ clock, arena });
  const s2 = new Stack({ clock, arena });
  await s1.close();
  assert.is(checksumEngineCount(), before + 1);
  await s2.close();
  assert.is(checksumEngineCount(), before);
});
