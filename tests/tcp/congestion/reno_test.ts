import * as assert from "uvu/assert";
import { test } from "../../_util/test.ts";
import {
  type CongestionHost,
  CongestionState,
  INITIAL_WINDOW_SEGMENTS,
} from "../../../src/tcp/congestion/cc.ts";
import { NEW_RENO } from "../../../src/tcp/congestion/reno.ts";
import { pair } from "../../_util/sim.ts";
import { rttSample } from "../../../src/tcp/rtt.ts";

/** A connection as congestion control sees it: SMSS `mss`, `flight` bytes in flight. */
function cs(mss = 1000, flight = 0): CongestionHost & { snd: { nxt: number } } {
  return {
    cong: new CongestionState(NEW_RENO),
    snd: { mss, una: 0, nxt: flight },
    rtt: { srtt: 20 },
    now: () => 0,
  };
}

test("RFC 5681 C1/C4: IW10 (documented choice), initial ssthresh arbitrarily high, ssthresh = max(FlightSize/2, 2·SMSS)", () => {
  const s = cs(1000, 9000);
  NEW_RENO.init(s);
  assert.is(s.cong.cwnd, INITIAL_WINDOW_SEGMENTS * 1000);
  assert.ok(s.cong.ssthresh >= 0x7fffffff);
  assert.is(NEW_RENO.ssthresh(s), 4500);
  s.snd.nxt = 1000;
  assert.is(NEW_RENO.ssthresh(s), 2000);
  NEW_RENO.onRto(s);
  assert.is(s.cong.cwnd, 1000, "loss window = 1 SMSS");
});

test("RFC 3465 / §8 row 13: ACK division cannot inflate cwnd faster than byte counting; L = 2 per stretch ACK, none for TSO super-segments", () => {
  const whole = cs(1000);
  const split = cs(1000);
  NEW_RENO.init(whole);
  NEW_RENO.init(split);
  // One ACK for 1000 bytes vs 1000 ACKs of one byte each: same growth.
  NEW_RENO.congAvoid(whole, 1000);
  for (let i = 0; i < 1000; i++) NEW_RENO.congAvoid(split, 1);
  assert.is(split.cong.cwnd, whole.cong.cwnd);
  // And a stretch ACK grows slow start by at most L = 2 SMSS (RFC 3465 §2.2, as Linux).
  const stretch = cs(1000);
  NEW_RENO.init(stretch);
  NEW_RENO.congAvoid(stretch, 8000);
  assert.is(stretch.cong.cwnd, 12_000);
  // Bytes that left as one TSO super-segment are no stretch: one ACK for
  // the whole super-segment grows cwnd by all of them.
  const tso = cs(1000);
  NEW_RENO.init(tso);
  NEW_RENO.congAvoid(tso, 8000, 8000);
  assert.is(tso.cong.cwnd, 18_000);
});

test("RFC 5681 C3: congestion avoidance adds one SMSS per cwnd of acknowledged bytes", () => {
  const s = cs(1000);
  NEW_RENO.init(s);
  s.cong.ssthresh = 5000;
  s.cong.cwnd = 10_000;
  for (let i = 0; i < 9; i++) NEW_RENO.congAvoid(s, 1000);
  assert.is(s.cong.cwnd, 10_000);
  NEW_RENO.congAvoid(s, 1000);
  assert.is(s.cong.cwnd, 11_000);
});

test("RFC 6298 R2/R3 with Linux's floor: RTO = SRTT + max(4·RTTVAR, 200 ms), ≤ 120 s", async () => {
  const p = pair({ seed: 1 });
  const sk = p.a.tcp.socket();
  rttSample(sk.tcb, 100);
  assert.is(sk.tcb.rtt.srtt, 100);
  assert.is(sk.tcb.rtt.rttvar, 50);
  assert.is(sk.tcb.rtt.rto, 300);
  rttSample(sk.tcb, 200);
  // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5
  assert.is(sk.tcb.rtt.rttvar, 62.5);
  assert.is(sk.tcb.rtt.srtt, 112.5);
  assert.is(sk.tcb.rtt.rto, 112.5 + 250);
  rttSample(sk.tcb, 1_000_000);
  assert.is(sk.tcb.rtt.rto, 120_000);
  const small = p.a.tcp.socket();
  rttSample(small.tcb, 2);
  assert.is(small.tcb.rtt.rto, 202, "floor: SRTT + 200 ms");
  sk.close();
  small.close();
  await p.close();
});
