import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE } from '../../../../lambdas/shared/env.js';
import {
  PermanentError,
  TransientError,
  UnreportableRecordError,
} from '../../../../lambdas/shared/errors.js';
import type { ChangeRecord } from '../../../../lambdas/shared/stream/change-record.js';
import type { DeadLetter, FullDeadLetter } from '../../../../lambdas/shared/stream/dead-letter.js';
import { encodeDeadLetter } from '../../../../lambdas/shared/stream/dead-letter.js';
import { NumberValue, readDecimalString } from '../../../../lambdas/shared/stream/lossless.js';
import { STREAM_METRICS, streamMetricDimensions } from '../../../../lambdas/shared/stream/metrics.js';
import {
  createStreamHandler,
  Outcome,
  type RecordOutcome,
  type StreamContext,
  type StreamHandlerOptions,
} from '../../../../lambdas/shared/stream/stream-handler.js';
import {
  createStreamRecordFactory,
  DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
  lambdaContext,
  RecordingDeadLetterQueue,
  RecordingMetrics,
  streamEvent,
} from '../../../support/stream-records.js';

const CONSUMER = 'order-fanout';
/** The injected clock: 2.5 s after the default ApproximateCreationDateTime of the factory's records. */
const NOW = DEFAULT_APPROXIMATE_CREATION_DATE_TIME * 1000 + 2_500;

type Behaviour = 'ok' | 'transient' | 'permanent';

const order = (orderId: string, status = 'PLACED'): Record<string, unknown> => ({
  orderId,
  status,
  totalCents: 1999,
});

/**
 * A consumer whose result per record is scripted by sequence number (default ok), in either mode, recording the
 * sequence numbers it was given.
 */
class ScriptedConsumer {
  public readonly seen: string[] = [];
  public readonly contexts: StreamContext[] = [];
  readonly #script: ReadonlyMap<string, Behaviour>;

  public constructor(script: ReadonlyArray<[DynamoDBRecord, Behaviour]> = []) {
    this.#script = new Map(
      script.map(([record, behaviour]) => [record.dynamodb?.SequenceNumber ?? '', behaviour]),
    );
  }

  public readonly handleRecord = async (record: ChangeRecord, context: StreamContext): Promise<void> => {
    this.seen.push(record.sequenceNumber);
    this.contexts.push(context);
    const behaviour = this.#script.get(record.sequenceNumber) ?? 'ok';
    if (behaviour === 'transient') {
      throw new TransientError(`sink throttled ${record.sequenceNumber}`);
    }
    if (behaviour === 'permanent') {
      throw new PermanentError(`sink rejected ${record.sequenceNumber}`);
    }
  };

  public readonly handleBatch = async (
    records: readonly ChangeRecord[],
    context: StreamContext,
  ): Promise<Map<string, RecordOutcome>> => {
    this.contexts.push(context);
    return new Map(
      records.map((record) => {
        this.seen.push(record.sequenceNumber);
        const behaviour = this.#script.get(record.sequenceNumber) ?? 'ok';
        const outcome =
          behaviour === 'ok'
            ? Outcome.ok()
            : behaviour === 'transient'
              ? Outcome.transient(`sink throttled ${record.sequenceNumber}`)
              : Outcome.permanent(`sink rejected ${record.sequenceNumber}`);
        return [record.sequenceNumber, outcome];
      }),
    );
  };
}

type Mode = 'per-record' | 'per-batch';

interface Harness {
  readonly handler: ReturnType<typeof createStreamHandler>;
  readonly deadLetterQueue: RecordingDeadLetterQueue;
  readonly metrics: RecordingMetrics;
}

function harness(
  consumer: Pick<ScriptedConsumer, 'handleRecord' | 'handleBatch'>,
  mode: Mode,
  deadLetterQueue = new RecordingDeadLetterQueue(),
): Harness {
  const metrics = new RecordingMetrics();
  const common = {
    consumerName: CONSUMER,
    deadLetterQueue,
    metrics,
    clock: () => NOW,
    logger: silentLogger(),
  };
  const options: StreamHandlerOptions =
    mode === 'per-record'
      ? { ...common, handleRecord: consumer.handleRecord }
      : { ...common, handleBatch: consumer.handleBatch };
  return { handler: createStreamHandler(options), deadLetterQueue, metrics };
}

