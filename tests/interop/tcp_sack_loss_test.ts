/**
 * Issue 11 against Linux: netwasm's seeded impaired channel sits between the
 * TAP and the stack (an in-process bridge: TAP ⇄ pipe end ⇄ impaired wire ⇄
 * pipe end ⇄ Stack), with 10 ms delay, 1 % random loss and a 100 Mbit/s
 * bottleneck each way (the path of tests/tcp/goodput_test.ts), so
 * Linux's own CUBIC/RACK faces the loss as netwasm's does. A bulk transfer
 * each way (Linux → netwasm, netwasm → Linux), once with SACK on at both ends
 * and once with it off at both ends (`sysctl net.ipv4.tcp_sack` inside the
 * test's namespace, `TcpConfig.sack` on ours). sha256 must match; tshark
 * checks every frame and the SACK blocks on the wire are validated (each
 * block non-empty and beyond the cumulative ACK, or a D-SACK first block).
 * The goodput figures are printed, not asserted (performance is measured,
 * never asserted in tests).
 *
 * The size is `NETWASM_SACK_MIB` (MiB, default 2).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { test } from "../_util/test.ts";
import { type Netns, requireInterop, run, withNetns } from "../_util/netns.ts";
import { CAPTURE_TOOLS, figure, KERNEL_IP, OUR_IP, OUR_MAC, withTimeout } from "./_stack.ts";
import { assertTcpWireClean, startTcpCapture, wireFigure } from "./_tcp_wire.ts";
import { Stack } from "../../src/api/stack.ts";
import { RealClock } from "../../src/core/clock.ts";
import { SeededRandom } from "../../src/core/random.ts";
import { createPipe, type PipeDevice } from "../../src/link/pipe.ts";
import type { NetDevice } from "../../src/link/device.ts";
import type { ImpairmentConfig } from "../../src/link/impair.ts";
import type { TcpInfo } from "../../src/socket/tcp_info.ts";

const PYTHON = "python3";
const PORT_IN = 5201; // Linux → netwasm
const PORT_OUT = 5202; // netwasm → Linux
const SEED = 11;
/** Each way: 10 ms (a 20 ms round trip), 1 % loss, a 100 Mbit/s bottleneck with a ~1 BDP queue (the simulation's path). */
const IMPAIR: ImpairmentConfig = { delay: 10, loss: 0.01, rate: 100_000_000, queueLimit: 170 };
/** The MAC of the bridge's pipe end (never on the wire: the bridge forwards frames unchanged). */
const BRIDGE_MAC = 0x02_00_5e_10_00_fe;

function sizeBytes(): number {
  const env = Deno.env.get("NETWASM_SACK_MIB");
  const mib = env !== undefined && /^\d+$/.test(env) && Number(env) > 0 ? Number(env) : 2;
  return mib << 20;
}

/**
 * Linux side: `send FILE` connects to us, sends the file, half-closes and
 * waits for our FIN; `recv` listens, reads to EOF and prints the byte count,
 * sha256 and seconds from accept to EOF.
 */
const PY = `
import hashlib, socket, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "send":
    data = open(sys.argv[4], "rb").read()
    s = socket.create_connection((host, port), timeout=60)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()
    print(f"SENT {len(data)}", flush=True)
else:
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, port))
    l.listen(1)
    l.settimeout(60)
    print("READY", flush=True)
    c, _ = l.accept()
    c.settimeout(60)
    t0 = time.monotonic()
    h = hashlib.sha256()
    n = 0
    while True:
        b = c.recv(262144)
        if not b:
            break
        h.update(b)
        n += len(b)
    dt = time.monotonic() - t0
    c.close()
    print(f"GOT {n} {h.hexdigest()} {dt:.3f}", flush=True)
`;

