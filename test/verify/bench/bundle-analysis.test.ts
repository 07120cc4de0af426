import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../../../sandbox/synth.js';
import {
  entryFromSourceMap,
  functionAssetsOfTemplate,
  metafileFigures,
  PROJECT_PACKAGE,
  packageOfPath,
  sizeDifference,
  ZIP_LAYOUT,
  zipSize,
} from '../../../verify/bench/bundle-analysis.js';

describe('packageOfPath', () => {
  it.each([
    ['node_modules/@aws-sdk/client-sqs/dist-es/x.js', '@aws-sdk/client-sqs'],
    ['node_modules/zod/v4/core/schemas.js', 'zod'],
    [
      'node_modules/@aws-lambda-powertools/tracer/node_modules/aws-xray-sdk-core/dist/x.js',
      'aws-xray-sdk-core',
    ],
    ['node_modules/a/node_modules/@smithy/core/dist/y.js', '@smithy/core'],
    ['lambdas/order-fanout/handler.ts', PROJECT_PACKAGE],
    ['../../tmp/hello/handler.ts', PROJECT_PACKAGE],
    ['node_modules\\aws-sdk\\lib\\core.js', 'aws-sdk'],
  ])('%s belongs to %s', (path, expected) => {
    expect(packageOfPath(path)).toBe(expected);
  });
});

/** A metafile of one output `out/index.mjs` of `bytes` bytes with these inputs' bytes in it. */
function metafile(bytes: number, inputs: Record<string, number>): Metafile {
  return {
    inputs: {},
    outputs: {
      'out/index.mjs.map': { bytes: 1, inputs: {}, imports: [], exports: [] },
      'out/index.mjs': {
        bytes,
        inputs: Object.fromEntries(Object.entries(inputs).map(([path, b]) => [path, { bytesInOutput: b }])),
        imports: [],
        exports: ['handler'],
      },
    },
  } as Metafile;
}

describe('metafileFigures', () => {
  it('sums the bytes per package, heaviest first, with their share of the output', () => {
    // Prepare
    const meta = metafile(1000, {
      'node_modules/@aws-sdk/client-sqs/dist-es/a.js': 300,
      'node_modules/@aws-sdk/client-sqs/dist-es/b.js': 100,
      'node_modules/zod/index.js': 250,
      'node_modules/x/node_modules/zod/index.js': 50,
      'lambdas/a/handler.ts': 200,
      'lambdas/a/unused.ts': 0,
    });

    // Act
    const figures = metafileFigures(meta, 'out/index.mjs');

    // Assess
    expect(figures).toEqual({
      outputBytes: 1000,
      modules: 5,
      heaviestPackages: [
        { name: '@aws-sdk/client-sqs', bytes: 400, share: 0.4 },
        { name: 'zod', bytes: 300, share: 0.3 },
        { name: PROJECT_PACKAGE, bytes: 200, share: 0.2 },
      ],
    });
  });

  it('keeps at most `limit` packages, ties by name', () => {
    // Prepare
    const meta = metafile(40, {
      'node_modules/c/i.js': 10,
      'node_modules/a/i.js': 10,
      'node_modules/b/i.js': 10,
      'node_modules/d/i.js': 5,
    });

    // Act
    const names = metafileFigures(meta, undefined, 2).heaviestPackages.map((p) => p.name);

    // Assess
    expect(names).toEqual(['a', 'b']);
  });

  it('refuses an output the metafile does not have', () => {
    expect(() => metafileFigures(metafile(1, {}), 'other/index.mjs')).toThrow(/no output other\/index.mjs/);
  });
});

