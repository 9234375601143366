/**
 * Static files for the relay (Deno): a directory (`--static DIR`) and the
 * browser bundle (`/netwasm.js` from `dist/`), served with the headers a
 * cross-origin-isolated page needs (so it may use `SharedArrayBuffer`):
 * `Cross-Origin-Opener-Policy: same-origin`, `Cross-Origin-Embedder-Policy:
 * require-corp`, `Cross-Origin-Resource-Policy: same-origin`.
 *
 * Paths are decoded once and refused (403) if any segment is `..`, or if
 * they contain a backslash or NUL; the resolved real path must stay inside
 * the real root (a symlink pointing out is refused too). Directories serve
 * their `index.html`. Only GET and HEAD (405 otherwise).
 *
 * @module
 */

/** Headers every relay response carries (cross-origin isolation, no sniffing). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
  "x-content-type-options": "nosniff",
};

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
  wasm: "application/wasm",
  txt: "text/plain; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  ico: "image/x-icon",
  pcap: "application/vnd.tcpdump.pcap",
};

/**
 * Content type for a file name (by extension; `application/octet-stream` if unknown).
 *
 * @example
 * ```ts
 * import { contentType } from "./static.ts";
 * contentType("index.html"); // "text/html; charset=utf-8"
 * ```
 */
export function contentType(path: string): string {
  const dot = path.lastIndexOf(".");
  const ext = dot < 0 ? "" : path.slice(dot + 1).toLowerCase();
  return TYPES[ext] ?? "application/octet-stream";
}

/**
 * A plain response with the isolation headers.
 *
 * @example
 * ```ts
 * import { textResponse } from "./static.ts";
 * const r = textResponse(404, "not found");
 * ```
 */
export function textResponse(status: number, text: string, extra: HeadersInit = {}): Response {
  const h = new Headers({ ...ISOLATION_HEADERS, "content-type": "text/plain; charset=utf-8" });
  for (const [k, v] of new Headers(extra)) h.set(k, v);
  return new Response(`${text}\n`, { status, headers: h });
}

/** Options for {@link serveStatic}. */
export interface StaticOptions {
  /** Directory served at `/` (none: only the bundle). */
  root?: string;
  /** Directory holding `netwasm.js` (and `netwasm.js.map`), served at `/netwasm.js`. */
  bundleDir?: string;
  /**
   * Files of the package itself, by request path (`/netwasm.js`, and with
   * the demo `/`, `/index.html`, `/app.js`): their bytes, or null when the
   * package has no such file. Used when `bundleDir`/`root` do not answer.
   */
  packageFile?: (path: string) => Promise<Uint8Array | null>;
}

/**
 * Files of the package the relay belongs to, read relative to `base` (the
 * package root as a URL: `file:` in a checkout, `https:` when run from a
 * registry) and kept in memory after the first read: `/netwasm.js` (and its
 * source map) from `dist/`, and when `demo` is set the demo page from
 * `examples/`.
 *
 * @example
 * ```ts
 * import { packageFiles } from "./static.ts";
 * const files = packageFiles(new URL("../../", import.meta.url), { demo: true });
 * const page = await files("/index.html"); // examples/index.html, or null
 * ```
 */
export function packageFiles(
  base: URL,
  options: { demo?: boolean } = {},
): (path: string) => Promise<Uint8Array | null> {
  const map: Record<string, string> = {
    "/netwasm.js": "dist/netwasm.js",
    "/netwasm.js.map": "dist/netwasm.js.map",
    ...(options.demo
      ? {
        "/": "examples/index.html",
        "/index.html": "examples/index.html",
        "/app.js": "examples/app.js",
      }
      : {}),
  };
  const cache = new Map<string, Promise<Uint8Array | null>>();
  return (path) => {
    const rel = map[path];
    if (rel === undefined) return Promise.resolve(null);
    let p = cache.get(rel);
    if (p === undefined) {
      p = fetch(new URL(rel, base)).then(
        async (
          r,
        ) => (r.ok ? new Uint8Array(await r.arrayBuffer()) : (await r.body?.cancel(), null)),
        () => null,
      );
      // A missing file may be built later (first run): only successes stay cached.
      p.then((bytes) => bytes === null && cache.delete(rel));
      cache.set(rel, p);
    }
    return p;
  };
}

