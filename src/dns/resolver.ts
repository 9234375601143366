/**
 * The stub resolver (RFC 1034 §5.3.1, RFC 1035 §7): `stack.resolveDns()`
 * shaped like `Deno.resolveDns`, and the name lookup behind
 * `stack.connect({ hostname: "name" })`.
 *
 * - Names are tried as the search list and `ndots` say (resolv.conf(5)): a
 *   name with a trailing dot is absolute; one with at least `ndots` dots is
 *   tried as given first, then with each search domain; others the other
 *   way round. NXDOMAIN and NODATA move on to the next candidate; a failure
 *   of the servers (timeout, SERVFAIL) ends the lookup.
 * - Each query goes to the servers in order, `attempts` rounds, `timeout`
 *   ms per try (RFC 1035 §7.2, RFC 1536 §1); a truncated UDP answer is
 *   retried over TCP (RFC 7766 §5); FORMERR to an EDNS query is retried
 *   without EDNS (RFC 6891 §7); SERVFAIL/REFUSED/NOTIMP move to the next server.
 * - CNAME chains are followed within an answer and, if the answer stops
 *   short, by asking again for the canonical name (RFC 1034 §5.3.3 step 3c),
 *   at most `maxCnameChain` names in all; a name seen twice is a loop. Only
 *   records on the chain are believed (RFC 5452 §6, RFC 2181 §5.4.1), so an
 *   answer cannot plant records for names we did not ask about.
 * - Answers are cached for their TTL, negative answers for the SOA's
 *   negative TTL (RFC 2308 §5); the cache is bounded (LRU).
 * - The static hosts map answers A/AAAA before any query ("localhost" is
 *   127.0.0.1 and ::1 unless overridden).
 * - Names in results are fully qualified with the trailing dot, as
 *   `Deno.resolveDns` returns them ("files.test.").
 *
 * @module
 */
import { Errno } from "../core/errno.ts";
import { errnoError } from "../socket/errors.ts";
import { tryParseIpv4 } from "../wire/addr.ts";
import { DnsCache, type DnsCacheOptions } from "./cache.ts";
import { DnsError, NotFound } from "./errors.ts";
import { canonicalName, nameToLabels, sameName } from "./name.ts";
import {
  type DnsServer,
  type DnsStats,
  type ExchangeContext,
  tcpExchange,
  udpExchange,
} from "./transport.ts";
import {
  DNS_CLASS_IN,
  DNS_EDNS_UDP_SIZE,
  type DnsMessage,
  DnsRcode,
  type DnsRecord,
  DnsType,
  tryParseIpv6Bytes,
} from "./wire.ts";

/**
 * Record types `resolveDns` answers (those of `Deno.RecordType` we support).
 *
 * @example
 * ```ts
 * import type { RecordType } from "./resolver.ts";
 * const t: RecordType = "SRV";
 * ```
 */
export type RecordType = "A" | "AAAA" | "CNAME" | "NS" | "PTR" | "MX" | "TXT" | "SRV" | "SOA";

const TYPE_NUMBERS: Readonly<Record<RecordType, number>> = {
  A: DnsType.A,
  AAAA: DnsType.AAAA,
  CNAME: DnsType.CNAME,
  NS: DnsType.NS,
  PTR: DnsType.PTR,
  MX: DnsType.MX,
  TXT: DnsType.TXT,
  SRV: DnsType.SRV,
  SOA: DnsType.SOA,
};

/** An SRV answer, as `Deno.SrvRecord`. */
export interface SrvRecord {
  /** Lower is tried first (RFC 2782). */
  priority: number;
  /** Relative weight among targets of the same priority (RFC 2782). */
  weight: number;
  /** The service's port on `target`. */
  port: number;
  /** Host name of the target, fully qualified (`"."`: the service is not available). */
  target: string;
}
/** An MX answer, as `Deno.MxRecord`. */
export interface MxRecord {
  /** Lower is preferred (RFC 1035 §3.3.9). */
  preference: number;
  /** Mail exchanger host name, fully qualified. */
  exchange: string;
}
/** An SOA answer, as `Deno.SoaRecord`. */
export interface SoaRecord {
  /** Primary name server of the zone, fully qualified. */
  mname: string;
  /** Responsible mailbox as a name (`hostmaster.example.` for hostmaster@example). */
  rname: string;
  /** Zone serial number (RFC 1982 arithmetic). */
  serial: number;
  /** Seconds before a secondary refreshes the zone. */
  refresh: number;
  /** Seconds before a secondary retries a failed refresh. */
  retry: number;
  /** Seconds after which a secondary stops answering for the zone. */
  expire: number;
  /** Negative-caching TTL in seconds (RFC 2308 §4). */
  minimum: number;
}

