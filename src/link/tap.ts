/**
 * `TapDevice`: a Linux TAP interface as a {@link NetDevice} (Deno only).
 *
 * The kernel sees a TAP as an Ethernet interface; every frame it transmits
 * there we read from a file descriptor, and every frame we write it receives.
 * That makes the Linux stack an independent peer for interop tests, and lets
 * a deployed stack reach real networks through a bridge or NAT.
 *
 * **Permissions.** Uses libc through Deno FFI: run with `--allow-ffi` (or
 * `-A`). `Deno.dlopen` is stable in Deno 2 (checked on 2.9.6), so
 * `--unstable-ffi` is not needed. Opening `/dev/net/tun` and creating or
 * attaching a TAP needs root or `CAP_NET_ADMIN` (attaching a persistent TAP
 * created with `ip tuntap add … user <you>` does not); entering a network
 * namespace also needs `CAP_SYS_ADMIN`.
 *
 * **Attach or create.** Without `create`, {@link TapDevice.open} attaches to an
 * existing TAP (`ip tuntap add dev tap0 mode tap`) and fails with `ENODEV` if
 * there is none, rather than silently making one (which is what a bare
 * `TUNSETIFF` would do). With `create: true` it makes a new, non-persistent
 * TAP that the kernel deletes when the device is closed, and fails with
 * `EEXIST` if the name is taken (`IFF_TUN_EXCL`), so it can never latch on to
 * somebody else's interface.
 *
 * **Network namespaces.** With `netns`, the driver enters that namespace
 * (`setns(2)` on the calling thread, through FFI), opens `/dev/net/tun` and
 * does the `TUNSETIFF` there, and switches back before returning. The open
 * and the ioctl are synchronous FFI calls, so no other JavaScript, timer or
 * Deno op can run on this thread while it is in the other namespace, and the
 * kernel side of a created TAP is born inside the namespace: it is never
 * visible in the host's namespace, so no host daemon (NetworkManager,
 * systemd-networkd, a firewall) sees or configures it even briefly. The fd
 * stays bound to the device wherever it lives. (Creating the TAP in the
 * current namespace and then `ip link set tap0 netns ns` also works — the fd
 * keeps working after the move, verified on Linux 6.18 — but the device then
 * exists in the host namespace for a moment.)
 *
 * **Receive without blocking the event loop.** The fd is `O_NONBLOCK`. A
 * `poll(2)` on it and on an `eventfd` runs as a `nonblocking` FFI call, i.e.
 * on a thread of Deno's blocking pool, and resolves a promise when the TAP is
 * readable. The main thread then drains it with non-blocking `read(2)`s
 * straight into arena buffers (one copy per frame, kernel → arena), at most
 * `rxBatch` frames per wake-up so a flood yields to timers, and hands each to
 * {@link BaseDevice.netifRx}. `close()` writes the `eventfd` so the pending
 * poll returns at once, and waits for it (bounded by `pollTimeoutMs` even if
 * the wake-up were lost): no FFI call is left running, so the process can
 * exit and Deno's op/resource sanitizers pass.
 *
 * **Transmit.** `hardStartXmit` writes the frame straight from the arena. A
 * TAP write is all-or-nothing and only fails with `EAGAIN` if the socket
 * send buffer (`TUNSETSNDBUF`, unlimited by default) is full; such frames wait
 * in a small bounded queue (`txQueueLimit`, default 64) that the poll thread
 * drains when the fd turns writable, and frames beyond it are dropped and
 * counted (`NET_XMIT_DROP`), which TCP treats as loss. `EIO` means the kernel
 * side is administratively down: the frame is dropped, counted in
 * `txErrors`, and `transmit` reports `Xmit.DOWN`.
 *
 * Frames longer than `mtu + 14` read from the kernel (its MTU may be larger
 * than ours) are dropped and counted, never truncated into the stack.
 *
 * @module
 */
