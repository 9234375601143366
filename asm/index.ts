// Entry point of the hot-path module. build.ts compiles this file four ways
// (scalar / SIMD, each with a plain or a shared imported memory); see the
// module comments of checksum.ts and ranges.ts for the semantics, and
// src/wasm/reference.ts for the TypeScript twins.
export {
  checksum,
  checksumBatch,
  checksumCopy,
  csumUpdate16,
  csumUpdate32,
  gather,
  gatherChecksum,
  ipv4PseudoSum,
} from "./checksum";
export { rangeAdvance, rangeCovered, rangeFind, rangeInit, rangeInsert, rangeSack } from "./ranges";
