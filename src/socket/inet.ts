/**
 * The INET pieces every IPv4 socket type shares (`net/ipv4/af_inet.c`):
 * `inet_bind`, `inet_getname` and the datagram part of `inet_shutdown`, over
 * the fields an IPv4 control block has ({@link InetSock}). UDP uses them
 * through `InetDgramOps` (and `PROT_SOCK`); TCP's `inetStreamOps`
 * (`inet_stream.ts`) follows the same steps over its TCB, which keeps these
 * fields itself.
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { AddrType } from "../ipv4/layer.ts";
import {
  type ParsedAddr,
  parseSockAddr,
  sockAddr,
  type SockAddrIn,
  type SockAddrInput,
} from "./address.ts";
import { AF_UNSPEC } from "./constants.ts";
import type { SockCommon, Socket } from "./socket.ts";

/**
 * Ports below this need privilege (Linux `PROT_SOCK`, CAP_NET_BIND_SERVICE).
 *
 * @example
 * ```ts
 * import { PROT_SOCK } from "./inet.ts";
 * 53 < PROT_SOCK; // true: binding DNS needs the privilege
 * ```
 */
export const PROT_SOCK = 1024;
/**
 * `sk_userlocks`: bind() fixed the local address (Linux `SOCK_BINDADDR_LOCK`).
 *
 * @example
 * ```ts
 * import { SOCK_BINDADDR_LOCK } from "./inet.ts";
 * SOCK_BINDADDR_LOCK; // 4
 * ```
 */
export const SOCK_BINDADDR_LOCK = 4;
/**
 * `sk_userlocks`: bind() fixed the local port (Linux `SOCK_BINDPORT_LOCK`).
 *
 * @example
 * ```ts
 * import { SOCK_BINDPORT_LOCK } from "./inet.ts";
 * SOCK_BINDPORT_LOCK; // 8
 * ```
 */
export const SOCK_BINDPORT_LOCK = 8;

/**
 * The `inet_sock` fields the INET helpers read and write. Addresses are
 * unsigned 32-bit numbers, 0 = any/none.
 *
 * @example
 * ```ts
 * import type { InetSock } from "./inet.ts";
 * // UdpSock (src/udp/sock.ts) has every one of these fields.
 * type LocalPort = InetSock["num"]; // number
 * ```
 */
export interface InetSock extends SockCommon {
  /** Local port (`inet_num`), 0 while unbound. */
  num: number;
  /** Local address for lookups (`inet_rcv_saddr`). */
  rcvSaddr: number;
  /** Source address for sending (`inet_saddr`). */
  saddr: number;
  /** Peer address and port once connected. */
  daddr: number;
  /** Peer port once connected. */
  dport: number;
  /** {@link SOCK_BINDADDR_LOCK} | {@link SOCK_BINDPORT_LOCK}. */
  userLocks: number;
  /** SO_BROADCAST, SO_REUSEADDR, SO_NO_CHECK. */
  broadcast: boolean;
  /** SO_REUSEADDR. */
  reuse: boolean;
  /** SO_NO_CHECK. */
  noCheck: boolean;
  /** SO_RCVBUF / SO_SNDBUF as stored (twice what was set). */
  rcvbuf: number;
  /** SO_SNDBUF as stored. */
  sndbuf: number;
  /** IP_TTL (-1 = default), IP_MULTICAST_TTL, IP_TOS. */
  ttl: number;
  /** IP_MULTICAST_TTL. */
  mcTtl: number;
  /** IP_TOS. */
  tos: number;
  /** IP_FREEBIND, IP_RECVERR, IP_MTU_DISCOVER. */
  freebind: boolean;
  /** IP_RECVERR. */
  recvErr: boolean;
  /** IP_MTU_DISCOVER. */
  pmtudisc: number;
}

/**
 * What INET sockets need from the stack and its "sysctls".
 *
 * @example
 * ```ts
 * import type { InetConfig } from "./inet.ts";
 * // { addrType: (a) => stack.ipv4.addrType(a), defaultTtl: 64,
 * //   allowPrivilegedPorts: true, nonlocalBind: false }
 * ```
 */
export interface InetConfig {
  /** Classify an address (`inet_addr_type`). */
  addrType(a: number): AddrType;
  /** TTL used when IP_TTL is -1. */
  readonly defaultTtl: number;
  /** May ports below 1024 be bound (the process has CAP_NET_BIND_SERVICE)? */
  allowPrivilegedPorts: boolean;
  /** `net.ipv4.ip_nonlocal_bind`: bind any address, as IP_FREEBIND does per socket. */
  nonlocalBind: boolean;
}

/**
 * The protocol's `get_port`: claim `port` (0 = pick an ephemeral one); 0 or -errno.
 *
 * @example
 * ```ts
 * import type { PortClaimer } from "./inet.ts";
 * // UdpProtocol is one: udp.getPort(sk, 0) → 0, sk.num is now set
 * const never: PortClaimer<unknown> = { getPort: () => -98 };
 * ```
 */
