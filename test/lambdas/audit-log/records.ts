/** Hand-built stream records of the Orders table for the audit log's tests: images given as raw AttributeValue JSON. */
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { type ChangeRecord, toChangeRecord } from '../../../lambdas/shared/stream/change-record.js';
import {
  DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
  streamArn,
  TTL_USER_IDENTITY,
} from '../../support/stream-records.js';

export type RawImage = Record<string, AttributeValue>;

export interface RawRecordInput {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly keys?: RawImage;
  readonly oldImage?: RawImage;
  readonly newImage?: RawImage;
  readonly sequenceNumber?: string;
  readonly approximateCreationDateTime?: number;
  readonly ttl?: boolean;
  /** `null` leaves the ARN out. */
  readonly eventSourceArn?: string | null;
}

export const ORDER_KEYS: RawImage = { orderId: { S: 'o-1' } };

export function rawRecord(input: RawRecordInput): DynamoDBRecord {
  const sequenceNumber = input.sequenceNumber ?? '400000000000000000001';
  const record: DynamoDBRecord = {
    eventID: `event-${sequenceNumber}`,
    eventName: input.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      ApproximateCreationDateTime:
        input.approximateCreationDateTime ?? DEFAULT_APPROXIMATE_CREATION_DATE_TIME,
      Keys: input.keys ?? ORDER_KEYS,
      ...(input.oldImage === undefined ? {} : { OldImage: input.oldImage }),
      ...(input.newImage === undefined ? {} : { NewImage: input.newImage }),
      SequenceNumber: sequenceNumber,
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    ...(input.eventSourceArn === null ? {} : { eventSourceARN: input.eventSourceArn ?? streamArn('Orders') }),
  };
  return input.ttl === true ? { ...record, userIdentity: TTL_USER_IDENTITY } : record;
}

export function changeRecord(input: RawRecordInput): ChangeRecord {
  return toChangeRecord(rawRecord(input));
}
