/**
 * Parser for packet scripts in packetdrill notation (a practical subset plus
 * a few extensions for conformance tests). See `script.ts` for the grammar
 * reference. One event per line; a socket call may span lines while its
 * parentheses, brackets or braces are open. `//` and C comments are
 * ignored. Errors name the line and say what was expected.
 *
 * @module
 */
import type {
  Expr,
  IcmpPacketSpec,
  IcmpQuoteSpec,
  IpInfo,
  NumOrAny,
  PacketSpec,
  PortPair,
  Script,
  ScriptEvent,
  SyscallSpec,
  TcpOptionSpec,
  TcpPacketSpec,
  TimeSpec,
  UdpPacketSpec,
} from "./ast.ts";
import { icmpCodeByName, icmpTypeByName } from "./symbols.ts";

/**
 * A script that does not parse: `line` is 1-based.
 *
 * @example
 * ```ts
 * import { parseScript, ScriptSyntaxError } from "./parser.ts";
 * try {
 *   parseScript("0 < Q 0:0(0)");
 * } catch (e) {
 *   e instanceof ScriptSyntaxError && e.line; // 1
 * }
 * ```
 */
export class ScriptSyntaxError extends Error {
  /**
   * A syntax error at script line `line`.
   *
   * @param line 1-based line number
   * @param detail what is wrong
   */
  constructor(readonly line: number, readonly detail: string) {
    super(`line ${line}: ${detail}`);
  }
  /** "ScriptSyntaxError". */
  override get name(): string {
    return "ScriptSyntaxError";
  }
}

/** Options for {@link parseScript}. */
export interface ParseOptions {
  /** Skip backquoted shell command lines (`` `./defaults.sh` ``) instead of rejecting them. */
  readonly ignoreShellCommands?: boolean;
}

/**
 * Flag letters in packetdrill (tcpdump) order with their bits.
 *
 * @example
 * ```ts
 * import { FLAG_LETTERS } from "./parser.ts";
 * FLAG_LETTERS.map(([l]) => l).join(""); // "FSRP.UEW"
 * ```
 */
export const FLAG_LETTERS: readonly (readonly [string, number])[] = [
  ["F", 0x01],
  ["S", 0x02],
  ["R", 0x04],
  ["P", 0x08],
  [".", 0x10],
  ["U", 0x20],
  ["E", 0x40],
  ["W", 0x80],
];

/**
 * Parse a whole script. Throws {@link ScriptSyntaxError} on the first error.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parser.ts";
 * const s = parseScript(`
 *   --tolerance_usecs=1000
 *   0   < S 0:0(0) win 65535 <mss 1460>
 *   +0  > S. 0:0(0) ack 1 <...>
 * `);
 * s.events.length; // 2
 * s.options.tolerance_usecs; // "1000"
 * ```
 */
export function parseScript(text: string, options: ParseOptions = {}): Script {
  const opts: Record<string, string | true> = {};
  const events: ScriptEvent[] = [];
  for (const { line, text: body } of logicalLines(text)) {
    if (body.startsWith("--")) {
      if (events.length > 0) {
        throw new ScriptSyntaxError(line, `option ${body} must come before the first event`);
      }
      const m = /^--([A-Za-z0-9_]+)(?:=(.*))?$/.exec(body);
      if (m === null) throw new ScriptSyntaxError(line, `bad option line "${body}"`);
      opts[m[1]!] = m[2] === undefined ? true : unquote(m[2].trim());
      continue;
    }
    if (body.startsWith("`")) {
      if (options.ignoreShellCommands) continue;
      throw new ScriptSyntaxError(
        line,
        "shell commands (`...`) are not supported: configure the stack through runScript " +
          "options (or pass ignoreShellCommands)",
      );
    }
    events.push(parseEventLine(body, line));
  }
  return { options: opts, events };
}

