/**
 * The few libc calls the TAP driver makes through Deno FFI, and errno helpers.
 *
 * Internal to `src/link/` (hence the underscore): the symbol table, the Linux
 * constants the TAP driver needs (x86-64 and aarch64 share them), and
 * {@link Libc.errno}, which reads the calling thread's `errno` right after a
 * synchronous call.
 *
 * Buffers are passed as plain addresses (`usize`) where the hot path calls
 * (`read`, `write` into the arena), so no view or pointer object is allocated
 * per frame; everything else takes `Uint8Array`s.
 *
 * `Deno.dlopen` is stable since Deno 2.0: `--allow-ffi` (or `-A`) is needed,
 * `--unstable-ffi` is not.
 *
 * @module
 */

/** `open(2)` flags. */
export const O_RDWR = 0x2;
/** Non-blocking I/O: reads return `EAGAIN` instead of waiting. */
export const O_NONBLOCK = 0x800;
/** Close on exec, so spawned helpers (`ip`, `tcpdump`) don't inherit the TAP. */
export const O_CLOEXEC = 0x80000;
/** `O_RDONLY` for namespace files. */
export const O_RDONLY = 0x0;

/** `poll(2)` event bits. */
export const POLLIN = 0x001;
/** Writable. */
export const POLLOUT = 0x004;
/** Error condition (e.g. the TAP was deleted under us). */
export const POLLERR = 0x008;
/** Hang up. */
export const POLLHUP = 0x010;
/** Invalid fd. */
export const POLLNVAL = 0x020;

/** `eventfd(2)` flags. */
export const EFD_NONBLOCK = 0x800;
/** Close on exec. */
export const EFD_CLOEXEC = 0x80000;

/** `setns(2)` namespace type. */
export const CLONE_NEWNET = 0x40000000;

/** `TUNSETIFF` = `_IOW('T', 202, int)`. */
export const TUNSETIFF = 0x400454ca;
/** `ifr_flags`: TAP (Ethernet frames), not TUN (IP packets). */
export const IFF_TAP = 0x0002;
/** `ifr_flags`: no 4-byte packet-information prefix on each frame. */
export const IFF_NO_PI = 0x1000;
/** `ifr_flags`: fail with `EBUSY` instead of attaching if the name exists. */
export const IFF_TUN_EXCL = 0x8000;
/** `ifr_flags`: every frame is preceded by a `virtio_net_hdr` (offloads). */
export const IFF_VNET_HDR = 0x4000;
/** `TUNGETFEATURES` = `_IOR('T', 207, unsigned int)`: the `IFF_*` flags this kernel's tun supports. */
export const TUNGETFEATURES = 0x800454cf;
/** `TUNSETOFFLOAD` = `_IOW('T', 208, unsigned int)`, argument by value: `TUN_F_*` we accept. */
export const TUNSETOFFLOAD = 0x400454d0;
/** Interface names hold at most 15 bytes plus a NUL (`IFNAMSIZ`). */
export const IFNAMSIZ = 16;
/** `sizeof(struct ifreq)` on 64-bit Linux. */
export const IFREQ_SIZE = 40;

/** errno values the driver distinguishes (Linux generic numbering). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOBUFS: 105,
  EBADFD: 77,
} as const;

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Errno).map(([k, v]) => [v, k]),
);

/**
 * The symbolic name of an errno value (`"EBUSY"`), or `"E<n>"` when unknown.
 *
 * @example
 * ```ts
 * import { errnoName } from "./_libc.ts";
 * errnoName(16); // "EBUSY"
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // ssize_t results are declared i32: frames are far below 2^31 bytes, and a
  // 32-bit result is a plain number where a 64-bit one would be a BigInt.
  read: { parameters: ["i32", "usize", "usize"], result: "i32" },
  write: { parameters: ["i32", "usize", "usize"], result: "i32" },
  // Two-piece frames (virtio header + frame from the arena) in one call.
  writev: { parameters: ["i32", "usize", "i32"], result: "i32" },
  // ioctl with an integer argument passed by value (TUNSETOFFLOAD).
  ioctlValue: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  // Runs on a thread of Deno's blocking pool and returns a Promise: the
  // event loop never waits on the kernel.
  pollAsync: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The opened libc symbols, with 64-bit integer parameters typed as `number`.
 * Deno's type declarations say `bigint` for `u64`/`usize`, but its FFI also
 * accepts a Number there (converted as an integer); passing addresses as
 * Numbers keeps the per-frame `read`/`write` free of BigInt allocations. A
 * Deno that stopped accepting Numbers would throw a TypeError on the first
 * call, not misbehave quietly.
 */
