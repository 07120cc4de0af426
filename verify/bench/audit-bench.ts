import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createAuditHandler } from '../../lambdas/audit-log/audit.js';
import { createAuditAdapters } from '../../lambdas/audit-log/compose.js';
import { AUDIT_LOG_CONSUMER_NAME } from '../../lambdas/audit-log/names.js';
import { ENV } from '../../lambdas/shared/env.js';
import type { DeadLetter } from '../../lambdas/shared/stream/dead-letter.js';
import { AUDIT_LOG_MAPPING } from '../../lib/constructs/audit-log.js';
import { flushJsonLinesWrites } from '../../sandbox/adapters/json-lines-file.js';
import { LocalLogger, LocalMetrics } from '../../sandbox/adapters/local-observability.js';
import { LocalS3Client, type LocalS3Stats } from '../../sandbox/adapters/local-s3.js';
import type { StreamFunction, StreamFunctionResult } from '../../sandbox/esm/types.js';
import { localLambdaContext } from '../../sandbox/lambda-context.js';
import { startSandboxSystem } from '../../sandbox/system.js';
import { TRAFFIC_SKUS } from '../../sandbox/traffic.js';
import { createPerRecordAuditHandler } from './baselines/per-record-audit.js';
import type { Benchmark, BenchmarkResult, BenchmarkSettings } from './harness.js';
import {
  type OrderHistoryWorkload,
  per1000Records,
  planOrderHistory,
  readStreamBatches,
  STOCK_PER_SKU,
  writeOrderHistory,
} from './workload.js';

/**
 * `audit` (`npm run bench -- --only audit`): S3 PUT requests and bytes stored per 1,000 Orders stream records of the
 * audit log (one gzipped JSON Lines object per batch, one conditional PutObject) against the seed pattern (one
 * PutObject of the record's plain JSON per record, per-record-audit.ts), on the same records, in one run:
 *
 * - deployed: the audit-log consumer as the sandbox system runs it, live, on the mapping of the template
 *   (AUDIT_LOG_MAPPING: batch size 1,000, a 60 s batching window). How the records arrive decides the batch sizes, so
 *   they are reported as delivered; PUTs, objects and bytes are the system's S3 stand-in's counters (the audit log is
 *   the system's only S3 writer);
 * - batch100: the same handler (the factory's composition, createAuditAdapters then createAuditHandler) on the same
 *   records cut into batches of 100 per shard, as a mapping of batch size 100 delivers a backlog;
 * - perRecord: the baseline on those batches of 100.
 *
 * The workload is the `search` benchmark's history (planOrderHistory, writeOrderHistory): `orders` orders placed
 * through the orders repository, moved through their statuses, every `deleteEvery`-th deleted, written as fast as
 * DynamoDB Local takes them into the system's Orders table while the mappings run. Every SKU is stocked far beyond
 * the workload, so the fan-out (which runs too) never back-orders, i.e. never writes the Orders table itself. Once
 * the streams drained, the Orders stream is read again (readStreamBatches) into batches of 100 per shard; those are
 * checked to hold exactly the records the live audit log was delivered, then replayed through the two other
 * variants, one batch at a time, each on an S3 stand-in of its own writing under `<outputDir>/bench-audit/<variant>/`,
 * so no count mixes with another's.
 *
 * The counts are exact and repeatable for a given arrival of the records; only the deployed variant's batch sizes
 * depend on the machine's pace (a slower writer spreads the records over more batching windows).
 */

/** One variant's figures. The unit of the comparison is calls (PUT requests) per 1,000 records. */
export interface AuditVariantFigures {
  /** The batch size of its mapping (the baseline: the batches it was given). */
  readonly batchSize: number;
  /** Records delivered to it (re-deliveries included; without faults there are none). */
  readonly records: number;
  /** Invocations that had records. */
  readonly batches: number;
  /** Of those, the ones that held a whole batch size of records. */
  readonly fullBatches: number;
  /** PutObject requests. */
  readonly puts: number;
  /** Objects created. */
  readonly objects: number;
  /** Bytes of the objects' bodies, as stored. */
  readonly bytesStored: number;
  readonly putsPer1000Records: number;
  readonly bytesPer1000Records: number;
  readonly averageRecordsPerPut: number;
  readonly averageObjectBytes: number;
}

