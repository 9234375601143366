/**
 * `UdpSock`: the protocol control block of one UDP socket (Linux `struct
 * udp_sock` with the `struct sock` / `struct inet_sock` fields UDP uses):
 * addresses and ports, options, the receive queue with its byte accounting,
 * the pending error (`sk_err`) and the ICMP error queue (IP_RECVERR).
 *
 * The socket layer reads and writes these fields through its own structural
 * interfaces (`InetSock`), so this module imports nothing from above it.
 *
 * @module
 */
import { SkbQueue } from "../skb/queue.ts";

/**
 * `sk_shutdown` bit: the receive side is shut down (Linux `RCV_SHUTDOWN`).
 *
 * @example
 * ```ts
 * import { RCV_SHUTDOWN } from "./sock.ts";
 * RCV_SHUTDOWN; // 1
 * ```
 */
export const RCV_SHUTDOWN = 1;
/**
 * `sk_shutdown` bit: the send side is shut down (Linux `SEND_SHUTDOWN`).
 *
 * @example
 * ```ts
 * import { SEND_SHUTDOWN } from "./sock.ts";
 * SEND_SHUTDOWN; // 2
 * ```
 */
export const SEND_SHUTDOWN = 2;

/**
 * Bytes charged per queued datagram on top of its buffer slot (Linux adds
 * `sizeof(struct sk_buff)` to `truesize`): a 1-byte datagram still costs a
 * slot plus this, so a flood of tiny datagrams cannot exceed SO_RCVBUF.
 *
 * @example
 * ```ts
 * import { SKB_TRUESIZE_OVERHEAD } from "./sock.ts";
 * SKB_TRUESIZE_OVERHEAD; // 256
 * ```
 */
export const SKB_TRUESIZE_OVERHEAD = 256;

/**
 * Default SO_RCVBUF/SO_SNDBUF in bytes (Linux `net.core.rmem_default` /
 * `wmem_default`).
 *
 * @example
 * ```ts
 * import { UDP_DEFAULT_BUF } from "./sock.ts";
 * UDP_DEFAULT_BUF; // 212992
 * ```
 */
export const UDP_DEFAULT_BUF = 212992;

/**
 * Most entries on one socket's ICMP error queue (IP_RECVERR); later errors
 * are dropped until the application reads some (Linux bounds it by rcvbuf).
 *
 * @example
 * ```ts
 * import { ERR_QUEUE_MAX } from "./sock.ts";
 * ERR_QUEUE_MAX; // 32
 * ```
 */
export const ERR_QUEUE_MAX = 32;

/**
 * One ICMP error queued for `recvmsg(MSG_ERRQUEUE)` (Linux `sock_extended_err`
 * plus the quoted datagram's destination and payload).
 *
 * @example
 * ```ts
 * import type { UdpErrRecord } from "./sock.ts";
 * const e: UdpErrRecord = {
 *   errno: 111, type: 3, code: 3, info: 0, offender: 0xc0000202,
 *   dstAddr: 0xc0000202, dstPort: 9, payload: new Uint8Array(0),
 * };
 * ```
 */
export interface UdpErrRecord {
  /** errno the error maps to (ECONNREFUSED for port unreachable, …). */
  readonly errno: number;
  /** ICMP type and code. */
  readonly type: number;
  /** ICMP code. */
  readonly code: number;
  /** Next-hop MTU for "fragmentation needed", else 0. */
  readonly info: number;
  /** Who sent the ICMP error. */
  readonly offender: number;
  /** Destination address and port of the datagram the error is about. */
  readonly dstAddr: number;
  /** Destination port of that datagram. */
  readonly dstPort: number;
  /** The quoted UDP payload (as much as the ICMP message carried). */
  readonly payload: Uint8Array;
  /** For ICMPv6 errors: the sender of the error (16 bytes). */
  readonly offender6?: Uint8Array;
  /** For ICMPv6 errors: the failed datagram's destination (16 bytes). */
  readonly dstAddr6?: Uint8Array;
}

/**
 * AF_INET6 state of a UDP socket (`ipv6_pinfo` and the `sk_v6_*` fields).
 * IPv4-mapped addresses (`::ffff:a.b.c.d`) are mirrored into the IPv4
 * fields of the socket (`rcvSaddr`, `saddr`, `daddr`), as Linux does, so
 * IPv4 traffic of a dual-stack socket uses the IPv4 code unchanged.
 *
 * @example
 * ```ts
 * import { Udp6State } from "./sock.ts";
 * const s = new Udp6State();
 * s.v6only; // false: dual stack unless IPV6_V6ONLY (Linux bindv6only = 0)
 * ```
 */
