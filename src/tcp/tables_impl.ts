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
import { ip6Equal, isUnspecified6 } from "../wire/addr6.ts";
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

/**
 * The established-table hash of an IPv6 4-tuple (addresses at `l[lOff]`
 * and `r[rOff]`, read in place) under key `h`: one HalfSipHash over both
 * addresses and the ports, so chains stay short whatever an attacker picks.
 *
 * @example
 * ```ts
 * import { establishedHash6 } from "./tables_impl.ts";
 * import { KeyedHash } from "../core/hash.ts";
 * import { SeededRandom } from "../core/random.ts";
 * import { parseIpv6Address } from "../wire/addr6.ts";
 * const h = new KeyedHash(new SeededRandom(1));
 * const a = parseIpv6Address("2001:db8::1"), b = parseIpv6Address("2001:db8::2");
 * establishedHash6(h, a, 0, 40000, b, 0, 80) >>> 0; // a 32-bit bucket hash
 * ```
 */
export function establishedHash6(
  h: KeyedHash,
  l: Uint8Array,
  lOff: number,
  lport: number,
  r: Uint8Array,
  rOff: number,
  rport: number,
): number {
  return h.hashIp6Pair(l, lOff, r, rOff, ((lport & 0xffff) << 16) | (rport & 0xffff));
}

/** A map key for an IPv6 address (bind and connect time only, never per segment). */
function key6(a: Uint8Array, off: number): string {
  let k = "";
  for (let i = 0; i < 16; i++) k += String.fromCharCode(a[off + i]!);
  return k;
}

/**
 * Who is binding, in both families: an IPv4 address (`a6` null), or an IPv6
 * one with its IPV6_V6ONLY. `any` is the wildcard of its family.
 */
interface Claim {
  readonly addr: number;
  readonly a6: Uint8Array | null;
  readonly any: boolean;
  readonly v6only: boolean;
}

/** The claim of an active record before {@link Tables} activates it. */
const NO_CLAIM: Claim = { addr: 0, a6: null, any: false, v6only: false };

function claimOf(addr: number, a6: Uint8Array | null, v6only: boolean): Claim {
  return { addr, a6, any: a6 === null ? addr === 0 : isUnspecified6(a6, 0), v6only };
}

/** Shared claims of connected IPv4 records kept per local address, at most this many addresses. */
const CLAIM_CACHE_MAX = 256;

/**
 * Do two claims on one port overlap (Linux `inet_rcv_saddr_equal` /
 * `ipv6_rcv_saddr_equal` with wildcards matching)? Same family: equal, or
 * either is the wildcard. Across families only an IPv6 `::` without
 * IPV6_V6ONLY overlaps, because it also claims every IPv4 address.
 */
function overlaps(a: Claim, b: Claim): boolean {
  if (a.a6 === null && b.a6 === null) return a.any || b.any || a.addr === b.addr;
  if (a.a6 !== null && b.a6 !== null) return a.any || b.any || ip6Equal(a.a6, 0, b.a6, 0);
  const v6 = a.a6 !== null ? a : b;
  return v6.any && !v6.v6only;
}

/**
 * The same exact address, for the "two listeners never share an address"
 * rule: equal within a family, and across families the two wildcards that
 * both cover IPv4 (0.0.0.0 and a dual-stack `::`), as a Linux `bind` of
 * both would fail.
 */
function sameAddress(a: Claim, b: Claim): boolean {
  if (a.a6 === null && b.a6 === null) return a.addr === b.addr;
  if (a.a6 !== null && b.a6 !== null) return ip6Equal(a.a6, 0, b.a6, 0);
  const v6 = a.a6 !== null ? a : b;
  return a.any && b.any && !v6.v6only;
}

const BOUND = 0;
const LISTEN = 1;
const ACTIVE = 2;
type Kind = typeof BOUND | typeof LISTEN | typeof ACTIVE;

