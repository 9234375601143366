/**
 * IPv6 end to end in real headless Chromium (issue 12): a page served by
 * the relay (`src/relay/server.ts`, in this process, uplink a TAP into a
 * namespace this test creates) runs netwasm (`/netwasm.js`, the real
 * bundle), joins the relay's Ethernet with IPv6 only and SLAAC on, gets a
 * global address from the router advertisements Linux's `radvd` sends on
 * the host side of the TAP (RFC 4862), and downloads a file over TCP/IPv6
 * with `stack.fetch("http://[2001:db8::1]:8000/…")` from Linux
 * `python3 -m http.server`. Every frame on the TAP is checked by tshark.
 *
 * Needs interop (root, namespaces, radvd, tcpdump, tshark, python3) and
 * Chromium; missing pieces skip with the reason, except under `CI=true`.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { isCi, requireInterop, withNetns } from "../_util/netns.ts";
import { startRelay } from "../../src/relay/server.ts";
import { formatIpv6, inPrefix6, parseIpv6Address } from "../../src/wire/addr6.ts";
import { CHROMIUM, launchChromium } from "./run.ts";

const ROOT = new URL("../../", import.meta.url);
const path = (rel: string) => decodeURIComponent(new URL(rel, ROOT).pathname);
const STATIC = decodeURIComponent(new URL("e2e_static/", import.meta.url).pathname);
const SIZE = 8 << 20;
const PYTHON = "/usr/bin/python3";
const KERNEL_IP6 = "2001:db8::1";

// deno-lint-ignore no-explicit-any
type Page = any;

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** Skip unless interop (with radvd) and Chromium are available (fail under CI=true). */
function requireAll(name: string): { ignore?: boolean; reason?: string } {
  if (!isDeno) return { ignore: true, reason: "runs Chromium from Deno" };
  const interop = requireInterop(name, { tools: ["radvd", "tcpdump", "tshark", "python3"] });
  if (interop.ignore) return interop;
  if (haveChromium() || isCi()) return {};
  return { ignore: true, reason: `${CHROMIUM} not found (apt-get install -y chromium)` };
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

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

test(
  `e2e Chromium IPv6: a page on the relay gets a global address by SLAAC from Linux radvd and fetches ${
    SIZE >> 20
  } MiB from http://[${KERNEL_IP6}]:8000/ over TCP/IPv6, sha256 equal; tshark clean`,
  async () => {
    assert.ok(haveChromium(), `${CHROMIUM} not found; CI=true requires it`);
    const www = await Deno.makeTempDir({ prefix: "netwasm_e2e6_www_" });
    const bundleDir = await Deno.makeTempDir({ prefix: "netwasm_e2e6_" });
    const profile = await Deno.makeTempDir({ prefix: "netwasm_chromium6_" });
    // deno-lint-ignore no-explicit-any
    let context: any;
    try {
      const data = new Uint8Array(SIZE);
      for (let i = 0; i < SIZE; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
      await Deno.writeFile(`${www}/blob`, data);
      const want = await sha256Hex(data);
      const built = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          "build.ts",
          "--bundle-only",
          "--outfile",
          `${bundleDir}/netwasm.js`,
        ],
        cwd: path("."),
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(built.success, new TextDecoder().decode(built.stderr));
      context = await launchChromium(profile);
      await withNetns(async (ns) => {
        await Deno.writeTextFile(
          `${www}.radvd.conf`,
          `interface ${ns.dev} {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvDefaultLifetime 600;
  prefix 2001:db8::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 3600; AdvPreferredLifetime 1800; };
};
`,
        );
        ns.spawn([
          "radvd",
          "-C",
          `${www}.radvd.conf`,
          "-p",
          `${www}.radvd.pid`,
          "-n",
          "-m",
          "stderr",
        ]);
        const server = ns.spawn([
          PYTHON,
          "-u",
          "-m",
          "http.server",
          "8000",
          "--bind",
          KERNEL_IP6,
          "--directory",
          www,
        ]);
        await server.waitForOutput("Serving HTTP", { timeout: 10_000 });
        const relay = await startRelay({
          port: 0,
          quiet: true,
          staticDir: STATIC,
          bundleDir,
          summaryIntervalMs: 0,
          tap: { name: ns.dev, netns: ns.name },
        });
        try {
          const page = await context.newPage();
          const errors: string[] = [];
          page.on("pageerror", (e: Error) => errors.push(String(e.stack ?? e)));
          await page.goto(`${relay.httpUrl}index.html`);
          await page.waitForFunction(
            () => document.getElementById("status")?.textContent === "ready",
            undefined,
            { timeout: 15_000 },
          ).catch((e: Error) => {
            throw new Error(`page did not load: ${e.message}; page errors: ${errors.join("; ")}`);
          });
          const up = await within<
            { address: string; prefixLength: number; routes: string[]; engine: string }
          >(
            page.evaluate((ms: number) => (globalThis as Page).e2e.upSlaac(ms), 20_000),
            25_000,
            "SLAAC",
          );
          const a = parseIpv6Address(up.address);
          const text = formatIpv6(a);
          assert.ok(
            inPrefix6(a, 0, parseIpv6Address("2001:db8::"), 0, 64),
            `SLAAC address ${up.address} in the advertised prefix`,
          );
          assert.is(up.prefixLength, 64);
          assert.ok(
            up.routes.some((r) => r.startsWith("default via fe80:")),
            `default route from the RA: ${up.routes.join("; ")}`,
          );
          const got = await within<{ status: number; bytes: number; sha256: string; ms: number }>(
            page.evaluate(
              (url: string) => (globalThis as Page).e2e.fetch(url),
              `http://[${KERNEL_IP6}]:8000/blob`,
            ),
            60_000,
            "fetch over IPv6",
          );
          assert.is(got.status, 200);
          assert.is(got.bytes, SIZE);
          assert.is(got.sha256, want, "sha256 of the body in the page");
          await server.kill();
          assert.ok(
            server.stderr.includes(`${text} - - `),
            `python saw the page's SLAAC address: ${server.stderr.slice(0, 500)}`,
          );
          await page.evaluate(() => (globalThis as Page).e2e.down());
          assert.is(relay.stats().totals.dropped, 0, relay.summary());
          const report = await ns.checkCapture();
          assert.ok(report.frames > SIZE / 1500, `frames captured: ${report.frames}`);
          assert.is(report.findings.length, 0, report.findings.join("\n"));
          console.log(
            `[e2e] SLAAC + fetch over IPv6: page address ${text}/64 from radvd, ${
              SIZE >> 20
            } MiB in ${(got.ms / 1000).toFixed(2)} s (${
              ((SIZE * 8) / 1e6 / (got.ms / 1000)).toFixed(0)
            } Mbit/s), sha256 equal; engine ${up.engine}; ${report.frames} TAP frames tshark-clean`,
          );
        } finally {
          await relay.close();
        }
      }, { openTap: false, ipv6: true, capture: "check" });
    } finally {
      await context?.close();
      for (const p of [www, bundleDir, profile]) {
        await Deno.remove(p, { recursive: true }).catch(() => {});
      }
      for (const f of [`${www}.radvd.conf`, `${www}.radvd.pid`]) {
        await Deno.remove(f).catch(() => {});
      }
    }
  },
  requireAll("e2e IPv6 SLAAC"),
);
