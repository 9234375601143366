/**
 * netwasm: a TCP/IP stack in TypeScript and WebAssembly for Deno and
 * browsers. This entry point is the user's API:
 *
 * - {@link Stack}: one host — interfaces, routing, ARP, IPv4, ICMP, UDP, TCP
 *   and its counters. `stack.connect()`/`listen()`/`listenDatagram()` give
 *   {@link Conn}, {@link Listener} and {@link DatagramConn}, shaped like (and
 *   assignable to) `Deno.TcpConn`, `Deno.TcpListener` and `Deno.DatagramConn`;
 *   `stack.sockets` is the BSD socket layer, `stack.sockets.list()` the
 *   socket table.
 * - Errors: {@link ConnectionRefused}, {@link TimedOut}, … — instances of the
 *   matching `Deno.errors` classes under Deno — all {@link NetError}s with
 *   an errno `code`.
 * - Links: {@link createPipe} (in-memory, with seeded loss, delay,
 *   reordering, rate limits), {@link LoopbackDevice}, {@link WebSocketLink}
 *   (browsers, through `netwasm relay`), {@link MessagePortLink} and
 *   {@link BroadcastChannelLink} (tabs, iframes and Workers of one origin,
 *   no relay); the TAP driver is in `./tap`.
 * - The stack in a Worker: {@link WorkerStack} runs it in a dedicated Worker
 *   and gives the page the same `connect`/`listen`/`Conn` API.
 * - Clocks: {@link RealClock}, {@link VirtualClock}; the virtual-time test
 *   kit is in `./testing`.
 * - Captures: {@link recordPcap}, {@link PcapWriter}, {@link readPcap}.
 *
 * Internals have their own entry points: `./socket`, `./ipv4`, `./ipv6`,
 * `./udp`, `./tcp`, `./link`, `./wire`, `./skb`, `./core`, `./wasm`.
 *
 * @example Two stacks on an impaired in-memory cable
 * ```ts
 * import { simulate } from "./src/testing/mod.ts";
 * await using net = simulate({ seed: 1 }); // virtual time: no waiting
 * const [a, b] = net.pair({ delay: 20, loss: 0.01 });
 * const listener = b.listen({ port: 7 });
 * const conn = await net.run(a.connect({ hostname: "192.0.2.2", port: 7 }));
 * await conn.write(new TextEncoder().encode("hello"));
 * conn.close();
 * listener.close();
 * ```
 *
 * @module
 */
export type { Ipv6Family, Ipv6Options } from "./src/ipv6/setup.ts";
export {
  formatIpv6,
  type Ipv6Address,
  parseIpv6Address,
  tryParseIpv6Address,
} from "./src/wire/addr6.ts";
export {
  type InterfaceConfig,
  type PingOptions,
  type PingResult,
  Stack,
  type StackOptions,
} from "./src/api/stack.ts";
export { Conn, type ConnectOptions, type TcpNetAddr } from "./src/api/conn.ts";
export { Listener, type ListenOptions } from "./src/api/listener.ts";
export {
  type Addr,
  DatagramConn,
  type ListenDatagramOptions,
  type MulticastV4Membership,
  type MulticastV6Membership,
  type NetAddr,
} from "./src/api/datagram.ts";
export * from "./src/socket/errors.ts";
export { type ErrnoCode, errnoName } from "./src/core/errno.ts";
export * from "./src/core/stats.ts";
export {
  type Endpoint,
  formatSocketTable,
  type SocketInfo,
  type TcpConnectionInfo,
} from "./src/socket/socket_info.ts";
export type { TcpInfo } from "./src/socket/tcp_info.ts";
export { type Clock, holdProcess, RealClock, type Timer, VirtualClock } from "./src/core/clock.ts";
export { CryptoRandom, type RandomSource, SeededRandom } from "./src/core/random.ts";
export { Arena, type ArenaOptions } from "./src/skb/arena.ts";
export type { EngineChoice, EngineKind, HotPaths } from "./src/wasm/bindings.ts";
export type { NetDevice, TapDirection } from "./src/link/device.ts";
export { createPipe, PipeDevice, type PipeOptions } from "./src/link/pipe.ts";
export type { BlackoutPattern, ImpairmentConfig } from "./src/link/impair.ts";
export { LoopbackDevice, type LoopbackOptions } from "./src/link/loopback.ts";
export {
  type LinkChangeEvent,
  type ReconnectOptions,
  type WebSocketLike,
  WebSocketLink,
  WebSocketLinkError,
  type WebSocketLinkOptions,
} from "./src/link/websocket.ts";
export {
  type BatchMessage,
  BroadcastChannelLink,
  type MessageEndpoint,
  MessageLink,
  type MessageLinkOptions,
  MessageLinkStats,
  MessagePortLink,
} from "./src/link/message_link.ts";
export {
  type InterfaceInfo,
  type LinkSpec,
  type WorkerEndpoint,
  type WorkerStackConfig,
  type WorkerStackStats,
} from "./src/worker/protocol.ts";
export { serveStack } from "./src/worker/host.ts";
export {
  WORKER_NAME,
  type WorkerConn,
  type WorkerListener,
  WorkerStack,
  type WorkerStackOptions,
} from "./src/worker/proxy.ts";
export {
  type PcapDirection,
  type PcapFrame,
  type PcapReadResult,
  type PcapRecording,
  type PcapSink,
  PcapWriter,
  type PcapWriterOptions,
  readPcap,
  recordPcap,
  type RecordPcapOptions,
} from "./src/link/pcap.ts";
export type { TcpConfig } from "./src/tcp/config.ts";
export {
  type HostAddress,
  type MxRecord,
  type NameServerInput,
  type RecordType,
  type ResolveDnsOptions,
  Resolver,
  type ResolverConfig,
  type ResolverOptions,
  type SoaRecord,
  type SrvRecord,
} from "./src/dns/resolver.ts";
export { DnsError, NotFound } from "./src/dns/errors.ts";
export { DnsStats } from "./src/dns/transport.ts";
export type { DnsServer } from "./src/dns/transport.ts";
export type { CacheHit, DnsCache, DnsCacheOptions, DnsCacheStats } from "./src/dns/cache.ts";
export type { DnsRdata, DnsRecord } from "./src/dns/wire.ts";
export {
  type FetchInit,
  HttpClient,
  type HttpClientOptions,
  type HttpClientStats,
} from "./src/http/client.ts";
export {
  DhcpClient,
  type DhcpClientOptions,
  DhcpEvent,
  type DhcpLease,
  type DhcpState,
} from "./src/dhcp/client.ts";
export type { DhcpClientStats } from "./src/dhcp/client.ts";
export type { DhcpRepr } from "./src/dhcp/wire.ts";
export { DhcpServer, type DhcpServerOptions } from "./src/dhcp/server.ts";
export type { DhcpServerStats } from "./src/dhcp/server.ts";
