/**
 * CUBIC (RFC 9438) and HyStart++ (RFC 9406) on a model connection: the
 * algorithm's window arithmetic driven by a synthetic ACK clock.
 */
import * as assert from "uvu/assert";
import { test } from "../../_util/test.ts";
import { type CongestionHost, CongestionState } from "../../../src/tcp/congestion/cc.ts";
import { CUBIC, CUBIC_BETA, CUBIC_C, type CubicState } from "../../../src/tcp/congestion/cubic.ts";
import {
  HYSTART_CSS_ROUNDS,
  HYSTART_N_RTT_SAMPLE,
  hystartOnAck,
  HyStartState,
} from "../../../src/tcp/congestion/hystart.ts";
import { congestionByName } from "../../../src/tcp/congestion/registry.ts";

const MSS = 1000;

/** A connection as CUBIC sees it, with a settable clock and RTT. */
function host(srtt = 100) {
  let now = 0;
  const h = {
    cong: new CongestionState(CUBIC),
    snd: { mss: MSS, una: 0, nxt: 0 },
    rtt: { srtt },
    now: () => now,
  } satisfies CongestionHost;
  CUBIC.init(h);
  return { h, advance: (ms: number) => (now += ms) };
}

/** One RTT of ACKs: cwnd bytes acknowledged in MSS steps, cwnd-limited. */
function rtt(c: ReturnType<typeof host>, ms: number): void {
  const cs = c.h.cong;
  const n = Math.floor(cs.cwnd / MSS);
  for (let i = 0; i < n; i++) {
    c.h.snd.una += MSS;
    c.h.snd.nxt = c.h.snd.una + cs.cwnd;
    CUBIC.pktsAcked!(c.h, MSS, ms);
    CUBIC.congAvoid(c.h, MSS);
  }
  c.advance(ms);
}

test("RFC 9438 §4.6/§4.7: a loss takes β = 0.7 of cwnd; fast convergence lowers W_max when the window is still below the last one", () => {
  const c = host();
  c.h.cong.cwnd = 100 * MSS;
  assert.is(CUBIC.ssthresh(c.h), 70 * MSS);
  const st = c.h.cong.priv as CubicState;
  assert.is(st.wMax, 100);
  c.h.cong.cwnd = 80 * MSS;
  CUBIC.ssthresh(c.h);
  assert.is(st.wMax, 80 * (1 + CUBIC_BETA) / 2, "fast convergence");
  c.h.cong.cwnd = 1 * MSS;
  assert.is(CUBIC.ssthresh(c.h), 2 * MSS, "at least 2 SMSS");
});

test("RFC 9438 §4.2: congestion avoidance follows W_cubic — concave up to W_max, reaching it about K seconds after the loss, then convex", () => {
  const c = host(100);
  c.h.cong.cwnd = 100 * MSS;
  c.h.cong.ssthresh = CUBIC.ssthresh(c.h);
  c.h.cong.cwnd = c.h.cong.ssthresh; // recovery ended at ssthresh
  const k = Math.cbrt((100 - 70) / CUBIC_C); // 4.217 s
  const series: [number, number][] = [];
  for (let t = 0; t < 8000; t += 100) {
    rtt(c, 100);
    series.push([t + 100, c.h.cong.cwnd / MSS]);
  }
  const at = (ms: number) => series.find(([t]) => t >= ms)![1];
  // The target is W_cubic(t + RTT): W_max is reached about one RTT before K.
  const reach = series.find(([, w]) => w >= 100)![0];
  assert.ok(Math.abs(reach - (k * 1000 - 100)) <= 300, `W_max reached at ${reach} ms, K = ${k}`);
  // Concave: the first second grows more than the second before K.
  const early = at(1000) - at(0.1);
  const late = at(k * 1000 - 200) - at(k * 1000 - 1200);
  assert.ok(early > late, `concave: ${early} > ${late}`);
  // Convex after: the second after K + 1 s grows more than the second after K.
  const plateau = at(k * 1000 + 1000) - at(k * 1000);
  const probe = at(k * 1000 + 3000) - at(k * 1000 + 2000);
  assert.ok(probe > plateau, `convex: ${probe} > ${plateau}`);
  assert.ok(at(k * 1000 + 500) <= 101.5, "flat near W_max");
});

