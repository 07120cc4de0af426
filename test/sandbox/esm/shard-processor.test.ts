import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnsupportedFilterError } from '../../../sandbox/esm/filters.js';
import {
  InvalidStreamChangeError,
  MemoryStreamSource,
  UnknownShardError,
} from '../../../sandbox/esm/memory-stream-source.js';
import {
  createShardCounters,
  defaultRetryBackoffMs,
  laneOf,
  MalformedStreamRecordError,
  ShardProcessor,
  ShardProcessorBusyError,
  ShardProcessorConfigError,
  type ShardProcessorSettings,
} from '../../../sandbox/esm/shard-processor.js';
import type {
  EsmConfig,
  OnFailureMessage,
  SettledRecords,
  ShardCounters,
  ShardReader,
} from '../../../sandbox/esm/types.js';
import { testEsmConfig } from '../../support/esm-configs.js';
import { HANG_TIMEOUT_MS } from '../../support/hang.js';
import {
  createStreamRecordFactory,
  DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
  streamArn,
} from '../../support/stream-records.js';

const SHARD_ID = 'shardId-00000001714564800000-0a1b2c3d';
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:order-fanout';
const CREATED_MS = DEFAULT_APPROXIMATE_CREATION_DATE_TIME * 1000;

function esmConfig(overrides: Partial<EsmConfig> = {}): EsmConfig {
  return testEsmConfig(overrides);
}

type Behaviour = (event: DynamoDBStreamEvent, context: Context, call: number) => Promise<unknown>;

interface Mapping {
  readonly source: MemoryStreamSource;
  readonly processor: ShardProcessor;
  readonly events: DynamoDBStreamEvent[];
  readonly contexts: Context[];
  readonly messages: OnFailureMessage[];
  readonly errors: Array<[unknown, string]>;
  readonly counters: ShardCounters;
  readonly clock: { now: number };
  readonly controller: AbortController;
  append(...records: DynamoDBRecord[]): void;
  run(): Promise<void>;
  closeAndRun(): Promise<void>;
}

const sequenceNumberOf = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? '';
const sequenceNumbers = (records: readonly DynamoDBRecord[]): string[] => records.map(sequenceNumberOf);

function setUp(
  config: Partial<EsmConfig> = {},
  behaviour: Behaviour = async () => undefined,
  settings: Partial<ShardProcessorSettings> = {},
): Mapping {
  const source = new MemoryStreamSource().addShard(SHARD_ID);
  const events: DynamoDBStreamEvent[] = [];
  const contexts: Context[] = [];
  const messages: OnFailureMessage[] = [];
  const errors: Array<[unknown, string]> = [];
  const counters = createShardCounters();
  const clock = { now: CREATED_MS + 1_000 };
  const controller = new AbortController();
  const processor = new ShardProcessor({
    config: esmConfig(config),
    streamArn: streamArn('Orders'),
    functionArn: FUNCTION_ARN,
    shardId: SHARD_ID,
    reader: source.reader(SHARD_ID),
    fn: async (event, context) => {
      const call = events.length;
      events.push(event);
      contexts.push(context);
      return (await behaviour(event, context, call)) as DynamoDBBatchResponse | undefined;
    },
    onFailure: async (message) => {
      messages.push(message);
    },
    onError: (error, during) => {
      errors.push([error, during]);
    },
    counters,
    pollIntervalMs: 5,
    clock: () => clock.now,
    retryBackoffMs: () => 1,
    ...settings,
  });
  const run = (): Promise<void> => processor.run(controller.signal);
  return {
    source,
    processor,
    events,
    contexts,
    messages,
    errors,
    counters,
    clock,
    controller,
    append: (...records) => {
      source.append(SHARD_ID, ...records);
    },
    run,
    closeAndRun: () => {
      source.close(SHARD_ID);
      return run();
    },
  };
}

function orderInserts(count: number, factory = createStreamRecordFactory()): DynamoDBRecord[] {
  return Array.from({ length: count }, (_, index) =>
    factory.insert({ orderId: `order-${index + 1}`, status: 'PLACED' }),
  );
}

const delivered = (mapping: Mapping): string[][] =>
  mapping.events.map((event) => sequenceNumbers(event.Records));

