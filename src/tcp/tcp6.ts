/**
 * TCP over IPv6 (RFC 9293 over RFC 8200; Linux `tcp_ipv6.c`): the protocol
 * handler the IPv6 layer delivers next header 6 to — checksum over the IPv6
 * pseudo-header (RFC 8200 §8.1), demultiplexing through the shared tables
 * (`lookupEstablished6`, then `lookupListener6`, then CLOSED processing),
 * and ICMPv6 errors: Packet Too Big lowers the connection's MSS to the new
 * path MTU (RFC 8201 §5.2), the rest become soft errors or, when fatal,
 * abort a connection attempt (MUST-56; the table is `ipv6/icmp_errno.ts`).
 *
 * Everything after the demux — the state machine, output, timers — is the
 * same code as IPv4: a TCB's family only changes where its segments go
 * (`family.ts`).
 *
 * @module
 */
import type { Iface } from "../ipv4/iface.ts";
import { icmpv6Errno, icmpv6Fatal } from "../ipv6/icmp_errno.ts";
import type { Icmpv6Error, Inet6Protocol } from "../ipv6/layer.ts";
import { Csum, type SkBuff } from "../skb/skbuff.ts";
import { checksum, ipv6PseudoSum } from "../wasm/checksum.ts";
import { isMulticast6, isUnspecified6 } from "../wire/addr6.ts";
import { get16, get32, type ParseOptions } from "../wire/bytes.ts";
import { Icmpv6Type } from "../wire/icmpv6.ts";
import { type Ipv6Repr, NextHeader } from "../wire/ipv6.ts";
import { parseTcpInto, TcpField, TcpParseScratch } from "../wire/tcp.ts";
import { zoneOf } from "./family.ts";
import { tcpRcv, timeWaitAcceptsSyn } from "./input.ts";
import { tcpDone, tcpFail } from "./lifecycle.ts";
import { syncMss } from "./options.ts";
import { sendResetFor } from "./output.ts";
import { rcvListen } from "./passive.ts";
import { shrinkMss } from "./recovery.ts";
import { seqAdd, seqInWindow, TcpState } from "./state.ts";
import type { Tcb, TcpContext } from "./tcb.ts";
import { isBareSyn } from "./tcp.ts";

const NO_VERIFY: ParseOptions = { verifyChecksum: false };
/** Stands in for the IPv4 pseudo-header `parseTcpInto` would use; never read (checksum checked here). */
const NO_PSEUDO = { src: 0, dst: 0 };

/**
 * The IPv6 half of TCP; registers itself with the IPv6 layer for next
 * header 6.
 *
 * @example
 * ```ts
 * // Created by Stack: new Tcp6(stack.tcp.ctx)
 * ```
 */
export class Tcp6 implements Inet6Protocol {
  readonly #ctx: TcpContext;
  /** The header of the segment being received (reused: valid during `rcv` only). */
  readonly #rx = new TcpParseScratch();
  /** The addresses of a segment answered or passed to a listener (reused). */
  readonly #ends = { laddr: 0, raddr: 0, addr6: new Uint8Array(32), scopeId: 0 };

  /** Register with `ctx.ipv6`'s layer (a TypeError when the stack has no IPv6). */
  constructor(ctx: TcpContext) {
    if (ctx.ipv6 === null) throw new TypeError("TCP over IPv6 needs the stack's IPv6 family");
    this.#ctx = ctx;
    ctx.ipv6.layer.register(NextHeader.TCP, this);
  }

