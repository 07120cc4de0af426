import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../../lambdas/shared/errors.js';
import type { ChangeRecord } from '../../lambdas/shared/stream/change-record.js';
import type { FullDeadLetter } from '../../lambdas/shared/stream/dead-letter.js';
import { createStreamHandler } from '../../lambdas/shared/stream/stream-handler.js';
import type { OrdersStreamApp } from '../../lib/app.js';
import { readJsonLines } from '../../sandbox/adapters/json-lines-file.js';
import { LocalS3Client } from '../../sandbox/adapters/local-s3.js';
import { readOutbox } from '../../sandbox/adapters/local-ses.js';
import { readTopicMessages, topicNameFromArn } from '../../sandbox/adapters/local-sns.js';
import { queueNameFromUrl, readQueueMessages } from '../../sandbox/adapters/local-sqs.js';
import type { ConsumerFactory } from '../../sandbox/consumer-factory.js';
import { factoriesForMappings, MissingConsumerFactoryError } from '../../sandbox/consumers.js';
import { localClientConfig } from '../../sandbox/dynamodb-local/server.js';
import type { EsmConfig, StreamFunction } from '../../sandbox/esm/types.js';
import type { SynthesizedApp } from '../../sandbox/synth.js';
import {
  DEFAULT_INVENTORY,
  DEFAULT_STOCK_PER_SKU,
  domainAttributeResolver,
  InventoryOptionError,
  LagRecorder,
  localDomainNames,
  localEmailTemplates,
  localQueueNames,
  localQueueSettings,
  localTopicNames,
  localTopicSettings,
  OutputDirError,
  percentile,
  prepareOutputDir,
  type SandboxSystem,
  searchIndexReplicas,
  seedInventory,
  startSandboxSystem,
  succeededRecords,
  validateInventory,
  writeTimeMs,
} from '../../sandbox/system.js';
import { TRAFFIC_SKUS } from '../../sandbox/traffic.js';
import { DUMMY_CONSUMER_ENTRY } from '../fixtures/cdk-app.js';
import { createTestTables, localDynamoDb, scanAll } from '../support/dynamodb.js';
import { testEsmConfig } from '../support/esm-configs.js';
import { HANG_TIMEOUT_MS } from '../support/hang.js';
import { createStreamRecordFactory } from '../support/stream-records.js';

const PROBE = 'test-probe';

function esmConfig(overrides: Partial<EsmConfig> = {}): EsmConfig {
  return testEsmConfig({
    stackName: 'Pipelines',
    logicalId: 'ProbeMapping',
    functionStackName: 'Pipelines',
    functionLogicalId: 'ProbeFunction',
    consumerName: PROBE,
    batchSize: 100,
    maximumRetryAttempts: 10,
    maximumRecordAgeMs: 3_600_000,
    bisectBatchOnFunctionError: true,
    functionTimeoutMs: 60_000,
    ...overrides,
  });
}

function lambdaContext(remainingMs = 60_000): Context {
  return { awsRequestId: 'req', getRemainingTimeInMillis: () => remainingMs } as Context;
}

/** Three order records written at 12:00:00.000, .100 and .200 (updatedAt), sequence numbers ...1 to ...3. */
function threeRecords(): DynamoDBRecord[] {
  const records = createStreamRecordFactory();
  return [0, 100, 200].map((ms, i) =>
    records.insert({
      orderId: `o-${i}`,
      updatedAt: new Date(Date.UTC(2024, 4, 1, 12, 0, 0, ms)).toISOString(),
    }),
  );
}

const seq = (record: DynamoDBRecord | undefined): string => record?.dynamodb?.SequenceNumber ?? '';

describe('succeededRecords', () => {
  const records = threeRecords();

  it.each([
    ['a throw', { threw: true } as const, true, []],
    ['no response', { threw: false, response: undefined }, true, [0, 1, 2]],
    ['no failures', { threw: false, response: { batchItemFailures: [] } }, true, [0, 1, 2]],
    [
      'a failure at the second record',
      { threw: false, response: { batchItemFailures: [{ itemIdentifier: seq(records[1]) }] } },
      true,
      [0],
    ],
    [
      'failures reported out of order',
      {
        threw: false,
        response: {
          batchItemFailures: [{ itemIdentifier: seq(records[2]) }, { itemIdentifier: seq(records[1]) }],
        },
      },
      true,
      [0],
    ],
    [
      'an empty identifier',
      { threw: false, response: { batchItemFailures: [{ itemIdentifier: '' }] } },
      true,
      [],
    ],
    [
      'an unknown identifier',
      { threw: false, response: { batchItemFailures: [{ itemIdentifier: '9' }] } },
      true,
      [],
    ],
    [
      'failures without ReportBatchItemFailures',
      { threw: false, response: { batchItemFailures: [{ itemIdentifier: seq(records[0]) }] } },
      false,
      [0, 1, 2],
    ],
  ] as const)('after %s completes records %j', (_name, outcome, report, expected) => {
    expect(succeededRecords(records, outcome, report)).toEqual(expected.map((i) => records[i]));
  });
});

