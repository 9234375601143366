/**
 * The TCP connection tables behind the {@link TcpTables} contract: Linux's
 * `inet_hashinfo` (bhash, listening hash, ehash) and the port selection of
 * `inet_csk_get_port` / `__inet_hash_connect` (RFC 6056 §3.3.4 for the offset).
 *
 * Data structures:
 * - **established** (ehash): keyed HalfSipHash buckets over the 4-tuple,
 *   chained, with exact field compares; the bucket count doubles at load 1.
 *   The key is secret, so an attacker cannot pick 4-tuples that share a chain
 *   (hash flooding, the CVE-2003-0364 class). TIME-WAIT entries live here too.
 * - **bind** (bhash): `Map<port, BindBucket>`. A bucket holds its passive
 *   owners (bound-only and LISTEN sockets, which guard the port) and a summary
 *   of its active owners (connected and TIME-WAIT entries, which only guard
 *   their 4-tuple): a count, a count per local address, and how many owners
 *   came from bind() — Linux's `fastreuse >= 0`.
 * - **listening**: `Map<port, listeners>`, a short list per port.
 *
 * Bind conflicts (`inet_csk_bind_conflict`). A binder B conflicts with an
 * owner H of the same port only when their addresses overlap (equal, or
 * either is 0.0.0.0), and then:
 *
 * | H is …                   | conflict when                                  | Linux                      |
 * |--------------------------|------------------------------------------------|----------------------------|
 * | bound, not listening     | not (B and H both SO_REUSEADDR)                | same                       |
 * | LISTEN                   | not both SO_REUSEADDR, or same exact address   | any overlap                |
 * | connected (any state)    | B lacks SO_REUSEADDR                           | also needs H's SO_REUSEADDR |
 * | TIME-WAIT                | B lacks SO_REUSEADDR                           | also needs H's SO_REUSEADDR |
 *
 * Without SO_REUSEADDR on the binder the answers are Linux's. With it we are
 * more permissive in three places, each on purpose:
 * - connected holders: they are reached only through their full 4-tuple
 *   (the established table is searched before listeners), so a new bound or
 *   listening socket on their port cannot take their segments (MUST-41); the
 *   4-tuple is all they need guarded, and connect()/hashEstablished() guard it.
 *   This is what makes MUST-42 hold: an application may LISTEN on a port while
 *   an active open from it is in SYN-SENT or SYN-RECEIVED, without having set
 *   SO_REUSEADDR on the active socket beforehand.
 * - TIME-WAIT holders: the contract's rule, for the same reason.
 * - listeners: with SO_REUSEADDR on both, a wildcard and a specific listener
 *   may share a port (BSD semantics; Linux needs SO_REUSEPORT), and
 *   {@link TcpTables.lookupListener} prefers the specific one. Two listeners
 *   on the same exact address never coexist, and the holder's SO_REUSEADDR is
 *   its consent, so nobody can steal a port from a listener that did not opt in.
 *
 * listen() re-runs the check with the socket as a listener (Linux
 * `inet_csk_listen_start` calls `get_port` again), which is what stops two
 * sockets that shared a port through SO_REUSEADDR from both listening on it.
 * bind(port 0) is stricter (Linux `relax = false`): it takes only a port where
 * no owner overlaps at all.
 *
 * Other behaviour the contract leaves open:
 * - bind() and connect() write `laddr`/`lport` (and connect `raddr`/`rport`,
 *   all tables set `userBoundPort`); a failed call writes nothing. unhash()
 *   never writes the entry: zero `lport` yourself if the next connect should
 *   pick a fresh port (Linux `inet_put_port` zeroes `inet_num`).
 * - bind() of a socket already in the tables is -EINVAL (inet_bind's
 *   `inet_num` check); listen() of an unbound socket binds it to port 0 at
 *   `sk.laddr` first (inet_csk_listen_start); listen() of a listener is 0.
 * - connect() needs `laddr` and `raddr` resolved (not 0.0.0.0): -EINVAL; on a
 *   connected or listening socket it is -EISCONN. A TIME-WAIT entry that
 *   loses its 4-tuple to connect() is handed to
 *   {@link TcpTablesImplOptions.onTimeWaitReuse}.
 * - `userBoundPort` is true for any port that came from bind() (port 0
 *   included, as Linux's `fastreuse >= 0`), for children joining such a port,
 *   and for a connect() on a port set without bind().
 * - Not modelled: SO_REUSEPORT, SO_BINDTODEVICE, network namespaces, and
 *   Linux's even/odd split of the range between connect and bind(0).
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { KeyedHash } from "../core/hash.ts";
import type { RandomSource } from "../core/random.ts";
import type { Ipv4Address } from "../wire/addr.ts";
import type { TcpTableEntry, TcpTables, TcpTablesOptions } from "./tables.ts";

/**
 * {@link TcpTablesOptions} plus the TIME-WAIT hand-off.
 *
 * @example
 * ```ts
 * import { createTcpTables, type TcpTablesImplOptions } from "./tables_impl.ts";
 * import { SeededRandom } from "../core/random.ts";
 * const rng = new SeededRandom(1);
 * const options: TcpTablesImplOptions = {
 *   now: () => performance.now(),
 *   nextU32: () => rng.nextU32(),
 *   onTimeWaitReuse: (tw, sk) => {
 *     // cancel tw's timer; copy tw's TS.Recent into sk; sk's first sequence
 *     // number becomes tw's SND.NXT + 65535 + 2 (Linux tcp_twsk_unique)
 *   },
 * };
 * const tables = createTcpTables(options);
 * ```
 */
