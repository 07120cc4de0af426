import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { LAMBDA_BUNDLE_ALIASES } from '../../lib/constructs/base-function.js';
import type { CfnTemplate, SynthesizedApp } from '../../sandbox/synth.js';

/**
 * What the `cold-start` benchmark reads of a synthesized function bundle, as pure functions where it can: which
 * function's asset is which directory, the size of the zip the CDK CLI would upload, the bundle's entry, and the
 * heaviest packages of an esbuild metafile. Plus the one impure part the rest needs: bundling an entry the way
 * `lib/constructs/base-function.ts` has NodejsFunction bundle it, with a metafile (the synthesized bundle has none).
 */

/** The repository root: esbuild's working directory, as NodejsFunction's projectRoot. */
export const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/** The name under which code of the repository itself (not of a package) is counted. */
export const PROJECT_PACKAGE = '(project)';

/** Thrown when a function's bundle cannot be found or read as the benchmark expects. */
export class BundleAnalysisError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'BundleAnalysisError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The functions' assets
// ---------------------------------------------------------------------------------------------------------------

/** A Lambda function of the app bundled by NodejsFunction, and where its asset was written. */
export interface FunctionAsset {
  readonly stackName: string;
  readonly logicalId: string;
  /** Its POWERTOOLS_SERVICE_NAME (BaseFunction's serviceName), else the logical id. */
  readonly name: string;
  /** The asset directory, absolute. */
  readonly assetDir: string;
  /** The function's MemorySize in MB, when the template sets one. */
  readonly memoryMb: number | undefined;
}

/**
 * The functions of one template whose code is a bundled ESM asset (`index.mjs`), i.e. every NodejsFunction of ours
 * (BaseFunction bundles ESM). CDK's own handlers (the Provider framework's, say) ship plain `.js` files, and inline
 * code has no asset: both are left out. The directory comes from the `aws:asset:path` metadata, else from the S3 key
 * (`<hash>.zip` is staged as `asset.<hash>`). `hasIndexMjs` tells whether a directory holds the bundle; it is a
 * parameter so that a template fixture can be read without files.
 */
export function functionAssetsOfTemplate(
  stackName: string,
  template: CfnTemplate,
  outdir: string,
  hasIndexMjs: (assetDir: string) => boolean = (dir) => existsSync(join(dir, 'index.mjs')),
): FunctionAsset[] {
  const assets: FunctionAsset[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const properties = resource.Properties ?? {};
    const metadataPath = resource.Metadata?.['aws:asset:path'];
    const s3Key = (properties.Code as { S3Key?: unknown } | undefined)?.S3Key;
    const dirName =
      typeof metadataPath === 'string'
        ? metadataPath
        : typeof s3Key === 'string' && s3Key.endsWith('.zip')
          ? `asset.${s3Key.slice(0, -'.zip'.length)}`
          : undefined;
    if (dirName === undefined) continue;
    const assetDir = resolve(outdir, dirName);
    if (!hasIndexMjs(assetDir)) continue;
    const variables = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    const serviceName = variables?.POWERTOOLS_SERVICE_NAME;
    const memory = properties.MemorySize;
    assets.push({
      stackName,
      logicalId,
      name: typeof serviceName === 'string' ? serviceName : logicalId,
      assetDir,
      memoryMb: typeof memory === 'number' ? memory : undefined,
    });
  }
  return assets;
}

/** Every bundled function of the app (see functionAssetsOfTemplate), across its stacks. */
export function functionAssets(app: SynthesizedApp, outdir: string): FunctionAsset[] {
  return app.stacks.flatMap(({ stackName, template }) =>
    functionAssetsOfTemplate(stackName, template, outdir),
  );
}

/**
 * The entry a bundle was built from, by its source map's `sources` (relative to the map's directory): the
 * `lambdas/<function>/handler.ts` composition root the project's convention names (docs/architecture.md), else the
 * last source outside node_modules (esbuild emits an ESM entry after its imports). Absolute.
 */
export function entryFromSourceMap(sources: readonly string[], mapDir: string): string {
  const absolute = sources.map((source) => resolve(mapDir, source));
  const handlers = absolute.filter((source) => /[/\\]lambdas[/\\][^/\\]+[/\\]handler\.ts$/.test(source));
  if (handlers.length === 1) return handlers[0]!;
  const own = absolute.filter((source) => !source.split(/[/\\]/).includes('node_modules'));
  const last = own.at(-1);
  if (last === undefined) {
    throw new BundleAnalysisError(
      `No entry among the ${sources.length} sources of the source map in ${mapDir}`,
    );
  }
  return last;
}

// ---------------------------------------------------------------------------------------------------------------
// The zip the CLI uploads
// ---------------------------------------------------------------------------------------------------------------

/**
 * The zip's fixed sizes as the CDK CLI writes it (yazl, `addBuffer` with `forceDosTimestamp`): per file a 30-byte
 * local header and a 46-byte central directory record, each followed by the UTF-8 name and no extra field (sizes are
 * known up front, so no data descriptor either), and one 22-byte end record. The data is deflate-raw at yazl's
 * default level, 6.
 */
export const ZIP_LAYOUT = { localHeader: 30, centralRecord: 46, endRecord: 22, deflateLevel: 6 } as const;

/** One file of an asset: its path inside the zip (`/`-separated) and its content. */
export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
}

