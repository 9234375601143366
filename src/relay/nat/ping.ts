/**
 * ICMP echo for the NAT relay through Linux "ping sockets" (`socket(AF_INET,
 * SOCK_DGRAM, IPPROTO_ICMP)`, what unprivileged ping(8) uses), opened with
 * Deno FFI since Deno has no ICMP API. They need `--allow-ffi` and the
 * relay's group inside `net.ipv4.ping_group_range`; where either is missing
 * {@link PingSockets.open} returns null with the reason, and the gateway
 * refuses echo requests instead (admin-prohibited).
 *
 * One socket per request: the kernel picks its echo identifier and routes
 * the reply to it, so requests of different pages never mix.
 *
 * @module
 */
import type { Clock } from "../../core/clock.ts";
import type { Ipv4Address } from "../../wire/addr.ts";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const IPPROTO_ICMP = 1;
const MSG_DONTWAIT = 0x40;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** What an echo got back. */
export interface EchoReply {
  /** The data of the reply (after the 8-byte ICMP header). */
  readonly data: Uint8Array;
}

/**
 * Ping sockets through libc.
 *
 * @example
 * ```ts
 * import { PingSockets } from "./ping.ts";
 * const opened = PingSockets.open();
 * if ("reason" in opened) console.log(`no ICMP: ${opened.reason}`);
 * ```
 */
export class PingSockets {
  readonly #lib: Deno.DynamicLibrary<typeof SYMBOLS>;

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>) {
    this.#lib = lib;
  }

  /** Load libc and check that a ping socket can be opened here. */
  static open(): PingSockets | { reason: string } {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen("libc.so.6", SYMBOLS);
    } catch (e) {
      return { reason: `cannot load libc (needs --allow-ffi): ${(e as Error).message}` };
    }
    const p = new PingSockets(lib);
    const fd = p.#socket();
    if (fd < 0) {
      lib.close();
      return {
        reason:
          `ping sockets are not permitted (errno ${-fd}; net.ipv4.ping_group_range must include the relay's group)`,
      };
    }
    lib.symbols.close(fd);
    return p;
  }

  /**
   * Send one echo request with `data` to `dst` and wait up to `timeoutMs`
   * (on `clock`) for the reply; null on timeout or error.
   */
  async echo(
    clock: Clock,
    dst: Ipv4Address,
    seq: number,
    data: Uint8Array,
    timeoutMs: number,
  ): Promise<EchoReply | null> {
    const s = this.#lib.symbols;
    const fd = this.#socket();
    if (fd < 0) return null;
    try {
      const msg = new Uint8Array(8 + data.length);
      msg[0] = 8; // echo request; the kernel sets the identifier and checksum
      msg[6] = seq >> 8;
      msg[7] = seq & 0xff;
      msg.set(data, 8);
      const sa = new Uint8Array(16);
      sa[0] = AF_INET; // sin_family, little-endian u16
      sa[4] = dst >>> 24;
      sa[5] = (dst >>> 16) & 0xff;
      sa[6] = (dst >>> 8) & 0xff;
      sa[7] = dst & 0xff;
      if (s.sendto(fd, msg, BigInt(msg.length), 0, sa, 16) < 0) return null;
      const buf = new Uint8Array(65536);
      const deadline = clock.now() + timeoutMs;
      while (clock.now() < deadline) {
        const n = s.recv(fd, buf, BigInt(buf.length), MSG_DONTWAIT);
        if (n >= 8 && buf[0] === 0 && ((buf[6]! << 8) | buf[7]!) === seq) {
          return { data: buf.slice(8, n) };
        }
        if (n < 0 && this.#errno() !== 11) return null; // not EAGAIN
        await new Promise<void>((r) => clock.setTimer(5, r));
      }
      return null;
    } finally {
      s.close(fd);
    }
  }

  /** Unload libc. */
  close(): void {
    this.#lib.close();
  }

  #socket(): number {
    const fd = this.#lib.symbols.socket(
      AF_INET,
      SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
      IPPROTO_ICMP,
    );
    return fd < 0 ? -this.#errno() : fd;
  }

  #errno(): number {
    const p = this.#lib.symbols.__errno_location();
    return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
  }
}
