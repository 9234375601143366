/**
 * A user's test, written only against the package's entry points (`mod.ts`
 * and `./testing`): an HTTP-like exchange over a lossy, reordering 40 ms
 * link, on virtual time. It prints its real and virtual durations (never
 * asserted).
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import type { Conn } from "../../mod.ts";
import { simulate } from "../../src/testing/mod.ts";

const enc = (s: string) => new TextEncoder().encode(s);
async function readHead(conn: Conn, buf = new Uint8Array(4096), text = ""): Promise<string> {
  while (!text.includes("\r\n\r\n")) {
    text += new TextDecoder().decode(buf.subarray(0, (await conn.read(buf))!));
  }
  return text;
}

test("user: GET over a lossy, reordering 40 ms link gets the whole body", async () => {
  const started = performance.now();
  await using net = simulate({ seed: 14 });
  const [client, server] = net.pair({ delay: 40, loss: 0.05, reorder: 0.1, reorderDelay: 15 });
  const body = "netwasm ".repeat(4096);
  const listener = server.listen({ port: 80 });
  const serving = (async () => {
    for await (const conn of listener) {
      const head = await readHead(conn);
      await conn.write(enc(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
      await conn.closeWrite();
      assert.ok(head.startsWith("GET /index.html HTTP/1.1\r\n"), head);
    }
  })();
  const conn = await net.run(client.connect({ hostname: "192.0.2.2", port: 80 }));
  await net.run(conn.write(enc("GET /index.html HTTP/1.1\r\nHost: 192.0.2.2\r\n\r\n")));
  const response = await net.run(new Response(conn.readable).text());
  assert.ok(response.startsWith(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`));
  assert.ok(response.endsWith(body) && response.length > body.length);
  listener.close();
  await serving;
  console.log(`${(performance.now() - started).toFixed(1)} ms real, ${net.clock.now()} ms virtual`);
});
