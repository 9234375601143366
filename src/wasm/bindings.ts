/**
 * The one binding between TypeScript and the `asm/` hot paths: instantiates
 * the WebAssembly module against an arena's memory and exposes every
 * primitive over absolute byte offsets, with the TypeScript reference as the
 * same-shaped fallback.
 *
 * Engines, best first: `"simd"` (WebAssembly with 128-bit SIMD), `"scalar"`
 * (WebAssembly without SIMD, 64-bit loads), `"reference"` (the TypeScript twins
 * in `reference.ts`, where WebAssembly is missing or refuses the module). All
 * three give identical results; tests check that on random inputs.
 *
 * Instantiation is synchronous (`new WebAssembly.Module` / `Instance`): the
 * modules stay under 4 KiB (build.ts enforces it), the size Chromium allows
 * for synchronous compilation on a page's main thread.
 *
 * Range tables (`range*` primitives) live in arena memory, typically in the
 * scratch area or a slot. Layout at `tab`, little-endian u32s:
 *
 * | offset        | field | meaning                                      |
 * |---------------|-------|----------------------------------------------|
 * | 0             | count | ranges in use                                |
 * | 4             | cap   | ranges there is room for                     |
 * | 8 + 8·i       | start | first sequence number of range i             |
 * | 12 + 8·i      | end   | one past its last (half-open [start, end))   |
 *
 * Ranges are non-empty, sorted, and neither overlap nor touch; sequence
 * numbers compare modulo 2^32 and must all lie within a span < 2^31 (TCP's
 * window guarantees it). A table for `cap` ranges takes `rangeTableBytes(cap)`.
 *
 * @module
 */
import { type ChecksumEngine, registerChecksumEngine, releaseChecksumEngine } from "./checksum.ts";
import {
  csumUpdate16 as refCsumUpdate16,
  csumUpdate32 as refCsumUpdate32,
  ipv4PseudoSum as refIpv4PseudoSum,
  refChecksum,
  refChecksumBatch,
  refChecksumCopy,
  refGather,
  refGatherChecksum,
  refRangeAdvance,
  refRangeCovered,
  refRangeFind,
  refRangeInit,
  refRangeInsert,
  refRangeSack,
} from "./reference.ts";
import { WASM_BYTES as SCALAR_BYTES } from "./_generated/hot_paths_scalar.ts";
import { WASM_BYTES as SIMD_BYTES } from "./_generated/hot_paths_simd.ts";
import { WASM_BYTES as SCALAR_SHARED_BYTES } from "./_generated/hot_paths_scalar_shared.ts";
import { WASM_BYTES as SIMD_SHARED_BYTES } from "./_generated/hot_paths_simd_shared.ts";

export {
  DESCRIPTOR_BYTES,
  RANGE_ENTRY_BYTES,
  RANGE_FULL,
  RANGE_HEADER_BYTES,
  RANGE_INVALID,
  rangeTableBytes,
} from "./reference.ts";

/** Which implementation runs the hot paths. */
export type EngineKind = "simd" | "scalar" | "reference";

/** What {@link bindHotPaths} may pick: `"auto"` (best available) or one engine. */
export type EngineChoice = "auto" | EngineKind;

/** What the binding needs of an arena: its memory and a byte view re-derived after growth. */
export interface MemoryHost {
  /** The memory the modules import as `env.memory`. */
  readonly memory: WebAssembly.Memory;
  /** A byte view of the whole memory, current after any growth (a getter on `Arena`). */
  readonly u8: Uint8Array;
}

/** Options for {@link bindHotPaths}. */
export interface BindOptions {
  /** Engine to use (default `"auto"`); forcing one the host cannot run throws. */
  readonly engine?: EngineChoice;
}

/**
 * The hot-path primitives over absolute byte offsets into one arena memory.
 * Sums are RFC 1071 one's-complement sums of big-endian words, folded to
 * 16 bits and not complemented (see `reference.ts`); `initial` is 0..2^32-1.
 * Offsets must lie inside the memory: WebAssembly traps (`RuntimeError`) and
 * the reference throws `RangeError` otherwise.
 */
