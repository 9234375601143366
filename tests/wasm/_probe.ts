/**
 * Subprocess probe for bindings_test.ts: binds the hot paths in a host with
 * a handicap the test process cannot give itself (run under
 * `--v8-flags=--no-enable-sse4-1`, V8 has no WebAssembly SIMD; with the
 * argument `no-wasm` the script deletes `WebAssembly` before importing) and
 * prints what it saw as JSON.
 *
 * @example
 * ```sh
 * deno run --v8-flags=--no-enable-sse4-1 tests/wasm/_probe.ts
 * ```
 *
 * @module
 */
const noWasm = Deno.args[0] === "no-wasm";
if (noWasm) delete (globalThis as { WebAssembly?: unknown }).WebAssembly;

const { bindHotPaths, engineSupported } = await import("../../src/wasm/bindings.ts");
const { checksum } = await import("../../src/wasm/checksum.ts");

function host(): { memory: WebAssembly.Memory; u8: Uint8Array } {
  if (noWasm) {
    // No WebAssembly.Memory to be had: a stand-in with the same `buffer`.
    const buffer = new ArrayBuffer(65536 * 2);
    return { memory: { buffer } as unknown as WebAssembly.Memory, u8: new Uint8Array(buffer) };
  }
  const memory = new WebAssembly.Memory({ initial: 2 });
  return { memory, u8: new Uint8Array(memory.buffer) };
}

function attempt(engine: "auto" | "simd" | "scalar" | "reference"): string {
  try {
    const h = host();
    h.u8.set([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 65537);
    const hot = bindHotPaths(h, { engine });
    const viaFacade = checksum(h.u8, 65537, 8);
    return `${hot.kind}:${hot.checksum(65537, 8, 0).toString(16)}:${viaFacade.toString(16)}`;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

console.log(JSON.stringify({
  simdSupported: engineSupported("simd"),
  scalarSupported: engineSupported("scalar"),
  auto: attempt("auto"),
  simd: attempt("simd"),
  scalar: attempt("scalar"),
  reference: attempt("reference"),
}));
