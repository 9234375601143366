/**
 * Testing netwasm code without a network, on virtual time (the `./testing`
 * entry point):
 *
 * - {@link simulate}: a {@link Network} of stacks joined by seeded, impaired
 *   links (delay, loss, reordering, rate, …) on one virtual clock, which it
 *   drives while a test awaits (`net.run(promise)`, `net.settle()`):
 *   deterministic, and a 40 ms link costs no real time.
 * - {@link runScript}: packetdrill-style scripts (see `script.ts`): inject
 *   segments, expect the stack's answers, make socket calls, on virtual time.
 *
 * @example
 * ```ts
 * import { simulate } from "./mod.ts";
 * await using net = simulate({ seed: 1 });
 * const [client, server] = net.pair({ delay: 40, loss: 0.05, reorder: 0.1 });
 * const listener = server.listen({ port: 7 });
 * const serving = (async () => {
 *   for await (const conn of listener) await conn.readable.pipeTo(conn.writable); // echo
 * })();
 * const conn = await net.run(client.connect({ hostname: "192.0.2.2", port: 7 }));
 * await conn.write(new TextEncoder().encode("ping"));
 * await conn.closeWrite();
 * const echoed = await net.run(new Response(conn.readable).text()); // "ping"
 * listener.close();
 * await serving;
 * ```
 *
 * @module
 */
export {
  type LinkOptions,
  Network,
  type RunOptions,
  type SimLink,
  simulate,
  type SimulateOptions,
  SimulationError,
} from "./network.ts";
export * from "./script.ts";
