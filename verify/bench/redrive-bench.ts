import type { OpsCallCounts } from '../drill/counting-ops-aws.js';
import {
  type DownstreamCalls,
  type OutageDrillOptions,
  type OutageDrillResult,
  runOutageDrill,
} from '../drill/outage-drill.js';
import type { Benchmark, BenchmarkResult, BenchmarkSettings } from './harness.js';

/**
 * `redrive` (`npm run bench -- --only redrive`): the outage drill (verify/drill/outage-drill.ts) run as a benchmark:
 * what `npm run ops -- redrive <consumer>` and `ops replay search-sync` cost in the sandbox after an outage longer
 * than the maximum record age. Throughput is records invoked per wall second of the command (the sandbox's Invoke is
 * in-process: no Lambda cold start or network, so a deployed stage is slower per call, not per record); calls per
 * record are the command's own (SQS ReceiveMessage and DeleteMessage per letter, Lambda Invoke per record, DynamoDB
 * Streams GetShardIterator and GetRecords per range) and the consumers' downstream calls while it ran. The figures
 * are reported, never asserted; the drill's correctness (`ok`) is reported with them.
 */

/** One consumer's redrive, as the report gives it. */
export interface RedriveConsumerFigures {
  readonly letters: { readonly runtime: number; readonly onFailure: number };
  readonly recordsInvoked: number;
  readonly invocations: number;
  readonly seconds: number;
  readonly recordsPerSecond: number | null;
  readonly invokesPerRecord: number | null;
  readonly sqsCallsPerLetter: number | null;
  readonly streamCallsPerRange: number | null;
  readonly downstreamCallsPerRecord: number | null;
  readonly calls: OpsCallCounts;
  readonly downstreamCalls: DownstreamCalls;
}

/** The `redrive` section of the bench report. */
export interface RedriveFigures {
  readonly maxRecordAgeMs: number;
  readonly operations: { readonly normal: number; readonly outage: number };
  readonly streamRecords: { readonly orders: number; readonly votes: number };
  /** Letters in the DLQs when the outage ended, every consumer. */
  readonly letters: { readonly runtime: number; readonly onFailure: number };
  readonly consumers: Readonly<Record<string, RedriveConsumerFigures>>;
  /** The four redrives together. */
  readonly total: {
    readonly recordsInvoked: number;
    readonly seconds: number;
    readonly recordsPerSecond: number | null;
    readonly invokesPerRecord: number | null;
    readonly sqsCallsPerLetter: number | null;
    readonly downstreamCallsPerRecord: number | null;
  };
  /** `ops replay search-sync` over the run into an emptied index. */
  readonly replay: {
    readonly records: number;
    readonly seconds: number;
    readonly recordsPerSecond: number | null;
    readonly invokesPerRecord: number | null;
    readonly downstreamCallsPerRecord: number | null;
    readonly calls: OpsCallCounts;
    readonly downstreamCalls: DownstreamCalls;
  };
  /** The drill's checks all held (each target equal to the table, a second redrive idle, the replay converged). */
  readonly ok: boolean;
  readonly problems: readonly string[];
}

export interface RedriveBenchOptions {
  readonly normalOperations?: number;
  readonly outageOperations?: number;
  readonly maxRecordAgeMs?: number;
  /** The drill's waits (drains) fail past this: a hang, not a slow machine. @default 30 minutes */
  readonly hangTimeoutMs?: number;
}

