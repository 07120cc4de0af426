import { PutObjectCommand, type PutObjectCommandOutput } from '@aws-sdk/client-s3';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { tableNameFromStreamArn } from '../../../lambdas/audit-log/audit-line.js';

/**
 * The baseline of the `audit` benchmark: an audit trail of a DynamoDB stream on S3 as the common samples write it
 * (the seed pattern), for comparing PUT requests and bytes stored with the audit log (one gzipped JSON Lines object
 * per batch, lambdas/audit-log/) on the same records. For every record of the batch, one after the other:
 *
 * ```js
 * await s3.send(new PutObjectCommand({
 *   Bucket, Key: `${table}/${record.eventID}.json`, Body: JSON.stringify(record), ContentType: 'application/json',
 * }));
 * ```
 *
 * What that costs, and what it does not do, kept on purpose (it is a yardstick, not a product):
 *
 * - one request and one object per record: S3 bills per PUT, and Athena opens one object per record;
 * - the body is the whole Lambda record as JSON, uncompressed: the images as AttributeValue JSON, plus the event's
 *   envelope (eventSource, awsRegion, eventSourceARN...) repeated in every object;
 * - no condition (`If-None-Match`): a re-delivered record overwrites its object, a second version in a versioned
 *   bucket;
 * - no partial batch response: a failed PUT throws, and Lambda retries the whole batch, stored records included.
 *
 * The table segment of the key is the table of the record's eventSourceARN, as Lambda always sets it.
 */

/** The part of an S3 client the baseline uses. `S3Client` satisfies it, and so does the sandbox's LocalS3Client. */
export interface PerRecordAuditClient {
  send(command: PutObjectCommand): Promise<PutObjectCommandOutput>;
}

export interface PerRecordAuditOptions {
  readonly client: PerRecordAuditClient;
  readonly bucket: string;
  /**
   * The table segment of the key for a record whose eventSourceARN names no table (a hand-made record); without it
   * such a record fails the invocation, as the sample's `undefined` key would.
   */
  readonly tableName?: string;
}

/** The baseline's Lambda handler: resolves once every record of the event was stored, throws on the first failure. */
export type PerRecordAuditHandler = (event: DynamoDBStreamEvent) => Promise<void>;

/** MIME type of the baseline's objects. */
export const PER_RECORD_AUDIT_CONTENT_TYPE = 'application/json';

/** Thrown for a record the baseline cannot name an object for: no eventID, or no table. */
export class PerRecordAuditKeyError extends Error {
  public constructor(record: DynamoDBRecord, missing: string) {
    super(
      `Stream record ${record.eventID ?? '(no eventID)'} has no ${missing}: the per-record audit cannot name its object`,
    );
    this.name = 'PerRecordAuditKeyError';
  }
}

/** The key of a record's object: `<table>/<eventID>.json`. */
export function perRecordAuditKey(record: DynamoDBRecord, fallbackTableName?: string): string {
  const table = tableNameFromStreamArn(record.eventSourceARN) ?? fallbackTableName;
  if (table === undefined) throw new PerRecordAuditKeyError(record, 'table stream ARN');
  if (record.eventID === undefined || record.eventID === '') {
    throw new PerRecordAuditKeyError(record, 'eventID');
  }
  return `${table}/${record.eventID}.json`;
}

/** The baseline's handler; see the module comment. */
export function createPerRecordAuditHandler(options: PerRecordAuditOptions): PerRecordAuditHandler {
  const { client, bucket } = options;
  return async (event) => {
    // One at a time, as the samples' `for ... of` with `await` does: every record costs a full round trip.
    for (const record of event.Records) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: perRecordAuditKey(record, options.tableName),
          Body: JSON.stringify(record),
          ContentType: PER_RECORD_AUDIT_CONTENT_TYPE,
        }),
      );
    }
  };
}
