/**
 * Generates the §3.10 conformance matrix scripts in `tests/tcp/scripts/`
 * (TRACEABILITY.md §4: one script per state × segment class, RFC 5961
 * variants included). The `.pkt` files are committed; this file is how they
 * were written and how to regenerate them after changing an expectation:
 *
 * ```sh
 * deno run -A tests/tcp/gen_matrix.ts        # rewrites tests/tcp/scripts/<state>-<class>.pkt
 * ```
 *
 * Hand-written scripts in the same directory (names not produced here) are
 * left alone. Sequence numbers in the scripts are relative (the runner's
 * default): the peer's ISN is 0, the stack's ISN is 0. No timestamps are
 * negotiated (T2 would otherwise drop TS-less segments; the PAWS cells are
 * hand-written). Each script ends with a probe that shows whether the
 * connection is still there: an old-sequence ACK gets an ACK from a live
 * TCB, a RST (`<SEQ=SEG.ACK>`) from a listener or a closed port.
 *
 * @module
 */

const HERE = new URL("./scripts/", import.meta.url);
const U32 = 2 ** 32;
const w = (n: number) => ((n % U32) + U32) % U32; // relative numbers mod 2^32

interface State {
  /** File-name prefix. */
  id: string;
  /** Human name. */
  name: string;
  /** Script lines that reach the state. */
  prelude: string;
  /** RCV.NXT, SND.NXT, SND.UNA (relative). */
  rcv: number;
  snd: number;
  una: number;
  /** The socket fd the test talks to. */
  fd: number;
  /** Group: how SEGMENT ARRIVES treats it. */
  kind: "listen" | "synsent" | "synrcvd-p" | "synrcvd-a" | "sync" | "timewait" | "closed";
  /** Whether text is still accepted (ESTABLISHED, FIN-WAIT-1/2). */
  takesData?: boolean;
  /** What reading the socket gives after a RST at RCV.NXT. */
  resetErr?: string;
}

const HDR = "--tolerance_usecs=0\n--quiet_usecs=100000\n";
const LISTEN = `0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
`;
const SYNRCVD = LISTEN + `+0    < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
+0    > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 3>
`;
const ESTAB = SYNRCVD + `+.1   < . 1:1(0) ack 1 win 512
+0    accept(3, ..., ...) = 4
`;
const FW1 = ESTAB + `+0    shutdown(4, SHUT_WR) = 0
+0    > F. 1:1(0) ack 1
`;
const FW2 = FW1 + `+0    < . 1:1(0) ack 2 win 512
`;
const CW = ESTAB + `+0    < F. 1:1(0) ack 1 win 512
+0    > . 1:1(0) ack 2
`;
const CLOSING = FW1 + `+0    < F. 1:1(0) ack 1 win 512
+0    > . 2:2(0) ack 2
`;
const LA = CW + `+0    shutdown(4, SHUT_WR) = 0
+0    > F. 1:1(0) ack 2
`;
const TW = FW2 + `+0    < F. 1:1(0) ack 2 win 512
+0    > . 2:2(0) ack 2
`;
const SYNSENT = `0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > S 0:0(0) <...>
`;
const SYNRCVD_A = SYNSENT + `+0    < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
+0    > S. 0:0(0) ack 1 <...>
`;

