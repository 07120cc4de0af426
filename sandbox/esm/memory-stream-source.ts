import type { DynamoDBRecord } from 'aws-lambda';
import type { ShardInfo, ShardReader, StreamSource } from './types.js';

/**
 * A DynamoDB stream held in memory, for the ESM contract tests and for fault injection: records are appended to
 * shards by hand, shards are closed and split into child shards, and reads can be made to fail. It obeys the same
 * ShardReader contract as the DynamoDB Local source, so a test of the shard processor against it says something about
 * the sandbox.
 */

/** Thrown when a shard id is not part of the stream. */
export class UnknownShardError extends Error {
  public constructor(public readonly shardId: string) {
    super(`Shard ${shardId} is not part of this stream`);
    this.name = 'UnknownShardError';
  }
}

/** Thrown when a change would make the stream impossible: appending to a closed shard, a second shard of a name... */
export class InvalidStreamChangeError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'InvalidStreamChangeError';
  }
}

/** One call of a reader, as recorded for assertions. */
export interface ReadCall {
  readonly shardId: string;
  readonly after: string | undefined;
  readonly limit: number;
}

interface MemoryShard {
  readonly info: ShardInfo;
  readonly records: DynamoDBRecord[];
  closed: boolean;
  /** Errors the next reads reject with, first one first. */
  readonly failures: Error[];
}

function sequenceNumberOf(record: DynamoDBRecord): bigint {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  // DynamoDB sequence numbers are decimal strings; comparing them as numbers is what makes `after` positional.
  if (sequenceNumber === undefined || !/^\d+$/.test(sequenceNumber)) {
    throw new InvalidStreamChangeError(
      `Stream record ${record.eventID ?? '(no eventID)'} needs a decimal dynamodb.SequenceNumber, got ${sequenceNumber}`,
    );
  }
  return BigInt(sequenceNumber);
}

export class MemoryStreamSource implements StreamSource {
  /** Every read of every reader, in call order. */
  public readonly reads: ReadCall[] = [];
  readonly #shards = new Map<string, MemoryShard>();

  /** Adds an open, empty shard; `parentShardId` records its lineage (the parent must exist). */
  public addShard(shardId: string, options: { parentShardId?: string } = {}): this {
    if (this.#shards.has(shardId)) {
      throw new InvalidStreamChangeError(`Shard ${shardId} already exists`);
    }
    if (options.parentShardId !== undefined) {
      this.#shard(options.parentShardId);
    }
    const info: ShardInfo =
      options.parentShardId === undefined ? { shardId } : { shardId, parentShardId: options.parentShardId };
    this.#shards.set(shardId, { info, records: [], closed: false, failures: [] });
    return this;
  }

  /**
   * Appends records to an open shard. Sequence numbers must grow within a shard, as DynamoDB assigns them; a stream
   * that broke this would make `after` meaningless.
   */
  public append(shardId: string, ...records: DynamoDBRecord[]): this {
    const shard = this.#shard(shardId);
    if (shard.closed) {
      throw new InvalidStreamChangeError(`Shard ${shardId} is closed; append to a child shard instead`);
    }
    for (const record of records) {
      const sequenceNumber = sequenceNumberOf(record);
      const last = shard.records.at(-1);
      if (last !== undefined && sequenceNumber <= sequenceNumberOf(last)) {
        throw new InvalidStreamChangeError(
          `Sequence number ${sequenceNumber} does not follow ${last.dynamodb?.SequenceNumber} in ${shardId}`,
        );
      }
      shard.records.push(structuredClone(record));
    }
    return this;
  }

  /** Closes a shard: once its records are read, its reader reports `closed`. */
  public close(shardId: string): this {
    this.#shard(shardId).closed = true;
    return this;
  }

  /** Closes `parentShardId` and opens `childShardId` below it, as DynamoDB does when it rolls a shard over. */
  public createChildShard(parentShardId: string, childShardId: string): this {
    this.close(parentShardId);
    return this.addShard(childShardId, { parentShardId });
  }

  /** Makes the next `times` reads of a shard reject with `error` (each read consumes one). */
  public failNextReads(shardId: string, error: Error, times = 1): this {
    const shard = this.#shard(shardId);
    for (let count = 0; count < times; count += 1) {
      shard.failures.push(error);
    }
    return this;
  }

  /** The records of a shard, as appended. */
  public records(shardId: string): readonly DynamoDBRecord[] {
    return this.#shard(shardId).records;
  }

  public async listShards(): Promise<ShardInfo[]> {
    return [...this.#shards.values()].map((shard) => shard.info);
  }

  public reader(shardId: string): ShardReader {
    const shard = this.#shard(shardId);
    return {
      read: async (after, limit) => {
        this.reads.push({ shardId, after, limit });
        const failure = shard.failures.shift();
        if (failure !== undefined) {
          throw failure;
        }
        const start = after === undefined ? 0 : this.#firstAfter(shard, BigInt(after));
        const records = shard.records.slice(start, start + Math.max(0, limit));
        const end = start + records.length;
        // Copies: a consumer that mutates its event must not change what the stream serves next time.
        return { records: structuredClone(records), closed: shard.closed && end >= shard.records.length };
      },
    };
  }

  /** Index of the first record after a sequence number (which need not be in the shard), or the shard's end. */
  #firstAfter(shard: MemoryShard, position: bigint): number {
    const index = shard.records.findIndex((record) => sequenceNumberOf(record) > position);
    return index === -1 ? shard.records.length : index;
  }

  #shard(shardId: string): MemoryShard {
    const shard = this.#shards.get(shardId);
    if (shard === undefined) {
      throw new UnknownShardError(shardId);
    }
    return shard;
  }
}
