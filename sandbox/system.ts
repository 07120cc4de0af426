import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createOrdersApiFromTables } from '../lambdas/orders-api/compose.js';
import { ORDERS_API_SERVICE_NAME } from '../lambdas/orders-api/names.js';
import { ENV } from '../lambdas/shared/env.js';
import { OpenSearchOrderSearch } from '../lambdas/shared/search/opensearch-order-search.js';
import { ORDERS_INDEX } from '../lambdas/shared/search/orders-index.js';
import { ensureOrdersIndex } from '../lambdas/shared/search/orders-index-bootstrap.js';
import type { OrdersStreamApp } from '../lib/app.js';
import {
  type CountingDynamoDb,
  createCountingDynamoDb,
  type DynamoDbCallCounts,
} from './adapters/counting-dynamodb.js';
import { flushJsonLinesWrites } from './adapters/json-lines-file.js';
import { LocalLogger, LocalMetrics } from './adapters/local-observability.js';
import { LocalS3Client, type LocalS3Stats } from './adapters/local-s3.js';
import { type LocalEmailTemplate, LocalSesClient, type LocalSesStats } from './adapters/local-ses.js';
import {
  LocalSnsClient,
  type LocalSnsStats,
  type LocalTopicSettings,
  localTopicArn,
} from './adapters/local-sns.js';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_REGION,
  LocalDeadLetterQueue,
  type LocalQueue,
  LocalQueues,
  localOnFailureSink,
} from './adapters/local-sqs.js';
import { type LocalQueueSettings, LocalSqsClient, type LocalSqsStats } from './adapters/local-sqs-client.js';
import type { ServiceFaultHook } from './adapters/service-faults.js';
import {
  type ApiHandler,
  apiRoutesFromTemplate,
  type LocalApiServer,
  startLocalApiServer,
} from './api-server.js';
import type { ConsumerFactory, LocalAdapters } from './consumer-factory.js';
import { factoriesForMappings } from './consumers.js';
import { localClientConfig, startDynamoDbLocal } from './dynamodb-local/server.js';
import { createTables, tableDefinitionsFromTemplate } from './dynamodb-local/tables.js';
import { DynamoDbStreamSource, latestStreamArn } from './esm/dynamodb-stream-source.js';
import { esmConfigsFromApp } from './esm/esm-config.js';
import { EsmRunner } from './esm/runner.js';
import type { EsmConfig, MappingStats, OnFailureSink, StreamFunction } from './esm/types.js';
import { withInvocationDeadline } from './invocation-deadline.js';
import { createLocalOpenSearchClient, type LocalOpenSearchClientOptions } from './opensearch/local-client.js';
import {
  type LocalOpenSearch,
  type LocalOpenSearchFaults,
  type LocalOpenSearchStats,
  startLocalOpenSearch,
} from './opensearch/local-opensearch.js';
import { DEFAULT_OUTPUT_DIR } from './output-dir.js';
import { type LocatedResource, type SynthesizedApp, synthesizeApp } from './synth.js';
import {
  apiFunctionAddress,
  type LocalAttributeResolver,
  localEndpoint,
  type ResourceAddress,
  resolveFunctionEnvironment,
  TemplateWiringError,
} from './template-env.js';
import { TRAFFIC_SKUS } from './traffic.js';

/**
 * The whole local system in one call: the one composition behind `npm start`, `npm run chaos` and `npm run bench`.
 * Synthesizes the app, boots DynamoDB Local, creates the tables of the template and stocks the Inventory table,
 * starts the local OpenSearch (opensearch/) and prepares the `orders` index in it, serves the orders API, builds every
 * stream consumer from its local factory with the environment the template gives its function (tables, queues, SNS
 * topics, SES templates and the search domain's endpoint resolved to local ones), and runs the local event source
 * mappings on the tables' streams. Consumers send through stand-ins of the SNS, SES and SQS clients (adapters/);
 * everything is written under `outputDir`: `sns/<topic>.jsonl`, `ses/outbox.jsonl`, `s3/<bucket>/<key>`, `sqs/<queue>.jsonl` (and
 * `sqs/<queue>.duplicates.jsonl` for what FIFO deduplication dropped), `logs/`, `metrics/`.
 */

export { DEFAULT_OUTPUT_DIR };

/** Marks a directory the sandbox created, and so may clear at the next start. */
const OUTPUT_DIR_MARKER = '.orders-sandbox-output';

/**
 * The stock of each SKU at start when nothing else is asked for. The demo traffic places about one order per four
 * operations, of about 2.5 lines of 1-3 (now and then 4-20) units, spread over its 40 SKUs: about 600 units per SKU
 * in a 10,000-operation run before cancellations and deletes give some back. At 450 such a run reserves most orders
 * and back-orders about one in six (a model of the traffic with an instant fan-out: 16%), as SKUs sell out towards
 * its end; at 300 it would be over a third, most of its second half.
 */
export const DEFAULT_STOCK_PER_SKU = 450;

/** Every SKU of the demo traffic at DEFAULT_STOCK_PER_SKU. */
export const DEFAULT_INVENTORY: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(TRAFFIC_SKUS.map((sku) => [sku, DEFAULT_STOCK_PER_SKU])),
);

