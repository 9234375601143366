/**
 * `stack.fetch` on virtual time: A fetches from B, where B runs the
 * project's own HTTP server (`src/cli/http.ts`) or a scripted server that
 * answers each request with the bytes a test chooses (chunked bodies,
 * redirects, stalls, early closes).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Pair, pair, settle } from "../_util/sim.ts";
import { httpPair } from "../cli/_http.ts";
import { memorySource } from "../../src/cli/http_files.ts";
import { HttpParser, type HttpRequestHead } from "../../src/http/parser.ts";
import type { Conn } from "../../src/api/conn.ts";
import { ConnectionRefused, TimedOut } from "../../src/socket/errors.ts";
import { NotFound } from "../../src/dns/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function blob(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 10)) & 0xff;
  return b;
}

async function sha(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** A request the scripted server received. */
interface Seen {
  head: HttpRequestHead;
  body: Uint8Array;
  /** Which connection (0, 1, …) it came on. */
  conn: number;
  /** The raw bytes of the whole request. */
  raw: string;
}

/** What the scripted server does for a request. */
type Action = string | Uint8Array | {
  send?: string | Uint8Array;
  close?: boolean;
  stall?: boolean;
};

/** B listens on `port` and answers each parsed request with `handler`'s action. */
function scripted(p: Pair, port: number, handler: (r: Seen, n: number) => Action) {
  const seen: Seen[] = [];
  const conns: Conn[] = [];
  const listener = p.b.listen({ port });
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        const id = conns.length;
        conns.push(conn);
        (async () => {
          const parser = new HttpParser();
          const buf = new Uint8Array(65536);
          let head: HttpRequestHead | null = null;
          let raw = "";
          const chunks: Uint8Array[] = [];
          try {
            for (;;) {
              const n = await conn.read(buf);
              if (n === null) break;
              raw += dec.decode(buf.subarray(0, n));
              for (const ev of parser.push(buf.subarray(0, n))) {
                if (ev.type === "request") head = ev;
                else if (ev.type === "data") chunks.push(ev.data.slice());
                else if (ev.type === "end" && head !== null) {
                  const body = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
                  let at = 0;
                  for (const c of chunks) {
                    body.set(c, at);
                    at += c.length;
                  }
                  const r = { head, body, conn: id, raw };
                  seen.push(r);
                  chunks.length = 0;
                  raw = "";
                  const a = handler(r, seen.length);
                  const act = typeof a === "string" || a instanceof Uint8Array ? { send: a } : a;
                  if (act.send !== undefined) {
                    await conn.write(
                      typeof act.send === "string" ? enc.encode(act.send) : act.send,
                    );
                  }
                  if (act.stall) return;
                  if (act.close) {
                    conn.close();
                    return;
                  }
                }
              }
            }
            conn.close();
          } catch { /* the client went away */ }
        })();
      }
    } catch { /* closed */ }
  })();
  return {
    seen,
    conns,
    async close() {
      listener.close();
      await loop;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

function ok(body: string, extra = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${enc.encode(body).length}\r\n${extra}\r\n${body}`;
}

test("fetch: GET from the project's HTTP server → a standard Response with status, headers, body", async () => {
  const data = blob(300_000);
  const h = httpPair(memorySource({ "/blob.bin": data, "/index.html": enc.encode("<h1>hi</h1>") }));
  const res = await h.run(h.a.fetch("http://192.0.2.2/blob.bin"));
  assert.instance(res, Response);
  assert.is(res.status, 200);
  assert.is(res.ok, true);
  assert.is(res.statusText, "OK");
  assert.is(res.headers.get("content-length"), "300000");
  assert.is(res.url, "http://192.0.2.2/blob.bin");
  assert.is(res.redirected, false);
  const got = new Uint8Array(await h.run(res.arrayBuffer()));
  assert.is(await sha(got), await sha(data));
  const html = await h.run(h.a.fetch("http://192.0.2.2/index.html"));
  assert.is(html.headers.get("content-type"), "text/html; charset=utf-8");
  assert.is(await h.run(html.text()), "<h1>hi</h1>");
  await h.stop();
});

test("fetch: keep-alive reuses one connection for sequential requests (HEAD and 404 included)", async () => {
  const h = httpPair(memorySource({ "/a": enc.encode("aaa"), "/b": enc.encode("bbbb") }));
  for (const path of ["/a", "/b", "/a"]) {
    const r = await h.run(h.a.fetch(`http://192.0.2.2${path}`));
    await h.run(r.text());
  }
  const head = await h.run(h.a.fetch("http://192.0.2.2/b", { method: "HEAD" }));
  assert.is(head.status, 200);
  assert.is(head.body, null);
  assert.is(head.headers.get("content-length"), "4");
  const missing = await h.run(h.a.fetch("http://192.0.2.2/nope"));
  assert.is(missing.status, 404);
  await h.run(missing.arrayBuffer());
  const peers = new Set(h.log.map((l) => l.split(" ")[0]));
  assert.is(peers.size, 1, `one client connection for all requests:\n${h.log.join("\n")}`);
  assert.is(h.log.length, 5);
  assert.is(h.a.http.stats.connectionsOpened, 1);
  assert.is(h.a.http.stats.connectionsReused, 4);
  assert.is(h.a.http.idleConnections, 1);
  await h.stop();
});

