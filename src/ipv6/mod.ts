/**
 * IPv6 internals: the layer (input, output, extension headers, fragments,
 * reassembly), ICMPv6, neighbour discovery, SLAAC, MLD, routes and the path
 * MTU cache.
 *
 * Internals: this entry point (`@netwasm/netwasm/ipv6`) is for tools, tests and
 * other protocols; the user's API is the main entry point.
 *
 * @module
 */
export * from "./addrconf.ts";
export * from "./ctl.ts";
export * from "./fragment.ts";
export * from "./icmp.ts";
export * from "./inet6_dev.ts";
export * from "./layer.ts";
export * from "./mld.ts";
export * from "./ndisc.ts";
export * from "./pmtu.ts";
export * from "./reassembly.ts";
export * from "./route.ts";
export * from "./select.ts";
export * from "./setup.ts";
