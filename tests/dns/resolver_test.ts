/**
 * The stub resolver on virtual time against a scripted DNS server built from
 * the peer stack's own UDP and TCP (A = 192.0.2.1 the client, B = 192.0.2.2
 * the server).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { type Pair, pair, settle } from "../_util/sim.ts";
import { ipv4Frame } from "../_util/frames.ts";
import type { ResolverOptions } from "../../src/dns/resolver.ts";
import { DnsError, NotFound } from "../../src/dns/errors.ts";
import { TimedOut } from "../../src/socket/errors.ts";
import {
  type DnsMessage,
  DnsRcode,
  type DnsRecord,
  DnsType,
  emitDnsMessage,
  emitDnsQuery,
  parseDnsMessage,
} from "../../src/dns/wire.ts";
import { emitUdp } from "../../src/wire/udp.ts";
import { a, answer, cname, type Handler, ScriptedDnsServer, soa } from "./_server.ts";
import { malformedResponses } from "./_fuzz.ts";

const SERVER = "192.0.2.2";

interface Env {
  p: Pair;
  server: ScriptedDnsServer;
  close(): Promise<void>;
}

function setup(handler: Handler, dns: ResolverOptions = {}, seed = 1): Env {
  const p = pair({ seed, a: { dns: { nameServers: [SERVER], ...dns } } });
  const server = new ScriptedDnsServer(p.b, handler);
  return {
    p,
    server,
    async close() {
      await server.close();
      await p.close();
    },
  };
}

/** Answers A queries for files.test (and anything under zone "test" is NXDOMAIN). */
const zone: Handler = (q) => {
  const name = q.questions[0]!.name.toLowerCase();
  const type = q.questions[0]!.type;
  if (name === "files.test" && type === DnsType.A) {
    return { message: answer(q, [a(name, "192.0.2.1", 60)]) };
  }
  if (name === "files.test") {
    return { message: answer(q, [], { authorities: [soa("test", 300, 30)] }) };
  }
  return {
    message: answer(q, [], { rcode: DnsRcode.NXDOMAIN, authorities: [soa("test", 300, 60)] }),
  };
};

test("resolver: A query over UDP with EDNS(0), random source port and ID; result as Deno.resolveDns", async () => {
  const env = setup(zone);
  const { p, server } = env;
  assert.equal(
    await settle(p.clock, p.a.resolveDns("files.test", "A", { nameServer: { ipAddr: SERVER } })),
    [
      "192.0.2.1",
    ],
  );
  p.a.dns.cache?.clear();
  await settle(p.clock, p.a.resolveDns("files.test", "A"));
  assert.is(server.count("udp"), 2);
  const [q1, q2] = server.queries;
  assert.ok(q1!.edns && q2!.edns, "EDNS OPT sent (RFC 6891)");
  assert.is.not(q1!.id, q2!.id, "fresh ID per query (RFC 5452 §9.2)");
  assert.is.not(q1!.from.port, q2!.from.port, "fresh source port per query (RFC 5452 §9.2)");
  for (const q of [q1!, q2!]) assert.ok(q.from.port >= 32768 && q.from.port <= 60999);
  assert.is(p.a.dns.stats.answers, 2);
  await env.close();
});

test("resolver: a truncated UDP answer (TC) is asked again over TCP (RFC 7766 §5)", async () => {
  const many = Array.from({ length: 40 }, (_, i) => a("big.test", `198.51.100.${i + 1}`));
  const env = setup((q, ctx) => {
    if (ctx.transport === "udp") {
      return { message: answer(q, many.slice(0, 2), { truncated: true }) };
    }
    return { message: answer(q, many) };
  });
  const got = await settle(env.p.clock, env.p.a.resolveDns("big.test", "A"));
  assert.is(got.length, 40);
  assert.is(env.server.count("udp"), 1);
  assert.is(env.server.count("tcp"), 1);
  assert.is(env.p.a.dns.stats.truncated, 1);
  await env.close();
});