test("fetch: an idle connection the server closed is noticed and a new one is opened", async () => {
  const h = httpPair(memorySource({ "/a": enc.encode("aaa") }), { idleTimeoutMs: 1000 });
  await h.run((await h.run(h.a.fetch("http://192.0.2.2/a"))).text());
  await h.run(new Promise((r) => h.clock.setTimer(5000, () => r(null)))); // the server closes it
  const r = await h.run(h.a.fetch("http://192.0.2.2/a"));
  assert.is(await h.run(r.text()), "aaa");
  assert.is(h.a.http.stats.connectionsOpened, 2);
  assert.is(h.a.http.stats.retries, 0, "found stale before sending, not by failing");
  await h.stop();
});

test("fetch: a reused connection that fails before answering is retried once for an idempotent request (RFC 9112 §9.3.1)", async () => {
  const p = pair({ seed: 31 });
  const s = scripted(
    p,
    8080,
    (r, n) => n === 2 || r.head.method === "POST" ? { close: true } : ok("fine"),
  );
  const f = (init?: RequestInit) => settle(p.clock, p.a.fetch("http://192.0.2.2:8080/x", init));
  assert.is(await settle(p.clock, (await f()).text()), "fine");
  assert.is(await settle(p.clock, (await f()).text()), "fine"); // request 2 hit the close
  assert.is(p.a.http.stats.retries, 1);
  assert.equal(s.seen.map((r) => r.conn), [0, 0, 1]);
  // A POST is not repeated: the caller sees the failure.
  const post = await f({ method: "POST", body: "once" }).catch((e) => e);
  assert.instance(post, TypeError);
  assert.match(post.message, /closed the connection before a response/);
  assert.is(s.seen.filter((r) => r.head.method === "POST").length, 1);
  assert.is(p.a.http.stats.retries, 1);
  await s.close();
  await p.close();
});

test("fetch: chunked responses (extensions, trailers) and a streamed request body sent chunked (RFC 9112 §7.1)", async () => {
  const p = pair({ seed: 32 });
  const s = scripted(p, 80, (r) => {
    if (r.head.url === "/chunked") {
      return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n";
    }
    return ok(`got ${r.body.length} bytes, sha ${r.body[0]}`);
  });
  const res = await settle(p.clock, p.a.fetch("http://192.0.2.2/chunked"));
  assert.is(res.headers.get("transfer-encoding"), "chunked");
  assert.is(await settle(p.clock, res.text()), "hello world!");
  const parts = [blob(1000), blob(70_000), blob(3)];
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = parts.shift();
      if (next === undefined) c.close();
      else c.enqueue(next);
    },
  });
  const up = await settle(
    p.clock,
    p.a.fetch(
      "http://192.0.2.2/upload",
      { method: "POST", body: stream, duplex: "half" } as RequestInit,
    ),
  );
  assert.is(await settle(p.clock, up.text()), "got 71003 bytes, sha 0");
  const last = s.seen.at(-1)!;
  assert.match(last.raw, /^POST \/upload HTTP\/1\.1\r\n/);
  assert.match(last.raw, /\r\nTransfer-Encoding: chunked\r\n/i);
  assert.not.match(last.raw, /Content-Length/i);
  // A bytes body gets Content-Length and the platform's Content-Type.
  const form = await settle(
    p.clock,
    p.a.fetch("http://192.0.2.2/form", { method: "POST", body: new URLSearchParams({ a: "1" }) }),
  );
  await settle(p.clock, form.text());
  assert.match(
    s.seen.at(-1)!.raw,
    /\r\ncontent-type: application\/x-www-form-urlencoded;charset=UTF-8\r\n/i,
  );
  assert.match(s.seen.at(-1)!.raw, /\r\nContent-Length: 3\r\n/);
  await s.close();
  await p.close();
});

