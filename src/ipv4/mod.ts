/**
 * IPv4 internals: the layer (input, output, fragmentation, reassembly),
 * interfaces, routes, the ARP neighbour table and ICMP.
 *
 * Internals: this entry point (`@netwasm/netwasm/ipv4`) is for tools, tests and
 * other protocols; the user's API is the main entry point.
 *
 * @module
 */
export * from "./fragment.ts";
export * from "./icmp.ts";
export * from "./iface.ts";
export * from "./layer.ts";
export * from "./neighbour.ts";
export * from "./reassembly.ts";
export * from "./route.ts";