describe('writeTimeMs', () => {
  const records = createStreamRecordFactory({ approximateCreationDateTime: 1_714_564_800 });

  it.each([
    [
      'updatedAt of an order',
      records.insert({ orderId: 'o', updatedAt: '2024-05-01T12:00:01.234Z' }),
      1_714_564_801_234,
    ],
    [
      'votedAt of a vote',
      records.modify(
        { orderId: 'v', votedAt: '2024-05-01T11:00:00.000Z' },
        { orderId: 'v', votedAt: '2024-05-01T12:00:02.500Z' },
      ),
      1_714_564_802_500,
    ],
    [
      'ApproximateCreationDateTime of a REMOVE',
      records.remove({ orderId: 'o', updatedAt: '2020-01-01T00:00:00Z' }),
      1_714_564_800_000,
    ],
    [
      'ApproximateCreationDateTime when updatedAt is not a time',
      records.insert({ orderId: 'o', updatedAt: 'soon' }),
      1_714_564_800_000,
    ],
  ])('reads %s', (_name, record, expected) => {
    expect(writeTimeMs(record)).toBe(expected);
  });
});

describe('percentile', () => {
  it.each([
    [[], 50, null],
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 100, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    [Array.from({ length: 1000 }, (_, i) => i + 1), 99, 990],
  ])('of %j at p%d is %s', (sorted, p, expected) => {
    expect(percentile(sorted, p)).toBe(expected);
  });
});

describe('LagRecorder', () => {
  const completedAt = Date.UTC(2024, 4, 1, 12, 0, 1, 0);

  it('samples each record once, when an invocation first completes it', async () => {
    // Prepare: the first call fails at the second record, the next ones succeed (a retry, then a re-delivery).
    const records = threeRecords();
    const responses = [
      { batchItemFailures: [{ itemIdentifier: seq(records[1]) }] },
      { batchItemFailures: [] },
      undefined,
    ];
    const recorder = new LagRecorder(() => completedAt);
    const fn = recorder.wrap(esmConfig(), async () => responses.shift());

    // Act
    await fn({ Records: records }, lambdaContext());
    await fn({ Records: records.slice(1) }, lambdaContext());
    await fn({ Records: records }, lambdaContext());

    // Assess
    expect(recorder.samples(PROBE)).toEqual([1000, 900, 800]);
    expect(recorder.summary(PROBE)).toEqual({ lagSamples: 3, lagP50Ms: 900, lagP99Ms: 1000, lagMaxMs: 1000 });
  });

  it('passes the response through unchanged', async () => {
    // Prepare
    const response = { batchItemFailures: [{ itemIdentifier: '1' }] };
    const fn = new LagRecorder().wrap(esmConfig(), async () => response);

    // Act
    const returned = await fn({ Records: threeRecords() }, lambdaContext());

    // Assess
    expect(returned).toBe(response);
  });

  it.each([
    ['threw', (async () => Promise.reject(new Error('boom'))) as StreamFunction, 60_000],
    ['returned after its deadline', (async () => ({ batchItemFailures: [] })) as StreamFunction, 0],
  ])('samples nothing from an invocation that %s', async (_name, inner, remainingMs) => {
    // Prepare
    const recorder = new LagRecorder(() => completedAt);
    const fn = recorder.wrap(esmConfig(), inner);

    // Act
    await fn({ Records: threeRecords() } as DynamoDBStreamEvent, lambdaContext(remainingMs)).catch(
      () => undefined,
    );

    // Assess
    expect(recorder.samples(PROBE)).toEqual([]);
    expect(recorder.summary(PROBE).lagP50Ms).toBeNull();
  });
});

