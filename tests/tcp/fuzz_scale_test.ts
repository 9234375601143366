/**
 * Stateful fuzz at issue scale (§8 rows 15/19 in TRACEABILITY.md §6):
 * ≥ 100,000 seeded mutations of real segments injected into established
 * connections while a real two-way transfer runs over an impaired pipe.
 *
 * Every real segment that reaches either stack's TCP is delivered, then used
 * as the template of a few mutants delivered right after it: sequence number
 * moved near / inside / outside the receive window, acknowledgment number
 * old, far, or above SND.NXT, every flag combination, option sets (MSS,
 * window scale, SACK-permitted, timestamps older/newer, 1–4 SACK blocks,
 * inverted and out-of-range), raw option bytes with malformed lengths, data
 * offsets 0–15, truncated headers, payload lengths and URG pointers.
 *
 * The mutants are *stream-safe*: an attacker who knows the exact sequence
 * numbers can always corrupt a TCP stream (in-window data or FIN, or an ACK
 * of data in flight), which no stack can prevent. So mutants carry only the
 * true bytes for the sequence numbers they claim (or garbage far outside any
 * window), a FIN only at the true FIN position, never acknowledge data the
 * peer has not acknowledged itself, and a RST exactly at RCV.NXT only in
 * "kill rounds". Everything else is fair game; the invariant is:
 *
 * - no exception escapes;
 * - each transfer completes with sha256-identical data both ways, or aborts
 *   with a typed error (counted by errno);
 * - both ends end in CLOSED / TIME-WAIT, every TCB is released, and the arena
 *   returns to its baseline (`pair().close()` checks).
 *
 * Seeds are fixed (`testSeed()`), so a failure replays with the same value.
 *
 * @module
 */
import * as assert from "uvu/assert";
import { env, test, testSeed } from "../_util/test.ts";
import { type Pair, pair, type PairOptions } from "../_util/sim.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { Errno } from "../../src/core/errno.ts";
import { TcpState } from "../../src/tcp/state.ts";
import type { TcpSock } from "../../src/tcp/sock.ts";
import { receiveWindow } from "../../src/tcp/window.ts";
import { Csum, type SkBuff } from "../../src/skb/skbuff.ts";
import { emitTcp, parseTcp, tcpHeaderLength, type TcpRepr } from "../../src/wire/tcp.ts";
import type { TcpOptions } from "../../src/wire/tcp_options.ts";
import type { Ipv4Repr } from "../../src/wire/ipv4.ts";
import type { Iface } from "../../src/ipv4/iface.ts";
import { connectPair, exchange, randomBytes, sha256 } from "./_helpers.ts";

type Rng = SeededRandom;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10;

/** Uniform integer in [0, n). */
function ri(r: Rng, n: number): number {
  return r.nextU32() % n;
}

function pick<T>(r: Rng, xs: readonly T[]): T {
  return xs[ri(r, xs.length)]!;
}

/** Signed distance a − b in sequence space. */
function diff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Aggregated results of one test (one line printed per test). */
interface Tally {
  mutations: number;
  raw: number;
  rounds: number;
  completed: number;
  aborted: Map<string, number>;
  drops: Map<string, number>;
  challengeAcks: number;
  challengeLimited: number;
  paws: number;
}

function newTally(): Tally {
  return {
    mutations: 0,
    raw: 0,
    rounds: 0,
    completed: 0,
    aborted: new Map(),
    drops: new Map(),
    challengeAcks: 0,
    challengeLimited: 0,
    paws: 0,
  };
}

function errName(e: number): string {
  for (const [k, v] of Object.entries(Errno)) if (v === e) return k;
  return `errno${e}`;
}

/** One direction as seen by the mutator: segments from `snd` arriving at `rcv`. */
interface Dir {
  /** The receiving connection (whose TCP the mutants are delivered to). */
  rcv: TcpSock;
  /** The sending connection (whose data the real segments carry). */
  snd: TcpSock;
  /** The bytes `snd` transfers. */
  data: Uint8Array;
}

/**
 * The mutator: wraps `stack.tcp.rcv` of both stacks. `budget` bounds the
 * mutants injected in this round.
 */
