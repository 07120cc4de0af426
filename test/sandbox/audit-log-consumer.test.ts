import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_LOG_CONSUMER_NAME } from '../../lambdas/audit-log/names.js';
import { LocalS3Client, readBucketJournal } from '../../sandbox/adapters/local-s3.js';
import { auditLogConsumerFactory } from '../../sandbox/audit-log-consumer.js';
import type { LocalAdapters } from '../../sandbox/consumer-factory.js';
import { ConsumerWiringError } from '../../sandbox/consumer-factory.js';
import { CONSUMER_FACTORIES } from '../../sandbox/consumers.js';

const BUCKET = 'audit-bucket';
const STREAM_ARN =
  'arn:aws:dynamodb:ddblocal:000000000000:table/sandbox-Orders/stream/2026-11-21T00:00:00.000';

const ENVIRONMENT = {
  CONSUMER_NAME: 'audit-log',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.sandbox.localhost/000000000000/audit-log-dlq',
  AUDIT_BUCKET_NAME: BUCKET,
};

/** Adapters with a real S3 stand-in; the other parts record that they were asked for. */
function adapters(s3: LocalS3Client, asked: string[]): LocalAdapters {
  const record =
    (name: string) =>
    (...args: unknown[]): never => {
      asked.push(`${name}(${args.map((arg) => JSON.stringify(arg)).join(',')})`);
      // One object serves as logger, metrics and DLQ: the happy path below uses none of them for real.
      const noop = (): void => {};
      return {
        info: noop,
        warn: noop,
        error: noop,
        debug: noop,
        addContext: noop,
        addMetric: noop,
        publishStoredMetrics: noop,
        send: async () => {},
      } as never;
    };
  return {
    documentClient: {} as never,
    outputDir: '/nowhere',
    deadLetterQueue: record('deadLetterQueue'),
    queue: record('queue'),
    logger: record('logger'),
    metrics: record('metrics'),
    clock: () => Date.parse('2026-11-21T10:00:00Z'),
    sns: {} as never,
    ses: {} as never,
    sqs: {} as never,
    s3,
    dynamoDb: record('dynamoDb'),
    openSearch: {} as never,
    openSearchClient: record('openSearchClient'),
  };
}

/** A stream event of `count` INSERTs of orders o-1..o-count. */
function insertEvent(count: number): DynamoDBStreamEvent {
  return {
    Records: Array.from({ length: count }, (_, index) => ({
      eventID: `event-${index + 1}`,
      eventName: 'INSERT' as const,
      eventSource: 'aws:dynamodb',
      eventSourceARN: STREAM_ARN,
      awsRegion: 'ddblocal',
      dynamodb: {
        ApproximateCreationDateTime: Date.parse('2026-11-21T09:59:00Z') / 1000,
        Keys: { orderId: { S: `o-${index + 1}` } },
        NewImage: { orderId: { S: `o-${index + 1}` }, totalCents: { N: '1999' } },
        SequenceNumber: String(100 + index),
        SizeBytes: 50,
        StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
      },
    })),
  };
}

const CONTEXT = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'request-1' } as unknown as Context;

describe('auditLogConsumerFactory', () => {
  let outputDir: string;

  beforeEach(() => {
    outputDir = mkdtempSync(join(tmpdir(), 'audit-log-consumer-'));
  });

  afterEach(() => {
    rmSync(outputDir, { recursive: true, force: true });
  });

  it("is the registry's factory for the audit-log consumer", () => {
    // Assess
    expect(CONSUMER_FACTORIES[AUDIT_LOG_CONSUMER_NAME]).toBe(auditLogConsumerFactory);
  });

  it('builds the Lambda composition on the S3 stand-in: one object per batch in the bucket the template names', async () => {
    // Prepare
    const s3 = new LocalS3Client({ outputDir, buckets: [BUCKET] });
    const asked: string[] = [];
    const fn = auditLogConsumerFactory(ENVIRONMENT, adapters(s3, asked));

    // Act
    const response = await fn(insertEvent(3), CONTEXT);
    const again = await fn(insertEvent(3), CONTEXT);
    await s3.flush();

    // Assess: stored once; the re-delivery met its own object (412) and succeeded.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    expect(asked).toEqual([
      `deadLetterQueue("${ENVIRONMENT.DEAD_LETTER_QUEUE_URL}")`,
      'logger("audit-log")',
      'metrics("audit-log")',
    ]);
    const journal = await readBucketJournal(outputDir, BUCKET);
    const key = 'table=sandbox-Orders/dt=2026-11-21/hour=09/100-102.jsonl.gz';
    expect(journal.map((entry) => [entry.key, entry.result, entry.ifNoneMatch])).toEqual([
      [key, 'created', true],
      [key, 'precondition-failed', true],
    ]);
    const stored = gunzipSync(
      await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray(),
    ).toString('utf8');
    expect(
      stored
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { orderId: string }).orderId),
    ).toEqual(['o-1', 'o-2', 'o-3']);
  });

  it.each(['CONSUMER_NAME', 'DEAD_LETTER_QUEUE_URL', 'AUDIT_BUCKET_NAME'])(
    'fails naming %s when the template does not set it',
    (name) => {
      // Prepare
      const { [name as keyof typeof ENVIRONMENT]: _left, ...env } = ENVIRONMENT;

      // Act
      const build = (): unknown =>
        auditLogConsumerFactory(env, adapters(new LocalS3Client({ outputDir, buckets: [] }), []));

      // Assess
      expect(build).toThrow(ConsumerWiringError);
      expect(build).toThrow(name);
    },
  );
});
