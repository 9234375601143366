/**
 * DNS messages (RFC 1035 §4): header, questions and resource records, with
 * EDNS(0) (RFC 6891) and the record types the resolver understands (A, NS,
 * CNAME, SOA, PTR, MX, TXT, AAAA, SRV). Other types are kept as raw bytes.
 *
 * {@link parseDnsMessage} never throws: whatever a network hands it, it
 * returns a {@link DnsMessage} or a drop reason, and it reads nothing outside
 * the bytes it was given. {@link emitDnsMessage} writes a message (with name
 * compression) from a plain representation; it trusts its input.
 *
 * @module
 */
import { formatIpv4, tryParseIpv4 } from "../wire/addr.ts";
import { get16, get32, set16, set32 } from "../wire/bytes.ts";
import { type DnsNameDropReason, NameWriter, readName } from "./name.ts";

/**
 * Record types (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891).
 *
 * @example
 * ```ts
 * import { DnsType } from "./wire.ts";
 * DnsType.AAAA; // 28
 * ```
 */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

/** Class IN (RFC 1035 §3.2.4). */
export const DNS_CLASS_IN = 1;

/**
 * Response codes (RFC 1035 §4.1.1, RFC 6895).
 *
 * @example
 * ```ts
 * import { DnsRcode } from "./wire.ts";
 * DnsRcode.NXDOMAIN; // 3
 * ```
 */
export const DnsRcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

/** Fixed header length. */
export const DNS_HEADER_LENGTH = 12;
/** Largest message over UDP without EDNS (RFC 1035 §4.2.1). */
export const DNS_UDP_CLASSIC = 512;
/**
 * The EDNS UDP payload size we advertise: 1232 bytes, the DNS Flag Day 2020
 * value, which fits the IPv6 minimum MTU without fragmentation.
 */
export const DNS_EDNS_UDP_SIZE = 1232;
/** Most records of all sections we accept in one message (bounds work per datagram). */
export const DNS_MAX_RECORDS = 512;

/**
 * Every reason {@link parseDnsMessage} can drop a message for.
 *
 * @example
 * ```ts
 * import { DNS_DROP_REASONS } from "./wire.ts";
 * DNS_DROP_REASONS.includes("dns.truncated_header"); // true
 * ```
 */
export const DNS_DROP_REASONS = [
  /** Fewer than 12 bytes. */
  "dns.truncated_header",
  /** A question or record runs past the end. */
  "dns.truncated_record",
  /** RDATA that does not fit its type (an A record of 5 bytes, a name overrunning RDLENGTH). */
  "dns.bad_rdata",
  /** More than {@link DNS_MAX_RECORDS} records. */
  "dns.too_many_records",
  /** More than one OPT record, or one outside the additional section (RFC 6891 §6.1.1). */
  "dns.bad_opt",
  "dns.name_overrun",
  "dns.pointer_loop",
  "dns.too_many_pointers",
  "dns.bad_label_type",
  "dns.name_too_long",
] as const;
/**
 * Why a message was dropped.
 *
 * @example
 * ```ts
 * import type { DnsDropReason } from "./wire.ts";
 * const why: DnsDropReason = "dns.bad_rdata";
 * ```
 */
export type DnsDropReason = typeof DNS_DROP_REASONS[number];

/** One question. */
export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

/** Typed RDATA of the record types the resolver uses; anything else is `raw`. */
export type DnsRdata =
  | { readonly kind: "a"; readonly address: string }
  | { readonly kind: "aaaa"; readonly address: string }
  /** CNAME, NS, PTR. */
  | { readonly kind: "name"; readonly name: string }
  | { readonly kind: "mx"; readonly preference: number; readonly exchange: string }
  | { readonly kind: "txt"; readonly strings: readonly string[] }
  | {
    readonly kind: "srv";
    readonly priority: number;
    readonly weight: number;
    readonly port: number;
    readonly target: string;
  }
  | {
    readonly kind: "soa";
    readonly mname: string;
    readonly rname: string;
    readonly serial: number;
    readonly refresh: number;
    readonly retry: number;
    readonly expire: number;
    readonly minimum: number;
  }
  | { readonly kind: "raw"; readonly bytes: Uint8Array };

