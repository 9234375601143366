/**
 * Packet buffers: the `Arena` (one WebAssembly memory holding every buffer),
 * `SkBuff` and its allocator, and `SkbQueue`.
 *
 * Internals: this entry point (`@netwasm/netwasm/skb`) is for tools, tests and
 * other protocols; the user's API is the main entry point.
 *
 * @module
 */
export * from "./arena.ts";
export * from "./queue.ts";
export * from "./skbuff.ts";
