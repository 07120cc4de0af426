import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue } from 'aws-lambda';

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