/** The targets, checked and reported, never failed. */
export interface AuditTargets {
  /** PUTs == batches that had records. */
  readonly onePutPerBatch: boolean;
  /**
   * At least 100 times fewer PUT requests than the baseline for a batch of this variant's size (100 or more): one PUT
   * per batch, and the baseline's PUTs for a full batch's records at least 100 times that. Judged per full batch,
   * because the target is per batch size: over a whole run a stream's last batch is partial (and a batching
   * window may close early), which `vsPerRecord.requests` shows as it costs (e.g. 98.8x for 3,950 records in 40
   * batches of at most 100).
   */
  readonly hundredTimesFewerRequests: boolean;
}

/** A variant of the audit log itself: its figures, and how they compare with the baseline's. */
export interface AuditProductFigures extends AuditVariantFigures {
  /** The baseline's per-record figures over this variant's: how many times fewer requests and bytes. */
  readonly vsPerRecord: { readonly requests: number; readonly bytes: number };
  readonly meetsTarget: AuditTargets;
  /** Records the handler reported failed (none expected). */
  readonly failedRecords: number;
  /** Records sent to the consumer's DLQ (none expected). */
  readonly deadLettered: number;
}

export interface AuditComparison {
  readonly unit: 'calls per 1,000 records';
  readonly workload: OrderHistoryWorkload & {
    /** How long writing the history took: the pace at which the records arrived (wall clock, machine-dependent). */
    readonly writeSeconds: number;
  };
  /** The live consumer on the template's mapping. */
  readonly deployed: AuditProductFigures & {
    readonly batchingWindowMs: number;
    /** Records per invocation, in delivery order. */
    readonly batchSizes: readonly number[];
  };
  /** The same handler on the same records in batches of 100. */
  readonly batch100: AuditProductFigures;
  /** The seed pattern on the batches of 100. */
  readonly perRecord: AuditVariantFigures;
}

export interface AuditBenchOptions {
  /** @default 1,000 */
  readonly orders?: number;
  /** Every n-th order is cancelled after PAID instead of shipped. @default 10 */
  readonly cancelEvery?: number;
  /** Every n-th order is deleted after its last status move. @default 20 */
  readonly deleteEvery?: number;
  /** Orders placed per tick of the history. @default 25 */
  readonly ordersPerTick?: number;
  /** Writes in flight at once. @default 8 */
  readonly concurrency?: number;
  /**
   * Caps the deployed mapping's batching window (startSandboxSystem's maxBatchingWindowMs), for a quick look; the
   * figures then no longer describe the deployed mapping. @default none: the template's 60 s
   */
  readonly maxBatchingWindowMs?: number;
}

/** The batch size of the replayed variants: the "at batch size 100 or more". */
export const AUDIT_REPLAY_BATCH_SIZE = 100;

/** The ratio the issue asks of the audit log over the baseline, at batch size 100 or more. */
export const AUDIT_REQUESTS_TARGET_RATIO = 100;

/** After the batching window, how long the streams get to drain. */
const DRAIN_MARGIN_MS = 240_000;

/** Thrown when the run cannot be measured as designed: no audit-log consumer, no bucket, records that differ. */
export class AuditBenchError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'AuditBenchError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Counting
// ---------------------------------------------------------------------------------------------------------------

/**
 * Records what a stream function was delivered, invocation by invocation: the batch sizes (how the records arrived
 * decides them for a live mapping), the eventIDs, and the records it reported failed or whose invocation threw.
 */
