import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as SdkRecord,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { toLambdaStreamRecord } from '../../ops/aws/lambda-stream-items.js';
import { localClientConfig } from '../dynamodb-local/server.js';
import type { ShardInfo, ShardReader, StreamSource } from './types.js';

/** Thrown when the table asked for has no stream to read. */
export class TableHasNoStreamError extends Error {
  public constructor(tableName: string) {
    super(
      `Table ${tableName} has no stream (StreamSpecification): there is nothing for a stream consumer to read`,
    );
    this.name = 'TableHasNoStreamError';
  }
}

/** Thrown when DynamoDB Streams answers with something the Lambda event shape cannot carry. */
export class UnexpectedStreamResponseError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UnexpectedStreamResponseError';
  }
}

/** GetRecords returns at most 1,000 records per call (DynamoDB Local rejects a larger Limit). */
export const GET_RECORDS_MAX_LIMIT = 1000;

/** A DynamoDBStreamsClient for DynamoDB Local at `endpoint`. The caller owns it (`destroy()` when done). */
export function localStreamsClient(endpoint: string): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient(localClientConfig(endpoint));
}

/** The ARN of a table's current stream (DescribeTable's LatestStreamArn). */
export async function latestStreamArn(client: DynamoDBClient, tableName: string): Promise<string> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const arn = Table?.LatestStreamArn;
  if (arn === undefined || Table?.StreamSpecification?.StreamEnabled !== true) {
    throw new TableHasNoStreamError(tableName);
  }
  return arn;
}

export interface DynamoDbStreamSourceOptions {
  /** The client to read with; the caller owns it and may share it between sources. */
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** Stamps ApproximateCreationDateTime (see {@link DynamoDbStreamSource}). @default Date.now */
  readonly clock?: () => number;
}

/**
 * One DynamoDB stream (DynamoDB Local's, in the sandbox) as a {@link StreamSource}: shards with their lineage from
 * DescribeStream, and per shard a reader over GetShardIterator/GetRecords that delivers records in the shape Lambda
 * puts into a DynamoDB stream event.
 *
 * ApproximateCreationDateTime: DynamoDB Local truncates it to the minute (a record written at 05:28:37 says
 * 05:28:00). Passed on, every lag metric and every maximum-record-age decision of the runner would be wrong by up to
 * a minute, so each record is stamped instead with the time this source first read it, in whole epoch seconds as
 * Lambda delivers it (DynamoDB rounds down to the second). Locally a record is read within a poll interval of its
 * write, so the stamp is the better approximation. The truncated original is dropped rather than kept in an extra
 * field, so that consumers see exactly the fields Lambda gives them. A record keeps its stamp when it is read again
 * (a retry, another mapping sharing this source), as a record's creation time does not change.
 */
export class DynamoDbStreamSource implements StreamSource {
  public readonly streamArn: string;
  readonly #client: DynamoDBStreamsClient;
  readonly #clock: () => number;
  /**
   * Per shard: sequence number -> stamp (epoch seconds). Kept while the shard is listed, like the records themselves:
   * any reader may still come to a record, however late (a mapping whose processing of the parent shard lags), and
   * must see the stamp the others saw. A listing without the shard (trimmed) drops its stamps.
   */
  readonly #stamps = new Map<string, Map<string, number>>();
  #region: Promise<string> | undefined;

  public constructor(options: DynamoDbStreamSourceOptions) {
    this.#client = options.client;
    this.streamArn = options.streamArn;
    this.#clock = options.clock ?? Date.now;
  }

