import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbStreamSource,
  latestStreamArn,
  localStreamsClient,
} from '../../../sandbox/esm/dynamodb-stream-source.js';
import { MemoryStreamSource } from '../../../sandbox/esm/memory-stream-source.js';
import {
  assertDistinctConsumerNames,
  DuplicateConsumerNameError,
  EsmRunner,
  type EsmRunnerErrorContext,
  type EsmRunnerMapping,
  type EsmRunnerOptions,
  EsmRunnerStateError,
  ShardProcessorFailedError,
} from '../../../sandbox/esm/runner.js';
import { ShardProcessorConfigError } from '../../../sandbox/esm/shard-processor.js';
import type {
  EsmConfig,
  OnFailureMessage,
  StreamFunction,
  StreamSource,
} from '../../../sandbox/esm/types.js';
import { localDynamoDb } from '../../support/dynamodb.js';
import { testEsmConfig } from '../../support/esm-configs.js';
import { HANG_TIMEOUT_MS } from '../../support/hang.js';
import { createStreamRecordFactory, streamArn } from '../../support/stream-records.js';

const STREAM_ARN = streamArn('Orders');
/** Only a hang gets near the bound: a passing run takes milliseconds to a few seconds, more on a busy machine. */
const DRAIN = { timeoutMs: HANG_TIMEOUT_MS, quietMs: 200 } as const;

function esmConfig(overrides: Partial<EsmConfig> = {}): EsmConfig {
  return testEsmConfig({
    stackName: 'Pipelines',
    logicalId: 'Mapping',
    functionStackName: 'Pipelines',
    functionLogicalId: 'Function',
    consumerName: 'test-consumer',
    maximumRetryAttempts: 3,
    bisectBatchOnFunctionError: true,
    ...overrides,
  });
}

/** A function that records every batch it is given and answers with `respond` (success by default). */
class RecordingFunction {
  public readonly batches: DynamoDBRecord[][] = [];
  readonly #respond: (event: DynamoDBStreamEvent, call: number) => Promise<DynamoDBBatchResponse | undefined>;

  public constructor(
    respond: (
      event: DynamoDBStreamEvent,
      call: number,
    ) => Promise<DynamoDBBatchResponse | undefined> = async () => undefined,
  ) {
    this.#respond = respond;
  }

  public readonly fn: StreamFunction = async (event) => {
    this.batches.push(event.Records);
    return this.#respond(event, this.batches.length);
  };

  /** Sequence numbers in delivery order, re-deliveries included. */
  public get delivered(): string[] {
    return this.batches.flat().map((record) => record.dynamodb!.SequenceNumber!);
  }
}

