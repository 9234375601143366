/**
 * netwasm stacks without a relay, in real headless Chromium, from the real
 * bundle (`/netwasm.js`); the page side is `lan_static/lan.js`.
 *
 * 1. page ↔ page: two tabs of one origin on a `BroadcastChannelLink` LAN
 *    exchange 16 MiB each way over one TCP connection (sha256 both sides).
 * 2. page ↔ Worker: the page's stack and a stack in its dedicated Worker
 *    (`lan_worker.js`) on a `MessagePortLink`: 128 MiB page → Worker and
 *    128 MiB Worker → page, sha256 checked on the receiving side; the
 *    figure is the one the issue's ≥ 2 Gbit/s target is about.
 * 3. `WorkerStack`: the stack in a Worker used from the page through the
 *    proxy (the bundle starts itself as the Worker), with shared-memory
 *    rings (the page is cross-origin isolated) and with transferred
 *    buffers: 8 MiB echoed, sha256 equal.
 *
 * Needs Chromium only (no root): the relay here only serves the files.
 * Skips with the reason when Chromium is missing, except under `CI=true`.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { isCi } from "../_util/netns.ts";
import { type Relay, startRelay } from "../../src/relay/server.ts";
import { CHROMIUM, launchChromium } from "./run.ts";

const ROOT = new URL("../../", import.meta.url);
const STATIC = decodeURIComponent(new URL("lan_static/", import.meta.url).pathname);
const MIB = 1 << 20;
const BULK = 128 * MIB;

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}
const chromiumOk = isDeno && haveChromium();
const noChromium = `${CHROMIUM} not found (apt-get install -y chromium)`;
function requireChromium(): { ignore?: boolean; reason?: string } {
  if (!isDeno) return { ignore: true, reason: "runs Chromium from Deno" };
  if (chromiumOk || isCi()) return {};
  return { ignore: true, reason: noChromium };
}

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

const gbit = (bytes: number, ms: number) => (bytes * 8 / 1e9 / (ms / 1000)).toFixed(2);

// deno-lint-ignore no-explicit-any
type Page = any;

/** The bundle built into a temp dir, a relay serving lan_static/, Chromium; all cleaned up. */
async function withLan<T>(fn: (open: () => Promise<Page>, relay: Relay) => Promise<T>): Promise<T> {
  assert.ok(chromiumOk, `${noChromium}; CI=true requires it`);
  const bundleDir = await Deno.makeTempDir({ prefix: "netwasm_lan_" });
  const profile = await Deno.makeTempDir({ prefix: "netwasm_chromium_" });
  // deno-lint-ignore no-explicit-any
  let context: any;
  let relay: Relay | undefined;
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "build.ts",
        "--bundle-only",
        "--outfile",
        `${bundleDir}/netwasm.js`,
      ],
      cwd: decodeURIComponent(ROOT.pathname),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(r.success, `build.ts --bundle-only: ${new TextDecoder().decode(r.stderr)}`);
    relay = await startRelay({
      port: 0,
      quiet: true,
      staticDir: STATIC,
      bundleDir,
      summaryIntervalMs: 0,
    });
    context = await launchChromium(profile);
    const open = async () => {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e: Error) => errors.push(String(e.stack ?? e)));
      await page.goto(`${relay!.httpUrl}index.html`);
      await page.waitForFunction(
        () => document.getElementById("status")?.textContent === "ready",
        undefined,
        { timeout: 15_000 },
      ).catch((e: Error) => {
        throw new Error(`page did not load: ${e.message}; page errors: ${errors.join("; ")}`);
      });
      return page;
    };
    return await fn(open, relay);
  } finally {
    await context?.close();
    await relay?.close();
    await Deno.remove(bundleDir, { recursive: true }).catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

interface Exchange {
  sent: string;
  received: string;
  receivedBytes: number;
  ms: number;
  linkStats: { messagesOut: number; rxOtherHost: number; rxPackets: number };
}

test(
  "browser LAN: two tabs on a BroadcastChannelLink exchange 16 MiB each way over one TCP connection, no relay; sha256 both sides",
  async () => {
    await withLan(async (open) => {
      const name = `lan-${crypto.randomUUID()}`;
      const a = await open();
      const b = await open();
      const info = await a.evaluate(
        ([n, addr]: [string, string]) => (globalThis as Page).lan.bcUp(n, addr),
        [name, "192.0.2.10/24"],
      );
      assert.ok(info.crossOriginIsolated);
      await b.evaluate(
        ([n, addr]: [string, string]) => (globalThis as Page).lan.bcUp(n, addr),
        [name, "192.0.2.11/24"],
      );
      const size = 16 * MIB;
      const listening = a.evaluate(
        (s: number) =>
          (globalThis as Page).lan.bcExchange({ listenPort: 8080, size: s, seed: 0xa }),
        size,
      );
      await a.waitForFunction(() => (globalThis as Page).lanListening === true, undefined, {
        timeout: 5000,
      });
      const [ra, rb] = await within<[Exchange, Exchange]>(
        Promise.all([
          listening,
          b.evaluate(
            (s: number) =>
              (globalThis as Page).lan.bcExchange({
                host: "192.0.2.10",
                port: 8080,
                size: s,
                seed: 0xb,
              }),
            size,
          ),
        ]),
        90_000,
        "BroadcastChannel exchange",
      );
      assert.is(ra.receivedBytes, size);
      assert.is(rb.receivedBytes, size);
      assert.is(ra.received, rb.sent, "B → A sha256");
      assert.is(rb.received, ra.sent, "A → B sha256");
      assert.is(ra.sent, await sha256Hex(seeded(size, 0xa)));
      for (const p of [a, b]) await p.evaluate(() => (globalThis as Page).lan.bcDown());
      const ms = Math.max(ra.ms, rb.ms);
      console.log(
        `[lan] page↔page (BroadcastChannel): 16 MiB each way in ${(ms / 1000).toFixed(2)} s ` +
          `(${gbit(2 * size, ms)} Gbit/s both directions), sha256 equal; ` +
          `A sent ${ra.linkStats.messagesOut} messages`,
      );
    });
  },
  requireChromium(),
);

interface Bulk {
  bytes: number;
  sha256: string;
  peerSha256: string;
  ms: number;
  engine: string;
  pageLink: { messagesOut: number; txPackets: number; txBytes: number; buffersReused: number };
}

test(
  `browser LAN: page ↔ its Worker on a MessagePortLink, ${
    BULK / MIB
  } MiB each direction over TCP (super-segments, batches), sha256 on the receiving side`,
  async () => {
    await withLan(async (open) => {
      const page = await open();
      const figures: string[] = [];
      for (const fromWorker of [false, true]) {
        const r = await within<Bulk>(
          page.evaluate(
            ([size, fw]: [number, boolean]) =>
              (globalThis as Page).lan.workerBulk({ size, seed: 0x5eed, fromWorker: fw }),
            [BULK, fromWorker],
          ),
          120_000,
          `page ${fromWorker ? "←" : "→"} Worker`,
        );
        assert.is(r.bytes, BULK);
        assert.is(r.sha256, r.peerSha256, "sha256 on the receiving side");
        assert.is(r.sha256, await sha256Hex(seeded(BULK, 0x5eed)));
        figures.push(
          `page ${fromWorker ? "←" : "→"} Worker ${BULK / MIB} MiB in ${
            (r.ms / 1000).toFixed(2)
          } s ` +
            `(${gbit(BULK, r.ms)} Gbit/s)`,
        );
        if (!fromWorker) {
          assert.ok(r.pageLink.txBytes / r.pageLink.txPackets > 4000, "super-segments");
          assert.ok(r.pageLink.messagesOut < r.pageLink.txPackets, "batches");
        }
      }
      console.log(`[lan] ${figures.join("; ")}; sha256 equal`);
    });
  },
  requireChromium(),
);

interface Echo {
  shared: boolean;
  engine: string;
  bytes: number;
  sha256: string;
  want: string;
  ms: number;
}

test(
  "browser LAN: WorkerStack — the stack in a Worker used from the page through the proxy (shared rings and transferred buffers), 8 MiB echoed, sha256 equal",
  async () => {
    await withLan(async (open) => {
      const page = await open();
      const figures: string[] = [];
      for (const shared of [true, false]) {
        const r = await within<Echo>(
          page.evaluate(
            ([sh, size]: [boolean, number]) =>
              (globalThis as Page).lan.proxyEcho({ size, seed: 7, shared: sh }),
            [shared, 8 * MIB],
          ),
          90_000,
          `WorkerStack echo (shared ${shared})`,
        );
        assert.is(r.shared, shared);
        assert.is(r.bytes, 8 * MIB);
        assert.is(r.sha256, r.want);
        figures.push(
          `${shared ? "shared rings" : "transferred buffers"}: 8 MiB echoed in ${
            (r.ms / 1000).toFixed(2)
          } s (${gbit(16 * MIB, r.ms)} Gbit/s both ways)`,
        );
      }
      console.log(`[lan] WorkerStack ${figures.join("; ")}; sha256 equal`);
    });
  },
  requireChromium(),
);