class Mutator {
  injected = 0;
  raw = 0;
  /** RSTs exactly at RCV.NXT allowed (a "kill round"). */
  killRound = false;
  /** Mutants per real segment (average). */
  rate = 3;
  #dirs = new Map<TcpSock, Dir>();
  #flagCycle = 0;

  constructor(readonly p: Pair, readonly r: Rng, readonly budget: number) {}

  /** Route segments for `rcv` (its 4-tuple is matched by identity at the demux). */
  watch(d: Dir): void {
    this.#dirs.set(d.rcv, d);
  }

  install(): void {
    for (const stack of [this.p.a, this.p.b]) {
      const tcp = stack.tcp;
      const orig = tcp.rcv.bind(tcp);
      tcp.rcv = (skb: SkBuff, ip: Ipv4Repr, iface: Iface) => {
        const d = this.#dirFor(stack.tcp.ctx, skb, ip);
        const tmpl = d !== null ? this.#template(skb, ip) : null;
        orig(skb, ip, iface);
        if (d === null || tmpl === null) return;
        let n = ri(this.r, 2 * this.rate + 1);
        while (n-- > 0 && this.injected < this.budget) {
          const st = d.rcv.state;
          if (st === TcpState.CLOSED || st === TcpState.LISTEN) break;
          this.#mutant(orig, d, tmpl, ip, iface);
        }
      };
    }
  }

