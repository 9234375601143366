/**
 * The arena: one `WebAssembly.Memory` holding every packet buffer.
 *
 * Layout. The first 64 KiB page is reserved: offset 0 stays invalid (a zero
 * offset is never a buffer), WebAssembly modules keep their static data below
 * {@link SCRATCH_OFFSET}, and the rest of the page is scratch space that
 * TypeScript fills with descriptor tables for batch calls (gather copies).
 * Packet slots follow, carved in chunks from a bump pointer as size classes
 * grow, each class with its own free list.
 *
 * Size classes (defaults, see {@link DEFAULT_SIZE_CLASSES}):
 * - 256 B: a segment that is only headers ({@link MAX_HEADER} of headroom
 *   holds Ethernet + IPv4 + TCP with options): SYNs, SYN-ACKs, pure ACKs,
 *   FINs, RSTs. Ten thousand half-open connections each hold one on their
 *   retransmission queue, so these must not cost a frame-sized slot;
 * - 2 KiB: an Ethernet frame at MTU 1500 (1514 B) plus {@link MAX_HEADER} of headroom;
 *   two per 4 KiB page, the class nearly every packet uses;
 * - 10 KiB: a 9000-byte jumbo frame (9014 B) plus headroom;
 * - 65 KiB: a full 65,535-byte IPv4 datagram (reassembly output, loopback at
 *   MTU 65536, TCP super-segments for TSO links) plus link header and headroom.
 *
 * Exhaustion is never a crash: {@link Arena.tryAllocSlot} returns -1 and counts the
 * failure, and `allocSkb` returns `null`.
 *
 * Who may take the last slots (Linux's page-allocator watermarks, where
 * `GFP_ATOMIC` may dip below the minimum and ordinary allocations may not):
 * every allocation has an {@link AllocPriority}. `ATOMIC` — frames from
 * devices, ARP, ICMP, pure ACKs and resets, the work that frees memory — may
 * use every slot. `NORMAL` — socket buffers, data queued for sending — leaves
 * each class's `reserve` slots (default one eighth of the class) and the last
 * `reserveFraction` of the arena's byte capacity alone, so full send queues
 * can never starve the receive path. The memory itself grows
 * (`WebAssembly.Memory.grow`) as classes are carved, up to `maxBytes`; how
 * much of it each socket may use is the protocols' accounting
 * (`src/tcp/mem.ts`, Linux `tcp_mem`).
 *
 * @module
 */

/** Bytes reserved at the start of memory (static data and scratch). */
export const RESERVED_BYTES = 65536;
/** Start of the scratch area in the reserved page (below it: WASM static data). */
export const SCRATCH_OFFSET = 4096;
/** Size of the scratch area. */
export const SCRATCH_BYTES = RESERVED_BYTES - SCRATCH_OFFSET;
/** Default headroom for transmitted packets: Ethernet (14) + IPv4 with options (60) + TCP with options (60), rounded up. */
export const MAX_HEADER = 192;
/** Slot alignment. */
export const SLOT_ALIGN = 64;

const PAGE = 65536;

/** One size class: slots of `size` bytes, at most `max` of them. */
export interface SizeClassConfig {
  /** Slot size in bytes (a multiple of 64). */
  readonly size: number;
  /** Hard cap on slots in this class. */
  readonly max: number;
  /** Slots carved at start-up (default: one growth chunk). */
  readonly initial?: number;
  /** Slots only {@link AllocPriority.ATOMIC} allocations may take (default `floor(max / 8)`). */
  readonly reserve?: number;
}

/**
 * Who is allocating (Linux `GFP_ATOMIC` / `GFP_KERNEL` against the
 * watermarks): see the module comment.
 *
 * @example
 * ```ts
 * import { AllocPriority, Arena } from "./arena.ts";
 * const arena = new Arena({ classes: [{ size: 2048, max: 8, reserve: 2 }] });
 * const ids = [];
 * for (let i = 0; i < 6; i++) ids.push(arena.tryAllocSlotId(100, AllocPriority.NORMAL));
 * arena.tryAllocSlotId(100, AllocPriority.NORMAL); // -1: the rest is the reserve
 * arena.tryAllocSlotId(100); // a slot: ATOMIC (the default) may use it
 * ```
 */
export const AllocPriority = {
  /** The receive path and control frames (device receive, ARP, ICMP, ACK, RST): every slot. */
  ATOMIC: 0,
  /** Socket buffers (data queued for sending): never the reserve. */
  NORMAL: 1,
} as const;
/** One of the {@link AllocPriority} values. */
export type AllocPriority = typeof AllocPriority[keyof typeof AllocPriority];

