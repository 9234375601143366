/**
 * Two netwasm stacks joined by an in-memory cable with 5 ms of delay and 1 %
 * loss: one serves TCP echo, the other connects, sends a line and reads the
 * echo back. Run: `deno run examples/two_stacks.ts`.
 *
 * @module
 */
import { Arena, createPipe, RealClock, Stack } from "../mod.ts";

const clock = new RealClock();
const arena = new Arena(); // one packet arena shared by both stacks
const a = new Stack({ clock, arena });
const b = new Stack({ clock, arena });
const [cableA, cableB] = createPipe({
  allocator: a.allocator,
  clock,
  seed: 1,
  impair: { delay: 5, loss: 0.01 },
});
a.addInterface(cableA, { address: "192.0.2.1/24" });
b.addInterface(cableB, { address: "192.0.2.2/24" });

// B: a TCP echo server (Deno-shaped API: listen / accept / web streams).
const listener = b.listen({ port: 7 });
const serving = (async () => {
  for await (const conn of listener) await conn.readable.pipeTo(conn.writable);
})();

// A: connect, send, half-close, read everything back.
const conn = await a.connect({ hostname: "192.0.2.2", port: 7 });
await conn.write(new TextEncoder().encode("hello through netwasm"));
await conn.closeWrite();
const echoed = await new Response(conn.readable).text();
console.log(`echoed: ${echoed}`);
console.log(`A sent ${a.stats.tcp.outSegs} TCP segments, retransmitted ${a.stats.tcp.retransSegs}`);

conn.close();
listener.close();
await serving;
await a.close();
await b.close();
clock.close();