export interface TcpTablesImplOptions<E extends TcpTableEntry = TcpTableEntry>
  extends TcpTablesOptions {
  /**
   * Called synchronously inside `connect(sk, …)` when `sk` takes over the
   * 4-tuple of TIME-WAIT entry `tw` (Linux `tcp_twsk_unique` then
   * `inet_twsk_deschedule_put`). By then `tw` has left every table and `sk` is
   * in the established table; the callee kills `tw` (cancels its timer;
   * calling `unhash(tw)` again is harmless) and, before choosing an ISN,
   * inherits from it: Linux sets `write_seq = tw_snd_nxt + 65535 + 2` (1 if
   * that wraps to 0) and copies `ts_recent` / `ts_recent_stamp`.
   */
  onTimeWaitReuse?: (tw: E, sk: E) => void;
}

/** Table sizes, for tests and diagnostics. */
export interface TcpTablesStats {
  /** Entries in the established table (TIME-WAIT included). */
  readonly established: number;
  /** Ports with at least one owner. */
  readonly boundPorts: number;
  /** Sockets in the listening table. */
  readonly listeners: number;
  /** Buckets in the established table. */
  readonly ehashBuckets: number;
  /** The longest established-table chain (a scan: diagnostics only). */
  readonly ehashMaxChain: number;
}

/** The tables, with diagnostics beyond the contract. */
export interface TcpTablesImpl<E extends TcpTableEntry = TcpTableEntry> extends TcpTables<E> {
  /** Table sizes and the longest established-table chain. */
  stats(): TcpTablesStats;
}

/** Linux `ip_local_port_range` default. */
export const DEFAULT_PORT_RANGE: readonly [number, number] = [32768, 60999];

/** TIME-WAIT reuse by an ephemeral connect needs TS.Recent older than this (Linux: > 1 s). */
export const TW_REUSE_MIN_AGE_MS = 1000;

/**
 * Size of the RFC 6056 algorithm 4 perturbation table. 2^16 like Linux since
 * 5.18: a small table let observers link connections and track devices
 * (Kol, Klein, Gilad 2022, CVE-2022-32296).
 */
const PERTURB_SIZE = 65536;
const EHASH_INITIAL_BUCKETS = 64;

/**
 * The established-table hash of a 4-tuple under key `h`. Exported so tests can
 * craft collisions under a key they know; the tables use their own secret key.
 *
 * @example
 * ```ts
 * import { establishedHash } from "./tables_impl.ts";
 * import { KeyedHash } from "../core/hash.ts";
 * import { SeededRandom } from "../core/random.ts";
 * const h = new KeyedHash(new SeededRandom(1));
 * establishedHash(h, 0x0a000001, 40000, 0x0a000002, 80) >>> 0; // a 32-bit bucket hash
 * ```
 */
export function establishedHash(
  h: KeyedHash,
  laddr: Ipv4Address,
  lport: number,
  raddr: Ipv4Address,
  rport: number,
): number {
  return h.hash3(laddr, raddr, ((lport & 0xffff) << 16) | (rport & 0xffff));
}

