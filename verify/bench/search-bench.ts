import { rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { createSearchSyncHandler } from '../../lambdas/search-sync/sync.js';
import { createOpenSearchClient } from '../../lambdas/shared/search/opensearch-client.js';
import { OpenSearchIndex } from '../../lambdas/shared/search/opensearch-index.js';
import {
  ORDERS_INDEX,
  ORDERS_INDEX_MAPPINGS,
  ordersIndexSettings,
} from '../../lambdas/shared/search/orders-index.js';
import { ensureOrdersIndex } from '../../lambdas/shared/search/orders-index-bootstrap.js';
import type { DeadLetter } from '../../lambdas/shared/stream/dead-letter.js';
import { flushJsonLinesWrites } from '../../sandbox/adapters/json-lines-file.js';
import { LocalLogger, LocalMetrics } from '../../sandbox/adapters/local-observability.js';
import { localClientConfig, startDynamoDbLocal } from '../../sandbox/dynamodb-local/server.js';
import {
  createTables,
  tableDefinitionsFromTemplate,
  tableNameOf,
} from '../../sandbox/dynamodb-local/tables.js';
import { localLambdaContext } from '../../sandbox/lambda-context.js';
import { type LocalOpenSearch, startLocalOpenSearch } from '../../sandbox/opensearch/local-opensearch.js';
import { synthesizeApp } from '../../sandbox/synth.js';
import { DEFAULT_OUTPUT_DIR } from '../../sandbox/system.js';
import { createAwsSampleSearchSync } from './baselines/aws-sample-search-sync.js';
import { loadDynamoDbStreamElasticsearch } from './baselines/aws-sdk-v2-shim.js';
import type { Benchmark, BenchmarkResult, BenchmarkSettings } from './harness.js';
import {
  type HistoryOutcome,
  type OrderHistoryWorkload,
  per1000Records,
  planOrderHistory,
  readStreamBatches,
  writeOrderHistory,
} from './workload.js';

/**
 * `search` (`npm run bench -- --only search`): OpenSearch requests per 1,000 Orders stream records of the search
 * sync, against two yardsticks, on the same batches and the same local endpoint:
 *
 * - ours: createSearchSyncHandler (lambdas/search-sync/sync.ts) writing through OpenSearchIndex, one `_bulk` per
 *   batch with external_gte versioning, over an unsigned client;
 * - baseline: the npm package dynamodb-stream-elasticsearch in its default mode, `pushStream({ event, endpoint,
 *   index })`: per INSERT or MODIFY an index request with `refresh=true`, per REMOVE an `exists` then a `delete`,
 *   loaded with the AWS SDK v2 shim (aws-sdk-v2-shim.ts); it signs with the shim's static credentials;
 * - awsSample: the per-record PUT/DELETE of the AWS documentation's Lambda sample (aws-sample-search-sync.ts).
 *
 * The workload is a real Orders stream: `orders` orders are placed in DynamoDB Local through the orders repository
 * (the API's own conditional writes), moved through their statuses (PLACED -> PAID -> SHIPPED -> DELIVERED; every
 * `cancelEvery`-th PAID -> CANCELLED) and every `deleteEvery`-th deleted after its last move. The orders' lives
 * overlap as in a running shop: a few are placed per tick, and each later step follows 1-3 ticks after the previous
 * one (seeded), so a batch holds all kinds of records and sometimes two of one order. The table's stream is then read
 * shard by shard (parents first) and cut into batches of `batchSize` records per shard, as an event source mapping
 * with that batch size delivers a backlog; every contestant gets exactly these batches, in this order.
 *
 * One local OpenSearch server (sandbox/opensearch/local-opensearch.ts) counts the requests and the body bytes it
 * receives; the contestants reach it through a pass-through proxy that counts every byte they send (request lines
 * and headers too: per-request costs are part of a per-record design's price).
 * Each contestant writes to a fresh index of its own, created before its counting starts (ours `orders` with the
 * real mappings, the baseline `orders-baseline` with the same mappings, the sample `lambda-index` as the sample
 * expects it: no mappings, OpenSearch maps its AttributeValue JSON dynamically); the counters are reset after the
 * index exists, so only the contestant's own requests count. Records per second are records over the time spent in
 * the contestant's handler, the proxy hop and the local server (same process) included: a per-request cost weighs
 * on the per-record contestants most, as a network would. Request and byte counts are exact and repeatable; the
 * rates vary with the machine and its load.
 */

/** One contestant's figures. */
export interface SearchSideFigures {
  /** The index it wrote to. */
  readonly index: string;
  readonly records: number;
  readonly batches: number;
  /** HTTP requests the server received from it. */
  readonly requests: number;
  readonly requestsPer1000Records: number;
  readonly requestsPerBatch: number;
  /**
   * Bytes it sent: request lines, headers (its signature's included) and bodies, as they crossed the wire to the
   * server (counted by a pass-through proxy in front of it).
   */
  readonly bytes: number;
  readonly bytesPer1000Records: number;
  /** Of those, request bodies only (as the local server counts them). */
  readonly bodyBytes: number;
  readonly bodyBytesPer1000Records: number;
  /** Time spent in its handler, ms. */
  readonly handlerMs: number;
  /** records / handler time. */
  readonly recordsPerSecond: number;
  /** Requests by route, as the local server counts them. */
  readonly byRoute: Readonly<Record<string, number>>;
  /** Documents in its index afterwards: live ones and tombstones (only ours writes tombstones). */
  readonly documents: { readonly live: number; readonly tombstones: number };
  /** Whether its index ended up holding exactly the table's orders, each at the table's version. */
  readonly matchesTable: boolean;
}

export interface SearchTarget {
  readonly description: string;
  readonly target: number;
  readonly actual: number;
  readonly met: boolean;
}

export interface SearchComparison {
  readonly unit: 'requests per 1,000 records';
  readonly workload: OrderHistoryWorkload & { readonly batches: number };
  readonly batchSize: number;
  readonly ours: SearchSideFigures & {
    /**
     * Documents its `_bulk` requests carried: fewer than the records when a batch held several records of one order,
     * which the sync coalesces to the last one (only the highest version can stay in the index).
     */
    readonly documentsSent: number;
    /** Records the handler reported failed or sent to its DLQ (none expected). */
    readonly failedRecords: number;
    readonly deadLettered: number;
  };
  readonly baseline: SearchSideFigures;
  readonly awsSample: SearchSideFigures & {
    /** Responses other than 2xx, which the sample ignores. */
    readonly failedResponses: number;
  };
  /** Baseline requests per ours, per 1,000 records. */
  readonly ratioBaselineToOurs: number;
  readonly ratioAwsSampleToOurs: number;
  /** Checked and reported, never failed. */
  readonly targets: readonly SearchTarget[];
}

export interface SearchBenchOptions {
  /** @default 1,000 */
  readonly orders?: number;
  /** Every n-th order is cancelled after PAID instead of shipped. @default 10 */
  readonly cancelEvery?: number;
  /** Every n-th order is deleted after its last status move. @default 20 (5%) */
  readonly deleteEvery?: number;
  /** Records per batch, as the event source mapping's batch size. @default 100 */
  readonly batchSize?: number;
  /** Orders placed per tick of the history. @default 25 */
  readonly ordersPerTick?: number;
  /** Writes in flight at once. @default 8 */
  readonly concurrency?: number;
  /**
   * An existing DynamoDB Local and an empty Orders table with a NEW_AND_OLD_IMAGES stream (tests); by default the
   * benchmark starts its own DynamoDB Local and creates the table from the synthesized template.
   */
  readonly dynamodb?: { readonly endpoint: string; readonly ordersTable: string };
}

/** The indexes of the contestants. */
export const SEARCH_BENCH_INDEXES = {
  ours: ORDERS_INDEX,
  baseline: 'orders-baseline',
  /** The AWS sample's own index name. */
  awsSample: 'lambda-index',
} as const;

/** The consumer name of the measured search sync (its DLQ letters and logs). */
const BENCH_CONSUMER_NAME = 'search-sync-bench';

// ---------------------------------------------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------------------------------------------

/** What a contestant's index holds, read back as (order id, version, tombstone). */
export interface IndexedState {
  readonly orderId: string;
  readonly version: number | undefined;
  readonly deleted: boolean;
}

/**
 * Whether the documents are exactly the table: one live document per order at its version, no live document for a
 * deleted order (a tombstone is fine: only ours writes them, and it must have one per deleted order when
 * `requireTombstones`).
 */
export function indexMatchesTable(
  documents: readonly IndexedState[],
  history: Pick<HistoryOutcome, 'live' | 'deleted'>,
  requireTombstones: boolean,
): boolean {
  const live = documents.filter((document) => !document.deleted);
  const tombstones = new Set(documents.filter((document) => document.deleted).map((d) => d.orderId));
  if (live.length !== history.live.size) return false;
  for (const document of live) {
    if (history.live.get(document.orderId)?.version !== document.version) return false;
  }
  if (requireTombstones) {
    for (const orderId of history.deleted.keys()) if (!tombstones.has(orderId)) return false;
  }
  return true;
}

/** One side's figures from what the server counted and what was timed. */
export function searchSideFigures(measured: {
  readonly index: string;
  readonly records: number;
  readonly batches: number;
  readonly requests: number;
  readonly bytes: number;
  readonly bodyBytes: number;
  readonly handlerMs: number;
  readonly byRoute: Readonly<Record<string, number>>;
  readonly documents: readonly IndexedState[];
  readonly matchesTable: boolean;
}): SearchSideFigures {
  const perThousand = (bytes: number): number =>
    measured.records === 0 ? 0 : Math.round((bytes * 1000) / measured.records);
  const tombstones = measured.documents.filter((document) => document.deleted).length;
  return {
    index: measured.index,
    records: measured.records,
    batches: measured.batches,
    requests: measured.requests,
    requestsPer1000Records: per1000Records(measured.requests, measured.records),
    requestsPerBatch:
      measured.batches === 0 ? 0 : Math.round((measured.requests / measured.batches) * 100) / 100,
    bytes: measured.bytes,
    bytesPer1000Records: perThousand(measured.bytes),
    bodyBytes: measured.bodyBytes,
    bodyBytesPer1000Records: perThousand(measured.bodyBytes),
    handlerMs: Math.round(measured.handlerMs),
    recordsPerSecond:
      measured.handlerMs <= 0 ? 0 : Math.round((measured.records / measured.handlerMs) * 1000 * 10) / 10,
    byRoute: measured.byRoute,
    documents: { live: measured.documents.length - tombstones, tombstones },
    matchesTable: measured.matchesTable,
  };
}

/**
 * The targets of the comparison (reported, never failed): at most one request per batch, which at batch size 100 is
 * 10 requests per 1,000 records; the per-1,000 target is one request per batch of the workload, as a shard's last
 * batch is partial (3,950 records make 40 batches: 10.1 per 1,000).
 */
export function searchTargets(ours: SearchSideFigures, batchSize: number): SearchTarget[] {
  const perBatch = per1000Records(Math.max(ours.batches, Math.ceil(ours.records / batchSize)), ours.records);
  return [
    {
      description: 'ours: at most 1 request per batch',
      target: 1,
      actual: ours.requestsPerBatch,
      met: ours.requestsPerBatch <= 1,
    },
    {
      description:
        `ours: at most ${perBatch} requests per 1,000 records (one per batch of up to ${batchSize}; ` +
        `${1000 / batchSize} with full batches)`,
      target: perBatch,
      actual: ours.requestsPer1000Records,
      met: ours.requestsPer1000Records <= perBatch,
    },
  ];
}

/** `a / b` to one decimal; 0 when b is 0. */
function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 10) / 10;
}

