/**
 * UDP internals (RFC 768): the protocol, its sockets and port table.
 *
 * Internals: this entry point (`@netwasm/netwasm/udp`) is for tools, tests and
 * other protocols; the user's API is the main entry point.
 *
 * @module
 */
export * from "./sock.ts";
export * from "./table.ts";
export * from "./udp.ts";
