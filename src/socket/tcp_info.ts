/**
 * The one place that reads TCP's control blocks for observability: Linux's
 * `struct tcp_info` (`getsockopt(TCP_INFO)`, `conn.info()`), the row of
 * `stack.sockets.list()` for a TCB, and the TCBs no descriptor refers to
 * any more.
 *
 * @module
 */
import { SACKED } from "../skb/skbuff.ts";
import { formatIpv4 } from "../wire/addr.ts";
import { pathMtu } from "../tcp/options.ts";
import { formatIpv6 } from "../wire/addr6.ts";
import { TCP_STATE_NAMES, TcpState } from "../tcp/state.ts";
import { SendRate, type Tcb } from "../tcp/tcb.ts";
import type { TcpProtocol } from "../tcp/tcp.ts";
import type { SocketInfo } from "./socket_info.ts";

/** What a connection that never sent reports (read-only stand-in for a null `snd.rate`). */
const NO_RATE: Readonly<SendRate> = new SendRate();

/**
 * A connection's state as Linux's `struct tcp_info` reports it
 * (`getsockopt(fd, SOL_TCP, TCP_INFO)`, `conn.info()`): the same fields in
 * camelCase and the same units — times of the RTT family in µs, "last" times
 * in ms, windows in segments where Linux counts segments, rates in bytes/s.
 *
 * @example
 * ```ts
 * import type { TcpInfo } from "./tcp_info.ts";
 * const line = (i: TcpInfo) => `cwnd ${i.sndCwnd} rtt ${i.rtt / 1000} ms retrans ${i.totalRetrans}`;
 * ```
 */
