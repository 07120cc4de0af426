/**
 * Test kit for DynamoDB stream consumers: a factory of stream records shaped like the ones Lambda delivers (images
 * as AttributeValue JSON, binary as base64, ApproximateCreationDateTime in epoch seconds, 21-digit sequence
 * numbers), a Lambda context, and recording fakes of the stream runtime's ports.
 */
import { createHash } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { DeadLetter, DeadLetterQueue } from '../../lambdas/shared/stream/dead-letter.js';
import type { StreamMetrics } from '../../lambdas/shared/stream/stream-handler.js';

/** A native item as accepted by `marshall`; numbers beyond double precision are passed as NumberValue. */
export type NativeItem = Parameters<typeof marshall>[0];

export const TEST_REGION = 'eu-west-1';
export const TEST_ACCOUNT = '123456789012';

export function streamArn(tableName: string): string {
  return `arn:aws:dynamodb:${TEST_REGION}:${TEST_ACCOUNT}:table/${tableName}/stream/2024-01-01T00:00:00.000`;
}

/** The userIdentity DynamoDB sets on REMOVE records of TTL deletes. */
export const TTL_USER_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;

/** Fields a test may set on one record; anything left out gets a realistic default. */
export interface RecordOverrides {
  readonly eventId?: string;
  readonly sequenceNumber?: string;
  /** Epoch seconds, as in Lambda events. */
  readonly approximateCreationDateTime?: number;
  readonly userIdentity?: unknown;
}

export interface StreamRecordFactoryOptions {
  readonly tableName?: string;
  /** Names of the key attributes, taken from the images to build `dynamodb.Keys`. */
  readonly keyAttributes?: readonly string[];
  /** Sequence number of the first record; later records count up from it. */
  readonly firstSequenceNumber?: bigint;
  /** ApproximateCreationDateTime (epoch seconds) of records that do not set one. */
  readonly approximateCreationDateTime?: number;
}

export interface StreamRecordFactory {
  insert(newImage: NativeItem, overrides?: RecordOverrides): DynamoDBRecord;
  modify(oldImage: NativeItem, newImage: NativeItem, overrides?: RecordOverrides): DynamoDBRecord;
  /** A user's DeleteItem. */
  remove(oldImage: NativeItem, overrides?: RecordOverrides): DynamoDBRecord;
  /** A delete done by DynamoDB's TTL process. */
  ttlRemove(oldImage: NativeItem, overrides?: RecordOverrides): DynamoDBRecord;
}

type RawItem = Record<string, AttributeValue>;

/** Lambda delivers binary attributes as base64 text; marshall produces Uint8Array. */
function toEventJson(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  }
  if (Array.isArray(value)) {
    return value.map(toEventJson);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, toEventJson(inner)]));
  }
  return value;
}

function toRawItem(item: NativeItem): RawItem {
  return toEventJson(marshall(item, { removeUndefinedValues: true })) as RawItem;
}

export const DEFAULT_FIRST_SEQUENCE_NUMBER = 400_000_000_000_000_000_001n;
/** 2024-05-01T12:00:00Z, in epoch seconds. */
export const DEFAULT_APPROXIMATE_CREATION_DATE_TIME = 1_714_564_800;

/** Builds stream records of one table; each factory numbers its records from `firstSequenceNumber`. */
export function createStreamRecordFactory(options: StreamRecordFactoryOptions = {}): StreamRecordFactory {
  const tableName = options.tableName ?? 'Orders';
  const keyAttributes = options.keyAttributes ?? ['orderId'];
  const eventSourceArn = streamArn(tableName);
  let nextSequenceNumber = options.firstSequenceNumber ?? DEFAULT_FIRST_SEQUENCE_NUMBER;

  const keysOf = (image: RawItem): RawItem =>
    Object.fromEntries(
      keyAttributes.map((name) => {
        const value = image[name];
        if (value === undefined) {
          throw new Error(`Test image lacks key attribute ${name}`);
        }
        return [name, value];
      }),
    );

  const build = (
    eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
    oldImage: RawItem | undefined,
    newImage: RawItem | undefined,
    overrides: RecordOverrides,
  ): DynamoDBRecord => {
    const sequenceNumber = overrides.sequenceNumber ?? String(nextSequenceNumber);
    nextSequenceNumber += 1n;
    const image = newImage ?? oldImage ?? {};
    const keys = keysOf(image);
    const record: DynamoDBRecord = {
      eventID:
        overrides.eventId ?? createHash('md5').update(`${eventSourceArn}/${sequenceNumber}`).digest('hex'),
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: TEST_REGION,
      dynamodb: {
        ApproximateCreationDateTime:
          overrides.approximateCreationDateTime ??
          options.approximateCreationDateTime ??
          DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
        Keys: keys,
        ...(newImage === undefined ? {} : { NewImage: newImage }),
        ...(oldImage === undefined ? {} : { OldImage: oldImage }),
        SequenceNumber: sequenceNumber,
        SizeBytes: Buffer.byteLength(JSON.stringify([keys, oldImage, newImage])),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: eventSourceArn,
    };
    return overrides.userIdentity === undefined
      ? record
      : { ...record, userIdentity: overrides.userIdentity };
  };

  return {
    insert: (newImage, overrides = {}) => build('INSERT', undefined, toRawItem(newImage), overrides),
    modify: (oldImage, newImage, overrides = {}) =>
      build('MODIFY', toRawItem(oldImage), toRawItem(newImage), overrides),
    remove: (oldImage, overrides = {}) => build('REMOVE', toRawItem(oldImage), undefined, overrides),
    ttlRemove: (oldImage, overrides = {}) =>
      build('REMOVE', toRawItem(oldImage), undefined, { userIdentity: TTL_USER_IDENTITY, ...overrides }),
  };
}

export function streamEvent(...records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: records };
}

/** A Lambda context as the runtime passes it; nothing in it reaches AWS. */
export function lambdaContext(overrides: Partial<Context> = {}): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'orders-stream-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${TEST_REGION}:${TEST_ACCOUNT}:function:orders-stream-test`,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/orders-stream-test',
    logStreamName: '2024/05/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
    ...overrides,
  };
}

/** DeadLetterQueue fake that keeps what it was sent, or rejects every send when built with `failWith`. */
export class RecordingDeadLetterQueue implements DeadLetterQueue {
  public readonly letters: DeadLetter[] = [];
  readonly #failWith: Error | undefined;

  public constructor(options: { failWith?: Error } = {}) {
    this.#failWith = options.failWith;
  }

  public async send(letter: DeadLetter): Promise<void> {
    if (this.#failWith !== undefined) {
      throw this.#failWith;
    }
    this.letters.push(letter);
  }
}

export interface RecordedMetric {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
}

/** StreamMetrics fake that keeps every value and counts flushes. */
export class RecordingMetrics implements StreamMetrics {
  public readonly metrics: RecordedMetric[] = [];
  public flushes = 0;

  public addMetric(name: string, unit: string, value: number): void {
    this.metrics.push({ name, unit, value });
  }

  public publishStoredMetrics(): void {
    this.flushes += 1;
  }

  /** Values recorded under `name`, in order. */
  public valuesOf(name: string): number[] {
    return this.metrics.filter((metric) => metric.name === name).map((metric) => metric.value);
  }
}