export interface SandboxSystemOptions {
  /** The API's port; 0 = a free one. @default 3000 */
  readonly port?: number;
  /** Where the adapters write (queues, logs, metrics); cleared at start. @default DEFAULT_OUTPUT_DIR */
  readonly outputDir?: string;
  /** Synth context on top of cdk.json's. */
  readonly context?: Record<string, unknown>;
  /** Changes the app before synth, e.g. `app.stateless.addStreamConsumer('Probe', { ... })`. */
  readonly extendApp?: (app: OrdersStreamApp) => void;
  /** Consumer factories merged over the registry (CONSUMER_FACTORIES), keyed by consumer name. */
  readonly consumers?: Readonly<Record<string, ConsumerFactory>>;
  /** Wraps each consumer's function (fault injection); the lag recorder sees the wrapped function's outcome. */
  readonly wrapFunction?: (consumerName: string, fn: StreamFunction) => StreamFunction;
  /** Overrides every mapping's function timeout. */
  readonly functionTimeoutMs?: number;
  /**
   * Caps every mapping's batching window (the audit log gathers for 60 s): tests and chaos runs that wait for the
   * streams to drain need not wait a whole window for the last batch. @default no cap: each mapping's own window
   */
  readonly maxBatchingWindowMs?: number;
  /** The runner's poll interval. @default 250 */
  readonly pollIntervalMs?: number;
  /** Progress lines. @default a line on stderr */
  readonly log?: (line: string) => void;
  /** @default Date.now */
  readonly clock?: () => number;
  /**
   * The available stock per SKU written to the Inventory table at start (`{ sku, available }` items); `{}` writes
   * none. @default DEFAULT_INVENTORY
   */
  readonly inventory?: Readonly<Record<string, number>>;
  /** Injected transient faults of the SNS, SES, SQS and S3 stand-ins (chaos). @default none */
  readonly serviceFaults?: ServiceFaultHook;
  /** Injected faults of the local OpenSearch (chaos): 503 requests, 429 bulk items. @default none */
  readonly searchFaults?: LocalOpenSearchFaults;
  /** The local OpenSearch's port; 0 = a free one. @default 0 */
  readonly openSearchPort?: number;
}

/** What the local services have been asked to do: the stand-ins' counters, and DynamoDB calls per client owner. */
export interface ServiceStats {
  readonly sns: LocalSnsStats;
  readonly ses: LocalSesStats;
  readonly sqs: LocalSqsStats;
  readonly s3: LocalS3Stats;
  /** Calls of each counting DynamoDB client (LocalAdapters.dynamoDb), by owner. */
  readonly dynamodb: Readonly<Record<string, DynamoDbCallCounts>>;
  /** Requests the local OpenSearch received (the search sync's `_bulk`s, the API's searches, the bootstrap). */
  readonly opensearch: LocalOpenSearchStats;
}

/** A consumer's mapping stats plus what the system adds: its DLQ's message count and the end-to-end lag. */
export interface ConsumerStatus extends MappingStats {
  /** Messages in the consumer's DLQ: dead letters of the runtime plus on-failure messages of the mapping. */
  readonly dlqCount: number;
  /** Records with a lag sample (each completed record once). */
  readonly lagSamples: number;
  /** End-to-end lag percentiles (ms) over every sample; null before the first. */
  readonly lagP50Ms: number | null;
  readonly lagP99Ms: number | null;
  readonly lagMaxMs: number | null;
}

/** Requests the local API answered, by status. */
export interface ApiStats {
  readonly requests: number;
  readonly byStatus: Readonly<Record<string, number>>;
}

export interface SandboxSystem {
  readonly apiUrl: string;
  readonly dynamodbEndpoint: string;
  readonly outputDir: string;
  /** Construct id -> local table name. */
  readonly tables: Readonly<Record<string, string>>;
  readonly documentClient: DynamoDBDocumentClient;
  /** Consumer names with a running mapping. */
  readonly consumers: string[];
  /** Local queue name of each consumer's DLQ (file `<outputDir>/sqs/<name>.jsonl`). */
  readonly deadLetterQueues: Readonly<Record<string, string>>;
  /** Each consumer's function environment as resolved from the template (local table names, ARNs, URLs). */
  readonly environments: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The stock per SKU written to the Inventory table at start. */
  readonly inventory: Readonly<Record<string, number>>;
  /**
   * The local OpenSearch every OPENSEARCH_ENDPOINT of the template resolves to (`search.url`), with the `orders`
   * index prepared at start when the template has a search domain. It stops with the system.
   */
  readonly search: LocalOpenSearch;
  stats(): Record<string, ConsumerStatus>;
  /** The local services' counters (SNS, SES, SQS stand-ins, DynamoDB per owner). */
  serviceStats(): ServiceStats;
  /** End-to-end lag samples in ms, in completion order. */
  lagSamples(consumerName: string): number[];
  apiStats(): ApiStats;
  /** Resolves true once every mapping has caught up and stayed idle `quietMs`; false on timeout. */
  waitUntilDrained(opts: { timeoutMs: number; quietMs?: number }): Promise<boolean>;
  /**
   * Stops the runner, the API, the local OpenSearch and DynamoDB Local; the output files stay. Safe to call more than
   * once.
   */
  stop(): Promise<void>;
}

/** Thrown when the output directory holds files the sandbox did not write: clearing it could destroy someone's work. */
export class OutputDirError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'OutputDirError';
  }
}

/** Thrown when the template cannot be run locally as it is (two mappings for one consumer name, say). */
export class SandboxWiringError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'SandboxWiringError';
  }
}

/**
 * Empties `dir` for a new run, creating it if needed. A non-empty directory is only cleared when the sandbox created
 * it (its marker file is there).
 */
