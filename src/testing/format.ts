/**
 * Print script events and packets the way scripts write them, so a failure
 * message shows the expected line and the packet the stack actually sent
 * side by side, in the same notation. Formatting a parsed line gives its
 * canonical spelling (`0.100` → `0.1`); parsing that again gives the same
 * event.
 *
 * @module
 */
import type {
  Expr,
  IcmpPacketSpec,
  IpInfo,
  NumOrAny,
  PacketSpec,
  ScriptEvent,
  SyscallSpec,
  TcpOptionSpec,
  TcpPacketSpec,
  TimeSpec,
} from "./ast.ts";
import { FLAG_LETTERS } from "./parser.ts";
import { icmpCodeName, icmpTypeName } from "./symbols.ts";

/**
 * Seconds as scripts write them, shortest exact form: 100000 µs → `0.1`.
 *
 * @example
 * ```ts
 * import { formatSeconds } from "./format.ts";
 * formatSeconds(100_000); // "0.1"
 * formatSeconds(2_000_000); // "2"
 * ```
 */
export function formatSeconds(us: number): string {
  const whole = Math.floor(us / 1_000_000);
  const frac = String(us % 1_000_000).padStart(6, "0").replace(/0+$/, "");
  return frac === "" ? String(whole) : `${whole}.${frac}`;
}

/**
 * A time for messages: seconds with at least three decimals (`0.200`),
 * more when the time has sub-millisecond parts.
 *
 * @example
 * ```ts
 * import { formatInstant } from "./format.ts";
 * formatInstant(200_000); // "0.200"
 * formatInstant(200_500); // "0.2005"
 * ```
 */
export function formatInstant(us: number): string {
  if (!Number.isFinite(us)) return us > 0 ? "∞" : "-∞";
  const sign = us < 0 ? "-" : "";
  const a = Math.abs(Math.round(us));
  const whole = Math.floor(a / 1_000_000);
  let frac = String(a % 1_000_000).padStart(6, "0");
  while (frac.length > 3 && frac.endsWith("0")) frac = frac.slice(0, -1);
  return `${sign}${whole}.${frac}`;
}

/**
 * The time prefix of a line.
 *
 * @example
 * ```ts
 * import { formatTime } from "./format.ts";
 * formatTime({ kind: "relRange", us: 100_000, endUs: 200_000 }); // "+0.1~+0.2"
 * ```
 */
export function formatTime(t: TimeSpec): string {
  switch (t.kind) {
    case "abs":
      return formatSeconds(t.us);
    case "rel":
      return `+${formatSeconds(t.us)}`;
    case "any":
      return "*";
    case "absRange":
      return `${formatSeconds(t.us)}~${formatSeconds(t.endUs)}`;
    case "relRange":
      return `+${formatSeconds(t.us)}~+${formatSeconds(t.endUs)}`;
  }
}

/**
 * A whole event line in canonical form.
 *
 * @example
 * ```ts
 * import { formatEvent } from "./format.ts";
 * import { parseEventLine } from "./parser.ts";
 * formatEvent(parseEventLine("0.100 < S 0:0(0) win 65535 <mss 1460>"));
 * // "0.1 < S 0:0(0) win 65535 <mss 1460>"
 * ```
 */
export function formatEvent(e: ScriptEvent): string {
  if (e.type === "packet") return `${formatTime(e.time)} ${formatPacket(e.packet)}`;
  const c = e.call;
  const time = c.endUs !== undefined
    ? `${formatTime(e.time)}...${formatSeconds(c.endUs)}`
    : formatTime(e.time);
  return `${time} ${formatSyscall(c)}`;
}

/**
 * A packet line without its time: `< S 0:0(0) win 65535 <mss 1460>`.
 *
 * @example
 * ```ts
 * import { formatPacket } from "./format.ts";
 * formatPacket({ proto: "udp", direction: ">", len: 10 }); // "> udp (10)"
 * ```
 */
export function formatPacket(p: PacketSpec): string {
  const parts: string[] = [p.direction];
  if (p.ip) parts.push(formatIpInfo(p.ip));
  switch (p.proto) {
    case "tcp":
      parts.push(formatTcpBody(p));
      break;
    case "udp":
      parts.push("udp");
      if (p.ports) parts.push(`${p.ports.src}>${p.ports.dst}`);
      parts.push(`(${p.len})`);
      break;
    case "icmp":
      parts.push(formatIcmpBody(p));
      break;
  }
  if (p.payload) parts.push(`payload ${formatPayload(p.payload)}`);
  if (p.badChecksum) parts.push("bad_csum");
  return parts.join(" ");
}

function formatIpInfo(ip: IpInfo): string {
  const items: string[] = [];
  if (ip.ecn) items.push(ip.ecn);
  if (ip.tos !== undefined) items.push(`tos 0x${ip.tos.toString(16).padStart(2, "0")}`);
  if (ip.ttl !== undefined) items.push(`ttl ${ip.ttl}`);
  return `[${items.join(",")}]`;
}

