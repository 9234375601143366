/**
 * The script runner: one stack on a virtual clock behind one pipe; the
 * runner plays the remote host on the other end. It injects `<` packets at
 * their times, checks every frame the stack sends against the next `>`
 * line, runs socket calls through a {@link ScriptSockets} adapter (blocking
 * calls are promises checked when they settle), and fails on the first
 * mismatch, timing error, missing or unexpected packet.
 *
 * Time: the clock starts at 0 = script time 0 and moves only when the
 * runner steps it. At each instant the runner lets the stack finish all its
 * work (deferred tasks, due timers, promise continuations) before it looks
 * at the wire, so results do not depend on the host's speed. Timers due at
 * an event's time fire before the event.
 *
 * Ordering: outbound packets must be listed in the order the stack sends
 * them. A packet sent before an inbound packet or call line (beyond the
 * tolerance) must appear before that line, else it is "unexpected"; after
 * the last line the runner keeps the clock running for a quiet period and
 * fails on anything sent then.
 *
 * Families (`ipVersion`, `--ip_version`): the same script runs over IPv4,
 * over IPv6 (AF_INET6 sockets, the family's addresses, ICMP lines as
 * ICMPv6, a link 20 bytes larger so MSS values stay those of IPv4), or over
 * IPv4 under AF_INET6 sockets (`ipv4-mapped-ipv6`). The runner plays the
 * peer's address resolution — ARP, or neighbour discovery over IPv6 — and
 * keeps the stack's own DAD, MLD and ND traffic out of the script.
 *
 * @module
 */
import { VirtualClock } from "../core/clock.ts";
import { SeededRandom } from "../core/random.ts";
import { createPipe, type PipeDevice } from "../link/pipe.ts";
import { Arena } from "../skb/arena.ts";
import { SkbAllocator } from "../skb/skbuff.ts";
import { MAC_BROADCAST, parseIpv4 as parseAddr } from "../wire/addr.ts";
import { formatIpv6, ipv6MulticastMac, parseIpv6Address, solicitedNode } from "../wire/addr6.ts";
import { AF_INET6 } from "../socket/constants.ts";
import type { PacketSpec, Script, ScriptEvent, SyscallSpec } from "./ast.ts";
import { type FdState, prepareCall } from "./calls.ts";
import { formatInstant, formatPacket, formatSyscall } from "./format.ts";
import {
  describeSeen,
  type Flow,
  flowOf,
  Flows,
  type MatchContext,
  matchPacket,
  SeqTranslator,
} from "./match.ts";
import {
  arpFrame,
  encodeTcpOptions,
  icmpFrame,
  icmpToV6,
  ndFrame,
  type QuotedDatagram,
  tcpFrame,
  udpFrame,
} from "./packets.ts";
import { decodeFrame, type SeenFrame } from "./decode.ts";
import { parseScript, ScriptSyntaxError } from "./parser.ts";
import {
  type ResolvedOptions,
  resolveOptions,
  type ScriptFailure,
  type ScriptOptions,
  type ScriptResult,
  type ScriptTarget,
  type TranscriptEntry,
} from "./run_config.ts";
import { errnoOf, type ScriptSockets, unavailableSockets } from "./sockets.ts";
import { canonicalErrno } from "./symbols.ts";
import { isIcmpErrorType } from "../wire/icmp.ts";

/**
 * Run a script against a fresh stack. Never throws for script failures
 * (syntax errors included): they come back as `ok: false` with a message.
 *
 * @example
 * ```ts
 * import { runScript } from "./runner.ts";
 * const r = await runScript(`
 *   0   < udp 48000>9 (10)
 *   +0  > icmp unreachable port_unreachable [udp (10)]
 * `);
 * r.ok || console.log(r.failure?.message);
 * ```
 */
export async function runScript(
  text: string | Script,
  options: ScriptOptions = {},
): Promise<ScriptResult> {
  let script: Script;
  try {
    script = typeof text === "string"
      ? parseScript(text, { ignoreShellCommands: options.ignoreShellCommands ?? false })
      : text;
  } catch (e) {
    if (e instanceof ScriptSyntaxError) {
      return { ok: false, failure: { line: e.line, message: e.message }, transcript: [], endUs: 0 };
    }
    throw e;
  }
  let merged: ResolvedOptions;
  try {
    merged = resolveOptions(options, script.options);
  } catch (e) {
    return { ok: false, failure: { message: (e as Error).message }, transcript: [], endUs: 0 };
  }
  return await new Runner(merged).run(script);
}

