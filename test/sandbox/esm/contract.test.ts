/**
 * The local event source mapping against the behaviour AWS documents for Lambda with DynamoDB streams (developer
 * guide: "Using AWS Lambda with Amazon DynamoDB", "Configuring partial batch response with DynamoDB and Lambda",
 * "Using event filtering with a DynamoDB event source", and the CreateEventSourceMapping parameters). Each test names
 * the rule it checks. The expectations come from the documentation, not from the implementation: where the
 * documentation is silent the test says what the sandbox chose.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStreamSource } from '../../../sandbox/esm/memory-stream-source.js';
import { createShardCounters, laneOf, ShardProcessor } from '../../../sandbox/esm/shard-processor.js';
import type { EsmConfig, OnFailureMessage } from '../../../sandbox/esm/types.js';
import { testEsmConfig } from '../../support/esm-configs.js';
import {
  createStreamRecordFactory,
  DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
  streamArn,
  TEST_ACCOUNT,
  TEST_REGION,
} from '../../support/stream-records.js';

const SHARD_ID = 'shardId-00000001714564800000-0a1b2c3d';
const STREAM_ARN = streamArn('Orders');
const FUNCTION_ARN = `arn:aws:lambda:${TEST_REGION}:${TEST_ACCOUNT}:function:order-fanout`;
/** ApproximateCreationDateTime of the factory's records, in ms: 2024-05-01T12:00:00Z. */
const CREATED_MS = DEFAULT_APPROXIMATE_CREATION_DATE_TIME * 1000;

function esmConfig(overrides: Partial<EsmConfig> = {}): EsmConfig {
  return testEsmConfig(overrides);
}

type FunctionResult = DynamoDBBatchResponse | Record<string, unknown> | null | undefined;

/** What the function does on its nth call (0-based) with this event. */
type Behaviour = (event: DynamoDBStreamEvent, call: number) => Promise<FunctionResult>;

interface Invocation {
  readonly sequenceNumbers: string[];
  readonly context: Context;
}

const succeed: Behaviour = async () => undefined;

const sequenceNumberOf = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? '';
const itemKeyOf = (record: DynamoDBRecord): string => record.dynamodb?.Keys?.orderId?.S ?? '';
const sequenceNumbers = (records: readonly DynamoDBRecord[]): string[] => records.map(sequenceNumberOf);
const failures = (...records: DynamoDBRecord[]): DynamoDBBatchResponse => ({
  batchItemFailures: records.map((record) => ({ itemIdentifier: sequenceNumberOf(record) })),
});

/** One shard of an in-memory stream, a scripted function, and the processor between them. */
function setUp(
  config: Partial<EsmConfig>,
  behaviour: Behaviour,
  options: { realClock?: boolean } = {},
): {
  readonly source: MemoryStreamSource;
  readonly invocations: Invocation[];
  readonly messages: OnFailureMessage[];
  readonly counters: ReturnType<typeof createShardCounters>;
  readonly clock: { now: number };
  append(...records: DynamoDBRecord[]): void;
  run(): Promise<void>;
  closeAndRun(): Promise<void>;
  abort(): void;
} {
  const source = new MemoryStreamSource().addShard(SHARD_ID);
  const invocations: Invocation[] = [];
  const messages: OnFailureMessage[] = [];
  const counters = createShardCounters();
  const clock = { now: CREATED_MS + 1_000 };
  const controller = new AbortController();
  const processor = new ShardProcessor({
    config: esmConfig(config),
    streamArn: STREAM_ARN,
    functionArn: FUNCTION_ARN,
    shardId: SHARD_ID,
    reader: source.reader(SHARD_ID),
    fn: async (event, context) => {
      const call = invocations.length;
      invocations.push({ sequenceNumbers: sequenceNumbers(event.Records), context });
      return (await behaviour(event, call)) as DynamoDBBatchResponse | undefined;
    },
    onFailure: async (message) => {
      messages.push(message);
    },
    counters,
    pollIntervalMs: options.realClock === true ? 250 : 5,
    ...(options.realClock === true ? {} : { clock: () => clock.now }),
    retryBackoffMs: () => 1,
  });
  const run = (): Promise<void> => processor.run(controller.signal);
  return {
    source,
    invocations,
    messages,
    counters,
    clock,
    append: (...records) => {
      source.append(SHARD_ID, ...records);
    },
    run,
    closeAndRun: () => {
      source.close(SHARD_ID);
      return run();
    },
    abort: () => controller.abort(),
  };
}