export async function prepareOutputDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    entries = [];
  }
  if (entries.length > 0 && !entries.includes(OUTPUT_DIR_MARKER)) {
    throw new OutputDirError(
      `${dir} is not empty and was not created by the sandbox (no ${OUTPUT_DIR_MARKER}); refusing to clear it`,
    );
  }
  await Promise.all(entries.map((entry) => rm(join(dir, entry), { recursive: true, force: true })));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, OUTPUT_DIR_MARKER), 'Written by the orders sandbox; cleared at each start.\n');
}

// ---------------------------------------------------------------------------------------------------------------
// End-to-end lag

/**
 * The time a record's change was written, in ms: the new image's `updatedAt` (orders: set by the API on every write,
 * exact to the millisecond) or `votedAt` (votes: the time of the last change of the choice); for a record without
 * either (a REMOVE) the record's ApproximateCreationDateTime (seconds). undefined when the record has none.
 */
export function writeTimeMs(record: DynamoDBRecord): number | undefined {
  const image = record.dynamodb?.NewImage;
  for (const attribute of ['updatedAt', 'votedAt']) {
    const text = image?.[attribute]?.S;
    if (text !== undefined) {
      const parsed = Date.parse(text);
      if (Number.isFinite(parsed)) return parsed;
    }
  }
  // Lambda's events carry epoch seconds; a record read straight through the SDK carries a Date.
  const approximate: unknown = record.dynamodb?.ApproximateCreationDateTime;
  if (typeof approximate === 'number') return approximate * 1000;
  return approximate instanceof Date ? approximate.getTime() : undefined;
}

/**
 * The records of a batch that an invocation completed, as Lambda reads its outcome: none when it threw (or timed
 * out); all when it returned no failures or the mapping does not use ReportBatchItemFailures; otherwise the records
 * before the lowest reported failure. A reported identifier that is empty or not in the batch fails the whole batch,
 * as it does in Lambda.
 */