function silentLogger(): Logger {
  return new Logger({ serviceName: CONSUMER, logLevel: 'SILENT' });
}

/** A DynamoDB client error as the SDK deserialises it (HTTP 400). */
function sdkError(name: string, message: string): Error {
  return new DynamoDBServiceException({
    name,
    $fault: 'client',
    message,
    $metadata: { httpStatusCode: 400 },
  });
}

const sequenceNumbers = (...records: DynamoDBRecord[]): string[] =>
  records.map((record) => record.dynamodb?.SequenceNumber ?? 'missing');

const failures = (...records: DynamoDBRecord[]): { batchItemFailures: { itemIdentifier: string }[] } => ({
  batchItemFailures: sequenceNumbers(...records).map((itemIdentifier) => ({ itemIdentifier })),
});

describe.each<Mode>(['per-record', 'per-batch'])('createStreamHandler, %s mode', (mode) => {
  it('stops an item after its first transient failure and lets other items go on', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const a1 = records.insert(order('A'));
    const a2 = records.modify(order('A'), order('A', 'PAID'));
    const b1 = records.insert(order('B'));
    const a3 = records.modify(order('A', 'PAID'), order('A', 'SHIPPED'));
    const b2 = records.modify(order('B'), order('B', 'PAID'));
    const consumer = new ScriptedConsumer([[a2, 'transient']]);
    const { handler, deadLetterQueue } = harness(consumer, mode);

    // Act
    const response = await handler(streamEvent(a1, a2, b1, a3, b2), lambdaContext());

    // Assess
    expect(response).toEqual(failures(a2, a3));
    expect(deadLetterQueue.letters).toEqual([]);
    // Per record, A3 is never handed to the consumer; per batch it was part of the one call, but is reported anyway.
    expect(consumer.seen).toEqual(
      mode === 'per-record' ? sequenceNumbers(a1, a2, b1, b2) : sequenceNumbers(a1, a2, b1, a3, b2),
    );
  });

  it('reports sequence numbers, never eventIDs', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const failing = records.insert(order('A'), {
      eventId: 'event-id-of-A',
      sequenceNumber: '700000000000000000042',
    });
    const { handler } = harness(new ScriptedConsumer([[failing, 'transient']]), mode);

    // Act
    const response = await handler(streamEvent(failing), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '700000000000000000042' }] });
  });

  it('returns every sequence number, rather than throwing, when every record fails', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const batch = [records.insert(order('A')), records.insert(order('B')), records.insert(order('C'))];
    const consumer = new ScriptedConsumer(batch.map((record) => [record, 'transient']));
    const { handler, metrics } = harness(consumer, mode);

    // Act
    const response = await handler(streamEvent(...batch), lambdaContext());

    // Assess
    expect(response).toEqual(failures(...batch));
    expect(metrics.valuesOf(STREAM_METRICS.recordsFailed)).toEqual([3]);
  });

  it('sends a permanent failure to the DLQ, counts it handled and goes on with the item', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const a1 = records.insert(order('A'));
    const a2 = records.modify(order('A'), order('A', 'PAID'));
    const consumer = new ScriptedConsumer([[a1, 'permanent']]);
    const { handler, deadLetterQueue, metrics } = harness(consumer, mode);

    // Act
    const response = await handler(streamEvent(a1, a2), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(consumer.seen).toEqual(sequenceNumbers(a1, a2));
    expect(deadLetterQueue.letters).toEqual<DeadLetter[]>([
      {
        truncated: false,
        consumerName: CONSUMER,
        reason: `sink rejected ${a1.dynamodb?.SequenceNumber}`,
        errorName: 'PermanentError',
        eventId: a1.eventID ?? null,
        eventName: 'INSERT',
        sequenceNumber: a1.dynamodb?.SequenceNumber ?? '',
        keys: { orderId: { S: 'A' } },
        eventSourceArn: a1.eventSourceARN ?? null,
        failedAt: new Date(NOW).toISOString(),
        record: a1,
      },
    ]);
    expect(metrics.valuesOf(STREAM_METRICS.recordsDeadLettered)).toEqual([1]);
    expect(metrics.valuesOf(STREAM_METRICS.recordsProcessed)).toEqual([1]);
  });

  it('turns a permanent failure into a transient one when the DLQ send fails', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const a1 = records.insert(order('A'));
    const a2 = records.modify(order('A'), order('A', 'PAID'));
    const b1 = records.insert(order('B'));
    const consumer = new ScriptedConsumer([[a1, 'permanent']]);
    const dlq = new RecordingDeadLetterQueue({ failWith: new Error('SQS is unavailable') });
    const { handler, metrics } = harness(consumer, mode, dlq);

    // Act
    const response = await handler(streamEvent(a1, a2, b1), lambdaContext());

    // Assess
    expect(response).toEqual(failures(a1, a2));
    expect(metrics.valuesOf(STREAM_METRICS.recordsDeadLettered)).toEqual([0]);
    expect(metrics.valuesOf(STREAM_METRICS.recordsFailed)).toEqual([2]);
  });

  it('sends only keys, sequence number and reason for a record too large for SQS', async () => {
    // Prepare: a 300 KB attribute, as a 400 KB item can hold.
    const records = createStreamRecordFactory();
    const huge = records.insert({ ...order('A'), notes: 'n'.repeat(300_000) });
    const { handler, deadLetterQueue } = harness(new ScriptedConsumer([[huge, 'permanent']]), mode);

    // Act
    const response = await handler(streamEvent(huge), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deadLetterQueue.letters).toEqual<DeadLetter[]>([
      {
        truncated: true,
        sequenceNumber: huge.dynamodb?.SequenceNumber ?? '',
        keys: { orderId: { S: 'A' } },
        reason: `sink rejected ${huge.dynamodb?.SequenceNumber}`,
      },
    ]);
  });

  it('sends a malformed record to the DLQ without handing it to the consumer', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const valid = records.insert(order('A'));
    const malformed = { ...records.insert(order('B')), eventName: 'UPSERT' } as unknown as DynamoDBRecord;
    const consumer = new ScriptedConsumer();
    const { handler, deadLetterQueue } = harness(consumer, mode);

    // Act
    const response = await handler(streamEvent(valid, malformed), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(consumer.seen).toEqual(sequenceNumbers(valid));
    expect(deadLetterQueue.letters).toHaveLength(1);
    expect(deadLetterQueue.letters[0]).toMatchObject({
      errorName: 'PermanentError',
      reason: expect.stringMatching(/^Malformed stream record: eventName/),
      sequenceNumber: malformed.dynamodb?.SequenceNumber,
    });
  });

  it('returns no failures for an empty batch without calling the consumer or flushing metrics', async () => {
    // Prepare
    const consumer = new ScriptedConsumer();
    const { handler, metrics } = harness(consumer, mode);

    // Act
    const response = await handler(streamEvent(), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(consumer.seen).toEqual([]);
    expect(metrics.flushes).toBe(0);
  });

  it.each([
    [
      'no dynamodb.SequenceNumber',
      (record: DynamoDBRecord) => ({ ...record.dynamodb, SequenceNumber: undefined }),
    ],
    [
      'an empty dynamodb.SequenceNumber',
      (record: DynamoDBRecord) => ({ ...record.dynamodb, SequenceNumber: '' }),
    ],
  ])('fails the whole batch when a record has %s', async (_description, strip) => {
    // Prepare
    const records = createStreamRecordFactory();
    const first = records.insert(order('A'));
    const second = records.insert(order('B'));
    const unreportable = { ...second, dynamodb: strip(second) };
    const consumer = new ScriptedConsumer();
    const { handler, metrics } = harness(consumer, mode);

    // Act
    const invocation = handler(streamEvent(first, unreportable), lambdaContext());

    // Assess
    await expect(invocation).rejects.toThrow(UnreportableRecordError);
    expect(consumer.seen).toEqual([]);
    expect(metrics.valuesOf(STREAM_METRICS.recordsFailed)).toEqual([2]);
    expect(metrics.flushes).toBe(1);
  });

  it('hands the consumer lossless values: a 21-digit integer and a 30-digit decimal', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const record = records.insert({
      ...order('A'),
      lifetimeUnits: new NumberValue('123456789012345678901'),
      exchangeRate: new NumberValue('1.23456789012345678901234567891'),
    });
    const seen: string[] = [];
    const keep = (change: ChangeRecord): void => {
      const image = change.newImage ?? {};
      seen.push(readDecimalString(image, 'lifetimeUnits'), readDecimalString(image, 'exchangeRate'));
    };
    const { handler } = harness(
      {
        handleRecord: async (change) => keep(change),
        handleBatch: async (changes) => {
          changes.forEach(keep);
          return new Map(changes.map((change) => [change.sequenceNumber, Outcome.ok()]));
        },
      },
      mode,
    );

    // Act
    const response = await handler(streamEvent(record), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen).toEqual(['123456789012345678901', '1.23456789012345678901234567891']);
  });

  it('records one lag value per processed record, and the batch counts, then flushes once', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const old = records.insert(order('A'), {
      approximateCreationDateTime: DEFAULT_APPROXIMATE_CREATION_DATE_TIME - 60,
    });
    const recent = records.insert(order('B'));
    const fromTheFuture = records.insert(order('C'), {
      approximateCreationDateTime: DEFAULT_APPROXIMATE_CREATION_DATE_TIME + 10,
    });
    const failing = records.insert(order('D'));
    const rejected = records.insert(order('E'));
    const consumer = new ScriptedConsumer([
      [failing, 'transient'],
      [rejected, 'permanent'],
    ]);
    const { handler, metrics } = harness(consumer, mode);

    // Act
    await handler(streamEvent(old, recent, fromTheFuture, failing, rejected), lambdaContext());

    // Assess
    expect(metrics.valuesOf(STREAM_METRICS.endToEndLag)).toEqual([62_500, 2_500, 0]);
    expect(metrics.metrics.filter((m) => m.name === STREAM_METRICS.endToEndLag).map((m) => m.unit)).toEqual([
      'Milliseconds',
      'Milliseconds',
      'Milliseconds',
    ]);
    expect(metrics.valuesOf(STREAM_METRICS.recordsProcessed)).toEqual([3]);
    expect(metrics.valuesOf(STREAM_METRICS.recordsFailed)).toEqual([1]);
    expect(metrics.valuesOf(STREAM_METRICS.recordsDeadLettered)).toEqual([1]);
    expect(metrics.flushes).toBe(1);
  });

  it('gives the consumer its name and the Lambda context', async () => {
    // Prepare
    const consumer = new ScriptedConsumer();
    const { handler } = harness(consumer, mode);
    const context = lambdaContext({ awsRequestId: 'request-1' });

    // Act
    await handler(streamEvent(createStreamRecordFactory().insert(order('A'))), context);

    // Assess
    expect(consumer.contexts.map((c) => [c.consumerName, c.lambdaContext])).toEqual([[CONSUMER, context]]);
  });

  it('sends the 21-digit integer to the DLQ digit for digit', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const record = records.insert({ ...order('A'), lifetimeUnits: new NumberValue('123456789012345678901') });
    const { handler, deadLetterQueue } = harness(new ScriptedConsumer([[record, 'permanent']]), mode);

    // Act
    await handler(streamEvent(record), lambdaContext());

    // Assess
    const [letter] = deadLetterQueue.letters;
    expect(letter).toBeDefined();
    expect(encodeDeadLetter(letter as FullDeadLetter)).toContain(
      '"lifetimeUnits":{"N":"123456789012345678901"}',
    );
  });
});