  /** IPv6 delivers a TCP segment (`tcp_v6_rcv`): `skb.data` at the TCP header. Consumes `skb`. */
  rcv(skb: SkBuff, ip: Ipv6Repr, iface: Iface): void {
    const ctx = this.#ctx;
    const st = ctx.stats;
    const u8 = ctx.allocator.arena.u8;
    const len = skb.len;
    // MUST-3 / RFC 8200 §8.1: the checksum covers the IPv6 pseudo-header
    // (computed in WebAssembly over the addresses in the packet).
    if (
      skb.ipSummed !== Csum.Unnecessary && len >= 20 &&
      checksum(u8, skb.data, len, ipv6PseudoSum(u8, ip.srcOffset, u8, ip.dstOffset, len, 6)) !==
        0xffff
    ) {
      st.inErrs++;
      ctx.drops.count("tcp.bad_checksum");
      skb.free();
      return;
    }
    const bad = parseTcpInto(u8, skb.data, len, NO_PSEUDO, this.#rx, NO_VERIFY);
    if (bad !== null) {
      st.inErrs++;
      ctx.drops.count(bad);
      skb.free();
      return;
    }
    const th = this.#rx.repr;
    st.inSegs++;
    // MUST-57: nothing for multicast destinations (and no RST); a segment
    // from :: cannot be answered.
    if (isMulticast6(u8, ip.dstOffset) || isUnspecified6(u8, ip.srcOffset)) {
      ctx.drops.count("tcp.not_unicast");
      skb.free();
      return;
    }
    skb.pull(th.headerLength);
    const tables = ctx.tables;
    const sk = tables.lookupEstablished6(u8, ip.dstOffset, th.dstPort, ip.srcOffset, th.srcPort);
    if (sk !== null) {
      if (
        sk.state === TcpState.TIME_WAIT && isBareSyn(th.flags) && timeWaitAcceptsSyn(sk, th) &&
        tables.lookupListener6(u8, ip.dstOffset, th.dstPort) !== null
      ) {
        // RFC 6191 / MAY-2, as over IPv4 (`tcp.ts`).
        tcpDone(sk);
      } else {
        // RFC 3168 §5: the ECN field is the traffic class's low 2 bits.
        tcpRcv(sk, skb, th, ip.trafficClass & 3);
        return;
      }
    }
    const ends = this.#ends;
    const a6 = ends.addr6;
    for (let i = 0; i < 16; i++) {
      a6[i] = u8[ip.dstOffset + i]!;
      a6[16 + i] = u8[ip.srcOffset + i]!;
    }
    // RFC 4007 §6: a link-local pair lives on the link it arrived on.
    ends.scopeId = zoneOf(a6, iface.index);
    const lsk = tables.lookupListener6(u8, ip.dstOffset, th.dstPort);
    if (lsk !== null && lsk.state === TcpState.LISTEN) {
      rcvListen(lsk, skb, th, ends);
      return;
    }
    // RFC 9293 §3.10.7.1: no connection.
    skb.free();
    ctx.drops.count("tcp.no_socket");
    sendResetFor(ctx, th, ends);
  }

  /**
   * An ICMPv6 error about a segment we sent (`tcp_v6_err`; MUST-54/55/56,
   * RFC 5927 §4.1 in-window check). Packet Too Big: the IPv6 layer already
   * lowered the path MTU estimate; the connection follows it (RFC 8201 §5.2).
   */
  err(e: Icmpv6Error): void {
    const q = e.quote;
    if (q.transportLength < 8 || q.fragmentOffset !== 0) return;
    const u8 = e.u8;
    const off = q.transportOffset;
    const sport = get16(u8, off + TcpField.SRC_PORT);
    const dport = get16(u8, off + TcpField.DST_PORT);
    const seq = get32(u8, off + TcpField.SEQ);
    const ctx = this.#ctx;
    const sk = ctx.tables.lookupEstablished6(u8, q.srcOffset, sport, q.dstOffset, dport);
    if (sk === null || sk.state === TcpState.TIME_WAIT) return;
    if (!seqInWindow(seq, sk.snd.una, seqAdd(sk.snd.max, 1))) {
      ctx.drops.count("tcp.icmp_out_of_window");
      return;
    }
    if (e.type === Icmpv6Type.PACKET_TOO_BIG) {
      mtuReduced(sk);
      return;
    }
    const [errno] = icmpv6Errno(e.type, e.code, e.info);
    if (
      icmpv6Fatal(e.type, e.code) &&
      (sk.state === TcpState.SYN_SENT || sk.state === TcpState.SYN_RECEIVED)
    ) {
      tcpFail(sk, errno);
      return;
    }
    sk.softErr = errno;
  }
}

/**
 * The path MTU went down (Linux `tcp_v6_mtu_reduced`): recompute the MSS
 * from it and, if segments in flight are now too large, send them again in
 * the new size at once without a congestion response — they were lost to
 * the MTU, not to congestion (Linux `tcp_simple_retransmit`; RFC 8201 §5.2).
 * The same path as IPv4's RFC 1191 (`recovery.ts` `shrinkMss`): the
 * oversized segments are marked lost on the SACK scoreboard and resent
 * first, cut to the new MSS.
 *
 * @example
 * ```ts
 * // mtuReduced(tcb); // after the path MTU cache was lowered
 * ```
 */
export function mtuReduced(sk: Tcb): void {
  const s = sk.state;
  if (s === TcpState.LISTEN || s === TcpState.CLOSED || s === TcpState.SYN_SENT) return;
  if (s === TcpState.SYN_RECEIVED) {
    syncMss(sk);
    return;
  }
  shrinkMss(sk);
}
