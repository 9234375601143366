/**
 * The WebAssembly hot paths (checksums, copies, sequence ranges), their
 * bindings to an arena and the TypeScript reference twins.
 *
 * Internals: this entry point (`@netwasm/netwasm/wasm`) is for tools, tests and
 * other protocols; the user's API is the main entry point.
 *
 * @module
 */
export * from "./bindings.ts";
export * from "./checksum.ts";
export * from "./reference.ts";