describe('createStreamHandler, per-record mode', () => {
  it('retries a record failed by an error of our own making, never dead-letters it, and counts InternalErrors', async () => {
    // Prepare: issue 12. A TypeError the SDK throws with status 400 when it cannot read a response.
    const records = createStreamRecordFactory();
    const a = records.insert(order('A'));
    const b = records.insert(order('B'));
    const c = records.insert(order('C'));
    const deserialization = Object.assign(
      new TypeError("Cannot read properties of undefined (reading 'B')"),
      {
        $metadata: { httpStatusCode: 400 },
      },
    );
    const { handler, deadLetterQueue, metrics } = harness(
      {
        handleRecord: async (record) => {
          if (record.sequenceNumber === a.dynamodb?.SequenceNumber) throw deserialization;
          if (record.sequenceNumber === b.dynamodb?.SequenceNumber) throw new TransientError('throttled');
        },
        handleBatch: async () => new Map(),
      },
      'per-record',
    );

    // Act
    const response = await handler(streamEvent(a, b, c), lambdaContext());

    // Assess
    expect(response).toEqual(failures(a, b));
    expect(deadLetterQueue.letters).toHaveLength(0);
    expect(metrics.valuesOf(STREAM_METRICS.internalErrors)).toEqual([1]);
    expect(metrics.valuesOf(STREAM_METRICS.recordsProcessed)).toEqual([1]);
  });

  it('processes records one at a time', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const batch = ['A', 'B', 'C', 'D'].map((id) => records.insert(order(id)));
    let inFlight = 0;
    let maxInFlight = 0;
    const { handler } = harness(
      {
        handleRecord: async () => {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          // Yield to the event loop: records started in parallel would all be in flight here.
          await new Promise((resolve) => setImmediate(resolve));
          inFlight -= 1;
        },
        handleBatch: async () => new Map(),
      },
      'per-record',
    );

    // Act
    await handler(streamEvent(...batch), lambdaContext());

    // Assess
    expect(maxInFlight).toBe(1);
  });

  it('sends an AWS SDK ValidationException thrown by the consumer to the DLQ under its own name', async () => {
    // Prepare
    const record = createStreamRecordFactory().insert(order('A'));
    const { handler, deadLetterQueue } = harness(
      {
        handleRecord: async () => {
          throw sdkError('ValidationException', 'One or more parameter values were invalid');
        },
        handleBatch: async () => new Map(),
      },
      'per-record',
    );

    // Act
    const response = await handler(streamEvent(record), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deadLetterQueue.letters).toMatchObject([
      { errorName: 'ValidationException', reason: 'One or more parameter values were invalid' },
    ]);
  });

  it.each([
    [
      'an AWS SDK ProvisionedThroughputExceededException',
      sdkError('ProvisionedThroughputExceededException', 'Rate exceeded'),
    ],
    ['a plain Error from a bug', new TypeError('undefined is not a function')],
    ['a thrown string', 'boom'],
  ])('reports %s thrown by the consumer for retry', async (_description, thrown) => {
    // Prepare
    const record = createStreamRecordFactory().insert(order('A'));
    const { handler, deadLetterQueue } = harness(
      {
        handleRecord: async () => {
          throw thrown;
        },
        handleBatch: async () => new Map(),
      },
      'per-record',
    );

    // Act
    const response = await handler(streamEvent(record), lambdaContext());

    // Assess
    expect(response).toEqual(failures(record));
    expect(deadLetterQueue.letters).toEqual([]);
  });

  it('tells a TTL delete from a user delete', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const byTtl = records.ttlRemove(order('A'));
    const byUser = records.remove(order('B'));
    const seen: Array<[string, boolean]> = [];
    const { handler } = harness(
      {
        handleRecord: async (change) => {
          seen.push([change.eventName, change.removedByTtl]);
        },
        handleBatch: async () => new Map(),
      },
      'per-record',
    );

    // Act
    await handler(streamEvent(byTtl, byUser), lambdaContext());

    // Assess
    expect(seen).toEqual([
      ['REMOVE', true],
      ['REMOVE', false],
    ]);
  });
});

