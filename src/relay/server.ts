/**
 * The relay (Deno): an HTTP server whose WebSocket clients are the ports of
 * a learning Ethernet switch ({@link EthernetSwitch}), optionally with a TAP
 * device as the uplink to a real network, plus a static file server for the
 * pages that use it (with cross-origin-isolation headers).
 *
 * Wire format: one Ethernet frame per binary WebSocket message (the framing
 * of v86's relays and of {@link WebSocketLink}), or, for a client that
 * offers the subprotocol `netwasm.batch.v1`, many frames per message
 * (`src/link/ws_batch.ts`); both kinds of client share the switch. Any path
 * accepts the WebSocket upgrade; other requests are static files.
 *
 * Data path: every frame is copied once into the relay's arena — a client
 * message in one copy, a TAP frame by `read(2)` straight into it — and the
 * switch works on it in place. Out of the arena it goes to a batch client
 * by `copyWithin` into that client's batch (one message per client per
 * event: a received message, a TAP drain), to a one-frame client as one
 * message (a view of the arena, no copy of ours), to the TAP by `write(2)`.
 * Nothing is allocated per frame but the message view a one-frame client's
 * `send` needs. With `tap.offload` the TAP is opened with `IFF_VNET_HDR`:
 * a TCP super-frame from the kernel (TSO) is cut into wire-sized frames
 * (`gsoSegment`, which computes their checksums) and a single frame's
 * partial checksum is completed before the switch sees it, so clients get
 * ordinary frames — and a batch client a whole super-frame in one message.
 *
 * Admission: an `Origin` allowlist (a browser request whose `Origin` is not
 * listed gets 403; requests without `Origin` — not from a browser page — are
 * not subject to it), an optional token (`?token=` or `Authorization:
 * Bearer`, compared in constant time; missing or wrong gets 401), and
 * client limits, overall (`maxClients`) and per remote address
 * (`maxClientsPerAddress`). A client is *silent* until its first valid
 * frame; at either limit a newcomer evicts the longest-connected silent
 * client (closed with 1013, "try again later") instead of being refused, and
 * gets 503 only when every client at the limit is active (issue 15: whoever
 * grabs the slots first must not keep them). A client silent for
 * `firstFrameTimeoutMs` after its WebSocket opened is closed (1008). The
 * HTTP request head itself is read by `Deno.serve`, which has no header
 * deadline (denoland/deno#3515); a slow head holds a socket there, not a
 * client slot. The relay runs no IP stack and never opens an outbound
 * connection: the TAP is used as a frame pipe.
 *
 * Message size: Deno's `upgradeWebSocket` has no payload limit, so a message
 * is buffered in full before the relay sees it. The first message longer
 * than a frame (1518 bytes; a batch client: 65536) closes its client with
 * 1009 (message too big), which bounds what one client can make the relay
 * buffer to one message. A malformed batch record is counted (malformed)
 * and drops the rest of its message.
 *
 * @module
 */
import { type Clock, RealClock, type Timer } from "../core/clock.ts";
import { DeviceFeature, Xmit } from "../link/device.ts";
import { PcapWriter } from "../link/pcap.ts";
import { PcapFileSink } from "../link/pcap_file.ts";
import { TapDevice } from "../link/tap.ts";
import { Arena } from "../skb/arena.ts";
import { Csum, SkbAllocator, type SkBuff } from "../skb/skbuff.ts";
import { ArenaBatch, BATCH_MAX_BYTES, BATCH_PROTOCOL } from "../link/ws_batch.ts";
import { completeL4Checksum, gsoSegment } from "../link/gso.ts";
import { TcpGro } from "../link/gro.ts";
import { ETHERNET_HEADER_LENGTH } from "../wire/ethernet.ts";
import { formatIpv4, formatMac } from "../wire/addr.ts";
import { packageFiles, serveStatic, textResponse } from "./static.ts";
import { NatGateway, type NatGatewayOptions } from "./nat/gateway.ts";
import type { NetDevice } from "../link/device.ts";
import {
  EthernetSwitch,
  Forward,
  MAX_FRAME,
  type PortCounters,
  PortStats,
  type SwitchPort,
} from "./switch.ts";