export interface TcpInfo {
  /** Linux state number (`tcpi_state`: 1 ESTABLISHED, 2 SYN_SENT, … 10 LISTEN, 11 CLOSING). */
  readonly state: number;
  /** The RFC 9293 state name. */
  readonly stateName: string;
  /** Congestion state (`tcpi_ca_state`): 0 Open, 1 Disorder, 2 CWR, 3 Recovery, 4 Loss. */
  readonly caState: number;
  /** Timeouts of the oldest unacknowledged segment (`tcpi_retransmits`). */
  readonly retransmits: number;
  /** Unanswered zero-window or keepalive probes (`tcpi_probes`). */
  readonly probes: number;
  /** Exponential backoff of the RTO (`tcpi_backoff`). */
  readonly backoff: number;
  /** Negotiated options (`tcpi_options`): 1 timestamps, 2 SACK, 4 window scale, 8 ECN. */
  readonly options: number;
  /** The peer's window scale (`tcpi_snd_wscale`). */
  readonly sndWscale: number;
  /** Our window scale (`tcpi_rcv_wscale`). */
  readonly rcvWscale: number;
  /** Retransmission timeout, µs (`tcpi_rto`). */
  readonly rto: number;
  /** Delayed-ACK timeout, µs (`tcpi_ato`; 0 before any data arrived). */
  readonly ato: number;
  /** Send MSS (`tcpi_snd_mss`). */
  readonly sndMss: number;
  /** Largest segment received, estimated (`tcpi_rcv_mss`). */
  readonly rcvMss: number;
  /** Segments in flight (`tcpi_unacked`). */
  readonly unacked: number;
  /** Segments SACKed (`tcpi_sacked`). */
  readonly sacked: number;
  /** Segments deemed lost (`tcpi_lost`). */
  readonly lost: number;
  /** Retransmitted segments in flight (`tcpi_retrans`). */
  readonly retrans: number;
  /** Always 0, as in Linux since RACK (`tcpi_fackets`). */
  readonly fackets: number;
  /** ms since data was last sent (`tcpi_last_data_sent`). */
  readonly lastDataSent: number;
  /** ms since data was last received (`tcpi_last_data_recv`). */
  readonly lastDataRecv: number;
  /** ms since an ACK was last received (`tcpi_last_ack_recv`). */
  readonly lastAckRecv: number;
  /** Path MTU (`tcpi_pmtu`). */
  readonly pmtu: number;
  /** Smoothed RTT, µs (`tcpi_rtt`). */
  readonly rtt: number;
  /** RTT variation, µs (`tcpi_rttvar`). */
  readonly rttvar: number;
  /** Slow-start threshold in segments (`tcpi_snd_ssthresh`; 2147483647 while "infinite"). */
  readonly sndSsthresh: number;
  /** Congestion window in segments (`tcpi_snd_cwnd`). */
  readonly sndCwnd: number;
  /** MSS we advertised (`tcpi_advmss`). */
  readonly advmss: number;
  /** Reordering degree, segments (`tcpi_reordering`; DupThresh 3). */
  readonly reordering: number;
  /** Segments retransmitted over the connection's life (`tcpi_total_retrans`). */
  readonly totalRetrans: number;
  /**
   * The pacing rate Linux would use, bytes/s (`tcpi_pacing_rate`: 2 · cwnd /
   * SRTT in slow start, 1.2 · cwnd / SRTT after). netwasm does not pace.
   */
  readonly pacingRate: number;
  /** Bytes cumulatively acknowledged (`tcpi_bytes_acked`). */
  readonly bytesAcked: number;
  /** Bytes received in order (`tcpi_bytes_received`). */
  readonly bytesReceived: number;
  /** Segments sent (`tcpi_segs_out`). */
  readonly segsOut: number;
  /** Segments received (`tcpi_segs_in`). */
  readonly segsIn: number;
  /** Bytes queued and not yet sent (`tcpi_notsent_bytes`). */
  readonly notsentBytes: number;
  /** Minimum RTT seen, µs (`tcpi_min_rtt`; 0 before a sample). */
  readonly minRtt: number;
  /** Segments sent with data (`tcpi_data_segs_out`). */
  readonly dataSegsOut: number;
  /** Segments received with data (`tcpi_data_segs_in`). */
  readonly dataSegsIn: number;
  /** The last delivery-rate sample, bytes/s (`tcpi_delivery_rate`; over about one RTT). */
  readonly deliveryRate: number;
  /** That sample was taken while not cwnd-limited (`tcpi_delivery_rate_app_limited`). */
  readonly deliveryRateAppLimited: boolean;
  /** Time spent with data to send, µs (`tcpi_busy_time`). */
  readonly busyTime: number;
  /** Time limited by the peer's window, µs (`tcpi_rwnd_limited`). */
  readonly rwndLimited: number;
  /** Time limited by the send buffer, µs (`tcpi_sndbuf_limited`). */
  readonly sndbufLimited: number;
  /** Segments delivered, SACKed included (`tcpi_delivered`). */
  readonly delivered: number;
  /** Payload bytes sent, retransmissions included (`tcpi_bytes_sent`). */
  readonly bytesSent: number;
  /** Payload bytes retransmitted (`tcpi_bytes_retrans`). */
  readonly bytesRetrans: number;
  /** D-SACK blocks received (`tcpi_dsack_dups`). */
  readonly dsackDups: number;
  /** Times reordering was seen (`tcpi_reord_seen`). */
  readonly reordSeen: number;
  /** The peer's window, bytes (`tcpi_snd_wnd`). */
  readonly sndWnd: number;
  /** The window we advertise, bytes (`tcpi_rcv_wnd`). */
  readonly rcvWnd: number;
  /** The congestion-control algorithm (`TCP_CONGESTION`). */
  readonly congestion: string;
}

/** Linux's TCP state numbers (`include/net/tcp_states.h`) by netwasm's TcpState. */
const LINUX_STATE = [7, 10, 2, 3, 1, 4, 5, 8, 11, 9, 6] as const;
/** Linux TCP_INFINITE_SSTHRESH. */
const INFINITE_SSTHRESH = 0x7fffffff;