class Failure extends Error {
  constructor(readonly line: number | undefined, message: string) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}

/** The stack's MAC and the scripted peer's (they mirror the IPs: .2 and .1). */
const LOCAL_MAC = 0x02_00_00_00_00_02;
const REMOTE_MAC = 0x02_00_00_00_00_01;
/** Over IPv6 the link is this much larger than `--mtu`, so scripts' MSS values hold (−60, not −40). */
const IPV6_EXTRA_MTU = 20;
/** How far past an expectation's window the runner looks to tell "late" from "missing". */
const LATE_LOOKAHEAD_US = 1_000_000;

interface PendingCall {
  readonly ev: ScriptEvent & { type: "syscall" };
  readonly startUs: number;
  /** Deadline of a blocking call (µs); undefined = must return at once. */
  endUs: number | undefined;
  readonly after: ((value: number) => string | undefined) | undefined;
  readonly newFd: { nonBlocking: boolean } | undefined;
  done: boolean;
  doneUs: number;
  value: number;
  error: unknown;
  failed: boolean;
}

class Runner {
  readonly #o: ResolvedOptions;
  readonly #clock = new VirtualClock();
  readonly #arena = new Arena();
  readonly #alloc = new SkbAllocator(this.#arena);
  readonly #localIp: number;
  readonly #remoteIp: number;
  /** IPv6 runs: the addresses as bytes (null over IPv4). */
  readonly #local6: Uint8Array | null;
  readonly #remote6: Uint8Array | null;
  /** The addresses socket calls use (v4-mapped in `ipv4-mapped-ipv6` runs). */
  readonly #sockLocal: string;
  readonly #sockRemote: string;
  readonly #tolUs: number;
  readonly #flows: Flows;
  readonly #ctx: MatchContext;
  readonly #queue: SeenFrame[] = [];
  readonly #transcript: TranscriptEntry[] = [];
  readonly #pending: PendingCall[] = [];
  readonly #fds = new Map<number, FdState>();
  #ticker: Ticker | undefined;
  #peer!: PipeDevice;
  #sockets: ScriptSockets = unavailableSockets("the target has no socket adapter");
  #line: number | undefined;
  #lastUs = 0;
  #ipId = 1;

