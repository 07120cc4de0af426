/**
 * What every benchmark shares: what it is given, what it reports, and the lag figures' shape. In a module of its own
 * so that the registry (benchmarks.ts) imports the benchmarks and the benchmarks import this, never the registry.
 */

/** End-to-end lag of one consumer: records sampled and the percentiles of their lag, in ms (null with no samples). */
export interface LagFigures {
  readonly records: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

/** What every benchmark gets from the command line. */
export interface BenchmarkSettings {
  /** API writes per second. */
  readonly ratePerSecond: number;
  /** How long the load runs. */
  readonly seconds: number;
  /** Seed of the traffic. */
  readonly seed: number;
  /** The sandbox's output directory; undefined = its default. */
  readonly outputDir: string | undefined;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

/** What a benchmark adds to the report; sections merge across benchmarks. */
export interface BenchmarkResult {
  readonly lag?: Readonly<Record<string, LagFigures>>;
  readonly comparisons?: Readonly<Record<string, unknown>>;
  /** The `cold-start` benchmark's section (cold-start-bench.ts, ColdStartReport). */
  readonly coldStart?: unknown;
  /** The `cpu-per-record` benchmark's section (cpu-per-record-bench.ts, CpuPerRecordReport). */
  readonly cpuPerRecord?: unknown;
  /** The `redrive` benchmark's section (redrive-bench.ts, RedriveFigures): the report has it only when it ran. */
  readonly redrive?: unknown;
}

export interface Benchmark {
  readonly name: string;
  readonly description: string;
  run(settings: BenchmarkSettings): Promise<BenchmarkResult>;
}
