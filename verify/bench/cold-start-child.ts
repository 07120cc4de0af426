import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { lambdaBundleOptions } from './bundle-analysis.js';

/**
 * One cold start, as near to Lambda's as one machine gets: a fresh `node` process runs a small ESM loader that
 * imports the bundle (Lambda's init phase: the module's top level, clients and all) and hands the handler one event
 * (the first invoke), then reports on file descriptor 3, apart from the function's own logs on stdout, which are
 * discarded. The parent times from spawn to that report; the child times the import and the invoke itself with
 * performance.now().
 */

/** Thrown when a child does not report, reports an error, or exits first. */
export class ColdStartChildError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'ColdStartChildError';
  }
}

/**
 * The loader. `bootMs` is performance.now() when it starts (Node's own start-up before any user code, measured from
 * the process's time origin); the handler's result is summarised (its statusCode, or its keys) so that a caller can
 * tell that the event was answered as planned rather than by an error path.
 */
export const COLD_START_LOADER = `import { writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const bootMs = performance.now();
const [bundle, eventJson] = process.argv.slice(2);
const report = (value) => writeSync(3, JSON.stringify(value) + '\\n');
try {
  const importStarted = performance.now();
  const module = await import(pathToFileURL(bundle).href);
  const imported = performance.now();
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'cold-start',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cold-start',
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
    awsRequestId: '00000000-0000-4000-8000-000000000001',
    logGroupName: '/aws/lambda/cold-start',
    logStreamName: 'cold-start',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60000,
    done() {},
    fail() {},
    succeed() {},
  };
  const result = await module.handler(JSON.parse(eventJson), context);
  const invoked = performance.now();
  const summary =
    result !== null && typeof result === 'object'
      ? ('statusCode' in result ? { statusCode: result.statusCode } : { keys: Object.keys(result).sort() })
      : { type: typeof result };
  report({ bootMs, importMs: imported - importStarted, firstInvokeMs: invoked - imported, result: summary });
  process.exit(0);
} catch (error) {
  report({ error: String(error && error.stack ? error.stack : error) });
  process.exit(1);
}
`;

/** What one cold start measured, in ms. */
export interface ColdStartSample {
  /** From spawn to the child's report, in the parent. */
  readonly wallMs: number;
  /** Node's start-up before the loader ran, in the child. */
  readonly bootMs: number;
  /** The bundle's import (the init phase), in the child. */
  readonly importMs: number;
  /** The first event's handling, in the child. */
  readonly firstInvokeMs: number;
  /** What the handler returned, summarised. */
  readonly result: unknown;
}

/** Writes the loader into `dir` and returns its path. */
export function writeColdStartLoader(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'cold-start-loader.mjs');
  writeFileSync(path, COLD_START_LOADER);
  return path;
}

/** The hello-world handler the functions are compared with. */
export const HELLO_WORLD_SOURCE = `export const handler = async () => ({ statusCode: 200, body: 'hello' });\n`;

/** Bundles the hello-world handler as the functions are bundled (lambdaBundleOptions) into `<dir>/index.mjs`. */
export async function bundleHelloWorld(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, 'handler.ts');
  writeFileSync(entry, HELLO_WORLD_SOURCE);
  const outfile = join(dir, 'index.mjs');
  await build({ ...lambdaBundleOptions(entry, outfile), metafile: false });
  return outfile;
}

/**
 * Runs one cold start of `bundle` with exactly `env` (nothing inherited: a Lambda sandbox has only its own) and
 * `event`, and returns what it measured. A child silent for `timeoutMs` is killed (by its pid) and fails the run.
 */
export function runColdStart(options: {
  readonly loader: string;
  readonly bundle: string;
  readonly env: Readonly<Record<string, string>>;
  readonly event: unknown;
  /** @default 60 s */
  readonly timeoutMs?: number;
}): Promise<ColdStartSample> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [options.loader, options.bundle, JSON.stringify(options.event)], {
      env: { ...options.env },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let report = '';
    let stderr = '';
    let sample: ColdStartSample | undefined;
    let failure: Error | undefined;
    const timer = setTimeout(() => {
      failure = new ColdStartChildError(`No report from the child within ${options.timeoutMs ?? 60_000} ms`);
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      // The last few KB are enough to say why a child failed.
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    const channel = child.stdio[3] as NodeJS.ReadableStream | null;
    channel?.on('data', (chunk: Buffer) => {
      report += chunk.toString('utf8');
      const newline = report.indexOf('\n');
      if (newline === -1 || sample !== undefined || failure !== undefined) return;
      const wallMs = performance.now() - started;
      const parsed = JSON.parse(report.slice(0, newline)) as Partial<ColdStartSample> & { error?: string };
      if (parsed.error !== undefined) {
        failure = new ColdStartChildError(`The child failed: ${parsed.error}`);
        return;
      }
      sample = {
        wallMs,
        bootMs: Number(parsed.bootMs),
        importMs: Number(parsed.importMs),
        firstInvokeMs: Number(parsed.firstInvokeMs),
        result: parsed.result,
      };
    });
    child.on('error', (error) => {
      failure ??= error;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (sample !== undefined && failure === undefined) {
        resolvePromise(sample);
        return;
      }
      reject(
        failure ??
          new ColdStartChildError(`The child exited with ${code} before reporting; stderr: ${stderr.trim()}`),
      );
    });
  });
}
