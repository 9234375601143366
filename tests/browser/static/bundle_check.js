// Loads /netwasm.js and exercises the arena, the WASM bindings and the
// checksum, in a page or a Worker (tests/browser/chromium_test.ts). Same
// checks as tests/wasm/build_test.ts, plus a shared-memory arena when the
// context is cross-origin isolated.
export async function check() {
  const m = await import("/netwasm.js");
  // Through the public API: a stack binds the hot paths to its arena.
  const stack = new m.Stack({ clock: new m.VirtualClock() });
  const hot = stack.hotPaths;
  const off = stack.arena.tryAllocSlot(8);
  stack.arena.u8.set([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], off);
  const result = {
    kind: hot.kind,
    checksum: hot.checksum(off, 8, 0).toString(16),
    isolated: globalThis.crossOriginIsolated === true,
    shared: "none",
    exports: Object.keys(m).length,
  };
  if (result.isolated) {
    const sharedArena = new m.Arena({ shared: true });
    const shared = new m.Stack({ clock: new m.VirtualClock(), arena: sharedArena });
    const isSab = sharedArena.memory.buffer instanceof SharedArrayBuffer;
    result.shared = `${shared.hotPaths.kind}${isSab ? " SharedArrayBuffer" : ""}`;
    await shared.close();
  }
  await stack.close();
  return result;
}