describe('factoriesForMappings', () => {
  const registered: ConsumerFactory = () => async () => undefined;
  const extra: ConsumerFactory = () => async () => undefined;

  it('takes the extra factory over the registry one', () => {
    // Act
    const found = factoriesForMappings([esmConfig({ consumerName: 'a' })], { a: extra }, { a: registered });

    // Assess
    expect(found.get('a')).toBe(extra);
  });

  it('names every consumer without a factory', () => {
    // Prepare
    const configs = [
      esmConfig({ consumerName: 'a' }),
      esmConfig({ consumerName: 'order-fanout' }),
      esmConfig({ consumerName: 'audit-log' }),
    ];

    // Act
    const act = (): unknown => factoriesForMappings(configs, {}, { a: registered });

    // Assess
    expect(act).toThrow(MissingConsumerFactoryError);
    expect(act).toThrow(/No local consumer factory for "order-fanout", "audit-log".*known: a/);
  });

  it.each(['toString', 'constructor', '__proto__'])(
    'does not take the inherited %s for a factory',
    (name) => {
      expect(() => factoriesForMappings([esmConfig({ consumerName: name })], {}, {})).toThrow(
        MissingConsumerFactoryError,
      );
    },
  );
});

describe('localQueueNames', () => {
  /** An app holding only these SQS queues; localQueueNames reads nothing else. */
  function appWithQueues(
    queues: Array<{ logicalId: string; path?: string; fifo?: boolean }>,
  ): SynthesizedApp {
    return {
      resourcesOfType: (type: string) =>
        type !== 'AWS::SQS::Queue'
          ? []
          : queues.map(({ logicalId, path, fifo }) => ({
              stackName: 'Pipelines',
              logicalId,
              resource: {
                Type: type,
                Properties: fifo === true ? { FifoQueue: true } : {},
                Metadata: path === undefined ? {} : { 'aws:cdk:path': path },
              },
            })),
    } as unknown as SynthesizedApp;
  }

  it('names an on-failure destination after its consumer, and other queues after their construct path', () => {
    // Prepare
    const app = appWithQueues([
      { logicalId: 'ProbeDlq1234', path: 'Pipelines/Probe/DeadLetterQueue/Resource' },
      { logicalId: 'Warehouse5678', path: 'Pipelines/OrderFanout/WarehouseQueue/Resource', fifo: true },
      { logicalId: 'NoPath9999' },
    ]);
    const configs = [
      esmConfig({ onFailureDestination: { stackName: 'Pipelines', logicalId: 'ProbeDlq1234' } }),
    ];

    // Act
    const names = localQueueNames(app, configs);

    // Assess
    expect(Object.fromEntries(names)).toEqual({
      'Pipelines/ProbeDlq1234': `${PROBE}-dlq`,
      'Pipelines/Warehouse5678': 'order-fanout-warehouse-queue.fifo',
      'Pipelines/NoPath9999': 'NoPath9999',
    });
  });

  it('falls back to the logical id when two queues would get one name', () => {
    // Prepare
    const app = appWithQueues([
      { logicalId: 'A1', path: 'Pipelines/Jobs/Resource' },
      { logicalId: 'B2', path: 'Pipelines/Jobs/Resource' },
    ]);

    // Act
    const names = localQueueNames(app, []);

    // Assess
    expect(Object.fromEntries(names)).toEqual({ 'Pipelines/A1': 'jobs', 'Pipelines/B2': 'B2' });
  });
});

/** An app holding only these resources (by type); the template helpers read nothing else. */
function appWith(
  resources: Array<{ type: string; logicalId: string; path?: string; properties?: Record<string, unknown> }>,
): SynthesizedApp {
  return {
    resourcesOfType: (type: string) =>
      resources
        .filter((resource) => resource.type === type)
        .map(({ logicalId, path, properties }) => ({
          stackName: 'Data',
          logicalId,
          resource: {
            Type: type,
            Properties: properties ?? {},
            Metadata: path === undefined ? {} : { 'aws:cdk:path': path },
          },
        })),
  } as unknown as SynthesizedApp;
}

describe('localTopicNames', () => {
  it('names a topic by the shortest tail of its path that is free and not just "topic"', () => {
    // Prepare
    const app = appWith([
      { type: 'AWS::SNS::Topic', logicalId: 'Events1', path: 'Data/Messaging/OrderEvents/Resource' },
      { type: 'AWS::SNS::Topic', logicalId: 'Ops2', path: 'Pipelines/OpsAlerts/Topic/Resource' },
      { type: 'AWS::SNS::Topic', logicalId: 'Other3', path: 'Pipelines/Other/OrderEvents/Resource' },
      { type: 'AWS::SNS::Topic', logicalId: 'Named4', properties: { TopicName: 'given.fifo' } },
    ]);

    // Act
    const names = localTopicNames(app);

    // Assess
    expect(Object.fromEntries(names)).toEqual({
      'Data/Events1': 'order-events',
      'Data/Ops2': 'ops-alerts-topic',
      'Data/Other3': 'other-order-events',
      'Data/Named4': 'given.fifo',
    });
  });
});

