import {
  type _Record,
  type AttributeValue,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { AuditImage, AuditJson } from '../../lambdas/audit-log/audit-line.js';
import { S3AuditObjects, type S3ReadClient } from '../../ops/audit-history/audit-objects.js';
import {
  DynamoDbStreamSource,
  GET_RECORDS_MAX_LIMIT,
  UnexpectedStreamResponseError,
} from '../../sandbox/esm/dynamodb-stream-source.js';
import type { StoredAuditObject, StreamRecordTruth } from './audit-invariants.js';

/**
 * What the audit check observes at the end of a chaos run (audit-invariants.ts): every record of the audited table's
 * stream, read independently of the consumers, and every object of the audit bucket.
 */

/**
 * Every record of every shard of a stream, from TRIM_HORIZON, in shard order, after the writes have stopped. The
 * shards are listed by the sandbox's own stream source (DescribeStream with its pagination and lineage); the records
 * are read here with GetRecords rather than through that source's readers, because a reader delivers Lambda's shape,
 * whose ApproximateCreationDateTime is the time the source first read the record, while the truth needs the
 * stream's own.
 *
 * An open shard is read until GetRecords returns nothing: DynamoDB Local serves everything a shard holds in pages of
 * up to GET_RECORDS_MAX_LIMIT without the empty pages real DynamoDB Streams can return mid-shard. A shard that never
 * got a record answers TrimmedDataAccessException through its TRIM_HORIZON iterator (DynamoDB Local): no records.
 */
export async function readStreamRecords(
  client: DynamoDBStreamsClient,
  streamArn: string,
): Promise<StreamRecordTruth[]> {
  const shards = await new DynamoDbStreamSource({ client, streamArn }).listShards();
  const records: StreamRecordTruth[] = [];
  for (const { shardId } of shards) {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    let iterator = ShardIterator;
    let read = 0;
    while (iterator !== undefined) {
      let page: { Records?: _Record[]; NextShardIterator?: string };
      try {
        page = await client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_MAX_LIMIT }),
        );
      } catch (error) {
        // Only the first read of an empty shard may be refused so; anywhere else records would go unseen.
        if (error instanceof TrimmedDataAccessException && read === 0) break;
        throw error;
      }
      const pageRecords = page.Records ?? [];
      read += pageRecords.length;
      records.push(...pageRecords.map((record) => toStreamRecordTruth(shardId, record)));
      iterator = pageRecords.length === 0 ? undefined : page.NextShardIterator;
    }
  }
  return records;
}

/** A record of the Streams API as the audit check's truth; anything a stream record always has is required. */
export function toStreamRecordTruth(shardId: string, record: _Record): StreamRecordTruth {
  const stream = record.dynamodb;
  const { eventID, eventName } = record;
  const sequenceNumber = stream?.SequenceNumber;
  const created = stream?.ApproximateCreationDateTime;
  if (
    eventID === undefined ||
    eventName === undefined ||
    sequenceNumber === undefined ||
    created === undefined ||
    stream?.Keys === undefined
  ) {
    throw new UnexpectedStreamResponseError(
      `Stream record ${eventID ?? '(no eventID)'} of ${shardId} lacks an eventName, sequence number, creation time or keys`,
    );
  }
  const oldImage = stream.OldImage === undefined ? undefined : toImage(stream.OldImage);
  const newImage = stream.NewImage === undefined ? undefined : toImage(stream.NewImage);
  // A TTL delete is DynamoDB's own REMOVE, signed by the service (docs/architecture.md, contract 6).
  const byTtl =
    eventName === 'REMOVE' &&
    record.userIdentity?.Type === 'Service' &&
    record.userIdentity.PrincipalId === 'dynamodb.amazonaws.com';
  return {
    shardId,
    eventId: eventID,
    eventName,
    sequenceNumber,
    approximateCreationTime: created.getTime(),
    keys: toImage(stream.Keys),
    ...(oldImage === undefined ? {} : { oldImage }),
    ...(newImage === undefined ? {} : { newImage }),
    actor: byTtl ? 'ttl' : 'user',
  };
}

/** An item of the SDK as AttributeValue JSON: binary (bytes in the SDK) as base64 text, as a Lambda event has it. */
function toImage(item: Record<string, AttributeValue>): AuditImage {
  return toJson(item) as AuditImage;
}

function toJson(value: unknown): AuditJson {
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        // The SDK's unions leave the members they do not use undefined; the wire has only the one used.
        .filter(([, inner]) => inner !== undefined)
        .map(([name, inner]) => [name, toJson(inner)]),
    );
  }
  if (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    typeof value === 'number' ||
    value === null
  ) {
    return value;
  }
  throw new UnexpectedStreamResponseError(
    `A stream record holds a ${typeof value}, which is no AttributeValue`,
  );
}

/** The part of an S3 client the reader uses; the sandbox's LocalS3Client satisfies it, and so does S3Client. */
export type AuditBucketClient = S3ReadClient;

/**
 * Every object of a bucket with its bytes as stored (not decompressed: the check judges what was written), in key
 * order: the audit history's reader (every ListObjectsV2 page, then one GetObject each).
 */
export async function readAuditObjects(
  client: AuditBucketClient,
  bucket: string,
): Promise<StoredAuditObject[]> {
  const source = new S3AuditObjects(client, bucket);
  const objects: StoredAuditObject[] = [];
  for await (const key of source.keys('')) {
    objects.push({ key, body: await source.bytes(key) });
  }
  return objects;
}
