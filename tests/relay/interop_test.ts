/**
 * Interop: the relay with a TAP uplink inside a throw-away network
 * namespace (the relay attaches to the harness's TAP as the CLI does), and a
 * Deno-side stack connected to the relay by WebSocket. The stack pings the
 * Linux kernel (192.0.2.1) and fetches a file over TCP from a Linux HTTP
 * server (`python3 -m http.server`); the body's sha256 must match. Every
 * frame on the TAP is captured and must pass tshark with zero findings.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { requireInterop, withNetns } from "../_util/netns.ts";
import { startRelay } from "../../src/relay/server.ts";
import { patternBytes, readAll, sha256Hex, within, wsHost } from "./_helpers.ts";

const SIZE = 4 << 20;

test(
  "interop: browser-style stack → WebSocket → relay → TAP → Linux: ping 192.0.2.1 and HTTP GET 4 MiB (sha256 equal); tshark clean",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "netwasm-relay-www-" });
    try {
      const data = patternBytes(SIZE, 11);
      await Deno.writeFile(`${dir}/blob.bin`, data);
      await withNetns(async (ns) => {
        const relay = await startRelay({
          port: 0,
          quiet: true,
          bundleDir: null,
          tap: { name: ns.dev, netns: ns.name },
        });
        const host = await wsHost(relay.url, "192.0.2.2");
        try {
          const reply = await host.stack.ping(ns.kernelIp, { timeout: 5000 });
          assert.ok(reply.dataMatches);
          const server = ns.spawn([
            "python3",
            "-u",
            "-m",
            "http.server",
            "8000",
            "--bind",
            ns.kernelIp,
            "--directory",
            dir,
          ]);
          await server.waitForOutput("Serving HTTP", { timeout: 10_000 });
          const conn = await host.stack.connect({ hostname: ns.kernelIp, port: 8000 });
          await conn.write(
            new TextEncoder().encode(
              `GET /blob.bin HTTP/1.0\r\nHost: ${ns.kernelIp}\r\nConnection: close\r\n\r\n`,
            ),
          );
          const response = await within(readAll(conn, SIZE + 4096), 30_000, "HTTP GET");
          conn.close();
          let end = -1;
          for (let i = 0; i + 3 < response.length && i < 4096; i++) {
            if (
              response[i] === 13 && response[i + 1] === 10 && response[i + 2] === 13 &&
              response[i + 3] === 10
            ) {
              end = i + 4;
              break;
            }
          }
          assert.ok(end > 0, "HTTP header end");
          const head = new TextDecoder().decode(response.subarray(0, end));
          assert.ok(head.startsWith("HTTP/1.0 200"), head);
          const body = response.slice(end);
          assert.is(body.length, SIZE);
          const got = await sha256Hex(body);
          assert.is(got, await sha256Hex(data));
          await server.kill();
          const s = relay.stats();
          assert.is(s.totals.dropped, 0);
          const report = await ns.checkCapture();
          assert.ok(report.frames > 1000, `frames captured: ${report.frames}`);
          assert.is(report.findings.length, 0, report.findings.join("\n"));
          console.log(
            `relay interop: ping rtt ${reply.rtt.toFixed(2)} ms; GET ${SIZE} bytes sha256 ${
              got.slice(0, 16)
            }…; ${report.frames} TAP frames tshark-clean; ${relay.summary()}`,
          );
        } finally {
          await host.close();
          await relay.close();
        }
      }, { openTap: false, capture: "check" });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("relay interop", { tools: ["tcpdump", "tshark", "python3"] }),
);