/** Default size classes; see the module comment for the reasoning. */
export const DEFAULT_SIZE_CLASSES: readonly SizeClassConfig[] = [
  { size: 256, max: 65536, initial: 256 },
  { size: 2048, max: 16384, initial: 256 },
  { size: 10240, max: 512, initial: 8 },
  { size: 66560, max: 256, initial: 2 },
];

/** Options for {@link Arena}. */
export interface ArenaOptions {
  /** Size classes, smallest first. */
  readonly classes?: readonly SizeClassConfig[];
  /** Back the memory with a SharedArrayBuffer (needs cross-origin isolation in browsers). */
  readonly shared?: boolean;
  /**
   * Cap on the bytes of packet slots (the memory grows on demand up to it;
   * default: every class at its `max`).
   */
  readonly maxBytes?: number;
  /**
   * Share of the byte capacity {@link AllocPriority.NORMAL} allocations leave
   * to ATOMIC ones (default 1/8).
   */
  readonly reserveFraction?: number;
}

/** Per-class bookkeeping (exported for tests and stats). */
export class SizeClass {
  /** Byte offset of each carved slot. */
  readonly offsets: Int32Array;
  /** Reference count of each slot's data (0 = free). */
  readonly refs: Uint16Array;
  /** Free slot indices (a stack). */
  readonly free: Int32Array;
  /** Free slots in this class. */
  freeCount = 0;
  /** Slots carved so far. */
  carved = 0;
  /** Slots currently allocated. */
  inUse = 0;
  /** Highest `inUse` seen. */
  highWater = 0;
  /** Allocations refused because the class was at its cap. */
  failures = 0;
  /** NORMAL allocations refused because only the reserve was left. */
  reserveRefusals = 0;

  /** Size class `index` of `size`-byte slots, at most `max` of them, `reserve` of them ATOMIC-only. */
  constructor(
    readonly index: number,
    readonly size: number,
    readonly max: number,
    readonly reserve: number = 0,
  ) {
    this.offsets = new Int32Array(max);
    this.refs = new Uint16Array(max);
    this.free = new Int32Array(max);
  }
}

/** Allocation statistics, for tests that prove nothing leaks. */
export interface ArenaStats {
  /** Slots in use across all classes. */
  readonly inUse: number;
  /** Bytes of the slots in use (each slot counts its whole size). */
  readonly bytesInUse: number;
  /** Highest {@link ArenaStats.bytesInUse} seen. */
  readonly bytesHighWater: number;
  /** Bytes of slots the arena may hold at most ({@link Arena.capacityBytes}). */
  readonly capacityBytes: number;
  /** Per class: `{ size, carved, inUse, highWater, failures, reserveRefusals, max, reserve }`. */
  readonly classes: readonly {
    size: number;
    carved: number;
    inUse: number;
    highWater: number;
    failures: number;
    reserveRefusals: number;
    max: number;
    reserve: number;
  }[];
  /** Memory size in bytes. */
  readonly memoryBytes: number;
}

/**
 * The packet-buffer arena over one `WebAssembly.Memory`.
 *
 * @example
 * ```ts
 * import { Arena } from "./arena.ts";
 * const arena = new Arena();
 * const off = arena.tryAllocSlot(1514);
 * if (off < 0) throw new Error("ENOBUFS");
 * arena.u8[off] = 0xff;
 * arena.releaseSlotAt(off);
 * ```
 */
export class Arena {
  /** The memory every WASM module imports. */
  readonly memory: WebAssembly.Memory;
  /** Size classes, smallest first. */
  readonly classes: readonly SizeClass[];
  /** Backed by a SharedArrayBuffer. */
  readonly shared: boolean;
  /** Bytes of packet slots the arena may hold at most (`maxBytes`, or every class full). */
  readonly capacityBytes: number;
  /** Bytes of slots NORMAL allocations may occupy: the capacity less the reserve fraction. */
  readonly normalLimitBytes: number;
  /** Bytes of the slots in use (whole slot sizes). */
  bytesInUse = 0;
  /** Highest {@link Arena.bytesInUse} seen. */
  bytesHighWater = 0;
  #top = RESERVED_BYTES;
  #buffer: ArrayBufferLike;
  #u8: Uint8Array;
  #view: DataView;
  /** Maps a slot's start offset / SLOT_ALIGN to its slot id (class index << 24 | slot index). */
  #slotIndex: Map<number, number> = new Map();

