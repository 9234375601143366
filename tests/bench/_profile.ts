/**
 * An inspector CPU profile of this process (`node:inspector`, the V8
 * sampling profiler Chrome DevTools uses), summarised as the functions with
 * the most self time. The relay bench runs it inside the relay process and
 * prints the top entries; anyone can wrap a piece of work in
 * {@link cpuProfile} the same way.
 *
 * @example
 * ```ts
 * import { cpuProfile, formatProfile } from "./_profile.ts";
 * const p = await cpuProfile(async () => {
 *   let x = 0;
 *   for (let i = 0; i < 1e6; i++) x += Math.sqrt(i);
 *   return x;
 * });
 * console.log(formatProfile(p.top));
 * ```
 *
 * @module
 */
import { Session } from "node:inspector";

/** One line of the summary: a function and its self time. */
export interface ProfileEntry {
  /** Function name (`(anonymous)`, `(garbage collector)`, `(program)` for V8's own). */
  readonly name: string;
  /** `file:line` (file relative to the repository when inside it). */
  readonly where: string;
  /** Milliseconds of samples in this function itself. */
  readonly selfMs: number;
  /** Share of all samples, percent. */
  readonly pct: number;
  /** Share of the samples where the process was not idle, percent (0 for `(idle)` itself). */
  readonly busyPct: number;
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** A running profile: stop it to get the summary. */
export interface Profiler {
  /** Stop sampling; the `n` functions with the most self time (default 15). */
  stop(n?: number): Promise<{ top: ProfileEntry[]; totalMs: number }>;
}

function post<T>(s: Session, method: string, params?: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    s.post(method, params ?? {}, (err: Error | null, result: unknown) => {
      if (err) reject(err);
      else resolve(result as T);
    });
  });
}

const ROOT = new URL("../../", import.meta.url).href;

/** Start the sampling profiler (interval `intervalUs`, default 200 µs). */
export async function startProfile(intervalUs = 200): Promise<Profiler> {
  const s = new Session();
  s.connect();
  await post(s, "Profiler.enable");
  await post(s, "Profiler.setSamplingInterval", { interval: intervalUs });
  await post(s, "Profiler.start");
  return {
    async stop(n = 15) {
      const { profile } = await post<{ profile: Profile }>(s, "Profiler.stop");
      await post(s, "Profiler.disable");
      s.disconnect();
      return summarise(profile, n);
    },
  };
}

/** Run `fn` under the profiler; its result and the top `n` functions by self time. */
export async function cpuProfile<T>(
  fn: () => Promise<T> | T,
  n = 15,
): Promise<{ result: T; top: ProfileEntry[]; totalMs: number }> {
  const p = await startProfile();
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    await p.stop(n).catch(() => {});
    throw e;
  }
  const { top, totalMs } = await p.stop(n);
  return { result, top, totalMs };
}

/** Self time per function (merged over call sites), most first. */
export function summarise(profile: Profile, n: number): { top: ProfileEntry[]; totalMs: number } {
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  let samples = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    samples += node.hitCount ?? 0;
    if (node.callFrame.functionName === "(idle)") idle += node.hitCount ?? 0;
  }
  const busy = samples - idle;
  const perSample = samples > 0 ? totalMs / samples : 0;
  const byKey = new Map<string, { name: string; where: string; hits: number }>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const f = node.callFrame;
    const file = f.url.startsWith(ROOT) ? f.url.slice(ROOT.length) : f.url.replace(/^.*\//, "");
    const where = file === "" ? "" : `${file}:${f.lineNumber + 1}`;
    const name = f.functionName || "(anonymous)";
    const key = `${name}@${where}`;
    const e = byKey.get(key);
    if (e === undefined) byKey.set(key, { name, where, hits });
    else e.hits += hits;
  }
  const top = [...byKey.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, n)
    .map((e) => ({
      name: e.name,
      where: e.where,
      selfMs: e.hits * perSample,
      pct: samples > 0 ? (100 * e.hits) / samples : 0,
      busyPct: e.name === "(idle)" || busy <= 0 ? 0 : (100 * e.hits) / busy,
    }));
  return { top, totalMs };
}

/**
 * The entries as aligned text lines: share of all samples, share of the
 * busy (non-idle) samples, self time, name, `file:line`.
 */
export function formatProfile(top: readonly ProfileEntry[]): string {
  const head = "   all %  busy %  self ms  function";
  return [
    head,
    ...top.map((e) =>
      `${e.pct.toFixed(1).padStart(8)}  ${
        e.name === "(idle)" ? "".padStart(6) : e.busyPct.toFixed(1).padStart(6)
      }  ${e.selfMs.toFixed(0).padStart(7)}  ${e.name}  ${e.where}`
    ),
  ].join("\n");
}