/** One resource record. */
export interface DnsRecord {
  /** Owner name, without the trailing dot. */
  readonly name: string;
  /** RR type (1 A, 28 AAAA, 5 CNAME, …; RFC 1035 §3.2.2). */
  readonly type: number;
  /** RR class (1 IN). */
  readonly class: number;
  /** Seconds (RFC 2181 §8: values with the top bit set are read as 0). */
  readonly ttl: number;
  /** The RDATA, decoded for the types the resolver reads (raw bytes otherwise). */
  readonly data: DnsRdata;
}

/** The OPT pseudo-record's fields (RFC 6891 §6.1.3). */
export interface DnsEdns {
  /** Requestor's UDP payload size (values below 512 are read as 512). */
  readonly udpSize: number;
  /** Upper 8 bits of the 12-bit RCODE. */
  readonly extendedRcode: number;
  readonly version: number;
  /** DO bit. */
  readonly dnssecOk: boolean;
}

/** A parsed (or to-be-emitted) message. */
export interface DnsMessage {
  readonly id: number;
  /** QR: a response. */
  readonly response: boolean;
  readonly opcode: number;
  /** AA. */
  readonly authoritative: boolean;
  /** TC: truncated (RFC 1035 §4.1.1; retry over TCP). */
  readonly truncated: boolean;
  /** RD. */
  readonly recursionDesired: boolean;
  /** RA. */
  readonly recursionAvailable: boolean;
  /** Full RCODE (with EDNS's extended bits). */
  readonly rcode: number;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  /** Additional records, without the OPT record (see {@link DnsMessage.edns}). */
  readonly additionals: readonly DnsRecord[];
  /** The OPT record, if present. */
  readonly edns: DnsEdns | null;
}

/**
 * Parse a DNS message occupying `u8[offset … offset+length)`. Never throws.
 *
 * @example
 * ```ts
 * import { emitDnsQuery, parseDnsMessage } from "./wire.ts";
 * const q = emitDnsQuery({ id: 7, name: "files.test", type: 1 });
 * const m = parseDnsMessage(q);
 * if (typeof m !== "string") m.questions[0]?.name; // "files.test"
 * ```
 */
export function parseDnsMessage(
  u8: Uint8Array,
  offset = 0,
  length = u8.length - offset,
): DnsMessage | DnsDropReason {
  // Work on a view of exactly the message: offsets in it are message offsets.
  const m = offset === 0 && length === u8.length ? u8 : u8.subarray(offset, offset + length);
  const len = m.length;
  if (len < DNS_HEADER_LENGTH) return "dns.truncated_header";
  const id = get16(m, 0);
  const flags = get16(m, 2);
  const qd = get16(m, 4), an = get16(m, 6), ns = get16(m, 8), ar = get16(m, 10);
  if (qd + an + ns + ar > DNS_MAX_RECORDS) return "dns.too_many_records";
  let at = DNS_HEADER_LENGTH;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const n = readName(m, at, len);
    if (typeof n === "string") return n;
    if (n.end + 4 > len) return "dns.truncated_record";
    questions.push({ name: n.name, type: get16(m, n.end), class: get16(m, n.end + 2) });
    at = n.end + 4;
  }
  const sections: DnsRecord[][] = [[], [], []];
  let edns: DnsEdns | null = null;
  const counts = [an, ns, ar];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const n = readName(m, at, len);
      if (typeof n === "string") return n;
      const h = n.end;
      if (h + 10 > len) return "dns.truncated_record";
      const type = get16(m, h);
      const cls = get16(m, h + 2);
      const ttlRaw = get32(m, h + 4);
      const rdlen = get16(m, h + 8);
      const rd = h + 10;
      if (rd + rdlen > len) return "dns.truncated_record";
      at = rd + rdlen;
      if (type === DnsType.OPT) {
        // RFC 6891 §6.1.1: one OPT, in the additional section, owner the root.
        if (s !== 2 || edns !== null || n.name !== "") return "dns.bad_opt";
        edns = {
          udpSize: Math.max(cls, DNS_UDP_CLASSIC),
          extendedRcode: ttlRaw >>> 24,
          version: (ttlRaw >>> 16) & 0xff,
          dnssecOk: (ttlRaw & 0x8000) !== 0,
        };
        continue;
      }
      const data = parseRdata(m, type, rd, rdlen);
      if (typeof data === "string") return data;
      // RFC 2181 §8: a TTL with the most significant bit set is treated as zero.
      const ttl = ttlRaw > 0x7fffffff ? 0 : ttlRaw;
      sections[s]!.push({ name: n.name, type, class: cls, ttl, data });
    }
  }
  return {
    id,
    response: (flags & 0x8000) !== 0,
    opcode: (flags >>> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: (flags & 0xf) | ((edns?.extendedRcode ?? 0) << 4),
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
    edns,
  };
}

