/**
 * The SACK scoreboard (RFC 6675, RFC 2018 §5/§8, attack class §8 row 7)
 * against a simple model: random ACKs carrying random SACK blocks — valid,
 * inverted, beyond SND.MAX, below SND.UNA, D-SACK — into a live connection.
 * After each: the byte totals equal the sum of the per-segment marks, the
 * pipe lies in [0, flight], SACKed data is never freed before it is
 * cumulatively acknowledged, and exactly the segments the model says were
 * SACKed (since the last reneging) carry the mark.
 */
import * as assert from "uvu/assert";
import { test, testSeed } from "../_util/test.ts";
import { pair } from "../_util/sim.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { SACKED } from "../../src/skb/skbuff.ts";
import type { Tcb } from "../../src/tcp/tcb.ts";
import { rawAccept, TcpFlags } from "./_raw.ts";
import { Errno } from "../../src/core/errno.ts";
import { TcpState } from "../../src/tcp/state.ts";
import type { TcpSock } from "../../src/tcp/sock.ts";
import { exchange, randomBytes, sha256 } from "./_helpers.ts";

function check(tcb: Tcb, sacked: Set<number>, base: number, mss: number, where: string): void {
  const snd = tcb.snd;
  let s = 0, l = 0, r = 0;
  for (let skb = snd.queue.head; skb !== null && skb !== snd.head; skb = skb.next) {
    const len = skb.endSeq - skb.seq;
    if (skb.sacked & SACKED.SACKED_ACKED) s += len;
    if (skb.sacked & SACKED.LOST) l += len;
    if (skb.sacked & SACKED.SACKED_RETRANS) r += len;
    // Segments are MSS-sized here: index = offset / mss.
    const idx = ((skb.seq - base) >>> 0) / mss;
    const marked = (skb.sacked & SACKED.SACKED_ACKED) !== 0;
    assert.is(marked, sacked.has(idx), `${where}: segment ${idx} SACK mark`);
  }
  assert.is(snd.sackedBytes, s, `${where}: sackedBytes`);
  assert.is(snd.lostBytes, l, `${where}: lostBytes`);
  assert.is(snd.retransBytes, r, `${where}: retransBytes`);
  assert.ok(snd.pipe >= 0 && snd.pipe <= snd.flight + r, `${where}: pipe ${snd.pipe}`);
}