test("RFC 9438 §4.3: in the Reno-friendly region (short RTT, small window) cwnd grows at least as W_est", () => {
  const c = host(1);
  c.h.cong.cwnd = 10 * MSS;
  c.h.cong.ssthresh = CUBIC.ssthresh(c.h);
  c.h.cong.cwnd = c.h.cong.ssthresh;
  const start = c.h.cong.cwnd;
  // 100 RTTs of 1 ms: the cubic term barely moves in 0.1 s.
  for (let i = 0; i < 100; i++) rtt(c, 1);
  const alpha = 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
  const grown = (c.h.cong.cwnd - start) / MSS;
  assert.ok(grown >= 0.9 * 100 * alpha, `grew ${grown} segments in 100 RTTs (α ${alpha})`);
});

test("RFC 9406: slow start grows by min(acked, L·SMSS) per ACK (L = 8); an RTO restarts from one segment", () => {
  const c = host();
  const w0 = c.h.cong.cwnd;
  CUBIC.congAvoid(c.h, 20 * MSS); // a stretch ACK of 20 segments
  assert.is(c.h.cong.cwnd - w0, 8 * MSS);
  CUBIC.onRto(c.h);
  assert.is(c.h.cong.cwnd, MSS);
});

test("RFC 9406 §4.2: a round whose minimum RTT rises by RttThresh enters CSS (growth / 4); CSS_ROUNDS rounds later slow start ends with ssthresh = cwnd", () => {
  const run = (rise: boolean) => {
    const c = host(20);
    const cs = c.h.cong;
    // Rounds of slow start at a flat 20 ms; with `rise`, the queue builds from round 3: 30 ms.
    for (let round = 0; round < 10 && cs.cwnd < cs.ssthresh; round++) {
      rtt(c, rise && round >= 3 ? 30 : 20);
    }
    return c;
  };
  const flat = run(false);
  assert.is(flat.h.cong.ssthresh, 0x7fffffff, "no delay rise: still in slow start");
  const c = run(true);
  const cs = c.h.cong;
  assert.ok(cs.ssthresh < 0x7fffffff, "left slow start without a loss");
  assert.ok(cs.cwnd >= cs.ssthresh && cs.cwnd < flat.h.cong.cwnd, `${cs.cwnd} ≥ ${cs.ssthresh}`);
  const st = cs.priv as CubicState;
  assert.is(st.active, false);
});

test("RFC 9406 §4.2: the decision itself — N_RTT_SAMPLE samples per round, a rise ≥ RttThresh starts CSS, a lower minimum resumes slow start", () => {
  const h = new HyStartState();
  let ack = 0;
  // One round: N_RTT_SAMPLE ACKs; the round ends with the ACK after them
  // (SND.NXT at its start lies one past its last ACK).
  const round = (rtt: number) => {
    const sndNxt = ack + HYSTART_N_RTT_SAMPLE + 1;
    let r = "";
    for (let i = 0; i < HYSTART_N_RTT_SAMPLE; i++) r = hystartOnAck(h, ack += 1, sndNxt, rtt);
    return r;
  };
  round(20); // the first round sets the baseline
  assert.is(round(20), "ss");
  assert.is(round(23), "ss", "+3 ms < RttThresh 4 ms");
  assert.is(round(28), "css", "+5 ms over the last round's 23 ≥ 4 ms");
  assert.is(round(20), "ss", "a lower minimum: back to slow start");
  assert.is(round(30), "css");
  let last = "";
  let rounds = 0;
  while (last !== "exit" && rounds < 10) {
    last = hystartOnAck(h, ack += 1, ack + 1, 30);
    if (last !== "exit") last = round(30);
    rounds++;
  }
  assert.is(last, "exit");
  assert.ok(rounds <= HYSTART_CSS_ROUNDS, `${rounds} rounds of CSS`);
});

test("TCP_CONGESTION names: cubic and reno are registered; unknown names are not", () => {
  assert.is(congestionByName("cubic"), CUBIC);
  assert.is(congestionByName("reno")?.name, "reno");
  assert.is(congestionByName("bbr"), null);
});
