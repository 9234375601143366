// The demo page's script: a netwasm stack in the page, joined to the relay
// with WebSocketLink, doing HTTP over its own TCP (stack.fetch, stack.listen).
// Served by the relay (`--static examples/`), which also serves /netwasm.js.
import { Stack, WebSocketLink } from "/netwasm.js";

const $ = (id) => document.getElementById(id);
const params = new URL(location.href).searchParams;
const enc = new TextEncoder();
const dec = new TextDecoder();

function log(msg) {
  $("log").textContent += `${new Date().toISOString().slice(11, 23)} ${msg}\n`;
}
function status(msg) {
  $("status").textContent = msg;
  log(msg);
}
const mib = (n) => `${(n / 1048576).toFixed(2)} MiB`;

/** Show progress of a transfer: bytes so far, of total (or null), since t0. */
function progress(done, total, t0) {
  const s = (performance.now() - t0) / 1000;
  $("progress").max = total ?? 1;
  $("progress").value = total ? done : 0;
  $("stats").textContent =
    `${mib(done)}${total ? ` of ${mib(total)}` : ""} in ${s.toFixed(2)} s, ` +
    `${(done * 8 / 1e6 / Math.max(s, 1e-3)).toFixed(1)} Mbit/s`;
}

/** Write all of `bytes` to a Conn. */
async function writeAll(conn, bytes) {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** GET `url` with the page's own stack.fetch (HTTP/1.1 over netwasm's TCP): status, body, throughput. */
async function get(stack, url) {
  status(`fetching ${url}…`);
  const t0 = performance.now();
  const res = await stack.fetch(url);
  log(`response: ${res.status} ${res.statusText}${res.redirected ? ` (from ${res.url})` : ""}`);
  const cl = res.headers.get("content-length");
  const length = cl === null ? null : Number(cl);
  let body = 0;
  const first = [];
  // ?sha256: keep the body and show its SHA-256 at the end (tests compare it).
  const keep = params.has("sha256") ? [] : null;
  if (res.body !== null) {
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      body += value.length;
      keep?.push(value);
      if (first.length < 512) first.push(...value.subarray(0, 512 - first.length));
      progress(body, length, t0);
    }
  }
  progress(body, length ?? body, t0);
  $("bytes").textContent = preview(Uint8Array.from(first));
  let digest = "";
  if (keep !== null) {
    const hash = new Uint8Array(
      await crypto.subtle.digest("SHA-256", await new Blob(keep).arrayBuffer()),
    );
    digest = `, sha256 ${[...hash].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  status(
    `done: ${body} bytes of body${
      length !== null && body !== length ? ` (expected ${length})` : ""
    }${digest}`,
  );
}

/** The first bytes as text when printable, else as hex. */
function preview(bytes) {
  const text = dec.decode(bytes);
  if (/^[\t\n\r -~]*$/.test(text)) return text;
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Serve `size` bytes over HTTP on `port` to every connection (for the second tab). */
async function serve(stack, port, size) {
  const listener = stack.listen({ port });
  status(`listening on ${params.get("ip") ?? "192.0.2.10/24"} port ${port}, serving ${mib(size)}`);
  const block = new Uint8Array(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = 0x41 + (i % 26);
  for (;;) {
    const conn = await listener.accept();
    log(`accepted from ${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`);
    (async () => {
      const t0 = performance.now();
      const req = new Uint8Array(4096);
      await conn.read(req); // the request line; the reply is the same for any request
      await writeAll(
        conn,
        enc.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`),
      );
      for (let sent = 0; sent < size;) {
        const n = Math.min(block.length, size - sent);
        await writeAll(conn, block.subarray(0, n));
        sent += n;
        progress(sent, size, t0);
      }
      await conn.closeWrite();
      conn.close();
      log("sent");
    })().catch((e) => log(`connection: ${e.message}`));
  }
}

async function main() {
  const relay = params.get("relay") ??
    `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
  const address = params.get("ip") ?? "192.0.2.10/24";
  const stack = new Stack();
  status(`joining the relay at ${relay}…`);
  const link = await WebSocketLink.connect(relay, {
    allocator: stack.allocator,
    clock: stack.clock,
  });
  link.onLinkChange((e) => log(e.up ? "link up" : `link down (${e.code ?? "?"})`));
  if (params.has("dhcp")) {
    // With `netwasm relay --nat`: address, router and name server from the relay.
    const iface = stack.addInterface(link, { dhcp: { probes: 1 } });
    status("asking for a DHCP lease…");
    const lease = await stack.dhcp(iface).bound();
    log(
      `DHCP lease ${lease.address}/${lease.prefixLength} from ${lease.serverId}, ` +
        `router ${lease.routers[0] ?? "none"}, DNS ${lease.dnsServers.join(" ") || "none"}; ` +
        `engine ${stack.hotPaths.kind}`,
    );
  } else {
    const gateway = params.get("gw");
    stack.addInterface(link, { address, ...(gateway ? { gateway } : {}) });
    log(`interface ${address}${gateway ? ` via ${gateway}` : ""}, engine ${stack.hotPaths.kind}`);
  }
  if (params.has("listen")) {
    await serve(stack, Number(params.get("listen")), Number(params.get("size") ?? 8 << 20));
  } else if (params.has("connect")) {
    await get(stack, `http://${params.get("connect")}/`);
  } else if (params.has("get")) {
    await get(stack, params.get("get"));
  } else {
    status("up; add get=, listen= or connect= to the URL");
  }
}

main().catch((e) => status(`error: ${e.message}`));