export interface PortClaimer<S> {
  /** Bind `sk` to `port` (0: an ephemeral one): 0 or -errno. */
  getPort(sk: S, port: number): number;
}

/**
 * `inet_bind` (Linux `net/ipv4/af_inet.c`; tests/socket/inet_dgram_test.ts), step by step: parse (EINVAL / EAFNOSUPPORT;
 * AF_UNSPEC only with INADDR_ANY), address class (EADDRNOTAVAIL unless
 * local, broadcast or multicast, IP_FREEBIND or ip_nonlocal_bind), privileged
 * port (EACCES), already bound or active (EINVAL), then `get_port`
 * (EADDRINUSE). A broadcast/multicast bind keeps saddr 0 so datagrams are
 * sent from the interface's address (RFC 1122 §4.1.3.6, U6).
 *
 * @example
 * ```ts
 * // inetBind(sock, { address: "192.0.2.1", port: 53 }, config, scratch, udp, false)
 * ```
 */
export function inetBind<S extends InetSock>(
  sock: Socket<S>,
  input: SockAddrInput,
  cfg: InetConfig,
  p: ParsedAddr,
  protocol: PortClaimer<S>,
  active: boolean,
): number {
  const sk = sock.sk;
  const r = parseSockAddr(input, p);
  if (r < 0) return r;
  if (p.family === AF_UNSPEC && p.addr !== 0) return -Errno.EAFNOSUPPORT;
  const kind = cfg.addrType(p.addr);
  // Step 4: "servers still start while a dynamic link is down" is what
  // ip_nonlocal_bind / IP_FREEBIND are for.
  if (!cfg.nonlocalBind && !sk.freebind && p.addr !== 0 && kind === AddrType.UNICAST) {
    sock.why = "address not available on any interface";
    return -Errno.EADDRNOTAVAIL;
  }
  // Step 5: PROT_SOCK without CAP_NET_BIND_SERVICE.
  if (p.port !== 0 && p.port < PROT_SOCK && !cfg.allowPrivilegedPorts) {
    sock.why = `ports below ${PROT_SOCK} need privilege (Stack option allowPrivilegedPorts)`;
    return -Errno.EACCES;
  }
  // Step 6: an active socket, or a double bind.
  if (active || sk.num !== 0) {
    sock.why = "the socket is already bound";
    return -Errno.EINVAL;
  }
  // Step 7: rcv_saddr for lookups; saddr 0 ("use the device") for broadcast/multicast.
  sk.rcvSaddr = sk.saddr = p.addr;
  if (kind === AddrType.MULTICAST || kind === AddrType.BROADCAST) sk.saddr = 0;
  // Step 8.
  if (protocol.getPort(sk, p.port) < 0) {
    sk.rcvSaddr = sk.saddr = 0;
    if (p.port === 0) sock.why = "no free port in the local port range";
    return -Errno.EADDRINUSE;
  }
  // Step 9–10.
  if (sk.rcvSaddr !== 0) sk.userLocks |= SOCK_BINDADDR_LOCK;
  if (p.port !== 0) sk.userLocks |= SOCK_BINDPORT_LOCK;
  sk.daddr = 0;
  sk.dport = 0;
  return 0;
}

/**
 * `inet_getname`: the local address (`rcv_saddr`, else `saddr`) and port, or
 * with `peer` the connected peer (ENOTCONN when there is none).
 *
 * @example
 * ```ts
 * // inetGetname(sk, true, sk.connected) → { family: 2, address, port } or -107
 * ```
 */
export function inetGetname(sk: InetSock, peer: boolean, connected: boolean): SockAddrIn | number {
  if (peer) {
    if (!connected) return -Errno.ENOTCONN;
    return sockAddr(sk.daddr, sk.dport);
  }
  return sockAddr(sk.rcvSaddr !== 0 ? sk.rcvSaddr : sk.saddr, sk.num);
}

/**
 * `inet_shutdown` for sockets without a connection state machine: `how` 0/1/2
 * (else EINVAL) becomes RCV/SEND shutdown bits. An unconnected socket
 * (TCP_CLOSE) reports ENOTCONN **but still records the bits** (Linux `inet_shutdown`:
 * the CLOSE case falls through), then waiters are woken (`sk_state_change`).
 *
 * @example
 * ```ts
 * // inetShutdown(sk, SHUT_WR, sk.connected) → 0; the next send fails with EPIPE
 * ```
 */
export function inetShutdown(sk: InetSock, how: number, connected: boolean): number {
  if (!(how === 0 || how === 1 || how === 2)) return -Errno.EINVAL;
  sk.shutdown |= how + 1; // SHUT_RD→RCV_SHUTDOWN, SHUT_WR→SEND_SHUTDOWN, SHUT_RDWR→both
  sk.wake();
  return connected ? 0 : -Errno.ENOTCONN;
}