  #dirFor(tcp: object, skb: SkBuff, ip: Ipv4Repr): Dir | null {
    const u8 = this.p.arena.u8;
    if (skb.len < 20) return null;
    const dport = (u8[skb.data + 2]! << 8) | u8[skb.data + 3]!;
    const sport = (u8[skb.data]! << 8) | u8[skb.data + 1]!;
    for (const d of this.#dirs.values()) {
      const sk = d.rcv;
      if (
        (sk.tcb.ctx as unknown) === tcp && sk.lport === dport && sk.rport === sport &&
        sk.raddr === ip.src
      ) return d;
    }
    return null;
  }

  #template(skb: SkBuff, ip: Ipv4Repr): TcpRepr | null {
    const u8 = this.p.arena.u8;
    const th = parseTcp(u8, skb.data, skb.len, ip, { verifyChecksum: false });
    if (typeof th === "string") return null;
    return th;
  }

  /** Build and deliver one mutant of `t` for direction `d`. */
  #mutant(
    deliver: (skb: SkBuff, ip: Ipv4Repr, iface: Iface) => void,
    d: Dir,
    t: TcpRepr,
    ip: Ipv4Repr,
    iface: Iface,
  ): void {
    const r = this.r;
    const R = d.rcv;
    const S = d.snd;
    const wnd = Math.max(receiveWindow(R.tcb), 1);
    const mss = R.tcb.snd.mss;
    // ---- sequence number ----
    const deltas = [
      0,
      0,
      1,
      -1,
      2,
      mss,
      -mss,
      wnd >> 1,
      -(wnd >> 1),
      wnd,
      wnd + 1,
      -wnd,
      -wnd - 1,
      0x40000000,
      0x80000000,
      -70_000,
    ];
    let seq: number;
    const k = ri(r, 20);
    if (k < deltas.length) seq = (t.seq + deltas[k]!) >>> 0;
    else if (k === 16) seq = r.nextU32();
    else if (k === 17) seq = R.tcb.rcv.nxt;
    else if (k === 18) seq = (R.tcb.rcv.nxt + 1 + ri(r, wnd)) >>> 0;
    else seq = (R.tcb.rcv.nxt - 1 - ri(r, 5000)) >>> 0;
    // ---- flags: every combination over time, realistic ones more often ----
    let flags = ri(r, 3) === 0 ? (this.#flagCycle++ & 0xff) : pick(r, [
      ACK,
      ACK,
      0x18,
      ACK | FIN,
      RST,
      RST | ACK,
      SYN,
      SYN | ACK,
      0x30,
      0,
      0xff,
      0xc0 | ACK,
    ]);
    // ---- payload ----
    let len = pick(r, [0, 0, 0, 1, 2, t.payloadLength, t.payloadLength, ri(r, 1461), mss]);
    // Position of `seq` in `snd`'s stream (0 = first data byte).
    const base = (R.tcb.rcv.irs + 1) >>> 0;
    const idx = diff(seq, base);
    const sent = Math.min(d.data.length, Math.max(0, diff(S.tcb.snd.max, base)));
    const finSent = diff(S.tcb.snd.max, base) >= d.data.length + 1 &&
      (S.shutdownMask & 2) !== 0;
    const far = idx + len < -(1 << 21) || idx > d.data.length + (1 << 21);
    let garbage = false;
    if (far) {
      garbage = true; // far outside every window: random bytes, any flags
    } else {
      // True bytes only, within what `snd` has already sent.
      if (idx < 0 || idx >= sent) len = 0;
      else len = Math.min(len, sent - idx);
      // A FIN only at the true FIN position (after it was really sent).
      if ((flags & FIN) && !(finSent && idx + len === d.data.length)) flags &= ~FIN;
      // An exact-RCV.NXT RST kills the connection (RFC 5961 B1): only in kill rounds.
      if ((flags & RST) && seq === R.tcb.rcv.nxt && !(this.killRound && ri(r, 400) === 0)) {
        seq = (seq + 1) >>> 0;
      }
    }
    // ---- acknowledgment number: never ack what `rcv` has not had acked ----
    const ackChoices = [
      t.ack,
      (t.ack - 1) >>> 0,
      (R.tcb.snd.una - ri(r, 3000)) >>> 0,
      (R.tcb.snd.una - R.tcb.snd.maxWnd - 1 - ri(r, 100)) >>> 0,
      (R.tcb.snd.max + 1 + ri(r, 100)) >>> 0,
      (R.tcb.snd.max + 0x40000000) >>> 0,
      r.nextU32(),
    ];
    let ack = pick(r, ackChoices);
    if (!far && diff(ack, R.tcb.snd.una) > 0 && diff(ack, R.tcb.snd.max) <= 0) {
      ack = (R.tcb.snd.max + 1 + ri(r, 10)) >>> 0; // must be refused (§8 row 4)
    }
    // ---- window: random, except a segment "from the future" could latch
    // SND.WL1 ahead of the real sender; keep that one harmless (open). ----
    let window = pick(r, [t.window, 0, 1, 0xffff, r.nextU32() & 0xffff]);
    if (diff(seq, S.tcb.snd.nxt) > 0 || diff(seq, S.tcb.snd.max) > 0) window = 0xffff;
    // ---- options ----
    const o: Mutable<TcpOptions> = { ...t.options };
    const ts0 = t.options.tsVal;
    switch (ri(r, 8)) {
      case 0: // as the template
        break;
      case 1: // no timestamp (T2 drop when negotiated)
        o.tsVal = null;
        o.tsEcr = 0;
        break;
      case 2: // older timestamp (PAWS)
        if (ts0 !== null) o.tsVal = (ts0 - 1 - ri(r, 1 << 30)) >>> 0;
        break;
      case 3: // slightly newer timestamp (harmless: real TSvals catch up)
        if (ts0 !== null) o.tsVal = (ts0 + ri(r, 200)) >>> 0;
        o.tsEcr = r.nextU32();
        break;
      default:
        break;
    }
    if (ri(r, 3) === 0) o.mss = ri(r, 3) === 0 ? 0 : r.nextU32() & 0xffff;
    if (ri(r, 4) === 0) o.windowScale = ri(r, 256);
    if (ri(r, 5) === 0) o.sackPermitted = true;
    if (ri(r, 2) === 0) {
      const room = 40 - (tcpHeaderLength({ ...o, sackBlocks: null }) - 20);
      const n = Math.min(1 + ri(r, 4), Math.floor((room - 2) / 8));
      if (n > 0) {
        const b: number[] = [];
        for (let i = 0; i < n; i++) {
          const anchor = pick(r, [R.tcb.snd.una, R.tcb.snd.max, R.tcb.snd.nxt, r.nextU32()]);
          const a = (anchor + pick(r, [0, 1, -1, mss, -mss, 100_000, -100_000])) >>> 0;
          const len2 = pick(r, [1, mss, 0, -1, -mss, 0x7fffffff, 0x80000000]);
          b.push(a, (a + len2) >>> 0);
        }
        o.sackBlocks = b;
      }
    }
    // Options that would move TS.Recent far ahead must not ride on a segment
    // that passes the window check with SEG.SEQ ≤ Last.ACK.sent (RFC 7323 T4):
    // that is an in-window TSval injection which wedges any RFC 7323 stack.
    if (o.tsVal !== null && ts0 !== null && diff(o.tsVal, ts0) > 200) o.tsVal = ts0;
    if (!far && o.tsVal !== null && ts0 === null) o.tsVal = null;
    // A template's own SACK blocks plus added options may not fit: drop them.
    if (tcpHeaderLength(o) > 60) o.sackBlocks = null;
    const urgent = ri(r, 4) === 0 ? r.nextU32() & 0xffff : 0;
    if (urgent !== 0) flags |= ri(r, 2) ? 0x20 : 0;

    // ---- build ----
    const hlen = tcpHeaderLength(o);
    const skb = this.p.b.allocator.alloc(hlen + len);
    if (skb === null) return;
    const at = skb.put(hlen + len);
    const u8 = this.p.arena.u8;
    if (garbage) { for (let i = 0; i < len; i++) u8[at + hlen + i] = r.nextU32() & 0xff; }
    else if (len > 0) u8.set(d.data.subarray(idx, idx + len), at + hlen);
    emitTcp(
      {
        srcPort: t.srcPort,
        dstPort: t.dstPort,
        seq,
        ack,
        flags,
        window,
        urgentPointer: urgent,
        options: o,
        payloadLength: len,
      },
      u8,
      at,
      { src: ip.src, dst: ip.dst },
    );
    // ---- raw byte mutation (one in five): data offset, malformed options ----
    if (ri(r, 5) === 0) {
      this.raw++;
      this.#rawMutate(skb, at, hlen, len, R, S, garbage);
    }
    skb.ipSummed = Csum.Unnecessary;
    skb.networkHeader = at;
    this.injected++;
    if (TRACE) {
      const f = parseTcp(u8, skb.data, skb.len, ip, { verifyChecksum: false });
      const before = { nxt: R.tcb.rcv.nxt, shut: R.shutdownMask, st: R.state };
      deliver(skb, ip, iface);
      if (R.shutdownMask !== before.shut || R.tcb.rcv.nxt !== before.nxt || R.state !== before.st) {
        console.log("mutant effect", before, {
          nxt: R.tcb.rcv.nxt,
          shut: R.shutdownMask,
          st: R.state,
        }, {
          base: R.tcb.rcv.irs + 1,
          len: d.data.length,
          sndMax: S.tcb.snd.max,
        }, typeof f === "string" ? f : { ...f, options: JSON.stringify(f.options) });
      }
      return;
    }
    deliver(skb, ip, iface);
  }

  /**
   * Malform the header bytes. Whatever parses must stay stream-safe: if the
   * data offset or options change, the segment gets no payload-shaping power
   * (FIN cleared, sequence number put beyond Last.ACK.sent so T4 cannot fire,
   * window opened).
   */
  #rawMutate(
    skb: SkBuff,
    at: number,
    hlen: number,
    len: number,
    R: TcpSock,
    S: TcpSock,
    garbage: boolean,
  ): void {
    const r = this.r;
    const u8 = this.p.arena.u8;
    const setSeq = (v: number) => {
      u8[at + 4] = v >>> 24;
      u8[at + 5] = (v >>> 16) & 0xff;
      u8[at + 6] = (v >>> 8) & 0xff;
      u8[at + 7] = v & 0xff;
    };
    if (!garbage) {
      // Zero-length, in window but after Last.ACK.sent, or far away.
      const wnd = Math.max(receiveWindow(R.tcb), 2);
      const s = ri(r, 2) === 0
        ? (R.tcb.rcv.nxt + 1 + ri(r, wnd - 1)) >>> 0
        : (R.tcb.rcv.nxt + 0x80000000) >>> 0;
      setSeq(s);
      u8[at + 13]! &= ~FIN;
      u8[at + 14] = 0xff;
      u8[at + 15] = 0xff;
      void S;
      // Drop the payload: the header may now be read differently.
      skb.tail -= len;
      len = 0;
    }
    const total = hlen + len;
    switch (ri(r, 6)) {
      case 0: // data offset: any nibble
        u8[at + 12] = (ri(r, 16) << 4) | (u8[at + 12]! & 0x0f);
        break;
      case 1: {
        // Option bytes: crafted malformed option at a random place.
        if (hlen > 20) {
          const i = at + 20 + ri(r, hlen - 20);
          const kinds = [0, 1, 2, 3, 4, 5, 8, 30, 254, 255];
          u8[i] = pick(r, kinds);
          if (i + 1 < at + hlen) u8[i + 1] = pick(r, [0, 1, 2, 3, 4, 9, 10, 11, 18, 34, 42, 255]);
        }
        break;
      }
      case 2: // random option bytes
        for (let i = at + 20; i < at + hlen; i++) u8[i] = r.nextU32() & 0xff;
        break;
      case 3: // truncated segment
        skb.tail = skb.data + ri(r, Math.min(total, 24) + 1);
        break;
      case 4: {
        // A SACK option claiming many blocks (length byte lies).
        if (hlen >= 32) {
          u8[at + 20] = 5;
          u8[at + 21] = pick(r, [2, 10, 34, 42, 50, 255, 11, 3]);
        }
        break;
      }
      default: {
        // Random bit flips in the header (ports and seq excluded: keep the
        // 4-tuple so the mutant reaches the connection).
        for (let n = 1 + ri(r, 4); n > 0; n--) {
          const off = 12 + ri(r, Math.max(hlen - 12, 1));
          u8[at + off]! ^= 1 << ri(r, 8);
        }
        u8[at + 13]! &= ~FIN;
        if (!garbage) {
          // The window may have changed: keep it open (see #mutant).
          u8[at + 14] = 0xff;
          u8[at + 15] = 0xff;
        }
        // A flipped data offset could expose option bytes as payload; keep
        // any such payload out of the window (it is zero-length otherwise).
        break;
      }
    }
  }
}

