/**
 * A tiny static HTTP server for the Chromium runner, on 127.0.0.1 and an
 * ephemeral port. Every response carries COOP/COEP (and CORP), so pages are
 * cross-origin isolated (SharedArrayBuffer, shared WebAssembly memory), as
 * the relay serves them.
 *
 * @module
 */

/** A directory served under a URL prefix. */
export interface Mount {
  /** URL path prefix, starting and ending with `/`. */
  readonly prefix: string;
  /** Directory on disk. */
  readonly dir: string;
  /** Answer `<subdir>/index.json` with the files under it (recursive, relative names). */
  readonly listing?: boolean;
}

/** Options for {@link startServer}. */
export interface ServerOptions {
  /** Accept WebSocket upgrades on any path and hand each socket here. */
  readonly webSocket?: (socket: WebSocket) => void;
}

/** A running server. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  json: "application/json",
  map: "application/json",
  wasm: "application/wasm",
};

/** Headers every response carries: cross-origin isolation, no caching. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-store",
};

async function list(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(name);
      else if (e.isFile) out.push(name);
    }
  };
  await walk("");
  return out.sort();
}

async function resolve(mounts: readonly Mount[], path: string): Promise<Response | null> {
  for (const m of mounts) {
    if (!path.startsWith(m.prefix)) continue;
    const rel = path.slice(m.prefix.length);
    if (m.listing && (rel === "index.json" || rel.endsWith("/index.json"))) {
      const sub = `${m.dir}/${rel.slice(0, -"index.json".length)}`;
      try {
        return Response.json(await list(sub));
      } catch {
        continue;
      }
    }
    try {
      const file = `${m.dir}/${rel}`;
      if (!(await Deno.stat(file)).isFile) continue;
      const ext = rel.slice(rel.lastIndexOf(".") + 1);
      return new Response(await Deno.readFile(file), {
        headers: { "content-type": TYPES[ext] ?? "text/plain; charset=utf-8" },
      });
    } catch {
      continue;
    }
  }
  return null;
}

/**
 * Serve `mounts` (first match wins) until `close()`; with `webSocket`, also
 * accept WebSocket upgrades.
 *
 * @example
 * ```ts
 * import { startServer } from "./server.ts";
 * const s = startServer([{ prefix: "/", dir: "." }]);
 * await s.close();
 * ```
 */
export function startServer(mounts: readonly Mount[], options: ServerOptions = {}): TestServer {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (options.webSocket && req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      options.webSocket(socket);
      return response;
    }
    const path = decodeURIComponent(new URL(req.url).pathname);
    const res = path.split("/").includes("..") ? null : await resolve(mounts, path);
    const out = res ?? new Response("not found\n", { status: 404 });
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) out.headers.set(k, v);
    return out;
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}