const BOUND = 0;
const LISTEN = 1;
const ACTIVE = 2;
type Kind = typeof BOUND | typeof LISTEN | typeof ACTIVE;

/** An established-table node; it keeps its own copy of the key, so a caller mutating the entry cannot corrupt the chain. */
interface EhNode<E> {
  readonly hash: number;
  readonly laddr: number;
  readonly lport: number;
  readonly raddr: number;
  readonly rport: number;
  sk: E;
  prev: EhNode<E> | null;
  next: EhNode<E> | null;
}

/** Where a socket sits in the tables (Linux keeps this in the socket: icsk_bind_hash, sk_node). */
interface Rec<E> {
  sk: E;
  kind: Kind;
  readonly bucket: BindBucket<E>;
  /** Bound address (passive) or connected local address (active), as hashed. */
  laddr: number;
  /** Counted in `bucket.userBound`. */
  readonly userBound: boolean;
  node: EhNode<E> | null;
}

/** Linux `inet_bind_bucket`. */
interface BindBucket<E> {
  readonly port: number;
  /** Bound-only and LISTEN owners. */
  readonly passive: Rec<E>[];
  /** Connected and TIME-WAIT owners, and how many per local address. */
  active: number;
  readonly activeAddrs: Map<number, number>;
  /** Owners whose port came from bind() (Linux `fastreuse >= 0`): never picked by connect. */
  userBound: number;
}

/** `connect` outcome of a 4-tuple check: free (null), taken, or a TIME-WAIT entry that may be displaced. */
const TAKEN = Symbol("taken");

function isPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

/**
 * Create the tables.
 *
 * Randomness drawn from `options.nextU32`: at construction two words each for
 * the established-table key, then the RFC 6056 F key, then the G key; later
 * one word per bind(port 0) (the random start) and one per ephemeral connect
 * (the perturbation bump).
 *
 * @example
 * ```ts
 * import { createTcpTables } from "./tables_impl.ts";
 * import { CryptoRandom } from "../core/random.ts";
 * const rng = new CryptoRandom();
 * const tables = createTcpTables({ now: () => performance.now(), nextU32: () => rng.nextU32() });
 * const sk = {
 *   laddr: 0, lport: 0, raddr: 0, rport: 0, reuseAddr: false,
 *   isTimeWait: false, tsRecent: -1, tsRecentStamp: 0, userBoundPort: false,
 * };
 * tables.connect(sk, 0xc0000201, 0xc0000202, 80); // 0; sk.lport is now ephemeral
 * ```
 */
export function createTcpTables<E extends TcpTableEntry = TcpTableEntry>(
  options: TcpTablesImplOptions<E>,
): TcpTablesImpl<E> {
  return new Tables<E>(options);
}

class Tables<E extends TcpTableEntry> implements TcpTablesImpl<E> {
  readonly #low: number;
  readonly #range: number;
  readonly #reserved: ReadonlySet<number>;
  readonly #twReuse: boolean;
  readonly #now: () => number;
  readonly #nextU32: () => number;
  readonly #onTimeWaitReuse: ((tw: E, sk: E) => void) | undefined;

  readonly #ehKey: KeyedHash;
  readonly #portF: KeyedHash;
  readonly #portG: KeyedHash;
  /** RFC 6056 §3.3.4 `table[]`; zero is as good as random here because F already adds a secret offset. */
  readonly #perturb = new Uint32Array(PERTURB_SIZE);

  #eh: (EhNode<E> | null)[] = new Array<EhNode<E> | null>(EHASH_INITIAL_BUCKETS).fill(null);
  #ehMask = EHASH_INITIAL_BUCKETS - 1;
  #ehCount = 0;
  readonly #bhash = new Map<number, BindBucket<E>>();
  readonly #listening = new Map<number, Rec<E>[]>();
  #listenerCount = 0;
  readonly #recs = new Map<E, Rec<E>>();