test("fetch: redirects are followed (relative, another port, 303 → GET) up to the limit; manual and error modes", async () => {
  const p = pair({ seed: 33 });
  const a = scripted(p, 80, (r) => {
    switch (r.head.url) {
      case "/a":
        return "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 5\r\n\r\nmoved";
      case "/b":
        return "HTTP/1.1 301 Moved Permanently\r\nLocation: http://192.0.2.2:8081/c\r\nContent-Length: 0\r\n\r\n";
      case "/post":
        return "HTTP/1.1 303 See Other\r\nLocation: /result\r\nContent-Length: 0\r\n\r\n";
      case "/result":
        return ok(`${r.head.method} ${r.body.length}`);
      case "/loop":
        return "HTTP/1.1 307 Temporary Redirect\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n";
    }
    return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  });
  const b = scripted(p, 8081, () => ok("final"));
  const res = await settle(p.clock, p.a.fetch("http://192.0.2.2/a"));
  assert.is(res.status, 200);
  assert.is(res.redirected, true);
  assert.is(res.url, "http://192.0.2.2:8081/c");
  assert.is(await settle(p.clock, res.text()), "final");
  assert.equal(
    a.seen.map((r) => r.conn),
    [0, 0],
    "the redirect's body was read, the connection reused",
  );
  const post = await settle(
    p.clock,
    p.a.fetch("http://192.0.2.2/post", { method: "POST", body: "data" }),
  );
  assert.is(await settle(p.clock, post.text()), "GET 0");
  const loop = await settle(
    p.clock,
    p.a.fetch("http://192.0.2.2/loop", { maxRedirects: 3 }).catch((e) => e),
  );
  assert.instance(loop, TypeError);
  assert.match(loop.message, /more than 3 redirects/);
  assert.is(a.seen.filter((r) => r.head.url === "/loop").length, 4);
  const manual = await settle(p.clock, p.a.fetch("http://192.0.2.2/a", { redirect: "manual" }));
  assert.is(manual.status, 302);
  assert.is(manual.headers.get("location"), "/b");
  await settle(p.clock, manual.text());
  const err = await settle(
    p.clock,
    p.a.fetch("http://192.0.2.2/a", { redirect: "error" }).catch((e) => e),
  );
  assert.instance(err, TypeError);
  await a.close();
  await b.close();
  await p.close();
});

test("fetch: aborting mid-body errors the stream with the signal's reason and drops the connection", async () => {
  const data = blob(4 << 20);
  const h = httpPair(memorySource({ "/big": data }));
  const ac = new AbortController();
  const res = await h.run(h.a.fetch("http://192.0.2.2/big", { signal: ac.signal }));
  const reader = res.body!.getReader();
  let got = 0;
  while (got < 100_000) got += (await h.run(reader.read())).value!.length;
  ac.abort();
  const e = await h.run(reader.read().catch((e) => e));
  assert.is((e as Error).name, "AbortError");
  assert.ok(got < data.length);
  assert.is(h.a.http.idleConnections, 0, "an aborted connection is not pooled");
  // Aborted before anything: rejects at once.
  const pre = await h.a.fetch("http://192.0.2.2/big", { signal: AbortSignal.abort() }).catch((e) =>
    e
  );
  assert.is(pre.name, "AbortError");
  await h.stop();
});

