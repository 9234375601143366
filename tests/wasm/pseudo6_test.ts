/**
 * The IPv6 pseudo-header sum (RFC 8200 §8.1) goes through the checksum
 * engines: over an IPv6 header in the arena it is one engine call, and every
 * engine (SIMD, scalar, reference) agrees with the TypeScript twin.
 */
import * as assert from "uvu/assert";
import fc from "fast-check";
import { test } from "../_util/test.ts";
import {
  ipv6PseudoSum,
  registerChecksumEngine,
  releaseChecksumEngine,
} from "../../src/wasm/checksum.ts";
import { refIpv6PseudoSum } from "../../src/wasm/reference.ts";
import { arenaWithEngines } from "./_engines.ts";

test("K5 (IPv6): the pseudo-header sum over an IPv6 header in the arena is computed by each engine and matches the reference", () => {
  const { arena, engines } = arenaWithEngines();
  const slot = arena.tryAllocSlot(128);
  assert.ok(slot > 0);
  for (const hot of engines) {
    let calls = 0;
    registerChecksumEngine(arena.memory, {
      kind: hot.kind,
      checksum: (off, len, initial) => {
        calls++;
        return hot.checksum(off, len, initial);
      },
      checksumCopy: hot.checksumCopy,
    });
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 0xfffff }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 63 }),
        (addrs, len, nh, at) => {
          const h = slot + at;
          arena.u8.set(addrs, h + 8);
          const before = calls;
          const got = ipv6PseudoSum(arena.u8, h + 8, arena.u8, h + 24, len, nh);
          assert.is(calls, before + 1, `${hot.kind}: one engine call`);
          const want = refIpv6PseudoSum(addrs, 0, addrs, 16, len, nh);
          assert.is(got, want, `${hot.kind}`);
        },
      ),
      { numRuns: 300 },
    );
    releaseChecksumEngine(arena.memory);
  }
});