describe('localEmailTemplates', () => {
  it('names each template and keeps its parts for rendering', () => {
    // Prepare
    const app = appWith([
      {
        type: 'AWS::SES::Template',
        logicalId: 'Placed1',
        path: 'Pipelines/OrderFanout/PlacedEmailTemplate',
        properties: { Template: { SubjectPart: 'Hi {{orderId}}', TextPart: 'Total {{total}}' } },
      },
      {
        type: 'AWS::SES::Template',
        logicalId: 'Named2',
        properties: { Template: { TemplateName: 'given', HtmlPart: '<p/>' } },
      },
    ]);

    // Act
    const templates = localEmailTemplates(app);

    // Assess
    expect(Object.fromEntries(templates)).toEqual({
      'Data/Placed1': { name: 'placed-email-template', subject: 'Hi {{orderId}}', text: 'Total {{total}}' },
      'Data/Named2': { name: 'given', html: '<p/>' },
    });
  });
});

describe('localTopicSettings', () => {
  it('reads FIFO, content-based deduplication and the throughput scope by local topic name', () => {
    // Prepare
    const app = appWith([
      {
        type: 'AWS::SNS::Topic',
        logicalId: 'Events1',
        properties: {
          FifoTopic: true,
          ContentBasedDeduplication: false,
          FifoThroughputScope: 'MessageGroup',
        },
      },
      { type: 'AWS::SNS::Topic', logicalId: 'Plain2' },
    ]);
    const names = new Map([
      ['Data/Events1', 'events.fifo'],
      ['Data/Plain2', 'plain'],
    ]);

    // Act
    const settings = localTopicSettings(app, names);

    // Assess
    expect(Object.fromEntries(settings)).toEqual({
      'events.fifo': { fifo: true, contentBasedDeduplication: false, deduplicationScope: 'messageGroup' },
      plain: { fifo: false, contentBasedDeduplication: false, deduplicationScope: 'topic' },
    });
  });
});

describe('localQueueSettings', () => {
  it('reads FIFO, content-based deduplication and the deduplication scope by local queue name', () => {
    // Prepare
    const app = appWith([
      {
        type: 'AWS::SQS::Queue',
        logicalId: 'Warehouse1',
        properties: { FifoQueue: true, ContentBasedDeduplication: false, DeduplicationScope: 'messageGroup' },
      },
      { type: 'AWS::SQS::Queue', logicalId: 'Plain2' },
    ]);
    const names = new Map([
      ['Data/Warehouse1', 'warehouse.fifo'],
      ['Data/Plain2', 'plain'],
    ]);

    // Act
    const settings = localQueueSettings(app, names);

    // Assess
    expect(Object.fromEntries(settings)).toEqual({
      'warehouse.fifo': { fifo: true, contentBasedDeduplication: false, deduplicationScope: 'messageGroup' },
      plain: { fifo: false, contentBasedDeduplication: false, deduplicationScope: 'queue' },
    });
  });
});