  public async listShards(): Promise<ShardInfo[]> {
    const shards: ShardInfo[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.#client.send(
        new DescribeStreamCommand({
          StreamArn: this.streamArn,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
      );
      for (const shard of StreamDescription?.Shards ?? []) {
        if (shard.ShardId === undefined) {
          continue;
        }
        shards.push(
          shard.ParentShardId === undefined
            ? { shardId: shard.ShardId }
            : { shardId: shard.ShardId, parentShardId: shard.ParentShardId },
        );
      }
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    const listed = new Set(shards.map((shard) => shard.shardId));
    for (const shardId of this.#stamps.keys()) {
      if (!listed.has(shardId)) {
        this.#stamps.delete(shardId);
      }
    }
    return shards;
  }

  public reader(shardId: string): ShardReader {
    return new DynamoDbShardReader(this.#client, this.streamArn, shardId, (records) =>
      this.#toLambdaRecords(shardId, records),
    );
  }

  async #toLambdaRecords(shardId: string, records: readonly SdkRecord[]): Promise<DynamoDBRecord[]> {
    // Lambda's awsRegion is the table's region; DynamoDB Local says "ddblocal", the client knows the real one.
    this.#region ??= this.#client.config.region();
    const region = await this.#region;
    let stamps = this.#stamps.get(shardId);
    if (stamps === undefined) {
      stamps = new Map();
      this.#stamps.set(shardId, stamps);
    }
    const now = Math.floor(this.#clock() / 1000);
    return records.map((record) => {
      const sequenceNumber = record.dynamodb?.SequenceNumber;
      if (sequenceNumber === undefined) {
        return toLambdaRecord(record, this.streamArn, region, now);
      }
      const stamp = stamps.get(sequenceNumber) ?? now;
      stamps.set(sequenceNumber, stamp);
      return toLambdaRecord(record, this.streamArn, region, stamp);
    });
  }
}

/** Converts the API's records to Lambda's shape, stamping them (the source's stamps are shared by its readers). */
type ToLambdaRecords = (records: readonly SdkRecord[]) => Promise<DynamoDBRecord[]>;

/** Where the reader's shard iterator stands: right after `after` (the shard's start when undefined). */
interface Cursor {
  readonly after: string | undefined;
  /** Null once GetRecords returned no NextShardIterator: the shard is closed and read to its end. */
  readonly iterator: string | null;
}

/**
 * Reads one shard. The shard iterator is kept between reads that continue where the last one ended; a read from
 * another position (a retry from the checkpoint) takes a new iterator: TRIM_HORIZON from the start, otherwise
 * AFTER_SEQUENCE_NUMBER. An expired iterator (they last 15 minutes) is replaced from the same position.
 *
 * So is an iterator that GetRecords refuses with TrimmedDataAccessException ("attempted to read past the oldest stream
 * record"). DynamoDB Local answers that, for good, through a TRIM_HORIZON iterator taken while the shard was still
 * empty: kept, it would never deliver a record of the shard. The replacement is taken from where this reader stands,
 * TRIM_HORIZON when it has read nothing yet, otherwise AFTER_SEQUENCE_NUMBER its last record, so nothing is skipped
 * or read twice. Should the fresh iterator be refused too (the shard is still empty), the read fails and the shard
 * processor retries it after its poll interval, which takes yet another iterator.
 */
class DynamoDbShardReader implements ShardReader {
  readonly #client: DynamoDBStreamsClient;
  readonly #streamArn: string;
  readonly #shardId: string;
  readonly #toLambdaRecords: ToLambdaRecords;
  #cursor: Cursor | undefined;
  /** Reads run one at a time: each continues from the iterator the previous one left. */
  #queue: Promise<unknown> = Promise.resolve();

  public constructor(
    client: DynamoDBStreamsClient,
    streamArn: string,
    shardId: string,
    toLambdaRecords: ToLambdaRecords,
  ) {
    this.#client = client;
    this.#streamArn = streamArn;
    this.#shardId = shardId;
    this.#toLambdaRecords = toLambdaRecords;
  }

  public read(
    after: string | undefined,
    limit: number,
  ): Promise<{ records: DynamoDBRecord[]; closed: boolean }> {
    const result = this.#queue.then(() => this.#read(after, limit));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #read(
    after: string | undefined,
    limit: number,
  ): Promise<{ records: DynamoDBRecord[]; closed: boolean }> {
    if (this.#cursor === undefined || this.#cursor.after !== after) {
      this.#cursor = { after, iterator: await this.#acquire(after) };
    }
    if (this.#cursor.iterator === null) {
      return { records: [], closed: true };
    }
    if (limit < 1) {
      return { records: [], closed: false };
    }
    const response = await this.#getRecords(Math.min(limit, GET_RECORDS_MAX_LIMIT));
    const records = response.Records ?? [];
    const next = response.NextShardIterator ?? null;
    this.#cursor = { after: records.at(-1)?.dynamodb?.SequenceNumber ?? after, iterator: next };
    return { records: await this.#toLambdaRecords(records), closed: next === null };
  }

  async #getRecords(limit: number): Promise<{ Records?: SdkRecord[]; NextShardIterator?: string }> {
    const cursor = this.#cursor!;
    try {
      return await this.#client.send(
        new GetRecordsCommand({ ShardIterator: cursor.iterator!, Limit: limit }),
      );
    } catch (error) {
      if (!(error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException)) {
        throw error;
      }
      // Nothing was consumed through the refused iterator: a new one from the same position reads the same records.
      // `cursor.after` is where the refused iterator stood: the last record this reader returned, or the position the
      // caller asked for; undefined when nothing was read yet, which #acquire turns into TRIM_HORIZON.
      const iterator = await this.#acquire(cursor.after);
      this.#cursor = { after: cursor.after, iterator };
      return this.#client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
    }
  }

  async #acquire(after: string | undefined): Promise<string> {
    const { ShardIterator } = await this.#client.send(
      new GetShardIteratorCommand({
        StreamArn: this.#streamArn,
        ShardId: this.#shardId,
        ...(after === undefined
          ? { ShardIteratorType: 'TRIM_HORIZON' }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }),
      }),
    );
    if (ShardIterator === undefined) {
      throw new UnexpectedStreamResponseError(
        `GetShardIterator returned no iterator for ${this.#shardId} of ${this.#streamArn}`,
      );
    }
    return ShardIterator;
  }
}

/** A record of the DynamoDB Streams API as a Lambda event's record (ops/aws/lambda-stream-items.ts), stamped `stamp`. */
function toLambdaRecord(record: SdkRecord, streamArn: string, region: string, stamp: number): DynamoDBRecord {
  return toLambdaStreamRecord(record, {
    streamArn,
    awsRegion: region,
    approximateCreationSeconds: stamp,
    unsupported,
  });
}

const unsupported = (message: string): Error => new UnexpectedStreamResponseError(message);
