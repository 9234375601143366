/**
 * The CLI's one real host: a {@link Stack} on real time attached to a TAP
 * (optionally inside a network namespace), with an optional pcap of every
 * frame of the interface, and one `close()` that releases all of it so the
 * process can exit.
 *
 * @module
 */
import { Stack } from "../api/stack.ts";
import { Arena } from "../skb/arena.ts";
import { RealClock } from "../core/clock.ts";
import { type PcapRecording, recordPcap } from "../link/pcap.ts";
import { PcapFileSink } from "../link/pcap_file.ts";
import { TapDevice } from "../link/tap.ts";
import type { NetDevice } from "../link/device.ts";
import { WebSocketLink } from "../link/websocket.ts";
import type { Iface } from "../ipv4/iface.ts";
import type { DhcpLease } from "../dhcp/client.ts";
import type { TcpConfig } from "../tcp/config.ts";

/**
 * The `parseArgs` spec of the link flags every command that joins a network
 * takes (`--tap`, `--relay`, addresses, MTU, pcap), shared by `main.ts` and
 * `perf.ts` so the two cannot drift apart.
 *
 * @example
 * ```ts
 * import { LINK_OPTIONS } from "./link.ts";
 * const options = { ...LINK_OPTIONS, quiet: { type: "boolean" } } as const;
 * ```
 */
export const LINK_OPTIONS = {
  tap: { type: "string" },
  relay: { type: "string" },
  netns: { type: "string" },
  create: { type: "boolean" },
  ip: { type: "string" },
  ip6: { type: "string", multiple: true },
  slaac: { type: "boolean" },
  gateway: { type: "string" },
  gateway6: { type: "string" },
  dhcp: { type: "boolean" },
  mtu: { type: "string" },
  mac: { type: "string" },
  pcap: { type: "string" },
} as const;

/**
 * The names of {@link LINK_OPTIONS}, for the commands' lists of accepted flags.
 *
 * @example
 * ```ts
 * import { LINK_FLAG_NAMES } from "./link.ts";
 * LINK_FLAG_NAMES.includes("tap"); // true
 * ```
 */
export const LINK_FLAG_NAMES = Object.keys(LINK_OPTIONS) as readonly (keyof typeof LINK_OPTIONS)[];

/** What the common flags ask for (already validated). */
export interface HostConfig {
  /** TAP name (or use {@link HostConfig.relay}). */
  readonly tap?: string;
  /** Join a relay as a WebSocket client (`ws://HOST:PORT/`) instead of a TAP. */
  readonly relay?: string;
  /** Network namespace the TAP lives in. */
  readonly netns?: string;
  /** Create a non-persistent TAP instead of attaching to an existing one. */
  readonly create?: boolean;
  /** `ADDRESS/PREFIX` of our interface (IPv4 or IPv6; optional with `dhcp`, `ip6` or `slaac`). */
  readonly address?: string;
  /** Configure the IPv4 address by DHCP (and wait for the lease). */
  readonly dhcp?: boolean;
  /** Longest wait for a DHCP lease, ms (default 30 000). */
  readonly dhcpTimeoutMs?: number;
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
  /** TCP settings (the `--tcp-mem` marks). */
  readonly tcp?: Partial<TcpConfig>;
  /** Most bytes the packet arena may grow to (`--arena-max`; `ArenaOptions.maxBytes`). */
  readonly arenaMaxBytes?: number;
  /**
   * Open the TAP with `IFF_VNET_HDR` offloads (checksum, TSO/GSO; see
   * `TapDevice`): 64 KiB segments cross in one read/write. Default false
   * (`--offload` turns it on; `netwasm perf` defaults to on).
   */
  readonly offload?: boolean;
}

/** A running host; always {@link CliHost.close} it. */
export interface CliHost {
  /** The stack, on a real clock. */
  readonly stack: Stack;
  /** The link device: the opened TAP or the relay's WebSocketLink (closed by {@link CliHost.close}). */
  readonly tap: NetDevice;
  /** The stack's interface on the TAP. */
  readonly iface: Iface;
  /** The DHCP lease when configured by DHCP, else null. */
  readonly lease: DhcpLease | null;
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
  const stack = new Stack({
    clock,
    ...(config.tcp !== undefined ? { tcp: config.tcp } : {}),
    ...(config.arenaMaxBytes !== undefined
      ? { arena: new Arena({ maxBytes: config.arenaMaxBytes }) }
      : {}),
  });
  let tap: NetDevice | undefined;
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
    tap = config.relay !== undefined
      ? await WebSocketLink.connect(config.relay, {
        allocator: stack.allocator,
        clock,
        reconnect: false,
        // Batches where the relay speaks them (netwasm's); one frame per
        // message otherwise (a v86 relay): Deno's client falls back itself.
        framing: "batch",
        ...(config.mtu !== undefined ? { mtu: config.mtu } : {}),
        ...(config.mac !== undefined ? { mac: config.mac } : {}),
      })
      : await TapDevice.open({
        name: config.tap!,
        allocator: stack.allocator,
        clock,
        offload: config.offload ?? false,
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
      ...(config.dhcp ? { dhcp: true } : {}),
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
    let lease: DhcpLease | null = null;
    if (config.dhcp) lease = await waitForLease(stack, iface, config.dhcpTimeoutMs ?? 30_000);
    const t = tap;
    return {
      stack,
      tap: t,
      iface,
      lease,
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

/** The first lease of `iface`'s DHCP client, or an error after `ms`. */
function waitForLease(stack: Stack, iface: Iface, ms: number): Promise<DhcpLease> {
  const client = stack.dhcp(iface)!;
  return new Promise((resolve, reject) => {
    const timer = stack.clock.setTimer(ms, () => {
      reject(
        new Error(`no DHCP lease on ${iface.name} within ${ms / 1000} s (state ${client.state})`),
      );
    });
    client.bound().then((lease) => {
      stack.clock.clearTimer(timer);
      resolve(lease);
    });
  });
}

/**
 * One line describing a lease, for the CLI's stderr.
 *
 * @example
 * ```ts
 * import { describeLease } from "./link.ts";
 * // describeLease(host.lease!) → "DHCP lease 192.0.2.100/24 from 192.0.2.1 for 3600 s, router 192.0.2.1, DNS 192.0.2.1, domain lan.test"
 * ```
 */
export function describeLease(l: DhcpLease): string {
  return `DHCP lease ${l.address}/${l.prefixLength} from ${l.serverId} for ${l.leaseTime} s` +
    (l.routers.length > 0 ? `, router ${l.routers[0]}` : "") +
    (l.dnsServers.length > 0 ? `, DNS ${l.dnsServers.join(" ")}` : "") +
    (l.search.length > 0 ? `, domain ${l.search.join(" ")}` : "") +
    (l.mtu !== null ? `, MTU ${l.mtu}` : "");
}
