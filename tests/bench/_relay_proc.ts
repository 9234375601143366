/**
 * The relay as its own process, for the relay benchmarks (a relay is its
 * own process in every deployment): `deno run -A _relay_proc.ts 'JSON'`
 * where JSON is {@link RelayOptions} (plus nothing else). It prints one
 * line `{"url": …}` when listening, then answers commands on stdin, one per
 * line, with one JSON line each:
 *
 * - `mark`: remember the relay's counters and this process's CPU time;
 * - `since`: frames, bytes, messages and CPU microseconds since the mark;
 * - `profile`: start the inspector CPU profiler;
 * - `top N`: stop it and print the N functions with the most self time;
 * - `quit`: close the relay and exit.
 *
 * @module
 */
import process from "node:process";
import { startRelay } from "../../src/relay/server.ts";
import { type Profiler, startProfile } from "./_profile.ts";

const options = JSON.parse(Deno.args[0] ?? "{}");
const relay = await startRelay({ port: 0, quiet: true, bundleDir: null, ...options });
const out = (v: unknown) => console.log(JSON.stringify(v));
out({ url: relay.url });

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const counters = () => {
  const s = relay.stats();
  return {
    framesIn: s.totals.rxFrames,
    framesOut: s.totals.txFrames,
    bytesOut: s.totals.txBytes,
    messagesIn: s.messagesIn,
    messagesOut: s.messagesOut,
    dropped: s.totals.dropped,
  };
};
let mark = { ...counters(), cpuUs: cpu() };
let profiler: Profiler | null = null;

const decoder = new TextDecoder();
let pending = "";
for await (const chunk of Deno.stdin.readable) {
  pending += decoder.decode(chunk, { stream: true });
  let nl: number;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const [cmd, arg] = pending.slice(0, nl).trim().split(" ");
    pending = pending.slice(nl + 1);
    if (cmd === "mark") {
      mark = { ...counters(), cpuUs: cpu() };
      out({ ok: true });
    } else if (cmd === "since") {
      const now = { ...counters(), cpuUs: cpu() };
      const d: Record<string, number> = {};
      for (const k of Object.keys(now) as (keyof typeof now)[]) d[k] = now[k] - mark[k];
      out({ ...d, ports: relay.stats().ports.map((p) => p.stats) });
    } else if (cmd === "profile") {
      profiler = await startProfile();
      out({ ok: true });
    } else if (cmd === "top") {
      const r = profiler === null
        ? { top: [], totalMs: 0 }
        : await profiler.stop(Number(arg ?? 15));
      profiler = null;
      out(r);
    } else if (cmd === "quit") {
      await relay.close();
      out({ ok: true });
      Deno.exit(0);
    }
  }
}
await relay.close();
