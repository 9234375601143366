import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { pair, settle } from "../_util/sim.ts";
import {
  FetchTimeout,
  FetchUrlError,
  formatRate,
  httpGet,
  parseFetchUrl,
  TruncatedBody,
} from "../../src/cli/fetch.ts";
import { runFetchCommand } from "../../src/cli/fetch_command.ts";
import { HttpParseError } from "../../src/cli/http_parser.ts";
import { memorySource } from "../../src/cli/http_files.ts";
import { ConnectionRefused } from "../../src/socket/errors.ts";
import { concat, httpPair, pattern } from "./_http.ts";

const enc = new TextEncoder();

/**
 * B answers the first connection on port 80 with `reply` (after reading the
 * request head), then closes — or, with `hang`, keeps it open silently.
 */
function canned(reply: string | Uint8Array, o: { hang?: boolean } = {}) {
  const p = pair({ seed: 2, impair: { delay: 1 } });
  const listener = p.b.listen({ port: 80 });
  const server = (async () => {
    const c = await listener.accept();
    const buf = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await c.read(buf);
      if (n === null) break;
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
    await c.write(typeof reply === "string" ? enc.encode(reply) : reply);
    if (o.hang) return { head, conn: c };
    c.close();
    return { head, conn: null };
  })();
  const fetch = async (path = "/x", idleTimeoutMs?: number) => {
    const chunks: Uint8Array[] = [];
    const r = await settle(
      p.clock,
      httpGet(p.a, `http://192.0.2.2${path}`, {
        sink: (c) => void chunks.push(c.slice()),
        ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
      }),
    );
    return { r, body: concat(chunks) };
  };
  const close = async () => {
    const s = await settle(p.clock, server).catch(() => null);
    s?.conn?.close();
    listener.close();
    await p.close();
  };
  return { p, server, fetch, close };
}

test("fetch: parseFetchUrl takes http://HOST[:port]/path, HOST an IPv4 address, an IPv6 one in brackets or a name", () => {
  assert.equal(parseFetchUrl("http://192.0.2.2:8080/a?b=1"), {
    hostname: "192.0.2.2",
    port: 8080,
    path: "/a?b=1",
    host: "192.0.2.2:8080",
  });
  assert.equal(parseFetchUrl("http://192.0.2.2").path, "/");
  assert.equal(parseFetchUrl("http://files.test:8000/blob"), {
    hostname: "files.test",
    port: 8000,
    path: "/blob",
    host: "files.test:8000",
  });
  assert.equal(parseFetchUrl("http://[2001:db8::1]:8080/x"), {
    hostname: "[2001:db8::1]",
    port: 8080,
    path: "/x",
    host: "[2001:db8::1]:8080",
  });
  assert.throws(() => parseFetchUrl("https://192.0.2.2/"), /only http/);
  assert.throws(() => parseFetchUrl("not a url"), (e: Error) => e instanceof FetchUrlError);
  assert.is(formatRate(1_000_000, 1000), "8.00 Mbit/s");
});

test("fetch: Content-Length body, the request it sends (Host, Connection: close)", async () => {
  const c = await canned("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  try {
    const { r, body } = await c.fetch("/x?y=1");
    assert.is(r.status, 200);
    assert.is(r.bytes, 5);
    assert.is(r.contentLength, 5);
    assert.is(new TextDecoder().decode(body), "hello");
    const { head } = await settle(c.p.clock, c.server);
    assert.match(head, /^GET \/x\?y=1 HTTP\/1\.1\r\nHost: 192\.0\.2\.2\r\n/);
    assert.match(head, /\r\nConnection: close\r\n/);
  } finally {
    await c.close();
  }
});

test("fetch: chunked transfer coding (with extensions and trailers) is decoded", async () => {
  const c = await canned(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n",
  );
  try {
    const { r, body } = await c.fetch();
    assert.is(r.chunked, true);
    assert.is(r.contentLength, null);
    assert.is(new TextDecoder().decode(body), "hello world!");
  } finally {
    await c.close();
  }
});

test("fetch: a body until the connection closes (no length, HTTP/1.0) is complete at FIN", async () => {
  const c = await canned("HTTP/1.0 200 OK\r\n\r\nuntil close");
  try {
    const { r, body } = await c.fetch();
    assert.is(r.status, 200);
    assert.is(new TextDecoder().decode(body), "until close");
  } finally {
    await c.close();
  }
});

