/**
 * The checksum facade every layer calls. Functions take a byte view and an
 * offset into it; when the view is over a registered arena memory they run the
 * WebAssembly hot path at that absolute offset, otherwise the TypeScript
 * reference (so parsers also work on plain `Uint8Array`s, e.g. in fuzz tests).
 *
 * See `reference.ts` for the exact conventions (sums are folded, big-endian,
 * not complemented; `finishChecksum` makes the field value).
 *
 * @module
 */
import { refChecksum, refChecksumCopy, refIpv6PseudoSum } from "./reference.ts";

export {
  csumUpdate16,
  csumUpdate32,
  finishChecksum,
  foldSum,
  ipv4PseudoSum,
  sumBlockAdd,
} from "./reference.ts";

/** The checksum primitives a hot-path engine provides over absolute memory offsets. */
export interface ChecksumEngine {
  /** Engine name: "simd", "scalar" or "reference". */
  readonly kind: string;
  /** Sum of `[off, off+len)` plus `initial`. */
  checksum(off: number, len: number, initial: number): number;
  /** Copy `len` bytes `src → dst` and return their sum plus `initial`. */
  checksumCopy(src: number, dst: number, len: number, initial: number): number;
}

interface Registered {
  memory: WebAssembly.Memory;
  engine: ChecksumEngine;
  /** Registrations not yet released (several stacks may share one arena). */
  refs: number;
}

const registered: Registered[] = [];

/**
 * Route checksums over `memory` to `engine` (called by the arena's hot-path binding).
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { refChecksum } from "./reference.ts";
 * import { registerChecksumEngine } from "./checksum.ts";
 * const arena = new Arena();
 * registerChecksumEngine(arena.memory, {
 *   kind: "reference",
 *   checksum: (off, len, initial) => refChecksum(arena.u8, off, len, initial),
 *   checksumCopy: (src, dst, len, initial) => {
 *     arena.u8.copyWithin(dst, src, src + len);
 *     return refChecksum(arena.u8, dst, len, initial);
 *   },
 * });
 * ```
 */
export function registerChecksumEngine(memory: WebAssembly.Memory, engine: ChecksumEngine): void {
  const r = registered.find((x) => x.memory === memory);
  if (r) {
    r.engine = engine;
    r.refs++;
  } else registered.push({ memory, engine, refs: 1 });
  lastBuffer = null;
  lastView = null;
}

/**
 * Release one registration of `memory`; the routing goes away with the last
 * one, so discarded arenas are neither kept alive nor searched.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { releaseChecksumEngine } from "./checksum.ts";
 * releaseChecksumEngine(new Arena().memory); // no-op: never registered
 * ```
 */
export function releaseChecksumEngine(memory: WebAssembly.Memory): void {
  const i = registered.findIndex((x) => x.memory === memory);
  if (i < 0) return;
  if (--registered[i]!.refs <= 0) registered.splice(i, 1);
  lastBuffer = null;
  lastView = null;
}

/**
 * Stop routing `memory` (e.g. when an arena is discarded).
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { unregisterChecksumEngine } from "./checksum.ts";
 * const arena = new Arena();
 * unregisterChecksumEngine(arena.memory); // checksums over it now use the reference
 * ```
 */
export function unregisterChecksumEngine(memory: WebAssembly.Memory): void {
  const i = registered.findIndex((x) => x.memory === memory);
  if (i >= 0) registered.splice(i, 1);
  lastBuffer = null;
  lastView = null;
}

/**
 * How many memories currently route checksums to an engine (diagnostics: a
 * growing number means bindings are not released).
 *
 * @example
 * ```ts
 * import { checksumEngineCount } from "./checksum.ts";
 * checksumEngineCount(); // 0 before any arena is bound
 * ```
 */
export function checksumEngineCount(): number {
  return registered.length;
}

// One-entry cache: nearly every call is over the same arena as the last.
let lastBuffer: ArrayBufferLike | null = null;
/** The view the last lookup was made with (comparing views is cheaper than reading `.buffer`). */
let lastView: Uint8Array | null = null;
let lastEngine: ChecksumEngine | undefined;

function engineFor(u8: Uint8Array): ChecksumEngine | undefined {
  if (u8 === lastView) return lastEngine;
  const buf = u8.buffer;
  if (buf === lastBuffer) {
    lastView = u8;
    return lastEngine;
  }
  let found: ChecksumEngine | undefined;
  for (let i = 0; i < registered.length; i++) {
    const r = registered[i]!;
    if (r.memory.buffer === buf) {
      found = r.engine;
      break;
    }
  }
  // Only arena buffers are cached: a plain array's buffer is never registered
  // and caching it would pin it.
  if (found !== undefined) {
    lastBuffer = buf;
    lastView = u8;
    lastEngine = found;
  }
  return found;
}

/**
 * RFC 1071 sum of `u8[off, off+len)` plus `initial` (folded, not complemented).
 *
 * @example
 * ```ts
 * import { checksum, finishChecksum } from "./checksum.ts";
 * const words = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
 * finishChecksum(checksum(words, 0, 8)); // 0x220d
 * ```
 */
export function checksum(u8: Uint8Array, off: number, len: number, initial = 0): number {
  if (off < 0 || len < 0 || off + len > u8.length) {
    throw new RangeError(`checksum: range ${off}+${len} outside a ${u8.length}-byte view`);
  }
  const e = engineFor(u8);
  if (e !== undefined) return e.checksum(u8.byteOffset + off, len, initial);
  return refChecksum(u8, off, len, initial);
}

/**
 * Copy `len` bytes from `src` to `dst` within `u8` and return their sum plus `initial`.
 *
 * @example
 * ```ts
 * import { checksumCopy } from "./checksum.ts";
 * const u8 = new Uint8Array(16);
 * u8.set([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
 * checksumCopy(u8, 0, 8, 8); // 0xddf2; u8[8..16) now holds the copy
 * ```
 */
export function checksumCopy(
  u8: Uint8Array,
  src: number,
  dst: number,
  len: number,
  initial = 0,
): number {
  if (src < 0 || dst < 0 || len < 0 || src + len > u8.length || dst + len > u8.length) {
    throw new RangeError(`checksumCopy: ranges outside a ${u8.length}-byte view`);
  }
  const e = engineFor(u8);
  if (e !== undefined) {
    return e.checksumCopy(u8.byteOffset + src, u8.byteOffset + dst, len, initial);
  }
  return refChecksumCopy(u8, src, dst, len, initial);
}

/**
 * Sum of the IPv6 pseudo-header (RFC 8200 §8.1) for an upper-layer packet of
 * `length` bytes with next header `nextHeader`, from the source address at
 * `src[srcOff]` and the destination at `dst[dstOff]`. When both sit back to
 * back in one view (an IPv6 header in the arena: source at +8, destination at
 * +24) the sum runs through the checksum engine like every other checksum,
 * i.e. in WebAssembly over arena memory; otherwise the 16 word additions run
 * here.
 *
 * @example
 * ```ts
 * import { ipv6PseudoSum } from "./checksum.ts";
 * const hdr = new Uint8Array(40);
 * hdr[23] = 1; hdr[39] = 1; // ::1 → ::1
 * ipv6PseudoSum(hdr, 8, hdr, 24, 8, 17); // 0x001b
 * ```
 */
export function ipv6PseudoSum(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  length: number,
  nextHeader: number,
): number {
  const initial = (length >>> 16) + (length & 0xffff) + nextHeader;
  if (src === dst && dstOff === srcOff + 16) return checksum(src, srcOff, 32, initial);
  return refIpv6PseudoSum(src, srcOff, dst, dstOff, length, nextHeader);
}
