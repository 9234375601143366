/**
 * The accept loop the CLI's TCP servers share: accept until the listener
 * closes or the signal aborts, track the connections being served, abort
 * them on shutdown, and wait for every one to finish before returning.
 *
 * @module
 */
import type { Conn } from "../api/conn.ts";
import type { Listener } from "../api/listener.ts";

/** One connection being served. */
export interface Served {
  /** Stop serving it now (shutdown). */
  abort(): void;
  /** Settles when serving it has finished. */
  readonly done: Promise<unknown>;
}

/** Options for {@link serveConnections}. */
export interface ServeLoopOptions {
  /** Aborting closes the listener and every connection being served. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Start serving `conn` (`active` connections are being served already), or
   * return null to refuse it (the loop closes it).
   */
  accept(conn: Conn, active: number): Served | null;
}

/**
 * Serve the connections `listener` accepts until it closes or `signal`
 * aborts; resolves once every connection has finished.
 *
 * @example
 * ```ts
 * import { Stack } from "../api/stack.ts";
 * import { serveConnections } from "./serve.ts";
 * const stack = new Stack();
 * const stop = new AbortController();
 * const done = serveConnections(stack.listen({ port: 7 }), {
 *   signal: stop.signal,
 *   accept: (conn) => ({ abort: () => conn.close(), done: conn.readable.pipeTo(conn.writable) }),
 * });
 * stop.abort();
 * await done;
 * await stack.close();
 * ```
 */
export async function serveConnections(listener: Listener, o: ServeLoopOptions): Promise<void> {
  const active = new Set<Served>();
  const stop = () => {
    try {
      listener.close();
    } catch { /* already closed */ }
    for (const s of active) s.abort();
  };
  o.signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const conn of listener) {
      const s = o.accept(conn, active.size);
      if (s === null) {
        try {
          conn.close();
        } catch { /* already gone */ }
        continue;
      }
      active.add(s);
      // then(f, f): the bookkeeping promise never rejects, whatever `done` does.
      const remove = () => void active.delete(s);
      s.done.then(remove, remove);
    }
  } catch (e) {
    if (!o.signal?.aborted) throw e;
  } finally {
    o.signal?.removeEventListener("abort", stop);
    stop();
    await Promise.allSettled([...active].map((s) => s.done));
  }
}
