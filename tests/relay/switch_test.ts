/**
 * The relay's learning switch on virtual time: flooding and learning,
 * aging, port security, validation, per-port MAC limit, rate limit, table
 * bound, egress drops.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { VirtualClock } from "../../src/core/clock.ts";
import { EthernetSwitch, Forward, type SwitchOptions } from "../../src/relay/switch.ts";

function frame(dst: number, src: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < 6; i++) {
    f[i] = Math.floor(dst / 2 ** (40 - 8 * i)) & 0xff;
    f[6 + i] = Math.floor(src / 2 ** (40 - 8 * i)) & 0xff;
  }
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}
const A = 0x02_00_00_00_00_0a, B = 0x02_00_00_00_00_0b, C = 0x02_00_00_00_00_0c;
const BCAST = 0xffffffffffff;

function world(o: Partial<SwitchOptions> = {}, ports = 3, full = () => false) {
  const clock = new VirtualClock();
  const sw = new EthernetSwitch({ clock, ...o });
  const got: number[][] = [];
  const p = Array.from({ length: ports }, (_, i) => {
    got.push([]);
    return sw.addPort({ deliver: (_f, _at, n) => !full() && got[i]!.push(n) > 0 }, {
      name: `p${i}`,
    });
  });
  return { clock, sw, got, p };
}

test("switch: unknown and broadcast destinations flood to every other port; once learned, unicast goes to one port only", () => {
  const { sw, got, p } = world();
  assert.is(sw.receive(p[0]!, frame(BCAST, A)), Forward.FLOOD);
  assert.equal(got.map((g) => g.length), [0, 1, 1]);
  assert.is(sw.receive(p[1]!, frame(A, B)), Forward.UNICAST); // A learned on p0
  assert.equal(got.map((g) => g.length), [1, 1, 1]);
  assert.is(sw.receive(p[0]!, frame(B, A)), Forward.UNICAST);
  assert.equal(got.map((g) => g.length), [1, 2, 1]);
  assert.is(sw.receive(p[0]!, frame(C, A)), Forward.FLOOD, "C unknown");
  assert.is(sw.receive(p[0]!, frame(0x01_00_5e_00_00_01, A)), Forward.FLOOD, "multicast");
  assert.is(sw.receive(p[0]!, frame(A, A)), Forward.FILTERED, "destination on the ingress port");
  assert.is(sw.stats.unicast, 2);
  assert.is(sw.stats.flooded, 3);
});

test("switch: entries age out (flooding resumes), and a port's MACs are forgotten when it leaves", () => {
  const { clock, sw, got, p } = world({ agingMs: 1000 });
  sw.receive(p[0]!, frame(BCAST, A));
  clock.advance(999);
  assert.is(sw.receive(p[1]!, frame(A, B)), Forward.UNICAST);
  clock.advance(1001);
  assert.is(sw.receive(p[1]!, frame(A, B)), Forward.FLOOD, "A aged out");
  assert.is(sw.sweep(), 1, "A swept (B is fresh)");
  assert.is(sw.macTableSize, 1);
  sw.removePort(p[1]!);
  assert.is(sw.macTableSize, 0);
  assert.is(sw.receive(p[0]!, frame(B, A)), Forward.FLOOD);
  assert.is(got[1]!.length, 1, "a removed port gets nothing");
});

test("switch: port security — a MAC owned by one port is refused from another until it ages out", () => {
  const { clock, sw, got, p } = world({ agingMs: 1000 });
  sw.receive(p[0]!, frame(BCAST, A));
  assert.is(sw.receive(p[2]!, frame(BCAST, A)), Forward.DROPPED);
  assert.is(sw.receive(p[2]!, frame(B, A)), Forward.DROPPED);
  assert.is(p[2]!.stats.dropSpoof, 2);
  assert.is(sw.lookup(A), p[0]);
  assert.equal(got.map((g) => g.length), [0, 1, 1]);
  clock.advance(1001);
  assert.is(sw.receive(p[2]!, frame(BCAST, A)), Forward.FLOOD, "free again after aging");
  assert.is(sw.lookup(A), p[2]);
  assert.is(p[0]!.macs, 0);
});

test("switch: malformed frames (runt, oversize, group or zero source) are dropped and counted", () => {
  const { sw, got, p } = world();
  const bad = [
    new Uint8Array(13),
    frame(BCAST, A, 1519),
    frame(BCAST, BCAST),
    frame(BCAST, 0x03_00_00_00_00_01),
    frame(BCAST, 0),
  ];
  for (const f of bad) assert.is(sw.receive(p[0]!, f), Forward.DROPPED);
  assert.is(p[0]!.stats.dropMalformed, bad.length);
  assert.is(sw.receive(p[0]!, frame(BCAST, A, 1518)), Forward.FLOOD, "1518 is allowed");
  assert.is(sw.receive(p[0]!, frame(BCAST, A, 14)), Forward.FLOOD, "14 is allowed");
  assert.equal(got.map((g) => g.length), [0, 2, 2]);
});

test("switch: per-port MAC limit and table bound stop address rotation", () => {
  const { sw, p } = world({ maxMacsPerPort: 2, maxMacs: 3 });
  for (let i = 1; i <= 5; i++) sw.receive(p[0]!, frame(BCAST, 0x02_00_00_00_01_00 + i));
  assert.is(p[0]!.macs, 2);
  assert.is(p[0]!.stats.dropMacLimit, 3);
  sw.receive(p[1]!, frame(BCAST, B));
  assert.is(sw.receive(p[2]!, frame(BCAST, C)), Forward.DROPPED, "table full");
  assert.is(sw.macTableSize, 3);
});

test("switch: token bucket — a port beyond its rate is dropped and counted, others unaffected; refills with time", () => {
  const { clock, sw, p } = world({ ratePps: 1000, burst: 10 });
  let ok = 0;
  for (let i = 0; i < 100; i++) if (sw.receive(p[0]!, frame(BCAST, A)) !== Forward.DROPPED) ok++;
  assert.is(ok, 10);
  assert.is(p[0]!.stats.dropRate, 90);
  assert.is(sw.receive(p[1]!, frame(BCAST, B)), Forward.FLOOD, "another port is unaffected");
  clock.advance(5); // 5 tokens
  ok = 0;
  for (let i = 0; i < 100; i++) if (sw.receive(p[0]!, frame(BCAST, A)) !== Forward.DROPPED) ok++;
  assert.is(ok, 5);
});

test("switch: an egress port that cannot take a frame counts a queue drop", () => {
  let full = false;
  const { sw, p } = world({}, 2, () => full);
  full = true;
  sw.receive(p[0]!, frame(BCAST, A));
  assert.is(p[1]!.stats.dropQueue, 1);
  assert.is(p[1]!.stats.txFrames, 0);
});