describe('createStreamHandler, per-batch mode', () => {
  it('reports a record missing from the outcomes as a transient failure, and blocks its item', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const a1 = records.insert(order('A'));
    const b1 = records.insert(order('B'));
    const a2 = records.modify(order('A'), order('A', 'PAID'));
    const { handler, deadLetterQueue } = harness(
      {
        handleRecord: async () => undefined,
        // Leaves A1 out.
        handleBatch: async () =>
          new Map([
            [b1.dynamodb?.SequenceNumber ?? '', Outcome.ok()],
            [a2.dynamodb?.SequenceNumber ?? '', Outcome.ok()],
          ]),
      },
      'per-batch',
    );

    // Act
    const response = await handler(streamEvent(a1, b1, a2), lambdaContext());

    // Assess
    expect(response).toEqual(failures(a1, a2));
    expect(deadLetterQueue.letters).toEqual([]);
  });

  it('reports every record when handleBatch throws, even a PermanentError', async () => {
    // Prepare
    const records = createStreamRecordFactory();
    const batch = [records.insert(order('A')), records.insert(order('B'))];
    const { handler, deadLetterQueue } = harness(
      {
        handleRecord: async () => undefined,
        handleBatch: async () => {
          throw new PermanentError('bulk request rejected');
        },
      },
      'per-batch',
    );

    // Act
    const response = await handler(streamEvent(...batch), lambdaContext());

    // Assess
    expect(response).toEqual(failures(...batch));
    expect(deadLetterQueue.letters).toEqual([]);
  });

  it('puts the error name of a permanent outcome in the DLQ letter', async () => {
    // Prepare
    const record = createStreamRecordFactory().insert(order('A'));
    const { handler, deadLetterQueue } = harness(
      {
        handleRecord: async () => undefined,
        handleBatch: async () =>
          new Map([
            [
              record.dynamodb?.SequenceNumber ?? '',
              Outcome.permanent('failed to parse [total]', 'mapper_parsing_exception'),
            ],
          ]),
      },
      'per-batch',
    );

    // Act
    await handler(streamEvent(record), lambdaContext());

    // Assess
    expect(deadLetterQueue.letters).toMatchObject([
      { errorName: 'mapper_parsing_exception', reason: 'failed to parse [total]' },
    ]);
  });

  it('does not call handleBatch when no record of the batch can be decoded', async () => {
    // Prepare
    const malformed = {
      ...createStreamRecordFactory().insert(order('A')),
      eventName: 'UPSERT',
    } as unknown as DynamoDBRecord;
    const consumer = new ScriptedConsumer();
    const { handler, deadLetterQueue } = harness(consumer, 'per-batch');

    // Act
    const response = await handler(streamEvent(malformed), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(consumer.contexts).toEqual([]);
    expect(deadLetterQueue.letters).toHaveLength(1);
  });
});

