import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../../lambdas/shared/errors.js';
import {
  canonicalItemKey,
  isTtlRemove,
  toChangeRecord,
} from '../../../../lambdas/shared/stream/change-record.js';
import {
  NumberValue,
  readDecimalString,
  toLosslessJson,
} from '../../../../lambdas/shared/stream/lossless.js';
import {
  createStreamRecordFactory,
  DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
  streamArn,
} from '../../../support/stream-records.js';

const order = (orderId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  orderId,
  status: 'PLACED',
  totalCents: 1999,
  ...extra,
});

/** The record with its `dynamodb` section changed, as a local tool or a corrupted event might deliver it. */
function withStreamRecord(record: DynamoDBRecord, changes: Record<string, unknown>): DynamoDBRecord {
  return { ...record, dynamodb: { ...record.dynamodb, ...changes } } as DynamoDBRecord;
}

describe('toChangeRecord', () => {
  it('builds the view of a MODIFY with decoded images, keys and the raw record', () => {
    // Prepare
    const records = createStreamRecordFactory();
    const raw = records.modify(order('o-1'), order('o-1', { status: 'SHIPPED' }), {
      sequenceNumber: '500000000000000000001',
    });

    // Act
    const change = toChangeRecord(raw);

    // Assess
    expect(change).toEqual({
      eventId: raw.eventID,
      eventName: 'MODIFY',
      sequenceNumber: '500000000000000000001',
      approximateCreationTime: DEFAULT_APPROXIMATE_CREATION_DATE_TIME * 1000,
      keys: { orderId: 'o-1' },
      oldImage: { orderId: 'o-1', status: 'PLACED', totalCents: new NumberValue('1999') },
      newImage: { orderId: 'o-1', status: 'SHIPPED', totalCents: new NumberValue('1999') },
      itemKey: '[["orderId","S","o-1"]]',
      removedByTtl: false,
      eventSourceArn: streamArn('Orders'),
      raw,
    });
  });

  it.each([
    ['INSERT', 'insert', { newImage: true, oldImage: false }],
    ['REMOVE', 'remove', { newImage: false, oldImage: true }],
  ] as const)('leaves out the image a %s does not carry', (eventName, kind, expected) => {
    // Prepare
    const records = createStreamRecordFactory();
    const raw = records[kind](order('o-2'));

    // Act
    const change = toChangeRecord(raw);

    // Assess
    expect(change.eventName).toBe(eventName);
    expect(change.newImage !== undefined).toBe(expected.newImage);
    expect(change.oldImage !== undefined).toBe(expected.oldImage);
  });

  it('decodes a 21-digit integer and a 30-digit decimal without rounding, and serialises them exactly', () => {
    // Prepare
    const records = createStreamRecordFactory();
    const raw = records.insert(
      order('o-3', {
        lifetimeUnits: new NumberValue('123456789012345678901'),
        exchangeRate: new NumberValue('0.123456789012345678901234567891'),
      }),
    );

    // Act
    const change = toChangeRecord(raw);

    // Assess
    expect(change.newImage).toBeDefined();
    const image = change.newImage ?? {};
    expect(readDecimalString(image, 'lifetimeUnits')).toBe('123456789012345678901');
    expect(readDecimalString(image, 'exchangeRate')).toBe('0.123456789012345678901234567891');
    expect(toLosslessJson({ l: image.lifetimeUnits, r: image.exchangeRate })).toBe(
      '{"l":123456789012345678901,"r":0.123456789012345678901234567891}',
    );
  });

  it.each([
    ['epoch seconds (Lambda)', 1_714_564_800, 1_714_564_800_000],
    ['fractional epoch seconds', 1_714_564_800.123, 1_714_564_800_123],
    ['a Date (SDK client)', new Date('2024-05-01T12:00:00.250Z'), 1_714_564_800_250],
    ['an ISO-8601 text', '2024-05-01T12:00:00.500Z', 1_714_564_800_500],
    ['an ISO-8601 text with offset', '2024-05-01T14:00:00+02:00', 1_714_564_800_000],
  ])('reads ApproximateCreationDateTime given as %s in milliseconds', (_description, given, expected) => {
    // Prepare
    const raw = withStreamRecord(createStreamRecordFactory().insert(order('o-4')), {
      ApproximateCreationDateTime: given,
    });

    // Act
    const change = toChangeRecord(raw);

    // Assess
    expect(change.approximateCreationTime).toBe(expected);
  });

  it.each([
    ['no eventID', (r: DynamoDBRecord) => ({ ...r, eventID: undefined }), /eventID/],
    ['an unknown eventName', (r: DynamoDBRecord) => ({ ...r, eventName: 'UPSERT' }), /eventName/],
    ['no Keys', (r: DynamoDBRecord) => withStreamRecord(r, { Keys: undefined }), /dynamodb\.Keys/],
    ['empty Keys', (r: DynamoDBRecord) => withStreamRecord(r, { Keys: {} }), /dynamodb\.Keys/],
    [
      'no ApproximateCreationDateTime',
      (r: DynamoDBRecord) => withStreamRecord(r, { ApproximateCreationDateTime: undefined }),
      /ApproximateCreationDateTime/,
    ],
    [
      'a date text that is not ISO-8601',
      (r: DynamoDBRecord) => withStreamRecord(r, { ApproximateCreationDateTime: 'yesterday' }),
      /ApproximateCreationDateTime/,
    ],
    [
      'an undecodable image',
      (r: DynamoDBRecord) => withStreamRecord(r, { NewImage: { orderId: { X: 'o-5' } } }),
      /Undecodable stream record: Unsupported type/,
    ],
    [
      'a key of a type keys cannot have',
      (r: DynamoDBRecord) => withStreamRecord(r, { Keys: { orderId: { BOOL: true } } }),
      /Key attribute "orderId" is not of type S, N or B/,
    ],
  ])('throws PermanentError for a record with %s', (_description, corrupt, message) => {
    // Prepare
    const raw = corrupt(createStreamRecordFactory().insert(order('o-5'))) as DynamoDBRecord;

    // Act
    const decode = (): unknown => toChangeRecord(raw);

    // Assess
    expect(decode).toThrow(PermanentError);
    expect(decode).toThrow(message);
  });
});

