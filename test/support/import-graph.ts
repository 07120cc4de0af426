import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { walkRepoFiles } from './repo-files.js';

/**
 * The project's import graph, read from the sources as written (type-only imports included, since a type import
 * couples layers as much as a value import does), and the two rules kept over it: the layer rule of the layout
 * (docs/architecture.md) and no cycle anywhere.
 */

/** The top-level folders of the layout, lowest first. */
export const LAYERS = ['lambdas', 'lib', 'bin', 'ops', 'sandbox', 'verify'] as const;
export type Layer = (typeof LAYERS)[number];

/** What each layer may import besides itself. `test/` may import anything and is not listed. */
export const ALLOWED_IMPORTS: ReadonlyMap<Layer, ReadonlySet<Layer>> = new Map<Layer, ReadonlySet<Layer>>([
  ['lambdas', new Set<Layer>()],
  ['lib', new Set<Layer>(['lambdas'])],
  ['bin', new Set<Layer>(['lib', 'lambdas'])],
  ['ops', new Set<Layer>(['lib', 'lambdas'])],
  ['sandbox', new Set<Layer>(['ops', 'lib', 'lambdas'])],
  ['verify', new Set<Layer>(['sandbox', 'ops', 'lib', 'lambdas'])],
]);

/** Repo-relative path (with `/`) of a file, to the repo-relative paths of the project files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

// `import x from '...'`, `import type { x } from '...'`, `export * from '...'`, `export { x } from '...'`, on one
// line or several; `import '...'`; `import('...')`; `vi.mock('...')` (a test's dependency all the same).
const STATIC_FROM = /(?:^|[;\n}])\s*(?:import|export)\s[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1/g;
const BARE_IMPORT = /(?:^|[;\n])\s*import\s*(['"])([^'"\n]+)\1/g;
const DYNAMIC_IMPORT = /\b(?:import|vi\.mock|vi\.importActual)\s*\(\s*(['"])([^'"\n]+)\1/g;

/** Source text without comments, string contents kept (specifiers live in strings). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/[^\n]*/g, '$1');
}

/** The module specifiers a source text imports, in order of appearance. */
export function importSpecifiers(text: string): string[] {
  const code = withoutComments(text);
  const found: { index: number; specifier: string }[] = [];
  for (const pattern of [STATIC_FROM, BARE_IMPORT, DYNAMIC_IMPORT]) {
    for (const match of code.matchAll(pattern)) {
      found.push({ index: match.index ?? 0, specifier: match[2] ?? '' });
    }
  }
  return found.sort((a, b) => a.index - b.index).map(({ specifier }) => specifier);
}

const SOURCE = /\.(ts|mts)$/;

function sourceFiles(root: string, dir: string): string[] {
  return walkRepoFiles(
    root,
    dir,
    (path) => SOURCE.test(path) && !path.endsWith('.d.ts'),
    (name) => name === 'node_modules' || name.startsWith('.'),
  );
}

/** The project file a relative specifier names (`./x.js` is `./x.ts` in the sources), if it names one. */
function resolveRelative(root: string, from: string, specifier: string): string | undefined {
  const base = normalize(join(dirname(from), specifier));
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    base,
    `${base}.ts`,
    join(base, 'index.ts'),
  ];
  return candidates.find((candidate) => {
    const absolute = join(root, candidate);
    return existsSync(absolute) && statSync(absolute).isFile();
  });
}

const toPosix = (path: string): string => path.split(sep).join('/');

/** The import graph of every source file under `dirs` of `root`: relative imports only (packages are not files). */
export function readImportGraph(root: string, dirs: readonly string[]): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap((dir) => sourceFiles(root, dir))) {
    const targets: string[] = [];
    for (const specifier of importSpecifiers(readFileSync(join(root, file), 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      // A specifier that names no file is left to the compiler (or is text inside a string, as in this checker's
      // own test): only files are nodes of the graph.
      const target = resolveRelative(root, file, specifier);
      if (target !== undefined) targets.push(toPosix(target));
    }
    graph.set(toPosix(file), [...new Set(targets)]);
  }
  return graph;
}

/** The layer of a repo-relative path: its top-level folder, when that is one of LAYERS. */
export function layerOf(path: string): Layer | undefined {
  const top = path.split('/')[0];
  return (LAYERS as readonly string[]).includes(top ?? '') ? (top as Layer) : undefined;
}

/** Each import that crosses layers against ALLOWED_IMPORTS, as a sentence naming both files. */
export function layerViolations(graph: ImportGraph): string[] {
  const violations: string[] = [];
  for (const [from, targets] of graph) {
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) continue;
    const allowed = ALLOWED_IMPORTS.get(fromLayer) ?? new Set<Layer>();
    for (const to of targets) {
      const toLayer = layerOf(to);
      if (toLayer === fromLayer) continue;
      if (toLayer === undefined || !allowed.has(toLayer)) {
        const may = allowed.size === 0 ? 'nothing outside itself' : [...allowed].join(', ');
        violations.push(`${from} imports ${to}: ${fromLayer}/ may import ${may}`);
      }
    }
  }
  return violations.sort();
}

/** Every import cycle: the files of each strongly connected component of more than one file, or a self-import. */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative so that a deep chain of imports cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; edge: number }[] = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next);
    next += 1;
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; edge: number };
      const targets = graph.get(frame.node) ?? [];
      if (frame.edge < targets.length) {
        const target = targets[frame.edge] as string;
        frame.edge += 1;
        if (!index.has(target)) {
          index.set(target, next);
          low.set(target, next);
          next += 1;
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, edge: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, index.get(target) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) {
        low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1 || (graph.get(frame.node) ?? []).includes(frame.node)) {
          cycles.push(component.sort());
        }
      }
    }
  }
  return cycles;
}
