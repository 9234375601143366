/**
 * The web platform's `MessageChannel`, captured before any npm package is
 * loaded. Loading one (here: the HTTP parser) makes Deno's Node
 * compatibility layer replace the global with `node:worker_threads`' class,
 * whose messages are delivered before pending promise callbacks have run.
 * Everything that uses a message as "one macrotask later" — the stack's
 * `RealClock.defer` (its receive softirq) and the virtual-time drivers of
 * the demo and the tests — then runs too early. `http_parser.ts` puts this
 * one back after loading the package.
 *
 * Import this module before any npm package.
 *
 * @module
 */

/**
 * The `MessageChannel` the runtime started with.
 *
 * @example
 * ```ts
 * import { WEB_MESSAGE_CHANNEL } from "./_web_message_channel.ts";
 * const { port1, port2 } = new WEB_MESSAGE_CHANNEL();
 * port1.close();
 * port2.close();
 * ```
 */
export const WEB_MESSAGE_CHANNEL: typeof MessageChannel = globalThis.MessageChannel;
