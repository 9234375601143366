/**
 * Real frames captured from the Linux kernel, as hex, for known-answer tests.
 *
 * How they were made: three network namespaces joined by veth pairs (A
 * 192.0.2.1 / 02:00:00:00:00:01 ↔ B 192.0.2.2 / 02:00:00:00:00:02, and B ↔ C
 * 198.51.100.0/24 with MTU 1280, B forwarding), checksum offload off on the
 * veths (`ethtool -K … tx off rx off`) so the captured checksums are the real
 * ones, `tcpdump -i b0` in B while A ran `ping`, `nc` (TCP to a listener, UDP
 * to a closed port), `curl` to a closed port, `ping -M do -s 1400` and
 * `ping -t 1` towards C, and `ping -R`. tshark 4.0.17 decoded every
 * frame below and reported each IPv4, ICMP, UDP and TCP checksum "Good": the
 * independent cross-check of our checksum code.
 *
 * @module
 */

/** Decode a hex string into bytes. */
export function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Encode bytes as lower-case hex. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** ARP who-has 192.0.2.2 tell 192.0.2.1 (broadcast). 42 bytes. */
export const ARP_REQUEST: Uint8Array = hex(
  "ffffffffffff02000000000108060001080006040001020000000001c0000201000000000000c0000202",
);

/** ARP 192.0.2.2 is-at 02:00:00:00:00:02. 42 bytes. */
export const ARP_REPLY: Uint8Array = hex(
  "02000000000102000000000208060001080006040002020000000002c0000202020000000001c0000201",
);

/** ping 192.0.2.1 → 192.0.2.2, id 0x157e seq 1, 56 data bytes, DF. 98 bytes. */
export const ICMP_ECHO_REQUEST: Uint8Array = hex(
  "02000000000202000000000108004500005453af4000400162f6c0000201c000020208009e1c157e00012f7b016b0000" +
    "000051ab030000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435" +
    "3637",
);

/** its reply (id 0x2092, no DF). 98 bytes. */
export const ICMP_ECHO_REPLY: Uint8Array = hex(
  "020000000001020000000002080045000054209200004001d613c0000202c00002010000a61c157e00012f7b016b0000" +
    "000051ab030000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435" +
    "3637",
);

/** 42678 → 8080 SYN, win 64240, <mss 1460,sackOK,TS val 1664594320 ecr 0,nop,wscale 10>. 74 bytes. */
export const TCP_SYN: Uint8Array = hex(
  "02000000000202000000000108004500003c2257400040069461c0000201c0000202a6b61f90c1bc5a9700000000a002" +
    "faf0d1a50000020405b40402080a6337b190000000000103030a",
);

/** 8080 → 42678 SYN-ACK, <mss 1460,sackOK,TS val 1841477257 ecr 1664594320,nop,wscale 10>. 74 bytes. */
export const TCP_SYN_ACK: Uint8Array = hex(
  "02000000000102000000000208004500003c000040004006b6b8c0000202c00002011f90a6b677c03485c1bc5a98a012" +
    "fe88fd6a0000020405b40402080a6dc2b6896337b1900103030a",
);

/** 42678 → 8080 PSH-ACK, 6 bytes "hello\n", <nop,nop,TS val 1664594320 ecr 1841477257>. 72 bytes. */
export const TCP_DATA: Uint8Array = hex(
  "02000000000202000000000108004500003a2259400040069461c0000201c0000202a6b61f90c1bc5a9877c034868018" +
    "003fe69900000101080a6337b1906dc2b68968656c6c6f0a",
);

/** 81 → 55970 RST-ACK from a closed port, no options. 54 bytes. */
export const TCP_RST_ACK: Uint8Array = hex(
  "020000000001020000000002080045000028000040004006b6ccc0000202c00002010051daa20000000042f2451b5014" +
    "0000c8cb0000",
);

/** 59241 → 9999, 8 bytes "netwasm\n". 50 bytes. */
export const UDP_DATAGRAM: Uint8Array = hex(
  "020000000002020000000001080045000024abde400040110ae7c0000201c0000202e769270f0010bbf66e6574776173" +
    "6d0a",
);

/** port unreachable for the UDP datagram above (tos 0xc0, quotes all of it). 78 bytes. */
export const ICMP_PORT_UNREACHABLE: Uint8Array = hex(
  "020000000001020000000002080045c00040209700004001d562c0000202c0000201030381220000000045000024abde" +
    "400040110ae7c0000201c0000202e769270f0010bbf66e65747761736d0a",
);

/** frag needed, next-hop MTU 1280, from router 192.0.2.2 about a 1428-byte DF ping (quote cut at 576 bytes of IP). 590 bytes. */
export const ICMP_FRAG_NEEDED: Uint8Array = hex(
  "020000000001020000000002080045c00240217000004001d289c0000202c000020103040ec900000500450005940000" +
    "400040014933c0000201c63364010800b55f15a50001357b016b0000000081f709000000000010111213141516171819" +
    "1a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40414243444546474849" +
    "4a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70717273747576777879" +
    "7a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9" +
    "aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9" +
    "dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00010203040506070809" +
    "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233343536373839" +
    "3a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60616263646566676869" +
    "6a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f90919293949596979899" +
    "9a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9" +
    "cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9" +
    "fafbfcfdfeff0001020304050607",
);

/** TTL exceeded in transit, from router 192.0.2.2 about a TTL-1 ping. 126 bytes. */
export const ICMP_TIME_EXCEEDED: Uint8Array = hex(
  "020000000001020000000002080045c00070217100004001d458c0000202c00002010b00f4ff00000000450000541cef" +
    "400001017084c0000201c633640108004c9c15a70001357b016b0000000096020a000000000010111213141516171819" +
    "1a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
);

/** ping -R: IPv4 options NOP + Record Route (39 bytes, unaligned), IHL 15. 90 bytes. */
export const IPV4_RECORD_ROUTE_REQUEST: Uint8Array = hex(
  "02000000000202000000000108004f00004c56fb400040016ba1c0000201c000020201072708c0000201000000000000" +
    "00000000000000000000000000000000000000000000000000000800d61d15d100010001020304050607",
);

/** its reply: Record Route (39 bytes) + EOL, 3 hops recorded. 90 bytes. */
export const IPV4_RECORD_ROUTE_REPLY: Uint8Array = hex(
  "02000000000102000000000208004f00004c251f00004001a921c0000202c0000201072710c0000201c0000202c00002" +
    "02000000000000000000000000000000000000000000000000000000de1d15d100010001020304050607",
);

/** XOR `mask` into byte `i` of `b` (a one-line corruption for tests). */
export function flip(b: Uint8Array, i: number, mask = 1): void {
  b[i] = b[i]! ^ mask;
}
