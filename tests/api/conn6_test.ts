/**
 * The Deno-shaped API over IPv6 (issue 12 item 5): `stack.connect` and
 * `stack.listen` with `"::1"`, `"2001:db8::2"`, `"[2001:db8::2]"` and
 * `"fe80::…%iface"`, a dual-stack listener on `"::"`, `stack.fetch` with an
 * IPv6 literal URL, and Happy Eyeballs asking AAAA once the stack has IPv6.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { Stack } from "../../src/api/stack.ts";
import { serveHttp } from "../../src/cli/http.ts";
import { memorySource } from "../../src/cli/http_files.ts";
import { formatIpv6 } from "../../src/wire/addr6.ts";
import { requestHead } from "../../src/http/request.ts";
import { A6, B6, pair6 } from "../ipv6/_helpers.ts";
import { randomBytes, sha256 } from "../tcp/_helpers.ts";
import { bytes, text } from "../socket/_util.ts";

test('stack.connect("::1") and stack.listen({ hostname: "::1" }) on one stack; "[::1]" works too', async () => {
  const clock = new VirtualClock();
  const s = new Stack({ clock, random: new SeededRandom(7) });
  const l = s.listen({ hostname: "::1", port: 9 });
  assert.is(l.addr.hostname, "::1");
  for (const hostname of ["::1", "[::1]"]) {
    const accepted = l.accept();
    const c = await settle(clock, s.connect({ hostname, port: 9 }));
    const srv = await settle(clock, accepted);
    assert.is(c.remoteAddr.hostname, "::1");
    assert.is(c.localAddr.hostname, "::1");
    assert.is(srv.remoteAddr.port, c.localAddr.port);
    await c.write(bytes("loop6"));
    const buf = new Uint8Array(16);
    const n = await settle(clock, srv.read(buf));
    assert.is(text(buf.subarray(0, n!)), "loop6");
    c.close();
    srv.close();
  }
  l.close();
  await s.close();
});

test('stack.listen({ hostname: "::" }) accepts "2001:db8::2" and "192.0.2.2" clients; remoteAddr is IPv6 text, the IPv4 one v4-mapped', async () => {
  const p = pair6();
  const l = p.b.listen({ hostname: "::", port: 80 });
  assert.is(l.addr.hostname, "::");
  const got: string[] = [];
  for (const hostname of [B6, "[2001:db8::2]", "192.0.2.2"]) {
    const accepted = l.accept();
    const c = await settle(p.clock, p.a.connect({ hostname, port: 80 }));
    const srv = await settle(p.clock, accepted);
    got.push(srv.remoteAddr.hostname);
    assert.is(c.remoteAddr.hostname, hostname === "192.0.2.2" ? "192.0.2.2" : B6);
    c.close();
    srv.close();
  }
  assert.equal(got, [A6, A6, "::ffff:192.0.2.1"]);
  l.close();
  await p.close();
});

test('stack.connect("fe80::…%iface") reaches a link-local listener', async () => {
  const p = pair6();
  const l = p.b.listen({ hostname: "::", port: 22 });
  const accepted = l.accept();
  const c = await settle(
    p.clock,
    p.a.connect({ hostname: `${formatIpv6(p.llB)}%${p.ifA.name}`, port: 22 }),
  );
  const srv = await settle(p.clock, accepted);
  assert.is(srv.remoteAddr.hostname, formatIpv6(p.llA));
  c.close();
  srv.close();
  l.close();
  await p.close();
});

test("stack.fetch(http://[2001:db8::2]/…) downloads over IPv6; the Host header keeps the brackets", async () => {
  const p = pair6();
  const body = randomBytes(700_000, 11);
  const stop = new AbortController();
  const log: string[] = [];
  const server = serveHttp(p.b, {
    port: 80,
    hostname: "::",
    files: memorySource({ "/blob.bin": body }),
    signal: stop.signal,
    write: (line) => log.push(line),
  });
  server.catch(() => {});
  const res = await settle(p.clock, p.a.fetch("http://[2001:db8::2]/blob.bin"));
  assert.is(res.status, 200);
  const got = new Uint8Array(await settle(p.clock, res.arrayBuffer()));
  assert.is(await sha256(got), await sha256(body));
  assert.ok(
    log.some((l) => l.startsWith(`[${A6}]:`)),
    `server log names the IPv6 client: ${log.join("\n")}`,
  );
  const head = requestHead({
    url: new URL("http://[2001:db8::2]:8080/x"),
    method: "GET",
    headers: new Headers(),
    body: null,
    signal: null,
    redirect: "follow",
  }, { userAgent: "t", close: false });
  assert.match(head, /\r\nHost: \[2001:db8::2\]:8080\r\n/);
  // The body's ~480 segments reached the client over IPv6 (the client's
  // ACKs are far fewer: one per receive drain).
  assert.ok(p.a.stats.ip6.inDelivers > 100, "it came over IPv6");
  stop.abort();
  await settle(p.clock, server);
  p.a.http.close();
  await p.close();
});

test("Happy Eyeballs asks AAAA once the stack has a global IPv6 address: IPv6 first, IPv4 when IPv6 is refused", async () => {
  const hosts = { "both.test": [B6, "192.0.2.2"] };
  const p = pair6({ a: { dns: { hosts } } });
  // Only IPv6 listens: the name connects over IPv6.
  const l6 = p.b.listen({ hostname: B6, port: 81 });
  const a6 = l6.accept();
  const c6 = await settle(p.clock, p.a.connect({ hostname: "both.test", port: 81 }));
  assert.is(c6.remoteAddr.hostname, B6);
  (await settle(p.clock, a6)).close();
  c6.close();
  l6.close();
  // Only IPv4 listens: the IPv6 attempt is refused (RST) and IPv4 starts at once.
  const l4 = p.b.listen({ hostname: "192.0.2.2", port: 82 });
  const a4 = l4.accept();
  const t0 = p.clock.now();
  const c4 = await settle(p.clock, p.a.connect({ hostname: "both.test", port: 82 }));
  assert.is(c4.remoteAddr.hostname, "192.0.2.2");
  assert.ok(p.clock.now() - t0 < 250, "no Connection Attempt Delay after a refusal");
  (await settle(p.clock, a4)).close();
  c4.close();
  l4.close();
  await p.close();
});

test("Happy Eyeballs without IPv6 on the stack asks A only (AI_ADDRCONFIG)", async () => {
  const p = pair({ a: { dns: { hosts: { "both.test": [B6, "192.0.2.2"] } } } });
  const l = p.b.listen({ port: 83 });
  const accepted = l.accept();
  const c = await settle(p.clock, p.a.connect({ hostname: "both.test", port: 83 }));
  assert.is(c.remoteAddr.hostname, "192.0.2.2");
  assert.is(p.a.stats.ip6.outRequests, 0, "no IPv6 attempt");
  (await settle(p.clock, accepted)).close();
  c.close();
  l.close();
  await p.close();
});
