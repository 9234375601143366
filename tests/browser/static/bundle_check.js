// Loads /netwasm.js and exercises the arena, the WASM bindings and the
// checksum, in a page or a Worker (tests/browser/chromium_test.ts). Same
// checks as tests/wasm/build_test.ts, plus a shared-memory arena when the
// context is cross-origin isolated.
export async function check() {
  const m = await import("/netwasm.js");
  const arena = new m.Arena();
  const hot = m.hotPathsFor(arena);
  const off = arena.tryAllocSlot(8);
  arena.u8.set([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], off);
  const result = {
    kind: hot.kind,
    checksum: m.checksum(arena.u8, off, 8).toString(16),
    isolated: globalThis.crossOriginIsolated === true,
    shared: "none",
    exports: Object.keys(m).length,
  };
  if (result.isolated) {
    const sharedArena = new m.Arena({ shared: true });
    const sharedHot = m.hotPathsFor(sharedArena);
    const isSab = sharedArena.memory.buffer instanceof SharedArrayBuffer;
    result.shared = `${sharedHot.kind}${isSab ? " SharedArrayBuffer" : ""}`;
  }
  return result;
}
