/**
 * Helpers for the neighbour-table tests: two hosts on a pipe, each with its
 * own {@link NeighbourTable}, a log of the frames each received, and builders
 * for ARP packets and pretend datagrams.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { type LinkEnv, linkEnv } from "../link/_harness.ts";
import { createPipe, type PipeDevice } from "../../src/link/pipe.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { StackStats } from "../../src/core/stats.ts";
import type { SkbAllocator, SkBuff } from "../../src/skb/skbuff.ts";
import { Iface } from "../../src/ipv4/iface.ts";
import { type NeighbourOptions, NeighbourTable } from "../../src/ipv4/neighbour.ts";
import { ipv4, type Ipv4Address, MAC_BROADCAST, type MacAddress } from "../../src/wire/addr.ts";
import { ArpOp, type ArpRepr, emitArp, parseArp } from "../../src/wire/arp.ts";
import { emitEthernet, EtherType, parseEthernet } from "../../src/wire/ethernet.ts";

/** Host A (the table under test, mostly). */
export const A_IP = ipv4(192, 0, 2, 1);
/** Host B, A's neighbour on the pipe. */
export const B_IP = ipv4(192, 0, 2, 2);
/** An on-link address nobody answers for. */
export const C_IP = ipv4(192, 0, 2, 3);
/** MACs of A and B, and X: a MAC nobody on the pipe has (a spoofer's, a replaced NIC's). */
export const A_MAC = 0x020000000001;
export const B_MAC = 0x020000000002;
export const X_MAC = 0x0200000000aa;

/** A frame one end received, decoded. */
export interface Frame {
  t: number;
  dst: MacAddress;
  src: MacAddress;
  type: number;
  len: number;
  arp: ArpRepr | null;
  /** Test packet id of an IPv4 frame, else -1. */
  id: number;
}

/** One end of the pipe: device, interface, table, counters and what it received. */
export interface Side {
  dev: PipeDevice;
  iface: Iface;
  table: NeighbourTable;
  stats: StackStats;
  frames: Frame[];
  /** Hand received ARP to the table (false: the host is gone, frames are only logged). */
  answer: boolean;
  /** What onResolveFailed received: address and packet ids. */
  failed: { ip: Ipv4Address; ids: number[] }[];
}

/** Offset of the test id inside a test datagram (after a 20-byte IPv4 header). */
const ID_AT = 20;

/** A pretend IPv4 datagram carrying `id`, `skb.data` at the IP header. */
export function datagram(allocator: SkbAllocator, id: number): SkBuff {
  const skb = allocator.alloc(28)!;
  const at = skb.put(28);
  const u8 = skb.arena.u8;
  u8.fill(0, at, at + 28);
  u8[at] = 0x45;
  new DataView(u8.buffer).setUint32(at + ID_AT, id);
  return skb;
}

/** The test id of the datagram whose IPv4 header is at `ipAt`. */
export function readTestId(skb: SkBuff, ipAt: number): number {
  return new DataView(skb.arena.u8.buffer).getUint32(ipAt + ID_AT);
}

