/**
 * A tiny hand-written "stack under test" for the runner's own tests: it
 * answers frames with whatever a test tells it to, so the runner's matching,
 * timing and call machinery can be tested (and shown to fail) without
 * depending on how far the real TCP is.
 *
 * @module
 */
import type { ScriptEnv, ScriptTargetFactory } from "../../src/testing/runner.ts";
import { tcpFrame, udpFrame } from "../../src/testing/packets.ts";
import { decodeFrame, type SeenFrame } from "../../src/testing/decode.ts";
import type { ScriptSockets } from "../../src/testing/sockets.ts";
import { parseIpv4 } from "../../src/wire/addr.ts";

/** MACs the runner uses: its peer end and the stack's end. */
export const PEER_MAC = 0x02_00_00_00_00_01;
export const STACK_MAC = 0x02_00_00_00_00_02;

/** What a toy's frame handler can do. */
export interface ToyIo {
  readonly env: ScriptEnv;
  /** Transmit `frame` now or after `delayMs` of virtual time. */
  send(frame: Uint8Array, delayMs?: number): void;
  /** A TCP segment from the stack's 192.0.2.2:8080 to the peer's 192.0.2.1:48000. */
  tcp(o: ToySegment): Uint8Array;
  /** A UDP datagram from the stack's 8080 to the peer's 48000. */
  udp(len: number): Uint8Array;
}

/** Fields of a toy TCP segment (live numbers). */
export interface ToySegment {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: number[];
  len?: number;
  srcPort?: number;
}

/** Options for {@link toyTarget}. */
export interface ToyOptions {
  /** Called for every frame the toy receives (ARP included). */
  onFrame?: (seen: SeenFrame, io: ToyIo) => void;
  /** Socket adapter for script calls. */
  sockets?: (io: ToyIo) => ScriptSockets;
  /** Allocate a packet buffer and never free it (to test leak detection). */
  leak?: boolean;
}

/**
 * A target that runs `onFrame` for each frame and keeps every frame it got.
 *
 * @example
 * ```ts
 * import { toyTarget } from "./_toy_target.ts";
 * const toy = toyTarget({ onFrame: (seen, io) => { if (seen.udp) io.send(io.udp(1)); } });
 * // runScript(text, { target: toy.factory }); toy.received …
 * ```
 */
export function toyTarget(
  o: ToyOptions = {},
): { factory: ScriptTargetFactory; received: SeenFrame[] } {
  const received: SeenFrame[] = [];
  const factory: ScriptTargetFactory = (env) => {
    const dev = env.device;
    const localIp = parseIpv4(env.localIp);
    const remoteIp = parseIpv4(env.remoteIp);
    const addr = { srcMac: STACK_MAC, dstMac: PEER_MAC, srcIp: localIp, dstIp: remoteIp, ipId: 1 };
    const timers: ReturnType<typeof env.clock.setTimer>[] = [];
    const io: ToyIo = {
      env,
      send(frame, delayMs = 0) {
        const tx = () => {
          const skb = dev.allocator.fromBytes(frame);
          if (skb !== null) dev.transmit(skb);
        };
        if (delayMs === 0) tx();
        else timers.push(env.clock.setTimer(delayMs, tx));
      },
      tcp: (s) =>
        tcpFrame(addr, {
          srcPort: s.srcPort ?? 8080,
          dstPort: 48000,
          seq: s.seq >>> 0,
          ack: (s.ack ?? 0) >>> 0,
          flags: s.flags,
          window: s.window ?? 64240,
          urgentPointer: 0,
          options: new Uint8Array(s.options ?? []),
          payload: new Uint8Array(s.len ?? 0),
          badChecksum: false,
        }),
      udp: (len) => udpFrame(addr, 8080, 48000, new Uint8Array(len), false),
    };
    const drain = () => {
      dev.poll(1000, (skb) => {
        const bytes = dev.allocator.arena.u8.slice(skb.data, skb.data + skb.len);
        const seen = decodeFrame(bytes, Math.round(env.clock.now() * 1000));
        skb.free();
        received.push(seen);
        o.onFrame?.(seen, io);
      });
    };
    dev.setRxNotify(() => env.clock.defer(drain));
    dev.up();
    if (o.leak) dev.allocator.fromBytes(new Uint8Array(60));
    return {
      ...(o.sockets ? { sockets: o.sockets(io) } : {}),
      close: () => {
        for (const t of timers) env.clock.clearTimer(t);
        dev.setRxNotify(null);
        dev.close();
      },
    };
  };
  return { factory, received };
}

/**
 * A toy TCP peer: answers a SYN with a SYN-ACK from ISN `isn` (plus
 * `synAckOptions`), and hands every later segment to `onSegment`.
 *
 * @example
 * ```ts
 * import { toyTcp } from "./_toy_target.ts";
 * const toy = toyTcp({ isn: 0xfffffff0 });
 * ```
 */
export function toyTcp(o: {
  isn: number;
  synAckOptions?: number[];
  onSegment?: (seen: SeenFrame, io: ToyIo) => void;
}): ReturnType<typeof toyTarget> {
  return toyTarget({
    onFrame(seen, io) {
      const t = seen.tcp;
      if (t === undefined) return;
      if (t.flags === 0x02) {
        io.send(
          io.tcp({ seq: o.isn, ack: t.seq + 1, flags: 0x12, options: o.synAckOptions ?? [] }),
        );
        return;
      }
      o.onSegment?.(seen, io);
    },
  });
}