/** Forward every frame `from` receives to `to`, unchanged (a two-port bridge, one direction). */
function forward(from: NetDevice, to: NetDevice): void {
  from.setRxNotify((d) => {
    while (d.poll(256, (skb) => to.transmit(skb)) === 256) { /* drain */ }
  });
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** What {@link sackBlocks} found in a capture. */
interface SackReport {
  /** Frames carrying SACK blocks, from Linux and from us. */
  linux: number;
  ours: number;
  /** First blocks that are D-SACKs (RFC 2883: at or below the ACK, or inside the second block). */
  dsackLinux: number;
  dsackOurs: number;
  /** Frames whose blocks break RFC 2018/2883. */
  bad: string[];
}

/** Check every SACK option in the capture (absolute sequence numbers, modulo 2^32). */
async function sackBlocks(pcap: string): Promise<SackReport> {
  const r = await run([
    "tshark",
    "-n",
    "-r",
    pcap,
    "-o",
    "tcp.relative_sequence_numbers:FALSE",
    "-o",
    "tcp.desegment_tcp_streams:FALSE",
    "-Y",
    "tcp.options.sack_le || tcp.len > 0",
    "-T",
    "fields",
    "-E",
    "separator=|",
    "-e",
    "frame.number",
    "-e",
    "ip.src",
    "-e",
    "tcp.srcport",
    "-e",
    "tcp.dstport",
    "-e",
    "tcp.seq",
    "-e",
    "tcp.len",
    "-e",
    "tcp.ack",
    "-e",
    "tcp.options.sack_le",
    "-e",
    "tcp.options.sack_re",
    "-e",
    "tcp.options.timestamp.tsval",
  ], { timeout: 120_000, check: true });
  const rep: SackReport = { linux: 0, ours: 0, dsackLinux: 0, dsackOurs: 0, bad: [] };
  const after = (a: number, b: number) => ((a - b) | 0) > 0; // a > b modulo 2^32
  // Data segments seen so far, by sending port: [seq, end) pairs in capture order.
  const sent = new Map<string, number[]>();
  /** How many earlier transmissions on `port` covered sequence number `seq`. */
  const copies = (port: string, seq: number) => {
    const xs = sent.get(port) ?? [];
    let n = 0;
    for (let i = 0; i < xs.length; i += 2) if (!after(xs[i]!, seq) && after(xs[i + 1]!, seq)) n++;
    return n;
  };
  for (const line of r.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const [num, src, sport, dport, seqS, lenS, ackS, leS, reS, tsval] = line.split("|");
    if (Number(lenS) > 0) {
      const key = `${src}:${sport}`;
      if (!sent.has(key)) sent.set(key, []);
      sent.get(key)!.push(Number(seqS), (Number(seqS) + Number(lenS)) >>> 0);
    }
    if (leS === undefined || leS === "") continue;
    const ack = Number(ackS);
    const le = leS!.split(",").map(Number);
    const re = reS!.split(",").map(Number);
    const fromLinux = src === KERNEL_IP;
    if (fromLinux) rep.linux++;
    else rep.ours++;
    // RFC 2018 §3: 4 blocks fit the option space, 3 beside timestamps.
    const max = tsval !== "" && tsval !== undefined ? 3 : 4;
    let ok = le.length === re.length && le.length >= 1 && le.length <= max;
    for (let i = 0; ok && i < le.length; i++) {
      if (!after(re[i]!, le[i]!)) ok = false; // empty or inverted block
      // RFC 2018 §4: blocks report data above the cumulative ACK; RFC 2883: a
      // first block at or below it is a D-SACK.
      else if (i > 0 && !after(re[i]!, ack)) ok = false;
    }
    const dsack = ok && (!after(re[0]!, ack) ||
      (le.length > 1 && !after(le[1]!, le[0]!) && !after(re[0]!, re[1]!)));
    if (dsack && fromLinux) rep.dsackLinux++;
    else if (dsack) rep.dsackOurs++;
    // A D-SACK reports data that arrived twice: the capture must hold at least
    // two transmissions of its first byte before it. (Exact for Linux's D-SACKs —
    // our frames are captured after the bridge, as Linux got them; a necessary
    // condition for ours, whose data is captured before the bridge's loss.)
    const peer = `${fromLinux ? OUR_IP : KERNEL_IP}:${dport}`;
    if (dsack && copies(peer, le[0]!) < 2) {
      rep.bad.push(`frame ${num} from ${src}: D-SACK ${le[0]}-${re[0]} for data sent once`);
    }
    if (!ok) rep.bad.push(`frame ${num} from ${src}: ack ${ack} blocks ${leS} / ${reS}`);
  }
  return rep;
}

/** Our connection as the capture shows it (what `conn.info()` is checked against). */
interface WireView {
  /** Our frames / Linux's frames on the connection up to the snapshot. */
  ours: number;
  linux: number;
  /** Our frames carrying data, their payload bytes, the longest payload. */
  oursData: number;
  oursBytes: number;
  longest: number;
  /** Our frames tshark flags as retransmissions (seen on the wire before). */
  retransFlagged: number;
  /** The MSS and window shift Linux's SYN-ACK offered, ours in our SYN. */
  linuxMss: number;
  linuxWscale: number;
  ourWscale: number;
  /** Our ISS and the highest ACK Linux sent. */
  iss: number;
  lastAck: number;
  /** SYN to the ACK of the SYN-ACK as the TAP saw it (tshark's initial RTT), µs. */
  initialRttUs: number;
}

/** Read the connection to `port` from the capture: frames up to `untilEpoch` (seconds) only. */
async function wireView(pcap: string, port: number, untilEpoch: number): Promise<WireView> {
  const r = await run([
    "tshark",
    "-n",
    "-r",
    pcap,
    "-o",
    "tcp.relative_sequence_numbers:FALSE",
    "-o",
    "tcp.desegment_tcp_streams:FALSE",
    "-Y",
    `tcp.port == ${port} && frame.time_epoch <= ${untilEpoch.toFixed(6)}`,
    "-T",
    "fields",
    "-E",
    "separator=|",
    "-e",
    "ip.src",
    "-e",
    "tcp.len",
    "-e",
    "tcp.seq",
    "-e",
    "tcp.ack",
    "-e",
    "tcp.flags.syn",
    "-e",
    "tcp.flags.ack",
    "-e",
    "tcp.options.mss_val",
    "-e",
    "tcp.options.wscale.shift",
    "-e",
    "tcp.analysis.retransmission",
    "-e",
    "tcp.analysis.fast_retransmission",
    "-e",
    "tcp.analysis.initial_rtt",
  ], { timeout: 120_000, check: true });
  const v: WireView = {
    ours: 0,
    linux: 0,
    oursData: 0,
    oursBytes: 0,
    longest: 0,
    retransFlagged: 0,
    linuxMss: 0,
    linuxWscale: -1,
    ourWscale: -1,
    iss: -1,
    lastAck: -1,
    initialRttUs: 0,
  };
  const after = (a: number, b: number) => ((a - b) | 0) > 0;
  for (const line of r.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const [src, lenS, seqS, ackS, syn, ack, mss, shift, rexmit, fast, irtt] = line.split("|");
    const len = Number(lenS);
    if (irtt !== undefined && irtt !== "") v.initialRttUs = Number(irtt) * 1e6;
    if (src === OUR_IP) {
      v.ours++;
      if (syn === "1" || syn === "True") {
        v.iss = Number(seqS);
        v.ourWscale = shift === "" ? -1 : Number(shift);
      }
      if (len > 0) {
        v.oursData++;
        v.oursBytes += len;
        v.longest = Math.max(v.longest, len);
        if ((rexmit ?? "") !== "" || (fast ?? "") !== "") v.retransFlagged++;
      }
    } else {
      v.linux++;
      if ((syn === "1" || syn === "True") && (ack === "1" || ack === "True")) {
        v.linuxMss = Number(mss);
        v.linuxWscale = shift === "" ? -1 : Number(shift);
      }
      const a = Number(ackS);
      if ((ack === "1" || ack === "True") && (v.lastAck < 0 || after(a, v.lastAck))) v.lastAck = a;
    }
  }
  return v;
}

/**
 * `conn.info()` of our sending connection against the capture (issue 11:
 * "plausible against what tshark shows"). The TAP sees our frames after the
 * bridge's loss and Linux's before it, so counts agree up to the frames the
 * bridge dropped each way; everything else must match exactly.
 */
function checkInfo(i: TcpInfo, w: WireView, lostOurs: number, lostLinux: number): string {
  const range = (what: string, got: number, lo: number, hi: number) =>
    assert.ok(got >= lo && got <= hi, `info.${what} ${got} outside [${lo}, ${hi}] (capture)`);
  assert.is(i.stateName, "TIME-WAIT");
  assert.is(i.sndWscale, w.linuxWscale, "info.sndWscale: Linux's SYN-ACK");
  assert.is(i.rcvWscale, w.ourWscale, "info.rcvWscale: our SYN");
  assert.is(i.sndMss, w.longest, "info.sndMss: the longest segment we sent");
  assert.is(i.sndMss, w.linuxMss - 12, "info.sndMss: Linux's MSS less the timestamp option");
  // Cumulatively acknowledged: everything after the SYN, our FIN included (as Linux counts).
  assert.is(i.bytesAcked, ((w.lastAck - w.iss) >>> 0) - 1, "info.bytesAcked: Linux's last ACK");
  range("segsOut", i.segsOut, w.ours, w.ours + lostOurs);
  range("dataSegsOut", i.dataSegsOut, w.oursData, w.oursData + lostOurs);
  range("bytesSent", i.bytesSent, w.oursBytes, w.oursBytes + lostOurs * i.sndMss);
  range("segsIn", i.segsIn, w.linux - lostLinux, w.linux);
  range("totalRetrans", i.totalRetrans, w.retransFlagged, w.retransFlagged + lostOurs);
  assert.is(i.bytesRetrans, i.bytesSent - (i.bytesAcked - 1), "retransmitted = sent − delivered");
  // The path is 20 ms of delay plus queueing: the minimum RTT sits on it, the
  // smoothed one above it; tshark's handshake RTT is one sample of it.
  range("minRtt", i.minRtt, 19_000, Math.max(w.initialRttUs, i.rtt) + 1_000);
  range("rtt", i.rtt, i.minRtt, 2_000_000);
  return `conn.info() vs tshark: segs out ${i.segsOut} (${w.ours} captured, ≤ ${lostOurs} lost), data segs ${i.dataSegsOut} (${w.oursData}), bytes sent ${i.bytesSent} (${w.oursBytes} captured), retrans ${i.totalRetrans} (${w.retransFlagged} flagged), segs in ${i.segsIn} (${w.linux}), bytes acked ${i.bytesAcked}, mss ${i.sndMss} (${w.longest}), wscale ${i.sndWscale}/${i.rcvWscale}, min RTT ${
    (i.minRtt / 1000).toFixed(2)
  } ms (handshake ${(w.initialRttUs / 1000).toFixed(2)} ms), srtt ${(i.rtt / 1000).toFixed(2)} ms`;
}

interface Result {
  /** Linux → netwasm: Mbit/s measured by us from accept to EOF. */
  inMbps: number;
  /** netwasm → Linux: Mbit/s measured by Linux from accept to EOF. */
  outMbps: number;
  sack: SackReport;
  wire: string;
  ourRetrans: number;
  lost: number;
  /** Out-of-order segments our receiver dropped at its cap. */
  ofoPruned: number;
  /** Our sender: recoveries entered, reductions undone, RTOs. */
  recoveries: number;
  undos: number;
  rtos: number;
  /** Linux's TcpExt recovery counters after its send (Linux → netwasm). */
  linuxCounters: string;
  /** `conn.info()` of our sender checked against the capture. */
  info: string;
}

/** Linux's recovery and undo counters in the namespace (`nstat`, absolute, history untouched). */
async function linuxTcpExt(ns: Netns): Promise<string> {
  const names = [
    "TcpRetransSegs",
    "TcpExtTCPSackRecovery",
    "TcpExtTCPRenoRecovery",
    "TcpExtTCPLossProbes",
    "TcpExtTCPTimeouts",
    "TcpExtTCPFullUndo",
    "TcpExtTCPPartialUndo",
    "TcpExtTCPDSACKUndo",
    "TcpExtTCPLossUndo",
    "TcpExtTCPSpuriousRTOs",
  ];
  const r = await ns.exec(["nstat", "-asz", ...names]);
  const got = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k !== undefined && v !== undefined) got.set(k, v);
  }
  return names.map((n) => `${n.replace(/^Tcp(Ext)?(TCP)?/, "")} ${got.get(n) ?? "?"}`).join(", ");
}