/** Two hosts on a pipe, each with its own table; received frames drained by a deferred task. */
export function world(
  optsA: Partial<NeighbourOptions> = {},
  optsB: Partial<NeighbourOptions> = {},
  env: LinkEnv = linkEnv(),
) {
  const [devA, devB] = createPipe({ allocator: env.allocator, clock: env.clock });
  devA.up();
  devB.up();
  const side = (dev: PipeDevice, index: number, address: Ipv4Address, opts: typeof optsA) => {
    const stats = new StackStats();
    const s: Side = {
      dev,
      iface: new Iface({ index, dev, address, prefixLength: 24 }),
      stats,
      frames: [],
      answer: true,
      failed: [],
      table: undefined as unknown as NeighbourTable,
    };
    s.table = new NeighbourTable({
      clock: env.clock,
      allocator: env.allocator,
      stats: stats.arp,
      drops: stats.drops,
      onResolveFailed: (_iface, ip, pending) => {
        s.failed.push({ ip, ids: pending.map((p) => readTestId(p, p.data)) });
        for (const p of pending) p.free();
      },
      ...opts,
    });
    dev.setRxNotify(() => env.clock.defer(() => drain(s)));
    return s;
  };
  const drain = (s: Side) => {
    s.dev.poll(Infinity, (skb) => {
      const u8 = skb.arena.u8;
      const eth = parseEthernet(u8, skb.data, skb.len);
      if (typeof eth === "string") throw new Error(eth);
      const arp = eth.ethertype === EtherType.ARP
        ? parseArp(u8, eth.payloadOffset, eth.payloadLength)
        : null;
      if (typeof arp === "string") throw new Error(arp);
      s.frames.push({
        t: env.clock.now(),
        dst: eth.dst,
        src: eth.src,
        type: eth.ethertype,
        len: skb.len,
        arp,
        id: eth.ethertype === EtherType.IPV4 ? readTestId(skb, eth.payloadOffset) : -1,
      });
      if (arp !== null && s.answer) {
        skb.macHeader = skb.data;
        skb.pull(14);
        s.table.rcvArp(skb, s.iface);
      } else {
        skb.free();
      }
    });
  };
  const a = side(devA, 1, A_IP, optsA);
  const b = side(devB, 2, B_IP, optsB);
  return {
    env,
    a,
    b,
    /** Close everything and prove nothing leaked and no timer is left. */
    finish() {
      a.table.close();
      b.table.close();
      devA.close();
      env.clock.runUntilIdle();
      assert.is(env.clock.pending, 0, "a timer outlived close()");
      env.assertNoLeak();
    },
  };
}

/** An ARP packet as received: `skb.data` at the ARP payload, Ethernet header at `macHeader`. */
export function arpIn(
  allocator: SkbAllocator,
  repr: ArpRepr,
  ethSrc: MacAddress = repr.senderMac,
  ethDst: MacAddress = MAC_BROADCAST,
): SkBuff {
  const skb = allocator.alloc(60, { headroom: 0 })!;
  const at = skb.put(60);
  const u8 = skb.arena.u8;
  u8.fill(0, at, at + 60);
  emitEthernet({ dst: ethDst, src: ethSrc, ethertype: EtherType.ARP }, u8, at);
  emitArp(repr, u8, at + 14);
  skb.macHeader = at;
  skb.pull(14);
  return skb;
}

/** An ARP request. */
export function request(
  senderMac: MacAddress,
  senderIp: Ipv4Address,
  targetIp: Ipv4Address,
): ArpRepr {
  return { op: ArpOp.REQUEST, senderMac, senderIp, targetMac: 0, targetIp };
}

/** An ARP reply to A (unicast to A unless `targetIp` says otherwise). */
export function reply(senderMac: MacAddress, senderIp: Ipv4Address, targetIp = A_IP): ArpRepr {
  return { op: ArpOp.REPLY, senderMac, senderIp, targetMac: A_MAC, targetIp };
}

/** The ARP frames a side received. */
export const arpFrames = (s: Side) => s.frames.filter((f) => f.arp !== null);
/** Test ids of the IPv4 datagrams a side received, in order. */
export const ipIds = (s: Side) => s.frames.filter((f) => f.id >= 0).map((f) => f.id);

/** What a bare NeighbourTable needs, with fresh counters. */
export function tableDeps(env: LinkEnv) {
  const s = new StackStats();
  return { clock: env.clock, allocator: env.allocator, stats: s.arp, drops: s.drops };
}

/**
 * Random flood senders: distinct addresses in 10.0.0.0/8 (a random odd stride
 * walks 2^24 values without repeating) and random locally administered MACs.
 */
export function uniqueSenders(seed: number): () => [MacAddress, Ipv4Address] {
  const rng = new SeededRandom(seed);
  const stride = (rng.nextU32() | 1) & 0xffffff;
  let at = rng.nextU32() & 0xffffff;
  return () => {
    at = (at + stride) & 0xffffff;
    // 0x02 first octet: unicast, locally administered; never one of the test MACs.
    const mac = 0x020000000000 + 0x100000000 + (rng.nextU32() >>> 4);
    return [mac, (ipv4(10, 0, 0, 0) + at) >>> 0];
  };
}

/** Resolve A → B and clear the logs. */
export function resolved(opts: Partial<NeighbourOptions> = {}) {
  const w = world(opts);
  w.a.table.output(w.a.iface, B_IP, datagram(w.env.allocator, 0));
  w.env.clock.advance(0);
  assert.is(w.a.table.lookup(B_IP), B_MAC);
  w.a.frames.length = 0;
  w.b.frames.length = 0;
  return w;
}
