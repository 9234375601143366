/**
 * What `stack.sockets.list()` returns: one row per socket, in the spirit of
 * `ss -tuna -i` (state, addresses, queues, and for TCP the congestion and
 * RTT figures of `TCP_INFO`), plus {@link formatSocketTable} to print them.
 *
 * @module
 */
/**
 * An IPv4 or IPv6 address and port.
 *
 * @example
 * ```ts
 * import type { Endpoint } from "./socket_info.ts";
 * const web: Endpoint = { address: "192.0.2.2", port: 80 };
 * ```
 */
export interface Endpoint {
  /** Dotted quad. */
  readonly address: string;
  /** Port (0: none yet). */
  readonly port: number;
}

/**
 * TCP figures of one connection, as `struct tcp_info` reports them
 * (milliseconds and bytes rather than Linux's µs and segments).
 *
 * @example
 * ```ts
 * import type { TcpConnectionInfo } from "./socket_info.ts";
 * const show = (t: TcpConnectionInfo) => `cwnd ${t.cwnd} B, srtt ${t.srtt} ms`;
 * ```
 */
export interface TcpConnectionInfo {
  /** Congestion window in bytes. */
  readonly cwnd: number;
  /** Slow-start threshold in bytes (a huge number until the first loss). */
  readonly ssthresh: number;
  /** Smoothed RTT in ms (0 before the first sample). */
  readonly srtt: number;
  /** RTT variation in ms. */
  readonly rttvar: number;
  /** Current retransmission timeout in ms (backed off). */
  readonly rto: number;
  /** Send MSS: payload bytes per segment. */
  readonly mss: number;
  /** Retransmissions of the current oldest unacknowledged segment (`tcpi_retransmits`). */
  readonly retransmits: number;
  /** Bytes sent and not yet acknowledged. */
  readonly inFlight: number;
  /** The peer's receive window in bytes. */
  readonly sndWnd: number;
  /** The window we advertise, in bytes. */
  readonly rcvWnd: number;
  /** In fast recovery (NewReno). */
  readonly inRecovery: boolean;
}

/**
 * One socket, as `stack.sockets.list()` reports it.
 *
 * @example
 * ```ts
 * import type { SocketInfo } from "./socket_info.ts";
 * const established = (rows: SocketInfo[]) => rows.filter((r) => r.state === "ESTABLISHED");
 * ```
 */
export interface SocketInfo {
  /** The descriptor; -1 for a TCP connection no descriptor refers to any more (TIME-WAIT, a closing orphan). */
  readonly fd: number;
  /** "tcp" or "udp". */
  readonly protocol: "tcp" | "udp";
  /**
   * TCP: the RFC 9293 state name (`"ESTABLISHED"`, `"TIME-WAIT"`, …). UDP:
   * `"CONNECTED"` after connect(), `"UNCONNECTED"` otherwise.
   */
  readonly state: string;
  /** Local address and port (0.0.0.0:0 before bind). */
  readonly local: Endpoint;
  /** The peer; null when there is none (listeners, unconnected UDP). */
  readonly remote: Endpoint | null;
  /** Recv-Q: bytes received and not yet read; for a listener, connections waiting in the accept queue. */
  readonly recvQueue: number;
  /** Send-Q: bytes queued and not yet acknowledged; for a listener, the backlog. */
  readonly sendQueue: number;
  /** TCP connections (not listeners): congestion and RTT figures. */
  readonly tcp?: TcpConnectionInfo;
}

/**
 * The rows as a table, one line per socket, like `ss -tna -i`:
 * `Proto State Recv-Q Send-Q Local Peer cwnd ssthresh srtt rto retrans`.
 *
 * @example
 * ```ts
 * import { formatSocketTable } from "./socket_info.ts";
 * console.log(formatSocketTable([{
 *   fd: 3, protocol: "tcp", state: "LISTEN", recvQueue: 0, sendQueue: 128,
 *   local: { address: "0.0.0.0", port: 80 }, remote: null,
 * }]));
 * ```
 */
export function formatSocketTable(rows: readonly SocketInfo[]): string {
  const head = [
    "Proto",
    "fd",
    "State",
    "Recv-Q",
    "Send-Q",
    "Local",
    "Peer",
    "cwnd",
    "ssthresh",
    "srtt",
    "rto",
    "retrans",
  ];
  const lines = rows.map((r) => {
    const t = r.tcp;
    return [
      r.protocol,
      r.fd < 0 ? "-" : String(r.fd),
      r.state,
      String(r.recvQueue),
      String(r.sendQueue),
      addr(r.local),
      r.remote === null ? "*:*" : addr(r.remote),
      t ? String(t.cwnd) : "",
      t ? (t.ssthresh >= 0x3fffffff ? "-" : String(t.ssthresh)) : "",
      t ? `${t.srtt.toFixed(1)}ms` : "",
      t ? `${Math.round(t.rto)}ms` : "",
      t ? String(t.retransmits) : "",
    ];
  });
  const all = [head, ...lines];
  const widths = head.map((_, i) => Math.max(...all.map((l) => l[i]!.length)));
  return all.map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

function addr(a: Endpoint): string {
  // IPv6 in brackets, as ss(8) prints it: [2001:db8::1]:80.
  const host = a.address.includes(":") ? `[${a.address}]` : a.address;
  return `${host}:${a.port === 0 ? "*" : a.port}`;
}