async function transfer(sack: boolean): Promise<Result> {
  const bytes = sizeBytes();
  const data = new Uint8Array(bytes);
  const rng = new SeededRandom(SEED);
  for (let i = 0; i < bytes; i += 4) {
    const x = rng.nextU32();
    data[i] = x;
    data[i + 1] = x >>> 8;
    data[i + 2] = x >>> 16;
    data[i + 3] = x >>> 24;
  }
  const want = await sha256Hex(data);
  const dir = await Deno.makeTempDir({ prefix: "netwasm-sack-" });
  await Deno.writeFile(`${dir}/blob`, data);
  const clock = new RealClock();
  const stack = new Stack({
    clock,
    random: new SeededRandom(SEED),
    // Buffers (and the out-of-order cap, KI-4) large enough not to be the limit.
    tcp: { sack, rcvbuf: 4 << 20, sndbuf: 4 << 20, maxOfoSegments: 4096 },
  });
  const [inner, outer]: PipeDevice[] = createPipe({
    allocator: stack.allocator,
    clock,
    seed: SEED,
    features: 0,
    names: ["sack0s", "sack0b"],
    macs: [OUR_MAC, BRIDGE_MAC],
    impair: IMPAIR,
  });
  try {
    return await withNetns(async (ns: Netns) => {
      await ns.exec(["sysctl", "-qw", `net.ipv4.tcp_sack=${sack ? 1 : 0}`], { check: true });
      stack.addInterface(inner!, { address: `${OUR_IP}/24` });
      outer!.up();
      ns.tap.up();
      forward(ns.tap, outer!);
      forward(outer!, ns.tap);
      const capture = await startTcpCapture(ns);
      await stack.ping(KERNEL_IP, { timeout: 5000 });

      // Linux → netwasm.
      const listener = stack.listen({ port: PORT_IN });
      const sender = ns.spawn([PYTHON, "-c", PY, "send", OUR_IP, String(PORT_IN), `${dir}/blob`]);
      const conn = await withTimeout(listener.accept(), 20_000, "Linux's connection");
      const t0 = performance.now();
      const got = new Uint8Array(bytes + 1);
      let at = 0;
      await withTimeout(
        (async () => {
          for (;;) {
            const n = await conn.read(got.subarray(at, Math.min(got.length, at + 65536)));
            if (n === null) break;
            at += n;
            if (at > bytes) break;
          }
        })(),
        120_000,
        "Linux's data",
      );
      const inSecs = (performance.now() - t0) / 1000;
      conn.close();
      listener.close();
      const sent = await withTimeout(sender.status, 20_000, "the Linux sender to exit");
      assert.is(sent.code, 0, sender.stdout + sender.stderr);
      assert.is(at, bytes, "Linux → netwasm: byte count");
      const linuxCounters = await linuxTcpExt(ns);
      assert.is(await sha256Hex(got.subarray(0, at)), want, "Linux → netwasm: sha256");

      // netwasm → Linux.
      const receiver = ns.spawn([PYTHON, "-c", PY, "recv", KERNEL_IP, String(PORT_OUT)]);
      await receiver.waitForOutput("READY", { stream: "stdout", timeout: 10_000 });
      const out = await stack.connect({ hostname: KERNEL_IP, port: PORT_OUT });
      await withTimeout(
        (async () => {
          for (let off = 0; off < bytes;) off += await out.write(data.subarray(off));
          await out.closeWrite();
        })(),
        120_000,
        "our send",
      );
      const rs = await withTimeout(receiver.status, 120_000, "the Linux receiver to exit");
      // Linux closed after EOF: wait (bounded) for its FIN and our last ACK
      // (TIME-WAIT), after which the connection sends nothing more.
      const settled = performance.now() + 10_000;
      while (out.info().stateName !== "TIME-WAIT" && performance.now() < settled) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const info = out.info();
      const infoEpoch = Date.now() / 1000;
      out.close();
      assert.is(rs.code, 0, receiver.stdout + receiver.stderr);
      const m = /GOT (\d+) ([0-9a-f]{64}) ([\d.]+)/.exec(receiver.stdout);
      assert.ok(m !== null, receiver.stdout);
      assert.is(Number(m![1]), bytes, "netwasm → Linux: byte count");
      assert.is(m![2], want, "netwasm → Linux: sha256");

      await capture.stop();
      // Before the clean check deletes the pcap.
      const blocks = await sackBlocks(capture.path);
      const view = await wireView(capture.path, PORT_OUT, infoEpoch);
      const infoLine = checkInfo(info, view, inner!.wire.stats.lost, outer!.wire.stats.lost);
      const wire = await assertTcpWireClean(capture, { rawPorts: [PORT_IN, PORT_OUT] });
      const lost = outer!.wire.stats.lost + inner!.wire.stats.lost;
      return {
        inMbps: (bytes * 8) / inSecs / 1e6,
        outMbps: (bytes * 8) / Number(m![3]) / 1e6,
        sack: blocks,
        wire: wireFigure(wire),
        ourRetrans: stack.stats.tcp.retransSegs,
        ofoPruned: stack.stats.tcp.ofoPruned,
        recoveries: stack.stats.tcp.sackRecoveries + stack.stats.tcp.renoRecoveries,
        undos: stack.stats.tcp.undos,
        rtos: stack.stats.tcp.timeouts,
        linuxCounters,
        lost,
        info: infoLine,
      };
    }, { capture: false, mac: OUR_MAC, allocator: stack.allocator, clock });
  } finally {
    await stack.close();
    outer!.close();
    clock.close();
    await Deno.remove(dir, { recursive: true });
  }
}