  /** A new arena (its memory grows on demand up to the maximum). */
  constructor(options: ArenaOptions = {}) {
    const configs = options.classes ?? DEFAULT_SIZE_CLASSES;
    if (configs.length === 0) throw new RangeError("Arena needs at least one size class");
    let maxBytes = RESERVED_BYTES;
    let initialBytes = RESERVED_BYTES;
    let slotBytes = 0;
    let prev = 0;
    this.classes = configs.map((c, i) => {
      if (!(c.size > prev) || c.size % SLOT_ALIGN !== 0) {
        throw new RangeError(
          `Arena size class ${i}: size ${c.size} must be a multiple of ${SLOT_ALIGN} and larger than the previous class`,
        );
      }
      if (!(c.max >= 1) || !Number.isInteger(c.max)) {
        throw new RangeError(`Arena size class ${i}: max must be a positive integer, got ${c.max}`);
      }
      const reserve = c.reserve ?? Math.floor(c.max / 8);
      if (!(reserve >= 0 && reserve < c.max) || !Number.isInteger(reserve)) {
        throw new RangeError(
          `Arena size class ${i}: reserve must be an integer in 0…${c.max - 1}, got ${reserve}`,
        );
      }
      prev = c.size;
      maxBytes += c.size * c.max;
      slotBytes += c.size * c.max;
      initialBytes += c.size * Math.min(c.max, c.initial ?? growthChunk(c.size));
      return new SizeClass(i, c.size, c.max, reserve);
    });
    const cap = options.maxBytes;
    if (cap !== undefined && !(cap >= configs[0]!.size)) {
      throw new RangeError(`Arena maxBytes must hold at least one slot, got ${cap}`);
    }
    const fraction = options.reserveFraction ?? 1 / 8;
    if (!(fraction >= 0 && fraction < 1)) {
      throw new RangeError(`Arena reserveFraction must be in [0, 1), got ${fraction}`);
    }
    this.capacityBytes = Math.min(slotBytes, cap ?? Infinity);
    this.normalLimitBytes = Math.floor(this.capacityBytes * (1 - fraction));
    maxBytes = Math.min(maxBytes, RESERVED_BYTES + this.capacityBytes);
    initialBytes = Math.min(initialBytes, maxBytes);
    const maxPages = Math.ceil(maxBytes / PAGE) + 1;
    if (maxPages > 65536) throw new RangeError(`Arena would need ${maxBytes} bytes, over 4 GiB`);
    this.shared = options.shared ?? false;
    this.memory = new WebAssembly.Memory({
      initial: Math.ceil(initialBytes / PAGE),
      maximum: maxPages,
      ...(this.shared ? { shared: true } : {}),
    });
    this.#buffer = this.memory.buffer;
    this.#u8 = new Uint8Array(this.#buffer);
    this.#view = new DataView(this.#buffer);
    configs.forEach((c, i) => {
      const n = Math.min(c.max, c.initial ?? growthChunk(c.size));
      if (n > 0) this.#carve(this.classes[i]!, n);
    });
  }

