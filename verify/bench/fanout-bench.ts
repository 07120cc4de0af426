import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BatchWriteCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import {
  LEDGER_KEY_PREFIX,
  RESERVATION_KEY_PREFIX,
} from '../../lambdas/order-fanout/adapters/dynamodb-fanout-store.js';
import { ORDER_FANOUT_CONSUMER_NAME } from '../../lambdas/order-fanout/names.js';
import {
  type CountingDynamoDb,
  createCountingDynamoDb,
  type DynamoDbCallCounts,
} from '../../sandbox/adapters/counting-dynamodb.js';
import { flushJsonLinesWrites } from '../../sandbox/adapters/json-lines-file.js';
import { LocalLogger, LocalMetrics } from '../../sandbox/adapters/local-observability.js';
import { LocalS3Client } from '../../sandbox/adapters/local-s3.js';
import { LocalSesClient } from '../../sandbox/adapters/local-ses.js';
import { LocalSnsClient } from '../../sandbox/adapters/local-sns.js';
import { LocalDeadLetterQueue, LocalQueues } from '../../sandbox/adapters/local-sqs.js';
import { LocalSqsClient } from '../../sandbox/adapters/local-sqs-client.js';
import type { LocalAdapters } from '../../sandbox/consumer-factory.js';
import { localClientConfig } from '../../sandbox/dynamodb-local/server.js';
import type { StreamFunction } from '../../sandbox/esm/types.js';
import { orderFanoutConsumerFactory } from '../../sandbox/fanout-consumer.js';
import { seedInventory } from '../../sandbox/inventory-seed.js';
import { localLambdaContext } from '../../sandbox/lambda-context.js';
import { type SandboxSystem, startSandboxSystem } from '../../sandbox/system.js';
import { TRAFFIC_SKUS } from '../../sandbox/traffic.js';
import { createPerRecordFanoutHandler } from './baselines/per-record-fanout.js';
import type { Benchmark, BenchmarkResult, BenchmarkSettings } from './harness.js';
import { inParallel } from './in-parallel.js';
import { benchOrderLines, benchStatusPath, STOCK_PER_SKU } from './workload.js';

/**
 * `fanout`: downstream calls per 1,000 stream records of the order fan-out, batched (the real consumer: PublishBatch,
 * SendMessageBatch, SendBulkEmail, one BatchGetItem read, stock transactions and one ledger write per batch) against
 * a per-record baseline (per-record-fanout.ts: a Powertools idempotency check and one call per effect and per stock
 * line), on the same records.
 *
 * The workload: `orders` orders placed through the local API, then moved through their statuses, one phase after the
 * other (all PAID, then SHIPPED, then DELIVERED; every `cancelEvery`-th order goes PAID -> CANCELLED instead of
 * shipping, so that releases are measured too). Every SKU is stocked far beyond the workload (STOCK_PER_SKU), so
 * nothing is back-ordered. The real fan-out runs in the sandbox system, with its own counting clients, and every
 * batch the runner delivers to it is captured; the same batches are then replayed through the baseline, in delivery
 * order, against fresh state: the stock written again and a ledger of its own (a fresh Powertools key prefix), with
 * stand-ins and a counting DynamoDB client of its own writing under `<outputDir>/bench-per-record/`.
 *
 * Records per second are records over the time spent in the handler (both run the same stream runtime on the same
 * machine and DynamoDB Local), so the network and the API do not count; the batched side's end-to-end rate, from the
 * first API write to the last completed invocation, is reported besides. Wall-clock figures vary with the machine;
 * the call counts do not.
 */

/** The fan-out's calls by service, and their total. */
export interface ServiceCalls {
  readonly sns: number;
  readonly ses: number;
  readonly sqs: number;
  readonly dynamodb: number;
  readonly total: number;
}

/** The figures of one side of the comparison. */
export interface FanoutSideFigures {
  /** Records delivered to the handler (re-deliveries included; without faults there are none). */
  readonly records: number;
  /** Invocations (batches). */
  readonly invocations: number;
  readonly calls: ServiceCalls;
  readonly callsPer1000Records: ServiceCalls;
  /** DynamoDB calls by operation. */
  readonly dynamodbByOperation: Readonly<Record<string, number>>;
  /** Time spent in the handler, ms. */
  readonly handlerMs: number;
  /** records / handler time. */
  readonly recordsPerSecond: number;
}