describe('zipSize', () => {
  it('is the fixed headers, twice the name, and the deflate-raw data per file, plus the end record', () => {
    // Prepare
    const text = Buffer.from('export const handler = async () => 1;\n'.repeat(50));
    const entries = [
      { name: 'index.mjs', data: text },
      { name: 'index.mjs.map', data: Buffer.alloc(0) },
    ];

    // Act
    const bytes = zipSize(entries);

    // Assess
    // deflate-raw of nothing is 2 bytes (an empty final block); the repeated text compresses well.
    const header = ZIP_LAYOUT.localHeader + ZIP_LAYOUT.centralRecord;
    const fixed = ZIP_LAYOUT.endRecord + 2 * header + 2 * 'index.mjs'.length + 2 * 'index.mjs.map'.length + 2;
    expect(bytes).toBeGreaterThan(fixed);
    expect(bytes).toBeLessThan(fixed + text.length / 5);
    expect(zipSize([])).toBe(ZIP_LAYOUT.endRecord);
    expect(zipSize([{ name: 'e', data: Buffer.alloc(0) }])).toBe(ZIP_LAYOUT.endRecord + header + 2 + 2);
  });

  it('counts the deflate-raw data that inflates back to the file', () => {
    // Prepare
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251));
    const empty = zipSize([{ name: 'f', data: Buffer.alloc(0) }]);

    // Act
    const compressed = zipSize([{ name: 'f', data }]) - empty + 2;

    // Assess
    const deflated = deflateRawSync(data, { level: ZIP_LAYOUT.deflateLevel });
    expect(compressed).toBe(deflated.length);
    expect(inflateRawSync(deflated).equals(data)).toBe(true);
  });
});

describe('sizeDifference', () => {
  it.each([
    [100, 100, 0],
    [101, 100, 0.01],
    [99, 100, 0.01],
    [0, 0, 0],
    [5, 0, 1],
  ])('of %d against %d is %d', (rebundled, synthesized, expected) => {
    expect(sizeDifference(rebundled, synthesized)).toBe(expected);
  });
});

describe('functionAssetsOfTemplate', () => {
  const template: CfnTemplate = {
    Resources: {
      Api: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Code: { S3Bucket: 'b', S3Key: 'aaa.zip' },
          MemorySize: 512,
          Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'orders-api' } },
        },
        Metadata: { 'aws:asset:path': 'asset.aaa', 'aws:asset:property': 'Code' },
      },
      Consumer: {
        Type: 'AWS::Lambda::Function',
        // No asset metadata: the directory follows from the S3 key.
        Properties: { Code: { S3Bucket: 'b', S3Key: 'bbb.zip' } },
      },
      Framework: {
        Type: 'AWS::Lambda::Function',
        Properties: { Code: { S3Bucket: 'b', S3Key: 'ccc.zip' } },
        Metadata: { 'aws:asset:path': 'asset.ccc' },
      },
      Inline: { Type: 'AWS::Lambda::Function', Properties: { Code: { ZipFile: 'exports.handler = 1' } } },
      Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    },
  };

  it('chooses each bundled function and its asset directory, leaving out plain .js handlers and inline code', () => {
    // Prepare
    const bundled = new Set(['/out/asset.aaa', '/out/asset.bbb']);

    // Act
    const assets = functionAssetsOfTemplate('Stack', template, '/out', (dir) => bundled.has(dir));

    // Assess
    expect(assets).toEqual([
      { stackName: 'Stack', logicalId: 'Api', name: 'orders-api', assetDir: '/out/asset.aaa', memoryMb: 512 },
      {
        stackName: 'Stack',
        logicalId: 'Consumer',
        name: 'Consumer',
        assetDir: '/out/asset.bbb',
        memoryMb: undefined,
      },
    ]);
  });
});

describe('entryFromSourceMap', () => {
  it('takes the handler.ts composition root among the sources, relative to the map', () => {
    const sources = [
      '../../node_modules/zod/index.js',
      '../../lambdas/shared/env.ts',
      '../../lambdas/audit-log/handler.ts',
      '../../lambdas/audit-log/audit.ts',
    ];
    expect(entryFromSourceMap(sources, '/repo/cdk.out/asset.x')).toBe('/repo/lambdas/audit-log/handler.ts');
  });

  it('falls back to the last source outside node_modules', () => {
    const sources = ['node_modules/a/i.js', 'hello/handler.ts', 'hello/other.ts', 'node_modules/b/i.js'];
    expect(entryFromSourceMap(sources, '/w')).toBe('/w/hello/other.ts');
  });

  it('refuses a map without a source of ours', () => {
    expect(() => entryFromSourceMap(['node_modules/a/i.js'], '/w')).toThrow(/No entry among the 1 sources/);
  });
});
