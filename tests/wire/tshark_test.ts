/**
 * Independent decoder check: frames built by our emitters are written to a
 * pcap and decoded by tshark (Wireshark), which must find every checksum
 * "Good" and read the same TCP option values. Skipped where tshark is not
 * installed (`apt-get install -y tshark`) or outside Deno.
 */
import * as assert from "uvu/assert";
import fc from "fast-check";
import { isDeno, test, testSeed } from "../_util/test.ts";
import { emitEthernet, EtherType } from "../../src/wire/ethernet.ts";
import { emitIcmp } from "../../src/wire/icmp.ts";
import { emitIpv4, IpProtocol, ipv4HeaderLength } from "../../src/wire/ipv4.ts";
import { emitTcp, tcpHeaderLength } from "../../src/wire/tcp.ts";
import type { TcpOptions } from "../../src/wire/tcp_options.ts";
import { emitUdp } from "../../src/wire/udp.ts";
import { icmpMessage, record, tcpSegment, u16 } from "./_arbitraries.ts";

function hasTshark(): boolean {
  if (!isDeno) return false;
  try {
    return new Deno.Command("tshark", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** A pcap file (microsecond, Ethernet link type) holding `frames`. */
function pcap(frames: Uint8Array[]): Uint8Array {
  const size = 24 + frames.reduce((s, f) => s + 16 + f.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  let at = 24;
  frames.forEach((f, i) => {
    dv.setUint32(at, i, true);
    dv.setUint32(at + 8, f.length, true);
    dv.setUint32(at + 12, f.length, true);
    out.set(f, at + 16);
    at += 16 + f.length;
  });
  return out;
}

/** Wrap a transport payload builder in Ethernet + IPv4 (192.0.2.1 → 198.51.100.2). */
function frame(protocol: number, tl: number, build: (u8: Uint8Array, at: number) => void) {
  const hl = ipv4HeaderLength(0);
  const u8 = new Uint8Array(14 + hl + tl);
  const ip = { src: 0xc0000201, dst: 0xc6336402 };
  build(u8, 14 + hl);
  emitIpv4(
    {
      ...ip,
      tos: 0,
      id: 1,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol,
      payloadLength: tl,
    },
    u8,
    14,
  );
  emitEthernet({ dst: 0x020000000002, src: 0x020000000001, ethertype: EtherType.IPV4 }, u8, 0);
  return u8;
}

const PH = { src: 0xc0000201, dst: 0xc6336402 };

test(
  "tshark: emitted TCP/UDP/ICMP frames have Good checksums and the same TCP options",
  async () => {
    const seed = testSeed();
    const tcp = fc.sample(tcpSegment, { seed, numRuns: 150 });
    const udp = fc.sample(record({ sp: u16, dp: u16, data: fc.uint8Array({ maxLength: 200 }) }), {
      seed,
      numRuns: 100,
    });
    const icmp = fc.sample(icmpMessage, { seed, numRuns: 100 });
    const frames: Uint8Array[] = [];
    const expectOptions: TcpOptions[] = [];
    for (const { repr, data } of tcp) {
      const hl = tcpHeaderLength(repr.options);
      frames.push(frame(IpProtocol.TCP, hl + data.length, (u8, at) => {
        u8.set(data, at + hl);
        emitTcp(repr, u8, at, PH);
      }));
      expectOptions.push(repr.options);
    }
    for (const { sp, dp, data } of udp) {
      frames.push(frame(IpProtocol.UDP, 8 + data.length, (u8, at) => {
        u8.set(data, at + 8);
        emitUdp({ srcPort: sp, dstPort: dp, payloadLength: data.length }, u8, at, PH);
      }));
    }
    for (const { repr, data } of icmp) {
      frames.push(frame(IpProtocol.ICMP, 8 + data.length, (u8, at) => {
        u8.set(data, at + 8);
        emitIcmp(repr, u8, at);
      }));
    }
    const file = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await Deno.writeFile(file, pcap(frames));
      const fields = [
        "frame.number",
        "ip.checksum.status",
        "tcp.checksum.status",
        "udp.checksum.status",
        "icmp.checksum.status",
        "tcp.options.mss_val",
        "tcp.options.wscale.shift",
        "tcp.options.sack_perm",
        "tcp.options.timestamp.tsval",
        "tcp.options.timestamp.tsecr",
        "tcp.options.sack_le",
        "tcp.options.sack_re",
      ];
      const out = await new Deno.Command("tshark", {
        args: [
          "-r",
          file,
          "-o",
          "ip.check_checksum:TRUE",
          "-o",
          "tcp.check_checksum:TRUE",
          "-o",
          "udp.check_checksum:TRUE",
          "-o",
          "tcp.relative_sequence_numbers:FALSE",
          "-o",
          "tcp.analyze_sequence_numbers:FALSE",
          "-T",
          "fields",
          "-E",
          "occurrence=f",
          ...fields.flatMap((f) => ["-e", f]),
        ],
        stdout: "piped",
        stderr: "null",
      }).output();
      assert.ok(out.success, "tshark failed");
      const rows = new TextDecoder().decode(out.stdout).trimEnd().split("\n").map((l) =>
        l.split("\t")
      );
      assert.is(rows.length, frames.length);
      const GOOD = "1";
      rows.forEach((row, i) => {
        const [, ipSt, tcpSt, udpSt, icmpSt, mss, ws, sackOk, tsVal, tsEcr, sle, sre] = row;
        assert.is(ipSt, GOOD, `frame ${i + 1}: IPv4 checksum`);
        if (i < tcp.length) {
          assert.is(tcpSt, GOOD, `frame ${i + 1}: TCP checksum`);
          const o = expectOptions[i]!;
          assert.is(mss, o.mss === null ? "" : String(o.mss), `frame ${i + 1}: MSS`);
          assert.is(ws, o.windowScale === null ? "" : String(o.windowScale), `frame ${i + 1}: WS`);
          assert.is(sackOk !== "", o.sackPermitted, `frame ${i + 1}: SACK-permitted`);
          assert.is(tsVal, o.tsVal === null ? "" : String(o.tsVal), `frame ${i + 1}: TSval`);
          assert.is(tsEcr, o.tsVal === null ? "" : String(o.tsEcr), `frame ${i + 1}: TSecr`);
          assert.is(
            sle,
            o.sackBlocks === null ? "" : String(o.sackBlocks[0]),
            `frame ${i + 1}: SACK`,
          );
          assert.is(
            sre,
            o.sackBlocks === null ? "" : String(o.sackBlocks[1]),
            `frame ${i + 1}: SACK`,
          );
        } else if (i < tcp.length + udp.length) {
          assert.is(udpSt, GOOD, `frame ${i + 1}: UDP checksum`);
        } else {
          assert.is(icmpSt, GOOD, `frame ${i + 1}: ICMP checksum`);
        }
      });
    } finally {
      await Deno.remove(file);
    }
  },
  { ignore: !hasTshark(), reason: "tshark not installed" },
);
