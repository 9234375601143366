/**
 * Scripted packet tests in packetdrill notation, run in-process on virtual
 * time (the scripts under tests/testing/scripts/ and tests/tcp/ use it).
 *
 * ```text
 * --tolerance_usecs=0                      // header options come first
 * 0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
 * +0    bind(3, ..., ...) = 0
 * +0    listen(3, 1) = 0
 * +0    < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
 * +0    > S. 0:0(0) ack 1 <...>
 * +.1   < . 1:1(0) ack 1 win 257
 * +0    accept(3, ..., ...) = 4
 * ```
 *
 * ## Grammar (one event per line; `//` and C comments ignored)
 *
 * Time (seconds, µs precision): `0.1` absolute; `+0.1` after the previous
 * event's actual time; `*` any time (outbound only); `0.1~0.2` or
 * `+0~+0.2` a range (outbound only); `+0...0.2 call(...)` a blocking call
 * started at `+0` that must return at 0.2 (the end has the same base as the
 * start). Timers due at an event's time fire before it.
 *
 * Packets, `<` injected by the scripted peer, `>` expected from the stack:
 * - TCP: `DIR [ip] [SRC>DST] FLAGS START:END(LEN) [ack N] [win N] [urg N] [<OPTIONS>] [payload X] [bad_csum]`.
 *   FLAGS: letters `F S R P . U E W` (`.` = ACK, E = ECE, W = CWR) in any
 *   order, or `-` for none; printed in packetdrill order (`FP.`, `S.E`).
 *   Inbound `win` defaults to 65535, `ack`/`urg` to 0. In expectations every
 *   field written is checked (`*` = any value), omitted `ack`/`win`/`urg` are
 *   not; flags and length always are; options are checked exactly as a list
 *   (omitted = none; `<...>` = don't check).
 * - OPTIONS: `nop`, `eol`, `mss N`, `wscale N`, `sackOK`, `sack L:R L:R…`,
 *   `TS val N ecr N`, `opt KIND [len N] [0xHEX]` (any kind, any length byte:
 *   `opt 99 len 4` unknown, `opt 2 len 0` malformed; body zeros unless given),
 *   `raw 0xHEX` (bytes as is). Inbound options are padded with zeros to 4n.
 * - UDP: `DIR [ip] udp [SRC>DST] (LEN) [payload X] [bad_csum]`.
 * - ICMP: `DIR [ip] icmp TYPE [CODE] [mtu N] [id N] [[START:END(LEN)] | [udp (LEN)]] [bad_csum]`
 *   with packetdrill names (`unreachable port_unreachable`, `frag_needed`,
 *   `echo_request`, `type_N`/`code_N`). An inbound error quotes a segment
 *   or datagram the stack sent (default `[0:0(0)]`); an outbound one is
 *   checked against the quoted packet the peer sent, when written.
 * - `[ip]`: `[noecn|ect0|ect1|ce|ect01, tos 0xNN, ttl N]` (`ect01` = either ECT, outbound).
 * - `payload "text"` or `payload 0xHEX`: the bytes (length must match);
 *   otherwise payloads are zeros. `bad_csum`: a wrong transport checksum
 *   (inbound; outbound checksums are always verified).
 * - Ports: `SRC>DST` selects a flow explicitly; otherwise the current flow:
 *   peer `remotePort` (48000) ↔ stack `localPort` (8080), or after
 *   `connect()` peer `connectPort` ↔ the stack's port learned from its
 *   first packet.
 *
 * Sequence numbers are relative (see `match.ts`): the first inbound SYN's
 * `seq` is the peer's ISN; the stack's ISN and TS clock are learned from
 * its first SYN / TS option. `--absolute_seq` turns translation off.
 *
 * Calls: `socket`, `bind`, `listen`, `accept`, `accept4`, `connect`,
 * `write`/`send`/`sendto`, `read`/`recv`/`recvfrom`, `shutdown`, `close`,
 * `setsockopt`, `getsockopt`, `fcntl(F_GETFL|F_SETFL)`, written as
 * packetdrill does: `connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)`,
 * `setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0`,
 * `getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0`. `...`
 * addresses mean the script's (bind: local IP:localPort; connect: remote
 * IP:connectPort; sendto: the current peer). `...` buffers are zeros; a
 * string buffer in `read` is the data expected. Script fd numbers are
 * mapped onto the adapter's. A call without `...END` must return at once.
 *
 * Header options: `--tolerance_usecs=N`, `--quiet_usecs=N`, `--local_ip=`,
 * `--remote_ip=`, `--prefix_length=`, `--bind_port=`, `--remote_port=`,
 * `--connect_port=`, `--absolute_seq`, `--seed=N`, `--mtu=N`,
 * `--pending="why"` (for test helpers). Not supported: `%{ }%` Python
 * blocks, `` `shell` `` commands (rejected with a clear error), poll, msghdr.
 *
 * @module
 */
export type * from "./ast.ts";
export { formatEvent, formatPacket, formatSyscall, formatTime } from "./format.ts";
export { type LoadOptions, loadScriptDir, type ScriptFile } from "./load.ts";
export { parseEventLine, type ParseOptions, parseScript, ScriptSyntaxError } from "./parser.ts";
export {
  formatTranscript,
  type IpVersion,
  runScript,
  type ScriptEnv,
  type ScriptFailure,
  type ScriptOptions,
  type ScriptResult,
  type ScriptTarget,
  type ScriptTargetFactory,
  stackTarget,
  type StackTargetOptions,
  type TranscriptEntry,
} from "./runner.ts";
export { bsdSockets } from "./bsd_adapter.ts";
export {
  type Awaitable,
  errnoOf,
  type ScriptSockAddr,
  type ScriptSockets,
  type SockOptValue,
  unavailableSockets,
} from "./sockets.ts";