function mapping(
  source: StreamSource,
  fn: StreamFunction,
  overrides: Partial<EsmConfig> = {},
  onFailure: (message: OnFailureMessage) => Promise<void> = async () => undefined,
): EsmRunnerMapping {
  const config = esmConfig(overrides);
  return {
    config,
    streamArn: STREAM_ARN,
    functionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${config.consumerName}`,
    source,
    fn,
    onFailure,
  };
}

const runners: EsmRunner[] = [];

/** A runner with short intervals, stopped after the test whatever happens. */
function runner(options: Partial<EsmRunnerOptions> & Pick<EsmRunnerOptions, 'mappings'>): EsmRunner {
  const created = new EsmRunner({ pollIntervalMs: 10, shardDiscoveryIntervalMs: 10, ...options });
  runners.push(created);
  return created;
}

/** Waits until `condition` holds; fails the test after a bound only a broken runner reaches. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > DRAIN.timeoutMs) {
      throw new Error(`Timed out waiting until ${what}`);
    }
    await sleep(5);
  }
}

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** The source with its listing changed by `list` and every listing counted. */
function observed(
  source: MemoryStreamSource,
  list: (shards: Awaited<ReturnType<StreamSource['listShards']>>) => typeof shards = (shards) => shards,
): StreamSource & { listings: number } {
  const wrapper = {
    listings: 0,
    listShards: async () => {
      wrapper.listings += 1;
      return list(await source.listShards());
    },
    reader: (shardId: string) => source.reader(shardId),
  };
  return wrapper;
}

function sequenceNumbers(records: readonly DynamoDBRecord[]): string[] {
  return records.map((record) => record.dynamodb!.SequenceNumber!);
}

afterEach(async () => {
  await Promise.all(runners.splice(0).map((created) => created.stop()));
});

describe('EsmRunner with an in-memory stream', () => {
  it('processes a child shard only once its parent shard is done', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const parentRecords = [records.insert({ orderId: 'o-1' }), records.insert({ orderId: 'o-2' })];
    const childRecords = [records.modify({ orderId: 'o-1' }, { orderId: 'o-1', status: 'PAID' })];
    const memory = new MemoryStreamSource().addShard('parent').append('parent', ...parentRecords);
    memory.createChildShard('parent', 'child').append('child', ...childRecords);
    const source = observed(memory);
    const parentGate = gate();
    const fn = new RecordingFunction(async (event) => {
      if (
        event.Records.some((r) => r.dynamodb?.SequenceNumber === parentRecords[0]!.dynamodb!.SequenceNumber)
      ) {
        await parentGate.opened;
      }
      return undefined;
    });
    const started = runner({ mappings: [mapping(source, fn.fn)] });

    // Act
    started.start();
    await until(() => fn.batches.length >= 1, 'the parent batch is being processed');
    const listingsWhileBlocked = source.listings;
    // Two more listings began, so at least one whole discovery ran while the parent was still being processed.
    await until(() => source.listings >= listingsWhileBlocked + 2, 'two more discoveries');
    const childReadWhileParentBlocked = memory.reads.some((read) => read.shardId === 'child');
    parentGate.open();
    const drained = await started.waitUntilDrained(DRAIN);

    // Assess
    expect(childReadWhileParentBlocked).toBe(false);
    expect(drained).toBe(true);
    expect(fn.delivered).toEqual(sequenceNumbers([...parentRecords, ...childRecords]));
  });

  it('does not call the streams drained before it read what the last invocation wrote to its own stream', async () => {
    // Prepare: slow reads, and a consumer that, like the fan-out back-ordering an order, writes a change of the table
    // it reads at the end of an invocation that outlasts the quiet period.
    const records = createStreamRecordFactory();
    const first = records.insert({ orderId: 'o-1' });
    const written = records.modify({ orderId: 'o-1' }, { orderId: 'o-1', status: 'BACKORDERED' });
    const memory = new MemoryStreamSource().addShard('shard-1').append('shard-1', first);
    const slow: StreamSource = {
      listShards: () => memory.listShards(),
      reader: (shardId) => {
        const reader = memory.reader(shardId);
        return {
          read: async (...args: Parameters<typeof reader.read>) => {
            const result = await reader.read(...args);
            await sleep(60);
            return result;
          },
        };
      },
    };
    const fn = new RecordingFunction(async (_event, call) => {
      if (call === 1) {
        await sleep(300);
        memory.append('shard-1', written);
      }
      return undefined;
    });
    const started = runner({ mappings: [mapping(slow, fn.fn)] });

    // Act
    started.start();
    const drained = await started.waitUntilDrained({ timeoutMs: HANG_TIMEOUT_MS, quietMs: 100 });

    // Assess
    expect(drained).toBe(true);
    expect(fn.delivered).toEqual(sequenceNumbers([first, written]));
  });

  it('starts a child shard whose parent is no longer listed', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const trimmed = records.insert({ orderId: 'o-1' });
    const childRecord = records.insert({ orderId: 'o-2' });
    const memory = new MemoryStreamSource().addShard('parent').append('parent', trimmed);
    memory.createChildShard('parent', 'child').append('child', childRecord);
    const source = observed(memory, (shards) => shards.filter((shard) => shard.shardId !== 'parent'));
    const fn = new RecordingFunction();
    const started = runner({ mappings: [mapping(source, fn.fn)] });

    // Act
    started.start();
    const drained = await started.waitUntilDrained(DRAIN);

    // Assess
    expect(drained).toBe(true);
    expect(fn.delivered).toEqual(sequenceNumbers([childRecord]));
  });

  it('follows a shard that appears while it runs', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const first = records.insert({ orderId: 'o-1' });
    const later = records.insert({ orderId: 'o-2' });
    const memory = new MemoryStreamSource().addShard('shard-1').append('shard-1', first);
    const fn = new RecordingFunction();
    const started = runner({ mappings: [mapping(memory, fn.fn)] });
    started.start();
    await until(() => fn.batches.length === 1, 'the first record is delivered');

    // Act
    memory.createChildShard('shard-1', 'shard-2').append('shard-2', later);
    await until(() => fn.batches.length === 2, 'the new shard is processed');
    const drained = await started.waitUntilDrained(DRAIN);

    // Assess
    expect(drained).toBe(true);
    expect(fn.delivered).toEqual(sequenceNumbers([first, later]));
  });

  it('gives each mapping of a shared source every record, and sums its counters over shards by consumer', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const shardA = [records.insert({ orderId: 'o-1' }), records.insert({ orderId: 'o-2' })];
    const shardB = [records.insert({ orderId: 'o-3' })];
    const memory = new MemoryStreamSource()
      .addShard('a')
      .append('a', ...shardA)
      .close('a')
      .addShard('b')
      .append('b', ...shardB)
      .close('b');
    const plain = new RecordingFunction();
    const filtered = new RecordingFunction();
    const started = runner({
      mappings: [
        mapping(memory, plain.fn, { consumerName: 'plain-consumer' }),
        mapping(memory, filtered.fn, {
          consumerName: 'filtered-consumer',
          filterPatterns: [{ dynamodb: { Keys: { orderId: { S: ['o-3'] } } } }],
        }),
      ],
    });

    // Act
    started.start();
    const drained = await started.waitUntilDrained(DRAIN);
    const stats = started.stats();

    // Assess
    expect(drained).toBe(true);
    expect([...plain.delivered].sort()).toEqual(sequenceNumbers([...shardA, ...shardB]).sort());
    expect(filtered.delivered).toEqual(sequenceNumbers(shardB));
    const idle = {
      failedInvocations: 0,
      recordsToOnFailure: 0,
      recordsRedelivered: 0,
      iteratorAgeMs: 0,
      pending: 0,
    };
    expect(stats).toEqual({
      'plain-consumer': {
        consumerName: 'plain-consumer',
        recordsRead: 3,
        recordsFiltered: 0,
        recordsProcessed: 3,
        invocations: 2,
        ...idle,
      },
      'filtered-consumer': {
        consumerName: 'filtered-consumer',
        recordsRead: 1,
        recordsFiltered: 2,
        recordsProcessed: 1,
        invocations: 1,
        ...idle,
      },
    });
  });

  it('reports the iterator age of the oldest pending record by its creation time', async () => {
    // Prepare
    const createdAtSeconds = 1_714_564_800;
    const records = createStreamRecordFactory({ approximateCreationDateTime: createdAtSeconds });
    const memory = new MemoryStreamSource().addShard('s').append('s', records.insert({ orderId: 'o-1' }));
    const blocked = gate();
    const fn = new RecordingFunction(async () => {
      await blocked.opened;
      return undefined;
    });
    const started = runner({
      mappings: [mapping(memory, fn.fn)],
      clock: () => createdAtSeconds * 1000 + 7_000,
    });
    started.start();

    // Act
    await until(() => fn.batches.length === 1, 'the record is being processed');
    const stats = started.stats()['test-consumer'];

    // Assess
    expect(stats).toMatchObject({ pending: 1, iteratorAgeMs: 7_000, recordsProcessed: 0 });
    blocked.open();
  });

  it('re-delivers from the failed record when the function reports a batch item failure', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const batch = [
      records.insert({ orderId: 'o-1' }),
      records.insert({ orderId: 'o-2' }),
      records.insert({ orderId: 'o-3' }),
    ];
    const memory = new MemoryStreamSource()
      .addShard('s')
      .append('s', ...batch)
      .close('s');
    const failing = batch[1]!.dynamodb!.SequenceNumber!;
    const fn = new RecordingFunction(async (_event, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: failing }] } : undefined,
    );
    const started = runner({ mappings: [mapping(memory, fn.fn)] });

    // Act
    started.start();
    const drained = await started.waitUntilDrained(DRAIN);

    // Assess
    expect(drained).toBe(true);
    expect(fn.batches.map(sequenceNumbers)).toEqual([
      sequenceNumbers(batch),
      sequenceNumbers(batch.slice(1)),
    ]);
    expect(started.stats()['test-consumer']).toMatchObject({ recordsProcessed: 3, recordsRedelivered: 2 });
  });

  it('says not drained when a record keeps failing until the timeout', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const memory = new MemoryStreamSource().addShard('s').append('s', records.insert({ orderId: 'o-1' }));
    const fn = new RecordingFunction(async () => {
      throw new Error('always failing');
    });
    const started = runner({
      mappings: [mapping(memory, fn.fn, { maximumRetryAttempts: Number.POSITIVE_INFINITY })],
    });
    started.start();
    await until(() => fn.batches.length >= 2, 'the record is retried');

    // Act
    const drained = await started.waitUntilDrained({ timeoutMs: 200, quietMs: 50 });

    // Assess
    expect(drained).toBe(false);
    expect(started.stats()['test-consumer']?.pending).toBe(1);
  });

  it.each([
    ['from the start', 0],
    ['after a record was read and processed', 1],
  ])(
    'says not drained while the reads of a shard keep failing %s, and drained once they succeed again',
    async (_name, readableBefore) => {
      // Prepare
      const records = createStreamRecordFactory();
      const early = Array.from({ length: readableBefore }, (_, index) =>
        records.insert({ orderId: `early-${index}` }),
      );
      const unreachable = records.insert({ orderId: 'unreachable' });
      const memory = new MemoryStreamSource().addShard('s').append('s', ...early);
      const readFailure = new Error('GetRecords keeps failing');
      let readsFail = false;
      const source: StreamSource = {
        listShards: () => memory.listShards(),
        reader: (shardId) => ({
          read: (after, limit) =>
            readsFail ? Promise.reject(readFailure) : memory.reader(shardId).read(after, limit),
        }),
      };
      const fn = new RecordingFunction();
      const errors: Array<[unknown, EsmRunnerErrorContext]> = [];
      const started = runner({
        mappings: [mapping(source, fn.fn)],
        onError: (error, context) => errors.push([error, context]),
      });
      started.start();
      await until(() => fn.delivered.length === early.length, 'the readable records are processed');
      readsFail = true;
      memory.append('s', unreachable);
      await until(() => errors.length >= 2, 'reads fail');

      // Act
      const drainedWhileFailing = await started.waitUntilDrained({ timeoutMs: 300, quietMs: 50 });
      readsFail = false;
      const drainedAfter = await started.waitUntilDrained(DRAIN);

      // Assess
      expect(drainedWhileFailing).toBe(false);
      expect(drainedAfter).toBe(true);
      expect(fn.delivered).toEqual(sequenceNumbers([...early, unreachable]));
      expect(errors[0]).toEqual([
        readFailure,
        { consumerName: 'test-consumer', shardId: 's', during: 'read' },
      ]);
    },
  );

  it('keeps discovering after a failed listing, and reports it', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const record = records.insert({ orderId: 'o-1' });
    const memory = new MemoryStreamSource().addShard('s').append('s', record);
    const listingError = new Error('listing failed');
    let calls = 0;
    const flaky: StreamSource = {
      listShards: async () => {
        calls += 1;
        if (calls === 1) throw listingError;
        return memory.listShards();
      },
      reader: (shardId) => memory.reader(shardId),
    };
    const errors: Array<[unknown, EsmRunnerErrorContext]> = [];
    const fn = new RecordingFunction();
    const started = runner({
      mappings: [mapping(flaky, fn.fn)],
      onError: (error, context) => errors.push([error, context]),
    });

    // Act
    started.start();
    const drained = await started.waitUntilDrained(DRAIN);

    // Assess
    expect(drained).toBe(true);
    expect(fn.delivered).toEqual(sequenceNumbers([record]));
    expect(errors).toEqual([[listingError, { consumerName: 'test-consumer', during: 'discovery' }]]);
  });

  it('fails the wait when a shard processor stops on an error, and reports it', async () => {
    // Prepare
    const broken: StreamSource = {
      listShards: async () => [{ shardId: 'broken' }],
      reader: () => ({
        read: async () => ({ records: [{ eventID: 'no-sequence-number', dynamodb: {} }], closed: false }),
      }),
    };
    const errors: EsmRunnerErrorContext[] = [];
    const started = runner({
      mappings: [mapping(broken, new RecordingFunction().fn)],
      onError: (_error, context) => errors.push(context),
    });

    // Act
    started.start();
    const waiting = started.waitUntilDrained(DRAIN);

    // Assess
    await expect(waiting).rejects.toThrow(ShardProcessorFailedError);
    expect(errors).toContainEqual({ consumerName: 'test-consumer', shardId: 'broken', during: 'processor' });
  });

  it('stops while an invocation hangs, and leaves it abandoned', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const memory = new MemoryStreamSource().addShard('s').append('s', records.insert({ orderId: 'o-1' }));
    const fn = new RecordingFunction(() => new Promise<never>(() => undefined));
    const started = runner({ mappings: [mapping(memory, fn.fn)] });
    started.start();
    await until(() => fn.batches.length === 1, 'the invocation hangs');

    // Act
    await started.stop();

    // Assess
    expect(started.stats()['test-consumer']).toMatchObject({ pending: 1, recordsProcessed: 0 });
    await expect(started.stop()).resolves.toBeUndefined();
  });

  it('tells its onSettled listener which records of which mapping settled, and how', async () => {
    // Prepare: the second record of the first batch keeps failing and goes to on-failure.
    const records = createStreamRecordFactory();
    const inserted = [records.insert({ orderId: 'o-1' }), records.insert({ orderId: 'o-2' })];
    const memory = new MemoryStreamSource().addShard('shard-1').append('shard-1', ...inserted);
    const failing = inserted[1]!.dynamodb!.SequenceNumber!;
    const fn = new RecordingFunction(async (event) =>
      event.Records.some((record) => record.dynamodb?.SequenceNumber === failing)
        ? { batchItemFailures: [{ itemIdentifier: failing }] }
        : undefined,
    );
    const settled: Array<[string, string, string, string[]]> = [];
    const started = runner({
      mappings: [mapping(memory, fn.fn, { maximumRetryAttempts: 0 })],
      onSettled: ({ consumerName, shardId, outcome, records: batch }) =>
        void settled.push([consumerName, shardId, outcome, sequenceNumbers(batch)]),
    });

    // Act
    started.start();
    const drained = await started.waitUntilDrained(DRAIN);

    // Assess
    expect(drained).toBe(true);
    expect(settled).toEqual([
      ['test-consumer', 'shard-1', 'processed', sequenceNumbers(inserted.slice(0, 1))],
      ['test-consumer', 'shard-1', 'on-failure', sequenceNumbers(inserted.slice(1))],
    ]);
  });

  describe('refuses', () => {
    it('two mappings of one consumer name', () => {
      // Prepare
      const memory = new MemoryStreamSource();
      const fn = new RecordingFunction().fn;

      // Act
      const create = (): EsmRunner => new EsmRunner({ mappings: [mapping(memory, fn), mapping(memory, fn)] });

      // Assess
      expect(create).toThrow(DuplicateConsumerNameError);
    });

    it('two mappings of one consumer name in a list of settings (what the sandbox checks before it starts)', () => {
      // Prepare
      const configs = [esmConfig(), esmConfig({ consumerName: 'other' }), esmConfig()];

      // Act
      const check = (): void => assertDistinctConsumerNames(configs);

      // Assess
      expect(check).toThrow(DuplicateConsumerNameError);
      expect(check).toThrow(/"test-consumer"/);
    });

    it('settings a shard processor cannot run, before any shard is read', () => {
      // Prepare
      const memory = new MemoryStreamSource().addShard('s');
      const fn = new RecordingFunction().fn;

      // Act
      const create = (): EsmRunner => new EsmRunner({ mappings: [mapping(memory, fn, { batchSize: 0 })] });

      // Assess
      expect(create).toThrow(ShardProcessorConfigError);
      expect(memory.reads).toEqual([]);
    });

    it.each([
      [
        'start twice',
        (r: EsmRunner): void => {
          r.start();
          r.start();
        },
      ],
      [
        'start after stop',
        (r: EsmRunner): void => {
          void r.stop();
          r.start();
        },
      ],
    ])('to %s', (_name, act) => {
      // Prepare
      const created = runner({ mappings: [] });

      // Act
      const run = (): void => act(created);

      // Assess
      expect(run).toThrow(EsmRunnerStateError);
    });

    it('to wait for a drain before start', async () => {
      // Prepare
      const created = runner({ mappings: [] });

      // Act
      const waiting = created.waitUntilDrained(DRAIN);

      // Assess
      await expect(waiting).rejects.toThrow(EsmRunnerStateError);
    });
  });
});

describe('EsmRunner against DynamoDB Local', () => {
  let streamsClient: DynamoDBStreamsClient;
  let tableName: string;

  beforeAll(async () => {
    const { client, endpoint } = localDynamoDb();
    streamsClient = localStreamsClient(endpoint);
    tableName = `esm-runner-${randomUUID()}`;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'orderId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
  });

  afterAll(async () => {
    await localDynamoDb().client.send(new DeleteTableCommand({ TableName: tableName }));
    streamsClient.destroy();
  });

  const key = (orderId: string) => ({ orderId: { S: orderId } });
  /** Writes as thunks: one list can hold commands of different types. */
  type Write = () => Promise<unknown>;
  const put =
    (orderId: string): Write =>
    () =>
      localDynamoDb().client.send(
        new PutItemCommand({ TableName: tableName, Item: { ...key(orderId), version: { N: '1' } } }),
      );
  const bump =
    (orderId: string): Write =>
    () =>
      localDynamoDb().client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key(orderId),
          UpdateExpression: 'SET version = version + :one',
          ExpressionAttributeValues: { ':one': { N: '1' } },
        }),
      );
  const remove =
    (orderId: string): Write =>
    () =>
      localDynamoDb().client.send(new DeleteItemCommand({ TableName: tableName, Key: key(orderId) }));

  /** What a record says happened, to compare deliveries with the writes. */
  const change = (record: DynamoDBRecord): string =>
    `${record.eventName} ${record.dynamodb?.Keys?.orderId?.S}`;

  it('runs two mappings on one stream: both see every record in order, a reported failure is re-delivered, stop is clean', async () => {
    // Prepare
    const { client } = localDynamoDb();
    const source = new DynamoDbStreamSource({
      client: streamsClient,
      streamArn: await latestStreamArn(client, tableName),
    });
    const before = [put('o-1'), put('o-2'), bump('o-1')];
    const after = [put('o-3'), remove('o-2'), bump('o-3')];
    for (const write of before) await write();
    const auditor = new RecordingFunction();
    let failedSequenceNumber: string | undefined;
    const flaky = new RecordingFunction(async (event) => {
      // The first delivery of the first MODIFY fails once: that record and those after it in the batch come again.
      const modify = event.Records.find((record) => record.eventName === 'MODIFY');
      if (failedSequenceNumber === undefined && modify !== undefined) {
        failedSequenceNumber = modify.dynamodb!.SequenceNumber!;
        return { batchItemFailures: [{ itemIdentifier: failedSequenceNumber }] };
      }
      return undefined;
    });
    const started = runner({
      mappings: [
        mapping(source, auditor.fn, { consumerName: 'auditor' }),
        mapping(source, flaky.fn, { consumerName: 'flaky' }),
      ],
    });

    // Act
    started.start();
    for (const write of after) await write();
    // Waiting for the six records first keeps the drain check from depending on how fast a loaded machine polls.
    await until(
      () => Object.values(started.stats()).every((stats) => stats.recordsProcessed >= 6),
      'both consumers processed the six records',
    );
    const drained = await started.waitUntilDrained(DRAIN);
    await started.stop();
    await put('o-after-stop')();
    const stream = source.reader((await source.listShards())[0]!.shardId);
    const streamed: DynamoDBRecord[] = [];
    for (
      let read = await stream.read(undefined, 100);
      read.records.length > 0;
      read = await stream.read(streamed.at(-1)?.dynamodb?.SequenceNumber, 100)
    ) {
      streamed.push(...read.records);
    }

    // Assess
    expect(drained).toBe(true);
    const written = ['INSERT o-1', 'INSERT o-2', 'MODIFY o-1', 'INSERT o-3', 'REMOVE o-2', 'MODIFY o-3'];
    expect(streamed.map(change)).toEqual([...written, 'INSERT o-after-stop']);
    const inStream = sequenceNumbers(streamed.slice(0, written.length));
    expect(auditor.delivered).toEqual(inStream);
    expect(flaky.delivered.filter((sequenceNumber) => sequenceNumber === failedSequenceNumber)).toHaveLength(
      2,
    );
    expect([...new Set(flaky.delivered)]).toEqual(inStream);
    const failedCall = flaky.batches.findIndex((batch) =>
      sequenceNumbers(batch).includes(failedSequenceNumber!),
    );
    expect(flaky.batches[failedCall + 1]?.[0]?.dynamodb?.SequenceNumber).toBe(failedSequenceNumber);
    expect(started.stats()).toMatchObject({
      auditor: { recordsProcessed: 6, recordsRedelivered: 0, pending: 0, failedInvocations: 0 },
      flaky: { recordsProcessed: 6, pending: 0, failedInvocations: 1 },
    });
    expect(started.stats().flaky?.recordsRedelivered).toBeGreaterThanOrEqual(1);
  });
});
