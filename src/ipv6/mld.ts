/**
 * Multicast Listener Discovery version 2 for a host (RFC 3810 §6), as far
 * as this stack listens to multicast: the solicited-node groups of its
 * addresses (RFC 4861 §7.2.1 requires joining them) and groups joined
 * explicitly.
 *
 * - **State changes** (§6.1): joining a group sends a CHANGE_TO_EXCLUDE({})
 *   report at once and again after a random delay within the Unsolicited
 *   Report Interval (1 s), Robustness Variable (2) times in all; leaving sends
 *   CHANGE_TO_INCLUDE({}) the same way. Without a valid link-local address
 *   yet (during DAD) reports come from `::` (§5.2.13), as Linux's do.
 * - **Queries** (§6.2): a General Query is answered with one report of every
 *   group's current state (MODE_IS_EXCLUDE) after a random delay up to the
 *   Maximum Response Delay; a group-specific query with that group. One
 *   pending response per interface: a flood of queries costs one report.
 *   Queries from non-link-local sources or with a hop limit other than 1 are
 *   discarded (§5.1.14, §5). MLDv1 queries (RFC 2710) are answered with
 *   MLDv2 reports (no compatibility mode, DEVIATIONS).
 * - **Never reported**: ff02::1, interface-local groups (ff01::/16), and
 *   anything on loopback (§6).
 * - Reports go to ff02::16 with hop limit 1 and a hop-by-hop Router Alert
 *   (§5.2.14, §5).
 *
 * @module
 */
import type { Clock, Timer } from "../core/clock.ts";
import { randomInt, type RandomSource } from "../core/random.ts";
import type { DropCounters, NdiscStats } from "../core/stats.ts";
import type { Iface } from "../ipv4/iface.ts";
import type { SkbAllocator, SkBuff } from "../skb/skbuff.ts";
import {
  ip6Equal,
  IPV6_ALL_MLDV2_ROUTERS,
  IPV6_ALL_NODES,
  IPV6_UNSPECIFIED,
  isLinkLocal6,
  isUnspecified6,
} from "../wire/addr6.ts";
import type { Ipv6Repr } from "../wire/ipv6.ts";
import {
  emitMldv2Report,
  type MldRecordEmit,
  MldRecordType,
  mldv2ReportLength,
  parseMldQuery,
} from "../wire/mld.ts";
import { allocControl, finishControl } from "./ctl.ts";
import type { Inet6Dev, Ipv6Devices } from "./inet6_dev.ts";

/** Robustness Variable (RFC 3810 §9.1). */
const ROBUSTNESS = 2;
/** Unsolicited Report Interval (RFC 3810 §9.11), ms. */
const UNSOLICITED_REPORT_MS = 1000;
/** Records per report, so one fits in a 1280-byte packet with room to spare. */
const RECORDS_PER_REPORT = 50;

/**
 * Options for {@link Mld}.
 *
 * @example
 * ```ts
 * import type { MldOptions } from "./mld.ts";
 * type Needs = keyof MldOptions; // "clock" | "allocator" | …
 * ```
 */
export interface MldOptions {
  /** Time source for report timers. */
  clock: Clock;
  /** Allocates report packets. */
  allocator: SkbAllocator;
  /** Randomness: report delays (RFC 3810 §6.2). */
  rng: RandomSource;
  /** Counters (`mldReportsSent`, `mldQueriesReceived`). */
  stats: NdiscStats;
  /** Drops by reason (malformed queries). */
  drops: DropCounters;
  /** The per-interface IPv6 state holding the groups joined. */
  devices: Ipv6Devices;
  /** Transmit a control packet (`data` at its IPv6 header) to a multicast group. */
  output(iface: Iface, dst: Uint8Array, off: number, skb: SkBuff): void;
}

interface Change {
  group: Uint8Array;
  type: number;
  left: number;
}

interface DevState {
  changes: Change[];
  changeTimer: Timer | null;
  /** A pending response to a query: all groups, or the listed ones. */
  responseAll: boolean;
  responseGroups: Uint8Array[];
  responseTimer: Timer | null;
  responseDue: number;
}

/**
 * The MLDv2 host side of one stack.
 *
 * @example
 * ```ts
 * // stack.ipv6.mld.join(dev, group) happens for every address's solicited-node group.
 * ```
 */
export class Mld {
  readonly #o: MldOptions;
  readonly #state = new Map<Inet6Dev, DevState>();
  #closed = false;

  /** MLDv2 host side (RFC 3810) for the interfaces in `o.devices`. */
  constructor(o: MldOptions) {
    this.#o = o;
  }

  /** Join `group` on `dev` (reference counted); a new membership is reported. */
  join(dev: Inet6Dev, group: Uint8Array): void {
    const g = dev.groups.find((x) => ip6Equal(x.group, 0, group, 0));
    if (g !== undefined) {
      g.refs++;
      return;
    }
    const copy = group.slice(0, 16);
    dev.groups.push({ group: copy, refs: 1 });
    this.#stateChange(dev, copy, MldRecordType.CHANGE_TO_EXCLUDE);
  }

  /** Leave `group` on `dev`; the last leave is reported. */
  leave(dev: Inet6Dev, group: Uint8Array): void {
    const i = dev.groups.findIndex((x) => ip6Equal(x.group, 0, group, 0));
    if (i < 0) return;
    const g = dev.groups[i]!;
    if (--g.refs > 0) return;
    dev.groups.splice(i, 1);
    this.#stateChange(dev, g.group, MldRecordType.CHANGE_TO_INCLUDE);
  }