test("resolver: a lost answer is retried after the timeout; a late answer to the old query is ignored", async () => {
  const env = setup((q, ctx) => {
    // First query: the answer comes 3 s late (after the retry); second: at once.
    if (ctx.count === 1) {
      return { message: answer(q, [a("files.test", "198.51.100.66")]), delayMs: 3000 };
    }
    return { message: answer(q, [a("files.test", "192.0.2.1")]) };
  }, { timeout: 1000, attempts: 3 });
  const t0 = env.p.clock.now();
  const got = await settle(env.p.clock, env.p.a.resolveDns("files.test", "A"));
  assert.equal(got, ["192.0.2.1"]);
  assert.is(env.p.clock.now() - t0, 1000, "one timeout, then the retry's answer");
  assert.is(env.p.a.dns.stats.timeouts, 1);
  // The late answer arrives at a closed port and changes nothing.
  await settle(env.p.clock, new Promise((r) => env.p.clock.setTimer(5000, () => r(null))));
  assert.equal(await settle(env.p.clock, env.p.a.resolveDns("files.test", "A")), ["192.0.2.1"]);
  await env.close();
});

test("resolver: no answer from any server → TimedOut after attempts × servers × timeout", async () => {
  const env = setup(() => null, {
    nameServers: [SERVER, "192.0.2.2:5300"],
    timeout: 500,
    attempts: 2,
  });
  const t0 = env.p.clock.now();
  const err = await settle(env.p.clock, env.p.a.resolveDns("files.test", "A").catch((e) => e));
  assert.instance(err, TimedOut);
  assert.match(err.message, /no answer from 192\.0\.2\.2:53, 192\.0\.2\.2:5300/);
  // Port 5300 has no socket: ICMP port unreachable is not an answer for an
  // unconnected socket, so each try waits its full timeout.
  assert.is(env.p.clock.now() - t0, 2000);
  assert.is(env.server.count(), 2, "the server on :53 saw both rounds");
  await env.close();
});

test("resolver: SERVFAIL from the first server moves on to the next; FORMERR to EDNS is retried plainly", async () => {
  const p = pair({ seed: 3, a: { dns: { nameServers: ["192.0.2.2:5301", SERVER] } } });
  const failing = new ScriptedDnsServer(
    p.b,
    (q) => ({ message: answer(q, [], { rcode: DnsRcode.SERVFAIL }) }),
    {
      port: 5301,
      tcp: false,
    },
  );
  const old = new ScriptedDnsServer(
    p.b,
    (q) =>
      q.edns !== null
        ? { message: answer(q, [], { rcode: DnsRcode.FORMERR }) }
        : { message: answer(q, [a("files.test", "192.0.2.1")]) },
  );
  assert.equal(await settle(p.clock, p.a.resolveDns("files.test", "A")), ["192.0.2.1"]);
  assert.is(failing.count(), 1);
  assert.equal(old.queries.map((q) => q.edns), [true, false]);
  assert.is(p.a.dns.stats.ednsFallbacks, 1);
  // Every server failing is a DnsError with the RCODE.
  old.handler = (q) => ({ message: answer(q, [], { rcode: DnsRcode.REFUSED }) });
  const err = await settle(p.clock, p.a.resolveDns("other.test", "A").catch((e) => e));
  assert.instance(err, DnsError);
  assert.is(err.rcode, DnsRcode.REFUSED);
  await failing.close();
  await old.close();
  await p.close();
});

/** Send a raw UDP datagram from `src` to A through B's end of the pipe (a spoofed source). */
function inject(p: Pair, src: string, srcPort: number, dstPort: number, payload: Uint8Array) {
  const udp = new Uint8Array(8 + payload.length);
  udp.set(payload, 8);
  const [x, y, z, w] = src.split(".").map(Number);
  const srcIp = ((x! << 24) | (y! << 16) | (z! << 8) | w!) >>> 0;
  emitUdp({ srcPort, dstPort, payloadLength: payload.length }, udp, 0, {
    src: srcIp,
    dst: 0xc0000201,
  });
  const frame = ipv4Frame({
    src: srcIp,
    dst: 0xc0000201,
    protocol: 17,
    payload: udp,
    ethDst: p.devA.mac,
    ethSrc: p.devB.mac,
  });
  const skb = p.b.allocator.alloc(frame.length)!;
  skb.append(frame);
  p.devB.transmit(skb);
}

