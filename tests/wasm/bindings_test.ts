import * as assert from "uvu/assert";
import { isDeno, test } from "../_util/test.ts";
import { Arena } from "../../src/skb/arena.ts";
import {
  bindHotPaths,
  engineSupported,
  type HotPaths,
  hotPathsFor,
  type MemoryHost,
} from "../../src/wasm/bindings.ts";
import { checksum } from "../../src/wasm/checksum.ts";
import { KINDS } from "./_engines.ts";

const RFC1071_WORDS = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
const SMALL = { classes: [{ size: 2048, max: 8, initial: 8 }] } as const;

/** Write the RFC 1071 words at `off` and check engine `hot` and the facade on them. */
function checkVector(host: MemoryHost, hot: HotPaths, off: number): void {
  host.u8.set(RFC1071_WORDS, off);
  assert.is(hot.checksum(off, 8, 0), 0xddf2, hot.kind);
  assert.is(checksum(host.u8, off, 8), 0xddf2, `${hot.kind} via the facade`);
}

test("bindHotPaths: auto picks SIMD where supported; forcing each engine gives that engine", () => {
  const arena = new Arena(SMALL);
  const off = arena.tryAllocSlot(64) + 1;
  assert.ok(engineSupported("simd"), "Deno's V8 runs WebAssembly SIMD");
  const auto = bindHotPaths(arena);
  assert.is(auto.kind, "simd");
  assert.is(auto.shared, false);
  checkVector(arena, auto, off);
  for (const engine of KINDS) {
    const hot = bindHotPaths(arena, { engine });
    assert.is(hot.kind, engine);
    checkVector(arena, hot, off);
  }
});

test("bindHotPaths: an unknown engine name is a TypeError", () => {
  const arena = new Arena(SMALL);
  assert.throws(
    () => bindHotPaths(arena, { engine: "gpu" as unknown as "simd" }),
    (e: unknown) => e instanceof TypeError && /unknown engine/.test(e.message),
  );
});

test("hotPathsFor: picks the engine once per arena and returns what was bound last", () => {
  const a = new Arena(SMALL);
  const b = new Arena(SMALL);
  const first = hotPathsFor(a);
  assert.is(hotPathsFor(a), first);
  assert.is(first.kind, "simd");
  assert.is.not(hotPathsFor(b), first);
  const forced = bindHotPaths(a, { engine: "reference" });
  assert.is(hotPathsFor(a), forced);
  assert.is(hotPathsFor(a).kind, "reference");
});

test("shared arena: SIMD and scalar WASM bind to a SharedArrayBuffer-backed memory", () => {
  const arena = new Arena({ ...SMALL, shared: true });
  assert.ok(arena.memory.buffer instanceof SharedArrayBuffer);
  const off = arena.tryAllocSlot(64) + 3;
  const auto = bindHotPaths(arena);
  assert.is(auto.kind, "simd");
  assert.is(auto.shared, true);
  for (const engine of KINDS) {
    const hot = bindHotPaths(arena, { engine });
    assert.is(hot.kind, engine);
    checkVector(arena, hot, off);
    assert.is(hot.checksumCopy(off, off + 100, 8, 0), 0xddf2, engine);
  }
});

test("shared-memory modules accept a shared memory of any maximum, 1 to 65536 pages", () => {
  for (const maximum of [1, 2, 17, 16384, 65536]) {
    const memory = new WebAssembly.Memory({ initial: 1, maximum, shared: true });
    const host = {
      memory,
      get u8() {
        return new Uint8Array(memory.buffer);
      },
    };
    for (const engine of ["simd", "scalar"] as const) {
      const hot = bindHotPaths(host, { engine });
      assert.is(hot.shared, true);
      checkVector(host, hot, 4097);
    }
  }
  // Plain memories, with or without a maximum, take the plain modules.
  for (const maximum of [undefined, 1, 65536]) {
    const memory = new WebAssembly.Memory(maximum ? { initial: 1, maximum } : { initial: 1 });
    const host = {
      memory,
      get u8() {
        return new Uint8Array(memory.buffer);
      },
    };
    for (const engine of ["simd", "scalar"] as const) {
      checkVector(host, bindHotPaths(host, { engine }), 4097);
    }
  }
});

test("memory growth: every engine sees bytes past the old end after the memory grows", () => {
  const arena = new Arena(SMALL);
  const engines = KINDS.map((engine) => bindHotPaths(arena, { engine }));
  const oldEnd = arena.memory.buffer.byteLength;
  arena.memory.grow(1);
  const off = oldEnd + 101;
  for (const hot of engines) {
    checkVector(arena, hot, off);
    assert.is(hot.checksumCopy(off, oldEnd + 1000, 8, 0), 0xddf2, hot.kind);
    assert.is(hot.checksum(oldEnd + 1000, 8, 0), 0xddf2, hot.kind);
  }
});

test("out-of-bounds ranges fail loudly: WASM traps, the reference throws RangeError", () => {
  const arena = new Arena(SMALL);
  const end = arena.memory.buffer.byteLength;
  for (const engine of KINDS) {
    const hot = bindHotPaths(arena, { engine });
    const expected = engine === "reference" ? RangeError : WebAssembly.RuntimeError;
    assert.throws(() => hot.checksum(end - 4, 8, 0), (e: unknown) => e instanceof expected, engine);
    assert.throws(
      () => hot.checksumCopy(65536, end - 4, 8, 0),
      (e: unknown) => e instanceof expected,
      engine,
    );
  }
});

/** Run tests/wasm/_probe.ts in a fresh Deno with extra flags and parse what it prints. */
async function probe(flags: string[], args: string[]): Promise<Record<string, string | boolean>> {
  const script = new URL("./_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`probe failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text);
}

test(
  "host without WebAssembly SIMD: auto falls back to scalar; forcing simd throws a clear Error",
  async () => {
    // V8 needs SSE4.1 for WebAssembly SIMD; without it validate() rejects the SIMD module.
    const r = await probe(["--v8-flags=--no-enable-sse4-1"], []);
    assert.is(r.simdSupported, false);
    assert.is(r.auto, "scalar:ddf2:ddf2");
    assert.is(r.scalar, "scalar:ddf2:ddf2");
    assert.match(String(r.simd), /^Error: bindHotPaths: engine "simd" forced.*no SIMD support/);
  },
  { ignore: !isDeno, reason: "needs a Deno subprocess with V8 flags" },
);

test("host without WebAssembly: auto falls back to the TypeScript reference", async () => {
  const r = await probe([], ["no-wasm"]);
  assert.is(r.auto, "reference:ddf2:ddf2");
  assert.is(r.reference, "reference:ddf2:ddf2");
  assert.match(String(r.scalar), /has no WebAssembly/);
}, { ignore: !isDeno, reason: "needs a Deno subprocess" });