import { BaseDevice, type DeviceOptions, Xmit } from "./device.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { AllocOptions, SkBuff } from "../skb/skbuff.ts";
import {
  addressOf,
  CLONE_NEWNET,
  cString,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  Errno,
  errnoName,
  IFF_NO_PI,
  IFF_TAP,
  IFF_TUN_EXCL,
  IFNAMSIZ,
  IFREQ_SIZE,
  Libc,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  TUNSETIFF,
} from "./_libc.ts";

/** Options for {@link TapDevice.open}. */
export interface TapOptions extends DeviceOptions {
  /**
   * Create a new non-persistent TAP (deleted when closed) instead of attaching
   * to an existing one; fails if the name is taken. Default false.
   */
  create?: boolean;
  /**
   * Network namespace the TAP lives in: a name from `ip netns add` (looked up
   * in `/run/netns/`) or an absolute path to a namespace file
   * (`/proc/<pid>/ns/net`). Default: the current namespace.
   */
  netns?: string;
  /** Frames that may wait for the fd to become writable (default 64). */
  txQueueLimit?: number;
  /** Frames read per wake-up before yielding to the event loop (default 64). */
  rxBatch?: number;
  /**
   * Upper bound in ms on one `poll(2)` call, hence on how long `close()` can
   * wait if the eventfd wake-up were lost (default 250).
   */
  pollTimeoutMs?: number;
}

/**
 * Opening or attaching a TAP failed; `code` is the errno name (`"EPERM"`,
 * `"EBUSY"`, `"ENODEV"`, …) and the message says what failed and why.
 *
 * @example
 * ```ts
 * import { TapDevice, TapError } from "./tap.ts";
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { RealClock } from "../core/clock.ts";
 * try {
 *   await TapDevice.open({ name: "tap0", allocator: new SkbAllocator(new Arena()), clock: new RealClock() });
 * } catch (e) {
 *   if (e instanceof TapError && e.code === "ENODEV") console.log("run: ip tuntap add dev tap0 mode tap");
 * }
 * ```
 */
export class TapError extends Error {
  /** errno name, e.g. `"EPERM"`. */
  readonly code: string;
  /** The TAP name that was being opened. */
  readonly device: string;

  /** An error opening or using TAP `device`: errno `code` and why. */
  constructor(device: string, code: string, why: string, options?: ErrorOptions) {
    super(`Cannot open TAP "${device}": ${why}`, options);
    this.name = "TapError";
    this.code = code;
    this.device = device;
  }
}

const RX_ALLOC: AllocOptions = { headroom: 0 };
const EVENTFD_ONE = new Uint8Array(new BigUint64Array([1n]).buffer);
const SCRATCH_BYTES = 65536 + ETHERNET_HEADER_LENGTH;

/**
 * A TAP interface driven through `/dev/net/tun`. Open with
 * {@link TapDevice.open}; the device is up when it resolves. Always `close()`
 * it (or use `await using`): until then a poll call is pending, which keeps
 * the process alive.
 *
 * @example Needs root and a network namespace: not run by `deno test --doc`
 * ```ts ignore
 * // sudo ip netns add demo   (then, as root: deno run --allow-ffi this.ts)
 * import { TapDevice } from "./tap.ts";
 * import { Arena } from "../skb/arena.ts";
 * import { SkbAllocator } from "../skb/skbuff.ts";
 * import { RealClock } from "../core/clock.ts";
 * const clock = new RealClock();
 * await using tap = await TapDevice.open({
 *   name: "nwtap0",
 *   allocator: new SkbAllocator(new Arena()),
 *   clock,
 *   create: true,
 *   netns: "demo",
 * });
 * tap.setRxNotify((dev) => dev.poll(64, (skb) => skb.free()));
 * ```
 */
export class TapDevice extends BaseDevice {
  /** Frames waiting for the fd to become writable (after `EAGAIN`). */
  readonly txQueue: SkbQueue = new SkbQueue();
  /** Bound of {@link TapDevice.txQueue}. */
  readonly txQueueLimit: number;
  /** The namespace the TAP was opened in, as given. */
  readonly netns: string | undefined;
  /** True if this device created the TAP (it disappears on close). */
  readonly created: boolean;

