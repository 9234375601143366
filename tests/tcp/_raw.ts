/**
 * A scripted raw peer for TCP tests (packetdrill-like, in-process): segments
 * are injected straight into stack B's TCP as if from 192.0.2.1, and
 * everything B's TCP sends is captured (and not delivered).
 *
 * @module
 */
import type { Pair } from "../_util/sim.ts";
import type { Ipv4Repr } from "../../src/wire/ipv4.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import type { SkBuff } from "../../src/skb/skbuff.ts";
import { emitTcp, parseTcp, TcpFlags, tcpHeaderLength } from "../../src/wire/tcp.ts";
import { NO_TCP_OPTIONS, type TcpOptions } from "../../src/wire/tcp_options.ts";
import { ADDR_A, ADDR_B } from "./_helpers.ts";

export { TcpFlags };

/** A segment B sent. */
export interface Seg {
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgentPointer: number;
  len: number;
  options: TcpOptions;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** What to inject. */
export interface InjectSpec {
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  urgentPointer?: number;
  options?: Partial<TcpOptions>;
  payload?: Uint8Array;
  src?: number;
  dst?: number;
}

/** Stack B's TCP under a scripted peer. */
export class RawPeer {
  readonly out: Seg[] = [];
  constructor(readonly p: Pair, readonly sport = 40000, readonly dport = 8080) {
    const ipv4 = p.b.ipv4;
    const orig = ipv4.output.bind(ipv4);
    ipv4.output = (skb: SkBuff, dst, o) => {
      if (o.protocol !== 6) return orig(skb, dst, o);
      const u8 = p.arena.u8;
      const th = parseTcp(u8, skb.data, skb.len, { src: o.src ?? ADDR_B, dst });
      if (typeof th !== "string") {
        this.out.push({
          seq: th.seq,
          ack: th.ack,
          flags: th.flags,
          window: th.window,
          urgentPointer: th.urgentPointer,
          len: th.payloadLength,
          options: th.options,
          srcPort: th.srcPort,
          dstPort: th.dstPort,
          payload: u8.slice(th.payloadOffset, th.payloadOffset + th.payloadLength),
        });
      }
      skb.free();
      return 0;
    };
  }

  /** Deliver one segment to B's TCP. */
  inject(s: InjectSpec): void {
    const payload = s.payload ?? new Uint8Array(0);
    const skb = this.p.b.allocator.alloc(payload.length)!;
    skb.append(payload);
    const options: TcpOptions = { ...NO_TCP_OPTIONS, ...s.options };
    const src = s.src ?? ADDR_A;
    const dst = s.dst ?? ADDR_B;
    const hlen = 20 + ((): number => {
      let n = 0;
      if (options.mss !== null) n += 4;
      if (options.tsVal !== null) n += 12;
      else if (options.sackPermitted) n += 4;
      if (options.windowScale !== null) n += 4;
      if (options.sackBlocks !== null) n += 4 + 4 * options.sackBlocks.length;
      return n;
    })();
    const at = skb.push(hlen);
    emitTcp(
      {
        srcPort: s.sport ?? this.sport,
        dstPort: s.dport ?? this.dport,
        seq: s.seq >>> 0,
        ack: (s.ack ?? 0) >>> 0,
        flags: s.flags,
        window: s.window ?? 65535,
        urgentPointer: s.urgentPointer ?? 0,
        options,
        payloadLength: payload.length,
      },
      this.p.arena.u8,
      at,
      { src, dst },
    );
    skb.networkHeader = at;
    const ip = { src, dst, protocol: 6 } as unknown as Ipv4Repr;
    this.p.b.tcp.rcv(skb, ip, undefined as unknown as Iface);
    // The end of a receive drain: ACKs owed for this segment go out now.
    this.p.clock.flush();
  }

  /** Segments sent since the last call. */
  take(): Seg[] {
    return this.out.splice(0);
  }
}

/** A connection between the raw peer (A side) and a socket accepted on B. */
export interface RawConn {
  peer: RawPeer;
  listener: import("../../src/tcp/sock.ts").TcpSock;
  sk: import("../../src/tcp/sock.ts").TcpSock;
  /** The peer's next sequence number (its ISS + 1). */
  peerSeq: number;
  /** B's ISS + 1: what the peer acknowledges. */
  ourSeq: number;
}

/** Passive open on B driven by the raw peer: SYN, SYN-ACK, ACK, accept. */
export function rawAccept(
  p: Pair,
  o: { options?: Partial<TcpOptions>; window?: number; backlog?: number } = {},
): RawConn {
  const peer = new RawPeer(p);
  const listener = p.b.tcp.socket();
  listener.bind(0, 8080);
  listener.listen(o.backlog ?? 8);
  const iss = 1000;
  peer.inject({ seq: iss, flags: TcpFlags.SYN, options: { mss: 1460, ...o.options } });
  const synack = peer.take().find((s) => s.flags === (TcpFlags.SYN | TcpFlags.ACK));
  if (synack === undefined) throw new Error("no SYN-ACK");
  const ts = o.options?.tsVal !== undefined && o.options.tsVal !== null;
  peer.inject({
    seq: iss + 1,
    ack: synack.seq + 1,
    flags: TcpFlags.ACK,
    window: o.window ?? 65535,
    ...(ts
      ? { options: { tsVal: (o.options!.tsVal as number) + 1, tsEcr: synack.options.tsVal ?? 0 } }
      : {}),
  });
  const sk = listener.accept();
  if (sk === null) throw new Error("not accepted");
  return { peer, listener, sk, peerSeq: iss + 1, ourSeq: (synack.seq + 1) >>> 0 };
}

/**
 * Deliver one crafted segment to `to`'s TCP as if from `src` (a live pair:
 * whatever `to` answers goes out on the wire as usual).
 */
export function injectInto(
  p: Pair,
  to: import("../../src/api/stack.ts").Stack,
  src: number,
  dst: number,
  s: InjectSpec & { sport: number; dport: number },
): void {
  const payload = s.payload ?? new Uint8Array(0);
  const options: TcpOptions = { ...NO_TCP_OPTIONS, ...s.options };
  const skb = to.allocator.alloc(payload.length)!;
  skb.append(payload);
  const at = skb.push(tcpHeaderLength(options));
  emitTcp(
    {
      srcPort: s.sport,
      dstPort: s.dport,
      seq: s.seq >>> 0,
      ack: (s.ack ?? 0) >>> 0,
      flags: s.flags,
      window: s.window ?? 65535,
      urgentPointer: 0,
      options,
      payloadLength: payload.length,
    },
    p.arena.u8,
    at,
    { src, dst },
  );
  skb.networkHeader = at;
  to.tcp.rcv(skb, { src, dst, protocol: 6 } as unknown as Ipv4Repr, undefined as unknown as Iface);
}