const STATES: State[] = [
  { id: "listen", name: "LISTEN", prelude: LISTEN, rcv: 1, snd: 1, una: 1, fd: 3, kind: "listen" },
  {
    id: "syn-sent",
    name: "SYN-SENT",
    prelude: SYNSENT,
    rcv: 1,
    snd: 1,
    una: 0,
    fd: 3,
    kind: "synsent",
  },
  {
    id: "syn-received-passive",
    name: "SYN-RECEIVED (passive open)",
    prelude: SYNRCVD,
    rcv: 1,
    snd: 1,
    una: 0,
    fd: 3,
    kind: "synrcvd-p",
  },
  {
    id: "syn-received-active",
    name: "SYN-RECEIVED (active open, simultaneous open)",
    prelude: SYNRCVD_A,
    rcv: 1,
    snd: 1,
    una: 0,
    fd: 3,
    kind: "synrcvd-a",
  },
  {
    id: "established",
    name: "ESTABLISHED",
    prelude: ESTAB,
    rcv: 1,
    snd: 1,
    una: 1,
    fd: 4,
    kind: "sync",
    takesData: true,
    resetErr: "ECONNRESET",
  },
  {
    id: "fin-wait-1",
    name: "FIN-WAIT-1",
    prelude: FW1,
    rcv: 1,
    snd: 2,
    una: 1,
    fd: 4,
    kind: "sync",
    takesData: true,
    resetErr: "ECONNRESET",
  },
  {
    id: "fin-wait-2",
    name: "FIN-WAIT-2",
    prelude: FW2,
    rcv: 1,
    snd: 2,
    una: 2,
    fd: 4,
    kind: "sync",
    takesData: true,
    resetErr: "ECONNRESET",
  },
  {
    id: "close-wait",
    name: "CLOSE-WAIT",
    prelude: CW,
    rcv: 2,
    snd: 1,
    una: 1,
    fd: 4,
    kind: "sync",
  },
  { id: "closing", name: "CLOSING", prelude: CLOSING, rcv: 2, snd: 2, una: 1, fd: 4, kind: "sync" },
  { id: "last-ack", name: "LAST-ACK", prelude: LA, rcv: 2, snd: 2, una: 1, fd: 4, kind: "sync" },
  {
    id: "time-wait",
    name: "TIME-WAIT",
    prelude: TW,
    rcv: 2,
    snd: 2,
    una: 2,
    fd: 4,
    kind: "timewait",
  },
  {
    id: "closed",
    name: "CLOSED (no TCB, port not listening)",
    prelude: "",
    rcv: 1,
    snd: 1,
    una: 1,
    fd: 3,
    kind: "closed",
  },
];

/** A generated cell: requirement IDs, what is expected (comment) and the lines. */
interface Cell {
  ids: string;
  why: string;
  lines: string;
}

/** The probe showing a live TCB: an old-sequence ACK is answered with an ACK (§3.10.7.4 first). */
function alive(s: State, t = "+0"): string {
  if (s.kind === "synsent") {
    return `${t}    < S. 0:0(0) ack 1 win 65535 <mss 1460>  // probe: still SYN-SENT → completes\n+0    > . 1:1(0) ack 1\n`;
  }
  if (s.kind === "listen") {
    return `${t}    < 48001>8080 S 0:0(0) win 65535 <mss 1460>  // probe from another port: still listening\n+0    > 8080>48001 S. 0:0(0) ack 1 <mss 1460>\n`;
  }
  return `${t}    < . ${w(s.rcv - 1)}:${
    w(s.rcv - 1)
  }(0) ack ${s.una} win 512  // probe: old seq → live TCB ACKs\n` +
    `+0    > . ${s.snd}:${s.snd}(0) ack ${s.rcv}\n`;
}

/** The probe showing no TCB: a closed port (or a listener) answers an ACK with <SEQ=SEG.ACK><CTL=RST>. */
function dead(s: State, t = "+0"): string {
  if (s.kind === "synsent") {
    return `${t}    < S. 0:0(0) ack 1 win 65535 <mss 1460>  // probe: no TCB → RST\n+0    > R 1:1(0)\n`;
  }
  return `${t}    < . ${w(s.rcv - 1)}:${
    w(s.rcv - 1)
  }(0) ack ${s.una} win 512  // probe: no TCB → <SEQ=SEG.ACK><CTL=RST>\n` +
    `+0    > R ${s.una}:${s.una}(0)\n`;
}

const ACK = (s: State) => `> . ${s.snd}:${s.snd}(0) ack ${s.rcv}`;
/** The D-SACK option reporting a duplicate [l, r) (the matrix peer offered SACK). */
const dsack = (l: number, r: number) => ` <nop,nop,sack ${l}:${r}>`;
const CHALLENGE = (s: State) => `+0    ${ACK(s)}  // challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>\n`;

type Gen = (s: State) => Cell | null;