// ---------------------------------------------------------------------------------------------------------------
// The contestants
// ---------------------------------------------------------------------------------------------------------------

/** A contestant: prepares its index (not counted), then handles each batch. */
interface Contestant {
  readonly index: string;
  prepare(): Promise<void>;
  handle(records: DynamoDBRecord[], batchNumber: number): Promise<void>;
  /** Reads a document of its index back as (order id, version, tombstone). */
  read(id: string, source: Record<string, unknown>): IndexedState;
}

interface Measured {
  readonly requests: number;
  /** Documents in the `_bulk` requests received. */
  readonly bulkItems: number;
  readonly bytes: number;
  readonly bodyBytes: number;
  readonly handlerMs: number;
  readonly byRoute: Readonly<Record<string, number>>;
  readonly documents: IndexedState[];
}

async function measure(
  server: LocalOpenSearch,
  proxy: ByteCountingProxy,
  contestant: Contestant,
  batches: readonly DynamoDBRecord[][],
): Promise<Measured> {
  await contestant.prepare();
  server.resetStats();
  proxy.reset();
  let handlerMs = 0;
  for (const [number, batch] of batches.entries()) {
    // A copy per contestant: the baseline deletes fields of the images it is given.
    const records = structuredClone(batch);
    const started = performance.now();
    await contestant.handle(records, number);
    handlerMs += performance.now() - started;
  }
  const stats = server.stats();
  const documents = [...server.documents(contestant.index)].map(([id, document]) =>
    contestant.read(id, document.source as Record<string, unknown>),
  );
  return {
    requests: stats.requests,
    bulkItems: stats.bulkItems,
    bytes: proxy.bytes(),
    bodyBytes: stats.bytesReceived,
    handlerMs,
    byRoute: stats.byRoute,
    documents,
  };
}