test("resolver: forged answers (wrong ID, wrong source port, wrong source address, wrong question) are ignored and counted (RFC 5452 §9.1)", async () => {
  const env: Env = setup((q) => {
    const evil = [a("files.test", "198.51.100.66")];
    const port = env.server.queries.at(-1)!.from.port;
    // Wrong source address: the same answer, but from 192.0.2.99:53.
    inject(env.p, "192.0.2.99", 53, port, emitDnsMessage(answer(q, evil)));
    return [
      { message: answer(q, evil, { id: (q.id + 1) & 0xffff }) },
      { message: answer(q, evil), fromPort: 5353 },
      { message: answer(q, evil, { questions: [{ name: "evil.test", type: 1, class: 1 }] }) },
      { message: answer(q, evil, { questions: [{ name: "files.test", type: 28, class: 1 }] }) },
      { message: answer(q, [a("files.test", "192.0.2.1")]), delayMs: 10 },
    ];
  });
  const got = await settle(env.p.clock, env.p.a.resolveDns("files.test", "A"));
  assert.equal(got, ["192.0.2.1"]);
  const drops = env.p.a.stats.drops.snapshot();
  assert.is(drops["dns.wrong_id"], 1);
  assert.is(drops["dns.wrong_source"], 2);
  assert.is(drops["dns.wrong_question"], 2);
  assert.is(env.p.a.dns.stats.rejected, 5);
  // A forgery alone never ends the wait: it times out instead of being believed.
  env.server.handler = (q) => ({
    message: answer(q, [a("x.test", "198.51.100.66")], { id: q.id ^ 1 }),
  });
  const err = await settle(env.p.clock, env.p.a.resolveDns("x.test", "A").catch((e) => e));
  assert.instance(err, TimedOut);
  await env.close();
});

test("resolver: CNAME chains are followed within an answer and across queries (RFC 1034 §5.3.3)", async () => {
  const env = setup((q) => {
    const n = q.questions[0]!.name;
    if (n === "www.test") {
      // Chain in one answer, plus an off-chain record that must not be believed.
      return {
        message: answer(q, [
          cname("www.test", "web.test"),
          cname("web.test", "files.test"),
          a("files.test", "192.0.2.1"),
          a("bank.test", "198.51.100.66"),
        ]),
      };
    }
    if (n === "alias.test") return { message: answer(q, [cname("alias.test", "files.test")]) };
    if (n === "files.test") return { message: answer(q, [a("files.test", "192.0.2.1")]) };
    return null;
  });
  const { p } = env;
  assert.equal(await settle(p.clock, p.a.resolveDns("www.test", "A")), ["192.0.2.1"]);
  assert.equal(await settle(p.clock, p.a.resolveDns("alias.test", "A")), ["192.0.2.1"]);
  assert.equal(await settle(p.clock, p.a.resolveDns("alias.test", "CNAME")), ["files.test."]);
  // files.test was cached from the first answer, so the second chain needed no
  // query for it, and the CNAME itself was cached by the A lookup.
  assert.equal(env.server.queries.map((q) => q.name), ["www.test", "alias.test"]);
  assert.is(p.a.dns.cache!.get("bank.test", 1), undefined, "off-chain record not cached");
  await env.close();
});

test("resolver: CNAME loops and over-long chains end in DnsError, bounded in queries", async () => {
  const env = setup((q) => {
    const n = q.questions[0]!.name;
    if (n === "loop1.test") return { message: answer(q, [cname("loop1.test", "loop2.test")]) };
    if (n === "loop2.test") return { message: answer(q, [cname("loop2.test", "loop1.test")]) };
    const m = /^c(\d+)\.test$/.exec(n);
    if (m) return { message: answer(q, [cname(n, `c${Number(m[1]) + 1}.test`)]) };
    if (n === "inline.test") {
      return {
        message: answer(q, [cname("inline.test", "x.test"), cname("x.test", "inline.test")]),
      };
    }
    return null;
  }, { cache: false });
  const { p } = env;
  for (const name of ["loop1.test", "inline.test"]) {
    const e = await settle(p.clock, p.a.resolveDns(name, "A").catch((e) => e));
    assert.instance(e, DnsError);
    assert.match(e.message, /CNAME loop/);
  }
  const before = env.server.count();
  const long = await settle(p.clock, p.a.resolveDns("c0.test", "A").catch((e) => e));
  assert.instance(long, DnsError);
  assert.match(long.message, /longer than 8/);
  assert.is(env.server.count() - before, 8, "one query per name, 8 names at most");
  await env.close();
});

