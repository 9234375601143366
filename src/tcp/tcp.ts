/**
 * TCP: the protocol object registered as IP protocol 6 (`stack.tcp`), the
 * demux (established table → listener → CLOSED processing), ICMP errors,
 * and the ops API the socket layer wraps.
 *
 * ## Ops API (non-blocking; the socket layer adds blocking)
 *
 * `stack.tcp.socket(): TcpSock`, then on the socket:
 *
 * | call | returns |
 * |---|---|
 * | `bind(laddr, port)` | 0 or -EADDRINUSE / -EADDRNOTAVAIL / -EINVAL |
 * | `listen(backlog)` | 0 or -errno; again on a listener only updates the backlog |
 * | `connect(raddr, rport, laddr?)` | -EINPROGRESS (SYN sent), or -EISCONN / -EALREADY / -ENETUNREACH / -EADDRNOTAVAIL / -EINVAL |
 * | `accept()` | an established (possibly already CLOSE-WAIT/CLOSED) child `TcpSock`, or null |
 * | `send(bytes, flags?)` | bytes queued (may be fewer: partial write), -EAGAIN (buffer full or still connecting), -EPIPE, -ENOTCONN, or the pending error |
 * | `recv(buf, flags?)` | bytes read; 0 = end of stream (FIN); -EAGAIN; pending error (-ECONNRESET, -ETIMEDOUT, -ECONNREFUSED, -EPIPE); -ENOTCONN |
 * | `shutdown(how)` | 0 or -ENOTCONN / -EINVAL (0 SHUT_RD, 1 SHUT_WR, 2 SHUT_RDWR) |
 * | `close()` | void: FIN (or RST with unread data / SO_LINGER 0); the TCB lives on until CLOSED |
 * | `abort()` | void: RST, CLOSED |
 * | `setOption(name, value)` / `getOption(name)` | 0 / value, or -ENOPROTOOPT / -EINVAL (`TcpOptionName`) |
 * | `error` | pending errno (positive) or 0, read-and-clear (SO_ERROR) |
 * | `poll()` | `Poll` mask: IN, PRI, OUT, ERR, HUP, RDHUP |
 * | `onEvent = (mask) => …` | deferred (never re-entrant), at most once per batch: data ready, write space, state change, urgent data |
 * | `urgentMark()` | unread bytes before the end of pending urgent data, or -1 |
 * | `state`, `laddr`, `lport`, `raddr`, `rport` | read-only |
 * | `tcb` | the connection's control block (data only, `tcb.ts`) |
 *
 * `MsgFlags.PEEK` for recv; `MsgFlags.MORE` (cork this write) and
 * `MsgFlags.OOB` (urgent data) for send.
 *
 * ## How the modules depend (one way, checked by `deno task check`)
 *
 * ```
 * state, config, congestion/, tables, isn, syncookies, scratch   (leaves)
 *   → mem (the memory account), tcb (the records) → family (per-family addressing)
 *   → buffers, collapse → timers, window, rtt, options
 *   → output → send, rcv_queue → lifecycle → recv, sockopt, pressure
 *   → validate, ack, data → input → timeouts (newTcb) → conn6, conn, passive
 *   → sock (TcpSock) → tcp (this file) → tcp6 (IPv6 receive)
 * ```
 *
 * ## Design decisions (documented deviations and choices, DEVIATIONS.md)
 *
 * - MSL 30 s → TIME-WAIT 60 s like Linux (`StackOptions.tcp.msl`; per socket
 *   `TCP_TIMEWAIT_MS`). RFC 1337: RSTs in TIME-WAIT are ignored. RFC 6191: a
 *   SYN with a newer timestamp (or, without timestamps, a higher sequence
 *   number) reopens a TIME-WAIT 4-tuple when a listener exists.
 * - RTO = SRTT + max(4·RTTVAR, 200 ms) (Linux), initial 1 s, max 120 s.
 * - IW10 (RFC 6928, Linux) rather than RFC 5681's ≤ 4 segments.
 * - MSS: advertise MTU − 40; peer MSS floored at 88 (64 payload bytes survive
 *   24 bytes of options); our segments up to a whole datagram (MTU − 40 at 65,536);
 *   a tiny MSS packs several segments per slot (software GSO cuts them).
 * - MUST-7: a segment with a malformed option is dropped and counted
 *   (`tcp.bad_option`, InErrs) — never reset the connection: a forged bad
 *   segment must not be able to kill it (Linux drops too).
 * - Urgent data (MUST-30…33, 62) with RFC 6093 semantics: the pointer marks
 *   the byte after the urgent data; received urgent bytes stay in line
 *   (SO_OOBINLINE), the user learns of them through `Poll.PRI` and
 *   `urgentMark()`; no out-of-band byte is pulled out (RFC 6093 §6 advice).
 * - R2 900 s for data, 180 s for SYNs (MUST-23), TCP_USER_TIMEOUT overrides.
 * - Data on a SYN or SYN-ACK is not queued (no Fast Open), as Linux.
 * - After an RTO the sender goes back N (SND.NXT retreats, BSD style); pure
 *   ACKs and RSTs carry the highest sequence number sent (BSD `snd_max`).
 * - The SYN queue is bounded by the listen backlog (Linux
 *   `inet_csk_reqsk_queue_is_full`); SYNs beyond it get a SYN cookie
 *   (`config.syncookies` 1, default; 2 = always; 0 = drop them; RFC 4987
 *   §3.6, `syncookies.ts`, DEV-23); SYNs while the accept queue is full are
 *   dropped, and a handshake-completing ACK that finds it full is dropped
 *   (`tcp_abort_on_overflow` = 0).
 * - RFC 7323 T2: once timestamps are negotiated, a non-RST segment without
 *   them is dropped (Linux accepts it).
 * - Buffers by true size (`buffers.ts`, `mem.ts`): SO_RCVBUF / SO_SNDBUF
 *   count whole slots and are doubled when set (Linux); the receive buffer
 *   auto-tunes (DRS) up to 512 KiB unless set, the window scale is sized for
 *   that; TCP's memory has tcp_mem marks over the arena: pressure, fair
 *   shares, writers waiting at the high mark, RFC 6429 eviction and an
 *   orphan cap (`pressure.ts`); the receive path is never refused.
 * - ACKs answering out-of-window or PAWS-rejected pure ACKs / SYNs are
 *   rate-limited per connection (500 ms, Linux `tcp_oow_rate_limited`);
 *   an out-of-window SYN gets a challenge ACK (RFC 5961 §7 limit).
 * - An orphan (closed by the user) in persist is aborted after 8 backed-off
 *   zero-window probes even if the peer answers (Linux
 *   `tcp_orphan_retries`, RFC 6429); a socket the user holds is not (MUST-37).
 * - ICMP errors: the errno and fatal bit come from one table
 *   (`ipv4/icmp_errno.ts`, Linux's); a fatal one aborts a connection attempt,
 *   everything else is recorded as a soft error (MUST-56, DEV-13).
 * - Both families: IPv4 and IPv6 TCBs share the tables and the whole state
 *   machine; what differs (route, output, MSS = MTU − 60, the keyed hashes
 *   over the addresses, neighbour confirmation) is in `family.ts`, IPv6
 *   segments arrive through `tcp6.ts`, and bind/connect of an IPv6 TCB are
 *   in `conn6.ts` (DEV-6.8).
 *
 * ## Not yet (later work)
 *
 * SACK loss recovery (RFC 6675) and SACK/D-SACK block generation (blocks
 * received are validated and ignored); CUBIC; RACK-TLP; spurious-retransmit
 * undo; out-of-band reads of urgent data (MSG_OOB on recv); ECN;
 * PMTU discovery (DF is never set);
 * adaptive delayed-ACK timeout / quick-ACK mode; Fast Open; MD5.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import type { DropCounters, TcpStats } from "../core/stats.ts";
import type { IcmpError, InetProtocol, Ipv4Layer } from "../ipv4/layer.ts";
import type { Ipv6Family } from "../ipv6/setup.ts";
import { AddrType } from "../ipv4/layer.ts";
import type { Iface } from "../ipv4/iface.ts";
import { SeededRandom } from "../core/random.ts";
import { Csum, type SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
import type { HotPaths } from "../wasm/bindings.ts";
import { get16, get32, type ParseOptions } from "../wire/bytes.ts";
import { IcmpType, IcmpUnreachableCode } from "../wire/icmp.ts";
import type { Ipv4Repr } from "../wire/ipv4.ts";
import { parseTcpInto, TcpField, TcpFlags, TcpParseScratch } from "../wire/tcp.ts";
import type { CongestionControl } from "./congestion/cc.ts";
import { CONGESTION_ALGORITHMS, congestionByName } from "./congestion/registry.ts";
import { DEFAULT_TCP_CONFIG, type IsnSource, type TcpConfig } from "./config.ts";
import { defaultTcpMemLimits, type TcpMemLimits, TcpMemory } from "./mem.ts";
import { PressureScan } from "./pressure.ts";
import { tcpRcv, timeWaitAcceptsSyn } from "./input.ts";
import { purgeWrite, tcpDone, tcpFail } from "./lifecycle.ts";
import { flushAcks, sendResetFor } from "./output.ts";
import { rcvListen } from "./passive.ts";
import { purgeReceive } from "./rcv_queue.ts";
import { pmtuFragNeeded } from "./recovery.ts";
import { SegmentScratch } from "./scratch.ts";
import { TcpSock } from "./sock.ts";
import { seqAdd, seqInWindow, TcpState } from "./state.ts";
import { SynCookies } from "./syncookies.ts";
import type { TcpTables } from "./tables.ts";
import {
  AckBatch,
  SocketSettings,
  type Tcb,
  type TcpContext,
  type TcpTraceEvent,
  WakeBatch,
} from "./tcb.ts";
import { newTcb } from "./timeouts.ts";
import { clearAllTimers } from "./timers.ts";

/**
 * What {@link TcpProtocol} needs from the stack: the parts of the
 * {@link TcpContext} that come from outside, plus optional overrides.
 *
 * @example
 * ```ts
 * // new TcpProtocol({ clock, ipv4, allocator, hotPaths, tables, isn, stats, drops });
 * ```
 */