/** RDATA of `type` at `m[at … at+len)`; names may point anywhere before. */
function parseRdata(
  m: Uint8Array,
  type: number,
  at: number,
  len: number,
): DnsRdata | DnsDropReason {
  const end = at + len;
  /** A name that must lie within the RDATA (its own bytes; pointers may go back). */
  const name = (from: number): { name: string; end: number } | DnsDropReason => {
    const n = readName(m, from, end);
    if (typeof n === "string") return rdataReason(n);
    return n;
  };
  switch (type) {
    case DnsType.A:
      if (len !== 4) return "dns.bad_rdata";
      return { kind: "a", address: formatIpv4(get32(m, at)) };
    case DnsType.AAAA:
      if (len !== 16) return "dns.bad_rdata";
      return { kind: "aaaa", address: formatIpv6Bytes(m.subarray(at, at + 16)) };
    case DnsType.CNAME:
    case DnsType.NS:
    case DnsType.PTR: {
      const n = name(at);
      if (typeof n === "string") return n;
      if (n.end !== end) return "dns.bad_rdata";
      return { kind: "name", name: n.name };
    }
    case DnsType.MX: {
      if (len < 3) return "dns.bad_rdata";
      const n = name(at + 2);
      if (typeof n === "string") return n;
      if (n.end !== end) return "dns.bad_rdata";
      return { kind: "mx", preference: get16(m, at), exchange: n.name };
    }
    case DnsType.SRV: {
      if (len < 7) return "dns.bad_rdata";
      const n = name(at + 6);
      if (typeof n === "string") return n;
      if (n.end !== end) return "dns.bad_rdata";
      return {
        kind: "srv",
        priority: get16(m, at),
        weight: get16(m, at + 2),
        port: get16(m, at + 4),
        target: n.name,
      };
    }
    case DnsType.TXT: {
      // RFC 1035 §3.3.14: one or more <character-string>s filling the RDATA.
      if (len === 0) return "dns.bad_rdata";
      const strings: string[] = [];
      for (let p = at; p < end;) {
        const l = m[p]!;
        if (p + 1 + l > end) return "dns.bad_rdata";
        strings.push(decodeText(m.subarray(p + 1, p + 1 + l)));
        p += 1 + l;
      }
      return { kind: "txt", strings };
    }
    case DnsType.SOA: {
      const mname = name(at);
      if (typeof mname === "string") return mname;
      const rname = name(mname.end);
      if (typeof rname === "string") return rname;
      const p = rname.end;
      if (p + 20 !== end) return "dns.bad_rdata";
      return {
        kind: "soa",
        mname: mname.name,
        rname: rname.name,
        serial: get32(m, p),
        refresh: get32(m, p + 4),
        retry: get32(m, p + 8),
        expire: get32(m, p + 12),
        minimum: get32(m, p + 16),
      };
    }
    default:
      return { kind: "raw", bytes: m.slice(at, end) };
  }
}

/** A name that overruns its RDATA is bad RDATA; structural name faults keep their reason. */
function rdataReason(r: DnsNameDropReason): DnsDropReason {
  return r === "dns.name_overrun" ? "dns.bad_rdata" : r;
}

const UTF8 = new TextDecoder("utf-8", { fatal: false });
/** TXT strings are bytes; show them as UTF-8 (lossy), as Deno does. */
function decodeText(b: Uint8Array): string {
  return UTF8.decode(b);
}

/**
 * RFC 5952 text of a 16-byte IPv6 address (lower case, longest run of two or
 * more zero groups as `::`, first run on a tie).
 *
 * @example
 * ```ts
 * import { formatIpv6Bytes } from "./wire.ts";
 * const b = new Uint8Array(16); b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8; b[15] = 1;
 * formatIpv6Bytes(b); // "2001:db8::1"
 * ```
 */
