import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type ImportGraph,
  importCycles,
  importSpecifiers,
  LAYERS,
  layerViolations,
  readImportGraph,
} from '../support/import-graph.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the layout by audience (docs/architecture.md)', () => {
  const graph = readImportGraph(ROOT, [...LAYERS, 'test']);

  it('reads every layer and the tests', () => {
    // Assess: the graph covers each top-level folder, so an empty scan cannot pass the rules below.
    for (const layer of [...LAYERS, 'test']) {
      expect(
        [...graph.keys()].some((file) => file.startsWith(`${layer}/`)),
        layer,
      ).toBe(true);
    }
  });

  it('keeps every import within what its layer may import', () => {
    // Assess
    expect(layerViolations(graph)).toEqual([]);
  });

  it('type-checks every layer: tsconfig includes each folder, since an entry point is imported by nothing', () => {
    // Prepare
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };

    // Assess
    expect(tsconfig.include).toEqual(expect.arrayContaining([...LAYERS, 'test']));
  });

  it('has no import cycle anywhere, tests included', () => {
    // Assess
    expect(importCycles(graph)).toEqual([]);
  });
});

describe('the rule checker', () => {
  describe.each([
    ['lambdas/shared/env.ts', 'lib/config.ts', 'lambdas/ may import nothing outside itself'],
    ['lib/stack.ts', 'sandbox/system.ts', 'lib/ may import lambdas'],
    ['ops/backfill/backfill.ts', 'sandbox/dynamodb-local/server.ts', 'ops/ may import lib, lambdas'],
    ['sandbox/system.ts', 'verify/bench/bench.ts', 'sandbox/ may import ops, lib, lambdas'],
    ['lambdas/orders-api/app.ts', 'test/support/orders.ts', 'lambdas/ may import nothing outside itself'],
  ])('given %s importing %s', (from, to, reason) => {
    it('reports the import, naming both files and the rule', () => {
      // Prepare
      const violating: ImportGraph = new Map([
        [from, [to]],
        [to, []],
      ]);

      // Act
      const violations = layerViolations(violating);

      // Assess
      expect(violations).toEqual([`${from} imports ${to}: ${reason}`]);
    });
  });

  it.each([
    ['lib/stack.ts', 'lambdas/shared/env.ts'],
    ['verify/bench/bench.ts', 'sandbox/system.ts'],
    ['sandbox/system.ts', 'ops/cli/flags.ts'],
    ['test/lib/stack.test.ts', 'verify/bench/bench.ts'],
  ])('allows %s importing %s', (from, to) => {
    // Act
    const violations = layerViolations(new Map([[from, [to]]]));

    // Assess
    expect(violations).toEqual([]);
  });

  it('finds a cycle of three files and a self-import, and nothing in a diamond', () => {
    // Prepare
    const graph: ImportGraph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['self.ts', ['self.ts']],
      ['top.ts', ['left.ts', 'right.ts']],
      ['left.ts', ['bottom.ts']],
      ['right.ts', ['bottom.ts']],
      ['bottom.ts', []],
    ]);

    // Act
    const cycles = importCycles(graph);

    // Assess
    expect(cycles).toHaveLength(2);
    expect(cycles).toContainEqual(['a.ts', 'b.ts', 'c.ts']);
    expect(cycles).toContainEqual(['self.ts']);
  });

  it('reads static, type-only, re-exported, multi-line, bare and dynamic imports, and skips commented ones', () => {
    // Prepare
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      'import {',
      '  c,',
      '  d,',
      "} from './cd.js';",
      "export * from './e.js';",
      "export { f } from './f.js';",
      "import './side-effect.js';",
      "const g = await import('./g.js');",
      "vi.mock('./h.js');",
      "// import { x } from './commented.js';",
      "/* import { y } from './block-commented.js'; */",
      "const url = 'https://example.com/x'; import { z } from './z.js';",
    ].join('\n');

    // Act
    const specifiers = importSpecifiers(text);

    // Assess
    expect(specifiers).toEqual([
      './a.js',
      '../b.js',
      './cd.js',
      './e.js',
      './f.js',
      './side-effect.js',
      './g.js',
      './h.js',
      './z.js',
    ]);
  });
});