test("fetch: a body cut short (Content-Length or chunked) is a TruncatedBody error with what arrived", async () => {
  for (
    const reply of [
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nonly this\r\n",
    ]
  ) {
    const c = await canned(reply);
    try {
      const e = await c.fetch().then(() => null, (e) => e);
      assert.instance(e, TruncatedBody, String(e));
      assert.is((e as TruncatedBody).received, 9);
    } finally {
      await c.close();
    }
  }
});

test("fetch: 3xx reports Location (not followed), 404 is a result, garbage is an HttpParseError", async () => {
  const redirect = await canned(
    "HTTP/1.1 301 Moved Permanently\r\nLocation: http://192.0.2.2/y\r\nContent-Length: 0\r\n\r\n",
  );
  try {
    const { r } = await redirect.fetch();
    assert.is(r.status, 301);
    assert.is(r.location, "http://192.0.2.2/y");
  } finally {
    await redirect.close();
  }
  const missing = await canned("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!");
  try {
    assert.is((await missing.fetch()).r.status, 404);
  } finally {
    await missing.close();
  }
  const garbage = await canned("SSH-2.0-OpenSSH\r\n");
  try {
    const e = await garbage.fetch().then(() => null, (e) => e);
    assert.instance(e, HttpParseError, String(e));
  } finally {
    await garbage.close();
  }
});

test("fetch: a server that stops sending is a FetchTimeout after the idle time; a closed port is ConnectionRefused", async () => {
  const c = await canned("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", { hang: true });
  try {
    const e = await c.fetch("/x", 5000).then(() => null, (e) => e);
    assert.instance(e, FetchTimeout, String(e));
  } finally {
    await c.close();
  }
  const p = pair({ seed: 3 });
  try {
    const e = await settle(
      p.clock,
      httpGet(p.a, "http://192.0.2.2:81/").then(() => null, (e) => e),
    );
    assert.instance(e, ConnectionRefused, String(e));
  } finally {
    await p.close();
  }
});

test("fetch command: the body to stdout, exit 0; 404 exits 1 (body still written); a refused connection exits 1 and creates no -o FILE", async () => {
  // (-o FILE with a body is real file I/O, during which virtual time would
  // run ahead: the interop test covers it on real time.)
  const blob = pattern(300_000, 5);
  const h = httpPair(memorySource({ "/blob": blob }));
  const dir = await Deno.makeTempDir({ prefix: "netwasm-fetch-" });
  try {
    const err: string[] = [];
    let stdout: Uint8Array[] = [];
    const io = {
      out: () => {},
      err: (l: string) => void err.push(l),
      bytes: (c: Uint8Array) => Promise.resolve(void stdout.push(c.slice())),
    };
    const ok = await h.run(runFetchCommand(h.a, parseFetchUrl("http://192.0.2.2/blob"), { io }));
    assert.is(ok, 0, err.join("\n"));
    assert.equal(concat(stdout), blob);
    assert.match(err.join("\n"), /HTTP 200 OK, 300000 bytes \(293\.0 KiB\) in [\d.]+ s, /);
    stdout = [];
    const missing = await h.run(
      runFetchCommand(h.a, parseFetchUrl("http://192.0.2.2/none"), { io }),
    );
    assert.is(missing, 1);
    assert.match(err.join("\n"), /the server answered HTTP 404 Not Found/);
    assert.match(new TextDecoder().decode(concat(stdout)), /404 Not Found/);
    const refused = await h.run(
      runFetchCommand(h.a, parseFetchUrl("http://192.0.2.2:81/x"), { io, output: `${dir}/r` }),
    );
    assert.is(refused, 1);
    assert.match(err.join("\n"), /ConnectionRefused/);
    assert.is(await Deno.stat(`${dir}/r`).then(() => true, () => false), false, "no file");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await h.stop();
  }
});

test("fetch: junk after a complete response in the same segment does not fail the fetch (the response stands)", async () => {
  for (
    const reply of [
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\r\nJUNK JUNK\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\0\0garbage\r\n\r\n",
      // A second (pipelined-looking) response is not ours either.
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\nbad",
    ]
  ) {
    const c = canned(reply);
    try {
      const { r, body } = await c.fetch();
      assert.is(r.status, 200, reply);
      assert.is(r.bytes, 2, reply);
      assert.is(new TextDecoder().decode(body), "hi", reply);
    } finally {
      await c.close();
    }
  }
  // Junk before the response completes is still an error.
  const bad = canned("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh");
  try {
    await bad.fetch().then(() => assert.unreachable("truncated"), () => {});
  } finally {
    await bad.close();
  }
});