/** A TCP pass-through in front of the server that counts the bytes clients send through it. */
export interface ByteCountingProxy {
  /** `http://127.0.0.1:<port>`: the endpoint the contestants are given. */
  readonly url: string;
  bytes(): number;
  reset(): void;
  stop(): Promise<void>;
}

/**
 * Starts a byte-counting proxy to `target` (an http URL). The local server counts request bodies only; the proxy
 * sees everything a client sends, so per-request costs (request line, headers, a SigV4 signature) count too: they
 * are what a per-record design pays on top of its bodies.
 */
export async function startByteCountingProxy(target: string): Promise<ByteCountingProxy> {
  const { hostname, port } = new URL(target);
  let received = 0;
  const sockets = new Set<Socket>();
  const proxy = createNetServer((client) => {
    const upstream = connect({ host: hostname, port: Number(port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // A reset on one side ends the other; the client sees the connection close, as it would without the proxy.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => resolve());
  });
  const address = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    bytes: () => received,
    reset: () => {
      received = 0;
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

/** A number out of an AttributeValue (`{ "N": "3" }`) or a plain JSON number. */
function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { N?: unknown }).N === 'string') {
    return Number((value as { N: string }).N);
  }
  return undefined;
}

/** Runs the three contestants on the batches against the server. */
async function runContestants(options: {
  readonly server: LocalOpenSearch;
  /** In front of the server: every contestant is given its URL. */
  readonly proxy: ByteCountingProxy;
  readonly batches: readonly DynamoDBRecord[][];
  readonly history: HistoryOutcome;
  readonly outputDir: string;
  readonly log: (line: string) => void;
}): Promise<Pick<SearchComparison, 'ours' | 'baseline' | 'awsSample'>> {
  const { server, proxy, batches, history } = options;
  const records = batches.reduce((sum, batch) => sum + batch.length, 0);
  const client = createOpenSearchClient({ endpoint: proxy.url, sign: false });
  const figures = (index: string, measured: Measured, requireTombstones: boolean): SearchSideFigures =>
    searchSideFigures({
      index,
      records,
      batches: batches.length,
      ...measured,
      matchesTable: indexMatchesTable(measured.documents, history, requireTombstones),
    });

  // Ours: the real handler, as the search-sync function composes it, with local logs and an in-memory DLQ.
  options.log('  ours: createSearchSyncHandler, one _bulk per batch...');
  const letters: DeadLetter[] = [];
  let failedRecords = 0;
  const logger = new LocalLogger(options.outputDir, BENCH_CONSUMER_NAME);
  const metrics = new LocalMetrics(options.outputDir, BENCH_CONSUMER_NAME);
  const handler = createSearchSyncHandler({
    consumerName: BENCH_CONSUMER_NAME,
    deadLetterQueue: { send: async (letter) => void letters.push(letter) },
    index: new OpenSearchIndex(client),
    logger,
    metrics,
  });
  const ours = await measure(
    server,
    proxy,
    {
      index: SEARCH_BENCH_INDEXES.ours,
      prepare: async () => {
        await ensureOrdersIndex(client, { replicas: 0 });
      },
      handle: async (event, number) => {
        const context = localLambdaContext({
          functionName: BENCH_CONSUMER_NAME,
          requestId: `${BENCH_CONSUMER_NAME}-${number}`,
          deadlineMs: Date.now() + 60_000,
          memoryLimitInMB: '512',
          logStreamName: BENCH_CONSUMER_NAME,
          callbackWaitsForEmptyEventLoop: false,
        });
        const response = await handler({ Records: event }, context);
        failedRecords += response.batchItemFailures.length;
      },
      read: (id, source) => ({
        orderId: id,
        version: numberOf(source.version),
        deleted: source.deleted === true,
      }),
    },
    batches,
  );
  await flushJsonLinesWrites();

  // The baseline: the package's default mode, unchanged, loaded with the AWS SDK v2 shim.
  options.log('  baseline: dynamodb-stream-elasticsearch pushStream, default mode...');
  const { pushStream } = loadDynamoDbStreamElasticsearch();
  const baseline = await measure(
    server,
    proxy,
    {
      index: SEARCH_BENCH_INDEXES.baseline,
      prepare: async () => {
        await client.transport.request({
          method: 'PUT',
          path: `/${SEARCH_BENCH_INDEXES.baseline}`,
          body: { settings: ordersIndexSettings(0), mappings: ORDERS_INDEX_MAPPINGS },
        });
      },
      handle: async (event) => {
        await pushStream({
          event: { Records: event },
          endpoint: proxy.url,
          index: SEARCH_BENCH_INDEXES.baseline,
        });
      },
      read: (id, source) => ({ orderId: id, version: numberOf(source.version), deleted: false }),
    },
    batches,
  );

  // The AWS documentation sample: per record PUT or DELETE; it never looks at a response, the benchmark does.
  options.log('  awsSample: per-record PUT/DELETE of the AWS documentation sample...');
  let failedResponses = 0;
  const countingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (!response.ok) failedResponses += 1;
    return response;
  };
  const sample = createAwsSampleSearchSync({
    endpoint: proxy.url,
    index: SEARCH_BENCH_INDEXES.awsSample,
    fetch: countingFetch,
  });
  const awsSample = await measure(
    server,
    proxy,
    {
      index: SEARCH_BENCH_INDEXES.awsSample,
      prepare: async () => {
        await client.transport.request({
          method: 'PUT',
          path: `/${SEARCH_BENCH_INDEXES.awsSample}`,
          body: { settings: ordersIndexSettings(0) },
        });
      },
      handle: async (event) => {
        await sample({ Records: event });
      },
      read: (id, source) => ({ orderId: id, version: numberOf(source.version), deleted: false }),
    },
    batches,
  );
  await client.close();

  return {
    ours: {
      ...figures(SEARCH_BENCH_INDEXES.ours, ours, true),
      documentsSent: ours.bulkItems,
      failedRecords,
      deadLettered: letters.length,
    },
    baseline: figures(SEARCH_BENCH_INDEXES.baseline, baseline, false),
    awsSample: { ...figures(SEARCH_BENCH_INDEXES.awsSample, awsSample, false), failedResponses },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------------------------

/** DynamoDB Local and an Orders table: the caller's (tests) or started here from the template. */
async function ordersTable(
  options: SearchBenchOptions,
  log: (line: string) => void,
): Promise<{ endpoint: string; tableName: string; stop: () => Promise<void> }> {
  if (options.dynamodb !== undefined) {
    return {
      endpoint: options.dynamodb.endpoint,
      tableName: options.dynamodb.ordersTable,
      stop: async () => {},
    };
  }
  log('  synthesizing the app for the Orders table definition...');
  const definitions = synthesizeApp({}).stacks.flatMap((stack) =>
    tableDefinitionsFromTemplate(stack.template),
  );
  const orders = definitions.filter((definition) => definition.constructId === 'Orders');
  log('  starting DynamoDB Local...');
  const ddb = await startDynamoDbLocal();
  const client = new DynamoDBClient(localClientConfig(ddb.endpoint));
  try {
    const names = await createTables(client, orders, { prefix: 'bench-search' });
    return { endpoint: ddb.endpoint, tableName: tableNameOf(names, 'Orders'), stop: () => ddb.stop() };
  } catch (error) {
    await ddb.stop();
    throw error;
  } finally {
    client.destroy();
  }
}

/** The `search` benchmark with the given workload (the registry's uses the defaults). */
export function searchBenchmark(options: SearchBenchOptions = {}): Benchmark {
  const orders = options.orders ?? 1000;
  const cancelEvery = options.cancelEvery ?? 10;
  const deleteEvery = options.deleteEvery ?? 20;
  const batchSize = options.batchSize ?? 100;
  const ordersPerTick = options.ordersPerTick ?? 25;
  const concurrency = options.concurrency ?? 8;
  return {
    name: 'search',
    description:
      `search sync OpenSearch requests per 1,000 records: one _bulk per batch vs ` +
      `dynamodb-stream-elasticsearch and the AWS sample (${orders} orders, batches of ${batchSize})`,
    async run(settings: BenchmarkSettings): Promise<BenchmarkResult> {
      const outputDir = join(settings.outputDir ?? DEFAULT_OUTPUT_DIR, 'bench-search');
      // This benchmark's own logs only: the rest of the output directory belongs to the sandbox runs.
      await rm(outputDir, { recursive: true, force: true });
      const table = await ordersTable(options, settings.log);
      let server: LocalOpenSearch | undefined;
      let proxy: ByteCountingProxy | undefined;
      try {
        const plan = planOrderHistory({
          orders,
          cancelEvery,
          deleteEvery,
          ordersPerTick,
          seed: settings.seed,
        });
        settings.log(`  writing the history of ${orders} orders (${plan.length} ticks)...`);
        const dynamodb = new DynamoDBClient(localClientConfig(table.endpoint));
        let history: HistoryOutcome;
        try {
          history = await writeOrderHistory({
            documentClient: DynamoDBDocumentClient.from(dynamodb, {
              marshallOptions: { removeUndefinedValues: true },
            }),
            ordersTable: table.tableName,
            plan,
            concurrency,
            runId: `${settings.seed}-${Date.now()}`,
            log: settings.log,
          });
        } finally {
          dynamodb.destroy();
        }
        const { inserts, modifies, removes } = history.writes;
        const expected = inserts + modifies + removes;
        settings.log(`  reading ${expected} stream records...`);
        const batches = await readStreamBatches({
          endpoint: table.endpoint,
          tableName: table.tableName,
          expectedRecords: expected,
          batchSize,
        });
        const records = batches.reduce((sum, batch) => sum + batch.length, 0);
        settings.log(`  ${records} records in ${batches.length} batches; starting the local OpenSearch...`);
        server = await startLocalOpenSearch({ port: 0 });
        proxy = await startByteCountingProxy(server.url);
        const sides = await runContestants({
          server,
          proxy,
          batches,
          history,
          outputDir,
          log: settings.log,
        });
        const comparison: SearchComparison = {
          unit: 'requests per 1,000 records',
          workload: {
            orders,
            cancelEvery,
            deleteEvery,
            records,
            inserts,
            modifies,
            removes,
            batches: batches.length,
            failedWrites: history.failedWrites,
          },
          batchSize,
          ...sides,
          ratioBaselineToOurs: ratio(
            sides.baseline.requestsPer1000Records,
            sides.ours.requestsPer1000Records,
          ),
          ratioAwsSampleToOurs: ratio(
            sides.awsSample.requestsPer1000Records,
            sides.ours.requestsPer1000Records,
          ),
          targets: searchTargets(sides.ours, batchSize),
        };
        return { comparisons: { search: comparison } };
      } finally {
        await proxy?.stop();
        await server?.stop();
        await table.stop();
      }
    },
  };
}

/** The search comparison for bench's text output: a headline, one line per side and the targets. */
export function describeSearch(search: SearchComparison): string {
  const side = (name: string, figures: SearchSideFigures): string =>
    `  ${name.padEnd(10)} ${String(figures.requestsPer1000Records).padStart(7)} requests per 1,000 records ` +
    `(${figures.requestsPerBatch} per batch), ${(figures.bytesPer1000Records / 1024).toFixed(1)} KiB sent per ` +
    `1,000 records (bodies ${(figures.bodyBytesPer1000Records / 1024).toFixed(1)} KiB), ` +
    `${figures.recordsPerSecond} records/s; index ${figures.matchesTable ? 'matches' : 'DOES NOT match'} the table`;
  const { workload } = search;
  return [
    `Search sync, ${workload.records} records of ${workload.orders} orders in ${workload.batches} batches of up to ` +
      `${search.batchSize}: ${search.ratioBaselineToOurs}x fewer requests than dynamodb-stream-elasticsearch, ` +
      `${search.ratioAwsSampleToOurs}x fewer than the AWS sample`,
    side('ours', search.ours),
    side('baseline', search.baseline),
    side('AWS sample', search.awsSample),
    ...search.targets.map(
      (target) =>
        `  target ${target.met ? 'met' : 'MISSED'}: ${target.description} (actual ${target.actual})`,
    ),
  ].join('\n');
}
