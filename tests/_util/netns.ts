/**
 * Interop harness: a throw-away network namespace with the Linux kernel on
 * one side of a TAP and our {@link TapDevice} on the other.
 *
 * {@link withNetns} creates a uniquely named namespace (`netwasm-<pid>-<module id><n>`),
 * turns IPv6 off in it (so the kernel stays quiet: no router solicitations,
 * MLD or DAD), brings its loopback up, creates the TAP *inside* it (the
 * driver enters the namespace with `setns(2)` for the open, so the interface
 * never exists in the host namespace), gives the kernel side an address in
 * 192.0.2.0/24 and hands the test the opened device plus helpers to run
 * commands in the namespace, start servers, capture and check frames.
 * Everything it created is torn down in a `finally`, whatever the test does;
 * namespaces left behind by a crashed run of a process that no longer exists
 * are removed on the next run.
 *
 * Traffic stays inside the namespace: the only interfaces in it are its own
 * loopback and the TAP, whose other end is this process.
 *
 * Tests that need it are registered with {@link requireInterop}: skipped with
 * a printed reason where the machine can't do it (not root, no
 * `/dev/net/tun`, a tool missing), but failing when `CI=true`, where interop
 * is mandatory.
 *
 * @module
 */
import { TapDevice } from "../../src/link/tap.ts";
import type { Xmit } from "../../src/link/device.ts";
import { Arena } from "../../src/skb/arena.ts";
import { SkbAllocator } from "../../src/skb/skbuff.ts";
import { type Clock, RealClock } from "../../src/core/clock.ts";
import type { TestOptions } from "./test.ts";

/** Whether interop tests can run here, and if not, why. */
export type InteropStatus = { ok: true } | { ok: false; reason: string };

/** What an interop test needs besides Deno on Linux. */
export interface InteropNeeds {
  /** Commands that must be on PATH, e.g. `["tcpdump", "tshark"]`. */
  tools?: readonly string[];
  /**
   * Needs namespaces and TAPs (root, `/dev/net/tun`, `ip`, FFI); default
   * true. False for tests that only run tools, e.g. tshark on a pcap.
   */
  netns?: boolean;
}

/** Commands every namespace test needs. */
const BASE_TOOLS = ["ip"] as const;
const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/**
 * Check whether this process can run interop tests: Linux, Deno with FFI and
 * subprocess permissions, `CAP_NET_ADMIN` + `CAP_SYS_ADMIN` (root),
 * `/dev/net/tun`, `ip`, and any extra `tools` (e.g. `["tcpdump", "tshark"]`).
 *
 * @example
 * ```ts
 * import { interopAvailable } from "./netns.ts";
 * const s = interopAvailable({ tools: ["ping"] });
 * if (!s.ok) console.log(`interop unavailable: ${s.reason}`);
 * ```
 */
export function interopAvailable(options: InteropNeeds = {}): InteropStatus {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) return { ok: false, reason: "not running under Deno" };
  if (deno.build.os !== "linux") return { ok: false, reason: `${deno.build.os} is not Linux` };
  const netns = options.netns ?? true;
  for (const name of netns ? ["ffi", "run", "read", "write"] as const : ["run"] as const) {
    if (deno.permissions.querySync({ name }).state !== "granted") {
      return { ok: false, reason: `Deno permission --allow-${name} not granted` };
    }
  }
  const missingTools = (): InteropStatus => {
    const tools = [...(netns ? BASE_TOOLS : []), ...(options.tools ?? [])];
    const missing = tools.filter((t) => findInPath(t) === null);
    return missing.length === 0
      ? { ok: true }
      : { ok: false, reason: `missing command(s): ${missing.join(", ")} (run .ci/setup as root)` };
  };
  if (!netns) return missingTools();
  const caps = effectiveCapabilities();
  if (caps === null) return { ok: false, reason: "cannot read /proc/self/status" };
  if (!(caps & (1n << CAP_NET_ADMIN)) || !(caps & (1n << CAP_SYS_ADMIN))) {
    return { ok: false, reason: "not root (need CAP_NET_ADMIN and CAP_SYS_ADMIN)" };
  }
  try {
    if (!Deno.statSync("/dev/net/tun").isCharDevice) {
      return { ok: false, reason: "/dev/net/tun is not a character device" };
    }
  } catch {
    return { ok: false, reason: "/dev/net/tun does not exist (modprobe tun)" };
  }
  return missingTools();
}

/**
 * True when running in CI (`CI=true`), where interop tests must run.
 *
 * @example
 * ```ts
 * import { isCi } from "./netns.ts";
 * if (isCi()) console.log("interop is mandatory here");
 * ```
 */
export function isCi(): boolean {
  try {
    return Deno.env.get("CI") === "true";
  } catch {
    return false;
  }
}

