/**
 * `netwasm fetch URL [-o FILE]`: {@link httpGet} with the body written to
 * stdout or a file, progress on a terminal, a one-line summary on stderr,
 * and the exit status a script can test.
 *
 * @module
 */
import type { Stack } from "../api/stack.ts";
import {
  type FetchTarget,
  FetchTimeout,
  formatBytes,
  formatRate,
  httpGet,
  TruncatedBody,
} from "./fetch.ts";
import { HttpParseError } from "./http_parser.ts";

/** Where the command writes (the CLI's `CliIo`). */
export interface FetchCommandIo {
  /** Lines for stdout (unused: stdout carries the body). */
  out(line: string): void;
  /** The summary and errors. */
  err(line: string): void;
  /** Raw body bytes for stdout. */
  bytes?(chunk: Uint8Array): Promise<void>;
  /** A transient progress line (null erases it); absent when not a terminal. */
  status?(line: string | null): void;
}

/** Options for {@link runFetchCommand}. */
export interface FetchCommandOptions {
  io: FetchCommandIo;
  /** Write the body here instead of stdout. */
  output?: string;
  /** Ctrl-C: stop the transfer (exit 1). */
  signal?: AbortSignal;
  /** No summary line. */
  quiet?: boolean;
  /** Give up after this long without a byte (default 30 s). */
  idleTimeoutMs?: number;
}

/** How often the progress line is redrawn, at most (ms, stack clock). */
const PROGRESS_EVERY_MS = 200;

/**
 * Fetch `target` and report. Returns the exit status: 0 for a complete 2xx
 * or 3xx response, 1 for no connection, HTTP ≥ 400, a malformed or
 * truncated response, a timeout or an interrupt.
 *
 * @example
 * ```ts
 * import { parseFetchUrl } from "./fetch.ts";
 * import { runFetchCommand } from "./fetch_command.ts";
 * // const code = await runFetchCommand(host.stack, parseFetchUrl("http://192.0.2.1/"), {
 * //   io: { out: console.log, err: console.error },
 * // });
 * ```
 */
export async function runFetchCommand(
  stack: Stack,
  target: FetchTarget,
  options: FetchCommandOptions,
): Promise<number> {
  const { io } = options;
  const url = `http://${target.host}${target.path}`;
  // The output file is created when the response arrives (curl does the
  // same): a failed connection leaves no empty file behind.
  let file: Deno.FsFile | undefined;
  const openOutput = async () => {
    file ??= await Deno.open(options.output!, { write: true, create: true, truncate: true });
    return file;
  };
  const toStdout = io.bytes ?? ((c: Uint8Array) => writeAll(Deno.stdout, c));
  const sink = options.output !== undefined
    ? async (c: Uint8Array) => writeAll(await openOutput(), c)
    : toStdout;
  const clock = stack.clock;
  const t0 = clock.now();
  let lastDraw = -Infinity;
  const progress = io.status === undefined ? undefined : (got: number, total: number | null) => {
    const now = clock.now();
    if (now - lastDraw < PROGRESS_EVERY_MS && got !== total) return;
    lastDraw = now;
    const pct = total ? ` ${Math.floor((got / total) * 100)}%` : "";
    io.status!(
      `  ${formatBytes(got)}${total !== null ? ` / ${formatBytes(total)}` : ""}${pct}  ${
        formatRate(got, now - t0)
      }`,
    );
  };
  try {
    const r = await httpGet(stack, target, {
      sink,
      ...(progress ? { onProgress: progress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    });
    io.status?.(null);
    if (options.output !== undefined) await openOutput(); // an empty body is an empty file
    const head = `HTTP ${r.status} ${r.reason}`.trimEnd();
    if (r.location !== null) {
      io.err(`netwasm fetch: ${head}: redirect to ${r.location} (not followed)`);
    }
    if (!options.quiet || r.status >= 400) {
      const where = options.output !== undefined ? ` → ${options.output}` : "";
      const framing = r.chunked ? ", chunked" : "";
      io.err(
        `netwasm fetch: ${head}, ${r.bytes} bytes (${formatBytes(r.bytes)}${framing}) in ${
          (r.elapsedMs / 1000).toFixed(2)
        } s, ${formatRate(r.bytes, r.elapsedMs)}${where}`,
      );
    }
    if (r.status >= 400) {
      io.err(`netwasm fetch: ${url}: the server answered ${head}`);
      return 1;
    }
    return 0;
  } catch (e) {
    io.status?.(null);
    io.err(`netwasm fetch: ${url}: ${describe(e, options.signal)}`);
    return 1;
  } finally {
    file?.close();
  }
}

function describe(e: unknown, signal: AbortSignal | undefined): string {
  if (signal?.aborted) return "interrupted";
  if (e instanceof TruncatedBody) {
    return `truncated body: ${e.message}${
      e.expected !== null ? ` (${e.received} of ${e.expected} bytes)` : ""
    }`;
  }
  if (e instanceof HttpParseError) return `malformed response: ${e.message}`;
  if (e instanceof FetchTimeout) return e.message;
  const err = e as Error;
  return `${err.name}: ${err.message}`;
}

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, p: Uint8Array) {
  for (let at = 0; at < p.length;) at += await w.write(p.subarray(at));
}
