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
  /** Datagrams received from the interfaces, errors included (ipSystemStatsInReceives). */
  inReceives = 0;
  /** Discarded for a bad header: version, length, checksum, TTL (InHdrErrors). */
  inHdrErrors = 0;
  /** Discarded because the destination is not ours and we do not forward (InAddrErrors). */
  inAddrErrors = 0;
  /** Delivered to us for a protocol we do not implement (InUnknownProtos). */
  inUnknownProtos = 0;
  /** Valid datagrams dropped for lack of resources (InDiscards). */
  inDiscards = 0;
  /** Datagrams handed to a transport protocol or ICMP (InDelivers). */
  inDelivers = 0;
  /** Datagrams our protocols asked IP to send (OutRequests). */
  outRequests = 0;
  /** Outgoing datagrams dropped for lack of resources (OutDiscards). */
  outDiscards = 0;
  /** Outgoing datagrams with no route (OutNoRoutes). */
  outNoRoutes = 0;
  /** Fragments received that needed reassembly (ReasmReqds). */
  reasmReqds = 0;
  /** Datagrams reassembled (ReasmOKs). */
  reasmOKs = 0;
  /** Reassemblies that failed: overlaps, limits, timeouts (ReasmFails). */
  reasmFails = 0;
  /** Reassemblies abandoned when their timer ran out. */
  reasmTimeout = 0;
  /** Datagrams fragmented for sending (OutFragOKs). */
  fragOKs = 0;
  /** Datagrams that needed fragmenting but had DF set (OutFragFails). */
  fragFails = 0;
  /** Fragments created (OutFragCreates). */
  fragCreates = 0;
}

/** ICMP group, with per-type counts (`icmpMsgStats`). */
export class IcmpStats {
  /** ICMP messages received, errors included (icmpInMsgs). */
  inMsgs = 0;
  /** ICMP messages received and dropped as malformed (icmpInErrors). */
  inErrors = 0;
  /** ICMP messages sent (icmpOutMsgs). */
  outMsgs = 0;
  /** ICMP messages not sent for lack of resources (icmpOutErrors). */
  outErrors = 0;
  /** ICMP errors we wanted to send but the rate limiter refused. */
  outRateLimited = 0;
  /** Messages received, by ICMP type. */
  readonly inByType: Uint32Array = new Uint32Array(256);
  /** Messages sent, by ICMP type. */
  readonly outByType: Uint32Array = new Uint32Array(256);
}

/** UDP group (RFC 4113). */
export class UdpStats {
  /** Datagrams delivered to sockets (udpInDatagrams). */
  inDatagrams = 0;
  /** Datagrams for a port nobody listens on (udpNoPorts). */
  noPorts = 0;
  /** Datagrams dropped for errors other than no port (udpInErrors). */
  inErrors = 0;
  /** Datagrams dropped for a bad checksum (udpInCsumErrors). */
  inCsumErrors = 0;
  /** Datagrams sent (udpOutDatagrams). */
  outDatagrams = 0;
  /** Datagrams dropped because the socket's receive buffer was full (RcvbufErrors). */
  rcvbufErrors = 0;
  /** Sends refused because the send buffer was full (SndbufErrors). */
  sndbufErrors = 0;
}

/**
 * TCP group (RFC 4022 `tcp*` MIB objects, plus Linux `TcpExt` counters that
 * make behaviour testable).
 */