describe('the initial inventory', () => {
  it('stocks every SKU of the demo traffic by default', () => {
    expect(Object.keys(DEFAULT_INVENTORY)).toEqual([...TRAFFIC_SKUS]);
    expect(TRAFFIC_SKUS[0]).toBe('SKU-0001');
    expect(TRAFFIC_SKUS).toHaveLength(40);
    expect(new Set(Object.values(DEFAULT_INVENTORY))).toEqual(new Set([DEFAULT_STOCK_PER_SKU]));
  });

  it.each([
    [{ '': 1 }, /not a SKU/],
    [{ '#reservation#o-1': 1 }, /not a SKU/],
    [{ 'SKU-1': -1 }, /inventory\.SKU-1 must be an integer >= 0, got -1/],
    [{ 'SKU-1': 1.5 }, /inventory\.SKU-1 must be an integer >= 0/],
  ])('refuses %j', (inventory, message) => {
    expect(() => validateInventory(inventory)).toThrow(InventoryOptionError);
    expect(() => validateInventory(inventory)).toThrow(message);
  });

  it('refuses a bad inventory before starting anything', async () => {
    // Prepare
    const outputDir = mkdtempSync(join(tmpdir(), 'sandbox-system-test-'));
    const lines: string[] = [];

    // Act
    const started = startSandboxSystem({
      outputDir,
      port: 0,
      inventory: { 'SKU-1': -5 },
      log: (l) => lines.push(l),
    });

    // Assess
    await expect(started).rejects.toThrow(InventoryOptionError);
    expect(lines.join('\n')).not.toContain('Starting DynamoDB Local');
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('writes one stock item per SKU, more than one BatchWriteItem holds', async () => {
    // Prepare
    const tables = await createTestTables();
    const inventory = Object.fromEntries(Array.from({ length: 30 }, (_unused, i) => [`SKU-${i}`, i]));

    // Act
    await seedInventory(localDynamoDb().documentClient, tables.Inventory, inventory);

    // Assess
    const items = await scanAll(tables.Inventory);
    expect(Object.fromEntries(items.map((item) => [item.sku, item.available]))).toEqual(inventory);
    await tables.drop();
  });
});

describe('prepareOutputDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-out-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a missing directory', async () => {
    // Act
    await prepareOutputDir(join(dir, 'out'));

    // Assess
    expect(readdirSync(join(dir, 'out'))).toEqual(['.orders-sandbox-output']);
  });

  it('clears what an earlier run wrote', async () => {
    // Prepare
    await prepareOutputDir(dir);
    mkdirSync(join(dir, 'sqs'));
    writeFileSync(join(dir, 'sqs', 'old-dlq.jsonl'), '{}\n');

    // Act
    await prepareOutputDir(dir);

    // Assess
    expect(readdirSync(dir)).toEqual(['.orders-sandbox-output']);
  });

  it('refuses to clear a directory the sandbox did not create', async () => {
    // Prepare
    writeFileSync(join(dir, 'thesis.tex'), 'years of work');

    // Act
    const prepared = prepareOutputDir(dir);

    // Assess
    await expect(prepared).rejects.toThrow(OutputDirError);
    expect(existsSync(join(dir, 'thesis.tex'))).toBe(true);
  });
});

