import * as assert from "uvu/assert";
import fc from "fast-check";
import { test } from "../_util/test.ts";
import {
  checkVnetRx,
  negotiateOffload,
  readVnetHdr,
  TunOffload,
  VNET_MAX_FRAME,
  VnetFlag,
  VnetGso,
  vnetGsoHdr,
  VnetHdr,
  writeVnetHdr,
} from "../../src/link/virtio_net.ts";
import { checksum, finishChecksum, ipv4PseudoSum } from "../../src/wasm/checksum.ts";

/** An Ethernet + IPv4 + TCP (20-byte header) frame with `payload` bytes and a full checksum. */
function tcp4Frame(payload: number, flags = 0x10): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20 + payload);
  const v = new DataView(f.buffer);
  v.setUint16(12, 0x0800);
  f[14] = 0x45;
  v.setUint16(16, 20 + 20 + payload);
  f[22] = 64;
  f[23] = 6;
  v.setUint32(26, 0xc0000202);
  v.setUint32(30, 0xc0000201);
  v.setUint16(24, finishChecksum(checksum(f, 14, 20)));
  v.setUint16(34, 5201);
  v.setUint16(36, 40000);
  v.setUint32(38, 1000);
  f[46] = 5 << 4;
  f[47] = flags;
  v.setUint16(48, 65535);
  for (let i = 0; i < payload; i++) f[54 + i] = (i * 7 + 3) & 0xff;
  const len = 20 + payload;
  v.setUint16(
    50,
    finishChecksum(checksum(f, 34, len, ipv4PseudoSum(0xc0000202, 0xc0000201, 6, len))),
  );
  return f;
}

/** An Ethernet + IPv6 + TCP frame with `payload` bytes and a full checksum. */
function tcp6Frame(payload: number): Uint8Array {
  const f = new Uint8Array(14 + 40 + 20 + payload);
  const v = new DataView(f.buffer);
  v.setUint16(12, 0x86dd);
  f[14] = 0x60;
  v.setUint16(18, 20 + payload);
  f[20] = 6;
  f[21] = 64;
  f.set([0x20, 0x01, 0x0d, 0xb8], 22);
  f[37] = 2;
  f.set([0x20, 0x01, 0x0d, 0xb8], 38);
  f[53] = 1;
  f[66] = 5 << 4;
  f[67] = 0x10;
  for (let i = 0; i < payload; i++) f[74 + i] = i & 0xff;
  const len = 20 + payload;
  const pseudo = checksum(f, 22, 32, len + 6);
  v.setUint16(70, finishChecksum(checksum(f, 54, len, pseudo)));
  return f;
}

/** What a cutter does with a partial checksum: sum from csum_start (seed included) and complement. */
function finishPartial(f: Uint8Array, start: number): number {
  return finishChecksum(checksum(f, start, f.length - start));
}

test("virtio: header fields round-trip little-endian through write/read", () => {
  const b = new Uint8Array(10);
  writeVnetHdr(b, 0, VnetFlag.NEEDS_CSUM, VnetGso.TCPV4 | VnetGso.ECN, 66, 1448, 34, 16);
  assert.equal([...b], [1, 0x81, 66, 0, 0xa8, 5, 34, 0, 16, 0]);
  const h = readVnetHdr(b, 0, new VnetHdr());
  assert.equal(
    [h.flags, h.gsoType, h.hdrLen, h.gsoSize, h.csumStart, h.csumOffset],
    [1, 0x81, 66, 1448, 34, 16],
  );
});

test("virtio TX: a TCP/IPv4 super-segment gets GSO TCPV4 and the seed the cutter finishes to the right checksum", () => {
  const f = tcp4Frame(5000);
  const want = new DataView(f.buffer).getUint16(50);
  const hdr = new Uint8Array(10);
  assert.ok(vnetGsoHdr(hdr, f, 0, f.length, 1448, false));
  const h = readVnetHdr(hdr, 0, new VnetHdr());
  assert.is(h.flags, VnetFlag.NEEDS_CSUM);
  assert.is(h.gsoType, VnetGso.TCPV4);
  assert.is(h.gsoSize, 1448);
  assert.is(h.hdrLen, 54);
  assert.is(h.csumStart, 34);
  assert.is(h.csumOffset, 16);
  // The field now holds the folded pseudo-header sum (Linux CHECKSUM_PARTIAL)...
  assert.is(new DataView(f.buffer).getUint16(50), ipv4PseudoSum(0xc0000202, 0xc0000201, 6, 5020));
  // ...and finishing from it gives exactly the checksum the stack had computed.
  assert.is(finishPartial(f, h.csumStart), want);
});