export type TcpProtocolOptions =
  & Pick<
    TcpContext,
    "clock" | "ipv4" | "allocator" | "hotPaths" | "tables" | "isn" | "stats" | "drops"
  >
  & {
    /** Overrides of {@link DEFAULT_TCP_CONFIG}. */
    config?: Partial<TcpConfig>;
    /** Congestion control for new connections (default: `config.congestion`, CUBIC). */
    cc?: CongestionControl;
    /** SYN cookie secrets (default: drawn from a fixed seed; the Stack passes its random source). */
    cookies?: SynCookies;
    /** The IPv6 family, for TCP over IPv6 (`tcp6.ts` receives; default none). */
    ipv6?: Ipv6Family;
  };

const NO_VERIFY: ParseOptions = { verifyChecksum: false };

/**
 * The TCP protocol instance of one stack.
 *
 * @example
 * ```ts
 * // const srv = stack.tcp.socket();
 * // srv.bind(0, 8080); srv.listen(16);
 * // srv.onEvent = () => { const c = srv.accept(); … };
 * ```
 */
export class TcpProtocol implements InetProtocol {
  /** What every TCB of this stack shares. */
  readonly ctx: TcpContext;
  /** The addresses of the segment being answered or passed to a listener (reused). */
  readonly #ends = { laddr: 0, raddr: 0, addr6: null, scopeId: 0 };
  /** The header of the segment being received (reused: valid during `rcv` only). */
  readonly #rx = new TcpParseScratch();
  /** Eviction of stuck connections and surplus orphans while memory is under pressure. */
  readonly #scan: PressureScan;