/** The TAP uplink of a relay. */
export interface RelayTapOptions {
  /** TAP name. */
  name: string;
  /** Network namespace the TAP lives in. */
  netns?: string;
  /** Create a non-persistent TAP (deleted when the relay stops). */
  create?: boolean;
  /** Give the kernel side this `ADDR/PREFIX` and bring it up (`ip addr add`, `ip link set up`). */
  hostAddress?: string;
  /**
   * Open the TAP with `IFF_VNET_HDR` offloads (default false): the kernel
   * hands over TCP super-frames (TSO/GSO, up to 64 KiB) in one read, which
   * the relay cuts into wire-sized frames (`gsoSegment`) and completes the
   * checksums of (the kernel leaves them partial), so a batch client gets a
   * whole super-frame in one message — at high rates the kernel's TSO
   * bursts, not one frame per wake-up, set the batch size. Clients still
   * see only frames of at most 1514 bytes with complete checksums.
   */
  offload?: boolean;
}

/** Options for {@link startRelay}. */
export interface RelayOptions {
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** TAP uplink (default: none, clients only). */
  tap?: RelayTapOptions;
  /** Directory served at `/`. */
  staticDir?: string;
  /**
   * A directory `netwasm.js` is served from instead of the package's own
   * `dist/netwasm.js` (read relative to this module, from a checkout or a
   * registry); null: not served at all.
   */
  bundleDir?: string | null;
  /** Serve the package's demo page (`examples/index.html`, `app.js`) at `/` when there is no `staticDir`. */
  demo?: boolean;
  /**
   * Most WebSocket clients at once (default 64). At the limit a newcomer
   * evicts the longest-connected client that has not sent a frame yet; 503
   * only when all are active.
   */
  maxClients?: number;
  /** Most WebSocket clients from one remote address, same eviction rule (default 16). */
  maxClientsPerAddress?: number;
  /** Close a client that sends no valid frame this long after it connected, ms (default 30 000; 0 = never). */
  firstFrameTimeoutMs?: number;
  /** Frames per second each client may send; 0 = unlimited (default 20 000). */
  ratePps?: number;
  /** Token-bucket depth in frames (default max(64, rate / 10)). */
  burst?: number;
  /** A client's outgoing `bufferedAmount` bound in bytes; beyond it frames drop (default 2 MiB). */
  maxBufferedBytes?: number;
  /** Allowed `Origin`s for browser clients (default: any). */
  origins?: readonly string[];
  /** Required access token (default: none). */
  token?: string;
  /**
   * Write every accepted frame to this pcap file. A failed write (full disk,
   * broken pipe) is logged once and stops the capture; the relay keeps running.
   */
  pcap?: string;
  /** Stop the capture (with a log line) before the pcap file would exceed this many bytes (default: no cap). */
  pcapMaxBytes?: number;
  /** MAC aging time, ms (default 300 000). */
  agingMs?: number;
  /** MAC table bound (default 4096). */
  maxMacs?: number;
  /** Source MACs a client may own (default 4). */
  maxMacsPerClient?: number;
  /** Log sink (default `console.log`). */
  log?: (line: string) => void;
  /** No connect/disconnect lines and no summaries. */
  quiet?: boolean;
  /** Interval of the summary line, ms (default 10 000; 0 = none). */
  summaryIntervalMs?: number;
  /** Time source (default: a real clock, closed with the relay). */
  clock?: Clock;
  /**
   * Run the NAT gateway on the relay's LAN (`netwasm relay --nat`): router,
   * DHCP and DNS for the pages, their TCP and UDP re-originated natively
   * behind the egress policy (see `nat/gateway.ts`).
   */
  nat?: NatGatewayOptions;
}

/** Counters of a running relay. */
export interface RelayStats {
  /** Clients connected now. */
  clients: number;
  /** Clients accepted since start. */
  connects: number;
  /** Upgrade requests refused, by reason (`perAddress`: its address's limit, all active). */
  rejected: { origin: number; token: number; full: number; perAddress: number };
  /**
   * Silent clients closed: to admit a newcomer at `maxClients` (`full`) or
   * at its address's limit (`perAddress`), or after `firstFrameTimeoutMs`
   * without a frame (`silent`).
   */
  evicted: { full: number; perAddress: number; silent: number };
  /** Switch totals. */
  switch: { unicast: number; flooded: number; filtered: number; aged: number };
  /** MAC table entries. */
  macTable: number;
  /** Counters summed over every port, present and departed. */
  totals: PortCounters & { dropped: number };
  /** Each connected port. */
  ports: { id: number; name: string; macs: number; stats: PortCounters }[];
  /** Frames written to the pcap. */
  pcapFrames: number;
  /** Failed pcap writes (the first one stops the capture). */
  pcapErrors: number;
  /** Whether frames are still being captured (false without `pcap`, after an error or the size cap). */
  pcapActive: boolean;
  /** Clients closed (1009) for sending a message longer than a frame (a batch client: a batch). */
  oversize: number;
  /** Clients connected now that use batch framing (`netwasm.batch.v1`). */
  batchClients: number;
  /** Messages sent to clients (a batch counts once). */
  messagesOut: number;
  /** Messages received from clients. */
  messagesIn: number;
  /** The NAT gateway's counters (with `nat`). */
  nat?: ReturnType<NatGateway["snapshot"]>;
}

