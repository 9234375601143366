/**
 * TCP's constants and settings: stack-wide configuration (Linux sysctls),
 * the socket option names TCP understands, and the bit sets the ops API
 * speaks (`Shutdown`, `Poll`, `MsgFlags`) plus the timer-slot kinds. A leaf:
 * it imports nothing from `src/tcp/`.
 *
 * @module
 */
import type { Ipv4Address } from "../wire/addr.ts";

/**
 * `sk_shutdown` bits.
 *
 * @example
 * ```ts
 * import { Shutdown } from "./config.ts";
 * Shutdown.BOTH === (Shutdown.RCV | Shutdown.SEND); // true
 * ```
 */
export const Shutdown = { RCV: 1, SEND: 2, BOTH: 3 } as const;

/**
 * Readiness bits (Linux `EPOLL*` values).
 *
 * @example
 * ```ts
 * import { Poll } from "./config.ts";
 * const readable = (mask: number) => (mask & (Poll.IN | Poll.HUP)) !== 0;
 * ```
 */
export const Poll = {
  IN: 0x001,
  PRI: 0x002,
  OUT: 0x004,
  ERR: 0x008,
  HUP: 0x010,
  RDHUP: 0x2000,
} as const;

/**
 * `send()` / `recv()` flags (Linux values).
 *
 * @example
 * ```ts
 * import { MsgFlags } from "./config.ts";
 * // sk.send(header, MsgFlags.MORE); sk.send(body);
 * MsgFlags.PEEK; // 2
 * ```
 */
export const MsgFlags = {
  /** Urgent data (RFC 9293 §3.8.5): the end of this send becomes the urgent pointer. */
  OOB: 0x1,
  /** Peek at received data without consuming it. */
  PEEK: 0x2,
  /** More data follows: hold a partial segment (cork for this call). */
  MORE: 0x8000,
} as const;

/**
 * Timer slots (Linux `ICSK_TIME_*`): what the retransmit/probe slot is armed for.
 *
 * @example
 * ```ts
 * import { TimerKind } from "./config.ts";
 * TimerKind.PROBE; // 2: the persist timer is armed
 * ```
 */
export const TimerKind = {
  NONE: 0,
  /** The retransmission timeout (RFC 6298). */
  RETRANS: 1,
  /** The persist timer (zero-window probes). */
  PROBE: 2,
  /** The tail loss probe (RFC 8985 §7, Linux ICSK_TIME_LOSS_PROBE). */
  LOSS_PROBE: 3,
  /** RACK's reordering-window timer (RFC 8985 §6.3, Linux ICSK_TIME_REO_TIMEOUT). */
  REO: 4,
} as const;

/**
 * Socket options understood by `TcpSock.setOption` (Linux units).
 *
 * @example
 * ```ts
 * import type { TcpOptionName } from "./config.ts";
 * const opt: TcpOptionName = "TCP_NODELAY";
 * ```
 */
export type TcpOptionName =
  | "TCP_NODELAY" // 0/1
  | "TCP_CORK" // 0/1
  | "TCP_MAXSEG" // bytes (user MSS, before connect)
  | "SO_KEEPALIVE" // 0/1
  | "TCP_KEEPIDLE" // seconds
  | "TCP_KEEPINTVL" // seconds
  | "TCP_KEEPCNT" // probes
  | "SO_LINGER" // seconds, -1 = off
  | "SO_RCVBUF" // bytes
  | "SO_SNDBUF" // bytes
  | "SO_REUSEADDR" // 0/1
  | "TCP_USER_TIMEOUT" // ms, 0 = default R2
  | "TCP_TIMEWAIT_MS" // TIME-WAIT length in ms (default 2 × MSL)
  | "IP_TTL" // 1…255, -1 = the stack default (MUST-49)
  | "IP_TOS" // 0…255; the two ECN bits are TCP's and kept 0 (MUST-48)
  | "TCP_ECN" // netwasm: -1 = the stack's `ecn`, else 0/1/2 as `TcpConfig.ecn`
  | "IP_MTU_DISCOVER" // 0 DONT, 1 WANT (default), 2 DO, 3 PROBE (Linux IP_PMTUDISC_*)
  | "IP_MTU"; // read-only: the path MTU of a connected socket

/**
 * Stack-wide TCP settings (Linux sysctls). Times in ms.
 *
 * @example
 * ```ts
 * import type { TcpConfig } from "./config.ts";
 * const fast: Partial<TcpConfig> = { msl: 1000, rtoMin: 50 };
 * ```
 */