export class TcpStats {
  /** Connections opened by connect(): CLOSED → SYN-SENT (tcpActiveOpens). */
  activeOpens = 0;
  /** Connections opened by a listener: LISTEN → SYN-RECEIVED (tcpPassiveOpens). */
  passiveOpens = 0;
  /** Handshakes that failed: SYN-SENT/SYN-RECEIVED → CLOSED or back to LISTEN (tcpAttemptFails). */
  attemptFails = 0;
  /** Connections reset from ESTABLISHED or CLOSE-WAIT (tcpEstabResets). */
  estabResets = 0;
  /** Connections now in ESTABLISHED or CLOSE-WAIT (a gauge). */
  currEstab = 0;
  /** Segments received, errors included (tcpInSegs). */
  inSegs = 0;
  /** Segments sent, retransmissions excluded (tcpOutSegs). */
  outSegs = 0;
  /** Segments retransmitted (tcpRetransSegs). */
  retransSegs = 0;
  /** Segments received with errors: checksum, header (tcpInErrs). */
  inErrs = 0;
  /** Segments sent with RST (tcpOutRsts). */
  outRsts = 0;
  // TcpExt-style counters.
  /** Challenge ACKs sent (RFC 5961; TcpExt TCPChallengeACK). */
  challengeAcks = 0;
  /** Challenge ACKs not sent because of the rate limit. */
  challengeAcksLimited = 0;
  /** Segments rejected by PAWS (RFC 7323; TcpExt PAWSEstab). */
  pawsRejected = 0;
  /** Handshakes completed while the accept queue was full (TcpExt ListenOverflows). */
  listenOverflows = 0;
  /** SYNs or ACKs a listener dropped (TcpExt ListenDrops). */
  listenDrops = 0;
  /** SYN-ACKs sent with a SYN cookie (TcpExt SyncookiesSent). */
  syncookiesSent = 0;
  /** Valid cookies that completed a handshake (TcpExt SyncookiesRecv). */
  syncookiesRecv = 0;
  /** ACKs to a listener whose cookie was forged or expired (TcpExt SyncookiesFailed). */
  syncookiesFailed = 0;
  /** Segments queued out of order (TcpExt TCPOFOQueue). */
  ofoQueued = 0;
  /** Out-of-order segments dropped to stay within limits (TcpExt OfoPruned). */
  ofoPruned = 0;
  /** ACKs sent when the delayed-ACK timer fired (TcpExt DelayedACKs). */
  delayedAcks = 0;
  /** Fast retransmissions on duplicate ACKs (TcpExt TCPFastRetrans). */
  fastRetrans = 0;
  /** Retransmission timeouts (TcpExt TCPTimeouts). */
  timeouts = 0;
  /** SYN and SYN-ACK retransmissions (TcpExt TCPSynRetrans). */
  synRetrans = 0;
  /** Connections reset because data arrived after close (TcpExt TCPAbortOnData). */
  abortOnData = 0;
  /** Connections reset on close with unread data (TcpExt TCPAbortOnClose). */
  abortOnClose = 0;
  /** Connections given up after too many retransmissions (TcpExt TCPAbortOnTimeout). */
  abortOnTimeout = 0;
  /** Connections reset by SO_LINGER with a zero time (TcpExt TCPAbortOnLinger). */
  abortOnLinger = 0;
  /** Keepalive probes sent. */
  keepaliveProbes = 0;
  /** Zero-window probes sent (persist timer). */
  zeroWindowProbes = 0;
  /** Fast recoveries entered with SACK (RFC 6675; TcpExt TCPSackRecovery). */
  sackRecoveries = 0;
  /** Fast recoveries entered without SACK (RFC 6582; TcpExt TCPRenoRecovery). */
  renoRecoveries = 0;
  /** Segments RACK marked lost by time (RFC 8985; counted per segment). */
  rackLost = 0;
  /** RACK reordering-window timer expiries (TcpExt TCPRACKReoTimeout-like). */
  rackReoTimeouts = 0;
  /** Tail loss probes sent (RFC 8985 §7; TcpExt TCPLossProbes). */
  tlpProbes = 0;
  /** Losses a tail loss probe repaired (TcpExt TCPLossProbeRecovery). */
  tlpRecoveries = 0;
  /** Timeouts F-RTO found spurious (RFC 5682; TcpExt TCPSpuriousRTOs). */
  spuriousRtos = 0;
  /** Reductions undone because they proved spurious (D-SACK, F-RTO; TcpExt TCPFullUndo + TCPLossUndo). */
  undos = 0;
  /** D-SACK blocks received (RFC 2883; TcpExt TCPDSACKRecv). */
  dsackRecv = 0;
  /** ACKs that stopped at data the peer had SACKed (it reneged; TcpExt TCPSACKReneging). */
  sackReneging = 0;
  /** Segments received with the CE mark on an ECN connection (RFC 3168). */
  ecnCeRecv = 0;
  /** cwnd reductions for an ECN echo (RFC 3168 §6.1.2). */
  ecnReductions = 0;
  /** Path MTU reductions from ICMP "fragmentation needed" (RFC 1191). */
  pmtuUpdates = 0;
  /** Black holes suspected: PLPMTUD switched on or its floor halved (RFC 4821; TcpExt TCPMTUPFail-like). */
  mtuBlackHoles = 0;
  /** PLPMTUD probes sent (RFC 4821). */
  mtuProbes = 0;
  /** PLPMTUD probes acknowledged (TcpExt TCPMTUPSuccess). */
  mtuProbesAcked = 0;
  /** Transitions by `from * 11 + to` (TcpState numbering). */
  readonly transitions: Uint32Array = new Uint32Array(121);
}