const CLASSES: Record<string, Gen> = {
  syn(s) {
    const seg = `+0    < S ${s.rcv}:${s.rcv}(0) win 65535 <mss 1460>\n`;
    switch (s.kind) {
      case "listen":
        return {
          ids: "MUST-14 §3.10.7.2",
          why: "LISTEN + SYN → SYN-ACK (SYN-RECEIVED), MSS option on the SYN-ACK",
          lines: seg.replace(`${s.rcv}:${s.rcv}`, "0:0") +
            `+0    > S. 0:0(0) ack 1 <mss 1460>  // options only as offered (W1, T1)\n`,
        };
      case "synsent":
        return {
          ids: "MUST-10 §3.10.7.3",
          why:
            "SYN-SENT + SYN (no ACK) → simultaneous open: SYN-RECEIVED, our SYN is resent with ACK",
          lines:
            `+0    < S 0:0(0) win 65535 <mss 1460>\n+0    > S. 0:0(0) ack 1 <...>\n+0    < . 1:1(0) ack 1 win 65535\n+0    getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n` +
            alive({ ...s, una: 1, kind: "sync" }),
        };
      case "closed":
        return {
          ids: "§3.10.7.1",
          why: "no TCB + SYN → <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>",
          lines: `+0    < S 0:0(0) win 65535 <mss 1460>\n+0    > R. 0:0(0) ack 1\n`,
        };
      case "timewait":
        return {
          ids: "RFC5961-B2 MAY-2 §3.10.7.4",
          why:
            "TIME-WAIT + SYN that RFC 6191 cannot prove newer (seq = RCV.NXT, no timestamps) → challenge ACK, TCB stays",
          lines: seg + CHALLENGE(s) + alive(s),
        };
      default:
        return {
          ids: "RFC5961-B2 §3.10.7.4",
          why:
            `${s.name} + SYN in window (not the peer's ISN) → challenge ACK, dropped, connection unchanged` +
            (s.kind === "synrcvd-p"
              ? " (deviation: RFC 9293 says return to LISTEN; see DEVIATIONS.md)"
              : ""),
          lines: seg + CHALLENGE(s) + alive(s),
        };
    }
  },
  "syn-ack"(s) {
    const seg = `+0    < S. ${s.rcv}:${s.rcv}(0) ack ${s.snd} win 65535 <mss 1460>\n`;
    switch (s.kind) {
      case "listen":
        return {
          ids: "§3.10.7.2",
          why: "LISTEN + SYN-ACK (ACK set) → <SEQ=SEG.ACK><CTL=RST>",
          lines: `+0    < S. 0:0(0) ack 77 win 65535 <mss 1460>\n+0    > R 77:77(0)\n` + alive(s),
        };
      case "synsent":
        return {
          ids: "MUST-14 §3.10.7.3",
          why: "SYN-SENT + SYN-ACK acking our SYN → ESTABLISHED, ACK sent, connect succeeds",
          lines:
            `+0    < S. 0:0(0) ack 1 win 65535 <mss 1460>\n+0    > . 1:1(0) ack 1\n+0    getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n` +
            alive({ ...s, una: 1, kind: "sync" }),
        };
      case "closed":
        return {
          ids: "§3.10.7.1",
          why: "no TCB + SYN-ACK → <SEQ=SEG.ACK><CTL=RST>",
          lines: `+0    < S. 0:0(0) ack 77 win 65535 <mss 1460>\n+0    > R 77:77(0)\n`,
        };
      default:
        return {
          ids: "RFC5961-B2 §3.10.7.4",
          why: `${s.name} + SYN-ACK → the SYN bit wins: challenge ACK, dropped`,
          lines: seg + CHALLENGE(s) + alive(s),
        };
    }
  },
  ack(s) {
    const seg = `+0    < . ${s.rcv}:${s.rcv}(0) ack ${s.snd} win 512\n`;
    switch (s.kind) {
      case "listen":
        return {
          ids: "§3.10.7.2",
          why: "LISTEN + ACK → <SEQ=SEG.ACK><CTL=RST>",
          lines: `+0    < . 1:1(0) ack 1 win 512\n+0    > R 1:1(0)\n` + alive(s),
        };
      case "synsent":
        return {
          ids: "§3.10.7.3",
          why: "SYN-SENT + acceptable ACK without SYN → dropped (fifth: neither SYN nor RST)",
          lines: seg + alive(s),
        };
      case "closed":
        return {
          ids: "§3.10.7.1",
          why: "no TCB + ACK → <SEQ=SEG.ACK><CTL=RST>",
          lines: `+0    < . 1:1(0) ack 5 win 512\n+0    > R 5:5(0)\n`,
        };
      case "synrcvd-p":
        return {
          ids: "§3.10.7.4",
          why: "SYN-RECEIVED (passive) + ACK of our SYN → ESTABLISHED; accept() returns it",
          lines: seg + `+0    accept(3, ..., ...) = 4\n` + alive({ ...s, una: 1 }),
        };
      case "synrcvd-a":
        return {
          ids: "MUST-10 §3.10.7.4",
          why: "SYN-RECEIVED (active) + ACK of our SYN → ESTABLISHED; connect succeeds",
          lines: seg + `+0    getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n` +
            alive({ ...s, una: 1 }),
        };
      case "timewait":
        return {
          ids: "§3.10.7.4",
          why: "TIME-WAIT + duplicate ACK at RCV.NXT → nothing",
          lines: seg + alive(s),
        };
      default: {
        const next = s.id === "fin-wait-1"
          ? "FIN-WAIT-2 (our FIN acknowledged)"
          : s.id === "closing"
          ? "TIME-WAIT (our FIN acknowledged)"
          : s.id === "last-ack"
          ? "CLOSED (our FIN acknowledged)"
          : "unchanged, no reply";
        const t = s.id === "last-ack" ? dead({ ...s, una: s.snd }) : alive({ ...s, una: s.snd });
        return {
          ids: "§3.10.7.4",
          why: `${s.name} + ACK of SND.NXT at RCV.NXT → ${next}`,
          lines: seg + t,
        };
      }
    }
  },
  "seq-in-window"(s) {
    if (s.kind === "listen" || s.kind === "synsent" || s.kind === "closed") return null;
    const ack = s.kind.startsWith("synrcvd") ? s.snd : s.una;
    const seg = `+0    < . ${s.rcv + 1000}:${s.rcv + 1000}(0) ack ${ack} win 512\n`;
    if (s.kind === "timewait") {
      return {
        ids: "§3.10.7.4",
        why:
          "TIME-WAIT + zero-length segment ≠ RCV.NXT → ACKed (Linux tcp_timewait_state_process: out-of-window → TW_ACK); the probe, itself a pure out-of-window ACK, waits out the 500 ms rate limit (Linux tcp_invalid_ratelimit)",
        lines: seg + `+0    ${ACK(s)}\n` + alive(s, "+0.5"),
      };
    }
    if (s.kind.startsWith("synrcvd")) {
      return {
        ids: "§3.10.7.4",
        why:
          `${s.name} + zero-length ACK with SEG.SEQ inside the window (≠ RCV.NXT) acking our SYN → acceptable → ESTABLISHED`,
        lines: seg + (s.kind === "synrcvd-p" ? `+0    accept(3, ..., ...) = 4\n` : "") +
          alive({ ...s, una: 1 }),
      };
    }
    return {
      ids: "§3.10.7.4",
      why:
        `${s.name} + zero-length segment with RCV.NXT < SEG.SEQ < RCV.NXT+RCV.WND → acceptable, nothing to ACK`,
      lines: seg + alive(s),
    };
  },
  "seq-below-window"(s) {
    if (s.kind === "listen" || s.kind === "synsent" || s.kind === "closed") return null;
    const seq = w(s.rcv - 1000);
    const tw = s.kind === "timewait";
    return {
      ids: "§3.10.7.4",
      why: `${s.name} + old duplicate (SEG.SEQ+LEN < RCV.NXT) → ACK <SEQ=SND.NXT><ACK=RCV.NXT>${
        // TIME-WAIT answers without SACK blocks (Linux tcp_v4_timewait_ack).
        tw ? "" : " with a D-SACK block for it (RFC 2883 §4)"}, dropped`,
      lines:
        `+0    < P. ${seq}:${w(seq + 10)}(10) ack ${s.una} win 512\n+0    ${ACK(s)}${
          tw ? "" : dsack(seq, w(seq + 10))
        }\n` +
        alive(s),
    };
  },
  "seq-above-window"(s) {
    if (s.kind === "listen" || s.kind === "synsent" || s.kind === "closed") return null;
    const seq = s.rcv + 1_000_000;
    return {
      ids: "§3.10.7.4 RFC5961-B1",
      why: `${s.name} + segment beyond RCV.NXT+RCV.WND → ACK, dropped`,
      lines: `+0    < P. ${seq}:${seq + 10}(10) ack ${s.una} win 512\n+0    ${ACK(s)}\n` + alive(s),
    };
  },
  "ack-above-sndnxt"(s) {
    const a = s.snd + 1000;
    const seg = `+0    < . ${s.rcv}:${s.rcv}(0) ack ${a} win 512\n`;
    switch (s.kind) {
      case "listen":
        return null; // same as "ack": any ACK gets a RST
      case "closed":
        return null;
      case "synsent":
        return {
          ids: "§3.10.7.3",
          why: "SYN-SENT + ACK > SND.NXT → <SEQ=SEG.ACK><CTL=RST>, TCB unchanged",
          lines: `+0    < S. 0:0(0) ack ${a} win 65535 <mss 1460>\n+0    > R ${a}:${a}(0)\n` +
            alive(s),
        };
      case "synrcvd-p":
      case "synrcvd-a":
        return {
          ids: "§3.10.7.4",
          why: `${s.name} + unacceptable ACK (> SND.NXT) → <SEQ=SEG.ACK><CTL=RST>, TCB unchanged`,
          lines: seg + `+0    > R ${a}:${a}(0)\n` + alive(s),
        };
      case "timewait":
        return {
          ids: "§3.10.7.4",
          why:
            "TIME-WAIT + ACK > SND.NXT at RCV.NXT → nothing (Linux: in-window bare ACK → TW_SUCCESS)",
          lines: seg + alive(s),
        };
      default:
        return {
          ids: "RFC5961-B3 §3.10.7.4",
          why: `${s.name} + SEG.ACK > SND.NXT → challenge ACK, dropped`,
          lines: seg + CHALLENGE(s) + alive(s),
        };
    }
  },
  "ack-below-window"(s) {
    const a = w(s.una - 70000);
    const seg = `+0    < . ${s.rcv}:${s.rcv}(0) ack ${a} win 512\n`;
    switch (s.kind) {
      case "listen":
      case "closed":
        return null;
      case "synsent":
        return {
          ids: "§3.10.7.3",
          why: "SYN-SENT + SEG.ACK ≤ ISS → <SEQ=SEG.ACK><CTL=RST>, TCB unchanged",
          lines: `+0    < S. 0:0(0) ack 0 win 65535 <mss 1460>\n+0    > R 0:0(0)\n` + alive(s),
        };
      case "synrcvd-p":
      case "synrcvd-a":
        return {
          ids: "§3.10.7.4",
          why: `${s.name} + SEG.ACK ≤ ISS (unacceptable) → <SEQ=SEG.ACK><CTL=RST>, TCB unchanged`,
          lines: `+0    < . ${s.rcv}:${s.rcv}(0) ack 0 win 512\n+0    > R 0:0(0)\n` + alive(s),
        };
      case "timewait":
        return {
          ids: "§3.10.7.4",
          why: "TIME-WAIT + old ACK at RCV.NXT → nothing",
          lines: seg + alive(s),
        };
      default:
        return {
          ids: "RFC5961-B3 §3.10.7.4",
          why: `${s.name} + SEG.ACK < SND.UNA − MAX.SND.WND → challenge ACK, dropped`,
          lines: seg + CHALLENGE(s) + alive(s),
        };
    }
  },
  "ack-old"(s) {
    if (s.kind !== "sync") return null;
    const a = w(s.una - 100);
    return {
      ids: "RFC5961-B3 §3.10.7.4",
      why: `${s.name} + SND.UNA − MAX.SND.WND ≤ SEG.ACK < SND.UNA → duplicate, ignored (no reply)`,
      lines: `+0    < . ${s.rcv}:${s.rcv}(0) ack ${a} win 512\n` + alive(s),
    };
  },
  "rst-at-rcvnxt"(s) {
    const seg = `+0    < R ${s.rcv}:${s.rcv}(0) win 0\n`;
    switch (s.kind) {
      case "listen":
        return {
          ids: "§3.10.7.2",
          why: "LISTEN + RST → ignored",
          lines: `+0    < R 0:0(0) win 0\n+0    < R. 0:0(0) ack 1 win 0\n` + alive(s),
        };
      case "closed":
        return {
          ids: "§3.10.7.1",
          why: "no TCB + RST → nothing (never answer a RST)",
          lines: `+0    < R 1:1(0) win 0\n+0    < R. 1:1(0) ack 1 win 0\n`,
        };
      case "synsent":
        return {
          ids: "MUST-12 RFC5961-B1 §3.10.7.3",
          why: "SYN-SENT + RST with acceptable ACK → CLOSED, connect fails ECONNREFUSED",
          lines:
            `+0    < R. 0:0(0) ack 1 win 0\n+0    getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0\n` +
            dead(s),
        };
      case "synrcvd-p":
        return {
          ids: "MUST-11 RFC5961-B5 RFC5961-B1",
          why:
            "SYN-RECEIVED (passive) + RST at RCV.NXT → back to LISTEN: request gone, listener keeps listening, nothing to accept",
          lines: seg + dead(s) +
            `+0    accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)\n` +
            `+0    < 48001>8080 S 0:0(0) win 65535 <mss 1460>  // the listener still answers SYNs\n+0    > 8080>48001 S. 0:0(0) ack 1 <mss 1460>\n`,
          // accept on a blocking fd would block; the listener fd is made non-blocking below
        };
      case "synrcvd-a":
        return {
          ids: "MUST-11 RFC5961-B5 RFC5961-B1",
          why: "SYN-RECEIVED (active) + RST at RCV.NXT → CLOSED, connect fails ECONNREFUSED",
          lines: seg + `+0    getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0\n` +
            dead(s),
        };
      case "timewait":
        return {
          ids: "RFC5961-B1 RFC1337",
          why: "TIME-WAIT + RST at RCV.NXT → ignored (RFC 1337 deviation), TCB stays",
          lines: seg + alive(s),
        };
      default:
        return {
          ids: "MUST-12 RFC5961-B1 §3.10.7.4",
          why: `${s.name} + RST exactly at RCV.NXT → CLOSED` +
            (s.resetErr ? `, the user sees ${s.resetErr}` : ""),
          lines: seg +
            (s.resetErr
              ? `+0    read(${s.fd}, ..., 100) = -1 ${s.resetErr} (Connection reset by peer)\n`
              : "") +
            dead(s),
        };
    }
  },
  "rst-in-window"(s) {
    const seq = s.rcv + 1000;
    const seg = `+0    < R ${seq}:${seq}(0) win 0\n`;
    switch (s.kind) {
      case "listen":
      case "closed":
        return null;
      case "synsent":
        return {
          ids: "RFC5961-B1 §3.10.7.3",
          why: "SYN-SENT + RST without ACK → dropped (only a RST acking our SYN is acceptable)",
          lines: `+0    < R 0:0(0) win 0\n` + alive(s),
        };
      case "timewait":
        return {
          ids: "RFC5961-B1 RFC1337",
          why: "TIME-WAIT + RST in window → ignored",
          lines: seg + alive(s),
        };
      default:
        return {
          ids: "RFC5961-B1 §3.10.7.4",
          why: `${s.name} + RST in window but ≠ RCV.NXT → challenge ACK, connection stays`,
          lines: seg + CHALLENGE(s) + alive(s),
        };
    }
  },
  "rst-out-of-window"(s) {
    switch (s.kind) {
      case "listen":
      case "closed":
        return null;
      case "synsent":
        return {
          ids: "RFC5961-B1 §3.10.7.3",
          why: "SYN-SENT + RST with an unacceptable ACK → dropped, no RST in reply",
          lines: `+0    < R. 0:0(0) ack 1000 win 0\n+0    < R. 0:0(0) ack 0 win 0\n` + alive(s),
        };
      default: {
        const hi = s.rcv + 1_000_000;
        const lo = w(s.rcv - 1000);
        return {
          ids: "RFC5961-B1 §3.10.7.4",
          why: `${s.name} + RST above or below the window → silently dropped`,
          lines: `+0    < R ${hi}:${hi}(0) win 0\n+0    < R ${lo}:${lo}(0) win 0\n` + alive(s),
        };
      }
    }
  },
  fin(s) {
    switch (s.kind) {
      case "listen":
        return {
          ids: "§3.10.7.2",
          why: "LISTEN + FIN (no SYN, no ACK) → dropped",
          lines: `+0    < F 0:0(0) win 512\n` + alive(s),
        };
      case "closed":
        return {
          ids: "§3.10.7.1",
          why: "no TCB + FIN (no ACK) → <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (FIN counts 1)",
          lines: `+0    < F 0:0(0) win 512\n+0    > R. 0:0(0) ack 1\n`,
        };
      case "synsent":
        return {
          ids: "§3.10.7.3",
          why: "SYN-SENT + FIN (no SYN) → dropped",
          lines: `+0    < F. 0:0(0) ack 1 win 512\n` + alive(s),
        };
      case "synrcvd-p":
      case "synrcvd-a":
        return {
          ids: "§3.10.7.4",
          why:
            `${s.name} + FIN with an ACK of our SYN → ESTABLISHED then CLOSE-WAIT; FIN ACKed at once`,
          lines: `+0    < F. 1:1(0) ack 1 win 512\n+0    > . 1:1(0) ack 2\n` +
            (s.kind === "synrcvd-p"
              ? `+0    accept(3, ..., ...) = 4\n+0    read(4, ..., 100) = 0\n`
              : `+0    read(3, ..., 100) = 0\n`) +
            alive({ ...s, rcv: 2, una: 1 }),
        };
      case "timewait":
        return {
          ids: "MUST-13 §3.10.7.4",
          why: "TIME-WAIT + retransmitted FIN → ACKed, 2 MSL restarts",
          lines: `+0    < F. 1:1(0) ack 2 win 512\n+0    ${ACK(s)}\n` + alive(s),
        };
      default: {
        if (!s.takesData) {
          return {
            ids: "§3.10.7.4",
            why:
              `${s.name} + retransmitted FIN → ACKed (old sequence) with a D-SACK block for it (RFC 2883 §4), state unchanged`,
            lines: `+0    < F. 1:1(0) ack ${s.una} win 512\n+0    ${ACK(s)}${dsack(1, 2)}\n` +
              alive(s),
          };
        }
        const next = s.id === "established"
          ? "CLOSE-WAIT"
          : s.id === "fin-wait-1"
          ? "CLOSING"
          : "TIME-WAIT";
        const after = { ...s, rcv: s.rcv + 1 };
        return {
          ids: "MUST-12 §3.10.7.4",
          why: `${s.name} + FIN at RCV.NXT → ${next}, ACKed at once; read() sees end of stream`,
          lines:
            `+0    < F. ${s.rcv}:${s.rcv}(0) ack ${s.una} win 512\n+0    ${
              ACK(after)
            }\n+0    read(4, ..., 100) = 0\n` +
            alive(after),
        };
      }
    }
  },
  data(s) {
    return dataCell(s, "P.", "data", "");
  },
  "data-fin"(s) {
    return dataCell(s, "FP.", "data+FIN", "");
  },
  urg(s) {
    return dataCell(s, "P.U", "URG data (urgent pointer 5)", " urg 5");
  },
  "no-flags"(s) {
    const seg = `+0    < - ${s.rcv}:${s.rcv + 10}(10) win 512\n`;
    switch (s.kind) {
      case "closed":
        return {
          ids: "§3.10.7.1",
          why: "no TCB + segment without flags → <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>",
          lines: seg + `+0    > R. 0:0(0) ack ${s.rcv + 10}\n`,
        };
      case "timewait":
        return {
          ids: "§3.10.7.4",
          why:
            "TIME-WAIT + segment without flags carrying data → ACKed (Linux: out-of-window → TW_ACK), nothing else",
          lines: seg + `+0    ${ACK(s)}\n` + alive(s),
        };
      default:
        return {
          ids: "§3.10.7.4",
          why:
            `${s.name} + data with no flags at all (no ACK) → silently dropped (Linux validate-established-no-flags)`,
          lines: seg +
            (s.takesData
              ? `+0    fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0    read(4, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)\n`
              : "") +
            alive(s),
        };
    }
  },
};