  /** Create the protocol (the Stack does this and registers it as IP protocol 6). */
  constructor(o: TcpProtocolOptions) {
    const config = { ...DEFAULT_TCP_CONFIG, ...o.config };
    const cc = o.cc ?? congestionByName(config.congestion);
    if (cc === null) {
      throw new RangeError(
        `TCP congestion control "${config.congestion}" is unknown (have: ${
          [...CONGESTION_ALGORITHMS.keys()].join(", ")
        })`,
      );
    }
    this.ctx = {
      clock: o.clock,
      ipv4: o.ipv4,
      ipv6: o.ipv6 ?? null,
      allocator: o.allocator,
      hotPaths: o.hotPaths,
      tables: o.tables,
      isn: o.isn,
      cookies: o.cookies ??
        new SynCookies({ now: () => o.clock.now(), rng: new SeededRandom(0x5eed) }),
      stats: o.stats,
      drops: o.drops,
      config,
      cc,
      acks: new AckBatch(),
      socks: new Set(),
      scratch: new SegmentScratch(),
      trace: null,
      timeWaitCount: 0,
      mem: new TcpMemory(memLimits(config, o.allocator.arena.normalLimitBytes)),
      orphans: 0,
      wakes: new WakeBatch(o.clock),
      defaultOpts: new SocketSettings(config),
    };
    this.#scan = new PressureScan(this.ctx);
    const acks = this.ctx.acks;
    acks.run = () => flushAcks(acks);
  }