export function formatIpv6Bytes(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/**
 * The 16 bytes of an IPv6 address in text form (`::`, embedded IPv4 tail
 * allowed), or null.
 *
 * @example
 * ```ts
 * import { tryParseIpv6Bytes } from "./wire.ts";
 * tryParseIpv6Bytes("2001:db8::1")?.[15]; // 1
 * ```
 */
export function tryParseIpv6Bytes(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  let s = text;
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let tail: number[] = [];
  if (v4 !== null) {
    const a = tryParseIpv4(v4[2]!);
    if (a === null) return null;
    tail = [(a >>> 16) & 0xffff, a & 0xffff];
    s = v4[1]!.endsWith("::") ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const parts = s.split("::");
  if (parts.length > 2) return null;
  const groups = (p: string) => p === "" ? [] : p.split(":");
  const head = groups(parts[0]!);
  const rest = parts.length === 2 ? groups(parts[1]!) : [];
  const words: number[] = [];
  for (const w of [...head, ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return null;
  }
  const total = head.length + rest.length + tail.length;
  if (parts.length === 1 ? total !== 8 : total > 7) return null;
  for (const w of head) words.push(parseInt(w, 16));
  for (let i = total; i < 8; i++) words.push(0);
  for (const w of rest) words.push(parseInt(w, 16));
  words.push(...tail);
  for (let i = 0; i < 8; i++) set16(out, i * 2, words[i]!);
  return out;
}

/** What {@link emitDnsQuery} builds. */
export interface DnsQueryInput {
  readonly id: number;
  readonly name: string;
  readonly type: number;
  /** RD (default true: we are a stub). */
  readonly recursionDesired?: boolean;
  /** Add an OPT record advertising this UDP payload size (default none). */
  readonly ednsUdpSize?: number;
}

/**
 * A query message: one question, class IN, RD set, optionally with EDNS(0).
 *
 * @example
 * ```ts
 * import { DnsType, emitDnsQuery } from "./wire.ts";
 * const bytes = emitDnsQuery({ id: 0x1234, name: "files.test", type: DnsType.A, ednsUdpSize: 1232 });
 * ```
 */
export function emitDnsQuery(q: DnsQueryInput): Uint8Array {
  return emitDnsMessage({
    id: q.id,
    response: false,
    opcode: 0,
    authoritative: false,
    truncated: false,
    recursionDesired: q.recursionDesired ?? true,
    recursionAvailable: false,
    rcode: 0,
    questions: [{ name: q.name, type: q.type, class: DNS_CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
    edns: q.ednsUdpSize === undefined
      ? null
      : { udpSize: q.ednsUdpSize, extendedRcode: 0, version: 0, dnssecOk: false },
  });
}

/** Options for {@link emitDnsMessage}. */
export interface DnsEmitOptions {
  /** Compress names (default true). */
  compress?: boolean;
  /**
   * Largest message: records that do not fit are left out and TC is set
   * (RFC 2181 §9), as a server answering over UDP does. Default: no limit.
   */
  maxSize?: number;
}

/**
 * Write `msg` into a new buffer. Throws `TypeError` for a name or RDATA that
 * cannot be encoded (a label over 63 bytes, an address that is not one).
 *
 * @example
 * ```ts
 * import { DnsType, emitDnsMessage, parseDnsMessage } from "./wire.ts";
 * const reply = emitDnsMessage({
 *   id: 1, response: true, opcode: 0, authoritative: true, truncated: false,
 *   recursionDesired: true, recursionAvailable: true, rcode: 0,
 *   questions: [{ name: "files.test", type: DnsType.A, class: 1 }],
 *   answers: [{ name: "files.test", type: DnsType.A, class: 1, ttl: 60,
 *     data: { kind: "a", address: "192.0.2.1" } }],
 *   authorities: [], additionals: [], edns: null,
 * });
 * parseDnsMessage(reply);
 * ```
 */
export function emitDnsMessage(msg: DnsMessage, options: DnsEmitOptions = {}): Uint8Array {
  const w = new NameWriter(options.compress ?? true);
  const records = msg.answers.length + msg.authorities.length + msg.additionals.length;
  // Generous: uncompressed names and RDATA, plus fixed fields.
  let cap = DNS_HEADER_LENGTH + 11;
  for (const q of msg.questions) cap += NameWriter.size(q.name) + 4;
  for (const s of [msg.answers, msg.authorities, msg.additionals]) {
    for (const r of s) cap += NameWriter.size(r.name) + 10 + rdataSizeBound(r.data);
  }
  const buf = new Uint8Array(cap + records);
  const max = options.maxSize ?? Infinity;
  let at = DNS_HEADER_LENGTH;
  for (const q of msg.questions) {
    at = w.write(buf, at, q.name);
    set16(buf, at, q.type);
    set16(buf, at + 2, q.class);
    at += 4;
  }
  const optLen = msg.edns !== null ? 11 : 0;
  let truncated = msg.truncated;
  const counts = [0, 0, 0];
  const sections = [msg.answers, msg.authorities, msg.additionals];
  outer: for (let s = 0; s < 3; s++) {
    for (const r of sections[s]!) {
      const next = writeRecord(buf, at, r, w);
      if (next + optLen > max) {
        // RFC 2181 §9: set TC only when required data (answers, authority) was cut.
        if (s < 2) truncated = true;
        break outer;
      }
      at = next;
      counts[s]!++;
    }
  }
  let ar = counts[2]!;
  if (msg.edns !== null) {
    const e = msg.edns;
    buf[at] = 0; // root
    set16(buf, at + 1, DnsType.OPT);
    set16(buf, at + 3, e.udpSize);
    set32(
      buf,
      at + 5,
      (((e.extendedRcode & 0xff) << 24) | ((e.version & 0xff) << 16) |
        (e.dnssecOk ? 0x8000 : 0)) >>>
        0,
    );
    set16(buf, at + 9, 0);
    at += 11;
    ar++;
  }
  set16(buf, 0, msg.id);
  const flags = (msg.response ? 0x8000 : 0) | ((msg.opcode & 0xf) << 11) |
    (msg.authoritative ? 0x0400 : 0) | (truncated ? 0x0200 : 0) |
    (msg.recursionDesired ? 0x0100 : 0) | (msg.recursionAvailable ? 0x0080 : 0) |
    (msg.rcode & 0xf);
  set16(buf, 2, flags);
  set16(buf, 4, msg.questions.length);
  set16(buf, 6, counts[0]!);
  set16(buf, 8, counts[1]!);
  set16(buf, 10, ar);
  return buf.slice(0, at);
}

function rdataSizeBound(d: DnsRdata): number {
  switch (d.kind) {
    case "a":
      return 4;
    case "aaaa":
      return 16;
    case "name":
      return NameWriter.size(d.name);
    case "mx":
      return 2 + NameWriter.size(d.exchange);
    case "srv":
      return 6 + NameWriter.size(d.target);
    case "soa":
      return NameWriter.size(d.mname) + NameWriter.size(d.rname) + 20;
    case "txt":
      return d.strings.reduce((n, s) => n + 1 + new TextEncoder().encode(s).length, 0);
    case "raw":
      return d.bytes.length;
  }
}

function writeRecord(buf: Uint8Array, at: number, r: DnsRecord, w: NameWriter): number {
  at = w.write(buf, at, r.name);
  set16(buf, at, r.type);
  set16(buf, at + 2, r.class);
  set32(buf, at + 4, r.ttl >>> 0);
  const rd = at + 10;
  let p = rd;
  const d = r.data;
  switch (d.kind) {
    case "a": {
      const a = tryParseIpv4(d.address);
      if (a === null) throw new TypeError(`A record: "${d.address}" is not an IPv4 address`);
      set32(buf, p, a);
      p += 4;
      break;
    }
    case "aaaa": {
      const b = tryParseIpv6Bytes(d.address);
      if (b === null) throw new TypeError(`AAAA record: "${d.address}" is not an IPv6 address`);
      buf.set(b, p);
      p += 16;
      break;
    }
    case "name":
      p = w.write(buf, p, d.name);
      break;
    case "mx":
      set16(buf, p, d.preference);
      p = w.write(buf, p + 2, d.exchange);
      break;
    case "srv":
      set16(buf, p, d.priority);
      set16(buf, p + 2, d.weight);
      set16(buf, p + 4, d.port);
      // RFC 2782: the target is not compressed.
      p = new NameWriter(false).write(buf, p + 6, d.target);
      break;
    case "soa":
      p = w.write(buf, p, d.mname);
      p = w.write(buf, p, d.rname);
      set32(buf, p, d.serial >>> 0);
      set32(buf, p + 4, d.refresh >>> 0);
      set32(buf, p + 8, d.retry >>> 0);
      set32(buf, p + 12, d.expire >>> 0);
      set32(buf, p + 16, d.minimum >>> 0);
      p += 20;
      break;
    case "txt":
      for (const s of d.strings) {
        const b = new TextEncoder().encode(s);
        if (b.length > 255) throw new TypeError("TXT string over 255 bytes");
        buf[p] = b.length;
        buf.set(b, p + 1);
        p += 1 + b.length;
      }
      break;
    case "raw":
      buf.set(d.bytes, p);
      p += d.bytes.length;
      break;
  }
  set16(buf, at + 8, p - rd);
  return p;
}