test("RFC 6675 / S3 / S4 / §8 row 7: random SACK blocks keep the scoreboard equal to a model; invalid blocks are counted and ignored", async () => {
  const seed = testSeed();
  const rng = new SeededRandom(seed);
  const ri = (n: number) => rng.nextU32() % n;
  for (let round = 0; round < 20; round++) {
    const p = pair({ seed: seed + round });
    const { peer, sk, peerSeq, ourSeq } = rawAccept(p, {
      options: { sackPermitted: true, mss: 1000 },
    });
    const tcb = sk.tcb;
    const mss = tcb.snd.mss;
    sk.setOption("TCP_NODELAY", 1);
    const n = 40;
    sk.send(new Uint8Array(n * mss));
    // Let everything out: open the window as the ACKs say.
    tcb.cong.cwnd = n * mss;
    sk.send(new Uint8Array(0));
    peer.take();
    let una = 0; // in segments
    const sacked = new Set<number>();
    for (let step = 0; step < 60 && una < n; step++) {
      const sent = Math.round(((tcb.snd.nxt - ourSeq) >>> 0) / mss);
      const blocks: number[] = [];
      const kinds: string[] = [];
      const nb = 1 + ri(3);
      for (let b = 0; b < nb; b++) {
        const k = ri(10);
        if (k < 6 && sent > una) {
          const a = una + ri(sent - una);
          const e = Math.min(sent, a + 1 + ri(4));
          blocks.push(ourSeq + a * mss, ourSeq + e * mss);
          kinds.push("valid");
        } else if (k === 6) {
          blocks.push(ourSeq + 5 * mss, ourSeq + 2 * mss); // inverted
          kinds.push("bad");
        } else if (k === 7) {
          blocks.push(ourSeq + (sent + 2) * mss, ourSeq + (sent + 3) * mss); // beyond SND.MAX
          kinds.push("bad");
        } else if (una >= 2) {
          blocks.push(ourSeq + (una - 2) * mss, ourSeq + una * mss); // old / D-SACK
          kinds.push("old");
        }
      }
      const advance = ri(3) === 0 ? ri(Math.max(1, sent - una) + 1) : 0;
      // Never acknowledge past a hole the model does not hold either way: the
      // cumulative ACK may cover anything sent.
      const ack = una + advance;
      const before = p.b.stats.drops.get("tcp.sack_invalid_block") ?? 0;
      if (blocks.length === 0) continue;
      peer.inject({
        seq: peerSeq,
        ack: (ourSeq + ack * mss) >>> 0,
        flags: TcpFlags.ACK,
        window: 65535,
        options: { sackBlocks: blocks.map((x) => x >>> 0) },
      });
      peer.take();
      const bad = kinds.filter((k) => k === "bad").length;
      assert.is(
        (p.b.stats.drops.get("tcp.sack_invalid_block") ?? 0) - before,
        bad,
        "invalid blocks counted",
      );
      // Model: segments wholly inside a valid block above the new SND.UNA are SACKed.
      una = Math.max(una, ack);
      for (let b = 0; b < kinds.length; b++) {
        if (kinds[b] !== "valid") continue;
        // RFC 2883 §4: a first block starting below SEG.ACK is a D-SACK block.
        if (b === 0 && (blocks[0]! - ourSeq) / mss < ack) continue;
        const a = (blocks[2 * b]! - ourSeq) / mss;
        const e = (blocks[2 * b + 1]! - ourSeq) / mss;
        for (let i = Math.max(a, una); i < e; i++) sacked.add(i);
      }
      for (const i of [...sacked]) if (i < una) sacked.delete(i);
      // Reneging: the head (at SND.UNA) SACKed yet not acknowledged clears every mark.
      if (sacked.has(una) && advance > 0) sacked.clear();
      check(tcb, sacked, ourSeq, mss, `seed ${seed + round} step ${step}`);
    }
    sk.abort();
    await p.close();
  }
});

test("RFC 8985 §6.2 step 3: with an ISS in the upper half of sequence space, in-order deliveries are not taken for reordering (RACK.fack and HighSACK start at SND.UNA)", async () => {
  const p = pair({ seed: testSeed(), impair: { delay: 5 } });
  const listener = p.b.tcp.socket();
  assert.is(listener.bind(0, 8080), 0);
  assert.is(listener.listen(4), 0);
  const client = p.a.tcp.socket();
  // 0x90000000 is "before" 0 in sequence arithmetic: a high-water mark left
  // at 0 would lie after every sequence number this connection uses.
  client.tcb.snd.presetIss = 0x90000000;
  assert.is(client.connect(0xc0000202, 8080), -Errno.EINPROGRESS);
  const got: { server: TcpSock | null } = { server: null };
  p.clock.runUntil(() => {
    got.server ??= listener.accept();
    return got.server !== null && client.state === TcpState.ESTABLISHED;
  }, 60_000);
  const server = got.server;
  if (server === null) throw new Error("no connection accepted");
  assert.is(client.tcb.snd.iss, 0x90000000);
  const data = randomBytes(200_000, 7);
  const r = exchange(p, client, server, data, new Uint8Array(0));
  assert.is(r.xError, 0);
  assert.is(await sha256(r.atY), await sha256(data));
  const cong = client.tcb.cong;
  assert.ok(cong.loss !== null, "data was acknowledged: RACK recorded deliveries");
  assert.is(cong.loss!.reordSeen, 0, "no reordering on an in-order path");
  assert.is(cong.loss!.rackReorderingSeen, false);
  assert.is(client.tcb.snd.highSack, client.tcb.snd.una);
  client.close();
  server.close();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size === 0 && p.b.tcp.socks.size === 0, 600_000);
  await p.close();
});