/**
 * Parse one event line (time + packet or call), e.g. for tools and tests.
 *
 * @example
 * ```ts
 * import { parseEventLine } from "./parser.ts";
 * const e = parseEventLine("+0.1 < . 1:1(0) ack 1 win 257");
 * e.type; // "packet"
 * ```
 */
export function parseEventLine(text: string, line = 1): ScriptEvent {
  const c = new Cursor(text.trim(), line);
  const time = parseTime(c);
  if (c.peek(/^[<>]/)) {
    const direction = c.take(1) as "<" | ">";
    if (time.kind === "sys") {
      c.fail("`...` gives a blocking call's end time; use `~` for a packet time range");
    }
    const packet = parsePacket(c, direction);
    if (direction === "<" && (time.spec.kind === "any" || time.spec.kind.endsWith("Range"))) {
      c.fail("`*` and time ranges are only allowed for outbound (>) packets");
    }
    return { type: "packet", line, time: time.spec, packet };
  }
  if (c.peek(/^[A-Za-z_]\w*\s*\(/)) {
    if (time.spec.kind === "any" || time.spec.kind.endsWith("Range")) {
      c.fail("`*` and time ranges are only allowed for outbound (>) packets");
    }
    const call = parseSyscall(c, time.kind === "sys" ? time.endUs : undefined);
    return { type: "syscall", line, time: time.spec, call };
  }
  if (c.peek(/^%\{/)) c.fail("%{ ... }% Python blocks are not supported");
  if (c.peek(/^`/)) c.fail("shell commands (`...`) are not supported");
  return c.fail(`expected "<", ">" or a socket call after the time, got "${c.rest()}"`);
}

// ---------------------------------------------------------------------------
// Lines and comments

interface LogicalLine {
  readonly line: number;
  readonly text: string;
}

/**
 * Strip comments, then join physical lines while brackets are open (a
 * multi-line call). Python blocks are rejected here, where their line is known.
 */
function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let line = 1;
  let cur = "";
  let curLine = 1;
  let depth = 0;
  let inString = false;
  const flush = () => {
    const t = cur.trim();
    if (t !== "") out.push({ line: curLine, text: t.replace(/\s+/g, " ") });
    cur = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      cur += ch;
      if (ch === "\\" && i + 1 < text.length) cur += text[++i]!;
      else if (ch === '"') inString = false;
      else if (ch === "\n") throw new ScriptSyntaxError(line, "unterminated string");
      continue;
    }
    if (ch === '"') {
      if (cur.trim() === "") curLine = line;
      inString = true;
      cur += ch;
      continue;
    }
    if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      i--;
      continue;
    }
    if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new ScriptSyntaxError(line, "unterminated /* comment");
      for (let j = i; j < end; j++) if (text[j] === "\n") line++;
      i = end + 1;
      cur += " ";
      continue;
    }
    if (ch === "%" && text[i + 1] === "{") {
      throw new ScriptSyntaxError(line, "%{ ... }% Python blocks are not supported");
    }
    if (ch === "\n") {
      line++;
      if (depth > 0) {
        cur += " ";
        continue;
      }
      flush();
      curLine = line;
      continue;
    }
    if (cur.trim() === "" && !/\s/.test(ch)) curLine = line;
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth = Math.max(0, depth - 1);
    cur += ch;
  }
  if (inString) throw new ScriptSyntaxError(line, "unterminated string");
  if (depth > 0) throw new ScriptSyntaxError(curLine, "unclosed bracket at the end of the script");
  flush();
  return out;
}

// ---------------------------------------------------------------------------
// Cursor

class Cursor {
  pos = 0;
  constructor(readonly text: string, readonly line: number) {}

  ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  rest(): string {
    return this.text.slice(this.pos);
  }
  atEnd(): boolean {
    this.ws();
    return this.pos >= this.text.length;
  }
  peek(re: RegExp): RegExpExecArray | null {
    this.ws();
    return re.exec(this.rest());
  }
  /** Consume a match of `re` (anchored with ^) and return it, or null. */
  eat(re: RegExp): RegExpExecArray | null {
    const m = this.peek(re);
    if (m !== null) this.pos += m[0].length;
    return m;
  }
  take(n: number): string {
    const s = this.text.slice(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /** Consume the exact word `w` (followed by a non-word character). */
  word(w: string): boolean {
    return this.eat(new RegExp(`^${w}(?![\\w])`)) !== null;
  }
  expect(re: RegExp, what: string): RegExpExecArray {
    const m = this.eat(re);
    if (m === null) this.fail(`expected ${what}, got "${this.rest() || "end of line"}"`);
    return m;
  }
  fail(detail: string): never {
    throw new ScriptSyntaxError(this.line, detail);
  }
}

// ---------------------------------------------------------------------------
// Time

type ParsedTime =
  | { kind: "plain"; spec: TimeSpec }
  | { kind: "sys"; spec: TimeSpec; endUs: number };

const SECONDS = String.raw`(\d*\.?\d+)`;

function parseTime(c: Cursor): ParsedTime {
  if (c.eat(/^\*(?=\s|$)/)) return { kind: "plain", spec: { kind: "any" } };
  const m = c.eat(
    new RegExp(
      String.raw`^(\+?)${SECONDS}(?:\s*~\s*(\+?)${SECONDS}|\.\.\.(\+?)${SECONDS})?(?=\s|$)`,
    ),
  );
  if (m === null) {
    c.fail(`expected a time (0.100, +0.1, *, 0.1~0.2) at the start of the line`);
  }
  const rel = m[1] === "+";
  const us = secondsToUs(c, m[2]!);
  if (m[4] !== undefined) {
    if ((m[3] === "+") !== rel) {
      c.fail("both ends of a time range must be relative (+) or absolute");
    }
    const endUs = secondsToUs(c, m[4]);
    if (endUs < us) c.fail("time range is backwards");
    return {
      kind: "plain",
      spec: rel ? { kind: "relRange", us, endUs } : { kind: "absRange", us, endUs },
    };
  }
  const spec: TimeSpec = rel ? { kind: "rel", us } : { kind: "abs", us };
  if (m[6] !== undefined) {
    const endUs = secondsToUs(c, m[6]);
    if (endUs < us) c.fail("a blocking call's end time is before its start time");
    return { kind: "sys", spec, endUs };
  }
  return { kind: "plain", spec };
}

function secondsToUs(c: Cursor, s: string): number {
  const [whole = "", frac = ""] = s.split(".");
  if (frac.length > 6) c.fail(`time ${s} is finer than a microsecond`);
  return Number(whole || "0") * 1_000_000 + Number((frac + "000000").slice(0, 6));
}

// ---------------------------------------------------------------------------
// Packets

function parsePacket(c: Cursor, direction: "<" | ">"): PacketSpec {
  const ip = parseIpInfo(c, direction);
  if (c.word("udp")) return parseUdp(c, direction, ip);
  if (c.word("icmp")) return parseIcmp(c, direction, ip);
  return parseTcp(c, direction, ip);
}

function parseIpInfo(c: Cursor, direction: "<" | ">"): IpInfo | undefined {
  const open = c.eat(/^[[(]/);
  if (open === null) return undefined;
  const close = open[0] === "[" ? /^\]/ : /^\)/;
  const info: { ecn?: NonNullable<IpInfo["ecn"]>; tos?: number; ttl?: number } = {};
  for (;;) {
    const ecn = c.eat(/^(noecn|ect01|ect0|ect1|ce)(?!\w)/);
    if (ecn) {
      info.ecn = ecn[1] as NonNullable<IpInfo["ecn"]>;
      if (info.ecn === "ect01" && direction === "<") {
        c.fail("[ect01] means either ECT codepoint and can only be used with outbound packets");
      }
    } else if (c.word("tos")) info.tos = parseUint(c, 0xff, "TOS byte");
    else if (c.word("ttl")) info.ttl = parseUint(c, 0xff, "TTL");
    else c.fail(`expected noecn, ect0, ect1, ce, ect01, tos N or ttl N in IP info`);
    if (c.eat(close)) break;
    c.expect(/^,/, `"," or "${open[0] === "[" ? "]" : ")"}"`);
  }
  return info;
}

function parsePorts(c: Cursor): PortPair | undefined {
  const m = c.eat(/^(\d+)\s*>\s*(\d+)(?!\d)/);
  if (m === null) return undefined;
  const src = Number(m[1]);
  const dst = Number(m[2]);
  if (src > 0xffff || dst > 0xffff) c.fail(`port out of range in ${m[0]}`);
  return { src, dst };
}

function parseTcp(c: Cursor, direction: "<" | ">", ip: IpInfo | undefined): TcpPacketSpec {
  const ports = parsePorts(c);
  const f = c.expect(/^[FSRP.UEW-]+(?=\s|$)/, "TCP flags (S, S., ., P., F., R, -, …)")[0];
  let flags = 0;
  if (f !== "-") {
    for (const ch of f) {
      const bit = FLAG_LETTERS.find(([l]) => l === ch)?.[1];
      if (bit === undefined) c.fail(`"-" (no flags) cannot be combined with other flags`);
      if (flags & bit) c.fail(`flag ${ch} given twice in "${f}"`);
      flags |= bit;
    }
  }
  const s = c.expect(/^(\d+):(\d+)\((\d+)\)/, "a sequence range start:end(length)");
  const seq = checkU32(c, Number(s[1]), "start sequence number");
  const end = checkU32(c, Number(s[2]), "end sequence number");
  const len = Number(s[3]);
  if (len > 0xffff) c.fail(`TCP payload length ${len} is out of range`);
  if (((seq + len) >>> 0) !== end) {
    c.fail(`inconsistent sequence range ${s[0]}: ${seq} + ${len} is not ${end}`);
  }
  let ack: NumOrAny | undefined;
  let win: NumOrAny | undefined;
  let urg: NumOrAny | undefined;
  for (;;) {
    if (c.word("ack")) {
      if (ack !== undefined) c.fail("ack given twice");
      ack = parseNumOrAny(c, direction, 0xffffffff, "ack number");
    } else if (c.word("win")) {
      if (win !== undefined) c.fail("win given twice");
      win = parseNumOrAny(c, direction, 0xffff, "window");
    } else if (c.word("urg")) {
      if (urg !== undefined) c.fail("urg given twice");
      urg = parseNumOrAny(c, direction, 0xffff, "urgent pointer");
    } else break;
  }
  let options: TcpOptionSpec[] | "any" = [];
  if (c.eat(/^</)) {
    if (c.eat(/^\.\.\.\s*>/)) {
      if (direction === "<") c.fail("<...> (any options) can only be used with outbound packets");
      options = "any";
    } else options = parseTcpOptions(c, direction);
  }
  const mods = parseModifiers(c, direction, len);
  return {
    proto: "tcp",
    direction,
    ...(ip ? { ip } : {}),
    ...(ports ? { ports } : {}),
    flags,
    seq,
    len,
    ...(ack !== undefined ? { ack } : {}),
    ...(win !== undefined ? { win } : {}),
    ...(urg !== undefined ? { urg } : {}),
    options,
    ...mods,
  };
}

function parseTcpOptions(c: Cursor, direction: "<" | ">"): TcpOptionSpec[] {
  const list: TcpOptionSpec[] = [];
  for (;;) {
    list.push(parseTcpOption(c, direction));
    if (c.eat(/^>/)) return list;
    c.expect(/^,/, `"," or ">" in the option list`);
  }
}

function parseTcpOption(c: Cursor, direction: "<" | ">"): TcpOptionSpec {
  if (c.word("nop")) return { kind: "nop" };
  if (c.word("eol")) return { kind: "eol" };
  if (c.word("sackOK")) return { kind: "sackOK" };
  if (c.word("mss")) return { kind: "mss", value: parseUint(c, 0xffff, "MSS") };
  if (c.word("wscale")) return { kind: "wscale", value: parseUint(c, 0xff, "window scale") };
  if (c.word("sack")) {
    const blocks: [number, number][] = [];
    for (let m = c.eat(/^(\d+):(\d+)/); m !== null; m = c.eat(/^(\d+):(\d+)/)) {
      blocks.push([
        checkU32(c, Number(m[1]), "SACK left edge"),
        checkU32(c, Number(m[2]), "SACK right edge"),
      ]);
    }
    if (blocks.length === 0) c.fail("sack needs at least one left:right block");
    return { kind: "sack", blocks };
  }
  if (c.word("TS")) {
    c.expect(/^val(?!\w)/, '"val" after TS');
    const val = parseNumOrAny(c, direction, 0xffffffff, "TS val");
    c.expect(/^ecr(?!\w)/, '"ecr" after TS val');
    const ecr = parseNumOrAny(c, direction, 0xffffffff, "TS ecr");
    return { kind: "TS", val, ecr };
  }
  if (c.word("opt")) {
    const code = parseUint(c, 0xff, "option kind");
    let length: number | undefined;
    if (c.word("len")) length = parseUint(c, 0xff, "option length");
    const hex = c.eat(/^0x([0-9a-fA-F]*)/);
    const data = hex ? hexBytes(c, hex[1]!) : null;
    return { kind: "opt", code, length: length ?? 2 + (data?.length ?? 0), data };
  }
  if (c.word("raw")) {
    const hex = c.expect(/^0x([0-9a-fA-F]+)/, "hex bytes (0x0204...) after raw");
    return { kind: "raw", bytes: hexBytes(c, hex[1]!) };
  }
  const w = c.peek(/^\w+/)?.[0] ?? c.rest();
  return c.fail(
    `unknown TCP option "${w}" (supported: nop, eol, mss N, wscale N, sackOK, sack L:R…, ` +
      `TS val N ecr N, opt KIND [len N] [0xHEX], raw 0xHEX)`,
  );
}

function parseUdp(c: Cursor, direction: "<" | ">", ip: IpInfo | undefined): UdpPacketSpec {
  const ports = parsePorts(c);
  const m = c.expect(/^\((\d+)\)/, "the UDP payload length in parentheses, e.g. (10)");
  const len = Number(m[1]);
  if (len > 65507) c.fail(`UDP payload length ${len} is out of range`);
  const mods = parseModifiers(c, direction, len);
  return {
    proto: "udp",
    direction,
    ...(ip ? { ip } : {}),
    ...(ports ? { ports } : {}),
    len,
    ...mods,
  };
}

function parseIcmp(c: Cursor, direction: "<" | ">", ip: IpInfo | undefined): IcmpPacketSpec {
  const tw = c.expect(/^\w+/, "an ICMP type (unreachable, echo_request, type_N, …)")[0];
  const type = icmpTypeByName(tw);
  if (type === undefined) c.fail(`unknown ICMP type "${tw}"`);
  let code = 0;
  const cw = c.peek(/^[a-z_]\w*/)?.[0];
  if (cw !== undefined && cw !== "mtu" && cw !== "id" && cw !== "bad_csum" && cw !== "payload") {
    c.eat(/^\w+/);
    const v = icmpCodeByName(type, cw);
    if (v === undefined) c.fail(`unknown ICMP code "${cw}" for type ${tw}`);
    code = v;
  }
  let mtu: number | undefined;
  let id: number | undefined;
  if (c.word("mtu")) {
    mtu = parseUint(c, 0xffff, "MTU");
    if (type !== 3 || code !== 4) c.fail("mtu is only valid for unreachable frag_needed");
  }
  if (c.word("id")) id = parseUint(c, 0xffff, "echo id");
  let quote: IcmpQuoteSpec | undefined;
  if (c.eat(/^\[/)) {
    if (c.word("udp")) {
      const m = c.expect(/^\((\d+)\)/, "the quoted UDP payload length, e.g. udp (10)");
      quote = { proto: "udp", len: Number(m[1]) };
    } else {
      const s = c.expect(/^(\d+):(\d+)\((\d+)\)/, "a quoted TCP range start:end(length)");
      const seq = checkU32(c, Number(s[1]), "quoted sequence number");
      const len = Number(s[3]);
      if (((seq + len) >>> 0) !== Number(s[2])) c.fail(`inconsistent sequence range ${s[0]}`);
      quote = { proto: "tcp", seq, len };
    }
    c.expect(/^\]/, '"]" after the quoted packet');
  }
  const mods = parseModifiers(c, direction, undefined);
  return {
    proto: "icmp",
    direction,
    ...(ip ? { ip } : {}),
    type,
    code,
    ...(mtu !== undefined ? { mtu } : {}),
    ...(id !== undefined ? { id } : {}),
    ...(quote ? { quote } : {}),
    ...mods,
  };
}

function parseModifiers(
  c: Cursor,
  direction: "<" | ">",
  len: number | undefined,
): { badChecksum?: boolean; payload?: Uint8Array } {
  const out: { badChecksum?: boolean; payload?: Uint8Array } = {};
  while (!c.atEnd()) {
    if (c.word("bad_csum")) {
      if (direction === ">") {
        c.fail("bad_csum is for inbound packets (outbound checksums are always verified)");
      }
      out.badChecksum = true;
    } else if (c.word("payload")) {
      if (len === undefined) c.fail("payload is only valid for TCP and UDP packets");
      const hex = c.eat(/^0x([0-9a-fA-F]*)/);
      const bytes = hex ? hexBytes(c, hex[1]!) : stringBytes(parseString(c));
      if (bytes.length !== len) {
        c.fail(`payload has ${bytes.length} bytes but the packet length is ${len}`);
      }
      out.payload = bytes;
    } else {
      c.fail(`unexpected "${c.rest()}"`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Socket calls

function parseSyscall(c: Cursor, endUs: number | undefined): SyscallSpec {
  const name = c.expect(/^[A-Za-z_]\w*/, "a call name")[0];
  c.expect(/^\(/, '"("');
  const args = parseExprList(c, /^\)/, ")");
  c.expect(/^=/, '"=" and the expected result');
  const r = c.expect(/^(-?)(0x[0-9a-fA-F]+|\d+)/, "an integer result");
  const resultHex = r[2]!.startsWith("0x");
  const result = (r[1] === "-" ? -1 : 1) * Number(r[2]);
  let errno: string | undefined;
  const e = c.eat(/^E[A-Z0-9]+(?!\w)/);
  if (e) {
    if (result !== -1) c.fail(`an errno (${e[0]}) only goes with the result -1`);
    errno = e[0];
  }
  let note: string | undefined;
  if (c.peek(/^\(/)) note = parseNote(c);
  if (!c.atEnd()) c.fail(`unexpected "${c.rest()}" after the result`);
  return {
    name,
    args,
    ...(endUs !== undefined ? { endUs } : {}),
    result,
    ...(resultHex ? { resultHex } : {}),
    ...(errno !== undefined ? { errno } : {}),
    ...(note !== undefined ? { note } : {}),
  };
}

function parseNote(c: Cursor): string {
  c.expect(/^\(/, '"("');
  let depth = 1;
  const start = c.pos;
  while (c.pos < c.text.length) {
    const ch = c.text[c.pos++];
    if (ch === "(") depth++;
    else if (ch === ")" && --depth === 0) return c.text.slice(start, c.pos - 1).trim();
  }
  return c.fail("unclosed ( in the note after the result");
}

function parseExprList(c: Cursor, close: RegExp, closeText: string): Expr[] {
  const items: Expr[] = [];
  if (c.eat(close)) return items;
  for (;;) {
    items.push(parseExpr(c));
    if (c.eat(close)) return items;
    c.expect(/^,/, `"," or "${closeText}"`);
  }
}

function parseExpr(c: Cursor): Expr {
  const first = parseUnary(c);
  if (!c.peek(/^\|/)) return first;
  const items = [first];
  while (c.eat(/^\|/)) items.push(parseUnary(c));
  return { kind: "or", items };
}

function parseUnary(c: Cursor): Expr {
  if (c.eat(/^\.\.\./)) return { kind: "ellipsis" };
  const hex = c.eat(/^0x([0-9a-fA-F]+)/);
  if (hex) return { kind: "int", value: Number.parseInt(hex[1]!, 16), hex: true };
  const n = c.eat(/^-?\d+(?![\w.])/);
  if (n) return { kind: "int", value: Number(n[0]), hex: false };
  if (c.peek(/^"/)) return { kind: "string", value: parseString(c) };
  if (c.eat(/^\[/)) return { kind: "list", items: parseExprList(c, /^\]/, "]") };
  if (c.eat(/^\{/)) return { kind: "struct", items: parseExprList(c, /^\}/, "}") };
  const w = c.eat(/^[A-Za-z_]\w*/);
  if (w) {
    if (c.eat(/^=/)) return { kind: "assign", name: w[0], value: parseExpr(c) };
    if (c.eat(/^\(/)) return { kind: "call", name: w[0], args: parseExprList(c, /^\)/, ")") };
    return { kind: "word", name: w[0] };
  }
  return c.fail(
    `expected an argument (..., a number, a symbol, [..], {..}, "..."), got "${c.rest()}"`,
  );
}

// ---------------------------------------------------------------------------
// Small pieces

function parseUint(c: Cursor, max: number, what: string): number {
  const m = c.expect(/^(0x[0-9a-fA-F]+|\d+)(?![\w.])/, `a number (${what})`);
  const v = Number(m[1]);
  if (v > max) c.fail(`${what} ${v} is out of range (max ${max})`);
  return v;
}

function parseNumOrAny(c: Cursor, direction: "<" | ">", max: number, what: string): NumOrAny {
  if (c.eat(/^\*(?=[\s,>]|$)/)) {
    if (direction === "<") c.fail(`"*" (any ${what}) is only allowed in expectations (>)`);
    return "*";
  }
  return parseUint(c, max, what);
}

function checkU32(c: Cursor, v: number, what: string): number {
  if (v > 0xffffffff) c.fail(`${what} ${v} is out of the 32-bit range`);
  return v;
}

function hexBytes(c: Cursor, hex: string): Uint8Array {
  if (hex.length % 2 !== 0) c.fail(`hex bytes 0x${hex} have an odd number of digits`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function parseString(c: Cursor): string {
  const m = c.expect(/^"((?:\\.|[^"\\])*)"/, "a quoted string");
  return unescape(c, m[1]!);
}

function unescape(c: Cursor, s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
    if (e[0] === "x" && e.length === 3) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    const map: Record<string, string> = {
      n: "\n",
      r: "\r",
      t: "\t",
      "0": "\0",
      "\\": "\\",
      '"': '"',
    };
    const v = map[e];
    if (v === undefined) c.fail(`unknown escape \\${e} in a string`);
    return v;
  });
}

/** Bytes of a payload string: `\xNN` escapes and Latin-1 characters are one byte each, the rest UTF-8. */
function stringBytes(s: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code <= 0xff) out.push(code);
    else out.push(...enc.encode(ch));
  }
  return new Uint8Array(out);
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}
