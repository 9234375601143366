/**
 * The part of Node's `Buffer` that `bare-http-parser` and `parser.ts` use,
 * for browser bundles only: `build.ts` and the browser test bundler alias
 * `node:buffer` to this module and inject it where the package reads the
 * global `Buffer`. Deno uses its own `node:buffer`; nothing else imports
 * this.
 *
 * @module
 */

const latin1 = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
};

class BufferBytes extends Uint8Array {
  /** Copy `this[sourceStart … sourceEnd)` into `target` at `targetStart`; returns the count. */
  copy(target: Uint8Array, targetStart = 0, sourceStart = 0, sourceEnd = this.length): number {
    const src = this.subarray(sourceStart, sourceEnd);
    const n = Math.min(src.length, target.length - targetStart);
    target.set(n === src.length ? src : src.subarray(0, n), targetStart);
    return n;
  }
}

/** A view (ArrayBuffer with offset/length), a copy (array), or encoded text. */
function from(
  value: ArrayBufferLike | ArrayLike<number> | string,
  offsetOrEncoding?: number | string,
  length?: number,
): BufferBytes {
  if (typeof value === "string") {
    const bytes = offsetOrEncoding === "latin1" || offsetOrEncoding === "binary" ||
        offsetOrEncoding === "ascii"
      ? latin1(value)
      : new TextEncoder().encode(value);
    return new BufferBytes(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  }
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    const off = typeof offsetOrEncoding === "number" ? offsetOrEncoding : 0;
    return new BufferBytes(value as ArrayBuffer, off, length ?? value.byteLength - off);
  }
  const src = value as ArrayLike<number>;
  const out = new BufferBytes(src.length);
  out.set(src);
  return out;
}

/** The bytes of `list`, one after another. */
function concat(list: readonly Uint8Array[], total?: number): BufferBytes {
  const n = total ?? list.reduce((s, b) => s + b.length, 0);
  const out = new BufferBytes(n);
  let at = 0;
  for (const b of list) {
    if (at >= n) break;
    const take = Math.min(b.length, n - at);
    out.set(take === b.length ? b : b.subarray(0, take), at);
    at += take;
  }
  return out;
}

/**
 * A `Uint8Array` subclass with Node Buffer's `from`, `alloc`,
 * `allocUnsafe`, `concat` and `copy()`.
 *
 * @example
 * ```ts
 * import { Buffer } from "./_buffer_browser.ts";
 * const b = Buffer.concat([Buffer.from([1, 2]), Buffer.from([3])]);
 * b.length; // 3
 * ```
 */
export const Buffer: typeof BufferBytes & {
  from: typeof from;
  alloc(n: number): BufferBytes;
  allocUnsafe(n: number): BufferBytes;
  concat: typeof concat;
} = Object.assign(BufferBytes, {
  from,
  alloc: (n: number) => new BufferBytes(n),
  // Zeroed here: there is no pool to reuse.
  allocUnsafe: (n: number) => new BufferBytes(n),
  concat,
}) as never;