export class Udp6State {
  /** Bound address (`sk_v6_rcv_saddr`), :: = any. */
  readonly rcvSaddr: Uint8Array = new Uint8Array(16);
  /** Source of sent datagrams (`np->saddr`), :: = chosen per datagram. */
  readonly saddr: Uint8Array = new Uint8Array(16);
  /** Connected peer (`sk_v6_daddr`), :: = none. */
  readonly daddr: Uint8Array = new Uint8Array(16);
  /** Interface index the socket is bound to (scope of a link-local address), 0 = any. */
  boundIf = 0;
  /** Scope (interface index) of the connected peer, 0 = none. */
  peerScope = 0;
  /** IPV6_V6ONLY. */
  v6only = false;
  /** IPV6_UNICAST_HOPS (-1 = the route's/default). */
  hopLimit: number = -1;
  /** IPV6_MULTICAST_HOPS (default 1). */
  mcHops = 1;
  /** IPV6_TCLASS. */
  tclass = 0;
  /** IPV6_DONTFRAG: fail with EMSGSIZE instead of fragmenting. */
  dontFrag = false;
  /** IPV6_RECVERR. */
  recvErr = false;
}

/**
 * A UDP socket's protocol state. Created by `UdpProtocol.createSock()`.
 *
 * Addresses are unsigned 32-bit numbers; 0 means "any" / "none".
 *
 * @example
 * ```ts
 * import { UdpSock } from "./sock.ts";
 * const sk = new UdpSock(212992, 212992);
 * sk.num; // 0: not bound yet
 * ```
 */
export class UdpSock {
  /** Local port (`inet_num`), 0 while unbound. */
  num = 0;
  /** Local address used to match received datagrams (`inet_rcv_saddr`), 0 = any. */
  rcvSaddr = 0;
  /** Source address of sent datagrams (`inet_saddr`), 0 = the route's choice. */
  saddr = 0;
  /** Default destination after `connect()` (`inet_daddr`), 0 = none. */
  daddr = 0;
  /** Default destination port after `connect()` (`inet_dport`). */
  dport = 0;
  /** Connected (`sk_state == TCP_ESTABLISHED` for UDP). */
  connected = false;
  /** `SOCK_BINDADDR_LOCK` (4) / `SOCK_BINDPORT_LOCK` (8): what bind() fixed. */
  userLocks = 0;

  /** SO_BROADCAST. */
  broadcast = false;
  /** SO_REUSEADDR (`sk_reuse`). */
  reuse = false;
  /** SO_NO_CHECK: send with checksum 0. */
  noCheck = false;
  /** SO_RCVBUF as stored (twice the value set, like Linux). */
  rcvbuf: number;
  /** SO_SNDBUF as stored. */
  sndbuf: number;
  /** IP_TTL, -1 = the stack default. */
  ttl: number = -1;
  /** IP_MULTICAST_TTL (default 1: multicast stays on the local network). */
  mcTtl = 1;
  /** IP_TOS. */
  tos = 0;
  /** IP_FREEBIND. */
  freebind = false;
  /** IP_RECVERR. */
  recvErr = false;
  /** IP_MTU_DISCOVER (0 = DONT: fragment locally, never set DF). */
  pmtudisc = 0;

  /** Pending error (`sk_err`): a positive errno, or 0. */
  err = 0;
  /** `sk_shutdown`: {@link RCV_SHUTDOWN} | {@link SEND_SHUTDOWN}. */
  shutdown = 0;

  /** Received datagrams: `skb.data` at the UDP payload, headers still in front. */
  readonly rcvQueue: SkbQueue = new SkbQueue();
  /** Bytes charged to the receive queue (`sk_rmem_alloc`). */
  rmemAlloc = 0;
  /** Datagrams dropped because the receive queue was full (`sk_drops`). */
  drops = 0;
  /** ICMP errors for `MSG_ERRQUEUE` (only with IP_RECVERR). */
  readonly errQueue: UdpErrRecord[] = [];

  /** True once released (closed); a released socket is in no table. */
  dead = false;

  /** AF_INET6 state, or null for an AF_INET socket. */
  v6: Udp6State | null = null;

  /**
   * Called when the socket becomes readable or an error arrives
   * (`sk_data_ready` / `sk_error_report`); the socket layer wakes its waiters.
   */
  wake: () => void = noop;

  /**
   * A socket with the initial buffer sizes.
   *
   * @param rcvbuf initial SO_RCVBUF (bytes, as stored)
   * @param sndbuf initial SO_SNDBUF (bytes, as stored)
   */
  constructor(rcvbuf: number, sndbuf: number) {
    this.rcvbuf = rcvbuf;
    this.sndbuf = sndbuf;
  }
}

function noop(): void {}
