import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { _Record, DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import {
  type GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalS3Client } from '../../../sandbox/adapters/local-s3.js';
import {
  DynamoDbStreamSource,
  latestStreamArn,
  localStreamsClient,
  UnexpectedStreamResponseError,
} from '../../../sandbox/esm/dynamodb-stream-source.js';
import {
  type AuditBucketClient,
  readAuditObjects,
  readStreamRecords,
  toStreamRecordTruth,
} from '../../../verify/chaos/audit-observations.js';
import { localDynamoDb } from '../../support/dynamodb.js';

/** A record of the Streams API as the SDK gives it: an INSERT of order o-1. */
function sdkRecord(overrides: Partial<_Record> = {}): _Record {
  return {
    eventID: 'ev-1',
    eventName: 'INSERT',
    dynamodb: {
      ApproximateCreationDateTime: new Date('2030-01-01T12:34:00.000Z'),
      Keys: { orderId: { S: 'o-1' } },
      NewImage: { orderId: { S: 'o-1' }, version: { N: '1' } },
      SequenceNumber: '400000000000000000001',
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    ...overrides,
  };
}

describe('toStreamRecordTruth', () => {
  it('keeps the record as AttributeValue JSON, binary as base64, with its creation time in ms', () => {
    // Prepare
    const record = sdkRecord({
      dynamodb: {
        ...sdkRecord().dynamodb,
        NewImage: {
          orderId: { S: 'o-1' },
          blob: { B: new Uint8Array([1, 2, 255]) },
          tags: { BS: [new Uint8Array([0])] },
          nested: { M: { list: { L: [{ N: '1.50' }, { NULL: true }] } } },
        },
      },
    });

    // Act
    const truth = toStreamRecordTruth('shard-1', record);

    // Assess
    expect(truth).toEqual({
      shardId: 'shard-1',
      eventId: 'ev-1',
      eventName: 'INSERT',
      sequenceNumber: '400000000000000000001',
      approximateCreationTime: Date.parse('2030-01-01T12:34:00.000Z'),
      keys: { orderId: { S: 'o-1' } },
      newImage: {
        orderId: { S: 'o-1' },
        blob: { B: 'AQL/' },
        tags: { BS: ['AA=='] },
        nested: { M: { list: { L: [{ N: '1.50' }, { NULL: true }] } } },
      },
      actor: 'user',
    });
  });

  it.each([
    [
      'a REMOVE by the TTL process',
      'REMOVE',
      { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' },
      'ttl',
    ],
    ['a REMOVE by a user', 'REMOVE', undefined, 'user'],
    [
      'a REMOVE by another service',
      'REMOVE',
      { Type: 'Service', PrincipalId: 'example.amazonaws.com' },
      'user',
    ],
    [
      'a MODIFY signed by the TTL process',
      'MODIFY',
      { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' },
      'user',
    ],
  ] as const)('says who made %s', (_name, eventName, userIdentity, actor) => {
    // Act
    const truth = toStreamRecordTruth(
      'shard-1',
      sdkRecord({ eventName, ...(userIdentity === undefined ? {} : { userIdentity }) }),
    );

    // Assess
    expect(truth.actor).toBe(actor);
  });

  it.each([
    ['eventID', { eventID: undefined }],
    ['eventName', { eventName: undefined }],
    ['sequence number', { dynamodb: { ...sdkRecord().dynamodb, SequenceNumber: undefined } }],
    ['creation time', { dynamodb: { ...sdkRecord().dynamodb, ApproximateCreationDateTime: undefined } }],
    ['keys', { dynamodb: { ...sdkRecord().dynamodb, Keys: undefined } }],
  ])('refuses a record without its %s', (_name, overrides) => {
    // Act + Assess
    expect(() => toStreamRecordTruth('shard-1', sdkRecord(overrides))).toThrow(UnexpectedStreamResponseError);
  });
});

describe('readStreamRecords against DynamoDB Local', () => {
  const createdTables: string[] = [];
  let streams: DynamoDBStreamsClient;

  /** A fresh table keyed by orderId with a NEW_AND_OLD_IMAGES stream, so its stream holds this test's records only. */
  async function createStreamTable(): Promise<{ tableName: string; streamArn: string }> {
    const { client } = localDynamoDb();
    const tableName = `audit-observations-${randomUUID()}`;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'orderId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    createdTables.push(tableName);
    return { tableName, streamArn: await latestStreamArn(client, tableName) };
  }

  beforeAll(() => {
    streams = localStreamsClient(localDynamoDb().endpoint);
  });

  afterAll(async () => {
    const { client } = localDynamoDb();
    await Promise.all(createdTables.map((TableName) => client.send(new DeleteTableCommand({ TableName }))));
    streams.destroy();
  });

  it('reads every record of the stream from its start, with keys and raw images', async () => {
    // Prepare: an order placed, paid and deleted, with a binary attribute.
    const { client } = localDynamoDb();
    const { tableName, streamArn } = await createStreamTable();
    const Key = { orderId: { S: 'o-1' } };
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { ...Key, status: { S: 'PLACED' }, version: { N: '1' }, blob: { B: new Uint8Array([7]) } },
      }),
    );
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key,
        UpdateExpression: 'SET #s = :s, version = :v',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'PAID' }, ':v': { N: '2' } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: tableName, Key }));
    const [shard] = await new DynamoDbStreamSource({ client: streams, streamArn }).listShards();

    // Act
    const records = await readStreamRecords(streams, streamArn);

    // Assess
    const placed = {
      orderId: { S: 'o-1' },
      status: { S: 'PLACED' },
      version: { N: '1' },
      blob: { B: 'Bw==' },
    };
    const paid = { ...placed, status: { S: 'PAID' }, version: { N: '2' } };
    expect(records).toMatchObject([
      { shardId: shard?.shardId, eventName: 'INSERT', keys: Key, newImage: placed, actor: 'user' },
      {
        shardId: shard?.shardId,
        eventName: 'MODIFY',
        keys: Key,
        oldImage: placed,
        newImage: paid,
        actor: 'user',
      },
      { shardId: shard?.shardId, eventName: 'REMOVE', keys: Key, oldImage: paid, actor: 'user' },
    ]);
    expect(records[0]).not.toHaveProperty('oldImage');
    expect(records[2]).not.toHaveProperty('newImage');
    expect(new Set(records.map((record) => record.eventId)).size).toBe(3);
    const sequence = records.map((record) => BigInt(record.sequenceNumber));
    expect([...sequence].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequence);
    for (const record of records) {
      expect(record.approximateCreationTime).toBeLessThanOrEqual(Date.now());
      expect(record.approximateCreationTime).toBeGreaterThan(Date.now() - 5 * 60_000);
    }
  });

  it('reads nothing from a stream without records', async () => {
    // Prepare
    const { streamArn } = await createStreamTable();

    // Act
    const records = await readStreamRecords(streams, streamArn);

    // Assess
    expect(records).toEqual([]);
  });
});

