/**
 * Deno-only pcap tests: the file sink, and validation of a pipe capture by an
 * independent dissector (`tshark`, the filter `TSHARK_BAD_FRAME_FILTER`).
 *
 * @module
 */
import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { concatChunks, PcapWriter, readPcap, recordPcap } from "../../src/link/pcap.ts";
import { PcapFileSink } from "../../src/link/pcap_file.ts";
import { createPipe } from "../../src/link/pipe.ts";
import { checksum, finishChecksum, ipv4PseudoSum } from "../../src/wasm/checksum.ts";
import { linkEnv } from "./_harness.ts";

/** `name` resolved on PATH, or null. */
function findOnPath(name: string): string | null {
  if (!isDeno) return null;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not in this directory
    }
  }
  return null;
}

const TSHARK = findOnPath("tshark");
const IN_CI = isDeno && Deno.env.get("CI") === "true";

const IP_A = 0xc0000201; // 192.0.2.1
const IP_B = 0xc0000202; // 192.0.2.2
const MAC_A = [0x02, 0, 0, 0, 0, 0x01];
const MAC_B = [0x02, 0, 0, 0, 0, 0x02];

/**
 * A well-formed Ethernet II / IPv4 / UDP frame, built by hand (the wire-format
 * library is not a dependency of the link tests). Checksums are real, so the
 * dissector's checksum validation has something to check.
 */
function udpFrame(fromA: boolean, i: number, payloadLen: number, badUdpSum = false): Uint8Array {
  const udpLen = 8 + payloadLen;
  const ipLen = 20 + udpLen;
  const f = new Uint8Array(14 + ipLen);
  const v = new DataView(f.buffer);
  f.set(fromA ? MAC_B : MAC_A, 0);
  f.set(fromA ? MAC_A : MAC_B, 6);
  v.setUint16(12, 0x0800);
  const src = fromA ? IP_A : IP_B;
  const dst = fromA ? IP_B : IP_A;
  // IPv4 header (RFC 791): no options, DF, TTL 64, protocol 17.
  f[14] = 0x45;
  v.setUint16(16, ipLen);
  v.setUint16(18, i & 0xffff);
  v.setUint16(20, 0x4000);
  f[22] = 64;
  f[23] = 17;
  v.setUint32(26, src);
  v.setUint32(30, dst);
  v.setUint16(24, finishChecksum(checksum(f, 14, 20)));
  // UDP (RFC 768) with a text payload.
  v.setUint16(34, fromA ? 40000 : 40001);
  v.setUint16(36, fromA ? 40001 : 40000);
  v.setUint16(38, udpLen);
  const text = new TextEncoder().encode(`netwasm pipe capture frame ${i} `);
  for (let k = 0; k < payloadLen; k++) f[42 + k] = text[k % text.length]!;
  let sum = finishChecksum(checksum(f, 34, udpLen, ipv4PseudoSum(src, dst, 17, udpLen)));
  if (sum === 0) sum = 0xffff; // RFC 768: a computed zero is sent as all ones
  if (badUdpSum) sum ^= 0x5555;
  v.setUint16(40, sum);
  return f;
}

const TSHARK_FINDINGS = 'ip.checksum.status=="Bad" || tcp.checksum.status=="Bad" || ' +
  'udp.checksum.status=="Bad" || icmp.checksum.status=="Bad" || _ws.malformed || ' +
  '_ws.expert.severity >= "Error"';

