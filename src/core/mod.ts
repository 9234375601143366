/**
 * Core services every layer is given: the injected clocks (`RealClock`,
 * `VirtualClock`) and timer heap, randomness, errno numbers, the counters
 * (`StackStats`), the receive drain (`SoftNet`) and hashing.
 *
 * Internals: this entry point (`@netwasm/netwasm/core`) is for tools, tests and
 * other protocols; the user's API is the main entry point.
 *
 * @module
 */
export * from "./clock.ts";
export * from "./errno.ts";
export * from "./hash.ts";
export * from "./random.ts";
export * from "./softnet.ts";
export * from "./stats.ts";
export * from "./timers.ts";
