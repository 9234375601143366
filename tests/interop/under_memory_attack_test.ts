/**
 * The CLI's HTTP server against clients that pin memory (issue 15, items
 * 1–4), the Linux kernel in the namespace acting as every client. The
 * attackers are `_attack_peer.py mem-attack` (Python 3 standard library),
 * bounded in count and time: 5 clients with TCP_MAXSEG 88 that fetch a large
 * file and never read, 3 s later 100 more with the default MSS, 3 s later
 * 120 that read at 20 KB/s each; 4 s after that they all close at once
 * (unread data: the kernel resets them). Throughout, `ping` runs every 50 ms
 * and `curl` downloads a 4 MiB file again and again.
 *
 * Checked: ping ≥ 95 %; every download complete with sha256 equal; the
 * arena's high water (every slot, whoever holds it) below TCP's high mark
 * (`netwasm http` defaults) and TCP's own charge too; the protections were
 * exercised (pressure entered, writers held back); and 1 s after the
 * attackers left, the server is back to its baseline: the same arena bytes
 * in use, nothing charged to TCP, only the listener left. One `[interop]`
 * figure line.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Netns, type NsProcess, requireInterop, withNetns } from "../_util/netns.ts";
import { figure, OUR_IP } from "./_stack.ts";
import { randomFile, sha256File } from "./_tcp_wire.ts";

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const PEER = new URL("./_attack_peer.py", import.meta.url).pathname;
const PORT = 8080;

/** What one SIGUSR1 report of the CLI says about memory and sockets. */
interface Snapshot {
  sockets: number;
  arenaKiB: number;
  arenaHighKiB: number;
  failed: number;
  tcpKiB: number;
  tcpHighKiB: number;
  marks: [number, number, number];
  pressureEntered: number;
  heldBack: number;
  evicted: number;
  line: string;
}

const MEMORY =
  /memory: arena (\d+) KiB in use \(high water (\d+) KiB\) of \d+ KiB, (\d+) allocations failed, \d+ kept off the reserve; tcp (\d+) KiB \(high water (\d+) KiB\), marks (\d+)\/(\d+)\/(\d+) KiB, pressure \w+ \((\d+)×\), \d+ writers waiting, (\d+) sends held back, (\d+) stuck evicted/;