describe('TTL deletes', () => {
  it.each([
    ['a TTL delete', 'ttlRemove', true],
    ['a user delete', 'remove', false],
  ] as const)('marks %s as removedByTtl=%s', (_description, kind, expected) => {
    // Prepare
    const raw = createStreamRecordFactory()[kind](order('o-6'));

    // Act
    const change = toChangeRecord(raw);

    // Assess
    expect(change.eventName).toBe('REMOVE');
    expect(change.removedByTtl).toBe(expected);
  });

  it.each([
    ['a MODIFY that carries the service identity', { eventName: 'MODIFY' }],
    ['another service principal', { userIdentity: { type: 'Service', principalId: 'lambda.amazonaws.com' } }],
    ['a user identity', { userIdentity: { type: 'User', principalId: 'dynamodb.amazonaws.com' } }],
  ])('does not mark %s as a TTL delete', (_description, change) => {
    // Prepare
    const raw = { ...createStreamRecordFactory().ttlRemove(order('o-7')), ...change } as DynamoDBRecord;

    // Act
    const ttl = isTtlRemove(raw);

    // Assess
    expect(ttl).toBe(false);
  });
});

describe('canonicalItemKey', () => {
  it('is the same whatever the order of the key attributes', () => {
    // Prepare
    const forward = { pollId: { S: 'p-1' }, voterId: { S: 'v-1' } };
    const backward = { voterId: { S: 'v-1' }, pollId: { S: 'p-1' } };

    // Act
    const keys = [canonicalItemKey(forward), canonicalItemKey(backward)];

    // Assess
    expect(keys[0]).toBe(keys[1]);
  });

  it.each([
    ['a different value', { pollId: { S: 'p-1' }, voterId: { S: 'v-2' } }],
    ['values that concatenate alike', { pollId: { S: 'p-1v' }, voterId: { S: '-1' } }],
    ['a different type', { pollId: { S: 'p-1' }, voterId: { B: 'v-1' } }],
  ])('differs for %s', (_description, other) => {
    // Prepare
    const keys = { pollId: { S: 'p-1' }, voterId: { S: 'v-1' } };

    // Act
    const [a, b] = [canonicalItemKey(keys), canonicalItemKey(other)];

    // Assess
    expect(a).not.toBe(b);
  });

  it.each([
    ['numbers in different notations', { n: { N: '1500' } }, { n: { N: '1.5E+3' } }],
    ['binary as base64 and as bytes', { b: { B: 'AQL/' } }, { b: { B: new Uint8Array([1, 2, 255]) } }],
  ])('is the same for %s', (_description, a, b) => {
    // Act
    const keys = [canonicalItemKey(a), canonicalItemKey(b as never)];

    // Assess
    expect(keys[0]).toBe(keys[1]);
  });
});