/**
 * Test options for an interop test: skip it with a printed reason when
 * interop is unavailable, except under `CI=true`, where the test runs anyway
 * and fails at its first {@link withNetns} (or {@link assertInterop}) with
 * the reason.
 *
 * @example
 * ```ts
 * import { test } from "./test.ts";
 * import { requireInterop, withNetns } from "./netns.ts";
 * test("kernel pings", async () => {
 *   await withNetns(async (ns) => {
 *     await ns.exec(["ip", "-br", "link"], { check: true });
 *   });
 * }, requireInterop("kernel pings", { tools: ["ping"] }));
 * ```
 */
export function requireInterop(name: string, options: InteropNeeds = {}): TestOptions {
  const status = interopAvailable(options);
  if (status.ok) return {};
  if (isCi()) {
    console.log(`interop required in CI: "${name}" will fail: ${status.reason}`);
    return {};
  }
  return { ignore: true, reason: `interop unavailable: ${status.reason}` };
}

/**
 * Throw unless interop is available (with `tools`): the CI-side half of
 * {@link requireInterop} for tests that don't call {@link withNetns}.
 *
 * @example
 * ```ts
 * import { assertInterop } from "./netns.ts";
 * assertInterop({ tools: ["tshark"], netns: false }); // throws "interop unavailable: …"
 * ```
 */
export function assertInterop(options: InteropNeeds = {}): void {
  const status = interopAvailable(options);
  if (!status.ok) throw new Error(`interop unavailable: ${status.reason}`);
}

/** What a command run with {@link Netns.exec} did. */
export interface ExecResult {
  /** Exit code (-1 if killed by a signal). */
  readonly code: number;
  readonly success: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** True if it was killed for running past its timeout. */
  readonly timedOut: boolean;
}

/** Options for {@link Netns.exec}. */
export interface ExecOptions {
  /** Kill the command (SIGKILL) after this many ms (default 10 000). */
  timeout?: number;
  /** Bytes or text for standard input (default: none). */
  stdin?: Uint8Array | string;
  /** Throw, with stderr, unless the command exits 0 in time (default false). */
  check?: boolean;
}

/**
 * A background process inside the namespace. Its output is collected as it
 * arrives; {@link withNetns} kills it at the end if the test didn't.
 *
 * @example
 * ```ts
 * import { withNetns } from "./netns.ts";
 * await withNetns(async (ns) => {
 *   const server = ns.spawn(["socat", "-d", "-d", "-u", "UDP-RECV:9999", "STDOUT"]);
 *   await server.waitForOutput("starting data transfer loop", { stream: "stderr" });
 *   // … send a datagram through ns.tap …
 *   await server.waitUntil((p) => p.stdout.length > 0, { what: "a datagram" });
 *   await server.kill();
 * });
 * ```
 */
export class NsProcess {
  readonly command: readonly string[];
  #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  #stdoutBytes: Uint8Array[] = [];
  #listeners = new Set<() => void>();
  #exited = false;
  #done: Promise<Deno.CommandStatus>;

  /**
   * @internal use {@link Netns.spawn}. With `stdout: false` the caller reads
   * the child's stdout itself (and calls {@link NsProcess.poke} on progress).
   */
  constructor(
    command: readonly string[],
    child: Deno.ChildProcess,
    options: { stdout?: boolean } = {},
  ) {
    this.command = command;
    this.#child = child;
    const readers = Promise.all([
      options.stdout === false ? Promise.resolve() : this.#collect(child.stdout, (t, b) => {
        this.#stdout += t;
        this.#stdoutBytes.push(b);
      }),
      this.#collect(child.stderr, (t) => (this.#stderr += t)),
    ]);
    this.#done = Promise.all([child.status, readers]).then(([status]) => {
      this.#exited = true;
      this.#notify();
      return status;
    });
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid;
  }
  /** Standard output so far. */
  get stdout(): string {
    return this.#stdout;
  }
  /** Standard output so far, as bytes. */
  get stdoutBytes(): Uint8Array {
    const n = this.#stdoutBytes.reduce((a, b) => a + b.length, 0);
    const out = new Uint8Array(n);
    let at = 0;
    for (const b of this.#stdoutBytes) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }
  /** Standard error so far. */
  get stderr(): string {
    return this.#stderr;
  }
  /** Exit status, once the process has exited and its output is read. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#done;
  }

  /**
   * Resolve once `cond(this)` holds, re-checked whenever output arrives;
   * reject on timeout (default 5 s) or if the process exits first.
   */
  waitUntil(
    cond: (p: NsProcess) => boolean,
    options: { timeout?: number; what?: string } = {},
  ): Promise<void> {
    const timeout = options.timeout ?? 5000;
    const what = options.what ?? "the condition";
    const cmd = this.command.join(" ");
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        settle();
      };
      const check = () => {
        if (cond(this)) finish(resolve);
        else if (this.#exited) {
          finish(() => reject(new Error(`${cmd} exited before ${what}; stderr: ${this.#stderr}`)));
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`${cmd}: no ${what} within ${timeout} ms; stderr: ${this.#stderr}`))
          ),
        timeout,
      );
      this.#listeners.add(check);
      check();
    });
  }

  /**
   * Resolve once `pattern` appears in stdout or stderr (whichever `stream`
   * says, default both); reject on timeout (default 5 s) or if the process
   * exits first. Resolves with the text searched.
   */
  async waitForOutput(
    pattern: RegExp | string,
    options: { timeout?: number; stream?: "stdout" | "stderr" | "both" } = {},
  ): Promise<string> {
    const stream = options.stream ?? "both";
    const text = () =>
      stream === "stdout"
        ? this.#stdout
        : stream === "stderr"
        ? this.#stderr
        : `${this.#stdout}\n${this.#stderr}`;
    await this.waitUntil(
      () => typeof pattern === "string" ? text().includes(pattern) : pattern.test(text()),
      {
        what: `output matching ${pattern}`,
        ...(options.timeout ? { timeout: options.timeout } : {}),
      },
    );
    return text();
  }

  /**
   * Send `signal` (default SIGTERM) and wait for the exit; SIGKILL if it is
   * still running after `graceMs` (default 2000). Safe to call after exit.
   */
  async kill(signal: Deno.Signal = "SIGTERM", graceMs = 2000): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      try {
        this.#child.kill(signal);
      } catch { /* already exited */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), graceMs)));
      const first = await Promise.race([this.#done, grace]);
      clearTimeout(timer);
      if (first === "late") {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
      }
    }
    return await this.#done;
  }

  async #collect(
    stream: ReadableStream<Uint8Array>,
    sink: (text: string, bytes: Uint8Array) => void,
  ): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      sink(decoder.decode(chunk, { stream: true }), chunk);
      this.#notify();
    }
  }

  /** Re-check {@link NsProcess.waitUntil} conditions (state changed outside). */
  poke(): void {
    this.#notify();
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }
}