/** Orders `order-1`... with one record each, numbered in stream order. */
function orderInserts(count: number, factory = createStreamRecordFactory()): DynamoDBRecord[] {
  return Array.from({ length: count }, (_, index) =>
    factory.insert({ orderId: `order-${index + 1}`, status: 'PLACED' }),
  );
}

describe('Local event source mapping: the documented Lambda behaviour for DynamoDB streams', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('batching', () => {
    it('BatchSize: "the maximum number of records in each batch" - no invocation carries more', async () => {
      // Prepare
      const records = orderInserts(25);
      const mapping = setUp({ batchSize: 10 }, succeed);
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers(records.slice(0, 10)),
        sequenceNumbers(records.slice(10, 20)),
        sequenceNumbers(records.slice(20)),
      ]);
    });

    it('MaximumBatchingWindowInSeconds 0 (the default): records are sent as soon as they are read, without waiting for a full batch', async () => {
      // Prepare
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const records = orderInserts(3);
      const mapping = setUp({ batchSize: 10, maximumBatchingWindowMs: 0 }, succeed, { realClock: true });
      mapping.append(...records);

      // Act
      const running = mapping.run();
      await vi.advanceTimersByTimeAsync(1);

      // Assess
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers(records),
      ]);
      mapping.abort();
      await running;
    });

    it('MaximumBatchingWindowInSeconds: records are gathered until the window since the first record has passed', async () => {
      // Prepare
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const records = orderInserts(5);
      const mapping = setUp({ batchSize: 10, maximumBatchingWindowMs: 1_000 }, succeed, { realClock: true });
      mapping.append(...records.slice(0, 2));

      // Act
      const running = mapping.run();
      await vi.advanceTimersByTimeAsync(300);
      mapping.append(...records.slice(2));
      await vi.advanceTimersByTimeAsync(600);
      const invokedWithinWindow = mapping.invocations.length;
      await vi.advanceTimersByTimeAsync(200);

      // Assess
      expect(invokedWithinWindow).toBe(0);
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers(records),
      ]);
      mapping.abort();
      await running;
    });

    it('MaximumBatchingWindowInSeconds: a full batch is sent at once, before the window ends', async () => {
      // Prepare
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const records = orderInserts(3);
      const mapping = setUp({ batchSize: 3, maximumBatchingWindowMs: 60_000 }, succeed, { realClock: true });
      mapping.append(...records);

      // Act
      const running = mapping.run();
      await vi.advanceTimersByTimeAsync(1);

      // Assess
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers(records),
      ]);
      mapping.abort();
      await running;
    });
  });

  it('FilterCriteria: a record that matches none of the filters is discarded and never sent to the function', async () => {
    // Prepare
    const factory = createStreamRecordFactory();
    const placed = factory.insert({ orderId: 'order-1', status: 'PLACED' });
    const paid = factory.modify(
      { orderId: 'order-1', status: 'PLACED' },
      { orderId: 'order-1', status: 'PAID' },
    );
    const otherPlaced = factory.insert({ orderId: 'order-2', status: 'PLACED' });
    const removed = factory.remove({ orderId: 'order-2', status: 'PLACED' });
    const mapping = setUp({ filterPatterns: [{ eventName: ['INSERT'] }] }, succeed);
    mapping.append(placed, paid, otherPlaced, removed);

    // Act
    await mapping.closeAndRun();

    // Assess
    expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
      sequenceNumbers([placed, otherPlaced]),
    ]);
    expect(mapping.counters).toMatchObject({ recordsFiltered: 2, recordsRead: 2, recordsProcessed: 2 });
  });

  describe('partial batch response (ReportBatchItemFailures)', () => {
    it('"Lambda uses the record with the lowest sequence number as the checkpoint" and retries every record from it, later successes included', async () => {
      // Prepare
      const records = orderInserts(6);
      const [, second, , fourth] = records;
      const mapping = setUp({ batchSize: 6 }, async (_event, call) =>
        call === 0 ? failures(fourth!, second!) : undefined,
      );
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers(records),
        sequenceNumbers(records.slice(1)),
      ]);
      expect(mapping.messages).toEqual([]);
      expect(mapping.counters).toMatchObject({ recordsProcessed: 6, recordsRedelivered: 5 });
    });

    it.each<[string, unknown]>([
      ['an empty string itemIdentifier', ''],
      ['a null itemIdentifier', null],
      ['an itemIdentifier that is not in the batch', '999999999999999999999'],
      ['an eventID instead of the sequence number', 'eventID'],
      ['a numeric itemIdentifier', 42],
    ])(
      '%s is a complete failure: the whole batch is retried from its first record',
      async (_name, identifier) => {
        // Prepare
        const records = orderInserts(4);
        const [, , third] = records;
        const badIdentifier = identifier === 'eventID' ? third!.eventID : identifier;
        const mapping = setUp({ batchSize: 4 }, async (_event, call) =>
          call === 0
            ? {
                batchItemFailures: [
                  { itemIdentifier: sequenceNumberOf(third!) },
                  { itemIdentifier: badIdentifier },
                ],
              }
            : undefined,
        );
        mapping.append(...records);

        // Act
        await mapping.closeAndRun();

        // Assess
        expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
          sequenceNumbers(records),
          sequenceNumbers(records),
        ]);
        expect(mapping.counters).toMatchObject({ failedInvocations: 1, recordsProcessed: 4 });
      },
    );

    it.each<[string, FunctionResult]>([
      ['an empty batchItemFailures list', { batchItemFailures: [] }],
      ['a null batchItemFailures list', { batchItemFailures: null }],
      ['an empty response', {}],
      ['a null response', null],
      ['no response', undefined],
    ])('%s is a complete success', async (_name, response) => {
      // Prepare
      const records = orderInserts(3);
      const mapping = setUp({}, async () => response);
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.invocations).toHaveLength(1);
      expect(mapping.counters).toMatchObject({ recordsProcessed: 3, failedInvocations: 0 });
    });

    it('without ReportBatchItemFailures on the mapping, Lambda does not process the partial response', async () => {
      // Prepare
      const records = orderInserts(3);
      const mapping = setUp({ reportBatchItemFailures: false }, async () => failures(records[0]!));
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.invocations).toHaveLength(1);
      expect(mapping.counters).toMatchObject({ recordsProcessed: 3, failedInvocations: 0 });
    });
  });

  describe('whole-batch failures', () => {
    it('a function error fails the whole batch, which is retried whole', async () => {
      // Prepare
      const records = orderInserts(3);
      const mapping = setUp({}, async (_event, call) => {
        if (call === 0) throw new Error('sink unavailable');
        return undefined;
      });
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers(records),
        sequenceNumbers(records),
      ]);
      expect(mapping.counters).toMatchObject({
        failedInvocations: 1,
        recordsProcessed: 3,
        recordsRedelivered: 3,
      });
    });

    it('a timeout fails the whole batch: it is retried whole and the late result is ignored', async () => {
      // Prepare
      const records = orderInserts(3);
      let answerFirstCall: (response: DynamoDBBatchResponse) => void = () => undefined;
      const firstCallAnswer = new Promise<DynamoDBBatchResponse>((resolve) => {
        answerFirstCall = resolve;
      });
      const mapping = setUp({ functionTimeoutMs: 50 }, async (_event, call) => {
        if (call === 0) return firstCallAnswer;
        // The retry only starts once the first call has timed out; its late answer would re-deliver records[1..].
        answerFirstCall(failures(records[1]!));
        return undefined;
      });
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();
      await delay(10);

      // Assess
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers(records),
        sequenceNumbers(records),
      ]);
      expect(mapping.counters).toMatchObject({ failedInvocations: 1, recordsProcessed: 3 });
    });
  });

  describe('BisectBatchOnFunctionError', () => {
    it('splits a failed batch in two and retries the halves, first half first, isolating a poison record; splitting does not count as a retry', async () => {
      // Prepare
      const records = orderInserts(8);
      const poison = sequenceNumberOf(records[5]!);
      const mapping = setUp(
        { batchSize: 8, bisectBatchOnFunctionError: true, maximumRetryAttempts: 0 },
        async (event) => {
          if (sequenceNumbers(event.Records).includes(poison)) throw new Error('poison record');
          return undefined;
        },
      );
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      const span = (from: number, to: number): string[] => sequenceNumbers(records.slice(from, to));
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        span(0, 8),
        span(0, 4),
        span(4, 8),
        span(4, 6),
        span(4, 5),
        span(5, 6),
        span(6, 8),
      ]);
      expect(mapping.messages.map((message) => message.DDBStreamBatchInfo)).toEqual([
        expect.objectContaining({ startSequenceNumber: poison, endSequenceNumber: poison, batchSize: 1 }),
      ]);
      expect(mapping.counters).toMatchObject({ recordsProcessed: 7, recordsToOnFailure: 1 });
    });

    it('with a partial batch response, the batch is "bisected at the returned sequence number" and only the remaining records are retried', async () => {
      // Prepare
      const records = orderInserts(6);
      const mapping = setUp({ batchSize: 6, bisectBatchOnFunctionError: true }, async (_event, call) =>
        call === 0 ? failures(records[2]!) : undefined,
      );
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers(records),
        sequenceNumbers(records.slice(2)),
      ]);
    });
  });

  describe('discarding records (on-failure destination)', () => {
    it('MaximumRetryAttempts: after the last retry the batch is discarded, the on-failure destination gets the documented invocation record, and the shard moves on', async () => {
      // Prepare
      const factory = createStreamRecordFactory();
      const failing = [0, 1, 2].map((second) =>
        factory.insert(
          { orderId: `order-${second}`, status: 'PLACED' },
          { approximateCreationDateTime: DEFAULT_APPROXIMATE_CREATION_DATE_TIME + second },
        ),
      );
      const next = factory.insert({ orderId: 'order-9', status: 'PLACED' });
      const mapping = setUp({ batchSize: 3, maximumRetryAttempts: 2 }, async (event) => {
        if (sequenceNumbers(event.Records).includes(sequenceNumberOf(failing[0]!)))
          throw new Error('sink down');
        return undefined;
      });
      mapping.clock.now = CREATED_MS + 10_000;
      mapping.append(...failing, next);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers(failing),
        sequenceNumbers(failing),
        sequenceNumbers(failing),
        sequenceNumbers([next]),
      ]);
      expect(mapping.messages).toEqual([
        {
          requestContext: {
            requestId: mapping.invocations[2]!.context.awsRequestId,
            functionArn: FUNCTION_ARN,
            condition: 'RetryAttemptsExhausted',
            approximateInvokeCount: 3,
          },
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          version: '1.0',
          timestamp: '2024-05-01T12:00:10.000Z',
          DDBStreamBatchInfo: {
            shardId: SHARD_ID,
            startSequenceNumber: sequenceNumberOf(failing[0]!),
            endSequenceNumber: sequenceNumberOf(failing[2]!),
            approximateArrivalOfFirstRecord: '2024-05-01T12:00:00Z',
            approximateArrivalOfLastRecord: '2024-05-01T12:00:02Z',
            batchSize: 3,
            streamArn: STREAM_ARN,
          },
        },
      ]);
      expect(mapping.counters).toMatchObject({ recordsToOnFailure: 3, recordsProcessed: 1, pending: 0 });
    });

    it('retries belong to the head of the batch (sandbox choice): a partial response that moves the checkpoint spends none, a record failing at the head exhausts them and goes to on-failure', async () => {
      // Prepare: records 1, 2 and 3 each fail once in turn, moving the checkpoint three times, more than the two
      // retries; record 4 fails every time from then on.
      const factory = createStreamRecordFactory();
      const records = [0, 1, 2, 3, 4, 5].map((second) =>
        factory.insert(
          { orderId: `order-${second}`, status: 'PLACED' },
          { approximateCreationDateTime: DEFAULT_APPROXIMATE_CREATION_DATE_TIME + second },
        ),
      );
      const [, first, second, third, poison, last] = records;
      const reported = [first!, second!, third!];
      const mapping = setUp(
        { batchSize: 6, maximumRetryAttempts: 2, bisectBatchOnFunctionError: true },
        async (_event, call) => failures(reported[call] ?? poison!),
      );
      mapping.clock.now = CREATED_MS + 10_000;
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      const from = (index: number): string[] => sequenceNumbers(records.slice(index));
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        from(0),
        from(1),
        from(2),
        from(3),
        // The poison record at the head: the first invocation, then the two retries.
        from(4),
        from(4),
        from(4),
      ]);
      expect(mapping.messages).toEqual([
        {
          requestContext: {
            requestId: mapping.invocations[6]!.context.awsRequestId,
            functionArn: FUNCTION_ARN,
            condition: 'RetryAttemptsExhausted',
            // Every invocation carried the poison record.
            approximateInvokeCount: 7,
          },
          responseContext: { statusCode: 200, executedVersion: '$LATEST' },
          version: '1.0',
          timestamp: '2024-05-01T12:00:10.000Z',
          DDBStreamBatchInfo: {
            shardId: SHARD_ID,
            startSequenceNumber: sequenceNumberOf(poison!),
            endSequenceNumber: sequenceNumberOf(last!),
            approximateArrivalOfFirstRecord: '2024-05-01T12:00:04Z',
            approximateArrivalOfLastRecord: '2024-05-01T12:00:05Z',
            batchSize: 2,
            streamArn: STREAM_ARN,
          },
        },
      ]);
      expect(mapping.counters).toMatchObject({ recordsProcessed: 4, recordsToOnFailure: 2, pending: 0 });
    });

    it('MaximumRecordAgeInSeconds: records already older than the maximum age are discarded to on-failure without invoking the function', async () => {
      // Prepare
      const factory = createStreamRecordFactory();
      const stale = orderInserts(2, factory);
      const fresh = factory.insert(
        { orderId: 'order-fresh', status: 'PLACED' },
        { approximateCreationDateTime: DEFAULT_APPROXIMATE_CREATION_DATE_TIME + 120 },
      );
      const mapping = setUp({ maximumRecordAgeMs: 60_000 }, succeed);
      mapping.clock.now = CREATED_MS + 130_000;
      mapping.append(...stale, fresh);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.invocations.map((invocation) => invocation.sequenceNumbers)).toEqual([
        sequenceNumbers([fresh]),
      ]);
      expect(mapping.messages).toEqual([
        expect.objectContaining({
          requestContext: expect.objectContaining({
            condition: 'MaximumRecordAgeExceeded',
            approximateInvokeCount: 0,
          }),
          DDBStreamBatchInfo: expect.objectContaining({
            startSequenceNumber: sequenceNumberOf(stale[0]!),
            endSequenceNumber: sequenceNumberOf(stale[1]!),
            batchSize: 2,
          }),
        }),
      ]);
      expect(mapping.counters).toMatchObject({ recordsToOnFailure: 2, recordsProcessed: 1 });
    });

    it('MaximumRecordAgeInSeconds: a failing batch is retried only until its oldest record exceeds the maximum age, even with infinite retries', async () => {
      // Prepare
      const records = orderInserts(2);
      const mapping = setUp(
        { maximumRecordAgeMs: 60_000, maximumRetryAttempts: Number.POSITIVE_INFINITY },
        async () => {
          mapping.clock.now += 40_000;
          throw new Error('sink down');
        },
      );
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.invocations).toHaveLength(2);
      expect(mapping.messages).toEqual([
        expect.objectContaining({
          requestContext: expect.objectContaining({
            condition: 'MaximumRecordAgeExceeded',
            approximateInvokeCount: 2,
          }),
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          DDBStreamBatchInfo: expect.objectContaining({ batchSize: 2 }),
        }),
      ]);
    });
  });

  describe('ordering and ParallelizationFactor', () => {
    /** `orders` orders with `perOrder` records each, interleaved in the stream as concurrent writes would be. */
    function interleavedOrders(orders: number, perOrder: number): DynamoDBRecord[] {
      const factory = createStreamRecordFactory();
      const records: DynamoDBRecord[] = [];
      for (let version = 1; version <= perOrder; version += 1) {
        for (let order = 1; order <= orders; order += 1) {
          const image = { orderId: `order-${order}`, version };
          records.push(
            version === 1 ? factory.insert(image) : factory.modify({ ...image, version: version - 1 }, image),
          );
        }
      }
      return records;
    }

    it('ParallelizationFactor: batches of one shard run concurrently, but an item key is never in two batches in flight', async () => {
      // Prepare
      const records = interleavedOrders(7, 4);
      const inFlight = new Set<string>();
      const overlapping: string[] = [];
      let concurrent = 0;
      let mostConcurrent = 0;
      const failOnce = sequenceNumberOf(records[9]!);
      const delivered = new Set<string>();
      const mapping = setUp({ batchSize: 3, parallelizationFactor: 4 }, async (event) => {
        const keys = [...new Set(event.Records.map(itemKeyOf))];
        overlapping.push(...keys.filter((key) => inFlight.has(key)));
        for (const key of keys) inFlight.add(key);
        concurrent += 1;
        mostConcurrent = Math.max(mostConcurrent, concurrent);
        await delay(5);
        for (const key of keys) inFlight.delete(key);
        concurrent -= 1;
        const firstTime = !delivered.has(failOnce);
        for (const sequenceNumber of sequenceNumbers(event.Records)) delivered.add(sequenceNumber);
        if (firstTime && delivered.has(failOnce)) throw new Error('one failure, to exercise retries');
        return undefined;
      });
      mapping.append(...records);
      const lanesUsed = new Set(records.map((record) => laneOf(record, 4)));

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(lanesUsed.size).toBeGreaterThan(1);
      expect(overlapping).toEqual([]);
      expect(mostConcurrent).toBeGreaterThan(1);
      expect(mapping.counters).toMatchObject({ recordsProcessed: records.length, failedInvocations: 1 });
    });

    it.each([1, 3])(
      'records of an item are applied in stream order, across partial failures, retries and bisection (ParallelizationFactor %i)',
      async (parallelizationFactor) => {
        // Prepare
        const records = interleavedOrders(5, 5);
        const failuresLeft = new Map<string, number>([
          [sequenceNumberOf(records[3]!), 2],
          [sequenceNumberOf(records[12]!), 1],
          [sequenceNumberOf(records[20]!), 1],
        ]);
        const throwOnceFor = sequenceNumberOf(records[7]!);
        let thrown = false;
        const applied = new Map<string, string[]>();
        const eventsInOrder: boolean[] = [];
        const mapping = setUp(
          { batchSize: 4, parallelizationFactor, bisectBatchOnFunctionError: true, maximumRetryAttempts: 5 },
          async (event) => {
            const batch = sequenceNumbers(event.Records);
            eventsInOrder.push(
              batch.every(
                (sequenceNumber, index) => index === 0 || BigInt(sequenceNumber) > BigInt(batch[index - 1]!),
              ),
            );
            if (!thrown && batch.includes(throwOnceFor)) {
              thrown = true;
              throw new Error('whole-batch failure before anything is applied');
            }
            // Applies records one by one and stops at the first failure, as the stream runtime does.
            for (const record of event.Records) {
              const sequenceNumber = sequenceNumberOf(record);
              const left = failuresLeft.get(sequenceNumber) ?? 0;
              if (left > 0) {
                failuresLeft.set(sequenceNumber, left - 1);
                return failures(record);
              }
              const key = itemKeyOf(record);
              applied.set(key, [...(applied.get(key) ?? []), sequenceNumber]);
            }
            return undefined;
          },
        );
        mapping.append(...records);

        // Act
        await mapping.closeAndRun();

        // Assess
        const streamOrder = new Map<string, string[]>();
        for (const record of records) {
          const key = itemKeyOf(record);
          streamOrder.set(key, [...(streamOrder.get(key) ?? []), sequenceNumberOf(record)]);
        }
        expect(applied).toEqual(streamOrder);
        expect(eventsInOrder.every(Boolean)).toBe(true);
        expect(mapping.messages).toEqual([]);
      },
    );
  });
});