/** Run tshark on `file`; stderr without tshark's warning about running as root. */
async function tshark(
  file: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(TSHARK!, {
    args: [
      "-n",
      "-r",
      file,
      "-o",
      "ip.check_checksum:TRUE",
      "-o",
      "tcp.check_checksum:TRUE",
      "-o",
      "udp.check_checksum:TRUE",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  const err = dec.decode(r.stderr).split("\n").filter((l) =>
    l.trim() !== "" && !/^Running as user "root"/.test(l)
  ).join("\n");
  return { code: r.code, out: dec.decode(r.stdout), err };
}

test("pcap_file: the file sink writes exactly the writer's bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netwasm_pcap_" });
  try {
    const path = `${dir}/t.pcap`;
    const file = new PcapFileSink(path);
    const chunks: Uint8Array[] = [];
    const w = new PcapWriter((c) => (chunks.push(c), file.write(c)));
    for (let i = 0; i < 20; i++) {
      const f = udpFrame(true, i, 10 + i * 50);
      w.writeFrame(f, 0, f.length, i * 1.25);
    }
    assert.ok(file.isOpen);
    file.close();
    file.close();
    assert.not.ok(file.isOpen);
    assert.throws(() => file.write(new Uint8Array(1)), TypeError);
    const bytes = await Deno.readFile(path);
    assert.equal(bytes, concatChunks(chunks));
    const r = readPcap(bytes);
    assert.ok(r.ok && r.frames.length === 20);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, { ignore: !isDeno });

test(
  "pcap_file: a capture of an impaired pipe opens in tshark with no checksum or malformed findings",
  async () => {
    if (TSHARK === null) {
      assert.unreachable(
        "tshark is not installed, and CI=true requires it (apt-get install tshark)",
      );
    }
    const dir = await Deno.makeTempDir({ prefix: "netwasm_tshark_" });
    try {
      const env = linkEnv();
      const [a, b] = createPipe({
        allocator: env.allocator,
        clock: env.clock,
        seed: 17,
        impair: { delay: 2, jitter: 1, loss: 0.05, duplicate: 0.05, reorder: 0.05 },
        bToA: { rate: 10_000_000, queueLimit: 20 },
      });
      a.up();
      b.up();
      for (const d of [a, b]) d.setRxNotify((dev) => dev.poll(Infinity, (skb) => skb.free()));
      const path = `${dir}/pipe.pcap`;
      const file = new PcapFileSink(path);
      // One end, both directions: each frame once (what a sent, what reached a).
      const rec = recordPcap(a, file.write, { epochMs: 1_700_000_000_000 });
      for (let i = 0; i < 200; i++) {
        const len = 18 + ((i * 97) % 1400);
        a.transmit(env.allocator.fromBytes(udpFrame(true, i, len))!);
        if (i % 2 === 0) b.transmit(env.allocator.fromBytes(udpFrame(false, i, len))!);
        env.clock.advance(0.5);
      }
      env.clock.runUntilIdle();
      rec.stop();
      file.close();
      a.close();
      env.assertNoLeak();
      assert.ok(rec.frames > 250, `only ${rec.frames} frames captured`);

      const findings = await tshark(path, ["-Y", TSHARK_FINDINGS]);
      assert.is(findings.code, 0, findings.err);
      assert.is(findings.err, "", "tshark complained while reading the capture");
      assert.is(findings.out, "", "tshark findings");

      const listed = await tshark(path, [
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "udp.srcport",
      ]);
      assert.is(listed.code, 0, listed.err);
      const lines = listed.out.trim().split("\n");
      assert.is(lines.length, rec.frames, "tshark counts every captured frame");
      assert.ok(lines.every((l) => /^\d+\t4000[01]$/.test(l)), "every frame dissected as UDP");

      // Control: the same check does flag a bad UDP checksum (it is not vacuous).
      const badPath = `${dir}/bad.pcap`;
      const bad = new PcapFileSink(badPath);
      const w = new PcapWriter(bad.write);
      const good = udpFrame(true, 1, 40);
      const broken = udpFrame(true, 2, 40, true);
      w.writeFrame(good, 0, good.length, 0);
      w.writeFrame(broken, 0, broken.length, 1);
      bad.close();
      const control = await tshark(badPath, [
        "-Y",
        TSHARK_FINDINGS,
        "-T",
        "fields",
        "-e",
        "frame.number",
      ]);
      assert.is(control.code, 0, control.err);
      assert.is(control.out.trim(), "2");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  {
    ignore: !isDeno || (TSHARK === null && !IN_CI),
    reason: "tshark is not installed (apt-get install tshark); CI=true makes this a failure",
  },
);
