import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import * as C from "../../src/socket/constants.ts";
import {
  canonicalErrno,
  icmpCodeByName,
  icmpCodeName,
  icmpTypeByName,
  icmpTypeName,
  SCRIPT_SYMBOLS,
  symbolValue,
} from "../../src/testing/symbols.ts";

test("symbols: script constants agree with the socket layer's wherever both define one", () => {
  const shared = Object.entries(C).filter(([k]) => Object.hasOwn(SCRIPT_SYMBOLS, k));
  assert.ok(shared.length >= 40, `${shared.length} shared names`);
  for (const [k, v] of shared) assert.is(SCRIPT_SYMBOLS[k], v, k);
});

test("symbols: errno names (and packetdrill's EWOULDBLOCK alias) resolve to Linux numbers", () => {
  assert.is(symbolValue("ECONNREFUSED"), 111);
  assert.is(symbolValue("EWOULDBLOCK"), 11);
  assert.is(canonicalErrno("EWOULDBLOCK"), "EAGAIN");
  assert.is(symbolValue("SO_ERROR"), 4);
  assert.is(symbolValue("NOT_A_SYMBOL"), undefined);
});

test("symbols: ICMP type and code names round-trip (packetdrill spellings)", () => {
  for (let code = 0; code < 16; code++) assert.is(icmpCodeByName(3, icmpCodeName(3, code)), code);
  for (const t of [0, 3, 4, 5, 8, 11, 12, 13, 14, 42]) {
    assert.is(icmpTypeByName(icmpTypeName(t)), t);
  }
  assert.is(icmpCodeName(3, 3), "port_unreachable");
  assert.is(icmpCodeName(3, 4), "frag_needed");
  assert.is(icmpCodeName(0, 0), "");
  assert.is(icmpCodeName(0, 5), "code_5");
  assert.is(icmpTypeByName("type_300"), undefined);
});