/** A promise the test settles by hand, to hold a function call open. */
function gate<T = undefined>(): { promise: Promise<T>; open(value: T): void } {
  let open: (value: T) => void = () => undefined;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('ShardProcessor', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('counters and invocation', () => {
    it('counts pending records and the oldest pending creation time while a batch is in flight, and clears them after', async () => {
      // Prepare
      const factory = createStreamRecordFactory();
      const records = [5, 2, 9].map((seconds, index) =>
        factory.insert(
          { orderId: `order-${index}`, status: 'PLACED' },
          { approximateCreationDateTime: DEFAULT_APPROXIMATE_CREATION_DATE_TIME + seconds },
        ),
      );
      let during: ShardCounters | undefined;
      const mapping = setUp({}, async () => {
        during = { ...mapping.counters };
        return undefined;
      });
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(during).toEqual({
        recordsRead: 3,
        recordsFiltered: 0,
        recordsProcessed: 0,
        invocations: 1,
        failedInvocations: 0,
        recordsToOnFailure: 0,
        recordsRedelivered: 0,
        oldestPendingCreationMs: CREATED_MS + 2_000,
        pending: 3,
        // The closed shard's one read returned every record and its end.
        successfulReads: 1,
      });
      expect(mapping.counters).toEqual({
        ...during,
        recordsProcessed: 3,
        oldestPendingCreationMs: undefined,
        pending: 0,
      });
    });

    it('gives the function a Lambda-like context whose remaining time follows the clock', async () => {
      // Prepare
      const remaining: number[] = [];
      const mapping = setUp({ functionTimeoutMs: 1_000 }, async (_event, context, call) => {
        remaining.push(context.getRemainingTimeInMillis());
        mapping.clock.now += 300;
        remaining.push(context.getRemainingTimeInMillis());
        if (call === 0) throw new Error('retry once');
        return undefined;
      });
      mapping.append(...orderInserts(1));

      // Act
      await mapping.closeAndRun();

      // Assess
      const [first, second] = mapping.contexts;
      expect(first).toMatchObject({
        functionName: 'order-fanout',
        functionVersion: '$LATEST',
        invokedFunctionArn: FUNCTION_ARN,
        logGroupName: '/aws/lambda/order-fanout',
      });
      expect(first?.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(second?.awsRequestId).not.toBe(first?.awsRequestId);
      expect(remaining).toEqual([1_000, 700, 1_000, 700]);
    });

    it('sends a fresh copy of the records with every invocation, so a function mutating its event changes no retry', async () => {
      // Prepare
      const records = orderInserts(1);
      const mapping = setUp({}, async (event, _context, call) => {
        if (call === 0) {
          event.Records[0]!.eventName = 'REMOVE';
          throw new Error('retry once');
        }
        return undefined;
      });
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.events[1]?.Records).toEqual(records);
    });

    it('fails the batch when the function throws synchronously, like an async error', async () => {
      // Prepare
      const mapping = setUp({}, (_event, _context, call) => {
        if (call === 0) throw new Error('not even a promise');
        return Promise.resolve(undefined);
      });
      mapping.append(...orderInserts(2));

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.events).toHaveLength(2);
      expect(mapping.counters).toMatchObject({ failedInvocations: 1, recordsProcessed: 2 });
    });

    it.each<[string, unknown]>([
      ['batchItemFailures that is not a list', { batchItemFailures: 'all of them' }],
      ['a failure entry that is not an object', { batchItemFailures: ['400000000000000000001'] }],
      ['a failure entry without itemIdentifier', { batchItemFailures: [{}] }],
      ['a response that is not an object', 'failed'],
      ['a response that is a list', []],
    ])('treats %s as a complete failure when ReportBatchItemFailures is on', async (_name, response) => {
      // Prepare
      const records = orderInserts(3);
      const mapping = setUp({}, async (_event, _context, call) => (call === 0 ? response : undefined));
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(delivered(mapping)).toEqual([sequenceNumbers(records), sequenceNumbers(records)]);
    });
  });

  describe('retries and on-failure', () => {
    it('waits the injected backoff before each retry, numbering the retries from 1', async () => {
      // Prepare
      const backoff = vi.fn((_retry: number) => 0);
      const mapping = setUp(
        { maximumRetryAttempts: 3 },
        async () => {
          throw new Error('always');
        },
        { retryBackoffMs: backoff },
      );
      mapping.append(...orderInserts(1));

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(backoff.mock.calls.map(([retry]) => retry)).toEqual([1, 2, 3]);
      expect(mapping.events).toHaveLength(4);
      expect(mapping.messages).toHaveLength(1);
    });

    it.each([
      [1, 50],
      [2, 100],
      [3, 200],
      [5, 800],
      [6, 1_000],
      [40, 1_000],
    ])('defaults the backoff before retry %i to %i ms', (retry, expected) => {
      // Prepare
      const attempt = retry;

      // Act
      const backoffMs = defaultRetryBackoffMs(attempt);

      // Assess
      expect(backoffMs).toBe(expected);
    });

    it('gives up a batch that keeps reporting the same record from that record on, with status 200 and no function error', async () => {
      // Prepare
      const records = orderInserts(4);
      const mapping = setUp({ maximumRetryAttempts: 1 }, async () => ({
        batchItemFailures: [{ itemIdentifier: sequenceNumberOf(records[1]!) }],
      }));
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess: moving the checkpoint to records[1] is no retry; the one retry is spent once it fails at the head.
      expect(delivered(mapping)).toEqual([
        sequenceNumbers(records),
        sequenceNumbers(records.slice(1)),
        sequenceNumbers(records.slice(1)),
      ]);
      expect(mapping.messages).toHaveLength(1);
      expect(mapping.messages[0]?.responseContext).toStrictEqual({
        statusCode: 200,
        executedVersion: '$LATEST',
      });
      expect(mapping.messages[0]?.requestContext).toMatchObject({
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      });
      expect(mapping.messages[0]?.DDBStreamBatchInfo).toMatchObject({
        startSequenceNumber: sequenceNumberOf(records[1]!),
        endSequenceNumber: sequenceNumberOf(records[3]!),
        batchSize: 3,
      });
      expect(mapping.counters).toMatchObject({
        recordsProcessed: 1,
        recordsToOnFailure: 3,
        recordsRedelivered: 6,
      });
    });

    it('retries an on-failure message the sink refuses until it is taken, reporting each refusal and counting the records once', async () => {
      // Prepare
      const refusal = new Error('queue unavailable');
      let refusalsLeft = 2;
      const taken: OnFailureMessage[] = [];
      const mapping = setUp(
        { maximumRetryAttempts: 0 },
        async () => {
          throw new Error('always');
        },
        {
          onFailure: async (message) => {
            if (refusalsLeft > 0) {
              refusalsLeft -= 1;
              throw refusal;
            }
            taken.push(message);
          },
        },
      );
      mapping.append(...orderInserts(2));

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(taken).toHaveLength(1);
      expect(mapping.errors).toEqual([
        [refusal, 'on-failure'],
        [refusal, 'on-failure'],
      ]);
      expect(mapping.counters).toMatchObject({ recordsToOnFailure: 2, pending: 0 });
    });
  });

  describe('reading the shard', () => {
    it('resolves at once for a closed, empty shard', async () => {
      // Prepare
      const mapping = setUp();

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.events).toEqual([]);
    });

    it('retries a failed read after the poll interval, reporting the error', async () => {
      // Prepare
      const failure = new Error('ExpiredIteratorException');
      const records = orderInserts(2);
      const mapping = setUp();
      mapping.source.failNextReads(SHARD_ID, failure, 2);
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.errors).toEqual([
        [failure, 'read'],
        [failure, 'read'],
      ]);
      expect(delivered(mapping)).toEqual([sequenceNumbers(records)]);
    });

    it('reads one batch size at a time and no further ahead than a batch per lane', async () => {
      // Prepare
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const held = gate();
      const mapping = setUp({ batchSize: 2, parallelizationFactor: 1 }, async (_event, _context, call) =>
        call === 0 ? held.promise : undefined,
      );
      mapping.append(...orderInserts(7));

      // Act
      const running = mapping.closeAndRun();
      await vi.advanceTimersByTimeAsync(1_000);
      const readWhileHeld = mapping.counters.recordsRead;
      held.open(undefined);
      await vi.advanceTimersByTimeAsync(1_000);
      await running;

      // Assess
      expect(readWhileHeld).toBe(2);
      expect(mapping.source.reads.map((read) => read.limit)).toEqual(mapping.source.reads.map(() => 2));
      expect(mapping.counters.recordsProcessed).toBe(7);
    });

    it('starting position LATEST skips the records the shard held when it started', async () => {
      // Prepare
      const factory = createStreamRecordFactory();
      const before = orderInserts(2, factory);
      const after = orderInserts(2, factory);
      const mapping = setUp({ startingPosition: 'LATEST' });
      mapping.append(...before);

      // Act
      const running = mapping.run();
      await vi.waitFor(
        () =>
          expect(mapping.source.reads.some((read) => read.after === sequenceNumberOf(before[1]!))).toBe(true),
        { timeout: HANG_TIMEOUT_MS },
      );
      mapping.append(...after);
      mapping.source.close(SHARD_ID);
      await running;

      // Assess
      expect(delivered(mapping)).toEqual([sequenceNumbers(after)]);
      expect(mapping.counters).toMatchObject({ recordsRead: 2, recordsFiltered: 0 });
    });

    it('rejects run when the shard serves a record without a sequence number', async () => {
      // Prepare
      const [record] = orderInserts(1);
      const broken = { ...record!, dynamodb: { ...record!.dynamodb, SequenceNumber: undefined } };
      const reader: ShardReader = { read: async () => ({ records: [broken], closed: true }) };
      const processor = new ShardProcessor({
        config: esmConfig(),
        streamArn: streamArn('Orders'),
        functionArn: FUNCTION_ARN,
        shardId: SHARD_ID,
        reader,
        fn: async () => undefined,
        onFailure: async () => undefined,
        counters: createShardCounters(),
      });

      // Act
      const running = processor.run(new AbortController().signal);

      // Assess
      await expect(running).rejects.toThrow(MalformedStreamRecordError);
    });
  });

  describe('abort', () => {
    it('resolves run when aborted while the shard is idle', async () => {
      // Prepare
      const mapping = setUp();
      const running = mapping.run();

      // Act
      mapping.controller.abort();
      await running;
      mapping.append(...orderInserts(1));

      // Assess
      expect(mapping.events).toEqual([]);
    });

    it('resolves at once when the signal is already aborted', async () => {
      // Prepare
      const mapping = setUp();
      mapping.append(...orderInserts(1));
      mapping.controller.abort();

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.source.reads).toEqual([]);
    });

    it('abandons the in-flight invocation, keeps its records pending, and delivers them again on the next run', async () => {
      // Prepare
      const never = gate().promise;
      const records = orderInserts(2);
      const mapping = setUp({}, async (_event, _context, call) => (call === 0 ? never : undefined));
      mapping.append(...records);
      const firstRun = mapping.run();
      await vi.waitFor(() => expect(mapping.events).toHaveLength(1), { timeout: HANG_TIMEOUT_MS });

      // Act
      mapping.controller.abort();
      await firstRun;
      const afterAbort = { ...mapping.counters };
      mapping.source.close(SHARD_ID);
      await mapping.processor.run(new AbortController().signal);

      // Assess
      expect(afterAbort).toMatchObject({ pending: 2, recordsProcessed: 0, failedInvocations: 0 });
      expect(delivered(mapping)).toEqual([sequenceNumbers(records), sequenceNumbers(records)]);
      expect(mapping.counters).toMatchObject({ pending: 0, recordsProcessed: 2, recordsRedelivered: 2 });
    });

    it('refuses a second run while the first is going', async () => {
      // Prepare
      const mapping = setUp();
      const running = mapping.run();

      // Act
      const second = mapping.processor.run(new AbortController().signal);

      // Assess
      await expect(second).rejects.toThrow(ShardProcessorBusyError);
      mapping.controller.abort();
      await running;
    });
  });

  describe('settled records', () => {
    const listen = (): { settled: SettledRecords[]; settings: Partial<ShardProcessorSettings> } => {
      const settled: SettledRecords[] = [];
      return { settled, settings: { onSettled: (batch) => void settled.push(batch) } };
    };
    const summary = (settled: readonly SettledRecords[]): Array<[string, string[]]> =>
      settled.map((batch) => [batch.outcome, sequenceNumbers(batch.records)]);

    it('reports the records a partial batch response completed, then the rest once a retry completes them', async () => {
      // Prepare: the first invocation fails at the second record, the retry of the rest succeeds.
      const records = orderInserts(3);
      const { settled, settings } = listen();
      const mapping = setUp(
        {},
        async (_event, _context, call) =>
          call === 0 ? { batchItemFailures: [{ itemIdentifier: sequenceNumberOf(records[1]!) }] } : undefined,
        settings,
      );
      mapping.append(...records);

      // Act
      await mapping.closeAndRun();

      // Assess: each record once, by the processor's clock, as the stream served it.
      expect(summary(settled)).toEqual([
        ['processed', sequenceNumbers(records.slice(0, 1))],
        ['processed', sequenceNumbers(records.slice(1))],
      ]);
      expect(settled[0]).toMatchObject({
        consumerName: 'order-fanout',
        shardId: SHARD_ID,
        atMs: mapping.clock.now,
      });
      expect(settled[0]?.records[0]).toEqual(records[0]);
    });

    it.each<[string, Behaviour, Partial<EsmConfig>]>([
      [
        'threw',
        async () => {
          throw new Error('boom');
        },
        {},
      ],
      ['outlived its timeout', () => new Promise(() => undefined), { functionTimeoutMs: 5 }],
      [
        'reported its first record failed',
        async (event) => ({ batchItemFailures: [{ itemIdentifier: sequenceNumberOf(event.Records[0]!) }] }),
        {},
      ],
    ])(
      'reports nothing as processed when every invocation %s, and the batch as on-failure',
      async (_name, behaviour, config) => {
        // Prepare
        const records = orderInserts(2);
        const { settled, settings } = listen();
        const mapping = setUp({ maximumRetryAttempts: 0, ...config }, behaviour, settings);
        mapping.append(...records);

        // Act
        await mapping.closeAndRun();

        // Assess
        expect(summary(settled)).toEqual([['on-failure', sequenceNumbers(records)]]);
      },
    );

    it('keeps the checkpoint and reports the error when the listener throws', async () => {
      // Prepare
      const failure = new Error('listener bug');
      const mapping = setUp({}, async () => undefined, {
        onSettled: () => {
          throw failure;
        },
      });
      mapping.append(...orderInserts(2));

      // Act
      await mapping.closeAndRun();

      // Assess
      expect(mapping.counters).toMatchObject({ recordsProcessed: 2, pending: 0 });
      expect(mapping.errors).toEqual([[failure, 'settled']]);
    });
  });

  describe('construction', () => {
    it.each<[string, Partial<EsmConfig>, new (...args: never[]) => Error]>([
      [
        'an unsupported filter operator',
        { filterPatterns: [{ eventName: [{ suffix: 'ERT' }] }] },
        UnsupportedFilterError,
      ],
      ['a batch size of 0', { batchSize: 0 }, ShardProcessorConfigError],
      ['a parallelization factor above 10', { parallelizationFactor: 11 }, ShardProcessorConfigError],
      ['a negative batching window', { maximumBatchingWindowMs: -1 }, ShardProcessorConfigError],
      ['negative retry attempts', { maximumRetryAttempts: -1 }, ShardProcessorConfigError],
      ['a maximum record age of 0', { maximumRecordAgeMs: 0 }, ShardProcessorConfigError],
      ['a function timeout of 0', { functionTimeoutMs: 0 }, ShardProcessorConfigError],
    ])('refuses %s', (_name, config, errorClass) => {
      // Prepare
      const create = (): Mapping => setUp(config);

      // Act
      const construct = (): unknown => create();

      // Assess
      expect(construct).toThrow(errorClass);
    });
  });
});