const PROFILES: PairOptions["impair"][] = [
  { delay: 3, loss: 0.01 },
  { delay: 5, reorder: 0.05, reorderDelay: 8, duplicate: 0.02 },
  { delay: 2, jitter: 3, loss: 0.02, duplicate: 0.01 },
  { delay: 10, loss: 0.005 },
];

/** One transfer with mutants; updates `tally`. */
async function round(seed: number, budget: number, tally: Tally, noTs: boolean): Promise<number> {
  const r = new SeededRandom(seed);
  const impair = PROFILES[seed % PROFILES.length]!;
  const tcpCfg = noTs ? { timestamps: false, sack: ri(r, 2) === 0 } : {};
  const p = pair({ seed, impair, a: { tcp: tcpCfg }, b: { tcp: tcpCfg } });
  const { listener, client, server } = connectPair(p);
  const dx = randomBytes(20_000 + ri(r, 120_000), seed);
  const dy = randomBytes(ri(r, 100_000), seed + 7);
  const m = new Mutator(p, r, budget);
  m.killRound = ri(r, 4) === 0;
  m.watch({ rcv: server, snd: client, data: dx });
  m.watch({ rcv: client, snd: server, data: dy });
  m.install();
  let x;
  try {
    x = exchange(p, client, server, dx, dy, 900_000);
  } catch (e) {
    throw new Error(`seed ${seed}: exception escaped: ${(e as Error).stack}`);
  }
  const ctx = `seed ${seed} (mutations ${m.injected})`;
  if (VERBOSE) {
    console.log(
      `${ctx}: ${dx.length}+${dy.length} B, ${x.elapsed} ms virtual, errors ${x.xError}/${x.yError}, ` +
        `PAWS ${p.a.stats.tcp.pawsRejected}/${p.b.stats.tcp.pawsRejected}, ` +
        `segs out ${p.a.stats.tcp.outSegs}/${p.b.stats.tcp.outSegs}`,
    );
    for (const sk of [client, server]) {
      console.log(
        `  state ${sk.state} rcvNxt-irs ${diff(sk.tcb.rcv.nxt, sk.tcb.rcv.irs)} sndMax-iss ${
          diff(sk.tcb.snd.max, sk.tcb.snd.iss)
        } sndUna-iss ${
          diff(sk.tcb.snd.una, sk.tcb.snd.iss)
        } shut ${sk.shutdownMask} rcvQueued ${sk.tcb.rcv.queued} ofo ${sk.tcb.rcv.ofoBytes} err ${sk.skErr}`,
      );
    }
  }
  if (x.xError === 0 && x.yError === 0) {
    assert.ok(x.atY.length === dx.length, `${ctx}: incomplete c→s ${x.atY.length}/${dx.length}`);
    assert.ok(x.atX.length === dy.length, `${ctx}: incomplete s→c ${x.atX.length}/${dy.length}`);
    assert.is(await sha256(x.atY), await sha256(dx), `${ctx}: client→server data differs`);
    assert.is(await sha256(x.atX), await sha256(dy), `${ctx}: server→client data differs`);
    tally.completed++;
  } else {
    // Aborted: a typed error, and what arrived is a prefix of what was sent.
    const e = x.xError || x.yError;
    assert.ok(e > 0, `${ctx}: untyped error`);
    assert.equal(x.atY, dx.subarray(0, x.atY.length), `${ctx}: c→s prefix differs`);
    assert.equal(x.atX, dy.subarray(0, x.atX.length), `${ctx}: s→c prefix differs`);
    const k = errName(e);
    tally.aborted.set(k, (tally.aborted.get(k) ?? 0) + 1);
  }
  client.close();
  server.close();
  const settled = (s: TcpSock) => s.state === TcpState.CLOSED || s.state === TcpState.TIME_WAIT;
  p.clock.runUntil(() => settled(client) && settled(server), 600_000);
  assert.ok(
    settled(client) && settled(server),
    `${ctx}: not CLOSED/TIME-WAIT: client ${client.state} server ${server.state}`,
  );
  for (let s = listener.accept(); s !== null; s = listener.accept()) s.abort();
  listener.close();
  p.clock.runUntil(() => p.a.tcp.socks.size + p.b.tcp.socks.size === 0, 600_000);
  assert.is(p.a.tcp.socks.size + p.b.tcp.socks.size, 0, `${ctx}: TCBs left`);
  for (const s of [p.a, p.b]) {
    for (const [k, v] of Object.entries(s.stats.drops.snapshot())) {
      tally.drops.set(k, (tally.drops.get(k) ?? 0) + v);
    }
    tally.challengeAcks += s.stats.tcp.challengeAcks;
    tally.challengeLimited += s.stats.tcp.challengeAcksLimited;
    tally.paws += s.stats.tcp.pawsRejected;
  }
  tally.mutations += m.injected;
  tally.raw += m.raw;
  tally.rounds++;
  await p.close(); // arena back to zero
  return m.injected;
}

