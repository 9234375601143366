/**
 * The one place that reads TCP's control blocks for observability: the row
 * of `stack.sockets.list()` for a TCB, and the TCBs no descriptor refers to
 * any more. When TCP grows a `TCP_INFO` accessor, only this file changes.
 *
 * @module
 */
import { formatIpv4 } from "../wire/addr.ts";
import { formatIpv6 } from "../wire/addr6.ts";
import { TCP_STATE_NAMES, TcpState } from "../tcp/state.ts";
import type { Tcb } from "../tcp/tcb.ts";
import type { TcpProtocol } from "../tcp/tcp.ts";
import type { SocketInfo } from "./socket_info.ts";

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