/** The bytes of the zip of `entries`, computed as the CLI would write it (ZIP_LAYOUT), without writing one. */
export function zipSize(entries: readonly ZipEntry[]): number {
  let bytes = ZIP_LAYOUT.endRecord;
  for (const entry of entries) {
    const name = Buffer.byteLength(entry.name, 'utf8');
    const compressed = deflateRawSync(entry.data, { level: ZIP_LAYOUT.deflateLevel }).length;
    bytes += ZIP_LAYOUT.localHeader + name + compressed + ZIP_LAYOUT.centralRecord + name;
  }
  return bytes;
}

/** The files of a directory, recursively, as zip entries named relative to it (the CLI zips every file). */
export function directoryEntries(dir: string): ZipEntry[] {
  const entries: ZipEntry[] = [];
  const walk = (current: string): void => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else entries.push({ name: relative(dir, path).split(sep).join('/'), data: readFileSync(path) });
    }
  };
  walk(dir);
  return entries;
}

// ---------------------------------------------------------------------------------------------------------------
// The heaviest packages
// ---------------------------------------------------------------------------------------------------------------

/**
 * The package a bundled file belongs to, by its path in the metafile: the innermost `node_modules/<name>` (or
 * `node_modules/@scope/name`), since a nested copy is its own package; `(project)` for files outside node_modules.
 */
export function packageOfPath(path: string): string {
  const parts = path.split(/[/\\]/);
  const last = parts.lastIndexOf('node_modules');
  if (last === -1 || last + 1 >= parts.length) return PROJECT_PACKAGE;
  const name = parts[last + 1]!;
  if (name.startsWith('@') && last + 2 < parts.length) return `${name}/${parts[last + 2]}`;
  return name;
}

/** One package's bytes in a bundle and its share of the bundle (0 to 1). */
export interface PackageWeight {
  readonly name: string;
  readonly bytes: number;
  readonly share: number;
}

/** What a metafile says of one output file. */
export interface MetafileFigures {
  /** The output's bytes (banner, runtime helpers and exports included). */
  readonly outputBytes: number;
  /** Input files that contribute at least one byte to the output. */
  readonly modules: number;
  /** Packages by bytes in the output, heaviest first (ties by name), at most `limit`. */
  readonly heaviestPackages: readonly PackageWeight[];
}

/** The output `outfile` (as the metafile names it, else its only `.mjs`/`.js` output) of a metafile, aggregated. */
export function metafileFigures(metafile: Metafile, outfile?: string, limit = 10): MetafileFigures {
  const outputs = Object.entries(metafile.outputs).filter(([path]) => !path.endsWith('.map'));
  const found = outfile === undefined ? outputs[0] : outputs.find(([path]) => path === outfile);
  if (found === undefined) {
    throw new BundleAnalysisError(`The metafile has no output ${outfile ?? '(any)'}`);
  }
  const [, output] = found;
  const byPackage = new Map<string, number>();
  let modules = 0;
  for (const [path, input] of Object.entries(output.inputs)) {
    if (input.bytesInOutput <= 0) continue;
    modules += 1;
    const name = packageOfPath(path);
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
  }
  const heaviestPackages = [...byPackage.entries()]
    .sort(([nameA, a], [nameB, b]) => b - a || nameA.localeCompare(nameB))
    .slice(0, limit)
    .map(([name, bytes]) => ({ name, bytes, share: shareOf(bytes, output.bytes) }));
  return { outputBytes: output.bytes, modules, heaviestPackages };
}

/** `part / whole` to four decimals; 0 for an empty whole. */
export function shareOf(part: number, whole: number): number {
  return whole <= 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;
}

// ---------------------------------------------------------------------------------------------------------------
// Bundling as NodejsFunction does
// ---------------------------------------------------------------------------------------------------------------

/**
 * The banner of lib/constructs/base-function.ts's bundling props, copied: bundled CommonJS may require() Node
 * built-ins, which ESM lacks.
 */
export const LAMBDA_BUNDLE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * The esbuild options NodejsFunction derives from BaseFunction's bundling props (runtime nodejs24.x, format esm,
 * mainFields module,main, minify, keepNames, the banner, a source map without sources content, the repository's
 * tsconfig, and its aliases, LAMBDA_BUNDLE_ALIASES itself) and from its own defaults: bundleAwsSDK true leaves no
 * external module, so the AWS SDK is bundled. Apart from the aliases, a copy, not a reading of base-function.ts: the
 * benchmark reports whether this bundle's size matches the synthesized one, which is what shows that the copy is
 * still true.
 */
export function lambdaBundleOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [relative(PROJECT_ROOT, entry)],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    outfile,
    mainFields: ['module', 'main'],
    banner: { js: LAMBDA_BUNDLE_BANNER },
    minify: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    tsconfig: join(PROJECT_ROOT, 'tsconfig.json'),
    external: [],
    alias: { ...LAMBDA_BUNDLE_ALIASES },
    metafile: true,
    logLevel: 'silent',
  };
}

/** Bundles `entry` into `outfile` (and its `.map`) as lambdaBundleOptions says; returns the metafile. */
export async function bundleLikeLambda(entry: string, outfile: string): Promise<Metafile> {
  const result = await build(lambdaBundleOptions(entry, outfile));
  if (result.metafile === undefined) {
    throw new BundleAnalysisError(`esbuild returned no metafile for ${entry}`);
  }
  return result.metafile;
}

/** The relative difference of two sizes, to four decimals (0 when both are 0). */
export function sizeDifference(rebundled: number, synthesized: number): number {
  return synthesized === 0
    ? rebundled === 0
      ? 0
      : 1
    : shareOf(Math.abs(rebundled - synthesized), synthesized);
}