/**
 * Options of one `resolveDns` call, as `Deno.ResolveDnsOptions`.
 *
 * @example
 * ```ts
 * import type { ResolveDnsOptions } from "./resolver.ts";
 * const o: ResolveDnsOptions = { nameServer: { ipAddr: "192.0.2.1", port: 53 } };
 * ```
 */
export interface ResolveDnsOptions {
  /** Ask this server only (and skip the cache, the hosts map and the search list). */
  nameServer?: { ipAddr: string; port?: number };
  /** Abort: the promise rejects with `Interrupted`. */
  signal?: AbortSignal;
}

/** A name server as configured: `"192.0.2.1"`, `"192.0.2.1:5353"` or an object. */
export type NameServerInput = string | { address: string; port?: number };

/**
 * Resolver configuration (`StackOptions.dns`; DHCP fills in servers and the
 * domain with {@link Resolver.configure}).
 *
 * @example
 * ```ts
 * import type { ResolverOptions } from "./resolver.ts";
 * const o: ResolverOptions = { nameServers: ["192.0.2.1"], search: ["test"], ndots: 1 };
 * ```
 */
export interface ResolverOptions {
  /** Name servers, tried in order (default none: only the hosts map answers). */
  nameServers?: readonly NameServerInput[];
  /** Search domains (default none). */
  search?: readonly string[];
  /** Dots a name needs to be tried as given before the search list (default 1). */
  ndots?: number;
  /** Milliseconds to wait for each try (default 2000). */
  timeout?: number;
  /** Rounds over the server list (default 2). */
  attempts?: number;
  /** EDNS(0) UDP payload size to advertise, or false for none (default 1232). */
  ednsUdpSize?: number | false;
  /** Static names: name → addresses (IPv4 and/or IPv6 literals). */
  hosts?: Readonly<Record<string, string | readonly string[]>>;
  /** Cache bounds, or false for no cache. */
  cache?: Omit<DnsCacheOptions, "clock"> | false;
  /** Most names in a CNAME chain, the first included (default 8). */
  maxCnameChain?: number;
}

/** The resolver's configuration as it is in force. */
export interface ResolverConfig {
  /** Name servers, tried in order. */
  readonly nameServers: readonly DnsServer[];
  /** Search domains appended to relative names, in order (see `ndots`). */
  readonly search: readonly string[];
  /** Dots a name needs to be tried as given before the search list. */
  readonly ndots: number;
  /** Milliseconds to wait for each try. */
  readonly timeout: number;
  /** Rounds over the server list. */
  readonly attempts: number;
  /** EDNS(0) UDP payload size advertised (RFC 6891), or false for none. */
  readonly ednsUdpSize: number | false;
  /** Most names in a CNAME chain, the first included. */
  readonly maxCnameChain: number;
}

/** One address found for a host, with its family. */
export interface HostAddress {
  /** The address as text (`"192.0.2.1"`, `"2001:db8::1"`). */
  readonly address: string;
  /** Its family: 4 (an A record) or 6 (AAAA). */
  readonly family: 4 | 6;
}

type Outcome =
  | { kind: "records"; records: readonly DnsRecord[] }
  | { kind: "nxdomain" | "nodata" };

/**
 * A stub resolver bound to one stack's sockets and clock.
 *
 * @example
 * ```ts
 * import { Stack, VirtualClock } from "../../mod.ts";
 * const stack = new Stack({ clock: new VirtualClock(), dns: { hosts: { "files.test": "192.0.2.1" } } });
 * const a = await stack.resolveDns("files.test", "A"); // ["192.0.2.1"] from the hosts map
 * ```
 */
export class Resolver {
  /** Counters. */
  readonly stats: DnsStats;
  /** The cache (null when disabled). */
  readonly cache: DnsCache | null;
  readonly #ctx: ExchangeContext;
  #config: ResolverConfig;
  readonly #hosts = new Map<string, HostAddress[]>();