/**
 * Linux's `struct tcp_info` for a TCB (`tcp_get_info`).
 *
 * @example
 * ```ts
 * import { tcpInfo } from "./tcp_info.ts";
 * // const i = tcpInfo(sock.tcb); i.sndCwnd, i.rtt, i.totalRetrans
 * ```
 *
 * @internal
 */
export function tcpInfo(tcb: Tcb): TcpInfo {
  const snd = tcb.snd;
  const rcv = tcb.rcv;
  const cong = tcb.cong;
  const now = tcb.now();
  const mss = Math.max(1, snd.mss);
  let unacked = 0, sacked = 0, lost = 0, retrans = 0;
  for (let skb = snd.queue.head; skb !== null && skb !== snd.head; skb = skb.next) {
    const n = Math.max(1, Math.ceil(skb.len / mss));
    unacked += n;
    if (skb.sacked & SACKED.SACKED_ACKED) sacked += n;
    if (skb.sacked & SACKED.LOST) lost += n;
    if (skb.sacked & SACKED.SACKED_RETRANS) retrans += n;
  }
  const synced = tcb.state !== TcpState.CLOSED && tcb.state !== TcpState.LISTEN &&
    tcb.state !== TcpState.SYN_SENT;
  const srtt = tcb.rtt.srtt;
  const pacing = srtt > 0 ? (cong.cwnd / (srtt / 1000)) * (cong.cwnd < cong.ssthresh ? 2 : 1.2) : 0;
  const r = snd.rate ?? NO_RATE;
  const running = (type: number) => r.chronoType === type ? now - r.chronoStart : 0;
  return {
    state: LINUX_STATE[tcb.state] ?? 7,
    stateName: TCP_STATE_NAMES[tcb.state] ?? `STATE-${tcb.state}`,
    caState: cong.state,
    retransmits: snd.retransmits,
    probes: tcb.timers.probesOut,
    backoff: tcb.rtt.backoff,
    options: (tcb.tsOk ? 1 : 0) | (tcb.sackOk ? 2 : 0) | (tcb.wscaleOk ? 4 : 0) |
      (tcb.ecnOk ? 8 : 0),
    sndWscale: tcb.wscaleOk ? snd.wscale : 0,
    rcvWscale: tcb.wscaleOk ? rcv.wscale : 0,
    rto: Math.round(tcb.rtt.rto * 1000),
    ato: Math.round(rcv.ato * 1000),
    sndMss: snd.mss,
    rcvMss: rcv.mss,
    unacked,
    sacked,
    lost,
    retrans,
    fackets: 0,
    lastDataSent: snd.lastSend > 0 ? Math.round(now - snd.lastSend) : 0,
    lastDataRecv: rcv.lastDataRcv > 0 ? Math.round(now - rcv.lastDataRcv) : 0,
    lastAckRecv: snd.lastAckRcv > 0 ? Math.round(now - snd.lastAckRcv) : 0,
    pmtu: synced ? pathMtu(tcb) : 0,
    rtt: Math.round(srtt * 1000),
    rttvar: Math.round(tcb.rtt.rttvar * 1000),
    sndSsthresh: cong.ssthresh >= INFINITE_SSTHRESH
      ? INFINITE_SSTHRESH
      : Math.floor(cong.ssthresh / mss),
    sndCwnd: Math.floor(cong.cwnd / mss),
    advmss: rcv.advmss,
    reordering: 3,
    totalRetrans: cong.loss?.totalRetrans ?? 0,
    pacingRate: Math.round(pacing),
    bytesAcked: snd.bytesAcked,
    bytesReceived: rcv.bytesReceived,
    segsOut: snd.segsOut,
    segsIn: rcv.segsIn,
    notsentBytes: Math.max(0, (snd.writeSeq - snd.nxt) | 0),
    minRtt: cong.minRtt === Infinity ? 0 : Math.round(cong.minRtt * 1000),
    dataSegsOut: snd.dataSegsOut,
    dataSegsIn: rcv.dataSegsIn,
    deliveryRate: r.deliveryRate,
    deliveryRateAppLimited: r.rateAppLimited,
    busyTime: Math.round((r.busyTime + running(1)) * 1000),
    rwndLimited: Math.round((r.rwndLimitedTime + running(2)) * 1000),
    sndbufLimited: Math.round((r.sndbufLimitedTime + running(3)) * 1000),
    delivered: Math.round(snd.delivered / mss),
    bytesSent: snd.bytesSent,
    bytesRetrans: cong.loss?.bytesRetrans ?? 0,
    dsackDups: snd.sackIn?.dsackDups ?? 0,
    reordSeen: cong.loss?.reordSeen ?? 0,
    sndWnd: snd.wnd,
    rcvWnd: rcv.wnd,
    congestion: cong.algorithm.name,
  };
}