const BUNDLE_FILES = new Set(["/netwasm.js", "/netwasm.js.map"]);

/**
 * Answer a GET/HEAD for a static file, or null if nothing is configured for
 * the path (the caller then answers 404).
 *
 * @example
 * ```ts
 * import { serveStatic } from "./static.ts";
 * const r = await serveStatic(new Request("http://x/index.html"), { root: "examples" });
 * ```
 */
export async function serveStatic(req: Request, options: StaticOptions): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return textResponse(405, "method not allowed", { allow: "GET, HEAD" });
  }
  const raw = new URL(req.url).pathname;
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return textResponse(400, "bad path encoding");
  }
  const segments = path.split("/");
  if (segments.some((s) => s === "..") || path.includes("\\") || path.includes("\0")) {
    return textResponse(403, "forbidden");
  }
  if (options.bundleDir !== undefined && BUNDLE_FILES.has(path)) {
    const file = await openInside(options.bundleDir, path.slice(1));
    if (file !== null) return fileResponse(req, file, path);
  }
  if (options.packageFile !== undefined && (options.root === undefined || BUNDLE_FILES.has(path))) {
    const bytes = await options.packageFile(path);
    if (bytes !== null) return bytesResponse(req, bytes, path === "/" ? "index.html" : path);
  }
  if (path === "/netwasm.js") {
    return textResponse(404, "netwasm.js is not built yet: run `deno task build`");
  }
  if (options.root === undefined) return textResponse(404, "not found");
  let rel = segments.filter((s) => s !== "" && s !== ".").join("/");
  let file = await openInside(options.root, rel);
  if (file !== null && file.isDirectory) {
    if (!raw.endsWith("/")) {
      // Built from the cleaned path, never the raw one: `//host` must not
      // become a protocol-relative redirect to another host.
      const query = new URL(req.url).search;
      const location = rel === "" ? "/" : `/${rel.split("/").map(encodeURIComponent).join("/")}/`;
      return textResponse(301, "moved", { location: location + query });
    }
    rel = rel === "" ? "index.html" : `${rel}/index.html`;
    file = await openInside(options.root, rel);
  }
  if (file === null || file.isDirectory) return textResponse(404, "not found");
  return fileResponse(req, file, rel);
}

interface Found {
  path: string;
  isDirectory: boolean;
  size: number;
}

/** Stat `rel` under `root`, or null if missing or (through a symlink) outside it. */
async function openInside(root: string, rel: string): Promise<Found | null> {
  try {
    const realRoot = await Deno.realPath(root);
    const real = await Deno.realPath(rel === "" ? realRoot : `${realRoot}/${rel}`);
    if (real !== realRoot && !real.startsWith(realRoot.endsWith("/") ? realRoot : `${realRoot}/`)) {
      return null;
    }
    const st = await Deno.stat(real);
    if (!st.isFile && !st.isDirectory) return null;
    return { path: real, isDirectory: st.isDirectory, size: st.size };
  } catch {
    return null;
  }
}

function bytesResponse(req: Request, bytes: Uint8Array, name: string): Response {
  const headers = new Headers({
    ...ISOLATION_HEADERS,
    "content-type": contentType(name),
    "content-length": String(bytes.length),
    "cache-control": "no-cache",
  });
  return new Response(req.method === "HEAD" ? null : bytes.slice(), { status: 200, headers });
}

async function fileResponse(req: Request, f: Found, name: string): Promise<Response> {
  const headers = new Headers({
    ...ISOLATION_HEADERS,
    "content-type": contentType(name),
    "content-length": String(f.size),
    "cache-control": "no-cache",
  });
  if (req.method === "HEAD") return new Response(null, { status: 200, headers });
  const file = await Deno.open(f.path, { read: true });
  return new Response(file.readable, { status: 200, headers });
}