export interface FanoutComparison {
  readonly unit: 'downstream calls per 1,000 records';
  readonly workload: {
    readonly orders: number;
    readonly cancelEvery: number;
    readonly stockPerSku: number;
    readonly records: number;
    /** API writes that failed (none expected): the records are then fewer than planned. */
    readonly failedWrites: number;
    readonly backordered: number;
  };
  /** The real fan-out in the sandbox system, live: its batches ran while the API was taking the workload's writes. */
  readonly batched: FanoutSideFigures & {
    /** Records from the first API write to the last completed invocation. */
    readonly endToEndRecordsPerSecond: number;
    /**
     * The same batches replayed alone through the same handler (the fan-out's factory) against fresh state, as the
     * per-record side is: its calls match the live ones, and its records per second compare with the baseline's
     * under the same conditions (the live run shares the machine with the API and the traffic).
     */
    readonly replay: FanoutSideFigures;
  };
  readonly perRecord: FanoutSideFigures;
}

export interface FanoutBenchOptions {
  /** @default 1,000 */
  readonly orders?: number;
  /** Every n-th order is cancelled after PAID instead of shipped. @default 10 */
  readonly cancelEvery?: number;
  /** API requests in flight at once. @default 8 */
  readonly concurrency?: number;
}

const DRAIN_TIMEOUT_MS = 300_000;

/** Calls per 1,000 records, to one decimal; 0 when there are no records. */
export function callsPer1000Records(calls: ServiceCalls, records: number): ServiceCalls {
  const per = (count: number): number => (records === 0 ? 0 : Math.round((count * 10_000) / records) / 10);
  return {
    sns: per(calls.sns),
    ses: per(calls.ses),
    sqs: per(calls.sqs),
    dynamodb: per(calls.dynamodb),
    total: per(calls.total),
  };
}

/** ServiceCalls from the per-service counts (total added). */
export function serviceCalls(counts: Omit<ServiceCalls, 'total'>): ServiceCalls {
  return { ...counts, total: counts.sns + counts.ses + counts.sqs + counts.dynamodb };
}

/** One side's figures from what was counted and timed. */
export function sideFigures(measured: {
  readonly records: number;
  readonly invocations: number;
  readonly calls: Omit<ServiceCalls, 'total'>;
  readonly dynamodb: DynamoDbCallCounts;
  readonly handlerMs: number;
}): FanoutSideFigures {
  const calls = serviceCalls(measured.calls);
  return {
    records: measured.records,
    invocations: measured.invocations,
    calls,
    callsPer1000Records: callsPer1000Records(calls, measured.records),
    dynamodbByOperation: measured.dynamodb.byOperation,
    handlerMs: Math.round(measured.handlerMs),
    recordsPerSecond:
      measured.handlerMs <= 0 ? 0 : Math.round((measured.records / measured.handlerMs) * 1000 * 10) / 10,
  };
}

/** A batch the runner delivered to the fan-out, as delivered. */
interface CapturedBatch {
  readonly records: DynamoDBRecord[];
}

/** The workload through the API; resolves with the failed writes (none expected). */
async function driveWorkload(
  apiUrl: string,
  orders: number,
  cancelEvery: number,
  concurrency: number,
  runId: string,
  log: (line: string) => void,
): Promise<number> {
  let failed = 0;
  const state: { orderId: string; version: number }[] = [];
  const call = async (
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<{ orderId?: string; version?: number } | undefined> => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const parsed = (await response.json().catch(() => undefined)) as
      | { orderId?: string; version?: number }
      | undefined;
    if (!response.ok) failed += 1;
    return parsed;
  };
  const indexes = Array.from({ length: orders }, (_unused, index) => index);
  await inParallel(indexes, concurrency, async (index) => {
    const created = await call(
      'POST',
      '/orders',
      {
        customerId: `bench-${index % 50}`,
        customerEmail: `bench-${index % 50}@example.com`,
        currency: 'EUR',
        lines: benchOrderLines(index),
      },
      { 'idempotency-key': `${runId}-${index}` },
    );
    state[index] = { orderId: created?.orderId ?? '', version: created?.version ?? 0 };
  });
  log(`  placed ${orders} orders`);
  for (let phase = 0; phase < 3; phase += 1) {
    await inParallel(indexes, concurrency, async (index) => {
      const to = benchStatusPath(index, cancelEvery)[phase];
      const order = state[index]!;
      if (to === undefined || order.orderId === '') return;
      const changed = await call(
        'PATCH',
        `/orders/${order.orderId}`,
        { status: to },
        { 'if-match': `"${order.version}"` },
      );
      if (changed?.version !== undefined) order.version = changed.version;
    });
    log(`  status phase ${phase + 1} of 3 sent`);
  }
  return failed;
}

