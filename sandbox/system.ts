import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV } from '../lambdas/shared/env.js';
import type { SearchClient as OpenSearchClient } from '../lambdas/shared/search/opensearch-client-options.js';
import { ORDERS_INDEX } from '../lambdas/shared/search/orders-index.js';
import { ensureOrdersIndex } from '../lambdas/shared/search/orders-index-bootstrap.js';
import type { OrdersStreamApp } from '../lib/app.js';
import type { OpsAws } from '../ops/aws/ports.js';
import {
  type CountingDynamoDb,
  createCountingDynamoDb,
  type DynamoDbCallCounts,
} from './adapters/counting-dynamodb.js';
import { flushJsonLinesWrites } from './adapters/json-lines-file.js';
import { LocalLogger, LocalMetrics } from './adapters/local-observability.js';
import { LocalS3Client, type LocalS3Stats } from './adapters/local-s3.js';
import { LocalSesClient, type LocalSesStats } from './adapters/local-ses.js';
import { LocalSnsClient, type LocalSnsStats } from './adapters/local-sns.js';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_REGION,
  LocalDeadLetterQueue,
  type LocalQueue,
  LocalQueues,
  localOnFailureSink,
} from './adapters/local-sqs.js';
import { LocalSqsClient, type LocalSqsStats } from './adapters/local-sqs-client.js';
import type { ServiceFaultHook } from './adapters/service-faults.js';
import {
  type ApiStats,
  apiRoutesFromTemplate,
  countingApiHandler,
  type LocalApiServer,
  startLocalApiServer,
} from './api-server.js';
import type { ConsumerFactory, LocalAdapters } from './consumer-factory.js';
import { type ConsumerFunctionWrapper, composeConsumerFunction } from './consumer-function.js';
import { factoriesForMappings } from './consumers.js';
import { localClientConfig, startDynamoDbLocal } from './dynamodb-local/server.js';
import { createTables, tableDefinitionsFromTemplate } from './dynamodb-local/tables.js';
import {
  DynamoDbStreamSource,
  latestStreamArn,
  TableHasNoStreamError,
} from './esm/dynamodb-stream-source.js';
import { esmConfigsFromApp } from './esm/esm-config.js';
import { assertDistinctConsumerNames, EsmRunner } from './esm/runner.js';
import type { MappingStats, OnFailureSink } from './esm/types.js';
import { DEFAULT_INVENTORY, seedInventory, validateInventory } from './inventory-seed.js';
import { LagRecorder, type LagSummary } from './lag.js';
import { type LocalFunction, localOpsAws } from './local-ops.js';
import { createLocalOpenSearchClient, type LocalOpenSearchClientOptions } from './opensearch/local-client.js';
import {
  type LocalOpenSearch,
  type LocalOpenSearchFaults,
  type LocalOpenSearchStats,
  startLocalOpenSearch,
} from './opensearch/local-opensearch.js';
import { localStageOutputs } from './ops-outputs.js';
import { ordersApiFactory } from './orders-api-factory.js';
import { DEFAULT_OUTPUT_DIR, prepareOutputDir } from './output-dir.js';
import { synthesizeApp } from './synth.js';
import { apiFunctionAddress, resolveFunctionEnvironment, resourceAt } from './template-env.js';
import {
  addressKey,
  domainAttributeResolver,
  localQueueSettings,
  localRefResolver,
  localResourceNames,
  localTopicSettings,
  searchIndexReplicas,
} from './template-names.js';

/**
 * The whole local system in one call: the one composition behind `npm start`, `npm run chaos` and `npm run bench`.
 * Synthesizes the app, boots DynamoDB Local, creates the tables of the template and stocks the Inventory table,
 * starts the local OpenSearch (opensearch/) and prepares the `orders` index in it, serves the orders API, builds every
 * stream consumer from its local factory with the environment the template gives its function (tables, queues, SNS
 * topics, SES templates and the search domain's endpoint resolved to local ones), and runs the local event source
 * mappings on the tables' streams. Consumers send through stand-ins of the SNS, SES and SQS clients (adapters/);
 * everything is written under `outputDir`: `sns/<topic>.jsonl`, `ses/outbox.jsonl`, `s3/<bucket>/<key>`, `sqs/<queue>.jsonl` (and
 * `sqs/<queue>.duplicates.jsonl` for what FIFO deduplication dropped), `logs/`, `metrics/`.
 *
 * This module only composes; the parts are in their own modules: local names of the template's resources and the
 * resolvers of its references (template-names.ts), the initial stock (inventory-seed.ts), the API's wiring
 * (orders-api-factory.ts), a consumer's function (consumer-function.ts), and the lag, measured from what the runner
 * settles (lag.ts).
 */