  /** A resolver whose queries go out through `ctx` (the stack's socket layer, clock and counters). */
  constructor(ctx: ExchangeContext, options: ResolverOptions = {}) {
    this.#ctx = ctx;
    this.stats = ctx.stats;
    this.cache = options.cache === false
      ? null
      : new DnsCache({ clock: ctx.clock, ...options.cache });
    this.#config = {
      nameServers: [],
      search: [],
      ndots: 1,
      timeout: 2000,
      attempts: 2,
      ednsUdpSize: DNS_EDNS_UDP_SIZE,
      maxCnameChain: 8,
    };
    this.setHost("localhost", ["127.0.0.1", "::1"]);
    this.configure(options);
    for (const [name, addrs] of Object.entries(options.hosts ?? {})) {
      this.setHost(name, typeof addrs === "string" ? [addrs] : addrs);
    }
  }

  /** The configuration in force. */
  get config(): ResolverConfig {
    return this.#config;
  }

  /**
   * Change the configuration (what is not given stays). Throws `TypeError`
   * or `RangeError` for a bad server address, domain or number.
   */
  configure(options: Omit<ResolverOptions, "hosts" | "cache">): void {
    const c = this.#config;
    const nameServers = options.nameServers?.map(parseServer) ?? c.nameServers;
    const search = options.search?.map((d) => {
      nameToLabels(d); // validates
      return canonicalName(d);
    }) ?? c.search;
    const int = (v: number | undefined, def: number, min: number, max: number, what: string) => {
      if (v === undefined) return def;
      if (!(Number.isInteger(v) && v >= min && v <= max)) {
        throw new RangeError(`DNS ${what} ${v} is not an integer in ${min}…${max}`);
      }
      return v;
    };
    const edns = options.ednsUdpSize === undefined ? c.ednsUdpSize : options.ednsUdpSize;
    if (edns !== false && !(Number.isInteger(edns) && edns >= 512 && edns <= 65535)) {
      throw new RangeError(`DNS EDNS UDP size ${edns} is not an integer in 512…65535`);
    }
    this.#config = {
      nameServers,
      search,
      ndots: int(options.ndots, c.ndots, 0, 15, "ndots"),
      timeout: int(options.timeout, c.timeout, 1, 600_000, "timeout"),
      attempts: int(options.attempts, c.attempts, 1, 10, "attempts"),
      ednsUdpSize: edns,
      maxCnameChain: int(options.maxCnameChain, c.maxCnameChain, 1, 64, "CNAME chain limit"),
    };
  }

  /**
   * Put `name` in the hosts map with `addresses` (IPv4 and IPv6 literals);
   * an empty list removes it.
   */
  setHost(name: string, addresses: readonly string[]): void {
    nameToLabels(name);
    const list: HostAddress[] = addresses.map((a) => {
      if (tryParseIpv4(a) !== null && /^\d+\.\d+\.\d+\.\d+$/.test(a)) {
        return { address: a, family: 4 };
      }
      if (tryParseIpv6Bytes(a) !== null) return { address: a, family: 6 };
      throw new TypeError(`hosts: "${a}" for ${name} is not an IPv4 or IPv6 address`);
    });
    if (list.length === 0) this.#hosts.delete(canonicalName(name));
    else this.#hosts.set(canonicalName(name), list);
  }

  /** A's and AAAA's of `name` in the hosts map, if it is there. */
  hostsLookup(name: string): readonly HostAddress[] | undefined {
    return this.#hosts.get(canonicalName(name));
  }

  /**
   * Resolve `query` for `recordType`, like `Deno.resolveDns`. Rejects with
   * {@link NotFound} (NXDOMAIN/NODATA), `TimedOut` (no server answered),
   * {@link DnsError} (servers failed, CNAME loop), `Interrupted` (aborted),
   * `TypeError` (a malformed name or unsupported type).
   */
  resolveDns(
    query: string,
    recordType: "A" | "AAAA" | "CNAME" | "NS" | "PTR",
    options?: ResolveDnsOptions,
  ): Promise<string[]>;
  /** Resolve the MX records of `query`: `{ preference, exchange }`, exchange fully qualified. */
  resolveDns(query: string, recordType: "MX", options?: ResolveDnsOptions): Promise<MxRecord[]>;
  /** Resolve the SRV records of `query`: `{ priority, weight, port, target }`. */
  resolveDns(query: string, recordType: "SRV", options?: ResolveDnsOptions): Promise<SrvRecord[]>;
  /** Resolve the TXT records of `query`: one array of character-strings per record. */
  resolveDns(query: string, recordType: "TXT", options?: ResolveDnsOptions): Promise<string[][]>;
  /** Resolve the SOA record of `query` (RFC 1035 §3.3.13). */
  resolveDns(query: string, recordType: "SOA", options?: ResolveDnsOptions): Promise<SoaRecord[]>;
  /**
   * Resolve `query` for a `recordType` known only at run time; the result's shape follows the type.
   */
  resolveDns(
    query: string,
    recordType: RecordType,
    options?: ResolveDnsOptions,
  ): Promise<string[] | MxRecord[] | SrvRecord[] | string[][] | SoaRecord[]>;
  async resolveDns(
    query: string,
    recordType: RecordType,
    options: ResolveDnsOptions = {},
  ): Promise<string[] | MxRecord[] | SrvRecord[] | string[][] | SoaRecord[]> {
    const type = TYPE_NUMBERS[recordType];
    if (type === undefined) {
      throw new TypeError(`resolveDns: record type ${JSON.stringify(recordType)} is not supported`);
    }
    if (typeof query !== "string") throw new TypeError("resolveDns: query must be a string");
    nameToLabels(query); // TypeError for a malformed name
    this.stats.lookups++;
    const records = await this.#lookup(query, type, recordType, options);
    return format(records, type);
  }

  /**
   * Addresses for `host` to connect to: a literal as itself, then the hosts
   * map, then A (and AAAA when `ipv6`) queries. Rejects like
   * {@link resolveDns}; NotFound only when no family has an address.
   */
  async lookupHost(
    host: string,
    options: { ipv6?: boolean; signal?: AbortSignal } = {},
  ): Promise<HostAddress[]> {
    if (tryParseIpv4(host) !== null && /^\d+\.\d+\.\d+\.\d+$/.test(host)) {
      return [{ address: host, family: 4 }];
    }
    if (tryParseIpv6Bytes(host) !== null) return [{ address: host, family: 6 }];
    nameToLabels(host);
    this.stats.lookups++;
    const fromHosts = this.hostsLookup(host);
    if (fromHosts !== undefined) {
      this.stats.hostsHits++;
      const usable = fromHosts.filter((a) => a.family === 4 || options.ipv6);
      if (usable.length > 0) return usable;
    }
    const o = options.signal ? { signal: options.signal } : {};
    const v4 = this.#lookup(host, DnsType.A, "A", o).then(
      (r) =>
        r.map((x) => ({ address: (x.data as { address: string }).address, family: 4 as const })),
    );
    if (!options.ipv6) return await v4;
    const v6 = this.#lookup(host, DnsType.AAAA, "AAAA", o).then(
      (r) =>
        r.map((x) => ({ address: (x.data as { address: string }).address, family: 6 as const })),
    );
    const [a, b] = await Promise.allSettled([v6, v4]);
    const out = [
      ...(a.status === "fulfilled" ? a.value : []),
      ...(b.status === "fulfilled" ? b.value : []),
    ];
    if (out.length > 0) return out;
    throw (b as PromiseRejectedResult).reason;
  }

  /** The final RRset for `query` (search list applied), or a thrown error. */
  async #lookup(
    query: string,
    type: number,
    typeName: string,
    options: ResolveDnsOptions,
  ): Promise<readonly DnsRecord[]> {
    const signal = options.signal;
    if (options.nameServer !== undefined) {
      const server = parseServer({
        address: options.nameServer.ipAddr,
        ...(options.nameServer.port !== undefined ? { port: options.nameServer.port } : {}),
      });
      const r = await this.#resolveName(canonicalName(query), type, [server], signal, false);
      if (r.kind === "records") return r.records;
      throw new NotFound(canonicalName(query), typeName, r.kind);
    }
    if (type === DnsType.A || type === DnsType.AAAA) {
      const h = this.hostsLookup(query);
      if (h !== undefined) {
        const fam = type === DnsType.A ? 4 : 6;
        const matching = h.filter((x) => x.family === fam);
        this.stats.hostsHits++;
        if (matching.length === 0) throw new NotFound(canonicalName(query), typeName, "nodata");
        return matching.map((x) => ({
          name: canonicalName(query),
          type,
          class: DNS_CLASS_IN,
          ttl: 0,
          data: fam === 4
            ? { kind: "a", address: x.address }
            : { kind: "aaaa", address: x.address },
        }));
      }
    }
    const servers = this.#config.nameServers;
    if (servers.length === 0) {
      throw new DnsError(
        canonicalName(query),
        "no name server is configured (StackOptions.dns.nameServers, stack.dns.configure() or DHCP)",
      );
    }
    let last: NotFound | undefined;
    for (const candidate of this.#candidates(query)) {
      const r = await this.#resolveName(candidate, type, servers, signal, true);
      if (r.kind === "records") return r.records;
      // NODATA is the better answer to report than a later NXDOMAIN.
      if (last === undefined || last.reason === "nxdomain") {
        last = new NotFound(candidate, typeName, r.kind);
      }
    }
    throw last ?? new NotFound(canonicalName(query), typeName, "nxdomain");
  }

  /** resolv.conf(5) order of names to try. */
  #candidates(query: string): string[] {
    if (query.endsWith(".") && !query.endsWith("\\.")) return [canonicalName(query)];
    const name = canonicalName(query);
    const searched = this.#config.search.map((d) => d === "" ? name : `${name}.${d}`);
    const dots = nameToLabels(name).length - 1;
    return dots >= this.#config.ndots ? [name, ...searched] : [...searched, name];
  }

  /** One name, following CNAMEs (cache first unless `useCache` is false). */
  async #resolveName(
    name: string,
    type: number,
    servers: readonly DnsServer[],
    signal: AbortSignal | undefined,
    useCache: boolean,
  ): Promise<Outcome> {
    const cache = useCache ? this.cache : null;
    const max = this.#config.maxCnameChain;
    const seen = new Set<string>([canonicalName(name)]);
    const follow = (to: string) => {
      const c = canonicalName(to);
      if (seen.has(c)) throw new DnsError(name, `CNAME loop at ${c}`);
      seen.add(c);
      if (seen.size > max) throw new DnsError(name, `CNAME chain longer than ${max} names`);
      return c;
    };
    let cur = canonicalName(name);
    for (;;) {
      if (cache !== null) {
        const hit = cache.get(cur, type);
        if (hit !== undefined) return hit;
        if (type !== DnsType.CNAME) {
          const c = cache.get(cur, DnsType.CNAME);
          if (c?.kind === "records" && c.records[0]?.data.kind === "name") {
            cur = follow(c.records[0].data.name);
            continue;
          }
        }
      }
      const m = await this.#query(cur, type, servers, signal);
      // Walk the chain through the answer section, believing only records on it.
      let target = cur;
      for (;;) {
        const direct = m.answers.filter((r) =>
          r.type === type && r.class === DNS_CLASS_IN && sameName(r.name, target)
        );
        if (direct.length > 0) {
          this.cache?.put(target, type, direct);
          return { kind: "records", records: direct };
        }
        if (type === DnsType.CNAME) break;
        const cn = m.answers.find((r) =>
          r.type === DnsType.CNAME && r.class === DNS_CLASS_IN && sameName(r.name, target) &&
          r.data.kind === "name"
        );
        if (cn === undefined || cn.data.kind !== "name") break;
        this.cache?.put(target, DnsType.CNAME, [cn]);
        target = follow(cn.data.name);
      }
      // RFC 6604 §3: the RCODE speaks of the last name in the chain.
      const negTtl = negativeTtl(m);
      if (m.rcode === DnsRcode.NXDOMAIN) {
        if (negTtl !== null) this.cache?.putNegative(target, type, "nxdomain", negTtl);
        return { kind: "nxdomain" };
      }
      if (target !== cur) {
        // RFC 1034 §5.3.3 (3c): the answer stopped at an alias: ask for the canonical name.
        cur = target;
        continue;
      }
      if (negTtl !== null) this.cache?.putNegative(cur, type, "nodata", negTtl);
      return { kind: "nodata" };
    }
  }

  /** Ask the servers until one gives a usable answer (NOERROR or NXDOMAIN). */
  async #query(
    name: string,
    type: number,
    servers: readonly DnsServer[],
    signal: AbortSignal | undefined,
  ): Promise<DnsMessage> {
    const cfg = this.#config;
    const ctx = this.#ctx;
    let lastRcode = -1;
    let lastError: Error | undefined;
    let timeouts = 0;
    for (let attempt = 0; attempt < cfg.attempts; attempt++) {
      for (const server of servers) {
        let edns: number | undefined = cfg.ednsUdpSize === false ? undefined : cfg.ednsUdpSize;
        for (;;) {
          const q = { name, type, ...(edns !== undefined ? { ednsUdpSize: edns } : {}) };
          let r = await udpExchange(ctx, server, q, cfg.timeout, signal);
          if (r.kind === "answer" && r.message.truncated) {
            // RFC 7766 §5: a truncated answer is asked again over TCP.
            this.stats.truncated++;
            r = await tcpExchange(ctx, server, q, cfg.timeout * 2, signal);
          }
          if (r.kind === "timeout") {
            timeouts++;
            break;
          }
          if (r.kind === "error") {
            lastError = r.error;
            break;
          }
          const m = r.message;
          if (m.rcode === DnsRcode.FORMERR && edns !== undefined) {
            // RFC 6891 §7: a server that does not know EDNS says FORMERR; ask plainly.
            this.stats.ednsFallbacks++;
            edns = undefined;
            continue;
          }
          if (m.rcode === DnsRcode.NOERROR || m.rcode === DnsRcode.NXDOMAIN) return m;
          lastRcode = m.rcode;
          break;
        }
      }
    }
    if (lastRcode >= 0) {
      throw new DnsError(name, `every name server failed (${rcodeName(lastRcode)})`, lastRcode);
    }
    if (timeouts === 0 && lastError !== undefined) {
      throw new DnsError(name, lastError.message);
    }
    throw errnoError(
      Errno.ETIMEDOUT,
      `DNS query for ${name}`,
      `no answer from ${servers.map((s) => `${s.address}:${s.port}`).join(", ")} ` +
        `(${cfg.attempts} × ${cfg.timeout} ms)`,
    );
  }
}