describe('laneOf', () => {
  const keyed = (keys: Record<string, { S: string }>): DynamoDBRecord => ({ dynamodb: { Keys: keys } });

  it('puts every record of an item in the same lane, whatever the order of its key attributes', () => {
    // Prepare
    const forward = keyed({ pollId: { S: 'poll-1' }, voterId: { S: 'voter-9' } });
    const backward = keyed({ voterId: { S: 'voter-9' }, pollId: { S: 'poll-1' } });

    // Act
    const lanes = [laneOf(forward, 7), laneOf(backward, 7)];

    // Assess
    expect(lanes[0]).toBe(lanes[1]);
  });

  it('spreads items over every lane, within range', () => {
    // Prepare
    const records = Array.from({ length: 200 }, (_, index) => keyed({ orderId: { S: `order-${index}` } }));

    // Act
    const lanes = records.map((record) => laneOf(record, 4));

    // Assess
    expect(new Set(lanes)).toEqual(new Set([0, 1, 2, 3]));
  });

  it('uses lane 0 with a single lane or a record without keys', () => {
    // Prepare
    const withKeys = keyed({ orderId: { S: 'order-1' } });
    const withoutKeys: DynamoDBRecord = {};

    // Act
    const lanes = [laneOf(withKeys, 1), laneOf(withoutKeys, 5)];

    // Assess
    expect(lanes).toEqual([0, 0]);
  });
});