export interface TcpConfig {
  /** Maximum segment lifetime; TIME-WAIT lasts 2 × MSL (default 30 000 → 60 s, Linux TCP_TIMEWAIT_LEN). */
  msl: number;
  /** RTO floor (default 200, Linux TCP_RTO_MIN; RFC 6298 suggests 1 s — documented deviation). */
  rtoMin: number;
  /** RTO ceiling (default 120 000, Linux TCP_RTO_MAX). */
  rtoMax: number;
  /** RTO before any RTT sample (default 1000, RFC 6298 §2.1). */
  rtoInitial: number;
  /** Give up a SYN after this long (default 180 000 ≥ 3 min, MUST-23). */
  synR2: number;
  /** Give up retransmitting data after this long (default 900 000 ≈ Linux tcp_retries2=15; ≥ 100 s, SHLD-11). */
  r2: number;
  /** Delayed-ACK timeout (default 40, Linux TCP_DELACK_MIN; < 500, MUST-40). */
  delack: number;
  /** SYN-ACK retransmissions before a SYN-queue entry is dropped (default 5, Linux tcp_synack_retries). */
  synAckRetries: number;
  /** Orphaned FIN-WAIT-2 timeout (default 60 000, Linux tcp_fin_timeout). */
  finTimeout: number;
  /**
   * Default receive buffer (bytes of arena slots the receive queues may
   * hold, true size; default 262 144, Linux tcp_rmem[1]). Auto-tuning grows
   * it up to `rmemMax` unless SO_RCVBUF was set.
   */
  rcvbuf: number;
  /**
   * Default send buffer (bytes of arena slots the write queue may hold, true
   * size; default 262 144). It grows with the congestion window up to
   * `wmemMax` unless SO_SNDBUF was set.
   */
  sndbuf: number;
  /** Receive-buffer auto-tuning, DRS (default true, Linux tcp_moderate_rcvbuf). */
  moderateRcvbuf: boolean;
  /**
   * Largest receive buffer auto-tuning grows to (default 524 280 = 65 535 ×
   * 8, the most a window scale of 3 covers; Linux tcp_rmem[2] is 6 MiB).
   * Larger caps measurably lost throughput in the seeded transfer matrix:
   * bursts beyond a device's 1000-frame receive backlog on links without
   * segmentation offload, and more go-back-N timeouts under random loss.
   */
  rmemMax: number;
  /** Largest send buffer the congestion window grows it to (default 524 280, as `rmemMax`; Linux tcp_wmem[2] is 4 MiB). */
  wmemMax: number;
  /** Send memory a socket always gets, even at the high mark (default 8192, Linux tcp_wmem[0]). */
  wmemMin: number;
  /** Receive memory a socket keeps under pressure (default 8192, Linux tcp_rmem[0]). */
  rmemMin: number;
  /**
   * TCP's memory marks in bytes of arena slots (Linux tcp_mem): pressure
   * above `memPressure` until back below `memLow`; send allocations fail
   * above `memHigh`. 0 = derived from the arena (a quarter, three eighths
   * and a half of what NORMAL allocations may use).
   */
  memLow: number;
  /** See {@link TcpConfig.memLow}. */
  memPressure: number;
  /** See {@link TcpConfig.memLow}. */
  memHigh: number;
  /** Orphans (closed by the user, still finishing) beyond this are reset (default 4096, Linux tcp_max_orphans). */
  maxOrphans: number;
  /**
   * Under memory pressure, a connection whose data has made no progress for
   * this long while the peer's window is zero or below one segment is reset
   * (RFC 6429; default 5000 ms). 0 = never.
   */
  stuckTimeout: number;
  /** Offer window scaling (default true). */
  windowScaling: boolean;
  /** Offer timestamps (default true). */
  timestamps: boolean;
  /** Offer SACK-permitted (default true, RFC 2018; Linux tcp_sack). */
  sack: boolean;
  /** Report duplicates as D-SACK blocks when SACK is on (default true, RFC 2883; Linux tcp_dsack). */
  dsack: boolean;
  /**
   * Congestion control for new connections, by name (default "cubic": RFC
   * 9438 with HyStart++, as Linux; "reno" for NewReno). Per socket:
   * `TCP_CONGESTION`.
   */
  congestion: string;
  /** Tail loss probes for SACK connections (default true, RFC 8985 §7; Linux tcp_early_retrans 3). */
  tlp: boolean;
  /** F-RTO: tell spurious retransmission timeouts apart and undo them (default true, RFC 5682; Linux tcp_frto). */
  frto: boolean;
  /**
   * ECN (RFC 3168; Linux tcp_ecn): 0 = off, 1 = ask for it on connections
   * we open and accept it on those we accept, 2 = only accept it when asked
   * (default, as Linux). Per socket: `TCP_ECN`.
   */
  ecn: 0 | 1 | 2;
  /**
   * Smallest path MTU an ICMP "fragmentation needed" may set (default 552,
   * Linux min_pmtu; RFC 1191 §6.1 needs ≥ 68): a forged tiny MTU cannot
   * shrink segments below it — the path MTU stops there and DF is cleared.
   */
  pmtuMin: number;
  /** A path MTU learnt from ICMP is forgotten after this long (default 600 000 ms, RFC 1191 §6.3, Linux mtu_expires). */
  pmtuExpires: number;
  /**
   * Packetization-layer PMTU discovery (RFC 4821; Linux tcp_mtu_probing):
   * 0 off, 1 on once a black hole is suspected (repeated timeouts; default),
   * 2 always.
   */
  mtuProbing: 0 | 1 | 2;
  /** Payload size PLPMTUD starts its search from (default 1024, Linux tcp_base_mss). */
  baseMss: number;
  /** Time between PLPMTUD searches (default 600 000 ms, Linux tcp_probe_interval). */
  mtuProbeInterval: number;
  /** Smallest send MSS accepted from a peer (default 88: 64 bytes of payload survive 24 of options; §8 rows 7/11). */
  minMss: number;
  /**
   * Largest segment payload we build (default 65,495: a whole 65,535-byte
   * IPv4 datagram, so a link with MTU 65,536 such as loopback gets segments
   * of MTU − 40 as in Linux; they fit the arena's 65 KiB slots).
   */
  maxSegment: number;
  /** Keepalive idle time (default 7 200 000 = 2 h, MUST-28). */
  keepIdle: number;
  /** Keepalive probe interval (default 75 000). */
  keepIntvl: number;
  /** Keepalive probes before giving up (default 9). */
  keepCnt: number;
  /** Challenge ACKs per connection per second (default 10; RFC 5961 §7, no global counter). */
  challengeAckLimit: number;
  /** Cap on out-of-order segments held per connection (default 256, §8 row 8). */
  maxOfoSegments: number;
  /** Minimum ms between ACKs answering out-of-window / PAWS-rejected pure ACKs or SYNs, per connection (default 500, Linux tcp_invalid_ratelimit; 0 = off). */
  invalidRateLimit: number;
  /** Zero-window probes (backoff count) before an orphaned socket in persist is aborted (default 8, Linux tcp_orphan_retries = 0 → 8; RFC 6429). */
  orphanRetries: number;
  /** Cap on TIME-WAIT TCBs; beyond it a closing connection skips TIME-WAIT (default 16 384, Linux tcp_max_tw_buckets; §8 row 18). */
  maxTimeWait: number;
  /**
   * SYN cookies (RFC 4987 §3.6; Linux tcp_syncookies): 0 = off (a SYN that
   * finds the queues full is dropped), 1 = only when the SYN queue or the
   * accept queue is full (default), 2 = for every SYN.
   */
  syncookies: 0 | 1 | 2;
  /**
   * Largest listen backlog: `listen()` asks are capped to it (default 4096,
   * Linux `net.core.somaxconn`). A server that expects bursts of thousands of
   * simultaneous connection attempts raises it along with its backlog.
   */
  somaxconn: number;
}