/**
 * A TCB as a socket-table row (`fd` as given: -1 for one no descriptor
 * refers to).
 *
 * @example
 * ```ts
 * import { tcpSocketInfo } from "./tcp_info.ts";
 * // const row = tcpSocketInfo(streamSock.tcp.tcb, 3);
 * // row.state === "ESTABLISHED"; row.tcp?.cwnd
 * ```
 *
 * @internal
 */
export function tcpSocketInfo(tcb: Tcb, fd: number): SocketInfo {
  const listening = tcb.state === TcpState.LISTEN;
  const closed = tcb.state === TcpState.CLOSED;
  const a6 = tcb.addr6;
  const connected = !listening && !closed && (a6 !== null || tcb.raddr !== 0);
  return {
    fd,
    protocol: "tcp",
    state: TCP_STATE_NAMES[tcb.state] ?? `STATE-${tcb.state}`,
    local: { address: a6 !== null ? formatIpv6(a6, 0) : formatIpv4(tcb.laddr), port: tcb.lport },
    remote: connected
      ? { address: a6 !== null ? formatIpv6(a6, 16) : formatIpv4(tcb.raddr), port: tcb.rport }
      : null,
    recvQueue: listening ? (tcb.listen?.acceptQueue.length ?? 0) : tcb.rcv.queued,
    sendQueue: listening ? (tcb.listen?.backlog ?? 0) : Math.max(0, tcb.snd.queued),
    ...(connected
      ? {
        tcp: {
          cwnd: tcb.cong.cwnd,
          ssthresh: tcb.cong.ssthresh,
          srtt: tcb.rtt.srtt,
          rttvar: tcb.rtt.rttvar,
          rto: tcb.rtt.rto,
          mss: tcb.snd.mss,
          retransmits: tcb.snd.retransmits,
          inFlight: Math.max(0, tcb.snd.flight),
          sndWnd: tcb.snd.wnd,
          rcvWnd: tcb.rcv.wnd,
          inRecovery: tcb.cong.inRecovery,
        },
      }
      : {}),
  };
}

/**
 * Rows for the connections of `tcp` that no descriptor refers to (closed by
 * the user and finishing: FIN-WAIT, TIME-WAIT; handshakes not yet accepted),
 * `attached` being the TCBs of open descriptors.
 *
 * @example
 * ```ts
 * import { tcpUnattachedInfo } from "./tcp_info.ts";
 * // tcpUnattachedInfo(stack.tcp, new Set()) lists every TCB with fd -1
 * ```
 *
 * @internal
 */
export function tcpUnattachedInfo(tcp: TcpProtocol, attached: ReadonlySet<Tcb>): SocketInfo[] {
  const rows: SocketInfo[] = [];
  for (const tcb of tcp.socks) {
    if (!attached.has(tcb) && tcb.state !== TcpState.CLOSED) rows.push(tcpSocketInfo(tcb, -1));
  }
  return rows;
}
