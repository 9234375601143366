/**
 * Scratch records the output path fills for every segment it builds, one set
 * per protocol instance (no per-segment allocation of option, header or
 * send-option objects, and nothing shared between stacks).
 *
 * @module
 */
import type { Ipv4SendOptions } from "../ipv4/layer.ts";
import type { Ipv6SendOptions } from "../ipv6/layer.ts";
import type { Ipv4Address } from "../wire/addr.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { NextHeader } from "../wire/ipv6.ts";
import { type TcpEmitRepr, TcpField } from "../wire/tcp.ts";
import type { TcpOptions } from "../wire/tcp_options.ts";

/** `T` with every property writable: the shape of the records reused for each segment. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/**
 * `T` writable, with every property allowed to be `undefined`: a send-options
 * record reused for each segment whose optional fields are reset between uses.
 *
 * @example
 * ```ts
 * import type { Resettable } from "./scratch.ts";
 * const o: Resettable<{ hopLimit?: number }> = { hopLimit: undefined };
 * ```
 */
export type Resettable<T> = { -readonly [K in keyof T]: T[K] | undefined };

/**
 * The reusable records behind `transmitSkb` and the RST replies.
 *
 * @example
 * ```ts
 * import { SegmentScratch } from "./scratch.ts";
 * const s = new SegmentScratch();
 * s.repr.options === s.opts; // true: one options record, reused
 * ```
 */
export class SegmentScratch {
  /** Options of the segment being built. */
  readonly opts: Mutable<TcpOptions> = {
    mss: null,
    windowScale: null,
    sackPermitted: false,
    tsVal: null,
    tsEcr: 0,
    sackBlocks: null,
  };
  /** Header fields of the segment being built. */
  readonly repr: Mutable<TcpEmitRepr> = {
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    urgentPointer: 0,
    options: this.opts,
    payloadLength: 0,
  };
  /** SACK blocks of the segment being built: `sackArrays[n − 1]` holds n blocks. */
  readonly sackArrays: number[][] = [
    [0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0],
  ];
  /** Received SACK blocks sorted for the scoreboard walk (4 pairs). */
  readonly sackSort: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  /** The pseudo-header's addresses for the checksum. */
  readonly pseudo: { src: Ipv4Address; dst: Ipv4Address } = { src: 0, dst: 0 };
  /** What IPv4 output is told. */
  readonly send: Mutable<Ipv4SendOptions> = { protocol: IpProtocol.TCP, src: 0 };
  /**
   * What IPv6 output is told: TCP, the checksum left for the layer to fill
   * over the pseudo-header, never fragmented (the path MTU sizes segments).
   */
  readonly send6: Resettable<Ipv6SendOptions> = {
    nextHeader: NextHeader.TCP,
    checksumOffset: TcpField.CHECKSUM,
    dontFragment: true,
  };

  /** Clear the options (a RST carries none). */
  clearOptions(): void {
    const o = this.opts;
    o.mss =
      o.windowScale =
      o.tsVal =
      o.sackBlocks =
        null;
    o.sackPermitted = false;
    o.tsEcr = 0;
  }
}