/**
 * Where a socket sits in the tables (Linux keeps this in the socket:
 * icsk_bind_hash, sk_node); an active (connected or TIME-WAIT) record is
 * also its own established-table node, one object per connection. The node
 * keeps its own copy of the key, so a caller mutating the entry cannot
 * corrupt the chain. The hash and the IPv4 addresses are kept as int32
 * (`x | 0`): small integers that V8 stores in the field itself, where a
 * uint32 of 2^31 or more (192.0.2.1) would be a separately allocated number
 * — 16 bytes each, per connection.
 */
interface Rec<E> {
  sk: E;
  kind: Kind;
  readonly bucket: BindBucket<E>;
  /**
   * Bound address (passive) or connected local address (active), as int32;
   * the node's local IPv4 key (0 in an IPv6 node: never a valid IPv4 key).
   */
  laddr: number;
  /** The local address and its IPV6_V6ONLY (shared by connected IPv4 records of one address). */
  claim: Claim;
  /** An active IPv6 record's key in `activeAddrs6`. */
  key6: string;
  /** Counted in `bucket.userBound`. */
  readonly userBound: boolean;
  // The established-table node (meaningful while kind === ACTIVE).
  hash: number;
  lport: number;
  /** Remote IPv4 address as int32 (0 in an IPv6 node). */
  raddr: number;
  rport: number;
  /** IPv6: a copy of the addresses, local at 0 and remote at 16; null for IPv4. */
  a6: Uint8Array | null;
  prev: Rec<E> | null;
  next: Rec<E> | null;
}

/** An established-table node: an active {@link Rec}. */
type EhNode<E> = Rec<E>;

/**
 * Linux `inet_bind_bucket`. A connect()'s ephemeral port makes one per
 * connection, so what only some buckets need is made on first use: the
 * passive list, the IPv6 address counts, and the IPv4 counts beyond the
 * first address (one local address per port is the common case).
 */
interface BindBucket<E> {
  readonly port: number;
  /** Bound-only and LISTEN owners ({@link NO_RECS}, shared and empty, until the first). */
  passive: Rec<E>[];
  /** Connected and TIME-WAIT owners (both families). */
  active: number;
  /** An IPv4 local address of active owners (int32), counted in {@link BindBucket.addr4Count}. */
  addr4: number;
  /** Active owners counted on {@link BindBucket.addr4} (0: the slot is free). */
  addr4Count: number;
  /** Other IPv4 local addresses of active owners (int32) and their counts, or null. */
  more4: Map<number, number> | null;
  /** Of the active owners, IPv6 ones, and how many per IPv6 local address (made by the first). */
  active6: number;
  activeAddrs6: Map<string, number> | null;
  /** Owners whose port came from bind() (Linux `fastreuse >= 0`): never picked by connect. */
  userBound: number;
}

/** The shared empty passive list of a bucket that never had one (replaced on the first push). */
const NO_RECS: Rec<never>[] = [];

/** Count one more active owner of IPv4 local address `a` (int32) in `b`. */
function add4(b: BindBucket<unknown>, a: number): void {
  if (b.addr4Count === 0) {
    b.addr4 = a;
    b.addr4Count = 1;
  } else if (b.addr4 === a) {
    b.addr4Count++;
  } else {
    const m = b.more4 ??= new Map();
    m.set(a, (m.get(a) ?? 0) + 1);
  }
}

/** Count one fewer (an address's owners may be split between the slot and the map: either may go). */
function del4(b: BindBucket<unknown>, a: number): void {
  if (b.addr4Count > 0 && b.addr4 === a) {
    b.addr4Count--;
    return;
  }
  const m = b.more4!;
  const c = m.get(a)! - 1;
  if (c === 0) m.delete(a);
  else m.set(a, c);
}

