import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEFAULT_OUTPUT_DIR, prepareOutputDir } from '../../sandbox/output-dir.js';
import { type SynthesizedApp, synthesizeBundledApp } from '../../sandbox/synth.js';
import { apiFunctionAddress } from '../../sandbox/template-env.js';
import {
  bundleLikeLambda,
  directoryEntries,
  entryFromSourceMap,
  type FunctionAsset,
  functionAssets,
  metafileFigures,
  type PackageWeight,
  PROJECT_ROOT,
  sizeDifference,
  zipSize,
} from './bundle-analysis.js';
import {
  bundleHelloWorld,
  type ColdStartSample,
  runColdStart,
  writeColdStartLoader,
} from './cold-start-child.js';
import type { Benchmark, BenchmarkResult, BenchmarkSettings } from './harness.js';
import { closedPort, lambdaRuntimeEnvironment, offlineTemplateEnvironment } from './offline-environment.js';
import { median, percentile, ratio, rounded } from './stats.js';

/**
 * `cold-start` (`npm run bench -- --only cold-start`): the footprint and init time of every function of the app, from
 * the bundles `cdk synth` writes. The app is synthesized with its assets (synthesizeBundledApp: NodejsFunction bundles
 * each function with the local esbuild into `asset.<hash>/`); for each function whose asset is an `index.mjs`:
 *
 * - sizes: index.mjs, its source map, and the zip the CDK CLI would upload (zipSize: computed, not written);
 * - composition: the entry (from the source map) bundled again with esbuild as NodejsFunction bundles it, with a
 *   metafile: modules bundled and the ten heaviest packages; whether that bundle's size matches the synthesized
 *   index.mjs within REBUNDLE_TOLERANCE says whether the figures describe the deployed bundle;
 * - init: `runs` cold starts in fresh `node` processes (cold-start-child.ts) with the function's environment from the
 *   template resolved to stand-ins that lead nowhere (offline-environment.ts) and one first event it answers
 *   without the network, interleaved run by run with a hello-world handler bundled the same way, under the same
 *   environment; once without and once with `NODE_OPTIONS=--enable-source-maps` (which BaseFunction does not set:
 *   the second figure is what the flag would cost).
 *
 * Wall-clock figures vary with the machine and its load; the sizes do not (for a given lock file and source).
 */

/** Cold starts per function, per variant (and as many of the hello world). */
export const COLD_START_RUNS = 10;

/** The re-bundle counts as the synthesized bundle when their sizes differ by at most this share. */
export const REBUNDLE_TOLERANCE = 0.01;

/** The init figures of one variant, in ms: wall = spawn to report; import and first invoke as the child measured. */
export interface InitFigures {
  readonly runs: number;
  readonly medianMs: number | null;
  readonly p90Ms: number | null;
  readonly importMedianMs: number | null;
  readonly importP90Ms: number | null;
  readonly firstInvokeMedianMs: number | null;
  readonly firstInvokeP90Ms: number | null;
  readonly helloMedianMs: number | null;
  readonly helloP90Ms: number | null;
  readonly helloImportMedianMs: number | null;
  /** medianMs / helloMedianMs. */
  readonly ratio: number | null;
  /** importMedianMs / helloImportMedianMs. */
  readonly importRatio: number | null;
}

/** One function's figures. */
export interface ColdStartFunctionFigures {
  /** Its POWERTOOLS_SERVICE_NAME, else its logical id. */
  readonly function: string;
  readonly stackName: string;
  readonly logicalId: string;
  /** The entry, relative to the repository. */
  readonly entry: string;
  readonly indexBytes: number;
  readonly mapBytes: number;
  /** The zip of the asset directory as the CDK CLI writes it (bundle-analysis.ts, ZIP_LAYOUT). */
  readonly zipBytes: number;
  /** Input files that contribute bytes to the re-bundle. */
  readonly modules: number;
  readonly heaviestPackages: readonly PackageWeight[];
  readonly rebundle: {
    readonly indexBytes: number;
    /** |re-bundle - synthesized| / synthesized. */
    readonly sizeDifference: number;
    /** sizeDifference <= REBUNDLE_TOLERANCE: the composition describes the synthesized bundle. */
    readonly matchesSynthesized: boolean;
  };
  /** The first event of every run, in words, and what the handler returned to the first run. */
  readonly firstEvent: string;
  readonly firstResult: unknown;
  /** Without NODE_OPTIONS. */
  readonly init: InitFigures;
  /** With NODE_OPTIONS=--enable-source-maps, as deployed. */
  readonly initWithSourceMaps: InitFigures;
}