test("virtio TX: CWR marks the GSO type ECN; IPv6 needs TSO6; non-TCP is refused", () => {
  const cwr = tcp4Frame(3000, 0x90);
  const hdr = new Uint8Array(10);
  assert.ok(vnetGsoHdr(hdr, cwr, 0, cwr.length, 1448, false));
  assert.is(hdr[1], VnetGso.TCPV4 | VnetGso.ECN);
  const six = tcp6Frame(4000);
  const want = new DataView(six.buffer).getUint16(70);
  assert.not.ok(vnetGsoHdr(hdr, six.slice(), 0, six.length, 1428, false), "TSO6 not agreed");
  assert.ok(vnetGsoHdr(hdr, six, 0, six.length, 1428, true));
  assert.is(hdr[1], VnetGso.TCPV6);
  assert.is(readVnetHdr(hdr, 0, new VnetHdr()).csumStart, 54);
  assert.is(finishPartial(six, 54), want);
  const udp = tcp4Frame(3000);
  udp[23] = 17;
  assert.not.ok(vnetGsoHdr(hdr, udp, 0, udp.length, 1448, false));
});

test("virtio RX: headers that describe their frame are accepted", () => {
  const h = new VnetHdr();
  const plain = tcp4Frame(1000);
  assert.is(checkVnetRx(h, plain, 0, plain.length, 1514), null);
  const big = tcp4Frame(60000);
  Object.assign(h, {
    flags: VnetFlag.NEEDS_CSUM,
    gsoType: VnetGso.TCPV4,
    gsoSize: 1448,
    csumStart: 34,
    csumOffset: 16,
    hdrLen: 54,
  });
  assert.is(checkVnetRx(h, big, 0, big.length, 1514), null);
  h.flags = VnetFlag.DATA_VALID;
  assert.is(checkVnetRx(h, big, 0, big.length, 1514), null);
});

test("virtio RX: every malformed header is refused with its reason", () => {
  const f = tcp4Frame(60000);
  const base = {
    flags: VnetFlag.NEEDS_CSUM,
    gsoType: VnetGso.TCPV4,
    gsoSize: 1448,
    csumStart: 34,
    csumOffset: 16,
    hdrLen: 54,
  };
  const check = (over: Partial<VnetHdr>, frame = f, len = frame.length, max = 1514) =>
    checkVnetRx(Object.assign(new VnetHdr(), base, over), frame, 0, len, max);
  assert.is(check({ flags: 0x08 }), "vnet_bad_flags");
  assert.is(check({ flags: VnetFlag.RSC_INFO }), "vnet_bad_flags");
  assert.is(check({ gsoType: 2 }), "vnet_bad_gso_type");
  assert.is(check({ gsoType: VnetGso.UDP }), "vnet_bad_gso_type");
  assert.is(check({ gsoType: VnetGso.ECN }), "vnet_bad_gso_type");
  assert.is(check({ gsoSize: 0 }), "vnet_bad_gso_size");
  assert.is(check({ csumStart: 10 }), "vnet_bad_csum_offset");
  assert.is(check({ csumStart: f.length - 10, csumOffset: 16 }), "vnet_bad_csum_offset");
  assert.is(check({ gsoType: VnetGso.TCPV6 }), "vnet_gso_mismatch");
  const notTcp = f.slice();
  notTcp[23] = 17;
  assert.is(check({}, notTcp), "vnet_gso_mismatch");
  const arp = new Uint8Array(60);
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.is(check({ flags: 0, csumStart: 0, csumOffset: 0 }, arp), "vnet_gso_mismatch");
  assert.is(
    check({ flags: 0, gsoType: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 }, f, f.length, 1514),
    "vnet_oversized",
  );
  assert.is(check({}, new Uint8Array(VNET_MAX_FRAME + 1)), "vnet_oversized");
  assert.is(check({ flags: 0 }, f, 10), "vnet_short");
});

test("virtio RX: random headers and frames are classified, never thrown on", () => {
  fc.assert(
    fc.property(
      fc.record({
        flags: fc.integer({ min: 0, max: 255 }),
        gsoType: fc.integer({ min: 0, max: 255 }),
        hdrLen: fc.integer({ min: 0, max: 65535 }),
        gsoSize: fc.integer({ min: 0, max: 65535 }),
        csumStart: fc.integer({ min: 0, max: 65535 }),
        csumOffset: fc.integer({ min: 0, max: 65535 }),
      }),
      fc.uint8Array({ minLength: 0, maxLength: 200 }),
      (hdr, frame) => {
        const r = checkVnetRx(Object.assign(new VnetHdr(), hdr), frame, 0, frame.length, 1514);
        assert.ok(r === null || r.startsWith("vnet_"));
        if (r === null && (hdr.flags & VnetFlag.NEEDS_CSUM)) {
          assert.ok(hdr.csumStart + hdr.csumOffset + 2 <= frame.length);
        }
      },
    ),
    { seed: 10, numRuns: 2000 },
  );
});

test("virtio: TUNSETOFFLOAD falls back from the full set to smaller ones, then none", () => {
  const tried: number[] = [];
  const full = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.TSO_ECN;
  assert.is(negotiateOffload((f) => (tried.push(f), true)), full);
  assert.equal(tried, [full]);
  tried.length = 0;
  assert.is(
    negotiateOffload((f) => (tried.push(f), (f & TunOffload.TSO_ECN) === 0)),
    TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6,
  );
  tried.length = 0;
  assert.is(negotiateOffload((f) => (tried.push(f), f === 0)), 0);
  assert.equal(tried, [full, full & ~TunOffload.TSO_ECN, 0x03, 0x01, 0]);
});
