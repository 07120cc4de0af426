import {
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type _Record as SdkRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { compareSequenceNumbers } from '../redrive/sequence-numbers.js';
import { toLambdaStreamRecord } from './lambda-stream-items.js';
import type { StreamRange, StreamReaderPort } from './ports.js';

/** Records per GetRecords call (the API's maximum). */
const MAX_RECORDS_PER_CALL = 1_000;
/**
 * Consecutive empty answers after which an open shard is taken to hold nothing more of the range: GetRecords on an
 * open shard answers empty pages with a next iterator forever once it has caught up.
 */
export const MAX_EMPTY_PAGES = 5;

/** The errors meaning that the stream no longer holds the range (24 h retention) or the shard/stream is gone. */
const GONE_ERRORS: ReadonlySet<string> = new Set([
  'TrimmedDataAccessException',
  'ExpiredIteratorException',
  'ResourceNotFoundException',
]);

/** An answer of DynamoDB Streams that breaks its contract (no iterator where one is due, an unknown value type). */
export class UnexpectedStreamAnswerError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UnexpectedStreamAnswerError';
  }
}

/**
 * Adapter: a sequence range of one shard through DynamoDB Streams: GetShardIterator AT_SEQUENCE_NUMBER on the start,
 * then GetRecords until a record beyond the end, the shard's end (no next iterator) or MAX_EMPTY_PAGES empty pages.
 * Records come in the shape of a Lambda event's records (toLambdaRecord).
 */
export class DynamoDbStreamReader implements StreamReaderPort {
  readonly #client: DynamoDBStreamsClient;

  public constructor(client: DynamoDBStreamsClient) {
    this.#client = client;
  }

  public async readRange(
    streamArn: string,
    shardId: string,
    start: string,
    end: string,
  ): Promise<StreamRange> {
    try {
      return { kind: 'records', records: await this.#read(streamArn, shardId, start, end) };
    } catch (error) {
      const name = (error as Error).name;
      if (GONE_ERRORS.has(name)) return { kind: 'trimmed', reason: `${name}: ${(error as Error).message}` };
      throw error;
    }
  }

  async #read(streamArn: string, shardId: string, start: string, end: string): Promise<DynamoDBRecord[]> {
    const { ShardIterator } = await this.#client.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: start,
      }),
    );
    if (ShardIterator === undefined) {
      throw new UnexpectedStreamAnswerError(
        `GetShardIterator returned no iterator for ${shardId} of ${streamArn}`,
      );
    }
    const region = streamArn.split(':')[3] ?? '';
    const records: DynamoDBRecord[] = [];
    let iterator: string | undefined = ShardIterator;
    let emptyPages = 0;
    while (iterator !== undefined && emptyPages < MAX_EMPTY_PAGES) {
      const page: GetRecordsCommandOutput = await this.#client.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: MAX_RECORDS_PER_CALL }),
      );
      const found = page.Records ?? [];
      emptyPages = found.length === 0 ? emptyPages + 1 : 0;
      for (const record of found) {
        const sequenceNumber = record.dynamodb?.SequenceNumber;
        if (sequenceNumber === undefined) continue;
        if (compareSequenceNumbers(sequenceNumber, end) > 0) return records;
        if (compareSequenceNumbers(sequenceNumber, start) >= 0) {
          records.push(toLambdaRecord(record, streamArn, region));
        }
        if (compareSequenceNumbers(sequenceNumber, end) === 0) return records;
      }
      iterator = page.NextShardIterator ?? undefined;
    }
    return records;
  }
}

/** A record of the DynamoDB Streams API as a Lambda event's record (lambda-stream-items.ts), region from the record. */
export function toLambdaRecord(record: SdkRecord, streamArn: string, region: string): DynamoDBRecord {
  const created = record.dynamodb?.ApproximateCreationDateTime;
  return toLambdaStreamRecord(record, {
    streamArn,
    awsRegion: record.awsRegion ?? region,
    approximateCreationSeconds: created === undefined ? undefined : Math.floor(created.getTime() / 1000),
    unsupported,
  });
}

const unsupported = (message: string): Error => new UnexpectedStreamAnswerError(message);
