/**
 * The CLI's one real host: a {@link Stack} on real time attached to a TAP
 * (optionally inside a network namespace), with an optional pcap of every
 * frame of the interface, and one `close()` that releases all of it so the
 * process can exit.
 *
 * @module
 */
import { Stack } from "../api/stack.ts";
import { RealClock } from "../core/clock.ts";
import { type PcapRecording, recordPcap } from "../link/pcap.ts";
import { PcapFileSink } from "../link/pcap_file.ts";
import { TapDevice } from "../link/tap.ts";
import type { Iface } from "../ipv4/iface.ts";

/** What the common flags ask for (already validated). */
export interface HostConfig {
  /** TAP name. */
  readonly tap: string;
  /** Network namespace the TAP lives in. */
  readonly netns?: string;
  /** Create a non-persistent TAP instead of attaching to an existing one. */
  readonly create?: boolean;
  /** `ADDRESS/PREFIX` of our interface (IPv4 or IPv6; optional with `ip6` or `slaac`). */
  readonly address?: string;
  /** Default gateway (IPv4 or IPv6). */
  readonly gateway?: string;
  /** Static IPv6 addresses, `ADDRESS/PREFIX`. */
  readonly ip6?: readonly string[];
  /** IPv6 default router. */
  readonly gateway6?: string;
  /** Configure IPv6 from router advertisements (SLAAC). */
  readonly slaac?: boolean;
  /** Interface MTU (default 1500). */
  readonly mtu?: number;
  /** Interface MAC as a 48-bit integer (default: the driver's). */
  readonly mac?: number;
  /** Write every frame of the interface to this pcap file. */
  readonly pcap?: string;
}

/** A running host; always {@link CliHost.close} it. */
export interface CliHost {
  /** The stack, on a real clock. */
  readonly stack: Stack;
  /** The opened TAP (closed by {@link CliHost.close}). */
  readonly tap: TapDevice;
  /** The stack's interface on the TAP. */
  readonly iface: Iface;
  /** Frames written to the pcap (0 without one). */
  readonly pcapFrames: number;
  /** Stop the capture, close the stack (and with it the TAP), the pcap file and the clock. */
  close(): Promise<void>;
}

/**
 * Open the TAP and bring up a stack on it. On failure everything opened so
 * far is closed again before the error propagates (a `TapError` says why the
 * TAP could not be opened).
 *
 * @example Needs root and a TAP device: not run by `deno test --doc`
 * ```ts ignore
 * import { openHost } from "./link.ts";
 * // as root, with `ip tuntap add dev tap0 mode tap` done:
 * const host = await openHost({ tap: "tap0", address: "192.0.2.2/24" });
 * try {
 *   await host.stack.ping("192.0.2.1");
 * } finally {
 *   await host.close();
 * }
 * ```
 */
export async function openHost(config: HostConfig): Promise<CliHost> {
  // keepAlive: the CLI waits on stack timers (ping intervals), so they must
  // hold the process open; close() stops the clock again.
  const clock = new RealClock({ keepAlive: true });
  const stack = new Stack({ clock });
  let tap: TapDevice | undefined;
  let sink: PcapFileSink | undefined;
  let recording: PcapRecording | undefined;
  let attached = false;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    recording?.stop();
    try {
      await stack.close(); // closes the TAP once it is attached
      if (tap !== undefined && !attached) await tap.close();
    } finally {
      sink?.close();
      clock.close();
    }
  };
  try {
    tap = await TapDevice.open({
      name: config.tap,
      allocator: stack.allocator,
      clock,
      ...(config.create ? { create: true } : {}),
      ...(config.netns !== undefined ? { netns: config.netns } : {}),
      ...(config.mtu !== undefined ? { mtu: config.mtu } : {}),
      ...(config.mac !== undefined ? { mac: config.mac } : {}),
    });
    if (config.pcap !== undefined) {
      sink = new PcapFileSink(config.pcap);
      // Calendar timestamps in the file: wall time at the clock's origin.
      recording = recordPcap(tap, sink.write, { epochMs: Date.now() - clock.now() });
    }
    const ip6 = config.ip6 ?? [];
    const iface = stack.addInterface(tap, {
      ...(config.address !== undefined ? { address: config.address } : {}),
      ...(config.gateway !== undefined ? { gateway: config.gateway } : {}),
      ...(ip6.length > 0 ? { ip6 } : {}),
      ...(config.gateway6 !== undefined ? { gateway6: config.gateway6 } : {}),
      ...(config.slaac !== undefined ? { slaac: config.slaac } : {}),
    });
    attached = true;
    // Like `ip -6 addr` before use: wait (bounded) until DAD has finished, so the
    // first packet can come from the configured address instead of failing.
    const dev = stack.ipv6.devices.get(iface);
    for (let waited = 0; dev !== undefined && waited < 5000; waited += 50) {
      if (dev.addrs.length > 0 && !dev.addrs.some((a) => a.state === 0)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const t = tap;
    return {
      stack,
      tap: t,
      iface,
      get pcapFrames() {
        return recording?.frames ?? 0;
      },
      close,
    };
  } catch (e) {
    await close().catch(() => {/* report the first failure */});
    throw e;
  }
}
