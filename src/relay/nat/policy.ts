/**
 * The NAT relay's egress policy: which destinations pages may reach through
 * it. Rules from `--allow CIDR[:PORTS]` and `--deny CIDR[:PORTS]` are tried
 * in the order given, the first match decides; when none matches, the
 * defaults deny what a relay must not expose (its own host and networks
 * that are not the public Internet) and allow the rest:
 *
 * | denied by default | why |
 * |---|---|
 * | 0.0.0.0/8, 127.0.0.0/8 | this host, loopback (RFC 1122 §3.2.1.3) |
 * | 10/8, 172.16/12, 192.168/16 | private networks (RFC 1918) |
 * | 100.64/10 | shared address space (RFC 6598) |
 * | 169.254/16 | link-local (RFC 3927; cloud metadata services live here) |
 * | 192.0.0/24, 192.0.2/24, 198.18/15, 198.51.100/24, 203.0.113/24 | special purpose, benchmarking, documentation (RFC 6890, RFC 5737, RFC 2544) |
 * | 224/4, 240/4, 255.255.255.255 | multicast, reserved, broadcast |
 * | the relay host's own addresses | so pages cannot reach services bound to them |
 *
 * @module
 */
import { formatIpv4, type Ipv4Address, prefixToMask, tryParseCidr } from "../../wire/addr.ts";

/** A CIDR with an optional port set. */
export interface PolicyRule {
  readonly action: "allow" | "deny";
  readonly network: Ipv4Address;
  readonly prefixLength: number;
  /** Port ranges (inclusive); empty = every port. */
  readonly ports: readonly (readonly [number, number])[];
  /** The rule as written, for log lines. */
  readonly text: string;
}

/** What {@link EgressPolicy.check} decided and why. */
export interface PolicyDecision {
  readonly allow: boolean;
  /** `"allow 192.0.2.0/24:8000"`, `"default: private network"`, … */
  readonly reason: string;
}

const DEFAULT_DENY: readonly [string, string][] = [
  ["0.0.0.0/8", "this network"],
  ["127.0.0.0/8", "loopback"],
  ["10.0.0.0/8", "private network"],
  ["172.16.0.0/12", "private network"],
  ["192.168.0.0/16", "private network"],
  ["100.64.0.0/10", "shared address space"],
  ["169.254.0.0/16", "link-local"],
  ["192.0.0.0/24", "special purpose"],
  ["192.0.2.0/24", "documentation"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"],
];

/**
 * Parse `CIDR[:PORTS]` (`192.0.2.0/24`, `192.0.2.7`, `0.0.0.0/0:80,443,8000-8100`).
 * Throws `TypeError` saying what is wrong.
 *
 * @example
 * ```ts
 * import { parseRule } from "./policy.ts";
 * parseRule("allow", "192.0.2.0/24:8000,53").ports; // [[8000, 8000], [53, 53]]
 * ```
 */
export function parseRule(action: "allow" | "deny", text: string): PolicyRule {
  const m = /^([0-9.]+(?:\/\d{1,2})?)(?::([0-9,-]+))?$/.exec(text);
  const cidr = m === null ? null : tryParseCidr(m[1]!.includes("/") ? m[1]! : `${m[1]}/32`);
  if (m === null || cidr === null) {
    throw new TypeError(
      `--${action} ${JSON.stringify(text)} is not CIDR[:PORTS] (e.g. 192.0.2.0/24:80,8000-8100)`,
    );
  }
  const ports: [number, number][] = [];
  for (const part of m[2]?.split(",") ?? []) {
    const r = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const lo = r ? Number(r[1]) : NaN;
    const hi = r ? Number(r[2] ?? r[1]) : NaN;
    if (!(lo >= 1 && hi <= 65535 && lo <= hi)) {
      throw new TypeError(
        `--${action} ${JSON.stringify(text)}: bad port range ${JSON.stringify(part)}`,
      );
    }
    ports.push([lo, hi]);
  }
  return {
    action,
    network: (cidr.address & prefixToMask(cidr.prefixLen)) >>> 0,
    prefixLength: cidr.prefixLen,
    ports,
    text,
  };
}

function matches(
  r: { network: number; prefixLength: number; ports: readonly (readonly [number, number])[] },
  a: number,
  port: number,
): boolean {
  if (((a ^ r.network) & prefixToMask(r.prefixLength)) !== 0) return false;
  return r.ports.length === 0 || r.ports.some(([lo, hi]) => port >= lo && port <= hi);
}

/**
 * The egress policy.
 *
 * @example
 * ```ts
 * import { EgressPolicy, parseRule } from "./policy.ts";
 * const p = new EgressPolicy([parseRule("allow", "192.0.2.0/24:8000")], { ownAddresses: [] });
 * p.check(0xc0000201, 8000).allow; // true
 * p.check(0xc0000201, 22).allow; // false: documentation range, port not allowed
 * p.check(0x7f000001, 80).reason; // "default: loopback"
 * ```
 */
export class EgressPolicy {
  readonly rules: readonly PolicyRule[];
  readonly #own: readonly Ipv4Address[];
  readonly #defaults = DEFAULT_DENY.map(([c, why]) => {
    const r = parseRule("deny", c);
    return { ...r, why };
  });

  constructor(rules: readonly PolicyRule[], o: { ownAddresses: readonly Ipv4Address[] }) {
    this.rules = rules;
    this.#own = o.ownAddresses.map((a) => a >>> 0);
  }

  /** May a page reach `address`:`port`? */
  check(address: Ipv4Address, port: number): PolicyDecision {
    const a = address >>> 0;
    for (const r of this.rules) {
      if (matches(r, a, port)) {
        return { allow: r.action === "allow", reason: `${r.action} ${r.text}` };
      }
    }
    if (a === 0xffffffff) return { allow: false, reason: "default: broadcast" };
    if (this.#own.includes(a)) {
      return { allow: false, reason: `default: the relay's own address ${formatIpv4(a)}` };
    }
    for (const d of this.#defaults) {
      if (matches(d, a, port)) return { allow: false, reason: `default: ${d.why}` };
    }
    return { allow: true, reason: "default: public address" };
  }
}
