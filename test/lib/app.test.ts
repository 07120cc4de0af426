import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Token } from 'aws-cdk-lib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, stackNames } from '../../lib/app.js';
import { testApp } from '../fixtures/cdk-app.js';

describe('buildApp', () => {
  it.each(['dev', 'prod'])('composes the %s stage from a stateful and a stateless stack', (stage) => {
    // Prepare
    const app = testApp({ context: { stage } });

    // Act
    const { config, stateful, stateless } = buildApp(app);

    // Assess
    expect(config.stageName).toBe(stage);
    expect([stateful.stackName, stateless.stackName]).toEqual([
      stackNames(stage).stateful,
      stackNames(stage).stateless,
    ]);
    expect(stateless.dependencies).toEqual([stateful]);
    expect(stateful.dependencies).toEqual([]);
  });

  it.each(['dev', 'prod'])('wires the search domain of the %s stage into the pipelines', (stage) => {
    // Act
    const { stateful, stateless } = buildApp(testApp({ context: { stage } }));

    // Assess
    expect(stateful.search.domainName).toBe(`orders-${stage}`);
    expect(stateless.searchSync.consumer.function.role).toBeDefined();
  });

  it('builds environment-agnostic stacks, so synth needs no credentials', () => {
    // Act
    const { stateful, stateless } = buildApp(testApp());

    // Assess
    for (const stack of [stateful, stateless]) {
      expect(Token.isUnresolved(stack.account)).toBe(true);
      expect(Token.isUnresolved(stack.region)).toBe(true);
    }
  });

  describe('bundling', () => {
    let outdir: string;
    let dockerBefore: string | undefined;

    beforeEach(() => {
      outdir = mkdtempSync(join(tmpdir(), 'orders-streams-bundle-'));
      dockerBefore = process.env.CDK_DOCKER;
      // Any attempt to bundle in Docker would now fail: the local esbuild must do it.
      process.env.CDK_DOCKER = join(outdir, 'no-docker-here');
    });

    afterEach(() => {
      if (dockerBefore === undefined) {
        delete process.env.CDK_DOCKER;
      } else {
        process.env.CDK_DOCKER = dockerBefore;
      }
      rmSync(outdir, { recursive: true, force: true });
    });

    it('bundles every function with the local esbuild, as ESM with a source map', () => {
      // Prepare
      const app = testApp({ bundle: true, outdir });
      buildApp(app);

      // Act
      app.synth();

      // Assess
      const bundles = readdirSync(outdir)
        .filter((entry) => entry.startsWith('asset.'))
        .map((entry) => join(outdir, entry))
        .filter((dir) => existsSync(join(dir, 'index.mjs')));
      const sources = bundles.map((bundle) => {
        expect(existsSync(join(bundle, 'index.mjs.map'))).toBe(true);
        const code = readFileSync(join(bundle, 'index.mjs'), 'utf8');
        expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
        expect(code).toContain('sourceMappingURL=index.mjs.map');
        const map = JSON.parse(readFileSync(join(bundle, 'index.mjs.map'), 'utf8')) as { sources: string[] };
        return map.sources
          .find((source) => /lambdas\/[^/]+\/handler\.ts$/.test(source))
          ?.replace(/^.*lambdas\//, '');
      });
      expect(sources.sort()).toEqual([
        'audit-log/handler.ts',
        'order-fanout/handler.ts',
        'orders-api/handler.ts',
        'search-role-mapping/handler.ts',
        'search-sync/handler.ts',
        'vote-aggregator/handler.ts',
      ]);
    });
  });
});
