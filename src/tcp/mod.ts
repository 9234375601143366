/**
 * TCP internals (RFC 9293, with RFC 5681 / RFC 9438 CUBIC congestion
 * control, RFC 6298 retransmission timing, RFC 7323 window scaling and
 * timestamps, RFC 2018 SACK with RFC 6675 / RFC 6937 / RFC 8985 recovery,
 * RFC 3168 ECN, RFC 1191 / RFC 4821 path MTU, RFC 4987 SYN cookies): the
 * protocol, its sockets (`TcpSock`), the
 * connection tables, the data-only control block (`Tcb`) and the modules
 * that act on it, one concern each.
 *
 * Internals: this entry point (`@netwasm/netwasm/tcp`) is for tools, tests and
 * other protocols; the user's API is the main entry point.
 *
 * @module
 */
export * from "./ack.ts";
export * from "./buffers.ts";
export * from "./collapse.ts";
export * from "./config.ts";
export * from "./conn.ts";
export * from "./conn6.ts";
export * from "./data.ts";
export * from "./dst.ts";
export * from "./ecn.ts";
export * from "./family.ts";
export * from "./input.ts";
export * from "./isn.ts";
export * from "./lifecycle.ts";
export * from "./mem.ts";
export * from "./options.ts";
export * from "./output.ts";
export * from "./passive.ts";
export * from "./pressure.ts";
export * from "./pmtu.ts";
export * from "./rack.ts";
export * from "./rcv_queue.ts";
export * from "./recovery.ts";
export * from "./recv.ts";
export * from "./rtt.ts";
export * from "./sack.ts";
export * from "./scoreboard.ts";
export * from "./scratch.ts";
export * from "./send.ts";
export * from "./sock.ts";
export * from "./sockopt.ts";
export * from "./state.ts";
export * from "./syncookies.ts";
export * from "./tables.ts";
export * from "./tables_impl.ts";
export * from "./tcb.ts";
export * from "./tcp.ts";
export * from "./tcp6.ts";
export * from "./timeouts.ts";
export * from "./timers.ts";
export * from "./validate.ts";
export * from "./window.ts";
export * from "./xmit_timer.ts";
export * from "./congestion/cc.ts";
export * from "./congestion/cubic.ts";
export * from "./congestion/hystart.ts";
export * from "./congestion/registry.ts";
export * from "./congestion/reno.ts";
