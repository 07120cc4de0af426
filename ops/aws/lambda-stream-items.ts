import type {
  AttributeValue as SdkAttributeValue,
  _Record as SdkRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';

/** How one caller fills what a Streams API record lacks or holds differently from a Lambda event's record. */
export interface LambdaRecordContext {
  readonly streamArn: string;
  readonly awsRegion: string;
  /** ApproximateCreationDateTime in epoch seconds; left out when undefined. */
  readonly approximateCreationSeconds: number | undefined;
  /** The caller's error for an attribute value of no known type. */
  readonly unsupported: (message: string) => Error;
}

/**
 * A record of the DynamoDB Streams API in the shape of a Lambda DynamoDB stream event's record: the stream ARN and
 * region added, ApproximateCreationDateTime in epoch seconds, binary attributes as base64 text (the SDK gives bytes).
 */
export function toLambdaStreamRecord(record: SdkRecord, context: LambdaRecordContext): DynamoDBRecord {
  const stream = record.dynamodb;
  const { approximateCreationSeconds, unsupported } = context;
  const lambdaRecord: DynamoDBRecord = {
    ...(record.eventID === undefined ? {} : { eventID: record.eventID }),
    ...(record.eventName === undefined ? {} : { eventName: record.eventName }),
    // Lambda's eventVersion for DynamoDB stream records, which DynamoDB Local reports too.
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: context.awsRegion,
    dynamodb: {
      ...(approximateCreationSeconds === undefined
        ? {}
        : { ApproximateCreationDateTime: approximateCreationSeconds }),
      ...(stream?.Keys === undefined ? {} : { Keys: toLambdaItem(stream.Keys, unsupported) }),
      ...(stream?.NewImage === undefined ? {} : { NewImage: toLambdaItem(stream.NewImage, unsupported) }),
      ...(stream?.OldImage === undefined ? {} : { OldImage: toLambdaItem(stream.OldImage, unsupported) }),
      ...(stream?.SequenceNumber === undefined ? {} : { SequenceNumber: stream.SequenceNumber }),
      ...(stream?.SizeBytes === undefined ? {} : { SizeBytes: stream.SizeBytes }),
      ...(stream?.StreamViewType === undefined ? {} : { StreamViewType: stream.StreamViewType }),
    },
    eventSourceARN: context.streamArn,
  };
  if (record.userIdentity !== undefined) {
    // TTL deletes: { type: 'Service', principalId: 'dynamodb.amazonaws.com' }.
    lambdaRecord.userIdentity = {
      type: record.userIdentity.Type,
      principalId: record.userIdentity.PrincipalId,
    };
  }
  return lambdaRecord;
}

/**
 * A stream record's item (Keys, NewImage, OldImage) as the SDK reads it (GetRecords: binary as Uint8Array) turned into
 * the AttributeValue JSON of a Lambda event (binary as base64), as the event source mapping delivers it. Shared by
 * the ops redrive (records re-read from a deployed stream) and the sandbox's stream source (DynamoDB Local's).
 * Attribute names are the table writers' choice: each becomes an own data property (fromEntries), never a setter.
 * `unsupported` builds the error for a value of no known type, in the caller's own terms.
 */
export function toLambdaItem(
  item: Record<string, SdkAttributeValue>,
  unsupported: (message: string) => Error,
): Record<string, AttributeValue> {
  return Object.fromEntries(
    Object.entries(item).map(([name, value]) => [name, toLambdaValue(value, unsupported)]),
  );
}

function toLambdaValue(value: SdkAttributeValue, unsupported: (message: string) => Error): AttributeValue {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: toLambdaItem(value.M, unsupported) };
  if (value.L !== undefined) return { L: value.L.map((inner) => toLambdaValue(inner, unsupported)) };
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  throw unsupported(`Unsupported attribute value in a stream record: ${JSON.stringify(value)}`);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