  #libc: Libc;
  #fd = -1;
  #eventFd = -1;
  #rxBatch: number;
  #pollTimeoutMs: number;
  /** Two `struct pollfd`s: [0] the TAP, [1] the eventfd. */
  #pollFds = new Uint8Array(16);
  #pollView = new DataView(this.#pollFds.buffer);
  #scratch = new Uint8Array(SCRATCH_BYTES);
  #scratchAddr: number;
  #wakeAddr: number;
  #eventBuf = new Uint8Array(8);
  #eventAddr: number;
  /** Arena buffer whose base address is cached in #base (re-derived after memory growth). */
  #baseBuf: ArrayBufferLike | null = null;
  #base = 0;
  #closing = false;
  #loop: Promise<void> = Promise.resolve();
  #closed: Promise<void> | null = null;
  #lastError: Error | null = null;

  private constructor(options: TapOptions, libc: Libc) {
    super(options);
    this.#libc = libc;
    this.netns = options.netns;
    this.created = options.create ?? false;
    this.txQueueLimit = positiveInt("txQueueLimit", options.txQueueLimit ?? 64);
    this.#rxBatch = positiveInt("rxBatch", options.rxBatch ?? 64);
    this.#pollTimeoutMs = positiveInt("pollTimeoutMs", options.pollTimeoutMs ?? 250);
    this.#scratchAddr = addressOf(this.#scratch);
    this.#wakeAddr = addressOf(EVENTFD_ONE);
    this.#eventAddr = addressOf(this.#eventBuf);
  }

  /**
   * Open `/dev/net/tun` and attach to (or, with `create`, create) the TAP
   * `name`, optionally inside network namespace `netns`. Resolves to a device
   * that is up and reading. Throws {@link TapError} for system failures
   * (missing `/dev/net/tun`, no permission, no such device, busy, not a TAP)
   * and `RangeError` for a name that is empty, too long or malformed.
   */
  static open(options: TapOptions): Promise<TapDevice> {
    try {
      return Promise.resolve(TapDevice.#openSync(options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  static #openSync(options: TapOptions): TapDevice {
    checkName(options.name);
    const libc = Libc.open();
    let dev: TapDevice;
    try {
      dev = new TapDevice(options, libc);
      dev.#fd = attach(libc, options);
    } catch (e) {
      libc.close();
      throw e;
    }
    const s = libc.symbols;
    dev.#eventFd = s.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (dev.#eventFd < 0) {
      const errno = libc.errno();
      s.close(dev.#fd);
      libc.close();
      throw new TapError(options.name, errnoName(errno), `eventfd: ${libc.strerror(errno)}`);
    }
    dev.#pollView.setInt32(0, dev.#fd, true);
    dev.#pollView.setInt32(8, dev.#eventFd, true);
    dev.#pollView.setInt16(12, POLLIN, true);
    dev.up();
    // Never an unhandled rejection: an unexpected failure stops the device
    // and shows up in lastError / stopped.
    dev.#loop = dev.#run().catch((e) => {
      dev.#fail(e instanceof Error ? e : new Error(String(e)));
    });
    return dev;
  }

  /** The TAP file descriptor (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /** True once {@link TapDevice.close} has been called. */
  get closed(): boolean {
    return this.#closing;
  }

  /**
   * The I/O error that stopped the receive loop (e.g. the TAP was deleted
   * under us: `EBADFD`), or null while healthy.
   */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /**
   * Resolves when the receive loop has ended: with null after `close()`, or
   * with the error that stopped it (see {@link TapDevice.lastError}), e.g.
   * when the kernel side is deleted.
   */
  get stopped(): Promise<Error | null> {
    return this.#loop.then(() => this.#lastError);
  }

  /** Take the device down; frames waiting to be read or written are freed. */
  override down(): void {
    super.down();
    this.txQueue.purge();
  }