export type { ApiStats };
export { DEFAULT_OUTPUT_DIR };

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
  /**
   * Wraps each consumer's function, outermost (fault injection): the runner invokes the wrapped function, so the
   * settled records (and the lag) are those of its outcome.
   */
  readonly wrapFunction?: ConsumerFunctionWrapper;
  /** Overrides every mapping's function timeout. */
  readonly functionTimeoutMs?: number;
  /**
   * Caps every mapping's batching window (the audit log gathers for 60 s): tests and chaos runs that wait for the
   * streams to drain need not wait a whole window for the last batch. @default no cap: each mapping's own window
   */
  readonly maxBatchingWindowMs?: number;
  /**
   * Caps every mapping's maximum record age: a drill of an outage longer than the maximum record age (the mappings'
   * on-failure letters) need not last an hour. @default no cap: each mapping's own
   */
  readonly maxRecordAgeMs?: number;
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

/** A consumer's mapping stats plus what the system adds: its DLQ's message count and the end-to-end lag (lag.ts). */
export interface ConsumerStatus extends MappingStats, LagSummary {
  /** Messages in the consumer's DLQ: dead letters of the runtime plus on-failure messages of the mapping. */
  readonly dlqCount: number;
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
  /** The stage the sandbox stands in for (cdk.json's `stage`): its stacks' names are the deployed stage's. */
  readonly stageName: string;
  /** The stage's outputs as the sandbox resolves them (stack name to output key to local value). */
  readonly stageOutputs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /**
   * The ops command's AWS side over this sandbox (local-ops.ts): `npm run ops` runs the same commands against it as
   * against a deployed stage. Each call gives a new one; its `close` releases its own clients only.
   */
  opsAws(): OpsAws;
  /** Resolves true once every mapping has caught up and stayed idle `quietMs`; false on timeout. */
  waitUntilDrained(opts: { timeoutMs: number; quietMs?: number }): Promise<boolean>;
  /**
   * Stops the runner, the API, the local OpenSearch and DynamoDB Local; the output files stay. Safe to call more than
   * once.
   */
  stop(): Promise<void>;
}

