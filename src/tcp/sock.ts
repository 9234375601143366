/**
 * `TcpSock`: the handle the socket layer (and tests) hold on a TCP
 * connection — the ops API of `tcp.ts`'s table as thin methods over the
 * connection's {@link Tcb}, which stays data only.
 *
 * @module
 */
import type { Ipv4Address } from "../wire/addr.ts";
import type { TcpOptionName } from "./config.ts";
import {
  tcpAbort,
  tcpAccept,
  tcpBind,
  tcpClose,
  tcpConnect,
  tcpListen,
  tcpShutdown,
} from "./conn.ts";
import { tcpBind6, tcpConnect6 } from "./conn6.ts";
import { recvmsg } from "./recv.ts";
import { sendmsg } from "./send.ts";
import { tcpGetOption, tcpSetCongestion, tcpSetOption } from "./sockopt.ts";
import type { TcpState } from "./state.ts";
import type { Tcb } from "./tcb.ts";

/**
 * A TCP socket: non-blocking ops returning 0 / a count or `-errno`. Created
 * by `TcpProtocol.socket()`; accepted children come from {@link TcpSock.accept}.
 *
 * @example
 * ```ts
 * // const sk = stack.tcp.socket();
 * // sk.onEvent = (mask) => { if (mask & Poll.IN) read(); };
 * // sk.connect(0xc0000202, 80); // -EINPROGRESS
 * ```
 */
export class TcpSock {
  /** A handle on `tcb`. */
  constructor(
    /** The connection's control block. */
    readonly tcb: Tcb,
  ) {}

  /** Current state (RFC 9293 §3.3.2). */
  get state(): TcpState {
    return this.tcb.state;
  }
  /** Local address (0 = any). */
  get laddr(): Ipv4Address {
    return this.tcb.laddr;
  }
  /** Local port (0 = unbound). */
  get lport(): number {
    return this.tcb.lport;
  }
  /** Remote address. */
  get raddr(): Ipv4Address {
    return this.tcb.raddr;
  }
  /** Remote port. */
  get rport(): number {
    return this.tcb.rport;
  }
  /**
   * IPv6 addresses: local at 0 (`::` until bound), remote at 16; null for
   * an IPv4 connection. Do not modify.
   */
  get addr6(): Uint8Array | null {
    return this.tcb.addr6;
  }
  /** The interface index of a link-local IPv6 connection, else 0. */
  get scopeId(): number {
    return this.tcb.scopeId;
  }
  /** IPV6_V6ONLY (set before bind; a listener on `::` then takes no IPv4). */
  get v6only(): boolean {
    return this.tcb.v6only;
  }
  set v6only(v: boolean) {
    this.tcb.v6only = v;
  }
  /** The connection completed and later ended (Linux SOCK_DONE). */
  get done(): boolean {
    return this.tcb.done;
  }
  /** Pending error (positive errno) without clearing it. */
  get skErr(): number {
    return this.tcb.skErr;
  }
  set skErr(e: number) {
    this.tcb.skErr = e;
  }
  /** `Shutdown` bits (Linux sk_shutdown). */
  get shutdownMask(): number {
    return this.tcb.shutdownMask;
  }
  set shutdownMask(v: number) {
    this.tcb.shutdownMask = v;
  }
  /** Readiness callback: deferred, at most once per batch of events. */
  get onEvent(): ((mask: number) => void) | null {
    return this.tcb.onEvent;
  }
  set onEvent(f: ((mask: number) => void) | null) {
    this.tcb.onEvent = f;
  }
  /** Read and clear the pending error (SO_ERROR): a positive errno or 0. */
  get error(): number {
    return this.tcb.error;
  }

  /** Readiness (`Poll` bits). */
  poll(): number {
    return this.tcb.poll();
  }

  /** Unread bytes before the end of pending urgent data, or -1. */
  urgentMark(): number {
    return this.tcb.urgentMark();
  }

  /** bind(): `port` 0 picks an ephemeral port. 0 or -errno. */
  bind(laddr: Ipv4Address, port: number): number {
    return tcpBind(this.tcb, laddr, port);
  }

  /**
   * bind() to an IPv6 address (16 bytes; `::` = any, dual stack unless
   * {@link TcpSock.v6only}); `scopeId` is a link-local address's interface.
   */
  bind6(addr: Uint8Array, port: number, scopeId = 0): number {
    return tcpBind6(this.tcb, addr, port, scopeId);
  }

  /** connect() to an IPv6 address: -EINPROGRESS once the SYN is out, else -errno. */
  connect6(raddr: Uint8Array, rport: number, scopeId = 0): number {
    return tcpConnect6(this.tcb, raddr, rport, scopeId);
  }

  /** listen(): 0 or -errno; on a listener only updates the backlog. */
  listen(backlog: number): number {
    return tcpListen(this.tcb, backlog);
  }

  /** connect(): -EINPROGRESS once the SYN is out, else -errno. */
  connect(raddr: Ipv4Address, rport: number, laddr?: Ipv4Address): number {
    return tcpConnect(this.tcb, raddr, rport, laddr);
  }

  /** accept(): the next connection, or null when none is waiting. */
  accept(): TcpSock | null {
    const child = tcpAccept(this.tcb);
    return child === null ? null : new TcpSock(child);
  }

  /** send(): bytes queued, or -errno (-EAGAIN, -EPIPE, …). */
  send(data: Uint8Array, flags = 0): number {
    return sendmsg(this.tcb, data, flags);
  }

  /** recv(): bytes read, 0 at end of stream, or -errno (-EAGAIN, -ECONNRESET, …). */
  recv(buf: Uint8Array, flags = 0): number {
    return recvmsg(this.tcb, buf, flags);
  }

  /** shutdown(): 0 SHUT_RD, 1 SHUT_WR, 2 SHUT_RDWR. */
  shutdown(how: number): number {
    return tcpShutdown(this.tcb, how);
  }

  /** close(): graceful (FIN) unless data would be lost or SO_LINGER is 0 (RST). */
  close(): void {
    tcpClose(this.tcb);
  }

  /** abort(): RST and CLOSED. */
  abort(): void {
    tcpAbort(this.tcb);
  }

  /** setsockopt(): 0 or -errno. */
  setOption(name: TcpOptionName, value: number | boolean): number {
    return tcpSetOption(this.tcb, name, typeof value === "boolean" ? (value ? 1 : 0) : value);
  }

  /** getsockopt(): the value or -ENOPROTOOPT. */
  getOption(name: TcpOptionName): number {
    return tcpGetOption(this.tcb, name);
  }

  /** setsockopt(TCP_CONGESTION): 0, or -ENOENT for an unknown algorithm. */
  setCongestion(name: string): number {
    return tcpSetCongestion(this.tcb, name);
  }

  /** getsockopt(TCP_CONGESTION): the algorithm's name ("cubic", "reno"). */
  get congestion(): string {
    return this.tcb.cong.algorithm.name;
  }
}