export function succeededRecords(
  records: readonly DynamoDBRecord[],
  outcome: { readonly threw: true } | { readonly threw: false; readonly response: unknown },
  reportBatchItemFailures: boolean,
): DynamoDBRecord[] {
  if (outcome.threw) return [];
  const failures = (outcome.response as Partial<DynamoDBBatchResponse> | undefined | null)?.batchItemFailures;
  if (!reportBatchItemFailures || !Array.isArray(failures) || failures.length === 0) return [...records];
  const identifiers: unknown[] = failures.map(
    (failure: unknown) => (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier,
  );
  if (identifiers.some((id) => typeof id !== 'string' || id === '')) return [];
  const failed = new Set(identifiers as string[]);
  const firstFailed = records.findIndex((record) => failed.has(record.dynamodb?.SequenceNumber ?? ''));
  return firstFailed === -1 ? [] : records.slice(0, firstFailed);
}

/** Nearest-rank percentile of ascending `sorted`; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/**
 * Records one end-to-end lag sample per stream record, when an invocation completes it for the first time: a
 * re-delivered record (after a partial failure or a retry) is not sampled again, so the samples show how long a
 * change took to be processed, not how many times.
 */
export class LagRecorder {
  readonly #clock: () => number;
  readonly #samples = new Map<string, number[]>();
  readonly #completed = new Map<string, Set<string>>();

  public constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Wraps a consumer's function; the wrapped one behaves exactly the same. */
  public wrap(
    config: Pick<EsmConfig, 'consumerName' | 'reportBatchItemFailures'>,
    fn: StreamFunction,
  ): StreamFunction {
    const { consumerName } = config;
    const samples = this.#samplesOf(consumerName);
    let completed = this.#completed.get(consumerName);
    if (completed === undefined) {
      completed = new Set();
      this.#completed.set(consumerName, completed);
    }
    const done = completed;
    return async (event: DynamoDBStreamEvent, context: Context) => {
      // A throw passes through untouched: nothing of the batch completed, so there is nothing to sample.
      const response = await fn(event, context);
      // A result that arrives after the deadline is a timeout to the runner: nothing of the batch completed.
      const timedOut =
        typeof context?.getRemainingTimeInMillis === 'function' && context.getRemainingTimeInMillis() <= 0;
      const now = this.#clock();
      const succeeded = succeededRecords(
        event.Records,
        timedOut ? { threw: true } : { threw: false, response },
        config.reportBatchItemFailures,
      );
      for (const record of succeeded) {
        const id = `${record.eventSourceARN ?? ''}|${record.dynamodb?.SequenceNumber ?? record.eventID ?? ''}`;
        if (done.has(id)) continue;
        done.add(id);
        const written = writeTimeMs(record);
        if (written !== undefined) samples.push(Math.max(0, now - written));
      }
      return response;
    };
  }

  public samples(consumerName: string): number[] {
    return [...(this.#samples.get(consumerName) ?? [])];
  }

  /** p50, p99 and max of a consumer's samples. */
  public summary(
    consumerName: string,
  ): Pick<ConsumerStatus, 'lagSamples' | 'lagP50Ms' | 'lagP99Ms' | 'lagMaxMs'> {
    const sorted = (this.#samples.get(consumerName) ?? []).slice().sort((a, b) => a - b);
    return {
      lagSamples: sorted.length,
      lagP50Ms: percentile(sorted, 50),
      lagP99Ms: percentile(sorted, 99),
      lagMaxMs: percentile(sorted, 100),
    };
  }

  #samplesOf(consumerName: string): number[] {
    let samples = this.#samples.get(consumerName);
    if (samples === undefined) {
      samples = [];
      this.#samples.set(consumerName, samples);
    }
    return samples;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Template -> local resources

function addressKey(address: ResourceAddress): string {
  return `${address.stackName}/${address.logicalId}`;
}

/**
 * The local queue name of every SQS queue of the app: `<consumerName>-dlq` for a mapping's on-failure destination
 * (each consumer's own DLQ), otherwise the queue's construct path below its stack in kebab case (with `.fifo` kept
 * for FIFO queues), so that the files under `sqs/` read like the app's queues.
 */
export function localQueueNames(app: SynthesizedApp, configs: readonly EsmConfig[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const claim = (key: string, wanted: string, fallback: string): void => {
    const name = taken.has(wanted) ? fallback : wanted;
    taken.add(name);
    names.set(key, name);
  };
  for (const config of configs) {
    const destination = config.onFailureDestination;
    if (destination === undefined || names.has(addressKey(destination))) continue;
    claim(
      addressKey(destination),
      sanitizeQueueName(`${config.consumerName}-dlq`),
      sanitizeQueueName(destination.logicalId),
    );
  }
  for (const { stackName, logicalId, resource } of app.resourcesOfType('AWS::SQS::Queue')) {
    const key = addressKey({ stackName, logicalId });
    if (names.has(key)) continue;
    const fifo = resource.Properties?.FifoQueue === true;
    const cdkPath = resource.Metadata?.['aws:cdk:path'];
    const path = typeof cdkPath === 'string' ? cdkPath : '';
    const segments = path
      .split('/')
      .slice(1)
      .filter((segment) => segment !== 'Resource');
    const base = segments.length > 0 ? segments.map(kebabCase).join('-') : logicalId;
    const suffix = fifo ? '.fifo' : '';
    claim(key, sanitizeQueueName(base, suffix), sanitizeQueueName(logicalId, suffix));
  }
  return names;
}

/**
 * Local names for resources of one type, from their construct paths: the shortest tail of the path (below the stack,
 * without `Resource`) that no other resource of the type has taken and that is not a bare generic word, in kebab
 * case; e.g. `Messaging/OrderEvents` -> `order-events`, `OpsAlerts/Topic` -> `ops-alerts-topic`. A name the
 * template sets as a plain string wins.
 */
function localNamesByPath(
  resources: readonly LocatedResource[],
  explicitName: (resource: LocatedResource) => unknown,
  generic: ReadonlySet<string>,
  sanitize: (text: string) => string,
): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const ordered = [...resources].sort(
    (a, b) => Number(typeof explicitName(b) === 'string') - Number(typeof explicitName(a) === 'string'),
  );
  for (const located of ordered) {
    const key = addressKey(located);
    const explicit = explicitName(located);
    if (typeof explicit === 'string' && !taken.has(explicit)) {
      names.set(key, explicit);
      taken.add(explicit);
      continue;
    }
    const cdkPath = located.resource.Metadata?.['aws:cdk:path'];
    const segments = (typeof cdkPath === 'string' ? cdkPath : '')
      .split('/')
      .slice(1)
      .filter((segment) => segment !== 'Resource');
    let name: string | undefined;
    for (let length = 1; length <= segments.length && name === undefined; length += 1) {
      const candidate = sanitize(segments.slice(-length).map(kebabCase).join('-'));
      if (!generic.has(candidate) && !taken.has(candidate)) name = candidate;
    }
    name ??= sanitize(located.logicalId);
    taken.add(name);
    names.set(key, name);
  }
  return names;
}

/**
 * The local name of every S3 bucket of the app (directory `s3/<name>/`), by address: its BucketName when the template
 * sets one, else from its construct path (`Audit/Bucket` -> `audit-bucket`), as S3 names go: lowercase letters,
 * digits and hyphens, 3 to 63 of them.
 */
export function localBucketNames(app: SynthesizedApp): Map<string, string> {
  return localNamesByPath(
    app.resourcesOfType('AWS::S3::Bucket'),
    ({ resource }) => resource.Properties?.BucketName,
    new Set(['bucket']),
    (text) => {
      const name = text
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 63)
        .replace(/-+$/, '');
      return name.length >= 3 ? name : `${name}-bucket`.replace(/^-/, '');
    },
  );
}

/** The local topic name of every SNS topic of the app (file `sns/<name>.jsonl`), by address. */
export function localTopicNames(app: SynthesizedApp): Map<string, string> {
  return localNamesByPath(
    app.resourcesOfType('AWS::SNS::Topic'),
    ({ resource }) => resource.Properties?.TopicName,
    new Set(['topic']),
    (text) => {
      const fifo = text.endsWith('.fifo') ? '.fifo' : '';
      const base = (fifo === '' ? text : text.slice(0, -fifo.length)).replace(/[^A-Za-z0-9_-]+/g, '-');
      return `${base.slice(0, 256 - fifo.length) || 'topic'}${fifo}`;
    },
  );
}

/**
 * Every SES template of the app (AWS::SES::Template), by address, with a local name (the template's TemplateName
 * when it sets one; CloudFormation generates one otherwise, locally the path's) and its parts for rendering.
 */
export function localEmailTemplates(app: SynthesizedApp): Map<string, LocalEmailTemplate> {
  const located = app.resourcesOfType('AWS::SES::Template');
  const parts = (resource: LocatedResource): Record<string, unknown> =>
    (resource.resource.Properties?.Template ?? {}) as Record<string, unknown>;
  const names = localNamesByPath(
    located,
    (resource) => parts(resource).TemplateName,
    new Set(['template']),
    (text) => text.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 64) || 'template',
  );
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  return new Map(
    located.map((resource) => {
      const { SubjectPart, TextPart, HtmlPart } = parts(resource);
      const template: LocalEmailTemplate = {
        name: names.get(addressKey(resource))!,
        ...(text(SubjectPart) === undefined ? {} : { subject: text(SubjectPart) }),
        ...(text(TextPart) === undefined ? {} : { text: text(TextPart) }),
        ...(text(HtmlPart) === undefined ? {} : { html: text(HtmlPart) }),
      };
      return [addressKey(resource), template];
    }),
  );
}

/** The settings of every SQS queue of the app that change how a send is answered, by local queue name. */
export function localQueueSettings(
  app: SynthesizedApp,
  queueNames: ReadonlyMap<string, string>,
): Map<string, LocalQueueSettings> {
  const settings = new Map<string, LocalQueueSettings>();
  for (const located of app.resourcesOfType('AWS::SQS::Queue')) {
    const name = queueNames.get(addressKey(located));
    if (name === undefined) continue;
    const properties = located.resource.Properties ?? {};
    settings.set(name, {
      fifo: properties.FifoQueue === true,
      contentBasedDeduplication: properties.ContentBasedDeduplication === true,
      deduplicationScope: properties.DeduplicationScope === 'messageGroup' ? 'messageGroup' : 'queue',
    });
  }
  return settings;
}

/** The settings of every SNS topic of the app that change how a publish is answered, by local topic name. */
export function localTopicSettings(
  app: SynthesizedApp,
  topicNames: ReadonlyMap<string, string>,
): Map<string, LocalTopicSettings> {
  const settings = new Map<string, LocalTopicSettings>();
  for (const located of app.resourcesOfType('AWS::SNS::Topic')) {
    const name = topicNames.get(addressKey(located));
    if (name === undefined) continue;
    const properties = located.resource.Properties ?? {};
    settings.set(name, {
      fifo: properties.FifoTopic === true,
      contentBasedDeduplication: properties.ContentBasedDeduplication === true,
      deduplicationScope: properties.FifoThroughputScope === 'MessageGroup' ? 'messageGroup' : 'topic',
    });
  }
  return settings;
}

/** Thrown when the initial stock cannot be written: a SKU or a stock that DynamoDB or the fan-out would refuse. */
export class InventoryOptionError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'InventoryOptionError';
  }
}

/** Throws InventoryOptionError for a SKU or a stock the Inventory table must not get. */
export function validateInventory(inventory: Readonly<Record<string, number>>): void {
  for (const [sku, available] of Object.entries(inventory)) {
    // A `#` prefix is the fan-out's reservation items' (`#reservation#<orderId>`); a SKU must never look like one.
    if (sku === '' || sku.startsWith('#')) {
      throw new InventoryOptionError(`inventory: "${sku}" is not a SKU (empty or starting with '#')`);
    }
    if (!Number.isSafeInteger(available) || available < 0) {
      throw new InventoryOptionError(`inventory.${sku} must be an integer >= 0, got ${available}`);
    }
  }
}

/** Writes `{ sku, available }` per SKU (BatchWriteItem, 25 per call, unprocessed items written again). */
export async function seedInventory(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  inventory: Readonly<Record<string, number>>,
): Promise<void> {
  validateInventory(inventory);
  const items = Object.entries(inventory).map(([sku, available]) => ({
    PutRequest: { Item: { sku, available } },
  }));
  for (let start = 0; start < items.length; start += 25) {
    let pending: NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']> = {
      [tableName]: items.slice(start, start + 25),
    };
    for (let attempt = 1; Object.keys(pending).length > 0; attempt += 1) {
      const { UnprocessedItems } = await documentClient.send(
        new BatchWriteCommand({ RequestItems: pending }),
      );
      pending = Object.fromEntries(
        Object.entries(UnprocessedItems ?? {}).filter(([, requests]) => (requests?.length ?? 0) > 0),
      );
      if (attempt >= 10 && Object.keys(pending).length > 0) {
        throw new Error(`Seeding ${tableName}: items stayed unprocessed after ${attempt} attempts`);
      }
    }
  }
}

function kebabCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** Keeps to SQS's naming rule: letters, digits, `-`, `_`, at most 80 characters with the suffix. */
function sanitizeQueueName(text: string, suffix = ''): string {
  const base = text.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'queue';
  return `${base.slice(0, 80 - suffix.length)}${suffix}`;
}

function requireVariable(env: Readonly<Record<string, string>>, name: string, what: string): string {
  const value = env[name];
  if (value === undefined) {
    throw new TemplateWiringError(`The ${what} function in the template has no ${name} variable`);
  }
  return value;
}

/** Counts the API's answers, by status. */
function countingHandler(handler: ApiHandler): { handler: ApiHandler; stats: () => ApiStats } {
  let requests = 0;
  const byStatus: Record<string, number> = {};
  return {
    handler: async (event, context) => {
      const result = await handler(event, context);
      requests += 1;
      byStatus[String(result.statusCode)] = (byStatus[String(result.statusCode)] ?? 0) + 1;
      return result;
    },
    stats: () => ({ requests, byStatus: { ...byStatus } }),
  };
}

/**
 * Replicas of the `orders` index as the template gives its writers (SEARCH_INDEX_REPLICAS of the functions that have
 * it, a plain number); 0 when none has it. The sandbox prepares the index with them, as the first writer would.
 */
export function searchIndexReplicas(app: SynthesizedApp): number {
  for (const { resource } of app.resourcesOfType('AWS::Lambda::Function')) {
    const variables = (
      resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined
    )?.Variables;
    const value = variables?.[ENV.SEARCH_INDEX_REPLICAS];
    if (typeof value === 'string' && /^\d{1,2}$/.test(value)) return Number(value);
  }
  return 0;
}

