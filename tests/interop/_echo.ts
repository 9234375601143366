/**
 * Pieces the TCP echo interop tests share over both families
 * (`tcp_echo_test.ts`, `tcp6_test.ts`): the Linux-side asyncio scripts for
 * 200 concurrent clients and an echo server, the seeded messages our side
 * sends, and one echo exchange through a {@link Conn}.
 *
 * @module
 */
import * as assert from "uvu/assert";
import type { Conn } from "../../src/api/conn.ts";

/**
 * Linux-side client: `n` concurrent connections (asyncio), each sends a
 * seeded random 1–32 KiB message, half-closes, reads the echo to EOF and
 * compares. Prints `OK n bytes seconds` or `FAIL …` (exit 1).
 */
export const PY_CLIENTS = `
import asyncio, random, sys, time
host, port, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
async def one(i):
    rng = random.Random(seed * 100003 + i)
    data = rng.randbytes(rng.randint(1, 32768))
    r, w = await asyncio.open_connection(host, port)
    w.write(data)
    await w.drain()
    w.write_eof()
    got = await r.read()
    w.close()
    if got != data:
        raise Exception(f"connection {i}: {len(got)} bytes back, {len(data)} sent")
    return len(data)
async def main():
    t0 = time.monotonic()
    res = await asyncio.wait_for(asyncio.gather(*[one(i) for i in range(n)], return_exceptions=True), 60)
    bad = [r for r in res if isinstance(r, BaseException)]
    if bad:
        print(f"FAIL {len(bad)} of {n}: {bad[0]!r}")
        sys.exit(1)
    print(f"OK {n} {sum(res)} {time.monotonic() - t0:.3f}")
asyncio.run(main())
`;

/**
 * Linux-side echo server (asyncio): echoes each connection until its FIN,
 * then closes; prints READY, and at the end `DONE connections bytes`.
 */
export const PY_ECHO_SERVER = `
import asyncio, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = 0
total = 0
done = asyncio.Event()
async def echo(r, w):
    global count, total
    while True:
        data = await r.read(65536)
        if not data:
            break
        w.write(data)
        await w.drain()
        total += len(data)
    w.close()
    count += 1
    if count == n:
        done.set()
async def main():
    server = await asyncio.start_server(echo, host, port, backlog=1024)
    print("READY", flush=True)
    await asyncio.wait_for(done.wait(), 60)
    print(f"DONE {count} {total}", flush=True)
asyncio.run(main())
`;

/** A seeded random message of 1–32 KiB for connection `i`. */
export function message(seed: number, i: number): Uint8Array {
  let x = (seed * 100003 + i) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const out = new Uint8Array(1 + (next() % 32768));
  for (let j = 0; j < out.length; j++) out[j] = next() & 0xff;
  return out;
}

/** Send, half-close, read the echo to EOF, compare. */
export async function echoOn(conn: Conn, data: Uint8Array): Promise<void> {
  try {
    const reading = (async () => {
      const got = new Uint8Array(data.length + 1);
      let at = 0;
      for (;;) {
        const n = await conn.read(got.subarray(at));
        if (n === null) break;
        at += n;
        if (at > data.length) break;
      }
      return got.subarray(0, at);
    })();
    await conn.write(data);
    await conn.closeWrite();
    const got = await reading;
    assert.is(got.length, data.length, "echo length");
    assert.equal(got, data, "echo bytes");
  } finally {
    conn.close();
  }
}