/** A running relay. */
export interface Relay {
  /** WebSocket URL of the relay, `ws://127.0.0.1:PORT/`. */
  readonly url: string;
  /** HTTP URL of the static pages, `http://127.0.0.1:PORT/`. */
  readonly httpUrl: string;
  readonly hostname: string;
  readonly port: number;
  /** The switch (for tests). */
  readonly switch: EthernetSwitch;
  /** The uplink TAP, if any. */
  readonly tap: TapDevice | null;
  /** The NAT gateway, with `nat`. */
  readonly nat: NatGateway | null;
  /** A snapshot of the counters. */
  stats(): RelayStats;
  /** The summary line the relay logs periodically. */
  summary(): string;
  /** Close every client (1001), stop listening, close the TAP and pcap. Idempotent. */
  close(): Promise<void>;
}

/** The package root, `file:` in a checkout or `https:` from a registry. */
const PACKAGE_ROOT = new URL("../../", import.meta.url);

interface Client {
  socket: WebSocket;
  port: SwitchPort | null;
  /** Uses batch framing (many frames per message). */
  batch: ArenaBatch | null;
  remote: string;
  /** Remote address without port: what the per-address limit counts. */
  address: string;
  /** Closed by admission or the first-frame deadline. */
  evicted: boolean;
  /** The first-frame deadline while silent. */
  timer: Timer | null;
}

/**
 * Start a relay.
 *
 * @example
 * ```ts
 * import { startRelay } from "./server.ts";
 * const relay = await startRelay({ port: 0, staticDir: "examples", quiet: true });
 * console.log(`pages at ${relay.httpUrl}, frames at ${relay.url}`);
 * await relay.close();
 * ```
 */
