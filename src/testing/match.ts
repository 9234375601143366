/**
 * Flows, sequence-number translation and packet matching.
 *
 * Sequence numbers in scripts are relative, as in packetdrill:
 * - the scripted peer's ISN is the `seq` of the first inbound SYN of a flow
 *   (a SYN's `seq` is written absolute; later inbound `seq` values are
 *   offsets from it, and outbound `ack`/SACK edges are shown relative to it);
 * - the stack's ISN is learned from the first SYN it sends on the flow,
 *   which is taken to be the `seq` the script wrote for it (normally 0);
 *   later outbound `seq` values, inbound `ack` values, inbound SACK edges
 *   and quoted sequence numbers in inbound ICMP are offsets from it;
 * - the stack's TCP timestamp clock is relative the same way: its first
 *   `TS val` on a flow is taken to be what the script wrote for it (0 when
 *   not written); inbound `TS ecr` values are translated back;
 * - an ISN not learned yet counts as 0, so numbers are used as written.
 * With `absolute` (script option `--absolute_seq`) nothing is translated.
 *
 * A flow is one (local port, remote port) pair; addresses are the script's
 * fixed local and remote IPs.
 *
 * @module
 */
import { formatIpv4 } from "../wire/addr.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { TcpFlags } from "../wire/tcp.ts";
import type {
  IcmpPacketSpec,
  IcmpQuoteSpec,
  IpInfo,
  PacketSpec,
  TcpOptionSpec,
  TcpPacketSpec,
  UdpPacketSpec,
} from "./ast.ts";
import { formatPacket } from "./format.ts";
import type { SeenFrame, SeenQuote, SeenTcp } from "./decode.ts";
import { IcmpType, IcmpUnreachableCode } from "../wire/icmp.ts";

/**
 * The state of one flow: its ports and the learned ISNs and timestamp offset.
 *
 * @example
 * ```ts
 * import { Flow } from "./match.ts";
 * const f = new Flow(8080, 48000);
 * f.remoteIsn; // undefined until the first inbound SYN
 * ```
 */
export class Flow {
  /** The scripted peer's ISN (from its first SYN). */
  remoteIsn: number | undefined;
  /** The stack's ISN as sent on the wire. */
  localIsn: number | undefined;
  /** What the script wrote for the stack's SYN `seq` (usually 0). */
  localIsnScript = 0;
  /** Stack TS val on the wire minus the script's value. */
  tsOffset: number | undefined;

  /**
   * @param localPort the stack's port (undefined until learned, after connect())
   * @param remotePort the scripted peer's port
   */
  constructor(public localPort: number | undefined, readonly remotePort: number) {}
}

/**
 * All flows of a run and the current one (what lines without ports use).
 *
 * @example
 * ```ts
 * import { Flows } from "./match.ts";
 * const flows = new Flows(8080, 48000);
 * flows.current.localPort; // 8080
 * flows.get(8080, 48001).remotePort; // 48001
 * ```
 */
export class Flows {
  current: Flow;
  /** The flow of the last injected TCP/UDP packet: what an outbound ICMP error quotes. */
  lastInbound: Flow | undefined;
  readonly #byKey = new Map<string, Flow>();

  constructor(localPort: number | undefined, remotePort: number) {
    this.current = this.#make(localPort, remotePort);
  }

  /** The flow for these ports, made on first use. */
  get(localPort: number, remotePort: number): Flow {
    return this.#byKey.get(`${localPort}:${remotePort}`) ?? this.#make(localPort, remotePort);
  }

  /** Start a new current flow (after connect()); `localPort` may be learned later. */
  begin(localPort: number | undefined, remotePort: number): Flow {
    this.current = localPort === undefined
      ? this.#make(undefined, remotePort)
      : this.get(localPort, remotePort);
    return this.current;
  }

  /** Learn the local port of a flow started without one. */
  learn(flow: Flow, localPort: number): void {
    flow.localPort = localPort;
    // The new connection owns these ports now (an older flow on them is over).
    this.#byKey.set(`${localPort}:${flow.remotePort}`, flow);
  }