/** Times and captures every invocation of a consumer's function. */
function captureInvocations(
  fn: StreamFunction,
  batches: CapturedBatch[],
  timing: { handlerMs: number; lastEnd: number },
): StreamFunction {
  return async (event: DynamoDBStreamEvent, context: Context) => {
    batches.push({ records: structuredClone(event.Records) });
    const started = performance.now();
    try {
      return await fn(event, context);
    } finally {
      timing.handlerMs += performance.now() - started;
      timing.lastEnd = Date.now();
    }
  };
}

/** What a replay builds its handler from: clients of its own, counted apart from everything else. */
interface ReplayClients {
  readonly sns: LocalSnsClient;
  readonly ses: LocalSesClient;
  readonly sqs: LocalSqsClient;
  readonly queues: LocalQueues;
  readonly dynamo: CountingDynamoDb;
  readonly outputDir: string;
}

/**
 * Deletes what the fan-out keeps between batches (its reservation items and its ledger entries) and writes the stock
 * again, so that a replay of the same batches starts from the state the live run started from.
 */
export async function resetFanoutState(system: SandboxSystem, stockPerSku: number): Promise<void> {
  const { Inventory: inventory, Idempotency: idempotency } = system.tables;
  if (inventory === undefined || idempotency === undefined) {
    throw new Error('The sandbox system has no Inventory or Idempotency table');
  }
  const deleteWhere = async (table: string, key: string, prefix: string): Promise<void> => {
    const keys: Record<string, unknown>[] = [];
    for await (const page of paginateScan(
      { client: system.documentClient },
      { TableName: table, ProjectionExpression: '#key', ExpressionAttributeNames: { '#key': key } },
    )) {
      for (const item of page.Items ?? []) {
        if (String(item[key]).startsWith(prefix)) keys.push({ [key]: item[key] });
      }
    }
    for (let start = 0; start < keys.length; start += 25) {
      let pending: Record<string, { DeleteRequest: { Key: Record<string, unknown> } }[]> = {
        [table]: keys.slice(start, start + 25).map((Key) => ({ DeleteRequest: { Key } })),
      };
      while ((pending[table]?.length ?? 0) > 0) {
        const { UnprocessedItems } = await system.documentClient.send(
          new BatchWriteCommand({ RequestItems: pending }),
        );
        pending = { [table]: (UnprocessedItems?.[table] ?? []) as (typeof pending)[string] };
      }
    }
  };
  await deleteWhere(inventory, 'sku', RESERVATION_KEY_PREFIX);
  await deleteWhere(idempotency, 'id', LEDGER_KEY_PREFIX);
  await seedInventory(
    system.documentClient,
    inventory,
    Object.fromEntries(TRAFFIC_SKUS.map((sku) => [sku, stockPerSku])),
  );
}

/**
 * Replays the captured batches, in delivery order and one at a time, through a handler built on fresh clients (the
 * SNS, SES and SQS stand-ins writing under `<outputDir>/<name>/`, a counting DynamoDB client), and measures it.
 */
