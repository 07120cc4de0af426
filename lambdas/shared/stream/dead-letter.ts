import type { DynamoDBRecord } from 'aws-lambda';
import { SQS_MAX_MESSAGE_BYTES } from '../limits.js';
import * as z from '../zod.js';
import { type RawItem, toLosslessJson } from './lossless.js';

/**
 * What the runtime sends to the consumer's DLQ for a record that failed permanently (docs/architecture.md, contract 4): enough
 * to understand the failure and to replay the record without the stream, which keeps records for 24 hours only.
 */
export interface FullDeadLetter {
  readonly truncated: false;
  readonly consumerName: string;
  readonly reason: string;
  readonly errorName: string;
  readonly eventId: string | null;
  readonly eventName: string | null;
  readonly sequenceNumber: string;
  /** Raw AttributeValue keys (lossless); null when the record has none. */
  readonly keys: RawItem | null;
  readonly eventSourceArn: string | null;
  /** ISO-8601 time at which the runtime gave up on the record. */
  readonly failedAt: string;
  /** The stream record exactly as received, images as raw AttributeValue JSON. */
  readonly record: DynamoDBRecord;
}

/** Sent instead of a FullDeadLetter that would exceed the SQS message size limit. */
export interface TruncatedDeadLetter {
  readonly truncated: true;
  readonly sequenceNumber: string;
  readonly keys: RawItem | null;
  readonly reason: string;
}

export type DeadLetter = FullDeadLetter | TruncatedDeadLetter;

/** Port: the consumer's own dead-letter queue. `send` rejects when the letter was not stored. */
export interface DeadLetterQueue {
  send(letter: DeadLetter): Promise<void>;
}

/**
 * Longest reason kept in a truncated letter. Keys are at most 2 KiB + 1 KiB, so a truncated letter stays far below
 * the SQS limit even when every character needs a JSON escape.
 */
export const MAX_TRUNCATED_REASON_LENGTH = 4_096;

export interface DeadLetterInput {
  readonly consumerName: string;
  readonly record: DynamoDBRecord;
  /** Callers pass a sequence number they validated; the record's own field is optional in its type. */
  readonly sequenceNumber: string;
  readonly errorName: string;
  readonly reason: string;
  readonly failedAt: Date;
}

export function buildDeadLetter(input: DeadLetterInput): FullDeadLetter {
  const { record } = input;
  return {
    truncated: false,
    consumerName: input.consumerName,
    reason: input.reason,
    errorName: input.errorName,
    eventId: record.eventID ?? null,
    eventName: record.eventName ?? null,
    sequenceNumber: input.sequenceNumber,
    keys: record.dynamodb?.Keys ?? null,
    eventSourceArn: record.eventSourceARN ?? null,
    failedAt: input.failedAt.toISOString(),
    record,
  };
}

/**
 * The message body of a letter. Lossless JSON: the raw record is AttributeValue JSON already, and binary values
 * of records read through the SDK (Uint8Array) become base64 as in Lambda's own events.
 */
export function encodeDeadLetter(letter: DeadLetter): string {
  return toLosslessJson(letter);
}

/**
 * The letter to send: the full one when its encoded body fits in `maxBytes` (UTF-8 bytes; the adapters send no
 * message attributes, so the body is the whole SQS message size), otherwise keys, sequence number and reason only.
 */
export function fitDeadLetter(letter: FullDeadLetter, maxBytes: number = SQS_MAX_MESSAGE_BYTES): DeadLetter {
  if (Buffer.byteLength(encodeDeadLetter(letter), 'utf8') <= maxBytes) {
    return letter;
  }
  const reason =
    letter.reason.length > MAX_TRUNCATED_REASON_LENGTH
      ? `${letter.reason.slice(0, MAX_TRUNCATED_REASON_LENGTH)}...`
      : letter.reason;
  return { truncated: true, sequenceNumber: letter.sequenceNumber, keys: letter.keys, reason };
}

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;
const rawItemSchema = z.record(
  z.string(),
  z.custom<RawItem[string]>(isObject, 'must be an AttributeValue object'),
);

const fullDeadLetterSchema = z.object({
  truncated: z.literal(false),
  consumerName: z.string(),
  reason: z.string(),
  errorName: z.string(),
  eventId: z.nullable(z.string()),
  eventName: z.nullable(z.string()),
  sequenceNumber: z.string(),
  keys: z.nullable(rawItemSchema),
  eventSourceArn: z.nullable(z.string()),
  failedAt: z.string(),
  record: z.custom<DynamoDBRecord>(isObject, 'must be a stream record object'),
});

const truncatedDeadLetterSchema = z.object({
  truncated: z.literal(true),
  sequenceNumber: z.string(),
  keys: z.nullable(rawItemSchema),
  reason: z.string(),
});

/** The schema of a letter's body once JSON-parsed: what encodeDeadLetter writes, either kind. */
export const DEAD_LETTER_SCHEMA: z.ZodMiniType<DeadLetter> = z.discriminatedUnion('truncated', [
  fullDeadLetterSchema,
  truncatedDeadLetterSchema,
]);

/**
 * The letter in a message body written by encodeDeadLetter, or undefined when the body is not one (not JSON, or
 * another shape, such as the event source mapping's own on-failure record). The inverse of encodeDeadLetter for
 * readers of the queue (the ops command); raw AttributeValue numbers are strings in the JSON, so nothing rounds.
 */
export function decodeDeadLetter(body: string): DeadLetter | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const result = DEAD_LETTER_SCHEMA.safeParse(parsed);
  return result.success ? result.data : undefined;
}