  #make(localPort: number | undefined, remotePort: number): Flow {
    const f = new Flow(localPort, remotePort);
    if (localPort !== undefined) this.#byKey.set(`${localPort}:${remotePort}`, f);
    return f;
  }
}

const SYN = TcpFlags.SYN;
const u32 = (x: number) => x >>> 0;

/**
 * Script ↔ wire number translation for one run (see the module notes).
 *
 * @example
 * ```ts
 * import { Flow, SeqTranslator } from "./match.ts";
 * const t = new SeqTranslator(false);
 * const f = new Flow(8080, 48000);
 * t.inSeq(f, 1000, true); // 1000: a SYN's seq is absolute and becomes the peer's ISN
 * t.inSeq(f, 1, false); // 1001
 * ```
 */
export class SeqTranslator {
  /** @param absolute use numbers as written, in both directions */
  constructor(readonly absolute: boolean) {}

  /** Inbound `seq` (learns the peer's ISN from its first SYN). */
  inSeq(f: Flow, seq: number, syn: boolean): number {
    if (this.absolute) return seq;
    if (syn) {
      f.remoteIsn ??= seq;
      return seq;
    }
    return u32(seq + (f.remoteIsn ?? 0));
  }
  /** Inbound `ack`, SACK edges and quoted sequence numbers: the stack's space. */
  inLocal(f: Flow, n: number): number {
    return this.absolute ? n : u32(n + (f.localIsn ?? 0));
  }
  /** Inbound `TS ecr`: the stack's timestamp clock. */
  inEcr(f: Flow, ecr: number): number {
    return this.absolute ? ecr : u32(ecr + (f.tsOffset ?? 0));
  }
  /** Outbound `seq`; the first SYN teaches the stack's ISN (`scriptIsn` = what the line wrote). */
  outSeq(f: Flow, seq: number, syn: boolean, scriptIsn: number): number {
    if (this.absolute) return seq;
    if (syn && f.localIsn === undefined) {
      f.localIsn = seq;
      f.localIsnScript = scriptIsn;
    }
    if (f.localIsn === undefined) return seq;
    return syn ? u32(seq - f.localIsn + f.localIsnScript) : u32(seq - f.localIsn);
  }
  /** Outbound `ack`, SACK edges and quoted sequence numbers: the peer's space. */
  outRemote(f: Flow, n: number): number {
    return this.absolute ? n : u32(n - (f.remoteIsn ?? 0));
  }
  /** Outbound `TS val` (the first one teaches the offset; `scriptVal` = what the line wrote). */
  outTsVal(f: Flow, val: number, scriptVal: number): number {
    if (this.absolute) return val;
    f.tsOffset ??= u32(val - scriptVal);
    return u32(val - f.tsOffset);
  }
}

/** What a comparison needs to know about the run. */
export interface MatchContext {
  readonly flows: Flows;
  readonly xlate: SeqTranslator;
  readonly localIp: number;
  readonly remoteIp: number;
  /** Over IPv6: the stack's and the peer's addresses in canonical text. */
  readonly local6?: string;
  readonly remote6?: string;
}

/**
 * The outcome of matching one expectation: the packet as the script would
 * write it, and the names of the fields that differ (empty = match).
 *
 * @example
 * ```ts
 * import type { MatchResult } from "./match.ts";
 * const ok = (m: MatchResult) => m.diffs.length === 0;
 * ```
 */
export interface MatchResult {
  /** The sent packet in script notation. */
  readonly got: string;
  readonly diffs: readonly string[];
}

/**
 * The flow an expectation or injected packet belongs to: its explicit
 * `src>dst` ports (local>remote for `>`, remote>local for `<`), else the
 * current flow.
 *
 * @example
 * ```ts
 * import { flowOf, Flows } from "./match.ts";
 * const flows = new Flows(8080, 48000);
 * flowOf(flows, { proto: "udp", direction: "<", len: 1, ports: { src: 48001, dst: 8080 } })
 *   .remotePort; // 48001
 * ```
 */
