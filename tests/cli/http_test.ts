import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { directorySource, memorySource, resolveTarget } from "../../src/cli/http_files.ts";
import { contentType } from "../../src/cli/http_files.ts";
import { concat, exchange, httpPair, parseResponses, pattern, readAll, SERVER } from "./_http.ts";

const INDEX = new TextEncoder().encode("<h1>netwasm</h1>\n");

test("http: GET a file: 200 with Content-Length, Content-Type by extension and the bytes", async () => {
  const blob = pattern(100_000);
  const h = httpPair(memorySource({ "/index.html": INDEX, "/data/blob.bin": blob }));
  try {
    const out = await h.run(exchange(h, "GET /data/blob.bin HTTP/1.1\r\nHost: 192.0.2.2\r\n\r\n"));
    const [r, ...more] = parseResponses(out);
    assert.is(more.length, 0);
    assert.is(r!.status, 200);
    assert.is(r!.headers["content-length"], "100000");
    assert.is(r!.headers["content-type"], "application/octet-stream");
    assert.is(r!.headers["server"], "netwasm");
    assert.equal(r!.body, blob);
    const idx = parseResponses(await h.run(exchange(h, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
    assert.is(idx[0]!.headers["content-type"], "text/html; charset=utf-8");
    assert.is(idx[0]!.text, "<h1>netwasm</h1>\n");
    assert.match(h.log[0]!, /^192\.0\.2\.1:\d+ "GET \/data\/blob\.bin HTTP\/1\.1" 200 100000$/);
  } finally {
    await h.stop();
  }
});

test("http: HEAD: the same headers as GET, no body", async () => {
  const h = httpPair(memorySource({ "/a.txt": new TextEncoder().encode("hello\n") }));
  try {
    const out = await h.run(exchange(h, "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
    const [r] = parseResponses(out, true);
    assert.is(r!.status, 200);
    assert.is(r!.headers["content-length"], "6");
    assert.is(r!.headers["content-type"], "text/plain; charset=utf-8");
    assert.ok(new TextDecoder().decode(out).endsWith("\r\n\r\n"), "nothing after the head");
  } finally {
    await h.stop();
  }
});

test("http: 404 for a missing file, 403 for paths that climb out, 405 (with Allow) for POST, 501 for an unknown method", async () => {
  const h = httpPair(memorySource({ "/index.html": INDEX }));
  try {
    const status = async (req: string) => parseResponses(await h.run(exchange(h, req)))[0]!;
    assert.is((await status("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")).status, 404);
    for (
      const path of ["/../etc/passwd", "/a/../../x", "/%2e%2e/x", "/a%2F..%2F..%2Fx", "/..%5Cx"]
    ) {
      const r = await status(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.is(r.status, 403, path);
    }
    const post = await status(
      "POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert.is(post.status, 405);
    assert.is(post.headers["allow"], "GET, HEAD");
    const brew = await status("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.is(brew.status, 501);
    assert.is(brew.headers["connection"], "close");
  } finally {
    await h.stop();
  }
});

test("http: 400 (and close) for malformed requests: no Host on 1.1, garbage, bad framing, bad percent-encoding; 431 for huge headers", async () => {
  const h = httpPair(memorySource({ "/index.html": INDEX }));
  try {
    const cases: [string, number][] = [
      ["GET / HTTP/1.1\r\n\r\n", 400],
      ["GET\r\n\r\n", 400],
      ["\x00\x01 / HTTP/1.1\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400],
      ["GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400],
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 431],
    ];
    for (const [req, want] of cases) {
      // A second request after the bad one must not be answered: the server closed.
      const out = await h.run(exchange(h, req + "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      const rs = parseResponses(out);
      assert.is(rs[0]!.status, want, JSON.stringify(req.slice(0, 40)));
      if (want !== 400 || !req.includes("%zz")) {
        assert.is(rs.length, 1, `${JSON.stringify(req.slice(0, 40))}: nothing after the error`);
        assert.is(rs[0]!.headers["connection"], "close");
      }
    }
  } finally {
    await h.stop();
  }
});

test("http: keep-alive: pipelined requests answered in order on one connection; Connection: close ends it; HTTP/1.0 closes unless keep-alive", async () => {
  const files = memorySource({ "/a": new Uint8Array([1]), "/b": new Uint8Array([2, 2]) });
  const h = httpPair(files);
  try {
    const three = await h.run(exchange(
      h,
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
    ));
    assert.equal(parseResponses(three).map((r) => [r.status, r.status === 200 ? r.body : null]), [
      [200, new Uint8Array([1])],
      [404, null],
      [200, new Uint8Array([2, 2])],
    ]);
    const closing = await h.run(exchange(
      h,
      "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
    ));
    const rs = parseResponses(closing);
    assert.is(rs.length, 1, "nothing after Connection: close");
    assert.is(rs[0]!.headers["connection"], "close");
    const old = parseResponses(
      await h.run(exchange(h, "GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n")),
    );
    assert.is(old.length, 1, "HTTP/1.0 closes after one response");
    const kept = parseResponses(
      await h.run(exchange(
        h,
        "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
      )),
    );
    assert.is(kept.length, 2, "HTTP/1.0 with keep-alive stays open");
  } finally {
    await h.stop();
  }
});

test("http: a 1 MiB file streams in chunks over a lossy, reordering link intact", async () => {
  const blob = pattern(1 << 20, 9);
  const h = httpPair(memorySource({ "/big": blob }), {
    seed: 4,
    impair: { delay: 2, jitter: 1, loss: 0.01, reorder: 0.03, reorderDelay: 3 },
  });
  try {
    const [r] = parseResponses(await h.run(exchange(h, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")));
    assert.is(r!.status, 200);
    assert.equal(r!.body, blob);
  } finally {
    await h.stop();
  }
});

test("http: resolveTarget decodes, drops . and empty segments, strips the query, accepts absolute-form, refuses ..", () => {
  assert.equal(resolveTarget("/a/./b%20c//d?x=1#f"), ["a", "b c", "d"]);
  assert.equal(resolveTarget("http://192.0.2.2:8080/x/y"), ["x", "y"]);
  assert.equal(resolveTarget("/"), []);
  assert.equal((resolveTarget("*") as { status: number }).status, 400);
  assert.equal((resolveTarget("/a/%2e%2e/b") as { status: number }).status, 403);
  assert.equal((resolveTarget("/a%00b") as { status: number }).status, 403);
  assert.is(contentType("x.WASM"), "application/wasm");
  assert.is(contentType(".hidden"), "application/octet-stream");
});

test("http: directorySource serves files under its root only: no symlink out, directories by index.html", async () => {
  const root = await Deno.makeTempDir({ prefix: "netwasm-root-" });
  const outside = await Deno.makeTempDir({ prefix: "netwasm-outside-" });
  try {
    await Deno.mkdir(`${root}/sub`);
    await Deno.writeTextFile(`${root}/sub/index.html`, "<p>sub</p>");
    await Deno.writeTextFile(`${root}/file.txt`, "inside");
    await Deno.writeTextFile(`${outside}/secret.txt`, "outside");
    await Deno.symlink(`${outside}/secret.txt`, `${root}/link.txt`);
    await Deno.symlink(outside, `${root}/linkdir`);
    const files = directorySource(root);
    const read = async (segs: string[]) => {
      const f = await files.open(segs);
      if (f === null) return null;
      const parts: Uint8Array[] = [];
      const buf = new Uint8Array(4);
      for (let n = await f.read(buf); n !== null; n = await f.read(buf)) {
        parts.push(buf.slice(0, n));
      }
      f.close();
      return { name: f.name, text: new TextDecoder().decode(concat(parts)) };
    };
    assert.equal(await read(["file.txt"]), { name: "file.txt", text: "inside" });
    assert.equal(await read(["sub"]), { name: "index.html", text: "<p>sub</p>" });
    assert.is(await read([]), null, "the root has no index.html");
    assert.is(await read(["link.txt"]), null, "a symlink out of the root");
    assert.is(await read(["linkdir", "secret.txt"]), null, "a directory symlink out of the root");
    assert.is(await read(["missing"]), null);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

/** Read from `conn` until `want` bytes arrived (a response on a kept-alive connection). */
async function readN(conn: { read(p: Uint8Array): Promise<number | null> }, want: number) {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  let got = 0;
  while (got < want) {
    const n = await conn.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
    got += n;
  }
  return concat(parts);
}

test("http: CONNECT (like any refused method) is answered 405 with Connection: close and the connection closes, never desyncs", async () => {
  const h = httpPair(memorySource({ "/index.html": INDEX }));
  try {
    for (
      const first of [
        "CONNECT 192.0.2.2:443 HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
      ]
    ) {
      // No half-close: the server must end the connection on its own.
      const out = await h.run(
        exchange(
          h,
          first + "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n",
          { halfClose: false },
        ),
        60_000,
      );
      const rs = parseResponses(out);
      assert.is(rs.length, 1, first);
      assert.is(rs[0]!.status, 405, first);
      assert.is(rs[0]!.headers["connection"], "close", first);
    }
  } finally {
    await h.stop();
  }
});

test("http: a good pipelined request before malformed bytes is answered, then the 400 (and close)", async () => {
  const h = httpPair(memorySource({ "/index.html": INDEX }));
  try {
    const out = await h.run(exchange(
      h,
      "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nJUNK\0JUNK\r\n\r\n",
    ));
    const rs = parseResponses(out);
    assert.equal(rs.map((r) => r.status), [200, 400]);
    assert.is(rs[0]!.text, "<h1>netwasm</h1>\n");
    assert.is(rs[1]!.headers["connection"], "close");
  } finally {
    await h.stop();
  }
});

test("http: slowloris: a request head trickled in (one byte per 5 s, under the idle timeout) is cut off 15 s after its first byte; keep-alive between requests is unaffected", async () => {
  const h = httpPair(memorySource({ "/index.html": INDEX }));
  const enc = new TextEncoder();
  const sleep = (ms: number) => new Promise<void>((r) => h.clock.setTimer(ms, () => r()));
  try {
    const r = await h.run(
      (async () => {
        const conn = await h.a.connect(SERVER);
        const t0 = h.clock.now();
        await conn.write(enc.encode("GET /index.html HTTP/1.1\r\nHost: x\r\n"));
        const reading = readAll(conn).catch(() => new Uint8Array(0));
        let cutAt = -1;
        const junk = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for (let i = 0; i < junk.length; i++) {
          await sleep(5_000);
          try {
            await conn.write(enc.encode(junk[i]!));
          } catch {
            cutAt = h.clock.now() - t0;
            break;
          }
        }
        const out = await reading;
        const closedAt = h.clock.now() - t0;
        conn.close();
        return { cutAt, closedAt, out };
      })(),
      600_000,
    );
    assert.ok(
      r.cutAt !== -1 && r.closedAt < 25_000,
      `cut at ${r.cutAt}, closed at ${r.closedAt} ms`,
    );
    assert.is(parseResponses(r.out).length, 0, "the slow request is not served");

    // A normal client: a head in two parts 10 s apart, then idle 20 s between requests.
    const ok = await h.run(
      (async () => {
        const conn = await h.a.connect(SERVER);
        const one = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
        await conn.write(enc.encode(one.slice(0, 10)));
        await sleep(10_000);
        await conn.write(enc.encode(one.slice(10)));
        const a = await readN(conn, 1);
        await sleep(20_000);
        await conn.write(
          enc.encode("GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        const b = await readAll(conn);
        conn.close();
        return concat([a, b]);
      })(),
      600_000,
    );
    assert.equal(parseResponses(ok).map((x) => x.status), [200, 200]);
  } finally {
    await h.stop();
  }
});

test("http: a client that stops reading is dropped after the write timeout, and the file is closed", async () => {
  const big = new Uint8Array(4 << 20);
  const inner = memorySource({ "/big": big });
  let closedAt = -1;
  const files = {
    ...inner,
    async open(t: Parameters<typeof inner.open>[0]) {
      const f = await inner.open(t);
      if (f === null) return null;
      return {
        name: f.name,
        size: f.size,
        read: (p: Uint8Array) => f.read(p),
        close: () => {
          if (closedAt === -1) closedAt = h.clock.now();
          f.close();
        },
      };
    },
  };
  const h = httpPair(files);
  const sleep = (ms: number) => new Promise<void>((r) => h.clock.setTimer(ms, () => r()));
  try {
    const t0 = h.clock.now();
    const got = await h.run(
      (async () => {
        const conn = await h.a.connect(SERVER);
        await conn.write(new TextEncoder().encode("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
        await sleep(300_000);
        const b = await readAll(conn).catch(() => null);
        conn.close();
        return b;
      })(),
      600_000,
    );
    assert.ok(closedAt !== -1, "the file was closed");
    assert.ok(closedAt - t0 < 120_000, `file closed after ${closedAt - t0} ms`);
    assert.ok(got === null || got.length < big.length, "the response was not completed");
  } finally {
    await h.stop();
  }
});
