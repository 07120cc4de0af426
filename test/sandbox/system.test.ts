import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../../lambdas/shared/errors.js';
import type { ChangeRecord } from '../../lambdas/shared/stream/change-record.js';
import type { FullDeadLetter } from '../../lambdas/shared/stream/dead-letter.js';
import { createStreamHandler } from '../../lambdas/shared/stream/stream-handler.js';
import type { OrdersStreamApp } from '../../lib/app.js';
import { readJsonLines } from '../../sandbox/adapters/json-lines-file.js';
import { readQueueMessages } from '../../sandbox/adapters/local-sqs.js';
import {
  type ConsumerFactory,
  factoriesForMappings,
  MissingConsumerFactoryError,
} from '../../sandbox/consumers.js';
import { localClientConfig } from '../../sandbox/dynamodb-local/server.js';
import type { EsmConfig, StreamFunction } from '../../sandbox/esm/types.js';
import type { SynthesizedApp } from '../../sandbox/synth.js';
import {
  LagRecorder,
  localQueueNames,
  OutputDirError,
  percentile,
  prepareOutputDir,
  type SandboxSystem,
  startSandboxSystem,
  succeededRecords,
  writeTimeMs,
} from '../../sandbox/system.js';
import { DUMMY_CONSUMER_ENTRY } from '../fixtures/cdk-app.js';
import { testEsmConfig } from '../support/esm-configs.js';
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

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

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
        pollIntervalMs: 50,
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

    it('delivers API writes to the consumer, samples their lag, and dead-letters what it rejects', {
      timeout: 120_000,
    }, async () => {
      // Act
      const accepted = await postOrder('c-1');
      const rejected = await postOrder('reject-1');
      const paid = await fetch(`${system.apiUrl}/orders/${accepted.orderId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'PAID' }),
      });
      await until(() => (system.stats()[PROBE]?.recordsProcessed ?? 0) >= 3, 'three processed records');
      const drained = await system.waitUntilDrained({ timeoutMs: 30_000, quietMs: 200 });

      // Assess: what the consumer saw.
      expect(paid.status).toBe(200);
      expect(drained).toBe(true);
      expect(system.consumers).toEqual([PROBE]);
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

    it('stops cleanly: the API and DynamoDB Local are gone, the outputs stay', {
      timeout: 60_000,
    }, async () => {
      // Act
      await system.stop();
      await system.stop();

      // Assess
      await expect(fetch(`${system.apiUrl}/orders/x`)).rejects.toThrow();
      const client = new DynamoDBClient({ ...localClientConfig(system.dynamodbEndpoint), maxAttempts: 1 });
      await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
      client.destroy();
      expect(existsSync(join(outputDir, 'sqs', `${PROBE}-dlq.jsonl`))).toBe(true);
      expect(logLines.join('\n')).toContain(`Running 1 event source mapping(s): ${PROBE}`);
    });
  });
});