/** The `coldStart` section of the report. */
export interface ColdStartReport {
  readonly runs: number;
  readonly rebundleTolerance: number;
  readonly helloWorld: { readonly indexBytes: number };
  readonly functions: readonly ColdStartFunctionFigures[];
}

export interface ColdStartBenchOptions {
  /** @default COLD_START_RUNS */
  readonly runs?: number;
}

/** The role a function plays, which decides the first event it gets. */
export type FunctionRole = 'api' | 'stream-consumer' | 'custom-resource';

/**
 * The first event of a function that it answers without the network, by reading its handler: a stream consumer
 * returns early on an empty batch; the API refuses a POST /orders whose body fails validation (400) before any call;
 * the custom resource handler answers a Delete without a call (the domain keeps its mapping).
 */
export function firstEventFor(role: FunctionRole): { readonly description: string; readonly event: unknown } {
  if (role === 'stream-consumer') {
    return { description: 'an empty stream batch { Records: [] }', event: { Records: [] } };
  }
  if (role === 'api') {
    return {
      description: 'POST /orders with a body that fails validation (400, no call)',
      event: {
        resource: '/orders',
        path: '/orders',
        httpMethod: 'POST',
        headers: { 'content-type': 'application/json' },
        multiValueHeaders: { 'content-type': ['application/json'] },
        queryStringParameters: null,
        multiValueQueryStringParameters: null,
        pathParameters: null,
        stageVariables: null,
        requestContext: {
          requestId: 'cold-start',
          identity: { caller: 'cold-start', userArn: 'arn:aws:iam::000000000000:user/cold-start' },
        },
        body: JSON.stringify({ lines: [] }),
        isBase64Encoded: false,
      },
    };
  }
  return {
    description: 'a CloudFormation Delete (answered without a call)',
    event: {
      RequestType: 'Delete',
      ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:cold-start',
      ResponseURL: 'http://127.0.0.1:9/',
      StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/cold-start/0',
      RequestId: 'cold-start',
      LogicalResourceId: 'ColdStart',
      PhysicalResourceId: 'cold-start',
      ResourceType: 'Custom::ColdStart',
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:cold-start' },
    },
  };
}

/** The role of a function: the API's integration, a mapping's target, or else a custom resource handler. */
export function functionRole(
  app: SynthesizedApp,
  fn: { stackName: string; logicalId: string },
): FunctionRole {
  const api = apiFunctionAddress(app);
  if (api.stackName === fn.stackName && api.logicalId === fn.logicalId) return 'api';
  const targeted = app.resourcesOfType('AWS::Lambda::EventSourceMapping').some(({ stackName, resource }) => {
    const target = JSON.stringify(resource.Properties?.FunctionName ?? null);
    return stackName === fn.stackName && target.includes(`"${fn.logicalId}"`);
  });
  return targeted ? 'stream-consumer' : 'custom-resource';
}

/** One variant's figures from the function's and the hello world's samples. */
export function initFigures(
  samples: readonly ColdStartSample[],
  hello: readonly ColdStartSample[],
): InitFigures {
  const of = (list: readonly ColdStartSample[], pick: (sample: ColdStartSample) => number): number[] =>
    list.map(pick);
  const wall = of(samples, (s) => s.wallMs);
  const imports = of(samples, (s) => s.importMs);
  const invokes = of(samples, (s) => s.firstInvokeMs);
  const helloWall = of(hello, (s) => s.wallMs);
  const helloImports = of(hello, (s) => s.importMs);
  return {
    runs: samples.length,
    medianMs: rounded(median(wall)),
    p90Ms: rounded(percentile(wall, 90)),
    importMedianMs: rounded(median(imports)),
    importP90Ms: rounded(percentile(imports, 90)),
    firstInvokeMedianMs: rounded(median(invokes)),
    firstInvokeP90Ms: rounded(percentile(invokes, 90)),
    helloMedianMs: rounded(median(helloWall)),
    helloP90Ms: rounded(percentile(helloWall, 90)),
    helloImportMedianMs: rounded(median(helloImports)),
    ratio: ratio(median(wall), median(helloWall)),
    importRatio: ratio(median(imports), median(helloImports)),
  };
}