  /**
   * Stop reading, free queued frames and close the fd (a created TAP is
   * deleted by the kernel). Resolves once the pending poll call has returned,
   * at most `pollTimeoutMs` later, normally at once. Idempotent.
   */
  override close(): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    this.#closing = true;
    this.down();
    this.#wake();
    this.#closed = this.#loop.then(() => {
      const s = this.#libc.symbols;
      s.close(this.#fd);
      s.close(this.#eventFd);
      this.#fd = this.#eventFd = -1;
      this.#libc.close();
    });
    return this.#closed;
  }

  /** `await using tap = await TapDevice.open(…)` closes it at scope exit. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Write the frame to the TAP file descriptor. */
  protected override hardStartXmit(skb: SkBuff): Xmit {
    if (this.#closing) {
      skb.free();
      return Xmit.DOWN;
    }
    // Frames already waiting go first: TCP relies on a device not reordering.
    if (this.txQueue.length > 0) return this.#enqueueTx(skb);
    const errno = this.#write(skb);
    if (errno === 0) {
      skb.free();
      return Xmit.OK;
    }
    if (errno === Errno.EAGAIN) {
      const r = this.#enqueueTx(skb);
      this.#wake(); // re-poll with POLLOUT
      return r;
    }
    skb.free();
    this.stats.txErrors++;
    return errno === Errno.EIO ? Xmit.DOWN : Xmit.DROP;
  }

  #enqueueTx(skb: SkBuff): Xmit {
    if (this.txQueue.length >= this.txQueueLimit) {
      skb.free();
      return Xmit.DROP;
    }
    this.txQueue.push(skb);
    return Xmit.OK;
  }

  /** Write one frame from the arena; 0 or the errno. */
  #write(skb: SkBuff): number {
    const base = this.#arenaBase();
    const len = skb.len;
    const n = this.#libc.symbols.write(this.#fd, base + skb.data, len);
    if (n === len) return 0;
    // A TAP write is all-or-nothing; a short count would be a kernel oddity.
    return n < 0 ? this.#libc.errno() : Errno.EIO;
  }

  /** Address of arena byte 0, re-derived when the memory has grown. */
  #arenaBase(): number {
    const u8 = this.allocator.arena.u8;
    if (u8.buffer !== this.#baseBuf) {
      this.#baseBuf = u8.buffer;
      this.#base = addressOf(u8);
    }
    return this.#base;
  }

  #wake(): void {
    if (this.#eventFd >= 0) this.#libc.symbols.write(this.#eventFd, this.#wakeAddr, 8);
  }

  /** The receive loop: poll on the blocking pool, drain on this thread. */
  async #run(): Promise<void> {
    const s = this.#libc.symbols;
    const view = this.#pollView;
    let failures = 0;
    while (!this.#closing) {
      view.setInt16(4, this.txQueue.length > 0 ? POLLIN | POLLOUT : POLLIN, true);
      view.setInt16(6, 0, true);
      view.setInt16(14, 0, true);
      const r = await s.pollAsync(this.#pollFds, 2, this.#pollTimeoutMs);
      if (this.#closing) break;
      if (r < 0) {
        // errno belongs to the pool thread; the likely cause is EINTR (a
        // signal such as SIGCHLD landed on that thread), so poll again, but
        // give up rather than spin if it keeps failing.
        if (++failures >= 100) {
          this.#fail(new Error(`TAP "${this.name}": poll() failed ${failures} times in a row`));
          break;
        }
        continue;
      }
      failures = 0;
      if (r === 0) continue;
      const tapEvents = view.getInt16(6, true);
      if (view.getInt16(14, true) & POLLIN) s.read(this.#eventFd, this.#eventAddr, 8);
      try {
        if (tapEvents & POLLIN && !this.#drainRx()) break;
        if (tapEvents & POLLOUT) this.#flushTx();
      } catch (e) {
        // A callback (rx notify, tap) threw: surface it like an exception in
        // an event handler, and keep the device running.
        reportError(e);
      }
      if (tapEvents & (POLLERR | POLLHUP | POLLNVAL)) {
        this.#fail(
          new Error(`TAP "${this.name}": the kernel side went away (deleted or detached)`),
        );
        break;
      }
    }
  }

  /** Read up to rxBatch frames; false if a fatal error stopped the device. */
  #drainRx(): boolean {
    const s = this.#libc.symbols;
    const maxFrame = this.mtu + ETHERNET_HEADER_LENGTH;
    // Buffers hold at least one byte more than the largest frame we accept, so
    // a longer frame (which read(2) truncates silently) shows up as too long.
    const want = maxFrame + 1;
    for (let i = 0; i < this.#rxBatch; i++) {
      const skb = this.allocator.alloc(want, RX_ALLOC);
      let errno: number;
      if (skb === null) {
        // Arena exhausted: still consume the frame, or poll would spin on it.
        if (s.read(this.#fd, this.#scratchAddr, SCRATCH_BYTES) >= 0) {
          this.stats.rxDropped++;
          continue;
        }
        errno = this.#libc.errno();
      } else {
        const n = s.read(this.#fd, this.#arenaBase() + skb.data, skb.tailroom);
        if (n >= 0 && n <= maxFrame) {
          skb.put(n);
          this.netifRx(skb);
          continue;
        }
        errno = n < 0 ? this.#libc.errno() : 0; // read it before anything can clobber it
        skb.free();
        if (n >= 0) {
          this.stats.rxDropped++; // longer than our MTU allows
          continue;
        }
      }
      if (errno === Errno.EINTR) continue;
      if (errno === Errno.EAGAIN) return true; // drained
      if (errno === Errno.EBADFD || errno === Errno.EBADF || errno === Errno.EIO) {
        this.#fail(new Error(`TAP "${this.name}": read failed: ${this.#libc.strerror(errno)}`));
        return false;
      }
      // Unexpected: count a lost frame and end this batch (poll again first).
      this.stats.rxDropped++;
      return true;
    }
    return true;
  }

  /** Write queued frames until the queue is empty or the fd is full again. */
  #flushTx(): void {
    for (let skb = this.txQueue.head; skb !== null; skb = this.txQueue.head) {
      const errno = this.#write(skb);
      if (errno === Errno.EAGAIN) return;
      this.txQueue.unlink(skb);
      skb.free();
      if (errno !== 0) {
        this.stats.txErrors++;
        this.stats.txDropped++;
      }
    }
  }

  #fail(error: Error): void {
    this.#lastError = error;
    this.down();
  }
}

