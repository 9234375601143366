/**
 * `TcpWebSocket` (the Deno WebSocket client with TCP_NODELAY) against Deno's
 * own server (`Deno.upgradeWebSocket`: messages of every length class, text,
 * subprotocol selection, both closing handshakes) and against a raw TCP
 * server that misbehaves on purpose (fragmented messages, ping, masked and
 * reserved frames, oversize messages, a wrong accept key).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { TcpWebSocket } from "../../src/link/ws_client.ts";

const denoOnly = { ignore: !isDeno, reason: "opens TCP sockets with Deno.connect" };

/** Reject with `what` if `p` takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        id = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(id);
  }
}

/** An echo server on Deno's WebSocket; selects `protocol` when offered. */
function echoServer(protocol?: string) {
  const seen: { protocols: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const offered = req.headers.get("sec-websocket-protocol");
    seen.push({ protocols: offered });
    const pick = protocol !== undefined && offered?.split(",").some((p) => p.trim() === protocol);
    const { socket, response } = Deno.upgradeWebSocket(req, pick ? { protocol } : {});
    socket.binaryType = "arraybuffer";
    socket.onmessage = (ev) => {
      if (typeof ev.data === "string" && ev.data.startsWith("close ")) {
        socket.close(Number(ev.data.slice(6)), "server says bye");
      } else socket.send(ev.data);
    };
    return response;
  });
  return { url: `ws://127.0.0.1:${server.addr.port}/`, server, seen };
}

/** Open a client and wait for it. */
async function open(url: string, protocols?: string[]): Promise<TcpWebSocket> {
  const ws = new TcpWebSocket(url, protocols ? { protocols } : {});
  await within(
    new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onclose = (e) => reject(new Error(`closed ${e.code}`));
    }),
    5000,
    "open",
  );
  return ws;
}

function closed(ws: TcpWebSocket): Promise<CloseEvent> {
  return within(new Promise<CloseEvent>((r) => ws.onclose = r), 5000, "close");
}

test(
  "TcpWebSocket: binary echo of every length class (0…200000 bytes), views and sendBytes, text; onbinary and onmessage",
  async () => {
    const { url, server } = echoServer();
    try {
      const ws = await open(url);
      const sizes = [0, 1, 125, 126, 1514, 65535, 65536, 200_000];
      const got: Uint8Array[] = [];
      ws.onbinary = (b, at, len) => void got.push(b.slice(at, at + len));
      const big = new Uint8Array(200_016);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
      for (const n of sizes) ws.send(big.subarray(16, 16 + n));
      ws.sendBytes(big, 5, 300);
      await within(
        (async () => {
          while (got.length < sizes.length + 1) await new Promise((r) => setTimeout(r, 2));
        })(),
        5000,
        "echoes",
      );
      sizes.forEach((n, i) => assert.equal(got[i], big.subarray(16, 16 + n), `size ${n}`));
      assert.equal(got[sizes.length], big.subarray(5, 305));
      // Without onbinary: an ArrayBuffer in a MessageEvent, like the web API; text as text.
      ws.onbinary = null;
      const events: unknown[] = [];
      ws.onmessage = (ev) => void events.push(ev.data);
      ws.send(new Uint8Array([1, 2, 3]).buffer);
      ws.send("héllo");
      await within(
        (async () => {
          while (events.length < 2) await new Promise((r) => setTimeout(r, 2));
        })(),
        5000,
        "events",
      );
      assert.ok(events[0] instanceof ArrayBuffer);
      assert.equal(new Uint8Array(events[0] as ArrayBuffer), new Uint8Array([1, 2, 3]));
      assert.is(events[1], "héllo");
      const done = closed(ws);
      ws.close(1000, "done");
      const e = await done;
      assert.is(e.code, 1000);
      assert.ok(e.wasClean);
      assert.is(ws.readyState, 3);
    } finally {
      await server.shutdown();
    }
  },
  denoOnly,
);

test(
  "TcpWebSocket: the subprotocol is offered and reported when selected, empty when not; a server-initiated close carries code and reason",
  async () => {
    const a = echoServer("netwasm.batch.v1");
    try {
      const ws = await open(a.url, ["netwasm.batch.v1"]);
      assert.is(ws.protocol, "netwasm.batch.v1");
      assert.is(a.seen[0]!.protocols, "netwasm.batch.v1");
      const done = closed(ws);
      ws.send("close 4001");
      const e = await done;
      assert.is(e.code, 4001);
      assert.is(e.reason, "server says bye");
    } finally {
      await a.server.shutdown();
    }
    const b = echoServer();
    try {
      const ws = await open(b.url, ["netwasm.batch.v1"]);
      assert.is(ws.protocol, "", "the server chose none: the client still connects (and knows)");
      const done = closed(ws);
      ws.close();
      await done;
    } finally {
      await b.server.shutdown();
    }
  },
  denoOnly,
);

/**
 * A raw TCP "WebSocket server": answers the handshake (with a wrong accept
 * key if asked), then writes `frames` and records what the client sends.
 */