function report(name: string, t: Tally): string {
  const ab = [...t.aborted].map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  const top = [...t.drops].sort((a, b) => b[1] - a[1]).slice(0, 5)
    .map(([k, v]) => `${k} ${v}`).join(", ");
  return `fuzz_scale ${name}: ${t.mutations} mutations (${t.raw} raw) in ${t.rounds} transfers: ` +
    `completed ${t.completed}, aborted ${ab}; challenge ACKs ${t.challengeAcks} ` +
    `(+${t.challengeLimited} limited), PAWS ${t.paws}; top drops: ${top}`;
}

// 6 tests × 40,000 mutations = 240,000 (≥ 100,000 per run).
const PER_TEST = Number(env("NETWASM_FUZZ_MUTATIONS") ?? 40_000);
const PER_ROUND = 1_000;
const TRACE = env("NETWASM_FUZZ_TRACE") !== undefined;
const VERBOSE = env("NETWASM_FUZZ_VERBOSE") !== undefined;
const TESTS = 6;

for (let i = 0; i < TESTS; i++) {
  const noTs = i % 3 === 2;
  test(
    `fuzz scale (§6 row 6, §8 rows 2–4/7/15/19) part ${i + 1}/${TESTS}${
      noTs ? " (no timestamps)" : ""
    }: ${PER_TEST} mutants into live two-way transfers — completed sha256-equal or typed abort, no leak`,
    async () => {
      const tally = newTally();
      const base = testSeed() * 1000 + i * 100;
      for (let s = 0; tally.mutations < PER_TEST && s < 100; s++) {
        await round(base + s, Math.min(PER_ROUND, PER_TEST - tally.mutations), tally, noTs);
      }
      console.log(report(`part ${i + 1}`, tally));
      assert.ok(tally.mutations >= PER_TEST, `only ${tally.mutations} mutations`);
      assert.ok(tally.completed > 0, "no transfer completed");
    },
  );
}