function positiveInt(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`TapDevice: ${what} must be a positive integer, got ${v}`);
  }
  return v;
}

/** Reject names the kernel would refuse (`dev_valid_name`), with the reason. */
function checkName(name: string): void {
  const bytes = new TextEncoder().encode(name).length;
  if (bytes === 0) throw new RangeError(`Cannot open TAP "": the name is empty`);
  if (bytes >= IFNAMSIZ) {
    throw new RangeError(
      `Cannot open TAP "${name}": the name is ${bytes} bytes, at most ${
        IFNAMSIZ - 1
      } fit (IFNAMSIZ)`,
    );
  }
  if (name === "." || name === ".." || /[/:\s]/.test(name)) {
    throw new RangeError(
      `Cannot open TAP "${name}": interface names may not be "." or ".." or contain "/", ":" or whitespace`,
    );
  }
}

/** Open /dev/net/tun and TUNSETIFF, inside `options.netns` if given; returns the fd. */
function attach(libc: Libc, options: TapOptions): number {
  const s = libc.symbols;
  const name = options.name;
  const where = options.netns === undefined ? "" : ` in network namespace "${options.netns}"`;
  let restore = -1;
  let target = -1;
  if (options.netns !== undefined) {
    const path = options.netns.startsWith("/") ? options.netns : `/run/netns/${options.netns}`;
    target = s.open(cString(path), O_RDONLY | O_CLOEXEC, 0);
    if (target < 0) {
      const errno = libc.errno();
      throw new TapError(
        name,
        errnoName(errno),
        errno === Errno.ENOENT
          ? `network namespace "${options.netns}" does not exist (${path}; create it with \`ip netns add\`)`
          : `cannot open network namespace ${path}: ${libc.strerror(errno)}`,
      );
    }
    // This thread's namespace (not /proc/self's: that is the main thread's).
    restore = s.open(cString("/proc/thread-self/ns/net"), O_RDONLY | O_CLOEXEC, 0);
    if (restore < 0 || s.setns(target, CLONE_NEWNET) < 0) {
      const errno = libc.errno();
      if (restore >= 0) s.close(restore);
      s.close(target);
      throw new TapError(
        name,
        errnoName(errno),
        errno === Errno.EPERM
          ? `cannot enter network namespace "${options.netns}": permission denied (need root or CAP_SYS_ADMIN)`
          : `cannot enter network namespace "${options.netns}": ${libc.strerror(errno)}`,
      );
    }
  }
  try {
    return openTun(libc, options, where);
  } finally {
    if (restore >= 0) {
      const ok = s.setns(restore, CLONE_NEWNET) === 0;
      s.close(restore);
      s.close(target);
      // Staying in the other namespace would silently move all later
      // networking of this thread there: refuse to carry on.
      if (!ok) {
        // deno-lint-ignore no-unsafe-finally
        throw new Error(
          `TAP "${name}": could not return to the original network namespace: ${
            libc.strerror(libc.errno())
          }`,
        );
      }
    }
  }
}