async function replay(
  system: SandboxSystem,
  name: string,
  batches: readonly CapturedBatch[],
  build: (clients: ReplayClients) => StreamFunction,
): Promise<FanoutSideFigures> {
  const outputDir = join(system.outputDir, name);
  const queues = new LocalQueues(outputDir);
  const clients: ReplayClients = {
    sns: new LocalSnsClient({ outputDir }),
    ses: new LocalSesClient({ outputDir }),
    sqs: new LocalSqsClient({ queues }),
    queues,
    dynamo: createCountingDynamoDb(localClientConfig(system.dynamodbEndpoint)),
    outputDir,
  };
  try {
    const handler = build(clients);
    let handlerMs = 0;
    let records = 0;
    for (const [index, batch] of batches.entries()) {
      const context = localLambdaContext({
        functionName: name,
        requestId: `${name}-${index}`,
        deadlineMs: Date.now() + 60_000,
        memoryLimitInMB: '512',
        logStreamName: name,
        callbackWaitsForEmptyEventLoop: false,
      });
      const started = performance.now();
      const response = await handler({ Records: structuredClone(batch.records) }, context);
      handlerMs += performance.now() - started;
      records += batch.records.length;
      const failed = response?.batchItemFailures.length ?? 0;
      if (failed > 0) throw new Error(`The ${name} replay failed ${failed} records of batch ${index}`);
    }
    const dynamodb = clients.dynamo.counter.snapshot();
    return sideFigures({
      records,
      invocations: batches.length,
      calls: {
        sns: clients.sns.stats().totalCalls,
        ses: clients.ses.stats().totalCalls,
        sqs: clients.sqs.stats().totalCalls,
        dynamodb: dynamodb.total,
      },
      dynamodb,
      handlerMs,
    });
  } finally {
    await flushJsonLinesWrites();
    clients.dynamo.destroy();
  }
}

/** The sandbox's adapters for a replay's own clients: the fan-out's factory builds exactly what it builds live. */
function replayAdapters(system: SandboxSystem, clients: ReplayClients): LocalAdapters {
  return {
    documentClient: system.documentClient,
    outputDir: clients.outputDir,
    deadLetterQueue: (url) => new LocalDeadLetterQueue(clients.queues.byUrl(url)),
    queue: (url) => clients.queues.byUrl(url),
    logger: (service) => new LocalLogger(clients.outputDir, service),
    metrics: (service) => new LocalMetrics(clients.outputDir, service),
    clock: Date.now,
    sns: clients.sns,
    ses: clients.ses,
    sqs: clients.sqs,
    // The fan-out has no S3 sink: a stand-in without buckets refuses any put.
    s3: new LocalS3Client({ outputDir: clients.outputDir, buckets: [] }),
    dynamoDb: () => clients.dynamo,
    openSearch: system.search,
    openSearchClient: () => {
      // The fan-out has no search sink; a factory asking for one here is wired to the wrong consumer.
      throw new Error('The fan-out replay has no OpenSearch client');
    },
  };
}

