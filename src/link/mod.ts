/**
 * Link-layer devices and captures: the `NetDevice` interface and `BaseDevice`,
 * the impaired in-memory pipe and its `ImpairedChannel`, loopback,
 * `WebSocketLink`, and the pcap writer/reader. The TAP driver (Linux, Deno
 * only) is the `./tap` entry point.
 *
 * Internals: this entry point (`@netwasm/netwasm/link`) is for tools, tests and
 * other protocols; the user's API is the main entry point.
 *
 * @module
 */
export * from "./device.ts";
export * from "./impair.ts";
export * from "./loopback.ts";
export * from "./pcap.ts";
export * from "./pipe.ts";
export * from "./websocket.ts";
export * from "./ws_batch.ts";
export * from "./ws_client.ts";
export * from "./message_link.ts";
