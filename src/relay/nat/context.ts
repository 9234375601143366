/**
 * What the NAT relay's parts share: the gateway stack and its LAN
 * interface, the policy, the limits, the counters and the log.
 *
 * @module
 */
import type { Clock } from "../../core/clock.ts";
import type { Stack } from "../../api/stack.ts";
import type { Iface } from "../../ipv4/iface.ts";
import type { ClientLimits } from "./limits.ts";
import type { EgressPolicy } from "./policy.ts";

/**
 * NAT counters (what the relay's summary line and `stats()` show).
 *
 * @example
 * ```ts
 * import { NatStats } from "./context.ts";
 * new NatStats().tcpOpened; // 0
 * ```
 */
export class NatStats {
  /** TCP sessions set up (outbound connect succeeded). */
  tcpOpened = 0;
  /** TCP sessions open now. */
  tcpActive = 0;
  /** Outbound TCP connects that failed (refused, unreachable, timed out). */
  tcpConnectFailed = 0;
  /** UDP flows set up. */
  udpFlows = 0;
  /** UDP flows open now. */
  udpActive = 0;
  /** Datagrams forwarded (both directions). */
  udpDatagrams = 0;
  /** Refused by the egress policy, by protocol. */
  deniedTcp = 0;
  deniedUdp = 0;
  deniedIcmp = 0;
  /** Refused by a per-client limit (connections or DNS rate). */
  limited = 0;
  /** DNS queries received from pages, forwarded upstream, refused (rate), failed (upstream). */
  dnsQueries = 0;
  dnsForwarded = 0;
  dnsRefused = 0;
  dnsFailed = 0;
  /** ICMP echo requests answered (re-originated) and not. */
  icmpEchoes = 0;
  icmpUnanswered = 0;
  /** Connections through `--forward` rules. */
  forwarded = 0;
  /** Bytes from pages out, and in to pages. */
  bytesUp = 0;
  bytesDown = 0;
}

/** The shared parts. */
export interface NatContext {
  /** The gateway's own netwasm stack on the relay's LAN. */
  readonly stack: Stack;
  /** Its LAN interface. */
  readonly lan: Iface;
  readonly policy: EgressPolicy;
  readonly limits: ClientLimits;
  readonly clock: Clock;
  readonly stats: NatStats;
  /** Log a line (unless quiet). */
  log(line: string): void;
  /** Longest wait for an outbound TCP connect, ms. */
  readonly connectTimeoutMs: number;
  /** Idle time after which a UDP flow is closed, ms. */
  readonly udpIdleMs: number;
}
