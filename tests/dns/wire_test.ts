import * as assert from "uvu/assert";
import fc from "fast-check";
import { test, testSeed } from "../_util/test.ts";
import {
  canonicalName,
  MAX_POINTERS,
  nameToLabels,
  NameWriter,
  readName,
} from "../../src/dns/name.ts";
import {
  DNS_DROP_REASONS,
  type DnsMessage,
  type DnsRecord,
  DnsType,
  emitDnsMessage,
  emitDnsQuery,
  formatIpv6Bytes,
  parseDnsMessage,
  tryParseIpv6Bytes,
} from "../../src/dns/wire.ts";
import { a, answer, cname, soa } from "./_server.ts";
import { malformedResponses } from "./_fuzz.ts";

const rich: DnsRecord[] = [
  cname("www.files.test", "files.test"),
  a("files.test", "192.0.2.1", 60),
  {
    name: "files.test",
    type: DnsType.AAAA,
    class: 1,
    ttl: 60,
    data: { kind: "aaaa", address: "2001:db8::1" },
  },
  {
    name: "files.test",
    type: DnsType.TXT,
    class: 1,
    ttl: 60,
    data: { kind: "txt", strings: ["hello world", "", "x"] },
  },
  {
    name: "_http._tcp.files.test",
    type: DnsType.SRV,
    class: 1,
    ttl: 60,
    data: { kind: "srv", priority: 1, weight: 2, port: 8000, target: "files.test" },
  },
  {
    name: "files.test",
    type: DnsType.MX,
    class: 1,
    ttl: 60,
    data: { kind: "mx", preference: 10, exchange: "mail.files.test" },
  },
  {
    name: "1.2.0.192.in-addr.arpa",
    type: DnsType.PTR,
    class: 1,
    ttl: 60,
    data: { kind: "name", name: "files.test" },
  },
  {
    name: "files.test",
    type: 99,
    class: 1,
    ttl: 60,
    data: { kind: "raw", bytes: new Uint8Array([1, 2, 3]) },
  },
];

function richMessage(): DnsMessage {
  const q = parseDnsMessage(emitDnsQuery({ id: 0xbeef, name: "www.files.test", type: 1 }));
  if (typeof q === "string") throw new Error(q);
  return {
    ...answer(q, rich, { authorities: [soa("files.test", 300, 60)] }),
    edns: { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: true },
  };
}

test("DNS wire: a message with every supported type round-trips through emit and parse (RFC 1035 §4)", () => {
  const msg = richMessage();
  const bytes = emitDnsMessage(msg);
  const back = parseDnsMessage(bytes);
  assert.type(back, "object");
  assert.equal(back, msg);
});

test("DNS wire: compression (RFC 1035 §4.1.4) makes repeated names pointers and reads back the same", () => {
  const msg = richMessage();
  const compressed = emitDnsMessage(msg);
  const plain = emitDnsMessage(msg, { compress: false });
  assert.ok(compressed.length < plain.length - 40, `${compressed.length} vs ${plain.length}`);
  assert.equal(parseDnsMessage(compressed), parseDnsMessage(plain));
});

test("DNS wire: query with EDNS(0) OPT (RFC 6891 §6.1.2) carries the UDP size and RD", () => {
  const q = parseDnsMessage(
    emitDnsQuery({ id: 7, name: "Files.Test.", type: 28, ednsUdpSize: 1232 }),
  );
  if (typeof q === "string") throw new Error(q);
  assert.is(q.id, 7);
  assert.ok(q.recursionDesired);
  assert.not.ok(q.response);
  assert.equal(q.questions, [{ name: "Files.Test", type: 28, class: 1 }]);
  assert.equal(q.edns, { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false });
  assert.is(q.additionals.length, 0);
});

