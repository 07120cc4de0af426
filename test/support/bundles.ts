import { existsSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import { ENV } from '../../lambdas/shared/env.js';

/** The repository root, where package.json and package-lock.json live. */
const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** One function of the app as synthesized: its bundle in the cloud assembly. */
export interface FunctionBundle {
  /** Its POWERTOOLS_SERVICE_NAME, which every BaseFunction sets. */
  readonly serviceName: string;
  readonly stackName: string;
  readonly logicalId: string;
  /** The bundled code, `<asset dir>/index.mjs`. */
  readonly codePath: string;
  /** Its source map, `<asset dir>/index.mjs.map`. */
  readonly sourceMapPath: string;
  /** The size of index.mjs in bytes. */
  readonly bytes: number;
}

/** A function's asset could not be found in the cloud assembly: the test cannot read what it would deploy. */
export class MissingBundleError extends Error {
  public constructor(what: string) {
    super(what);
    this.name = 'MissingBundleError';
  }
}

interface TemplateFunction {
  readonly Type: string;
  readonly Properties?: {
    readonly Code?: { readonly S3Key?: unknown };
    readonly Environment?: { readonly Variables?: Record<string, unknown> };
  };
}

/**
 * The bundle of every BaseFunction of a synthesized app (a Lambda function with POWERTOOLS_SERVICE_NAME; CDK's own
 * functions, such as a custom resource provider's, have none). A function's `Code.S3Key` is the object key its
 * stack's asset manifest gives the asset, whose `source.path` is the asset's directory in the assembly: the exact
 * files `cdk deploy` would zip.
 */
export function functionBundles(assembly: CloudAssembly): FunctionBundle[] {
  const assetDirs = new Map<string, string>();
  for (const artifact of assembly.artifacts) {
    if (!(artifact instanceof AssetManifestArtifact)) continue;
    for (const asset of Object.values(artifact.contents.files ?? {})) {
      for (const destination of Object.values(asset.destinations)) {
        assetDirs.set(destination.objectKey, join(assembly.directory, asset.source.path ?? ''));
      }
    }
  }
  return assembly.stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources as Record<string, TemplateFunction>).flatMap(
      ([logicalId, resource]) => {
        const serviceName = resource.Properties?.Environment?.Variables?.[ENV.POWERTOOLS_SERVICE_NAME];
        if (resource.Type !== 'AWS::Lambda::Function' || typeof serviceName !== 'string') return [];
        const key = resource.Properties?.Code?.S3Key;
        const dir = typeof key === 'string' ? assetDirs.get(key) : undefined;
        const codePath = dir === undefined ? '' : join(dir, 'index.mjs');
        if (dir === undefined || !existsSync(codePath)) {
          throw new MissingBundleError(
            `${stack.stackName}/${logicalId} (${serviceName}): no bundled index.mjs for code ${JSON.stringify(key)}`,
          );
        }
        return [
          {
            serviceName,
            stackName: stack.stackName,
            logicalId,
            codePath,
            sourceMapPath: `${codePath}.map`,
            bytes: statSync(codePath).size,
          },
        ];
      },
    ),
  );
}

/**
 * The installed packages whose code is in a bundle, by lock-file key (`node_modules/zod`,
 * `node_modules/a/node_modules/b`), each with the bundled files that belong to it. Read from the bundle's source
 * map: esbuild lists in `sources` every input file that contributed code to the output (tree-shaken files do not
 * appear, and `sourcesContent: false` drops only the contents), so this is what the deployed file holds, not a
 * re-bundle that could be built with other options.
 */
export function bundledPackages(sourceMap: { readonly sources: readonly string[] }): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  for (const source of sourceMap.sources) {
    const start = source.indexOf('node_modules/');
    if (start < 0) continue;
    const key = /^node_modules\/(?:@[^/]+\/)?[^/]+(?:\/node_modules\/(?:@[^/]+\/)?[^/]+)*/.exec(
      source.slice(start),
    );
    if (key === null) continue;
    packages.set(key[0], [...(packages.get(key[0]) ?? []), source]);
  }
  return packages;
}

/** Reads a bundle's source map. */
export function readSourceMap(bundle: FunctionBundle): { sources: string[] } {
  return JSON.parse(readFileSync(bundle.sourceMapPath, 'utf8')) as { sources: string[] };
}

/**
 * The modules a bundle still imports at run time: the specifiers of its static and dynamic imports and its
 * `require` calls, as esbuild leaves them for what it did not bundle (Node.js built-ins, the modules marked
 * external, and optional modules a dependency requires in a try/catch that are not installed). Minified code
 * writes them `from"x"`, `import("x")`, `require("x")`.
 */
export function externalSpecifiers(code: string): string[] {
  const specifiers = new Set<string>();
  for (const match of code.matchAll(
    /(?:\bfrom|\bimport\s*\(|\brequire\s*\(|\bimport)\s*(["'])([\w@./:-]+)\1/g,
  )) {
    specifiers.add(match[2]!);
  }
  return [...specifiers].sort();
}

/** The package a bare specifier names (`@scope/name` or `name`), or undefined for a Node.js built-in or a path. */
export function packageOf(specifier: string): string | undefined {
  if (isBuiltin(specifier) || specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

interface PackageLock {
  readonly packages: Record<string, { readonly dev?: boolean }>;
}

/** The lock-file keys of every installed package (`node_modules/<name>`, nested ones included). */
export function installedPackages(): Set<string> {
  return new Set(Object.keys(readLock().packages).filter((key) => key !== ''));
}

/**
 * The lock-file keys (`node_modules/<name>`, nested ones included) of the packages no bundle may hold: every
 * devDependency of package.json, and every package npm marks `dev` in the lock file, i.e. installed only because of
 * a devDependency (such as `aws-sdk`, which `dynamodb-stream-elasticsearch` brings). A devDependency that a
 * dependency needs too (`@types/node`) is not marked `dev`, but it is listed in package.json, so it is still in.
 */
export function devOnlyPackages(): Set<string> {
  const lock = readLock();
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  return new Set([
    ...Object.keys(manifest.devDependencies ?? {}).map((name) => `node_modules/${name}`),
    ...Object.entries(lock.packages)
      .filter(([key, entry]) => key !== '' && entry.dev === true)
      .map(([key]) => key),
  ]);
}

function readLock(): PackageLock {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as PackageLock;
}