function rcodeName(rcode: number): string {
  const names = Object.entries(DnsRcode).find(([, v]) => v === rcode);
  return names ? names[0] : `RCODE ${rcode}`;
}

/** RFC 2308 §5: the negative TTL is the SOA record's TTL capped by its MINIMUM; none without SOA. */
function negativeTtl(m: DnsMessage): number | null {
  for (const r of m.authorities) {
    if (r.type === DnsType.SOA && r.data.kind === "soa") return Math.min(r.ttl, r.data.minimum);
  }
  return null;
}

function parseServer(s: NameServerInput): DnsServer {
  let address: string, port = 53;
  if (typeof s === "string") {
    const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(s);
    if (m === null) throw new TypeError(`DNS server "${s}" is not IPv4[:PORT]`);
    address = m[1]!;
    if (m[2] !== undefined) port = Number(m[2]);
  } else {
    address = s.address;
    if (s.port !== undefined) port = s.port;
  }
  if (tryParseIpv4(address) === null) {
    throw new TypeError(`DNS server "${address}" is not an IPv4 address`);
  }
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new RangeError(`DNS server port ${port} is not in 1…65535`);
  }
  return { address, port };
}

/** Names in results are fully qualified, as Deno returns them. */
function fqdn(name: string): string {
  return `${name}.`;
}

function format(
  records: readonly DnsRecord[],
  type: number,
): string[] | MxRecord[] | SrvRecord[] | string[][] | SoaRecord[] {
  switch (type) {
    case DnsType.A:
    case DnsType.AAAA:
      return records.map((r) => (r.data as { address: string }).address);
    case DnsType.CNAME:
    case DnsType.NS:
    case DnsType.PTR:
      return records.map((r) => fqdn((r.data as { name: string }).name));
    case DnsType.MX:
      return records.map((r) => {
        const d = r.data as { preference: number; exchange: string };
        return { preference: d.preference, exchange: fqdn(d.exchange) };
      });
    case DnsType.SRV:
      return records.map((r) => {
        const d = r.data as SrvRecord;
        return { priority: d.priority, weight: d.weight, port: d.port, target: fqdn(d.target) };
      });
    case DnsType.TXT:
      return records.map((r) => [...(r.data as { strings: readonly string[] }).strings]);
    default:
      return records.map((r) => {
        const d = r.data as SoaRecord;
        return {
          mname: fqdn(d.mname),
          rname: fqdn(d.rname),
          serial: d.serial,
          refresh: d.refresh,
          retry: d.retry,
          expire: d.expire,
          minimum: d.minimum,
        };
      });
  }
}