  constructor(o: TcpTablesImplOptions<E>) {
    const [low, high] = o.portRange ?? DEFAULT_PORT_RANGE;
    if (!(isPort(low) && isPort(high) && low >= 1 && low <= high)) {
      throw new RangeError(
        `TCP tables: port range ${low}-${high} is not 1 <= low <= high <= 65535`,
      );
    }
    this.#low = low;
    this.#range = high - low + 1;
    this.#reserved = new Set(o.reservedPorts ?? []);
    this.#twReuse = o.twReuse ?? true;
    this.#now = o.now;
    this.#nextU32 = o.nextU32;
    this.#onTimeWaitReuse = o.onTimeWaitReuse;
    const rng: RandomSource = {
      nextU32: () => o.nextU32() >>> 0,
      fill(bytes: Uint8Array): void {
        for (let i = 0; i < bytes.length; i++) bytes[i] = o.nextU32();
      },
    };
    this.#ehKey = new KeyedHash(rng);
    this.#portF = new KeyedHash(rng);
    this.#portG = new KeyedHash(rng);
  }

  get establishedCount(): number {
    return this.#ehCount;
  }

  // -------------------------------------------------------------------------
  // bind / listen

  bind(sk: E, laddr: Ipv4Address, port: number): number {
    // inet_bind: a socket that already has a port gets EINVAL (Linux `__inet_bind`).
    if (this.#recs.has(sk)) return -Errno.EINVAL;
    if (!isPort(port)) return -Errno.EINVAL;
    const addr = laddr >>> 0;
    if (port === 0) {
      port = this.#findOpenPort(sk, addr);
      // Linux inet_bind turns any get_port failure into EADDRINUSE.
      if (port < 0) return -Errno.EADDRINUSE;
    } else {
      const b = this.#bhash.get(port);
      if (b !== undefined && this.#conflicts(b, sk, addr, sk.reuseAddr, false)) {
        return -Errno.EADDRINUSE;
      }
    }
    this.#addPassive(sk, addr, port);
    return 0;
  }

  listen(sk: E): number {
    let rec = this.#recs.get(sk);
    if (rec === undefined) {
      // inet_csk_listen_start → get_port(sk, 0): an unbound listener gets an ephemeral port.
      const err = this.bind(sk, sk.laddr, 0);
      if (err !== 0) return err;
      rec = this.#recs.get(sk)!;
    }
    // inet_listen on a listener only updates the backlog (Linux `inet_listen`).
    if (rec.kind === LISTEN) return 0;
    if (rec.kind === ACTIVE) return -Errno.EINVAL;
    // Re-check as a listener: a socket that shared the port through
    // SO_REUSEADDR now meets the "holder is LISTEN" rule from the other side.
    if (this.#conflicts(rec.bucket, sk, rec.laddr, sk.reuseAddr, false)) return -Errno.EADDRINUSE;
    rec.kind = LISTEN;
    const port = rec.bucket.port;
    const list = this.#listening.get(port);
    if (list === undefined) this.#listening.set(port, [rec]);
    else list.push(rec);
    this.#listenerCount++;
    return 0;
  }

  lookupListener(laddr: Ipv4Address, lport: number): E | null {
    const list = this.#listening.get(lport);
    if (list === undefined) return null;
    const addr = laddr >>> 0;
    let wildcard: E | null = null;
    for (const r of list) {
      // Specific address first, like the score in Linux __inet_lookup_listener.
      if (r.laddr === addr) return r.sk;
      if (r.laddr === 0) wildcard ??= r.sk;
    }
    return wildcard;
  }

  /** Whether `sk` binding `addr` conflicts with an owner of bucket `b` (see the module table). */
  #conflicts(
    b: BindBucket<E>,
    sk: E,
    addr: number,
    reuse: boolean,
    strict: boolean,
  ): boolean {
    // Active owners always have a specific address, so a wildcard binder
    // overlaps all of them and a specific one only those on its address.
    if (b.active > 0 && (strict || !reuse) && (addr === 0 || b.activeAddrs.has(addr))) return true;
    for (const h of b.passive) {
      if (h.sk === sk) continue;
      if (!(addr === 0 || h.laddr === 0 || h.laddr === addr)) continue;
      if (strict) return true;
      const both = reuse && h.sk.reuseAddr;
      if (!both) return true;
      if (h.kind === LISTEN && h.laddr === addr) return true;
    }
    return false;
  }

  /** inet_csk_find_open_port: random start, one pass over the range, first port nobody overlaps. */
  #findOpenPort(sk: E, addr: number): number {
    const range = this.#range;
    const start = Math.floor(((this.#nextU32() >>> 0) / 4294967296) * range);
    for (let i = 0; i < range; i++) {
      const port = this.#low + ((start + i) % range);
      if (this.#reserved.has(port)) continue;
      const b = this.#bhash.get(port);
      if (b === undefined || !this.#conflicts(b, sk, addr, sk.reuseAddr, true)) return port;
    }
    return -1;
  }

  #addPassive(sk: E, addr: number, port: number): void {
    const b = this.#bucket(port);
    const rec: Rec<E> = { sk, kind: BOUND, bucket: b, laddr: addr, userBound: true, node: null };
    b.passive.push(rec);
    b.userBound++;
    this.#recs.set(sk, rec);
    sk.laddr = addr;
    sk.lport = port;
    sk.userBoundPort = true;
  }

  #bucket(port: number): BindBucket<E> {
    let b = this.#bhash.get(port);
    if (b === undefined) {
      b = { port, passive: [], active: 0, activeAddrs: new Map(), userBound: 0 };
      this.#bhash.set(port, b);
    }
    return b;
  }

  // -------------------------------------------------------------------------
  // connect / established

  connect(sk: E, laddr: Ipv4Address, raddr: Ipv4Address, rport: number): number {
    const l = laddr >>> 0, r = raddr >>> 0;
    // The core resolves 0.0.0.0 (routing picks the source; Linux maps a 0
    // destination to a local address) before hashing a full 4-tuple.
    if (l === 0 || r === 0 || !isPort(rport)) return -Errno.EINVAL;
    const rec = this.#recs.get(sk);
    if (rec !== undefined) {
      if (rec.kind !== BOUND) return -Errno.EISCONN;
      // A socket bound to a specific address sends from it; a different
      // source here is a caller bug.
      if (rec.laddr !== 0 && rec.laddr !== l) return -Errno.EINVAL;
      return this.#connectFixed(sk, rec, l, rec.bucket.port, r, rport);
    }
    if (sk.lport !== 0) {
      // A port set without bind(): taken as is, only the 4-tuple is checked.
      if (!isPort(sk.lport)) return -Errno.EINVAL;
      return this.#connectFixed(sk, null, l, sk.lport, r, rport);
    }
    return this.#connectEphemeral(sk, l, r, rport);
  }

  /**
   * __inet_hash_connect with a port: only `__inet_check_established`, so
   * connect can fail with EADDRNOTAVAIL after a successful bind, as in
   * Linux. A TIME-WAIT holder with timestamps is displaced at once (the
   * `twp == NULL` case of tcp_twsk_unique: no tcp_tw_reuse, no 1 s wait).
   */
  #connectFixed(
    sk: E,
    rec: Rec<E> | null,
    l: number,
    lport: number,
    r: number,
    rport: number,
  ): number {
    const st = this.#tupleState(l, lport, r, rport, false);
    if (st === TAKEN) return -Errno.EADDRNOTAVAIL;
    // Like hashEstablished, an unbound socket joins the port's bucket on the
    // bucket's terms (read before the TIME-WAIT entry may empty it).
    const b = this.#bhash.get(lport);
    const userBound = b !== undefined ? b.userBound > 0 : true;
    if (st !== null) this.#detach(this.#recs.get(st)!);
    if (rec !== null) this.#activate(rec, l, r, rport);
    else this.#insertActive(sk, l, lport, r, rport, userBound);
    if (st !== null) this.#onTimeWaitReuse?.(st, sk);
    return 0;
  }

  /**
   * RFC 6056 §3.3.4 algorithm 4 ("double-hash"), as in Linux __inet_hash_connect:
   * offset = F(laddr, raddr, rport) + table[G(laddr, raddr, rport)], probe
   * low + (offset + i) % range. F keeps each destination's sequence secret
   * and unrelated to others'; the per-destination table entry moves on after
   * each use, so one destination cycles through the whole range before a port
   * comes back (fewer TIME-WAIT collisions).
   */
  #connectEphemeral(sk: E, l: number, r: number, rport: number): number {
    const range = this.#range;
    const index = this.#portG.hash3(l, r, rport) & (PERTURB_SIZE - 1);
    const offset = this.#portF.hash3(l, r, rport) + this.#perturb[index]!;
    for (let i = 0; i < range; i++) {
      const port = this.#low + ((offset + i) % range);
      // ip_local_reserved_ports
      if (this.#reserved.has(port)) continue;
      const b = this.#bhash.get(port);
      let tw: E | null = null;
      if (b !== undefined) {
        // fastreuse >= 0: a port someone bound explicitly is never auto-selected.
        if (b.userBound > 0) continue;
        const st = this.#tupleState(l, port, r, rport, true);
        if (st === TAKEN) continue;
        tw = st;
      }
      // Linux 5.18+: advance by the probes used, or by a small random step when
      // there was no contention, so the next port for this destination is not
      // exactly predictable (Kol, Klein, Gilad 2022).
      this.#perturb[index] = this.#perturb[index]! + Math.max(i, this.#nextU32() & 7) + 1;
      if (tw !== null) this.#detach(this.#recs.get(tw)!);
      this.#insertActive(sk, l, port, r, rport, false);
      if (tw !== null) this.#onTimeWaitReuse?.(tw, sk);
      return 0;
    }
    return -Errno.EADDRNOTAVAIL;
  }

  /**
   * __inet_check_established: null when the 4-tuple is free, the TIME-WAIT
   * entry holding it when tcp_twsk_unique lets us take it over, else TAKEN.
   */
  #tupleState(
    l: number,
    lport: number,
    r: number,
    rport: number,
    ephemeral: boolean,
  ): E | null | typeof TAKEN {
    const n = this.#ehFind(l, lport, r, rport);
    if (n === null) return null;
    const tw = n.sk;
    // Timestamps are what make reuse safe: the new connection's TSvals exceed
    // the old ones, so PAWS rejects the old incarnation's duplicates (RFC 6191).
    if (!tw.isTimeWait || tw.tsRecent < 0) return TAKEN;
    if (!ephemeral) return tw;
    const old = this.#twReuse && this.#now() - tw.tsRecentStamp > TW_REUSE_MIN_AGE_MS;
    return old ? tw : TAKEN;
  }

  hashEstablished(sk: E): number {
    if (this.#recs.has(sk)) return -Errno.EINVAL;
    const l = sk.laddr >>> 0, r = sk.raddr >>> 0;
    if (l === 0 || r === 0 || !isPort(sk.lport) || sk.lport === 0 || !isPort(sk.rport)) {
      return -Errno.EINVAL;
    }
    // inet_ehash_insert refuses a duplicate 4-tuple.
    if (this.#ehFind(l, sk.lport, r, sk.rport) !== null) return -Errno.EADDRINUSE;
    const b = this.#bhash.get(sk.lport);
    // __inet_inherit_port: a child joins the listener's bucket, so the port
    // stays bind()-owned (never ephemeral) while children live. With no
    // bucket left the entry's own flag (copied by the caller) decides.
    const userBound = b !== undefined ? b.userBound > 0 : sk.userBoundPort;
    this.#insertActive(sk, l, sk.lport, r, sk.rport, userBound);
    return 0;
  }

  replace(old: E, next: E): void {
    const rec = this.#recs.get(old);
    if (rec === undefined || rec.node === null) {
      throw new Error("TcpTables.replace: the old entry is not in the established table");
    }
    if (old === next) return;
    if (this.#recs.has(next)) throw new Error("TcpTables.replace: the new entry is already hashed");
    const n = rec.node;
    if (
      next.laddr >>> 0 !== n.laddr || next.lport !== n.lport || next.raddr >>> 0 !== n.raddr ||
      next.rport !== n.rport
    ) {
      // A mismatch would make lookups return an entry whose fields disagree with its key.
      throw new Error("TcpTables.replace: the new entry has a different 4-tuple");
    }
    // inet_twsk_hashdance: same chain slot, same bind bucket (TIME-WAIT keeps the port).
    n.sk = next;
    rec.sk = next;
    this.#recs.delete(old);
    this.#recs.set(next, rec);
    next.userBoundPort = rec.userBound;
  }

  unhash(sk: E): void {
    const rec = this.#recs.get(sk);
    if (rec !== undefined) this.#detach(rec);
  }

  lookupEstablished(
    laddr: Ipv4Address,
    lport: number,
    raddr: Ipv4Address,
    rport: number,
  ): E | null {
    return this.#ehFind(laddr >>> 0, lport, raddr >>> 0, rport)?.sk ?? null;
  }

  stats(): TcpTablesStats {
    let max = 0;
    for (let head of this.#eh) {
      let len = 0;
      for (; head !== null; head = head.next) len++;
      if (len > max) max = len;
    }
    return {
      established: this.#ehCount,
      boundPorts: this.#bhash.size,
      listeners: this.#listenerCount,
      ehashBuckets: this.#eh.length,
      ehashMaxChain: max,
    };
  }

  // -------------------------------------------------------------------------
  // internals

  #insertActive(
    sk: E,
    l: number,
    lport: number,
    r: number,
    rport: number,
    userBound: boolean,
  ): void {
    const b = this.#bucket(lport);
    const rec: Rec<E> = { sk, kind: BOUND, bucket: b, laddr: l, userBound, node: null };
    if (userBound) b.userBound++;
    this.#recs.set(sk, rec);
    this.#activate(rec, l, r, rport);
  }

  /** A bound (or new) record becomes connected: out of `passive`, into the active summary and ehash. */
  #activate(rec: Rec<E>, l: number, r: number, rport: number): void {
    const b = rec.bucket;
    const i = b.passive.indexOf(rec);
    if (i >= 0) b.passive.splice(i, 1);
    rec.kind = ACTIVE;
    rec.laddr = l;
    b.active++;
    b.activeAddrs.set(l, (b.activeAddrs.get(l) ?? 0) + 1);
    const sk = rec.sk;
    sk.laddr = l;
    sk.lport = b.port;
    sk.raddr = r;
    sk.rport = rport;
    sk.userBoundPort = rec.userBound;
    rec.node = this.#ehInsert(sk, l, b.port, r, rport);
  }

  #detach(rec: Rec<E>): void {
    const b = rec.bucket;
    if (rec.kind === ACTIVE) {
      this.#ehRemove(rec.node!);
      rec.node = null;
      b.active--;
      const c = b.activeAddrs.get(rec.laddr)! - 1;
      if (c === 0) b.activeAddrs.delete(rec.laddr);
      else b.activeAddrs.set(rec.laddr, c);
    } else {
      b.passive.splice(b.passive.indexOf(rec), 1);
      if (rec.kind === LISTEN) {
        const list = this.#listening.get(b.port)!;
        list.splice(list.indexOf(rec), 1);
        if (list.length === 0) this.#listening.delete(b.port);
        this.#listenerCount--;
      }
    }
    if (rec.userBound) b.userBound--;
    if (b.active === 0 && b.passive.length === 0) this.#bhash.delete(b.port);
    this.#recs.delete(rec.sk);
  }

  #ehFind(l: number, lport: number, r: number, rport: number): EhNode<E> | null {
    let n = this.#eh[establishedHash(this.#ehKey, l, lport, r, rport) & this.#ehMask] ?? null;
    for (; n !== null; n = n.next) {
      if (n.lport === lport && n.rport === rport && n.laddr === l && n.raddr === r) return n;
    }
    return null;
  }

