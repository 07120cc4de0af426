import type { DynamoDBRecord } from 'aws-lambda';
import type { $ZodError } from 'zod/v4/core';
import { PermanentError } from '../errors.js';
import * as z from '../zod.js';
import { type DecodedItem, decodeItem, normalizeDecimal, type RawItem } from './lossless.js';

export type ChangeEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/**
 * The view of one DynamoDB stream record that consumer code works with. Images and keys are decoded losslessly
 * (numbers are `NumberValue`s; read them with readSafeInteger / readDecimalString); `raw` keeps the record exactly as
 * received, for audit and the DLQ.
 */
export interface ChangeRecord {
  readonly eventId: string;
  readonly eventName: ChangeEventName;
  /** `dynamodb.SequenceNumber`: the record's position in its shard and its `itemIdentifier` in a batch response. */
  readonly sequenceNumber: string;
  /** `dynamodb.ApproximateCreationDateTime` in milliseconds since the epoch. */
  readonly approximateCreationTime: number;
  readonly keys: DecodedItem;
  /** Absent for INSERT and when the stream view type does not carry old images. */
  readonly oldImage: DecodedItem | undefined;
  /** Absent for REMOVE and when the stream view type does not carry new images. */
  readonly newImage: DecodedItem | undefined;
  /** Canonical text of the keys: equal for all records of one item, whatever the attribute order. */
  readonly itemKey: string;
  /** A REMOVE done by DynamoDB's TTL process rather than by a user (docs/architecture.md, contract 6). */
  readonly removedByTtl: boolean;
  readonly eventSourceArn: string | undefined;
  readonly raw: DynamoDBRecord;
}

/**
 * AttributeValue maps are only checked for shape here, and kept as they are: a zod record would copy them by
 * assignment, losing an attribute named `__proto__` (names are the table writers' choice). decodeItem rejects unknown
 * value types.
 */
const attributeMapSchema = z.custom<Record<string, Record<string, unknown>>>(
  (value) =>
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every(
      (inner) => inner !== null && typeof inner === 'object' && !Array.isArray(inner),
    ),
  'must be a map of AttributeValues',
);

const approximateCreationTimeSchema = z.union([
  // Lambda's event: epoch seconds.
  z.pipe(
    z.number().check(z.nonnegative()),
    z.transform((seconds: number) => Math.round(seconds * 1000)),
  ),
  // The SDK's DynamoDBStreamsClient (local runner): a Date.
  z.pipe(
    z.date(),
    z.transform((date: Date) => date.getTime()),
  ),
  // Records written to JSON by local tools: an ISO-8601 timestamp.
  z.pipe(
    z.iso.datetime({ offset: true }),
    z.transform((text: string) => Date.parse(text)),
  ),
]);

const streamRecordSchema = z.object({
  eventID: z.string().check(z.minLength(1)),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  eventSourceARN: z.optional(z.string()),
  userIdentity: z.optional(z.unknown()),
  dynamodb: z.object({
    SequenceNumber: z.string().check(z.minLength(1)),
    ApproximateCreationDateTime: approximateCreationTimeSchema,
    Keys: attributeMapSchema.check(
      z.refine((keys) => Object.keys(keys).length > 0, 'must name at least one attribute'),
    ),
    NewImage: z.optional(attributeMapSchema),
    OldImage: z.optional(attributeMapSchema),
  }),
});

/** The userIdentity DynamoDB puts on the REMOVE records of items deleted by TTL. */
const ttlUserIdentitySchema = z.object({
  type: z.literal('Service'),
  principalId: z.literal('dynamodb.amazonaws.com'),
});

/** True for a REMOVE done by DynamoDB's TTL process; a user's DeleteItem carries no such userIdentity. */
export function isTtlRemove(record: DynamoDBRecord): boolean {
  return record.eventName === 'REMOVE' && ttlUserIdentitySchema.safeParse(record.userIdentity).success;
}

function keyValueText(name: string, value: Readonly<Record<string, unknown>>): [string, string, string] {
  if (typeof value.S === 'string') {
    return [name, 'S', value.S];
  }
  if (typeof value.N === 'string') {
    // One item's key number always arrives in DynamoDB's own notation; normalising costs nothing and makes the
    // key independent of how a local tool spelled it.
    return [name, 'N', normalizeDecimal(value.N)];
  }
  if (typeof value.B === 'string') {
    return [name, 'B', value.B];
  }
  if (value.B instanceof Uint8Array) {
    return [
      name,
      'B',
      Buffer.from(value.B.buffer, value.B.byteOffset, value.B.byteLength).toString('base64'),
    ];
  }
  throw new PermanentError(`Key attribute "${name}" is not of type S, N or B`);
}

/**
 * Canonical text of an item's keys: attributes sorted by name, each with its type and value (numbers normalised,
 * binary as base64). Two records of the same item give the same text; records of different items never do.
 */
export function canonicalItemKey(keys: RawItem): string {
  const parts = Object.keys(keys)
    .sort()
    .map((name) => keyValueText(name, keys[name] ?? {}));
  return JSON.stringify(parts);
}

function summarize(error: $ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`).join('; ');
}

/**
 * Builds the ChangeRecord of a raw stream record. A record that does not have the shape of a DynamoDB stream record,
 * or whose images cannot be decoded, throws PermanentError: it would fail identically on every retry.
 */
export function toChangeRecord(raw: DynamoDBRecord): ChangeRecord {
  const parsed = streamRecordSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PermanentError(`Malformed stream record: ${summarize(parsed.error)}`, { cause: parsed.error });
  }
  const { eventID, eventName, eventSourceARN, dynamodb } = parsed.data;
  const keys = dynamodb.Keys as RawItem;
  try {
    return {
      eventId: eventID,
      eventName,
      sequenceNumber: dynamodb.SequenceNumber,
      approximateCreationTime: dynamodb.ApproximateCreationDateTime,
      keys: decodeItem(keys),
      oldImage: dynamodb.OldImage === undefined ? undefined : decodeItem(dynamodb.OldImage as RawItem),
      newImage: dynamodb.NewImage === undefined ? undefined : decodeItem(dynamodb.NewImage as RawItem),
      itemKey: canonicalItemKey(keys),
      removedByTtl: isTtlRemove(raw),
      eventSourceArn: eventSourceARN,
      raw,
    };
  } catch (err) {
    if (err instanceof PermanentError) {
      throw err;
    }
    throw new PermanentError(
      `Undecodable stream record: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}
