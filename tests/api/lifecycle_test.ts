/**
 * Lifecycle on real time, in subprocesses (tests/api/fixtures/keepalive.ts):
 * a pending `accept()`/`read()` keeps the process alive like a pending Deno
 * socket op, `unref()` lets it exit, and `stack.close()` ends `for await`
 * loops cleanly and leaves nothing that keeps the process alive.
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";

const FIXTURE = new URL("./fixtures/keepalive.ts", import.meta.url).pathname;

/** Run the fixture in `mode`; it must exit by itself (the signal is only a hang guard). */
async function run(mode: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE, mode],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

test("a pending accept() on a ref'd Listener keeps the process alive; stack.close() ends the for-await loop", async () => {
  const r = await run("accept-ref");
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "closing\nloop ended\n", "the loop waited for the close, then ended");
});

test("Listener.unref(): a pending accept() no longer keeps the process alive", async () => {
  const r = await run("accept-unref");
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "left pending\n");
});

test("a pending read() on a ref'd Conn keeps the process alive until data arrives", async () => {
  const r = await run("read-ref");
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "read 5\n");
});

test("Conn.unref(): a pending read() no longer keeps the process alive", async () => {
  const r = await run("read-unref");
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "left pending\n");
});

test("stack.close() ends accept and receive loops without an error and fails pending reads with BadResource; the process exits", async () => {
  const r = await run("close-all");
  assert.is(r.code, 0, r.stderr);
  assert.is(
    r.stdout,
    "accept loop ended\nreceive loop ended\npending read: BadResource\n",
  );
});

test("stack.close() on virtual time: for-await loops end, later close()/dispose of their objects is quiet", async () => {
  const p = pair({ seed: 1404 });
  const listener = p.b.listen({ port: 7 });
  const udp = p.b.listenDatagram({ port: 7 });
  const loops = Promise.all([
    (async () => {
      let n = 0;
      for await (const c of listener) {
        n++;
        c.close();
      }
      return n;
    })(),
    (async () => {
      for await (const _ of udp) { /* nothing arrives */ }
      return "udp ended";
    })(),
  ]);
  const conn = await settle(p.clock, p.a.connect({ hostname: "192.0.2.2", port: 7 }));
  await p.b.close();
  assert.equal(await settle(p.clock, loops), [1, "udp ended"]);
  // The stack closed them beneath us: closing them now is a no-op, once.
  listener.close();
  udp.close();
  assert.throws(() => listener.close(), (e: unknown) => String(e).includes("BadResource"));
  // A new socket may get the old descriptor number; the old objects never touch it.
  const fresh = p.b.listen({ port: 8 });
  assert.is(fresh.fd, listener.fd, "the number was reused");
  await listener.accept().then(
    () => assert.unreachable("accepted through a closed Listener"),
    (e) => assert.match(String(e), /BadResource/),
  );
  assert.is(p.b.sockets.openSockets, 1, "the new listener is untouched");
  fresh.close();
  conn.close();
  await p.close();
});

test("await using closes the stack at the end of the scope", async () => {
  const p = pair({ seed: 1405 });
  let listener;
  {
    await using s = p.a;
    listener = s.listen({ port: 80 });
    assert.is(s.sockets.openSockets, 1);
  }
  assert.is(p.a.sockets.openSockets, 0, "disposal closed every socket");
  await listener.accept().then(
    () => assert.unreachable("accepted on a closed stack"),
    (e) => assert.match(String(e), /BadResource/),
  );
  await p.close();
});
