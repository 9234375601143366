/**
 * Capture and tshark check (an independent dissector) for the TCP interop
 * tests, with three adjustments the harness's `capture: "check"` lacks, all
 * needed for fast TCP transfers:
 *
 * 0. **tcpdump writes the file itself**, with a 64 MiB ring, instead of
 *    streaming through this process: at TCP speeds (up to ~1 Gbit/s on the
 *    TAP) the pipe to a busy test process backs up, the kernel's capture
 *    ring overflows and frames go unchecked. The capture is stopped only
 *    once the file holds as many frames as the TAP's counters saw, and
 *    tcpdump's own "dropped by kernel" count must be 0.
 * 1. **Linux's `CSUM_MANGLED_0`.** When a TCP checksum computes to 0x0000,
 *    Linux's software checksum path (`skb_checksum_help`) writes 0xFFFF —
 *    the same value in one's complement, accepted by every receiver (RFC
 *    1624 §3) — and Wireshark flags it as an Error ("TCP Checksum 0xffff
 *    instead of 0x0000"). About one frame in 65 536 from the kernel; a
 *    256 MiB transfer has a few. Those frames, and only frames from the
 *    kernel's address (IPv4 or IPv6), are counted separately instead of
 *    failing the test.
 * 2. **Bulk ports decoded as plain data, no reassembly.** Reassembling a
 *    256 MiB HTTP body takes tshark minutes, and random payload trips
 *    heuristic dissectors (false "malformed"). For `rawPorts` every segment
 *    is still checked on its own: IP and TCP checksums, malformed headers
 *    and options, TCP expert errors.
 *
 * @module
 */
import * as assert from "uvu/assert";
import {
  countPcapFrames,
  type Netns,
  run,
  TSHARK_BAD_FRAME_FILTER,
  TSHARK_CHECKSUM_PREFS,
} from "../_util/netns.ts";
import { KERNEL_IP } from "./_stack.ts";

/** The kernel's IPv6 address on the TAP (the harness default with `ipv6: true`). */
const KERNEL_IP6 = "2001:db8::1";

/** What {@link tcpWireCheck} found. */
export interface TcpWireReport {
  /** Frames in the capture. */
  readonly frames: number;
  /** Frames the TAP's counters saw while capturing (null: unreadable). */
  readonly linkFrames: number | null;
  /** tcpdump's "packets dropped by kernel" (null: not printed). */
  readonly dropped: number | null;
  /** Frames from the kernel carrying checksum 0xFFFF for 0x0000 (not findings). */
  readonly mangledZero: number;
  /** Every other flagged frame: number | protocol | info | expert messages. */
  readonly findings: readonly string[];
}

/** rx + tx packets of the namespace's TAP so far (null if unreadable). */
export async function linkCounters(ns: Netns): Promise<number | null> {
  const r = await ns.exec([
    "cat",
    `/sys/class/net/${ns.dev}/statistics/rx_packets`,
    `/sys/class/net/${ns.dev}/statistics/tx_packets`,
  ]);
  if (!r.success) return null;
  return r.stdout.trim().split(/\s+/).reduce((a, n) => a + Number(n), 0);
}

/** A running capture of the namespace's TAP (see {@link startTcpCapture}). */
export interface TcpCapture {
  /** The pcap file. */
  readonly path: string;
  /**
   * Wait (bounded) until the file holds every frame the TAP counted, stop
   * tcpdump, and return the counts. Idempotent.
   */
  stop(): Promise<{ frames: number; linkFrames: number | null; dropped: number | null }>;
}

/**
 * Start tcpdump on the TAP (kernel side) writing a pcap in a new temporary
 * directory directly, whole frames, 64 MiB of ring; resolves once it is
 * capturing. {@link tcpWireCheck} deletes the file when it is clean.
 */