function addProbe(consumerName: string): (app: OrdersStreamApp) => void {
  return (app) => {
    app.stateless.addStreamConsumer('Probe', {
      table: app.stateful.tables.orders,
      entry: DUMMY_CONSUMER_ENTRY,
      consumerName,
    });
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = HANG_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('the search domain of the template', () => {
  const app = {
    resourcesOfType: (type: string) =>
      type === 'AWS::OpenSearchService::Domain'
        ? [
            {
              stackName: 'Data',
              logicalId: 'SearchDomain1',
              resource: { Type: type, Properties: { DomainName: 'orders-dev' } },
            },
            { stackName: 'Data', logicalId: 'OtherDomain', resource: { Type: type, Properties: {} } },
          ]
        : type === 'AWS::Lambda::Function'
          ? [
              {
                stackName: 'P',
                logicalId: 'Api',
                resource: { Type: type, Properties: { Environment: { Variables: {} } } },
              },
              {
                stackName: 'P',
                logicalId: 'Sync',
                resource: {
                  Type: type,
                  Properties: { Environment: { Variables: { SEARCH_INDEX_REPLICAS: '2' } } },
                },
              },
            ]
          : [],
  } as unknown as SynthesizedApp;

  it('names domains by DomainName, else by logical id', () => {
    // Act
    const names = localDomainNames(app);

    // Assess
    expect([...names]).toEqual([
      ['Data/SearchDomain1', 'orders-dev'],
      ['Data/OtherDomain', 'otherdomain'],
    ]);
  });

  it("resolves a domain's endpoint to the local server and its ARN to a local one, nothing else", () => {
    // Prepare
    const resolve = domainAttributeResolver(localDomainNames(app), 'http://127.0.0.1:9200');

    // Act
    const values = [
      resolve({ stackName: 'Data', logicalId: 'SearchDomain1' }, 'DomainEndpoint'),
      resolve({ stackName: 'Data', logicalId: 'SearchDomain1' }, 'Arn'),
      resolve({ stackName: 'Data', logicalId: 'SearchDomain1' }, 'DomainEndpoints'),
      resolve({ stackName: 'Data', logicalId: 'Table' }, 'DomainEndpoint'),
    ];

    // Assess
    expect(values).toEqual([
      { kind: 'endpoint', url: 'http://127.0.0.1:9200' },
      'arn:aws:es:eu-west-1:000000000000:domain/orders-dev',
      undefined,
      undefined,
    ]);
  });

  it("takes the index replicas from the writers' SEARCH_INDEX_REPLICAS, 0 without one", () => {
    // Act
    const replicas = searchIndexReplicas(app);
    const none = searchIndexReplicas({ resourcesOfType: () => [] } as unknown as SynthesizedApp);

    // Assess
    expect([replicas, none]).toEqual([2, 0]);
  });
});

describe('startSandboxSystem', () => {
  it('fails before starting anything when a mapping has no consumer factory, naming it', async () => {
    // Prepare
    const outputDir = mkdtempSync(join(tmpdir(), 'sandbox-system-test-'));
    const lines: string[] = [];

    // Act
    const started = startSandboxSystem({
      outputDir,
      port: 0,
      extendApp: addProbe('orphan-probe'),
      log: (l) => lines.push(l),
    });

    // Assess
    await expect(started).rejects.toThrow(MissingConsumerFactoryError);
    await expect(started).rejects.toThrow(/"orphan-probe"/);
    expect(lines.join('\n')).not.toContain('Starting DynamoDB Local');
    rmSync(outputDir, { recursive: true, force: true });
  });

  describe('with a probe consumer on the Orders stream', () => {
    let outputDir: string;
    let system: SandboxSystem;
    const seen: ChangeRecord[] = [];
    const logLines: string[] = [];

    const probeFactory: ConsumerFactory = (env, adapters) =>
      createStreamHandler({
        consumerName: env.CONSUMER_NAME!,
        deadLetterQueue: adapters.deadLetterQueue(env.DEAD_LETTER_QUEUE_URL!),
        logger: adapters.logger(env.CONSUMER_NAME!),
        metrics: adapters.metrics(env.CONSUMER_NAME!),
        handleRecord: async (record) => {
          seen.push(record);
          const customerId = record.newImage?.customerId;
          if (typeof customerId === 'string' && customerId.startsWith('reject-')) {
            throw new PermanentError('rejected by the probe');
          }
        },
      });

    beforeAll(async () => {
      outputDir = mkdtempSync(join(tmpdir(), 'sandbox-system-test-'));
      system = await startSandboxSystem({
        port: 0,
        outputDir,
        extendApp: addProbe(PROBE),
        consumers: { [PROBE]: probeFactory },
        // Stock for the test's orders, so that the fan-out reserves them rather than back-ordering (a write of its
        // own, which the probe would see as a fourth record).
        inventory: { 'SKU-1': 10 },
        pollIntervalMs: 50,
        // The audit log gathers records for 60 s; the test need not wait that long for its last batch.
        maxBatchingWindowMs: 300,
        log: (line) => logLines.push(line),
      });
    });

    afterAll(async () => {
      await system?.stop();
      rmSync(outputDir, { recursive: true, force: true });
    });

    async function postOrder(customerId: string): Promise<{ orderId: string }> {
      const response = await fetch(`${system.apiUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          customerId,
          customerEmail: 'ada@example.com',
          currency: 'EUR',
          lines: [{ sku: 'SKU-1', qty: 1, unitPriceCents: 100 }],
        }),
      });
      expect(response.status).toBe(201);
      return (await response.json()) as { orderId: string };
    }

    it('delivers API writes to the consumer, samples their lag, and dead-letters what it rejects', async () => {
      // Act
      const accepted = await postOrder('c-1');
      const rejected = await postOrder('reject-1');
      const paid = await fetch(`${system.apiUrl}/orders/${accepted.orderId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'PAID' }),
      });
      await until(() => (system.stats()[PROBE]?.recordsProcessed ?? 0) >= 3, 'three processed records');
      const drained = await system.waitUntilDrained({ timeoutMs: HANG_TIMEOUT_MS, quietMs: 200 });

      // Assess: what the consumer saw.
      expect(paid.status).toBe(200);
      expect(drained).toBe(true);
      expect(system.consumers).toEqual([
        'order-fanout',
        'search-sync',
        'audit-log',
        'vote-aggregator',
        PROBE,
      ]);
      expect(system.tables.Orders).toBe('sandbox-Orders');
      expect(seen.map((r) => [r.eventName, r.keys.orderId])).toEqual([
        ['INSERT', accepted.orderId],
        ['INSERT', rejected.orderId],
        ['MODIFY', accepted.orderId],
      ]);
      // Assess: lag and counters.
      const lag = system.lagSamples(PROBE);
      expect(lag).toHaveLength(3);
      expect(lag.every((ms) => Number.isFinite(ms) && ms >= 0)).toBe(true);
      expect(system.stats()[PROBE]).toMatchObject({
        recordsProcessed: 3,
        dlqCount: 1,
        lagSamples: 3,
        lagP50Ms: expect.any(Number),
        lagP99Ms: expect.any(Number),
      });
      expect(system.apiStats().byStatus).toMatchObject({ '201': 2, '200': 1 });
      // Assess: the rejected record is in the consumer's DLQ file.
      expect(system.deadLetterQueues[PROBE]).toBe(`${PROBE}-dlq`);
      const messages = await readQueueMessages(outputDir, `${PROBE}-dlq`);
      expect(messages).toHaveLength(1);
      const letter = messages[0]?.body as FullDeadLetter;
      expect(messages[0]?.source).toBe('dead-letter');
      expect(letter).toMatchObject({
        consumerName: PROBE,
        reason: 'rejected by the probe',
        eventName: 'INSERT',
        keys: { orderId: { S: rejected.orderId } },
      });
      // Assess: the runtime's logs went to the log file, not to stdout.
      const logs = await readJsonLines<{ message: string }>(join(outputDir, 'logs', `${PROBE}.jsonl`));
      expect(logs.map((l) => l.message)).toContain(
        'Stream record failed permanently and was sent to the dead-letter queue',
      );
    });

    it('runs the order fan-out of the template on its stand-ins, wired from its environment', async () => {
      // Prepare: the records of the test above have drained through every consumer.
      const env = system.environments['order-fanout']!;
      const topic = topicNameFromArn(env.ORDER_EVENTS_TOPIC_ARN!)!;

      // Act
      const events = await readTopicMessages(outputDir, topic);
      const emails = await readOutbox(outputDir);
      const warehouse = await readQueueMessages(outputDir, queueNameFromUrl(env.WAREHOUSE_QUEUE_URL!));

      // Assess: the topic, queue and templates resolved to local ones.
      // The FIFO topic's name is the one CDK generates into the template (`<stack>-Messaging-OrderEvents-<hash>.fifo`).
      expect(env.ORDER_EVENTS_TOPIC_ARN).toMatch(
        /^arn:aws:sns:eu-west-1:000000000000:OrdersStreams[A-Za-z0-9]*-Messaging-OrderEvents-[0-9A-F]{8}\.fifo$/,
      );
      expect(env.WAREHOUSE_QUEUE_URL).toMatch(/^https:\/\/sqs\.sandbox\.localhost\/000000000000\/.+\.fifo$/);
      expect(env.EMAIL_TEMPLATE_PLACED).toBe('placed-email-template');
      // Assess: two orders placed and reserved, one paid.
      expect(events.map((e) => (e.message as { type: string }).type).sort()).toEqual([
        'OrderPlaced',
        'OrderPlaced',
        'OrderStatusChanged',
      ]);
      expect(emails).toHaveLength(2);
      expect(emails[0]).toMatchObject({ template: 'placed-email-template', to: ['ada@example.com'] });
      expect(emails[0]?.subject).toMatch(/^Thank you for your order: order [0-9a-f-]{36}$/);
      expect(warehouse.map((m) => (m.body as { type: string }).type)).toEqual(['OrderPlaced', 'OrderPlaced']);
      expect(system.inventory).toEqual({ 'SKU-1': 10 });
      expect(system.stats()['order-fanout']).toMatchObject({ recordsProcessed: 3, dlqCount: 0 });
      const services = system.serviceStats();
      expect(services.sns.publishedByTopic).toEqual({ [topic]: 3 });
      expect(events.every((e) => e.messageGroupId === (e.message as { orderId: string }).orderId)).toBe(true);
      expect(services.sqs.enqueued).toBe(2);
      expect(services.dynamodb['order-fanout']?.total).toBeGreaterThan(0);
    });

    it('runs the vote aggregator of the template: the API serves exact results after changes and a retraction', async () => {
      // Prepare
      const vote = (voterId: string, option: string): Promise<Response> =>
        fetch(`${system.apiUrl}/polls/poll-sys/votes/${voterId}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ option }),
        });

      // Act: three votes, one changed, one retracted.
      for (const [voter, option] of [
        ['v-1', 'red'],
        ['v-2', 'red'],
        ['v-3', 'blue'],
        ['v-2', 'blue'],
      ] as const) {
        expect((await vote(voter, option)).ok).toBe(true);
      }
      expect((await fetch(`${system.apiUrl}/polls/poll-sys/votes/v-3`, { method: 'DELETE' })).status).toBe(
        204,
      );
      expect(await system.waitUntilDrained({ timeoutMs: HANG_TIMEOUT_MS, quietMs: 200 })).toBe(true);
      const results = await fetch(`${system.apiUrl}/polls/poll-sys/results`);

      // Assess: red 1 (v-1), blue 1 (v-2); v-3's vote is retracted.
      expect(results.status).toBe(200);
      expect(await results.json()).toEqual({
        pollId: 'poll-sys',
        counts: { red: 1, blue: 1 },
        total: 2,
        asOf: expect.any(String),
      });
    });

    it('runs the audit log of the template on the S3 stand-in: every change in a gzipped object of the audit bucket', async () => {
      // Prepare: the records of the first test have drained through every consumer.
      const env = system.environments['audit-log']!;
      const bucket = env.AUDIT_BUCKET_NAME!;
      const s3 = new LocalS3Client({ outputDir, buckets: [bucket] });

      // Act
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listed.Contents ?? []).map((object) => object.Key!);
      const lines = (
        await Promise.all(
          keys.map(async (key) => {
            const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            const text = gunzipSync(await object.Body!.transformToByteArray()).toString('utf8');
            return text
              .trimEnd()
              .split('\n')
              .map((line) => JSON.parse(line) as { orderId: string; eventName: string });
          }),
        )
      ).flat();

      // Assess: the bucket Ref resolved to the audit bucket's local name; the objects are where the key says.
      expect(bucket).toBe('audit-bucket');
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key).toMatch(/^table=sandbox-Orders\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/\d+-\d+\.jsonl\.gz$/);
      }
      // Every change of the test's orders, the fan-out's own writes (reservation) included, in some object.
      expect(
        lines
          .filter((line) => line.eventName === 'INSERT')
          .map((line) => line.orderId)
          .sort(),
      ).toHaveLength(2);
      expect(system.serviceStats().s3).toMatchObject({ overwrites: 0, objectsCreated: keys.length });
    });

    it('runs the search sync of the template against the local OpenSearch, and the API searches it', async () => {
      // Prepare: the records of the first test have drained through every consumer.
      const env = system.environments['search-sync']!;
      const { Items: orders = [] } = await system.documentClient.send(
        new ScanCommand({ TableName: system.tables.Orders!, ConsistentRead: true }),
      );

      // Act
      const documents = system.search.documents('orders');
      const response = await fetch(`${system.apiUrl}/orders/search?status=PAID`);
      const page = (await response.json()) as {
        items: Array<{ orderId: string; status: string; version: number }>;
      };

      // Assess: the template's endpoint is the local server; every order is indexed at its version.
      expect(env.OPENSEARCH_ENDPOINT).toBe(system.search.url);
      expect(system.search.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(logLines.join('\n')).toContain(
        `Local OpenSearch on ${system.search.url}: index "orders" created`,
      );
      expect(orders).toHaveLength(2);
      for (const item of orders) {
        expect(documents.get(String(item.orderId))).toMatchObject({
          version: item.version,
          source: { orderId: item.orderId, status: item.status, deleted: false },
        });
      }
      expect(response.status).toBe(200);
      expect(page.items.map((item) => [item.status, item.version])).toEqual([['PAID', 2]]);
      expect(system.stats()['search-sync']).toMatchObject({ recordsProcessed: 3, dlqCount: 0 });
      expect(system.serviceStats().opensearch.byRoute['POST /{index}/_bulk']).toBeGreaterThan(0);
    });

    it('stops cleanly: the API and DynamoDB Local are gone, the outputs stay', async () => {
      // Act
      await system.stop();
      await system.stop();

      // Assess
      await expect(fetch(`${system.apiUrl}/orders/x`)).rejects.toThrow();
      const client = new DynamoDBClient({ ...localClientConfig(system.dynamodbEndpoint), maxAttempts: 1 });
      await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
      client.destroy();
      expect(existsSync(join(outputDir, 'sqs', `${PROBE}-dlq.jsonl`))).toBe(true);
      expect(logLines.join('\n')).toContain(
        `Running 5 event source mapping(s): order-fanout, search-sync, audit-log, vote-aggregator, ${PROBE}`,
      );
      await expect(fetch(`${system.search.url}/`)).rejects.toThrow();
    });
  });
});