function rawServer(
  frames: Uint8Array,
  options: { badAccept?: boolean } = {},
): { url: string; received: Promise<Uint8Array>; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const received = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(65536);
    let n = 0;
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const r = await conn.read(buf.subarray(n));
      if (r === null) break;
      n += r;
      text = new TextDecoder().decode(buf.subarray(0, n));
    }
    const key = /sec-websocket-key: (.*)\r\n/i.exec(text)![1]!.trim();
    const digest = await crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
    );
    const accept = options.badAccept
      ? "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
      : btoa(String.fromCharCode(...new Uint8Array(digest)));
    await conn.write(
      new TextEncoder().encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      ),
    );
    await conn.write(frames);
    // Whatever the client sends until it closes.
    const out: number[] = [];
    for (;;) {
      const r = await conn.read(buf).catch(() => null);
      if (r === null) break;
      out.push(...buf.subarray(0, r));
    }
    conn.close();
    return new Uint8Array(out);
  })();
  return { url: `ws://127.0.0.1:${port}/`, received, close: () => listener.close() };
}

/** Unmask the client's frames: [opcode, payload] each. */
function clientFrames(b: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  for (let at = 0; at + 2 <= b.length;) {
    const op = b[at]! & 15;
    let len = b[at + 1]! & 127;
    let p = at + 2;
    if (len === 126) {
      len = (b[p]! << 8) | b[p + 1]!;
      p += 2;
    }
    assert.ok(b[at + 1]! & 0x80, "client frames are masked");
    const mask = b.subarray(p, p + 4);
    p += 4;
    const payload = b.slice(p, p + len).map((x, i) => x ^ mask[i & 3]!);
    out.push([op, payload]);
    at = p + len;
  }
  return out;
}

test("TcpWebSocket: a fragmented message is reassembled; ping is answered with pong", async () => {
  const frames = new Uint8Array([
    0x89,
    2,
    0xaa,
    0xbb, // ping "\xaa\xbb"
    0x02,
    3,
    1,
    2,
    3, // binary, not final
    0x00,
    2,
    4,
    5, // continuation, not final
    0x80,
    1,
    6, // continuation, final
    0x88,
    2,
    0x03,
    0xe8, // close 1000
  ]);
  const srv = rawServer(frames);
  try {
    const ws = new TcpWebSocket(srv.url);
    const got: Uint8Array[] = [];
    ws.onbinary = (b, at, len) => void got.push(b.slice(at, at + len));
    const e = await closed(ws);
    assert.is(e.code, 1000, `${e.code} ${e.reason}`);
    assert.equal(got, [new Uint8Array([1, 2, 3, 4, 5, 6])]);
    const sent = clientFrames(await within(srv.received, 5000, "client frames"));
    assert.equal(sent[0], [0xa, new Uint8Array([0xaa, 0xbb])], "pong echoes the ping's data");
    assert.is(sent[sent.length - 1]![0], 0x8, "the close is answered");
  } finally {
    srv.close();
  }
}, denoOnly);

for (
  const [what, frames, code] of [
    ["a masked frame from the server", new Uint8Array([0x82, 0x81, 1, 2, 3, 4, 5]), 1002],
    ["a reserved opcode", new Uint8Array([0x83, 0]), 1002],
    ["an RSV bit", new Uint8Array([0xc2, 0]), 1002],
    ["a 126-byte ping", new Uint8Array([0x89, 126, 0, 126]), 1002],
    [
      "a message over maxMessageBytes",
      new Uint8Array([0x82, 127, 0, 0, 0, 0, 0x10, 0, 0, 0]),
      1009,
    ],
  ] as const
) {
  test(
    `TcpWebSocket: ${what} fails the connection with ${code} (no message delivered)`,
    async () => {
      const srv = rawServer(frames);
      try {
        const ws = new TcpWebSocket(srv.url, { maxMessageBytes: 1 << 20 });
        let messages = 0;
        ws.onbinary = () => void messages++;
        const e = await closed(ws);
        assert.is(e.code, code);
        assert.is(messages, 0);
        await within(srv.received, 5000, "server end");
      } finally {
        srv.close();
      }
    },
    denoOnly,
  );
}

test(
  "TcpWebSocket: a wrong Sec-WebSocket-Accept is an error and close 1006; never opens",
  async () => {
    const srv = rawServer(new Uint8Array(0), { badAccept: true });
    try {
      const ws = new TcpWebSocket(srv.url);
      let opened = false;
      let errors = 0;
      ws.onopen = () => void (opened = true);
      ws.onerror = () => void errors++;
      const e = await closed(ws);
      assert.is(e.code, 1006);
      assert.not.ok(opened);
      assert.is(errors, 1);
      await within(srv.received, 5000, "server end");
    } finally {
      srv.close();
    }
  },
  denoOnly,
);

test("TcpWebSocket: a refused connection is an error and close 1006", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const ws = new TcpWebSocket(`ws://127.0.0.1:${port}/`);
  let errors = 0;
  ws.onerror = () => void errors++;
  const e = await closed(ws);
  assert.is(e.code, 1006);
  assert.is(errors, 1);
}, denoOnly);
