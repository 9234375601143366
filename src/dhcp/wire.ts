/**
 * DHCP messages (RFC 2131 §2, the BOOTP format of RFC 951 with the options
 * of RFC 2132): the fixed 236-byte header, the magic cookie and the options,
 * including option overload into `file`/`sname` (RFC 2132 §9.3) and the
 * domain search list (RFC 3397, DNS names with compression).
 *
 * {@link parseDhcp} never throws: a short message, a missing cookie or an
 * option running past the end is a drop reason. {@link emitDhcp} writes a
 * message from a plain representation.
 *
 * @module
 */
import { type Ipv4Address, type MacAddress, readMac, writeMac } from "../wire/addr.ts";
import { get16, get32, set16, set32 } from "../wire/bytes.ts";
import { readName } from "../dns/name.ts";

/** UDP ports (RFC 2131 §4.1). */
export const DHCP_SERVER_PORT = 67;
/** UDP port of clients. */
export const DHCP_CLIENT_PORT = 68;
/** Fixed part before the options. */
export const DHCP_FIXED_LENGTH = 236;
/** RFC 2131 §3: 99.130.83.99. */
export const DHCP_MAGIC = 0x63825363;
/** Smallest BOOTP message a relay must handle (RFC 1542 §2.1); we pad to it. */
export const DHCP_MIN_LENGTH = 300;

/**
 * DHCP message types (option 53, RFC 2132 §9.6).
 *
 * @example
 * ```ts
 * import { DhcpMessageType } from "./wire.ts";
 * DhcpMessageType.ACK; // 5
 * ```
 */
export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/**
 * Option codes used here (RFC 2132, RFC 3397).
 *
 * @example
 * ```ts
 * import { DhcpOption } from "./wire.ts";
 * DhcpOption.ROUTER; // 3
 * ```
 */
export const DhcpOption = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOST_NAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26,
  BROADCAST: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  DOMAIN_SEARCH: 119,
  END: 255,
} as const;

/**
 * Every reason {@link parseDhcp} can drop a message for.
 *
 * @example
 * ```ts
 * import { DHCP_DROP_REASONS } from "./wire.ts";
 * DHCP_DROP_REASONS.includes("dhcp.bad_cookie"); // true
 * ```
 */
export const DHCP_DROP_REASONS = [
  /** Shorter than the fixed part plus the cookie. */
  "dhcp.truncated",
  /** Not the magic cookie (a plain BOOTP message). */
  "dhcp.bad_cookie",
  /** An option's length runs past the end, or no END. */
  "dhcp.bad_option",
  /** op is not 1 or 2, or htype/hlen is not Ethernet. */
  "dhcp.bad_header",
] as const;
/**
 * Why a DHCP message was dropped.
 *
 * @example
 * ```ts
 * import type { DhcpDropReason } from "./wire.ts";
 * const why: DhcpDropReason = "dhcp.bad_option";
 * ```
 */
export type DhcpDropReason = typeof DHCP_DROP_REASONS[number];

/** A DHCP message: the header fields and the options by code (raw bytes). */
export interface DhcpRepr {
  /** 1 BOOTREQUEST, 2 BOOTREPLY. */
  readonly op: 1 | 2;
  /** Transaction ID, chosen by the client and echoed by the server. */
  readonly xid: number;
  /** Seconds since the client began the exchange. */
  readonly secs: number;
  /** The broadcast flag (RFC 2131 §4.1: answer to 255.255.255.255). */
  readonly broadcast: boolean;
  /** Client address (a bound client renewing), else 0.0.0.0. */
  readonly ciaddr: Ipv4Address;
  /** "Your" address: the address offered or assigned. */
  readonly yiaddr: Ipv4Address;
  /** Next server address (BOOTP), usually 0.0.0.0. */
  readonly siaddr: Ipv4Address;
  /** Relay agent address, 0.0.0.0 without a relay. */
  readonly giaddr: Ipv4Address;
  /** Client hardware (Ethernet) address. */
  readonly chaddr: MacAddress;
  /** Options by code; concatenated when split (RFC 3396). */
  readonly options: ReadonlyMap<number, Uint8Array>;
}