export interface HotPaths extends ChecksumEngine {
  /** The engine running these primitives. */
  readonly kind: EngineKind;
  /** True when bound to a shared (SharedArrayBuffer-backed) memory. */
  readonly shared: boolean;
  /** Sum of `[off, off+len)` plus `initial`. */
  checksum(off: number, len: number, initial: number): number;
  /** Copy `len` bytes `src → dst` (memmove if they overlap) and return their sum plus `initial`. */
  checksumCopy(src: number, dst: number, len: number, initial: number): number;
  /** Sum each of `count` (off, len) u32-LE descriptors at `descOff`; store u32-LE sums at `outOff`. */
  checksumBatch(descOff: number, count: number, outOff: number): number;
  /** Copy `count` (off, len) descriptors' bytes back to back into `dst`; returns bytes copied. */
  gather(descOff: number, count: number, dst: number): number;
  /** Like `gather`, returning the sum of the gathered bytes plus `initial`. */
  gatherChecksum(descOff: number, count: number, dst: number, initial: number): number;
  /** RFC 1624 eqn. 3 update of checksum field `hc` for a 16-bit word `m → m2`. */
  csumUpdate16(hc: number, m: number, m2: number): number;
  /** RFC 1624 eqn. 3 update for a 32-bit field `m → m2`. */
  csumUpdate32(hc: number, m: number, m2: number): number;
  /** Sum of an IPv4 pseudo-header (addresses as u32). */
  ipv4PseudoSum(src: number, dst: number, protocol: number, length: number): number;
  /** Make the range table at `tab` empty with room for `cap` ranges. */
  rangeInit(tab: number, cap: number): void;
  /** Add [s, e), merging; new count, `RANGE_FULL` (unchanged) or `RANGE_INVALID`. */
  rangeInsert(tab: number, s: number, e: number): number;
  /** Drop everything before `seq`, trimming a straddling range; returns the new count. */
  rangeAdvance(tab: number, seq: number): number;
  /** Index of the range containing `s`, or -1. */
  rangeFind(tab: number, s: number): number;
  /** How many sequence numbers of [s, e) are covered. */
  rangeCovered(tab: number, s: number, e: number): number;
  /** Write up to `max` SACK blocks (u32-LE pairs) at `out`, the one holding `recent` first. */
  rangeSack(tab: number, recent: number, out: number, max: number): number;
}

/** The module's exports, as JavaScript sees them (i32 results arrive signed). */
interface WasmExports {
  checksum(off: number, len: number, initial: number): number;
  checksumCopy(src: number, dst: number, len: number, initial: number): number;
  checksumBatch(descOff: number, count: number, outOff: number): number;
  gather(descOff: number, count: number, dst: number): number;
  gatherChecksum(descOff: number, count: number, dst: number, initial: number): number;
  csumUpdate16(hc: number, m: number, m2: number): number;
  csumUpdate32(hc: number, m: number, m2: number): number;
  ipv4PseudoSum(src: number, dst: number, protocol: number, length: number): number;
  rangeInit(tab: number, cap: number): void;
  rangeInsert(tab: number, s: number, e: number): number;
  rangeAdvance(tab: number, seq: number): number;
  rangeFind(tab: number, s: number): number;
  rangeCovered(tab: number, s: number, e: number): number;
  rangeSack(tab: number, recent: number, out: number, max: number): number;
}

const wasmApi = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;

function moduleBytes(kind: "simd" | "scalar", shared: boolean): Uint8Array<ArrayBuffer> {
  const bytes = kind === "simd"
    ? (shared ? SIMD_SHARED_BYTES : SIMD_BYTES)
    : (shared ? SCALAR_SHARED_BYTES : SCALAR_BYTES);
  return bytes as Uint8Array<ArrayBuffer>;
}

const compiled = new Map<Uint8Array, WebAssembly.Module>();