export function flowOf(flows: Flows, p: PacketSpec): Flow {
  if (p.proto === "icmp" || p.ports === undefined) return flows.current;
  return p.direction === ">"
    ? flows.get(p.ports.src, p.ports.dst)
    : flows.get(p.ports.dst, p.ports.src);
}

/**
 * Compare a frame the stack sent with an expectation (`exp.direction` is `>`).
 *
 * @example
 * ```ts
 * import { decodeFrame } from "./decode.ts";
 * import { udpFrame } from "./packets.ts";
 * import { Flows, matchPacket, SeqTranslator } from "./match.ts";
 * const frame = udpFrame({ srcMac: 2, dstMac: 1, srcIp: 0xc0000202, dstIp: 0xc0000201, ipId: 1 },
 *   8080, 48000, new Uint8Array(5), false);
 * const m = matchPacket({ proto: "udp", direction: ">", len: 5 }, decodeFrame(frame, 0), {
 *   flows: new Flows(8080, 48000), xlate: new SeqTranslator(false),
 *   localIp: 0xc0000202, remoteIp: 0xc0000201,
 * });
 * m.diffs; // []
 * ```
 */
export function matchPacket(exp: PacketSpec, seen: SeenFrame, ctx: MatchContext): MatchResult {
  const diffs: string[] = [];
  const notes: string[] = [];
  const ip = seen.ip;
  if (ip?.version === 6) {
    if (ip.src6 !== ctx.local6 || ip.dst6 !== ctx.remote6) {
      diffs.push("addresses");
      notes.push(`ipv6 ${ip.src6} > ${ip.dst6}`);
    }
  } else if (ip && (ip.src !== ctx.localIp || ip.dst !== ctx.remoteIp)) {
    diffs.push("addresses");
    notes.push(`ipv4 ${formatIpv4(ip.src)} > ${formatIpv4(ip.dst)}`);
  }
  let got: PacketSpec | undefined;
  if (exp.proto === "tcp" && seen.tcp) got = matchTcp(exp, seen.tcp, ctx, diffs);
  else if (exp.proto === "udp" && seen.udp) {
    const flow = flowOf(ctx.flows, exp);
    const u = seen.udp;
    const ports = checkPorts(ctx.flows, flow, u.srcPort, u.dstPort, exp.ports !== undefined, diffs);
    if (u.payload.length !== exp.len) diffs.push("length");
    if (exp.payload && !sameBytes(exp.payload, u.payload)) diffs.push("payload");
    if (!u.checksumOk) diffs.push("checksum");
    const g: UdpPacketSpec = {
      proto: "udp",
      direction: ">",
      ...(ports ? { ports } : {}),
      len: u.payload.length,
      ...(exp.payload ? { payload: u.payload } : {}),
    };
    got = g;
  } else if (exp.proto === "icmp" && seen.icmp) got = matchIcmp(exp, seen, ctx, diffs);
  else diffs.push("protocol");
  if (got && exp.ip && seen.ip) {
    got = { ...got, ip: seenIpInfo(exp.ip, seen.ip.tos, seen.ip.ttl) };
    if (!ipInfoMatches(exp.ip, seen.ip.tos, seen.ip.ttl)) diffs.push("ip");
  }
  if (seen.tcp && !seen.tcp.checksumOk) notes.push("bad TCP checksum");
  if (seen.icmp && !seen.icmp.checksumOk) notes.push("bad ICMP checksum");
  if (seen.udp && !seen.udp.checksumOk) notes.push("bad UDP checksum");
  // A packet of another kind is shown in its own notation (describeSeen matches
  // it against a permissive expectation of its kind, on a copy of the flows).
  const text = got ? formatPacket(got) : describeSeen(seen, ctx);
  return { got: notes.length ? `${text} (${notes.join("; ")})` : text, diffs };
}

