/**
 * The UDP socket table (Linux `udptable`): sockets hashed by local port
 * (numeric keys), bind-conflict rules with SO_REUSEADDR, the most-specific
 * match for received datagrams, and random ephemeral ports (RFC 6056).
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { randomInt, type RandomSource } from "../core/random.ts";
import { ip6Equal, isUnspecified6, isV4Mapped } from "../wire/addr6.ts";
import type { UdpSock } from "./sock.ts";

/**
 * Default local port range, Linux `net.ipv4.ip_local_port_range`.
 *
 * @example
 * ```ts
 * import { DEFAULT_LOCAL_PORT_RANGE } from "./table.ts";
 * DEFAULT_LOCAL_PORT_RANGE; // [32768, 60999]
 * ```
 */
export const DEFAULT_LOCAL_PORT_RANGE: readonly [number, number] = [32768, 60999];

/**
 * Independent random picks before falling back to a scan (RFC 6056 §3.3.2,
 * Algorithm 2: a fresh random port per try, so busy blocks of ports do not
 * make the following free port more likely, as a scan from a random start
 * would).
 */
const RANDOM_TRIES = 8;

/**
 * Check a local port range; throws `RangeError` when it is not `lo ≤ hi` within 1…65535.
 *
 * @example
 * ```ts
 * import { checkPortRange } from "./table.ts";
 * checkPortRange([49152, 65535]); // ok
 * ```
 */
export function checkPortRange(range: readonly [number, number]): void {
  const [lo, hi] = range;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && lo <= hi && hi <= 65535)) {
    throw new RangeError(`Local port range [${lo}, ${hi}] is not 1 ≤ low ≤ high ≤ 65535`);
  }
}

/**
 * Sockets by local port.
 *
 * @example
 * ```ts
 * import { UdpTable } from "./table.ts";
 * import { UdpSock } from "./sock.ts";
 * import { SeededRandom } from "../core/random.ts";
 * const table = new UdpTable(new SeededRandom(1));
 * const sk = new UdpSock(212992, 212992);
 * table.getPort(sk, 0); // 0: sk.num is now a random port in 32768…60999
 * table.unhash(sk);
 * ```
 */
export class UdpTable {
  readonly #rng: RandomSource;
  /** Port → sockets bound to it, oldest first. Empty buckets are deleted. */
  readonly #buckets = new Map<number, UdpSock[]>();
  #lo: number;
  #hi: number;

  /** An empty table picking ephemeral ports from `range` with `rng`. */
  constructor(rng: RandomSource, range: readonly [number, number] = DEFAULT_LOCAL_PORT_RANGE) {
    checkPortRange(range);
    this.#rng = rng;
    this.#lo = range[0];
    this.#hi = range[1];
  }

