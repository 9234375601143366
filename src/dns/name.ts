/**
 * Domain names (RFC 1035 §2.3, §3.1, §4.1.4): presentation text ↔ labels,
 * wire form with message compression, and the case-insensitive comparison
 * DNS uses (RFC 4343: ASCII letters only).
 *
 * Text form here is the presentation form without the trailing dot of the
 * root: `"files.test"`; the root itself is `""`. A label byte that is a dot,
 * a backslash or not printable is written `\.`, `\\` or `\DDD`, so every wire
 * name has exactly one text form and back.
 *
 * Reading a name from a received message never throws: a pointer that does
 * not point strictly backwards (which is what makes a loop impossible), a
 * reserved label type, a name over 255 bytes or a read past the end is a drop
 * reason.
 *
 * @module
 */

/** Longest name on the wire, length octets included (RFC 1035 §2.3.4). */
export const MAX_NAME_WIRE = 255;
/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL = 63;
/**
 * Most compression pointers followed in one name. Backward-only pointers
 * already rule out loops; this bounds the work a hostile message can cause
 * (a name is at most 127 labels, each could be reached by a pointer).
 */
export const MAX_POINTERS = 127;

/**
 * Every reason reading a name can fail.
 *
 * @example
 * ```ts
 * import { DNS_NAME_DROP_REASONS } from "./name.ts";
 * DNS_NAME_DROP_REASONS.includes("dns.pointer_loop"); // true
 * ```
 */
export const DNS_NAME_DROP_REASONS = [
  /** The name runs past the end of the message. */
  "dns.name_overrun",
  /** A compression pointer to itself or forwards (what a loop needs). */
  "dns.pointer_loop",
  /** More than {@link MAX_POINTERS} pointers. */
  "dns.too_many_pointers",
  /** Label type 01 or 10 (RFC 6891 §5: extended labels are deprecated). */
  "dns.bad_label_type",
  /** Over 255 bytes. */
  "dns.name_too_long",
] as const;
/**
 * Why a name could not be read.
 *
 * @example
 * ```ts
 * import type { DnsNameDropReason } from "./name.ts";
 * const why: DnsNameDropReason = "dns.name_overrun";
 * ```
 */
export type DnsNameDropReason = typeof DNS_NAME_DROP_REASONS[number];

/** A name read from a message: its text and where the bytes after it start. */
export interface ReadName {
  readonly name: string;
  /** Offset just after the name's bytes at the place it was read (not after a pointer's target). */
  readonly end: number;
}

/**
 * Read a (possibly compressed) name at `offset` of a message that spans
 * `u8[0 … length)`. Never throws.
 *
 * @example
 * ```ts
 * import { readName } from "./name.ts";
 * const msg = new Uint8Array([1, 97, 0, 0xc0, 0]); // "a", then a pointer to it
 * readName(msg, 3, msg.length); // { name: "a", end: 5 }
 * ```
 */
export function readName(
  u8: Uint8Array,
  offset: number,
  length: number,
): ReadName | DnsNameDropReason {
  let at = offset;
  let end = -1;
  let wire = 1; // the root's length octet
  let pointers = 0;
  // Pointers must go strictly below where the current run of labels began.
  let floor = offset;
  let text = "";
  for (;;) {
    if (at >= length) return "dns.name_overrun";
    const len = u8[at]!;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (at + 1 >= length) return "dns.name_overrun";
      const target = ((len & 0x3f) << 8) | u8[at + 1]!;
      if (end < 0) end = at + 2;
      // RFC 1035 §4.1.4: a pointer names a prior occurrence; one that does not
      // go back is either junk or a loop.
      if (target >= floor) return "dns.pointer_loop";
      if (++pointers > MAX_POINTERS) return "dns.too_many_pointers";
      at = target;
      floor = target;
      continue;
    }
    if (kind !== 0) return "dns.bad_label_type";
    if (len === 0) {
      if (end < 0) end = at + 1;
      return { name: text, end };
    }
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) return "dns.name_too_long";
    if (at + 1 + len > length) return "dns.name_overrun";
    if (text.length > 0) text += ".";
    text += labelText(u8, at + 1, len);
    at += 1 + len;
  }
}

