/**
 * Errors and limits that end a connection, checked exactly (issue 11 item
 * 8): a connection attempt to an on-link host that never answers ARP,
 * ICMP "administratively prohibited" in SYN-SENT, RFC 5927 §4.1's sequence
 * check on ICMP quotes, TCP_USER_TIMEOUT to the millisecond, and
 * TCP_NODELAY flushing corked data (tcp(7)).
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import { Errno } from "../../src/core/errno.ts";
import type { IcmpError } from "../../src/ipv4/layer.ts";
import { icmpErrno, icmpFatal } from "../../src/ipv4/icmp_errno.ts";
import { HostUnreachable } from "../../src/socket/errors.ts";
import { MsgFlags } from "../../src/tcp/config.ts";
import { TcpState } from "../../src/tcp/state.ts";
import { ADDR_A, ADDR_B } from "./_helpers.ts";
import { rawAccept, RawPeer, TcpFlags } from "./_raw.ts";

/** An ICMP error from `from` quoting a TCP segment `src:sport → dst:dport` at `seq`. */
function icmpFor(
  q: { src: number; dst: number; sport: number; dport: number; seq: number },
  type: number,
  code: number,
  from = q.dst,
): IcmpError {
  const u8 = new Uint8Array(8);
  const v = new DataView(u8.buffer);
  v.setUint16(0, q.sport);
  v.setUint16(2, q.dport);
  v.setUint32(4, q.seq);
  return {
    type,
    code,
    nextHopMtu: 0,
    from,
    errno: icmpErrno(type, code),
    fatal: icmpFatal(type, code),
    u8,
    quote: {
      src: q.src,
      dst: q.dst,
      protocol: 6,
      id: 0,
      fragmentOffset: 0,
      totalLength: 40,
      transportOffset: 0,
      transportLength: 8,
    },
  };
}

test("SYN-SENT: connect to an on-link address nobody answers fails with HostUnreachable once ARP gives up (≤ 4 s, not the SYN R2 of minutes)", async () => {
  const p = pair({ seed: 1101 });
  const t0 = p.clock.now();
  let err: unknown = null;
  try {
    await settle(p.clock, p.a.connect({ hostname: "192.0.2.77", port: 80 }));
  } catch (e) {
    err = e;
  }
  const took = p.clock.now() - t0;
  assert.instance(err, HostUnreachable, `got ${err}`);
  assert.ok(took <= 4000, `failed after ${took} ms of virtual time`);
  assert.ok(took >= 2000, `ARP should have been given its probes first (${took} ms)`);
  assert.is(p.a.stats.arp.resolveFailed, 1);
  await p.close();
});

test("RFC 1812 §5.2.7.1 / Linux icmp_err_convert: ICMP administratively prohibited (codes 9, 10, 13) aborts a connection attempt", async () => {
  for (
    const [code, errno] of [[9, Errno.ENETUNREACH], [10, Errno.EHOSTUNREACH], [
      13,
      Errno.EHOSTUNREACH,
    ]]
  ) {
    const p = pair({ seed: 1102 + code! });
    const peer = new RawPeer(p);
    const c = p.b.tcp.socket();
    c.connect(ADDR_A, 9);
    const [syn] = peer.take();
    p.b.tcp.err(
      icmpFor({ src: ADDR_B, dst: ADDR_A, sport: c.lport, dport: 9, seq: syn!.seq }, 3, code!),
    );
    assert.is(c.state, TcpState.CLOSED, `code ${code}`);
    assert.is(c.error, errno, `code ${code}`);
    c.close();
    await p.close();
  }
});

test("RFC 5927 §4.1: an ICMP error is acted on only when SND.UNA ≤ SEG.SEQ < SND.NXT (a quote at SND.NXT is ignored)", async () => {
  const p = pair({ seed: 1113 });
  const { peer, sk, ourSeq } = rawAccept(p);
  sk.setOption("TCP_NODELAY", 1);
  sk.send(new Uint8Array(10));
  peer.take();
  const q = { src: ADDR_B, dst: ADDR_A, sport: sk.lport, dport: peer.sport };
  // SND.NXT = ourSeq + 10: not in flight.
  p.b.tcp.err(icmpFor({ ...q, seq: ourSeq + 10 }, 3, 1));
  assert.is(sk.tcb.softErr, 0);
  assert.is(p.b.stats.drops.get("tcp.icmp_out_of_window"), 1);
  // SND.UNA − 1: already acknowledged.
  p.b.tcp.err(icmpFor({ ...q, seq: ourSeq - 1 }, 3, 1));
  assert.is(p.b.stats.drops.get("tcp.icmp_out_of_window"), 2);
  // The last byte in flight: accepted (a soft error, recorded).
  p.b.tcp.err(icmpFor({ ...q, seq: ourSeq + 9 }, 3, 1));
  assert.is(sk.tcb.softErr, Errno.EHOSTUNREACH);
  assert.is(sk.state, TcpState.ESTABLISHED, "MUST-56: soft errors never abort");
  sk.abort();
  await p.close();
});

test("MUST-21: TCP_USER_TIMEOUT gives up exactly when it runs out, counted from the first transmission (not at the next backed-off RTO)", async () => {
  for (const ut of [3000, 5000, 777]) {
    const p = pair({ seed: 1114 });
    const { peer, sk } = rawAccept(p);
    assert.is(sk.setOption("TCP_USER_TIMEOUT", ut), 0);
    sk.send(new Uint8Array(10));
    const t0 = p.clock.now();
    p.clock.runUntil(() => sk.state === TcpState.CLOSED, 120_000);
    const took = p.clock.now() - t0;
    assert.is(took, ut, `user timeout ${ut}: aborted after ${took} ms`);
    assert.is(sk.recv(new Uint8Array(1)), -Errno.ETIMEDOUT);
    assert.ok(peer.take().length >= 2, "retransmitted meanwhile");
    sk.close();
    await p.close();
  }
});

test("tcp(7): setting TCP_NODELAY flushes data held by TCP_CORK or MSG_MORE", async () => {
  const p = pair({ seed: 1115 });
  const { peer, sk } = rawAccept(p);
  peer.take();
  sk.setOption("TCP_CORK", 1);
  sk.send(new Uint8Array(100));
  sk.send(new Uint8Array(50), MsgFlags.MORE);
  assert.is(peer.take().length, 0, "corked: nothing sent");
  assert.is(sk.setOption("TCP_NODELAY", 1), 0);
  const out = peer.take();
  assert.is(out.length, 1);
  assert.is(out[0]!.len, 150);
  assert.ok(out[0]!.flags & TcpFlags.ACK);
  sk.abort();
  await p.close();
});
