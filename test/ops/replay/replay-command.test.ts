import 'aws-sdk-client-mock-vitest/extend';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runOpsCli } from '../../../ops/ops-cli.js';
import { auditObjectOf } from '../../support/audit-objects.js';
import { createStreamRecordFactory } from '../../support/stream-records.js';
import {
  captureIo,
  consumerOutput,
  createFakeAws,
  createFakeFunction,
  createFakeQueue,
  createFakeStream,
  createSqsClient,
  depsFor,
  STAGE,
} from '../ops-fixtures.js';

const BUCKET = 'value-of-OpsAuditBucketName';
const TABLE = 'value-of-OpsOrdersTableName';
/** 2024-05-01T12:00:00Z in epoch seconds. */
const NOON = 1_714_564_800;

const s3 = mockClient(S3Client);

/** A GetObject body: the reader takes a byte array as it takes the SDK's stream. */
function bodyOf(bytes: Buffer): never {
  return new Uint8Array(bytes) as never;
}

/** The S3 mock answers ListObjectsV2 per prefix and GetObject per key with the objects the audit log would write. */
function storeInS3(batches: readonly (readonly DynamoDBRecord[])[]): string[] {
  const keys: string[] = [];
  for (const batch of batches) {
    const { key, bytes } = auditObjectOf(TABLE, batch);
    keys.push(key);
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: key }).callsFake(() => ({ Body: bodyOf(bytes) }));
  }
  s3.on(ListObjectsV2Command).callsFake((input: { Prefix?: string }) => ({
    Contents: keys.filter((key) => key.startsWith(input.Prefix ?? '')).map((Key) => ({ Key })),
    IsTruncated: false,
  }));
  return keys;
}

function ordersRecords(count: number, firstSecond = NOON): DynamoDBRecord[] {
  const factory = createStreamRecordFactory({ tableName: TABLE });
  return Array.from({ length: count }, (_, i) =>
    factory.insert({ orderId: `o-${i}`, totalCents: i }, { approximateCreationDateTime: firstSecond + i }),
  );
}

const seqOf = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? '';

async function run(argv: readonly string[], fn = createFakeFunction()) {
  const io = captureIo();
  const fake = createFakeAws(createSqsClient(), {
    functions: fn,
  });
  const code = await runOpsCli(['replay', ...argv, '--stage', STAGE], io, depsFor(fake));
  return { code, out: io.out(), err: io.err(), fn, fake };
}

beforeEach(() => {
  s3.reset();
});

describe('npm run ops -- replay', () => {
  it('reads the window from the audit bucket and invokes the consumer in stream order, 100 per invocation', async () => {
    // Prepare: 250 changes from 12:00:00 on, one per second
    const records = ordersRecords(250);
    storeInS3([records.slice(0, 120), records.slice(120)]);

    // Act
    const { code, out, err, fn } = await run([
      'search-sync',
      '--from',
      '2024-05-01T12:00:10Z',
      '--to',
      '2024-05-01T12:04:00Z',
      '--json',
    ]);

    // Assess: seconds 10 to 239 are in the window
    expect(code).toBe(0);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: BUCKET,
      Prefix: `table=${TABLE}/dt=2024-05-01/`,
    });
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 2);
    expect(fn.invocations.map((invocation) => invocation.functionName)).toEqual(
      Array(3).fill(consumerOutput('search-sync', 'FunctionName')),
    );
    expect(fn.invocations.map((invocation) => invocation.sequenceNumbers.length)).toEqual([100, 100, 30]);
    expect(fn.invocations.flatMap((invocation) => invocation.sequenceNumbers)).toEqual(
      records.slice(10, 240).map(seqOf),
    );
    expect(JSON.parse(out)).toMatchObject({
      stage: STAGE,
      consumer: 'search-sync',
      from: '2024-05-01T12:00:10.000Z',
      to: '2024-05-01T12:04:00.000Z',
      records: 230,
      recordsDone: 230,
      invocations: 3,
      stoppedAt: null,
      ok: true,
    });
    expect(err).toContain('230 change(s) read from 2 object(s), 230 done');
  });

  it('stops at the first invocation not done and prints the command that goes on from there', async () => {
    // Prepare
    const records = ordersRecords(150);
    storeInS3([records]);
    const fn = createFakeFunction();
    fn.failing.add(seqOf(records[120] as DynamoDBRecord));

    // Act
    const { code, out } = await run(
      ['order-fanout', '--from', '2024-05-01', '--to', '2024-05-02', '--region', 'eu-west-1'],
      fn,
    );

    // Assess
    expect(code).toBe(1);
    expect(fn.invocations).toHaveLength(2);
    expect(out).toContain(
      `Stopped at seq ${seqOf(records[100] as DynamoDBRecord)} (2024-05-01T12:01:40.000Z)`,
    );
    expect(out).toContain(
      `npm run ops -- replay order-fanout --from 2024-05-01T12:01:40.000Z --to 2024-05-02T00:00:00.000Z --stage ${STAGE} --region eu-west-1`,
    );
  });

  it('--dry-run reads and counts, and invokes nothing', async () => {
    // Prepare
    storeInS3([ordersRecords(5)]);

    // Act
    const { code, out, fn } = await run(['order-fanout', '--from', '2024-05-01', '--dry-run']);

    // Assess: --to defaults to now (NOW of the fixtures, 2024-05-01T12:00:00Z): nothing of the window is after it
    expect(code).toBe(0);
    expect(fn.invocations).toEqual([]);
    expect(out).toContain(
      'Dry run of replay order-fanout 2024-05-01T00:00:00.000Z..2024-05-01T12:00:00.000Z',
    );
  });

  it.each([
    [['audit-log', '--from', '2024-05-01'], 'replay audit-log: the audit log is what a replay reads'],
    [
      ['vote-aggregator', '--from', '2024-05-01'],
      'replay vote-aggregator: the audit log keeps the Orders table only',
    ],
    [['search-sync'], '--from is required'],
    [['search-sync', '--from', '2024-05-01T12:00:00'], '--from must be an ISO-8601 date-time with its zone'],
    [['search-sync', '--from', '2024-05-01', '--to', 'yesterday'], '--to must be an ISO-8601 date-time'],
    [
      ['search-sync', '--from', '2024-05-02', '--to', '2024-05-01'],
      '--to (2024-05-01T00:00:00.000Z) must be after --from',
    ],
    [['search-sync', '--from', '2024-01-01', '--to', '2024-03-01'], 'may be 31 days apart at most'],
    [['search-sync', '--from', '2024-05-01', '--limit', '3'], '--limit does not apply to replay'],
  ])('%j exits 2 naming the flag or argument, before reading anything', async (argv, message) => {
    // Act
    const { code, err, fn } = await run(argv);

    // Assess
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 0);
    expect(fn.invocations).toEqual([]);
  });
});