  constructor(o: ResolvedOptions) {
    this.#o = o;
    const v6 = o.ipVersion === "ipv6";
    this.#local6 = v6 ? parseIpv6Address(o.localIp) : null;
    this.#remote6 = v6 ? parseIpv6Address(o.remoteIp) : null;
    this.#localIp = v6 ? 0 : parseAddr(o.localIp.replace(/^::ffff:/i, ""));
    this.#remoteIp = v6 ? 0 : parseAddr(o.remoteIp.replace(/^::ffff:/i, ""));
    const mapped = (a: string) =>
      (o.ipVersion === "ipv4-mapped-ipv6" && !a.includes(":")) ? `::ffff:${a}` : a;
    this.#sockLocal = mapped(o.localIp);
    this.#sockRemote = mapped(o.remoteIp);
    this.#tolUs = Math.round(o.toleranceMs * 1000);
    this.#flows = new Flows(o.localPort, o.remotePort);
    this.#ctx = {
      flows: this.#flows,
      xlate: new SeqTranslator(o.absoluteSeq),
      localIp: this.#localIp,
      remoteIp: this.#remoteIp,
      ...(v6 ? { local6: formatIpv6(this.#local6!), remote6: formatIpv6(this.#remote6!) } : {}),
    };
  }

  async run(script: Script): Promise<ScriptResult> {
    let failure: ScriptFailure | undefined;
    let target: ScriptTarget | undefined;
    this.#ticker = new Ticker();
    try {
      const [dev, peer] = createPipe({
        allocator: this.#alloc,
        clock: this.#clock,
        names: ["script0", "peer0"],
        macs: [LOCAL_MAC, REMOTE_MAC],
        mtu: this.#o.mtu + (this.#local6 !== null ? IPV6_EXTRA_MTU : 0),
        // Scripts describe the wire: every segment as sent, no TSO super-segments.
        features: 0,
      });
      this.#peer = peer;
      peer.up();
      target = await this.#o.target({
        clock: this.#clock,
        arena: this.#arena,
        device: dev,
        random: new SeededRandom(this.#o.seed),
        localIp: this.#o.localIp,
        prefixLength: this.#o.prefixLength,
        remoteIp: this.#o.remoteIp,
        ipVersion: this.#o.ipVersion,
      });
      if (target.sockets) this.#sockets = target.sockets;
      if (this.#o.preseedArp) this.#preseedArp();
      await this.#settle();
      for (const ev of script.events) {
        this.#line = ev.line;
        if (ev.type === "packet") {
          if (ev.packet.direction === "<") await this.#inbound(ev, ev.packet);
          else await this.#outbound(ev, ev.packet);
        } else await this.#syscall(ev, ev.call);
      }
      await this.#finish();
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      failure = { ...(e.line !== undefined ? { line: e.line } : {}), message: e.message };
      this.#note(e.message);
    } finally {
      failure = await this.#cleanup(target, failure);
    }
    const transcript = [...this.#transcript].sort((a, b) => a.t - b.t);
    return {
      ok: failure === undefined,
      ...(failure ? { failure } : {}),
      transcript,
      endUs: this.#now(),
    };
  }

  // ---- time ---------------------------------------------------------------

  #now(): number {
    return Math.round(this.#clock.now() * 1000);
  }

  /** Let the stack finish everything due at this instant. */
  async #settle(): Promise<void> {
    for (let i = 0; i < 100_000; i++) {
      await this.#ticker!.tick();
      let work = this.#clock.flush();
      const due = this.#clock.nextDeadline();
      if (due !== undefined && due <= this.#clock.now()) {
        this.#clock.advance(0);
        work++;
      }
      work += this.#collect();
      this.#checkCalls();
      if (work === 0) return;
    }
    throw this.#fail(`the stack never goes idle at t=${formatInstant(this.#now())}`);
  }

  /** Step virtual time up to `limitUs`, stopping early when `stop()` holds. */
  async #stepUntil(limitUs: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      await this.#settle();
      if (stop?.()) return;
      if (this.#now() >= limitUs) return;
      const next = this.#clock.nextDeadline();
      if (next === undefined && limitUs === Infinity) return;
      const target = Math.min(next ?? Infinity, limitUs / 1000);
      this.#clock.advance(Math.max(0, target - this.#clock.now()));
    }
  }

  /** Reach the time of an inbound packet or a call; older queued packets are unexpected. */
  async #reach(ev: ScriptEvent): Promise<void> {
    const at = this.#startOf(ev);
    const now = this.#now();
    if (at < now - this.#tolUs) {
      throw this.#fail(
        `this line is at t=${formatInstant(at)} but the script is already at t=${
          formatInstant(now)
        }`,
      );
    }
    if (at > now) await this.#stepUntil(at);
    else await this.#settle();
    const f = this.#queue[0];
    if (f !== undefined && f.t < at - this.#tolUs) {
      throw this.#unexpected(f, `before this line's t=${formatInstant(at)}`);
    }
    this.#lastUs = this.#now();
  }

  #startOf(ev: ScriptEvent): number {
    const t = ev.time;
    switch (t.kind) {
      case "abs":
      case "absRange":
        return t.us;
      case "rel":
      case "relRange":
        return this.#lastUs + t.us;
      case "any":
        return this.#lastUs;
    }
  }

  #endOf(ev: ScriptEvent): number {
    const t = ev.time;
    if (t.kind === "absRange") return t.endUs;
    if (t.kind === "relRange") return this.#lastUs + t.endUs;
    if (t.kind === "any") return Infinity;
    return this.#startOf(ev);
  }

  // ---- packets ------------------------------------------------------------

  async #inbound(ev: ScriptEvent, p: PacketSpec): Promise<void> {
    await this.#reach(ev);
    const frame = this.#build(p);
    this.#inject(frame, "in", formatPacket(p), ev.line);
    await this.#settle();
  }

  #build(p: PacketSpec): Uint8Array {
    const x = this.#ctx.xlate;
    const flow = flowOf(this.#flows, p);
    const addr = {
      srcMac: REMOTE_MAC,
      dstMac: LOCAL_MAC,
      srcIp: this.#remoteIp,
      dstIp: this.#localIp,
      ipId: this.#ipId++,
      ip: p.ip,
      ...(this.#local6 !== null ? { src6: this.#remote6!, dst6: this.#local6 } : {}),
    };
    const local = () => this.#localPortOf(flow);
    if (p.proto !== "icmp") this.#flows.lastInbound = flow;
    if (p.proto === "tcp") {
      if (p.options === "any") throw this.#fail("<...> is only for expectations");
      const syn = (p.flags & 0x02) !== 0;
      const opts = encodeTcpOptions(p.options, (n) => x.inLocal(flow, n), (n) => x.inEcr(flow, n));
      if (typeof opts === "string") throw this.#fail(opts);
      const num = (v: number | "*" | undefined, d: number) => (typeof v === "number" ? v : d);
      return tcpFrame(addr, {
        srcPort: flow.remotePort,
        dstPort: local(),
        seq: x.inSeq(flow, p.seq, syn),
        ack: p.ack === undefined ? 0 : x.inLocal(flow, num(p.ack, 0)),
        flags: p.flags,
        window: num(p.win, 65535),
        urgentPointer: num(p.urg, 0),
        options: opts,
        payload: p.payload ?? new Uint8Array(p.len),
        badChecksum: p.badChecksum ?? false,
      });
    }
    if (p.proto === "udp") {
      return udpFrame(
        addr,
        flow.remotePort,
        local(),
        p.payload ?? new Uint8Array(p.len),
        p.badChecksum ?? false,
      );
    }
    // ICMP: an error quotes a datagram the stack sent (local → remote).
    let quote: QuotedDatagram | undefined;
    const isError = isIcmpErrorType(p.type);
    const q = p.quote ?? (isError ? { proto: "tcp" as const, seq: 0, len: 0 } : undefined);
    if (q) {
      const base = {
        srcIp: this.#localIp,
        dstIp: this.#remoteIp,
        srcPort: local(),
        dstPort: flow.remotePort,
        ...(this.#local6 !== null ? { src6: this.#local6, dst6: this.#remote6! } : {}),
      };
      quote = q.proto === "tcp"
        ? { proto: "tcp", ...base, seq: x.inLocal(flow, q.seq), len: q.len }
        : { proto: "udp", ...base, len: q.len };
    }
    const rest = p.mtu !== undefined ? p.mtu : p.id !== undefined ? p.id << 16 : 0;
    let type = p.type, code = p.code;
    if (this.#local6 !== null) {
      const v6 = icmpToV6(p.type, p.code);
      if (v6 === null) {
        throw this.#fail(
          `ICMP type ${p.type} code ${p.code} has no ICMPv6 equivalent (the script needs --ip_version=ipv4)`,
        );
      }
      [type, code] = v6;
    }
    return icmpFrame(addr, { type, code, rest, badChecksum: p.badChecksum ?? false }, quote);
  }

  #localPortOf(flow: Flow): number {
    if (flow.localPort === undefined) {
      throw this.#fail(
        "the stack's port on this flow is not known yet (it is learned from its first packet)",
      );
    }
    return flow.localPort;
  }

  #inject(
    frame: Uint8Array,
    kind: "in" | "arp" | "nd",
    text: string,
    line: number | undefined,
  ): void {
    const skb = this.#alloc.fromBytes(frame);
    if (skb === null) throw this.#fail("no packet buffer left to inject this packet");
    const r = this.#peer.transmit(skb);
    if (r !== 0) {
      throw this.#fail(`the link refused the frame (${frame.length} bytes; MTU ${this.#o.mtu})`);
    }
    this.#transcript.push({ t: this.#now(), kind, ...(line !== undefined ? { line } : {}), text });
  }

  async #outbound(ev: ScriptEvent, p: PacketSpec): Promise<void> {
    const lo = this.#startOf(ev);
    const hi = this.#endOf(ev);
    const tol = this.#tolUs;
    const window = hi === Infinity
      ? "*"
      : lo === hi
      ? formatInstant(lo)
      : `${formatInstant(lo)}~${formatInstant(hi)}`;
    const limit = hi === Infinity ? this.#now() + this.#o.anyTimeoutMs * 1000 : hi + tol;
    if (this.#queue.length === 0) await this.#stepUntil(limit, () => this.#queue.length > 0);
    const exp = formatPacket(p);
    if (this.#queue.length === 0 && hi !== Infinity) {
      // Nothing in time: look a little further so a late packet is reported as
      // late (or as the wrong packet) rather than as missing.
      await this.#stepUntil(limit + LATE_LOOKAHEAD_US, () => this.#queue.length > 0);
    }
    const f = this.#queue.shift();
    if (f === undefined) {
      throw this.#fail(
        `expected ${exp} at t=${window}, got no packet by t=${formatInstant(this.#now())}`,
      );
    }
    const m = matchPacket(p, f, this.#ctx);
    this.#transcript.push({ t: f.t, kind: "out", line: ev.line, text: m.got });
    if (m.diffs.length > 0) {
      const what = `${m.diffs.join(", ")} ${m.diffs.length === 1 ? "differs" : "differ"}`;
      throw this.#fail(
        `expected ${exp} at t=${window}, got ${m.got} at t=${formatInstant(f.t)} (${what})`,
      );
    }
    if (hi !== Infinity && (f.t < lo - tol || f.t > hi + tol)) {
      const off = f.t < lo ? `${ms(lo - f.t)} early` : `${ms(f.t - hi)} late`;
      const within = tol > 0 ? `, tolerance ${ms(tol)}` : "";
      throw this.#fail(
        `expected ${exp} at t=${window}, got it at t=${formatInstant(f.t)} (${off}${within})`,
      );
    }
    this.#lastUs = f.t;
  }

  /** Poll the peer's end: answer ARP, queue everything else. Returns frames injected. */
  #collect(): number {
    let injected = 0;
    this.#peer.poll(1 << 30, (skb) => {
      const bytes = this.#arena.u8.slice(skb.data, skb.data + skb.len);
      const t = Math.round(skb.tstamp * 1000);
      skb.free();
      const seen = decodeFrame(bytes, t);
      if (seen.nd !== undefined) {
        injected += this.#answerNd(seen, t);
        return;
      }
      const arp = seen.arp;
      if (arp === undefined) {
        this.#queue.push(seen);
        return;
      }
      const who = describeSeen(seen, this.#ctx);
      if (arp.op === 1 && arp.targetIp === this.#remoteIp && arp.senderIp === this.#localIp) {
        // Play the peer's ARP: answer so the stack can send; not part of the script.
        const reply = arpFrame(arp.senderMac, REMOTE_MAC, {
          op: 2,
          senderMac: REMOTE_MAC,
          senderIp: this.#remoteIp,
          targetMac: arp.senderMac,
          targetIp: arp.senderIp,
        });
        this.#transcript.push({ t, kind: "arp", text: `${who} (answered)` });
        const skb2 = this.#alloc.fromBytes(reply);
        if (skb2 !== null) {
          this.#peer.transmit(skb2);
          injected++;
        }
      } else this.#transcript.push({ t, kind: "arp", text: who });
    });
    return injected;
  }

  /**
   * Neighbour discovery and MLD from the stack (IPv6): never part of the
   * script. A solicitation for the peer's address is answered (the peer's
   * side of RFC 4861 §7.2.4), like an ARP request. Returns frames injected.
   */
  #answerNd(seen: SeenFrame, t: number): number {
    const who = describeSeen(seen, this.#ctx);
    const remote6 = this.#remote6;
    if (remote6 !== null && seen.nd!.type === 135 && seen.nd!.target === formatIpv6(remote6)) {
      const reply = ndFrame("advert", {
        srcMac: REMOTE_MAC,
        dstMac: LOCAL_MAC,
        src6: remote6,
        dst6: this.#local6!,
      }, remote6);
      this.#transcript.push({ t, kind: "nd", text: `${who} (answered)` });
      const skb = this.#alloc.fromBytes(reply);
      if (skb !== null) {
        this.#peer.transmit(skb);
        return 1;
      }
      return 0;
    }
    this.#transcript.push({ t, kind: "nd", text: who });
    return 0;
  }

  #preseedArp(): void {
    if (this.#local6 !== null) {
      // RFC 4861 §7.2.3: a solicitation carrying the peer's link-layer address
      // creates its neighbour entry, as an ARP request does over IPv4.
      const group = solicitedNode(this.#local6);
      const ns = ndFrame("solicit", {
        srcMac: REMOTE_MAC,
        dstMac: ipv6MulticastMac(group),
        src6: this.#remote6!,
        dst6: group,
      }, this.#local6);
      this.#inject(
        ns,
        "nd",
        `< nd neighbour solicitation for ${this.#o.localIp} from ${this.#o.remoteIp}`,
        undefined,
      );
      return;
    }
    const req = arpFrame(MAC_BROADCAST, REMOTE_MAC, {
      op: 1,
      senderMac: REMOTE_MAC,
      senderIp: this.#remoteIp,
      targetMac: 0,
      targetIp: this.#localIp,
    });
    this.#inject(
      req,
      "arp",
      `< arp who-has ${this.#o.localIp} tell ${this.#o.remoteIp}`,
      undefined,
    );
  }

  #unexpected(f: SeenFrame, when: string): Failure {
    const text = describeSeen(f, this.#ctx);
    this.#transcript.push({ t: f.t, kind: "out", text: `${text} (unexpected)` });
    return this.#fail(`unexpected packet ${text} at t=${formatInstant(f.t)} (${when})`);
  }

  // ---- calls ----------------------------------------------------------------

  async #syscall(ev: ScriptEvent & { type: "syscall" }, call: SyscallSpec): Promise<void> {
    const base = this.#lastUs;
    await this.#reach(ev);
    const prepared = prepareCall(call, {
      sockets: this.#sockets,
      fds: this.#fds,
      flows: this.#flows,
      localIp: this.#sockLocal,
      remoteIp: this.#sockRemote,
      localPort: this.#o.localPort,
      connectPort: this.#o.connectPort,
      ...(this.#o.ipVersion !== "ipv4" ? { domain: AF_INET6, anyAddress: "::" } : {}),
      fail: (m) => {
        throw this.#fail(m);
      },
    });
    const endUs = call.endUs === undefined
      ? undefined
      : (ev.time.kind === "rel" ? base : 0) + call.endUs;
    const pc: PendingCall = {
      ev,
      startUs: this.#now(),
      endUs,
      after: prepared.after?.bind(prepared),
      newFd: prepared.newFd,
      done: false,
      doneUs: 0,
      value: 0,
      error: undefined,
      failed: false,
    };
    this.#transcript.push({
      t: pc.startUs,
      kind: "call",
      line: ev.line,
      text: formatSyscall(call),
    });
    const finish = (value: number, error: unknown, failed: boolean) => {
      pc.done = true;
      pc.doneUs = this.#now();
      pc.value = value;
      pc.error = error;
      pc.failed = failed;
    };
    try {
      const r = prepared.run();
      if (r instanceof Promise) {
        r.then((v) => finish(v, undefined, false), (e) => finish(-1, e, true));
      } else finish(r, undefined, false);
    } catch (e) {
      finish(-1, e, true);
    }
    this.#pending.push(pc);
    await this.#settle();
    if (endUs === undefined && !pc.done) {
      throw this.#fail(
        `${call.name}() did not return at t=${
          formatInstant(pc.startUs)
        }; a call that blocks needs ` +
          `its end time, e.g. "+0...0.1 ${call.name}(...)"`,
      );
    }
  }

  /** Check calls that completed; fail calls past their deadline. */
  #checkCalls(): void {
    for (let i = 0; i < this.#pending.length; i++) {
      const pc = this.#pending[i]!;
      if (pc.done) {
        this.#pending.splice(i--, 1);
        this.#verifyCall(pc);
      } else if (pc.endUs !== undefined && this.#now() > pc.endUs + this.#tolUs) {
        throw new Failure(
          pc.ev.line,
          `${pc.ev.call.name}() had not returned by t=${formatInstant(pc.endUs + this.#tolUs)} ` +
            `(expected at t=${formatInstant(pc.endUs)})`,
        );
      }
    }
  }

  #verifyCall(pc: PendingCall): void {
    const call = pc.ev.call;
    const line = pc.ev.line;
    const exp = formatSyscall(call);
    let got: string;
    if (pc.failed) {
      const code = errnoOf(pc.error);
      const msg = pc.error instanceof Error ? pc.error.message : String(pc.error);
      if (code === undefined) {
        const name = pc.error instanceof Error ? pc.error.name : typeof pc.error;
        throw new Failure(line, `${call.name}() threw ${name}: ${msg}`);
      }
      got = `-1 ${code} (${msg})`;
      const same = call.result === -1 &&
        (call.errno === undefined || canonicalErrno(call.errno) === canonicalErrno(code));
      if (!same) throw new Failure(line, `expected ${exp}, got ${got}`);
    } else {
      got = String(pc.value);
      if (pc.newFd !== undefined && call.result >= 0) {
        if (this.#fds.has(call.result)) {
          throw new Failure(line, `fd ${call.result} is already open in this script`);
        }
        this.#fds.set(call.result, { live: pc.value, nonBlocking: pc.newFd.nonBlocking });
      } else if (pc.value !== call.result) throw new Failure(line, `expected ${exp}, got ${got}`);
      const complaint = pc.after?.(pc.value);
      if (complaint !== undefined) throw new Failure(line, `${call.name}(): ${complaint}`);
    }
    this.#transcript.push({ t: pc.doneUs, kind: "return", line, text: `${call.name}() = ${got}` });
    const end = pc.endUs ?? pc.startUs;
    if (Math.abs(pc.doneUs - end) > this.#tolUs) {
      throw new Failure(
        line,
        `${call.name}() returned at t=${formatInstant(pc.doneUs)}, expected t=${
          formatInstant(end)
        }`,
      );
    }
  }

  // ---- the end ----------------------------------------------------------------

  async #finish(): Promise<void> {
    this.#line = undefined;
    const last = this.#pending.reduce((m, pc) => Math.max(m, (pc.endUs ?? 0) + this.#tolUs + 1), 0);
    if (this.#pending.length > 0) await this.#stepUntil(last, () => this.#pending.length === 0);
    const left = this.#pending[0];
    if (left) throw new Failure(left.ev.line, `${left.ev.call.name}() never returned`);
    const f = this.#queue[0];
    if (f) throw this.#unexpected(f, "after the last line");
    const until = this.#now() + Math.round(this.#o.quietMs * 1000);
    await this.#stepUntil(until, () => this.#queue.length > 0);
    const g = this.#queue[0];
    if (g) {
      throw this.#unexpected(
        g,
        `after the last line, within the ${ms(this.#o.quietMs * 1000)} quiet period`,
      );
    }
  }

  async #cleanup(target: ScriptTarget | undefined, failure: ScriptFailure | undefined) {
    let leak: ScriptFailure | undefined;
    try {
      await this.#sockets.dispose?.();
      await target?.close();
      this.#peer?.close();
      this.#peer?.down();
      this.#clock.runUntilIdle(3_600_000);
      if (this.#o.checkLeaks && this.#arena.inUse !== 0) {
        leak = {
          message:
            `arena leak: ${this.#arena.inUse} packet buffers still in use after the stack closed`,
        };
      }
    } finally {
      this.#ticker?.close();
    }
    return failure ?? leak;
  }

  #note(text: string): void {
    this.#transcript.push({ t: this.#now(), kind: "note", text });
  }

  #fail(message: string): Failure {
    return new Failure(this.#line, message);
  }
}

function ms(us: number): string {
  return `${(us / 1000).toFixed(3).replace(/\.?0+$/, "")} ms`;
}

/**
 * One macrotask hop per tick: every pending promise continuation runs
 * before it resolves (a MessageChannel message is never clamped like
 * nested timers are).
 */
class Ticker {
  readonly #ch = new MessageChannel();
  readonly #waiting: (() => void)[] = [];
  constructor() {
    this.#ch.port1.onmessage = () => this.#waiting.shift()?.();
  }
  tick(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#ch.port2.postMessage(0);
    });
  }
  close(): void {
    this.#ch.port1.close();
    this.#ch.port2.close();
  }
}

export { formatTranscript, stackTarget } from "./run_config.ts";
export type {
  IpVersion,
  ScriptEnv,
  ScriptFailure,
  ScriptOptions,
  ScriptResult,
  ScriptTarget,
  ScriptTargetFactory,
  StackTargetOptions,
  TranscriptEntry,
} from "./run_config.ts";