/**
 * Defaults for {@link TcpConfig}.
 *
 * @example
 * ```ts
 * import { DEFAULT_TCP_CONFIG } from "./config.ts";
 * 2 * DEFAULT_TCP_CONFIG.msl; // 60000: TIME-WAIT like Linux
 * ```
 */
export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = Object.freeze({
  msl: 30_000,
  rtoMin: 200,
  rtoMax: 120_000,
  rtoInitial: 1000,
  synR2: 180_000,
  r2: 900_000,
  delack: 40,
  synAckRetries: 5,
  finTimeout: 60_000,
  rcvbuf: 262_144,
  sndbuf: 262_144,
  moderateRcvbuf: true,
  rmemMax: 524_280,
  wmemMax: 524_280,
  wmemMin: 8192,
  rmemMin: 8192,
  memLow: 0,
  memPressure: 0,
  memHigh: 0,
  maxOrphans: 4096,
  stuckTimeout: 5000,
  windowScaling: true,
  timestamps: true,
  sack: true,
  dsack: true,
  congestion: "cubic",
  tlp: true,
  frto: true,
  ecn: 2,
  pmtuMin: 552,
  pmtuExpires: 600_000,
  mtuProbing: 1,
  baseMss: 1024,
  mtuProbeInterval: 600_000,
  minMss: 88,
  maxSegment: 65_495,
  keepIdle: 7_200_000,
  keepIntvl: 75_000,
  keepCnt: 9,
  challengeAckLimit: 10,
  maxOfoSegments: 256,
  invalidRateLimit: 500,
  orphanRetries: 8,
  maxTimeWait: 16_384,
  syncookies: 1,
  somaxconn: 4096,
});

/**
 * Generates ISNs and timestamp offsets (implemented in `isn.ts`).
 *
 * @example
 * ```ts
 * import type { IsnSource } from "./config.ts";
 * const fixed: IsnSource = {
 *   isn: () => 1000,
 *   tsOffset: () => 0,
 *   isn6: () => 1000,
 *   tsOffset6: () => 0,
 * }; // tests only
 * ```
 */
export interface IsnSource {
  /** The ISN for a 4-tuple (keyed hash plus clock, RFC 9293 §3.4.1). */
  isn(laddr: Ipv4Address, lport: number, raddr: Ipv4Address, rport: number): number;
  /** Random timestamp offset for an address pair (RFC 7323 §7.1). */
  tsOffset(laddr: Ipv4Address, raddr: Ipv4Address): number;
  /** The ISN of an IPv6 4-tuple: `a6` holds the local address at 0 and the remote at 16. */
  isn6(a6: Uint8Array, lport: number, rport: number): number;
  /** The timestamp offset of an IPv6 address pair (`a6` as for `isn6`). */
  tsOffset6(a6: Uint8Array): number;
}