/** Thrown when the template cannot be run locally as it is (an on-failure destination that is not a queue, say). */
export class SandboxWiringError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'SandboxWiringError';
  }
}

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
    ...(options.maxRecordAgeMs === undefined
      ? {}
      : { maximumRecordAgeMs: Math.min(config.maximumRecordAgeMs, options.maxRecordAgeMs) }),
  }));
  const factories = factoriesForMappings(configs, options.consumers ?? {});
  // The runner refuses them too; checked here, the sandbox fails before it starts anything.
  assertDistinctConsumerNames(configs);
  const names = localResourceNames(app, configs);
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
    const resolveRef = localRefResolver(names, {
      tables: definitions.map(
        ({ stackName, definition }) =>
          [{ stackName, logicalId: definition.logicalId }, tables[definition.constructId]!] as const,
      ),
      queueUrl: (name) => queues.byName(name).url,
    });
    const resolveAttribute = domainAttributeResolver(names.domains, search.url);
    const environmentOf = (address: {
      stackName: string;
      logicalId: string;
    }): Readonly<Record<string, string>> =>
      resolveFunctionEnvironment(app, address, resolveRef, resolveAttribute);
    if (names.domains.size > 0) {
      // As the first writer would (the search sync also runs the bootstrap before its first `_bulk`): the API's
      // search then finds the index before the first order is synced.
      const bootstrap = await ensureOrdersIndex(openSearchClient(search.url), {
        replicas: searchIndexReplicas(app),
      });
      log(`Local OpenSearch on ${search.url}: index "${ORDERS_INDEX}" ${bootstrap.kind}`);
    }
    const onWriteError = (error: unknown): void => log(`  local write failed: ${(error as Error).message}`);

    // The stand-ins of the services without an offline server, shared by every consumer (one topic file, one
    // outbox, one file per queue), and a counting DynamoDB client per consumer that asks for one.
    const snsSettings = localTopicSettings(app, names.topics);
    const sns = new LocalSnsClient({
      outputDir,
      settings: (name) => snsSettings.get(name),
      faults: options.serviceFaults,
      clock,
    });
    const ses = new LocalSesClient({
      outputDir,
      templates: new Map([...names.emailTemplates.values()].map((template) => [template.name, template])),
      faults: options.serviceFaults,
      clock,
    });
    const queueSettings = localQueueSettings(app, names.queues);
    const sqs = new LocalSqsClient({
      queues,
      settings: (name) => queueSettings.get(name),
      faults: options.serviceFaults,
      clock,
    });
    const s3 = new LocalS3Client({
      outputDir,
      buckets: names.buckets.values(),
      faults: options.serviceFaults,
      clock,
    });
    const dynamoDbClients = new Map<string, CountingDynamoDb>();
    cleanups.push(async () => {
      for (const clients of dynamoDbClients.values()) clients.destroy();
    });
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

    // The API, from its factory with its function's environment in the template, so local wiring is what deploys.
    const apiFunction = apiFunctionAddress(app);
    const api = countingApiHandler(ordersApiFactory(environmentOf(apiFunction), adapters));
    const server: LocalApiServer = await startLocalApiServer({
      routes: apiRoutesFromTemplate(app.stack(apiFunction.stackName).template),
      handler: api.handler,
      port: options.port ?? 3000,
    });
    cleanups.push(() => server.close());

    // The consumers, each from its factory with its function's environment from the template.
    const dlqByConsumer = new Map<string, LocalQueue>();
    const envByConsumer = new Map<string, Readonly<Record<string, string>>>();
    const sources = new Map<string, DynamoDbStreamSource>();
    const mappings = [];
    for (const config of configs) {
      const env = environmentOf({ stackName: config.functionStackName, logicalId: config.functionLogicalId });
      envByConsumer.set(config.consumerName, env);
      const fn = composeConsumerFunction({
        consumerName: config.consumerName,
        factory: factories.get(config.consumerName)!,
        env,
        adapters,
        ...(options.wrapFunction === undefined ? {} : { wrap: options.wrapFunction }),
      });
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
        const queueName = names.queues.get(addressKey(config.onFailureDestination));
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

    // What the ops command resolves and reaches (`npm run ops -- --local`): the template's outputs, locally.
    const streamArns = new Map<string, string>();
    for (const { stackName, definition } of definitions) {
      const tableName = tables[definition.constructId];
      if (tableName === undefined) continue;
      try {
        streamArns.set(
          addressKey({ stackName, logicalId: definition.logicalId }),
          await latestStreamArn(client, tableName),
        );
      } catch (error) {
        if (!(error instanceof TableHasNoStreamError)) throw error;
      }
    }
    const stageOutputs = localStageOutputs(app, {
      resolveRef,
      resolveAttribute,
      configs,
      streamArns,
      queueNames: names.queues,
      apiUrl: server.url,
      unresolved: (stackName, key, problem) =>
        log(`  output ${stackName}/${key} has no local value: ${problem}`),
    });
    const localFunctions = new Map<string, LocalFunction>(
      mappings.map(({ config, fn }) => [
        config.consumerName,
        {
          fn,
          timeoutMs: config.functionTimeoutMs,
          // Lambda's default when the template sets none.
          memoryMb: Number(
            resourceAt(app, { stackName: config.functionStackName, logicalId: config.functionLogicalId })
              .Properties?.MemorySize ?? 128,
          ),
        },
      ]),
    );

    // The lag is measured from what the runner settles, not from the functions' responses.
    const lag = new LagRecorder();
    const runner = new EsmRunner({
      mappings,
      pollIntervalMs: options.pollIntervalMs ?? 250,
      clock,
      onSettled: lag.onSettled,
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
      stageName: app.config.stageName,
      stageOutputs,
      opsAws: () =>
        localOpsAws({
          outputs: stageOutputs,
          functions: localFunctions,
          mappingStats: (uuid) => runner.stats()[uuid],
          mappingStatsOfFunction: (functionName) => runner.stats()[functionName],
          queues,
          dynamodbEndpoint: ddb.endpoint,
          searchUrl: search.url,
          s3,
          clock,
        }),
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