test("resolver: answers are cached for the RRset's smallest TTL (RFC 2181 §5.2)", async () => {
  const env = setup((q) => ({
    message: answer(q, [a("files.test", "192.0.2.1", 120), a("files.test", "192.0.2.3", 30)]),
  }));
  const { p } = env;
  assert.equal(await settle(p.clock, p.a.resolveDns("files.test", "A")), [
    "192.0.2.1",
    "192.0.2.3",
  ]);
  p.clock.advance(29_000);
  await settle(p.clock, p.a.resolveDns("files.test", "A"));
  assert.is(env.server.count(), 1, "served from the cache within the TTL");
  p.clock.advance(1_000);
  await settle(p.clock, p.a.resolveDns("files.test", "A"));
  assert.is(env.server.count(), 2, "asked again once the TTL ran out");
  assert.ok(p.a.dns.cache!.stats.hits >= 1 && p.a.dns.cache!.stats.expired >= 1);
  await env.close();
});

test("resolver: NXDOMAIN and NODATA are cached for min(SOA TTL, MINIMUM) (RFC 2308 §5); without SOA not at all", async () => {
  let withSoa = true;
  const env = setup((q) => {
    const n = q.questions[0]!.name;
    if (n === "files.test") {
      if (q.questions[0]!.type === DnsType.A) return { message: answer(q, [a(n, "192.0.2.1")]) };
      return { message: answer(q, [], { authorities: [soa("test", 300, 20)] }) }; // NODATA
    }
    return {
      message: answer(q, [], {
        rcode: DnsRcode.NXDOMAIN,
        authorities: withSoa ? [soa("test", 40, 60)] : [],
      }),
    };
  });
  const { p } = env;
  const nx = await settle(p.clock, p.a.resolveDns("nx.test", "A").catch((e) => e));
  assert.instance(nx, NotFound);
  assert.is(nx.reason, "nxdomain");
  // NXDOMAIN covers every type of the name, for 40 s (the SOA's TTL < MINIMUM).
  p.clock.advance(39_000);
  assert.instance(
    await settle(p.clock, p.a.resolveDns("nx.test", "AAAA").catch((e) => e)),
    NotFound,
  );
  assert.is(env.server.count(), 1);
  p.clock.advance(1_000);
  await settle(p.clock, p.a.resolveDns("nx.test", "A").catch((e) => e));
  assert.is(env.server.count(), 2);
  // NODATA: only that type, for MINIMUM 20 s.
  const nodata = await settle(p.clock, p.a.resolveDns("files.test", "AAAA").catch((e) => e));
  assert.instance(nodata, NotFound);
  assert.is(nodata.reason, "nodata");
  assert.equal(await settle(p.clock, p.a.resolveDns("files.test", "A")), ["192.0.2.1"]);
  await settle(p.clock, p.a.resolveDns("files.test", "AAAA").catch((e) => e));
  assert.is(env.server.count(), 4, "AAAA NODATA cached, A asked separately");
  // No SOA: not cached.
  withSoa = false;
  await settle(p.clock, p.a.resolveDns("nosoa.test", "A").catch((e) => e));
  await settle(p.clock, p.a.resolveDns("nosoa.test", "A").catch((e) => e));
  assert.is(env.server.count(), 6);
  await env.close();
});

test("resolver: the cache is bounded; the least recently used entry goes first", async () => {
  const env = setup((q) => ({ message: answer(q, [a(q.questions[0]!.name, "192.0.2.1")]) }), {
    cache: { maxEntries: 3 },
  });
  const { p } = env;
  for (const n of ["h1.test", "h2.test", "h3.test"]) await settle(p.clock, p.a.resolveDns(n, "A"));
  await settle(p.clock, p.a.resolveDns("h1.test", "A")); // h1 now most recent
  await settle(p.clock, p.a.resolveDns("h4.test", "A")); // evicts h2
  assert.is(p.a.dns.cache!.size, 3);
  assert.is(p.a.dns.cache!.stats.evictions, 1);
  const before = env.server.count();
  await settle(p.clock, p.a.resolveDns("h1.test", "A"));
  assert.is(env.server.count(), before);
  await settle(p.clock, p.a.resolveDns("h2.test", "A"));
  assert.is(env.server.count(), before + 1);
  await env.close();
});