/** What the test gets from {@link withNetns}. */
export interface Netns {
  /** Namespace name (`ip netns exec <name> …`). */
  readonly name: string;
  /** Kernel-side interface name of the TAP (inside the namespace). */
  readonly dev: string;
  /** The kernel's address on the TAP, e.g. "192.0.2.1". */
  readonly kernelIp: string;
  /** With {@link NetnsOptions.ipv6}: the kernel's IPv6 address on the TAP, e.g. "2001:db8::1". */
  readonly kernelIp6: string | undefined;
  /** Prefix length of {@link Netns.kernelIp}. */
  readonly prefixLength: number;
  /**
   * Our side of the link. With {@link NetnsOptions.openTap} false there is
   * none (the TAP exists but nobody here holds it) and reading this throws.
   */
  readonly tap: TapDevice;
  readonly arena: Arena;
  readonly allocator: SkbAllocator;
  readonly clock: Clock;
  /** Path of the capture file while capturing (see {@link NetnsOptions.capture}). */
  readonly pcapPath: string | undefined;
  /** Run a command inside the namespace, bounded by a timeout. */
  exec(cmd: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Start a background command inside the namespace (killed at the end). */
  spawn(cmd: readonly string[]): NsProcess;
  /**
   * Wait (default 5 s) for a frame from the kernel for which `match` is true
   * and return a copy of it. Frames received before it that don't match are
   * discarded. Don't combine with a stack polling the same device.
   */
  receive(
    match: (frame: Uint8Array) => boolean,
    options?: { timeout?: number },
  ): Promise<Uint8Array>;
  /** Transmit a hand-built Ethernet frame through the TAP. */
  send(frame: Uint8Array): Xmit;
  /** Stop the capture (if any) and return the pcap path. Idempotent. */
  stopCapture(): Promise<string | undefined>;
  /**
   * Stop the capture and run {@link tsharkCheck} on it (once: later calls,
   * and the end-of-test check of `capture: "check"`, reuse the report).
   * Returns the report without judging it; throws if nothing was captured.
   */
  checkCapture(): Promise<CaptureReport>;
}

/** Options for {@link withNetns}. */
export interface NetnsOptions {
  /** Kernel side address with prefix (default "192.0.2.1/24"). */
  kernelAddress?: string;
  /** MTU on both sides (default 1500). */
  mtu?: number;
  /** Our MAC (default 02:00:00:00:00:01). */
  mac?: number;
  /** Allocator (and so arena) for the TAP; default a fresh one. */
  allocator?: SkbAllocator;
  /** Clock for the TAP; default a RealClock closed at the end. */
  clock?: Clock;
  /** Options passed to the TAP driver. */
  tap?: { rxBatch?: number; pollTimeoutMs?: number; txQueueLimit?: number; offload?: boolean };
  /**
   * Capture every frame on the kernel side with tcpdump into a pcap. With
   * `"check"`, the pcap is run through {@link tsharkCheck} after the test
   * body succeeds and any finding fails the test.
   */
  capture?: boolean | "check";
  /**
   * tcpdump's snapshot length (default: 4× the MTU): with TAP offloads,
   * 65,600 or more, so 64 KiB super-frames are captured whole.
   */
  captureSnaplen?: number;
  /** Keep the pcap (its path is printed) instead of deleting it. */
  keepPcap?: boolean;
  /**
   * Keep IPv6 on in the namespace (default false: IPv6 is disabled so the
   * link stays quiet). With true the kernel side also gets
   * {@link NetnsOptions.kernelAddress6} (without DAD), IPv6 forwarding is on
   * (so radvd may advertise a default route) and the kernel neither runs DAD
   * for its own addresses nor accepts router advertisements.
   */
  ipv6?: boolean;
  /** Kernel side IPv6 address with prefix (default "2001:db8::1/64"; with `ipv6`). */
  kernelAddress6?: string;
  /**
   * Open the TAP on our side (default true). With false the harness creates
   * a persistent TAP in the namespace with `ip tuntap add … mode tap`,
   * configures the kernel side the same way and leaves it unopened, for a
   * subprocess (e.g. the CLI) to attach to; `ns.tap` is then unavailable.
   */
  openTap?: boolean;
}

let counter = 0;
/**
 * Distinguishes this module instance: `deno test --parallel` runs test files
 * in workers of one process, so they share `Deno.pid` and each has its own
 * `counter`; without this two files would both create `netwasm-<pid>-1`.
 */
const instance = 100_000 + Math.floor(Math.random() * 900_000);

/**
 * Run `fn` with a fresh namespace whose kernel side is configured and whose
 * TAP is open on our side; always tears everything down.
 *
 * @example
 * ```ts
 * import { withNetns } from "./netns.ts";
 * await withNetns(async (ns) => {
 *   const r = await ns.exec(["ip", "-br", "addr"], { check: true });
 *   console.log(r.stdout); // ... 192.0.2.1/24
 * }, { capture: "check" });
 * ```
 */
export async function withNetns<T>(
  fn: (ns: Netns) => Promise<T>,
  options: NetnsOptions = {},
): Promise<T> {
  const wantTools = options.capture
    ? ["tcpdump", ...(options.capture === "check" ? ["tshark"] : [])]
    : [];
  assertInterop({ tools: wantTools });
  await removeStaleNamespaces();
  const n = ++counter;
  const name = `netwasm-${Deno.pid}-${instance}${n}`;
  const dev = `nwtap${n}`;
  const [kernelIp, prefix] = (options.kernelAddress ?? "192.0.2.1/24").split("/");
  const prefixLength = Number(prefix ?? 24);
  const mtu = options.mtu ?? 1500;
  const ownClock = options.clock === undefined ? new RealClock() : undefined;
  const clock = options.clock ?? ownClock!;
  const allocator = options.allocator ?? new SkbAllocator(new Arena());
  const processes: NsProcess[] = [];
  let tap: TapDevice | undefined;
  let capture: Capture | undefined;
  let pcapDir: string | undefined;
  let pcapPath: string | undefined;
  let checked: CaptureReport | undefined;
  let linkFrames: number | null = null;
  let nsCreated = false;
  const openTap = options.openTap ?? true;
  const ipv6 = options.ipv6 ?? false;
  const kernelAddress6 = options.kernelAddress6 ?? "2001:db8::1/64";

  const exec = (cmd: readonly string[], o: ExecOptions = {}) =>
    run(["ip", "netns", "exec", name, ...cmd], o);
  // Whether the TAP was opened with IFF_VNET_HDR (by us or a CLI subprocess):
  // then captured TCP/UDP checksums may be offload seeds (see tsharkCheck).
  const tunOffloaded = async (): Promise<boolean> => {
    const r = await exec(["cat", `/sys/class/net/${dev}/tun_flags`]);
    return r.success && (parseInt(r.stdout.trim(), 16) & 0x4000) !== 0;
  };
  const stopCapture = async (): Promise<string | undefined> => {
    if (capture !== undefined) {
      const c = capture;
      capture = undefined;
      linkFrames = await c.stop();
    }
    return pcapPath;
  };
  const checkCapture = async (): Promise<CaptureReport> => {
    await stopCapture();
    if (pcapPath === undefined) throw new Error("checkCapture: no capture (pass capture: true)");
    checked ??= {
      ...await tsharkCheck(pcapPath, { partialChecksums: await tunOffloaded() }),
      linkFrames,
    };
    return checked;
  };

  let keepPcap = options.keepPcap ?? false;
  let result: T;
  let failure: { error: unknown } | undefined;
  try {
    await run(["ip", "netns", "add", name], { check: true });
    nsCreated = true;
    // IPv6 off before the TAP exists, so it is born without it (quiet link),
    // unless the test wants IPv6: then no DAD and no RA processing on the kernel side.
    await exec(
      ipv6
        ? [
          "sysctl",
          "-qw",
          "net.ipv6.conf.all.accept_dad=0",
          "net.ipv6.conf.default.accept_dad=0",
          "net.ipv6.conf.all.forwarding=1",
          "net.ipv6.conf.default.accept_ra=0",
        ]
        : [
          "sysctl",
          "-qw",
          "net.ipv6.conf.all.disable_ipv6=1",
          "net.ipv6.conf.default.disable_ipv6=1",
        ],
      { check: true },
    );
    await exec(["ip", "link", "set", "lo", "up"], { check: true });
    if (openTap) {
      tap = await TapDevice.open({
        name: dev,
        allocator,
        clock,
        create: true,
        netns: name,
        mtu,
        ...(options.mac !== undefined ? { mac: options.mac } : {}),
        ...(options.tap ?? {}),
      });
    } else {
      // Persistent: it exists while nobody holds it, for a subprocess to
      // attach to. Deleted at teardown (and with the namespace anyway).
      await exec(["ip", "tuntap", "add", "dev", dev, "mode", "tap"], { check: true });
    }
    if (!ipv6) {
      await exec(["sysctl", "-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`], { check: true });
    }
    await exec(["ip", "link", "set", dev, "mtu", String(mtu), "up"], { check: true });
    await exec(["ip", "addr", "add", `${kernelIp}/${prefixLength}`, "dev", dev], { check: true });
    if (ipv6) {
      // The kernel announces its groups (MLDv2) when the link comes up: make the
      // repeats quick, then wait for the link to fall quiet, so the capture
      // below starts on a silent link and counts exactly what it sees.
      await exec(["sysctl", "-qw", `net.ipv6.conf.${dev}.mldv2_unsolicited_report_interval=10`], {
        check: true,
      });
      await exec(["ip", "-6", "addr", "add", kernelAddress6, "dev", dev, "nodad"], { check: true });
      await waitLinkQuiet(name, dev);
    }
    if (options.capture) {
      pcapDir = await Deno.makeTempDir({ prefix: "netwasm-pcap-" });
      pcapPath = `${pcapDir}/${name}.pcap`;
      capture = await Capture.start(name, dev, pcapPath, mtu, options.captureSnaplen);
    }
    const ns: Netns = {
      name,
      dev,
      kernelIp: kernelIp!,
      kernelIp6: ipv6 ? kernelAddress6.split("/")[0] : undefined,
      prefixLength,
      get tap(): TapDevice {
        if (tap === undefined) throw new Error("ns.tap: the TAP was not opened (openTap: false)");
        return tap;
      },
      arena: allocator.arena,
      allocator,
      clock,
      get pcapPath() {
        return pcapPath;
      },
      exec,
      spawn(cmd) {
        const p = new NsProcess(
          cmd,
          new Deno.Command("ip", {
            args: ["netns", "exec", name, ...cmd],
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).spawn(),
        );
        processes.push(p);
        return p;
      },
      receive: (match, o = {}) => receive(ns.tap, match, o.timeout ?? 5000),
      send(frame) {
        const dev = ns.tap;
        const skb = allocator.alloc(frame.length);
        if (skb === null) throw new Error("arena exhausted");
        skb.append(frame);
        return dev.transmit(skb);
      },
      stopCapture,
      checkCapture,
    };
    result = await fn(ns);
    await stopCapture();
    if (options.capture === "check" && pcapPath !== undefined) {
      const report = await checkCapture();
      if (report.findings.length > 0) {
        keepPcap = true; // for the developer to look at
        throw new Error(
          `tshark found ${report.findings.length} bad frame(s) of ${report.frames} in ${pcapPath}:\n${
            report.findings.join("\n")
          }`,
        );
      }
    }
  } catch (error) {
    failure = { error };
  }
  // Teardown runs whatever happened; each step is attempted even if one fails.
  const errors: unknown[] = [];
  const attempt = async (f: () => unknown) => {
    try {
      await f();
    } catch (e) {
      errors.push(e);
    }
  };
  for (const p of processes) await attempt(() => p.kill("SIGKILL"));
  await attempt(stopCapture);
  if (tap !== undefined) await attempt(() => tap!.close());
  if (nsCreated && !openTap) {
    // Explicitly, although a TAP is deleted with its namespace anyway.
    await attempt(() => exec(["ip", "link", "del", dev]));
  }
  await attempt(() => run(["ip", "netns", "del", name], { check: nsCreated }));
  ownClock?.close();
  if (pcapDir !== undefined) {
    if (keepPcap) console.log(`pcap kept: ${pcapPath}`);
    else await attempt(() => Deno.remove(pcapDir!, { recursive: true }));
  }
  if (failure !== undefined) {
    if (errors.length > 0) console.error(`netns ${name} cleanup also failed:`, ...errors);
    throw failure.error;
  }
  if (errors.length > 0) throw new AggregateError(errors, `netns ${name}: cleanup failed`);
  return result!;
}

/**
 * tcpdump on the kernel side of the TAP, writing the pcap file itself: a
 * test process busy with a fast transfer (a relay, a stack) cannot back up
 * a pipe and make the kernel drop frames from tcpdump's ring. {@link
 * Capture.stop} first waits until the file holds as many frames as the
 * interface counters say went through (bounded), so the last frames of a
 * test can't be lost to the race between stopping tcpdump and its reading
 * of the packet ring.
 */
class Capture {
  #proc: NsProcess;
  #path: string;
  #startCount = 0;

  private constructor(
    readonly netns: string,
    readonly dev: string,
    proc: NsProcess,
    path: string,
  ) {
    this.#proc = proc;
    this.#path = path;
  }

  /**
   * Start tcpdump in `netns` on `dev` (link MTU `mtu`), writing `path`;
   * resolves once it is capturing.
   */
  static async start(
    netns: string,
    dev: string,
    path: string,
    mtu = 1500,
    snaplen = Math.max(mtu, 1500) * 4 + 18,
  ): Promise<Capture> {
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        netns,
        "tcpdump",
        // Hand each frame to tcpdump as it arrives, not per packet-ring block.
        "--immediate-mode",
        // Immediate mode uses fixed ring slots sized by the snapshot length:
        // with the default (262144) a 2 MiB ring holds 8 frames and a burst
        // of fragments overflows it ("N packets dropped by kernel"). Whole
        // frames (a kernel MTU up to 4× ours, plus Ethernet and VLAN
        // headers) in a 64 MiB ring: about ten thousand slots.
        // (With TAP offloads, frames are up to 64 KiB: the caller passes a
        // larger snapshot length and the ring grows to keep ~1000 slots.)
        "-s",
        String(snaplen),
        "-B",
        String(Math.max(65536, Math.ceil(snaplen * 1000 / 1024))),
        "-Z",
        "root",
        "-n",
        "-i",
        dev,
        // Flush each frame to the file, so stop() can count what is there.
        "-U",
        "-w",
        path,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const proc = new NsProcess(["tcpdump"], child, { stdout: false });
    const capture = new Capture(netns, dev, proc, path);
    try {
      await proc.waitForOutput("listening on", { stream: "stderr" });
    } catch (e) {
      await capture.stop();
      throw e;
    }
    // Count from here: a frame that crossed the link before tcpdump was
    // listening (the kernel's own IPv6 announcements, say) was counted but
    // never captured, and made the capture look short. Frames captured
    // before this reading are extra, and are checked like the rest.
    capture.#startCount = (await linkPackets(netns, dev)) ?? 0;
    return capture;
  }

  /**
   * Wait (up to `timeout` ms) until the file holds every frame the link
   * counters report since the start, then stop tcpdump. Returns that count
   * (null if the counters were unreadable).
   */
  async stop(timeout = 10_000): Promise<number | null> {
    const now = await linkPackets(this.netns, this.dev);
    let expected: number | null = null;
    if (now !== null) {
      expected = now - this.#startCount;
      // Polled: tcpdump flushes every frame (-U), and the file is its only
      // output. The file holds what it holds after the timeout; tshark checks that.
      const deadline = performance.now() + timeout;
      while (performance.now() < deadline) {
        const n = await countPcapFrames(this.#path).catch(() => null);
        if (n !== null && n >= expected) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // SIGINT makes tcpdump flush and exit cleanly.
    await this.#proc.kill("SIGINT");
    await this.#proc.status;
    return expected;
  }
}

/**
 * Poll the link counters until they stay unchanged for three polls 150 ms
 * apart (the kernel has finished announcing itself); gives up silently after
 * 5 s (a busy link then shows up as a capture count mismatch, not a hang).
 */
async function waitLinkQuiet(netns: string, dev: string): Promise<void> {
  const deadline = performance.now() + 5000;
  let last = await linkPackets(netns, dev);
  let still = 0;
  while (still < 3 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 150));
    const now = await linkPackets(netns, dev);
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/** rx + tx packet counters of `dev` in `netns`, or null if unreadable. */
async function linkPackets(netns: string, dev: string): Promise<number | null> {
  const r = await run([
    "ip",
    "netns",
    "exec",
    netns,
    "cat",
    `/sys/class/net/${dev}/statistics/rx_packets`,
    `/sys/class/net/${dev}/statistics/tx_packets`,
  ], { timeout: 5000 });
  if (!r.success) return null;
  return r.stdout.trim().split(/\s+/).reduce((a, n) => a + Number(n), 0);
}

/** {@link Netns.checkCapture}'s report: tshark's, plus what the link counted. */
export interface CaptureReport extends TsharkReport {
  /**
   * Frames the TAP's kernel-side counters (rx + tx packets) saw while the
   * capture ran, or null if unreadable: `frames` below it means tcpdump
   * missed some, and they went unchecked.
   */
  readonly linkFrames: number | null;
}

/** One frame flagged by {@link tsharkCheck}. */
export interface TsharkReport {
  /** Frames in the capture. */
  readonly frames: number;
  /** One line per bad frame: number, protocol, info, expert messages. */
  readonly findings: readonly string[];
  /**
   * With `partialChecksums`: frames whose TCP/UDP checksum field held
   * exactly the pseudo-header seed of an offloaded (`CHECKSUM_PARTIAL`)
   * packet, accepted rather than reported; 0 otherwise.
   */
  readonly partialChecksums?: number;
}

/**
 * The tshark display filter that fails a capture: bad IP/TCP/UDP/ICMP checksums,
 * malformed packets, expert infos of severity Error. (Field names checked
 * with `tshark -G fields` on tshark 4.0.)
 */
export const TSHARK_BAD_FRAME_FILTER =
  'ip.checksum.status=="Bad" || tcp.checksum.status=="Bad" || udp.checksum.status=="Bad" || ' +
  'icmp.checksum.status=="Bad" || _ws.malformed || _ws.expert.severity >= "Error"';

/** tshark preferences that turn checksum validation on (off by default). */
export const TSHARK_CHECKSUM_PREFS = [
  "-o",
  "ip.check_checksum:TRUE",
  "-o",
  "tcp.check_checksum:TRUE",
  "-o",
  "udp.check_checksum:TRUE",
] as const;

/**
 * Dissect `pcapPath` with tshark and list the frames that fail the §6 row-8
 * filter (empty = wire-valid), with the number of frames checked.
 *
 * @example
 * ```ts
 * import { tsharkCheck } from "./netns.ts";
 * const r = await tsharkCheck("/tmp/run.pcap");
 * if (r.findings.length > 0) throw new Error(r.findings.join("\n"));
 * ```
 */
export async function tsharkCheck(
  pcapPath: string,
  options: { timeout?: number; partialChecksums?: boolean } = {},
): Promise<TsharkReport> {
  let frames = await countPcapFrames(pcapPath);
  // A hang guard, not a timing assertion: tshark dissects some 10^4 frames a
  // second alone, and took 199 s for a 64 MiB transfer's ~70,000 frames with
  // seven agents on two cores, so big captures get 6 ms per frame.
  const timeout = options.timeout ?? 60_000 + 6 * (frames ?? 100_000);
  if (frames === null) {
    const count = await run(
      ["tshark", "-n", "-r", pcapPath, "-T", "fields", "-e", "frame.number"],
      { timeout, check: true },
    );
    frames = count.stdout.split("\n").filter((l) => l.trim() !== "").length;
  }
  if (options.partialChecksums) return await tsharkCheckPartial(pcapPath, frames, timeout);
  const bad = await run([
    "tshark",
    "-n",
    "-r",
    pcapPath,
    ...TSHARK_CHECKSUM_PREFS,
    "-Y",
    TSHARK_BAD_FRAME_FILTER,
    "-T",
    "fields",
    "-E",
    "separator=|",
    "-e",
    "frame.number",
    "-e",
    "_ws.col.Protocol",
    "-e",
    "_ws.col.Info",
    "-e",
    "_ws.expert.message",
  ], { timeout, check: true });
  const findings = bad.stdout.split("\n").filter((l) => l.trim() !== "");
  return { frames, findings };
}

/**
 * {@link tsharkCheck} for a capture taken on a TAP with checksum offload
 * (`IFF_VNET_HDR`): tcpdump sees offloaded TCP/UDP packets before anyone
 * filled in their checksum, whose field then holds the pseudo-header seed
 * (Linux `CHECKSUM_PARTIAL`: the folded, uncomplemented sum of addresses,
 * protocol and length). Two passes: every §6 row-8 check except the TCP and
 * UDP checksums (IPv4 header checksums stay checked); then the frames with
 * a bad TCP/UDP checksum, each accepted only if its field equals the seed
 * computed from its own headers (a wrong checksum matches it with
 * probability 2^-16), otherwise reported.
 */
async function tsharkCheckPartial(
  pcapPath: string,
  frames: number,
  timeout: number,
): Promise<TsharkReport> {
  const fields = (extra: string[]) => ["-T", "fields", "-E", "separator=|", ...extra];
  const other = await run([
    "tshark",
    "-n",
    "-r",
    pcapPath,
    "-o",
    "ip.check_checksum:TRUE",
    "-Y",
    '_ws.malformed || ip.checksum.status=="Bad" || icmp.checksum.status=="Bad" || ' +
    '_ws.expert.severity >= "Error"',
    ...fields([
      "-e",
      "frame.number",
      "-e",
      "_ws.col.Protocol",
      "-e",
      "_ws.col.Info",
      "-e",
      "_ws.expert.message",
    ]),
  ], { timeout, check: true });
  const findings = other.stdout.split("\n").filter((l) => l.trim() !== "");
  const l4 = await run([
    "tshark",
    "-n",
    "-r",
    pcapPath,
    ...TSHARK_CHECKSUM_PREFS,
    "-Y",
    'tcp.checksum.status=="Bad" || udp.checksum.status=="Bad"',
    ...fields([
      "-e",
      "frame.number",
      "-e",
      "ip.src",
      "-e",
      "ip.dst",
      "-e",
      "ip.len",
      "-e",
      "ip.hdr_len",
      "-e",
      "ip.proto",
      "-e",
      "ipv6.src",
      "-e",
      "ipv6.dst",
      "-e",
      "ipv6.plen",
      "-e",
      "ipv6.nxt",
      "-e",
      "tcp.checksum",
      "-e",
      "udp.checksum",
      "-e",
      "_ws.col.Info",
    ]),
  ], { timeout, check: true });
  let partial = 0;
  for (const line of l4.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const [no, src, dst, len, hlen, proto, src6, dst6, plen, nxt, tcpSum, udpSum, info] = line
      .split("|");
    const field = parseInt((tcpSum || udpSum || "").split(",")[0]!, 16);
    let sum = 0;
    const add16 = (v: number) => (sum += v);
    if (src && dst) {
      for (const a of [src, dst]) {
        const o = a.split(".").map(Number);
        add16((o[0]! << 8) | o[1]!);
        add16((o[2]! << 8) | o[3]!);
      }
      add16(Number(proto?.split(",")[0]) || 0);
      add16(Number(len) - Number(hlen));
    } else if (src6 && dst6) {
      for (const a of [src6, dst6]) for (const w of expandIpv6(a)) add16(w);
      add16(Number(plen) || 0);
      add16(Number(nxt?.split(",")[0]) || 0);
    }
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    if (Number.isFinite(field) && field === sum) partial++;
    else {findings.push(
        `${no}|checksum ${tcpSum || udpSum} is neither valid nor the seed ${
          sum.toString(16)
        }|${info}`,
      );}
  }
  return { frames, findings, partialChecksums: partial };
}

/** The eight 16-bit words of an IPv6 address in text form. */
function expandIpv6(text: string): number[] {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":").filter((x) => x !== "") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return words.map((w) => parseInt(w, 16) || 0);
}

/**
 * Frames in a classic pcap file (either byte order, µs or ns timestamps), read
 * without starting tshark; null for pcapng or anything else.
 *
 * @example
 * ```ts
 * import { countPcapFrames } from "./netns.ts";
 * console.log(await countPcapFrames("/tmp/run.pcap")); // e.g. 8
 * ```
 */
export async function countPcapFrames(pcapPath: string): Promise<number | null> {
  const bytes = await Deno.readFile(pcapPath);
  if (bytes.length < 24) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = v.getUint32(0, true);
  let little: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = false;
  else return null;
  let frames = 0;
  for (let at = 24; at + 16 <= bytes.length; frames++) {
    at += 16 + v.getUint32(at + 8, little);
    if (at > bytes.length) return null; // truncated record
  }
  return frames;
}

/**
 * Run a command (outside any namespace), bounded by a timeout (default 10 s,
 * then SIGKILL), capturing its output.
 *
 * @example
 * ```ts
 * import { run } from "./netns.ts";
 * const r = await run(["tshark", "--version"], { timeout: 5000 });
 * console.log(r.success, r.stdout.split("\n")[0]);
 * ```
 */
export async function run(cmd: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const timeout = options.timeout ?? 10_000;
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    const data = typeof options.stdin === "string"
      ? new TextEncoder().encode(options.stdin)
      : options.stdin;
    try {
      await w.write(data);
      await w.close();
    } catch { /* the command exited without reading */ }
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, timeout);
  let out: Deno.CommandOutput;
  try {
    out = await child.output();
  } finally {
    clearTimeout(timer);
  }
  const result: ExecResult = {
    code: out.signal === null ? out.code : -1,
    success: out.success && !timedOut,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    timedOut,
  };
  if (options.check && !result.success) {
    throw new Error(
      `\`${cmd.join(" ")}\` ${
        timedOut ? `timed out after ${timeout} ms` : `exited ${result.code}`
      }: ${result.stderr.trim()}`,
    );
  }
  return result;
}

/** Wait for a matching received frame; discard the ones before it. */
function receive(
  tap: TapDevice,
  match: (frame: Uint8Array) => boolean,
  timeout: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      tap.setRxNotify(null);
      settle();
    };
    const drain = () => {
      for (let skb = tap.rxQueue.shift(); skb !== null; skb = tap.rxQueue.shift()) {
        const frame = skb.bytes().slice();
        skb.free();
        if (match(frame)) {
          finish(() => resolve(frame));
          return;
        }
      }
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no matching frame within ${timeout} ms`))),
      timeout,
    );
    // setRxNotify calls drain at once if frames are already queued.
    tap.setRxNotify(drain);
  });
}

/** CapEff from /proc/self/status, or null. */
function effectiveCapabilities(): bigint | null {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    return m ? BigInt(`0x${m[1]}`) : null;
  } catch {
    return null;
  }
}

function findInPath(cmd: string): string | null {
  const path = Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin";
  for (const dir of path.split(":")) {
    try {
      const p = `${dir}/${cmd}`;
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return null;
}

/** Delete `netwasm-<pid>-<n>` namespaces whose process is gone (a crashed run). */
async function removeStaleNamespaces(): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/run/netns")];
  } catch {
    return;
  }
  for (const e of entries) {
    const m = /^netwasm-(\d+)-\d+$/.exec(e.name);
    if (m === null || Number(m[1]) === Deno.pid) continue;
    try {
      Deno.statSync(`/proc/${m[1]}`);
    } catch {
      await run(["ip", "netns", "del", e.name]);
    }
  }
}