/** Does IPv4 local address `a` (int32) have active owners in `b`? */
function has4(b: BindBucket<unknown>, a: number): boolean {
  return (b.addr4Count > 0 && b.addr4 === a) || (b.more4 !== null && b.more4.has(a));
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
  /** Each hashed entry's record, kept in the entry's `tablesRec` slot (no map entry per socket). */
  #rec(sk: E): Rec<E> | undefined {
    return (sk.tablesRec ?? undefined) as Rec<E> | undefined;
  }
  readonly #claims4 = new Map<number, Claim>();

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
    return this.#bind(sk, claimOf(laddr >>> 0, null, false), port);
  }

  bind6(sk: E, addr: Uint8Array, off: number, port: number): number {
    return this.#bind(sk, claimOf(0, addr.slice(off, off + 16), sk.v6only ?? false), port);
  }

  #bind(sk: E, c: Claim, port: number): number {
    // inet_bind: a socket that already has a port gets EINVAL (Linux `__inet_bind`).
    if ((sk.tablesRec ?? null) !== null) return -Errno.EINVAL;
    if (!isPort(port)) return -Errno.EINVAL;
    if (port === 0) {
      port = this.#findOpenPort(sk, c);
      // Linux inet_bind turns any get_port failure into EADDRINUSE.
      if (port < 0) return -Errno.EADDRINUSE;
    } else {
      const b = this.#bhash.get(port);
      if (b !== undefined && this.#conflicts(b, sk, c, sk.reuseAddr, false)) {
        return -Errno.EADDRINUSE;
      }
    }
    this.#addPassive(sk, c, port);
    return 0;
  }

  listen(sk: E): number {
    let rec = this.#rec(sk);
    if (rec === undefined) {
      // inet_csk_listen_start → get_port(sk, 0): an unbound listener gets an ephemeral port.
      const a6 = sk.addr6 ?? null;
      const err = a6 !== null ? this.bind6(sk, a6, 0, 0) : this.bind(sk, sk.laddr, 0);
      if (err !== 0) return err;
      rec = this.#rec(sk)!;
    }
    // inet_listen on a listener only updates the backlog (Linux `inet_listen`).
    if (rec.kind === LISTEN) return 0;
    if (rec.kind === ACTIVE) return -Errno.EINVAL;
    // Re-check as a listener: a socket that shared the port through
    // SO_REUSEADDR now meets the "holder is LISTEN" rule from the other side.
    if (this.#conflicts(rec.bucket, sk, rec.claim, sk.reuseAddr, false)) return -Errno.EADDRINUSE;
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
    let dual: E | null = null;
    for (const r of list) {
      const c = r.claim;
      if (c.a6 !== null) {
        // A dual-stack listener on `::` takes IPv4 too, after any IPv4
        // listener (Linux compute_score: AF_INET scores one more).
        if (c.any && !c.v6only) dual ??= r.sk;
        continue;
      }
      // Specific address first, like the score in Linux __inet_lookup_listener.
      if (r.laddr === (addr | 0)) return r.sk;
      if (r.laddr === 0) wildcard ??= r.sk;
    }
    return wildcard ?? dual;
  }

  lookupListener6(u8: Uint8Array, off: number, lport: number): E | null {
    const list = this.#listening.get(lport);
    if (list === undefined) return null;
    let wildcard: E | null = null;
    for (const r of list) {
      const a6 = r.claim.a6;
      if (a6 === null) continue;
      if (r.claim.any) wildcard ??= r.sk;
      else if (ip6Equal(a6, 0, u8, off)) return r.sk;
    }
    return wildcard;
  }

  /** Whether `sk` binding claim `c` conflicts with an owner of bucket `b` (see the module table). */
  #conflicts(
    b: BindBucket<E>,
    sk: E,
    c: Claim,
    reuse: boolean,
    strict: boolean,
  ): boolean {
    // Active owners always have a specific address, so a wildcard binder
    // overlaps all of them (of the families it claims) and a specific one
    // only those on its address.
    if (b.active > 0 && (strict || !reuse) && this.#overlapsActive(b, c)) return true;
    for (const h of b.passive) {
      if (h.sk === sk) continue;
      if (!overlaps(c, h.claim)) continue;
      if (strict) return true;
      const both = reuse && h.sk.reuseAddr;
      if (!both) return true;
      if (h.kind === LISTEN && sameAddress(c, h.claim)) return true;
    }
    return false;
  }

  /** Does claim `c` cover the local address of an active owner of `b`? */
  #overlapsActive(b: BindBucket<E>, c: Claim): boolean {
    const v4 = b.active - b.active6;
    if (c.a6 === null) return v4 > 0 && (c.any || has4(b, c.addr | 0));
    if (c.any) return b.active6 > 0 || (!c.v6only && v4 > 0);
    return b.active6 > 0 && b.activeAddrs6!.has(key6(c.a6, 0));
  }

  /** inet_csk_find_open_port: random start, one pass over the range, first port nobody overlaps. */
  #findOpenPort(sk: E, addr: Claim): number {
    const range = this.#range;
    const start = Math.floor(((this.#nextU32() >>> 0) / 4294967296) * range);
    for (let i = 0; i < range; i++) {
      const port = (this.#low + ((start + i) % range)) | 0;
      if (this.#reserved.has(port)) continue;
      const b = this.#bhash.get(port);
      if (b === undefined || !this.#conflicts(b, sk, addr, sk.reuseAddr, true)) return port;
    }
    return -1;
  }

  #addPassive(sk: E, c: Claim, port: number): void {
    const b = this.#bucket(port);
    const rec: Rec<E> = {
      sk,
      kind: BOUND,
      bucket: b,
      laddr: c.addr | 0,
      claim: c,
      key6: "",
      userBound: true,
      hash: 0,
      lport: 0,
      raddr: 0,
      rport: 0,
      a6: null,
      prev: null,
      next: null,
    };
    if (b.passive === NO_RECS) b.passive = [];
    b.passive.push(rec);
    b.userBound++;
    sk.tablesRec = rec;
    if (c.a6 !== null) {
      const a6 = sk.addr6 ??= new Uint8Array(32);
      a6.set(c.a6, 0);
      sk.laddr = 0;
    } else {
      sk.laddr = c.addr;
    }
    sk.lport = port;
    sk.userBoundPort = true;
  }

  /**
   * The claim of a connected IPv4 record on local address `l` (uint32),
   * shared by every connection on it: claims are never written, and a
   * server's thousands of connections have one or a few local addresses.
   */
  #claim4(l: number): Claim {
    let c = this.#claims4.get(l);
    if (c === undefined) {
      c = claimOf(l, null, false);
      if (this.#claims4.size < CLAIM_CACHE_MAX) this.#claims4.set(l, c);
    }
    return c;
  }

  #bucket(port: number): BindBucket<E> {
    let b = this.#bhash.get(port);
    if (b === undefined) {
      b = {
        port,
        passive: NO_RECS,
        active: 0,
        addr4: 0,
        addr4Count: 0,
        more4: null,
        active6: 0,
        activeAddrs6: null,
        userBound: 0,
      };
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
    const rec = this.#rec(sk);
    if (rec !== undefined) {
      if (rec.kind !== BOUND) return -Errno.EISCONN;
      // A socket bound to a specific address sends from it; a different
      // source here is a caller bug. A dual-stack `::` may go out over IPv4
      // (an AF_INET6 socket connecting to a v4-mapped address).
      const c = rec.claim;
      const ok = c.a6 === null ? c.any || c.addr === l : c.any && !c.v6only;
      if (!ok) return -Errno.EINVAL;
      return this.#connectFixed(sk, rec, l, rec.bucket.port, r, rport, null);
    }
    if (sk.lport !== 0) {
      // A port set without bind(): taken as is, only the 4-tuple is checked.
      if (!isPort(sk.lport)) return -Errno.EINVAL;
      return this.#connectFixed(sk, null, l, sk.lport, r, rport, null);
    }
    return this.#connectEphemeral(sk, l, r, rport, null);
  }

  connect6(sk: E, laddr: Uint8Array, raddr: Uint8Array, rport: number): number {
    if (isUnspecified6(laddr, 0) || isUnspecified6(raddr, 0) || !isPort(rport)) {
      return -Errno.EINVAL;
    }
    const a6 = new Uint8Array(32);
    for (let i = 0; i < 16; i++) {
      a6[i] = laddr[i]!;
      a6[16 + i] = raddr[i]!;
    }
    const rec = this.#rec(sk);
    if (rec !== undefined) {
      if (rec.kind !== BOUND) return -Errno.EISCONN;
      const c = rec.claim;
      if (c.a6 === null || (!c.any && !ip6Equal(c.a6, 0, a6, 0))) return -Errno.EINVAL;
      return this.#connectFixed(sk, rec, 0, rec.bucket.port, 0, rport, a6);
    }
    if (sk.lport !== 0) {
      if (!isPort(sk.lport)) return -Errno.EINVAL;
      return this.#connectFixed(sk, null, 0, sk.lport, 0, rport, a6);
    }
    return this.#connectEphemeral(sk, 0, 0, rport, a6);
  }

  /**
   * __inet_hash_connect with a port: only `__inet_check_established`, so
   * connect can fail with EADDRNOTAVAIL after a successful bind, as in
   * Linux. A TIME-WAIT holder with timestamps is displaced at once (the
   * `twp == NULL` case of tcp_twsk_unique: no tcp_tw_reuse, no 1 s wait).
   * `a6` (local at 0, remote at 16) makes it IPv6; else `l`/`r` are IPv4.
   */
  #connectFixed(
    sk: E,
    rec: Rec<E> | null,
    l: number,
    lport: number,
    r: number,
    rport: number,
    a6: Uint8Array | null,
  ): number {
    const st = this.#tupleState(l, lport, r, rport, a6, false);
    if (st === TAKEN) return -Errno.EADDRNOTAVAIL;
    // Like hashEstablished, an unbound socket joins the port's bucket on the
    // bucket's terms (read before the TIME-WAIT entry may empty it).
    const b = this.#bhash.get(lport);
    const userBound = b !== undefined ? b.userBound > 0 : true;
    if (st !== null) this.#detach(this.#rec(st)!);
    if (rec !== null) this.#activate(rec, l, r, rport, a6);
    else this.#insertActive(sk, l, lport, r, rport, userBound, a6);
    if (st !== null) this.#onTimeWaitReuse?.(st, sk);
    return 0;
  }

  /**
   * RFC 6056 §3.3.4 algorithm 4 ("double-hash"), as in Linux __inet_hash_connect:
   * offset = F(laddr, raddr, rport) + table[G(laddr, raddr, rport)], probe
   * low + (offset + i) % range. F keeps each destination's sequence secret
   * and unrelated to others'; the per-destination table entry moves on after
   * each use, so one destination cycles through the whole range before a port
   * comes back (fewer TIME-WAIT collisions). Over IPv6 F and G hash both
   * whole addresses.
   */
  #connectEphemeral(sk: E, l: number, r: number, rport: number, a6: Uint8Array | null): number {
    const range = this.#range;
    const g = a6 === null
      ? this.#portG.hash3(l, r, rport)
      : this.#portG.hashIp6Pair(a6, 0, a6, 16, rport);
    const index = g & (PERTURB_SIZE - 1);
    const f = a6 === null
      ? this.#portF.hash3(l, r, rport)
      : this.#portF.hashIp6Pair(a6, 0, a6, 16, rport);
    const offset = f + this.#perturb[index]!;
    for (let i = 0; i < range; i++) {
      // An int32 (| 0): the sum of uint32 hashes above is a double, and a
      // port kept as one is a separate 16-byte number in every bucket, node and TCB.
      const port = (this.#low + ((offset + i) % range)) | 0;
      // ip_local_reserved_ports
      if (this.#reserved.has(port)) continue;
      const b = this.#bhash.get(port);
      let tw: E | null = null;
      if (b !== undefined) {
        // fastreuse >= 0: a port someone bound explicitly is never auto-selected.
        if (b.userBound > 0) continue;
        const st = this.#tupleState(l, port, r, rport, a6, true);
        if (st === TAKEN) continue;
        tw = st;
      }
      // Linux 5.18+: advance by the probes used, or by a small random step when
      // there was no contention, so the next port for this destination is not
      // exactly predictable (Kol, Klein, Gilad 2022).
      this.#perturb[index] = this.#perturb[index]! + Math.max(i, this.#nextU32() & 7) + 1;
      if (tw !== null) this.#detach(this.#rec(tw)!);
      this.#insertActive(sk, l, port, r, rport, false, a6);
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
    a6: Uint8Array | null,
    ephemeral: boolean,
  ): E | null | typeof TAKEN {
    const n = a6 === null
      ? this.#ehFind(l, lport, r, rport)
      : this.#ehFind6(a6, 0, lport, a6, 16, rport);
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
    if ((sk.tablesRec ?? null) !== null) return -Errno.EINVAL;
    const a6 = sk.addr6 ?? null;
    const l = sk.laddr >>> 0, r = sk.raddr >>> 0;
    if (!isPort(sk.lport) || sk.lport === 0 || !isPort(sk.rport)) return -Errno.EINVAL;
    if (a6 === null ? l === 0 || r === 0 : isUnspecified6(a6, 0) || isUnspecified6(a6, 16)) {
      return -Errno.EINVAL;
    }
    // inet_ehash_insert refuses a duplicate 4-tuple.
    const found = a6 === null
      ? this.#ehFind(l, sk.lport, r, sk.rport)
      : this.#ehFind6(a6, 0, sk.lport, a6, 16, sk.rport);
    if (found !== null) return -Errno.EADDRINUSE;
    const b = this.#bhash.get(sk.lport);
    // __inet_inherit_port: a child joins the listener's bucket, so the port
    // stays bind()-owned (never ephemeral) while children live. With no
    // bucket left the entry's own flag (copied by the caller) decides.
    const userBound = b !== undefined ? b.userBound > 0 : sk.userBoundPort;
    this.#insertActive(sk, l, sk.lport, r, sk.rport, userBound, a6 === null ? null : a6.slice());
    return 0;
  }

  replace(old: E, next: E): void {
    const rec = this.#rec(old);
    if (rec === undefined || rec.kind !== ACTIVE) {
      throw new Error("TcpTables.replace: the old entry is not in the established table");
    }
    if (old === next) return;
    if ((next.tablesRec ?? null) !== null) {
      throw new Error("TcpTables.replace: the new entry is already hashed");
    }
    const n = rec;
    const na6 = next.addr6 ?? null;
    const sameAddrs = n.a6 === null
      ? na6 === null && (next.laddr | 0) === n.laddr && (next.raddr | 0) === n.raddr
      : na6 !== null && ip6Equal(na6, 0, n.a6, 0) && ip6Equal(na6, 16, n.a6, 16);
    if (!sameAddrs || next.lport !== n.lport || next.rport !== n.rport) {
      // A mismatch would make lookups return an entry whose fields disagree with its key.
      throw new Error("TcpTables.replace: the new entry has a different 4-tuple");
    }
    // inet_twsk_hashdance: same chain slot, same bind bucket (TIME-WAIT keeps the port).
    rec.sk = next;
    old.tablesRec = null;
    next.tablesRec = rec;
    next.userBoundPort = rec.userBound;
  }

  unhash(sk: E): void {
    const rec = this.#rec(sk);
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

  lookupEstablished6(
    u8: Uint8Array,
    lOff: number,
    lport: number,
    rOff: number,
    rport: number,
  ): E | null {
    return this.#ehFind6(u8, lOff, lport, u8, rOff, rport)?.sk ?? null;
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
    a6: Uint8Array | null,
  ): void {
    const b = this.#bucket(lport);
    const rec: Rec<E> = {
      sk,
      kind: BOUND,
      bucket: b,
      laddr: l | 0,
      claim: NO_CLAIM,
      key6: "",
      userBound,
      hash: 0,
      lport: 0,
      raddr: 0,
      rport: 0,
      a6: null,
      prev: null,
      next: null,
    };
    if (userBound) b.userBound++;
    sk.tablesRec = rec;
    this.#activate(rec, l, r, rport, a6);
  }

  /**
   * A bound (or new) record becomes connected: out of `passive`, into the
   * active summary and ehash. `a6` (32 bytes, kept by the node) makes it an
   * IPv6 connection; without it the connection is IPv4, also for an IPv6
   * socket on `::` reaching a v4-mapped peer.
   */
  #activate(rec: Rec<E>, l: number, r: number, rport: number, a6: Uint8Array | null): void {
    const b = rec.bucket;
    const i = b.passive.indexOf(rec);
    if (i >= 0) b.passive.splice(i, 1);
    rec.kind = ACTIVE;
    rec.laddr = l | 0;
    const sk = rec.sk;
    b.active++;
    if (a6 === null) {
      rec.claim = this.#claim4(l);
      add4(b, l | 0);
      sk.laddr = l;
      sk.raddr = r;
      if (sk.addr6 !== undefined && sk.addr6 !== null) sk.addr6 = null;
    } else {
      rec.claim = claimOf(0, a6.slice(0, 16), sk.v6only ?? false);
      rec.key6 = key6(a6, 0);
      b.active6++;
      const m6 = b.activeAddrs6 ??= new Map();
      m6.set(rec.key6, (m6.get(rec.key6) ?? 0) + 1);
      sk.laddr = sk.raddr = 0;
      const own = sk.addr6 ??= new Uint8Array(32);
      if (own !== a6) own.set(a6);
    }
    sk.lport = b.port;
    sk.rport = rport;
    sk.userBoundPort = rec.userBound;
    this.#ehInsert(rec, l, b.port, r, rport, a6);
  }

  #detach(rec: Rec<E>): void {
    const b = rec.bucket;
    if (rec.kind === ACTIVE) {
      this.#ehRemove(rec);
      b.active--;
      if (rec.claim.a6 === null) {
        del4(b, rec.laddr);
      } else {
        b.active6--;
        const m6 = b.activeAddrs6!;
        const c = m6.get(rec.key6)! - 1;
        if (c === 0) m6.delete(rec.key6);
        else m6.set(rec.key6, c);
      }
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
    rec.sk.tablesRec = null;
  }

  #ehFind(l: number, lport: number, r: number, rport: number): EhNode<E> | null {
    let n = this.#eh[establishedHash(this.#ehKey, l, lport, r, rport) & this.#ehMask] ?? null;
    l |= 0;
    r |= 0;
    for (; n !== null; n = n.next) {
      // IPv6 nodes hold 0 here, which no IPv4 4-tuple has.
      if (n.lport === lport && n.rport === rport && n.laddr === l && n.raddr === r) return n;
    }
    return null;
  }

  /** The IPv6 node for addresses at `lu8[lOff]` and `ru8[rOff]` (compared in place). */
  #ehFind6(
    lu8: Uint8Array,
    lOff: number,
    lport: number,
    ru8: Uint8Array,
    rOff: number,
    rport: number,
  ): EhNode<E> | null {
    const h = establishedHash6(this.#ehKey, lu8, lOff, lport, ru8, rOff, rport);
    let n = this.#eh[h & this.#ehMask] ?? null;
    for (; n !== null; n = n.next) {
      const a6 = n.a6;
      if (
        a6 !== null && n.lport === lport && n.rport === rport && ip6Equal(a6, 16, ru8, rOff) &&
        ip6Equal(a6, 0, lu8, lOff)
      ) {
        return n;
      }
    }
    return null;
  }

  /** Link active record `node` into the established table under its 4-tuple. */
  #ehInsert(
    node: Rec<E>,
    l: number,
    lport: number,
    r: number,
    rport: number,
    a6: Uint8Array | null,
  ): void {
    if (this.#ehCount >= this.#eh.length) this.#ehGrow();
    const hash = a6 === null
      ? establishedHash(this.#ehKey, l, lport, r, rport)
      : establishedHash6(this.#ehKey, a6, 0, lport, a6, 16, rport);
    node.hash = hash | 0;
    node.laddr = a6 === null ? l | 0 : 0;
    node.lport = lport;
    node.raddr = a6 === null ? r | 0 : 0;
    node.rport = rport;
    node.a6 = a6;
    this.#link(node);
    this.#ehCount++;
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