describe('Outcome.fromError', () => {
  it.each([
    [
      'a PermanentError',
      new PermanentError('bad'),
      { kind: 'permanent', reason: 'bad', errorName: 'PermanentError' },
    ],
    ['a TransientError', new TransientError('slow'), { kind: 'transient', reason: 'slow' }],
  ])('classifies %s', (_description, error, expected) => {
    // Act
    const outcome = Outcome.fromError(error);

    // Assess
    expect(outcome).toMatchObject(expected);
    expect(outcome).toHaveProperty('error', error);
  });
});

describe('createStreamHandler with its default Powertools Metrics', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('emits every lag value in EMF blobs of at most 100 values, in the dashboard namespace and dimensions', async () => {
    // Prepare: dev mode makes Powertools print EMF through the global console, which the test captures.
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      printed.push(String(line));
    });
    const records = createStreamRecordFactory();
    const batch = Array.from({ length: 250 }, (_, i) => records.insert(order(`order-${i}`)));
    const handler = createStreamHandler({
      consumerName: CONSUMER,
      deadLetterQueue: new RecordingDeadLetterQueue(),
      logger: silentLogger(),
      clock: () => NOW,
      handleRecord: async () => undefined,
    });

    // Act
    await handler(streamEvent(...batch), lambdaContext());

    // Assess
    const blobs = printed.map((line) => JSON.parse(line) as Record<string, unknown>);
    const lagBlobs = blobs.filter((blob) => STREAM_METRICS.endToEndLag in blob);
    const lagValueLists = lagBlobs.map((blob) => [blob[STREAM_METRICS.endToEndLag]].flat());
    expect(lagValueLists.flat()).toHaveLength(250);
    expect(new Set(lagValueLists.flat())).toEqual(new Set([2_500]));
    expect(Math.max(...lagValueLists.map((values) => values.length))).toBeLessThanOrEqual(100);
    expect(blobs.map((blob) => ({ service: blob.service }))).toEqual(
      blobs.map(() => streamMetricDimensions(CONSUMER)),
    );
    expect(blobs.at(-1)).toMatchObject({
      [STREAM_METRICS.recordsProcessed]: 250,
      [STREAM_METRICS.recordsFailed]: 0,
      [STREAM_METRICS.recordsDeadLettered]: 0,
      _aws: { CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service']] }] },
    });
  });
});