/**
 * Parse a DHCP message (the UDP payload). Never throws.
 *
 * @example
 * ```ts
 * import { emitDhcp, parseDhcp, DhcpOption } from "./wire.ts";
 * const bytes = emitDhcp({ op: 1, xid: 7, secs: 0, broadcast: true, ciaddr: 0, yiaddr: 0,
 *   siaddr: 0, giaddr: 0, chaddr: 0x020000000001, options: new Map([[DhcpOption.MESSAGE_TYPE, Uint8Array.of(1)]]) });
 * const m = parseDhcp(bytes);
 * ```
 */
export function parseDhcp(u8: Uint8Array): DhcpRepr | DhcpDropReason {
  if (u8.length < DHCP_FIXED_LENGTH + 4) return "dhcp.truncated";
  const op = u8[0]!;
  if ((op !== 1 && op !== 2) || u8[1] !== 1 || u8[2] !== 6) return "dhcp.bad_header";
  if (get32(u8, DHCP_FIXED_LENGTH) !== DHCP_MAGIC) return "dhcp.bad_cookie";
  const options = new Map<number, Uint8Array>();
  const main = readOptions(u8, DHCP_FIXED_LENGTH + 4, u8.length, options, true);
  if (main === null) return "dhcp.bad_option";
  // RFC 2132 §9.3: option overload continues the options in file (1), sname (2) or both (3).
  const overload = options.get(DhcpOption.OVERLOAD)?.[0] ?? 0;
  if ((overload & 1) !== 0 && readOptions(u8, 108, 236, options, false) === null) {
    return "dhcp.bad_option";
  }
  if ((overload & 2) !== 0 && readOptions(u8, 44, 108, options, false) === null) {
    return "dhcp.bad_option";
  }
  return {
    op,
    xid: get32(u8, 4),
    secs: get16(u8, 8),
    broadcast: (get16(u8, 10) & 0x8000) !== 0,
    ciaddr: get32(u8, 12),
    yiaddr: get32(u8, 16),
    siaddr: get32(u8, 20),
    giaddr: get32(u8, 24),
    chaddr: readMac(u8, 28),
    options,
  };
}

/** Read options in `u8[from … to)`; concatenates repeats (RFC 3396). Null when malformed. */
function readOptions(
  u8: Uint8Array,
  from: number,
  to: number,
  into: Map<number, Uint8Array>,
  needEnd: boolean,
): true | null {
  let at = from;
  while (at < to) {
    const code = u8[at]!;
    if (code === DhcpOption.PAD) {
      at++;
      continue;
    }
    if (code === DhcpOption.END) return true;
    if (at + 1 >= to) return null;
    const len = u8[at + 1]!;
    if (at + 2 + len > to) return null;
    const value = u8.subarray(at + 2, at + 2 + len);
    const prev = into.get(code);
    if (prev === undefined) into.set(code, value.slice());
    else {
      const joined = new Uint8Array(prev.length + len);
      joined.set(prev);
      joined.set(value, prev.length);
      into.set(code, joined);
    }
    at += 2 + len;
  }
  // RFC 2131 §4.1: the options field ends with END; sname/file may just end.
  return needEnd ? null : true;
}

/**
 * Write a DHCP message, padded to {@link DHCP_MIN_LENGTH}. Option values over
 * 255 bytes are split (RFC 3396).
 *
 * @example
 * ```ts
 * import { DhcpOption, emitDhcp } from "./wire.ts";
 * const discover = emitDhcp({ op: 1, xid: 1, secs: 0, broadcast: true, ciaddr: 0, yiaddr: 0,
 *   siaddr: 0, giaddr: 0, chaddr: 0x020000000001,
 *   options: new Map([[DhcpOption.MESSAGE_TYPE, Uint8Array.of(1)]]) });
 * discover.length; // 300
 * ```
 */