/**
 * `runs` cold starts of `bundle`, each next to one of the hello world (alternating which goes first, so neither
 * always gets the warmer page cache), with the same environment.
 */
export async function measureInit(options: {
  readonly loader: string;
  readonly bundle: string;
  readonly helloBundle: string;
  readonly env: Readonly<Record<string, string>>;
  readonly event: unknown;
  readonly runs: number;
}): Promise<{ readonly figures: InitFigures; readonly firstResult: unknown }> {
  const samples: ColdStartSample[] = [];
  const hello: ColdStartSample[] = [];
  const fn = (): Promise<ColdStartSample> =>
    runColdStart({ loader: options.loader, bundle: options.bundle, env: options.env, event: options.event });
  const helloWorld = (): Promise<ColdStartSample> =>
    runColdStart({ loader: options.loader, bundle: options.helloBundle, env: options.env, event: {} });
  for (let run = 0; run < options.runs; run += 1) {
    if (run % 2 === 0) {
      samples.push(await fn());
      hello.push(await helloWorld());
    } else {
      hello.push(await helloWorld());
      samples.push(await fn());
    }
  }
  return { figures: initFigures(samples, hello), firstResult: samples[0]?.result };
}

/** The environment without NODE_OPTIONS, and with exactly `--enable-source-maps`. */
function variants(env: Readonly<Record<string, string>>): {
  readonly plain: Record<string, string>;
  readonly sourceMaps: Record<string, string>;
} {
  const { NODE_OPTIONS: _ignored, ...plain } = env;
  return { plain, sourceMaps: { ...plain, NODE_OPTIONS: '--enable-source-maps' } };
}

async function measureFunction(options: {
  readonly app: SynthesizedApp;
  readonly asset: FunctionAsset;
  readonly workDir: string;
  readonly loader: string;
  readonly helloBundle: string;
  readonly port: number;
  readonly runs: number;
  readonly log: (line: string) => void;
}): Promise<ColdStartFunctionFigures> {
  const { app, asset } = options;
  const index = join(asset.assetDir, 'index.mjs');
  const mapPath = `${index}.map`;
  const indexBytes = statSync(index).size;
  const mapBytes = statSync(mapPath).size;
  const zipBytes = zipSize(directoryEntries(asset.assetDir));
  const map = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources?: string[] };
  const entry = entryFromSourceMap(map.sources ?? [], asset.assetDir);

  const rebundleDir = join(options.workDir, 'rebundle', asset.name);
  mkdirSync(rebundleDir, { recursive: true });
  const outfile = join(rebundleDir, 'index.mjs');
  const metafile = await bundleLikeLambda(entry, outfile);
  const composition = metafileFigures(metafile, relative(PROJECT_ROOT, outfile));
  const rebundledBytes = statSync(outfile).size;
  const difference = sizeDifference(rebundledBytes, indexBytes);

  const env = {
    ...offlineTemplateEnvironment(app, asset, options.port),
    ...lambdaRuntimeEnvironment({
      functionName: asset.name,
      memoryMb: asset.memoryMb,
      taskRoot: asset.assetDir,
      port: options.port,
    }),
  };
  const first = firstEventFor(functionRole(app, asset));
  const { plain, sourceMaps } = variants(env);
  options.log(`  ${asset.name}: ${options.runs} cold starts without source maps...`);
  const init = await measureInit({ ...options, bundle: index, env: plain, event: first.event });
  options.log(`  ${asset.name}: ${options.runs} cold starts with --enable-source-maps...`);
  const withMaps = await measureInit({ ...options, bundle: index, env: sourceMaps, event: first.event });
  return {
    function: asset.name,
    stackName: asset.stackName,
    logicalId: asset.logicalId,
    entry: relative(PROJECT_ROOT, entry),
    indexBytes,
    mapBytes,
    zipBytes,
    modules: composition.modules,
    heaviestPackages: composition.heaviestPackages,
    rebundle: {
      indexBytes: rebundledBytes,
      sizeDifference: difference,
      matchesSynthesized: difference <= REBUNDLE_TOLERANCE,
    },
    firstEvent: first.description,
    firstResult: init.firstResult,
    init: init.figures,
    initWithSourceMaps: withMaps.figures,
  };
}

