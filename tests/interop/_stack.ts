/**
 * Shared pieces of the interop suite: a {@link Stack} attached to the
 * harness's TAP (our side 192.0.2.2/24, the kernel 192.0.2.1/24), parsing of
 * iputils `ping` output, the kernel's `/proc/net/snmp` counters and the
 * one-line figure each test prints.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { type CaptureReport, type Netns, type NetnsOptions, withNetns } from "../_util/netns.ts";
import { type InterfaceConfig, Stack, type StackOptions } from "../../src/api/stack.ts";
import { RealClock } from "../../src/core/clock.ts";
import type { Iface } from "../../src/ipv4/iface.ts";

/** Our address on the TAP. */
export const OUR_IP = "192.0.2.2";
/** The kernel's address on the TAP (the harness default). */
export const KERNEL_IP = "192.0.2.1";
/** Our MAC (locally administered). */
export const OUR_MAC = 0x02_00_5e_10_00_02;

/** Tools every test here needs besides `ip`. */
export const CAPTURE_TOOLS = ["tcpdump", "tshark"] as const;

/** Options for {@link withStack}. */
export interface WithStackOptions {
  /** Stack options (the clock is always a real one: the TAP delivers real frames). */
  stack?: Omit<StackOptions, "clock" | "arena">;
  /** Default gateway for our interface (e.g. the kernel, to reach 198.51.100.0/24). */
  gateway?: string;
  /** Harness options (capture defaults to "check"). */
  netns?: Omit<NetnsOptions, "allocator" | "clock">;
  /** More interface configuration (IPv6: `ip6`, `slaac`, …). */
  iface?: Partial<InterfaceConfig>;
}

/**
 * Run `fn` with a fresh namespace and a Stack whose interface is the
 * harness's TapDevice (192.0.2.2/24, real clock). The stack is closed
 * afterwards and must have returned every arena buffer. The capture is
 * checked by tshark (zero findings) unless `netns.capture` says otherwise.
 */
export async function withStack<T>(
  fn: (ns: Netns, stack: Stack, iface: Iface) => Promise<T>,
  options: WithStackOptions = {},
): Promise<T> {
  const clock = new RealClock();
  const stack = new Stack({ ...options.stack, clock });
  let result: T;
  try {
    result = await withNetns(async (ns) => {
      const iface = stack.addInterface(ns.tap, {
        address: `${OUR_IP}/24`,
        ...(options.gateway !== undefined ? { gateway: options.gateway } : {}),
        ...options.iface,
      });
      return await fn(ns, stack, iface);
    }, {
      capture: "check",
      mac: OUR_MAC,
      ...options.netns,
      allocator: stack.allocator,
      clock: stack.clock,
    });
  } finally {
    await stack.close();
    clock.close();
  }
  assert.is(stack.arena.inUse, 0, "arena buffers leaked by the stack");
  return result;
}

/**
 * Check the capture now (tshark, §6 row 8) and assert zero findings; returns
 * the report so the test can print the frame count. The harness reuses it
 * for its own end-of-test check.
 */
export async function assertWireClean(ns: Netns): Promise<CaptureReport> {
  const report = await ns.checkCapture();
  assert.ok(report.frames > 0, "nothing was captured");
  // Every frame that crossed the link is in the pcap, so every one was
  // checked (frames captured just before counting began are extra, not missing).
  if (report.linkFrames !== null && report.frames < report.linkFrames) {
    const keep = await Deno.makeTempFile({ prefix: "netwasm-short-capture-", suffix: ".pcap" });
    await Deno.copyFile(ns.pcapPath!, keep);
    throw new Error(
      `tcpdump wrote ${report.frames} frames but the TAP counted ${report.linkFrames}: pcap kept at ${keep}`,
    );
  }
  assert.equal(report.findings, [], `tshark findings in ${ns.pcapPath}`);
  return report;
}

/** What iputils `ping` printed, parsed. */
export interface PingSummary {
  transmitted: number;
  received: number;
  lossPercent: number;
  duplicates: number;
  errors: number;
  rttMin: number;
  rttAvg: number;
  rttMax: number;
}

/** Parse the statistics lines of iputils `ping` (throws if they are missing). */
export function parsePingSummary(out: string): PingSummary {
  const counts =
    /(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?(?:, \+(\d+) errors)?, ([\d.]+)% packet loss/
      .exec(out);
  if (counts === null) throw new Error(`no ping statistics in:\n${out}`);
  const rtt = /rtt min\/avg\/max\/mdev = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(out);
  return {
    transmitted: Number(counts[1]),
    received: Number(counts[2]),
    duplicates: Number(counts[3] ?? 0),
    errors: Number(counts[4] ?? 0),
    lossPercent: Number(counts[5]),
    rttMin: rtt ? Number(rtt[1]) : NaN,
    rttAvg: rtt ? Number(rtt[2]) : NaN,
    rttMax: rtt ? Number(rtt[3]) : NaN,
  };
}

/**
 * The namespace's `/proc/net/snmp` as `{ "Ip.ReasmOKs": n, "Icmp.InEchos": n, … }`:
 * the kernel's own view of what we sent it.
 */
export async function kernelSnmp(ns: Netns): Promise<Record<string, number>> {
  const r = await ns.exec(["cat", "/proc/net/snmp"], { check: true });
  const out: Record<string, number> = {};
  const lines = r.stdout.trim().split("\n");
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    const proto = names[0]!.replace(/:$/, "");
    for (let j = 1; j < names.length; j++) out[`${proto}.${names[j]}`] = Number(values[j]);
  }
  return out;
}

/** Print the one figure line of a test (collected into the closing note). */
export function figure(test: string, text: string): void {
  console.log(`[interop] ${test}: ${text}`);
}

/** Reject after `ms` with a message saying what was awaited. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Whether `path` (relative to the repository root) exists. */
export function repoFileExists(path: string): boolean {
  try {
    Deno.statSync(new URL(`../../${path}`, import.meta.url));
    return true;
  } catch {
    return false;
  }
}