describe('MemoryStreamSource', () => {
  it('reads after a sequence number, at most limit records, and reports closed only once the end is read', async () => {
    // Prepare
    const records = orderInserts(5);
    const source = new MemoryStreamSource().addShard(SHARD_ID);
    source.append(SHARD_ID, ...records).close(SHARD_ID);
    const reader = source.reader(SHARD_ID);

    // Act
    const first = await reader.read(undefined, 2);
    const middle = await reader.read(sequenceNumberOf(records[1]!), 2);
    const last = await reader.read(sequenceNumberOf(records[3]!), 2);
    const beyond = await reader.read(sequenceNumberOf(records[4]!), 2);

    // Assess
    expect([first, middle, last, beyond].map((read) => [sequenceNumbers(read.records), read.closed])).toEqual(
      [
        [sequenceNumbers(records.slice(0, 2)), false],
        [sequenceNumbers(records.slice(2, 4)), false],
        [sequenceNumbers(records.slice(4)), true],
        [[], true],
      ],
    );
  });

  it('reads an open shard as not closed even at its end', async () => {
    // Prepare
    const source = new MemoryStreamSource().addShard(SHARD_ID).append(SHARD_ID, ...orderInserts(1));

    // Act
    const read = await source.reader(SHARD_ID).read(undefined, 10);

    // Assess
    expect(read.closed).toBe(false);
  });

  it('fails the next reads with the injected error, then serves again', async () => {
    // Prepare
    const failure = new Error('throttled');
    const source = new MemoryStreamSource().addShard(SHARD_ID).append(SHARD_ID, ...orderInserts(1));
    source.failNextReads(SHARD_ID, failure, 2);
    const reader = source.reader(SHARD_ID);

    // Act
    const outcomes = await Promise.allSettled([reader.read(undefined, 1), reader.read(undefined, 1)]);
    const third = await reader.read(undefined, 1);

    // Assess
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(third.records).toHaveLength(1);
  });

  it('closes the parent when creating a child shard, and lists the lineage', async () => {
    // Prepare
    const source = new MemoryStreamSource().addShard('shard-parent');

    // Act
    source.createChildShard('shard-parent', 'shard-child');

    // Assess
    expect(await source.listShards()).toEqual([
      { shardId: 'shard-parent' },
      { shardId: 'shard-child', parentShardId: 'shard-parent' },
    ]);
    expect(() => source.append('shard-parent', ...orderInserts(1))).toThrow(InvalidStreamChangeError);
  });

  it('serves copies, so a consumer mutating a record does not change the stream', async () => {
    // Prepare
    const records = orderInserts(1);
    const source = new MemoryStreamSource().addShard(SHARD_ID).append(SHARD_ID, ...records);
    const reader = source.reader(SHARD_ID);
    const first = await reader.read(undefined, 1);
    first.records[0]!.eventName = 'REMOVE';

    // Act
    const second = await reader.read(undefined, 1);

    // Assess
    expect(second.records).toEqual(records);
  });

  it.each<[string, (source: MemoryStreamSource) => unknown, new (...args: never[]) => Error]>([
    ['reading an unknown shard', (source) => source.reader('shard-unknown'), UnknownShardError],
    ['adding a shard twice', (source) => source.addShard(SHARD_ID), InvalidStreamChangeError],
    [
      'appending a record whose sequence number does not grow',
      (source) => {
        const [first, second] = orderInserts(2);
        source.append(SHARD_ID, second!, first!);
      },
      InvalidStreamChangeError,
    ],
    [
      'appending a record without a decimal sequence number',
      (source) => {
        const [record] = orderInserts(1);
        source.append(SHARD_ID, { ...record!, dynamodb: { ...record!.dynamodb, SequenceNumber: 'abc' } });
      },
      InvalidStreamChangeError,
    ],
  ])('refuses %s', (_name, change, errorClass) => {
    // Prepare
    const source = new MemoryStreamSource().addShard(SHARD_ID);

    // Act
    const act = (): unknown => change(source);

    // Assess
    expect(act).toThrow(errorClass);
  });
});
