/**
 * The runner against a toy target: matching, relative numbers, timing, and
 * the failures (mismatch, unexpected, missing, early, late) with their
 * exact messages. Independent of the real TCP.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { runScript, type ScriptOptions, type ScriptResult } from "../../src/testing/runner.ts";
import { toyTarget, toyTcp } from "./_toy_target.ts";

async function fails(
  text: string,
  options: ScriptOptions,
  message: string | RegExp,
): Promise<ScriptResult> {
  const r = await runScript(text, options);
  assert.not.ok(r.ok, `expected the script to fail:\n${text}`);
  if (typeof message === "string") assert.is(r.failure?.message, message);
  else assert.match(r.failure!.message, message);
  return r;
}

async function passes(text: string, options: ScriptOptions): Promise<ScriptResult> {
  const r = await runScript(text, options);
  assert.ok(r.ok, r.failure?.message);
  return r;
}

const HANDSHAKE = `
0    < S 0:0(0) win 65535 <mss 1460>
+0   > S. 0:0(0) ack 1 win 64240 <mss 1460>
+.1  < . 1:1(0) ack 1 win 65535
`;

test("runner: relative numbers across a wrapping ISN; the documented mismatch message", async () => {
  // The toy's ISN is 2^32 - 16, so its data at seq 1 is 0xfffffff1 on the wire.
  const toy = toyTcp({
    isn: 0xfffffff0,
    synAckOptions: [2, 4, 5, 0xb4],
    onSegment(seen, io) {
      const t = seen.tcp!;
      if (t.payload.length > 0) {
        io.send(io.tcp({ seq: 0xfffffff1, ack: t.seq + t.payload.length, flags: 0x18, len: 100 }));
      }
    },
  });
  await fails(
    `${HANDSHAKE}+.1  < P. 1:1001(1000) ack 1 win 65535
+0   > . 1:1(0) ack 1001
`,
    { target: toy.factory },
    "line 6: expected > . 1:1(0) ack 1001 at t=0.200, got > P. 1:101(100) ack 1001 win 64240 at t=0.200 (flags, length differ)",
  );
  // The same exchange written correctly passes; the peer's ISN (1000 here) is relative too.
  await passes(
    `
0    < S 1000:1000(0) win 65535 <mss 1460>
+0   > S. 0:0(0) ack 1 win 64240 <mss 1460>
+.1  < . 1:1(0) ack 1 win 65535
+.1  < P. 1:1001(1000) ack 1 win 65535
+0   > P. 1:101(100) ack 1001 win 64240
`,
    {
      target: toyTcp({
        isn: 0xfffffff0,
        synAckOptions: [2, 4, 5, 0xb4],
        onSegment: (s, io) => {
          const t = s.tcp!;
          if (t.payload.length > 0) {
            assert.is(t.seq, 1001, "inbound seq 1 is ISN 1000 + 1 on the wire");
            assert.is(t.ack, 0xfffffff1, "inbound ack 1 is the toy's ISN + 1, wrapped");
            io.send(
              io.tcp({ seq: 0xfffffff1, ack: t.seq + t.payload.length, flags: 0x18, len: 100 }),
            );
          }
        },
      }).factory,
    },
  );
});

test("runner: --absolute_seq uses numbers as written, both ways", async () => {
  const toy = toyTcp({ isn: 5000 });
  await passes(
    `--absolute_seq
0   < S 100:100(0) win 65535
+0  > S. 5000:5000(0) ack 101 win 64240
+0  < . 101:101(0) ack 5001 win 65535
`,
    { target: toy.factory },
  );
  assert.is(toy.received.at(-1)?.tcp?.ack, 5001);
});

test("runner: the stack's TS clock is relative: first TS val = what the script wrote", async () => {
  const toy = toyTcp({
    isn: 1,
    // MSS 1460, NOP NOP, TS val 5000000 ecr 100
    synAckOptions: [2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0x4c, 0x4b, 0x40, 0, 0, 0, 100],
    onSegment(seen, io) {
      // Answer data with an ACK whose TS val is 10 ticks later.
      const t = seen.tcp!;
      if (t.payload.length === 0) return;
      io.send(
        io.tcp({
          seq: 2,
          ack: t.seq + t.payload.length,
          flags: 0x10,
          options: [1, 1, 8, 10, 0, 0x4c, 0x4b, 0x4a, 0, 0, 0, 200],
        }),
        10,
      );
    },
  });
  await passes(
    `
0     < S 0:0(0) win 65535 <mss 1460,nop,nop,TS val 100 ecr 0>
+0    > S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,TS val 0 ecr 100>
+0    < P. 1:11(10) ack 1 win 65535 <nop,nop,TS val 200 ecr 0>
+.01  > . 1:1(0) ack 11 win 64240 <nop,nop,TS val 10 ecr 200>
`,
    { target: toy.factory },
  );
  const data = toy.received.find((f) => (f.tcp?.payload.length ?? 0) > 0)!;
  const ts = data.tcp!.options.find((o) => o.kind === "TS");
  assert.equal(
    ts,
    { kind: "TS", val: 200, ecr: 5_000_000 },
    "inbound ecr 0 is the stack's first TS val",
  );
});

test("runner: an extra packet fails — after the last line, and before a later inbound line", async () => {
  const twice = toyTarget({
    onFrame(seen, io) {
      if (seen.udp) {
        io.send(io.udp(1));
        io.send(io.udp(2), 50);
      }
    },
  });
  await fails(
    "0 < udp (5)\n+0 > udp (1)\n",
    { target: twice.factory },
    "unexpected packet > udp (2) at t=0.050 (after the last line, within the 500 ms quiet period)",
  );
  await fails(
    "0 < udp (5)\n+0 > udp (1)\n+.1 < udp (5)\n",
    { target: twice.factory },
    "line 3: unexpected packet > udp (2) at t=0.050 (before this line's t=0.100)",
  );
  // Listed, it passes; a shorter quiet period would not have seen it at all.
  await passes("0 < udp (5)\n+0 > udp (1)\n+.05 > udp (2)\n", { target: twice.factory });
  await passes("0 < udp (5)\n+0 > udp (1)\n", { target: twice.factory, quietMs: 40 });
});

test("runner: a missing packet fails with the time the runner gave up", async () => {
  const silent = toyTarget();
  await fails(
    "0 < udp (5)\n+.2 > udp (5)\n",
    { target: silent.factory },
    "line 2: expected > udp (5) at t=0.200, got no packet by t=1.200",
  );
  await fails(
    "0 < udp (5)\n* > udp (5)\n",
    { target: silent.factory, anyTimeoutMs: 1000 },
    /got no packet by t=1\.000/,
  );
});

test("runner: timing — late, early, tolerance, ranges and * ", async () => {
  const after30 = toyTarget({ onFrame: (s, io) => s.udp && io.send(io.udp(1), 30) }).factory;
  await fails(
    "0 < udp (5)\n+0 > udp (1)\n",
    { target: after30 },
    "line 2: expected > udp (1) at t=0.000, got it at t=0.030 (30 ms late)",
  );
  await fails(
    "0 < udp (5)\n+.05 > udp (1)\n",
    { target: after30 },
    "line 2: expected > udp (1) at t=0.050, got it at t=0.030 (20 ms early)",
  );
  await fails(
    "0 < udp (5)\n+.05 > udp (1)\n",
    { target: after30, toleranceMs: 10 },
    "line 2: expected > udp (1) at t=0.050, got it at t=0.030 (20 ms early, tolerance 10 ms)",
  );
  await passes("--tolerance_usecs=20000\n0 < udp (5)\n+.05 > udp (1)\n", { target: after30 });
  await passes("0 < udp (5)\n+.02~+.04 > udp (1)\n", { target: after30 });
  await passes("0 < udp (5)\n0.01~0.03 > udp (1)\n", { target: after30 });
  await fails(
    "0 < udp (5)\n+.031~+.04 > udp (1)\n",
    { target: after30 },
    /at t=0\.031~0\.040, got it at t=0\.030 \(1 ms early\)/,
  );
  await passes("0 < udp (5)\n* > udp (1)\n", { target: after30 });
  // Relative times count from the previous event's actual time (the packet at 0.030).
  await passes("0 < udp (5)\n* > udp (1)\n+.01 < udp (5)\n+.03 > udp (1)\n", { target: after30 });
});

test("runner: checks are exact where written and skipped where not", async () => {
  const toy = toyTcp({ isn: 7, synAckOptions: [2, 4, 5, 0xb4, 1, 3, 3, 7] });
  const opts = { target: toy.factory };
  await passes("0 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack 1 <...>\n", opts);
  await passes(
    "0 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack * win * <mss 1460,nop,wscale 7>\n",
    opts,
  );
  await fails(
    "0 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack 1 win 64240\n",
    opts,
    "line 2: expected > S. 0:0(0) ack 1 win 64240 at t=0.000, got > S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7> at t=0.000 (options differs)",
  );
  await fails(
    "0 < S 0:0(0) win 65535\n+0 > S. 0:0(0) ack 2 win 1 <mss 1400,nop,wscale 7>\n",
    opts,
    /\(ack, win, options differ\)$/,
  );
  await fails("0 < S 0:0(0) win 65535\n+0 > S 0:0(0) <...>\n", opts, /\(flags differs\)$/);
  await fails(
    "0 < S 0:0(0) win 65535\n+0 > [ce] S. 0:0(0) ack 1 <...>\n",
    opts,
    /got > \[noecn\] S\. .*\(ip differs\)$/,
  );
  await fails(
    "0 < S 0:0(0) win 65535\n+0 > udp (0)\n",
    opts,
    /got > S\. 0:0\(0\) ack 1 .*\(protocol differs\)$/,
  );
});

test("runner: the same script gives the same transcript every time (deterministic)", async () => {
  const text = "0 < udp (5)\n+0 > udp (1)\n+.05 > udp (2)\n";
  const mk = () =>
    toyTarget({
      onFrame(seen, io) {
        if (seen.udp) {
          io.send(io.udp(1));
          io.send(io.udp(2), 50);
        }
      },
    }).factory;
  const a = await passes(text, { target: mk() });
  const b = await passes(text, { target: mk() });
  assert.equal(a.transcript, b.transcript);
  assert.is(a.endUs, 550_000, "last packet at 0.050 + the 500 ms quiet period");
});

test("runner: leaked packet buffers fail the run", async () => {
  await fails(
    "0 < udp (5)\n",
    { target: toyTarget({ leak: true }).factory },
    /arena leak: 1 packet buffers/,
  );
  await passes("0 < udp (5)\n", { target: toyTarget({ leak: true }).factory, checkLeaks: false });
});

test("runner: syntax and option errors come back as failures, not exceptions", async () => {
  const r = await runScript("0 < udp (5)\n+0 %{ print(1) }%\n");
  assert.is(r.failure?.message, "line 2: %{ ... }% Python blocks are not supported");
  assert.is(r.failure?.line, 2);
  const o = await runScript("--frobnicate=1\n0 < udp (5)\n");
  assert.is(o.failure?.message, "unknown script option --frobnicate");
  const bad = await runScript("0 < S 0:0(0) win 1 <sack 1:2 3:4 5:6 7:8,TS val 1 ecr 1>\n", {
    target: toyTarget().factory,
  });
  assert.is(
    bad.failure?.message,
    "line 1: TCP options take 44 bytes, more than the 40 a header can hold",
  );
});