  /** The ephemeral port range `[low, high]`. */
  get localPortRange(): readonly [number, number] {
    return [this.#lo, this.#hi];
  }

  set localPortRange(range: readonly [number, number]) {
    checkPortRange(range);
    this.#lo = range[0];
    this.#hi = range[1];
  }

  /** Sockets in the table. */
  get size(): number {
    let n = 0;
    for (const b of this.#buckets.values()) n += b.length;
    return n;
  }

  /** Sockets bound to `port`, oldest first (do not modify). */
  bucket(port: number): readonly UdpSock[] | undefined {
    return this.#buckets.get(port);
  }

  /**
   * Bind `sk` to `snum`, or to a random free ephemeral port when `snum` is 0
   * (`udp_lib_get_port`). Returns 0, or -EADDRINUSE when the port is taken
   * or no ephemeral port is free (the caller decides which errno the user
   * sees: EADDRINUSE from bind(), EAGAIN from an automatic bind).
   */
  getPort(sk: UdpSock, snum: number): number {
    if (snum === 0) {
      snum = this.#pickEphemeral();
      if (snum === 0) return -Errno.EADDRINUSE;
    } else if (this.#conflicts(sk, snum)) {
      return -Errno.EADDRINUSE;
    }
    sk.num = snum;
    const b = this.#buckets.get(snum);
    if (b === undefined) this.#buckets.set(snum, [sk]);
    else b.push(sk); // newest last: unicast prefers it among equals
    return 0;
  }

  /** Remove `sk` from the table (`udp_lib_unhash`); a no-op when it is not in it. */
  unhash(sk: UdpSock): void {
    if (sk.num === 0) return;
    const b = this.#buckets.get(sk.num);
    if (b !== undefined) {
      const i = b.indexOf(sk);
      if (i >= 0) b.splice(i, 1);
      if (b.length === 0) this.#buckets.delete(sk.num);
    }
    sk.num = 0;
  }

  /**
   * The socket a unicast datagram `saddr:sport → daddr:dport` belongs to:
   * the best score wins (connected 4-tuple > bound address > wildcard, Linux
   * `compute_score`), and among equals the most recently bound one.
   */
  lookup(saddr: number, sport: number, daddr: number, dport: number): UdpSock | null {
    const b = this.#buckets.get(dport);
    if (b === undefined) return null;
    let best: UdpSock | null = null;
    let bestScore = -1;
    for (let i = 0; i < b.length; i++) {
      const sk = b[i]!;
      if (sk.v6 !== null && !takesV4(sk)) continue;
      // Linux compute_score: an AF_INET socket beats an equally specific AF_INET6 one.
      const score = matchScore(sk, saddr, sport, daddr) * 2 + (sk.v6 === null ? 1 : 0);
      if (score >= bestScore && score >= 0) {
        best = sk;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * The AF_INET6 socket an IPv6 datagram `src:sport → dst:dport` (16-byte
   * addresses at `u8[src]` and `u8[dst]`, arriving on interface `ifindex`)
   * belongs to: bound address, connected peer and port score as for IPv4,
   * and a socket bound to an interface only takes that interface's datagrams
   * (`ifindex` -1: any interface, for ICMPv6 errors).
   * No allocation, no string keys: addresses are compared in the packet.
   */
  lookup6(
    u8: Uint8Array,
    src: number,
    sport: number,
    dst: number,
    dport: number,
    ifindex: number,
  ): UdpSock | null {
    const b = this.#buckets.get(dport);
    if (b === undefined) return null;
    let best: UdpSock | null = null;
    let bestScore = -1;
    for (let i = 0; i < b.length; i++) {
      const sk = b[i]!;
      const v6 = sk.v6;
      if (v6 === null || !takesV6(sk)) continue;
      let score = 0;
      if (!isUnspecified6(v6.rcvSaddr, 0)) {
        if (!ip6Equal(v6.rcvSaddr, 0, u8, dst)) continue;
        score += 4;
      }
      if (!isUnspecified6(v6.daddr, 0)) {
        if (!ip6Equal(v6.daddr, 0, u8, src)) continue;
        score += 4;
      }
      if (sk.dport !== 0) {
        if (sk.dport !== sport) continue;
        score += 4;
      }
      if (v6.boundIf !== 0 && ifindex >= 0) {
        if (v6.boundIf !== ifindex) continue;
        score += 4;
      }
      if (score >= bestScore) {
        best = sk;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * Does `sk` binding `port` clash with a socket already there
   * (`udp_lib_lport_inuse`)? Two sockets clash when their local addresses
   * overlap (either is the wildcard, or they are equal) unless both set
   * SO_REUSEADDR.
   */
  #conflicts(sk: UdpSock, port: number): boolean {
    const b = this.#buckets.get(port);
    if (b === undefined) return false;
    for (let i = 0; i < b.length; i++) {
      const o = b[i]!;
      if (o === sk) continue;
      if (sk.reuse && o.reuse) continue;
      if (sk.v6 === null && o.v6 === null) {
        if (o.rcvSaddr === 0 || sk.rcvSaddr === 0 || o.rcvSaddr === sk.rcvSaddr) return true;
      } else if (overlaps(sk, o)) return true;
    }
    return false;
  }

  /**
   * A free ephemeral port, or 0 when the range is full. RFC 6056: random, not
   * sequential, so off-path attackers cannot guess the port of a flow.
   * First §3.3.2 (Algorithm 2) picks, then a §3.3.1 scan of the whole range
   * from a random start, so "exhausted" is exact. Any port with a socket on it
   * is skipped: an ephemeral port never shares a port bound explicitly, even
   * when SO_REUSEADDR would allow it.
   */
  #pickEphemeral(): number {
    const lo = this.#lo;
    const n = this.#hi - lo + 1;
    for (let i = 0; i < RANDOM_TRIES; i++) {
      const port = lo + randomInt(this.#rng, n);
      if (!this.#buckets.has(port)) return port;
    }
    let off = randomInt(this.#rng, n);
    for (let i = 0; i < n; i++) {
      const port = lo + off;
      if (!this.#buckets.has(port)) return port;
      if (++off === n) off = 0;
    }
    return 0;
  }
}

/**
 * How well `sk` matches a datagram from `saddr:sport` to `daddr`, or -1 for
 * no match (Linux `compute_score`): +4 for each of bound address, connected
 * address and connected port.
 */
function matchScore(sk: UdpSock, saddr: number, sport: number, daddr: number): number {
  let score = 0;
  if (sk.rcvSaddr !== 0) {
    if (sk.rcvSaddr !== daddr) return -1;
    score += 4;
  }
  if (sk.daddr !== 0) {
    if (sk.daddr !== saddr) return -1;
    score += 4;
  }
  if (sk.dport !== 0) {
    if (sk.dport !== sport) return -1;
    score += 4;
  }
  return score;
}

/**
 * Can `sk` take IPv4 datagrams? AF_INET always; AF_INET6 unless
 * IPV6_V6ONLY, or bound or connected to a non-mapped IPv6 address (RFC 4038
 * §4.2, Linux `ipv6_only_sock`).
 */
export function takesV4(sk: UdpSock): boolean {
  const v6 = sk.v6;
  if (v6 === null) return true;
  if (v6.v6only) return false;
  if (!isUnspecified6(v6.rcvSaddr, 0) && !isV4Mapped(v6.rcvSaddr, 0)) return false;
  return isUnspecified6(v6.daddr, 0) || isV4Mapped(v6.daddr, 0);
}

/** Can `sk` take IPv6 datagrams? AF_INET6 sockets not bound or connected to a v4-mapped address. */
export function takesV6(sk: UdpSock): boolean {
  const v6 = sk.v6;
  if (v6 === null) return false;
  return !isV4Mapped(v6.rcvSaddr, 0) && !isV4Mapped(v6.daddr, 0);
}

/**
 * Do two sockets on one port claim overlapping local addresses, across
 * families (Linux `inet_rcv_saddr_equal` with `ipv6_only_sock`)? An
 * AF_INET6 socket on :: without IPV6_V6ONLY also claims every IPv4 address.
 */
function overlaps(a: UdpSock, b: UdpSock): boolean {
  const va = v4Claim(a), vb = v4Claim(b);
  if (va !== null && vb !== null && (va === 0 || vb === 0 || va === vb)) return true;
  const sa = v6Claim(a), sb = v6Claim(b);
  if (sa === null || sb === null) return false;
  return isUnspecified6(sa, 0) || isUnspecified6(sb, 0) || ip6Equal(sa, 0, sb, 0);
}

/** The IPv4 address a socket claims (0 = every one), or null for none. */
function v4Claim(sk: UdpSock): number | null {
  const v6 = sk.v6;
  if (v6 === null) return sk.rcvSaddr;
  if (isV4Mapped(v6.rcvSaddr, 0)) return sk.rcvSaddr;
  if (isUnspecified6(v6.rcvSaddr, 0) && !v6.v6only) return 0;
  return null;
}

/** The IPv6 address a socket claims (:: = every one), or null for none. */
function v6Claim(sk: UdpSock): Uint8Array | null {
  const v6 = sk.v6;
  if (v6 === null || isV4Mapped(v6.rcvSaddr, 0)) return null;
  return v6.rcvSaddr;
}
