import { join } from 'node:path';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { factoriesForMappings } from '../../sandbox/consumers.js';
import { esmConfigsFromApp } from '../../sandbox/esm/esm-config.js';
import { compileFilters } from '../../sandbox/esm/filters.js';
import type { StreamFunction } from '../../sandbox/esm/types.js';
import { localLambdaContext } from '../../sandbox/lambda-context.js';
import { DEFAULT_OUTPUT_DIR } from '../../sandbox/output-dir.js';
import { synthesizeApp } from '../../sandbox/synth.js';
import type { Benchmark, BenchmarkResult, BenchmarkSettings } from './harness.js';
import { inMemoryLocalAdapters } from './in-memory-clients.js';
import { batchesOf, MemoryOrdersRepository, voteStreamRecords } from './memory-stream.js';
import { closedPort, offlineTemplateEnvironment } from './offline-environment.js';
import { applyOrderHistory, planOrderHistory, planVotes } from './workload.js';

/**
 * `cpu-per-record` (`npm run bench -- --only cpu-per-record`): the CPU each stream consumer's handler spends per
 * record, next to a floor measured on the same records in the same run: parsing the event's JSON text and unmarshalling
 * every NewImage and OldImage, the least any consumer does with a record.
 *
 * Each consumer is the one its mapping in the template names, built by its real factory (sandbox/consumers.ts, the
 * local twin of its handler.ts) from its function's environment in the template, on in-memory stand-ins that answer
 * at once (in-memory-clients.ts): no I/O is waited on, so what is measured is the consumer's own work, the stream
 * runtime and the building and reading of its SDK commands (not the SDK's serialization, signing or HTTP).
 *
 * The records are the bench workload's, made in memory (memory-stream.ts), in the shape of a Lambda DynamoDB stream
 * event's records: the order history of `search` and `audit` (planOrderHistory) for the Orders stream, the vote
 * workload of `votes` (planVotes, 100 polls) for the Votes stream. A mapping's filters are applied as Lambda does
 * (the fan-out's), then the records are cut into batches of 100. A first pass warms the JIT and the consumer's
 * one-time work (the search index bootstrap) up and is not counted; then `passes` passes, batch by batch: the floor,
 * then the handler, each between two process.cpuUsage() readings (user + system). The event handed to the handler is
 * parsed from its text outside the measurement, as Lambda's runtime parses it before the handler runs.
 *
 * process.cpuUsage() counts the whole process (garbage collection included); nothing else runs meanwhile. Figures vary
 * with the machine; no test asserts them.
 */

/** Records per batch: the default batch size of a mapping. */
export const CPU_BATCH_SIZE = 100;

/** Measured passes over the batches, after the warm-up pass. */
export const CPU_PASSES = 3;

/** One consumer's figures. */
export interface CpuPerRecordFigures {
  readonly consumer: string;
  /** The stream it reads: the table's construct id. */
  readonly stream: string;
  /** Records measured: the batches' records (after the mapping's filters) times the passes. */
  readonly records: number;
  readonly batches: number;
  readonly cpuMsPerRecord: number;
  readonly floorCpuMsPerRecord: number;
  /** cpuMsPerRecord / floorCpuMsPerRecord. */
  readonly ratio: number | null;
  /** Records the handler reported failed, and letters it sent to its DLQ (none expected: both 0). */
  readonly failedRecords: number;
  readonly deadLettered: number;
  /** What the consumer sent to the stand-ins over all passes, by command. */
  readonly calls: Readonly<Record<string, number>>;
}

/** The `cpuPerRecord` section of the report. */
export interface CpuPerRecordReport {
  readonly batchSize: number;
  readonly passes: number;
  readonly workload: {
    readonly orders: number;
    readonly ordersRecords: number;
    readonly votesRecords: number;
  };
  readonly consumers: readonly CpuPerRecordFigures[];
}

export interface CpuPerRecordBenchOptions {
  /** @default 1,000 */
  readonly orders?: number;
  /** @default 10,000 */
  readonly votes?: number;
  /** @default CPU_PASSES */
  readonly passes?: number;
}

/** CPU time since `start` (a process.cpuUsage() reading), in ms. */
function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** ms per record to four decimals; 0 without records. */
export function perRecord(ms: number, records: number): number {
  return records === 0 ? 0 : Math.round((ms / records) * 10_000) / 10_000;
}

/** The floor's work on one event text: parse it and unmarshall every image; returns the attributes decoded. */
export function floorWork(text: string): number {
  const event = JSON.parse(text) as DynamoDBStreamEvent;
  let attributes = 0;
  for (const record of event.Records) {
    const { NewImage, OldImage } = record.dynamodb ?? {};
    // The event's AttributeValue JSON is the SDK's AttributeValue shape; only the type names differ.
    if (NewImage !== undefined) attributes += Object.keys(unmarshall(NewImage as never)).length;
    if (OldImage !== undefined) attributes += Object.keys(unmarshall(OldImage as never)).length;
  }
  return attributes;
}

/** The workload's records per stream (the table's construct id). */
async function workloadRecords(
  options: Required<Pick<CpuPerRecordBenchOptions, 'orders' | 'votes'>>,
  seed: number,
  log: (line: string) => void,
): Promise<Readonly<Record<string, readonly DynamoDBRecord[]>>> {
  const orders = new MemoryOrdersRepository('Orders');
  await applyOrderHistory({
    repository: orders,
    plan: planOrderHistory({
      orders: options.orders,
      cancelEvery: 10,
      deleteEvery: 20,
      ordersPerTick: 25,
      seed,
    }),
    concurrency: 8,
    runId: `cpu-${seed}`,
    log: () => undefined,
  });
  const votes = voteStreamRecords(planVotes({ votes: options.votes, polls: 100, seed, pollPrefix: 'poll' }));
  const records = { Orders: orders.stream.records(), Votes: votes };
  log(`  workload: ${records.Orders.length} Orders records, ${records.Votes.length} Votes records`);
  return records;
}