export function emitDhcp(m: DhcpRepr): Uint8Array {
  let optLen = 1; // END
  for (const v of m.options.values()) {
    optLen += Math.max(1, Math.ceil(v.length / 255)) * 2 + v.length;
  }
  const len = Math.max(DHCP_MIN_LENGTH, DHCP_FIXED_LENGTH + 4 + optLen);
  const u8 = new Uint8Array(len);
  u8[0] = m.op;
  u8[1] = 1; // Ethernet
  u8[2] = 6;
  u8[3] = 0;
  set32(u8, 4, m.xid >>> 0);
  set16(u8, 8, m.secs);
  set16(u8, 10, m.broadcast ? 0x8000 : 0);
  set32(u8, 12, m.ciaddr >>> 0);
  set32(u8, 16, m.yiaddr >>> 0);
  set32(u8, 20, m.siaddr >>> 0);
  set32(u8, 24, m.giaddr >>> 0);
  writeMac(u8, 28, m.chaddr);
  set32(u8, DHCP_FIXED_LENGTH, DHCP_MAGIC);
  let at = DHCP_FIXED_LENGTH + 4;
  for (const [code, v] of m.options) {
    let off = 0;
    do {
      const n = Math.min(255, v.length - off);
      u8[at] = code;
      u8[at + 1] = n;
      u8.set(v.subarray(off, off + n), at + 2);
      at += 2 + n;
      off += n;
    } while (off < v.length);
  }
  u8[at] = DhcpOption.END;
  return u8;
}

/** An option's value as one IPv4 address, or null if absent or malformed. */
export function optAddress(m: DhcpRepr, code: number): Ipv4Address | null {
  const v = m.options.get(code);
  return v !== undefined && v.length === 4 ? get32(v, 0) : null;
}

/** An option's value as a list of IPv4 addresses (length a multiple of 4), or []. */
export function optAddresses(m: DhcpRepr, code: number): Ipv4Address[] {
  const v = m.options.get(code);
  if (v === undefined || v.length === 0 || v.length % 4 !== 0) return [];
  const out: Ipv4Address[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(get32(v, i));
  return out;
}

/** A 32-bit option (lease time, T1, T2), or null. */
export function optU32(m: DhcpRepr, code: number): number | null {
  const v = m.options.get(code);
  return v !== undefined && v.length === 4 ? get32(v, 0) : null;
}

/** A 16-bit option (MTU), or null. */
export function optU16(m: DhcpRepr, code: number): number | null {
  const v = m.options.get(code);
  return v !== undefined && v.length === 2 ? get16(v, 0) : null;
}

/** The message type (option 53), or null. */
export function messageType(m: DhcpRepr): number | null {
  const v = m.options.get(DhcpOption.MESSAGE_TYPE);
  return v !== undefined && v.length === 1 ? v[0]! : null;
}

/** A text option (domain name, host name), printable ASCII only, or null. */
export function optText(m: DhcpRepr, code: number): string | null {
  const v = m.options.get(code);
  if (v === undefined || v.length === 0) return null;
  let s = "";
  for (const b of v) {
    if (b === 0) break; // some servers NUL-terminate
    if (b < 0x21 || b > 0x7e) return null;
    s += String.fromCharCode(b);
  }
  return s === "" ? null : s;
}

/**
 * The domain search list (option 119, RFC 3397 §2): DNS names in wire form,
 * compressed against each other. Malformed lists read as [].
 *
 * @example
 * ```ts
 * import { decodeSearchList } from "./wire.ts";
 * decodeSearchList(Uint8Array.of(4, 0x74, 0x65, 0x73, 0x74, 0)); // ["test"]
 * ```
 */
export function decodeSearchList(v: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < v.length;) {
    const n = readName(v, at, v.length);
    if (typeof n === "string") return [];
    if (n.name !== "") out.push(n.name);
    at = n.end;
  }
  return out;
}

/** Bytes of `values` as an option value of IPv4 addresses. */
export function addressesValue(values: readonly Ipv4Address[]): Uint8Array {
  const v = new Uint8Array(values.length * 4);
  values.forEach((a, i) => set32(v, i * 4, a >>> 0));
  return v;
}

/** A 32-bit option value. */
export function u32Value(n: number): Uint8Array {
  const v = new Uint8Array(4);
  set32(v, 0, n >>> 0);
  return v;
}

/** A 16-bit option value. */
export function u16Value(n: number): Uint8Array {
  const v = new Uint8Array(2);
  set16(v, 0, n);
  return v;
}