function matchTcp(
  exp: TcpPacketSpec,
  t: SeenTcp,
  ctx: MatchContext,
  diffs: string[],
): TcpPacketSpec {
  const flow = flowOf(ctx.flows, exp);
  const x = ctx.xlate;
  const ports = checkPorts(ctx.flows, flow, t.srcPort, t.dstPort, exp.ports !== undefined, diffs);
  const syn = (t.flags & SYN) !== 0;
  const seq = x.outSeq(flow, t.seq, syn, (exp.flags & SYN) !== 0 ? exp.seq : 0);
  const ack = x.outRemote(flow, t.ack);
  const expTs = exp.options === "any" ? undefined : exp.options.find((o) => o.kind === "TS");
  const options = t.options.map((o): TcpOptionSpec => {
    if (o.kind === "sack") {
      return {
        kind: "sack",
        blocks: o.blocks.map(([l, r]) => [x.outRemote(flow, l), x.outRemote(flow, r)]),
      };
    }
    if (o.kind === "TS" && typeof o.val === "number") {
      const scriptVal = expTs?.kind === "TS" && typeof expTs.val === "number" ? expTs.val : 0;
      return { kind: "TS", val: x.outTsVal(flow, o.val, scriptVal), ecr: o.ecr };
    }
    return o;
  });
  if (t.flags !== exp.flags) diffs.push("flags");
  if (seq !== exp.seq) diffs.push("seq");
  if (t.payload.length !== exp.len) diffs.push("length");
  if (typeof exp.ack === "number" && ack !== exp.ack) diffs.push("ack");
  if (typeof exp.win === "number" && t.window !== exp.win) diffs.push("win");
  if (typeof exp.urg === "number" && t.urgentPointer !== exp.urg) diffs.push("urg");
  if (exp.options !== "any" && !optionListsMatch(exp.options, options)) diffs.push("options");
  if (exp.payload && !sameBytes(exp.payload, t.payload)) diffs.push("payload");
  if (!t.checksumOk) diffs.push("checksum");
  const showAck = (t.flags & TcpFlags.ACK) !== 0 || exp.ack !== undefined;
  const showUrg = (t.flags & TcpFlags.URG) !== 0 || exp.urg !== undefined;
  return {
    proto: "tcp",
    direction: ">",
    ...(ports ? { ports } : {}),
    flags: t.flags,
    seq,
    len: t.payload.length,
    ...(showAck ? { ack } : {}),
    win: t.window,
    ...(showUrg ? { urg: t.urgentPointer } : {}),
    options,
    ...(exp.payload ? { payload: t.payload } : {}),
  };
}

function matchIcmp(
  exp: IcmpPacketSpec,
  seen: SeenFrame,
  ctx: MatchContext,
  diffs: string[],
): IcmpPacketSpec {
  const m = seen.icmp!;
  // An error from the stack quotes a packet the peer sent: normally the last one.
  const flow = ctx.flows.lastInbound ?? ctx.flows.current;
  if (m.type !== exp.type) diffs.push("type");
  if (m.code !== exp.code) diffs.push("code");
  const mtu = m.rest & 0xffff;
  const id = m.rest >>> 16;
  if (exp.mtu !== undefined && mtu !== exp.mtu) diffs.push("mtu");
  if (exp.id !== undefined && id !== exp.id) diffs.push("id");
  let quote: IcmpQuoteSpec | undefined;
  if (m.quote) quote = quoteSpec(m.quote, flow, ctx.xlate);
  if (exp.quote) {
    const q = m.quote;
    if (q === undefined || quote === undefined) diffs.push("quote");
    else {
      // The quoted datagram is one the scripted peer sent: remote → local.
      const portsOk = q.srcPort === flow.remotePort &&
        (flow.localPort === undefined || q.dstPort === flow.localPort);
      if (!portsOk) diffs.push("quoted ports");
      if (
        quote.proto !== exp.quote.proto || quote.len !== exp.quote.len ||
        (quote.proto === "tcp" && exp.quote.proto === "tcp" && quote.seq !== exp.quote.seq)
      ) diffs.push("quote");
    }
  }
  if (!m.checksumOk) diffs.push("checksum");
  const frag = m.type === IcmpType.DEST_UNREACHABLE && m.code === IcmpUnreachableCode.FRAG_NEEDED;
  return {
    proto: "icmp",
    direction: ">",
    type: m.type,
    code: m.code,
    ...(frag || exp.mtu !== undefined ? { mtu } : {}),
    ...(exp.id !== undefined ? { id } : {}),
    ...(quote ? { quote } : {}),
  };
}