export async function startTcpCapture(ns: Netns): Promise<TcpCapture> {
  const dir = await Deno.makeTempDir({ prefix: "netwasm-tcp-pcap-" });
  const path = `${dir}/tcp.pcap`;
  const proc = ns.spawn([
    "tcpdump",
    "-n",
    "-i",
    ns.dev,
    "-s",
    "0",
    "-B",
    "65536",
    "-U",
    "-Z",
    "root",
    "-w",
    path,
  ]);
  await proc.waitForOutput("listening on", { stream: "stderr", timeout: 10_000 });
  // Count from the moment tcpdump listens: earlier frames are not in the file.
  const linkStart = await linkCounters(ns);
  let result: Awaited<ReturnType<TcpCapture["stop"]>> | undefined;
  return {
    path,
    async stop() {
      if (result !== undefined) return result;
      const linkEnd = await linkCounters(ns);
      const want = linkStart === null || linkEnd === null ? null : linkEnd - linkStart;
      // -U flushes per packet; frames reach tcpdump within its block timeout.
      const deadline = performance.now() + 10_000;
      while (want !== null && performance.now() < deadline) {
        if (((await countPcapFrames(path).catch(() => null)) ?? 0) >= want) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await proc.kill("SIGINT", 5000);
      const frames = await countPcapFrames(path);
      if (frames === null) throw new Error(`${path} is not a classic pcap`);
      const m = /(\d+) packets? dropped by kernel/.exec(proc.stderr);
      result = { frames, linkFrames: want, dropped: m ? Number(m[1]) : null };
      return result;
    },
  };
}

/** Stop `capture` and check every frame with tshark. */
export async function tcpWireCheck(
  capture: TcpCapture,
  o: { rawPorts?: readonly number[]; timeout?: number } = {},
): Promise<TcpWireReport> {
  const { frames, linkFrames, dropped } = await capture.stop();
  const path = capture.path;
  const raw = o.rawPorts ?? [];
  const timeout = o.timeout ?? 120_000;
  const flagged = await run([
    "tshark",
    "-n",
    "-r",
    path,
    ...TSHARK_CHECKSUM_PREFS,
    ...(raw.length > 0 ? ["-o", "tcp.desegment_tcp_streams:FALSE"] : []),
    ...raw.flatMap((p) => ["-d", `tcp.port==${p},data`]),
    "-Y",
    TSHARK_BAD_FRAME_FILTER,
    "-T",
    "fields",
    "-E",
    "separator=|",
    "-e",
    "frame.number",
    "-e",
    "ip.src",
    "-e",
    "ipv6.src",
    "-e",
    "tcp.checksum",
    "-e",
    "_ws.malformed",
    "-e",
    "ip.checksum.status",
    "-e",
    "_ws.col.Protocol",
    "-e",
    "_ws.col.Info",
    "-e",
    "_ws.expert.message",
  ], { timeout, check: true });
  let mangledZero = 0;
  const findings: string[] = [];
  for (const line of flagged.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const [num, src4, src6, csum, malformed, ipStatus, proto, info, expert] = line.split("|");
    const src = src4 || src6;
    const onlyFfff = (src === KERNEL_IP || src === KERNEL_IP6) && csum === "0xffff" &&
      malformed === "" &&
      ipStatus !== "0" && /0xffff instead of 0x0000/.test(expert ?? "");
    if (onlyFfff) mangledZero++;
    else findings.push([num, proto, info, expert].join("|").slice(0, 400));
  }
  const report = { frames, linkFrames, dropped, mangledZero, findings };
  const clean = findings.length === 0 && (dropped ?? 0) === 0 &&
    (linkFrames === null || frames >= linkFrames);
  if (clean) await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  else console.log(`pcap kept: ${path}`);
  return report;
}

/**
 * {@link tcpWireCheck} and assert: every frame that crossed the link is in
 * the pcap, zero findings. Returns the report for the figure line.
 */
export async function assertTcpWireClean(
  capture: TcpCapture,
  o: { rawPorts?: readonly number[] } = {},
): Promise<TcpWireReport> {
  const r = await tcpWireCheck(capture, o);
  assert.ok(r.frames > 0, "nothing was captured");
  assert.ok(r.dropped === 0 || r.dropped === null, `tcpdump: ${r.dropped} dropped by kernel`);
  if (r.linkFrames !== null) {
    assert.ok(
      r.frames >= r.linkFrames,
      `tcpdump wrote ${r.frames} frames but the TAP counted ${r.linkFrames}`,
    );
  }
  assert.equal(r.findings, [], `tshark findings in ${capture.path}`);
  return r;
}

/** "tshark N frames, 0 findings[, k × Linux 0xFFFF checksum]" for a figure line. */
export function wireFigure(r: TcpWireReport): string {
  const ffff = r.mangledZero > 0
    ? ` (+${r.mangledZero} Linux frame${
      r.mangledZero === 1 ? "" : "s"
    } with checksum 0xFFFF for 0x0000)`
    : "";
  return `tshark ${r.frames} frames, ${r.findings.length} findings${ffff}`;
}

/** `sha256sum FILE` → hex. */
export async function sha256File(path: string): Promise<string> {
  const r = await run(["sha256sum", path], { timeout: 120_000, check: true });
  return r.stdout.split(/\s+/)[0]!;
}

/** Write `mib` MiB of random bytes to `path` (head -c from /dev/urandom). */
export async function randomFile(path: string, bytes: number): Promise<void> {
  await run(["sh", "-c", `head -c ${bytes} /dev/urandom > '${path}'`], {
    timeout: 120_000,
    check: true,
  });
}
