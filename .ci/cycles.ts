/**
 * Import-cycle check (`deno task check` runs it on `src/`): builds the module
 * graph of every `.ts` file under a directory with `deno info --json` —
 * value and type-only imports alike, static and dynamic — and fails when any
 * set of modules imports itself round. Each cycle is printed as a path.
 *
 * Usage: `deno run -A .ci/cycles.ts [DIR]` (default `src`). Exit 0 and
 * "0 import cycles" when the graph is a DAG; exit 1 with the cycles
 * otherwise; exit 2 when `deno info` fails.
 *
 * @module
 */

/** One module's imports, as `deno info --json` reports them. */
interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    type?: { specifier: string };
  }[];
}

/** Every `.ts` file under `dir` (absolute paths), sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (e.isFile && p.endsWith(".ts")) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** The import graph among `files`: file URL → the file URLs it imports. */
async function importGraph(files: string[]): Promise<Map<string, Set<string>>> {
  const urls = new Set(files.map((f) => new URL(`file://${f}`).href));
  // One root that imports every file, so one `deno info` sees them all.
  const root = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(root, [...urls].map((u) => `import ${JSON.stringify(u)};\n`).join(""));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(new TextDecoder().decode(out.stderr));
      Deno.exit(2);
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    const graph = new Map<string, Set<string>>();
    for (const m of info.modules) {
      if (!urls.has(m.specifier)) continue;
      const deps = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const r of [d.code, d.type]) {
          if (r !== undefined && urls.has(r.specifier)) deps.add(r.specifier);
        }
      }
      graph.set(m.specifier, deps);
    }
    return graph;
  } finally {
    await Deno.remove(root);
  }
}

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
        if (w === v) break;
      }
      if (comp.length > 1 || graph.get(v)?.has(v)) found.push(comp);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** One concrete cycle through `comp`, starting at its first module in sorted order. */
function cyclePath(graph: Map<string, Set<string>>, comp: string[]): string[] {
  const members = new Set(comp);
  const start = [...comp].sort()[0]!;
  // Breadth-first search back to `start` inside the component.
  const prev = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

if (import.meta.main) {
  const dir = await Deno.realPath(Deno.args[0] ?? "src");
  const graph = await importGraph(listFiles(dir));
  const found = cycles(graph);
  const rel = (u: string) => new URL(u).pathname.slice(dir.length + 1);
  for (const comp of found) {
    console.error(`import cycle: ${cyclePath(graph, comp).map(rel).join(" → ")}`);
  }
  console.log(`${found.length} import cycles among ${graph.size} modules under ${dir}`);
  Deno.exit(found.length === 0 ? 0 : 1);
}