test("fetch: timeout bounds the wait for the head, idleTimeout the gaps in the body (TimedOut)", async () => {
  const p = pair({ seed: 34 });
  const s = scripted(
    p,
    80,
    (r) =>
      r.head.url === "/silent"
        ? { stall: true }
        : { send: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", stall: true },
  );
  const t0 = p.clock.now();
  const e = await settle(
    p.clock,
    p.a.fetch("http://192.0.2.2/silent", { timeout: 3000 }).catch((e) => e),
  );
  assert.instance(e, TimedOut);
  assert.match(e.message, /fetch http:\/\/192\.0\.2\.2\/silent/);
  assert.is(p.clock.now() - t0, 3000);
  const res = await settle(p.clock, p.a.fetch("http://192.0.2.2/stall", { idleTimeout: 2000 }));
  const body = await settle(p.clock, res.text().catch((e) => e));
  assert.instance(body, TimedOut);
  // A reader that waits longer than idleTimeout between reads is not the server's fault.
  const h = httpPair(memorySource({ "/big": blob(500_000) }), { seed: 37 });
  const slow = await h.run(h.a.fetch("http://192.0.2.2/big", { idleTimeout: 2000 }));
  const reader = slow.body!.getReader();
  let got = 0;
  for (;;) {
    const r = await h.run(reader.read());
    if (r.done) break;
    got += r.value.length;
    await h.run(new Promise((ok) => h.clock.setTimer(5000, () => ok(null))));
  }
  assert.is(got, 500_000);
  await h.stop();
  await s.close();
  await p.close();
});

test("fetch: clear errors — refused, unknown name, not http:, malformed and truncated responses", async () => {
  const p = pair({ seed: 35, a: { dns: { hosts: { "peer.test": "192.0.2.2" } } } });
  const refused = await settle(p.clock, p.a.fetch("http://192.0.2.2:9/").catch((e) => e));
  assert.instance(refused, TypeError);
  assert.instance(refused.cause, ConnectionRefused);
  assert.match(
    refused.message,
    /^fetch http:\/\/192\.0\.2\.2:9\/: Cannot connect to 192\.0\.2\.2:9: connection refused/,
  );
  p.a.dns.configure({ nameServers: ["192.0.2.2"] });
  const dnsServer = p.b.listenDatagram({ port: 53 });
  (async () => {
    for await (const [q, from] of dnsServer) {
      // NXDOMAIN for anything: flip QR and set RCODE 3.
      const r = q.slice();
      r[2] = r[2]! | 0x80;
      r[3] = (r[3]! & 0xf0) | 3;
      await dnsServer.send(r, from);
    }
  })().catch(() => {});
  const nx = await settle(p.clock, p.a.fetch("http://nx.test/").catch((e) => e));
  assert.instance(nx, TypeError);
  assert.instance(nx.cause, NotFound);
  const tls = await p.a.fetch("https://192.0.2.2/").catch((e) => e);
  assert.instance(tls, TypeError);
  assert.match(tls.message, /only http:\/\//);
  const s = scripted(
    p,
    80,
    (r) =>
      r.head.url === "/junk"
        ? {
          send: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
          close: true,
        }
        : { send: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", close: true },
  );
  const junk = await settle(p.clock, p.a.fetch("http://peer.test/junk").catch((e) => e));
  assert.instance(junk, TypeError);
  assert.match(junk.message, /malformed response/);
  const cut = await settle(p.clock, p.a.fetch("http://peer.test/cut"));
  const body = await settle(p.clock, cut.text().catch((e) => e));
  assert.instance(body, TypeError);
  assert.match(body.message, /reading the body failed/);
  dnsServer.close();
  await s.close();
  await p.close();
});

test("fetch: a gzip-coded body is decoded", async () => {
  const p = pair({ seed: 36 });
  const text = "netwasm ".repeat(1000);
  const gz = new Uint8Array(
    await new Response(
      new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const head = enc.encode(
    `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`,
  );
  const all = new Uint8Array(head.length + gz.length);
  all.set(head);
  all.set(gz, head.length);
  const s = scripted(p, 80, () => all);
  const res = await settle(p.clock, p.a.fetch("http://192.0.2.2/z"));
  assert.is(await settle(p.clock, res.text()), text);
  await s.close();
  await p.close();
});