function ratio(count: number, of: number): number | null {
  return of === 0 ? null : Math.round((count / of) * 1000) / 1000;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** The report's section from a drill's result. */
export function redriveFigures(
  result: OutageDrillResult,
  settings: Pick<OutageDrillOptions, 'maxRecordAgeMs' | 'normalOperations' | 'outageOperations'>,
): RedriveFigures {
  const runs = result.redrive;
  const letters = Object.values(result.outage.letters);
  const recordsInvoked = sum(runs.map((run) => run.recordsInvoked));
  const seconds = Math.round(sum(runs.map((run) => run.seconds)) * 1000) / 1000;
  const lettersRead = sum(runs.map((run) => run.lettersRead));
  const downstream = sum(runs.map((run) => sum(Object.values(run.downstreamCalls))));
  const { replay } = result;
  return {
    maxRecordAgeMs: settings.maxRecordAgeMs,
    operations: { normal: settings.normalOperations, outage: settings.outageOperations },
    streamRecords: result.streamRecords,
    letters: {
      runtime: sum(letters.map((counts) => counts.runtime)),
      onFailure: sum(letters.map((counts) => counts.onFailure)),
    },
    consumers: Object.fromEntries(
      runs.map((run) => [
        run.consumer,
        {
          letters: run.letters,
          recordsInvoked: run.recordsInvoked,
          invocations: run.invocations,
          seconds: run.seconds,
          recordsPerSecond: run.recordsPerSecond,
          invokesPerRecord: run.invokesPerRecord,
          sqsCallsPerLetter: run.sqsCallsPerLetter,
          streamCallsPerRange: run.streamCallsPerRange,
          downstreamCallsPerRecord: run.downstreamCallsPerRecord,
          calls: run.calls,
          downstreamCalls: run.downstreamCalls,
        },
      ]),
    ),
    total: {
      recordsInvoked,
      seconds,
      recordsPerSecond: seconds <= 0 ? null : Math.round((recordsInvoked / seconds) * 10) / 10,
      invokesPerRecord: ratio(sum(runs.map((run) => run.calls.invoke)), recordsInvoked),
      sqsCallsPerLetter: ratio(
        sum(runs.map((run) => run.calls.receiveMessage + run.calls.deleteMessage)),
        lettersRead,
      ),
      downstreamCallsPerRecord: ratio(downstream, recordsInvoked),
    },
    replay: {
      records: replay.recordsDone,
      seconds: replay.seconds,
      recordsPerSecond: replay.recordsPerSecond,
      invokesPerRecord: replay.invokesPerRecord,
      downstreamCallsPerRecord: replay.downstreamCallsPerRecord,
      calls: replay.calls,
      downstreamCalls: replay.downstreamCalls,
    },
    ok: result.ok,
    problems: result.problems,
  };
}

/** The section as text, for the report without --json. */
export function describeRedriveFigures(figures: RedriveFigures): string {
  const show = (value: number | null): string => (value === null ? '-' : String(value));
  const rows = Object.entries(figures.consumers).map(
    ([consumer, run]) =>
      `  ${consumer.padEnd(16)} ${String(run.letters.runtime).padStart(4)} full + ` +
      `${String(run.letters.onFailure).padStart(4)} range letters, ${String(run.recordsInvoked).padStart(5)} records ` +
      `in ${run.seconds} s (${show(run.recordsPerSecond)}/s); per record ${show(run.invokesPerRecord)} Invoke, ` +
      `${show(run.downstreamCallsPerRecord)} downstream calls; ${show(run.sqsCallsPerLetter)} SQS calls per letter, ` +
      `${show(run.streamCallsPerRange)} stream calls per range`,
  );
  return [
    `Redrive after an outage longer than the maximum record age (${figures.maxRecordAgeMs} ms), ` +
      `${figures.streamRecords.orders} Orders and ${figures.streamRecords.votes} Votes stream records, ` +
      `${figures.letters.runtime} full and ${figures.letters.onFailure} range letters:`,
    ...rows,
    `  all              ${figures.total.recordsInvoked} records in ${figures.total.seconds} s ` +
      `(${show(figures.total.recordsPerSecond)}/s), ${show(figures.total.invokesPerRecord)} Invoke and ` +
      `${show(figures.total.downstreamCallsPerRecord)} downstream calls per record, ` +
      `${show(figures.total.sqsCallsPerLetter)} SQS calls per letter`,
    `  replay search-sync: ${figures.replay.records} records in ${figures.replay.seconds} s ` +
      `(${show(figures.replay.recordsPerSecond)}/s), ${show(figures.replay.invokesPerRecord)} Invoke and ` +
      `${show(figures.replay.downstreamCallsPerRecord)} downstream calls (S3 reads, OpenSearch) per record`,
    `  drill ${figures.ok ? 'ok: every target equals the table again' : `NOT OK: ${figures.problems.join('; ')}`}`,
  ].join('\n');
}

export function redriveBenchmark(options: RedriveBenchOptions = {}): Benchmark {
  const normalOperations = options.normalOperations ?? 200;
  const outageOperations = options.outageOperations ?? 1000;
  const maxRecordAgeMs = options.maxRecordAgeMs ?? 3_000;
  return {
    name: 'redrive',
    description:
      `ops redrive and ops replay throughput and calls per record after an outage longer than the maximum record ` +
      `age (${maxRecordAgeMs} ms; ${outageOperations} operations during it)`,
    async run(settings: BenchmarkSettings): Promise<BenchmarkResult> {
      const drill: OutageDrillOptions = {
        seed: settings.seed,
        normalOperations,
        outageOperations,
        maxRecordAgeMs,
        functionTimeoutMs: 30_000,
        maxBatchingWindowMs: 200,
        ...(settings.outputDir === undefined ? {} : { outputDir: settings.outputDir }),
        hangTimeoutMs: options.hangTimeoutMs ?? 30 * 60_000,
        log: settings.log,
      };
      const result = await runOutageDrill(drill);
      const figures = redriveFigures(result, drill);
      if (!figures.ok) settings.log(`The outage drill's checks failed: ${figures.problems.join('; ')}`);
      return { redrive: figures };
    },
  };
}
