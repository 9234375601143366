/**
 * Counters in the spirit of `netstat -s` and the SNMP MIBs (RFC 4293 IP and
 * ICMP, RFC 4113 UDP), plus drops counted by reason. Plain numeric fields so
 * the hot paths increment them without lookups; tests read them to prove
 * behaviour ("the datagram was dropped, and counted as a bad checksum").
 *
 * @module
 */

/** IP group (RFC 4293 `ipSystemStats`, abridged). */
export class IpStats {
  inReceives = 0;
  inHdrErrors = 0;
  inAddrErrors = 0;
  inUnknownProtos = 0;
  inDiscards = 0;
  inDelivers = 0;
  outRequests = 0;
  outDiscards = 0;
  outNoRoutes = 0;
  reasmReqds = 0;
  reasmOKs = 0;
  reasmFails = 0;
  reasmTimeout = 0;
  fragOKs = 0;
  fragFails = 0;
  fragCreates = 0;
}

/** ICMP group, with per-type counts (`icmpMsgStats`). */
export class IcmpStats {
  inMsgs = 0;
  inErrors = 0;
  outMsgs = 0;
  outErrors = 0;
  /** ICMP errors we wanted to send but the rate limiter refused. */
  outRateLimited = 0;
  readonly inByType: Uint32Array = new Uint32Array(256);
  readonly outByType: Uint32Array = new Uint32Array(256);
}

/** UDP group (RFC 4113). */
export class UdpStats {
  inDatagrams = 0;
  noPorts = 0;
  inErrors = 0;
  inCsumErrors = 0;
  outDatagrams = 0;
  rcvbufErrors = 0;
  sndbufErrors = 0;
}

/**
 * TCP group (RFC 4022 `tcp*` MIB objects, plus Linux `TcpExt` counters that
 * make behaviour testable).
 */
export class TcpStats {
  activeOpens = 0;
  passiveOpens = 0;
  attemptFails = 0;
  estabResets = 0;
  /** Connections now in ESTABLISHED or CLOSE-WAIT (a gauge). */
  currEstab = 0;
  inSegs = 0;
  outSegs = 0;
  retransSegs = 0;
  inErrs = 0;
  outRsts = 0;
  // TcpExt-style counters.
  challengeAcks = 0;
  challengeAcksLimited = 0;
  pawsRejected = 0;
  listenOverflows = 0;
  listenDrops = 0;
  /** SYN-ACKs sent with a SYN cookie (TcpExt SyncookiesSent). */
  syncookiesSent = 0;
  /** Valid cookies that completed a handshake (TcpExt SyncookiesRecv). */
  syncookiesRecv = 0;
  /** ACKs to a listener whose cookie was forged or expired (TcpExt SyncookiesFailed). */
  syncookiesFailed = 0;
  ofoQueued = 0;
  ofoPruned = 0;
  delayedAcks = 0;
  fastRetrans = 0;
  timeouts = 0;
  synRetrans = 0;
  abortOnData = 0;
  abortOnClose = 0;
  abortOnTimeout = 0;
  abortOnLinger = 0;
  keepaliveProbes = 0;
  zeroWindowProbes = 0;
  /** Transitions by `from * 11 + to` (TcpState numbering). */
  readonly transitions: Uint32Array = new Uint32Array(121);
}

/** ARP / neighbour counters. */
export class ArpStats {
  requestsSent = 0;
  repliesSent = 0;
  requestsReceived = 0;
  repliesReceived = 0;
  /** Replies nobody asked for: ignored, no entry created. */
  unsolicitedIgnored = 0;
  /** Resolutions that gave up after the last probe. */
  resolveFailed = 0;
  /** Packets dropped because an unresolved entry's pending queue was full. */
  pendingDropped = 0;
  /** Entries refused or evicted because the table was full. */
  tableFull = 0;
}

/** IPv6 neighbour discovery and address configuration counters (RFC 4861, RFC 4862). */
export class NdiscStats {
  nsSent = 0;
  nsReceived = 0;
  naSent = 0;
  naReceived = 0;
  rsSent = 0;
  raReceived = 0;
  redirectsReceived = 0;
  /** Unsolicited advertisements for addresses not in the cache: ignored (RFC 4861 §7.2.5). */
  unsolicitedIgnored = 0;
  /** Resolutions that gave up after the last solicitation. */
  resolveFailed = 0;
  /** Packets dropped because an unresolved entry's queue was full. */
  pendingDropped = 0;
  /** Entries refused or evicted because the cache was full. */
  tableFull = 0;
  /** Duplicate address detection runs started, and duplicates found (RFC 4862 §5.4). */
  dadStarted = 0;
  dadFailed = 0;
  /** Addresses configured by SLAAC (RFC 4862 §5.5.3). */
  slaacAddresses = 0;
  /** MLDv2 reports sent and queries received (RFC 3810). */
  mldReportsSent = 0;
  mldQueriesReceived = 0;
}

/** Drops by reason: `"ipv4.bad_checksum"`, `"ipv4.not_for_us"`, … */
export class DropCounters {
  #counts = new Map<string, number>();
  /** Total drops. */
  total = 0;

  /** Count one drop (or `n`) for `reason`. */
  count(reason: string, n = 1): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + n);
    this.total += n;
  }

  /** Drops counted for `reason`. */
  get(reason: string): number {
    return this.#counts.get(reason) ?? 0;
  }

  /** All non-zero counters, sorted by reason. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a < b ? -1 : 1));
  }
}

/**
 * Every counter of one stack.
 *
 * @example
 * ```ts
 * import { StackStats } from "./stats.ts";
 * const stats = new StackStats();
 * stats.drops.count("ipv4.bad_checksum");
 * stats.ip.inHdrErrors++;
 * stats.drops.get("ipv4.bad_checksum"); // 1
 * ```
 */
export class StackStats {
  readonly ip: IpStats = new IpStats();
  readonly icmp: IcmpStats = new IcmpStats();
  readonly udp: UdpStats = new UdpStats();
  readonly tcp: TcpStats = new TcpStats();
  readonly arp: ArpStats = new ArpStats();
  /** IPv6 (RFC 4293 `ipSystemStats` for the ipv6 family). */
  readonly ip6: IpStats = new IpStats();
  /** ICMPv6 (RFC 4293 `icmpStatsTable`/`icmpMsgStatsTable` for ipv6). */
  readonly icmp6: IcmpStats = new IcmpStats();
  /** Neighbour discovery, SLAAC and MLD. */
  readonly ndisc: NdiscStats = new NdiscStats();
  readonly drops: DropCounters = new DropCounters();
}