test(
  "interop TCP (issue 11, RFC 2018/6675/8985): 1 % loss each way on an in-process impairing bridge between the TAP and the stack — Linux → netwasm and netwasm → Linux with SACK on and off at both ends; sha256 match, valid SACK blocks only when on, tshark clean; goodput printed",
  async () => {
    const on = await transfer(true);
    const off = await transfer(false);
    const show = (r: Result) =>
      `Linux → netwasm ${r.inMbps.toFixed(2)} Mbit/s, netwasm → Linux ${
        r.outMbps.toFixed(2)
      } Mbit/s, frames lost on the bridge ${r.lost}, our retransmissions ${r.ourRetrans} (recoveries ${r.recoveries}, undone ${r.undos}, RTOs ${r.rtos}), our out-of-order prunes ${r.ofoPruned}, ` +
      `Linux sender: ${r.linuxCounters}; ` +
      `frames with SACK from Linux ${r.sack.linux} (D-SACK ${r.sack.dsackLinux}) / from us ${r.sack.ours} (D-SACK ${r.sack.dsackOurs}); ${r.wire}; ${r.info}`;
    figure("TCP SACK on, 1 % loss", show(on));
    figure("TCP SACK off, 1 % loss", show(off));
    figure(
      "TCP SACK on / off",
      `Linux → netwasm ${(on.inMbps / off.inMbps).toFixed(2)}×, netwasm → Linux ${
        (on.outMbps / off.outMbps).toFixed(2)
      }× (issue 11 asks ≥ 2×; measured, not asserted)`,
    );
    assert.equal(on.sack.bad, [], "invalid SACK blocks");
    assert.ok(on.sack.linux > 0, "Linux sent SACK blocks to us");
    assert.ok(on.sack.ours > 0, "we sent SACK blocks to Linux");
    assert.is(off.sack.linux + off.sack.ours, 0, "no SACK blocks with SACK off");
  },
  requireInterop("TCP SACK under loss against Linux", {
    tools: ["python3", "sysctl", ...CAPTURE_TOOLS],
  }),
);