  /** TCP's memory account: bytes charged, the `tcp_mem` marks, pressure, counters. */
  get mem(): TcpMemory {
    return this.ctx.mem;
  }

  /** Stack-wide settings. */
  get config(): TcpConfig {
    return this.ctx.config;
  }
  /** Every live TCB (listeners, connections, TIME-WAIT, requests). */
  get socks(): Set<Tcb> {
    return this.ctx.socks;
  }
  /** TCP MIB counters. */
  get stats(): TcpStats {
    return this.ctx.stats;
  }
  /** Drop counters by reason. */
  get drops(): DropCounters {
    return this.ctx.drops;
  }
  /** Time source. */
  get clock(): Clock {
    return this.ctx.clock;
  }
  /** IPv4 output and routing. */
  get ipv4(): Ipv4Layer {
    return this.ctx.ipv4;
  }
  /** Packet buffers. */
  get allocator(): SkbAllocator {
    return this.ctx.allocator;
  }
  /** WebAssembly hot paths. */
  get hotPaths(): HotPaths {
    return this.ctx.hotPaths;
  }
  /** Bind / listen / established tables. */
  get tables(): TcpTables<Tcb> {
    return this.ctx.tables;
  }
  /** ISN and timestamp-offset source. */
  get isn(): IsnSource {
    return this.ctx.isn;
  }
  /** TCBs now in TIME-WAIT. */
  get timeWaitCount(): number {
    return this.ctx.timeWaitCount;
  }
  /** Optional state-change hook. */
  get trace(): ((e: TcpTraceEvent) => void) | null {
    return this.ctx.trace;
  }
  set trace(f: ((e: TcpTraceEvent) => void) | null) {
    this.ctx.trace = f;
  }

  /** A new, unbound socket in CLOSED. */
  socket(): TcpSock {
    const tcb = newTcb(this.ctx);
    this.ctx.socks.add(tcb);
    return new TcpSock(tcb);
  }

  /**
   * Handle the TIME-WAIT hand-off from the tables (`tcp_twsk_unique`): kill
   * the TIME-WAIT TCB; the new connection starts above its sequence space
   * and inherits TS.Recent.
   */
  onTimeWaitReuse(tw: Tcb, sk: Tcb): void {
    sk.snd.presetIss = seqAdd(tw.snd.nxt, 65535 + 2) || 1;
    sk.tsRecent = tw.tsRecent;
    sk.tsRecentStamp = tw.tsRecentStamp;
    // KI-1: only the 4-tuple guard ends. A TCB the user still holds keeps its
    // unread data (tcpDone purges and releases only orphans; Linux likewise
    // frees just the timewait mini-socket, never the user's socket).
    tcpDone(tw);
  }

  /** Free every TCB's buffers and timers (stack shutdown). */
  close(): void {
    const ctx = this.ctx;
    this.#scan.stop();
    for (const sk of ctx.socks) {
      clearAllTimers(sk);
      purgeWrite(sk);
      purgeReceive(sk);
      ctx.tables.unhash(sk);
      sk.orphan = true;
    }
    ctx.socks.clear();
  }

  /** IP delivers a TCP segment (`tcp_v4_rcv`). */
  rcv(skb: SkBuff, ip: Ipv4Repr, _iface: Iface): void {
    const ctx = this.ctx;
    const st = ctx.stats;
    const bad = parseTcpInto(
      ctx.allocator.arena.u8,
      skb.data,
      skb.len,
      ip,
      this.#rx,
      skb.ipSummed === Csum.Unnecessary ? NO_VERIFY : undefined,
    );
    if (bad !== null) {
      // MUST-3 (bad checksum) and MUST-7 (malformed options): drop and count.
      st.inErrs++;
      ctx.drops.count(bad);
      skb.free();
      return;
    }
    const th = this.#rx.repr;
    st.inSegs++;
    // MUST-57: nothing for broadcast or multicast destinations (and no RST).
    if (ctx.ipv4.addrType(ip.dst) !== AddrType.LOCAL) {
      ctx.drops.count("tcp.not_unicast");
      skb.free();
      return;
    }
    skb.pull(th.headerLength);
    const tables = ctx.tables;
    const sk = tables.lookupEstablished(ip.dst, th.dstPort, ip.src, th.srcPort);
    if (sk !== null) {
      if (
        sk.state === TcpState.TIME_WAIT && isBareSyn(th.flags) && timeWaitAcceptsSyn(sk, th) &&
        tables.lookupListener(ip.dst, th.dstPort) !== null
      ) {
        // RFC 6191 / MAY-2: a provably newer SYN ends TIME-WAIT early. KI-1:
        // unhash the TCB but keep what the user has not read yet (tcpDone
        // purges only an orphan's queue), as Linux's timewait mini-socket
        // is separate from the user's socket. The SYN goes on to the listener.
        tcpDone(sk);
      } else {
        tcpRcv(sk, skb, th, ip.tos & 3);
        return;
      }
    }
    const ends = this.#ends;
    ends.laddr = ip.dst;
    ends.raddr = ip.src;
    const lsk = tables.lookupListener(ip.dst, th.dstPort);
    if (lsk !== null && lsk.state === TcpState.LISTEN) {
      rcvListen(lsk, skb, th, ends);
      return;
    }
    // RFC 9293 §3.10.7.1: no connection.
    skb.free();
    ctx.drops.count("tcp.no_socket");
    sendResetFor(ctx, th, ends);
  }