  #ehInsert(sk: E, l: number, lport: number, r: number, rport: number): EhNode<E> {
    if (this.#ehCount >= this.#eh.length) this.#ehGrow();
    const hash = establishedHash(this.#ehKey, l, lport, r, rport);
    const node: EhNode<E> = { hash, laddr: l, lport, raddr: r, rport, sk, prev: null, next: null };
    this.#link(node);
    this.#ehCount++;
    return node;
  }

  #link(node: EhNode<E>): void {
    const i = node.hash & this.#ehMask;
    const head = this.#eh[i] ?? null;
    node.prev = null;
    node.next = head;
    if (head !== null) head.prev = node;
    this.#eh[i] = node;
  }

  #ehRemove(node: EhNode<E>): void {
    if (node.prev !== null) node.prev.next = node.next;
    else this.#eh[node.hash & this.#ehMask] = node.next;
    if (node.next !== null) node.next.prev = node.prev;
    node.prev = node.next = null;
    this.#ehCount--;
  }

  /** Double the bucket array; the key stays, so each node's stored hash is reused. */
  #ehGrow(): void {
    const old = this.#eh;
    this.#eh = new Array<EhNode<E> | null>(old.length * 2).fill(null);
    this.#ehMask = this.#eh.length - 1;
    for (let head of old) {
      while (head !== null) {
        const next = head.next;
        this.#link(head);
        head = next;
      }
    }
  }
}