function dataCell(s: State, flags: string, what: string, urg: string): Cell | null {
  const fin = flags.includes("F");
  const seg = (ack: number) =>
    `+0    < ${flags} ${s.rcv}:${s.rcv + 10}(10) ack ${ack} win 512${urg}\n`;
  const ids = urg ? "MUST-30 MUST-31 MUST-66 §3.10.7.4" : "§3.10.7.4";
  switch (s.kind) {
    case "listen":
      return {
        ids: "§3.10.7.2",
        why: `LISTEN + ${what} with ACK → <SEQ=SEG.ACK><CTL=RST>`,
        lines: seg(1) + `+0    > R 1:1(0)\n` + alive(s),
      };
    case "closed":
      return {
        ids: "§3.10.7.1",
        why: `no TCB + ${what} with ACK → <SEQ=SEG.ACK><CTL=RST>`,
        lines: seg(9) + `+0    > R 9:9(0)\n`,
      };
    case "synsent":
      return {
        ids: "§3.10.7.3",
        why: `SYN-SENT + ${what} with acceptable ACK but no SYN → dropped`,
        lines: seg(1) + alive(s),
      };
    case "synrcvd-p":
    case "synrcvd-a": {
      const fd = s.kind === "synrcvd-p" ? 4 : 3;
      const ackLine = fin
        ? `+0    > . 1:1(0) ack 12\n`
        : `+0    > . 1:1(0) ack 11  // first data: quick ACK (Linux tcp_incr_quickack)\n`;
      return {
        ids: ids + " §3.10.7.4",
        why: `${s.name} + ${what} acking our SYN → ESTABLISHED${
          fin ? " → CLOSE-WAIT" : ""
        }; the data is delivered`,
        lines: seg(1) + ackLine +
          (s.kind === "synrcvd-p" ? `+0    accept(3, ..., ...) = 4\n` : "") +
          `+0    read(${fd}, ..., 100) = 10\n` + alive({ ...s, rcv: fin ? 12 : 11, una: 1 }),
      };
    }
    case "timewait":
      return {
        ids,
        why: `TIME-WAIT + ${what} → text ignored, ACKed`,
        lines: seg(s.una) + `+0    ${ACK(s)}\n` + alive(s),
      };
    default: {
      if (!s.takesData) {
        return {
          ids,
          why:
            `${s.name} + ${what} after the peer's FIN → text ignored, ACK <SEQ=SND.NXT><ACK=RCV.NXT>`,
          lines: seg(s.una) + `+0    ${ACK(s)}\n` + alive(s),
        };
      }
      const after = { ...s, rcv: s.rcv + 10 + (fin ? 1 : 0) };
      const ackLine = fin
        ? `+0    ${ACK(after)}\n`
        : `+0    ${ACK(after)}  // first data: quick ACK (Linux tcp_incr_quickack)\n`;
      const next = fin
        ? ` → ${
          s.id === "established" ? "CLOSE-WAIT" : s.id === "fin-wait-1" ? "CLOSING" : "TIME-WAIT"
        }`
        : "";
      return {
        ids,
        why: `${s.name} + ${what} at RCV.NXT → queued and delivered in order${next}`,
        lines: seg(s.una) + ackLine + `+0    read(4, ..., 100) = 10\n` +
          (fin ? `+0    read(4, ..., 100) = 0\n` : "") + alive(after),
      };
    }
  }
}

let n = 0;
const index: string[] = [];
for (const s of STATES) {
  for (const [cls, gen] of Object.entries(CLASSES)) {
    const c = gen(s);
    if (c === null) continue;
    let prelude = s.prelude;
    if (s.kind === "synrcvd-p" && cls === "rst-at-rcvnxt") {
      prelude = prelude.replace(
        "+0    listen(3, 1) = 0\n",
        "+0    listen(3, 1) = 0\n+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n",
      );
    }
    const text =
      `// ${c.ids}\n// ${s.name} × ${cls}: ${c.why}.\n// Generated by tests/tcp/gen_matrix.ts (edit there, then regenerate).\n` +
      HDR + (prelude ? `// --- reach ${s.name} ---\n` + prelude : "") + `// --- the cell ---\n` +
      c.lines;
    await Deno.writeTextFile(new URL(`${s.id}-${cls}.pkt`, HERE), text);
    index.push(`${s.id}-${cls}`);
    n++;
  }
}
console.log(`${n} scripts written`);