export interface LibcSymbols {
  open(path: Uint8Array, flags: number, mode: number): number;
  close(fd: number): number;
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  read(fd: number, address: number, length: number): number;
  write(fd: number, address: number, length: number): number;
  /** `writev(2)` with `count` iovecs at `iov` (an address). */
  writev(fd: number, iov: number, count: number): number;
  /** `ioctl(2)` with an integer argument. */
  ioctlValue(fd: number, request: number, value: number): number;
  /** `poll(2)` on a blocking-pool thread; resolves with its result. */
  pollAsync(fds: Uint8Array, nfds: number, timeoutMs: number): Promise<number>;
  eventfd(initval: number, flags: number): number;
  if_nametoindex(name: Uint8Array): number;
  setns(fd: number, nstype: number): number;
  strerror(errno: number): Deno.PointerValue;
  __errno_location(): Deno.PointerValue;
}

const LIBC_NAMES = ["libc.so.6", "libc.so"];

/**
 * A handle on libc. Each TAP device opens its own (and closes it in
 * `close()`), so no library handle outlives the device that needed it.
 *
 * @example
 * ```ts
 * import { cString, Libc } from "./_libc.ts";
 * const libc = Libc.open(); // needs --allow-ffi
 * const index = libc.symbols.if_nametoindex(cString("lo")); // 1
 * libc.close();
 * ```
 */
export class Libc {
  readonly symbols: LibcSymbols;
  #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  #errnoView: Deno.UnsafePointerView | null = null;

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>) {
    this.#lib = lib;
    this.symbols = lib.symbols as unknown as LibcSymbols;
  }

  /** Open libc; throws an Error that says what to do when FFI is not allowed. */
  static open(): Libc {
    let lastError: unknown;
    for (const name of LIBC_NAMES) {
      try {
        return new Libc(Deno.dlopen(name, SYMBOLS));
      } catch (e) {
        if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
          throw new Error("TAP devices need FFI: run Deno with --allow-ffi (or -A)", {
            cause: e,
          });
        }
        lastError = e;
      }
    }
    throw new Error(`Cannot load libc (${LIBC_NAMES.join(", ")}) for the TAP driver`, {
      cause: lastError,
    });
  }

  /**
   * `errno` of the calling thread. Valid right after a failed synchronous call
   * (those run on this thread); meaningless after a `nonblocking` one.
   */
  errno(): number {
    if (this.#errnoView === null) {
      const p = this.symbols.__errno_location();
      if (p === null) return 0;
      this.#errnoView = new Deno.UnsafePointerView(p);
    }
    return this.#errnoView.getInt32(0);
  }

  /** `strerror(errno)` text, e.g. "Device or resource busy". */
  strerror(errno: number): string {
    const p = this.symbols.strerror(errno);
    return p === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(p);
  }

  /** Release the library handle (no call may be pending). */
  close(): void {
    this.#lib.close();
  }
}

/**
 * A NUL-terminated UTF-8 copy of `s` for C.
 *
 * @example
 * ```ts
 * import { cString } from "./_libc.ts";
 * cString("lo"); // Uint8Array [0x6c, 0x6f, 0]
 * ```
 */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * The address of `u8[0]` as a number, for `usize` parameters. Re-derive it
 * when the underlying memory may have moved (a WebAssembly memory grew).
 *
 * @example
 * ```ts
 * import { addressOf } from "./_libc.ts";
 * const buf = new Uint8Array(2048);
 * const at = addressOf(buf) + 14; // where the Ethernet payload starts
 * ```
 */
export function addressOf(u8: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(u8 as Uint8Array<ArrayBuffer>)));
}