export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const ownClock = options.clock === undefined ? new RealClock() : null;
  const clock = options.clock ?? ownClock!;
  const log = options.log ?? ((l: string) => console.log(l));
  const quiet = options.quiet ?? false;
  const maxClients = options.maxClients ?? 64;
  const maxPerAddress = options.maxClientsPerAddress ?? 16;
  const firstFrameMs = options.firstFrameTimeoutMs ?? 30_000;
  for (
    const [name, v, min] of [["maxClients", maxClients, 1], [
      "maxClientsPerAddress",
      maxPerAddress,
      1,
    ], ["firstFrameTimeoutMs", firstFrameMs, 0]] as const
  ) {
    if (!Number.isInteger(v) || v < min) {
      ownClock?.close();
      throw new RangeError(`startRelay: ${name} must be an integer ≥ ${min}, got ${v}`);
    }
  }
  const maxBuffered = options.maxBufferedBytes ?? 2 << 20;
  const origins = options.origins ?? [];
  const tokenDigest = options.token === undefined ? null : await sha256(options.token);
  const bundleDir = options.bundleDir ?? undefined;
  const packageFile = options.bundleDir === null && !options.demo
    ? undefined
    : packageFiles(PACKAGE_ROOT, {
      demo: options.demo === true && options.staticDir === undefined,
    });
  const sw = new EthernetSwitch({
    clock,
    ratePps: options.ratePps ?? 20_000,
    ...(options.burst !== undefined ? { burst: options.burst } : {}),
    ...(options.agingMs !== undefined ? { agingMs: options.agingMs } : {}),
    ...(options.maxMacs !== undefined ? { maxMacs: options.maxMacs } : {}),
    maxMacsPerPort: options.maxMacsPerClient ?? 4,
  });
  // Every frame passes through this arena: client messages are copied into
  // `bounce`, TAP frames are read into buffers of it, batches are built in it.
  const arena = new Arena({
    classes: [
      { size: 2048, max: 16384, initial: 64 },
      // The bounce buffer and one batch per destination of an event at most.
      { size: 66560, max: Math.min(maxClients, 16384) + 4, initial: 2 },
    ],
  });
  const allocator = new SkbAllocator(arena);
  const bounce = arena.tryAllocSlot(BATCH_MAX_BYTES);
  /** A view of arena bytes to send (the relay's arena is not shared). */
  const bytesAt = (off: number, len: number) =>
    arena.u8.subarray(off, off + len) as Uint8Array<ArrayBuffer>;
  /**
   * Batch clients with frames waiting: the first `dirtyCount` slots, flushed
   * at the end of each event (counted, never truncated: `length = 0` drops
   * the array's backing store and the next push allocates one, per event).
   */
  const dirty: (Client | null)[] = [];
  let dirtyCount = 0;
  let messagesOut = 0;
  let messagesIn = 0;
  /** GRO of offloading TAP ports: flushed with the batches. */
  const groFlush: (() => void)[] = [];
  const flush = (): void => {
    for (let i = 0; i < groFlush.length; i++) groFlush[i]!();
    for (let i = 0; i < dirtyCount; i++) {
      const c = dirty[i]!;
      dirty[i] = null;
      const b = c.batch;
      if (b === null) continue;
      if (b.length > 0 && c.socket.readyState === WebSocket.OPEN) {
        c.socket.send(bytesAt(b.offset, b.length));
        messagesOut++;
      }
      b.release();
    }
    dirtyCount = 0;
  };
  const clients = new Set<Client>();
  /** Clients that have not sent a valid frame yet, longest-connected first. */
  const silent = new Set<Client>();
  const byAddress = new Map<string, Set<Client>>();
  const rejected = { origin: 0, token: 0, full: 0, perAddress: 0 };
  const evicted = { full: 0, perAddress: 0, silent: 0 };
  /** Forget `c` in the admission books (idempotent). */
  const forget = (c: Client): void => {
    clients.delete(c);
    silent.delete(c);
    c.batch?.release();
    if (c.timer !== null) clock.clearTimer(c.timer);
    c.timer = null;
    const set = byAddress.get(c.address);
    if (set === undefined) return;
    set.delete(c);
    if (set.size === 0) byAddress.delete(c.address);
  };
  /** Close a silent client to make room (or at its deadline). */
  const evict = (c: Client, code: number, why: string): void => {
    forget(c);
    c.evicted = true;
    if (!quiet) log(`relay: closing ${c.port?.name ?? c.remote}: ${why}`);
    try {
      c.socket.close(code, why);
    } catch { /* already closing */ }
  };
  let connects = 0;
  let closing = false;

  let pcapSink: PcapFileSink | null = null;
  let pcap: PcapWriter | null = null;
  let pcapFrames = 0;
  let pcapErrors = 0;
  let oversize = 0;
  const pcapMax = options.pcapMaxBytes ?? Infinity;
  if (!(pcapMax >= 24)) {
    ownClock?.close();
    throw new RangeError(`startRelay: pcapMaxBytes must be at least 24, got ${pcapMax}`);
  }
  if (options.pcap !== undefined) {
    try {
      pcapSink = new PcapFileSink(options.pcap);
      pcap = new PcapWriter(pcapSink.write, { epochMs: Date.now() - clock.now() });
    } catch (e) {
      pcapSink?.close();
      ownClock?.close();
      throw e;
    }
  }
  /** Stop capturing (idempotent): keep the frame count, close the file. */
  const stopPcap = (why: string): void => {
    if (pcap === null) return;
    pcapFrames = pcap.frames;
    pcap = null;
    try {
      pcapSink?.close();
    } catch { /* closing a broken file: nothing more to do */ }
    log(`relay: pcap ${options.pcap}: ${why}; capture stopped after ${pcapFrames} frames`);
  };
  /** Capture the frame at arena offset `off`. */
  const capture = (off: number, len: number): void => {
    if (pcap === null) return;
    // 16-byte record header plus the captured (snaplen-bounded) bytes.
    if (pcap.bytes + 16 + Math.min(len, pcap.snaplen) > pcapMax) {
      stopPcap(`size cap of ${pcapMax} bytes reached`);
      return;
    }
    try {
      pcap.writeFrame(arena.u8, off, len, clock.now());
    } catch (e) {
      pcapErrors++;
      // The record that failed is not in the file (or only in part).
      pcap.frames--;
      stopPcap(`write failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  /** The frame at arena offset `off` entered on `port`. Sinks read it from the arena during the call. */
  const ingress = (port: SwitchPort, off: number, len: number): Forward => {
    const r = sw.receive(port, arena.u8, off, len);
    if (r !== Forward.DROPPED) capture(off, len);
    return r;
  };

  /**
   * A device as a switch port: its received frames go to the switch, the
   * switch's to it. A device on another arena (the NAT gateway's stack)
   * pays a copy each way.
   */
  function attach(
    dev: NetDevice,
    devAllocator: SkbAllocator,
    name: string,
    maxMacs: number,
    offloaded = false,
  ): void {
    const own = devAllocator.arena === arena;
    // Frames to an offloading TAP: consecutive segments of one TCP flow go
    // out merged (GRO, `gro.ts`), one write per super-frame instead of per
    // frame; flushed at the end of each event, with the batches.
    const gro = offloaded && own && (dev.features & DeviceFeature.TSO) !== 0
      ? new TcpGro(devAllocator, (skb) => void dev.transmit(skb))
      : null;
    if (gro !== null) groFlush.push(() => gro.flush());
    const port = sw.addPort({
      deliver(_bytes, off, len) {
        if (gro !== null) return gro.add(off, len);
        const skb = devAllocator.alloc(len, { headroom: 0 });
        if (skb === null) return false;
        const at = skb.put(len);
        if (own) arena.u8.copyWithin(at, off, off + len);
        else devAllocator.arena.u8.set(arena.u8.subarray(off, off + len), at);
        return dev.transmit(skb) === Xmit.OK;
      },
    }, { name, ratePps: 0, maxMacs });
    /** Complete the partial TCP/UDP checksum an offloading kernel left in an IP frame. */
    const completeChecksum = (skb: SkBuff) => {
      if (skb.ipSummed !== Csum.Unnecessary || skb.len <= ETHERNET_HEADER_LENGTH) return;
      const u8 = devAllocator.arena.u8;
      const type = (u8[skb.data + 12]! << 8) | u8[skb.data + 13]!;
      if (type === 0x0800 || type === 0x86dd) {
        const l3 = skb.data + ETHERNET_HEADER_LENGTH;
        completeL4Checksum(u8, l3, skb.len - ETHERNET_HEADER_LENGTH);
      }
    };
    let superFrame: SkBuff | null = null;
    /** A piece of a super-frame (or the frame itself when it needs no cutting). */
    const piece = (skb: SkBuff) => {
      if (skb === superFrame) completeChecksum(skb); // gsoSegment passed it on whole
      ingress(port, skb.data, skb.len);
      skb.free();
    };
    const deliver = (skb: SkBuff) => {
      if (offloaded) {
        // A super-frame from the kernel (TSO): wire-sized pieces, each with
        // its checksum computed; a single frame: its partial checksum completed.
        if (skb.gsoSize > 0) {
          superFrame = skb;
          if (gsoSegment(skb, ETHERNET_HEADER_LENGTH, devAllocator, piece) < 0) {
            port.stats.dropMalformed++;
          }
          superFrame = null;
          return; // gsoSegment consumed skb
        }
        completeChecksum(skb);
      }
      if (own) {
        ingress(port, skb.data, skb.len);
      } else if (skb.len <= BATCH_MAX_BYTES) {
        arena.u8.set(devAllocator.arena.u8.subarray(skb.data, skb.data + skb.len), bounce);
        ingress(port, bounce, skb.len);
      } else {
        port.stats.dropMalformed++;
      }
      skb.free();
    };
    dev.setRxNotify((d) => {
      // Bounded: the queue holds at most rxQueueLimit frames.
      while (d.poll(64, deliver) > 0) { /* drain */ }
      flush();
    });
  }

  // The uplink: the TAP as a frame pipe, reading into and writing from the relay's arena.
  let tap: TapDevice | null = null;
  if (options.tap !== undefined) {
    const t = options.tap;
    tap = await TapDevice.open({
      name: t.name,
      allocator,
      clock,
      mtu: 1500,
      ...(t.create ? { create: true } : {}),
      ...(t.netns !== undefined ? { netns: t.netns } : {}),
      ...(t.offload ? { offload: true } : {}),
    });
    try {
      if (t.hostAddress !== undefined) await configureKernelSide(t);
    } catch (e) {
      await tap.close();
      pcapSink?.close();
      ownClock?.close();
      throw e;
    }
    attach(tap, allocator, `tap ${t.name}`, 1024, tap.vnetHdr);
  }

  // The NAT gateway: its own stack, one more port on the switch.
  let nat: NatGateway | null = null;
  if (options.nat !== undefined) {
    try {
      nat = await NatGateway.start({ log, quiet, clock, ...options.nat });
    } catch (e) {
      await tap?.close();
      pcapSink?.close();
      ownClock?.close();
      throw e;
    }
    attach(nat.device, nat.stack.allocator, "nat gateway", 4);
  }

  const accept = async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    if (closing) return textResponse(503, "relay shutting down");
    // Read before the upgrade: afterwards the request (and its info) is closed.
    const remote = remoteOf(info);
    const origin = req.headers.get("origin");
    if (origin !== null && origins.length > 0 && !origins.includes(origin)) {
      rejected.origin++;
      if (!quiet) log(`relay: refused ${remote}: origin ${origin} not allowed`);
      return textResponse(403, "origin not allowed");
    }
    if (tokenDigest !== null) {
      const url = new URL(req.url);
      const auth = req.headers.get("authorization");
      const given = url.searchParams.get("token") ??
        (auth !== null && /^bearer /i.test(auth) ? auth.slice(7) : null);
      if (given === null || !equalDigests(await sha256(given), tokenDigest)) {
        rejected.token++;
        if (!quiet) log(`relay: refused ${remote}: missing or wrong token`);
        return textResponse(401, "missing or wrong token", { "www-authenticate": "Bearer" });
      }
    }
    const address = addressOf(info);
    const mine = byAddress.get(address);
    if (mine !== undefined && mine.size >= maxPerAddress) {
      let victim: Client | undefined;
      for (const c of silent) {
        if (c.address === address) {
          victim = c;
          break;
        }
      }
      if (victim === undefined) {
        rejected.perAddress++;
        if (!quiet) {
          log(`relay: refused ${remote}: ${maxPerAddress} active clients from ${address}`);
        }
        return textResponse(503, "too many clients from your address", { "retry-after": "5" });
      }
      evicted.perAddress++;
      evict(victim, 1013, `evicted: ${maxPerAddress} clients from ${address} and a newcomer`);
    }
    if (clients.size >= maxClients) {
      const victim = silent.values().next();
      if (victim.done) {
        rejected.full++;
        if (!quiet) log(`relay: refused ${remote}: ${maxClients} active clients already`);
        return textResponse(503, "relay full", { "retry-after": "5" });
      }
      evicted.full++;
      evict(victim.value, 1013, `evicted: ${maxClients} clients and a newcomer`);
    }
    // Batch framing for clients that offer it (src/link/ws_batch.ts).
    const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",")
      .some((p) => p.trim() === BATCH_PROTOCOL);
    const { socket, response } = Deno.upgradeWebSocket(
      req,
      offered ? { protocol: BATCH_PROTOCOL } : {},
    );
    const client: Client = {
      socket,
      port: null,
      batch: offered ? new ArenaBatch(arena) : null,
      remote,
      address,
      evicted: false,
      timer: null,
    };
    clients.add(client);
    silent.add(client);
    let set = byAddress.get(address);
    if (set === undefined) byAddress.set(address, set = new Set());
    set.add(client);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      if (closing) return;
      if (client.evicted) {
        // Evicted while the handshake was completing: close it now.
        try {
          socket.close(1013, "evicted");
        } catch { /* already closing */ }
        return;
      }
      if (firstFrameMs > 0 && silent.has(client)) {
        client.timer = clock.setTimer(firstFrameMs, () => {
          client.timer = null;
          if (!silent.has(client)) return;
          evicted.silent++;
          evict(client, 1008, `no frame within ${firstFrameMs} ms`);
        });
      }
      connects++;
      const batch = client.batch;
      client.port = sw.addPort({
        deliver(_bytes, off, len) {
          if (socket.readyState !== WebSocket.OPEN) return false;
          if (batch === null) {
            if (socket.bufferedAmount > maxBuffered) return false;
            socket.send(bytesAt(off, len));
            messagesOut++;
            return true;
          }
          if (socket.bufferedAmount + batch.length > maxBuffered) return false;
          if (!batch.fits(len)) {
            socket.send(bytesAt(batch.offset, batch.length));
            messagesOut++;
            batch.clear();
          }
          const first = batch.offset < 0; // not yet on the dirty list this event
          if (!batch.append(off, len)) return false;
          if (first) {
            if (dirtyCount < dirty.length) dirty[dirtyCount] = client;
            else dirty.push(client);
            dirtyCount++;
          }
          return true;
        },
      }, { name: `client ${connects} ${client.remote}` });
      if (!quiet) log(`relay: ${client.port.name} connected (${clients.size} clients)`);
    };
    socket.onmessage = (ev) => {
      const port = client.port;
      if (port === null) return;
      messagesIn++;
      if (!(ev.data instanceof ArrayBuffer)) {
        port.stats.dropMalformed++;
        return;
      }
      const n = ev.data.byteLength;
      if (n > (client.batch === null ? MAX_FRAME : BATCH_MAX_BYTES)) {
        // No frame (or batch) is this long: a client sending one is broken
        // or hostile. Close at once (1009, message too big) rather than keep
        // taking such messages — Deno's upgradeWebSocket has no payload
        // limit, so each one has been buffered in full by the time we see it.
        port.stats.dropMalformed++;
        oversize++;
        if (!quiet) log(`relay: ${port.name}: ${n}-byte message, closing (1009)`);
        try {
          socket.close(1009, "message too big");
        } catch { /* already closing */ }
        return;
      }
      // The one copy of the frame(s): the message into the arena.
      const u8 = arena.u8;
      u8.set(new Uint8Array(ev.data), bounce);
      let accepted = false;
      if (client.batch === null) {
        accepted = ingress(port, bounce, n) !== Forward.DROPPED;
      } else {
        // Records: length (u16, big-endian) + frame, back to back.
        for (let at = 0; at < n;) {
          const len = at + 2 <= n ? (u8[bounce + at]! << 8) | u8[bounce + at + 1]! : 0;
          at += 2;
          if (len < 14 || len > n - at) {
            port.stats.dropMalformed++; // and the rest of the message with it
            break;
          }
          if (ingress(port, bounce + at, len) !== Forward.DROPPED) accepted = true;
          at += len;
        }
      }
      flush();
      if (accepted && silent.has(client)) {
        // Its first valid frame: an active client, never evicted for a newcomer.
        silent.delete(client);
        if (client.timer !== null) clock.clearTimer(client.timer);
        client.timer = null;
      }
    };
    socket.onerror = () => {/* the close event follows */};
    socket.onclose = (ev) => {
      forget(client);
      const port = client.port;
      if (port === null) return;
      client.port = null;
      const macs = ownedMacs(port);
      nat?.clientGone(sw.macsOf(port));
      sw.removePort(port);
      if (!quiet) {
        const s = port.stats;
        log(
          `relay: ${port.name} disconnected (code ${ev.code}${macs ? `, ${macs}` : ""}): ` +
            `${s.rxFrames} frames in, ${s.txFrames} out, dropped ${dropText(s)}`,
        );
      }
    };
    return response;
  };

  const handler = (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> | Response => {
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return accept(req, info);
    return serveStatic(req, {
      ...(options.staticDir !== undefined ? { root: options.staticDir } : {}),
      ...(bundleDir !== undefined ? { bundleDir } : {}),
      ...(packageFile !== undefined ? { packageFile } : {}),
    });
  };

  const ownedMacs = (port: SwitchPort): string => sw.macsOf(port).map(formatMac).join(" ");

  const hostname = options.hostname ?? "127.0.0.1";
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port: options.port ?? 8080,
      onListen: () => {},
      onError: (e) => {
        log(`relay: request failed: ${e instanceof Error ? e.message : String(e)}`);
        return textResponse(500, "internal error");
      },
    }, handler);
  } catch (e) {
    await tap?.close();
    await nat?.close();
    pcapSink?.close();
    ownClock?.close();
    throw e;
  }
  const port = server.addr.port;
  const hostPart = hostname.includes(":") ? `[${hostname}]` : hostname;

  const stats = (): RelayStats => {
    const totals = new PortStats();
    totals.add(sw.departed);
    for (const p of sw.ports) totals.add(p.stats);
    return {
      clients: [...clients].filter((c) => c.port !== null).length,
      connects,
      rejected: { ...rejected },
      evicted: { ...evicted },
      switch: { ...sw.stats },
      macTable: sw.macTableSize,
      totals: { ...totals.toJSON(), dropped: totals.dropped },
      ports: sw.ports.map((p) => ({
        id: p.id,
        name: p.name,
        macs: p.macs,
        stats: p.stats.toJSON(),
      })),
      pcapFrames: pcap?.frames ?? pcapFrames,
      pcapErrors,
      pcapActive: pcap !== null,
      oversize,
      batchClients: [...clients].filter((c) => c.port !== null && c.batch !== null).length,
      messagesOut,
      messagesIn,
      ...(nat !== null ? { nat: nat.snapshot() } : {}),
    };
  };
  const summary = (): string => {
    const s = stats();
    const t = s.totals;
    return `relay: ${s.clients} clients, ${s.macTable} MACs; frames in ${t.rxFrames}, out ${t.txFrames} ` +
      `(unicast ${s.switch.unicast}, flooded ${s.switch.flooded}); dropped malformed ${t.dropMalformed}, ` +
      `spoof ${t.dropSpoof}, rate ${t.dropRate}, mac-limit ${t.dropMacLimit}, queue ${t.dropQueue}; ` +
      `refused origin ${s.rejected.origin}, token ${s.rejected.token}, full ${s.rejected.full}, ` +
      `per-address ${s.rejected.perAddress}; evicted silent ${
        s.evicted.full + s.evicted.perAddress
      } for newcomers, ${s.evicted.silent} at the first-frame deadline` +
      (nat !== null ? `; ${nat.summary()}` : "");
  };

  let timer: Timer | null = null;
  let last = "";
  const interval = options.summaryIntervalMs ?? 10_000;
  const tick = () => {
    sw.sweep();
    const line = summary();
    if (!quiet && line !== last) log(line);
    last = line;
    timer = clock.setTimer(interval, tick);
  };
  if (interval > 0) timer = clock.setTimer(interval, tick);

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    if (closed !== null) return closed;
    closing = true;
    closed = (async () => {
      if (timer !== null) clock.clearTimer(timer);
      const waits: Promise<void>[] = [];
      for (const c of clients) {
        if (
          c.socket.readyState === WebSocket.OPEN || c.socket.readyState === WebSocket.CONNECTING
        ) {
          waits.push(
            new Promise<void>((resolve) => {
              const prev = c.socket.onclose;
              c.socket.onclose = (ev) => {
                prev?.call(c.socket, ev);
                resolve();
              };
            }),
          );
          try {
            c.socket.close(1001, "relay shutting down");
          } catch { /* already closing */ }
        }
      }
      await withTimeout(Promise.all(waits), 2000);
      await withTimeout(server.shutdown(), 3000);
      await tap?.close();
      await nat?.close();
      if (pcap !== null) pcapFrames = pcap.frames;
      pcap = null;
      try {
        pcapSink?.close();
      } catch { /* a broken file */ }
      if (!quiet) log(summary());
      ownClock?.close();
    })();
    return closed;
  };

  if (!quiet) {
    log(
      `relay: listening on ws://${hostPart}:${port}/` +
        (options.staticDir !== undefined
          ? `, serving ${options.staticDir} at http://${hostPart}:${port}/`
          : "") +
        (tap !== null
          ? `, uplink TAP ${tap.name}${tap.netns ? ` (netns ${tap.netns})` : ""}`
          : "") +
        (nat !== null
          ? `, NAT gateway ${formatIpv4(nat.lan.address)}/${nat.lan.prefixLength}`
          : ""),
    );
  }
  return {
    url: `ws://${hostPart}:${port}/`,
    httpUrl: `http://${hostPart}:${port}/`,
    hostname,
    port,
    switch: sw,
    tap,
    nat,
    stats,
    summary,
    close,
  };
}

function dropText(s: PortStats): string {
  return `${s.dropped} (malformed ${s.dropMalformed}, spoof ${s.dropSpoof}, rate ${s.dropRate}, ` +
    `mac-limit ${s.dropMacLimit}, queue ${s.dropQueue})`;
}

function addressOf(info: Deno.ServeHandlerInfo): string {
  return (info.remoteAddr as Deno.NetAddr).hostname;
}

function remoteOf(info: Deno.ServeHandlerInfo): string {
  const a = info.remoteAddr as Deno.NetAddr;
  return `${a.hostname}:${a.port}`;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Constant-time comparison of two 32-byte digests (equal length by construction). */
function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let id: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    p.then(() => {}, () => {}),
    new Promise<void>((r) => (id = setTimeout(r, ms))),
  ]);
  clearTimeout(id);
}

async function configureKernelSide(t: RelayTapOptions): Promise<void> {
  const ns = t.netns !== undefined ? ["-n", t.netns] : [];
  for (
    const args of [
      [...ns, "addr", "add", t.hostAddress!, "dev", t.name],
      [...ns, "link", "set", t.name, "up"],
    ]
  ) {
    const r = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
    if (!r.success) {
      throw new Error(
        `ip ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr).trim()}`,
      );
    }
  }
}