/** Compile (once per process) the module for `kind`, or null if the host refuses it. */
function compiledModule(kind: "simd" | "scalar", shared: boolean): WebAssembly.Module | null {
  if (wasmApi === undefined) return null;
  const bytes = moduleBytes(kind, shared);
  let mod = compiled.get(bytes);
  if (mod === undefined) {
    try {
      if (!wasmApi.validate(bytes)) return null;
      mod = new wasmApi.Module(bytes);
    } catch {
      return null;
    }
    compiled.set(bytes, mod);
  }
  return mod;
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * Whether this host can run the WebAssembly engine `kind` over a plain
 * (`shared` false) or shared memory.
 *
 * @example
 * ```ts
 * import { engineSupported } from "./bindings.ts";
 * const best = engineSupported("simd") ? "simd" : engineSupported("scalar") ? "scalar" : "reference";
 * ```
 */
export function engineSupported(kind: EngineKind, shared = false): boolean {
  if (kind === "reference") return true;
  return compiledModule(kind, shared) !== null;
}

const abort = (_msg: number, _file: number, line: number, column: number): never => {
  throw new Error(`netwasm: WebAssembly abort at asm ${line}:${column}`);
};

function wasmHotPaths(
  kind: "simd" | "scalar",
  mod: WebAssembly.Module,
  memory: WebAssembly.Memory,
  shared: boolean,
): HotPaths {
  const instance = new WebAssembly.Instance(mod, { env: { memory, abort } });
  const x = instance.exports as unknown as WasmExports;
  // The exports themselves, not wrappers: a JS→WASM call is the whole
  // per-call cost at small sizes. Only results that may exceed 2^31 need `>>> 0`.
  return {
    kind,
    shared,
    checksum: x.checksum,
    checksumCopy: x.checksumCopy,
    checksumBatch: x.checksumBatch,
    gather: (descOff, count, dst) => x.gather(descOff, count, dst) >>> 0,
    gatherChecksum: x.gatherChecksum,
    csumUpdate16: x.csumUpdate16,
    csumUpdate32: x.csumUpdate32,
    ipv4PseudoSum: x.ipv4PseudoSum,
    rangeInit: x.rangeInit,
    rangeInsert: x.rangeInsert,
    rangeAdvance: x.rangeAdvance,
    rangeFind: x.rangeFind,
    rangeCovered: (tab, s, e) => x.rangeCovered(tab, s, e) >>> 0,
    rangeSack: x.rangeSack,
  };
}

function inBounds(u8: Uint8Array, off: number, len: number, what: string): Uint8Array {
  if (off < 0 || len < 0 || off + len > u8.length) {
    throw new RangeError(`${what}: range ${off}+${len} outside a ${u8.length}-byte memory`);
  }
  return u8;
}

/** The TypeScript engine: every call re-reads `host.u8`, so growth is always seen. */
function referenceHotPaths(host: MemoryHost, shared: boolean): HotPaths {
  return {
    kind: "reference",
    shared,
    checksum: (off, len, initial) =>
      refChecksum(inBounds(host.u8, off, len, "checksum"), off, len, initial),
    checksumCopy: (src, dst, len, initial) => {
      const u8 = inBounds(inBounds(host.u8, src, len, "checksumCopy"), dst, len, "checksumCopy");
      return refChecksumCopy(u8, src, dst, len, initial);
    },
    checksumBatch: (descOff, count, outOff) =>
      refChecksumBatch(host.u8, descOff >>> 0, count >>> 0, outOff >>> 0),
    gather: (descOff, count, dst) => refGather(host.u8, descOff >>> 0, count >>> 0, dst >>> 0),
    gatherChecksum: (descOff, count, dst, initial) =>
      refGatherChecksum(host.u8, descOff >>> 0, count >>> 0, dst >>> 0, initial),
    csumUpdate16: refCsumUpdate16,
    csumUpdate32: refCsumUpdate32,
    ipv4PseudoSum: refIpv4PseudoSum,
    rangeInit: (tab, cap) => refRangeInit(host.u8, tab, cap),
    rangeInsert: (tab, s, e) => refRangeInsert(host.u8, tab, s, e),
    rangeAdvance: (tab, seq) => refRangeAdvance(host.u8, tab, seq),
    rangeFind: (tab, s) => refRangeFind(host.u8, tab, s),
    rangeCovered: (tab, s, e) => refRangeCovered(host.u8, tab, s, e),
    rangeSack: (tab, recent, out, max) => refRangeSack(host.u8, tab, recent, out, max),
  };
}

const bound = new WeakMap<WebAssembly.Memory, HotPaths>();

/**
 * Bind the hot paths to `arena`'s memory and route the checksum facade
 * (`checksum(arena.u8, …)` in `checksum.ts`) to them.
 *
 * `"auto"` picks SIMD when `WebAssembly.validate` accepts the SIMD module,
 * else scalar WebAssembly, else the TypeScript reference (no `WebAssembly`, or
 * instantiation failed). Forcing `"simd"` or `"scalar"` where the host cannot
 * run it throws an `Error` saying so. A shared arena gets the shared-memory
 * module variants.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { bindHotPaths } from "./bindings.ts";
 * import { finishChecksum } from "./checksum.ts";
 * const arena = new Arena();
 * const hot = bindHotPaths(arena, { engine: "auto" });
 * const off = arena.tryAllocSlot(8);
 * arena.u8.set([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], off);
 * finishChecksum(hot.checksum(off, 8, 0)); // 0x220d (RFC 1071 §3)
 * ```
 */
export function bindHotPaths(arena: MemoryHost, options: BindOptions = {}): HotPaths {
  const choice = options.engine ?? "auto";
  const memory = arena.memory;
  const shared = isShared(memory);
  let hot: HotPaths | undefined;
  if (choice === "simd" || choice === "scalar") {
    const mod = compiledModule(choice, shared);
    if (mod === null) {
      throw new Error(
        `bindHotPaths: engine "${choice}" forced, but this host ${
          wasmApi === undefined
            ? "has no WebAssembly"
            : `rejects the ${choice}${
              shared ? " shared-memory" : ""
            } module (WebAssembly.validate failed${choice === "simd" ? ": no SIMD support" : ""})`
        }`,
      );
    }
    try {
      hot = wasmHotPaths(choice, mod, memory, shared);
    } catch (e) {
      throw new Error(`bindHotPaths: cannot instantiate the ${choice} module: ${e}`, { cause: e });
    }
  } else if (choice === "auto") {
    for (const kind of ["simd", "scalar"] as const) {
      const mod = compiledModule(kind, shared);
      if (mod === null) continue;
      try {
        hot = wasmHotPaths(kind, mod, memory, shared);
        break;
      } catch {
        // e.g. a memory the module's import does not match: try the next engine
      }
    }
  } else if (choice !== "reference") {
    throw new TypeError(`bindHotPaths: unknown engine ${JSON.stringify(choice)}`);
  }
  hot ??= referenceHotPaths(arena, shared);
  registerChecksumEngine(memory, hot);
  bound.set(memory, hot);
  return hot;
}

/**
 * Release one {@link bindHotPaths} of `arena` (a stack closing): when the last
 * binding goes, checksums over that memory stop routing to its engine, so a
 * discarded arena is neither kept alive nor searched on every checksum.
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { bindHotPaths, releaseHotPaths } from "./bindings.ts";
 * const arena = new Arena();
 * bindHotPaths(arena);
 * releaseHotPaths(arena);
 * ```
 */
export function releaseHotPaths(arena: MemoryHost): void {
  releaseChecksumEngine(arena.memory);
}

/**
 * The hot paths of `arena`, binding them with `"auto"` on first use: the
 * engine is picked once per arena and this returns the same object after
 * (or whatever {@link bindHotPaths} last bound to that arena).
 *
 * @example
 * ```ts
 * import { Arena } from "../skb/arena.ts";
 * import { hotPathsFor } from "./bindings.ts";
 * const arena = new Arena();
 * hotPathsFor(arena) === hotPathsFor(arena); // true
 * ```
 */
export function hotPathsFor(arena: MemoryHost): HotPaths {
  return bound.get(arena.memory) ?? bindHotPaths(arena);
}