/**
 * TCP flags as letters in packetdrill order (`FSRP.UEW`), `-` for none.
 *
 * @example
 * ```ts
 * import { formatFlags } from "./format.ts";
 * formatFlags(0x12); // "S."
 * formatFlags(0x19); // "FP."
 * ```
 */
export function formatFlags(flags: number): string {
  let s = "";
  for (const [letter, bit] of FLAG_LETTERS) if (flags & bit) s += letter;
  return s === "" ? "-" : s;
}

function num(v: NumOrAny): string {
  return v === "*" ? "*" : String(v);
}

function formatTcpBody(p: TcpPacketSpec): string {
  const parts: string[] = [];
  if (p.ports) parts.push(`${p.ports.src}>${p.ports.dst}`);
  parts.push(formatFlags(p.flags));
  parts.push(`${p.seq}:${(p.seq + p.len) >>> 0}(${p.len})`);
  if (p.ack !== undefined) parts.push(`ack ${num(p.ack)}`);
  if (p.win !== undefined) parts.push(`win ${num(p.win)}`);
  if (p.urg !== undefined) parts.push(`urg ${num(p.urg)}`);
  if (p.options === "any") parts.push("<...>");
  else if (p.options.length > 0) parts.push(`<${p.options.map(formatTcpOption).join(",")}>`);
  return parts.join(" ");
}

/**
 * One TCP option in script notation.
 *
 * @example
 * ```ts
 * import { formatTcpOption } from "./format.ts";
 * formatTcpOption({ kind: "TS", val: 100, ecr: 0 }); // "TS val 100 ecr 0"
 * formatTcpOption({ kind: "opt", code: 2, length: 0, data: null }); // "opt 2 len 0"
 * ```
 */
export function formatTcpOption(o: TcpOptionSpec): string {
  switch (o.kind) {
    case "nop":
    case "eol":
    case "sackOK":
      return o.kind;
    case "mss":
      return `mss ${o.value}`;
    case "wscale":
      return `wscale ${o.value}`;
    case "sack":
      return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(" ")}`;
    case "TS":
      return `TS val ${num(o.val)} ecr ${num(o.ecr)}`;
    case "opt": {
      const zeros = o.data === null;
      return zeros
        ? `opt ${o.code} len ${o.length}`
        : `opt ${o.code} len ${o.length} ${hex(o.data)}`;
    }
    case "raw":
      return `raw ${hex(o.bytes)}`;
  }
}

function formatIcmpBody(p: IcmpPacketSpec): string {
  const parts = ["icmp", icmpTypeName(p.type)];
  const code = icmpCodeName(p.type, p.code);
  if (code !== "") parts.push(code);
  if (p.mtu !== undefined) parts.push(`mtu ${p.mtu}`);
  if (p.id !== undefined) parts.push(`id ${p.id}`);
  if (p.quote) {
    parts.push(
      p.quote.proto === "udp"
        ? `[udp (${p.quote.len})]`
        : `[${p.quote.seq}:${(p.quote.seq + p.quote.len) >>> 0}(${p.quote.len})]`,
    );
  }
  return parts.join(" ");
}

/**
 * A socket call with its expected result.
 *
 * @example
 * ```ts
 * import { formatSyscall } from "./format.ts";
 * formatSyscall({ name: "connect", args: [{ kind: "int", value: 3, hex: false },
 *   { kind: "ellipsis" }, { kind: "ellipsis" }], result: -1, errno: "EINPROGRESS",
 *   note: "Operation now in progress" });
 * // "connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)"
 * ```
 */
export function formatSyscall(c: SyscallSpec): string {
  const result = c.resultHex ? `0x${c.result.toString(16)}` : String(c.result);
  let s = `${c.name}(${c.args.map(formatExpr).join(", ")}) = ${result}`;
  if (c.errno !== undefined) s += ` ${c.errno}`;
  if (c.note !== undefined) s += ` (${c.note})`;
  return s;
}

/**
 * A call argument.
 *
 * @example
 * ```ts
 * import { formatExpr } from "./format.ts";
 * formatExpr({ kind: "list", items: [{ kind: "int", value: 1, hex: false }] }); // "[1]"
 * ```
 */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case "ellipsis":
      return "...";
    case "int":
      return e.hex ? `0x${e.value.toString(16)}` : String(e.value);
    case "word":
      return e.name;
    case "string":
      return JSON.stringify(e.value);
    case "list":
      return `[${e.items.map(formatExpr).join(", ")}]`;
    case "struct":
      return `{${e.items.map(formatExpr).join(", ")}}`;
    case "or":
      return e.items.map(formatExpr).join("|");
    case "assign":
      return `${e.name}=${formatExpr(e.value)}`;
    case "call":
      return `${e.name}(${e.args.map(formatExpr).join(", ")})`;
  }
}

function hex(bytes: Uint8Array): string {
  let s = "0x";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function formatPayload(bytes: Uint8Array): string {
  // Printable ASCII reads better as a string; anything else as hex, so the
  // text parses back to the same bytes.
  for (const b of bytes) if (b < 0x20 || b > 0x7e || b === 0x22 || b === 0x5c) return hex(bytes);
  return JSON.stringify(String.fromCharCode(...bytes));
}
