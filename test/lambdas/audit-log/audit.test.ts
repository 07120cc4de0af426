import { gunzipSync } from 'node:zlib';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  createAuditBatchHandler,
  createAuditHandler,
  UNKNOWN_TABLE_NAME,
} from '../../../lambdas/audit-log/audit.js';
import type { AuditLine } from '../../../lambdas/audit-log/audit-line.js';
import { AUDIT_LOG_CONSUMER_NAME } from '../../../lambdas/audit-log/names.js';
import { PermanentError, TransientError } from '../../../lambdas/shared/errors.js';
import { type ChangeRecord, toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import type { BatchOutcomes } from '../../../lambdas/shared/stream/stream-handler.js';
import {
  createStreamRecordFactory,
  lambdaContext,
  RecordingDeadLetterQueue,
  RecordingMetrics,
  streamEvent,
} from '../../support/stream-records.js';
import { InMemoryAuditStore, silentLogger, streamContext } from './fakes.js';
import { changeRecord, ORDER_KEYS } from './records.js';

const FIRST = 400_000_000_000_000_000_001n;

function batch(count = 3): ChangeRecord[] {
  const factory = createStreamRecordFactory({ firstSequenceNumber: FIRST });
  const records = [];
  for (let i = 0; i < count; i += 1) {
    const order = { orderId: `o-${i}`, status: 'PLACED', totalCents: 100 };
    if (i % 3 === 0) records.push(factory.insert(order));
    else if (i % 3 === 1) records.push(factory.modify(order, { ...order, status: 'PAID' }));
    else records.push(factory.ttlRemove(order));
  }
  return records.map(toChangeRecord);
}

function kinds(outcomes: BatchOutcomes, records: readonly ChangeRecord[]): string[] {
  return records.map((record) => outcomes.get(record.sequenceNumber)?.kind ?? 'missing');
}

function linesOf(body: Buffer | undefined): AuditLine[] {
  expect(body).toBeDefined();
  return gunzipSync(body as Buffer)
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditLine);
}

const EXPECTED_KEY =
  'table=Orders/dt=2024-05-01/hour=12/400000000000000000001-400000000000000000003.jsonl.gz';

describe('AUDIT_LOG_CONSUMER_NAME', () => {
  it('is audit-log, from the dependency-free names module', () => {
    expect(AUDIT_LOG_CONSUMER_NAME).toBe('audit-log');
  });
});