/** Ask the CLI for its report (SIGUSR1) and parse the socket count and memory line. */
async function snapshot(cli: NsProcess): Promise<Snapshot> {
  const from = cli.stderr.length;
  Deno.kill(cli.pid, "SIGUSR1");
  await cli.waitUntil((p) => /\nmemory: .*\n/.test(p.stderr.slice(from)), {
    timeout: 10_000,
    what: "a stats report",
  });
  const text = cli.stderr.slice(from);
  const head = /netwasm ss: (\d+) sockets/.exec(text);
  const m = MEMORY.exec(text);
  assert.ok(head !== null && m !== null, `unexpected report: ${text.slice(-2000)}`);
  const n = m.slice(1).map(Number);
  return {
    sockets: Number(head[1]),
    arenaKiB: n[0]!,
    arenaHighKiB: n[1]!,
    failed: n[2]!,
    tcpKiB: n[3]!,
    tcpHighKiB: n[4]!,
    marks: [n[5]!, n[6]!, n[7]!],
    pressureEntered: n[8]!,
    heldBack: n[9]!,
    evicted: n[10]!,
    line: /memory: .*/.exec(text)![0],
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Download `path` with curl in the namespace: [ok, seconds]. */
async function download(ns: Netns, path: string, want: string): Promise<[boolean, number]> {
  const r = await ns.exec([
    "sh",
    "-c",
    `curl --max-time 30 -sS -w '%{stderr}%{http_code} %{time_total} %{size_download}\\n' ` +
    `-o - http://${OUR_IP}:${PORT}${path} | sha256sum`,
  ], { timeout: 35_000 });
  const [code, seconds] = r.stderr.trim().split("\n").pop()!.split(" ");
  const ok = r.code === 0 && code === "200" && r.stdout.split(/\s+/)[0] === want;
  if (!ok) console.log(`download failed: exit ${r.code}; curl: ${r.stderr.trim()}`);
  return [ok, Number(seconds)];
}

test(
  "interop issue 15 memory: 5 tiny-MSS non-readers, then 100 non-readers, then 120 readers at 20 KB/s against netwasm http — ping ≥ 95 %, 4 MiB downloads sha256 equal, arena under the high mark, baseline again 1 s after they leave",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "netwasm-mem-" });
    try {
      await randomFile(`${dir}/blob`, 4 << 20);
      const want = await sha256File(`${dir}/blob`);
      // What the attackers fetch: more than any of them gets in the test.
      const big = await Deno.open(`${dir}/big`, { create: true, write: true });
      await big.truncate(64 << 20);
      big.close();
      await withNetns(async (ns) => {
        const cli = ns.spawn([
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "http",
          "--port",
          String(PORT),
          "--root",
          dir,
          "--max-connections",
          "1000",
          "--max-per-client",
          "1000",
          "-q",
          "--tap",
          ns.dev,
          "--netns",
          ns.name,
          "--ip",
          `${OUR_IP}/24`,
        ]);
        await cli.waitForOutput(/serving .* on http:\/\//, { timeout: 30_000 });
        // Warm up (ARP, JIT), then the baseline.
        const [warm] = await download(ns, "/blob", want);
        assert.ok(warm, "warm-up download");
        // The baseline once the warm-up connection is gone (bounded wait).
        let base = await snapshot(cli);
        for (let i = 0; i < 50 && base.sockets > 1; i++) {
          await new Promise((r) => setTimeout(r, 100));
          base = await snapshot(cli);
        }
        const t0 = performance.now();
        const ping = ns.exec(
          ["ping", "-n", "-q", "-i", "0.05", "-W", "1", "-w", "14", OUR_IP],
          { timeout: 25_000 },
        );
        const attack = ns.exec([
          "python3",
          PEER,
          "mem-attack",
          "--target",
          OUR_IP,
          "--port",
          String(PORT),
          "--path",
          "/big",
          "--tiny",
          "5",
          "--plain",
          "100",
          "--slow",
          "120",
          "--rate",
          "20000",
          "--phase",
          "3",
          "--hold",
          "4",
        ], { timeout: 40_000 }).then((r) => ({ ...r, left: performance.now() }));
        // Downloads one after another while the attack runs; the last may
        // start until 2 s before the attackers leave (10 s in).
        const downloads: [boolean, number][] = [];
        while (performance.now() - t0 < 8000) downloads.push(await download(ns, "/blob", want));
        const downloadsEnd = performance.now();
        const a = await attack;
        const left = a.left;
        assert.ok(a.success, `attack peer failed (${a.code}): ${a.stderr}`);
        const kinds = JSON.parse(a.stdout.trim().split("\n").pop()!).kinds as Record<
          string,
          Record<string, number>
        >;
        await new Promise((r) => setTimeout(r, Math.max(0, left + 1000 - performance.now())));
        const after = await snapshot(cli);
        const afterMs = performance.now() - left;
        const p = await ping;
        const pm = /(\d+) packets transmitted, (\d+) received/.exec(p.stdout);
        assert.ok(pm !== null, `ping: ${p.stdout}${p.stderr}`);
        const [sent, got] = [Number(pm[1]), Number(pm[2])];
        await cli.kill("SIGINT");
        const high = after.marks[2];
        const ok = downloads.filter(([d]) => d).length;
        figure(
          "netwasm http under memory attack",
          `ping ${got}/${sent} = ${(100 * got / sent).toFixed(1)} % (≥ 95 %); ` +
            `4 MiB downloads ${ok}/${downloads.length} sha256 equal (median ${
              median(downloads.map(([, t]) => t)).toFixed(1)
            } s, longest ${Math.max(...downloads.map(([, t]) => t)).toFixed(1)} s; clients tiny ${
              kinds.tiny!.opened
            } plain ${kinds.plain!.opened} slow ` +
            `${kinds.slow!.opened} (${kinds.slow!.bytes} B read; reset by the server: tiny ` +
            `${kinds.tiny!.reset}, plain ${kinds.plain!.reset}, slow ${kinds.slow!.reset}); ` +
            `arena high water ${after.arenaHighKiB} KiB, TCP high water ${after.tcpHighKiB} KiB ` +
            `< high mark ${high} KiB (marks ${after.marks.join("/")}); pressure entered ` +
            `${after.pressureEntered}×, ${after.heldBack} sends held back, ${after.evicted} ` +
            `stuck evicted; ${
              afterMs.toFixed(0)
            } ms after they left: arena ${after.arenaKiB} KiB ` +
            `(baseline ${base.arenaKiB}), TCP ${after.tcpKiB} KiB (baseline ${base.tcpKiB}), ` +
            `${after.sockets} sockets (baseline ${base.sockets})`,
        );
        assert.ok(downloadsEnd < left, "the downloads ended before the attackers left");
        assert.ok(got / sent >= 0.95, `ping ${got}/${sent}`);
        assert.ok(downloads.length >= 2, `only ${downloads.length} downloads`);
        assert.is(ok, downloads.length, "every download complete, sha256 equal");
        for (const k of ["tiny", "plain", "slow"]) {
          const c = kinds[k]!;
          assert.ok(c.opened! > 0 && c.requested === c.opened, `${k}: ${JSON.stringify(c)}`);
        }
        // Not vacuous: the attack pressed TCP's memory and was held back.
        assert.ok(after.pressureEntered >= 1, after.line);
        assert.ok(after.heldBack > 0, after.line);
        assert.ok(after.arenaHighKiB < high, `arena high water: ${after.line}`);
        assert.ok(after.tcpHighKiB <= high, `TCP high water: ${after.line}`);
        assert.is(after.failed, 0, `no allocation failed: ${after.line}`);
        // Back to the baseline within 1 s of the attackers leaving.
        assert.ok(afterMs < 1500, `measured ${afterMs} ms after`);
        assert.is(after.tcpKiB, base.tcpKiB, after.line);
        assert.is(after.arenaKiB, base.arenaKiB, after.line);
        assert.is(after.sockets, base.sockets, "only the listener is left");
      }, { openTap: false });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  requireInterop("memory attack", { tools: ["python3", "curl", "sha256sum", "ping"] }),
);