  /** A byte view of the whole memory (re-derived after growth; cheap to call). */
  get u8(): Uint8Array {
    // Growing a plain memory detaches the old buffer (length 0): a field
    // read, where asking the memory for its buffer is a host call per use.
    // The arena's own growth re-derives at once (which also covers shared
    // memories, whose buffers never detach).
    if (this.#u8.length === 0) this.#refresh();
    return this.#u8;
  }

  /** A DataView of the whole memory (re-derived after growth). */
  get view(): DataView {
    if (this.#u8.length === 0) this.#refresh();
    return this.#view;
  }

  /** Re-derive the views after the memory grew behind the arena's back (shared memories). */
  refresh(): void {
    if (this.memory.buffer !== this.#buffer) this.#refresh();
  }

  /** Slots in use across all classes. */
  get inUse(): number {
    let n = 0;
    for (const c of this.classes) n += c.inUse;
    return n;
  }

  /** Largest buffer one slot can hold. */
  get maxSlotSize(): number {
    return this.classes[this.classes.length - 1]!.size;
  }

  /** Snapshot of allocation counters. */
  stats(): ArenaStats {
    return {
      inUse: this.inUse,
      bytesInUse: this.bytesInUse,
      bytesHighWater: this.bytesHighWater,
      capacityBytes: this.capacityBytes,
      classes: this.classes.map((c) => ({
        size: c.size,
        carved: c.carved,
        inUse: c.inUse,
        highWater: c.highWater,
        failures: c.failures,
        reserveRefusals: c.reserveRefusals,
        max: c.max,
        reserve: c.reserve,
      })),
      memoryBytes: this.memory.buffer.byteLength,
    };
  }

  /** The smallest class whose slots hold `bytes`, or undefined if none does. */
  classFor(bytes: number): SizeClass | undefined {
    const classes = this.classes;
    for (let i = 0; i < classes.length; i++) if (classes[i]!.size >= bytes) return classes[i];
    return undefined;
  }

  /**
   * Allocate a slot of at least `bytes`; returns its class and index packed as
   * `classIndex << 24 | slotIndex`, or -1 when every fitting class is exhausted
   * (ENOBUFS) or `bytes` exceeds the largest class. The slot's refcount starts at 1.
   * A {@link AllocPriority.NORMAL} allocation also fails where only the reserve is left.
   */
  tryAllocSlotId(bytes: number, priority: AllocPriority = AllocPriority.ATOMIC): number {
    const classes = this.classes;
    for (let i = 0; i < classes.length; i++) {
      const c = classes[i]!;
      if (c.size < bytes) continue;
      if (
        priority !== AllocPriority.ATOMIC &&
        (c.max - c.inUse <= c.reserve || this.bytesInUse + c.size > this.normalLimitBytes)
      ) {
        c.reserveRefusals++;
        continue; // a larger class may have room beyond its reserve
      }
      if (c.freeCount === 0 && c.carved < c.max) {
        this.#carve(c, Math.min(growthChunk(c.size), c.max - c.carved));
      }
      if (c.freeCount === 0) {
        c.failures++;
        continue; // a larger class may still have room
      }
      const slot = c.free[--c.freeCount]!;
      c.refs[slot] = 1;
      if (++c.inUse > c.highWater) c.highWater = c.inUse;
      const used = this.bytesInUse += c.size;
      if (used > this.bytesHighWater) this.bytesHighWater = used;
      return (c.index << 24) | slot;
    }
    return -1;
  }

  /** Like {@link tryAllocSlotId} but returns the slot's byte offset (or -1). */
  tryAllocSlot(bytes: number, priority: AllocPriority = AllocPriority.ATOMIC): number {
    const id = this.tryAllocSlotId(bytes, priority);
    return id < 0 ? -1 : this.slotOffset(id);
  }

  /** Forget the high-water marks (the current use becomes the new mark). */
  resetHighWater(): void {
    this.bytesHighWater = this.bytesInUse;
    for (const c of this.classes) c.highWater = c.inUse;
  }

  /** Byte offset of a slot id. */
  slotOffset(id: number): number {
    return this.classes[id >>> 24]!.offsets[id & 0xffffff]!;
  }

  /** Byte size of a slot id. */
  slotSize(id: number): number {
    return this.classes[id >>> 24]!.size;
  }

  /** Add a reference to a slot (a clone now shares it). */
  retainSlot(id: number): void {
    const c = this.classes[id >>> 24]!;
    const slot = id & 0xffffff;
    const r = c.refs[slot]!;
    if (r === 0) throw new TypeError(`Arena: retain of free slot ${id}`);
    if (r === 0xffff) throw new RangeError(`Arena: slot ${id} has too many references`);
    c.refs[slot] = r + 1;
  }

  /** Drop a reference; the slot returns to its free list when the last one goes. */
  releaseSlot(id: number): void {
    const c = this.classes[id >>> 24]!;
    const slot = id & 0xffffff;
    const r = c.refs[slot]!;
    if (r === 0) throw new TypeError(`Arena: double free of slot ${id}`);
    c.refs[slot] = r - 1;
    if (r === 1) {
      c.free[c.freeCount++] = slot;
      c.inUse--;
      this.bytesInUse -= c.size;
    }
  }

  /** Release the slot that starts at byte offset `off` (for callers that kept only the offset). */
  releaseSlotAt(off: number): void {
    const packed = this.#slotIndex.get(off / SLOT_ALIGN);
    if (packed === undefined) throw new TypeError(`Arena: ${off} is not the start of a slot`);
    this.releaseSlot(packed);
  }

  /** References held on a slot (0 when free). */
  slotRefs(id: number): number {
    return this.classes[id >>> 24]!.refs[id & 0xffffff]!;
  }

  #carve(c: SizeClass, n: number): void {
    // maxBytes: carve no further than the capacity allows (the rest fails as ENOBUFS).
    n = Math.min(n, Math.floor((RESERVED_BYTES + this.capacityBytes - this.#top) / c.size));
    if (n <= 0) return;
    const need = this.#top + c.size * n;
    const have = this.memory.buffer.byteLength;
    if (need > have) {
      try {
        this.memory.grow(Math.ceil((need - have) / PAGE));
      } catch {
        return; // the host refused to grow: the allocation fails with ENOBUFS
      }
      this.#refresh();
    }
    for (let k = 0; k < n; k++) {
      const slot = c.carved++;
      const off = this.#top;
      this.#top += c.size;
      c.offsets[slot] = off;
      c.refs[slot] = 0;
      c.free[c.freeCount++] = slot;
      this.#slotIndex.set(off / SLOT_ALIGN, (c.index << 24) | slot);
    }
    // Free lists pop from the end: keep low slots first for locality.
    c.free.subarray(0, c.freeCount).reverse();
  }

  #refresh(): void {
    this.#buffer = this.memory.buffer;
    this.#u8 = new Uint8Array(this.#buffer);
    this.#view = new DataView(this.#buffer);
  }
}

/** How many slots a class grows by at a time: about 256 KiB, at least one slot. */
function growthChunk(size: number): number {
  return Math.max(1, Math.floor(262144 / size));
}