export class DeliveryRecorder {
  readonly #batchSizes: number[] = [];
  readonly #eventIds: string[] = [];
  #failedRecords = 0;

  /** `fn`, recording each invocation. */
  public wrap(fn: StreamFunction): StreamFunction {
    return async (event: DynamoDBStreamEvent, context: Context): Promise<StreamFunctionResult> => {
      this.#batchSizes.push(event.Records.length);
      for (const record of event.Records) this.#eventIds.push(record.eventID ?? '');
      try {
        const result = await fn(event, context);
        this.#failedRecords += result?.batchItemFailures?.length ?? 0;
        return result;
      } catch (error) {
        this.#failedRecords += event.Records.length;
        throw error;
      }
    };
  }

  /** Records per invocation, in delivery order. */
  public batchSizes(): readonly number[] {
    return [...this.#batchSizes];
  }

  public eventIds(): readonly string[] {
    return [...this.#eventIds];
  }

  public failedRecords(): number {
    return this.#failedRecords;
  }
}

/** `bytes` per 1,000 records, to the byte; 0 when there are no records. */
function bytesPer1000Records(bytes: number, records: number): number {
  return records === 0 ? 0 : Math.round((bytes * 1000) / records);
}

/** One variant's figures from the batches it was delivered and its S3 stand-in's counters. */
export function auditVariantFigures(measured: {
  readonly batchSize: number;
  readonly batchSizes: readonly number[];
  readonly s3: LocalS3Stats;
}): AuditVariantFigures {
  const delivered = measured.batchSizes.filter((size) => size > 0);
  const records = delivered.reduce((sum, size) => sum + size, 0);
  const puts = measured.s3.calls.PutObject ?? 0;
  const objects = measured.s3.objectsCreated;
  const bytesStored = measured.s3.bytesStored;
  return {
    batchSize: measured.batchSize,
    records,
    batches: delivered.length,
    fullBatches: delivered.filter((size) => size >= measured.batchSize).length,
    puts,
    objects,
    bytesStored,
    putsPer1000Records: per1000Records(puts, records),
    bytesPer1000Records: bytesPer1000Records(bytesStored, records),
    averageRecordsPerPut: puts === 0 ? 0 : Math.round((records / puts) * 10) / 10,
    averageObjectBytes: objects === 0 ? 0 : Math.round(bytesStored / objects),
  };
}

/** How many times `baseline`'s count per record exceeds `ours`', to one decimal; 0 when either has none. */
function timesFewer(baseline: number, baselineRecords: number, ours: number, ourRecords: number): number {
  if (baseline === 0 || baselineRecords === 0 || ours === 0 || ourRecords === 0) return 0;
  return Math.round(((baseline * ourRecords) / (ours * baselineRecords)) * 10) / 10;
}

/** A variant of the audit log against the baseline: the ratios and the targets. */
export function auditProductFigures(
  ours: AuditVariantFigures,
  perRecord: AuditVariantFigures,
  outcome: { readonly failedRecords: number; readonly deadLettered: number },
): AuditProductFigures {
  return {
    ...ours,
    vsPerRecord: {
      requests: timesFewer(perRecord.puts, perRecord.records, ours.puts, ours.records),
      bytes: timesFewer(perRecord.bytesStored, perRecord.records, ours.bytesStored, ours.records),
    },
    meetsTarget: {
      onePutPerBatch: ours.records > 0 && ours.puts === ours.batches,
      // Exact, in integers: the baseline's PUTs for one full batch's records against the one PUT of that batch.
      hundredTimesFewerRequests:
        ours.records > 0 &&
        ours.puts === ours.batches &&
        ours.fullBatches > 0 &&
        perRecord.records > 0 &&
        perRecord.puts * ours.batchSize >= AUDIT_REQUESTS_TARGET_RATIO * perRecord.records,
    },
    failedRecords: outcome.failedRecords,
    deadLettered: outcome.deadLettered,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------------------------

/**
 * The audit log's handler as its local factory composes it (createAuditAdapters, then createAuditHandler) from the
 * function's environment, on the given S3 stand-in, with its DLQ letters kept in `letters` and its logs and metrics
 * under `outputDir`.
 */
export function benchAuditHandler(options: {
  readonly env: Readonly<Record<string, string>>;
  readonly s3: LocalS3Client;
  readonly outputDir: string;
  readonly letters: DeadLetter[];
}): StreamFunction {
  const consumerName = options.env[ENV.CONSUMER_NAME] ?? AUDIT_LOG_CONSUMER_NAME;
  return createAuditHandler({
    consumerName,
    deadLetterQueue: { send: async (letter) => void options.letters.push(letter) },
    logger: new LocalLogger(options.outputDir, consumerName),
    metrics: new LocalMetrics(options.outputDir, consumerName),
    ...createAuditAdapters(options.s3, options.env),
  });
}

export interface AuditReplayOptions {
  /** Where the variant's S3 stand-in keeps its bucket (`<outputDir>/s3/<bucket>/`). */
  readonly outputDir: string;
  readonly bucket: string;
  /** The size the batches were cut at. */
  readonly batchSize: number;
  readonly batches: readonly (readonly DynamoDBRecord[])[];
  /** The function's name in its invocation contexts. */
  readonly functionName: string;
  /** The variant's function, on its own S3 stand-in. */
  build(s3: LocalS3Client): StreamFunction;
}

/**
 * Replays the batches, in order and one at a time, through a variant built on an S3 stand-in of its own, and counts
 * what it stored. A copy of each batch per variant: no variant sees what another may have done to the records.
 */
export async function replayAuditVariant(
  options: AuditReplayOptions,
): Promise<{ readonly figures: AuditVariantFigures; readonly failedRecords: number }> {
  const s3 = new LocalS3Client({ outputDir: options.outputDir, buckets: [options.bucket] });
  const recorder = new DeliveryRecorder();
  const fn = recorder.wrap(options.build(s3));
  try {
    for (const [index, batch] of options.batches.entries()) {
      const context = localLambdaContext({
        functionName: options.functionName,
        requestId: `${options.functionName}-${index}`,
        deadlineMs: Date.now() + 60_000,
        memoryLimitInMB: '512',
        logStreamName: options.functionName,
        callbackWaitsForEmptyEventLoop: false,
      });
      await fn({ Records: structuredClone(batch) as DynamoDBRecord[] }, context);
    }
  } finally {
    await s3.flush();
    await flushJsonLinesWrites();
  }
  return {
    figures: auditVariantFigures({
      batchSize: options.batchSize,
      batchSizes: recorder.batchSizes(),
      s3: s3.stats(),
    }),
    failedRecords: recorder.failedRecords(),
  };
}

/** Whether two lists hold the same eventIDs as often, in any order. */
function sameEventIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sortedA = [...a].sort();
  const sortedB = [...b].sort();
  return sortedA.every((id, index) => id === sortedB[index]);
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------------------------

/** The `audit` benchmark with the given workload (the registry's uses the defaults). */
export function auditBenchmark(options: AuditBenchOptions = {}): Benchmark {
  const orders = options.orders ?? 1000;
  const cancelEvery = options.cancelEvery ?? 10;
  const deleteEvery = options.deleteEvery ?? 20;
  const ordersPerTick = options.ordersPerTick ?? 25;
  const concurrency = options.concurrency ?? 8;
  const deployedWindowMs = AUDIT_LOG_MAPPING.maxBatchingWindow.toMilliseconds();
  const batchingWindowMs = Math.min(deployedWindowMs, options.maxBatchingWindowMs ?? deployedWindowMs);
  return {
    name: 'audit',
    description:
      `audit log S3 PUTs and bytes per 1,000 records: one gzipped object per batch (deployed mapping, and ` +
      `batches of ${AUDIT_REPLAY_BATCH_SIZE}) vs one PutObject per record (${orders} orders)`,
    async run(settings: BenchmarkSettings): Promise<BenchmarkResult> {
      const live = new DeliveryRecorder();
      const system = await startSandboxSystem({
        port: 0,
        outputDir: settings.outputDir,
        inventory: Object.fromEntries(TRAFFIC_SKUS.map((sku) => [sku, STOCK_PER_SKU])),
        wrapFunction: (consumerName, fn) => (consumerName === AUDIT_LOG_CONSUMER_NAME ? live.wrap(fn) : fn),
        ...(options.maxBatchingWindowMs === undefined
          ? {}
          : { maxBatchingWindowMs: options.maxBatchingWindowMs }),
        log: settings.log,
      });
      try {
        const env = system.environments[AUDIT_LOG_CONSUMER_NAME];
        const bucket = env?.[ENV.AUDIT_BUCKET_NAME];
        const ordersTable = system.tables.Orders;
        if (env === undefined || bucket === undefined || ordersTable === undefined) {
          throw new AuditBenchError(
            `The template has no ${AUDIT_LOG_CONSUMER_NAME} consumer with ${ENV.AUDIT_BUCKET_NAME} on an Orders table`,
          );
        }

        const plan = planOrderHistory({
          orders,
          cancelEvery,
          deleteEvery,
          ordersPerTick,
          seed: settings.seed,
        });
        settings.log(
          `  writing the history of ${orders} orders (${plan.length} ticks) while the mappings run...`,
        );
        const writeStarted = performance.now();
        const history = await writeOrderHistory({
          documentClient: system.documentClient,
          ordersTable,
          plan,
          concurrency,
          runId: `audit-${settings.seed}-${Date.now()}`,
          log: settings.log,
        });
        const writeSeconds = Math.round((performance.now() - writeStarted) / 100) / 10;
        const { inserts, modifies, removes } = history.writes;
        const expected = inserts + modifies + removes;
        settings.log(
          `  ${expected} records written in ${writeSeconds} s; waiting for the audit log's batching window ` +
            `(${batchingWindowMs / 1000} s) and the drain...`,
        );
        const drainTimeoutMs = batchingWindowMs + DRAIN_MARGIN_MS;
        if (!(await system.waitUntilDrained({ timeoutMs: drainTimeoutMs }))) {
          throw new AuditBenchError(`The streams did not drain within ${drainTimeoutMs / 1000} s`);
        }
        const liveS3 = system.serviceStats().s3;
        const liveStatus = system.stats()[AUDIT_LOG_CONSUMER_NAME];
        const deployedVariant = auditVariantFigures({
          batchSize: AUDIT_LOG_MAPPING.batchSize,
          batchSizes: live.batchSizes(),
          s3: liveS3,
        });
        settings.log(
          `  deployed: ${deployedVariant.records} records in ${deployedVariant.batches} batches ` +
            `(${live.batchSizes().join(', ')}), ${deployedVariant.puts} PUTs; reading the stream again in batches ` +
            `of ${AUDIT_REPLAY_BATCH_SIZE}...`,
        );

        const batches = await readStreamBatches({
          endpoint: system.dynamodbEndpoint,
          tableName: ordersTable,
          expectedRecords: expected,
          batchSize: AUDIT_REPLAY_BATCH_SIZE,
        });
        const replayedIds = batches.flat().map((record) => record.eventID ?? '');
        if (!sameEventIds(replayedIds, live.eventIds())) {
          throw new AuditBenchError(
            `The live audit log was delivered ${live.eventIds().length} records, the stream holds ` +
              `${replayedIds.length} (or other eventIDs): the variants would not see the same records`,
          );
        }

        const replayDir = (variant: string): string => join(system.outputDir, 'bench-audit', variant);
        settings.log(`  batch100: the audit log's handler on ${batches.length} batches...`);
        const letters: DeadLetter[] = [];
        const batch100 = await replayAuditVariant({
          outputDir: replayDir('batch-100'),
          bucket,
          batchSize: AUDIT_REPLAY_BATCH_SIZE,
          batches,
          functionName: `${AUDIT_LOG_CONSUMER_NAME}-batch-100`,
          build: (s3) => benchAuditHandler({ env, s3, outputDir: replayDir('batch-100'), letters }),
        });
        settings.log('  perRecord: one PutObject per record on the same batches...');
        const perRecord = await replayAuditVariant({
          outputDir: replayDir('per-record'),
          bucket,
          batchSize: AUDIT_REPLAY_BATCH_SIZE,
          batches,
          functionName: `${AUDIT_LOG_CONSUMER_NAME}-per-record`,
          build: (s3) => createPerRecordAuditHandler({ client: s3, bucket }),
        });

        const comparison: AuditComparison = {
          unit: 'calls per 1,000 records',
          workload: {
            orders,
            cancelEvery,
            deleteEvery,
            records: expected,
            inserts,
            modifies,
            removes,
            failedWrites: history.failedWrites,
            writeSeconds,
          },
          deployed: {
            ...auditProductFigures(deployedVariant, perRecord.figures, {
              failedRecords: live.failedRecords(),
              deadLettered: liveStatus?.dlqCount ?? 0,
            }),
            batchingWindowMs,
            batchSizes: live.batchSizes(),
          },
          batch100: auditProductFigures(batch100.figures, perRecord.figures, {
            failedRecords: batch100.failedRecords,
            deadLettered: letters.length,
          }),
          perRecord: perRecord.figures,
        };
        return { comparisons: { audit: comparison } };
      } finally {
        await system.stop();
      }
    },
  };
}

/** The audit comparison for bench's text output: a headline, one line per variant and the targets. */
export function describeAudit(audit: AuditComparison): string {
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  const variant = (name: string, figures: AuditVariantFigures): string =>
    `  ${name.padEnd(10)} ${figures.putsPer1000Records.toFixed(1).padStart(7)} PUTs per 1,000 records ` +
    `(${figures.objects} objects, ${figures.averageRecordsPerPut} records per PUT, ` +
    `${figures.fullBatches} of ${figures.batches} batches of ${figures.batchSize} full), ` +
    `${kib(figures.bytesPer1000Records)} stored per 1,000 records`;
  const product = (name: string, figures: AuditProductFigures): string =>
    `${variant(name, figures)}; ${figures.vsPerRecord.requests}x fewer requests, ` +
    `${figures.vsPerRecord.bytes}x fewer bytes`;
  const targets = (name: string, figures: AuditProductFigures): string[] => [
    `  target ${figures.meetsTarget.onePutPerBatch ? 'met' : 'MISSED'}: ${name}: one PUT per batch ` +
      `(${figures.puts} PUTs, ${figures.batches} batches)`,
    `  target ${figures.meetsTarget.hundredTimesFewerRequests ? 'met' : 'MISSED'}: ${name}: at least ` +
      `${AUDIT_REQUESTS_TARGET_RATIO}x fewer requests than per record for a full batch of ${figures.batchSize} ` +
      `(over the whole run, partial batches included: ${figures.vsPerRecord.requests}x)`,
  ];
  const { workload, deployed } = audit;
  return [
    `Audit log, ${workload.records} records of ${workload.orders} orders: one gzipped object per batch makes ` +
      `${deployed.vsPerRecord.requests}x fewer PUTs than one per record at the deployed mapping (batch size ` +
      `${deployed.batchSize}, ${deployed.batchingWindowMs / 1000} s window), ` +
      `${audit.batch100.vsPerRecord.requests}x at batch size ${audit.batch100.batchSize}`,
    product('deployed', deployed),
    product('batch 100', audit.batch100),
    variant('per record', audit.perRecord),
    ...targets('deployed', deployed),
    ...targets('batch 100', audit.batch100),
  ].join('\n');
}
