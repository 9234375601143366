/**
 * `stack.fetch` against Linux's Python HTTP server (`http.server` with
 * HTTP/1.1 keep-alive, plus a chunked and a redirecting path) on the kernel
 * side of a TAP in a namespace the test creates: a body by Content-Length
 * (sha256), a directory redirect and a 302 followed to a chunked body,
 * several requests on one kept-alive connection, and an abort mid-body after
 * which the next fetch still works.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { requireInterop } from "../_util/netns.ts";
import { figure, KERNEL_IP, withStack } from "./_stack.ts";
import { randomFile, sha256File } from "./_tcp_wire.ts";

const PORT = 8000;
const MIB = 16;

const SERVER = `
import http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(200):
                data = ("line %d\\n" % i).encode() * 50
                self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(data), data))
            self.wfile.write(b"0\\r\\n\\r\\n")
            return
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/chunked")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()
    def log_message(self, fmt, *args):
        sys.stderr.write("%s:%d %s\\n" % (self.client_address[0], self.client_address[1], fmt % args))
        sys.stderr.flush()
root = sys.argv[1]
srv = http.server.ThreadingHTTPServer((sys.argv[2], int(sys.argv[3])), lambda *a, **k: H(*a, directory=root, **k))
sys.stderr.write("ready\\n")
sys.stderr.flush()
srv.serve_forever()
`;

function expectedChunked(): string {
  let s = "";
  for (let i = 0; i < 200; i++) s += `line ${i}\n`.repeat(50);
  return s;
}

test(
  "interop fetch: stack.fetch against Linux python3 http.server — Content-Length body (sha256), redirects (301 directory, 302 → chunked), keep-alive reuse, abort mid-body",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "netwasm-fetch-py-" });
    try {
      await Deno.mkdir(`${dir}/files/sub`, { recursive: true });
      await Deno.writeTextFile(`${dir}/files/sub/index.html`, "<p>sub</p>\n");
      await randomFile(`${dir}/files/blob`, MIB << 20);
      const want = await sha256File(`${dir}/files/blob`);
      await Deno.writeTextFile(`${dir}/server.py`, SERVER);
      await withStack(async (ns, stack) => {
        const server = ns.spawn([
          "python3",
          `${dir}/server.py`,
          `${dir}/files`,
          KERNEL_IP,
          String(PORT),
        ]);
        await server.waitForOutput("ready", { timeout: 10_000 });
        const base = `http://${KERNEL_IP}:${PORT}`;
        // A body by Content-Length, streamed and hashed.
        const t0 = performance.now();
        const res = await stack.fetch(`${base}/blob`);
        assert.is(res.status, 200);
        assert.is(res.headers.get("content-length"), String(MIB << 20));
        const got = new Uint8Array(await res.arrayBuffer());
        const seconds = (performance.now() - t0) / 1000;
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", got));
        assert.is([...digest].map((b) => b.toString(16).padStart(2, "0")).join(""), want);
        // 301 for a directory without the slash; 302 to a chunked body.
        const sub = await stack.fetch(`${base}/sub`);
        assert.is(sub.status, 200);
        assert.is(sub.redirected, true);
        assert.is(sub.url, `${base}/sub/`);
        assert.is(await sub.text(), "<p>sub</p>\n");
        const chunked = await stack.fetch(`${base}/redirect`);
        assert.is(chunked.url, `${base}/chunked`);
        assert.is(chunked.headers.get("transfer-encoding"), "chunked");
        assert.is(await chunked.text(), expectedChunked());
        // All of it on one kept-alive connection: one client port in the server's log.
        await server.waitUntil((p) => (p.stderr.match(/"GET /g)?.length ?? 0) >= 5, {
          what: "five requests in the server log",
        });
        const ports = new Set(
          [...server.stderr.matchAll(/^192\.0\.2\.2:(\d+) "GET/gm)].map((m) => m[1]),
        );
        assert.is(ports.size, 1, server.stderr);
        assert.is(stack.http.stats.connectionsOpened, 1);
        // Abort mid-body: the stream errors with the reason; the next fetch works.
        const ac = new AbortController();
        const big = await stack.fetch(`${base}/blob`, { signal: ac.signal });
        const reader = big.body!.getReader();
        let n = 0;
        while (n < 1 << 20) n += (await reader.read()).value!.length;
        ac.abort();
        const e = await reader.read().catch((e) => e);
        assert.is((e as Error).name, "AbortError");
        assert.is(stack.http.idleConnections, 0);
        const again = await stack.fetch(`${base}/sub/`);
        assert.is(await again.text(), "<p>sub</p>\n");
        assert.is(stack.http.stats.connectionsOpened, 2, "a new connection after the abort");
        await server.kill("SIGTERM");
        figure(
          "fetch stack.fetch ← linux python http.server",
          `${MIB} MiB sha256 match in ${seconds.toFixed(2)} s (${
            ((MIB * 8 * 1.048576) / seconds).toFixed(0)
          } Mbit/s); 301 and 302→chunked followed; 5 requests on 1 connection; abort after ${n} bytes`,
        );
      }, { netns: { capture: false } });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("fetch against python http.server", { tools: ["python3", "sha256sum"] }),
);
