import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Token } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, stackNames } from '../../lib/app.js';
import { NEVER_BUNDLED_MODULES } from '../../lib/constructs/base-function.js';
import { testApp } from '../fixtures/cdk-app.js';
import {
  bundledPackages,
  devOnlyPackages,
  externalSpecifiers,
  type FunctionBundle,
  functionBundles,
  installedPackages,
  packageOf,
  readSourceMap,
} from '../support/bundles.js';

/**
 * The most a function's index.mjs may weigh (issue 16's target, in decimal megabytes): the runtime reads and compiles
 * all of it at every cold start. The largest bundle, the orders API's, is about 1.04 MB.
 */
const MAX_BUNDLE_BYTES = 1_200_000;

/**
 * A source of a bundle's map that is a module of classic zod (`import * as z from 'zod'`: about 70 KB and up to
 * 20 ms of each cold start more than zod/mini), and one of zod/mini, which lambdas/shared/zod.ts sets up for the
 * functions. Sources are relative to the asset directory, e.g. `../../node_modules/zod/v4/classic/schemas.js`.
 */
const CLASSIC_ZOD_MODULE = /(^|\/)node_modules\/zod\/v4\/classic\//;
const MINI_ZOD_MODULE = /(^|\/)node_modules\/zod\/v4\/mini\//;

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
    // One synth with bundling for the whole block: it runs esbuild once per function.
    let outdir: string;
    let dockerBefore: string | undefined;
    let bundles: FunctionBundle[];

    beforeAll(() => {
      outdir = mkdtempSync(join(tmpdir(), 'orders-streams-bundle-'));
      dockerBefore = process.env.CDK_DOCKER;
      // Any attempt to bundle in Docker would now fail: the local esbuild must do it.
      process.env.CDK_DOCKER = join(outdir, 'no-docker-here');
      const app = testApp({ bundle: true, outdir });
      buildApp(app);
      bundles = functionBundles(app.synth());
    });

    afterAll(() => {
      if (dockerBefore === undefined) {
        delete process.env.CDK_DOCKER;
      } else {
        process.env.CDK_DOCKER = dockerBefore;
      }
      rmSync(outdir, { recursive: true, force: true });
    });

    it('bundles every function with the local esbuild, as ESM with a source map', () => {
      // Act
      const sources = bundles.map((bundle) => {
        expect(existsSync(bundle.sourceMapPath)).toBe(true);
        const code = readFileSync(bundle.codePath, 'utf8');
        expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
        expect(code).toContain('sourceMappingURL=index.mjs.map');
        return readSourceMap(bundle)
          .sources.find((source) => /lambdas\/[^/]+\/handler\.ts$/.test(source))
          ?.replace(/^.*lambdas\//, '');
      });

      // Assess
      expect(sources.sort()).toEqual([
        'audit-log/handler.ts',
        'order-fanout/handler.ts',
        'orders-api/handler.ts',
        'search-role-mapping/handler.ts',
        'search-sync/handler.ts',
        'vote-aggregator/handler.ts',
      ]);
    });

    it('ships no AWS SDK v2 in any bundle, not even as an import left for the runtime', () => {
      // Act
      const found = bundles.flatMap((bundle) => {
        const bundled = [...bundledPackages(readSourceMap(bundle)).keys()].filter((key) =>
          /(^|\/)node_modules\/aws-sdk$/.test(key),
        );
        const imported = externalSpecifiers(readFileSync(bundle.codePath, 'utf8')).filter(
          (specifier) => packageOf(specifier) === 'aws-sdk',
        );
        return [...bundled, ...imported].map((what) => `${bundle.serviceName}: ${what}`);
      });

      // Assess
      expect(bundles.length).toBeGreaterThan(0);
      expect(found).toEqual([]);
    });

    it('bundles no package that only the dev tools install', () => {
      // Prepare
      const devOnly = devOnlyPackages();

      // Act
      const found = bundles.flatMap((bundle) =>
        [...bundledPackages(readSourceMap(bundle))]
          .filter(([key]) => devOnly.has(key))
          .map(([key, files]) => `${bundle.serviceName}: ${key} (${files.length} files, e.g. ${files[0]})`),
      );

      // Assess
      // Neither side of the check is empty, so it cannot pass by finding nothing to compare: the set is what
      // package.json and the lock file say, and every bundle's map names the packages it holds.
      for (const name of ['aws-sdk', 'dynamodb-stream-elasticsearch', 'esbuild', 'vitest', 'fast-check']) {
        expect(devOnly).toContain(`node_modules/${name}`);
      }
      for (const bundle of bundles) {
        expect([...bundledPackages(readSourceMap(bundle)).keys()]).toContain('node_modules/zod');
      }
      expect(found).toEqual([]);
    });

    it('gives every bundle the environment link of the credential chain and none of the links Lambda never uses', () => {
      // Act
      const figures = bundles.map((bundle) => {
        const sourceMap = readSourceMap(bundle);
        const packages = [...bundledPackages(sourceMap).keys()];
        return {
          function: bundle.serviceName,
          envLink: packages.includes('node_modules/@aws-sdk/credential-provider-env'),
          alias: sourceMap.sources.some((source) =>
            source.endsWith('lambdas/shared/adapters/lambda-credentials.ts'),
          ),
          otherLinks: packages.filter((key) =>
            /node_modules\/(@aws-sdk\/credential-provider-(?!env$)|@smithy\/credential-provider-imds$|@aws-sdk\/nested-clients$)/.test(
              key,
            ),
          ),
        };
      });

      // Assess
      expect(figures.length).toBe(6);
      expect(figures).toEqual(
        figures.map((figure) => ({ function: figure.function, envLink: true, alias: true, otherLinks: [] })),
      );
    });

    it("bundles the OpenSearch client's transport, never its generated REST API", () => {
      // Act
      const figures = bundles.flatMap((bundle) => {
        const sources = readSourceMap(bundle).sources.map((source) =>
          source.replace(
            /^.*node_modules\/@opensearch-project\/opensearch\//,
            '@opensearch-project/opensearch/',
          ),
        );
        if (!sources.includes('@opensearch-project/opensearch/lib/Transport.js')) return [];
        return [
          {
            function: bundle.serviceName,
            clientModules: sources.filter((source) =>
              /^@opensearch-project\/opensearch\/(api\/|lib\/Client\.js|lib\/Helpers\.js|index\.m?js)/.test(
                source,
              ),
            ),
          },
        ];
      });

      // Assess
      expect(figures.map((figure) => figure.function).sort()).toEqual([
        'orders-api',
        'search-role-mapping',
        'search-sync',
      ]);
      expect(figures.filter((figure) => figure.clientModules.length > 0)).toEqual([]);
    });

    it('leaves for the runtime only built-ins, modules never bundled on purpose, and missing optional ones', () => {
      // Prepare
      const devOnly = devOnlyPackages();
      const installed = installedPackages();

      // Act
      const unexpected = bundles.flatMap((bundle) =>
        externalSpecifiers(readFileSync(bundle.codePath, 'utf8'))
          .map((specifier) => packageOf(specifier))
          .filter((name): name is string => name !== undefined)
          // Not installed at all: an optional module a dependency requires in a try/catch, such as the SDK's CRT
          // signer, which esbuild could not bundle and the dependency does without.
          .filter((name) => !NEVER_BUNDLED_MODULES.includes(name) && installed.has(`node_modules/${name}`))
          .map(
            (name) =>
              `${bundle.serviceName}: ${name}${devOnly.has(`node_modules/${name}`) ? ' (dev-only)' : ''}`,
          ),
      );

      // Assess
      expect(unexpected).toEqual([]);
    });

    it('bundles zod/mini and no module of classic zod (lambdas/shared/zod.ts)', () => {
      // Act
      const classic = bundles.flatMap((bundle) =>
        readSourceMap(bundle)
          .sources.filter((source) => CLASSIC_ZOD_MODULE.test(source))
          .map((source) => `${bundle.serviceName}: ${source.slice(source.indexOf('node_modules/'))}`),
      );

      // Assess
      // Every function validates with zod, so each map names mini's modules: the check cannot pass because the
      // paths it looks for moved.
      for (const bundle of bundles) {
        expect(readSourceMap(bundle).sources.some((source) => MINI_ZOD_MODULE.test(source))).toBe(true);
      }
      expect(classic).toEqual([]);
    });

    it(`keeps every bundle at most ${MAX_BUNDLE_BYTES.toLocaleString('en')} bytes`, () => {
      // Act
      const oversized = bundles
        .filter((bundle) => bundle.bytes > MAX_BUNDLE_BYTES)
        .map((bundle) => `${bundle.serviceName}: ${bundle.bytes} bytes`);

      // Assess
      expect(oversized).toEqual([]);
    });
  });
});