describe('readAuditObjects', () => {
  let outputDir: string;

  beforeAll(async () => {
    outputDir = await mkdtemp(join(tmpdir(), 'audit-observations-'));
  });

  afterAll(async () => {
    await rm(outputDir, { recursive: true, force: true });
  });

  it('reads every object of a local bucket with its bytes, in key order', async () => {
    // Prepare
    const s3 = new LocalS3Client({ outputDir, buckets: ['audit-bucket', 'other-bucket'] });
    const put = (Bucket: string, Key: string, body: string) =>
      s3.send(new PutObjectCommand({ Bucket, Key, Body: Buffer.from(body), IfNoneMatch: '*' }));
    await put('audit-bucket', 'table=t/dt=2030-01-01/hour=13/2-2.jsonl.gz', 'second');
    await put('audit-bucket', 'table=t/dt=2030-01-01/hour=12/1-1.jsonl.gz', 'first');
    await put('other-bucket', 'table=t/dt=2030-01-01/hour=12/9-9.jsonl.gz', 'elsewhere');

    // Act
    const objects = await readAuditObjects(s3, 'audit-bucket');

    // Assess
    expect(
      objects.map((object) => ({ key: object.key, text: Buffer.from(object.body).toString('utf8') })),
    ).toEqual([
      { key: 'table=t/dt=2030-01-01/hour=12/1-1.jsonl.gz', text: 'first' },
      { key: 'table=t/dt=2030-01-01/hour=13/2-2.jsonl.gz', text: 'second' },
    ]);
  });

  it('follows the listing page by page', async () => {
    // Prepare: a bucket of five objects listed two per page.
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const listed: (string | undefined)[] = [];
    const client = {
      send: async (command: ListObjectsV2Command | GetObjectCommand) => {
        if (command instanceof ListObjectsV2Command) {
          listed.push(command.input.ContinuationToken);
          const start = Number(command.input.ContinuationToken ?? '0');
          const next = start + 2;
          return {
            Contents: keys.slice(start, next).map((Key) => ({ Key })),
            IsTruncated: next < keys.length,
            ...(next < keys.length ? { NextContinuationToken: String(next) } : {}),
            $metadata: {},
          } satisfies ListObjectsV2CommandOutput;
        }
        const key = command.input.Key ?? '';
        return {
          Body: { transformToByteArray: async () => new Uint8Array(Buffer.from(key)) },
          $metadata: {},
        } as unknown as GetObjectCommandOutput;
      },
    } as AuditBucketClient;

    // Act
    const objects = await readAuditObjects(client, 'audit-bucket');

    // Assess
    expect(objects.map((object) => Buffer.from(object.body).toString('utf8'))).toEqual(keys);
    expect(listed).toEqual([undefined, '2', '4']);
  });
});
