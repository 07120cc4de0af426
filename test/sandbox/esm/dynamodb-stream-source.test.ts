import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  PutItemCommand,
  UpdateItemCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbStreamSource,
  GET_RECORDS_MAX_LIMIT,
  latestStreamArn,
  localStreamsClient,
  TableHasNoStreamError,
} from '../../../sandbox/esm/dynamodb-stream-source.js';
import type { ShardReader } from '../../../sandbox/esm/types.js';
import { localDynamoDb } from '../../support/dynamodb.js';

/** 2030-01-01T00:00:37.500Z: a second DynamoDB Local's minute truncation could never produce, and a fraction. */
const READ_AT_MS = Date.UTC(2030, 0, 1, 0, 0, 37, 500);
const READ_AT_SECONDS = Math.floor(READ_AT_MS / 1000);

interface StreamTable {
  readonly tableName: string;
  readonly streamArn: string;
}

const createdTables: string[] = [];
let streams: DynamoDBStreamsClient;

/** A fresh table of its own per test (its stream then holds only that test's records), keyed by `id`. */
async function createStreamTable(options: { stream?: boolean } = {}): Promise<StreamTable> {
  const { client } = localDynamoDb();
  const tableName = `esm-source-${randomUUID()}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      ...(options.stream === false
        ? {}
        : { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }),
    }),
  );
  createdTables.push(tableName);
  return { tableName, streamArn: options.stream === false ? '' : await latestStreamArn(client, tableName) };
}

async function putItem(tableName: string, id: string, extra: Record<string, unknown> = {}): Promise<void> {
  await localDynamoDb().client.send(
    new PutItemCommand({
      TableName: tableName,
      Item: { id: { S: id }, ...(extra as Record<string, never>) },
    }),
  );
}

/** A source with a clock the test moves. */
function sourceFor(table: StreamTable, clock: { now: number }): DynamoDbStreamSource {
  return new DynamoDbStreamSource({ client: streams, streamArn: table.streamArn, clock: () => clock.now });
}

async function onlyShard(source: DynamoDbStreamSource): Promise<string> {
  const shards = await source.listShards();
  expect(shards).toHaveLength(1);
  return shards[0]!.shardId;
}

/**
 * Reads until `count` records arrived: DynamoDB Local serves a write's record at once, but the reader contract allows
 * a read to return fewer records than there are, so a test must not rely on one read returning them all.
 */
async function readRecords(
  reader: ShardReader,
  count: number,
  after?: string,
): Promise<{ records: DynamoDBRecord[]; closed: boolean }> {
  const records: DynamoDBRecord[] = [];
  let position = after;
  for (let attempt = 0; attempt < 50 && records.length < count; attempt += 1) {
    const result = await reader.read(position, 100);
    records.push(...result.records);
    position = records.at(-1)?.dynamodb?.SequenceNumber ?? position;
    if (result.closed) {
      return { records, closed: true };
    }
  }
  return { records, closed: false };
}

describe('DynamoDbStreamSource against DynamoDB Local', () => {
  beforeAll(() => {
    streams = localStreamsClient(localDynamoDb().endpoint);
  });

  afterAll(async () => {
    const { client } = localDynamoDb();
    await Promise.all(createdTables.map((name) => client.send(new DeleteTableCommand({ TableName: name }))));
    streams.destroy();
  });

  it('reads INSERT, MODIFY and REMOVE of an item in order, in the shape of a Lambda event record', async () => {
    // Prepare
    const table = await createStreamTable();
    const { client } = localDynamoDb();
    await putItem(table.tableName, 'item-1', {
      status: { S: 'PLACED' },
      totalCents: { N: '12345678901234567890123456789012345678' },
      payload: { B: new Uint8Array([0, 1, 254, 255]) },
      tags: { BS: [new Uint8Array([1]), new Uint8Array([2])] },
      nested: { M: { list: { L: [{ N: '1.5' }, { BOOL: true }, { NULL: true }, { SS: ['a', 'b'] }] } } },
    });
    await client.send(
      new UpdateItemCommand({
        TableName: table.tableName,
        Key: { id: { S: 'item-1' } },
        UpdateExpression: 'SET #status = :status REMOVE payload, tags, nested, totalCents',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': { S: 'PAID' } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: table.tableName, Key: { id: { S: 'item-1' } } }));
    const source = sourceFor(table, { now: READ_AT_MS });
    const reader = source.reader(await onlyShard(source));

    // Act
    const { records } = await readRecords(reader, 3);

    // Assess
    const created = {
      id: { S: 'item-1' },
      status: { S: 'PLACED' },
      totalCents: { N: '12345678901234567890123456789012345678' },
      payload: { B: Buffer.from([0, 1, 254, 255]).toString('base64') },
      tags: { BS: ['AQ==', 'Ag=='] },
      nested: { M: { list: { L: [{ N: '1.5' }, { BOOL: true }, { NULL: true }, { SS: ['a', 'b'] }] } } },
    };
    const paid = { id: { S: 'item-1' }, status: { S: 'PAID' } };
    const shape = (eventName: string, images: { NewImage?: unknown; OldImage?: unknown }) => ({
      eventID: expect.any(String),
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      dynamodb: {
        ApproximateCreationDateTime: READ_AT_SECONDS,
        Keys: { id: { S: 'item-1' } },
        ...images,
        SequenceNumber: expect.stringMatching(/^\d+$/),
        SizeBytes: expect.any(Number),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: table.streamArn,
    });
    expect(records).toEqual([
      shape('INSERT', { NewImage: created }),
      shape('MODIFY', { NewImage: paid, OldImage: created }),
      shape('REMOVE', { OldImage: paid }),
    ]);
    const sequenceNumbers = records.map((record) => BigInt(record.dynamodb!.SequenceNumber!));
    expect([...sequenceNumbers].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequenceNumbers);
  });

  it('stamps a record with the time it was first read, and keeps the stamp when it is read again', async () => {
    // Prepare
    const table = await createStreamTable();
    const clock = { now: READ_AT_MS };
    const source = sourceFor(table, clock);
    const shardId = await onlyShard(source);
    await putItem(table.tableName, 'first');
    const first = await readRecords(source.reader(shardId), 1);
    clock.now = READ_AT_MS + 90_000;
    await putItem(table.tableName, 'second');

    // Act: a retry from the shard's start through a new reader, as another mapping would read it
    const again = await readRecords(source.reader(shardId), 2);

    // Assess
    expect(first.records.map((r) => r.dynamodb?.ApproximateCreationDateTime)).toEqual([READ_AT_SECONDS]);
    expect(
      again.records.map((r) => [r.dynamodb?.Keys?.id?.S, r.dynamodb?.ApproximateCreationDateTime]),
    ).toEqual([
      ['first', READ_AT_SECONDS],
      ['second', READ_AT_SECONDS + 90],
    ]);
  });

  it.each([
    ['from the start, limited to 2', undefined, 2, ['r-0', 'r-1']],
    ['after the second record', 1, 100, ['r-2', 'r-3']],
    ['after the last record', 3, 100, []],
  ])('reads %s', async (_name, afterIndex, limit, expectedIds) => {
    // Prepare
    const table = await createStreamTable();
    for (const id of ['r-0', 'r-1', 'r-2', 'r-3']) {
      await putItem(table.tableName, id);
    }
    const source = sourceFor(table, { now: READ_AT_MS });
    const shardId = await onlyShard(source);
    const all = await readRecords(source.reader(shardId), 4);
    const after = afterIndex === undefined ? undefined : all.records[afterIndex]?.dynamodb?.SequenceNumber;
    const reader = source.reader(shardId);

    // Act
    const result = await reader.read(after, limit);

    // Assess
    expect(result.records.map((r) => r.dynamodb?.Keys?.id?.S)).toEqual(expectedIds);
    expect(result.closed).toBe(false);
  });

  it('re-positions a reader that already read further, e.g. to retry from a checkpoint', async () => {
    // Prepare
    const table = await createStreamTable();
    for (const id of ['r-0', 'r-1', 'r-2']) {
      await putItem(table.tableName, id);
    }
    const source = sourceFor(table, { now: READ_AT_MS });
    const reader = source.reader(await onlyShard(source));
    const { records } = await readRecords(reader, 3);

    // Act
    const retry = await reader.read(records[0]?.dynamodb?.SequenceNumber, 100);

    // Assess
    expect(retry.records.map((r) => r.dynamodb?.Keys?.id?.S)).toEqual(['r-1', 'r-2']);
  });

  it('reports the shard closed once its last record is read (here: the stream was disabled)', async () => {
    // Prepare
    const table = await createStreamTable();
    await putItem(table.tableName, 'before-close');
    const source = sourceFor(table, { now: READ_AT_MS });
    const shardId = await onlyShard(source);
    await localDynamoDb().client.send(
      new UpdateTableCommand({ TableName: table.tableName, StreamSpecification: { StreamEnabled: false } }),
    );
    const reader = source.reader(shardId);

    // Act
    const result = await readRecords(reader, 2);
    const afterEnd = await reader.read(result.records.at(-1)?.dynamodb?.SequenceNumber, 100);

    // Assess
    expect(result).toMatchObject({
      closed: true,
      records: [{ dynamodb: { Keys: { id: { S: 'before-close' } } } }],
    });
    expect(afterEnd).toEqual({ records: [], closed: true });
  });

  it("lists a new table's shard, without a parent", async () => {
    // Prepare
    const table = await createStreamTable();
    const source = sourceFor(table, { now: READ_AT_MS });

    // Act
    const shards = await source.listShards();

    // Assess
    expect(shards).toEqual([{ shardId: expect.stringMatching(/^shardId-/) }]);
  });

  it('refuses a table without a stream', async () => {
    // Prepare
    const table = await createStreamTable({ stream: false });

    // Act
    const result = latestStreamArn(localDynamoDb().client, table.tableName);

    // Assess
    await expect(result).rejects.toThrow(TableHasNoStreamError);
  });
});

describe('DynamoDbStreamSource with a mocked client', () => {
  const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/T/stream/2024-01-01T00:00:00.000';

  function mockedSource(): { source: DynamoDbStreamSource; mock: ReturnType<typeof mockClient> } {
    // An instance, not the class: mocking the class would mock the clients of the tests above too.
    const client = new DynamoDBStreamsClient({ region: 'eu-west-1' });
    return {
      source: new DynamoDbStreamSource({ client, streamArn: STREAM_ARN, clock: () => READ_AT_MS }),
      mock: mockClient(client),
    };
  }

  function sdkRecord(sequenceNumber: string) {
    return {
      eventID: `e-${sequenceNumber}`,
      eventName: 'INSERT' as const,
      dynamodb: { Keys: { id: { S: sequenceNumber } }, SequenceNumber: sequenceNumber },
    };
  }

  it('follows DescribeStream pages and keeps each shard parent', async () => {
    // Prepare
    const { source, mock } = mockedSource();
    mock
      .on(DescribeStreamCommand, { ExclusiveStartShardId: undefined })
      .resolves({ StreamDescription: { Shards: [{ ShardId: 'shard-1' }], LastEvaluatedShardId: 'shard-1' } })
      .on(DescribeStreamCommand, { ExclusiveStartShardId: 'shard-1' })
      .resolves({ StreamDescription: { Shards: [{ ShardId: 'shard-2', ParentShardId: 'shard-1' }] } });

    // Act
    const shards = await source.listShards();

    // Assess
    expect(shards).toEqual([{ shardId: 'shard-1' }, { shardId: 'shard-2', parentShardId: 'shard-1' }]);
  });

  it('replaces an expired iterator from the same position, without losing or repeating records', async () => {
    // Prepare
    const { source, mock } = mockedSource();
    mock
      .on(GetShardIteratorCommand, { ShardIteratorType: 'TRIM_HORIZON' })
      .resolves({ ShardIterator: 'iterator-start' })
      .on(GetShardIteratorCommand, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: '101' })
      .resolves({ ShardIterator: 'iterator-renewed' })
      .on(GetRecordsCommand, { ShardIterator: 'iterator-start' })
      .resolves({ Records: [sdkRecord('101')], NextShardIterator: 'iterator-expired' })
      .on(GetRecordsCommand, { ShardIterator: 'iterator-expired' })
      .rejects(new ExpiredIteratorException({ message: 'expired', $metadata: {} }))
      .on(GetRecordsCommand, { ShardIterator: 'iterator-renewed' })
      .resolves({ Records: [sdkRecord('102')], NextShardIterator: 'iterator-next' });
    const reader = source.reader('shard-1');
    await reader.read(undefined, 10);

    // Act
    const result = await reader.read('101', 10);

    // Assess
    expect(result.records.map((r) => r.dynamodb?.SequenceNumber)).toEqual(['102']);
    expect(mock.commandCalls(GetShardIteratorCommand).map((call) => call.args[0].input)).toEqual([
      { StreamArn: STREAM_ARN, ShardId: 'shard-1', ShardIteratorType: 'TRIM_HORIZON' },
      {
        StreamArn: STREAM_ARN,
        ShardId: 'shard-1',
        ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
        SequenceNumber: '101',
      },
    ]);
  });

  /** DynamoDB Local's answer through an iterator taken while the shard was still empty. */
  const trimmed = (): TrimmedDataAccessException =>
    new TrimmedDataAccessException({
      message: 'The operation attempted to read past the oldest stream record in a shard.',
      $metadata: {},
    });

  it('replaces an iterator refused as trimmed before anything was read with a new TRIM_HORIZON one, and reads on', async () => {
    // Prepare
    const { source, mock } = mockedSource();
    mock
      .on(GetShardIteratorCommand, { ShardIteratorType: 'TRIM_HORIZON' })
      .resolvesOnce({ ShardIterator: 'iterator-taken-while-empty' })
      .resolves({ ShardIterator: 'iterator-renewed' })
      .on(GetRecordsCommand, { ShardIterator: 'iterator-taken-while-empty' })
      .rejects(trimmed())
      .on(GetRecordsCommand, { ShardIterator: 'iterator-renewed' })
      .resolves({ Records: [sdkRecord('101'), sdkRecord('102')], NextShardIterator: 'iterator-next' });
    const reader = source.reader('shard-1');

    // Act
    const result = await reader.read(undefined, 10);

    // Assess
    expect(result).toMatchObject({ closed: false });
    expect(result.records.map((r) => r.dynamodb?.SequenceNumber)).toEqual(['101', '102']);
    expect(mock.commandCalls(GetShardIteratorCommand).map((call) => call.args[0].input)).toEqual([
      { StreamArn: STREAM_ARN, ShardId: 'shard-1', ShardIteratorType: 'TRIM_HORIZON' },
      { StreamArn: STREAM_ARN, ShardId: 'shard-1', ShardIteratorType: 'TRIM_HORIZON' },
    ]);
  });

  it('replaces an iterator refused as trimmed after a read with one after the last record read, without losing or repeating records', async () => {
    // Prepare
    const { source, mock } = mockedSource();
    mock
      .on(GetShardIteratorCommand, { ShardIteratorType: 'TRIM_HORIZON' })
      .resolves({ ShardIterator: 'iterator-start' })
      .on(GetShardIteratorCommand, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: '101' })
      .resolves({ ShardIterator: 'iterator-renewed' })
      .on(GetRecordsCommand, { ShardIterator: 'iterator-start' })
      .resolves({ Records: [sdkRecord('101')], NextShardIterator: 'iterator-trimmed' })
      .on(GetRecordsCommand, { ShardIterator: 'iterator-trimmed' })
      .rejects(trimmed())
      .on(GetRecordsCommand, { ShardIterator: 'iterator-renewed' })
      .resolves({ Records: [sdkRecord('102')], NextShardIterator: 'iterator-next' });
    const reader = source.reader('shard-1');
    const first = await reader.read(undefined, 10);

    // Act
    const second = await reader.read('101', 10);

    // Assess
    expect([...first.records, ...second.records].map((r) => r.dynamodb?.SequenceNumber)).toEqual([
      '101',
      '102',
    ]);
    expect(mock.commandCalls(GetShardIteratorCommand).map((call) => call.args[0].input)).toEqual([
      { StreamArn: STREAM_ARN, ShardId: 'shard-1', ShardIteratorType: 'TRIM_HORIZON' },
      {
        StreamArn: STREAM_ARN,
        ShardId: 'shard-1',
        ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
        SequenceNumber: '101',
      },
    ]);
  });

  it.each([
    [1, 1],
    [GET_RECORDS_MAX_LIMIT, GET_RECORDS_MAX_LIMIT],
    [10_000, GET_RECORDS_MAX_LIMIT],
  ])('asks GetRecords for at most 1,000 records (limit %i -> %i)', async (limit, expected) => {
    // Prepare
    const { source, mock } = mockedSource();
    mock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'iterator' });
    mock.on(GetRecordsCommand).resolves({ Records: [], NextShardIterator: 'iterator' });

    // Act
    await source.reader('shard-1').read(undefined, limit);

    // Assess
    expect(mock.commandCalls(GetRecordsCommand)[0]?.args[0].input.Limit).toBe(expected);
  });

  it('forgets the stamps of a shard once a listing no longer has it (trimmed)', async () => {
    // Prepare
    const clock = { now: READ_AT_MS };
    const client = new DynamoDBStreamsClient({ region: 'eu-west-1' });
    const mock = mockClient(client);
    const source = new DynamoDbStreamSource({ client, streamArn: STREAM_ARN, clock: () => clock.now });
    mock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'iterator' });
    mock.on(GetRecordsCommand).resolves({ Records: [sdkRecord('5')], NextShardIterator: 'iterator' });
    mock
      .on(DescribeStreamCommand)
      .resolvesOnce({ StreamDescription: { Shards: [{ ShardId: 'shard-1' }] } })
      .resolves({
        StreamDescription: { Shards: [{ ShardId: 'shard-2' }] },
      });
    await source.listShards();
    const first = await source.reader('shard-1').read(undefined, 10);
    clock.now = READ_AT_MS + 60_000;

    // Act
    const whileListed = await source.reader('shard-1').read(undefined, 10);
    await source.listShards();
    const afterTrim = await source.reader('shard-1').read(undefined, 10);

    // Assess
    const stampOf = (result: { records: DynamoDBRecord[] }) =>
      result.records[0]?.dynamodb?.ApproximateCreationDateTime;
    expect([stampOf(first), stampOf(whileListed), stampOf(afterTrim)]).toEqual([
      READ_AT_SECONDS,
      READ_AT_SECONDS,
      READ_AT_SECONDS + 60,
    ]);
  });

  it("passes a TTL delete's userIdentity on as Lambda does", async () => {
    // Prepare
    const { source, mock } = mockedSource();
    mock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'iterator' });
    mock.on(GetRecordsCommand).resolves({
      Records: [
        {
          ...sdkRecord('7'),
          eventName: 'REMOVE',
          userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' },
        },
      ],
      NextShardIterator: 'iterator',
    });

    // Act
    const { records } = await source.reader('shard-1').read(undefined, 10);

    // Assess
    expect(records[0]?.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
  });
});