/**
 * The local name of every OpenSearch domain of the app, by address: its DomainName when the template sets one
 * (`Ref` of a domain is its name), else the logical id in lower case.
 */
export function localDomainNames(app: SynthesizedApp): Map<string, string> {
  return new Map(
    app.resourcesOfType('AWS::OpenSearchService::Domain').map((located) => {
      const name = located.resource.Properties?.DomainName;
      return [addressKey(located), typeof name === 'string' ? name : located.logicalId.toLowerCase()];
    }),
  );
}

/**
 * Local values of the attributes of the app's OpenSearch domains: every domain's `DomainEndpoint` is the local
 * OpenSearch (so `https://` + it resolves to its `http://127.0.0.1:<port>`), its `Arn`/`DomainArn` a local ARN.
 */
export function domainAttributeResolver(
  domainNames: ReadonlyMap<string, string>,
  url: string,
): LocalAttributeResolver {
  return (address, attribute) => {
    const name = domainNames.get(addressKey(address));
    if (name === undefined) return undefined;
    if (attribute === 'DomainEndpoint') return localEndpoint(url);
    if (attribute === 'Arn' || attribute === 'DomainArn') {
      return `arn:aws:es:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:domain/${name}`;
    }
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The composition

/** Starts the local system; on failure, whatever had started is stopped again before the error is rethrown. */
export async function startSandboxSystem(options: SandboxSystemOptions = {}): Promise<SandboxSystem> {
  const log = options.log ?? ((line: string): void => void process.stderr.write(`${line}\n`));
  const clock = options.clock ?? Date.now;
  const outputDir = resolve(options.outputDir ?? DEFAULT_OUTPUT_DIR);
  await prepareOutputDir(outputDir);

  log('Synthesizing the app (the sandbox reads what deploys from the template)...');
  const app = synthesizeApp(
    options.context ?? {},
    options.extendApp === undefined ? {} : { extend: options.extendApp },
  );
  // Everything that can be checked on the template alone fails here, before a JVM is started for nothing.
  const configs = esmConfigsFromApp(app).map((config) => ({
    ...config,
    ...(options.functionTimeoutMs === undefined ? {} : { functionTimeoutMs: options.functionTimeoutMs }),
    ...(options.maxBatchingWindowMs === undefined
      ? {}
      : {
          maximumBatchingWindowMs: Math.min(config.maximumBatchingWindowMs, options.maxBatchingWindowMs),
        }),
  }));
  const factories = factoriesForMappings(configs, options.consumers ?? {});
  const duplicate = configs.find((c, i) => configs.findIndex((o) => o.consumerName === c.consumerName) !== i);
  if (duplicate !== undefined) {
    throw new SandboxWiringError(
      `Two event source mappings belong to consumer "${duplicate.consumerName}"; the sandbox reports per consumer name`,
    );
  }
  const queueNames = localQueueNames(app, configs);
  const topicNames = localTopicNames(app);
  const bucketNames = localBucketNames(app);
  const emailTemplates = localEmailTemplates(app);
  const inventory = options.inventory ?? DEFAULT_INVENTORY;
  validateInventory(inventory);

  const cleanups: Array<() => Promise<void>> = [];
  const runCleanups = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => log(`  while stopping: ${(error as Error).message}`));
    }
  };

  try {
    const search = await startLocalOpenSearch({
      port: options.openSearchPort ?? 0,
      clock,
      ...(options.searchFaults === undefined ? {} : { faults: options.searchFaults }),
    });
    cleanups.push(() => search.stop());
    const openSearchClients: OpenSearchClient[] = [];
    cleanups.push(async () => {
      await Promise.all(openSearchClients.splice(0).map((openSearchClient) => openSearchClient.close()));
    });
    const openSearchClient = (
      endpoint: string,
      clientOptions?: LocalOpenSearchClientOptions,
    ): OpenSearchClient => {
      // Only the local server can stand in for a domain: an endpoint the template spells out literally would send
      // the sandbox's writes to a real cluster.
      if (endpoint !== search.url) {
        throw new SandboxWiringError(
          `OPENSEARCH_ENDPOINT "${endpoint}" is not the local OpenSearch (${search.url}): the sandbox resolves only ` +
            "an OpenSearch domain's DomainEndpoint of the template to it",
        );
      }
      const created = createLocalOpenSearchClient(endpoint, clientOptions);
      openSearchClients.push(created);
      return created;
    };

    log('Starting DynamoDB Local...');
    const ddb = await startDynamoDbLocal();
    cleanups.push(() => ddb.stop());
    const clientConfig = localClientConfig(ddb.endpoint);
    const client = new DynamoDBClient(clientConfig);
    const streamsClient = new DynamoDBStreamsClient(clientConfig);
    cleanups.push(async () => {
      client.destroy();
      streamsClient.destroy();
    });
    const documentClient = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });

    const definitions = app.stacks.flatMap((stack) =>
      tableDefinitionsFromTemplate(stack.template).map((definition) => ({
        stackName: stack.stackName,
        definition,
      })),
    );
    const tables = await createTables(
      client,
      definitions.map(({ definition }) => definition),
      { prefix: 'sandbox' },
    );
    log(`Created ${definitions.length} tables: ${Object.values(tables).join(', ')}`);
    const inventoryTable = tables.Inventory;
    if (inventoryTable !== undefined && Object.keys(inventory).length > 0) {
      await seedInventory(documentClient, inventoryTable, inventory);
      log(`Stocked ${Object.keys(inventory).length} SKUs in ${inventoryTable}`);
    }

    const queues = new LocalQueues(outputDir, clock);
    const localByAddress = new Map<string, string>();
    for (const { stackName, definition } of definitions) {
      localByAddress.set(
        addressKey({ stackName, logicalId: definition.logicalId }),
        tables[definition.constructId]!,
      );
    }
    for (const [key, name] of queueNames) localByAddress.set(key, queues.byName(name).url);
    for (const [key, name] of topicNames) localByAddress.set(key, localTopicArn(name, LOCAL_REGION));
    // `Ref` of an AWS::S3::Bucket is the bucket's name.
    for (const [key, name] of bucketNames) localByAddress.set(key, name);
    // `Ref` of an AWS::SES::Template is the template's name.
    for (const [key, template] of emailTemplates) localByAddress.set(key, template.name);
    const domainNames = localDomainNames(app);
    for (const [key, name] of domainNames) localByAddress.set(key, name);
    const resolveRef = (address: ResourceAddress): string | undefined =>
      localByAddress.get(addressKey(address));
    const resolveAttribute = domainAttributeResolver(domainNames, search.url);
    if (domainNames.size > 0) {
      // As the first writer would (the search sync also runs the bootstrap before its first `_bulk`): the API's
      // search then finds the index before the first order is synced.
      const bootstrap = await ensureOrdersIndex(openSearchClient(search.url), {
        replicas: searchIndexReplicas(app),
      });
      log(`Local OpenSearch on ${search.url}: index "${ORDERS_INDEX}" ${bootstrap.kind}`);
    }
    const onWriteError = (error: unknown): void => log(`  local write failed: ${(error as Error).message}`);

    // The API, wired from its function's environment in the template, so local wiring is what deploys.
    const apiFunction = apiFunctionAddress(app);
    const apiEnv = resolveFunctionEnvironment(app, apiFunction, resolveRef, resolveAttribute);
    const apiSearchEndpoint = apiEnv[ENV.OPENSEARCH_ENDPOINT];
    const api = countingHandler(
      createOrdersApiFromTables({
        documentClient,
        tables: {
          orders: requireVariable(apiEnv, ENV.ORDERS_TABLE_NAME, ORDERS_API_SERVICE_NAME),
          votes: requireVariable(apiEnv, ENV.VOTES_TABLE_NAME, ORDERS_API_SERVICE_NAME),
          pollResults: requireVariable(apiEnv, ENV.POLL_RESULTS_TABLE_NAME, ORDERS_API_SERVICE_NAME),
          idempotency: requireVariable(apiEnv, ENV.IDEMPOTENCY_TABLE_NAME, ORDERS_API_SERVICE_NAME),
        },
        logger: new LocalLogger(outputDir, ORDERS_API_SERVICE_NAME, { clock, onWriteError }),
        // As lambdas/orders-api/handler.ts: search only with OPENSEARCH_ENDPOINT, 3 s per attempt, one retry.
        ...(apiSearchEndpoint === undefined || apiSearchEndpoint === ''
          ? {}
          : {
              search: new OpenSearchOrderSearch(
                openSearchClient(apiSearchEndpoint, { requestTimeoutMs: 3_000, maxRetries: 1 }),
              ),
            }),
      }),
    );
    const routes = apiRoutesFromTemplate(app.stack(apiFunction.stackName).template);
    const server: LocalApiServer = await startLocalApiServer({
      routes,
      handler: api.handler,
      port: options.port ?? 3000,
    });
    cleanups.push(() => server.close());

    // The stand-ins of the services without an offline server, shared by every consumer (one topic file, one
    // outbox, one file per queue), and a counting DynamoDB client per consumer that asks for one.
    const snsSettings = localTopicSettings(app, topicNames);
    const sns = new LocalSnsClient({
      outputDir,
      settings: (name) => snsSettings.get(name),
      faults: options.serviceFaults,
      clock,
    });
    const ses = new LocalSesClient({
      outputDir,
      templates: new Map([...emailTemplates.values()].map((template) => [template.name, template])),
      faults: options.serviceFaults,
      clock,
    });
    const settings = localQueueSettings(app, queueNames);
    const sqs = new LocalSqsClient({
      queues,
      settings: (name) => settings.get(name),
      faults: options.serviceFaults,
      clock,
    });
    const s3 = new LocalS3Client({
      outputDir,
      buckets: bucketNames.values(),
      faults: options.serviceFaults,
      clock,
    });
    const dynamoDbClients = new Map<string, CountingDynamoDb>();
    cleanups.push(async () => {
      for (const clients of dynamoDbClients.values()) clients.destroy();
    });

    // The consumers, each from its factory with its function's environment from the template.
    const adapters: LocalAdapters = {
      documentClient,
      outputDir,
      deadLetterQueue: (queueUrl) => new LocalDeadLetterQueue(queues.byUrl(queueUrl)),
      queue: (queueUrl) => queues.byUrl(queueUrl),
      logger: (service) => new LocalLogger(outputDir, service, { clock, onWriteError }),
      metrics: (service) => new LocalMetrics(outputDir, service, { clock, onWriteError }),
      clock,
      sns,
      ses,
      sqs,
      s3,
      dynamoDb: (owner) => {
        let clients = dynamoDbClients.get(owner);
        if (clients === undefined) {
          clients = createCountingDynamoDb(clientConfig);
          dynamoDbClients.set(owner, clients);
        }
        return clients;
      },
      openSearch: search,
      openSearchClient,
    };
    const lag = new LagRecorder(clock);
    const dlqByConsumer = new Map<string, LocalQueue>();
    const envByConsumer = new Map<string, Readonly<Record<string, string>>>();
    const sources = new Map<string, DynamoDbStreamSource>();
    const mappings = [];
    for (const config of configs) {
      const factory = factories.get(config.consumerName)!;
      const env = resolveFunctionEnvironment(
        app,
        { stackName: config.functionStackName, logicalId: config.functionLogicalId },
        resolveRef,
        resolveAttribute,
      );
      envByConsumer.set(config.consumerName, env);
      const built = withInvocationDeadline(
        config.consumerName,
        factory(Object.freeze({ ...env }), adapters),
        clock,
      );
      const fn = lag.wrap(config, options.wrapFunction?.(config.consumerName, built) ?? built);
      const tableName = tables[config.tableConstructId];
      if (tableName === undefined) {
        throw new SandboxWiringError(
          `Mapping ${config.stackName}/${config.logicalId} reads table "${config.tableConstructId}", which was not created`,
        );
      }
      const streamArn = await latestStreamArn(client, tableName);
      // One source per stream, shared by its mappings: the source stamps each record's creation time when first
      // read, and every consumer of the record must see the same stamp.
      let source = sources.get(streamArn);
      if (source === undefined) {
        source = new DynamoDbStreamSource({ client: streamsClient, streamArn, clock });
        sources.set(streamArn, source);
      }
      let onFailure: OnFailureSink;
      if (config.onFailureDestination === undefined) {
        // Without a destination Lambda drops the batch; saying so is the least the sandbox can do.
        onFailure = async (message) =>
          log(
            `  ${config.consumerName}: batch ${message.DDBStreamBatchInfo.startSequenceNumber}.. dropped (no on-failure destination)`,
          );
      } else {
        const queueName = queueNames.get(addressKey(config.onFailureDestination));
        if (queueName === undefined) {
          throw new SandboxWiringError(
            `Mapping ${config.logicalId}: the on-failure destination ${addressKey(config.onFailureDestination)} is not an SQS queue`,
          );
        }
        const queue = queues.byName(queueName);
        dlqByConsumer.set(config.consumerName, queue);
        onFailure = localOnFailureSink(queue);
      }
      mappings.push({
        config,
        streamArn,
        functionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${config.consumerName}`,
        source,
        fn,
        onFailure,
      });
    }
    // The runtime's DLQ (DEAD_LETTER_QUEUE_URL) is the same queue as the on-failure destination in the template;
    // when a consumer has no destination, its DLQ count comes from the queue its variable names.
    for (const config of configs) {
      if (dlqByConsumer.has(config.consumerName)) continue;
      const url = envByConsumer.get(config.consumerName)?.[ENV.DEAD_LETTER_QUEUE_URL];
      if (url !== undefined) dlqByConsumer.set(config.consumerName, queues.byUrl(url));
    }

    const runner = new EsmRunner({
      mappings,
      pollIntervalMs: options.pollIntervalMs ?? 250,
      clock,
      onError: (error, where) =>
        log(
          `  ${where.consumerName}${where.shardId === undefined ? '' : ` ${where.shardId}`} (${where.during}): ` +
            `${(error as Error).message ?? String(error)}`,
        ),
    });
    runner.start();
    cleanups.push(async () => {
      await runner.stop();
      await flushJsonLinesWrites();
    });
    if (configs.length > 0) {
      log(
        `Running ${configs.length} event source mapping(s): ${configs.map((c) => c.consumerName).join(', ')}`,
      );
    }

    let stopping: Promise<void> | undefined;
    return {
      apiUrl: server.url,
      dynamodbEndpoint: ddb.endpoint,
      outputDir,
      tables,
      documentClient,
      consumers: configs.map((c) => c.consumerName),
      deadLetterQueues: Object.fromEntries([...dlqByConsumer].map(([name, queue]) => [name, queue.name])),
      environments: Object.fromEntries(envByConsumer),
      inventory: { ...inventory },
      search,
      serviceStats: () => ({
        sns: sns.stats(),
        ses: ses.stats(),
        sqs: sqs.stats(),
        s3: s3.stats(),
        dynamodb: Object.fromEntries(
          [...dynamoDbClients].map(([owner, clients]) => [owner, clients.counter.snapshot()]),
        ),
        opensearch: search.stats(),
      }),
      stats: () => {
        const mappingStats = runner.stats();
        return Object.fromEntries(
          configs.map(({ consumerName }) => {
            const stats = mappingStats[consumerName] ?? emptyStats(consumerName);
            const status: ConsumerStatus = {
              ...stats,
              dlqCount: dlqByConsumer.get(consumerName)?.sentCount ?? 0,
              ...lag.summary(consumerName),
            };
            return [consumerName, status];
          }),
        );
      },
      lagSamples: (consumerName) => lag.samples(consumerName),
      apiStats: api.stats,
      waitUntilDrained: async ({ timeoutMs, quietMs }) => {
        const drained = await runner.waitUntilDrained({ timeoutMs, quietMs: quietMs ?? 500 });
        await flushJsonLinesWrites();
        return drained;
      },
      stop: () => {
        stopping ??= runCleanups();
        return stopping;
      },
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}

function emptyStats(consumerName: string): MappingStats {
  return {
    consumerName,
    recordsRead: 0,
    recordsFiltered: 0,
    recordsProcessed: 0,
    invocations: 0,
    failedInvocations: 0,
    recordsToOnFailure: 0,
    recordsRedelivered: 0,
    iteratorAgeMs: 0,
    pending: 0,
  };
}
