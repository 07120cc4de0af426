import { auditBenchmark } from './audit-bench.js';
import { coldStartBenchmark } from './cold-start-bench.js';
import { cpuPerRecordBenchmark } from './cpu-per-record-bench.js';
import { fanoutBenchmark } from './fanout-bench.js';
import type { Benchmark, BenchmarkSettings, LagFigures } from './harness.js';
import { lagBenchmark } from './lag.js';
import { redriveBenchmark } from './redrive-bench.js';
import { searchBenchmark } from './search-bench.js';
import { votesBenchmark } from './votes-bench.js';

/**
 * The registry of named benchmarks behind `npm run bench`. A benchmark runs on its own (a fresh sandbox system if it
 * needs one) and contributes to sections of the report: `lag` (end-to-end lag per consumer), `comparisons` (named
 * A/B figures: each pipeline against its baseline), `coldStart` or `cpuPerRecord`. Adding one is one entry in BENCHMARKS.
 */

/** Every benchmark, run in this order. */
export const BENCHMARKS: readonly Benchmark[] = [
  lagBenchmark,
  fanoutBenchmark(),
  searchBenchmark(),
  auditBenchmark(),
  votesBenchmark(),
  coldStartBenchmark(),
  cpuPerRecordBenchmark(),
  redriveBenchmark(),
];

/** The report `npm run bench -- --json` prints as its last line. */
export interface BenchReport {
  /** CPU model, cores, memory and Node.js version: figures mean little without the machine. */
  readonly machine: string;
  readonly lag: Readonly<Record<string, LagFigures>>;
  readonly comparisons: Readonly<Record<string, unknown>>;
  /** Footprint and init time per function (`cold-start`); only when that benchmark ran. */
  readonly coldStart?: unknown;
  /** Handler CPU per record per consumer (`cpu-per-record`); only when that benchmark ran. */
  readonly cpuPerRecord?: unknown;
  /** Only when the `redrive` benchmark ran: its figures (redrive-bench.ts, RedriveFigures). */
  readonly redrive?: unknown;
  /** The load the figures were measured under. */
  readonly settings: { readonly ratePerSecond: number; readonly seconds: number; readonly seed: number };
}

/** Runs the benchmarks one after the other and merges their sections into one report. */
export async function runBenchmarks(
  benchmarks: readonly Benchmark[],
  settings: BenchmarkSettings,
  machine: string,
): Promise<BenchReport> {
  const lag: Record<string, LagFigures> = {};
  const comparisons: Record<string, unknown> = {};
  let coldStart: unknown;
  let cpuPerRecord: unknown;
  let redrive: unknown;
  for (const benchmark of benchmarks) {
    settings.log(`Benchmark ${benchmark.name}: ${benchmark.description}`);
    const result = await benchmark.run(settings);
    Object.assign(lag, result.lag);
    Object.assign(comparisons, result.comparisons);
    coldStart = result.coldStart ?? coldStart;
    cpuPerRecord = result.cpuPerRecord ?? cpuPerRecord;
    if (result.redrive !== undefined) redrive = result.redrive;
  }
  return {
    machine,
    lag,
    comparisons,
    ...(coldStart === undefined ? {} : { coldStart }),
    ...(cpuPerRecord === undefined ? {} : { cpuPerRecord }),
    // Added only when measured, so that the report of the other benchmarks keeps its fields as they were.
    ...(redrive === undefined ? {} : { redrive }),
    settings: { ratePerSecond: settings.ratePerSecond, seconds: settings.seconds, seed: settings.seed },
  };
}
