/**
 * Wire formats: views over packet bytes plus parse/emit for Ethernet, ARP,
 * IPv4, ICMP, UDP, TCP and TCP options, IPv6 (extension headers, ICMPv6,
 * neighbour discovery, MLD), address helpers, and the drop reasons a parse
 * may return. Parsing never throws: a malformed packet is a
 * drop reason.
 *
 * Internals: this entry point (`@netwasm/netwasm/wire`) is for tools, tests and
 * other protocols; the user's API is the main entry point. `parseIpv4` is the
 * IPv4 header parser; the address parser is `parseIpv4Address`.
 *
 * @module
 */
export * from "./addr.ts";
export { parseIpv4 as parseIpv4Address } from "./addr.ts";
export * from "./arp.ts";
export * from "./bytes.ts";
export * from "./drop_reason.ts";
export * from "./ethernet.ts";
export * from "./icmp.ts";
export * from "./ipv4.ts";
export { parseIpv4 } from "./ipv4.ts";
export * from "./tcp.ts";
export * from "./tcp_options.ts";
export * from "./udp.ts";
export * from "./addr6.ts";
export * from "./icmpv6.ts";
export * from "./ipv6.ts";
export * from "./ipv6_ext.ts";
export * from "./mld.ts";
export * from "./ndp.ts";