/** The `cold-start` benchmark. */
export function coldStartBenchmark(options: ColdStartBenchOptions = {}): Benchmark {
  const runs = options.runs ?? COLD_START_RUNS;
  return {
    name: 'cold-start',
    description:
      `bundle sizes, heaviest packages and init time of every function from its synthesized asset ` +
      `(${runs} cold starts each, next to a hello world, with and without source maps)`,
    async run(settings: BenchmarkSettings): Promise<BenchmarkResult> {
      const outputDir = settings.outputDir ?? DEFAULT_OUTPUT_DIR;
      await prepareOutputDir(outputDir);
      const workDir = join(outputDir, 'bench-cold-start');
      const cdkOut = join(workDir, 'cdk.out');
      mkdirSync(cdkOut, { recursive: true });
      settings.log(`  synthesizing the app with its assets into ${cdkOut} (esbuild per function)...`);
      const app = synthesizeBundledApp(cdkOut);
      const assets = functionAssets(app, cdkOut);
      settings.log(`  ${assets.length} bundled functions: ${assets.map((asset) => asset.name).join(', ')}`);
      const loader = writeColdStartLoader(workDir);
      const helloBundle = await bundleHelloWorld(join(workDir, 'hello-world'));
      const port = await closedPort();
      const functions: ColdStartFunctionFigures[] = [];
      for (const asset of assets) {
        functions.push(
          await measureFunction({ app, asset, workDir, loader, helloBundle, port, runs, log: settings.log }),
        );
      }
      const report: ColdStartReport = {
        runs,
        rebundleTolerance: REBUNDLE_TOLERANCE,
        helloWorld: { indexBytes: statSync(helloBundle).size },
        functions,
      };
      return { coldStart: report };
    },
  };
}

/** The cold-start section for bench's text output: one table of sizes and init times, then each bundle's packages. */
export function describeColdStart(report: ColdStartReport): string {
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
  const ms = (value: number | null): string => (value === null ? '-' : `${value.toFixed(0)}`);
  const header =
    `  ${'function'.padEnd(20)} ${'index'.padStart(9)} ${'zip'.padStart(9)} ${'map'.padStart(9)} ` +
    `${'modules'.padStart(7)}  init ms med/p90 (hello, x)       with source maps ms med/p90 (x)`;
  const rows = report.functions.map(
    (fn) =>
      `  ${fn.function.padEnd(20)} ${kib(fn.indexBytes).padStart(9)} ${kib(fn.zipBytes).padStart(9)} ` +
      `${kib(fn.mapBytes).padStart(9)} ${String(fn.modules).padStart(7)}  ` +
      `${`${ms(fn.init.medianMs)}/${ms(fn.init.p90Ms)} (${ms(fn.init.helloMedianMs)}, ${fn.init.ratio ?? '-'}x)`.padEnd(
        30,
      )}  ${ms(fn.initWithSourceMaps.medianMs)}/${ms(fn.initWithSourceMaps.p90Ms)} ` +
      `(${fn.initWithSourceMaps.ratio ?? '-'}x)` +
      (fn.rebundle.matchesSynthesized ? '' : `  [re-bundle differs by ${fn.rebundle.sizeDifference}]`),
  );
  const packages = report.functions.map(
    (fn) =>
      `  ${fn.function}: ` +
      fn.heaviestPackages
        .slice(0, 5)
        .map((pkg) => `${pkg.name} ${kib(pkg.bytes)} (${(pkg.share * 100).toFixed(0)}%)`)
        .join(', '),
  );
  return [
    `Cold start, ${report.runs} runs per function and variant (hello world ${kib(report.helloWorld.indexBytes)}):`,
    header,
    ...rows,
    'Heaviest packages:',
    ...packages,
  ].join('\n');
}
