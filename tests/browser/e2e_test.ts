/**
 * End to end in real headless Chromium: pages loaded from the relay
 * (`src/relay/server.ts`, in this process) run netwasm (`/netwasm.js`, the
 * real bundle) and join the relay's Ethernet with `WebSocketLink`; the page
 * side is `e2e_static/e2e.js`, driven with `page.evaluate`.
 *
 * 1. page → relay → TAP → Linux: a Linux HTTP server in a namespace this
 *    test creates (`python3 -m http.server --bind 192.0.2.1`) serves a
 *    generated file (64 MiB; `NETWASM_E2E_MIB` overrides outside CI); the
 *    page downloads it over its own TCP and hashes it with crypto.subtle,
 *    twice (the figure of the first download, cold, and of the second, with
 *    the page's code compiled and its memory grown).
 * 2. page → Linux upload: the page sends seeded bytes (32 MiB) to a Python
 *    receiver in the namespace that hashes what it got; digests must match.
 * 3. two pages in one browser exchange 16 MiB each way on one TCP
 *    connection through the relay (no TAP, no root needed).
 *
 * Every frame on the TAP in 1 and 2 is captured and must pass tshark.
 * Tests 1–2 need interop (root, namespaces, tcpdump, tshark, python3) and
 * Chromium; 3 needs Chromium only. Missing pieces skip with the reason,
 * except under `CI=true`, where they fail.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { isCi, type Netns, requireInterop, withNetns } from "../_util/netns.ts";
import { type Relay, startRelay } from "../../src/relay/server.ts";
import { CHROMIUM } from "./run.ts";
import { type CdpBrowser, type CdpPage, launchCdp } from "./cdp.ts";

const ROOT = new URL("../../", import.meta.url);
const path = (rel: string) => decodeURIComponent(new URL(rel, ROOT).pathname);
const STATIC = decodeURIComponent(new URL("e2e_static/", import.meta.url).pathname);
const MIB = 1 << 20;
const IN_CI = isDeno && isCi();

/** Download size: 64 MiB (the figure); `NETWASM_E2E_MIB` may lower it outside CI. */
function downloadSize(): number {
  const env = isDeno ? Deno.env.get("NETWASM_E2E_MIB") : undefined;
  if (env === undefined || IN_CI) return 64 * MIB;
  const n = Number(env);
  if (!(Number.isInteger(n) && n >= 1 && n <= 1024)) {
    throw new Error(`NETWASM_E2E_MIB=${env}: want an integer 1…1024`);
  }
  return n * MIB;
}
const DOWNLOAD = downloadSize();
const UPLOAD = 32 * MIB;
const EXCHANGE = 16 * MIB;
const PYTHON = "/usr/bin/python3";

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}
const chromiumOk = isDeno && haveChromium();
const noChromium = `${CHROMIUM} not found (apt-get install -y chromium)`;

/** Skip unless Chromium is there (fail instead under CI=true). */
function requireChromium(): { ignore?: boolean; reason?: string } {
  if (!isDeno) return { ignore: true, reason: "runs Chromium from Deno" };
  if (chromiumOk || IN_CI) return {};
  return { ignore: true, reason: noChromium };
}

/** Skip unless interop and Chromium are both available (fail under CI=true). */
function requireBoth(name: string): { ignore?: boolean; reason?: string } {
  const interop = requireInterop(name, { tools: ["tcpdump", "tshark", "python3"] });
  if (interop.ignore) return interop;
  return requireChromium();
}

/** Reject with `what` if `p` takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        id = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(id);
  }
}

/** `size` bytes from xorshift32 seeded with `seed` (as `seeded()` in e2e.js). */
function seeded(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >>> 2);
  let x = (seed >>> 0) || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = i & 0xff;
  return out;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const mbit = (bytes: number, ms: number) => (bytes * 8 / 1e6 / (ms / 1000)).toFixed(0);
const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;

/** The one figure line of a test. */
function figure(name: string, text: string): void {
  console.log(`[e2e] ${name}: ${text}`);
}

/** Build the real browser bundle into `dir/netwasm.js` (as the relay serves `dist/`). */
async function buildBundle(dir: string): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "build.ts", "--bundle-only", "--outfile", `${dir}/netwasm.js`],
    cwd: path("."),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(r.success, `build.ts --bundle-only: ${new TextDecoder().decode(r.stderr)}`);
}

