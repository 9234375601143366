/**
 * Run the CLI (`src/cli/main.ts`) or the demo as a subprocess, bounded in
 * time, the way a user runs them.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);
/** Path of the CLI entry point. */
export const MAIN: string = new URL("src/cli/main.ts", ROOT).pathname;
/** Path of the demo entry point. */
export const DEMO: string = new URL("src/cli/demo.ts", ROOT).pathname;

/** Options for {@link netwasm}. */
export interface CliRunOptions {
  /** SIGKILL after this many ms (default 30 000). */
  timeout?: number;
  /** Working directory (default: this process's). */
  cwd?: string;
  /** Entry point (default {@link MAIN}). */
  entry?: string;
}

/** What a CLI run did. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/**
 * `deno run -A src/cli/main.ts …args`, with its exit code and output.
 *
 * @example
 * ```ts
 * import { netwasm } from "./_cli.ts";
 * const r = await netwasm(["help"]);
 * console.log(r.code, r.stdout);
 * ```
 */
export async function netwasm(
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliResult> {
  const child = start(args, options);
  return await collect(child, options.timeout ?? 30_000);
}

/**
 * Start the CLI in the background; {@link CliProcess.result} bounds it.
 *
 * @example
 * ```ts
 * import { spawnNetwasm } from "./_cli.ts";
 * const p = spawnNetwasm(["help"]);
 * console.log((await p.result).code);
 * ```
 */
export function spawnNetwasm(args: readonly string[], options: CliRunOptions = {}): CliProcess {
  const child = start(args, options);
  return new CliProcess(child, options.timeout ?? 30_000);
}

function start(args: readonly string[], options: CliRunOptions): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", options.entry ?? MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  }).spawn();
}

/** A running CLI whose stdout is read as it arrives. */
export class CliProcess {
  #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  #waiters = new Set<() => void>();
  /** Exit code and output once it exits (killed after the timeout). */
  readonly result: Promise<CliResult>;

  constructor(child: Deno.ChildProcess, timeout: number) {
    this.#child = child;
    this.result = collect(child, timeout, (text) => {
      this.#stdout += text;
      for (const w of [...this.#waiters]) w();
    }, (text) => {
      this.#stderr += text;
      for (const w of [...this.#waiters]) w();
    });
  }

  /** Standard output so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Send `signal` to the process. */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Standard error so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /**
   * Resolve once stdout (or `stream`) matches `re`; reject after `timeout`
   * ms or if it exits first.
   */
  waitFor(re: RegExp, timeout = 10_000, stream: "stdout" | "stderr" = "stdout"): Promise<void> {
    const text = () => stream === "stdout" ? this.#stdout : this.#stderr;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#waiters.delete(check);
        f();
      };
      const check = () => {
        if (re.test(text())) settle(resolve);
      };
      const timer = setTimeout(
        () => settle(() => reject(new Error(`no ${re} within ${timeout} ms:\n${text()}`))),
        timeout,
      );
      this.#waiters.add(check);
      this.result.then(() => {
        check();
        settle(() => reject(new Error(`exited without printing ${re}:\n${text()}`)));
      });
      check();
    });
  }
}

/** Read both streams to the end and wait for the exit, SIGKILLing after `timeout` ms. */
async function collect(
  child: Deno.ChildProcess,
  timeout: number,
  onStdout?: (text: string) => void,
  onStderr?: (text: string) => void,
): Promise<CliResult> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, timeout);
  const read = async (
    stream: ReadableStream<Uint8Array<ArrayBuffer>>,
    on?: (text: string) => void,
  ) => {
    let all = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      all += text;
      on?.(text);
    }
    return all;
  };
  try {
    const [stdout, stderr, status] = await Promise.all([
      read(child.stdout, onStdout),
      read(child.stderr, onStderr),
      child.status,
    ]);
    return { code: status.code, stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
  }
}
