import { integerFlag, parseFlags, positiveNumberFlag, UsageError } from '../../ops/cli/flags.js';

/** What the command line decides of a bench run. */
export interface BenchCliOptions {
  readonly json: boolean;
  /** Benchmarks to run, by name, in registry order. */
  readonly only: string | undefined;
  readonly ratePerSecond: number;
  readonly seconds: number;
  readonly seed: number;
  readonly outputDir: string | undefined;
}

export const BENCH_DEFAULTS = { ratePerSecond: 50, seconds: 60, seed: 1 } as const;

export function benchUsage(names: readonly string[]): string {
  return `Usage: npm run bench -- [--json] [--only <name>] [--rate <n>] [--seconds <n>]

Runs named benchmarks on the local sandbox system. Progress goes to stderr; the last line of stdout is one JSON
object: { "machine", "lag": { "<consumer>": { "records", "p50Ms", "p95Ms", "p99Ms" } }, "comparisons", "settings" },
plus "coldStart", "cpuPerRecord" and "redrive" when those benchmarks ran.

  --json            print only the JSON result on stdout
  --only <name>     run one benchmark: ${names.join(', ')}
  --rate <n>        API writes per second (default ${BENCH_DEFAULTS.ratePerSecond})
  --seconds <n>     how long the load runs (default ${BENCH_DEFAULTS.seconds})
  --seed <n>        seed of the traffic (default ${BENCH_DEFAULTS.seed})
  --output-dir <d>  where the sandbox writes (default <repo>/.sandbox; cleared at start)
  --help            this text`;
}

const OPTIONS = {
  json: { type: 'boolean' },
  only: { type: 'string' },
  rate: { type: 'string' },
  seconds: { type: 'string' },
  seed: { type: 'string' },
  'output-dir': { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** Parses the command line against the known benchmark names; every error names the flag at fault. */
export function parseBenchArgs(argv: readonly string[], names: readonly string[]): BenchCliOptions | 'help' {
  const values = parseFlags(argv, OPTIONS);
  if (values.help) return 'help';
  if (values.only !== undefined && !names.includes(values.only)) {
    throw new UsageError(`--only must name a benchmark (${names.join(', ')}), got "${values.only}"`);
  }
  if (values['output-dir'] === '') {
    throw new UsageError('--output-dir must not be empty');
  }
  return {
    json: values.json ?? false,
    only: values.only,
    ratePerSecond: positiveNumberFlag('rate', values.rate, BENCH_DEFAULTS.ratePerSecond),
    seconds: positiveNumberFlag('seconds', values.seconds, BENCH_DEFAULTS.seconds),
    seed: integerFlag('seed', values.seed, BENCH_DEFAULTS.seed, Number.MIN_SAFE_INTEGER),
    outputDir: values['output-dir'],
  };
}