/** ARP / neighbour counters. */
export class ArpStats {
  /** ARP requests sent. */
  requestsSent = 0;
  /** ARP replies sent. */
  repliesSent = 0;
  /** ARP requests received. */
  requestsReceived = 0;
  /** ARP replies received. */
  repliesReceived = 0;
  /** Replies nobody asked for: ignored, no entry created. */
  unsolicitedIgnored = 0;
  /** Resolutions that gave up after the last probe. */
  resolveFailed = 0;
  /** Packets dropped because an unresolved entry's pending queue was full. */
  pendingDropped = 0;
  /** Entries refused or evicted because the table was full. */
  tableFull = 0;
  /** A different MAC for a neighbour within locktime of its last update: ignored. */
  lockIgnored = 0;
  /** A different MAC claimed for a neighbour with a cached one: not adopted, the cached one verified. */
  changesUnverified = 0;
  /** Verifications in which the cached MAC answered (or was confirmed): the claim was dropped. */
  changesRejected = 0;
  /** Verifications in which the cached MAC stayed silent: the entry was re-resolved by broadcast. */
  changesAccepted = 0;
  /** Reachability confirmations from upper layers (`NeighbourTable.confirm`, TCP forward progress). */
  upperConfirmations = 0;
}

/** IPv6 neighbour discovery and address configuration counters (RFC 4861, RFC 4862). */
export class NdiscStats {
  /** Neighbor Solicitations sent (address resolution, unreachability detection, DAD). */
  nsSent = 0;
  /** Neighbor Solicitations received. */
  nsReceived = 0;
  /** Neighbor Advertisements sent. */
  naSent = 0;
  /** Neighbor Advertisements received. */
  naReceived = 0;
  /** Router Solicitations sent (RFC 4861 §6.3.7). */
  rsSent = 0;
  /** Router Advertisements received. */
  raReceived = 0;
  /** Redirects received (RFC 4861 §8.3). */
  redirectsReceived = 0;
  /** Unsolicited advertisements for addresses not in the cache: ignored (RFC 4861 §7.2.5). */
  unsolicitedIgnored = 0;
  /** Resolutions that gave up after the last solicitation. */
  resolveFailed = 0;
  /** Packets dropped because an unresolved entry's queue was full. */
  pendingDropped = 0;
  /** Entries refused or evicted because the cache was full. */
  tableFull = 0;
  /** Duplicate address detection runs started (RFC 4862 §5.4). */
  dadStarted = 0;
  /** Duplicates found by DAD: the address is not used. */
  dadFailed = 0;
  /** Addresses configured by SLAAC (RFC 4862 §5.5.3). */
  slaacAddresses = 0;
  /** MLDv2 reports sent (RFC 3810 §5.2). */
  mldReportsSent = 0;
  /** MLD queries received (RFC 3810 §5.1). */
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
  /** IPv4. */
  readonly ip: IpStats = new IpStats();
  /** ICMP. */
  readonly icmp: IcmpStats = new IcmpStats();
  /** UDP. */
  readonly udp: UdpStats = new UdpStats();
  /** TCP. */
  readonly tcp: TcpStats = new TcpStats();
  /** ARP. */
  readonly arp: ArpStats = new ArpStats();
  /** IPv6 (RFC 4293 `ipSystemStats` for the ipv6 family). */
  readonly ip6: IpStats = new IpStats();
  /** ICMPv6 (RFC 4293 `icmpStatsTable`/`icmpMsgStatsTable` for ipv6). */
  readonly icmp6: IcmpStats = new IcmpStats();
  /** Neighbour discovery, SLAAC and MLD. */
  readonly ndisc: NdiscStats = new NdiscStats();
  /** Drops by reason. */
  readonly drops: DropCounters = new DropCounters();
}