describe('npm run ops -- redrive, past the stream', () => {
  function onFailureLetter(records: readonly DynamoDBRecord[], batchSize = records.length): string {
    return JSON.stringify({
      requestContext: {
        requestId: 'r-1',
        functionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${consumerOutput('order-fanout', 'FunctionName')}`,
        condition: 'MaximumRecordAgeExceeded',
        approximateInvokeCount: 4,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2024-05-01T13:00:00.000Z',
      DDBStreamBatchInfo: {
        shardId: 'shardId-1',
        startSequenceNumber: seqOf(records[0] as DynamoDBRecord),
        endSequenceNumber: seqOf(records.at(-1) as DynamoDBRecord),
        approximateArrivalOfFirstRecord: '2024-05-01T12:00:00Z',
        approximateArrivalOfLastRecord: '2024-05-01T12:00:02Z',
        batchSize,
        streamArn: records[0]?.eventSourceARN,
      },
    });
  }

  async function redrive(letter: string) {
    const queue = createFakeQueue();
    queue.send('m-1', letter);
    const fn = createFakeFunction();
    const io = captureIo();
    const fake = createFakeAws(createSqsClient(), {
      deadLetterQueues: queue,
      functions: fn,
      streams: createFakeStream(new Map([['shardId-1', 'trimmed']])),
    });
    const code = await runOpsCli(['redrive', 'order-fanout', '--stage', STAGE, '--json'], io, depsFor(fake));
    return { code, out: JSON.parse(io.out()), fn, queue };
  }

  it('reads an Orders range the stream no longer holds from the audit log, invokes it and deletes the letter', async () => {
    // Prepare
    const records = ordersRecords(6);
    storeInS3([records]);

    // Act
    const { code, out, fn, queue } = await redrive(onFailureLetter(records.slice(1, 4)));

    // Assess
    expect(code).toBe(0);
    expect(fn.invocations.flatMap((invocation) => invocation.sequenceNumbers)).toEqual(
      records.slice(1, 4).map(seqOf),
    );
    expect(queue.deletedIds).toEqual(['m-1']);
    expect(out).toMatchObject({ redriven: 1, recordsInvoked: 3 });
  });

  it('keeps the letter when the audit log does not hold exactly the range', async () => {
    // Prepare: the range says 4 records; the audit log holds 3 between its bounds
    const records = ordersRecords(6);
    storeInS3([records]);

    // Act
    const { code, out, fn, queue } = await redrive(onFailureLetter(records.slice(1, 4), 4));

    // Assess
    expect(code).toBe(1);
    expect(fn.invocations).toEqual([]);
    expect(queue.deletedIds).toEqual([]);
    expect(out.unrecoverable[0].reason).toContain(
      `the audit log holds 3 of the range's 4 record(s) (s3://${BUCKET})`,
    );
  });
});
