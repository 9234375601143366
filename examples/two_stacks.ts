// examples/two_stacks.ts — `deno task example` (tests/examples_test.ts runs it too)
import { Arena, createPipe, RealClock, Stack } from "@netwasm/netwasm";

// Two stacks on one packet arena, joined by a cable with 5 ms of delay and 1 % loss.
const clock = new RealClock();
const arena = new Arena();
await using a = new Stack({ clock, arena });
await using b = new Stack({ clock, arena });
const [cableA, cableB] = createPipe({
  allocator: a.allocator,
  clock,
  seed: 1,
  impair: { delay: 5, loss: 0.01 },
});
a.addInterface(cableA, { address: "192.0.2.1/24" });
b.addInterface(cableB, { address: "192.0.2.2/24" });

// B: a TCP echo server, written as for Deno.listen.
void (async () => {
  for await (const conn of b.listen({ port: 7 })) await conn.readable.pipeTo(conn.writable);
})();

// A: connect, send, half-close, read the echo back.
const conn = await a.connect({ hostname: "192.0.2.2", port: 7 });
await conn.write(new TextEncoder().encode("hello through netwasm"));
await conn.closeWrite();
console.log(`echoed: ${await new Response(conn.readable).text()}`);
console.log(`A sent ${a.stats.tcp.outSegs} TCP segments, retransmitted ${a.stats.tcp.retransSegs}`);
// Leaving the module closes both stacks (await using): the accept loop ends
// and the process exits by itself.