  /** A Multicast Listener Query at `u8[at, at+len)` (checksum verified); null or the drop reason. */
  rcvQuery(dev: Inet6Dev, ip: Ipv6Repr, at: number, len: number): string | null {
    if (this.#closed) return "mld.closed";
    const u8 = this.#o.allocator.arena.u8;
    this.#o.stats.mldQueriesReceived++;
    // RFC 3810 §5.1.14: queries from other than a link-local source are discarded.
    if (!isLinkLocal6(u8, ip.srcOffset)) return "mld.bad_source";
    if (ip.hopLimit !== 1) return "mld.bad_hop_limit";
    const q = parseMldQuery(u8, at, len);
    if (typeof q === "string") return q;
    if (dev.iface.loopback) return null;
    const s = this.#dev(dev);
    const general = isUnspecified6(u8, q.groupOffset);
    if (!general) {
      const joined = dev.groups.find((g) => ip6Equal(g.group, 0, u8, q.groupOffset));
      if (joined === undefined || !reportable(joined.group)) return null;
      if (!s.responseAll && !s.responseGroups.some((g) => ip6Equal(g, 0, joined.group, 0))) {
        if (s.responseGroups.length < RECORDS_PER_REPORT) s.responseGroups.push(joined.group);
      }
    } else {
      s.responseAll = true;
      s.responseGroups.length = 0;
    }
    // §6.2: a random delay in [0, Maximum Response Delay]; an earlier pending one stands.
    const delay = randomInt(this.#o.rng, Math.max(1, q.maxResponseDelay));
    const due = this.#o.clock.now() + delay;
    if (s.responseTimer === null || due < s.responseDue) {
      if (s.responseTimer !== null) this.#o.clock.clearTimer(s.responseTimer);
      s.responseDue = due;
      s.responseTimer = this.#o.clock.setTimer(delay, () => this.#respond(dev, s));
    }
    return null;
  }

  /** Forget `dev` (interface removed): timers cancelled, nothing sent. */
  forget(dev: Inet6Dev): void {
    const s = this.#state.get(dev);
    if (s === undefined) return;
    if (s.changeTimer !== null) this.#o.clock.clearTimer(s.changeTimer);
    if (s.responseTimer !== null) this.#o.clock.clearTimer(s.responseTimer);
    this.#state.delete(dev);
  }

  /** Cancel every timer. */
  close(): void {
    this.#closed = true;
    for (const dev of [...this.#state.keys()]) this.forget(dev);
  }

  #dev(dev: Inet6Dev): DevState {
    let s = this.#state.get(dev);
    if (s === undefined) {
      s = {
        changes: [],
        changeTimer: null,
        responseAll: false,
        responseGroups: [],
        responseTimer: null,
        responseDue: 0,
      };
      this.#state.set(dev, s);
    }
    return s;
  }

  /** §6.1: report a state change now, then Robustness − 1 more times. */
  #stateChange(dev: Inet6Dev, group: Uint8Array, type: number): void {
    if (this.#closed || dev.iface.loopback || !reportable(group)) return;
    const s = this.#dev(dev);
    const prior = s.changes.findIndex((c) => ip6Equal(c.group, 0, group, 0));
    if (prior >= 0) s.changes.splice(prior, 1);
    s.changes.push({ group, type, left: ROBUSTNESS });
    this.#sendChanges(dev, s);
  }

  #sendChanges(dev: Inet6Dev, s: DevState): void {
    s.changeTimer = null;
    if (this.#closed) return;
    const records: MldRecordEmit[] = [];
    for (const c of s.changes) {
      records.push({ type: c.type, group: c.group });
      c.left--;
    }
    s.changes = s.changes.filter((c) => c.left > 0);
    this.#send(dev, records);
    if (s.changes.length > 0 && s.changeTimer === null) {
      s.changeTimer = this.#o.clock.setTimer(
        1 + randomInt(this.#o.rng, UNSOLICITED_REPORT_MS),
        () => this.#sendChanges(dev, s),
      );
    }
  }

  #respond(dev: Inet6Dev, s: DevState): void {
    s.responseTimer = null;
    const groups = s.responseAll ? dev.groups.map((g) => g.group) : s.responseGroups;
    const records = groups.filter(reportable).map((group) => ({
      type: MldRecordType.MODE_IS_EXCLUDE,
      group,
    }));
    s.responseAll = false;
    s.responseGroups = [];
    this.#send(dev, records);
  }

  #send(dev: Inet6Dev, records: MldRecordEmit[]): void {
    for (let i = 0; i < records.length; i += RECORDS_PER_REPORT) {
      const part = records.slice(i, i + RECORDS_PER_REPORT);
      const len = mldv2ReportLength(part);
      // §5.2.13: a link-local source, or :: while none is valid yet.
      const src = dev.linkLocal()?.address ?? IPV6_UNSPECIFIED;
      const skb = allocControl(
        this.#o.allocator,
        { src, dst: IPV6_ALL_MLDV2_ROUTERS, hopLimit: 1, routerAlert: true },
        len,
      );
      if (skb === null) {
        this.#o.drops.count("mld.no_buffer");
        return;
      }
      emitMldv2Report(part, skb.arena.u8, skb.transportHeader);
      finishControl(skb, len);
      this.#o.stats.mldReportsSent++;
      this.#o.output(dev.iface, IPV6_ALL_MLDV2_ROUTERS, 0, skb);
    }
  }
}

/** RFC 3810 §6: ff02::1 and interface-local groups are never reported. */
function reportable(group: Uint8Array): boolean {
  if (ip6Equal(group, 0, IPV6_ALL_NODES, 0)) return false;
  return !(group[0] === 0xff && (group[1]! & 15) <= 1);
}
