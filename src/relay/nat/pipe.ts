/**
 * Moving a byte stream between a page's netwasm connection and the relay
 * host's native one, both directions, with half-close passed on (a FIN on
 * one side becomes `closeWrite()` on the other) and a hook that accounts and
 * throttles every chunk.
 *
 * @module
 */

/** The part of `Deno.Conn` and netwasm's `Conn` the pipe uses. */
export interface ByteConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

/** How a pipe ended. */
export interface PipeResult {
  /** Bytes from `a` to `b`. */
  aToB: number;
  /** Bytes from `b` to `a`. */
  bToA: number;
  /** The first error, if a side failed (reset, timeout) rather than closed. */
  error: unknown;
}

/**
 * Copy `a → b` and `b → a` until both directions ended, then close both.
 * `spend(n, aToB)` runs before each chunk is written (and may wait: that is
 * the throttle). An error on either side closes both at once.
 *
 * @example
 * ```ts
 * // const r = await pipeBoth(pageConn, hostConn, (n, up) => limits.spend(client, n, up));
 * ```
 */
export async function pipeBoth(
  a: ByteConn,
  b: ByteConn,
  spend: (bytes: number, aToB: boolean) => Promise<void> | void,
): Promise<PipeResult> {
  const result: PipeResult = { aToB: 0, bToA: 0, error: undefined };
  let closed = false;
  const closeAll = () => {
    if (closed) return;
    closed = true;
    for (const c of [a, b]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  };
  const one = async (from: ByteConn, to: ByteConn, aToB: boolean) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        await spend(n, aToB);
        const chunk = buf.subarray(0, n);
        for (let off = 0; off < n;) off += await to.write(chunk.subarray(off));
        if (aToB) result.aToB += n;
        else result.bToA += n;
      }
      await to.closeWrite();
    } catch (e) {
      if (!closed) result.error ??= e;
      closeAll();
    }
  };
  await Promise.all([one(a, b, true), one(b, a, false)]);
  closeAll();
  return result;
}