function openTun(libc: Libc, options: TapOptions, where: string): number {
  const s = libc.symbols;
  const name = options.name;
  const create = options.create ?? false;
  const fd = s.open(cString("/dev/net/tun"), O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) {
    const errno = libc.errno();
    let why: string;
    if (errno === Errno.ENOENT) {
      why = "/dev/net/tun does not exist (load the tun module: modprobe tun)";
    } else if (errno === Errno.EACCES || errno === Errno.EPERM) {
      why = "permission denied opening /dev/net/tun (need root or CAP_NET_ADMIN)";
    } else if (errno === Errno.ENODEV || errno === Errno.ENXIO) {
      why = "/dev/net/tun exists but the kernel has no tun driver (modprobe tun)";
    } else {
      why = `cannot open /dev/net/tun: ${libc.strerror(errno)}`;
    }
    throw new TapError(name, errnoName(errno), why);
  }
  try {
    const exists = s.if_nametoindex(cString(name)) !== 0;
    if (!create && !exists) {
      throw new TapError(
        name,
        "ENODEV",
        `no such device${where} (create it with \`ip tuntap add dev ${name} mode tap\`, or pass create: true)`,
      );
    }
    if (create && exists) {
      throw new TapError(name, "EEXIST", `an interface with this name already exists${where}`);
    }
    const ifr = new Uint8Array(IFREQ_SIZE);
    ifr.set(new TextEncoder().encode(name));
    new DataView(ifr.buffer).setUint16(
      IFNAMSIZ,
      IFF_TAP | IFF_NO_PI | (create ? IFF_TUN_EXCL : 0),
      true,
    );
    if (s.ioctl(fd, TUNSETIFF, ifr) < 0) {
      const errno = libc.errno();
      let why: string;
      if (errno === Errno.EPERM || errno === Errno.EACCES) {
        why = "permission denied (need root or CAP_NET_ADMIN, or a TAP owned by this user)";
      } else if (errno === Errno.EBUSY) {
        why = create
          ? `an interface with this name already exists${where}`
          : "device busy: another process has it open (a single-queue TAP takes one reader)";
      } else if (errno === Errno.EINVAL) {
        why = `an interface with this name exists${where} but is not a TAP device`;
      } else {
        why = `TUNSETIFF failed: ${libc.strerror(errno)}`;
      }
      throw new TapError(name, errnoName(errno), why);
    }
    return fd;
  } catch (e) {
    s.close(fd);
    throw e;
  }
}