function quoteSpec(q: SeenQuote, flow: Flow, x: SeqTranslator): IcmpQuoteSpec | undefined {
  if (q.protocol === IpProtocol.UDP) return { proto: "udp", len: q.len };
  if (q.protocol === IpProtocol.TCP && q.seq !== undefined) {
    return { proto: "tcp", seq: x.outRemote(flow, q.seq), len: q.len };
  }
  return undefined;
}

/** Check (and learn) ports; returns the ports to show when they are not the flow's own. */
function checkPorts(
  flows: Flows,
  flow: Flow,
  src: number,
  dst: number,
  explicit: boolean,
  diffs: string[],
): { src: number; dst: number } | undefined {
  if (flow.localPort === undefined && dst === flow.remotePort) flows.learn(flow, src);
  const ok = src === flow.localPort && dst === flow.remotePort;
  if (!ok) diffs.push("ports");
  return ok && !explicit ? undefined : { src, dst };
}

function optionListsMatch(exp: readonly TcpOptionSpec[], got: readonly TcpOptionSpec[]): boolean {
  if (exp.length !== got.length) return false;
  return exp.every((e, i) => optionMatches(e, got[i]!));
}

function optionMatches(e: TcpOptionSpec, g: TcpOptionSpec): boolean {
  if (e.kind === "raw" || e.kind === "opt" || g.kind === "raw" || g.kind === "opt") {
    return sameBytes(optionBytes(e), optionBytes(g));
  }
  if (e.kind !== g.kind) return false;
  switch (e.kind) {
    case "mss":
    case "wscale":
      return e.value === (g as typeof e).value;
    case "sack": {
      const gb = (g as typeof e).blocks;
      return gb.length === e.blocks.length &&
        e.blocks.every(([l, r], i) => gb[i]![0] === l && gb[i]![1] === r);
    }
    case "TS": {
      const gt = g as typeof e;
      return (e.val === "*" || e.val === gt.val) && (e.ecr === "*" || e.ecr === gt.ecr);
    }
    default:
      return true;
  }
}

/** Wire bytes of a non-translated option (for byte-level comparison of opt/raw items). */
function optionBytes(o: TcpOptionSpec): Uint8Array {
  switch (o.kind) {
    case "raw":
      return o.bytes;
    case "opt": {
      const body = o.data ?? new Uint8Array(Math.max(0, o.length - 2));
      return new Uint8Array([o.code, o.length, ...body]);
    }
    case "nop":
      return new Uint8Array([1]);
    case "eol":
      return new Uint8Array([0]);
    case "mss":
      return new Uint8Array([2, 4, o.value >> 8, o.value & 255]);
    case "wscale":
      return new Uint8Array([3, 3, o.value]);
    case "sackOK":
      return new Uint8Array([4, 2]);
    default:
      // TS and SACK carry translated numbers; never equal to raw bytes by construction.
      return new Uint8Array([o.kind === "TS" ? 8 : 5, 0xff]);
  }
}

const ECN_NAMES = ["noecn", "ect1", "ect0", "ce"] as const;

function ipInfoMatches(exp: IpInfo, tos: number, ttl: number): boolean {
  const ecn = tos & 3;
  if (exp.ecn === "ect01") {
    if (ecn !== 1 && ecn !== 2) return false;
  } else if (exp.ecn !== undefined && ECN_NAMES[ecn] !== exp.ecn) return false;
  if (exp.tos !== undefined) {
    const mask = exp.ecn !== undefined ? 0xfc : 0xff;
    if ((tos & mask) !== (exp.tos & mask)) return false;
  }
  return exp.ttl === undefined || exp.ttl === ttl;
}

