import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../lambdas/shared/errors.js';
import type { ChangeRecord } from '../../lambdas/shared/stream/change-record.js';
import type { FullDeadLetter } from '../../lambdas/shared/stream/dead-letter.js';
import { createStreamHandler } from '../../lambdas/shared/stream/stream-handler.js';
import type { OrdersStreamApp } from '../../lib/app.js';
import { InvalidPropsError } from '../../lib/constructs/props-validation.js';
import { readJsonLines } from '../../sandbox/adapters/json-lines-file.js';
import { LocalS3Client } from '../../sandbox/adapters/local-s3.js';
import { readOutbox } from '../../sandbox/adapters/local-ses.js';
import { readTopicMessages, topicNameFromArn } from '../../sandbox/adapters/local-sns.js';
import { queueNameFromUrl, readQueueMessages } from '../../sandbox/adapters/local-sqs.js';
import type { ConsumerFactory } from '../../sandbox/consumer-factory.js';
import { factoriesForMappings, MissingConsumerFactoryError } from '../../sandbox/consumers.js';
import { localClientConfig } from '../../sandbox/dynamodb-local/server.js';
import type { EsmConfig } from '../../sandbox/esm/types.js';
import { InventoryOptionError } from '../../sandbox/inventory-seed.js';
import { type SandboxSystem, startSandboxSystem } from '../../sandbox/system.js';
import { DUMMY_CONSUMER_ENTRY } from '../fixtures/cdk-app.js';
import { testEsmConfig } from '../support/esm-configs.js';
import { HANG_TIMEOUT_MS } from '../support/hang.js';

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

  it('fails before starting anything when two mappings of one stack belong to one consumer name', async () => {
    // Prepare
    const outputDir = mkdtempSync(join(tmpdir(), 'sandbox-system-test-'));
    const lines: string[] = [];
    const probeFactory: ConsumerFactory = () => async () => undefined;

    // Act
    const started = startSandboxSystem({
      outputDir,
      port: 0,
      extendApp: (app) => {
        addProbe('twin-probe')(app);
        app.stateless.addStreamConsumer('ProbeTwin', {
          table: app.stateful.tables.votes,
          entry: DUMMY_CONSUMER_ENTRY,
          consumerName: 'twin-probe',
        });
      },
      consumers: { 'twin-probe': probeFactory },
      log: (l) => lines.push(l),
    });

    // Assess: StreamConsumer refuses the twin at synth (its alarm names would clash), before the sandbox's own
    // check (assertDistinctConsumerNames, for mappings of different stacks) and before DynamoDB Local starts.
    await expect(started).rejects.toThrow(InvalidPropsError);
    await expect(started).rejects.toThrow('"twin-probe" is taken by another consumer');
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