/** The `fanout` benchmark with the given workload (the registry's uses the defaults). */
export function fanoutBenchmark(options: FanoutBenchOptions = {}): Benchmark {
  const orders = options.orders ?? 1000;
  const cancelEvery = options.cancelEvery ?? 10;
  const concurrency = options.concurrency ?? 8;
  return {
    name: 'fanout',
    description: `order fan-out downstream calls per 1,000 records, batched vs per record (${orders} orders)`,
    async run(settings: BenchmarkSettings): Promise<BenchmarkResult> {
      const batches: CapturedBatch[] = [];
      const timing = { handlerMs: 0, lastEnd: 0 };
      const system = await startSandboxSystem({
        port: 0,
        outputDir: settings.outputDir,
        inventory: Object.fromEntries(TRAFFIC_SKUS.map((sku) => [sku, STOCK_PER_SKU])),
        wrapFunction: (consumerName, fn) =>
          consumerName === ORDER_FANOUT_CONSUMER_NAME ? captureInvocations(fn, batches, timing) : fn,
        log: settings.log,
      });
      try {
        if (!system.consumers.includes(ORDER_FANOUT_CONSUMER_NAME)) {
          throw new Error(`The template has no ${ORDER_FANOUT_CONSUMER_NAME} consumer to measure`);
        }
        const startedAt = Date.now();
        const failedWrites = await driveWorkload(
          system.apiUrl,
          orders,
          cancelEvery,
          concurrency,
          `bench-fanout-${settings.seed}-${startedAt}`,
          settings.log,
        );
        const drained = await system.waitUntilDrained({ timeoutMs: DRAIN_TIMEOUT_MS });
        if (!drained) throw new Error(`The streams did not drain within ${DRAIN_TIMEOUT_MS / 1000} s`);
        const services = system.serviceStats();
        const records = batches.reduce((sum, batch) => sum + batch.records.length, 0);
        const dynamodb = services.dynamodb[ORDER_FANOUT_CONSUMER_NAME] ?? { byOperation: {}, total: 0 };
        const batched = sideFigures({
          records,
          invocations: batches.length,
          calls: {
            sns: services.sns.totalCalls,
            ses: services.ses.totalCalls,
            sqs: services.sqs.totalCalls,
            dynamodb: dynamodb.total,
          },
          dynamodb,
          handlerMs: timing.handlerMs,
        });
        const endToEndSeconds = Math.max((timing.lastEnd - startedAt) / 1000, 0.001);
        settings.log(
          `  batched: ${records} records in ${batches.length} batches, ${batched.calls.total} calls; ` +
            'replaying them alone through the batched handler...',
        );
        const env = system.environments[ORDER_FANOUT_CONSUMER_NAME]!;
        await resetFanoutState(system, STOCK_PER_SKU);
        const replayed = await replay(system, 'bench-batched-replay', batches, (clients) =>
          orderFanoutConsumerFactory(env, replayAdapters(system, clients)),
        );
        settings.log('  replaying them through the per-record baseline...');
        await resetFanoutState(system, STOCK_PER_SKU);
        const perRecordName = `${ORDER_FANOUT_CONSUMER_NAME}-per-record`;
        const perRecord = await replay(system, 'bench-per-record', batches, (clients) =>
          createPerRecordFanoutHandler({
            clients: {
              sns: clients.sns,
              ses: clients.ses,
              sqs: clients.sqs,
              documentClient: clients.dynamo.documentClient,
            },
            env,
            consumerName: perRecordName,
            deadLetterQueue: new LocalDeadLetterQueue(clients.queues.byName(`${perRecordName}-dlq`)),
            logger: new LocalLogger(clients.outputDir, perRecordName),
            metrics: new LocalMetrics(clients.outputDir, perRecordName),
            // A key prefix of this run's own: a clean ledger whatever the table holds.
            idempotencyKeyPrefix: `${perRecordName}-${startedAt}`,
          }),
        );
        const comparison: FanoutComparison = {
          unit: 'downstream calls per 1,000 records',
          workload: {
            orders,
            cancelEvery,
            stockPerSku: STOCK_PER_SKU,
            records,
            failedWrites,
            backordered: countBackordered(batches),
          },
          batched: {
            ...batched,
            endToEndRecordsPerSecond: Math.round((records / endToEndSeconds) * 10) / 10,
            replay: replayed,
          },
          perRecord,
        };
        return { comparisons: { fanout: comparison } };
      } finally {
        await system.stop();
      }
    },
  };
}

/** Back-orders among the delivered records: MODIFYs to BACKORDERED (the workload should have none). */
function countBackordered(batches: readonly CapturedBatch[]): number {
  return batches
    .flatMap((batch) => batch.records)
    .filter(
      (record) => record.eventName === 'MODIFY' && record.dynamodb?.NewImage?.status?.S === 'BACKORDERED',
    ).length;
}

/** The fan-out comparison for bench's text output: a headline and one line per side. */
export function describeFanout(fanout: FanoutComparison): string {
  const side = (name: string, figures: FanoutSideFigures, rate: string): string => {
    const per = figures.callsPer1000Records;
    return (
      `  ${name.padEnd(11)} ${String(per.total).padStart(7)} calls per 1,000 records ` +
      `(SNS ${per.sns}, SES ${per.ses}, SQS ${per.sqs}, DynamoDB ${per.dynamodb}); ${rate}`
    );
  };
  const batchedTotal = fanout.batched.callsPer1000Records.total;
  const ratio =
    batchedTotal === 0 ? '-' : (fanout.perRecord.callsPer1000Records.total / batchedTotal).toFixed(1);
  return [
    `Order fan-out, ${fanout.workload.records} records of ${fanout.workload.orders} orders: ` +
      `the batched handler makes ${ratio}x fewer downstream calls than the per-record one`,
    side(
      'batched',
      fanout.batched,
      `${fanout.batched.replay.recordsPerSecond} records/s in the handler replayed alone ` +
        `(${fanout.batched.recordsPerSecond} live, ${fanout.batched.endToEndRecordsPerSecond} end to end)`,
    ),
    side('per record', fanout.perRecord, `${fanout.perRecord.recordsPerSecond} records/s in the handler`),
  ].join('\n');
}