function seenIpInfo(exp: IpInfo, tos: number, ttl: number): IpInfo {
  return {
    ...(exp.ecn !== undefined ? { ecn: ECN_NAMES[tos & 3]! } : {}),
    ...(exp.tos !== undefined ? { tos } : {}),
    ...(exp.ttl !== undefined ? { ttl } : {}),
  };
}

/**
 * A frame that matched no packet kind, in a readable form
 * (`arp who-has 192.0.2.1 tell 192.0.2.2`, `ipv4 proto 47`, …).
 *
 * @example
 * ```ts
 * import { describeFrame } from "./match.ts";
 * describeFrame({ t: 0, bytes: new Uint8Array(0), problem: "truncated Ethernet header" });
 * // "> [truncated Ethernet header]"
 * ```
 */
export function describeFrame(seen: SeenFrame): string {
  if (seen.arp) {
    const a = seen.arp;
    return a.op === 1
      ? `> arp who-has ${formatIpv4(a.targetIp)} tell ${formatIpv4(a.senderIp)}`
      : `> arp reply ${formatIpv4(a.senderIp)} is-at ${a.senderMac.toString(16).padStart(12, "0")}`;
  }
  if (seen.nd) {
    const n = seen.nd;
    const what = n.type === 135
      ? `neighbour solicitation for ${n.target}`
      : n.type === 136
      ? `neighbour advertisement of ${n.target}`
      : n.type === 133
      ? "router solicitation"
      : n.type === 143
      ? "mldv2 report"
      : `icmpv6 type ${n.type}`;
    return `> nd ${what} (to ${seen.ip?.dst6})`;
  }
  if (seen.tcp) return `> tcp ${seen.tcp.srcPort}>${seen.tcp.dstPort} (${seen.tcp.payload.length})`;
  if (seen.udp) return `> udp ${seen.udp.srcPort}>${seen.udp.dstPort} (${seen.udp.payload.length})`;
  if (seen.icmp) return `> icmp type_${seen.icmp.type} code_${seen.icmp.code}`;
  if (seen.problem) return `> [${seen.problem}]`;
  return `> ${seen.bytes.length}-byte frame`;
}

/**
 * A sent frame in script notation without an expectation to guide it (for
 * "unexpected packet" messages and the transcript): TCP with its window and
 * options, UDP, ICMP.
 *
 * @example
 * ```ts
 * import { describeSeen, Flows, SeqTranslator } from "./match.ts";
 * describeSeen({ t: 0, bytes: new Uint8Array(0), problem: "IP protocol 47" }, {
 *   flows: new Flows(8080, 48000), xlate: new SeqTranslator(false),
 *   localIp: 0xc0000202, remoteIp: 0xc0000201,
 * }); // "> [IP protocol 47]"
 * ```
 */
export function describeSeen(seen: SeenFrame, ctx: MatchContext): string {
  // Match against a permissive expectation of the same kind, without learning
  // anything: a copy of the flow state keeps the real flows untouched.
  const flows = new Flows(ctx.flows.current.localPort, ctx.flows.current.remotePort);
  Object.assign(flows.current, {
    remoteIsn: ctx.flows.current.remoteIsn,
    localIsn: ctx.flows.current.localIsn,
    localIsnScript: ctx.flows.current.localIsnScript,
    tsOffset: ctx.flows.current.tsOffset,
  });
  const probe = { ...ctx, flows };
  if (seen.tcp) {
    return matchPacket(
      { proto: "tcp", direction: ">", flags: seen.tcp.flags, seq: 0, len: 0, options: "any" },
      seen,
      probe,
    ).got;
  }
  if (seen.udp) return matchPacket({ proto: "udp", direction: ">", len: 0 }, seen, probe).got;
  if (seen.icmp) {
    return matchPacket({ proto: "icmp", direction: ">", type: 0, code: 0 }, seen, probe).got;
  }
  return describeFrame(seen);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
