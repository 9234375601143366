/**
 * Loading `.pkt` script files (Deno only: browsers have no directory API;
 * there, fetch the texts and pass them to `runScript` directly).
 *
 * @module
 */

/**
 * A script read from disk.
 *
 * @example
 * ```ts
 * import type { ScriptFile } from "./load.ts";
 * const title = (f: ScriptFile) => f.name; // "listen-syn-rst.pkt"
 * ```
 */
export interface ScriptFile {
  /** Path relative to the directory loaded, with `/` separators. */
  readonly name: string;
  /** Full path. */
  readonly path: string;
  /** The script text. */
  readonly text: string;
}

/** Options for {@link loadScriptDir}. */
export interface LoadOptions {
  /** Descend into subdirectories (default false). */
  readonly recursive?: boolean;
  /** File name suffix to pick (default ".pkt"). */
  readonly suffix?: string;
}

interface DenoFs {
  readDir(
    path: string | URL,
  ): AsyncIterable<{ name: string; isFile: boolean; isDirectory: boolean }>;
  readTextFile(path: string | URL): Promise<string>;
}

/**
 * Read every `.pkt` file in `dir`, sorted by name so test order is stable.
 *
 * @example
 * ```ts
 * import { loadScriptDir } from "./load.ts";
 * const files = await loadScriptDir(new URL("../../tests/testing/scripts/", import.meta.url));
 * files.map((f) => f.name); // ["udp-closed-port.pkt", …]
 * ```
 */
export async function loadScriptDir(
  dir: string | URL,
  options: LoadOptions = {},
): Promise<ScriptFile[]> {
  const deno = (globalThis as { Deno?: DenoFs }).Deno;
  if (deno === undefined) throw new TypeError("loadScriptDir needs Deno's file system API");
  const suffix = options.suffix ?? ".pkt";
  const base = typeof dir === "string"
    ? dir.replace(/\/+$/, "")
    : decodeURIComponent(dir.pathname).replace(/\/+$/, "");
  const out: ScriptFile[] = [];
  const walk = async (rel: string) => {
    const abs = rel === "" ? base : `${base}/${rel}`;
    for await (const e of deno.readDir(abs)) {
      const name = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory && options.recursive) await walk(name);
      else if (e.isFile && e.name.endsWith(suffix)) {
        out.push({
          name,
          path: `${base}/${name}`,
          text: await deno.readTextFile(`${base}/${name}`),
        });
      }
    }
  };
  await walk("");
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
