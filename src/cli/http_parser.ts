/**
 * The HTTP/1.1 parser facade moved to `src/http/parser.ts` (the library's
 * `stack.fetch` uses it too); re-exported here for the CLI's modules.
 *
 * @module
 */
export * from "../http/parser.ts";