describe('createAuditBatchHandler', () => {
  it('writes one object per batch, one line per record in stream order, and reports every record ok', async () => {
    // Prepare
    const store = new InMemoryAuditStore();
    const records = batch(3);

    // Act
    const outcomes = await createAuditBatchHandler({ store })(records, streamContext());

    // Assess
    expect(kinds(outcomes, records)).toStrictEqual(['ok', 'ok', 'ok']);
    expect(store.puts).toStrictEqual([{ key: EXPECTED_KEY, result: 'created' }]);
    const lines = linesOf(store.objects.get(EXPECTED_KEY));
    expect(lines.map((line) => [line.sequenceNumber, line.eventName, line.actor])).toStrictEqual([
      ['400000000000000000001', 'INSERT', 'user'],
      ['400000000000000000002', 'MODIFY', 'user'],
      ['400000000000000000003', 'REMOVE', 'ttl'],
    ]);
    expect(lines[1]?.changedAttributes).toStrictEqual(['status']);
  });

  it('answers a re-delivered batch from the object already stored: same key, exists, all ok', async () => {
    // Prepare
    const store = new InMemoryAuditStore();
    const handle = createAuditBatchHandler({ store });
    const records = batch(3);
    await handle(records, streamContext());
    const stored = store.objects.get(EXPECTED_KEY);

    // Act
    const outcomes = await handle(batch(3), streamContext());

    // Assess
    expect(kinds(outcomes, records)).toStrictEqual(['ok', 'ok', 'ok']);
    expect(store.puts).toStrictEqual([
      { key: EXPECTED_KEY, result: 'created' },
      { key: EXPECTED_KEY, result: 'exists' },
    ]);
    expect(store.objects.size).toBe(1);
    expect(store.objects.get(EXPECTED_KEY)).toBe(stored);
  });

  it.each([
    [
      'a 5xx',
      new S3ServiceException({
        name: 'InternalError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
        message: 'boom',
      }),
    ],
    [
      'a 400 (never about a record: the body is ours)',
      new S3ServiceException({
        name: 'InvalidRequest',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'bad',
      }),
    ],
    ['a PermanentError', new PermanentError('odd')],
    ['a TransientError', new TransientError('conflict')],
    ['a plain Error', new Error('bug')],
  ])('reports every record transient when the put throws %s', async (_name, failure) => {
    // Prepare
    const store = new InMemoryAuditStore();
    store.failNext = failure;
    const records = batch(4);

    // Act
    const outcomes = await createAuditBatchHandler({ store })(records, streamContext());

    // Assess
    expect(kinds(outcomes, records)).toStrictEqual(['transient', 'transient', 'transient', 'transient']);
    const outcome = outcomes.get(records[0]?.sequenceNumber ?? '');
    expect(outcome).toMatchObject({ kind: 'transient', error: failure });
    expect(outcome?.kind === 'transient' ? outcome.reason : '').toContain('table=Orders/');
    expect(store.puts).toHaveLength(1);
  });

  it('writes nothing for an empty batch', async () => {
    // Prepare
    const store = new InMemoryAuditStore();

    // Act
    const outcomes = await createAuditBatchHandler({ store })([], streamContext());

    // Assess
    expect(outcomes.size).toBe(0);
    expect(store.puts).toHaveLength(0);
  });

  it('fails only an unserializable record permanently and writes the others', async () => {
    // Prepare
    const store = new InMemoryAuditStore();
    const [first, second, third] = batch(3) as [ChangeRecord, ChangeRecord, ChangeRecord];
    const broken = {
      ...second,
      raw: { ...second.raw, dynamodb: { ...second.raw.dynamodb, NewImage: { x: { N: 1n } } } },
    } as unknown as ChangeRecord;
    const records = [first, broken, third];

    // Act
    const outcomes = await createAuditBatchHandler({ store })(records, streamContext());

    // Assess
    expect(kinds(outcomes, records)).toStrictEqual(['ok', 'permanent', 'ok']);
    const [key] = [...store.objects.keys()];
    expect(key).toMatch(/\/400000000000000000001-400000000000000000003\.jsonl\.gz$/);
    expect(linesOf(store.objects.get(key ?? '')).map((line) => line.sequenceNumber)).toStrictEqual([
      '400000000000000000001',
      '400000000000000000003',
    ]);
  });

  describe.each([
    ['the ARN', 'arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/label', 'Fallback', 'Orders', 0],
    ['the configured name (no ARN)', null, 'Fallback', 'Fallback', 0],
    ['the configured name (not a stream ARN)', 'not-an-arn', 'Fallback', 'Fallback', 0],
    ['_unknown with a warning (no ARN, none configured)', null, undefined, UNKNOWN_TABLE_NAME, 1],
  ] as const)('table name from %s', (_name, eventSourceArn, tableName, expected, warnings) => {
    it(`keys the object under table=${expected}`, async () => {
      // Prepare
      const store = new InMemoryAuditStore();
      const logger = silentLogger();
      const record = changeRecord({ eventName: 'INSERT', newImage: ORDER_KEYS, eventSourceArn });
      const handle = createAuditBatchHandler(tableName === undefined ? { store } : { store, tableName });

      // Act
      const outcomes = await handle([record], streamContext(logger));

      // Assess
      expect(kinds(outcomes, [record])).toStrictEqual(['ok']);
      expect([...store.objects.keys()][0]).toMatch(new RegExp(`^table=${expected}/dt=2024-05-01/hour=12/`));
      expect(logger.warnings).toHaveLength(warnings);
    });
  });
});

describe('createAuditHandler', () => {
  function setup() {
    const store = new InMemoryAuditStore();
    const deadLetterQueue = new RecordingDeadLetterQueue();
    const metrics = new RecordingMetrics();
    const handler = createAuditHandler({
      consumerName: AUDIT_LOG_CONSUMER_NAME,
      deadLetterQueue,
      store,
      logger: silentLogger(),
      metrics,
      clock: () => Date.UTC(2024, 4, 1, 12, 0, 1),
    });
    const factory = createStreamRecordFactory({ firstSequenceNumber: FIRST });
    const event = streamEvent(
      factory.insert({ orderId: 'o-1', status: 'PLACED' }),
      factory.modify({ orderId: 'o-1', status: 'PLACED' }, { orderId: 'o-1', status: 'PAID' }),
      factory.remove({ orderId: 'o-1', status: 'PAID' }),
    );
    return { store, deadLetterQueue, metrics, handler, event };
  }

  it('stores the batch and reports no failures; a re-delivery stores nothing new and succeeds', async () => {
    // Prepare
    const { store, handler, event, deadLetterQueue } = setup();

    // Act
    const first = await handler(event, lambdaContext());
    const again = await handler(event, lambdaContext());

    // Assess
    expect(first).toStrictEqual({ batchItemFailures: [] });
    expect(again).toStrictEqual({ batchItemFailures: [] });
    expect(store.puts.map((put) => put.result)).toStrictEqual(['created', 'exists']);
    expect(deadLetterQueue.letters).toHaveLength(0);
  });

  it('reports every record of the batch when the put fails', async () => {
    // Prepare
    const { store, handler, event, deadLetterQueue } = setup();
    store.failNext = new TransientError('S3 down');

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toStrictEqual([
      '400000000000000000001',
      '400000000000000000002',
      '400000000000000000003',
    ]);
    expect(deadLetterQueue.letters).toHaveLength(0);
  });
});
