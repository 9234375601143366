/**
 * netwasm: a TCP/IP stack in TypeScript and WebAssembly for Deno and browsers.
 *
 * @example
 * ```ts
 * import { Arena, SkbAllocator } from "./mod.ts";
 * const skbs = new SkbAllocator(new Arena());
 * const skb = skbs.alloc(64);
 * skb?.free();
 * ```
 *
 * @module
 */
export * from "./src/core/clock.ts";
export * from "./src/core/random.ts";
export * from "./src/core/timers.ts";
export * from "./src/skb/arena.ts";
export * from "./src/skb/skbuff.ts";
export * from "./src/skb/queue.ts";
export * from "./src/wasm/checksum.ts";
export * from "./src/link/device.ts";
export * from "./src/link/websocket.ts";
export * from "./src/wasm/bindings.ts";
export * from "./src/api/stack.ts";
export * from "./src/api/datagram.ts";
export { Conn, connect, type ConnectOptions, type TcpNetAddr } from "./src/api/conn.ts";
export { listen, Listener, type ListenOptions } from "./src/api/listener.ts";
export * from "./src/socket/constants.ts";
export * from "./src/socket/errors.ts";
export type { SockAddrIn, SockAddrInput } from "./src/socket/address.ts";
export {
  type BlockingOptions,
  type Linger,
  type PollFd,
  type RecvResult,
  SocketLayer,
  type SocketLayerOptions,
} from "./src/socket/fd_table.ts";
export type { SockExtendedError } from "./src/socket/socket.ts";
export { UDP_MAX_PAYLOAD, type UdpOptions, UdpProtocol } from "./src/udp/udp.ts";
export { createPipe, PipeDevice, type PipeOptions } from "./src/link/pipe.ts";
export type { BlackoutPattern, ImpairmentConfig } from "./src/link/impair.ts";
export { LoopbackDevice, type LoopbackOptions } from "./src/link/loopback.ts";
export {
  type PcapRecording,
  PcapWriter,
  type PcapWriterOptions,
  readPcap,
  recordPcap,
  type RecordPcapOptions,
} from "./src/link/pcap.ts";
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
export { DhcpServer, type DhcpServerOptions } from "./src/dhcp/server.ts";
