/**
 * The BSD socket layer (`SocketLayer`: `socket()`, `bind()`, `connect()`,
 * `sendto()`, `poll()` … on descriptors), socket constants and option names,
 * errors, addresses, the INET protocol operations and the socket table
 * (`SocketInfo`).
 *
 * Internals: this entry point (`@netwasm/netwasm/socket`) is for tools, tests and
 * other protocols; the user's API is the main entry point.
 *
 * @module
 */
export * from "./address.ts";
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./fd_table.ts";
export * from "./inet.ts";
export * from "./inet_dgram.ts";
export * from "./inet_stream.ts";
export * from "./option_names.ts";
export * from "./socket.ts";
export * from "./socket_info.ts";
export * from "./sockopt.ts";
export * from "./tcp_info.ts";