  /** An ICMP error about a segment we sent (MUST-54/55/56; RFC 5927). */
  err(e: IcmpError): void {
    const q = e.quote;
    if (q.transportLength < 8 || q.fragmentOffset !== 0) return;
    const u8 = e.u8;
    const off = q.transportOffset;
    const sport = get16(u8, off + TcpField.SRC_PORT);
    const dport = get16(u8, off + TcpField.DST_PORT);
    const seq = get32(u8, off + TcpField.SEQ);
    const sk = this.ctx.tables.lookupEstablished(q.src, sport, q.dst, dport);
    if (sk === null || sk.state === TcpState.TIME_WAIT) return;
    // RFC 5927 §4.1: act only if SND.UNA ≤ SEG.SEQ < SND.NXT (the quoted
    // segment is in flight; SND.MAX is the highest sent, SND.NXT may have
    // retreated).
    if (!seqInWindow(seq, sk.snd.una, sk.snd.max)) {
      this.ctx.drops.count("tcp.icmp_out_of_window");
      return;
    }
    // MUST-55: source quench and the rest are ignored (errno 0).
    if (e.errno === 0) return;
    // Fragmentation needed (RFC 1191): a smaller path MTU.
    if (e.type === IcmpType.DEST_UNREACHABLE && e.code === IcmpUnreachableCode.FRAG_NEEDED) {
      if (sk.state !== TcpState.SYN_SENT && sk.state !== TcpState.LISTEN) {
        pmtuFragNeeded(sk, e.nextHopMtu, q.totalLength);
      }
      return;
    }
    // MUST-56: soft errors never abort; a fatal one aborts a connection attempt.
    if (e.fatal && (sk.state === TcpState.SYN_SENT || sk.state === TcpState.SYN_RECEIVED)) {
      tcpFail(sk, e.errno);
      return;
    }
    // Our own host reporting that the next hop never answered ARP (the
    // neighbour layer's failure, sent to ourselves as host unreachable) is
    // not a router's transient advice: a connection attempt gives up at once
    // with EHOSTUNREACH, as Linux does (`ipv4_link_failure` → `tcp_v4_err` in
    // SYN-SENT), instead of retrying its SYN for minutes. Errors from the
    // network stay soft (MUST-56).
    if (sk.state === TcpState.SYN_SENT && this.ctx.ipv4.isLocal(e.from)) {
      tcpFail(sk, e.errno);
      return;
    }
    sk.softErr = e.errno;
  }
}

/** The configured `tcp_mem` marks, or the defaults for an arena whose socket buffers may use `usable` bytes. */
function memLimits(c: TcpConfig, usable: number): TcpMemLimits {
  const d = defaultTcpMemLimits(usable);
  const high = c.memHigh > 0 ? c.memHigh : d.high;
  const pressure = c.memPressure > 0 ? c.memPressure : Math.min(d.pressure, high);
  const low = c.memLow > 0 ? c.memLow : Math.min(d.low, pressure);
  return { low, pressure, high };
}

/**
 * True when a segment's flags make it a bare SYN.
 *
 * @example
 * ```ts
 * import { isBareSyn } from "./tcp.ts";
 * isBareSyn(0x02); // true
 * isBareSyn(0x12); // false (SYN-ACK)
 * ```
 */
export function isBareSyn(flags: number): boolean {
  return (flags & (TcpFlags.SYN | TcpFlags.ACK | TcpFlags.RST)) === TcpFlags.SYN;
}

export { TcpSock };
