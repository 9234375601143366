import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { SeededRandom } from "../../src/core/random.ts";
import {
  decodeSearchList,
  DHCP_DROP_REASONS,
  DHCP_FIXED_LENGTH,
  DhcpOption,
  type DhcpRepr,
  emitDhcp,
  messageType,
  optAddresses,
  optText,
  parseDhcp,
} from "../../src/dhcp/wire.ts";

const base: DhcpRepr = {
  op: 2,
  xid: 0xdeadbeef,
  secs: 3,
  broadcast: true,
  ciaddr: 0,
  yiaddr: 0xc0000264,
  siaddr: 0xc0000201,
  giaddr: 0,
  chaddr: 0x02_00_00_00_00_01,
  options: new Map([
    [DhcpOption.MESSAGE_TYPE, Uint8Array.of(2)],
    [DhcpOption.DNS_SERVERS, Uint8Array.of(192, 0, 2, 1, 192, 0, 2, 2)],
    [DhcpOption.DOMAIN_NAME, new TextEncoder().encode("lan.test")],
    [
      DhcpOption.DOMAIN_SEARCH,
      Uint8Array.of(3, 108, 97, 110, 4, 116, 101, 115, 116, 0, 1, 120, 0xc0, 0),
    ],
    [200, new Uint8Array(300).fill(7)], // longer than 255: split (RFC 3396)
  ]),
};

test("DHCP wire: a message round-trips; long options split and join again (RFC 2131 §2, RFC 3396)", () => {
  const bytes = emitDhcp(base);
  assert.ok(bytes.length >= 300);
  const m = parseDhcp(bytes);
  if (typeof m === "string") throw new Error(m);
  assert.equal(m, base);
  assert.is(messageType(m), 2);
  assert.equal(optAddresses(m, DhcpOption.DNS_SERVERS), [0xc0000201, 0xc0000202]);
  assert.is(optText(m, DhcpOption.DOMAIN_NAME), "lan.test");
  // RFC 3397 §2: compressed names in the search list.
  assert.equal(decodeSearchList(m.options.get(DhcpOption.DOMAIN_SEARCH)!), [
    "lan.test",
    "x.lan.test",
  ]);
});

test("DHCP wire: option overload (RFC 2132 §9.3) reads options from file and sname", () => {
  const bytes = emitDhcp({
    ...base,
    options: new Map([[DhcpOption.MESSAGE_TYPE, Uint8Array.of(5)], [
      DhcpOption.OVERLOAD,
      Uint8Array.of(3),
    ]]),
  });
  // file (offset 108): router; sname (offset 44): lease time.
  bytes.set([DhcpOption.ROUTER, 4, 192, 0, 2, 1, 255], 108);
  bytes.set([DhcpOption.LEASE_TIME, 4, 0, 0, 14, 16, 255], 44);
  const m = parseDhcp(bytes);
  if (typeof m === "string") throw new Error(m);
  assert.equal(optAddresses(m, DhcpOption.ROUTER), [0xc0000201]);
  assert.equal([...m.options.get(DhcpOption.LEASE_TIME)!], [0, 0, 14, 16]);
});

test("DHCP wire: short, cookieless, non-Ethernet and overrunning messages are drops", () => {
  const ok = emitDhcp(base);
  assert.is(parseDhcp(ok.slice(0, DHCP_FIXED_LENGTH + 3)), "dhcp.truncated");
  const nocookie = ok.slice();
  nocookie[DHCP_FIXED_LENGTH] = 0;
  assert.is(parseDhcp(nocookie), "dhcp.bad_cookie");
  const eth = ok.slice();
  eth[2] = 8;
  assert.is(parseDhcp(eth), "dhcp.bad_header");
  const noEnd = ok.slice(0, DHCP_FIXED_LENGTH + 4 + 3); // message type, no END
  assert.is(parseDhcp(noEnd), "dhcp.bad_option");
  const overrun = ok.slice();
  overrun[DHCP_FIXED_LENGTH + 5] = 200; // message type length 200
  assert.is(parseDhcp(overrun.slice(0, DHCP_FIXED_LENGTH + 100)), "dhcp.bad_option");
});

test("DHCP wire fuzz: 100 000 mutated messages never throw", () => {
  const rng = new SeededRandom(testSeed());
  const good = emitDhcp(base);
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    const m = good.slice(
      0,
      DHCP_FIXED_LENGTH + (rng.nextU32() % (good.length - DHCP_FIXED_LENGTH + 1)),
    );
    for (let k = rng.nextU32() % 6; k > 0; k--) {
      const at = DHCP_FIXED_LENGTH + (rng.nextU32() % Math.max(1, m.length - DHCP_FIXED_LENGTH));
      m[at] = rng.nextU32() & 0xff;
    }
    const r = parseDhcp(m);
    if (typeof r === "string") assert.ok((DHCP_DROP_REASONS as readonly string[]).includes(r));
    else {
      parsed++;
      const s = r.options.get(DhcpOption.DOMAIN_SEARCH);
      if (s) decodeSearchList(s);
    }
  }
  assert.ok(parsed > 0);
});