/** Measures one consumer on its batches (see the module's comment). */
export async function measureConsumer(options: {
  readonly consumer: string;
  readonly stream: string;
  readonly handler: StreamFunction;
  readonly batches: readonly (readonly DynamoDBRecord[])[];
  readonly passes: number;
  readonly letters: () => number;
  readonly calls: () => Readonly<Record<string, number>>;
}): Promise<CpuPerRecordFigures> {
  const texts = options.batches.map((batch) => JSON.stringify({ Records: batch }));
  let invocation = 0;
  let failed = 0;
  const invoke = async (text: string): Promise<number> => {
    invocation += 1;
    const event = JSON.parse(text) as DynamoDBStreamEvent;
    const context = localLambdaContext({
      functionName: options.consumer,
      requestId: `${options.consumer}-${invocation}`,
      deadlineMs: Date.now() + 60_000,
      memoryLimitInMB: '512',
      logStreamName: options.consumer,
      callbackWaitsForEmptyEventLoop: false,
    });
    const start = process.cpuUsage();
    const result = await options.handler(event, context);
    const ms = cpuMsSince(start);
    failed += result?.batchItemFailures?.length ?? 0;
    return ms;
  };
  for (const text of texts) await invoke(text);
  const warmUpFailures = failed;
  const warmUpLetters = options.letters();
  let handlerMs = 0;
  let floorMs = 0;
  for (let pass = 0; pass < options.passes; pass += 1) {
    for (const text of texts) {
      const start = process.cpuUsage();
      floorWork(text);
      floorMs += cpuMsSince(start);
      handlerMs += await invoke(text);
    }
  }
  const records = options.batches.reduce((sum, batch) => sum + batch.length, 0) * options.passes;
  const cpuMsPerRecord = perRecord(handlerMs, records);
  const floorCpuMsPerRecord = perRecord(floorMs, records);
  return {
    consumer: options.consumer,
    stream: options.stream,
    records,
    batches: options.batches.length,
    cpuMsPerRecord,
    floorCpuMsPerRecord,
    ratio: floorMs === 0 ? null : Math.round((handlerMs / floorMs) * 10) / 10,
    failedRecords: failed - warmUpFailures,
    deadLettered: options.letters() - warmUpLetters,
    calls: options.calls(),
  };
}

/** The `cpu-per-record` benchmark. */
export function cpuPerRecordBenchmark(options: CpuPerRecordBenchOptions = {}): Benchmark {
  const orders = options.orders ?? 1000;
  const votes = options.votes ?? 10_000;
  const passes = options.passes ?? CPU_PASSES;
  return {
    name: 'cpu-per-record',
    description:
      `handler CPU per record of each stream consumer on in-memory stand-ins, batches of ${CPU_BATCH_SIZE}, ` +
      `next to a floor (JSON.parse + unmarshall of the images) on the same records`,
    async run(settings: BenchmarkSettings): Promise<BenchmarkResult> {
      const app = synthesizeApp();
      const configs = esmConfigsFromApp(app);
      const factories = factoriesForMappings(configs);
      const records = await workloadRecords({ orders, votes }, settings.seed, settings.log);
      const port = await closedPort();
      const consumers: CpuPerRecordFigures[] = [];
      for (const config of configs) {
        const stream = records[config.tableConstructId];
        const factory = factories.get(config.consumerName);
        if (stream === undefined || factory === undefined) {
          settings.log(
            `  ${config.consumerName}: no workload for the ${config.tableConstructId} stream, skipped`,
          );
          continue;
        }
        const passesFilters = compileFilters(config.filterPatterns);
        const batches = batchesOf(stream.filter(passesFilters), CPU_BATCH_SIZE);
        const env = offlineTemplateEnvironment(
          app,
          { stackName: config.functionStackName, logicalId: config.functionLogicalId },
          port,
        );
        const { adapters, state } = inMemoryLocalAdapters(
          join(settings.outputDir ?? DEFAULT_OUTPUT_DIR, 'bench-cpu-per-record'),
        );
        settings.log(
          `  ${config.consumerName}: ${batches.length} batches, 1 warm-up pass and ${passes} measured...`,
        );
        consumers.push(
          await measureConsumer({
            consumer: config.consumerName,
            stream: config.tableConstructId,
            handler: factory(env, adapters),
            batches,
            passes,
            letters: () => state.letters.length,
            calls: () => state.calls.counts(),
          }),
        );
      }
      const report: CpuPerRecordReport = {
        batchSize: CPU_BATCH_SIZE,
        passes,
        workload: {
          orders,
          ordersRecords: records.Orders?.length ?? 0,
          votesRecords: records.Votes?.length ?? 0,
        },
        consumers,
      };
      return { cpuPerRecord: report };
    },
  };
}

/** The cpu-per-record section for bench's text output. */
export function describeCpuPerRecord(report: CpuPerRecordReport): string {
  return [
    `Handler CPU per record, batches of ${report.batchSize}, ${report.passes} passes after a warm-up:`,
    ...report.consumers.map(
      (figures) =>
        `  ${figures.consumer.padEnd(20)} ${String(figures.records).padStart(7)} records  ` +
        `${figures.cpuMsPerRecord.toFixed(4)} ms/record  floor ${figures.floorCpuMsPerRecord.toFixed(4)} ms/record  ` +
        `${figures.ratio ?? '-'}x` +
        (figures.failedRecords + figures.deadLettered > 0
          ? `  [${figures.failedRecords} failed, ${figures.deadLettered} dead-lettered]`
          : ''),
    ),
  ].join('\n');
}
