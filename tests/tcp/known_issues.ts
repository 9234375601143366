/**
 * Known issues in the TCP core found by the adversarial fuzz / security
 * review: one minimal FAILING test each. This file is deliberately not named
 * `*_test.ts`, so the suite does not pick it up. Run it by hand:
 *
 *     deno test -A tests/tcp/known_issues.ts
 *
 * When an issue is fixed its test passes: move it to `security_test.ts`
 * (or the relevant suite). Fixed and moved: KI-1 (close_test.ts), KI-2,
 * KI-3, KI-4, KI-6, KI-7 (security_test.ts); see TRACEABILITY.md §5.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Pair, pair } from "../_util/sim.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { TcpState } from "../../src/tcp/state.ts";
import { emitTcp, tcpHeaderLength } from "../../src/wire/tcp.ts";
import { NO_TCP_OPTIONS, type TcpOptions } from "../../src/wire/tcp_options.ts";
import type { Ipv4Repr } from "../../src/wire/ipv4.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import type { Stack } from "../../src/api/stack.ts";
import { TcpFlags } from "./_raw.ts";
import { ADDR_B } from "./_helpers.ts";

const { SYN } = TcpFlags;

/** Deliver a crafted segment to `to`'s TCP as if from `src`:`sport`. */
function inject(
  p: Pair,
  to: Stack,
  src: number,
  dst: number,
  s: {
    sport: number;
    dport: number;
    seq: number;
    ack: number;
    flags: number;
    options?: Partial<TcpOptions>;
    payload?: Uint8Array;
  },
): void {
  const payload = s.payload ?? new Uint8Array(0);
  const options: TcpOptions = { ...NO_TCP_OPTIONS, ...s.options };
  const skb = to.allocator.alloc(payload.length)!;
  skb.append(payload);
  const hlen = tcpHeaderLength(options);
  const at = skb.push(hlen);
  emitTcp(
    {
      srcPort: s.sport,
      dstPort: s.dport,
      seq: s.seq >>> 0,
      ack: s.ack >>> 0,
      flags: s.flags,
      window: 65535,
      urgentPointer: 0,
      options,
      payloadLength: payload.length,
    },
    p.arena.u8,
    at,
    { src, dst },
  );
  skb.networkHeader = at;
  to.tcp.rcv(skb, { src, dst, protocol: 6 } as unknown as Ipv4Repr, undefined as unknown as Iface);
}

/**
 * KI-5 (MEDIUM, documented gap: SYN cookies not implemented). With the SYN
 * queue bounded by the backlog (16) and a flood of 1000 SYN/s from spoofed
 * sources, each SYN-RECEIVED entry lives through 5 SYN-ACK retries (~63 s),
 * so the queue is full all the time and a legitimate client's SYN (and its
 * retransmissions) are dropped: it cannot connect while the flood lasts.
 * §8 row 1 requires legitimate clients to still connect. Fix: SYN cookies
 * when the SYN queue is full (RFC 4987 §3.6), or at least evict the oldest
 * SYN-RECEIVED entry (random early drop) instead of refusing the new SYN.
 */
test("KI-5: a legitimate client connects while 1000 SYN/s from spoofed sources hit a backlog-16 listener", () => {
  const p = pair({ seed: 1, impair: { delay: 2 } });
  const listener = p.b.tcp.socket();
  listener.bind(0, 8080);
  listener.listen(16);
  const r = new SeededRandom(11);
  const client = p.a.tcp.socket();
  let connectedAt = -1;
  for (let ms = 0; ms < 30_000; ms += 10) {
    for (let i = 0; i < 10; i++) {
      const src = (0xc0000200 | (10 + (r.nextU32() % 240))) >>> 0;
      inject(p, p.b, src, ADDR_B, {
        sport: 1024 + (r.nextU32() % 60000),
        dport: 8080,
        seq: r.nextU32(),
        ack: 0,
        flags: SYN,
      });
    }
    if (ms === 1000) client.connect(ADDR_B, 8080);
    p.clock.advance(10);
    if (connectedAt < 0 && client.state === TcpState.ESTABLISHED) connectedAt = p.clock.now();
  }
  assert.ok(
    connectedAt >= 0,
    `client state ${client.state} after 29 s of flood; SYN queue ${listener.synQueue.size}, ` +
      `listenDrops ${p.b.stats.tcp.listenDrops}, client SYN retransmits ${p.a.stats.tcp.synRetrans}`,
  );
});