test("resolver: search domains and ndots order the candidates (resolv.conf(5))", async () => {
  const env = setup(zone, { search: ["corp.test", "test"], ndots: 1 });
  const { p } = env;
  // No dot: search list first; "files.corp.test" is NXDOMAIN, "files.test" answers.
  assert.equal(await settle(p.clock, p.a.resolveDns("files", "A")), ["192.0.2.1"]);
  assert.equal(env.server.queries.map((q) => q.name), ["files.corp.test", "files.test"]);
  // One dot (≥ ndots): as given first.
  env.server.queries.length = 0;
  assert.equal(await settle(p.clock, p.a.resolveDns("files.test", "A")), ["192.0.2.1"]);
  assert.equal(env.server.queries.map((q) => q.name), []); // cached from the first lookup
  p.a.dns.cache!.clear();
  await settle(p.clock, p.a.resolveDns("files.test", "A"));
  assert.equal(env.server.queries.map((q) => q.name), ["files.test"]);
  // A trailing dot: absolute, no search.
  env.server.queries.length = 0;
  const e = await settle(p.clock, p.a.resolveDns("nope.", "A").catch((e) => e));
  assert.instance(e, NotFound);
  assert.equal(env.server.queries.map((q) => q.name), ["nope"]);
  await env.close();
});

test("resolver: the hosts map answers without a query; localhost is built in", async () => {
  const env = setup(zone, { hosts: { "printer.lan": ["192.0.2.9", "2001:db8::9"] } });
  const { p } = env;
  assert.equal(await p.a.resolveDns("printer.lan", "A"), ["192.0.2.9"]);
  assert.equal(await p.a.resolveDns("Printer.LAN.", "AAAA"), ["2001:db8::9"]);
  assert.equal(await p.a.resolveDns("localhost", "A"), ["127.0.0.1"]);
  assert.is(env.server.count(), 0);
  await env.close();
});

test("resolver: AAAA, TXT, SRV, MX, PTR, NS and SOA results are shaped like Deno.resolveDns", async () => {
  const rec = (name: string, type: number, data: DnsRecord["data"]): DnsRecord => ({
    name,
    type,
    class: 1,
    ttl: 60,
    data,
  });
  const env = setup((q) => {
    const { name, type } = q.questions[0]!;
    const all: DnsRecord[] = [
      rec("files.test", DnsType.AAAA, { kind: "aaaa", address: "2001:db8::1" }),
      rec("files.test", DnsType.TXT, { kind: "txt", strings: ["hello world", "second"] }),
      rec("_http._tcp.files.test", DnsType.SRV, {
        kind: "srv",
        priority: 1,
        weight: 2,
        port: 8000,
        target: "files.test",
      }),
      rec("files.test", DnsType.MX, { kind: "mx", preference: 10, exchange: "mail.test" }),
      rec("1.2.0.192.in-addr.arpa", DnsType.PTR, { kind: "name", name: "files.test" }),
      rec("test", DnsType.NS, { kind: "name", name: "ns.test" }),
      soa("test", 60, 30),
    ];
    return { message: answer(q, all.filter((r) => r.type === type && r.name === name)) };
  });
  const { p } = env;
  const r = (n: string, t: Parameters<typeof p.a.resolveDns>[1]) =>
    settle(p.clock, p.a.resolveDns(n, t));
  assert.equal(await r("files.test", "AAAA"), ["2001:db8::1"]);
  assert.equal(await r("files.test", "TXT"), [["hello world", "second"]]);
  assert.equal(await r("_http._tcp.files.test", "SRV"), [{
    priority: 1,
    weight: 2,
    port: 8000,
    target: "files.test.",
  }]);
  assert.equal(await r("files.test", "MX"), [{ preference: 10, exchange: "mail.test." }]);
  assert.equal(await r("1.2.0.192.in-addr.arpa", "PTR"), ["files.test."]);
  assert.equal(await r("test", "NS"), ["ns.test."]);
  assert.equal(await r("test", "SOA"), [{
    mname: "ns.test.",
    rname: "hostmaster.test.",
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 30,
  }]);
  await env.close();
});

test("resolver: bad input is a TypeError; no server configured is a DnsError; abort is Interrupted", async () => {
  const p = pair({ seed: 9 });
  let e = await p.a.resolveDns("a..b", "A").catch((e) => e);
  assert.instance(e, TypeError);
  e = await p.a.resolveDns("x.test", "CAA" as "A").catch((e) => e);
  assert.instance(e, TypeError);
  e = await p.a.resolveDns("x.test", "A").catch((e) => e);
  assert.instance(e, DnsError);
  assert.match(e.message, /no name server/);
  p.a.dns.configure({ nameServers: [SERVER] });
  const ac = new AbortController();
  const pending = p.a.resolveDns("x.test", "A", { signal: ac.signal }).catch((e) => e);
  p.clock.advance(100);
  ac.abort();
  e = await settle(p.clock, pending);
  assert.is(e.name, "Interrupted");
  await p.close();
});

