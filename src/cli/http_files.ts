/**
 * What `netwasm http` serves: the request target turned into a safe path
 * (percent-decoded, `..` refused), a content type by extension, and file
 * sources — a directory on disk confined to its root (symlinks that lead out
 * are refused too), or files in memory (the demo and the tests).
 *
 * @module
 */

/** An open file being served: its size and a reader. */
export interface HttpFile {
  /** Its file name (for the content type): `index.html` when a directory was asked for. */
  readonly name: string;
  /** Bytes in the file (the `Content-Length`). */
  readonly size: number;
  /** Read into `p`: bytes read, or null at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Release it (idempotent). */
  close(): void;
}

/** Where files come from. */
export interface HttpFileSource {
  /**
   * The regular file at `segments` (decoded, already checked by
   * {@link resolveTarget}; `[]` is the root), or null when there is none.
   * A directory is served by its `index.html`.
   */
  open(segments: readonly string[]): Promise<HttpFile | null>;
}

/** A request target that cannot be served, and the status that says why. */
export interface TargetRejection {
  /** 400 (malformed) or 403 (would leave the root). */
  readonly status: 400 | 403;
  readonly reason: string;
}

/**
 * The path segments a request target names, or why it is refused: the
 * query and fragment are dropped, each segment is percent-decoded, `.` and
 * empty segments vanish, and a `..`, an encoded `/` or `\`, or a NUL refuses
 * the request (403) — a path never climbs out of the served directory.
 * Absolute-form targets (`http://host/path`, RFC 9112 §3.2.2) are accepted.
 *
 * @example
 * ```ts
 * import { resolveTarget } from "./http_files.ts";
 * resolveTarget("/a/./b%20c?x=1"); // ["a", "b c"]
 * resolveTarget("/../etc/passwd"); // { status: 403, reason: "…" }
 * ```
 */
export function resolveTarget(target: string): string[] | TargetRejection {
  let path = target;
  if (/^https?:\/\//i.test(path)) {
    const slash = path.indexOf("/", path.indexOf("//") + 2);
    path = slash < 0 ? "/" : path.slice(slash);
  }
  if (!path.startsWith("/")) {
    return { status: 400, reason: `request target ${JSON.stringify(target)} is not a path` };
  }
  const end = path.search(/[?#]/);
  if (end >= 0) path = path.slice(0, end);
  const segments: string[] = [];
  for (const raw of path.split("/")) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { status: 400, reason: `bad percent-encoding in ${JSON.stringify(target)}` };
    }
    if (seg === "" || seg === ".") continue;
    if (seg === ".." || /[/\\\0]/.test(seg)) {
      return { status: 403, reason: `path ${JSON.stringify(target)} would leave the root` };
    }
    segments.push(seg);
  }
  return segments;
}

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  css: "text/css; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  ts: "text/plain; charset=utf-8",
  json: "application/json",
  xml: "application/xml",
  pdf: "application/pdf",
  wasm: "application/wasm",
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
  pcap: "application/vnd.tcpdump.pcap",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  ico: "image/vnd.microsoft.icon",
  mp3: "audio/mpeg",
  mp4: "video/mp4",
  webm: "video/webm",
};

/**
 * The `Content-Type` for a file name, by extension (case-insensitive);
 * `application/octet-stream` when unknown.
 *
 * @example
 * ```ts
 * import { contentType } from "./http_files.ts";
 * contentType("index.HTML"); // "text/html; charset=utf-8"
 * contentType("blob");       // "application/octet-stream"
 * ```
 */
export function contentType(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return "application/octet-stream";
  return TYPES[name.slice(dot + 1).toLowerCase()] ?? "application/octet-stream";
}

/**
 * Serve the files under `root` on disk. Everything is resolved with
 * `realPath` and must stay inside the root's real path, so a symlink that
 * points out of it is not followed; only regular files are served.
 *
 * @example
 * ```ts
 * import { directorySource } from "./http_files.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/index.html`, "<h1>hi</h1>");
 * const files = directorySource(root);
 * const f = await files.open(["index.html"]);
 * f?.close();
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export function directorySource(root: string): HttpFileSource {
  let realRoot: Promise<string> | undefined;
  return {
    async open(segments) {
      realRoot ??= Deno.realPath(root);
      const base = await realRoot;
      const inside = (p: string) =>
        p === base || p.startsWith(base.endsWith("/") ? base : `${base}/`);
      let path: string;
      try {
        path = await Deno.realPath([base, ...segments].join("/"));
        if (!inside(path)) return null;
        let info = await Deno.stat(path);
        if (info.isDirectory) {
          path = await Deno.realPath(`${path}/index.html`);
          if (!inside(path)) return null;
          info = await Deno.stat(path);
        }
        if (!info.isFile) return null;
      } catch {
        return null; // missing, unreadable, a dangling link: all "not found"
      }
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { read: true });
      } catch {
        return null;
      }
      const size = (await file.stat()).size;
      let closed = false;
      return {
        name: path.slice(path.lastIndexOf("/") + 1),
        size,
        read: (p) => file.read(p),
        close() {
          if (closed) return;
          closed = true;
          file.close();
        },
      };
    },
  };
}

/**
 * Serve files held in memory, by path (`"/index.html"`, `"/data/blob"`); a
 * directory path (`"/"`) serves its `index.html`.
 *
 * @example
 * ```ts
 * import { memorySource } from "./http_files.ts";
 * const files = memorySource({ "/hello.txt": new TextEncoder().encode("hello\n") });
 * ```
 */
export function memorySource(files: Readonly<Record<string, Uint8Array>>): HttpFileSource {
  return {
    open(segments) {
      const path = `/${segments.join("/")}`;
      const index = `${path === "/" ? "" : path}/index.html`;
      const name = files[path] !== undefined ? path : index;
      const data = files[name];
      if (data === undefined) return Promise.resolve(null);
      let at = 0;
      return Promise.resolve({
        name: name.slice(name.lastIndexOf("/") + 1),
        size: data.length,
        read(p: Uint8Array) {
          if (at >= data.length) return Promise.resolve(null);
          const n = Math.min(p.length, data.length - at);
          p.set(data.subarray(at, at + n));
          at += n;
          return Promise.resolve(n);
        },
        close() {},
      });
    },
  };
}
