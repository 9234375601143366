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
 * **Offloads (`offload: true`).** The TAP is opened with `IFF_VNET_HDR` and
 * `TUNSETOFFLOAD` (checksum offload and TCP segmentation offload for IPv4 and
 * IPv6), so every frame in either direction carries a `virtio_net_hdr`
 * (`virtio_net.ts`) and TCP super-segments of up to 64 KiB cross in one
 * `read`/`write`: the device advertises `DeviceFeature.TSO`, TCP builds
 * super-segments for it, and the driver hands them to the kernel with
 * `gso_type` TCPV4/TCPV6 and a partial checksum (`NEEDS_CSUM`), which the
 * kernel finishes when it cuts them (or skips on local delivery, as for any
 * GSO packet); the kernel hands us its TSO/GRO super-frames the same way,
 * and they enter the stack whole (Linux takes GRO'd packets the same way),
 * marked `Csum.Unnecessary` when the kernel says the checksum is partial
 * or already verified. The capability is negotiated: a kernel (or tun
 * implementation) without `IFF_VNET_HDR` gives a plain TAP, and
 * `TUNSETOFFLOAD` falls back through smaller flag sets to none
 * ({@link TapDevice.offloads} says what was agreed). A received header that
 * does not describe its frame (unknown flags or GSO type, a zero segment
 * size, a checksum position outside the frame, a GSO type that does not
 * match the frame's protocol) or a frame longer than it may be is dropped
 * and counted by reason in {@link TapDevice.offloadStats}. Small frames read
 * into the 64 KiB landing buffer are copied into a small arena slot, so
 * ACKs do not pin 64 KiB each. A TAP char device takes one frame per
 * `read`/`write` call (no `recvmmsg` for it); batching here means super-frames
 * (up to 44 MSS-sized segments per call) and up to `rxBatch` reads per
 * wake-up. Multiqueue (`IFF_MULTI_QUEUE`) is not used: the stack runs on one
 * JavaScript thread, so more queues would add poll threads and wake-ups
 * without adding a core to process them.
 *
 * @module
 */
import { BaseDevice, DeviceFeature, type DeviceOptions, Xmit } from "./device.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";
import { SkbQueue } from "../skb/queue.ts";
import type { AllocOptions, SkBuff } from "../skb/skbuff.ts";
import {
  checkVnetRx,
  negotiateOffload,
  readVnetHdr,
  TunOffload,
  VNET_HDR_LEN,
  VNET_MAX_FRAME,
  type VnetDropReason,
  VnetFlag,
  VnetGso,
  vnetGsoHdr,
  VnetHdr,
  writeVnetHdr,
} from "./virtio_net.ts";
import { Csum } from "../skb/skbuff.ts";
export type { VnetDropReason } from "./virtio_net.ts";
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
  IFF_VNET_HDR,
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
  TUNGETFEATURES,
  TUNSETIFF,
  TUNSETOFFLOAD,
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
  /**
   * Negotiate `IFF_VNET_HDR` offloads (checksum, TSO/GSO both ways; see the
   * module comment). Default false: the TAP carries plain MTU-sized frames
   * with complete checksums, which is what a frame-forwarding user (a relay
   * switch) needs; a stack on the TAP wants true.
   */
  offload?: boolean;
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
/** Room for the longest read: a virtio header, a 64 KiB super-frame and the overlong-detection byte. */
const SCRATCH_BYTES = VNET_HDR_LEN + VNET_MAX_FRAME + 1;
/** Drains in a row without a poll while frames keep arriving (see `#run`). */
const RX_BUSY_POLLS = 32;
/** Received frames up to this long leave the 64 KiB landing buffer for a small slot (a copy). */
const RX_COPYBREAK = 2048;

/** Offload counters of a {@link TapDevice} opened with `offload: true`. */
export class TapOffloadStats {
  /** Super-frames (GSO) received from the kernel. */
  rxSuperFrames = 0;
  /** Received frames whose checksum the kernel left partial or had verified. */
  rxCsumTrusted = 0;
  /** Super-segments handed to the kernel to cut. */
  txSuperFrames = 0;
  /** Super-segments that could not be offloaded (not TCP, or IPv6 without TSO6): dropped. */
  txGsoDropped = 0;
  /** Received frames dropped by reason (also counted in `stats.rxDropped`). */
  readonly rxDrops: Record<VnetDropReason, number> = {
    vnet_short: 0,
    vnet_bad_flags: 0,
    vnet_bad_gso_type: 0,
    vnet_bad_gso_size: 0,
    vnet_bad_csum_offset: 0,
    vnet_gso_mismatch: 0,
    vnet_oversized: 0,
  };
}

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
  /** True when frames carry a `virtio_net_hdr` (`IFF_VNET_HDR` was accepted). */
  readonly vnetHdr: boolean;
  /** The `TUN_F_*` offloads the kernel accepted (0 without `offload`). */
  readonly offloads: number;
  /** Offload counters (all zero without offloads). */
  readonly offloadStats: TapOffloadStats = new TapOffloadStats();

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
  /** Reused parse record for received virtio headers. */
  #rxHdr = new VnetHdr();
  /** Two `struct iovec`s (header, frame) then the 10-byte header they point at. */
  #iov = new Uint8Array(32 + VNET_HDR_LEN);
  #iovView = new DataView(this.#iov.buffer);
  #iovAddr: number;
  #vnetTxHdr = this.#iov.subarray(32);
  /** The 64 KiB buffer the next read lands in (offload mode). */
  #landing: SkBuff | null = null;
  /** Arena buffer whose base address is cached in #base (re-derived after memory growth). */
  #baseBuf: ArrayBufferLike | null = null;
  #base = 0;
  #closing = false;
  /** Frames read so far (including dropped ones): tells the busy poll whether a drain found any. */
  #rxFrames = 0;
  #loop: Promise<void> = Promise.resolve();
  #closed: Promise<void> | null = null;
  #lastError: Error | null = null;

  private constructor(options: TapOptions, libc: Libc, tun: Attached) {
    super({
      ...options,
      features: (options.features ?? 0) |
        (tun.offloads & TunOffload.CSUM ? DeviceFeature.HW_CSUM : 0) |
        (tun.offloads & TunOffload.TSO4 ? DeviceFeature.TSO : 0),
    });
    this.#libc = libc;
    this.#fd = tun.fd;
    this.vnetHdr = tun.vnetHdr;
    this.offloads = tun.offloads;
    this.netns = options.netns;
    this.created = options.create ?? false;
    this.txQueueLimit = positiveInt("txQueueLimit", options.txQueueLimit ?? 64);
    this.#rxBatch = positiveInt("rxBatch", options.rxBatch ?? 64);
    this.#pollTimeoutMs = positiveInt("pollTimeoutMs", options.pollTimeoutMs ?? 250);
    this.#scratchAddr = addressOf(this.#scratch);
    this.#wakeAddr = addressOf(EVENTFD_ONE);
    this.#eventAddr = addressOf(this.#eventBuf);
    this.#iovAddr = addressOf(this.#iov);
    // iov[0] always points at the header bytes that follow the two iovecs.
    this.#setIov(0, this.#iovAddr + 32, VNET_HDR_LEN);
  }

  #setIov(i: number, address: number, length: number): void {
    const v = this.#iovView;
    v.setUint32(i * 16, address >>> 0, true);
    v.setUint32(i * 16 + 4, Math.floor(address / 0x1_0000_0000), true);
    v.setUint32(i * 16 + 8, length, true);
    v.setUint32(i * 16 + 12, 0, true);
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
      const tun = attach(libc, options);
      try {
        dev = new TapDevice(options, libc, tun);
      } catch (e) {
        libc.symbols.close(tun.fd);
        throw e;
      }
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
    this.#landing?.free();
    this.#landing = null;
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
    if (this.vnetHdr) return this.#writeVnet(skb, base, len);
    const n = this.#libc.symbols.write(this.#fd, base + skb.data, len);
    if (n === len) return 0;
    // A TAP write is all-or-nothing; a short count would be a kernel oddity.
    return n < 0 ? this.#libc.errno() : Errno.EIO;
  }

  /**
   * Write a frame behind its virtio header (one `writev`): a super-segment
   * with the GSO request and a partial checksum, anything else with an
   * all-zero header (complete checksums, no segmentation).
   */
  #writeVnet(skb: SkBuff, base: number, len: number): number {
    const hdr = this.#vnetTxHdr;
    if (skb.gsoSize > 0 && len > this.mtu + ETHERNET_HEADER_LENGTH) {
      const u8 = this.allocator.arena.u8;
      if (
        (this.offloads & TunOffload.TSO4) === 0 ||
        !vnetGsoHdr(hdr, u8, skb.data, len, skb.gsoSize, (this.offloads & TunOffload.TSO6) !== 0)
      ) {
        this.offloadStats.txGsoDropped++;
        return Errno.EINVAL;
      }
      this.offloadStats.txSuperFrames++;
    } else {
      writeVnetHdr(hdr, 0, 0, VnetGso.NONE, 0, 0, 0, 0);
    }
    this.#setIov(1, base + skb.data, len);
    const n = this.#libc.symbols.writev(this.#fd, this.#iovAddr, 2);
    if (n === len + VNET_HDR_LEN) return 0;
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
    let spins = 0;
    let polled = 0; // #rxFrames at the last poll
    while (!this.#closing) {
      if (spins > 0 && this.txQueue.length === 0) {
        // Busy polling (NAPI-style): the frames just handed up are processed
        // by microtasks queued before this await, and their ACKs written
        // (the kernel sends the next data inside that very write), so read
        // again at once instead of a poll round trip through the blocking
        // pool, while frames keep coming — at most rxBatch frames per poll,
        // as before, so timers and other I/O still get in between.
        spins--;
        await null;
        if (this.#closing) break;
        const before = this.#rxFrames;
        try {
          if (!this.#drainRx()) break;
        } catch (e) {
          reportError(e);
        }
        if (this.#rxFrames === before || this.#rxFrames - polled >= this.#rxBatch) spins = 0;
        continue;
      }
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
      const before = this.#rxFrames;
      polled = before;
      try {
        if (tapEvents & POLLIN && !this.#drainRx()) break;
        if (tapEvents & POLLOUT) this.#flushTx();
      } catch (e) {
        // A callback (rx notify, tap) threw: surface it like an exception in
        // an event handler, and keep the device running.
        reportError(e);
      }
      if (this.#rxFrames > before && this.#rxFrames - polled < this.#rxBatch) spins = RX_BUSY_POLLS;
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
    if (this.vnetHdr) return this.#drainRxVnet();
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
        if (n >= 0) this.#rxFrames++;
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

  /**
   * Offload mode: read up to rxBatch header+frame pairs into a 64 KiB
   * landing buffer, check each header against its frame (bad ones are
   * dropped and counted by reason), copy short frames into a small slot and
   * hand the rest up in the landing buffer itself.
   */
  #drainRxVnet(): boolean {
    const s = this.#libc.symbols;
    const h = this.#rxHdr;
    const st = this.offloadStats;
    const maxFrame = this.mtu + ETHERNET_HEADER_LENGTH;
    for (let i = 0; i < this.#rxBatch; i++) {
      let landing = this.#landing;
      if (landing === null) landing = this.#landing = this.allocator.alloc(SCRATCH_BYTES, RX_ALLOC);
      let errno: number;
      if (landing === null) {
        if (s.read(this.#fd, this.#scratchAddr, SCRATCH_BYTES) >= 0) {
          this.stats.rxDropped++;
          continue;
        }
        errno = this.#libc.errno();
      } else {
        const at = landing.data;
        const n = s.read(this.#fd, this.#arenaBase() + at, SCRATCH_BYTES);
        if (n >= 0) {
          this.#rxFrames++;
          const u8 = this.allocator.arena.u8;
          const frameLen = n - VNET_HDR_LEN;
          const why = n < VNET_HDR_LEN
            ? "vnet_short"
            : checkVnetRx(readVnetHdr(u8, at, h), u8, at + VNET_HDR_LEN, frameLen, maxFrame);
          if (why !== null) {
            st.rxDrops[why]++;
            this.stats.rxDropped++;
            continue; // the landing buffer is reused
          }
          let skb: SkBuff | null = null;
          if (frameLen <= RX_COPYBREAK) {
            skb = this.allocator.alloc(frameLen, RX_ALLOC);
            if (skb !== null) {
              const to = skb.put(frameLen);
              this.allocator.arena.u8.copyWithin(
                to,
                at + VNET_HDR_LEN,
                at + VNET_HDR_LEN + frameLen,
              );
            }
          }
          if (skb === null) {
            skb = landing;
            this.#landing = null;
            skb.put(n);
            skb.pull(VNET_HDR_LEN);
          }
          if (h.flags & (VnetFlag.NEEDS_CSUM | VnetFlag.DATA_VALID)) {
            // The kernel is local: a partial checksum is one it never
            // computed for us to check (Linux treats CHECKSUM_PARTIAL on
            // receive as verified); DATA_VALID, one it checked.
            skb.ipSummed = Csum.Unnecessary;
            st.rxCsumTrusted++;
          }
          if (h.gsoType !== VnetGso.NONE) {
            skb.gsoSize = h.gsoSize;
            st.rxSuperFrames++;
          }
          this.netifRx(skb);
          continue;
        }
        errno = this.#libc.errno();
      }
      if (errno === Errno.EINTR) continue;
      if (errno === Errno.EAGAIN) return true; // drained
      if (errno === Errno.EBADFD || errno === Errno.EBADF || errno === Errno.EIO) {
        this.#fail(new Error(`TAP "${this.name}": read failed: ${this.#libc.strerror(errno)}`));
        return false;
      }
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

/** An attached TAP fd and what was negotiated on it. */
interface Attached {
  fd: number;
  vnetHdr: boolean;
  offloads: number;
}

/** Open /dev/net/tun and TUNSETIFF, inside `options.netns` if given. */
function attach(libc: Libc, options: TapOptions): Attached {
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

function openTun(libc: Libc, options: TapOptions, where: string): Attached {
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
    // Offloads only where this tun driver knows IFF_VNET_HDR (TUNGETFEATURES).
    let vnetHdr = false;
    if (options.offload === true) {
      const features = new Uint8Array(4);
      vnetHdr = s.ioctl(fd, TUNGETFEATURES, features) === 0 &&
        (new DataView(features.buffer).getUint32(0, true) & IFF_VNET_HDR) !== 0;
    }
    const ifr = new Uint8Array(IFREQ_SIZE);
    ifr.set(new TextEncoder().encode(name));
    new DataView(ifr.buffer).setUint16(
      IFNAMSIZ,
      IFF_TAP | IFF_NO_PI | (create ? IFF_TUN_EXCL : 0) | (vnetHdr ? IFF_VNET_HDR : 0),
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
    const offloads = vnetHdr
      ? negotiateOffload((flags) => s.ioctlValue(fd, TUNSETOFFLOAD, flags) === 0)
      : 0;
    return { fd, vnetHdr, offloads };
  } catch (e) {
    s.close(fd);
    throw e;
  }
}