test("connect({ hostname }) resolves through the stack's resolver (A) and connects", async () => {
  const env = setup(zone);
  const { p } = env;
  const listener = p.b.listen({ port: 8080 });
  const accepted = listener.accept();
  // files.test → 192.0.2.1 is A itself in `zone`; use a name for B instead.
  p.a.dns.setHost("peer.test", ["192.0.2.2"]);
  const conn = await settle(p.clock, p.a.connect({ hostname: "peer.test", port: 8080 }));
  assert.is(conn.remoteAddr.hostname, "192.0.2.2");
  (await settle(p.clock, accepted)).close();
  conn.close();
  // By DNS: B answers for server.test.
  env.server.handler = (q) => ({ message: answer(q, [a("server.test", "192.0.2.2")]) });
  const accepted2 = listener.accept();
  const c2 = await settle(p.clock, p.a.connect({ hostname: "server.test", port: 8080 }));
  assert.is(c2.remoteAddr.hostname, "192.0.2.2");
  (await settle(p.clock, accepted2)).close();
  c2.close();
  const nx = await settle(
    p.clock,
    p.a.connect({ hostname: "nx.test", port: 8080 }).catch((e) => e),
  );
  assert.instance(nx, NotFound);
  listener.close();
  await env.close();
});

test("connect({ hostname }): Happy Eyeballs (RFC 8305 §5) tries the next address 250 ms after a silent one", async () => {
  const env = setup((q) => ({
    // 192.0.2.77 does not exist (ARP never answers); 192.0.2.2 is B.
    message: answer(q, [a("multi.test", "192.0.2.77"), a("multi.test", "192.0.2.2")]),
  }));
  const { p } = env;
  const listener = p.b.listen({ port: 8081 });
  const accepted = listener.accept();
  const t0 = p.clock.now();
  const conn = await settle(p.clock, p.a.connect({ hostname: "multi.test", port: 8081 }));
  assert.is(conn.remoteAddr.hostname, "192.0.2.2");
  const took = p.clock.now() - t0;
  assert.ok(took >= 250 && took < 400, `connected after ${took} ms`);
  (await settle(p.clock, accepted)).close();
  conn.close();
  listener.close();
  await env.close();
});

test("resolver fuzz: 100 000 seeded malformed answers through the live stack never escape as exceptions", async () => {
  const seed = testSeed();
  const LOOKUPS = 500;
  const PER = 200;
  const base = [
    emitDnsMessage({
      ...answer(
        parseDnsMessage(emitDnsQuery({ id: 1, name: "files.test", type: 1 })) as DnsMessage,
        [cname("files.test", "web.test"), a("web.test", "192.0.2.1")],
        { authorities: [soa("test", 60, 60)] },
      ),
      edns: { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false },
    }),
  ];
  const junk = malformedResponses(seed, LOOKUPS * PER, base);
  let injected = 0;
  const env = setup(
    (q) => {
      const replies = [];
      for (let i = 0; i < PER; i++) {
        const m = junk.next().value as Uint8Array;
        // Never our ID: a mutation must not turn into a believable answer.
        if (m.length >= 2) {
          m[0] = (q.id >> 8) ^ 0x80;
          m[1] = q.id & 0xff;
        }
        replies.push({ bytes: m, delayMs: Math.floor(i / 20) });
        injected++;
      }
      replies.push({
        message: answer(q, [a(q.questions[0]!.name, "192.0.2.1")]),
        delayMs: PER / 20 + 1,
      });
      return replies;
    },
    { cache: false, timeout: 5000 },
    seed,
  );
  const { p } = env;
  for (let i = 0; i < LOOKUPS; i++) {
    const got = await settle(p.clock, p.a.resolveDns(`h${i}.test`, "A"));
    assert.equal(got, ["192.0.2.1"]);
  }
  const drops = p.a.stats.drops.snapshot();
  const dnsDrops = Object.entries(drops).filter(([k]) => k.startsWith("dns.")).reduce(
    (n, [, v]) => n + v,
    0,
  );
  const lost = drops["udp.rcvbuf_full"] ?? 0;
  assert.is(injected, LOOKUPS * PER);
  assert.is(dnsDrops + lost, injected, JSON.stringify(drops));
  assert.is(p.a.dns.stats.timeouts, 0);
  console.log(
    `resolver fuzz seed ${seed}: ${injected} malformed answers, drops ${JSON.stringify(drops)}`,
  );
  await env.close();
});
