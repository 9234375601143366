/**
 * Which test files the Chromium runner runs: every `*_test.ts` under the core
 * suites, minus an explicit list of files that need Deno APIs (each with the
 * reason). Nothing is skipped silently: a file is either in
 * {@link browserTestFiles} or in {@link EXCLUDED}.
 *
 * Within an included file, a test registered with `ignore: !isDeno` (for
 * example bindings_test's subprocess probes) is reported by the page as
 * "ignored" with its reason, and the comparison with Deno accounts for it by
 * name.
 *
 * @module
 */

/** The core suites, as directories under `tests/`. */
export const SUITES: readonly string[] = [
  "wire",
  "skb",
  "wasm",
  "core",
  "link",
  "ipv4",
  "ipv6",
  "tcp",
];

/** Test files (relative to `tests/`) left out of the browser run, with the reason. */
export const EXCLUDED: Readonly<Record<string, string>> = {
  "wasm/build_test.ts": "runs build.ts and esbuild in Deno subprocesses (Deno.Command)",
  "link/tap_test.ts": "opens a Linux TAP device in a network namespace (root, Deno FFI)",
  "link/pcap_file_test.ts": "writes pcap files with Deno's file system and runs tshark",
  "wire/tshark_test.ts": "every test runs tshark in a subprocess",
};

/** A file excluded with its reason. */
export interface Exclusion {
  readonly file: string;
  readonly reason: string;
}

/**
 * The browser test set: `*_test.ts` files under {@link SUITES}, sorted,
 * relative to `tests/` (e.g. `wire/addr_test.ts`), minus {@link EXCLUDED}.
 *
 * @example
 * ```ts
 * import { browserTestFiles } from "./files.ts";
 * const { files, excluded } = await browserTestFiles(new URL("../", import.meta.url));
 * ```
 */
export async function browserTestFiles(
  testsDir: URL,
): Promise<{ files: string[]; excluded: Exclusion[] }> {
  const all: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(new URL(rel, testsDir))) {
      const name = `${rel}${e.name}`;
      if (e.isDirectory) await walk(`${name}/`);
      else if (e.isFile && e.name.endsWith("_test.ts")) all.push(name);
    }
  };
  for (const suite of SUITES) await walk(`${suite}/`);
  all.sort();
  for (const file of Object.keys(EXCLUDED)) {
    if (!all.includes(file)) throw new Error(`EXCLUDED lists ${file}, which does not exist`);
  }
  return {
    files: all.filter((f) => !(f in EXCLUDED)),
    excluded: Object.entries(EXCLUDED).map(([file, reason]) => ({ file, reason })),
  };
}
