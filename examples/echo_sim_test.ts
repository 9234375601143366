// examples/echo_sim_test.ts — `deno task example:test` (tests/examples_test.ts runs it too)
import { simulate } from "@netwasm/netwasm/testing";

Deno.test("echo over a lossy, reordering 40 ms link, on virtual time", async () => {
  await using net = simulate({ seed: 1 }); // same seed, same run
  const [client, server] = net.pair({ delay: 40, loss: 0.05, reorder: 0.1 });
  const listener = server.listen({ port: 7 });
  const serving = (async () => {
    for await (const conn of listener) await conn.readable.pipeTo(conn.writable);
  })();
  const conn = await net.run(client.connect({ hostname: "192.0.2.2", port: 7 }));
  await conn.write(new TextEncoder().encode("ping"));
  await conn.closeWrite();
  const echoed = await net.run(new Response(conn.readable).text());
  if (echoed !== "ping") throw new Error(`echoed ${JSON.stringify(echoed)}`);
  listener.close();
  await serving;
});