test("DNS wire: a pointer to itself or forward is a counted drop, not a loop (RFC 1035 §4.1.4)", () => {
  // Header with one question whose name is a pointer to offset 12 (itself).
  const self = new Uint8Array([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  assert.is(parseDnsMessage(self), "dns.pointer_loop");
  // Two pointers to each other: "a" then pointer to 17, at 17 pointer to 12.
  const mutual = new Uint8Array([
    0,
    1,
    0x81,
    0x80,
    0,
    2,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    97,
    0xc0,
    17,
    0, // 12: "a" -> 17
    0xc0,
    12,
    0,
    1,
    0,
    1, // 17: -> 12 (backwards, but 12 then points forward again)
  ]);
  assert.is(parseDnsMessage(mutual), "dns.pointer_loop");
  // A forward pointer.
  const fwd = new Uint8Array([
    0,
    1,
    0x81,
    0x80,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0xc0,
    20,
    0,
    1,
    0,
    1,
    0,
    0,
    1,
    97,
    0,
  ]);
  assert.is(parseDnsMessage(fwd), "dns.pointer_loop");
});

test("DNS wire: names over 255 bytes, reserved label types and overruns are drops", () => {
  // 5 labels of 63 = 320 bytes.
  const long: number[] = [];
  for (let i = 0; i < 5; i++) long.push(63, ...new Array(63).fill(97));
  long.push(0);
  assert.is(readName(Uint8Array.from(long), 0, long.length), "dns.name_too_long");
  assert.is(readName(new Uint8Array([0x41, 0]), 0, 2), "dns.bad_label_type");
  assert.is(readName(new Uint8Array([0x81, 0]), 0, 2), "dns.bad_label_type");
  assert.is(readName(new Uint8Array([3, 97, 98]), 0, 3), "dns.name_overrun");
  assert.is(readName(new Uint8Array([0xc0]), 0, 1), "dns.name_overrun");
  assert.is(parseDnsMessage(new Uint8Array(11)), "dns.truncated_header");
  // A records count that promises more than is there.
  const q = emitDnsQuery({ id: 1, name: "a.test", type: 1 });
  q[7] = 1; // ANCOUNT 1, but the message ends after the question
  assert.is(parseDnsMessage(q), "dns.name_overrun");
  const header = new Uint8Array(q.length + 3);
  header.set(q);
  assert.is(parseDnsMessage(header), "dns.truncated_record"); // a root name, then 2 of 10 bytes
  q[6] = 2; // ANCOUNT 513
  assert.is(parseDnsMessage(q), "dns.too_many_records");
});

test("DNS wire: a chain of backward pointers longer than the limit is refused", () => {
  // Names at 12, 14, 16, … each a pointer to the previous: ever further back, no loop.
  const n = MAX_POINTERS + 2;
  const u8 = new Uint8Array(12 + 1 + 2 * n);
  u8[12] = 0; // root at 12
  for (let i = 0; i < n; i++) {
    const at = 13 + 2 * i;
    const target = i === 0 ? 12 : at - 2;
    u8[at] = 0xc0 | (target >> 8);
    u8[at + 1] = target & 0xff;
  }
  assert.is(readName(u8, 13 + 2 * (MAX_POINTERS - 1), u8.length)!.constructor, Object);
  assert.is(readName(u8, 13 + 2 * (n - 1), u8.length), "dns.too_many_pointers");
});

test("DNS wire: RDATA that does not fit its type is a drop (A of 5 bytes, PTR past RDLENGTH)", () => {
  const msg = richMessage();
  const bytes = emitDnsMessage({
    ...msg,
    answers: [a("x.test", "192.0.2.1")],
    authorities: [],
    edns: null,
  });
  // The A record's RDLENGTH is the 2 bytes before the last 4.
  const bad = bytes.slice();
  bad[bad.length - 5] = 5;
  assert.is(parseDnsMessage(bad), "dns.truncated_record");
  const shorter = new Uint8Array(bytes.length + 1);
  shorter.set(bytes);
  shorter[bytes.length - 5] = 5;
  assert.is(parseDnsMessage(shorter), "dns.bad_rdata");
});

test("DNS wire: OPT only once, only in the additional section (RFC 6891 §6.1.1)", () => {
  const q = emitDnsQuery({ id: 1, name: "a.test", type: 1, ednsUdpSize: 1232 });
  // Move the OPT from additional to answer: ANCOUNT 1, ARCOUNT 0.
  const moved = q.slice();
  moved[7] = 1;
  moved[11] = 0;
  assert.is(parseDnsMessage(moved), "dns.bad_opt");
  const twice = new Uint8Array(q.length + 11);
  twice.set(q);
  twice.set(q.subarray(q.length - 11), q.length);
  twice[11] = 2;
  assert.is(parseDnsMessage(twice), "dns.bad_opt");
});

test("DNS wire: a TTL with the top bit set reads as 0 (RFC 2181 §8)", () => {
  const bytes = emitDnsMessage({
    ...richMessage(),
    answers: [a("x.test", "192.0.2.1", 0x80000000)],
  });
  const m = parseDnsMessage(bytes);
  if (typeof m === "string") throw new Error(m);
  assert.is(m.answers[0]!.ttl, 0);
});

test("DNS wire: maxSize leaves out records that do not fit and sets TC (RFC 2181 §9)", () => {
  const msg = richMessage();
  const bytes = emitDnsMessage(msg, { maxSize: 120 });
  assert.ok(bytes.length <= 120);
  const m = parseDnsMessage(bytes);
  if (typeof m === "string") throw new Error(m);
  assert.ok(m.truncated);
  assert.ok(m.answers.length < msg.answers.length);
  assert.ok(m.edns !== null, "OPT is kept");
});

test("DNS names: presentation escapes round-trip; bad names are TypeErrors", () => {
  const u8 = new Uint8Array(64);
  const w = new NameWriter(false);
  const end = w.write(u8, 0, "a\\.b.c\\\\d.\\000\\255");
  const r = readName(u8, 0, end);
  assert.equal(r, { name: "a\\.b.c\\\\d.\\000\\255", end });
  assert.is(canonicalName("A.B.c."), "a.b.c");
  assert.throws(() => nameToLabels("a..b"), /empty label/);
  assert.throws(() => nameToLabels(`${"x".repeat(64)}.test`), /over 63/);
  assert.throws(() => nameToLabels(`${"abcdefg.".repeat(40)}test`), /over 255/);
  assert.throws(() => nameToLabels("bücher.test"), /IDNA/);
});

test("DNS wire: IPv6 text (RFC 5952) formats and parses", () => {
  const cases = [
    "2001:db8::1",
    "::",
    "::1",
    "2001:db8:0:1:1:1:1:1",
    "fe80::1:0:0:1",
    "::ffff:192.0.2.1",
  ];
  for (const c of cases) {
    const b = tryParseIpv6Bytes(c);
    assert.ok(b !== null, c);
    const back = formatIpv6Bytes(b!);
    assert.equal(tryParseIpv6Bytes(back), b, `${c} → ${back}`);
  }
  assert.is(
    formatIpv6Bytes(tryParseIpv6Bytes("2001:0db8:0000:0000:0000:0000:0000:0001")!),
    "2001:db8::1",
  );
  assert.is(formatIpv6Bytes(tryParseIpv6Bytes("2001:db8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
  for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7", "g::1", "1:2:3:4:5:6:7:8:9"]) {
    assert.is(tryParseIpv6Bytes(bad), null, bad);
  }
});

test("DNS wire: random valid messages round-trip (property)", () => {
  const label = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
  const rec = fc.oneof(
    fc.tuple(name, fc.ipV4()).map(([n, ip]) => a(n, ip)),
    fc.tuple(name, name).map(([n, t]) => cname(n, t)),
    fc.tuple(name, fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 3 })).map((
      [n, s],
    ): DnsRecord => ({ name: n, type: 16, class: 1, ttl: 5, data: { kind: "txt", strings: s } })),
  );
  fc.assert(
    fc.property(fc.array(rec, { maxLength: 12 }), fc.boolean(), (answers, compress) => {
      const msg = { ...richMessage(), answers, authorities: [], edns: null };
      const back = parseDnsMessage(emitDnsMessage(msg, { compress }));
      assert.equal(back, msg);
    }),
    { seed: testSeed(), numRuns: 300 },
  );
});

test("DNS wire fuzz: 200 000 seeded malformed messages never throw and every drop has a listed reason", () => {
  const seed = testSeed();
  const base = [
    emitDnsMessage(richMessage()),
    emitDnsMessage(richMessage(), { compress: false }),
    emitDnsQuery({ id: 1, name: "files.test", type: 1, ednsUdpSize: 1232 }),
  ];
  const reasons = new Map<string, number>();
  let parsed = 0;
  for (const m of malformedResponses(seed, 200_000, base)) {
    const r = parseDnsMessage(m);
    if (typeof r === "string") {
      assert.ok((DNS_DROP_REASONS as readonly string[]).includes(r), r);
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    } else {
      parsed++;
      // Whatever parsed can be written again.
      emitDnsMessage({ ...r, answers: r.answers.filter((x) => x.data.kind !== "txt") });
    }
  }
  // Loops and overruns were actually exercised.
  assert.ok((reasons.get("dns.pointer_loop") ?? 0) > 1000, JSON.stringify([...reasons]));
  assert.ok((reasons.get("dns.truncated_record") ?? 0) > 1000);
  console.log(
    `dns fuzz seed ${seed}: ${parsed} parsed, drops ${JSON.stringify(Object.fromEntries(reasons))}`,
  );
});