// deno-lint-ignore no-explicit-any
type Page = any;

/** What `e2e.download` returns. */
interface DownloadResult {
  status: string;
  head: string;
  bytes: number;
  sha256: string;
  ms: number;
  hashMs: number;
}
/** What `e2e.upload` returns. */
interface UploadResult {
  bytes: number;
  sha256: string;
  reply: string;
  ms: number;
}
/** What `e2e.exchange` returns. */
interface ExchangeResult {
  sent: string;
  sentBytes: number;
  received: string;
  receivedBytes: number;
  ms: number;
}

/** A browser with a fresh profile; pages are opened from a relay. */
interface Browser {
  open(relay: Relay, address: string): Promise<Page>;
}

/**
 * Run `fn` with the bundle built into a temp dir and Chromium launched with
 * a fresh profile; everything is removed afterwards. Chromium is driven over
 * plain CDP (`cdp.ts`), not playwright: playwright's Network domain reports
 * every WebSocket frame to the driver, which cost these pages 4–5× their
 * WebSocket throughput.
 */
async function withBrowser<T>(fn: (bundleDir: string, b: Browser) => Promise<T>): Promise<T> {
  assert.ok(chromiumOk, `${noChromium}; CI=true requires it`);
  const bundleDir = await Deno.makeTempDir({ prefix: "netwasm_e2e_" });
  const profile = await Deno.makeTempDir({ prefix: "netwasm_chromium_" });
  let browser: CdpBrowser | undefined;
  const pages: CdpPage[] = [];
  try {
    await buildBundle(bundleDir);
    browser = await launchCdp(profile);
    const b: Browser = {
      async open(relay, address) {
        const page = await browser!.newPage(`${relay.httpUrl}index.html`);
        pages.push(page);
        await page.waitForFunction(
          () => document.getElementById("status")?.textContent === "ready",
          15_000,
        ).catch((e: Error) => {
          throw new Error(
            `page did not load: ${e.message}; page errors: ${page.errors.join("; ")}`,
          );
        });
        const info = await within<
          { engine: string; crossOriginIsolated: boolean; batching: boolean }
        >(
          page.evaluate((a: string) => (globalThis as Page).e2e.up(a), address),
          10_000,
          `${address}: joining the relay`,
        );
        assert.ok(info.crossOriginIsolated, "page is cross-origin isolated");
        assert.ok(info.batching, "the relay selected batch framing (netwasm.batch.v1)");
        (page as Page).netwasmInfo = info;
        return page;
      },
    };
    return await fn(bundleDir, b);
  } finally {
    for (const p of pages) {
      await within(p.evaluate(() => (globalThis as Page).e2e?.down()), 5000, "page down")
        .catch(() => {});
    }
    await browser?.close();
    await Deno.remove(bundleDir, { recursive: true }).catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/**
 * Frames per second a page may send to the test's relays. The default
 * per-client limit (20 000, ~240 Mbit/s of full frames) is a policy for
 * untrusted pages; these pages send faster and their frames must arrive
 * without drops.
 */
const PAGE_RATE_PPS = 200_000;

/**
 * A relay (in this process) whose uplink is the namespace's TAP, opened with
 * offloads (the kernel's TSO super-frames are cut by the relay, so a batch
 * client gets one message per super-frame); pages served from e2e_static/.
 */
function tapRelay(ns: Netns, bundleDir: string): Promise<Relay> {
  return startRelay({
    port: 0,
    quiet: true,
    staticDir: STATIC,
    bundleDir,
    summaryIntervalMs: 0,
    ratePps: PAGE_RATE_PPS,
    tap: { name: ns.dev, netns: ns.name, offload: true },
  });
}

/** withNetns options for a TAP relay: every frame captured and checked. */
const TAP_NETNS = { openTap: false, capture: "check" } as const;
/**
 * The same where super-frames cross the TAP: the kernel's TSO frames of a
 * download, and the relay's GRO-merged frames of an upload (`gro.ts`):
 * captured whole (up to 64 KiB; tcpdump's ring then has fewer slots, enough
 * for the few thousand frames either makes).
 */
const TAP_NETNS_TSO = { ...TAP_NETNS, captureSnaplen: 65600 } as const;

/** Check the relay dropped nothing and the capture is tshark-clean; returns the frame count. */
async function checkWire(ns: Netns, relay: Relay, minFrames: number): Promise<number> {
  const s = relay.stats();
  assert.is(s.totals.dropped, 0, `relay drops: ${relay.summary()}`);
  const report = await ns.checkCapture();
  assert.ok(
    report.frames >= minFrames,
    `frames captured: ${report.frames} < ${minFrames} (the TAP's counters: ${report.linkFrames})`,
  );
  assert.is(report.findings.length, 0, report.findings.join("\n"));
  return report.frames;
}

const PAGE_IP = "192.0.2.10/24";

test(
  `e2e Chromium: page → relay → TAP → Linux http.server, GET ${
    mib(DOWNLOAD)
  } twice, sha256 equal; tshark clean`,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "netwasm_e2e_www_" });
    try {
      const data = seeded(DOWNLOAD, 0x5eed_0001);
      await Deno.writeFile(`${dir}/blob`, data);
      const want = await sha256Hex(data);
      await withBrowser((bundleDir, browser) =>
        withNetns(async (ns) => {
          const server = ns.spawn([
            PYTHON,
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
          const relay = await tapRelay(ns, bundleDir);
          try {
            const page = await browser.open(relay, PAGE_IP);
            const get = () =>
              within<DownloadResult>(
                page.evaluate(
                  ([h, p, size]: [string, number, number]) =>
                    (globalThis as Page).e2e.download(h, p, "/blob", size),
                  [ns.kernelIp, 8000, DOWNLOAD],
                ),
                90_000,
                `GET ${mib(DOWNLOAD)}`,
              );
            const t0 = performance.now();
            const got = await get();
            const wall = performance.now() - t0;
            assert.match(got.status, /^HTTP\/1\.[01] 200/, got.head);
            assert.is(got.bytes, DOWNLOAD);
            assert.is(got.sha256, want, "sha256 of the body in the page");
            // Once more on the same page: the figure with the page's code
            // compiled by the JIT and its memory grown (the first one pays both).
            const again = await get();
            assert.is(again.bytes, DOWNLOAD);
            assert.is(again.sha256, want, "sha256 of the second body in the page");
            await server.kill();
            await page.evaluate(() => (globalThis as Page).e2e.down());
            // The kernel sends TSO super-frames (up to 64 KiB each) on the TAP.
            const frames = await checkWire(ns, relay, 2 * DOWNLOAD / 65536);
            figure(
              "download",
              `${mib(DOWNLOAD)} GET in ${(got.ms / 1000).toFixed(2)} s (${
                mbit(DOWNLOAD, got.ms)
              } Mbit/s; wall ${(wall / 1000).toFixed(2)} s incl. sha256 ${
                got.hashMs.toFixed(0)
              } ms), again on the same page in ${(again.ms / 1000).toFixed(2)} s (${
                mbit(DOWNLOAD, again.ms)
              } Mbit/s); sha256 ${
                want.slice(0, 16)
              }… equal both times; engine ${page.netwasmInfo.engine}; batch framing ${page.netwasmInfo.batching}; ${frames} TAP frames tshark-clean; relay ${relay.stats().messagesOut} messages to the page`,
            );
          } finally {
            await relay.close();
          }
        }, TAP_NETNS_TSO)
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireBoth("e2e download"),
);

/**
 * Linux-side receiver: accept one connection on HOST:PORT, hash everything
 * until EOF, print `GOT bytes hex`, send `hex\n` back and close.
 */
const PY_SINK = `
import socket, hashlib, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(1)
s.settimeout(60)
print("READY", flush=True)
c, _ = s.accept()
c.settimeout(60)
h = hashlib.sha256()
n = 0
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    h.update(d)
    n += len(d)
x = h.hexdigest()
print(f"GOT {n} {x}", flush=True)
c.sendall(x.encode() + b"\\n")
c.close()
`;

test(
  `e2e Chromium: page uploads ${
    mib(UPLOAD)
  } → relay → TAP → Linux receiver, sha256 on Linux equal; tshark clean`,
  async () => {
    await withBrowser((bundleDir, browser) =>
      withNetns(async (ns) => {
        const sink = ns.spawn([PYTHON, "-u", "-c", PY_SINK, ns.kernelIp, "9000"]);
        await sink.waitForOutput("READY", { timeout: 10_000 });
        const relay = await tapRelay(ns, bundleDir);
        try {
          const page = await browser.open(relay, PAGE_IP);
          const got = await within<UploadResult>(
            page.evaluate(
              ([h, p, size, seed]: [string, number, number, number]) =>
                (globalThis as Page).e2e.upload(h, p, size, seed),
              [ns.kernelIp, 9000, UPLOAD, 0x5eed_0002],
            ),
            90_000,
            `upload ${mib(UPLOAD)}`,
          );
          await sink.waitForOutput(/GOT \d+ [0-9a-f]{64}/, { timeout: 5000 });
          const m = /GOT (\d+) ([0-9a-f]{64})/.exec(sink.stdout)!;
          assert.is(Number(m[1]), UPLOAD, "bytes Linux received");
          assert.is(m[2], got.sha256, "sha256 on Linux vs in the page");
          assert.is(got.reply, got.sha256, "digest Linux sent back");
          assert.is(got.sha256, await sha256Hex(seeded(UPLOAD, 0x5eed_0002)));
          await sink.status;
          await page.evaluate(() => (globalThis as Page).e2e.down());
          // The relay merges the page's segments into super-frames for the TAP.
          const frames = await checkWire(ns, relay, UPLOAD / 65536);
          figure(
            "upload",
            `${mib(UPLOAD)} sent in ${(got.ms / 1000).toFixed(2)} s (${
              mbit(UPLOAD, got.ms)
            } Mbit/s), sha256 ${
              got.sha256.slice(0, 16)
            }… equal on Linux; ${frames} TAP frames tshark-clean`,
          );
        } finally {
          await sink.kill();
          await relay.close();
        }
      }, TAP_NETNS_TSO)
    );
  },
  requireBoth("e2e upload"),
);

test(
  `e2e Chromium: two pages exchange ${
    mib(EXCHANGE)
  } each way over one TCP connection through the relay, sha256 both sides`,
  async () => {
    await withBrowser(async (bundleDir, browser) => {
      const relay = await startRelay({
        port: 0,
        quiet: true,
        staticDir: STATIC,
        bundleDir,
        summaryIntervalMs: 0,
        ratePps: PAGE_RATE_PPS,
      });
      try {
        const a = await browser.open(relay, "192.0.2.10/24");
        const b = await browser.open(relay, "192.0.2.11/24");
        const listening = a.evaluate(() =>
          (globalThis as Page).e2e.exchange({ listenPort: 8080, size: 16 << 20, seed: 0xa })
        );
        await a.waitForFunction(() => (globalThis as Page).e2eListening === true, 5000);
        const t0 = performance.now();
        const [ra, rb] = await within<[ExchangeResult, ExchangeResult]>(
          Promise.all([
            listening,
            b.evaluate(() =>
              (globalThis as Page).e2e.exchange({
                host: "192.0.2.10",
                port: 8080,
                size: 16 << 20,
                seed: 0xb,
              })
            ),
          ]),
          60_000,
          `exchange ${mib(EXCHANGE)}`,
        );
        const wall = performance.now() - t0;
        assert.is(ra.receivedBytes, EXCHANGE);
        assert.is(rb.receivedBytes, EXCHANGE);
        assert.is(ra.received, rb.sent, "B → A sha256");
        assert.is(rb.received, ra.sent, "A → B sha256");
        assert.is(ra.sent, await sha256Hex(seeded(EXCHANGE, 0xa)));
        assert.is(rb.sent, await sha256Hex(seeded(EXCHANGE, 0xb)));
        const s = relay.stats();
        assert.is(s.totals.dropped, 0, `relay drops: ${relay.summary()}`);
        const ms = Math.max(ra.ms, rb.ms);
        figure(
          "page↔page",
          `${mib(EXCHANGE)} each way in ${(ms / 1000).toFixed(2)} s (${
            mbit(2 * EXCHANGE, ms)
          } Mbit/s both directions; wall ${
            (wall / 1000).toFixed(2)
          } s), sha256 equal both sides; relay frames ${s.totals.rxFrames} in, ${s.totals.txFrames} out, 0 dropped`,
        );
      } finally {
        await relay.close();
      }
    });
  },
  requireChromium(),
);