/** One label's presentation text (RFC 1035 §5.1 escapes). */
function labelText(u8: Uint8Array, at: number, len: number): string {
  let s = "";
  for (let i = at; i < at + len; i++) {
    const b = u8[i]!;
    if (b === 0x2e || b === 0x5c) s += "\\" + String.fromCharCode(b);
    else if (b > 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += "\\" + String(b).padStart(3, "0");
  }
  return s;
}

/**
 * The labels of a name in presentation form (`"a.b."`, `"a.b"` and
 * `"A\.b.c"` all work; `""` and `"."` are the root). Throws `TypeError` for an
 * empty label, a label over 63 bytes, a name over 255 bytes or a bad escape.
 *
 * @example
 * ```ts
 * import { nameToLabels } from "./name.ts";
 * nameToLabels("files.test.").length; // 2
 * ```
 */
export function nameToLabels(name: string): Uint8Array[] {
  if (name === "" || name === ".") return [];
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let wire = 1;
  const finish = () => {
    if (cur.length === 0) throw new TypeError(`DNS name "${name}" has an empty label`);
    if (cur.length > MAX_LABEL) {
      throw new TypeError(`DNS name "${name}" has a label over ${MAX_LABEL} bytes`);
    }
    wire += cur.length + 1;
    labels.push(Uint8Array.from(cur));
    cur = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      finish();
      continue;
    }
    if (c === 0x5c) {
      const d = /^\d{3}/.exec(name.slice(i + 1, i + 4));
      if (d !== null) {
        const v = Number(d[0]);
        if (v > 255) throw new TypeError(`DNS name "${name}": escape \\${d[0]} is over 255`);
        cur.push(v);
        i += 3;
      } else if (i + 1 < name.length) {
        cur.push(name.charCodeAt(++i) & 0xff);
      } else {
        throw new TypeError(`DNS name "${name}" ends with a lone backslash`);
      }
      continue;
    }
    if (c > 0x7e || c < 0x21) {
      throw new TypeError(
        `DNS name "${name}" has character ${JSON.stringify(name[i])}: use ASCII (IDNA) or \\DDD`,
      );
    }
    cur.push(c);
  }
  if (cur.length > 0) finish(); // a trailing dot leaves nothing pending
  if (wire > MAX_NAME_WIRE) throw new TypeError(`DNS name "${name}" is over 255 bytes`);
  return labels;
}

/**
 * Canonical text form for comparisons and cache keys: ASCII letters lowered
 * (RFC 4343 §3), no trailing dot.
 *
 * @example
 * ```ts
 * import { canonicalName } from "./name.ts";
 * canonicalName("Files.TEST."); // "files.test"
 * ```
 */
export function canonicalName(name: string): string {
  let n = name.endsWith(".") && !name.endsWith("\\.") ? name.slice(0, -1) : name;
  n = n.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return n;
}

/**
 * True when two names are the same (RFC 4343: case-insensitive for ASCII).
 *
 * @example
 * ```ts
 * import { sameName } from "./name.ts";
 * sameName("Files.Test", "files.test."); // true
 * ```
 */
export function sameName(a: string, b: string): boolean {
  return canonicalName(a) === canonicalName(b);
}

/**
 * Writes names into a message being built, compressing against names
 * already written (RFC 1035 §4.1.4).
 *
 * @example
 * ```ts
 * import { NameWriter } from "./name.ts";
 * const buf = new Uint8Array(64);
 * const w = new NameWriter(true);
 * let at = w.write(buf, 0, "a.test");
 * at = w.write(buf, at, "b.a.test"); // "b" + a pointer to "a.test"
 * ```
 */
export class NameWriter {
  readonly #compress: boolean;
  readonly #seen = new Map<string, number>();

  constructor(compress: boolean) {
    this.#compress = compress;
  }

  /** Bytes `name` takes at most (uncompressed). */
  static size(name: string): number {
    let n = 1;
    for (const l of nameToLabels(name)) n += l.length + 1;
    return n;
  }

  /** Write `name` at `at`; returns the offset after it. `buf` must be large enough. */
  write(buf: Uint8Array, at: number, name: string): number {
    const labels = nameToLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = suffixKey(labels, i);
      if (this.#compress) {
        const ptr = this.#seen.get(key);
        if (ptr !== undefined) {
          buf[at] = 0xc0 | (ptr >> 8);
          buf[at + 1] = ptr & 0xff;
          return at + 2;
        }
        if (at < 0x4000) this.#seen.set(key, at);
      }
      const l = labels[i]!;
      buf[at] = l.length;
      buf.set(l, at + 1);
      at += 1 + l.length;
    }
    buf[at] = 0;
    return at + 1;
  }
}

function suffixKey(labels: readonly Uint8Array[], from: number): string {
  let s = "";
  for (let i = from; i < labels.length; i++) {
    for (const b of labels[i]!) s += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b + 32 : b);
    s += "\u0100"; // not a byte: separates labels unambiguously
  }
  return s;
}
